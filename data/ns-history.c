/* SPDX-License-Identifier: MIT
 *
 * ns-history.c: undo and redo within a memory budget.
 *
 * The entries live in one GPtrArray, oldest first; the first `applied` of them are in the
 * mask.  Each entry has a serial number; the mask's state is named by the serial of the
 * last applied entry (or of the last entry dropped from the bottom, or 0), and the clean
 * state is such a name, so "is it saved?" survives undo, redo and eviction.  A clean
 * state that was redo-able and then discarded by a new edit can never come back (a
 * serial is never reused), which is what an editor should say.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-history.h"

struct _NsHistory
{
  GPtrArray *entries;         /* NsEditChange, oldest first */
  GArray *serials;            /* guint64, one per entry */
  guint applied;              /* entries[0 .. applied - 1] are in the mask */
  gsize memory;
  gsize budget;
  guint64 next_serial;
  guint64 base_serial;        /* the state below entries[0] */
  guint64 clean_serial;
  guint64 n_evicted;
};

NsHistory *
ns_history_new (gsize budget_bytes)
{
  NsHistory *h = g_new0 (NsHistory, 1);
  h->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_edit_change_unref);
  h->serials = g_array_new (FALSE, FALSE, sizeof (guint64));
  h->budget = budget_bytes > 0 ? budget_bytes : NS_HISTORY_DEFAULT_BUDGET;
  h->next_serial = 1;
  return h;
}

void
ns_history_free (NsHistory *history)
{
  if (history == NULL)
    return;
  g_ptr_array_unref (history->entries);
  g_array_unref (history->serials);
  g_free (history);
}

static guint64
current_serial (const NsHistory *h)
{
  return h->applied > 0 ? g_array_index (h->serials, guint64, h->applied - 1) : h->base_serial;
}

/* Drops the oldest entries while over budget, keeping the newest applied one. */
static void
evict (NsHistory *h)
{
  while (h->memory > h->budget && h->entries->len > 1 && h->applied > 1)
    {
      NsEditChange *oldest = g_ptr_array_index (h->entries, 0);
      h->memory -= ns_edit_change_size (oldest);
      h->base_serial = g_array_index (h->serials, guint64, 0);
      g_ptr_array_remove_index (h->entries, 0);
      g_array_remove_index (h->serials, 0);
      h->applied--;
      h->n_evicted++;
    }
}

gboolean
ns_history_push (NsHistory *history, NsEditChange *change)
{
  g_return_val_if_fail (history != NULL && change != NULL, FALSE);
  if (change->n == 0)
    return FALSE;
  /* The redo entries go. */
  for (guint i = history->applied; i < history->entries->len; i++)
    history->memory -= ns_edit_change_size (g_ptr_array_index (history->entries, i));
  g_ptr_array_set_size (history->entries, history->applied);
  g_array_set_size (history->serials, history->applied);

  g_ptr_array_add (history->entries, ns_edit_change_ref (change));
  guint64 serial = history->next_serial++;
  g_array_append_val (history->serials, serial);
  history->applied++;
  history->memory += ns_edit_change_size (change);
  evict (history);
  return TRUE;
}

const NsEditChange *
ns_history_undo (NsHistory *history, NsLabelMap *map)
{
  g_return_val_if_fail (history != NULL && map != NULL, NULL);
  if (history->applied == 0)
    return NULL;
  NsEditChange *change = g_ptr_array_index (history->entries, history->applied - 1);
  if (!ns_edit_change_apply (change, map, FALSE))
    {
      g_critical ("ns_history_undo: the map has %" G_GSIZE_FORMAT " voxels, the history's %"
                  G_GSIZE_FORMAT, ns_grid_n_voxels (&map->grid), change->n_voxels);
      return NULL;
    }
  history->applied--;
  return change;
}

const NsEditChange *
ns_history_redo (NsHistory *history, NsLabelMap *map)
{
  g_return_val_if_fail (history != NULL && map != NULL, NULL);
  if (history->applied == history->entries->len)
    return NULL;
  NsEditChange *change = g_ptr_array_index (history->entries, history->applied);
  if (!ns_edit_change_apply (change, map, TRUE))
    {
      g_critical ("ns_history_redo: the map has %" G_GSIZE_FORMAT " voxels, the history's %"
                  G_GSIZE_FORMAT, ns_grid_n_voxels (&map->grid), change->n_voxels);
      return NULL;
    }
  history->applied++;
  return change;
}

guint
ns_history_undo_n (NsHistory *history, NsLabelMap *map, guint n)
{
  guint done = 0;
  while (done < n && ns_history_undo (history, map) != NULL)
    done++;
  return done;
}

guint
ns_history_redo_n (NsHistory *history, NsLabelMap *map, guint n)
{
  guint done = 0;
  while (done < n && ns_history_redo (history, map) != NULL)
    done++;
  return done;
}

guint
ns_history_n_undo (const NsHistory *history)
{
  g_return_val_if_fail (history != NULL, 0);
  return history->applied;
}

guint
ns_history_n_redo (const NsHistory *history)
{
  g_return_val_if_fail (history != NULL, 0);
  return history->entries->len - history->applied;
}

const NsEditChange *
ns_history_get (const NsHistory *history, guint i)
{
  g_return_val_if_fail (history != NULL, NULL);
  if (i >= history->entries->len)
    return NULL;
  return g_ptr_array_index (history->entries, i);
}

gsize
ns_history_memory (const NsHistory *history)
{
  g_return_val_if_fail (history != NULL, 0);
  return history->memory;
}

gsize
ns_history_budget (const NsHistory *history)
{
  g_return_val_if_fail (history != NULL, 0);
  return history->budget;
}

void
ns_history_set_budget (NsHistory *history, gsize budget_bytes)
{
  g_return_if_fail (history != NULL);
  history->budget = budget_bytes > 0 ? budget_bytes : NS_HISTORY_DEFAULT_BUDGET;
  evict (history);
}

guint64
ns_history_n_evicted (const NsHistory *history)
{
  g_return_val_if_fail (history != NULL, 0);
  return history->n_evicted;
}

void
ns_history_mark_clean (NsHistory *history)
{
  g_return_if_fail (history != NULL);
  history->clean_serial = current_serial (history);
}

gboolean
ns_history_is_clean (const NsHistory *history)
{
  g_return_val_if_fail (history != NULL, FALSE);
  return history->clean_serial == current_serial (history);
}

void
ns_history_clear (NsHistory *history, gboolean mark_clean)
{
  g_return_if_fail (history != NULL);
  gboolean was_clean = ns_history_is_clean (history);
  g_ptr_array_set_size (history->entries, 0);
  g_array_set_size (history->serials, 0);
  history->applied = 0;
  history->memory = 0;
  history->base_serial = history->next_serial++;
  history->clean_serial = (mark_clean || was_clean) ? history->base_serial : G_MAXUINT64;
}
