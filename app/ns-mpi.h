/* SPDX-License-Identifier: MIT
 *
 * ns-mpi.h: MPI for `neuroseg train` on several processes (`mpirun -np N neuroseg train`,
 * `srun neuroseg train`): the NsTrainComm of net/ns-train-comm.h over MPI_COMM_WORLD.
 *
 * MPI is initialised only when a launcher started the process: mpirun / mpiexec (Open
 * MPI: OMPI_COMM_WORLD_SIZE; MPICH's Hydra: PMI_SIZE) or srun with an MPI plugin
 * (--mpi=pmix: PMIX_RANK; --mpi=pmi2: PMI_SIZE).  A plain `neuroseg train` never touches
 * MPI.  srun without an MPI plugin starts its tasks as unrelated processes: more than one
 * such task (SLURM_STEP_NUM_TASKS > 1, none of the variables above) is refused, since
 * each would train alone and write the same files.  A build without MPI refuses a
 * launch of more than one process for the same reason.
 *
 * GPUs: the CUDA backend uses the first device it sees; with several processes on a
 * machine each sees one, that of its rank on the machine (CUDA_VISIBLE_DEVICES, round
 * robin over the list already there; a list of one is kept).
 *
 * Errors of MPI calls are returned (MPI_ERRORS_RETURN) as NS_MPI_ERROR_TRANSPORT; after
 * one the other processes may wait forever in a collective call, so the command aborts
 * the job (ns_mpi_abort, the last resort, in the command only).
 */
#pragma once

#include <glib.h>

#include "ns-train-comm.h"

G_BEGIN_DECLS

#define NS_MPI_ERROR (ns_mpi_error_quark ())
GQuark       ns_mpi_error_quark    (void);

typedef enum
{
  NS_MPI_ERROR_LAUNCH,           /* a launch that cannot work (see above) */
  NS_MPI_ERROR_TRANSPORT,        /* an MPI call failed: the job must be aborted */
} NsMpiError;

/* How many processes the launcher of this process announced (envp: the environment, as
 * g_get_environ()): 0 when no MPI launcher started it; *why (static, nullable) names the
 * variable that says so. */
int          ns_mpi_launch_size    (const char *const *envp, const char **why);

/* The communicator of the run: NULL and no error when no launcher started the process
 * (one process); NULL + error when one did but MPI cannot start (or the build has no
 * MPI and more than one process was launched).  The result is static; ns_mpi_finalize
 * ends it. */
NsTrainComm *ns_mpi_init           (GError **error);
/* Whether MPI_Init ran in this process (FALSE in a build without MPI). */
gboolean     ns_mpi_is_initialised (void);
/* MPI_Finalize when ns_mpi_init started MPI. */
void         ns_mpi_finalize       (void);
/* MPI_Abort of every process of the job, when MPI runs; otherwise nothing. */
void         ns_mpi_abort          (int status);

G_END_DECLS
