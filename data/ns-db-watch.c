/* SPDX-License-Identifier: MIT
 *
 * ns-db-watch.c: the GSource of ns-db-watch.h.
 *
 * The source holds one read-only handle of its own.  Opening it may wait for a server, so
 * it happens in a thread (an Opener, shared by reference with that thread, which hands
 * the handle over or closes it when the source is gone by then); the source checks for
 * the result when the thread wakes its context.  Once open, a server's socket is a unix
 * fd of the source (LISTEN); a broken connection drops the handle and a new opener is
 * started after a pause that grows to a minute.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-db-watch.h"

#include "ns-db-private.h"

#include <string.h>

#define SERVER_CHECK_US (10 * G_USEC_PER_SEC)
#define RETRY_FIRST_US (2 * G_USEC_PER_SEC)
#define RETRY_MAX_US (60 * G_USEC_PER_SEC)

typedef struct
{
  gint ref_count;
  GMutex lock;
  char *location;
  GMainContext *context;   /* woken when done; NULL once the source is gone */
  gboolean done;
  NsDb *db;                /* the result */
  char *error;
} Opener;

typedef struct
{
  GSource source;
  char *location;
  gboolean server;
  gint64 poll_us;
  NsDb *db;
  gpointer fd_tag;
  guint listening_since;   /* db->reconnects when it started to listen */
  Opener *opener;          /* opening now, or NULL */
  gint64 next_check;       /* monotonic: next reading of the serials, or next attempt */
  gint64 retry_us;
  gboolean have_serials;
  gint64 serials[2];
  guint pending;           /* NsDbChanges to dispatch */
  char *why;               /* why it is not watching */
} WatchSource;

/* ---- opening in a thread -------------------------------------------------------------- */

static void
opener_unref (Opener *o)
{
  if (!g_atomic_int_dec_and_test (&o->ref_count))
    return;
  g_clear_pointer (&o->db, ns_db_close);
  g_free (o->error);
  g_free (o->location);
  if (o->context != NULL)
    g_main_context_unref (o->context);
  g_mutex_clear (&o->lock);
  g_free (o);
}

static gpointer
opener_thread (gpointer data)
{
  Opener *o = data;
  g_autoptr (GError) error = NULL;
  NsDb *db = ns_db_open_readonly (o->location, &error);
  g_mutex_lock (&o->lock);
  o->db = db;
  o->error = error != NULL ? g_strdup (error->message) : NULL;
  o->done = TRUE;
  if (o->context != NULL)
    g_main_context_wakeup (o->context);
  g_mutex_unlock (&o->lock);
  opener_unref (o);
  return NULL;
}

static void
start_opener (WatchSource *w)
{
  Opener *o = g_new0 (Opener, 1);
  o->ref_count = 2;   /* the source's and the thread's */
  g_mutex_init (&o->lock);
  o->location = g_strdup (w->location);
  GMainContext *ctx = g_source_get_context (&w->source);
  o->context = ctx != NULL ? g_main_context_ref (ctx) : NULL;
  w->opener = o;
  g_thread_unref (g_thread_new ("ns-db-watch", opener_thread, o));
}

/* ---- reading the changes ------------------------------------------------------------------ */

static void
drop_db (WatchSource *w, const char *reason)
{
  g_autofree char *why = g_strdup (reason);
  if (w->fd_tag != NULL)
    {
      g_source_remove_unix_fd (&w->source, w->fd_tag);
      w->fd_tag = NULL;
    }
  g_clear_pointer (&w->db, ns_db_close);
  g_free (w->why);
  w->why = g_strdup (why);
  g_debug ("watch of %s: %s", w->location, why);
  w->next_check = g_get_monotonic_time () + w->retry_us;
  w->retry_us = MIN (w->retry_us * 2, RETRY_MAX_US);
}

/* Compares the serials with the last ones read (nothing for the first reading). */
static void
read_serials (WatchSource *w)
{
  g_autoptr (GError) error = NULL;
  gint64 now[2];
  if (!_ns_db_read_change_serials (w->db, now, &error))
    {
      drop_db (w, error->message);
      return;
    }
  if (w->fd_tag != NULL && w->db->reconnects != w->listening_since)
    {
      /* The backend connected again on its own: that session does not LISTEN. */
      drop_db (w, "the connection was renewed");
      w->next_check = 0;
      return;
    }
  for (int t = 0; t < 2 && w->have_serials; t++)
    if (now[t] != w->serials[t])
      w->pending |= 1u << t;
  memcpy (w->serials, now, sizeof now);
  w->have_serials = TRUE;
  w->next_check = g_get_monotonic_time () + (w->server ? SERVER_CHECK_US : w->poll_us);
}

