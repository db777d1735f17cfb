/* SPDX-License-Identifier: MIT
 *
 * test-render-golden.c: renders compared with committed PNGs in tests/golden/ (small:
 * synthetic phantoms, and real volumes at 2 mm pixels), with a tolerance for the last
 * bit of floating point (largest channel difference and mean difference).
 *
 * To regenerate after a deliberate change, look at the new images and run
 *   NS_UPDATE_GOLDEN=1 meson test -C BUILD test-render-golden
 * On a mismatch the rendered image is written next to the build as
 * BUILD/tests/golden-actual/NAME.png for comparison.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-case.h"
#include "ns-nifti.h"
#include "ns-render.h"
#include "ns-render-test-synth.h"
#include "ns-test-util.h"

#include <glib/gstdio.h>

#define MAX_CHANNEL_DIFF 4
#define MAX_MEAN_DIFF 0.05

static void
check_golden (const char *name, cairo_surface_t *got)
{
  g_autofree char *file = g_strconcat (name, ".png", NULL);
  g_autofree char *path = ns_test_src_path ("tests", "golden", file, NULL);
  g_autoptr (GError) error = NULL;
  cairo_surface_t *want;
  int max_diff;
  double mean_diff;

  g_assert_nonnull (got);
  if (g_strcmp0 (g_getenv ("NS_UPDATE_GOLDEN"), "1") == 0)
    {
      g_autofree char *dir = g_path_get_dirname (path);
      g_mkdir_with_parents (dir, 0755);
      g_assert_true (ns_render_write_png (got, path, &error));
      g_assert_no_error (error);
      g_test_message ("updated %s", path);
      return;
    }

  want = cairo_image_surface_create_from_png (path);
  if (cairo_surface_status (want) != CAIRO_STATUS_SUCCESS)
    g_error ("%s: cannot read the golden image (%s); NS_UPDATE_GOLDEN=1 creates it", path,
             cairo_status_to_string (cairo_surface_status (want)));
  if (!synth_compare_surfaces (want, got, &max_diff, &mean_diff)
      || max_diff > MAX_CHANNEL_DIFF || mean_diff > MAX_MEAN_DIFF)
    {
      const char *build = g_getenv ("NS_BUILD_DIR");
      g_autofree char *out_dir = g_build_filename (build != NULL ? build : ".", "tests",
                                                   "golden-actual", NULL);
      g_autofree char *out = g_build_filename (out_dir, file, NULL);
      g_mkdir_with_parents (out_dir, 0755);
      ns_render_write_png (got, out, NULL);
      g_error ("%s: %d x %d rendered vs %d x %d golden, max channel diff %d, mean %.4f "
               "(tolerance %d, %.2f); rendered image in %s", name,
               cairo_image_surface_get_width (got), cairo_image_surface_get_height (got),
               cairo_image_surface_get_width (want), cairo_image_surface_get_height (want),
               max_diff, mean_diff, MAX_CHANNEL_DIFF, MAX_MEAN_DIFF, out);
    }
  g_test_message ("%s: max diff %d, mean %.4f", name, max_diff, mean_diff);
  cairo_surface_destroy (want);
}

/* The golden comparison must see a difference of one grey level spread over an image
 * and a single changed pixel, or it could not fail. */
static void
test_comparison_can_fail (void)
{
  cairo_surface_t *a = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 10, 10);
  cairo_surface_t *b = cairo_image_surface_create (CAIRO_FORMAT_RGB24, 10, 10);
  int max_diff;
  double mean_diff;
  guint32 *pb;

  g_assert_true (synth_compare_surfaces (a, b, &max_diff, &mean_diff));
  g_assert_cmpint (max_diff, ==, 0);
  cairo_surface_flush (b);
  pb = (guint32 *) cairo_image_surface_get_data (b);
  pb[55] = 0x00ff00;
  cairo_surface_mark_dirty (b);
  g_assert_true (synth_compare_surfaces (a, b, &max_diff, &mean_diff));
  g_assert_cmpint (max_diff, ==, 255);
  g_assert_cmpfloat (mean_diff, >, MAX_MEAN_DIFF);
  cairo_surface_destroy (a);
  cairo_surface_destroy (b);
}

static void
test_synthetic_montage (void)
{
  NsGrid grid;
  g_autoptr (NsVolume) vol = NULL;
  g_autoptr (NsLabelMap) labels = NULL;
  g_autoptr (GError) error = NULL;
  NsRenderOptions opt;
  double cursor[3] = { 17, 14, 9 };
  cairo_surface_t *s;

  synth_grid (&grid, "LPS", 40, 36, 20, 1.0, 1.5, 2.0);
  vol = synth_phantom (&grid);
  labels = synth_labels (&grid);
  ns_render_options_init (&opt, vol);
  opt.overlay.mode = NS_OVERLAY_FILL_AND_OUTLINE;
  opt.overlay.opacity = 0.8;
  opt.show_crosshair = TRUE;

  s = ns_render_montage (vol, labels, cursor, &opt, &error);
  g_assert_no_error (error);
  check_golden ("synthetic-montage", s);
  cairo_surface_destroy (s);

  /* Neurological, nearest, outline only, scaled to 0.8 mm pixels. */
  opt.convention = NS_CONVENTION_NEUROLOGICAL;
  opt.interp = NS_INTERP_NEAREST;
  opt.overlay.mode = NS_OVERLAY_OUTLINE;
  opt.pixel_mm = 0.8;
  opt.show_crosshair = FALSE;
  s = ns_render_montage (vol, labels, cursor, &opt, &error);
  g_assert_no_error (error);
  check_golden ("synthetic-montage-neuro-outline", s);
  cairo_surface_destroy (s);
}

