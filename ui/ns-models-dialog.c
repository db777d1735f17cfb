/* SPDX-License-Identifier: MIT
 *
 * ns-models-dialog.c: the model registry as a grid with Promote (after a comparison)
 * and Roll back.
 */
#define G_LOG_DOMAIN "neuroseg-ui"

#include "ns-models-dialog.h"

#include <json-glib/json-glib.h>
#include <math.h>

#include "ns-registry.h"

struct _NsModelsDialog
{
  GtkWindow parent_instance;

  char *db_path;
  GPtrArray *models;        /* NsRegistryModel * */
  GPtrArray *radios;        /* the check button of each row of models (borrowed) */
  int selected;             /* version, 0: none */
  GtkWidget *grid;
  GtkWidget *message;
  GtkWidget *promote, *rollback;
  GtkWindow *confirmation;  /* weak */
  GtkWidget *confirm_button;   /* its Promote button (valid while it is shown) */
  int confirm_version;      /* the version it would promote */
};

enum { SIGNAL_DEFAULT_CHANGED, N_SIGNALS };
static guint signals[N_SIGNALS];

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

char *
ns_models_dialog_dup_row_text (NsModelsDialog *self, guint index)
{
  const NsRegistryModel *m;
  char d[3][16];

  g_return_val_if_fail (index < self->models->len, NULL);
  m = self->models->pdata[index];
  for (int r = 0; r < 3; r++)
    fmt_dice (d[r], sizeof d[r], m->dice[r]);
  return g_strdup_printf ("v%d%s  WT %s  TC %s  ET %s  %s", m->version,
                          m->is_default ? " (default)" : "", d[0], d[1], d[2],
                          ns_registry_model_status_name (m->status));
}

static void
on_row_toggled (GtkCheckButton *button, NsModelsDialog *self)
{
  guint row;

  if (gtk_check_button_get_active (button) && g_ptr_array_find (self->radios, button, &row))
    {
      self->selected = ((NsRegistryModel *) self->models->pdata[row])->version;
      const NsRegistryModel *m = find (self, self->selected);
      gtk_widget_set_sensitive (self->promote, m != NULL && !m->is_default
                                                 && m->status == NS_REGISTRY_MODEL_REGISTERED);
      gtk_widget_set_sensitive (self->rollback, TRUE);
    }
}

static void
attach_text (GtkGrid *grid, const char *text, int col, int row, gboolean heading)
{
  GtkWidget *l = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (l), 0);
  if (heading)
    gtk_widget_add_css_class (l, "heading");
  gtk_grid_attach (grid, l, col, row, 1, 1);
}

