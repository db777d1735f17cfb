/* SPDX-License-Identifier: MIT
 *
 * ns-trainer-state.c: the trainer's resume state (ns-trainer-private.h) and the options
 * it records.
 *
 * The state is one safetensors file, so that Python can read it: every tensor of the
 * model by its checkpoint name (F32), "adam.m" and "adam.v" (F32, one value per
 * trainable parameter), and in __metadata__ the format, its version, the counters, the
 * seed and the run's options (JSON text).  One file written atomically is what makes a
 * resume exact after a crash at any moment: the model, the moments and the step always
 * come from the same save.  (Version 1 kept the model in X.last.safetensors and renamed
 * the two files separately: a kill between the renames paired a model of one step with
 * the moments of another.)
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-trainer-private.h"

#include "ns-checkpoint-private.h"
#include "ns-json.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define STATE_FORMAT "neuroseg-train-state"
#define STATE_VERSION 2

const char *
_ns_trainer_schedule_name (NsSchedule s)
{
  switch (s)
    {
    case NS_SCHEDULE_COSINE: return "cosine";
    case NS_SCHEDULE_STEP: return "step";
    case NS_SCHEDULE_NONE:
    default: return "none";
    }
}

/* ---- the state file --------------------------------------------------------------------- */

static void
meta_string (JsonObject *md, const char *name, const char *value)
{
  json_object_set_string_member (md, name, value);
}

static void
meta_number (JsonObject *md, const char *name, double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  meta_string (md, name, g_ascii_dtostr (buf, sizeof buf, value));
}

/* Host copies of the moments, n floats each; the device's failures are checked by the
 * caller before anything is committed. */
static gboolean
put_moments (NsStWriter *w, NsTensor *t, GError **error)
{
  gsize n = ns_tensor_n_elements (t);
  g_autofree float *host = g_try_new (float, MAX (n, 1));
  if (host == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "out of memory for the optimiser state (%" G_GSIZE_FORMAT " values)", n);
      return FALSE;
    }
  ns_tensor_download (t, host);
  return _ns_st_writer_put (w, host, n, error);
}

gboolean
_ns_trainer_state_save (const char *path, const NsTrainerOptions *o, const NsTrainState *st,
                        const char *parent, NsModel *model, NsTensor *m, NsTensor *v,
                        GError **error)
{
  G_STATIC_ASSERT (G_BYTE_ORDER == G_LITTLE_ENDIAN);
  g_autoptr (NsStWriter) w = _ns_st_writer_new (path, "state");
  g_autoptr (JsonObject) md = json_object_new ();
  const int n = (int) ns_tensor_n_elements (m);

  meta_string (md, "format", STATE_FORMAT);
  meta_number (md, "version", STATE_VERSION);
  meta_number (md, "step", (double) st->step);
  meta_number (md, "epochs_done", st->epochs_done);
  meta_number (md, "best_score", st->best_score);
  meta_number (md, "best_dice_wt", st->best_dice[0]);
  meta_number (md, "best_dice_tc", st->best_dice[1]);
  meta_number (md, "best_dice_et", st->best_dice[2]);
  meta_number (md, "best_epoch", st->best_epoch);
  meta_number (md, "bad_epochs", st->bad_epochs);
  meta_number (md, "seconds", st->seconds);
  meta_number (md, "epoch_loss_sum", st->epoch_loss_sum);
  meta_number (md, "epoch_loss_n", (double) st->epoch_loss_n);
  /* The random stream is counter-based (batch = f(seed, step), ns-dataset.h): the seed
   * and the step are its whole state. */
  g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, o->seed);
  meta_string (md, "rng", "counter: batch = f(seed, step)");
  meta_string (md, "seed", seed);
  if (parent != NULL)
    meta_string (md, "parent", parent);
  g_autofree char *opts = _ns_trainer_options_to_json (o);
  meta_string (md, "options", opts);

  _ns_checkpoint_add_tensors (w, model, NS_DTYPE_F32);
  _ns_st_writer_add (w, "adam.m", NS_DTYPE_F32, &n, 1);
  _ns_st_writer_add (w, "adam.v", NS_DTYPE_F32, &n, 1);
  if (!_ns_st_writer_begin (w, md, error) || !_ns_checkpoint_put_tensors (w, model, error)
      || !put_moments (w, m, error) || !put_moments (w, v, error))
    return FALSE;
  /* what a failing device gave back is not written over the last good state */
  if (!ns_backend_check (ns_model_get_backend (model), error))
    {
      g_prefix_error (error, "%s: not written: ", path);
      return FALSE;
    }
  return _ns_st_writer_commit (g_steal_pointer (&w), error);
}

