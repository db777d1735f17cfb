/* SPDX-License-Identifier: MIT
 *
 * test-data-db.c: the database under the queue, the registry and the runs (data/ns-db.h),
 * on SQLite and (NS_TEST_DB=postgresql) on a real PostgreSQL server: schema creation,
 * refusal of a newer schema, writes through a read-only handle refused, and reliability:
 * two processes writing at once, SIGKILL during writes, two processes migrating at once.
 * SQLite only: migration from a version-1 database written by a fixture of the old schema
 * and from versions 2 and 3, refusal of broken files, read-only opening of files (a
 * missing database reads as empty and nothing is created; a read-only data folder, tried
 * as an unprivileged user since root ignores permissions, is read), the default location.
 */
#include "ns-test-queue.h"
#include "ns-test-util.h"

#include "ns-data-error.h"
#include "ns-queue.h"
#include "ns-registry.h"
#include "ns-runs.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- schema ------------------------------------------------------------------------- */

static void
test_open_creates (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = ns_test_fresh_path ("deep");
  g_autofree char *path = ns_test_db_is_server ()
    ? ns_test_fresh_location (NULL) : g_build_filename (dir, "a", "b", "neuroseg.db", NULL);
  g_autoptr (NsDb) q = ns_db_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ns_db_get_path (q), ==, path);
  g_assert_cmpstr (ns_db_get_backend_name (q), ==, ns_test_db_backend ());
  g_assert_true (ns_db_is_shared (q) == ns_test_db_is_server ());
  g_assert_false (ns_db_is_readonly (q));
  g_assert_cmpint (ns_test_schema_version (path), ==, NS_DB_SCHEMA_VERSION);
  g_assert_true (ns_db_check_integrity (q, &error));
  g_assert_no_error (error);
  if (ns_test_db_is_server ())
    {
      /* The same tables as SQLite's, with 64-bit ids the server assigns. */
      g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM pg_tables WHERE schemaname "
                                              "= current_schema()"), ==, 15);
      g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM information_schema.columns "
                                              "WHERE table_name = 'cases' AND column_name = 'id' "
                                              "AND data_type = 'bigint' AND is_identity = "
                                              "'YES'"), ==, 1);
      g_autoptr (NsDb) q2 = ns_db_open (path, &error);
      g_assert_no_error (error);
      g_assert_cmpint (ns_test_schema_version (path), ==, NS_DB_SCHEMA_VERSION);
      return;
    }
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM sqlite_master WHERE type = "
                                          "'table'"), ==, 14);

  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_prepare_v2 (db, "PRAGMA journal_mode", -1, &st, NULL);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  g_assert_cmpstr ((const char *) sqlite3_column_text (st, 0), ==, "wal");
  sqlite3_finalize (st);
  sqlite3_close (db);

  /* Opening again changes nothing. */
  g_autoptr (NsDb) q2 = ns_db_open (path, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) list = ns_queue_list (q2, NS_QUEUE_SORT_ADDED, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 0);
}

/* $NEUROSEG_DB, else the saved setting, else $NEUROSEG_DATA_DIR/neuroseg.db, else the user
 * data folder. */
static void
test_default_path (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *old = g_strdup (g_getenv ("NEUROSEG_DATA_DIR"));
  /* The configuration folder is this program's own (main). */
  g_unsetenv ("NEUROSEG_DB");

  g_setenv ("NEUROSEG_DATA_DIR", "/some/where", TRUE);
  g_autofree char *p = ns_db_dup_default_path ();
  g_assert_cmpstr (p, ==, "/some/where/neuroseg.db");
  g_assert_false (ns_db_location_is_server (NULL));
  g_unsetenv ("NEUROSEG_DATA_DIR");
  g_autofree char *q = ns_db_dup_default_path ();
  g_autofree char *want = g_build_filename (g_get_user_data_dir (), "neuroseg", "neuroseg.db",
                                            NULL);
  g_assert_cmpstr (q, ==, want);

  /* The setting (Preferences) names a server; $NEUROSEG_DB overrides it; "" forgets it. */
  g_assert_true (ns_db_save_default_location ("postgresql://db.example/neuroseg", &error));
  g_assert_no_error (error);
  g_autofree char *ini = g_build_filename (g_get_user_config_dir (), "neuroseg", "database.ini",
                                           NULL);
  g_assert_true (g_file_test (ini, G_FILE_TEST_IS_REGULAR));
  g_autofree char *s = ns_db_dup_default_path ();
  g_assert_cmpstr (s, ==, "postgresql://db.example/neuroseg");
  g_assert_true (ns_db_location_is_server (NULL));
  g_setenv ("NEUROSEG_DB", "/else/where.db", TRUE);
  g_autofree char *e = ns_db_dup_default_path ();
  g_assert_cmpstr (e, ==, "/else/where.db");
  g_setenv ("NEUROSEG_DB", "", TRUE);
  g_autofree char *e2 = ns_db_dup_default_path ();
  g_assert_cmpstr (e2, ==, "postgresql://db.example/neuroseg");
  g_assert_true (ns_db_save_default_location (NULL, &error));
  g_autofree char *back = ns_db_dup_default_path ();
  g_assert_cmpstr (back, ==, want);

  if (old != NULL)
    g_setenv ("NEUROSEG_DATA_DIR", old, TRUE);
}

