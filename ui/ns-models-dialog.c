/* SPDX-License-Identifier: MIT
 *
 * ns-models-dialog.c: the model registry as a list with the selected version's model card,
 * its comparison with the current default, gated Promote and Roll Back (see
 * ns-models-dialog.h).
 */
#define G_LOG_DOMAIN "neuroseg-ui"

#include "ns-models-dialog.h"

#include <json-glib/json-glib.h>
#include <math.h>

#include "ns-checkpoint.h"
#include "ns-data-error.h"
#include "ns-db-watch.h"
#include "ns-model-runner.h"
#include "ns-registry.h"

struct _NsModelsDialog
{
  GtkWindow parent_instance;

  char *db_path;
  GPtrArray *models;        /* NsRegistryModel * */
  GPtrArray *radios;        /* the check button of each row of models (borrowed) */
  int selected;             /* version, NS_REGISTRY_NONE: none (0 is the shipped model) */
  GtkWidget *grid;
  GtkWidget *card;          /* label: the selected version's model card */
  GtkWidget *cmp_title;     /* label over cmp_grid */
  GtkWidget *cmp_grid;      /* the comparison, one row per validation case */
  GtkWidget *cmp_reason;    /* label: the gate's verdict */
  GtkWidget *message;
  GtkWidget *promote, *rollback;
  GtkWindow *confirmation;  /* weak */
  GtkWidget *confirm_button;   /* its Promote / Promote Anyway button (valid while shown) */
  int confirm_version;      /* the version it would promote */
  gboolean confirm_force;   /* past the gate */
  GSource *watch;           /* registry changes by other processes and workstations */
};

enum { SIGNAL_DEFAULT_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

static const char *const regions[] = { "WT", "TC", "ET" };

G_DEFINE_FINAL_TYPE (NsModelsDialog, ns_models_dialog, GTK_TYPE_WINDOW)

static const NsRegistryModel *
find (NsModelsDialog *self, int version)
{
  for (guint i = 0; i < self->models->len; i++)
    if (((NsRegistryModel *) self->models->pdata[i])->version == version)
      return self->models->pdata[i];
  return NULL;
}

static void
fmt_dice (char *buf, gsize size, double d)
{
  if (isfinite (d))
    g_snprintf (buf, size, "%.3f", d);
  else
    g_strlcpy (buf, "–", size);
}

/* "WT 0.912  TC 0.801  ET 0.755" (owned). */
static char *
dup_dice3 (const double dice[3])
{
  char d[3][16];

  for (int r = 0; r < 3; r++)
    fmt_dice (d[r], sizeof d[r], dice[r]);
  return g_strdup_printf ("WT %s  TC %s  ET %s", d[0], d[1], d[2]);
}

static gboolean
predicts_nothing (const NsRegistryValidation *v)
{
  return v->predicted[0] == 0 && v->truth[0] > 0;
}

char *
ns_models_dialog_dup_row_text (NsModelsDialog *self, guint index)
{
  const NsRegistryModel *m;
  g_autofree char *dice = NULL;

  g_return_val_if_fail (NS_IS_MODELS_DIALOG (self), NULL);
  g_return_val_if_fail (index < self->models->len, NULL);
  m = self->models->pdata[index];
  dice = dup_dice3 (m->dice);
  return g_strdup_printf ("v%d%s%s  %s  %s", m->version,
                          m->version == NS_REGISTRY_SHIPPED ? " shipped" : "",
                          m->is_default ? " (default)" : "", dice,
                          ns_registry_model_status_name (m->status));
}

/* ---- the model card ------------------------------------------------------------------ */

static int
compare_validations (gconstpointer a, gconstpointer b)
{
  const NsRegistryValidation *x = *(NsRegistryValidation *const *) a;
  const NsRegistryValidation *y = *(NsRegistryValidation *const *) b;

  return g_strcmp0 (x->case_id, y->case_id);
}

/* The registry's figures of a version, its latest per case, as lines: the set of cases
 * with the mean Dice over it, then each case. */
static void
append_validations (GString *s, GPtrArray *all)
{
  g_autoptr (GHashTable) latest = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GPtrArray) rows = g_ptr_array_new ();
  g_autoptr (GString) names = g_string_new (NULL);
  double mean[3] = { 0, 0, 0 };
  g_autofree char *dice = NULL;

