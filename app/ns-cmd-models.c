/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-models.c: `neuroseg models list|show|register|promote|rollback|runs`, the model
 * registry of data/ns-queue.h from the command line.
 *
 * register loads the whole checkpoint (header, metadata, every tensor against its
 * architecture) on the reference backend before recording it; a file that does not load
 * is recorded as a failed version with the reason, reported, and never becomes the
 * default.  promote shows the candidate's validation Dice next to the current default's
 * (from their metadata, with a warning when the validation cases differ) and asks on a
 * terminal; without a terminal it needs --yes.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-checkpoint.h"
#include "ns-cmd.h"
#include "ns-queue.h"

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
  guint n = 0;
  while (entries[n].long_name != NULL)
    n++;
  g_autofree GOptionEntry *all = g_new0 (GOptionEntry, n + 2);
  memcpy (all, entries, n * sizeof *all);
  all[n] = (GOptionEntry) { "db", 0, 0, G_OPTION_ARG_FILENAME, &opt_db,
                            "The database (default: $NEUROSEG_DATA_DIR/neuroseg.db or the user "
                            "data folder)", "FILE" };
  return ns_cmd_parse (cmd, params, summary, all, argc, argv, status);
}

static int
usage_error (const char *cmd, const char *message)
{
  fprintf (stderr, "neuroseg %s: %s (neuroseg %s --help)\n", cmd, message, cmd);
  return 2;
}

static gboolean
parse_version (const char *text, int *version)
{
  char *end = NULL;
  if (text[0] == 'v' || text[0] == 'V')
    text++;
  gint64 v = g_ascii_strtoll (text, &end, 10);
  if (end == text || *end != '\0' || v < 1 || v > G_MAXINT)
    return FALSE;
  *version = (int) v;
  return TRUE;
}

static void
print_json (JsonNode *root)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}

static JsonObject *
metrics_object (const NsQueueModel *m)
{
  JsonNode *node = m->metrics != NULL ? json_from_string (m->metrics, NULL) : NULL;
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      if (node != NULL)
        json_node_unref (node);
      return json_object_new ();
    }
  JsonObject *o = json_object_ref (json_node_get_object (node));
  json_node_unref (node);
  return o;
}

static void
add_number_or_null (JsonBuilder *b, const char *member, double value)
{
  json_builder_set_member_name (b, member);
  if (isfinite (value))
    json_builder_add_double_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
model_to_json (JsonBuilder *b, const NsQueueModel *m)
{
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, m->version);
  json_builder_set_member_name (b, "default");
  json_builder_add_boolean_value (b, m->is_default);
  json_builder_set_member_name (b, "status");
  json_builder_add_string_value (b, ns_queue_model_status_name (m->status));
  json_builder_set_member_name (b, "error");
  if (m->error != NULL)
    json_builder_add_string_value (b, m->error);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "path");
  json_builder_add_string_value (b, m->path);
  json_builder_set_member_name (b, "sha256");
  json_builder_add_string_value (b, m->sha256);
  json_builder_set_member_name (b, "arch");
  if (m->arch != NULL)
    json_builder_add_string_value (b, m->arch);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "parent");
  if (m->parent > 0)
    json_builder_add_int_value (b, m->parent);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "run");
  if (m->run_id > 0)
    json_builder_add_int_value (b, m->run_id);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "created");
  json_builder_add_string_value (b, m->created);
  add_number_or_null (b, "dice_wt", m->dice[0]);
  add_number_or_null (b, "dice_tc", m->dice[1]);
  add_number_or_null (b, "dice_et", m->dice[2]);
  json_builder_set_member_name (b, "metrics");
  JsonNode *metrics = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (metrics, metrics_object (m));
  json_builder_add_value (b, metrics);
  json_builder_end_object (b);
}

static char *
dice_text (double v)
{
  return isfinite (v) ? g_strdup_printf ("%.4f", v) : g_strdup ("-");
}

