/* SPDX-License-Identifier: MIT
 *
 * test-data-augment.c: each part of the paper's augmentation at its extremes has the
 * exact geometric effect on synthetic images (squares, lines, points), labels stay in
 * their class set, draws are reproducible from the seed, gamma 1 is the identity.
 */
#define G_LOG_DOMAIN "test-data-augment"

#include "ns-augment.h"

#include <math.h>
#include <string.h>

typedef struct
{
  int c, h, w;
  float *image;     /* (c, h, w) */
  guint8 *labels;   /* (h, w) */
  float *image_out;
  guint8 *labels_out;
} Slice;

static Slice *
slice_new (int c, int h, int w)
{
  Slice *s = g_new0 (Slice, 1);

  s->c = c;
  s->h = h;
  s->w = w;
  s->image = g_new0 (float, (gsize) c * h * w);
  s->labels = g_new0 (guint8, (gsize) h * w);
  s->image_out = g_new0 (float, (gsize) c * h * w);
  s->labels_out = g_new0 (guint8, (gsize) h * w);
  return s;
}

static void
slice_free (Slice *s)
{
  g_free (s->image);
  g_free (s->labels);
  g_free (s->image_out);
  g_free (s->labels_out);
  g_free (s);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Slice, slice_free)

/* A filled rectangle [x0, x1) x [y0, y1): label `label`, channel ch value 1 + ch. */
static void
slice_rect (Slice *s, int x0, int y0, int x1, int y1, guint8 label)
{
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      {
        s->labels[y * s->w + x] = label;
        for (int ch = 0; ch < s->c; ch++)
          s->image[((gsize) ch * s->h + y) * s->w + x] = 1.0f + ch;
      }
}

static void
slice_apply (Slice *s, const NsAugmentDraw *draw)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (ns_augment_apply (draw, s->image, s->labels, s->c, s->h, s->w, s->image_out,
                                   s->labels_out, &error));
  g_assert_no_error (error);
}

/* Bounding box of the pixels with label != 0 in labels (h, w). */
static void
label_bbox (const guint8 *labels, int h, int w, int box[4])
{
  box[0] = w;
  box[1] = h;
  box[2] = -1;
  box[3] = -1;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      if (labels[y * w + x] != 0)
        {
          box[0] = MIN (box[0], x);
          box[1] = MIN (box[1], y);
          box[2] = MAX (box[2], x);
          box[3] = MAX (box[3], y);
        }
}

static void
test_defaults (void)
{
  NsAugmentParams p;

  ns_augment_params_init_default (&p);
  g_assert_cmpfloat (p.p_hflip, ==, 0.5);
  g_assert_cmpfloat (p.p_vflip, ==, 0.5);
  g_assert_cmpfloat (p.rotation_deg, ==, 20.0);
  g_assert_cmpfloat (p.shift, ==, 0.1);
  g_assert_cmpfloat (p.shear, ==, 0.2);
  g_assert_cmpfloat (p.zoom, ==, 0.1);
  g_assert_cmpfloat (p.gamma_min, ==, 0.8);
  g_assert_cmpfloat (p.gamma_max, ==, 1.2);
  g_assert_cmpfloat (p.elastic_alpha, ==, 720.0);
  g_assert_cmpfloat (p.elastic_sigma, ==, 24.0);
  g_assert_cmpfloat (p.background, ==, 0.0f);
}

/* Draws stay in their ranges, come close to both ends, and flips happen about half the
 * time. */
