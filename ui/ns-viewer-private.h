/* SPDX-License-Identifier: MIT
 *
 * ns-viewer-private.h: the prepared case an NsViewer shows, shared by ns-viewer.c's
 * loader, which builds it in a worker thread.
 */
#pragma once

#include "ns-viewer.h"

G_BEGIN_DECLS

typedef struct
{
  char *name;                    /* modality name as the case names it ("flair", ...) */
  NsVolume *volume;
  double auto_window, auto_level;
  double brain_window, brain_level;
  float min, max;
  double window, level;          /* current */
} NsViewerImage;

typedef struct
{
  NsCase *ncase;
  NsGrid grid;
  guint n_images;
  NsViewerImage images[NS_VIEWER_MAX_IMAGES];
  NsLabelMap *labels;            /* the case's, or the editor's (owned_labels), may be NULL */
  NsLabelMap *owned_labels;      /* a reference on labels when the editor set them */
  NsViewerVolumes volumes;
  double centre[3];              /* initial cursor: the tumour's centre, else the grid's */
} NsViewerCase;

/* Computes the statistics (windows, volumes, centre): call from any thread. */
NsViewerCase *_ns_viewer_case_new  (NsCase *ncase);
void          _ns_viewer_case_free (NsViewerCase *vcase);
/* Main thread: shows vcase (owned by the viewer from then on; NULL clears). */
void          _ns_viewer_take_case (NsViewer *self, NsViewerCase *vcase);

G_END_DECLS
