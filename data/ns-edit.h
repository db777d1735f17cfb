/* SPDX-License-Identifier: MIT
 *
 * ns-edit.h: the mask editing tools of Neuroseg (brush, eraser, flood fill, label picker,
 * interpolation between slices, island removal) and NsEditChange, the record of the
 * voxels one edit changed, which undo (ns-history.h) and the crash journal
 * (ns-journal.h) keep.
 *
 * Every tool edits an NsLabelMap in place and returns the NsEditChange it made (sorted
 * voxel indices with the old and the new value of each): the caller commits it to the
 * history (ns_mask_doc_commit() does history + journal).  A tool never returns NULL on
 * success: an edit that changed nothing returns an empty change (n == 0) that the caller
 * may drop.
 *
 * Coordinates are the render module's (render/ns-render.h): continuous voxel coordinates,
 * the centre of voxel (i, j, k) at (i, j, k).  A slice view passes the voxel under the
 * pointer from ns_plane_geometry_voxel_at() and, for the 2-D tools, the plane's normal
 * voxel axis NsPlaneGeometry.axis_n (data/ cannot include render/, so the axis is an
 * int: 0, 1 or 2).  Radii are in mm: on an anisotropic grid a round brush is a sphere
 * (or a disc) in mm, an ellipsoid in voxels.
 *
 * Paint rules follow ITK-SNAP and 3D Slicer: a voxel is changed only when its current
 * label is not locked, matches the "paint over" rule (every label, only background, or
 * one chosen label), and, with intensity limits on, the image there lies in [lo, hi].
 */
#pragma once

#include <glib.h>

#include "ns-volume.h"

G_BEGIN_DECLS

#define NS_EDIT_ERROR (ns_edit_error_quark ())

typedef enum
{
  NS_EDIT_ERROR_CHANGED_ON_DISK,  /* the file was changed by someone else since it was read */
  NS_EDIT_ERROR_JOURNAL,          /* a journal could not be written or read */
  NS_EDIT_ERROR_INVALID,          /* bad argument (grid mismatch, bad label file, ...) */
} NsEditError;

GQuark ns_edit_error_quark (void);

/* ---- changes ------------------------------------------------------------------------------ */

/* The voxels one edit changed: index[] ascending (ns_grid_index () order), old_value[]
 * before and new_value[] after.  Reference counted and immutable once returned by a tool
 * (the journal's writer thread reads it while the history holds it).  6 bytes a voxel:
 * label maps of more than 2^32 voxels cannot be edited (tools refuse them). */
typedef struct
{
  char *name;                 /* "Brush", "Fill", ... for the history list */
  gint64 time;                /* g_get_real_time () when made, µs */
  gsize n;                    /* voxels changed */
  guint32 *index;             /* (n) ascending */
  guint8 *old_value;          /* (n) */
  guint8 *new_value;          /* (n) */
  gsize n_voxels;             /* voxels of the map it applies to (a sanity check) */
} NsEditChange;

NsEditChange *ns_edit_change_ref          (NsEditChange *change);
void          ns_edit_change_unref        (NsEditChange *change);
/* Bytes it holds (for the history's memory budget). */
gsize         ns_edit_change_size         (const NsEditChange *change);
/* Writes new_value (forward) or old_value (!forward) at each index.  Exact inverse of
 * each other.  FALSE (nothing written) when the map has a different voxel count. */
gboolean      ns_edit_change_apply        (const NsEditChange *change, NsLabelMap *map,
                                           gboolean forward);
/* The change from before to after (same grid): every differing voxel.  For recording a
 * whole-mask replacement (a model prediction) as one history entry. */
NsEditChange *ns_edit_change_from_labels  (const guint8 *before, const guint8 *after,
                                           gsize n_voxels, const char *name);
/* Replaces map's voxels by labels (n voxels of the map) and returns the change. */
NsEditChange *ns_edit_replace_labels      (NsLabelMap *map, const guint8 *labels,
                                           const char *name);
/* Builds a change from arrays (the journal's reader); takes copies.  index must be
 * ascending and < n_voxels, else NULL. */
NsEditChange *ns_edit_change_new_from_arrays (const char *name, gint64 time, gsize n_voxels,
                                              gsize n, const guint32 *index,
                                              const guint8 *old_value,
                                              const guint8 *new_value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsEditChange, ns_edit_change_unref)

/* ---- paint rules -------------------------------------------------------------------------- */

typedef enum
{
  NS_PAINT_OVER_ALL,          /* every label (locked ones excepted) */
  NS_PAINT_OVER_BACKGROUND,   /* only voxels labelled 0 */
  NS_PAINT_OVER_LABEL,        /* only voxels labelled over_label */
} NsPaintOver;

typedef struct
{
  guint8 label;               /* the value painted (the eraser and island removal use 0) */
  NsPaintOver over;
  guint8 over_label;          /* for NS_PAINT_OVER_LABEL */
  guint8 locked[256];         /* locked[v] != 0: voxels labelled v are never changed */
  gboolean intensity_limit;   /* paint only where lo <= image <= hi (needs an image) */
  double lo, hi;
} NsPaintRule;