/* The schema of version 1 as the first release wrote it (a fixture: kept literally here,
 * independent of the migrations in ns-db.c), with some rows. */
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

static char *
write_v1_fixture (const char *stem)
{
  char *path = ns_test_fresh_path (stem);
  ns_test_sql_exec (path, v1_fixture);
  return path;
}

static void
test_migrate_v1 (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = write_v1_fixture ("v1.db");

  g_autoptr (NsDb) q = ns_db_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ns_test_sql_int (path, "PRAGMA user_version"), ==, NS_DB_SCHEMA_VERSION);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM sqlite_master WHERE name = "
                                          "'settings'"), ==, 0);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM sqlite_master WHERE name = "
                                          "'validations'"), ==, 1);

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
  g_autoptr (GPtrArray) hist = ns_queue_list_history (q, a->id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hist->len, ==, 1);
  g_assert_cmpint (((NsQueueHistoryItem *) hist->pdata[0])->state, ==, NS_QUEUE_STATE_USED);

  /* The default moved from settings to the flag, with a promotion logged. */
  g_autoptr (NsRegistryModel) def = ns_registry_dup_default (q, &error);
  g_assert_no_error (error);
  g_assert_nonnull (def);
  g_assert_cmpint (def->version, ==, 2);
  g_assert_cmpint (def->parent, ==, 1);
  g_assert_cmpint (def->status, ==, NS_REGISTRY_MODEL_REGISTERED);
  g_assert_cmpfloat (def->dice[0], ==, 0.85);
  g_assert_true (isnan (def->dice[1]));
  g_autoptr (NsRegistryModel) m1 = ns_registry_dup_model (q, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (m1->dice[2], ==, 0.6);
  g_assert_cmpint (m1->parent, ==, NS_REGISTRY_NONE);
  g_assert_false (m1->is_default);
  g_autoptr (GPtrArray) promos = ns_registry_list_promotions (q, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (promos->len, ==, 1);
  /* The fixture's model files do not exist: rolling back to one is refused, naming it. */
  int now_default = 0;
  g_assert_false (ns_registry_rollback (q, 1, "tester", &now_default, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "/m/v1.safetensors"));
  g_clear_error (&error);
  g_autoptr (NsRegistryModel) still = ns_registry_dup_default (q, &error);
  g_assert_cmpint (still->version, ==, 2);

  /* The old run is there with the new columns. */
  g_autoptr (NsRun) run = ns_runs_dup_run (q, 1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (run->status, ==, NS_RUN_SUCCEEDED);
  g_assert_cmpint (run->model_version, ==, 2);
  g_assert_cmpuint (run->cases->len, ==, 0);
  g_assert_true (ns_db_check_integrity (q, &error));
}

/* What migration 3 -> 4 adds (the tables of a team, issue 19). */
#define DROP_V4 "DROP TABLE claims; DROP TABLE claim_history; DROP TABLE annotation_masks; " \
                "DROP TABLE reviews; DROP TABLE changes;"

/* A version-2 database (before validation figures) gains the table, its rows intact. */
static void
test_migrate_v2 (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  {
    g_autoptr (NsDb) q = ns_test_open_fresh_db (&path);
    ns_test_queued_case (q, "MigrateV2");
  }
  ns_test_sql_exec (path, DROP_V4 "DROP TABLE validations; PRAGMA user_version = 2;");
  g_autoptr (NsDb) q = ns_db_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ns_test_sql_int (path, "PRAGMA user_version"), ==, NS_DB_SCHEMA_VERSION);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM validations"), ==, 0);
  g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, "MigrateV2", &error);
  g_assert_no_error (error);
}

