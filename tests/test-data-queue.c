/* SPDX-License-Identifier: MIT
 *
 * test-data-queue.c: the fine-tuning queue and model registry (data/ns-queue.h) on small
 * synthetic cases: schema creation and migration from a version-1 database written by a
 * fixture of the old schema, refusal of newer or broken files, adding cases with effort
 * computed from a prediction, sorting for active learning, states and their history,
 * the nnU-Net export (hard links, compression of .nii, 4-D files, consecutive labels,
 * sources untouched), the registry (failed models, promote, roll back, changed files),
 * and reliability: two processes writing at once, SIGKILL during writes, a trainer that
 * dies mid-run.
 */
#include "ns-test-util.h"
#include "ns-data-error.h"
#include "ns-nifti.h"
#include "ns-queue.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <nifti1_io.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NX 16
#define NY 16
#define NZ 8
#define NVOX (NX * NY * NZ)

static int counter;

/* A fresh path under the temporary folder. */
static char *
fresh_path (const char *stem)
{
  g_autofree char *name = g_strdup_printf ("%d-%s", ++counter, stem);
  return g_build_filename (ns_test_tmpdir (), name, NULL);
}

static void
grid (NsGrid *g)
{
  ns_grid_init (g, NX, NY, NZ, 1.0, 1.0, 2.0);
}

static void
write_volume (const char *path, float base)
{
  g_autoptr (GError) error = NULL;
  NsGrid g;
  grid (&g);
  g_autoptr (NsVolume) v = ns_volume_new (&g, &error);
  g_assert_no_error (error);
  for (int i = 0; i < NVOX; i++)
    v->voxels[i] = base + (float) (i % 97);
  g_assert_true (ns_nifti_write_volume (v, path, &error));
  g_assert_no_error (error);
}

/* A label map: a box [lo, hi) of label 2 with a core of 4 in its first slice range. */
static void
write_mask (const char *path, int lo, int hi, gboolean with_core)
{
  g_autoptr (GError) error = NULL;
  NsGrid g;
  grid (&g);
  g_autoptr (NsLabelMap) m = ns_label_map_new (&g, &error);
  g_assert_no_error (error);
  for (int k = 2; k < 6; k++)
    for (int j = lo; j < hi; j++)
      for (int i = lo; i < hi; i++)
        m->labels[ns_grid_index (&g, i, j, k)] = (with_core && k == 3 && i == lo + 1) ? 4 : 2;
  g_assert_true (ns_nifti_write_label_map (m, path, &error));
  g_assert_no_error (error);
}

/* A BraTS-2018-style case folder with the four modalities (ext ".nii.gz" or ".nii"). */
static char *
make_case (const char *id, const char *ext)
{
  static const char *const mods[] = { "flair", "t1", "t1ce", "t2" };
  char *dir = g_build_filename (ns_test_tmpdir (), id, NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  for (int m = 0; m < 4; m++)
    {
      g_autofree char *name = g_strdup_printf ("%s_%s%s", id, mods[m], ext);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      write_volume (path, 100.0f * (m + 1));
    }
  return dir;
}

static NsQueue *
open_fresh (char **path_out)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = fresh_path ("queue.db");
  NsQueue *q = ns_queue_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (q);
  if (path_out != NULL)
    *path_out = g_steal_pointer (&path);
  return q;
}

static gint64
sql_int (const char *db_path, const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  gint64 v = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  sqlite3_close (db);
  return v;
}

/* ---- schema ------------------------------------------------------------------------- */

static void
test_open_creates (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = fresh_path ("deep");
  g_autofree char *path = g_build_filename (dir, "a", "b", "neuroseg.db", NULL);
  g_autoptr (NsQueue) q = ns_queue_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ns_queue_get_path (q), ==, path);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (sql_int (path, "PRAGMA user_version"), ==, NS_QUEUE_SCHEMA_VERSION);
  g_assert_true (ns_queue_check_integrity (q, &error));
  g_assert_no_error (error);

  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &st, NULL);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (st, 0), ==, "wal");
  sqlite3_finalize (st);
  sqlite3_close (db);

  /* Opening again changes nothing. */
  g_autoptr (NsQueue) q2 = ns_queue_open (path, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) list = ns_queue_list (q2, NS_QUEUE_SORT_ADDED, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 0);
}

static void
test_default_path (void)
{
  g_autofree char *old = g_strdup (g_getenv ("NEUROSEG_DATA_DIR"));
  g_setenv ("NEUROSEG_DATA_DIR", "/some/where", TRUE);
  g_autofree char *p = ns_queue_default_path ();
  g_assert_cmpstr (p, ==, "/some/where/neuroseg.db");
  g_unsetenv ("NEUROSEG_DATA_DIR");
  g_autofree char *q = ns_queue_default_path ();
  g_autofree char *want = g_build_filename (g_get_user_data_dir (), "neuroseg", "neuroseg.db",
                                            NULL);
  g_assert_cmpstr (q, ==, want);
  if (old != NULL)
    g_setenv ("NEUROSEG_DATA_DIR", old, TRUE);
}

/* The schema of version 1 as the first release wrote it (a fixture: kept literally here,
 * independent of the migrations in ns-queue.c), with some rows. */
static const char v1_fixture[] =
  "CREATE TABLE cases (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, case_id TEXT NOT NULL,"
  "  modalities TEXT NOT NULL, added TEXT NOT NULL);"
  "CREATE TABLE models (version INTEGER PRIMARY KEY, path TEXT NOT NULL, sha256 TEXT NOT NULL,"
  "  arch TEXT, parent INTEGER REFERENCES models(version), created TEXT NOT NULL,"
  "  metrics TEXT NOT NULL DEFAULT '{}');"
  "CREATE TABLE annotations (id INTEGER PRIMARY KEY,"
  "  case_ref INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,"
  "  mask_path TEXT NOT NULL, who TEXT NOT NULL, created TEXT NOT NULL,"
  "  model_version INTEGER REFERENCES models(version) ON DELETE SET NULL, effort REAL,"
  "  edited_voxels INTEGER);"
  "CREATE INDEX annotations_case ON annotations(case_ref);"
  "CREATE TABLE queue (case_ref INTEGER PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,"
  "  state TEXT NOT NULL CHECK (state IN ('queued', 'used', 'excluded')),"
  "  model_version INTEGER REFERENCES models(version), updated TEXT NOT NULL);"
  "CREATE TABLE runs (id INTEGER PRIMARY KEY, started TEXT NOT NULL, finished TEXT,"
  "  status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),"
  "  command TEXT, log_path TEXT, model_version INTEGER REFERENCES models(version));"
  "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);"
  "INSERT INTO models VALUES (1, '/m/v1.safetensors', 'aa', 'mobilenetv2-unet', NULL,"
  "  '2026-01-01T00:00:00Z', '{\"dice_wt\": 0.8, \"dice_tc\": 0.7, \"dice_et\": 0.6}');"
  "INSERT INTO models VALUES (2, '/m/v2.safetensors', 'bb', 'mobilenetv2-unet', 1,"
  "  '2026-02-01T00:00:00Z', '{\"dice_wt\": 0.85}');"
  "INSERT INTO settings VALUES ('default_model', '2');"
  "INSERT INTO cases VALUES (1, '/data/A', 'A', '[{\"modality\":\"flair\",\"file\":\"/data/A/"
  "A_flair.nii.gz\"}]', '2026-01-02T00:00:00Z');"
  "INSERT INTO cases VALUES (2, '/data/B', 'B', '[]', '2026-01-03T00:00:00Z');"
  "INSERT INTO annotations VALUES (1, 1, '/data/A/mask.nii.gz', 'ann', '2026-01-02T00:00:00Z',"
  "  1, 0.75, 1234);"
  "INSERT INTO annotations VALUES (2, 2, '/data/B/mask.nii.gz', 'ann', '2026-01-03T00:00:00Z',"
  "  NULL, NULL, NULL);"
  "INSERT INTO queue VALUES (1, 'used', 2, '2026-02-01T00:00:00Z');"
  "INSERT INTO queue VALUES (2, 'queued', NULL, '2026-01-03T00:00:00Z');"
  "INSERT INTO runs VALUES (1, '2026-01-31T00:00:00Z', '2026-02-01T00:00:00Z', 'succeeded',"
  "  'neuroseg train ...', '/logs/1.log', 2);"
  "PRAGMA user_version = 1;";

