/* SPDX-License-Identifier: MIT
 *
 * ns-db-copy.c: every row of one database copied into another (ns_db_copy(), ns-db.h),
 * e.g. a workstation's SQLite file into the team's new PostgreSQL server: read whole from
 * the source first, then written and verified in one write transaction of the target.
 *
 * The tables and their columns are listed here, in an order where every reference points
 * at rows already copied; a test (test-data-db: /db/copy/every-table) holds the list to
 * the schema, so that a table added by a later migration cannot be forgotten.  The change
 * serials (table changes) belong to each database and are not copied: the copy bumps the
 * target's, so that its watchers see everything new.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include <string.h>

#include "ns-data-error.h"
#include "ns-db-private.h"

typedef struct
{
  const char *name;
  const char *columns;   /* comma-separated, as in the schema */
  const char *types;     /* one per column: i integer, d double, t text, b blob */
  const char *order;     /* the key: rows are read, summed and compared in this order */
} TableSpec;

/* models.run_id refers to runs, which refer to models: models are copied without it and it
 * is set once the runs are there. */
static const TableSpec tables[] = {
  { "models", "version, path, sha256, arch, parent, created, metrics, status, error, "
              "is_default, run_id", "itttittttii", "version" },
  { "runs", "id, started, finished, status, command, log_path, model_version, pid, "
            "pid_start, host, error", "itttttiiitt", "id" },
  { "cases", "id, path, case_id, modalities, added", "itttt", "id" },
  { "annotations", "id, case_ref, mask_path, who, created, model_version, effort, "
                   "edited_voxels, uncertainty, prediction_path", "iitttididt", "id" },
  { "queue", "case_ref, state, model_version, updated", "itit", "case_ref" },
  { "queue_history", "id, case_ref, state, model_version, at, who, note", "iitittt", "id" },
  { "promotions", "id, version, previous_version, action, at, who", "iiittt", "id" },
  { "run_cases", "run_id, case_ref", "ii", "run_id, case_ref" },
  { "validations", "id, model_version, case_path, case_id, flair_sha256, truth_sha256, "
                   "dice_wt, dice_tc, dice_et, predicted_wt, predicted_tc, predicted_et, "
                   "truth_wt, truth_tc, truth_et, device, at", "iittttdddiiiiiitt", "id" },
  { "claims", "case_ref, token, who, host, since, lease_until", "itttti", "case_ref" },
  { "claim_history", "id, case_ref, event, token, who, host, at, note", "iitttttt", "id" },
  { "annotation_masks", "annotation_ref, sha256, size, data", "itib", "annotation_ref" },
  { "reviews", "id, annotation_ref, verdict, who, at, note", "iitttt", "id" },
};
#define MODELS_RUN_ID_COLUMN 10

static guint
count_columns (const char *columns)
{
  guint n = 1;

  for (const char *c = columns; *c != '\0'; c++)
    n += *c == ',';
  return n;
}

const char *
_ns_db_copy_columns (guint index, const char **table)
{
  if (index >= G_N_ELEMENTS (tables))
    return NULL;
  *table = tables[index].name;
  return tables[index].columns;
}

void
ns_db_table_sum_free (NsDbTableSum *sum)
{
  if (sum == NULL)
    return;
  g_free (sum->table);
  g_free (sum->sha256);
  g_free (sum);
}

static void
value_clear (NsDbValue *v)
{
  g_clear_pointer (&v->text, g_free);
  g_clear_pointer (&v->blob, g_bytes_unref);
}

/* A table's rows, read: n_columns values per row. */
typedef struct
{
  const TableSpec *spec;
  guint n_columns;
  GArray *values;   /* NsDbValue */
  gint64 rows;
  char *sha256;
} TableData;

static void
table_data_clear (TableData *t)
{
  if (t->values != NULL)
    g_array_unref (t->values);
  g_free (t->sha256);
}

static void
sum_value (GChecksum *sum, const NsDbValue *v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE + 32];
  gsize len;
  const guchar *data;

  switch (v->type)
    {
    case NS_DB_VALUE_NULL:
      g_checksum_update (sum, (const guchar *) "N;", 2);
      return;
    case NS_DB_VALUE_INT:
      g_snprintf (buf, sizeof buf, "I%" G_GINT64_FORMAT ";", v->i);
      break;
    case NS_DB_VALUE_DOUBLE:
      buf[0] = 'D';
      g_ascii_formatd (buf + 1, sizeof buf - 2, "%.17g", v->d);
      strcat (buf, ";");
      break;
    case NS_DB_VALUE_TEXT:
      g_snprintf (buf, sizeof buf, "T%zu:", strlen (v->text));
      g_checksum_update (sum, (const guchar *) buf, -1);
      g_checksum_update (sum, (const guchar *) v->text, strlen (v->text));
      return;
    case NS_DB_VALUE_BLOB:
      data = g_bytes_get_data (v->blob, &len);
      g_snprintf (buf, sizeof buf, "B%zu:", len);
      g_checksum_update (sum, (const guchar *) buf, -1);
      g_checksum_update (sum, data, len);
      return;
    }
  g_checksum_update (sum, (const guchar *) buf, -1);
}