/* A number written as text in __metadata__ (whose values are strings); *ok = FALSE when
 * it is absent or not a finite number. */
static double
meta_get_number (JsonObject *md, const char *name, gboolean *ok)
{
  const char *s = ns_json_get_string (md, name);
  char *end = NULL;
  double v = s != NULL ? g_ascii_strtod (s, &end) : 0;
  if (s == NULL || end == s || *end != '\0' || !isfinite (v))
    {
      *ok = FALSE;
      return 0;
    }
  return v;
}

/* The state file at path, checked to be one this build resumes from. */
static NsStFile *
state_open (const char *path, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (NsStFile) f = _ns_st_open (path, path, &local);
  if (f == NULL)
    {
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                     "%s: no training state to resume from (it is written at the end of "
                     "each epoch and when a run is stopped)", path);
      else
        g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  JsonObject *md = _ns_st_get_metadata (f);
  const char *format = md != NULL ? ns_json_get_string (md, "format") : NULL;
  if (g_strcmp0 (format, STATE_FORMAT) != 0)
    {
      _ns_st_fail (error, f, "not a Neuroseg training state (format \"%s\")",
                   format != NULL ? format : "");
      return NULL;
    }
  gboolean ok = TRUE;
  int version = (int) meta_get_number (md, "version", &ok);
  if (!ok || version != STATE_VERSION)
    {
      _ns_st_fail (error, f, "training state version %d, this build resumes from version %d "
                   "only: start a new run%s", version, STATE_VERSION,
                   version == 1 ? " (version 1 files could pair the model of one step with "
                                  "the optimiser of another)" : "");
      return NULL;
    }
  return g_steal_pointer (&f);
}

gboolean
_ns_trainer_state_is_version_1 (const char *path)
{
  g_autoptr (NsStFile) f = _ns_st_open_header (path, NULL);
  JsonObject *md = f != NULL ? _ns_st_get_metadata (f) : NULL;
  gboolean ok = TRUE;
  return md != NULL && g_strcmp0 (ns_json_get_string (md, "format"), STATE_FORMAT) == 0
         && meta_get_number (md, "version", &ok) == 1 && ok;
}

char *
_ns_trainer_state_dup_options (const char *path, GError **error)
{
  g_autoptr (NsStFile) f = state_open (path, error);
  if (f == NULL)
    return NULL;
  const char *opts = ns_json_get_string (_ns_st_get_metadata (f), "options");
  if (opts == NULL)
    {
      _ns_st_fail (error, f, "the training state has no options");
      return NULL;
    }
  return g_strdup (opts);
}

static gboolean
read_moments (NsStFile *f, const char *name, NsTensor *t, GError **error)
{
  const NsStEntry *e = _ns_st_find (f, name);
  gsize n = ns_tensor_n_elements (t);
  if (e == NULL || !e->is_float || e->ndim != 1)
    return _ns_st_fail (error, f, "%s is missing or not a vector", name);
  if (e->count != n)
    return _ns_st_fail (error, f, "%s has %" G_GUINT64_FORMAT " values, the model has %"
                        G_GSIZE_FORMAT " parameters", name, e->count, n);
  g_autofree float *host = g_try_new (float, MAX (n, 1));
  if (host == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "%s: out of memory for %s", _ns_st_get_name (f), name);
      return FALSE;
    }
  if (!_ns_st_read_f32 (f, e, host, error))
    return FALSE;
  ns_tensor_upload (t, host);
  return TRUE;
}

