/* SPDX-License-Identifier: MIT
 *
 * ns-edit.c: the mask editing tools and the change records they return.
 *
 * A tool changes each voxel at most once per call (a voxel set to the paint label is
 * never allowed again by the same rule), so a change is gathered as (index, old) pairs
 * packed in one 64-bit key, sorted once at the end, and the new values read back from
 * the map.  Sorted indices make undo cache-friendly and the journal's records
 * deterministic.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-edit.h"

#include <math.h>
#include <string.h>

#include "ns-components.h"
#include "ns-metrics.h"

G_DEFINE_QUARK (ns-edit-error-quark, ns_edit_error)

/* ---- changes ------------------------------------------------------------------------------ */

static NsEditChange *
change_alloc (const char *name, gsize n, gsize n_voxels)
{
  NsEditChange *change = g_atomic_rc_box_new0 (NsEditChange);
  change->name = g_strdup (name != NULL ? name : "Edit");
  change->time = g_get_real_time ();
  change->n = n;
  change->n_voxels = n_voxels;
  change->index = g_new (guint32, MAX (n, 1));
  change->old_value = g_new (guint8, MAX (n, 1));
  change->new_value = g_new (guint8, MAX (n, 1));
  return change;
}

static void
change_clear (gpointer data)
{
  NsEditChange *change = data;
  g_free (change->name);
  g_free (change->index);
  g_free (change->old_value);
  g_free (change->new_value);
}

NsEditChange *
ns_edit_change_ref (NsEditChange *change)
{
  g_return_val_if_fail (change != NULL, NULL);
  return g_atomic_rc_box_acquire (change);
}

void
ns_edit_change_unref (NsEditChange *change)
{
  if (change != NULL)
    g_atomic_rc_box_release_full (change, change_clear);
}

gsize
ns_edit_change_size (const NsEditChange *change)
{
  g_return_val_if_fail (change != NULL, 0);
  return sizeof (NsEditChange) + strlen (change->name) + 1 + MAX (change->n, 1) * 6;
}

gboolean
ns_edit_change_apply (const NsEditChange *change, NsLabelMap *map, gboolean forward)
{
  g_return_val_if_fail (change != NULL && map != NULL, FALSE);
  if (ns_grid_n_voxels (&map->grid) != change->n_voxels)
    return FALSE;
  const guint8 *values = forward ? change->new_value : change->old_value;
  guint8 *labels = map->labels;
  const guint32 *index = change->index;
  for (gsize i = 0; i < change->n; i++)
    labels[index[i]] = values[i];
  return TRUE;
}

NsEditChange *
ns_edit_change_from_labels (const guint8 *before, const guint8 *after, gsize n_voxels,
                            const char *name)
{
  g_return_val_if_fail (before != NULL && after != NULL, NULL);
  g_return_val_if_fail (n_voxels <= G_MAXUINT32, NULL);
  gsize n = 0;
  for (gsize i = 0; i < n_voxels; i++)
    n += before[i] != after[i];
  NsEditChange *change = change_alloc (name, n, n_voxels);
  gsize w = 0;
  for (gsize i = 0; i < n_voxels; i++)
    if (before[i] != after[i])
      {
        change->index[w] = (guint32) i;
        change->old_value[w] = before[i];
        change->new_value[w] = after[i];
        w++;
      }
  return change;
}

NsEditChange *
ns_edit_replace_labels (NsLabelMap *map, const guint8 *labels, const char *name)
{
  g_return_val_if_fail (map != NULL && labels != NULL, NULL);
  gsize n_voxels = ns_grid_n_voxels (&map->grid);
  NsEditChange *change = ns_edit_change_from_labels (map->labels, labels, n_voxels, name);
  if (change != NULL)
    ns_edit_change_apply (change, map, TRUE);
  return change;
}

NsEditChange *
ns_edit_change_new_from_arrays (const char *name, gint64 time, gsize n_voxels, gsize n,
                                const guint32 *index, const guint8 *old_value,
                                const guint8 *new_value)
{
  for (gsize i = 0; i < n; i++)
    if (index[i] >= n_voxels || (i > 0 && index[i] <= index[i - 1]))
      return NULL;
  NsEditChange *change = change_alloc (name, n, n_voxels);
  change->time = time;
  if (n > 0)
    {
      memcpy (change->index, index, n * sizeof (guint32));
      memcpy (change->old_value, old_value, n);
      memcpy (change->new_value, new_value, n);
    }
  return change;
}