/* Reads every row of a table in key order into t (values kept when keep), with its count
 * and sha256. */
static gboolean
read_table (NsDb *db, const TableSpec *spec, gboolean keep, TableData *t, GError **error)
{
  g_autofree char *sql = g_strdup_printf ("SELECT %s FROM %s ORDER BY %s", spec->columns,
                                          spec->name, spec->order);
  g_autofree char *what = g_strdup_printf ("cannot read table %s", spec->name);
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db, sql, error);
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  NsDbStep r;

  if (st == NULL)
    return FALSE;
  t->spec = spec;
  t->n_columns = strlen (spec->types);
  if (t->n_columns != count_columns (spec->columns))
    {
      /* a table listed above with a type missing: never on a released build (the tests) */
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: the copy does not know the types of table %s", db->path, spec->name);
      return FALSE;
    }
  t->values = g_array_new (FALSE, TRUE, sizeof (NsDbValue));
  g_array_set_clear_func (t->values, (GDestroyNotify) value_clear);
  t->rows = 0;
  while ((r = _ns_db_step (st)) == NS_DB_STEP_ROW)
    {
      for (guint c = 0; c < t->n_columns; c++)
        {
          NsDbValue v = { NS_DB_VALUE_NULL };

          if (!_ns_db_column_is_null (st, c))
            switch (spec->types[c])
              {
              case 'i':
                v.type = NS_DB_VALUE_INT;
                v.i = _ns_db_column_int64 (st, c);
                break;
              case 'd':
                v.type = NS_DB_VALUE_DOUBLE;
                v.d = _ns_db_column_double_or_nan (st, c);
                break;
              case 't':
                v.type = NS_DB_VALUE_TEXT;
                v.text = _ns_db_column_text (st, c);
                break;
              default:
                v.type = NS_DB_VALUE_BLOB;
                v.blob = _ns_db_column_blob (st, c);
                break;
              }
          sum_value (sum, &v);
          if (keep)
            g_array_append_val (t->values, v);
          else
            value_clear (&v);
        }
      t->rows++;
    }
  if (r != NS_DB_STEP_DONE)
    {
      _ns_db_set_error (db, error, what);
      return FALSE;
    }
  t->sha256 = g_strdup (g_checksum_get_string (sum));
  return TRUE;
}

static void
bind_value (NsDbStmt *st, int i, const NsDbValue *v)
{
  switch (v->type)
    {
    case NS_DB_VALUE_NULL:
      _ns_db_bind_null (st, i);
      break;
    case NS_DB_VALUE_INT:
      _ns_db_bind_int (st, i, v->i);
      break;
    case NS_DB_VALUE_DOUBLE:
      _ns_db_bind_double (st, i, v->d);
      break;
    case NS_DB_VALUE_TEXT:
      _ns_db_bind_text (st, i, v->text);
      break;
    case NS_DB_VALUE_BLOB:
      _ns_db_bind_blob (st, i, v->blob);
      break;
    }
}

static gboolean
write_table (NsDb *db, TableData *t, GError **error)
{
  const TableSpec *spec = t->spec;
  gboolean models = g_strcmp0 (spec->name, "models") == 0;
  g_autoptr (GString) sql = g_string_new (NULL);
  g_autofree char *what = g_strdup_printf ("cannot copy table %s", spec->name);
  g_autoptr (NsDbStmt) st = NULL;

  g_string_printf (sql, "INSERT INTO %s (%s) VALUES (", spec->name, spec->columns);
  for (guint c = 0; c < t->n_columns; c++)
    g_string_append_printf (sql, "%s?%u", c > 0 ? ", " : "", c + 1);
  g_string_append (sql, ")");
  st = _ns_db_prepare (db, sql->str, error);
  if (st == NULL)
    return FALSE;
  for (gint64 r = 0; r < t->rows; r++)
    {
      const NsDbValue *row = &g_array_index (t->values, NsDbValue, r * t->n_columns);

      _ns_db_reset (st);
      for (guint c = 0; c < t->n_columns; c++)
        {
          if (models && c == MODELS_RUN_ID_COLUMN)
            _ns_db_bind_null (st, c + 1); /* set_models_runs() */
          else
            bind_value (st, c + 1, &row[c]);
        }
      if (!_ns_db_step_done (st, what, error))
        return FALSE;
    }
  return TRUE;
}

/* models.run_id, once the runs are there. */
static gboolean
set_models_runs (NsDb *db, TableData *models, GError **error)
{
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db, "UPDATE models SET run_id = ?1 "
                                                "WHERE version = ?2", error);

  if (st == NULL)
    return FALSE;
  for (gint64 r = 0; r < models->rows; r++)
    {
      const NsDbValue *row = &g_array_index (models->values, NsDbValue, r * models->n_columns);

      if (row[MODELS_RUN_ID_COLUMN].type == NS_DB_VALUE_NULL)
        continue;
      _ns_db_reset (st);
      bind_value (st, 1, &row[MODELS_RUN_ID_COLUMN]);
      bind_value (st, 2, &row[0]);
      if (!_ns_db_step_done (st, "cannot copy the runs of models", error))
        return FALSE;
    }
  return TRUE;
}

