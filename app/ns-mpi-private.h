/* SPDX-License-Identifier: MIT
 *
 * ns-mpi-private.h: what ns-mpi.c and ns-mpi-none.c share (ns-mpi-launch.c).
 */
#pragma once

#include "ns-mpi.h"

G_BEGIN_DECLS

/* FALSE + NS_MPI_ERROR_LAUNCH when srun started several tasks without an MPI plugin (in
 * envp): they would know nothing of each other. */
gboolean _ns_mpi_check_srun_plugin (const char *const *envp, GError **error);

G_END_DECLS
