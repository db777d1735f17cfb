/* SPDX-License-Identifier: MIT
 *
 * test-net-trainer.c: the trainer and `neuroseg train` on a tiny configuration (the
 * bundled sample case, 64 x 64 crops, batches of 2, a handful of steps):
 *  - a run stopped by the stop flag mid-epoch and resumed from its last checkpoint
 *    computes bit for bit the losses and parameters of the uninterrupted run, also with
 *    region targets, 2.5-D, four sequences and the clipped normalisation (which the state
 *    brings back);
 *  - a region model warm-started from a softmax checkpoint keeps all but the head;
 *  - validation Dice and the provenance (cases, epochs, metrics, seconds, device,
 *    command line) land in the checkpoint;
 *  - --json-progress writes one JSON object per line (step, epoch, done; error);
 *  - SIGTERM stops the command after the current step with a resumable checkpoint;
 *  - bad options, cases and state files are GErrors naming what is wrong;
 *  - an op of the backend that fails (NS_TEST_REF_FAIL_AT) fails the run with its error
 *    at the end of that step, and nothing of the step is saved.
 * Runs on the oneDNN cpu backend when it is compiled in, else on ref.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-checkpoint.h"
#include "ns-trainer.h"
#include "ns-test-util.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <signal.h>
#include <string.h>

static const char *device;

static void
tiny_options (NsTrainerOptions *o, const char *name)
{
  ns_trainer_options_init (o);
  const char *cases[] = { ns_test_sample_case (), NULL };
  o->train_cases = g_strdupv ((char **) cases);
  g_free (o->device);
  o->device = g_strdup (device);
  o->data.crop_w = o->data.crop_h = 64;
  o->batch_size = 2;
  o->steps_per_epoch = 3;
  o->epochs = 2;
  o->lr = 1e-3;
  o->schedule = NS_SCHEDULE_COSINE;
  o->seed = 5;
  o->n_workers = 2;
  o->output = g_build_filename (ns_test_tmpdir (), name, NULL);
}

typedef struct
{
  double loss[16];             /* by step (1-based) */
  int stop_at;                 /* set the stop flag after this step (0: never) */
  gint stop;
  int n_epoch_events;
} Recorder;

static void
record_cb (const NsTrainEvent *ev, gpointer data)
{
  Recorder *r = data;
  if (ev->kind == NS_TRAIN_EVENT_STEP)
    {
      g_assert_cmpint (ev->step, <, 16);
      r->loss[ev->step] = ev->loss;
      if (r->stop_at > 0 && ev->step == r->stop_at)
        g_atomic_int_set (&r->stop, 1);
    }
  else
    r->n_epoch_events++;
}

static void
assert_same_tensors (const char *path_a, const char *path_b)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsBackend) be = ns_backend_new ("ref", &error);
  g_assert_no_error (error);
  g_autoptr (NsModel) a = ns_checkpoint_load (path_a, be, &error);
  g_assert_no_error (error);
  g_autoptr (NsModel) b = ns_checkpoint_load (path_b, be, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ns_model_n_tensors (a), ==, ns_model_n_tensors (b));
  for (int t = 0; t < ns_model_n_tensors (a); t++)
    {
      gsize n = ns_model_tensor_size (a, t);
      g_autofree float *va = g_new (float, n);
      g_autofree float *vb = g_new (float, n);
      ns_model_tensor_get (a, t, va);
      ns_model_tensor_get (b, t, vb);
      if (memcmp (va, vb, n * sizeof (float)) != 0)
        g_error ("tensor %s differs between %s and %s", ns_model_tensor_name (a, t), path_a,
                 path_b);
    }
}

/* Uninterrupted 6 steps vs 4 steps, stop, resume to 6: identical. */
/* The options of issue 14 on top of the tiny ones: region targets, 2.5-D, four
 * sequences, the clipped normalisation, post-processing in the metadata. */
static void
quality_options (NsTrainerOptions *o)
{
  o->regions = TRUE;
  o->context = 1;
  o->modalities = g_strsplit ("flair,t1c,t1,t2", ",", -1);
  o->normalisation = g_strdup ("zscore-brain-clip");
  o->postprocess = (NsPostprocessParams) { 10, 4, 200, 1 };
}

static void
check_quality_meta (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModelMeta) meta = ns_checkpoint_read_meta (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (meta->n_regions, ==, 3);
  g_assert_cmpint (meta->context, ==, 1);
  g_assert_cmpint (ns_model_meta_n_inputs (meta), ==, 4);
  g_assert_cmpstr (meta->normalisation, ==, "zscore-brain-clip");
  g_assert_cmpint (meta->postprocess.small_label_below, ==, 200);
  g_assert_cmpint (meta->postprocess.min_component_voxels, ==, 10);
}

