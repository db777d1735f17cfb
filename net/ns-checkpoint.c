/* SPDX-License-Identifier: MIT
 *
 * ns-checkpoint.c: safetensors reading and writing (see ns-checkpoint.h).
 *
 * The file is read whole (a model is tens of MB).  The header is checked completely
 * before any value is used: length within the file, JSON an object, every entry a known
 * dtype with a shape whose byte size equals its data_offsets span inside the data
 * region.  Then the tensors are matched against the model by name and shape; the first
 * difference is reported with both shapes.  Metadata values are strings (the format
 * allows nothing else); the structured ones hold JSON text.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-checkpoint.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <math.h>
#include <string.h>

#define HEADER_MAX (100 * 1024 * 1024)

/* ---- 16-bit floats --------------------------------------------------------------------- */

guint16
ns_float_to_bf16 (float f)
{
  guint32 u;
  memcpy (&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return (guint16) ((u >> 16) | 0x40);   /* quiet NaN */
  u += 0x7fffu + ((u >> 16) & 1u);
  return (guint16) (u >> 16);
}

float
ns_bf16_to_float (guint16 h)
{
  guint32 u = (guint32) h << 16;
  float f;
  memcpy (&f, &u, 4);
  return f;
}

guint16
ns_float_to_f16 (float f)
{
  guint32 u;
  memcpy (&u, &f, 4);
  guint32 sign = (u >> 16) & 0x8000u;
  guint32 absu = u & 0x7fffffffu;

  if (absu > 0x7f800000u)
    return (guint16) (sign | 0x7e00u);
  if (absu >= 0x477ff000u)            /* rounds to >= 65520: infinity */
    return (guint16) (sign | 0x7c00u);
  if (absu < 0x38800000u)             /* below the smallest normal half: subnormal */
    {
      float a;
      memcpy (&a, &absu, 4);
      /* Scale so that one half subnormal step is one unit; rint rounds to even. */
      return (guint16) (sign | (guint32) rintf (a * 16777216.0f));
    }
  guint32 mant_odd = (absu >> 13) & 1u;
  absu += 0xfffu + mant_odd;
  return (guint16) (sign | ((absu - 0x38000000u) >> 13));
}

float
ns_f16_to_float (guint16 h)
{
  guint32 sign = (guint32) (h & 0x8000u) << 16;
  guint32 exp = (h >> 10) & 0x1fu;
  guint32 mant = h & 0x3ffu;
  guint32 u;
  float f;

  if (exp == 0)
    {
      f = mant * (1.0f / 16777216.0f);
      return sign ? -f : f;
    }
  if (exp == 31)
    u = sign | 0x7f800000u | (mant << 13);
  else
    u = sign | ((exp + 112) << 23) | (mant << 13);
  memcpy (&f, &u, 4);
  return f;
}

static const char *
dtype_name (NsDType d)
{
  return d == NS_DTYPE_BF16 ? "BF16" : d == NS_DTYPE_F16 ? "F16" : "F32";
}

static gboolean
dtype_parse (const char *s, NsDType *d, gsize *bytes)
{
  if (g_strcmp0 (s, "F32") == 0)
    *d = NS_DTYPE_F32, *bytes = 4;
  else if (g_strcmp0 (s, "BF16") == 0)
    *d = NS_DTYPE_BF16, *bytes = 2;
  else if (g_strcmp0 (s, "F16") == 0)
    *d = NS_DTYPE_F16, *bytes = 2;
  else
    return FALSE;
  return TRUE;
}

/* ---- metadata -------------------------------------------------------------------------- */

static char *
json_to_text (JsonNode *node)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

static char *
strv_to_json (char **strv)
{
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  for (char **s = strv; s != NULL && *s != NULL; s++)
    json_builder_add_string_value (b, *s);
  json_builder_end_array (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  return json_to_text (root);
}

static void
add_metadata (JsonBuilder *b, const NsModelMeta *meta)
{
  json_builder_set_member_name (b, "__metadata__");
  json_builder_begin_object (b);

  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, "neuroseg-model");
  json_builder_set_member_name (b, "format_version");
  {
    g_autofree char *v = g_strdup_printf ("%d", NS_MODEL_FORMAT_VERSION);
    json_builder_add_string_value (b, v);
  }
  json_builder_set_member_name (b, "arch");
  json_builder_add_string_value (b, meta->arch);
  json_builder_set_member_name (b, "modalities");
  {
    g_autofree char *m = strv_to_json (meta->modalities);
    json_builder_add_string_value (b, m);
  }
  json_builder_set_member_name (b, "classes");
  {
    g_autoptr (JsonBuilder) c = json_builder_new ();
    json_builder_begin_array (c);
    for (int k = 0; k < meta->n_classes; k++)
      {
        g_autofree char *colour = g_strdup_printf ("#%02x%02x%02x", meta->classes[k].colour[0],
                                                   meta->classes[k].colour[1],
                                                   meta->classes[k].colour[2]);
        json_builder_begin_object (c);
        json_builder_set_member_name (c, "value");
        json_builder_add_int_value (c, meta->classes[k].value);
        json_builder_set_member_name (c, "name");
        json_builder_add_string_value (c, meta->classes[k].name);
        json_builder_set_member_name (c, "colour");
        json_builder_add_string_value (c, colour);
        json_builder_end_object (c);
      }
    json_builder_end_array (c);
    g_autoptr (JsonNode) root = json_builder_get_root (c);
    g_autofree char *text = json_to_text (root);
    json_builder_add_string_value (b, text);
  }
  json_builder_set_member_name (b, "normalisation");
  json_builder_add_string_value (b, meta->normalisation != NULL ? meta->normalisation
                                                                : "zscore-brain");
  json_builder_set_member_name (b, "provenance");
  {
    g_autoptr (JsonBuilder) p = json_builder_new ();
    json_builder_begin_object (p);
    json_builder_set_member_name (p, "name");
    meta->name ? json_builder_add_string_value (p, meta->name) : json_builder_add_null_value (p);
    json_builder_set_member_name (p, "parent");
    meta->parent ? json_builder_add_string_value (p, meta->parent)
                 : json_builder_add_null_value (p);
    json_builder_set_member_name (p, "cases");
    json_builder_begin_array (p);
    for (char **s = meta->cases; s != NULL && *s != NULL; s++)
      json_builder_add_string_value (p, *s);
    json_builder_end_array (p);
    json_builder_set_member_name (p, "epochs");
    json_builder_add_int_value (p, meta->epochs);
    json_builder_set_member_name (p, "metrics");
    {
      JsonNode *metrics = meta->metrics != NULL ? json_from_string (meta->metrics, NULL) : NULL;
      if (metrics == NULL)
        metrics = json_node_new (JSON_NODE_NULL);
      json_builder_add_value (p, metrics);
    }
    json_builder_set_member_name (p, "date");
    meta->date ? json_builder_add_string_value (p, meta->date) : json_builder_add_null_value (p);
    json_builder_set_member_name (p, "command");
    meta->command ? json_builder_add_string_value (p, meta->command)
                  : json_builder_add_null_value (p);
    json_builder_end_object (p);
    g_autoptr (JsonNode) root = json_builder_get_root (p);
    g_autofree char *text = json_to_text (root);
    json_builder_add_string_value (b, text);
  }
  json_builder_end_object (b);
}

static gboolean
meta_fail (GError **error, const char *path, const char *what)
{
  g_autofree char *base = g_path_get_basename (path);
  g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT, "%s: %s", base, what);
  return FALSE;
}

