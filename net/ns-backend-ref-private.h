/* SPDX-License-Identifier: MIT
 *
 * ns-backend-ref-private.h: the double-precision kernels behind the `ref` backend.
 *
 * The ref backend stores float32 NCHW; every op widens its operands to double, runs one of
 * the kernels below and narrows the results.  The kernels are exposed so that tests can
 * check gradients against central finite differences entirely in double precision (a
 * float32 round trip would limit such a check to about 1e-3).
 *
 * Argument order and the accumulate/assign rule are those of ns-backend.h: outputs first,
 * then saved statistics, inputs, weights, sizes; weight and bias gradients ACCUMULATE,
 * input gradients are ASSIGNED; any gradient pointer may be NULL.  Shapes are
 * { N, C, H, W }; weights are (K, C/groups, kh, kw) for conv2d and (C, K, 2, 2) for convt2.
 */
#pragma once

#include "ns-backend.h"

G_BEGIN_DECLS

void   _ns_ref_conv2d_forward          (double *out, const double *inp, const double *weight,
                                        const double *bias, const int inp_shape[4],
                                        const int weight_shape[4], const NsConv2dParams *p);
void   _ns_ref_conv2d_backward         (double *dinp, double *dweight, double *dbias,
                                        const double *dout, const double *inp,
                                        const double *weight, const int inp_shape[4],
                                        const int weight_shape[4], const NsConv2dParams *p);

/* running_mean/running_var are read (inference) or updated (training). */
void   _ns_ref_batchnorm_forward       (double *out, double *save_mean, double *save_invstd,
                                        const double *inp, const double *gamma,
                                        const double *beta, double *running_mean,
                                        double *running_var, gboolean training,
                                        double momentum, double eps, const int shape[4]);
void   _ns_ref_batchnorm_backward      (double *dinp, double *dgamma, double *dbeta,
                                        const double *dout, const double *inp,
                                        const double *save_mean, const double *save_invstd,
                                        const double *gamma, const int shape[4]);

void   _ns_ref_relu_forward            (double *out, const double *inp, NsActivation act,
                                        gsize n);
void   _ns_ref_relu_backward           (double *dinp, const double *dout, const double *out,
                                        NsActivation act, gsize n);

void   _ns_ref_maxpool2_forward        (double *out, const double *inp, const int inp_shape[4]);
void   _ns_ref_maxpool2_backward       (double *dinp, const double *dout, const double *inp,
                                        const int inp_shape[4]);

void   _ns_ref_upsample2_forward       (double *out, const double *inp, const int inp_shape[4]);
void   _ns_ref_upsample2_backward      (double *dinp, const double *dout,
                                        const int inp_shape[4]);

/* out (N, K, 2H, 2W); weight (C, K, 2, 2). */
void   _ns_ref_convt2_forward          (double *out, const double *inp, const double *weight,
                                        const double *bias, const int inp_shape[4], int K);
void   _ns_ref_convt2_backward         (double *dinp, double *dweight, double *dbias,
                                        const double *dout, const double *inp,
                                        const double *weight, const int inp_shape[4], int K);

/* a (N, Ca, H, W), b (N, Cb, H, W). */
void   _ns_ref_concat_forward          (double *out, const double *a, const double *b,
                                        const int a_shape[4], int cb);
void   _ns_ref_concat_backward         (double *da, double *db, const double *dout,
                                        const int a_shape[4], int cb);

void   _ns_ref_add_forward             (double *out, const double *a, const double *b, gsize n);

/* Element i is kept when ns_random_uniform (seed, i) >= p (both compared as float). */
void   _ns_ref_dropout_forward         (double *out, double *mask, const double *inp, float p,
                                        guint64 seed, gboolean training, gsize n);
void   _ns_ref_dropout_backward        (double *dinp, const double *dout, const double *mask,
                                        gsize n);

void   _ns_ref_softmax_forward         (double *probs, const double *logits,
                                        const int shape[4]);
/* labels (N, 1, H, W): class indices as values. */
double _ns_ref_softmax_dice_ce_forward (double *probs, const double *logits,
                                        const double *labels, const int shape[4]);
void   _ns_ref_softmax_dice_ce_backward (double *dlogits, const double *probs,
                                         const double *labels, const int shape[4]);

void   _ns_ref_adam_update             (double *params, const double *grads, double *m,
                                        double *v, gsize n, const NsAdamParams *p);

/* Compute ops a ref backend has counted since it was made (for tests of error paths:
 * where NS_TEST_REF_FAIL_AT=N lands). */
guint64 _ns_backend_ref_get_n_ops      (NsBackend *backend);

G_END_DECLS
