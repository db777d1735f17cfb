/* SPDX-License-Identifier: MIT
 *
 * ns-viewer.c: the shared state of a window's slice views (see ns-viewer.h).
 *
 * Everything a view needs to draw is here, so that a click in one view, a change of
 * modality in the layer list or a window/level drag reach every view through one signal.
 * Statistics that cost a pass over the volume (the automatic window of each modality,
 * label volumes) are computed when the case is built, in the loader's worker thread; the
 * main thread only swaps the prepared case in.
 */
#define G_LOG_DOMAIN "ns-viewer"

#include "ns-viewer.h"

#include <math.h>
#include <string.h>

#include "ns-data-error.h"
#include "ns-task.h"
#include "ns-viewer-private.h"

struct _NsViewer
{
  GObject parent_instance;

  NsViewerCase *vcase;           /* NULL without a case */
  guint image_index;
  double cursor[3];
  int pointer[3];
  gboolean has_pointer;

  NsConvention convention;
  gboolean show_labels;
  gboolean show_crosshair;
  NsOverlayStyle overlay;
  NsLut lut;                     /* of the shown image */
  int overlay_image;             /* the sequence drawn over the shown one, -1: none */
  NsColormap overlay_colormap;
  double overlay_opacity;

  NsLabelMap *preview;           /* drawn instead of the labels while set (owned) */
  NsVolume *heat;                /* the heat overlay's values (owned), may be NULL */
  gboolean show_heat;
  char *labels_source;           /* what the labels are, in words (NULL: their file) */
};

G_DEFINE_FINAL_TYPE (NsViewer, ns_viewer, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_HAS_CASE,
  PROP_TITLE,
  PROP_MODALITY,
  PROP_IMAGE_INDEX,
  PROP_CONVENTION_NEUROLOGICAL,
  PROP_SHOW_LABELS,
  PROP_SHOW_CROSSHAIR,
  PROP_OPACITY,
  PROP_OVERLAY_MODE,
  PROP_SHOW_HEAT,
  PROP_HAS_HEAT,
  PROP_LABELS_SOURCE,
  N_PROPS
};

enum {
  CASE_CHANGED,
  CURSOR_CHANGED,
  POINTER_CHANGED,
  DISPLAY_CHANGED,
  LABELS_CHANGED,
  LABELS_DAMAGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* ---- the prepared case ------------------------------------------------------------------- */

static void
ns_viewer_image_clear (NsViewerImage *image)
{
  g_clear_pointer (&image->name, g_free);
  g_clear_pointer (&image->volume, ns_volume_unref);
}

void
_ns_viewer_case_free (NsViewerCase *vcase)
{
  if (vcase == NULL)
    return;
  for (guint i = 0; i < vcase->n_images; i++)
    ns_viewer_image_clear (&vcase->images[i]);
  g_clear_pointer (&vcase->owned_labels, ns_label_map_unref);
  g_clear_pointer (&vcase->ncase, ns_case_unref);
  g_free (vcase);
}

static void
count_volumes (const NsLabelMap *labels, NsViewerVolumes *volumes)
{
  guint64 counts[256];

  ns_label_map_count (labels, counts);
  memset (volumes, 0, sizeof *volumes);
  volumes->voxel_ml = ns_grid_voxel_volume_ml (&labels->grid);
  for (guint l = 1; l < 256; l++)
    volumes->label_ml[l] = (double) counts[l] * volumes->voxel_ml;
  volumes->wt_ml = volumes->label_ml[1] + volumes->label_ml[2] + volumes->label_ml[3]
                   + volumes->label_ml[4];
  volumes->tc_ml = volumes->label_ml[1] + volumes->label_ml[3] + volumes->label_ml[4];
  volumes->et_ml = volumes->label_ml[4];
}

/* The centre of mass of the tumour (labels > 0), rounded to a voxel; FALSE when empty. */
static gboolean
tumour_centre (const NsLabelMap *labels, double centre[3])
{
  const NsGrid *g = &labels->grid;
  double sum[3] = { 0, 0, 0 };
  guint64 n = 0;
  gsize v = 0;

  for (int k = 0; k < g->dim[2]; k++)
    for (int j = 0; j < g->dim[1]; j++)
      for (int i = 0; i < g->dim[0]; i++, v++)
        if (labels->labels[v] != 0)
          {
            sum[0] += i;
            sum[1] += j;
            sum[2] += k;
            n++;
          }
  if (n == 0)
    return FALSE;
  for (int a = 0; a < 3; a++)
    centre[a] = round (sum[a] / (double) n);
  return TRUE;
}

NsViewerCase *
_ns_viewer_case_new (NsCase *ncase)
{
  NsViewerCase *vcase = g_new0 (NsViewerCase, 1);

  vcase->ncase = ns_case_ref (ncase);
  vcase->grid = ncase->grid;
  for (guint m = 0; m < NS_N_MODALITIES; m++)
    {
      NsViewerImage *image;
      double lo, hi;

      if (ncase->modality[m] == NULL)
        continue;
      image = &vcase->images[vcase->n_images++];
      image->name = g_strdup (ns_modality_name (m));
      image->volume = ns_volume_ref (ncase->modality[m]);
      ns_window_level_auto (image->volume, &image->auto_window, &image->auto_level);
      /* The brain preset: the 5–95 % range inside the brain, a tighter window than auto
       * that brings out grey/white matter contrast at the cost of clipping the tumour's
       * brightest and darkest parts. */
      ns_volume_brain_percentiles (image->volume, 5.0, 95.0, &lo, &hi);
      image->brain_window = MAX (hi - lo, 1e-6);
      image->brain_level = (hi + lo) / 2.0;
      image->min = G_MAXFLOAT;
      image->max = -G_MAXFLOAT;
      for (gsize v = 0, n = ns_volume_n_voxels (image->volume); v < n; v++)
        {
          float x = ns_volume_get_value (image->volume, v);
          image->min = MIN (image->min, x);
          image->max = MAX (image->max, x);
        }
      image->window = image->auto_window;
      image->level = image->auto_level;
    }
  g_assert (vcase->n_images > 0);  /* a case has at least one image */

  vcase->centre[0] = (vcase->grid.dim[0] - 1) / 2;
  vcase->centre[1] = (vcase->grid.dim[1] - 1) / 2;
  vcase->centre[2] = (vcase->grid.dim[2] - 1) / 2;
  vcase->labels = ncase->labels;
  if (vcase->labels != NULL)
    {
      count_volumes (vcase->labels, &vcase->volumes);
      tumour_centre (vcase->labels, vcase->centre);
    }
  return vcase;
}

/* ---- GObject ----------------------------------------------------------------------------- */

static void
ns_viewer_finalize (GObject *object)
{
  NsViewer *self = NS_VIEWER (object);

  g_clear_pointer (&self->vcase, _ns_viewer_case_free);
  g_clear_pointer (&self->preview, ns_label_map_unref);
  g_clear_pointer (&self->heat, ns_volume_unref);
  g_free (self->labels_source);

  G_OBJECT_CLASS (ns_viewer_parent_class)->finalize (object);
}

static void
ns_viewer_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  NsViewer *self = NS_VIEWER (object);

