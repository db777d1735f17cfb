/* SPDX-License-Identifier: MIT
 *
 * test-cli-queue.c: `neuroseg queue ...` and `neuroseg models ...` as a user runs them
 * (the binary from $NEUROSEG), on a database in a temporary folder: adding the bundled
 * case with a corrected mask and a shifted prediction (effort and edited voxels checked
 * against a count made here), a synthetic second case, sorting, exclude / requeue /
 * remove, export, and the registry with real checkpoints written here: register (a
 * truncated file is recorded as failed and refused), promote (side-by-side comparison,
 * refused without --yes when there is no terminal), roll back.  Errors are one line and
 * exit 1 (2 for bad usage).
 */
#include "ns-test-util.h"
#include "ns-checkpoint.h"
#include "ns-labels.h"
#include "ns-metrics.h"
#include "ns-nifti.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/wait.h>

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

static void
test_models (void)
{
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
    run_cmd (&r, "models", "promote", "3", "--yes", NULL);
    g_assert_cmpint (r.status, ==, 1);
    assert_one_line (r.err);
  }
  {
    /* No terminal, no --yes: the comparison is shown, nothing changes. */
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "promote", "1", NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.out, "candidate v1"));
    g_assert_nonnull (strstr (r.err, "--yes"));
    g_autoptr (JsonObject) m1 = model_json ("1");
    g_assert_false (json_object_get_boolean_member (m1, "default"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "promote", "1", "--yes", NULL);
    g_assert_cmpint (r.status, ==, 0);
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "promote", "v2", "--yes", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "current v1"));
    g_assert_nonnull (strstr (r.out, "candidate v2"));
    g_assert_nonnull (strstr (r.out, "+0.0500"));    /* WT */
    g_assert_nonnull (strstr (r.out, "-0.0200"));    /* ET */
    g_assert_nonnull (strstr (r.out, "both were validated on the same cases"));
    g_assert_null (strstr (r.out, "WARNING"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "list", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, " * v2"));
    g_assert_nonnull (strstr (r.out, "failed"));
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
    /* Validated on other cases: said so. */
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "register", c, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "version 4"));
  }
  {
    g_auto (NsTestRun) r = { 0 };
    run_cmd (&r, "models", "promote", "4", "--yes", NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.out, "WARNING: the validation cases differ"));
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

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  db_path = g_build_filename (ns_test_tmpdir (), "db", "neuroseg.db", NULL);
  g_test_add_func ("/cli/queue/queue", test_queue);
  g_test_add_func ("/cli/queue/bad-database", test_bad_database);
  g_test_add_func ("/cli/queue/models", test_models);
  return g_test_run ();
}
