/* SPDX-License-Identifier: MIT
 *
 * tools/bench/conv.c: micro-benchmark of the convolutions that dominate the
 * MobileNetV2-U-Net on a backend (default `cpu`), through the public op API, so that it
 * measures what the model gets: cached primitives, weights reordered once, activations
 * left in the primitive's layout from one call to the next.
 *
 *   bench-conv [--device cpu] [--precision fp32|bf16] [--batch 16] [--size 256]
 *              [--backward] [--min-time 0.5]
 *
 * Shapes: the decoder's ten 3x3 convolutions (after upsample + skip concat) and the
 * encoder's depthwise 3x3 convolutions, for a size x size input.  Prints one line per
 * shape: best and mean time per call and GFLOP/s (2 multiply-adds per weight use), and
 * a total.  A benchmark, not a test: it asserts nothing.
 *
 * On a shared machine the wall clock measures the neighbours too, so a second rate is
 * printed from the process's CPU time (FLOP / (CPU seconds / threads)): what the threads
 * achieve while they run, close to the wall-clock rate of a quiet machine (an upper
 * estimate when oneDNN's threads spin-wait less than they would there).
 */
#define G_LOG_DOMAIN "bench-conv"

#include "ns-backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

typedef struct
{
  const char *what;
  int C, K, div, k, stride, groups_is_c;  /* spatial size = size / div */
} Shape;

static const Shape shapes[] = {
  /* decoder: upsample x2, concat skip, two 3x3 conv */
  { "dec1 conv a", 1280 + 96, 256, 16, 3, 1, 0 },
  { "dec1 conv b", 256, 256, 16, 3, 1, 0 },
  { "dec2 conv a", 256 + 32, 128, 8, 3, 1, 0 },
  { "dec2 conv b", 128, 128, 8, 3, 1, 0 },
  { "dec3 conv a", 128 + 24, 64, 4, 3, 1, 0 },
  { "dec3 conv b", 64, 64, 4, 3, 1, 0 },
  { "dec4 conv a", 64 + 16, 32, 2, 3, 1, 0 },
  { "dec4 conv b", 32, 32, 2, 3, 1, 0 },
  { "dec5 conv a", 32, 16, 1, 3, 1, 0 },
  { "dec5 conv b", 16, 16, 1, 3, 1, 0 },
  /* encoder depthwise 3x3 (expanded channels) */
  { "enc dw 96 s2", 96, 96, 2, 3, 2, 1 },
  { "enc dw 144", 144, 144, 4, 3, 1, 1 },
  { "enc dw 192", 192, 192, 8, 3, 1, 1 },
  { "enc dw 384", 384, 384, 16, 3, 1, 1 },
  { "enc dw 576", 576, 576, 16, 3, 1, 1 },
  { "enc dw 960", 960, 960, 32, 3, 1, 1 },
};

static double
now_s (void)
{
  return g_get_monotonic_time () * 1e-6;
}

static double
cpu_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* oneDNN's OpenMP pool size (OMP_NUM_THREADS, else the usable cores) */
static int
n_threads (void)
{
  const char *env = g_getenv ("OMP_NUM_THREADS");
  return env != NULL && atoi (env) > 0 ? atoi (env) : (int) g_get_num_processors ();
}

static void
fill_random (NsTensor *t, GRand *r, double scale)
{
  gsize n = ns_tensor_n_elements (t);
  g_autofree float *x = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    x[i] = (float) g_rand_double_range (r, -scale, scale);
  ns_tensor_upload (t, x);
}

