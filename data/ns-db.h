/* SPDX-License-Identifier: MIT
 *
 * ns-db.h: the one SQLite database of the fine-tuning queue (ns-queue.h), the model
 * registry (ns-registry.h) and the training runs (ns-runs.h).
 *
 * Where: $NEUROSEG_DATA_DIR/neuroseg.db when that variable is set, else
 * g_get_user_data_dir()/neuroseg/neuroseg.db (ns_db_dup_default_path()).
 *
 * Several processes (the GUI, a trainer, the command line) use the file at once: it is in
 * WAL mode (readers never wait), every write is one BEGIN IMMEDIATE transaction that is
 * retried on SQLITE_BUSY after the busy timeout, so a writer either commits all of a
 * change or nothing.  synchronous=NORMAL: a killed process loses nothing it committed;
 * only a power cut may lose the last transactions (never consistency).
 *
 * Two ways to open it:
 * - ns_db_open(): read-write.  Creates the file and its folder, migrates the schema
 *   forward (PRAGMA user_version; a database from a newer Neuroseg is refused), marks
 *   stale training runs failed (ns_runs_reap_stale()) and records the shipped model as
 *   registry version 0 (ns-registry.h).
 * - ns_db_open_readonly(): for commands that only read (queue list, models list, the
 *   default-model lookup): never writes, so a read-only data folder does not block them.
 *   A missing database reads as an empty one and nothing is created.
 *
 * Every error is an NS_DATA_ERROR whose message starts with the database file (or the
 * file concerned) and says why.  An NsDb handle is not thread-safe by itself: use it from
 * one thread at a time (open one per thread or process; they may all write).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The schema version this build writes (PRAGMA user_version). */
#define NS_DB_SCHEMA_VERSION 3

typedef struct _NsDb NsDb;

/* $NEUROSEG_DATA_DIR/neuroseg.db, else g_get_user_data_dir()/neuroseg/neuroseg.db. */
char       *ns_db_dup_default_path (void);

/* Opens read-write (path NULL: the default path); see above. */
NsDb       *ns_db_open             (const char *path, GError **error);
/* Opens read-only (path NULL: the default path); see above.  A database of an older
 * schema is migrated first when its folder is writable, else refused with the reason. */
NsDb       *ns_db_open_readonly    (const char *path, GError **error);
void        ns_db_close            (NsDb *db);
/* The database file (absolute; for a missing database opened read-only, the file that
 * would be read). */
const char *ns_db_get_path         (NsDb *db);
gboolean    ns_db_is_readonly      (NsDb *db);
/* PRAGMA integrity_check; FALSE + error quoting its first complaint. */
gboolean    ns_db_check_integrity  (NsDb *db, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsDb, ns_db_close)

G_END_DECLS
