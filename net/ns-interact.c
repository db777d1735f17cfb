/* SPDX-License-Identifier: MIT
 *
 * ns-interact.c: the interactive correction engine (ns-interact.h): click encoding,
 * the session (a region mask, its clicks, the model on one slice at a time), the
 * propagation to neighbouring slices and the one rule from a region back to labels.
 *
 * What the network sees is what it was trained on: the slice cut to the case's brain box
 * padded to the model's size multiple and centred, the crop of the trainer's dataset
 * (ns-dataset.h) and of the inference engine, the image normalised by the case's
 * statistics (not the crop's).  An earlier engine cut a box of at least 96 x 96 around
 * the region and the clicks: the network, trained on whole brain crops, had never seen
 * a slice cut through the brain at its border (issue 15, docs/interactive.md).  The image
 * planes are normalised on demand with the model's transform
 * (ns_model_meta_normalise_transform), found once per session, so a session holds no
 * float copy of the volumes.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-interact-private.h"

#include "ns-data-error.h"
#include "ns-normalize.h"

#include <math.h>
#include <string.h>

struct _NsInteractSession
{
  NsModel *model;                 /* borrowed; NULL with an oracle `forward` */
  NsModelMeta *meta;              /* the model's (a copy) */
  NsInteractForwardFunc forward;  /* NULL: the model */
  gpointer forward_data;
  NsCase *ncase;                  /* referenced */
  NsRegion region;
  NsGrid grid;
  int C;                          /* image channels */
  NsVolume **inputs;              /* (C) borrowed from ncase */
  NsNormalizeTransform *norm;     /* (C) */
  int brain_lo[3], brain_hi[3];   /* the brain's bounding box (voxels, inclusive) */
  guint8 *mask;                   /* (dim[2], dim[1], dim[0]) the region, 0/1 */
  GArray *clicks;                 /* NsClick */
  /* the plane of the last run_slice before its correction (what propagate carries) */
  guint8 *last_before;
  int last_axis, last_slice;
};

void
ns_interact_plane_size (const NsGrid *grid, int axis, int *width, int *height)
{
  int au, av;
  g_return_if_fail (grid != NULL && axis >= 0 && axis < 3);
  _ns_interact_plane_axes (axis, &au, &av);
  if (width != NULL)
    *width = grid->dim[au];
  if (height != NULL)
    *height = grid->dim[av];
}

static int
click_slice (const NsClick *c)
{
  return (int) floor (c->voxel[c->axis] + 0.5);
}

void
ns_interact_draw_clicks (const NsGrid *grid, const NsClick *clicks, int n_clicks, int axis,
                         int slice, guint8 *pos, guint8 *neg)
{
  g_return_if_fail (grid != NULL && axis >= 0 && axis < 3);
  int au, av, pw, ph;
  _ns_interact_plane_axes (axis, &au, &av);
  ns_interact_plane_size (grid, axis, &pw, &ph);
  double su = grid->spacing[au], sv = grid->spacing[av];

  if (pos != NULL)
    memset (pos, 0, (gsize) pw * ph);
  if (neg != NULL)
    memset (neg, 0, (gsize) pw * ph);
  for (int n = 0; n < n_clicks; n++)
    {
      const NsClick *c = &clicks[n];
      guint8 *dst = c->positive ? pos : neg;
      if (dst == NULL || c->axis != axis || click_slice (c) != slice)
        continue;
      double r = c->radius_mm > 0 ? c->radius_mm : NS_INTERACT_CLICK_RADIUS_MM;
      double cu = c->voxel[au], cv = c->voxel[av];
      int u0 = MAX (0, (int) floor (cu - r / su)), u1 = MIN (pw - 1, (int) ceil (cu + r / su));
      int v0 = MAX (0, (int) floor (cv - r / sv)), v1 = MIN (ph - 1, (int) ceil (cv + r / sv));
      for (int v = v0; v <= v1; v++)
        for (int u = u0; u <= u1; u++)
          {
            double du = (u - cu) * su, dv = (v - cv) * sv;
            if (du * du + dv * dv <= r * r)
              dst[(gsize) v * pw + u] = 1;
          }
      /* the voxel under the pointer always counts, whatever the radius */
      int nu = (int) floor (cu + 0.5), nv = (int) floor (cv + 0.5);
      if (nu >= 0 && nu < pw && nv >= 0 && nv < ph)
        dst[(gsize) nv * pw + nu] = 1;
    }
}

