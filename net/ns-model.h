/* SPDX-License-Identifier: MIT
 *
 * ns-model.h: the two segmentation networks of Neuroseg and their metadata.
 *
 * `mobilenetv2-unet` (the paper's model: torchvision's MobileNetV2 features as encoder,
 * a five-block U-Net decoder, 6,629,092 parameters for 2 inputs and 4 classes) and
 * `unet` (Ronneberger 2015 with same padding and batch-norm, the baseline).  A model is
 * a small graph of backend ops; its trainable parameters live in one flat tensor (and so
 * do their gradients and Adam's m and v), batch-norm running statistics in a second one.
 *
 * Modes: TRAIN (batch statistics, activations kept for backward), EVAL (running
 * statistics, activations freed as soon as they are used), INFER (batch-norm folded into
 * the convolution weights on the host, convolutions with fused activation; the fastest
 * forward; refolded automatically after the parameters change).
 *
 * Typical training loop (llm.c order):
 *   model = ns_model_new (backend, meta, &init, &error);
 *   ns_model_set_mode (model, NS_MODEL_TRAIN);
 *   for each batch:
 *     ns_model_zero_grad (model);
 *     logits = ns_model_forward (model, input, &error);       (N, classes, H, W)
 *     loss = ns_softmax_dice_ce_forward (probs, logits, labels);
 *     ns_softmax_dice_ce_backward (dlogits, probs, labels);
 *     ns_model_backward (model, dlogits);
 *     ns_model_adam_step (model, &adam);                       (adam.step is set here)
 *     if (!ns_backend_check (backend, &error)) fail;           (the step's status)
 * or simply ns_model_train_step ().
 */
#pragma once

#include <glib.h>

#include "ns-backend.h"
#include "ns-case.h"
#include "ns-normalize.h"
#include "ns-postprocess.h"
#include "ns-volume.h"

G_BEGIN_DECLS

/* Newest version of the checkpoint format (tensor names + metadata keys) this build reads.
 * It writes 2 only for models that version-1 readers would run wrongly (region outputs,
 * 2.5-D context, a normalisation they do not know), 3 for interactive models (which
 * version-2 readers would take for segmentation models), so that those refuse them with
 * "update neuroseg"; every other model is written as version 1. */
#define NS_MODEL_FORMAT_VERSION 3

typedef struct
{
  int value;            /* label value in the output map (BraTS 2017+: 0, 1, 2, 4) */
  char *name;           /* "background", "NCR/NET", "edema", "enhancing" */
  guint8 colour[3];     /* sRGB overlay colour */
} NsModelClass;

/* What a model is: architecture, inputs, outputs, normalisation, provenance.  Written to
 * and read from a checkpoint's __metadata__ (net/README.md). */
typedef struct
{
  char *arch;            /* "mobilenetv2-unet" or "unet" */
  char **modalities;     /* NULL-terminated input channels in order, named as
                          * ns_modality_name(), e.g. {"flair", "t1c"} */
  int n_classes;
  NsModelClass *classes; /* (n_classes); class index 0 is background */
  char *normalisation;   /* "zscore-brain": z-score inside the brain mask (DESIGN.md);
                          * "zscore-brain-clip": the same after clipping each volume's
                          * brain intensities to its 0.5 and 99.5 percentiles */
  /* Outputs.  n_regions 0: one output per class, softmax, the class is the argmax.
   * n_regions > 0 (n_classes - 1 of them): nested regions, one sigmoid output each,
   * outermost first; regions[r] is the label value region r adds to region r + 1, so
   * region r = {regions[r], ..., regions[n - 1]}.  BraTS (nnU-Net's region targets):
   * {2, 1, 4}: WT = {2, 1, 4}, TC = {1, 4}, ET = {4}.  A voxel gets the label of the
   * innermost region whose probability is above 0.5 within the chain of regions above
   * 0.5 from the outermost (0 when WT is not). */
  int n_regions;
  int *regions;          /* (n_regions) label values */
  /* 2.5-D: the axial slices k - context .. k + context of each modality are the input
   * channels (modality-major: channel m (2 context + 1) + context + d is modality m at
   * slice k + d); slices outside the volume are 0.  0: one slice. */
  int context;
  /* What inference does to the label map after the last pass (data/ns-postprocess.h);
   * all 0: nothing. */
  NsPostprocessParams postprocess;
  /* Interactive correction (net/ns-interact.h).  0: a segmentation model.
   * NS_INTERACT_N_CHANNELS (3): an interactive model, whose input channels after the
   * image channels are the target region's current mask and the positive and negative
   * click maps; it has one region output (classes background and "region", regions {1}),
   * no context.  The metadata key "interactive" records these inputs. */
  int n_interaction;
  /* provenance (any may be NULL / 0) */
  char *name;            /* human-readable model name */
  char *parent;          /* checkpoint this one was fine-tuned from */
  char **cases;          /* NULL-terminated case names it was trained on */
  int epochs;
  char *metrics;         /* JSON object text, e.g. {"dice_wt": 0.91, "dice_tc": 0.85} */
  char *date;            /* ISO 8601 */
  char *command;         /* command line that produced it */
} NsModelMeta;

