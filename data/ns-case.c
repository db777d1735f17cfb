/* SPDX-License-Identifier: MIT
 *
 * ns-case.c: case discovery by file name and parallel loading.
 *
 * Each file is decoded in its own GThread (a BraTS case is four or five .nii.gz files
 * of 2 MB that each take ~0.15 s to inflate; the rest is negligible), then the results
 * are checked in a fixed order so that the error reported does not depend on timing.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-case.h"
#include "ns-case-private.h"
#include "ns-data-error.h"
#include "ns-dicom.h"
#include "ns-file.h"
#include "ns-memory.h"
#include "ns-nifti.h"
#include "ns-nifti-private.h"

#include <string.h>

static const char *const modality_names[NS_N_MODALITIES] = { "flair", "t1c", "t1", "t2" };
static const char *const file_names[NS_N_CASE_FILES] = {
  "flair", "t1c", "t1", "t2", "labels", "brainmask",
};
/* The volumes of a 4-D Medical Segmentation Decathlon image: FLAIR, T1w, T1gd, T2w. */
static const NsModality msd_order[NS_N_MODALITIES] = {
  NS_MODALITY_FLAIR, NS_MODALITY_T1, NS_MODALITY_T1C, NS_MODALITY_T2,
};

const char *
ns_modality_name (NsModality modality)
{
  g_return_val_if_fail (modality >= 0 && modality < NS_N_MODALITIES, "?");
  return modality_names[modality];
}

const char *
ns_case_file_name (NsCaseFile kind)
{
  if (kind < 0 || kind >= NS_N_CASE_FILES)
    return "unknown";
  return file_names[kind];
}

static gboolean
has_nifti_extension (const char *name, gsize *stem_len)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);
  gsize len = strlen (lower);
  if (g_str_has_suffix (lower, ".nii.gz"))
    {
      *stem_len = len - 7;
      return TRUE;
    }
  if (g_str_has_suffix (lower, ".nii"))
    {
      *stem_len = len - 4;
      return TRUE;
    }
  *stem_len = len;
  return FALSE;
}

static gboolean
words_contain (char **words, const char *const *wanted)
{
  for (char **w = words; *w != NULL; w++)
    for (const char *const *x = wanted; *x != NULL; x++)
      if (strcmp (*w, *x) == 0)
        return TRUE;
  return FALSE;
}

NsCaseFile
ns_case_classify_file (const char *filename)
{
  static const char *const labels[] = {
    "seg", "segmentation", "otmulticlass", "label", "labels", "truth", "groundtruth", "gt",
    NULL,
  };
  static const char *const brainmask[] = { "brainmask", NULL };
  static const char *const brain[] = { "brain", NULL };
  static const char *const mask[] = { "mask", NULL };
  static const char *const flair[] = { "flair", NULL };
  static const char *const t1c[] = { "t1ce", "t1c", "t1gd", "t1gad", NULL };
  static const char *const t1[] = { "t1", "t1w", NULL };
  static const char *const t2[] = { "t2", "t2w", NULL };

  g_return_val_if_fail (filename != NULL, NS_CASE_FILE_NONE);

  g_autofree char *base = g_path_get_basename (filename);
  gsize stem_len;
  has_nifti_extension (base, &stem_len);
  base[stem_len] = '\0';
  g_autofree char *lower = g_ascii_strdown (base, -1);
  for (char *p = lower; *p; p++)
    if (!g_ascii_isalnum (*p))
      *p = ' ';
  g_auto (GStrv) words = g_strsplit_set (lower, " ", -1);

  /* Order matters: "T2-FLAIR" is a FLAIR, "flair_seg" a label map. */
  if (words_contain (words, labels))
    return NS_CASE_FILE_LABELS;
  if (words_contain (words, brainmask) || (words_contain (words, brain)
                                           && words_contain (words, mask)))
    return NS_CASE_FILE_BRAIN_MASK;
  if (words_contain (words, flair))
    return NS_CASE_FILE_FLAIR;
  if (words_contain (words, t1c))
    return NS_CASE_FILE_T1C;
  if (words_contain (words, t1))
    return NS_CASE_FILE_T1;
  if (words_contain (words, t2))
    return NS_CASE_FILE_T2;
  return NS_CASE_FILE_NONE;
}

