/* SPDX-License-Identifier: MIT
 *
 * ns-infer.h: whole-volume segmentation with a model.
 *
 * The volumes (the model's modalities, in its order) are normalised by the model's rule
 * (ns_model_meta_normalise: a z-score inside the brain, the given mask, else each
 * volume's voxels that differ from its background value), cropped in-plane to the
 * bounding box of the brain (the union of the masks) padded to a multiple of the model's
 * size (32), and the axial slices (along the third voxel axis, k) that contain brain are
 * run through the model in INFER mode, in batches sized by a memory budget; a 2.5-D model
 * gets each slice's neighbours as extra channels (ns-model.h).  The class of each voxel
 * is the argmax of the logits (softmax models) or the innermost region above 0.5
 * (region models, ns-model.h), written as the class's label value (BraTS 0, 1, 2, 4).
 * Voxels outside the brain, on slices without brain and outside the crop are background
 * (0); their probabilities, when asked for, are 1 for background and 0 otherwise.  A
 * region model's class probabilities are the chain's: P(background) = 1 - q0, P(class
 * adding region d) = q0 ... q(d-1) (1 - qd), with q the regions' sigmoids.
 *
 * Test-time augmentation (options.tta): after the plain pass, the same slices run
 * mirrored (1: left-right; 3: left-right, up-down and both) and the probabilities of all
 * passes are averaged.  The plain pass reports its slices as usual (slices_ready: a live
 * preview); the last pass reports them again, refined; progress counts the slices of
 * every pass.  Post-processing (the model's metadata, data/ns-postprocess.h, unless
 * options.no_postprocess or replaced by options.postprocess) changes the label map after
 * the last pass; the probabilities stay those of the network.
 *
 * Memory: the batch is sized by the budget, and by the backend's free memory when it
 * reports it (GPUs).  A batch that runs out of memory is retried at half the size; when
 * even one slice does not fit, the model is copied to the CPU and the remaining slices run
 * there.  Out of memory never aborts.
 *
 * Device failures: each batch ends with ns_backend_check().  When an op of a device other
 * than the CPU failed, the model is copied to the CPU and the batch runs again there, the
 * slices done before staying as they were; on the CPU itself a failure is the error.
 *
 * Either move sets stats.cpu_fallback, stats.fallback (why) and stats.note, one sentence
 * for the user ("the GPU failed: <reason>, finishing on the CPU"); callers show the note.
 * no_cpu_fallback makes both an error instead.
 *
 * Thread use: runs in the caller's thread (the GUI wraps it in a GTask); progress is
 * called from that thread after each batch; the cancellable is checked before each
 * batch, so cancelling stops within one batch.
 */
#pragma once

#include <gio/gio.h>

#include "ns-case.h"
#include "ns-model.h"
#include "ns-volume.h"

G_BEGIN_DECLS

/* slices_done of slices_total (the slices that contain brain). */
typedef void (*NsInferProgressFunc) (int slices_done, int slices_total, gpointer user_data);
/* After each batch, before its progress report: the axial slices (k indices, ascending)
 * whose labels are now final in `labels` (the result's map, on the input grid; planes of
 * dim[0] * dim[1] bytes at k * dim[0] * dim[1]).  Only those planes may be read, and only
 * during the call: the engine writes the others meanwhile, and frees the map on error or
 * cancel.  For showing a prediction slice by slice as it arrives. */
typedef void (*NsInferSlicesFunc) (const NsLabelMap *labels, const int *slices, int n_slices,
                                   gpointer user_data);