  /* oldest first: a later record of the same case replaces the earlier one */
  for (guint i = 0; i < all->len; i++)
    {
      NsRegistryValidation *v = all->pdata[i];

      g_hash_table_replace (latest, g_strdup_printf ("%s:%s", v->flair_sha256,
                                                     v->truth_sha256), v);
    }
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init (&it, latest);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_ptr_array_add (rows, value);
  if (rows->len == 0)
    {
      g_string_append (s, "Validation in this registry: none (neuroseg models validate, or a "
                          "fine-tuning run with validation cases, records it)\n");
      return;
    }
  g_ptr_array_sort (rows, compare_validations);
  for (guint i = 0; i < rows->len; i++)
    {
      const NsRegistryValidation *v = rows->pdata[i];

      for (int r = 0; r < 3; r++)
        mean[r] += v->dice[r] / rows->len;
      g_string_append_printf (names, "%s%s", i > 0 ? ", " : "", v->case_id);
    }
  dice = dup_dice3 (mean);
  g_string_append_printf (s, "Validation in this registry, on %u case%s (%s): %s\n", rows->len,
                          rows->len == 1 ? "" : "s", names->str, dice);
  for (guint i = 0; i < rows->len; i++)
    {
      const NsRegistryValidation *v = rows->pdata[i];
      g_autofree char *d = dup_dice3 (v->dice);

      g_string_append_printf (s, "    %s: %s%s\n", v->case_id, d,
                              predicts_nothing (v) ? "  (predicts nothing)" : "");
    }
}

/* What the registry recorded of the run that made the version (its metrics JSON), as
 * one line: steps, epochs, corrected cases, device, time; and whether it had validation
 * cases. */
static void
append_run (GString *s, const char *metrics)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  JsonObject *o;
  gint64 steps, epochs, cases;
  double seconds;
  const char *device, *validation;

  if (metrics == NULL || !json_parser_load_from_data (parser, metrics, -1, NULL)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    return;
  o = json_node_get_object (json_parser_get_root (parser));
  steps = json_object_get_int_member_with_default (o, "steps", 0);
  epochs = json_object_get_int_member_with_default (o, "epochs", 0);
  cases = json_object_get_int_member_with_default (o, "cases_used", 0);
  seconds = json_object_get_double_member_with_default (o, "seconds", NAN);
  device = json_object_get_string_member_with_default (o, "device", "");
  validation = json_object_get_string_member_with_default (o, "validation", NULL);
  if (steps > 0)
    {
      g_string_append_printf (s, "Training run: %" G_GINT64_FORMAT " step%s", steps,
                              steps == 1 ? "" : "s");
      if (epochs > 0)
        g_string_append_printf (s, ", %" G_GINT64_FORMAT " epoch%s", epochs,
                                epochs == 1 ? "" : "s");
      if (cases > 0)
        g_string_append_printf (s, ", %" G_GINT64_FORMAT " corrected case%s", cases,
                                cases == 1 ? "" : "s");
      if (*device != '\0')
        g_string_append_printf (s, ", on %s", device);
      if (isfinite (seconds))
        g_string_append_printf (s, ", %.0f s", seconds);
      g_string_append_c (s, '\n');
    }
  if (validation != NULL)
    g_string_append_printf (s, "Validation during the run: %s\n", validation);
}

char *
ns_models_dialog_dup_card (NsModelsDialog *self, int version, GError **error)
{
  g_autoptr (NsDb) db = NULL;
  g_autoptr (NsRegistryModel) m = NULL;
  g_autoptr (GPtrArray) figures = NULL;
  g_autofree char *file_card = NULL;
  g_autoptr (GError) card_error = NULL;
  GString *s;

  g_return_val_if_fail (NS_IS_MODELS_DIALOG (self), NULL);
  db = ns_db_open (self->db_path, error);
  if (db == NULL)
    return NULL;
  m = ns_registry_dup_model (db, version, error);
  if (m == NULL)
    return NULL;
  figures = ns_registry_list_validations (db, version, error);
  if (figures == NULL)
    return NULL;
  s = g_string_new (NULL);
  g_string_append_printf (s, "Version %d%s%s\n", m->version,
                          m->version == NS_REGISTRY_SHIPPED ? " (shipped with Neuroseg, "
                                                              "read-only)" : "",
                          m->is_default ? ", the default" : "");
  if (m->parent != NS_REGISTRY_NONE)
    g_string_append_printf (s, "Parent version: v%d\n", m->parent);
  if (m->status == NS_REGISTRY_MODEL_FAILED)
    g_string_append_printf (s, "Failed to load: %s\n", m->error != NULL ? m->error : "?");
  /* the checkpoint's own card: name, architecture, inputs, training data, its figures */
  file_card = ns_model_runner_describe_model (m->path, &card_error);
  if (file_card != NULL)
    g_string_append (s, file_card);
  else
    g_string_append_printf (s, "File: %s\nModel card: unreadable (%s)\n", m->path,
                            card_error->message);
  append_run (s, m->metrics);
  append_validations (s, figures);
  return g_string_free (s, FALSE);
}

/* ---- the comparison --------------------------------------------------------------------- */

static NsRegistryComparison *
compare (NsModelsDialog *self, int version, GError **error)
{
  g_autoptr (NsDb) db = ns_db_open (self->db_path, error);

  return db != NULL ? ns_registry_compare (db, version, error) : NULL;
}

static gboolean
gate_passes (const NsRegistryComparison *c)
{
  return c->gate == NS_REGISTRY_GATE_PASS || c->candidate == NS_REGISTRY_SHIPPED;
}

