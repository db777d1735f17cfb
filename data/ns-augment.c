/* SPDX-License-Identifier: MIT
 *
 * ns-augment.c: the paper's 2-D augmentation (see ns-augment.h for the conventions).
 *
 * Trade-offs: the affine part is inverted analytically (F S(-shear) R(-angle) / zoom)
 * rather than by a general 2x2 inverse, so that the inverse of an exact transform stays
 * exact; the elastic field costs two separable Gaussian passes per component (about
 * 4 · (8 sigma + 1) multiply-adds per pixel, 44 M for 240 x 240 at sigma 24), written so
 * that the inner loops run along contiguous rows and vectorise; the gamma curve is
 * applied once per input pixel into a scratch copy, never per bilinear tap.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-augment.h"
#include "ns-data-error.h"

#include <math.h>
#include <string.h>

/* ---- random numbers: SplitMix64 (Steele, Lea, Flood 2014), one stream per call ------- */

typedef struct
{
  guint64 state;
} Rng;

static inline guint64
rng_next (Rng *rng)
{
  guint64 z = (rng->state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double
rng_uniform (Rng *rng)
{
  return (double) (rng_next (rng) >> 11) * 0x1.0p-53;
}

/* ---- parameters and draws ------------------------------------------------------------- */

void
ns_augment_params_init_default (NsAugmentParams *params)
{
  g_return_if_fail (params != NULL);

  params->p_hflip = 0.5;
  params->p_vflip = 0.5;
  params->rotation_deg = 20.0;
  params->shift = 0.1;
  params->shear = 0.2;
  params->zoom = 0.1;
  params->gamma_min = 0.8;
  params->gamma_max = 1.2;
  params->p_elastic = 1.0;
  params->elastic_alpha = 720.0;
  params->elastic_sigma = 24.0;
  params->background = 0.0f;
}

void
ns_augment_params_init_none (NsAugmentParams *params)
{
  g_return_if_fail (params != NULL);

  memset (params, 0, sizeof *params);
  params->gamma_min = 1.0;
  params->gamma_max = 1.0;
}

void
ns_augment_draw_init_identity (NsAugmentDraw *draw)
{
  g_return_if_fail (draw != NULL);

  memset (draw, 0, sizeof *draw);
  draw->zoom = 1.0;
  draw->gamma = 1.0;
}

/* Uniform in [-range, range]; exactly 0 when range is 0. */
static double
symmetric (double u, double range)
{
  return range > 0.0 ? range * (2.0 * u - 1.0) : 0.0;
}

void
ns_augment_draw (const NsAugmentParams *params, guint64 seed, NsAugmentDraw *draw)
{
  Rng rng = { seed };
  double u[9];

  g_return_if_fail (params != NULL);
  g_return_if_fail (draw != NULL);

  /* Always the same nine uniforms and one raw word, in the same order. */
  for (int i = 0; i < 9; i++)
    u[i] = rng_uniform (&rng);

  ns_augment_draw_init_identity (draw);
  draw->hflip = u[0] < params->p_hflip;
  draw->vflip = u[1] < params->p_vflip;
  draw->angle_deg = symmetric (u[2], params->rotation_deg);
  draw->shift_x = symmetric (u[3], params->shift);
  draw->shift_y = symmetric (u[4], params->shift);
  draw->shear = symmetric (u[5], params->shear);
  draw->zoom = 1.0 + symmetric (u[6], params->zoom);
  if (params->gamma_max > params->gamma_min)
    draw->gamma = params->gamma_min + (params->gamma_max - params->gamma_min) * u[7];
  else
    draw->gamma = params->gamma_min > 0.0 ? params->gamma_min : 1.0;
  draw->elastic = u[8] < params->p_elastic && params->elastic_alpha != 0.0;
  draw->elastic_alpha = params->elastic_alpha;
  draw->elastic_sigma = params->elastic_sigma;
  draw->elastic_seed = rng_next (&rng);
  draw->background = params->background;
}

/* L = Z R S F (the linear part of the forward map, about the centre). */
static void
linear_part (const NsAugmentDraw *draw, double l[2][2])
{
  double a = draw->angle_deg * G_PI / 180.0;
  double c = cos (a), s = sin (a);
  double fx = draw->hflip ? -1.0 : 1.0;
  double fy = draw->vflip ? -1.0 : 1.0;
  double z = draw->zoom;
  double k = draw->shear;

  /* R S = [[c, c k - s], [s, s k + c]]; then F on the right flips the columns. */
  l[0][0] = z * c * fx;
  l[0][1] = z * (c * k - s) * fy;
  l[1][0] = z * s * fx;
  l[1][1] = z * (s * k + c) * fy;
}

/* L⁻¹ = F S(-k) R(-a) / z. */
static void
inverse_linear_part (const NsAugmentDraw *draw, double li[2][2])
{
  double a = draw->angle_deg * G_PI / 180.0;
  double c = cos (a), s = sin (a);
  double fx = draw->hflip ? -1.0 : 1.0;
  double fy = draw->vflip ? -1.0 : 1.0;
  double iz = 1.0 / draw->zoom;
  double k = draw->shear;

  /* S(-k) R(-a) = [[1, -k], [0, 1]] [[c, s], [-s, c]] = [[c + k s, s - k c], [-s, c]]. */
  li[0][0] = fx * iz * (c + k * s);
  li[0][1] = fx * iz * (s - k * c);
  li[1][0] = fy * iz * -s;
  li[1][1] = fy * iz * c;
}

void
ns_augment_draw_get_matrix (const NsAugmentDraw *draw, int h, int w, double m[2][3])
{
  double l[2][2];
  double cx = 0.5 * (w - 1), cy = 0.5 * (h - 1);
  double tx = draw->shift_x * w, ty = draw->shift_y * h;

  g_return_if_fail (draw != NULL);

  linear_part (draw, l);
  m[0][0] = l[0][0];
  m[0][1] = l[0][1];
  m[0][2] = cx + tx - (l[0][0] * cx + l[0][1] * cy);
  m[1][0] = l[1][0];
  m[1][1] = l[1][1];
  m[1][2] = cy + ty - (l[1][0] * cx + l[1][1] * cy);
}

/* ---- elastic field -------------------------------------------------------------------- */

/* scipy's 'reflect' boundary: (d c b a | a b c d | d c b a), for any i. */
static inline int
reflect_index (long i, int n)
{
  long period = 2L * n;

  i %= period;
  if (i < 0)
    i += period;
  return i < n ? (int) i : (int) (period - 1 - i);
}

/* out[x] += k (lo[x] + hi[x]).  Blocks of 8 with restrict pointers, so that gcc's
 * default (-O2, "very cheap") vectoriser turns them into SIMD without runtime checks. */
static inline void
add_symmetric_taps (float *restrict out, const float *restrict lo, const float *restrict hi,
                    float k, int w)
{
  int x = 0;

  for (; x + 8 <= w; x += 8)
    for (int j = 0; j < 8; j++)
      out[x + j] += k * (lo[x + j] + hi[x + j]);
  for (; x < w; x++)
    out[x] += k * (lo[x] + hi[x]);
}

/* Separable Gaussian of a (h, w) field in place; k holds taps 0..r (symmetric). */
static void
gaussian_smooth (float *field, float *tmp, float *pad, int h, int w, const float *k, int r)
{
  /* Along x: tmp = field * k, row by row through a mirrored, padded copy. */
  for (int y = 0; y < h; y++)
    {
      const float *row = field + (gsize) y * w;
      float *out = tmp + (gsize) y * w;

      for (long i = -r; i < w + r; i++)
        pad[i + r] = row[reflect_index (i, w)];
      for (int x = 0; x < w; x++)
        out[x] = k[0] * pad[x + r];
      for (int t = 1; t <= r; t++)
        {
          add_symmetric_taps (out, pad + r - t, pad + r + t, k[t], w);
        }
    }

  /* Along y: field = tmp * k, whole rows at a time. */
  for (int y = 0; y < h; y++)
    {
      float *out = field + (gsize) y * w;
      const float *mid = tmp + (gsize) y * w;

      for (int x = 0; x < w; x++)
        out[x] = k[0] * mid[x];
      for (int t = 1; t <= r; t++)
        {
          add_symmetric_taps (out, tmp + (gsize) reflect_index ((long) y - t, h) * w,
                              tmp + (gsize) reflect_index ((long) y + t, h) * w, k[t], w);
        }
    }
}

gboolean
ns_augment_draw_elastic_field (const NsAugmentDraw *draw, int h, int w, float *dx, float *dy,
                               GError **error)
{
  gsize n = (gsize) h * (gsize) w;
  g_autofree float *tmp = NULL;
  g_autofree float *pad = NULL;
  g_autofree float *k = NULL;
  Rng rng;
  int r;

  g_return_val_if_fail (draw != NULL, FALSE);
  g_return_val_if_fail (h > 0 && w > 0, FALSE);
  g_return_val_if_fail (dx != NULL && dy != NULL, FALSE);

  if (!draw->elastic)
    {
      memset (dx, 0, n * sizeof (float));
      memset (dy, 0, n * sizeof (float));
      return TRUE;
    }

  /* Truncated at 4 sigma, as scipy.ndimage.gaussian_filter. */
  if (!(draw->elastic_sigma < 1e6))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "Augmentation: elastic sigma %g is out of range", draw->elastic_sigma);
      return FALSE;
    }
  r = draw->elastic_sigma > 0.0 ? (int) (4.0 * draw->elastic_sigma + 0.5) : 0;
  tmp = g_try_new (float, n);
  pad = g_try_new (float, (gsize) w + 2 * (gsize) r);
  k = g_try_new (float, (gsize) r + 1);
  if (tmp == NULL || pad == NULL || k == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE,
                   "Augmentation: out of memory for a %d x %d elastic field", w, h);
      return FALSE;
    }

  {
    double sum = 0.0, s = draw->elastic_sigma;

    for (int t = 0; t <= r; t++)
      sum += (t == 0 ? 1.0 : 2.0) * (r > 0 ? exp (-0.5 * (double) t * t / (s * s)) : 1.0);
    for (int t = 0; t <= r; t++)
      k[t] = (float) ((r > 0 ? exp (-0.5 * (double) t * t / (s * s)) : 1.0) / sum);
  }

  rng.state = draw->elastic_seed;
  for (gsize i = 0; i < n; i++)
    dx[i] = (float) (2.0 * rng_uniform (&rng) - 1.0);
  for (gsize i = 0; i < n; i++)
    dy[i] = (float) (2.0 * rng_uniform (&rng) - 1.0);

  gaussian_smooth (dx, tmp, pad, h, w, k, r);
  gaussian_smooth (dy, tmp, pad, h, w, k, r);

  for (gsize i = 0; i < n; i++)
    {
      dx[i] *= (float) draw->elastic_alpha;
      dy[i] *= (float) draw->elastic_alpha;
    }
  return TRUE;
}

