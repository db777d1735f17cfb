/* SPDX-License-Identifier: MIT
 *
 * test-ui-models.c: Training > Models… (ui/ns-models-dialog.h) on a registry made here:
 *
 *   /ui/models/shipped-row     v0 (the shipped model) is a real row: selected as the
 *                              default, and Roll Back with v0 selected goes to v0 (not
 *                              to "the previous default")
 *   /ui/models/card            the model card is formatted (name, architecture, inputs,
 *                              the registry's validation figures per set of cases), no
 *                              raw JSON
 *   /ui/models/gate-refuses    a lower score or no figures: Promote refuses with the
 *                              reason; the confirmation shows the table and only a
 *                              destructive "Promote Anyway", which promotes and is
 *                              recorded in the promotions log
 *   /ui/models/gate-passes     a better score: the table side by side, "Promote"
 *   /ui/models/interactive     an interactive correction model (the Refine tool's) is
 *                              never the default, not even forced: Promote… is greyed
 *                              with the reason, and a forced promotion is refused
 *   /ui/models/reload-focus    the reload the registry watch does (every second on SQLite)
 *                              keeps the rows, the selection and the keyboard focus when
 *                              nothing changed; when rows change, the focus is on the
 *                              selected row's new button at once (never on a removed one,
 *                              where a key such as Escape is lost); Escape closes the
 *                              window wherever the focus is
 */
#define G_LOG_DOMAIN "test-ui-models"

#include "ns-config.h"

#include <gtk/gtk.h>
#include <string.h>

#include "ns-data-error.h"
#include "ns-models-dialog.h"
#include "ns-registry.h"
#include "ns-test-net.h"
#include "ns-test-util.h"
#include "ns-test-widget.h"

/* A fresh database (its own file per test) with models v1..v_n, random weights. */
static char *
make_registry (const char *name, int n)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *file = g_strdup_printf ("%s.db", name);
  char *db = g_build_filename (ns_test_tmpdir (), file, NULL);
  g_autoptr (NsDb) q = ns_db_open (db, &error);

  g_assert_no_error (error);
  for (int v = 1; v <= n; v++)
    {
      g_autofree char *mname = g_strdup_printf ("%s-v%d.safetensors", name, v);
      g_autofree char *path = ns_test_write_random_model (mname, 1000 * strlen (name) + v);
      NsRegistryModelInfo info = { .path = path, .arch = "mobilenetv2-unet",
                                   .parent = v == 1 ? NS_REGISTRY_SHIPPED : v - 1,
                                   .metrics = "{\"steps\": 4, \"device\": \"cpu\"}" };

      g_assert_cmpint (ns_registry_register_model (q, &info, &error), ==, v);
      g_assert_no_error (error);
    }
  return db;
}

/* Figures of version on case id (WT Dice wt; TC and ET fixed). */
static void
add_figures (const char *db, int version, const char *id, double wt)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_db_open (db, &error);
  g_autofree char *path = g_strdup_printf ("/cases/%s", id);
  g_autofree char *fsha = g_strdup_printf ("flair-%s", id);
  g_autofree char *tsha = g_strdup_printf ("truth-%s", id);
  NsRegistryValidation f = { 0, version, path, (char *) id, fsha, tsha, { wt, 0.7, 0.6 },
                             { 900, 300, 100 }, { 1000, 320, 110 }, NULL, NULL };

  g_assert_cmpint (ns_registry_add_validation (q, &f, &error), >, 0);
  g_assert_no_error (error);
}

static void
force_default (const char *db, int version)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_db_open (db, &error);

  g_assert_true (ns_registry_promote (q, version, TRUE, NULL, &error));
  g_assert_no_error (error);
}

static int
default_version (const char *db)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_db_open (db, &error);
  g_autoptr (NsRegistryModel) m = ns_registry_dup_default (q, &error);

  g_assert_no_error (error);
  g_assert_nonnull (m);
  return m->version;
}

static void
click (GtkWidget *button)
{
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
  ns_test_drain ();
}

