/* SPDX-License-Identifier: MIT
 *
 * ns-label-ops.c: the cleanup tools (see ns-label-ops.h).
 *
 * The shape operations (margin, smoothing) work on the label's bounding box grown by what
 * the operation can reach, never on the whole volume: a tumour is a few per cent of a
 * BraTS volume.  Inside the box the label is a binary mask; erosion and dilation by a
 * ball of r mm are thresholds of an exact Euclidean distance transform (anisotropic
 * spacing in mm), and the result is written back voxel by voxel through the paint rule.
 * Every pass visits voxels in increasing ns_grid_index() order, so a change is gathered
 * already sorted.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-label-ops.h"

#include <math.h>
#include <string.h>

#include "ns-components.h"
#include "ns-labels.h"
#include "ns-metrics.h"
#include "ns-normalize.h"

/* A distance compared with a radius: exact on the grid up to rounding of the spacings. */
#define DIST_EPS 1e-9

static const char *
map_name (const NsLabelMap *map)
{
  return map->path != NULL ? map->path : "label map";
}

static gboolean
check_inputs (const NsLabelMap *map, const NsVolume *image, gboolean need_image,
              GError **error)
{
  if (ns_grid_n_voxels (&map->grid) > G_MAXUINT32)
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID,
                   "%s: label map too large to edit (more than 2^32 voxels)", map_name (map));
      return FALSE;
    }
  if (need_image && image == NULL)
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID,
                   "%s: this operation needs the image", map_name (map));
      return FALSE;
    }
  if (image != NULL && memcmp (image->grid.dim, map->grid.dim, sizeof map->grid.dim) != 0)
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID,
                   "%s: label map is %dx%dx%d, image %s is %dx%dx%d", map_name (map),
                   map->grid.dim[0], map->grid.dim[1], map->grid.dim[2],
                   image->path != NULL ? image->path : "(memory)", image->grid.dim[0],
                   image->grid.dim[1], image->grid.dim[2]);
      return FALSE;
    }
  return TRUE;
}

/* ---- changes gathered in index order ------------------------------------------------------ */

typedef struct
{
  GArray *index;  /* guint32, ascending */
  GArray *old;    /* guint8 */
  GArray *new;    /* guint8 */
} Gather;

static void
gather_init (Gather *g)
{
  g->index = g_array_new (FALSE, FALSE, sizeof (guint32));
  g->old = g_array_new (FALSE, FALSE, sizeof (guint8));
  g->new = g_array_new (FALSE, FALSE, sizeof (guint8));
}

/* Writes value at idx (which must be above every index set before) and records it. */
static inline void
gather_set (Gather *g, guint8 *labels, gsize idx, guint8 value)
{
  guint32 i32 = (guint32) idx;
  g_array_append_val (g->index, i32);
  g_array_append_val (g->old, labels[idx]);
  g_array_append_val (g->new, value);
  labels[idx] = value;
}

static NsEditChange *
gather_finish (Gather *g, const NsLabelMap *map, const char *name)
{
  NsEditChange *change =
    ns_edit_change_new_from_arrays (name, g_get_real_time (), ns_grid_n_voxels (&map->grid),
                                    g->index->len, (const guint32 *) g->index->data,
                                    (const guint8 *) g->old->data,
                                    (const guint8 *) g->new->data);
  g_array_unref (g->index);
  g_array_unref (g->old);
  g_array_unref (g->new);
  g_assert (change != NULL); /* indices were appended in increasing order */
  return change;
}

static NsEditChange *
empty_change (const NsLabelMap *map, const char *name)
{
  Gather g;
  gather_init (&g);
  return gather_finish (&g, map, name);
}

static inline float
intensity_at (const NsVolume *image, gsize idx)
{
  return image != NULL ? ns_volume_get_value (image, idx) : 0.0f;
}

static int
compare_u32 (gconstpointer a, gconstpointer b)
{
  guint32 x = *(const guint32 *) a, y = *(const guint32 *) b;
  return x < y ? -1 : x > y;
}

/* ---- regions ------------------------------------------------------------------------------ */