  switch (prop_id)
    {
    case PROP_HAS_CASE:
      g_value_set_boolean (value, self->vcase != NULL);
      break;
    case PROP_TITLE:
      g_value_set_string (value, ns_viewer_get_title (self));
      break;
    case PROP_MODALITY:
      g_value_set_string (value, ns_viewer_get_modality (self));
      break;
    case PROP_IMAGE_INDEX:
      g_value_set_uint (value, self->image_index);
      break;
    case PROP_CONVENTION_NEUROLOGICAL:
      g_value_set_boolean (value, self->convention == NS_CONVENTION_NEUROLOGICAL);
      break;
    case PROP_SHOW_LABELS:
      g_value_set_boolean (value, self->show_labels);
      break;
    case PROP_SHOW_CROSSHAIR:
      g_value_set_boolean (value, self->show_crosshair);
      break;
    case PROP_OPACITY:
      g_value_set_double (value, self->overlay.opacity);
      break;
    case PROP_OVERLAY_MODE:
      g_value_set_int (value, self->overlay.mode);
      break;
    case PROP_SHOW_HEAT:
      g_value_set_boolean (value, self->show_heat);
      break;
    case PROP_HAS_HEAT:
      g_value_set_boolean (value, self->heat != NULL);
      break;
    case PROP_LABELS_SOURCE:
      g_value_set_string (value, self->labels_source);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_viewer_set_property (GObject *object, guint prop_id, const GValue *value,
                        GParamSpec *pspec)
{
  NsViewer *self = NS_VIEWER (object);

  switch (prop_id)
    {
    case PROP_MODALITY:
      ns_viewer_set_modality (self, g_value_get_string (value));
      break;
    case PROP_IMAGE_INDEX:
      ns_viewer_set_image_index (self, g_value_get_uint (value));
      break;
    case PROP_CONVENTION_NEUROLOGICAL:
      ns_viewer_set_convention (self, g_value_get_boolean (value)
                                        ? NS_CONVENTION_NEUROLOGICAL
                                        : NS_CONVENTION_RADIOLOGICAL);
      break;
    case PROP_SHOW_LABELS:
      ns_viewer_set_show_labels (self, g_value_get_boolean (value));
      break;
    case PROP_SHOW_CROSSHAIR:
      ns_viewer_set_show_crosshair (self, g_value_get_boolean (value));
      break;
    case PROP_OPACITY:
      ns_viewer_set_opacity (self, g_value_get_double (value));
      break;
    case PROP_OVERLAY_MODE:
      ns_viewer_set_overlay_mode (self, g_value_get_int (value));
      break;
    case PROP_SHOW_HEAT:
      ns_viewer_set_show_heat (self, g_value_get_boolean (value));
      break;
    case PROP_LABELS_SOURCE:
      ns_viewer_set_labels_source (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_viewer_class_init (NsViewerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ns_viewer_finalize;
  object_class->get_property = ns_viewer_get_property;
  object_class->set_property = ns_viewer_set_property;

  properties[PROP_HAS_CASE] =
    g_param_spec_boolean ("has-case", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_TITLE] =
    g_param_spec_string ("title", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODALITY] =
    g_param_spec_string ("modality", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_IMAGE_INDEX] =
    g_param_spec_uint ("image-index", NULL, NULL, 0, NS_VIEWER_MAX_IMAGES - 1, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CONVENTION_NEUROLOGICAL] =
    g_param_spec_boolean ("neurological", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_LABELS] =
    g_param_spec_boolean ("show-labels", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_CROSSHAIR] =
    g_param_spec_boolean ("show-crosshair", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_OPACITY] =
    g_param_spec_double ("opacity", NULL, NULL, 0.0, 1.0, 0.5,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_OVERLAY_MODE] =
    g_param_spec_int ("overlay-mode", NULL, NULL, NS_OVERLAY_FILL,
                      NS_OVERLAY_FILL_AND_OUTLINE, NS_OVERLAY_FILL,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SHOW_HEAT] =
    g_param_spec_boolean ("show-heat", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_HAS_HEAT] =
    g_param_spec_boolean ("has-heat", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_LABELS_SOURCE] =
    g_param_spec_string ("labels-source", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A new case (or none): everything changed. */
  signals[CASE_CHANGED] =
    g_signal_new ("case-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[CURSOR_CHANGED] =
    g_signal_new ("cursor-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[POINTER_CHANGED] =
    g_signal_new ("pointer-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* Anything that changes pixels but not the cursor: modality, window/level, overlay. */
  signals[DISPLAY_CHANGED] =
    g_signal_new ("display-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* The label values or the set of labels offered changed (volumes recounted). */
  signals[LABELS_CHANGED] =
    g_signal_new ("labels-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* Voxels inside a box (const int bbox[6]: min i, j, k, max i, j, k) were edited: views
   * whose slice crosses the box redraw, the others keep their pixels. */
  signals[LABELS_DAMAGED] =
    g_signal_new ("labels-damaged", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
}

static void
ns_viewer_init (NsViewer *self)
{
  self->convention = NS_CONVENTION_RADIOLOGICAL;
  self->show_labels = TRUE;
  self->show_crosshair = TRUE;
  ns_overlay_style_init (&self->overlay);
  ns_lut_init (&self->lut, 1.0, 0.5, NS_COLORMAP_GREY);
  self->overlay_image = -1;
  self->overlay_colormap = NS_COLORMAP_HOT;
  self->overlay_opacity = 0.5;
}

NsViewer *
ns_viewer_new (void)
{
  return g_object_new (NS_TYPE_VIEWER, NULL);
}

/* ---- the case ---------------------------------------------------------------------------- */

static void
update_lut (NsViewer *self)
{
  const NsViewerImage *image;

  if (self->vcase == NULL)
    return;
  image = &self->vcase->images[self->image_index];
  ns_lut_init (&self->lut, image->window, image->level, NS_COLORMAP_GREY);
}

void
_ns_viewer_take_case (NsViewer *self, NsViewerCase *vcase)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  g_clear_pointer (&self->vcase, _ns_viewer_case_free);
  self->vcase = vcase;
  self->image_index = 0;
  self->has_pointer = FALSE;
  self->overlay_image = -1;      /* an index into the previous case's images */
  /* both belong to the previous case's grid and prediction */
  g_clear_pointer (&self->preview, ns_label_map_unref);
  if (self->heat != NULL)
    {
      g_clear_pointer (&self->heat, ns_volume_unref);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_HEAT]);
    }
  if (vcase != NULL)
    {
      memcpy (self->cursor, vcase->centre, sizeof self->cursor);
      update_lut (self);
    }

  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_CASE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TITLE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODALITY]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IMAGE_INDEX]);
  g_object_thaw_notify (G_OBJECT (self));

  g_signal_emit (self, signals[CASE_CHANGED], 0);
  g_signal_emit (self, signals[LABELS_CHANGED], 0);
  g_signal_emit (self, signals[CURSOR_CHANGED], 0);
  g_signal_emit (self, signals[POINTER_CHANGED], 0);
}

void
ns_viewer_set_case (NsViewer *self, NsCase *ncase)
{
  g_return_if_fail (NS_IS_VIEWER (self));
  g_return_if_fail (ncase != NULL);

  _ns_viewer_take_case (self, _ns_viewer_case_new (ncase));
}

void
ns_viewer_clear (NsViewer *self)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  if (self->vcase != NULL)
    _ns_viewer_take_case (self, NULL);
}

gboolean
ns_viewer_has_case (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), FALSE);
  return self->vcase != NULL;
}

NsCase *
ns_viewer_get_case (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), NULL);
  return self->vcase != NULL ? self->vcase->ncase : NULL;
}

const char *
ns_viewer_get_title (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), NULL);
  return self->vcase != NULL ? self->vcase->ncase->id : NULL;
}

