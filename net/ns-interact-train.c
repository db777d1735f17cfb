/* SPDX-License-Identifier: MIT
 *
 * ns-interact-train.c: the training batches of an interactive model, made from the
 * segmentation batches of the dataset (ns-dataset.h) by simulated interaction.
 *
 * For each item (all draws a function of (seed, batch index, item), as the dataset's):
 *   1. the region: WT, TC or ET, uniformly; the target is that region of the slice;
 *   2. the starting mask:
 *        when the dataset carries starts (ns_dataset_set_starts: the automatic prediction
 *        of each training case by a model that did not train on it, out of fold), half
 *        the items start from that prediction's region: the errors a click has to fix on
 *        a new case, which the synthetic starts below only imitate;
 *      else (the other half, or always without starts) a mask standing in for the
 *      automatic prediction (the segmentation model is not run here: on the training
 *      cases it would be close to the truth, unlike on new cases):
 *        10 %  empty;
 *        25 %  (TC, ET) the neighbouring region: WT eroded or ET dilated for TC, TC eroded
 *              for ET (the core and the enhancing rim are what the model confuses);
 *        else, half the time, the target eroded or dilated by 0..4 pixels and shifted
 *              by up to 3 (a boundary error), the other half the target with a disc of
 *              radius 4..15 pixels cut out of it or added next to it (a missed part or a
 *              false one: the errors an automatic prediction makes on a new case, and the
 *              ones a click has to fix as a whole);
 *   3. 0..3 clicks of the simulated user against it (_ns_interact_next_click), each
 *      taking the part of the error it covers as fixed before the next one is placed;
 *   4. 0, 1 or 2 rounds (for the whole batch) of the model itself, without gradients:
 *      its prediction becomes the mask and one more click goes to its largest error
 *      (RITM's iterative training: the model learns to correct its own mistakes).
 * The input is then the image channels, the mask and the click maps; the label the
 * target (class 1 of the interactive model).  Items with no click and a perturbed mask
 * are what propagation to a neighbouring slice asks of the model.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-interact-private.h"
#include "ns-interact-train-private.h"

#include "ns-metrics.h"

#include <math.h>
#include <string.h>

static guint64
mix64 (guint64 z)
{
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static double
uniform (guint64 seed, guint64 batch, int item, int purpose)
{
  guint64 k = mix64 (mix64 (mix64 (mix64 (seed ^ 0x1a7e2ac7ULL) ^ batch) ^ (guint64) item)
                     ^ (guint64) purpose);
  return (k >> 11) * (1.0 / 9007199254740992.0);
}

enum { KEY_REGION, KEY_START, KEY_RADIUS, KEY_SHIFT_X, KEY_SHIFT_Y, KEY_CLICKS, KEY_ROUNDS,
       KEY_BLOB, KEY_BLOB_KIND, KEY_BLOB_AT, KEY_BLOB_RADIUS, KEY_PREDICTED };

/* Whether class index k (of the BraTS segmentation meta: 0, NCR/NET, edema, enhancing)
 * is in region r. */
static gboolean
class_in_region (int k, int r)
{
  switch (r)
    {
    case NS_REGION_WT:
      return k > 0;
    case NS_REGION_TC:
      return k == 1 || k == 3;
    default:
      return k == 3;
    }
}

/* m eroded (radius < 0) or dilated (> 0) by |radius| pixels, in place. */
static gboolean
morph (guint8 *m, int w, int h, int radius, GError **error)
{
  if (radius == 0)
    return TRUE;
  int dims[3] = { w, h, 1 };
  double sp[3] = { 1, 1, 1 };
  gsize n = (gsize) w * h;
  g_autofree guint8 *src = g_malloc (n);
  g_autofree double *d = g_new (double, n);
  for (gsize p = 0; p < n; p++)
    src[p] = radius > 0 ? m[p] : !m[p];
  if (!ns_metrics_distance_transform_sq (src, dims, sp, d, error))
    return FALSE;
  double r2 = (double) radius * radius;
  for (gsize p = 0; p < n; p++)
    m[p] = radius > 0 ? d[p] <= r2 : d[p] > r2;
  return TRUE;
}

static void
shift (guint8 *m, int w, int h, int dx, int dy)
{
  gsize n = (gsize) w * h;
  g_autofree guint8 *src = g_memdup2 (m, n);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        int sx = x - dx, sy = y - dy;
        m[(gsize) y * w + x] = sx >= 0 && sy >= 0 && sx < w && sy < h
                               ? src[(gsize) sy * w + sx] : 0;
      }
}

/* A disc of radius `radius` around the `at`-th (of the 0..1 range) pixel where cand is
 * set, written into m as `value`; nothing when cand is empty. */
