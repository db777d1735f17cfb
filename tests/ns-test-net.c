/* SPDX-License-Identifier: MIT
 *
 * ns-test-net.c: see ns-test-net.h.
 */
#include "ns-test-net.h"

#include "ns-checkpoint.h"
#include "ns-test-util.h"

gsize
ns_test_backend_bytes (NsBackend *backend)
{
  gsize free_bytes = 0;

  ns_backend_set_memory_limit (backend, G_MAXSIZE / 2);
  g_assert_true (ns_backend_get_memory (backend, &free_bytes, NULL));
  ns_backend_set_memory_limit (backend, 0);
  return G_MAXSIZE / 2 - free_bytes;
}

gsize
ns_test_checkpoint_bytes (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsBackend) be = ns_backend_new ("ref", &error);
  g_assert_no_error (error);
  g_autoptr (NsModel) m = ns_checkpoint_load (path, be, &error);
  g_assert_no_error (error);
  return ns_test_backend_bytes (be);
}

static char *
write_random_model (const char *name, guint64 seed, gboolean interactive)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsBackend) be = ns_backend_new ("ref", &error);
  g_assert_no_error (error);
  g_autoptr (NsModelMeta) base = ns_model_meta_new_default ("mobilenetv2-unet");
  g_autoptr (NsModelMeta) meta = interactive ? ns_model_meta_new_interactive (base)
                                             : ns_model_meta_copy (base);
  NsModelInit init = { NS_INIT_KAIMING, 0, seed };
  g_autoptr (NsModel) m = ns_model_new (be, meta, &init, &error);
  g_assert_no_error (error);
  char *path = g_build_filename (ns_test_tmpdir (), name, NULL);
  g_assert_true (ns_checkpoint_save (m, path, NS_DTYPE_F32, &error));
  g_assert_no_error (error);
  return path;
}

char *
ns_test_write_random_model (const char *name, guint64 seed)
{
  return write_random_model (name, seed, FALSE);
}

char *
ns_test_write_random_interactive_model (const char *name, guint64 seed)
{
  return write_random_model (name, seed, TRUE);
}
