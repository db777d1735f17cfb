/* SPDX-License-Identifier: MIT
 *
 * ns-dataset.h: the training set of the trainer: 2-D axial slices of a list of cases,
 * cropped to the brain with a fixed padded size, augmented, in batches prepared ahead of
 * the optimiser by worker threads.
 *
 * Loading.  Each case's modalities (the model's, by name, in its order) are normalised
 * by the model's rule exactly as the inference engine does it (ns_model_meta_normalise:
 * z-score, clipped or not, inside the case's brain mask, else each volume's voxels that
 * differ from its background value; 0 outside), its labels mapped to the BraTS 2017+
 * scheme and then to the model's class indices (meta->classes[k].value -> k; a label the
 * model has no class for is an error naming the file).  Only axial slices (along the third voxel axis) that contain brain
 * are kept.  Every slice is cut to crop_w x crop_h pixels centred on the case's in-plane
 * brain bounding box (the same centring as ns-infer.c; pixels outside the volume are
 * 0 and background), so that every slice of every case has one size.  Without a given
 * size, the size is the largest bounding box of the set rounded up to the model's size
 * multiple.
 *
 * 2.5-D (the model's context c > 0): a batch item holds C (2c + 1) channels, modality m
 * of planes k - c .. k + c (ns-model.h's order), each neighbour taken from the same case's
 * stored slices and 0 where it has none (no brain there or outside the volume: what
 * inference feeds there too); the augmentation moves all channels alike.
 *
 * Sampling.  A slice "has tumour" when any of its labels is not background.  Every item
 * of a batch first picks the tumour pool with probability ratio / (ratio + 1) (default
 * ratio 2: two tumour slices for one without; a pool that is empty is never picked), then
 * a slice uniformly in that pool, then an augmentation draw (ns-augment.h).  All three
 * are functions of (seed, batch index, item index) through a counter-based hash, so a
 * batch is a pure function of (dataset, seed, batch size, batch index): the same
 * whatever the number of worker threads and their timing, and a training run resumed at
 * step s reads exactly the batches s, s + 1, ... that an uninterrupted run reads.
 *
 * Loader.  ns_batch_loader_new() starts worker threads that build batches first, first +
 * 1, ... into a GAsyncQueue, at most `depth` batches ahead of the consumer (a bounded
 * queue: workers wait when they are that far ahead); ns_batch_loader_next() returns
 * them strictly in order, whatever order the workers finish in.
 */
#pragma once

#include <glib.h>

#include "ns-augment.h"
#include "ns-case.h"
#include "ns-model.h"

G_BEGIN_DECLS

typedef struct
{
  int crop_w;                  /* fixed padded width (along i) and height (along j); 0: */
  int crop_h;                  /*   largest brain box of the set, rounded up to size_multiple */
  int size_multiple;           /* 32 (mobilenetv2-unet) or 16 (unet); 0: 32 */
  double tumour_ratio;         /* tumour slices per slice without tumour; default 2 */
  gboolean augment;            /* apply `augment_params` (default TRUE) */
  NsAugmentParams augment_params; /* the paper's Table 1 by default */
  guint64 seed;
} NsDatasetOptions;

/* Defaults: automatic crop, size multiple 32, ratio 2, the paper's augmentation, seed 0. */
void ns_dataset_options_init (NsDatasetOptions *options);

typedef struct _NsDataset NsDataset;

/* One batch: images (n, c, h, w) float32 (c: ns_dataset_get_n_channels) and labels
 * (n, 1, h, w) holding class indices as floats (the layout ns_model_train_step() takes;
 * region models take the same, ns_region_loss makes the regions). */
typedef struct
{
  guint64 index;               /* batch index (the optimiser step it is for) */
  int n, c, h, w;
  float *images;               /* (n, c, h, w) */
  float *labels;               /* (n, 1, h, w) */
  int *slice_ids;              /* (n) which slice each item is (ns_dataset_slice_info) */
  float *starts;               /* (n, 1, h, w) class indices of the items' starts, moved by
                                  the same augmentation as the labels; NULL when the
                                  dataset has none (ns_dataset_set_starts) */
  GError *error;               /* set when the batch could not be made (memory) */
} NsBatch;