guint8 *
ns_label_ops_dup_region (const NsLabelMap *map, const NsVolume *image, NsOperandKind kind,
                         guint8 label, gsize *n_inside, GError **error)
{
  g_return_val_if_fail (map != NULL, NULL);
  if (!check_inputs (map, image, kind == NS_OPERAND_BRAIN, error))
    return NULL;
  gsize n = ns_grid_n_voxels (&map->grid), count = 0;
  guint8 *mask = g_new0 (guint8, MAX (n, 1));
  if (kind == NS_OPERAND_BRAIN)
    {
      g_autoptr (NsLabelMap) brain = ns_normalize_brain_mask (image, error);
      if (brain == NULL)
        {
          g_free (mask);
          return NULL;
        }
      memcpy (mask, brain->labels, n);
    }
  else
    {
      guint8 member[256] = { 0 };
      for (guint v = 0; v < 256; v++)
        switch (kind)
          {
          case NS_OPERAND_LABEL:
            member[v] = v == label;
            break;
          case NS_OPERAND_WT:
            member[v] = ns_region_contains (NS_REGION_WT, (guint8) v);
            break;
          case NS_OPERAND_TC:
            member[v] = ns_region_contains (NS_REGION_TC, (guint8) v);
            break;
          case NS_OPERAND_ET:
            member[v] = ns_region_contains (NS_REGION_ET, (guint8) v);
            break;
          case NS_OPERAND_ALL:
            member[v] = 1;
            break;
          case NS_OPERAND_BRAIN:
          default:
            g_assert_not_reached ();
          }
      for (gsize i = 0; i < n; i++)
        mask[i] = member[map->labels[i]];
    }
  for (gsize i = 0; i < n; i++)
    count += mask[i] != 0;
  if (n_inside != NULL)
    *n_inside = count;
  return mask;
}

/* ---- threshold ---------------------------------------------------------------------------- */

gboolean
ns_label_ops_otsu (const NsVolume *image, const guint8 *region, double *threshold,
                   GError **error)
{
  enum { N_BINS = 256 };
  g_return_val_if_fail (image != NULL && threshold != NULL, FALSE);
  const char *path = image->path != NULL ? image->path : "(memory)";
  gsize n = ns_grid_n_voxels (&image->grid), count = 0;
  double lo = INFINITY, hi = -INFINITY;
  for (gsize i = 0; i < n; i++)
    if (region == NULL || region[i])
      {
        lo = MIN (lo, ns_volume_get_value (image, i));
        hi = MAX (hi, ns_volume_get_value (image, i));
        count++;
      }
  if (count == 0)
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID,
                   "%s: the region for Otsu's threshold is empty", path);
      return FALSE;
    }
  if (!(hi > lo))
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID,
                   "%s: the image is constant (%g) in the region: no threshold separates it",
                   path, lo);
      return FALSE;
    }
  double hist[N_BINS] = { 0 };
  double width = (hi - lo) / N_BINS;
  for (gsize i = 0; i < n; i++)
    if (region == NULL || region[i])
      {
        int b = (int) ((ns_volume_get_value (image, i) - lo) / width);
        hist[CLAMP (b, 0, N_BINS - 1)] += 1;
      }
  /* Between-class variance w0 w1 (m0 - m1)^2 of the split below bin t, t = 1 .. 255; bin
   * centres as values.  A plateau of maxima (empty bins between two peaks) is resolved to
   * its middle, so two flat intensities split half way between them. */
  double total = 0, sum_all = 0;
  for (int b = 0; b < N_BINS; b++)
    {
      total += hist[b];
      sum_all += hist[b] * (b + 0.5);
    }
  double w0 = 0, sum0 = 0, best = -1;
  int best_first = 1, best_last = 1;
  for (int t = 1; t < N_BINS; t++)
    {
      w0 += hist[t - 1];
      sum0 += hist[t - 1] * (t - 0.5);
      double w1 = total - w0;
      if (w0 == 0 || w1 == 0)
        continue;
      double m0 = sum0 / w0, m1 = (sum_all - sum0) / w1;
      double var = w0 * w1 * (m0 - m1) * (m0 - m1);
      if (var > best * (1 + 1e-12))
        {
          best = var;
          best_first = best_last = t;
        }
      else if (var >= best * (1 - 1e-12))
        best_last = t;
    }
  *threshold = lo + width * 0.5 * (best_first + best_last);
  return TRUE;
}

NsEditChange *
ns_label_ops_threshold (NsLabelMap *map, const NsVolume *image, const guint8 *region,
                        double lo, double hi, const NsPaintRule *rule, GError **error)
{
  g_return_val_if_fail (map != NULL && rule != NULL, NULL);
  if (!check_inputs (map, image, TRUE, error))
    return NULL;
  gsize n = ns_grid_n_voxels (&map->grid);
  guint8 *labels = map->labels;
  Gather g;
  gather_init (&g);
  for (gsize i = 0; i < n; i++)
    {
      float v = ns_volume_get_value (image, i);
      if ((region == NULL || region[i]) && v >= lo && v <= hi
          && ns_paint_rule_allows (rule, labels[i], v))
        gather_set (&g, labels, i, rule->label);
    }
  return gather_finish (&g, map, "Threshold");
}

/* ---- boxes and binary morphology ---------------------------------------------------------- */

typedef struct
{
  int lo[3];     /* first voxel of the box in the map */
  int dim[3];
  gsize n;
} Box;

