/* SPDX-License-Identifier: MIT
 *
 * ns-model-card.h: what a model file says about itself, read from its safetensors header
 * without loading a tensor: the architecture and the figures of its model card (the
 * "metrics" of the provenance in __metadata__: validation Dice, cases, device, ...).
 *
 * For the registry in data/, which records the shipped model (version 0) when the
 * database is opened and cannot call net/.  net/ns-checkpoint.c reads and checks the
 * whole file (every field, every tensor) and stays the one reader of models: this reads
 * two fields and checks only what it reads.  Both read the header with
 * ns-safetensors-header.h.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* *arch (owned) and *metrics (a JSON object as text, "{}" when the file records none).
 * Errors (NS_DATA_ERROR, naming the file): those of ns_safetensors_header_read () (not a
 * regular file, not a safetensors file, a header larger than the file or than 100 MB),
 * and not a neuroseg model. */
gboolean ns_model_card_read (const char *path, char **arch, char **metrics, GError **error);

G_END_DECLS
