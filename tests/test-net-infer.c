/* SPDX-License-Identifier: MIT
 *
 * test-net-infer.c: the inference engine on synthetic volumes with a randomly
 * initialised mobilenetv2-unet on the ref backend: output on the input grid, nothing
 * outside the brain or its bounding box, crop and uncrop exact (a brain moved within the
 * grid, even against its edge, gives the same labels moved by the same amount), results
 * independent of the batch size, probabilities that sum to one, progress reaching the
 * total, cancellation within one batch, errors for bad inputs, and a device whose ops
 * fail (NS_TEST_REF_FAIL_AT) handing the rest of the case to the CPU with a note.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-backend-ref-private.h"
#include "ns-config.h"
#include "ns-infer.h"
#include "ns-test-net.h"
#include "ns-test-util.h"

#include <math.h>
#include <string.h>

#define NX 72
#define NY 60
#define NZ 12
#define BRAIN_W 38    /* in-plane bounding box of the synthetic brain */
#define BRAIN_H 30
#define Z0 3          /* slices Z0 .. Z1 hold brain */
#define Z1 8

static NsBackend *backend;
static NsModel *model;

/* A brain-like blob at (ox, oy): an ellipse on slices Z0..Z1 whose values vary with the
 * position inside the blob only (so moving the blob moves the content), background 0. */
static NsVolume *
make_volume (int ox, int oy, int channel)
{
  NsGrid grid;
  ns_grid_init (&grid, NX, NY, NZ, 1.0, 1.0, 1.0);
  NsVolume *v = ns_volume_new (&grid, NULL);
  for (int k = Z0; k <= Z1; k++)
    for (int y = 0; y < BRAIN_H; y++)
      for (int x = 0; x < BRAIN_W; x++)
        {
          double ex = (x - (BRAIN_W - 1) / 2.0) / (BRAIN_W / 2.0);
          double ey = (y - (BRAIN_H - 1) / 2.0) / (BRAIN_H / 2.0);
          if (ex * ex + ey * ey > 1.0)
            continue;
          double val = 100 + 30 * sin (0.3 * x + 0.2 * k + channel) + 20 * cos (0.4 * y)
                       + (x > 10 && x < 20 && y > 8 && y < 16 ? 80 * (channel + 1) : 0);
          v->voxels[ns_grid_index (&grid, ox + x, oy + y, k)] = (float) val;
        }
  return v;
}

static NsInferResult *
run (int ox, int oy, const NsInferOptions *opt, GError **error)
{
  g_autoptr (NsVolume) a = make_volume (ox, oy, 0);
  g_autoptr (NsVolume) b = make_volume (ox, oy, 1);
  NsVolume *inputs[2] = { a, b };
  return ns_infer_run (model, inputs, 2, NULL, opt, error);
}

/* The volume of make_volume () rounded to integers, held as int16 (as BraTS files load)
 * or as float32. */
static NsVolume *
make_rounded (int channel, gboolean as_int16)
{
  g_autoptr (NsVolume) v = make_volume (10, 12, channel);
  gsize n = ns_volume_n_voxels (v);
  if (!as_int16)
    {
      for (gsize i = 0; i < n; i++)
        v->voxels[i] = roundf (v->voxels[i]);
      return g_steal_pointer (&v);
    }
  gint16 *values = g_new (gint16, n);
  for (gsize i = 0; i < n; i++)
    values[i] = (gint16) roundf (v->voxels[i]);
  return ns_volume_new_take_storage (&v->grid, NS_VOLUME_STORAGE_INT16, values);
}

/* Inputs held as int16 are normalised a row at a time as the batches are filled: the
 * labels and probabilities are those of the same values held as float32, bit for bit,
 * with the mirrored pass (test-time augmentation) and with a given brain mask too. */
