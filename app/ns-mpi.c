/* SPDX-License-Identifier: MIT
 *
 * ns-mpi.c: MPI_COMM_WORLD behind NsTrainComm (see ns-mpi.h), in the build with MPI
 * (meson feature mpi; ns-mpi-none.c otherwise).  The sums are MPI_Allreduce in place;
 * MPI calls come from the main thread only (the batch workers never call MPI), so
 * MPI_THREAD_FUNNELED is enough.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-mpi-private.h"

#include <limits.h>
#include <mpi.h>

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
  g_set_error (error, NS_MPI_ERROR, NS_MPI_ERROR_TRANSPORT, "MPI: %s: %s", what, text);
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

/* One GPU per process of a machine: the CUDA backend uses the first device it sees, so
 * each process of a machine sees the one of its local rank (round robin over the list in
 * CUDA_VISIBLE_DEVICES when it is set; a list of one, as Slurm's --gpus-per-task sets,
 * is kept).  Before anything initialises CUDA. */
static void
pick_local_gpu (void)
{
  MPI_Comm local;
  int lrank = 0, lsize = 1;

  if (MPI_Comm_split_type (MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local)
      != MPI_SUCCESS)
    return;
  MPI_Comm_rank (local, &lrank);
  MPI_Comm_size (local, &lsize);
  MPI_Comm_free (&local);
  if (lsize <= 1)
    return;
  const char *visible = g_getenv ("CUDA_VISIBLE_DEVICES");
  g_auto (GStrv) ids = visible != NULL ? g_strsplit (visible, ",", -1) : NULL;
  guint n = ids != NULL ? g_strv_length (ids) : 0;
  if (ids != NULL && n <= 1)
    return;
  g_autofree char *mine = ids != NULL ? g_strdup (ids[lrank % n])
                                      : g_strdup_printf ("%d", lrank);
  g_setenv ("CUDA_VISIBLE_DEVICES", mine, TRUE);
  g_debug ("process %d of this machine's %d: CUDA_VISIBLE_DEVICES=%s", lrank, lsize, mine);
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
      _ns_mpi_check_srun_plugin ((const char *const *) env, error);
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
  pick_local_gpu ();
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
