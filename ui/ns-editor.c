/* SPDX-License-Identifier: MIT
 *
 * ns-editor.c: the mask editor of a window (see ns-editor.h).
 *
 * The editor is the only code in ui/ that changes label voxels.  Every edit goes through
 * one path: a data/ tool edits the NsMaskDoc's map in place and returns the sparse change,
 * ns_mask_doc_commit() records it (history + journal, which never blocks), and
 * ns_viewer_labels_edited() updates the volumes from the change and damages only the
 * box it touched.  A stroke damages its box after each dab and is committed once, at
 * the release, so a drag is one undo step.
 *
 * Read-only (ns_editor_set_read_only(): a queued case a colleague holds) is enforced by
 * the document (ns_mask_doc_set_read_only()), the one place every write passes: a change
 * a tool already applied is put back there and record() shows the views the voxels as
 * they are again.  The editor only refuses to begin a stroke, so that no dab shows for a
 * moment before it is put back.
 */
#define G_LOG_DOMAIN "ns-editor"

#include "ns-editor.h"

#include "ns-corrections.h"
#include "ns-label-ops.h"
#include "ns-normalize.h"

#include <math.h>
#include <string.h>

struct _NsEditor
{
  GObject parent_instance;

  NsViewer *viewer;
  NsMaskDoc *doc;
  char *read_only;               /* why edits are refused (the document's too), or NULL */
  char *case_seg_path;           /* the case's segmentation file, NULL when none */
  gboolean seg_confirmed;        /* a save to case_seg_path was confirmed */

  NsTool tool;
  guint8 label;
  double radius;
  NsBrushShape shape;
  gboolean three_d;
  NsPaintOver over;
  guint8 over_label;
  gboolean intensity_limit;
  gboolean lasso_through;
  double tolerance;
  NsFillBound fill_bound;
  gboolean fill_guard;
  double fill_guard_fraction;

  /* A fill the guard refused, waiting for ns_editor_fill_confirm () or _cancel () */
  gboolean fill_pending;
  NsPlaneGeometry pending_geom;
  int pending_seed[3];
  /* The brain of brain_image (ns_normalize_brain_mask), cached for the guard */
  NsLabelMap *brain;
  NsVolume *brain_image;

  NsEditStroke *stroke;
  NsPlaneGeometry stroke_geom;

  GArray *outline;               /* int[2] (du, dv), cached for outline_key */
  char outline_key[96];
};

G_DEFINE_FINAL_TYPE (NsEditor, ns_editor, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_TOOL,
  PROP_LABEL,
  PROP_RADIUS,
  PROP_SHAPE,
  PROP_THREE_D,
  PROP_PAINT_OVER,
  PROP_OVER_LABEL,
  PROP_INTENSITY_LIMIT,
  PROP_LASSO_THROUGH,
  PROP_TOLERANCE,
  PROP_FILL_BOUND,
  PROP_FILL_GUARD,
  PROP_FILL_GUARD_FRACTION,
  PROP_FILL_PENDING,
  PROP_MODIFIED,
  PROP_READ_ONLY,
  N_PROPS
};

enum {
  DOC_CHANGED,
  HISTORY_CHANGED,
  LABEL_TABLE_CHANGED,
  FILL_REFUSED,
  EDIT_REFUSED,
  LABELS_UNREADABLE,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static const char *const tool_names[NS_N_TOOLS] = {
  "navigate", "brush", "eraser", "fill", "picker", "lasso", "refine",
};

/* The radius ladder of [ and ] (mm), as ITK-SNAP's brush sizes go. */
static const double radius_steps[] = {
  0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50,
};

const char *
ns_tool_to_string (NsTool tool)
{
  g_return_val_if_fail (tool < NS_N_TOOLS, NULL);
  return tool_names[tool];
}

gboolean
ns_tool_from_string (const char *name, NsTool *tool)
{
  for (guint t = 0; t < NS_N_TOOLS; t++)
    if (g_strcmp0 (name, tool_names[t]) == 0)
      {
        *tool = t;
        return TRUE;
      }
  return FALSE;
}

/* ---- document ---------------------------------------------------------------------------- */

char *
ns_editor_default_mask_path (NsCase *ncase)
{
  g_autofree char *base = NULL;
  g_autofree char *own = NULL;
  g_autofree char *corrections = NULL;
  g_autofree char *corrected = NULL;

  g_return_val_if_fail (ncase != NULL, NULL);

  base = g_strdup_printf ("%s_mask.nii.gz", ncase->id);
  /* the case as last marked corrected, the latest work on it */
  corrections = ns_corrections_dup_case_folder (ncase);
  corrected = g_build_filename (corrections, base, NULL);
  if (g_file_test (corrected, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&corrected);
  own = g_build_filename (ncase->dir, base, NULL);
  if (g_file_test (own, G_FILE_TEST_EXISTS) || ncase->paths[NS_CASE_FILE_LABELS] == NULL)
    return g_steal_pointer (&own);
  return g_strdup (ncase->paths[NS_CASE_FILE_LABELS]);
}

char *
ns_editor_dup_labels_source (NsEditor *self)
{
  NsHistory *history;
  g_autofree char *base = NULL;
  gboolean modified, edited_after = FALSE, predicted = FALSE;

  g_return_val_if_fail (NS_IS_EDITOR (self), NULL);

  if (self->doc == NULL)
    return NULL;
  history = ns_mask_doc_get_history (self->doc);
  base = g_path_get_basename (ns_mask_doc_get_path (self->doc));
  modified = ns_mask_doc_is_modified (self->doc);
  /* the last prediction among the entries applied, and whether edits followed it */
  for (guint i = ns_history_n_undo (history); i-- > 0 && !predicted;)
    {
      if (g_str_has_prefix (ns_history_get (history, i)->name, NS_EDITOR_PREDICTION_NAME))
        predicted = TRUE;
      else
        edited_after = TRUE;
    }
  if (!predicted)
    return modified ? g_strdup_printf ("%s, edited, not saved", base) : g_steal_pointer (&base);
  return g_strdup_printf ("Model prediction%s, %s%s", edited_after ? " with edits" : "",
                          modified ? "not saved" : "saved as ", modified ? "" : base);
}

static void
notify_modified (NsEditor *self)
{
  g_autofree char *source = ns_editor_dup_labels_source (self);

  ns_viewer_set_labels_source (self->viewer, source);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODIFIED]);
  g_signal_emit (self, signals[HISTORY_CHANGED], 0);
}

