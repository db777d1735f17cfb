/* SPDX-License-Identifier: MIT
 *
 * ns-journal.c: the crash journal and its writer thread.
 *
 * The calling thread only references the change and pushes it on a GAsyncQueue; the
 * writer serialises it, pwrite()s it at the end of the file and fdatasync()s once the
 * queue is empty, so a burst of dabs costs one sync.  Flush and truncate are queue items
 * too, so they are ordered with the records; the caller waits for their ticket.
 *
 * The writer's first error stops journaling (a record missing in the middle would make a
 * recovery replay a state that never existed) until a truncation (a save) makes the
 * journal whole again.  The error is reported to the owner at once, from an idle source
 * in the main context that was thread-default at open, and is never dropped unseen: close
 * returns it (ns_journal_close_full) or logs it.
 *
 * Opening trusts nothing at the path: it must be a regular file (O_NOFOLLOW, fstat; a
 * FIFO is never read, a link to /dev/zero never followed) no larger than the memory
 * budget (ns-memory.h) allows to read back.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-journal.h"
#include "ns-file.h"
#include "ns-memory.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <glib/gstdio.h>

#define JOURNAL_MAGIC 0x314A534EU      /* "NSJ1" little-endian */
#define RECORD_HEADER 20               /* magic, sequence, length, crc */
#define PAYLOAD_FIXED 30               /* forward, pad, time, voxels, n, name length */

/* The first payload byte: how a record applies. */
#define RECORD_UNDO 0                  /* write the old values */
#define RECORD_FORWARD 1               /* write the new values */
#define RECORD_BASE 2                  /* no voxels; the name identifies the saved mask */

typedef enum
{
  ITEM_RECORD,
  ITEM_FLUSH,
  ITEM_TRUNCATE,
  ITEM_STOP,
} ItemKind;

typedef struct
{
  ItemKind kind;
  NsEditChange *change;
  int forward;                 /* RECORD_UNDO, RECORD_FORWARD or RECORD_BASE */
  guint64 ticket;
} Item;

struct _NsJournal
{
  char *path;
  int fd;
  GThread *writer;
  GAsyncQueue *queue;          /* Item */

  GMutex lock;                 /* guards the fields down to error_source */
  GCond cond;
  guint64 tickets_issued;      /* caller side */
  guint64 tickets_done;
  GError *error;               /* the writer's first error since open or truncation */
  gboolean error_reported;     /* error went to the owner (error func, flush, truncate) */
  NsJournalErrorFunc error_func;
  gpointer error_data;
  GDestroyNotify error_destroy;
  GSource *error_source;       /* a report queued in context, or NULL */

  GMainContext *context;       /* thread-default at open: where error_func is called */

  /* writer thread only (set up before it starts) */
  guint64 next_seq;
  off_t end;
  gboolean failed;             /* since the first error: records are not written */

  gint n_records;              /* atomic */
  GPtrArray *recovered;        /* NsEditChange found at open */
  GArray *recovered_forward;   /* gboolean */
  char *found_base;            /* the first base marker found at open */
  GString *dropped;            /* what recovery had to leave out, or NULL */
  char *base_id;               /* caller side: the marker written before the next record */
  gboolean need_base;
};

char *
ns_journal_path_for_case (const char *case_path)
{
  g_return_val_if_fail (case_path != NULL, NULL);
  g_autofree char *canon = g_canonicalize_filename (case_path, NULL);
  g_autofree char *hash = g_compute_checksum_for_string (G_CHECKSUM_SHA256, canon, -1);
  hash[32] = '\0';
  const char *env = g_getenv ("NEUROSEG_DATA_DIR");
  g_autofree char *base = env != NULL && *env != '\0'
                            ? g_strdup (env)
                            : g_build_filename (g_get_user_data_dir (), "neuroseg", NULL);
  g_autofree char *name = g_strconcat (hash, ".journal", NULL);
  return g_build_filename (base, "journal", name, NULL);
}

/* ---- encoding ----------------------------------------------------------------------------- */

static void
put_u16 (GByteArray *b, guint16 v)
{
  v = GUINT16_TO_LE (v);
  g_byte_array_append (b, (const guint8 *) &v, 2);
}

