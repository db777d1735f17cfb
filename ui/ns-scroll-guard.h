/* SPDX-License-Identifier: MIT
 *
 * ns-scroll-guard.h: a scrolled panel whose controls do not take the mouse wheel by
 * accident.  Scrolling a side bar with the wheel passes over spin buttons and sliders,
 * each of which would take the wheel and change its value (the window/level of the image,
 * the overlay's opacity) instead of scrolling.  With the guard, the wheel over such a
 * control scrolls the panel, unless the control has the keyboard focus (the user clicked
 * into it to change it), as web browsers and GNOME Settings do.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Guards the spin buttons and sliders in scrolled now (call once its content is built). */
void ns_scroll_guard_install (GtkScrolledWindow *scrolled);

G_END_DECLS