const NsGrid *
ns_viewer_get_grid (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), NULL);
  return self->vcase != NULL ? &self->vcase->grid : NULL;
}

guint
ns_viewer_get_n_images (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), 0);
  return self->vcase != NULL ? self->vcase->n_images : 0;
}

const char *
ns_viewer_get_image_name (NsViewer *self, guint index)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), NULL);
  if (self->vcase == NULL || index >= self->vcase->n_images)
    return NULL;
  return self->vcase->images[index].name;
}

NsVolume *
ns_viewer_get_image (NsViewer *self, guint index)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), NULL);
  if (self->vcase == NULL || index >= self->vcase->n_images)
    return NULL;
  return self->vcase->images[index].volume;
}

NsLabelMap *
ns_viewer_get_labels (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), NULL);
  return self->vcase != NULL ? self->vcase->labels : NULL;
}

const char *
ns_viewer_modality_label (const char *name)
{
  static const struct { const char *name, *label; } known[] = {
    { "flair", "FLAIR" }, { "t1ce", "T1c" }, { "t1c", "T1c" }, { "t1gd", "T1c" },
    { "t1", "T1" }, { "t2", "T2" },
  };

  if (name == NULL)
    return "";
  for (gsize i = 0; i < G_N_ELEMENTS (known); i++)
    if (g_ascii_strcasecmp (name, known[i].name) == 0)
      return known[i].label;
  return name;
}

