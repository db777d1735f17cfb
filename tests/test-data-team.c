/* SPDX-License-Identifier: MIT
 *
 * test-data-team.c: what a team needs from the queue (issue 19), on SQLite and
 * (NS_TEST_DB=postgresql) on a real PostgreSQL server: claims with a lease and take-over
 * (a correction is never added over someone else's claim), a claim lost when its holder is
 * killed and the lease runs out, reviews, stored masks, the watch source the UI follows,
 * four processes working at once (an integrity check of everything they did), and, on
 * the server, the server going away while a client works.
 */
#include "ns-test-queue.h"
#include "ns-test-pg.h"
#include "ns-test-util.h"

#include "ns-data-error.h"
#include "ns-db-watch.h"
#include "ns-nifti.h"
#include "ns-queue.h"
#include "ns-queue-keeper.h"
#include "ns-registry.h"

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static NsQueueAnnotation
annotation (const char *mask, const char *who, const char *token)
{
  NsQueueAnnotation a = { mask, NULL, 0, who, NAN, token };
  return a;
}

static char *
make_mask (int lo)
{
  char *mask = ns_test_fresh_path ("mask.nii.gz");
  ns_test_write_mask (mask, lo, 10, FALSE);
  return mask;
}

/* ---- claims ----------------------------------------------------------------------------- */