/* ---- network input --------------------------------------------------------------------- */

void
_ns_interact_pack (float *dst, int n_image, const float *const *image, const guint8 *mask,
                   const guint8 *pos, const guint8 *neg, int pw, int ph, int u0, int v0, int bw,
                   int bh)
{
  gsize hw = (gsize) bw * bh;
  memset (dst, 0, sizeof (float) * hw * (n_image + NS_INTERACT_N_CHANNELS));
  for (int y = 0; y < bh; y++)
    {
      int v = v0 + y;
      if (v < 0 || v >= ph)
        continue;
      for (int x = 0; x < bw; x++)
        {
          int u = u0 + x;
          if (u < 0 || u >= pw)
            continue;
          gsize s = (gsize) v * pw + u, d = (gsize) y * bw + x;
          for (int c = 0; c < n_image; c++)
            dst[c * hw + d] = image[c][s];
          dst[(n_image + 0) * hw + d] = mask != NULL ? mask[s] : 0;
          dst[(n_image + 1) * hw + d] = pos != NULL ? pos[s] : 0;
          dst[(n_image + 2) * hw + d] = neg != NULL ? neg[s] : 0;
        }
    }
}

void
_ns_interact_brain_crop (const int lo[3], const int hi[3], int axis, int multiple, int box[4])
{
  int au, av;
  _ns_interact_plane_axes (axis, &au, &av);
  int bw = hi[au] - lo[au] + 1, bh = hi[av] - lo[av] + 1;
  box[2] = (bw + multiple - 1) / multiple * multiple;
  box[3] = (bh + multiple - 1) / multiple * multiple;
  box[0] = lo[au] - (box[2] - bw) / 2;
  box[1] = lo[av] - (box[3] - bh) / 2;
}

gboolean
_ns_interact_forward (NsModel *model, const float *input, int n, int bw, int bh, guint8 *out,
                      GError **error)
{
  const NsModelMeta *meta = ns_model_get_meta (model);
  NsBackend *be = ns_model_get_backend (model);
  int C = ns_model_meta_n_channels (meta);
  gsize hw = (gsize) n * bw * bh;

  if (ns_model_get_mode (model) == NS_MODEL_TRAIN)
    ns_model_set_mode (model, NS_MODEL_INFER);
  g_autoptr (NsTensor) in = ns_tensor_new (be, n, C, bh, bw, error);
  if (in == NULL)
    return FALSE;
  ns_tensor_upload (in, input);
  NsTensor *logits = ns_model_forward (model, in, error);
  if (logits == NULL)
    return FALSE;
  g_autofree float *host = g_new (float, hw);
  ns_tensor_download (logits, host);
  if (!ns_backend_check (be, error))
    return FALSE;
  for (gsize i = 0; i < hw; i++)
    out[i] = host[i] > 0.0f;
  return TRUE;
}

/* ---- session --------------------------------------------------------------------------- */

NsInteractSession *
ns_interact_session_new (NsModel *model, NsCase *ncase, NsRegion region,
                         const NsLabelMap *labels, GError **error)
{
  g_return_val_if_fail (model != NULL, NULL);
  return _ns_interact_session_new_full (model, ns_model_get_meta (model), NULL, NULL, ncase,
                                        region, labels, error);
}

/* The bounding box of the brain: the voxels in the case's brain mask, or without one in
 * any input volume's own (ns_normalize_brain_mask): the dataset's rule (ns-dataset.h),
 * so that the crop is the trainer's. */