static void
test_draw_ranges (void)
{
  NsAugmentParams p;
  double lo[6] = { G_MAXDOUBLE, G_MAXDOUBLE, G_MAXDOUBLE, G_MAXDOUBLE, G_MAXDOUBLE,
                   G_MAXDOUBLE };
  double hi[6] = { -G_MAXDOUBLE, -G_MAXDOUBLE, -G_MAXDOUBLE, -G_MAXDOUBLE, -G_MAXDOUBLE,
                   -G_MAXDOUBLE };
  double want_lo[6] = { -20, -0.1, -0.1, -0.2, 0.9, 0.8 };
  double want_hi[6] = { 20, 0.1, 0.1, 0.2, 1.1, 1.2 };
  int n_h = 0, n_v = 0, n = 4000;

  ns_augment_params_init_default (&p);
  for (int i = 0; i < n; i++)
    {
      NsAugmentDraw d;
      double v[6];

      ns_augment_draw (&p, (guint64) i, &d);
      v[0] = d.angle_deg;
      v[1] = d.shift_x;
      v[2] = d.shift_y;
      v[3] = d.shear;
      v[4] = d.zoom;
      v[5] = d.gamma;
      for (int k = 0; k < 6; k++)
        {
          g_assert_cmpfloat (v[k], >=, want_lo[k]);
          g_assert_cmpfloat (v[k], <=, want_hi[k]);
          lo[k] = MIN (lo[k], v[k]);
          hi[k] = MAX (hi[k], v[k]);
        }
      n_h += d.hflip;
      n_v += d.vflip;
      g_assert_true (d.elastic);
      g_assert_cmpfloat (d.elastic_alpha, ==, 720.0);
    }
  for (int k = 0; k < 6; k++)
    {
      double span = want_hi[k] - want_lo[k];

      g_assert_cmpfloat (lo[k], <, want_lo[k] + 0.01 * span);
      g_assert_cmpfloat (hi[k], >, want_hi[k] - 0.01 * span);
    }
  /* Binomial(4000, 0.5): 6 standard deviations is about 190. */
  g_assert_cmpint (ABS (n_h - n / 2), <, 190);
  g_assert_cmpint (ABS (n_v - n / 2), <, 190);

  /* Switching every part off gives the identity, whatever the seed. */
  ns_augment_params_init_none (&p);
  for (int i = 0; i < 100; i++)
    {
      NsAugmentDraw d;

      ns_augment_draw (&p, (guint64) i * 7919, &d);
      g_assert_false (d.hflip || d.vflip || d.elastic);
      g_assert_cmpfloat (d.angle_deg, ==, 0.0);
      g_assert_cmpfloat (d.shift_x, ==, 0.0);
      g_assert_cmpfloat (d.shift_y, ==, 0.0);
      g_assert_cmpfloat (d.shear, ==, 0.0);
      g_assert_cmpfloat (d.zoom, ==, 1.0);
      g_assert_cmpfloat (d.gamma, ==, 1.0);
    }
}

static void
test_identity (void)
{
  g_autoptr (Slice) s = slice_new (2, 37, 53);
  NsAugmentDraw d;

  for (gsize i = 0; i < 2 * 37 * 53; i++)
    s->image[i] = (float) sin (0.37 * i) * 3.0f;
  for (gsize i = 0; i < 37 * 53; i++)
    s->labels[i] = (guint8) (i % 5);

  ns_augment_draw_init_identity (&d);
  slice_apply (s, &d);
  g_assert_cmpmem (s->image_out, 2 * 37 * 53 * sizeof (float), s->image,
                   2 * 37 * 53 * sizeof (float));
  g_assert_cmpmem (s->labels_out, 37 * 53, s->labels, 37 * 53);
}

/* A 20 x 10 square in a 100 x 80 slice, shifted by +10 % of W and -10 % of H, moves by
 * exactly +10 and -8 pixels; everything it uncovers is background. */
static void
test_shift (void)
{
  g_autoptr (Slice) s = slice_new (2, 80, 100);
  NsAugmentDraw d;

  slice_rect (s, 40, 30, 60, 40, 2);
  ns_augment_draw_init_identity (&d);
  d.shift_x = 0.1;
  d.shift_y = -0.1;
  slice_apply (s, &d);

  for (int y = 0; y < 80; y++)
    for (int x = 0; x < 100; x++)
      {
        gboolean inside = x >= 50 && x < 70 && y >= 22 && y < 32;

        g_assert_cmpint (s->labels_out[y * 100 + x], ==, inside ? 2 : 0);
        for (int ch = 0; ch < 2; ch++)
          g_assert_cmpfloat (s->image_out[(ch * 80 + y) * 100 + x], ==, inside ? 1 + ch : 0);
      }

  /* The other way round, and a shift that pushes the square half out of the slice. */
  d.shift_x = -0.1;
  d.shift_y = 0.1;
  slice_apply (s, &d);
  {
    int box[4];

    label_bbox (s->labels_out, 80, 100, box);
    g_assert_cmpint (box[0], ==, 30);
    g_assert_cmpint (box[1], ==, 38);
    g_assert_cmpint (box[2], ==, 49);
    g_assert_cmpint (box[3], ==, 47);
  }
}