/* ---- list / show -------------------------------------------------------------------- */

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
              "default.", entries, &argc, &argv, &status))
    return status;
  if (argc != 1)
    return usage_error ("models list", "takes no arguments");
  g_autoptr (NsQueue) q = ns_queue_open (opt_db, &error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (GPtrArray) models = ns_queue_list_models (q, &error);
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
      printf ("no models registered (%s)\n", ns_queue_get_path (q));
      return 0;
    }
  printf ("   %-5s %-10s %-17s %7s %7s %7s %6s  %-27s %s\n", "VER", "STATUS", "ARCH", "WT",
          "TC", "ET", "PARENT", "CREATED", "FILE");
  for (guint i = 0; i < models->len; i++)
    {
      NsQueueModel *m = g_ptr_array_index (models, i);
      g_autofree char *wt = dice_text (m->dice[0]);
      g_autofree char *tc = dice_text (m->dice[1]);
      g_autofree char *et = dice_text (m->dice[2]);
      g_autofree char *parent = m->parent > 0 ? g_strdup_printf ("v%d", m->parent)
                                              : g_strdup ("-");
      printf (" %s v%-4d %-10s %-17s %7s %7s %7s %6s  %-27s %s\n", m->is_default ? "*" : " ",
              m->version, ns_queue_model_status_name (m->status),
              m->arch != NULL ? m->arch : "-", wt, tc, et, parent, m->created, m->path);
    }
  return 0;
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

  if (!parse ("models show", "N", "Everything the registry knows about model version N.",
              entries, &argc, &argv, &status))
    return status;
  if (argc != 2 || !parse_version (argv[1], &version))
    return usage_error ("models show", "give one version number N");
  g_autoptr (NsQueue) q = ns_queue_open (opt_db, &error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (NsQueueModel) m = ns_queue_get_model (q, version, &error);
  if (m == NULL)
    return ns_cmd_print_error (error);
  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      model_to_json (b, m);
      g_autoptr (JsonNode) root = json_builder_get_root (b);
      print_json (root);
      return 0;
    }
  g_autofree char *wt = dice_text (m->dice[0]);
  g_autofree char *tc = dice_text (m->dice[1]);
  g_autofree char *et = dice_text (m->dice[2]);
  printf ("version      %d%s\n", m->version, m->is_default ? " (default)" : "");
  printf ("status       %s%s%s\n", ns_queue_model_status_name (m->status),
          m->error != NULL ? ": " : "", m->error != NULL ? m->error : "");
  printf ("file         %s\n", m->path);
  printf ("sha256       %s\n", m->sha256);
  printf ("arch         %s\n", m->arch != NULL ? m->arch : "-");
  if (m->parent > 0)
    printf ("parent       v%d\n", m->parent);
  else
    printf ("parent       -\n");
  if (m->run_id > 0)
    printf ("run          %" G_GINT64_FORMAT "\n", m->run_id);
  printf ("registered   %s\n", m->created);
  printf ("validation   WT %s  TC %s  ET %s\n", wt, tc, et);
  g_autoptr (JsonObject) o = metrics_object (m);
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, o);
  g_autofree char *text = json_to_string (node, TRUE);
  printf ("metrics      %s\n", text);
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
  g_autoptr (JsonObject) o = NULL;
  if (meta->metrics != NULL)
    {
      g_autoptr (JsonNode) n = json_from_string (meta->metrics, NULL);
      if (n != NULL && JSON_NODE_HOLDS_OBJECT (n))
        o = json_object_ref (json_node_get_object (n));
    }
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
  int parent = 0;
  gint64 run = 0;
  const GOptionEntry entries[] = {
    { "parent", 0, 0, G_OPTION_ARG_INT, &parent,
      "The version it was fine-tuned from (default: the registered version of the "
      "checkpoint's parent file, if any)", "N" },
    { "run", 0, 0, G_OPTION_ARG_INT64, &run,
      "The training run that produced it (ends the run, marks its queued cases used)", "R" },
    { NULL }
  };
  int status;
  g_autoptr (GError) error = NULL;

  if (!parse ("models register", "FILE", "Records a checkpoint as a new model version, after "
              "checking that it loads; a file that does not load is recorded as failed and "
              "never used.", entries, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return usage_error ("models register", "give one FILE");
  if (parent < 0 || run < 0)
    return usage_error ("models register", "--parent and --run take positive numbers");
  const char *path = argv[1];
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      fprintf (stderr, "neuroseg: %s: no such file\n", path);
      return 1;
    }

  g_autoptr (NsQueue) q = ns_queue_open (opt_db, &error);
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
      if (parent == 0 && meta->parent != NULL && g_file_test (meta->parent, G_FILE_TEST_EXISTS))
        {
          parent = ns_queue_find_model_by_path (q, meta->parent, &error);
          if (error != NULL)
            return ns_cmd_print_error (error);
        }
    }
  NsQueueModelInfo info = {
    path, meta != NULL ? meta->arch : NULL, parent, metrics, run,
    load_error != NULL ? load_error->message : NULL
  };
  int version = ns_queue_register_model (q, &info, &error);
  if (version == 0)
    return ns_cmd_print_error (error);
  if (load_error != NULL)
    {
      fprintf (stderr, "neuroseg: %s (recorded as failed version %d, never used)\n",
               load_error->message, version);
      return 1;
    }
  g_autoptr (NsQueueModel) m = ns_queue_get_model (q, version, &error);
  if (m == NULL)
    return ns_cmd_print_error (error);
  g_autofree char *wt = dice_text (m->dice[0]);
  g_autofree char *tc = dice_text (m->dice[1]);
  g_autofree char *et = dice_text (m->dice[2]);
  printf ("registered model version %d (%s; validation WT %s TC %s ET %s)\n", version,
          m->arch, wt, tc, et);
  return 0;
}