/* The defaults: mobilenetv2-unet, FLAIR + T1c in, BraTS classes 0/1/2/4 with their
 * usual colours, z-score normalisation, no provenance. */
NsModelMeta *ns_model_meta_new_default (const char *arch);
NsModelMeta *ns_model_meta_copy        (const NsModelMeta *meta);
void         ns_model_meta_free        (NsModelMeta *meta);
/* Input volumes (modalities). */
int          ns_model_meta_n_inputs    (const NsModelMeta *meta);
/* Input channels of the network: n_inputs x (2 context + 1) + n_interaction. */
int          ns_model_meta_n_channels  (const NsModelMeta *meta);
/* Output channels of the network: n_regions, or n_classes without regions. */
int          ns_model_meta_n_outputs   (const NsModelMeta *meta);
/* The interactive model (ns-interact.h) for the inputs, normalisation and architecture
 * of base: classes background and "region", one region output, 3 interaction channels,
 * no context, no post-processing, no provenance. */
NsModelMeta *ns_model_meta_new_interactive (const NsModelMeta *base);
/* Whether meta is an interactive model (n_interaction > 0). */
gboolean     ns_model_meta_is_interactive (const NsModelMeta *meta);
/* FALSE + NS_NET_ERROR_FAILED when meta is not of the kind wanted (interactive or a
 * segmentation model), naming the model (meta->name, else `path`, nullable) and what it
 * is. */
gboolean     ns_model_meta_check_kind  (const NsModelMeta *meta, gboolean interactive,
                                        const char *path, GError **error);
/* Switches meta (BraTS classes 0, 1, 2, 4) to nnU-Net's BraTS regions {2, 1, 4}. */
void         ns_model_meta_set_brats_regions (NsModelMeta *meta);
/* The number of regions that hold class index k (regions 0 .. depth - 1 do); 0 for a
 * class in no region (background) and for every class of a model without regions. */
int          ns_model_meta_region_depth (const NsModelMeta *meta, int k);
/* The modalities, the inputs of the network, as one line for people: "FLAIR, T1c",
 * with "(2.5-D, +-1 slice)" when it has context, "+ region mask and clicks
 * (interactive)" for an interactive model (owned). */
char        *ns_model_meta_dup_inputs_text (const NsModelMeta *meta);
/* The first of meta's inputs that a case with the modalities `present` (indexed by
 * NsModality: a loaded case's modality[m] != NULL, or a described case's files[m] !=
 * NULL) lacks, borrowed from meta; NULL when the case can feed the model.  How a caller
 * picks, among several models, one the case can feed, or names the missing sequence. */
const char  *ns_model_meta_missing_input (const NsModelMeta *meta,
                                          const gboolean present[NS_N_MODALITIES]);
/* The model's normalisation of one input volume inside brain_mask (nullable: the
 * volume's own, ns_normalize_brain_mask); the one rule the trainer and the inference
 * engine share. */
NsVolume    *ns_model_meta_normalise   (const NsModelMeta *meta, const NsVolume *volume,
                                        const NsLabelMap *brain_mask, GError **error);
/* The same normalisation as a transform (ns-normalize.h) to apply a slice at a time with
 * ns_normalize_apply (), which gives the bits ns_model_meta_normalise () gives. */