static void
test_flip (void)
{
  g_autoptr (Slice) s = slice_new (1, 31, 40);
  g_autofree float *twice = g_new (float, 31 * 40);
  g_autofree guint8 *twice_labels = g_new (guint8, 31 * 40);
  NsAugmentDraw d;

  for (int i = 0; i < 31 * 40; i++)
    {
      s->image[i] = (float) (i * 0.25 - 100.0);
      s->labels[i] = (guint8) ((i * 7) % 3);
    }

  for (int which = 0; which < 3; which++)
    {
      ns_augment_draw_init_identity (&d);
      d.hflip = which != 1;
      d.vflip = which != 0;
      slice_apply (s, &d);
      for (int y = 0; y < 31; y++)
        for (int x = 0; x < 40; x++)
          {
            int sx = d.hflip ? 39 - x : x;
            int sy = d.vflip ? 30 - y : y;

            g_assert_cmpfloat (s->image_out[y * 40 + x], ==, s->image[sy * 40 + sx]);
            g_assert_cmpint (s->labels_out[y * 40 + x], ==, s->labels[sy * 40 + sx]);
          }

      /* Twice is the identity, exactly. */
      g_assert_true (ns_augment_apply (&d, s->image_out, s->labels_out, 1, 31, 40, twice,
                                       twice_labels, NULL));
      g_assert_cmpmem (twice, 31 * 40 * sizeof (float), s->image, 31 * 40 * sizeof (float));
      g_assert_cmpmem (twice_labels, 31 * 40, s->labels, 31 * 40);
    }
}

/* 90° on a square slice: the forward matrix maps (x, y) to (N-1-y, x), and the output is
 * the input turned by that permutation (to rounding of cos 90°). */
static void
test_rotate_90 (void)
{
  const int n = 33;
  g_autoptr (Slice) s = slice_new (1, n, n);
  NsAugmentDraw d;
  double m[2][3];

  for (int i = 0; i < n * n; i++)
    {
      s->image[i] = (float) ((i * 37) % 101);
      s->labels[i] = (guint8) ((i * 13) % 4);
    }
  ns_augment_draw_init_identity (&d);
  d.angle_deg = 90.0;
  ns_augment_draw_get_matrix (&d, n, n, m);
  g_assert_cmpfloat_with_epsilon (m[0][0] * 3 + m[0][1] * 5 + m[0][2], n - 1 - 5, 1e-9);
  g_assert_cmpfloat_with_epsilon (m[1][0] * 3 + m[1][1] * 5 + m[1][2], 3, 1e-9);

  slice_apply (s, &d);
  for (int y = 0; y < n; y++)
    for (int x = 0; x < n; x++)
      {
        /* input (x, y) -> output (n-1-y, x) */
        g_assert_cmpfloat_with_epsilon (s->image_out[x * n + (n - 1 - y)], s->image[y * n + x],
                                        1e-4);
        g_assert_cmpint (s->labels_out[x * n + (n - 1 - y)], ==, s->labels[y * n + x]);
      }
}

/* Under any affine draw (rotation ±20 at the extremes, with shear, zoom, shift and flips),
 * a small square's centroid lands where the forward matrix sends the input centroid. */
