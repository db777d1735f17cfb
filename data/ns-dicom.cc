/* SPDX-License-Identifier: MIT
 *
 * ns-dicom.cc: everything Neuroseg asks of DCMTK, behind the plain C calls of
 * ns-dicom-private.h.  The only C++ file of the project: it reads a file's header into an
 * NsDicomFile, one frame's stored values, a DICOMDIR's file list, and writes and reads
 * DICOM-SEG with dcmseg.  The decisions (grouping, geometry, which series is which, what
 * a SEG holds) are made in C, in ns-dicom-*.c.
 *
 * DCMTK reports through OFCondition and its own logger; the logger is silenced (library
 * code does not print) and every condition that is not good becomes a GError naming the
 * file, with DCMTK's text as the reason.  No C++ exception leaves this file: each entry
 * point catches what DCMTK or the standard library might throw (std::bad_alloc).
 *
 * Compressed pixel data (RLE, JPEG, JPEG-LS) is decoded by DCMTK's codecs, registered
 * once; JPEG 2000 is not in Debian's DCMTK and is refused naming the transfer syntax.
 */
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dctk.h>
#include <dcmtk/dcmdata/dcdicdir.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmfg/fgderimg.h>
#include <dcmtk/dcmfg/fgfracon.h>
#include <dcmtk/dcmfg/fginterface.h>
#include <dcmtk/dcmfg/fgpixmsr.h>
#include <dcmtk/dcmfg/fgplanor.h>
#include <dcmtk/dcmfg/fgplanpo.h>
#include <dcmtk/dcmfg/fgseg.h>
#include <dcmtk/dcmiod/iodmacro.h>
#include <dcmtk/dcmiod/modcommoninstanceref.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/dcmseg/segdoc.h>
#include <dcmtk/dcmseg/segment.h>
#include <dcmtk/dcmseg/segutils.h>
#include <dcmtk/oflog/oflog.h>

#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-config.h"
#include "ns-data-error.h"
#include "ns-dicom-private.h"

#include <cmath>
#include <new>
#include <string.h>

/* Element values longer than this stay on disk when only the header is read. */
#define HEADER_MAX_READ 1024u

static void
dicom_init (void)
{
  static gsize once = 0;

  if (g_once_init_enter (&once))
    {
      /* Failures come back as GErrors; DCMTK's logger would print them (and its warnings)
       * on stderr from inside a library. */
      OFLog::configure (OFLogger::OFF_LOG_LEVEL);
      DcmRLEDecoderRegistration::registerCodecs ();
      DJDecoderRegistration::registerCodecs ();
      DJLSDecoderRegistration::registerCodecs ();
      g_once_init_leave (&once, 1);
    }
}

static gboolean
dictionary_ready (const char *path, GError **error)
{
  if (dcmDataDict.isDictionaryLoaded ())
    return TRUE;
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
               "%s: DCMTK's data dictionary is not loaded (%s; set DCMDICTPATH)", path,
               DCM_DICT_DEFAULT_PATH);
  return FALSE;
}

/* Text of an attribute, stripped, valid UTF-8 (a Latin-1 description is repaired, not
 * refused); "" when absent. */
static char *
dup_text (DcmItem *item, const DcmTagKey &tag)
{
  OFString value;
  if (item->findAndGetOFStringArray (tag, value).bad ())
    return g_strdup ("");
  char *text = g_utf8_make_valid (value.c_str (), -1);
  return g_strstrip (text);
}

static double
get_double (DcmItem *item, const DcmTagKey &tag, unsigned long pos, double fallback,
            gboolean *found)
{
  Float64 v = 0.0;
  if (item->findAndGetFloat64 (tag, v, pos).good () && std::isfinite (v))
    {
      if (found != NULL)
        *found = TRUE;
      return v;
    }
  if (found != NULL)
    *found = FALSE;
  return fallback;
}

static int
get_int (DcmItem *item, const DcmTagKey &tag, int fallback)
{
  Sint32 v = 0;
  if (item->findAndGetSint32 (tag, v).good ())
    return (int) v;
  Uint16 u = 0;
  if (item->findAndGetUint16 (tag, u).good ())
    return (int) u;
  return fallback;
}