static void
test_migrate_v1 (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = fresh_path ("v1.db");
  sqlite3 *db = NULL;
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, v1_fixture, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  g_autoptr (NsQueue) q = ns_queue_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sql_int (path, "PRAGMA user_version"), ==, NS_QUEUE_SCHEMA_VERSION);
  g_assert_cmpint (sql_int (path, "SELECT count(*) FROM sqlite_master WHERE name = 'settings'"),
                   ==, 0);

  /* Cases, annotations and states survive, with the new columns empty. */
  g_autoptr (GPtrArray) list = ns_queue_list (q, NS_QUEUE_SORT_ADDED, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 2);
  NsQueueEntry *a = g_ptr_array_index (list, 0);
  g_assert_cmpstr (a->case_id, ==, "A");
  g_assert_cmpint (a->state, ==, NS_QUEUE_STATE_USED);
  g_assert_cmpint (a->used_by, ==, 2);
  g_assert_cmpfloat (a->effort, ==, 0.75);
  g_assert_cmpint (a->edited_voxels, ==, 1234);
  g_assert_true (isnan (a->uncertainty));
  g_assert_cmpint (a->model_version, ==, 1);
  NsQueueEntry *b = g_ptr_array_index (list, 1);
  g_assert_cmpint (b->state, ==, NS_QUEUE_STATE_QUEUED);
  g_assert_true (isnan (b->effort));
  g_assert_cmpint (b->edited_voxels, ==, -1);

  /* The state at migration is the first history entry. */
  g_autoptr (GPtrArray) hist = ns_queue_history (q, a->id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hist->len, ==, 1);
  g_assert_cmpint (((NsQueueHistoryItem *) hist->pdata[0])->state, ==, NS_QUEUE_STATE_USED);

  /* The default moved from settings to the flag, with a promotion logged. */
  g_autoptr (NsQueueModel) def = ns_queue_get_default_model (q, &error);
  g_assert_no_error (error);
  g_assert_nonnull (def);
  g_assert_cmpint (def->version, ==, 2);
  g_assert_cmpint (def->parent, ==, 1);
  g_assert_cmpint (def->status, ==, NS_QUEUE_MODEL_REGISTERED);
  g_assert_cmpfloat (def->dice[0], ==, 0.85);
  g_assert_true (isnan (def->dice[1]));
  g_autoptr (NsQueueModel) m1 = ns_queue_get_model (q, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (m1->dice[2], ==, 0.6);
  g_assert_false (m1->is_default);
  g_autoptr (GPtrArray) promos = ns_queue_list_promotions (q, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (promos->len, ==, 1);
  /* The fixture's model files do not exist: rolling back to one is refused, naming it. */
  int now_default = 0;
  g_assert_false (ns_queue_rollback (q, 1, "tester", &now_default, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "/m/v1.safetensors"));
  g_clear_error (&error);
  g_autoptr (NsQueueModel) still = ns_queue_get_default_model (q, &error);
  g_assert_cmpint (still->version, ==, 2);

  /* The old run is there with the new columns. */
  g_autoptr (NsQueueRun) run = ns_queue_get_run (q, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (run->status, ==, NS_QUEUE_RUN_SUCCEEDED);
  g_assert_cmpint (run->model_version, ==, 2);
  g_assert_cmpuint (run->cases->len, ==, 0);
  g_assert_true (ns_queue_check_integrity (q, &error));
}

static void
test_refuses_bad_files (void)
{
  g_autoptr (GError) error = NULL;

  /* A database from a newer neuroseg. */
  g_autofree char *newer = fresh_path ("newer.db");
  sqlite3 *db = NULL;
  g_assert_cmpint (sqlite3_open (newer, &db), ==, SQLITE_OK);
  sqlite3_exec (db, "CREATE TABLE x (a); PRAGMA user_version = 99;", NULL, NULL, NULL);
  sqlite3_close (db);
  NsQueue *q = ns_queue_open (newer, &error);
  g_assert_null (q);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED);
  g_assert_true (g_str_has_prefix (error->message, newer));
  g_assert_nonnull (strstr (error->message, "update neuroseg"));
  g_clear_error (&error);
  g_assert_cmpint (sql_int (newer, "PRAGMA user_version"), ==, 99);

  /* Not a database. */
  g_autofree char *junk = fresh_path ("junk.db");
  g_assert_true (g_file_set_contents (junk, "this is not an SQLite file at all, not at all, "
                                      "no, and it goes on long enough to have a header......",
                                      -1, NULL));
  q = ns_queue_open (junk, &error);
  g_assert_null (q);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
  g_assert_true (g_str_has_prefix (error->message, junk));
  g_assert_null (strchr (error->message, '\n'));
  g_clear_error (&error);

  /* A folder. */
  q = ns_queue_open (ns_test_tmpdir (), &error);
  g_assert_null (q);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, ns_test_tmpdir ()));
}

/* ---- cases ------------------------------------------------------------------------------ */

static NsQueueAnnotation
annotation (const char *mask, const char *pred, double uncertainty)
{
  NsQueueAnnotation a = { mask, pred, 0, "tester", uncertainty };
  return a;
}

