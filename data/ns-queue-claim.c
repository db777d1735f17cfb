/* SPDX-License-Identifier: MIT
 *
 * ns-queue-claim.c: claims on the cases of the queue (see ns-queue.h): who corrects a
 * case, with a lease.
 *
 * A claim is the row of its case in `claims` (at most one: the primary key), with the
 * token of the claiming session and lease_until in milliseconds on the database's clock.
 * A claim "holds" while lease_until is in the future; a claim whose lease ran out stays
 * in the table until someone else claims the case (so that its holder may still renew it
 * while nobody did) and is shown to nobody.  Every claim, release and take-over is one
 * write transaction (writers are serialised: two workstations can never both find a case
 * free and claim it) that also records the event in claim_history.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-queue-private.h"

#include "ns-data-error.h"
#include "ns-db-private.h"

#include <string.h>
#include <unistd.h>

static const char *
this_host (void)
{
  return g_get_host_name ();
}

/* A token nobody else has: a random UUID, and the process id, since a forked process
 * continues the random sequence of its parent (g_random_*) and would draw the same. */
static char *
new_token (void)
{
  g_autofree char *uuid = g_uuid_string_random ();
  return g_strdup_printf ("%s-%ld", uuid, (long) getpid ());
}

static guint
lease_or_default (guint lease_s)
{
  return lease_s > 0 ? lease_s : NS_QUEUE_LEASE_DEFAULT_S;
}

void
ns_queue_claim_free (NsQueueClaim *c)
{
  if (c == NULL)
    return;
  g_free (c->token);
  g_free (c->who);
  g_free (c->host);
  g_free (c->since);
  g_free (c->expires);
  g_free (c);
}

void
ns_queue_claim_event_free (NsQueueClaimEvent *e)
{
  if (e == NULL)
    return;
  g_free (e->event);
  g_free (e->token);
  g_free (e->who);
  g_free (e->host);
  g_free (e->at);
  g_free (e->note);
  g_free (e);
}

char *
_ns_queue_dup_case_name (NsDb *db, gint64 case_row)
{
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db, "SELECT case_id FROM cases WHERE id = ?", NULL);
  if (st != NULL)
    {
      _ns_db_bind_int (st, 1, case_row);
      if (_ns_db_step (st) == NS_DB_STEP_ROW)
        return _ns_db_column_text (st, 0);
    }
  return g_strdup_printf ("%" G_GINT64_FORMAT, case_row);
}

#define CLAIM_SELECT "SELECT case_ref, token, who, host, since, lease_until FROM claims "

static NsQueueClaim *
claim_from_row (NsDbStmt *st)
{
  NsQueueClaim *c = g_new0 (NsQueueClaim, 1);
  c->case_id = _ns_db_column_int64 (st, 0);
  c->token = _ns_db_column_text (st, 1);
  c->who = _ns_db_column_text (st, 2);
  c->host = _ns_db_column_text (st, 3);
  c->since = _ns_db_column_text (st, 4);
  c->expires_ms = _ns_db_column_int64 (st, 5);
  c->expires = _ns_db_dup_iso_ms (c->expires_ms);
  return c;
}

/* The row of a case's claim, held or not; *claim NULL when there is none. */
static gboolean
read_claim (NsDb *db, gint64 case_row, NsQueueClaim **claim, GError **error)
{
  *claim = NULL;
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db, CLAIM_SELECT "WHERE case_ref = ?", error);
  if (st == NULL)
    return FALSE;
  _ns_db_bind_int (st, 1, case_row);
  NsDbStep r = _ns_db_step (st);
  if (r == NS_DB_STEP_ROW)
    *claim = claim_from_row (st);
  else if (r != NS_DB_STEP_DONE)
    {
      _ns_db_set_error (db, error, "cannot read the claims");
      return FALSE;
    }
  return TRUE;
}

