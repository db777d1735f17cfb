/* SPDX-License-Identifier: MIT
 *
 * ns-test-net.h: helpers of the net tests: backends held to a memory limit, models
 * written for a test.
 */
#pragma once

#include "ns-backend.h"

G_BEGIN_DECLS

/* Bytes of tensors the backend holds now, read through a memory limit (lifted again:
 * the backend is left without one). */
gsize ns_test_backend_bytes   (NsBackend *backend);
/* Bytes a checkpoint holds once loaded on a fresh ref backend (asserts it loads). */
gsize ns_test_checkpoint_bytes (const char *path);
/* A mobilenetv2-unet (FLAIR, T1c in; 4 classes out) with Kaiming weights from seed, saved
 * as name in the test's temporary folder; its path (owned). */
char *ns_test_write_random_model (const char *name, guint64 seed);
/* The same for an interactive correction model of those inputs (+ mask and clicks in, one
 * region out: ns_model_meta_new_interactive ()). */
char *ns_test_write_random_interactive_model (const char *name, guint64 seed);

G_END_DECLS
