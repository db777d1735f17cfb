/* SPDX-License-Identifier: MIT
 *
 * test-render-orientation.c: display orientation on real files of different voxel orders:
 * the bundled BraTS case (LPS), the MNI templates and atlases of mricron (RAS: ch2, AAL,
 * JHU; LAS: Harvard-Oxford, AICHA).  Facts used, checked with nibabel:
 *  - BraTS ABM_1: the tumour's centroid is voxel (162.87, 146.18, 59.51), RAS
 *    (-162.87, 92.82, 59.51): the patient's left, posterior and inferior of the grid's
 *    centre (RAS (-119.5, 119.5, 77)).
 *  - AAL labels: odd = left hemisphere, even = right; 3/4 Frontal_Sup, 49/50
 *    Occipital_Sup, 91..108 cerebellum.
 *  - JHU white-matter 1 mm: the odd labels 9..49 lie at negative RAS x (nibabel: label 17
 *    at x = -19.1, 18 at +16.2), the patient's left, although mricron's .txt names them
 *    "_R"; we go by the file's header, as nibabel does.
 *  - Harvard-Oxford 1 mm (LAS) and JHU 1 mm (RAS) are the same MNI grid mirrored; so are
 *    AICHA (LAS, 2 mm) and JHU 2 mm (RAS).
 * Labels are drawn with colour = label value at opacity 1, so the rendered pixels say
 * which label landed where.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-case.h"
#include "ns-nifti.h"
#include "ns-render.h"
#include "ns-render-test-synth.h"
#include "ns-test-util.h"

#define TEMPLATES "/usr/share/mricron/templates/"

static NsLabelMap *
read_labels (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) vol = ns_nifti_read (path, &error);
  NsLabelMap *map;

  g_assert_no_error (error);
  map = ns_label_map_new (&vol->grid, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < ns_volume_n_voxels (vol); i++)
    map->labels[i] = (guint8) ns_volume_get_value (vol, i);
  return map;
}

/* The plane through cursor (RAS) with pixel value = label (0 where none). */
static cairo_surface_t *
render_label_values (const NsLabelMap *map, NsPlane plane, NsConvention conv,
                     const double cursor_ras[3], NsPlaneGeometry *geom)
{
  g_autoptr (GError) error = NULL;
  NsOverlayStyle style;
  double cursor[3];
  cairo_surface_t *s;

  g_assert_true (ns_geometry_ras_to_voxel (&map->grid, cursor_ras, cursor));
  ns_plane_geometry_init (geom, &map->grid, plane, conv, 0, cursor);
  ns_overlay_style_init (&style);
  style.opacity = 1.0;
  for (int l = 0; l < 256; l++)
    style.rgb[l] = (guint32) l;
  s = ns_render_surface_new (geom); /* black */
  g_assert_true (ns_render_labels (s, 0, 0, geom, map, &style, &error));
  g_assert_no_error (error);
  return s;
}

typedef struct
{
  double sum_x, sum_y;
  guint64 n;
} Centroid;

/* Screen centroids of the pixels whose label passes pick (). */
static void
centroid (cairo_surface_t *s, gboolean (*pick) (guint8), Centroid *c)
{
  memset (c, 0, sizeof *c);
  for (int y = 0; y < cairo_image_surface_get_height (s); y++)
    for (int x = 0; x < cairo_image_surface_get_width (s); x++)
      {
        guint8 l = synth_pixel (s, x, y) & 0xff;
        if (l != 0 && pick (l))
          {
            c->sum_x += x + 0.5;
            c->sum_y += y + 0.5;
            c->n++;
          }
      }
  g_assert_cmpuint (c->n, >, 0);
  c->sum_x /= c->n;
  c->sum_y /= c->n;
}

static gboolean any_label (guint8 l) { return TRUE; }
static gboolean aal_left (guint8 l) { return l <= 116 && (l & 1); }
static gboolean aal_right (guint8 l) { return l <= 116 && !(l & 1); }
static gboolean aal_frontal_sup (guint8 l) { return l == 3 || l == 4; }
static gboolean aal_occipital_sup (guint8 l) { return l == 49 || l == 50; }
static gboolean aal_cerebellum (guint8 l) { return l >= 91 && l <= 108; }
static gboolean jhu_odd (guint8 l) { return l >= 9 && l <= 50 && (l & 1); }
static gboolean jhu_even (guint8 l) { return l >= 9 && l <= 50 && !(l & 1); }