static void
test_claims (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (&path);
  gint64 c = ns_test_queued_case (q, "Claimed");
  g_autofree char *mask = make_mask (5);

  g_autoptr (NsQueueClaim) ann = ns_queue_claim (q, c, "ann", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ann->who, ==, "ann");
  g_assert_cmpint (ann->case_id, ==, c);

  /* Others see it taken, and can neither claim it nor add a correction over it. */
  g_assert_null (ns_queue_claim (q, c, "bob", 0, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
  g_assert_true (g_str_has_prefix (error->message, ns_db_get_path (q)));
  g_assert_nonnull (strstr (error->message, "claimed by ann"));
  g_assert_nonnull (strstr (error->message, "Claimed"));
  g_clear_error (&error);
  g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, "Claimed", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (e->claimed_by, ==, "ann");
  g_assert_cmpstr (e->claim_expires, ==, ann->expires);
  NsQueueAnnotation bob_fix = annotation (mask, "bob", NULL);
  g_assert_cmpint (ns_queue_add (q, e->path, &bob_fix, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "not overwritten"));
  g_clear_error (&error);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM annotations"), ==, 1);

  /* The holder corrects under the claim and renews it. */
  NsQueueAnnotation ann_fix = annotation (mask, "ann", ann->token);
  g_assert_cmpint (ns_queue_add (q, e->path, &ann_fix, &error), ==, c);
  g_assert_no_error (error);
  gint64 before = ann->expires_ms;
  g_assert_true (ns_queue_renew_claim (q, ann, 3600, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ann->expires_ms, >, before);

  /* An explicit take-over; ann's claim is lost and says to whom. */
  g_autoptr (NsQueueClaim) bob = ns_queue_take_over (q, c, "bob", 0, "ann is away", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (bob->who, ==, "bob");
  g_assert_false (ns_queue_renew_claim (q, ann, 0, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "no longer yours"));
  g_assert_nonnull (strstr (error->message, "bob"));
  g_clear_error (&error);
  g_assert_cmpint (ns_queue_add (q, e->path, &ann_fix, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_false (ns_queue_release_claim (q, ann, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM annotations"), ==, 2);

  g_autoptr (GPtrArray) held = ns_queue_list_claims (q, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (held->len, ==, 1);
  g_assert_cmpstr (((NsQueueClaim *) held->pdata[0])->token, ==, bob->token);

  /* Released: free for anyone, with or without a claim. */
  g_assert_true (ns_queue_release_claim (q, bob, &error));
  g_assert_no_error (error);
  g_assert_null (ns_queue_dup_claim (q, c, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ns_queue_add (q, e->path, &bob_fix, &error), ==, c);
  g_assert_no_error (error);

  g_autoptr (GPtrArray) h = ns_queue_list_claim_history (q, c, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (h->len, ==, 3);
  NsQueueClaimEvent *ev0 = h->pdata[0], *ev1 = h->pdata[1], *ev2 = h->pdata[2];
  g_assert_cmpstr (ev0->event, ==, "claim");
  g_assert_cmpstr (ev0->who, ==, "ann");
  g_assert_cmpstr (ev1->event, ==, "take-over");
  g_assert_cmpstr (ev1->who, ==, "bob");
  g_assert_nonnull (strstr (ev1->note, "from ann"));
  g_assert_nonnull (strstr (ev1->note, "ann is away"));
  g_assert_cmpstr (ev2->event, ==, "release");

  /* Not removed under someone's claim; once free, removed with its claims and masks. */
  g_autoptr (NsQueueClaim) again = ns_queue_claim (q, c, "ann", 0, &error);
  g_assert_no_error (error);
  g_assert_false (ns_queue_remove (q, c, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "claimed by ann"));
  g_assert_nonnull (strstr (error->message, "before removing it"));
  g_clear_error (&error);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM cases"), ==, 1);
  g_assert_true (ns_queue_release_claim (q, again, &error));
  g_assert_true (ns_queue_remove (q, c, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM claim_history"), ==, 0);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM annotation_masks"), ==, 0);
}

/* A workstation killed (SIGKILL) while holding a claim: the case stays taken until the
 * lease runs out, then anyone may claim it (recorded) and the dead session's token is
 * refused.  The lease is run out by moving it into the past (no waiting); a real short
 * lease is then seen to run out on the database's clock. */
static void
test_lease_expiry (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (&path);
  gint64 c = ns_test_queued_case (q, "Leased");
  int p[2];
  g_assert_cmpint (pipe (p), ==, 0);
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      close (p[0]);
      NsDb *own = ns_db_open (path, NULL);
      NsQueueClaim *cl = own != NULL ? ns_queue_claim (own, c, "dead", 0, NULL) : NULL;
      if (cl == NULL)
        _exit (1);
      char token[64] = { 0 };
      g_strlcpy (token, cl->token, sizeof token);
      if (write (p[1], token, sizeof token) != sizeof token)
        _exit (2);
      for (;;)
        pause ();
    }
  close (p[1]);
  char token[64];
  g_assert_cmpint (read (p[0], token, sizeof token), ==, sizeof token);
  close (p[0]);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  int status;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFSIGNALED (status));

  /* Still taken: the lease holds. */
  g_assert_null (ns_queue_claim (q, c, "alive", 0, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
  g_clear_error (&error);
  ns_test_sql_exec (path, "UPDATE claims SET lease_until = lease_until - 3600000");
  g_assert_null (ns_queue_dup_claim (q, c, &error));
  g_assert_no_error (error);
  g_autoptr (NsQueueClaim) alive = ns_queue_claim (q, c, "alive", 0, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) h = ns_queue_list_claim_history (q, c, &error);
  g_assert_cmpuint (h->len, ==, 2);
  NsQueueClaimEvent *ev = h->pdata[1];
  g_assert_cmpstr (ev->event, ==, "claim");
  g_assert_nonnull (strstr (ev->note, "the lease of dead"));
  g_assert_nonnull (strstr (ev->note, "had run out"));
  /* The dead session's token is worthless now. */
  g_autofree char *mask = make_mask (5);
  g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, "Leased", &error);
  NsQueueAnnotation late = annotation (mask, "dead", token);
  g_assert_cmpint (ns_queue_add (q, e->path, &late, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "now claimed by alive"));
  g_clear_error (&error);
  g_assert_true (ns_queue_release_claim (q, alive, &error));

  /* A one-second lease runs out by itself. */
  g_autoptr (NsQueueClaim) brief = ns_queue_claim (q, c, "brief", 1, &error);
  g_assert_no_error (error);
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  NsQueueClaim *still;
  while ((still = ns_queue_dup_claim (q, c, &error)) != NULL
         && g_get_monotonic_time () < deadline)
    {
      ns_queue_claim_free (still);
      g_usleep (100000);
    }
  g_assert_no_error (error);
  g_assert_null (still);
  /* Nobody claimed it since: its holder may still renew it. */
  g_assert_true (ns_queue_renew_claim (q, brief, 60, &error));
  g_assert_no_error (error);
}

/* ---- reviews ------------------------------------------------------------------------------ */

static void
test_review (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (NULL);
  gint64 c = ns_test_queued_case (q, "Reviewed");   /* corrected by "tester" */

  /* The author is no second reader. */
  g_assert_false (ns_queue_review (q, c, 0, NS_QUEUE_REVIEW_ACCEPTED, "tester", NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
  g_clear_error (&error);
  /* Sending back says why. */
  g_assert_false (ns_queue_review (q, c, 0, NS_QUEUE_REVIEW_SENT_BACK, "rev", NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_true (ns_queue_review (q, c, 0, NS_QUEUE_REVIEW_SENT_BACK, "rev", "edema missed",
                                  &error));
  g_assert_no_error (error);
  g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, "Reviewed", &error);
  g_assert_cmpint (e->review, ==, NS_QUEUE_REVIEW_SENT_BACK);
  g_assert_cmpstr (e->reviewer, ==, "rev");
  g_assert_cmpstr (e->review_note, ==, "edema missed");
  gint64 first = e->annotation_id;

  /* A new correction starts unreviewed; a verdict on the old one is refused. */
  g_autofree char *mask = make_mask (3);
  NsQueueAnnotation again = annotation (mask, "tester", NULL);
  g_assert_cmpint (ns_queue_add (q, e->path, &again, &error), ==, c);
  g_autoptr (NsQueueEntry) e2 = ns_queue_dup_entry (q, "Reviewed", &error);
  g_assert_cmpint (e2->review, ==, NS_QUEUE_REVIEW_NONE);
  g_assert_false (ns_queue_review (q, c, first, NS_QUEUE_REVIEW_ACCEPTED, "rev", NULL,
                                   &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
  g_clear_error (&error);
  g_assert_true (ns_queue_review (q, c, e2->annotation_id, NS_QUEUE_REVIEW_ACCEPTED, "rev",
                                  NULL, &error));
  g_assert_no_error (error);
  g_autoptr (GPtrArray) all = ns_queue_list_reviews (q, c, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 2);
  g_assert_cmpint (((NsQueueReviewItem *) all->pdata[0])->annotation_id, ==, first);
  g_assert_cmpint (((NsQueueReviewItem *) all->pdata[1])->verdict, ==,
                   NS_QUEUE_REVIEW_ACCEPTED);
}

/* ---- stored masks ----------------------------------------------------------------------- */

static void
test_stored_mask (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (NULL);
  ns_test_queued_case (q, "Stored");
  g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, "Stored", &error);
  g_assert_nonnull (e->mask_sha256);
  g_autoptr (NsVolume) want = ns_nifti_read (e->mask_path, &error);
  g_assert_no_error (error);

  /* Written elsewhere from the database alone: the same labels; never over a file. */
  g_autofree char *out = ns_test_fresh_path ("from-db.nii.gz");
  g_assert_true (ns_queue_write_mask (q, e->annotation_id, out, &error));
  g_assert_no_error (error);
  g_autoptr (NsVolume) got = ns_nifti_read (out, &error);
  g_assert_no_error (error);
  g_assert_cmpint (got->storage, ==, want->storage);
  for (int i = 0; i < NS_TEST_NVOX; i++)
    g_assert_cmpfloat (ns_volume_get_value (got, i), ==, ns_volume_get_value (want, i));
  g_autoptr (NsLabelMap) map = ns_queue_dup_mask (q, e->annotation_id, &error);
  g_assert_no_error (error);
  for (int i = 0; i < NS_TEST_NVOX; i++)
    g_assert_cmpint (map->labels[i], ==, (int) ns_volume_get_value (want, i));
  g_autofree char *sum = ns_test_file_sum (out);
  g_assert_true (ns_queue_verify_case_files (e, &error));
  g_assert_no_error (error);
  g_assert_false (ns_queue_write_mask (q, e->annotation_id, out, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);
  g_autofree char *sum_after = ns_test_file_sum (out);
  g_assert_cmpstr (sum, ==, sum_after);
  g_assert_false (ns_queue_write_mask (q, e->annotation_id + 1000, out, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* The mask is read once, as a regular file: a FIFO is refused (never waited on). */
  g_autofree char *fifo = ns_test_fresh_path ("mask.nii.gz");
  g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
  NsQueueAnnotation a = annotation (fifo, "tester", NULL);
  g_assert_cmpint (ns_queue_add (q, e->path, &a, &error), ==, 0);
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, fifo));
  g_assert_nonnull (strstr (error->message, "FIFO"));
}

/* ---- watching ------------------------------------------------------------------------------ */

static gboolean
changed_cb (NsDbChanges changes, gpointer user_data)
{
  *(guint *) user_data |= changes;
  return G_SOURCE_CONTINUE;
}

/* Iterates ctx until *flags has want (or, want 0, the source watches), 60 s at most. */
static void
wait_for (GMainContext *ctx, GSource *s, guint *flags, guint want)
{
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline
         && (want != 0 ? (*flags & want) != want : !ns_db_watch_source_is_watching (s, NULL)))
    g_main_context_iteration (ctx, TRUE);
  if (want != 0)
    g_assert_cmphex (*flags & want, ==, want);
  else
    g_assert_true (ns_db_watch_source_is_watching (s, NULL));
}

static void
test_watch (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GMainContext) ctx = g_main_context_new ();
  guint flags = 0;

  /* Before the database exists (SQLite): waited for, saying why. */
  g_autofree char *location = ns_test_fresh_location ("watched.db");
  GSource *s = ns_db_watch_source_new (location, 50);
  g_source_set_callback (s, G_SOURCE_FUNC (changed_cb), &flags, NULL);
  g_source_attach (s, ctx);
  if (!ns_test_db_is_server ())
    {
      g_main_context_iteration (ctx, FALSE);
      g_autofree char *why = NULL;
      g_assert_false (ns_db_watch_source_is_watching (s, &why));
      g_assert_nonnull (why);
    }
  g_autoptr (NsDb) q = ns_db_open (location, &error);
  g_assert_no_error (error);
  wait_for (ctx, s, &flags, 0);
  g_assert_cmphex (flags, ==, 0);

  /* Another handle (another workstation) adds and claims. */
  gint64 c = ns_test_queued_case (q, "Watched");
  wait_for (ctx, s, &flags, NS_DB_CHANGES_QUEUE);
  flags = 0;
  g_autoptr (NsQueueClaim) cl = ns_queue_claim (q, c, "ann", 0, &error);
  g_assert_no_error (error);
  wait_for (ctx, s, &flags, NS_DB_CHANGES_QUEUE);
  g_assert_cmphex (flags & NS_DB_CHANGES_REGISTRY, ==, 0);
  /* A model registered: the Models window's change. */
  flags = 0;
  g_autofree char *model = ns_test_fake_model ("watched model");
  NsRegistryModelInfo info = { model, "mobilenetv2-unet", NS_REGISTRY_NONE, NULL, 0, NULL };
  g_assert_cmpint (ns_registry_register_model (q, &info, &error), ==, 1);
  g_assert_no_error (error);
  wait_for (ctx, s, &flags, NS_DB_CHANGES_REGISTRY);

  if (ns_test_db_is_server ())
    {
      /* The server restarts: the watch connects again and misses nothing. */
      ns_test_pg_stop (FALSE);
      ns_test_pg_restart ();
      flags = 0;
      g_assert_true (ns_queue_release_claim (q, cl, &error));
      g_assert_no_error (error);
      wait_for (ctx, s, &flags, NS_DB_CHANGES_QUEUE);
    }
  g_source_destroy (s);
  g_source_unref (s);
}

/* ---- four workstations at once -------------------------------------------------------------- */

#define N_WORKERS 4
#define N_OPS 50
#define N_CASES 3

typedef struct
{
  gint64 claims, refused, adds, releases, reviews;
} Tally;

/* Child: N_OPS operations on the cases, as workstation w; what succeeded is written to fd. */
static int
team_child (const char *path, int w, const gint64 *cases, const char *const *case_paths,
            const char *mask, int fd)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_db_open (path, &error);
  if (q == NULL)
    {
      g_printerr ("worker %d: %s\n", w, error->message);
      return 1;
    }
  g_autoptr (GRand) rand = g_rand_new_with_seed (w + 1);
  g_autofree char *who = g_strdup_printf ("ws%d", w);
  g_autofree char *reviewer = g_strdup_printf ("reviewer%d", w);
  NsQueueClaim *held = NULL;
  int held_at = 0;
  Tally t = { 0 };

  for (int op = 0; op < N_OPS; op++)
    {
      int k = g_rand_int_range (rand, 0, N_CASES);
      gboolean ok = TRUE;
      if (held == NULL && g_rand_int_range (rand, 0, 4) == 0)
        {
          /* Review someone's latest correction (refused when it is one's own). */
          ok = ns_queue_review (q, cases[k], 0, NS_QUEUE_REVIEW_ACCEPTED, reviewer, NULL,
                                &error);
          t.reviews += ok;
        }
      else if (held == NULL)
        {
          held = ns_queue_claim (q, cases[k], who, 0, &error);
          ok = held != NULL;
          held_at = k;
          t.claims += ok;
        }
      else if (g_rand_boolean (rand))
        {
          NsQueueAnnotation a = annotation (mask, who, held->token);
          ok = ns_queue_add (q, case_paths[held_at], &a, &error) == cases[held_at];
          t.adds += ok;
        }
      else
        {
          ok = ns_queue_release_claim (q, held, &error);
          g_clear_pointer (&held, ns_queue_claim_free);
          t.releases += ok;
        }
      if (!ok)
        {
          /* Only a refusal (taken, or a review of one's own) is expected. */
          if (!g_error_matches (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED))
            {
              g_printerr ("worker %d op %d: %s\n", w, op, error->message);
              return 2;
            }
          t.refused++;
          g_clear_error (&error);
        }
    }
  if (held != NULL)
    {
      if (!ns_queue_release_claim (q, held, &error))
        {
          g_printerr ("worker %d: %s\n", w, error->message);
          return 3;
        }
      t.releases++;
      ns_queue_claim_free (held);
    }
  return write (fd, &t, sizeof t) == sizeof t ? 0 : 4;
}

static void
test_concurrency (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  gint64 cases[N_CASES];
  char *case_paths[N_CASES + 1] = { NULL };
  g_autofree char *mask = make_mask (4);
  {
    g_autoptr (NsDb) q = ns_test_open_fresh_db (&path);
    for (int k = 0; k < N_CASES; k++)
      {
        g_autofree char *id = g_strdup_printf ("Team%d", k);
        cases[k] = ns_test_queued_case (q, id);
        g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, id, &error);
        g_assert_no_error (error);
        case_paths[k] = g_strdup (e->path);
      }
  }
  int sync_pipe[2], out[2];
  pid_t pids[N_WORKERS];
  g_assert_cmpint (pipe (sync_pipe), ==, 0);
  g_assert_cmpint (pipe (out), ==, 0);
  for (int w = 0; w < N_WORKERS; w++)
    {
      pids[w] = fork ();
      g_assert_cmpint (pids[w], >=, 0);
      if (pids[w] == 0)
        {
          char ch;
          close (sync_pipe[1]);
          close (out[0]);
          while (read (sync_pipe[0], &ch, 1) > 0)
            ;
          _exit (team_child (path, w, cases, (const char *const *) case_paths, mask, out[1]));
        }
    }
  close (sync_pipe[0]);
  close (sync_pipe[1]);
  close (out[1]);
  Tally sum = { 0 };
  for (int w = 0; w < N_WORKERS; w++)
    {
      int status;
      g_assert_cmpint (waitpid (pids[w], &status, 0), ==, pids[w]);
      g_assert_true (WIFEXITED (status));
      g_assert_cmpint (WEXITSTATUS (status), ==, 0);
      Tally t;
      g_assert_cmpint (read (out[0], &t, sizeof t), ==, sizeof t);
      sum.claims += t.claims;
      sum.refused += t.refused;
      sum.adds += t.adds;
      sum.releases += t.releases;
      sum.reviews += t.reviews;
    }
  close (out[0]);
  for (int k = 0; k < N_CASES; k++)
    g_free (case_paths[k]);
  g_test_message ("%d workers x %d ops: %" G_GINT64_FORMAT " claims, %" G_GINT64_FORMAT
                  " corrections, %" G_GINT64_FORMAT " releases, %" G_GINT64_FORMAT
                  " reviews, %" G_GINT64_FORMAT " refused", N_WORKERS, N_OPS, sum.claims,
                  sum.adds, sum.releases, sum.reviews, sum.refused);
  g_assert_cmpint (sum.claims, >, 0);
  g_assert_cmpint (sum.refused, >, 0);

  /* Every operation that succeeded happened once; none that failed happened. */
  g_autoptr (NsDb) q = ns_db_open (path, &error);
  g_assert_no_error (error);
  g_assert_true (ns_db_check_integrity (q, &error));
  g_assert_no_error (error);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM claim_history WHERE event = "
                                    "'claim'"), ==, sum.claims);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM claim_history WHERE event = "
                                    "'release'"), ==, sum.releases);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM claim_history WHERE event = "
                                    "'take-over'"), ==, 0);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM annotations"), ==,
                   N_CASES + sum.adds);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM annotation_masks"), ==,
                   N_CASES + sum.adds);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM reviews"), ==, sum.reviews);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM claims"), ==, 0);

  /* Two workstations never held a case at once: replayed in order, every claim finds the
   * case free and every release is by its holder. */
  for (int k = 0; k < N_CASES; k++)
    {
      g_autoptr (GPtrArray) h = ns_queue_list_claim_history (q, cases[k], &error);
      g_assert_no_error (error);
      const char *holder = NULL;
      for (guint i = 0; i < h->len; i++)
        {
          NsQueueClaimEvent *ev = h->pdata[i];
          if (g_str_equal (ev->event, "claim"))
            {
              g_assert_null (holder);
              holder = ev->token;
            }
          else
            {
              g_assert_cmpstr (ev->event, ==, "release");
              g_assert_cmpstr (ev->token, ==, holder);
              holder = NULL;
            }
        }
      g_assert_null (holder);
    }
}

/* ---- the server goes away (PostgreSQL) ----------------------------------------------------- */

/* Child: claims and releases the case until told to stop (a byte on stop), reporting each
 * completed pair on fd; the server may vanish meanwhile (the writes retry). */
static int
outage_child (const char *path, gint64 c, int fd, int stop)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_db_open (path, &error);
  if (q == NULL)
    {
      g_printerr ("outage child: %s\n", error->message);
      return 1;
    }
  ns_db_set_retry_window (q, 60000);
  fcntl (stop, F_SETFL, O_NONBLOCK);
  for (gint64 n = 1;; n++)
    {
      char ch;
      if (read (stop, &ch, 1) == 1)
        return 0;
      g_autoptr (NsQueueClaim) cl = ns_queue_claim (q, c, "steady", 0, &error);
      if (cl == NULL || !ns_queue_release_claim (q, cl, &error))
        {
          g_printerr ("outage child: %s\n", error->message);
          return 2;
        }
      if (write (fd, &n, sizeof n) != sizeof n)
        return 3;
    }
}

