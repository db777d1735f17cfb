/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-import.c: the ImageNet encoder from a TFLite MobileNetV2.
 *
 *   neuroseg import-encoder TFLITE -o OUT.safetensors [--in-channels N]
 *       a mobilenetv2-unet whose encoder is the ImageNet network (decoder and head
 *       initialised as the paper does), ready for `neuroseg train --init`;
 *   neuroseg classify-imagenet TFLITE PHOTO.png
 *       the same import into a 3-input encoder, then global average pool and the file's
 *       Logits layer: the top 5 ImageNet classes of a photograph.  A cat photo that comes
 *       out as a cat proves the reader, the dequantisation, the layer mapping and the
 *       layouts at once; shapes alone would not.
 *
 * The photo is read with cairo, resized to the model's 224 x 224 (bilinear, pixel
 * centres aligned as in TensorFlow's half-pixel mode, the whole picture without crop)
 * and scaled to [-1, 1] as the model's uint8 input (scale 1/128, zero point 128) means.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-cmd.h"
#include "ns-checkpoint.h"
#include "ns-imagenet.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* A meta for an encoder with n inputs: the default (FLAIR, T1c) when n is 2, else
 * "input0".."inputN-1" (R, G, B for the classifier). */
static NsModelMeta *
meta_for_inputs (int n, const char *const *names)
{
  NsModelMeta *meta = ns_model_meta_new_default ("mobilenetv2-unet");

  if (names != NULL || n != ns_model_meta_n_inputs (meta))
    {
      g_strfreev (meta->modalities);
      meta->modalities = g_new0 (char *, n + 1);
      for (int i = 0; i < n; i++)
        meta->modalities[i] = names != NULL ? g_strdup (names[i]) : g_strdup_printf ("input%d", i);
    }
  return meta;
}

static char *
joined_argv (int argc, char **argv)
{
  GString *s = g_string_new ("neuroseg");

  for (int i = 0; i < argc; i++)
    {
      g_autofree char *q = g_shell_quote (argv[i]);

      g_string_append_c (s, ' ');
      g_string_append (s, i == 0 ? "import-encoder" : q);
    }
  return g_string_free (s, FALSE);
}

int
ns_cmd_import_encoder (int argc, char **argv)
{
  static const char summary[] =
    "Builds a mobilenetv2-unet whose encoder is the ImageNet MobileNetV2 of a TensorFlow\n"
    "Lite file (e.g. ../shared/models/imagenet/mobilenet_v2_1.0_224_quant.tflite): the\n"
    "52 convolutions are dequantised and mapped onto encoder.features.*, batch-norm set\n"
    "to identity plus the folded bias, the first convolution adapted from RGB to the\n"
    "model's inputs (the mean RGB kernel times 3/N).  Decoder and head get the paper's\n"
    "N(0, 0.01) initialisation.";
  g_autofree char *out = NULL;
  g_autofree char *dtype_name = NULL;
  g_autofree char *command = joined_argv (argc, argv);
  int in_channels = 2, status;
  gint64 seed = 0;
  gboolean force = FALSE;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Checkpoint to write (.safetensors)",
      "OUT" },
    { "dtype", 0, 0, G_OPTION_ARG_STRING, &dtype_name, "f32 (default), bf16 or f16",
      "TYPE" },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force,
      "Replace OUT if it exists (the TFLite file is never replaced)", NULL },
    { NULL }
  };
  const NsCmdNumber numbers[] = {
    { "in-channels", 0, NS_CMD_INT, &in_channels, 1, 64, FALSE, NULL,
      "Input channels of the encoder (default 2: FLAIR, T1c)", "N" },
    { "seed", 0, NS_CMD_INT64, &seed, 0, G_MAXINT, FALSE, NULL,
      "Seed of the decoder's initialisation (default 0)", "S" },
    { NULL }
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (NsImagenetWeights) weights = NULL;
  g_autoptr (NsBackend) backend = NULL;
  g_autoptr (NsModelMeta) meta = NULL;
  g_autoptr (NsModel) model = NULL;
  NsModelInit init = { NS_INIT_NORMAL, 0.01f, 0 };
  NsDType dtype = NS_DTYPE_F32;

  if (!ns_cmd_parse_options ("import-encoder", "TFLITE -o OUT.safetensors", summary, entries,
                             NULL, numbers, &argc, &argv, &status))
    return status;
  if (argc != 2 || out == NULL)
    {
      fprintf (stderr, "neuroseg import-encoder: expected TFLITE and -o OUT; see "
               "neuroseg import-encoder --help\n");
      return 2;
    }
  if (dtype_name != NULL)
    {
      if (strcmp (dtype_name, "bf16") == 0)
        dtype = NS_DTYPE_BF16;
      else if (strcmp (dtype_name, "f16") == 0)
        dtype = NS_DTYPE_F16;
      else if (strcmp (dtype_name, "f32") != 0)
        {
          fprintf (stderr, "neuroseg import-encoder: --dtype is f32, bf16 or f16, not '%s'\n",
                   ns_cmd_printable (dtype_name));
          return 2;
        }
    }

  /* the input first: what is wrong with it is the first thing to know */
  weights = ns_imagenet_weights_new_from_file (argv[1], &error);
  if (weights == NULL)
    return ns_cmd_print_error (error);
  if (!ns_cmd_check_outputs ((const char *const[]) { out, NULL },
                             (const char *const[]) { argv[1], NULL }, force, &error))
    return ns_cmd_print_error (error);
  backend = ns_backend_new ("ref", &error);
  if (backend == NULL)
    return ns_cmd_print_error (error);

  meta = meta_for_inputs (in_channels, NULL);
  g_free (meta->name);
  meta->name = g_strdup ("MobileNetV2-U-Net, ImageNet encoder (TFLite import)");
  g_free (meta->parent);
  meta->parent = g_strdup (argv[1]);
  g_free (meta->command);
  meta->command = g_steal_pointer (&command);
  {
    g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

    g_free (meta->date);
    meta->date = g_date_time_format_iso8601 (now);
  }
  init.seed = (guint64) seed;
  model = ns_model_new (backend, meta, &init, &error);
  if (model == NULL)
    return ns_cmd_print_error (error);
  if (!ns_imagenet_load_encoder (model, weights, &error))
    {
      g_prefix_error (&error, "%s: ", argv[1]);
      return ns_cmd_print_error (error);
    }
  if (!ns_checkpoint_save (model, out, dtype, &error))
    return ns_cmd_print_error (error);
  printf ("%s: mobilenetv2-unet, %d inputs, encoder from %s (%d convolutions), %"
          G_GSIZE_FORMAT " parameters\n", ns_cmd_printable (out), in_channels, ns_cmd_printable (argv[1]),
          NS_IMAGENET_N_CONVS,
          ns_model_n_parameters (model));
  return 0;
}

