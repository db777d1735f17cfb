/* SPDX-License-Identifier: MIT
 *
 * ns-test-script.h: the interpreter of NEUROSEG_TEST_SCRIPT (see ns-application.c), a
 * hook for end-to-end tests that replays edits through the same editor calls the
 * gestures and dialogs make.  One line:
 *
 *   paint PLANE I J K [I J K ...] [label L] [radius R]   a brush stroke (2-D on PLANE)
 *   erase PLANE I J K [...] [radius R]                   an eraser stroke
 *   undo | recover | discard | save [PATH] | quit
 *
 * PLANE is axial, sagittal or coronal; I J K are voxel coordinates; '#' starts a comment.
 */
#pragma once

#include "ns-window.h"

G_BEGIN_DECLS

gboolean ns_test_script_run_line (NsWindow *window, const char *line, GError **error);

G_END_DECLS