/* Colours of the table's labels into the viewer (custom labels get theirs). */
static void
sync_colours (NsEditor *self)
{
  NsLabelTable *table = ns_mask_doc_get_labels (self->doc);

  for (guint i = 0; i < ns_label_table_n_entries (table); i++)
    {
      const NsLabelEntry *e = ns_label_table_get_nth (table, i);

      if (e->value != 0)
        ns_viewer_set_label_rgb (self->viewer, e->value,
                                 ((guint32) e->rgba[0] << 16) | ((guint32) e->rgba[1] << 8)
                                   | e->rgba[2]);
    }
}

/* Whether the mask at path is the case's own label file, decoded already into
 * ncase->labels with its values as in the file (no BraTS 2015 mapping): then the document
 * edits that map instead of decoding the file again (one buffer for the case, the editor
 * and the views; 8.5 MiB for BraTS). */
static gboolean
shares_case_labels (const NsCase *ncase, const char *path)
{
  return ncase->labels != NULL && !ncase->labels_mapped
         && ncase->paths[NS_CASE_FILE_LABELS] != NULL
         && g_strcmp0 (ncase->labels->path, ncase->paths[NS_CASE_FILE_LABELS]) == 0
         && g_strcmp0 (path, ncase->paths[NS_CASE_FILE_LABELS]) == 0;
}

/* The document that shared the case's labels (above) wrote into them: they go back to what
 * the file holds now, which the views show once the editor is closed (the edits were saved
 * into that file, or discarded).  The file unreadable: the labels stay as the user left
 * them (nothing of theirs is lost) and "labels-unreadable" says which file and why. */
static void
reread_case_labels (NsEditor *self, NsCase *ncase)
{
  g_autoptr (GError) error = NULL;
  const char *path = ncase->paths[NS_CASE_FILE_LABELS];
  gsize n = ns_grid_n_voxels (&ncase->labels->grid);
  g_autoptr (NsLabelMap) map = ns_mask_doc_read_mask (path, &ncase->labels->grid, &error);

  if (map != NULL)
    {
      memcpy (ncase->labels->labels, map->labels, n);
      return;
    }
  if (strstr (error->message, path) == NULL)
    g_prefix_error (&error, "%s: ", path);
  g_signal_emit (self, signals[LABELS_UNREADABLE], 0, error);
}

void
ns_editor_close (NsEditor *self)
{
  g_autoptr (GError) error = NULL;
  NsCase *ncase;
  gboolean reread;

  g_return_if_fail (NS_IS_EDITOR (self));

  if (self->doc == NULL)
    return;
  ns_editor_stroke_cancel (self);
  ns_editor_fill_cancel (self);
  /* Back at the saved state (edits undone, e.g. Run Model then Undo): the journal's
   * records add up to nothing, and left there they would be offered for recovery at the
   * next start.  Not while an offered recovery is unanswered: those edits stay. */
  if (!ns_mask_doc_is_modified (self->doc) && ns_mask_doc_n_recoverable (self->doc) == 0
      && !ns_journal_truncate (ns_mask_doc_get_journal (self->doc), &error))
    g_warning ("%s", error->message);
  ncase = ns_viewer_get_case (self->viewer);
  reread = ncase != NULL && ncase->labels == ns_mask_doc_get_map (self->doc)
           && ns_mask_doc_map_written (self->doc);
  g_clear_pointer (&self->doc, ns_mask_doc_free);
  g_clear_pointer (&self->case_seg_path, g_free);
  if (reread)
    reread_case_labels (self, ncase);
  if (ns_viewer_has_case (self->viewer))
    ns_viewer_set_labels (self->viewer, NULL);
  g_signal_emit (self, signals[DOC_CHANGED], 0);
  notify_modified (self);
}

gboolean
ns_editor_open (NsEditor *self, const char *mask_path, GError **error)
{
  NsCase *ncase;
  g_autofree char *path = NULL;
  NsMaskDoc *doc;
  guint n_entries;

  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);

  ns_editor_close (self);
  ncase = ns_viewer_get_case (self->viewer);
  if (ncase == NULL)
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID, "no case is open");
      return FALSE;
    }
  path = mask_path != NULL ? g_strdup (mask_path) : ns_editor_default_mask_path (ncase);
  if (shares_case_labels (ncase, path))
    doc = ns_mask_doc_open_decoded (ns_viewer_get_image (self->viewer, 0), ncase->labels, path,
                                    ncase->dir, 0, error);
  else
    doc = ns_mask_doc_open (ns_viewer_get_image (self->viewer, 0), path, ncase->dir, 0, error);
  if (doc == NULL)
    return FALSE;
  self->doc = doc;
  ns_mask_doc_set_read_only (doc, self->read_only);
  self->case_seg_path = g_strdup (ncase->paths[NS_CASE_FILE_LABELS]);
  self->seg_confirmed = FALSE;
  ns_viewer_set_labels (self->viewer, ns_mask_doc_get_map (doc));
  sync_colours (self);

  /* Keep the active label when the new table has it, else take its first class. */
  n_entries = ns_label_table_n_entries (ns_mask_doc_get_labels (doc));
  if (ns_label_table_lookup (ns_mask_doc_get_labels (doc), self->label) == NULL
      && n_entries > 1)
    ns_editor_set_label (self, ns_label_table_get_nth (ns_mask_doc_get_labels (doc), 1)->value);
  g_signal_emit (self, signals[DOC_CHANGED], 0);
  g_signal_emit (self, signals[LABEL_TABLE_CHANGED], 0);
  notify_modified (self);
  return TRUE;
}