/* data: "plain" or "quality" (quality_options: the state must bring them back). */
static void
test_resume_exact (gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  NsTrainerOptions o;
  NsTrainerResult r;
  gboolean quality = strcmp (data, "quality") == 0;
  g_autofree char *full_name = g_strdup_printf ("full-%s.safetensors", (const char *) data);
  g_autofree char *part_name = g_strdup_printf ("part-%s.safetensors", (const char *) data);

  Recorder full = { { 0 } };
  tiny_options (&o, full_name);
  if (quality)
    quality_options (&o);
  o.progress = record_cb;
  o.progress_data = &full;
  g_assert_true (ns_trainer_run (&o, &r, &error));
  g_assert_no_error (error);
  g_assert_cmpint (r.steps, ==, 6);
  g_assert_cmpint (r.epochs_done, ==, 2);
  g_assert_false (r.stopped);
  g_assert_cmpint (full.n_epoch_events, ==, 2);
  g_autofree char *full_last = g_strdup (r.last_path);
  ns_trainer_result_clear (&r);
  ns_trainer_options_clear (&o);
  for (int s = 1; s <= 6; s++)
    g_test_message ("step %d loss %.6f", s, full.loss[s]);
  g_assert_cmpfloat (full.loss[6], <, full.loss[1]);

  /* stopped after step 4 (mid-epoch 2) */
  Recorder part = { { 0 } };
  part.stop_at = 4;
  tiny_options (&o, part_name);
  if (quality)
    quality_options (&o);
  o.progress = record_cb;
  o.progress_data = &part;
  o.stop = &part.stop;
  g_assert_true (ns_trainer_run (&o, &r, &error));
  g_assert_no_error (error);
  g_assert_true (r.stopped);
  g_assert_cmpint (r.steps, ==, 4);
  g_autofree char *part_last = g_strdup (r.last_path);
  g_autofree char *state = ns_trainer_state_path (part_last);
  g_assert_true (g_file_test (part_last, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (state, G_FILE_TEST_EXISTS));
  ns_trainer_result_clear (&r);
  ns_trainer_options_clear (&o);
  for (int s = 1; s <= 4; s++)
    g_assert_cmpfloat (part.loss[s], ==, full.loss[s]);

  /* resumed with the options of the state */
  Recorder rest = { { 0 } };
  ns_trainer_options_init (&o);
  g_assert_true (ns_trainer_options_load_state (&o, part_last, &error));
  g_assert_no_error (error);
  g_assert_cmpint (o.batch_size, ==, 2);
  g_assert_cmpint (o.seed, ==, 5);
  g_assert_cmpint (o.schedule, ==, NS_SCHEDULE_COSINE);
  g_assert_cmpint (o.regions, ==, quality);
  g_assert_cmpint (o.context, ==, quality ? 1 : 0);
  o.progress = record_cb;
  o.progress_data = &rest;
  g_assert_true (ns_trainer_run (&o, &r, &error));
  g_assert_no_error (error);
  g_assert_false (r.stopped);
  g_assert_cmpint (r.steps, ==, 6);
  ns_trainer_result_clear (&r);
  ns_trainer_options_clear (&o);
  g_assert_cmpfloat (rest.loss[4], ==, 0);   /* it did not redo step 4 */
  for (int s = 5; s <= 6; s++)
    {
      g_test_message ("step %d: full %.9g resumed %.9g", s, full.loss[s], rest.loss[s]);
      g_assert_cmpfloat (rest.loss[s], ==, full.loss[s]);
    }
  assert_same_tensors (full_last, part_last);
  if (quality)
    check_quality_meta (part_last);
}

/* A region model warm-started from a softmax checkpoint: every tensor but the head's from
 * the checkpoint (a learning rate too small to move them in one step), the head of three
 * outputs new. */
static void
test_regions_warm_start (void)
{
  g_autoptr (GError) error = NULL;
  NsTrainerOptions o;
  NsTrainerResult r;

  tiny_options (&o, "softmax.safetensors");
  o.max_steps = 1;
  g_assert_true (ns_trainer_run (&o, &r, &error));
  g_assert_no_error (error);
  g_autofree char *parent = g_strdup (r.last_path);
  ns_trainer_result_clear (&r);
  ns_trainer_options_clear (&o);

  tiny_options (&o, "warm.safetensors");
  o.max_steps = 1;
  o.regions = TRUE;
  o.lr = 1e-30;
  g_free (o.init);
  o.init = g_strdup (parent);
  g_assert_true (ns_trainer_run (&o, &r, &error));
  g_assert_no_error (error);
  g_autoptr (NsBackend) be = ns_backend_new ("ref", &error);
  g_autoptr (NsModel) a = ns_checkpoint_load (parent, be, &error);
  g_assert_no_error (error);
  g_autoptr (NsModel) b = ns_checkpoint_load (r.last_path, be, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ns_model_get_meta (b)->n_regions, ==, 3);
  g_assert_cmpstr (ns_model_get_meta (b)->parent, ==, parent);
  int same = 0, head = 0;
  for (int i = 0; i < ns_model_n_tensors (b); i++)
    {
      const char *name = ns_model_tensor_name (b, i);
      gsize n = ns_model_tensor_size (b, i);
      g_autofree float *vb = g_new (float, n);
      ns_model_tensor_get (b, i, vb);
      if (g_str_has_prefix (name, "segmentation_head."))
        {
          head++;
          g_assert_cmpuint (n, ==, ns_model_tensor_size (a, i) / 4 * 3);
          continue;
        }
      g_autofree float *va = g_new (float, n);
      ns_model_tensor_get (a, ns_model_find_tensor (a, name), va);
      if (g_str_has_suffix (name, "running_mean") || g_str_has_suffix (name, "running_var"))
        continue;   /* the one training step moved the batch-norm statistics */
      /* (a step of 1e-30 moves only values that are 0 or denormal) */
      for (gsize e = 0; e < n; e++)
        if (fabsf (va[e] - vb[e]) > 1e-6f * fabsf (va[e]) + 1e-25f)
          g_error ("%s[%zu]: %.9g in the softmax model, %.9g warm-started", name, (size_t) e,
                   va[e], vb[e]);
      same++;
    }
  g_test_message ("%d tensors carried over, %d of the head new", same, head);
  g_assert_cmpint (head, ==, 2);
  ns_trainer_result_clear (&r);
  ns_trainer_options_clear (&o);
}

/* One step with validation on the (training) sample case: Dice in the result and the
 * checkpoint's provenance. */
static void
test_validation_metadata (void)
{
  g_autoptr (GError) error = NULL;
  NsTrainerOptions o;
  NsTrainerResult r;

  tiny_options (&o, "val.safetensors");
  const char *val[] = { ns_test_sample_case (), NULL };
  o.val_cases = g_strdupv ((char **) val);
  o.max_steps = 1;
  o.command_line = g_strdup ("neuroseg train --test");
  g_assert_true (ns_trainer_run (&o, &r, &error));
  g_assert_no_error (error);
  g_assert_true (isfinite (r.best_score));
  g_assert_cmpfloat (r.best_score, >=, 0);
  g_assert_cmpfloat (r.best_score, <=, 1);
  g_assert_cmpint (r.best_epoch, ==, 1);
  g_assert_true (g_file_test (o.output, G_FILE_TEST_EXISTS));

  g_autoptr (NsModelMeta) meta = ns_checkpoint_read_meta (o.output, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (meta->cases[0], ==, "Brats18_CBICA_ABM_1");
  g_assert_null (meta->cases[1]);
  g_assert_cmpint (meta->epochs, ==, 1);
  g_assert_cmpstr (meta->command, ==, "neuroseg train --test");
  g_assert_nonnull (meta->date);
  g_test_message ("metrics %s", meta->metrics);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_data (parser, meta->metrics, -1, NULL));
  JsonObject *m = json_node_get_object (json_parser_get_root (parser));
  g_assert_true (json_object_has_member (m, "dice_wt"));
  g_assert_true (json_object_has_member (m, "dice_tc"));
  g_assert_true (json_object_has_member (m, "dice_et"));
  g_assert_cmpfloat (json_object_get_double_member (m, "dice_wt"), ==, r.best_dice[0]);
  g_assert_cmpfloat (json_object_get_double_member (m, "seconds"), >, 0);
  g_assert_nonnull (strstr (json_object_get_string_member (m, "device"), device));
  g_assert_cmpint (json_object_get_int_member (m, "steps"), ==, 1);
  ns_trainer_result_clear (&r);
  ns_trainer_options_clear (&o);
}

static void
expect_error (NsTrainerOptions *o, const char *fragment)
{
  g_autoptr (GError) error = NULL;
  NsTrainerResult r;
  g_assert_false (ns_trainer_run (o, &r, &error));
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  if (strstr (error->message, fragment) == NULL)
    g_error ("error '%s' does not say '%s'", error->message, fragment);
  ns_trainer_result_clear (&r);
  ns_trainer_options_clear (o);
}

static void
test_bad_options (void)
{
  NsTrainerOptions o;

  tiny_options (&o, "bad.safetensors");
  o.epochs = 0;
  expect_error (&o, "epochs");
  tiny_options (&o, "bad.safetensors");
  o.batch_size = 0;
  expect_error (&o, "batch");
  tiny_options (&o, "bad.safetensors");
  o.lr = -1;
  expect_error (&o, "learning rate");
  tiny_options (&o, "bad.safetensors");
  g_free (o.arch);
  o.arch = g_strdup ("resnet");
  expect_error (&o, "architecture");
  tiny_options (&o, "bad.safetensors");
  g_strfreev (o.train_cases);
  const char *missing[] = { "/nonexistent/case", NULL };
  o.train_cases = g_strdupv ((char **) missing);
  expect_error (&o, "/nonexistent/case");
  tiny_options (&o, "bad.safetensors");
  g_free (o.arch);
  o.arch = g_strdup ("unet");
  g_free (o.init);
  o.init = g_strdup ("imagenet");
  expect_error (&o, "mobilenetv2-unet");
  tiny_options (&o, "bad.safetensors");
  g_free (o.init);
  o.init = g_strdup ("/nonexistent/parent.safetensors");
  expect_error (&o, "parent.safetensors");
  tiny_options (&o, "bad.safetensors");
  o.data.crop_w = o.data.crop_h = 48;
  expect_error (&o, "multiple of 32");

  /* state files: missing, not a state, truncated */
  g_autoptr (GError) error = NULL;
  ns_trainer_options_init (&o);
  g_assert_false (ns_trainer_options_load_state (&o, "/nonexistent/x.last.safetensors", &error));
  g_assert_nonnull (strstr (error->message, "/nonexistent/x.last.safetensors.state"));
  g_clear_error (&error);
  g_autofree char *junk = g_build_filename (ns_test_tmpdir (), "junk.last.safetensors", NULL);
  g_autofree char *junk_state = ns_trainer_state_path (junk);
  g_assert_true (g_file_set_contents (junk_state, "\x10\0\0\0\0\0\0\0{\"a\": 1}        ", 24,
                                      NULL));
  g_assert_false (ns_trainer_options_load_state (&o, junk, &error));
  g_assert_nonnull (strstr (error->message, junk_state));
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (junk_state, "\xff\0\0\0\0\0\0\0{", 9, NULL));
  g_assert_false (ns_trainer_options_load_state (&o, junk, &error));
  g_assert_nonnull (strstr (error->message, "truncated"));
  g_clear_error (&error);
  ns_trainer_options_clear (&o);
}