static void
test_point_maps_by_matrix (void)
{
  const int h = 96, w = 128;
  const int pts[4][2] = { { 40, 30 }, { 90, 60 }, { 64, 48 }, { 20, 70 } };
  NsAugmentDraw d;

  for (int trial = 0; trial < 8; trial++)
    for (int k = 0; k < 4; k++)
      {
        g_autoptr (Slice) s = slice_new (1, h, w);
        double m[2][3], want_x, want_y, sum_x = 0, sum_y = 0, sum_w = 0, count = 0;
        int px = pts[k][0], py = pts[k][1];

        slice_rect (s, px - 3, py - 3, px + 4, py + 4, 1);
        ns_augment_draw_init_identity (&d);
        d.angle_deg = (trial & 1) ? 20.0 : -20.0;
        d.hflip = (trial & 2) != 0;
        d.vflip = (trial & 4) != 0;
        d.shear = (trial & 1) ? -0.2 : 0.2;
        d.zoom = (trial & 2) ? 0.9 : 1.1;
        d.shift_x = 0.05;
        d.shift_y = -0.05;
        slice_apply (s, &d);
        ns_augment_draw_get_matrix (&d, h, w, m);
        want_x = m[0][0] * px + m[0][1] * py + m[0][2];
        want_y = m[1][0] * px + m[1][1] * py + m[1][2];

        for (int y = 0; y < h; y++)
          for (int x = 0; x < w; x++)
            {
              float v = s->image_out[y * w + x];

              sum_x += v * x;
              sum_y += v * y;
              sum_w += v;
              count += s->labels_out[y * w + x] != 0;
            }
        /* Bilinear sampling keeps the centroid to a small fraction of a pixel. */
        g_assert_cmpfloat (sum_w, >, 0);
        g_assert_cmpfloat (fabs (sum_x / sum_w - want_x), <, 0.25);
        g_assert_cmpfloat (fabs (sum_y / sum_w - want_y), <, 0.25);
        /* Area scales by zoom², the rest is area-preserving. */
        g_assert_cmpfloat (fabs (sum_w - 49 * d.zoom * d.zoom), <, 0.05 * 49);
        g_assert_cmpfloat (fabs (count - 49 * d.zoom * d.zoom), <, 0.25 * 49);
      }
}

/* Shear 0.2: a vertical line through the centre column becomes a slanted line; the row
 * at y - cy = ±40 moves by ±8 pixels, the centre row stays. */
static void
test_shear (void)
{
  const int n = 101; /* centre (50, 50) */
  g_autoptr (Slice) s = slice_new (1, n, n);
  NsAugmentDraw d;

  for (int y = 0; y < n; y++)
    {
      s->image[y * n + 50] = 1.0f;
      s->labels[y * n + 50] = 1;
    }
  for (int sign = -1; sign <= 1; sign += 2)
    {
      ns_augment_draw_init_identity (&d);
      d.shear = 0.2 * sign;
      slice_apply (s, &d);
      for (int y = 10; y <= 90; y += 5)
        {
          /* Rows at a multiple of 5 from the centre move by a whole pixel count. */
          int want = 50 + sign * (y - 50) / 5;

          for (int x = 0; x < n; x++)
            {
              g_assert_cmpfloat (s->image_out[y * n + x], ==, x == want ? 1.0f : 0.0f);
              g_assert_cmpint (s->labels_out[y * n + x], ==, x == want);
            }
        }
    }
}

/* Zoom: a centred 20-pixel square becomes 22 pixels at 1.1 and 18 at 0.9. */
static void
test_zoom (void)
{
  const int n = 100;
  g_autoptr (Slice) s = slice_new (1, n, n);
  NsAugmentDraw d;
  const double zooms[2] = { 1.1, 0.9 };
  const int want[2] = { 22, 18 };

  slice_rect (s, 40, 40, 60, 60, 3);
  for (int i = 0; i < 2; i++)
    {
      int box[4];
      double area = 0;

      ns_augment_draw_init_identity (&d);
      d.zoom = zooms[i];
      slice_apply (s, &d);
      label_bbox (s->labels_out, n, n, box);
      g_assert_cmpint (box[2] - box[0] + 1, ==, want[i]);
      g_assert_cmpint (box[3] - box[1] + 1, ==, want[i]);
      g_assert_cmpint (box[0] + box[2], ==, 99); /* still centred */
      for (int k = 0; k < n * n; k++)
        area += s->image_out[k];
      g_assert_cmpfloat_with_epsilon (area, 400 * zooms[i] * zooms[i], 0.5);
    }
}

