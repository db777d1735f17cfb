/* SPDX-License-Identifier: MIT
 *
 * ns-refine.c: the Refine tool's main-loop side (see ns-refine.h): the episode (from the
 * first interaction to Apply or Discard), the gestures, the preview and its outline of
 * changed voxels, Apply as one history entry.  The worker side is ns-refine-worker.c.
 *
 * An episode keeps three label maps of the case's grid:
 *   base     the mask when the episode began;
 *   result   the last labels the worker sent (the session's start plus its region);
 *   preview  what the views show: the mask as it is now, with every voxel where result
 *            differs from base set to result's value, unless the mask's label there is
 *            locked.
 * So the episode's changes are "result against base", laid over the mask of now: an undo
 * of an older edit during the episode keeps the refinement, and Apply commits exactly the
 * preview.  A box or a change of region restarts the session from the preview, so the
 * earlier changes of the episode stay in it.
 */
#define G_LOG_DOMAIN "ns-refine"

#include "ns-refine.h"

#include "ns-refine-private.h"
#include "ns-checkpoint.h"
#include "ns-db.h"
#include "ns-paths.h"
#include "ns-registry.h"

#include <math.h>
#include <string.h>

/* The shipped interactive model's name in the data folder's models/. */
#define SHIPPED_INTERACTIVE_MODEL "interactive.safetensors"
/* A box's positive click covers this part of the box's smaller side (radius). */
#define BOX_CLICK_FRACTION 0.25

struct _NsRefine
{
  GObject parent_instance;

  NsEditor *editor;
  NsViewer *viewer;              /* the editor's */

  char *model_path;
  gboolean available;
  char *status;
  NsRefineRegion region;
  gboolean propagate;

  /* the episode */
  gboolean in_episode;
  guint episode;                 /* its number (updates of another one are dropped) */
  NsRegion episode_region;       /* the region the session corrects now */
  guint n_clicks;                /* clicks, scribbles and boxes */
  NsLabelMap *base;
  NsLabelMap *result;
  NsLabelMap *preview;
  gsize n_changed;

  /* a click or scribble being made */
  GArray *stroke;                /* NsClick */
  int stroke_axis, stroke_slice;

  GCancellable *cancellable;     /* the newest request */
  guint n_running;
  guint n_cancelled;             /* requests stopped early by a newer one */
  gboolean failed;               /* the newest request failed (status says why) */

  RefineEngine engine;
};

G_DEFINE_FINAL_TYPE (NsRefine, ns_refine, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATUS,
  PROP_AVAILABLE,
  PROP_BUSY,
  PROP_N_CLICKS,
  PROP_HAS_PREVIEW,
  PROP_REGION,
  PROP_MODEL_PATH,
  PROP_PROPAGATE,
  PROP_N_CANCELLED,
  N_PROPS
};