static gboolean
assign_path (char *paths[NS_N_CASE_FILES], NsCaseFile kind, const char *path, GError **error)
{
  if (paths[kind] != NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: both this and %s look like the %s file of the case", path,
                   paths[kind], ns_case_file_name (kind));
      return FALSE;
    }
  paths[kind] = g_strdup (path);
  return TRUE;
}

static void
clear_paths (char *paths[NS_N_CASE_FILES])
{
  for (int i = 0; i < NS_N_CASE_FILES; i++)
    g_clear_pointer (&paths[i], g_free);
}

/* g_ptr_array_sort passes pointers to the elements, not the strings. */
static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

gboolean
ns_case_discover (const char *dir, char *paths[NS_N_CASE_FILES], GError **error)
{
  g_autoptr (GError) local = NULL;

  g_return_val_if_fail (dir != NULL, FALSE);
  memset (paths, 0, NS_N_CASE_FILES * sizeof paths[0]);

  g_autoptr (GDir) d = g_dir_open (dir, 0, &local);
  if (d == NULL)
    {
      g_set_error (error, NS_DATA_ERROR,
                   g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                     ? NS_DATA_ERROR_NOT_FOUND : NS_DATA_ERROR_IO,
                   "%s: %s", dir, local->message);
      return FALSE;
    }

  /* Sorted, so that messages do not depend on the directory's order. */
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      const char *n = names->pdata[i];
      gsize stem_len;
      if (n[0] == '.' || !has_nifti_extension (n, &stem_len))
        continue;
      NsCaseFile kind = ns_case_classify_file (n);
      if (kind == NS_CASE_FILE_NONE)
        continue;
      /* A file named as a part of the case that cannot be read (a dangling link, a link
       * loop, a FIFO, a folder) is an error saying so, not a part quietly left out. */
      g_autofree char *path = g_build_filename (dir, n, NULL);
      if (!ns_file_check_regular (path, error))
        {
          clear_paths (paths);
          return FALSE;
        }
      if (!assign_path (paths, kind, path, error))
        {
          clear_paths (paths);
          return FALSE;
        }
    }

  if (paths[NS_CASE_FILE_FLAIR] == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: no FLAIR image (a file named like *flair*.nii.gz)", dir);
      clear_paths (paths);
      return FALSE;
    }
  return TRUE;
}

/* ---- loading -------------------------------------------------------------------------- */

typedef struct
{
  const char *path;
  NsCaseFile kind;         /* NONE: a 4-volume Decathlon file */
  NsNiftiHeader header;    /* read before any voxel */
  GPtrArray *volumes;
  GError *error;
  GThread *thread;
} LoadJob;

static gpointer
load_job_run (gpointer data)
{
  LoadJob *job = data;
  job->volumes = _ns_nifti_read_all_reserved (job->path, &job->header, &job->error);
  return NULL;
}

static void
describe_grid (const NsGrid *g, GString *s)
{
  char orient[4];
  ns_grid_orientation_code (g, orient);
  g_string_append_printf (s, "%d x %d x %d, %.4g x %.4g x %.4g mm, %s", g->dim[0], g->dim[1],
                          g->dim[2], g->spacing[0], g->spacing[1], g->spacing[2], orient);
}

static gboolean
check_grid (const NsGrid *ref, const char *ref_path, const NsGrid *g, const char *path,
            GError **error)
{
  if (ns_grid_equal (ref, g))
    return TRUE;
  g_autoptr (GString) a = g_string_new (NULL);
  g_autoptr (GString) b = g_string_new (NULL);
  describe_grid (g, a);
  describe_grid (ref, b);
  if (g_str_equal (a->str, b->str))
    g_string_append (a, ", another origin or rotation");
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
               "%s: its grid (%s) differs from that of %s (%s)", path, a->str, ref_path,
               b->str);
  return FALSE;
}

