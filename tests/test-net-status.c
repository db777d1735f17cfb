/* SPDX-License-Identifier: MIT
 *
 * test-net-status.c: backend errors reach the caller (issue 13, "Errors that never reach
 * the user").
 *  - an op that fails (injected into the ref backend by NS_TEST_REF_FAIL_AT) is reported
 *    by ns_backend_check() with its message, the ops after it are skipped (their outputs
 *    keep what they held), and the status is clear after it was reported;
 *  - labels that are not class indices fail the step on ref and on oneDNN instead of being
 *    counted as background;
 *  - a failing op inside ns_model_train_step() makes it return NaN and the GError;
 *  - an op the backend refuses for its shapes runs on the host (ref) with the same result,
 *    and is counted (NS_TEST_HOST_OPS makes the oneDNN backend refuse one);
 *  - the model's forward on oneDNN asks supports_op with every op's real shapes and all
 *    of them are supported (no op of the network silently falls back).
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-model.h"
#include "ns-test-util.h"

#include <math.h>
#include <string.h>

static gboolean
have_backend (const char *name)
{
  for (const char *const *n = ns_backend_list_compiled (); *n != NULL; n++)
    if (strcmp (*n, name) == 0)
      return TRUE;
  return FALSE;
}

/* A backend made while env=value is set (the test hooks are read at creation). */
static NsBackend *
backend_with_env (const char *name, const char *env, const char *value)
{
  g_autoptr (GError) error = NULL;
  if (env != NULL)
    g_setenv (env, value, TRUE);
  NsBackend *be = ns_backend_new (name, &error);
  if (env != NULL)
    g_unsetenv (env);
  g_assert_no_error (error);
  return be;
}

static NsTensor *
tensor_filled (NsBackend *be, int n, int c, int h, int w, float value)
{
  g_autoptr (GError) error = NULL;
  NsTensor *t = ns_tensor_new (be, n, c, h, w, &error);
  g_assert_no_error (error);
  ns_tensor_fill (t, value);
  return t;
}

static float
first_value (NsTensor *t)
{
  g_autofree float *v = g_new (float, ns_tensor_n_elements (t));
  ns_tensor_download (t, v);
  return v[0];
}

/* Op 2 of the backend fails: op 1 ran, ops 2 and 3 left their outputs alone, the check
 * names the op, then the status is clear and ops run again. */
static void
test_injected_failure (void)
{
  g_autoptr (NsBackend) be = backend_with_env ("ref", "NS_TEST_REF_FAIL_AT", "2");
  g_autoptr (NsTensor) x = tensor_filled (be, 1, 1, 2, 2, -1.0f);
  g_autoptr (NsTensor) a = tensor_filled (be, 1, 1, 2, 2, 7.0f);
  g_autoptr (NsTensor) b = tensor_filled (be, 1, 1, 2, 2, 7.0f);
  g_autoptr (NsTensor) c = tensor_filled (be, 1, 1, 2, 2, 7.0f);
  g_autoptr (GError) error = NULL;

  g_assert_true (ns_backend_check (be, &error));
  ns_relu_forward (a, x, NS_ACT_RELU);          /* op 1: runs */
  ns_add_forward (b, x, x);                     /* op 2: fails */
  ns_relu_forward (c, x, NS_ACT_RELU);          /* op 3: skipped */
  g_assert_cmpfloat (first_value (a), ==, 0.0f);
  g_assert_cmpfloat (first_value (b), ==, 7.0f);
  g_assert_cmpfloat (first_value (c), ==, 7.0f);

  g_assert_false (ns_backend_check (be, &error));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "op 2 (add)"));
  g_clear_error (&error);

  /* reported once; the backend works again */
  g_assert_true (ns_backend_check (be, &error));
  ns_add_forward (b, x, x);
  g_assert_cmpfloat (first_value (b), ==, -2.0f);
  g_assert_true (ns_backend_check (be, &error));
}

/* Labels must be class indices 0..K-1: a 4 with K = 4 fails the loss on every backend
 * instead of counting as class 0. */