enum {
  PREVIEW_UPDATED,
  FINISHED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

const char *
ns_refine_region_to_string (NsRefineRegion region)
{
  static const char *const names[] = { "Auto", "WT", "TC", "ET" };

  g_return_val_if_fail (region <= NS_REFINE_REGION_ET, NULL);
  return names[region];
}

NsRefineRegion
ns_refine_region_for_label (guint8 label)
{
  switch (label)
    {
    case 4:
      return NS_REFINE_REGION_ET;
    case 1:
    case 3:
      return NS_REFINE_REGION_TC;
    default:
      return NS_REFINE_REGION_WT;
    }
}

static NsRegion
to_ns_region (NsRefineRegion region)
{
  switch (region)
    {
    case NS_REFINE_REGION_ET:
      return NS_REGION_ET;
    case NS_REFINE_REGION_TC:
      return NS_REGION_TC;
    case NS_REFINE_REGION_WT:
    case NS_REFINE_REGION_AUTO:
    default:
      return NS_REGION_WT;
    }
}

/* ---- status ------------------------------------------------------------------------------ */

static void
set_status (NsRefine *self, const char *text)
{
  if (g_strcmp0 (self->status, text) == 0)
    return;
  g_free (self->status);
  self->status = g_strdup (text);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
}

/* The status when nothing failed: what the tool does now. */
static void
update_status (NsRefine *self)
{
  g_autofree char *text = NULL;
  const char *region = ns_region_name (self->in_episode ? self->episode_region
                                       : to_ns_region (ns_refine_get_target_region (self)));

  if (!self->available || self->failed)
    return;
  /* a request of an episode that ended (Apply, Discard) is only winding down */
  if (self->in_episode && self->n_running > 0)
    text = g_strdup_printf ("Refining %s…", region);
  else if (self->in_episode && self->result != NULL)
    text = g_strdup_printf ("%s: %u click%s, %" G_GSIZE_FORMAT " voxels changed. "
                            "Enter applies, Escape discards.", region, self->n_clicks,
                            self->n_clicks == 1 ? "" : "s", self->n_changed);
  else
    text = g_strdup_printf ("Click in a view: left adds to %s, right (or Shift) removes, "
                            "Ctrl+drag a box starts it anew.", region);
  set_status (self, text);
}

/* ---- the model --------------------------------------------------------------------------- */

/* The newest registered model whose metadata says interactive (NULL: none). */
static char *
registry_interactive_model (const char *db_path, GError **error)
{
  g_autofree char *path = db_path != NULL ? g_strdup (db_path) : ns_db_dup_default_path ();
  g_autoptr (GPtrArray) models = NULL;
  NsDb *db;
  char *found = NULL;

  if (path == NULL || (!ns_db_location_is_server (path)
                       && !g_file_test (path, G_FILE_TEST_EXISTS)))
    return NULL;
  db = ns_db_open_readonly (path, error);
  if (db == NULL)
    return NULL;
  models = ns_registry_list_models (db, error);
  ns_db_close (db);
  if (models == NULL)
    return NULL;
  for (guint m = models->len; found == NULL && m > 0; m--)
    {
      NsRegistryModel *model = g_ptr_array_index (models, m - 1);

      if (model->status == NS_REGISTRY_MODEL_REGISTERED && model->path != NULL
          && ns_checkpoint_check_kind (model->path, TRUE, NULL))
        found = g_strdup (model->path);
    }
  return found;
}

char *
ns_refine_find_model (const char *db_path, const char *shipped_path, GError **error)
{
  g_autoptr (GError) db_error = NULL;
  g_autofree char *shipped = NULL;
  char *path = registry_interactive_model (db_path, &db_error);

  if (path != NULL)
    return path;
  if (shipped_path != NULL)
    shipped = g_strdup (shipped_path);
  else
    {
      g_autofree char *data_dir = ns_paths_dup_data_dir ();

      shipped = g_build_filename (data_dir, "models", SHIPPED_INTERACTIVE_MODEL, NULL);
    }
  if (g_file_test (shipped, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&shipped);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
               "No interactive model: none in the model registry%s%s and no shipped one "
               "(%s). Train one (neuroseg train --interactive) and register it",
               db_error != NULL ? ", which could not be read: " : "",
               db_error != NULL ? db_error->message : "", shipped);
  return NULL;
}

gboolean
ns_refine_check_model (NsRefine *self)
{
  g_autoptr (GError) error = NULL;
  gboolean ok;

  g_return_val_if_fail (NS_IS_REFINE (self), FALSE);

  if (self->model_path == NULL)
    {
      self->model_path = ns_refine_find_model (NULL, NULL, &error);
      if (self->model_path != NULL)
        g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL_PATH]);
    }
  ok = self->model_path != NULL && ns_checkpoint_check_kind (self->model_path, TRUE, &error);
  if (ok != self->available)
    {
      self->available = ok;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AVAILABLE]);
    }
  if (!ok)
    {
      g_autofree char *text = g_strdup_printf ("Refine cannot run: %s.", error->message);

      set_status (self, text);
    }
  else
    {
      self->failed = FALSE;
      update_status (self);
    }
  return ok;
}

void
ns_refine_set_model_path (NsRefine *self, const char *path)
{
  g_return_if_fail (NS_IS_REFINE (self));

  if (g_strcmp0 (self->model_path, path) == 0)
    return;
  ns_refine_discard (self);
  g_free (self->model_path);
  self->model_path = g_strdup (path);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL_PATH]);
  ns_refine_check_model (self);
}

const char *
ns_refine_get_model_path (NsRefine *self)
{
  g_return_val_if_fail (NS_IS_REFINE (self), NULL);
  return self->model_path;
}

