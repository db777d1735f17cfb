/* SPDX-License-Identifier: MIT
 *
 * ns-components.h: the 6-connected components of a label volume, the one implementation
 * behind the editor's island tools, the inference post-processing and the click placement
 * of interactive correction.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Select every voxel whose value is not 0 (instead of one value). */
#define NS_COMPONENTS_NONZERO (-1)

/* Labels the 6-connected components of the voxels v of a dim[0] x dim[1] x dim[2] volume
 * (x fastest) with values[v] == value, or values[v] != 0 for NS_COMPONENTS_NONZERO.
 * Returns an owned array of one id per voxel: 0 outside, components numbered from 1 in the
 * order of their first voxel; appends each component's size (guint64, id - 1 is its
 * index) to sizes.  NULL with error when the id array cannot be allocated. */
guint32 *ns_components_label (const guint8 *values, const int dim[3], int value, GArray *sizes,
                              GError **error);

G_END_DECLS
