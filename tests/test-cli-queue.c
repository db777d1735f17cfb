/* SPDX-License-Identifier: MIT
 *
 * test-cli-queue.c: `neuroseg queue ...` and `neuroseg models ...` as a user runs them
 * (the binary from $NEUROSEG), on a database in a temporary folder: adding the bundled
 * case with a corrected mask and a shifted prediction (effort and edited voxels checked
 * against a count made here), a synthetic second case, sorting, exclude / requeue /
 * remove, export (a case truncated after it was queued is refused, never linked), and the
 * registry with real checkpoints written here: register (a truncated file is recorded as
 * failed and refused), validate (figures per case), promote (refused without figures, with
 * an empty mask, or without figures of the current default on the same cases, unless
 * --force; refused without --yes when there is no terminal), roll back, also to the
 * shipped model (version 0).  The reading commands work in a data folder the user may only
 * read (tried as "nobody" when run as root).  Errors are one line and exit 1 (2 for bad
 * usage, numeric options out of range included).  Case names, --who and notes that hold
 * terminal escape sequences are printed escaped, never raw.  A team's sub-commands (claim,
 * renew, release, take-over, claims, review, mask, setup-team; issue 19) run on SQLite and,
 * registered again with NS_TEST_DB=postgresql, on a PostgreSQL server the test starts.
 * `queue migrate --to` copies a workstation's SQLite file into a fresh database (a
 * database on that server in the PostgreSQL run), refuses a non-empty one unless
 * --replace, and leaves the source as it was.
 */
#include "ns-test-queue.h"
#include "ns-test-net.h"
#include "ns-test-util.h"
#include "ns-checkpoint.h"
#include "ns-labels.h"
#include "ns-metrics.h"
#include "ns-nifti.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <pwd.h>
#include <grp.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *db_path;

/* neuroseg ARGS... --db DB (stdin from /dev/null, stdout a pipe: not a terminal). */
static void
run_cmd (NsTestRun *run, ...)
{
  const char *const db[] = { "--db", db_path, NULL };
  va_list ap;

  va_start (ap, run);
  ns_test_run_neuroseg_valist (run, ap, db);
  va_end (ap);
}

static void
assert_one_line (const char *text)
{
  g_assert_cmpuint (strlen (text), >, 1);
  const char *nl = strchr (text, '\n');
  g_assert_nonnull (nl);
  g_assert_cmpint (nl[1], ==, '\0');
}

static JsonNode *
parse_json (const char *text)
{
  g_autoptr (GError) error = NULL;
  JsonNode *node = json_from_string (text, &error);
  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

static char *
tmp_path (const char *name)
{
  return g_build_filename (ns_test_tmpdir (), name, NULL);
}

/* The queue as JSON, in the order of sort. */
static JsonArray *
list_json (const char *sort)
{
  g_auto (NsTestRun) r = { 0 };
  run_cmd (&r, "queue", "list", "--json", "--sort", sort, NULL);
  g_assert_cmpint (r.status, ==, 0);
  JsonNode *node = parse_json (r.out);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (node));
  JsonArray *a = json_array_ref (json_node_get_array (node));
  json_node_unref (node);
  return a;
}

