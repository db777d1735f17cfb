/* SPDX-License-Identifier: MIT
 *
 * ns-dataset.c: training slices of a list of cases and the worker threads that augment
 * them into batches (see ns-dataset.h for the rules).
 *
 * Memory: the cropped, normalised slices of every case are kept (float32 images, uint8
 * class indices): about 11 BraTS cases x 140 brain slices x 2 x 160 x 192 x 4 bytes =
 * 380 MB.  Reading them from disk per batch would cost more than the optimiser step.
 *
 * Randomness: a counter-based hash (the SplitMix64 finaliser) of (seed, batch, item,
 * purpose), no generator state shared between threads, so batches do not depend on
 * which worker builds them.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-dataset.h"

#include "ns-backend.h"
#include "ns-data-error.h"
#include "ns-labels.h"
#include "ns-normalize.h"

#include <string.h>

typedef struct
{
  int case_index;
  int k;
  gboolean has_tumour;
  float *image;                /* (C, H, W), into a case block */
  guint8 *classes;             /* (H, W) */
} Slice;

typedef struct
{
  int ci0, cj0;                /* voxel (i, j) of the crop's pixel (0, 0) */
  int nx, ny;
} Crop;

struct _NsDataset
{
  NsDatasetOptions options;
  int C, H, W;                 /* a stored slice: C modalities of H x W */
  int context;                 /* 2.5-D: neighbours on each side (the model's) */
  int CI;                      /* channels of a batch item: C (2 context + 1) */
  GPtrArray *slice_of_k;       /* per case: int (nz), the slice id of plane k or -1 */
  GArray *case_nz;             /* per case: int, its planes (dim[2]) */
  char **case_ids;             /* (n_cases + 1) */
  int n_cases;
  GPtrArray *blocks;           /* per case: float images then uint8 classes */
  GArray *crops;               /* per case: Crop */
  int class_of[256];           /* BraTS 2017+ label value -> class index, or -1 */
  guint8 *starts;              /* (slices, H, W) class indices of every slice's start (by
                                  slice id), or NULL */
  GArray *slices;              /* Slice */
  GArray *tumour;              /* int: slice ids with tumour */
  GArray *plain;               /* int: slice ids without */
};

void
ns_dataset_options_init (NsDatasetOptions *options)
{
  g_return_if_fail (options != NULL);
  memset (options, 0, sizeof *options);
  options->size_multiple = 32;
  options->tumour_ratio = 2.0;
  options->augment = TRUE;
  ns_augment_params_init_default (&options->augment_params);
}

