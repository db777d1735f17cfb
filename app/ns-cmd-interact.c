/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-interact.c: `neuroseg interact-eval [--clicks N] [--json] [--model M]
 * [--start PRED] [--brush] CASE TRUTH`, the simulated-click protocol of interactive
 * correction (net/ns-interact-eval.h) on one case: Dice of WT, TC and ET after 0..N clicks
 * per region, NoC@90 and the time per click.
 *
 * The start is the automatic prediction: --start PRED.nii.gz (e.g. the prediction of a
 * cross-validation fold's model), else the default segmentation model (the registry's,
 * else the shipped one) runs on the case first.  --model is the interactive model;
 * --brush runs the same protocol with brush dabs instead (no interactive model needed).
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-checkpoint.h"
#include "ns-cmd.h"
#include "ns-data-error.h"
#include "ns-infer.h"
#include "ns-interact-eval.h"
#include "ns-json.h"
#include "ns-labels.h"
#include "ns-registry.h"

#include <json-glib/json-glib.h>
#include <stdio.h>

static const char summary[] =
  "Simulated-click protocol of interactive correction (RITM, nnInteractive): for WT, TC\n"
  "and ET separately, from the automatic prediction, each next click goes to the centre\n"
  "of the largest error region (on the axial slice through it), the interactive model\n"
  "corrects that slice and propagates the change; prints the Dice after 0..N clicks,\n"
  "NoC@90 (clicks to reach Dice 0.90, capped at N) and the time per click (the clicked\n"
  "slice, and the propagation).  --brush: the same placement with brush dabs of 3 mm.\n"
  "JSON keys: dice[region][k], noc90[region], ms_per_click_p50, ms_per_click_p95.";

/* A BraTS label map (2015 labels mapped to 2017+: 3 becomes 1). */
/* The automatic prediction: --start, else the default segmentation model on the case. */
static NsLabelMap *
start_labels (const char *start_path, NsCase *ncase, const char *device, GError **error)
{
  if (start_path != NULL)
    return ns_label_map_read (start_path, NS_LABEL_SCHEME_BRATS2015, TRUE, error);
  g_autofree char *path = ns_registry_dup_default_model (NULL, NULL, NULL, error);
  if (path == NULL)
    return NULL;
  g_autoptr (NsBackend) be = ns_backend_new (device, error);
  if (be == NULL)
    return NULL;
  g_autoptr (NsModel) seg = ns_checkpoint_load (path, be, error);
  if (seg == NULL)
    return NULL;
  NsInferOptions io = { 0 };
  g_autoptr (NsInferResult) r = ns_infer_run_case (seg, ncase, &io, error);
  if (r == NULL)
    return NULL;
  return ns_label_map_ref (r->labels);
}

static void
print_json (const NsInteractEvalResult *r, gboolean brush)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  ns_json_add_string (b, "mode", brush ? "brush" : "model");
  ns_json_add_int (b, "clicks", r->clicks);
  json_builder_set_member_name (b, "dice");
  json_builder_begin_object (b);
  for (int region = 0; region < NS_N_REGIONS; region++)
    {
      json_builder_set_member_name (b, ns_region_name (region));
      json_builder_begin_array (b);
      for (int k = 0; k <= r->clicks; k++)
        json_builder_add_double_value (b, r->dice[region][k]);
      json_builder_end_array (b);
    }
  json_builder_end_object (b);
  json_builder_set_member_name (b, "noc90");
  json_builder_begin_object (b);
  for (int region = 0; region < NS_N_REGIONS; region++)
    ns_json_add_int (b, ns_region_name (region), r->noc90[region]);
  json_builder_end_object (b);
  ns_json_add_number (b, "ms_per_click_p50", r->ms_per_click_p50);
  ns_json_add_number (b, "ms_per_click_p95", r->ms_per_click_p95);
  ns_json_add_number (b, "ms_propagate_p50", r->ms_propagate_p50);
  ns_json_add_number (b, "ms_propagate_p95", r->ms_propagate_p95);
  ns_json_add_int (b, "clicks_placed", r->clicks_placed);
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  ns_cmd_print_json (root, FALSE);
}