gboolean
ns_models_dialog_refresh (NsModelsDialog *self, GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (NsDb) queue = ns_db_open (self->db_path, &local);
  GPtrArray *models = queue != NULL ? ns_registry_list_models (queue, &local) : NULL;
  GtkWidget *child;
  GtkCheckButton *group = NULL;
  static const char *const heads[] = { "", "Version", "Created", "Parent", "WT", "TC", "ET",
                                       "Status", "" };

  while ((child = gtk_widget_get_first_child (self->grid)) != NULL)
    gtk_grid_remove (GTK_GRID (self->grid), child);
  g_ptr_array_set_size (self->radios, 0);
  if (models == NULL)
    {
      gtk_label_set_text (GTK_LABEL (self->message), local->message);
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  g_ptr_array_unref (self->models);
  self->models = models;
  for (guint c = 0; c < G_N_ELEMENTS (heads); c++)
    attach_text (GTK_GRID (self->grid), heads[c], c, 0, TRUE);
  for (guint i = 0; i < models->len; i++)
    {
      const NsRegistryModel *m = models->pdata[i];
      GtkWidget *radio = gtk_check_button_new ();
      g_autofree char *v = g_strdup_printf ("v%d", m->version);
      g_autofree char *p = m->parent != NS_REGISTRY_NONE ? g_strdup_printf ("v%d", m->parent)
                                                        : g_strdup ("–");
      char d[3][16];

      if (group != NULL)
        gtk_check_button_set_group (GTK_CHECK_BUTTON (radio), group);
      else
        group = GTK_CHECK_BUTTON (radio);
      g_ptr_array_add (self->radios, radio);
      g_signal_connect (radio, "toggled", G_CALLBACK (on_row_toggled), self);
      gtk_grid_attach (GTK_GRID (self->grid), radio, 0, i + 1, 1, 1);
      attach_text (GTK_GRID (self->grid), v, 1, i + 1, FALSE);
      attach_text (GTK_GRID (self->grid), m->created, 2, i + 1, FALSE);
      attach_text (GTK_GRID (self->grid), p, 3, i + 1, FALSE);
      for (int r = 0; r < 3; r++)
        {
          fmt_dice (d[r], sizeof d[r], m->dice[r]);
          attach_text (GTK_GRID (self->grid), d[r], 4 + r, i + 1, FALSE);
        }
      attach_text (GTK_GRID (self->grid), m->status == NS_REGISTRY_MODEL_FAILED && m->error != NULL
                                            ? m->error : ns_registry_model_status_name (m->status),
                   7, i + 1, FALSE);
      attach_text (GTK_GRID (self->grid), m->is_default ? "default" : "", 8, i + 1, FALSE);
      if (m->version == self->selected)
        gtk_check_button_set_active (GTK_CHECK_BUTTON (radio), TRUE);
    }
  if (find (self, self->selected) == NULL)
    self->selected = 0;
  gtk_widget_set_sensitive (self->promote, FALSE);
  gtk_widget_set_sensitive (self->rollback, models->len > 0);
  if (self->selected != 0)
    {
      const NsRegistryModel *m = find (self, self->selected);
      gtk_widget_set_sensitive (self->promote, !m->is_default
                                                 && m->status == NS_REGISTRY_MODEL_REGISTERED);
    }
  {
    g_autofree char *text = g_strdup_printf ("%u model version%s", models->len,
                                             models->len == 1 ? "" : "s");
    gtk_label_set_text (GTK_LABEL (self->message), text);
  }
  return TRUE;
}

guint
ns_models_dialog_get_n_rows (NsModelsDialog *self)
{
  return self->models->len;
}

int
ns_models_dialog_get_version (NsModelsDialog *self, guint index)
{
  g_return_val_if_fail (index < self->models->len, 0);
  return ((NsRegistryModel *) self->models->pdata[index])->version;
}

void
ns_models_dialog_select (NsModelsDialog *self, int version)
{
  self->selected = version;
  ns_models_dialog_refresh (self, NULL);
}

/* The "val_cases" array of a metrics JSON, joined (owned; "" when none). */
static char *
val_cases_of (const char *metrics)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GString) s = g_string_new (NULL);

  if (metrics != NULL && json_parser_load_from_data (parser, metrics, -1, NULL)
      && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      JsonObject *o = json_node_get_object (json_parser_get_root (parser));
      JsonNode *n = json_object_get_member (o, "val_cases");

      if (n != NULL && JSON_NODE_HOLDS_ARRAY (n))
        {
          JsonArray *a = json_node_get_array (n);
          for (guint i = 0; i < json_array_get_length (a); i++)
            {
              const char *c = json_array_get_string_element (a, i);
              if (c != NULL)
                g_string_append_printf (s, "%s%s", s->len > 0 ? ", " : "", c);
            }
        }
    }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