char *
ns_models_dialog_dup_comparison (NsModelsDialog *self, int version, gboolean *passes,
                                 GError **error)
{
  g_autoptr (NsRegistryComparison) c = NULL;
  g_autofree char *cand_mean = NULL, *cur_mean = NULL;
  GString *s;

  g_return_val_if_fail (NS_IS_MODELS_DIALOG (self), NULL);
  c = compare (self, version, error);
  if (c == NULL)
    return NULL;
  s = g_string_new (NULL);
  g_string_append_printf (s, "v%d (candidate) against ", c->candidate);
  if (c->current != NS_REGISTRY_NONE)
    g_string_append_printf (s, "v%d (current default)\n", c->current);
  else
    g_string_append (s, "no current default\n");
  for (guint i = 0; i < c->rows->len; i++)
    {
      const NsRegistryComparisonRow *row = c->rows->pdata[i];
      g_autofree char *a = dup_dice3 (row->candidate->dice);
      g_autofree char *b = row->current != NULL ? dup_dice3 (row->current->dice)
                                                : g_strdup ("not validated on it");

      g_string_append_printf (s, "%s: %s%s | %s\n", row->candidate->case_id, a,
                              predicts_nothing (row->candidate) ? " (predicts nothing)" : "",
                              b);
    }
  cand_mean = dup_dice3 (c->candidate_dice);
  cur_mean = dup_dice3 (c->current_dice);
  g_string_append_printf (s, "Mean: %s | %s\n", cand_mean, cur_mean);
  g_string_append_printf (s, "%s: %s\n", gate_passes (c) ? "Passes" : "Refused",
                          c->reason != NULL ? c->reason : "");
  if (passes != NULL)
    *passes = gate_passes (c);
  return g_string_free (s, FALSE);
}

static void
attach_text (GtkGrid *grid, const char *text, int col, int row, gboolean heading)
{
  GtkWidget *l = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (l), col == 0 ? 0 : 1);
  if (heading)
    gtk_widget_add_css_class (l, "heading");
  else if (col > 0)
    gtk_widget_add_css_class (l, "numeric");
  gtk_grid_attach (grid, l, col, row, 1, 1);
}

static void
clear_grid (GtkWidget *grid)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (grid)) != NULL)
    gtk_grid_remove (GTK_GRID (grid), child);
}

/* Case | candidate WT TC ET | default WT TC ET, one row per case, then the means. */
static void
fill_comparison_grid (GtkWidget *grid, const NsRegistryComparison *c)
{
  g_autofree char *hc = g_strdup_printf ("v%d", c->candidate);
  g_autofree char *hd = c->current != NS_REGISTRY_NONE ? g_strdup_printf ("v%d (default)",
                                                                          c->current)
                                                       : g_strdup ("no default");
  char d[16];
  guint n = c->rows->len;

  clear_grid (grid);
  attach_text (GTK_GRID (grid), "Case", 0, 0, TRUE);
  attach_text (GTK_GRID (grid), hc, 1, 0, TRUE);
  attach_text (GTK_GRID (grid), hd, 4, 0, TRUE);
  for (int r = 0; r < 3; r++)
    {
      attach_text (GTK_GRID (grid), regions[r], 1 + r, 1, TRUE);
      attach_text (GTK_GRID (grid), regions[r], 4 + r, 1, TRUE);
    }
  for (guint i = 0; i < n; i++)
    {
      const NsRegistryComparisonRow *row = c->rows->pdata[i];
      g_autofree char *name = g_strdup_printf ("%s%s", row->candidate->case_id,
                                               predicts_nothing (row->candidate)
                                                 ? " (predicts nothing)" : "");

      attach_text (GTK_GRID (grid), name, 0, i + 2, FALSE);
      for (int r = 0; r < 3; r++)
        {
          fmt_dice (d, sizeof d, row->candidate->dice[r]);
          attach_text (GTK_GRID (grid), d, 1 + r, i + 2, FALSE);
          fmt_dice (d, sizeof d, row->current != NULL ? row->current->dice[r] : NAN);
          attach_text (GTK_GRID (grid), d, 4 + r, i + 2, FALSE);
        }
    }
  attach_text (GTK_GRID (grid), "Mean", 0, n + 2, TRUE);
  for (int r = 0; r < 3; r++)
    {
      fmt_dice (d, sizeof d, c->candidate_dice[r]);
      attach_text (GTK_GRID (grid), d, 1 + r, n + 2, TRUE);
      fmt_dice (d, sizeof d, c->current_dice[r]);
      attach_text (GTK_GRID (grid), d, 4 + r, n + 2, TRUE);
    }
}

static GtkWidget *
new_comparison_grid (void)
{
  GtkWidget *grid = gtk_grid_new ();

  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  gtk_grid_set_row_spacing (GTK_GRID (grid), 2);
  return grid;
}