/* ---- classify-imagenet ---------------------------------------------------------------- */

/* (3, size, size) RGB in [-1, 1] from a PNG, resized bilinearly. */
static float *
load_photo (const char *path, int size, GError **error)
{
  cairo_surface_t *surface = cairo_image_surface_create_from_png (path);
  cairo_status_t st = cairo_surface_status (surface);
  float *rgb = NULL;
  int w, h, stride;
  cairo_format_t format;
  const guint8 *data;

  if (st != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", path,
                   st == CAIRO_STATUS_FILE_NOT_FOUND ? "no such file"
                   : st == CAIRO_STATUS_READ_ERROR ? "not a readable PNG file"
                   : cairo_status_to_string (st));
      cairo_surface_destroy (surface);
      return NULL;
    }
  cairo_surface_flush (surface);
  w = cairo_image_surface_get_width (surface);
  h = cairo_image_surface_get_height (surface);
  stride = cairo_image_surface_get_stride (surface);
  format = cairo_image_surface_get_format (surface);
  data = cairo_image_surface_get_data (surface);
  if ((format != CAIRO_FORMAT_ARGB32 && format != CAIRO_FORMAT_RGB24) || w < 1 || h < 1)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED,
                   "%s: not a colour or grey PNG (cairo format %d)", path, format);
      cairo_surface_destroy (surface);
      return NULL;
    }

  rgb = g_new (float, 3 * (gsize) size * size);
  for (int y = 0; y < size; y++)
    for (int x = 0; x < size; x++)
      {
        /* Half-pixel centres: output pixel x covers input [x, x+1) * w / size. */
        double sx = CLAMP ((x + 0.5) * w / size - 0.5, 0.0, w - 1.0);
        double sy = CLAMP ((y + 0.5) * h / size - 0.5, 0.0, h - 1.0);
        int x0 = (int) sx, y0 = (int) sy;
        int x1 = MIN (x0 + 1, w - 1), y1 = MIN (y0 + 1, h - 1);
        double fx = sx - x0, fy = sy - y0;

        for (int c = 0; c < 3; c++)
          {
            /* cairo: native-endian 32-bit pixels, premultiplied ARGB. */
            int shift = 16 - 8 * c;
            double v = 0.0;
            const int xs[2] = { x0, x1 }, ys[2] = { y0, y1 };
            const double wx[2] = { 1 - fx, fx }, wy[2] = { 1 - fy, fy };

            for (int a = 0; a < 2; a++)
              for (int b = 0; b < 2; b++)
                {
                  guint32 px = *(const guint32 *) (data + (gsize) ys[a] * stride + 4 * xs[b]);
                  double alpha = format == CAIRO_FORMAT_ARGB32 ? (px >> 24) / 255.0 : 1.0;
                  double value = ((px >> shift) & 0xff);

                  if (alpha > 0.0 && alpha < 1.0)
                    value /= alpha;
                  v += wy[a] * wx[b] * value;
                }
            rgb[((gsize) c * size + y) * size + x] = (float) (v / 127.5 - 1.0);
          }
      }
  cairo_surface_destroy (surface);
  return rgb;
}

