/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-bench-render3d.c: the 3D view's part of `neuroseg bench --render` (issue 17):
 * the full mesh of the case's labels and of the brain outline (once per case in the
 * workbench), the re-mesh after a brush stroke (what each edit costs the 3D view: only
 * the blocks the stroke's box reaches), each at the three decimation levels (decimation
 * included in the times; the workbench meshes on a worker thread, these are the times of
 * that thread's work), and one frame of the view at 512 x 512, at the view's level, drawn
 * by each of the workbench's two renderers: the CPU one (ns-raster3d.h, what the
 * workbench uses where GL is software) and OpenGL off-screen (software GL where there is
 * no GPU; the row says why when EGL is missing).
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

typedef struct
{
  NsMeshDecimation level;
  double mesh_ms, mesh_cpu, stroke_ms, stroke_cpu, blocks;
  guint total_blocks;
  gsize n_triangles;
} LevelRow;

static const char *const level_names[] = { "off", "normal", "strong" };

/* The full mesh of labels (median of n_mesh) and the re-mesh after each of n_strokes
 * strokes on a copy of them, at one decimation level; the surfaces are kept in *out. */
static gboolean
bench_level (const NsLabelMap *labels, NsMeshDecimation level, int n_mesh, int n_strokes,
             LevelRow *row, NsSurfaces **out, GError **error)
{
  g_autofree double *t_mesh = g_new (double, n_mesh);
  g_autofree double *c_mesh = g_new (double, n_mesh);
  g_autofree double *t_stroke = g_new (double, n_strokes);
  g_autofree double *c_stroke = g_new (double, n_strokes);
  g_autoptr (NsLabelMap) work = ns_label_map_dup (labels, error);
  NsSurfaces *surfaces = NULL;
  double centre[3], blocks = 0.0;

  if (work == NULL)
    return FALSE;
  row->level = level;
  for (int r = 0; r < n_mesh; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      double c0 = thread_cpu_ms ();
      ns_surfaces_free (surfaces);
      surfaces = ns_surfaces_new_full (&labels->grid, NS_SURFACES_BLOCK_SIZE, NS_SURFACES_LABELS,
                                       level);
      row->total_blocks = ns_surfaces_update (surfaces, labels->labels, NULL, NULL);
      t_mesh[r] = ms_since (t0);
      c_mesh[r] = thread_cpu_ms () - c0;
    }
  row->n_triangles = ns_surfaces_n_triangles (surfaces);

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
      gint64 t0;
      double c0;

      paint_stroke (work, start, (s & 1) ? 0 : 2, box);
      t0 = g_get_monotonic_time ();
      c0 = thread_cpu_ms ();
      blocks += ns_surfaces_update (surfaces, work->labels, box, box + 3);
      t_stroke[s] = ms_since (t0);
      c_stroke[s] = thread_cpu_ms () - c0;
    }
  row->mesh_ms = median (t_mesh, n_mesh);
  row->mesh_cpu = median (c_mesh, n_mesh);
  row->stroke_ms = median (t_stroke, n_strokes);
  row->stroke_cpu = median (c_stroke, n_strokes);
  row->blocks = blocks / n_strokes;
  *out = surfaces;
  return TRUE;
}