void
ns_editor_set_read_only (NsEditor *self, const char *reason)
{
  g_return_if_fail (NS_IS_EDITOR (self));

  if (g_strcmp0 (reason, self->read_only) == 0)
    return;
  ns_editor_stroke_cancel (self);
  ns_editor_fill_cancel (self);
  g_free (self->read_only);
  self->read_only = g_strdup (reason);
  if (self->doc != NULL)
    ns_mask_doc_set_read_only (self->doc, reason);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_READ_ONLY]);
}

const char *
ns_editor_get_read_only (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), NULL);
  return self->read_only;
}

NsMaskDoc *
ns_editor_get_doc (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), NULL);
  return self->doc;
}

gboolean
ns_editor_is_modified (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);
  return self->doc != NULL && ns_mask_doc_is_modified (self->doc);
}

gboolean
ns_editor_path_is_case_seg (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);
  return self->doc != NULL && self->case_seg_path != NULL && !self->seg_confirmed
         && g_strcmp0 (ns_mask_doc_get_path (self->doc), self->case_seg_path) == 0;
}

gboolean
ns_editor_recover (NsEditor *self, gboolean force, guint *n_replayed, GError **error)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);

  if (self->doc == NULL || !ns_mask_doc_recover (self->doc, force, n_replayed, error))
    return FALSE;
  ns_viewer_labels_changed (self->viewer);
  notify_modified (self);
  return TRUE;
}

gboolean
ns_editor_discard_recovery (NsEditor *self, GError **error)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);
  return self->doc != NULL && ns_mask_doc_discard_recovery (self->doc, error);
}

gboolean
ns_editor_save (NsEditor *self, const char *path, gboolean force, GError **error)
{
  gboolean to_seg;

  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);

  if (self->doc == NULL)
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID, "no mask to save");
      return FALSE;
    }
  ns_editor_stroke_end (self);
  to_seg = path == NULL ? ns_editor_path_is_case_seg (self) : FALSE;
  if (!ns_mask_doc_save (self->doc, path, force, error))
    return FALSE;
  if (to_seg)
    self->seg_confirmed = TRUE;
  if (path != NULL)
    ns_viewer_labels_changed (self->viewer);   /* the file shown for the labels changed */
  notify_modified (self);
  return TRUE;
}

void
ns_editor_discard_changes (NsEditor *self)
{
  g_autoptr (GError) error = NULL;

  g_return_if_fail (NS_IS_EDITOR (self));

  if (self->doc != NULL && !ns_journal_truncate (ns_mask_doc_get_journal (self->doc), &error))
    g_warning ("%s", error->message);
}

/* ---- settings ---------------------------------------------------------------------------- */

static void
outline_invalidate (NsEditor *self)
{
  self->outline_key[0] = '\0';
}

NsTool
ns_editor_get_tool (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), NS_TOOL_NAVIGATE);
  return self->tool;
}

void
ns_editor_set_tool (NsEditor *self, NsTool tool)
{
  g_return_if_fail (NS_IS_EDITOR (self));
  g_return_if_fail (tool < NS_N_TOOLS);

  if (self->tool == tool)
    return;
  ns_editor_stroke_end (self);
  self->tool = tool;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOOL]);
}

guint8
ns_editor_get_label (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), 0);
  return self->label;
}

void
ns_editor_set_label (NsEditor *self, guint8 value)
{
  g_return_if_fail (NS_IS_EDITOR (self));

  if (self->label == value)
    return;
  self->label = value;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LABEL]);
}

gboolean
ns_editor_select_class (NsEditor *self, guint index)
{
  NsLabelTable *table;
  guint seen = 0;

  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);

  if (self->doc == NULL)
    return FALSE;
  table = ns_mask_doc_get_labels (self->doc);
  for (guint i = 0; i < ns_label_table_n_entries (table); i++)
    {
      const NsLabelEntry *e = ns_label_table_get_nth (table, i);

      if (e->value != 0 && seen++ == index)
        {
          ns_editor_set_label (self, e->value);
          /* Picking a class means painting it (as ITK-SNAP's palette does). */
          if (self->tool == NS_TOOL_NAVIGATE || self->tool == NS_TOOL_PICKER
              || self->tool == NS_TOOL_ERASER)
            ns_editor_set_tool (self, NS_TOOL_BRUSH);
          return TRUE;
        }
    }
  return FALSE;
}

double
ns_editor_get_radius (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), 0);
  return self->radius;
}

void
ns_editor_set_radius (NsEditor *self, double radius_mm)
{
  g_return_if_fail (NS_IS_EDITOR (self));

  radius_mm = CLAMP (radius_mm, NS_EDITOR_RADIUS_MIN, NS_EDITOR_RADIUS_MAX);
  if (self->radius == radius_mm)
    return;
  self->radius = radius_mm;
  outline_invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RADIUS]);
}

void
ns_editor_step_radius (NsEditor *self, int direction)
{
  g_return_if_fail (NS_IS_EDITOR (self));

  if (direction > 0)
    {
      for (guint i = 0; i < G_N_ELEMENTS (radius_steps); i++)
        if (radius_steps[i] > self->radius + 1e-9)
          {
            ns_editor_set_radius (self, radius_steps[i]);
            return;
          }
    }
  else
    {
      for (guint i = G_N_ELEMENTS (radius_steps); i-- > 0;)
        if (radius_steps[i] < self->radius - 1e-9)
          {
            ns_editor_set_radius (self, radius_steps[i]);
            return;
          }
    }
}

NsBrushShape
ns_editor_get_shape (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), NS_BRUSH_ROUND);
  return self->shape;
}