static char *
case_id (const char *flair_path, const char *dir, gboolean from_folder)
{
  if (!from_folder)
    {
      g_autofree char *base = g_path_get_basename (flair_path);
      gsize stem_len;
      has_nifti_extension (base, &stem_len);
      base[stem_len] = '\0';
      /* "<ID>_flair" -> "<ID>" */
      if (stem_len > 6)
        {
          char *tail = base + stem_len - 6;
          if ((tail[0] == '_' || tail[0] == '-' || tail[0] == '.')
              && g_ascii_strcasecmp (tail + 1, "flair") == 0)
            {
              *tail = '\0';
              return g_steal_pointer (&base);
            }
        }
    }
  return g_path_get_basename (dir);
}

/* The FLAIR's file, else the first image's (NULL: none). */
static const char *
first_image_path (char *const paths[NS_N_CASE_FILES])
{
  for (int m = 0; m < NS_N_MODALITIES; m++)
    if (paths[m] != NULL)
      return paths[m];
  return NULL;
}

/* A case needs its FLAIR, or with NS_CASE_LOAD_ANY_IMAGE any one image. */
static gboolean
check_images (const NsCase *ncase, const char *dir, NsCaseLoadFlags flags, GError **error)
{
  if (ncase->modality[NS_MODALITY_FLAIR] != NULL
      || ((flags & NS_CASE_LOAD_ANY_IMAGE) && ns_case_n_modalities (ncase) > 0))
    return TRUE;
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND, "%s: no %s", dir,
               (flags & NS_CASE_LOAD_ANY_IMAGE) ? "image" : "FLAIR image");
  return FALSE;
}

/* Everything the headers can tell, before a voxel is decoded: each file is a readable
 * NIfTI file with the right number of volumes, every grid is the first file's, and the
 * whole case fits the memory available (reserved here, in *reserved, for the decode).
 * A T2 on another grid or a header that claims a billion voxels is refused in
 * milliseconds, in the fixed order of the jobs. */
static gboolean
check_headers (LoadJob *jobs, guint n_jobs, const char *dir, guint64 *reserved,
               GError **error)
{
  guint64 bytes = 0, voxels = 0;

  for (guint i = 0; i < n_jobs; i++)
    {
      LoadJob *job = &jobs[i];
      if (!ns_nifti_read_header (job->path, &job->header, error))
        return FALSE;
      int want = job->kind == NS_CASE_FILE_NONE ? NS_N_MODALITIES : 1;
      if (job->header.n_volumes != want)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                       "%s: holds %d volumes; expected %d", job->path, job->header.n_volumes,
                       want);
          return FALSE;
        }
      if (i > 0 && !check_grid (&jobs[0].header.grid, jobs[0].path, &job->header.grid,
                                job->path, error))
        return FALSE;
      bytes += _ns_nifti_decode_bytes (&job->header);
      voxels += ns_grid_n_voxels (&job->header.grid) * (guint64) job->header.n_volumes;
    }
  if (!_ns_nifti_reserve (dir, bytes, voxels, error))
    return FALSE;
  *reserved = bytes;
  return TRUE;
}

/* Decodes every file at once, the main thread taking the first. */
static void
decode_jobs (LoadJob *jobs, guint n_jobs, NsCaseLoadFlags flags)
{
  for (guint i = 1; i < n_jobs; i++)
    if (!(flags & NS_CASE_LOAD_SERIAL))
      jobs[i].thread = g_thread_try_new ("ns-load", load_job_run, &jobs[i], NULL);
  load_job_run (&jobs[0]);
  for (guint i = 1; i < n_jobs; i++)
    {
      if (jobs[i].thread != NULL)
        g_thread_join (jobs[i].thread);
      else
        load_job_run (&jobs[i]); /* serial, or no thread could be made */
    }
}

