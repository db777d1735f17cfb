/* SPDX-License-Identifier: MIT
 *
 * ns-dicom-scan.c: finding the DICOM series of a folder or a DICOMDIR.
 *
 * A folder is walked recursively (symbolic links followed, each folder visited once);
 * a file is DICOM when it carries the Part 10 mark ("DICM" after the 128-byte preamble),
 * which costs one 132-byte read, so NIfTI files, thumbnails and notes beside a study are
 * passed over without DCMTK.  A DICOMDIR (given, or at the top of the folder) is read
 * instead: its records name the files, and its file IDs are resolved case-insensitively
 * (media written on one system and copied on another change the case), never outside the
 * DICOMDIR's folder.  Headers are then read (without pixel data) and image files grouped
 * by Series Instance UID; each series is checked as a volume (ns-dicom-series.c) and its
 * sequence guessed (ns-dicom-classify.c).
 *
 * A path that cannot be read (a dangling link, no permission) and a DICOM file that DCMTK
 * cannot parse are errors naming the file: a series silently missing a file would be
 * read as a volume with a gap, or not at all.  FIFOs, devices and sockets are not files
 * and are passed over.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-dicom.h"
#include "ns-dicom-private.h"
#include "ns-data-error.h"
#include "ns-file.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 32     /* folders below the one given */
#define PREAMBLE  128

void
_ns_dicom_file_clear (NsDicomFile *f)
{
  g_clear_pointer (&f->path, g_free);
  g_clear_pointer (&f->sop_class_uid, g_free);
  g_clear_pointer (&f->sop_instance_uid, g_free);
  g_clear_pointer (&f->study_uid, g_free);
  g_clear_pointer (&f->series_uid, g_free);
  g_clear_pointer (&f->frame_of_reference_uid, g_free);
  g_clear_pointer (&f->modality, g_free);
  g_clear_pointer (&f->series_description, g_free);
  g_clear_pointer (&f->protocol_name, g_free);
  g_clear_pointer (&f->sequence_name, g_free);
  g_clear_pointer (&f->scanning_sequence, g_free);
  g_clear_pointer (&f->contrast_agent, g_free);
  g_clear_pointer (&f->image_type, g_free);
  g_clear_pointer (&f->photometric, g_free);
  g_clear_pointer (&f->transfer_syntax, g_free);
}

void
ns_dicom_file_free (NsDicomFile *file)
{
  if (file == NULL)
    return;
  _ns_dicom_file_clear (file);
  g_free (file);
}

void
ns_dicom_series_free (NsDicomSeries *series)
{
  if (series == NULL)
    return;
  g_free (series->uid);
  g_free (series->study_uid);
  g_free (series->frame_of_reference_uid);
  g_free (series->description);
  g_free (series->modality);
  g_free (series->problem);
  g_free (series->sequence_reason);
  g_clear_pointer (&series->files, g_ptr_array_unref);
  g_free (series);
}

/* ---- which files are DICOM ------------------------------------------------------------------ */

/* A readable regular file with "DICM" at byte 128.  error is set only when path cannot be
 * checked (a dangling link, permissions), not for a file that is simply something else. */
static gboolean
is_part10 (const char *path, gboolean *is_dicom, GError **error)
{
  struct stat st;
  *is_dicom = FALSE;
  if (stat (path, &st) == 0 && !S_ISREG (st.st_mode))
    return TRUE; /* a FIFO, a device, a socket: not a file to read */
  int fd = ns_file_open_regular (path, &st, error);
  if (fd < 0)
    return FALSE;
  guint8 head[PREAMBLE + 4];
  ssize_t got = st.st_size >= (off_t) sizeof head ? pread (fd, head, sizeof head, 0) : 0;
  int saved = errno;
  close (fd);
  if (got < 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot read: %s", path,
                   g_strerror (saved));
      return FALSE;
    }
  *is_dicom = got == (ssize_t) sizeof head && memcmp (head + PREAMBLE, "DICM", 4) == 0;
  return TRUE;
}

typedef struct
{
  GPtrArray *files;       /* paths of DICOM files found */
  GHashTable *visited;    /* "dev:ino" of folders entered */
  gboolean stop_at_first;
} Walk;

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static gboolean
walk_folder (Walk *w, const char *dir, int depth, GError **error)
{
  struct stat st;
  if (stat (dir, &st) != 0)
    return TRUE; /* vanished since it was listed */
  char *key = g_strdup_printf ("%ju:%ju", (uintmax_t) st.st_dev, (uintmax_t) st.st_ino);
  if (!g_hash_table_add (w->visited, key) || depth > MAX_DEPTH)
    return TRUE; /* a link back to a folder already seen */

  g_autoptr (GError) local = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &local);
  if (d == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: %s", dir, local->message);
      return FALSE;
    }
  /* Sorted, so that what is found first and every message are the same on each run. */
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        {
          if (!walk_folder (w, path, depth + 1, error))
            return FALSE;
        }
      else
        {
          gboolean dicom;
          if (!is_part10 (path, &dicom, error))
            return FALSE;
          if (dicom)
            g_ptr_array_add (w->files, g_steal_pointer (&path));
        }
      if (w->stop_at_first && w->files->len > 0)
        return TRUE;
    }
  return TRUE;
}

