/* SPDX-License-Identifier: MIT
 *
 * ns-queue-keeper.h: keeping one's claim on a case (ns-queue.h) alive while the case is
 * open for correction, without the main loop ever waiting for the database.
 *
 *   NsQueueClaim *claim = ns_queue_claim (db, case_id, NULL, 0, &error);
 *   self->keeper = ns_queue_claim_keeper_new (ns_db_get_path (db), claim, 0, lost_cb, self);
 *   ...
 *   g_clear_pointer (&self->keeper, ns_queue_claim_keeper_free);   (then release the claim)
 *
 * The keeper renews the lease every third of it from a thread with its own database
 * handle (a server that is away is tried again at the next turn; the claim stays one's
 * own as long as nobody else claims the case, even after the lease ran out).  When the
 * claim is lost (taken over, or claimed by another after its lease ran out), lost is
 * called once, in the thread-default main context of the caller of _new, with the reason
 * (NS_DATA_ERROR_REFUSED's message, saying who holds the case now), and renewing stops.
 */
#pragma once

#include "ns-queue.h"

G_BEGIN_DECLS

typedef struct _NsQueueClaimKeeper NsQueueClaimKeeper;

typedef void (*NsQueueClaimLostFunc) (const char *why, gpointer user_data);

/* Keeps claim (copied) alive on the database at location, with leases of lease_s
 * (0: NS_QUEUE_LEASE_DEFAULT_S). */
NsQueueClaimKeeper *ns_queue_claim_keeper_new  (const char *location, const NsQueueClaim *claim,
                                                guint lease_s, NsQueueClaimLostFunc lost,
                                                gpointer user_data);
/* Stops renewing (waits for a renewal in progress) and frees; lost is not called after.
 * The claim is not released: release it with ns_queue_release_claim(). */
void                ns_queue_claim_keeper_free (NsQueueClaimKeeper *keeper);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsQueueClaimKeeper, ns_queue_claim_keeper_free)

G_END_DECLS