/* Takes the opener's handle when it is done. */
static void
collect_opener (WatchSource *w)
{
  Opener *o = w->opener;
  g_mutex_lock (&o->lock);
  gboolean done = o->done;
  NsDb *db = g_steal_pointer (&o->db);
  g_autofree char *why = g_steal_pointer (&o->error);
  g_mutex_unlock (&o->lock);
  if (!done)
    return;
  w->opener = NULL;
  opener_unref (o);
  if (db == NULL)
    {
      drop_db (w, why);
      return;
    }
  w->db = db;
  if (db->backend->listen != NULL)
    {
      int fd = db->backend->listen (db);
      if (fd < 0)
        {
          drop_db (w, db->message);
          return;
        }
      w->fd_tag = g_source_add_unix_fd (&w->source, fd, G_IO_IN | G_IO_ERR | G_IO_HUP);
      w->listening_since = db->reconnects;
    }
  g_clear_pointer (&w->why, g_free);
  w->retry_us = RETRY_FIRST_US;
  read_serials (w);
}

static void
poll_now (WatchSource *w)
{
  if (w->opener != NULL)
    {
      collect_opener (w);
      return;
    }
  if (w->db != NULL)
    {
      if (g_get_monotonic_time () >= w->next_check)
        read_serials (w);
      return;
    }
  if (g_get_monotonic_time () < w->next_check)
    return;
  /* A file that is not there yet is waited for: opening it read-only would make an empty
   * database in memory that never sees the file appear. */
  if (!w->server && !g_file_test (w->location, G_FILE_TEST_EXISTS))
    {
      g_free (w->why);
      w->why = g_strdup_printf ("%s: no such database yet", w->location);
      w->next_check = g_get_monotonic_time () + w->poll_us;
      return;
    }
  start_opener (w);
}

/* ---- the source ----------------------------------------------------------------------------- */

static gboolean
watch_prepare (GSource *source, gint *timeout)
{
  WatchSource *w = (WatchSource *) source;
  if (w->pending != 0)
    {
      *timeout = 0;
      return TRUE;
    }
  gint64 wait = w->next_check - g_get_monotonic_time ();
  if (w->opener != NULL)
    *timeout = 100;   /* the thread also wakes the context when done */
  else
    *timeout = (gint) CLAMP ((wait + 999) / 1000, 0, G_MAXINT);
  return FALSE;
}

static gboolean
watch_check (GSource *source)
{
  WatchSource *w = (WatchSource *) source;
  if (w->fd_tag != NULL && w->db != NULL
      && g_source_query_unix_fd (source, w->fd_tag) != 0)
    {
      guint changes = 0;
      if (w->db->backend->read_notifications (w->db, &changes))
        w->pending |= changes;
      else
        drop_db (w, w->db->message);
    }
  poll_now (w);
  return w->pending != 0;
}

static gboolean
watch_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  WatchSource *w = (WatchSource *) source;
  guint changes = w->pending;
  w->pending = 0;
  if (callback == NULL || changes == 0)
    return G_SOURCE_CONTINUE;
  return ((NsDbWatchFunc) (void (*) (void)) callback) (changes, user_data);
}

static void
watch_finalize (GSource *source)
{
  WatchSource *w = (WatchSource *) source;
  if (w->opener != NULL)
    {
      /* The thread may still be connecting: it closes what it opens. */
      Opener *o = w->opener;
      g_mutex_lock (&o->lock);
      if (o->context != NULL)
        g_main_context_unref (o->context);
      o->context = NULL;
      g_mutex_unlock (&o->lock);
      opener_unref (o);
    }
  g_clear_pointer (&w->db, ns_db_close);
  g_free (w->location);
  g_free (w->why);
}

static GSourceFuncs watch_funcs = {
  watch_prepare,
  watch_check,
  watch_dispatch,
  watch_finalize,
  NULL,
  NULL,
};

GSource *
ns_db_watch_source_new (const char *location, guint poll_ms)
{
  GSource *source = g_source_new (&watch_funcs, sizeof (WatchSource));
  WatchSource *w = (WatchSource *) source;
  w->location = location != NULL ? g_strdup (location) : ns_db_dup_default_path ();
  w->server = _ns_db_location_is_server (w->location);
  if (!w->server)
    {
      char *abs = g_canonicalize_filename (w->location, NULL);
      g_free (w->location);
      w->location = abs;
    }
  w->poll_us = (gint64) (poll_ms > 0 ? poll_ms : 1000) * 1000;
  w->retry_us = RETRY_FIRST_US;
  w->next_check = 0;
  w->why = g_strdup ("not started yet");
  g_source_set_name (source, "ns-db-watch");
  return source;
}

gboolean
ns_db_watch_source_is_watching (GSource *source, char **why)
{
  g_return_val_if_fail (source != NULL && source->source_funcs == &watch_funcs, FALSE);
  WatchSource *w = (WatchSource *) source;
  if (why != NULL)
    *why = w->db != NULL ? NULL : g_strdup (w->why);
  return w->db != NULL;
}