/* ---- what is shown ------------------------------------------------------------------------ */

guint
ns_viewer_get_image_index (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), 0);
  return self->image_index;
}

void
ns_viewer_set_image_index (NsViewer *self, guint index)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  if (self->vcase == NULL || index >= self->vcase->n_images || index == self->image_index)
    return;
  self->image_index = index;
  update_lut (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IMAGE_INDEX]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODALITY]);
  g_signal_emit (self, signals[DISPLAY_CHANGED], 0);
  g_signal_emit (self, signals[POINTER_CHANGED], 0);   /* the intensity shown changed */
}

const char *
ns_viewer_get_modality (NsViewer *self)
{
  return ns_viewer_get_image_name (self, ns_viewer_get_image_index (self));
}

gboolean
ns_viewer_set_modality (NsViewer *self, const char *name)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), FALSE);

  if (self->vcase == NULL || name == NULL)
    return FALSE;
  for (guint i = 0; i < self->vcase->n_images; i++)
    if (g_strcmp0 (self->vcase->images[i].name, name) == 0)
      {
        ns_viewer_set_image_index (self, i);
        return TRUE;
      }
  return FALSE;
}

NsVolume *
ns_viewer_get_shown_image (NsViewer *self)
{
  return ns_viewer_get_image (self, ns_viewer_get_image_index (self));
}

void
ns_viewer_get_window_level (NsViewer *self, double *window, double *level)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  ns_viewer_get_image_window_level (self, self->image_index, window, level);
}

void
ns_viewer_set_window_level (NsViewer *self, double window, double level)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  ns_viewer_set_image_window_level (self, self->image_index, window, level);
}

void
ns_viewer_get_image_window_level (NsViewer *self, guint index, double *window, double *level)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  if (self->vcase == NULL || index >= self->vcase->n_images)
    {
      *window = 1.0;
      *level = 0.5;
      return;
    }
  *window = self->vcase->images[index].window;
  *level = self->vcase->images[index].level;
}

void
ns_viewer_set_image_window_level (NsViewer *self, guint index, double window, double level)
{
  NsViewerImage *image;

  g_return_if_fail (NS_IS_VIEWER (self));

  if (self->vcase == NULL || index >= self->vcase->n_images || !isfinite (window)
      || !isfinite (level))
    return;
  window = MAX (window, 1e-6);
  image = &self->vcase->images[index];
  if (image->window == window && image->level == level)
    return;
  image->window = window;
  image->level = level;
  update_lut (self);
  g_signal_emit (self, signals[DISPLAY_CHANGED], 0);
}

void
ns_viewer_image_lut_init (NsViewer *self, guint index, NsColormap colormap, NsLut *lut)
{
  double window, level;

  g_return_if_fail (NS_IS_VIEWER (self));
  g_return_if_fail (lut != NULL);

  ns_viewer_get_image_window_level (self, index, &window, &level);
  ns_lut_init (lut, window, level, colormap);
}

int
ns_viewer_find_image (NsViewer *self, const char *name)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), -1);

  if (self->vcase == NULL || name == NULL)
    return -1;
  for (guint i = 0; i < self->vcase->n_images; i++)
    if (g_strcmp0 (self->vcase->images[i].name, name) == 0)
      return (int) i;
  return -1;
}