/* Loads path's header (values longer than HEADER_MAX_READ stay on disk) or all of it. */
static gboolean
load_file (DcmFileFormat &ff, const char *path, gboolean header_only, GError **error)
{
  if (!dictionary_ready (path, error))
    return FALSE;
  OFCondition cond = ff.loadFile (path, EXS_Unknown, EGL_noChange,
                                  header_only ? HEADER_MAX_READ : DCM_MaxReadLength,
                                  ERM_fileOnly);
  if (cond.bad ())
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_DICOM,
                   "%s: not a readable DICOM file: %s", path, cond.text ());
      return FALSE;
    }
  return TRUE;
}

static void
set_exception_error (GError **error, const char *path, const char *what)
{
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_TOO_LARGE, "%s: %s", path,
               what != NULL ? what : "out of memory");
}

/* ---- one file ------------------------------------------------------------------------------ */

static void
fill_header (DcmFileFormat &ff, const char *path, NsDicomFile *f)
{
  DcmDataset *ds = ff.getDataset ();
  DcmMetaInfo *meta = ff.getMetaInfo ();

  f->path = g_strdup (path);
  f->sop_class_uid = dup_text (ds, DCM_SOPClassUID);
  if (f->sop_class_uid[0] == '\0' && meta != NULL)
    {
      g_free (f->sop_class_uid);
      f->sop_class_uid = dup_text (meta, DCM_MediaStorageSOPClassUID);
    }
  f->sop_instance_uid = dup_text (ds, DCM_SOPInstanceUID);
  f->study_uid = dup_text (ds, DCM_StudyInstanceUID);
  f->series_uid = dup_text (ds, DCM_SeriesInstanceUID);
  f->frame_of_reference_uid = dup_text (ds, DCM_FrameOfReferenceUID);
  f->modality = dup_text (ds, DCM_Modality);
  f->series_description = dup_text (ds, DCM_SeriesDescription);
  f->protocol_name = dup_text (ds, DCM_ProtocolName);
  f->sequence_name = dup_text (ds, DCM_SequenceName);
  f->scanning_sequence = dup_text (ds, DCM_ScanningSequence);
  f->contrast_agent = dup_text (ds, DCM_ContrastBolusAgent);
  f->image_type = dup_text (ds, DCM_ImageType);
  f->photometric = dup_text (ds, DCM_PhotometricInterpretation);
  f->transfer_syntax = g_strdup (DcmXfer (ds->getOriginalXfer ()).getXferID ());
  f->series_number = get_int (ds, DCM_SeriesNumber, -1);
  f->instance_number = get_int (ds, DCM_InstanceNumber, -1);
  f->repetition_time = get_double (ds, DCM_RepetitionTime, 0, NAN, NULL);
  f->echo_time = get_double (ds, DCM_EchoTime, 0, NAN, NULL);
  f->inversion_time = get_double (ds, DCM_InversionTime, 0, NAN, NULL);
  f->gantry_tilt = get_double (ds, DCM_GantryDetectorTilt, 0, 0.0, NULL);
  f->rows = get_int (ds, DCM_Rows, 0);
  f->columns = get_int (ds, DCM_Columns, 0);
  f->n_frames = get_int (ds, DCM_NumberOfFrames, 1);
  f->samples_per_pixel = get_int (ds, DCM_SamplesPerPixel, 1);
  f->bits_allocated = get_int (ds, DCM_BitsAllocated, 0);
  f->bits_stored = get_int (ds, DCM_BitsStored, f->bits_allocated);
  f->high_bit = get_int (ds, DCM_HighBit, f->bits_stored - 1);
  f->pixel_signed = get_int (ds, DCM_PixelRepresentation, 0) == 1;
  f->has_pixel_data = ds->tagExistsWithValue (DCM_PixelData);

  gboolean found[6];
  f->has_position = TRUE;
  for (unsigned long i = 0; i < 3; i++)
    {
      f->position[i] = get_double (ds, DCM_ImagePositionPatient, i, 0.0, &found[i]);
      f->has_position = f->has_position && found[i];
    }
  f->has_orientation = TRUE;
  for (unsigned long i = 0; i < 6; i++)
    {
      f->orientation[i] = get_double (ds, DCM_ImageOrientationPatient, i, 0.0, &found[i]);
      f->has_orientation = f->has_orientation && found[i];
    }
  f->has_spacing = TRUE;
  for (unsigned long i = 0; i < 2; i++)
    {
      f->pixel_spacing[i] = get_double (ds, DCM_PixelSpacing, i, 0.0, &found[i]);
      f->has_spacing = f->has_spacing && found[i];
    }
  f->slice_thickness = get_double (ds, DCM_SliceThickness, 0, NAN, NULL);
  f->rescale_slope = get_double (ds, DCM_RescaleSlope, 0, 1.0, NULL);
  f->rescale_intercept = get_double (ds, DCM_RescaleIntercept, 0, 0.0, NULL);
}