static void
test_add_and_effort (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsQueue) q = open_fresh (NULL);
  g_autofree char *dir = make_case ("CaseAdd", ".nii.gz");
  g_autofree char *mask = fresh_path ("mask.nii.gz");
  g_autofree char *pred = fresh_path ("pred.nii.gz");
  /* Mask: box [4, 10)^2 x 4 slices = 144 voxels (6 of them label 4); prediction: box
   * [5, 11)^2 x 4, all label 2: overlap [5, 10)^2 x 4 = 100.  WT Dice = 200 / 288. */
  write_mask (mask, 4, 10, TRUE);
  write_mask (pred, 5, 11, FALSE);
  NsQueueAnnotation ann = annotation (mask, pred, 0.25);
  gint64 id = ns_queue_add (q, dir, &ann, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);

  g_autoptr (NsQueueEntry) e = ns_queue_find (q, "CaseAdd", &error);
  g_assert_no_error (error);
  g_assert_cmpint (e->id, ==, id);
  g_assert_cmpstr (e->path, ==, dir);
  g_assert_cmpint (e->state, ==, NS_QUEUE_STATE_QUEUED);
  g_assert_cmpfloat_with_epsilon (e->effort, 200.0 / 288.0, 1e-12);
  /* Differences: 44 mask-only + 44 prediction-only voxels, plus the 4 core voxels inside
   * the overlap that are 4 in the mask and 2 in the prediction (i = 5, j = 5..9... only
   * j in [5, 10): 5 voxels; i = lo + 1 = 5 is inside the prediction's box). */
  g_assert_cmpint (e->edited_voxels, ==, 44 + 44 + 5);
  g_assert_cmpfloat (e->uncertainty, ==, 0.25);
  g_assert_cmpstr (e->who, ==, "tester");
  g_assert_cmpint (e->n_annotations, ==, 1);
  g_assert_nonnull (strstr (e->modalities, "CaseAdd_t1ce.nii.gz"));
  g_assert_nonnull (strstr (e->modalities, "\"t1c\""));

  /* Find by path and by row id too. */
  g_autoptr (NsQueueEntry) by_path = ns_queue_find (q, dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (by_path->id, ==, id);
  g_autofree char *id_text = g_strdup_printf ("%" G_GINT64_FORMAT, id);
  g_autoptr (NsQueueEntry) by_id = ns_queue_find (q, id_text, &error);
  g_assert_no_error (error);
  g_assert_cmpint (by_id->id, ==, id);

  /* A second annotation of the same case: one case, two annotations, the latest shown. */
  NsQueueAnnotation again = annotation (mask, NULL, NAN);
  g_assert_cmpint (ns_queue_add (q, dir, &again, &error), ==, id);
  g_assert_no_error (error);
  g_autoptr (NsQueueEntry) e2 = ns_queue_find (q, "CaseAdd", &error);
  g_assert_cmpint (e2->n_annotations, ==, 2);
  g_assert_true (isnan (e2->effort));
  g_assert_cmpint (e2->edited_voxels, ==, -1);

  /* Errors name the file. */
  g_autofree char *small = fresh_path ("small.nii.gz");
  {
    NsGrid g;
    ns_grid_init (&g, 8, 8, 8, 1, 1, 1);
    g_autoptr (NsLabelMap) m = ns_label_map_new (&g, NULL);
    g_assert_true (ns_nifti_write_label_map (m, small, NULL));
  }
  NsQueueAnnotation bad = annotation (small, NULL, NAN);
  g_assert_cmpint (ns_queue_add (q, dir, &bad, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_assert_true (g_str_has_prefix (error->message, small));
  g_clear_error (&error);
  g_assert_cmpint (ns_queue_add (q, "/no/such/case", &ann, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "/no/such/case"));
  g_clear_error (&error);
  NsQueueAnnotation unknown_model = { mask, NULL, 7, NULL, NAN };
  g_assert_cmpint (ns_queue_add (q, dir, &unknown_model, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_autoptr (NsQueueEntry) e3 = ns_queue_find (q, "CaseAdd", &error);
  g_assert_cmpint (e3->n_annotations, ==, 2);
  g_assert_null (ns_queue_find (q, "NoSuchCase", &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
}

static void
test_sort (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsQueue) q = open_fresh (NULL);
  const char *ids[3] = { "SortA", "SortB", "SortC" };
  const double unc[3] = { 0.2, 0.9, NAN };
  const int pred_lo[3] = { 4, 6, 4 };  /* A: perfect prediction, B: shifted, C: none */
  g_autofree char *mask = fresh_path ("mask.nii.gz");
  write_mask (mask, 4, 10, FALSE);
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *dir = make_case (ids[i], ".nii.gz");
      g_autofree char *pred = fresh_path ("pred.nii.gz");
      write_mask (pred, pred_lo[i], pred_lo[i] + 6, FALSE);
      NsQueueAnnotation a = annotation (mask, i < 2 ? pred : NULL, unc[i]);
      g_assert_cmpint (ns_queue_add (q, dir, &a, &error), >, 0);
      g_assert_no_error (error);
    }
  struct { NsQueueSort sort; const char *want[3]; } cases[] = {
    { NS_QUEUE_SORT_ADDED, { "SortA", "SortB", "SortC" } },
    { NS_QUEUE_SORT_UNCERTAINTY, { "SortB", "SortA", "SortC" } },
    { NS_QUEUE_SORT_EFFORT, { "SortB", "SortA", "SortC" } },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr (GPtrArray) l = ns_queue_list (q, cases[c].sort, -1, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (l->len, ==, 3);
      for (int i = 0; i < 3; i++)
        g_assert_cmpstr (((NsQueueEntry *) l->pdata[i])->case_id, ==, cases[c].want[i]);
    }
  g_autoptr (NsQueueEntry) a = ns_queue_find (q, "SortA", &error);
  g_assert_cmpfloat (a->effort, ==, 1.0);
  g_assert_cmpint (a->edited_voxels, ==, 0);
}

static void
test_states (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsQueue) q = open_fresh (NULL);
  g_autofree char *dir = make_case ("CaseStates", ".nii.gz");
  g_autofree char *mask = fresh_path ("mask.nii.gz");
  write_mask (mask, 4, 10, FALSE);
  NsQueueAnnotation a = annotation (mask, NULL, NAN);
  gint64 id = ns_queue_add (q, dir, &a, &error);
  g_assert_no_error (error);

  g_assert_true (ns_queue_set_state (q, id, NS_QUEUE_STATE_EXCLUDED, 0, "tester", "blurry",
                                     &error));
  g_assert_no_error (error);
  g_autoptr (GPtrArray) queued = ns_queue_list (q, NS_QUEUE_SORT_ADDED, NS_QUEUE_STATE_QUEUED,
                                                &error);
  g_assert_cmpuint (queued->len, ==, 0);
  g_autoptr (GPtrArray) excluded = ns_queue_list (q, NS_QUEUE_SORT_ADDED,
                                                  NS_QUEUE_STATE_EXCLUDED, &error);
  g_assert_cmpuint (excluded->len, ==, 1);
  g_assert_true (ns_queue_set_state (q, id, NS_QUEUE_STATE_QUEUED, 0, NULL, NULL, &error));
  g_assert_no_error (error);

  /* USED needs a registered model. */
  g_assert_false (ns_queue_set_state (q, id, NS_QUEUE_STATE_USED, 3, NULL, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (ns_queue_set_state (q, id + 100, NS_QUEUE_STATE_EXCLUDED, 0, NULL, NULL,
                                      &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, ns_queue_get_path (q)));
  g_clear_error (&error);

  g_autoptr (GPtrArray) hist = ns_queue_history (q, id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hist->len, ==, 3);
  NsQueueHistoryItem *h1 = hist->pdata[1];
  g_assert_cmpint (h1->state, ==, NS_QUEUE_STATE_EXCLUDED);
  g_assert_cmpstr (h1->note, ==, "blurry");
  g_assert_cmpstr (h1->who, ==, "tester");

  /* Two cases with one case id: the id is ambiguous, the path is not. */
  g_autofree char *other_parent = fresh_path ("other");
  g_autofree char *other = g_build_filename (other_parent, "CaseStates", NULL);
  g_assert_cmpint (g_mkdir_with_parents (other_parent, 0755), ==, 0);
  g_autofree char *tmp_case = make_case ("CaseStatesTmp", ".nii.gz");
  g_assert_cmpint (g_rename (tmp_case, other), ==, 0);
  g_autofree char *flair_old = g_build_filename (other, "CaseStatesTmp_flair.nii.gz", NULL);
  g_assert_true (g_file_test (flair_old, G_FILE_TEST_EXISTS));
  g_assert_cmpint (ns_queue_add (q, other, &a, &error), >, 0);
  g_assert_no_error (error);
  g_assert_null (ns_queue_find (q, "CaseStates", &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_true (ns_queue_remove (q, id, &error));
  g_assert_no_error (error);
  g_autoptr (NsQueueEntry) left = ns_queue_find (q, "CaseStates", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (left->path, ==, other);
  g_autoptr (GPtrArray) gone = ns_queue_history (q, id, &error);
  g_assert_cmpuint (gone->len, ==, 0);
  g_assert_false (ns_queue_remove (q, id, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  /* The files are still there. */
  g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));
  g_assert_true (g_file_test (mask, G_FILE_TEST_IS_REGULAR));
}

/* ---- export ----------------------------------------------------------------------------- */

/* A 4-volume (MSD-style) file written with nifticlib. */
static char *
make_msd_case (const char *id)
{
  int dims[8] = { 4, NX, NY, NZ, 4, 1, 1, 1 };
  nifti_image *nim = nifti_make_new_nim (dims, DT_FLOAT32, 1);
  float *v = nim->data;
  for (gsize i = 0; i < (gsize) NVOX * 4; i++)
    v[i] = (float) (i / NVOX) * 1000.0f + (float) (i % NVOX);
  nim->pixdim[3] = nim->dz = 2.0f;
  g_autofree char *name = g_strdup_printf ("%s.nii.gz", id);
  char *path = g_build_filename (ns_test_tmpdir (), name, NULL);
  g_assert_cmpint (nifti_set_filenames (nim, path, 0, 1), ==, 0);
  nifti_image_write (nim);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  nifti_image_free (nim);
  return path;
}

static char *
file_sum (const char *path)
{
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
}

static void
test_export (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsQueue) q = open_fresh (NULL);
  g_autofree char *gz_case = make_case ("ExpGz", ".nii.gz");
  g_autofree char *nii_case = make_case ("ExpNii", ".nii");
  g_autofree char *msd_case = make_msd_case ("ExpMsd_001");
  g_autofree char *off_case = make_case ("ExpExcluded", ".nii.gz");
  g_autofree char *mask = fresh_path ("mask.nii.gz");
  write_mask (mask, 4, 10, TRUE);
  g_autofree char *mask_sum = file_sum (mask);
  g_autofree char *flair = g_build_filename (gz_case, "ExpGz_flair.nii.gz", NULL);
  g_autofree char *flair_sum = file_sum (flair);
  g_autofree char *msd_sum = file_sum (msd_case);

  NsQueueAnnotation a = annotation (mask, NULL, NAN);
  g_assert_cmpint (ns_queue_add (q, gz_case, &a, &error), >, 0);
  g_assert_cmpint (ns_queue_add (q, nii_case, &a, &error), >, 0);
  g_assert_cmpint (ns_queue_add (q, msd_case, &a, &error), >, 0);
  gint64 off = ns_queue_add (q, off_case, &a, &error);
  g_assert_no_error (error);
  g_assert_true (ns_queue_set_state (q, off, NS_QUEUE_STATE_EXCLUDED, 0, NULL, NULL, &error));

  g_autofree char *out = fresh_path ("export");
  guint n = 0;
  g_assert_true (ns_queue_export (q, out, NULL, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 3);

  /* dataset.json (nnU-Net v2) */
  g_autofree char *json_path = g_build_filename (out, "dataset.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, json_path, &error));
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (root, "numTraining"), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (root, "file_ending"), ==, ".nii.gz");
  JsonObject *ch = json_object_get_object_member (root, "channel_names");
  g_assert_cmpuint (json_object_get_size (ch), ==, 4);
  g_assert_cmpstr (json_object_get_string_member (ch, "0"), ==, "FLAIR");
  g_assert_cmpstr (json_object_get_string_member (ch, "1"), ==, "T1");
  g_assert_cmpstr (json_object_get_string_member (ch, "2"), ==, "T1ce");
  g_assert_cmpstr (json_object_get_string_member (ch, "3"), ==, "T2");
  g_assert_true (json_object_has_member (root, "modality"));
  JsonObject *labels = json_object_get_object_member (root, "labels");
  g_assert_cmpint (json_object_get_int_member (labels, "background"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (labels, "enhancing"), ==, 3);

  /* Images: the .nii.gz is a hard link to its source, the .nii was compressed, the 4-D
   * file was split; all decode to their sources' voxels. */
  g_autofree char *gz0 = g_build_filename (out, "imagesTr", "ExpGz_0000.nii.gz", NULL);
  GStatBuf s1, s2;
  g_assert_cmpint (g_stat (gz0, &s1), ==, 0);
  g_assert_cmpint (g_stat (flair, &s2), ==, 0);
  g_assert_cmpuint (s1.st_ino, ==, s2.st_ino);
  for (int c = 0; c < 4; c++)
    {
      static const char *const mods[] = { "flair", "t1", "t1ce", "t2" };
      g_autofree char *name = g_strdup_printf ("ExpNii_%04d.nii.gz", c);
      g_autofree char *exported = g_build_filename (out, "imagesTr", name, NULL);
      g_autofree char *src_name = g_strdup_printf ("ExpNii_%s.nii", mods[c]);
      g_autofree char *src = g_build_filename (nii_case, src_name, NULL);
      NsNiftiHeader hdr;
      g_assert_true (ns_nifti_read_header (exported, &hdr, &error));
      g_assert_true (hdr.compressed);
      g_autoptr (NsVolume) a1 = ns_nifti_read (exported, &error);
      g_autoptr (NsVolume) a2 = ns_nifti_read (src, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (a1->voxels, NVOX * 4, a2->voxels, NVOX * 4);

      g_autofree char *mname = g_strdup_printf ("ExpMsd_001_%04d.nii.gz", c);
      g_autofree char *mpath = g_build_filename (out, "imagesTr", mname, NULL);
      g_autoptr (NsVolume) mv = ns_nifti_read (mpath, &error);
      g_assert_no_error (error);
      g_assert_cmpfloat (mv->voxels[5], ==, c * 1000.0f + 5);
    }
  g_autofree char *excluded = g_build_filename (out, "imagesTr", "ExpExcluded_0000.nii.gz", NULL);
  g_assert_false (g_file_test (excluded, G_FILE_TEST_EXISTS));

  /* Labels made consecutive: 4 -> 3. */
  g_autofree char *lab = g_build_filename (out, "labelsTr", "ExpGz.nii.gz", NULL);
  g_autoptr (NsVolume) lv = ns_nifti_read (lab, &error);
  g_assert_no_error (error);
  guint64 hist[5] = { 0 };
  for (int i = 0; i < NVOX; i++)
    {
      g_assert_cmpfloat (lv->voxels[i], <=, 3);
      hist[(int) lv->voxels[i]]++;
    }
  g_assert_cmpuint (hist[3], ==, 6);
  g_assert_cmpuint (hist[2], ==, 144 - 6);

  /* Sources untouched. */
  g_autofree char *flair_sum2 = file_sum (flair);
  g_autofree char *mask_sum2 = file_sum (mask);
  g_autofree char *msd_sum2 = file_sum (msd_case);
  g_assert_cmpstr (flair_sum, ==, flair_sum2);
  g_assert_cmpstr (mask_sum, ==, mask_sum2);
  g_assert_cmpstr (msd_sum, ==, msd_sum2);

  /* Never into a folder that holds something. */
  g_assert_false (ns_queue_export (q, out, NULL, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, out));
  g_clear_error (&error);

  /* Chosen channels, copies instead of links. */
  g_autofree char *out2 = fresh_path ("export");
  char *mods[] = { (char *) "t1c", (char *) "flair", NULL };
  NsQueueExportOptions opt = { FALSE, mods, TRUE };
  g_assert_true (ns_queue_export (q, out2, &opt, &n, &error));
  g_assert_no_error (error);
  g_autofree char *c0 = g_build_filename (out2, "imagesTr", "ExpGz_0001.nii.gz", NULL);
  g_autofree char *c2 = g_build_filename (out2, "imagesTr", "ExpGz_0002.nii.gz", NULL);
  g_assert_cmpint (g_stat (c0, &s1), ==, 0);
  g_assert_cmpuint (s1.st_ino, !=, s2.st_ino);
  g_assert_false (g_file_test (c2, G_FILE_TEST_EXISTS));

  /* A mask gone since it was queued: the export fails naming it and leaves nothing. */
  g_autofree char *gone_case = make_case ("ExpGone", ".nii.gz");
  g_autofree char *gone_mask = fresh_path ("mask.nii.gz");
  write_mask (gone_mask, 4, 10, FALSE);
  NsQueueAnnotation g = annotation (gone_mask, NULL, NAN);
  g_assert_cmpint (ns_queue_add (q, gone_case, &g, &error), >, 0);
  g_assert_cmpint (g_unlink (gone_mask), ==, 0);
  g_autofree char *parent = fresh_path ("export-parent");
  g_autofree char *out3 = g_build_filename (parent, "out", NULL);
  g_assert_false (ns_queue_export (q, out3, NULL, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, gone_mask));
  g_clear_error (&error);
  g_autoptr (GDir) d = g_dir_open (parent, 0, &error);
  g_assert_no_error (error);
  g_assert_null (g_dir_read_name (d));
}

/* ---- models -------------------------------------------------------------------------- */

static char *
fake_model (const char *content)
{
  char *path = fresh_path ("model.safetensors");
  g_assert_true (g_file_set_contents (path, content, -1, NULL));
  return path;
}

static void
test_models (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsQueue) q = open_fresh (NULL);
  g_autofree char *p1 = fake_model ("model one");
  g_autofree char *p2 = fake_model ("model two");
  g_autofree char *p3 = fake_model ("broken");

  g_autofree char *none = ns_queue_dup_default_model_path (q, &error);
  g_assert_no_error (error);
  g_assert_null (none);
  g_autofree char *nowhere = fresh_path ("absent.db");
  g_autofree char *none2 = ns_queue_lookup_default_model (nowhere, &error);
  g_assert_no_error (error);
  g_assert_null (none2);
  g_assert_false (g_file_test (nowhere, G_FILE_TEST_EXISTS));

  NsQueueModelInfo i1 = { p1, "mobilenetv2-unet", 0,
                          "{\"dice_wt\": 0.8, \"dice_tc\": 0.7, \"dice_et\": 0.6}", 0, NULL };
  g_assert_cmpint (ns_queue_register_model (q, &i1, &error), ==, 1);
  g_assert_no_error (error);
  NsQueueModelInfo i2 = { p2, "mobilenetv2-unet", 1, "{\"dice_wt\": 0.82}", 0, NULL };
  g_assert_cmpint (ns_queue_register_model (q, &i2, &error), ==, 2);
  NsQueueModelInfo i3 = { p3, NULL, 0, NULL, 0, "bad header" };
  g_assert_cmpint (ns_queue_register_model (q, &i3, &error), ==, 3);
  g_assert_no_error (error);

  /* Refused registrations change nothing. */
  NsQueueModelInfo bad_parent = { p1, NULL, 42, NULL, 0, NULL };
  g_assert_cmpint (ns_queue_register_model (q, &bad_parent, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  NsQueueModelInfo bad_metrics = { p1, NULL, 0, "[1, 2]", 0, NULL };
  g_assert_cmpint (ns_queue_register_model (q, &bad_metrics, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);
  NsQueueModelInfo missing = { "/no/such/model.safetensors", NULL, 0, NULL, 0, NULL };
  g_assert_cmpint (ns_queue_register_model (q, &missing, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "/no/such/model.safetensors"));
  g_clear_error (&error);
  g_autofree char *p1_copy = fake_model ("model one");
  NsQueueModelInfo dup = { p1_copy, NULL, 0, NULL, 0, NULL };
  g_assert_cmpint (ns_queue_register_model (q, &dup, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "version 1"));
  g_clear_error (&error);
  g_autoptr (GPtrArray) models = ns_queue_list_models (q, &error);
  g_assert_cmpuint (models->len, ==, 3);

  NsQueueModel *m1 = models->pdata[0];
  g_autofree char *sum1 = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "model one", -1);
  g_assert_cmpstr (m1->sha256, ==, sum1);
  g_assert_cmpstr (m1->path, ==, p1);
  g_assert_cmpfloat (m1->dice[0], ==, 0.8);
  g_assert_cmpfloat (m1->dice[2], ==, 0.6);
  NsQueueModel *m2 = models->pdata[1];
  g_assert_cmpint (m2->parent, ==, 1);
  g_assert_true (isnan (m2->dice[1]));
  NsQueueModel *m3 = models->pdata[2];
  g_assert_cmpint (m3->status, ==, NS_QUEUE_MODEL_FAILED);
  g_assert_cmpstr (m3->error, ==, "bad header");
  g_assert_cmpint (ns_queue_find_model_by_path (q, p2, &error), ==, 2);
  g_assert_cmpint (ns_queue_find_model_by_path (q, p3, &error), ==, 0);

  /* A failed model is never the default. */
  g_assert_false (ns_queue_promote (q, 3, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "bad header"));
  g_clear_error (&error);
  g_assert_false (ns_queue_rollback (q, 0, NULL, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_true (ns_queue_promote (q, 1, "tester", &error));
  g_assert_no_error (error);
  g_autofree char *d1 = ns_queue_dup_default_model_path (q, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (d1, ==, p1);
  g_assert_false (ns_queue_promote (q, 1, NULL, &error));
  g_clear_error (&error);
  g_assert_false (ns_queue_rollback (q, 0, NULL, NULL, &error));  /* only one default ever */
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_true (ns_queue_promote (q, 2, "tester", &error));
  g_autofree char *d2 = ns_queue_dup_default_model_path (q, &error);
  g_assert_cmpstr (d2, ==, p2);
  g_autofree char *d2b = ns_queue_lookup_default_model (ns_queue_get_path (q), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (d2b, ==, p2);

  int now = 0;
  g_assert_true (ns_queue_rollback (q, 0, "tester", &now, &error));
  g_assert_no_error (error);
  g_assert_cmpint (now, ==, 1);
  g_assert_true (ns_queue_rollback (q, 2, "tester", &now, &error));
  g_assert_no_error (error);
  g_assert_cmpint (now, ==, 2);
  g_autoptr (GPtrArray) promos = ns_queue_list_promotions (q, &error);
  g_assert_cmpuint (promos->len, ==, 4);
  NsQueuePromotion *last = promos->pdata[3];
  g_assert_cmpstr (last->action, ==, "rollback");
  g_assert_cmpint (last->version, ==, 2);
  g_assert_cmpint (last->previous, ==, 1);

  /* Exactly one default. */
  g_autoptr (GPtrArray) after = ns_queue_list_models (q, &error);
  int n_default = 0;
  for (guint i = 0; i < after->len; i++)
    n_default += ((NsQueueModel *) after->pdata[i])->is_default;
  g_assert_cmpint (n_default, ==, 1);

  /* The default's file changed or vanished: reported, never used. */
  g_assert_true (g_file_set_contents (p2, "model two, overwritten", -1, NULL));
  g_autofree char *changed = ns_queue_dup_default_model_path (q, &error);
  g_assert_null (changed);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
  g_assert_true (g_str_has_prefix (error->message, p2));
  g_clear_error (&error);
  g_assert_cmpint (g_unlink (p2), ==, 0);
  g_autofree char *gone = ns_queue_dup_default_model_path (q, &error);
  g_assert_null (gone);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
}

/* ---- runs --------------------------------------------------------------------------- */

static gint64
queued_case (NsQueue *q, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = make_case (id, ".nii.gz");
  g_autofree char *mask = fresh_path ("mask.nii.gz");
  write_mask (mask, 4, 10, FALSE);
  NsQueueAnnotation a = annotation (mask, NULL, NAN);
  gint64 row = ns_queue_add (q, dir, &a, &error);
  g_assert_no_error (error);
  return row;
}

static void
test_run_registers (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsQueue) q = open_fresh (NULL);
  gint64 cases[2] = { queued_case (q, "RunA"), queued_case (q, "RunB") };
  gint64 excluded = queued_case (q, "RunC");
  g_assert_true (ns_queue_set_state (q, excluded, NS_QUEUE_STATE_EXCLUDED, 0, NULL, NULL, &error));
  g_autofree char *model = fake_model ("trained");

  gint64 run = ns_queue_run_begin (q, "neuroseg train ...", "/tmp/log", cases, 2, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (run, >, 0);
  /* A case that vanished meanwhile is excluded by hand before the end of training. */
  g_assert_true (ns_queue_set_state (q, cases[1], NS_QUEUE_STATE_EXCLUDED, 0, NULL, NULL,
                                     &error));

  /* A registration that fails (unknown parent) leaves run, queue and registry as they were. */
  NsQueueModelInfo bad = { model, "unet", 9, NULL, run, NULL };
  g_assert_cmpint (ns_queue_register_model (q, &bad, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_autoptr (NsQueueRun) r0 = ns_queue_get_run (q, run, &error);
  g_assert_cmpint (r0->status, ==, NS_QUEUE_RUN_RUNNING);
  g_assert_cmpuint (r0->cases->len, ==, 2);
  g_autoptr (GPtrArray) m0 = ns_queue_list_models (q, &error);
  g_assert_cmpuint (m0->len, ==, 0);

  NsQueueModelInfo info = { model, "unet", 0, "{\"dice_wt\": 0.5}", run, NULL };
  int v = ns_queue_register_model (q, &info, &error);
  g_assert_no_error (error);
  g_assert_cmpint (v, ==, 1);
  g_autoptr (NsQueueRun) r = ns_queue_get_run (q, run, &error);
  g_assert_cmpint (r->status, ==, NS_QUEUE_RUN_SUCCEEDED);
  g_assert_cmpint (r->model_version, ==, 1);
  g_assert_nonnull (r->finished);
  g_autoptr (NsQueueEntry) a = ns_queue_find (q, "RunA", &error);
  g_assert_cmpint (a->state, ==, NS_QUEUE_STATE_USED);
  g_assert_cmpint (a->used_by, ==, 1);
  g_autoptr (NsQueueEntry) b = ns_queue_find (q, "RunB", &error);
  g_assert_cmpint (b->state, ==, NS_QUEUE_STATE_EXCLUDED);
  g_autoptr (NsQueueModel) m = ns_queue_get_model (q, 1, &error);
  g_assert_cmpint (m->run_id, ==, run);

  /* A finished run produces nothing more and cannot finish twice. */
  g_assert_cmpint (ns_queue_register_model (q, &info, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (ns_queue_run_finish (q, run, NS_QUEUE_RUN_CANCELLED, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);

  /* Another run may reproduce the same file: still its own version. */
  gint64 run3 = ns_queue_run_begin (q, "neuroseg train again", NULL, NULL, 0, 0, &error);
  NsQueueModelInfo same = { model, "unet", 1, NULL, run3, NULL };
  g_assert_cmpint (ns_queue_register_model (q, &same, &error), ==, 2);
  g_assert_no_error (error);

  gint64 run2 = ns_queue_run_begin (q, "neuroseg train", NULL, NULL, 0, 0, &error);
  g_assert_true (ns_queue_run_finish (q, run2, NS_QUEUE_RUN_CANCELLED, "stopped by user",
                                      &error));
  g_autoptr (NsQueueRun) r2 = ns_queue_get_run (q, run2, &error);
  g_assert_cmpint (r2->status, ==, NS_QUEUE_RUN_CANCELLED);
  g_assert_cmpstr (r2->error, ==, "stopped by user");
}

/* ---- several processes -------------------------------------------------------------- */

/* Child: opens its own connection (never one inherited across fork), adds n runs. */
static int
writer_child (const char *path, int writer, int n)
{
  g_autoptr (GError) error = NULL;
  NsQueue *q = ns_queue_open (path, &error);
  if (q == NULL)
    {
      g_printerr ("writer %d: %s\n", writer, error->message);
      return 1;
    }
  for (int i = 0; i < n; i++)
    {
      g_autofree char *cmd = g_strdup_printf ("writer %d row %d", writer, i);
      if (ns_queue_run_begin (q, cmd, NULL, NULL, 0, 0, &error) == 0)
        {
          g_printerr ("writer %d: %s\n", writer, error->message);
          return 1;
        }
    }
  ns_queue_close (q);
  return 0;
}

static void
test_concurrent_writers (void)
{
  g_autofree char *path = fresh_path ("concurrent.db");
  int sync_pipe[2];
  pid_t pids[2];

  g_assert_cmpint (pipe (sync_pipe), ==, 0);
  for (int w = 0; w < 2; w++)
    {
      pids[w] = fork ();
      g_assert_cmpint (pids[w], >=, 0);
      if (pids[w] == 0)
        {
          /* Both start together: wait until the parent closes the pipe. */
          char c;
          close (sync_pipe[1]);
          while (read (sync_pipe[0], &c, 1) > 0)
            ;
          _exit (writer_child (path, w, 200));
        }
    }
  close (sync_pipe[0]);
  close (sync_pipe[1]);
  for (int w = 0; w < 2; w++)
    {
      int status;
      g_assert_cmpint (waitpid (pids[w], &status, 0), ==, pids[w]);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 0);
    }

  g_autoptr (GError) error = NULL;
  g_autoptr (NsQueue) q = ns_queue_open (path, &error);
  g_assert_no_error (error);
  g_assert_true (ns_queue_check_integrity (q, &error));
  g_autoptr (GPtrArray) runs = ns_queue_list_runs (q, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (runs->len, ==, 400);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < runs->len; i++)
    g_hash_table_add (seen, ((NsQueueRun *) runs->pdata[i])->command);
  for (int w = 0; w < 2; w++)
    for (int i = 0; i < 200; i++)
      {
        g_autofree char *cmd = g_strdup_printf ("writer %d row %d", w, i);
        g_assert_true (g_hash_table_contains (seen, cmd));
      }
}

/* Child of test_sigkill_during_writes: writes forever, reporting each committed run id. */
static void G_GNUC_NORETURN
kill_child (const char *path, int round, int fd)
{
  NsQueue *q = ns_queue_open (path, NULL);
  if (q == NULL)
    _exit (1);
  for (int i = 0;; i++)
    {
      g_autofree char *cmd = g_strdup_printf ("round %d loop %d", round, i);
      gint64 one = 1;
      gint64 id = ns_queue_run_begin (q, cmd, "/tmp/x.log", &one, 1, 0, NULL);
      if (id == 0)
        _exit (2);
      /* Toggle the case too, so that kills land in several kinds of write. */
      ns_queue_set_state (q, 1, i % 2 ? NS_QUEUE_STATE_QUEUED : NS_QUEUE_STATE_EXCLUDED, 0,
                          NULL, NULL, NULL);
      /* Committed: report it. */
      if (write (fd, &id, sizeof id) != sizeof id)
        _exit (3);
    }
}

static void
test_sigkill_during_writes (void)
{
  g_autofree char *path = fresh_path ("killed.db");
  g_autoptr (GError) error = NULL;
  static const guint kill_after[] = { 37, 150, 301 };

  /* The database exists with a queued case before the children start. */
  {
    g_autoptr (NsQueue) q = ns_queue_open (path, &error);
    g_assert_no_error (error);
    queued_case (q, "KillCase");
  }
  for (guint round = 0; round < G_N_ELEMENTS (kill_after); round++)
    {
      int p[2];
      g_assert_cmpint (pipe (p), ==, 0);
      pid_t pid = fork ();
      g_assert_cmpint (pid, >=, 0);
      if (pid == 0)
        {
          close (p[0]);
          kill_child (path, round, p[1]);
        }
      close (p[1]);
      g_autoptr (GArray) committed = g_array_new (FALSE, FALSE, sizeof (gint64));
      gint64 id;
      while (committed->len < kill_after[round] && read (p[0], &id, sizeof id) == sizeof id)
        g_array_append_val (committed, id);
      g_assert_cmpuint (committed->len, ==, kill_after[round]);
      g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
      int status;
      g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
      g_assert_true (WIFSIGNALED (status));
      /* Whatever it reported before dying was committed too. */
      while (read (p[0], &id, sizeof id) == sizeof id)
        g_array_append_val (committed, id);
      close (p[0]);

      g_autoptr (NsQueue) q = ns_queue_open (path, &error);
      g_assert_no_error (error);
      g_assert_true (ns_queue_check_integrity (q, &error));
      g_assert_no_error (error);
      for (guint i = 0; i < committed->len; i++)
        {
          g_autoptr (NsQueueRun) r = ns_queue_get_run (q, g_array_index (committed, gint64, i),
                                                       &error);
          g_assert_no_error (error);
          g_assert_cmpuint (r->cases->len, ==, 1);
          g_autofree char *want = g_strdup_printf ("round %u loop %u", round, i);
          g_assert_cmpstr (r->command, ==, want);
          /* The killed process's runs are marked failed on open. */
          g_assert_cmpint (r->status, ==, NS_QUEUE_RUN_FAILED);
        }
      /* At most one more run than reported: killed between its commit and the report. */
      g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM runs WHERE command LIKE "
                                              "'round %u loop %%'", round);
      gint64 in_db = sql_int (path, sql);
      g_assert_cmpint (in_db, >=, committed->len);
      g_assert_cmpint (in_db, <=, committed->len + 1);
      g_assert_cmpint (sql_int (path, "SELECT count(*) FROM runs r WHERE NOT EXISTS "
                                "(SELECT 1 FROM run_cases c WHERE c.run_id = r.id)"), ==, 0);
      g_test_message ("round %u: %u committed writes reported before SIGKILL, all present",
                      round, committed->len);
    }
}

/* Two processes open a version-1 database at the same moment: one migrates, the other
 * finds it migrated. */
static void
test_concurrent_migration (void)
{
  g_autofree char *path = fresh_path ("v1-twice.db");
  sqlite3 *db = NULL;
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, v1_fixture, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  int sync_pipe[2];
  pid_t pids[2];
  g_assert_cmpint (pipe (sync_pipe), ==, 0);
  for (int w = 0; w < 2; w++)
    {
      pids[w] = fork ();
      g_assert_cmpint (pids[w], >=, 0);
      if (pids[w] == 0)
        {
          char c;
          close (sync_pipe[1]);
          while (read (sync_pipe[0], &c, 1) > 0)
            ;
          _exit (writer_child (path, w, 20));
        }
    }
  close (sync_pipe[0]);
  close (sync_pipe[1]);
  for (int w = 0; w < 2; w++)
    {
      int status;
      g_assert_cmpint (waitpid (pids[w], &status, 0), ==, pids[w]);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 0);
    }
  g_assert_cmpint (sql_int (path, "PRAGMA user_version"), ==, NS_QUEUE_SCHEMA_VERSION);
  /* The migration's one-off rows exist once. */
  g_assert_cmpint (sql_int (path, "SELECT count(*) FROM queue_history"), ==, 2);
  g_assert_cmpint (sql_int (path, "SELECT count(*) FROM promotions"), ==, 1);
  g_assert_cmpint (sql_int (path, "SELECT count(*) FROM runs"), ==, 1 + 40);
}

static void
test_trainer_crash (void)
{
  g_autofree char *path = fresh_path ("crash.db");
  g_autoptr (GError) error = NULL;
  gint64 case_row;
  g_autofree char *model = fake_model ("half-written model");

  {
    g_autoptr (NsQueue) q = ns_queue_open (path, &error);
    case_row = queued_case (q, "CrashCase");
    NsQueueModelInfo v1 = { model, "unet", 0, NULL, 0, NULL };
    g_assert_cmpint (ns_queue_register_model (q, &v1, &error), ==, 1);
    g_assert_true (ns_queue_promote (q, 1, NULL, &error));
    g_assert_no_error (error);
  }

  /* The trainer records its run, then dies before registering its model. */
  int p[2];
  g_assert_cmpint (pipe (p), ==, 0);
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      close (p[0]);
      NsQueue *q = ns_queue_open (path, NULL);
      gint64 run = q != NULL ? ns_queue_run_begin (q, "neuroseg train", NULL, &case_row, 1, 0,
                                                   NULL) : 0;
      if (write (p[1], &run, sizeof run) != sizeof run)
        _exit (3);
      for (;;)
        pause ();
    }
  close (p[1]);
  gint64 run = 0;
  g_assert_cmpint (read (p[0], &run, sizeof run), ==, sizeof run);
  close (p[0]);
  g_assert_cmpint (run, >, 0);

  /* While it lives, its run stays running for everyone else; our own run too. */
  {
    g_autoptr (NsQueue) q = ns_queue_open (path, &error);
    g_assert_no_error (error);
    g_autoptr (NsQueueRun) r = ns_queue_get_run (q, run, &error);
    g_assert_cmpint (r->status, ==, NS_QUEUE_RUN_RUNNING);
    g_assert_cmpint (r->pid, ==, pid);
    g_assert_cmpint (ns_queue_run_begin (q, "mine", NULL, NULL, 0, 0, &error), >, 0);
  }
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  int status;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);

  g_autoptr (NsQueue) q = ns_queue_open (path, &error);
  g_assert_no_error (error);
  g_autoptr (NsQueueRun) r = ns_queue_get_run (q, run, &error);
  g_assert_cmpint (r->status, ==, NS_QUEUE_RUN_FAILED);
  g_autofree char *why = g_strdup_printf ("process %d ended", pid);
  g_assert_nonnull (strstr (r->error, why));
  g_autoptr (GPtrArray) runs = ns_queue_list_runs (q, &error);
  g_assert_cmpint (((NsQueueRun *) runs->pdata[1])->status, ==, NS_QUEUE_RUN_RUNNING);
  /* Registry and queue as before the run. */
  g_autoptr (GPtrArray) models = ns_queue_list_models (q, &error);
  g_assert_cmpuint (models->len, ==, 1);
  g_autofree char *def = ns_queue_dup_default_model_path (q, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (def, ==, model);
  g_autoptr (NsQueueEntry) e = ns_queue_find (q, "CrashCase", &error);
  g_assert_cmpint (e->state, ==, NS_QUEUE_STATE_QUEUED);
  g_autoptr (GPtrArray) hist = ns_queue_history (q, case_row, &error);
  g_assert_cmpuint (hist->len, ==, 1);
  g_assert_cmpint (ns_queue_reap_stale_runs (q, &error), ==, 0);

  /* Our own run is alive: it has our pid and our start time.  With another start time
   * recorded, the pid belongs to a process that reused it, and the run is stale. */
  gint64 mine = ((NsQueueRun *) runs->pdata[1])->id;
  g_assert_cmpint (((NsQueueRun *) runs->pdata[1])->pid, ==, getpid ());
  g_assert_cmpint (sql_int (path, "SELECT count(*) FROM runs WHERE pid_start > 0"), ==, 2);
  sqlite3 *db = NULL;
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, "UPDATE runs SET pid_start = pid_start + 1 WHERE status = "
                                 "'running'", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
  g_assert_cmpint (ns_queue_reap_stale_runs (q, &error), ==, 1);
  g_assert_no_error (error);
  g_autoptr (NsQueueRun) reused = ns_queue_get_run (q, mine, &error);
  g_assert_cmpint (reused->status, ==, NS_QUEUE_RUN_FAILED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/queue/open-creates", test_open_creates);
  g_test_add_func ("/data/queue/default-path", test_default_path);
  g_test_add_func ("/data/queue/migrate-v1", test_migrate_v1);
  g_test_add_func ("/data/queue/refuses-bad-files", test_refuses_bad_files);
  g_test_add_func ("/data/queue/add-and-effort", test_add_and_effort);
  g_test_add_func ("/data/queue/sort", test_sort);
  g_test_add_func ("/data/queue/states", test_states);
  g_test_add_func ("/data/queue/export", test_export);
  g_test_add_func ("/data/queue/models", test_models);
  g_test_add_func ("/data/queue/run-registers", test_run_registers);
  g_test_add_func ("/data/queue/concurrent-writers", test_concurrent_writers);
  g_test_add_func ("/data/queue/sigkill-during-writes", test_sigkill_during_writes);
  g_test_add_func ("/data/queue/trainer-crash", test_trainer_crash);
  g_test_add_func ("/data/queue/concurrent-migration", test_concurrent_migration);
  return g_test_run ();
}
