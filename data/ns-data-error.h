/* SPDX-License-Identifier: MIT
 *
 * ns-data-error.h: the one error domain of data/.  Every message names the file (when
 * there is one) and the reason, in one line, because the command line prints it as is.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NS_DATA_ERROR (ns_data_error_quark ())

typedef enum
{
  NS_DATA_ERROR_NOT_FOUND,      /* missing file or modality */
  NS_DATA_ERROR_NOT_NIFTI,      /* not a NIfTI file, or an unreadable header */
  NS_DATA_ERROR_CORRUPT,        /* truncated or inconsistent data */
  NS_DATA_ERROR_UNSUPPORTED,    /* datatype, dimensionality ... we do not handle */
  NS_DATA_ERROR_TOO_LARGE,      /* dims overflow or exceed memory */
  NS_DATA_ERROR_GRID_MISMATCH,  /* volumes of one case on different grids */
  NS_DATA_ERROR_BAD_LABELS,     /* label values outside the scheme */
  NS_DATA_ERROR_IO,             /* write, fsync, rename failed */
  NS_DATA_ERROR_INVALID,        /* other bad input */
  NS_DATA_ERROR_REFUSED,        /* a guarded change refused (a gated promotion): can be
                                 * forced by the user */
  NS_DATA_ERROR_NOT_DICOM,      /* not a DICOM file, or not what a DICOM reader needs */
  NS_DATA_ERROR_AMBIGUOUS,      /* valid, but a choice is needed (which series is which) */
  NS_DATA_ERROR_UNAVAILABLE,    /* the database server cannot be reached: nothing was
                                 * changed; try again later (work stays local meanwhile) */
} NsDataError;

GQuark ns_data_error_quark (void);

G_END_DECLS