static void
test_queue (void)
{
  g_autoptr (GError) error = NULL;
  const char *sample = ns_test_sample_case ();
  g_autofree char *seg = g_build_filename (sample, "Brats18_CBICA_ABM_1_seg.nii.gz", NULL);

  /* A prediction: the truth shifted by two voxels along i. */
  g_autoptr (NsVolume) vol = ns_nifti_read (seg, &error);
  g_assert_no_error (error);
  g_autoptr (NsLabelMap) truth = ns_label_map_from_volume (vol, NS_LABEL_SCHEME_BRATS2017, FALSE,
                                                           &error);
  g_assert_no_error (error);
  g_autoptr (NsLabelMap) pred = ns_label_map_dup (truth, &error);
  const NsGrid *g = &truth->grid;
  gint64 differ = 0;
  guint64 n_pred = 0, n_truth = 0, n_both = 0;
  for (int k = 0; k < g->dim[2]; k++)
    for (int j = 0; j < g->dim[1]; j++)
      for (int i = 0; i < g->dim[0]; i++)
        {
          gsize v = ns_grid_index (g, i, j, k);
          pred->labels[v] = i >= 2 ? truth->labels[ns_grid_index (g, i - 2, j, k)] : 0;
          differ += pred->labels[v] != truth->labels[v];
          n_pred += pred->labels[v] != 0;
          n_truth += truth->labels[v] != 0;
          n_both += pred->labels[v] != 0 && truth->labels[v] != 0;
        }
  double want_effort = 2.0 * n_both / (n_pred + n_truth);
  g_autofree char *pred_path = tmp_path ("pred.nii.gz");
  g_assert_true (ns_nifti_write_label_map (pred, pred_path, &error));

  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "add", sample, "--mask", seg, "--prediction", pred_path,
             "--uncertainty", "0.25", "--who", "dr-x", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "queued Brats18_CBICA_ABM_1"));
  }

  /* A synthetic second case, more uncertain. */
  g_autofree char *syn = tmp_path ("SynCase");
  g_assert_cmpint (g_mkdir_with_parents (syn, 0755), ==, 0);
  NsGrid sg;
  ns_grid_init (&sg, 12, 12, 6, 1, 1, 1);
  g_autoptr (NsVolume) sv = ns_volume_new (&sg, &error);
  for (int i = 0; i < 12 * 12 * 6; i++)
    sv->voxels[i] = i % 7;
  g_autofree char *syn_flair = g_build_filename (syn, "SynCase_flair.nii.gz", NULL);
  g_assert_true (ns_nifti_write_volume (sv, syn_flair, &error));
  g_autoptr (NsLabelMap) sm = ns_label_map_new (&sg, &error);
  sm->labels[100] = 2;
  g_autofree char *syn_mask = tmp_path ("syn-mask.nii.gz");
  g_assert_true (ns_nifti_write_label_map (sm, syn_mask, &error));
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "add", syn, "--mask", syn_mask, "--uncertainty", "0.9", NULL);
    g_assert_cmpint (r.status, ==, 0);
  }

  g_autoptr (JsonArray) added = list_json ("added");
  g_assert_cmpuint (json_array_get_length (added), ==, 2);
  JsonObject *e = json_array_get_object_element (added, 0);
  g_assert_cmpstr (json_object_get_string_member (e, "case_id"), ==, "Brats18_CBICA_ABM_1");
  g_assert_cmpstr (json_object_get_string_member (e, "state"), ==, "queued");
  g_assert_cmpstr (json_object_get_string_member (e, "who"), ==, "dr-x");
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (e, "effort"), want_effort, 1e-9);
  g_assert_cmpint (json_object_get_int_member (e, "edited_voxels"), ==, differ);
  g_assert_cmpint (differ, >, 0);
  g_assert_true (json_object_get_null_member (json_array_get_object_element (added, 1),
                                              "effort"));
  g_autoptr (JsonArray) by_unc = list_json ("uncertainty");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (by_unc, 0),
                                                  "case_id"), ==, "SynCase");

  /* exclude, requeue, remove */
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "exclude", "SynCase", "--note", "too small", NULL);
    g_assert_cmpint (r.status, ==, 0);
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "list", "--state", "excluded", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "SynCase"));
    g_assert_null (strstr (r.out, "Brats18"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "history", "SynCase", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "too small"));
  }

  /* Export: only the queued case. */
  g_autofree char *out = tmp_path ("export");
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "export", out, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_autofree char *json_path = g_build_filename (out, "dataset.json", NULL);
    g_autofree char *text = NULL;
    g_assert_true (g_file_get_contents (json_path, &text, NULL, NULL));
    g_autoptr (JsonNode) node = parse_json (text);
    JsonObject *o = json_node_get_object (node);
    g_assert_cmpint (json_object_get_int_member (o, "numTraining"), ==, 1);
    g_assert_cmpuint (json_object_get_size (json_object_get_object_member (o, "channel_names")),
                      ==, 4);
    g_autofree char *img = g_build_filename (out, "imagesTr", "Brats18_CBICA_ABM_1_0003.nii.gz",
                                             NULL);
    g_assert_true (g_file_test (img, G_FILE_TEST_IS_REGULAR));
  }
  {
    /* Not into a folder that holds something. */
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "export", out, NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_one_line (r.err);
    g_assert_nonnull (strstr (r.err, out));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "requeue", "SynCase", NULL);
    g_assert_cmpint (r.status, ==, 0);
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "remove", "Brats18_CBICA_ABM_1", NULL);
    g_assert_cmpint (r.status, ==, 0);
  }
  g_autoptr (JsonArray) left = list_json ("effort");
  g_assert_cmpuint (json_array_get_length (left), ==, 1);
  JsonObject *l0 = json_array_get_object_element (left, 0);
  g_assert_cmpstr (json_object_get_string_member (l0, "state"), ==, "queued");
  g_assert_true (g_file_test (seg, G_FILE_TEST_IS_REGULAR));

  /* Errors. */
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "add", sample, NULL);
    g_assert_cmpint (r.status, ==, 2);
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "add", sample, "--mask", syn_mask, NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_one_line (r.err);
    g_assert_nonnull (strstr (r.err, syn_mask));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "exclude", "NoSuchCase", NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_one_line (r.err);
    g_assert_nonnull (strstr (r.err, db_path));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "list", "--sort", "size", NULL);
    g_assert_cmpint (r.status, ==, 2);
  }
  {
    /* A FLAIR cut short: refused, naming it (its header alone would pass). */
    g_autofree char *cut = tmp_path ("CutCase");
    g_assert_cmpint (g_mkdir_with_parents (cut, 0755), ==, 0);
    g_autofree char *cut_flair = g_build_filename (cut, "CutCase_flair.nii.gz", NULL);
    g_autofree char *bytes = NULL;
    gsize len;
    g_assert_true (g_file_get_contents (syn_flair, &bytes, &len, NULL));
    g_assert_true (g_file_set_contents (cut_flair, bytes, len / 2, NULL));
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "add", cut, "--mask", syn_mask, NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_one_line (r.err);
    g_assert_nonnull (strstr (r.err, cut_flair));
  }
}

