/* SPDX-License-Identifier: MIT
 *
 * ns-trainer.c: the training loop (see ns-trainer.h), in llm.c's named steps: set-up
 * (backend, model, data, plan, optimiser, resume, batch tensors), then per step
 * forward, zero-grad, backward, update and the backend's status, and per epoch
 * validate and save.
 *
 * The step is ns_model_train_step()'s sequence written out with the Adam update done
 * here on moments the trainer owns, so that they can be saved and restored for an exact
 * resume; the model's own Adam state is private to it.  ns_adam_update() writes the flat
 * parameters directly, so before each validation the folded inference weights are marked
 * stale by re-setting one tensor (ns_model_tensor_set is the public way to say "the
 * parameters changed").
 *
 * Every step ends with ns_backend_check(): a failing op of the device fails the run with
 * its error, before anything of that step is saved.
 *
 * Validation runs the inference engine (net/ns-infer.h) on whole held-out volumes, the
 * same path `neuroseg segment` takes, so the Dice reported during training is the Dice
 * the shipped model gets.
 *
 * Saving at the end of an epoch writes the best model, then X.last.safetensors, then the
 * state, each atomically (ns-safetensors-private.h): the state, written last, is the one
 * file a resume reads, and everything written before it is what the resumed run writes
 * again, bit for bit, if a crash comes in between.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-trainer-private.h"

#include "ns-checkpoint-private.h"
#include "ns-data-error.h"
#include "ns-imagenet.h"
#include "ns-infer.h"
#include "ns-interact-train-private.h"
#include "ns-interact.h"
#include "ns-json.h"
#include "ns-metrics.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#define DEFAULT_IMAGENET "../shared/models/imagenet/mobilenet_v2_1.0_224_quant.tflite"

void
ns_trainer_options_init (NsTrainerOptions *o)
{
  g_return_if_fail (o != NULL);
  memset (o, 0, sizeof *o);
  o->arch = g_strdup ("mobilenetv2-unet");
  o->init = g_strdup ("none");
  o->device = g_strdup ("auto");
  o->epochs = 100;
  o->batch_size = 8;
  o->lr = 1e-4;
  o->schedule = NS_SCHEDULE_NONE;
  o->step_epochs = 30;
  o->step_gamma = 0.1;
  o->dtype = NS_DTYPE_F32;
  o->progress_every = 1;
  ns_dataset_options_init (&o->data);
}

void
ns_trainer_options_clear (NsTrainerOptions *o)
{
  if (o == NULL)
    return;
  g_clear_pointer (&o->train_cases, g_strfreev);
  g_clear_pointer (&o->val_cases, g_strfreev);
  g_clear_pointer (&o->arch, g_free);
  g_clear_pointer (&o->init, g_free);
  g_clear_pointer (&o->imagenet_path, g_free);
  g_clear_pointer (&o->modalities, g_strfreev);
  g_clear_pointer (&o->normalisation, g_free);
  g_clear_pointer (&o->interactive_starts, g_free);
  g_clear_pointer (&o->device, g_free);
  g_clear_pointer (&o->output, g_free);
  g_clear_pointer (&o->resume, g_free);
  g_clear_pointer (&o->command_line, g_free);
}

void
ns_trainer_result_clear (NsTrainerResult *r)
{
  if (r == NULL)
    return;
  g_clear_pointer (&r->best_path, g_free);
  g_clear_pointer (&r->last_path, g_free);
  g_clear_pointer (&r->device, g_free);
}

char *
ns_trainer_last_path (const char *output)
{
  g_return_val_if_fail (output != NULL, NULL);
  if (g_str_has_suffix (output, ".safetensors"))
    {
      g_autofree char *stem = g_strndup (output, strlen (output) - strlen (".safetensors"));
      return g_strconcat (stem, ".last.safetensors", NULL);
    }
  return g_strconcat (output, ".last.safetensors", NULL);
}

char *
ns_trainer_state_path (const char *last)
{
  g_return_val_if_fail (last != NULL, NULL);
  return g_strconcat (last, ".state", NULL);
}

double
ns_trainer_lr_at (const NsTrainerOptions *o, gint64 step, gint64 total, int spe)
{
  switch (o->schedule)
    {
    case NS_SCHEDULE_COSINE:
      if (total <= 1)
        return o->lr;
      return o->lr * 0.5 * (1.0 + cos (G_PI * (double) MIN (step, total) / (double) total));
    case NS_SCHEDULE_STEP:
      {
        int epoch = spe > 0 ? (int) (step / spe) : 0;
        int k = o->step_epochs > 0 ? epoch / o->step_epochs : 0;
        return o->lr * pow (o->step_gamma, k);
      }
    case NS_SCHEDULE_NONE:
    default:
      return o->lr;
    }
}

gboolean
ns_trainer_options_load_state (NsTrainerOptions *o, const char *last, GError **error)
{
  g_return_val_if_fail (o != NULL && last != NULL, FALSE);
  g_autofree char *spath = ns_trainer_state_path (last);
  g_autofree char *opts = _ns_trainer_state_dup_options (spath, error);
  if (opts == NULL || !_ns_trainer_options_from_json (o, opts, spath, error))
    return FALSE;
  g_free (o->resume);
  o->resume = g_strdup (last);
  return TRUE;
}

/* ---- model set-up --------------------------------------------------------------------- */

static gboolean
load_imagenet (NsModel *model, const char *path, GError **error)
{
  if (g_str_has_suffix (path, ".safetensors"))
    return ns_checkpoint_load_into (model, path, error);
  g_autoptr (NsImagenetWeights) w = ns_imagenet_weights_new_from_file (path, error);
  if (w == NULL)
    return FALSE;
  return ns_imagenet_load_encoder (model, w, error);
}

/* What the options make: arch, inputs, targets, normalisation, post-processing. */
static NsModelMeta *
options_meta (const NsTrainerOptions *o)
{
  NsModelMeta *meta = ns_model_meta_new_default (o->arch);
  if (o->modalities != NULL && o->modalities[0] != NULL)
    {
      g_strfreev (meta->modalities);
      meta->modalities = g_strdupv (o->modalities);
    }
  if (o->regions)
    ns_model_meta_set_brats_regions (meta);
  meta->context = o->context;
  if (o->normalisation != NULL)
    {
      g_free (meta->normalisation);
      meta->normalisation = g_strdup (o->normalisation);
    }
  meta->postprocess = o->postprocess;
  if (o->interactive)
    {
      NsModelMeta *im = ns_model_meta_new_interactive (meta);
      ns_model_meta_free (meta);
      return im;
    }
  return meta;
}

/* An interactive model warm-started from the segmentation checkpoint `path` (meta pm):
 * its inputs and normalisation; every tensor whose name and shape fit; the first
 * convolution's weights for the image channels, 0 for the interaction channels (so the
 * warm-started model starts as the segmentation network's features); the head from the
 * first region of a region model, else anew. */
