/* SPDX-License-Identifier: MIT
 *
 * test-render-3d.c: `neuroseg render --plane 3d` against analytic expectations (the
 * projection is orthographic, so a sphere of radius r mm covers pi (r / mm_per_pixel)^2
 * pixels from every direction): the silhouette's area from two view angles, the colour at
 * its centre (the label's colour shaded facing the viewer, ns_render3d_shade ()), the
 * patient's left on the screen's right and superior up in the default (anterior) view, and
 * the same view from the library's off-screen call; bad 3d options are usage errors.
 * The command-line checks run with each renderer (--renderer gl: OpenGL off-screen through
 * EGL; --renderer cpu: render/ns-raster3d.h), and the two renderers' images of one scene
 * agree pixel for pixel within a tolerance; the CPU renderer's own rules (back faces of
 * closed surfaces, the near plane) are checked against what GL draws.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-mesh.h"
#include "ns-nifti.h"
#include "ns-labels.h"
#include "ns-raster3d.h"
#include "ns-render3d.h"
#include "ns-render-test-synth.h"
#include "ns-test-util.h"

#include <math.h>
#include <sys/wait.h>
#include <stdarg.h>
#include <string.h>

#define SIZE 300

static int
run_render (char **err, ...)
{
  g_auto (NsTestRun) run = { 0 };
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  g_ptr_array_add (args, (gpointer) "render");
  va_start (ap, err);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  ns_test_run_neuroseg_strv (&run, (const char *const *) args->pdata);
  *err = g_steal_pointer (&run.err);
  return run.status;
}

/* A 64 x 64 x 48 LPS grid (1 x 1 x 1.25 mm, RAS origin at its centre), a uniform image,
 * and labels from balls (value, centre RAS, radius mm), written to the temporary folder. */
typedef struct
{
  guint8 value;
  double centre[3];
  double r;
} Ball;

static NsLabelMap *
make_labels (const Ball *balls, int n_balls, NsVolume **image)
{
  NsGrid grid;
  g_autoptr (GError) error = NULL;
  NsLabelMap *labels;

  synth_grid (&grid, "LPS", 64, 64, 48, 1.0, 1.0, 1.25);
  *image = ns_volume_new (&grid, &error);
  labels = ns_label_map_new (&grid, &error);
  g_assert_no_error (error);
  for (int k = 0; k < 48; k++)
    for (int j = 0; j < 64; j++)
      for (int i = 0; i < 64; i++)
        {
          double vox[3] = { i, j, k }, ras[3];
          gsize idx = ns_grid_index (&grid, i, j, k);
          ns_geometry_voxel_to_ras (&grid, vox, ras);
          (*image)->voxels[idx] = 100.0f;
          for (int b = 0; b < n_balls; b++)
            {
              double d2 = 0.0;
              for (int a = 0; a < 3; a++)
                d2 += (ras[a] - balls[b].centre[a]) * (ras[a] - balls[b].centre[a]);
              if (d2 <= balls[b].r * balls[b].r)
                labels->labels[idx] = balls[b].value;
            }
        }
  return labels;
}

static void
write_case (const char *name, const Ball *balls, int n_balls, char **image_path,
            char **labels_path, NsGrid *grid_out)
{
  g_autoptr (NsVolume) image = NULL;
  g_autoptr (NsLabelMap) labels = make_labels (balls, n_balls, &image);
  g_autoptr (GError) error = NULL;
  g_autofree char *image_name = g_strdup_printf ("%s-image.nii.gz", name);
  g_autofree char *labels_name = g_strdup_printf ("%s-seg.nii.gz", name);

  *image_path = g_build_filename (ns_test_tmpdir (), image_name, NULL);
  *labels_path = g_build_filename (ns_test_tmpdir (), labels_name, NULL);
  g_assert_true (ns_nifti_write_volume (image, *image_path, &error));
  g_assert_true (ns_nifti_write_label_map (labels, *labels_path, &error));
  g_assert_no_error (error);
  if (grid_out != NULL)
    *grid_out = labels->grid;
}

static gboolean
is_background (guint32 p)
{
  const guint32 bg = NS_RENDER3D_BACKGROUND;
  for (int s = 0; s < 24; s += 8)
    if (ABS ((int) ((p >> s) & 0xff) - (int) ((bg >> s) & 0xff)) > 20)
      return FALSE;
  return TRUE;
}

