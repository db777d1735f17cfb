/* SPDX-License-Identifier: MIT
 *
 * ns-runs-private.h: the steps of a run that other modules take inside their own write
 * transaction (the registration of a run's model, ns-registry.c).
 */
#pragma once

#include "ns-runs.h"

G_BEGIN_DECLS

/* The run exists and may still produce a model (running, or failed by the reaper while
 * its trainer was finishing). */
gboolean _ns_runs_check_can_produce (NsDb *db, gint64 run_id, GError **error);
/* Ends the run with its model version: succeeded, or failed when failure is set; on
 * success its cases that are still queued become used by version. */
gboolean _ns_runs_end_with_model    (NsDb *db, gint64 run_id, int version,
                                     const char *failure, const char *now, GError **error);

G_END_DECLS
