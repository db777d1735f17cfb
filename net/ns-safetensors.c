/* SPDX-License-Identifier: MIT
 *
 * ns-safetensors.c: safetensors files read with every check first and bounded memory,
 * and written atomically (see ns-safetensors-private.h).
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-safetensors-private.h"

#include "ns-data-error.h"
#include "ns-file.h"
#include "ns-json.h"
#include "ns-safetensors-header.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK ((gsize) 1 << 20)   /* bytes read or written at a time */

/* The dtypes of the format, with their sizes: any may be in a file (PyTorch writes I64
 * num_batches_tracked), only the float ones can be read as values. */
static const struct
{
  const char *name;
  gsize bytes;
  gboolean is_float;
  NsDType dtype;
} dtypes[] = {
  { "F32", 4, TRUE, NS_DTYPE_F32 },
  { "BF16", 2, TRUE, NS_DTYPE_BF16 },
  { "F16", 2, TRUE, NS_DTYPE_F16 },
  { "F64", 8, FALSE, 0 },
  { "I64", 8, FALSE, 0 },
  { "U64", 8, FALSE, 0 },
  { "I32", 4, FALSE, 0 },
  { "U32", 4, FALSE, 0 },
  { "I16", 2, FALSE, 0 },
  { "U16", 2, FALSE, 0 },
  { "I8", 1, FALSE, 0 },
  { "U8", 1, FALSE, 0 },
  { "BOOL", 1, FALSE, 0 },
};

static const char *
dtype_name (NsDType d)
{
  return d == NS_DTYPE_BF16 ? "BF16" : d == NS_DTYPE_F16 ? "F16" : "F32";
}

static gsize
dtype_bytes (NsDType d)
{
  return d == NS_DTYPE_F32 ? 4 : 2;
}

/* ---- reading ----------------------------------------------------------------------------- */

struct _NsStFile
{
  char *base;                 /* for messages */
  int fd;
  guint64 data_start;         /* 8 + header length */
  guint64 data_len;
  JsonObject *header;         /* the header object (a reference) */
  JsonObject *metadata;       /* borrowed from header */
  GPtrArray *entries;         /* NsStEntry *, by begin */
  GHashTable *by_name;        /* name -> NsStEntry * */
};

static void
entry_free (gpointer data)
{
  NsStEntry *e = data;
  g_free (e->name);
  g_free (e->dtype_name);
  g_free (e);
}

void
_ns_st_close (NsStFile *f)
{
  if (f == NULL)
    return;
  if (f->fd >= 0)
    close (f->fd);
  g_free (f->base);
  g_clear_pointer (&f->header, json_object_unref);
  g_clear_pointer (&f->entries, g_ptr_array_unref);
  g_clear_pointer (&f->by_name, g_hash_table_unref);
  g_free (f);
}

gboolean
_ns_st_fail (GError **error, NsStFile *f, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT, "%s: %s", f->base, msg);
  return FALSE;
}

/* All of [offset, offset + len) or an error (a file that shrank under us is truncated). */
static gboolean
read_at (NsStFile *f, void *buf, gsize len, guint64 offset, GError **error)
{
  g_autoptr (GError) local = NULL;
  if (ns_file_read_at (f->fd, buf, len, offset, f->base, &local))
    return TRUE;
  g_set_error_literal (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT, local->message);
  return FALSE;
}

static gboolean
is_uint (JsonNode *n)
{
  return ns_json_node_holds (n, G_TYPE_INT64) && json_node_get_int (n) >= 0;
}