/* The entry of dir named like name, ignoring case, or NULL. */
static char *
find_entry_nocase (const char *dir, const char *name)
{
  g_autofree char *exact = g_build_filename (dir, name, NULL);
  if (g_file_test (exact, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&exact);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  if (d == NULL)
    return NULL;
  const char *entry;
  while ((entry = g_dir_read_name (d)) != NULL)
    if (g_ascii_strcasecmp (entry, name) == 0)
      return g_build_filename (dir, entry, NULL);
  return NULL;
}

/* The DICOMDIR's records as paths under its folder. */
static GPtrArray *
dicomdir_files (const char *dicomdir, GError **error)
{
  g_autoptr (GPtrArray) ids = _ns_dicom_read_dicomdir (dicomdir, error);
  if (ids == NULL)
    return NULL;
  g_autofree char *root = g_path_get_dirname (dicomdir);
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < ids->len; i++)
    {
      const char *id = ids->pdata[i];
      g_auto (GStrv) parts = g_strsplit (id, "/", -1);
      g_autofree char *path = g_strdup (root);
      for (char **p = parts; *p != NULL && path != NULL; p++)
        {
          if (**p == '\0' || strcmp (*p, ".") == 0 || strcmp (*p, "..") == 0)
            {
              g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                           "%s: the record \"%s\" leads outside the DICOMDIR's folder",
                           dicomdir, id);
              return NULL;
            }
          char *next = find_entry_nocase (path, *p);
          g_free (path);
          path = next;
        }
      if (path == NULL)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                       "%s: the file \"%s\" it lists is missing", dicomdir, id);
          return NULL;
        }
      g_ptr_array_add (files, g_steal_pointer (&path));
    }
  return g_steal_pointer (&files);
}

static gboolean
is_dicomdir_name (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  return g_ascii_strcasecmp (base, "DICOMDIR") == 0;
}

/* The DICOM files of path: the DICOMDIR's records, or a folder's files.  A single file
 * stands for its folder (the series it belongs to is there). */
static GPtrArray *
find_files (const char *path, GError **error)
{
  g_autofree char *folder = NULL;
  if (g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *top = find_entry_nocase (path, "DICOMDIR");
      if (top != NULL && g_file_test (top, G_FILE_TEST_IS_REGULAR))
        return dicomdir_files (top, error);
      folder = g_strdup (path);
    }
  else
    {
      if (!ns_file_check_regular (path, error))
        return NULL;
      if (is_dicomdir_name (path))
        return dicomdir_files (path, error);
      gboolean dicom;
      if (!is_part10 (path, &dicom, error))
        return NULL;
      if (!dicom)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_DICOM,
                       "%s: not a DICOM file (no \"DICM\" mark after the 128-byte preamble)",
                       path);
          return NULL;
        }
      folder = g_path_get_dirname (path);
    }

  Walk w = { g_ptr_array_new_with_free_func (g_free),
             g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), FALSE };
  gboolean ok = walk_folder (&w, folder, 0, error);
  g_hash_table_unref (w.visited);
  if (!ok)
    {
      g_ptr_array_unref (w.files);
      return NULL;
    }
  return w.files;
}

gboolean
ns_dicom_path_is_dicom (const char *path)
{
  g_return_val_if_fail (path != NULL, FALSE);
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      gboolean dicom = FALSE;
      return is_part10 (path, &dicom, NULL) && dicom;
    }
  g_autofree char *top = find_entry_nocase (path, "DICOMDIR");
  if (top != NULL)
    return TRUE;
  Walk w = { g_ptr_array_new_with_free_func (g_free),
             g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL), TRUE };
  gboolean found = walk_folder (&w, path, 0, NULL) && w.files->len > 0;
  g_hash_table_unref (w.visited);
  g_ptr_array_unref (w.files);
  return found;
}

/* ---- grouping -------------------------------------------------------------------------------- */

static gboolean
is_image (const NsDicomFile *f)
{
  return f->has_pixel_data && f->rows > 0 && f->columns > 0
         && g_ascii_strcasecmp (f->modality, "SEG") != 0
         && strcmp (f->sop_class_uid, "1.2.840.10008.5.1.4.1.1.66.4") != 0;
}

static gint
compare_series (gconstpointer a, gconstpointer b)
{
  const NsDicomSeries *x = *(NsDicomSeries *const *) a;
  const NsDicomSeries *y = *(NsDicomSeries *const *) b;
  if (x->number != y->number)
    return x->number < y->number ? -1 : 1;
  return strcmp (x->uid, y->uid);
}

