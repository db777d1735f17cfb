/* SPDX-License-Identifier: MIT
 *
 * ns-dicom-seg.c: a label map as a DICOM Segmentation and back: which segments, their
 * names, codes and colours, which frames, and where each frame read back belongs.
 *
 * One binary segment per label value present, named and coloured from the label table
 * beside the mask when there is one, else from the BraTS scheme the labels fit.  The codes
 * are DICOM's for brain lesions (CID 7150 category "Morphologically Abnormal Structure";
 * CID 7168/7169 types): SNOMED CT Necrosis for the necrotic (and non-enhancing) core,
 * SNOMED CT Edema, and the NCI Thesaurus's Non-Enhancing and Enhancing Lesion, which is
 * what those context groups prescribe (SNOMED CT has no such imaging concepts); any other
 * label is a SNOMED CT Lesion.  The Segment Description ends in "(label N)", so that a
 * SEG read back gives each segment its value in the label map; a SEG from another tool
 * is read by its codes, else by segment number.
 *
 * Frames: a segment's frame for each slice that holds some of it (a segment with no voxel
 * gets one empty frame, since a SEG may not define a segment without frames), in the
 * grid's slice order, each at its source image's position.  Empty slices are left out, as
 * Slicer and dcmqi do by default: a tumour covers a few dozen of 155 slices.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-dicom.h"
#include "ns-dicom-private.h"
#include "ns-data-error.h"
#include "ns-file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const NsDicomCode category_code = {
  "49755003", "SCT", "Morphologically Abnormal Structure",
};

static const struct
{
  guint8 value;
  NsDicomCode type;
} brats_codes[] = {
  { 1, { "6574001", "SCT", "Necrosis" } },
  { 2, { "79654002", "SCT", "Edema" } },
  { 3, { "C81175", "NCIt", "Non-Enhancing Lesion" } },
  { 4, { "C113842", "NCIt", "Enhancing Lesion" } },
};

static const NsDicomCode lesion_code = { "52988006", "SCT", "Lesion" };

void
ns_dicom_label_codes (guint8 value, NsDicomCode *category, NsDicomCode *type)
{
  if (category != NULL)
    *category = category_code;
  if (type == NULL)
    return;
  *type = lesion_code;
  for (guint i = 0; i < G_N_ELEMENTS (brats_codes); i++)
    if (brats_codes[i].value == value)
      *type = brats_codes[i].type;
}

/* ---- colour ------------------------------------------------------------------------------ */

static double
srgb_to_linear (double c)
{
  return c <= 0.04045 ? c / 12.92 : pow ((c + 0.055) / 1.055, 2.4);
}

static double
lab_f (double t)
{
  const double e = 216.0 / 24389.0, k = 24389.0 / 27.0;
  return t > e ? cbrt (t) : (k * t + 16.0) / 116.0;
}

static guint16
scale_u16 (double v, double lo, double hi)
{
  double x = floor ((v - lo) * 65535.0 / (hi - lo) + 0.5);
  return (guint16) CLAMP (x, 0.0, 65535.0);
}

void
ns_dicom_rgb_to_cielab (const guint8 rgb[3], guint16 lab[3])
{
  /* sRGB to XYZ relative to D50 (the ICC profile connection space), with the Bradford
   * adaptation from sRGB's D65 folded into the matrix (Lindbloom's sRGB D50 matrix). */
  static const double m[3][3] = {
    { 0.4360747, 0.3850649, 0.1430804 },
    { 0.2225045, 0.7168786, 0.0606169 },
    { 0.0139322, 0.0971045, 0.7141733 },
  };
  static const double white[3] = { 0.96422, 1.0, 0.82521 };
  double lin[3], f[3];
  for (int c = 0; c < 3; c++)
    lin[c] = srgb_to_linear (rgb[c] / 255.0);
  for (int r = 0; r < 3; r++)
    f[r] = lab_f ((m[r][0] * lin[0] + m[r][1] * lin[1] + m[r][2] * lin[2]) / white[r]);
  double L = 116.0 * f[1] - 16.0;
  double a = 500.0 * (f[0] - f[1]);
  double b = 200.0 * (f[1] - f[2]);
  lab[0] = scale_u16 (L, 0.0, 100.0);
  lab[1] = scale_u16 (a, -128.0, 127.0);
  lab[2] = scale_u16 (b, -128.0, 127.0);
}

/* ---- writing --------------------------------------------------------------------------------- */