static void
test_int16_inputs (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsVolume) a16 = make_rounded (0, TRUE);
  g_autoptr (NsVolume) b16 = make_rounded (1, TRUE);
  g_autoptr (NsVolume) a32 = make_rounded (0, FALSE);
  g_autoptr (NsVolume) b32 = make_rounded (1, FALSE);
  NsVolume *in16[2] = { a16, b16 }, *in32[2] = { a32, b32 };
  g_autoptr (NsLabelMap) mask = ns_label_map_from_nonzero (a32, &error);
  g_assert_no_error (error);

  for (int variant = 0; variant < 2; variant++)
    {
      NsInferOptions opt = { 0 };
      opt.want_probabilities = TRUE;
      opt.tta = variant == 0 ? 0 : 1;
      const NsLabelMap *brain = variant == 0 ? NULL : mask;
      g_autoptr (NsInferResult) r16 = ns_infer_run (model, in16, 2, brain, &opt, &error);
      g_assert_no_error (error);
      g_autoptr (NsInferResult) r32 = ns_infer_run (model, in32, 2, brain, &opt, &error);
      g_assert_no_error (error);
      gsize n = ns_volume_n_voxels (a16);
      g_assert_cmpint (r16->stats.slices_run, ==, Z1 - Z0 + 1);
      g_assert_cmpmem (r16->labels->labels, n, r32->labels->labels, n);
      for (int k = 0; k < r16->n_classes; k++)
        g_assert_cmpmem (r16->probabilities[k]->voxels, n * sizeof (float),
                         r32->probabilities[k]->voxels, n * sizeof (float));
    }
}

static void
test_grid_and_bbox (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsInferResult) r = run (10, 12, NULL, &error);
  g_assert_no_error (error);
  g_autoptr (NsVolume) ref = make_volume (10, 12, 0);

  g_assert_true (ns_grid_equal (&r->labels->grid, &ref->grid));
  g_assert_cmpint (r->stats.slices_total, ==, NZ);
  g_assert_cmpint (r->stats.slices_run, ==, Z1 - Z0 + 1);
  g_assert_cmpint (r->stats.bbox[0], ==, 10);
  g_assert_cmpint (r->stats.bbox[1], ==, 10 + BRAIN_W - 1);
  g_assert_cmpint (r->stats.bbox[4], ==, Z0);
  g_assert_cmpint (r->stats.bbox[5], ==, Z1);
  g_assert_cmpint (r->stats.crop_size[0] % 32, ==, 0);
  g_assert_cmpint (r->stats.crop_size[1] % 32, ==, 0);
  g_assert_cmpint (r->stats.crop_size[0], ==, 64);
  g_assert_cmpint (r->stats.crop_size[1], ==, 32);

  int seen[256] = { 0 };
  for (int k = 0; k < NZ; k++)
    for (int j = 0; j < NY; j++)
      for (int i = 0; i < NX; i++)
        {
          gsize v = ns_grid_index (&ref->grid, i, j, k);
          guint8 l = r->labels->labels[v];
          g_assert_true (l == 0 || l == 1 || l == 2 || l == 4);
          seen[l]++;
          if (ns_volume_get_value (ref, v) == 0.0f)   /* outside the brain, the bbox, the slices */
            g_assert_cmpint (l, ==, 0);
        }
  /* A random network still predicts several classes inside the brain. */
  int classes = (seen[1] > 0) + (seen[2] > 0) + (seen[4] > 0);
  g_test_message ("labels: 0 x %d, 1 x %d, 2 x %d, 4 x %d", seen[0], seen[1], seen[2], seen[4]);
  g_assert_cmpint (classes, >=, 1);
}

/* Moving the brain moves the labels, voxel for voxel: the crop is taken around the
 * brain and put back where it came from, also where the crop leaves the grid. */
