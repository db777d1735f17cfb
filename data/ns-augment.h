/* SPDX-License-Identifier: MIT
 *
 * ns-augment.h: 2-D data augmentation of a training slice, as in the paper's Table 1
 * (DESIGN.md): horizontal and vertical flips (50 %), rotation (±20°), shift (10 % of the
 * size), horizontal shear (20 %), zoom (±10 %), brightness gamma (0.8–1.2) and elastic
 * distortion (alpha 720, sigma 24).
 *
 * A slice is a multi-channel float image (C, H, W), row-major, x fastest, plus an
 * optional uint8 label image (H, W).  One random draw (NsAugmentDraw) is applied
 * identically to every channel and to the labels: the flips, rotation, shear, zoom and
 * shift are composed into one affine map, the elastic displacement field is added in
 * output space, and every output pixel is sampled once from the input: images
 * bilinearly, labels by nearest neighbour (so labels only ever take values present in
 * the input, or the background 0).  Samples outside the input read the image background
 * value (params.background, 0 by default: the value outside the brain after the z-score
 * normalisation of DESIGN.md) and label 0.
 *
 * Everything is a function of (params, seed): the generator is a private SplitMix64
 * stream per call, there is no global state, and the functions may run concurrently in
 * several worker threads (each call allocates its own scratch).
 *
 * Geometry conventions (pixel coordinates, x = column, y = row, pixel centres at
 * integers, the centre of the image at ((W-1)/2, (H-1)/2)); every part acts about the
 * centre, and the forward map (input pixel -> output pixel) is
 *     p' = c + shift + Z · R(angle) · S(shear) · F · (p - c)
 * with F the flips (x -> -x, y -> -y), S = [[1, shear], [0, 1]] (a row at height y - cy
 * moves by shear · (y - cy) pixels along x), R = [[cos a, -sin a], [sin a, cos a]] (with
 * y pointing down, a positive angle turns the image clockwise on screen), Z = zoom (the
 * content grows by this factor: 1.1 makes a 20-pixel square 22 pixels wide) and shift =
 * (shift_x · W, shift_y · H) pixels.  The elastic displacement d(p') is then applied in
 * output space: out(p') = in(A⁻¹(p' + d(p'))), where d is uniform noise in [-1, 1]
 * smoothed by a Gaussian of standard deviation sigma (separable, truncated at 4 sigma,
 * mirrored at the borders, as scipy.ndimage.gaussian_filter) and scaled by alpha
 * (Simard et al. 2003).  Sampling positions within 1e-6 of an integer are snapped to it,
 * so transforms that map the grid onto itself (flips, whole-pixel shifts, 90° turns)
 * copy values exactly.
 *
 * Gamma for z-scored inputs: values have no natural [0, 1] range, so each channel is
 * rescaled to [0, 1] with its own minimum and maximum over the foreground (pixels whose
 * value differs from the background), raised to the power gamma and mapped back:
 *     v' = lo + (hi - lo) · ((v - lo) / (hi - lo))^gamma.
 * The extremes and the background stay where they are; gamma < 1 brightens, > 1 darkens.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Ranges and probabilities.  A range of 0 (or a probability of 0) switches that part
 * off; continuous parameters are drawn uniformly from their range. */
typedef struct
{
  double p_hflip;          /* 0.5: probability of a left-right flip */
  double p_vflip;          /* 0.5: probability of an up-down flip */
  double rotation_deg;     /* 20: angle in [-20, 20] degrees */
  double shift;            /* 0.1: shift_x, shift_y each in [-0.1, 0.1] of W and H */
  double shear;            /* 0.2: horizontal shear factor in [-0.2, 0.2] */
  double zoom;             /* 0.1: zoom factor in [1 - 0.1, 1 + 0.1] */
  double gamma_min;        /* 0.8 */
  double gamma_max;        /* 1.2 */
  double p_elastic;        /* 1.0: probability of the elastic distortion */
  double elastic_alpha;    /* 720: displacement scale, pixels */
  double elastic_sigma;    /* 24: smoothing, pixels */
  float background;        /* 0: image value of samples outside the input */
} NsAugmentParams;

/* One random draw: the values actually applied to a slice. */
typedef struct
{
  gboolean hflip;
  gboolean vflip;
  double angle_deg;
  double shift_x;          /* fraction of W */
  double shift_y;          /* fraction of H */
  double shear;
  double zoom;
  double gamma;
  gboolean elastic;
  double elastic_alpha;
  double elastic_sigma;
  guint64 elastic_seed;    /* the noise of the displacement field */
  float background;
} NsAugmentDraw;

/* The paper's values (above). */
void     ns_augment_params_init_default (NsAugmentParams *params);
/* Everything off: an identity transform. */
void     ns_augment_params_init_none    (NsAugmentParams *params);

/* An identity draw (no flip, angle 0, zoom 1, gamma 1, no elastic, background 0). */
void     ns_augment_draw_init_identity  (NsAugmentDraw *draw);
/* Draws every parameter from params with a generator seeded by seed.  The random
 * numbers are always consumed in the same order, so switching one part off does not
 * change what the others draw. */
void     ns_augment_draw                (const NsAugmentParams *params, guint64 seed,
                                         NsAugmentDraw *draw);
/* The affine part as a forward map: input pixel (x, y) goes to
 * (m[0][0] x + m[0][1] y + m[0][2], m[1][0] x + m[1][1] y + m[1][2]). */
void     ns_augment_draw_get_matrix     (const NsAugmentDraw *draw, int h, int w,
                                         double m[2][3]);
/* The elastic displacement field of draw on an h x w slice: dx and dy (h, w), in pixels
 * (zeros when draw->elastic is FALSE).  FALSE + error when memory runs out. */
gboolean ns_augment_draw_elastic_field  (const NsAugmentDraw *draw, int h, int w, float *dx,
                                         float *dy, GError **error);

/* Applies draw to image (c, h, w) and labels (h, w), writing image_out and labels_out of
 * the same shapes (they must not overlap the inputs).  image/image_out may be NULL when
 * c is 0; labels/labels_out may be NULL.  FALSE + error only when memory runs out. */
gboolean ns_augment_apply               (const NsAugmentDraw *draw, const float *image,
                                         const guint8 *labels, int c, int h, int w,
                                         float *image_out, guint8 *labels_out,
                                         GError **error);
/* ns_augment_draw () then ns_augment_apply (). */
gboolean ns_augment_slice               (const NsAugmentParams *params, guint64 seed,
                                         const float *image, const guint8 *labels, int c,
                                         int h, int w, float *image_out, guint8 *labels_out,
                                         GError **error);

G_END_DECLS