/* ---- the preview ------------------------------------------------------------------------- */

static NsLabelMap *
doc_map (NsRefine *self)
{
  NsMaskDoc *doc = ns_editor_get_doc (self->editor);

  return doc != NULL ? ns_mask_doc_get_map (doc) : NULL;
}

/* Lays result-against-base over the mask into the preview; the axial slices whose preview
 * changed go to *k_first..*k_last (k_first > k_last: none). */
static void
merge (NsRefine *self, int *k_first, int *k_last)
{
  NsLabelMap *map = doc_map (self);
  const NsGrid *grid = &map->grid;
  gsize plane = (gsize) grid->dim[0] * grid->dim[1];
  gsize n = ns_grid_n_voxels (grid);
  guint8 locked[256];

  for (guint v = 0; v < 256; v++)
    locked[v] = ns_editor_get_locked (self->editor, v);
  *k_first = G_MAXINT;
  *k_last = -1;
  self->n_changed = 0;
  for (gsize v = 0; v < n; v++)
    {
      guint8 now = map->labels[v];
      guint8 want = now;

      if (self->result != NULL && self->result->labels[v] != self->base->labels[v]
          && !locked[now])
        want = self->result->labels[v];
      self->n_changed += want != now;
      if (self->preview->labels[v] != want)
        {
          int k = (int) (v / plane);

          self->preview->labels[v] = want;
          *k_first = MIN (*k_first, k);
          *k_last = MAX (*k_last, k);
        }
    }
}

static void
remerge (NsRefine *self)
{
  int k_first, k_last;

  if (!self->in_episode || doc_map (self) == NULL)
    return;
  merge (self, &k_first, &k_last);
  if (k_first <= k_last)
    ns_viewer_preview_slices_changed (self->viewer, k_first, k_last);
  update_status (self);
}

static void
update_cb (gpointer owner, guint episode, NsLabelMap *labels)
{
  NsRefine *self = NS_REFINE (owner);
  g_autoptr (NsLabelMap) owned = labels;
  gboolean first;

  if (!self->in_episode || episode != self->episode || doc_map (self) == NULL
      || ns_grid_n_voxels (&labels->grid) != ns_grid_n_voxels (&self->base->grid))
    return;
  first = self->result == NULL;
  g_clear_pointer (&self->result, ns_label_map_unref);
  self->result = g_steal_pointer (&owned);
  if (first)
    {
      int k_first, k_last;

      merge (self, &k_first, &k_last);
      ns_viewer_set_preview_labels (self->viewer, self->preview);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_PREVIEW]);
      update_status (self);
    }
  else
    remerge (self);
  g_signal_emit (self, signals[PREVIEW_UPDATED], 0);
}

/* Ends the episode: no request of it is wanted any more, the preview goes. */
static void
end_episode (NsRefine *self)
{
  gboolean had_preview = self->result != NULL;

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  _ns_refine_engine_drop_queue (&self->engine);
  g_clear_pointer (&self->stroke, g_array_unref);
  if (self->in_episode && ns_viewer_get_preview_labels (self->viewer) == self->preview)
    ns_viewer_set_preview_labels (self->viewer, NULL);
  self->in_episode = FALSE;
  self->n_clicks = 0;
  self->n_changed = 0;
  self->failed = FALSE;
  g_clear_pointer (&self->base, ns_label_map_unref);
  g_clear_pointer (&self->result, ns_label_map_unref);
  g_clear_pointer (&self->preview, ns_label_map_unref);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CLICKS]);
  if (had_preview)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_PREVIEW]);
  update_status (self);
}

/* ---- requests ---------------------------------------------------------------------------- */

