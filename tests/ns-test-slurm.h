/* SPDX-License-Identifier: MIT
 *
 * ns-test-slurm.h: a real single-node Slurm cluster for a test program, started in a
 * temporary folder: a munge key made there and munged on its own socket, a generated
 * slurm.conf (one node "localhost" with this machine's CPUs, one partition "debug", two
 * unused TCP ports on 127.0.0.1, state and spool in the folder, no accounting), slurmctld
 * and slurmd in the foreground (-D) as children of the test.  $SLURM_CONF is set so that
 * sbatch, scontrol, scancel and srun in this process and its children use it.
 *
 * It is stopped at exit (jobs cancelled, daemons terminated, folder removed); should the
 * test program die, the kernel stops the daemons too (parent-death signal).  The test
 * program exits 77 (skipped), saying why, only where Slurm or munge is not installed or
 * one of the daemons exits while starting (its log is printed); a cluster that runs but
 * never reports its node idle is a test failure.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Starts the cluster (once per program); returns its folder (not owned). */
const char *ns_test_slurm_start     (void);
/* The partition jobs go to by default. */
#define NS_TEST_SLURM_PARTITION "debug"

G_END_DECLS
