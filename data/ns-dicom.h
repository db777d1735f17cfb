/* SPDX-License-Identifier: MIT
 *
 * ns-dicom.h: DICOM MR series in, DICOM Segmentation (SEG) out.
 *
 * Reading: a folder (searched recursively) or a DICOMDIR is scanned for DICOM Part 10
 * files (the "DICM" mark at byte 128); their headers (not their pixels) are read and the
 * image files grouped by Series Instance UID.  Each series is then checked as a volume:
 * one orientation (Image Orientation (Patient)), one size and pixel spacing, single-frame
 * images, slices sorted along the normal of the orientation, the spacing between slices
 * taken from Image Position (Patient) (never from Slice Thickness) and equal all along,
 * every position on the normal through the first (no gantry tilt).  What cannot be a
 * volume is refused with one line naming a file and the reason.  Pixels are read slice by
 * slice with the Rescale Slope and Intercept applied in double and stored as float32.
 *
 * The volume's voxel order: i along the rows of a slice (the row direction cosines, the
 * first three values of Image Orientation (Patient)), j down its columns, k along the
 * normal (row x column), the slice of lowest position first.  The voxel-to-RAS matrix is
 * built from DICOM's LPS patient coordinates by negating x and y, and carried as sform
 * and qform (code 1, scanner), so that a label map saved as NIfTI overlays the series in
 * every viewer, and dcm2niix's conversion of the same series has the same voxel-to-world
 * mapping (dcm2niix flips j; tests/test-data-dicom.c compares them voxel for voxel).
 *
 * Which series is which sequence comes from the Series Description and the sequence
 * attributes (ns_dicom_classify_sequence ()); the user assigns what is unclear
 * (NsDicomAssignment).  Series on different grids are resampled onto one, and the case
 * says so (NsCase.notes).
 *
 * Writing: a label map on the grid of a series becomes a binary DICOM-SEG (DCMTK's dcmseg)
 * with one segment per label (name, CIELab colour, SNOMED CT / DICOM codes of the tumour
 * sub-regions), each frame referencing its source image, and the Referenced Series,
 * Frame of Reference, patient and study of the source.
 *
 * DCMTK is C++; data/ns-dicom.cc is the only C++ file and everything here is C.  In a
 * build without DCMTK (meson -Ddicom=disabled) every function that would read or write a
 * DICOM file fails with NS_DATA_ERROR_UNSUPPORTED saying so.
 */
#pragma once

#include "ns-case.h"
#include "ns-label-table.h"
#include "ns-volume.h"

G_BEGIN_DECLS

/* What one DICOM file says about itself: the attributes Neuroseg uses. */
typedef struct
{
  char *path;
  char *sop_class_uid;
  char *sop_instance_uid;
  char *study_uid;
  char *series_uid;
  char *frame_of_reference_uid;
  char *modality;              /* "MR", "CT", "SEG", ... ("" when absent; never NULL) */
  char *series_description;    /* (0008,103E) */
  char *protocol_name;         /* (0018,1030) */
  char *sequence_name;         /* (0018,0024) */
  char *scanning_sequence;     /* (0018,0020), e.g. "SE\IR" */
  char *contrast_agent;        /* (0018,0010) Contrast/Bolus Agent */
  char *image_type;            /* (0008,0008), e.g. "ORIGINAL\PRIMARY\M\ND" */
  char *photometric;           /* "MONOCHROME2", ... */
  char *transfer_syntax;       /* UID of the file's transfer syntax */
  int series_number;           /* -1 when absent */
  int instance_number;         /* -1 when absent */
  double repetition_time;      /* ms; NAN when absent */
  double echo_time;            /* ms; NAN when absent */
  double inversion_time;       /* ms; NAN when absent */
  double gantry_tilt;          /* degrees; 0 when absent */
  int rows;
  int columns;
  int n_frames;                /* 1 for a single-frame image */
  int samples_per_pixel;
  int bits_allocated;
  int bits_stored;
  int high_bit;
  gboolean pixel_signed;       /* Pixel Representation 1 */
  gboolean has_pixel_data;
  gboolean has_position;
  gboolean has_orientation;
  gboolean has_spacing;
  double position[3];          /* Image Position (Patient): mm, LPS */
  double orientation[6];       /* Image Orientation (Patient): row, then column cosines */
  double pixel_spacing[2];     /* Pixel Spacing: between rows, then between columns (mm) */
  double slice_thickness;      /* mm, NAN when absent (shown, never used for geometry) */
  double rescale_slope;        /* 1 when absent */
  double rescale_intercept;    /* 0 when absent */
} NsDicomFile;