static void
put_u32 (GByteArray *b, guint32 v)
{
  v = GUINT32_TO_LE (v);
  g_byte_array_append (b, (const guint8 *) &v, 4);
}

static void
put_u64 (GByteArray *b, guint64 v)
{
  v = GUINT64_TO_LE (v);
  g_byte_array_append (b, (const guint8 *) &v, 8);
}

static guint16
get_u16 (const guint8 *p)
{
  guint16 v;
  memcpy (&v, p, 2);
  return GUINT16_FROM_LE (v);
}

static guint32
get_u32 (const guint8 *p)
{
  guint32 v;
  memcpy (&v, p, 4);
  return GUINT32_FROM_LE (v);
}

static guint64
get_u64 (const guint8 *p)
{
  guint64 v;
  memcpy (&v, p, 8);
  return GUINT64_FROM_LE (v);
}

static GByteArray *
encode_record (const NsEditChange *change, int forward, guint64 seq)
{
  gsize name_len = MIN (strlen (change->name), G_MAXUINT16);
  gsize payload = PAYLOAD_FIXED + name_len + change->n * 6;
  GByteArray *b = g_byte_array_sized_new (RECORD_HEADER + payload);
  put_u32 (b, JOURNAL_MAGIC);
  put_u64 (b, seq);
  put_u32 (b, (guint32) payload);
  put_u32 (b, 0); /* CRC, below */
  guint8 head[4] = { (guint8) forward, 0, 0, 0 };
  g_byte_array_append (b, head, 4);
  put_u64 (b, (guint64) change->time);
  put_u64 (b, change->n_voxels);
  put_u64 (b, change->n);
  put_u16 (b, (guint16) name_len);
  g_byte_array_append (b, (const guint8 *) change->name, name_len);
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
  g_byte_array_append (b, (const guint8 *) change->index, change->n * 4);
#else
  for (gsize i = 0; i < change->n; i++)
    put_u32 (b, change->index[i]);
#endif
  g_byte_array_append (b, change->old_value, change->n);
  g_byte_array_append (b, change->new_value, change->n);
  g_assert (b->len == RECORD_HEADER + payload);
  guint32 crc = crc32 (0L, b->data + 4, 12);
  crc = crc32 (crc, b->data + RECORD_HEADER, (uInt) payload);
  crc = GUINT32_TO_LE (crc);
  memcpy (b->data + 16, &crc, 4);
  return b;
}

