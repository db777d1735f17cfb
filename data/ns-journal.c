/* SPDX-License-Identifier: MIT
 *
 * ns-journal.c: the crash journal and its writer thread.
 *
 * The calling thread only references the change and pushes it on a GAsyncQueue; the
 * writer serialises it, pwrite()s it at the end of the file and fdatasync()s once the
 * queue is empty, so a burst of dabs costs one sync.  Flush and truncate are queue items
 * too, so they are ordered with the records; the caller waits for their ticket.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-journal.h"

#include <errno.h>
#include <fcntl.h>
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

  GMutex lock;                 /* guards the fields down to error */
  GCond cond;
  guint64 tickets_issued;      /* caller side */
  guint64 tickets_done;
  GError *error;               /* the writer's first error */

  /* writer thread only (set up before it starts) */
  guint64 next_seq;
  off_t end;

  gint n_records;              /* atomic */
  GPtrArray *recovered;        /* NsEditChange found at open */
  GArray *recovered_forward;   /* gboolean */
  char *found_base;            /* the first base marker found at open */
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

static void
writer_fail (NsJournal *j, const char *what, int err)
{
  g_mutex_lock (&j->lock);
  if (j->error == NULL)
    j->error = g_error_new (NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL, "%s: %s: %s", j->path, what,
                            g_strerror (err));
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
  g_autoptr (GByteArray) b = encode_record (item->change, item->forward, j->next_seq);
  gsize done = 0;
  while (done < b->len)
    {
      ssize_t w = pwrite (j->fd, b->data + done, b->len - done, j->end + (off_t) done);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        {
          writer_fail (j, "cannot append to the journal", w < 0 ? errno : ENOSPC);
          /* Cut the partial record so later ones are not hidden behind it. */
          if (ftruncate (j->fd, j->end) != 0)
            writer_fail (j, "cannot truncate the journal", errno);
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
  if (!ok)
    g_propagate_error (error, g_error_copy (j->error));
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
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int err = errno;
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL, "%s: cannot open: %s", path,
                   g_strerror (err));
      return NULL;
    }
  if (flock (fd, LOCK_EX | LOCK_NB) != 0)
    {
      int err = errno;
      close (fd);
      g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL, "%s: %s", path,
                   err == EWOULDBLOCK ? "in use by another Neuroseg window or process"
                                      : g_strerror (err));
      return NULL;
    }

  /* Read what a previous session left. */
  g_autoptr (GByteArray) data = g_byte_array_new ();
  guint8 buf[65536];
  for (;;)
    {
      ssize_t r = read (fd, buf, sizeof buf);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int err = errno;
          close (fd);
          g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL, "%s: cannot read: %s",
                       path, g_strerror (err));
          return NULL;
        }
      if (r == 0)
        break;
      g_byte_array_append (data, buf, (guint) r);
    }

  NsJournal *j = g_new0 (NsJournal, 1);
  j->path = g_strdup (path);
  j->fd = fd;
  j->recovered = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_edit_change_unref);
  j->recovered_forward = g_array_new (FALSE, FALSE, sizeof (gboolean));
  g_mutex_init (&j->lock);
  g_cond_init (&j->cond);
  gsize pos = 0;
  guint64 seq = 1;
  for (;;)
    {
      int kind = RECORD_FORWARD;
      gsize len = 0;
      if (pos >= data->len) /* also: an empty file's GByteArray has no data pointer */
        break;
      NsEditChange *change = decode_record (data->data + pos, data->len - pos, seq, &kind,
                                            &len);
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
      pos += len;
      seq++;
    }
  if (pos < data->len)
    {
      g_message ("%s: ignoring %u bytes after record %" G_GUINT64_FORMAT
                 " (torn or invalid)", path, data->len - (guint) pos, seq - 1);
      if (ftruncate (fd, (off_t) pos) != 0 || fsync (fd) != 0)
        {
          int err = errno;
          g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL,
                       "%s: cannot cut off a torn record: %s", path, g_strerror (err));
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
  for (guint i = 0; i < journal->recovered->len; i++)
    {
      const NsEditChange *c = g_ptr_array_index (journal->recovered, i);
      if (c->n_voxels != n_voxels)
        {
          g_set_error (error, NS_EDIT_ERROR, NS_EDIT_ERROR_JOURNAL,
                       "%s: record %u is for a mask of %" G_GSIZE_FORMAT " voxels, not %"
                       G_GSIZE_FORMAT, journal->path, i + 1, c->n_voxels, n_voxels);
          return FALSE;
        }
    }
  guint n = journal->recovered->len;
  for (guint i = 0; i < n; i++)
    {
      NsEditChange *c = g_ptr_array_index (journal->recovered, i);
      gboolean forward = g_array_index (journal->recovered_forward, gboolean, i);
      ns_edit_change_apply (c, map, forward);
      if (history != NULL)
        {
          g_autoptr (NsEditChange) entry = forward ? ns_edit_change_ref (c) : inverse_change (c);
          ns_history_push (history, entry);
        }
    }
  g_ptr_array_set_size (journal->recovered, 0);
  g_array_set_size (journal->recovered_forward, 0);
  if (n_replayed != NULL)
    *n_replayed = n;
  return TRUE;
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
ns_journal_close (NsJournal *journal)
{
  if (journal == NULL)
    return;
  if (journal->writer != NULL)
    {
      wait_ticket (journal, push_waited (journal, ITEM_STOP), NULL);
      g_thread_join (journal->writer);
      g_async_queue_unref (journal->queue);
    }
  struct stat st;
  if (fstat (journal->fd, &st) == 0 && st.st_size == 0)
    g_unlink (journal->path);
  close (journal->fd);
  g_clear_error (&journal->error);
  g_ptr_array_unref (journal->recovered);
  g_array_unref (journal->recovered_forward);
  g_mutex_clear (&journal->lock);
  g_cond_clear (&journal->cond);
  g_free (journal->found_base);
  g_free (journal->base_id);
  g_free (journal->path);
  g_free (journal);
}
