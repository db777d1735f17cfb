/* SPDX-License-Identifier: MIT
 *
 * ns-db-schema.c: the schema of the queue and registry database and its migrations, the
 * same for both engines (see ns-db.h).
 *
 * The migrations are written in SQLite's spelling, which is what the SQLite files in use
 * were built from; they are never edited once released.  A server gets the same text
 * through its backend's translate_ddl (ns-db-pg.c: type names, and an identity for the
 * row ids that SQLite assigns itself), so that both hold one schema.  The schema version
 * is kept by the backend (SQLite: PRAGMA user_version; PostgreSQL: a one-row table).
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-db-private.h"

#include "ns-data-error.h"

/* Migration i takes a database from schema version i to i + 1.  Forward only: a release
 * appends a migration and never edits an earlier one. */
static const char *const migrations[] = {
  /* 0 -> 1: the first schema. */
  "CREATE TABLE cases (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  path TEXT NOT NULL UNIQUE,\n"
  "  case_id TEXT NOT NULL,\n"
  "  modalities TEXT NOT NULL,\n"
  "  added TEXT NOT NULL);\n"
  "CREATE TABLE models (\n"
  "  version INTEGER PRIMARY KEY,\n"
  "  path TEXT NOT NULL,\n"
  "  sha256 TEXT NOT NULL,\n"
  "  arch TEXT,\n"
  "  parent INTEGER REFERENCES models(version),\n"
  "  created TEXT NOT NULL,\n"
  "  metrics TEXT NOT NULL DEFAULT '{}');\n"
  "CREATE TABLE annotations (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  case_ref INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,\n"
  "  mask_path TEXT NOT NULL,\n"
  "  who TEXT NOT NULL,\n"
  "  created TEXT NOT NULL,\n"
  "  model_version INTEGER REFERENCES models(version) ON DELETE SET NULL,\n"
  "  effort REAL,\n"
  "  edited_voxels INTEGER);\n"
  "CREATE INDEX annotations_case ON annotations(case_ref);\n"
  "CREATE TABLE queue (\n"
  "  case_ref INTEGER PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,\n"
  "  state TEXT NOT NULL CHECK (state IN ('queued', 'used', 'excluded')),\n"
  "  model_version INTEGER REFERENCES models(version),\n"
  "  updated TEXT NOT NULL);\n"
  "CREATE TABLE runs (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  started TEXT NOT NULL,\n"
  "  finished TEXT,\n"
  "  status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),\n"
  "  command TEXT,\n"
  "  log_path TEXT,\n"
  "  model_version INTEGER REFERENCES models(version));\n"
  "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT);\n",

  /* 1 -> 2: uncertainty and the prediction file of annotations; the history of queue
   * states; model status, failure and default flag (from settings.default_model) with a
   * promotions log; the process and cases of runs. */
  "ALTER TABLE annotations ADD COLUMN uncertainty REAL;\n"
  "ALTER TABLE annotations ADD COLUMN prediction_path TEXT;\n"
  "CREATE TABLE queue_history (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  case_ref INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,\n"
  "  state TEXT NOT NULL CHECK (state IN ('queued', 'used', 'excluded')),\n"
  "  model_version INTEGER,\n"
  "  at TEXT NOT NULL,\n"
  "  who TEXT,\n"
  "  note TEXT);\n"
  "CREATE INDEX queue_history_case ON queue_history(case_ref);\n"
  "INSERT INTO queue_history (case_ref, state, model_version, at, note)\n"
  "  SELECT case_ref, state, model_version, updated, 'state at migration from schema 1'\n"
  "  FROM queue;\n"
  "ALTER TABLE models ADD COLUMN status TEXT NOT NULL DEFAULT 'registered'\n"
  "  CHECK (status IN ('registered', 'failed'));\n"
  "ALTER TABLE models ADD COLUMN error TEXT;\n"
  "ALTER TABLE models ADD COLUMN is_default INTEGER NOT NULL DEFAULT 0\n"
  "  CHECK (is_default IN (0, 1));\n"
  "ALTER TABLE models ADD COLUMN run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL;\n"
  "CREATE UNIQUE INDEX models_one_default ON models(is_default) WHERE is_default = 1;\n"
  "CREATE TABLE promotions (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  version INTEGER NOT NULL REFERENCES models(version),\n"
  "  previous_version INTEGER REFERENCES models(version),\n"
  "  action TEXT NOT NULL CHECK (action IN ('promote', 'rollback')),\n"
  "  at TEXT NOT NULL,\n"
  "  who TEXT);\n"
  "UPDATE models SET is_default = 1 WHERE version =\n"
  "  (SELECT CAST(value AS INTEGER) FROM settings WHERE key = 'default_model');\n"
  "INSERT INTO promotions (version, action, at, who)\n"
  "  SELECT version, 'promote', created, 'migration from schema 1' FROM models\n"
  "  WHERE is_default = 1;\n"
  "DROP TABLE settings;\n"
  "ALTER TABLE runs ADD COLUMN pid INTEGER;\n"
  "ALTER TABLE runs ADD COLUMN pid_start INTEGER;\n"
  "ALTER TABLE runs ADD COLUMN host TEXT;\n"
  "ALTER TABLE runs ADD COLUMN error TEXT;\n"
  "CREATE TABLE run_cases (\n"
  "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,\n"
  "  case_ref INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,\n"
  "  PRIMARY KEY (run_id, case_ref));\n",

  /* 2 -> 3: validation figures of a model on one case (the gate of promotions).  The
   * shipped model needs no schema change: it is the row of version 0. */
  "CREATE TABLE validations (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  model_version INTEGER NOT NULL REFERENCES models(version) ON DELETE CASCADE,\n"
  "  case_path TEXT NOT NULL,\n"
  "  case_id TEXT NOT NULL,\n"
  "  flair_sha256 TEXT NOT NULL,\n"
  "  truth_sha256 TEXT NOT NULL,\n"
  "  dice_wt REAL NOT NULL CHECK (dice_wt BETWEEN 0 AND 1),\n"
  "  dice_tc REAL NOT NULL CHECK (dice_tc BETWEEN 0 AND 1),\n"
  "  dice_et REAL NOT NULL CHECK (dice_et BETWEEN 0 AND 1),\n"
  "  predicted_wt INTEGER NOT NULL CHECK (predicted_wt >= 0),\n"
  "  predicted_tc INTEGER NOT NULL CHECK (predicted_tc >= 0),\n"
  "  predicted_et INTEGER NOT NULL CHECK (predicted_et >= 0),\n"
  "  truth_wt INTEGER NOT NULL CHECK (truth_wt >= 0),\n"
  "  truth_tc INTEGER NOT NULL CHECK (truth_tc >= 0),\n"
  "  truth_et INTEGER NOT NULL CHECK (truth_et >= 0),\n"
  "  device TEXT,\n"
  "  at TEXT NOT NULL);\n"
  "CREATE INDEX validations_model ON validations(model_version);\n",
  /* 3 -> 4: what a team needs (issue 19).  Claims: who corrects a case, since when, until
   * when the lease holds (milliseconds since the epoch on the database's clock), with the
   * token of the claiming session; their history.  Corrected masks in the database
   * (gzip-compressed NIfTI with its sha256), so that no shared folder is needed.  Reviews
   * of a correction by a second reader.  Change serials that watchers follow. */
  "CREATE TABLE claims (\n"
  "  case_ref INTEGER PRIMARY KEY REFERENCES cases(id) ON DELETE CASCADE,\n"
  "  token TEXT NOT NULL,\n"
  "  who TEXT NOT NULL,\n"
  "  host TEXT NOT NULL,\n"
  "  since TEXT NOT NULL,\n"
  "  lease_until INTEGER NOT NULL);\n"
  "CREATE TABLE claim_history (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  case_ref INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,\n"
  "  event TEXT NOT NULL CHECK (event IN ('claim', 'release', 'take-over')),\n"
  "  token TEXT NOT NULL,\n"
  "  who TEXT NOT NULL,\n"
  "  host TEXT NOT NULL,\n"
  "  at TEXT NOT NULL,\n"
  "  note TEXT);\n"
  "CREATE INDEX claim_history_case ON claim_history(case_ref);\n"
  "CREATE TABLE annotation_masks (\n"
  "  annotation_ref INTEGER PRIMARY KEY REFERENCES annotations(id) ON DELETE CASCADE,\n"
  "  sha256 TEXT NOT NULL,\n"
  "  size INTEGER NOT NULL CHECK (size >= 0),\n"
  "  data BLOB NOT NULL);\n"
  "CREATE TABLE reviews (\n"
  "  id INTEGER PRIMARY KEY,\n"
  "  annotation_ref INTEGER NOT NULL REFERENCES annotations(id) ON DELETE CASCADE,\n"
  "  verdict TEXT NOT NULL CHECK (verdict IN ('accepted', 'sent back')),\n"
  "  who TEXT NOT NULL,\n"
  "  at TEXT NOT NULL,\n"
  "  note TEXT);\n"
  "CREATE INDEX reviews_annotation ON reviews(annotation_ref);\n"
  "CREATE TABLE changes (\n"
  "  topic TEXT PRIMARY KEY,\n"
  "  serial INTEGER NOT NULL);\n"
  "INSERT INTO changes (topic, serial) VALUES ('queue', 0), ('registry', 0);\n",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == NS_DB_SCHEMA_VERSION);

