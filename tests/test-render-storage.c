/* SPDX-License-Identifier: MIT
 *
 * test-render-storage.c: drawing an image held as int16 (ns-volume.h: the bundled case
 * as stored) gives the same pixels as drawing its float32 copy, in every plane, with
 * nearest and linear sampling at a pixel size that interpolates; and the automatic and
 * brain window presets are the same numbers.
 */
#define G_LOG_DOMAIN "neuroseg-test"

#include "ns-nifti.h"
#include "ns-render.h"
#include "ns-test-util.h"

#include <cairo.h>
#include <string.h>

static NsVolume *image;  /* int16 */
static NsVolume *copy;   /* float32 */

static void
assert_same_surfaces (cairo_surface_t *a, cairo_surface_t *b)
{
  cairo_surface_flush (a);
  cairo_surface_flush (b);
  int h = cairo_image_surface_get_height (a);
  int stride = cairo_image_surface_get_stride (a);
  g_assert_cmpint (h, ==, cairo_image_surface_get_height (b));
  g_assert_cmpint (stride, ==, cairo_image_surface_get_stride (b));
  g_assert_cmpmem (cairo_image_surface_get_data (a), (gsize) h * stride,
                   cairo_image_surface_get_data (b), (gsize) h * stride);
}

static void
test_presets (void)
{
  double wa, la, wb, lb, lo_a, hi_a, lo_b, hi_b;
  ns_window_level_auto (image, &wa, &la);
  ns_window_level_auto (copy, &wb, &lb);
  g_assert_cmpfloat (wa, ==, wb);
  g_assert_cmpfloat (la, ==, lb);
  ns_volume_brain_percentiles (image, 5.0, 95.0, &lo_a, &hi_a);
  ns_volume_brain_percentiles (copy, 5.0, 95.0, &lo_b, &hi_b);
  g_assert_cmpfloat (lo_a, ==, lo_b);
  g_assert_cmpfloat (hi_a, ==, hi_b);
}

static void
test_planes (void)
{
  static const NsPlane planes[] = { NS_PLANE_AXIAL, NS_PLANE_SAGITTAL, NS_PLANE_CORONAL };
  static const NsInterp interps[] = { NS_INTERP_NEAREST, NS_INTERP_LINEAR };
  const double cursor[3] = { 101.3, 131.6, 77.4 };
  double window, level;
  NsLut lut, heat;

  ns_window_level_auto (image, &window, &level);
  ns_lut_init (&lut, window, level, NS_COLORMAP_GREY);
  ns_lut_init (&heat, window, level, NS_COLORMAP_HOT);
  for (gsize p = 0; p < G_N_ELEMENTS (planes); p++)
    for (gsize i = 0; i < G_N_ELEMENTS (interps); i++)
      {
        g_autoptr (GError) error = NULL;
        NsPlaneGeometry geom;
        /* 0.7 mm pixels: most samples fall between voxels */
        ns_plane_geometry_init (&geom, &image->grid, planes[p], NS_CONVENTION_RADIOLOGICAL,
                                0.7, cursor);
        cairo_surface_t *a = ns_render_surface_new (&geom);
        cairo_surface_t *b = ns_render_surface_new (&geom);
        g_assert_true (ns_render_image (a, 0, 0, &geom, image, &lut, interps[i], &error));
        g_assert_no_error (error);
        g_assert_true (ns_render_image (b, 0, 0, &geom, copy, &lut, interps[i], &error));
        g_assert_no_error (error);
        assert_same_surfaces (a, b);
        /* The heat map path reads the same values. */
        g_assert_true (ns_render_heat (a, 0, 0, &geom, image, &heat, level, 0.6, interps[i],
                                       &error));
        g_assert_no_error (error);
        g_assert_true (ns_render_heat (b, 0, 0, &geom, copy, &heat, level, 0.6, interps[i],
                                       &error));
        g_assert_no_error (error);
        assert_same_surfaces (a, b);
        cairo_surface_destroy (a);
        cairo_surface_destroy (b);
      }
}

/* The whole montage the command line writes as PNG, labels and all. */
static void
test_montage (void)
{
  g_autoptr (GError) error = NULL;
  NsRenderOptions options;
  ns_render_options_init (&options, image);
  cairo_surface_t *a = ns_render_montage (image, NULL, NULL, &options, &error);
  g_assert_no_error (error);
  ns_render_options_init (&options, copy);
  cairo_surface_t *b = ns_render_montage (copy, NULL, NULL, &options, &error);
  g_assert_no_error (error);
  assert_same_surfaces (a, b);
  cairo_surface_destroy (a);
  cairo_surface_destroy (b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (ns_test_sample_case (),
                                            "Brats18_CBICA_ABM_1_t1ce.nii.gz", NULL);
  image = ns_nifti_read (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (image->storage, ==, NS_VOLUME_STORAGE_INT16);
  copy = ns_volume_dup_float (image, &error);
  g_assert_no_error (error);

  g_test_add_func ("/render/storage/presets", test_presets);
  g_test_add_func ("/render/storage/planes", test_planes);
  g_test_add_func ("/render/storage/montage", test_montage);
  int status = g_test_run ();
  ns_volume_unref (copy);
  ns_volume_unref (image);
  return status;
}
