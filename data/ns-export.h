/* SPDX-License-Identifier: MIT
 *
 * ns-export.h: the fine-tuning queue (ns-queue.h) as an nnU-Net v2 / Medical Segmentation
 * Decathlon dataset folder.
 *
 * The folder: imagesTr/<identifier>_0000.nii.gz ... (one file per channel, hard-linked or
 * copied from the sources, which are never modified; an uncompressed .nii is compressed,
 * one volume of a 4-D file is written anew), labelsTr/<identifier>.nii.gz (BraTS labels
 * made consecutive as nnU-Net requires: 0, 1 NCR/NET, 2 edema, 3 enhancing; BraTS 2015
 * label 3 becomes 1) and dataset.json (with the case, mask and annotation behind each
 * identifier).  Every source is decoded and checked to lie on the case's grid before
 * anything of the case is linked, so a corrupt file is never exported; the images must be
 * the files the case was queued with (their sha256), and the labels are the corrected mask
 * stored in the database (checked by its sha256; the mask file of a case queued before
 * masks were stored), so that the export works on any workstation of a team.
 */
#pragma once

#include "ns-db.h"

G_BEGIN_DECLS

/* The longest identifier (nnU-Net's file names add "_0000.nii.gz"). */
#define NS_EXPORT_IDENTIFIER_MAX 64

typedef struct
{
  gboolean include_used;    /* also cases already used by a model (never excluded ones) */
  char **modalities;        /* NULL-terminated channel list ("flair", "t1c", ...); NULL:
                               the modalities every exported case has */
  gboolean copy;            /* copy the images instead of hard-linking them */
  gboolean accepted_only;   /* only cases whose latest correction a second reader accepted
                               (NS_QUEUE_REVIEW_ACCEPTED) */
} NsExportOptions;

/* A file-name-safe identifier for a case id, unique among used (a set of strings, to
 * which it is added): only [A-Za-z0-9_-] (anything else becomes '_'), never starting with
 * '-' (an option-like name) and, since '.' is never kept, never a hidden file; at most
 * NS_EXPORT_IDENTIFIER_MAX characters, with _2, _3, ... kept within that length when the
 * shortened name is taken. */
char     *ns_export_dup_identifier (const char *case_id, GHashTable *used);

/* Writes the queued cases (and the used ones with options->include_used) into dir, which
 * must not exist or be empty; the folder appears complete or not at all.  No case to
 * export, or no channel that all of them have, is an error.  *n_cases (nullable) is set to
 * the number exported. */
gboolean  ns_export_nnunet         (NsDb *db, const char *dir, const NsExportOptions *options,
                                    guint *n_cases, GError **error);

G_END_DECLS