void
ns_editor_set_shape (NsEditor *self, NsBrushShape shape)
{
  g_return_if_fail (NS_IS_EDITOR (self));

  if (self->shape == shape)
    return;
  self->shape = shape;
  outline_invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHAPE]);
}

gboolean
ns_editor_get_three_d (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);
  return self->three_d;
}

void
ns_editor_set_three_d (NsEditor *self, gboolean three_d)
{
  g_return_if_fail (NS_IS_EDITOR (self));

  three_d = !!three_d;
  if (self->three_d == three_d)
    return;
  self->three_d = three_d;
  outline_invalidate (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_THREE_D]);
}

NsPaintOver
ns_editor_get_paint_over (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), NS_PAINT_OVER_ALL);
  return self->over;
}

void
ns_editor_set_paint_over (NsEditor *self, NsPaintOver over, guint8 over_label)
{
  g_return_if_fail (NS_IS_EDITOR (self));

  if (self->over != over)
    {
      self->over = over;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PAINT_OVER]);
    }
  if (self->over_label != over_label)
    {
      self->over_label = over_label;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OVER_LABEL]);
    }
}

gboolean
ns_editor_get_lasso_through (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);
  return self->lasso_through;
}

void
ns_editor_set_lasso_through (NsEditor *self, gboolean through)
{
  g_return_if_fail (NS_IS_EDITOR (self));

  through = !!through;
  if (self->lasso_through == through)
    return;
  self->lasso_through = through;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LASSO_THROUGH]);
}

gboolean
ns_editor_get_intensity_limit (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);
  return self->intensity_limit;
}

void
ns_editor_set_intensity_limit (NsEditor *self, gboolean on)
{
  g_return_if_fail (NS_IS_EDITOR (self));

  on = !!on;
  if (self->intensity_limit == on)
    return;
  self->intensity_limit = on;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INTENSITY_LIMIT]);
}

double
ns_editor_get_tolerance (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), 0);
  return self->tolerance;
}

void
ns_editor_set_tolerance (NsEditor *self, double tolerance)
{
  g_return_if_fail (NS_IS_EDITOR (self));

  tolerance = MAX (tolerance, 0);
  if (self->tolerance == tolerance)
    return;
  self->tolerance = tolerance;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOLERANCE]);
}

NsFillBound
ns_editor_get_fill_bound (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), NS_FILL_BOUND_LABEL);
  return self->fill_bound;
}

void
ns_editor_set_fill_bound (NsEditor *self, NsFillBound bound)
{
  g_return_if_fail (NS_IS_EDITOR (self));

  if (self->fill_bound == bound)
    return;
  self->fill_bound = bound;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILL_BOUND]);
}

gboolean
ns_editor_get_locked (NsEditor *self, guint8 value)
{
  const NsLabelEntry *e;

  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);

  if (self->doc == NULL)
    return FALSE;
  e = ns_label_table_lookup (ns_mask_doc_get_labels (self->doc), value);
  return e != NULL && e->locked;
}

void
ns_editor_set_locked (NsEditor *self, guint8 value, gboolean locked)
{
  g_return_if_fail (NS_IS_EDITOR (self));

  if (self->doc == NULL || ns_editor_get_locked (self, value) == !!locked)
    return;
  ns_label_table_set_locked (ns_mask_doc_get_labels (self->doc), value, locked);
  g_signal_emit (self, signals[LABEL_TABLE_CHANGED], 0);
}

void
ns_editor_add_label (NsEditor *self, guint8 value, const char *name, const guint8 rgb[3])
{
  guint8 rgba[4] = { rgb[0], rgb[1], rgb[2], 255 };

  g_return_if_fail (NS_IS_EDITOR (self));
  g_return_if_fail (value != 0 && name != NULL);

  /* a label description is saved with the mask: an edit too */
  if (self->doc == NULL || ns_mask_doc_get_read_only (self->doc) != NULL)
    return;
  ns_label_table_set (ns_mask_doc_get_labels (self->doc), value, name, rgba, TRUE,
                      ns_editor_get_locked (self, value));
  ns_viewer_set_label_rgb (self->viewer, value,
                           ((guint32) rgb[0] << 16) | ((guint32) rgb[1] << 8) | rgb[2]);
  g_signal_emit (self, signals[LABEL_TABLE_CHANGED], 0);
}

static void
fill_rule (NsEditor *self, NsPaintRule *rule, guint8 label)
{
  ns_paint_rule_init (rule, label);
  rule->over = self->over;
  rule->over_label = self->over_label;
  if (self->doc != NULL)
    ns_label_table_fill_locks (ns_mask_doc_get_labels (self->doc), rule->locked);
}

void
ns_editor_get_paint_rule (NsEditor *self, guint8 label, NsPaintRule *rule)
{
  g_return_if_fail (NS_IS_EDITOR (self));
  g_return_if_fail (rule != NULL);
  fill_rule (self, rule, label);
}

gboolean
ns_editor_get_fill_guard (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);
  return self->fill_guard;
}

void
ns_editor_set_fill_guard (NsEditor *self, gboolean on)
{
  g_return_if_fail (NS_IS_EDITOR (self));

  on = !!on;
  if (self->fill_guard == on)
    return;
  self->fill_guard = on;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILL_GUARD]);
}

double
ns_editor_get_fill_guard_fraction (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), 1.0);
  return self->fill_guard_fraction;
}

void
ns_editor_set_fill_guard_fraction (NsEditor *self, double fraction)
{
  g_return_if_fail (NS_IS_EDITOR (self));

  fraction = CLAMP (fraction, NS_EDITOR_FILL_FRACTION_MIN, 1.0);
  if (self->fill_guard_fraction == fraction)
    return;
  self->fill_guard_fraction = fraction;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILL_GUARD_FRACTION]);
}