static GtkWidget *
named (NsModelsDialog *d, const char *name)
{
  GtkWidget *w = ns_test_find_named (GTK_WIDGET (d), name);

  g_assert_nonnull (w);
  return w;
}

/* ---- shipped-row ------------------------------------------------------------------------- */

static void
test_shipped_row (void)
{
  g_autofree char *db = make_registry ("shipped", 2);
  NsModelsDialog *d;
  g_autofree char *row0 = NULL;

  /* v0 -> v1 -> v2 */
  force_default (db, 1);
  force_default (db, 2);
  d = ns_models_dialog_new (NULL, db);
  gtk_window_present (GTK_WINDOW (d));
  g_assert_cmpuint (ns_models_dialog_get_n_rows (d), ==, 3);
  g_assert_cmpint (ns_models_dialog_get_version (d, 0), ==, NS_REGISTRY_SHIPPED);
  row0 = ns_models_dialog_dup_row_text (d, 0);
  g_assert_nonnull (strstr (row0, "v0 shipped"));
  /* the default's row is selected when the dialog opens */
  g_assert_cmpint (ns_models_dialog_get_selected (d), ==, 2);

  /* v0 chosen by its radio button: a real selection (its card shows) */
  gtk_check_button_set_active (GTK_CHECK_BUTTON (named (d, "model-row-v0")), TRUE);
  g_assert_cmpint (ns_models_dialog_get_selected (d), ==, NS_REGISTRY_SHIPPED);
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (named (d, "model-card"))),
                            "Version 0 (shipped"));
  /* Roll Back with v0 selected: v0 (the default before v2 was v1) */
  click (named (d, "models-rollback-button"));
  g_assert_cmpint (default_version (db), ==, NS_REGISTRY_SHIPPED);
  g_assert_cmpint (ns_models_dialog_get_selected (d), ==, NS_REGISTRY_SHIPPED);
  g_autofree char *row0b = ns_models_dialog_dup_row_text (d, 0);
  g_assert_nonnull (strstr (row0b, "v0 shipped (default)"));
  /* an earlier default by version, and v0 again by its number */
  {
    g_autoptr (GError) error = NULL;
    int back = NS_REGISTRY_NONE;

    g_assert_true (ns_models_dialog_rollback (d, 1, &back, &error));
    g_assert_no_error (error);
    g_assert_cmpint (back, ==, 1);
    g_assert_true (ns_models_dialog_rollback (d, NS_REGISTRY_SHIPPED, &back, &error));
    g_assert_cmpint (back, ==, NS_REGISTRY_SHIPPED);
  }
  gtk_window_destroy (GTK_WINDOW (d));
}

/* ---- card --------------------------------------------------------------------------------- */

static void
test_card (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = make_registry ("card", 1);
  NsModelsDialog *d;
  g_autofree char *card = NULL, *shipped = NULL;

  add_figures (db, 1, "Case_A", 0.85);
  add_figures (db, 1, "Case_B", 0.75);
  add_figures (db, 1, "Case_B", 0.65);   /* re-validated: the latest counts */
  d = ns_models_dialog_new (NULL, db);
  card = ns_models_dialog_dup_card (d, 1, &error);
  g_assert_no_error (error);
  g_test_message ("%s", card);
  g_assert_nonnull (strstr (card, "Version 1"));
  g_assert_nonnull (strstr (card, "Parent version: v0"));
  g_assert_nonnull (strstr (card, "Architecture: mobilenetv2-unet"));
  g_assert_nonnull (strstr (card, "Inputs: "));
  g_assert_nonnull (strstr (card, "Training run: 4 steps, on cpu"));
  g_assert_nonnull (strstr (card, "on 2 cases (Case_A, Case_B): WT 0.750  TC 0.700  ET 0.600"));
  g_assert_nonnull (strstr (card, "    Case_B: WT 0.650"));
  g_assert_null (strchr (card, '{'));
  g_assert_null (strstr (card, "\"dice"));

  shipped = ns_models_dialog_dup_card (d, NS_REGISTRY_SHIPPED, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (shipped, "shipped with Neuroseg"));
  g_assert_nonnull (strstr (shipped, "the default"));
  g_assert_nonnull (strstr (shipped, "Validation in this registry: none"));
  g_assert_null (strchr (shipped, '{'));
  gtk_window_destroy (GTK_WINDOW (d));
}