typedef struct
{
  gsize memory_budget;            /* bytes for one batch (activations + I/O); 0: 1 GiB,
                                   * or 90 % of the device's free memory if less; 256 MiB
                                   * on the CPU (no device memory to go by) */
  int max_batch;                  /* upper bound on slices per batch; 0: none */
  gboolean want_probabilities;    /* also return one probability volume per class */
  gboolean want_entropy;          /* also return the normalised entropy of the softmax
                                   * (one volume, not K: what an uncertainty view needs) */
  NsInferProgressFunc progress;   /* nullable */
  gpointer progress_data;
  NsInferSlicesFunc slices_ready; /* nullable */
  gpointer slices_data;
  gboolean no_cpu_fallback;       /* out of memory at one slice, or a failing device, is
                                   * an error, not a move to the CPU */
  int tta;                        /* mirrored passes after the plain one: 0, 1 (left-right)
                                   * or 3 (left-right, up-down, both) */
  gboolean no_postprocess;        /* skip the model's post-processing */
  const NsPostprocessParams *postprocess; /* nullable: instead of the model's */
  GCancellable *cancellable;      /* nullable */
} NsInferOptions;

typedef enum
{
  NS_INFER_FALLBACK_NONE,
  NS_INFER_FALLBACK_OUT_OF_MEMORY,  /* the device could not hold even one slice */
  NS_INFER_FALLBACK_DEVICE_FAILED,  /* an op failed on the device (ns_backend_check) */
} NsInferFallback;

typedef struct
{
  /* seconds */
  double normalise;               /* brain masks and z-scores */
  double crop;                    /* bounding box and filling the batches */
  double forward;                 /* upload, network, softmax, download */
  double postprocess;             /* argmax, label values, probabilities, uncrop, and the
                                   * label map's post-processing */
  double first_pass;              /* seconds from the start until the plain pass was done
                                   * (what a live preview waits for) */
  int passes;                     /* 1 + the mirrored passes */
  NsPostprocessStats postprocess_stats;
  double total;
  /* what ran */
  int slices_total;               /* slices of the volume (dim[2]) */
  int slices_run;                 /* slices with brain that went through the network */
  int batch_size;
  int n_batches;
  int crop_origin[2];             /* (i, j) of the crop's first column and row (may be < 0) */
  int crop_size[2];               /* width (along i) and height (along j), multiples of 32 */
  int bbox[6];                    /* brain bounding box i0, i1, j0, j1, k0, k1 (inclusive) */
  double gflop;                   /* network forward work done */
  /* memory */
  gsize device_free;              /* free device memory at the start (0: unknown) */
  int oom_retries;                /* batches that ran out of memory and were retried */
  gboolean cpu_fallback;          /* the rest ran on the CPU (fallback says why) */
  NsInferFallback fallback;
  char fallback_reason[256];      /* the error that caused it */
  char note[512];                 /* for the user, when cpu_fallback: "the GPU failed:
                                   * <reason>, finishing on the CPU", or "... ran out of
                                   * memory even for one slice (<reason>), finishing on
                                   * the CPU"; "" otherwise */
  char device[64];                /* where the last batch ran */
} NsInferStats;

typedef struct
{
  NsLabelMap *labels;             /* on the input grid, label values of the classes */
  int n_classes;
  NsVolume **probabilities;       /* (n_classes) on the input grid, or NULL */
  NsVolume *entropy;              /* -sum p log p / log K per voxel, in [0, 1] (0 outside
                                   * the brain), or NULL */
  NsInferStats stats;
} NsInferResult;

/* inputs: n_inputs volumes on one grid, in the order of the model's modalities.
 * brain_mask (nullable) on that grid.  The model is switched to NS_MODEL_INFER.
 * Errors: grids that differ, the wrong number of inputs, memory, NS_NET_ERROR_CANCELLED. */
NsInferResult *ns_infer_run         (NsModel *model, NsVolume *const *inputs, int n_inputs,
                                     const NsLabelMap *brain_mask,
                                     const NsInferOptions *options, GError **error);
/* The same for a loaded case: picks the model's modalities from it (and its brain mask
 * when it has one); a modality the case lacks is an error naming it. */
NsInferResult *ns_infer_run_case    (NsModel *model, NsCase *ncase,
                                     const NsInferOptions *options, GError **error);
void           ns_infer_result_free (NsInferResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsInferResult, ns_infer_result_free)

G_END_DECLS