static NsModel *
warm_start_interactive (NsBackend *be, const NsModelMeta *pm, const NsModelInit *init,
                        const char *path, char **parent, GError **error)
{
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_interactive (pm);
  g_autoptr (NsModel) model = ns_model_new (be, meta, init, error);
  if (model == NULL)
    return NULL;
  g_autoptr (NsModel) from = ns_checkpoint_load (path, be, error);
  if (from == NULL)
    return NULL;
  int fresh = 0, C = ns_model_meta_n_channels (pm);
  for (int i = 0; i < ns_model_n_tensors (model); i++)
    {
      int j = ns_model_find_tensor (from, ns_model_tensor_name (model, i));
      int a[4], b[4];
      ns_model_tensor_shape (model, i, a);
      if (j >= 0)
        ns_model_tensor_shape (from, j, b);
      gboolean first_conv = j >= 0 && a[0] == b[0] && a[2] == b[2] && a[3] == b[3]
                            && b[1] == C && a[1] == C + NS_INTERACT_N_CHANNELS;
      /* the head of a region model: its first output (the outermost region, WT) starts
       * the interactive model's one output, which a fresh head would make noise of */
      gboolean head = j >= 0 && pm->n_regions > 0 && b[0] == pm->n_regions && a[0] == 1
                      && a[1] == b[1] && a[2] == b[2] && a[3] == b[3];
      if (j < 0 || (memcmp (a, b, sizeof a) != 0 && !first_conv && !head))
        {
          fresh++;
          continue;
        }
      g_autofree float *v = g_new0 (float, ns_model_tensor_size (model, i));
      g_autofree float *w = g_new (float, ns_model_tensor_size (from, j));
      ns_model_tensor_get (from, j, w);
      if (head)
        memcpy (v, w, sizeof (float) * ns_model_tensor_size (model, i));
      else if (!first_conv)
        memcpy (v, w, sizeof (float) * ns_model_tensor_size (from, j));
      else
        for (int o = 0; o < a[0]; o++)
          memcpy (v + (gsize) o * a[1] * a[2] * a[3], w + (gsize) o * b[1] * b[2] * b[3],
                  sizeof (float) * b[1] * b[2] * b[3]);
      ns_model_tensor_set (model, i, v);
    }
  if (!ns_backend_check (be, error))
    return NULL;
  g_debug ("%s: warm start of an interactive model, %d tensors initialised anew", path, fresh);
  *parent = g_strdup (path);
  return g_steal_pointer (&model);
}

/* A region model warm-started from a softmax checkpoint `path` of meta pm: the same
 * inputs and normalisation, every tensor of the checkpoint whose name and shape fit (the
 * encoder and decoder), the head (classes -> regions) from `init`. */
static NsModel *
warm_start_regions (NsBackend *be, NsModelMeta *pm, const NsModelInit *init, const char *path,
                    char **parent, GError **error)
{
  ns_model_meta_set_brats_regions (pm);
  g_autoptr (NsModel) model = ns_model_new (be, pm, init, error);
  if (model == NULL)
    return NULL;
  g_autoptr (NsModel) from = ns_checkpoint_load (path, be, error);
  if (from == NULL)
    return NULL;
  int fresh = 0;
  for (int i = 0; i < ns_model_n_tensors (model); i++)
    {
      int j = ns_model_find_tensor (from, ns_model_tensor_name (model, i));
      int a[4], b[4];
      ns_model_tensor_shape (model, i, a);
      if (j >= 0)
        ns_model_tensor_shape (from, j, b);
      if (j < 0 || memcmp (a, b, sizeof a) != 0)
        {
          fresh++;
          continue;
        }
      g_autofree float *v = g_new (float, ns_model_tensor_size (model, i));
      ns_model_tensor_get (from, j, v);
      ns_model_tensor_set (model, i, v);
    }
  if (!ns_backend_check (be, error))
    return NULL;
  /* the parent is the path alone: the registry finds the parent version by it */
  g_debug ("%s: warm start of a region model, %d tensors of the head initialised anew", path,
           fresh);
  *parent = g_strdup (path);
  return g_steal_pointer (&model);
}

/* Builds the model of the options and initialises it; *parent gets what it came from.  A
 * checkpoint to fine-tune brings its own inputs, targets and normalisation; a softmax
 * checkpoint with regions asked for warm-starts a region model from it. */
static NsModel *
make_model (NsBackend *be, const NsTrainerOptions *o, char **parent, GError **error)
{
  g_autoptr (NsModelMeta) meta = options_meta (o);
  NsModelInit init = { o->weights_init, o->weights_init == NS_INIT_NORMAL ? 0.01f : 0.0f,
                       o->seed };
  const char *how = o->init != NULL ? o->init : "none";

  *parent = NULL;
  if (g_strcmp0 (how, "kaiming") == 0)
    init.kind = NS_INIT_KAIMING;
  g_autoptr (NsModel) model = ns_model_new (be, meta, &init, error);
  if (model == NULL)
    return NULL;
  if (g_strcmp0 (how, "none") == 0 || g_strcmp0 (how, "kaiming") == 0)
    return g_steal_pointer (&model);
  if (g_strcmp0 (how, "imagenet") == 0 || g_str_has_suffix (how, ".tflite"))
    {
      const char *path = g_strcmp0 (how, "imagenet") != 0 ? how
                         : o->imagenet_path != NULL ? o->imagenet_path : DEFAULT_IMAGENET;
      if (g_strcmp0 (o->arch, "mobilenetv2-unet") != 0)
        {
          g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_UNSUPPORTED,
                       "--init imagenet needs the mobilenetv2-unet, not %s", o->arch);
          return NULL;
        }
      if (!load_imagenet (model, path, error))
        return NULL;
      *parent = g_strdup_printf ("imagenet:%s", path);
      return g_steal_pointer (&model);
    }
  /* a checkpoint to fine-tune */
  g_autoptr (NsModelMeta) pm = ns_checkpoint_read_meta (how, error);
  if (pm == NULL)
    return NULL;
  if (g_strcmp0 (pm->arch, o->arch) != 0)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "%s: the model is a %s, the run trains a %s (use --arch %s)", how, pm->arch,
                   o->arch, pm->arch);
      return NULL;
    }
  /* its own inputs, outputs and normalisation; the provenance is the new run's */
  g_clear_pointer (&model, ns_model_free);
  g_clear_pointer (&pm->name, g_free);
  g_clear_pointer (&pm->metrics, g_free);
  if (o->interactive && !ns_model_meta_is_interactive (pm))
    return warm_start_interactive (be, pm, &init, how, parent, error);
  if (o->regions && pm->n_regions == 0)
    return warm_start_regions (be, pm, &init, how, parent, error);
  model = ns_model_new (be, pm, &init, error);
  if (model == NULL)
    return NULL;
  if (!ns_checkpoint_load_into (model, how, error))
    return NULL;
  *parent = g_strdup (how);
  return g_steal_pointer (&model);
}

