/* SPDX-License-Identifier: MIT
 *
 * test-e2e-segment.c: the shipped default model end to end, as a user runs it:
 * `neuroseg segment --device cpu` on the bundled sample case (never trained on) with
 * resources/models/mobilenetv2-unet-default.safetensors, then the label map it wrote is
 * compared with the case's expert segmentation.  Whole-tumour Dice must stay >= 0.80: a
 * regression guard for the model, the inference engine and the command (the model card,
 * resources/models/README.md, gives the measured value).
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-labels.h"
#include "ns-metrics.h"
#include "ns-nifti.h"
#include "ns-test-util.h"

#include <gio/gio.h>

#define WT_MIN 0.80

static void
test_segment_sample (void)
{
  g_autoptr (GError) error = NULL;
  const char *exe = g_getenv ("NEUROSEG");
  g_assert_nonnull (exe);
  g_autofree char *model = ns_test_src_path ("resources", "models",
                                             "mobilenetv2-unet-default.safetensors", NULL);
  g_autofree char *out = g_build_filename (ns_test_tmpdir (), "sample-seg.nii.gz", NULL);
  const char *argv[] = { exe, "segment", "--device", "cpu", "--model", model, "-o", out,
                         ns_test_sample_case (), NULL };
  g_autoptr (GSubprocess) p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  g_autofree char *sout = NULL;
  g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, &sout, NULL, &error));
  g_assert_no_error (error);
  g_test_message ("%s", sout);
  g_assert_cmpint (g_subprocess_get_exit_status (p), ==, 0);

  g_autofree char *truth_path = g_build_filename (ns_test_sample_case (),
                                                  "Brats18_CBICA_ABM_1_seg.nii.gz", NULL);
  g_autoptr (NsVolume) pv = ns_nifti_read (out, &error);
  g_assert_no_error (error);
  g_autoptr (NsVolume) tv = ns_nifti_read (truth_path, &error);
  g_assert_no_error (error);
  g_autoptr (NsLabelMap) pred = ns_label_map_from_volume (pv, NS_LABEL_SCHEME_BRATS2017, FALSE,
                                                          &error);
  g_assert_no_error (error);
  g_autoptr (NsLabelMap) truth = ns_label_map_from_volume (tv, NS_LABEL_SCHEME_BRATS2017,
                                                           FALSE, &error);
  g_assert_no_error (error);
  NsMetrics m;
  g_assert_true (ns_metrics_evaluate (pred, truth, &m, &error));
  g_assert_no_error (error);
  double wt = ns_metrics_find_row (&m, "WT")->dice;
  g_test_message ("Dice WT %.4f TC %.4f ET %.4f", wt, ns_metrics_find_row (&m, "TC")->dice,
                  ns_metrics_find_row (&m, "ET")->dice);
  g_assert_cmpfloat (wt, >=, WT_MIN);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/e2e/segment/default-model-sample-case", test_segment_sample);
  return g_test_run ();
}