static inline guint64
mix64 (guint64 z)
{
  z += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* A 64-bit key of (seed, batch, item, purpose). */
static guint64
item_key (guint64 seed, guint64 batch, int item, int purpose)
{
  return mix64 (mix64 (mix64 (mix64 (seed) ^ batch) ^ (guint64) item) ^ (guint64) purpose);
}

static double
key_uniform (guint64 key)
{
  return (double) (key >> 11) * (1.0 / 9007199254740992.0);
}

/* ---- one case ------------------------------------------------------------------------ */

typedef struct
{
  NsCase *ncase;
  NsVolume *normed[8];
  guint8 *brain;               /* union of the brain masks (nvox) */
  int i0, i1, j0, j1;          /* in-plane brain box */
  int *brain_slices;
  int n_brain_slices;
} Prepared;

static void
prepared_clear (Prepared *p)
{
  for (int c = 0; c < 8; c++)
    g_clear_pointer (&p->normed[c], ns_volume_unref);
  g_clear_pointer (&p->brain, g_free);
  g_clear_pointer (&p->brain_slices, g_free);
}

static const char *
case_name (NsCase *ncase)
{
  return ncase->id != NULL ? ncase->id : ncase->dir;
}

/* Normalises the model's modalities of a case and finds its brain box and slices. */
static gboolean
prepare_case (NsCase *ncase, const NsModelMeta *meta, Prepared *p, GError **error)
{
  const NsGrid *g = &ncase->grid;
  int C = ns_model_meta_n_inputs (meta);
  int nx = g->dim[0], ny = g->dim[1], nz = g->dim[2];
  gsize plane = (gsize) nx * ny, nvox = plane * nz;

  memset (p, 0, sizeof *p);
  p->ncase = ncase;
  if (C > 8)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_UNSUPPORTED,
                   "%s: the model has %d inputs; at most 8 are supported", case_name (ncase), C);
      return FALSE;
    }
  for (int c = 0; c < C; c++)
    {
      gboolean found = FALSE;
      for (int m = 0; m < NS_N_MODALITIES; m++)
        found |= ncase->modality[m] != NULL
                 && g_ascii_strcasecmp (ns_modality_name (m), meta->modalities[c]) == 0;
      if (!found)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "%s: the case has no %s volume, which the model takes as input %d",
                       case_name (ncase), meta->modalities[c], c);
          return FALSE;
        }
    }
  if (ncase->labels == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: the case has no label map to train on", case_name (ncase));
      return FALSE;
    }
  p->brain = g_try_malloc0 (nvox);
  if (p->brain == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "%s: out of memory for the brain mask", case_name (ncase));
      return FALSE;
    }
  for (int c = 0; c < C; c++)
    {
      NsVolume *vol = NULL;
      for (int m = 0; m < NS_N_MODALITIES; m++)
        if (g_ascii_strcasecmp (ns_modality_name (m), meta->modalities[c]) == 0)
          vol = ncase->modality[m];
      if (vol == NULL)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "%s: the case has no %s volume, which the model takes as input %d",
                       case_name (ncase), meta->modalities[c], c);
          return FALSE;
        }
      g_autoptr (NsLabelMap) own = NULL;
      const NsLabelMap *mask = ncase->brain_mask;
      if (mask == NULL)
        {
          own = ns_normalize_brain_mask (vol, error);
          if (own == NULL)
            return FALSE;
          mask = own;
        }
      gsize count = 0;
      for (gsize v = 0; v < nvox; v++)
        if (mask->labels[v])
          {
            p->brain[v] = 1;
            count++;
          }
      if (count == 0)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "%s: the %s volume has no brain (every voxel is background)",
                       vol->path != NULL ? vol->path : case_name (ncase), meta->modalities[c]);
          return FALSE;
        }
      p->normed[c] = ns_model_meta_normalise (meta, vol, mask, error);
      if (p->normed[c] == NULL)
        return FALSE;
    }

  p->i0 = nx, p->i1 = -1, p->j0 = ny, p->j1 = -1;
  p->brain_slices = g_new (int, MAX (nz, 1));
  for (int k = 0; k < nz; k++)
    {
      gboolean any = FALSE;
      const guint8 *b = p->brain + (gsize) k * plane;
      for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++)
          if (b[(gsize) j * nx + i])
            {
              any = TRUE;
              p->i0 = MIN (p->i0, i);
              p->i1 = MAX (p->i1, i);
              p->j0 = MIN (p->j0, j);
              p->j1 = MAX (p->j1, j);
            }
      if (any)
        p->brain_slices[p->n_brain_slices++] = k;
    }
  return TRUE;
}