typedef struct
{
  GPtrArray *strings;            /* owns the segments' texts */
  GArray *segments;              /* NsDicomSegSegment */
  GArray *frames;                /* NsDicomSegFrame */
} SegLayout;

static void
seg_layout_clear (SegLayout *l)
{
  g_clear_pointer (&l->strings, g_ptr_array_unref);
  g_clear_pointer (&l->segments, g_array_unref);
  g_clear_pointer (&l->frames, g_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SegLayout, seg_layout_clear)

static const char *
keep (SegLayout *l, char *s)
{
  g_ptr_array_add (l->strings, s);
  return s;
}

static void
add_segment (SegLayout *l, guint8 value, const char *name, const char *long_name,
             const guint8 rgb[3])
{
  NsDicomSegSegment seg = { 0 };
  seg.value = value;
  seg.label = keep (l, g_strdup (name));
  seg.description = keep (l, g_strdup_printf ("%s (label %u)", long_name, value));
  ns_dicom_rgb_to_cielab (rgb, seg.cielab);
  ns_dicom_label_codes (value, &seg.category, &seg.type);
  g_array_append_val (l->segments, seg);
}

/* The segments: every value present, described by the table or the scheme. */
static void
layout_segments (SegLayout *l, const NsLabelMap *labels, const guint64 counts[256],
                 const NsLabelTable *table)
{
  static const guint8 grey[3] = { 128, 128, 128 };
  NsLabelScheme scheme = counts[3] > 0 ? NS_LABEL_SCHEME_BRATS2015 : NS_LABEL_SCHEME_BRATS2017;

  for (guint v = 1; v < 256; v++)
    {
      if (counts[v] == 0)
        continue;
      const NsLabelEntry *entry = table != NULL ? ns_label_table_lookup (table, (guint8) v) : NULL;
      const NsLabelClass *cls = ns_label_scheme_lookup (scheme, v);
      if (entry != NULL)
        add_segment (l, (guint8) v, entry->name, cls != NULL ? cls->name : entry->name,
                     entry->rgba);
      else if (cls != NULL)
        add_segment (l, (guint8) v, cls->short_name, cls->name, cls->rgba);
      else
        {
          g_autofree char *name = g_strdup_printf ("label %u", v);
          add_segment (l, (guint8) v, name, "lesion", grey);
        }
    }
  if (l->segments->len == 0)
    {
      /* No tumour: the scheme's segments, each with an empty frame, say so explicitly. */
      guint n;
      const NsLabelClass *classes = ns_label_scheme_classes (NS_LABEL_SCHEME_BRATS2017, &n);
      for (guint i = 0; i < n; i++)
        add_segment (l, classes[i].value, classes[i].short_name, classes[i].name,
                     classes[i].rgba);
    }
}

static void
layout_frames (SegLayout *l, const NsLabelMap *labels)
{
  const NsGrid *g = &labels->grid;
  gsize per_slice = (gsize) g->dim[0] * (gsize) g->dim[1];

  /* present[k * 256 + v]: slice k holds value v. */
  g_autofree guint8 *present = g_malloc0 ((gsize) g->dim[2] * 256);
  for (int k = 0; k < g->dim[2]; k++)
    {
      const guint8 *slice = labels->labels + (gsize) k * per_slice;
      for (gsize p = 0; p < per_slice; p++)
        present[(gsize) k * 256 + slice[p]] = 1;
    }
  for (guint s = 0; s < l->segments->len; s++)
    {
      guint8 value = g_array_index (l->segments, NsDicomSegSegment, s).value;
      guint before = l->frames->len;
      for (int k = 0; k < g->dim[2]; k++)
        if (present[(gsize) k * 256 + value])
          {
            NsDicomSegFrame f = { s, (guint) k, labels->labels + (gsize) k * per_slice, value };
            g_array_append_val (l->frames, f);
          }
      if (l->frames->len == before)
        {
          NsDicomSegFrame f = { s, 0, labels->labels, value }; /* empty: value is absent */
          g_array_append_val (l->frames, f);
        }
    }
}

/* Writes through write_file into a temporary file beside path, flushed, then renamed. */
static gboolean
write_atomically (const char *path, const NsDicomSeries *source, const NsDicomSegHeader *header,
                  const SegLayout *l, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmpl = g_strdup_printf (".%s-XXXXXX", base);
  g_autofree char *tmp = g_build_filename (dir, tmpl, NULL);
  int fd = g_mkstemp_full (tmp, O_RDWR | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot create a file in %s: %s",
                   path, dir, g_strerror (errno));
      return FALSE;
    }
  close (fd);

  if (!_ns_dicom_seg_write_file (tmp, path, source, header,
                                 (const NsDicomSegSegment *) (void *) l->segments->data,
                                 l->segments->len,
                                 (const NsDicomSegFrame *) (void *) l->frames->data,
                                 l->frames->len, error))
    {
      g_unlink (tmp);
      return FALSE;
    }
  /* The data must be on disk before the name points at it. */
  fd = g_open (tmp, O_RDONLY | O_CLOEXEC, 0);
  gboolean ok = fd >= 0 && fsync (fd) == 0;
  int saved = errno;
  if (fd >= 0)
    close (fd);
  if (!ok || g_rename (tmp, path) != 0)
    {
      if (ok)
        saved = errno;
      g_unlink (tmp);
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: %s: %s", path,
                   ok ? "cannot replace the file" : "write failed", g_strerror (saved));
      return FALSE;
    }
  int dfd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
  if (dfd >= 0)
    {
      fsync (dfd); /* best effort: makes the rename itself durable */
      close (dfd);
    }
  return TRUE;
}

