/* SPDX-License-Identifier: MIT
 *
 * ns-train-comm.h: how the processes of a data-parallel training run talk to each other
 * (ns-trainer.h, "Data parallel").  The trainer knows only this interface: the neuroseg
 * binary implements it with MPI (app/ns-mpi.c), so that net/ never links MPI, and a test
 * can implement it in one process.
 *
 * Every call is collective: each of the `size` processes makes the same calls in the same
 * order with the same n.  The sums are element-wise over all processes, in place, and
 * every process receives the same result.  A failing call (the transport, not a
 * process's own work) returns FALSE + error; the run cannot go on after it, since the
 * other processes may be waiting in the call (the binary then aborts the job).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _NsTrainComm NsTrainComm;

struct _NsTrainComm
{
  int rank;                      /* 0 .. size - 1; rank 0 writes the run's files */
  int size;                      /* processes in the run */
  gboolean (*sum_floats)  (NsTrainComm *comm, float *values, gsize n, GError **error);
  gboolean (*sum_doubles) (NsTrainComm *comm, double *values, gsize n, GError **error);
};

/* The agreement of every process at one point of the run: each says whether its own
 * work so far succeeded (ok; when FALSE, *error holds its error) and adds n_extra values
 * (summed over the processes into extra, may be NULL when n_extra is 0).  TRUE when all
 * succeeded.  Otherwise FALSE; *peer_failed is FALSE on the lowest rank that failed,
 * whose *error is the one to report, and TRUE on the others, whose *error (their own, or
 * "process K of N failed" for those that did not fail) is not to be printed.  comm NULL:
 * one process (the sum is the values themselves). */
gboolean ns_train_comm_agree (NsTrainComm *comm, gboolean ok, double *extra, gsize n_extra,
                              gboolean *peer_failed, GError **error);

G_END_DECLS
