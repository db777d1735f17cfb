/* SPDX-License-Identifier: MIT
 *
 * ns-test-pg-none.c: ns-test-pg.h in a build without PostgreSQL (libpq): meson registers
 * no test on a server there, and a program asked for one is skipped.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-test-pg.h"

#include <stdio.h>
#include <stdlib.h>

void
ns_test_pg_start (void)
{
  g_print ("1..0 # SKIP this build has no PostgreSQL support (libpq)\n");
  exit (77);
}

char *
ns_test_pg_fresh_location (void)
{
  ns_test_pg_start ();
  return NULL;
}

void
ns_test_pg_stop (gboolean immediate)
{
  ns_test_pg_start ();
}

void
ns_test_pg_restart (void)
{
  ns_test_pg_start ();
}

char *
ns_test_pg_location_as (const char *location, const char *user)
{
  ns_test_pg_start ();
  return NULL;
}

gint64
ns_test_pg_sql_int (const char *location, const char *sql)
{
  ns_test_pg_start ();
  return 0;
}

void
ns_test_pg_sql_exec (const char *location, const char *sql)
{
  ns_test_pg_start ();
}