/* ---- gate-refuses ------------------------------------------------------------------------- */

static void
test_gate_refuses (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = make_registry ("refuses", 3);
  NsModelsDialog *d;
  g_autofree char *cmp = NULL;
  gboolean passes = TRUE;
  GtkWidget *ok;

  /* v1 the default with 0.85 on A; v2 lower on A; v3 never validated */
  force_default (db, 1);
  add_figures (db, 1, "A", 0.85);
  add_figures (db, 2, "A", 0.80);
  d = ns_models_dialog_new (NULL, db);
  gtk_window_present (GTK_WINDOW (d));

  cmp = ns_models_dialog_dup_comparison (d, 2, &passes, &error);
  g_assert_no_error (error);
  g_test_message ("%s", cmp);
  g_assert_false (passes);
  g_assert_nonnull (strstr (cmp, "v2 (candidate) against v1 (current default)"));
  g_assert_nonnull (strstr (cmp, "A: WT 0.800  TC 0.700  ET 0.600 | WT 0.850  TC 0.700  ET 0.600"));
  g_assert_nonnull (strstr (cmp, "Refused: "));

  /* without force: refused, with the reason */
  g_assert_false (ns_models_dialog_promote (d, 2, FALSE, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_false (ns_models_dialog_promote (d, 3, FALSE, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_cmpint (default_version (db), ==, 1);

  /* the dialog's own table for the selected v2, and the gate's verdict */
  ns_models_dialog_select (d, 2);
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (named (d, "model-gate"))),
                            "Promotion refused"));
  g_assert_nonnull (ns_test_find_named (GTK_WIDGET (d), "model-comparison"));
  g_assert_nonnull (gtk_widget_get_first_child (named (d, "model-comparison")));

  /* Promote…: the confirmation offers only a destructive Promote Anyway */
  click (named (d, "models-promote-button"));
  g_assert_nonnull (ns_models_dialog_get_confirmation (d));
  ok = ns_models_dialog_get_confirm_button (d);
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (ok)), ==, "Promote _Anyway");
  g_assert_true (gtk_widget_has_css_class (ok, "destructive-action"));
  g_assert_nonnull (ns_test_find_named (GTK_WIDGET (ns_models_dialog_get_confirmation (d)),
                                        "promote-verdict"));
  click (ok);
  g_assert_null (ns_models_dialog_get_confirmation (d));
  g_assert_cmpint (default_version (db), ==, 2);
  {
    g_autoptr (NsDb) q = ns_db_open (db, &error);
    g_autoptr (GPtrArray) log = ns_registry_list_promotions (q, &error);
    NsRegistryPromotion *last;

    g_assert_no_error (error);
    last = log->pdata[log->len - 1];
    g_assert_cmpint (last->version, ==, 2);
    g_assert_nonnull (strstr (last->who, "promoted anyway"));
  }

  /* v3, no figures: refused for that reason */
  ns_models_dialog_select (d, 3);
  click (named (d, "models-promote-button"));
  ok = ns_models_dialog_get_confirm_button (d);
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (ok)), ==, "Promote _Anyway");
  gtk_window_destroy (ns_models_dialog_get_confirmation (d));
  g_assert_cmpint (default_version (db), ==, 2);
  gtk_window_destroy (GTK_WINDOW (d));
}

static void
on_default_changed (NsModelsDialog *d, int version, int *changed)
{
  *changed = version;
}

/* ---- gate-passes -------------------------------------------------------------------------- */

