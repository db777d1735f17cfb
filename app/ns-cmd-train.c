/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-train.c: `neuroseg train`, the command-line face of net/ns-trainer.h.
 *
 *   neuroseg train --data DIR... [--val DIR...] [--arch mobilenetv2-unet|unet]
 *                  [--init imagenet|none|default|MODEL] [--epochs N] [--batch B] [--lr X]
 *                  ... -o MODEL.safetensors
 *
 * --init default fine-tunes the default model by the one rule of data/ns-registry.h (the
 * registry's promoted default, else the shipped model, version 0); its file goes into the
 * new checkpoint's provenance as the parent, from which the registry finds the parent
 * version, and its version is printed (JSON: "parent_version" in the "done" event).
 *
 * Output: a progress bar with ETA on a terminal, nothing when piped, one summary line
 * per epoch unless --quiet; --json-progress instead writes one JSON object per line to
 * stdout (json-glib): {"event": "step" | "epoch" | "done" | "error", ...}.  SIGINT and
 * SIGTERM set the trainer's stop flag: the run ends after the current step and leaves
 * MODEL.last.safetensors (+ .state) to continue with --resume.  Options given together
 * with --resume override what the state recorded only for the budget (--epochs,
 * --max-steps, --patience) and the output; everything that shapes the random stream
 * comes from the state.
 *
 * Several processes (ns-mpi.h; docs/scale.md): `mpirun -np N neuroseg train ...` or
 * `srun --mpi=pmix neuroseg train ...` trains one model data-parallel (ns-trainer.h,
 * "Data parallel"): --shards S (default N) cuts each batch into S shards, with N dividing
 * S.  Rank 0 alone prints the progress, the summary and the JSON events and writes the
 * files; an error is printed by the lowest rank that failed (prefixed "process K of N"),
 * and every process exits non-zero.  The set-up below (options, files) runs on every
 * process, which agree on it before training.
 *
 * The run's files (MODEL, MODEL.last.safetensors and its .state) are checked before
 * training starts: none may be an input (a case's file, the model or encoder it starts
 * from), and none may exist unless --force, or unless they are the files of the run that
 * --resume continues.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-cmd.h"
#include "ns-json.h"
#include "ns-mpi.h"
#include "ns-registry.h"
#include "ns-trainer.h"

#include <glib-unix.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static gint stop_flag;
/* the processes of the run (NULL: one), and whether training has started (so the
 * processes no longer agree on the set-up but in the trainer) */
static NsTrainComm *comm;
static gboolean started;

static gboolean
stop_signal_cb (gpointer data)
{
  g_atomic_int_set (&stop_flag, 1);
  return G_SOURCE_CONTINUE;
}

/* The signal handlers of glib-unix run from a main context: a tiny thread iterates it,
 * so that the training loop (in the main thread) only polls the flag. */
static gpointer
signal_thread (gpointer data)
{
  GMainContext *ctx = data;
  for (;;)
    g_main_context_iteration (ctx, TRUE);
  return NULL;
}

static void
install_signals (void)
{
  GMainContext *ctx = g_main_context_new ();
  int sigs[2] = { SIGINT, SIGTERM };
  for (int i = 0; i < 2; i++)
    {
      GSource *s = g_unix_signal_source_new (sigs[i]);
      g_source_set_callback (s, stop_signal_cb, NULL, NULL);
      g_source_attach (s, ctx);
      g_source_unref (s);
    }
  g_thread_unref (g_thread_new ("ns-signals", signal_thread, ctx));
}

typedef struct
{
  gboolean json;
  gboolean bar;
  gboolean quiet;
} Progress;

static void
print_json (JsonBuilder *b)
{
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  ns_cmd_print_json (root, FALSE);
}

static void
format_duration (double s, char *buf, gsize size)
{
  int t = isfinite (s) && s > 0 ? (int) (s + 0.5) : 0;
  if (t >= 3600)
    g_snprintf (buf, size, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
  else
    g_snprintf (buf, size, "%d:%02d", t / 60, t % 60);
}

static void
progress_cb (const NsTrainEvent *ev, gpointer data)
{
  Progress *p = data;

  if (p->json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      ns_json_add_string (b, "event", ev->kind == NS_TRAIN_EVENT_STEP ? "step" : "epoch");
      ns_json_add_int (b, "epoch", ev->epoch);
      ns_json_add_int (b, "epochs", ev->epochs);
      ns_json_add_int (b, "step", ev->step);
      ns_json_add_int (b, "total_steps", ev->total_steps);
      ns_json_add_number (b, "loss", ev->loss);
      ns_json_add_number (b, "lr", ev->lr);
      ns_json_add_number (b, "seconds", ev->seconds);
      ns_json_add_number (b, "eta_seconds", ev->eta_seconds);
      ns_json_add_number (b, "slices_per_second", ev->slices_per_second);
      if (ev->kind == NS_TRAIN_EVENT_EPOCH)
        {
          if (ev->has_validation)
            {
              ns_json_add_number (b, "dice_wt", ev->dice[0]);
              ns_json_add_number (b, "dice_tc", ev->dice[1]);
              ns_json_add_number (b, "dice_et", ev->dice[2]);
              ns_json_add_number (b, "score", ev->score);
              ns_json_add_boolean (b, "best", ev->is_best);
              ns_json_add_number (b, "validation_seconds", ev->validation_seconds);
            }
          ns_json_add_number (b, "loader_wait_seconds", ev->loader_wait_seconds);
        }
      json_builder_end_object (b);
      print_json (b);
      return;
    }
  if (p->bar)
    {
      char eta[32], el[32];
      format_duration (ev->eta_seconds, eta, sizeof eta);
      format_duration (ev->seconds, el, sizeof el);
      int width = 30;
      double frac = ev->total_steps > 0 ? (double) ev->step / ev->total_steps : 1;
      int fill = (int) (frac * width);
      char bar[64];
      for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
      bar[width] = '\0';
      printf ("\r[%s] %3d%% epoch %d/%d step %" G_GINT64_FORMAT "/%" G_GINT64_FORMAT
              " loss %.4f %.1f sl/s %s ETA %s ", bar, (int) (frac * 100), ev->epoch, ev->epochs,
              ev->step, ev->total_steps, ev->loss, ev->slices_per_second, el, eta);
      if (ev->kind == NS_TRAIN_EVENT_EPOCH)
        printf ("\n");
      fflush (stdout);
    }
  if (ev->kind == NS_TRAIN_EVENT_EPOCH && !p->quiet && !p->json)
    {
      if (ev->has_validation)
        printf ("epoch %d/%d: loss %.4f, validation Dice WT %.3f TC %.3f ET %.3f%s "
                "(%.0f s)\n", ev->epoch, ev->epochs, ev->loss, ev->dice[0], ev->dice[1],
                ev->dice[2], ev->is_best ? " (best)" : "", ev->seconds);
      else
        printf ("epoch %d/%d: loss %.4f (%.0f s)\n", ev->epoch, ev->epochs, ev->loss,
                ev->seconds);
      fflush (stdout);
    }
}

static gboolean
parse_schedule (const char *s, NsSchedule *out)
{
  if (g_strcmp0 (s, "cosine") == 0)
    *out = NS_SCHEDULE_COSINE;
  else if (g_strcmp0 (s, "step") == 0)
    *out = NS_SCHEDULE_STEP;
  else if (g_strcmp0 (s, "none") == 0 || g_strcmp0 (s, "constant") == 0)
    *out = NS_SCHEDULE_NONE;
  else
    return FALSE;
  return TRUE;
}

/* {"event": "error", "message": ...} for --json-progress. */
static void
print_error_event (const char *message)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  ns_json_add_string (b, "event", "error");
  ns_json_add_string (b, "message", message);
  json_builder_end_object (b);
  print_json (b);
}

/* A failure of the set-up on this process: with several processes they agree (the others
 * reach the agreement before ns_trainer_run), and whether this one reports it. */
static gboolean
setup_failure_reported (const GError *error)
{
  if (comm == NULL || started)
    return TRUE;
  gboolean peer_failed = FALSE;
  g_autoptr (GError) own = g_error_copy (error);
  ns_train_comm_agree (comm, FALSE, NULL, 0, &peer_failed, &own);
  return !peer_failed;
}

static int
usage_error (gboolean json, const char *message)
{
  g_autoptr (GError) usage = g_error_new_literal (G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                                                  message);
  if (!setup_failure_reported (usage))
    return 2;
  if (json)
    print_error_event (message);
  fprintf (stderr, "neuroseg train: %s\n", ns_cmd_printable (message));
  return 2;
}

/* An error that is not about usage: an "error" event too with --json-progress.  With
 * several processes it names the one it comes from. */
static int
run_error (gboolean json, const GError *error)
{
  if (!setup_failure_reported (error))
    return 1;
  g_autoptr (GError) e = g_error_copy (error);
  if (comm != NULL && comm->size > 1)
    g_prefix_error (&e, "process %d of %d: ", comm->rank, comm->size);
  if (json)
    print_error_event (e->message);
  return ns_cmd_print_error (e);
}

/* The run's outputs against its inputs, before any work (see the top of the file).
 * resumed_output: the canonical output of the run --resume continues, or NULL. */
static gboolean
check_files (const NsTrainerOptions *o, const char *resumed_output, gboolean force,
             GError **error)
{
  g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) outputs = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *output = g_canonicalize_filename (o->output, NULL);
  gboolean same_run = g_strcmp0 (output, resumed_output) == 0;

  for (int list = 0; list < 2; list++)
    for (char **c = list ? o->val_cases : o->train_cases; c != NULL && *c != NULL; c++)
      if (!ns_cmd_add_case_path_inputs (inputs, *c, error))
        return FALSE;
  const char *from[] = { o->init, o->imagenet_path, same_run ? NULL : o->resume };
  for (guint i = 0; i < G_N_ELEMENTS (from); i++)
    if (from[i] != NULL && g_file_test (from[i], G_FILE_TEST_EXISTS))
      g_ptr_array_add (inputs, g_strdup (from[i]));
  if (o->resume != NULL && !same_run)
    g_ptr_array_add (inputs, ns_trainer_state_path (o->resume));
  g_ptr_array_add (inputs, NULL);

  g_ptr_array_add (outputs, g_strdup (o->output));
  g_ptr_array_add (outputs, ns_trainer_last_path (o->output));
  g_ptr_array_add (outputs, ns_trainer_state_path (outputs->pdata[1]));
  g_ptr_array_add (outputs, NULL);
  /* continuing a run writes its own files again */
  return ns_cmd_check_outputs ((const char *const *) outputs->pdata,
                               (const char *const *) inputs->pdata, force || same_run, error);
}