/* The card and the comparison of the selected version. */
static void
show_selected (NsModelsDialog *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *card = NULL;
  g_autoptr (NsRegistryComparison) c = NULL;
  const NsRegistryModel *m = find (self, self->selected);

  clear_grid (self->cmp_grid);
  gtk_label_set_text (GTK_LABEL (self->cmp_reason), "");
  gtk_widget_set_sensitive (self->promote, m != NULL && !m->is_default
                                             && m->status == NS_REGISTRY_MODEL_REGISTERED);
  if (m == NULL)
    {
      gtk_label_set_text (GTK_LABEL (self->card), "Select a version to see its model card.");
      gtk_label_set_text (GTK_LABEL (self->cmp_title), "");
      return;
    }
  card = ns_models_dialog_dup_card (self, m->version, &error);
  gtk_label_set_text (GTK_LABEL (self->card), card != NULL ? card : error->message);
  g_clear_error (&error);
  if (m->is_default)
    {
      gtk_label_set_text (GTK_LABEL (self->cmp_title), "The current default.");
      return;
    }
  if (m->status == NS_REGISTRY_MODEL_REGISTERED && m->path != NULL
      && !ns_checkpoint_check_kind (m->path, FALSE, &error))
    {
      g_autofree char *why = g_strdup_printf ("Cannot be the default: %s. The Refine tool "
                                              "uses the newest registered interactive model.",
                                              error->message);
      gtk_widget_set_sensitive (self->promote, FALSE);
      gtk_label_set_text (GTK_LABEL (self->cmp_title), "");
      gtk_label_set_text (GTK_LABEL (self->cmp_reason), why);
      return;
    }
  c = compare (self, m->version, &error);
  if (c == NULL)
    {
      gtk_label_set_text (GTK_LABEL (self->cmp_reason), error->message);
      return;
    }
  {
    g_autofree char *title = c->current != NS_REGISTRY_NONE
      ? g_strdup_printf ("v%d against the current default v%d, on v%d's validation cases:",
                         c->candidate, c->current, c->candidate)
      : g_strdup_printf ("v%d: there is no current default", c->candidate);
    g_autofree char *reason = g_strdup_printf ("%s: %s", gate_passes (c) ? "Can be promoted"
                                                                         : "Promotion refused",
                                               c->reason != NULL ? c->reason : "");

    gtk_label_set_text (GTK_LABEL (self->cmp_title), title);
    gtk_label_set_text (GTK_LABEL (self->cmp_reason), reason);
  }
  fill_comparison_grid (self->cmp_grid, c);
}

/* ---- the list --------------------------------------------------------------------------- */

static void
on_row_toggled_cb (GtkCheckButton *button, NsModelsDialog *self)
{
  guint row;

  if (gtk_check_button_get_active (button) && g_ptr_array_find (self->radios, button, &row))
    {
      self->selected = ((NsRegistryModel *) self->models->pdata[row])->version;
      show_selected (self);
    }
}

/* Whether two lists of the registry show the same rows: what a row shows of each version
 * (its Dice come from the metrics). */
static gboolean
same_models (GPtrArray *a, GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    {
      const NsRegistryModel *x = a->pdata[i], *y = b->pdata[i];

      if (x->version != y->version || x->parent != y->parent || x->status != y->status
          || x->is_default != y->is_default || g_strcmp0 (x->created, y->created) != 0
          || g_strcmp0 (x->error, y->error) != 0 || g_strcmp0 (x->path, y->path) != 0
          || g_strcmp0 (x->metrics, y->metrics) != 0)
        return FALSE;
    }
  return TRUE;
}

static GtkWidget *
radio_of (NsModelsDialog *self, int version)
{
  for (guint i = 0; i < self->radios->len && i < self->models->len; i++)
    if (((NsRegistryModel *) self->models->pdata[i])->version == version)
      return self->radios->pdata[i];
  return NULL;
}