/* A version-3 database (one workstation, before claims, reviews and stored masks) gains
 * the tables of a team; its cases and annotations stay, with no mask stored for them. */
static void
test_migrate_v3 (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  {
    g_autoptr (NsDb) q = ns_test_open_fresh_db (&path);
    ns_test_queued_case (q, "MigrateV3");
  }
  ns_test_sql_exec (path, DROP_V4 "PRAGMA user_version = 3;");
  g_autoptr (NsDb) q = ns_db_open (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ns_test_sql_int (path, "PRAGMA user_version"), ==, NS_DB_SCHEMA_VERSION);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM claims"), ==, 0);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM annotation_masks"), ==, 0);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM changes"), ==, 2);
  g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, "MigrateV3", &error);
  g_assert_no_error (error);
  g_assert_cmpint (e->n_annotations, ==, 1);
  g_assert_true (ns_db_check_integrity (q, &error));
}

/* A database from a newer neuroseg, read-write and read-only: refused, left as it is. */
static void
test_refuses_newer (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *newer = NULL;
  {
    g_autoptr (NsDb) q = ns_test_open_fresh_db (&newer);
    ns_test_queued_case (q, "Newer");
  }
  ns_test_set_schema_version (newer, 99);
  NsDb *q = ns_db_open (newer, &error);
  g_assert_null (q);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED);
  g_assert_true (g_str_has_prefix (error->message, newer));
  g_assert_nonnull (strstr (error->message, "update neuroseg"));
  g_clear_error (&error);
  q = ns_db_open_readonly (newer, &error);
  g_assert_null (q);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  g_assert_cmpint (ns_test_schema_version (newer), ==, 99);
  g_assert_cmpint (ns_test_sql_int (newer, "SELECT count(*) FROM cases"), ==, 1);
}

static void
test_refuses_bad_files (void)
{
  g_autoptr (GError) error = NULL;
  NsDb *q;

  /* Not a database. */
  g_autofree char *junk = ns_test_fresh_path ("junk.db");
  g_assert_true (g_file_set_contents (junk, "this is not an SQLite file at all, not at all, "
                                      "no, and it goes on long enough to have a header......",
                                      -1, NULL));
  for (int ro = 0; ro < 2; ro++)
    {
      q = ro ? ns_db_open_readonly (junk, &error) : ns_db_open (junk, &error);
      g_assert_null (q);
      g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
      g_assert_true (g_str_has_prefix (error->message, junk));
      g_assert_null (strchr (error->message, '\n'));
      g_clear_error (&error);
    }

  /* A folder. */
  q = ns_db_open (ns_test_tmpdir (), &error);
  g_assert_null (q);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, ns_test_tmpdir ()));
  g_clear_error (&error);
  q = ns_db_open_readonly (ns_test_tmpdir (), &error);
  g_assert_null (q);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
}

/* ---- read-only ------------------------------------------------------------------------ */

/* A database that does not exist reads as an empty one and stays absent; writes through
 * a read-only handle are refused with the reason; an old schema is migrated first. */
