/* SPDX-License-Identifier: MIT
 *
 * ns-checkpoint.c: models as safetensors files (see ns-checkpoint.h); the format itself,
 * checked before use and read with bounded memory, is ns-safetensors.c.
 *
 * Loading: the metadata is type-checked (every value where a JSON number, string or
 * object is expected is one, else an error naming the file and the key) and then checked
 * as a whole by ns_model_meta_check(); every tensor of the file must be sound and belong
 * to the model before anything is loaded; then tensors are matched by name and shape (the
 * first difference is reported with both shapes) and read one at a time, each value
 * finite.  Metadata values are strings (the format allows nothing else); the structured
 * ones hold JSON text.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-checkpoint.h"

#include "ns-checkpoint-private.h"
#include "ns-interact.h"
#include "ns-json.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

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

/* ---- metadata: writing ----------------------------------------------------------------- */

static void
set_text (JsonObject *md, const char *key, char *owned_text)
{
  json_object_set_string_member (md, key, owned_text);
  g_free (owned_text);
}

/* __metadata__ (net/README.md): string -> string, structured values as JSON text. */
JsonObject *
_ns_checkpoint_metadata_new (const NsModelMeta *meta)
{
  JsonObject *md = json_object_new ();
  g_autoptr (JsonBuilder) m = json_builder_new ();
  g_autoptr (JsonBuilder) c = json_builder_new ();
  g_autoptr (JsonBuilder) p = json_builder_new ();

  /* version 2 only where a version-1 reader would run the model wrongly (ns-model.h) */
  gboolean v2 = meta->n_regions > 0 || meta->context > 0
                || g_strcmp0 (meta->normalisation, "zscore-brain-clip") == 0;
  int version = meta->n_interaction > 0 ? 3 : v2 ? 2 : 1;
  json_object_set_string_member (md, "format", "neuroseg-model");
  set_text (md, "format_version", g_strdup_printf ("%d", version));
  json_object_set_string_member (md, "arch", meta->arch);

  json_builder_begin_array (m);
  for (char **s = meta->modalities; s != NULL && *s != NULL; s++)
    json_builder_add_string_value (m, *s);
  json_builder_end_array (m);
  set_text (md, "modalities", ns_json_builder_dup_text (m));

  json_builder_begin_array (c);
  for (int k = 0; k < meta->n_classes; k++)
    {
      const NsModelClass *cl = &meta->classes[k];
      g_autofree char *colour = g_strdup_printf ("#%02x%02x%02x", cl->colour[0], cl->colour[1],
                                                 cl->colour[2]);
      json_builder_begin_object (c);
      ns_json_add_int (c, "value", cl->value);
      ns_json_add_string (c, "name", cl->name);
      ns_json_add_string (c, "colour", colour);
      json_builder_end_object (c);
    }
  json_builder_end_array (c);
  set_text (md, "classes", ns_json_builder_dup_text (c));
  json_object_set_string_member (md, "normalisation", meta->normalisation != NULL
                                                      ? meta->normalisation : "zscore-brain");
  if (meta->n_regions > 0)
    {
      g_autoptr (JsonBuilder) rb = json_builder_new ();
      json_builder_begin_array (rb);
      for (int r = 0; r < meta->n_regions; r++)
        json_builder_add_int_value (rb, meta->regions[r]);
      json_builder_end_array (rb);
      set_text (md, "regions", ns_json_builder_dup_text (rb));
    }
  if (meta->context > 0)
    set_text (md, "context", g_strdup_printf ("%d", meta->context));
  if (meta->n_interaction > 0)
    {
      /* the inputs after the image channels, in order (ns-interact.h) */
      g_autoptr (JsonBuilder) ib = json_builder_new ();
      json_builder_begin_object (ib);
      json_builder_set_member_name (ib, "inputs");
      json_builder_begin_array (ib);
      json_builder_add_string_value (ib, "region-mask");
      json_builder_add_string_value (ib, "positive-clicks");
      json_builder_add_string_value (ib, "negative-clicks");
      json_builder_end_array (ib);
      json_builder_set_member_name (ib, "click");
      json_builder_add_string_value (ib, "disc");
      json_builder_set_member_name (ib, "click_radius_mm");
      json_builder_add_double_value (ib, NS_INTERACT_CLICK_RADIUS_MM);
      json_builder_end_object (ib);
      set_text (md, "interactive", ns_json_builder_dup_text (ib));
    }
  if (ns_postprocess_is_active (&meta->postprocess))
    {
      const NsPostprocessParams *pp = &meta->postprocess;
      g_autoptr (JsonBuilder) pb = json_builder_new ();
      json_builder_begin_object (pb);
      json_builder_set_member_name (pb, "min_component_voxels");
      json_builder_add_int_value (pb, pp->min_component_voxels);
      json_builder_set_member_name (pb, "small_label");
      json_builder_add_int_value (pb, pp->small_label);
      json_builder_set_member_name (pb, "small_label_below");
      json_builder_add_int_value (pb, pp->small_label_below);
      json_builder_set_member_name (pb, "small_label_to");
      json_builder_add_int_value (pb, pp->small_label_to);
      json_builder_end_object (pb);
      set_text (md, "postprocess", ns_json_builder_dup_text (pb));
    }

  json_builder_begin_object (p);
  ns_json_add_string (p, "name", meta->name);
  ns_json_add_string (p, "parent", meta->parent);
  ns_json_add_strv (p, "cases", meta->cases);
  ns_json_add_int (p, "epochs", meta->epochs);
  json_builder_set_member_name (p, "metrics");
  {
    JsonNode *metrics = meta->metrics != NULL ? json_from_string (meta->metrics, NULL) : NULL;
    if (metrics == NULL)
      metrics = json_node_new (JSON_NODE_NULL);
    json_builder_add_value (p, metrics);
  }
  ns_json_add_string (p, "date", meta->date);
  ns_json_add_string (p, "command", meta->command);
  json_builder_end_object (p);
  set_text (md, "provenance", ns_json_builder_dup_text (p));
  return md;
}