static void
test_server_outage (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (&path);
  gint64 c = ns_test_queued_case (q, "Outage");

  /* Gone: a clear refusal once the retry window is over, nothing changed. */
  ns_db_set_retry_window (q, 1500);
  ns_test_pg_stop (FALSE);
  g_assert_null (ns_queue_claim (q, c, "ann", 0, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_UNAVAILABLE);
  g_assert_true (g_str_has_prefix (error->message, ns_db_get_path (q)));
  g_assert_nonnull (strstr (error->message, "nothing was changed"));
  g_test_message ("server gone: %s", error->message);
  g_clear_error (&error);
  ns_test_pg_restart ();
  /* Back: the same handle works again. */
  g_autoptr (NsQueueClaim) cl = ns_queue_claim (q, c, "ann", 0, &error);
  g_assert_no_error (error);
  g_assert_true (ns_queue_release_claim (q, cl, &error));
  g_assert_no_error (error);

  /* A client working through a crash of the server (immediate stop) and its restart:
   * every pair it completed is recorded once, nothing half-done. */
  int rep[2], stop[2];
  g_assert_cmpint (pipe (rep), ==, 0);
  g_assert_cmpint (pipe (stop), ==, 0);
  pid_t pid = fork ();
  g_assert_cmpint (pid, >=, 0);
  if (pid == 0)
    {
      close (rep[0]);
      close (stop[1]);
      _exit (outage_child (path, c, rep[1], stop[0]));
    }
  close (rep[1]);
  close (stop[0]);
  gint64 n = 0, last = 0;
  while (last < 20 && read (rep[0], &n, sizeof n) == sizeof n)
    last = n;
  ns_test_pg_stop (TRUE);
  g_usleep (G_USEC_PER_SEC / 2);
  ns_test_pg_restart ();
  gint64 resumed = last;
  while (last < resumed + 20 && read (rep[0], &n, sizeof n) == sizeof n)
    last = n;
  g_assert_cmpint (write (stop[1], "x", 1), ==, 1);
  while (read (rep[0], &n, sizeof n) == sizeof n)
    last = n;
  int status;
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  close (rep[0]);
  close (stop[1]);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM claim_history WHERE who = "
                                    "'steady' AND event = 'claim'"), ==, last);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM claim_history WHERE who = "
                                    "'steady' AND event = 'release'"), ==, last);
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM claims"), ==, 0);
}