gboolean
_ns_dicom_read_header (const char *path, NsDicomFile *file, GError **error)
{
  memset (file, 0, sizeof *file);
  dicom_init ();
  try
    {
      DcmFileFormat ff;
      if (!load_file (ff, path, TRUE, error))
        return FALSE;
      fill_header (ff, path, file);
      return TRUE;
    }
  catch (const std::exception &e)
    {
      _ns_dicom_file_clear (file);
      set_exception_error (error, path, e.what ());
      return FALSE;
    }
}

/* The frame's stored values: bits_stored bits ending at high_bit, sign-extended when the
 * pixel representation is signed. */
template <typename T>
static void
unpack_values (const T *raw, gsize n, const NsDicomFile *f, double *out)
{
  int shift = f->high_bit + 1 - f->bits_stored;
  guint32 mask = f->bits_stored >= 32 ? 0xffffffffu : ((guint32) 1 << f->bits_stored) - 1;
  guint32 sign = (guint32) 1 << (f->bits_stored - 1);
  for (gsize i = 0; i < n; i++)
    {
      guint32 v = ((guint32) raw[i] >> shift) & mask;
      if (f->pixel_signed && (v & sign))
        out[i] = (double) v - (double) ((guint64) 1 << f->bits_stored);
      else
        out[i] = (double) v;
    }
}

static gboolean
read_pixels (const NsDicomFile *f, double *values, GError **error)
{
  DcmFileFormat ff;
  if (!load_file (ff, f->path, FALSE, error))
    return FALSE;
  DcmDataset *ds = ff.getDataset ();

  /* The file read now must be the one scanned: same instance, same pixel format. */
  g_autofree char *uid = dup_text (ds, DCM_SOPInstanceUID);
  if (strcmp (uid, f->sop_instance_uid) != 0 || get_int (ds, DCM_Rows, 0) != f->rows
      || get_int (ds, DCM_Columns, 0) != f->columns
      || get_int (ds, DCM_BitsAllocated, 0) != f->bits_allocated)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO,
                   "%s: changed on disk while the series was being read", f->path);
      return FALSE;
    }

  DcmXfer xfer (ds->getOriginalXfer ());
  if (xfer.isEncapsulated ())
    {
      OFCondition cond = ds->chooseRepresentation (EXS_LittleEndianExplicit, NULL);
      if (cond.bad () || !ds->canWriteXfer (EXS_LittleEndianExplicit))
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                       "%s: cannot decode its compressed pixel data (%s): %s", f->path,
                       xfer.getXferName (), cond.bad () ? cond.text () : "no decoder");
          return FALSE;
        }
    }

  DcmElement *elem = NULL;
  if (ds->findAndGetElement (DCM_PixelData, elem).bad () || elem == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT, "%s: no pixel data", f->path);
      return FALSE;
    }
  gsize n = (gsize) f->rows * (gsize) f->columns;
  gsize bytes_per = f->bits_allocated == 8 ? 1 : 2;
  gsize have = elem->getLength ();
  if (have < n * bytes_per)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                   "%s: truncated: its pixel data holds %" G_GSIZE_FORMAT " bytes where %d x "
                   "%d pixels of %d bits need %" G_GSIZE_FORMAT, f->path, have, f->rows,
                   f->columns, f->bits_allocated, n * bytes_per);
      return FALSE;
    }
  OFCondition cond;
  if (f->bits_allocated == 8)
    {
      Uint8 *raw = NULL;
      cond = elem->getUint8Array (raw);
      if (cond.good () && raw != NULL)
        unpack_values (raw, n, f, values);
    }
  else
    {
      Uint16 *raw = NULL;
      cond = elem->getUint16Array (raw);
      if (cond.good () && raw != NULL)
        unpack_values (raw, n, f, values);
    }
  if (cond.bad ())
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                   "%s: cannot read its pixel data: %s", f->path, cond.text ());
      return FALSE;
    }
  return TRUE;
}