static void
test_bad_database (void)
{
  g_autofree char *saved = db_path;
  db_path = tmp_path ("not-a-db.txt");
  g_assert_true (g_file_set_contents (db_path, "hello, this is plain text and not a database "
                                      "at all, long enough for a header; more text here....",
                                      -1, NULL));
  g_auto (NsTestRun) r = { 0 };
  run_cmd (&r, "queue", "list", NULL);
  g_assert_cmpint (r.status, ==, 1);
  assert_one_line (r.err);
  g_assert_nonnull (strstr (r.err, db_path));
  g_free (db_path);
  db_path = g_steal_pointer (&saved);
}

/* A MobileNetV2-U-Net checkpoint with the metrics a trainer writes. */
static char *
write_model (const char *name, const char *parent, double wt, double tc, double et,
             const char *val_cases)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsBackend) be = ns_backend_new ("ref", &error);
  g_assert_no_error (error);
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("mobilenetv2-unet");
  g_free (meta->metrics);
  meta->metrics = g_strdup_printf ("{\"dice_wt\": %g, \"dice_tc\": %g, \"dice_et\": %g, "
                                   "\"val_cases\": %s, \"seconds\": 12.5, "
                                   "\"device\": \"ref\"}", wt, tc, et, val_cases);
  meta->parent = g_strdup (parent);
  g_strfreev (meta->cases);
  meta->cases = g_strsplit ("A,B,C", ",", -1);
  meta->command = g_strdup ("neuroseg train --data ...");
  meta->epochs = 3;
  NsModelInit init = { NS_INIT_KAIMING, 0, 7 };
  g_autoptr (NsModel) m = ns_model_new (be, meta, &init, &error);
  g_assert_no_error (error);
  char *path = tmp_path (name);
  g_assert_true (ns_checkpoint_save (m, path, NS_DTYPE_BF16, &error));
  g_assert_no_error (error);
  return path;
}