/* ---- metadata: reading (every value type-checked) ------------------------------------------ */

typedef struct
{
  const char *base;           /* the file, for messages */
  GError **error;
} MetaReader;

static gboolean
meta_fail (MetaReader *r, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
meta_fail (MetaReader *r, const char *format, ...)
{
  va_list ap;
  va_start (ap, format);
  g_autofree char *msg = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_set_error (r->error, NS_NET_ERROR, NS_NET_ERROR_CHECKPOINT, "%s: %s", r->base, msg);
  return FALSE;
}

/* A __metadata__ value: a string (the format allows nothing else), or NULL when absent. */
static gboolean
meta_string (MetaReader *r, JsonObject *md, const char *key, const char **out)
{
  JsonNode *n = json_object_get_member (md, key);
  *out = NULL;
  if (n == NULL)
    return TRUE;
  if (!ns_json_node_holds (n, G_TYPE_STRING))
    return meta_fail (r, "__metadata__ '%s' is %s, not a string", key, ns_json_node_type_name (n));
  *out = json_node_get_string (n);
  return TRUE;
}

/* A __metadata__ value holding JSON text; NULL node when absent. */
static gboolean
meta_json (MetaReader *r, JsonObject *md, const char *key, JsonNode **out)
{
  const char *text;
  g_autoptr (GError) local = NULL;
  *out = NULL;
  if (!meta_string (r, md, key, &text))
    return FALSE;
  if (text == NULL)
    return TRUE;
  *out = json_from_string (text, &local);
  if (*out == NULL)
    return meta_fail (r, "__metadata__ '%s' is not JSON (%s)", key,
                      local != NULL ? local->message : "empty");
  return TRUE;
}

/* An optional string member of an object (NULL when absent or null). */
static gboolean
member_string (MetaReader *r, JsonObject *o, const char *what, const char *key, char **out)
{
  JsonNode *n = json_object_get_member (o, key);
  *out = NULL;
  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    return TRUE;
  if (!ns_json_node_holds (n, G_TYPE_STRING))
    return meta_fail (r, "%s '%s' is %s, not a string", what, key, ns_json_node_type_name (n));
  *out = g_strdup (json_node_get_string (n));
  return TRUE;
}

static gboolean
read_modalities (MetaReader *r, JsonNode *mn, NsModelMeta *meta)
{
  if (mn == NULL || !JSON_NODE_HOLDS_ARRAY (mn))
    return meta_fail (r, "__metadata__ 'modalities' is not a JSON array of names");
  JsonArray *a = json_node_get_array (mn);
  guint n = json_array_get_length (a);
  meta->modalities = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (!ns_json_node_holds (e, G_TYPE_STRING))
        return meta_fail (r, "__metadata__ modality %u is %s, not a name", i,
                          ns_json_node_type_name (e));
      meta->modalities[i] = g_strdup (json_node_get_string (e));
    }
  return TRUE;
}