gboolean
_ns_dicom_read_pixels (const NsDicomFile *file, double *values, GError **error)
{
  g_return_val_if_fail (file->bits_allocated == 8 || file->bits_allocated == 16, FALSE);
  dicom_init ();
  try
    {
      return read_pixels (file, values, error);
    }
  catch (const std::exception &e)
    {
      set_exception_error (error, file->path, e.what ());
      return FALSE;
    }
}

/* ---- DICOMDIR ---------------------------------------------------------------------------- */

static void
collect_records (DcmDirectoryRecord *record, GPtrArray *files, int depth)
{
  if (depth > 16)
    return; /* patient / study / series / image is four deep; deeper is a loop */
  for (unsigned long i = 0; i < record->cardSub (); i++)
    {
      DcmDirectoryRecord *sub = record->getSub (i);
      if (sub == NULL)
        continue;
      OFString id;
      if (sub->findAndGetOFStringArray (DCM_ReferencedFileID, id).good () && !id.empty ())
        {
          char *rel = g_strdup (id.c_str ());
          g_strstrip (rel);
          for (char *p = rel; *p; p++)
            if (*p == '\\')
              *p = '/';
          g_ptr_array_add (files, rel);
        }
      collect_records (sub, files, depth + 1);
    }
}

GPtrArray *
_ns_dicom_read_dicomdir (const char *path, GError **error)
{
  dicom_init ();
  try
    {
      if (!dictionary_ready (path, error))
        return NULL;
      DcmFileFormat ff;
      if (!load_file (ff, path, TRUE, error))
        return NULL;
      g_autofree char *cls = NULL;
      DcmMetaInfo *meta = ff.getMetaInfo ();
      cls = meta != NULL ? dup_text (meta, DCM_MediaStorageSOPClassUID) : g_strdup ("");
      if (strcmp (cls, UID_MediaStorageDirectoryStorage) != 0)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_DICOM,
                       "%s: not a DICOMDIR (its SOP class is %s)", path,
                       cls[0] != '\0' ? cls : "missing");
          return NULL;
        }
      DcmDicomDir dir (path);
      if (dir.error ().bad ())
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                       "%s: cannot read the DICOMDIR: %s", path, dir.error ().text ());
          return NULL;
        }
      GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
      collect_records (&dir.getRootRecord (), files, 0);
      return files;
    }
  catch (const std::exception &e)
    {
      set_exception_error (error, path, e.what ());
      return NULL;
    }
}

/* ---- DICOM-SEG: writing ------------------------------------------------------------------ */

/* Turns a bad condition into an error naming the output and the step. */
static gboolean
check (OFCondition cond, const char *out_name, const char *what, GError **error)
{
  if (cond.good ())
    return TRUE;
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: DICOM-SEG: %s: %s", out_name, what,
               cond.text ());
  return FALSE;
}

static OFString
format_double (double v)
{
  /* DS holds 16 characters: %.10g of a coordinate in mm fits, and keeps 1e-6 mm. */
  char buf[32];
  g_snprintf (buf, sizeof buf, "%.10g", v);
  if (strlen (buf) > 16)
    g_snprintf (buf, sizeof buf, "%.8g", v);
  return OFString (buf);
}

static CodeSequenceMacro
make_code (const NsDicomCode &code)
{
  return CodeSequenceMacro (code.value, code.designator, code.meaning);
}

