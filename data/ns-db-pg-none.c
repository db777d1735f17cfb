/* SPDX-License-Identifier: MIT
 *
 * ns-db-pg-none.c: the PostgreSQL backend of a build without libpq (meson option
 * postgresql disabled, or libpq-dev missing): a server location is refused with the
 * reason, so that no caller needs to know how neuroseg was built.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-db-private.h"

#include "ns-data-error.h"

static gboolean
none_open (NsDb *db, gboolean readonly, GError **error)
{
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
               "%s: this neuroseg was built without PostgreSQL support (libpq): rebuild it "
               "with libpq-dev installed (meson option postgresql)", db->path);
  return FALSE;
}

static void
none_close (NsDb *db)
{
}

const NsDbBackend _ns_db_pg_backend = {
  .name = "postgresql",
  .shared = TRUE,
  .open = none_open,
  .close = none_close,
};