static void
test_gate_passes (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = make_registry ("passes", 2);
  NsModelsDialog *d;
  g_autofree char *cmp = NULL;
  gboolean passes = FALSE;
  GtkWidget *ok;
  int changed = NS_REGISTRY_NONE;

  force_default (db, 1);
  add_figures (db, 1, "A", 0.80);
  add_figures (db, 2, "A", 0.85);
  d = ns_models_dialog_new (NULL, db);
  g_signal_connect (d, "default-changed", G_CALLBACK (on_default_changed), &changed);
  gtk_window_present (GTK_WINDOW (d));
  cmp = ns_models_dialog_dup_comparison (d, 2, &passes, &error);
  g_assert_no_error (error);
  g_assert_true (passes);
  g_assert_nonnull (strstr (cmp, "Passes: "));

  ns_models_dialog_select (d, 2);
  click (named (d, "models-promote-button"));
  ok = ns_models_dialog_get_confirm_button (d);
  g_assert_cmpstr (gtk_button_get_label (GTK_BUTTON (ok)), ==, "_Promote");
  g_assert_true (gtk_widget_has_css_class (ok, "suggested-action"));
  click (ok);
  g_assert_cmpint (default_version (db), ==, 2);
  g_assert_cmpint (changed, ==, 2);
  /* the default itself cannot be promoted again */
  g_assert_false (gtk_widget_get_sensitive (named (d, "models-promote-button")));
  gtk_window_destroy (GTK_WINDOW (d));
}

/* ---- interactive ------------------------------------------------------------------------- */

static void
test_interactive (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = make_registry ("interactive", 1);
  g_autofree char *path = ns_test_write_random_interactive_model ("interactive-v2.safetensors",
                                                                  2);
  NsModelsDialog *d;

  {
    g_autoptr (NsDb) q = ns_db_open (db, &error);
    NsRegistryModelInfo info = { .path = path, .arch = "mobilenetv2-unet",
                                 .parent = NS_REGISTRY_NONE, .metrics = "{\"steps\": 4}" };
    g_assert_cmpint (ns_registry_register_model (q, &info, &error), ==, 2);
    g_assert_no_error (error);
  }
  force_default (db, 1);
  d = ns_models_dialog_new (NULL, db);
  gtk_window_present (GTK_WINDOW (d));

  /* a segmentation model may be promoted (past the gate with Promote Anyway) */
  ns_models_dialog_select (d, NS_REGISTRY_SHIPPED);
  g_assert_true (gtk_widget_get_sensitive (named (d, "models-promote-button")));
  /* the interactive one: greyed, with why */
  ns_models_dialog_select (d, 2);
  g_assert_false (gtk_widget_get_sensitive (named (d, "models-promote-button")));
  {
    const char *why = gtk_label_get_text (GTK_LABEL (named (d, "model-gate")));
    g_test_message ("%s", why);
    g_assert_nonnull (strstr (why, "Cannot be the default"));
    g_assert_nonnull (strstr (why, "interactive correction model"));
  }
  /* its card says what it takes */
  {
    g_autofree char *card = ns_models_dialog_dup_card (d, 2, &error);
    g_assert_no_error (error);
    g_assert_nonnull (strstr (card, "Inputs: FLAIR, T1c + region mask and clicks (interactive)"));
  }
  /* forced: refused all the same, the default unchanged */
  g_assert_false (ns_models_dialog_promote (d, 2, TRUE, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "cannot be the default"));
  g_assert_cmpint (default_version (db), ==, 1);
  gtk_window_destroy (GTK_WINDOW (d));
}

/* ---- reload-focus ------------------------------------------------------------------------- */

static void
on_destroy (GtkWidget *widget, gboolean *destroyed)
{
  *destroyed = TRUE;
}

/* Activates the window's own Escape shortcut as GTK does for a key press: it must sit in the
 * capture phase, which runs before any child wherever the focus is. */
static void
press_escape (GtkWidget *window)
{
  GListModel *controllers = gtk_widget_observe_controllers (window);
  gboolean done = FALSE;

  for (guint i = 0; i < g_list_model_get_n_items (controllers) && !done; i++)
    {
      g_autoptr (GtkEventController) c = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (c)
          || gtk_event_controller_get_propagation_phase (c) != GTK_PHASE_CAPTURE)
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (c)) && !done; j++)
        {
          g_autoptr (GtkShortcut) s = g_list_model_get_item (G_LIST_MODEL (c), j);
          GtkShortcutTrigger *t = gtk_shortcut_get_trigger (s);

          if (GTK_IS_KEYVAL_TRIGGER (t)
              && gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (t)) == GDK_KEY_Escape)
            done = gtk_shortcut_action_activate (gtk_shortcut_get_action (s),
                                                 GTK_SHORTCUT_ACTION_EXCLUSIVE, window, NULL);
        }
    }
  g_object_unref (controllers);
  g_assert_true (done);
}

