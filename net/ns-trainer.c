/* SPDX-License-Identifier: MIT
 *
 * ns-trainer.c: the training loop (see ns-trainer.h).
 *
 * The step is ns_model_train_step()'s sequence written out (zero-grad, forward, softmax +
 * Dice + CE, backward) with the Adam update done here on moments the trainer owns, so
 * that they can be saved and restored for an exact resume; the model's own Adam state is
 * private to it.  ns_adam_update() writes the flat parameters directly, so before each
 * validation the folded inference weights are marked stale by re-setting one tensor
 * (ns_model_tensor_set is the public way to say "the parameters changed").
 *
 * Validation runs the inference engine (net/ns-infer.h) on whole held-out volumes, the
 * same path `neuroseg segment` takes, so the Dice reported during training is the Dice
 * the shipped model gets.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-trainer.h"

#include "ns-data-error.h"
#include "ns-imagenet.h"
#include "ns-infer.h"
#include "ns-metrics.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#define STATE_FORMAT "neuroseg-train-state"
#define STATE_VERSION 1
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

static const char *
schedule_name (NsSchedule s)
{
  switch (s)
    {
    case NS_SCHEDULE_COSINE: return "cosine";
    case NS_SCHEDULE_STEP: return "step";
    case NS_SCHEDULE_NONE:
    default: return "none";
    }
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

/* ---- options as JSON (in the state file) ---------------------------------------------- */

static void
add_strv (JsonBuilder *b, const char *name, char **v)
{
  json_builder_set_member_name (b, name);
  json_builder_begin_array (b);
  for (char **p = v; p != NULL && *p != NULL; p++)
    json_builder_add_string_value (b, *p);
  json_builder_end_array (b);
}

static void
add_str (JsonBuilder *b, const char *name, const char *v)
{
  json_builder_set_member_name (b, name);
  if (v != NULL)
    json_builder_add_string_value (b, v);
  else
    json_builder_add_null_value (b);
}

static void
add_num (JsonBuilder *b, const char *name, double v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_double_value (b, v);
}

static void
add_int (JsonBuilder *b, const char *name, gint64 v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, v);
}

static char *
options_to_json (const NsTrainerOptions *o)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  const NsAugmentParams *a = &o->data.augment_params;

  json_builder_begin_object (b);
  add_strv (b, "train_cases", o->train_cases);
  add_strv (b, "val_cases", o->val_cases);
  add_str (b, "arch", o->arch);
  add_str (b, "init", o->init);
  add_str (b, "imagenet_path", o->imagenet_path);
  add_str (b, "weights_init", o->weights_init == NS_INIT_KAIMING ? "kaiming" : "normal");
  add_str (b, "device", o->device);
  add_int (b, "bf16", o->bf16);
  add_int (b, "epochs", o->epochs);
  add_int (b, "batch_size", o->batch_size);
  add_num (b, "lr", o->lr);
  add_num (b, "weight_decay", o->weight_decay);
  add_str (b, "schedule", schedule_name (o->schedule));
  add_int (b, "step_epochs", o->step_epochs);
  add_num (b, "step_gamma", o->step_gamma);
  add_int (b, "steps_per_epoch", o->steps_per_epoch);
  add_int (b, "max_steps", o->max_steps);
  add_int (b, "patience", o->patience);
  /* the seed as a string: JSON numbers lose 64-bit integers in many readers */
  g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, o->seed);
  add_str (b, "seed", seed);
  add_int (b, "crop_w", o->data.crop_w);
  add_int (b, "crop_h", o->data.crop_h);
  add_int (b, "size_multiple", o->data.size_multiple);
  add_num (b, "tumour_ratio", o->data.tumour_ratio);
  add_int (b, "augment", o->data.augment);
  json_builder_set_member_name (b, "augment_params");
  json_builder_begin_object (b);
  add_num (b, "p_hflip", a->p_hflip);
  add_num (b, "p_vflip", a->p_vflip);
  add_num (b, "rotation_deg", a->rotation_deg);
  add_num (b, "shift", a->shift);
  add_num (b, "shear", a->shear);
  add_num (b, "zoom", a->zoom);
  add_num (b, "gamma_min", a->gamma_min);
  add_num (b, "gamma_max", a->gamma_max);
  add_num (b, "p_elastic", a->p_elastic);
  add_num (b, "elastic_alpha", a->elastic_alpha);
  add_num (b, "elastic_sigma", a->elastic_sigma);
  json_builder_end_object (b);
  add_str (b, "output", o->output);
  add_int (b, "dtype", o->dtype);
  add_str (b, "command_line", o->command_line);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return json_to_string (root, FALSE);
}