int
main (int argc, char **argv)
{
  g_autofree char *device = g_strdup ("cpu");
  g_autofree char *precision = g_strdup ("fp32");
  int batch = 16, size = 256;
  gboolean backward = FALSE;
  double min_time = 0.5;
  g_autoptr (GError) error = NULL;
  GOptionEntry entries[] = {
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "Backend (cpu, ref, cuda)", "NAME" },
    { "precision", 'p', 0, G_OPTION_ARG_STRING, &precision, "fp32 or bf16", "P" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Batch size (16)", "N" },
    { "size", 's', 0, G_OPTION_ARG_INT, &size, "Input height and width (256)", "S" },
    { "backward", 0, 0, G_OPTION_ARG_NONE, &backward, "Also time backward data + weights",
      NULL },
    { "min-time", 't', 0, G_OPTION_ARG_DOUBLE, &min_time, "Seconds per measurement (0.5)",
      "S" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("- time the U-Net's convolutions");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      g_printerr ("bench-conv: %s\n", error->message);
      return 1;
    }
  if (batch < 1 || size < 32 || size % 32 != 0)
    {
      g_printerr ("bench-conv: --batch must be >= 1 and --size a multiple of 32\n");
      return 1;
    }

  g_autoptr (NsBackend) be = ns_backend_new (device, &error);
  if (be == NULL)
    {
      g_printerr ("bench-conv: %s\n", error->message);
      return 1;
    }
  NsPrecision prec = g_strcmp0 (precision, "bf16") == 0 ? NS_PRECISION_BF16
                                                         : NS_PRECISION_FP32;
  if (!ns_backend_set_precision (be, prec, &error))
    {
      g_printerr ("bench-conv: %s\n", error->message);
      return 1;
    }
  printf ("# %s, %s, batch %d, input %dx%d%s\n", ns_backend_get_device (be), precision, batch,
          size, size, backward ? ", forward + backward" : ", forward");
  printf ("# %-14s %5s %5s %4s %9s %9s %9s %8s %8s\n", "layer", "C", "K", "HW", "GFLOP",
          "best ms", "mean ms", "GFLOP/s", "cpu-rate");

  g_autoptr (GRand) rand = g_rand_new_with_seed (7);
  double tot_flop[2] = { 0 }, tot_time[2] = { 0 }, tot_cpu[2] = { 0 };
  int threads = n_threads ();
  for (guint i = 0; i < G_N_ELEMENTS (shapes); i++)
    {
      const Shape *s = &shapes[i];
      int H = size / s->div, g = s->groups_is_c ? s->C : 1;
      int pad = s->k / 2, Ho = (H + 2 * pad - s->k) / s->stride + 1;
      NsConv2dParams p = { .stride = s->stride, .pad = pad, .groups = g };
      g_autoptr (NsTensor) x = ns_tensor_new (be, batch, s->C, H, H, &error);
      g_autoptr (NsTensor) w = x ? ns_tensor_new (be, s->K, s->C / g, s->k, s->k, &error) : NULL;
      g_autoptr (NsTensor) b = w ? ns_tensor_new (be, s->K, 1, 1, 1, &error) : NULL;
      g_autoptr (NsTensor) y = b ? ns_tensor_new (be, batch, s->K, Ho, Ho, &error) : NULL;
      g_autoptr (NsTensor) dx = y && backward ? ns_tensor_new (be, batch, s->C, H, H, &error)
                                              : NULL;
      g_autoptr (NsTensor) dw = y && backward ? ns_tensor_new (be, s->K, s->C / g, s->k, s->k,
                                                               &error)
                                              : NULL;
      if (y == NULL || (backward && dw == NULL))
        {
          g_printerr ("bench-conv: %s\n", error->message);
          return 1;
        }
      {
        /* x comes out of a 1x1 convolution, so that it is in the layout (and precision)
         * a layer of the network hands to the next, not in the uploaded NCHW float32 */
        NsConv2dParams p1 = { .stride = 1, .pad = 0, .groups = 1 };
        g_autoptr (NsTensor) x0 = ns_tensor_new (be, batch, 8, H, H, &error);
        g_autoptr (NsTensor) w0 = x0 ? ns_tensor_new (be, s->C, 8, 1, 1, &error) : NULL;
        if (w0 == NULL)
          {
            g_printerr ("bench-conv: %s\n", error->message);
            return 1;
          }
        fill_random (x0, rand, 1.0);
        fill_random (w0, rand, 0.5);
        ns_conv2d_forward (x, x0, w0, NULL, &p1);
      }
      fill_random (w, rand, 0.1);
      ns_tensor_fill (b, 0.0f);
      if (backward)
        ns_tensor_fill (dw, 0.0f);

      double flop = 2.0 * batch * s->K * Ho * Ho * (double) (s->C / g) * s->k * s->k;
      if (backward)
        flop *= 3.0;   /* backward data and backward weights cost one forward each */
      /* the first call creates the primitives and reorders the weights; then the input
       * stays in the layout the primitive wants (as between layers of the network) */
      ns_conv2d_forward (y, x, w, b, &p);
      if (backward)
        ns_conv2d_backward (dx, dw, NULL, y, x, w, &p);
      ns_backend_synchronize (be);

      double best = G_MAXDOUBLE, sum = 0.0;
      int reps = 0;
      double start = now_s (), cpu0 = cpu_s ();
      do
        {
          double t0 = now_s ();
          ns_conv2d_forward (y, x, w, b, &p);
          if (backward)
            ns_conv2d_backward (dx, dw, NULL, y, x, w, &p);
          ns_backend_synchronize (be);
          double dt = now_s () - t0;
          best = MIN (best, dt);
          sum += dt;
          reps++;
        }
      while (now_s () - start < min_time || reps < 3);
      double cpu_per_call = (cpu_s () - cpu0) / reps / threads;
      /* times of ops that failed (and were skipped) are no times */
      if (!ns_backend_check (be, &error))
        {
          g_printerr ("bench-conv: %s: %s\n", s->what, error->message);
          return 1;
        }

      int kind = s->groups_is_c ? 1 : 0;
      tot_flop[kind] += flop;
      tot_time[kind] += best;
      tot_cpu[kind] += cpu_per_call;
      printf ("  %-14s %5d %5d %4d %9.2f %9.2f %9.2f %8.0f %8.0f\n", s->what, s->C, s->K, Ho,
              flop * 1e-9, best * 1e3, sum / reps * 1e3, flop / best * 1e-9,
              flop / cpu_per_call * 1e-9);
    }
  printf ("# dense 3x3 total: %.1f GFLOP in %.1f ms: %.0f GFLOP/s (cpu-rate %.0f)\n",
          tot_flop[0] * 1e-9, tot_time[0] * 1e3, tot_flop[0] / tot_time[0] * 1e-9,
          tot_flop[0] / tot_cpu[0] * 1e-9);
  printf ("# depthwise total: %.2f GFLOP in %.1f ms: %.0f GFLOP/s (cpu-rate %.0f)\n",
          tot_flop[1] * 1e-9, tot_time[1] * 1e3, tot_flop[1] / tot_time[1] * 1e-9,
          tot_flop[1] / tot_cpu[1] * 1e-9);
  return 0;
}