/* The bounding box of label's voxels grown by pad[a] voxels (clamped to the grid); FALSE
 * when the label has no voxel. */
static gboolean
label_box (const NsLabelMap *map, guint8 label, const int pad[3], Box *box)
{
  const NsGrid *grid = &map->grid;
  int mn[3] = { G_MAXINT, G_MAXINT, G_MAXINT }, mx[3] = { -1, -1, -1 };
  gsize idx = 0;
  for (int k = 0; k < grid->dim[2]; k++)
    for (int j = 0; j < grid->dim[1]; j++)
      for (int i = 0; i < grid->dim[0]; i++, idx++)
        if (map->labels[idx] == label)
          {
            int c[3] = { i, j, k };
            for (int a = 0; a < 3; a++)
              {
                mn[a] = MIN (mn[a], c[a]);
                mx[a] = MAX (mx[a], c[a]);
              }
          }
  if (mx[0] < 0)
    return FALSE;
  box->n = 1;
  for (int a = 0; a < 3; a++)
    {
      int lo = MAX (0, mn[a] - pad[a]), hi = MIN (grid->dim[a] - 1, mx[a] + pad[a]);
      box->lo[a] = lo;
      box->dim[a] = hi - lo + 1;
      box->n *= (gsize) box->dim[a];
    }
  return TRUE;
}

static inline gsize
box_map_index (const NsGrid *grid, const Box *box, int i, int j, int k)
{
  return ns_grid_index (grid, box->lo[0] + i, box->lo[1] + j, box->lo[2] + k);
}

static guint8 *
box_mask (const NsLabelMap *map, const Box *box, guint8 label)
{
  guint8 *mask = g_new (guint8, box->n);
  gsize b = 0;
  for (int k = 0; k < box->dim[2]; k++)
    for (int j = 0; j < box->dim[1]; j++)
      for (int i = 0; i < box->dim[0]; i++, b++)
        mask[b] = map->labels[box_map_index (&map->grid, box, i, j, k)] == label;
  return mask;
}

/* pad voxels along each axis that a ball of r mm reaches, plus one (a ring outside). */
static void
ball_pad (const NsGrid *grid, double r, int times, int pad[3])
{
  for (int a = 0; a < 3; a++)
    pad[a] = times * (int) ceil (r / grid->spacing[a] - DIST_EPS) + 1;
}

/* out = the voxels within r mm of mask (dilation by a ball). */
static gboolean
dilate (const guint8 *mask, const Box *box, const double spacing[3], double r, guint8 *out,
        GError **error)
{
  g_autofree double *d = g_new (double, box->n);
  if (!ns_metrics_distance_transform_sq (mask, box->dim, spacing, d, error))
    return FALSE;
  double r2 = r * r + DIST_EPS;
  for (gsize i = 0; i < box->n; i++)
    out[i] = d[i] <= r2;
  return TRUE;
}

/* out = the voxels of mask farther than r mm from every voxel outside it (erosion). */
static gboolean
erode (const guint8 *mask, const Box *box, const double spacing[3], double r, guint8 *out,
       GError **error)
{
  g_autofree guint8 *outside = g_new (guint8, box->n);
  g_autofree double *d = g_new (double, box->n);
  for (gsize i = 0; i < box->n; i++)
    outside[i] = !mask[i];
  if (!ns_metrics_distance_transform_sq (outside, box->dim, spacing, d, error))
    return FALSE;
  double r2 = r * r + DIST_EPS;
  for (gsize i = 0; i < box->n; i++)
    out[i] = mask[i] && d[i] > r2;
  return TRUE;
}

/* Writes the new shape of label in box: gained voxels through the rule, lost ones cleared
 * unless the label is locked. */
static NsEditChange *
apply_shape (NsLabelMap *map, const NsVolume *image, const Box *box, const guint8 *shape,
             const NsPaintRule *rule, const char *name)
{
  guint8 *labels = map->labels;
  guint8 label = rule->label;
  gboolean may_clear = !rule->locked[label];
  Gather g;
  gather_init (&g);
  gsize b = 0;
  for (int k = 0; k < box->dim[2]; k++)
    for (int j = 0; j < box->dim[1]; j++)
      for (int i = 0; i < box->dim[0]; i++, b++)
        {
          gsize idx = box_map_index (&map->grid, box, i, j, k);
          guint8 old = labels[idx];
          if (shape[b] && ns_paint_rule_allows (rule, old, intensity_at (image, idx)))
            gather_set (&g, labels, idx, label);
          else if (!shape[b] && old == label && may_clear)
            gather_set (&g, labels, idx, 0);
        }
  return gather_finish (&g, map, name);
}

/* ---- margin ------------------------------------------------------------------------------- */

