/* SPDX-License-Identifier: MIT
 *
 * ns-viewer.h: the state that the slice views of one window share: the open case (its
 * modalities and label map), the 3-D cursor, the voxel under the pointer, the modality
 * shown with its window/level, and the label overlay style.  Views, the layer list, the
 * info pane and the status bar observe it through its signals and properties; none of
 * them talk to each other.
 */
#pragma once

#include <gio/gio.h>

#include "ns-case.h"
#include "ns-edit.h"
#include "ns-labels.h"
#include "ns-render.h"
#include "ns-volume.h"

G_BEGIN_DECLS

#define NS_TYPE_VIEWER (ns_viewer_get_type ())

G_DECLARE_FINAL_TYPE (NsViewer, ns_viewer, NS, VIEWER, GObject)

/* At most this many images (modalities) in a case. */
#define NS_VIEWER_MAX_IMAGES 8

/* Tumour volumes of the label map, live (recounted after each change of the labels). */
typedef struct
{
  double voxel_ml;
  double label_ml[256];          /* per label value */
  double wt_ml;                  /* {1, 2, 3, 4} */
  double tc_ml;                  /* {1, 3, 4} */
  double et_ml;                  /* {4} */
} NsViewerVolumes;

NsViewer       *ns_viewer_new                  (void);

/* ---- the case ---------------------------------------------------------------------------- */

/* Shows ncase (the viewer takes a reference): the cursor goes to the centre of the
 * tumour when there is one (else the centre of the grid) and each modality gets its
 * automatic window.  This computes statistics over every volume: on the main thread
 * prefer ns_viewer_load_async().  Emits "case-changed". */
void            ns_viewer_set_case             (NsViewer *self, NsCase *ncase);
void            ns_viewer_clear                (NsViewer *self);
gboolean        ns_viewer_has_case             (NsViewer *self);
/* The case shown (borrowed; NULL without a case). */
NsCase         *ns_viewer_get_case             (NsViewer *self);
/* The case's name, e.g. "Brats18_CBICA_ABM_1" (NULL without a case). */
const char     *ns_viewer_get_title            (NsViewer *self);
const NsGrid   *ns_viewer_get_grid             (NsViewer *self);
guint           ns_viewer_get_n_images         (NsViewer *self);
const char     *ns_viewer_get_image_name       (NsViewer *self, guint index);
NsVolume       *ns_viewer_get_image            (NsViewer *self, guint index);
NsLabelMap     *ns_viewer_get_labels           (NsViewer *self);
/* A display name of a modality name: "flair" -> "FLAIR", "t1c" -> "T1c", ... */
const char     *ns_viewer_modality_label       (const char *name);

/* ---- what is shown ------------------------------------------------------------------------ */

/* The modality shown (by name; properties "modality" and "image-index"). */
guint           ns_viewer_get_image_index      (NsViewer *self);
void            ns_viewer_set_image_index      (NsViewer *self, guint index);
const char     *ns_viewer_get_modality         (NsViewer *self);
gboolean        ns_viewer_set_modality         (NsViewer *self, const char *name);
/* The shown image (NULL without a case). */
NsVolume       *ns_viewer_get_shown_image      (NsViewer *self);

/* Window/level of the shown image. */
void            ns_viewer_get_window_level     (NsViewer *self, double *window, double *level);
void            ns_viewer_set_window_level     (NsViewer *self, double window, double level);
/* Window/level of image index, shown or not (a side-by-side view of another sequence
 * shows it through its own; each image keeps its own).  Setting emits "display-changed";
 * an index out of range is ignored (get: window 1, level 0.5). */
void            ns_viewer_get_image_window_level (NsViewer *self, guint index, double *window,
                                                  double *level);
void            ns_viewer_set_image_window_level (NsViewer *self, guint index, double window,
                                                  double level);
/* Fills lut with image index's window/level and colormap. */
void            ns_viewer_image_lut_init       (NsViewer *self, guint index, NsColormap colormap,
                                                NsLut *lut);
