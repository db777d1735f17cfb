/* SPDX-License-Identifier: MIT
 *
 * ns-mask-doc.h: a mask being edited: the label map on its image's grid, its label
 * table, its undo history, its crash journal and its save state.
 *
 * The GUI holds one per case.  Typical use:
 *
 *     doc = ns_mask_doc_open (image, mask_path, case_path, &error);
 *     if (ns_mask_doc_n_recoverable (doc) > 0)       // a previous session crashed
 *       ask, then ns_mask_doc_recover () or ns_mask_doc_discard_recovery ();
 *       (ns_mask_doc_recovery_matches () says whether the file is still the one they
 *       were made on)
 *     stroke = ns_edit_stroke_begin (ns_mask_doc_get_map (doc), image, &brush, &rule, ...);
 *     ns_edit_stroke_add (stroke, voxel, bbox) on each motion event;
 *     ns_mask_doc_commit (doc, ns_edit_stroke_end (stroke));   // history + journal
 *     ns_mask_doc_undo (doc, 1);  ns_mask_doc_redo (doc, 1);
 *     ns_mask_doc_save (doc, NULL, FALSE, &error);  // NS_EDIT_ERROR_CHANGED_ON_DISK: ask,
 *                                                   // then again with force = TRUE
 *     on close: ns_mask_doc_is_modified () ? ask Save / Discard / Cancel; Discard calls
 *     ns_mask_doc_discard_recovery () (else the next open offers to recover), then free.
 *
 * Saving writes the NIfTI (ns_nifti_write_label_map(): atomic, the image's sform/qform)
 * and the label descriptions beside it (ns-label-table.h), marks the history clean and
 * truncates the journal.  The file's modification time, size and SHA-256 are recorded
 * when it is read and written; a save over a file whose stamp changed meanwhile fails
 * with NS_EDIT_ERROR_CHANGED_ON_DISK unless forced.
 *
 * Not thread-safe: call from one thread (the main loop); only the journal's writer runs
 * elsewhere.
 */
#pragma once

#include "ns-edit.h"
#include "ns-history.h"
#include "ns-journal.h"
#include "ns-label-table.h"

G_BEGIN_DECLS

typedef struct _NsMaskDoc NsMaskDoc;

/* The mask at mask_path (any integer-valued NIfTI on image's grid with values 0..255),
 * or, when mask_path does not exist, an empty mask on image's grid that will be saved
 * there.  The label table comes from the description file beside the mask, else from the
 * BraTS scheme the values fit.  case_key names the journal (the case folder; NULL: the
 * mask path).  history_budget 0: NS_HISTORY_DEFAULT_BUDGET. */
NsMaskDoc    *ns_mask_doc_open           (NsVolume *image, const char *mask_path,
                                          const char *case_key, gsize history_budget,
                                          GError **error);
/* ns_mask_doc_open() of a mask already decoded: decoded holds mask_path's labels as read
 * from it (by ns_mask_doc_read_mask() or ns_label_map_from_volume() without mapping, which
 * read the same values), on image's grid.  The document takes a reference and edits it in
 * place instead of decoding the file a second time: the workbench passes its case's label
 * map, one buffer for the case, the editor and the views.  The caller vouches that decoded
 * is mask_path's content; the file's stamp (for ns_mask_doc_changed_on_disk()) is taken
 * now.  NS_DATA_ERROR_GRID_MISMATCH when decoded is not on image's grid. */
NsMaskDoc    *ns_mask_doc_open_decoded   (NsVolume *image, NsLabelMap *decoded,
                                          const char *mask_path, const char *case_key,
                                          gsize history_budget, GError **error);
/* Whether the map has been written since the document was opened (an edit committed, an
 * undo, a redo, a replacement or a recovery), saved or not: a shared map (above) then no
 * longer holds what its owner read. */
gboolean      ns_mask_doc_map_written    (NsMaskDoc *doc);
/* Flushes and closes the journal (which keeps unsaved edits for recovery). */
void          ns_mask_doc_free           (NsMaskDoc *doc);

NsLabelMap   *ns_mask_doc_get_map        (NsMaskDoc *doc);
NsVolume     *ns_mask_doc_get_image      (NsMaskDoc *doc);
NsLabelTable *ns_mask_doc_get_labels     (NsMaskDoc *doc);
NsHistory    *ns_mask_doc_get_history    (NsMaskDoc *doc);
NsJournal    *ns_mask_doc_get_journal    (NsMaskDoc *doc);
const char   *ns_mask_doc_get_path       (NsMaskDoc *doc);

/* Read-only (a queued case a colleague holds, opened to look at it: issue 19): reason says
 * why, in words for the user (NULL: editable again).  The document is the one place that
 * enforces it: ns_mask_doc_commit() puts back the voxels a tool already changed and records
 * nothing; ns_mask_doc_replace(), _undo(), _redo() change nothing and
 * ns_mask_doc_recover() fails with NS_DATA_ERROR_REFUSED.  Saving is not an edit: the
 * unchanged mask may still be saved elsewhere. */
void          ns_mask_doc_set_read_only  (NsMaskDoc *doc, const char *reason);
/* Why it is read-only (borrowed), or NULL when it can be edited. */
const char   *ns_mask_doc_get_read_only  (NsMaskDoc *doc);

/* Edits of a previous session found in the journal (0: nothing to recover). */
guint         ns_mask_doc_n_recoverable  (NsMaskDoc *doc);
/* Whether the mask file is still the one those edits were made on (its SHA-256 is in the
 * journal); FALSE when it was replaced since (e.g. by `neuroseg segment -o`). */
gboolean      ns_mask_doc_recovery_matches (NsMaskDoc *doc);
/* Replays them onto the mask (they enter the history; the mask is then modified).  Fails
 * with NS_EDIT_ERROR_CHANGED_ON_DISK when !ns_mask_doc_recovery_matches(), unless force. */
gboolean      ns_mask_doc_recover        (NsMaskDoc *doc, gboolean force, guint *n_replayed,
                                          GError **error);
gboolean      ns_mask_doc_discard_recovery (NsMaskDoc *doc, GError **error);

/* Records an edit already applied to the map (takes ownership; NULL or empty is
 * ignored): history and journal.  Returns TRUE when something was recorded. */
gboolean      ns_mask_doc_commit         (NsMaskDoc *doc, NsEditChange *change);
/* Replaces the whole mask (a model prediction) as one undoable entry. */
gboolean      ns_mask_doc_replace        (NsMaskDoc *doc, const guint8 *labels,
                                          const char *name);
/* Up to n steps; returns how many were made.  Each is journaled. */
guint         ns_mask_doc_undo           (NsMaskDoc *doc, guint n);
guint         ns_mask_doc_redo           (NsMaskDoc *doc, guint n);

/* TRUE when the mask differs from what was last saved (or loaded). */
gboolean      ns_mask_doc_is_modified    (NsMaskDoc *doc);
/* Whether the file at the document's path changed since it was read or saved (a file
 * that appeared where none was counts). */
gboolean      ns_mask_doc_changed_on_disk (NsMaskDoc *doc);
/* Saves to path (NULL: the document's path; another path is Save As and becomes the
 * document's path).  force overwrites a file changed on disk. */
gboolean      ns_mask_doc_save           (NsMaskDoc *doc, const char *path, gboolean force,
                                          GError **error);

/* A label map from a NIfTI file on grid (values must be integers 0..255). */
NsLabelMap   *ns_mask_doc_read_mask      (const char *path, const NsGrid *grid, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsMaskDoc, ns_mask_doc_free)

G_END_DECLS
