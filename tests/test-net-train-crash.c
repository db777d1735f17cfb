/* SPDX-License-Identifier: MIT
 *
 * test-net-train-crash.c: `neuroseg train --resume` after a crash is exact (issue 13,
 * defect 2).
 *
 * A short run saves after every step (one step per epoch): the best model, then
 * X.last.safetensors, then the state, each through a .partial file.  The run is killed
 * with SIGKILL (NS_TEST_KILL_AT, ns-safetensors-private.h) at every point of its second
 * save: half-way through writing each file, when it is written but not renamed, and
 * right after its rename (so also between the renames of two files).  Resumed with
 * --resume, each run must end with tensors bit-identical to those of the uninterrupted
 * run, best model included, and leave no temporary file behind (nor the XXXXXX file of a
 * version-1 state that g_file_set_contents left in older builds, while files of the
 * user's that look alike stay).  Killed during the first save, before any state exists,
 * the resume refuses with a clear message.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-checkpoint.h"
#include "ns-trainer.h"
#include "ns-test-util.h"

#include <gio/gio.h>
#include <signal.h>
#include <string.h>

static const char *device;

static char *
out_path (const char *name)
{
  return g_build_filename (ns_test_tmpdir (), name, NULL);
}

/* `neuroseg train ARGS`, with NS_TEST_KILL_AT=kill_at when not NULL; returns the
 * finished process. */
static GSubprocess *
train (const char *kill_at, const char *const *args)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                                                 | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  const char *exe = g_getenv ("NEUROSEG");

  g_assert_nonnull (exe);
  g_ptr_array_add (argv, (gpointer) exe);
  g_ptr_array_add (argv, (gpointer) "train");
  for (const char *const *a = args; *a != NULL; a++)
    g_ptr_array_add (argv, (gpointer) *a);
  g_ptr_array_add (argv, NULL);
  if (kill_at != NULL)
    g_subprocess_launcher_setenv (l, "NS_TEST_KILL_AT", kill_at, TRUE);
  else
    g_subprocess_launcher_unsetenv (l, "NS_TEST_KILL_AT");
  GSubprocess *p = g_subprocess_launcher_spawnv (l, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait (p, NULL, &error));
  g_assert_no_error (error);
  return p;
}

static char *
stderr_of (GSubprocess *p)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  GInputStream *in = g_subprocess_get_stderr_pipe (p);
  bytes = g_input_stream_read_bytes (in, 1 << 16, NULL, &error);
  g_assert_no_error (error);
  return g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

/* The first run of output: the steps and the knobs that make one step an epoch. */
static GSubprocess *
start (const char *output, const char *kill_at)
{
  const char *args[] = { "--data", ns_test_sample_case (), "--crop", "32", "--batch", "1",
                         "--steps-per-epoch", "1", "--max-steps", "3", "--seed", "11",
                         "--lr", "1e-3", "--device", device, "--quiet", "-o", output, NULL };
  return train (kill_at, args);
}

static GSubprocess *
resume (const char *output)
{
  g_autofree char *last = ns_trainer_last_path (output);
  const char *args[] = { "--resume", last, "--quiet", NULL };
  return train (NULL, args);
}

static void
assert_same_tensors (const char *path_a, const char *path_b)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsBackend) be = ns_backend_new ("ref", &error);
  g_assert_no_error (error);
  g_autoptr (NsModel) a = ns_checkpoint_load (path_a, be, &error);
  g_assert_no_error (error);
  g_autoptr (NsModel) b = ns_checkpoint_load (path_b, be, &error);
  g_assert_no_error (error);
  for (int t = 0; t < ns_model_n_tensors (a); t++)
    {
      gsize n = ns_model_tensor_size (a, t);
      g_autofree float *va = g_new (float, n);
      g_autofree float *vb = g_new (float, n);
      ns_model_tensor_get (a, t, va);
      ns_model_tensor_get (b, t, vb);
      if (memcmp (va, vb, n * sizeof (float)) != 0)
        g_error ("tensor %s differs between %s and %s", ns_model_tensor_name (a, t), path_a,
                 path_b);
    }
}

/* Files in the output's folder whose names start with the output's stem. */
static GPtrArray *
files_of (const char *output)
{
  g_autofree char *dir = g_path_get_dirname (output);
  g_autofree char *base = g_path_get_basename (output);
  g_autofree char *stem = g_strndup (base, strlen (base) - strlen (".safetensors"));
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, stem) && name[strlen (stem)] == '.')
      g_ptr_array_add (names, g_strdup (name));
  return names;
}

/* The first bytes of what g_file_set_contents was writing when an older build was killed:
 * a version-1 state's header and the start of its moments. */
