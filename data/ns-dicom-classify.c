/* SPDX-License-Identifier: MIT
 *
 * ns-dicom-classify.c: which MR sequence a series is, from what its files say.
 *
 * The Series Description is what people name a series by ("AX T2 FLAIR", "T1W_SE_GD",
 * "sag MPRAGE post"), so it decides first, word by word (split at anything that is not a
 * letter, a digit, '+' or '*', case-insensitive), then the Protocol Name in the same way.
 * Words that name other kinds of series (localizer, diffusion, perfusion, T2*, SWI,
 * angiography...) make the series unclear rather than a wrong guess.  "FLAIR" wins over
 * "T2" (a T2 FLAIR is a FLAIR); a T1 is contrast-enhanced when its words say so (post, gd,
 * gad, contrast, ce, +c, c+, a lone +) or when Contrast/Bolus Agent is filled, and not when
 * they say "pre".
 *
 * When no text names a sequence, the acquisition parameters may: inversion recovery with
 * TI >= 1500 ms and TE >= 60 ms is a FLAIR; a spin echo with TR < 1000 ms and TE < 30 ms,
 * or inversion recovery with TI < 1500 ms and TE < 30 ms (MPRAGE), is T1-weighted (T1c with
 * a contrast agent); a spin echo with TR >= 2000 ms and TE >= 60 ms is T2-weighted.  A
 * gradient echo with short TR and TE is not guessed (it may be an angiogram).  Anything
 * else is left to the user.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-dicom.h"

#include <math.h>
#include <string.h>

static const char *const other_kinds[] = {
  "localizer", "localiser", "scout", "survey", "loc", "tri", "3plane", "dwi", "diffusion",
  "adc", "trace", "dti", "tensor", "swi", "swan", "t2*", "t2star", "gre*", "perfusion", "pwi",
  "dsc", "dce", "asl", "pcasl", "mra", "tof", "angio", "fmri", "bold", "mip", "minip",
  "spectroscopy", "svs", "csi", "cbf", "cbv", "mtt", "fa", "colfa", NULL,
};
static const char *const flair_words[] = { "flair", "tirm", "darkfluid", "dark-fluid", NULL };
static const char *const t1_words[] = {
  "t1", "t1w", "t1wi", "mprage", "mp-rage", "spgr", "fspgr", "bravo", "tfl", "vibe", "t1se",
  "t1tse", "t1fse", "t1ce", "t1c", "t1gd", "t1post", "t1+c", "t1c+", "t1+", NULL,
};
static const char *const contrast_words[] = {
  "post", "gd", "gad", "gado", "gadolinium", "contrast", "ce", "+c", "c+", "+gd", "postcontrast",
  "t1ce", "t1c", "t1gd", "t1post", "t1+c", "t1c+", "t1+", "enh", "+", NULL,
};
static const char *const pre_words[] = { "pre", "precontrast", "native", "nativ", NULL };
static const char *const t2_words[] = {
  "t2", "t2w", "t2wi", "t2tse", "t2fse", "t2se", "t2frfse", NULL,
};

static gboolean
has_word (char **words, const char *const *wanted)
{
  for (char **w = words; *w != NULL; w++)
    for (const char *const *x = wanted; *x != NULL; x++)
      if (g_ascii_strcasecmp (*w, *x) == 0)
        return TRUE;
  return FALSE;
}

static char **
split_words (const char *text)
{
  g_autofree char *lower = g_ascii_strdown (text, -1);
  for (char *p = lower; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '+' && *p != '*')
      *p = ' ';
  g_auto (GStrv) raw = g_strsplit (lower, " ", -1);
  GPtrArray *words = g_ptr_array_new ();
  for (char **w = raw; *w != NULL; w++)
    {
      if (**w == '\0')
        continue;
      g_ptr_array_add (words, g_strdup (*w));
      /* "sag+c" is also "sag" and "+c": a '+' inside a word starts another. */
      const char *plus = strchr (*w + 1, '+');
      if (plus != NULL)
        {
          g_ptr_array_add (words, g_strndup (*w, (gsize) (plus - *w)));
          g_ptr_array_add (words, g_strdup (plus));
        }
    }
  g_ptr_array_add (words, NULL);
  return (char **) g_ptr_array_free (words, FALSE);
}