/* Each training case's start, DIR/<case id>.nii.gz (or .nii), into the dataset. */
static gboolean
load_starts (NsDataset *ds, const char *dir, GError **error)
{
  const char *const *ids = ns_dataset_get_case_ids (ds);
  int n = ns_dataset_get_n_cases (ds);
  g_autoptr (GPtrArray) maps = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_label_map_unref);

  for (int c = 0; c < n; c++)
    {
      g_autofree char *base = g_path_get_basename (ids[c]);
      g_autofree char *gz = g_strconcat (base, ".nii.gz", NULL);
      g_autofree char *nii = g_strconcat (base, ".nii", NULL);
      g_autofree char *path = g_build_filename (dir, gz, NULL);
      g_autofree char *plain = g_build_filename (dir, nii, NULL);
      if (!g_file_test (path, G_FILE_TEST_EXISTS) && g_file_test (plain, G_FILE_TEST_EXISTS))
        {
          g_free (path);
          path = g_steal_pointer (&plain);
        }
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                       "%s: no start (automatic prediction) for training case %s", path,
                       ids[c]);
          return FALSE;
        }
      NsLabelMap *map = ns_label_map_read (path, NS_LABEL_SCHEME_BRATS2015, TRUE, error);
      if (map == NULL)
        return FALSE;
      g_ptr_array_add (maps, map);
    }
  return ns_dataset_set_starts (ds, (NsLabelMap *const *) maps->pdata, error);
}

static gboolean
check_options (const NsTrainerOptions *o, GError **error)
{
  const char *bad = NULL;
  if (o->train_cases == NULL || o->train_cases[0] == NULL)
    bad = "no training case (--data)";
  else if (o->arch == NULL || !ns_model_arch_is_known (o->arch))
    bad = "unknown architecture (mobilenetv2-unet or unet)";
  else if (o->epochs <= 0)
    bad = "the number of epochs must be positive";
  else if (o->batch_size <= 0 || o->batch_size > 4096)
    bad = "the batch size must be between 1 and 4096";
  else if (!(o->lr > 0) || !isfinite (o->lr))
    bad = "the learning rate must be positive";
  else if (o->weight_decay < 0 || !isfinite (o->weight_decay))
    bad = "the weight decay must not be negative";
  else if (o->steps_per_epoch < 0 || o->max_steps < 0 || o->patience < 0)
    bad = "steps per epoch, max steps and patience must not be negative";
  else if (o->output == NULL || *o->output == '\0')
    bad = "no output file (-o)";
  else if (o->data.tumour_ratio < 0)
    bad = "the tumour ratio must not be negative";
  else if (o->interactive && o->val_cases != NULL && o->val_cases[0] != NULL)
    bad = "--interactive takes no validation cases (--val): neuroseg interact-eval scores "
          "an interactive model";
  else if (o->interactive && (o->context > 0 || o->regions))
    bad = "--interactive makes its own inputs and output: no --context, no --regions";
  else if (!o->interactive && o->interactive_starts != NULL)
    bad = "starts (--starts) are for an interactive model (--interactive)";
  if (bad != NULL)
    {
      g_set_error_literal (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID, bad);
      return FALSE;
    }
  int shards = MAX (o->shards, 1), n = o->comm != NULL ? MAX (o->comm->size, 1) : 1;
  if (o->shards < 0 || o->batch_size % shards != 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "the batch of %d does not split into %d equal shards", o->batch_size,
                   o->shards);
      return FALSE;
    }
  if (shards % n != 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "the run has %d shard%s of its batch: it runs on a number of processes "
                   "that divides %d, not on %d", shards, shards > 1 ? "s" : "", shards, n);
      return FALSE;
    }
  return TRUE;
}

/* ---- the run's state ------------------------------------------------------------------- */

typedef struct
{
  const NsTrainerOptions *o;
  NsTrainerResult *result;
  NsBackend *be;
  char *device;                  /* "<device> (<backend>, fp32|bf16)" */
  NsModel *model;
  char *parent;                  /* what the model was initialised from, or NULL */
  NsDataset *ds;
  GPtrArray *val;                /* NsCase *: the validation cases */
  int B, C, K, W, H;             /* batch (B, C, H, W), classes K */
  /* data parallel (ns-trainer.h): S shards of b items, L of them on this process */
  NsTrainComm *comm;             /* NULL: one process */
  int rank, S, L, b;
  gboolean split;                /* S > 1 or several processes: the host-reduced step */
  gsize np, nstats;              /* trainable parameters, batch-norm running statistics */
  float *acc;                    /* (np + nstats) the sum of the shards' gradients and
                                    updated statistics, reduced over the processes */
  float *tmp;                    /* (np + nstats) one shard's, when L > 1 */
  float *stats0;                 /* (nstats) the statistics before the step, when L > 1 */
  int spe;                       /* steps per epoch */
  gint64 total;                  /* steps planned */
  NsTensor *tm, *tv;             /* Adam's m and v (n_parameters) */
  NsTensor *input;               /* (B, C, H, W) */
  NsTensor *labels;              /* (B, 1, H, W) class indices */
  NsTensor *probs, *dlogits;     /* (B, K, H, W) */
  int *depth;                    /* (classes) regions holding each class; NULL: softmax */
  float *host_logits;            /* (B, K, H, W) region targets: the loss on the host */
  float *host_dlogits;           /* (B, K, H, W) */
  /* interactive: the simulated-click batch made from the dataset's (ns-interact-train.c) */
  NsModelMeta *data_meta;        /* what the dataset loads: the image inputs, BraTS classes */
  float *host_images;            /* (B, C, H, W) */
  float *host_labels;            /* (B, 1, H, W) */
  NsTrainState st;
  char *last;                    /* X.last.safetensors */
  char *state;                   /* X.last.safetensors.state */
  NsBatchLoader *loader;
  gint64 t_session;
  double seconds_before;         /* training time of the sessions before this one */
  gint64 session_steps;
} Trainer;