/* ---- the roles of a team (PostgreSQL) ------------------------------------------------------ */

/* The owner sets the roles up (ns_db_setup_team); a member (neuroseg_team) works on the
 * queue, a reader (neuroseg_reader) reads it and is refused a change, saying why; on
 * SQLite the call is refused. */
static void
test_roles (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr (NsDb) owner = ns_test_open_fresh_db (&path);
  gint64 c = ns_test_queued_case (owner, "Roles");
  if (!ns_test_db_is_server ())
    {
      g_assert_false (ns_db_setup_team (owner, &error));
      g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
      return;
    }
  g_assert_true (ns_db_setup_team (owner, &error));
  g_assert_no_error (error);
  /* Twice is harmless (a later migration's tables are granted too). */
  g_assert_true (ns_db_setup_team (owner, &error));
  g_assert_no_error (error);
  ns_test_pg_sql_exec (path, "CREATE ROLE member LOGIN; GRANT neuroseg_team TO member; "
                             "CREATE ROLE viewer LOGIN; GRANT neuroseg_reader TO viewer");

  g_autofree char *as_member = ns_test_pg_location_as (path, "member");
  g_autoptr (NsDb) m = ns_db_open (as_member, &error);
  g_assert_no_error (error);
  g_autoptr (NsQueueClaim) cl = ns_queue_claim (m, c, "member", 0, &error);
  g_assert_no_error (error);
  g_assert_true (ns_queue_review (m, c, 0, NS_QUEUE_REVIEW_ACCEPTED, "member", NULL, &error));
  g_assert_no_error (error);
  g_assert_true (ns_queue_release_claim (m, cl, &error));
  g_assert_no_error (error);

  g_autofree char *as_viewer = ns_test_pg_location_as (path, "viewer");
  g_autoptr (NsDb) v = ns_db_open_readonly (as_viewer, &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) all = ns_queue_list (v, NS_QUEUE_SORT_ADDED, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 1);
  g_autoptr (NsDb) vw = ns_db_open (as_viewer, &error);
  if (vw != NULL)
    {
      ns_db_set_retry_window (vw, 0);
      g_assert_null (ns_queue_claim (vw, c, "viewer", 0, &error));
    }
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, "postgresql://"));
  g_assert_nonnull (strstr (error->message, "permission denied"));
  g_test_message ("a reader's write: %s", error->message);
}