/* The 5th op of the first step fails: the run stops with that error (not with "the loss
 * became nan"), and writes no file. */
static void
test_backend_failure (void)
{
  g_autoptr (GError) error = NULL;
  NsTrainerOptions o;
  NsTrainerResult r;

  tiny_options (&o, "failing.safetensors");
  g_free (o.device);
  o.device = g_strdup ("ref");
  g_setenv ("NS_TEST_REF_FAIL_AT", "5", TRUE);
  gboolean ok = ns_trainer_run (&o, &r, &error);
  g_unsetenv ("NS_TEST_REF_FAIL_AT");
  g_assert_false (ok);
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "training step 1: ref: op 5 "));
  g_assert_nonnull (strstr (error->message, "NS_TEST_REF_FAIL_AT"));
  g_autofree char *last = ns_trainer_last_path (o.output);
  g_assert_false (g_file_test (o.output, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (last, G_FILE_TEST_EXISTS));
  ns_trainer_result_clear (&r);
  ns_trainer_options_clear (&o);
}

/* ---- the command ---------------------------------------------------------------------- */

static GSubprocess *
spawn_train (GSubprocessFlags flags, const char *const *extra)
{
  g_autoptr (GError) error = NULL;
  const char *exe = g_getenv ("NEUROSEG");
  g_assert_nonnull (exe);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) exe);
  g_ptr_array_add (argv, (gpointer) "train");
  for (const char *const *p = extra; *p != NULL; p++)
    g_ptr_array_add (argv, (gpointer) *p);
  g_ptr_array_add (argv, NULL);
  GSubprocess *proc = g_subprocess_newv ((const char *const *) argv->pdata, flags, &error);
  g_assert_no_error (error);
  return proc;
}