static int
train (int argc, char **argv)
{
  g_auto (GStrv) data = NULL, val = NULL;
  g_autofree char *arch = NULL, *init = NULL, *device = NULL, *out = NULL, *resume = NULL;
  g_autofree char *schedule = NULL, *dtype = NULL, *precision = NULL, *imagenet = NULL;
  g_autofree char *weights_init = NULL, *modalities = NULL, *targets = NULL, *norm = NULL;
  g_autofree char *starts = NULL;
  int context = -1, pp_component = -1, pp_et = -1;
  int epochs = 0, batch = 0, spe = 0, patience = 0, seed = 0, crop = 0, workers = 0;
  int shards = 0;
  gint64 max_steps = 0;
  double lr = 0, wd = 0, ratio = 0;
  gboolean has_epochs = FALSE, has_batch = FALSE, has_spe = FALSE, has_patience = FALSE;
  gboolean has_seed = FALSE, has_crop = FALSE, has_max_steps = FALSE, has_lr = FALSE;
  gboolean has_wd = FALSE, has_ratio = FALSE, has_shards = FALSE;
  gboolean json = FALSE, quiet = FALSE, no_augment = FALSE, force = FALSE;
  gboolean interactive = FALSE;
  const GOptionEntry entries[] = {
    { "data", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &data, "Training case (repeat)", "DIR" },
    { "val", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &val, "Held-out validation case (repeat)", "DIR" },
    { "arch", 0, 0, G_OPTION_ARG_STRING, &arch, "mobilenetv2-unet (default) or unet", "A" },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &init,
      "none (N(0, 0.01), default), imagenet, a .tflite, default (fine-tune the default "
      "model: the registry's, else the shipped one) or a model to fine-tune", "I" },
    { "imagenet", 0, 0, G_OPTION_ARG_FILENAME, &imagenet,
      "Where --init imagenet reads the encoder (.tflite or imported .safetensors)", "F" },
    { "weights-init", 0, 0, G_OPTION_ARG_STRING, &weights_init,
      "Layers --init does not set: normal (the paper's N(0, 0.01), default) or kaiming", "W" },
    { "no-augment", 0, 0, G_OPTION_ARG_NONE, &no_augment, "Switch the augmentation off", NULL },
    { "modalities", 0, 0, G_OPTION_ARG_STRING, &modalities, "Input sequences, comma-separated, "
      "of flair, t1c, t1, t2 (default flair,t1c)", "LIST" },
    { "targets", 0, 0, G_OPTION_ARG_STRING, &targets, "classes (softmax, default) or regions "
      "(sigmoid WT, TC, ET: nnU-Net's BraTS recipe)", "T" },
    { "interactive", 0, 0, G_OPTION_ARG_NONE, &interactive, "Train an interactive correction "
      "model (image + region mask + click maps in, one region out) with simulated clicks; "
      "--init a segmentation model to warm-start from", NULL },
    { "starts", 0, 0, G_OPTION_ARG_FILENAME, &starts, "With --interactive: a folder with each "
      "training case's automatic prediction, CASE.nii.gz, by a model that did not train on "
      "it; half the simulated corrections start from it", "DIR" },
    { "normalisation", 0, 0, G_OPTION_ARG_STRING, &norm, "zscore-brain (default) or "
      "zscore-brain-clip (percentiles 0.5 and 99.5 clipped first)", "N" },
    { "schedule", 0, 0, G_OPTION_ARG_STRING, &schedule, "Learning rate: none (default), cosine "
      "or step", "S" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "auto, cpu, ref or cuda", "DEV" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision, "fp32 (default) or bf16", "P" },
    { "dtype", 0, 0, G_OPTION_ARG_STRING, &dtype, "Storage of the best model: f32 (default), "
      "bf16 or f16", "T" },
    { "resume", 0, 0, G_OPTION_ARG_FILENAME, &resume, "Continue the run of MODEL.last"
      ".safetensors exactly", "CKPT" },
    { "json-progress", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object per line on stdout",
      NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing but errors", NULL },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Best model to write", "MODEL" },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force, "Replace MODEL, MODEL.last.safetensors and "
      "its .state if they exist (an input of the run is never replaced)", NULL },
    { NULL }
  };
  const NsCmdNumber numbers[] = {
    { "epochs", 0, NS_CMD_INT, &epochs, 1, 100000, FALSE, &has_epochs,
      "At most N epochs (default 100)", "N" },
    { "batch", 0, NS_CMD_INT, &batch, 1, 4096, FALSE, &has_batch,
      "Slices per batch (default 8)", "B" },
    { "shards", 0, NS_CMD_INT, &shards, 1, 4096, FALSE, &has_shards,
      "Cut each batch into S shards, each with its own batch-norm statistics and loss, "
      "their gradients averaged (default: the number of processes of mpirun / srun)", "S" },
    { "lr", 0, NS_CMD_DOUBLE, &lr, 0, 1, TRUE, &has_lr, "Adam learning rate (default 1e-4)",
      "X" },
    { "weight-decay", 0, NS_CMD_DOUBLE, &wd, 0, 1, FALSE, &has_wd,
      "Decoupled weight decay (default 0)", "W" },
    { "steps-per-epoch", 0, NS_CMD_INT, &spe, 1, G_MAXINT, FALSE, &has_spe,
      "Optimiser steps per epoch (default: each tumour slice about once)", "N" },
    { "max-steps", 0, NS_CMD_INT64, &max_steps, 1, 1e15, FALSE, &has_max_steps,
      "Stop after N steps in all", "N" },
    { "patience", 0, NS_CMD_INT, &patience, 0, 100000, FALSE, &has_patience,
      "Stop after N epochs without a better validation Dice (default 0: never)", "N" },
    { "seed", 0, NS_CMD_INT, &seed, 0, G_MAXINT, FALSE, &has_seed, "Random seed (default 0)",
      "S" },
    { "crop", 0, NS_CMD_INT, &crop, 16, 4096, FALSE, &has_crop,
      "Square slice size, a multiple of 32 (16 for unet) (default: the largest brain box, "
      "rounded up)", "PX" },
    { "tumour-ratio", 0, NS_CMD_DOUBLE, &ratio, 0, 1000, FALSE, &has_ratio,
      "Tumour slices per slice without (default 2)", "R" },
    { "workers", 0, NS_CMD_INT, &workers, 0, 256, FALSE, NULL,
      "Batch threads (default 0: automatic)", "N" },
    { "context", 0, NS_CMD_INT, &context, 0, 8, FALSE, NULL, "2.5-D: neighbouring slices on "
      "each side as extra channels (default 0)", "N" },
    { "postprocess-min-component", 0, NS_CMD_INT, &pp_component, 0, 1e9, FALSE, NULL,
      "Model metadata: tumour components below N voxels are dropped after inference", "N" },
    { "postprocess-et-below", 0, NS_CMD_INT, &pp_et, 0, 1e9, FALSE, NULL, "Model metadata: "
      "enhancing tumour of fewer than N voxels becomes necrosis / core after inference", "N" },
    { NULL }
  };
  int status;
  g_autoptr (GError) error = NULL;

  /* the command line as typed, for the checkpoint */
  g_autoptr (GString) cmdline = g_string_new ("neuroseg train");
  for (int i = 1; i < argc; i++)
    {
      g_autofree char *q = g_shell_quote (argv[i]);
      g_string_append_c (cmdline, ' ');
      g_string_append (cmdline, strpbrk (argv[i], " '\"$\\") != NULL ? q : argv[i]);
    }

  if (!ns_cmd_parse_options ("train", "", "Train a segmentation model on BraTS-style cases.",
                             entries, NULL, numbers, &argc, &argv, &status))
    return status;
  /* several processes when a launcher started this one (ns-mpi.h) */
  comm = ns_mpi_init (&error);
  if (error != NULL)
    return run_error (json, error);
  int rank = comm != NULL ? comm->rank : 0, n_processes = comm != NULL ? comm->size : 1;
  if (argc > 1)
    {
      g_autofree char *m = g_strdup_printf ("unexpected argument '%s' (cases go after --data)",
                                            argv[1]);
      return usage_error (json, m);
    }

  NsTrainerOptions o;
  ns_trainer_options_init (&o);
  if (resume != NULL)
    {
      if (!ns_trainer_options_load_state (&o, resume, &error))
        {
          ns_trainer_options_clear (&o);
          return run_error (json, error);
        }
      if (data != NULL || val != NULL || arch != NULL || init != NULL || has_batch
          || has_lr || has_seed || has_crop || has_ratio || schedule != NULL
          || has_spe || has_wd || weights_init != NULL || modalities != NULL
          || targets != NULL || context >= 0 || norm != NULL || pp_component >= 0 || pp_et >= 0
          || interactive || starts != NULL || has_shards)
        {
          ns_trainer_options_clear (&o);
          return usage_error (json, "--resume continues a run with its own data, model and "
                                    "optimiser options; only --epochs, --max-steps, "
                                    "--patience, --device and -o may change");
        }
    }
  else
    {
      if (data == NULL)
        {
          ns_trainer_options_clear (&o);
          return usage_error (json, "need --data CASE (one or more) and -o MODEL (see --help)");
        }
      o.train_cases = g_steal_pointer (&data);
      o.val_cases = g_steal_pointer (&val);
    }
  /* the output of the run --resume continues, before -o changes it */
  g_autofree char *resumed_output = resume != NULL && o.output != NULL
                                      ? g_canonicalize_filename (o.output, NULL) : NULL;
  if (out != NULL)
    {
      g_free (o.output);
      o.output = g_strdup (out);
    }
  if (o.output == NULL)
    {
      ns_trainer_options_clear (&o);
      return usage_error (json, "need -o MODEL.safetensors");
    }
