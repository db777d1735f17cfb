/* SPDX-License-Identifier: MIT
 *
 * ns-test-widget.h: helpers of the in-process GUI tests: what a widget shows as pixels,
 * finding widgets, letting the main context run.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* The widget's own snapshot (its snapshot vfunc: what a custom widget draws, without CSS
 * background or children) rendered by its window's GSK renderer, at its allocated size in
 * device pixels: 0xAARRGGBB, *width x *height, owned. */
guint32   *ns_test_widget_pixels     (GtkWidget *widget, int *width, int *height);
/* Whether pixel p is within tolerance (per channel) of rgb (0xRRGGBB). */
gboolean   ns_test_pixel_near        (guint32 p, guint32 rgb, int tolerance);
/* The first widget of type at or under widget (depth first), or NULL. */
GtkWidget *ns_test_find_widget       (GtkWidget *widget, GType type);
/* The widget named name (gtk_widget_set_name, "name" in a template) at or under widget. */
GtkWidget *ns_test_find_named        (GtkWidget *widget, const char *name);
/* The first button at or under widget whose label is label (mnemonics included). */
GtkWidget *ns_test_find_button       (GtkWidget *widget, const char *label);
/* The first label at or under widget whose text is text. */
GtkWidget *ns_test_find_label        (GtkWidget *widget, const char *text);
/* Runs what is ready in the main context now (an async step's end, a redraw). */
void       ns_test_drain             (void);
/* Iterates the main context for seconds. */
void       ns_test_spin              (double seconds);
/* Records in *thread (NULL until then) the thread in which object is finalized. */
void       ns_test_note_finalize_thread (GObject *object, GThread **thread);
/* After the owner of an object noted by ns_test_note_finalize_thread () let go of it while
 * ns_task_test_hold_releases (TRUE) holds the workers back: the main context runs for
 * settle_s and the object must still be alive (a worker holds it); then the workers let go
 * and the object must be finalized, within timeout_s, in this (the main) thread. */
void       ns_test_assert_released_in_main (GThread **thread, double settle_s,
                                            double timeout_s);
/* Iterates the main context until cond (data) holds (TRUE) or timeout_s passes (FALSE). */
gboolean   ns_test_wait_until        (gboolean (*cond) (gpointer), gpointer data,
                                      double timeout_s);

G_END_DECLS