gboolean
_ns_trainer_state_load (const char *path, guint64 seed, NsTrainState *st, char **parent,
                        NsModel *model, NsTensor *m, NsTensor *v, GError **error)
{
  static const char *const moments[] = { "adam.m", "adam.v", NULL };
  g_autoptr (NsStFile) f = state_open (path, error);
  if (f == NULL)
    return FALSE;
  JsonObject *md = _ns_st_get_metadata (f);
  gboolean ok = TRUE;
  st->step = (gint64) meta_get_number (md, "step", &ok);
  st->epochs_done = (int) meta_get_number (md, "epochs_done", &ok);
  st->best_score = meta_get_number (md, "best_score", &ok);
  st->best_dice[0] = meta_get_number (md, "best_dice_wt", &ok);
  st->best_dice[1] = meta_get_number (md, "best_dice_tc", &ok);
  st->best_dice[2] = meta_get_number (md, "best_dice_et", &ok);
  st->best_epoch = (int) meta_get_number (md, "best_epoch", &ok);
  st->bad_epochs = (int) meta_get_number (md, "bad_epochs", &ok);
  st->seconds = meta_get_number (md, "seconds", &ok);
  st->epoch_loss_sum = meta_get_number (md, "epoch_loss_sum", &ok);
  st->epoch_loss_n = (gint64) meta_get_number (md, "epoch_loss_n", &ok);
  const char *s = ns_json_get_string (md, "seed");
  if (!ok || st->step < 0 || s == NULL)
    return _ns_st_fail (error, f, "the training state lacks a counter or the seed");
  if (g_ascii_strtoull (s, NULL, 10) != seed)
    return _ns_st_fail (error, f, "the training state was made with seed %s, the run has %"
                        G_GUINT64_FORMAT, s, seed);
  if (!_ns_checkpoint_read_tensors (f, model, moments, error)
      || !read_moments (f, "adam.m", m, error) || !read_moments (f, "adam.v", v, error))
    return FALSE;
  *parent = g_strdup (ns_json_get_string (md, "parent"));
  return ns_backend_check (ns_model_get_backend (model), error);
}

/* ---- options as JSON --------------------------------------------------------------------- */