NsEditChange *
ns_label_ops_margin (NsLabelMap *map, const NsVolume *image, double margin_mm,
                     const NsPaintRule *rule, GError **error)
{
  g_return_val_if_fail (map != NULL && rule != NULL, NULL);
  if (!check_inputs (map, image, rule->intensity_limit, error))
    return NULL;
  g_autofree char *name = g_strdup_printf ("%s %g mm", margin_mm >= 0 ? "Grow" : "Shrink",
                                           fabs (margin_mm));
  if (!isfinite (margin_mm))
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID, "%s: margin %g mm is not a "
                   "number of mm", map_name (map), margin_mm);
      return NULL;
    }
  double r = fabs (margin_mm);
  int pad[3];
  Box box;
  ball_pad (&map->grid, margin_mm > 0 ? r : 0, 1, pad);
  if (r == 0 || rule->label == 0 || !label_box (map, rule->label, pad, &box)
      || (margin_mm < 0 && rule->locked[rule->label]))
    return empty_change (map, name);
  g_autofree guint8 *mask = box_mask (map, &box, rule->label);
  g_autofree guint8 *shape = g_new (guint8, box.n);
  if (!(margin_mm > 0 ? dilate : erode) (mask, &box, map->grid.spacing, r, shape, error))
    return NULL;
  return apply_shape (map, image, &box, shape, rule, name);
}

/* ---- smoothing ---------------------------------------------------------------------------- */

const char *
ns_smooth_method_to_string (NsSmoothMethod method)
{
  switch (method)
    {
    case NS_SMOOTH_MEDIAN:
      return "median";
    case NS_SMOOTH_OPEN_CLOSE:
      return "open-close";
    case NS_SMOOTH_GAUSSIAN:
      return "gaussian";
    default:
      g_return_val_if_reached (NULL);
    }
}

/* Majority of the ball of r mm (the binary median): in when more than half of the ball's
 * voxels are; voxels beyond the box count as outside. */
static void
median_ball (const guint8 *mask, const Box *box, const double spacing[3], double r,
             guint8 *out)
{
  g_autoptr (GArray) offs = g_array_new (FALSE, FALSE, sizeof (int[3]));
  int ext[3];
  for (int a = 0; a < 3; a++)
    ext[a] = (int) floor (r / spacing[a] + DIST_EPS);
  for (int dk = -ext[2]; dk <= ext[2]; dk++)
    for (int dj = -ext[1]; dj <= ext[1]; dj++)
      for (int di = -ext[0]; di <= ext[0]; di++)
        {
          double x = di * spacing[0], y = dj * spacing[1], z = dk * spacing[2];
          if (x * x + y * y + z * z <= r * r + DIST_EPS)
            {
              int o[3] = { di, dj, dk };
              g_array_append_val (offs, o);
            }
        }
  guint n_offs = offs->len;
  gsize b = 0;
  for (int k = 0; k < box->dim[2]; k++)
    for (int j = 0; j < box->dim[1]; j++)
      for (int i = 0; i < box->dim[0]; i++, b++)
        {
          guint count = 0;
          for (guint t = 0; t < n_offs; t++)
            {
              const int *o = &g_array_index (offs, int, 3 * t);
              int ii = i + o[0], jj = j + o[1], kk = k + o[2];
              if (ii >= 0 && ii < box->dim[0] && jj >= 0 && jj < box->dim[1] && kk >= 0
                  && kk < box->dim[2])
                count += mask[((gsize) kk * box->dim[1] + jj) * box->dim[0] + ii];
            }
          out[b] = 2 * count > n_offs;
        }
}

/* Separable Gaussian of sigma mm (truncated at 3 sigma, normalised) of the mask, kept
 * where >= 0.5: the boundary moves to where the blurred indicator crosses one half. */
static void
gaussian_shape (const guint8 *mask, const Box *box, const double spacing[3], double sigma,
                guint8 *out)
{
  g_autofree float *a = g_new (float, box->n);
  g_autofree float *tmp = g_new (float, box->n);
  for (gsize i = 0; i < box->n; i++)
    a[i] = mask[i];
  gsize stride[3] = { 1, (gsize) box->dim[0], (gsize) box->dim[0] * box->dim[1] };
  for (int ax = 0; ax < 3; ax++)
    {
      double s = sigma / spacing[ax];
      int rad = MAX (1, (int) ceil (3 * s));
      g_autofree double *w = g_new (double, 2 * rad + 1);
      double sum = 0;
      for (int t = -rad; t <= rad; t++)
        sum += w[t + rad] = exp (-0.5 * t * t / (s * s));
      for (int t = 0; t <= 2 * rad; t++)
        w[t] /= sum;
      int len = box->dim[ax];
      for (gsize i = 0; i < box->n; i++)
        {
          int c = (int) ((i / stride[ax]) % (gsize) len);
          double v = 0;
          for (int t = MAX (-rad, -c); t <= rad && c + t < len; t++)
            v += w[t + rad] * a[(gssize) i + (gssize) t * (gssize) stride[ax]];
          tmp[i] = (float) v;
        }
      float *swap = a;
      a = tmp;
      tmp = swap;
    }
  for (gsize i = 0; i < box->n; i++)
    out[i] = a[i] >= 0.5f;
}