int
ns_cmd_classify_imagenet (int argc, char **argv)
{
  static const char summary[] =
    "Imports the ImageNet MobileNetV2 of a TensorFlow Lite file into a 3-input encoder\n"
    "(as import-encoder does), runs it on a photograph (PNG, resized to 224 x 224) with\n"
    "global average pooling and the file's Logits layer, and prints the top classes.\n"
    "Labels come from imagenet_labels.txt next to the model unless --labels is given.";
  g_autofree char *labels_path = NULL;
  g_autofree char *device = NULL;
  gboolean tf_padding = FALSE;
  int top = 5, status;
  const NsCmdNumber numbers[] = {
    { "top", 0, NS_CMD_INT, &top, 1, 10000, FALSE, NULL,
      "How many classes to print (default 5, at most the model's classes)", "K" },
    { NULL }
  };
  const GOptionEntry entries[] = {
    { "labels", 0, 0, G_OPTION_ARG_FILENAME, &labels_path, "Class names, one a line",
      "FILE" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "auto (default), cpu, cuda or ref",
      "DEV" },
    { "tf-padding", 0, 0, G_OPTION_ARG_NONE, &tf_padding,
      "TensorFlow's asymmetric padding at stride 2 (default: our encoder's symmetric one)",
      NULL },
    { NULL }
  };
  static const char *const rgb_names[] = { "red", "green", "blue" };
  g_autoptr (GError) error = NULL;
  g_autoptr (NsImagenetWeights) weights = NULL;
  g_autoptr (NsBackend) backend = NULL;
  g_autoptr (NsModelMeta) meta = NULL;
  g_autoptr (NsModel) model = NULL;
  g_autofree float *rgb = NULL;
  g_autofree float *logits = NULL;
  g_autofree int *best = NULL;
  g_autofree char *labels_text = NULL;
  g_auto (GStrv) labels = NULL;
  NsImagenetClassifyParams params = { 0 };
  double max_logit, sum = 0.0;

  if (!ns_cmd_parse_options ("classify-imagenet", "TFLITE PHOTO.png", summary, entries,
                             NULL, numbers, &argc, &argv, &status))
    return status;
  if (argc != 3)
    {
      fprintf (stderr, "neuroseg classify-imagenet: expected TFLITE and PHOTO.png; see "
               "neuroseg classify-imagenet --help\n");
      return 2;
    }

  weights = ns_imagenet_weights_new_from_file (argv[1], &error);
  if (weights == NULL)
    return ns_cmd_print_error (error);
  if (top > weights->n_classes)
    {
      fprintf (stderr, "neuroseg classify-imagenet: --top is at most %d, the classes of %s\n",
               weights->n_classes, ns_cmd_printable (argv[1]));
      return 2;
    }

  if (labels_path == NULL)
    {
      g_autofree char *dir = g_path_get_dirname (argv[1]);

      labels_path = g_build_filename (dir, "imagenet_labels.txt", NULL);
    }
  if (!g_file_get_contents (labels_path, &labels_text, NULL, &error))
    return ns_cmd_print_error (error);
  labels = g_strsplit (labels_text, "\n", -1);
  if (g_strv_length (labels) < (guint) weights->n_classes)
    {
      fprintf (stderr, "neuroseg: %s: %u lines, the model has %d classes\n",
               ns_cmd_printable (labels_path), g_strv_length (labels), weights->n_classes);
      return 1;
    }

  rgb = load_photo (argv[2], weights->input_size, &error);
  if (rgb == NULL)
    return ns_cmd_print_error (error);

  backend = ns_backend_new (device != NULL ? device : "auto", &error);
  if (backend == NULL)
    return ns_cmd_print_error (error);
  meta = meta_for_inputs (3, rgb_names);
  model = ns_model_new (backend, meta, NULL, &error);
  if (model == NULL)
    return ns_cmd_print_error (error);
  if (!ns_imagenet_load_encoder (model, weights, &error))
    return ns_cmd_print_error (error);

  logits = g_new (float, weights->n_classes);
  params.tf_padding = tf_padding;
  if (!ns_imagenet_classify (model, weights, &params, rgb, weights->input_size,
                             weights->input_size, logits, &error))
    return ns_cmd_print_error (error);

  best = g_new (int, top);
  ns_imagenet_top_k (logits, weights->n_classes, top, best);
  max_logit = logits[best[0]];
  for (int k = 0; k < weights->n_classes; k++)
    sum += exp (logits[k] - max_logit);
  printf ("%s (%s backend%s):\n", ns_cmd_printable (argv[2]), ns_backend_get_name (backend),
          tf_padding ? ", TensorFlow padding" : "");
  for (int r = 0; r < top; r++)
    printf ("%2d. %5.1f %%  %4d  %s\n", r + 1, 100.0 * exp (logits[best[r]] - max_logit) / sum,
            best[r], ns_cmd_printable (g_strstrip (labels[best[r]])));
  return 0;
}
