/* SPDX-License-Identifier: MIT
 *
 * ns-nifti-private.h: what the case loader (ns-case.c) shares with the NIfTI reader: it
 * reads every header of a case first, checks the grids and reserves the memory of the
 * whole case at once, then decodes the files in parallel.
 */
#pragma once

#include "ns-nifti.h"

G_BEGIN_DECLS

/* The most memory decoding the file of header holds at once (volumes and buffers). */
guint64    _ns_nifti_decode_bytes     (const NsNiftiHeader *header);
/* Reserves bytes of the memory budget for what (a file or a case, named in the error),
 * whose volumes hold n_voxels; an NS_DATA_ERROR_TOO_LARGE error otherwise. */
gboolean   _ns_nifti_reserve          (const char *what, guint64 bytes, guint64 n_voxels,
                                       GError **error);
/* ns_nifti_read_all () for a caller that holds the reservation for path
 * (_ns_nifti_decode_bytes (expected)) and read its header as *expected: a file whose
 * header has changed since is an error. */
GPtrArray *_ns_nifti_read_all_reserved (const char *path, const NsNiftiHeader *expected,
                                        GError **error);

G_END_DECLS