/* One record at data[0 .. size): its change, or NULL when it is torn or invalid. */
static NsEditChange *
decode_record (const guint8 *data, gsize size, guint64 want_seq, int *forward,
               gsize *record_len)
{
  if (size < RECORD_HEADER || get_u32 (data) != JOURNAL_MAGIC || get_u64 (data + 4) != want_seq)
    return NULL;
  gsize payload = get_u32 (data + 12);
  if (payload < PAYLOAD_FIXED || payload > size - RECORD_HEADER)
    return NULL;
  guint32 crc = crc32 (0L, data + 4, 12);
  crc = crc32 (crc, data + RECORD_HEADER, (uInt) payload);
  if (crc != get_u32 (data + 16))
    return NULL;
  const guint8 *p = data + RECORD_HEADER;
  *forward = p[0];
  if (*forward > RECORD_BASE)
    return NULL;
  gint64 time = (gint64) get_u64 (p + 4);
  guint64 n_voxels = get_u64 (p + 12);
  guint64 n = get_u64 (p + 20);
  gsize name_len = get_u16 (p + 28);
  if (n_voxels > G_MAXUINT32 + (guint64) 1 || n > n_voxels
      || payload != PAYLOAD_FIXED + name_len + n * 6)
    return NULL;
  g_autofree char *name = g_strndup ((const char *) p + PAYLOAD_FIXED, name_len);
  const guint8 *arrays = p + PAYLOAD_FIXED + name_len;
  g_autofree guint32 *index = g_new (guint32, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    index[i] = get_u32 (arrays + 4 * i);
  *record_len = RECORD_HEADER + payload;
  return ns_edit_change_new_from_arrays (name, time, n_voxels, n, index, arrays + 4 * n,
                                         arrays + 5 * n);
}

/* ---- writer thread ------------------------------------------------------------------------ */

static gboolean report_error_cb (gpointer data);

/* Queues a report of the error to the owner, once.  Called with the lock held. */
static void
schedule_report_locked (NsJournal *j)
{
  if (j->error == NULL || j->error_reported || j->error_func == NULL || j->error_source != NULL)
    return;
  j->error_source = g_idle_source_new ();
  g_source_set_name (j->error_source, "[neuroseg] journal error");
  g_source_set_callback (j->error_source, report_error_cb, j, NULL);
  g_source_attach (j->error_source, j->context);
}

/* In the owner's context: the error, unless a truncation has cleared it meanwhile (the
 * edits it concerned were saved). */
static gboolean
report_error_cb (gpointer data)
{
  NsJournal *j = data;

  g_mutex_lock (&j->lock);
  g_clear_pointer (&j->error_source, g_source_unref);
  GError *copy = NULL;
  if (j->error != NULL && !j->error_reported && j->error_func != NULL)
    {
      copy = g_error_copy (j->error);
      j->error_reported = TRUE;
    }
  NsJournalErrorFunc func = j->error_func;
  gpointer func_data = j->error_data;
  g_mutex_unlock (&j->lock);

  if (copy != NULL)
    {
      func (j, copy, func_data);
      g_error_free (copy);
    }
  return G_SOURCE_REMOVE;
}

static void
writer_fail (NsJournal *j, const char *what, int err)
{
  j->failed = TRUE;
  g_mutex_lock (&j->lock);
  if (j->error == NULL)
    {
      j->error = g_error_new (NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL, "%s: %s: %s", j->path,
                              what, g_strerror (err));
      j->error_reported = FALSE;
      schedule_report_locked (j);
    }
  g_mutex_unlock (&j->lock);
}

static void
writer_done (NsJournal *j, guint64 ticket)
{
  g_mutex_lock (&j->lock);
  j->tickets_done = ticket;
  g_cond_broadcast (&j->cond);
  g_mutex_unlock (&j->lock);
}

static void
writer_write (NsJournal *j, const Item *item)
{
  if (j->failed)
    return; /* not protected until a truncation; see the top of the file */
  g_autoptr (GByteArray) b = encode_record (item->change, item->forward, j->next_seq);
  gsize done = 0;
  while (done < b->len)
    {
      ssize_t w = pwrite (j->fd, b->data + done, b->len - done, j->end + (off_t) done);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          int err = w < 0 ? errno : ENOSPC;
          /* Cut the partial record so later ones are not hidden behind it, before the
           * error is published: whoever sees the error sees the journal as it stays (the
           * size read right after the report once still held the partial record). */
          if (ftruncate (j->fd, j->end) != 0)
            writer_fail (j, "cannot truncate the journal", errno);
          writer_fail (j, "cannot append to the journal", err);
          return;
        }
      done += (gsize) w;
    }
  j->end += (off_t) b->len;
  j->next_seq++;
  g_atomic_int_inc (&j->n_records);
}

static gpointer
writer_main (gpointer data)
{
  NsJournal *j = data;
  for (;;)
    {
      Item *item = g_async_queue_pop (j->queue);
      gboolean dirty = FALSE, stop = FALSE;
      while (item != NULL)
        {
          switch (item->kind)
            {
            case ITEM_RECORD:
              writer_write (j, item);
              dirty = TRUE;
              ns_edit_change_unref (item->change);
              break;
            case ITEM_FLUSH:
            case ITEM_STOP:
              if (dirty && fdatasync (j->fd) != 0)
                writer_fail (j, "cannot sync the journal", errno);
              dirty = FALSE;
              stop = item->kind == ITEM_STOP;
              writer_done (j, item->ticket);
              break;
            case ITEM_TRUNCATE:
              if (ftruncate (j->fd, 0) != 0 || fsync (j->fd) != 0)
                writer_fail (j, "cannot truncate the journal", errno);
              else
                {
                  /* Empty and synced: whole again, on the saved mask as its base. */
                  j->failed = FALSE;
                  g_mutex_lock (&j->lock);
                  g_clear_error (&j->error);
                  j->error_reported = FALSE;
                  g_mutex_unlock (&j->lock);
                }
              j->end = 0;
              j->next_seq = 1;
              g_atomic_int_set (&j->n_records, 0);
              dirty = FALSE;
              writer_done (j, item->ticket);
              break;
            }
          g_free (item);
          if (stop)
            return NULL;
          item = g_async_queue_try_pop (j->queue);
        }
      if (dirty && fdatasync (j->fd) != 0)
        writer_fail (j, "cannot sync the journal", errno);
    }
}