/* Every transform at once, elastic included: labels stay in {0, 1, 2, 4}, image values
 * stay within the input's range (bilinear weights are convex, gamma keeps the extremes),
 * nothing is NaN. */
static void
test_labels_in_class_set (void)
{
  const int h = 120, w = 140;
  g_autoptr (Slice) s = slice_new (2, h, w);
  NsAugmentParams p;
  float lo = G_MAXFLOAT, hi = -G_MAXFLOAT;
  int n_changed = 0;

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        double r = hypot (x - 70, y - 60);

        s->labels[y * w + x] = r < 10 ? 4 : r < 18 ? 1 : r < 30 ? 2 : 0;
        for (int ch = 0; ch < 2; ch++)
          {
            float v = r < 50 ? (float) (cos (0.1 * x + ch) + 0.02 * y - 1.0) : 0.0f;

            s->image[(ch * h + y) * w + x] = v;
            lo = MIN (lo, v);
            hi = MAX (hi, v);
          }
      }

  ns_augment_params_init_default (&p);
  for (guint64 seed = 0; seed < 40; seed++)
    {
      g_autoptr (GError) error = NULL;
      gboolean seen[256] = { FALSE };

      g_assert_true (ns_augment_slice (&p, seed, s->image, s->labels, 2, h, w, s->image_out,
                                       s->labels_out, &error));
      g_assert_no_error (error);
      for (int i = 0; i < h * w; i++)
        {
          guint8 l = s->labels_out[i];

          g_assert_true (l == 0 || l == 1 || l == 2 || l == 4);
          seen[l] = TRUE;
        }
      /* The tumour stays in view: the transforms are moderate. */
      g_assert_true (seen[4] && seen[1] && seen[2]);
      for (int i = 0; i < 2 * h * w; i++)
        {
          g_assert_true (isfinite (s->image_out[i]));
          g_assert_cmpfloat (s->image_out[i], >=, lo - 1e-5f);
          g_assert_cmpfloat (s->image_out[i], <=, hi + 1e-5f);
        }
      n_changed += memcmp (s->labels_out, s->labels, h * w) != 0;
    }
  g_assert_cmpint (n_changed, ==, 40);
}

static void
test_deterministic (void)
{
  const int h = 64, w = 80;
  g_autoptr (Slice) a = slice_new (2, h, w);
  g_autoptr (Slice) b = slice_new (2, h, w);
  NsAugmentParams p;

  slice_rect (a, 20, 10, 50, 40, 1);
  slice_rect (b, 20, 10, 50, 40, 1);
  for (int i = 0; i < 2 * h * w; i++)
    a->image[i] = b->image[i] = a->image[i] + (float) (i % 17) * 0.1f;
  ns_augment_params_init_default (&p);

  g_assert_true (ns_augment_slice (&p, 1234, a->image, a->labels, 2, h, w, a->image_out,
                                   a->labels_out, NULL));
  g_assert_true (ns_augment_slice (&p, 1234, b->image, b->labels, 2, h, w, b->image_out,
                                   b->labels_out, NULL));
  g_assert_cmpmem (a->image_out, 2 * h * w * sizeof (float), b->image_out,
                   2 * h * w * sizeof (float));
  g_assert_cmpmem (a->labels_out, h * w, b->labels_out, h * w);

  g_assert_true (ns_augment_slice (&p, 1235, b->image, b->labels, 2, h, w, b->image_out,
                                   b->labels_out, NULL));
  g_assert_true (memcmp (a->image_out, b->image_out, 2 * h * w * sizeof (float)) != 0);

  /* Switching the elastic part off leaves the other draws unchanged. */
  {
    NsAugmentDraw d1, d2;

    ns_augment_draw (&p, 99, &d1);
    p.p_elastic = 0.0;
    ns_augment_draw (&p, 99, &d2);
    g_assert_true (d1.elastic && !d2.elastic);
    g_assert_cmpfloat (d1.angle_deg, ==, d2.angle_deg);
    g_assert_cmpfloat (d1.gamma, ==, d2.gamma);
    g_assert_cmpint (d1.hflip, ==, d2.hflip);
  }
}

