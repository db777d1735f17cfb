/* SPDX-License-Identifier: MIT
 *
 * ns-label-table.h: the label palette of a mask (value, name, colour, visibility, lock)
 * and its description file beside the mask.
 *
 * The file is ITK-SNAP's label description format, so ITK-SNAP reads ours and we read
 * its: comment lines start with '#', then one line per label
 *
 *     IDX   -R-  -G-  -B-  -A--  VIS MSH  "LABEL"
 *       1   230   40   40     1    1   1  "NCR/NET"
 *
 * (alpha 0..1, visibility and mesh visibility 0 or 1).  The format has no lock, so locked
 * labels go in a comment line ITK-SNAP skips: "# neuroseg-locked: 1 4".  Names cannot
 * hold '"' or line breaks (they are replaced by '\'' and ' ').  The file sits beside the
 * mask: "seg.nii.gz" -> "seg.labels.txt" (ns_label_table_path_for_mask()).
 */
#pragma once

#include "ns-labels.h"

G_BEGIN_DECLS

typedef struct
{
  guint8 value;
  char *name;
  guint8 rgba[4];             /* alpha 0..255 (the file's 0..1 scaled) */
  gboolean visible;
  gboolean mesh_visible;
  gboolean locked;
} NsLabelEntry;

typedef struct _NsLabelTable NsLabelTable;

/* Only "Clear Label" (0, transparent). */
NsLabelTable       *ns_label_table_new           (void);
/* 0 plus the scheme's classes (names "NCR/NET", "ED", "ET", colours of ns-labels.h). */
NsLabelTable       *ns_label_table_new_for_scheme (NsLabelScheme scheme);
NsLabelTable       *ns_label_table_copy          (const NsLabelTable *table);
void                ns_label_table_free          (NsLabelTable *table);

/* Entries in value order. */
guint               ns_label_table_n_entries     (const NsLabelTable *table);
const NsLabelEntry *ns_label_table_get_nth       (const NsLabelTable *table, guint i);
/* NULL when value has no entry. */
const NsLabelEntry *ns_label_table_lookup        (const NsLabelTable *table, guint8 value);
/* Adds or replaces the entry of value (name copied and cleaned). */
void                ns_label_table_set           (NsLabelTable *table, guint8 value,
                                                  const char *name, const guint8 rgba[4],
                                                  gboolean visible, gboolean locked);
gboolean            ns_label_table_set_locked    (NsLabelTable *table, guint8 value,
                                                  gboolean locked);
gboolean            ns_label_table_set_visible   (NsLabelTable *table, guint8 value,
                                                  gboolean visible);
/* FALSE when there was no such entry; 0 cannot be removed. */
gboolean            ns_label_table_remove        (NsLabelTable *table, guint8 value);
/* The smallest value without an entry (for "add label"); 0 when all 256 are used. */
guint8              ns_label_table_next_free     (const NsLabelTable *table);
/* locked[v] = 1 for locked labels, else 0 (NsPaintRule.locked). */
void                ns_label_table_fill_locks    (const NsLabelTable *table, guint8 locked[256]);

/* Atomic write (temporary file, fsync, rename). */
gboolean            ns_label_table_save          (const NsLabelTable *table, const char *path,
                                                  GError **error);
/* Errors (NS_DATA_ERROR, naming the file and line) on a malformed line. */
NsLabelTable       *ns_label_table_load          (const char *path, GError **error);
/* "dir/seg.nii.gz" -> "dir/seg.labels.txt" (also for .nii and other names). */
char               *ns_label_table_path_for_mask (const char *mask_path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsLabelTable, ns_label_table_free)

G_END_DECLS