NsEditChange *
ns_label_ops_smooth (NsLabelMap *map, const NsVolume *image, NsSmoothMethod method,
                     double strength_mm, const NsPaintRule *rule, GError **error)
{
  g_return_val_if_fail (map != NULL && rule != NULL, NULL);
  g_return_val_if_fail (method <= NS_SMOOTH_GAUSSIAN, NULL);
  if (!check_inputs (map, image, rule->intensity_limit, error))
    return NULL;
  if (!(strength_mm > 0) || !isfinite (strength_mm))
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID,
                   "%s: the smoothing strength must be more than 0 mm (got %g)",
                   map_name (map), strength_mm);
      return NULL;
    }
  g_autofree char *name = g_strdup_printf ("Smooth (%s %g mm)",
                                           ns_smooth_method_to_string (method), strength_mm);
  const double *sp = map->grid.spacing;
  int pad[3];
  switch (method)
    {
    case NS_SMOOTH_MEDIAN:
      ball_pad (&map->grid, strength_mm, 1, pad);
      break;
    case NS_SMOOTH_OPEN_CLOSE:
      ball_pad (&map->grid, strength_mm, 2, pad);
      break;
    case NS_SMOOTH_GAUSSIAN:
    default:
      ball_pad (&map->grid, 3 * strength_mm, 1, pad);
      break;
    }
  Box box;
  if (rule->label == 0 || !label_box (map, rule->label, pad, &box))
    return empty_change (map, name);
  g_autofree guint8 *mask = box_mask (map, &box, rule->label);
  g_autofree guint8 *shape = g_new (guint8, box.n);
  switch (method)
    {
    case NS_SMOOTH_MEDIAN:
      median_ball (mask, &box, sp, strength_mm, shape);
      break;
    case NS_SMOOTH_OPEN_CLOSE:
      {
        /* opening (erode, dilate) removes specks and spurs, closing (dilate, erode) then
         * fills holes and notches narrower than the ball */
        g_autofree guint8 *t = g_new (guint8, box.n);
        if (!erode (mask, &box, sp, strength_mm, t, error)
            || !dilate (t, &box, sp, strength_mm, shape, error)
            || !dilate (shape, &box, sp, strength_mm, t, error)
            || !erode (t, &box, sp, strength_mm, shape, error))
          return NULL;
      }
      break;
    case NS_SMOOTH_GAUSSIAN:
    default:
      gaussian_shape (mask, &box, sp, strength_mm, shape);
      break;
    }
  return apply_shape (map, image, &box, shape, rule, name);
}

/* ---- grow from seeds ---------------------------------------------------------------------- */

