/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-bench.c: `neuroseg bench [--io] [--runs N] [--json] [CASE]`: timings on a real
 * case, one section per benchmark.  Each section is an entry of `sections[]` with its own
 * option flag and a run function that prints a human summary and adds one member to
 * the JSON object; with no section flag every section runs.  Times are wall-clock medians
 * over --runs runs after one untimed warm-up run (which fills the page cache).
 *
 * Sections:
 *   io   open a case (every file, decoded in parallel as the GUI does) with ns_case_load;
 *        --serial decodes one file after another, for comparison.
 *   render  draw one 240 x 240 plane, then all three, with image, labels and crosshair,
 *        as the GUI does on a slice change (render/); median of 100 x --runs renders.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-cmd.h"
#include "ns-case.h"
#include "ns-render.h"
#include "ns-trainer.h"

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
            options->case_path, n_files, n_voxels, options->serial ? "serial" : "parallel",
            med, options->runs, sorted[0], sorted[options->runs - 1]);

  json_builder_set_member_name (json, "io");
  json_builder_begin_object (json);
  json_builder_set_member_name (json, "case");
  json_builder_add_string_value (json, options->case_path);
  json_builder_set_member_name (json, "files");
  json_builder_add_int_value (json, n_files);
  json_builder_set_member_name (json, "parallel");
  json_builder_add_boolean_value (json, !options->serial);
  json_builder_set_member_name (json, "runs_s");
  json_builder_begin_array (json);
  for (int r = 0; r < options->runs; r++)
    json_builder_add_double_value (json, times[r]);
  json_builder_end_array (json);
  json_builder_set_member_name (json, "median_s");
  json_builder_add_double_value (json, med);
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
              "crosshair, median of %d:\n", options->case_path, rb.geoms[0].width,
              rb.geoms[0].height, n);
      printf ("render:   one plane     %.3f ms nearest, %.3f ms linear   (target <= 2 ms)\n",
              t_one[0], t_one[1]);
      printf ("render:   three planes  %.3f ms nearest, %.3f ms linear   (target <= 5 ms)\n",
              t_three[0], t_three[1]);
      printf ("render:   automatic window (once per volume) %.1f ms\n", t_auto);
    }

  json_builder_set_member_name (json, "render");
  json_builder_begin_object (json);
  json_builder_set_member_name (json, "case");
  json_builder_add_string_value (json, options->case_path);
  json_builder_set_member_name (json, "plane_width");
  json_builder_add_int_value (json, rb.geoms[0].width);
  json_builder_set_member_name (json, "plane_height");
  json_builder_add_int_value (json, rb.geoms[0].height);
  json_builder_set_member_name (json, "samples");
  json_builder_add_int_value (json, n);
  json_builder_set_member_name (json, "one_plane_nearest_ms");
  json_builder_add_double_value (json, t_one[0]);
  json_builder_set_member_name (json, "one_plane_linear_ms");
  json_builder_add_double_value (json, t_one[1]);
  json_builder_set_member_name (json, "three_planes_nearest_ms");
  json_builder_add_double_value (json, t_three[0]);
  json_builder_set_member_name (json, "three_planes_linear_ms");
  json_builder_add_double_value (json, t_three[1]);
  json_builder_set_member_name (json, "auto_window_ms");
  json_builder_add_double_value (json, t_auto);
  json_builder_end_object (json);
  return TRUE;
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
      printf ("train (%s, %s, crop %d x %d, batch %d, augmented)\n", arch,
              ns_backend_get_device (be), w, h, B);
      printf ("  batch preparation  %8.1f slices/s on one thread, %.1f with the loader's "
              "threads\n", prep_rate, loader_rate);
      printf ("  optimiser          %8.1f slices/s (%.2f s per step)\n", opt_rate, step_s);
      printf ("  the loader is %.1fx the optimiser's rate\n", loader_rate / opt_rate);
    }
  json_builder_set_member_name (json, "train");
  json_builder_begin_object (json);
  json_builder_set_member_name (json, "arch");
  json_builder_add_string_value (json, arch);
  json_builder_set_member_name (json, "device");
  json_builder_add_string_value (json, ns_backend_get_device (be));
  json_builder_set_member_name (json, "crop");
  json_builder_begin_array (json);
  json_builder_add_int_value (json, w);
  json_builder_add_int_value (json, h);
  json_builder_end_array (json);
  json_builder_set_member_name (json, "batch");
  json_builder_add_int_value (json, B);
  json_builder_set_member_name (json, "prep_slices_per_s_one_thread");
  json_builder_add_double_value (json, prep_rate);
  json_builder_set_member_name (json, "loader_slices_per_s");
  json_builder_add_double_value (json, loader_rate);
  json_builder_set_member_name (json, "optimiser_slices_per_s");
  json_builder_add_double_value (json, opt_rate);
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
  BenchSection sections[] = {
    { "io", &io, bench_io },
    { "render", &render, bench_render },
    { "net", &net, bench_net },
    { "train", &train, bench_train },
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
    { "train-batch", 0, 0, G_OPTION_ARG_INT, &net_batch, "net: training batch (default 16)", "B" },
    { "train-size", 0, 0, G_OPTION_ARG_INT, &net_size, "net: training crop (default 224)", "S" },
    { "train-steps", 0, 0, G_OPTION_ARG_INT, &net_steps, "net: timed training steps (default 3)", "N" },
    { "no-training", 0, 0, G_OPTION_ARG_NONE, &net_no_train, "net: skip training", NULL },
    { "no-inference", 0, 0, G_OPTION_ARG_NONE, &net_no_infer, "net: skip inference", NULL },
    { "train", 0, 0, G_OPTION_ARG_NONE, &train,
      "Training pipeline: batch preparation rate vs optimiser rate (--runs steps)", NULL },
    { "runs", 'n', 0, G_OPTION_ARG_INT, &runs, "Timed runs per benchmark (default 5)", "N" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object instead of text", NULL },
    { NULL },
  };
  static const char summary[] =
    "Times Neuroseg on a real case (default: the bundled sample case): the median over\n"
    "--runs runs after one warm-up.  Without a section option, every section runs.";
  g_autoptr (GError) error = NULL;
  int status;

  if (!ns_cmd_parse ("bench", "[CASE]", summary, entries, &argc, &argv, &status))
    return status;
  if (argc > 2)
    {
      fprintf (stderr, "neuroseg bench: one case at most (see --help)\n");
      return 2;
    }
  if (runs < 1 || runs > 1000)
    {
      fprintf (stderr, "neuroseg bench: --runs must be 1 to 1000\n");
      return 2;
    }

  BenchOptions options = {
    .case_path = argc == 2 ? argv[1] : ns_cmd_sample_case_dir (),
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
      g_autoptr (JsonGenerator) gen = json_generator_new ();
      g_autoptr (JsonNode) root = json_builder_get_root (builder);
      json_generator_set_root (gen, root);
      g_autofree char *text = json_generator_to_data (gen, NULL);
      printf ("%s\n", text);
    }
  return 0;
}
