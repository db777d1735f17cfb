/* SPDX-License-Identifier: MIT
 *
 * ns-case.h: a BraTS-style case: the MR modalities of one patient on one grid, with an
 * optional label map and brain mask.
 *
 * Discovery goes by file name, case-insensitive, on the name's words (split at '_', '-',
 * '.' and spaces) so that "t1" never matches "t1ce": flair; t1ce, t1c, t1gd (T1 with
 * contrast); t1; t2; seg, OTMultiClass, label(s), truth (the label map); brainmask.
 * Both layouts of ../shared/data work (brats2015: Flair_subtrMeanDivStd.nii.gz, ...;
 * brats2018: <ID>_flair.nii.gz, ...).  A 4-D file with four volumes and no modality in
 * its name is read as a Medical Segmentation Decathlon image (FLAIR, T1, T1c, T2).
 * FLAIR is required (any one image with NS_CASE_LOAD_ANY_IMAGE); the rest is optional.
 * A file named as a part must be a regular file: a dangling link, a link loop, a FIFO or a
 * folder is an error saying so, never a part left out.  Every header is read first
 * (volume counts and grids checked, the memory of the whole case reserved: ns-memory.h),
 * then all files are decoded in parallel, one thread per file (gzip decoding dominates the
 * time to open a case).
 */
#pragma once

#include "ns-labels.h"
#include "ns-volume.h"

G_BEGIN_DECLS

typedef enum
{
  NS_MODALITY_FLAIR,
  NS_MODALITY_T1C,
  NS_MODALITY_T1,
  NS_MODALITY_T2,
  NS_N_MODALITIES
} NsModality;

/* What a file in a case is, from its name. */
typedef enum
{
  NS_CASE_FILE_NONE = -1,
  NS_CASE_FILE_FLAIR = NS_MODALITY_FLAIR,
  NS_CASE_FILE_T1C = NS_MODALITY_T1C,
  NS_CASE_FILE_T1 = NS_MODALITY_T1,
  NS_CASE_FILE_T2 = NS_MODALITY_T2,
  NS_CASE_FILE_LABELS = NS_N_MODALITIES,
  NS_CASE_FILE_BRAIN_MASK,
  NS_N_CASE_FILES
} NsCaseFile;

typedef enum
{
  NS_CASE_LOAD_DEFAULT = 0,
  NS_CASE_LOAD_SKIP_LABELS = 1 << 0,     /* do not read the label map */
  NS_CASE_LOAD_MAP_TO_2017 = 1 << 1,     /* BraTS 2015 labels become 2017+ labels */
  NS_CASE_LOAD_SERIAL = 1 << 2,          /* one file after another (for benchmarks) */
  NS_CASE_LOAD_ANY_IMAGE = 1 << 3,       /* files without a FLAIR make a case too, as
                                          * long as one is an image (the workbench opens
                                          * any NIfTI) */
} NsCaseLoadFlags;

typedef struct
{
  char *dir;                             /* the folder, or the first file's folder */
  char *id;                              /* e.g. "Brats18_CBICA_ABM_1" */
  NsGrid grid;                           /* shared by every volume below */
  NsVolume *modality[NS_N_MODALITIES];   /* NULL when absent; FLAIR always present */
  char *paths[NS_N_CASE_FILES];          /* the file of each part, or NULL */
  NsLabelMap *labels;                    /* the label map, or NULL */
  NsLabelScheme label_scheme;            /* the scheme labels are in (after mapping) */
  gboolean labels_mapped;                /* BraTS 2015 labels were mapped to 2017+ */
  NsLabelMap *brain_mask;                /* 0/1, or NULL */
  char **notes;                          /* what loading changed that the user should know,
                                          * one line each (a DICOM series resampled onto
                                          * the case's grid), or NULL */
  /* private */
  gatomicrefcount ref_count;
} NsCase;

/* "flair", "t1c", "t1", "t2". */
const char *ns_modality_name        (NsModality modality);
/* "flair", "t1c", "t1", "t2", "labels", "brainmask". */
const char *ns_case_file_name       (NsCaseFile kind);
/* What a file name (with or without folder and extension) names; NONE when nothing. */
NsCaseFile  ns_case_classify_file   (const char *filename);

/* Loads the case in a folder (or, when path is a NIfTI file, the case of that one
 * file).  A DICOMDIR, a DICOM file, or a folder of DICOM series without a NIfTI FLAIR is
 * read by ns_dicom_case_load () (ns-dicom.h) with the sequences found from the series. */
NsCase     *ns_case_load            (const char *path, NsCaseLoadFlags flags, GError **error);
/* Loads a case from an explicit list of files (NULL-terminated); each file's part comes
 * from its name.  Two files naming the same part, a missing FLAIR, and volumes on
 * different grids are errors naming the files. */
NsCase     *ns_case_load_files      (const char *const *paths, NsCaseLoadFlags flags,
                                     GError **error);
/* The same with the part of each file given (kinds[i] for paths[i], e.g. what the user
 * said a file is when its name does not tell; NS_CASE_FILE_NONE: from the name). */
NsCase     *ns_case_load_files_as   (const char *const *paths, const NsCaseFile *kinds,
                                     NsCaseLoadFlags flags, GError **error);
/* What a user opens as a case (the command line, the GUI): one path is a folder or a file
 * (ns_case_load), several are files of one case (ns_case_load_files); paths is
 * NULL-terminated (no path at all is an error). */
NsCase     *ns_case_open            (const char *const *paths, NsCaseLoadFlags flags,
                                     GError **error);
/* The files a folder's case consists of, by part (paths[NS_N_CASE_FILES], owned strings,
 * NULL where absent), without reading them; a part that is not a regular file is an
 * error (ns_file_check_regular ()). */
gboolean    ns_case_discover        (const char *dir, char *paths[NS_N_CASE_FILES],
                                     GError **error);

/* What a case consists of, found without decoding any voxel. */
typedef struct
{
  char *path;                         /* absolute folder or file */
  char *id;                           /* the case id, as ns_case_load names the case */
  char *files[NS_N_MODALITIES];       /* the file of each modality, NULL where absent */
  int volumes[NS_N_MODALITIES];       /* its volume in a 4-D file, -1 for a 3-D file */
  char *labels;                       /* the label map of a folder, or NULL */
} NsCaseDescription;

/* Describes a case given as a folder (its files by name, ns_case_discover), a 4-modality
 * file (Medical Segmentation Decathlon order) or a FLAIR file.  Reads headers only:
 * ns_case_load decodes and checks the voxels. */
gboolean    ns_case_describe        (const char *path, NsCaseDescription *description,
                                     GError **error);
void        ns_case_description_clear (NsCaseDescription *description);

NsCase     *ns_case_ref             (NsCase *ncase);
void        ns_case_unref           (NsCase *ncase);
/* Number of modalities present. */
guint       ns_case_n_modalities    (const NsCase *ncase);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsCase, ns_case_unref)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (NsCaseDescription, ns_case_description_clear)

G_END_DECLS
