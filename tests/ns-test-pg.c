/* SPDX-License-Identifier: MIT
 *
 * ns-test-pg.c: see ns-test-pg.h.
 *
 * The server's settings: no TCP (listen_addresses empty), its socket in its own folder,
 * fsync off (a test server's data need not survive a power cut; a crash of the server
 * processes loses nothing, which the fault tests rely on: synchronous_commit stays on, so
 * a commit the client saw is in the WAL before the answer), no locale (byte order).
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-test-pg.h"

#include "ns-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ADMIN "neuroseg"

static struct
{
  char *bindir;
  char *dir;        /* the server's folder: data/, the socket, logs */
  char *data;
  uid_t uid;        /* the user the server runs as */
  gid_t gid;
  gboolean drop;    /* we are root: run it as uid/gid */
  pid_t pid;        /* the postmaster, 0 when stopped */
  int counter;
} server;

static void G_GNUC_NORETURN
skip (const char *why)
{
  g_print ("1..0 # SKIP %s\n", why);
  g_printerr ("skipped: %s\n", why);
  exit (77);
}

/* The folder of initdb and postgres. */
static char *
find_bindir (void)
{
  const char *env = g_getenv ("NS_TEST_PG_BINDIR");
  if (env != NULL && env[0] != '\0')
    return g_strdup (env);
  g_autofree char *out = NULL;
  g_autofree char *initdb = NULL;
  const char *argv[] = { "pg_config", "--bindir", NULL };
  if (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                    NULL, NULL, &out, NULL, NULL, NULL) && out != NULL)
    {
      g_strstrip (out);
      initdb = g_build_filename (out, "initdb", NULL);
      if (g_file_test (initdb, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&out);
    }
  /* Debian: /usr/lib/postgresql/<major>/bin, the newest. */
  g_autoptr (GDir) d = g_dir_open ("/usr/lib/postgresql", 0, NULL);
  const char *name;
  int best = -1;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *cand = g_build_filename ("/usr/lib/postgresql", name, "bin", "initdb",
                                                NULL);
      int major = atoi (name);
      if (major > best && g_file_test (cand, G_FILE_TEST_IS_EXECUTABLE))
        best = major;
    }
  if (best < 0)
    return NULL;
  g_autofree char *major = g_strdup_printf ("%d", best);
  return g_build_filename ("/usr/lib/postgresql", major, "bin", NULL);
}

static void
child_become_server_user (void)
{
  if (server.drop && (setgroups (0, NULL) != 0 || setgid (server.gid) != 0
                      || setuid (server.uid) != 0))
    {
      fprintf (stderr, "cannot become uid %d: %s\n", (int) server.uid, g_strerror (errno));
      _exit (126);
    }
}

/* Runs argv (a server program) as the server's user, output into log; the exit status. */
static int
run_as_server (const char *const *argv, const char *log)
{
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      child_become_server_user ();
      int fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (fd >= 0)
        {
          dup2 (fd, 1);
          dup2 (fd, 2);
        }
      execv (argv[0], (char **) argv);
      _exit (127);
    }
  int status;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static char *
log_tail (const char *log)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (log, &text, NULL, NULL))
    return g_strdup ("(no log)");
  gsize len = strlen (text);
  return g_strdup (len > 2000 ? text + len - 2000 : text);
}

static char *
admin_conninfo (const char *dbname)
{
  return g_strdup_printf ("host=%s user=" ADMIN " dbname=%s", server.dir, dbname);
}

static void
launch (void)
{
  g_autofree char *postgres = g_build_filename (server.bindir, "postgres", NULL);
  g_autofree char *log = g_build_filename (server.dir, "server.log", NULL);
  g_autofree char *sockets = g_strdup_printf ("unix_socket_directories=%s", server.dir);
  const char *const argv[] = {
    postgres, "-D", server.data, "-c", "listen_addresses=", "-c", sockets,
    "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=80",
    "-c", "shared_buffers=16MB", "-c", "unix_socket_permissions=0777",
    "-c", "log_min_messages=warning", NULL
  };
  pid_t parent = getpid ();
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      child_become_server_user ();
      /* After the change of user, which clears it: when the test program dies, the
       * postmaster gets SIGQUIT (immediate shutdown) and takes its children along. */
      prctl (PR_SET_PDEATHSIG, SIGQUIT);
      if (getppid () != parent)
        _exit (0);
      int fd = open (log, O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (fd >= 0)
        {
          dup2 (fd, 1);
          dup2 (fd, 2);
        }
      setsid ();
      execv (argv[0], (char **) argv);
      _exit (127);
    }
  server.pid = pid;

  g_autofree char *info = admin_conninfo ("postgres");
  for (int i = 0; i < 1200; i++)
    {
      if (PQping (info) == PQPING_OK)
        return;
      int status;
      if (waitpid (pid, &status, WNOHANG) == pid)
        {
          server.pid = 0;
          g_autofree char *tail = log_tail (log);
          g_error ("the PostgreSQL server stopped while starting: %s", tail);
        }
      g_usleep (50000);
    }
  g_autofree char *tail = log_tail (log);
  g_error ("the PostgreSQL server did not answer within 60 s: %s", tail);
}