static gboolean
series_is (const NsDicomSeries *s, const char *prefer)
{
  if (strcmp (s->uid, prefer) == 0)
    return TRUE;
  for (guint i = 0; i < s->files->len; i++)
    if (strcmp (((const NsDicomFile *) g_ptr_array_index (s->files, i))->path, prefer) == 0)
      return TRUE;
  return FALSE;
}

NsDicomSeries *
ns_dicom_find_series_on_grid (GPtrArray *scan, const NsGrid *grid, const char *prefer,
                              const char *labels_path, GError **error)
{
  g_return_val_if_fail (scan != NULL && grid != NULL, NULL);
  NsDicomSeries *first = NULL;
  for (guint i = 0; i < scan->len; i++)
    {
      NsDicomSeries *s = scan->pdata[i];
      if (!s->is_volume || !ns_grid_equal (&s->grid, grid))
        continue;
      if (prefer != NULL && series_is (s, prefer))
        return s;
      if (first == NULL)
        first = s;
    }
  if (first != NULL)
    return first;

  g_autoptr (GString) list = g_string_new (NULL);
  for (guint i = 0; i < scan->len; i++)
    {
      const NsDicomSeries *s = scan->pdata[i];
      g_autofree char *label = ns_dicom_series_dup_label (s);
      g_string_append_printf (list, "%s%s ", i > 0 ? "; " : "", label);
      if (s->is_volume)
        g_string_append_printf (list, "%d x %d x %d", s->grid.dim[0], s->grid.dim[1],
                                s->grid.dim[2]);
      else
        g_string_append (list, "not a volume");
    }
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
               "%s: its grid (%d x %d x %d) is that of no series (%s)",
               labels_path != NULL ? labels_path : "the label map", grid->dim[0], grid->dim[1],
               grid->dim[2], list->str);
  return NULL;
}

gboolean
ns_dicom_seg_write (const NsLabelMap *labels, const NsDicomSeries *source, const char *out_path,
                    const NsDicomSegOptions *options, GError **error)
{
  g_return_val_if_fail (labels != NULL && source != NULL && out_path != NULL, FALSE);
  const char *lpath = labels->path != NULL ? labels->path : "the label map";
  g_autofree char *slabel = ns_dicom_series_dup_label (source);

  if (!source->is_volume)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID, "%s: not a volume: %s", slabel,
                   source->problem);
      return FALSE;
    }
  if (!ns_grid_equal (&labels->grid, &source->grid))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                   "%s: its grid (%d x %d x %d) is not that of %s (%d x %d x %d, or another "
                   "position or orientation)", lpath, labels->grid.dim[0], labels->grid.dim[1],
                   labels->grid.dim[2], slabel, source->grid.dim[0], source->grid.dim[1],
                   source->grid.dim[2]);
      return FALSE;
    }
  if (g_file_test (out_path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                   "%s: a folder; give the name of the DICOM-SEG file to write", out_path);
      return FALSE;
    }

  guint64 counts[256];
  ns_label_map_count (labels, counts);
  g_auto (SegLayout) l = {
    g_ptr_array_new_with_free_func (g_free),
    g_array_new (FALSE, TRUE, sizeof (NsDicomSegSegment)),
    g_array_new (FALSE, TRUE, sizeof (NsDicomSegFrame)),
  };
  layout_segments (&l, labels, counts, options != NULL ? options->label_table : NULL);
  layout_frames (&l, labels);

  NsDicomSegHeader header = {
    options != NULL && options->series_description != NULL ? options->series_description
                                                            : "Neuroseg segmentation",
    options != NULL && options->series_number > 0 ? options->series_number
                                                  : MAX (source->number, 0) + 1000,
    options != NULL ? options->algorithm_name : NULL,
  };
  return write_atomically (out_path, source, &header, &l, error);
}