/* ---- promote / rollback ----------------------------------------------------------- */

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

static char **
val_cases (JsonObject *o)
{
  JsonArray *a = json_object_has_member (o, "val_cases")
    && JSON_NODE_HOLDS_ARRAY (json_object_get_member (o, "val_cases"))
    ? json_object_get_array_member (o, "val_cases") : NULL;
  if (a == NULL)
    return NULL;
  g_autoptr (GPtrArray) v = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      const char *s = json_node_get_string (json_array_get_element (a, i));
      if (s != NULL)
        g_ptr_array_add (v, g_strdup (s));
    }
  g_ptr_array_sort (v, compare_strings);
  g_ptr_array_add (v, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&v), FALSE);
}

static gboolean
same_cases (char **a, char **b)
{
  if (a == NULL || b == NULL)
    return FALSE;
  return g_strv_equal ((const char *const *) a, (const char *const *) b);
}

static const char *
metric_string (JsonObject *o, const char *key, char buf[64])
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL || JSON_NODE_TYPE (n) != JSON_NODE_VALUE)
    return "-";
  GType t = json_node_get_value_type (n);
  if (t == G_TYPE_STRING)
    return json_node_get_string (n);
  if (t == G_TYPE_DOUBLE || t == G_TYPE_INT64)
    {
      g_snprintf (buf, 64, "%.6g", json_node_get_double (n));
      return buf;
    }
  return "-";
}