void
ns_viewer_set_image_overlay (NsViewer *self, int index, NsColormap colormap, double opacity)
{
  g_return_if_fail (NS_IS_VIEWER (self));
  g_return_if_fail (colormap < NS_N_COLORMAPS);

  if (self->vcase == NULL || index < 0 || (guint) index >= self->vcase->n_images)
    index = -1;
  opacity = isfinite (opacity) ? CLAMP (opacity, 0.0, 1.0) : self->overlay_opacity;
  if (self->overlay_image == index && self->overlay_colormap == colormap
      && self->overlay_opacity == opacity)
    return;
  self->overlay_image = index;
  self->overlay_colormap = colormap;
  self->overlay_opacity = opacity;
  g_signal_emit (self, signals[DISPLAY_CHANGED], 0);
}

int
ns_viewer_get_image_overlay (NsViewer *self, NsColormap *colormap, double *opacity)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), -1);

  if (colormap != NULL)
    *colormap = self->overlay_colormap;
  if (opacity != NULL)
    *opacity = self->overlay_opacity;
  return self->overlay_image;
}

gboolean
ns_viewer_apply_window_preset (NsViewer *self, const char *preset)
{
  const NsViewerImage *image;

  g_return_val_if_fail (NS_IS_VIEWER (self), FALSE);

  if (self->vcase == NULL)
    return FALSE;
  image = &self->vcase->images[self->image_index];
  if (g_strcmp0 (preset, "auto") == 0)
    ns_viewer_set_window_level (self, image->auto_window, image->auto_level);
  else if (g_strcmp0 (preset, "brain") == 0)
    ns_viewer_set_window_level (self, image->brain_window, image->brain_level);
  else if (g_strcmp0 (preset, "full") == 0)
    ns_viewer_set_window_level (self, MAX (image->max - image->min, 1e-6),
                                (image->max + image->min) / 2.0);
  else
    return FALSE;
  return TRUE;
}

const NsLut *
ns_viewer_get_lut (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), NULL);
  return &self->lut;
}

NsConvention
ns_viewer_get_convention (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), NS_CONVENTION_RADIOLOGICAL);
  return self->convention;
}

void
ns_viewer_set_convention (NsViewer *self, NsConvention convention)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  if (self->convention == convention)
    return;
  self->convention = convention;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONVENTION_NEUROLOGICAL]);
  /* The geometry of every view changes: views rebuild it on case-changed. */
  g_signal_emit (self, signals[CASE_CHANGED], 0);
}

gboolean
ns_viewer_get_show_labels (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), FALSE);
  return self->show_labels;
}

void
ns_viewer_set_show_labels (NsViewer *self, gboolean show)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  show = !!show;
  if (self->show_labels == show)
    return;
  self->show_labels = show;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_LABELS]);
  g_signal_emit (self, signals[DISPLAY_CHANGED], 0);
}

gboolean
ns_viewer_get_show_crosshair (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), FALSE);
  return self->show_crosshair;
}

void
ns_viewer_set_show_crosshair (NsViewer *self, gboolean show)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  show = !!show;
  if (self->show_crosshair == show)
    return;
  self->show_crosshair = show;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_CROSSHAIR]);
  g_signal_emit (self, signals[DISPLAY_CHANGED], 0);
}

double
ns_viewer_get_opacity (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), 0.0);
  return self->overlay.opacity;
}

void
ns_viewer_set_opacity (NsViewer *self, double opacity)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  opacity = CLAMP (opacity, 0.0, 1.0);
  if (self->overlay.opacity == opacity)
    return;
  self->overlay.opacity = opacity;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OPACITY]);
  g_signal_emit (self, signals[DISPLAY_CHANGED], 0);
}

NsOverlayMode
ns_viewer_get_overlay_mode (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), NS_OVERLAY_FILL);
  return self->overlay.mode;
}

void
ns_viewer_set_overlay_mode (NsViewer *self, NsOverlayMode mode)
{
  g_return_if_fail (NS_IS_VIEWER (self));
  g_return_if_fail (mode >= NS_OVERLAY_FILL && mode <= NS_OVERLAY_FILL_AND_OUTLINE);

  if (self->overlay.mode == mode)
    return;
  self->overlay.mode = mode;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OVERLAY_MODE]);
  g_signal_emit (self, signals[DISPLAY_CHANGED], 0);
}

gboolean
ns_viewer_get_label_visible (NsViewer *self, guint8 value)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), FALSE);
  return self->overlay.visible[value];
}

void
ns_viewer_set_label_visible (NsViewer *self, guint8 value, gboolean visible)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  visible = !!visible;
  if (value == 0 || self->overlay.visible[value] == visible)
    return;
  self->overlay.visible[value] = visible;
  g_signal_emit (self, signals[DISPLAY_CHANGED], 0);
}