static JsonObject *
model_json (const char *version)
{
  g_auto (NsTestRun) r = { 0 };
  run_cmd (&r, "models", "show", version, "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  JsonNode *node = parse_json (r.out);
  JsonObject *o = json_object_ref (json_node_get_object (node));
  json_node_unref (node);
  return o;
}

/* A 64 x 48 x 6 case folder (FLAIR, T1c, and a truth unless truth is NULL) whose images
 * are a blob of "brain" (or all zero: no brain, so every model predicts nothing). */
static char *
write_case (const char *id, gboolean brain, const char *truth)
{
  g_autoptr (GError) error = NULL;
  NsGrid grid;
  char *dir = tmp_path (id);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  ns_grid_init (&grid, 64, 48, 6, 1.0, 1.0, 2.0);
  for (int c = 0; c < 2; c++)
    {
      g_autoptr (NsVolume) v = ns_volume_new (&grid, &error);
      for (int k = 1; k <= 4 && brain; k++)
        for (int j = 8; j < 40; j++)
          for (int i = 10; i < 52; i++)
            v->voxels[ns_grid_index (&grid, i, j, k)] = (float) (200 + 50 * sin (i * 0.3 + c));
      g_autofree char *name = g_strdup_printf ("%s_%s.nii.gz", id, c == 0 ? "flair" : "t1ce");
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_assert_true (ns_nifti_write_volume (v, path, &error));
    }
  if (truth != NULL)
    {
      g_autoptr (NsLabelMap) m = ns_label_map_new (&grid, &error);
      if (g_strcmp0 (truth, "tumour") == 0)
        for (int j = 20; j < 28; j++)
          for (int i = 25; i < 35; i++)
            m->labels[ns_grid_index (&grid, i, j, 2)] = 2;
      g_autofree char *name = g_strdup_printf ("%s_seg.nii.gz", id);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_assert_true (ns_nifti_write_label_map (m, path, &error));
    }
  return dir;
}

static void
test_models (void)
{
  g_autofree char *empty_case = write_case ("EmptyCase", FALSE, "tumour");
  g_autofree char *clean_case = write_case ("CleanCase", FALSE, "none");
  g_autofree char *blob_case = write_case ("BlobCase", TRUE, "tumour");
  g_autofree char *no_truth_case = write_case ("NoTruth", TRUE, NULL);
  g_autofree char *a = write_model ("a.safetensors", NULL, 0.80, 0.70, 0.60,
                                   "[\"V1\", \"V2\"]");
  g_autofree char *b = write_model ("b.safetensors", a, 0.85, 0.72, 0.58,
                                   "[\"V2\", \"V1\"]");
  g_autofree char *c = write_model ("c.safetensors", b, 0.90, 0.80, 0.70, "[\"V3\"]");
  /* A truncated copy of a. */
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (a, &data, &len, NULL));
  g_autofree char *broken = tmp_path ("broken.safetensors");
  g_assert_true (g_file_set_contents (broken, data, len / 2, NULL));

  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "register", a, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "version 1"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "register", b, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "version 2"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "register", broken, NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_one_line (r.err);
    g_assert_nonnull (strstr (r.err, "broken.safetensors"));
    g_assert_nonnull (strstr (r.err, "failed version 3"));
  }
  g_autoptr (JsonObject) m2 = model_json ("2");
  g_assert_cmpint (json_object_get_int_member (m2, "parent"), ==, 1);  /* from its metadata */
  g_assert_cmpfloat_with_epsilon (json_object_get_double_member (m2, "dice_wt"), 0.85, 1e-9);
  JsonObject *metrics = json_object_get_object_member (m2, "metrics");
  g_assert_cmpint (json_object_get_int_member (metrics, "cases_used"), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (metrics, "device"), ==, "ref");
  g_assert_cmpstr (json_object_get_string_member (metrics, "command"), ==,
                   "neuroseg train --data ...");
  g_autoptr (JsonObject) m3 = model_json ("3");
  g_assert_cmpstr (json_object_get_string_member (m3, "status"), ==, "failed");

  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "promote", "3", "--yes", "--force", NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_one_line (r.err);
  }
  {
    /* Never validated: refused, with the reason and the way out. */
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "promote", "1", "--yes", NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.out, "candidate v1"));
    g_assert_nonnull (strstr (r.out, "current default v0"));
    assert_one_line (r.err);
    g_assert_nonnull (strstr (r.err, "no validation figures"));
    g_assert_nonnull (strstr (r.err, "--force"));
    g_autoptr (JsonObject) m1 = model_json ("1");
    g_assert_false (json_object_get_boolean_member (m1, "default"));
  }
  /* Validated where both models predict nothing on a tumour: an empty mask. */
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "validate", "1", "--device", "ref", "--val", empty_case, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "recorded 1 validation figure"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "promote", "1", "--yes", NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "predicts an empty mask"));
    g_assert_nonnull (strstr (r.out, "EMPTY"));
  }
  {
    /* Promote anyway: without a terminal, also --yes. */
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "promote", "1", "--force", NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "--yes"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "promote", "1", "--force", "--yes", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "promoted anyway"));
  }
  /* v2 against v1 on the same case without a tumour: both right (Dice 1), not below. */
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "promote", "v2", "--yes", NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "no validation figures"));
  }
  for (int v = 1; v <= 2; v++)
    {
      g_auto (NsTestRun) r = { 0 };
      g_autofree char *version = g_strdup_printf ("%d", v);
      run_cmd (&r, "models", "validate", version, "--device", "ref", "--val", clean_case, NULL);
      g_assert_cmpint (r.status, ==, 0);
    }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "promote", "v2", "--yes", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "candidate v2"));
    g_assert_nonnull (strstr (r.out, "current default v1"));
    g_assert_nonnull (strstr (r.out, "gate passed"));
    g_assert_nonnull (strstr (r.out, "1.0000 1.0000 1.0000"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "list", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, " * v2"));
    g_assert_nonnull (strstr (r.out, "   v0"));
    g_assert_nonnull (strstr (r.out, "(shipped)"));
    g_assert_nonnull (strstr (r.out, "failed"));
    g_assert_nonnull (strstr (r.out, "default: v2, the registry's default (promoted on"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "rollback", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "version 1 is now the default (was 2)"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "rollback", "2", NULL);
    g_assert_cmpint (r.status, ==, 0);
  }
  g_autoptr (JsonObject) m2b = model_json ("2");
  g_assert_true (json_object_get_boolean_member (m2b, "default"));
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "register", c, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "version 4"));
    g_assert_nonnull (strstr (r.out, "from v2"));
  }
  {
    /* A real inference: figures of a random model on a case with a blob of brain. */
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "validate", "4", "--device", "ref", "--val", blob_case, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_auto (NsTestRun) s = { 0 };
    run_cmd (&s, "models", "show", "4", NULL);
    g_assert_cmpint (s.status, ==, 0);
    g_assert_nonnull (strstr (s.out, "validation   1 record:"));
    g_assert_nonnull (strstr (s.out, "BlobCase"));
  }
  {
    /* Validation needs a truth. */
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "validate", "4", "--device", "ref", "--val", no_truth_case, NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_one_line (r.err);
    g_assert_nonnull (strstr (r.err, "no label map"));
  }
  /* Roll back always reaches the shipped model: version 0 by name. */
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "rollback", "0", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "version 0, the shipped model, is now the default"));
    g_auto (NsTestRun) l = { 0 };
    run_cmd (&l, "models", "list", NULL);
    g_assert_nonnull (strstr (l.out, " * v0"));
    g_assert_nonnull (strstr (l.out, "default: v0, the shipped model (rolled back"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "show", "9", NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_one_line (r.err);
    g_assert_nonnull (strstr (r.err, db_path));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "runs", "--json", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_autoptr (JsonNode) node = parse_json (r.out);
    g_assert_cmpuint (json_array_get_length (json_node_get_array (node)), ==, 0);
  }
}

/* In the child, before exec: as root, become "nobody" (root ignores a folder's mode). */
static void
drop_privileges (gpointer data)
{
  if (geteuid () != 0)
    return;
  struct passwd *nobody = getpwnam ("nobody");
  if (nobody == NULL || setgroups (0, NULL) != 0 || setgid (nobody->pw_gid) != 0
      || setuid (nobody->pw_uid) != 0)
    {
      fprintf (stderr, "cannot become nobody: %s\n", g_strerror (errno));
      _exit (99);
    }
}