static void
run_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  NsRefine *self = NS_REFINE (source);
  g_autoptr (GCancellable) cancellable = user_data;
  g_autoptr (GError) error = NULL;
  gboolean ok = _ns_refine_engine_run_finish (source, result, &error);
  gboolean newest = cancellable == self->cancellable;

  self->n_running--;
  if (self->n_running == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
  /* a request that a newer one (or the end of its episode) cancelled says nothing */
  if (!newest)
    {
      /* the engine's word (the task does not check the cancellable itself) */
      if (!ok && (g_error_matches (error, NS_NET_ERROR, NS_NET_ERROR_CANCELLED)
                  || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)))
        {
          self->n_cancelled++;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CANCELLED]);
        }
      else if (!ok)
        g_message ("refine: an older request failed: %s", error->message);
      update_status (self);
      return;
    }
  if (!ok)
    {
      g_autofree char *text = g_strdup_printf ("Refine failed: %s", error->message);

      self->failed = TRUE;
      set_status (self, text);
      g_signal_emit (self, signals[FINISHED], 0, FALSE, error->message);
      return;
    }
  update_status (self);
  g_signal_emit (self, signals[FINISHED], 0, TRUE, NULL);
}

static void
start_request (NsRefine *self, int axis, int slice)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->failed = FALSE;
  if (self->n_running++ == 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
  update_status (self);
  _ns_refine_engine_run_async (&self->engine, G_OBJECT (self), self->model_path,
                               self->episode, axis, slice, self->propagate, update_cb,
                               self->cancellable, run_done_cb,
                               g_object_ref (self->cancellable));
}

/* Queues a new session from labels (owned) for region. */
static void
push_restart (NsRefine *self, NsRegion region, NsLabelMap *labels)
{
  RefineItem *item = g_new0 (RefineItem, 1);

  item->kind = REFINE_ITEM_RESTART;
  item->region = region;
  item->labels = labels;
  item->ncase = ns_case_ref (ns_viewer_get_case (self->viewer));
  _ns_refine_engine_push (&self->engine, item);
  self->episode_region = region;
}

/* Before an interaction: the model, a document and a case; the episode started (or the
 * session restarted for another region). */
static gboolean
prepare (NsRefine *self)
{
  g_autoptr (GError) error = NULL;
  NsLabelMap *map = doc_map (self);
  NsRegion region;

  if (!self->available && !ns_refine_check_model (self))
    return FALSE;
  if (map == NULL || ns_viewer_get_case (self->viewer) == NULL)
    {
      set_status (self, "Refine needs a case and its mask: open a case first.");
      return FALSE;
    }
  region = to_ns_region (ns_refine_get_target_region (self));
  if (!self->in_episode)
    {
      NsLabelMap *start;

      self->base = ns_label_map_dup (map, &error);
      self->preview = self->base != NULL ? ns_label_map_dup (map, &error) : NULL;
      start = self->preview != NULL ? ns_label_map_dup (map, &error) : NULL;
      if (start == NULL)
        {
          g_autofree char *text = g_strdup_printf ("Refine cannot start: %s",
                                                   error->message);

          g_clear_pointer (&self->base, ns_label_map_unref);
          g_clear_pointer (&self->preview, ns_label_map_unref);
          set_status (self, text);
          return FALSE;
        }
      self->in_episode = TRUE;
      self->episode++;
      push_restart (self, region, start);
    }
  else if (region != self->episode_region)
    {
      NsLabelMap *start = ns_label_map_dup (self->preview, &error);

      if (start == NULL)
        {
          set_status (self, error->message);
          return FALSE;
        }
      push_restart (self, region, start);
    }
  return TRUE;
}

static void
count_click (NsRefine *self)
{
  self->n_clicks++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CLICKS]);
}

gboolean
ns_refine_stroke_begin (NsRefine *self, const NsPlaneGeometry *geom, const double voxel[3],
                        gboolean positive)
{
  NsClick click = { 0 };

  g_return_val_if_fail (NS_IS_REFINE (self), FALSE);
  g_return_val_if_fail (geom != NULL && voxel != NULL, FALSE);

  g_clear_pointer (&self->stroke, g_array_unref);
  if (!prepare (self))
    return FALSE;
  click.axis = geom->axis_n;
  memcpy (click.voxel, voxel, sizeof click.voxel);
  click.voxel[geom->axis_n] = geom->slice;
  click.positive = positive;
  click.radius_mm = 0;          /* the model's own click radius */
  self->stroke = g_array_new (FALSE, FALSE, sizeof (NsClick));
  g_array_append_val (self->stroke, click);
  self->stroke_axis = geom->axis_n;
  self->stroke_slice = geom->slice;
  return TRUE;
}