/* label, paint over all, nothing locked, no intensity limit. */
void     ns_paint_rule_init          (NsPaintRule *rule, guint8 label);
/* Whether a voxel now labelled old_label, of image value intensity, may be set to
 * rule->label (FALSE also when it already is). */
static inline gboolean
ns_paint_rule_allows (const NsPaintRule *rule, guint8 old_label, float intensity)
{
  if (old_label == rule->label || rule->locked[old_label])
    return FALSE;
  if (rule->over == NS_PAINT_OVER_BACKGROUND && old_label != 0)
    return FALSE;
  if (rule->over == NS_PAINT_OVER_LABEL && old_label != rule->over_label)
    return FALSE;
  if (rule->intensity_limit && !(intensity >= rule->lo && intensity <= rule->hi))
    return FALSE;
  return TRUE;
}
/* Intensity limits from the voxel under the cursor: [v - tolerance, v + tolerance] with v
 * the image value at ijk.  FALSE when ijk is outside the image. */
gboolean ns_paint_rule_set_intensity_from (NsPaintRule *rule, const NsVolume *image,
                                           const int ijk[3], double tolerance);

/* ---- brush -------------------------------------------------------------------------------- */

typedef enum
{
  NS_BRUSH_ROUND,             /* voxels whose centre is within radius_mm (Euclidean, mm) */
  NS_BRUSH_SQUARE,            /* within radius_mm along each axis (a cube or a square) */
} NsBrushShape;

typedef struct
{
  NsBrushShape shape;
  double radius_mm;           /* the voxel under the pointer is always painted */
  int plane_axis;             /* -1: 3-D (sphere or cube); 0, 1, 2: 2-D on the slice
                               * normal to that voxel axis (NsPlaneGeometry.axis_n) */
} NsBrush;

/* The voxels one dab covers, relative to the voxel under the pointer, for drawing the
 * brush outline: a GArray of int[3] offsets (di, dj, dk).  Deterministic: the tools paint
 * exactly these voxels around round (center). */
GArray  *ns_brush_offsets            (const NsBrush *brush, const NsGrid *grid);

typedef struct _NsEditStroke NsEditStroke;

/* A stroke of the brush or the eraser (rule->label 0) on map; image (may be NULL unless
 * rule->intensity_limit) must be on map's grid.  NULL with error on a grid mismatch. */
NsEditStroke *ns_edit_stroke_begin   (NsLabelMap *map, const NsVolume *image,
                                      const NsBrush *brush, const NsPaintRule *rule,
                                      const char *name, GError **error);
/* Paints a dab at voxel (continuous coordinates) and, from the second call on, dabs
 * every half voxel along the segment from the previous point, so that a fast drag leaves
 * no gap.  For a 2-D brush each dab is on slice round (voxel[plane_axis]).  Returns the
 * number of voxels changed by this call.  bbox (may be NULL) receives the voxel bounds
 * touched, min[3] then max[3] inclusive, for partial redraws (min > max when none). */
gsize         ns_edit_stroke_add     (NsEditStroke *stroke, const double voxel[3],
                                      int bbox[6]);
/* Ends the stroke and frees it; returns what it changed (transfer full). */
NsEditChange *ns_edit_stroke_end     (NsEditStroke *stroke);
/* Ends the stroke, restoring every voxel it changed (Escape during a drag). */
void          ns_edit_stroke_cancel  (NsEditStroke *stroke);

/* ---- other tools -------------------------------------------------------------------------- */

/* The label of voxel ijk (the picker); 0 outside the map. */
guint8        ns_edit_pick           (const NsLabelMap *map, const int ijk[3]);

typedef enum
{
  NS_FILL_BOUND_LABEL,        /* the 4-connected region of voxels labelled as the seed */
  NS_FILL_BOUND_INTENSITY,    /* the 4-connected region where lo <= image <= hi */
} NsFillBound;

/* 2-D flood fill on the slice through seed normal to plane_axis: the region given by
 * bound (grown from seed, in the plane, 4-connected) is painted with rule (locks,
 * paint-over and intensity limits apply to each voxel painted; they do not stop the
 * growth).  image is needed for NS_FILL_BOUND_INTENSITY (and intensity limits). */
NsEditChange *ns_edit_flood_fill_2d  (NsLabelMap *map, const NsVolume *image, int plane_axis,
                                      const int seed[3], NsFillBound bound, double lo,
                                      double hi, const NsPaintRule *rule, GError **error);

/* Shape-based interpolation between slices (Raya & Udupa 1990; Herman 1992): along
 * plane_axis, the slices holding rule->label are found; between each two successive ones
 * that are not adjacent, every slice in between gets the label where the linear
 * interpolation of the two slices' signed distance maps (mm, exact 2-D EDT) is <= 0.
 * Painting follows rule.  Empty change when fewer than two slices hold the label. */
NsEditChange *ns_edit_interpolate_slices (NsLabelMap *map, const NsVolume *image,
                                          int plane_axis, const NsPaintRule *rule,
                                          GError **error);

/* Removes (sets to 0) the 3-D 6-connected components of label smaller than min_ml
 * millilitres.  Nothing when label is locked in rule (rule may be NULL: no locks). */
NsEditChange *ns_edit_remove_islands (NsLabelMap *map, guint8 label, double min_ml,
                                      const NsPaintRule *rule, GError **error);

G_END_DECLS