static void
blob (guint8 *m, const guint8 *cand, int w, int h, double at, int radius, guint8 value)
{
  gsize n = (gsize) w * h, count = 0;
  for (gsize p = 0; p < n; p++)
    count += cand[p] != 0;
  if (count == 0)
    return;
  gsize k = MIN ((gsize) (at * count), count - 1), centre = 0;
  for (gsize p = 0; p < n; p++)
    if (cand[p] && k-- == 0)
      {
        centre = p;
        break;
      }
  int cx = (int) (centre % w), cy = (int) (centre / w);
  for (int y = MAX (cy - radius, 0); y <= MIN (cy + radius, h - 1); y++)
    for (int x = MAX (cx - radius, 0); x <= MIN (cx + radius, w - 1); x++)
      if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= radius * radius)
        m[(gsize) y * w + x] = value;
}

typedef struct
{
  guint8 *target;   /* (h, w) */
  guint8 *prior;    /* (h, w) the mask the model sees */
  GArray *clicks;   /* NsClick on axis 2, slice 0 */
} Item;

/* One click of the simulated user against `pred`; the error it covers counts as fixed
 * in `pred` (for placing the next one).  FALSE in *placed when pred is right. */
static gboolean
user_click (Item *it, guint8 *pred, int w, int h, gboolean fix, gboolean *placed,
            GError **error)
{
  int dims[3] = { w, h, 1 };
  double sp[3] = { 1, 1, 1 };
  NsClick c;
  NsGrid grid;

  GError *local = NULL;

  *placed = FALSE;
  if (!_ns_interact_next_click (pred, it->target, dims, sp, 2, &c, &local))
    {
      if (local == NULL)
        return TRUE;    /* nothing left to correct */
      g_propagate_error (error, local);
      return FALSE;
    }
  g_array_append_val (it->clicks, c);
  *placed = TRUE;
  if (fix)
    {
      g_autofree guint8 *disc = g_malloc0 ((gsize) w * h);
      ns_grid_init (&grid, w, h, 1, 1, 1, 1);
      ns_interact_draw_clicks (&grid, &c, 1, 2, 0, disc, disc);
      for (gsize p = 0; p < (gsize) w * h; p++)
        if (disc[p])
          pred[p] = it->target[p];
    }
  return TRUE;
}

static gboolean
start_item (Item *it, const float *classes, const float *predicted, int w, int h, guint64 seed,
            guint64 index, int b, GError **error)
{
  gsize n = (gsize) w * h;
  int r = MIN ((int) (uniform (seed, index, b, KEY_REGION) * 3), 2);
  double start = uniform (seed, index, b, KEY_START);
  int radius = (int) floor (uniform (seed, index, b, KEY_RADIUS) * 9) - 4;

  for (gsize p = 0; p < n; p++)
    it->target[p] = class_in_region ((int) classes[p], r);
  if (predicted != NULL && uniform (seed, index, b, KEY_PREDICTED) < 0.5)
    for (gsize p = 0; p < n; p++)
      it->prior[p] = class_in_region ((int) predicted[p], r);
  else if (start < 0.10)
    memset (it->prior, 0, n);
  else if (start < 0.35 && r != NS_REGION_WT)
    {
      /* the neighbouring region: TC from WT eroded or ET dilated, ET from TC eroded */
      int other = r == NS_REGION_ET ? NS_REGION_TC
                  : radius < 0 ? NS_REGION_WT : NS_REGION_ET;
      for (gsize p = 0; p < n; p++)
        it->prior[p] = class_in_region ((int) classes[p], other);
      int rad = other == NS_REGION_ET ? ABS (radius) / 2 + 1 : -(ABS (radius) / 2 + 1);
      if (!morph (it->prior, w, h, rad, error))
        return FALSE;
    }
  else if (uniform (seed, index, b, KEY_BLOB) < 0.5)
    {
      /* a missed part (a disc cut out around a pixel of the target) or a false one (a disc
       * added around a pixel within 12 pixels of the target, outside it) */
      int r_blob = 4 + MIN ((int) (uniform (seed, index, b, KEY_BLOB_RADIUS) * 12), 11);
      double at = uniform (seed, index, b, KEY_BLOB_AT);
      memcpy (it->prior, it->target, n);
      if (uniform (seed, index, b, KEY_BLOB_KIND) < 0.5)
        blob (it->prior, it->target, w, h, at, r_blob, 0);
      else
        {
          g_autofree guint8 *band = g_memdup2 (it->target, n);
          if (!morph (band, w, h, 12, error))
            return FALSE;
          for (gsize p = 0; p < n; p++)
            band[p] = band[p] && !it->target[p];
          blob (it->prior, band, w, h, at, r_blob, 1);
        }
    }
  else
    {
      memcpy (it->prior, it->target, n);
      if (!morph (it->prior, w, h, radius, error))
        return FALSE;
      shift (it->prior, w, h, (int) floor (uniform (seed, index, b, KEY_SHIFT_X) * 7) - 3,
             (int) floor (uniform (seed, index, b, KEY_SHIFT_Y) * 7) - 3);
    }

  double u = uniform (seed, index, b, KEY_CLICKS);
  int n_clicks = u < 0.25 ? 0 : u < 0.60 ? 1 : u < 0.85 ? 2 : 3;
  g_autofree guint8 *fixed = g_memdup2 (it->prior, n);
  for (int c = 0; c < n_clicks; c++)
    {
      gboolean placed;
      if (!user_click (it, fixed, w, h, TRUE, &placed, error))
        return FALSE;
      if (!placed)
        break;
    }
  return TRUE;
}

