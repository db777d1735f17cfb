/* SPDX-License-Identifier: MIT
 *
 * ns-model-meta.c: what a model is (NsModelMeta): architecture, inputs, classes,
 * normalisation and provenance, with the defaults of a BraTS model.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-model.h"

#include "ns-interact.h"
#include "ns-normalize.h"

#include <string.h>

/* Percentiles of "zscore-brain-clip" (nnU-Net's robust intensity range). */
#define CLIP_LO 0.5
#define CLIP_HI 99.5
#define MAX_CONTEXT 8

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
  c->n_regions = meta->n_regions;
  c->regions = meta->n_regions > 0 ? g_memdup2 (meta->regions,
                                                sizeof (int) * meta->n_regions) : NULL;
  c->context = meta->context;
  c->postprocess = meta->postprocess;
  c->n_interaction = meta->n_interaction;
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
  g_free (meta->regions);
  g_free (meta->name);
  g_free (meta->parent);
  g_strfreev (meta->cases);
  g_free (meta->metrics);
  g_free (meta->date);
  g_free (meta->command);
  g_free (meta);
}

static int
class_of_value (const NsModelMeta *meta, int value)
{
  for (int k = 0; k < meta->n_classes; k++)
    if (meta->classes[k].value == value)
      return k;
  return -1;
}

/* NULL, or what is wrong with the regions (owned). */
static char *
check_regions (const NsModelMeta *meta)
{
  if (meta->n_regions == 0)
    return NULL;
  if (meta->n_regions != meta->n_classes - 1 || meta->regions == NULL)
    return g_strdup_printf ("%d regions for %d classes; nested regions need one per class "
                            "but the background", meta->n_regions, meta->n_classes);
  for (int r = 0; r < meta->n_regions; r++)
    {
      int k = class_of_value (meta, meta->regions[r]);
      if (k < 0)
        return g_strdup_printf ("region %d adds label %d, which is not a class of the model",
                                r, meta->regions[r]);
      if (k == 0)
        return g_strdup_printf ("region %d adds the background class", r);
      for (int q = 0; q < r; q++)
        if (meta->regions[q] == meta->regions[r])
          return g_strdup_printf ("label %d is in the regions twice", meta->regions[r]);
    }
  return NULL;
}

static char *
check_postprocess (const NsModelMeta *meta)
{
  const NsPostprocessParams *p = &meta->postprocess;
  if (p->min_component_voxels < 0 || p->small_label_below < 0)
    return g_strdup ("post-processing with a negative voxel count");
  if (p->small_label_below > 0
      && (class_of_value (meta, p->small_label) <= 0
          || class_of_value (meta, p->small_label_to) < 0
          || p->small_label == p->small_label_to))
    return g_strdup_printf ("post-processing relabels %d as %d, which are not two classes of "
                            "the model (the first not the background)", p->small_label,
                            p->small_label_to);
  return NULL;
}

static char *
check_interactive (const NsModelMeta *meta)
{
  if (meta->n_interaction == 0)
    return NULL;
  if (meta->n_interaction != NS_INTERACT_N_CHANNELS)
    return g_strdup_printf ("an interactive model with %d interaction channels; this build "
                            "knows %d (mask, positive, negative)", meta->n_interaction,
                            NS_INTERACT_N_CHANNELS);
  if (meta->n_regions != 1 || meta->context != 0)
    return g_strdup ("an interactive model needs one region output and no context");
  return NULL;
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
  else if (g_strcmp0 (meta->normalisation, "zscore-brain") != 0
           && g_strcmp0 (meta->normalisation, "zscore-brain-clip") != 0)
    msg = g_strdup_printf ("unknown normalisation '%s' (this build knows zscore-brain and "
                           "zscore-brain-clip)",
                           meta->normalisation != NULL ? meta->normalisation : "(none)");
  else if (meta->context < 0 || meta->context > MAX_CONTEXT)
    msg = g_strdup_printf ("a context of %d slices; 0 to %d are supported", meta->context,
                           MAX_CONTEXT);
  else if (n_in * (2 * meta->context + 1) > 64)
    msg = g_strdup_printf ("%d modalities with a context of %d slices make %d input "
                           "channels; at most 64 are supported", n_in, meta->context,
                           n_in * (2 * meta->context + 1));
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
  if (msg == NULL)
    msg = check_regions (meta);
  if (msg == NULL)
    msg = check_postprocess (meta);
  if (msg == NULL)
    msg = check_interactive (meta);
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

int
ns_model_meta_n_channels (const NsModelMeta *meta)
{
  return ns_model_meta_n_inputs (meta) * (2 * MAX (meta->context, 0) + 1)
         + MAX (meta->n_interaction, 0);
}

int
ns_model_meta_n_outputs (const NsModelMeta *meta)
{
  return meta->n_regions > 0 ? meta->n_regions : meta->n_classes;
}

NsModelMeta *
ns_model_meta_new_interactive (const NsModelMeta *base)
{
  g_return_val_if_fail (base != NULL, NULL);
  NsModelMeta *meta = g_new0 (NsModelMeta, 1);

  meta->arch = g_strdup (base->arch);
  meta->modalities = g_strdupv (base->modalities);
  meta->normalisation = g_strdup (base->normalisation);
  meta->n_classes = 2;
  meta->classes = g_new0 (NsModelClass, 2);
  meta->classes[0].name = g_strdup ("background");
  meta->classes[1].value = 1;
  meta->classes[1].name = g_strdup ("region");
  meta->classes[1].colour[0] = 255;
  meta->n_regions = 1;
  meta->regions = g_new0 (int, 1);
  meta->regions[0] = 1;
  meta->n_interaction = NS_INTERACT_N_CHANNELS;
  return meta;
}

gboolean
ns_model_meta_is_interactive (const NsModelMeta *meta)
{
  g_return_val_if_fail (meta != NULL, FALSE);
  return meta->n_interaction > 0;
}

gboolean
ns_model_meta_check_kind (const NsModelMeta *meta, gboolean interactive, const char *path,
                          GError **error)
{
  g_return_val_if_fail (meta != NULL, FALSE);
  if (ns_model_meta_is_interactive (meta) == !!interactive)
    return TRUE;
  const char *name = meta->name != NULL ? meta->name : path != NULL ? path : "the model";
  if (interactive)
    g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED,
                 "%s is a segmentation model, not an interactive one (its metadata has no "
                 "'interactive' inputs); choose a model trained with 'neuroseg train "
                 "--interactive'", name);
  else
    g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED,
                 "%s is an interactive correction model (it needs a region mask and clicks "
                 "as inputs), not a segmentation model", name);
  return FALSE;
}