/* ---- gamma ---------------------------------------------------------------------------- */

/* dst = the gamma curve of src over its foreground range (see the header). */
static void
apply_gamma (float *dst, const float *src, gsize n, double gamma, float background)
{
  float lo = G_MAXFLOAT, hi = -G_MAXFLOAT;

  for (gsize i = 0; i < n; i++)
    if (src[i] != background)
      {
        lo = MIN (lo, src[i]);
        hi = MAX (hi, src[i]);
      }

  if (!(hi > lo))
    {
      memcpy (dst, src, n * sizeof (float));
      return;
    }

  for (gsize i = 0; i < n; i++)
    {
      if (src[i] == background)
        dst[i] = src[i];
      else
        {
          float t = (src[i] - lo) / (hi - lo);

          /* powf: float precision is what the image has, at a third of pow's cost. */
          dst[i] = lo + (hi - lo) * powf (MAX (t, 0.0f), (float) gamma);
        }
    }
}

/* ---- sampling ------------------------------------------------------------------------- */

static inline double
snap (double v)
{
  double r = nearbyint (v);

  return fabs (v - r) < 1e-6 ? r : v;
}

gboolean
ns_augment_apply (const NsAugmentDraw *draw, const float *image, const guint8 *labels, int c,
                  int h, int w, float *image_out, guint8 *labels_out, GError **error)
{
  gsize n = (gsize) h * (gsize) w;
  g_autofree float *dx = NULL;
  g_autofree float *dy = NULL;
  g_autofree float *gamma_image = NULL;
  const float *src = image;
  double li[2][2];
  double cx = 0.5 * (w - 1), cy = 0.5 * (h - 1);
  double tx, ty;
  float bg;

  g_return_val_if_fail (draw != NULL, FALSE);
  g_return_val_if_fail (h > 0 && w > 0 && c >= 0, FALSE);
  g_return_val_if_fail (c == 0 || (image != NULL && image_out != NULL), FALSE);
  g_return_val_if_fail ((labels == NULL) == (labels_out == NULL), FALSE);
  g_return_val_if_fail (draw->zoom > 0.0, FALSE);

  bg = draw->background;
  tx = draw->shift_x * w;
  ty = draw->shift_y * h;
  inverse_linear_part (draw, li);

  if (draw->elastic)
    {
      dx = g_try_new (float, n);
      dy = g_try_new (float, n);
      if (dx == NULL || dy == NULL)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE,
                       "Augmentation: out of memory for a %d x %d elastic field", w, h);
          return FALSE;
        }
      if (!ns_augment_draw_elastic_field (draw, h, w, dx, dy, error))
        return FALSE;
    }

  if (c > 0 && draw->gamma != 1.0)
    {
      gamma_image = g_try_new (float, (gsize) c * n);
      if (gamma_image == NULL)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE,
                       "Augmentation: out of memory for a %d x %d x %d image", c, w, h);
          return FALSE;
        }
      for (int ch = 0; ch < c; ch++)
        apply_gamma (gamma_image + ch * n, image + ch * n, n, draw->gamma, bg);
      src = gamma_image;
    }

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        gsize o = (gsize) y * w + x;
        double qx = x, qy = y, u, v, sx, sy;

        if (dx != NULL)
          {
            qx += dx[o];
            qy += dy[o];
          }
        u = qx - cx - tx;
        v = qy - cy - ty;
        sx = snap (cx + li[0][0] * u + li[0][1] * v);
        sy = snap (cy + li[1][0] * u + li[1][1] * v);

        if (labels != NULL)
          {
            double rx = floor (sx + 0.5), ry = floor (sy + 0.5);

            if (rx >= 0 && rx < w && ry >= 0 && ry < h)
              labels_out[o] = labels[(gsize) ry * w + (gsize) rx];
            else
              labels_out[o] = 0;
          }

        if (c > 0)
          {
            double fx0 = floor (sx), fy0 = floor (sy);
            double fx = sx - fx0, fy = sy - fy0;
            gboolean in_x0, in_x1, in_y0, in_y1;
            long x0, y0;

            /* Entirely outside (with a one-pixel margin): background. */
            if (fx0 < -1 || fx0 >= w || fy0 < -1 || fy0 >= h)
              {
                for (int ch = 0; ch < c; ch++)
                  image_out[ch * n + o] = bg;
                continue;
              }
            x0 = (long) fx0;
            y0 = (long) fy0;
            in_x0 = x0 >= 0;
            in_x1 = x0 + 1 < w;
            in_y0 = y0 >= 0;
            in_y1 = y0 + 1 < h;
            for (int ch = 0; ch < c; ch++)
              {
                const float *p = src + ch * n;
                double v00 = in_y0 && in_x0 ? p[y0 * w + x0] : bg;
                double v01 = in_y0 && in_x1 ? p[y0 * w + x0 + 1] : bg;
                double v10 = in_y1 && in_x0 ? p[(y0 + 1) * w + x0] : bg;
                double v11 = in_y1 && in_x1 ? p[(y0 + 1) * w + x0 + 1] : bg;
                double top = fx > 0.0 ? (1.0 - fx) * v00 + fx * v01 : v00;
                double bottom = fx > 0.0 ? (1.0 - fx) * v10 + fx * v11 : v10;

                image_out[ch * n + o] = (float) (fy > 0.0 ? (1.0 - fy) * top + fy * bottom
                                                          : top);
              }
          }
      }
  return TRUE;
}

gboolean
ns_augment_slice (const NsAugmentParams *params, guint64 seed, const float *image,
                  const guint8 *labels, int c, int h, int w, float *image_out,
                  guint8 *labels_out, GError **error)
{
  NsAugmentDraw draw;

  g_return_val_if_fail (params != NULL, FALSE);

  ns_augment_draw (params, seed, &draw);
  return ns_augment_apply (&draw, image, labels, c, h, w, image_out, labels_out, error);
}