/* Collects (index, old) pairs as index << 8 | old, so one sort orders them by index. */
typedef struct
{
  GArray *keys;  /* guint64 */
} ChangeBuilder;

static void
builder_init (ChangeBuilder *b)
{
  b->keys = g_array_new (FALSE, FALSE, sizeof (guint64));
}

static inline void
builder_add (ChangeBuilder *b, gsize index, guint8 old)
{
  guint64 key = ((guint64) index << 8) | old;
  g_array_append_val (b->keys, key);
}

static int
compare_u64 (gconstpointer a, gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return x < y ? -1 : x > y;
}

/* Sorts, reads the new values from map, frees the builder. */
static NsEditChange *
builder_finish (ChangeBuilder *b, const NsLabelMap *map, const char *name)
{
  guint64 *keys = (guint64 *) b->keys->data;
  gsize n = b->keys->len;
  if (n > 1) /* an empty GArray has no data: qsort (NULL, 0) is undefined */
    qsort (keys, n, sizeof (guint64), compare_u64);
  NsEditChange *change = change_alloc (name, n, ns_grid_n_voxels (&map->grid));
  for (gsize i = 0; i < n; i++)
    {
      guint32 index = (guint32) (keys[i] >> 8);
      change->index[i] = index;
      change->old_value[i] = (guint8) (keys[i] & 0xff);
      change->new_value[i] = map->labels[index];
    }
  g_array_unref (b->keys);
  b->keys = NULL;
  return change;
}

static gboolean
check_map (const NsLabelMap *map, const NsVolume *image, gboolean need_image, GError **error)
{
  if (ns_grid_n_voxels (&map->grid) > G_MAXUINT32)
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID,
                   "%s: label map too large to edit (more than 2^32 voxels)",
                   map->path != NULL ? map->path : "label map");
      return FALSE;
    }
  if (need_image && image == NULL)
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID,
                   "%s: intensity limits need an image",
                   map->path != NULL ? map->path : "label map");
      return FALSE;
    }
  if (image != NULL && memcmp (image->grid.dim, map->grid.dim, sizeof map->grid.dim) != 0)
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID,
                   "%s: label map is %dx%dx%d, image %s is %dx%dx%d",
                   map->path != NULL ? map->path : "label map", map->grid.dim[0],
                   map->grid.dim[1], map->grid.dim[2],
                   image->path != NULL ? image->path : "(memory)", image->grid.dim[0],
                   image->grid.dim[1], image->grid.dim[2]);
      return FALSE;
    }
  return TRUE;
}

static inline gboolean
inside (const NsGrid *grid, const int ijk[3])
{
  return ijk[0] >= 0 && ijk[0] < grid->dim[0] && ijk[1] >= 0 && ijk[1] < grid->dim[1]
         && ijk[2] >= 0 && ijk[2] < grid->dim[2];
}

/* ---- paint rules -------------------------------------------------------------------------- */

void
ns_paint_rule_init (NsPaintRule *rule, guint8 label)
{
  g_return_if_fail (rule != NULL);
  memset (rule, 0, sizeof *rule);
  rule->label = label;
  rule->over = NS_PAINT_OVER_ALL;
}

gboolean
ns_paint_rule_set_intensity_from (NsPaintRule *rule, const NsVolume *image, const int ijk[3],
                                  double tolerance)
{
  g_return_val_if_fail (rule != NULL && image != NULL, FALSE);
  if (!inside (&image->grid, ijk))
    return FALSE;
  gsize index = ns_grid_index (&image->grid, ijk[0], ijk[1], ijk[2]);
  double v = ns_volume_get_value (image, index);
  rule->intensity_limit = TRUE;
  rule->lo = v - fabs (tolerance);
  rule->hi = v + fabs (tolerance);
  return TRUE;
}

/* ---- brush -------------------------------------------------------------------------------- */