/* The heat overlay in viridis over the phantom: a map that grows toward R and S. */
static void
test_synthetic_heat (void)
{
  NsGrid grid;
  g_autoptr (NsVolume) vol = NULL;
  g_autoptr (NsVolume) heat = NULL;
  g_autoptr (GError) error = NULL;
  NsPlaneGeometry g;
  NsLut grey, lut;
  cairo_surface_t *s;
  double window, level;

  synth_grid (&grid, "RAS", 48, 40, 16, 1, 1, 1);
  vol = synth_phantom (&grid);
  heat = ns_volume_new (&grid, NULL);
  for (int k = 0; k < 16; k++)
    for (int j = 0; j < 40; j++)
      for (int i = 0; i < 48; i++)
        heat->voxels[ns_grid_index (&grid, i, j, k)] = (float) (i / 47.0 * (0.5 + k / 30.0));
  ns_window_level_auto (vol, &window, &level);
  ns_lut_init (&grey, window, level, NS_COLORMAP_GREY);
  ns_lut_init (&lut, 1.0, 0.5, NS_COLORMAP_VIRIDIS);
  ns_plane_geometry_init (&g, &grid, NS_PLANE_CORONAL, NS_CONVENTION_RADIOLOGICAL, 0, NULL);
  s = ns_render_surface_new (&g);
  g_assert_true (ns_render_image (s, 0, 0, &g, vol, &grey, NS_INTERP_LINEAR, &error));
  g_assert_true (ns_render_heat (s, 0, 0, &g, heat, &lut, 0.2, 0.7, NS_INTERP_LINEAR, &error));
  g_assert_no_error (error);
  check_golden ("synthetic-heat-coronal", s);
  cairo_surface_destroy (s);
}

/* The bundled BraTS case (LPS) at 2 mm pixels through the centre of the tumour. */
static void
test_bundled_case (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsCase) ncase = ns_case_load (ns_test_sample_case (), NS_CASE_LOAD_DEFAULT, &error);
  NsRenderOptions opt;
  double cursor[3] = { 163, 146, 60 }; /* the tumour's centroid (nibabel) */
  cairo_surface_t *s;

  g_assert_no_error (error);
  g_assert_nonnull (ncase->labels);

  ns_render_options_init (&opt, ncase->modality[NS_MODALITY_FLAIR]);
  opt.pixel_mm = 2.0;
  s = ns_render_montage (ncase->modality[NS_MODALITY_FLAIR], ncase->labels, cursor, &opt, &error);
  g_assert_no_error (error);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, 120 + 2 + 120 + 2 + 120);
  g_assert_cmpint (cairo_image_surface_get_height (s), ==, 120);
  check_golden ("brats-flair-montage-2mm", s);
  cairo_surface_destroy (s);

  ns_render_options_init (&opt, ncase->modality[NS_MODALITY_T1C]);
  opt.pixel_mm = 2.0;
  opt.overlay.mode = NS_OVERLAY_OUTLINE;
  opt.overlay.opacity = 1.0;
  opt.show_crosshair = TRUE;
  s = ns_render_plane (ncase->modality[NS_MODALITY_T1C], ncase->labels, NS_PLANE_AXIAL, cursor,
                       &opt, &error);
  g_assert_no_error (error);
  check_golden ("brats-t1c-axial-outline-2mm", s);
  cairo_surface_destroy (s);
}

/* The MNI template ch2 (RAS) with the AAL atlas at 2 mm pixels. */
static void
test_ch2_aal (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) ch2 = ns_nifti_read ("/usr/share/mricron/templates/ch2bet.nii.gz", &error);
  g_autoptr (NsVolume) aal = NULL;
  g_autoptr (NsLabelMap) labels = NULL;
  NsRenderOptions opt;
  double ras[3] = { -20, -18, 12 }, cursor[3];
  cairo_surface_t *s;

  g_assert_no_error (error);
  aal = ns_nifti_read ("/usr/share/mricron/templates/aal.nii.gz", &error);
  g_assert_no_error (error);
  labels = ns_label_map_new (&aal->grid, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < ns_volume_n_voxels (aal); i++)
    labels->labels[i] = (guint8) ns_volume_get_value (aal, i);

  ns_render_options_init (&opt, ch2);
  opt.pixel_mm = 2.0;
  opt.overlay.opacity = 0.4;
  g_assert_true (ns_geometry_ras_to_voxel (&ch2->grid, ras, cursor));
  s = ns_render_montage (ch2, labels, cursor, &opt, &error);
  g_assert_no_error (error);
  check_golden ("ch2bet-aal-montage-2mm", s);
  cairo_surface_destroy (s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/render/golden/comparison-can-fail", test_comparison_can_fail);
  g_test_add_func ("/render/golden/synthetic-montage", test_synthetic_montage);
  g_test_add_func ("/render/golden/synthetic-heat", test_synthetic_heat);
  g_test_add_func ("/render/golden/bundled-case", test_bundled_case);
  g_test_add_func ("/render/golden/ch2-aal", test_ch2_aal);
  return g_test_run ();
}