gboolean
ns_bench_render3d (const char *case_path, const NsVolume *image, const NsLabelMap *labels,
                   int runs, gboolean json_only, JsonBuilder *json, GError **error)
{
  const int n_mesh = MAX (3, runs), n_strokes = 20 * MAX (1, runs), n_frames = 30 * MAX (1, runs);
  g_autofree double *t_outline = g_new (double, n_mesh);
  LevelRow rows[3];
  NsSurfaces *surfaces = NULL, *outline = NULL;
  NsGrid coarse;
  NsCamera3d cam;
  NsRender3dStyle style;
  double frame_ms = -1.0, cpu_frame_ms = -1.0, cpu_frame_cpu = -1.0, outline_ms;
  g_autoptr (GError) gl_error = NULL;
  gsize n_outline;

  /* The outline as the view meshes it: 2x coarser, at the default level. */
  for (int r = 0; r < n_mesh; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      g_autofree guint8 *mask = ns_surfaces_brain_mask_new (image, 2, &coarse);
      ns_surfaces_free (outline);
      outline = ns_surfaces_new_full (&coarse, NS_SURFACES_BLOCK_SIZE, NS_SURFACES_LABELS,
                                      NS_MESH_DECIMATE_DEFAULT);
      ns_surfaces_update (outline, mask, NULL, NULL);
      t_outline[r] = ms_since (t0);
    }
  outline_ms = median (t_outline, n_mesh);
  n_outline = ns_surfaces_n_triangles (outline);

  for (NsMeshDecimation level = NS_MESH_DECIMATE_OFF; level <= NS_MESH_DECIMATE_STRONG; level++)
    {
      NsSurfaces *s = NULL;
      if (!bench_level (labels, level, n_mesh, n_strokes, &rows[level], &s, error))
        {
          ns_surfaces_free (surfaces);
          ns_surfaces_free (outline);
          return FALSE;
        }
      if (level == NS_MESH_DECIMATE_DEFAULT)
        surfaces = s;
      else
        ns_surfaces_free (s);
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

  if (!json_only)
    {
      printf ("render3d: %s: %u blocks of %d^3; brain outline %" G_GSIZE_FORMAT " triangles "
              "(2x coarser grid, decimated %s) in %.1f ms (mask + mesh, once per case)\n",
              ns_cmd_printable (case_path), rows[0].total_blocks, NS_SURFACES_BLOCK_SIZE,
              n_outline,
              level_names[NS_MESH_DECIMATE_DEFAULT], outline_ms);
      printf ("render3d:   decimation  triangles  full mesh (cpu)      stroke re-mesh (cpu)"
              "  (targets: full <= 300 ms, stroke <= 30 ms; median of %d / %d)\n", n_mesh,
              n_strokes);
      for (int l = 0; l < 3; l++)
        printf ("render3d:   %-6s%s %9" G_GSIZE_FORMAT "  %7.1f ms (%6.1f)  %7.2f ms (%6.2f)"
                "  %.1f blocks\n", level_names[l],
                l == NS_MESH_DECIMATE_DEFAULT ? " (view)" : "       ", rows[l].n_triangles,
                rows[l].mesh_ms, rows[l].mesh_cpu, rows[l].stroke_ms, rows[l].stroke_cpu,
                rows[l].blocks);
      printf ("render3d:   strokes: %d dabs of %.0f mm over 20 mm\n", STROKE_DABS,
              DAB_RADIUS_MM);
      printf ("render3d:   3D frame (cpu) %d x %d  %.2f ms, cpu %.2f ms  (target <= 16 ms, "
              "one thread, %s decimation, median of %d)\n", FRAME_SIZE, FRAME_SIZE,
              cpu_frame_ms, cpu_frame_cpu, level_names[NS_MESH_DECIMATE_DEFAULT], n_frames);
      if (gl_error == NULL)
        printf ("render3d:   3D frame (gl)  %d x %d  %.2f ms  (off-screen, median of %d)\n",
                FRAME_SIZE, FRAME_SIZE, frame_ms, n_frames);
      else
        printf ("render3d:   3D frame (gl)  %d x %d  not measured: %s\n", FRAME_SIZE,
                FRAME_SIZE, gl_error->message);
    }
  {
    const LevelRow *d = &rows[NS_MESH_DECIMATE_DEFAULT];
    json_builder_set_member_name (json, "render3d");
    json_builder_begin_object (json);
    /* The view's level in the members of before; each level in "levels". */
    ns_json_add_int (json, "label_triangles", (gint64) d->n_triangles);
    ns_json_add_int (json, "outline_triangles", (gint64) n_outline);
    ns_json_add_number (json, "full_mesh_ms", d->mesh_ms);
    ns_json_add_number (json, "full_mesh_cpu_ms", d->mesh_cpu);
    ns_json_add_number (json, "outline_ms", outline_ms);
    ns_json_add_number (json, "stroke_remesh_ms", d->stroke_ms);
    ns_json_add_number (json, "stroke_remesh_cpu_ms", d->stroke_cpu);
    ns_json_add_number (json, "stroke_blocks", d->blocks);
    ns_json_add_string (json, "decimation", level_names[NS_MESH_DECIMATE_DEFAULT]);
    json_builder_set_member_name (json, "levels");
    json_builder_begin_array (json);
    for (int l = 0; l < 3; l++)
      {
        json_builder_begin_object (json);
        ns_json_add_string (json, "decimation", level_names[l]);
        ns_json_add_int (json, "label_triangles", (gint64) rows[l].n_triangles);
        ns_json_add_number (json, "full_mesh_ms", rows[l].mesh_ms);
        ns_json_add_number (json, "full_mesh_cpu_ms", rows[l].mesh_cpu);
        ns_json_add_number (json, "stroke_remesh_ms", rows[l].stroke_ms);
        ns_json_add_number (json, "stroke_remesh_cpu_ms", rows[l].stroke_cpu);
        json_builder_end_object (json);
      }
    json_builder_end_array (json);
    ns_json_add_int (json, "frame_size", FRAME_SIZE);
    ns_json_add_number (json, "cpu_frame_ms", cpu_frame_ms);
    ns_json_add_number (json, "cpu_frame_cpu_ms", cpu_frame_cpu);
    if (gl_error == NULL)
      ns_json_add_number (json, "frame_ms", frame_ms);
    json_builder_end_object (json);
  }
  return TRUE;
}
