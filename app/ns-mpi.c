/* SPDX-License-Identifier: MIT
 *
 * ns-mpi.c: MPI_COMM_WORLD behind NsTrainComm (see ns-mpi.h).  Without MPI in the build
 * (meson -Dmpi=disabled) the same calls exist: no launcher means one process, a launch of
 * several is refused.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-config.h"

#include "ns-mpi.h"

#include <limits.h>
#include <stdlib.h>

#if NS_HAVE_MPI
#include <mpi.h>
#endif

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

/* srun without an MPI plugin: several tasks that know nothing of each other. */
static gboolean
check_srun_plugin (const char *const *envp, GError **error)
{
  const char *n = g_environ_getenv ((char **) envp, "SLURM_STEP_NUM_TASKS");
  if (n == NULL || atoi (n) <= 1)
    return TRUE;
  g_set_error (error, NS_MPI_ERROR, 0,
               "srun started %s tasks without an MPI plugin, so each would train alone and "
               "write the same files: run srun --mpi=pmix (or --mpi=pmi2) neuroseg train", n);
  return FALSE;
}

#if NS_HAVE_MPI

static gboolean initialised;

static gboolean
mpi_check (int rc, const char *what, GError **error)
{
  if (rc == MPI_SUCCESS)
    return TRUE;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string (rc, text, &len) != MPI_SUCCESS)
    g_snprintf (text, sizeof text, "error %d", rc);
  g_set_error (error, NS_MPI_ERROR, rc, "MPI: %s: %s", what, text);
  return FALSE;
}

/* In place over MPI_COMM_WORLD, in pieces of at most INT_MAX elements. */
static gboolean
allreduce (void *values, gsize n, MPI_Datatype type, gsize elem, GError **error)
{
  for (gsize at = 0; at < n; at += INT_MAX)
    {
      int count = (int) MIN (n - at, (gsize) INT_MAX);
      if (!mpi_check (MPI_Allreduce (MPI_IN_PLACE, (char *) values + at * elem, count, type,
                                     MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce", error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
sum_floats (NsTrainComm *comm, float *values, gsize n, GError **error)
{
  return allreduce (values, n, MPI_FLOAT, sizeof *values, error);
}

static gboolean
sum_doubles (NsTrainComm *comm, double *values, gsize n, GError **error)
{
  return allreduce (values, n, MPI_DOUBLE, sizeof *values, error);
}

NsTrainComm *
ns_mpi_init (GError **error)
{
  static NsTrainComm comm = { 0, 1, sum_floats, sum_doubles };
  g_auto (GStrv) env = g_get_environ ();
  const char *why = NULL;
  int provided = 0;

  if (initialised)
    return &comm;
  if (ns_mpi_launch_size ((const char *const *) env, &why) == 0)
    {
      /* one process, unless srun started several without a plugin (error) */
      check_srun_plugin ((const char *const *) env, error);
      return NULL;
    }
  /* MPI calls come from the main thread only (the batch workers never call MPI) */
  if (!mpi_check (MPI_Init_thread (NULL, NULL, MPI_THREAD_FUNNELED, &provided),
                  "MPI_Init_thread", error))
    return NULL;
  initialised = TRUE;
  MPI_Comm_set_errhandler (MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  if (!mpi_check (MPI_Comm_rank (MPI_COMM_WORLD, &comm.rank), "MPI_Comm_rank", error)
      || !mpi_check (MPI_Comm_size (MPI_COMM_WORLD, &comm.size), "MPI_Comm_size", error))
    return NULL;
  g_debug ("MPI (%s): process %d of %d", why, comm.rank, comm.size);
  return &comm;
}

gboolean
ns_mpi_is_initialised (void)
{
  int flag = 0;
  return MPI_Initialized (&flag) == MPI_SUCCESS && flag;
}

void
ns_mpi_finalize (void)
{
  if (initialised)
    MPI_Finalize ();
  initialised = FALSE;
}

void
ns_mpi_abort (int status)
{
  if (initialised)
    MPI_Abort (MPI_COMM_WORLD, status);
}

#else /* !NS_HAVE_MPI */

NsTrainComm *
ns_mpi_init (GError **error)
{
  g_auto (GStrv) env = g_get_environ ();
  const char *why = NULL;
  int n = ns_mpi_launch_size ((const char *const *) env, &why);

  if (n > 1)
    {
      g_set_error (error, NS_MPI_ERROR, 0,
                   "launched as %d processes (%s), but this neuroseg was built without MPI "
                   "(meson setup -Dmpi=enabled, Debian: libopenmpi-dev): each would train "
                   "alone and write the same files", n, why);
      return NULL;
    }
  if (n == 0)
    check_srun_plugin ((const char *const *) env, error);
  return NULL;
}

gboolean
ns_mpi_is_initialised (void)
{
  return FALSE;
}

void
ns_mpi_finalize (void)
{
}

void
ns_mpi_abort (int status)
{
}

#endif