typedef struct
{
  TableData *source;     /* G_N_ELEMENTS (tables) */
  gboolean replace;
  GPtrArray *sums;       /* out: NsDbTableSum * of the target, verified */
} CopyData;

/* What a database holds beyond what opening it made (the shipped model, version 0). */
static gboolean
count_user_rows (NsDb *db, gint64 *n, GError **error)
{
  *n = 0;
  for (guint i = 0; i < G_N_ELEMENTS (tables); i++)
    {
      g_autofree char *sql = g_strdup_printf ("SELECT COUNT(*) FROM %s%s", tables[i].name,
                                              g_strcmp0 (tables[i].name, "models") == 0
                                                ? " WHERE version <> ?1" : "");
      gint64 rows = 0;

      if (!_ns_db_query_int (db, sql, 0, &rows, error))
        return FALSE;
      *n += rows;
    }
  return TRUE;
}

static gboolean
copy_txn (NsDb *db, gpointer data, GError **error)
{
  CopyData *d = data;
  gint64 existing;

  if (!count_user_rows (db, &existing, error))
    return FALSE;
  if (existing > 0 && !d->replace)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED,
                   "%s: the database is not empty (%" G_GINT64_FORMAT " rows in the queue, "
                   "registry and runs); copy into an empty one, or replace its content on "
                   "purpose", db->path, existing);
      return FALSE;
    }
  /* what opening the target made (and with replace, all of it), children first */
  if (!_ns_db_exec (db, "UPDATE models SET run_id = NULL", "cannot empty the database",
                    error))
    return FALSE;
  for (guint i = G_N_ELEMENTS (tables); i-- > 0;)
    {
      g_autofree char *sql = g_strdup_printf ("DELETE FROM %s", tables[i].name);

      if (!_ns_db_exec (db, sql, "cannot empty the database", error))
        return FALSE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (tables); i++)
    if (!write_table (db, &d->source[i], error))
      return FALSE;
  if (!set_models_runs (db, &d->source[0], error))
    return FALSE;
  /* rows that get their id from the database later must not collide with the copied */
  for (guint i = 0; db->backend->sync_row_ids != NULL && i < G_N_ELEMENTS (tables); i++)
    if (g_str_has_prefix (tables[i].columns, "id, ")
        && !db->backend->sync_row_ids (db, tables[i].name, error))
      return FALSE;
  /* verified before it commits: the same rows, value for value */
  g_ptr_array_set_size (d->sums, 0);
  for (guint i = 0; i < G_N_ELEMENTS (tables); i++)
    {
      TableData copied = { 0 };
      NsDbTableSum *sum;
      gboolean same;

      if (!read_table (db, &tables[i], FALSE, &copied, error))
        {
          table_data_clear (&copied);
          return FALSE;
        }
      same = copied.rows == d->source[i].rows
             && g_strcmp0 (copied.sha256, d->source[i].sha256) == 0;
      sum = g_new0 (NsDbTableSum, 1);
      sum->table = g_strdup (tables[i].name);
      sum->rows = copied.rows;
      sum->sha256 = g_steal_pointer (&copied.sha256);
      g_ptr_array_add (d->sums, sum);
      table_data_clear (&copied);
      if (!same)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                       "%s: table %s differs from the source after the copy (%" G_GINT64_FORMAT
                       " rows, %" G_GINT64_FORMAT " copied): nothing was changed", db->path,
                       tables[i].name, d->source[i].rows, sum->rows);
          return FALSE;
        }
    }
  _ns_db_touch (db, NS_DB_CHANGES_QUEUE | NS_DB_CHANGES_REGISTRY);
  return TRUE;
}

GPtrArray *
ns_db_copy (NsDb *source, NsDb *target, gboolean replace, GError **error)
{
  TableData data[G_N_ELEMENTS (tables)] = { 0 };
  g_autoptr (GPtrArray) sums = g_ptr_array_new_with_free_func ((GDestroyNotify)
                                                                 ns_db_table_sum_free);
  CopyData d = { data, replace, sums };
  gboolean ok = TRUE;

  g_return_val_if_fail (source != NULL && target != NULL, NULL);
  if (g_strcmp0 (ns_db_get_path (source), ns_db_get_path (target)) == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: the source and the target are the same database", source->path);
      return NULL;
    }
  /* read whole first: the transaction touches only the target (it may be retried) */
  for (guint i = 0; ok && i < G_N_ELEMENTS (tables); i++)
    ok = read_table (source, &tables[i], TRUE, &data[i], error);
  if (ok)
    ok = _ns_db_write (target, copy_txn, &d, error);
  for (guint i = 0; i < G_N_ELEMENTS (tables); i++)
    table_data_clear (&data[i]);
  return ok ? g_steal_pointer (&sums) : NULL;
}