/* One header entry, checked on its own: dtype, shape, offsets inside the data section. */
static NsStEntry *
parse_entry (NsStFile *f, const char *name, JsonNode *n, GError **error)
{
  JsonObject *o = n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
  JsonNode *dt = o ? json_object_get_member (o, "dtype") : NULL;
  JsonNode *sh = o ? json_object_get_member (o, "shape") : NULL;
  JsonNode *off = o ? json_object_get_member (o, "data_offsets") : NULL;
  g_autoptr (GPtrArray) keep = g_ptr_array_new_with_free_func (entry_free);

  if (o == NULL || dt == NULL || sh == NULL || off == NULL || !JSON_NODE_HOLDS_ARRAY (sh)
      || !JSON_NODE_HOLDS_ARRAY (off) || !JSON_NODE_HOLDS_VALUE (dt))
    {
      _ns_st_fail (error, f, "tensor %s: header entry needs a dtype, a shape array and "
                   "data_offsets", name);
      return NULL;
    }
  NsStEntry *e = g_new0 (NsStEntry, 1);
  g_ptr_array_add (keep, e);
  e->name = g_strdup (name);
  const char *dts = json_node_get_value_type (dt) == G_TYPE_STRING ? json_node_get_string (dt)
                                                                    : NULL;
  for (guint i = 0; dts != NULL && i < G_N_ELEMENTS (dtypes); i++)
    if (strcmp (dts, dtypes[i].name) == 0)
      {
        e->dtype_name = g_strdup (dts);
        e->elem = dtypes[i].bytes;
        e->is_float = dtypes[i].is_float;
        e->dtype = dtypes[i].dtype;
      }
  if (e->dtype_name == NULL)
    {
      _ns_st_fail (error, f, "tensor %s: dtype %s is not supported (F32, BF16, F16)", name,
                   dts != NULL ? dts : "?");
      return NULL;
    }
  JsonArray *sa = json_node_get_array (sh), *oa = json_node_get_array (off);
  e->ndim = (int) json_array_get_length (sa);
  if (e->ndim > NS_ST_MAX_DIMS || json_array_get_length (oa) != 2)
    {
      _ns_st_fail (error, f, "tensor %s: bad shape or data_offsets", name);
      return NULL;
    }
  e->count = 1;
  for (int d = 0; d < e->ndim; d++)
    {
      JsonNode *dn = json_array_get_element (sa, d);
      if (!is_uint (dn) || json_node_get_int (dn) > G_MAXINT32)
        {
          _ns_st_fail (error, f, "tensor %s: bad shape", name);
          return NULL;
        }
      e->shape[d] = json_node_get_int (dn);
      e->count *= (guint64) e->shape[d];
      if (e->count > G_MAXUINT32)
        {
          _ns_st_fail (error, f, "tensor %s: shape too large", name);
          return NULL;
        }
    }
  if (!is_uint (json_array_get_element (oa, 0)) || !is_uint (json_array_get_element (oa, 1)))
    {
      _ns_st_fail (error, f, "tensor %s: bad data_offsets", name);
      return NULL;
    }
  e->begin = (guint64) json_array_get_int_element (oa, 0);
  e->end = (guint64) json_array_get_int_element (oa, 1);
  if (e->end < e->begin || e->end - e->begin != e->count * e->elem)
    {
      _ns_st_fail (error, f, "tensor %s: data_offsets [%" G_GUINT64_FORMAT ", %"
                   G_GUINT64_FORMAT "] do not hold %" G_GUINT64_FORMAT " %s values", name,
                   e->begin, e->end, e->count, e->dtype_name);
      return NULL;
    }
  if (e->end > f->data_len)
    {
      _ns_st_fail (error, f, "truncated: tensor %s ends at byte %" G_GUINT64_FORMAT " of a %"
                   G_GUINT64_FORMAT "-byte data section", name, e->end, f->data_len);
      return NULL;
    }
  return g_ptr_array_steal_index (keep, 0);
}