void
ns_refine_stroke_add (NsRefine *self, const double voxel[3])
{
  NsClick click;
  const NsClick *last;
  double d2 = 0;

  g_return_if_fail (NS_IS_REFINE (self));

  if (self->stroke == NULL)
    return;
  last = &g_array_index (self->stroke, NsClick, self->stroke->len - 1);
  click = *last;
  memcpy (click.voxel, voxel, sizeof click.voxel);
  click.voxel[self->stroke_axis] = self->stroke_slice;
  for (int a = 0; a < 3; a++)
    d2 += (click.voxel[a] - last->voxel[a]) * (click.voxel[a] - last->voxel[a]);
  /* the session draws the segments between points: a point per voxel moved is enough */
  if (d2 >= 1.0)
    g_array_append_val (self->stroke, click);
}

void
ns_refine_stroke_end (NsRefine *self)
{
  RefineItem *item;

  g_return_if_fail (NS_IS_REFINE (self));

  if (self->stroke == NULL)
    return;
  item = g_new0 (RefineItem, 1);
  item->kind = REFINE_ITEM_CLICKS;
  item->points = g_steal_pointer (&self->stroke);
  _ns_refine_engine_push (&self->engine, item);
  count_click (self);
  start_request (self, self->stroke_axis, self->stroke_slice);
}

gboolean
ns_refine_is_stroking (NsRefine *self)
{
  g_return_val_if_fail (NS_IS_REFINE (self), FALSE);
  return self->stroke != NULL;
}

gboolean
ns_refine_box (NsRefine *self, const NsPlaneGeometry *geom, const double a[3],
               const double b[3])
{
  g_autoptr (GError) error = NULL;
  NsLabelMap *start;
  const NsGrid *grid;
  int lo[3], hi[3];
  double side_mm = G_MAXDOUBLE;
  RefineItem *item;
  NsClick click = { 0 };

  g_return_val_if_fail (NS_IS_REFINE (self), FALSE);
  g_return_val_if_fail (geom != NULL && a != NULL && b != NULL, FALSE);

  g_clear_pointer (&self->stroke, g_array_unref);
  if (!prepare (self))
    return FALSE;
  grid = &self->preview->grid;
  for (int d = 0; d < 3; d++)
    {
      lo[d] = CLAMP ((int) floor (MIN (a[d], b[d]) + 0.5), 0, grid->dim[d] - 1);
      hi[d] = CLAMP ((int) floor (MAX (a[d], b[d]) + 0.5), 0, grid->dim[d] - 1);
    }
  lo[geom->axis_n] = hi[geom->axis_n] = geom->slice;
  for (int d = 0; d < 3; d++)
    if (d != geom->axis_n)
      side_mm = MIN (side_mm, (hi[d] - lo[d] + 1) * grid->spacing[d]);

  /* The model takes no box: the region starts from nothing inside the box on its slice,
   * and a positive click at the box's centre covering a quarter of its smaller side tells
   * the model what to find there; propagation carries it to the neighbours. */
  start = ns_label_map_dup (self->preview, &error);
  if (start == NULL)
    {
      set_status (self, error->message);
      return FALSE;
    }
  {
    g_autofree guint8 *mask = g_malloc (ns_grid_n_voxels (grid));

    for (gsize v = 0, n = ns_grid_n_voxels (grid); v < n; v++)
      mask[v] = ns_region_contains (self->episode_region, start->labels[v]);
    for (int k = lo[2]; k <= hi[2]; k++)
      for (int j = lo[1]; j <= hi[1]; j++)
        for (int i = lo[0]; i <= hi[0]; i++)
          mask[ns_grid_index (grid, i, j, k)] = 0;
    ns_interact_apply_region (start, self->episode_region, mask, NULL);
  }
  push_restart (self, self->episode_region, start);

  click.axis = geom->axis_n;
  for (int d = 0; d < 3; d++)
    click.voxel[d] = (lo[d] + hi[d]) / 2.0;
  click.positive = TRUE;
  click.radius_mm = MAX (NS_INTERACT_CLICK_RADIUS_MM, BOX_CLICK_FRACTION * side_mm);
  item = g_new0 (RefineItem, 1);
  item->kind = REFINE_ITEM_CLICKS;
  item->points = g_array_new (FALSE, FALSE, sizeof (NsClick));
  g_array_append_val (item->points, click);
  _ns_refine_engine_push (&self->engine, item);
  count_click (self);
  start_request (self, geom->axis_n, geom->slice);
  return TRUE;
}

