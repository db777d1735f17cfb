/* SPDX-License-Identifier: MIT
 *
 * ns-memory.c: see ns-memory.h.
 *
 * The available memory is read from /proc/meminfo (MemAvailable: what can be allocated
 * without swapping, page cache that can be dropped included) and, inside a container,
 * from the memory cgroup (v2: memory.max - memory.current; v1: memory.limit_in_bytes -
 * memory.usage_in_bytes), because MemAvailable there describes the host.  Both are read
 * at each reservation: they are a few hundred bytes of procfs, and a reservation precedes
 * decoding a file (milliseconds to seconds), so there is no point caching them.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-memory.h"

#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE_PAGE ((gsize) 2 << 20)
#define LARGE ((gsize) 4 << 20)

static void
advise_huge (gpointer p, gsize bytes)
{
#ifdef MADV_HUGEPAGE
  /* Advice only: a kernel without THP ignores it (or says EINVAL), and 4 KiB pages work.
   * Only whole 2 MiB pages inside the buffer can be huge: advise those. */
  guintptr start = ((guintptr) p + HUGE_PAGE - 1) & ~(guintptr) (HUGE_PAGE - 1);
  guintptr end = ((guintptr) p + bytes) & ~(guintptr) (HUGE_PAGE - 1);
  if (end > start)
    madvise ((void *) start, end - start, MADV_HUGEPAGE);
#else
  (void) p;
  (void) bytes;
#endif
}

gpointer
ns_memory_alloc_large (gsize bytes, gboolean zero)
{
  void *p = NULL;

  if (bytes < LARGE || bytes > G_MAXSIZE - HUGE_PAGE)
    return zero ? g_try_malloc0 (MAX (bytes, 1)) : g_try_malloc (MAX (bytes, 1));
  gsize rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
  if (posix_memalign (&p, HUGE_PAGE, rounded) != 0)
    return NULL;
  advise_huge (p, rounded);
  if (zero)
    memset (p, 0, bytes);
  return p;
}

gpointer
ns_memory_realloc_large (gpointer p, gsize bytes)
{
  /* glibc moves a large block with mremap (no copy); the 2 MiB alignment may be lost, so
   * the advice is given again for the whole pages the new block holds. */
  gpointer q = g_try_realloc (p, MAX (bytes, 1));
  if (q != NULL && bytes >= LARGE)
    advise_huge (q, bytes);
  return q;
}

void
ns_memory_trim (void)
{
#ifdef __GLIBC__
  malloc_trim (0);
#endif
}

/* ---- the budget --------------------------------------------------------------------------- */

static GMutex budget_lock;
static guint64 budget_reserved;   /* sum of the reservations held */
static guint64 budget_limit;      /* 0: from the system */

/* A number from a one-line file ("max" is no limit); FALSE when unreadable. */
static gboolean
read_u64_file (const char *path, guint64 *value)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  g_strstrip (text);
  if (g_str_equal (text, "max"))
    {
      *value = G_MAXUINT64;
      return TRUE;
    }
  char *end = NULL;
  guint64 v = g_ascii_strtoull (text, &end, 10);
  if (end == text || *end != '\0')
    return FALSE;
  *value = v;
  return TRUE;
}

/* limit - usage of one cgroup folder, or G_MAXUINT64 when it has no limit we can read. */
static guint64
cgroup_room (const char *dir, const char *limit_name, const char *usage_name)
{
  g_autofree char *limit_path = g_build_filename (dir, limit_name, NULL);
  g_autofree char *usage_path = g_build_filename (dir, usage_name, NULL);
  guint64 limit, usage;
  if (!read_u64_file (limit_path, &limit) || !read_u64_file (usage_path, &usage))
    return G_MAXUINT64;
  /* cgroup v1 says "no limit" with a huge page-rounded number. */
  if (limit >= ((guint64) 1 << 62))
    return G_MAXUINT64;
  return limit > usage ? limit - usage : 0;
}

/* The room left by the memory cgroup this process is in, G_MAXUINT64 when unlimited.
 * Inside a cgroup namespace the process's own cgroup is the root of /sys/fs/cgroup, so
 * both the path from /proc/self/cgroup and the root are tried. */
static guint64
cgroup_available (void)
{
  g_autofree char *text = NULL;
  guint64 room = G_MAXUINT64;

  if (!g_file_get_contents ("/proc/self/cgroup", &text, NULL, NULL))
    return room;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    {
      /* "0::/path" (v2) or "4:memory:/path" (v1). */
      g_auto (GStrv) f = g_strsplit (*l, ":", 3);
      if (g_strv_length (f) != 3)
        continue;
      gboolean v2 = g_str_equal (f[0], "0") && f[1][0] == '\0';
      gboolean v1 = strstr (f[1], "memory") != NULL;
      if (!v1 && !v2)
        continue;
      const char *root = v2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory";
      const char *limit_name = v2 ? "memory.max" : "memory.limit_in_bytes";
      const char *usage_name = v2 ? "memory.current" : "memory.usage_in_bytes";
      g_autofree char *own = g_build_filename (root, f[2], NULL);
      room = MIN (room, cgroup_room (own, limit_name, usage_name));
      room = MIN (room, cgroup_room (root, limit_name, usage_name));
    }
  return room;
}

static guint64
system_available (void)
{
  g_autofree char *text = NULL;
  guint64 avail = G_MAXUINT64;

  if (g_file_get_contents ("/proc/meminfo", &text, NULL, NULL))
    {
      const char *line = strstr (text, "MemAvailable:");
      if (line != NULL)
        avail = g_ascii_strtoull (line + strlen ("MemAvailable:"), NULL, 10) * 1024;
    }
  if (avail == G_MAXUINT64)
    {
      /* No procfs (or a kernel before 3.14): free physical pages. */
      long pages = sysconf (_SC_AVPHYS_PAGES);
      long page = sysconf (_SC_PAGESIZE);
      if (pages > 0 && page > 0)
        avail = (guint64) pages * (guint64) page;
    }
  avail = MIN (avail, cgroup_available ());
  if (avail == G_MAXUINT64)
    return avail;
  return avail - avail / 8;
}

/* Called with budget_lock held. */
static guint64
available_locked (void)
{
  guint64 limit = budget_limit != 0 ? budget_limit : system_available ();
  return limit > budget_reserved ? limit - budget_reserved : 0;
}

guint64
ns_memory_available (void)
{
  g_mutex_lock (&budget_lock);
  guint64 avail = available_locked ();
  g_mutex_unlock (&budget_lock);
  return avail;
}

gboolean
ns_memory_reserve (guint64 bytes, guint64 *available)
{
  g_mutex_lock (&budget_lock);
  guint64 avail = available_locked ();
  gboolean ok = bytes <= avail;
  if (ok)
    budget_reserved += bytes;
  g_mutex_unlock (&budget_lock);
  if (!ok && available != NULL)
    *available = avail;
  return ok;
}

void
ns_memory_release (guint64 bytes)
{
  g_mutex_lock (&budget_lock);
  g_assert (bytes <= budget_reserved);
  budget_reserved -= bytes;
  g_mutex_unlock (&budget_lock);
}

void
ns_memory_set_limit (guint64 bytes)
{
  g_mutex_lock (&budget_lock);
  budget_limit = bytes;
  g_mutex_unlock (&budget_lock);
}
