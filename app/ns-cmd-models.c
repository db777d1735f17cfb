/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-models.c: `neuroseg models list|show|register|validate|promote|rollback|runs`, the
 * model registry of data/ns-registry.h from the command line.
 *
 * list, show and runs only read: they open the database read-only.  list marks the
 * default by the one rule (ns_registry_dup_default_model) and says why it is the default.
 * Version 0 is the shipped model.
 *
 * register loads the whole checkpoint (header, metadata, every tensor against its
 * architecture) on the reference backend before recording it; a file that does not load
 * is recorded as a failed version with the reason, reported, and never becomes the
 * default.  validate runs a version on cases with truth labels (net/ns-validate.h) and
 * records its figures.  promote shows the candidate's validation figures next to the
 * current default's on the same cases, refuses what the gate refuses (no figures, an
 * empty mask, a lower score, nothing to compare with) unless --force, and asks on a
 * terminal; without a terminal it needs --yes.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-checkpoint.h"
#include "ns-cmd.h"
#include "ns-json.h"
#include "ns-registry.h"
#include "ns-runs.h"
#include "ns-validate.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>


static char *opt_db;

static gboolean
parse (const char *cmd, const char *params, const char *summary, const GOptionEntry *entries,
       int *argc, char ***argv, int *status)
{
  return ns_cmd_parse_with_db (cmd, params, summary, entries, NULL, &opt_db, argc, argv,
                               status);
}

/* "N" or "vN", N >= 0 (0: the shipped model). */
static gboolean
parse_version (const char *text, int *version)
{
  char *end = NULL;
  if (text[0] == 'v' || text[0] == 'V')
    text++;
  if (!g_ascii_isdigit (text[0]))
    return FALSE;
  gint64 v = g_ascii_strtoll (text, &end, 10);
  if (end == text || *end != '\0' || v < 0 || v > G_MAXINT)
    return FALSE;
  *version = (int) v;
  return TRUE;
}

static void
print_json (JsonNode *root)
{
  ns_cmd_print_json (root, TRUE);
}

/* The registry's metrics of m as an object (empty when it has none). */
static JsonObject *
metrics_object (const NsRegistryModel *m)
{
  JsonObject *o = m->metrics != NULL ? ns_json_parse_object (m->metrics, -1, NULL) : NULL;
  return o != NULL ? o : json_object_new ();
}

/* "segmentation" or "interactive" (a correction model, for the Refine tool) from the
 * checkpoint's metadata; NULL when the file cannot be read (its status says why). */
static const char *
model_kind (const NsRegistryModel *m)
{
  if (m->path == NULL || m->status != NS_REGISTRY_MODEL_REGISTERED)
    return NULL;
  g_autoptr (NsModelMeta) meta = ns_checkpoint_read_meta (m->path, NULL);
  if (meta == NULL)
    return NULL;
  return ns_model_meta_is_interactive (meta) ? "interactive" : "segmentation";
}

static void
model_to_json (JsonBuilder *b, const NsRegistryModel *m)
{
  json_builder_begin_object (b);
  ns_json_add_int (b, "version", m->version);
  ns_json_add_boolean (b, "default", m->is_default);
  ns_json_add_boolean (b, "shipped", m->version == NS_REGISTRY_SHIPPED);
  ns_json_add_string (b, "status", ns_registry_model_status_name (m->status));
  ns_json_add_string (b, "error", m->error);
  ns_json_add_string (b, "path", m->path);
  ns_json_add_string (b, "sha256", m->sha256);
  ns_json_add_string (b, "arch", m->arch);
  ns_json_add_string (b, "kind", model_kind (m));
  ns_json_add_int_or_null (b, "parent", m->parent, m->parent != NS_REGISTRY_NONE);
  ns_json_add_int_or_null (b, "run", m->run_id, m->run_id > 0);
  ns_json_add_string (b, "created", m->created);
  ns_json_add_number (b, "dice_wt", m->dice[0]);
  ns_json_add_number (b, "dice_tc", m->dice[1]);
  ns_json_add_number (b, "dice_et", m->dice[2]);
  json_builder_set_member_name (b, "metrics");
  JsonNode *metrics = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (metrics, metrics_object (m));
  json_builder_add_value (b, metrics);
  json_builder_end_object (b);
}