static void
test_crop_uncrop_exact (void)
{
  static const int offsets[][2] = {
    { 0, 0 }, { 30, 5 }, { NX - BRAIN_W, NY - BRAIN_H }, { 17, 29 },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (NsInferResult) base = run (offsets[0][0], offsets[0][1], NULL, &error);
  g_assert_no_error (error);

  for (gsize o = 1; o < G_N_ELEMENTS (offsets); o++)
    {
      int dx = offsets[o][0], dy = offsets[o][1];
      g_autoptr (NsInferResult) moved = run (dx, dy, NULL, &error);
      g_assert_no_error (error);
      const NsGrid *g = &moved->labels->grid;
      gsize diff = 0, nonzero = 0;
      for (int k = 0; k < NZ; k++)
        for (int j = 0; j < NY; j++)
          for (int i = 0; i < NX; i++)
            {
              guint8 want = 0;
              if (i - dx >= 0 && j - dy >= 0)
                want = base->labels->labels[ns_grid_index (g, i - dx, j - dy, k)];
              guint8 got = moved->labels->labels[ns_grid_index (g, i, j, k)];
              diff += got != want;
              nonzero += got != 0;
            }
      g_test_message ("offset (%d, %d): crop origin (%d, %d), %" G_GSIZE_FORMAT
                      " labelled voxels, %" G_GSIZE_FORMAT " differ", dx, dy,
                      moved->stats.crop_origin[0], moved->stats.crop_origin[1], nonzero, diff);
      g_assert_cmpuint (diff, ==, 0);
      g_assert_cmpuint (nonzero, >, 0);
    }
}

typedef struct
{
  int calls;
  int last_done;
  int last_total;
  gboolean monotonic;
  GCancellable *cancel_after_first;
} Progress;

static void
progress_cb (int done, int total, gpointer user_data)
{
  Progress *p = user_data;
  if (done < p->last_done)
    p->monotonic = FALSE;
  p->calls++;
  p->last_done = done;
  p->last_total = total;
  if (p->cancel_after_first != NULL)
    g_cancellable_cancel (p->cancel_after_first);
}

static void
test_batches_and_progress (void)
{
  g_autoptr (GError) error = NULL;
  Progress p = { 0, 0, 0, TRUE, NULL };
  NsInferOptions one = { .max_batch = 1, .progress = progress_cb, .progress_data = &p };
  NsInferOptions all = { .memory_budget = (gsize) 4 << 30 };
  NsInferOptions tiny = { .memory_budget = 1 };
  NsInferOptions four = { .max_batch = 4, .want_probabilities = TRUE };

  g_autoptr (NsInferResult) r1 = run (5, 7, &one, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r1->stats.batch_size, ==, 1);
  g_assert_cmpint (r1->stats.n_batches, ==, Z1 - Z0 + 1);
  g_assert_cmpint (p.calls, ==, Z1 - Z0 + 1);
  g_assert_cmpint (p.last_done, ==, Z1 - Z0 + 1);
  g_assert_cmpint (p.last_total, ==, Z1 - Z0 + 1);
  g_assert_true (p.monotonic);

  g_autoptr (NsInferResult) rall = run (5, 7, &all, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rall->stats.batch_size, ==, Z1 - Z0 + 1);
  g_assert_cmpint (rall->stats.n_batches, ==, 1);

  /* The memory budget, not a slice count, sets the batch: a tiny budget runs one. */
  g_autoptr (NsInferResult) rtiny = run (5, 7, &tiny, &error);
  g_assert_no_error (error);
  g_assert_cmpint (rtiny->stats.batch_size, ==, 1);

  /* 6 slices at most 4 per batch: two batches of 3 (evened out, nothing wasted). */
  g_autoptr (NsInferResult) r4 = run (5, 7, &four, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r4->stats.n_batches, ==, 2);
  g_assert_cmpint (r4->stats.batch_size, ==, 3);

  gsize n = ns_grid_n_voxels (&r1->labels->grid);
  g_assert_cmpmem (r1->labels->labels, n, rall->labels->labels, n);
  g_assert_cmpmem (r1->labels->labels, n, r4->labels->labels, n);

  /* Probabilities: on the grid, summing to one, background 1 outside, argmax = label. */
  g_assert_nonnull (r4->probabilities);
  g_assert_cmpint (r4->n_classes, ==, 4);
  static const int values[4] = { 0, 1, 2, 4 };
  for (gsize v = 0; v < n; v++)
    {
      double sum = 0;
      int best = 0;
      for (int c = 0; c < 4; c++)
        {
          float pc = ns_volume_get_value (r4->probabilities[c], v);
          g_assert_cmpfloat (pc, >=, 0.0f);
          sum += pc;
          if (pc > ns_volume_get_value (r4->probabilities[best], v))
            best = c;
        }
      g_assert_cmpfloat (fabs (sum - 1.0), <, 1e-4);
      if (r4->labels->labels[v] == 0 && ns_volume_get_value (r4->probabilities[0], v) == 1.0f)
        continue;
      g_assert_cmpint (values[best], ==, r4->labels->labels[v]);
    }
}

static void
test_cancel (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancel = g_cancellable_new ();
  Progress p = { 0, 0, 0, TRUE, cancel };
  NsInferOptions opt = { .max_batch = 2, .progress = progress_cb, .progress_data = &p,
                         .cancellable = cancel };

  NsInferResult *r = run (5, 7, &opt, &error);
  g_assert_null (r);
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_CANCELLED);
  /* Cancelled during the first batch's progress: no second batch ran. */
  g_assert_cmpint (p.calls, ==, 1);
  g_assert_cmpint (p.last_done, ==, 2);
  g_clear_error (&error);

  /* Cancelled before the start: nothing runs. */
  Progress q = { 0, 0, 0, TRUE, NULL };
  opt.progress_data = &q;
  r = run (5, 7, &opt, &error);
  g_assert_null (r);
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_CANCELLED);
  g_assert_cmpint (q.calls, ==, 0);
}

