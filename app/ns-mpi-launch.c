/* SPDX-License-Identifier: MIT
 *
 * ns-mpi-launch.c: whether an MPI launcher started this process (ns-mpi.h), from the
 * variables launchers set; shared by the build with MPI (ns-mpi.c) and without
 * (ns-mpi-none.c).
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-mpi-private.h"

#include <stdlib.h>

G_DEFINE_QUARK (ns-mpi-error-quark, ns_mpi_error)

int
ns_mpi_launch_size (const char *const *envp, const char **why)
{
  /* variable, and whether it holds the number of processes (else a rank) */
  static const struct
  {
    const char *name;
    gboolean is_size;
  } vars[] = {
    { "OMPI_COMM_WORLD_SIZE", TRUE },
    { "PMI_SIZE", TRUE },
    { "PMIX_RANK", FALSE },
  };
  const char *why_dummy;

  if (why == NULL)
    why = &why_dummy;
  *why = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (vars); i++)
    {
      const char *v = g_environ_getenv ((char **) envp, vars[i].name);
      if (v == NULL)
        continue;
      *why = vars[i].name;
      if (!vars[i].is_size)
        {
          /* PMIx gives the size only through the library: at least one */
          const char *n = g_environ_getenv ((char **) envp, "SLURM_STEP_NUM_TASKS");
          return n != NULL && atoi (n) > 0 ? atoi (n) : 1;
        }
      return MAX (atoi (v), 1);
    }
  return 0;
}

gboolean
_ns_mpi_check_srun_plugin (const char *const *envp, GError **error)
{
  const char *n = g_environ_getenv ((char **) envp, "SLURM_STEP_NUM_TASKS");
  if (n == NULL || atoi (n) <= 1)
    return TRUE;
  g_set_error (error, NS_MPI_ERROR, NS_MPI_ERROR_LAUNCH,
               "srun started %s tasks without an MPI plugin, so each would train alone and "
               "write the same files: run srun --mpi=pmix (or --mpi=pmi2) neuroseg train", n);
  return FALSE;
}