/* Parses every line of text as a JSON object; returns them (JsonObject, referenced). */
static GPtrArray *
parse_lines (const char *text)
{
  GPtrArray *objs = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    {
      if (**l == '\0')
        continue;
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) error = NULL;
      if (!json_parser_load_from_data (parser, *l, -1, &error))
        g_error ("not a JSON line: '%s' (%s)", *l, error->message);
      JsonNode *root = json_parser_get_root (parser);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
      g_assert_true (json_object_has_member (json_node_get_object (root), "event"));
      g_ptr_array_add (objs, json_object_ref (json_node_get_object (root)));
    }
  return objs;
}

static const char *
event_of (GPtrArray *objs, guint i)
{
  return json_object_get_string_member (objs->pdata[i], "event");
}

static void
test_cli_json (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "cli.safetensors", NULL);
  const char *args[] = { "--data", ns_test_sample_case (), "--crop", "64", "--batch", "1",
                         "--max-steps", "2", "--steps-per-epoch", "1", "--device", device,
                         "--json-progress", "-o", out, NULL };
  g_autoptr (GSubprocess) p = spawn_train (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                           | G_SUBPROCESS_FLAGS_STDERR_PIPE, args);
  g_autofree char *sout = NULL, *serr = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, &sout, &serr, &error));
  g_assert_no_error (error);
  g_test_message ("stdout:\n%s\nstderr:\n%s", sout, serr);
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 0);
  g_autoptr (GPtrArray) objs = parse_lines (sout);
  g_assert_cmpuint (objs->len, ==, 5);
  g_assert_cmpstr (event_of (objs, 0), ==, "step");
  g_assert_cmpstr (event_of (objs, 1), ==, "epoch");
  g_assert_cmpstr (event_of (objs, 2), ==, "step");
  g_assert_cmpstr (event_of (objs, 3), ==, "epoch");
  g_assert_cmpstr (event_of (objs, 4), ==, "done");
  g_assert_cmpint (json_object_get_int_member (objs->pdata[2], "step"), ==, 2);
  g_assert_true (isfinite (json_object_get_double_member (objs->pdata[2], "loss")));
  g_assert_cmpint (json_object_get_int_member (objs->pdata[4], "steps"), ==, 2);
  g_assert_false (json_object_get_boolean_member (objs->pdata[4], "stopped"));
  g_assert_true (g_file_test (out, G_FILE_TEST_EXISTS));
  g_autoptr (NsModelMeta) meta = ns_checkpoint_read_meta (out, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (meta->command, "neuroseg train --data"));
  g_assert_nonnull (strstr (meta->command, "--json-progress"));

  /* errors: one line on stderr naming the path, an "error" event, exit 1 */
  const char *bad[] = { "--data", "/nonexistent/case", "--json-progress", "-o", out, NULL };
  g_autoptr (GSubprocess) q = spawn_train (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                           | G_SUBPROCESS_FLAGS_STDERR_PIPE, bad);
  g_free (sout);
  g_free (serr);
  g_assert_true (g_subprocess_communicate_utf8 (q, NULL, NULL, &sout, &serr, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (q), ==, 1);
  g_autoptr (GPtrArray) eobjs = parse_lines (sout);
  g_assert_cmpuint (eobjs->len, ==, 1);
  g_assert_cmpstr (event_of (eobjs, 0), ==, "error");
  g_assert_nonnull (strstr (json_object_get_string_member (eobjs->pdata[0], "message"),
                            "/nonexistent/case"));
  g_assert_nonnull (strstr (serr, "/nonexistent/case"));
  g_assert_cmpint (strchr (serr, '\n') - serr + 1, ==, (int) strlen (serr));

  /* bad usage: exit 2 */
  const char *usage[] = { "--data", ns_test_sample_case (), "--schedule", "linear", "-o", out,
                          NULL };
  g_autoptr (GSubprocess) u = spawn_train (G_SUBPROCESS_FLAGS_STDERR_SILENCE, usage);
  g_assert_true (g_subprocess_wait (u, NULL, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (u), ==, 2);
}

/* SIGTERM after the first step: the command ends cleanly with a resumable checkpoint,
 * and --resume continues from there. */
static void
test_cli_signal (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "sig.safetensors", NULL);
  const char *args[] = { "--data", ns_test_sample_case (), "--crop", "64", "--batch", "1",
                         "--max-steps", "200", "--steps-per-epoch", "100", "--device", device,
                         "--json-progress", "-o", out, NULL };
  g_autoptr (GSubprocess) p = spawn_train (G_SUBPROCESS_FLAGS_STDOUT_PIPE, args);
  g_autoptr (GDataInputStream) in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p));
  g_autoptr (GString) all = g_string_new (NULL);
  gboolean sent = FALSE;
  for (;;)
    {
      g_autofree char *line = g_data_input_stream_read_line_utf8 (in, NULL, NULL, &error);
      g_assert_no_error (error);
      if (line == NULL)
        break;
      g_string_append_printf (all, "%s\n", line);
      if (!sent && strstr (line, "\"step\"") != NULL)
        {
          g_subprocess_send_signal (p, SIGTERM);
          sent = TRUE;
        }
    }
  g_assert_true (g_subprocess_wait (p, NULL, &error));
  g_test_message ("%s", all->str);
  g_assert_true (sent);
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 0);
  g_autoptr (GPtrArray) objs = parse_lines (all->str);
  JsonObject *done = objs->pdata[objs->len - 1];
  g_assert_cmpstr (event_of (objs, objs->len - 1), ==, "done");
  g_assert_true (json_object_get_boolean_member (done, "stopped"));
  gint64 steps = json_object_get_int_member (done, "steps");
  g_assert_cmpint (steps, >=, 1);
  g_assert_cmpint (steps, <, 200);
  const char *last = json_object_get_string_member (done, "last");
  g_autofree char *state = ns_trainer_state_path (last);
  g_assert_true (g_file_test (last, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (state, G_FILE_TEST_EXISTS));

  g_autofree char *until = g_strdup_printf ("%" G_GINT64_FORMAT, steps + 1);
  const char *res[] = { "--resume", last, "--max-steps", until, "--json-progress", NULL };
  g_autoptr (GSubprocess) q = spawn_train (G_SUBPROCESS_FLAGS_STDOUT_PIPE, res);
  g_autofree char *sout = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (q, NULL, NULL, &sout, NULL, &error));
  g_test_message ("%s", sout);
  g_assert_cmpint (g_subprocess_get_exit_status (q), ==, 0);
  g_autoptr (GPtrArray) robjs = parse_lines (sout);
  g_assert_cmpstr (event_of (robjs, 0), ==, "step");
  g_assert_cmpint (json_object_get_int_member (robjs->pdata[0], "step"), ==, steps + 1);
  JsonObject *rdone = robjs->pdata[robjs->len - 1];
  g_assert_cmpint (json_object_get_int_member (rdone, "steps"), ==, steps + 1);
  g_autoptr (NsModelMeta) rmeta = ns_checkpoint_read_meta (last, &error);
  g_assert_no_error (error);
  g_test_message ("command: %s", rmeta->command);
  g_assert_true (g_str_has_prefix (rmeta->command, "neuroseg train --data "));
  g_assert_nonnull (strstr (rmeta->command, " && neuroseg train --resume "));
  g_assert_false (json_object_get_boolean_member (rdone, "stopped"));

  /* --resume with options that would change the stream is refused */
  const char *clash[] = { "--resume", last, "--seed", "9", NULL };
  g_autoptr (GSubprocess) c = spawn_train (G_SUBPROCESS_FLAGS_STDERR_SILENCE, clash);
  g_assert_true (g_subprocess_wait (c, NULL, &error));
  g_assert_cmpint (g_subprocess_get_exit_status (c), ==, 2);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gboolean have_cpu = FALSE;
  for (const char *const *n = ns_backend_list_compiled (); *n != NULL; n++)
    have_cpu |= strcmp (*n, "cpu") == 0;
  device = have_cpu ? "cpu" : "ref";

  g_test_add_data_func ("/net/trainer/resume-exact/plain", "plain", test_resume_exact);
  g_test_add_data_func ("/net/trainer/resume-exact/quality", "quality", test_resume_exact);
  g_test_add_func ("/net/trainer/regions-warm-start", test_regions_warm_start);
  g_test_add_func ("/net/trainer/validation-metadata", test_validation_metadata);
  g_test_add_func ("/net/trainer/bad-options", test_bad_options);
  g_test_add_func ("/net/trainer/backend-failure", test_backend_failure);
  g_test_add_func ("/net/trainer/cli-json", test_cli_json);
  g_test_add_func ("/net/trainer/cli-signal", test_cli_signal);
  return g_test_run ();
}