typedef struct
{
  int calls;
  int seen[NZ];              /* times each slice was reported */
  guint8 *planes;            /* (NZ * NX * NY) the reported planes as they were then */
  gboolean ascending;
  Progress *progress;        /* the progress reports so far */
  gboolean before_progress;  /* every report came before its batch's progress */
  int reported;
} Slices;

static void
slices_cb (const NsLabelMap *labels, const int *slices, int n, gpointer user_data)
{
  Slices *s = user_data;
  gsize plane = (gsize) NX * NY;

  s->calls++;
  for (int i = 0; i < n; i++)
    {
      g_assert_cmpint (slices[i], >=, 0);
      g_assert_cmpint (slices[i], <, NZ);
      if (i > 0 && slices[i] <= slices[i - 1])
        s->ascending = FALSE;
      s->seen[slices[i]]++;
      memcpy (s->planes + slices[i] * plane, labels->labels + slices[i] * plane, plane);
    }
  if (s->progress->last_done != s->reported)
    s->before_progress = FALSE;
  s->reported += n;
}

/* The slices-ready callback reports every slice with brain exactly once, in batches, with
 * its final labels, before the batch's progress report. */
static void
test_slices_ready (void)
{
  g_autoptr (GError) error = NULL;
  Progress p = { 0, 0, 0, TRUE, NULL };
  g_autofree guint8 *planes = g_malloc0 ((gsize) NZ * NX * NY);
  Slices s = { .planes = planes, .ascending = TRUE, .progress = &p,
               .before_progress = TRUE };
  NsInferOptions opt = { .max_batch = 4, .progress = progress_cb, .progress_data = &p,
                         .slices_ready = slices_cb, .slices_data = &s };

  g_autoptr (NsInferResult) r = run (5, 7, &opt, &error);
  g_assert_no_error (error);
  g_assert_cmpint (s.calls, ==, r->stats.n_batches);
  g_assert_cmpint (s.calls, ==, 2);
  g_assert_true (s.ascending);
  g_assert_true (s.before_progress);
  g_assert_cmpint (s.reported, ==, Z1 - Z0 + 1);
  gsize plane = (gsize) NX * NY;
  for (int k = 0; k < NZ; k++)
    {
      g_assert_cmpint (s.seen[k], ==, k >= Z0 && k <= Z1 ? 1 : 0);
      if (s.seen[k])
        g_assert_cmpmem (planes + k * plane, plane, r->labels->labels + k * plane, plane);
    }
}

static double
agreement (const NsLabelMap *a, const NsLabelMap *b)
{
  gsize n = ns_grid_n_voxels (&a->grid), same = 0;
  for (gsize v = 0; v < n; v++)
    same += a->labels[v] == b->labels[v];
  return (double) same / n;
}