/* The image files of one Series Instance UID. */
typedef struct
{
  char *uid;
  char *study_uid;
  char *frame_of_reference_uid;
  int number;                  /* Series Number, -1 when absent */
  char *description;           /* Series Description ("" when absent) */
  char *modality;
  GPtrArray *files;            /* NsDicomFile: along the normal when is_volume, else by
                                * instance number and path */
  gboolean is_volume;          /* the files make one volume on grid */
  char *problem;               /* why they do not (one line naming a file), else NULL */
  NsGrid grid;                 /* when is_volume */
  int sequence;                /* NsModality its attributes say, or -1 when unclear */
  char *sequence_reason;       /* e.g. "series description \"AX T2 FLAIR\"" (or NULL) */
} NsDicomSeries;

/* The reference grid of a case whose series are on different grids. */
typedef enum
{
  NS_DICOM_GRID_FLAIR,         /* the FLAIR's (default) */
  NS_DICOM_GRID_FINEST,        /* the series with the smallest voxels */
} NsDicomGridChoice;

/* Which series is which sequence, where the user says so. */
typedef struct
{
  /* Series Instance UID or Series Number of each modality; NULL: from the series'
   * descriptions and attributes; "none": leave the modality out. */
  const char *series[NS_N_MODALITIES];
  NsDicomGridChoice grid;
} NsDicomAssignment;

/* How a label map becomes a DICOM-SEG. */
typedef struct
{
  const char *series_description;  /* NULL: "Neuroseg segmentation" */
  int series_number;               /* 0: the source series' number + 1000 */
  /* Segments are "AUTOMATIC" with this algorithm name (e.g. the model's), or "MANUAL" when
   * NULL. */
  const char *algorithm_name;
  /* Names and colours of the labels; NULL: those of the BraTS scheme the labels fit. */
  const NsLabelTable *label_table;
} NsDicomSegOptions;

/* A SNOMED CT (or DICOM, NCIt) code: designator "SCT", "DCM", "NCIt". */
typedef struct
{
  const char *value;
  const char *designator;
  const char *meaning;
} NsDicomCode;

/* ---- reading ---------------------------------------------------------------------------- */

/* TRUE when path is a DICOMDIR, a DICOM Part 10 file, or a folder holding one (searched
 * as ns_dicom_scan () does, stopping at the first DICOM file). */
gboolean       ns_dicom_path_is_dicom     (const char *path);
/* Every image series under path (a folder, searched recursively; a DICOMDIR; or a folder
 * with a DICOMDIR at its top, whose records are then used): a GPtrArray of NsDicomSeries
 * (it owns them) in order of series number, then UID.  Non-DICOM files are ignored, and
 * so are DICOM objects that are not images (SEG, SR, presentation states: n_other, may be
 * NULL, counts them); a DICOM file that cannot be read is an error naming it.  A folder
 * without any DICOM image is NS_DATA_ERROR_NOT_FOUND. */
GPtrArray     *ns_dicom_scan              (const char *path, guint *n_other, GError **error);
/* The series of scan whose UID is key, or whose Series Number is key (a number); an
 * error naming the series present when none is, or when several have that number. */
NsDicomSeries *ns_dicom_find_series       (GPtrArray *scan, const char *key, const char *where,
                                           GError **error);
/* The volume of a series (is_volume): float32 voxels, the grid of series->grid, datatype
 * (NIfTI code) and scaling of the files when they all share them (else FLOAT32 and no
 * scaling), path = the series' first file, name = its description.  The memory is reserved
 * first (ns-memory.h). */
NsVolume      *ns_dicom_series_read       (const NsDicomSeries *series, GError **error);
/* "series 3 \"AX T2 FLAIR\" (1.2.840...)" */
char          *ns_dicom_series_dup_label  (const NsDicomSeries *series);
void           ns_dicom_series_free       (NsDicomSeries *series);
void           ns_dicom_file_free         (NsDicomFile *file);

/* The modality the attributes of file say it is (NsModality), or -1 when they do not say
 * clearly; *reason (may be NULL) gets what said it (owned). */
int            ns_dicom_classify_sequence (const NsDicomFile *file, char **reason);

/* ---- a DICOM study as a case ------------------------------------------------------------- */