/* neuroseg ARGS... --db db as an unprivileged user; returns the exit status. */
static int
run_unprivileged (const char *db, char **out, char **err, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  va_list ap;
  int status;

  g_ptr_array_add (argv, (gpointer) g_getenv ("NEUROSEG"));
  va_start (ap, err);
  for (const char *a = va_arg (ap, const char *); a != NULL; a = va_arg (ap, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (ap);
  g_ptr_array_add (argv, (gpointer) "--db");
  g_ptr_array_add (argv, (gpointer) db);
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync ("/", (char **) argv->pdata, NULL, G_SPAWN_STDIN_FROM_DEV_NULL,
                               drop_privileges, NULL, out, err, &status, &error));
  g_assert_no_error (error);
  g_test_message ("%s %s: %s%s", (char *) argv->pdata[1], (char *) argv->pdata[2], *out, *err);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

/* #13, defect 9: a data folder the user may only read does not block reading. */
static void
test_readonly_folder (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = tmp_path ("ro-data");
  g_autofree char *db = g_build_filename (dir, "neuroseg.db", NULL);
  g_autofree char *saved = g_steal_pointer (&db_path);
  db_path = g_strdup (db);
  g_autofree char *mask = tmp_path ("ro-mask.nii.gz");
  g_autofree char *ro_case = write_case ("ReadOnlyCase", TRUE, NULL);
  NsGrid grid;
  ns_grid_init (&grid, 64, 48, 6, 1.0, 1.0, 2.0);
  g_autoptr (NsLabelMap) m = ns_label_map_new (&grid, &error);
  m->labels[5000] = 2;
  g_assert_true (ns_nifti_write_label_map (m, mask, &error));
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "add", ro_case, "--mask", mask, NULL);
    g_assert_cmpint (r.status, ==, 0);
  }
  g_free (db_path);
  db_path = g_steal_pointer (&saved);
  g_assert_cmpint (g_chmod (ns_test_tmpdir (), 0755), ==, 0);
  g_assert_cmpint (g_chmod (dir, 0555), ==, 0);

  static const char *const reading[][3] = {
    { "queue", "list", "ReadOnlyCase" },
    { "queue", "history", "annotation added" },
    { "models", "list", "(shipped)" },
    { "models", "runs", "" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (reading); i++)
    {
      g_autofree char *out = NULL, *err = NULL;
      int status = i == 1 ? run_unprivileged (db, &out, &err, reading[i][0], reading[i][1],
                                              "ReadOnlyCase", NULL)
                          : run_unprivileged (db, &out, &err, reading[i][0], reading[i][1],
                                              NULL);
      g_assert_cmpint (status, ==, 0);
      g_assert_nonnull (strstr (out, reading[i][2]));
    }
  {
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint (run_unprivileged (db, &out, &err, "models", "show", "0", NULL), ==, 0);
    g_assert_nonnull (strstr (out, "the shipped model"));
  }
  {
    /* Writing is refused, in one line naming the database. */
    g_autofree char *out = NULL, *err = NULL;
    g_assert_cmpint (run_unprivileged (db, &out, &err, "queue", "exclude", "ReadOnlyCase", NULL),
                     ==, 1);
    assert_one_line (err);
    g_assert_nonnull (strstr (err, db));
  }
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
}

static void
assert_no_raw_escape (const char *text)
{
  for (const char *c = text; *c != '\0'; c++)
    if ((guint8) *c < 0x20 && *c != '\n')
      g_error ("raw control character 0x%02x in:\n%s", (guint8) *c, text);
}

/* A case folder named with an escape sequence, queued by a --who holding another: list,
 * history and errors show them as \x1b..., the terminal never receives them. */
static void
test_printable (void)
{
  g_autofree char *saved_db = g_steal_pointer (&db_path);
  db_path = g_build_filename (ns_test_tmpdir (), "printable", "neuroseg.db", NULL);
  const char *sample = ns_test_sample_case ();
  g_autofree char *flair_src = g_build_filename (sample, "Brats18_CBICA_ABM_1_flair.nii.gz",
                                                 NULL);
  g_autofree char *seg = g_build_filename (sample, "Brats18_CBICA_ABM_1_seg.nii.gz", NULL);
  g_autofree char *evil = tmp_path ("Evil\033]0;pwned\007Case");
  g_autofree char *flair = g_build_filename (evil, "evil_flair.nii.gz", NULL);
  g_autofree char *bytes = NULL;
  gsize n = 0;
  g_assert_cmpint (g_mkdir_with_parents (evil, 0755), ==, 0);
  g_assert_true (g_file_get_contents (flair_src, &bytes, &n, NULL));
  g_assert_true (g_file_set_contents (flair, bytes, (gssize) n, NULL));

  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "add", evil, "--mask", seg, "--who", "dr\033[2Jx", NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_no_raw_escape (r.out);
    g_assert_nonnull (strstr (r.out, "Evil\\x1b]0;pwned\\x07Case"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "list", NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_no_raw_escape (r.out);
    g_assert_nonnull (strstr (r.out, "Evil\\x1b]0;pwned\\x07Case"));
    g_assert_nonnull (strstr (r.out, "dr\\x1b[2Jx"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "exclude", "1", "--who", "\033[31mred", "--note", "a\rb", NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_no_raw_escape (r.out);
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "history", "1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    assert_no_raw_escape (r.out);
    g_assert_nonnull (strstr (r.out, "\\x1b[31mred"));
    g_assert_nonnull (strstr (r.out, "a\\rb"));
  }
  {
    /* the JSON keeps the exact name (JSON escapes it its own way) */
    g_autoptr (JsonArray) a = list_json ("added");
    g_autofree char *id = g_path_get_basename (evil);
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (a, 0),
                                                    "case_id"), ==, id);
  }
  {
    /* an error naming what the user typed */
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "remove", "No\033[8mSuch", NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_one_line (r.err);
    assert_no_raw_escape (r.err);
    g_assert_nonnull (strstr (r.err, "No\\x1b[8mSuch"));
  }
  g_free (db_path);
  db_path = g_steal_pointer (&saved_db);
}

/* Numbers out of range are usage errors naming the option and the range. */
static void
test_bad_numbers (void)
{
  const char *sample = ns_test_sample_case ();
  g_autofree char *seg = g_build_filename (sample, "Brats18_CBICA_ABM_1_seg.nii.gz", NULL);
  static const char *const bad[][4] = {
    { "queue", "--model-version", "0",
      "--model-version takes a whole number from 1 to 2147483647, not '0'" },
    { "queue", "--model-version", "-1",
      "--model-version takes a whole number from 1 to 2147483647, not '-1'" },
    { "queue", "--uncertainty", "nan", "--uncertainty takes a number, not 'nan'" },
    { "models", "--parent", "-1", "--parent takes a whole number from 0 to 2147483647" },
    { "models", "--run", "0", "--run takes a whole number from 1 to 2147483647, not '0'" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_auto (NsTestRun) r = { 0 };
      if (strcmp (bad[i][0], "queue") == 0)
        run_cmd (&r, "queue", "add", sample, "--mask", seg, bad[i][1], bad[i][2], NULL);
      else
        run_cmd (&r, "models", "register", seg, bad[i][1], bad[i][2], NULL);
      g_assert_cmpint (r.status, ==, 2);
      assert_one_line (r.err);
      g_assert_nonnull (strstr (r.err, bad[i][3]));
    }
}

/* #19: a team from the command line: claim (prints the token), others refused naming the
 * holder, a correction under the claim, renew, take-over with a note, release, the claims
 * list, review (send back with a note, accept), the export of accepted corrections only,
 * and the stored mask written out (never over a file). */
static char *
claim_token (const char *out)
{
  const char *t = strstr (out, "token ");
  g_assert_nonnull (t);
  return g_strndup (t + 6, strcspn (t + 6, "\n"));
}

static void
test_team (void)
{
  g_autofree char *saved = db_path;
  db_path = ns_test_db_is_server ()
    ? ns_test_fresh_location (NULL)
    : g_build_filename (ns_test_tmpdir (), "team", "neuroseg.db", NULL);
  g_autofree char *a = ns_test_write_case ("TeamA", 12, 12, 6, TRUE);
  g_autofree char *b = ns_test_write_case ("TeamB", 12, 12, 6, TRUE);
  g_autofree char *mask_a = g_build_filename (a, "TeamA_seg.nii.gz", NULL);
  g_autofree char *mask_b = g_build_filename (b, "TeamB_seg.nii.gz", NULL);
  g_autofree char *token = NULL, *token2 = NULL;
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "add", a, "--mask", mask_a, "--who", "ann", NULL);
    g_assert_cmpint (r.status, ==, 0);
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "add", b, "--mask", mask_b, "--who", "ann", NULL);
    g_assert_cmpint (r.status, ==, 0);
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "claim", "TeamA", "--who", "ann", "--lease", "3600", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "claimed TeamA"));
    token = claim_token (r.out);
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "claim", "TeamA", "--who", "bob", NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_one_line (r.err);
    g_assert_nonnull (strstr (r.err, "claimed by ann"));
  }
  {
    /* bob cannot correct it; ann can, under her claim. */
    g_auto (NsTestRun) r = { 0 }, r2 = { 0 };
    run_cmd (&r, "queue", "add", a, "--mask", mask_a, "--who", "bob", NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "not overwritten"));
    run_cmd (&r2, "queue", "add", a, "--mask", mask_a, "--who", "ann", "--claim", token, NULL);
    g_assert_cmpint (r2.status, ==, 0);
    g_assert_nonnull (strstr (r2.out, "annotation 2"));
  }
  {
    g_auto (NsTestRun) r = { 0 }, r2 = { 0 }, r3 = { 0 };
    run_cmd (&r, "queue", "renew", "TeamA", "--token", token, "--lease", "60", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "renewed TeamA"));
    run_cmd (&r2, "queue", "claims", "--json", NULL);
    g_assert_cmpint (r2.status, ==, 0);
    g_assert_nonnull (strstr (r2.out, "\"who\" : \"ann\""));
    /* Everyone sees it taken, in the list too. */
    g_auto (NsTestRun) r4 = { 0 }, r5 = { 0 };
    run_cmd (&r4, "queue", "list", NULL);
    g_assert_cmpint (r4.status, ==, 0);
    g_assert_nonnull (strstr (r4.out, "claimed by ann until"));
    run_cmd (&r5, "queue", "list", "--json", NULL);
    g_assert_nonnull (strstr (r5.out, "\"claimed_by\" : \"ann\""));
    g_assert_nonnull (strstr (r5.out, "\"review\" : \"unreviewed\""));
    run_cmd (&r3, "queue", "release", "TeamA", NULL);
    g_assert_cmpint (r3.status, ==, 2);
  }
  {
    g_auto (NsTestRun) r = { 0 }, r2 = { 0 };
    run_cmd (&r, "queue", "take-over", "TeamA", "--who", "bob", "--note", "ann is ill", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "took over TeamA"));
    token2 = claim_token (r.out);
    run_cmd (&r2, "queue", "release", "TeamA", "--token", token, NULL);
    g_assert_cmpint (r2.status, ==, 1);
    g_assert_nonnull (strstr (r2.err, "no longer yours"));
  }
  {
    g_auto (NsTestRun) r = { 0 }, r2 = { 0 };
    run_cmd (&r, "queue", "release", "TeamA", "--token", token2, NULL);
    g_assert_cmpint (r.status, ==, 0);
    run_cmd (&r2, "queue", "claims", NULL);
    g_assert_cmpint (r2.status, ==, 0);
    g_assert_cmpstr (r2.out, ==, "");
  }
  {
    /* Review: the author is refused; sending back needs a note. */
    g_auto (NsTestRun) r = { 0 }, r2 = { 0 }, r3 = { 0 }, r4 = { 0 }, r5 = { 0 };
    run_cmd (&r, "queue", "review", "TeamA", "accept", "--who", "ann", NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_one_line (r.err);
    run_cmd (&r2, "queue", "review", "TeamA", "maybe", NULL);
    g_assert_cmpint (r2.status, ==, 2);
    run_cmd (&r3, "queue", "review", "TeamA", "accept", "--who", "rev", NULL);
    g_assert_cmpint (r3.status, ==, 0);
    g_assert_nonnull (strstr (r3.out, "accepted TeamA"));
    run_cmd (&r4, "queue", "review", "TeamB", "send-back", "--who", "rev", NULL);
    g_assert_cmpint (r4.status, ==, 1);
    run_cmd (&r5, "queue", "review", "TeamB", "send-back", "--who", "rev", "--note", "edema",
             NULL);
    g_assert_cmpint (r5.status, ==, 0);
    g_auto (NsTestRun) r6 = { 0 };
    run_cmd (&r6, "queue", "list", NULL);
    g_assert_nonnull (strstr (r6.out, "accepted by rev"));
    g_assert_nonnull (strstr (r6.out, "sent back by rev"));
  }
  {
    g_autofree char *out = tmp_path ("team-export");
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "export", out, "--accepted-only", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "exported 1 case"));
    g_autofree char *lab = g_build_filename (out, "labelsTr", "TeamA.nii.gz", NULL);
    g_assert_true (g_file_test (lab, G_FILE_TEST_IS_REGULAR));
  }
  {
    /* The stored mask, written out; an existing file is left alone. */
    g_autofree char *out = tmp_path ("team-mask.nii.gz");
    g_auto (NsTestRun) r = { 0 }, r2 = { 0 };
    run_cmd (&r, "queue", "mask", "TeamB", out, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_autoptr (GError) error = NULL;
    g_autoptr (NsVolume) got = ns_nifti_read (out, &error);
    g_assert_no_error (error);
    g_autoptr (NsVolume) want = ns_nifti_read (mask_b, &error);
    g_assert_no_error (error);
    g_assert_cmpmem (got->voxels, 12 * 12 * 6 * sizeof (float), want->voxels,
                     12 * 12 * 6 * sizeof (float));
    run_cmd (&r2, "queue", "mask", "TeamB", out, NULL);
    g_assert_cmpint (r2.status, ==, 1);
    assert_one_line (r2.err);
  }
  {
    /* The one command of docs/scale.md on a server (as its owner); a file is refused,
     * saying so (test-data-team /data/team/roles tries the roles). */
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "setup-team", NULL);
    if (ns_test_db_is_server ())
      {
        g_assert_cmpint (r.status, ==, 0);
        g_assert_nonnull (strstr (r.out, "neuroseg_team"));
        g_assert_cmpint (ns_test_sql_int (db_path, "SELECT count(*) FROM pg_roles WHERE "
                                          "rolname LIKE 'neuroseg_%'"), ==, 2);
      }
    else
      {
        g_assert_cmpint (r.status, ==, 1);
        assert_one_line (r.err);
        g_assert_nonnull (strstr (r.err, db_path));
      }
  }
  g_free (db_path);
  db_path = g_steal_pointer (&saved);
}