static gboolean
seg_shared_groups (DcmSegmentation *seg, const NsDicomSeries *source, const char *out_name,
                   GError **error)
{
  const NsDicomFile *first = (const NsDicomFile *) g_ptr_array_index (source->files, 0);
  const NsGrid *g = &source->grid;

  FGPixelMeasures measures;
  OFString spacing = format_double (first->pixel_spacing[0]) + "\\"
                     + format_double (first->pixel_spacing[1]);
  double thickness = std::isfinite (first->slice_thickness) && first->slice_thickness > 0.0
                       ? first->slice_thickness : g->spacing[2];
  if (!check (measures.setPixelSpacing (spacing), out_name, "pixel spacing", error)
      || !check (measures.setSliceThickness (format_double (thickness)), out_name,
                 "slice thickness", error)
      || !check (measures.setSpacingBetweenSlices (format_double (g->spacing[2])), out_name,
                 "spacing between slices", error)
      || !check (seg->addForAllFrames (measures), out_name, "pixel measures", error))
    return FALSE;

  const double *o = first->orientation;
  FGPlaneOrientationPatient *orient = FGPlaneOrientationPatient::createMinimal (
    format_double (o[0]), format_double (o[1]), format_double (o[2]), format_double (o[3]),
    format_double (o[4]), format_double (o[5]));
  if (orient == NULL)
    return check (EC_MemoryExhausted, out_name, "plane orientation", error);
  OFCondition cond = seg->addForAllFrames (*orient);
  delete orient;
  return check (cond, out_name, "plane orientation", error);
}

static gboolean
seg_add_segments (DcmSegmentation *seg, const NsDicomSegHeader *header,
                  const NsDicomSegSegment *segments, guint n_segments, const char *out_name,
                  GError **error)
{
  for (guint s = 0; s < n_segments; s++)
    {
      const NsDicomSegSegment *d = &segments[s];
      DcmSegment *segment = NULL;
      DcmSegTypes::E_SegmentAlgoType algo = header->algorithm_name != NULL
                                              ? DcmSegTypes::SAT_AUTOMATIC
                                              : DcmSegTypes::SAT_MANUAL;
      if (!check (DcmSegment::create (segment, d->label, make_code (d->category),
                                      make_code (d->type), algo,
                                      header->algorithm_name != NULL ? header->algorithm_name
                                                                     : ""),
                  out_name, "segment", error))
        return FALSE;
      Uint16 number = 0;
      if (!check (segment->setSegmentDescription (d->description), out_name,
                  "segment description", error)
          || !check (segment->setRecommendedDisplayCIELabValue (d->cielab[0], d->cielab[1],
                                                                 d->cielab[2]),
                     out_name, "segment colour", error))
        {
          delete segment;
          return FALSE;
        }
      OFCondition cond = seg->addSegment (segment, number);
      if (cond.bad ())
        delete segment;
      if (!check (cond, out_name, "adding a segment", error))
        return FALSE;
      g_assert (number == s + 1);
    }
  return TRUE;
}

static gboolean
seg_add_frames (DcmSegmentation *seg, const NsDicomSeries *source,
                const NsDicomSegFrame *frames, guint n_frames, const char *out_name,
                GError **error)
{
  gsize n_pixels = (gsize) source->grid.dim[0] * (gsize) source->grid.dim[1];
  OFVector<Uint8> pixels (n_pixels);

  for (guint f = 0; f < n_frames; f++)
    {
      const NsDicomSegFrame *frame = &frames[f];
      for (gsize p = 0; p < n_pixels; p++)
        pixels[p] = frame->labels[p] == frame->value;
      const NsDicomFile *src = (const NsDicomFile *) g_ptr_array_index (source->files,
                                                                          frame->slice);
      FGPlanePosPatient *pos = FGPlanePosPatient::createMinimal (
        format_double (src->position[0]), format_double (src->position[1]),
        format_double (src->position[2]));
      FGFrameContent content;
      OFVector<ImageSOPInstanceReferenceMacro> refs (1);
      gboolean ok = pos != NULL
                    && check (refs[0].setReferencedSOPClassUID (src->sop_class_uid), out_name,
                              "source reference", error)
                    && check (refs[0].setReferencedSOPInstanceUID (src->sop_instance_uid),
                              out_name, "source reference", error)
                    && check (content.setDimensionIndexValues (frame->segment + 1, 0), out_name,
                              "dimension index", error)
                    && check (content.setDimensionIndexValues (frame->slice + 1, 1), out_name,
                              "dimension index", error);
      FGDerivationImage *deriv = ok ? DcmSegmentation::createDerivationImageFG (refs, "") : NULL;
      if (ok && deriv == NULL)
        ok = check (EC_MemoryExhausted, out_name, "derivation image", error);
      if (ok)
        {
          OFVector<FGBase *> groups;
          groups.push_back (pos);
          groups.push_back (&content);
          groups.push_back (deriv);
          /* dcmseg copies the pixels (and packs them to bits) and the groups. */
          ok = check (seg->addFrame (&pixels[0], (Uint16) (frame->segment + 1), groups),
                      out_name, "adding a frame", error);
        }
      delete pos;
      delete deriv;
      if (!ok)
        {
          if (error != NULL && *error == NULL)
            g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: DICOM-SEG: out of memory",
                         out_name);
          return FALSE;
        }
    }
  return TRUE;
}