static void
check_bad_label (const char *backend)
{
  g_autoptr (NsBackend) be = backend_with_env (backend, NULL, NULL);
  g_autoptr (NsTensor) logits = tensor_filled (be, 1, 4, 2, 2, 0.5f);
  g_autoptr (NsTensor) probs = tensor_filled (be, 1, 4, 2, 2, 0.0f);
  g_autoptr (NsTensor) dlogits = tensor_filled (be, 1, 4, 2, 2, 0.0f);
  g_autoptr (NsTensor) labels = tensor_filled (be, 1, 1, 2, 2, 1.0f);
  g_autoptr (GError) error = NULL;
  const float good[4] = { 0, 1, 2, 3 }, bad[4] = { 0, 1, 4, 3 };

  ns_tensor_upload (labels, good);
  g_assert_true (isfinite (ns_softmax_dice_ce_forward (probs, logits, labels)));
  ns_softmax_dice_ce_backward (dlogits, probs, labels);
  g_assert_true (ns_backend_check (be, &error));

  ns_tensor_upload (labels, bad);
  ns_softmax_dice_ce_forward (probs, logits, labels);
  g_assert_false (ns_backend_check (be, &error));
  g_test_message ("%s: %s", backend, error->message);
  g_assert_nonnull (strstr (error->message, "label 4"));
  g_clear_error (&error);
  ns_softmax_dice_ce_backward (dlogits, probs, labels);
  g_assert_false (ns_backend_check (be, &error));
}

static void
test_bad_labels (void)
{
  check_bad_label ("ref");
  if (have_backend ("cpu"))
    check_bad_label ("cpu");
}

static NsModel *
tiny_model (NsBackend *be)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("mobilenetv2-unet");
  NsModelInit init = { NS_INIT_KAIMING, 0, 3 };
  NsModel *m = ns_model_new (be, meta, &init, &error);
  g_assert_no_error (error);
  return m;
}

static void
batch (int n, int h, int w, float **images, float **labels)
{
  *images = g_new (float, (gsize) n * 2 * h * w);
  *labels = g_new (float, (gsize) n * h * w);
  for (gsize i = 0; i < (gsize) n * 2 * h * w; i++)
    (*images)[i] = (float) sin (0.37 * i);
  for (gsize i = 0; i < (gsize) n * h * w; i++)
    (*labels)[i] = (float) ((i / 7) % 4);
}

/* A step whose 40th op fails: NaN and the injected error, not a loss and a model updated
 * from garbage. */
static void
test_train_step_failure (void)
{
  g_autoptr (NsBackend) be = backend_with_env ("ref", "NS_TEST_REF_FAIL_AT", "40");
  g_autoptr (NsModel) m = tiny_model (be);
  g_autofree float *images = NULL, *labels = NULL;
  g_autoptr (GError) error = NULL;
  NsAdamParams ap = { 1e-3f, 0.9f, 0.999f, 1e-8f, 0, 0 };

  batch (1, 32, 32, &images, &labels);
  float loss = ns_model_train_step (m, images, labels, 1, 32, 32, &ap, &error);
  g_assert_true (isnan (loss));
  g_assert_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "op 40"));
  g_clear_error (&error);

  /* the next step runs (the failure was one op's, and it has been reported) */
  loss = ns_model_train_step (m, images, labels, 1, 32, 32, &ap, &error);
  g_assert_no_error (error);
  g_assert_true (isfinite (loss));
}

/* Forward of the whole network with the relu ops forced onto the host: the same logits
 * as the backend's own, and the host runs are counted. */