char *
ns_models_dialog_dup_comparison (NsModelsDialog *self, int version, GError **error)
{
  g_autoptr (NsDb) queue = ns_db_open (self->db_path, error);
  g_autoptr (NsRegistryModel) cand = NULL;
  g_autoptr (NsRegistryModel) cur = NULL;
  static const char *const regions[] = { "WT", "TC", "ET" };
  GString *s;

  if (queue == NULL)
    return NULL;
  cand = ns_registry_dup_model (queue, version, error);
  if (cand == NULL)
    return NULL;
  cur = ns_registry_dup_default (queue, NULL);
  s = g_string_new (NULL);
  if (cur == NULL)
    {
      g_string_append_printf (s, "There is no default model yet: v%d becomes the first.\n",
                              version);
      cur = NULL;
    }
  g_string_append_printf (s, "Validation Dice      v%d (candidate)", version);
  if (cur != NULL)
    g_string_append_printf (s, "   v%d (current default)   change", cur->version);
  g_string_append_c (s, '\n');
  for (int r = 0; r < 3; r++)
    {
      char a[16], b[16];

      fmt_dice (a, sizeof a, cand->dice[r]);
      g_string_append_printf (s, "%-20s %-18s", regions[r], a);
      if (cur != NULL)
        {
          fmt_dice (b, sizeof b, cur->dice[r]);
          g_string_append_printf (s, "   %-20s", b);
          if (isfinite (cand->dice[r]) && isfinite (cur->dice[r]))
            g_string_append_printf (s, "   %+.3f", cand->dice[r] - cur->dice[r]);
        }
      g_string_append_c (s, '\n');
    }
  if (cur != NULL)
    {
      g_autofree char *va = val_cases_of (cand->metrics);
      g_autofree char *vb = val_cases_of (cur->metrics);

      if (g_strcmp0 (va, vb) == 0)
        g_string_append_printf (s, "Both on the same validation cases: %s\n",
                                *va != '\0' ? va : "(none recorded)");
      else
        g_string_append_printf (s, "Warning: different validation cases (v%d: %s; v%d: %s): "
                                "the numbers are not directly comparable\n", version,
                                *va ? va : "none recorded", cur->version,
                                *vb ? vb : "none recorded");
    }
  return g_string_free (s, FALSE);
}

gboolean
ns_models_dialog_promote (NsModelsDialog *self, int version, GError **error)
{
  g_autoptr (NsDb) queue = ns_db_open (self->db_path, error);

  /* gated (data/ns-registry.h): refused without validation figures, with the reason */
  if (queue == NULL || !ns_registry_promote (queue, version, FALSE, NULL, error))
    return FALSE;
  self->selected = version;
  ns_models_dialog_refresh (self, NULL);
  g_signal_emit (self, signals[SIGNAL_DEFAULT_CHANGED], 0, version);
  return TRUE;
}

gboolean
ns_models_dialog_rollback (NsModelsDialog *self, int version, int *new_default, GError **error)
{
  g_autoptr (NsDb) queue = ns_db_open (self->db_path, error);
  /* this dialog's 0 is "the previous default" (the registry's 0 is the shipped model) */
  int target = version != 0 ? version : NS_REGISTRY_PREVIOUS;
  int v = 0;

  if (queue == NULL || !ns_registry_rollback (queue, target, NULL, &v, error))
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
  return self->confirmation;
}

GtkWidget *
ns_models_dialog_get_confirm_button (NsModelsDialog *self)
{
  return self->confirmation != NULL ? self->confirm_button : NULL;
}

static void
on_confirm (GtkButton *button, NsModelsDialog *self)
{
  g_autoptr (GError) error = NULL;

  if (!ns_models_dialog_promote (self, self->confirm_version, &error))
    gtk_label_set_text (GTK_LABEL (self->message), error->message);
  if (self->confirmation != NULL)
    gtk_window_destroy (self->confirmation);
}

