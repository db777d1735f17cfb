/* SPDX-License-Identifier: MIT
 *
 * ns-queue-session.h: one's claim on a queued case while it is open for correction in the
 * workbench (issue 19): claimed when the queue panel opens the case (or taken over, on
 * purpose), kept alive by the keeper (data/ns-queue-keeper.h, off the main loop), released
 * when the case is closed (ns_queue_session_release(), or the last reference dropped).
 *
 * When the claim is lost (a colleague took the case over, or claimed it after the lease
 * ran out while this workstation was away), signal "lost" (const char *why) is emitted
 * once and ns_queue_session_check() refuses from then on, saying who holds the case now
 * and that the edits are kept: the mask editor's journal holds them, and nothing is
 * written to the queue over the colleague's work.
 */
#pragma once

#include <glib-object.h>

#include "ns-queue.h"

G_BEGIN_DECLS

#define NS_TYPE_QUEUE_SESSION (ns_queue_session_get_type ())

G_DECLARE_FINAL_TYPE (NsQueueSession, ns_queue_session, NS, QUEUE_SESSION, GObject)

/* Claims case_id of the database at location (NULL: the default) for who (NULL: the user
 * name) with leases of lease_s (0: NS_QUEUE_LEASE_DEFAULT_S).  take_over: takes it from
 * whoever holds it (recorded with note); else a case someone else holds is refused with
 * NS_DATA_ERROR_REFUSED naming them.  A server that cannot be reached is reported after
 * 2 s of retries (NS_DATA_ERROR_UNAVAILABLE): the user is waiting. */
NsQueueSession *ns_queue_session_new      (const char *location, gint64 case_id,
                                           const char *who, guint lease_s,
                                           gboolean take_over, const char *note,
                                           GError **error);
gint64          ns_queue_session_get_case_id (NsQueueSession *self);
/* The claim's token (what a correction made under it presents). */
const char     *ns_queue_session_get_token   (NsQueueSession *self);
/* NULL while the claim holds, else why it was lost (borrowed). */
const char     *ns_queue_session_get_lost_reason (NsQueueSession *self);
/* TRUE while the claim is one's own (and was not released); else FALSE + an
 * NS_DATA_ERROR_REFUSED error saying why, who holds the case and that the edits are kept. */
gboolean        ns_queue_session_check    (NsQueueSession *self, GError **error);
/* Stops renewing and gives the claim back (recorded).  A claim lost meanwhile is not an
 * error; a server that cannot be reached is (the claim then runs out with its lease).
 * Calling it again does nothing. */
gboolean        ns_queue_session_release  (NsQueueSession *self, GError **error);

G_END_DECLS
