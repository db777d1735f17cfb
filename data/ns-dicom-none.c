/* SPDX-License-Identifier: MIT
 *
 * ns-dicom-none.c: the calls of ns-dicom-private.h in a build without DCMTK (meson
 * -Ddicom=disabled, or libdcmtk-dev missing).  Scanning still finds DICOM files, and each
 * attempt to read or write one says that this build cannot, naming the file.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-dicom-private.h"
#include "ns-data-error.h"

#include <string.h>

static void
set_unsupported (const char *path, GError **error)
{
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
               "%s: this build of Neuroseg reads and writes no DICOM (built without DCMTK: "
               "install libdcmtk-dev and rebuild)", path);
}

gboolean
_ns_dicom_read_header (const char *path, NsDicomFile *file, GError **error)
{
  memset (file, 0, sizeof *file);
  set_unsupported (path, error);
  return FALSE;
}

gboolean
_ns_dicom_read_pixels (const NsDicomFile *file, double *values, GError **error)
{
  set_unsupported (file->path, error);
  return FALSE;
}

GPtrArray *
_ns_dicom_read_dicomdir (const char *path, GError **error)
{
  set_unsupported (path, error);
  return NULL;
}

gboolean
_ns_dicom_seg_write_file (const char *path, const char *out_name, const NsDicomSeries *source,
                          const NsDicomSegHeader *header, const NsDicomSegSegment *segments,
                          guint n_segments, const NsDicomSegFrame *frames, guint n_frames,
                          GError **error)
{
  set_unsupported (out_name, error);
  return FALSE;
}

gboolean
_ns_dicom_seg_read_file (const char *path, NsDicomSegContent *content, GError **error)
{
  set_unsupported (path, error);
  return FALSE;
}
