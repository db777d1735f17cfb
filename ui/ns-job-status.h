/* SPDX-License-Identifier: MIT
 *
 * ns-job-status.h: the AI job of a window (Run Model or fine-tuning) as a progress bar
 * with its text ("Run Model: 45 of 155 slices") and a Cancel button, bound to an
 * NsAiController; hidden while no job runs.  The window puts one in its status bar, where
 * it is visible at any window size, and one in the sidebar's model panel.
 */
#pragma once

#include <gtk/gtk.h>

#include "ns-ai-controller.h"

G_BEGIN_DECLS

#define NS_TYPE_JOB_STATUS (ns_job_status_get_type ())

G_DECLARE_FINAL_TYPE (NsJobStatus, ns_job_status, NS, JOB_STATUS, GtkBox)

GtkWidget      *ns_job_status_new            (NsAiController *controller);
NsAiController *ns_job_status_get_controller (NsJobStatus *self);
void            ns_job_status_set_controller (NsJobStatus *self, NsAiController *controller);
/* The text on the bar (NULL while hidden). */
const char     *ns_job_status_get_text       (NsJobStatus *self);
double          ns_job_status_get_fraction   (NsJobStatus *self);

G_END_DECLS