static void
write_version_1_state_head (const char *path)
{
  const char *header = "{\"__metadata__\":{\"format\":\"neuroseg-train-state\","
                       "\"version\":\"1\"},\"adam.m\":{\"dtype\":\"F32\","
                       "\"shape\":[1000],\"data_offsets\":[0,4000]}}";
  gsize n = strlen (header);
  g_autofree char *bytes = g_malloc0 (8 + n + 100);
  for (int i = 0; i < 8; i++)
    bytes[i] = (char) ((n >> (8 * i)) & 0xff);
  memcpy (bytes + 8, header, n);
  g_assert_true (g_file_set_contents (path, bytes, (gssize) (8 + n + 100), NULL));
}

static void
test_kill_resume (void)
{
  static const char *const points[] = {
    "best-half", "best-written", "best-renamed",
    "last-half", "last-written", "last-renamed",
    "state-half", "state-written", "state-renamed",
  };
  g_autofree char *ref = out_path ("ref.safetensors");
  g_autofree char *ref_last = ns_trainer_last_path (ref);
  g_autoptr (GSubprocess) r = start (ref, NULL);
  g_assert_cmpint (g_subprocess_get_exit_status (r), ==, 0);

  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    {
      g_autofree char *name = g_strdup_printf ("kill-%s.safetensors", points[i]);
      g_autofree char *out = out_path (name);
      g_autofree char *last = ns_trainer_last_path (out);
      g_autofree char *state = ns_trainer_state_path (last);
      g_autofree char *kill_at = g_strdup_printf ("%s:2", points[i]);

      /* killed at the point of the second save */
      g_autoptr (GSubprocess) k = start (out, kill_at);
      g_assert_true (g_subprocess_get_if_signaled (k));
      g_assert_cmpint (g_subprocess_get_term_sig (k), ==, SIGKILL);
      g_autoptr (GPtrArray) left = files_of (out);
      g_autoptr (GString) listing = g_string_new (NULL);
      for (guint f = 0; f < left->len; f++)
        g_string_append_printf (listing, " %s", (const char *) left->pdata[f]);
      g_test_message ("killed at %s:%s", kill_at, listing->str);

      /* the temporary file an older build left (a version-1 state cut short), and files
       * of the user's, one with a suffix of the same length */
      g_autofree char *old_temp = g_strconcat (state, ".Ab12Cd", NULL);
      g_autofree char *users = g_strconcat (state, ".notes", NULL);
      g_autofree char *backup = g_strconcat (state, ".backup", NULL);
      write_version_1_state_head (old_temp);
      g_assert_true (g_file_set_contents (users, "mine", -1, NULL));
      g_assert_true (g_file_set_contents (backup, "mine too", -1, NULL));

      g_autoptr (GSubprocess) res = resume (out);
      g_autofree char *err = stderr_of (res);
      g_test_message ("resumed: exit %d %s", g_subprocess_get_exit_status (res), err);
      g_assert_cmpint (g_subprocess_get_exit_status (res), ==, 0);
      assert_same_tensors (ref_last, last);
      assert_same_tensors (ref, out);

      g_autoptr (GPtrArray) after = files_of (out);
      for (guint f = 0; f < after->len; f++)
        {
          const char *n = after->pdata[f];
          g_assert_false (g_str_has_suffix (n, ".partial"));
          g_assert_false (g_str_has_suffix (n, ".Ab12Cd"));
        }
      g_assert_true (g_file_test (users, G_FILE_TEST_EXISTS));
      g_assert_true (g_file_test (backup, G_FILE_TEST_EXISTS));
      g_assert_false (g_file_test (old_temp, G_FILE_TEST_EXISTS));
    }
}

/* Killed while the first state is written: nothing to resume from, and it says so. */
static void
test_kill_first_save (void)
{
  g_autofree char *out = out_path ("first.safetensors");
  g_autoptr (GSubprocess) k = start (out, "state-half:1");
  g_assert_true (g_subprocess_get_if_signaled (k));

  g_autoptr (GSubprocess) res = resume (out);
  g_autofree char *err = stderr_of (res);
  g_test_message ("%s", err);
  g_assert_cmpint (g_subprocess_get_exit_status (res), ==, 1);
  g_assert_nonnull (strstr (err, "first.last.safetensors.state: no training state to resume "
                                 "from"));
  g_assert_cmpint (strchr (err, '\n') - err + 1, ==, (int) strlen (err));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  gboolean have_cpu = FALSE;
  for (const char *const *n = ns_backend_list_compiled (); *n != NULL; n++)
    have_cpu |= strcmp (*n, "cpu") == 0;
  device = have_cpu ? "cpu" : "ref";

  g_test_add_func ("/net/train-crash/kill-resume", test_kill_resume);
  g_test_add_func ("/net/train-crash/kill-first-save", test_kill_first_save);
  return g_test_run ();
}
