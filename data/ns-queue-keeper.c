/* SPDX-License-Identifier: MIT
 *
 * ns-queue-keeper.c: the claim keeper of ns-queue-keeper.h.
 *
 * One thread per keeper sleeps on a condition variable for a third of the lease, then
 * renews the claim on a handle of its own (opened on the first turn, again after a
 * failure).  Its writes are tried once per turn (a retry window of a turn at most), so
 * that freeing the keeper never waits long.  The loss is handed to the caller's main
 * context as an idle source that the keeper destroys when freed first.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-queue-keeper.h"

#include "ns-data-error.h"

struct _NsQueueClaimKeeper
{
  GMutex lock;
  GCond cond;
  gboolean stop;
  GThread *thread;
  char *location;
  NsQueueClaim claim;        /* case_id and token (owned) */
  guint lease_s;
  GMainContext *context;
  NsQueueClaimLostFunc lost;
  gpointer user_data;
  GSource *lost_source;      /* attached once the claim is lost */
  char *why;
};

static gboolean
lost_dispatch (gpointer data)
{
  NsQueueClaimKeeper *k = data;
  k->lost (k->why, k->user_data);
  return G_SOURCE_REMOVE;
}

static void
report_lost (NsQueueClaimKeeper *k, const char *why)
{
  g_mutex_lock (&k->lock);
  if (!k->stop)
    {
      k->why = g_strdup (why);
      k->lost_source = g_idle_source_new ();
      g_source_set_name (k->lost_source, "ns-queue-claim-lost");
      g_source_set_callback (k->lost_source, lost_dispatch, k, NULL);
      g_source_attach (k->lost_source, k->context);
    }
  g_mutex_unlock (&k->lock);
}

static gpointer
keeper_thread (gpointer data)
{
  NsQueueClaimKeeper *k = data;
  guint lease_s = k->lease_s > 0 ? k->lease_s : NS_QUEUE_LEASE_DEFAULT_S;
  gint64 turn_us = (gint64) lease_s * G_USEC_PER_SEC / 3;
  NsDb *db = NULL;

  for (;;)
    {
      gboolean stop;
      gint64 until = g_get_monotonic_time () + turn_us;
      g_mutex_lock (&k->lock);
      while (!k->stop && g_cond_wait_until (&k->cond, &k->lock, until))
        ;
      stop = k->stop;
      g_mutex_unlock (&k->lock);
      if (stop)
        break;

      g_autoptr (GError) error = NULL;
      if (db == NULL)
        {
          db = ns_db_open (k->location, &error);
          if (db == NULL)
            {
              g_message ("keeping the claim on case %" G_GINT64_FORMAT ": %s (tried again in "
                         "%u s)", k->claim.case_id, error->message, lease_s / 3);
              continue;
            }
          ns_db_set_retry_window (db, (guint) MIN (turn_us / 1000, 5000));
        }
      if (ns_queue_renew_claim (db, &k->claim, lease_s, &error))
        continue;
      if (g_error_matches (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED))
        {
          report_lost (k, error->message);
          break;
        }
      g_message ("keeping the claim on case %" G_GINT64_FORMAT ": %s (tried again in %u s)",
                 k->claim.case_id, error->message, lease_s / 3);
      g_clear_pointer (&db, ns_db_close);
    }
  g_clear_pointer (&db, ns_db_close);
  return NULL;
}

NsQueueClaimKeeper *
ns_queue_claim_keeper_new (const char *location, const NsQueueClaim *claim, guint lease_s,
                           NsQueueClaimLostFunc lost, gpointer user_data)
{
  g_return_val_if_fail (location != NULL && claim != NULL && claim->token != NULL, NULL);
  g_return_val_if_fail (lost != NULL, NULL);
  NsQueueClaimKeeper *k = g_new0 (NsQueueClaimKeeper, 1);
  g_mutex_init (&k->lock);
  g_cond_init (&k->cond);
  k->location = g_strdup (location);
  k->claim.case_id = claim->case_id;
  k->claim.token = g_strdup (claim->token);
  k->lease_s = lease_s;
  k->context = g_main_context_ref_thread_default ();
  k->lost = lost;
  k->user_data = user_data;
  k->thread = g_thread_new ("ns-claim-keeper", keeper_thread, k);
  return k;
}

void
ns_queue_claim_keeper_free (NsQueueClaimKeeper *k)
{
  if (k == NULL)
    return;
  g_mutex_lock (&k->lock);
  k->stop = TRUE;
  g_cond_signal (&k->cond);
  g_mutex_unlock (&k->lock);
  g_thread_join (k->thread);
  if (k->lost_source != NULL)
    {
      g_source_destroy (k->lost_source);
      g_source_unref (k->lost_source);
    }
  g_main_context_unref (k->context);
  g_free (k->why);
  g_free (k->claim.token);
  g_free (k->claim.expires);
  g_free (k->location);
  g_cond_clear (&k->cond);
  g_mutex_clear (&k->lock);
  g_free (k);
}
