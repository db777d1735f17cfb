/* SPDX-License-Identifier: MIT
 *
 * ns-surface-worker.h: the 3D view's surfaces kept up to date off the main thread.
 *
 * The main thread says what changed (a new label map or settings: everything; an edit: a
 * box of voxels; a new case: the brain outline) and carries on; a worker thread meshes
 * (render/ns-mesh.h jobs, each from its own copy of the voxels it reads) and the result is
 * put in place on the main thread, which then calls updated.  One job runs at a time;
 * what changes meanwhile is gathered (boxes merged, a whole re-mesh swallowing the boxes)
 * into the next job, made when the running one ends, so quick edits cost one job and the
 * surfaces end as those of the last labels.  Until then the last complete surfaces stay
 * drawable: the main thread never waits for marching cubes.
 *
 * Main thread only (the worker touches none of this).  Not a GObject: the 3D view owns
 * one; freeing it while a job runs cancels the job and drops its result.
 */
#pragma once

#include <gio/gio.h>

#include "ns-mesh.h"
#include "ns-volume.h"

G_BEGIN_DECLS

typedef struct _NsSurfaceWorker NsSurfaceWorker;

/* Called on the main thread after new surfaces (or a new outline) are in place. */
typedef void (*NsSurfaceWorkerUpdated) (gpointer user_data);

NsSurfaceWorker  *ns_surface_worker_new             (int block_size, int outline_step,
                                                     NsSurfaceWorkerUpdated updated,
                                                     gpointer user_data);
void              ns_surface_worker_free            (NsSurfaceWorker *worker);

/* The kind of surfaces and the decimation level; a change re-meshes everything. */
void              ns_surface_worker_set_settings    (NsSurfaceWorker *worker, NsSurfaceKind kind,
                                                     NsMeshDecimation decimation);
NsSurfaceKind     ns_surface_worker_get_kind        (NsSurfaceWorker *worker);
NsMeshDecimation  ns_surface_worker_get_decimation  (NsSurfaceWorker *worker);

/* Mesh labels (a reference is taken; NULL: no surfaces) whole. */
void              ns_surface_worker_mesh_all        (NsSurfaceWorker *worker, NsLabelMap *labels);
/* The voxels box (min i, j, k, max i, j, k) of labels changed in place: re-mesh the
 * blocks they reach (everything when labels is not the map meshed). */
void              ns_surface_worker_mesh_box        (NsSurfaceWorker *worker, NsLabelMap *labels,
                                                     const int box[6]);
/* Drops the surfaces and the outline at once (another case is open: its predecessor's
 * must not be shown meanwhile); a running job's result is dropped too.  What was asked
 * for stays asked for. */
void              ns_surface_worker_clear           (NsSurfaceWorker *worker);
/* Mesh the brain outline of image (a reference is taken; NULL: no outline). */
void              ns_surface_worker_mesh_outline    (NsSurfaceWorker *worker, NsVolume *image);

/* The last complete surfaces (borrowed, valid until updated is called; NULL: none). */
const NsSurfaces *ns_surface_worker_get_surfaces    (NsSurfaceWorker *worker);
const NsSurfaces *ns_surface_worker_get_outline     (NsSurfaceWorker *worker);
/* TRUE while a job runs or waits. */
gboolean          ns_surface_worker_is_busy         (NsSurfaceWorker *worker);
/* Blocks the last job put in place (the whole grid's count after a whole re-mesh). */
guint             ns_surface_worker_get_last_remeshed (NsSurfaceWorker *worker);
/* Jobs put in place so far. */
guint             ns_surface_worker_get_n_jobs      (NsSurfaceWorker *worker);

G_END_DECLS