/* Several threads augmenting at once get exactly what one thread gets. */
typedef struct
{
  const float *image;
  const guint8 *labels;
  guint64 seed;
  float *out;
  guint8 *labels_out;
} Job;

static gpointer
augment_thread (gpointer data)
{
  Job *job = data;
  NsAugmentParams p;

  ns_augment_params_init_default (&p);
  for (int rep = 0; rep < 3; rep++)
    if (!ns_augment_slice (&p, job->seed, job->image, job->labels, 1, 48, 48, job->out,
                           job->labels_out, NULL))
      return GINT_TO_POINTER (0);
  return GINT_TO_POINTER (1);
}

static void
test_threads (void)
{
  g_autoptr (Slice) s = slice_new (1, 48, 48);
  Job jobs[4];
  GThread *threads[4];
  NsAugmentParams p;

  slice_rect (s, 10, 12, 30, 36, 2);
  ns_augment_params_init_default (&p);
  for (int i = 0; i < 4; i++)
    {
      jobs[i] = (Job) { s->image, s->labels, (guint64) (i % 2), g_new (float, 48 * 48),
                        g_new (guint8, 48 * 48) };
      threads[i] = g_thread_new ("augment", augment_thread, &jobs[i]);
    }
  for (int i = 0; i < 4; i++)
    g_assert_cmpint (GPOINTER_TO_INT (g_thread_join (threads[i])), ==, 1);
  for (int i = 0; i < 4; i++)
    {
      g_assert_true (ns_augment_slice (&p, (guint64) (i % 2), s->image, s->labels, 1, 48, 48,
                                       s->image_out, s->labels_out, NULL));
      g_assert_cmpmem (jobs[i].out, 48 * 48 * sizeof (float), s->image_out,
                       48 * 48 * sizeof (float));
      g_assert_cmpmem (jobs[i].labels_out, 48 * 48, s->labels_out, 48 * 48);
      g_free (jobs[i].out);
      g_free (jobs[i].labels_out);
    }
}

static void
test_gamma (void)
{
  const int h = 20, w = 30;
  g_autoptr (Slice) s = slice_new (2, h, w);
  NsAugmentDraw d;

  /* z-scored-like values with a background of 0 around them. */
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int ch = 0; ch < 2; ch++)
        s->image[(ch * h + y) * w + x] =
          (x > 2 && x < 27) ? (float) (-2.0 + 0.2 * (x - 3) + 0.01 * y + ch) : 0.0f;

  /* gamma 1 is the identity, bit for bit. */
  ns_augment_draw_init_identity (&d);
  d.gamma = 1.0;
  slice_apply (s, &d);
  g_assert_cmpmem (s->image_out, 2 * h * w * sizeof (float), s->image,
                   2 * h * w * sizeof (float));

  for (int k = 0; k < 2; k++)
    {
      double g = k == 0 ? 0.8 : 1.2;

      d.gamma = g;
      slice_apply (s, &d);
      for (int ch = 0; ch < 2; ch++)
        {
          const float *in = s->image + ch * h * w, *out = s->image_out + ch * h * w;
          double lo = -2.0 + ch, hi = -2.0 + 0.2 * 23 + 0.01 * 19 + ch;

          for (int i = 0; i < h * w; i++)
            {
              if (in[i] == 0.0f)
                {
                  g_assert_cmpfloat (out[i], ==, 0.0f); /* background stays */
                  continue;
                }
              {
                double t = (in[i] - lo) / (hi - lo);
                double want = lo + (hi - lo) * pow (t, g);

                g_assert_cmpfloat_with_epsilon (out[i], want, 1e-5);
                /* gamma < 1 brightens, > 1 darkens; the extremes stay */
                if (t > 1e-6 && t < 1 - 1e-6)
                  g_assert_true (g < 1 ? out[i] > in[i] : out[i] < in[i]);
              }
            }
        }
    }
}

/* The elastic field: zero mean, the Simard magnitude (uniform noise in [-1, 1] through a
 * 2-D Gaussian has standard deviation sqrt(1/3) / (2 sigma sqrt(pi)), times alpha:
 * 4.9 pixels at alpha 720, sigma 24), smooth, and linear in alpha. */
