/* SPDX-License-Identifier: MIT
 *
 * ns-test-net.h: helpers of the tests that hold a backend to a memory limit.
 */
#pragma once

#include "ns-backend.h"

G_BEGIN_DECLS

/* Bytes of tensors the backend holds now, read through a memory limit (lifted again:
 * the backend is left without one). */
gsize ns_test_backend_bytes   (NsBackend *backend);
/* Bytes a checkpoint holds once loaded on a fresh ref backend (asserts it loads). */
gsize ns_test_checkpoint_bytes (const char *path);

G_END_DECLS