/* ---- list / show -------------------------------------------------------------------- */

/* "default: vN, <why>" or why none can be used (the list still shows). */
static void
print_default (NsDb *q)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *why = NULL;
  int version = NS_REGISTRY_NONE;
  g_autofree char *path = ns_registry_dup_default_path (q, &version, &why, &error);
  if (path == NULL)
    printf ("default: none can be used: %s\n", ns_cmd_printable (error->message));
  else
    printf ("default: v%d, %s: %s\n", version, ns_cmd_printable (why), ns_cmd_printable (path));
}

static int
cmd_list (int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON array", NULL },
    { NULL }
  };
  int status;
  g_autoptr (GError) error = NULL;

  if (!parse ("models list", "", "Model versions with their validation Dice; * marks the "
              "default, version 0 is the shipped model.", entries, &argc, &argv, &status))
    return status;
  if (argc != 1)
    return ns_cmd_usage_error ("models list", "takes no arguments");
  g_autoptr (NsDb) q = ns_db_open_readonly (opt_db, &error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (GPtrArray) models = ns_registry_list_models (q, &error);
  if (models == NULL)
    return ns_cmd_print_error (error);
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_array (b);
      for (guint i = 0; i < models->len; i++)
        model_to_json (b, g_ptr_array_index (models, i));
      json_builder_end_array (b);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      print_json (root);
      return 0;
    }
  if (models->len == 0)
    {
      printf ("no models registered and no shipped model (%s)\n",
              ns_cmd_printable (ns_db_get_path (q)));
      print_default (q);
      return 0;
    }
  printf ("   %-5s %-10s %-17s %7s %7s %7s %6s  %-27s %s\n", "VER", "STATUS", "ARCH", "WT",
          "TC", "ET", "PARENT", "CREATED", "FILE");
  for (guint i = 0; i < models->len; i++)
    {
      NsRegistryModel *m = g_ptr_array_index (models, i);
      g_autofree char *wt = ns_cmd_dup_number_text (m->dice[0], "%.4f");
      g_autofree char *tc = ns_cmd_dup_number_text (m->dice[1], "%.4f");
      g_autofree char *et = ns_cmd_dup_number_text (m->dice[2], "%.4f");
      g_autofree char *parent = m->parent != NS_REGISTRY_NONE ? g_strdup_printf ("v%d", m->parent)
                                                              : g_strdup ("-");
      printf (" %s v%-4d %-10s %-17s %7s %7s %7s %6s  %-27s %s%s%s\n", m->is_default ? "*" : " ",
              m->version, ns_registry_model_status_name (m->status),
              ns_cmd_printable (m->arch != NULL ? m->arch : "-"), wt, tc, et, parent,
              ns_cmd_printable (m->created), ns_cmd_printable (m->path),
              m->version == NS_REGISTRY_SHIPPED ? "  (shipped)" : "",
              g_strcmp0 (model_kind (m), "interactive") == 0
                ? "  (interactive: the Refine tool's)" : "");
    }
  print_default (q);
  return 0;
}

static void
print_validation_row (const char *label, const NsRegistryValidation *v)
{
  if (v == NULL)
    {
      printf ("  %-34s %-29s\n", label, "-");
      return;
    }
  printf ("  %-34s WT %.4f TC %.4f ET %.4f  predicted %" G_GINT64_FORMAT " / truth %"
          G_GINT64_FORMAT " voxels\n", label, v->dice[0], v->dice[1], v->dice[2],
          v->predicted[0], v->truth[0]);
}