/* The two metric sets side by side, from the checkpoints' metadata. */
static void
print_comparison (const NsQueueModel *current, const NsQueueModel *candidate)
{
  static const char *const names[3] = { "WT Dice", "TC Dice", "ET Dice" };
  g_autoptr (JsonObject) mc = current != NULL ? metrics_object (current) : NULL;
  g_autoptr (JsonObject) mn = metrics_object (candidate);
  g_autofree char *hc = current != NULL ? g_strdup_printf ("current v%d", current->version)
                                        : g_strdup ("current");
  g_autofree char *hn = g_strdup_printf ("candidate v%d", candidate->version);

  printf ("%-20s %14s %14s %10s\n", "", hc, hn, "change");
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *a = current != NULL ? dice_text (current->dice[i]) : g_strdup ("(none)");
      g_autofree char *b = dice_text (candidate->dice[i]);
      g_autofree char *d = current != NULL && isfinite (current->dice[i])
                           && isfinite (candidate->dice[i])
        ? g_strdup_printf ("%+.4f", candidate->dice[i] - current->dice[i]) : g_strdup ("");
      printf ("%-20s %14s %14s %10s\n", names[i], a, b, d);
    }
  static const char *const other[] = { "cases_used", "epochs", "seconds", "device" };
  for (guint i = 0; i < G_N_ELEMENTS (other); i++)
    {
      char b1[64], b2[64];
      printf ("%-20s %14s %14s\n", other[i], mc != NULL ? metric_string (mc, other[i], b1) : "",
              metric_string (mn, other[i], b2));
    }
  g_auto (GStrv) vc = mc != NULL ? val_cases (mc) : NULL;
  g_auto (GStrv) vn = val_cases (mn);
  printf ("%-20s %14u %14u\n", "validation cases", vc != NULL ? g_strv_length (vc) : 0,
          vn != NULL ? g_strv_length (vn) : 0);
  if (current == NULL)
    printf ("there is no default model yet\n");
  else if (same_cases (vc, vn))
    printf ("both were validated on the same cases\n");
  else
    printf ("WARNING: the validation cases differ (or are not recorded): the Dice values are "
            "not measured on the same cases\n");
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
  gboolean yes = FALSE;
  g_autofree char *who = NULL;
  const GOptionEntry entries[] = {
    { "yes", 'y', 0, G_OPTION_ARG_NONE, &yes, "Do not ask (needed without a terminal)", NULL },
    { "who", 0, 0, G_OPTION_ARG_STRING, &who, "Who (default: the user name)", "NAME" },
    { NULL }
  };
  int status, version;
  g_autoptr (GError) error = NULL;

  if (!parse ("models promote", "N", "Makes model version N the default, after showing its "
              "validation Dice next to the current default's.", entries, &argc, &argv,
              &status))
    return status;
  if (argc != 2 || !parse_version (argv[1], &version))
    return usage_error ("models promote", "give one version number N");
  g_autoptr (NsQueue) q = ns_queue_open (opt_db, &error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (NsQueueModel) m = ns_queue_get_model (q, version, &error);
  if (m == NULL)
    return ns_cmd_print_error (error);
  /* A failed or changed file is never promoted. */
  if (!ns_queue_verify_model_file (q, m, &error))
    return ns_cmd_print_error (error);
  g_autoptr (NsQueueModel) current = ns_queue_get_default_model (q, &error);
  if (error != NULL)
    return ns_cmd_print_error (error);
  if (current != NULL && current->version == version)
    {
      printf ("model version %d is already the default\n", version);
      return 0;
    }
  print_comparison (current, m);
  if (!yes)
    {
      if (!isatty (STDIN_FILENO) || !isatty (STDOUT_FILENO))
        {
          fprintf (stderr, "neuroseg models promote: not confirmed (no terminal to ask on): "
                           "run with --yes\n");
          return 1;
        }
      g_autofree char *question = g_strdup_printf ("Make model version %d the default?",
                                                   version);
      if (!confirm (question))
        {
          printf ("not promoted\n");
          return 1;
        }
    }
  if (!ns_queue_promote (q, version, who, &error))
    return ns_cmd_print_error (error);
  printf ("model version %d is now the default\n", version);
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
  int status, version = 0;
  g_autoptr (GError) error = NULL;

  if (!parse ("models rollback", "[N]", "Returns to an earlier default: version N, or the "
              "default before the current one.", entries, &argc, &argv, &status))
    return status;
  if (argc > 2 || (argc == 2 && !parse_version (argv[1], &version)))
    return usage_error ("models rollback", "give at most one version number N");
  g_autoptr (NsQueue) q = ns_queue_open (opt_db, &error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (NsQueueModel) current = ns_queue_get_default_model (q, &error);
  if (error != NULL)
    return ns_cmd_print_error (error);
  if (version > 0)
    {
      g_autoptr (NsQueueModel) target = ns_queue_get_model (q, version, &error);
      if (target == NULL || !ns_queue_verify_model_file (q, target, &error))
        return ns_cmd_print_error (error);
    }
  int now = 0;
  if (!ns_queue_rollback (q, version, who, &now, &error))
    return ns_cmd_print_error (error);
  printf ("model version %d is now the default (was %d)\n", now,
          current != NULL ? current->version : 0);
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
    return usage_error ("models runs", "takes no arguments");
  g_autoptr (NsQueue) q = ns_queue_open (opt_db, &error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (GPtrArray) runs = ns_queue_list_runs (q, &error);
  if (runs == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  for (guint i = 0; i < runs->len; i++)
    {
      NsQueueRun *r = g_ptr_array_index (runs, i);
      if (!json)
        {
          g_autofree char *model = r->model_version > 0 ? g_strdup_printf ("v%d", r->model_version)
                                                        : g_strdup ("-");
          printf ("%4" G_GINT64_FORMAT "  %-10s %-27s %-6s %s%s%s\n", r->id,
                  ns_queue_run_status_name (r->status), r->started, model,
                  r->command != NULL ? r->command : "", r->error != NULL ? "  # " : "",
                  r->error != NULL ? r->error : "");
          continue;
        }
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_int_value (b, r->id);
      json_builder_set_member_name (b, "status");
      json_builder_add_string_value (b, ns_queue_run_status_name (r->status));
      const char *keys[] = { "started", "finished", "command", "log", "host", "error" };
      const char *vals[] = { r->started, r->finished, r->command, r->log_path, r->host,
                             r->error };
      for (guint k = 0; k < G_N_ELEMENTS (keys); k++)
        {
          json_builder_set_member_name (b, keys[k]);
          if (vals[k] != NULL)
            json_builder_add_string_value (b, vals[k]);
          else
            json_builder_add_null_value (b);
        }
      json_builder_set_member_name (b, "pid");
      json_builder_add_int_value (b, r->pid);
      json_builder_set_member_name (b, "model_version");
      if (r->model_version > 0)
        json_builder_add_int_value (b, r->model_version);
      else
        json_builder_add_null_value (b);
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
  { "list", "Model versions with validation WT/TC/ET Dice; * marks the default", cmd_list },
  { "show", "Everything about version N (metrics, provenance)", cmd_show },
  { "register", "Record a checkpoint as a new version: FILE [--parent N] [--run R]",
    cmd_register },
  { "promote", "Make version N the default, after comparing it with the current one",
    cmd_promote },
  { "rollback", "Return to an earlier default (N, or the previous one)", cmd_rollback },
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