gboolean
_ns_interact_train_start (const float *classes, const float *predicted, int w, int h,
                          guint64 seed, guint64 index, int b, guint8 *target, guint8 *prior,
                          GArray *clicks, GError **error)
{
  Item it = { target, prior, clicks };
  return start_item (&it, classes, predicted, w, h, seed, index, b, error);
}

void
_ns_interact_train_pack (float *out, int n_image, const float *const *image, int w, int h,
                         const guint8 *prior, const NsClick *clicks, int n_clicks)
{
  gsize hw = (gsize) w * h;
  g_autofree guint8 *pos = g_malloc (hw), *neg = g_malloc (hw);
  NsGrid grid;

  ns_grid_init (&grid, w, h, 1, 1, 1, 1);
  ns_interact_draw_clicks (&grid, clicks, n_clicks, 2, 0, pos, neg);
  _ns_interact_pack (out, n_image, image, prior, pos, neg, w, h, 0, 0, w, h);
}

/* Packs item b of the batch into out (C + 3 channels). */
static void
pack_item (float *out, const NsBatch *batch, int b, const Item *it)
{
  gsize hw = (gsize) batch->w * batch->h;
  const float *image[64];

  for (int c = 0; c < batch->c; c++)
    image[c] = batch->images + ((gsize) b * batch->c + c) * hw;
  _ns_interact_train_pack (out, batch->c, image, batch->w, batch->h, it->prior,
                           (const NsClick *) it->clicks->data, it->clicks->len);
}

gboolean
_ns_interact_make_batch (NsModel *model, const NsBatch *batch, guint64 seed, float *images,
                         float *labels, GError **error)
{
  int B = batch->n, w = batch->w, h = batch->h, C = batch->c;
  gsize hw = (gsize) w * h, item = hw * (C + NS_INTERACT_N_CHANNELS);
  g_autofree Item *items = g_new0 (Item, B);
  gboolean ok = TRUE;

  g_return_val_if_fail (C <= 64, FALSE);
  for (int b = 0; b < B; b++)
    {
      items[b].target = g_malloc (hw);
      items[b].prior = g_malloc (hw);
      items[b].clicks = g_array_new (FALSE, FALSE, sizeof (NsClick));
    }
  for (int b = 0; ok && b < B; b++)
    ok = start_item (&items[b], batch->labels + b * hw,
                     batch->starts != NULL ? batch->starts + b * hw : NULL, w, h, seed,
                     batch->index, b, error);

  double u = uniform (seed, batch->index, 0, KEY_ROUNDS);
  int rounds = u < 0.4 ? 0 : u < 0.7 ? 1 : 2;
  g_autofree guint8 *pred = ok && rounds > 0 ? g_malloc (hw * B) : NULL;
  for (int round = 0; ok && round < rounds; round++)
    {
      for (int b = 0; b < B; b++)
        pack_item (images + b * item, batch, b, &items[b]);
      ok = _ns_interact_forward (model, images, B, w, h, pred, error);
      for (int b = 0; ok && b < B; b++)
        {
          gboolean placed;
          memcpy (items[b].prior, pred + b * hw, hw);
          ok = user_click (&items[b], pred + b * hw, w, h, FALSE, &placed, error);
        }
    }
  for (int b = 0; ok && b < B; b++)
    {
      pack_item (images + b * item, batch, b, &items[b]);
      for (gsize p = 0; p < hw; p++)
        labels[b * hw + p] = items[b].target[p];
    }
  for (int b = 0; b < B; b++)
    {
      g_free (items[b].target);
      g_free (items[b].prior);
      g_array_unref (items[b].clicks);
    }
  return ok;
}