/* The rows of self->models, anew. */
static void
fill_rows (NsModelsDialog *self)
{
  GtkCheckButton *group = NULL;
  static const char *const heads[] = { "", "Version", "Created", "Parent", "WT", "TC", "ET",
                                       "Status", "" };

  clear_grid (self->grid);
  g_ptr_array_set_size (self->radios, 0);
  for (guint c = 0; c < G_N_ELEMENTS (heads); c++)
    attach_text (GTK_GRID (self->grid), heads[c], c, 0, TRUE);
  for (guint i = 0; i < self->models->len; i++)
    {
      const NsRegistryModel *m = self->models->pdata[i];
      GtkWidget *radio = gtk_check_button_new ();
      g_autofree char *name = g_strdup_printf ("model-row-v%d", m->version);
      g_autofree char *v = g_strdup_printf ("v%d%s", m->version,
                                            m->version == NS_REGISTRY_SHIPPED ? " shipped" : "");
      g_autofree char *p = m->parent != NS_REGISTRY_NONE ? g_strdup_printf ("v%d", m->parent)
                                                        : g_strdup ("–");
      char d[16];

      if (group != NULL)
        gtk_check_button_set_group (GTK_CHECK_BUTTON (radio), group);
      else
        group = GTK_CHECK_BUTTON (radio);
      gtk_widget_set_name (radio, name);
      g_ptr_array_add (self->radios, radio);
      gtk_grid_attach (GTK_GRID (self->grid), radio, 0, i + 1, 1, 1);
      attach_text (GTK_GRID (self->grid), v, 1, i + 1, FALSE);
      attach_text (GTK_GRID (self->grid), m->created != NULL ? m->created : "–", 2, i + 1,
                   FALSE);
      attach_text (GTK_GRID (self->grid), p, 3, i + 1, FALSE);
      for (int r = 0; r < 3; r++)
        {
          fmt_dice (d, sizeof d, m->dice[r]);
          attach_text (GTK_GRID (self->grid), d, 4 + r, i + 1, FALSE);
        }
      attach_text (GTK_GRID (self->grid), m->status == NS_REGISTRY_MODEL_FAILED && m->error != NULL
                                            ? m->error : ns_registry_model_status_name (m->status),
                   7, i + 1, FALSE);
      attach_text (GTK_GRID (self->grid), m->is_default ? "default" : "", 8, i + 1, FALSE);
      if (m->version == self->selected)
        gtk_check_button_set_active (GTK_CHECK_BUTTON (radio), TRUE);
      /* after the initial state: toggling from here on is the user's choice */
      g_signal_connect (radio, "toggled", G_CALLBACK (on_row_toggled_cb), self);
    }
}

/* The list is read again whenever the registry changes (the watch, every second on SQLite),
 * so a reload must leave alone what the user is doing: rows are rebuilt only when what they
 * show changed, and then the keyboard focus, when it was on a row, moves to the selected
 * row's new button at once.  GTK (4.8) leaves the window's focus on a removed widget until
 * its next frame; a key pressed in between (Escape to close) went to the removed button and
 * was lost: the intermittent failure of test-e2e-input-loop after Roll Back. */