static void
test_elastic_field (void)
{
  const int n = 240;
  g_autofree float *dx = g_new (float, n * n);
  g_autofree float *dy = g_new (float, n * n);
  g_autofree float *dx2 = g_new (float, n * n);
  g_autofree float *dy2 = g_new (float, n * n);
  NsAugmentParams p;
  double sum = 0, sum2 = 0, max_step = 0, count = 0;
  double want_std = 720.0 * sqrt (1.0 / 3.0) / (2.0 * 24.0 * sqrt (G_PI));

  ns_augment_params_init_default (&p);
  for (guint64 seed = 0; seed < 6; seed++)
    {
      NsAugmentDraw d;

      ns_augment_draw (&p, seed, &d);
      g_assert_true (ns_augment_draw_elastic_field (&d, n, n, dx, dy, NULL));
      for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++)
          {
            int i = y * n + x;

            sum += dx[i] + dy[i];
            sum2 += dx[i] * dx[i] + dy[i] * dy[i];
            count += 2;
            if (x + 1 < n)
              max_step = MAX (max_step, fabs (dx[i + 1] - dx[i]));
            if (y + 1 < n)
              max_step = MAX (max_step, fabs (dy[i + n] - dy[i]));
          }

      /* Half alpha, half the field. */
      d.elastic_alpha = 360.0;
      g_assert_true (ns_augment_draw_elastic_field (&d, n, n, dx2, dy2, NULL));
      for (int i = 0; i < n * n; i++)
        g_assert_cmpfloat_with_epsilon (dx2[i], 0.5f * dx[i], 1e-4);
    }
  {
    double mean = sum / count, std = sqrt (sum2 / count - mean * mean);

    g_test_message ("elastic field: mean %.3f px, std %.3f px (Simard: %.3f), max step %.3f",
                    mean, std, want_std, max_step);
    g_assert_cmpfloat (fabs (mean), <, 1.0);
    g_assert_cmpfloat (std, >, 0.6 * want_std);
    g_assert_cmpfloat (std, <, 1.5 * want_std);
    /* Smooth: neighbouring displacements differ by well under a pixel (the gradient's
     * standard deviation is about std / sigma), so the map does not fold. */
    g_assert_cmpfloat (max_step, <, 1.0);
  }

  /* Applied to labels, the elastic part alone moves a square's edges by a few pixels and
   * keeps its area roughly. */
  {
    g_autoptr (Slice) s = slice_new (1, n, n);
    NsAugmentDraw d;
    int area = 0;

    slice_rect (s, 80, 80, 160, 160, 1);
    ns_augment_draw_init_identity (&d);
    d.elastic = TRUE;
    d.elastic_alpha = 720;
    d.elastic_sigma = 24;
    d.elastic_seed = 42;
    slice_apply (s, &d);
    for (int i = 0; i < n * n; i++)
      area += s->labels_out[i];
    g_assert_cmpint (area, >, 80 * 80 * 0.7);
    g_assert_cmpint (area, <, 80 * 80 * 1.3);
    g_assert_true (memcmp (s->labels_out, s->labels, n * n) != 0);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/data/augment/defaults", test_defaults);
  g_test_add_func ("/data/augment/draw-ranges", test_draw_ranges);
  g_test_add_func ("/data/augment/identity", test_identity);
  g_test_add_func ("/data/augment/shift", test_shift);
  g_test_add_func ("/data/augment/flip", test_flip);
  g_test_add_func ("/data/augment/rotate-90", test_rotate_90);
  g_test_add_func ("/data/augment/point-maps-by-matrix", test_point_maps_by_matrix);
  g_test_add_func ("/data/augment/shear", test_shear);
  g_test_add_func ("/data/augment/zoom", test_zoom);
  g_test_add_func ("/data/augment/labels-in-class-set", test_labels_in_class_set);
  g_test_add_func ("/data/augment/deterministic", test_deterministic);
  g_test_add_func ("/data/augment/threads", test_threads);
  g_test_add_func ("/data/augment/gamma", test_gamma);
  g_test_add_func ("/data/augment/elastic-field", test_elastic_field);

  return g_test_run ();
}