static gboolean
find_brain_box (NsInteractSession *s, GError **error)
{
  const NsGrid *g = &s->grid;
  for (int d = 0; d < 3; d++)
    {
      s->brain_lo[d] = g->dim[d];
      s->brain_hi[d] = -1;
    }
  for (int c = 0; c < s->C; c++)
    {
      g_autoptr (NsLabelMap) own = NULL;
      const NsLabelMap *brain = s->ncase->brain_mask;
      if (brain == NULL)
        {
          own = ns_normalize_brain_mask (s->inputs[c], error);
          if (own == NULL)
            return FALSE;
          brain = own;
        }
      for (int k = 0; k < g->dim[2]; k++)
        for (int j = 0; j < g->dim[1]; j++)
          {
            const guint8 *row = brain->labels + ns_grid_index (g, 0, j, k);
            for (int i = 0; i < g->dim[0]; i++)
              if (row[i])
                {
                  int ijk[3] = { i, j, k };
                  for (int d = 0; d < 3; d++)
                    {
                      s->brain_lo[d] = MIN (s->brain_lo[d], ijk[d]);
                      s->brain_hi[d] = MAX (s->brain_hi[d], ijk[d]);
                    }
                }
          }
      if (s->ncase->brain_mask != NULL)
        break;
    }
  if (s->brain_hi[0] >= 0)
    return TRUE;
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
               "%s: the case has no brain (every voxel of its inputs is background)",
               s->ncase->dir != NULL ? s->ncase->dir : s->ncase->id);
  return FALSE;
}

NsInteractSession *
_ns_interact_session_new_full (NsModel *model, const NsModelMeta *meta,
                               NsInteractForwardFunc forward, gpointer forward_data,
                               NsCase *ncase, NsRegion region, const NsLabelMap *labels,
                               GError **error)
{
  g_return_val_if_fail (meta != NULL && ncase != NULL && labels != NULL, NULL);
  g_return_val_if_fail (model != NULL || forward != NULL, NULL);
  g_return_val_if_fail (region >= 0 && region < NS_N_REGIONS, NULL);

  if (!ns_model_meta_check_kind (meta, TRUE, NULL, error))
    return NULL;
  if (!ns_grid_equal (&labels->grid, &ncase->grid))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                   "%s: the label map is not on the grid of the case %s",
                   labels->path != NULL ? labels->path : "labels", ncase->id);
      return NULL;
    }
  gboolean present[NS_N_MODALITIES];
  for (int m = 0; m < NS_N_MODALITIES; m++)
    present[m] = ncase->modality[m] != NULL;
  const char *missing = ns_model_meta_missing_input (meta, present);
  if (missing != NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: the case has no %s volume, which the interactive model needs",
                   ncase->dir != NULL ? ncase->dir : ncase->id, missing);
      return NULL;
    }

  g_autoptr (NsInteractSession) s = g_new0 (NsInteractSession, 1);
  s->model = model;
  s->meta = ns_model_meta_copy (meta);
  s->forward = forward;
  s->forward_data = forward_data;
  s->ncase = ns_case_ref (ncase);
  s->region = region;
  s->grid = ncase->grid;
  s->C = ns_model_meta_n_inputs (meta);
  s->inputs = g_new0 (NsVolume *, s->C);
  s->norm = g_new0 (NsNormalizeTransform, s->C);
  s->clicks = g_array_new (FALSE, FALSE, sizeof (NsClick));
  for (int c = 0; c < s->C; c++)
    {
      for (int m = 0; m < NS_N_MODALITIES; m++)
        if (g_ascii_strcasecmp (ns_modality_name (m), meta->modalities[c]) == 0)
          s->inputs[c] = ncase->modality[m];
      if (!ns_model_meta_normalise_transform (meta, s->inputs[c], ncase->brain_mask,
                                              &s->norm[c], error))
        return NULL;
    }
  if (!find_brain_box (s, error))
    return NULL;
  gsize n = ns_grid_n_voxels (&s->grid);
  s->mask = g_try_malloc (n);
  if (s->mask == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "no memory for the region mask of %s", ncase->id);
      return NULL;
    }
  for (gsize i = 0; i < n; i++)
    s->mask[i] = ns_region_contains (region, labels->labels[i]);
  return g_steal_pointer (&s);
}