/* Cuts the brain slices of a prepared case into a block and appends them. */
static gboolean
add_case_slices (NsDataset *ds, int case_index, Prepared *p, const int class_of[256],
                 GError **error)
{
  NsCase *ncase = p->ncase;
  const NsGrid *g = &ncase->grid;
  int nx = g->dim[0], ny = g->dim[1];
  gsize plane = (gsize) nx * ny;
  int C = ds->C, H = ds->H, W = ds->W;
  gsize img_floats = (gsize) C * H * W, n = p->n_brain_slices;
  gsize bytes = n * (img_floats * sizeof (float) + (gsize) H * W);
  guint8 *block = g_try_malloc0 (MAX (bytes, 1));

  if (block == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "%s: out of memory for %zu training slices", case_name (ncase), (size_t) n);
      return FALSE;
    }
  g_ptr_array_add (ds->blocks, block);
  int *slice_of_k = g_new (int, MAX (g->dim[2], 1));
  for (int k = 0; k < g->dim[2]; k++)
    slice_of_k[k] = -1;
  g_ptr_array_add (ds->slice_of_k, slice_of_k);
  g_array_append_val (ds->case_nz, g->dim[2]);
  float *images = (float *) block;
  guint8 *classes = block + n * img_floats * sizeof (float);

  int bw = p->i1 - p->i0 + 1, bh = p->j1 - p->j0 + 1;
  int ci0 = p->i0 - (W - bw) / 2, cj0 = p->j0 - (H - bh) / 2;
  const guint8 *lab = ncase->labels->labels;
  Crop crop = { ci0, cj0, nx, ny };
  g_array_append_val (ds->crops, crop);

  for (gsize s = 0; s < n; s++)
    {
      int k = p->brain_slices[s];
      Slice sl = { case_index, k, FALSE, images + s * img_floats, classes + s * H * W };
      for (int y = 0; y < H; y++)
        {
          int j = cj0 + y;
          if (j < 0 || j >= ny)
            continue;
          for (int x = 0; x < W; x++)
            {
              int i = ci0 + x;
              if (i < 0 || i >= nx)
                continue;
              gsize v = (gsize) k * plane + (gsize) j * nx + i;
              for (int c = 0; c < C; c++)
                sl.image[((gsize) c * H + y) * W + x] = p->normed[c]->voxels[v];
              int cls = class_of[lab[v]];
              if (cls < 0)
                {
                  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS,
                               "%s: label %d (voxel %d, %d, %d) is not one of the model's "
                               "classes",
                               ncase->labels->path != NULL ? ncase->labels->path
                                                           : case_name (ncase),
                               lab[v], i, j, k);
                  return FALSE;
                }
              sl.classes[(gsize) y * W + x] = (guint8) cls;
              if (cls != 0)
                sl.has_tumour = TRUE;
            }
        }
      int id = (int) ds->slices->len;
      slice_of_k[k] = id;
      g_array_append_val (ds->slices, sl);
      g_array_append_val (sl.has_tumour ? ds->tumour : ds->plain, id);
    }
  return TRUE;
}

NsDataset *
ns_dataset_new_from_cases (NsCase *const *cases, int n_cases, const NsModelMeta *meta,
                           const NsDatasetOptions *options, GError **error)
{
  g_return_val_if_fail (cases != NULL || n_cases == 0, NULL);
  g_return_val_if_fail (meta != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  NsDatasetOptions defaults;
  if (options == NULL)
    {
      ns_dataset_options_init (&defaults);
      options = &defaults;
    }
  if (n_cases <= 0)
    {
      g_set_error_literal (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                           "no training case given");
      return NULL;
    }
  if (options->tumour_ratio < 0 || options->crop_w < 0 || options->crop_h < 0
      || options->size_multiple < 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "invalid dataset options (tumour ratio %g, crop %d x %d, multiple %d)",
                   options->tumour_ratio, options->crop_w, options->crop_h,
                   options->size_multiple);
      return NULL;
    }

  /* class index of every label value (BraTS 2015's 3 becomes 1 when the case was not
   * mapped on load) */
  int class_of[256];
  for (int v = 0; v < 256; v++)
    class_of[v] = -1;
  for (int k = 0; k < meta->n_classes; k++)
    if (meta->classes[k].value >= 0 && meta->classes[k].value < 256)
      class_of[meta->classes[k].value] = k;

  g_autoptr (NsDataset) ds = g_new0 (NsDataset, 1);
  ds->options = *options;
  memcpy (ds->class_of, class_of, sizeof class_of);
  ds->crops = g_array_new (FALSE, FALSE, sizeof (Crop));
  if (ds->options.size_multiple == 0)
    ds->options.size_multiple = 32;
  ds->C = ns_model_meta_n_inputs (meta);
  ds->context = meta->context;
  ds->CI = ns_model_meta_n_channels (meta);
  ds->slice_of_k = g_ptr_array_new_with_free_func (g_free);
  ds->case_nz = g_array_new (FALSE, FALSE, sizeof (int));
  ds->n_cases = n_cases;
  ds->case_ids = g_new0 (char *, n_cases + 1);
  ds->blocks = g_ptr_array_new_with_free_func (g_free);
  ds->slices = g_array_new (FALSE, FALSE, sizeof (Slice));
  ds->tumour = g_array_new (FALSE, FALSE, sizeof (int));
  ds->plain = g_array_new (FALSE, FALSE, sizeof (int));

  g_autofree Prepared *prep = g_new0 (Prepared, n_cases);
  gboolean ok = TRUE;
  int n_prepared = 0;
  int max_w = 0, max_h = 0;
  for (int c = 0; c < n_cases && ok; c++)
    {
      NsCase *ncase = cases[c];
      ds->case_ids[c] = g_strdup (case_name (ncase));
      ok = prepare_case (ncase, meta, &prep[c], error);
      n_prepared = c + 1;
      if (ok && prep[c].n_brain_slices > 0)
        {
          max_w = MAX (max_w, prep[c].i1 - prep[c].i0 + 1);
          max_h = MAX (max_h, prep[c].j1 - prep[c].j0 + 1);
        }
    }
  if (ok)
    {
      int m = ds->options.size_multiple;
      ds->W = ds->options.crop_w > 0 ? ds->options.crop_w : (max_w + m - 1) / m * m;
      ds->H = ds->options.crop_h > 0 ? ds->options.crop_h : (max_h + m - 1) / m * m;
      if (ds->W % m != 0 || ds->H % m != 0)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "crop %d x %d is not a multiple of the model's size multiple %d",
                       ds->W, ds->H, m);
          ok = FALSE;
        }
    }
  if (ok)
    {
      /* BraTS 2015 maps are mapped per case: 3 (non-enhancing) joins 1. */
      for (int c = 0; c < n_cases && ok; c++)
        {
          int co[256];
          memcpy (co, class_of, sizeof co);
          if (cases[c]->label_scheme == NS_LABEL_SCHEME_BRATS2015 && co[3] < 0)
            co[3] = co[1];
          ok = add_case_slices (ds, c, &prep[c], co, error);
        }
    }
  for (int c = 0; c < n_prepared; c++)
    prepared_clear (&prep[c]);
  if (!ok)
    return NULL;
  if (ds->slices->len == 0)
    {
      g_set_error_literal (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                           "the training cases have no slice with brain");
      return NULL;
    }
  return g_steal_pointer (&ds);
}

