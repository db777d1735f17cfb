/* SPDX-License-Identifier: MIT
 *
 * ns-checkpoint.h: models as safetensors files.
 *
 * Format (https://github.com/huggingface/safetensors): 8-byte little-endian header
 * length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, ...,
 * "__metadata__": {string: string}}, then the tensor bytes, little-endian, contiguous in
 * the order of the offsets.  Neuroseg writes F32 (training, bit-exact round trip) or
 * BF16 / F16 (shipped models), and reads all three.  Tensor names and metadata keys are
 * documented in net/README.md; tensors named *.num_batches_tracked (written by PyTorch)
 * are accepted and ignored.
 *
 * Every failure is a GError in NS_NET_ERROR (NS_NET_ERROR_CHECKPOINT for bad files) whose
 * message starts with the file's name and says what does not match.
 */
#pragma once

#include "ns-model.h"

G_BEGIN_DECLS

typedef enum
{
  NS_DTYPE_F32,
  NS_DTYPE_BF16,
  NS_DTYPE_F16,
} NsDType;

/* Writes every tensor of the model and its metadata (arch, format version, modalities,
 * classes, normalisation, provenance), atomically (temporary file + rename). */
gboolean     ns_checkpoint_save      (NsModel *model, const char *path, NsDType dtype,
                                      GError **error);
/* Builds the model the file describes on backend and loads its tensors. */
NsModel     *ns_checkpoint_load      (const char *path, NsBackend *backend, GError **error);
/* Loads the tensors into an existing model (e.g. fine-tuning from a parent): names,
 * shapes and version must match; the model's metadata is left as it is. */
gboolean     ns_checkpoint_load_into (NsModel *model, const char *path, GError **error);
/* Only the metadata (for model lists); the tensors are not read beyond the header. */
NsModelMeta *ns_checkpoint_read_meta (const char *path, GError **error);
/* Whether the file is a model of the kind wanted (ns_model_meta_check_kind ()): FALSE +
 * error when its metadata cannot be read or it is of the other kind.  Promotion asks for
 * a segmentation model (an interactive one is never the default, forced or not); the
 * Refine tool for an interactive one. */
gboolean     ns_checkpoint_check_kind (const char *path, gboolean interactive, GError **error);

/* Conversions used for the 16-bit formats (round to nearest even). */
guint16      ns_float_to_bf16        (float f);
float        ns_bf16_to_float        (guint16 h);
guint16      ns_float_to_f16         (float f);
float        ns_f16_to_float         (guint16 h);

G_END_DECLS