static int
cmd_show (int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object", NULL },
    { NULL }
  };
  int status, version;
  g_autoptr (GError) error = NULL;

  if (!parse ("models show", "N", "Everything the registry knows about model version N (0: "
              "the shipped model), its validation figures included.", entries, &argc, &argv,
              &status))
    return status;
  if (argc != 2 || !parse_version (argv[1], &version))
    return ns_cmd_usage_error ("models show", "give one version number N");
  g_autoptr (NsDb) q = ns_db_open_readonly (opt_db, &error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (NsRegistryModel) m = ns_registry_dup_model (q, version, &error);
  if (m == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (GPtrArray) figures = ns_registry_list_validations (q, version, &error);
  if (figures == NULL)
    return ns_cmd_print_error (error);
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      model_to_json (b, m);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      print_json (root);
      return 0;
    }
  g_autofree char *wt = ns_cmd_dup_number_text (m->dice[0], "%.4f");
  g_autofree char *tc = ns_cmd_dup_number_text (m->dice[1], "%.4f");
  g_autofree char *et = ns_cmd_dup_number_text (m->dice[2], "%.4f");
  printf ("version      %d%s%s\n", m->version,
          m->version == NS_REGISTRY_SHIPPED ? " (the shipped model)" : "",
          m->is_default ? " (default)" : "");
  printf ("status       %s%s%s\n", ns_registry_model_status_name (m->status),
          m->error != NULL ? ": " : "", m->error != NULL ? ns_cmd_printable (m->error) : "");
  printf ("file         %s\n", ns_cmd_printable (m->path));
  printf ("sha256       %s\n", ns_cmd_printable (m->sha256));
  printf ("arch         %s\n", ns_cmd_printable (m->arch != NULL ? m->arch : "-"));
  {
    const char *kind = model_kind (m);
    printf ("kind         %s\n", kind == NULL ? "- (the file cannot be read)"
                                  : strcmp (kind, "interactive") == 0
                                    ? "interactive correction model (the Refine tool's; "
                                      "never the default)"
                                    : "segmentation model");
  }
  if (m->parent != NS_REGISTRY_NONE)
    printf ("parent       v%d\n", m->parent);
  else
    printf ("parent       -\n");
  if (m->run_id > 0)
    printf ("run          %" G_GINT64_FORMAT "\n", m->run_id);
  printf ("registered   %s\n", ns_cmd_printable (m->created));
  printf ("model card   WT %s  TC %s  ET %s\n", wt, tc, et);
  g_autoptr (JsonObject) o = metrics_object (m);
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, o);
  g_autofree char *text = json_to_string (node, TRUE);
  /* line by line: ns_cmd_printable () would show the newlines as "\n" */
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    printf ("%s%s\n", i == 0 ? "metrics      " : "             ", ns_cmd_printable (lines[i]));
  printf ("validation   %u record%s%s\n", figures->len, figures->len == 1 ? "" : "s",
          figures->len > 0 ? ":" : " (neuroseg models validate N --val CASE...)");
  for (guint i = 0; i < figures->len; i++)
    {
      NsRegistryValidation *v = figures->pdata[i];
      g_autofree char *label = g_strdup_printf ("%s (%s)", ns_cmd_printable (v->case_id),
                                                ns_cmd_printable (v->at));
      print_validation_row (label, v);
    }
  return 0;
}

/* ---- register ------------------------------------------------------------------------ */

static void
set_if_absent_string (JsonObject *o, const char *key, const char *value)
{
  if (value != NULL && !json_object_has_member (o, key))
    json_object_set_string_member (o, key, value);
}

/* The checkpoint's metrics (validation Dice, seconds, device, ... as the trainer wrote
 * them) plus the rest of its provenance. */
static char *
metrics_from_meta (const NsModelMeta *meta)
{
  g_autoptr (JsonObject) o = meta->metrics != NULL
                              ? ns_json_parse_object (meta->metrics, -1, NULL) : NULL;
  if (o == NULL)
    o = json_object_new ();
  if (meta->cases != NULL)
    {
      JsonArray *a = json_array_new ();
      for (char **c = meta->cases; *c != NULL; c++)
        json_array_add_string_element (a, *c);
      if (!json_object_has_member (o, "cases_used"))
        json_object_set_int_member (o, "cases_used", g_strv_length (meta->cases));
      if (!json_object_has_member (o, "cases"))
        json_object_set_array_member (o, "cases", a);
      else
        json_array_unref (a);
    }
  set_if_absent_string (o, "command", meta->command);
  set_if_absent_string (o, "date", meta->date);
  set_if_absent_string (o, "name", meta->name);
  set_if_absent_string (o, "parent_file", meta->parent);
  if (meta->epochs > 0 && !json_object_has_member (o, "epochs"))
    json_object_set_int_member (o, "epochs", meta->epochs);
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, o);
  return json_to_string (node, FALSE);
}