void
ns_interact_session_free (NsInteractSession *s)
{
  if (s == NULL)
    return;
  g_clear_pointer (&s->ncase, ns_case_unref);
  g_clear_pointer (&s->meta, ns_model_meta_free);
  g_free (s->inputs);
  g_free (s->norm);
  g_free (s->mask);
  g_free (s->last_before);
  if (s->clicks != NULL)
    g_array_unref (s->clicks);
  g_free (s);
}

NsRegion
ns_interact_session_get_region (NsInteractSession *s)
{
  g_return_val_if_fail (s != NULL, NS_REGION_WT);
  return s->region;
}

const guint8 *
ns_interact_session_get_mask (NsInteractSession *s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return s->mask;
}

gboolean
ns_interact_session_add_click (NsInteractSession *s, const NsClick *click, GError **error)
{
  g_return_val_if_fail (s != NULL && click != NULL, FALSE);
  gboolean inside = click->axis >= 0 && click->axis < 3;
  for (int d = 0; inside && d < 3; d++)
    inside = isfinite (click->voxel[d]) && click->voxel[d] > -0.5
             && click->voxel[d] < s->grid.dim[d] - 0.5;
  if (!inside)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED,
                   "a click at voxel (%g, %g, %g) on axis %d is outside the %d x %d x %d "
                   "volume of %s", click->voxel[0], click->voxel[1], click->voxel[2],
                   click->axis, s->grid.dim[0], s->grid.dim[1], s->grid.dim[2], s->ncase->id);
      return FALSE;
    }
  g_array_append_val (s->clicks, *click);
  return TRUE;
}

gboolean
ns_interact_session_add_scribble (NsInteractSession *s, const NsClick *points, int n_points,
                                  GError **error)
{
  g_return_val_if_fail (s != NULL && points != NULL && n_points > 0, FALSE);
  NsClick c = points[0];
  if (!ns_interact_session_add_click (s, &c, error))
    return FALSE;
  for (int p = 1; p < n_points; p++)
    {
      const double *a = points[p - 1].voxel, *b = points[p].voxel;
      double len = sqrt ((b[0] - a[0]) * (b[0] - a[0]) + (b[1] - a[1]) * (b[1] - a[1])
                         + (b[2] - a[2]) * (b[2] - a[2]));
      int steps = MAX (1, (int) ceil (len * 2));
      for (int t = 1; t <= steps; t++)
        {
          for (int d = 0; d < 3; d++)
            c.voxel[d] = a[d] + (b[d] - a[d]) * t / steps;
          c.voxel[c.axis] = points[0].voxel[c.axis];
          if (!ns_interact_session_add_click (s, &c, error))
            return FALSE;
        }
    }
  return TRUE;
}

int
ns_interact_session_get_n_clicks (NsInteractSession *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return (int) s->clicks->len;
}

const NsClick *
ns_interact_session_get_clicks (NsInteractSession *s)
{
  g_return_val_if_fail (s != NULL, NULL);
  return (const NsClick *) s->clicks->data;
}

/* The normalised image planes of a slice (C planes of pw x ph, one allocation). */
static float *
image_planes (NsInteractSession *s, int axis, int slice, int pw, int ph)
{
  gsize hw = (gsize) pw * ph;
  float *planes = g_new (float, hw * s->C);
  const NsLabelMap *brain = s->ncase->brain_mask;
  for (int c = 0; c < s->C; c++)
    for (int v = 0; v < ph; v++)
      {
        float *row = planes + c * hw + (gsize) v * pw;
        if (axis != 0)
          /* u is voxel axis i: a row is one run of the volume */
          ns_normalize_apply (&s->norm[c], s->inputs[c], brain,
                              _ns_interact_voxel_index (&s->grid, axis, slice, 0, v), pw, row);
        else
          for (int u = 0; u < pw; u++)
            ns_normalize_apply (&s->norm[c], s->inputs[c], brain,
                                _ns_interact_voxel_index (&s->grid, axis, slice, u, v), 1,
                                row + u);
      }
  return planes;
}