static void
trainer_clear (Trainer *t)
{
  /* host buffers of the backend, before it goes */
  float **host[] = { &t->acc, &t->tmp };
  for (guint i = 0; i < G_N_ELEMENTS (host); i++)
    if (*host[i] != NULL)
      {
        ns_backend_host_free (t->be, *host[i]);
        *host[i] = NULL;
      }
  g_clear_pointer (&t->stats0, g_free);
  g_clear_pointer (&t->data_meta, ns_model_meta_free);
  g_clear_pointer (&t->host_images, g_free);
  g_clear_pointer (&t->host_labels, g_free);
  g_clear_pointer (&t->loader, ns_batch_loader_free);
  g_clear_pointer (&t->input, ns_tensor_free);
  g_clear_pointer (&t->labels, ns_tensor_free);
  g_clear_pointer (&t->probs, ns_tensor_free);
  g_clear_pointer (&t->dlogits, ns_tensor_free);
  g_clear_pointer (&t->depth, g_free);
  g_clear_pointer (&t->host_logits, g_free);
  g_clear_pointer (&t->host_dlogits, g_free);
  g_clear_pointer (&t->tm, ns_tensor_free);
  g_clear_pointer (&t->tv, ns_tensor_free);
  g_clear_pointer (&t->model, ns_model_free);
  g_clear_pointer (&t->val, g_ptr_array_unref);
  g_clear_pointer (&t->ds, ns_dataset_free);
  g_clear_pointer (&t->be, ns_backend_free);
  g_clear_pointer (&t->device, g_free);
  g_clear_pointer (&t->parent, g_free);
  g_clear_pointer (&t->last, g_free);
  g_clear_pointer (&t->state, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Trainer, trainer_clear)

/* ---- set-up ------------------------------------------------------------------------------ */

static gboolean
setup_backend (Trainer *t, GError **error)
{
  const NsTrainerOptions *o = t->o;
  t->be = ns_backend_new (o->device != NULL ? o->device : "auto", error);
  if (t->be == NULL)
    return FALSE;
  if (o->bf16 && ns_backend_supports_op (t->be, NS_OP_BF16)
      && !ns_backend_set_precision (t->be, NS_PRECISION_BF16, error))
    return FALSE;
  t->device = g_strdup_printf ("%s (%s%s)", ns_backend_get_device (t->be),
                               ns_backend_get_name (t->be),
                               ns_backend_get_precision (t->be) == NS_PRECISION_BF16
                               ? ", bf16" : ", fp32");
  t->result->device = g_strdup (t->device);
  return TRUE;
}

static gboolean
setup_data (Trainer *t, GError **error)
{
  const NsTrainerOptions *o = t->o;
  NsDatasetOptions dopt = o->data;

  dopt.seed = o->seed;
  dopt.size_multiple = ns_model_get_size_multiple (t->model);
  if ((dopt.crop_w > 0 && dopt.crop_w % dopt.size_multiple != 0)
      || (dopt.crop_h > 0 && dopt.crop_h % dopt.size_multiple != 0))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "the crop %d x %d must be a multiple of %d for the %s", dopt.crop_w,
                   dopt.crop_h, dopt.size_multiple, o->arch);
      return FALSE;
    }
  const NsModelMeta *meta = ns_model_get_meta (t->model);
  if (ns_model_meta_is_interactive (meta))
    {
      /* the segmentation slices (image channels, BraTS classes) the clicks are made on */
      t->data_meta = ns_model_meta_new_default (meta->arch);
      g_strfreev (t->data_meta->modalities);
      t->data_meta->modalities = g_strdupv (meta->modalities);
      g_free (t->data_meta->normalisation);
      t->data_meta->normalisation = g_strdup (meta->normalisation);
      meta = t->data_meta;
    }
  t->ds = ns_dataset_new ((const char *const *) o->train_cases, meta, &dopt, error);
  if (t->ds == NULL)
    return FALSE;
  if (o->interactive_starts != NULL && !load_starts (t->ds, o->interactive_starts, error))
    return FALSE;
  t->val = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_case_unref);
  /* rank 0 alone validates */
  for (char **p = t->rank == 0 ? o->val_cases : NULL; p != NULL && *p != NULL; p++)
    {
      NsCase *ncase = ns_case_load (*p, NS_CASE_LOAD_MAP_TO_2017, error);
      if (ncase == NULL)
        return FALSE;
      g_ptr_array_add (t->val, ncase);
      if (ncase->labels == NULL)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "%s: the validation case has no label map", *p);
          return FALSE;
        }
    }
  return TRUE;
}

/* The batch shape, the steps per epoch (default: each tumour slice about once with the
 * sampling's ratio) and the steps in all. */
static void
plan (Trainer *t)
{
  const NsTrainerOptions *o = t->o;

  t->B = o->batch_size;
  t->S = MAX (o->shards, 1);
  t->L = t->S / (t->comm != NULL ? MAX (t->comm->size, 1) : 1);
  t->b = t->B / t->S;
  t->split = t->S > 1 || t->L != t->S;
  t->C = ns_dataset_get_n_channels (t->ds)
         + (t->data_meta != NULL ? NS_INTERACT_N_CHANNELS : 0);
  t->K = ns_model_meta_n_outputs (ns_model_get_meta (t->model));
  ns_dataset_get_crop_size (t->ds, &t->W, &t->H);
  t->spe = o->steps_per_epoch;
  if (t->spe <= 0)
    {
      double ratio = o->data.tumour_ratio;
      int nt = ns_dataset_get_n_tumour_slices (t->ds);
      double items = nt > 0 ? nt * (ratio > 0 ? 1.0 + 1.0 / ratio : 1.0)
                            : ns_dataset_get_n_slices (t->ds);
      t->spe = MAX (1, (int) ceil (items / t->B));
    }
  t->total = (gint64) o->epochs * t->spe;
  if (o->max_steps > 0)
    t->total = MIN (t->total, o->max_steps);
}

static gboolean
setup_optimiser (Trainer *t, GError **error)
{
  gsize np = ns_model_n_parameters (t->model);

  t->tm = ns_tensor_new (t->be, (int) np, 1, 1, 1, error);
  if (t->tm == NULL)
    return FALSE;
  t->tv = ns_tensor_new (t->be, (int) np, 1, 1, 1, error);
  if (t->tv == NULL)
    return FALSE;
  ns_tensor_fill (t->tm, 0.0f);
  ns_tensor_fill (t->tv, 0.0f);
  t->st.best_score = -1;
  return TRUE;
}

/* The model, the moments and the counters of the interrupted run, all from its state. */
static gboolean
resume (Trainer *t, GError **error)
{
  g_autofree char *spath = ns_trainer_state_path (t->o->resume);
  g_autofree char *parent = NULL;

  if (!_ns_trainer_state_load (spath, t->o->seed, &t->st, &parent, t->model, t->tm, t->tv,
                               error))
    return FALSE;
  if (parent != NULL)
    {
      g_free (t->parent);
      t->parent = g_steal_pointer (&parent);
    }
  return TRUE;
}

