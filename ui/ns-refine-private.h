/* SPDX-License-Identifier: MIT
 *
 * ns-refine-private.h: what the Refine tool's main-loop side (ns-refine.c) and its worker
 * side (ns-refine-worker.c) share.
 *
 * The worker side owns the engine: the interactive model (loaded once per model file) and
 * the interaction session of the current episode, both used by one thread at a time under
 * engine_lock.  The main loop never waits for that lock: it only appends to the queue of
 * interactions (under queue_lock) and starts a request; each request, once it holds the
 * engine, first feeds every queued interaction to the session in the order they were
 * made, then (unless cancelled by a newer one) runs the slice and propagates.  So a
 * cancelled request loses no click, and requests that run late never reorder them.
 */
#pragma once

#include "ns-backend.h"
#include "ns-interact.h"
#include "ns-refine.h"

G_BEGIN_DECLS

typedef enum
{
  REFINE_ITEM_RESTART,          /* a new session from labels (a new episode, or a box) */
  REFINE_ITEM_CLICKS,           /* one click (n_points 1) or a scribble */
} RefineItemKind;

typedef struct
{
  RefineItemKind kind;
  NsRegion region;              /* RESTART: the region the session corrects */
  NsLabelMap *labels;           /* RESTART: what it starts from (owned) */
  NsCase *ncase;                /* RESTART: the case (a reference) */
  GArray *points;               /* CLICKS: NsClick, all on one slice of one axis */
} RefineItem;

void        _ns_refine_item_free    (RefineItem *item);

/* The engine, shared by the worker threads of one NsRefine. */
typedef struct
{
  GMutex engine_lock;
  char *model_path;             /* the model loaded (under engine_lock) */
  NsBackend *backend;
  NsModel *model;
  NsInteractSession *session;
  NsCase *ncase;                /* the case of the session (a reference) */
  NsLabelMap *work;             /* the session's labels: start + the region of its mask */

  GMutex queue_lock;
  GPtrArray *queue;             /* RefineItem *, not yet given to the session */
} RefineEngine;

void        _ns_refine_engine_init  (RefineEngine *engine);
void        _ns_refine_engine_clear (RefineEngine *engine);
/* Queues an item (takes it), from the main loop. */
void        _ns_refine_engine_push  (RefineEngine *engine, RefineItem *item);
/* Drops what is queued (an episode discarded before its requests ran). */
void        _ns_refine_engine_drop_queue (RefineEngine *engine);

/* Called in the main loop (of the context the request was started from) with labels the
 * worker produced (owned by the callee) for episode. */
typedef void (*RefineUpdateFunc) (gpointer owner, guint episode, NsLabelMap *labels);

/* Runs one request in a worker thread: feeds the queue to the session (loading
 * model_path, making the session on the first RESTART), then unless cancelled runs slice
 * `slice` of `axis` and propagates from it, posting the labels to update (on the
 * caller's main context) after the slice and at most every 250 ms while propagating
 * (propagate FALSE: the slice only).
 * axis < 0: only feed the queue.  owner is kept alive by the task. */
void        _ns_refine_engine_run_async  (RefineEngine *engine, GObject *owner,
                                          const char *model_path, guint episode,
                                          int axis, int slice, gboolean propagate,
                                          RefineUpdateFunc update,
                                          GCancellable *cancellable,
                                          GAsyncReadyCallback callback, gpointer user_data);
gboolean    _ns_refine_engine_run_finish (GObject *owner, GAsyncResult *result,
                                          GError **error);

G_END_DECLS
