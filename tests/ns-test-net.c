/* SPDX-License-Identifier: MIT
 *
 * ns-test-net.c: see ns-test-net.h.
 */
#include "ns-test-net.h"

#include "ns-checkpoint.h"

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