static const char *
meta_string (JsonObject *md, const char *key)
{
  JsonNode *n = json_object_get_member (md, key);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (n);
}

static char *
opt_string (JsonObject *o, const char *key)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL || !JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING)
    return NULL;
  return g_strdup (json_node_get_string (n));
}

static char **
string_array (JsonArray *a)
{
  GPtrArray *v = g_ptr_array_new ();
  for (guint i = 0; a != NULL && i < json_array_get_length (a); i++)
    {
      JsonNode *n = json_array_get_element (a, i);
      if (JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING)
        g_ptr_array_add (v, g_strdup (json_node_get_string (n)));
    }
  g_ptr_array_add (v, NULL);
  return (char **) g_ptr_array_free (v, FALSE);
}

static NsModelMeta *
parse_metadata (JsonObject *md, const char *path, GError **error)
{
  g_autoptr (NsModelMeta) meta = g_new0 (NsModelMeta, 1);
  const char *version = meta_string (md, "format_version");
  const char *arch = meta_string (md, "arch");
  const char *mods = meta_string (md, "modalities");
  const char *classes = meta_string (md, "classes");
  const char *prov = meta_string (md, "provenance");
  char *end = NULL;

  if (version == NULL || g_strcmp0 (meta_string (md, "format"), "neuroseg-model") != 0)
    {
      meta_fail (error, path, "not a neuroseg model (no format/format_version in __metadata__)");
      return NULL;
    }
  gint64 v = g_ascii_strtoll (version, &end, 10);
  if (end == version || *end != '\0' || v < 1)
    {
      g_autofree char *msg = g_strdup_printf ("bad format_version '%s'", version);
      meta_fail (error, path, msg);
      return NULL;
    }
  if (v > NS_MODEL_FORMAT_VERSION)
    {
      g_autofree char *msg = g_strdup_printf (
        "format version %d is newer than this neuroseg reads (%d): update neuroseg",
        (int) v, NS_MODEL_FORMAT_VERSION);
      meta_fail (error, path, msg);
      return NULL;
    }
  if (!ns_model_arch_is_known (arch))
    {
      g_autofree char *msg = g_strdup_printf ("unknown architecture '%s' in __metadata__",
                                              arch != NULL ? arch : "(none)");
      meta_fail (error, path, msg);
      return NULL;
    }
  meta->arch = g_strdup (arch);

  g_autoptr (JsonNode) mn = mods != NULL ? json_from_string (mods, NULL) : NULL;
  if (mn == NULL || !JSON_NODE_HOLDS_ARRAY (mn)
      || json_array_get_length (json_node_get_array (mn)) == 0)
    {
      meta_fail (error, path, "__metadata__ 'modalities' is not a JSON array of names");
      return NULL;
    }
  meta->modalities = string_array (json_node_get_array (mn));

  g_autoptr (JsonNode) cn = classes != NULL ? json_from_string (classes, NULL) : NULL;
  if (cn == NULL || !JSON_NODE_HOLDS_ARRAY (cn)
      || json_array_get_length (json_node_get_array (cn)) < 2)
    {
      meta_fail (error, path, "__metadata__ 'classes' is not a JSON array of 2 or more classes");
      return NULL;
    }
  JsonArray *ca = json_node_get_array (cn);
  meta->n_classes = (int) json_array_get_length (ca);
  meta->classes = g_new0 (NsModelClass, meta->n_classes);
  for (int k = 0; k < meta->n_classes; k++)
    {
      JsonNode *e = json_array_get_element (ca, k);
      JsonObject *o = JSON_NODE_HOLDS_OBJECT (e) ? json_node_get_object (e) : NULL;
      const char *colour = o ? meta_string (o, "colour") : NULL;
      unsigned r = 0, g = 0, b = 0;
      if (o == NULL || !json_object_has_member (o, "value")
          || json_object_get_int_member (o, "value") < 0
          || json_object_get_int_member (o, "value") > 255)
        {
          g_autofree char *msg = g_strdup_printf ("__metadata__ class %d has no value 0..255", k);
          meta_fail (error, path, msg);
          return NULL;
        }
      meta->classes[k].value = (int) json_object_get_int_member (o, "value");
      meta->classes[k].name = opt_string (o, "name");
      if (meta->classes[k].name == NULL)
        meta->classes[k].name = g_strdup_printf ("class %d", meta->classes[k].value);
      if (colour != NULL && sscanf (colour, "#%02x%02x%02x", &r, &g, &b) == 3)
        {
          meta->classes[k].colour[0] = r;
          meta->classes[k].colour[1] = g;
          meta->classes[k].colour[2] = b;
        }
    }
  meta->normalisation = g_strdup (meta_string (md, "normalisation") != NULL
                                    ? meta_string (md, "normalisation") : "zscore-brain");

  g_autoptr (JsonNode) pn = prov != NULL ? json_from_string (prov, NULL) : NULL;
  if (pn != NULL && JSON_NODE_HOLDS_OBJECT (pn))
    {
      JsonObject *po = json_node_get_object (pn);
      JsonNode *cases = json_object_get_member (po, "cases");
      JsonNode *metrics = json_object_get_member (po, "metrics");
      meta->name = opt_string (po, "name");
      meta->parent = opt_string (po, "parent");
      meta->date = opt_string (po, "date");
      meta->command = opt_string (po, "command");
      if (cases != NULL && JSON_NODE_HOLDS_ARRAY (cases))
        meta->cases = string_array (json_node_get_array (cases));
      if (json_object_has_member (po, "epochs")
          && JSON_NODE_HOLDS_VALUE (json_object_get_member (po, "epochs")))
        meta->epochs = (int) json_object_get_int_member (po, "epochs");
      if (metrics != NULL && JSON_NODE_HOLDS_OBJECT (metrics))
        meta->metrics = json_to_text (metrics);
    }
  return g_steal_pointer (&meta);
}