static NsCase *
load_parts (char *paths[NS_N_CASE_FILES], const char *msd_path, const char *dir,
            gboolean from_folder, NsCaseLoadFlags flags, GError **error)
{
  LoadJob jobs[NS_N_CASE_FILES + 1];
  guint n_jobs = 0;

  memset (jobs, 0, sizeof jobs);
  if (msd_path != NULL)
    {
      jobs[n_jobs].kind = NS_CASE_FILE_NONE;
      jobs[n_jobs++].path = msd_path;
    }
  for (int k = 0; k < NS_N_CASE_FILES; k++)
    {
      if (paths[k] == NULL)
        continue;
      if (k == NS_CASE_FILE_LABELS && (flags & NS_CASE_LOAD_SKIP_LABELS))
        continue;
      jobs[n_jobs].kind = k;
      jobs[n_jobs++].path = paths[k];
    }
  g_assert (n_jobs > 0);

  guint64 reserved = 0;
  if (!check_headers (jobs, n_jobs, dir, &reserved, error))
    return NULL;
  decode_jobs (jobs, n_jobs, flags);
  ns_memory_release (reserved);

  g_autoptr (NsCase) ncase = g_new0 (NsCase, 1);
  g_atomic_ref_count_init (&ncase->ref_count);
  ncase->dir = g_strdup (dir);
  ncase->grid = jobs[0].header.grid;
  gboolean ok = TRUE;

  /* In job order, so that the error reported does not depend on timing. */
  for (guint i = 0; i < n_jobs && ok; i++)
    {
      LoadJob *job = &jobs[i];
      NsCaseFile kind = job->kind;
      if (job->error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&job->error));
          ok = FALSE;
          break;
        }
      GPtrArray *vols = job->volumes;

      if (kind == NS_CASE_FILE_NONE)
        {
          for (guint v = 0; v < NS_N_MODALITIES; v++)
            {
              NsVolume *vol = g_ptr_array_index (vols, v);
              g_free (vol->name);
              vol->name = g_strdup (modality_names[msd_order[v]]);
              ncase->modality[msd_order[v]] = ns_volume_ref (vol);
              ncase->paths[msd_order[v]] = g_strdup (job->path);
            }
          continue;
        }

      NsVolume *vol = g_ptr_array_index (vols, 0);
      ncase->paths[kind] = g_strdup (job->path);
      if (kind < (NsCaseFile) NS_N_MODALITIES)
        {
          g_free (vol->name);
          vol->name = g_strdup (modality_names[kind]);
          ncase->modality[kind] = ns_volume_ref (vol);
        }
      else if (kind == NS_CASE_FILE_LABELS)
        {
          /* OTMultiClass is BraTS 2015 by construction; otherwise label 3 tells. */
          g_autofree char *lower = g_ascii_strdown (job->path, -1);
          NsLabelMap *map = ns_label_map_from_volume (vol, NS_LABEL_SCHEME_BRATS2015, FALSE,
                                                      error);
          if (map == NULL)
            {
              ok = FALSE;
              break;
            }
          ncase->labels = map;
          ncase->label_scheme = strstr (lower, "otmulticlass") != NULL
                                  ? NS_LABEL_SCHEME_BRATS2015
                                  : ns_label_map_guess_scheme (map);
          if (ncase->label_scheme == NS_LABEL_SCHEME_BRATS2015
              && (flags & NS_CASE_LOAD_MAP_TO_2017))
            {
              ns_label_map_map_2015_to_2017 (map);
              ncase->label_scheme = NS_LABEL_SCHEME_BRATS2017;
              ncase->labels_mapped = TRUE;
            }
        }
      else if (kind == NS_CASE_FILE_BRAIN_MASK)
        {
          ncase->brain_mask = ns_label_map_from_nonzero (vol, error);
          if (ncase->brain_mask == NULL)
            ok = FALSE;
        }
    }

  for (guint i = 0; i < n_jobs; i++)
    {
      g_clear_pointer (&jobs[i].volumes, g_ptr_array_unref);
      g_clear_error (&jobs[i].error);
    }
  if (!ok)
    return NULL;

  if (!check_images (ncase, dir, flags, error))
    return NULL;
  ncase->id = case_id (first_image_path (ncase->paths), dir, from_folder);
  return g_steal_pointer (&ncase);
}

NsCase *
ns_case_load_files (const char *const *paths, NsCaseLoadFlags flags, GError **error)
{
  return ns_case_load_files_as (paths, NULL, flags, error);
}