char *
_ns_trainer_options_to_json (const NsTrainerOptions *o)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  const NsAugmentParams *a = &o->data.augment_params;

  json_builder_begin_object (b);
  ns_json_add_strv (b, "train_cases", o->train_cases);
  ns_json_add_strv (b, "val_cases", o->val_cases);
  ns_json_add_string (b, "arch", o->arch);
  ns_json_add_string (b, "init", o->init);
  ns_json_add_string (b, "imagenet_path", o->imagenet_path);
  ns_json_add_string (b, "weights_init",
                       o->weights_init == NS_INIT_KAIMING ? "kaiming" : "normal");
  ns_json_add_string (b, "device", o->device);
  ns_json_add_strv (b, "modalities", o->modalities);
  ns_json_add_int (b, "regions", o->regions);
  ns_json_add_int (b, "context", o->context);
  ns_json_add_int (b, "interactive", o->interactive);
  ns_json_add_string (b, "interactive_starts", o->interactive_starts);
  ns_json_add_string (b, "normalisation", o->normalisation);
  ns_json_add_int (b, "pp_min_component_voxels", o->postprocess.min_component_voxels);
  ns_json_add_int (b, "pp_small_label", o->postprocess.small_label);
  ns_json_add_int (b, "pp_small_label_below", o->postprocess.small_label_below);
  ns_json_add_int (b, "pp_small_label_to", o->postprocess.small_label_to);
  ns_json_add_int (b, "bf16", o->bf16);
  ns_json_add_int (b, "epochs", o->epochs);
  ns_json_add_int (b, "batch_size", o->batch_size);
  ns_json_add_int (b, "shards", MAX (o->shards, 1));
  ns_json_add_number (b, "lr", o->lr);
  ns_json_add_number (b, "weight_decay", o->weight_decay);
  ns_json_add_string (b, "schedule", _ns_trainer_schedule_name (o->schedule));
  ns_json_add_int (b, "step_epochs", o->step_epochs);
  ns_json_add_number (b, "step_gamma", o->step_gamma);
  ns_json_add_int (b, "steps_per_epoch", o->steps_per_epoch);
  ns_json_add_int (b, "max_steps", o->max_steps);
  ns_json_add_int (b, "patience", o->patience);
  /* the seed as a string: JSON numbers lose 64-bit integers in many readers */
  g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, o->seed);
  ns_json_add_string (b, "seed", seed);
  ns_json_add_int (b, "crop_w", o->data.crop_w);
  ns_json_add_int (b, "crop_h", o->data.crop_h);
  ns_json_add_int (b, "size_multiple", o->data.size_multiple);
  ns_json_add_number (b, "tumour_ratio", o->data.tumour_ratio);
  ns_json_add_int (b, "augment", o->data.augment);
  json_builder_set_member_name (b, "augment_params");
  json_builder_begin_object (b);
  ns_json_add_number (b, "p_hflip", a->p_hflip);
  ns_json_add_number (b, "p_vflip", a->p_vflip);
  ns_json_add_number (b, "rotation_deg", a->rotation_deg);
  ns_json_add_number (b, "shift", a->shift);
  ns_json_add_number (b, "shear", a->shear);
  ns_json_add_number (b, "zoom", a->zoom);
  ns_json_add_number (b, "gamma_min", a->gamma_min);
  ns_json_add_number (b, "gamma_max", a->gamma_max);
  ns_json_add_number (b, "p_elastic", a->p_elastic);
  ns_json_add_number (b, "elastic_alpha", a->elastic_alpha);
  ns_json_add_number (b, "elastic_sigma", a->elastic_sigma);
  json_builder_end_object (b);
  ns_json_add_string (b, "output", o->output);
  ns_json_add_int (b, "dtype", o->dtype);
  ns_json_add_string (b, "command_line", o->command_line);
  json_builder_end_object (b);
  return ns_json_builder_dup_text (b);
}

