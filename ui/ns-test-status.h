/* SPDX-License-Identifier: MIT
 *
 * ns-test-status.h: NEUROSEG_TEST_STATUS=FILE, a hook for end-to-end tests that drive the
 * program with real input (tests/ns-test-gui.h): on SIGUSR1 the application writes what
 * its windows show to FILE as JSON, atomically: a sequence number ("seq"), and for each
 * visible toplevel its title, type, size, a message dialog's text, every named widget
 * (where it is in its window, mapped, sensitive, focused, a spin button's value, a
 * label's text, a scrolled window's scroll offset) and, for a workbench window, its case,
 * cursor and slices, window/level, status bar message and job, the mask (file, modified,
 * voxels labelled, history), the model and which actions are enabled.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Writes the state now. */
gboolean ns_test_status_write   (const char *path, GError **error);
/* With NEUROSEG_TEST_STATUS set: writes it on every SIGUSR1 (from the main loop). */
void     ns_test_status_install (void);

G_END_DECLS