static void
test_readonly_open (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = ns_test_fresh_path ("nothing-here");
  g_autofree char *path = g_build_filename (dir, "neuroseg.db", NULL);
  {
    g_autoptr (NsDb) q = ns_db_open_readonly (path, &error);
    g_assert_no_error (error);
    g_assert_true (ns_db_is_readonly (q));
    g_assert_cmpstr (ns_db_get_path (q), ==, path);
    g_autoptr (GPtrArray) list = ns_queue_list (q, NS_QUEUE_SORT_ADDED, -1, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (list->len, ==, 0);
    g_autoptr (GPtrArray) runs = ns_runs_list (q, &error);
    g_assert_cmpuint (runs->len, ==, 0);
    g_assert_cmpint (ns_runs_begin (q, "x", NULL, NULL, 0, 0, &error), ==, 0);
    g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO);
    g_assert_nonnull (strstr (error->message, "read-only"));
    g_clear_error (&error);
  }
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));

  /* An existing database: read, never written (a write is refused, the file unchanged). */
  g_autofree char *db_path = NULL;
  {
    g_autoptr (NsDb) rw = ns_test_open_fresh_db (&db_path);
    ns_test_queued_case (rw, "ReadOnlyA");
  }
  g_autofree char *before = ns_test_file_sum (db_path);
  {
    g_autoptr (NsDb) q = ns_db_open_readonly (db_path, &error);
    g_assert_no_error (error);
    g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, "ReadOnlyA", &error);
    g_assert_no_error (error);
    g_assert_false (ns_queue_set_state (q, e->id, NS_QUEUE_STATE_EXCLUDED, 0, NULL, NULL,
                                        &error));
    g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO);
    g_clear_error (&error);
  }
  g_autofree char *after = ns_test_file_sum (db_path);
  g_assert_cmpstr (before, ==, after);

  /* A version-1 database in a writable folder is migrated, then read. */
  g_autofree char *v1 = write_v1_fixture ("v1-ro.db");
  g_autoptr (NsDb) q1 = ns_db_open_readonly (v1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ns_test_sql_int (v1, "PRAGMA user_version"), ==, NS_DB_SCHEMA_VERSION);
}

/* What the unprivileged child of test_readonly_folder checks; returns the exit status. */
static int
readonly_child (const char *db_path, const char *v1_path)
{
  g_autoptr (GError) error = NULL;

  /* The folder really is read-only for us (root would not notice: hence the child). */
  g_autofree char *probe = g_strconcat (db_path, ".probe", NULL);
  if (g_file_set_contents (probe, "x", 1, NULL))
    {
      g_printerr ("the folder of %s is writable for uid %d\n", db_path, (int) geteuid ());
      return 10;
    }
  /* Read-write cannot work here, and says so. */
  NsDb *rw = ns_db_open (db_path, &error);
  if (rw != NULL || error == NULL || !g_str_has_prefix (error->message, db_path))
    {
      g_printerr ("read-write open of %s in a read-only folder: %s\n", db_path,
                  rw != NULL ? "succeeded" : error != NULL ? error->message : "no error");
      return 11;
    }
  g_clear_error (&error);

  /* Read-only: the queue, its history, the registry, the runs, the default model. */
  g_autoptr (NsDb) q = ns_db_open_readonly (db_path, &error);
  if (q == NULL)
    {
      g_printerr ("read-only open: %s\n", error->message);
      return 12;
    }
  g_autoptr (GPtrArray) list = ns_queue_list (q, NS_QUEUE_SORT_ADDED, -1, &error);
  if (list == NULL || list->len != 1)
    {
      g_printerr ("queue list: %s\n", error != NULL ? error->message : "not one case");
      return 13;
    }
  NsQueueEntry *e = list->pdata[0];
  g_autoptr (GPtrArray) hist = ns_queue_list_history (q, e->id, &error);
  g_autoptr (GPtrArray) models = ns_registry_list_models (q, &error);
  g_autoptr (GPtrArray) runs = ns_runs_list (q, &error);
  if (hist == NULL || hist->len != 1 || models == NULL || runs == NULL || runs->len != 1)
    {
      g_printerr ("history, models or runs: %s\n", error != NULL ? error->message : "wrong");
      return 14;
    }
  int version = -5;
  g_autofree char *def = ns_registry_dup_default_model (db_path, &version, NULL, &error);
  if (def == NULL || version != NS_REGISTRY_SHIPPED)
    {
      g_printerr ("default model: %s\n", error != NULL ? error->message : "not version 0");
      return 15;
    }
  /* An old schema cannot be migrated here: refused with the reason. */
  NsDb *old = ns_db_open_readonly (v1_path, &error);
  if (old != NULL || error == NULL || strstr (error->message, "cannot be migrated") == NULL)
    {
      g_printerr ("old schema, read-only: %s\n", old != NULL ? "opened" : error->message);
      return 16;
    }
  return 0;
}

/* A data folder the user may only read (chmod 0555): every reading command works.  As
 * root the test drops to "nobody" in a child, since root ignores the folder's mode. */
