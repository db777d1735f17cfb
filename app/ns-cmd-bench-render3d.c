/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-bench-render3d.c: the 3D view's part of `neuroseg bench --render` (issue 17):
 * the full mesh of the case's labels and of the brain outline (once per case in the
 * workbench), the re-mesh after a brush stroke (what each edit costs the 3D view: only
 * the blocks the stroke's box reaches), and one frame of the view at 512 x 512 drawn by
 * each of the workbench's two renderers: the CPU one (ns-raster3d.h, what the workbench
 * uses where GL is software) and OpenGL off-screen (software GL where there is no GPU; the
 * row says why when EGL is missing).
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-cmd.h"
#include "ns-json.h"
#include "ns-mesh.h"
#include "ns-raster3d.h"
#include "ns-render3d.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STROKE_DABS 10
#define DAB_RADIUS_MM 3.0
#define FRAME_SIZE 512

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *v, int n)
{
  qsort (v, n, sizeof (double), compare_double);
  return v[n / 2];
}

static double
ms_since (gint64 t0)
{
  return (double) (g_get_monotonic_time () - t0) / 1e3;
}

/* CPU time of the calling thread, ms: on a machine shared with other jobs the wall-clock
 * time also counts the time the thread waited for a core; this is the work itself. */
static double
thread_cpu_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A stroke of STROKE_DABS round dabs of label value, 2 mm apart along i, starting at
 * voxel start; box gets the voxels it touched (min i, j, k, max i, j, k). */
static void
paint_stroke (NsLabelMap *map, const int start[3], guint8 value, int box[6])
{
  const NsGrid *g = &map->grid;
  int r[3];

  for (int a = 0; a < 3; a++)
    {
      r[a] = (int) ceil (DAB_RADIUS_MM / g->spacing[a]);
      box[a] = G_MAXINT;
      box[3 + a] = -1;
    }
  for (int d = 0; d < STROKE_DABS; d++)
    {
      double c[3] = { start[0] + d * 2.0 / g->spacing[0], start[1], start[2] };
      for (int k = (int) c[2] - r[2]; k <= (int) c[2] + r[2]; k++)
        for (int j = (int) c[1] - r[1]; j <= (int) c[1] + r[1]; j++)
          for (int i = (int) c[0] - r[0]; i <= (int) c[0] + r[0]; i++)
            {
              double d2 = 0.0;
              int ijk[3] = { i, j, k };
              if (i < 0 || j < 0 || k < 0 || i >= g->dim[0] || j >= g->dim[1] || k >= g->dim[2])
                continue;
              for (int a = 0; a < 3; a++)
                d2 += pow ((ijk[a] - c[a]) * g->spacing[a], 2);
              if (d2 > DAB_RADIUS_MM * DAB_RADIUS_MM)
                continue;
              map->labels[ns_grid_index (g, i, j, k)] = value;
              for (int a = 0; a < 3; a++)
                {
                  box[a] = MIN (box[a], ijk[a]);
                  box[3 + a] = MAX (box[3 + a], ijk[a]);
                }
            }
    }
}

