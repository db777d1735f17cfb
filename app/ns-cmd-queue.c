/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-queue.c: `neuroseg queue list|add|remove|exclude|requeue|history|export`, the
 * fine-tuning queue of data/ns-queue.h (and its export, data/ns-export.h) from the command
 * line, and what a team adds (claim|renew|release|take-over|claims|review|mask|setup-team|
 * migrate, below), on the same database the GUI and the trainer use
 * ($NEUROSEG_DATA_DIR/neuroseg.db, else the user's data folder; --db picks another file).  list, history and export only
 * read it: they open the database read-only, so that a read-only data folder (or none)
 * does not stop them.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-cmd.h"
#include "ns-export.h"
#include "ns-json.h"
#include "ns-queue.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>


static char *opt_db;

static gboolean
parse_numbers (const char *cmd, const char *params, const char *summary,
               const GOptionEntry *entries, const NsCmdNumber *numbers, int *argc,
               char ***argv, int *status)
{
  return ns_cmd_parse_with_db (cmd, params, summary, entries, numbers, &opt_db, argc, argv,
                               status);
}

static gboolean
parse (const char *cmd, const char *params, const char *summary, const GOptionEntry *entries,
       int *argc, char ***argv, int *status)
{
  return parse_numbers (cmd, params, summary, entries, NULL, argc, argv, status);
}

static NsDb *
open_queue (GError **error)
{
  return ns_db_open (opt_db, error);
}

static NsDb *
open_queue_readonly (GError **error)
{
  return ns_db_open_readonly (opt_db, error);
}

static void
print_json (JsonBuilder *b)
{
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  ns_cmd_print_json (root, TRUE);
}

/* ---- add ---------------------------------------------------------------------------- */

static int
cmd_add (int argc, char **argv)
{
  g_autofree char *mask = NULL, *prediction = NULL, *who = NULL, *claim = NULL;
  int model_version = 0;
  double uncertainty = NAN;
  const GOptionEntry entries[] = {
    { "mask", 'm', 0, G_OPTION_ARG_FILENAME, &mask, "The corrected mask (required)", "M" },
    { "prediction", 'p', 0, G_OPTION_ARG_FILENAME, &prediction,
      "The model's prediction: effort (WT Dice) and edited voxels are computed", "P" },
    { "who", 0, 0, G_OPTION_ARG_STRING, &who, "Who corrected it (default: the user name)",
      "NAME" },
    { "claim", 0, 0, G_OPTION_ARG_STRING, &claim,
      "The token of one's claim on the case (queue claim prints it)", "TOKEN" },
    { NULL }
  };
  const NsCmdNumber numbers[] = {
    { "model-version", 0, NS_CMD_INT, &model_version, 1, G_MAXINT, FALSE, NULL,
      "The registered model version that made the prediction", "N" },
    { "uncertainty", 0, NS_CMD_DOUBLE, &uncertainty, -INFINITY, INFINITY, FALSE, NULL,
      "The prediction's uncertainty score (for sorting)", "X" },
    { NULL }
  };
  int status;
  g_autoptr (GError) error = NULL;

  if (!parse_numbers ("queue add", "CASE", "Adds a corrected case to the fine-tuning queue (a "
                      "case already there gets the new annotation and is queued again).",
                      entries, numbers, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return ns_cmd_usage_error ("queue add", "give one CASE (folder or 4-modality file)");
  if (mask == NULL)
    return ns_cmd_usage_error ("queue add", "--mask is required");

  g_autoptr (NsDb) q = open_queue (&error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  NsQueueAnnotation a = { mask, prediction, model_version, who, uncertainty, claim };
  gint64 id = ns_queue_add (q, argv[1], &a, &error);
  if (id == 0)
    return ns_cmd_print_error (error);
  g_autofree char *ref = g_strdup_printf ("%" G_GINT64_FORMAT, id);
  g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, ref, &error);
  if (e == NULL)
    return ns_cmd_print_error (error);
  printf ("queued %s (id %" G_GINT64_FORMAT ", annotation %d)", ns_cmd_printable (e->case_id),
          e->id, e->n_annotations);
  if (isfinite (e->effort))
    printf (": WT Dice of the prediction %.4f, %" G_GINT64_FORMAT " voxels edited", e->effort,
            e->edited_voxels);
  printf ("\n");
  return 0;
}

/* ---- list --------------------------------------------------------------------------- */

static void
entry_to_json (JsonBuilder *b, const NsQueueEntry *e)
{
  json_builder_begin_object (b);
  ns_json_add_int (b, "id", e->id);
  ns_json_add_string (b, "case_id", e->case_id);
  ns_json_add_string (b, "path", e->path);
  ns_json_add_string (b, "state", ns_queue_state_name (e->state));
  ns_json_add_int_or_null (b, "used_by", e->used_by, e->used_by > 0);
  ns_json_add_string (b, "added", e->added);
  ns_json_add_string (b, "mask", e->mask_path);
  ns_json_add_string (b, "prediction", e->prediction_path);
  ns_json_add_string (b, "who", e->who);
  ns_json_add_string (b, "annotated", e->annotated);
  ns_json_add_int_or_null (b, "model_version", e->model_version, e->model_version > 0);
  ns_json_add_number (b, "effort", e->effort);
  ns_json_add_int_or_null (b, "edited_voxels", e->edited_voxels, e->edited_voxels >= 0);
  ns_json_add_number (b, "uncertainty", e->uncertainty);
  ns_json_add_int (b, "annotations", e->n_annotations);
  ns_json_add_string (b, "mask_sha256", e->mask_sha256);
  ns_json_add_string (b, "claimed_by", e->claimed_by);
  ns_json_add_string (b, "claim_host", e->claim_host);
  ns_json_add_string (b, "claimed_since", e->claimed_since);
  ns_json_add_string (b, "claim_expires", e->claim_expires);
  ns_json_add_string (b, "review", ns_queue_review_name (e->review));
  ns_json_add_string (b, "reviewer", e->reviewer);
  ns_json_add_string (b, "review_note", e->review_note);
  ns_json_add_string (b, "reviewed", e->reviewed);
  json_builder_set_member_name (b, "modalities");
  g_autoptr (JsonNode) mods = json_from_string (e->modalities, NULL);
  if (mods != NULL)
    json_builder_add_value (b, g_steal_pointer (&mods));
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
}

static int
cmd_list (int argc, char **argv)
{
  gboolean json = FALSE;
  g_autofree char *sort = NULL, *state = NULL;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON array", NULL },
    { "sort", 0, 0, G_OPTION_ARG_STRING, &sort,
      "added (default), uncertainty (most uncertain first: the next case to correct) or "
      "effort (lowest Dice of the prediction first)", "KEY" },
    { "state", 0, 0, G_OPTION_ARG_STRING, &state, "Only queued, used or excluded cases",
      "STATE" },
    { NULL }
  };
  int status;
  g_autoptr (GError) error = NULL;

  if (!parse ("queue list", "", "Lists the cases of the fine-tuning queue with their state, "
              "effort (WT Dice between the model's prediction and the correction), edited "
              "voxels and uncertainty.", entries, &argc, &argv, &status))
    return status;
  if (argc != 1)
    return ns_cmd_usage_error ("queue list", "takes no arguments");
  NsQueueSort s = NS_QUEUE_SORT_ADDED;
  if (sort == NULL || g_strcmp0 (sort, "added") == 0)
    s = NS_QUEUE_SORT_ADDED;
  else if (g_strcmp0 (sort, "uncertainty") == 0)
    s = NS_QUEUE_SORT_UNCERTAINTY;
  else if (g_strcmp0 (sort, "effort") == 0)
    s = NS_QUEUE_SORT_EFFORT;
  else
    return ns_cmd_usage_error ("queue list", "--sort takes added, uncertainty or effort");
  NsQueueState st = NS_QUEUE_STATE_QUEUED;
  if (state != NULL && !ns_queue_state_from_name (state, &st))
    return ns_cmd_usage_error ("queue list", "--state takes queued, used or excluded");

  g_autoptr (NsDb) q = open_queue_readonly (&error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (GPtrArray) list = ns_queue_list (q, s, state != NULL ? (int) st : -1, &error);
  if (list == NULL)
    return ns_cmd_print_error (error);

  if (json)
    {
      g_autoptr (JsonBuilder) b = json_builder_new ();
      json_builder_begin_array (b);
      for (guint i = 0; i < list->len; i++)
        entry_to_json (b, g_ptr_array_index (list, i));
      json_builder_end_array (b);
      print_json (b);
      return 0;
    }
  if (list->len == 0)
    {
      printf ("the queue is empty (%s)\n", ns_cmd_printable (ns_db_get_path (q)));
      return 0;
    }
  printf ("%5s  %-28s %-10s %7s %8s %8s  %-12s %s\n", "ID", "CASE", "STATE", "EFFORT",
          "EDITED", "UNCERT", "WHO", "ANNOTATED");
  for (guint i = 0; i < list->len; i++)
    {
      NsQueueEntry *e = g_ptr_array_index (list, i);
      g_autofree char *state_text = e->state == NS_QUEUE_STATE_USED
        ? g_strdup_printf ("used v%d", e->used_by) : g_strdup (ns_queue_state_name (e->state));
      g_autofree char *effort = ns_cmd_dup_number_text (e->effort, "%.4f");
      g_autofree char *edited = e->edited_voxels >= 0
        ? g_strdup_printf ("%" G_GINT64_FORMAT, e->edited_voxels) : g_strdup ("-");
      g_autofree char *unc = ns_cmd_dup_number_text (e->uncertainty, "%.4f");
      printf ("%5" G_GINT64_FORMAT "  %-28s %-10s %7s %8s %8s  %-12s %s", e->id,
              ns_cmd_printable (e->case_id), state_text, effort, edited, unc,
              ns_cmd_printable (e->who != NULL ? e->who : "-"),
              ns_cmd_printable (e->annotated != NULL ? e->annotated : "-"));
      /* What a team needs to see: who works on it, what the second reader said. */
      if (e->claimed_by != NULL)
        printf ("  claimed by %s until %s", ns_cmd_printable (e->claimed_by),
                e->claim_expires);
      if (e->review != NS_QUEUE_REVIEW_NONE)
        printf ("  %s by %s", ns_queue_review_name (e->review),
                ns_cmd_printable (e->reviewer));
      printf ("\n");
    }
  return 0;
}

/* ---- remove / exclude / requeue / history ------------------------------------------- */

static int
change_cases (const char *cmd, const char *summary, int argc, char **argv, int action)
{
  g_autofree char *note = NULL, *who = NULL;
  const GOptionEntry entries[] = {
    { "note", 0, 0, G_OPTION_ARG_STRING, &note, "Why (kept in the history)", "TEXT" },
    { "who", 0, 0, G_OPTION_ARG_STRING, &who, "Who (default: the user name)", "NAME" },
    { NULL }
  };
  int status;
  g_autoptr (GError) error = NULL;

  if (!parse (cmd, "CASE...", summary, action >= 0 ? entries : entries + 2, &argc, &argv,
              &status))
    return status;
  if (argc < 2)
    return ns_cmd_usage_error (cmd, "give at least one CASE (id, path or case id)");
  g_autoptr (NsDb) q = open_queue (&error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  for (int i = 1; i < argc; i++)
    {
      g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, argv[i], &error);
      if (e == NULL)
        return ns_cmd_print_error (error);
      gboolean ok = action < 0 ? ns_queue_remove (q, e->id, &error)
                               : ns_queue_set_state (q, e->id, action, 0, who, note, &error);
      if (!ok)
        return ns_cmd_print_error (error);
      printf ("%s %s (id %" G_GINT64_FORMAT ")\n",
              action < 0 ? "removed" : action == NS_QUEUE_STATE_EXCLUDED ? "excluded" : "queued",
              ns_cmd_printable (e->case_id), e->id);
    }
  return 0;
}

static int
cmd_remove (int argc, char **argv)
{
  return change_cases ("queue remove", "Forgets cases, their annotations and history (no file "
                       "is deleted).", argc, argv, -1);
}

static int
cmd_exclude (int argc, char **argv)
{
  return change_cases ("queue exclude", "Keeps cases out of fine-tuning.", argc, argv,
                       NS_QUEUE_STATE_EXCLUDED);
}

static int
cmd_requeue (int argc, char **argv)
{
  return change_cases ("queue requeue", "Queues excluded or used cases again.", argc, argv,
                       NS_QUEUE_STATE_QUEUED);
}

static int
cmd_history (int argc, char **argv)
{
  const GOptionEntry entries[] = { { NULL } };
  int status;
  g_autoptr (GError) error = NULL;

  if (!parse ("queue history", "CASE", "The states a case went through.", entries, &argc,
              &argv, &status))
    return status;
  if (argc != 2)
    return ns_cmd_usage_error ("queue history", "give one CASE");
  g_autoptr (NsDb) q = open_queue_readonly (&error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, argv[1], &error);
  if (e == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (GPtrArray) h = ns_queue_list_history (q, e->id, &error);
  if (h == NULL)
    return ns_cmd_print_error (error);
  for (guint i = 0; i < h->len; i++)
    {
      NsQueueHistoryItem *it = g_ptr_array_index (h, i);
      g_autofree char *state = it->state == NS_QUEUE_STATE_USED
        ? g_strdup_printf ("used v%d", it->model_version)
        : g_strdup (ns_queue_state_name (it->state));
      printf ("%-30s %-10s %-12s %s\n", ns_cmd_printable (it->at), state,
              ns_cmd_printable (it->who != NULL ? it->who : "-"),
              ns_cmd_printable (it->note != NULL ? it->note : ""));
    }
  return 0;
}

/* ---- export ------------------------------------------------------------------------- */

static int
cmd_export (int argc, char **argv)
{
  gboolean include_used = FALSE, copy = FALSE, accepted_only = FALSE;
  g_autofree char *modalities = NULL;
  const GOptionEntry entries[] = {
    { "include-used", 0, 0, G_OPTION_ARG_NONE, &include_used,
      "Also cases already used by a model", NULL },
    { "modalities", 0, 0, G_OPTION_ARG_STRING, &modalities,
      "Channels in order, e.g. flair,t1c (default: those every case has, in the order "
      "flair, t1, t1c, t2)", "LIST" },
    { "copy", 0, 0, G_OPTION_ARG_NONE, &copy, "Copy the images instead of hard-linking them",
      NULL },
    { "accepted-only", 0, 0, G_OPTION_ARG_NONE, &accepted_only,
      "Only cases whose latest correction a second reader accepted (queue review)", NULL },
    { NULL }
  };
  int status;
  g_autoptr (GError) error = NULL;

  if (!parse ("queue export", "DIR", "Writes the queued cases as an nnU-Net v2 / Medical "
              "Segmentation Decathlon dataset folder: imagesTr/<case>_0000.nii.gz ..., "
              "labelsTr/<case>.nii.gz (labels 0, 1 NCR/NET, 2 edema, 3 enhancing) and "
              "dataset.json.  DIR must not exist or be empty; sources are never modified.",
              entries, &argc, &argv, &status))
    return status;
  if (argc != 2)
    return ns_cmd_usage_error ("queue export", "give one DIR");
  g_auto (GStrv) mods = modalities != NULL ? g_strsplit (modalities, ",", -1) : NULL;
  NsExportOptions o = { include_used, mods, copy, accepted_only };
  g_autoptr (NsDb) q = open_queue_readonly (&error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  guint n = 0;
  if (!ns_export_nnunet (q, argv[1], &o, &n, &error))
    return ns_cmd_print_error (error);
  printf ("exported %u case%s to %s\n", n, n == 1 ? "" : "s", ns_cmd_printable (argv[1]));
  return 0;
}

/* ---- a team: claims, review, stored masks -------------------------------------------- */

static void
print_claim (const char *what, const char *case_id, const NsQueueClaim *c)
{
  printf ("%s %s (id %" G_GINT64_FORMAT ") for %s on %s until %s\ntoken %s\n", what,
          ns_cmd_printable (case_id), c->case_id, ns_cmd_printable (c->who),
          ns_cmd_printable (c->host), c->expires, c->token);
}

/* claim and take-over. */
static int
claim_case (const char *cmd, const char *summary, gboolean take_over, int argc, char **argv)
{
  g_autofree char *who = NULL, *note = NULL;
  int lease = 0;
  /* --note is take-over's only. */
  const GOptionEntry entries[] = {
    { "note", 0, 0, G_OPTION_ARG_STRING, &note, "Why it is taken over (kept in the history)",
      "TEXT" },
    { "who", 0, 0, G_OPTION_ARG_STRING, &who, "Who claims it (default: the user name)",
      "NAME" },
    { NULL }
  };
  const NsCmdNumber numbers[] = {
    { "lease", 0, NS_CMD_INT, &lease, 1, 7 * 24 * 3600, FALSE, NULL,
      "Seconds until the claim runs out unless renewed (default 600)", "S" },
    { NULL }
  };
  int status;
  g_autoptr (GError) error = NULL;

  if (!parse_numbers (cmd, "CASE", summary, take_over ? entries : entries + 1, numbers,
                      &argc, &argv, &status))
    return status;
  if (argc != 2)
    return ns_cmd_usage_error (cmd, "give one CASE (id, path or case id)");
  g_autoptr (NsDb) q = open_queue (&error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, argv[1], &error);
  if (e == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (NsQueueClaim) c = take_over
    ? ns_queue_take_over (q, e->id, who, (guint) lease, note, &error)
    : ns_queue_claim (q, e->id, who, (guint) lease, &error);
  if (c == NULL)
    return ns_cmd_print_error (error);
  print_claim (take_over ? "took over" : "claimed", e->case_id, c);
  return 0;
}

static int
cmd_claim (int argc, char **argv)
{
  return claim_case ("queue claim", "Claims a case for correction: others see it taken and "
                     "cannot add a correction over it until the claim is released or its "
                     "lease runs out.  Prints the claim's token (for renew, release and "
                     "queue add --claim).", FALSE, argc, argv);
}

static int
cmd_take_over (int argc, char **argv)
{
  return claim_case ("queue take-over", "Takes a claimed case over from its holder (recorded "
                     "with the previous holder and --note), or claims it when it is free.",
                     TRUE, argc, argv);
}

/* release and renew: one's claim, named by its token. */
static int
keep_claim (const char *cmd, const char *summary, gboolean release, int argc, char **argv)
{
  g_autofree char *token = NULL;
  int lease = 0;
  const GOptionEntry entries[] = {
    { "token", 0, 0, G_OPTION_ARG_STRING, &token, "The claim's token (required)", "TOKEN" },
    { NULL }
  };
  const NsCmdNumber numbers[] = {
    { "lease", 0, NS_CMD_INT, &lease, 1, 7 * 24 * 3600, FALSE, NULL,
      "Seconds from now until the claim runs out (default 600)", "S" },
    { NULL }
  };
  int status;
  g_autoptr (GError) error = NULL;

  if (!parse_numbers (cmd, "CASE", summary, entries, release ? NULL : numbers, &argc, &argv,
                      &status))
    return status;
  if (argc != 2)
    return ns_cmd_usage_error (cmd, "give one CASE (id, path or case id)");
  if (token == NULL)
    return ns_cmd_usage_error (cmd, "--token is required (queue claim printed it)");
  g_autoptr (NsDb) q = open_queue (&error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, argv[1], &error);
  if (e == NULL)
    return ns_cmd_print_error (error);
  NsQueueClaim c = { .case_id = e->id, .token = token };
  if (release ? !ns_queue_release_claim (q, &c, &error)
              : !ns_queue_renew_claim (q, &c, (guint) lease, &error))
    {
      g_free (c.expires);
      return ns_cmd_print_error (error);
    }
  if (release)
    printf ("released %s (id %" G_GINT64_FORMAT ")\n", ns_cmd_printable (e->case_id), e->id);
  else
    printf ("renewed %s (id %" G_GINT64_FORMAT ") until %s\n", ns_cmd_printable (e->case_id),
            e->id, c.expires);
  g_free (c.expires);
  return 0;
}

static int
cmd_release (int argc, char **argv)
{
  return keep_claim ("queue release", "Gives one's claim on a case back.", TRUE, argc, argv);
}

static int
cmd_renew (int argc, char **argv)
{
  return keep_claim ("queue renew", "Extends the lease of one's claim on a case.", FALSE, argc,
                     argv);
}

static int
cmd_claims (int argc, char **argv)
{
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON array", NULL },
    { NULL }
  };
  int status;
  g_autoptr (GError) error = NULL;

  if (!parse ("queue claims", "", "Lists the claims that hold (who corrects which case).",
              entries, &argc, &argv, &status))
    return status;
  if (argc != 1)
    return ns_cmd_usage_error ("queue claims", "takes no arguments");
  g_autoptr (NsDb) q = open_queue_readonly (&error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (GPtrArray) claims = ns_queue_list_claims (q, &error);
  if (claims == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  for (guint i = 0; i < claims->len; i++)
    {
      NsQueueClaim *c = g_ptr_array_index (claims, i);
      g_autofree char *ref = g_strdup_printf ("%" G_GINT64_FORMAT, c->case_id);
      g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, ref, NULL);
      if (json)
        {
          json_builder_begin_object (b);
          ns_json_add_int (b, "id", c->case_id);
          ns_json_add_string (b, "case_id", e != NULL ? e->case_id : NULL);
          ns_json_add_string (b, "who", c->who);
          ns_json_add_string (b, "host", c->host);
          ns_json_add_string (b, "since", c->since);
          ns_json_add_string (b, "expires", c->expires);
          json_builder_end_object (b);
          continue;
        }
      printf ("%-6" G_GINT64_FORMAT " %-24s %-12s %-16s since %s until %s\n", c->case_id,
              ns_cmd_printable (e != NULL ? e->case_id : "-"), ns_cmd_printable (c->who),
              ns_cmd_printable (c->host), ns_cmd_printable (c->since), c->expires);
    }
  json_builder_end_array (b);
  if (json)
    print_json (b);
  return 0;
}

static int
cmd_review (int argc, char **argv)
{
  g_autofree char *who = NULL, *note = NULL;
  gint64 annotation = 0;
  const GOptionEntry entries[] = {
    { "who", 0, 0, G_OPTION_ARG_STRING, &who, "The reviewer (default: the user name)",
      "NAME" },
    { "note", 0, 0, G_OPTION_ARG_STRING, &note, "Why (required to send back)", "TEXT" },
    { NULL }
  };
  const NsCmdNumber numbers[] = {
    { "annotation", 0, NS_CMD_INT64, &annotation, 1, (double) G_MAXINT64, FALSE, NULL,
      "The correction reviewed (default: the case's latest; refused if a newer one came in)",
      "N" },
    { NULL }
  };
  int status;
  g_autoptr (GError) error = NULL;

  if (!parse_numbers ("queue review", "CASE accept|send-back", "A second reader's verdict on "
                      "the latest correction of a case.  The fine-tuning set can be "
                      "restricted to accepted corrections (queue export --accepted-only).",
                      entries, numbers, &argc, &argv, &status))
    return status;
  if (argc != 3)
    return ns_cmd_usage_error ("queue review", "give one CASE and accept or send-back");
  NsQueueReview verdict;
  if (g_strcmp0 (argv[2], "accept") == 0)
    verdict = NS_QUEUE_REVIEW_ACCEPTED;
  else if (g_strcmp0 (argv[2], "send-back") == 0)
    verdict = NS_QUEUE_REVIEW_SENT_BACK;
  else
    return ns_cmd_usage_error ("queue review", "the verdict is accept or send-back");
  g_autoptr (NsDb) q = open_queue (&error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, argv[1], &error);
  if (e == NULL)
    return ns_cmd_print_error (error);
  if (!ns_queue_review (q, e->id, annotation, verdict, who, note, &error))
    return ns_cmd_print_error (error);
  printf ("%s %s (id %" G_GINT64_FORMAT ", annotation %" G_GINT64_FORMAT ")\n",
          ns_queue_review_name (verdict), ns_cmd_printable (e->case_id), e->id,
          annotation != 0 ? annotation : e->annotation_id);
  return 0;
}

static int
cmd_mask (int argc, char **argv)
{
  const GOptionEntry entries[] = { { NULL } };
  int status;
  g_autoptr (GError) error = NULL;

  if (!parse ("queue mask", "CASE FILE", "Writes the latest corrected mask of a case, as "
              "stored in the database (checked by its sha256), to a new .nii.gz FILE (an "
              "existing file is never replaced).", entries, &argc, &argv, &status))
    return status;
  if (argc != 3)
    return ns_cmd_usage_error ("queue mask", "give one CASE and one FILE");
  g_autoptr (NsDb) q = open_queue_readonly (&error);
  if (q == NULL)
    return ns_cmd_print_error (error);
  g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, argv[1], &error);
  if (e == NULL)
    return ns_cmd_print_error (error);
  if (!ns_queue_write_mask (q, e->annotation_id, argv[2], &error))
    return ns_cmd_print_error (error);
  printf ("wrote the mask of %s (annotation %" G_GINT64_FORMAT ") to %s\n",
          ns_cmd_printable (e->case_id), e->annotation_id, ns_cmd_printable (argv[2]));
  return 0;
}

static int
cmd_setup_team (int argc, char **argv)
{
  const GOptionEntry entries[] = { { NULL } };
  int status;
  g_autoptr (GError) error = NULL;

  if (!parse ("queue setup-team", "", "On a PostgreSQL server (--db postgresql://... or "
              "$NEUROSEG_DB), run once by the database's owner: creates the schema and the "
              "roles neuroseg_team (reads and changes the queue and registry) and "
              "neuroseg_reader (reads them).  A member is added with GRANT neuroseg_team TO "
              "<login>; see docs/scale.md.", entries, &argc, &argv, &status))
    return status;
  if (argc != 1)
    return ns_cmd_usage_error ("queue setup-team", "takes no arguments");
  g_autoptr (NsDb) q = open_queue (&error);
  if (q == NULL || !ns_db_setup_team (q, &error))
    return ns_cmd_print_error (error);
  printf ("%s: schema version %d, roles neuroseg_team and neuroseg_reader ready\n"
          "add a member: GRANT neuroseg_team TO <login>; a reader: GRANT neuroseg_reader "
          "TO <login>\n", ns_cmd_printable (ns_db_get_path (q)), NS_DB_SCHEMA_VERSION);
  return 0;
}

static int
cmd_migrate (int argc, char **argv)
{
  g_autofree char *to = NULL;
  gboolean replace = FALSE;
  const GOptionEntry entries[] = {
    { "to", 0, 0, G_OPTION_ARG_STRING, &to,
      "The target database: postgresql://[user@]host[:port]/database, or a file (required)",
      "LOCATION" },
    { "replace", 0, 0, G_OPTION_ARG_NONE, &replace,
      "Delete what the target holds first (else a non-empty target is refused)", NULL },
    { NULL }
  };
  int status;
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) source = NULL, target = NULL;
  g_autoptr (GPtrArray) sums = NULL;
  gint64 total = 0;

  if (!parse ("queue migrate", "--to LOCATION", "Copies everything of the database (--db, "
              "else the default: the workstation's SQLite file) into another one, e.g. the "
              "team's new PostgreSQL database: the queue, claims, reviews, stored masks, the "
              "model registry and the training runs, row ids kept.  One transaction on the "
              "target, verified (rows and sha256 of every table) before it commits: all of it "
              "or nothing.  The source is not changed.", entries, &argc, &argv, &status))
    return status;
  if (argc != 1)
    return ns_cmd_usage_error ("queue migrate", "takes no arguments (the target is --to)");
  if (to == NULL || *to == '\0')
    return ns_cmd_usage_error ("queue migrate", "--to LOCATION is required");
  source = open_queue_readonly (&error);
  if (source == NULL)
    return ns_cmd_print_error (error);
  target = ns_db_open (to, &error);
  if (target == NULL)
    return ns_cmd_print_error (error);
  sums = ns_db_copy (source, target, replace, &error);
  if (sums == NULL)
    return ns_cmd_print_error (error);
  for (guint i = 0; i < sums->len; i++)
    {
      const NsDbTableSum *sum = sums->pdata[i];

      printf ("%-17s %8" G_GINT64_FORMAT " rows  sha256 %s\n", sum->table, sum->rows,
              sum->sha256);
      total += sum->rows;
    }
  printf ("copied %" G_GINT64_FORMAT " rows from %s to %s; every table verified (rows and "
          "sha256)\n", total, ns_cmd_printable (ns_db_get_path (source)),
          ns_cmd_printable (ns_db_get_path (target)));
  return 0;
}

/* ---- dispatch ----------------------------------------------------------------------- */

static const NsCmd subs[] = {
  { "list", "Cases with state, effort, edited voxels, uncertainty (--sort, --json)", cmd_list },
  { "add", "Queue a corrected case: CASE --mask M [--prediction P] [--model-version N]",
    cmd_add },
  { "remove", "Forget cases (files stay)", cmd_remove },
  { "exclude", "Keep cases out of fine-tuning", cmd_exclude },
  { "requeue", "Queue cases again", cmd_requeue },
  { "history", "The states a case went through", cmd_history },
  { "export", "Write an nnU-Net / MSD dataset folder of the queued cases", cmd_export },
  { "claim", "Claim a case for correction (prints the claim's token)", cmd_claim },
  { "renew", "Extend one's claim: CASE --token T", cmd_renew },
  { "release", "Give one's claim back: CASE --token T", cmd_release },
  { "take-over", "Take a claimed case over from its holder (--note)", cmd_take_over },
  { "claims", "The claims that hold", cmd_claims },
  { "review", "Accept or send back the latest correction: CASE accept|send-back", cmd_review },
  { "mask", "Write a case's corrected mask from the database: CASE FILE", cmd_mask },
  { "setup-team", "Set up a PostgreSQL server's roles for a team (its owner, once)",
    cmd_setup_team },
  { "migrate", "Copy everything into another database: --to postgresql://... [--replace]",
    cmd_migrate },
};

int
ns_cmd_queue (int argc, char **argv)
{
  int status = ns_cmd_dispatch ("queue", "The fine-tuning queue"
                                " (database: --db FILE, else $NEUROSEG_DATA_DIR/neuroseg.db,\n"
                                "else the user data folder).",
                                subs, G_N_ELEMENTS (subs), argc, argv);
  g_clear_pointer (&opt_db, g_free);
  return status;
}
