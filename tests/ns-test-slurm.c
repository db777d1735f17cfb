/* SPDX-License-Identifier: MIT
 *
 * ns-test-slurm.c: a real single-node Slurm cluster for a test program (see
 * ns-test-slurm.h).
 */
#define G_LOG_DOMAIN "ns-test-slurm"

#include "ns-test-slurm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ns-test-util.h"

enum { MUNGED, SLURMCTLD, SLURMD, N_DAEMONS };
static const char *const daemon_names[N_DAEMONS] = { "munged", "slurmctld", "slurmd" };

static struct
{
  char *dir;
  pid_t pids[N_DAEMONS];
} cluster;

static void
skip (const char *why)
{
  g_print ("1..0 # SKIP %s\n", why);
  g_printerr ("skipped: %s\n", why);
  exit (77);
}

/* The last lines of a log file (owned). */
static char *
log_tail (const char *path)
{
  g_autofree char *text = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &text, &len, NULL))
    return g_strdup_printf ("(no log at %s)", path);
  return g_strdup (len > 2000 ? text + len - 2000 : text);
}

/* A TCP port on 127.0.0.1 that nothing listens on now. */
static int
free_port (void)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  int fd = socket (AF_INET, SOCK_STREAM, 0), port;

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &a, sizeof a), ==, 0);
  g_assert_cmpint (getsockname (fd, (struct sockaddr *) &a, &len), ==, 0);
  port = ntohs (a.sin_port);
  close (fd);
  return port;
}

/* argv in the background, its output in log; the kernel ends it with the test program. */
static pid_t
launch (const char *const *argv, const char *log)
{
  pid_t parent = getpid ();
  pid_t pid = fork ();

  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      int fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0600);

      prctl (PR_SET_PDEATHSIG, SIGTERM);
      if (getppid () != parent)
        _exit (0);
      if (fd >= 0)
        {
          dup2 (fd, 1);
          dup2 (fd, 2);
        }
      setsid ();
      execv (argv[0], (char **) argv);
      _exit (127);
    }
  return pid;
}

/* Skips when daemon d has exited (it could not start), printing its log. */
static void
check_alive (int d, const char *log)
{
  int status;

  if (cluster.pids[d] > 0 && waitpid (cluster.pids[d], &status, WNOHANG) == cluster.pids[d])
    {
      g_autofree char *tail = log_tail (log);
      g_autofree char *why = NULL;

      cluster.pids[d] = 0;
      g_printerr ("%s's log:\n%s\n", daemon_names[d], tail);
      why = g_strdup_printf ("%s could not start here (exit status %d; its log is above)",
                             daemon_names[d], WIFEXITED (status) ? WEXITSTATUS (status) : -1);
      skip (why);
    }
}

/* The output of argv (owned), NULL when it cannot run or fails. */
static char *
run_out (const char *const *argv)
{
  g_autofree char *out = NULL;
  int status = -1;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &out, NULL, &status, NULL)
      || !g_spawn_check_wait_status (status, NULL))
    return NULL;
  return g_steal_pointer (&out);
}

static void
stop_at_exit (void)
{
  const char *cancel[] = { "scancel", "--partition=" NS_TEST_SLURM_PARTITION, NULL };
  g_autofree char *out = NULL;

  if (cluster.pids[SLURMCTLD] > 0)
    out = run_out (cancel);
  for (int d = N_DAEMONS - 1; d >= 0; d--)
    if (cluster.pids[d] > 0)
      {
        int status;

        kill (cluster.pids[d], SIGTERM);
        for (int i = 0; i < 100 && waitpid (cluster.pids[d], &status, WNOHANG) == 0; i++)
          g_usleep (50000);
        if (waitpid (cluster.pids[d], &status, WNOHANG) == 0)
          {
            kill (cluster.pids[d], SIGKILL);
            waitpid (cluster.pids[d], &status, 0);
          }
        cluster.pids[d] = 0;
      }
  if (cluster.dir != NULL && g_getenv ("NS_TEST_KEEP_TMP") == NULL)
    ns_test_remove_tree (cluster.dir);
}

static char *
find_daemon (const char *name)
{
  g_autofree char *sbin = g_build_filename ("/usr/sbin", name, NULL);

  if (g_file_test (sbin, G_FILE_TEST_IS_EXECUTABLE))
    return g_steal_pointer (&sbin);
  return g_find_program_in_path (name);
}

static void
write_conf (const char *path, const char *socket, const char *user)
{
  g_autofree char *conf = NULL;
  g_autoptr (GError) error = NULL;
  long cpus = sysconf (_SC_NPROCESSORS_ONLN);

  conf = g_strdup_printf (
    "ClusterName=nstest\n"
    "SlurmctldHost=localhost\n"
    "SlurmctldPort=%d\n"
    "SlurmdPort=%d\n"
    "SlurmUser=%s\n"
    "SlurmdUser=%s\n"
    "AuthType=auth/munge\n"
    "AuthInfo=socket=%s\n"
    "CredType=cred/munge\n"
    "ProctrackType=proctrack/linuxproc\n"
    "TaskPlugin=task/none\n"
    "SelectType=select/cons_tres\n"
    "SelectTypeParameters=CR_Core\n"
    "StateSaveLocation=%s/state\n"
    "SlurmdSpoolDir=%s/spool\n"
    "SlurmctldPidFile=%s/slurmctld.pid\n"
    "SlurmdPidFile=%s/slurmd.pid\n"
    "SlurmctldLogFile=%s/slurmctld.log\n"
    "SlurmdLogFile=%s/slurmd.log\n"
    "JobCompType=jobcomp/none\n"
    "AccountingStorageType=accounting_storage/none\n"
    "MpiDefault=none\n"
    "ReturnToService=2\n"
    "SchedulerParameters=sched_interval=1\n"
    "NodeName=localhost NodeAddr=127.0.0.1 CPUs=%ld State=UNKNOWN\n"
    "PartitionName=" NS_TEST_SLURM_PARTITION " Nodes=localhost Default=YES "
    "MaxTime=INFINITE State=UP\n",
    free_port (), free_port (), user, user, socket, cluster.dir, cluster.dir, cluster.dir,
    cluster.dir, cluster.dir, cluster.dir, MAX (cpus, 1));
  g_file_set_contents (path, conf, -1, &error);
  g_assert_no_error (error);
}