NsDataset *
ns_dataset_new (const char *const *case_paths, const NsModelMeta *meta,
                const NsDatasetOptions *options, GError **error)
{
  g_return_val_if_fail (case_paths != NULL && meta != NULL, NULL);

  g_autoptr (GPtrArray) cases = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_case_unref);
  for (const char *const *p = case_paths; *p != NULL; p++)
    {
      NsCase *ncase = ns_case_load (*p, NS_CASE_LOAD_MAP_TO_2017, error);
      if (ncase == NULL)
        return NULL;
      g_ptr_array_add (cases, ncase);
    }
  return ns_dataset_new_from_cases ((NsCase *const *) cases->pdata, (int) cases->len, meta,
                                    options, error);
}

void
ns_dataset_free (NsDataset *ds)
{
  if (ds == NULL)
    return;
  g_strfreev (ds->case_ids);
  g_clear_pointer (&ds->blocks, g_ptr_array_unref);
  g_clear_pointer (&ds->starts, g_free);
  g_clear_pointer (&ds->crops, g_array_unref);
  g_clear_pointer (&ds->slice_of_k, g_ptr_array_unref);
  g_clear_pointer (&ds->case_nz, g_array_unref);
  g_clear_pointer (&ds->slices, g_array_unref);
  g_clear_pointer (&ds->tumour, g_array_unref);
  g_clear_pointer (&ds->plain, g_array_unref);
  g_free (ds);
}

int
ns_dataset_get_n_cases (NsDataset *ds)
{
  g_return_val_if_fail (ds != NULL, 0);
  return ds->n_cases;
}

const char *const *
ns_dataset_get_case_ids (NsDataset *ds)
{
  g_return_val_if_fail (ds != NULL, NULL);
  return (const char *const *) ds->case_ids;
}

int
ns_dataset_get_n_slices (NsDataset *ds)
{
  g_return_val_if_fail (ds != NULL, 0);
  return (int) ds->slices->len;
}

int
ns_dataset_get_n_tumour_slices (NsDataset *ds)
{
  g_return_val_if_fail (ds != NULL, 0);
  return (int) ds->tumour->len;
}

void
ns_dataset_get_crop_size (NsDataset *ds, int *w, int *h)
{
  g_return_if_fail (ds != NULL);
  if (w != NULL)
    *w = ds->W;
  if (h != NULL)
    *h = ds->H;
}

int
ns_dataset_get_n_channels (NsDataset *ds)
{
  g_return_val_if_fail (ds != NULL, 0);
  return ds->CI;
}

guint64
ns_dataset_get_seed (NsDataset *ds)
{
  g_return_val_if_fail (ds != NULL, 0);
  return ds->options.seed;
}