gboolean
ns_dicom_seg_write_for_case (const NsCase *ncase, const NsLabelMap *labels, const char *out_path,
                             const NsDicomSegOptions *options, GError **error)
{
  g_return_val_if_fail (ncase != NULL && labels != NULL && out_path != NULL, FALSE);
  if (!ns_dicom_is_case_path (ncase->dir))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_DICOM,
                   "%s: the case was not read from DICOM; a DICOM-SEG needs its source series",
                   ncase->dir);
      return FALSE;
    }
  g_autoptr (GPtrArray) scan = ns_dicom_scan (ncase->dir, NULL, error);
  if (scan == NULL)
    return FALSE;
  NsDicomSeries *source = ns_dicom_find_series_on_grid (scan, &labels->grid,
                                                        ncase->paths[NS_MODALITY_FLAIR],
                                                        labels->path, error);
  return source != NULL && ns_dicom_seg_write (labels, source, out_path, options, error);
}

/* ---- reading --------------------------------------------------------------------------------- */

static void
read_segment_free (NsDicomSegReadSegment *s)
{
  g_free (s->label);
  g_free (s->description);
  g_free (s->type_value);
  g_free (s->type_designator);
  g_free (s);
}

static void
read_frame_free (NsDicomSegReadFrame *f)
{
  g_free (f->pixels);
  g_free (f);
}