void
ns_model_meta_set_brats_regions (NsModelMeta *meta)
{
  static const int brats[3] = { 2, 1, 4 };
  g_return_if_fail (meta != NULL);
  g_free (meta->regions);
  meta->n_regions = 3;
  meta->regions = g_memdup2 (brats, sizeof brats);
}

int
ns_model_meta_region_depth (const NsModelMeta *meta, int k)
{
  g_return_val_if_fail (meta != NULL && k >= 0 && k < meta->n_classes, 0);
  for (int r = 0; r < meta->n_regions; r++)
    if (meta->regions[r] == meta->classes[k].value)
      return r + 1;
  return 0;
}

char *
ns_model_meta_dup_inputs_text (const NsModelMeta *meta)
{
  g_return_val_if_fail (meta != NULL, NULL);
  GString *s = g_string_new (NULL);
  for (int c = 0; c < ns_model_meta_n_inputs (meta); c++)
    {
      const char *m = meta->modalities[c];
      const char *shown = g_ascii_strcasecmp (m, "flair") == 0 ? "FLAIR"
                          : g_ascii_strcasecmp (m, "t1c") == 0 ? "T1c"
                          : g_ascii_strcasecmp (m, "t1") == 0 ? "T1"
                          : g_ascii_strcasecmp (m, "t2") == 0 ? "T2" : m;
      g_string_append_printf (s, "%s%s", c > 0 ? ", " : "", shown);
    }
  if (meta->context > 0)
    g_string_append_printf (s, " (2.5-D, +-%d slice%s)", meta->context,
                            meta->context == 1 ? "" : "s");
  if (meta->n_interaction > 0)
    g_string_append (s, " + region mask and clicks (interactive)");
  return g_string_free (s, FALSE);
}

gboolean
ns_model_meta_normalise_transform (const NsModelMeta *meta, const NsVolume *volume,
                                   const NsLabelMap *brain_mask, NsNormalizeTransform *transform,
                                   GError **error)
{
  g_return_val_if_fail (meta != NULL && volume != NULL && transform != NULL, FALSE);
  if (g_strcmp0 (meta->normalisation, "zscore-brain-clip") == 0)
    return ns_normalize_zscore_clipped_transform (volume, brain_mask, CLIP_LO, CLIP_HI,
                                                  transform, NULL, error);
  return ns_normalize_zscore_transform (volume, brain_mask, transform, NULL, error);
}

NsVolume *
ns_model_meta_normalise (const NsModelMeta *meta, const NsVolume *volume,
                         const NsLabelMap *brain_mask, GError **error)
{
  g_return_val_if_fail (meta != NULL && volume != NULL, NULL);
  if (g_strcmp0 (meta->normalisation, "zscore-brain-clip") == 0)
    return ns_normalize_zscore_clipped (volume, brain_mask, CLIP_LO, CLIP_HI, NULL, error);
  return ns_normalize_zscore (volume, brain_mask, NULL, error);
}

const char *
ns_model_meta_missing_input (const NsModelMeta *meta, const gboolean present[NS_N_MODALITIES])
{
  g_return_val_if_fail (meta != NULL && present != NULL, NULL);
  for (int c = 0; c < ns_model_meta_n_inputs (meta); c++)
    {
      gboolean found = FALSE;
      for (int m = 0; m < NS_N_MODALITIES && !found; m++)
        found = present[m] && g_ascii_strcasecmp (ns_modality_name (m), meta->modalities[c]) == 0;
      if (!found)
        return meta->modalities[c];
    }
  return NULL;
}