void
ns_dataset_slice_info (NsDataset *ds, int id, int *case_index, int *k, gboolean *has_tumour)
{
  g_return_if_fail (ds != NULL && id >= 0 && id < (int) ds->slices->len);
  const Slice *s = &g_array_index (ds->slices, Slice, id);
  if (case_index != NULL)
    *case_index = s->case_index;
  if (k != NULL)
    *k = s->k;
  if (has_tumour != NULL)
    *has_tumour = s->has_tumour;
}

void
ns_dataset_peek_slice (NsDataset *ds, int id, const float **image, const guint8 **classes)
{
  g_return_if_fail (ds != NULL && id >= 0 && id < (int) ds->slices->len);
  const Slice *s = &g_array_index (ds->slices, Slice, id);
  if (image != NULL)
    *image = s->image;
  if (classes != NULL)
    *classes = s->classes;
}

/* ---- batches ------------------------------------------------------------------------- */

gboolean
ns_dataset_set_starts (NsDataset *ds, NsLabelMap *const *starts, GError **error)
{
  g_return_val_if_fail (ds != NULL && starts != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  int H = ds->H, W = ds->W;
  gsize hw = (gsize) H * W;

  for (int c = 0; c < ds->n_cases; c++)
    {
      const Crop *crop = &g_array_index (ds->crops, Crop, c);
      const NsLabelMap *m = starts[c];
      int nz = g_array_index (ds->case_nz, int, c);
      if (m == NULL || m->grid.dim[0] != crop->nx || m->grid.dim[1] != crop->ny
          || m->grid.dim[2] != nz)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                       "%s: the start of case %s is %d x %d x %d voxels, the case %d x %d x %d",
                       m != NULL && m->path != NULL ? m->path : "(start)", ds->case_ids[c],
                       m != NULL ? m->grid.dim[0] : 0, m != NULL ? m->grid.dim[1] : 0,
                       m != NULL ? m->grid.dim[2] : 0, crop->nx, crop->ny, nz);
          return FALSE;
        }
    }
  g_autofree guint8 *block = g_try_malloc0 (MAX (ds->slices->len * hw, 1));
  if (block == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "out of memory for the starts of %u training slices", ds->slices->len);
      return FALSE;
    }
  for (guint id = 0; id < ds->slices->len; id++)
    {
      const Slice *sl = &g_array_index (ds->slices, Slice, id);
      const Crop *crop = &g_array_index (ds->crops, Crop, sl->case_index);
      const NsLabelMap *m = starts[sl->case_index];
      guint8 *out = block + id * hw;
      for (int y = 0; y < H; y++)
        {
          int j = crop->cj0 + y;
          if (j < 0 || j >= crop->ny)
            continue;
          for (int x = 0; x < W; x++)
            {
              int i = crop->ci0 + x;
              if (i < 0 || i >= crop->nx)
                continue;
              guint8 v = m->labels[((gsize) sl->k * crop->ny + j) * crop->nx + i];
              if (ds->class_of[v] < 0)
                {
                  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS,
                               "%s: label %d (voxel %d, %d, %d) is not one of the model's "
                               "classes", m->path != NULL ? m->path : ds->case_ids[sl->case_index],
                               v, i, j, sl->k);
                  return FALSE;
                }
              out[(gsize) y * W + x] = (guint8) ds->class_of[v];
            }
        }
    }
  g_free (ds->starts);
  ds->starts = g_steal_pointer (&block);
  return TRUE;
}

gboolean
ns_dataset_has_starts (NsDataset *ds)
{
  g_return_val_if_fail (ds != NULL, FALSE);
  return ds->starts != NULL;
}

enum { KEY_POOL, KEY_SLICE, KEY_AUGMENT };

void
ns_batch_free (NsBatch *b)
{
  if (b == NULL)
    return;
  g_free (b->images);
  g_free (b->labels);
  g_free (b->slice_ids);
  g_free (b->starts);
  g_clear_error (&b->error);
  g_free (b);
}

static int
pick_slice (NsDataset *ds, guint64 index, int item)
{
  guint64 seed = ds->options.seed;
  double ratio = ds->options.tumour_ratio;
  GArray *pool;

  if (ds->tumour->len == 0)
    pool = ds->plain;
  else if (ds->plain->len == 0)
    pool = ds->tumour;
  else
    pool = key_uniform (item_key (seed, index, item, KEY_POOL)) < ratio / (ratio + 1.0)
           ? ds->tumour : ds->plain;
  guint64 r = item_key (seed, index, item, KEY_SLICE);
  return g_array_index (pool, int, (gsize) (r % pool->len));
}

