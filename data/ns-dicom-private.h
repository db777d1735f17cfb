/* SPDX-License-Identifier: MIT
 *
 * ns-dicom-private.h: what the C side of DICOM (scanning, geometry, cases, SEG layout)
 * asks of the one C++ file, ns-dicom.cc, which alone talks to DCMTK.  Plain C types
 * cross the boundary; every failure comes back as a GError naming the file.
 * (ns-dicom-none.c answers the same calls in a build without DCMTK.)
 */
#pragma once

#include "ns-dicom.h"

G_BEGIN_DECLS

/* The header of a Part 10 file (pixel data not loaded) into *file (cleared first; free its
 * strings with _ns_dicom_file_clear ()). */
gboolean   _ns_dicom_read_header        (const char *path, NsDicomFile *file, GError **error);
/* The stored values of file's single frame, rows x columns, row by row, as signed or
 * unsigned integers of bits_stored bits (no rescale).  The file must still be the one
 * whose header is file (same SOP Instance UID, size and pixel format). */
gboolean   _ns_dicom_read_pixels        (const NsDicomFile *file, double *values,
                                         GError **error);
/* The files a DICOMDIR references, as paths relative to its folder with '/' between the
 * components exactly as recorded (a GPtrArray of strings). */
GPtrArray *_ns_dicom_read_dicomdir      (const char *path, GError **error);

void       _ns_dicom_file_clear         (NsDicomFile *file);

/* Checks whether series->files make a volume (ns-dicom-series.c): sorts them along the
 * normal and sets is_volume and grid, or problem. */
void       _ns_dicom_series_check       (NsDicomSeries *series);

/* ---- DICOM-SEG ---------------------------------------------------------------------------- */

typedef struct
{
  guint8 value;                /* the label value in the label map */
  const char *label;           /* Segment Label */
  const char *description;     /* Segment Description */
  guint16 cielab[3];
  NsDicomCode category;
  NsDicomCode type;
} NsDicomSegSegment;

typedef struct
{
  guint segment;               /* index into the segments */
  guint slice;                 /* index into source->files (the slice k of the grid) */
  const guint8 *labels;        /* rows x columns label values of that slice */
  guint8 value;                /* the frame's pixels are labels == value */
} NsDicomSegFrame;

typedef struct
{
  const char *series_description;
  int series_number;
  const char *algorithm_name;  /* NULL: MANUAL */
} NsDicomSegHeader;

/* Writes the SEG to path (a fresh temporary file; out_name names the target in errors). */
gboolean   _ns_dicom_seg_write_file     (const char *path, const char *out_name,
                                         const NsDicomSeries *source,
                                         const NsDicomSegHeader *header,
                                         const NsDicomSegSegment *segments, guint n_segments,
                                         const NsDicomSegFrame *frames, guint n_frames,
                                         GError **error);

/* What a SEG holds, as read back. */
typedef struct
{
  guint16 number;
  char *label;
  char *description;
  char *type_value;            /* Segmented Property Type code value and designator */
  char *type_designator;
} NsDicomSegReadSegment;

typedef struct
{
  guint16 segment;             /* Referenced Segment Number */
  double position[3];          /* Image Position (Patient) */
  guint8 *pixels;              /* rows x columns, 0 or 1 (owned) */
} NsDicomSegReadFrame;

typedef struct
{
  int rows;
  int columns;
  double orientation[6];
  double pixel_spacing[2];
  char *source_series_uid;     /* first item of Referenced Series Sequence, or NULL */
  char *frame_of_reference_uid;
  GPtrArray *segments;         /* NsDicomSegReadSegment, by number */
  GPtrArray *frames;           /* NsDicomSegReadFrame, in file order */
} NsDicomSegContent;

gboolean   _ns_dicom_seg_read_file      (const char *path, NsDicomSegContent *content,
                                         GError **error);
void       _ns_dicom_seg_content_clear  (NsDicomSegContent *content);

G_END_DECLS
