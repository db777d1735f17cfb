/* SPDX-License-Identifier: MIT
 *
 * ns-safetensors-private.h: the safetensors format, read and written with bounded memory,
 * for the model checkpoints (ns-checkpoint.c) and the trainer's resume state
 * (ns-trainer-state.c).
 *
 * The format and the checks of its header are data/ns-safetensors-header.h's, the one
 * reader of it (the registry's model card reads headers too).
 *
 * Reading checks everything before a value is used, as the reference implementation
 * does: the header first (a regular file, a length that fits, a JSON object: see
 * data/ns-safetensors-header.h), then every entry has a known dtype and a shape whose
 * byte size is its data_offsets span, and the spans tile the data section exactly: no
 * gap, no overlap, not a byte after the last tensor.  Then tensors are read one at a
 * time with pread in chunks; the file is never read whole.  Errors are
 * NS_NET_ERROR_CHECKPOINT and start with the file's name.
 *
 * Writing goes to "<path>.partial" (created with O_NOFOLLOW), fsync'd, renamed over path,
 * then the folder is fsync'd: a reader of path sees the old file or the new one, whole.
 * A writer killed on the way leaves only the .partial file, which the next write of the
 * same path replaces (and the trainer removes at its start).
 */
#pragma once

#include <json-glib/json-glib.h>

#include "ns-checkpoint.h"

G_BEGIN_DECLS

#define NS_ST_MAX_DIMS 8

typedef struct _NsStFile NsStFile;

typedef struct
{
  char *name;
  char *dtype_name;           /* "F32", "I64", ... as written */
  gboolean is_float;          /* F32, BF16 or F16: readable as float */
  NsDType dtype;              /* when is_float */
  gsize elem;                 /* bytes per value */
  int ndim;
  gint64 shape[NS_ST_MAX_DIMS];
  guint64 count;              /* values */
  guint64 begin, end;         /* bytes, in the data section */
} NsStEntry;

/* name: what errors call the file (NULL: its base name). */
NsStFile        *_ns_st_open         (const char *path, const char *name, GError **error);
/* Only the header and its __metadata__ (no entries, no data checks): for telling what a
 * file that may have been cut short was meant to be. */
NsStFile        *_ns_st_open_header  (const char *path, GError **error);
void             _ns_st_close        (NsStFile *file);
/* The file's base name, as errors name it. */
const char      *_ns_st_get_name     (NsStFile *file);
/* The __metadata__ object (borrowed), or NULL when the file has none or it is not an
 * object. */
JsonObject      *_ns_st_get_metadata (NsStFile *file);
/* The tensors, in the order of their data. */
guint            _ns_st_n_entries    (NsStFile *file);
const NsStEntry *_ns_st_get_entry    (NsStFile *file, guint index);
const NsStEntry *_ns_st_find         (NsStFile *file, const char *name);
/* Reads e (a float dtype) into values (e->count floats).  Every value must be finite:
 * NaN or Inf is an error naming the tensor and the element. */
gboolean         _ns_st_read_f32     (NsStFile *file, const NsStEntry *e, float *values,
                                      GError **error);
/* NS_NET_ERROR_CHECKPOINT "<name>: <message>". */
gboolean         _ns_st_fail         (GError **error, NsStFile *file, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsStFile, _ns_st_close)

typedef struct _NsStWriter NsStWriter;

/* A writer of path; tag, when not NULL, names the file for the test hook below. */
NsStWriter *_ns_st_writer_new     (const char *path, const char *tag);
/* The tensors, in the order their data will be put. */
void        _ns_st_writer_add     (NsStWriter *writer, const char *name, NsDType dtype,
                                   const int *shape, int ndim);
/* Opens the .partial file and writes the header; metadata (string -> string; may be
 * NULL) becomes __metadata__. */
gboolean    _ns_st_writer_begin   (NsStWriter *writer, JsonObject *metadata, GError **error);
/* The next n values of the tensors in the order they were added, converted to each
 * tensor's dtype (values may span tensors). */
gboolean    _ns_st_writer_put     (NsStWriter *writer, const float *values, gsize n,
                                   GError **error);
/* Checks that every value was put, then syncs and renames (see above); frees writer. */
gboolean    _ns_st_writer_commit  (NsStWriter *writer, GError **error);
/* Removes the .partial file; frees writer (NULL is fine). */
void        _ns_st_writer_abort   (NsStWriter *writer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NsStWriter, _ns_st_writer_abort)

/* "<path>.partial" (owned). */
char       *_ns_st_partial_path   (const char *path);

/* Test hook for crash tests (NS_TEST_KILL_AT=<point>:<n>, e.g. "state-written:2"): raises
 * SIGKILL the n-th time (from 1) the process reaches <point>.  Writers with a tag reach
 * "<tag>-half" (half of the data written), "<tag>-written" (all written and synced, not
 * renamed) and "<tag>-renamed". */
void        _ns_test_kill_point   (const char *point);

G_END_DECLS