static gint
entry_cmp (gconstpointer a, gconstpointer b)
{
  const NsStEntry *x = *(NsStEntry *const *) a, *y = *(NsStEntry *const *) b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

/* The tensors cover the data section exactly: what is not a tensor is junk, or damage. */
static gboolean
check_tiling (NsStFile *f, GError **error)
{
  guint64 at = 0;
  g_ptr_array_sort (f->entries, entry_cmp);
  for (guint i = 0; i < f->entries->len; i++)
    {
      const NsStEntry *e = f->entries->pdata[i];
      if (e->begin > at)
        return _ns_st_fail (error, f, "%" G_GUINT64_FORMAT " bytes of the data section before "
                            "tensor %s belong to no tensor", e->begin - at, e->name);
      if (e->begin < at)
        return _ns_st_fail (error, f, "tensor %s overlaps the tensor before it", e->name);
      at = e->end;
    }
  if (at != f->data_len)
    return _ns_st_fail (error, f, "%" G_GUINT64_FORMAT " bytes after the last tensor: the "
                        "file is longer than its header says", f->data_len - at);
  return TRUE;
}

/* check_data: the entries and their tiling too (else only the header and metadata). */
static NsStFile *
open_file (const char *path, const char *name, gboolean check_data, GError **error)
{
  g_autoptr (NsStFile) f = g_new0 (NsStFile, 1);
  g_autoptr (GError) local = NULL;

  g_return_val_if_fail (path != NULL, NULL);
  f->fd = -1;
  f->base = name != NULL ? g_strdup (name) : g_path_get_basename (path);
  /* the header by data/'s one reader, its errors in net's domain */
  g_autoptr (NsSafetensorsHeader) h = ns_safetensors_header_read (path, f->base, &local);
  if (h == NULL)
    {
      g_set_error_literal (error, NS_NET_ERROR,
                           g_error_matches (local, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE)
                             ? NS_NET_ERROR_OUT_OF_MEMORY : NS_NET_ERROR_CHECKPOINT,
                           local->message);
      return NULL;
    }
  f->fd = h->fd;
  h->fd = -1;
  f->data_start = h->data_start;
  f->data_len = h->size - h->data_start;
  f->header = json_object_ref (h->header);
  f->metadata = h->metadata;
  f->entries = g_ptr_array_new_with_free_func (entry_free);
  f->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  if (!check_data)
    return g_steal_pointer (&f);

  g_autoptr (GList) members = json_object_get_members (f->header);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *member = l->data;
      if (strcmp (member, "__metadata__") == 0)
        continue;
      NsStEntry *e = parse_entry (f, member, json_object_get_member (f->header, member), error);
      if (e == NULL)
        return NULL;
      g_ptr_array_add (f->entries, e);
      g_hash_table_insert (f->by_name, e->name, e);
    }
  if (!check_tiling (f, error))
    return NULL;
  return g_steal_pointer (&f);
}

NsStFile *
_ns_st_open (const char *path, const char *name, GError **error)
{
  return open_file (path, name, TRUE, error);
}

NsStFile *
_ns_st_open_header (const char *path, GError **error)
{
  return open_file (path, NULL, FALSE, error);
}

const char *
_ns_st_get_name (NsStFile *f)
{
  return f->base;
}

JsonObject *
_ns_st_get_metadata (NsStFile *f)
{
  return f->metadata;
}

guint
_ns_st_n_entries (NsStFile *f)
{
  return f->entries->len;
}

const NsStEntry *
_ns_st_get_entry (NsStFile *f, guint index)
{
  g_return_val_if_fail (index < f->entries->len, NULL);
  return f->entries->pdata[index];
}

const NsStEntry *
_ns_st_find (NsStFile *f, const char *name)
{
  return g_hash_table_lookup (f->by_name, name);
}

static float
decode_one (NsDType dtype, const guint8 *p)
{
  float v;
  if (dtype == NS_DTYPE_F32)
    {
      guint32 u = (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16
                  | (guint32) p[3] << 24;
      memcpy (&v, &u, 4);
      return v;
    }
  guint16 h = (guint16) (p[0] | p[1] << 8);
  return dtype == NS_DTYPE_BF16 ? ns_bf16_to_float (h) : ns_f16_to_float (h);
}

gboolean
_ns_st_read_f32 (NsStFile *f, const NsStEntry *e, float *values, GError **error)
{
  g_return_val_if_fail (e->is_float, FALSE);
  const gsize per_chunk = CHUNK / e->elem;
  g_autofree guint8 *buf = g_try_malloc (MIN ((guint64) per_chunk, MAX (e->count, 1)) * e->elem);

  if (buf == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "%s: out of memory reading tensor %s", f->base, e->name);
      return FALSE;
    }
  for (guint64 i = 0; i < e->count; i += per_chunk)
    {
      gsize n = (gsize) MIN ((guint64) per_chunk, e->count - i);
      if (!read_at (f, buf, n * e->elem, f->data_start + e->begin + i * e->elem, error))
        return FALSE;
      for (gsize j = 0; j < n; j++)
        {
          float v = decode_one (e->dtype, buf + j * e->elem);
          if (!isfinite (v))
            return _ns_st_fail (error, f, "tensor %s holds %s at element %" G_GUINT64_FORMAT
                                ": the file is damaged or the model diverged", e->name,
                                isnan (v) ? "NaN" : "infinity", i + j);
          values[i + j] = v;
        }
    }
  return TRUE;
}

/* ---- writing ----------------------------------------------------------------------------- */

typedef struct
{
  char *name;
  NsDType dtype;
  int shape[NS_ST_MAX_DIMS];
  int ndim;
  guint64 count;
} WEntry;