static gboolean
read_classes (MetaReader *r, JsonNode *cn, NsModelMeta *meta)
{
  if (cn == NULL || !JSON_NODE_HOLDS_ARRAY (cn)
      || json_array_get_length (json_node_get_array (cn)) < 2)
    return meta_fail (r, "__metadata__ 'classes' is not a JSON array of 2 or more classes");
  JsonArray *a = json_node_get_array (cn);
  meta->n_classes = (int) MIN (json_array_get_length (a), 1024);
  meta->classes = g_new0 (NsModelClass, MAX (meta->n_classes, 1));
  for (int k = 0; k < meta->n_classes; k++)
    {
      JsonNode *e = json_array_get_element (a, k);
      if (!JSON_NODE_HOLDS_OBJECT (e))
        return meta_fail (r, "__metadata__ class %d is %s, not an object", k,
                          ns_json_node_type_name (e));
      JsonObject *o = json_node_get_object (e);
      JsonNode *v = json_object_get_member (o, "value");
      if (!ns_json_node_holds (v, G_TYPE_INT64))
        return meta_fail (r, "__metadata__ class %d: 'value' is %s, not a label value "
                          "0..255", k, ns_json_node_type_name (v));
      if (json_node_get_int (v) < 0 || json_node_get_int (v) > 255)
        return meta_fail (r, "__metadata__ class %d: 'value' %" G_GINT64_FORMAT " is not a "
                          "label value 0..255", k, json_node_get_int (v));
      NsModelClass *cl = &meta->classes[k];
      cl->value = (int) json_node_get_int (v);
      g_autofree char *colour = NULL;
      g_autofree char *what = g_strdup_printf ("__metadata__ class %d:", k);
      if (!member_string (r, o, what, "name", &cl->name)
          || !member_string (r, o, what, "colour", &colour))
        return FALSE;
      if (cl->name == NULL)
        cl->name = g_strdup_printf ("class %d", cl->value);
      unsigned rgb[3];
      char end;
      if (colour != NULL)
        {
          if (sscanf (colour, "#%2x%2x%2x%c", &rgb[0], &rgb[1], &rgb[2], &end) != 3
              || strlen (colour) != 7)
            return meta_fail (r, "__metadata__ class %d: colour '%s' is not #rrggbb", k,
                              colour);
          for (int i = 0; i < 3; i++)
            cl->colour[i] = (guint8) rgb[i];
        }
    }
  return TRUE;
}