guint32
ns_viewer_get_label_rgb (NsViewer *self, guint8 value)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), 0);
  return self->overlay.rgb[value];
}

void
ns_viewer_set_label_rgb (NsViewer *self, guint8 value, guint32 rgb)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  rgb &= 0xffffff;
  if (self->overlay.rgb[value] == rgb)
    return;
  self->overlay.rgb[value] = rgb;
  g_signal_emit (self, signals[DISPLAY_CHANGED], 0);
}

const NsOverlayStyle *
ns_viewer_get_overlay_style (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), NULL);
  return &self->overlay;
}

const NsLabelClass *
ns_viewer_get_label_classes (NsViewer *self, guint *n_classes)
{
  NsLabelScheme scheme = NS_LABEL_SCHEME_BRATS2017;

  g_return_val_if_fail (NS_IS_VIEWER (self), NULL);

  if (self->vcase != NULL && self->vcase->labels != NULL)
    scheme = self->vcase->ncase->label_scheme;
  return ns_label_scheme_classes (scheme, n_classes);
}

const NsViewerVolumes *
ns_viewer_get_volumes (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), NULL);
  return self->vcase != NULL && self->vcase->labels != NULL ? &self->vcase->volumes : NULL;
}

void
ns_viewer_labels_changed (NsViewer *self)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  if (self->vcase == NULL || self->vcase->labels == NULL)
    return;
  count_volumes (self->vcase->labels, &self->vcase->volumes);
  g_signal_emit (self, signals[LABELS_CHANGED], 0);
  g_signal_emit (self, signals[DISPLAY_CHANGED], 0);
  g_signal_emit (self, signals[POINTER_CHANGED], 0);   /* the label under it may differ */
}

void
ns_viewer_set_labels (NsViewer *self, NsLabelMap *labels)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  if (self->vcase == NULL)
    return;
  g_return_if_fail (labels == NULL
                    || memcmp (labels->grid.dim, self->vcase->grid.dim,
                               sizeof labels->grid.dim) == 0);
  if (labels != NULL)
    ns_label_map_ref (labels);
  g_clear_pointer (&self->vcase->owned_labels, ns_label_map_unref);
  self->vcase->owned_labels = labels;
  self->vcase->labels = labels != NULL ? labels : self->vcase->ncase->labels;
  if (self->vcase->labels != NULL)
    count_volumes (self->vcase->labels, &self->vcase->volumes);
  g_signal_emit (self, signals[LABELS_CHANGED], 0);
  g_signal_emit (self, signals[DISPLAY_CHANGED], 0);
  g_signal_emit (self, signals[POINTER_CHANGED], 0);
}

void
ns_viewer_labels_edited (NsViewer *self, const NsEditChange *change, gboolean forward,
                         const int *bbox)
{
  NsViewerVolumes *v;
  int box[6] = { G_MAXINT, G_MAXINT, G_MAXINT, -1, -1, -1 };

  g_return_if_fail (NS_IS_VIEWER (self));

  if (self->vcase == NULL || self->vcase->labels == NULL)
    return;
  v = &self->vcase->volumes;
  if (change != NULL)
    {
      const NsGrid *grid = &self->vcase->grid;
      gsize plane = (gsize) grid->dim[0] * grid->dim[1];
      gint64 delta[256] = { 0 };

      for (gsize n = 0; n < change->n; n++)
        {
          guint32 index = change->index[n];
          int ijk[3] = { index % grid->dim[0], (index / grid->dim[0]) % grid->dim[1],
                         index / plane };

          delta[forward ? change->old_value[n] : change->new_value[n]]--;
          delta[forward ? change->new_value[n] : change->old_value[n]]++;
          if (bbox == NULL)
            for (int a = 0; a < 3; a++)
              {
                box[a] = MIN (box[a], ijk[a]);
                box[3 + a] = MAX (box[3 + a], ijk[a]);
              }
        }
      /* Counts kept as mL: add the change's voxels instead of recounting the map. */
      for (guint l = 1; l < 256; l++)
        if (delta[l] != 0)
          v->label_ml[l] = MAX (0.0, v->label_ml[l] + (double) delta[l] * v->voxel_ml);
      v->wt_ml = v->label_ml[1] + v->label_ml[2] + v->label_ml[3] + v->label_ml[4];
      v->tc_ml = v->label_ml[1] + v->label_ml[3] + v->label_ml[4];
      v->et_ml = v->label_ml[4];
      g_signal_emit (self, signals[LABELS_CHANGED], 0);
    }
  if (bbox != NULL)
    memcpy (box, bbox, sizeof box);
  if (box[0] <= box[3] && box[1] <= box[4] && box[2] <= box[5])
    g_signal_emit (self, signals[LABELS_DAMAGED], 0, box);
  if (change != NULL)
    g_signal_emit (self, signals[POINTER_CHANGED], 0);
}

/* ---- a prediction as it arrives, its uncertainty ------------------------------------------ */