/* Queues an item that the caller waits for; returns its ticket. */
static guint64
push_waited (NsJournal *j, ItemKind kind)
{
  Item *item = g_new0 (Item, 1);
  item->kind = kind;
  g_mutex_lock (&j->lock);
  guint64 ticket = item->ticket = ++j->tickets_issued;
  g_mutex_unlock (&j->lock);
  /* The writer frees the item: do not read it after the push. */
  g_async_queue_push (j->queue, item);
  return ticket;
}

static gboolean
wait_ticket (NsJournal *j, guint64 ticket, GError **error)
{
  g_mutex_lock (&j->lock);
  while (j->tickets_done < ticket)
    g_cond_wait (&j->cond, &j->lock);
  gboolean ok = j->error == NULL;
  if (!ok && error != NULL)
    {
      g_propagate_error (error, g_error_copy (j->error));
      j->error_reported = TRUE;
    }
  g_mutex_unlock (&j->lock);
  return ok;
}

/* ---- public ------------------------------------------------------------------------------- */

NsJournal *
ns_journal_open (const char *case_path, GError **error)
{
  g_return_val_if_fail (case_path != NULL, NULL);
  g_autofree char *path = ns_journal_path_for_case (case_path);
  return ns_journal_open_path (path, error);
}

static void
journal_set_error (GError **error, const char *path, const char *what, int err)
{
  g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL, "%s: %s: %s", path, what,
               g_strerror (err));
}

/* Opens the journal file, creating it, refusing anything but a regular file: a symbolic
 * link is not followed (O_NOFOLLOW), a FIFO or a device is not opened for reading.  Then
 * locks it. */
static int
open_journal_file (const char *path, struct stat *st, GError **error)
{
  GStatBuf lst;
  if (g_lstat (path, &lst) == 0 && !S_ISREG (lst.st_mode))
    {
      g_autofree char *target = S_ISLNK (lst.st_mode) ? g_file_read_link (path, NULL) : NULL;
      if (target != NULL)
        g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL,
                     "%s: a symbolic link to %s; a journal must be a regular file (remove the "
                     "link)", path, target);
      else
        g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL,
                     "%s: %s; a journal must be a regular file (remove it)", path,
                     ns_file_type_name (lst.st_mode));
      return -1;
    }
  /* O_NONBLOCK: should the path become a FIFO after the lstat, opening it does not wait
   * for a writer; the fstat below then refuses it. */
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY,
                 0600);
  if (fd < 0)
    {
      int err = errno;
      if (err == ELOOP)
        g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL,
                     "%s: a symbolic link; a journal must be a regular file (remove the link)",
                     path);
      else
        journal_set_error (error, path, "cannot open", err);
      return -1;
    }
  if (fstat (fd, st) != 0)
    {
      int err = errno;
      close (fd);
      journal_set_error (error, path, "cannot stat", err);
      return -1;
    }
  if (!S_ISREG (st->st_mode))
    {
      close (fd);
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL,
                   "%s: %s; a journal must be a regular file (remove it)", path,
                   ns_file_type_name (st->st_mode));
      return -1;
    }
  int flags = fcntl (fd, F_GETFL);
  if (flags < 0 || fcntl (fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
    {
      int err = errno;
      close (fd);
      journal_set_error (error, path, "cannot open", err);
      return -1;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int err = errno;
      close (fd);
      if (err == EWOULDBLOCK)
        g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL,
                     "%s: in use by another Neuroseg window or process", path);
      else
        journal_set_error (error, path, "cannot lock", err);
      return -1;
    }
  return fd;
}

/* The whole file (size bytes of a regular file we hold locked), or NULL. */
static guint8 *
read_journal_file (int fd, const char *path, gsize size, GError **error)
{
  guint8 *data = g_try_malloc (MAX (size, 1));
  if (data == NULL)
    {
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL,
                   "%s: cannot allocate %" G_GSIZE_FORMAT " MiB to read it", path, size >> 20);
      return NULL;
    }
  gsize done = 0;
  while (done < size)
    {
      ssize_t r = pread (fd, data + done, size - done, (off_t) done);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int err = errno;
          g_free (data);
          journal_set_error (error, path, "cannot read", err);
          return NULL;
        }
      if (r == 0)
        break; /* cannot shrink under our lock; a torn tail at worst */
      done += (gsize) r;
    }
  return data;
}

