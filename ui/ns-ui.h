/* SPDX-License-Identifier: MIT
 *
 * ns-ui.h: library-wide set-up of ui/.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Registers the GResource bundle (templates, CSS, icons) once; every widget class that
 * loads a template calls it from class_init. */
void ns_ui_ensure_resources (void);

G_END_DECLS