static void
get_plane (NsInteractSession *s, int axis, int slice, guint8 *plane, int pw, int ph)
{
  for (int v = 0; v < ph; v++)
    for (int u = 0; u < pw; u++)
      plane[(gsize) v * pw + u] = s->mask[_ns_interact_voxel_index (&s->grid, axis, slice, u, v)];
}

float *
_ns_interact_session_pack (NsInteractSession *s, int axis, int slice, const guint8 *prior,
                           const guint8 *pos, const guint8 *neg, int box[4])
{
  int pw, ph;
  ns_interact_plane_size (&s->grid, axis, &pw, &ph);
  gsize hw = (gsize) pw * ph;
  int multiple = s->model != NULL ? ns_model_get_size_multiple (s->model) : 32;
  _ns_interact_brain_crop (s->brain_lo, s->brain_hi, axis, multiple, box);
  g_autofree float *image = image_planes (s, axis, slice, pw, ph);
  const float *planes[64];
  for (int c = 0; c < s->C; c++)
    planes[c] = image + c * hw;
  float *input = g_new (float, (gsize) box[2] * box[3] * (s->C + NS_INTERACT_N_CHANNELS));
  _ns_interact_pack (input, s->C, planes, prior, pos, neg, pw, ph, box[0], box[1], box[2],
                     box[3]);
  return input;
}

/* What a seed asks for (the bits of a seeds plane): voxels to add, voxels to remove. */
#define SEED_ADD 1
#define SEED_REMOVE 2

/* Keeps only the changes of out against base (the slice's mask before) that follow a
 * seed: an addition (0 -> 1) when it is connected (8-connected in the plane, through
 * additions) to a voxel at or next to an add seed, a removal likewise through removals
 * to a remove seed; every other voxel goes back to base.  The model's answer is local to
 * the interaction and of its sign: a positive click only adds to the region and a
 * negative one only removes (the Refine tool's left and right click), and neither
 * rewrites a part of the slice it does not touch (an imperfect network would otherwise
 * spoil what was right: issue 15's first model turned an ET click into the whole core);
 * grow FALSE (a propagated slice): only the seeds themselves may change, each in its
 * direction, where the network confirms it: a carried change never grows from slice to
 * slice.  (It grew through connected additions at first, and a network that adds a
 * little around its mask flooded WT and ET over dozens of slices: issue 15,
 * docs/interactive.md.) */
static void
keep_seeded_changes (guint8 *out, const guint8 *base, const guint8 *seeds, gboolean grow,
                     int pw, int ph)
{
  gsize hw = (gsize) pw * ph, top = 0;
  g_autofree guint8 *keep = g_malloc0 (hw);
  g_autofree guint32 *stack = g_new (guint32, hw);

  for (gsize p = 0; p < hw; p++)
    {
      if (out[p] == base[p])
        continue;
      guint8 want = out[p] ? SEED_ADD : SEED_REMOVE;
      int u = p % pw, v = p / pw;
      if (!grow)
        {
          keep[p] = (seeds[p] & want) != 0;
          continue;
        }
      gboolean seeded = FALSE;
      for (int dv = -1; dv <= 1 && !seeded; dv++)
        for (int du = -1; du <= 1 && !seeded; du++)
          {
            int x = u + du, y = v + dv;
            seeded = x >= 0 && y >= 0 && x < pw && y < ph && (seeds[(gsize) y * pw + x] & want);
          }
      if (seeded)
        {
          keep[p] = 1;
          stack[top++] = (guint32) p;
        }
    }
  while (top > 0)
    {
      guint32 p = stack[--top];
      int u = p % pw, v = p / pw;
      for (int dv = -1; dv <= 1; dv++)
        for (int du = -1; du <= 1; du++)
          {
            int x = u + du, y = v + dv;
            if (x < 0 || y < 0 || x >= pw || y >= ph)
              continue;
            gsize q = (gsize) y * pw + x;
            /* the same direction of change as p */
            if (!keep[q] && out[q] != base[q] && out[q] == out[p])
              {
                keep[q] = 1;
                stack[top++] = (guint32) q;
              }
          }
    }
  for (gsize p = 0; p < hw; p++)
    if (!keep[p])
      out[p] = base[p];
}