/* BraTS (LPS): the tumour is in the patient's left, posterior and inferior. */
static void
test_brats_lps (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsCase) ncase = ns_case_load (ns_test_sample_case (), NS_CASE_LOAD_DEFAULT, &error);
  const NsGrid *grid;
  NsAxisMap map;
  double sum[3] = { 0, 0, 0 }, ras[3], tumour_ras[3];
  guint64 n = 0;

  g_assert_no_error (error);
  g_assert_nonnull (ncase->labels);
  grid = &ncase->grid;
  ns_axis_map_init (&map, grid);
  g_assert_cmpint (map.sign[0], ==, -1); /* LPS */
  g_assert_cmpint (map.sign[1], ==, -1);
  g_assert_cmpint (map.sign[2], ==, 1);

  /* Our loader and vox2ras agree with nibabel on where the tumour is. */
  for (int k = 0; k < grid->dim[2]; k++)
    for (int j = 0; j < grid->dim[1]; j++)
      for (int i = 0; i < grid->dim[0]; i++)
        if (ncase->labels->labels[ns_grid_index (grid, i, j, k)] != 0)
          {
            sum[0] += i;
            sum[1] += j;
            sum[2] += k;
            n++;
          }
  for (int d = 0; d < 3; d++)
    sum[d] /= n;
  ns_geometry_voxel_to_ras (grid, sum, tumour_ras);
  g_assert_cmpfloat_with_epsilon (tumour_ras[0], -162.8666, 1e-3);
  g_assert_cmpfloat_with_epsilon (tumour_ras[1], 92.8236, 1e-3);
  g_assert_cmpfloat_with_epsilon (tumour_ras[2], 59.5066, 1e-3);
  memcpy (ras, tumour_ras, sizeof ras);

  for (int conv = 0; conv < 2; conv++)
    {
      NsPlaneGeometry g;
      Centroid c;
      cairo_surface_t *s;

      /* Axial: left hemisphere on the right (radiological), posterior below centre. */
      s = render_label_values (ncase->labels, NS_PLANE_AXIAL, conv, ras, &g);
      centroid (s, any_label, &c);
      if (conv == NS_CONVENTION_RADIOLOGICAL)
        g_assert_cmpfloat (c.sum_x, >, g.width / 2.0 + 20);
      else
        g_assert_cmpfloat (c.sum_x, <, g.width / 2.0 - 20);
      g_assert_cmpfloat (c.sum_y, >, g.height / 2.0 + 10);
      cairo_surface_destroy (s);

      /* Coronal: the same left-right, inferior below centre. */
      s = render_label_values (ncase->labels, NS_PLANE_CORONAL, conv, ras, &g);
      centroid (s, any_label, &c);
      if (conv == NS_CONVENTION_RADIOLOGICAL)
        g_assert_cmpfloat (c.sum_x, >, g.width / 2.0 + 20);
      else
        g_assert_cmpfloat (c.sum_x, <, g.width / 2.0 - 20);
      g_assert_cmpfloat (c.sum_y, >, g.height / 2.0 + 5);
      cairo_surface_destroy (s);

      /* Sagittal: anterior on the left, so posterior right of centre; inferior below. */
      s = render_label_values (ncase->labels, NS_PLANE_SAGITTAL, conv, ras, &g);
      centroid (s, any_label, &c);
      g_assert_cmpfloat (c.sum_x, >, g.width / 2.0 + 10);
      g_assert_cmpfloat (c.sum_y, >, g.height / 2.0 + 5);
      cairo_surface_destroy (s);
    }
}

/* AAL (RAS): left-hemisphere labels on the screen's right in radiological, left in
 * neurological; frontal above occipital in axial; frontal left of occipital and above the
 * cerebellum in sagittal. */
static void
test_aal_ras (void)
{
  g_autoptr (NsLabelMap) aal = read_labels (TEMPLATES "aal.nii.gz");
  NsAxisMap map;
  NsPlaneGeometry g;
  Centroid left, right, front, back, cereb;
  cairo_surface_t *s;
  double ras_axial[3] = { 0, -18, 30 }, ras_coronal[3] = { 0, -20, 10 };
  double ras_sagittal[3] = { -20, -20, 10 }, ras_mid[3] = { 0, -20, 30 };

  ns_axis_map_init (&map, &aal->grid);
  g_assert_cmpint (map.sign[0] + map.sign[1] + map.sign[2], ==, 3); /* RAS */

  for (int conv = 0; conv < 2; conv++)
    for (int plane = NS_PLANE_AXIAL; plane <= NS_PLANE_CORONAL; plane += 2)
      {
        s = render_label_values (aal, plane, conv,
                                 plane == NS_PLANE_AXIAL ? ras_axial : ras_coronal, &g);
        centroid (s, aal_left, &left);
        centroid (s, aal_right, &right);
        if (conv == NS_CONVENTION_RADIOLOGICAL)
          g_assert_cmpfloat (left.sum_x, >, right.sum_x + 40);
        else
          g_assert_cmpfloat (left.sum_x, <, right.sum_x - 40);
        cairo_surface_destroy (s);
      }

  s = render_label_values (aal, NS_PLANE_AXIAL, NS_CONVENTION_RADIOLOGICAL, ras_mid, &g);
  centroid (s, aal_frontal_sup, &front);
  centroid (s, aal_occipital_sup, &back);
  g_assert_cmpfloat (front.sum_y, <, back.sum_y - 50); /* anterior up */
  cairo_surface_destroy (s);

  s = render_label_values (aal, NS_PLANE_SAGITTAL, NS_CONVENTION_RADIOLOGICAL, ras_sagittal, &g);
  centroid (s, aal_frontal_sup, &front);
  centroid (s, aal_occipital_sup, &back);
  centroid (s, aal_cerebellum, &cereb);
  g_assert_cmpfloat (front.sum_x, <, back.sum_x - 50);  /* anterior left */
  g_assert_cmpfloat (front.sum_y, <, cereb.sum_y - 50); /* superior up */
  cairo_surface_destroy (s);
}

