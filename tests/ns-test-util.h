/* SPDX-License-Identifier: MIT
 *
 * ns-test-util.h: helpers shared by the test programs.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Exit 77 (meson: skipped) unless ../shared/data exists relative to the project root.
 * Returns the absolute path of ../shared (owned by the util, do not free). */
const char *ns_test_require_shared (void);
/* Absolute path of a file under the project root (tests run from there). */
char       *ns_test_src_path       (const char *first, ...) G_GNUC_NULL_TERMINATED;
/* The bundled sample case folder. */
const char *ns_test_sample_case    (void);
/* A fresh temporary directory, removed with its content at exit. */
const char *ns_test_tmpdir         (void);

/* Compare n floats; prints the largest normalised difference, where, and the first
 * mismatch (llm.c's check_tensor).  Error at i is |got - want| / (|want| + scale) where
 * scale is the RMS of want, so that tiny reference values do not dominate.  Returns TRUE
 * when every error is <= tol. */
gboolean    ns_check_tensor        (const char *label, const float *got, const double *want,
                                    gsize n, double tol);

G_END_DECLS