gboolean
ns_models_dialog_refresh (NsModelsDialog *self, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (NsDb) db = NULL;
  GPtrArray *models;
  GtkWidget *focus, *radio;
  gboolean focus_in_list;

  g_return_val_if_fail (NS_IS_MODELS_DIALOG (self), FALSE);
  db = ns_db_open (self->db_path, &local);
  models = db != NULL ? ns_registry_list_models (db, &local) : NULL;
  if (models == NULL)
    {
      gtk_label_set_text (GTK_LABEL (self->message), local->message);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (self->radios->len == self->models->len && same_models (self->models, models))
    g_ptr_array_unref (models);
  else
    {
      focus = gtk_root_get_focus (GTK_ROOT (self));
      focus_in_list = focus != NULL && gtk_widget_is_ancestor (focus, self->grid);

      g_ptr_array_unref (self->models);
      self->models = models;
      if (find (self, self->selected) == NULL)
        self->selected = NS_REGISTRY_NONE;
      fill_rows (self);
      if (focus_in_list)
        {
          radio = radio_of (self, self->selected);
          gtk_widget_grab_focus (radio != NULL ? radio : self->rollback);
        }
    }
  if (find (self, self->selected) == NULL)
    self->selected = NS_REGISTRY_NONE;
  radio = radio_of (self, self->selected);
  if (radio != NULL && !gtk_check_button_get_active (GTK_CHECK_BUTTON (radio)))
    gtk_check_button_set_active (GTK_CHECK_BUTTON (radio), TRUE);
  gtk_widget_set_sensitive (self->rollback, self->models->len > 0);
  /* the card and the comparison: figures may have been added without a new row */
  show_selected (self);
  {
    g_autofree char *text = g_strdup_printf ("%u model version%s", self->models->len,
                                             self->models->len == 1 ? "" : "s");
    gtk_label_set_text (GTK_LABEL (self->message), text);
  }
  return TRUE;
}

guint
ns_models_dialog_get_n_rows (NsModelsDialog *self)
{
  g_return_val_if_fail (NS_IS_MODELS_DIALOG (self), 0);
  return self->models->len;
}

int
ns_models_dialog_get_version (NsModelsDialog *self, guint index)
{
  g_return_val_if_fail (NS_IS_MODELS_DIALOG (self), NS_REGISTRY_NONE);
  g_return_val_if_fail (index < self->models->len, NS_REGISTRY_NONE);
  return ((NsRegistryModel *) self->models->pdata[index])->version;
}

void
ns_models_dialog_select (NsModelsDialog *self, int version)
{
  g_return_if_fail (NS_IS_MODELS_DIALOG (self));
  self->selected = version;
  ns_models_dialog_refresh (self, NULL);
}

int
ns_models_dialog_get_selected (NsModelsDialog *self)
{
  g_return_val_if_fail (NS_IS_MODELS_DIALOG (self), NS_REGISTRY_NONE);
  return self->selected;
}

/* ---- promote and roll back ---------------------------------------------------------------- */

gboolean
ns_models_dialog_promote (NsModelsDialog *self, int version, gboolean force, GError **error)
{
  g_autoptr (NsDb) db = NULL;
  g_autofree char *who = NULL;

  g_return_val_if_fail (NS_IS_MODELS_DIALOG (self), FALSE);
  db = ns_db_open (self->db_path, error);
  if (db == NULL)
    return FALSE;
  /* an interactive correction model is never the default, forced or not: Run Model could
   * not run it */
  {
    g_autoptr (NsRegistryModel) m = ns_registry_dup_model (db, version, error);
    if (m == NULL)
      return FALSE;
    if (m->path != NULL && !ns_checkpoint_check_kind (m->path, FALSE, error))
      {
        g_prefix_error (error, "Model version %d cannot be the default: ", version);
        return FALSE;
      }
  }
  /* a forced promotion says so in the promotions log, with the gate's reason */
  if (force)
    {
      g_autoptr (NsRegistryComparison) c = ns_registry_compare (db, version, NULL);

      who = g_strdup_printf ("%s (promoted anyway: %s)", g_get_user_name (),
                             c != NULL && c->reason != NULL ? c->reason : "past the gate");
    }
  /* gated (data/ns-registry.h): refused with the reason unless forced */
  if (!ns_registry_promote (db, version, force, who, error))
    return FALSE;
  self->selected = version;
  ns_models_dialog_refresh (self, NULL);
  g_signal_emit (self, signals[SIGNAL_DEFAULT_CHANGED], 0, version);
  return TRUE;
}

gboolean
ns_models_dialog_rollback (NsModelsDialog *self, int version, int *new_default, GError **error)
{
  g_autoptr (NsDb) db = NULL;
  int v = NS_REGISTRY_NONE;

  g_return_val_if_fail (NS_IS_MODELS_DIALOG (self), FALSE);
  db = ns_db_open (self->db_path, error);
  if (db == NULL || !ns_registry_rollback (db, version, NULL, &v, error))
    return FALSE;
  if (new_default != NULL)
    *new_default = v;
  self->selected = v;
  ns_models_dialog_refresh (self, NULL);
  g_signal_emit (self, signals[SIGNAL_DEFAULT_CHANGED], 0, v);
  return TRUE;
}

GtkWindow *
ns_models_dialog_get_confirmation (NsModelsDialog *self)
{
  g_return_val_if_fail (NS_IS_MODELS_DIALOG (self), NULL);
  return self->confirmation;
}

GtkWidget *
ns_models_dialog_get_confirm_button (NsModelsDialog *self)
{
  g_return_val_if_fail (NS_IS_MODELS_DIALOG (self), NULL);
  return self->confirmation != NULL ? self->confirm_button : NULL;
}

static void
on_confirm_cb (GtkButton *button, NsModelsDialog *self)
{
  g_autoptr (GError) error = NULL;

  if (!ns_models_dialog_promote (self, self->confirm_version, self->confirm_force, &error))
    gtk_label_set_text (GTK_LABEL (self->message), error->message);
  if (self->confirmation != NULL)
    gtk_window_destroy (self->confirmation);
}

static GtkWidget *
padded_box (int spacing)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, spacing);

  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 12);
  gtk_widget_set_margin_bottom (box, 12);
  return box;
}

static GtkWidget *
wrapped_label (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  return label;
}

/* The figures side by side, the gate's verdict, and Promote (passes) or a destructive
 * Promote Anyway (refused). */