void
ns_editor_get_brush (NsEditor *self, int plane_axis, NsBrush *brush)
{
  g_return_if_fail (NS_IS_EDITOR (self));

  brush->shape = self->shape;
  brush->radius_mm = self->radius;
  brush->plane_axis = self->three_d ? -1 : plane_axis;
}

GArray *
ns_editor_get_outline_offsets (NsEditor *self, const NsPlaneGeometry *geom)
{
  char key[96];
  const NsGrid *grid;

  g_return_val_if_fail (NS_IS_EDITOR (self), NULL);

  grid = ns_viewer_get_grid (self->viewer);
  if (grid == NULL)
    return NULL;
  g_snprintf (key, sizeof key, "%d %g %d %d %g %g %g", self->shape, self->radius,
              self->three_d, geom->axis_n, grid->spacing[0], grid->spacing[1],
              grid->spacing[2]);
  if (self->outline == NULL || strcmp (key, self->outline_key) != 0)
    {
      NsBrush brush;
      g_autoptr (GArray) offsets = NULL;

      ns_editor_get_brush (self, geom->axis_n, &brush);
      offsets = ns_brush_offsets (&brush, grid);
      g_clear_pointer (&self->outline, g_array_unref);
      self->outline = g_array_new (FALSE, FALSE, sizeof (int[2]));
      /* The slice of a 3-D brush through its centre. */
      for (guint i = 0; i < offsets->len; i++)
        {
          const int *o = &g_array_index (offsets, int, 3 * i);

          if (o[geom->axis_n] == 0)
            {
              int uv[2] = { o[geom->axis_u], o[geom->axis_v] };
              g_array_append_val (self->outline, uv);
            }
        }
      g_strlcpy (self->outline_key, key, sizeof self->outline_key);
    }
  return self->outline;
}

/* ---- edits ------------------------------------------------------------------------------- */

/* The one way an applied change (owned) reaches the document: the views follow it (box:
 * what to damage, NULL: the change's box), the document records it, or, read-only, puts
 * the voxels back: the views follow them back and "edit-refused" says why. */
static void
record (NsEditor *self, NsEditChange *change, const int box[6])
{
  g_autoptr (NsEditChange) keep = ns_edit_change_ref (change);

  ns_viewer_labels_edited (self->viewer, change, TRUE, box);
  if (!ns_mask_doc_commit (self->doc, change) && ns_mask_doc_get_read_only (self->doc) != NULL)
    {
      ns_viewer_labels_edited (self->viewer, keep, FALSE, NULL);
      g_signal_emit (self, signals[EDIT_REFUSED], 0, ns_mask_doc_get_read_only (self->doc));
    }
  notify_modified (self);
}

static void
commit (NsEditor *self, NsEditChange *change)
{
  /* The views were damaged dab by dab for a stroke; the volumes follow the change. */
  record (self, change, (int[6]) { 0, 0, 0, -1, -1, -1 });
}

gboolean
ns_editor_stroke_begin (NsEditor *self, const NsPlaneGeometry *geom, const double voxel[3])
{
  g_autoptr (GError) error = NULL;
  NsBrush brush;
  NsPaintRule rule;
  NsVolume *image;

  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);

  if (self->doc == NULL || (self->tool != NS_TOOL_BRUSH && self->tool != NS_TOOL_ERASER)
      || ns_mask_doc_get_read_only (self->doc) != NULL)
    return FALSE;
  ns_editor_stroke_end (self);

  image = ns_viewer_get_shown_image (self->viewer);
  fill_rule (self, &rule, self->tool == NS_TOOL_ERASER ? 0 : self->label);
  if (self->intensity_limit && self->tool == NS_TOOL_BRUSH)
    {
      int ijk[3];

      for (int a = 0; a < 3; a++)
        ijk[a] = (int) lround (voxel[a]);
      rule.intensity_limit = ns_paint_rule_set_intensity_from (&rule, image, ijk,
                                                               self->tolerance);
    }
  ns_editor_get_brush (self, geom->axis_n, &brush);
  self->stroke = ns_edit_stroke_begin (ns_mask_doc_get_map (self->doc), image, &brush, &rule,
                                       self->tool == NS_TOOL_ERASER ? "Eraser" : "Brush",
                                       &error);
  if (self->stroke == NULL)
    {
      g_warning ("%s", error->message);
      return FALSE;
    }
  self->stroke_geom = *geom;
  ns_editor_stroke_add (self, voxel);
  return TRUE;
}

void
ns_editor_stroke_add (NsEditor *self, const double voxel[3])
{
  int bbox[6];

  g_return_if_fail (NS_IS_EDITOR (self));

  if (self->stroke == NULL)
    return;
  if (ns_edit_stroke_add (self->stroke, voxel, bbox) > 0)
    ns_viewer_labels_edited (self->viewer, NULL, TRUE, bbox);
}

void
ns_editor_stroke_end (NsEditor *self)
{
  NsEditChange *change;

  g_return_if_fail (NS_IS_EDITOR (self));

  if (self->stroke == NULL)
    return;
  change = ns_edit_stroke_end (g_steal_pointer (&self->stroke));
  commit (self, change);
}

void
ns_editor_stroke_cancel (NsEditor *self)
{
  g_return_if_fail (NS_IS_EDITOR (self));

  if (self->stroke == NULL)
    return;
  ns_edit_stroke_cancel (g_steal_pointer (&self->stroke));
  ns_viewer_labels_changed (self->viewer);
}

gboolean
ns_editor_is_stroking (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);
  return self->stroke != NULL;
}

void
ns_editor_pick (NsEditor *self, const int ijk[3])
{
  g_return_if_fail (NS_IS_EDITOR (self));

  if (self->doc != NULL)
    ns_editor_set_label (self, ns_edit_pick (ns_mask_doc_get_map (self->doc), ijk));
}