/* The index of the modality name ("flair", "t1c", ...), -1 when the case has none. */
int             ns_viewer_find_image           (NsViewer *self, const char *name);

/* A second sequence drawn over the shown image in every view, between the image and the
 * labels: image index (-1: none; a new case clears it) through its own window/level and
 * colormap, blended at opacity (0..1, clamped); values below its window are transparent,
 * so the first sequence shows where the second has nothing.  Emits "display-changed". */
void            ns_viewer_set_image_overlay    (NsViewer *self, int index, NsColormap colormap,
                                                double opacity);
/* The overlay's image index (-1: none), colormap and opacity (either may be NULL). */
int             ns_viewer_get_image_overlay    (NsViewer *self, NsColormap *colormap,
                                                double *opacity);

/* "auto" (0.5–99.5 % inside the brain), "brain" (the brain's 2–98 % range stretched for
 * grey/white contrast), "full" (minimum to maximum).  FALSE for an unknown preset. */
gboolean        ns_viewer_apply_window_preset  (NsViewer *self, const char *preset);
/* The LUT of the shown image (valid until the next change). */
const NsLut    *ns_viewer_get_lut              (NsViewer *self);

NsConvention    ns_viewer_get_convention       (NsViewer *self);
void            ns_viewer_set_convention       (NsViewer *self, NsConvention convention);
gboolean        ns_viewer_get_show_labels      (NsViewer *self);
void            ns_viewer_set_show_labels      (NsViewer *self, gboolean show);
gboolean        ns_viewer_get_show_crosshair   (NsViewer *self);
void            ns_viewer_set_show_crosshair   (NsViewer *self, gboolean show);
double          ns_viewer_get_opacity          (NsViewer *self);
void            ns_viewer_set_opacity          (NsViewer *self, double opacity);
NsOverlayMode   ns_viewer_get_overlay_mode     (NsViewer *self);
void            ns_viewer_set_overlay_mode     (NsViewer *self, NsOverlayMode mode);
gboolean        ns_viewer_get_label_visible    (NsViewer *self, guint8 value);
void            ns_viewer_set_label_visible    (NsViewer *self, guint8 value, gboolean visible);
guint32         ns_viewer_get_label_rgb        (NsViewer *self, guint8 value);
void            ns_viewer_set_label_rgb        (NsViewer *self, guint8 value, guint32 rgb);
/* The overlay style (visibility, colours, opacity, mode) for render/. */
const NsOverlayStyle *ns_viewer_get_overlay_style (NsViewer *self);

/* The classes the layer list and the info pane offer: those of the label map's scheme
 * (BraTS 2017+: 1, 2, 4; BraTS 2015 adds 3). */
const NsLabelClass *ns_viewer_get_label_classes (NsViewer *self, guint *n_classes);
const NsViewerVolumes   *ns_viewer_get_volumes     (NsViewer *self);
/* Call after changing the label map's voxels in place (an editor's brush, a model's
 * prediction): recounts the volumes and redraws.  Emits "labels-changed" and
 * "display-changed". */
void                     ns_viewer_labels_changed  (NsViewer *self);
/* Shows labels (a reference is taken; on the case's grid) instead of the case's own label
 * map, e.g. the mask an editor works on; NULL goes back to the case's.  Recounts. */
void                     ns_viewer_set_labels      (NsViewer *self, NsLabelMap *labels);
/* After an edit of the shown labels in place: the volumes are updated from change (applied
 * forward, or backward for an undo; NULL: unchanged) and "labels-damaged" is emitted with
 * bbox (min i, j, k, max i, j, k; NULL: the change's bounds), so that only the planes
 * through the edited voxels redraw. */
void                     ns_viewer_labels_edited   (NsViewer *self, const NsEditChange *change,
                                                    gboolean forward, const int *bbox);

/* What the labels shown are, in words, for the layer list: "Brats…_seg.nii.gz", "Model
 * prediction, not saved", ... (set by the editor of the window; NULL: the label map's
 * file name).  Property "labels-source". */