void
_ns_dicom_seg_content_clear (NsDicomSegContent *c)
{
  g_clear_pointer (&c->source_series_uid, g_free);
  g_clear_pointer (&c->frame_of_reference_uid, g_free);
  g_clear_pointer (&c->segments, g_ptr_array_unref);
  g_clear_pointer (&c->frames, g_ptr_array_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (NsDicomSegContent, _ns_dicom_seg_content_clear)

static gboolean
read_content (const char *path, NsDicomSegContent *c, GError **error)
{
  memset (c, 0, sizeof *c);
  c->segments = g_ptr_array_new_with_free_func ((GDestroyNotify) read_segment_free);
  c->frames = g_ptr_array_new_with_free_func ((GDestroyNotify) read_frame_free);
  if (!ns_file_check_regular (path, error))
    return FALSE;
  return _ns_dicom_seg_read_file (path, c, error);
}

/* The label value of a segment: "(label N)" at the end of its description, else its
 * property type's BraTS label, else its number. */
static guint
segment_value (const NsDicomSegReadSegment *s)
{
  const char *open = s->description != NULL ? g_strrstr (s->description, "(label ") : NULL;
  if (open != NULL)
    {
      char *end = NULL;
      guint64 v = g_ascii_strtoull (open + 7, &end, 10);
      if (end != open + 7 && strcmp (end, ")") == 0 && v >= 1 && v <= 255)
        return (guint) v;
    }
  for (guint i = 0; i < G_N_ELEMENTS (brats_codes); i++)
    if (g_strcmp0 (s->type_value, brats_codes[i].type.value) == 0
        && g_strcmp0 (s->type_designator, brats_codes[i].type.designator) == 0)
      return brats_codes[i].value;
  return s->number;
}

NsLabelMap *
ns_dicom_seg_read (const char *path, const NsGrid *grid, GError **error)
{
  g_return_val_if_fail (path != NULL && grid != NULL, NULL);
  g_auto (NsDicomSegContent) c = { 0 };
  if (!read_content (path, &c, error))
    return NULL;

  if (c.columns != grid->dim[0] || c.rows != grid->dim[1])
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                   "%s: frames of %d x %d pixels on a grid of %d x %d", path, c.columns, c.rows,
                   grid->dim[0], grid->dim[1]);
      return NULL;
    }
  /* The grid's row and column directions and steps, in LPS as DICOM writes them. */
  double r[3], col[3];
  for (int a = 0; a < 3; a++)
    {
      double sign = a < 2 ? -1.0 : 1.0;
      r[a] = sign * grid->vox2ras[a][0] / grid->spacing[0];
      col[a] = sign * grid->vox2ras[a][1] / grid->spacing[1];
    }
  for (int a = 0; a < 3; a++)
    if (fabs (r[a] - c.orientation[a]) > 1e-3 || fabs (col[a] - c.orientation[a + 3]) > 1e-3
        || fabs (c.pixel_spacing[1] - grid->spacing[0]) > 1e-3
        || fabs (c.pixel_spacing[0] - grid->spacing[1]) > 1e-3)
      {
        g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                     "%s: its orientation (%.4g %.4g %.4g, %.4g %.4g %.4g) or pixel spacing "
                     "(%g x %g mm) is not that of the grid", path, c.orientation[0],
                     c.orientation[1], c.orientation[2], c.orientation[3], c.orientation[4],
                     c.orientation[5], c.pixel_spacing[1], c.pixel_spacing[0]);
        return NULL;
      }

  g_autofree guint *values = g_new0 (guint, 65536); /* segment number -> label */
  for (guint i = 0; i < c.segments->len; i++)
    {
      const NsDicomSegReadSegment *s = c.segments->pdata[i];
      guint v = segment_value (s);
      if (v > 255)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                       "%s: segment %u \"%s\" would need label %u; label maps hold 1 to 255",
                       path, s->number, s->label, v);
          return NULL;
        }
      values[s->number] = v;
    }

  g_autoptr (NsLabelMap) map = ns_label_map_new (grid, error);
  if (map == NULL)
    return NULL;
  map->path = g_strdup (path);
  gsize per_slice = (gsize) grid->dim[0] * (gsize) grid->dim[1];
  for (guint i = 0; i < c.frames->len; i++)
    {
      const NsDicomSegReadFrame *f = c.frames->pdata[i];
      if (values[f->segment] == 0)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                       "%s: frame %u refers to segment %u, which the SEG does not define", path,
                       i + 1, f->segment);
          return NULL;
        }
      /* The frame's first pixel is voxel (0, 0, k): k from its offset along the slice axis,
       * and what remains must be (almost) nothing. */
      double ras[3] = { -f->position[0], -f->position[1], f->position[2] };
      double d[3], k_real = 0.0, norm2 = 0.0;
      for (int a = 0; a < 3; a++)
        {
          d[a] = ras[a] - grid->vox2ras[a][3];
          k_real += d[a] * grid->vox2ras[a][2];
          norm2 += grid->vox2ras[a][2] * grid->vox2ras[a][2];
        }
      k_real /= norm2;
      long k = lround (k_real);
      double off = 0.0;
      for (int a = 0; a < 3; a++)
        {
          double rest = d[a] - (double) k * grid->vox2ras[a][2];
          off += rest * rest;
        }
      if (k < 0 || k >= grid->dim[2] || sqrt (off) > 0.01 * MIN (grid->spacing[0], grid->spacing[1])
          + 1e-3)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                       "%s: frame %u at (%.4f, %.4f, %.4f) mm lies on no slice of the grid", path,
                       i + 1, f->position[0], f->position[1], f->position[2]);
          return NULL;
        }
      guint8 v = (guint8) values[f->segment];
      guint8 *slice = map->labels + (gsize) k * per_slice;
      for (gsize p = 0; p < per_slice; p++)
        {
          if (!f->pixels[p])
            continue;
          if (slice[p] != 0 && slice[p] != v)
            {
              g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS,
                           "%s: segments of labels %u and %u overlap at voxel (%" G_GSIZE_FORMAT
                           ", %" G_GSIZE_FORMAT ", %ld); a label map holds one label per voxel",
                           path, slice[p], v, p % (gsize) grid->dim[0],
                           p / (gsize) grid->dim[0], k);
              return NULL;
            }
          slice[p] = v;
        }
    }
  return g_steal_pointer (&map);
}

char *
ns_dicom_seg_dup_source_uid (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_auto (NsDicomSegContent) c = { 0 };
  if (!read_content (path, &c, error))
    return NULL;
  if (c.source_series_uid == NULL || c.source_series_uid[0] == '\0')
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: the SEG names no source series (no Referenced Series Sequence)", path);
      return NULL;
    }
  return g_strdup (c.source_series_uid);
}

gboolean
ns_dicom_is_seg (const char *path)
{
  g_return_val_if_fail (path != NULL, FALSE);
  if (!ns_dicom_path_is_dicom (path) || g_file_test (path, G_FILE_TEST_IS_DIR))
    return FALSE;
  NsDicomFile f;
  if (!_ns_dicom_read_header (path, &f, NULL))
    return FALSE;
  gboolean seg = strcmp (f.sop_class_uid, "1.2.840.10008.5.1.4.1.1.66.4") == 0;
  _ns_dicom_file_clear (&f);
  return seg;
}