static void
test_memory_limit (void)
{
  g_autoptr (GError) error = NULL;
  gsize free_bytes = 1, total = 1;

  /* The ref backend knows no device memory until a limit is set. */
  g_assert_false (ns_backend_get_memory (backend, &free_bytes, &total));
  gsize used = ns_test_backend_bytes (backend);
  g_assert_cmpuint (used, >=, ns_model_n_parameters (model) * sizeof (float));

  ns_backend_set_memory_limit (backend, used + ((gsize) 1 << 20));
  g_assert_true (ns_backend_get_memory (backend, &free_bytes, &total));
  g_assert_cmpuint (free_bytes, ==, (gsize) 1 << 20);
  g_assert_cmpuint (total, ==, used + ((gsize) 1 << 20));
  /* 1 MiB holds 262,144 floats: one more is out of memory, with the sizes in the error */
  g_autoptr (NsTensor) fits = ns_tensor_new (backend, 1, 1, 512, 512, &error);
  g_assert_no_error (error);
  g_assert_true (ns_backend_get_memory (backend, &free_bytes, NULL));
  g_assert_cmpuint (free_bytes, ==, 0);
  g_assert_null (ns_tensor_new (backend, 1, 1, 1, 1, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY);
  g_assert_nonnull (strstr (error->message, "1 x 1 x 1 x 1"));
  g_clear_error (&error);
  /* freeing gives it back; views cost nothing */
  g_autoptr (NsTensor) view = ns_tensor_new_view (fits, 0, 1, 1, 1, 1);
  g_clear_pointer (&fits, ns_tensor_free);
  g_clear_pointer (&view, ns_tensor_free);
  g_assert_true (ns_backend_get_memory (backend, &free_bytes, NULL));
  g_assert_cmpuint (free_bytes, ==, (gsize) 1 << 20);
  ns_backend_set_memory_limit (backend, 0);
  g_assert_cmpuint (ns_test_backend_bytes (backend), ==, used);
}

/* Out of memory during inference: the batch is halved until it fits, then (at one slice)
 * the rest moves to the CPU; the labels are those of an unconstrained run. */
static void
test_out_of_memory (void)
{
  g_autoptr (GError) error = NULL;
  NsInferOptions big = { .memory_budget = (gsize) 4 << 30 };

  g_autoptr (NsInferResult) ref = run (5, 7, &big, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ref->stats.batch_size, ==, Z1 - Z0 + 1);
  g_assert_cmpint (ref->stats.oom_retries, ==, 0);
  g_assert_false (ref->stats.cpu_fallback);
  g_assert_cmpstr (ref->stats.device, ==, ns_backend_get_device (backend));

  /* Room for about two slices (the model's own estimate), a budget that asks for all six:
   * out of memory, halved until it fits, never to the CPU. */
  int H = ref->stats.crop_size[1], W = ref->stats.crop_size[0];
  gsize per_slice = ns_model_bytes_per_slice (model, H, W);
  ns_model_trim (model);   /* the model's cached activations are not part of the limit */
  gsize used = ns_test_backend_bytes (backend);
  ns_backend_set_memory_limit (backend, used + 2 * per_slice);
  g_autoptr (NsInferResult) halved = run (5, 7, &big, &error);
  ns_backend_set_memory_limit (backend, 0);
  g_assert_no_error (error);
  g_assert_cmpint (halved->stats.oom_retries, >=, 1);
  g_assert_cmpint (halved->stats.batch_size, <, Z1 - Z0 + 1);
  g_assert_false (halved->stats.cpu_fallback);
  gsize n = ns_grid_n_voxels (&ref->labels->grid);
  g_assert_cmpmem (halved->labels->labels, n, ref->labels->labels, n);
  ns_model_trim (model);   /* nothing but the cache stays: the batch's tensors are gone */
  g_assert_cmpuint (ns_test_backend_bytes (backend), ==, used);

  /* The automatic budget sizes the batch by the free memory: fewer slices, same labels. */
  ns_backend_set_memory_limit (backend, used + 3 * per_slice);
  g_autoptr (NsInferResult) sized = run (5, 7, NULL, &error);
  ns_backend_set_memory_limit (backend, 0);
  g_assert_no_error (error);
  g_assert_cmpuint (sized->stats.device_free, ==, 3 * per_slice);
  g_assert_cmpint (sized->stats.batch_size, <=, 3);
  g_assert_false (sized->stats.cpu_fallback);
  g_assert_cmpmem (sized->labels->labels, n, ref->labels->labels, n);

  /* Not even one slice fits: refused when asked not to move, else the CPU takes over. */
  Progress p = { 0, 0, 0, TRUE, NULL };
  NsInferOptions stay = { .no_cpu_fallback = TRUE };
  NsInferOptions move = { .max_batch = 2, .progress = progress_cb, .progress_data = &p };
  ns_backend_set_memory_limit (backend, used + per_slice / 50);
  g_assert_null (run (5, 7, &stay, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY);
  g_assert_nonnull (strstr (error->message, "does not fit"));
  g_clear_error (&error);
  g_autoptr (NsInferResult) moved = run (5, 7, &move, &error);
  ns_backend_set_memory_limit (backend, 0);
  g_assert_no_error (error);
  g_assert_true (moved->stats.cpu_fallback);
  g_assert_nonnull (strstr (moved->stats.fallback_reason, "out of memory"));
#if NS_HAVE_ONEDNN
  g_assert_cmpstr (moved->stats.device, !=, ns_backend_get_device (backend));
#endif
  g_assert_cmpint (p.last_done, ==, Z1 - Z0 + 1);
  g_assert_true (p.monotonic);
  /* oneDNN and ref differ in rounding only: an argmax may flip at a tie */
  g_assert_cmpfloat (agreement (moved->labels, ref->labels), >=, 0.999);
  ns_model_trim (model);   /* nothing but the cache stays: the batch's tensors are gone */
  g_assert_cmpuint (ns_test_backend_bytes (backend), ==, used);
}

/* A copy of the test model on a new ref backend whose op fail_at fails (0: none). */
static NsModel *
model_on_failing_backend (const char *fail_at, NsBackend **be)
{
  g_autoptr (GError) error = NULL;
  if (fail_at != NULL)
    g_setenv ("NS_TEST_REF_FAIL_AT", fail_at, TRUE);
  *be = ns_backend_new ("ref", &error);
  g_unsetenv ("NS_TEST_REF_FAIL_AT");
  g_assert_no_error (error);
  NsModel *m = ns_model_clone_to (model, *be, &error);
  g_assert_no_error (error);
  return m;
}

typedef struct
{
  int calls;
  int slices;                /* slices announced in all */
} SlicesSeen;

static void
slices_seen_cb (const NsLabelMap *labels, const int *slices, int n, gpointer data)
{
  SlicesSeen *s = data;
  s->calls++;
  s->slices += n;
}

static NsInferResult *
run_with (NsModel *m, const NsInferOptions *opt, GError **error)
{
  g_autoptr (NsVolume) a = make_volume (5, 7, 0);
  g_autoptr (NsVolume) b = make_volume (5, 7, 1);
  NsVolume *inputs[2] = { a, b };
  return ns_infer_run (m, inputs, 2, NULL, opt, error);
}

/* An op of the device fails (the first batch's 5th op, or one in the second batch): the
 * batch is not used; it runs again on the CPU, which finishes the case, and the note says
 * so.  Asked not to move, or without a CPU backend to move to, it is the error. */
static void
test_device_failure (void)
{
  g_autoptr (GError) error = NULL;
  NsInferOptions two = { .max_batch = 2 };

  /* ops per batch, from a run that does not fail */
  NsBackend *count_be = NULL;
  NsModel *counting = model_on_failing_backend (NULL, &count_be);
  g_autoptr (NsInferResult) clean = run_with (counting, &two, &error);
  g_assert_no_error (error);
  g_assert_cmpint (clean->stats.n_batches, ==, 3);
  guint64 per_batch = _ns_backend_ref_get_n_ops (count_be) / 3;
  g_test_message ("%" G_GUINT64_FORMAT " ops per batch", per_batch);
  g_assert_cmpuint (per_batch * 3, ==, _ns_backend_ref_get_n_ops (count_be));
  ns_model_free (counting);
  ns_backend_free (count_be);

  const guint64 fail_at[2] = { 5, per_batch + 3 };
  for (int f = 0; f < 2; f++)
    {
      g_autofree char *at = g_strdup_printf ("%" G_GUINT64_FORMAT, fail_at[f]);
      NsBackend *be = NULL;
      NsModel *m = model_on_failing_backend (at, &be);
      Progress p = { 0, 0, 0, TRUE, NULL };
      SlicesSeen seen = { 0 };
      NsInferOptions opt = { .max_batch = 2, .progress = progress_cb, .progress_data = &p,
                             .slices_ready = slices_seen_cb, .slices_data = &seen };
      g_autoptr (NsInferResult) r = run_with (m, &opt, &error);
#if NS_HAVE_ONEDNN
      g_assert_no_error (error);
      g_test_message ("note: %s", r->stats.note);
      g_assert_true (r->stats.cpu_fallback);
      g_assert_cmpint (r->stats.fallback, ==, NS_INFER_FALLBACK_DEVICE_FAILED);
      g_assert_true (g_str_has_prefix (r->stats.note, "ref failed: ref: op "));
      g_assert_nonnull (strstr (r->stats.note, at));
      g_assert_true (g_str_has_suffix (r->stats.note, ", finishing on the CPU"));
      g_assert_nonnull (strstr (r->stats.fallback_reason, "NS_TEST_REF_FAIL_AT"));
      g_assert_cmpstr (r->stats.device, !=, ns_backend_get_device (be));
      /* every slice once, in order, the failed batch only after its rerun */
      g_assert_cmpint (seen.slices, ==, Z1 - Z0 + 1);
      g_assert_cmpint (seen.calls, ==, 3);
      g_assert_cmpint (p.last_done, ==, Z1 - Z0 + 1);
      g_assert_true (p.monotonic);
      g_assert_cmpint (r->stats.n_batches, ==, 3);
      /* oneDNN and ref differ in rounding only: an argmax may flip at a tie */
      g_assert_cmpfloat (agreement (r->labels, clean->labels), >=, 0.999);
      if (f == 1)   /* the first batch ran on the device: its slices are ref's exactly */
        {
          gsize first = (gsize) Z0 * NX * NY, len = (gsize) 2 * NX * NY;
          g_assert_cmpmem (r->labels->labels + first, len, clean->labels->labels + first,
                           len);
        }
#else
      g_assert_null (r);
      g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED);
      g_clear_error (&error);
#endif
      ns_model_free (m);
      ns_backend_free (be);
    }

  /* not allowed to move: the device's error, as it was */
  NsBackend *be = NULL;
  NsModel *m = model_on_failing_backend ("5", &be);
  NsInferOptions stay = { .no_cpu_fallback = TRUE };
  g_assert_null (run_with (m, &stay, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "op 5"));
  g_clear_error (&error);
  ns_model_free (m);
  ns_backend_free (be);
}

/* The entropy volume is -sum p log p / log K of the probabilities, 0 outside the brain,
 * with or without the probabilities asked for too; the labels do not change. */
static void
test_entropy (void)
{
  g_autoptr (GError) error = NULL;
  NsInferOptions both = { .max_batch = 4, .want_probabilities = TRUE, .want_entropy = TRUE };
  NsInferOptions only = { .max_batch = 4, .want_entropy = TRUE };
  NsInferOptions none = { .max_batch = 4 };

  g_autoptr (NsInferResult) rb = run (5, 7, &both, &error);
  g_assert_no_error (error);
  g_autoptr (NsInferResult) ro = run (5, 7, &only, &error);
  g_assert_no_error (error);
  g_autoptr (NsInferResult) rn = run (5, 7, &none, &error);
  g_assert_no_error (error);
  g_assert_null (rn->entropy);
  g_assert_null (ro->probabilities);
  g_assert_nonnull (rb->entropy);
  g_assert_nonnull (ro->entropy);

  gsize n = ns_grid_n_voxels (&rb->labels->grid), uncertain = 0;
  g_assert_cmpmem (ro->labels->labels, n, rn->labels->labels, n);
  g_assert_cmpmem (ro->entropy->voxels, n * sizeof (float), rb->entropy->voxels,
                   n * sizeof (float));
  for (gsize v = 0; v < n; v++)
    {
      double h = 0;
      for (int c = 0; c < 4; c++)
        {
          double p = ns_volume_get_value (rb->probabilities[c], v);
          if (p > 1e-12)
            h -= p * log (p);
        }
      h /= log (4.0);
      g_assert_cmpfloat (fabs (ns_volume_get_value (rb->entropy, v) - h), <, 1e-6);
      g_assert_cmpfloat (ns_volume_get_value (rb->entropy, v), >=, 0.0f);
      g_assert_cmpfloat (ns_volume_get_value (rb->entropy, v), <=, 1.0f + 1e-6f);
      uncertain += h > 0.01;
    }
  /* a random model is unsure inside the brain: the map is not all zero */
  g_assert_cmpuint (uncertain, >, 1000);
}

static void
test_empty_and_errors (void)
{
  g_autoptr (GError) error = NULL;
  NsGrid grid, other;
  ns_grid_init (&grid, 40, 40, 5, 1, 1, 1);
  ns_grid_init (&other, 40, 41, 5, 1, 1, 1);
  g_autoptr (NsVolume) a = ns_volume_new (&grid, NULL);
  g_autoptr (NsVolume) b = ns_volume_new (&grid, NULL);
  g_autoptr (NsVolume) c = ns_volume_new (&other, NULL);

  /* No brain at all: all background, nothing run. */
  NsVolume *inputs[2] = { a, b };
  g_autoptr (NsInferResult) r = ns_infer_run (model, inputs, 2, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r->stats.slices_run, ==, 0);
  for (gsize v = 0; v < ns_grid_n_voxels (&grid); v++)
    g_assert_cmpint (r->labels->labels[v], ==, 0);

  g_assert_null (ns_infer_run (model, inputs, 1, NULL, NULL, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED);
  g_clear_error (&error);

  NsVolume *mixed[2] = { a, c };
  g_assert_null (ns_infer_run (model, mixed, 2, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "grid"));
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;

  g_test_init (&argc, &argv, NULL);
  backend = ns_backend_new ("ref", &error);
  g_assert_no_error (error);
  {
    g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("mobilenetv2-unet");
    NsModelInit init = { NS_INIT_KAIMING, 0, 17 };
    model = ns_model_new (backend, meta, &init, &error);
    g_assert_no_error (error);
    /* Random BN statistics and head bias, so that the classes differ. */
    for (int i = 0; i < ns_model_n_tensors (model); i++)
      {
        const char *name = ns_model_tensor_name (model, i);
        gsize n = ns_model_tensor_size (model, i);
        g_autofree float *v = g_new (float, n);
        if (g_str_has_suffix (name, "running_var"))
          for (gsize e = 0; e < n; e++)
            v[e] = 0.5f + ns_random_uniform (i, e);
        else if (g_str_has_suffix (name, "running_mean")
                 || strcmp (name, "segmentation_head.0.bias") == 0)
          for (gsize e = 0; e < n; e++)
            v[e] = 0.4f * (ns_random_uniform (i, e) - 0.5f);
        else
          continue;
        ns_model_tensor_set (model, i, v);
      }
  }

  g_test_add_func ("/net/infer/grid-and-bbox", test_grid_and_bbox);
  g_test_add_func ("/net/infer/int16-inputs", test_int16_inputs);
  g_test_add_func ("/net/infer/crop-uncrop-exact", test_crop_uncrop_exact);
  g_test_add_func ("/net/infer/batches-and-progress", test_batches_and_progress);
  g_test_add_func ("/net/infer/cancel", test_cancel);
  g_test_add_func ("/net/infer/slices-ready", test_slices_ready);
  g_test_add_func ("/net/infer/entropy", test_entropy);
  g_test_add_func ("/net/infer/memory-limit", test_memory_limit);
  g_test_add_func ("/net/infer/out-of-memory", test_out_of_memory);
  g_test_add_func ("/net/infer/empty-and-errors", test_empty_and_errors);
  g_test_add_func ("/net/infer/device-failure", test_device_failure);
  int status = g_test_run ();
  ns_model_free (model);
  ns_backend_free (backend);
  return status;
}
