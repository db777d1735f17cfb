/* SPDX-License-Identifier: MIT
 *
 * ns-test-pg.h: a real PostgreSQL server for the test programs of the queue family, one
 * per test program (ns-test-queue.h chooses it with $NS_TEST_DB=postgresql).
 *
 * The server runs in a temporary folder (its data and its Unix socket; no TCP) from the
 * Debian server programs (pg_config --bindir, else /usr/lib/postgresql/N/bin).  The server
 * refuses to run as root, so a test run as root starts it as "nobody" (the folder is
 * handed to that user); otherwise as the user running the test.  It is stopped and its
 * folder removed at exit; should the test program die, the kernel stops the server too
 * (parent-death signal).  Where the server programs are missing, or no unprivileged user
 * can be found, the test program exits 77 (skipped) saying so; any other failure to start
 * is a test failure with the server's log.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Starts the server (once per program). */
void    ns_test_pg_start         (void);
/* The location of a new, empty database on the server (owned). */
char   *ns_test_pg_fresh_location (void);
/* Stops the server: fast (it tells its clients) or immediate (as if it crashed). */
void    ns_test_pg_stop          (gboolean immediate);
/* Starts it again after ns_test_pg_stop(), on the same data. */
void    ns_test_pg_restart       (void);
/* The location of database on the server as user (NULL: the administrator) (owned). */
char   *ns_test_pg_location_as   (const char *location, const char *user);
/* One integer from a query; runs SQL (both on their own connection). */
gint64  ns_test_pg_sql_int       (const char *location, const char *sql);
void    ns_test_pg_sql_exec      (const char *location, const char *sql);

G_END_DECLS