struct _NsStWriter
{
  char *path;
  char *partial;
  char *tag;
  int fd;
  GArray *tensors;            /* WEntry */
  guint cur;                  /* the tensor being put */
  guint64 cur_done;           /* its values put so far */
  guint64 data_len, data_done;
  gboolean half_reached;
  guint8 *buf;
  gsize buf_used;
};

char *
_ns_st_partial_path (const char *path)
{
  return g_strconcat (path, ".partial", NULL);
}

NsStWriter *
_ns_st_writer_new (const char *path, const char *tag)
{
  NsStWriter *w = g_new0 (NsStWriter, 1);
  w->path = g_strdup (path);
  w->partial = _ns_st_partial_path (path);
  w->tag = g_strdup (tag);
  w->fd = -1;
  w->tensors = g_array_new (FALSE, TRUE, sizeof (WEntry));
  return w;
}

void
_ns_st_writer_add (NsStWriter *w, const char *name, NsDType dtype, const int *shape, int ndim)
{
  WEntry e = { g_strdup (name), dtype, { 0 }, ndim, 1 };
  g_return_if_fail (ndim >= 0 && ndim <= NS_ST_MAX_DIMS && w->fd < 0);
  for (int d = 0; d < ndim; d++)
    {
      e.shape[d] = shape[d];
      e.count *= (guint64) shape[d];
    }
  g_array_append_val (w->tensors, e);
}

static void
writer_free (NsStWriter *w)
{
  if (w->fd >= 0)
    close (w->fd);
  for (guint i = 0; i < w->tensors->len; i++)
    g_free (g_array_index (w->tensors, WEntry, i).name);
  g_array_unref (w->tensors);
  g_free (w->buf);
  g_free (w->path);
  g_free (w->partial);
  g_free (w->tag);
  g_free (w);
}

void
_ns_st_writer_abort (NsStWriter *w)
{
  if (w == NULL)
    return;
  if (w->fd >= 0)
    g_unlink (w->partial);
  writer_free (w);
}

static gboolean
write_fail (NsStWriter *w, int err, const char *what, GError **error)
{
  g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED, "%s: cannot %s: %s", w->path, what,
               g_strerror (err));
  return FALSE;
}

static gboolean
write_all (NsStWriter *w, const void *data, gsize len, GError **error)
{
  gsize done = 0;
  while (done < len)
    {
      gssize put = write (w->fd, (const char *) data + done, len - done);
      if (put < 0 && errno == EINTR)
        continue;
      if (put < 0)
        return write_fail (w, errno, "write", error);
      done += (gsize) put;
    }
  return TRUE;
}

static gboolean
flush (NsStWriter *w, GError **error)
{
  gboolean ok = write_all (w, w->buf, w->buf_used, error);
  w->buf_used = 0;
  return ok;
}

static void
kill_point (NsStWriter *w, const char *what)
{
  if (w->tag != NULL && g_getenv ("NS_TEST_KILL_AT") != NULL)
    {
      g_autofree char *point = g_strconcat (w->tag, "-", what, NULL);
      _ns_test_kill_point (point);
    }
}

gboolean
_ns_st_writer_begin (NsStWriter *w, JsonObject *metadata, GError **error)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  guint64 offset = 0;

  g_return_val_if_fail (w->fd < 0, FALSE);
  json_builder_begin_object (b);
  if (metadata != NULL)
    {
      json_builder_set_member_name (b, "__metadata__");
      json_builder_add_value (b, json_node_init_object (json_node_alloc (), metadata));
    }
  for (guint i = 0; i < w->tensors->len; i++)
    {
      WEntry *e = &g_array_index (w->tensors, WEntry, i);
      guint64 bytes = e->count * dtype_bytes (e->dtype);
      json_builder_set_member_name (b, e->name);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, dtype_name (e->dtype));
      json_builder_set_member_name (b, "shape");
      json_builder_begin_array (b);
      for (int d = 0; d < e->ndim; d++)
        json_builder_add_int_value (b, e->shape[d]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "data_offsets");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, (gint64) offset);
      json_builder_add_int_value (b, (gint64) (offset + bytes));
      json_builder_end_array (b);
      json_builder_end_object (b);
      offset += bytes;
    }
  json_builder_end_object (b);
  w->data_len = offset;

  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, root);
  gsize hlen = 0;
  g_autofree char *header = json_generator_to_data (gen, &hlen);
  gsize padded = (hlen + 7) / 8 * 8;   /* the data section starts 8-byte aligned */
  guint8 len8[8];
  for (int k = 0; k < 8; k++)
    len8[k] = (guint8) (((guint64) padded >> (8 * k)) & 0xff);

  /* O_NOFOLLOW: a link planted at the temporary name must not redirect the write */
  w->fd = g_open (w->partial, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
  if (w->fd < 0)
    return write_fail (w, errno, "create its temporary file", error);
  w->buf = g_try_malloc (CHUNK);
  if (w->buf == NULL)
    return write_fail (w, ENOMEM, "write", error);
  char spaces[8] = "        ";
  return write_all (w, len8, 8, error) && write_all (w, header, hlen, error)
         && write_all (w, spaces, padded - hlen, error);
}