gboolean
ns_refine_apply (NsRefine *self, GError **error)
{
  g_autofree char *name = NULL;
  NsEditChange *change;
  NsLabelMap *map;
  int k_first, k_last;

  g_return_val_if_fail (NS_IS_REFINE (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  map = doc_map (self);
  if (!self->in_episode || self->result == NULL || map == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           "Nothing to apply: no refinement has been computed yet");
      return FALSE;
    }
  merge (self, &k_first, &k_last);
  name = g_strdup_printf ("Refine: %u click%s", self->n_clicks, self->n_clicks == 1 ? "" : "s");
  change = ns_edit_change_from_labels (map->labels, self->preview->labels,
                                       ns_grid_n_voxels (&map->grid), name);
  end_episode (self);
  if (change == NULL || change->n == 0)
    {
      g_clear_pointer (&change, ns_edit_change_unref);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           "Nothing to apply: the refinement changed no voxel");
      return FALSE;
    }
  if (!ns_edit_change_apply (change, map, TRUE))
    {
      ns_edit_change_unref (change);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           "The refinement does not fit the mask's grid");
      return FALSE;
    }
  return ns_editor_commit_applied (self->editor, change);
}

void
ns_refine_discard (NsRefine *self)
{
  g_return_if_fail (NS_IS_REFINE (self));

  if (self->in_episode || self->stroke != NULL)
    end_episode (self);
}

/* ---- the outline of the changes ---------------------------------------------------------- */

void
ns_refine_draw_changes (NsRefine *self, cairo_t *cr, const NsPlaneGeometry *geom,
                        double line_width)
{
  NsLabelMap *map;
  g_autofree guint8 *changed = NULL;
  int w, h;

  g_return_if_fail (NS_IS_REFINE (self));

  map = doc_map (self);
  if (self->result == NULL || self->n_changed == 0 || map == NULL
      || ns_viewer_get_preview_labels (self->viewer) != self->preview)
    return;
  w = geom->width;
  h = geom->height;
  changed = g_malloc0 ((gsize) w * h);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        int ijk[3];

        if (ns_plane_geometry_voxel_index_at (geom, x + 0.5, y + 0.5, ijk))
          {
            gsize v = ns_grid_index (&map->grid, ijk[0], ijk[1], ijk[2]);

            changed[(gsize) y * w + x] = self->preview->labels[v] != map->labels[v];
          }
      }
  /* the boundary of the changed pixels: an edge where a changed pixel meets one that is
   * not (or the image's border) */
  cairo_save (cr);
  cairo_set_line_width (cr, line_width);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_SQUARE);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        if (!changed[(gsize) y * w + x])
          continue;
        if (x == 0 || !changed[(gsize) y * w + x - 1])
          cairo_move_to (cr, x, y), cairo_line_to (cr, x, y + 1);
        if (x == w - 1 || !changed[(gsize) y * w + x + 1])
          cairo_move_to (cr, x + 1, y), cairo_line_to (cr, x + 1, y + 1);
        if (y == 0 || !changed[(gsize) (y - 1) * w + x])
          cairo_move_to (cr, x, y), cairo_line_to (cr, x + 1, y);
        if (y == h - 1 || !changed[(gsize) (y + 1) * w + x])
          cairo_move_to (cr, x, y + 1), cairo_line_to (cr, x + 1, y + 1);
      }
  /* magenta, as no label (red, green, yellow) and not the crosshair (cyan) is: the eye
   * finds what the click changed */
  cairo_set_source_rgba (cr, 1.0, 0.2, 1.0, 0.95);
  cairo_stroke (cr);
  cairo_restore (cr);
}

/* ---- the editor -------------------------------------------------------------------------- */

gboolean
ns_refine_settle (NsRefine *self)
{
  g_autoptr (GError) error = NULL;
  gboolean applied;

  g_return_val_if_fail (NS_IS_REFINE (self), FALSE);

  if (!ns_refine_has_preview (self))
    {
      ns_refine_discard (self);
      return FALSE;
    }
  applied = ns_refine_apply (self, &error);
  if (!applied)
    g_message ("refine: %s", error->message);   /* a preview that changed nothing */
  return applied;
}