/* Pixels off the background and their centroid. */
static gsize
silhouette (cairo_surface_t *s, double *cx, double *cy)
{
  gsize n = 0;
  double sx = 0.0, sy = 0.0;
  for (int y = 0; y < cairo_image_surface_get_height (s); y++)
    for (int x = 0; x < cairo_image_surface_get_width (s); x++)
      if (!is_background (synth_pixel (s, x, y)))
        {
          n++;
          sx += x + 0.5;
          sy += y + 0.5;
        }
  if (cx != NULL)
    *cx = n ? sx / n : 0.0;
  if (cy != NULL)
    *cy = n ? sy / n : 0.0;
  return n;
}

static void
assert_sphere_view (cairo_surface_t *s, double r_mm, double fov_mm, const char *what)
{
  double mmpp = fov_mm / SIZE, want = G_PI * (r_mm / mmpp) * (r_mm / mmpp), cx, cy;
  gsize area = silhouette (s, &cx, &cy);
  NsOverlayStyle overlay;
  double rgb[3], shaded[3];

  g_test_message ("%s: silhouette %" G_GSIZE_FORMAT " px, analytic %.0f px, centroid (%.1f, "
                  "%.1f)", what, area, want, cx, cy);
  g_assert_cmpfloat (fabs (area - want), <, 0.03 * want);
  g_assert_cmpfloat (fabs (cx - SIZE / 2.0), <, 1.0);
  g_assert_cmpfloat (fabs (cy - SIZE / 2.0), <, 1.0);

  /* Colour: the mean over a 41 x 41 patch at the centre against the mean of the shading
   * of the analytic sphere's normals there (view space: the point (dx, dy) from the
   * centre, in radii, has the normal (dx, dy, sqrt (1 - dx^2 - dy^2))).  A mean, because
   * the facets of a voxelised sphere tilt by a few degrees each (test-render-mesh bounds
   * their normals) and the specular highlight magnifies that pixel by pixel. */
  ns_overlay_style_init (&overlay);
  for (int c = 0; c < 3; c++)
    rgb[c] = ((overlay.rgb[1] >> (16 - 8 * c)) & 0xff) / 255.0;
  for (int c = 0; c < 3; c++)
    {
      double got = 0.0, want_c = 0.0;
      for (int y = SIZE / 2 - 20; y <= SIZE / 2 + 20; y++)
        for (int x = SIZE / 2 - 20; x <= SIZE / 2 + 20; x++)
          {
            double n[3];
            n[0] = (x + 0.5 - SIZE / 2.0) * mmpp / r_mm;
            n[1] = (SIZE / 2.0 - y - 0.5) * mmpp / r_mm;
            n[2] = sqrt (1.0 - n[0] * n[0] - n[1] * n[1]);
            ns_render3d_shade (rgb, n, shaded);
            want_c += 255.0 * shaded[c];
            got += (synth_pixel (s, x, y) >> (16 - 8 * c)) & 0xff;
          }
      got /= 41.0 * 41.0;
      want_c /= 41.0 * 41.0;
      g_test_message ("  channel %d: %.1f, shaded %.1f", c, got, want_c);
      g_assert_cmpfloat (fabs (got - want_c), <=, 6.0);
    }
}

static void
test_sphere (gconstpointer data)
{
  const char *renderer = data;
  const Ball ball = { 1, { 0.0, 0.0, 0.0 }, 20.0 };
  g_autofree char *image = NULL, *labels = NULL, *err = NULL;
  g_autofree char *front_name = g_strdup_printf ("sphere-front-%s.png", renderer);
  g_autofree char *oblique_name = g_strdup_printf ("sphere-oblique-%s.png", renderer);
  g_autofree char *front = g_build_filename (ns_test_tmpdir (), front_name, NULL);
  g_autofree char *oblique = g_build_filename (ns_test_tmpdir (), oblique_name, NULL);
  NsGrid grid;
  NsCamera3d cam;
  cairo_surface_t *s;

  write_case ("sphere", &ball, 1, &image, &labels, &grid);
  ns_camera3d_init (&cam, &grid);
  /* the largest extent is 64 mm (x and y; z is 60): fov 70.4 mm */
  g_assert_cmpfloat_with_epsilon (cam.fov_mm, 70.4, 1e-9);

  g_assert_cmpint (run_render (&err, image, "--labels", labels, "--plane", "3d", "--no-outline",
                               "--size", "300", "--renderer", renderer, "-o", front, NULL), ==,
                   0);
  s = cairo_image_surface_create_from_png (front);
  g_assert_cmpint (cairo_image_surface_get_width (s), ==, SIZE);
  assert_sphere_view (s, ball.r, cam.fov_mm, "front");
  cairo_surface_destroy (s);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_render (&err, image, "--labels", labels, "--plane", "3d", "--no-outline",
                               "--size", "300", "--azimuth", "50", "--elevation", "35",
                               "--renderer", renderer, "-o", oblique, NULL), ==, 0);
  s = cairo_image_surface_create_from_png (oblique);
  assert_sphere_view (s, ball.r, cam.fov_mm, "azimuth 50, elevation 35");
  cairo_surface_destroy (s);
  g_clear_pointer (&err, g_free);

  /* Zoom 1.5: the same sphere, 1.5 times as large (radius 128 px of 150). */
  g_assert_cmpint (run_render (&err, image, "--labels", labels, "--plane", "3d", "--no-outline",
                               "--size", "300", "--zoom", "1.5", "--renderer", renderer, "-o",
                               oblique, "-f", NULL), ==, 0);
  s = cairo_image_surface_create_from_png (oblique);
  assert_sphere_view (s, ball.r, cam.fov_mm / 1.5, "zoom 1.5");
  cairo_surface_destroy (s);
}