NsEditChange *
ns_label_ops_grow_from_seeds (NsLabelMap *map, const NsVolume *image, double k_sigma,
                              double max_mm, const NsPaintRule *rule, double *lo, double *hi,
                              GError **error)
{
  g_return_val_if_fail (map != NULL && rule != NULL, NULL);
  if (!check_inputs (map, image, TRUE, error))
    return NULL;
  if (!(k_sigma > 0) || !(max_mm > 0) || !isfinite (k_sigma) || !isfinite (max_mm))
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID,
                   "%s: growing needs a tolerance and a distance above 0 (got %g sigma, "
                   "%g mm)", map_name (map), k_sigma, max_mm);
      return NULL;
    }
  const char *name = "Grow from seeds";
  const NsGrid *grid = &map->grid;
  guint8 label = rule->label;
  int pad[3];
  Box box;
  ball_pad (grid, max_mm, 1, pad);
  if (label == 0 || !label_box (map, label, pad, &box))
    return empty_change (map, name);

  g_autofree guint8 *seeds = box_mask (map, &box, label);
  double sum = 0, sum2 = 0;
  gsize n_seeds = 0, b = 0;
  for (int k = 0; k < box.dim[2]; k++)
    for (int j = 0; j < box.dim[1]; j++)
      for (int i = 0; i < box.dim[0]; i++, b++)
        if (seeds[b])
          {
            double v = ns_volume_get_value (image, box_map_index (grid, &box, i, j, k));
            sum += v;
            sum2 += v * v;
            n_seeds++;
          }
  double mean = sum / n_seeds;
  double sd = sqrt (MAX (0.0, sum2 / n_seeds - mean * mean));
  double range_lo = mean - k_sigma * sd, range_hi = mean + k_sigma * sd;
  if (lo != NULL)
    *lo = range_lo;
  if (hi != NULL)
    *hi = range_hi;

  g_autofree guint8 *reach = g_new (guint8, box.n);
  if (!dilate (seeds, &box, grid->spacing, max_mm, reach, error))
    return NULL;
  /* Breadth-first from every seed; member: 0 not yet, 1 queued (in the grown region). */
  g_autofree guint8 *grown = g_memdup2 (seeds, box.n);
  g_autoptr (GArray) queue = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (gsize t = 0; t < box.n; t++)
    if (seeds[t])
      {
        guint32 t32 = (guint32) t;
        g_array_append_val (queue, t32);
      }
  int nx = box.dim[0], ny = box.dim[1], nz = box.dim[2];
  gsize sxy = (gsize) nx * ny;
  for (guint h = 0; h < queue->len; h++)
    {
      guint32 p = g_array_index (queue, guint32, h);
      guint32 nb[6];
      int m = ns_box_neighbours6 (p, nx, ny, nz, nb);
      for (int t = 0; t < m; t++)
        {
          guint32 q = nb[t];
          if (grown[q] || !reach[q])
            continue;
          int qi = q % nx, qj = (q / nx) % ny, qk = q / sxy;
          gsize idx = box_map_index (grid, &box, qi, qj, qk);
          float v = ns_volume_get_value (image, idx);
          if (v < range_lo || v > range_hi || !ns_paint_rule_allows (rule, map->labels[idx], v))
            continue;
          grown[q] = 1;
          g_array_append_val (queue, q);
        }
    }
  /* Only gains: the seeds are in grown, so nothing of the label is cleared. */
  for (gsize t = 0; t < box.n; t++)
    grown[t] = grown[t] && !seeds[t];
  Gather g;
  gather_init (&g);
  b = 0;
  for (int k = 0; k < box.dim[2]; k++)
    for (int j = 0; j < box.dim[1]; j++)
      for (int i = 0; i < box.dim[0]; i++, b++)
        if (grown[b])
          gather_set (&g, map->labels, box_map_index (grid, &box, i, j, k), label);
  return gather_finish (&g, map, name);
}

/* ---- islands ------------------------------------------------------------------------------ */

/* comp[v]: the 1-based 6-connected component of label's voxel v (0 elsewhere); sizes
 * (guint64) receives the size of each.  NULL with error when out of memory. */
static guint32 *
label_components (const NsLabelMap *map, guint8 label, GArray *sizes, GError **error)
{
  return ns_components_label (map->labels, map->grid.dim, label, sizes, error);
}

/* Clears the voxels of label whose component is not keep. */
static NsEditChange *
keep_component (NsLabelMap *map, const guint32 *comp, guint32 keep, const char *name)
{
  gsize n = ns_grid_n_voxels (&map->grid);
  Gather g;
  gather_init (&g);
  for (gsize i = 0; i < n; i++)
    if (comp[i] != 0 && comp[i] != keep)
      gather_set (&g, map->labels, i, 0);
  return gather_finish (&g, map, name);
}

NsEditChange *
ns_label_ops_keep_largest (NsLabelMap *map, const NsPaintRule *rule, GError **error)
{
  g_return_val_if_fail (map != NULL && rule != NULL, NULL);
  if (!check_inputs (map, NULL, FALSE, error))
    return NULL;
  const char *name = "Keep largest island";
  if (rule->label == 0 || rule->locked[rule->label])
    return empty_change (map, name);
  g_autoptr (GArray) sizes = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autofree guint32 *comp = label_components (map, rule->label, sizes, error);
  if (comp == NULL)
    return NULL;
  guint32 best = 0;
  for (guint c = 0; c < sizes->len; c++)
    if (best == 0 || g_array_index (sizes, guint64, c) > g_array_index (sizes, guint64, best - 1))
      best = c + 1;
  return keep_component (map, comp, best, name);
}

NsEditChange *
ns_label_ops_keep_island_at (NsLabelMap *map, const int ijk[3], const NsPaintRule *rule,
                             GError **error)
{
  g_return_val_if_fail (map != NULL && ijk != NULL && rule != NULL, NULL);
  if (!check_inputs (map, NULL, FALSE, error))
    return NULL;
  const char *name = "Keep island";
  guint8 label = ns_edit_pick (map, ijk);
  if (label == 0 || rule->locked[label])
    return empty_change (map, name);
  g_autoptr (GArray) sizes = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autofree guint32 *comp = label_components (map, label, sizes, error);
  if (comp == NULL)
    return NULL;
  guint32 keep = comp[ns_grid_index (&map->grid, ijk[0], ijk[1], ijk[2])];
  return keep_component (map, comp, keep, name);
}