const char *
ns_test_slurm_start (void)
{
  g_autofree char *munged = find_daemon ("munged"), *mungekey = find_daemon ("mungekey");
  g_autofree char *slurmctld = find_daemon ("slurmctld"), *slurmd = find_daemon ("slurmd");
  g_autofree char *sinfo = g_find_program_in_path ("sinfo");
  g_autofree char *key = NULL, *socket = NULL, *conf = NULL, *mlog = NULL;
  g_autofree char *clog = NULL, *dlog = NULL, *state = NULL, *spool = NULL, *mdir = NULL;
  const char *user = g_get_user_name ();
  gint64 end;

  if (cluster.dir != NULL)
    return cluster.dir;
  if (munged == NULL || mungekey == NULL)
    skip ("munge is not installed (munged, mungekey; Debian: munge)");
  if (slurmctld == NULL || slurmd == NULL || sinfo == NULL)
    skip ("Slurm is not installed (slurmctld, slurmd, sinfo; Debian: slurm-wlm)");

  cluster.dir = g_dir_make_tmp ("neuroseg-slurm-XXXXXX", NULL);
  g_assert_nonnull (cluster.dir);
  atexit (stop_at_exit);
  /* munged wants its socket's folder reachable by everybody and the key its owner's */
  g_assert_cmpint (chmod (cluster.dir, 0755), ==, 0);
  mdir = g_build_filename (cluster.dir, "munge", NULL);
  state = g_build_filename (cluster.dir, "state", NULL);
  spool = g_build_filename (cluster.dir, "spool", NULL);
  g_assert_cmpint (g_mkdir_with_parents (mdir, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (state, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (spool, 0755), ==, 0);
  key = g_build_filename (mdir, "munge.key", NULL);
  socket = g_build_filename (mdir, "munge.socket", NULL);
  mlog = g_build_filename (cluster.dir, "munged.log", NULL);
  clog = g_build_filename (cluster.dir, "slurmctld.out", NULL);
  dlog = g_build_filename (cluster.dir, "slurmd.out", NULL);
  conf = g_build_filename (cluster.dir, "slurm.conf", NULL);

  {
    g_autofree char *keyfile = g_strconcat ("--keyfile=", key, NULL);
    const char *argv[] = { mungekey, "--create", keyfile, "--force", NULL };
    g_autofree char *err = NULL;
    int status = -1;

    if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                       NULL, &err, &status, NULL) || !g_spawn_check_wait_status (status, NULL))
      {
        g_autofree char *why = g_strdup_printf ("mungekey could not make a key: %s",
                                                err != NULL ? err : "");
        skip (why);
      }
    g_assert_cmpint (chmod (key, 0600), ==, 0);
  }
  {
    g_autofree char *sock_arg = g_strconcat ("--socket=", socket, NULL);
    g_autofree char *key_arg = g_strconcat ("--key-file=", key, NULL);
    g_autofree char *log_arg = g_strconcat ("--log-file=", mlog, NULL);
    g_autofree char *pid_arg = g_strconcat ("--pid-file=", mdir, "/munged.pid", NULL);
    g_autofree char *seed_arg = g_strconcat ("--seed-file=", mdir, "/munged.seed", NULL);
    const char *argv[] = { munged, "--foreground", "--force", sock_arg, key_arg, log_arg,
                           pid_arg, seed_arg, NULL };

    cluster.pids[MUNGED] = launch (argv, mlog);
  }
  for (int i = 0; i < 200 && !g_file_test (socket, G_FILE_TEST_EXISTS); i++)
    {
      check_alive (MUNGED, mlog);
      g_usleep (50000);
    }
  check_alive (MUNGED, mlog);
  if (!g_file_test (socket, G_FILE_TEST_EXISTS))
    g_error ("munged made no socket within 10 s: %s", log_tail (mlog));

  write_conf (conf, socket, user);
  g_setenv ("SLURM_CONF", conf, TRUE);
  {
    const char *argv[] = { slurmctld, "-D", "-i", "-f", conf, NULL };

    cluster.pids[SLURMCTLD] = launch (argv, clog);
  }
  {
    const char *argv[] = { slurmd, "-D", "-N", "localhost", "-f", conf, NULL };

    cluster.pids[SLURMD] = launch (argv, dlog);
  }

  /* ready when the node is idle */
  end = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (TRUE)
    {
      const char *argv[] = { "sinfo", "--noheader", "--format=%t", NULL };
      g_autofree char *out = run_out (argv);

      check_alive (SLURMCTLD, clog);
      check_alive (SLURMD, dlog);
      if (out != NULL && strcmp (g_strstrip (out), "idle") == 0)
        break;
      if (g_get_monotonic_time () > end)
        g_error ("the Slurm node is not idle within 60 s (sinfo says '%s'):\n%s\n%s",
                 out != NULL ? out : "nothing", log_tail (clog), log_tail (dlog));
      g_usleep (200000);
    }
  g_test_message ("Slurm cluster in %s", cluster.dir);
  return cluster.dir;
}