gboolean
ns_bench_render3d (const char *case_path, const NsVolume *image, const NsLabelMap *labels,
                   int runs, gboolean json_only, JsonBuilder *json, GError **error)
{
  const int n_mesh = MAX (3, runs), n_strokes = 20 * MAX (1, runs), n_frames = 30 * MAX (1, runs);
  g_autofree double *t_mesh = g_new (double, n_mesh);
  g_autofree double *t_outline = g_new (double, n_mesh);
  g_autofree double *t_stroke = g_new (double, n_strokes);
  g_autofree double *c_mesh = g_new (double, n_mesh);
  g_autofree double *c_stroke = g_new (double, n_strokes);
  g_autoptr (NsLabelMap) work = ns_label_map_dup (labels, error);
  NsSurfaces *surfaces = NULL, *outline = NULL;
  NsGrid coarse;
  NsCamera3d cam;
  NsRender3dStyle style;
  double centre[3], frame_ms = -1.0, cpu_frame_ms = -1.0, cpu_frame_cpu = -1.0, blocks = 0.0;
  g_autoptr (GError) gl_error = NULL;
  guint total_blocks = 0;
  gsize n_triangles, n_outline;

  if (work == NULL)
    return FALSE;
  for (int r = 0; r < n_mesh; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      double c0 = thread_cpu_ms ();
      ns_surfaces_free (surfaces);
      surfaces = ns_surfaces_new (&labels->grid, 16);
      total_blocks = ns_surfaces_update (surfaces, labels->labels, NULL, NULL);
      t_mesh[r] = ms_since (t0);
      c_mesh[r] = thread_cpu_ms () - c0;

      t0 = g_get_monotonic_time ();
      {
        g_autofree guint8 *mask = ns_surfaces_brain_mask_new (image, 2, &coarse);
        ns_surfaces_free (outline);
        outline = ns_surfaces_new (&coarse, 16);
        ns_surfaces_update (outline, mask, NULL, NULL);
      }
      t_outline[r] = ms_since (t0);
    }
  n_triangles = ns_surfaces_n_triangles (surfaces);
  n_outline = ns_surfaces_n_triangles (outline);

  /* Strokes across the tumour's edge: from the labels' centre outward, in turn adding
   * edema and erasing, at different heights. */
  if (!ns_label_map_centroid (labels, centre))
    for (int a = 0; a < 3; a++)
      centre[a] = labels->grid.dim[a] / 2.0;
  for (int s = 0; s < n_strokes; s++)
    {
      int start[3] = { (int) centre[0], (int) centre[1] + (s % 5) * 3 - 6,
                       (int) centre[2] + (s % 7) - 3 };
      int box[6];
      guint n;
      gint64 t0;
      double c0;

      paint_stroke (work, start, (s & 1) ? 0 : 2, box);
      t0 = g_get_monotonic_time ();
      c0 = thread_cpu_ms ();
      n = ns_surfaces_update (surfaces, work->labels, box, box + 3);
      t_stroke[s] = ms_since (t0);
      c_stroke[s] = thread_cpu_ms () - c0;
      blocks += n;
    }

  ns_camera3d_init (&cam, &labels->grid);
  cam.elevation = 20.0;
  ns_render3d_style_init (&style);
  if (!ns_raster3d_time_frames (surfaces, outline, &cam, &style, FRAME_SIZE, FRAME_SIZE,
                                n_frames, &cpu_frame_ms, &cpu_frame_cpu, error))
    {
      ns_surfaces_free (surfaces);
      ns_surfaces_free (outline);
      return FALSE;
    }
  /* GL may be missing (no EGL): the row says so, the CPU row stands. */
  if (!ns_render3d_time_frames (surfaces, outline, &cam, &style, FRAME_SIZE, FRAME_SIZE,
                                n_frames, &frame_ms, &gl_error))
    frame_ms = -1.0;
  ns_surfaces_free (surfaces);
  ns_surfaces_free (outline);

  {
    double mesh_ms = median (t_mesh, n_mesh), outline_ms = median (t_outline, n_mesh);
    double stroke_ms = median (t_stroke, n_strokes);
    double mesh_cpu = median (c_mesh, n_mesh), stroke_cpu = median (c_stroke, n_strokes);

    if (!json_only)
      {
        printf ("render3d: %s: labels %" G_GSIZE_FORMAT " triangles in %u blocks of 16^3, "
                "brain outline %" G_GSIZE_FORMAT " triangles (2x coarser grid)\n",
                ns_cmd_printable (case_path), n_triangles, total_blocks, n_outline);
        printf ("render3d:   full mesh of the labels   %.1f ms, cpu %.1f ms  (target <= 300 ms, "
                "median of %d)\n", mesh_ms, mesh_cpu, n_mesh);
        printf ("render3d:   brain outline (mask+mesh) %.1f ms  (once per case)\n", outline_ms);
        printf ("render3d:   re-mesh after a stroke    %.2f ms, cpu %.2f ms  (target <= 30 ms; "
                "%d dabs of %.0f mm over 20 mm, %.1f blocks, median of %d)\n", stroke_ms,
                stroke_cpu, STROKE_DABS, DAB_RADIUS_MM, blocks / n_strokes, n_strokes);
        printf ("render3d:   3D frame (cpu) %d x %d  %.2f ms, cpu %.2f ms  (target <= 16 ms, "
                "one thread, median of %d)\n", FRAME_SIZE, FRAME_SIZE, cpu_frame_ms,
                cpu_frame_cpu, n_frames);
        if (gl_error == NULL)
          printf ("render3d:   3D frame (gl)  %d x %d  %.2f ms  (off-screen, median of %d)\n",
                  FRAME_SIZE, FRAME_SIZE, frame_ms, n_frames);
        else
          printf ("render3d:   3D frame (gl)  %d x %d  not measured: %s\n", FRAME_SIZE,
                  FRAME_SIZE, gl_error->message);
      }
    json_builder_set_member_name (json, "render3d");
    json_builder_begin_object (json);
    ns_json_add_int (json, "label_triangles", (gint64) n_triangles);
    ns_json_add_int (json, "outline_triangles", (gint64) n_outline);
    ns_json_add_number (json, "full_mesh_ms", mesh_ms);
    ns_json_add_number (json, "full_mesh_cpu_ms", mesh_cpu);
    ns_json_add_number (json, "outline_ms", outline_ms);
    ns_json_add_number (json, "stroke_remesh_ms", stroke_ms);
    ns_json_add_number (json, "stroke_remesh_cpu_ms", stroke_cpu);
    ns_json_add_number (json, "stroke_blocks", blocks / n_strokes);
    ns_json_add_int (json, "frame_size", FRAME_SIZE);
    ns_json_add_number (json, "cpu_frame_ms", cpu_frame_ms);
    ns_json_add_number (json, "cpu_frame_cpu_ms", cpu_frame_cpu);
    if (gl_error == NULL)
      ns_json_add_number (json, "frame_ms", frame_ms);
    json_builder_end_object (json);
  }
  return TRUE;
}
