/* SPDX-License-Identifier: MIT
 *
 * ns-memory.h: large buffers (volumes, label maps, tensors, decompression) on transparent
 * huge pages.
 *
 * Debian's kernels give a process 2 MiB pages only where it asks (THP "madvise" mode);
 * otherwise every 4 KiB of a fresh buffer costs a page fault on first touch, which on the
 * virtual machines measured here was a quarter of `neuroseg segment`'s time.  Buffers of
 * 4 MiB and more are aligned to 2 MiB and advised MADV_HUGEPAGE; smaller ones come from
 * malloc as before.  Free either with g_free () or free ().
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* NULL when out of memory.  zero: the buffer is cleared. */
gpointer ns_memory_alloc_large (gsize bytes, gboolean zero);

G_END_DECLS