/* Two balls: label 1 on the patient's left, label 4 superior.  Seen from anterior, left is
 * on the screen's right and superior up. */
static void
test_orientation (gconstpointer data)
{
  const char *renderer = data;
  const Ball balls[2] = { { 1, { -18.0, 0.0, 0.0 }, 6.0 }, { 4, { 0.0, 0.0, 18.0 }, 6.0 } };
  g_autofree char *image = NULL, *labels = NULL, *err = NULL;
  g_autofree char *name = g_strdup_printf ("two-balls-%s.png", renderer);
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), name, NULL);
  NsOverlayStyle overlay;
  cairo_surface_t *s;
  double sx[2] = { 0 }, sy[2] = { 0 };
  gsize n[2] = { 0 };

  write_case ("balls", balls, 2, &image, &labels, NULL);
  g_assert_cmpint (run_render (&err, image, "--labels", labels, "--plane", "3d", "--size", "300",
                               "--no-outline", "--renderer", renderer, "-o", out, "-f", NULL),
                   ==, 0);
  s = cairo_image_surface_create_from_png (out);
  ns_overlay_style_init (&overlay);
  for (int y = 0; y < SIZE; y++)
    for (int x = 0; x < SIZE; x++)
      {
        guint32 p = synth_pixel (s, x, y);
        int r = (p >> 16) & 0xff, g = (p >> 8) & 0xff;
        int which;
        if (is_background (p))
          continue;
        which = g > r / 2 ? 1 : 0; /* yellow (label 4) or red (label 1) */
        n[which]++;
        sx[which] += x;
        sy[which] += y;
      }
  g_assert_cmpuint (n[0], >, 500);
  g_assert_cmpuint (n[1], >, 500);
  /* fov 70.4 mm over 300 px: 18 mm is 76.7 px */
  g_assert_cmpfloat (fabs (sx[0] / n[0] - (150 + 76.7)), <, 2.0);
  g_assert_cmpfloat (fabs (sy[0] / n[0] - 150), <, 2.0);
  g_assert_cmpfloat (fabs (sx[1] / n[1] - 150), <, 2.0);
  g_assert_cmpfloat (fabs (sy[1] / n[1] - (150 - 76.7)), <, 2.0);
  cairo_surface_destroy (s);
}

/* The library's off-screen call gives what the command line wrote, and the camera's
 * projection puts a RAS point where it is drawn. */
