/* SPDX-License-Identifier: MIT
 *
 * test-render-geometry.c: display orientation and the screen <-> voxel mapping on
 * synthetic grids: every one of the 48 axis orders and directions, both conventions,
 * anisotropic spacing, odd pixel sizes, oblique matrices; and the same anatomy stored in
 * every voxel order renders to the same picture.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-render.h"
#include "ns-render-test-synth.h"

#include <math.h>

/* All 48 orientation codes: a permutation of R/A/S with a direction for each. */
static GPtrArray *
all_codes (void)
{
  static const int perms[6][3] = {
    { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
  };
  static const char pos[3] = { 'R', 'A', 'S' }, neg[3] = { 'L', 'P', 'I' };
  GPtrArray *codes = g_ptr_array_new_with_free_func (g_free);
  for (int p = 0; p < 6; p++)
    for (int s = 0; s < 8; s++)
      {
        char *code = g_malloc0 (4);
        for (int c = 0; c < 3; c++)
          code[c] = (s >> c) & 1 ? neg[perms[p][c]] : pos[perms[p][c]];
        g_ptr_array_add (codes, code);
      }
  return codes;
}

static void
test_plane_names (void)
{
  NsPlane p;
  for (int i = 0; i < NS_N_PLANES; i++)
    {
      g_assert_true (ns_plane_from_string (ns_plane_to_string ((NsPlane) i), &p));
      g_assert_cmpint (p, ==, i);
    }
  g_assert_true (ns_plane_from_string ("Axial", &p));
  g_assert_cmpint (p, ==, NS_PLANE_AXIAL);
  g_assert_false (ns_plane_from_string ("transverse", &p));
}

static void
test_axis_map (void)
{
  NsGrid grid;
  NsAxisMap map;
  double angle = 10.0 * G_PI / 180.0;

  synth_grid (&grid, "LPS", 10, 12, 8, 1.0, 1.0, 2.0);
  ns_axis_map_init (&map, &grid);
  g_assert_cmpint (map.voxel_axis[0], ==, 0);
  g_assert_cmpint (map.voxel_axis[1], ==, 1);
  g_assert_cmpint (map.voxel_axis[2], ==, 2);
  g_assert_cmpint (map.sign[0], ==, -1);
  g_assert_cmpint (map.sign[1], ==, -1);
  g_assert_cmpint (map.sign[2], ==, 1);
  g_assert_false (map.oblique);

  /* A sagittal acquisition stored as (A, I, R): i follows A, j follows S (down), k R. */
  synth_grid (&grid, "AIR", 10, 12, 8, 1.0, 1.0, 2.0);
  ns_axis_map_init (&map, &grid);
  g_assert_cmpint (map.voxel_axis[0], ==, 2);
  g_assert_cmpint (map.sign[0], ==, 1);
  g_assert_cmpint (map.voxel_axis[1], ==, 0);
  g_assert_cmpint (map.sign[1], ==, 1);
  g_assert_cmpint (map.voxel_axis[2], ==, 1);
  g_assert_cmpint (map.sign[2], ==, -1);

  /* Rotated 10 degrees about S: oblique, nearest axes unchanged. */
  synth_grid (&grid, "RAS", 10, 12, 8, 1.0, 1.0, 1.0);
  grid.vox2ras[0][0] = cos (angle);
  grid.vox2ras[0][1] = -sin (angle);
  grid.vox2ras[1][0] = sin (angle);
  grid.vox2ras[1][1] = cos (angle);
  ns_axis_map_init (&map, &grid);
  g_assert_true (map.oblique);
  g_assert_cmpint (map.voxel_axis[0], ==, 0);
  g_assert_cmpint (map.voxel_axis[1], ==, 1);
  g_assert_cmpint (map.sign[0], ==, 1);
  g_assert_cmpint (map.sign[1], ==, 1);

  /* 40 degrees about R and a shear-like column where a greedy choice would take S twice:
   * the assignment stays a permutation. */
  synth_grid (&grid, "RAS", 10, 12, 8, 1.0, 1.0, 1.0);
  grid.vox2ras[1][1] = 0.6;
  grid.vox2ras[2][1] = 0.8;
  grid.vox2ras[1][2] = -0.7;
  grid.vox2ras[2][2] = 0.71;
  ns_axis_map_init (&map, &grid);
  g_assert_true (map.oblique);
  g_assert_cmpint (map.voxel_axis[0], ==, 0);
  g_assert_cmpint (map.voxel_axis[1] + map.voxel_axis[2], ==, 3);
  g_assert_cmpint (map.voxel_axis[1], !=, map.voxel_axis[2]);
}

static void
test_ras_voxel (void)
{
  NsGrid grid;
  double a = 0.3, b = -0.2;

  synth_grid (&grid, "LPS", 30, 20, 10, 0.9, 1.1, 3.0);
  /* Make it oblique and anisotropic with an offset. */
  grid.vox2ras[0][1] += 0.9 * sin (a);
  grid.vox2ras[2][0] += 1.1 * sin (b);
  grid.vox2ras[1][3] += 17.25;
  for (int t = 0; t < 50; t++)
    {
      double voxel[3] = { t * 0.61 - 3.0, 19.0 - t * 0.37, t * 0.2 };
      double ras[3], back[3];
      ns_geometry_voxel_to_ras (&grid, voxel, ras);
      g_assert_true (ns_geometry_ras_to_voxel (&grid, ras, back));
      for (int d = 0; d < 3; d++)
        g_assert_cmpfloat_with_epsilon (back[d], voxel[d], 1e-9);
    }
  memset (grid.vox2ras, 0, sizeof grid.vox2ras);
  {
    double ras[3] = { 1, 2, 3 }, voxel[3] = { 7, 7, 7 };
    g_assert_false (ns_geometry_ras_to_voxel (&grid, ras, voxel));
    g_assert_cmpfloat (voxel[0], ==, 7);
  }
}

/* The RAS direction screen x and y must run toward, per plane and convention (see the
 * table in ns-render.h). */
static void
expected_directions (NsPlane plane, NsConvention conv, double dx[3], double dy[3])
{
  memset (dx, 0, 3 * sizeof (double));
  memset (dy, 0, 3 * sizeof (double));
  switch (plane)
    {
    case NS_PLANE_AXIAL:
      dx[0] = conv == NS_CONVENTION_RADIOLOGICAL ? -1 : 1; /* toward L : toward R */
      dy[1] = -1;                                           /* toward P: anterior up */
      break;
    case NS_PLANE_CORONAL:
      dx[0] = conv == NS_CONVENTION_RADIOLOGICAL ? -1 : 1;
      dy[2] = -1;                                           /* toward I: superior up */
      break;
    case NS_PLANE_SAGITTAL:
    default:
      dx[1] = -1;                                           /* toward P: anterior left */
      dy[2] = -1;
      break;
    }
}

static void
test_directions_all_orientations (void)
{
  g_autoptr (GPtrArray) codes = all_codes ();

  g_assert_cmpuint (codes->len, ==, 48);
  for (guint c = 0; c < codes->len; c++)
    for (int plane = 0; plane < NS_N_PLANES; plane++)
      for (int conv = 0; conv < 2; conv++)
        {
          const char *code = codes->pdata[c];
          NsGrid grid;
          NsPlaneGeometry g;
          double dx[3], dy[3], v0[3], v1[3], v2[3], r0[3], r1[3], r2[3];

          synth_grid (&grid, code, 11, 13, 7, 1.0, 2.0, 3.0);
          ns_plane_geometry_init (&g, &grid, plane, conv, 0.0, NULL);
          expected_directions (plane, conv, dx, dy);

          ns_plane_geometry_voxel_at (&g, 3.5, 4.5, v0);
          ns_plane_geometry_voxel_at (&g, 4.5, 4.5, v1);
          ns_plane_geometry_voxel_at (&g, 3.5, 5.5, v2);
          ns_geometry_voxel_to_ras (&grid, v0, r0);
          ns_geometry_voxel_to_ras (&grid, v1, r1);
          ns_geometry_voxel_to_ras (&grid, v2, r2);
          for (int r = 0; r < 3; r++)
            {
              /* One pixel to the right moves pixel_mm toward dx, nothing else; the
               * same for one pixel down. */
              if (fabs ((r1[r] - r0[r]) - dx[r] * g.pixel_mm) > 1e-9
                  || fabs ((r2[r] - r0[r]) - dy[r] * g.pixel_mm) > 1e-9)
                g_error ("%s %s %s: screen axes run the wrong way (ras %d: %+g %+g)", code,
                         ns_plane_to_string (plane), conv ? "neurological" : "radiological",
                         r, r1[r] - r0[r], r2[r] - r0[r]);
            }

          /* Physical size: the image spans the grid's extent along both axes. */
          g_assert_cmpfloat (fabs (g.width * g.pixel_mm
                                   - g.dim[g.axis_u] * g.spacing[g.axis_u]), <, g.pixel_mm);
          g_assert_cmpfloat (fabs (g.height * g.pixel_mm
                                   - g.dim[g.axis_v] * g.spacing[g.axis_v]), <, g.pixel_mm);

          /* normal_sign: the slice index grows toward S, A or R when it is +1. */
          {
            double a[3], b[3], ra[3], rb[3];
            int n = plane == NS_PLANE_AXIAL ? 2 : plane == NS_PLANE_CORONAL ? 1 : 0;
            ns_plane_geometry_set_slice (&g, 2);
            ns_plane_geometry_voxel_at (&g, 1.5, 1.5, a);
            ns_plane_geometry_set_slice (&g, 3);
            ns_plane_geometry_voxel_at (&g, 1.5, 1.5, b);
            ns_geometry_voxel_to_ras (&grid, a, ra);
            ns_geometry_voxel_to_ras (&grid, b, rb);
            g_assert_cmpint ((rb[n] - ra[n]) > 0 ? 1 : -1, ==, g.normal_sign);
          }
        }
}

static void
check_round_trip (const NsGrid *grid, NsPlane plane, NsConvention conv, double pixel_mm)
{
  NsPlaneGeometry g;
  double extent_u, extent_v, half_u, half_v;
  int ijk[3];

  ns_plane_geometry_init (&g, grid, plane, conv, pixel_mm, NULL);
  extent_u = g.dim[g.axis_u] * g.spacing[g.axis_u];
  extent_v = g.dim[g.axis_v] * g.spacing[g.axis_v];
  half_u = 0.5 * g.spacing[g.axis_u] / g.pixel_mm;
  half_v = 0.5 * g.spacing[g.axis_v] / g.pixel_mm;

  /* voxel -> screen -> voxel: every voxel of the slice comes back. */
  for (int b = 0; b < g.dim[g.axis_v]; b++)
    for (int a = 0; a < g.dim[g.axis_u]; a++)
      {
        double voxel[3], x, y;
        voxel[g.axis_u] = a;
        voxel[g.axis_v] = b;
        voxel[g.axis_n] = g.slice;
        ns_plane_geometry_screen_pos (&g, voxel, &x, &y);
        g_assert_true (ns_plane_geometry_voxel_index_at (&g, x, y, ijk));
        g_assert_cmpint (ijk[g.axis_u], ==, a);
        g_assert_cmpint (ijk[g.axis_v], ==, b);
        g_assert_cmpint (ijk[g.axis_n], ==, g.slice);
        g_assert_cmpfloat (x, >, 0.0);
        g_assert_cmpfloat (y, >, 0.0);
        g_assert_cmpfloat (x, <, g.width);
        g_assert_cmpfloat (y, <, g.height);
      }

  /* screen -> voxel -> screen: each pixel centre lies in the footprint of the voxel it
   * maps to, and is inside exactly when it lies within the grid's extent. */
  for (int v = 0; v < g.height; v++)
    for (int u = 0; u < g.width; u++)
      {
        double x = u + 0.5, y = v + 0.5, voxel[3], cx, cy, sx, sy, centre[3];
        gboolean inside = ns_plane_geometry_voxel_index_at (&g, x, y, ijk);
        g_assert_cmpint (inside, ==, x * g.pixel_mm < extent_u && y * g.pixel_mm < extent_v);
        ns_plane_geometry_voxel_at (&g, x, y, voxel);
        ns_plane_geometry_screen_pos (&g, voxel, &sx, &sy);
        g_assert_cmpfloat_with_epsilon (sx, x, 1e-9);
        g_assert_cmpfloat_with_epsilon (sy, y, 1e-9);
        if (!inside)
          continue;
        for (int d = 0; d < 3; d++)
          centre[d] = ijk[d];
        ns_plane_geometry_screen_pos (&g, centre, &cx, &cy);
        g_assert_cmpfloat (fabs (cx - x), <=, half_u + 1e-9);
        g_assert_cmpfloat (fabs (cy - y), <=, half_v + 1e-9);
      }

  /* Outside the image: FALSE, clamped into the grid. */
  g_assert_false (ns_plane_geometry_voxel_index_at (&g, -3.0, 1.0, ijk));
  g_assert_cmpint (ijk[g.axis_u], >=, 0);
  g_assert_cmpint (ijk[g.axis_u], <, g.dim[g.axis_u]);
  g_assert_false (ns_plane_geometry_voxel_index_at (&g, 1.0, g.height * 2.0, ijk));
  g_assert_cmpint (ijk[g.axis_v], >=, 0);
  g_assert_cmpint (ijk[g.axis_v], <, g.dim[g.axis_v]);
}

static void
test_round_trip (void)
{
  static const struct { const char *code; double s[3]; } grids[] = {
    { "LPS", { 1.0, 1.0, 1.0 } },
    { "RAS", { 0.5, 1.0, 3.0 } },
    { "LAS", { 1.2, 0.8, 2.5 } },
    { "AIR", { 3.0, 0.9, 1.0 } },
  };
  static const double pixel_sizes[] = { 0.0, 0.7, 1.3, 2.5 };

  for (gsize t = 0; t < G_N_ELEMENTS (grids); t++)
    {
      NsGrid grid;
      synth_grid (&grid, grids[t].code, 17, 12, 9, grids[t].s[0], grids[t].s[1], grids[t].s[2]);
      for (int plane = 0; plane < NS_N_PLANES; plane++)
        for (int conv = 0; conv < 2; conv++)
          for (gsize p = 0; p < G_N_ELEMENTS (pixel_sizes); p++)
            check_round_trip (&grid, plane, conv, pixel_sizes[p]);
    }
}

static void
test_sizes_and_slices (void)
{
  NsGrid grid;
  NsPlaneGeometry g;
  double cursor[3] = { 10.0, 20.4, 30.6 };

  synth_grid (&grid, "LPS", 240, 240, 155, 1.0, 1.0, 1.0);
  ns_plane_geometry_init (&g, &grid, NS_PLANE_AXIAL, NS_CONVENTION_RADIOLOGICAL, 0, cursor);
  g_assert_cmpint (g.width, ==, 240);
  g_assert_cmpint (g.height, ==, 240);
  g_assert_cmpint (g.slice, ==, 31);
  g_assert_cmpint (ns_plane_geometry_n_slices (&g), ==, 155);
  g_assert_cmpint (g.normal_sign, ==, 1);
  ns_plane_geometry_set_slice (&g, 500);
  g_assert_cmpint (g.slice, ==, 154);
  ns_plane_geometry_set_slice (&g, -2);
  g_assert_cmpint (g.slice, ==, 0);

  ns_plane_geometry_init (&g, &grid, NS_PLANE_SAGITTAL, NS_CONVENTION_RADIOLOGICAL, 0, cursor);
  g_assert_cmpint (g.width, ==, 240);
  g_assert_cmpint (g.height, ==, 155);
  g_assert_cmpint (g.slice, ==, 10);
  g_assert_cmpint (g.normal_sign, ==, -1); /* i runs toward L */
  ns_plane_geometry_init (&g, &grid, NS_PLANE_CORONAL, NS_CONVENTION_RADIOLOGICAL, 0, NULL);
  g_assert_cmpint (g.width, ==, 240);
  g_assert_cmpint (g.height, ==, 155);
  g_assert_cmpint (g.slice, ==, 120);
  g_assert_cmpint (g.normal_sign, ==, -1); /* j runs toward P */
  ns_plane_geometry_set_cursor (&g, cursor);
  g_assert_cmpint (g.slice, ==, 20);

  /* LPS, radiological axial: i = 0 (the patient's far right) is on the screen's left,
   * j = 0 (anterior) on top.  Neurological mirrors x only. */
  {
    double first[3] = { 0, 0, 0 }, x, y;
    ns_plane_geometry_init (&g, &grid, NS_PLANE_AXIAL, NS_CONVENTION_RADIOLOGICAL, 0, NULL);
    ns_plane_geometry_screen_pos (&g, first, &x, &y);
    g_assert_cmpfloat (x, ==, 0.5);
    g_assert_cmpfloat (y, ==, 0.5);
    ns_plane_geometry_init (&g, &grid, NS_PLANE_AXIAL, NS_CONVENTION_NEUROLOGICAL, 0, NULL);
    ns_plane_geometry_screen_pos (&g, first, &x, &y);
    g_assert_cmpfloat (x, ==, 239.5);
    g_assert_cmpfloat (y, ==, 0.5);
  }

  /* Anisotropic: 1 x 1 x 3 mm shows the 3 mm axis three times as long. */
  synth_grid (&grid, "RAS", 64, 48, 20, 1.0, 1.0, 3.0);
  ns_plane_geometry_init (&g, &grid, NS_PLANE_CORONAL, NS_CONVENTION_RADIOLOGICAL, 0, NULL);
  g_assert_cmpfloat (g.pixel_mm, ==, 1.0);
  g_assert_cmpint (g.width, ==, 64);
  g_assert_cmpint (g.height, ==, 60);
  ns_plane_geometry_init (&g, &grid, NS_PLANE_SAGITTAL, NS_CONVENTION_RADIOLOGICAL, 2.0, NULL);
  g_assert_cmpint (g.width, ==, 24);
  g_assert_cmpint (g.height, ==, 30);
}

/* The RAS variants agree with voxel_at / screen_pos and vox2ras. */
static void
test_ras_variants (void)
{
  NsGrid grid;
  g_autoptr (GPtrArray) codes = all_codes ();

  for (guint c = 0; c < codes->len; c += 5)
    for (int plane = 0; plane < NS_N_PLANES; plane++)
      {
        NsPlaneGeometry g;
        double ras[3], voxel[3], want[3], x, y, cursor_voxel[3] = { 3, 4, 5 }, cursor_ras[3];

        synth_grid (&grid, codes->pdata[c], 9, 8, 7, 1.0, 2.0, 0.5);
        grid.vox2ras[0][3] += 3.25;
        ns_plane_geometry_init (&g, &grid, plane, NS_CONVENTION_RADIOLOGICAL, 0.7, NULL);
        ns_geometry_voxel_to_ras (&grid, cursor_voxel, cursor_ras);
        g_assert_true (ns_plane_geometry_set_cursor_ras (&g, cursor_ras));
        g_assert_cmpint (g.slice, ==, (int) cursor_voxel[g.axis_n]);

        ns_plane_geometry_ras_at (&g, 2.3, 4.1, ras);
        ns_plane_geometry_voxel_at (&g, 2.3, 4.1, voxel);
        ns_geometry_voxel_to_ras (&grid, voxel, want);
        for (int d = 0; d < 3; d++)
          g_assert_cmpfloat_with_epsilon (ras[d], want[d], 1e-9);
        g_assert_true (ns_plane_geometry_screen_pos_ras (&g, ras, &x, &y));
        g_assert_cmpfloat_with_epsilon (x, 2.3, 1e-9);
        g_assert_cmpfloat_with_epsilon (y, 4.1, 1e-9);
      }
}

/* The same anatomy stored in each of the 48 voxel orders renders the same picture. */
static void
test_reorient_identity (void)
{
  static const int perms[6][3] = {
    { 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
  };
  NsGrid grid;
  g_autoptr (NsVolume) base = NULL;
  g_autoptr (NsLabelMap) base_labels = NULL;
  NsRenderOptions opt;
  double cursor_ras[3], base_cursor[3] = { 9, 11, 6 };

  synth_grid (&grid, "LPS", 23, 29, 14, 1.0, 1.5, 2.0);
  base = synth_phantom (&grid);
  base_labels = synth_labels (&grid);
  ns_geometry_voxel_to_ras (&grid, base_cursor, cursor_ras);

  ns_render_options_init (&opt, base);
  opt.overlay.mode = NS_OVERLAY_FILL_AND_OUTLINE;
  opt.show_crosshair = TRUE;

  for (int interp = 0; interp < 2; interp++)
    for (int conv = 0; conv < 2; conv++)
      for (int plane = 0; plane < NS_N_PLANES; plane++)
        {
          g_autoptr (GError) error = NULL;
          cairo_surface_t *want;

          opt.interp = interp;
          opt.convention = conv;
          want = ns_render_plane (base, base_labels, plane, base_cursor, &opt, &error);
          g_assert_no_error (error);

          for (int p = 0; p < 6; p++)
            for (int f = 0; f < 8; f++)
              {
                gboolean flip[3] = { f & 1, (f >> 1) & 1, (f >> 2) & 1 };
                g_autoptr (NsVolume) vol = synth_reorient_volume (base, perms[p], flip);
                g_autoptr (NsLabelMap) lab = synth_reorient_labels (base_labels, perms[p], flip);
                double cursor[3];
                cairo_surface_t *got;
                int max_diff;
                double mean_diff;

                g_assert_true (ns_geometry_ras_to_voxel (&vol->grid, cursor_ras, cursor));
                got = ns_render_plane (vol, lab, plane, cursor, &opt, &error);
                g_assert_no_error (error);
                g_assert_true (synth_compare_surfaces (want, got, &max_diff, &mean_diff));
                /* Nearest: bit-identical.  Linear: the lerp runs the other way along a
                 * flipped axis, which can move a value across an 8-bit step. */
                if (max_diff > (interp == NS_INTERP_NEAREST ? 0 : 1))
                  g_error ("%s %s, perm %d flip %d: max diff %d (mean %g)",
                           ns_plane_to_string (plane), conv ? "neuro" : "radio", p, f,
                           max_diff, mean_diff);
                cairo_surface_destroy (got);
              }
          cairo_surface_destroy (want);
        }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/render/geometry/plane-names", test_plane_names);
  g_test_add_func ("/render/geometry/axis-map", test_axis_map);
  g_test_add_func ("/render/geometry/ras-voxel", test_ras_voxel);
  g_test_add_func ("/render/geometry/directions", test_directions_all_orientations);
  g_test_add_func ("/render/geometry/round-trip", test_round_trip);
  g_test_add_func ("/render/geometry/sizes-slices", test_sizes_and_slices);
  g_test_add_func ("/render/geometry/ras-variants", test_ras_variants);
  g_test_add_func ("/render/geometry/reorient-identity", test_reorient_identity);
  return g_test_run ();
}
