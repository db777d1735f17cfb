/* SPDX-License-Identifier: MIT
 *
 * ns-net-test-ops.h: every op of a backend compared with the `ref` backend (ggml's
 * test-backend-ops).
 *
 * Registers one GTest case per op under a path prefix ("/net/cpu/conv2d", ...).  Each case
 * runs the op on a sweep of random shapes (odd sizes, batch 1-3, kernels 1/2/3 and 5x3,
 * stride 1/2, padding 0/1/2, dense, grouped and depthwise, weights held as views of one
 * flat parameter tensor) on both backends from the same float32 inputs, and compares the
 * forward outputs and every gradient with ns_check_tensor() (normalised error, printing
 * the worst element and the first mismatch).  Before each run, outputs and input
 * gradients are filled with NaN, so that an element a backend forgets to write fails; weight
 * gradients are pre-filled with random values on both sides, so that a backend that
 * assigns where it must accumulate fails.  Ops the backend does not support
 * (ns_backend_supports_op()) are not registered, and a "#" line says so.
 *
 * Usage, in a test program's main():
 *
 *   g_test_init (&argc, &argv, NULL);
 *   if (!ns_net_test_ops_against_ref ("cpu", &ns_net_test_tol_fp32))
 *     return 77;    (backend not available here: skip)
 *   return g_test_run ();
 */
#pragma once

#include "ns-backend.h"

G_BEGIN_DECLS

/* Largest normalised error |got - want| / (|want| + rms(want)) accepted per op, for the
 * forward outputs and every gradient of that op. */
typedef struct
{
  double tensor;     /* upload, download, fill, copy, views: exact data movement */
  double conv2d;     /* forward (with fused activation), dinp, dweight, dbias */
  double batchnorm;  /* out, save_mean, save_invstd, running stats, eval out, gradients */
  double relu;       /* relu and relu6 */
  double maxpool2;
  double upsample2;
  double convt2;
  double concat;
  double add;
  double dropout;    /* out, mask, dinp */
  double softmax;
  double loss;       /* softmax + Dice + CE: probs, the loss value, dlogits */
  double adam;       /* params, m, v after several steps */
} NsNetTestTolerances;

/* fp32 backends computing in float32 (oneDNN, cuDNN without TF32). */
extern const NsNetTestTolerances ns_net_test_tol_fp32;
/* bf16 storage/compute: estimates from bf16's 8-bit significand (relative rounding
 * 2^-9 per operand), to be confirmed when a bf16 backend exists. */
extern const NsNetTestTolerances ns_net_test_tol_bf16;

/* Registers "/net/<backend_name>/<op>" cases for backend_name in fp32.  Returns FALSE,
 * registering nothing and printing why, when the backend cannot start here. */
gboolean ns_net_test_ops_against_ref (const char *backend_name,
                                      const NsNetTestTolerances *tol);

/* The same with a chosen path prefix (e.g. "/net/cpu-bf16") and precision; FALSE also
 * when the backend refuses the precision. */
gboolean ns_net_test_ops_register    (const char *path_prefix, const char *backend_name,
                                      NsPrecision precision, const NsNetTestTolerances *tol);

G_END_DECLS