static gboolean
add_event (NsDb *db, gint64 case_row, const char *event, const NsQueueClaim *c,
           const char *note, GError **error)
{
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
    "INSERT INTO claim_history (case_ref, event, token, who, host, at, note) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)", error);
  if (st == NULL)
    return FALSE;
  g_autofree char *now = _ns_db_dup_now ();
  _ns_db_bind_int (st, 1, case_row);
  _ns_db_bind_text (st, 2, event);
  _ns_db_bind_text (st, 3, c->token);
  _ns_db_bind_text (st, 4, c->who);
  _ns_db_bind_text (st, 5, c->host);
  _ns_db_bind_text (st, 6, now);
  _ns_db_bind_text (st, 7, note);
  return _ns_db_step_done (st, "cannot record the claim", error);
}

/* "who on host since S (until E)" of a claim (owned). */
static char *
describe (const NsQueueClaim *c)
{
  return g_strdup_printf ("%s on %s since %s (until %s)", c->who, c->host, c->since,
                          c->expires);
}

/* ---- claim, take over ---------------------------------------------------------------- */

typedef struct
{
  gint64 case_row;
  const char *who;
  guint lease_s;
  gboolean take_over;
  const char *note;
  NsQueueClaim *claim;   /* out */
} ClaimData;

static gboolean
claim_txn (NsDb *db, gpointer data, GError **error)
{
  ClaimData *d = data;
  g_autoptr (NsQueueClaim) old = NULL;
  gint64 now;

  g_clear_pointer (&d->claim, ns_queue_claim_free);
  if (!_ns_queue_check_case (db, d->case_row, error) || !_ns_db_now_ms (db, &now, error)
      || !read_claim (db, d->case_row, &old, error))
    return FALSE;
  gboolean holds = old != NULL && old->expires_ms > now;
  if (holds && !d->take_over)
    {
      g_autofree char *name = _ns_queue_dup_case_name (db, d->case_row);
      g_autofree char *who = describe (old);
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED,
                   "%s: case %s is claimed by %s: take it over to work on it", db->path,
                   name, who);
      return FALSE;
    }

  g_autoptr (NsQueueClaim) c = g_new0 (NsQueueClaim, 1);
  c->case_id = d->case_row;
  c->token = new_token ();
  c->who = g_strdup (d->who != NULL ? d->who : g_get_user_name ());
  c->host = g_strdup (this_host ());
  c->since = _ns_db_dup_now ();
  c->expires_ms = now + (gint64) lease_or_default (d->lease_s) * 1000;
  c->expires = _ns_db_dup_iso_ms (c->expires_ms);

  g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
    "INSERT INTO claims (case_ref, token, who, host, since, lease_until) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (case_ref) DO UPDATE SET "
    "token = ?2, who = ?3, host = ?4, since = ?5, lease_until = ?6", error);
  if (st == NULL)
    return FALSE;
  _ns_db_bind_int (st, 1, c->case_id);
  _ns_db_bind_text (st, 2, c->token);
  _ns_db_bind_text (st, 3, c->who);
  _ns_db_bind_text (st, 4, c->host);
  _ns_db_bind_text (st, 5, c->since);
  _ns_db_bind_int (st, 6, c->expires_ms);
  if (!_ns_db_step_done (st, "cannot record the claim", error))
    return FALSE;

  g_autofree char *note = NULL;
  if (holds)
    note = g_strdup_printf ("from %s on %s (claimed since %s)%s%s", old->who, old->host,
                            old->since, d->note != NULL ? ": " : "",
                            d->note != NULL ? d->note : "");
  else if (old != NULL)
    note = g_strdup_printf ("the lease of %s on %s (claimed since %s) had run out",
                            old->who, old->host, old->since);
  else if (d->note != NULL)
    note = g_strdup (d->note);
  if (!add_event (db, d->case_row, holds ? "take-over" : "claim", c, note, error))
    return FALSE;
  _ns_db_touch (db, NS_DB_CHANGES_QUEUE);
  d->claim = g_steal_pointer (&c);
  return TRUE;
}

static NsQueueClaim *
claim (NsDb *db, gint64 case_id, const char *who, guint lease_s, gboolean take_over,
       const char *note, GError **error)
{
  ClaimData d = { case_id, who, lease_s, take_over, note, NULL };
  if (!_ns_db_write (db, claim_txn, &d, error))
    {
      g_clear_pointer (&d.claim, ns_queue_claim_free);
      return NULL;
    }
  return d.claim;
}