gboolean     ns_model_meta_normalise_transform (const NsModelMeta *meta,
                                                const NsVolume *volume,
                                                const NsLabelMap *brain_mask,
                                                NsNormalizeTransform *transform,
                                                GError **error);
/* Whether meta describes a model this build can run: a known architecture, 1 to 64
 * distinct modalities, 2 to 255 named classes with distinct label values 0..255, a known
 * normalisation ("zscore-brain", "zscore-brain-clip"), regions that are n_classes - 1
 * distinct label values of non-background classes, a context of 0..8 with at most 64
 * input channels, post-processing labels among the classes.  The error
 * (NS_NET_ERROR_FAILED) says what is wrong. */
gboolean     ns_model_meta_check       (const NsModelMeta *meta, GError **error);
/* TRUE for "mobilenetv2-unet" and "unet". */
gboolean     ns_model_arch_is_known    (const char *arch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsModelMeta, ns_model_meta_free)

typedef enum
{
  NS_INIT_NORMAL,        /* weights N(0, std), biases 0 (the paper: std 0.01) */
  NS_INIT_KAIMING,       /* weights N(0, sqrt(2 / fan_in)), biases 0 */
  NS_INIT_NONE,          /* weights 0 (about to be loaded from a checkpoint) */
} NsInitKind;

typedef struct
{
  NsInitKind kind;
  float std;             /* NS_INIT_NORMAL; 0 means 0.01 */
  guint64 seed;          /* every draw is a function of (seed, element index) */
} NsModelInit;

typedef enum
{
  NS_MODEL_TRAIN,
  NS_MODEL_EVAL,
  NS_MODEL_INFER,
} NsModelMode;

typedef struct _NsModel NsModel;

/* Builds the network described by meta (copied) on backend (borrowed: it must outlive
 * the model) and initialises it (init NULL: the paper's N(0, 0.01), seed 0).
 * Batch-norm: gamma 1, beta 0, running mean 0, running variance 1. */
NsModel           *ns_model_new           (NsBackend *backend, const NsModelMeta *meta,
                                           const NsModelInit *init, GError **error);
void               ns_model_free          (NsModel *model);
/* The same network and values (parameters, batch-norm statistics, metadata, step) on
 * another backend, in INFER mode; the optimiser state is not copied.  For moving an
 * inference to the CPU when the GPU runs out of memory or fails.  Checks both backends
 * (ns_backend_check): a device that cannot give its values back is an error. */
NsModel           *ns_model_clone_to      (NsModel *model, NsBackend *backend,
                                           GError **error);
const NsModelMeta *ns_model_get_meta      (NsModel *model);
/* Replaces the provenance part (and name) of the metadata; arch/inputs/classes stay. */
void               ns_model_set_meta      (NsModel *model, const NsModelMeta *meta);
NsBackend         *ns_model_get_backend   (NsModel *model);
/* Trainable parameters (weights, biases, batch-norm gamma and beta). */
gsize              ns_model_n_parameters  (NsModel *model);
/* Input H and W must be multiples of this (32 for mobilenetv2-unet, 16 for unet). */
int                ns_model_get_size_multiple (NsModel *model);

void               ns_model_set_mode      (NsModel *model, NsModelMode mode);
NsModelMode        ns_model_get_mode      (NsModel *model);

/* input (N, n_inputs, H, W) on the model's backend.  Returns the logits (N, n_classes,
 * H, W), owned by the model and valid until the next forward or ns_model_trim(); NULL
 * and an error when the shape does not fit or memory runs out.  The ops are queued:
 * whether they ran is ns_backend_check()'s answer, before the logits are used. */
NsTensor          *ns_model_forward       (NsModel *model, NsTensor *input, GError **error);
/* After a TRAIN forward: back-propagates dlogits (same shape as the logits) and
 * ACCUMULATES the parameter gradients.  Like the ops, it returns nothing: a failure (an
 * op, or no memory for a gradient) is recorded in the backend, for ns_backend_check(). */
void               ns_model_backward      (NsModel *model, NsTensor *dlogits);
void               ns_model_zero_grad     (NsModel *model);
/* One Adam update of every trainable parameter; p->step is ignored and the model's own
 * step counter (incremented here) is used for bias correction. */