static void
on_promote_clicked_cb (GtkButton *button, NsModelsDialog *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsRegistryComparison) c = NULL;
  g_autofree char *title = NULL, *head = NULL, *verdict = NULL;
  GtkWindow *win;
  GtkWidget *box, *grid, *row, *cancel, *ok;
  gboolean passes;

  if (find (self, self->selected) == NULL)
    return;
  c = compare (self, self->selected, &error);
  if (c == NULL)
    {
      gtk_label_set_text (GTK_LABEL (self->message), error->message);
      return;
    }
  passes = gate_passes (c);
  win = GTK_WINDOW (gtk_window_new ());
  title = g_strdup_printf ("Promote v%d?", self->selected);
  gtk_window_set_title (win, title);
  gtk_window_set_modal (win, TRUE);
  gtk_window_set_transient_for (win, GTK_WINDOW (self));
  box = padded_box (12);
  head = c->current != NS_REGISTRY_NONE
    ? g_strdup_printf ("Validation Dice of v%d and of the current default v%d on the same "
                       "cases:", c->candidate, c->current)
    : g_strdup_printf ("Validation Dice of v%d (there is no current default):", c->candidate);
  grid = new_comparison_grid ();
  fill_comparison_grid (grid, c);
  verdict = passes ? g_strdup_printf ("It passes the gate: %s", c->reason != NULL ? c->reason
                                                                                 : "")
                   : g_strdup_printf ("The gate refuses it: %s.  Promote it anyway only if "
                                      "you know why the figures are wrong; it is recorded.",
                                      c->reason != NULL ? c->reason : "");
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_halign (row, GTK_ALIGN_END);
  cancel = gtk_button_new_with_mnemonic ("_Cancel");
  ok = gtk_button_new_with_mnemonic (passes ? "_Promote" : "Promote _Anyway");
  gtk_widget_add_css_class (ok, passes ? "suggested-action" : "destructive-action");
  gtk_widget_set_name (ok, "promote-confirm-button");
  gtk_widget_set_name (cancel, "promote-cancel-button");
  self->confirm_version = self->selected;
  self->confirm_force = !passes;
  self->confirm_button = ok;
  g_signal_connect_swapped (cancel, "clicked", G_CALLBACK (gtk_window_destroy), win);
  g_signal_connect (ok, "clicked", G_CALLBACK (on_confirm_cb), self);
  gtk_box_append (GTK_BOX (row), cancel);
  gtk_box_append (GTK_BOX (row), ok);
  gtk_box_append (GTK_BOX (box), wrapped_label (head));
  gtk_box_append (GTK_BOX (box), grid);
  {
    GtkWidget *v = wrapped_label (verdict);

    gtk_widget_set_name (v, "promote-verdict");
    gtk_box_append (GTK_BOX (box), v);
  }
  gtk_box_append (GTK_BOX (box), row);
  gtk_window_set_child (win, box);
  /* Cancel is the default: Enter never promotes past the gate by accident */
  gtk_window_set_default_widget (win, passes ? ok : cancel);
  gtk_widget_grab_focus (passes ? ok : cancel);
  self->confirmation = win;
  g_object_add_weak_pointer (G_OBJECT (win), (gpointer *) &self->confirmation);
  gtk_window_present (win);
}

static void
on_rollback_clicked_cb (GtkButton *button, NsModelsDialog *self)
{
  g_autoptr (GError) error = NULL;
  const NsRegistryModel *m = find (self, self->selected);
  /* the selected earlier version (v0 included), else the default before the current one */
  int version = m != NULL && !m->is_default ? m->version : NS_REGISTRY_PREVIOUS;

  if (!ns_models_dialog_rollback (self, version, NULL, &error))
    gtk_label_set_text (GTK_LABEL (self->message), error->message);
}

static void
ns_models_dialog_dispose (GObject *object)
{
  NsModelsDialog *self = NS_MODELS_DIALOG (object);

  if (self->watch != NULL)
    {
      g_source_destroy (self->watch);
      g_clear_pointer (&self->watch, g_source_unref);
    }
  if (self->confirmation != NULL)
    {
      g_object_remove_weak_pointer (G_OBJECT (self->confirmation),
                                    (gpointer *) &self->confirmation);
      gtk_window_destroy (self->confirmation);
      self->confirmation = NULL;
    }
  G_OBJECT_CLASS (ns_models_dialog_parent_class)->dispose (object);
}

static void
ns_models_dialog_finalize (GObject *object)
{
  NsModelsDialog *self = NS_MODELS_DIALOG (object);

  g_free (self->db_path);
  g_ptr_array_unref (self->models);
  g_ptr_array_unref (self->radios);
  G_OBJECT_CLASS (ns_models_dialog_parent_class)->finalize (object);
}

static void
ns_models_dialog_class_init (NsModelsDialogClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = ns_models_dialog_dispose;
  G_OBJECT_CLASS (klass)->finalize = ns_models_dialog_finalize;
  signals[SIGNAL_DEFAULT_CHANGED] = g_signal_new ("default-changed", G_TYPE_FROM_CLASS (klass),
                                                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                  G_TYPE_NONE, 1, G_TYPE_INT);
}

static GtkWidget *
scrolled (GtkWidget *child, int min_height)
{
  GtkWidget *scroll = gtk_scrolled_window_new ();

  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), child);
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (scroll), min_height);
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroll), GTK_POLICY_AUTOMATIC,
                                  GTK_POLICY_AUTOMATIC);
  return scroll;
}

