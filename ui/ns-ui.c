/* SPDX-License-Identifier: MIT
 *
 * ns-ui.c: library-wide set-up of ui/ (see ns-ui.h).  The bundle is compiled with
 * --manual-register because ui/ is a static library: an automatic constructor in an
 * object file nothing refers to would never be linked in.
 */
#define G_LOG_DOMAIN "ns-ui"

#include "ns-ui.h"

#include "ns-resources.h"

void
ns_ui_ensure_resources (void)
{
  static gsize done;

  if (g_once_init_enter (&done))
    {
      ns_register_resource ();
      g_once_init_leave (&done, 1);
    }
}
