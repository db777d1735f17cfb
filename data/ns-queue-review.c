/* SPDX-License-Identifier: MIT
 *
 * ns-queue-review.c: a second reader's review of a correction (see ns-queue.h).
 *
 * A review belongs to one annotation, so a new correction of the case starts unreviewed
 * and the verdicts on the old one stay in the record.  The reviewer names the annotation
 * they looked at: should a newer correction have come in meanwhile, the verdict is refused
 * instead of landing on a correction nobody reviewed.  "A second reader" is taken
 * literally: the author of a correction cannot review it.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-queue-private.h"

#include "ns-data-error.h"
#include "ns-db-private.h"

#include <string.h>

/* As stored (the CHECK of the reviews table), and as shown. */
static const char *const verdicts[] = { NULL, "accepted", "sent back" };

const char *
ns_queue_review_name (NsQueueReview review)
{
  g_return_val_if_fail (review <= NS_QUEUE_REVIEW_SENT_BACK, NULL);
  return review == NS_QUEUE_REVIEW_NONE ? "unreviewed" : verdicts[review];
}

static NsQueueReview
review_from_name (const char *name)
{
  for (guint i = 1; i < G_N_ELEMENTS (verdicts); i++)
    if (g_strcmp0 (name, verdicts[i]) == 0)
      return i;
  return NS_QUEUE_REVIEW_NONE;
}

void
ns_queue_review_item_free (NsQueueReviewItem *item)
{
  if (item == NULL)
    return;
  g_free (item->who);
  g_free (item->at);
  g_free (item->note);
  g_free (item);
}

typedef struct
{
  gint64 case_row;
  gint64 annotation;   /* 0: the latest */
  NsQueueReview verdict;
  const char *who;
  const char *note;
} ReviewData;

static gboolean
review_txn (NsDb *db, gpointer data, GError **error)
{
  ReviewData *d = data;
  g_autofree char *now = _ns_db_dup_now ();
  g_autofree char *name = NULL;
  g_autofree char *author = NULL;
  gint64 latest = 0;

  if (!_ns_queue_check_case (db, d->case_row, error)
      || !_ns_db_query_int (db, "SELECT max(id) FROM annotations WHERE case_ref = ?",
                            d->case_row, &latest, error))
    return FALSE;
  name = _ns_queue_dup_case_name (db, d->case_row);
  if (latest == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: case %s has no correction to review", db->path, name);
      return FALSE;
    }
  if (d->annotation != 0 && d->annotation != latest)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED,
                   "%s: case %s: correction %" G_GINT64_FORMAT " is not the latest (%"
                   G_GINT64_FORMAT " came in since): review that one", db->path, name,
                   d->annotation, latest);
      return FALSE;
    }
  {
    g_autoptr (NsDbStmt) st = _ns_db_prepare (db, "SELECT who FROM annotations WHERE id = ?",
                                              error);
    if (st == NULL)
      return FALSE;
    _ns_db_bind_int (st, 1, latest);
    if (_ns_db_step (st) != NS_DB_STEP_ROW)
      {
        _ns_db_set_error (db, error, "cannot read the correction");
        return FALSE;
      }
    author = _ns_db_column_text (st, 0);
  }
  if (g_strcmp0 (author, d->who) == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED,
                   "%s: case %s: %s made this correction; a second reader reviews it",
                   db->path, name, d->who);
      return FALSE;
    }
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
    "INSERT INTO reviews (annotation_ref, verdict, who, at, note) VALUES (?, ?, ?, ?, ?)",
    error);
  if (st == NULL)
    return FALSE;
  _ns_db_bind_int (st, 1, latest);
  _ns_db_bind_text (st, 2, verdicts[d->verdict]);
  _ns_db_bind_text (st, 3, d->who);
  _ns_db_bind_text (st, 4, now);
  _ns_db_bind_text (st, 5, d->note);
  if (!_ns_db_step_done (st, "cannot record the review", error))
    return FALSE;
  _ns_db_touch (db, NS_DB_CHANGES_QUEUE);
  return TRUE;
}

gboolean
ns_queue_review (NsDb *db, gint64 case_id, gint64 annotation_id, NsQueueReview verdict,
                 const char *who, const char *note, GError **error)
{
  g_return_val_if_fail (db != NULL, FALSE);
  g_return_val_if_fail (verdict == NS_QUEUE_REVIEW_ACCEPTED
                        || verdict == NS_QUEUE_REVIEW_SENT_BACK, FALSE);
  if (note != NULL && note[0] == '\0')
    note = NULL;
  if (verdict == NS_QUEUE_REVIEW_SENT_BACK && note == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: a correction sent back needs a note saying what to change", db->path);
      return FALSE;
    }
  ReviewData d = { case_id, annotation_id, verdict, who != NULL ? who : g_get_user_name (),
                   note };
  return _ns_db_write (db, review_txn, &d, error);
}

GPtrArray *
ns_queue_list_reviews (NsDb *db, gint64 case_id, GError **error)
{
  g_return_val_if_fail (db != NULL, NULL);
  g_autoptr (NsDbStmt) st = _ns_db_prepare (db,
    "SELECT r.annotation_ref, r.verdict, r.who, r.at, r.note FROM reviews r "
    "JOIN annotations a ON a.id = r.annotation_ref WHERE a.case_ref = ? ORDER BY r.id", error);
  if (st == NULL)
    return NULL;
  _ns_db_bind_int (st, 1, case_id);
  g_autoptr (GPtrArray) out =
    g_ptr_array_new_with_free_func ((GDestroyNotify) ns_queue_review_item_free);
  NsDbStep r;
  while ((r = _ns_db_step (st)) == NS_DB_STEP_ROW)
    {
      NsQueueReviewItem *it = g_new0 (NsQueueReviewItem, 1);
      it->annotation_id = _ns_db_column_int64 (st, 0);
      it->verdict = review_from_name (_ns_db_column_peek_text (st, 1));
      it->who = _ns_db_column_text (st, 2);
      it->at = _ns_db_column_text (st, 3);
      it->note = _ns_db_column_text (st, 4);
      g_ptr_array_add (out, it);
    }
  if (r != NS_DB_STEP_DONE)
    {
      _ns_db_set_error (db, error, "cannot read the reviews");
      return NULL;
    }
  return g_steal_pointer (&out);
}

/* For ns-queue.c's entries: the verdict stored as text. */
NsQueueReview
_ns_queue_review_from_name (const char *name)
{
  return review_from_name (name);
}