static void
test_offscreen_and_projection (void)
{
  const Ball ball = { 2, { 8.0, -6.0, 4.0 }, 7.0 };
  g_autoptr (NsVolume) image = NULL;
  g_autoptr (NsLabelMap) map = make_labels (&ball, 1, &image);
  g_autoptr (GError) error = NULL;
  NsSurfaces *surfaces;
  NsCamera3d cam;
  NsRender3dStyle style;
  cairo_surface_t *s;
  double cx, cy, px, py, origin[3], dir[3], t;
  g_autoptr (GArray) v = g_array_new (FALSE, FALSE, sizeof (NsMeshVertex));

  surfaces = ns_surfaces_new (&map->grid, 16);
  ns_surfaces_update (surfaces, map->labels, NULL, NULL);
  ns_camera3d_init (&cam, &map->grid);
  cam.azimuth = 30.0;
  cam.elevation = -20.0;
  cam.pan[0] = 3.0;
  ns_render3d_style_init (&style);
  s = ns_render3d_offscreen (surfaces, NULL, &cam, &style, SIZE, SIZE, &error);
  g_assert_no_error (error);
  silhouette (s, &cx, &cy);
  ns_camera3d_project (&cam, SIZE, SIZE, ball.centre, &px, &py);
  g_assert_cmpfloat (fabs (cx - px), <, 1.0);
  g_assert_cmpfloat (fabs (cy - py), <, 1.0);
  /* The ray through that pixel hits the ball about r before its centre. */
  ns_camera3d_ray (&cam, SIZE, SIZE, px, py, origin, dir);
  ns_surfaces_collect (surfaces, 2, v, NULL);
  g_assert_true (ns_mesh_ray_pick ((NsMeshVertex *) v->data, v->len, origin, dir, &t));
  for (int a = 0; a < 3; a++)
    g_assert_cmpfloat (fabs (origin[a] + t * dir[a] - (ball.centre[a] - ball.r * dir[a])), <,
                       1.0);
  cairo_surface_destroy (s);
  ns_surfaces_free (surfaces);
}

