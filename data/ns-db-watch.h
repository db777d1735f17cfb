/* SPDX-License-Identifier: MIT
 *
 * ns-db-watch.h: being told that the queue or the registry changed, by this process,
 * another one, or another workstation: what the queue panel and the Models window follow
 * to stay current without the user asking.
 *
 *   GSource *s = ns_db_watch_source_new (NULL, 0);
 *   g_source_set_callback (s, G_SOURCE_FUNC (changed_cb), self, NULL);
 *   g_source_attach (s, NULL);   (and g_source_destroy (s) in dispose)
 *
 *   static gboolean
 *   changed_cb (NsDbChanges changes, gpointer user_data)
 *   { if (changes & NS_DB_CHANGES_QUEUE) ...refresh...; return G_SOURCE_CONTINUE; }
 *
 * On a server (PostgreSQL) the watcher LISTENs and is told at once when a writing
 * transaction commits; it also compares the change serials every 10 s and after every
 * reconnection, so that nothing missed while the connection was down goes unnoticed.  On
 * SQLite it reads the change serials every poll_ms.  Several changes in quick succession
 * may arrive as one dispatch.  A database that does not exist yet (SQLite) is waited for;
 * a server that cannot be reached is tried again every few seconds; connecting happens in
 * a thread, so that the main loop never waits for a server.  Nothing is dispatched for the
 * state at the start: the caller reads it once itself.
 */
#pragma once

#include "ns-db.h"

G_BEGIN_DECLS

/* The callback of the source (set with g_source_set_callback() and G_SOURCE_FUNC()). */
typedef gboolean (*NsDbWatchFunc) (NsDbChanges changes, gpointer user_data);

/* A watch on the database at location (NULL: ns_db_dup_default_path()), polling SQLite
 * every poll_ms (0: 1000). */
GSource *ns_db_watch_source_new        (const char *location, guint poll_ms);
/* Whether the watch is connected now (a server) or reading the file (SQLite), and if not,
 * why (*why owned, nullable). */
gboolean ns_db_watch_source_is_watching (GSource *source, char **why);

G_END_DECLS
