/* SPDX-License-Identifier: MIT
 *
 * ns-components.c: 6-connected component labelling (see ns-components.h).
 *
 * A breadth-first flood fill from each unlabelled selected voxel, with an explicit queue of
 * voxel indices (no recursion: a whole-brain component is millions of voxels).  Memory: one
 * guint32 id per voxel plus the queue of the largest component.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-components.h"

#include "ns-data-error.h"
#include "ns-volume.h"

static inline gboolean
selected (const guint8 *values, gsize v, int value)
{
  return value == NS_COMPONENTS_NONZERO ? values[v] != 0 : values[v] == value;
}

guint32 *
ns_components_label (const guint8 *values, const int dim[3], int value, GArray *sizes,
                     GError **error)
{
  g_return_val_if_fail (values != NULL && dim != NULL && sizes != NULL, NULL);
  g_return_val_if_fail (g_array_get_element_size (sizes) == sizeof (guint64), NULL);
  const int nx = dim[0], ny = dim[1], nz = dim[2];
  const gsize n = (gsize) nx * ny * nz;
  if (n > G_MAXUINT32)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "components: %zu voxels are more than 32-bit indices hold", (size_t) n);
      return NULL;
    }
  guint32 *comp = g_try_new0 (guint32, MAX (n, 1));
  if (comp == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "components: out of memory for the ids of %zu voxels", (size_t) n);
      return NULL;
    }
  g_autoptr (GArray) queue = g_array_new (FALSE, FALSE, sizeof (guint32));
  guint32 id = 0;
  for (gsize start = 0; start < n; start++)
    {
      if (comp[start] != 0 || !selected (values, start, value))
        continue;
      id++;
      g_array_set_size (queue, 0);
      guint32 s32 = (guint32) start;
      g_array_append_val (queue, s32);
      comp[start] = id;
      for (guint h = 0; h < queue->len; h++)
        {
          guint32 nb[6];
          int m = ns_box_neighbours6 (g_array_index (queue, guint32, h), nx, ny, nz, nb);
          for (int t = 0; t < m; t++)
            if (comp[nb[t]] == 0 && selected (values, nb[t], value))
              {
                comp[nb[t]] = id;
                g_array_append_val (queue, nb[t]);
              }
        }
      guint64 size = queue->len;
      g_array_append_val (sizes, size);
    }
  return comp;
}