static void
migrate (NsTestRun *run, const char *from, const char *to, gboolean replace)
{
  const char *args[] = { "queue", "migrate", "--db", from, "--to", to,
                         replace ? "--replace" : NULL, NULL };

  ns_test_run_neuroseg_strv (run, args);
}

static void
test_migrate (void)
{
  g_autofree char *saved = db_path;
  g_autofree char *a = ns_test_write_case ("MigA", 12, 12, 6, TRUE);
  g_autofree char *b = ns_test_write_case ("MigB", 12, 12, 6, TRUE);
  g_autofree char *mask_a = g_build_filename (a, "MigA_seg.nii.gz", NULL);
  g_autofree char *mask_b = g_build_filename (b, "MigB_seg.nii.gz", NULL);
  g_autofree char *source = g_build_filename (ns_test_tmpdir (), "migrate", "neuroseg.db",
                                              NULL);
  g_autofree char *target = ns_test_db_is_server ()
                              ? ns_test_fresh_location (NULL)
                              : g_build_filename (ns_test_tmpdir (), "migrate", "team.db",
                                                  NULL);
  g_autofree char *source_sum = NULL;

  /* a workstation's queue: two corrections, one claimed, one reviewed */
  db_path = g_strdup (source);
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "add", a, "--mask", mask_a, "--who", "ann", NULL);
    g_assert_cmpint (r.status, ==, 0);
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "add", b, "--mask", mask_b, "--who", "ann", NULL);
    g_assert_cmpint (r.status, ==, 0);
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "claim", "MigA", "--who", "bob", "--lease", "3600", NULL);
    g_assert_cmpint (r.status, ==, 0);
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "queue", "review", "MigB", "accept", "--who", "rev", NULL);
    g_assert_cmpint (r.status, ==, 0);
  }
  source_sum = ns_test_file_sum (source);

  {
    g_auto (NsTestRun) r = { 0 };
    const char *args[] = { "queue", "migrate", "--db", source, NULL };
    ns_test_run_neuroseg_strv (&r, args);
    g_assert_cmpint (r.status, ==, 2);
    g_assert_nonnull (strstr (r.err, "--to LOCATION is required"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    migrate (&r, source, target, FALSE);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "every table verified"));
    g_assert_nonnull (strstr (r.out, "annotation_masks"));
  }
  /* the team's database shows the workstation's queue, claim and review */
  {
    g_auto (NsTestRun) r = { 0 };
    const char *args[] = { "queue", "claims", "--db", target, NULL };
    ns_test_run_neuroseg_strv (&r, args);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "MigA"));
    g_assert_nonnull (strstr (r.out, "bob"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    const char *args[] = { "queue", "list", "--json", "--db", target, NULL };
    ns_test_run_neuroseg_strv (&r, args);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "MigB"));
    g_assert_nonnull (strstr (r.out, "accepted"));
  }
  /* the stored mask comes back from the target */
  {
    g_auto (NsTestRun) r = { 0 };
    g_autofree char *out = g_build_filename (ns_test_tmpdir (), "migrate", "MigA-mask.nii.gz",
                                             NULL);
    const char *args[] = { "queue", "mask", "MigA", out, "--db", target, NULL };
    ns_test_run_neuroseg_strv (&r, args);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_true (g_file_test (out, G_FILE_TEST_IS_REGULAR));
  }
  /* again: refused, the target not empty; --replace copies over it */
  {
    g_auto (NsTestRun) r = { 0 };
    migrate (&r, source, target, FALSE);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "not empty"));
    assert_one_line (r.err);
  }
  {
    g_auto (NsTestRun) r = { 0 };
    migrate (&r, source, target, TRUE);
    g_assert_cmpint (r.status, ==, 0);
  }
  /* the source is as it was */
  {
    g_autofree char *after = ns_test_file_sum (source);
    g_assert_cmpstr (after, ==, source_sum);
  }
  db_path = g_steal_pointer (&saved);
}

