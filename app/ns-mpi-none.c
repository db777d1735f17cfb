/* SPDX-License-Identifier: MIT
 *
 * ns-mpi-none.c: ns-mpi.h in a build without MPI (meson -Dmpi=disabled): no launcher means
 * one process; a launch of several is refused, since each would train alone and write
 * the same files.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-mpi-private.h"

NsTrainComm *
ns_mpi_init (GError **error)
{
  g_auto (GStrv) env = g_get_environ ();
  const char *why = NULL;
  int n = ns_mpi_launch_size ((const char *const *) env, &why);

  if (n > 1)
    {
      g_set_error (error, NS_MPI_ERROR, NS_MPI_ERROR_LAUNCH,
                   "launched as %d processes (%s), but this neuroseg was built without MPI "
                   "(meson setup -Dmpi=enabled, Debian: libopenmpi-dev): each would train "
                   "alone and write the same files", n, why);
      return NULL;
    }
  if (n == 0)
    _ns_mpi_check_srun_plugin ((const char *const *) env, error);
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