static void
ns_models_dialog_init (NsModelsDialog *self)
{
  GtkWidget *box = padded_box (12);
  GtkWidget *details = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 18);
  GtkWidget *cmp_box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *close = gtk_button_new_with_mnemonic ("_Close");
  GtkWidget *list;
  GtkEventController *keys = gtk_shortcut_controller_new ();

  /* Escape closes the window wherever the focus is: in the capture phase, before any child
   * (a selectable label, a button) sees the key */
  gtk_event_controller_set_propagation_phase (keys, GTK_PHASE_CAPTURE);
  gtk_event_controller_set_name (keys, "models-close-keys");
  gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (keys),
                                        gtk_shortcut_new (gtk_keyval_trigger_new (GDK_KEY_Escape,
                                                                                  0),
                                                          gtk_named_action_new ("window.close")));
  gtk_widget_add_controller (GTK_WIDGET (self), keys);
  self->selected = NS_REGISTRY_NONE;
  self->models = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_registry_model_free);
  self->radios = g_ptr_array_new ();
  gtk_window_set_title (GTK_WINDOW (self), "Models");
  gtk_window_set_default_size (GTK_WINDOW (self), 900, 600);
  self->grid = gtk_grid_new ();
  gtk_grid_set_column_spacing (GTK_GRID (self->grid), 12);
  gtk_grid_set_row_spacing (GTK_GRID (self->grid), 4);
  /* the list as tall as a few versions; the card and the comparison take the rest */
  list = scrolled (self->grid, 110);
  gtk_scrolled_window_set_propagate_natural_height (GTK_SCROLLED_WINDOW (list), TRUE);
  gtk_scrolled_window_set_max_content_height (GTK_SCROLLED_WINDOW (list), 180);

  self->card = wrapped_label ("");
  gtk_label_set_selectable (GTK_LABEL (self->card), TRUE);
  gtk_label_set_yalign (GTK_LABEL (self->card), 0);
  gtk_widget_set_name (self->card, "model-card");
  self->cmp_title = wrapped_label ("");
  gtk_widget_add_css_class (self->cmp_title, "heading");
  self->cmp_grid = new_comparison_grid ();
  gtk_widget_set_name (self->cmp_grid, "model-comparison");
  self->cmp_reason = wrapped_label ("");
  gtk_widget_set_name (self->cmp_reason, "model-gate");
  gtk_box_append (GTK_BOX (cmp_box), self->cmp_title);
  gtk_box_append (GTK_BOX (cmp_box), self->cmp_grid);
  gtk_box_append (GTK_BOX (cmp_box), self->cmp_reason);
  {
    GtkWidget *card_scroll = scrolled (self->card, 200);
    GtkWidget *cmp_scroll = scrolled (cmp_box, 200);

    gtk_widget_set_hexpand (card_scroll, TRUE);
    gtk_widget_set_hexpand (cmp_scroll, TRUE);
    gtk_box_set_homogeneous (GTK_BOX (details), TRUE);
    gtk_widget_set_vexpand (details, TRUE);
    gtk_box_append (GTK_BOX (details), card_scroll);
    gtk_box_append (GTK_BOX (details), cmp_scroll);
  }

  self->message = wrapped_label ("");
  gtk_widget_set_name (self->message, "models-message");
  self->promote = gtk_button_new_with_mnemonic ("_Promote…");
  self->rollback = gtk_button_new_with_mnemonic ("_Roll Back");
  gtk_widget_set_name (self->promote, "models-promote-button");
  gtk_widget_set_name (self->rollback, "models-rollback-button");
  gtk_widget_set_name (close, "models-close-button");
  gtk_widget_set_tooltip_text (self->rollback, "Make the selected earlier version the default "
                                               "again (none selected: the default before)");
  gtk_widget_set_halign (row, GTK_ALIGN_END);
  g_signal_connect (self->promote, "clicked", G_CALLBACK (on_promote_clicked_cb), self);
  g_signal_connect (self->rollback, "clicked", G_CALLBACK (on_rollback_clicked_cb), self);
  g_signal_connect_swapped (close, "clicked", G_CALLBACK (gtk_window_destroy), self);
  gtk_box_append (GTK_BOX (row), self->rollback);
  gtk_box_append (GTK_BOX (row), self->promote);
  gtk_box_append (GTK_BOX (row), close);
  gtk_box_append (GTK_BOX (box), list);
  gtk_box_append (GTK_BOX (box), details);
  gtk_box_append (GTK_BOX (box), self->message);
  gtk_box_append (GTK_BOX (box), row);
  gtk_window_set_child (GTK_WINDOW (self), box);
}

static gboolean
on_db_changed (NsDbChanges changes, gpointer user_data)
{
  if (changes & NS_DB_CHANGES_REGISTRY)
    ns_models_dialog_refresh (NS_MODELS_DIALOG (user_data), NULL); /* errors show in it */
  return G_SOURCE_CONTINUE;
}

NsModelsDialog *
ns_models_dialog_new (GtkWindow *parent, const char *db_path)
{
  NsModelsDialog *self = g_object_new (NS_TYPE_MODELS_DIALOG, NULL);

  self->db_path = g_strdup (db_path);
  if (parent != NULL)
    gtk_window_set_transient_for (GTK_WINDOW (self), parent);
  /* the current default selected: its card shows at once */
  {
    g_autoptr (NsDb) db = ns_db_open (db_path, NULL);
    g_autoptr (NsRegistryModel) def = db != NULL ? ns_registry_dup_default (db, NULL) : NULL;

    if (def != NULL)
      self->selected = def->version;
  }
  ns_models_dialog_refresh (self, NULL);
  /* what another workstation registers, promotes or rolls back shows without a click */
  self->watch = ns_db_watch_source_new (db_path, 0);
  g_source_set_callback (self->watch, G_SOURCE_FUNC (on_db_changed), self, NULL);
  g_source_attach (self->watch, NULL);
  return self;
}