static gboolean
setup_batch (Trainer *t, GError **error)
{
  const NsModelMeta *meta = ns_model_get_meta (t->model);
  if (meta->n_regions > 0)
    {
      gsize n = (gsize) t->b * t->K * t->H * t->W;
      t->depth = g_new (int, meta->n_classes);
      for (int k = 0; k < meta->n_classes; k++)
        t->depth[k] = ns_model_meta_region_depth (meta, k);
      t->host_logits = g_try_new (float, n);
      t->host_dlogits = g_try_new (float, n);
      if (t->host_logits == NULL || t->host_dlogits == NULL)
        {
          g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                       "out of memory for the region loss of a batch of %d", t->b);
          return FALSE;
        }
    }
  if (t->data_meta != NULL)
    {
      t->host_images = g_try_new (float, (gsize) t->B * t->C * t->H * t->W);
      t->host_labels = g_try_new (float, (gsize) t->B * t->H * t->W);
      if (t->host_images == NULL || t->host_labels == NULL)
        {
          g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                       "out of memory for the interactive batch of %d", t->B);
          return FALSE;
        }
    }
  return (t->input = ns_tensor_new (t->be, t->b, t->C, t->H, t->W, error)) != NULL
         && (t->labels = ns_tensor_new (t->be, t->b, 1, t->H, t->W, error)) != NULL
         && (t->probs = ns_tensor_new (t->be, t->b, t->K, t->H, t->W, error)) != NULL
         && (t->dlogits = ns_tensor_new (t->be, t->b, t->K, t->H, t->W, error)) != NULL;
}

/* The host buffers of the reduced step (ns-trainer.h, "Data parallel"). */
static gboolean
setup_split (Trainer *t, GError **error)
{
  if (!t->split)
    return TRUE;
  t->np = ns_model_n_parameters (t->model);
  for (int i = 0; i < ns_model_n_tensors (t->model); i++)
    if (!ns_model_tensor_is_trainable (t->model, i))
      t->nstats += ns_model_tensor_size (t->model, i);
  gsize bytes = (t->np + t->nstats) * sizeof (float);
  t->acc = ns_backend_host_alloc (t->be, bytes);
  if (t->L > 1)
    {
      t->tmp = ns_backend_host_alloc (t->be, bytes);
      t->stats0 = g_try_new (float, MAX (t->nstats, 1));
    }
  if (t->acc == NULL || (t->L > 1 && (t->tmp == NULL || t->stats0 == NULL)))
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "out of memory for the gradients of %d shards (%" G_GSIZE_FORMAT " MB)",
                   t->S, bytes >> 20);
      return FALSE;
    }
  return TRUE;
}

/* A run killed while writing left <file>.partial (ns-safetensors-private.h): it is the
 * run's own, and goes before the run writes again.  Builds before it wrote the state with
 * g_file_set_contents, whose temporary file is <state>.XXXXXX (six letters or digits):
 * 53 MB of a version-1 state that no build can resume from; such a file goes too, but
 * only when its header says it is one (a file of the user's with a six-letter suffix,
 * "x.state.backup", stays). */
static void
remove_stale_partials (const char *const *paths, const char *state)
{
  for (const char *const *p = paths; *p != NULL; p++)
    {
      g_autofree char *dir = g_path_get_dirname (*p);
      g_autofree char *base = g_path_get_basename (*p);
      g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
      const char *name;
      gsize blen = strlen (base);
      gboolean is_state = strcmp (*p, state) == 0;

      while (d != NULL && (name = g_dir_read_name (d)) != NULL)
        {
          if (strncmp (name, base, blen) != 0 || name[blen] != '.')
            continue;
          const char *rest = name + blen + 1;
          gboolean glib_temp = is_state && strlen (rest) == 6;
          for (int i = 0; glib_temp && i < 6; i++)
            glib_temp = g_ascii_isalnum (rest[i]);
          if (strcmp (rest, "partial") != 0 && !glib_temp)
            continue;
          g_autofree char *path = g_build_filename (dir, name, NULL);
          GStatBuf st;
          if (g_lstat (path, &st) != 0 || !S_ISREG (st.st_mode))
            continue;
          if (glib_temp && !_ns_trainer_state_is_version_1 (path))
            continue;
          if (g_unlink (path) == 0)
            g_debug ("removed %s, left by a run that was killed while saving", path);
        }
    }
}

/* ---- one step -------------------------------------------------------------------------- */

/* forward, loss, zero-grad, backward: the gradients of batch (b items). */
static gboolean
forward_backward (Trainer *t, const NsBatch *batch, double *loss, GError **error)
{
  ns_model_set_mode (t->model, NS_MODEL_TRAIN);
  ns_tensor_upload (t->input, batch->images);
  ns_tensor_upload (t->labels, batch->labels);

  /* forward */
  NsTensor *logits = ns_model_forward (t->model, t->input, error);
  if (logits == NULL)
    return FALSE;
  if (t->depth != NULL)
    {
      /* region targets: the loss on the host (ns_region_loss), after the forward's
       * status, since the logits leave the device */
      if (!ns_backend_check (t->be, error))
        {
          g_prefix_error (error, "training step %" G_GINT64_FORMAT ": ", t->st.step + 1);
          return FALSE;
        }
      ns_tensor_download (logits, t->host_logits);
      *loss = ns_region_loss (t->host_dlogits, t->host_logits, batch->labels, t->depth,
                              ns_model_get_meta (t->model)->n_classes, t->b, t->K,
                              (gsize) t->H * t->W);
      if (isnan (*loss))
        {
          g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED,
                       "training step %" G_GINT64_FORMAT ": the region loss is undefined (a "
                       "logit is not finite)", t->st.step + 1);
          return FALSE;
        }
      ns_tensor_upload (t->dlogits, t->host_dlogits);
    }
  else
    *loss = ns_softmax_dice_ce_forward (t->probs, logits, t->labels);

  /* zero-grad, backward */
  ns_model_zero_grad (t->model);
  if (t->depth == NULL)
    ns_softmax_dice_ce_backward (t->dlogits, t->probs, t->labels);
  ns_model_backward (t->model, t->dlogits);
  return TRUE;
}