static gboolean
read_provenance (MetaReader *r, JsonNode *pn, NsModelMeta *meta)
{
  if (pn == NULL || JSON_NODE_HOLDS_NULL (pn))
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (pn))
    return meta_fail (r, "__metadata__ 'provenance' is %s, not an object",
                      ns_json_node_type_name (pn));
  JsonObject *po = json_node_get_object (pn);
  if (!member_string (r, po, "provenance", "name", &meta->name)
      || !member_string (r, po, "provenance", "parent", &meta->parent)
      || !member_string (r, po, "provenance", "date", &meta->date)
      || !member_string (r, po, "provenance", "command", &meta->command))
    return FALSE;
  JsonNode *cases = json_object_get_member (po, "cases");
  if (cases != NULL && JSON_NODE_HOLDS_ARRAY (cases))
    {
      JsonArray *a = json_node_get_array (cases);
      g_autoptr (GPtrArray) v = g_ptr_array_new_with_free_func (g_free);
      for (guint i = 0; i < json_array_get_length (a); i++)
        {
          JsonNode *e = json_array_get_element (a, i);
          if (!ns_json_node_holds (e, G_TYPE_STRING))
            return meta_fail (r, "provenance case %u is %s, not a name", i,
                              ns_json_node_type_name (e));
          g_ptr_array_add (v, g_strdup (json_node_get_string (e)));
        }
      g_ptr_array_add (v, NULL);
      meta->cases = (char **) g_ptr_array_free (g_steal_pointer (&v), FALSE);
    }
  else if (cases != NULL && !JSON_NODE_HOLDS_NULL (cases))
    return meta_fail (r, "provenance 'cases' is %s, not an array", ns_json_node_type_name (cases));
  JsonNode *epochs = json_object_get_member (po, "epochs");
  if (ns_json_node_holds (epochs, G_TYPE_INT64) && json_node_get_int (epochs) >= 0
      && json_node_get_int (epochs) <= G_MAXINT)
    meta->epochs = (int) json_node_get_int (epochs);
  else if (epochs != NULL && !JSON_NODE_HOLDS_NULL (epochs))
    return meta_fail (r, "provenance 'epochs' is %s, not a count", ns_json_node_type_name (epochs));
  JsonNode *metrics = json_object_get_member (po, "metrics");
  if (metrics != NULL && JSON_NODE_HOLDS_OBJECT (metrics))
    meta->metrics = json_to_string (metrics, FALSE);
  else if (metrics != NULL && !JSON_NODE_HOLDS_NULL (metrics))
    return meta_fail (r, "provenance 'metrics' is %s, not an object", ns_json_node_type_name (metrics));
  return TRUE;
}

/* "regions": a JSON array of label values (absent: softmax classes). */
static gboolean
read_regions (MetaReader *r, JsonNode *rn, NsModelMeta *meta)
{
  if (rn == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY (rn) || json_array_get_length (json_node_get_array (rn)) > 255)
    return meta_fail (r, "__metadata__ 'regions' is not a JSON array of label values");
  JsonArray *a = json_node_get_array (rn);
  meta->n_regions = (int) json_array_get_length (a);
  meta->regions = g_new0 (int, MAX (meta->n_regions, 1));
  for (int i = 0; i < meta->n_regions; i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      if (!ns_json_node_holds (e, G_TYPE_INT64) || json_node_get_int (e) < 0 || json_node_get_int (e) > 255)
        return meta_fail (r, "__metadata__ region %d is %s, not a label value 0..255", i,
                          ns_json_node_type_name (e));
      meta->regions[i] = (int) json_node_get_int (e);
    }
  return TRUE;
}

/* "interactive": {"inputs": [...]} (absent: a segmentation model).  The inputs must be
 * the three this build encodes, in its order. */
static gboolean
read_interactive (MetaReader *r, JsonNode *in, NsModelMeta *meta)
{
  static const char *const known[NS_INTERACT_N_CHANNELS] = {
    "region-mask", "positive-clicks", "negative-clicks"
  };
  if (in == NULL)
    return TRUE;
  JsonNode *inputs = JSON_NODE_HOLDS_OBJECT (in)
                     ? json_object_get_member (json_node_get_object (in), "inputs") : NULL;
  if (inputs == NULL || !JSON_NODE_HOLDS_ARRAY (inputs))
    return meta_fail (r, "__metadata__ 'interactive' has no 'inputs' array");
  JsonArray *a = json_node_get_array (inputs);
  gboolean same = json_array_get_length (a) == NS_INTERACT_N_CHANNELS;
  for (guint i = 0; same && i < NS_INTERACT_N_CHANNELS; i++)
    {
      JsonNode *e = json_array_get_element (a, i);
      same = ns_json_node_holds (e, G_TYPE_STRING)
             && g_strcmp0 (json_node_get_string (e), known[i]) == 0;
    }
  if (!same)
    return meta_fail (r, "__metadata__ 'interactive' inputs are not the ones this build "
                      "knows (region-mask, positive-clicks, negative-clicks)");
  meta->n_interaction = NS_INTERACT_N_CHANNELS;
  return TRUE;
}