/* Runs the network on slice with `prior` as its current mask and the clicks on it;
 * writes the result into the session's mask and out (a plane); *n_changed: voxels that
 * differ from the session's mask before.  seeds (a plane, nullable: the clicks on the
 * slice): where changes may start (keep_seeded_changes). */
static gboolean
correct_slice (NsInteractSession *s, int axis, int slice, const guint8 *prior,
               const guint8 *seeds, guint8 *out, gsize *n_changed, GCancellable *cancellable,
               GError **error)
{
  int pw, ph, box[4];
  ns_interact_plane_size (&s->grid, axis, &pw, &ph);
  gsize hw = (gsize) pw * ph;
  g_autofree guint8 *pos = g_malloc (hw), *neg = g_malloc (hw), *old = g_malloc (hw);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  get_plane (s, axis, slice, old, pw, ph);
  memcpy (out, prior, hw);
  *n_changed = 0;
  ns_interact_draw_clicks (&s->grid, (const NsClick *) s->clicks->data, s->clicks->len, axis,
                           slice, pos, neg);
  /* nothing to correct on a slice without region and clicks */
  gboolean any = FALSE;
  for (gsize p = 0; p < hw && !any; p++)
    any = prior[p] || pos[p] || neg[p];
  if (any)
    {
      g_autofree float *input = _ns_interact_session_pack (s, axis, slice, prior, pos, neg, box);
      gsize bhw = (gsize) box[2] * box[3];
      g_autofree guint8 *result = g_malloc (bhw);
      if (s->forward != NULL
          ? !s->forward (input, s->C, box[2], box[3], result, s->forward_data, error)
          : !_ns_interact_forward (s->model, input, 1, box[2], box[3], result, error))
        return FALSE;
      for (int y = 0; y < box[3]; y++)
        for (int x = 0; x < box[2]; x++)
          {
            int u = box[0] + x, v = box[1] + y;
            if (u >= 0 && u < pw && v >= 0 && v < ph)
              out[(gsize) v * pw + u] = result[(gsize) y * box[2] + x];
          }
      if (seeds == NULL)
        /* the clicks' discs: positive ones add, negative ones remove */
        for (gsize p = 0; p < hw; p++)
          pos[p] = (pos[p] ? SEED_ADD : 0) | (neg[p] ? SEED_REMOVE : 0);
      keep_seeded_changes (out, old, seeds != NULL ? seeds : pos, seeds == NULL, pw, ph);
    }
  for (int v = 0; v < ph; v++)
    for (int u = 0; u < pw; u++)
      {
        gsize p = (gsize) v * pw + u;
        *n_changed += out[p] != old[p];
        s->mask[_ns_interact_voxel_index (&s->grid, axis, slice, u, v)] = out[p];
      }
  return TRUE;
}

static gboolean
check_slice (NsInteractSession *s, int axis, int slice, GError **error)
{
  if (axis >= 0 && axis < 3 && slice >= 0 && slice < s->grid.dim[axis])
    return TRUE;
  g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED,
               "slice %d of axis %d is outside the %d x %d x %d volume of %s", slice, axis,
               s->grid.dim[0], s->grid.dim[1], s->grid.dim[2], s->ncase->id);
  return FALSE;
}