NsEditChange *
ns_label_ops_split_islands (NsLabelMap *map, const guint8 taken[256], const NsPaintRule *rule,
                            GArray *new_values, GError **error)
{
  g_return_val_if_fail (map != NULL && rule != NULL, NULL);
  if (!check_inputs (map, NULL, FALSE, error))
    return NULL;
  const char *name = "Split islands";
  guint8 label = rule->label;
  if (label == 0 || rule->locked[label])
    return empty_change (map, name);
  g_autoptr (GArray) sizes = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autofree guint32 *comp = label_components (map, label, sizes, error);
  if (comp == NULL)
    return NULL;
  guint n_comp = sizes->len;
  if (n_comp < 2)
    return empty_change (map, name);

  /* Components by decreasing size (ties: first voxel first). */
  g_autofree guint32 *order = g_new (guint32, n_comp);
  for (guint c = 0; c < n_comp; c++)
    order[c] = c;
  for (guint c = 1; c < n_comp; c++) /* insertion sort: stable, and components are few */
    {
      guint32 x = order[c];
      guint d = c;
      while (d > 0 && g_array_index (sizes, guint64, order[d - 1])
                        < g_array_index (sizes, guint64, x))
        {
          order[d] = order[d - 1];
          d--;
        }
      order[d] = x;
    }
  gboolean used[256] = { FALSE };
  gsize n = ns_grid_n_voxels (&map->grid);
  for (gsize i = 0; i < n; i++)
    used[map->labels[i]] = TRUE;
  g_autofree guint8 *value_of = g_new0 (guint8, n_comp + 1);  /* by component id */
  guint v = 1;
  value_of[order[0] + 1] = label;
  for (guint c = 1; c < n_comp; c++)
    {
      while (v < 256 && (used[v] || (taken != NULL && taken[v])))
        v++;
      if (v >= 256)
        {
          g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_INVALID,
                       "%s: label %u has %u separate parts, but only %u label values are "
                       "free", map_name (map), label, n_comp, c - 1);
          return NULL;
        }
      value_of[order[c] + 1] = (guint8) v;
      if (new_values != NULL)
        {
          guint8 v8 = (guint8) v;
          g_array_append_val (new_values, v8);
        }
      v++;
    }
  Gather g;
  gather_init (&g);
  for (gsize i = 0; i < n; i++)
    if (comp[i] != 0 && value_of[comp[i]] != label)
      gather_set (&g, map->labels, i, value_of[comp[i]]);
  return gather_finish (&g, map, name);
}

/* ---- lasso and scissors ------------------------------------------------------------------- */

static int
compare_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

NsEditChange *
ns_label_ops_polygon (NsLabelMap *map, const NsVolume *image, int plane_axis,
                      const double *points, guint n, gboolean through, const NsPaintRule *rule,
                      GError **error)
{
  g_return_val_if_fail (map != NULL && rule != NULL && (points != NULL || n == 0), NULL);
  g_return_val_if_fail (plane_axis >= 0 && plane_axis < 3, NULL);
  if (!check_inputs (map, image, rule->intensity_limit, error))
    return NULL;
  const char *name = rule->label == 0 ? "Scissors" : "Lasso";
  const NsGrid *grid = &map->grid;
  int au = plane_axis == 0 ? 1 : 0, av = plane_axis == 2 ? 1 : 2;
  int nu = grid->dim[au], nv = grid->dim[av], ns = grid->dim[plane_axis];
  if (n < 3)
    return empty_change (map, name);
  int slice = (int) lround (points[plane_axis]);
  if (!through && (slice < 0 || slice >= ns))
    return empty_change (map, name);

  /* The outline's inside on the plane, by scanlines through the voxel centres: on row v the
   * edges crossing y = v (each counted for y in [min, max) so that a vertex on the row is
   * one crossing), sorted; centres between the 1st and 2nd, 3rd and 4th... are inside. */
  g_autofree guint8 *inside = g_new0 (guint8, (gsize) nu * nv);
  g_autofree double *xs = g_new (double, n);
  for (int v = 0; v < nv; v++)
    {
      guint m = 0;
      for (guint e = 0; e < n; e++)
        {
          const double *p0 = &points[3 * e], *p1 = &points[3 * ((e + 1) % n)];
          double x0 = p0[au], y0 = p0[av], x1 = p1[au], y1 = p1[av];
          if ((y0 <= v && v < y1) || (y1 <= v && v < y0))
            xs[m++] = x0 + (v - y0) * (x1 - x0) / (y1 - y0);
        }
      qsort (xs, m, sizeof (double), compare_double);
      for (guint t = 0; t + 1 < m; t += 2)
        for (int u = MAX (0, (int) ceil (xs[t])); u < nu && u < xs[t + 1]; u++)
          inside[(gsize) v * nu + u] = 1;
    }

  gsize stride[3] = { 1, (gsize) grid->dim[0], (gsize) grid->dim[0] * grid->dim[1] };
  g_autoptr (GArray) targets = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (int s = through ? 0 : slice; s <= (through ? ns - 1 : slice); s++)
    for (int v = 0; v < nv; v++)
      for (int u = 0; u < nu; u++)
        if (inside[(gsize) v * nu + u])
          {
            guint32 idx = (guint32) (s * stride[plane_axis] + u * stride[au] + v * stride[av]);
            g_array_append_val (targets, idx);
          }
  /* The loops above run in index order only for plane_axis 2: sort. */
  if (targets->len > 1)
    g_array_sort (targets, compare_u32);
  Gather g;
  gather_init (&g);
  for (guint t = 0; t < targets->len; t++)
    {
      guint32 idx = g_array_index (targets, guint32, t);
      if (ns_paint_rule_allows (rule, map->labels[idx], intensity_at (image, idx)))
        gather_set (&g, map->labels, idx, rule->label);
    }
  return gather_finish (&g, map, name);
}