static NsDicomSeries *
series_new (const NsDicomFile *first)
{
  NsDicomSeries *s = g_new0 (NsDicomSeries, 1);
  s->uid = g_strdup (first->series_uid);
  s->study_uid = g_strdup (first->study_uid);
  s->frame_of_reference_uid = g_strdup (first->frame_of_reference_uid);
  s->number = first->series_number;
  s->description = g_strdup (first->series_description);
  s->modality = g_strdup (first->modality);
  s->files = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_dicom_file_free);
  s->sequence = -1;
  return s;
}

GPtrArray *
ns_dicom_scan (const char *path, guint *n_other, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  if (n_other != NULL)
    *n_other = 0;
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    {
      /* A link that leads nowhere says where it leads (or that it loops). */
      if (g_file_test (path, G_FILE_TEST_IS_SYMLINK) && !ns_file_check_regular (path, error))
        return NULL;
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND, "%s: no such file or folder",
                   path);
      return NULL;
    }

  g_autoptr (GPtrArray) paths = find_files (path, error);
  if (paths == NULL)
    return NULL;

  g_autoptr (GPtrArray) scan
    = g_ptr_array_new_with_free_func ((GDestroyNotify) ns_dicom_series_free);
  g_autoptr (GHashTable) by_uid = g_hash_table_new (g_str_hash, g_str_equal);
  guint other = 0;
  for (guint i = 0; i < paths->len; i++)
    {
      NsDicomFile *f = g_new0 (NsDicomFile, 1);
      if (!_ns_dicom_read_header (paths->pdata[i], f, error))
        {
          g_free (f);
          return NULL;
        }
      if (!is_image (f) || strcmp (f->sop_class_uid, "1.2.840.10008.1.3.10") == 0)
        {
          other++;
          ns_dicom_file_free (f);
          continue;
        }
      if (f->series_uid[0] == '\0')
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                       "%s: an image without a Series Instance UID", f->path);
          ns_dicom_file_free (f);
          return NULL;
        }
      NsDicomSeries *s = g_hash_table_lookup (by_uid, f->series_uid);
      if (s == NULL)
        {
          s = series_new (f);
          g_ptr_array_add (scan, s);
          g_hash_table_insert (by_uid, s->uid, s);
        }
      g_ptr_array_add (s->files, f);
    }
  if (n_other != NULL)
    *n_other = other;
  if (scan->len == 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: no DICOM image series (%u DICOM file%s of other kinds)", path, other,
                   other == 1 ? "" : "s");
      return NULL;
    }

  g_ptr_array_sort (scan, compare_series);
  for (guint i = 0; i < scan->len; i++)
    {
      NsDicomSeries *s = scan->pdata[i];
      _ns_dicom_series_check (s);
      const NsDicomFile *first = g_ptr_array_index (s->files, 0);
      s->sequence = ns_dicom_classify_sequence (first, &s->sequence_reason);
    }
  return g_steal_pointer (&scan);
}

NsDicomSeries *
ns_dicom_find_series (GPtrArray *scan, const char *key, const char *where, GError **error)
{
  g_return_val_if_fail (scan != NULL && key != NULL, NULL);
  char *end = NULL;
  gint64 number = g_ascii_strtoll (key, &end, 10);
  gboolean is_number = end != key && *end == '\0';
  NsDicomSeries *found = NULL;
  guint n_found = 0;

  for (guint i = 0; i < scan->len; i++)
    {
      NsDicomSeries *s = scan->pdata[i];
      if (strcmp (s->uid, key) == 0)
        return s;
      if (is_number && s->number == number)
        {
          found = s;
          n_found++;
        }
    }
  if (n_found == 1)
    return found;

  g_autoptr (GString) list = g_string_new (NULL);
  for (guint i = 0; i < scan->len; i++)
    {
      g_autofree char *label = ns_dicom_series_dup_label (scan->pdata[i]);
      g_string_append_printf (list, "%s%s", i > 0 ? "; " : "", label);
    }
  if (n_found > 1)
    g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_AMBIGUOUS,
                 "%s: %u series have the number %s; give a Series Instance UID (series: %s)",
                 where, n_found, key, list->str);
  else
    g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                 "%s: no series %s (series: %s)", where, key, list->str);
  return NULL;
}

char *
ns_dicom_series_dup_label (const NsDicomSeries *series)
{
  g_return_val_if_fail (series != NULL, NULL);
  g_autoptr (GString) s = g_string_new ("series ");
  if (series->number >= 0)
    g_string_append_printf (s, "%d ", series->number);
  if (series->description[0] != '\0')
    g_string_append_printf (s, "\"%s\" ", series->description);
  g_string_append_printf (s, "(%s)", series->uid);
  return g_string_free (g_steal_pointer (&s), FALSE);
}