/* The input of slice s with its context: channel m (2 context + 1) + context + d is
 * modality m of plane k + d of the same case, 0 where that plane has no stored slice
 * (no brain there, or outside the volume: 0 either way after normalisation). */
static void
context_image (NsDataset *ds, const Slice *s, float *out)
{
  const gsize plane = (gsize) ds->H * ds->W;
  const int D = 2 * ds->context + 1;
  const int *slice_of_k = ds->slice_of_k->pdata[s->case_index];
  const int nz = g_array_index (ds->case_nz, int, s->case_index);

  for (int d = -ds->context; d <= ds->context; d++)
    {
      int k = s->k + d;
      int id = k >= 0 && k < nz ? slice_of_k[k] : -1;
      const float *src = id >= 0 ? g_array_index (ds->slices, Slice, id).image : NULL;
      for (int m = 0; m < ds->C; m++)
        {
          float *dst = out + ((gsize) m * D + d + ds->context) * plane;
          if (src != NULL)
            memcpy (dst, src + (gsize) m * plane, plane * sizeof (float));
          else
            memset (dst, 0, plane * sizeof (float));
        }
    }
}

NsBatch *
ns_dataset_make_batch (NsDataset *ds, guint64 index, int batch_size, GError **error)
{
  g_return_val_if_fail (ds != NULL && batch_size > 0, NULL);

  int C = ds->CI, H = ds->H, W = ds->W;
  gsize plane = (gsize) H * W;
  g_autoptr (NsBatch) b = g_new0 (NsBatch, 1);
  b->index = index;
  b->n = batch_size, b->c = C, b->h = H, b->w = W;
  b->images = g_try_new (float, (gsize) batch_size * C * plane);
  b->labels = g_try_new (float, (gsize) batch_size * plane);
  b->slice_ids = g_new (int, batch_size);
  if (ds->starts != NULL)
    b->starts = g_try_new (float, (gsize) batch_size * plane);
  g_autofree guint8 *lab = g_try_malloc (plane);
  g_autofree guint8 *start = ds->starts != NULL ? g_try_malloc (plane) : NULL;
  g_autofree float *ctx = ds->context > 0 ? g_try_new (float, (gsize) C * plane) : NULL;
  if (b->images == NULL || b->labels == NULL || lab == NULL
      || (ds->context > 0 && ctx == NULL)
      || (ds->starts != NULL && (b->starts == NULL || start == NULL)))
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "out of memory for a batch of %d slices of %d x %d", batch_size, W, H);
      return NULL;
    }
  for (int it = 0; it < batch_size; it++)
    {
      int id = pick_slice (ds, index, it);
      const Slice *s = &g_array_index (ds->slices, Slice, id);
      float *img = b->images + (gsize) it * C * plane;
      const float *src = s->image;
      const guint8 *s_start = ds->starts != NULL ? ds->starts + (gsize) id * plane : NULL;
      b->slice_ids[it] = id;
      if (ds->context > 0)
        {
          context_image (ds, s, ctx);
          src = ctx;
        }
      if (ds->options.augment)
        {
          NsAugmentParams ap = ds->options.augment_params;
          NsAugmentDraw draw;
          ap.background = 0.0f;   /* z-scored: 0 outside the brain */
          ns_augment_draw (&ap, item_key (ds->options.seed, index, it, KEY_AUGMENT), &draw);
          if (!ns_augment_apply (&draw, src, s->classes, C, H, W, img, lab, error)
              || (start != NULL
                  && !ns_augment_apply (&draw, NULL, s_start, 0, H, W, NULL, start, error)))
            return NULL;
        }
      else
        {
          memcpy (img, src, (gsize) C * plane * sizeof (float));
          memcpy (lab, s->classes, plane);
          if (start != NULL)
            memcpy (start, s_start, plane);
        }
      float *l = b->labels + (gsize) it * plane;
      for (gsize p = 0; p < plane; p++)
        l[p] = (float) lab[p];
      if (start != NULL)
        for (gsize p = 0; p < plane; p++)
          b->starts[(gsize) it * plane + p] = (float) start[p];
    }
  return g_steal_pointer (&b);
}

