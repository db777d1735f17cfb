/* SPDX-License-Identifier: MIT
 *
 * test-cli-interact.c: `neuroseg interact-eval` as a user runs it (the binary from
 * $NEUROSEG) on a small synthetic case: the JSON keys of the issue (dice[region][k],
 * noc90[region], ms_per_click_p50, ms_per_click_p95) with values in range, the brush
 * baseline raising the Dice from an empty start, an interactive model (fresh weights)
 * running the protocol, and the refusals: a segmentation model given as the interactive
 * one, and neither --model nor --brush.
 */
#include "ns-test-util.h"

#include "ns-checkpoint.h"
#include "ns-nifti.h"
#include "ns-test-net.h"

#include <json-glib/json-glib.h>
#include <string.h>

static char *case_dir, *truth, *empty;

static void
setup_case (void)
{
  g_autoptr (GError) error = NULL;
  if (case_dir != NULL)
    return;
  case_dir = ns_test_write_case ("ia", 48, 48, 8, TRUE);
  truth = g_build_filename (case_dir, "ia_seg.nii.gz", NULL);
  g_autoptr (NsVolume) seg = ns_nifti_read (truth, &error);
  g_assert_no_error (error);
  g_autoptr (NsLabelMap) map = ns_label_map_new (&seg->grid, &error);
  g_assert_no_error (error);
  empty = g_build_filename (ns_test_tmpdir (), "empty.nii.gz", NULL);
  g_assert_true (ns_nifti_write_label_map (map, empty, &error));
  g_assert_no_error (error);
}

/* The JSON object of a run, its keys and ranges checked; returns the root object. */
static JsonObject *
check_json (JsonParser *parser, const char *text, int clicks)
{
  g_autoptr (GError) error = NULL;
  g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
  g_assert_no_error (error);
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  JsonObject *dice = json_object_get_object_member (root, "dice");
  JsonObject *noc = json_object_get_object_member (root, "noc90");
  const char *regions[] = { "WT", "TC", "ET" };
  for (int r = 0; r < 3; r++)
    {
      JsonArray *a = json_object_get_array_member (dice, regions[r]);
      g_assert_cmpuint (json_array_get_length (a), ==, clicks + 1);
      for (int k = 0; k <= clicks; k++)
        {
          double d = json_array_get_double_element (a, k);
          g_assert_cmpfloat (d, >=, 0.0);
          g_assert_cmpfloat (d, <=, 1.0);
        }
      gint64 n = json_object_get_int_member (noc, regions[r]);
      g_assert_cmpint (n, >=, 0);
      g_assert_cmpint (n, <=, clicks);
    }
  g_assert_cmpfloat (json_object_get_double_member (root, "ms_per_click_p50"), >=, 0.0);
  g_assert_cmpfloat (json_object_get_double_member (root, "ms_per_click_p95"), >=,
                     json_object_get_double_member (root, "ms_per_click_p50"));
  return root;
}

static void
test_brush_json (void)
{
  g_auto (NsTestRun) run = { 0 };
  g_autoptr (JsonParser) parser = json_parser_new ();
  setup_case ();
  ns_test_run_neuroseg (&run, "interact-eval", "--brush", "--json", "--clicks", "3", "--start",
                        empty, case_dir, truth, NULL);
  g_assert_cmpint (run.status, ==, 0);
  JsonObject *root = check_json (parser, run.out, 3);
  JsonArray *wt = json_object_get_array_member (json_object_get_object_member (root, "dice"),
                                                "WT");
  /* missed entirely at the start, each dab adds a disc of the missed tumour */
  g_assert_cmpfloat (json_array_get_double_element (wt, 0), ==, 0.0);
  g_assert_cmpfloat (json_array_get_double_element (wt, 3), >,
                     json_array_get_double_element (wt, 1));
  g_assert_cmpfloat (json_array_get_double_element (wt, 1), >, 0.0);
  /* TC and ET are empty in both: right from the start */
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (root, "noc90"),
                                               "ET"), ==, 0);
}

static void
test_model_json_and_refusals (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  setup_case ();

  /* an interactive model with fresh weights: the protocol runs, the output is in range */
  g_autofree char *path = ns_test_write_random_interactive_model ("ia.safetensors", 5);
  {
    g_auto (NsTestRun) run = { 0 };
    ns_test_run_neuroseg (&run, "interact-eval", "--json", "--clicks", "2", "--model", path,
                          "--start", empty, case_dir, truth, NULL);
    g_assert_cmpint (run.status, ==, 0);
    check_json (parser, run.out, 2);
  }

  /* a segmentation model is not an interactive one */
  g_autofree char *seg = ns_test_write_random_model ("seg.safetensors", 1);
  {
    g_auto (NsTestRun) run = { 0 };
    ns_test_run_neuroseg (&run, "interact-eval", "--model", seg, "--start", empty, case_dir,
                          truth, NULL);
    g_assert_cmpint (run.status, ==, 1);
    g_assert_nonnull (strstr (run.err, "segmentation model, not an interactive one"));
  }
  /* neither a model nor the brush */
  {
    g_auto (NsTestRun) run = { 0 };
    ns_test_run_neuroseg (&run, "interact-eval", "--start", empty, case_dir, truth, NULL);
    g_assert_cmpint (run.status, ==, 2);
    g_assert_nonnull (strstr (run.err, "--model"));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/interact-eval/brush-json", test_brush_json);
  g_test_add_func ("/cli/interact-eval/model-json-and-refusals", test_model_json_and_refusals);
  return g_test_run ();
}
