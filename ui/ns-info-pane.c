/* SPDX-License-Identifier: MIT
 *
 * ns-info-pane.c: the case and its tumour volumes (see ns-info-pane.h).  The volumes are
 * counted by the viewer (ns_viewer_get_volumes); this widget only lays them out.
 */
#define G_LOG_DOMAIN "ns-info-pane"

#include "ns-info-pane.h"

#include "ns-ui.h"

struct _NsInfoPane
{
  GtkBox parent_instance;

  NsViewer *viewer;
  GHashTable *value_labels;      /* row name -> GtkLabel (borrowed, children of the grid) */
  guint32 shown_rgb[256];        /* the swatch colour of each label row */

  /* template children */
  GtkLabel *title_label;
  GtkLabel *grid_label;
  GtkGrid *volume_grid;
};

G_DEFINE_FINAL_TYPE (NsInfoPane, ns_info_pane, GTK_TYPE_BOX)

enum {
  PROP_0,
  PROP_VIEWER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
add_row (NsInfoPane *self, int row, const char *key, const char *name, guint32 rgb,
         double ml)
{
  GtkWidget *name_label = gtk_label_new (name);
  g_autofree char *text = g_strdup_printf ("%.2f mL", ml);
  GtkWidget *value_label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (name_label), 0);
  gtk_widget_set_hexpand (name_label, TRUE);
  gtk_label_set_xalign (GTK_LABEL (value_label), 1);
  gtk_widget_add_css_class (value_label, "numeric");
  if (rgb != G_MAXUINT32)
    {
      g_autofree char *markup = g_markup_printf_escaped (
        "<span foreground=\"#%06x\">■</span> %s", rgb, name);
      gtk_label_set_markup (GTK_LABEL (name_label), markup);
    }
  else
    gtk_widget_add_css_class (name_label, "heading");
  gtk_grid_attach (self->volume_grid, name_label, 0, row, 1, 1);
  gtk_grid_attach (self->volume_grid, value_label, 1, row, 1, 1);
  g_hash_table_insert (self->value_labels, g_strdup (key), value_label);
}

static void
rebuild (NsInfoPane *self)
{
  GtkWidget *child;
  const NsViewerVolumes *volumes;
  const NsGrid *grid;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->volume_grid))) != NULL)
    gtk_grid_remove (self->volume_grid, child);
  g_hash_table_remove_all (self->value_labels);

  if (self->viewer == NULL || !ns_viewer_has_case (self->viewer))
    {
      gtk_label_set_text (self->title_label, "No case open");
      gtk_label_set_text (self->grid_label, "File ▸ Open Case… or drop a folder here");
      return;
    }

  grid = ns_viewer_get_grid (self->viewer);
  gtk_label_set_text (self->title_label, ns_viewer_get_title (self->viewer));
  {
    char orientation[4];
    g_autoptr (GString) modalities = g_string_new (NULL);
    g_autofree char *text = NULL;

    ns_grid_orientation_code (grid, orientation);
    for (guint i = 0; i < ns_viewer_get_n_images (self->viewer); i++)
      g_string_append_printf (modalities, "%s%s", i > 0 ? ", " : "",
                              ns_viewer_modality_label (ns_viewer_get_image_name (self->viewer,
                                                                                  i)));
    text = g_strdup_printf ("%d × %d × %d voxels, %.2g × %.2g × %.2g mm, %s\n%s",
                            grid->dim[0], grid->dim[1], grid->dim[2], grid->spacing[0],
                            grid->spacing[1], grid->spacing[2], orientation, modalities->str);
    gtk_label_set_text (self->grid_label, text);
  }

  volumes = ns_viewer_get_volumes (self->viewer);
  if (volumes == NULL)
    {
      GtkWidget *none = gtk_label_new ("No label map");
      gtk_label_set_xalign (GTK_LABEL (none), 0);
      gtk_widget_add_css_class (none, "dim-label");
      gtk_grid_attach (self->volume_grid, none, 0, 0, 2, 1);
      return;
    }

  add_row (self, 0, "WT", "Whole tumour (WT)", G_MAXUINT32, volumes->wt_ml);
  add_row (self, 1, "TC", "Tumour core (TC)", G_MAXUINT32, volumes->tc_ml);
  add_row (self, 2, "ET", "Enhancing tumour (ET)", G_MAXUINT32, volumes->et_ml);
  {
    const NsLabelClass *infos;
    guint n_infos;

    infos = ns_viewer_get_label_classes (self->viewer, &n_infos);
    for (guint i = 0; i < n_infos; i++)
      {
        char key[4];
        g_autofree char *name = g_strdup_printf ("%u %s", infos[i].value, infos[i].name);

        name[2] = g_ascii_toupper (name[2]);  /* the scheme's names are lower case */

        g_snprintf (key, sizeof key, "%u", infos[i].value);
        self->shown_rgb[infos[i].value] = ns_viewer_get_label_rgb (self->viewer,
                                                                   infos[i].value);
        add_row (self, 3 + i, key, name, self->shown_rgb[infos[i].value],
                 volumes->label_ml[infos[i].value]);
      }
  }
}

