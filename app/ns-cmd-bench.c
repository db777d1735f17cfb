/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-bench.c: `neuroseg bench [--io] [--runs N] [--json] [CASE]`: timings on a real
 * case, one section per benchmark.  Each section is an entry of `sections[]` with its own
 * option flag and a run function that prints a human summary and adds one member to
 * the JSON object; with no section flag every section runs.  Times are wall-clock medians
 * over --runs runs after one untimed warm-up run (which fills the page cache).
 *
 * Sections:
 *   memory  resident and peak memory with the case open and during Run Model
 *        (ns-cmd-bench-memory.c; memory, not time: --runs does not apply).
 *   io   open a case (every file, decoded in parallel as the GUI does) with ns_case_load;
 *        --serial decodes one file after another, for comparison.
 *   render  draw one 240 x 240 plane, then all three, with image, labels and crosshair,
 *        as the GUI does on a slice change (render/); median of 100 x --runs renders;
 *        then the 3D view: full mesh, re-mesh after a brush stroke, one frame
 *        (ns-cmd-bench-render3d.c).
 *   edit  a 5 mm brush dab committed (and with the redraw of three planes), undo of a
 *        one-million-voxel change, journal append latency on the calling thread and the
 *        longest event while painting for 2 x --runs s (with and without the journal);
 *        medians of 200 x --runs dabs.
 *   interact  interactive correction: the clicked slice's latency p50 / p95 and the
 *        propagation (ns-cmd-bench-interact.c).
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-cmd.h"
#include "ns-json.h"
#include "ns-case.h"
#include "ns-paths.h"
#include "ns-render.h"
#include "ns-trainer.h"
#include "ns-edit.h"
#include "ns-history.h"
#include "ns-journal.h"

#include <glib/gstdio.h>
#include <math.h>

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct
{
  const char *case_path;
  int runs;
  gboolean serial;
  gboolean json;
} BenchOptions;

typedef gboolean (*BenchFunc) (const BenchOptions *options, JsonBuilder *json, GError **error);