/* JHU white matter (RAS): the odd labels (patient's left, see above) on the screen's
 * right in radiological, on its left in neurological. */
static void
test_jhu_ras (void)
{
  g_autoptr (NsLabelMap) jhu = read_labels (TEMPLATES "JHU-WhiteMatter-labels-1mm.nii.gz");
  double ras[3] = { 0, -10, 10 };

  for (int conv = 0; conv < 2; conv++)
    {
      NsPlaneGeometry g;
      Centroid odd, even;
      cairo_surface_t *s = render_label_values (jhu, NS_PLANE_AXIAL, conv, ras, &g);
      centroid (s, jhu_odd, &odd);
      centroid (s, jhu_even, &even);
      if (conv == NS_CONVENTION_RADIOLOGICAL)
        g_assert_cmpfloat (odd.sum_x, >, even.sum_x + 20);
      else
        g_assert_cmpfloat (odd.sum_x, <, even.sum_x - 20);
      cairo_surface_destroy (s);
    }
}

/* A LAS and a RAS file of the same MNI grid: every screen pixel shows the same RAS point,
 * in every plane and both conventions (real headers, not synthetic ones). */
static void
check_same_screen_anatomy (const char *las_path, const char *ras_path)
{
  g_autoptr (GError) error = NULL;
  NsNiftiHeader las, ras;
  NsAxisMap map;

  g_assert_true (ns_nifti_read_header (las_path, &las, &error));
  g_assert_no_error (error);
  g_assert_true (ns_nifti_read_header (ras_path, &ras, &error));
  g_assert_no_error (error);
  ns_axis_map_init (&map, &las.grid);
  g_assert_cmpint (map.sign[0], ==, -1);
  g_assert_cmpint (map.sign[1], ==, 1);
  ns_axis_map_init (&map, &ras.grid);
  g_assert_cmpint (map.sign[0], ==, 1);

  for (int plane = 0; plane < NS_N_PLANES; plane++)
    for (int conv = 0; conv < 2; conv++)
      {
        NsPlaneGeometry ga, gb;
        double cursor_ras[3] = { 12, -20, 8 }, ca[3], cb[3];
        double worst = 0.0;

        g_assert_true (ns_geometry_ras_to_voxel (&las.grid, cursor_ras, ca));
        g_assert_true (ns_geometry_ras_to_voxel (&ras.grid, cursor_ras, cb));
        ns_plane_geometry_init (&ga, &las.grid, plane, conv, 0, ca);
        ns_plane_geometry_init (&gb, &ras.grid, plane, conv, 0, cb);
        g_assert_cmpint (ga.width, ==, gb.width);
        g_assert_cmpint (ga.height, ==, gb.height);
        for (int v = 0; v < ga.height; v++)
          for (int u = 0; u < ga.width; u++)
            {
              int ia[3], ib[3];
              double va[3], vb[3], ra[3], rb[3];
              ns_plane_geometry_voxel_index_at (&ga, u + 0.5, v + 0.5, ia);
              ns_plane_geometry_voxel_index_at (&gb, u + 0.5, v + 0.5, ib);
              for (int d = 0; d < 3; d++)
                {
                  va[d] = ia[d];
                  vb[d] = ib[d];
                }
              ns_geometry_voxel_to_ras (&las.grid, va, ra);
              ns_geometry_voxel_to_ras (&ras.grid, vb, rb);
              for (int d = 0; d < 3; d++)
                worst = MAX (worst, fabs (ra[d] - rb[d]));
            }
        /* The two grids' voxel centres coincide (within the files' rounding). */
        if (worst > 1e-3)
          g_error ("%s vs %s, %s %s: the same pixel shows points %g mm apart", las_path,
                   ras_path, ns_plane_to_string (plane), conv ? "neuro" : "radio", worst);
      }
}