void       ns_batch_free            (NsBatch *batch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsBatch, ns_batch_free)

/* Loads the cases (folders or NIfTI files, NULL-terminated) for a model of meta (its
 * modalities and classes).  Errors name the case and the reason: a missing modality or
 * label map, labels outside the model's classes, no brain, no slice at all. */
NsDataset *ns_dataset_new            (const char *const *case_paths, const NsModelMeta *meta,
                                      const NsDatasetOptions *options, GError **error);
/* The same from loaded cases (referenced, not copied; their labels must be in the
 * BraTS 2017+ scheme or 2015, which is mapped). */
NsDataset *ns_dataset_new_from_cases (NsCase *const *cases, int n_cases,
                                      const NsModelMeta *meta,
                                      const NsDatasetOptions *options, GError **error);
void       ns_dataset_free           (NsDataset *dataset);

int        ns_dataset_get_n_cases    (NsDataset *dataset);
/* Case ids ("Brats18_CBICA_AAB_1"), NULL-terminated, owned by the dataset. */
const char *const *ns_dataset_get_case_ids (NsDataset *dataset);
int        ns_dataset_get_n_slices   (NsDataset *dataset);
int        ns_dataset_get_n_tumour_slices (NsDataset *dataset);
void       ns_dataset_get_crop_size  (NsDataset *dataset, int *w, int *h);
/* Channels of a batch item: modalities x (2 context + 1). */
int        ns_dataset_get_n_channels (NsDataset *dataset);
guint64    ns_dataset_get_seed       (NsDataset *dataset);
/* Where slice `id` comes from: case index, k of the slice, whether it has tumour. */
void       ns_dataset_slice_info     (NsDataset *dataset, int id, int *case_index, int *k,
                                      gboolean *has_tumour);
/* The un-augmented slice `id`: image (modalities, h, w), without its context, and class
 * indices (h, w); borrowed. */
void       ns_dataset_peek_slice     (NsDataset *dataset, int id, const float **image,
                                      const guint8 **classes);

/* Starts: per case (in case order, n_cases maps) a label map on the case's grid, in the
 * BraTS 2017+ scheme (the automatic prediction of the case, which interactive training
 * corrects: ns-interact-train.c), cut and mapped to the model's classes like the labels;
 * every batch then carries them (NsBatch.starts).  Errors name the map's file: another
 * grid, or a label that is not one of the model's classes. */
gboolean   ns_dataset_set_starts     (NsDataset *dataset, NsLabelMap *const *starts,
                                      GError **error);
gboolean   ns_dataset_has_starts     (NsDataset *dataset);

/* Builds batch `index` of `batch_size` items synchronously (what the workers do).  NULL
 * + error only when memory runs out. */
NsBatch   *ns_dataset_make_batch     (NsDataset *dataset, guint64 index, int batch_size,
                                      GError **error);

typedef struct _NsBatchLoader NsBatchLoader;

/* Starts n_workers threads (0: one per processor, at most 4) preparing batches first,
 * first + 1, ... at most depth (0: 2 x n_workers) ahead of ns_batch_loader_next().  The
 * dataset must outlive the loader. */
NsBatchLoader *ns_batch_loader_new   (NsDataset *dataset, int batch_size, guint64 first,
                                      int n_workers, int depth);
/* The next batch in order (blocks until it is ready); NULL + error when it could not be
 * made. */
NsBatch   *ns_batch_loader_next      (NsBatchLoader *loader, GError **error);
/* Seconds the consumer spent waiting in ns_batch_loader_next() so far (the time the
 * optimiser was starved). */
double     ns_batch_loader_get_wait_seconds (NsBatchLoader *loader);
/* Stops the workers (a batch being built is finished and dropped) and frees. */
void       ns_batch_loader_free      (NsBatchLoader *loader);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsDataset, ns_dataset_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsBatchLoader, ns_batch_loader_free)

G_END_DECLS