static void
viewer_changed_cb (NsInfoPane *self, NsViewer *viewer)
{
  rebuild (self);
}

/* Display changes are frequent (a window/level drag): rebuild only for a new colour. */
static void
viewer_display_changed_cb (NsInfoPane *self, NsViewer *viewer)
{
  const NsLabelClass *classes;
  guint n_classes;

  if (ns_viewer_get_volumes (viewer) == NULL)
    return;
  classes = ns_viewer_get_label_classes (viewer, &n_classes);
  for (guint i = 0; i < n_classes; i++)
    if (ns_viewer_get_label_rgb (viewer, classes[i].value) != self->shown_rgb[classes[i].value])
      {
        rebuild (self);
        return;
      }
}

static void
ns_info_pane_dispose (GObject *object)
{
  NsInfoPane *self = NS_INFO_PANE (object);

  ns_info_pane_set_viewer (self, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), NS_TYPE_INFO_PANE);
  g_clear_pointer (&self->value_labels, g_hash_table_unref);

  G_OBJECT_CLASS (ns_info_pane_parent_class)->dispose (object);
}

static void
ns_info_pane_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  NsInfoPane *self = NS_INFO_PANE (object);

  switch (prop_id)
    {
    case PROP_VIEWER:
      g_value_set_object (value, self->viewer);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_info_pane_set_property (GObject *object, guint prop_id, const GValue *value,
                           GParamSpec *pspec)
{
  NsInfoPane *self = NS_INFO_PANE (object);

  switch (prop_id)
    {
    case PROP_VIEWER:
      ns_info_pane_set_viewer (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ns_info_pane_class_init (NsInfoPaneClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ns_info_pane_dispose;
  object_class->get_property = ns_info_pane_get_property;
  object_class->set_property = ns_info_pane_set_property;

  properties[PROP_VIEWER] =
    g_param_spec_object ("viewer", NULL, NULL, NS_TYPE_VIEWER,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  ns_ui_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/neuroseg/Neuroseg/ui/ns-info-pane.ui");
  gtk_widget_class_bind_template_child (widget_class, NsInfoPane, title_label);
  gtk_widget_class_bind_template_child (widget_class, NsInfoPane, grid_label);
  gtk_widget_class_bind_template_child (widget_class, NsInfoPane, volume_grid);
  gtk_widget_class_set_css_name (widget_class, "infopane");
}

static void
ns_info_pane_init (NsInfoPane *self)
{
  self->value_labels = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gtk_widget_init_template (GTK_WIDGET (self));
  rebuild (self);
}

NsViewer *
ns_info_pane_get_viewer (NsInfoPane *self)
{
  g_return_val_if_fail (NS_IS_INFO_PANE (self), NULL);
  return self->viewer;
}

void
ns_info_pane_set_viewer (NsInfoPane *self, NsViewer *viewer)
{
  g_return_if_fail (NS_IS_INFO_PANE (self));
  g_return_if_fail (viewer == NULL || NS_IS_VIEWER (viewer));

  if (self->viewer == viewer)
    return;
  if (self->viewer != NULL)
    g_signal_handlers_disconnect_by_data (self->viewer, self);
  g_set_object (&self->viewer, viewer);
  if (viewer != NULL)
    {
      g_signal_connect_object (viewer, "case-changed", G_CALLBACK (viewer_changed_cb), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (viewer, "labels-changed", G_CALLBACK (viewer_changed_cb), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (viewer, "display-changed",
                               G_CALLBACK (viewer_display_changed_cb), self, G_CONNECT_SWAPPED);
    }
  if (self->value_labels != NULL)
    rebuild (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VIEWER]);
}

const char *
ns_info_pane_get_volume_text (NsInfoPane *self, const char *row)
{
  GtkLabel *label;

  g_return_val_if_fail (NS_IS_INFO_PANE (self), NULL);

  label = g_hash_table_lookup (self->value_labels, row);
  return label != NULL ? gtk_label_get_text (label) : NULL;
}