NsCase *
ns_case_load_files_as (const char *const *paths, const NsCaseFile *kinds,
                       NsCaseLoadFlags flags, GError **error)
{
  char *parts[NS_N_CASE_FILES] = { NULL };
  const char *msd = NULL;

  g_return_val_if_fail (paths != NULL, NULL);
  if (paths[0] == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID, "no files given for the case");
      return NULL;
    }
  for (const char *const *p = paths; *p != NULL; p++)
    {
      NsCaseFile kind = kinds != NULL && kinds[p - paths] != NS_CASE_FILE_NONE
                          ? kinds[p - paths] : ns_case_classify_file (*p);
      if (kind == NS_CASE_FILE_NONE)
        {
          /* Only a 4-volume file may go without a modality in its name. */
          NsNiftiHeader hdr;
          if (!ns_nifti_read_header (*p, &hdr, error))
            goto fail;
          if (hdr.n_volumes != NS_N_MODALITIES || msd != NULL)
            {
              g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                           "%s: cannot tell the modality from the name (expected flair, "
                           "t1ce, t1, t2, seg or brainmask in it)", *p);
              goto fail;
            }
          msd = *p;
          continue;
        }
      if (!assign_path (parts, kind, *p, error))
        goto fail;
    }
  if (msd != NULL && (parts[NS_CASE_FILE_FLAIR] || parts[NS_CASE_FILE_T1C]
                      || parts[NS_CASE_FILE_T1] || parts[NS_CASE_FILE_T2]))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: a 4-modality file given together with single-modality files", msd);
      goto fail;
    }
  if (msd == NULL && first_image_path (parts) == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: no image among the files given", paths[0]);
      goto fail;
    }
  if (msd == NULL && parts[NS_CASE_FILE_FLAIR] == NULL && !(flags & NS_CASE_LOAD_ANY_IMAGE))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: no FLAIR image among the files given", paths[0]);
      goto fail;
    }

  {
    g_autofree char *dir = g_path_get_dirname (msd != NULL ? msd : first_image_path (parts));
    NsCase *ncase = load_parts (parts, msd, dir, FALSE, flags, error);
    clear_paths (parts);
    if (ncase != NULL && msd != NULL)
      {
        g_free (ncase->id);
        g_autofree char *base = g_path_get_basename (msd);
        gsize stem_len;
        has_nifti_extension (base, &stem_len);
        base[stem_len] = '\0';
        ncase->id = g_steal_pointer (&base);
      }
    return ncase;
  }

fail:
  clear_paths (parts);
  return NULL;
}

NsCase *
ns_case_load (const char *path, NsCaseLoadFlags flags, GError **error)
{
  char *parts[NS_N_CASE_FILES];

  g_return_val_if_fail (path != NULL, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      /* A link that leads nowhere says where it leads (or that it loops). */
      g_autoptr (GError) local = NULL;
      if (g_file_test (path, G_FILE_TEST_IS_SYMLINK) && !ns_file_check_regular (path, &local))
        g_propagate_error (error, g_steal_pointer (&local));
      else
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                     "%s: no such file or folder", path);
      return NULL;
    }
  /* A DICOM folder (without a NIfTI FLAIR), DICOMDIR or file is a case too. */
  if (ns_dicom_is_case_path (path))
    return ns_dicom_case_load (path, NULL, flags, error);
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      const char *files[2] = { path, NULL };
      return ns_case_load_files (files, flags, error);
    }
  if (!ns_case_discover (path, parts, error))
    return NULL;
  NsCase *ncase = load_parts (parts, NULL, path, TRUE, flags, error);
  clear_paths (parts);
  return ncase;
}

NsCase *
ns_case_open (const char *const *paths, NsCaseLoadFlags flags, GError **error)
{
  g_return_val_if_fail (paths != NULL, NULL);

  if (paths[0] != NULL && paths[1] == NULL)
    return ns_case_load (paths[0], flags, error);
  return ns_case_load_files (paths, flags, error);
}