/* A whole-tool edit (fill, interpolation, islands): damage the change's box. */
static gboolean
commit_tool_change (NsEditor *self, NsEditChange *change)
{
  if (change == NULL)
    return FALSE;
  record (self, change, NULL);
  return TRUE;
}

/* The brain of the shown image, computed once per image (the guard's reference). */
static const guint8 *
shown_brain (NsEditor *self, NsVolume *image, GError **error)
{
  NsLabelMap *brain;

  if (image == NULL)
    return NULL;
  if (self->brain_image == image)
    return self->brain->labels;
  brain = ns_normalize_brain_mask (image, error);
  if (brain == NULL)
    return NULL;
  g_clear_pointer (&self->brain, ns_label_map_unref);
  g_clear_pointer (&self->brain_image, ns_volume_unref);
  self->brain = brain;
  self->brain_image = ns_volume_ref (image);
  return brain->labels;
}

static void
set_fill_pending (NsEditor *self, gboolean pending)
{
  if (self->fill_pending == pending)
    return;
  self->fill_pending = pending;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FILL_PENDING]);
}

static gboolean
fill (NsEditor *self, const NsPlaneGeometry *geom, const int seed[3], gboolean guarded,
      GError **error)
{
  NsPaintRule rule;
  NsVolume *image;
  NsLabelMap *map;
  NsEditChange *change;
  double lo = 0, hi = 0;

  if (self->doc == NULL)
    return FALSE;
  ns_editor_stroke_end (self);
  ns_editor_fill_cancel (self);
  image = ns_viewer_get_shown_image (self->viewer);
  map = ns_mask_doc_get_map (self->doc);
  fill_rule (self, &rule, self->label);
  if (self->fill_bound == NS_FILL_BOUND_INTENSITY || self->intensity_limit)
    {
      NsPaintRule probe;

      ns_paint_rule_init (&probe, 0);
      if (!ns_paint_rule_set_intensity_from (&probe, image, seed, self->tolerance))
        return FALSE;
      lo = probe.lo;
      hi = probe.hi;
      if (self->intensity_limit)
        {
          rule.intensity_limit = TRUE;
          rule.lo = lo;
          rule.hi = hi;
        }
    }
  change = ns_edit_flood_fill_2d (map, image, geom->axis_n, seed, self->fill_bound, lo, hi,
                                  &rule, error);
  if (change != NULL && guarded && self->fill_guard)
    {
      g_autofree char *reason = NULL;
      const guint8 *brain = shown_brain (self, image, error);

      if (image != NULL && brain == NULL)
        {
          /* no reference to judge by: nothing is painted unjudged */
          ns_edit_change_apply (change, map, FALSE);
          ns_edit_change_unref (change);
          return FALSE;
        }
      if (ns_label_ops_fill_exceeds (change, &map->grid, geom->axis_n, brain,
                                     self->fill_guard_fraction, &reason))
        {
          /* Undo it before anyone sees it, and ask. */
          ns_edit_change_apply (change, map, FALSE);
          ns_edit_change_unref (change);
          self->pending_geom = *geom;
          memcpy (self->pending_seed, seed, sizeof self->pending_seed);
          set_fill_pending (self, TRUE);
          g_signal_emit (self, signals[FILL_REFUSED], 0, reason);
          return FALSE;
        }
    }
  return commit_tool_change (self, change);
}

gboolean
ns_editor_fill (NsEditor *self, const NsPlaneGeometry *geom, const int seed[3],
                GError **error)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);
  g_return_val_if_fail (geom != NULL && seed != NULL, FALSE);

  return fill (self, geom, seed, TRUE, error);
}

gboolean
ns_editor_get_fill_pending (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);
  return self->fill_pending;
}

gboolean
ns_editor_fill_confirm (NsEditor *self, GError **error)
{
  NsPlaneGeometry geom;
  int seed[3];

  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);

  if (!self->fill_pending)
    return FALSE;
  geom = self->pending_geom;
  memcpy (seed, self->pending_seed, sizeof seed);
  return fill (self, &geom, seed, FALSE, error);
}

void
ns_editor_fill_cancel (NsEditor *self)
{
  g_return_if_fail (NS_IS_EDITOR (self));
  set_fill_pending (self, FALSE);
}

gboolean
ns_editor_interpolate (NsEditor *self, int plane_axis, GError **error)
{
  NsPaintRule rule;

  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);

  if (self->doc == NULL)
    return FALSE;
  ns_editor_stroke_end (self);
  fill_rule (self, &rule, self->label);
  return commit_tool_change (self,
                             ns_edit_interpolate_slices (ns_mask_doc_get_map (self->doc),
                                                         ns_viewer_get_shown_image (self->viewer),
                                                         plane_axis, &rule, error));
}

gboolean
ns_editor_remove_islands (NsEditor *self, double min_ml, GError **error)
{
  NsPaintRule rule;

  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);

  if (self->doc == NULL)
    return FALSE;
  ns_editor_stroke_end (self);
  fill_rule (self, &rule, 0);
  return commit_tool_change (self, ns_edit_remove_islands (ns_mask_doc_get_map (self->doc),
                                                           self->label, min_ml, &rule, error));
}

gboolean
ns_editor_replace (NsEditor *self, const guint8 *labels, const char *name)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);
  g_return_val_if_fail (labels != NULL, FALSE);

  if (self->doc == NULL)
    return FALSE;
  ns_editor_stroke_end (self);
  if (!ns_mask_doc_replace (self->doc, labels, name))
    {
      if (ns_mask_doc_get_read_only (self->doc) != NULL)
        g_signal_emit (self, signals[EDIT_REFUSED], 0, ns_mask_doc_get_read_only (self->doc));
      return FALSE;
    }
  ns_viewer_labels_changed (self->viewer);
  notify_modified (self);
  return TRUE;
}

