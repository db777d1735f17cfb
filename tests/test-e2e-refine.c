/* SPDX-License-Identifier: MIT
 *
 * test-e2e-refine.c: the Refine tool (issue 15) used as a person does (ns-test-gui.h): the
 * installed program with an interactive model shipped beside it (the data folder's
 * models/interactive.safetensors, the place the tool looks after the registry), driven
 * by real key presses and clicks (xdotool), observed through its state dump.
 *
 * The model is made here: an interactive MobileNetV2-U-Net with weights 0 and head bias
 * +12, so every voxel the engine shows it joins the region: a click outside the tumour
 * must grow the mask.  R chooses the tool, a click on the axial view gives the preview
 * (the mask itself unchanged), Return applies it as one history entry, Ctrl+Z undoes it.
 */
#include "ns-config.h"

#include <string.h>

#include "ns-backend.h"
#include "ns-checkpoint.h"
#include "ns-test-gui.h"
#include "ns-test-util.h"

#define MAIN_WINDOW "NsWindow"

static void
ship_grow_model (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModelMeta) base = ns_model_meta_new_default (NULL);
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_interactive (base);
  g_autoptr (NsBackend) backend = ns_backend_new ("ref", &error);
  NsModelInit init = { .kind = NS_INIT_NONE };
  g_autoptr (NsModel) model = NULL;
  g_autofree char *path = g_build_filename (ns_gui_installed_data_dir (), "models",
                                            "interactive.safetensors", NULL);
  float bias = 12.0f;
  int index;

  g_assert_no_error (error);
  model = ns_model_new (backend, meta, &init, &error);
  g_assert_no_error (error);
  index = ns_model_find_tensor (model, "segmentation_head.0.bias");
  g_assert_cmpint (index, >=, 0);
  g_assert_cmpuint (ns_model_tensor_size (model, index), ==, 1);
  ns_model_tensor_set (model, index, &bias);
  g_assert_true (ns_checkpoint_save (model, path, NS_DTYPE_F32, &error));
  g_assert_no_error (error);
}

static const char *
refine_status (JsonObject *status)
{
  JsonObject *w = ns_gui_widget (ns_gui_window (status, MAIN_WINDOW), "refine-status");

  return w != NULL && json_object_has_member (w, "text")
         ? json_object_get_string_member (w, "text") : NULL;
}

static gboolean
status_has (JsonObject *status, gpointer data)
{
  const char *text = refine_status (status);

  return text != NULL && strstr (text, data) != NULL;
}

static gint64
workbench_int (JsonObject *status, const char *member)
{
  return json_object_get_int_member (ns_gui_workbench (status), member);
}

static gboolean
history_is (JsonObject *status, gpointer data)
{
  JsonObject *w = ns_gui_workbench (status);

  return w != NULL && json_object_has_member (w, "history")
         && json_object_get_int_member (w, "history") == GPOINTER_TO_INT (data);
}

static void
test_click_apply_undo (void)
{
  NsGuiApp *app;
  g_autoptr (JsonObject) before = NULL;
  g_autoptr (JsonObject) previewed = NULL;
  g_autoptr (JsonObject) applied = NULL;
  g_autoptr (JsonObject) undone = NULL;

  ns_gui_installed_program ();
  ship_grow_model ();
  app = ns_gui_app_start (NULL, NULL);
  g_assert_true (ns_gui_wait (app, ns_gui_case_open, NULL, 180));
  before = ns_gui_status (app);

  ns_gui_point_at (app, MAIN_WINDOW, "axial-view", 0.5, 0.5);
  ns_gui_key (app, MAIN_WINDOW, "r 2");
  g_assert_true (ns_gui_wait (app, status_has, "Click in a view: left adds to WT", 30));
  /* the slice under the click only: the test waits for the end */
  ns_gui_point_at (app, MAIN_WINDOW, "refine-propagate", 0.1, 0.5);
  ns_gui_click (app);

  /* inside the brain, in front of the tumour (which is to the left and below) */
  ns_gui_point_at (app, MAIN_WINDOW, "axial-view", 0.5, 0.35);
  ns_gui_click (app);
  g_assert_true (ns_gui_wait (app, status_has, "1 click", 180));
  previewed = ns_gui_status (app);
  /* a preview only: the mask and its history are as before */
  g_assert_cmpint (workbench_int (previewed, "history"), ==, workbench_int (before, "history"));
  g_assert_cmpint (workbench_int (previewed, "mask_nonzero"), ==,
                   workbench_int (before, "mask_nonzero"));

  ns_gui_point_at (app, MAIN_WINDOW, "axial-view", 0.5, 0.35);
  ns_gui_key (app, NULL, "Return");
  g_assert_true (ns_gui_wait (app, history_is,
                              GINT_TO_POINTER (workbench_int (before, "history") + 1), 30));
  applied = ns_gui_status (app);
  g_assert_cmpint (workbench_int (applied, "mask_nonzero"), >,
                   workbench_int (before, "mask_nonzero"));

  ns_gui_key (app, MAIN_WINDOW, "ctrl+z");
  g_assert_true (ns_gui_wait (app, history_is,
                              GINT_TO_POINTER (workbench_int (before, "history")), 30));
  undone = ns_gui_status (app);
  g_assert_cmpint (workbench_int (undone, "mask_nonzero"), ==,
                   workbench_int (before, "mask_nonzero"));
  ns_gui_app_free (app);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/e2e/refine/click-apply-undo", test_click_apply_undo);
  return g_test_run ();
}