/* An interactive correction model registers (the Refine tool finds it in the registry)
 * but is never the default segmentation model, not even forced: segment and Run Model
 * could not run it.  `models show` prints its metrics as lines, not as "\n" escapes. */
static void
test_models_interactive (void)
{
  g_autofree char *saved = db_path;
  db_path = tmp_path ("interactive.db");
  g_autofree char *path = ns_test_write_random_interactive_model ("interactive.safetensors", 7);

  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "register", path, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "version 1"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "promote", "1", "--force", "--yes", NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_one_line (r.err);
    g_assert_nonnull (strstr (r.err, "cannot be the default"));
    g_assert_nonnull (strstr (r.err, "interactive correction model"));
    g_autoptr (JsonObject) m1 = model_json ("1");
    g_assert_false (json_object_get_boolean_member (m1, "default"));
    g_assert_cmpstr (json_object_get_string_member (m1, "kind"), ==, "interactive");
    g_autoptr (JsonObject) m0 = model_json ("0");
    g_assert_cmpstr (json_object_get_string_member (m0, "kind"), ==, "segmentation");
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "list", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "interactive.safetensors  (interactive: the Refine tool's)"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "show", "1", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_null (strstr (r.out, "\\n"));
    g_assert_nonnull (strstr (r.out, "kind         interactive correction model"));
    g_assert_nonnull (strstr (r.out, "\n               \"cases_used\" : 0"));
  }
  g_free (db_path);
  db_path = g_steal_pointer (&saved);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ns_test_db_init ();
  db_path = g_build_filename (ns_test_tmpdir (), "db", "neuroseg.db", NULL);
  g_test_add_func ("/cli/queue/queue", test_queue);
  g_test_add_func ("/cli/queue/bad-database", test_bad_database);
  g_test_add_func ("/cli/queue/models", test_models);
  g_test_add_func ("/cli/queue/models-interactive", test_models_interactive);
  g_test_add_func ("/cli/queue/readonly-folder", test_readonly_folder);
  g_test_add_func ("/cli/queue/printable", test_printable);
  g_test_add_func ("/cli/queue/bad-numbers", test_bad_numbers);
  g_test_add_func ("/cli/queue/team", test_team);
  g_test_add_func ("/cli/queue/migrate", test_migrate);
  return g_test_run ();
}
