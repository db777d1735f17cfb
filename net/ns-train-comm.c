/* SPDX-License-Identifier: MIT
 *
 * ns-train-comm.c: the agreement of the processes of a run (ns-train-comm.h).  One
 * sum_doubles of n_extra + size values: the extra values, then one flag per rank, set by
 * the rank whose work failed, so that every process learns the same lowest failing rank.
 */
#define G_LOG_DOMAIN "neuroseg-net"

#include "ns-train-comm.h"

#include "ns-backend.h"

#include <string.h>

gboolean
ns_train_comm_agree (NsTrainComm *comm, gboolean ok, double *extra, gsize n_extra,
                     gboolean *peer_failed, GError **error)
{
  g_return_val_if_fail (extra != NULL || n_extra == 0, FALSE);
  g_return_val_if_fail (peer_failed != NULL, FALSE);
  g_return_val_if_fail (ok || error == NULL || *error != NULL, FALSE);

  *peer_failed = FALSE;
  if (comm == NULL || comm->size <= 1)
    return ok;

  g_autofree double *v = g_new0 (double, n_extra + comm->size);
  GError *sum_error = NULL;
  if (n_extra > 0)
    memcpy (v, extra, n_extra * sizeof *v);
  v[n_extra + comm->rank] = ok ? 0.0 : 1.0;
  if (!comm->sum_doubles (comm, v, n_extra + comm->size, &sum_error))
    {
      /* the transport failed: this process reports it (its own error, if any, first) */
      if (ok)
        g_propagate_error (error, sum_error);
      else
        g_error_free (sum_error);
      return FALSE;
    }
  if (n_extra > 0)
    memcpy (extra, v, n_extra * sizeof *v);
  int first = -1;
  for (int r = 0; r < comm->size && first < 0; r++)
    if (v[n_extra + r] != 0.0)
      first = r;
  if (first < 0)
    return TRUE;
  *peer_failed = first != comm->rank;
  if (ok)
    g_set_error (error, NS_NET_ERROR, NS_NET_ERROR_FAILED,
                 "process %d of the %d of the run failed (it reports why)", first, comm->size);
  return FALSE;
}
