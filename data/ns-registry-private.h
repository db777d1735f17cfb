/* SPDX-License-Identifier: MIT
 *
 * ns-registry-private.h: what the database and its other modules ask of the registry.
 */
#pragma once

#include "ns-registry.h"

G_BEGIN_DECLS

/* The model version exists (0: the shipped model's row); NS_DATA_ERROR_NOT_FOUND
 * otherwise. */
gboolean _ns_registry_check_model   (NsDb *db, int version, GError **error);
/* Creates or refreshes the row of version 0 from the shipped model's file when it is found
 * (ns_paths_dup_shipped_model()); nothing when it is not.  Called by ns_db_open(). */
gboolean _ns_registry_sync_shipped  (NsDb *db, GError **error);

G_END_DECLS