static void
on_promote_clicked (GtkButton *button, NsModelsDialog *self)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  GtkWindow *win;
  GtkWidget *box, *label, *row, *cancel, *ok;
  g_autofree char *title = NULL;

  if (self->selected == 0)
    return;
  text = ns_models_dialog_dup_comparison (self, self->selected, &error);
  if (text == NULL)
    {
      gtk_label_set_text (GTK_LABEL (self->message), error->message);
      return;
    }
  win = GTK_WINDOW (gtk_window_new ());
  title = g_strdup_printf ("Promote v%d?", self->selected);
  gtk_window_set_title (win, title);
  gtk_window_set_modal (win, TRUE);
  gtk_window_set_transient_for (win, GTK_WINDOW (self));
  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 12);
  gtk_widget_set_margin_bottom (box, 12);
  label = gtk_label_new (text);
  gtk_widget_add_css_class (label, "monospace");
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_halign (row, GTK_ALIGN_END);
  cancel = gtk_button_new_with_mnemonic ("_Cancel");
  ok = gtk_button_new_with_mnemonic ("_Promote");
  gtk_widget_add_css_class (ok, "suggested-action");
  self->confirm_version = self->selected;
  self->confirm_button = ok;
  g_signal_connect_swapped (cancel, "clicked", G_CALLBACK (gtk_window_destroy), win);
  g_signal_connect (ok, "clicked", G_CALLBACK (on_confirm), self);
  gtk_box_append (GTK_BOX (row), cancel);
  gtk_box_append (GTK_BOX (row), ok);
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), row);
  gtk_window_set_child (win, box);
  self->confirmation = win;
  g_object_add_weak_pointer (G_OBJECT (win), (gpointer *) &self->confirmation);
  gtk_window_present (win);
}

static void
on_rollback_clicked (GtkButton *button, NsModelsDialog *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) queue = ns_db_open (self->db_path, &error);
  g_autoptr (NsRegistryModel) cur = queue != NULL ? ns_registry_dup_default (queue, NULL)
                                               : NULL;
  /* the selected earlier version, else the default before the current one */
  int version = self->selected != 0 && (cur == NULL || cur->version != self->selected)
                  ? self->selected : 0;

  g_clear_pointer (&queue, ns_db_close);
  if (!ns_models_dialog_rollback (self, version, NULL, &error))
    gtk_label_set_text (GTK_LABEL (self->message), error->message);
}

static void
ns_models_dialog_dispose (GObject *object)
{
  NsModelsDialog *self = NS_MODELS_DIALOG (object);

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

static void
ns_models_dialog_init (NsModelsDialog *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 12);
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *close = gtk_button_new_with_mnemonic ("_Close");
  GtkWidget *scroll = gtk_scrolled_window_new ();

  self->models = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_registry_model_free);
  self->radios = g_ptr_array_new ();
  gtk_window_set_title (GTK_WINDOW (self), "Models");
  gtk_window_set_default_size (GTK_WINDOW (self), 720, 360);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 12);
  gtk_widget_set_margin_bottom (box, 12);
  self->grid = gtk_grid_new ();
  gtk_grid_set_column_spacing (GTK_GRID (self->grid), 12);
  gtk_grid_set_row_spacing (GTK_GRID (self->grid), 4);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroll), self->grid);
  gtk_widget_set_vexpand (scroll, TRUE);
  self->message = gtk_label_new ("");
  gtk_label_set_xalign (GTK_LABEL (self->message), 0);
  gtk_label_set_wrap (GTK_LABEL (self->message), TRUE);
  self->promote = gtk_button_new_with_mnemonic ("_Promote…");
  self->rollback = gtk_button_new_with_mnemonic ("_Roll Back");
  gtk_widget_set_halign (row, GTK_ALIGN_END);
  g_signal_connect (self->promote, "clicked", G_CALLBACK (on_promote_clicked), self);
  g_signal_connect (self->rollback, "clicked", G_CALLBACK (on_rollback_clicked), self);
  g_signal_connect_swapped (close, "clicked", G_CALLBACK (gtk_window_destroy), self);
  gtk_box_append (GTK_BOX (row), self->rollback);
  gtk_box_append (GTK_BOX (row), self->promote);
  gtk_box_append (GTK_BOX (row), close);
  gtk_box_append (GTK_BOX (box), scroll);
  gtk_box_append (GTK_BOX (box), self->message);
  gtk_box_append (GTK_BOX (box), row);
  gtk_window_set_child (GTK_WINDOW (self), box);
}

NsModelsDialog *
ns_models_dialog_new (GtkWindow *parent, const char *db_path)
{
  NsModelsDialog *self = g_object_new (NS_TYPE_MODELS_DIALOG, NULL);

  self->db_path = g_strdup (db_path);
  if (parent != NULL)
    gtk_window_set_transient_for (GTK_WINDOW (self), parent);
  ns_models_dialog_refresh (self, NULL);
  return self;
}