/* ---- the loader ---------------------------------------------------------------------- */

struct _NsBatchLoader
{
  NsDataset *ds;
  int batch_size;
  int depth;
  GMutex lock;
  GCond cond;
  guint64 next_to_make;        /* under lock */
  guint64 next_to_return;      /* under lock */
  gboolean stop;               /* under lock */
  GAsyncQueue *ready;          /* NsBatch, in any order */
  GHashTable *early;           /* index -> NsBatch that arrived before its turn */
  GPtrArray *threads;
  double wait_seconds;
};

static gpointer
loader_worker (gpointer data)
{
  NsBatchLoader *l = data;

  for (;;)
    {
      g_mutex_lock (&l->lock);
      while (!l->stop && l->next_to_make >= l->next_to_return + (guint64) l->depth)
        g_cond_wait (&l->cond, &l->lock);
      if (l->stop)
        {
          g_mutex_unlock (&l->lock);
          break;
        }
      guint64 index = l->next_to_make++;
      g_mutex_unlock (&l->lock);

      GError *error = NULL;
      NsBatch *b = ns_dataset_make_batch (l->ds, index, l->batch_size, &error);
      if (b == NULL)
        {
          b = g_new0 (NsBatch, 1);
          b->index = index;
          b->error = error;
        }
      g_async_queue_push (l->ready, b);
    }
  return NULL;
}

NsBatchLoader *
ns_batch_loader_new (NsDataset *ds, int batch_size, guint64 first, int n_workers, int depth)
{
  g_return_val_if_fail (ds != NULL && batch_size > 0, NULL);

  if (n_workers <= 0)
    n_workers = CLAMP ((int) g_get_num_processors (), 1, 4);
  if (depth <= 0)
    depth = 2 * n_workers;
  NsBatchLoader *l = g_new0 (NsBatchLoader, 1);
  l->ds = ds;
  l->batch_size = batch_size;
  l->depth = depth;
  g_mutex_init (&l->lock);
  g_cond_init (&l->cond);
  l->next_to_make = first;
  l->next_to_return = first;
  l->ready = g_async_queue_new_full ((GDestroyNotify) ns_batch_free);
  l->early = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                    (GDestroyNotify) ns_batch_free);
  l->threads = g_ptr_array_new ();
  for (int i = 0; i < n_workers; i++)
    g_ptr_array_add (l->threads, g_thread_new ("ns-batches", loader_worker, l));
  return l;
}

NsBatch *
ns_batch_loader_next (NsBatchLoader *l, GError **error)
{
  g_return_val_if_fail (l != NULL, NULL);

  g_mutex_lock (&l->lock);
  guint64 want = l->next_to_return;
  g_mutex_unlock (&l->lock);

  gint64 t0 = g_get_monotonic_time ();
  NsBatch *b = NULL;
  gint64 key = (gint64) want;
  if (!g_hash_table_steal_extended (l->early, &key, NULL, (gpointer *) &b))
    for (;;)
      {
        NsBatch *got = g_async_queue_pop (l->ready);
        if (got->index == want)
          {
            b = got;
            break;
          }
        /* the key points into the batch, which lives as long as its entry */
        g_hash_table_insert (l->early, &got->index, got);
      }
  l->wait_seconds += (g_get_monotonic_time () - t0) / 1e6;

  g_mutex_lock (&l->lock);
  l->next_to_return++;
  g_cond_broadcast (&l->cond);
  g_mutex_unlock (&l->lock);

  if (b->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&b->error));
      ns_batch_free (b);
      return NULL;
    }
  return b;
}

double
ns_batch_loader_get_wait_seconds (NsBatchLoader *l)
{
  g_return_val_if_fail (l != NULL, 0);
  return l->wait_seconds;
}

void
ns_batch_loader_free (NsBatchLoader *l)
{
  if (l == NULL)
    return;
  g_mutex_lock (&l->lock);
  l->stop = TRUE;
  g_cond_broadcast (&l->cond);
  g_mutex_unlock (&l->lock);
  for (guint i = 0; i < l->threads->len; i++)
    g_thread_join (l->threads->pdata[i]);
  g_ptr_array_unref (l->threads);
  g_async_queue_unref (l->ready);
  g_hash_table_unref (l->early);
  g_mutex_clear (&l->lock);
  g_cond_clear (&l->cond);
  g_free (l);
}