GArray *
ns_brush_offsets (const NsBrush *brush, const NsGrid *grid)
{
  g_return_val_if_fail (brush != NULL && grid != NULL, NULL);
  GArray *offsets = g_array_new (FALSE, FALSE, sizeof (int) * 3);
  double r = MAX (brush->radius_mm, 0.0);
  int reach[3];
  for (int d = 0; d < 3; d++)
    reach[d] = d == brush->plane_axis ? 0 : (int) floor (r / grid->spacing[d] + 1e-9);
  /* A small relative slack so that a voxel exactly on the sphere is in whatever the
   * rounding of the spacing. */
  double r2 = r * r * (1.0 + 1e-9) + 1e-12;
  for (int dk = -reach[2]; dk <= reach[2]; dk++)
    for (int dj = -reach[1]; dj <= reach[1]; dj++)
      for (int di = -reach[0]; di <= reach[0]; di++)
        {
          if (brush->shape == NS_BRUSH_ROUND)
            {
              double x = di * grid->spacing[0], y = dj * grid->spacing[1];
              double z = dk * grid->spacing[2];
              if (x * x + y * y + z * z > r2 && (di | dj | dk) != 0)
                continue;
            }
          int o[3] = { di, dj, dk };
          g_array_append_vals (offsets, o, 1);
        }
  return offsets;
}

struct _NsEditStroke
{
  NsLabelMap *map;
  const NsVolume *image;
  NsPaintRule rule;
  NsBrush brush;
  char *name;
  GArray *offsets;            /* int[3] */
  ChangeBuilder changes;
  gboolean has_last;
  double last[3];             /* the previous point */
  int last_center[3];         /* the previous dab's voxel */
};

NsEditStroke *
ns_edit_stroke_begin (NsLabelMap *map, const NsVolume *image, const NsBrush *brush,
                      const NsPaintRule *rule, const char *name, GError **error)
{
  g_return_val_if_fail (map != NULL && brush != NULL && rule != NULL, NULL);
  g_return_val_if_fail (brush->plane_axis >= -1 && brush->plane_axis < 3, NULL);
  if (!check_map (map, image, rule->intensity_limit, error))
    return NULL;
  NsEditStroke *stroke = g_new0 (NsEditStroke, 1);
  stroke->map = ns_label_map_ref (map);
  stroke->image = image != NULL ? ns_volume_ref ((NsVolume *) image) : NULL;
  stroke->rule = *rule;
  stroke->brush = *brush;
  stroke->name = g_strdup (name != NULL ? name : (rule->label == 0 ? "Erase" : "Brush"));
  stroke->offsets = ns_brush_offsets (brush, &map->grid);
  builder_init (&stroke->changes);
  return stroke;
}

static gsize
stroke_dab (NsEditStroke *stroke, const int c[3], int bbox[6])
{
  const NsGrid *grid = &stroke->map->grid;
  guint8 *labels = stroke->map->labels;
  const NsVolume *image = stroke->image;
  const int *o = (const int *) stroke->offsets->data;
  gsize n = 0;
  for (guint t = 0; t < stroke->offsets->len; t++, o += 3)
    {
      int i = c[0] + o[0], j = c[1] + o[1], k = c[2] + o[2];
      if ((unsigned) i >= (unsigned) grid->dim[0] || (unsigned) j >= (unsigned) grid->dim[1]
          || (unsigned) k >= (unsigned) grid->dim[2])
        continue;
      gsize idx = ns_grid_index (grid, i, j, k);
      guint8 old = labels[idx];
      float value = image != NULL ? ns_volume_get_value (image, idx) : 0.0f;
      if (!ns_paint_rule_allows (&stroke->rule, old, value))
        continue;
      labels[idx] = stroke->rule.label;
      builder_add (&stroke->changes, idx, old);
      n++;
      if (bbox != NULL)
        {
          int ijk[3] = { i, j, k };
          for (int d = 0; d < 3; d++)
            {
              bbox[d] = MIN (bbox[d], ijk[d]);
              bbox[3 + d] = MAX (bbox[3 + d], ijk[d]);
            }
        }
    }
  return n;
}