gboolean
ns_editor_commit_applied (NsEditor *self, NsEditChange *change)
{
  g_autoptr (NsEditChange) owned = change;

  g_return_val_if_fail (NS_IS_EDITOR (self), FALSE);
  g_return_val_if_fail (change != NULL, FALSE);

  if (self->doc == NULL)
    return FALSE;
  ns_editor_stroke_end (self);
  /* the viewer reads the change (volumes, damaged box) before the history owns it */
  record (self, g_steal_pointer (&owned), NULL);
  return TRUE;
}

static guint
undo_redo (NsEditor *self, guint n, gboolean redo)
{
  NsHistory *history;
  guint done = 0;

  if (self->doc == NULL)
    return 0;
  if (ns_mask_doc_get_read_only (self->doc) != NULL)
    {
      g_signal_emit (self, signals[EDIT_REFUSED], 0, ns_mask_doc_get_read_only (self->doc));
      return 0;
    }
  ns_editor_stroke_end (self);
  history = ns_mask_doc_get_history (self->doc);
  for (guint s = 0; s < n; s++)
    {
      guint before = ns_history_n_undo (history);
      const NsEditChange *change;

      /* The entry that undo will revert (or redo re-apply), read before the step. */
      if (redo ? ns_history_n_redo (history) == 0 : before == 0)
        break;
      change = ns_history_get (history, redo ? before : before - 1);
      if ((redo ? ns_mask_doc_redo (self->doc, 1) : ns_mask_doc_undo (self->doc, 1)) == 0)
        break;
      ns_viewer_labels_edited (self->viewer, change, redo, NULL);
      done++;
    }
  if (done > 0)
    notify_modified (self);
  return done;
}

guint
ns_editor_undo (NsEditor *self, guint n)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), 0);
  return undo_redo (self, n, FALSE);
}

guint
ns_editor_redo (NsEditor *self, guint n)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), 0);
  return undo_redo (self, n, TRUE);
}

guint
ns_editor_history_goto (NsEditor *self, guint n_applied)
{
  guint n_undo;

  g_return_val_if_fail (NS_IS_EDITOR (self), 0);

  if (self->doc == NULL)
    return 0;
  n_undo = ns_history_n_undo (ns_mask_doc_get_history (self->doc));
  if (n_applied < n_undo)
    return ns_editor_undo (self, n_undo - n_applied);
  if (n_applied > n_undo)
    return ns_editor_redo (self, n_applied - n_undo);
  return 0;
}

/* ---- GObject ----------------------------------------------------------------------------- */

static void
viewer_case_changed_cb (NsEditor *self, NsViewer *viewer)
{
  /* A new case (or none): the window opens the new mask; the old one is let go here so
   * that it never outlives its case. */
  if (self->doc != NULL
      && (ns_viewer_get_labels (viewer) != ns_mask_doc_get_map (self->doc)))
    ns_editor_close (self);
}

static void
ns_editor_dispose (GObject *object)
{
  NsEditor *self = NS_EDITOR (object);

  if (self->stroke != NULL)
    ns_editor_stroke_end (self);
  g_clear_pointer (&self->doc, ns_mask_doc_free);
  if (self->viewer != NULL)
    g_signal_handlers_disconnect_by_data (self->viewer, self);
  g_clear_object (&self->viewer);
  g_clear_pointer (&self->outline, g_array_unref);
  g_clear_pointer (&self->case_seg_path, g_free);
  g_clear_pointer (&self->read_only, g_free);
  g_clear_pointer (&self->brain, ns_label_map_unref);
  g_clear_pointer (&self->brain_image, ns_volume_unref);

  G_OBJECT_CLASS (ns_editor_parent_class)->dispose (object);
}

