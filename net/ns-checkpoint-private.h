/* SPDX-License-Identifier: MIT
 *
 * ns-checkpoint-private.h: the pieces of a checkpoint the trainer's resume state
 * (ns-trainer-state.c) puts in its own file next to the optimiser's: the model's tensors
 * and metadata in a safetensors writer or file.
 */
#pragma once

#include "ns-checkpoint.h"
#include "ns-safetensors-private.h"

G_BEGIN_DECLS

/* __metadata__ of a model (string -> string; owned). */
JsonObject *_ns_checkpoint_metadata_new (const NsModelMeta *meta);
/* Every tensor of the model, by name and shape, into w (before _ns_st_writer_begin) ... */
void        _ns_checkpoint_add_tensors  (NsStWriter *w, NsModel *model, NsDType dtype);
/* ... and their values, in the same order (after it). */
gboolean    _ns_checkpoint_put_tensors  (NsStWriter *w, NsModel *model, GError **error);
/* Every tensor of the model from f, checked as ns_checkpoint_load() checks them; tensors
 * named in also (NULL-terminated, may be NULL) may be in the file besides the model's. */
gboolean    _ns_checkpoint_read_tensors (NsStFile *f, NsModel *model, const char *const *also,
                                         GError **error);
/* ns_checkpoint_save() with the test hook's tag for the writer (NULL: none). */
gboolean    _ns_checkpoint_save_tagged  (NsModel *model, const char *path, NsDType dtype,
                                         const char *tag, GError **error);

G_END_DECLS