#define SET_STR(field, v) if ((v) != NULL) { g_free (o.field); o.field = g_strdup (v); }
  SET_STR (arch, arch);
  SET_STR (init, init);
  SET_STR (imagenet_path, imagenet);
  SET_STR (device, device);
#undef SET_STR
  int parent_version = NS_REGISTRY_NONE;
  if (resume == NULL && g_strcmp0 (o.init, "default") == 0)
    {
      g_autofree char *why = NULL;
      g_autofree char *path = ns_registry_dup_default_model (NULL, &parent_version, &why,
                                                             &error);
      if (path == NULL)
        {
          ns_trainer_options_clear (&o);
          return run_error (json, error);
        }
      g_free (o.init);
      o.init = g_steal_pointer (&path);
      if (!json && !quiet && rank == 0)
        printf ("fine-tuning the default model, version %d, %s: %s\n", parent_version,
                ns_cmd_printable (why), ns_cmd_printable (o.init));
    }
  if (has_epochs) o.epochs = epochs;
  if (has_batch) o.batch_size = batch;
  if (has_lr) o.lr = lr;
  if (has_wd) o.weight_decay = wd;
  if (has_spe) o.steps_per_epoch = spe;
  if (has_max_steps) o.max_steps = max_steps;
  if (has_patience) o.patience = patience;
  if (has_seed) o.seed = (guint64) seed;
  if (has_crop) o.data.crop_w = o.data.crop_h = crop;
  if (has_ratio) o.data.tumour_ratio = ratio;
  if (no_augment) o.data.augment = FALSE;
  o.n_workers = workers;
  if (resume == NULL)
    o.shards = has_shards ? shards : n_processes;
  o.comm = comm;
  if (modalities != NULL)
    {
      g_strfreev (o.modalities);
      o.modalities = g_strsplit (modalities, ",", -1);
    }
  if (targets != NULL && g_strcmp0 (targets, "regions") != 0
      && g_strcmp0 (targets, "classes") != 0)
    {
      ns_trainer_options_clear (&o);
      return usage_error (json, "--targets must be classes or regions");
    }
  if (targets != NULL)
    o.regions = g_strcmp0 (targets, "regions") == 0;
  if (context >= 0)
    o.context = context;
  if (interactive)
    o.interactive = TRUE;
  if (starts != NULL)
    {
      if (!interactive)
        {
          ns_trainer_options_clear (&o);
          return usage_error (json, "--starts DIR goes with --interactive");
        }
      o.interactive_starts = g_strdup (starts);
    }
  if (norm != NULL)
    {
      g_free (o.normalisation);
      o.normalisation = g_strdup (norm);
    }
  if (pp_component >= 0)
    o.postprocess.min_component_voxels = pp_component;
  if (pp_et >= 0)
    o.postprocess = (NsPostprocessParams) { o.postprocess.min_component_voxels, 4, pp_et, 1 };
  if (weights_init != NULL)
    {
      if (g_strcmp0 (weights_init, "kaiming") == 0)
        o.weights_init = NS_INIT_KAIMING;
      else if (g_strcmp0 (weights_init, "normal") == 0)
        o.weights_init = NS_INIT_NORMAL;
      else
        {
          ns_trainer_options_clear (&o);
          return usage_error (json, "--weights-init must be normal or kaiming");
        }
    }
  if (schedule != NULL && !parse_schedule (schedule, &o.schedule))
    {
      ns_trainer_options_clear (&o);
      return usage_error (json, "--schedule must be none, cosine or step");
    }
  if (precision != NULL)
    {
      if (g_ascii_strcasecmp (precision, "bf16") == 0)
        o.bf16 = TRUE;
      else if (g_ascii_strcasecmp (precision, "fp32") == 0)
        o.bf16 = FALSE;
      else
        {
          ns_trainer_options_clear (&o);
          return usage_error (json, "--precision must be fp32 or bf16");
        }
    }
  if (dtype != NULL)
    {
      if (g_ascii_strcasecmp (dtype, "f32") == 0)
        o.dtype = NS_DTYPE_F32;
      else if (g_ascii_strcasecmp (dtype, "bf16") == 0)
        o.dtype = NS_DTYPE_BF16;
      else if (g_ascii_strcasecmp (dtype, "f16") == 0)
        o.dtype = NS_DTYPE_F16;
      else
        {
          ns_trainer_options_clear (&o);
          return usage_error (json, "--dtype must be f32, bf16 or f16");
        }
    }
  if (!check_files (&o, resumed_output, force, &error))
    {
      ns_trainer_options_clear (&o);
      return run_error (json, error);
    }
  /* a resumed run keeps the command that started it */
  g_autofree char *first = g_steal_pointer (&o.command_line);
  o.command_line = first != NULL ? g_strconcat (first, " && ", cmdline->str, NULL)
                                 : g_strdup (cmdline->str);

  /* the set-up went well on every process */
  gboolean peer_failed = FALSE;
  if (!ns_train_comm_agree (comm, TRUE, NULL, 0, &peer_failed, &error))
    {
      ns_trainer_options_clear (&o);
      started = TRUE;
      if (peer_failed)
        return 1;
      /* this process did not fail: MPI did, the last resort */
      status = run_error (json, error);
      ns_mpi_abort (status);
      return status;
    }
  started = TRUE;

  /* rank 0 prints */
  Progress p = { json && rank == 0, !json && !quiet && rank == 0 && ns_cmd_stdout_is_tty (),
                 quiet || rank != 0 };
  o.progress = progress_cb;
  o.progress_data = &p;
  o.stop = &stop_flag;
  install_signals ();

  NsTrainerResult r;
  int n_shards = MAX (o.shards, 1);
  gboolean ok = ns_trainer_run (&o, &r, &error);
  ns_trainer_options_clear (&o);
  if (!ok)
    {
      peer_failed = r.peer_failed;
      ns_trainer_result_clear (&r);
      if (peer_failed)
        return 1;
      status = run_error (json, error);
      /* the others may wait in MPI for this one: the last resort */
      if (g_error_matches (error, NS_MPI_ERROR, NS_MPI_ERROR_TRANSPORT))
        ns_mpi_abort (status);
      return status;
    }
  if (json && rank == 0)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_object (b);
      ns_json_add_string (b, "event", "done");
      ns_json_add_int (b, "steps", r.steps);
      ns_json_add_int (b, "epochs", r.epochs_done);
      ns_json_add_number (b, "seconds", r.seconds);
      ns_json_add_number (b, "loss", r.last_loss);
      ns_json_add_boolean (b, "stopped", r.stopped);
      ns_json_add_boolean (b, "early_stopped", r.early_stopped);
      ns_json_add_number (b, "best_score", r.best_score);
      if (isfinite (r.best_score))
        {
          ns_json_add_number (b, "dice_wt", r.best_dice[0]);
          ns_json_add_number (b, "dice_tc", r.best_dice[1]);
          ns_json_add_number (b, "dice_et", r.best_dice[2]);
          ns_json_add_int (b, "best_epoch", r.best_epoch);
        }
      ns_json_add_string (b, "model", r.best_path);
      ns_json_add_string (b, "last", r.last_path);
      if (parent_version != NS_REGISTRY_NONE)
        ns_json_add_int (b, "parent_version", parent_version);
      ns_json_add_string (b, "device", r.device);
      ns_json_add_int (b, "processes", n_processes);
      ns_json_add_int (b, "shards", n_shards);
      ns_json_add_boolean (b, "mpi", ns_mpi_is_initialised ());
      json_builder_end_object (b);
      print_json (b);
    }
  else if (!quiet && rank == 0)
    {
      if (r.stopped)
        printf ("stopped after step %" G_GINT64_FORMAT "; continue with --resume %s\n",
                r.steps, ns_cmd_printable (r.last_path));
      if (isfinite (r.best_score))
        printf ("best: epoch %d, validation Dice WT %.3f TC %.3f ET %.3f -> %s\n",
                r.best_epoch, r.best_dice[0], r.best_dice[1], r.best_dice[2],
                ns_cmd_printable (r.best_path));
      printf ("%" G_GINT64_FORMAT " steps, %d epochs, %.0f s on %s; last: %s\n", r.steps,
              r.epochs_done, r.seconds, r.device, ns_cmd_printable (r.last_path));
    }
  ns_trainer_result_clear (&r);
  return 0;
}

int
ns_cmd_train (int argc, char **argv)
{
  int status = train (argc, argv);
  ns_mpi_finalize ();
  return status;
}