static char **
get_strv (JsonObject *obj, const char *name)
{
  JsonArray *arr = json_object_has_member (obj, name)
                   && JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, name))
                   ? json_object_get_array_member (obj, name) : NULL;
  if (arr == NULL)
    return NULL;
  guint n = json_array_get_length (arr);
  char **v = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    v[i] = g_strdup (json_array_get_string_element (arr, i));
  return v;
}

static char *
get_str (JsonObject *obj, const char *name)
{
  JsonNode *n = json_object_get_member (obj, name);
  return n != NULL && JSON_NODE_HOLDS_VALUE (n) ? g_strdup (json_node_get_string (n)) : NULL;
}

static double
get_num (JsonObject *obj, const char *name, double fallback)
{
  JsonNode *n = json_object_get_member (obj, name);
  return n != NULL && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_double (n) : fallback;
}

static gboolean
options_from_json (NsTrainerOptions *o, const char *text, const char *path, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, text, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "%s: the training options in the state are not a JSON object", path);
      return FALSE;
    }
  JsonObject *obj = json_node_get_object (json_parser_get_root (parser));
  NsAugmentParams *a = &o->data.augment_params;

  g_strfreev (o->train_cases);
  o->train_cases = get_strv (obj, "train_cases");
  g_strfreev (o->val_cases);
  o->val_cases = get_strv (obj, "val_cases");
  if (o->val_cases != NULL && o->val_cases[0] == NULL)
    g_clear_pointer (&o->val_cases, g_strfreev);
  g_free (o->arch);
  o->arch = get_str (obj, "arch");
  g_free (o->init);
  o->init = get_str (obj, "init");
  g_free (o->imagenet_path);
  o->imagenet_path = get_str (obj, "imagenet_path");
  g_autofree char *winit = get_str (obj, "weights_init");
  o->weights_init = g_strcmp0 (winit, "kaiming") == 0 ? NS_INIT_KAIMING : NS_INIT_NORMAL;
  g_autofree char *device = get_str (obj, "device");
  if (device != NULL)
    {
      g_free (o->device);
      o->device = g_steal_pointer (&device);
    }
  o->bf16 = get_num (obj, "bf16", 0) != 0;
  o->epochs = (int) get_num (obj, "epochs", o->epochs);
  o->batch_size = (int) get_num (obj, "batch_size", o->batch_size);
  o->lr = get_num (obj, "lr", o->lr);
  o->weight_decay = get_num (obj, "weight_decay", 0);
  g_autofree char *sched = get_str (obj, "schedule");
  o->schedule = g_strcmp0 (sched, "cosine") == 0 ? NS_SCHEDULE_COSINE
                : g_strcmp0 (sched, "step") == 0 ? NS_SCHEDULE_STEP : NS_SCHEDULE_NONE;
  o->step_epochs = (int) get_num (obj, "step_epochs", o->step_epochs);
  o->step_gamma = get_num (obj, "step_gamma", o->step_gamma);
  o->steps_per_epoch = (int) get_num (obj, "steps_per_epoch", 0);
  o->max_steps = (gint64) get_num (obj, "max_steps", 0);
  o->patience = (int) get_num (obj, "patience", 0);
  g_autofree char *seed = get_str (obj, "seed");
  o->seed = seed != NULL ? g_ascii_strtoull (seed, NULL, 10) : 0;
  o->data.crop_w = (int) get_num (obj, "crop_w", 0);
  o->data.crop_h = (int) get_num (obj, "crop_h", 0);
  o->data.size_multiple = (int) get_num (obj, "size_multiple", 32);
  o->data.tumour_ratio = get_num (obj, "tumour_ratio", 2);
  o->data.augment = get_num (obj, "augment", 1) != 0;
  JsonNode *an = json_object_get_member (obj, "augment_params");
  if (an != NULL && JSON_NODE_HOLDS_OBJECT (an))
    {
      JsonObject *ao = json_node_get_object (an);
      a->p_hflip = get_num (ao, "p_hflip", a->p_hflip);
      a->p_vflip = get_num (ao, "p_vflip", a->p_vflip);
      a->rotation_deg = get_num (ao, "rotation_deg", a->rotation_deg);
      a->shift = get_num (ao, "shift", a->shift);
      a->shear = get_num (ao, "shear", a->shear);
      a->zoom = get_num (ao, "zoom", a->zoom);
      a->gamma_min = get_num (ao, "gamma_min", a->gamma_min);
      a->gamma_max = get_num (ao, "gamma_max", a->gamma_max);
      a->p_elastic = get_num (ao, "p_elastic", a->p_elastic);
      a->elastic_alpha = get_num (ao, "elastic_alpha", a->elastic_alpha);
      a->elastic_sigma = get_num (ao, "elastic_sigma", a->elastic_sigma);
    }
  g_free (o->output);
  o->output = get_str (obj, "output");
  o->dtype = (NsDType) get_num (obj, "dtype", NS_DTYPE_F32);
  g_free (o->command_line);
  o->command_line = get_str (obj, "command_line");
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