/* ---- logical operations ------------------------------------------------------------------- */

const char *
ns_logic_op_to_string (NsLogicOp op)
{
  static const char *const names[] = { "copy", "add", "subtract", "intersect" };
  g_return_val_if_fail (op <= NS_LOGIC_INTERSECT, NULL);
  return names[op];
}

NsEditChange *
ns_label_ops_logical (NsLabelMap *map, const NsVolume *image, NsLogicOp op,
                      const guint8 *operand, const NsPaintRule *rule, GError **error)
{
  static const char *const history_names[] = { "Copy", "Add", "Subtract", "Intersect" };
  g_return_val_if_fail (map != NULL && operand != NULL && rule != NULL, NULL);
  g_return_val_if_fail (op <= NS_LOGIC_INTERSECT, NULL);
  if (!check_inputs (map, image, rule->intensity_limit, error))
    return NULL;
  gsize n = ns_grid_n_voxels (&map->grid);
  guint8 *labels = map->labels;
  guint8 label = rule->label;
  gboolean may_clear = !rule->locked[label] && label != 0;
  gboolean set_inside = op == NS_LOGIC_COPY || op == NS_LOGIC_ADD;
  gboolean clear_inside = op == NS_LOGIC_SUBTRACT;
  gboolean clear_outside = op == NS_LOGIC_COPY || op == NS_LOGIC_INTERSECT;
  Gather g;
  gather_init (&g);
  for (gsize i = 0; i < n; i++)
    {
      guint8 old = labels[i];
      if (operand[i])
        {
          if (set_inside && ns_paint_rule_allows (rule, old, intensity_at (image, i)))
            gather_set (&g, labels, i, label);
          else if (clear_inside && old == label && may_clear)
            gather_set (&g, labels, i, 0);
        }
      else if (clear_outside && old == label && may_clear)
        gather_set (&g, labels, i, 0);
    }
  return gather_finish (&g, map, history_names[op]);
}

/* ---- the fill guard ----------------------------------------------------------------------- */

gboolean
ns_label_ops_fill_exceeds (const NsEditChange *fill, const NsGrid *grid, int plane_axis,
                           const guint8 *brain, double max_fraction, char **reason)
{
  g_return_val_if_fail (fill != NULL && grid != NULL, FALSE);
  g_return_val_if_fail (plane_axis >= 0 && plane_axis < 3, FALSE);
  if (reason != NULL)
    *reason = NULL;
  gsize outside = 0;
  if (brain != NULL)
    for (gsize i = 0; i < fill->n; i++)
      outside += brain[fill->index[i]] == 0;
  gsize slice = ns_grid_n_voxels (grid) / MAX (grid->dim[plane_axis], 1);
  double fraction = slice > 0 ? (double) fill->n / slice : 0;
  /* A few background-valued voxels inside the brain (a dark spot) are not air. */
  if (outside > 0 && outside * 100 >= fill->n)
    {
      if (reason != NULL)
        *reason = g_strdup_printf ("The fill reaches outside the brain: %" G_GSIZE_FORMAT
                                   " of its %" G_GSIZE_FORMAT " voxels (%.0f %% of the "
                                   "slice) lie in the background", outside, fill->n,
                                   100 * fraction);
      return TRUE;
    }
  if (max_fraction <= 1 && fraction > max_fraction)
    {
      if (reason != NULL)
        *reason = g_strdup_printf ("The fill covers %.0f %% of the slice (%" G_GSIZE_FORMAT
                                   " voxels), more than %.0f %%", 100 * fraction, fill->n,
                                   100 * max_fraction);
      return TRUE;
    }
  return FALSE;
}