void                     ns_viewer_set_labels_source (NsViewer *self, const char *source);
const char              *ns_viewer_get_labels_source (NsViewer *self);

/* ---- a prediction as it arrives, its uncertainty ------------------------------------------ */

/* A label map (a reference is taken; on the case's grid) that the slice views draw instead
 * of the labels while it is set, with the same style: Run Model's prediction slice by slice
 * as it arrives.  Nothing else reads it (volumes, status bar and editing stay on the
 * labels).  NULL: back to the labels.  A new case clears it.  Emits "display-changed". */
void                     ns_viewer_set_preview_labels (NsViewer *self, NsLabelMap *preview);
NsLabelMap              *ns_viewer_get_preview_labels (NsViewer *self);
/* The map the slice views draw: the preview while there is one, else the labels. */
NsLabelMap              *ns_viewer_get_shown_labels   (NsViewer *self);
/* After writing axial slices k_first..k_last of the preview in place: only the views whose
 * plane crosses them redraw (emits "labels-damaged" with those slices' box). */
void                     ns_viewer_preview_slices_changed (NsViewer *self, int k_first,
                                                           int k_last);
/* A scalar map in [0, 1] on the case's grid (a reference is taken; NULL: none), e.g. the
 * normalised entropy of the last prediction, that the slice views draw over the image and
 * labels as a heat overlay while "show-heat" is on.  A new case clears it.  Property
 * "has-heat". */
void                     ns_viewer_set_heat        (NsViewer *self, NsVolume *heat);
NsVolume                *ns_viewer_get_heat        (NsViewer *self);
/* Property "show-heat" (default off). */
gboolean                 ns_viewer_get_show_heat   (NsViewer *self);
void                     ns_viewer_set_show_heat   (NsViewer *self, gboolean show);

/* ---- cursor and pointer ------------------------------------------------------------------- */

/* The 3-D cursor in voxel coordinates (integers: voxel centres), clamped into the grid.
 * Emits "cursor-changed" when it moves. */
void            ns_viewer_get_cursor           (NsViewer *self, double voxel[3]);
void            ns_viewer_set_cursor           (NsViewer *self, const double voxel[3]);
/* The voxel under the pointer (any view), for the status bar; NULL: the pointer left.
 * Emits "pointer-changed". */
void            ns_viewer_set_pointer          (NsViewer *self, const int *ijk);
/* FALSE when the pointer is over no view (ijk then holds the cursor). */
gboolean        ns_viewer_get_pointer          (NsViewer *self, int ijk[3]);

/* What the status bar shows for voxel ijk: "Voxel 120, 130, 77", "RAS -12.0, 8.0, 30.5 mm",
 * "FLAIR 412", "Label 2 Edema" (label "–" without a map). */
typedef struct
{
  char *voxel;
  char *position;
  char *intensity;
  char *label;
} NsViewerVoxelText;

void            ns_viewer_describe_voxel       (NsViewer *self, const int ijk[3],
                                                NsViewerVoxelText *text);
void            ns_viewer_voxel_text_clear     (NsViewerVoxelText *text);

/* ---- loading ------------------------------------------------------------------------------ */

/* Loads a case folder or a list of NIfTI files (paths, NULL-terminated; one folder or
 * file, or several files) in a worker thread, together with the statistics the display
 * needs; on success the viewer shows it (in the main context the call was made from).
 * A folder needs its FLAIR; files make a case with any image (NS_CASE_LOAD_ANY_IMAGE),
 * each file's part from its name or from kinds (one per path, NS_CASE_FILE_NONE: from
 * the name; NULL: all from the names).  The previous case stays shown until then; on
 * failure it stays. */
void            ns_viewer_load_async           (NsViewer *self, const char *const *paths,
                                                const NsCaseFile *kinds,
                                                GCancellable *cancellable,
                                                GAsyncReadyCallback callback,
                                                gpointer user_data);
gboolean        ns_viewer_load_finish          (NsViewer *self, GAsyncResult *result,
                                                GError **error);

G_END_DECLS