gsize
ns_edit_stroke_add (NsEditStroke *stroke, const double voxel[3], int bbox[6])
{
  g_return_val_if_fail (stroke != NULL && voxel != NULL, 0);
  if (bbox != NULL)
    for (int d = 0; d < 3; d++)
      {
        bbox[d] = G_MAXINT;
        bbox[3 + d] = G_MININT;
      }
  for (int d = 0; d < 3; d++)
    if (!isfinite (voxel[d]) || fabs (voxel[d]) > 1e7)
      return 0;  /* a bogus pointer position: ignored, the stroke goes on from the last */
  double p0[3], p1[3];
  memcpy (p1, voxel, sizeof p1);
  memcpy (p0, stroke->has_last ? stroke->last : voxel, sizeof p0);
  /* Steps of at most half a voxel along every axis: successive dab centres are then the
   * same or neighbouring voxels (26-neighbourhood), so the dabs overlap. */
  double longest = 0.0;
  for (int d = 0; d < 3; d++)
    if (d != stroke->brush.plane_axis)
      longest = MAX (longest, fabs (p1[d] - p0[d]));
  /* A drag inside the grid needs at most 2 x the largest dim steps; a pointer far outside
   * gets coarser steps there rather than millions of dabs that paint nothing. */
  const int *dim = stroke->map->grid.dim;
  double max_steps = 4.0 * MAX (dim[0], MAX (dim[1], dim[2])) + 8;
  int n_steps = (int) MIN (ceil (longest / 0.5), max_steps);
  gsize n = 0;
  for (int s = stroke->has_last ? 1 : 0; s <= n_steps; s++)
    {
      double t = n_steps > 0 ? (double) s / n_steps : 1.0;
      int c[3];
      for (int d = 0; d < 3; d++)
        c[d] = (int) floor (p0[d] + (p1[d] - p0[d]) * t + 0.5);
      if (stroke->brush.plane_axis >= 0)
        c[stroke->brush.plane_axis] = (int) floor (p1[stroke->brush.plane_axis] + 0.5);
      if (stroke->has_last && memcmp (c, stroke->last_center, sizeof c) == 0)
        continue;
      n += stroke_dab (stroke, c, bbox);
      memcpy (stroke->last_center, c, sizeof c);
      stroke->has_last = TRUE;
    }
  memcpy (stroke->last, p1, sizeof p1);
  stroke->has_last = TRUE;
  return n;
}

static void
stroke_free (NsEditStroke *stroke)
{
  if (stroke->changes.keys != NULL)
    g_array_unref (stroke->changes.keys);
  g_array_unref (stroke->offsets);
  if (stroke->image != NULL)
    ns_volume_unref ((NsVolume *) stroke->image);
  ns_label_map_unref (stroke->map);
  g_free (stroke->name);
  g_free (stroke);
}

NsEditChange *
ns_edit_stroke_end (NsEditStroke *stroke)
{
  g_return_val_if_fail (stroke != NULL, NULL);
  NsEditChange *change = builder_finish (&stroke->changes, stroke->map, stroke->name);
  stroke_free (stroke);
  return change;
}

void
ns_edit_stroke_cancel (NsEditStroke *stroke)
{
  g_return_if_fail (stroke != NULL);
  NsLabelMap *map = ns_label_map_ref (stroke->map);
  g_autoptr (NsEditChange) change = ns_edit_stroke_end (stroke);
  ns_edit_change_apply (change, map, FALSE);
  ns_label_map_unref (map);
}

/* ---- picker and flood fill ---------------------------------------------------------------- */

guint8
ns_edit_pick (const NsLabelMap *map, const int ijk[3])
{
  g_return_val_if_fail (map != NULL && ijk != NULL, 0);
  if (!inside (&map->grid, ijk))
    return 0;
  return map->labels[ns_grid_index (&map->grid, ijk[0], ijk[1], ijk[2])];
}

/* The two in-plane voxel axes of a plane normal to axis, in increasing order. */
static void
plane_axes (int axis, int *u, int *v)
{
  *u = axis == 0 ? 1 : 0;
  *v = axis == 2 ? 1 : 2;
}