gboolean
_ns_trainer_options_from_json (NsTrainerOptions *o, const char *text, const char *path,
                               GError **error)
{
  g_autoptr (JsonObject) obj = ns_json_parse_object (text, -1, NULL);
  if (obj == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "%s: the training options in the state are not a JSON object", path);
      return FALSE;
    }
  NsAugmentParams *a = &o->data.augment_params;

  g_strfreev (o->train_cases);
  o->train_cases = ns_json_dup_strv (obj, "train_cases");
  g_strfreev (o->val_cases);
  o->val_cases = ns_json_dup_strv (obj, "val_cases");
  if (o->val_cases != NULL && o->val_cases[0] == NULL)
    g_clear_pointer (&o->val_cases, g_strfreev);
  g_free (o->arch);
  o->arch = ns_json_dup_string (obj, "arch");
  g_free (o->init);
  o->init = ns_json_dup_string (obj, "init");
  g_free (o->imagenet_path);
  o->imagenet_path = ns_json_dup_string (obj, "imagenet_path");
  g_autofree char *winit = ns_json_dup_string (obj, "weights_init");
  o->weights_init = g_strcmp0 (winit, "kaiming") == 0 ? NS_INIT_KAIMING : NS_INIT_NORMAL;
  g_autofree char *device = ns_json_dup_string (obj, "device");
  if (device != NULL)
    {
      g_free (o->device);
      o->device = g_steal_pointer (&device);
    }
  g_strfreev (o->modalities);
  o->modalities = ns_json_dup_strv (obj, "modalities");
  if (o->modalities != NULL && o->modalities[0] == NULL)
    g_clear_pointer (&o->modalities, g_strfreev);
  o->regions = ns_json_get_number (obj, "regions", 0) != 0;
  o->context = (int) ns_json_get_number (obj, "context", 0);
  o->interactive = ns_json_get_number (obj, "interactive", 0) != 0;
  g_free (o->interactive_starts);
  o->interactive_starts = ns_json_dup_string (obj, "interactive_starts");
  g_free (o->normalisation);
  o->normalisation = ns_json_dup_string (obj, "normalisation");
  o->postprocess.min_component_voxels = (int) ns_json_get_number (obj, "pp_min_component_voxels",
                                                                  0);
  o->postprocess.small_label = (int) ns_json_get_number (obj, "pp_small_label", 0);
  o->postprocess.small_label_below = (int) ns_json_get_number (obj, "pp_small_label_below", 0);
  o->postprocess.small_label_to = (int) ns_json_get_number (obj, "pp_small_label_to", 0);
  o->bf16 = ns_json_get_number (obj, "bf16", 0) != 0;
  o->epochs = (int) ns_json_get_number (obj, "epochs", o->epochs);
  o->batch_size = (int) ns_json_get_number (obj, "batch_size", o->batch_size);
  o->shards = (int) ns_json_get_number (obj, "shards", 1);
  o->lr = ns_json_get_number (obj, "lr", o->lr);
  o->weight_decay = ns_json_get_number (obj, "weight_decay", 0);
  g_autofree char *sched = ns_json_dup_string (obj, "schedule");
  o->schedule = g_strcmp0 (sched, "cosine") == 0 ? NS_SCHEDULE_COSINE
                : g_strcmp0 (sched, "step") == 0 ? NS_SCHEDULE_STEP : NS_SCHEDULE_NONE;
  o->step_epochs = (int) ns_json_get_number (obj, "step_epochs", o->step_epochs);
  o->step_gamma = ns_json_get_number (obj, "step_gamma", o->step_gamma);
  o->steps_per_epoch = (int) ns_json_get_number (obj, "steps_per_epoch", 0);
  o->max_steps = (gint64) ns_json_get_number (obj, "max_steps", 0);
  o->patience = (int) ns_json_get_number (obj, "patience", 0);
  g_autofree char *seed = ns_json_dup_string (obj, "seed");
  o->seed = seed != NULL ? g_ascii_strtoull (seed, NULL, 10) : 0;
  o->data.crop_w = (int) ns_json_get_number (obj, "crop_w", 0);
  o->data.crop_h = (int) ns_json_get_number (obj, "crop_h", 0);
  o->data.size_multiple = (int) ns_json_get_number (obj, "size_multiple", 32);
  o->data.tumour_ratio = ns_json_get_number (obj, "tumour_ratio", 2);
  o->data.augment = ns_json_get_number (obj, "augment", 1) != 0;
  JsonObject *ao = ns_json_get_object (obj, "augment_params");
  if (ao != NULL)
    {
      a->p_hflip = ns_json_get_number (ao, "p_hflip", a->p_hflip);
      a->p_vflip = ns_json_get_number (ao, "p_vflip", a->p_vflip);
      a->rotation_deg = ns_json_get_number (ao, "rotation_deg", a->rotation_deg);
      a->shift = ns_json_get_number (ao, "shift", a->shift);
      a->shear = ns_json_get_number (ao, "shear", a->shear);
      a->zoom = ns_json_get_number (ao, "zoom", a->zoom);
      a->gamma_min = ns_json_get_number (ao, "gamma_min", a->gamma_min);
      a->gamma_max = ns_json_get_number (ao, "gamma_max", a->gamma_max);
      a->p_elastic = ns_json_get_number (ao, "p_elastic", a->p_elastic);
      a->elastic_alpha = ns_json_get_number (ao, "elastic_alpha", a->elastic_alpha);
      a->elastic_sigma = ns_json_get_number (ao, "elastic_sigma", a->elastic_sigma);
    }
  g_free (o->output);
  o->output = ns_json_dup_string (obj, "output");
  o->dtype = (NsDType) ns_json_get_number (obj, "dtype", NS_DTYPE_F32);
  g_free (o->command_line);
  o->command_line = ns_json_dup_string (obj, "command_line");
  if (o->train_cases == NULL || o->train_cases[0] == NULL || o->arch == NULL
      || o->output == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "%s: the training options in the state lack the cases, arch or output",
                   path);
      return FALSE;
    }
  return TRUE;
}