static void
note_dropped (NsJournal *j, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Adds a sentence to what recovery had to leave out. */
static void
note_dropped (NsJournal *j, const char *format, ...)
{
  va_list ap;
  if (j->dropped == NULL)
    j->dropped = g_string_new (j->path);
  g_string_append (j->dropped, j->dropped->len == strlen (j->path) ? ": " : "; ");
  va_start (ap, format);
  g_string_append_vprintf (j->dropped, format, ap);
  va_end (ap);
}

NsJournal *
ns_journal_open_path (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int err = errno;
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL, "%s: cannot create folder: %s",
                   dir, g_strerror (err));
      return NULL;
    }
  struct stat st;
  int fd = open_journal_file (path, &st, error);
  if (fd < 0)
    return NULL;

  /* What a previous session left, read whole: it is bounded by the memory available
   * (the file and the changes decoded from it are held at once). */
  guint64 size = (guint64) st.st_size, available = 0;
  if (size > G_MAXSIZE / 2 || !ns_memory_reserve (2 * size, &available))
    {
      close (fd);
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL,
                   "%s: reading it back needs %" G_GUINT64_FORMAT " MiB (the file and its "
                   "edits), more than the %" G_GUINT64_FORMAT " MiB of memory available; move "
                   "it away to open the case without recovering its edits", path,
                   (2 * size) >> 20, available >> 20);
      return NULL;
    }
  g_autofree guint8 *data = read_journal_file (fd, path, (gsize) size, error);
  if (data == NULL)
    {
      ns_memory_release (2 * size);
      close (fd);
      return NULL;
    }

  NsJournal *j = g_new0 (NsJournal, 1);
  j->path = g_strdup (path);
  j->fd = fd;
  j->context = g_main_context_ref_thread_default ();
  j->recovered = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_edit_change_unref);
  j->recovered_forward = g_array_new (FALSE, FALSE, sizeof (gboolean));
  g_mutex_init (&j->lock);
  g_cond_init (&j->cond);
  gsize pos = 0, len = (gsize) size;
  guint64 seq = 1;
  while (pos < len)
    {
      int kind = RECORD_FORWARD;
      gsize record_len = 0;
      NsEditChange *change = decode_record (data + pos, len - pos, seq, &kind, &record_len);
      if (change == NULL)
        break;
      if (kind == RECORD_BASE)
        {
          if (j->found_base == NULL)
            j->found_base = g_strdup (change->name);
          ns_edit_change_unref (change);
        }
      else
        {
          gboolean forward = kind == RECORD_FORWARD;
          g_ptr_array_add (j->recovered, change);
          g_array_append_val (j->recovered_forward, forward);
        }
      pos += record_len;
      seq++;
    }
  ns_memory_release (2 * size);
  if (pos < len)
    {
      note_dropped (j, "%" G_GSIZE_FORMAT " bytes after record %" G_GUINT64_FORMAT
                    " are torn or damaged (an edit being written when the program stopped, "
                    "or damage) and were left out", len - pos, seq - 1);
      g_message ("%s", j->dropped->str);
      if (ftruncate (fd, (off_t) pos) != 0 || fsync (fd) != 0)
        {
          int err = errno;
          journal_set_error (error, path, "cannot cut off a torn record", err);
          ns_journal_close (j);
          return NULL;
        }
    }
  j->end = (off_t) pos;
  j->next_seq = seq;
  j->n_records = (gint) (seq - 1);
  j->queue = g_async_queue_new ();
  j->writer = g_thread_new ("ns-journal", writer_main, j);
  return j;
}

const char *
ns_journal_get_path (const NsJournal *journal)
{
  g_return_val_if_fail (journal != NULL, NULL);
  return journal->path;
}

guint
ns_journal_n_recoverable (const NsJournal *journal)
{
  g_return_val_if_fail (journal != NULL, 0);
  return journal->recovered->len;
}