static void
print_table (const NsInteractEvalResult *r, gboolean brush)
{
  printf ("%s, Dice after k clicks\n", brush ? "brush dabs (3 mm)" : "interactive model");
  printf ("region");
  for (int k = 0; k <= r->clicks; k++)
    printf ("  %5d", k);
  printf ("  NoC@90\n");
  for (int region = 0; region < NS_N_REGIONS; region++)
    {
      printf ("%-6s", ns_region_name (region));
      for (int k = 0; k <= r->clicks; k++)
        printf ("  %.3f", r->dice[region][k]);
      printf ("  %d\n", r->noc90[region]);
    }
  if (!brush)
    printf ("ms per click: p50 %.0f, p95 %.0f (clicked slice); propagation p50 %.0f, "
            "p95 %.0f\n", r->ms_per_click_p50, r->ms_per_click_p95, r->ms_propagate_p50,
            r->ms_propagate_p95);
}

int
ns_cmd_interact_eval (int argc, char **argv)
{
  g_autofree char *model_path = NULL, *start_path = NULL, *device = NULL;
  gboolean json = FALSE, brush = FALSE, no_propagate = FALSE;
  int clicks = 5;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "Interactive model "
      "(neuroseg train --interactive)", "M" },
    { "start", 0, 0, G_OPTION_ARG_FILENAME, &start_path, "The automatic prediction to start "
      "from (default: the default segmentation model on CASE)", "PRED" },
    { "brush", 0, 0, G_OPTION_ARG_NONE, &brush, "Brush dabs instead of the model (the "
      "baseline)", NULL },
    { "no-propagate", 0, 0, G_OPTION_ARG_NONE, &no_propagate, "Correct only the clicked "
      "slice", NULL },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "auto, cpu, ref or cuda (default cpu)",
      "DEV" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object", NULL },
    { NULL }
  };
  const NsCmdNumber numbers[] = {
    { "clicks", 0, NS_CMD_INT, &clicks, 0, NS_INTERACT_EVAL_MAX_CLICKS, FALSE, NULL,
      "Clicks per region (default 5)", "N" },
    { NULL }
  };
  int status;
  g_autoptr (GError) error = NULL;

  if (!ns_cmd_parse_options ("interact-eval", "CASE TRUTH", summary, entries, NULL, numbers,
                             &argc, &argv, &status))
    return status;
  if (argc != 3)
    return ns_cmd_usage_error ("interact-eval", "need CASE and TRUTH");
  if (model_path == NULL && !brush)
    return ns_cmd_usage_error ("interact-eval", "need --model M (an interactive model), or "
                                                "--brush for the brush baseline");

  const char *const case_paths[] = { argv[1], NULL };
  g_autoptr (NsCase) ncase = ns_case_load (case_paths[0], NS_CASE_LOAD_SKIP_LABELS, &error);
  if (ncase == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (NsLabelMap) truth = ns_label_map_read (argv[2], NS_LABEL_SCHEME_BRATS2015, TRUE,
                                                    &error);
  if (truth == NULL)
    return ns_cmd_print_error (error);
  const char *dev = device != NULL ? device : "cpu";
  g_autoptr (NsLabelMap) start = start_labels (start_path, ncase, dev, &error);
  if (start == NULL)
    return ns_cmd_print_error (error);

  g_autoptr (NsBackend) be = NULL;
  g_autoptr (NsModel) model = NULL;
  if (!brush)
    {
      be = ns_backend_new (dev, &error);
      if (be == NULL)
        return ns_cmd_print_error (error);
      model = ns_checkpoint_load (model_path, be, &error);
      if (model == NULL
          || !ns_model_meta_check_kind (ns_model_get_meta (model), TRUE, model_path, &error))
        return ns_cmd_print_error (error);
    }
  NsInteractEvalOptions o = { clicks, brush, 0, no_propagate, NULL };
  NsInteractEvalResult r;
  if (!ns_interact_eval_run (model, ncase, start, truth, &o, &r, &error))
    return ns_cmd_print_error (error);
  if (json)
    print_json (&r, brush);
  else
    print_table (&r, brush);
  return 0;
}