/* "context": a count of slices as text (absent: 0). */
static gboolean
read_context (MetaReader *r, const char *text, NsModelMeta *meta)
{
  char *end = NULL;
  if (text == NULL)
    return TRUE;
  gint64 v = g_ascii_strtoll (text, &end, 10);
  if (end == text || *end != '\0' || v < 0 || v > 64)
    return meta_fail (r, "__metadata__ 'context' is '%s', not a count of slices", text);
  meta->context = (int) v;
  return TRUE;
}

static gboolean
member_count (MetaReader *r, JsonObject *o, const char *key, int *out)
{
  JsonNode *n = json_object_get_member (o, key);
  if (n == NULL)
    return TRUE;
  if (!ns_json_node_holds (n, G_TYPE_INT64) || json_node_get_int (n) < 0 || json_node_get_int (n) > G_MAXINT)
    return meta_fail (r, "__metadata__ postprocess '%s' is %s, not a count", key,
                      ns_json_node_type_name (n));
  *out = (int) json_node_get_int (n);
  return TRUE;
}

/* "postprocess": an object of counts (absent: nothing). */
static gboolean
read_postprocess (MetaReader *r, JsonNode *pn, NsModelMeta *meta)
{
  if (pn == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_OBJECT (pn))
    return meta_fail (r, "__metadata__ 'postprocess' is %s, not an object",
                      ns_json_node_type_name (pn));
  JsonObject *o = json_node_get_object (pn);
  NsPostprocessParams *p = &meta->postprocess;
  return member_count (r, o, "min_component_voxels", &p->min_component_voxels)
         && member_count (r, o, "small_label", &p->small_label)
         && member_count (r, o, "small_label_below", &p->small_label_below)
         && member_count (r, o, "small_label_to", &p->small_label_to);
}

static NsModelMeta *
parse_metadata (JsonObject *md, const char *base, GError **error)
{
  MetaReader r = { base, error };
  g_autoptr (NsModelMeta) meta = g_new0 (NsModelMeta, 1);
  const char *format, *version, *arch, *norm, *context;
  g_autoptr (JsonNode) mn = NULL, cn = NULL, pn = NULL, rn = NULL, ppn = NULL, in = NULL;
  char *end = NULL;

  if (md == NULL)
    {
      meta_fail (&r, "not a neuroseg model (no __metadata__)");
      return NULL;
    }
  if (!meta_string (&r, md, "format", &format) || !meta_string (&r, md, "format_version", &version))
    return NULL;
  if (version == NULL || g_strcmp0 (format, "neuroseg-model") != 0)
    {
      meta_fail (&r, "not a neuroseg model (no format/format_version in __metadata__)");
      return NULL;
    }
  gint64 v = g_ascii_strtoll (version, &end, 10);
  if (end == version || *end != '\0' || v < 1)
    {
      meta_fail (&r, "bad format_version '%s'", version);
      return NULL;
    }
  if (v > NS_MODEL_FORMAT_VERSION)
    {
      meta_fail (&r, "format version %d is newer than this neuroseg reads (%d): update "
                 "neuroseg", (int) v, NS_MODEL_FORMAT_VERSION);
      return NULL;
    }
  if (!meta_string (&r, md, "arch", &arch) || !meta_string (&r, md, "normalisation", &norm)
      || !meta_json (&r, md, "modalities", &mn) || !meta_json (&r, md, "classes", &cn)
      || !meta_json (&r, md, "provenance", &pn) || !meta_json (&r, md, "regions", &rn)
      || !meta_string (&r, md, "context", &context)
      || !meta_json (&r, md, "postprocess", &ppn) || !meta_json (&r, md, "interactive", &in))
    return NULL;
  if (!ns_model_arch_is_known (arch))
    {
      meta_fail (&r, "unknown architecture '%s' in __metadata__",
                 arch != NULL ? arch : "(none)");
      return NULL;
    }
  meta->arch = g_strdup (arch);
  /* files from before the key was written: the only normalisation there was */
  meta->normalisation = g_strdup (norm != NULL ? norm : "zscore-brain");
  if (!read_modalities (&r, mn, meta) || !read_classes (&r, cn, meta)
      || !read_provenance (&r, pn, meta) || !read_regions (&r, rn, meta)
      || !read_context (&r, context, meta) || !read_postprocess (&r, ppn, meta)
      || !read_interactive (&r, in, meta))
    return NULL;

  g_autoptr (GError) local = NULL;
  if (!ns_model_meta_check (meta, &local))
    {
      meta_fail (&r, "%s", local->message);
      return NULL;
    }
  return g_steal_pointer (&meta);
}