gboolean
_ns_st_writer_put (NsStWriter *w, const float *values, gsize n, GError **error)
{
  g_return_val_if_fail (w->fd >= 0, FALSE);
  for (gsize i = 0; i < n;)
    {
      if (w->cur >= w->tensors->len)
        return write_fail (w, EINVAL, "write (more values than its tensors hold)", error);
      WEntry *e = &g_array_index (w->tensors, WEntry, w->cur);
      gsize take = (gsize) MIN ((guint64) (n - i), e->count - w->cur_done);
      gsize eb = dtype_bytes (e->dtype);
      for (gsize j = 0; j < take; j++)
        {
          if (w->buf_used + eb > CHUNK && !flush (w, error))
            return FALSE;
          guint8 *p = w->buf + w->buf_used;
          float v = values[i + j];
          if (e->dtype == NS_DTYPE_F32)
            {
              guint32 u;
              memcpy (&u, &v, 4);
              for (int k = 0; k < 4; k++)
                p[k] = (guint8) (u >> (8 * k));
            }
          else
            {
              guint16 h = e->dtype == NS_DTYPE_BF16 ? ns_float_to_bf16 (v) : ns_float_to_f16 (v);
              p[0] = (guint8) (h & 0xff);
              p[1] = (guint8) (h >> 8);
            }
          w->buf_used += eb;
        }
      i += take;
      w->cur_done += take;
      w->data_done += take * eb;
      if (w->cur_done == e->count)
        {
          w->cur++;
          w->cur_done = 0;
        }
      if (!w->half_reached && w->data_done * 2 >= w->data_len)
        {
          w->half_reached = TRUE;
          if (!flush (w, error))
            return FALSE;
          kill_point (w, "half");
        }
    }
  /* zero-sized tensors at the end are complete without values */
  while (w->cur < w->tensors->len && g_array_index (w->tensors, WEntry, w->cur).count == 0)
    w->cur++;
  return TRUE;
}

/* Makes the rename itself survive a crash of the machine. */
static void
sync_folder (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = g_open (dir, O_RDONLY | O_CLOEXEC | O_DIRECTORY, 0);
  if (fd < 0)
    return;
  if (fsync (fd) != 0)
    g_debug ("fsync %s: %s", dir, g_strerror (errno));
  close (fd);
}

gboolean
_ns_st_writer_commit (NsStWriter *w, GError **error)
{
  g_autoptr (NsStWriter) owned = w;

  g_return_val_if_fail (w->fd >= 0, FALSE);
  if (w->data_done != w->data_len)
    return write_fail (w, EINVAL, "write (fewer values than its tensors hold)", error);
  if (!flush (w, error))
    return FALSE;
  if (fsync (w->fd) != 0)
    return write_fail (w, errno, "sync", error);
  int fd = w->fd;
  w->fd = -1;
  if (close (fd) != 0)
    {
      int err = errno;
      g_unlink (w->partial);
      return write_fail (w, err, "write", error);
    }
  kill_point (w, "written");
  if (g_rename (w->partial, w->path) != 0)
    {
      int err = errno;
      g_unlink (w->partial);
      return write_fail (w, err, "replace it", error);
    }
  kill_point (w, "renamed");
  sync_folder (w->path);
  return TRUE;
}

/* ---- test hook --------------------------------------------------------------------------- */

void
_ns_test_kill_point (const char *point)
{
  static gint reached;
  const char *env = g_getenv ("NS_TEST_KILL_AT");

  if (env == NULL)
    return;
  const char *colon = strrchr (env, ':');
  g_autofree char *name = colon != NULL ? g_strndup (env, colon - env) : g_strdup (env);
  int n = colon != NULL ? atoi (colon + 1) : 1;
  if (strcmp (name, point) == 0 && g_atomic_int_add (&reached, 1) + 1 == n)
    raise (SIGKILL);
}
