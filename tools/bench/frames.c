/* SPDX-License-Identifier: MIT
 *
 * tools/bench/frames.c (ns-bench-frames CASE [N]): what one frame of the workbench costs
 * while the user drags the crosshair, under the renderer GSK_RENDERER names (or the one
 * the application picks).  Opens CASE in a window as the workbench does, then for N
 * frames (default 200) moves the 3-D cursor by one voxel in the axial plane at the start
 * of each frame, as a drag would: the three slice views redraw (two of them a new slice).
 * Per frame it times the frame clock from "update" (the move) to the end of "after-paint"
 * (layout, snapshot, the renderer's work and the buffer swap on this thread): the CPU time
 * the main loop spends on the frame, independent of the frame clock's pacing.  Prints the
 * median, 90th percentile and maximum, then the process's VmRSS and VmHWM.  A benchmark,
 * not a test: nothing is checked.
 */
#define G_LOG_DOMAIN "ns-bench-frames"

#include <gtk/gtk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns-application.h"
#include "ns-viewer.h"
#include "ns-window.h"

typedef struct
{
  NsViewer *viewer;
  double start[3];
  gint64 began;      /* monotonic µs of this frame's "update"; 0: none */
  GArray *times;     /* double ms per frame */
  guint n;
  gboolean done;
} Drag;

static void
update_cb (GdkFrameClock *clock, Drag *d)
{
  double voxel[3];
  int step = (int) d->times->len;

  /* a drag to and fro along a diagonal of the axial plane, 40 voxels each way */
  int along = step % 80 < 40 ? step % 80 : 80 - step % 80;
  voxel[0] = d->start[0] - 20 + along;
  voxel[1] = d->start[1] - 20 + along;
  voxel[2] = d->start[2];
  d->began = g_get_monotonic_time ();
  ns_viewer_set_cursor (d->viewer, voxel);
}

static void
after_paint_cb (GdkFrameClock *clock, Drag *d)
{
  if (d->began == 0)
    return;
  double ms = (double) (g_get_monotonic_time () - d->began) / 1000.0;
  d->began = 0;
  g_array_append_val (d->times, ms);
  if (d->times->len >= d->n)
    d->done = TRUE;
  else
    gdk_frame_clock_request_phase (clock, GDK_FRAME_CLOCK_PHASE_UPDATE);
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static long
status_kib (const char *key)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return -1;
  const char *line = strstr (text, key);
  return line != NULL ? atol (line + strlen (key)) : -1;
}

static void
iterate_until (gboolean *flag, double timeout_s)
{
  gint64 end = g_get_monotonic_time () + (gint64) (timeout_s * G_USEC_PER_SEC);
  while (!*flag && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
}

static void
loaded_cb (NsWindow *window, gboolean ok, gboolean *loaded)
{
  *loaded = TRUE;
  if (!ok)
    {
      g_printerr ("ns-bench-frames: %s\n", ns_window_get_load_error (window));
      exit (1);
    }
}

static gboolean
set_flag (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      g_printerr ("usage: ns-bench-frames CASE [N]\n");
      return 2;
    }
  g_setenv ("GTK_A11Y", "none", TRUE);
  gtk_init ();
  g_autoptr (NsApplication) app = ns_application_new ();
  g_application_set_flags (G_APPLICATION (app), G_APPLICATION_NON_UNIQUE);
  if (!g_application_register (G_APPLICATION (app), NULL, NULL))
    return 1;
  g_application_hold (G_APPLICATION (app));

  NsWindow *window = ns_window_new (GTK_APPLICATION (app));
  gboolean loaded = FALSE, settled = FALSE;
  const char *paths[] = { argv[1], NULL };
  g_signal_connect (window, "load-finished", G_CALLBACK (loaded_cb), &loaded);
  gtk_window_present (GTK_WINDOW (window));
  ns_window_open (window, paths);
  iterate_until (&loaded, 120);
  g_timeout_add (2000, set_flag, &settled);   /* the first frames after the load */
  iterate_until (&settled, 10);

  Drag d = { 0 };
  d.viewer = ns_window_get_viewer (window);
  d.times = g_array_new (FALSE, FALSE, sizeof (double));
  d.n = argc > 2 ? (guint) atoi (argv[2]) : 200;
  ns_viewer_get_cursor (d.viewer, d.start);
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (window));
  g_signal_connect (clock, "update", G_CALLBACK (update_cb), &d);
  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), &d);
  gint64 t0 = g_get_monotonic_time ();
  gdk_frame_clock_request_phase (clock, GDK_FRAME_CLOCK_PHASE_UPDATE);
  iterate_until (&d.done, 300);
  double wall = (double) (g_get_monotonic_time () - t0) / 1e6;
  g_signal_handlers_disconnect_by_data (clock, &d);

  GtkNative *native = GTK_NATIVE (window);
  GskRenderer *renderer = gtk_native_get_renderer (native);
  int w = gtk_widget_get_width (GTK_WIDGET (window));
  int h = gtk_widget_get_height (GTK_WIDGET (window));
  qsort (d.times->data, d.times->len, sizeof (double), compare_double);
  double *t = (double *) d.times->data;
  guint n = d.times->len;
  if (n == 0)
    {
      g_printerr ("ns-bench-frames: no frame was drawn\n");
      return 1;
    }
  printf ("%s, window %dx%d: %u frames of a crosshair drag in %.1f s: "
          "%.1f ms median, %.1f ms p90, %.1f ms max per frame; %ld MiB resident, %ld MiB peak\n",
          G_OBJECT_TYPE_NAME (renderer), w, h, n, wall, t[n / 2], t[(n * 9) / 10], t[n - 1],
          status_kib ("VmRSS:") / 1024, status_kib ("VmHWM:") / 1024);
  g_array_unref (d.times);
  gtk_window_destroy (GTK_WINDOW (window));
  g_application_release (G_APPLICATION (app));
  return 0;
}