/* Referenced Series Sequence: every image of the source series. */
static gboolean
seg_add_references (DcmSegmentation *seg, const NsDicomSeries *source, const char *out_name,
                    GError **error)
{
  IODCommonInstanceReferenceModule &common = seg->getCommonInstanceReference ();
  IODSeriesAndInstanceReferenceMacro::ReferencedSeriesItem *item
    = new IODSeriesAndInstanceReferenceMacro::ReferencedSeriesItem ();
  if (!check (item->setSeriesInstanceUID (source->uid), out_name, "referenced series", error))
    {
      delete item;
      return FALSE;
    }
  for (guint i = 0; i < source->files->len; i++)
    {
      const NsDicomFile *f = (const NsDicomFile *) g_ptr_array_index (source->files, i);
      SOPInstanceReferenceMacro *ref = new SOPInstanceReferenceMacro ();
      item->getReferencedInstanceItems ().push_back (ref);
      if (!check (ref->setReferencedSOPClassUID (f->sop_class_uid), out_name,
                  "referenced instance", error)
          || !check (ref->setReferencedSOPInstanceUID (f->sop_instance_uid), out_name,
                     "referenced instance", error))
        {
          delete item;
          return FALSE;
        }
    }
  common.getReferencedSeriesItems ().push_back (item);
  return TRUE;
}

static gboolean
seg_write (const char *path, const char *out_name, const NsDicomSeries *source,
           const NsDicomSegHeader *header, const NsDicomSegSegment *segments, guint n_segments,
           const NsDicomSegFrame *frames, guint n_frames, GError **error)
{
  const NsDicomFile *first = (const NsDicomFile *) g_ptr_array_index (source->files, 0);

  IODGeneralEquipmentModule::EquipmentInfo equipment ("Neuroseg", "neuroseg", "none",
                                                      NS_VERSION);
  ContentIdentificationMacro ident;
  if (!check (ident.setContentLabel ("SEGMENTATION"), out_name, "content label", error)
      || !check (ident.setContentDescription (header->series_description), out_name,
                 "content description", error)
      || !check (ident.setInstanceNumber ("1"), out_name, "instance number", error))
    return FALSE;

  DcmSegmentation *raw = NULL;
  if (!check (DcmSegmentation::createBinarySegmentation (raw, (Uint16) source->grid.dim[1],
                                                         (Uint16) source->grid.dim[0],
                                                         equipment, ident),
              out_name, "creating the segmentation", error))
    return FALSE;
  OFunique_ptr<DcmSegmentation> seg (raw);

  /* Patient, study and frame of reference of the source; a series of our own. */
  DcmFileFormat ff;
  if (!load_file (ff, first->path, TRUE, error))
    return FALSE;
  if (!check (seg->importHierarchy (*ff.getDataset (), OFTrue, OFTrue, OFTrue, OFFalse),
              out_name, "importing patient, study and frame of reference", error))
    return FALSE;
  char uid[100];
  dcmGenerateUniqueIdentifier (uid, SITE_SERIES_UID_ROOT);
  char number[16];
  g_snprintf (number, sizeof number, "%d", header->series_number);
  if (!check (seg->getSeries ().setSeriesInstanceUID (uid), out_name, "series UID", error)
      || !check (seg->getSeries ().setSeriesNumber (number), out_name, "series number", error)
      || !check (seg->getSeries ().setSeriesDescription (header->series_description), out_name,
                 "series description", error))
    return FALSE;

  /* Frames are indexed by segment, then by position along the normal. */
  char dim_uid[100];
  dcmGenerateUniqueIdentifier (dim_uid, SITE_INSTANCE_UID_ROOT);
  IODMultiframeDimensionModule &dims = seg->getDimensions ();
  if (!check (dims.addDimensionIndex (DCM_ReferencedSegmentNumber, dim_uid,
                                      DCM_SegmentIdentificationSequence,
                                      "ReferencedSegmentNumber"),
              out_name, "dimension index", error)
      || !check (dims.addDimensionIndex (DCM_ImagePositionPatient, dim_uid,
                                         DCM_PlanePositionSequence, "ImagePositionPatient"),
                 out_name, "dimension index", error))
    return FALSE;

  if (!seg_shared_groups (seg.get (), source, out_name, error)
      || !seg_add_segments (seg.get (), header, segments, n_segments, out_name, error)
      || !seg_add_frames (seg.get (), source, frames, n_frames, out_name, error)
      || !seg_add_references (seg.get (), source, out_name, error))
    return FALSE;

  return check (seg->saveFile (path, EXS_LittleEndianExplicit), out_name, "writing", error);
}