static void
test_bad_options (void)
{
  g_autofree char *err = NULL;
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "bad.png", NULL);
  const char *file = "/usr/share/mricron/templates/ch2bet.nii.gz";

  g_assert_cmpint (run_render (&err, file, "--plane", "3d", "--slice", "3", "-o", out, NULL), ==,
                   2);
  g_assert_nonnull (strstr (err, "--slice"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_render (&err, file, "--plane", "3d", "--elevation", "95", "-o", out,
                               NULL), ==, 2);
  g_assert_nonnull (strstr (err, "elevation"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_render (&err, file, "--plane", "3d", "--size", "0", "-o", out, NULL), ==,
                   2);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_render (&err, file, "--plane", "3d", "--renderer", "vulkan", "-o", out,
                               NULL), ==, 2);
  g_assert_nonnull (strstr (err, "--renderer"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_render (&err, file, "--plane", "axial", "--renderer", "cpu", "-o", out,
                               NULL), ==, 2);
  g_assert_nonnull (strstr (err, "--renderer"));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

static double compare_images (cairo_surface_t *a, cairo_surface_t *b, double *mean_abs);

/* `neuroseg render` (the binary in $NEUROSEG) with Mesa's drivers out of reach, so that EGL
 * cannot initialise, as on a machine without EGL.  Returns the exit status. */
static int
run_render_without_egl (char **err, const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_auto (GStrv) envp = g_environ_setenv (g_get_environ (), "LIBGL_DRIVERS_PATH",
                                          "/nonexistent", TRUE);
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;
  int status = -1;

  g_ptr_array_add (argv, (gpointer) g_getenv ("NEUROSEG"));
  g_ptr_array_add (argv, (gpointer) "render");
  for (const char *const *a = args; *a != NULL; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  g_assert_nonnull (g_getenv ("NEUROSEG"));
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_STDIN_FROM_DEV_NULL,
                               NULL, NULL, &out, err, &status, &error));
  g_assert_no_error (error);
  g_test_message ("without EGL: exit %d\nstderr:\n%s", WEXITSTATUS (status), *err);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* Where EGL is not usable, --plane 3d draws with the CPU renderer and says so; --renderer gl
 * fails with EGL's reason. */
static void
test_without_egl (void)
{
  const Ball ball = { 1, { 0.0, 0.0, 0.0 }, 12.0 };
  g_autofree char *image = NULL, *labels = NULL, *err = NULL;
  g_autofree char *fallback = g_build_filename (ns_test_tmpdir (), "no-egl.png", NULL);
  g_autofree char *cpu = g_build_filename (ns_test_tmpdir (), "no-egl-cpu.png", NULL);
  g_autofree char *gl = g_build_filename (ns_test_tmpdir (), "no-egl-gl.png", NULL);
  cairo_surface_t *a, *b;
  double mean_abs;

  write_case ("no-egl", &ball, 1, &image, &labels, NULL);
  g_assert_cmpint (run_render_without_egl (&err, (const char *const[]) {
                     image, "--labels", labels, "--plane", "3d", "--size", "300", "-o",
                     fallback, NULL }), ==, 0);
  g_assert_nonnull (strstr (err, "drawing with the CPU renderer"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_render (&err, image, "--labels", labels, "--plane", "3d", "--size", "300",
                               "--renderer", "cpu", "-o", cpu, NULL), ==, 0);
  a = cairo_image_surface_create_from_png (fallback);
  b = cairo_image_surface_create_from_png (cpu);
  g_assert_cmpfloat (compare_images (a, b, &mean_abs), ==, 0.0);
  g_assert_cmpfloat (mean_abs, ==, 0.0);
  cairo_surface_destroy (a);
  cairo_surface_destroy (b);
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run_render_without_egl (&err, (const char *const[]) {
                     image, "--labels", labels, "--plane", "3d", "--renderer", "gl", "-o", gl,
                     NULL }), ==, 1);
  g_assert_nonnull (strstr (err, "EGL"));
  g_assert_false (g_file_test (gl, G_FILE_TEST_EXISTS));
}

/* ---- the CPU renderer against the GL one ------------------------------------------------ */

typedef struct
{
  NsSurfaces *labels, *outline;
  NsGrid grid;
} Scene;

static void
scene_init (Scene *scene, const Ball *balls, int n_balls, gboolean outline)
{
  g_autoptr (NsVolume) image = NULL;
  g_autoptr (NsLabelMap) map = make_labels (balls, n_balls, &image);

  scene->grid = map->grid;
  scene->labels = ns_surfaces_new (&map->grid, 16);
  ns_surfaces_update (scene->labels, map->labels, NULL, NULL);
  scene->outline = NULL;
  if (outline)
    {
      /* A brain: the image is 100 inside a ball of 28 mm, background (0) outside. */
      NsGrid coarse;
      g_autofree guint8 *mask = NULL;
      for (int k = 0; k < map->grid.dim[2]; k++)
        for (int j = 0; j < map->grid.dim[1]; j++)
          for (int i = 0; i < map->grid.dim[0]; i++)
            {
              double vox[3] = { i, j, k }, ras[3];
              ns_geometry_voxel_to_ras (&map->grid, vox, ras);
              image->voxels[ns_grid_index (&map->grid, i, j, k)]
                = ras[0] * ras[0] + ras[1] * ras[1] + ras[2] * ras[2] <= 28.0 * 28.0 ? 100.0f
                                                                                     : 0.0f;
            }
      mask = ns_surfaces_brain_mask_new (image, 2, &coarse);
      scene->outline = ns_surfaces_new (&coarse, 16);
      ns_surfaces_update (scene->outline, mask, NULL, NULL);
    }
}

static void
scene_clear (Scene *scene)
{
  g_clear_pointer (&scene->labels, ns_surfaces_free);
  g_clear_pointer (&scene->outline, ns_surfaces_free);
}

/* Pixels whose largest channel difference is over 48 (an edge drawn a pixel apart, a
 * highlight placed differently), and the mean absolute difference over all channels. */
static double
compare_images (cairo_surface_t *a, cairo_surface_t *b, double *mean_abs)
{
  gsize differ = 0, n = (gsize) SIZE * SIZE;
  double sum = 0.0;

  for (int y = 0; y < SIZE; y++)
    for (int x = 0; x < SIZE; x++)
      {
        guint32 p = synth_pixel (a, x, y), q = synth_pixel (b, x, y);
        int worst = 0;
        for (int sh = 0; sh < 24; sh += 8)
          {
            int d = ABS ((int) ((p >> sh) & 0xff) - (int) ((q >> sh) & 0xff));
            worst = MAX (worst, d);
            sum += d;
          }
        differ += worst > 48;
      }
  *mean_abs = sum / (3.0 * n);
  return (double) differ / n;
}

static gboolean
is_colour (guint32 p, guint32 rgb)
{
  for (int sh = 0; sh < 24; sh += 8)
    {
      int want = (rgb >> sh) & 0xff, got = (p >> sh) & 0xff;
      /* lit: between 0.3 and 1.2 times the colour, zero where the colour is zero */
      if (want == 0 ? got > 60 : (got < 0.3 * want - 8 || got > 1.2 * want + 60))
        return FALSE;
    }
  return TRUE;
}

/* The same scene from three angles, opaque, see-through, and see-through with label 1
 * (inside label 2) opaque, with the outline and the cursor: the images agree but for a
 * few pixels. */
static void
test_cpu_matches_gl (void)
{
  const Ball balls[3] = { { 2, { 0.0, 0.0, 0.0 }, 16.0 }, { 1, { 4.0, -3.0, 2.0 }, 7.0 },
                          { 4, { -14.0, 8.0, -6.0 }, 5.0 } };
  const double angles[3][2] = { { 0.0, 0.0 }, { 50.0, 35.0 }, { 200.0, -60.0 } };
  Scene scene;

  scene_init (&scene, balls, 3, TRUE);
  for (int view = 0; view < 9; view++)
    {
      g_autoptr (GError) error = NULL;
      NsCamera3d cam;
      NsRender3dStyle style;
      cairo_surface_t *gl, *cpu;
      double differ, mean_abs;

      ns_camera3d_init (&cam, &scene.grid);
      cam.azimuth = angles[view % 3][0];
      cam.elevation = angles[view % 3][1];
      cam.zoom = 1.2;
      ns_render3d_style_init (&style);
      style.label_opacity = view < 3 ? 1.0 : 0.5;
      style.opaque_label = view < 6 ? 0 : 1;
      style.show_cursor = TRUE;
      style.cursor_ras[0] = 3.0;
      gl = ns_render3d_offscreen (scene.labels, scene.outline, &cam, &style, SIZE, SIZE, &error);
      g_assert_no_error (error);
      cpu = ns_raster3d_render (scene.labels, scene.outline, &cam, &style, SIZE, SIZE, &error);
      g_assert_no_error (error);
      differ = compare_images (gl, cpu, &mean_abs);
      g_test_message ("view %d (azimuth %.0f, elevation %.0f, %s): %.2f%% of the pixels "
                      "differ by more than 48, mean difference %.2f", view, cam.azimuth,
                      cam.elevation,
                      view < 3 ? "opaque" : view < 6 ? "see-through" : "see-through, 1 opaque",
                      100.0 * differ,
                      mean_abs);
      g_assert_cmpfloat (differ, <, 0.005);
      g_assert_cmpfloat (mean_abs, <, 1.5);
      cairo_surface_destroy (gl);
      cairo_surface_destroy (cpu);
    }
  scene_clear (&scene);
}

/* Label 4 inside label 1: opaque, only label 1 shows (depth test and writes); see-through,
 * label 4 shows through (blended, both faces, no depth writes).  Which side is the back is
 * checked by the sphere's colour (/render/3d/sphere/cpu: the far half lit from behind is
 * dark) and by /render/3d/cpu-matches-gl. */
static void
test_hidden_inside (void)
{
  const Ball balls[2] = { { 1, { 0.0, 0.0, 0.0 }, 18.0 }, { 4, { 0.0, 0.0, 0.0 }, 8.0 } };
  NsOverlayStyle overlay;
  Scene scene;

  ns_overlay_style_init (&overlay);
  scene_init (&scene, balls, 2, FALSE);
  for (int see_through = 0; see_through < 2; see_through++)
    {
      g_autoptr (GError) error = NULL;
      NsCamera3d cam;
      NsRender3dStyle style;
      cairo_surface_t *s;
      gsize inner = 0;

      ns_camera3d_init (&cam, &scene.grid);
      cam.azimuth = 30.0;
      cam.elevation = 20.0;
      ns_render3d_style_init (&style);
      style.label_opacity = see_through ? 0.5 : 1.0;
      s = ns_raster3d_render (scene.labels, NULL, &cam, &style, SIZE, SIZE, &error);
      g_assert_no_error (error);
      for (int y = 0; y < SIZE; y++)
        for (int x = 0; x < SIZE; x++)
          {
            guint32 p = synth_pixel (s, x, y);
            /* label 4 yellow: green as strong as red; label 1 red: green low */
            inner += ((p >> 8) & 0xff) > 0.6 * ((p >> 16) & 0xff) && ((p >> 16) & 0xff) > 60;
          }
      g_test_message ("%s: %" G_GSIZE_FORMAT " pixels of the inner label",
                      see_through ? "see-through" : "opaque", inner);
      if (see_through)
        g_assert_cmpuint (inner, >, 1000);
      else
        g_assert_cmpuint (inner, ==, 0);
      cairo_surface_destroy (s);
    }
  scene_clear (&scene);
}

/* Nested regions as the 3D view shows them: see-through region surfaces (WT, TC, ET of
 * render/ns-mesh.h) with the innermost one opaque (style.opaque_label).  With WT and ET
 * shown, at the centre of the view ET is drawn opaque and WT's front face blended over
 * it: the pixel is the blend of the two drawn alone (WT's back face, behind ET, is hidden
 * by ET's depth). */
static void
test_opaque_inside (void)
{
  const Ball balls[3] = { { 2, { 0.0, 0.0, 0.0 }, 18.0 }, { 1, { 0.0, 0.0, 0.0 }, 12.0 },
                          { 4, { 0.0, 0.0, 0.0 }, 6.0 } };
  const guint8 wt = 1 + NS_REGION_WT, et = 1 + NS_REGION_ET;
  const double alpha = 0.5;
  g_autoptr (NsVolume) image = NULL;
  g_autoptr (NsLabelMap) map = make_labels (balls, 3, &image);
  NsSurfaces *regions = ns_surfaces_new_full (&map->grid, NS_SURFACES_BLOCK_SIZE,
                                              NS_SURFACES_REGIONS, NS_MESH_DECIMATE_DEFAULT);
  guint32 p[3];

  ns_surfaces_update (regions, map->labels, NULL, NULL);
  for (int i = 0; i < 3; i++)
    {
      g_autoptr (GError) error = NULL;
      NsCamera3d cam;
      NsRender3dStyle style;
      cairo_surface_t *s;

      ns_camera3d_init (&cam, &map->grid);
      ns_render3d_style_init (&style);
      for (int id = 0; id < 256; id++)
        style.labels.visible[id] = (i != 1 && id == wt) || (i != 0 && id == et);
      if (i == 2)
        {
          style.label_opacity = alpha;
          style.opaque_label = et;
        }
      s = ns_raster3d_render (regions, NULL, &cam, &style, SIZE, SIZE, &error);
      g_assert_no_error (error);
      p[i] = synth_pixel (s, SIZE / 2, SIZE / 2);
      cairo_surface_destroy (s);
    }
  for (int shift = 0; shift <= 16; shift += 8)
    {
      double out = (p[0] >> shift) & 0xff, in = (p[1] >> shift) & 0xff;
      double got = (p[2] >> shift) & 0xff, want = alpha * out + (1.0 - alpha) * in;
      g_test_message ("channel %d: WT %.0f, ET %.0f, both %.0f (want %.1f)", shift / 8,
                      out, in, got, want);
      g_assert_cmpfloat (fabs (got - want), <=, 3.0);
    }
  g_assert_cmpuint (p[0], !=, p[1]);
  ns_surfaces_free (regions);
}

/* One NsRaster3d drawing a sequence of frames (the cursor moved, the camera turned, the
 * style changed, the labels edited) gives, frame for frame, what a fresh renderer draws:
 * the scene it keeps for cursor-only frames is never stale. */
static void
test_cpu_frames_follow (void)
{
  const Ball balls[2] = { { 2, { 0.0, 0.0, 0.0 }, 12.0 }, { 1, { 5.0, 0.0, 3.0 }, 5.0 } };
  g_autoptr (NsVolume) image = NULL;
  g_autoptr (NsLabelMap) map = make_labels (balls, 2, &image);
  g_autofree guint8 *pixels = g_malloc ((gsize) SIZE * SIZE * 4);
  NsSurfaces *surfaces = ns_surfaces_new (&map->grid, 16);
  NsRaster3d *raster = ns_raster3d_new ();
  NsCamera3d cam;
  NsRender3dStyle style;

  ns_surfaces_update (surfaces, map->labels, NULL, NULL);
  ns_raster3d_set_surfaces (raster, surfaces, NULL);
  ns_camera3d_init (&cam, &map->grid);
  ns_render3d_style_init (&style);
  style.show_cursor = TRUE;
  for (int step = 0; step < 7; step++)
    {
      g_autoptr (GError) error = NULL;
      cairo_surface_t *fresh;
      gsize differ = 0;

      switch (step)
        {
        case 1: /* the cursor moves */
        case 2:
          style.cursor_ras[0] += 6.0;
          break;
        case 3:
          ns_camera3d_rotate (&cam, 20.0, 0.0);
          break;
        case 4:
          style.label_opacity = 0.5;
          break;
        case 5:
          style.labels.visible[1] = FALSE;
          break;
        case 6: /* an edit: a block of label 2 erased */
          {
            int lo[3] = { 28, 28, 20 }, hi[3] = { 36, 36, 28 };
            for (int k = lo[2]; k <= hi[2]; k++)
              for (int j = lo[1]; j <= hi[1]; j++)
                for (int i = lo[0]; i <= hi[0]; i++)
                  map->labels[ns_grid_index (&map->grid, i, j, k)] = 0;
            ns_surfaces_update (surfaces, map->labels, lo, hi);
          }
          break;
        default:
          break;
        }
      ns_raster3d_draw (raster, &cam, &style, SIZE, SIZE, pixels, (gsize) SIZE * 4);
      fresh = ns_raster3d_render (surfaces, NULL, &cam, &style, SIZE, SIZE, &error);
      g_assert_no_error (error);
      cairo_surface_flush (fresh);
      for (int y = 0; y < SIZE; y++)
        differ += memcmp (pixels + (gsize) y * SIZE * 4,
                          cairo_image_surface_get_data (fresh)
                            + (gsize) y * cairo_image_surface_get_stride (fresh),
                          (gsize) SIZE * 4) != 0;
      g_test_message ("step %d: %" G_GSIZE_FORMAT " rows differ from a fresh frame", step,
                      differ);
      g_assert_cmpuint (differ, ==, 0);
      cairo_surface_destroy (fresh);
    }
  ns_raster3d_free (raster);
  ns_surfaces_free (surfaces);
}

/* The near plane cuts the outer ball in front of the inner one: both renderers clip the
 * outer ball's cap away, so the inner ball (label 4) shows at the centre, inside the outer
 * ball's back half (label 1, seen from inside). */
static void
test_near_plane (void)
{
  const Ball balls[2] = { { 1, { 0.0, 0.0, 0.0 }, 16.0 }, { 4, { 0.0, 0.0, 0.0 }, 5.0 } };
  NsOverlayStyle overlay;
  Scene scene;
  NsCamera3d cam;
  NsRender3dStyle style;
  double right[3], up[3], toward[3];
  g_autoptr (GError) error = NULL;
  cairo_surface_t *images[2];

  ns_overlay_style_init (&overlay);
  scene_init (&scene, balls, 2, FALSE);
  ns_camera3d_init (&cam, &scene.grid);
  cam.azimuth = 20.0;
  cam.elevation = 10.0;
  /* The eye 4000 mm from the target, the near plane 1 mm in front of the eye: with the
   * target 3990 mm behind the balls' centre, the plane is 9 mm in front of it. */
  ns_camera3d_basis (&cam, right, up, toward);
  for (int a = 0; a < 3; a++)
    cam.centre[a] = -3990.0 * toward[a];
  ns_render3d_style_init (&style);
  images[0] = ns_raster3d_render (scene.labels, NULL, &cam, &style, SIZE, SIZE, &error);
  g_assert_no_error (error);
  images[1] = ns_render3d_offscreen (scene.labels, NULL, &cam, &style, SIZE, SIZE, &error);
  g_assert_no_error (error);
  for (int i = 0; i < 2; i++)
    {
      cairo_surface_t *s = images[i];
      double mmpp = cam.fov_mm / SIZE;
      /* the centre: label 4; 10 mm off it: label 1 (its back half, through the cut) */
      g_test_message ("%s: centre %06x, 10 mm right %06x", i == 0 ? "cpu" : "gl",
                      synth_pixel (s, SIZE / 2, SIZE / 2) & 0xffffff,
                      synth_pixel (s, SIZE / 2 + (int) (10.0 / mmpp), SIZE / 2) & 0xffffff);
      g_assert_true (is_colour (synth_pixel (s, SIZE / 2, SIZE / 2), overlay.rgb[4]));
      g_assert_true (is_colour (synth_pixel (s, SIZE / 2 + (int) (10.0 / mmpp), SIZE / 2),
                                overlay.rgb[1]));
      cairo_surface_destroy (s);
    }
  scene_clear (&scene);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/render/3d/sphere/gl", "gl", test_sphere);
  g_test_add_data_func ("/render/3d/sphere/cpu", "cpu", test_sphere);
  g_test_add_data_func ("/render/3d/orientation/gl", "gl", test_orientation);
  g_test_add_data_func ("/render/3d/orientation/cpu", "cpu", test_orientation);
  g_test_add_func ("/render/3d/cpu-matches-gl", test_cpu_matches_gl);
  g_test_add_func ("/render/3d/cpu-hidden-inside", test_hidden_inside);
  g_test_add_func ("/render/3d/cpu-opaque-inside", test_opaque_inside);
  g_test_add_func ("/render/3d/near-plane", test_near_plane);
  g_test_add_func ("/render/3d/cpu-frames-follow", test_cpu_frames_follow);
  g_test_add_func ("/render/3d/offscreen-projection", test_offscreen_and_projection);
  g_test_add_func ("/render/3d/bad-options", test_bad_options);
  g_test_add_func ("/render/3d/without-egl", test_without_egl);
  return g_test_run ();
}
