/* SPDX-License-Identifier: MIT
 *
 * ns-memory.h: large buffers (volumes, label maps, tensors, decompression) on transparent
 * huge pages, and the budget that bounds what decoding files may take.
 *
 * Debian's kernels give a process 2 MiB pages only where it asks (THP "madvise" mode);
 * otherwise every 4 KiB of a fresh buffer costs a page fault on first touch, which on the
 * virtual machines measured here was a quarter of `neuroseg segment`'s time.  Buffers of
 * 4 MiB and more are aligned to 2 MiB and advised MADV_HUGEPAGE; smaller ones come from
 * malloc as before.  Free either with g_free () or free ().
 *
 * The budget: a file's header says how much memory decoding it will take, and a header
 * can lie or be absurd.  Before allocating for a file, a reader reserves that much; the
 * reservation succeeds only while the sum of all reservations held (several files are
 * decoded in parallel) stays within the memory the system has available now
 * (MemAvailable, and the cgroup's limit where that is lower), less an eighth kept for
 * everything else.  It is conservative while decodes run: what they have already touched
 * counts both in their reservation and against MemAvailable.  Thread-safe.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* NULL when out of memory.  zero: the buffer is cleared. */
gpointer ns_memory_alloc_large    (gsize bytes, gboolean zero);
/* Grows or shrinks a buffer from ns_memory_alloc_large () (or g_malloc ()) to bytes,
 * keeping its content; NULL when out of memory, and then p is untouched. */
gpointer ns_memory_realloc_large  (gpointer p, gsize bytes);

/* Memory the budget could still grant now: the limit (ns_memory_set_limit (), else what
 * the system has available less an eighth) minus every reservation held. */
guint64  ns_memory_available      (void);
/* Reserves bytes of the budget; FALSE (nothing reserved) when they exceed
 * ns_memory_available (), whose value is then stored in available (may be NULL). */
gboolean ns_memory_reserve        (guint64 bytes, guint64 *available);
/* Gives back a reservation (the buffers are filled, or freed). */
void     ns_memory_release        (guint64 bytes);
/* Gives the memory freed since back to the system where the C library keeps it for
 * reuse (glibc: malloc_trim (0), which also empties the worker threads' arenas).  After a
 * job that allocated and freed hundreds of MB (Run Model), so that the workbench's
 * resident size falls back to what it holds; a no-op elsewhere. */
void     ns_memory_trim           (void);
/* A fixed limit for the sum of reservations instead of the system's available memory
 * (0: back to the system's); for a fuzzer or a host that wants a smaller bound. */
void     ns_memory_set_limit      (guint64 bytes);

G_END_DECLS