static void
editor_tool_cb (NsRefine *self, GParamSpec *pspec, NsEditor *editor)
{
  if (ns_editor_get_tool (editor) == NS_TOOL_REFINE)
    {
      ns_refine_check_model (self);
      return;
    }
  /* leaving the tool applies what it shows, as leaving a text field keeps its text */
  ns_refine_settle (self);
}

static void
editor_label_cb (NsRefine *self)
{
  if (!self->in_episode)
    update_status (self);
}

/* ---- GObject ----------------------------------------------------------------------------- */

NsRefineRegion
ns_refine_get_target_region (NsRefine *self)
{
  g_return_val_if_fail (NS_IS_REFINE (self), NS_REFINE_REGION_WT);

  if (self->region != NS_REFINE_REGION_AUTO)
    return self->region;
  return ns_refine_region_for_label (ns_editor_get_label (self->editor));
}

void
ns_refine_set_region (NsRefine *self, NsRefineRegion region)
{
  g_return_if_fail (NS_IS_REFINE (self));
  g_return_if_fail (region <= NS_REFINE_REGION_ET);

  if (self->region == region)
    return;
  self->region = region;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REGION]);
  if (!self->in_episode)
    update_status (self);
}

NsRefineRegion
ns_refine_get_region (NsRefine *self)
{
  g_return_val_if_fail (NS_IS_REFINE (self), NS_REFINE_REGION_AUTO);
  return self->region;
}

void
ns_refine_set_propagate (NsRefine *self, gboolean propagate)
{
  g_return_if_fail (NS_IS_REFINE (self));

  propagate = !!propagate;
  if (self->propagate == propagate)
    return;
  self->propagate = propagate;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROPAGATE]);
}

gboolean
ns_refine_get_propagate (NsRefine *self)
{
  g_return_val_if_fail (NS_IS_REFINE (self), TRUE);
  return self->propagate;
}

const char *
ns_refine_get_status (NsRefine *self)
{
  g_return_val_if_fail (NS_IS_REFINE (self), NULL);
  return self->status;
}

gboolean
ns_refine_get_available (NsRefine *self)
{
  g_return_val_if_fail (NS_IS_REFINE (self), FALSE);
  return self->available;
}

gboolean
ns_refine_get_busy (NsRefine *self)
{
  g_return_val_if_fail (NS_IS_REFINE (self), FALSE);
  return self->n_running > 0;
}

guint
ns_refine_get_n_clicks (NsRefine *self)
{
  g_return_val_if_fail (NS_IS_REFINE (self), 0);
  return self->n_clicks;
}

gboolean
ns_refine_has_preview (NsRefine *self)
{
  g_return_val_if_fail (NS_IS_REFINE (self), FALSE);
  return self->in_episode && self->result != NULL;
}

guint
ns_refine_get_n_cancelled (NsRefine *self)
{
  g_return_val_if_fail (NS_IS_REFINE (self), 0);
  return self->n_cancelled;
}

gsize
ns_refine_get_n_changed (NsRefine *self)
{
  g_return_val_if_fail (NS_IS_REFINE (self), 0);
  return self->n_changed;
}

NsEditor *
ns_refine_get_editor (NsRefine *self)
{
  g_return_val_if_fail (NS_IS_REFINE (self), NULL);
  return self->editor;
}

static void
ns_refine_dispose (GObject *object)
{
  NsRefine *self = NS_REFINE (object);

  if (self->editor != NULL)
    {
      ns_refine_discard (self);
      g_signal_handlers_disconnect_by_data (self->editor, self);
    }
  g_clear_object (&self->editor);
  self->viewer = NULL;
  G_OBJECT_CLASS (ns_refine_parent_class)->dispose (object);
}

static void
ns_refine_finalize (GObject *object)
{
  NsRefine *self = NS_REFINE (object);

  /* every request held a reference: none runs now */
  _ns_refine_engine_clear (&self->engine);
  g_clear_pointer (&self->stroke, g_array_unref);
  g_clear_pointer (&self->base, ns_label_map_unref);
  g_clear_pointer (&self->result, ns_label_map_unref);
  g_clear_pointer (&self->preview, ns_label_map_unref);
  g_free (self->model_path);
  g_free (self->status);
  G_OBJECT_CLASS (ns_refine_parent_class)->finalize (object);
}

