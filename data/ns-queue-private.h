/* SPDX-License-Identifier: MIT
 *
 * ns-queue-private.h: the steps of the queue that other modules take inside their own
 * write transaction (a run's model marks its cases used, ns-runs.c).
 */
#pragma once

#include "ns-queue.h"

G_BEGIN_DECLS

/* The case row exists; NS_DATA_ERROR_NOT_FOUND otherwise. */
gboolean _ns_queue_check_case (NsDb *db, gint64 case_row, GError **error);
/* Changes a case's state (version: the model for USED) with a history entry at now. */
gboolean _ns_queue_set_state  (NsDb *db, gint64 case_row, NsQueueState state, int version,
                               const char *who, const char *note, const char *now,
                               GError **error);

G_END_DECLS