NsQueueClaim *
ns_queue_claim (NsDb *db, gint64 case_id, const char *who, guint lease_s, GError **error)
{
  g_return_val_if_fail (db != NULL, NULL);
  return claim (db, case_id, who, lease_s, FALSE, NULL, error);
}

NsQueueClaim *
ns_queue_take_over (NsDb *db, gint64 case_id, const char *who, guint lease_s,
                    const char *note, GError **error)
{
  g_return_val_if_fail (db != NULL, NULL);
  return claim (db, case_id, who, lease_s, TRUE, note, error);
}

/* ---- whether a claim is still one's own ----------------------------------------------------- */

/* NS_DATA_ERROR_REFUSED: the claim under token on the case is lost, saying to whom. */
static void
set_lost (NsDb *db, gint64 case_row, const NsQueueClaim *now_held, GError **error)
{
  g_autofree char *name = _ns_queue_dup_case_name (db, case_row);
  g_autofree char *who = now_held != NULL ? describe (now_held) : NULL;
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED,
               "%s: the claim on case %s is no longer yours: %s%s", db->path, name,
               who != NULL ? "it is now claimed by " : "it was released or taken over and "
                                                       "released since",
               who != NULL ? who : "");
}

gboolean
_ns_queue_check_claim (NsDb *db, gint64 case_row, const char *token, GError **error)
{
  g_autoptr (NsQueueClaim) c = NULL;
  gint64 now;

  if (case_row == 0)
    {
      if (token == NULL)
        return TRUE;
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED,
                   "%s: a correction under a claim, but the case is not in the queue",
                   db->path);
      return FALSE;
    }
  if (!_ns_db_now_ms (db, &now, error) || !read_claim (db, case_row, &c, error))
    return FALSE;
  if (c != NULL && g_strcmp0 (c->token, token) == 0)
    return TRUE;   /* one's own, even after its lease ran out: nobody claimed it since */
  if (token != NULL)
    {
      set_lost (db, case_row, c != NULL && c->expires_ms > now ? c : NULL, error);
      return FALSE;
    }
  if (c != NULL && c->expires_ms > now)
    {
      g_autofree char *name = _ns_queue_dup_case_name (db, case_row);
      g_autofree char *who = describe (c);
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED,
                   "%s: case %s is claimed by %s; their correction is not overwritten: take "
                   "the case over first", db->path, name, who);
      return FALSE;
    }
  return TRUE;
}

gboolean
_ns_queue_check_unclaimed (NsDb *db, gint64 case_row, const char *action, GError **error)
{
  g_autoptr (NsQueueClaim) c = NULL;
  gint64 now;

  if (!_ns_db_now_ms (db, &now, error) || !read_claim (db, case_row, &c, error))
    return FALSE;
  if (c == NULL || c->expires_ms <= now)
    return TRUE;
  g_autofree char *name = _ns_queue_dup_case_name (db, case_row);
  g_autofree char *who = describe (c);
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED,
               "%s: case %s is claimed by %s: take it over before %s", db->path, name, who,
               action);
  return FALSE;
}

/* ---- renew, release ------------------------------------------------------------------- */

typedef struct
{
  NsQueueClaim *claim;
  guint lease_s;
  gboolean release;
} KeepData;

static gboolean
keep_txn (NsDb *db, gpointer data, GError **error)
{
  KeepData *d = data;
  g_autoptr (NsQueueClaim) c = NULL;
  gint64 now;

  if (!_ns_db_now_ms (db, &now, error) || !read_claim (db, d->claim->case_id, &c, error))
    return FALSE;
  if (c == NULL || g_strcmp0 (c->token, d->claim->token) != 0)
    {
      set_lost (db, d->claim->case_id, c != NULL && c->expires_ms > now ? c : NULL, error);
      return FALSE;
    }
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db, d->release
    ? "DELETE FROM claims WHERE case_ref = ? AND token = ?"
    : "UPDATE claims SET lease_until = ?3 WHERE case_ref = ?1 AND token = ?2", error);
  if (st == NULL)
    return FALSE;
  gint64 until = now + (gint64) lease_or_default (d->lease_s) * 1000;
  _ns_db_bind_int (st, 1, c->case_id);
  _ns_db_bind_text (st, 2, c->token);
  if (!d->release)
    _ns_db_bind_int (st, 3, until);
  if (!_ns_db_step_done (st, "cannot change the claim", error))
    return FALSE;
  if (d->release)
    {
      _ns_db_touch (db, NS_DB_CHANGES_QUEUE);
      return add_event (db, c->case_id, "release", c, NULL, error);
    }
  d->claim->expires_ms = until;
  g_free (d->claim->expires);
  d->claim->expires = _ns_db_dup_iso_ms (until);
  return TRUE;
}