/* Adam on the flat gradients, then the status of everything the step queued. */
static gboolean
update (Trainer *t, double lr, GError **error)
{
  NsAdamParams ap = { (float) lr, 0.9f, 0.999f, 1e-8f, (float) t->o->weight_decay,
                      (int) (t->st.step + 1) };
  ns_adam_update (ns_model_get_flat_params (t->model), ns_model_get_flat_grads (t->model),
                  t->tm, t->tv, &ap);

  /* the step's status: a failed op fails the run before anything of it is saved */
  if (!ns_backend_check (t->be, error))
    {
      g_prefix_error (error, "training step %" G_GINT64_FORMAT ": ", t->st.step + 1);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_loss (Trainer *t, double loss, double lr, GError **error)
{
  if (isfinite (loss))
    return TRUE;
  g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED,
               "the loss became %g at step %" G_GINT64_FORMAT " (learning rate %g too high?)",
               loss, t->st.step + 1, lr);
  return FALSE;
}

/* forward, zero-grad, backward, update: one process, one shard. */
static gboolean
train_step (Trainer *t, const NsBatch *batch, double lr, double *loss, GError **error)
{
  return forward_backward (t, batch, loss, error) && update (t, lr, error)
         && check_loss (t, *loss, lr, error);
}

/* ---- the data-parallel step (ns-trainer.h) ---------------------------------------------- */

/* Every process at one point of the run (ns_train_comm_agree). */
static gboolean
agree (Trainer *t, gboolean ok, double *extra, gsize n_extra, GError **error)
{
  gboolean peer_failed = FALSE;
  if (ns_train_comm_agree (t->comm, ok, extra, n_extra, &peer_failed, error))
    return TRUE;
  t->result->peer_failed = peer_failed;
  return FALSE;
}

/* The batch-norm running statistics, all tensors end to end, out of and into the model. */
static void
stats_get (Trainer *t, float *values)
{
  for (int i = 0; i < ns_model_n_tensors (t->model); i++)
    if (!ns_model_tensor_is_trainable (t->model, i))
      {
        ns_model_tensor_get (t->model, i, values);
        values += ns_model_tensor_size (t->model, i);
      }
}

static void
stats_set (Trainer *t, const float *values)
{
  for (int i = 0; i < ns_model_n_tensors (t->model); i++)
    if (!ns_model_tensor_is_trainable (t->model, i))
      {
        ns_model_tensor_set (t->model, i, values);
        values += ns_model_tensor_size (t->model, i);
      }
}

/* This process's shards of the global batch: their gradients and updated statistics
 * summed into t->acc, their losses into *loss_sum. */
static gboolean
local_shards (Trainer *t, const NsBatch *batch, double *loss_sum, GError **error)
{
  gsize hw = (gsize) batch->h * batch->w;

  *loss_sum = 0;
  if (t->L > 1)
    stats_get (t, t->stats0);
  for (int s = 0; s < t->L; s++)
    {
      /* shard rank L + s: items of the contiguous slice of this process */
      gsize first = (gsize) (t->rank * t->L + s) * t->b;
      NsBatch view = *batch;
      view.n = t->b;
      view.images = batch->images + first * batch->c * hw;
      view.labels = batch->labels + first * hw;
      view.slice_ids = batch->slice_ids != NULL ? batch->slice_ids + first : NULL;
      double loss = NAN;
      float *to = s == 0 ? t->acc : t->tmp;

      if (s > 0)
        stats_set (t, t->stats0);
      if (!forward_backward (t, &view, &loss, error))
        return FALSE;
      if (!ns_backend_check (t->be, error))
        {
          g_prefix_error (error, "training step %" G_GINT64_FORMAT ": ", t->st.step + 1);
          return FALSE;
        }
      ns_tensor_download (ns_model_get_flat_grads (t->model), to);
      stats_get (t, to + t->np);
      *loss_sum += loss;
      if (s > 0)
        for (gsize i = 0; i < t->np + t->nstats; i++)
          t->acc[i] += t->tmp[i];
    }
  return TRUE;
}

/* One step of the S shards over the processes: the local shards (ok FALSE: this process
 * already failed, *error set), one sum of the gradient buffer over the processes, the
 * mean gradient and statistics into the model, Adam, then the agreement, which sums the
 * losses and the stop flags.  Every process makes the same collective calls whatever
 * failed, so none waits for one that left. */
static gboolean
split_step (Trainer *t, gboolean ok, const NsBatch *batch, double lr, double *loss,
            gboolean *stop, GError **error)
{
  double local_loss = 0;

  ok = ok && local_shards (t, batch, &local_loss, error);
  if (t->comm != NULL && t->comm->size > 1)
    {
      g_autoptr (GError) sum_error = NULL;
      if (!t->comm->sum_floats (t->comm, t->acc, t->np + t->nstats, &sum_error))
        {
          /* the transport: the others may be waiting in it, no agreement can follow */
          if (ok)
            g_propagate_error (error, g_steal_pointer (&sum_error));
          return FALSE;
        }
    }
  if (ok)
    {
      float scale = 1.0f / t->S;
      for (gsize i = 0; i < t->np + t->nstats; i++)
        t->acc[i] *= scale;
      ns_tensor_upload (ns_model_get_flat_grads (t->model), t->acc);
      stats_set (t, t->acc + t->np);
      ok = update (t, lr, error);
    }
  double extra[2] = { local_loss, t->o->stop != NULL && g_atomic_int_get (t->o->stop) };
  if (!agree (t, ok, extra, 2, error))
    return FALSE;
  *loss = extra[0] / t->S;
  *stop = extra[1] > 0;
  if (!check_loss (t, *loss, lr, error))
    {
      /* the same on every process: rank 0 reports it */
      t->result->peer_failed = t->rank != 0;
      return FALSE;
    }
  return TRUE;
}

static double
rate (Trainer *t)
{
  return t->session_steps / MAX (t->st.seconds - t->seconds_before, 1e-9);
}

static void
report_step (Trainer *t, double loss, double lr)
{
  NsTrainEvent ev = { NS_TRAIN_EVENT_STEP };
  ev.epoch = (int) ((t->st.step - 1) / t->spe) + 1;
  ev.epochs = (int) ((t->total + t->spe - 1) / t->spe);
  ev.step = t->st.step;
  ev.total_steps = t->total;
  ev.steps_per_epoch = t->spe;
  ev.loss = loss;
  ev.lr = lr;
  ev.seconds = t->st.seconds;
  ev.eta_seconds = (t->total - t->st.step) / rate (t);
  ev.slices_per_second = rate (t) * t->B;
  t->o->progress (&ev, t->o->progress_data);
}

/* ---- validation ------------------------------------------------------------------------ */

static gboolean
validate (NsModel *model, GPtrArray *val, double dice[3], GError **error)
{
  /* ns_adam_update wrote the flat parameters behind the model's back: mark the folded
   * inference weights stale the public way. */
  g_autofree float *t0 = g_new (float, ns_model_tensor_size (model, 0));
  ns_model_tensor_get (model, 0, t0);
  ns_model_tensor_set (model, 0, t0);

  dice[0] = dice[1] = dice[2] = 0;
  for (guint c = 0; c < val->len; c++)
    {
      NsCase *ncase = val->pdata[c];
      NsInferOptions io = { 0 };
      g_autoptr (NsInferResult) r = ns_infer_run_case (model, ncase, &io, error);
      if (r == NULL)
        return FALSE;
      /* the engine finished on the CPU, but the device that trains is failing */
      if (r->stats.fallback == NS_INFER_FALLBACK_DEVICE_FAILED)
        {
          g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED, "validation on %s: %s",
                       ncase->id, r->stats.fallback_reason);
          return FALSE;
        }
      NsMetrics mt;
      if (!ns_metrics_evaluate (r->labels, ncase->labels, &mt, error))
        return FALSE;
      const char *rows[3] = { "WT", "TC", "ET" };
      for (int i = 0; i < 3; i++)
        {
          const NsMetricsRow *row = ns_metrics_find_row (&mt, rows[i]);
          dice[i] += row != NULL ? row->dice : 0;
        }
    }
  for (int i = 0; i < 3; i++)
    dice[i] /= MAX (val->len, 1);
  ns_model_trim (model);
  return TRUE;
}