void
ns_viewer_set_preview_labels (NsViewer *self, NsLabelMap *preview)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  if (self->preview == preview)
    return;
  if (preview != NULL)
    {
      if (self->vcase == NULL)
        return;
      g_return_if_fail (memcmp (preview->grid.dim, self->vcase->grid.dim,
                                sizeof preview->grid.dim) == 0);
      ns_label_map_ref (preview);
    }
  g_clear_pointer (&self->preview, ns_label_map_unref);
  self->preview = preview;
  g_signal_emit (self, signals[DISPLAY_CHANGED], 0);
}

NsLabelMap *
ns_viewer_get_preview_labels (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), NULL);
  return self->preview;
}

NsLabelMap *
ns_viewer_get_shown_labels (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), NULL);
  return self->preview != NULL ? self->preview : ns_viewer_get_labels (self);
}

void
ns_viewer_preview_slices_changed (NsViewer *self, int k_first, int k_last)
{
  int box[6];

  g_return_if_fail (NS_IS_VIEWER (self));

  if (self->vcase == NULL || self->preview == NULL)
    return;
  k_first = MAX (k_first, 0);
  k_last = MIN (k_last, self->vcase->grid.dim[2] - 1);
  if (k_first > k_last)
    return;
  /* Axial views redraw only on these slices; sagittal and coronal planes cross every
   * axial slice, so they redraw (a few hundred thousand pixels at most per batch). */
  box[0] = 0;
  box[1] = 0;
  box[2] = k_first;
  box[3] = self->vcase->grid.dim[0] - 1;
  box[4] = self->vcase->grid.dim[1] - 1;
  box[5] = k_last;
  g_signal_emit (self, signals[LABELS_DAMAGED], 0, box);
}

void
ns_viewer_set_heat (NsViewer *self, NsVolume *heat)
{
  gboolean had;

  g_return_if_fail (NS_IS_VIEWER (self));

  if (self->heat == heat)
    return;
  if (heat != NULL)
    {
      if (self->vcase == NULL)
        return;
      ns_volume_ref (heat);
    }
  had = self->heat != NULL;
  g_clear_pointer (&self->heat, ns_volume_unref);
  self->heat = heat;
  if (had != (heat != NULL))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HAS_HEAT]);
  if (self->show_heat)
    g_signal_emit (self, signals[DISPLAY_CHANGED], 0);
}

NsVolume *
ns_viewer_get_heat (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), NULL);
  return self->heat;
}

void
ns_viewer_set_labels_source (NsViewer *self, const char *source)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  if (g_strcmp0 (self->labels_source, source) == 0)
    return;
  g_free (self->labels_source);
  self->labels_source = g_strdup (source);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LABELS_SOURCE]);
}

const char *
ns_viewer_get_labels_source (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), NULL);
  return self->labels_source;
}

gboolean
ns_viewer_get_show_heat (NsViewer *self)
{
  g_return_val_if_fail (NS_IS_VIEWER (self), FALSE);
  return self->show_heat;
}

void
ns_viewer_set_show_heat (NsViewer *self, gboolean show)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  show = !!show;
  if (self->show_heat == show)
    return;
  self->show_heat = show;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHOW_HEAT]);
  if (self->heat != NULL)
    g_signal_emit (self, signals[DISPLAY_CHANGED], 0);
}

/* ---- cursor and pointer ------------------------------------------------------------------- */

void
ns_viewer_get_cursor (NsViewer *self, double voxel[3])
{
  g_return_if_fail (NS_IS_VIEWER (self));
  memcpy (voxel, self->cursor, sizeof self->cursor);
}

void
ns_viewer_set_cursor (NsViewer *self, const double voxel[3])
{
  double c[3];

  g_return_if_fail (NS_IS_VIEWER (self));

  if (self->vcase == NULL)
    return;
  for (int a = 0; a < 3; a++)
    c[a] = CLAMP (round (voxel[a]), 0, self->vcase->grid.dim[a] - 1);
  if (memcmp (c, self->cursor, sizeof c) == 0)
    return;
  memcpy (self->cursor, c, sizeof c);
  g_signal_emit (self, signals[CURSOR_CHANGED], 0);
  if (!self->has_pointer)
    g_signal_emit (self, signals[POINTER_CHANGED], 0);
}

void
ns_viewer_set_pointer (NsViewer *self, const int *ijk)
{
  g_return_if_fail (NS_IS_VIEWER (self));

  if (ijk == NULL || self->vcase == NULL)
    {
      if (!self->has_pointer)
        return;
      self->has_pointer = FALSE;
    }
  else
    {
      if (self->has_pointer && memcmp (ijk, self->pointer, sizeof self->pointer) == 0)
        return;
      memcpy (self->pointer, ijk, sizeof self->pointer);
      self->has_pointer = TRUE;
    }
  g_signal_emit (self, signals[POINTER_CHANGED], 0);
}

