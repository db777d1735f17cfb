/* SPDX-License-Identifier: MIT
 *
 * ns-scroll-guard.c: the wheel scrolls the panel over unfocused controls (see
 * ns-scroll-guard.h).  Each spin button and slider of the panel gets a scroll controller
 * in the capture phase: GTK runs it before the control's own (bubble-phase) one, on the
 * control GTK itself picked as the event's target.  Unless the control has the focus, it
 * scrolls the panel's adjustment by the step GtkScrolledWindow uses for a wheel click
 * (page^(2/3)) and stops the event there.
 */
#define G_LOG_DOMAIN "ns-scroll-guard"

#include "ns-scroll-guard.h"

#include <math.h>

static gboolean
scroll_cb (GtkEventControllerScroll *controller, double dx, double dy,
           GtkScrolledWindow *scrolled)
{
  GtkWidget *control = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (controller));
  GtkRoot *root = gtk_widget_get_root (control);
  GtkWidget *focus = root != NULL ? gtk_root_get_focus (root) : NULL;
  GtkAdjustment *adj;
  double step;

  if (focus != NULL && (focus == control || gtk_widget_is_ancestor (focus, control)))
    return FALSE;                /* the control is being edited: it takes the wheel */
  adj = gtk_scrolled_window_get_vadjustment (scrolled);
  step = gtk_event_controller_scroll_get_unit (controller) == GDK_SCROLL_UNIT_WHEEL
           ? pow (gtk_adjustment_get_page_size (adj), 2.0 / 3.0)
           : 1.0;
  gtk_adjustment_set_value (adj, gtk_adjustment_get_value (adj) + dy * step);
  return TRUE;
}

static void
guard_controls (GtkWidget *widget, GtkScrolledWindow *scrolled)
{
  if (GTK_IS_SPIN_BUTTON (widget) || GTK_IS_RANGE (widget))
    {
      GtkEventController *controller =
        gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);

      gtk_event_controller_set_propagation_phase (controller, GTK_PHASE_CAPTURE);
      gtk_event_controller_set_name (controller, "ns-scroll-guard");
      /* the scrolled window holds the control: it outlives the controller */
      g_signal_connect (controller, "scroll", G_CALLBACK (scroll_cb), scrolled);
      gtk_widget_add_controller (widget, controller);
      return;
    }
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    guard_controls (c, scrolled);
}

void
ns_scroll_guard_install (GtkScrolledWindow *scrolled)
{
  g_return_if_fail (GTK_IS_SCROLLED_WINDOW (scrolled));
  guard_controls (GTK_WIDGET (scrolled), scrolled);
}
