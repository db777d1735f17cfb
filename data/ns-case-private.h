/* SPDX-License-Identifier: MIT
 *
 * ns-case-private.h: for the readers in data/ that build an NsCase themselves (the DICOM
 * case, ns-dicom-case.c).
 */
#pragma once

#include "ns-case.h"

G_BEGIN_DECLS

/* An empty case (reference count 1) of folder dir; the caller fills it. */
NsCase *_ns_case_new (const char *dir);

G_END_DECLS