/* ---- the state file ------------------------------------------------------------------- */

typedef struct
{
  gint64 step;
  int epochs_done;
  double best_score;           /* -1 before the first validation */
  double best_dice[3];
  int best_epoch;
  int bad_epochs;
  double seconds;
  double epoch_loss_sum;       /* the loss of the epoch in progress, for its mean */
  gint64 epoch_loss_n;
} TrainState;

static void
set_meta_str (JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name (b, name);
  json_builder_add_string_value (b, value);
}

static void
set_meta_num (JsonBuilder *b, const char *name, double value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  set_meta_str (b, name, g_ascii_dtostr (buf, sizeof buf, value));
}

/* A safetensors file: adam.m and adam.v (F32, n) and the counters in __metadata__.  The
 * floats are written in host order: little-endian on every machine Neuroseg builds for. */
static gboolean
state_save (const char *path, const NsTrainerOptions *o, const TrainState *st,
            const float *m, const float *v, gsize n, GError **error)
{
  G_STATIC_ASSERT (G_BYTE_ORDER == G_LITTLE_ENDIAN);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  gsize bytes = n * sizeof (float);

  json_builder_begin_object (b);
  const char *names[2] = { "adam.m", "adam.v" };
  for (int t = 0; t < 2; t++)
    {
      json_builder_set_member_name (b, names[t]);
      json_builder_begin_object (b);
      set_meta_str (b, "dtype", "F32");
      json_builder_set_member_name (b, "shape");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, (gint64) n);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "data_offsets");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, (gint64) (t * bytes));
      json_builder_add_int_value (b, (gint64) ((t + 1) * bytes));
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_set_member_name (b, "__metadata__");
  json_builder_begin_object (b);
  set_meta_str (b, "format", STATE_FORMAT);
  set_meta_num (b, "version", STATE_VERSION);
  set_meta_num (b, "step", (double) st->step);
  set_meta_num (b, "epochs_done", st->epochs_done);
  set_meta_num (b, "best_score", st->best_score);
  set_meta_num (b, "best_dice_wt", st->best_dice[0]);
  set_meta_num (b, "best_dice_tc", st->best_dice[1]);
  set_meta_num (b, "best_dice_et", st->best_dice[2]);
  set_meta_num (b, "best_epoch", st->best_epoch);
  set_meta_num (b, "bad_epochs", st->bad_epochs);
  set_meta_num (b, "seconds", st->seconds);
  set_meta_num (b, "epoch_loss_sum", st->epoch_loss_sum);
  set_meta_num (b, "epoch_loss_n", (double) st->epoch_loss_n);
  /* The random stream is counter-based (batch = f(seed, step), ns-dataset.h): the seed
   * and the step are its whole state. */
  g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, o->seed);
  set_meta_str (b, "rng", "counter: batch = f(seed, step)");
  set_meta_str (b, "seed", seed);
  g_autofree char *opts = options_to_json (o);
  set_meta_str (b, "options", opts);
  json_builder_end_object (b);
  json_builder_end_object (b);

  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *header = json_to_string (root, FALSE);
  gsize hlen = strlen (header), padded = (hlen + 7) / 8 * 8;
  gsize total = 8 + padded + 2 * bytes;
  g_autofree char *buf = g_try_malloc (total);
  if (buf == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "%s: out of memory for the training state", path);
      return FALSE;
    }
  guint64 le = GUINT64_TO_LE ((guint64) padded);
  memcpy (buf, &le, 8);
  memcpy (buf + 8, header, hlen);
  memset (buf + 8 + hlen, ' ', padded - hlen);
  memcpy (buf + 8 + padded, m, bytes);
  memcpy (buf + 8 + padded + bytes, v, bytes);
  g_autoptr (GError) local = NULL;
  if (!g_file_set_contents (path, buf, (gssize) total, &local))
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED, "%s: cannot write the training "
                   "state: %s", path, local->message);
      return FALSE;
    }
  return TRUE;
}