static void
stop_at_exit (void)
{
  if (server.pid > 0)
    ns_test_pg_stop (TRUE);
  if (server.dir != NULL && g_getenv ("NS_TEST_KEEP_TMP") == NULL)
    ns_test_remove_tree (server.dir);
}

void
ns_test_pg_start (void)
{
  if (server.dir != NULL)
    return;
  server.bindir = find_bindir ();
  if (server.bindir == NULL)
    skip ("no PostgreSQL server programs (initdb, postgres; Debian: postgresql)");
  server.uid = getuid ();
  server.gid = getgid ();
  if (geteuid () == 0)
    {
      /* PostgreSQL never runs as root. */
      struct passwd *pw = getpwnam ("nobody");
      if (pw == NULL)
        skip ("running as root and there is no user \"nobody\" to run PostgreSQL as");
      server.uid = pw->pw_uid;
      server.gid = pw->pw_gid;
      server.drop = TRUE;
    }

  /* Under /tmp when the server runs as another user: it must reach its folder, and
   * $TMPDIR may be private. */
  g_autofree char *tmpl = g_build_filename (server.drop ? "/tmp" : g_get_tmp_dir (),
                                            "neuroseg-pg-XXXXXX", NULL);
  server.dir = g_mkdtemp (g_steal_pointer (&tmpl));
  g_assert_nonnull (server.dir);
  atexit (stop_at_exit);
  server.data = g_build_filename (server.dir, "data", NULL);
  g_assert_cmpint (chmod (server.dir, 0700), ==, 0);
  if (server.drop)
    g_assert_cmpint (chown (server.dir, server.uid, server.gid), ==, 0);

  g_autofree char *initdb = g_build_filename (server.bindir, "initdb", NULL);
  g_autofree char *log = g_build_filename (server.dir, "initdb.log", NULL);
  const char *const argv[] = { initdb, "-D", server.data, "-U", ADMIN, "--auth=trust",
                               "--no-locale", "-E", "UTF8", "--no-sync", NULL };
  int rc = run_as_server (argv, log);
  if (rc != 0)
    {
      g_autofree char *tail = log_tail (log);
      g_error ("initdb failed (%d): %s", rc, tail);
    }
  launch ();
}

void
ns_test_pg_stop (gboolean immediate)
{
  g_assert_cmpint (server.pid, >, 0);
  /* SIGINT: fast shutdown (clients are told); SIGQUIT: immediate (as a crash). */
  g_assert_cmpint (kill (server.pid, immediate ? SIGQUIT : SIGINT), ==, 0);
  int status;
  g_assert_cmpint (waitpid (server.pid, &status, 0), ==, server.pid);
  server.pid = 0;
}

void
ns_test_pg_restart (void)
{
  g_assert_cmpint (server.pid, ==, 0);
  launch ();
}

static PGconn *
connect_checked (const char *conninfo)
{
  PGconn *c = PQconnectdb (conninfo);
  if (PQstatus (c) != CONNECTION_OK)
    g_error ("%s: %s", conninfo, PQerrorMessage (c));
  return c;
}

char *
ns_test_pg_fresh_location (void)
{
  ns_test_pg_start ();
  g_autofree char *info = admin_conninfo ("postgres");
  PGconn *c = connect_checked (info);
  g_autofree char *name = g_strdup_printf ("t%d", ++server.counter);
  g_autofree char *sql = g_strdup_printf ("CREATE DATABASE %s", name);
  PGresult *res = PQexec (c, sql);
  if (PQresultStatus (res) != PGRES_COMMAND_OK)
    g_error ("%s: %s", sql, PQresultErrorMessage (res));
  PQclear (res);
  PQfinish (c);
  return g_strdup_printf ("postgresql:///%s?host=%s&user=" ADMIN, name, server.dir);
}

char *
ns_test_pg_location_as (const char *location, const char *user)
{
  const char *q = strstr (location, "&user=");
  g_assert_nonnull (q);
  g_autofree char *head = g_strndup (location, q - location);
  return g_strdup_printf ("%s&user=%s", head, user != NULL ? user : ADMIN);
}

gint64
ns_test_pg_sql_int (const char *location, const char *sql)
{
  PGconn *c = connect_checked (location);
  PGresult *res = PQexec (c, sql);
  if (PQresultStatus (res) != PGRES_TUPLES_OK || PQntuples (res) != 1)
    g_error ("%s: %s", sql, PQresultErrorMessage (res));
  gint64 v = g_ascii_strtoll (PQgetvalue (res, 0, 0), NULL, 10);
  PQclear (res);
  PQfinish (c);
  return v;
}

void
ns_test_pg_sql_exec (const char *location, const char *sql)
{
  PGconn *c = connect_checked (location);
  PGresult *res = PQexec (c, sql);
  ExecStatusType s = PQresultStatus (res);
  if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
    g_error ("%s: %s", sql, PQresultErrorMessage (res));
  PQclear (res);
  PQfinish (c);
}