static NsEditChange *
inverse_change (const NsEditChange *c)
{
  g_autofree char *name = g_strconcat ("Undo ", c->name, NULL);
  return ns_edit_change_new_from_arrays (name, c->time, c->n_voxels, c->n, c->index,
                                         c->new_value, c->old_value);
}

gboolean
ns_journal_replay (NsJournal *journal, NsLabelMap *map, NsHistory *history, guint *n_replayed,
                   GError **error)
{
  g_return_val_if_fail (journal != NULL && map != NULL, FALSE);
  gsize n_voxels = ns_grid_n_voxels (&map->grid);
  guint n = journal->recovered->len, n_fit = 0;
  for (guint i = 0; i < n; i++)
    n_fit += ((const NsEditChange *) g_ptr_array_index (journal->recovered, i))->n_voxels
             == n_voxels;

  /* None fits: this is not the mask the journal was written for. */
  if (n > 0 && n_fit == 0)
    {
      const NsEditChange *c = g_ptr_array_index (journal->recovered, 0);
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL,
                   "%s: its %u records are for a mask of %" G_GSIZE_FORMAT " voxels, not %"
                   G_GSIZE_FORMAT, journal->path, n, c->n_voxels, n_voxels);
      return FALSE;
    }

  /* Some do not: a record for a mask of another size cannot have been made on this one,
   * so the records after it do not depend on it.  Apply those that fit, say which were
   * left out. */
  g_autoptr (GString) skipped = g_string_new (NULL);
  gsize skipped_voxels = 0;
  for (guint i = 0; i < n; i++)
    {
      NsEditChange *c = g_ptr_array_index (journal->recovered, i);
      gboolean forward = g_array_index (journal->recovered_forward, gboolean, i);
      if (c->n_voxels != n_voxels)
        {
          g_string_append_printf (skipped, "%s%u", skipped->len > 0 ? ", " : "", i + 1);
          skipped_voxels = c->n_voxels;
          continue;
        }
      ns_edit_change_apply (c, map, forward);
      if (history != NULL)
        {
          g_autoptr (NsEditChange) entry = forward ? ns_edit_change_ref (c) : inverse_change (c);
          ns_history_push (history, entry);
        }
    }
  if (n_fit < n)
    note_dropped (journal, "%u of %u records (%s) are for a mask of %" G_GSIZE_FORMAT
                  " voxels, not %" G_GSIZE_FORMAT ", and were not applied", n - n_fit, n,
                  skipped->str, skipped_voxels, n_voxels);
  g_ptr_array_set_size (journal->recovered, 0);
  g_array_set_size (journal->recovered_forward, 0);
  if (n_replayed != NULL)
    *n_replayed = n_fit;
  return TRUE;
}

const char *
ns_journal_get_dropped (const NsJournal *journal)
{
  g_return_val_if_fail (journal != NULL, NULL);
  return journal->dropped != NULL ? journal->dropped->str : NULL;
}

void
ns_journal_append (NsJournal *journal, NsEditChange *change, gboolean forward)
{
  g_return_if_fail (journal != NULL && change != NULL);
  if (journal->recovered->len > 0)
    {
      /* Not replayed: the mask is the saved one, so the old records are void. */
      g_ptr_array_set_size (journal->recovered, 0);
      g_array_set_size (journal->recovered_forward, 0);
      Item *t = g_new0 (Item, 1);
      t->kind = ITEM_TRUNCATE;
      g_mutex_lock (&journal->lock);
      t->ticket = ++journal->tickets_issued;
      g_mutex_unlock (&journal->lock);
      g_async_queue_push (journal->queue, t);
      journal->need_base = TRUE;
    }
  if (journal->need_base && journal->base_id != NULL)
    {
      Item *b = g_new0 (Item, 1);
      b->kind = ITEM_RECORD;
      b->change = ns_edit_change_new_from_arrays (journal->base_id, g_get_real_time (), 0, 0,
                                                  NULL, NULL, NULL);
      b->forward = RECORD_BASE;
      g_async_queue_push (journal->queue, b);
    }
  journal->need_base = FALSE;
  Item *item = g_new0 (Item, 1);
  item->kind = ITEM_RECORD;
  item->change = ns_edit_change_ref (change);
  item->forward = forward ? RECORD_FORWARD : RECORD_UNDO;
  g_async_queue_push (journal->queue, item);
}

