/* SPDX-License-Identifier: MIT
 *
 * ns-history.h: undo and redo for a label map.
 *
 * One history holds every change made to a mask (strokes, fills, interpolation, island
 * removal, whole-mask replacements by a model), each as the NsEditChange its tool
 * returned: only the changed voxels, 6 bytes each.  Its depth is bounded by a memory
 * budget (default 256 MB), not by a count: pushing past the budget drops the oldest
 * entries.  Undo writes the old values back, redo the new ones, so both are exact.
 *
 * Saving does not clear the history: ns_history_mark_clean() remembers the state that
 * was saved, and ns_history_is_clean() tells whether the mask is back in that state
 * (after undoing and redoing to it, too).
 */
#pragma once

#include "ns-edit.h"

G_BEGIN_DECLS

#define NS_HISTORY_DEFAULT_BUDGET ((gsize) 256 * 1024 * 1024)

typedef struct _NsHistory NsHistory;

/* budget_bytes 0 means NS_HISTORY_DEFAULT_BUDGET. */
NsHistory          *ns_history_new           (gsize budget_bytes);
void                ns_history_free          (NsHistory *history);

/* Records an edit already applied to the map (takes a reference).  Empty changes are
 * ignored (returns FALSE).  Drops the redo entries, then the oldest entries while over
 * budget (an entry larger than the whole budget is kept alone: the last edit can always
 * be undone). */
gboolean            ns_history_push          (NsHistory *history, NsEditChange *change);

/* Undo / redo one step on map; the change applied (borrowed, valid until the next push
 * or free), or NULL when there is nothing to undo / redo. */
const NsEditChange *ns_history_undo          (NsHistory *history, NsLabelMap *map);
const NsEditChange *ns_history_redo          (NsHistory *history, NsLabelMap *map);
/* Up to n steps; returns how many were made (jump back in the history list). */
guint               ns_history_undo_n        (NsHistory *history, NsLabelMap *map, guint n);
guint               ns_history_redo_n        (NsHistory *history, NsLabelMap *map, guint n);

guint               ns_history_n_undo        (const NsHistory *history);
guint               ns_history_n_redo        (const NsHistory *history);
/* Entry i of the list, oldest first: 0 .. n_undo + n_redo - 1; the entries below
 * n_undo are applied, the others can be redone. */
const NsEditChange *ns_history_get           (const NsHistory *history, guint i);
gsize               ns_history_memory        (const NsHistory *history);
gsize               ns_history_budget        (const NsHistory *history);
/* Drops the oldest entries until memory <= budget. */
void                ns_history_set_budget    (NsHistory *history, gsize budget_bytes);
/* Entries dropped by the budget since creation. */
guint64             ns_history_n_evicted     (const NsHistory *history);

void                ns_history_mark_clean    (NsHistory *history);
gboolean            ns_history_is_clean      (const NsHistory *history);
/* Empties the history; the current state becomes the clean one when mark_clean. */
void                ns_history_clear         (NsHistory *history, gboolean mark_clean);

G_END_DECLS