static void
test_readonly_folder (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = ns_test_fresh_path ("ro-data");
  g_autofree char *db_path = g_build_filename (dir, "neuroseg.db", NULL);
  g_autofree char *v1_path = g_build_filename (dir, "old.db", NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  {
    g_autoptr (NsDb) q = ns_db_open (db_path, &error);
    g_assert_no_error (error);
    ns_test_queued_case (q, "ReadOnlyFolder");
    g_assert_cmpint (ns_runs_begin (q, "a run", NULL, NULL, 0, 0, &error), >, 0);
  }
  ns_test_sql_exec (v1_path, v1_fixture);
  /* Closed cleanly: WAL mode, and no -wal or -shm beside it (what a reader would need). */
  g_autofree char *shm = g_strconcat (db_path, "-shm", NULL);
  g_assert_false (g_file_test (shm, G_FILE_TEST_EXISTS));
  g_assert_cmpint (g_chmod (ns_test_tmpdir (), 0755), ==, 0);
  g_assert_cmpint (g_chmod (db_path, 0644), ==, 0);
  g_assert_cmpint (g_chmod (v1_path, 0644), ==, 0);
  g_assert_cmpint (g_chmod (dir, 0555), ==, 0);

  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      if (geteuid () == 0)
        {
          struct passwd *nobody = getpwnam ("nobody");
          if (nobody == NULL || setgroups (0, NULL) != 0 || setgid (nobody->pw_gid) != 0
              || setuid (nobody->pw_uid) != 0)
            {
              g_printerr ("cannot become nobody: %s\n", g_strerror (errno));
              _exit (20);
            }
        }
      _exit (readonly_child (db_path, v1_path));
    }
  int status;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_assert_false (g_file_test (shm, G_FILE_TEST_EXISTS));
}

/* ---- several processes -------------------------------------------------------------- */

/* Child: opens its own connection (never one inherited across fork), adds n runs. */
static int
writer_child (const char *path, int writer, int n)
{
  g_autoptr (GError) error = NULL;
  NsDb *q = ns_db_open (path, &error);
  if (q == NULL)
    {
      g_printerr ("writer %d: %s\n", writer, error->message);
      return 1;
    }
  for (int i = 0; i < n; i++)
    {
      g_autofree char *cmd = g_strdup_printf ("writer %d row %d", writer, i);
      if (ns_runs_begin (q, cmd, NULL, NULL, 0, 0, &error) == 0)
        {
          g_printerr ("writer %d: %s\n", writer, error->message);
          return 1;
        }
    }
  ns_db_close (q);
  return 0;
}

/* Two children of writer_child started at the same moment, each adding n runs. */
static void
run_two_writers (const char *path, int n)
{
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
          _exit (writer_child (path, w, n));
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
}

static void
test_concurrent_writers (void)
{
  g_autofree char *path = ns_test_fresh_location ("concurrent.db");
  run_two_writers (path, 200);

  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_db_open (path, &error);
  g_assert_no_error (error);
  g_assert_true (ns_db_check_integrity (q, &error));
  g_autoptr (GPtrArray) runs = ns_runs_list (q, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (runs->len, ==, 400);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < runs->len; i++)
    g_hash_table_add (seen, ((NsRun *) runs->pdata[i])->command);
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
  NsDb *q = ns_db_open (path, NULL);
  if (q == NULL)
    _exit (1);
  for (int i = 0;; i++)
    {
      g_autofree char *cmd = g_strdup_printf ("round %d loop %d", round, i);
      gint64 one = 1;
      gint64 id = ns_runs_begin (q, cmd, "/tmp/x.log", &one, 1, 0, NULL);
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
  g_autofree char *path = ns_test_fresh_location ("killed.db");
  g_autoptr (GError) error = NULL;
  static const guint kill_after[] = { 37, 150, 301 };

  /* The database exists with a queued case before the children start. */
  {
    g_autoptr (NsDb) q = ns_db_open (path, &error);
    g_assert_no_error (error);
    ns_test_queued_case (q, "KillCase");
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

      g_autoptr (NsDb) q = ns_db_open (path, &error);
      g_assert_no_error (error);
      g_assert_true (ns_db_check_integrity (q, &error));
      g_assert_no_error (error);
      for (guint i = 0; i < committed->len; i++)
        {
          g_autoptr (NsRun) r = ns_runs_dup_run (q, g_array_index (committed, gint64, i), &error);
          g_assert_no_error (error);
          g_assert_cmpuint (r->cases->len, ==, 1);
          g_autofree char *want = g_strdup_printf ("round %u loop %u", round, i);
          g_assert_cmpstr (r->command, ==, want);
          /* The killed process's runs are marked failed on open. */
          g_assert_cmpint (r->status, ==, NS_RUN_FAILED);
        }
      /* At most one more run than reported: killed between its commit and the report. */
      g_autofree char *sql = g_strdup_printf ("SELECT count(*) FROM runs WHERE command LIKE "
                                              "'round %u loop %%'", round);
      gint64 in_db = ns_test_sql_int (path, sql);
      g_assert_cmpint (in_db, >=, committed->len);
      g_assert_cmpint (in_db, <=, committed->len + 1);
      g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM runs r WHERE NOT EXISTS "
                                        "(SELECT 1 FROM run_cases c WHERE c.run_id = r.id)"),
                       ==, 0);
      g_test_message ("round %u: %u committed writes reported before SIGKILL, all present",
                      round, committed->len);
    }
}