NsCase *
_ns_case_new (const char *dir)
{
  NsCase *ncase = g_new0 (NsCase, 1);
  g_atomic_ref_count_init (&ncase->ref_count);
  ncase->dir = g_strdup (dir);
  return ncase;
}

NsCase *
ns_case_ref (NsCase *ncase)
{
  g_return_val_if_fail (ncase != NULL, NULL);
  g_atomic_ref_count_inc (&ncase->ref_count);
  return ncase;
}

void
ns_case_unref (NsCase *ncase)
{
  if (ncase == NULL)
    return;
  if (!g_atomic_ref_count_dec (&ncase->ref_count))
    return;
  for (int m = 0; m < NS_N_MODALITIES; m++)
    g_clear_pointer (&ncase->modality[m], ns_volume_unref);
  clear_paths (ncase->paths);
  g_clear_pointer (&ncase->labels, ns_label_map_unref);
  g_clear_pointer (&ncase->brain_mask, ns_label_map_unref);
  g_strfreev (ncase->notes);
  g_free (ncase->dir);
  g_free (ncase->id);
  g_free (ncase);
}

guint
ns_case_n_modalities (const NsCase *ncase)
{
  guint n = 0;
  for (int m = 0; m < NS_N_MODALITIES; m++)
    n += ncase->modality[m] != NULL;
  return n;
}

/* ---- description ---------------------------------------------------------------------- */

gboolean
ns_case_describe (const char *path, NsCaseDescription *description, GError **error)
{
  NsCaseDescription *d = description;

  g_return_val_if_fail (path != NULL && description != NULL, FALSE);
  memset (d, 0, sizeof *d);
  for (int m = 0; m < NS_N_MODALITIES; m++)
    d->volumes[m] = -1;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND, "%s: no such file or folder",
                   path);
      return FALSE;
    }
  d->path = g_canonicalize_filename (path, NULL);
  if (g_file_test (d->path, G_FILE_TEST_IS_DIR))
    {
      char *parts[NS_N_CASE_FILES];
      if (!ns_case_discover (d->path, parts, error))
        {
          ns_case_description_clear (d);
          return FALSE;
        }
      for (int m = 0; m < NS_N_MODALITIES; m++)
        d->files[m] = g_steal_pointer (&parts[m]);
      d->labels = g_steal_pointer (&parts[NS_CASE_FILE_LABELS]);
      clear_paths (parts);
      d->id = case_id (d->files[NS_MODALITY_FLAIR], d->path, TRUE);
      return TRUE;
    }

  NsNiftiHeader hdr;
  NsCaseFile kind = ns_case_classify_file (d->path);
  if (!ns_nifti_read_header (d->path, &hdr, error))
    {
      ns_case_description_clear (d);
      return FALSE;
    }
  if (kind == NS_CASE_FILE_NONE && hdr.n_volumes == NS_N_MODALITIES)
    {
      for (int v = 0; v < NS_N_MODALITIES; v++)
        {
          d->files[msd_order[v]] = g_strdup (d->path);
          d->volumes[msd_order[v]] = v;
        }
      g_autofree char *base = g_path_get_basename (d->path);
      gsize stem_len;
      has_nifti_extension (base, &stem_len);
      base[stem_len] = '\0';
      d->id = g_steal_pointer (&base);
      return TRUE;
    }
  if (kind == NS_CASE_FILE_FLAIR && hdr.n_volumes == 1)
    {
      g_autofree char *dir = g_path_get_dirname (d->path);
      d->files[NS_MODALITY_FLAIR] = g_strdup (d->path);
      d->id = case_id (d->path, dir, FALSE);
      return TRUE;
    }
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
               "%s: not a case (give a case folder, a 4-modality file or a FLAIR file)",
               d->path);
  ns_case_description_clear (d);
  return FALSE;
}

void
ns_case_description_clear (NsCaseDescription *description)
{
  g_clear_pointer (&description->path, g_free);
  g_clear_pointer (&description->id, g_free);
  g_clear_pointer (&description->labels, g_free);
  for (int m = 0; m < NS_N_MODALITIES; m++)
    g_clear_pointer (&description->files[m], g_free);
}
