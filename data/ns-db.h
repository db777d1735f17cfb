/* SPDX-License-Identifier: MIT
 *
 * ns-db.h: the one database of the fine-tuning queue (ns-queue.h), the model registry
 * (ns-registry.h) and the training runs (ns-runs.h), on one of two engines:
 *
 * - SQLite (the default, for one workstation): a file, $NEUROSEG_DATA_DIR/neuroseg.db
 *   when that variable is set, else g_get_user_data_dir()/neuroseg/neuroseg.db.  Several
 *   processes (the GUI, a trainer, the command line) use it at once: it is in WAL mode
 *   (readers never wait); synchronous=NORMAL: a killed process loses nothing it
 *   committed; only a power cut may lose the last transactions (never consistency).
 * - PostgreSQL (for a team): a server named by a libpq connection URI,
 *   "postgresql://[user@]host[:port]/database" (passwords belong in ~/.pgpass).  Leases
 *   of claims run on the server's clock; other workstations learn of changes at once
 *   (LISTEN/NOTIFY, ns-db-watch.h).  docs/scale.md sets a team up.
 *
 * Which one: the location given to ns_db_open() (a file path or a postgresql:// URI),
 * else ns_db_dup_default_path(): $NEUROSEG_DB when set, else the setting saved by
 * ns_db_save_default_location() (Preferences), else the SQLite file above.
 *
 * Both engines hold the same schema, built by the same migrations, and answer the same
 * calls.  Every write is one transaction that either commits all of a change or nothing;
 * writers are serialised; a busy lock or a server that went away before the commit is
 * retried for the retry window of the handle (ns_db_set_retry_window()), then reported
 * (NS_DATA_ERROR_UNAVAILABLE for an unreachable server: nothing was changed).  A commit
 * the server may or may not have finished when the connection broke is settled by asking
 * the server about the transaction once it can be reached again, so that a retried change
 * never happens twice.
 *
 * Two ways to open it:
 * - ns_db_open(): read-write.  Creates the file and its folder (SQLite), migrates the
 *   schema forward (a database from a newer Neuroseg is refused), marks stale training
 *   runs failed (ns_runs_reap_stale()) and records the shipped model as registry version
 *   0 (ns-registry.h).
 * - ns_db_open_readonly(): for commands that only read (queue list, models list, the
 *   default-model lookup): never writes, so a read-only data folder (or a server role that
 *   may only read) does not block them.  A missing SQLite file reads as an empty database
 *   and nothing is created.
 *
 * Every error is an NS_DATA_ERROR whose message starts with the database (the file, or
 * the server location without its password) and says why.  An NsDb handle is not
 * thread-safe by itself: use it from one thread at a time (open one per thread or
 * process; they may all write).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The schema version this build writes. */
#define NS_DB_SCHEMA_VERSION 4

/* How long a write is retried by default while the lock is busy or the server is gone. */
#define NS_DB_RETRY_WINDOW_MS 30000

typedef struct _NsDb NsDb;

/* What changed (ns-db-watch.h): the queue (cases, annotations, claims, reviews, states)
 * or the registry (models, promotions, validations, runs). */
typedef enum
{
  NS_DB_CHANGES_QUEUE = 1 << 0,
  NS_DB_CHANGES_REGISTRY = 1 << 1,
} NsDbChanges;

/* The default location: $NEUROSEG_DB when set and not empty, else the saved setting
 * (ns_db_save_default_location()), else $NEUROSEG_DATA_DIR/neuroseg.db, else
 * g_get_user_data_dir()/neuroseg/neuroseg.db. */
char       *ns_db_dup_default_path (void);
/* Saves the location that ns_db_dup_default_path() answers when $NEUROSEG_DB is not set
 * (a postgresql:// URI or a file; NULL or "": back to the SQLite default), in
 * g_get_user_config_dir()/neuroseg/database.ini. */
gboolean    ns_db_save_default_location (const char *location, GError **error);
/* Whether a location (a path or URI, or NULL: the default) names a server. */
gboolean    ns_db_location_is_server (const char *location);

/* Opens read-write (location NULL: the default); see above. */
NsDb       *ns_db_open             (const char *location, GError **error);
/* Opens read-only (location NULL: the default); see above.  A database of an older
 * schema is migrated first when that is allowed, else refused with the reason. */
NsDb       *ns_db_open_readonly    (const char *location, GError **error);
void        ns_db_close            (NsDb *db);
/* The database: the file (absolute; for a missing database opened read-only, the file
 * that would be read), or the server location without its password. */
const char *ns_db_get_path         (NsDb *db);
gboolean    ns_db_is_readonly      (NsDb *db);
/* "sqlite" or "postgresql". */
const char *ns_db_get_backend_name (NsDb *db);
/* TRUE on a server that several workstations share (claims matter there). */
gboolean    ns_db_is_shared        (NsDb *db);
/* How long writes are retried while the lock is busy or the server cannot be reached
 * (default NS_DB_RETRY_WINDOW_MS); 0: tried once.  An interactive caller may prefer a
 * short window and its own retries (the mask editor's journal keeps the edits). */
void        ns_db_set_retry_window (NsDb *db, guint ms);
/* SQLite: PRAGMA integrity_check.  PostgreSQL: every table read to its end.  FALSE +
 * error quoting the first complaint. */
gboolean    ns_db_check_integrity  (NsDb *db, GError **error);
/* A server only, by its owner (docs/scale.md): creates the roles neuroseg_team (may read
 * and change every row, not the schema) and neuroseg_reader (may read), grants them the
 * tables, also those of later migrations.  Members are added with GRANT neuroseg_team TO
 * a login role.  On SQLite: NS_DATA_ERROR_INVALID (a file is shared by its permissions). */
gboolean    ns_db_setup_team       (NsDb *db, GError **error);

/* One table of a copy, as verified in the target. */
typedef struct
{
  char *table;
  gint64 rows;
  char *sha256;     /* of its values, row by row in key order, the same on both engines */
} NsDbTableSum;

/* Copies everything of source (the queue, claims and their history, reviews, stored
 * masks, the registry with its promotions and validations, the runs) into target, e.g. a
 * workstation's SQLite file into a new PostgreSQL database (`neuroseg queue migrate`).
 * Both must hold the current schema (ns_db_open() migrates).  Row ids are kept.  target
 * must be empty (as ns_db_open() leaves it) unless replace, which deletes its content
 * first; else NS_DATA_ERROR_REFUSED saying how many rows it holds.  The source is read
 * whole first, then the target is written in one transaction that compares the count and
 * sha256 of every table with the source's before it commits: all of it or nothing.  The
 * sums of the target's tables (NsDbTableSum *), or NULL + error. */
GPtrArray  *ns_db_copy             (NsDb *source, NsDb *target, gboolean replace,
                                    GError **error);
void        ns_db_table_sum_free   (NsDbTableSum *sum);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsDb, ns_db_close)

G_END_DECLS