/* ---- reading --------------------------------------------------------------------------- */

static char *
shape_text (const gint64 *shape, int ndim)
{
  GString *s = g_string_new ("[");
  for (int d = 0; d < ndim; d++)
    g_string_append_printf (s, "%s%" G_GINT64_FORMAT, d ? "," : "", shape[d]);
  g_string_append_c (s, ']');
  return g_string_free (s, FALSE);
}

/* Running variances are not negative (sqrt (var + eps) must exist). */
static gboolean
values_valid (NsStFile *f, const char *name, const float *v, gsize n, GError **error)
{
  if (!g_str_has_suffix (name, ".running_var"))
    return TRUE;
  for (gsize i = 0; i < n; i++)
    if (v[i] < 0.0f)
      return _ns_st_fail (error, f, "tensor %s holds the negative variance %g at element %"
                          G_GSIZE_FORMAT, name, v[i], i);
  return TRUE;
}

gboolean
_ns_checkpoint_read_tensors (NsStFile *f, NsModel *model, const char *const *also,
                             GError **error)
{
  int n = ns_model_n_tensors (model);
  g_autoptr (GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  gsize max = 0;

  for (int i = 0; i < n; i++)
    {
      g_hash_table_add (wanted, (gpointer) ns_model_tensor_name (model, i));
      max = MAX (max, ns_model_tensor_size (model, i));
    }
  /* Every tensor of the file must belong to the model before anything is loaded. */
  for (guint i = 0; i < _ns_st_n_entries (f); i++)
    {
      const NsStEntry *e = _ns_st_get_entry (f, i);
      if (!g_hash_table_contains (wanted, e->name)
          && !g_str_has_suffix (e->name, ".num_batches_tracked")
          && !(also != NULL && g_strv_contains (also, e->name)))
        return _ns_st_fail (error, f, "unexpected tensor %s (not part of %s)", e->name,
                            ns_model_get_meta (model)->arch);
    }

  g_autofree float *values = g_try_new (float, MAX (max, 1));
  if (values == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY, "%s: out of memory",
                   _ns_st_get_name (f));
      return FALSE;
    }
  for (int i = 0; i < n; i++)
    {
      const char *name = ns_model_tensor_name (model, i);
      const NsStEntry *e = _ns_st_find (f, name);
      int s4[4], nd = ns_model_tensor_ndim (model, i);
      gint64 want[4];

      if (e == NULL)
        return _ns_st_fail (error, f, "tensor %s is missing", name);
      if (!e->is_float)
        return _ns_st_fail (error, f, "tensor %s: dtype %s is not supported (F32, BF16, F16)",
                            name, e->dtype_name);
      ns_model_tensor_shape (model, i, s4);
      for (int d = 0; d < 4; d++)
        want[d] = s4[d];
      gboolean same = e->ndim == nd;
      for (int d = 0; same && d < nd; d++)
        same = e->shape[d] == want[d];
      if (!same)
        {
          g_autofree char *got = shape_text (e->shape, e->ndim);
          g_autofree char *exp = shape_text (want, nd);
          return _ns_st_fail (error, f, "tensor %s has shape %s, expected %s", name, got, exp);
        }
      if (!_ns_st_read_f32 (f, e, values, error)
          || !values_valid (f, name, values, ns_model_tensor_size (model, i), error))
        return FALSE;
      ns_model_tensor_set (model, i, values);
    }
  return ns_backend_check (ns_model_get_backend (model), error);
}

static NsModelMeta *
file_meta (NsStFile *f, GError **error)
{
  return parse_metadata (_ns_st_get_metadata (f), _ns_st_get_name (f), error);
}