/* Two processes open an old database at the same moment (SQLite: a version-1 file; a
 * server: an empty database, version 0): one migrates, the other finds it migrated. */
static void
test_concurrent_migration (void)
{
  gboolean server = ns_test_db_is_server ();
  g_autofree char *path = server ? ns_test_fresh_location (NULL)
                                 : write_v1_fixture ("v1-twice.db");
  run_two_writers (path, 20);
  g_assert_cmpint (ns_test_schema_version (path), ==, NS_DB_SCHEMA_VERSION);
  /* The migration's one-off rows exist once; the shipped model's row too. */
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM queue_history"), ==,
                   server ? 0 : 2);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM promotions"), ==,
                   server ? 0 : 1);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM runs"), ==,
                   (server ? 0 : 1) + 40);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM models WHERE version = 0"),
                   <=, 1);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM changes"), ==, 2);
}

/* A read-only handle reads and refuses every write, saying why. */
static void
test_readonly_handle (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  {
    g_autoptr (NsDb) rw = ns_test_open_fresh_db (&path);
    ns_test_queued_case (rw, "ReadOnlyHandle");
  }
  g_autoptr (NsDb) q = ns_db_open_readonly (path, &error);
  g_assert_no_error (error);
  g_assert_true (ns_db_is_readonly (q));
  g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, "ReadOnlyHandle", &error);
  g_assert_no_error (error);
  g_assert_false (ns_queue_set_state (q, e->id, NS_QUEUE_STATE_EXCLUDED, 0, NULL, NULL,
                                      &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, "read-only"));
  g_clear_error (&error);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM queue_history"), ==, 1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* A configuration folder of this program's own, for the database setting that
   * /data/db/default-path saves (not G_TEST_OPTION_ISOLATE_DIRS: GLib 2.74 leaks the
   * folders it sets per test, which fails the sanitizer build).  Set before GLib reads
   * it, which it does once. */
  g_autofree char *config = g_build_filename (ns_test_tmpdir (), "config", NULL);
  g_setenv ("XDG_CONFIG_HOME", config, TRUE);
  ns_test_db_init ();
  g_test_add_func ("/data/db/open-creates", test_open_creates);
  g_test_add_func ("/data/db/refuses-newer", test_refuses_newer);
  g_test_add_func ("/data/db/readonly-handle", test_readonly_handle);
  if (!ns_test_db_is_server ())
    {
      /* Files: where they are, their old versions, their damage, their permissions. */
      g_test_add_func ("/data/db/default-path", test_default_path);
      g_test_add_func ("/data/db/migrate-v1", test_migrate_v1);
      g_test_add_func ("/data/db/migrate-v2", test_migrate_v2);
      g_test_add_func ("/data/db/migrate-v3", test_migrate_v3);
      g_test_add_func ("/data/db/refuses-bad-files", test_refuses_bad_files);
      g_test_add_func ("/data/db/readonly-open", test_readonly_open);
      g_test_add_func ("/data/db/readonly-folder", test_readonly_folder);
    }
  g_test_add_func ("/data/db/concurrent-writers", test_concurrent_writers);
  g_test_add_func ("/data/db/sigkill-during-writes", test_sigkill_during_writes);
  g_test_add_func ("/data/db/concurrent-migration", test_concurrent_migration);
  return g_test_run ();
}