NsEditChange *
ns_edit_flood_fill_2d (NsLabelMap *map, const NsVolume *image, int plane_axis,
                       const int seed[3], NsFillBound bound, double lo, double hi,
                       const NsPaintRule *rule, GError **error)
{
  g_return_val_if_fail (map != NULL && seed != NULL && rule != NULL, NULL);
  g_return_val_if_fail (plane_axis >= 0 && plane_axis < 3, NULL);
  if (!check_map (map, image, rule->intensity_limit || bound == NS_FILL_BOUND_INTENSITY,
                  error))
    return NULL;
  const NsGrid *grid = &map->grid;
  ChangeBuilder b;
  builder_init (&b);
  if (!inside (grid, seed))
    return builder_finish (&b, map, "Fill");

  int au, av;
  plane_axes (plane_axis, &au, &av);
  int nu = grid->dim[au], nv = grid->dim[av];
  gsize stride[3] = { 1, (gsize) grid->dim[0], (gsize) grid->dim[0] * grid->dim[1] };
  gsize base = (gsize) seed[plane_axis] * stride[plane_axis];
  guint8 *labels = map->labels;
  const NsVolume *img = image;
  guint8 seed_label = labels[ns_grid_index (grid, seed[0], seed[1], seed[2])];

  /* Region membership is decided on the labels before painting: a snapshot of the slice. */
  g_autofree guint8 *member = g_new0 (guint8, (gsize) nu * nv);
  for (int v = 0; v < nv; v++)
    for (int u = 0; u < nu; u++)
      {
        gsize idx = base + (gsize) u * stride[au] + (gsize) v * stride[av];
        member[(gsize) v * nu + u] = bound == NS_FILL_BOUND_LABEL
                                       ? labels[idx] == seed_label
                                       : (ns_volume_get_value (img, idx) >= lo
                                          && ns_volume_get_value (img, idx) <= hi);
      }
  g_autoptr (GArray) stack = g_array_new (FALSE, FALSE, sizeof (guint32));
  guint32 start = (guint32) seed[av] * nu + seed[au];
  if (member[start])
    {
      member[start] = 2;
      g_array_append_val (stack, start);
    }
  while (stack->len > 0)
    {
      guint32 p = g_array_index (stack, guint32, stack->len - 1);
      g_array_set_size (stack, stack->len - 1);
      int u = p % nu, v = p / nu;
      gsize idx = base + (gsize) u * stride[au] + (gsize) v * stride[av];
      guint8 old = labels[idx];
      float value = img != NULL ? ns_volume_get_value (img, idx) : 0.0f;
      if (ns_paint_rule_allows (rule, old, value))
        {
          labels[idx] = rule->label;
          builder_add (&b, idx, old);
        }
      const int nb[4][2] = { { -1, 0 }, { 1, 0 }, { 0, -1 }, { 0, 1 } };
      for (int t = 0; t < 4; t++)
        {
          int uu = u + nb[t][0], vv = v + nb[t][1];
          if (uu < 0 || uu >= nu || vv < 0 || vv >= nv)
            continue;
          guint32 q = (guint32) vv * nu + uu;
          if (member[q] == 1)
            {
              member[q] = 2;
              g_array_append_val (stack, q);
            }
        }
    }
  return builder_finish (&b, map, "Fill");
}

/* ---- interpolation between slices --------------------------------------------------------- */

/* Signed distance (mm) of each pixel of a 2-D mask: distance to the nearest inside pixel
 * minus distance to the nearest outside pixel, so negative inside, positive outside, and
 * symmetric about the boundary.  A full or empty slice gets -/+ a large value. */
static gboolean
signed_distance_2d (const guint8 *mask, int nu, int nv, const double spacing[2], double *phi,
                    GError **error)
{
  gsize n = (gsize) nu * nv;
  int dims[3] = { nu, nv, 1 };
  double sp[3] = { spacing[0], spacing[1], 1.0 };
  g_autofree guint8 *outside = g_new (guint8, n);
  g_autofree double *d_out = g_new (double, n);
  for (gsize i = 0; i < n; i++)
    outside[i] = !mask[i];
  if (!ns_metrics_distance_transform_sq (mask, dims, sp, phi, error)
      || !ns_metrics_distance_transform_sq (outside, dims, sp, d_out, error))
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      double a = isfinite (phi[i]) ? sqrt (phi[i]) : 1e9;
      double b = isfinite (d_out[i]) ? sqrt (d_out[i]) : 1e9;
      phi[i] = a - b;
    }
  return TRUE;
}

