/* SPDX-License-Identifier: MIT
 *
 * ns-model-meta.c: what a model is (NsModelMeta): architecture, inputs, classes,
 * normalisation and provenance, with the defaults of a BraTS model.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-model.h"

#include <string.h>

gboolean
ns_model_arch_is_known (const char *arch)
{
  return g_strcmp0 (arch, "mobilenetv2-unet") == 0 || g_strcmp0 (arch, "unet") == 0;
}

NsModelMeta *
ns_model_meta_new_default (const char *arch)
{
  static const struct
  {
    int value;
    const char *name;
    guint8 rgb[3];
  } brats[4] = {
    { 0, "background", { 0, 0, 0 } },
    { 1, "NCR/NET", { 255, 0, 0 } },
    { 2, "edema", { 0, 255, 0 } },
    { 4, "enhancing", { 255, 255, 0 } },
  };
  NsModelMeta *meta = g_new0 (NsModelMeta, 1);

  meta->arch = g_strdup (arch != NULL ? arch : "mobilenetv2-unet");
  meta->modalities = g_new0 (char *, 3);
  meta->modalities[0] = g_strdup ("flair");
  meta->modalities[1] = g_strdup ("t1c");
  meta->n_classes = 4;
  meta->classes = g_new0 (NsModelClass, 4);
  for (int k = 0; k < 4; k++)
    {
      meta->classes[k].value = brats[k].value;
      meta->classes[k].name = g_strdup (brats[k].name);
      memcpy (meta->classes[k].colour, brats[k].rgb, 3);
    }
  meta->normalisation = g_strdup ("zscore-brain");
  return meta;
}

NsModelMeta *
ns_model_meta_copy (const NsModelMeta *meta)
{
  NsModelMeta *c = g_new0 (NsModelMeta, 1);

  c->arch = g_strdup (meta->arch);
  c->modalities = g_strdupv (meta->modalities);
  c->n_classes = meta->n_classes;
  c->classes = g_new0 (NsModelClass, MAX (meta->n_classes, 1));
  for (int k = 0; k < meta->n_classes; k++)
    {
      c->classes[k] = meta->classes[k];
      c->classes[k].name = g_strdup (meta->classes[k].name);
    }
  c->normalisation = g_strdup (meta->normalisation);
  c->name = g_strdup (meta->name);
  c->parent = g_strdup (meta->parent);
  c->cases = g_strdupv (meta->cases);
  c->epochs = meta->epochs;
  c->metrics = g_strdup (meta->metrics);
  c->date = g_strdup (meta->date);
  c->command = g_strdup (meta->command);
  return c;
}

void
ns_model_meta_free (NsModelMeta *meta)
{
  if (meta == NULL)
    return;
  g_free (meta->arch);
  g_strfreev (meta->modalities);
  for (int k = 0; k < meta->n_classes && meta->classes != NULL; k++)
    g_free (meta->classes[k].name);
  g_free (meta->classes);
  g_free (meta->normalisation);
  g_free (meta->name);
  g_free (meta->parent);
  g_strfreev (meta->cases);
  g_free (meta->metrics);
  g_free (meta->date);
  g_free (meta->command);
  g_free (meta);
}

gboolean
ns_model_meta_check (const NsModelMeta *meta, GError **error)
{
  g_return_val_if_fail (meta != NULL, FALSE);

  int n_in = ns_model_meta_n_inputs (meta);
  const char *bad = NULL;
  g_autofree char *msg = NULL;

  if (!ns_model_arch_is_known (meta->arch))
    msg = g_strdup_printf ("unknown architecture '%s' (expected mobilenetv2-unet or unet)",
                           meta->arch != NULL ? meta->arch : "(none)");
  else if (n_in < 1 || n_in > 64)
    msg = g_strdup_printf ("the model needs 1 to 64 input modalities, not %d", n_in);
  else if (meta->n_classes < 2 || meta->n_classes > 255 || meta->classes == NULL)
    msg = g_strdup_printf ("the model needs 2 to 255 classes, not %d", meta->n_classes);
  else if (g_strcmp0 (meta->normalisation, "zscore-brain") != 0)
    msg = g_strdup_printf ("unknown normalisation '%s' (this build knows zscore-brain)",
                           meta->normalisation != NULL ? meta->normalisation : "(none)");
  for (int i = 0; msg == NULL && i < n_in; i++)
    {
      if (*meta->modalities[i] == '\0')
        bad = "an empty modality name";
      for (int j = 0; bad == NULL && j < i; j++)
        if (g_ascii_strcasecmp (meta->modalities[i], meta->modalities[j]) == 0)
          msg = g_strdup_printf ("modality '%s' is listed twice", meta->modalities[i]);
      if (bad != NULL)
        msg = g_strdup (bad);
    }
  for (int k = 0; msg == NULL && k < meta->n_classes; k++)
    {
      const NsModelClass *c = &meta->classes[k];
      if (c->value < 0 || c->value > 255)
        msg = g_strdup_printf ("class %d has the label value %d, not 0..255", k, c->value);
      for (int j = 0; msg == NULL && j < k; j++)
        if (meta->classes[j].value == c->value)
          msg = g_strdup_printf ("classes %d and %d have the same label value %d", j, k,
                                 c->value);
      if (msg == NULL && (c->name == NULL || *c->name == '\0'))
        msg = g_strdup_printf ("class %d has no name", k);
    }
  if (msg != NULL)
    {
      g_set_error_literal (error, NS_NET_ERROR, NS_NET_ERROR_FAILED, msg);
      return FALSE;
    }
  return TRUE;
}

int
ns_model_meta_n_inputs (const NsModelMeta *meta)
{
  return meta->modalities != NULL ? (int) g_strv_length (meta->modalities) : 0;
}