static void
ns_refine_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  NsRefine *self = NS_REFINE (object);

  switch (prop_id)
    {
    case PROP_STATUS:
      g_value_set_string (value, self->status);
      break;
    case PROP_AVAILABLE:
      g_value_set_boolean (value, self->available);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->n_running > 0);
      break;
    case PROP_N_CLICKS:
      g_value_set_uint (value, self->n_clicks);
      break;
    case PROP_HAS_PREVIEW:
      g_value_set_boolean (value, ns_refine_has_preview (self));
      break;
    case PROP_REGION:
      g_value_set_int (value, self->region);
      break;
    case PROP_MODEL_PATH:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_PROPAGATE:
      g_value_set_boolean (value, self->propagate);
      break;
    case PROP_N_CANCELLED:
      g_value_set_uint (value, self->n_cancelled);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_refine_set_property (GObject *object, guint prop_id, const GValue *value,
                        GParamSpec *pspec)
{
  NsRefine *self = NS_REFINE (object);

  switch (prop_id)
    {
    case PROP_REGION:
      ns_refine_set_region (self, g_value_get_int (value));
      break;
    case PROP_MODEL_PATH:
      ns_refine_set_model_path (self, g_value_get_string (value));
      break;
    case PROP_PROPAGATE:
      ns_refine_set_propagate (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_refine_class_init (NsRefineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags ro = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = ns_refine_dispose;
  object_class->finalize = ns_refine_finalize;
  object_class->get_property = ns_refine_get_property;
  object_class->set_property = ns_refine_set_property;

  properties[PROP_STATUS] = g_param_spec_string ("status", NULL, NULL, NULL, ro);
  properties[PROP_AVAILABLE] = g_param_spec_boolean ("available", NULL, NULL, FALSE, ro);
  properties[PROP_BUSY] = g_param_spec_boolean ("busy", NULL, NULL, FALSE, ro);
  properties[PROP_N_CLICKS] = g_param_spec_uint ("n-clicks", NULL, NULL, 0, G_MAXUINT, 0, ro);
  properties[PROP_HAS_PREVIEW] = g_param_spec_boolean ("has-preview", NULL, NULL, FALSE, ro);
  properties[PROP_REGION] = g_param_spec_int ("region", NULL, NULL, NS_REFINE_REGION_AUTO,
                                              NS_REFINE_REGION_ET, NS_REFINE_REGION_AUTO, rw);
  properties[PROP_MODEL_PATH] = g_param_spec_string ("model-path", NULL, NULL, NULL, rw);
  properties[PROP_PROPAGATE] = g_param_spec_boolean ("propagate", NULL, NULL, TRUE, rw);
  properties[PROP_N_CANCELLED] = g_param_spec_uint ("n-cancelled", NULL, NULL, 0, G_MAXUINT,
                                                    0, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[PREVIEW_UPDATED] =
    g_signal_new ("preview-updated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[FINISHED] =
    g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_BOOLEAN, G_TYPE_STRING);
}

static void
ns_refine_init (NsRefine *self)
{
  _ns_refine_engine_init (&self->engine);
  self->status = g_strdup ("");
  self->propagate = TRUE;
}

NsRefine *
ns_refine_new (NsEditor *editor)
{
  NsRefine *self;

  g_return_val_if_fail (NS_IS_EDITOR (editor), NULL);

  self = g_object_new (NS_TYPE_REFINE, NULL);
  self->editor = g_object_ref (editor);
  self->viewer = ns_editor_get_viewer (editor);
  g_signal_connect_object (editor, "notify::tool", G_CALLBACK (editor_tool_cb), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (editor, "notify::label", G_CALLBACK (editor_label_cb), self,
                           G_CONNECT_SWAPPED);
  /* an undo, redo or another edit during the episode: the preview follows the mask */
  g_signal_connect_object (editor, "history-changed", G_CALLBACK (remerge), self,
                           G_CONNECT_SWAPPED);
  /* another document (or none): the episode was about the old one */
  g_signal_connect_object (editor, "doc-changed", G_CALLBACK (ns_refine_discard), self,
                           G_CONNECT_SWAPPED);
  return self;
}
