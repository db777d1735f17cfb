/* SPDX-License-Identifier: MIT
 *
 * ns-test-util.h: helpers shared by the test programs.
 */
#pragma once

#include <glib.h>
#include <stdarg.h>

#include "ns-volume.h"

G_BEGIN_DECLS

/* Exit 77 (meson: skipped) unless ../shared/data exists relative to the project root.
 * Returns the absolute path of ../shared (owned by the util, do not free). */
const char *ns_test_require_shared (void);
/* Absolute path of a file under the project root (tests run from there). */
char       *ns_test_src_path       (const char *first, ...) G_GNUC_NULL_TERMINATED;
/* The bundled sample case folder. */
const char *ns_test_sample_case    (void);
/* A copy of the bundled sample case in the folder dest (made if missing), its segmentation
 * left out when with_seg is FALSE.  Returns dest (owned copy). */
char       *ns_test_copy_sample_case (const char *dest, gboolean with_seg);
/* A fresh temporary directory, removed with its content at exit. */
const char *ns_test_tmpdir         (void);
/* Removes a folder and everything under it (symbolic links are removed, not followed). */
void        ns_test_remove_tree    (const char *path);
/* A small synthetic case in the temporary directory: folder id holding id_flair.nii.gz and
 * id_t1ce.nii.gz (and id_seg.nii.gz with labels) of nx x ny x nz voxels (1 x 1 x 2 mm),
 * with an elliptic "brain" on slices 1 .. nz - 2 (0 elsewhere) and, in the seg file,
 * label 2 on a disc inside it.  Returns the folder (owned). */
char       *ns_test_write_case     (const char *id, int nx, int ny, int nz, gboolean labels);

/* The neuroseg binary ($NEUROSEG) run to completion, stdin from /dev/null. */
typedef struct
{
  int status;  /* exit code, or -1 when killed by a signal */
  char *out;
  char *err;
} NsTestRun;

void        ns_test_run_clear      (NsTestRun *run);
/* Arguments after the program name, NULL-terminated.  Asserts that it could start and
 * logs its exit code and output with g_test_message. */
void        ns_test_run_neuroseg   (NsTestRun *run, ...) G_GNUC_NULL_TERMINATED;
/* The same from a va_list, with extra arguments (NULL-terminated array, may be NULL)
 * appended after those. */
void        ns_test_run_neuroseg_valist (NsTestRun *run, va_list ap, const char *const *extra);
/* The same with the arguments in an array (NULL-terminated). */
void        ns_test_run_neuroseg_strv   (NsTestRun *run, const char *const *args);
/* Any program: argv (NULL-terminated; argv[0] searched on PATH) run to completion the same
 * way (stdin from /dev/null, asserts it could start, logs its exit code and output). */
void        ns_test_run_argv            (NsTestRun *run, const char *const *argv);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (NsTestRun, ns_test_run_clear)

/* Compare n floats; prints the largest normalised difference, where, and the first
 * mismatch (llm.c's check_tensor).  Error at i is |got - want| / (|want| + scale) where
 * scale is the RMS of want, so that tiny reference values do not dominate.  Returns TRUE
 * when every error is <= tol. */
gboolean    ns_check_tensor        (const char *label, const float *got, const double *want,
                                    gsize n, double tol);

/* Every voxel of a volume as float32 (whatever its storage), newly allocated. */
float      *ns_test_dup_floats     (const NsVolume *volume);
/* Asserts that a and b have as many voxels and the same float32 value, bit for bit, at
 * each (their storages may differ). */
void        ns_test_assert_same_voxels (const NsVolume *a, const NsVolume *b);

G_END_DECLS