gboolean
ns_interact_session_run_slice (NsInteractSession *s, int axis, int slice, guint8 *out_mask,
                               GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (s != NULL, FALSE);
  if (!check_slice (s, axis, slice, error))
    return FALSE;
  int pw, ph;
  ns_interact_plane_size (&s->grid, axis, &pw, &ph);
  g_autofree guint8 *prior = g_malloc ((gsize) pw * ph);
  g_autofree guint8 *out = g_malloc ((gsize) pw * ph);
  gsize n_changed;
  get_plane (s, axis, slice, prior, pw, ph);
  if (!correct_slice (s, axis, slice, prior, NULL, out, &n_changed, cancellable, error))
    return FALSE;
  g_free (s->last_before);
  s->last_before = g_steal_pointer (&prior);
  s->last_axis = axis;
  s->last_slice = slice;
  if (out_mask != NULL)
    memcpy (out_mask, out, (gsize) pw * ph);
  return TRUE;
}

gboolean
ns_interact_session_propagate (NsInteractSession *s, int axis, int slice,
                               NsInteractSliceFunc func, gpointer user_data,
                               GCancellable *cancellable, GError **error)
{
  g_return_val_if_fail (s != NULL, FALSE);
  if (!check_slice (s, axis, slice, error))
    return FALSE;
  int pw, ph;
  ns_interact_plane_size (&s->grid, axis, &pw, &ph);
  gsize hw = (gsize) pw * ph;
  g_autofree guint8 *before = g_malloc (hw), *after = g_malloc (hw);
  g_autofree guint8 *prior = g_malloc (hw), *out = g_malloc (hw);
  g_autofree guint8 *carried = g_malloc (hw);

  for (int dir = -1; dir <= 1; dir += 2)
    {
      /* the change to carry: the corrected slice against its mask before the last
       * run_slice of it (none when that was another slice) */
      get_plane (s, axis, slice, after, pw, ph);
      if (s->last_before != NULL && s->last_axis == axis && s->last_slice == slice)
        memcpy (before, s->last_before, hw);
      else
        memcpy (before, after, hw);
      for (int k = slice + dir, n = 0; k >= 0 && k < s->grid.dim[axis]
           && n < NS_INTERACT_MAX_PROPAGATE; k += dir, n++)
        {
          gsize region = 0, n_changed, n_carried = 0;
          get_plane (s, axis, k, prior, pw, ph);
          for (gsize p = 0; p < hw; p++)
            {
              carried[p] = after[p] == before[p] ? 0 : after[p] ? SEED_ADD : SEED_REMOVE;
              if (carried[p])
                {
                  n_carried += prior[p] != after[p];
                  prior[p] = after[p];
                }
            }
          if (n_carried == 0)
            break;
          for (gsize p = 0; p < hw; p++)
            region += prior[p];
          get_plane (s, axis, k, before, pw, ph);
          if (!correct_slice (s, axis, k, prior, carried, out, &n_changed, cancellable, error))
            return FALSE;
          if (func != NULL)
            func (axis, k, out, n_changed, user_data);
          memcpy (after, out, hw);
          if (n_changed < MAX ((gsize) 5, region / 200))
            break;
        }
    }
  return TRUE;
}

/* ---- region -> labels ------------------------------------------------------------------ */

gsize
ns_interact_apply_region (NsLabelMap *labels, NsRegion region, const guint8 *mask,
                          guint8 *changed)
{
  g_return_val_if_fail (labels != NULL && mask != NULL, 0);
  gsize n = ns_grid_n_voxels (&labels->grid), n_changed = 0;
  for (gsize i = 0; i < n; i++)
    {
      guint8 l = labels->labels[i], to = l;
      gboolean in = ns_region_contains (region, l), want = mask[i] != 0;
      if (in != want)
        switch (region)
          {
          case NS_REGION_WT:
            to = want ? 2 : 0;
            break;
          case NS_REGION_TC:
            to = want ? 1 : 2;
            break;
          case NS_REGION_ET:
          default:
            to = want ? 4 : 1;
            break;
          }
      if (changed != NULL)
        changed[i] = to != l;
      n_changed += to != l;
      labels->labels[i] = to;
    }
  return n_changed;
}