static void
ns_editor_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  NsEditor *self = NS_EDITOR (object);

  switch (prop_id)
    {
    case PROP_TOOL:
      g_value_set_string (value, tool_names[self->tool]);
      break;
    case PROP_LABEL:
      g_value_set_uint (value, self->label);
      break;
    case PROP_RADIUS:
      g_value_set_double (value, self->radius);
      break;
    case PROP_SHAPE:
      g_value_set_uint (value, self->shape);
      break;
    case PROP_THREE_D:
      g_value_set_boolean (value, self->three_d);
      break;
    case PROP_PAINT_OVER:
      g_value_set_uint (value, self->over);
      break;
    case PROP_OVER_LABEL:
      g_value_set_uint (value, self->over_label);
      break;
    case PROP_INTENSITY_LIMIT:
      g_value_set_boolean (value, self->intensity_limit);
      break;
    case PROP_LASSO_THROUGH:
      g_value_set_boolean (value, self->lasso_through);
      break;
    case PROP_TOLERANCE:
      g_value_set_double (value, self->tolerance);
      break;
    case PROP_FILL_BOUND:
      g_value_set_uint (value, self->fill_bound);
      break;
    case PROP_FILL_GUARD:
      g_value_set_boolean (value, self->fill_guard);
      break;
    case PROP_FILL_GUARD_FRACTION:
      g_value_set_double (value, self->fill_guard_fraction);
      break;
    case PROP_FILL_PENDING:
      g_value_set_boolean (value, self->fill_pending);
      break;
    case PROP_MODIFIED:
      g_value_set_boolean (value, ns_editor_is_modified (self));
      break;
    case PROP_READ_ONLY:
      g_value_set_string (value, self->read_only);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_editor_set_property (GObject *object, guint prop_id, const GValue *value,
                        GParamSpec *pspec)
{
  NsEditor *self = NS_EDITOR (object);

  switch (prop_id)
    {
    case PROP_TOOL:
      {
        NsTool tool;
        if (ns_tool_from_string (g_value_get_string (value), &tool))
          ns_editor_set_tool (self, tool);
      }
      break;
    case PROP_LABEL:
      ns_editor_set_label (self, (guint8) g_value_get_uint (value));
      break;
    case PROP_RADIUS:
      ns_editor_set_radius (self, g_value_get_double (value));
      break;
    case PROP_SHAPE:
      ns_editor_set_shape (self, g_value_get_uint (value));
      break;
    case PROP_THREE_D:
      ns_editor_set_three_d (self, g_value_get_boolean (value));
      break;
    case PROP_PAINT_OVER:
      ns_editor_set_paint_over (self, g_value_get_uint (value), self->over_label);
      break;
    case PROP_OVER_LABEL:
      ns_editor_set_paint_over (self, self->over, (guint8) g_value_get_uint (value));
      break;
    case PROP_INTENSITY_LIMIT:
      ns_editor_set_intensity_limit (self, g_value_get_boolean (value));
      break;
    case PROP_LASSO_THROUGH:
      ns_editor_set_lasso_through (self, g_value_get_boolean (value));
      break;
    case PROP_TOLERANCE:
      ns_editor_set_tolerance (self, g_value_get_double (value));
      break;
    case PROP_FILL_BOUND:
      ns_editor_set_fill_bound (self, g_value_get_uint (value));
      break;
    case PROP_FILL_GUARD:
      ns_editor_set_fill_guard (self, g_value_get_boolean (value));
      break;
    case PROP_FILL_GUARD_FRACTION:
      ns_editor_set_fill_guard_fraction (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_editor_class_init (NsEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = ns_editor_dispose;
  object_class->get_property = ns_editor_get_property;
  object_class->set_property = ns_editor_set_property;

  properties[PROP_TOOL] = g_param_spec_string ("tool", NULL, NULL, "navigate", rw);
  properties[PROP_LABEL] = g_param_spec_uint ("label", NULL, NULL, 0, 255, 1, rw);
  properties[PROP_RADIUS] = g_param_spec_double ("radius", NULL, NULL, NS_EDITOR_RADIUS_MIN,
                                                 NS_EDITOR_RADIUS_MAX, 3.0, rw);
  properties[PROP_SHAPE] = g_param_spec_uint ("shape", NULL, NULL, 0, NS_BRUSH_SQUARE,
                                              NS_BRUSH_ROUND, rw);
  properties[PROP_THREE_D] = g_param_spec_boolean ("three-d", NULL, NULL, FALSE, rw);
  properties[PROP_PAINT_OVER] = g_param_spec_uint ("paint-over", NULL, NULL, 0,
                                                   NS_PAINT_OVER_LABEL, NS_PAINT_OVER_ALL, rw);
  properties[PROP_OVER_LABEL] = g_param_spec_uint ("over-label", NULL, NULL, 0, 255, 0, rw);
  properties[PROP_INTENSITY_LIMIT] = g_param_spec_boolean ("intensity-limit", NULL, NULL,
                                                           FALSE, rw);
  properties[PROP_LASSO_THROUGH] = g_param_spec_boolean ("lasso-through", NULL, NULL, FALSE,
                                                         rw);
  properties[PROP_TOLERANCE] = g_param_spec_double ("tolerance", NULL, NULL, 0, G_MAXDOUBLE,
                                                    50.0, rw);
  properties[PROP_FILL_BOUND] = g_param_spec_uint ("fill-bound", NULL, NULL, 0,
                                                   NS_FILL_BOUND_INTENSITY,
                                                   NS_FILL_BOUND_LABEL, rw);
  properties[PROP_FILL_GUARD] = g_param_spec_boolean ("fill-guard", NULL, NULL, TRUE, rw);
  properties[PROP_FILL_GUARD_FRACTION] =
    g_param_spec_double ("fill-guard-fraction", NULL, NULL, NS_EDITOR_FILL_FRACTION_MIN, 1.0,
                         NS_EDITOR_FILL_FRACTION_DEFAULT, rw);
  properties[PROP_FILL_PENDING] = g_param_spec_boolean ("fill-pending", NULL, NULL, FALSE,
                                                        G_PARAM_READABLE
                                                          | G_PARAM_EXPLICIT_NOTIFY
                                                          | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODIFIED] = g_param_spec_boolean ("modified", NULL, NULL, FALSE,
                                                    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_READ_ONLY] = g_param_spec_string ("read-only", NULL, NULL, NULL,
                                                    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[DOC_CHANGED] =
    g_signal_new ("doc-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* An entry was committed, undone or redone, or the document was saved. */
  signals[HISTORY_CHANGED] =
    g_signal_new ("history-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[LABEL_TABLE_CHANGED] =
    g_signal_new ("label-table-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* The fill guard refused a fill (nothing painted); the argument says why.  Answer with
   * ns_editor_fill_confirm () or ns_editor_fill_cancel (). */
  signals[FILL_REFUSED] =
    g_signal_new ("fill-refused", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[EDIT_REFUSED] =
    g_signal_new ("edit-refused", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  signals[LABELS_UNREADABLE] =
    g_signal_new ("labels-unreadable", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
ns_editor_init (NsEditor *self)
{
  self->tool = NS_TOOL_NAVIGATE;
  self->label = 1;
  self->radius = 3.0;
  self->shape = NS_BRUSH_ROUND;
  self->over = NS_PAINT_OVER_ALL;
  self->tolerance = 50.0;
  self->fill_bound = NS_FILL_BOUND_LABEL;
  self->fill_guard = TRUE;
  self->fill_guard_fraction = NS_EDITOR_FILL_FRACTION_DEFAULT;
}

NsEditor *
ns_editor_new (NsViewer *viewer)
{
  NsEditor *self;

  g_return_val_if_fail (NS_IS_VIEWER (viewer), NULL);

  self = g_object_new (NS_TYPE_EDITOR, NULL);
  self->viewer = g_object_ref (viewer);
  g_signal_connect_object (viewer, "case-changed", G_CALLBACK (viewer_case_changed_cb), self,
                           G_CONNECT_SWAPPED);
  return self;
}

NsViewer *
ns_editor_get_viewer (NsEditor *self)
{
  g_return_val_if_fail (NS_IS_EDITOR (self), NULL);
  return self->viewer;
}