/* The series of each modality (NULL where absent): the assignment's where given, else the
 * only volume series whose attributes name that modality.  NS_DATA_ERROR_AMBIGUOUS (the
 * GUI then asks) when no series or several look like the FLAIR, or several look like
 * another modality; the message lists them and says which option chooses. */
gboolean       ns_dicom_assign            (GPtrArray *scan, const NsDicomAssignment *assignment,
                                           const char *where,
                                           NsDicomSeries *chosen[NS_N_MODALITIES],
                                           GError **error);
/* Whether ns_case_load () reads path as DICOM: a DICOMDIR or DICOM file, or a folder that
 * holds DICOM files and no NIfTI case (no file named as its FLAIR). */
gboolean       ns_dicom_is_case_path      (const char *path);
/* The case of a DICOM folder or DICOMDIR: ns_dicom_scan (), ns_dicom_assign (), then each
 * series read and, when the grids differ, resampled (trilinear, outside = 0) onto the
 * reference grid; NsCase.notes says what was resampled from what.  The series must share
 * one Frame of Reference.  paths[m] is the first file of each series, id the folder's
 * name.  assignment may be NULL. */
NsCase        *ns_dicom_case_load         (const char *path, const NsDicomAssignment *assignment,
                                           NsCaseLoadFlags flags, GError **error);
/* The same from a scan already made (the GUI's dialog). */
NsCase        *ns_dicom_case_load_scan    (const char *path, GPtrArray *scan,
                                           const NsDicomAssignment *assignment,
                                           NsCaseLoadFlags flags, GError **error);

/* ---- DICOM-SEG ---------------------------------------------------------------------------- */

/* The series of scan on exactly grid (ns_grid_equal ()): the one that prefer names (its
 * UID, or one of its files, e.g. NsCase.paths[m]; may be NULL) when it is on the grid, else
 * the first.  NS_DATA_ERROR_GRID_MISMATCH naming labels_path and the series when none is. */
NsDicomSeries *ns_dicom_find_series_on_grid (GPtrArray *scan, const NsGrid *grid,
                                             const char *prefer, const char *labels_path,
                                             GError **error);
/* Writes labels (on source's grid) as a binary DICOM-SEG: one segment per label value
 * present (all of the scheme's when none is, each then an empty frame), each frame a slice
 * of a segment that holds some of it, referencing its source image.  Atomic (temporary
 * file, fsync, rename). */
gboolean       ns_dicom_seg_write         (const NsLabelMap *labels, const NsDicomSeries *source,
                                           const char *out_path, const NsDicomSegOptions *options,
                                           GError **error);
/* For a case read from DICOM (ns_dicom_is_case_path (ncase->dir)): labels (on the case's
 * grid) as a DICOM-SEG of the series of ncase->dir on that grid, the FLAIR's when it is
 * (what `segment --seg-dicom` and the workbench's Export > DICOM Segmentation do).  A case
 * not read from DICOM is NS_DATA_ERROR_NOT_DICOM. */
gboolean       ns_dicom_seg_write_for_case (const NsCase *ncase, const NsLabelMap *labels,
                                            const char *out_path,
                                            const NsDicomSegOptions *options, GError **error);
/* A DICOM-SEG back as a label map on grid (the grid of its source series): each frame is
 * placed on the slice at its Image Position (Patient) and its segment's pixels set to the
 * segment's label (the value in its Segment Label "... (label N)", else its number).  The
 * SEG's orientation and pixel spacing must be the grid's; overlapping segments are an
 * error. */
NsLabelMap    *ns_dicom_seg_read          (const char *path, const NsGrid *grid, GError **error);
/* The Series Instance UID the SEG references (its source), or NULL with an error. */
char          *ns_dicom_seg_dup_source_uid (const char *path, GError **error);
/* TRUE when path is a DICOM file whose SOP class is Segmentation Storage. */
gboolean       ns_dicom_is_seg            (const char *path);

/* The codes of a label of the BraTS schemes: property category and type (DICOM CID 7150,
 * 7168/7169).  Values outside the schemes are "Lesion". */
void           ns_dicom_label_codes       (guint8 value, NsDicomCode *category,
                                           NsDicomCode *type);
/* sRGB (0..255) to DICOM's CIELab encoding (PS3.3 C.10.7.1.1: PCS-Lab, D50, L 0..100 and a,
 * b -128..127 scaled to 0..65535). */
void           ns_dicom_rgb_to_cielab     (const guint8 rgb[3], guint16 lab[3]);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsDicomSeries, ns_dicom_series_free)

G_END_DECLS
