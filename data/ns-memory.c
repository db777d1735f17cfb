/* SPDX-License-Identifier: MIT
 *
 * ns-memory.c: see ns-memory.h.
 */
#include "ns-memory.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE_PAGE ((gsize) 2 << 20)
#define LARGE ((gsize) 4 << 20)

gpointer
ns_memory_alloc_large (gsize bytes, gboolean zero)
{
  void *p = NULL;

  if (bytes < LARGE || bytes > G_MAXSIZE - HUGE_PAGE)
    return zero ? g_try_malloc0 (MAX (bytes, 1)) : g_try_malloc (MAX (bytes, 1));
  gsize rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
  if (posix_memalign (&p, HUGE_PAGE, rounded) != 0)
    return NULL;
#ifdef MADV_HUGEPAGE
  /* advice only: a kernel without THP ignores it (or says EINVAL), and 4 KiB pages work */
  madvise (p, rounded, MADV_HUGEPAGE);
#endif
  if (zero)
    memset (p, 0, bytes);
  return p;
}