typedef struct
{
  const char *name;
  gboolean *selected;
  BenchFunc run;
} BenchSection;

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
median (double *v, int n)
{
  qsort (v, (size_t) n, sizeof (double), compare_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- io ------------------------------------------------------------------------------- */

static gboolean
bench_io (const BenchOptions *options, JsonBuilder *json, GError **error)
{
  NsCaseLoadFlags flags = options->serial ? NS_CASE_LOAD_SERIAL : NS_CASE_LOAD_DEFAULT;
  g_autofree double *times = g_new (double, options->runs);
  guint n_files = 0;
  gsize n_voxels = 0;

  for (int r = -1; r < options->runs; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      g_autoptr (NsCase) ncase = ns_case_load (options->case_path, flags, error);
      gint64 t1 = g_get_monotonic_time ();
      if (ncase == NULL)
        return FALSE;
      if (r < 0)
        {
          for (int f = 0; f < NS_N_CASE_FILES; f++)
            n_files += ncase->paths[f] != NULL;
          n_voxels = ns_grid_n_voxels (&ncase->grid);
          continue; /* warm-up */
        }
      times[r] = (double) (t1 - t0) / 1e6;
      if (!options->json)
        printf ("io: run %d: %.3f s\n", r + 1, times[r]);
    }

  g_autofree double *sorted = g_memdup2 (times, sizeof (double) * (gsize) options->runs);
  double med = median (sorted, options->runs);
  if (!options->json)
    printf ("io: %s: %u files of %" G_GSIZE_FORMAT " voxels, %s, median %.3f s over %d runs "
            "(min %.3f, max %.3f)\n",
            ns_cmd_printable (options->case_path), n_files, n_voxels,
            options->serial ? "serial" : "parallel",
            med, options->runs, sorted[0], sorted[options->runs - 1]);

  json_builder_set_member_name (json, "io");
  json_builder_begin_object (json);
  ns_json_add_string (json, "case", options->case_path);
  ns_json_add_int (json, "files", n_files);
  ns_json_add_boolean (json, "parallel", !options->serial);
  json_builder_set_member_name (json, "runs_s");
  json_builder_begin_array (json);
  for (int r = 0; r < options->runs; r++)
    json_builder_add_double_value (json, times[r]);
  json_builder_end_array (json);
  ns_json_add_number (json, "median_s", med);
  json_builder_end_object (json);
  return TRUE;
}

/* ---- render ----------------------------------------------------------------------------- */

/* Median time of one call of a render step, over n calls walking through the slices (so
 * the data is not all in cache as it would be when redrawing one slice). */
typedef struct
{
  const NsVolume *image;
  const NsLabelMap *labels;
  NsPlaneGeometry geoms[NS_N_PLANES];
  cairo_surface_t *surfaces[NS_N_PLANES];
  NsLut lut;
  NsOverlayStyle style;
  NsInterp interp;
} RenderBench;

static gboolean
render_bench_planes (RenderBench *rb, int n_planes, int step, GError **error)
{
  for (int p = 0; p < n_planes; p++)
    {
      NsPlaneGeometry *g = &rb->geoms[p];
      double cursor[3];
      ns_plane_geometry_set_slice (g, (g->slice + step) % ns_plane_geometry_n_slices (g));
      if (!ns_render_image (rb->surfaces[p], 0, 0, g, rb->image, &rb->lut, rb->interp, error)
          || !ns_render_labels (rb->surfaces[p], 0, 0, g, rb->labels, &rb->style, error))
        return FALSE;
      for (int d = 0; d < 3; d++)
        cursor[d] = g->dim[d] / 2;
      ns_render_crosshair (rb->surfaces[p], 0, 0, g, cursor, 0x00ff00, 0.8, 0);
    }
  return TRUE;
}

static double
render_bench_median (RenderBench *rb, int n_planes, int n, GError **error)
{
  g_autofree double *t = g_new (double, n);
  for (int r = -10; r < n; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      if (!render_bench_planes (rb, n_planes, 1, error))
        return -1.0;
      if (r >= 0)
        t[r] = (double) (g_get_monotonic_time () - t0) / 1e3;
    }
  return median (t, n);
}

static gboolean
bench_render (const BenchOptions *options, JsonBuilder *json, GError **error)
{
  g_autoptr (NsCase) ncase = ns_case_load (options->case_path, NS_CASE_LOAD_DEFAULT, error);
  g_autoptr (NsLabelMap) empty = NULL;
  RenderBench rb = { 0 };
  const int n = 100 * options->runs;
  double window, level, t_auto, t_one[2], t_three[2];
  gint64 t0;

  if (ncase == NULL)
    return FALSE;
  rb.image = ncase->modality[NS_MODALITY_FLAIR];
  if (ncase->labels == NULL)
    rb.labels = empty = ns_label_map_new (&ncase->grid, error);
  else
    rb.labels = ncase->labels;
  if (rb.labels == NULL)
    return FALSE;

  t0 = g_get_monotonic_time ();
  ns_window_level_auto (rb.image, &window, &level);
  t_auto = (double) (g_get_monotonic_time () - t0) / 1e3;
  ns_lut_init (&rb.lut, window, level, NS_COLORMAP_GREY);
  ns_overlay_style_init (&rb.style);
  rb.style.mode = NS_OVERLAY_FILL_AND_OUTLINE; /* the costlier mode */
  for (int p = 0; p < NS_N_PLANES; p++)
    {
      ns_plane_geometry_init (&rb.geoms[p], &ncase->grid, (NsPlane) p,
                              NS_CONVENTION_RADIOLOGICAL, 0.0, NULL);
      rb.surfaces[p] = ns_render_surface_new (&rb.geoms[p]);
    }

  for (int interp = 0; interp < 2; interp++)
    {
      rb.interp = (NsInterp) interp;
      t_one[interp] = render_bench_median (&rb, 1, n, error);
      t_three[interp] = t_one[interp] < 0 ? -1 : render_bench_median (&rb, 3, n, error);
      if (t_three[interp] < 0)
        break;
    }
  for (int p = 0; p < NS_N_PLANES; p++)
    cairo_surface_destroy (rb.surfaces[p]);
  if (t_one[0] < 0 || t_three[0] < 0 || t_one[1] < 0 || t_three[1] < 0)
    return FALSE;

  if (!options->json)
    {
      printf ("render: %s: %d x %d axial plane, image + labels (fill and outline) + "
              "crosshair, median of %d:\n", ns_cmd_printable (options->case_path), rb.geoms[0].width,
              rb.geoms[0].height, n);
      printf ("render:   one plane     %.3f ms nearest, %.3f ms linear   (target <= 2 ms)\n",
              t_one[0], t_one[1]);
      printf ("render:   three planes  %.3f ms nearest, %.3f ms linear   (target <= 5 ms)\n",
              t_three[0], t_three[1]);
      printf ("render:   automatic window (once per volume) %.1f ms\n", t_auto);
    }

  json_builder_set_member_name (json, "render");
  json_builder_begin_object (json);
  ns_json_add_string (json, "case", options->case_path);
  ns_json_add_int (json, "plane_width", rb.geoms[0].width);
  ns_json_add_int (json, "plane_height", rb.geoms[0].height);
  ns_json_add_int (json, "samples", n);
  ns_json_add_number (json, "one_plane_nearest_ms", t_one[0]);
  ns_json_add_number (json, "one_plane_linear_ms", t_one[1]);
  ns_json_add_number (json, "three_planes_nearest_ms", t_three[0]);
  ns_json_add_number (json, "three_planes_linear_ms", t_three[1]);
  ns_json_add_number (json, "auto_window_ms", t_auto);
  json_builder_end_object (json);
  return ns_bench_render3d (options->case_path, rb.image, rb.labels, options->runs,
                            options->json, json, error);
}

/* ---- net (ns-cmd-bench-net.c) ------------------------------------------------------------- */

static NsBenchNetOptions net_options = { .runs = 0, .train_size = 224 };

static gboolean
bench_net (const BenchOptions *options, JsonBuilder *json, GError **error)
{
  NsBenchNetOptions o = net_options;
  o.case_path = options->case_path;
  o.json = options->json;
  o.runs = options->runs;
  return ns_bench_net (&o, json, error);
}

/* interact: ns-cmd-bench-interact.c. */
static char *interact_model;

static gboolean
bench_interact (const BenchOptions *options, JsonBuilder *json, GError **error)
{
  return ns_bench_interact (options->case_path, interact_model, options->runs, options->json,
                            json, error);
}

/* memory: ns-cmd-bench-memory.c.  First of the sections, so that its "start" is the
 * process before any of them. */
static gboolean
bench_memory (const BenchOptions *options, JsonBuilder *json, GError **error)
{
  return ns_bench_memory (options->case_path, options->json, json, error);
}

/* ---- train: batch preparation vs optimiser (net/ns-dataset.h, net/ns-trainer.h) ---------- */

/* The training pipeline on the case: the crop and sampling of `neuroseg train`, batches of
 * 8 with the paper's augmentation.  Reports how many slices per second one worker thread
 * prepares, how many the loader delivers with its default threads, and how many the
 * optimiser consumes (forward + backward + Adam); augmentation never starves the
 * network while the loader rate is above the optimiser rate. */
static gboolean
bench_train (const BenchOptions *options, JsonBuilder *json, GError **error)
{
  const int B = 8;
  g_autoptr (NsCase) ncase = ns_case_load (options->case_path, NS_CASE_LOAD_MAP_TO_2017, error);
  if (ncase == NULL)
    return FALSE;
  const char *arch = net_options.arch != NULL ? net_options.arch : "mobilenetv2-unet";
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default (arch);
  NsDatasetOptions dopt;
  ns_dataset_options_init (&dopt);
  dopt.size_multiple = g_strcmp0 (arch, "unet") == 0 ? 16 : 32;
  g_autoptr (NsDataset) ds = ns_dataset_new_from_cases (&ncase, 1, meta, &dopt, error);
  if (ds == NULL)
    return FALSE;
  g_autoptr (NsBackend) be = ns_backend_new (net_options.device != NULL ? net_options.device
                                                                         : "cpu", error);
  if (be == NULL)
    return FALSE;
  if (net_options.bf16 && !ns_backend_set_precision (be, NS_PRECISION_BF16, error))
    return FALSE;

  int steps = MAX (options->runs, 1);
  double step_s = 0, batch_s = 0;
  if (!ns_trainer_bench (be, arch, ds, B, steps, &step_s, &batch_s, error))
    return FALSE;
  /* the loader with its default threads, nothing consuming but the copy out */
  int n_batches = 4 * steps;
  gint64 t0 = g_get_monotonic_time ();
  {
    g_autoptr (NsBatchLoader) loader = ns_batch_loader_new (ds, B, 0, 0, 0);
    for (int i = 0; i < n_batches; i++)
      {
        g_autoptr (NsBatch) b = ns_batch_loader_next (loader, error);
        if (b == NULL)
          return FALSE;
      }
  }
  double loader_s = (g_get_monotonic_time () - t0) / 1e6 / n_batches;
  int w, h;
  ns_dataset_get_crop_size (ds, &w, &h);
  double prep_rate = B / batch_s, loader_rate = B / loader_s, opt_rate = B / step_s;

  if (!options->json)
    {
      printf ("train (%s, %s, crop %d x %d, batch %d, augmented)\n", ns_cmd_printable (arch),
              ns_backend_get_device (be), w, h, B);
      printf ("  batch preparation  %8.1f slices/s on one thread, %.1f with the loader's "
              "threads\n", prep_rate, loader_rate);
      printf ("  optimiser          %8.1f slices/s (%.2f s per step)\n", opt_rate, step_s);
      printf ("  the loader is %.1fx the optimiser's rate\n", loader_rate / opt_rate);
    }
  json_builder_set_member_name (json, "train");
  json_builder_begin_object (json);
  ns_json_add_string (json, "arch", arch);
  ns_json_add_string (json, "device", ns_backend_get_device (be));
  json_builder_set_member_name (json, "crop");
  json_builder_begin_array (json);
  json_builder_add_int_value (json, w);
  json_builder_add_int_value (json, h);
  json_builder_end_array (json);
  ns_json_add_int (json, "batch", B);
  ns_json_add_number (json, "prep_slices_per_s_one_thread", prep_rate);
  ns_json_add_number (json, "loader_slices_per_s", loader_rate);
  ns_json_add_number (json, "optimiser_slices_per_s", opt_rate);
  json_builder_end_object (json);
  return TRUE;
}

/* ---- edit: brush dab, undo, journal (data/ns-edit.h, ns-history.h, ns-journal.h) -------- */

/* Dab centres: a walk around the middle of the volume, one voxel apart, so that successive
 * dabs overlap in part as in a drag. */
static void
edit_bench_point (const NsGrid *grid, int t, double p[3])
{
  double a = t * 0.05;
  p[0] = grid->dim[0] / 2 + 25 * cos (a);
  p[1] = grid->dim[1] / 2 + 25 * sin (a);
  p[2] = grid->dim[2] / 2 + (t / 126) % 11 - 5;
}

/* One committed dab: stroke, history entry, journal record. */
static double
edit_bench_dab (NsLabelMap *map, const NsVolume *image, const NsBrush *brush,
                const NsPaintRule *rule, const double p[3], NsHistory *history,
                NsJournal *journal)
{
  gint64 t0 = g_get_monotonic_time ();
  NsEditStroke *s = ns_edit_stroke_begin (map, image, brush, rule, NULL, NULL);
  ns_edit_stroke_add (s, p, NULL);
  g_autoptr (NsEditChange) c = ns_edit_stroke_end (s);
  if (ns_history_push (history, c))
    ns_journal_append (journal, c, TRUE);
  return (double) (g_get_monotonic_time () - t0) / 1e3;
}

static gboolean
bench_edit (const BenchOptions *options, JsonBuilder *json, GError **error)
{
  g_autoptr (NsCase) ncase = ns_case_load (options->case_path, NS_CASE_LOAD_DEFAULT, error);
  if (ncase == NULL)
    return FALSE;
  const NsVolume *image = ncase->modality[NS_MODALITY_FLAIR];
  g_autoptr (NsLabelMap) map = ncase->labels != NULL ? ns_label_map_dup (ncase->labels, error)
                                                     : ns_label_map_new (&ncase->grid, error);
  if (map == NULL)
    return FALSE;
  g_autofree char *dir = g_dir_make_tmp ("neuroseg-bench-XXXXXX", error);
  if (dir == NULL)
    return FALSE;
  g_autofree char *journal_path = g_build_filename (dir, "bench.journal", NULL);
  NsJournal *journal = ns_journal_open_path (journal_path, error);
  if (journal == NULL)
    return FALSE;
  NsHistory *history = ns_history_new (0);
  const int n = 200 * options->runs;
  g_autofree double *t = g_new (double, n);
  double p[3];
  NsPaintRule rule;
  ns_paint_rule_init (&rule, 2);

  /* 1. A 5 mm dab, 3-D sphere and 2-D disc (each alternately painting and erasing, so
   * every dab changes voxels). */
  double t_dab[2];
  gsize dab_voxels[2];
  for (int mode = 0; mode < 2; mode++)
    {
      NsBrush brush = { NS_BRUSH_ROUND, 5.0, mode == 0 ? -1 : 2 };
      g_autoptr (GArray) offsets = ns_brush_offsets (&brush, &map->grid);
      dab_voxels[mode] = offsets->len;
      for (int r = -20; r < n; r++)
        {
          edit_bench_point (&map->grid, r + 20, p);
          rule.label = (r & 1) ? 0 : 2;
          double ms = edit_bench_dab (map, image, &brush, &rule, p, history, journal);
          if (r >= 0)
            t[r] = ms;
        }
      t_dab[mode] = median (t, n);
    }

  /* 2. The dab and the redraw of the three planes through it (what the GUI does). */
  RenderBench rb = { 0 };
  double window, level;
  rb.image = image;
  rb.labels = map;
  ns_window_level_auto (image, &window, &level);
  ns_lut_init (&rb.lut, window, level, NS_COLORMAP_GREY);
  ns_overlay_style_init (&rb.style);
  rb.style.mode = NS_OVERLAY_FILL_AND_OUTLINE;
  for (int q = 0; q < NS_N_PLANES; q++)
    {
      ns_plane_geometry_init (&rb.geoms[q], &ncase->grid, (NsPlane) q,
                              NS_CONVENTION_RADIOLOGICAL, 0.0, NULL);
      rb.surfaces[q] = ns_render_surface_new (&rb.geoms[q]);
    }
  NsBrush brush3 = { NS_BRUSH_ROUND, 5.0, -1 };
  gboolean ok = TRUE;
  for (int r = -20; r < n && ok; r++)
    {
      edit_bench_point (&map->grid, r + 20, p);
      rule.label = (r & 1) ? 0 : 4;
      gint64 t0 = g_get_monotonic_time ();
      edit_bench_dab (map, image, &brush3, &rule, p, history, journal);
      for (int q = 0; q < NS_N_PLANES; q++)
        ns_plane_geometry_set_cursor (&rb.geoms[q], p);
      ok = render_bench_planes (&rb, NS_N_PLANES, 0, error);
      if (r >= 0)
        t[r] = (double) (g_get_monotonic_time () - t0) / 1e3;
    }
  for (int q = 0; q < NS_N_PLANES; q++)
    cairo_surface_destroy (rb.surfaces[q]);
  double t_dab_redraw = ok ? median (t, n) : -1;

  /* 3. Undo and redo of a one-million-voxel change spread over the volume (every 8th
   * voxel relabelled, as a model prediction might), and its journal append. */
  gsize nv = ns_grid_n_voxels (&map->grid);
  g_autofree guint8 *labels = g_memdup2 (map->labels, nv);
  gsize changed = 0;
  for (gsize i = 0; i < nv && changed < 1000000; i += nv >= 8000000 ? 8 : 1)
    {
      labels[i] = labels[i] == 1 ? 2 : 1;
      changed++;
    }
  g_autoptr (NsEditChange) big = ns_edit_replace_labels (map, labels, "Prediction");
  ns_history_push (history, big);
  const int nu = 10 * options->runs;
  g_autofree double *tu = g_new (double, nu);
  g_autofree double *tr = g_new (double, nu);
  for (int r = 0; r < nu; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      ns_history_undo (history, map);
      gint64 t1 = g_get_monotonic_time ();
      ns_history_redo (history, map);
      tu[r] = (double) (t1 - t0) / 1e3;
      tr[r] = (double) (g_get_monotonic_time () - t1) / 1e3;
    }
  double t_undo = median (tu, nu), t_redo = median (tr, nu);
  const int nb = 2 * options->runs;
  g_autofree double *tba = g_new (double, nb);
  g_autofree double *tbd = g_new (double, nb);
  gint64 t0;
  for (int r = 0; r < nb && ok; r++)
    {
      t0 = g_get_monotonic_time ();
      ns_journal_append (journal, big, TRUE);
      tba[r] = (double) (g_get_monotonic_time () - t0);
      ok = ns_journal_flush (journal, error);
      tbd[r] = (double) (g_get_monotonic_time () - t0) / 1e3;
    }
  double t_append_big_us = median (tba, nb), t_big_durable = median (tbd, nb);

  /* 4. Journal append on the calling thread, and how long until a dab's record is on disk
   * (written and fdatasync'ed by the writer). */
  g_autofree double *ta = g_new (double, n);
  g_autofree double *td = g_new (double, options->runs * 10);
  double append_max = 0, append_sum = 0;
  NsBrush brush2 = { NS_BRUSH_ROUND, 5.0, 2 };
  for (int r = 0; r < n; r++)
    {
      edit_bench_point (&map->grid, r, p);
      rule.label = (r & 1) ? 0 : 2;
      NsEditStroke *s = ns_edit_stroke_begin (map, image, &brush2, &rule, NULL, NULL);
      ns_edit_stroke_add (s, p, NULL);
      g_autoptr (NsEditChange) c = ns_edit_stroke_end (s);
      t0 = g_get_monotonic_time ();
      ns_journal_append (journal, c, TRUE);
      ta[r] = (double) (g_get_monotonic_time () - t0);
      append_sum += ta[r];
      append_max = MAX (append_max, ta[r]);
      if (r < options->runs * 10)
        {
          ok = ok && ns_journal_flush (journal, error);
          td[r] = (double) (g_get_monotonic_time () - t0) / 1e3;
        }
    }
  double t_append = append_sum / n, t_durable = median (td, options->runs * 10);

  /* 5. Painting continuously (2-D strokes of 30 motion events, committed to history and
   * journal) for 2 x --runs seconds: the longest time the calling thread was busy with
   * one event, journal included; then as long without the journal, for comparison (on a
   * loaded machine both maxima are the scheduler's). */
  double paint_s = 2.0 * options->runs, stall = 0, stall_nj = 0;
  guint64 events = 0, n_slow = 0, events_nj = 0, n_slow_nj = 0;
  gint64 end = g_get_monotonic_time () + (gint64) (paint_s * 1e6);
  for (guint64 ev = 0; g_get_monotonic_time () < end; ev += 30)
    {
      rule.label = (ev / 30) & 1 ? 0 : 1;
      NsEditStroke *s = ns_edit_stroke_begin (map, image, &brush2, &rule, NULL, NULL);
      for (int e = 0; e < 30; e++, events_nj++)
        {
          edit_bench_point (&map->grid, (int) (ev + e), p);
          t0 = g_get_monotonic_time ();
          ns_edit_stroke_add (s, p, NULL);
          if (e == 29)
            {
              g_autoptr (NsEditChange) c = ns_edit_stroke_end (s);
              ns_history_push (history, c);
            }
          double ms = (double) (g_get_monotonic_time () - t0) / 1e3;
          stall_nj = MAX (stall_nj, ms);
          n_slow_nj += ms > 4.0;
        }
    }
  end = g_get_monotonic_time () + (gint64) (paint_s * 1e6);
  while (g_get_monotonic_time () < end && ok)
    {
      rule.label = (events / 30) & 1 ? 0 : 1;
      NsEditStroke *s = ns_edit_stroke_begin (map, image, &brush2, &rule, NULL, NULL);
      for (int e = 0; e < 30; e++, events++)
        {
          edit_bench_point (&map->grid, (int) events, p);
          t0 = g_get_monotonic_time ();
          ns_edit_stroke_add (s, p, NULL);
          if (e == 29)
            {
              g_autoptr (NsEditChange) c = ns_edit_stroke_end (s);
              if (ns_history_push (history, c))
                ns_journal_append (journal, c, TRUE);
            }
          double ms = (double) (g_get_monotonic_time () - t0) / 1e3;
          stall = MAX (stall, ms);
          n_slow += ms > 4.0;
        }
    }
  guint64 records = ns_journal_n_records (journal);
  ok = ok && ns_journal_truncate (journal, error);
  ns_journal_close (journal);
  ns_history_free (history);
  g_remove (dir);
  if (!ok)
    return FALSE;

  if (!options->json)
    {
      printf ("edit (%s, %dx%dx%d, %.3gx%.3gx%.3g mm):\n", ns_cmd_printable (options->case_path),
              map->grid.dim[0], map->grid.dim[1], map->grid.dim[2], map->grid.spacing[0],
              map->grid.spacing[1], map->grid.spacing[2]);
      printf ("  brush dab r = 5 mm, committed (stroke + history + journal queue), median of %d:\n"
              "    3-D sphere (%zu voxels)   %.3f ms\n"
              "    2-D disc (%zu voxels)      %.3f ms\n"
              "    3-D dab + redraw of the three planes  %.3f ms\n",
              n, dab_voxels[0], t_dab[0], dab_voxels[1], t_dab[1], t_dab_redraw);
      printf ("  undo / redo of a %zu-voxel change: %.2f / %.2f ms (median of %d); its journal\n"
              "    append %.1f us on the caller, %.1f ms until written and synced (median of %d)\n",
              big->n, t_undo, t_redo, nu, t_append_big_us, t_big_durable, nb);
      printf ("  journal append of a 2-D dab on the caller: mean %.2f us, max %.1f us (%d);\n"
              "    append to on disk (fdatasync): median %.2f ms\n",
              t_append, append_max, n, t_durable);
      printf ("  painting for %.0f s: %" G_GUINT64_FORMAT " motion events, %" G_GUINT64_FORMAT
              " journal records, longest event %.3f ms, %" G_GUINT64_FORMAT " events over 4 ms\n"
              "    without the journal: %" G_GUINT64_FORMAT " events, longest %.3f ms, %"
              G_GUINT64_FORMAT " over 4 ms\n", paint_s, events, records, stall, n_slow,
              events_nj, stall_nj, n_slow_nj);
    }
  json_builder_set_member_name (json, "edit");
  json_builder_begin_object (json);
  const char *names[] = { "dab_3d_ms", "dab_2d_ms", "dab_3d_redraw_3_planes_ms",
                          "undo_1m_voxels_ms", "redo_1m_voxels_ms",
                          "journal_append_1m_voxels_us", "journal_durable_1m_voxels_ms",
                          "journal_append_dab_mean_us", "journal_append_dab_max_us",
                          "journal_durable_dab_median_ms", "paint_longest_event_ms" };
  double values[] = { t_dab[0], t_dab[1], t_dab_redraw, t_undo, t_redo, t_append_big_us,
                      t_big_durable, t_append, append_max, t_durable, stall };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      ns_json_add_number (json, names[i], values[i]);
    }
  ns_json_add_int (json, "samples", n);
  ns_json_add_int (json, "paint_events", (gint64) events);
  ns_json_add_int (json, "paint_events_over_4_ms", (gint64) n_slow);
  ns_json_add_number (json, "paint_no_journal_longest_event_ms", stall_nj);
  ns_json_add_int (json, "paint_no_journal_events_over_4_ms", (gint64) n_slow_nj);
  json_builder_end_object (json);
  return TRUE;
}

/* ---- command ---------------------------------------------------------------------------- */

int
ns_cmd_bench (int argc, char **argv)
{
  static gboolean io, serial, json;
  static gboolean render;
  static gboolean net, net_bf16, net_profile, net_no_train, net_no_infer;
  static char *net_device, *net_model, *net_arch, *net_precision;
  static int net_batch = 16, net_size = 224, net_steps = 3;
  static int runs = 5;
  static gboolean train;
  static gboolean edit;
  static gboolean memory;
  static gboolean interact;
  BenchSection sections[] = {
    { "memory", &memory, bench_memory },
    { "io", &io, bench_io },
    { "render", &render, bench_render },
    { "net", &net, bench_net },
    { "train", &train, bench_train },
    { "edit", &edit, bench_edit },
    { "interact", &interact, bench_interact },
  };
  const GOptionEntry entries[] = {
    { "io", 0, 0, G_OPTION_ARG_NONE, &io, "Time opening a case (decoding its NIfTI files)", NULL },
    { "serial", 0, 0, G_OPTION_ARG_NONE, &serial, "io: decode one file after another", NULL },
    { "render", 0, 0, G_OPTION_ARG_NONE, &render,
      "Time drawing planes with the label overlay (100 x --runs renders)", NULL },
    { "net", 0, 0, G_OPTION_ARG_NONE, &net,
      "Network: whole-volume inference (stages, GFLOP/s) and training slices/s", NULL },
    { "device", 0, 0, G_OPTION_ARG_STRING, &net_device, "net: cpu (default), ref or cuda", "DEV" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &net_precision,
      "net: fp32 (default) or bf16 (then also fp32 inference, for the agreement)", "P" },
    { "model", 0, 0, G_OPTION_ARG_FILENAME, &net_model, "net: checkpoint (default: random weights)", "M" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &net_arch, "net: mobilenetv2-unet (default) or unet", "A" },
    { "profile", 0, 0, G_OPTION_ARG_NONE, &net_profile, "net: time per op type (extra runs)", NULL },
    { "no-training", 0, 0, G_OPTION_ARG_NONE, &net_no_train, "net: skip training", NULL },
    { "no-inference", 0, 0, G_OPTION_ARG_NONE, &net_no_infer, "net: skip inference", NULL },
    { "train", 0, 0, G_OPTION_ARG_NONE, &train,
      "Training pipeline: batch preparation rate vs optimiser rate (--runs steps)", NULL },
    { "edit", 0, 0, G_OPTION_ARG_NONE, &edit,
      "Mask editing: 5 mm brush dab (+ redraw), undo of 1M voxels, journal append latency", NULL },
    { "memory", 0, 0, G_OPTION_ARG_NONE, &memory,
      "Memory: resident and peak with the case open and viewed, and during Run Model", NULL },
    { "interact", 0, 0, G_OPTION_ARG_NONE, &interact, "Interactive correction: the clicked "
      "slice's latency p50 / p95 (20 x --runs clicks) and the propagation", NULL },
    { "interact-model", 0, 0, G_OPTION_ARG_FILENAME, &interact_model, "interact: the "
      "interactive model (default: fresh weights)", "M" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object instead of text", NULL },
    { NULL },
  };
  const NsCmdNumber numbers[] = {
    { "train-batch", 0, NS_CMD_INT, &net_batch, 1, 4096, FALSE, NULL,
      "net: training batch (default 16)", "B" },
    { "train-size", 0, NS_CMD_INT, &net_size, 32, 4096, FALSE, NULL,
      "net: training crop (default 224)", "S" },
    { "train-steps", 0, NS_CMD_INT, &net_steps, 1, 1000, FALSE, NULL,
      "net: timed training steps (default 3)", "N" },
    { "runs", 'n', NS_CMD_INT, &runs, 1, 1000, FALSE, NULL,
      "Timed runs per benchmark (default 5)", "N" },
    { NULL },
  };
  static const char summary[] =
    "Times Neuroseg on a real case (default: the bundled sample case): the median over\n"
    "--runs runs after one warm-up.  Without a section option, every section runs.";
  g_autoptr (GError) error = NULL;
  int status;

  if (!ns_cmd_parse_options ("bench", "[CASE]", summary, entries, NULL, numbers, &argc, &argv,
                             &status))
    return status;
  if (argc > 2)
    {
      fprintf (stderr, "neuroseg bench: one case at most (see --help)\n");
      return 2;
    }

  if (net_precision != NULL && g_strcmp0 (net_precision, "bf16") != 0
      && g_strcmp0 (net_precision, "fp32") != 0)
    return ns_cmd_usage_error ("bench", "--precision is fp32 or bf16");

  g_autofree char *sample = NULL;
  if (argc < 2 && (sample = ns_paths_dup_sample_case (&error)) == NULL)
    return ns_cmd_print_error (error);
  BenchOptions options = {
    .case_path = argc == 2 ? argv[1] : sample,
    .runs = runs,
    .serial = serial,
    .json = json,
  };
  net_options.device = net_device;
  net_options.model_path = net_model;
  net_options.arch = net_arch;
  net_options.bf16 = net_bf16 = g_strcmp0 (net_precision, "bf16") == 0;
  net_options.profile = net_profile;
  net_options.train_batch = net_batch;
  net_options.train_size = net_size;
  net_options.train_steps = net_steps;
  net_options.no_training = net_no_train;
  net_options.no_inference = net_no_infer;
  gboolean any = FALSE;
  for (gsize i = 0; i < G_N_ELEMENTS (sections); i++)
    any |= *sections[i].selected;

  g_autoptr (JsonBuilder) builder = json_builder_new ();
  json_builder_begin_object (builder);
  for (gsize i = 0; i < G_N_ELEMENTS (sections); i++)
    {
      if (any && !*sections[i].selected)
        continue;
      if (!sections[i].run (&options, builder, &error))
        return ns_cmd_print_error (error);
    }
  json_builder_end_object (builder);

  if (json)
    {
      g_autoptr (JsonNode) root = json_builder_get_root (builder);
      ns_cmd_print_json (root, FALSE);
    }
  return 0;
}