NsEditChange *
ns_edit_interpolate_slices (NsLabelMap *map, const NsVolume *image, int plane_axis,
                            const NsPaintRule *rule, GError **error)
{
  g_return_val_if_fail (map != NULL && rule != NULL, NULL);
  g_return_val_if_fail (plane_axis >= 0 && plane_axis < 3, NULL);
  if (!check_map (map, image, rule->intensity_limit, error))
    return NULL;
  const NsGrid *grid = &map->grid;
  int au, av;
  plane_axes (plane_axis, &au, &av);
  int nu = grid->dim[au], nv = grid->dim[av], ns = grid->dim[plane_axis];
  gsize stride[3] = { 1, (gsize) grid->dim[0], (gsize) grid->dim[0] * grid->dim[1] };
  gsize npix = (gsize) nu * nv;
  double spacing[2] = { grid->spacing[au], grid->spacing[av] };
  guint8 label = rule->label;
  guint8 *labels = map->labels;
  const NsVolume *img = image;
  ChangeBuilder b;
  builder_init (&b);

  /* Which slices hold the label (snapshot: the interpolated ones must not count). */
  g_autofree gboolean *has = g_new0 (gboolean, ns);
  for (int s = 0; s < ns; s++)
    for (int v = 0; v < nv && !has[s]; v++)
      for (int u = 0; u < nu; u++)
        if (labels[s * stride[plane_axis] + u * stride[au] + v * stride[av]] == label)
          {
            has[s] = TRUE;
            break;
          }

  g_autofree guint8 *mask = g_new (guint8, npix);
  g_autofree double *phi0 = g_new (double, npix);
  g_autofree double *phi1 = g_new (double, npix);
  int prev = -1;
  for (int s = 0; s < ns; s++)
    {
      if (!has[s])
        continue;
      for (int v = 0; v < nv; v++)
        for (int u = 0; u < nu; u++)
          mask[(gsize) v * nu + u]
            = labels[s * stride[plane_axis] + u * stride[au] + v * stride[av]] == label;
      if (!signed_distance_2d (mask, nu, nv, spacing, phi1, error))
        {
          g_array_unref (b.keys);
          return NULL;
        }
      if (prev >= 0 && s - prev > 1)
        for (int t = prev + 1; t < s; t++)
          {
            double w = (double) (t - prev) / (s - prev);
            for (int v = 0; v < nv; v++)
              for (int u = 0; u < nu; u++)
                {
                  gsize p = (gsize) v * nu + u;
                  if ((1.0 - w) * phi0[p] + w * phi1[p] > 0.0)
                    continue;
                  gsize idx = t * stride[plane_axis] + u * stride[au] + v * stride[av];
                  guint8 old = labels[idx];
                  float value = img != NULL ? ns_volume_get_value (img, idx) : 0.0f;
                  if (ns_paint_rule_allows (rule, old, value))
                    {
                      labels[idx] = label;
                      builder_add (&b, idx, old);
                    }
                }
          }
      double *tmp = phi0;
      phi0 = phi1;
      phi1 = tmp;
      prev = s;
    }
  return builder_finish (&b, map, "Interpolate");
}

/* ---- islands ------------------------------------------------------------------------------ */

NsEditChange *
ns_edit_remove_islands (NsLabelMap *map, guint8 label, double min_ml, const NsPaintRule *rule,
                        GError **error)
{
  g_return_val_if_fail (map != NULL, NULL);
  if (!check_map (map, NULL, FALSE, error))
    return NULL;
  const NsGrid *grid = &map->grid;
  ChangeBuilder b;
  builder_init (&b);
  if (label == 0 || (rule != NULL && rule->locked[label]))
    return builder_finish (&b, map, "Remove islands");

  gsize n = ns_grid_n_voxels (grid);
  double voxel_ml = ns_grid_voxel_volume_ml (grid);
  guint8 *labels = map->labels;
  g_autoptr (GArray) sizes = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autofree guint32 *comp = ns_components_label (labels, grid->dim, label, sizes, error);
  if (comp == NULL)
    {
      g_array_unref (b.keys);
      return NULL;
    }
  for (gsize v = 0; v < n; v++)
    if (comp[v] != 0 && g_array_index (sizes, guint64, comp[v] - 1) * voxel_ml < min_ml)
      builder_add (&b, v, label);
  /* Write the zeros after the search, which needed the labels intact. */
  for (guint t = 0; t < b.keys->len; t++)
    labels[g_array_index (b.keys, guint64, t) >> 8] = 0;
  return builder_finish (&b, map, "Remove islands");
}