NsModel *
ns_checkpoint_load (const char *path, NsBackend *backend, GError **error)
{
  g_return_val_if_fail (path != NULL && backend != NULL, NULL);

  g_autoptr (NsStFile) f = _ns_st_open (path, NULL, error);
  if (f == NULL)
    return NULL;
  g_autoptr (NsModelMeta) meta = file_meta (f, error);
  if (meta == NULL)
    return NULL;
  NsModelInit none = { NS_INIT_NONE, 0, 0 };
  g_autoptr (NsModel) model = ns_model_new (backend, meta, &none, error);
  if (model == NULL)
    return NULL;
  if (!_ns_checkpoint_read_tensors (f, model, NULL, error))
    return NULL;
  return g_steal_pointer (&model);
}

gboolean
ns_checkpoint_load_into (NsModel *model, const char *path, GError **error)
{
  g_return_val_if_fail (model != NULL && path != NULL, FALSE);

  g_autoptr (NsStFile) f = _ns_st_open (path, NULL, error);
  if (f == NULL)
    return FALSE;
  g_autoptr (NsModelMeta) meta = file_meta (f, error);
  if (meta == NULL)
    return FALSE;
  const NsModelMeta *mine = ns_model_get_meta (model);
  if (g_strcmp0 (meta->arch, mine->arch) != 0)
    return _ns_st_fail (error, f, "architecture %s, expected %s", meta->arch, mine->arch);
  return _ns_checkpoint_read_tensors (f, model, NULL, error);
}

NsModelMeta *
ns_checkpoint_read_meta (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr (NsStFile) f = _ns_st_open (path, NULL, error);
  if (f == NULL)
    return NULL;
  return file_meta (f, error);
}

/* ---- writing --------------------------------------------------------------------------- */

void
_ns_checkpoint_add_tensors (NsStWriter *w, NsModel *model, NsDType dtype)
{
  for (int i = 0; i < ns_model_n_tensors (model); i++)
    {
      int s4[4];
      ns_model_tensor_shape (model, i, s4);
      _ns_st_writer_add (w, ns_model_tensor_name (model, i), dtype, s4,
                         ns_model_tensor_ndim (model, i));
    }
}

gboolean
_ns_checkpoint_put_tensors (NsStWriter *w, NsModel *model, GError **error)
{
  gsize max = 0;
  for (int i = 0; i < ns_model_n_tensors (model); i++)
    max = MAX (max, ns_model_tensor_size (model, i));
  g_autofree float *values = g_try_new (float, MAX (max, 1));
  if (values == NULL)
    {
      g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_OUT_OF_MEMORY,
                   "out of memory for a tensor of %" G_GSIZE_FORMAT " values", max);
      return FALSE;
    }
  for (int i = 0; i < ns_model_n_tensors (model); i++)
    {
      ns_model_tensor_get (model, i, values);
      if (!_ns_st_writer_put (w, values, ns_model_tensor_size (model, i), error))
        return FALSE;
    }
  return TRUE;
}

gboolean
_ns_checkpoint_save_tagged (NsModel *model, const char *path, NsDType dtype, const char *tag,
                            GError **error)
{
  g_autoptr (NsStWriter) w = _ns_st_writer_new (path, tag);
  g_autoptr (JsonObject) md = _ns_checkpoint_metadata_new (ns_model_get_meta (model));

  _ns_checkpoint_add_tensors (w, model, dtype);
  if (!_ns_st_writer_begin (w, md, error) || !_ns_checkpoint_put_tensors (w, model, error))
    return FALSE;
  /* what a failing device gave back is not written over a good file */
  if (!ns_backend_check (ns_model_get_backend (model), error))
    {
      g_prefix_error (error, "%s: not written: ", path);
      return FALSE;
    }
  return _ns_st_writer_commit (g_steal_pointer (&w), error);
}

gboolean
ns_checkpoint_save (NsModel *model, const char *path, NsDType dtype, GError **error)
{
  g_return_val_if_fail (model != NULL && path != NULL, FALSE);
  return _ns_checkpoint_save_tagged (model, path, dtype, NULL, error);
}

gboolean
ns_checkpoint_check_kind (const char *path, gboolean interactive, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_autoptr (NsModelMeta) meta = ns_checkpoint_read_meta (path, error);
  return meta != NULL && ns_model_meta_check_kind (meta, interactive, path, error);
}