gboolean
_ns_dicom_seg_write_file (const char *path, const char *out_name, const NsDicomSeries *source,
                          const NsDicomSegHeader *header, const NsDicomSegSegment *segments,
                          guint n_segments, const NsDicomSegFrame *frames, guint n_frames,
                          GError **error)
{
  dicom_init ();
  try
    {
      return seg_write (path, out_name, source, header, segments, n_segments, frames, n_frames,
                        error);
    }
  catch (const std::exception &e)
    {
      set_exception_error (error, out_name, e.what ());
      return FALSE;
    }
}

/* ---- DICOM-SEG: reading ------------------------------------------------------------------ */

static gboolean
seg_read_error (GError **error, const char *path, const char *what)
{
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT, "%s: DICOM-SEG: %s", path, what);
  return FALSE;
}

static gboolean
seg_read (const char *path, NsDicomSegContent *content, GError **error)
{
  if (!dictionary_ready (path, error))
    return FALSE;
  DcmFileFormat ff;
  if (!load_file (ff, path, FALSE, error))
    return FALSE;
  DcmDataset *ds = ff.getDataset ();
  g_autofree char *cls = dup_text (ds, DCM_SOPClassUID);
  if (strcmp (cls, UID_SegmentationStorage) != 0)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_DICOM,
                   "%s: not a DICOM Segmentation (its SOP class is %s)", path,
                   cls[0] != '\0' ? cls : "missing");
      return FALSE;
    }
  DcmItem *ref = NULL;
  if (ds->findAndGetSequenceItem (DCM_ReferencedSeriesSequence, ref, 0).good () && ref != NULL)
    content->source_series_uid = dup_text (ref, DCM_SeriesInstanceUID);
  content->frame_of_reference_uid = dup_text (ds, DCM_FrameOfReferenceUID);

  DcmSegmentation *raw = NULL;
  OFCondition cond = DcmSegmentation::loadDataset (*ds, raw);
  if (cond.bad () || raw == NULL)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT, "%s: DICOM-SEG: %s", path,
                   cond.bad () ? cond.text () : "cannot be read");
      return FALSE;
    }
  OFunique_ptr<DcmSegmentation> seg (raw);
  if (seg->getSegmentationType () != DcmSegTypes::ST_BINARY)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNSUPPORTED,
                   "%s: a fractional DICOM-SEG; only binary segmentations are read", path);
      return FALSE;
    }
  content->rows = get_int (ds, DCM_Rows, 0);
  content->columns = get_int (ds, DCM_Columns, 0);

  for (size_t s = 1; s <= seg->getNumberOfSegments (); s++)
    {
      DcmSegment *segment = seg->getSegment (s);
      if (segment == NULL)
        return seg_read_error (error, path, "a segment cannot be read");
      NsDicomSegReadSegment *out = g_new0 (NsDicomSegReadSegment, 1);
      g_ptr_array_add (content->segments, out);
      OFString text;
      out->number = (guint16) s;
      segment->getSegmentLabel (text);
      out->label = g_utf8_make_valid (text.c_str (), -1);
      text.clear ();
      segment->getSegmentDescription (text);
      out->description = g_utf8_make_valid (text.c_str (), -1);
      text.clear ();
      segment->getSegmentedPropertyTypeCode ().getCodeValue (text);
      out->type_value = g_strdup (text.c_str ());
      text.clear ();
      segment->getSegmentedPropertyTypeCode ().getCodingSchemeDesignator (text);
      out->type_designator = g_strdup (text.c_str ());
    }

  FGInterface &fg = seg->getFunctionalGroups ();
  size_t n_frames = seg->getNumberOfFrames ();
  for (size_t i = 0; i < n_frames; i++)
    {
      Uint32 f = (Uint32) i;
      FGPlanePosPatient *pos = OFstatic_cast (FGPlanePosPatient *,
                                              fg.get (f, DcmFGTypes::EFG_PLANEPOSPATIENT));
      FGSegmentation *segfg = OFstatic_cast (FGSegmentation *,
                                             fg.get (f, DcmFGTypes::EFG_SEGMENTATION));
      if (i == 0)
        {
          FGPlaneOrientationPatient *orient = OFstatic_cast (
            FGPlaneOrientationPatient *, fg.get (f, DcmFGTypes::EFG_PLANEORIENTPATIENT));
          FGPixelMeasures *measures = OFstatic_cast (FGPixelMeasures *,
                                                     fg.get (f, DcmFGTypes::EFG_PIXELMEASURES));
          Float64 o[6];
          if (orient == NULL
              || orient->getImageOrientationPatient (o[0], o[1], o[2], o[3], o[4], o[5]).bad ())
            return seg_read_error (error, path, "no Image Orientation (Patient)");
          for (int k = 0; k < 6; k++)
            content->orientation[k] = o[k];
          if (measures == NULL || measures->getPixelSpacing (content->pixel_spacing[0], 0).bad ()
              || measures->getPixelSpacing (content->pixel_spacing[1], 1).bad ())
            return seg_read_error (error, path, "no Pixel Spacing");
        }
      Float64 x, y, z;
      Uint16 number = 0;
      if (pos == NULL || pos->getImagePositionPatient (x, y, z).bad ())
        return seg_read_error (error, path, "a frame without Image Position (Patient)");
      if (segfg == NULL || segfg->getReferencedSegmentNumber (number).bad ())
        return seg_read_error (error, path, "a frame without a Referenced Segment Number");
      const DcmIODTypes::Frame *packed = seg->getFrame (i);
      if (packed == NULL)
        return seg_read_error (error, path, "a frame without pixels");
      DcmIODTypes::Frame *unpacked = DcmSegUtils::unpackBinaryFrame (
        packed, (Uint16) content->rows, (Uint16) content->columns);
      if (unpacked == NULL)
        return seg_read_error (error, path, "a frame cannot be unpacked");
      gsize n = (gsize) content->rows * (gsize) content->columns;
      NsDicomSegReadFrame *out = g_new0 (NsDicomSegReadFrame, 1);
      g_ptr_array_add (content->frames, out);
      out->segment = number;
      out->position[0] = x;
      out->position[1] = y;
      out->position[2] = z;
      out->pixels = (guint8 *) g_malloc (n);
      if (unpacked->length < n)
        {
          delete unpacked;
          return seg_read_error (error, path, "a frame holds fewer pixels than rows x columns");
        }
      for (gsize p = 0; p < n; p++)
        out->pixels[p] = unpacked->pixData[p] != 0;
      delete unpacked;
    }
  return TRUE;
}

gboolean
_ns_dicom_seg_read_file (const char *path, NsDicomSegContent *content, GError **error)
{
  dicom_init ();
  try
    {
      return seg_read (path, content, error);
    }
  catch (const std::exception &e)
    {
      set_exception_error (error, path, e.what ());
      return FALSE;
    }
}