gboolean
ns_viewer_get_pointer (NsViewer *self, int ijk[3])
{
  g_return_val_if_fail (NS_IS_VIEWER (self), FALSE);

  if (self->has_pointer)
    {
      memcpy (ijk, self->pointer, sizeof self->pointer);
      return TRUE;
    }
  for (int a = 0; a < 3; a++)
    ijk[a] = (int) self->cursor[a];
  return FALSE;
}

void
ns_viewer_describe_voxel (NsViewer *self, const int ijk[3], NsViewerVoxelText *text)
{
  const NsGrid *grid;
  double voxel[3], ras[3];
  gsize index;
  const NsViewerImage *image;

  g_return_if_fail (NS_IS_VIEWER (self));

  memset (text, 0, sizeof *text);
  if (self->vcase == NULL)
    return;
  grid = &self->vcase->grid;
  for (int a = 0; a < 3; a++)
    if (ijk[a] < 0 || ijk[a] >= grid->dim[a])
      return;

  for (int a = 0; a < 3; a++)
    voxel[a] = ijk[a];
  ns_geometry_voxel_to_ras (grid, voxel, ras);
  index = ns_grid_index (grid, ijk[0], ijk[1], ijk[2]);
  image = &self->vcase->images[self->image_index];

  text->voxel = g_strdup_printf ("Voxel %d, %d, %d", ijk[0], ijk[1], ijk[2]);
  text->position = g_strdup_printf ("RAS %.1f, %.1f, %.1f mm", ras[0], ras[1], ras[2]);
  text->intensity = g_strdup_printf ("%s %g", ns_viewer_modality_label (image->name),
                                     (double) ns_volume_get_value (image->volume, index));
  if (self->vcase->labels == NULL)
    text->label = g_strdup ("Label –");
  else
    {
      guint8 value = self->vcase->labels->labels[index];
      const NsLabelClass *cls = ns_label_scheme_lookup (self->vcase->ncase->label_scheme,
                                                        value);
      const char *name = value == 0 ? "background" : cls != NULL ? cls->short_name : "";

      text->label = g_strdup_printf ("Label %u %s", value, name);
    }
}

void
ns_viewer_voxel_text_clear (NsViewerVoxelText *text)
{
  g_clear_pointer (&text->voxel, g_free);
  g_clear_pointer (&text->position, g_free);
  g_clear_pointer (&text->intensity, g_free);
  g_clear_pointer (&text->label, g_free);
}

/* ---- loading ------------------------------------------------------------------------------- */

typedef struct
{
  char **paths;
  NsCaseFile *kinds;             /* per path, or NULL: from the names */
} LoadRequest;

static void
load_request_free (LoadRequest *request)
{
  g_strfreev (request->paths);
  g_free (request->kinds);
  g_free (request);
}

static void
load_thread (GTask *task, gpointer source_object, gpointer task_data,
             GCancellable *cancellable)
{
  LoadRequest *request = task_data;
  const char *const *paths = (const char *const *) request->paths;
  g_autoptr (NsCase) ncase = NULL;
  GError *error = NULL;

  /* a folder is a BraTS-style case (its FLAIR required); files are any images, so that
   * any NIfTI opens */
  if (paths[1] == NULL && request->kinds == NULL && g_file_test (paths[0], G_FILE_TEST_IS_DIR))
    ncase = ns_case_load (paths[0], NS_CASE_LOAD_DEFAULT, &error);
  else
    ncase = ns_case_load_files_as (paths, request->kinds, NS_CASE_LOAD_ANY_IMAGE, &error);
  if (ncase == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  g_task_return_pointer (task, _ns_viewer_case_new (ncase),
                         (GDestroyNotify) _ns_viewer_case_free);
}

void
ns_viewer_load_async (NsViewer *self, const char *const *paths, const NsCaseFile *kinds,
                      GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  LoadRequest *request;

  g_return_if_fail (NS_IS_VIEWER (self));
  g_return_if_fail (paths != NULL && paths[0] != NULL);

  request = g_new0 (LoadRequest, 1);
  request->paths = g_strdupv ((char **) paths);
  if (kinds != NULL)
    request->kinds = g_memdup2 (kinds, sizeof (NsCaseFile) * g_strv_length (request->paths));
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ns_viewer_load_async);
  g_task_set_task_data (task, request, (GDestroyNotify) load_request_free);
  /* the task holds the viewer: released in the main thread (a window closed while its case
   * loads) */
  ns_task_run_in_worker (task, "ns-case-load", load_thread);
}

gboolean
ns_viewer_load_finish (NsViewer *self, GAsyncResult *result, GError **error)
{
  NsViewerCase *vcase;

  g_return_val_if_fail (NS_IS_VIEWER (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);

  vcase = g_task_propagate_pointer (G_TASK (result), error);
  if (vcase == NULL)
    return FALSE;
  _ns_viewer_take_case (self, vcase);
  return TRUE;
}