static int
cmd_register (int argc, char **argv)
{
  int parent = NS_REGISTRY_NONE;
  gint64 run = 0;
  const NsCmdNumber numbers[] = {
    { "parent", 0, NS_CMD_INT, &parent, 0, G_MAXINT, FALSE, NULL,
      "The version it was fine-tuned from, 0 for the shipped model (default: the registered "
      "version of the checkpoint's parent file, if any)", "N" },
    { "run", 0, NS_CMD_INT64, &run, 1, G_MAXINT, FALSE, NULL,
      "The training run that produced it (ends the run, marks its queued cases used)", "R" },
    { NULL }
  };
  int status;
  g_autoptr (GError) error = NULL;

  if (!ns_cmd_parse_with_db ("models register", "FILE", "Records a checkpoint as a new model "
                             "version, after checking that it loads; a file that does not "
                             "load is recorded as failed and never used.", NULL, numbers,
                             &opt_db, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return ns_cmd_usage_error ("models register", "give one FILE");
  const char *path = argv[1];
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      fprintf (stderr, "neuroseg: %s: no such file\n", ns_cmd_printable (path));
      return 1;
    }

  g_autoptr (NsDb) q = ns_db_open (opt_db, &error);
  if (q == NULL)
    return ns_cmd_print_error (error);

  /* Load it completely: metadata, then every tensor against the architecture. */
  g_autoptr (GError) load_error = NULL;
  g_autoptr (NsModelMeta) meta = ns_checkpoint_read_meta (path, &load_error);
  if (meta != NULL)
    {
      g_autoptr (NsBackend) be = ns_backend_new ("ref", &load_error);
      if (be != NULL)
        {
          NsModel *model = ns_checkpoint_load (path, be, &load_error);
          if (model != NULL)
            ns_model_free (model);
        }
    }

  g_autofree char *metrics = NULL;
  if (load_error == NULL)
    {
      metrics = metrics_from_meta (meta);
      if (parent == NS_REGISTRY_NONE && meta->parent != NULL
          && g_file_test (meta->parent, G_FILE_TEST_EXISTS)
          && !ns_registry_find_model_by_path (q, meta->parent, &parent, &error))
        return ns_cmd_print_error (error);
    }
  NsRegistryModelInfo info = {
    path, meta != NULL ? meta->arch : NULL, parent, metrics, run,
    load_error != NULL ? load_error->message : NULL
  };
  int version = ns_registry_register_model (q, &info, &error);
  if (version == 0)
    return ns_cmd_print_error (error);
  if (load_error != NULL)
    {
      fprintf (stderr, "neuroseg: %s (recorded as failed version %d, never used)\n",
               ns_cmd_printable (load_error->message), version);
      return 1;
    }
  g_autoptr (NsRegistryModel) m = ns_registry_dup_model (q, version, &error);
  if (m == NULL)
    return ns_cmd_print_error (error);
  g_autofree char *wt = ns_cmd_dup_number_text (m->dice[0], "%.4f");
  g_autofree char *tc = ns_cmd_dup_number_text (m->dice[1], "%.4f");
  g_autofree char *et = ns_cmd_dup_number_text (m->dice[2], "%.4f");
  g_autofree char *from = m->parent != NS_REGISTRY_NONE ? g_strdup_printf (", from v%d", m->parent)
                                                        : g_strdup ("");
  printf ("registered model version %d (%s%s; validation WT %s TC %s ET %s)\n", version,
          ns_cmd_printable (m->arch), from, wt, tc, et);
  return 0;
}

/* ---- validate ------------------------------------------------------------------------ */

static void
validate_progress_cb (guint done, guint n_cases, const NsRegistryValidation *v,
                      gpointer user_data)
{
  g_autofree char *label = g_strdup_printf ("[%u/%u] %s", done, n_cases, v->case_id);
  print_validation_row (label, v);
  fflush (stdout);
}

static int
cmd_validate (int argc, char **argv)
{
  g_auto (GStrv) cases = NULL;
  g_autofree char *device = NULL;
  const GOptionEntry entries[] = {
    { "val", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &cases,
      "A validation case with its truth labels (repeat)", "CASE" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "auto (default), cpu, ref or cuda",
      "DEV" },
    { NULL }
  };
  int status, version;
  g_autoptr (GError) error = NULL;

  if (!parse ("models validate", "N", "Runs model version N (0: the shipped model) on "
              "validation cases with truth labels and records its figures per case (Dice of "
              "WT, TC, ET; voxels predicted per region): what promote compares.", entries,
              &argc, &argv, &status))
    return status;
  if (argc != 2 || !parse_version (argv[1], &version))
    return ns_cmd_usage_error ("models validate", "give one version number N");
  if (cases == NULL)
    return ns_cmd_usage_error ("models validate", "give the cases with --val CASE (one or more)");

  g_autoptr (NsDb) q = ns_db_open (opt_db, &error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (NsRegistryModel) m = ns_registry_dup_model (q, version, &error);
  if (m == NULL || !ns_registry_verify_model_file (q, m, &error))
    return ns_cmd_print_error (error);
  g_autoptr (NsBackend) be = ns_backend_new (device != NULL ? device : "auto", &error);
  if (be == NULL)
    return ns_cmd_print_error (error);
  printf ("validating model version %d (%s) on %u case%s\n", version,
          ns_cmd_printable (m->path), g_strv_length (cases), g_strv_length (cases) == 1 ? "" : "s");
  fflush (stdout);
  g_autoptr (GPtrArray) figures = ns_validate_model_file (m->path, be,
                                                          (const char *const *) cases, NULL,
                                                          validate_progress_cb, NULL, &error);
  if (figures == NULL)
    return ns_cmd_print_error (error);
  for (guint i = 0; i < figures->len; i++)
    {
      NsRegistryValidation *v = figures->pdata[i];
      v->model_version = version;
      if (ns_registry_add_validation (q, v, &error) == 0)
        return ns_cmd_print_error (error);
    }
  printf ("recorded %u validation figure%s of model version %d\n", figures->len,
          figures->len == 1 ? "" : "s", version);
  return 0;
}

/* ---- promote / rollback ----------------------------------------------------------- */

/* The candidate's validation figures next to the current default's, case by case. */
static void
print_comparison (const NsRegistryComparison *c)
{
  g_autofree char *hn = g_strdup_printf ("candidate v%d", c->candidate);
  g_autofree char *hc = c->current != NS_REGISTRY_NONE
    ? g_strdup_printf ("current default v%d", c->current) : g_strdup ("no current default");

  printf ("validation (Dice WT TC ET)  %-26s %s\n", hn, hc);
  for (guint i = 0; i < c->rows->len; i++)
    {
      const NsRegistryComparisonRow *row = c->rows->pdata[i];
      const NsRegistryValidation *a = row->candidate, *b = row->current;
      g_autofree char *left = g_strdup_printf ("%.4f %.4f %.4f%s", a->dice[0], a->dice[1],
                                               a->dice[2], a->predicted[0] == 0
                                                           && a->truth[0] > 0 ? " EMPTY" : "");
      g_autofree char *right = b != NULL ? g_strdup_printf ("%.4f %.4f %.4f", b->dice[0],
                                                            b->dice[1], b->dice[2])
                                         : g_strdup ("(not validated on it)");
      printf ("  %-25.25s  %-26s %s\n", ns_cmd_printable (a->case_id), left, right);
    }
  if (c->rows->len > 0)
    {
      g_autofree char *sa = ns_cmd_dup_number_text (c->candidate_score, "%.4f");
      g_autofree char *sb = ns_cmd_dup_number_text (c->current_score, "%.4f");
      g_autofree char *d = isfinite (c->candidate_score) && isfinite (c->current_score)
        ? g_strdup_printf ("  (change %+.4f)", c->candidate_score - c->current_score)
        : g_strdup ("");
      printf ("  %-25s  %-26s %s%s\n", c->n_common > 0 ? "score, common cases" : "score",
              sa, sb, d);
    }
  printf ("%s: %s\n", c->gate == NS_REGISTRY_GATE_PASS ? "gate passed" : "gate refused",
          ns_cmd_printable (c->reason));
}

static gboolean
confirm (const char *question)
{
  char line[64];
  printf ("%s [y/N] ", question);
  fflush (stdout);
  if (fgets (line, sizeof line, stdin) == NULL)
    return FALSE;
  g_strstrip (line);
  return g_ascii_strcasecmp (line, "y") == 0 || g_ascii_strcasecmp (line, "yes") == 0;
}

static int
cmd_promote (int argc, char **argv)
{
  gboolean yes = FALSE, force = FALSE;
  g_autofree char *who = NULL;
  const GOptionEntry entries[] = {
    { "yes", 'y', 0, G_OPTION_ARG_NONE, &yes, "Do not ask (needed without a terminal)", NULL },
    { "force", 0, 0, G_OPTION_ARG_NONE, &force, "Promote anyway when the gate refuses (no "
      "validation figures, an empty mask, a lower score, nothing to compare with)", NULL },
    { "who", 0, 0, G_OPTION_ARG_STRING, &who, "Who (default: the user name)", "NAME" },
    { NULL }
  };
  int status, version;
  g_autoptr (GError) error = NULL;

  if (!parse ("models promote", "N", "Makes model version N the default, after comparing its "
              "validation figures with the current default's on the same cases.", entries,
              &argc, &argv, &status))
    return status;
  if (argc != 2 || !parse_version (argv[1], &version))
    return ns_cmd_usage_error ("models promote", "give one version number N");
  g_autoptr (NsDb) q = ns_db_open (opt_db, &error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (NsRegistryModel) m = ns_registry_dup_model (q, version, &error);
  if (m == NULL)
    return ns_cmd_print_error (error);
  /* A failed or changed file is never promoted, forced or not; nor is an interactive
   * correction model (the default is what Run Model and segment run). */
  if (!ns_registry_verify_model_file (q, m, &error))
    return ns_cmd_print_error (error);
  if (!ns_checkpoint_check_kind (m->path, FALSE, &error))
    {
      fprintf (stderr, "neuroseg models promote: model version %d cannot be the default: %s\n",
               version, ns_cmd_printable (error->message));
      return 1;
    }
  if (m->is_default)
    {
      printf ("model version %d is already the default\n", version);
      return 0;
    }
  g_autoptr (NsRegistryComparison) c = ns_registry_compare (q, version, &error);
  if (c == NULL)
    return ns_cmd_print_error (error);
  print_comparison (c);
  if (c->gate != NS_REGISTRY_GATE_PASS && version != NS_REGISTRY_SHIPPED && !force)
    {
      fprintf (stderr, "neuroseg models promote: not promoted: %s; to promote anyway, run "
               "it again with --force\n", ns_cmd_printable (c->reason));
      return 1;
    }
  if (!yes)
    {
      if (!isatty (STDIN_FILENO) || !isatty (STDOUT_FILENO))
        {
          fprintf (stderr, "neuroseg models promote: not confirmed (no terminal to ask on): "
                           "run with --yes\n");
          return 1;
        }
      g_autofree char *question = g_strdup_printf ("Make model version %d the default%s?",
                                                   version, c->gate != NS_REGISTRY_GATE_PASS
                                                              ? " anyway" : "");
      if (!confirm (question))
        {
          printf ("not promoted\n");
          return 1;
        }
    }
  if (!ns_registry_promote (q, version, force, who, &error))
    return ns_cmd_print_error (error);
  printf ("model version %d is now the default%s\n", version,
          c->gate != NS_REGISTRY_GATE_PASS && version != NS_REGISTRY_SHIPPED
            ? " (promoted anyway)" : "");
  return 0;
}

static int
cmd_rollback (int argc, char **argv)
{
  g_autofree char *who = NULL;
  const GOptionEntry entries[] = {
    { "who", 0, 0, G_OPTION_ARG_STRING, &who, "Who (default: the user name)", "NAME" },
    { NULL }
  };
  int status, version = NS_REGISTRY_PREVIOUS;
  g_autoptr (GError) error = NULL;

  if (!parse ("models rollback", "[N]", "Returns to an earlier default: version N (0: the "
              "shipped model), or the default before the current one (the shipped model when "
              "there was none).", entries, &argc, &argv, &status))
    return status;
  if (argc > 2 || (argc == 2 && !parse_version (argv[1], &version)))
    return ns_cmd_usage_error ("models rollback", "give at most one version number N");
  g_autoptr (NsDb) q = ns_db_open (opt_db, &error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (NsRegistryModel) current = ns_registry_dup_default (q, &error);
  if (error != NULL)
    return ns_cmd_print_error (error);
  int now = 0;
  if (!ns_registry_rollback (q, version, who, &now, &error))
    return ns_cmd_print_error (error);
  g_autofree char *was = current != NULL ? g_strdup_printf ("%d", current->version)
                                         : g_strdup ("none");
  printf ("model version %d%s is now the default (was %s)\n", now,
          now == NS_REGISTRY_SHIPPED ? ", the shipped model," : "", was);
  return 0;
}

/* ---- runs ----------------------------------------------------------------------------- */

static int
cmd_runs (int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON array", NULL },
    { NULL }
  };
  int status;
  g_autoptr (GError) error = NULL;

  if (!parse ("models runs", "", "Training runs: status, command, log and resulting model "
              "(runs whose process died are marked failed).", entries, &argc, &argv, &status))
    return status;
  if (argc != 1)
    return ns_cmd_usage_error ("models runs", "takes no arguments");
  g_autoptr (NsDb) q = ns_db_open_readonly (opt_db, &error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (GPtrArray) runs = ns_runs_list (q, &error);
  if (runs == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  for (guint i = 0; i < runs->len; i++)
    {
      NsRun *r = g_ptr_array_index (runs, i);
      if (!json)
        {
          g_autofree char *model = r->model_version > 0 ? g_strdup_printf ("v%d", r->model_version)
                                                        : g_strdup ("-");
          printf ("%4" G_GINT64_FORMAT "  %-10s %-27s %-6s %s%s%s\n", r->id,
                  ns_runs_status_name (r->status), ns_cmd_printable (r->started), model,
                  ns_cmd_printable (r->command != NULL ? r->command : ""),
                  r->error != NULL ? "  # " : "",
                  ns_cmd_printable (r->error != NULL ? r->error : ""));
          continue;
        }
      json_builder_begin_object (b);
      ns_json_add_int (b, "id", r->id);
      ns_json_add_string (b, "status", ns_runs_status_name (r->status));
      const char *keys[] = { "started", "finished", "command", "log", "host", "error" };
      const char *vals[] = { r->started, r->finished, r->command, r->log_path, r->host,
                             r->error };
      for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
        ns_json_add_string (b, keys[k], vals[k]);
      ns_json_add_int (b, "pid", r->pid);
      ns_json_add_int_or_null (b, "model_version", r->model_version, r->model_version > 0);
      json_builder_set_member_name (b, "cases");
      json_builder_begin_array (b);
      for (guint c = 0; c < r->cases->len; c++)
        json_builder_add_int_value (b, g_array_index (r->cases, gint64, c));
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  if (json)
    {
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      print_json (root);
    }
  return 0;
}

/* ---- dispatch ----------------------------------------------------------------------- */

static const NsCmd subs[] = {
  { "list", "Model versions with validation WT/TC/ET Dice; * marks the default, v0 is the "
    "shipped model", cmd_list },
  { "show", "Everything about version N (metrics, provenance, validation figures)", cmd_show },
  { "register", "Record a checkpoint as a new version: FILE [--parent N] [--run R]",
    cmd_register },
  { "validate", "Record version N's figures on cases with truth: N --val CASE...",
    cmd_validate },
  { "promote", "Make version N the default, gated by its validation figures (--force)",
    cmd_promote },
  { "rollback", "Return to an earlier default (N, 0 = shipped, or the previous one)",
    cmd_rollback },
  { "runs", "Training runs and their outcome", cmd_runs },
};

int
ns_cmd_models (int argc, char **argv)
{
  int status = ns_cmd_dispatch ("models", "The model registry"
                                " (database: --db FILE, else $NEUROSEG_DATA_DIR/neuroseg.db,\n"
                                "else the user data folder).",
                                subs, G_N_ELEMENTS (subs), argc, argv);
  g_clear_pointer (&opt_db, g_free);
  return status;
}