/* The modality the words of text name, or -1; *other when they name another kind. */
static int
classify_text (const char *text, gboolean contrast_agent, gboolean *other)
{
  g_auto (GStrv) words = split_words (text);
  *other = FALSE;
  if (words[0] == NULL)
    return -1;
  if (has_word (words, other_kinds))
    {
      *other = TRUE;
      return -1;
    }
  /* "dark fluid" in two words. */
  gboolean dark = FALSE, fluid = FALSE;
  for (char **w = words; *w != NULL; w++)
    {
      dark = dark || strcmp (*w, "dark") == 0;
      fluid = fluid || strcmp (*w, "fluid") == 0;
    }
  if (has_word (words, flair_words) || (dark && fluid))
    return NS_MODALITY_FLAIR;
  if (has_word (words, t1_words))
    {
      if (has_word (words, pre_words))
        return NS_MODALITY_T1;
      return has_word (words, contrast_words) || contrast_agent ? NS_MODALITY_T1C
                                                                : NS_MODALITY_T1;
    }
  if (has_word (words, t2_words))
    return NS_MODALITY_T2;
  return -1;
}

/* Whether Scanning Sequence (e.g. "SE\\IR") holds code. */
static gboolean
has_scanning (const NsDicomFile *f, const char *code)
{
  g_auto (GStrv) parts = g_strsplit (f->scanning_sequence, "\\", -1);
  for (char **p = parts; *p != NULL; p++)
    if (g_ascii_strcasecmp (g_strstrip (*p), code) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
is_inversion_recovery (const NsDicomFile *f)
{
  return has_scanning (f, "IR") || (isfinite (f->inversion_time) && f->inversion_time > 0.0);
}

static int
classify_parameters (const NsDicomFile *f, gboolean contrast_agent, char **reason)
{
  double tr = f->repetition_time, te = f->echo_time, ti = f->inversion_time;
  gboolean ir = is_inversion_recovery (f);
  /* Spin echo: a gradient echo with short TR and TE may as well be an angiogram. */
  gboolean se = has_scanning (f, "SE");
  int m = -1;

  if (!isfinite (te))
    return -1;
  if (ir && isfinite (ti) && ti >= 1500.0 && te >= 60.0)
    m = NS_MODALITY_FLAIR;
  else if ((se && !ir && isfinite (tr) && tr < 1000.0 && te < 30.0)
           || (ir && isfinite (ti) && ti < 1500.0 && te < 30.0))
    m = contrast_agent ? NS_MODALITY_T1C : NS_MODALITY_T1;
  else if (se && !ir && isfinite (tr) && tr >= 2000.0 && te >= 60.0)
    m = NS_MODALITY_T2;
  if (m >= 0 && reason != NULL)
    {
      g_autoptr (GString) s = g_string_new (NULL);
      if (ir)
        g_string_append_printf (s, "inversion recovery, TI %g ms, ", ti);
      if (isfinite (tr))
        g_string_append_printf (s, "TR %g ms, ", tr);
      g_string_append_printf (s, "TE %g ms", te);
      if (contrast_agent)
        g_string_append_printf (s, ", contrast agent \"%s\"", f->contrast_agent);
      *reason = g_string_free (g_steal_pointer (&s), FALSE);
    }
  return m;
}

int
ns_dicom_classify_sequence (const NsDicomFile *file, char **reason)
{
  g_return_val_if_fail (file != NULL, -1);
  if (reason != NULL)
    *reason = NULL;
  gboolean agent = file->contrast_agent != NULL && file->contrast_agent[0] != '\0'
                   && g_ascii_strcasecmp (file->contrast_agent, "none") != 0
                   && g_ascii_strcasecmp (file->contrast_agent, "no") != 0;
  const char *texts[] = { file->series_description, file->protocol_name };
  const char *names[] = { "series description", "protocol name" };

  for (guint t = 0; t < G_N_ELEMENTS (texts); t++)
    {
      if (texts[t] == NULL || texts[t][0] == '\0')
        continue;
      gboolean other;
      int m = classify_text (texts[t], agent, &other);
      if (other)
        return -1; /* named as something else: not a guess to make from its parameters */
      if (m >= 0)
        {
          if (reason != NULL)
            *reason = g_strdup_printf ("%s \"%s\"%s%s%s", names[t], texts[t],
                                       m == NS_MODALITY_T1C && agent ? ", contrast agent \"" : "",
                                       m == NS_MODALITY_T1C && agent ? file->contrast_agent : "",
                                       m == NS_MODALITY_T1C && agent ? "\"" : "");
          return m;
        }
    }
  return classify_parameters (file, agent, reason);
}
