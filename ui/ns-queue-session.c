/* SPDX-License-Identifier: MIT
 *
 * ns-queue-session.c: a claim held while a case is open for correction: the claim, its
 * keeper, and what happened to it.
 */
#define G_LOG_DOMAIN "neuroseg-ui"

#include "ns-queue-session.h"

#include "ns-data-error.h"
#include "ns-queue-keeper.h"

struct _NsQueueSession
{
  GObject parent_instance;

  char *location;
  NsQueueClaim *claim;
  char *case_name;           /* for messages */
  NsQueueClaimKeeper *keeper;
  char *lost;                /* why the claim was lost, NULL while it holds */
  gboolean released;
};

enum { SIGNAL_LOST, N_SIGNALS };
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (NsQueueSession, ns_queue_session, G_TYPE_OBJECT)

static void
on_lost (const char *why, gpointer user_data)
{
  NsQueueSession *self = user_data;

  if (self->lost != NULL)
    return;
  self->lost = g_strdup (why);
  g_signal_emit (self, signals[SIGNAL_LOST], 0, why);
}

NsQueueSession *
ns_queue_session_new (const char *location, gint64 case_id, const char *who, guint lease_s,
                      gboolean take_over, const char *note, GError **error)
{
  g_autoptr (NsDb) db = ns_db_open (location, error);
  g_autoptr (NsQueueClaim) claim = NULL;
  g_autofree char *ref = g_strdup_printf ("%" G_GINT64_FORMAT, case_id);
  g_autoptr (NsQueueEntry) entry = NULL;
  NsQueueSession *self;

  if (db == NULL)
    return NULL;
  /* the user waits for it (Open): a server that is away is said at once, not in 30 s */
  ns_db_set_retry_window (db, 2000);
  entry = ns_queue_dup_entry (db, ref, error);
  if (entry == NULL)
    return NULL;
  claim = take_over ? ns_queue_take_over (db, case_id, who, lease_s, note, error)
                    : ns_queue_claim (db, case_id, who, lease_s, error);
  if (claim == NULL)
    return NULL;
  self = g_object_new (NS_TYPE_QUEUE_SESSION, NULL);
  self->location = g_strdup (location);
  self->case_name = g_strdup (entry->case_id);
  self->claim = g_steal_pointer (&claim);
  self->keeper = ns_queue_claim_keeper_new (location, self->claim, lease_s, on_lost, self);
  return self;
}

gint64
ns_queue_session_get_case_id (NsQueueSession *self)
{
  return self->claim->case_id;
}

const char *
ns_queue_session_get_token (NsQueueSession *self)
{
  return self->claim->token;
}

const char *
ns_queue_session_get_lost_reason (NsQueueSession *self)
{
  return self->lost;
}

gboolean
ns_queue_session_check (NsQueueSession *self, GError **error)
{
  if (self->lost != NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED,
                   "You no longer hold case %s: %s.  Nothing was written to the queue; "
                   "your edits are kept (the mask editor's journal) and can be saved to a "
                   "file, or sent once the case is yours again (Take Over in the queue).",
                   self->case_name, self->lost);
      return FALSE;
    }
  if (self->released)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED,
                   "Case %s was closed: its claim was given back", self->case_name);
      return FALSE;
    }
  return TRUE;
}

gboolean
ns_queue_session_release (NsQueueSession *self, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (NsDb) db = NULL;

  if (self->released)
    return TRUE;
  self->released = TRUE;
  g_clear_pointer (&self->keeper, ns_queue_claim_keeper_free);
  if (self->lost != NULL)
    return TRUE; /* someone else's now: nothing to give back */
  db = ns_db_open (self->location, error);
  if (db == NULL)
    return FALSE;
  if (!ns_queue_release_claim (db, self->claim, &local))
    {
      /* lost meanwhile (the keeper had not noticed yet): not ours to give back */
      if (g_error_matches (local, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  return TRUE;
}

static void
ns_queue_session_dispose (GObject *object)
{
  NsQueueSession *self = NS_QUEUE_SESSION (object);
  g_autoptr (GError) error = NULL;

  if (self->claim != NULL && !ns_queue_session_release (self, &error))
    g_warning ("case %s: cannot give the claim back (it runs out with its lease): %s",
               self->case_name, error->message);
  G_OBJECT_CLASS (ns_queue_session_parent_class)->dispose (object);
}

static void
ns_queue_session_finalize (GObject *object)
{
  NsQueueSession *self = NS_QUEUE_SESSION (object);

  g_clear_pointer (&self->claim, ns_queue_claim_free);
  g_free (self->location);
  g_free (self->case_name);
  g_free (self->lost);
  G_OBJECT_CLASS (ns_queue_session_parent_class)->finalize (object);
}

static void
ns_queue_session_class_init (NsQueueSessionClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = ns_queue_session_dispose;
  G_OBJECT_CLASS (klass)->finalize = ns_queue_session_finalize;
  signals[SIGNAL_LOST] = g_signal_new ("lost", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                       0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
ns_queue_session_init (NsQueueSession *self)
{
}