static void
test_reload_focus (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *db = make_registry ("reload", 2);
  NsModelsDialog *d;
  GtkWidget *radio, *focus;
  gboolean destroyed = FALSE;
  int back = NS_REGISTRY_NONE;

  force_default (db, 2);
  d = ns_models_dialog_new (NULL, db);
  g_signal_connect (d, "destroy", G_CALLBACK (on_destroy), &destroyed);
  gtk_window_present (GTK_WINDOW (d));
  ns_test_drain ();
  /* v0 chosen with its button, which has the focus (a click) */
  radio = named (d, "model-row-v0");
  gtk_check_button_set_active (GTK_CHECK_BUTTON (radio), TRUE);
  g_assert_true (gtk_widget_grab_focus (radio));

  /* a reload with nothing changed: the same button, selected, focused */
  g_assert_true (ns_models_dialog_refresh (d, &error));
  g_assert_no_error (error);
  g_assert_true (named (d, "model-row-v0") == radio);
  g_assert_true (gtk_root_get_focus (GTK_ROOT (d)) == radio);
  g_assert_cmpint (ns_models_dialog_get_selected (d), ==, NS_REGISTRY_SHIPPED);

  /* another process rolls back to v0 (the default column changes): the rows are rebuilt and
   * the focus is on v0's new button right after the reload, before any frame */
  {
    g_autoptr (NsDb) q = ns_db_open (db, &error);

    g_assert_no_error (error);
    g_assert_true (ns_registry_rollback (q, NS_REGISTRY_SHIPPED, NULL, &back, &error));
    g_assert_no_error (error);
  }
  g_assert_true (ns_models_dialog_refresh (d, &error));
  g_assert_no_error (error);
  focus = gtk_root_get_focus (GTK_ROOT (d));
  g_assert_nonnull (focus);
  g_assert_true (gtk_widget_get_root (focus) == GTK_ROOT (d));
  g_assert_true (focus == named (d, "model-row-v0"));
  g_assert_cmpint (ns_models_dialog_get_selected (d), ==, NS_REGISTRY_SHIPPED);
  g_assert_true (gtk_check_button_get_active (GTK_CHECK_BUTTON (focus)));

  /* Escape with the focus on the card (a selectable label): the window closes */
  g_assert_true (gtk_widget_grab_focus (named (d, "model-card")));
  press_escape (GTK_WIDGET (d));
  ns_test_drain ();
  g_assert_true (destroyed);
}

int
main (int argc, char **argv)
{
  g_autofree char *xdg = NULL;

  /* no session bus, no accessibility bus: GTK's warnings about them are not this test's */
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("GSETTINGS_BACKEND", "memory", TRUE);
  xdg = g_build_filename (ns_test_tmpdir (), "xdg", NULL);
  g_setenv ("XDG_DATA_HOME", xdg, TRUE);
  g_setenv ("XDG_CACHE_HOME", xdg, TRUE);
  g_setenv ("XDG_STATE_HOME", xdg, TRUE);
  g_setenv ("NEUROSEG_DATA_DIR", xdg, TRUE);
  g_test_init (&argc, &argv, NULL);
  gtk_init ();
  g_test_add_func ("/ui/models/shipped-row", test_shipped_row);
  g_test_add_func ("/ui/models/card", test_card);
  g_test_add_func ("/ui/models/gate-refuses", test_gate_refuses);
  g_test_add_func ("/ui/models/gate-passes", test_gate_passes);
  g_test_add_func ("/ui/models/interactive", test_interactive);
  g_test_add_func ("/ui/models/reload-focus", test_reload_focus);
  return g_test_run ();
}