/* ---- keeping a claim ----------------------------------------------------------------------- */

static void
lost_cb (const char *why, gpointer user_data)
{
  char **out = user_data;
  g_assert_null (*out);
  *out = g_strdup (why);
}

/* The keeper renews a claim whose lease ran out (nobody claimed the case meanwhile) and
 * reports the claim lost, once, in the caller's main context when it is taken over. */
static void
test_keeper (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (&path);
  gint64 c = ns_test_queued_case (q, "Kept");
  g_autoptr (NsQueueClaim) cl = ns_queue_claim (q, c, "ann", 3, &error);
  g_assert_no_error (error);
  g_autofree char *why = NULL;
  NsQueueClaimKeeper *k = ns_queue_claim_keeper_new (path, cl, 3, lost_cb, &why);

  ns_test_sql_exec (path, "UPDATE claims SET lease_until = 0");
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  NsQueueClaim *now = NULL;
  while ((now = ns_queue_dup_claim (q, c, &error)) == NULL
         && g_get_monotonic_time () < deadline)
    g_usleep (50000);
  g_assert_no_error (error);
  g_assert_nonnull (now);
  g_assert_cmpstr (now->token, ==, cl->token);
  ns_queue_claim_free (now);

  g_autoptr (NsQueueClaim) bob = ns_queue_take_over (q, c, "bob", 0, NULL, &error);
  g_assert_no_error (error);
  while (why == NULL && g_get_monotonic_time () < deadline)
    if (!g_main_context_iteration (NULL, FALSE))
      g_usleep (50000);
  g_assert_nonnull (why);
  g_assert_nonnull (strstr (why, "bob"));
  ns_queue_claim_keeper_free (k);

  /* Freed before it could report anything: nothing is called. */
  g_autofree char *never = NULL;
  k = ns_queue_claim_keeper_new (path, bob, 0, lost_cb, &never);
  ns_queue_claim_keeper_free (k);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_null (never);
  g_autoptr (NsQueueClaim) held = ns_queue_dup_claim (q, c, &error);
  g_assert_cmpstr (held->token, ==, bob->token);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ns_test_db_init ();
  g_test_add_func ("/data/team/claims", test_claims);
  g_test_add_func ("/data/team/lease-expiry", test_lease_expiry);
  g_test_add_func ("/data/team/review", test_review);
  g_test_add_func ("/data/team/stored-mask", test_stored_mask);
  g_test_add_func ("/data/team/watch", test_watch);
  g_test_add_func ("/data/team/keeper", test_keeper);
  g_test_add_func ("/data/team/concurrency", test_concurrency);
  g_test_add_func ("/data/team/roles", test_roles);
  if (ns_test_db_is_server ())
    g_test_add_func ("/data/team/server-outage", test_server_outage);
  return g_test_run ();
}