void               ns_model_adam_step     (NsModel *model, const NsAdamParams *p);
int                ns_model_get_step      (NsModel *model);

/* One whole step: zero-grad, forward, softmax + Dice + CE loss, backward, Adam, then
 * ns_backend_check().  images host float32 (n, n_inputs, h, w); labels host float32
 * (n, 1, h, w) holding CLASS INDICES 0..n_classes-1.  Returns the loss before the update;
 * NaN + error when the step failed (an op of the backend included), after which the
 * parameters are undefined. */
float              ns_model_train_step    (NsModel *model, const float *images,
                                           const float *labels, int n, int h, int w,
                                           const NsAdamParams *p, GError **error);

/* The loss of region targets (nnU-Net's BraTS recipe), on the host in double precision:
 * sigmoid per output, then binary cross-entropy (mean over every output of every pixel)
 * + soft Dice (1 - mean over the regions of (2 sum p y + 1) / (sum p + sum y + 1), sums
 * over the whole batch, as ns_softmax_dice_ce_forward's Dice).  logits (n, R, hw);
 * classes (n, hw) class indices as floats; depth[k] (n_classes) the regions holding class
 * k (ns_model_meta_region_depth): the target of region r is r < depth[class].  Writes
 * dlogits (=, same shape as logits; NULL: the loss only) and returns the loss, or NaN
 * for a class index outside 0..n_classes-1. */
double             ns_region_loss         (float *dlogits, const float *logits,
                                           const float *classes, const int *depth,
                                           int n_classes, int n, int n_regions, gsize hw);

/* Frees the cached activations, gradients and workspace (e.g. after a batch of an
 * unusual shape).  The next forward reallocates them. */
void               ns_model_trim          (NsModel *model);
/* Bytes of activations one slice of h x w needs in the current mode's forward at its
 * peak (INFER/EVAL: live tensors only; TRAIN: everything kept for backward plus the
 * gradients), counted as float32.  Used to size batches by a memory budget. */
gsize              ns_model_bytes_per_slice (NsModel *model, int h, int w);
/* Forward multiply-adds x 2 of one slice of h x w (convolutions only). */
double             ns_model_flops_per_slice (NsModel *model, int h, int w);

/* Per-op-type timing for benchmarks: when on, every op is followed by a synchronize and
 * its wall time added to a per-type sum.  Types: "conv3x3", "conv1x1", "depthwise",
 * "conv-other", "batchnorm", "relu", "add", "concat", "upsample", "maxpool", "convt",
 * "fold". */
void               ns_model_set_profiling (NsModel *model, gboolean on);
/* name -> seconds (gdouble *) since profiling was switched on; owned by the model. */
GHashTable        *ns_model_get_profile   (NsModel *model);

/* ---- parameters by name (checkpoints, tests) ------------------------------------------ */

/* Every stored tensor: trainable parameters then batch-norm running statistics, in
 * network order, with the names of net/README.md. */
int                ns_model_n_tensors     (NsModel *model);
const char        *ns_model_tensor_name   (NsModel *model, int index);
void               ns_model_tensor_shape  (NsModel *model, int index, int shape[4]);
/* Number of dimensions the tensor has in PyTorch (4 for conv weights, 1 for vectors). */
int                ns_model_tensor_ndim   (NsModel *model, int index);
gsize              ns_model_tensor_size   (NsModel *model, int index);
gboolean           ns_model_tensor_is_trainable (NsModel *model, int index);
int                ns_model_find_tensor   (NsModel *model, const char *name);
/* Host float32 copies in and out (values only; uploads mark the folded weights stale). */
void               ns_model_tensor_get    (NsModel *model, int index, float *values);
void               ns_model_tensor_set    (NsModel *model, int index, const float *values);
/* The flat tensors (for tests and the trainer): trainable values and their gradients. */
NsTensor          *ns_model_get_flat_params (NsModel *model);
NsTensor          *ns_model_get_flat_grads  (NsModel *model);
/* Offset (in floats) of a trainable tensor in the flat buffers, or -1. */
gssize             ns_model_tensor_offset (NsModel *model, int index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsModel, ns_model_free)

G_END_DECLS