gboolean
_ns_db_migrate_txn (NsDb *db, gpointer data, GError **error)
{
  gint64 version = 0;

  /* Read again under the write lock: another process may have migrated meanwhile. */
  if (!db->backend->read_schema_version (db, &version))
    {
      _ns_db_set_error (db, error, "cannot read the schema version");
      return FALSE;
    }
  if (version > NS_DB_SCHEMA_VERSION)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                   "%s: schema version %" G_GINT64_FORMAT " is newer than this neuroseg "
                   "knows (%d): update neuroseg", db->path, version, NS_DB_SCHEMA_VERSION);
      return FALSE;
    }
  for (gint64 v = version; v < NS_DB_SCHEMA_VERSION; v++)
    {
      g_autofree char *what = g_strdup_printf ("cannot migrate the schema from version %"
                                               G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                                               v, v + 1);
      g_autofree char *sql = db->backend->translate_ddl (migrations[v]);
      if (!_ns_db_exec (db, sql, what, error))
        return FALSE;
    }
  if (version < NS_DB_SCHEMA_VERSION && !db->backend->write_schema_version (db,
                                                                            NS_DB_SCHEMA_VERSION))
    {
      _ns_db_set_error (db, error, "cannot set the schema version");
      return FALSE;
    }
  /* References must still hold after the migration. */
  return db->backend->check_migrated (db, error);
}

gboolean
_ns_db_read_change_serials (NsDb *db, gint64 serials[2], GError **error)
{
  serials[0] = serials[1] = 0;
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db, "SELECT topic, serial FROM changes", error);
  if (st == NULL)
    return FALSE;
  NsDbStep r;
  while ((r = _ns_db_step (st)) == NS_DB_STEP_ROW)
    {
      const char *topic = _ns_db_column_peek_text (st, 0);
      if (g_strcmp0 (topic, "queue") == 0)
        serials[0] = _ns_db_column_int64 (st, 1);
      else if (g_strcmp0 (topic, "registry") == 0)
        serials[1] = _ns_db_column_int64 (st, 1);
    }
  if (r != NS_DB_STEP_DONE)
    {
      _ns_db_set_error (db, error, "cannot read the change serials");
      return FALSE;
    }
  return TRUE;
}