gboolean
ns_journal_flush (NsJournal *journal, GError **error)
{
  g_return_val_if_fail (journal != NULL, FALSE);
  return wait_ticket (journal, push_waited (journal, ITEM_FLUSH), error);
}

gboolean
ns_journal_truncate (NsJournal *journal, GError **error)
{
  g_return_val_if_fail (journal != NULL, FALSE);
  g_ptr_array_set_size (journal->recovered, 0);
  g_array_set_size (journal->recovered_forward, 0);
  journal->need_base = TRUE;
  return wait_ticket (journal, push_waited (journal, ITEM_TRUNCATE), error);
}

void
ns_journal_set_base (NsJournal *journal, const char *base_id)
{
  g_return_if_fail (journal != NULL);
  g_free (journal->base_id);
  journal->base_id = g_strdup (base_id);
  journal->need_base = TRUE;
}

const char *
ns_journal_get_recorded_base (const NsJournal *journal)
{
  g_return_val_if_fail (journal != NULL, NULL);
  return journal->found_base;
}

guint64
ns_journal_n_records (const NsJournal *journal)
{
  g_return_val_if_fail (journal != NULL, 0);
  return (guint64) g_atomic_int_get (&journal->n_records);
}

void
ns_journal_set_error_func (NsJournal *journal, NsJournalErrorFunc func, gpointer user_data,
                           GDestroyNotify destroy)
{
  g_return_if_fail (journal != NULL);
  g_mutex_lock (&journal->lock);
  GDestroyNotify old_destroy = journal->error_destroy;
  gpointer old_data = journal->error_data;
  journal->error_func = func;
  journal->error_data = user_data;
  journal->error_destroy = destroy;
  if (func == NULL && journal->error_source != NULL)
    {
      g_source_destroy (journal->error_source);
      g_clear_pointer (&journal->error_source, g_source_unref);
    }
  schedule_report_locked (journal); /* an error from before is reported now */
  g_mutex_unlock (&journal->lock);
  if (old_destroy != NULL)
    old_destroy (old_data);
}

GError *
ns_journal_dup_error (NsJournal *journal)
{
  g_return_val_if_fail (journal != NULL, NULL);
  g_mutex_lock (&journal->lock);
  GError *copy = journal->error != NULL ? g_error_copy (journal->error) : NULL;
  g_mutex_unlock (&journal->lock);
  return copy;
}

gboolean
ns_journal_close_full (NsJournal *journal, GError **error)
{
  g_return_val_if_fail (journal != NULL, FALSE);
  if (journal->writer != NULL)
    {
      /* The last records are synced; an error doing so is reported below. */
      wait_ticket (journal, push_waited (journal, ITEM_STOP), NULL);
      g_thread_join (journal->writer);
      g_async_queue_unref (journal->queue);
    }
  struct stat st;
  if (fstat (journal->fd, &st) == 0 && st.st_size == 0)
    g_unlink (journal->path);
  close (journal->fd);

  g_mutex_lock (&journal->lock);
  if (journal->error_source != NULL)
    {
      g_source_destroy (journal->error_source);
      g_clear_pointer (&journal->error_source, g_source_unref);
    }
  gboolean ok = journal->error == NULL || journal->error_reported;
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&journal->error));
  g_mutex_unlock (&journal->lock);

  if (journal->error_destroy != NULL)
    journal->error_destroy (journal->error_data);
  g_clear_error (&journal->error);
  g_main_context_unref (journal->context);
  g_ptr_array_unref (journal->recovered);
  g_array_unref (journal->recovered_forward);
  g_mutex_clear (&journal->lock);
  g_cond_clear (&journal->cond);
  if (journal->dropped != NULL)
    g_string_free (journal->dropped, TRUE);
  g_free (journal->found_base);
  g_free (journal->base_id);
  g_free (journal->path);
  g_free (journal);
  return ok;
}

void
ns_journal_close (NsJournal *journal)
{
  g_autoptr (GError) error = NULL;

  if (journal == NULL)
    return;
  /* An error nobody was told about is not dropped in silence. */
  if (!ns_journal_close_full (journal, &error))
    g_warning ("%s (edits were not protected since)", error->message);
}