static double
meta_num (JsonObject *md, const char *name, gboolean *ok)
{
  JsonNode *n = json_object_get_member (md, name);
  const char *s = n != NULL && JSON_NODE_HOLDS_VALUE (n) ? json_node_get_string (n) : NULL;
  if (s == NULL)
    {
      *ok = FALSE;
      return 0;
    }
  return g_ascii_strtod (s, NULL);
}

/* Reads a state file: its metadata object (returned, owned) and, when m is not NULL, the
 * moments (n floats each, checked). */
static JsonObject *
state_load (const char *path, float *m, float *v, gsize n, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) local = NULL;
  if (!g_file_get_contents (path, &data, &len, &local))
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "%s: cannot read the training state: %s", path, local->message);
      return NULL;
    }
  guint64 hlen = 0;
  if (len >= 8)
    {
      memcpy (&hlen, data, 8);
      hlen = GUINT64_FROM_LE (hlen);
    }
  if (len < 8 || hlen > len - 8)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "%s: not a training state (truncated header)", path);
      return NULL;
    }
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!json_parser_load_from_data (parser, data + 8, (gssize) hlen, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "%s: not a training state (the header is not JSON)", path);
      return NULL;
    }
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonNode *mdn = json_object_get_member (root, "__metadata__");
  JsonObject *md = mdn != NULL && JSON_NODE_HOLDS_OBJECT (mdn) ? json_node_get_object (mdn)
                                                                : NULL;
  const char *format = md != NULL && json_object_has_member (md, "format")
                       ? json_object_get_string_member (md, "format") : NULL;
  if (g_strcmp0 (format, STATE_FORMAT) != 0)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "%s: not a Neuroseg training state (format \"%s\")", path,
                   format != NULL ? format : "");
      return NULL;
    }
  gboolean ok = TRUE;
  int version = (int) meta_num (md, "version", &ok);
  if (!ok || version != STATE_VERSION)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "%s: training state version %d, this build reads %d: start a new run",
                   path, version, STATE_VERSION);
      return NULL;
    }
  if (m != NULL)
    {
      const char *names[2] = { "adam.m", "adam.v" };
      float *dst[2] = { m, v };
      for (int t = 0; t < 2; t++)
        {
          JsonNode *tn = json_object_get_member (root, names[t]);
          JsonObject *to = tn != NULL && JSON_NODE_HOLDS_OBJECT (tn) ? json_node_get_object (tn)
                                                                     : NULL;
          JsonArray *shape = to != NULL ? json_object_get_array_member (to, "shape") : NULL;
          JsonArray *offs = to != NULL ? json_object_get_array_member (to, "data_offsets")
                                       : NULL;
          const char *dtype = to != NULL ? json_object_get_string_member (to, "dtype") : NULL;
          if (shape == NULL || offs == NULL || json_array_get_length (offs) != 2
              || json_array_get_length (shape) != 1 || g_strcmp0 (dtype, "F32") != 0)
            {
              g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                           "%s: %s is missing or not a F32 vector", path, names[t]);
              return NULL;
            }
          gint64 count = json_array_get_int_element (shape, 0);
          gint64 b0 = json_array_get_int_element (offs, 0);
          gint64 b1 = json_array_get_int_element (offs, 1);
          if (count != (gint64) n)
            {
              g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                           "%s: %s has %" G_GINT64_FORMAT " values, the model has %zu "
                           "parameters", path, names[t], count, (size_t) n);
              return NULL;
            }
          if (b0 < 0 || b1 - b0 != (gint64) (n * sizeof (float))
              || (guint64) b1 > len - 8 - hlen)
            {
              g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                           "%s: %s lies outside the file (truncated?)", path, names[t]);
              return NULL;
            }
          memcpy (dst[t], data + 8 + hlen + b0, n * sizeof (float));
        }
    }
  return json_object_ref (md);
}