gboolean
ns_queue_renew_claim (NsDb *db, NsQueueClaim *claim, guint lease_s, GError **error)
{
  KeepData d = { claim, lease_s, FALSE };
  g_return_val_if_fail (db != NULL && claim != NULL && claim->token != NULL, FALSE);
  return _ns_db_write (db, keep_txn, &d, error);
}

gboolean
ns_queue_release_claim (NsDb *db, const NsQueueClaim *claim, GError **error)
{
  KeepData d = { (NsQueueClaim *) claim, 0, TRUE };
  g_return_val_if_fail (db != NULL && claim != NULL && claim->token != NULL, FALSE);
  return _ns_db_write (db, keep_txn, &d, error);
}

/* ---- reading ---------------------------------------------------------------------------- */

/* Claims that hold, of one case (case_row > 0) or all. */
static GPtrArray *
select_claims (NsDb *db, gint64 case_row, GError **error)
{
  gint64 now;
  if (!_ns_db_now_ms (db, &now, error))
    return NULL;
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db, case_row > 0
    ? CLAIM_SELECT "WHERE lease_until > ?1 AND case_ref = ?2"
    : CLAIM_SELECT "WHERE lease_until > ?1 ORDER BY case_ref", error);
  if (st == NULL)
    return NULL;
  _ns_db_bind_int (st, 1, now);
  if (case_row > 0)
    _ns_db_bind_int (st, 2, case_row);
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_queue_claim_free);
  NsDbStep r;
  while ((r = _ns_db_step (st)) == NS_DB_STEP_ROW)
    g_ptr_array_add (out, claim_from_row (st));
  if (r != NS_DB_STEP_DONE)
    {
      _ns_db_set_error (db, error, "cannot read the claims");
      return NULL;
    }
  return g_steal_pointer (&out);
}

NsQueueClaim *
ns_queue_dup_claim (NsDb *db, gint64 case_id, GError **error)
{
  g_return_val_if_fail (db != NULL && case_id > 0, NULL);
  g_autoptr (GPtrArray) a = select_claims (db, case_id, error);
  if (a == NULL || a->len == 0)
    return NULL;
  return g_ptr_array_steal_index (a, 0);
}

GPtrArray *
ns_queue_list_claims (NsDb *db, GError **error)
{
  g_return_val_if_fail (db != NULL, NULL);
  return select_claims (db, 0, error);
}

GPtrArray *
ns_queue_list_claim_history (NsDb *db, gint64 case_id, GError **error)
{
  g_return_val_if_fail (db != NULL, NULL);
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
    "SELECT event, token, who, host, at, note FROM claim_history WHERE case_ref = ? "
    "ORDER BY id", error);
  if (st == NULL)
    return NULL;
  _ns_db_bind_int (st, 1, case_id);
  g_autoptr (GPtrArray) out =
    g_ptr_array_new_with_free_func ((GDestroyNotify) ns_queue_claim_event_free);
  NsDbStep r;
  while ((r = _ns_db_step (st)) == NS_DB_STEP_ROW)
    {
      NsQueueClaimEvent *e = g_new0 (NsQueueClaimEvent, 1);
      e->event = _ns_db_column_text (st, 0);
      e->token = _ns_db_column_text (st, 1);
      e->who = _ns_db_column_text (st, 2);
      e->host = _ns_db_column_text (st, 3);
      e->at = _ns_db_column_text (st, 4);
      e->note = _ns_db_column_text (st, 5);
      g_ptr_array_add (out, e);
    }
  if (r != NS_DB_STEP_DONE)
    {
      _ns_db_set_error (db, error, "cannot read the claims");
      return NULL;
    }
  return g_steal_pointer (&out);
}