static void
test_las_vs_ras (void)
{
  check_same_screen_anatomy (TEMPLATES "HarvardOxford-cort-maxprob-thr0-1mm.nii.gz",
                             TEMPLATES "JHU-WhiteMatter-labels-1mm.nii.gz");
  check_same_screen_anatomy (TEMPLATES "AICHAmc.nii.gz",
                             TEMPLATES "JHU-WhiteMatter-labels-2mm.nii.gz");
}

/* Real images stored in other voxel orders in memory (ch2bet RAS -> LAS, LPS, and a
 * permuted PIR; the bundled FLAIR LPS -> RAS) render the same picture. */
static void
check_reoriented_same (const NsVolume *vol, const char *label)
{
  static const struct { int perm[3]; gboolean flip[3]; } orders[] = {
    { { 0, 1, 2 }, { TRUE, FALSE, FALSE } },
    { { 0, 1, 2 }, { TRUE, TRUE, FALSE } },
    { { 1, 2, 0 }, { TRUE, TRUE, FALSE } },
    { { 2, 0, 1 }, { FALSE, TRUE, TRUE } },
  };
  NsRenderOptions opt;
  double cursor[3] = { vol->grid.dim[0] / 2 + 7, vol->grid.dim[1] / 2 - 5,
                       vol->grid.dim[2] / 2 + 3 };
  double ras[3];

  ns_render_options_init (&opt, vol);
  opt.interp = NS_INTERP_NEAREST;
  ns_geometry_voxel_to_ras (&vol->grid, cursor, ras);
  for (gsize o = 0; o < G_N_ELEMENTS (orders); o++)
    {
      g_autoptr (NsVolume) other = synth_reorient_volume (vol, orders[o].perm, orders[o].flip);
      g_autoptr (GError) error = NULL;
      double c2[3];
      cairo_surface_t *a, *b;
      int max_diff;
      double mean_diff;

      g_assert_true (ns_geometry_ras_to_voxel (&other->grid, ras, c2));
      a = ns_render_montage (vol, NULL, cursor, &opt, &error);
      g_assert_no_error (error);
      b = ns_render_montage (other, NULL, c2, &opt, &error);
      g_assert_no_error (error);
      g_assert_true (synth_compare_surfaces (a, b, &max_diff, &mean_diff));
      if (max_diff != 0)
        g_error ("%s in voxel order %" G_GSIZE_FORMAT ": max diff %d", label, o, max_diff);
      cairo_surface_destroy (a);
      cairo_surface_destroy (b);
    }
}

static void
test_reoriented_real (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) ch2 = ns_nifti_read (TEMPLATES "ch2bet.nii.gz", &error);
  g_autoptr (NsCase) ncase = NULL;

  g_assert_no_error (error);
  check_reoriented_same (ch2, "ch2bet");
  ncase = ns_case_load (ns_test_sample_case (), NS_CASE_LOAD_SKIP_LABELS, &error);
  g_assert_no_error (error);
  check_reoriented_same (ncase->modality[NS_MODALITY_FLAIR], "BraTS FLAIR");
}

/* The automatic window of the bundled FLAIR: numpy.percentile (a[a != 0], [0.5, 99.5])
 * is (17, 413). */
static void
test_brats_auto_window (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsCase) ncase = ns_case_load (ns_test_sample_case (), NS_CASE_LOAD_SKIP_LABELS,
                                           &error);
  double lo, hi, window, level;

  g_assert_no_error (error);
  ns_volume_brain_percentiles (ncase->modality[NS_MODALITY_FLAIR], 0.5, 99.5, &lo, &hi);
  g_assert_cmpfloat_with_epsilon (lo, 17.0, 1e-9);
  g_assert_cmpfloat_with_epsilon (hi, 413.0, 1e-9);
  ns_window_level_auto (ncase->modality[NS_MODALITY_FLAIR], &window, &level);
  g_assert_cmpfloat (window, ==, 396.0);
  g_assert_cmpfloat (level, ==, 215.0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/render/orientation/brats-lps", test_brats_lps);
  g_test_add_func ("/render/orientation/aal-ras", test_aal_ras);
  g_test_add_func ("/render/orientation/jhu-ras", test_jhu_ras);
  g_test_add_func ("/render/orientation/las-vs-ras", test_las_vs_ras);
  g_test_add_func ("/render/orientation/reoriented-real", test_reoriented_real);
  g_test_add_func ("/render/orientation/brats-auto-window", test_brats_auto_window);
  return g_test_run ();
}