gboolean
ns_trainer_options_load_state (NsTrainerOptions *o, const char *last, GError **error)
{
  g_return_val_if_fail (o != NULL && last != NULL, FALSE);
  g_autofree char *spath = ns_trainer_state_path (last);
  g_autoptr (JsonObject) md = state_load (spath, NULL, NULL, 0, error);
  if (md == NULL)
    return FALSE;
  const char *opts = json_object_has_member (md, "options")
                     ? json_object_get_string_member (md, "options") : NULL;
  if (opts == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                   "%s: the training state has no options", spath);
      return FALSE;
    }
  if (!options_from_json (o, opts, spath, error))
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

/* Builds the model of the options and initialises it; *parent gets what it came from. */
static NsModel *
make_model (NsBackend *be, const NsTrainerOptions *o, char **parent, GError **error)
{
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default (o->arch);
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
  if (!ns_checkpoint_load_into (model, how, error))
    return NULL;
  *parent = g_strdup (how);
  return g_steal_pointer (&model);
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
  if (bad != NULL)
    {
      g_set_error_literal (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID, bad);
      return FALSE;
    }
  return TRUE;
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

/* ---- checkpoints ---------------------------------------------------------------------- */

static void
set_provenance (NsModel *model, const NsTrainerOptions *o, NsDataset *ds, const char *parent,
                const TrainState *st, const double dice[3], gboolean has_dice,
                const char *device, double loss)
{
  g_autoptr (NsModelMeta) meta = ns_model_meta_copy (ns_model_get_meta (model));
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  if (has_dice)
    {
      add_num (b, "dice_wt", dice[0]);
      add_num (b, "dice_tc", dice[1]);
      add_num (b, "dice_et", dice[2]);
      add_num (b, "dice_mean", (dice[0] + dice[1] + dice[2]) / 3);
    }
  add_strv (b, "val_cases", o->val_cases);
  add_num (b, "loss", loss);
  add_int (b, "steps", st->step);
  add_num (b, "seconds", st->seconds);
  add_str (b, "device", device);
  add_int (b, "batch_size", o->batch_size);
  add_num (b, "lr", o->lr);
  add_str (b, "schedule", schedule_name (o->schedule));
  g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, o->seed);
  add_str (b, "seed", seed);
  int cw = 0, ch = 0;
  ns_dataset_get_crop_size (ds, &cw, &ch);
  add_int (b, "crop_w", cw);
  add_int (b, "crop_h", ch);
  add_num (b, "tumour_ratio", o->data.tumour_ratio);
  add_int (b, "bf16", o->bf16);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);

  g_free (meta->metrics);
  meta->metrics = json_to_string (root, FALSE);
  g_free (meta->parent);
  meta->parent = g_strdup (parent);
  g_strfreev (meta->cases);
  meta->cases = g_strdupv ((char **) ns_dataset_get_case_ids (ds));
  meta->epochs = st->epochs_done;
  g_free (meta->date);
  meta->date = g_date_time_format_iso8601 (now);
  g_free (meta->command);
  meta->command = g_strdup (o->command_line);
  if (meta->name == NULL)
    meta->name = g_strdup_printf ("%s trained by neuroseg", meta->arch);
  ns_model_set_meta (model, meta);
}

static gboolean
save_last (NsModel *model, NsTensor *tm, NsTensor *tv, const NsTrainerOptions *o,
           const TrainState *st, const char *last, GError **error)
{
  gsize n = ns_tensor_n_elements (tm);
  g_autofree float *m = g_try_new (float, n);
  g_autofree float *v = g_try_new (float, n);
  if (m == NULL || v == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "%s: out of memory for the training state", last);
      return FALSE;
    }
  ns_tensor_download (tm, m);
  ns_tensor_download (tv, v);
  g_autofree char *spath = ns_trainer_state_path (last);
  /* model first: a state always has its checkpoint */
  return ns_checkpoint_save (model, last, NS_DTYPE_F32, error)
         && state_save (spath, o, st, m, v, n, error);
}