/* ---- saving ------------------------------------------------------------------------------ */

static void
set_provenance (Trainer *t, const double dice[3], gboolean has_dice, double loss)
{
  const NsTrainerOptions *o = t->o;
  g_autoptr (NsModelMeta) meta = ns_model_meta_copy (ns_model_get_meta (t->model));
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (JsonBuilder) b = json_builder_new ();
  int cw = 0, ch = 0;
  g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, o->seed);

  json_builder_begin_object (b);
  if (has_dice)
    {
      ns_json_add_number (b, "dice_wt", dice[0]);
      ns_json_add_number (b, "dice_tc", dice[1]);
      ns_json_add_number (b, "dice_et", dice[2]);
      ns_json_add_number (b, "dice_mean", (dice[0] + dice[1] + dice[2]) / 3);
    }
  ns_json_add_strv (b, "val_cases", o->val_cases);
  ns_json_add_number (b, "loss", loss);
  ns_json_add_int (b, "steps", t->st.step);
  ns_json_add_number (b, "seconds", t->st.seconds);
  ns_json_add_string (b, "device", t->device);
  ns_json_add_int (b, "batch_size", o->batch_size);
  ns_json_add_number (b, "lr", o->lr);
  ns_json_add_string (b, "schedule", _ns_trainer_schedule_name (o->schedule));
  ns_json_add_string (b, "seed", seed);
  ns_dataset_get_crop_size (t->ds, &cw, &ch);
  ns_json_add_int (b, "crop_w", cw);
  ns_json_add_int (b, "crop_h", ch);
  ns_json_add_number (b, "tumour_ratio", o->data.tumour_ratio);
  ns_json_add_int (b, "bf16", o->bf16);
  if (t->S > 1)
    ns_json_add_int (b, "shards", t->S);
  if (t->comm != NULL && t->comm->size > 1)
    ns_json_add_int (b, "processes", t->comm->size);
  json_builder_end_object (b);

  g_free (meta->metrics);
  meta->metrics = ns_json_builder_dup_text (b);
  g_free (meta->parent);
  meta->parent = g_strdup (t->parent);
  g_strfreev (meta->cases);
  meta->cases = g_strdupv ((char **) ns_dataset_get_case_ids (t->ds));
  meta->epochs = t->st.epochs_done;
  g_free (meta->date);
  meta->date = g_date_time_format_iso8601 (now);
  g_free (meta->command);
  meta->command = g_strdup (o->command_line);
  if (meta->name == NULL)
    meta->name = g_strdup_printf ("%s trained by neuroseg", meta->arch);
  ns_model_set_meta (t->model, meta);
}

/* The best model (when it is one), X.last.safetensors, then the state: the file a resume
 * reads is written last (see the top of this file). */
static gboolean
save (Trainer *t, gboolean best, GError **error)
{
  if (best && !_ns_checkpoint_save_tagged (t->model, t->o->output, t->o->dtype, "best", error))
    return FALSE;
  return _ns_checkpoint_save_tagged (t->model, t->last, NS_DTYPE_F32, "last", error)
         && _ns_trainer_state_save (t->state, t->o, &t->st, t->parent, t->model, t->tm, t->tv,
                                    error);
}

/* ---- one epoch's end --------------------------------------------------------------------- */

/* Rank 0's part of an epoch's end: the validation, the best score, the files. */
static gboolean
validate_and_save (Trainer *t, NsTrainEvent *ev, GError **error)
{
  NsTrainState *st = &t->st;

  if (t->val->len > 0)
    {
      gint64 tv0 = g_get_monotonic_time ();
      if (!validate (t->model, t->val, ev->dice, error))
        return FALSE;
      ev->validation_seconds = (g_get_monotonic_time () - tv0) / 1e6;
      ev->has_validation = TRUE;
      ev->score = (ev->dice[0] + ev->dice[1] + ev->dice[2]) / 3;
      if (ev->score > st->best_score)
        {
          st->best_score = ev->score;
          memcpy (st->best_dice, ev->dice, sizeof ev->dice);
          st->best_epoch = st->epochs_done;
          st->bad_epochs = 0;
          ev->is_best = TRUE;
        }
      else
        st->bad_epochs++;
    }
  /* validation time counts as training time */
  st->seconds = t->seconds_before + (g_get_monotonic_time () - t->t_session) / 1e6;
  set_provenance (t, ev->dice, ev->has_validation, ev->loss);
  return save (t, ev->is_best || t->val->len == 0, error);
}

/* Validation, the best score and patience, the files (rank 0), the agreement of the
 * processes, the event (rank 0).  *stop: patience ran out. */
static gboolean
end_epoch (Trainer *t, double lr, gboolean *stop, GError **error)
{
  const NsTrainerOptions *o = t->o;
  NsTrainState *st = &t->st;
  NsTrainEvent ev = { NS_TRAIN_EVENT_EPOCH };
  gboolean ok = TRUE;

  st->epochs_done = (int) ((st->step + t->spe - 1) / t->spe);
  ev.epoch = st->epochs_done;
  ev.epochs = (int) ((t->total + t->spe - 1) / t->spe);
  ev.step = st->step;
  ev.total_steps = t->total;
  ev.steps_per_epoch = t->spe;
  ev.loss = st->epoch_loss_sum / MAX (st->epoch_loss_n, 1);
  ev.lr = lr;
  st->epoch_loss_sum = 0;
  st->epoch_loss_n = 0;
  if (t->rank == 0)
    ok = validate_and_save (t, &ev, error);
  double extra[1] = { ok && t->rank == 0 && o->patience > 0 && st->bad_epochs >= o->patience };
  if (!agree (t, ok, extra, 1, error))
    return FALSE;
  if (t->rank != 0)
    st->seconds = t->seconds_before + (g_get_monotonic_time () - t->t_session) / 1e6;
  ev.seconds = st->seconds;
  ev.eta_seconds = (t->total - st->step) / rate (t);
  ev.slices_per_second = rate (t) * t->B;
  ev.loader_wait_seconds = ns_batch_loader_get_wait_seconds (t->loader);
  if (o->progress != NULL && t->rank == 0)
    o->progress (&ev, o->progress_data);
  *stop = extra[0] > 0;
  t->result->early_stopped = *stop;
  return TRUE;
}