static void
test_host_fallback (void)
{
  if (!have_backend ("cpu"))
    {
      g_test_skip ("no oneDNN backend in this build");
      return;
    }
  g_autoptr (NsBackend) own = backend_with_env ("cpu", NULL, NULL);
  g_autoptr (NsBackend) host = backend_with_env ("cpu", "NS_TEST_HOST_OPS", "relu,add");
  g_autoptr (NsModel) a = tiny_model (own);
  g_autoptr (NsModel) b = tiny_model (host);
  g_autofree float *images = NULL, *labels = NULL;
  g_autoptr (GError) error = NULL;
  const gsize n_out = 2 * 4 * 64 * 64;
  g_autofree float *la = g_new (float, n_out), *lb = g_new (float, n_out);

  batch (2, 64, 64, &images, &labels);
  ns_model_set_mode (a, NS_MODEL_EVAL);
  ns_model_set_mode (b, NS_MODEL_EVAL);
  g_autoptr (NsTensor) xa = ns_tensor_new (own, 2, 2, 64, 64, &error);
  g_autoptr (NsTensor) xb = ns_tensor_new (host, 2, 2, 64, 64, &error);
  g_assert_no_error (error);
  ns_tensor_upload (xa, images);
  ns_tensor_upload (xb, images);
  NsTensor *ya = ns_model_forward (a, xa, &error);
  g_assert_no_error (error);
  NsTensor *yb = ns_model_forward (b, xb, &error);
  g_assert_no_error (error);
  ns_tensor_download (ya, la);
  ns_tensor_download (yb, lb);
  g_assert_true (ns_backend_check (own, &error));
  g_assert_true (ns_backend_check (host, &error));

  g_autofree double *want = g_new (double, n_out);
  for (gsize i = 0; i < n_out; i++)
    want[i] = la[i];
  g_assert_true (ns_check_tensor ("logits, relu and add on the host", lb, want, n_out, 1e-4));
  g_assert_cmpuint (ns_backend_get_n_host_ops (own), ==, 0);
  g_test_message ("%" G_GUINT64_FORMAT " ops ran on the host",
                  ns_backend_get_n_host_ops (host));
  /* MobileNetV2-U-Net in EVAL: 35 ReLU6 + 10 ReLU + 10 residual adds */
  g_assert_cmpuint (ns_backend_get_n_host_ops (host), ==, 55);
}

/* oneDNN's supports_op is asked with the real shapes of every op of a training step of
 * both networks, and says yes to each: nothing runs on the host unasked. */
static void
test_cpu_supports_network (void)
{
  if (!have_backend ("cpu"))
    {
      g_test_skip ("no oneDNN backend in this build");
      return;
    }
  g_autoptr (NsBackend) be = backend_with_env ("cpu", NULL, NULL);
  g_autofree float *images = NULL, *labels = NULL;
  g_autoptr (GError) error = NULL;
  NsAdamParams ap = { 1e-3f, 0.9f, 0.999f, 1e-8f, 0, 0 };

  batch (2, 64, 64, &images, &labels);
  const char *archs[] = { "mobilenetv2-unet", "unet" };
  for (guint i = 0; i < G_N_ELEMENTS (archs); i++)
    {
      g_autoptr (NsModelMeta) meta = ns_model_meta_new_default (archs[i]);
      g_autoptr (NsModel) m = ns_model_new (be, meta, NULL, &error);
      g_assert_no_error (error);
      float loss = ns_model_train_step (m, images, labels, 2, 64, 64, &ap, &error);
      g_assert_no_error (error);
      g_assert_true (isfinite (loss));
      g_autoptr (NsTensor) x = ns_tensor_new (be, 2, 2, 64, 64, &error);
      g_assert_no_error (error);
      ns_tensor_upload (x, images);
      ns_model_set_mode (m, NS_MODEL_INFER);
      g_assert_nonnull (ns_model_forward (m, x, &error));
      g_assert_true (ns_backend_check (be, &error));
    }
  g_assert_cmpuint (ns_backend_get_n_host_ops (be), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/net/status/injected-failure", test_injected_failure);
  g_test_add_func ("/net/status/bad-labels", test_bad_labels);
  g_test_add_func ("/net/status/train-step-failure", test_train_step_failure);
  g_test_add_func ("/net/status/host-fallback", test_host_fallback);
  g_test_add_func ("/net/status/cpu-supports-network", test_cpu_supports_network);
  return g_test_run ();
}