/* ---- reading --------------------------------------------------------------------------- */

typedef struct
{
  char *path;
  char *base;          /* basename for messages */
  char *contents;
  gsize length;
  const guint8 *data;  /* start of the tensor bytes */
  gsize data_len;
  JsonParser *parser;
  JsonObject *header;
} StFile;

static void
st_file_free (StFile *f)
{
  g_free (f->path);
  g_free (f->base);
  g_free (f->contents);
  g_clear_object (&f->parser);
  g_free (f);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (StFile, st_file_free)

static gboolean
st_fail (GError **error, StFile *f, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static gboolean
st_fail (GError **error, StFile *f, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT, "%s: %s", f->base, msg);
  return FALSE;
}

static guint64
read_le64 (const guint8 *p)
{
  guint64 v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

/* Reads the whole file (header_only: only the header bytes) and checks the header. */
static StFile *
st_open (const char *path, gboolean header_only, GError **error)
{
  g_autoptr (StFile) f = g_new0 (StFile, 1);
  g_autoptr (GError) local = NULL;
  f->path = g_strdup (path);
  f->base = g_path_get_basename (path);

  if (header_only)
    {
      FILE *fp = fopen (path, "rb");
      guint8 len8[8];
      if (fp == NULL)
        {
          g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT, "%s: %s", f->base,
                       g_strerror (errno));
          return NULL;
        }
      if (fread (len8, 1, 8, fp) != 8)
        {
          fclose (fp);
          st_fail (error, f, "truncated: shorter than the 8-byte header length");
          return NULL;
        }
      guint64 n = read_le64 (len8);
      if (n < 2 || n > HEADER_MAX)
        {
          fclose (fp);
          st_fail (error, f, "not a safetensors file (header length %" G_GUINT64_FORMAT ")", n);
          return NULL;
        }
      f->contents = g_malloc (8 + n);
      memcpy (f->contents, len8, 8);
      f->length = 8 + fread (f->contents + 8, 1, n, fp);
      fclose (fp);
    }
  else if (!g_file_get_contents (path, &f->contents, &f->length, &local))
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT, "%s", local->message);
      return NULL;
    }

  if (f->length < 8)
    {
      st_fail (error, f, "truncated: shorter than the 8-byte header length");
      return NULL;
    }
  guint64 n = read_le64 ((const guint8 *) f->contents);
  if (n < 2 || n > HEADER_MAX)
    {
      st_fail (error, f, "not a safetensors file (header length %" G_GUINT64_FORMAT ")", n);
      return NULL;
    }
  if (n > f->length - 8)
    {
      st_fail (error, f, "truncated: header of %" G_GUINT64_FORMAT " bytes but the file has %"
               G_GSIZE_FORMAT, n, f->length);
      return NULL;
    }
  f->data = (const guint8 *) f->contents + 8 + n;
  f->data_len = f->length - 8 - n;

  f->parser = json_parser_new ();
  if (!json_parser_load_from_data (f->parser, f->contents + 8, (gssize) n, &local))
    {
      st_fail (error, f, "header is not valid JSON (%s)", local->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (f->parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      st_fail (error, f, "header is not a JSON object");
      return NULL;
    }
  f->header = json_node_get_object (root);
  return g_steal_pointer (&f);
}

typedef struct
{
  NsDType dtype;
  gsize elem;
  int ndim;
  gint64 shape[8];
  gsize begin, end;
} StEntry;

static gboolean
st_entry (StFile *f, const char *name, StEntry *e, gboolean check_data, GError **error)
{
  JsonNode *n = json_object_get_member (f->header, name);
  JsonObject *o = n != NULL && JSON_NODE_HOLDS_OBJECT (n) ? json_node_get_object (n) : NULL;
  JsonNode *dt = o ? json_object_get_member (o, "dtype") : NULL;
  JsonNode *sh = o ? json_object_get_member (o, "shape") : NULL;
  JsonNode *off = o ? json_object_get_member (o, "data_offsets") : NULL;

  if (o == NULL || dt == NULL || sh == NULL || off == NULL || !JSON_NODE_HOLDS_ARRAY (sh)
      || !JSON_NODE_HOLDS_ARRAY (off) || !JSON_NODE_HOLDS_VALUE (dt))
    return st_fail (error, f, "tensor %s: header entry needs a dtype, a shape array and "
                    "data_offsets", name);
  const char *dts = json_node_get_value_type (dt) == G_TYPE_STRING
                      ? json_node_get_string (dt) : NULL;
  if (!dtype_parse (dts, &e->dtype, &e->elem))
    return st_fail (error, f, "tensor %s: dtype %s is not supported (F32, BF16, F16)", name,
                    dts != NULL ? dts : "?");
  JsonArray *sa = json_node_get_array (sh);
  JsonArray *oa = json_node_get_array (off);
  e->ndim = (int) json_array_get_length (sa);
  if (e->ndim > 8 || json_array_get_length (oa) != 2)
    return st_fail (error, f, "tensor %s: bad shape or data_offsets", name);
  guint64 count = 1;
  for (int d = 0; d < e->ndim; d++)
    {
      JsonNode *dn = json_array_get_element (sa, d);
      if (!JSON_NODE_HOLDS_VALUE (dn) || json_node_get_value_type (dn) != G_TYPE_INT64
          || json_node_get_int (dn) < 0 || json_node_get_int (dn) > G_MAXINT32)
        return st_fail (error, f, "tensor %s: bad shape", name);
      e->shape[d] = json_node_get_int (dn);
      count *= (guint64) e->shape[d];
      if (count > G_MAXUINT32)
        return st_fail (error, f, "tensor %s: shape too large", name);
    }
  for (int k = 0; k < 2; k++)
    {
      JsonNode *on = json_array_get_element (oa, k);
      if (!JSON_NODE_HOLDS_VALUE (on) || json_node_get_value_type (on) != G_TYPE_INT64
          || json_node_get_int (on) < 0)
        return st_fail (error, f, "tensor %s: bad data_offsets", name);
    }
  e->begin = (gsize) json_array_get_int_element (oa, 0);
  e->end = (gsize) json_array_get_int_element (oa, 1);
  if (e->end < e->begin || e->end - e->begin != count * e->elem)
    return st_fail (error, f, "tensor %s: data_offsets [%" G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT
                    "] do not hold %" G_GUINT64_FORMAT " %s values", name, e->begin, e->end,
                    count, dtype_name (e->dtype));
  if (check_data && e->end > f->data_len)
    return st_fail (error, f, "truncated: tensor %s ends at byte %" G_GSIZE_FORMAT
                    " of a %" G_GSIZE_FORMAT "-byte data section", name, e->end, f->data_len);
  return TRUE;
}

static char *
shape_text (const gint64 *shape, int ndim)
{
  GString *s = g_string_new ("[");
  for (int d = 0; d < ndim; d++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, d ? "," : "", shape[d]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

static void
decode (const StEntry *e, const guint8 *src, float *dst, gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      if (e->dtype == NS_DTYPE_F32)
        {
          guint32 u = (guint32) src[4 * i] | (guint32) src[4 * i + 1] << 8
                      | (guint32) src[4 * i + 2] << 16 | (guint32) src[4 * i + 3] << 24;
          memcpy (&dst[i], &u, 4);
        }
      else
        {
          guint16 h = (guint16) (src[2 * i] | src[2 * i + 1] << 8);
          dst[i] = e->dtype == NS_DTYPE_BF16 ? ns_bf16_to_float (h) : ns_f16_to_float (h);
        }
    }
}

static gboolean
load_tensors (NsModel *model, StFile *f, GError **error)
{
  int n = ns_model_n_tensors (model);
  g_autoptr (GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr (GList) members = json_object_get_members (f->header);
  gsize max = 0;

  for (int i = 0; i < n; i++)
    {
      g_hash_table_add (wanted, (gpointer) ns_model_tensor_name (model, i));
      max = MAX (max, ns_model_tensor_size (model, i));
    }
  /* Every entry must be sound and known before anything is loaded. */
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      StEntry e;
      if (strcmp (name, "__metadata__") == 0)
        continue;
      if (!st_entry (f, name, &e, TRUE, error))
        return FALSE;
      if (!g_hash_table_contains (wanted, name) && !g_str_has_suffix (name, ".num_batches_tracked"))
        return st_fail (error, f, "unexpected tensor %s (not part of %s)", name,
                        ns_model_get_meta (model)->arch);
    }

  g_autofree float *values = g_new (float, MAX (max, 1));
  for (int i = 0; i < n; i++)
    {
      const char *name = ns_model_tensor_name (model, i);
      StEntry e;
      int s4[4];
      gint64 want[4];
      int nd = ns_model_tensor_ndim (model, i);

      if (!json_object_has_member (f->header, name))
        return st_fail (error, f, "tensor %s is missing", name);
      if (!st_entry (f, name, &e, TRUE, error))
        return FALSE;
      ns_model_tensor_shape (model, i, s4);
      for (int d = 0; d < 4; d++)
        want[d] = s4[d];
      gboolean same = e.ndim == nd;
      for (int d = 0; same && d < nd; d++)
        same = e.shape[d] == want[d];
      if (!same)
        {
          g_autofree char *got = shape_text (e.shape, e.ndim);
          g_autofree char *exp = shape_text (want, nd);
          return st_fail (error, f, "tensor %s has shape %s, expected %s", name, got, exp);
        }
      decode (&e, f->data + e.begin, values, ns_model_tensor_size (model, i));
      ns_model_tensor_set (model, i, values);
    }
  return TRUE;
}

static NsModelMeta *
st_meta (StFile *f, GError **error)
{
  JsonNode *md = json_object_get_member (f->header, "__metadata__");
  if (md == NULL || !JSON_NODE_HOLDS_OBJECT (md))
    {
      st_fail (error, f, "not a neuroseg model (no __metadata__)");
      return NULL;
    }
  return parse_metadata (json_node_get_object (md), f->path, error);
}

NsModel *
ns_checkpoint_load (const char *path, NsBackend *backend, GError **error)
{
  g_return_val_if_fail (path != NULL && backend != NULL, NULL);

  g_autoptr (StFile) f = st_open (path, FALSE, error);
  if (f == NULL)
    return NULL;
  g_autoptr (NsModelMeta) meta = st_meta (f, error);
  if (meta == NULL)
    return NULL;
  NsModelInit none = { NS_INIT_NONE, 0, 0 };
  g_autoptr (NsModel) model = ns_model_new (backend, meta, &none, error);
  if (model == NULL)
    return NULL;
  if (!load_tensors (model, f, error))
    return NULL;
  return g_steal_pointer (&model);
}

gboolean
ns_checkpoint_load_into (NsModel *model, const char *path, GError **error)
{
  g_return_val_if_fail (model != NULL && path != NULL, FALSE);

  g_autoptr (StFile) f = st_open (path, FALSE, error);
  if (f == NULL)
    return FALSE;
  g_autoptr (NsModelMeta) meta = st_meta (f, error);
  if (meta == NULL)
    return FALSE;
  const NsModelMeta *mine = ns_model_get_meta (model);
  if (g_strcmp0 (meta->arch, mine->arch) != 0)
    return st_fail (error, f, "architecture %s, expected %s", meta->arch, mine->arch);
  return load_tensors (model, f, error);
}

NsModelMeta *
ns_checkpoint_read_meta (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr (StFile) f = st_open (path, TRUE, error);
  if (f == NULL)
    return NULL;
  return st_meta (f, error);
}

/* ---- writing --------------------------------------------------------------------------- */

gboolean
ns_checkpoint_save (NsModel *model, const char *path, NsDType dtype, GError **error)
{
  g_return_val_if_fail (model != NULL && path != NULL, FALSE);

  int n = ns_model_n_tensors (model);
  gsize elem = dtype == NS_DTYPE_F32 ? 4 : 2;
  gsize data_len = 0, max = 0;
  g_autoptr (JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  add_metadata (b, ns_model_get_meta (model));
  for (int i = 0; i < n; i++)
    {
      int s4[4];
      gsize size = ns_model_tensor_size (model, i);
      int nd = ns_model_tensor_ndim (model, i);
      ns_model_tensor_shape (model, i, s4);
      json_builder_set_member_name (b, ns_model_tensor_name (model, i));
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "dtype");
      json_builder_add_string_value (b, dtype_name (dtype));
      json_builder_set_member_name (b, "shape");
      json_builder_begin_array (b);
      for (int d = 0; d < nd; d++)
        json_builder_add_int_value (b, s4[d]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "data_offsets");
      json_builder_begin_array (b);
      json_builder_add_int_value (b, (gint64) data_len);
      json_builder_add_int_value (b, (gint64) (data_len + size * elem));
      json_builder_end_array (b);
      json_builder_end_object (b);
      data_len += size * elem;
      max = MAX (max, size);
    }
  json_builder_end_object (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *header = json_to_text (root);
  gsize hlen = strlen (header);
  gsize padded = (hlen + 7) / 8 * 8;   /* the data section starts 8-byte aligned */

  gsize total = 8 + padded + data_len;
  g_autofree guint8 *buf = g_try_malloc (total);
  if (buf == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "%s: out of memory for %" G_GSIZE_FORMAT " bytes", path, total);
      return FALSE;
    }
  for (int k = 0; k < 8; k++)
    buf[k] = (guint8) (((guint64) padded >> (8 * k)) & 0xff);
  memcpy (buf + 8, header, hlen);
  memset (buf + 8 + hlen, ' ', padded - hlen);

  g_autofree float *values = g_new (float, MAX (max, 1));
  guint8 *p = buf + 8 + padded;
  for (int i = 0; i < n; i++)
    {
      gsize size = ns_model_tensor_size (model, i);
      ns_model_tensor_get (model, i, values);
      for (gsize e = 0; e < size; e++)
        {
          if (dtype == NS_DTYPE_F32)
            {
              guint32 u;
              memcpy (&u, &values[e], 4);
              for (int k = 0; k < 4; k++)
                *p++ = (guint8) (u >> (8 * k));
            }
          else
            {
              guint16 h = dtype == NS_DTYPE_BF16 ? ns_float_to_bf16 (values[e])
                                                 : ns_float_to_f16 (values[e]);
              *p++ = (guint8) (h & 0xff);
              *p++ = (guint8) (h >> 8);
            }
        }
    }

  g_autoptr (GError) local = NULL;
  if (!g_file_set_contents (path, (const char *) buf, (gssize) total, &local))
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED, "%s", local->message);
      return FALSE;
    }
  return TRUE;
}