/* Everything before the first step; the processes agree on it after. */
static gboolean
setup (Trainer *t, GError **error)
{
  const NsTrainerOptions *o = t->o;

  if (!check_options (o, error) || !setup_backend (t, error))
    return FALSE;
  t->model = make_model (t->be, o, &t->parent, error);
  if (t->model == NULL || !setup_data (t, error))
    return FALSE;
  plan (t);
  return setup_optimiser (t, error) && (o->resume == NULL || resume (t, error))
         && setup_batch (t, error) && setup_split (t, error);
}

/* ---- the run ---------------------------------------------------------------------------- */

/* Steps until the plan, the patience or the stop flag ends the run; *saved: the files
 * hold the last step. */
static gboolean
run_steps (Trainer *t, gboolean *saved, double *last_loss, GError **error)
{
  const NsTrainerOptions *o = t->o;
  NsTrainState *st = &t->st;
  int every = MAX (o->progress_every, 1);

  *saved = TRUE;
  while (st->step < t->total)
    {
      /* with several processes a failure goes on to the step's agreement (split_step) */
      g_autoptr (NsBatch) batch = ns_batch_loader_next (t->loader, error);
      gboolean ok = batch != NULL, stop = FALSE;
      double lr = ns_trainer_lr_at (o, st->step, t->total, t->spe), loss = NAN;

      NsBatch view = ok ? *batch : (NsBatch) { 0 };
      if (ok && t->data_meta != NULL)
        {
          /* the clicks of the simulated user, some placed on the model's own predictions */
          ok = _ns_interact_make_batch (t->model, batch, o->seed, t->host_images,
                                        t->host_labels, error);
          view.images = t->host_images;
          view.labels = t->host_labels;
          view.c = t->C;
        }
      if (t->split)
        {
          if (!split_step (t, ok, &view, lr, &loss, &stop, error))
            return FALSE;
        }
      else if (!ok || !train_step (t, &view, lr, &loss, error))
        return FALSE;
      st->step++;
      t->session_steps++;
      *saved = FALSE;
      *last_loss = loss;
      st->epoch_loss_sum += loss;
      st->epoch_loss_n++;
      st->seconds = t->seconds_before + (g_get_monotonic_time () - t->t_session) / 1e6;
      if (o->progress != NULL && t->rank == 0
          && (st->step % every == 0 || st->step == t->total))
        report_step (t, loss, lr);

      if (st->step % t->spe == 0 || st->step == t->total)
        {
          gboolean patience_out = FALSE;
          if (!end_epoch (t, lr, &patience_out, error))
            return FALSE;
          *saved = TRUE;
          if (patience_out)
            break;
        }
      /* one process: the flag as it is now (the progress callback may have set it); split:
       * as the processes agreed on it in the step */
      if (!t->split)
        stop = o->stop != NULL && g_atomic_int_get (o->stop);
      if (stop)
        {
          t->result->stopped = st->step < t->total;
          break;
        }
    }
  return TRUE;
}

gboolean
ns_trainer_run (const NsTrainerOptions *o, NsTrainerResult *result, GError **error)
{
  g_return_val_if_fail (o != NULL && result != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_auto (Trainer) t = { 0 };
  gboolean saved = TRUE;
  double last_loss = NAN;

  memset (result, 0, sizeof *result);
  result->best_score = NAN;
  t.o = o;
  t.result = result;
  t.comm = o->comm;
  t.rank = o->comm != NULL ? o->comm->rank : 0;
  if (!agree (&t, setup (&t, error), NULL, 0, error))
    return FALSE;

  t.last = ns_trainer_last_path (o->output);
  t.state = ns_trainer_state_path (t.last);
  const char *const ours[] = { o->output, t.last, t.state, NULL };
  if (t.rank == 0)
    remove_stale_partials (ours, t.state);
  result->last_path = g_strdup (t.last);
  result->best_path = g_strdup (o->output);
  t.loader = ns_batch_loader_new (t.ds, t.B, (guint64) t.st.step, o->n_workers, 0);
  t.t_session = g_get_monotonic_time ();
  t.seconds_before = t.st.seconds;

  if (!run_steps (&t, &saved, &last_loss, error))
    return FALSE;
  if (!saved)
    {
      /* stopped mid-epoch: the files hold this step, resumable */
      double none[3] = { 0 };
      gboolean ok = TRUE;
      t.st.epochs_done = (int) ((t.st.step + t.spe - 1) / t.spe);
      if (t.rank == 0)
        {
          set_provenance (&t, none, FALSE, last_loss);
          ok = save (&t, FALSE, error);
        }
      if (!agree (&t, ok, NULL, 0, error))
        return FALSE;
    }
  result->steps = t.st.step;
  result->epochs_done = t.st.epochs_done;
  result->seconds = t.st.seconds;
  result->last_loss = last_loss;
  if (t.st.best_score >= 0)
    {
      result->best_score = t.st.best_score;
      memcpy (result->best_dice, t.st.best_dice, sizeof t.st.best_dice);
      result->best_epoch = t.st.best_epoch;
    }
  return TRUE;
}

/* ---- benchmark ------------------------------------------------------------------------- */

gboolean
ns_trainer_bench (NsBackend *be, const char *arch, NsDataset *ds, int B, int steps,
                  double *step_seconds, double *batch_seconds, GError **error)
{
  g_return_val_if_fail (be != NULL && ds != NULL && B > 0 && steps > 0, FALSE);

  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default (arch);
  g_autoptr (NsModel) model = ns_model_new (be, meta, NULL, error);
  if (model == NULL)
    return FALSE;
  int W, H;
  ns_dataset_get_crop_size (ds, &W, &H);
  NsAdamParams ap = { 1e-4f, 0.9f, 0.999f, 1e-8f, 0, 0 };

  gint64 t0 = g_get_monotonic_time ();
  int n_batches = MAX (steps, 2);
  for (int i = 0; i < n_batches; i++)
    {
      g_autoptr (NsBatch) b = ns_dataset_make_batch (ds, (guint64) i, B, error);
      if (b == NULL)
        return FALSE;
    }
  *batch_seconds = (g_get_monotonic_time () - t0) / 1e6 / n_batches;

  g_autoptr (NsBatch) b = ns_dataset_make_batch (ds, 0, B, error);
  if (b == NULL)
    return FALSE;
  for (int i = 0; i <= steps; i++)
    {
      if (i == 1)
        t0 = g_get_monotonic_time ();
      float loss = ns_model_train_step (model, b->images, b->labels, B, H, W, &ap, error);
      if (isnan (loss))
        return FALSE;
    }
  ns_backend_synchronize (be);
  *step_seconds = (g_get_monotonic_time () - t0) / 1e6 / steps;
  return TRUE;
}
