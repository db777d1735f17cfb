/* SPDX-License-Identifier: MIT
 *
 * ns-view3d-menu.c: the 3D view's small menu (see ns-view3d-menu.h): what the surfaces
 * show (per label or the WT / TC / ET regions), how much they are decimated, and the
 * brain's outline.  Stateful actions in the group "view3d" on the view, a menu model that
 * names them (radio items for the choices, a check item for the outline).
 */
#define G_LOG_DOMAIN "neuroseg-ui"

#include "ns-view3d-menu.h"

static const char *const decimation_names[] = { "off", "normal", "strong" };

static void
surfaces_change_cb (GSimpleAction *action, GVariant *value, gpointer data)
{
  const char *kind = g_variant_get_string (value, NULL);

  ns_view3d_set_surface_kind (NS_VIEW3D (data), g_str_equal (kind, "regions")
                                                  ? NS_SURFACES_REGIONS : NS_SURFACES_LABELS);
  g_simple_action_set_state (action, value);
}

static void
decimation_change_cb (GSimpleAction *action, GVariant *value, gpointer data)
{
  const char *name = g_variant_get_string (value, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (decimation_names); i++)
    if (g_str_equal (name, decimation_names[i]))
      {
        ns_view3d_set_decimation (NS_VIEW3D (data), (NsMeshDecimation) i);
        g_simple_action_set_state (action, value);
        return;
      }
  g_warning ("unknown decimation level \"%s\"", name);
}

static void
outline_change_cb (GSimpleAction *action, GVariant *value, gpointer data)
{
  ns_view3d_set_show_outline (NS_VIEW3D (data), g_variant_get_boolean (value));
  g_simple_action_set_state (action, value);
}

static GMenuModel *
menu_model_new (void)
{
  GMenu *menu = g_menu_new ();
  g_autoptr (GMenu) surfaces = g_menu_new ();
  g_autoptr (GMenu) decimation = g_menu_new ();
  g_autoptr (GMenu) outline = g_menu_new ();

  g_menu_append (surfaces, "Surface per _label", "view3d.surfaces::labels");
  g_menu_append (surfaces, "_Regions WT / TC / ET", "view3d.surfaces::regions");
  g_menu_append_section (menu, "Surfaces", G_MENU_MODEL (surfaces));
  g_menu_append (decimation, "_Full detail", "view3d.decimation::off");
  g_menu_append (decimation, "_Decimated", "view3d.decimation::normal");
  g_menu_append (decimation, "_Strongly decimated", "view3d.decimation::strong");
  g_menu_append_section (menu, "Mesh", G_MENU_MODEL (decimation));
  g_menu_append (outline, "Brain _outline", "view3d.outline");
  g_menu_append_section (menu, NULL, G_MENU_MODEL (outline));
  return G_MENU_MODEL (menu);
}

GtkWidget *
ns_view3d_menu_new (NsView3d *view)
{
  g_autoptr (GSimpleActionGroup) group = g_simple_action_group_new ();
  g_autoptr (GMenuModel) model = menu_model_new ();
  GSimpleAction *action;
  GtkWidget *button;

  g_return_val_if_fail (NS_IS_VIEW3D (view), NULL);

  action = g_simple_action_new_stateful (
    "surfaces", G_VARIANT_TYPE_STRING,
    g_variant_new_string (ns_view3d_get_surface_kind (view) == NS_SURFACES_REGIONS
                            ? "regions" : "labels"));
  g_signal_connect_object (action, "change-state", G_CALLBACK (surfaces_change_cb), view, 0);
  g_action_map_add_action (G_ACTION_MAP (group), G_ACTION (action));
  g_object_unref (action);

  action = g_simple_action_new_stateful (
    "decimation", G_VARIANT_TYPE_STRING,
    g_variant_new_string (decimation_names[ns_view3d_get_decimation (view)]));
  g_signal_connect_object (action, "change-state", G_CALLBACK (decimation_change_cb), view, 0);
  g_action_map_add_action (G_ACTION_MAP (group), G_ACTION (action));
  g_object_unref (action);

  action = g_simple_action_new_stateful ("outline", NULL,
                                         g_variant_new_boolean (ns_view3d_get_show_outline (view)));
  g_signal_connect_object (action, "change-state", G_CALLBACK (outline_change_cb), view, 0);
  g_action_map_add_action (G_ACTION_MAP (group), G_ACTION (action));
  g_object_unref (action);

  gtk_widget_insert_action_group (GTK_WIDGET (view), "view3d", G_ACTION_GROUP (group));

  button = gtk_menu_button_new ();
  gtk_widget_set_name (button, "view3d-menu");
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (button), "view-more-symbolic");
  gtk_widget_set_tooltip_text (button, "3D view: surfaces, mesh detail, brain outline");
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (button), model);
  gtk_widget_set_halign (button, GTK_ALIGN_END);
  gtk_widget_set_valign (button, GTK_ALIGN_START);
  gtk_widget_set_margin_top (button, 6);
  gtk_widget_set_margin_end (button, 6);
  /* The on-screen-display look (light on the dark view) on the button only: on the menu
   * button's node, the theme's ".osd popover" rules reach the menu too, and its items read
   * light grey on the menu's light background, as if greyed out. */
  {
    GtkWidget *inner = gtk_widget_get_first_child (button);
    gtk_widget_add_css_class (GTK_IS_BUTTON (inner) ? inner : button, "osd");
  }
  return button;
}