/* ---- the run ---------------------------------------------------------------------------- */

gboolean
ns_trainer_run (const NsTrainerOptions *o, NsTrainerResult *result, GError **error)
{
  g_return_val_if_fail (o != NULL && result != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (result, 0, sizeof *result);
  result->best_score = NAN;
  if (!check_options (o, error))
    return FALSE;

  g_autoptr (NsBackend) be = ns_backend_new (o->device != NULL ? o->device : "auto", error);
  if (be == NULL)
    return FALSE;
  if (o->bf16 && ns_backend_supports_op (be, NS_OP_BF16)
      && !ns_backend_set_precision (be, NS_PRECISION_BF16, error))
    return FALSE;
  g_autofree char *device = g_strdup_printf ("%s (%s%s)", ns_backend_get_device (be),
                                             ns_backend_get_name (be),
                                             ns_backend_get_precision (be) == NS_PRECISION_BF16
                                             ? ", bf16" : ", fp32");
  result->device = g_strdup (device);

  g_autofree char *parent = NULL;
  g_autoptr (NsModel) model = make_model (be, o, &parent, error);
  if (model == NULL)
    return FALSE;

  /* data */
  NsDatasetOptions dopt = o->data;
  dopt.seed = o->seed;
  dopt.size_multiple = ns_model_get_size_multiple (model);
  if ((dopt.crop_w > 0 && dopt.crop_w % dopt.size_multiple != 0)
      || (dopt.crop_h > 0 && dopt.crop_h % dopt.size_multiple != 0))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "the crop %d x %d must be a multiple of %d for the %s", dopt.crop_w,
                   dopt.crop_h, dopt.size_multiple, o->arch);
      return FALSE;
    }
  g_autoptr (NsDataset) ds = ns_dataset_new ((const char *const *) o->train_cases,
                                             ns_model_get_meta (model), &dopt, error);
  if (ds == NULL)
    return FALSE;
  g_autoptr (GPtrArray) val = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_case_unref);
  for (char **p = o->val_cases; p != NULL && *p != NULL; p++)
    {
      NsCase *ncase = ns_case_load (*p, NS_CASE_LOAD_MAP_TO_2017, error);
      if (ncase == NULL)
        return FALSE;
      g_ptr_array_add (val, ncase);
      if (ncase->labels == NULL)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "%s: the validation case has no label map", *p);
          return FALSE;
        }
    }

  int B = o->batch_size, W = 0, H = 0, C = ns_dataset_get_n_channels (ds);
  int K = ns_model_get_meta (model)->n_classes;
  ns_dataset_get_crop_size (ds, &W, &H);
  int spe = o->steps_per_epoch;
  if (spe <= 0)
    {
      double ratio = o->data.tumour_ratio;
      int nt = ns_dataset_get_n_tumour_slices (ds);
      double items = nt > 0 ? nt * (ratio > 0 ? 1.0 + 1.0 / ratio : 1.0)
                            : ns_dataset_get_n_slices (ds);
      spe = MAX (1, (int) ceil (items / B));
    }
  gint64 total = (gint64) o->epochs * spe;
  if (o->max_steps > 0)
    total = MIN (total, o->max_steps);

  /* optimiser state */
  NsTensor *flat = ns_model_get_flat_params (model);
  gsize np = ns_tensor_n_elements (flat);
  g_autoptr (NsTensor) tm = ns_tensor_new (be, (int) np, 1, 1, 1, error);
  if (tm == NULL)
    return FALSE;
  g_autoptr (NsTensor) tv = ns_tensor_new (be, (int) np, 1, 1, 1, error);
  if (tv == NULL)
    return FALSE;
  ns_tensor_fill (tm, 0.0f);
  ns_tensor_fill (tv, 0.0f);
  TrainState st = { 0 };
  st.best_score = -1;

  g_autofree char *last = ns_trainer_last_path (o->output);
  if (o->resume != NULL)
    {
      g_autofree float *m = g_try_new (float, np);
      g_autofree float *v = g_try_new (float, np);
      g_autofree char *spath = ns_trainer_state_path (o->resume);
      if (m == NULL || v == NULL)
        {
          g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                       "%s: out of memory for the training state", spath);
          return FALSE;
        }
      g_autoptr (JsonObject) md = state_load (spath, m, v, np, error);
      if (md == NULL)
        return FALSE;
      if (!ns_checkpoint_load_into (model, o->resume, error))
        return FALSE;
      gboolean ok = TRUE;
      st.step = (gint64) meta_num (md, "step", &ok);
      st.epochs_done = (int) meta_num (md, "epochs_done", &ok);
      st.best_score = meta_num (md, "best_score", &ok);
      st.best_dice[0] = meta_num (md, "best_dice_wt", &ok);
      st.best_dice[1] = meta_num (md, "best_dice_tc", &ok);
      st.best_dice[2] = meta_num (md, "best_dice_et", &ok);
      st.best_epoch = (int) meta_num (md, "best_epoch", &ok);
      st.bad_epochs = (int) meta_num (md, "bad_epochs", &ok);
      st.seconds = meta_num (md, "seconds", &ok);
      st.epoch_loss_sum = meta_num (md, "epoch_loss_sum", &ok);
      st.epoch_loss_n = (gint64) meta_num (md, "epoch_loss_n", &ok);
      g_autofree char *seed = json_object_has_member (md, "seed")
                              ? g_strdup (json_object_get_string_member (md, "seed")) : NULL;
      if (!ok || seed == NULL || g_ascii_strtoull (seed, NULL, 10) != o->seed)
        {
          g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT,
                       "%s: the state lacks a counter or was made with another seed (%s)",
                       spath, seed != NULL ? seed : "none");
          return FALSE;
        }
      ns_tensor_upload (tm, m);
      ns_tensor_upload (tv, v);
      if (parent == NULL)
        {
          const NsModelMeta *rm = ns_model_get_meta (model);
          parent = g_strdup (rm->parent);
        }
    }

  g_autoptr (NsTensor) input = ns_tensor_new (be, B, C, H, W, error);
  if (input == NULL)
    return FALSE;
  g_autoptr (NsTensor) lab = ns_tensor_new (be, B, 1, H, W, error);
  if (lab == NULL)
    return FALSE;
  g_autoptr (NsTensor) probs = ns_tensor_new (be, B, K, H, W, error);
  if (probs == NULL)
    return FALSE;
  g_autoptr (NsTensor) dlogits = ns_tensor_new (be, B, K, H, W, error);
  if (dlogits == NULL)
    return FALSE;

  result->last_path = g_strdup (last);
  result->best_path = g_strdup (o->output);
  g_autoptr (NsBatchLoader) loader = ns_batch_loader_new (ds, B, (guint64) st.step,
                                                          o->n_workers, 0);
  gint64 t_session = g_get_monotonic_time ();
  double seconds_before = st.seconds;
  gint64 session_steps = 0;
  gboolean saved = TRUE;
  double last_loss = NAN;
  int every = MAX (o->progress_every, 1);

  while (st.step < total)
    {
      g_autoptr (NsBatch) batch = ns_batch_loader_next (loader, error);
      if (batch == NULL)
        return FALSE;
      double lr = ns_trainer_lr_at (o, st.step, total, spe);

      ns_model_set_mode (model, NS_MODEL_TRAIN);
      ns_tensor_upload (input, batch->images);
      ns_tensor_upload (lab, batch->labels);
      ns_model_zero_grad (model);
      NsTensor *logits = ns_model_forward (model, input, error);
      if (logits == NULL)
        return FALSE;
      float loss = ns_softmax_dice_ce_forward (probs, logits, lab);
      if (!isfinite (loss))
        {
          g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED,
                       "the loss became %g at step %" G_GINT64_FORMAT " (learning rate %g too "
                       "high?)", loss, st.step + 1, lr);
          return FALSE;
        }
      ns_softmax_dice_ce_backward (dlogits, probs, lab);
      ns_model_backward (model, dlogits);
      NsAdamParams ap = { (float) lr, 0.9f, 0.999f, 1e-8f, (float) o->weight_decay,
                          (int) (st.step + 1) };
      ns_adam_update (flat, ns_model_get_flat_grads (model), tm, tv, &ap);
      st.step++;
      session_steps++;
      saved = FALSE;
      last_loss = loss;
      st.epoch_loss_sum += loss;
      st.epoch_loss_n++;
      st.seconds = seconds_before + (g_get_monotonic_time () - t_session) / 1e6;

      double rate = session_steps / MAX (st.seconds - seconds_before, 1e-9);
      if (o->progress != NULL && (st.step % every == 0 || st.step == total))
        {
          NsTrainEvent ev = { NS_TRAIN_EVENT_STEP };
          ev.epoch = (int) ((st.step - 1) / spe) + 1;
          ev.epochs = (int) ((total + spe - 1) / spe);
          ev.step = st.step;
          ev.total_steps = total;
          ev.steps_per_epoch = spe;
          ev.loss = loss;
          ev.lr = lr;
          ev.seconds = st.seconds;
          ev.eta_seconds = (total - st.step) / rate;
          ev.slices_per_second = rate * B;
          o->progress (&ev, o->progress_data);
        }

      gboolean epoch_end = st.step % spe == 0 || st.step == total;
      if (epoch_end)
        {
          NsTrainEvent ev = { NS_TRAIN_EVENT_EPOCH };
          st.epochs_done = (int) ((st.step + spe - 1) / spe);
          ev.epoch = st.epochs_done;
          ev.epochs = (int) ((total + spe - 1) / spe);
          ev.step = st.step;
          ev.total_steps = total;
          ev.steps_per_epoch = spe;
          ev.loss = st.epoch_loss_sum / MAX (st.epoch_loss_n, 1);
          ev.lr = lr;
          st.epoch_loss_sum = 0;
          st.epoch_loss_n = 0;
          if (val->len > 0)
            {
              gint64 tv0 = g_get_monotonic_time ();
              if (!validate (model, val, ev.dice, error))
                return FALSE;
              ev.validation_seconds = (g_get_monotonic_time () - tv0) / 1e6;
              ev.has_validation = TRUE;
              ev.score = (ev.dice[0] + ev.dice[1] + ev.dice[2]) / 3;
              if (ev.score > st.best_score)
                {
                  st.best_score = ev.score;
                  memcpy (st.best_dice, ev.dice, sizeof ev.dice);
                  st.best_epoch = st.epochs_done;
                  st.bad_epochs = 0;
                  ev.is_best = TRUE;
                }
              else
                st.bad_epochs++;
            }
          /* validation time counts as training time */
          st.seconds = seconds_before + (g_get_monotonic_time () - t_session) / 1e6;
          set_provenance (model, o, ds, parent, &st, ev.dice, ev.has_validation, device,
                          ev.loss);
          if ((ev.is_best || val->len == 0)
              && !ns_checkpoint_save (model, o->output, o->dtype, error))
            return FALSE;
          if (!save_last (model, tm, tv, o, &st, last, error))
            return FALSE;
          saved = TRUE;
          ev.seconds = st.seconds;
          ev.eta_seconds = (total - st.step) / rate;
          ev.slices_per_second = rate * B;
          ev.loader_wait_seconds = ns_batch_loader_get_wait_seconds (loader);
          if (o->progress != NULL)
            o->progress (&ev, o->progress_data);
          if (o->patience > 0 && st.bad_epochs >= o->patience)
            {
              result->early_stopped = TRUE;
              break;
            }
        }
      if (o->stop != NULL && g_atomic_int_get (o->stop))
        {
          result->stopped = st.step < total;
          break;
        }
    }

  if (!saved)
    {
      double none[3] = { 0 };
      st.epochs_done = (int) ((st.step + spe - 1) / spe);
      set_provenance (model, o, ds, parent, &st, none, FALSE, device, last_loss);
      if (!save_last (model, tm, tv, o, &st, last, error))
        return FALSE;
    }
  result->steps = st.step;
  result->epochs_done = st.epochs_done;
  result->seconds = st.seconds;
  result->last_loss = last_loss;
  if (st.best_score >= 0)
    {
      result->best_score = st.best_score;
      memcpy (result->best_dice, st.best_dice, sizeof st.best_dice);
      result->best_epoch = st.best_epoch;
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
