/* SPDX-License-Identifier: MIT
 *
 * test-data-db-copy.c: ns_db_copy() (ns-db.h), a workstation's SQLite file copied into a
 * fresh database: another SQLite file, or (NS_TEST_DB=postgresql) a database on the
 * PostgreSQL server that the program starts, which is what `neuroseg queue migrate`
 * does for a team.
 *
 *   /data/db-copy/everything   queue, states, claims and their history, reviews, stored
 *                              masks, registry, validations, promotions, runs: the same
 *                              sums on both sides, the same answers of the API, a mask
 *                              read back bit for bit; new rows after the copy get new ids
 *   /data/db-copy/refuses      a non-empty target is refused and left alone; replace
 *                              copies over it
 *   /data/db-copy/all-or-none  a failure while writing the last table leaves the target
 *                              as it was
 *   /data/db-copy/every-table  every table of the schema (but the change serials) is
 *                              copied, with all its columns
 */
#define G_LOG_DOMAIN "test-data-db-copy"

#include <glib/gstdio.h>
#include <math.h>

#include "ns-data-error.h"
#include "ns-db-private.h"
#include "ns-queue.h"
#include "ns-registry.h"
#include "ns-runs.h"
#include "ns-test-queue.h"
#include "ns-test-util.h"

/* A workstation's SQLite database with one of everything. */
static NsDb *
make_source (char **path_out, gint64 *case_a)
{
  g_autoptr (GError) error = NULL;
  char *path = ns_test_fresh_path ("source.db");
  NsDb *db = ns_db_open (path, &error);
  gint64 a, b;
  g_autofree char *model = ns_test_fake_model ("copied model");

  g_assert_no_error (error);
  a = ns_test_queued_case (db, "Copy_A");
  b = ns_test_queued_case (db, "Copy_B");
  /* a second correction of A under a claim, claimed by ann, taken over by bob */
  {
    g_autoptr (NsQueueClaim) ann = ns_queue_claim (db, a, "ann", 0, &error);
    g_autoptr (NsQueueClaim) bob = NULL;
    g_autofree char *mask = ns_test_fresh_path ("second.nii.gz");
    g_autofree char *dir = NULL;
    g_autoptr (NsQueueEntry) e = NULL;

    g_assert_no_error (error);
    bob = ns_queue_take_over (db, a, "bob", 0, "ann is away", &error);
    g_assert_no_error (error);
    ns_test_write_mask (mask, 3, 11, TRUE);
    e = ns_queue_dup_entry (db, "Copy_A", &error);
    g_assert_no_error (error);
    NsQueueAnnotation an = { mask, NULL, 0, "bob", 0.25, bob->token };
    g_assert_cmpint (ns_queue_add (db, e->path, &an, &error), ==, a);
    g_assert_no_error (error);
  }
  g_assert_true (ns_queue_review (db, a, 0, NS_QUEUE_REVIEW_SENT_BACK, "rev", "slice 3",
                                  &error));
  g_assert_true (ns_queue_review (db, a, 0, NS_QUEUE_REVIEW_ACCEPTED, "rev2", NULL, &error));
  g_assert_true (ns_queue_set_state (db, b, NS_QUEUE_STATE_EXCLUDED, 0, "ann", "blurred",
                                     &error));
  g_assert_no_error (error);
  /* a run that produced v1, its validation, its promotion */
  {
    gint64 cases[] = { a };
    gint64 run = ns_runs_begin (db, "neuroseg train ...", "/tmp/run.log", cases, 1, 0, &error);
    NsRegistryModelInfo info = { .path = model, .arch = "mobilenetv2-unet",
                                 .parent = NS_REGISTRY_SHIPPED, .metrics = "{\"steps\": 4}",
                                 .run_id = run };
    NsRegistryValidation v = { 0, 1, "/cases/x", "x", "f", "t", { 0.91, 0.8, 1.0 / 3.0 },
                               { 900, 300, 100 }, { 1000, 320, 110 }, "cpu", NULL };

    g_assert_no_error (error);
    g_assert_cmpint (ns_registry_register_model (db, &info, &error), ==, 1);
    g_assert_no_error (error);
    g_assert_cmpint (ns_registry_add_validation (db, &v, &error), >, 0);
    g_assert_no_error (error);
    g_assert_true (ns_registry_promote (db, 1, TRUE, "lead", &error));
    g_assert_no_error (error);
  }
  *path_out = path;
  *case_a = a;
  return db;
}

static void
assert_same_sums (GPtrArray *sums, NsDb *other)
{
  /* the source's sums, computed the same way: a copy of the target into a fresh SQLite
   * file gives the same rows again */
  g_autoptr (GError) error = NULL;
  g_autofree char *path = ns_test_fresh_path ("again.db");
  g_autoptr (NsDb) again = ns_db_open (path, &error);
  g_autoptr (GPtrArray) back = NULL;

  g_assert_no_error (error);
  back = ns_db_copy (other, again, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->len, ==, sums->len);
  for (guint i = 0; i < sums->len; i++)
    {
      const NsDbTableSum *x = sums->pdata[i], *y = back->pdata[i];

      g_test_message ("%-16s %4" G_GINT64_FORMAT " rows  %s", x->table, x->rows, x->sha256);
      g_assert_cmpstr (x->table, ==, y->table);
      g_assert_cmpint (x->rows, ==, y->rows);
      g_assert_cmpstr (x->sha256, ==, y->sha256);
    }
}

static gint64
sum_rows (GPtrArray *sums, const char *table)
{
  for (guint i = 0; i < sums->len; i++)
    if (g_strcmp0 (((NsDbTableSum *) sums->pdata[i])->table, table) == 0)
      return ((NsDbTableSum *) sums->pdata[i])->rows;
  g_assert_not_reached ();
}

static void
test_everything (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *src_path = NULL, *dst_location = NULL;
  gint64 a;
  g_autoptr (NsDb) src = make_source (&src_path, &a);
  g_autoptr (NsDb) dst = ns_test_open_fresh_db (&dst_location);
  g_autoptr (GPtrArray) sums = ns_db_copy (src, dst, FALSE, &error);

  g_assert_no_error (error);
  g_assert_nonnull (sums);
  g_assert_cmpint (sum_rows (sums, "cases"), ==, 2);
  g_assert_cmpint (sum_rows (sums, "annotations"), ==, 3);
  g_assert_cmpint (sum_rows (sums, "annotation_masks"), ==, 3);
  g_assert_cmpint (sum_rows (sums, "claims"), ==, 1);
  g_assert_cmpint (sum_rows (sums, "claim_history"), ==, 2);
  g_assert_cmpint (sum_rows (sums, "reviews"), ==, 2);
  g_assert_cmpint (sum_rows (sums, "runs"), ==, 1);
  g_assert_cmpint (sum_rows (sums, "run_cases"), ==, 1);
  g_assert_cmpint (sum_rows (sums, "validations"), ==, 1);
  g_assert_cmpint (sum_rows (sums, "models"), ==, 2);
  assert_same_sums (sums, src);

  /* the API answers the same on both */
  {
    g_autoptr (GPtrArray) x = ns_queue_list (src, NS_QUEUE_SORT_ADDED, -1, &error);
    g_autoptr (GPtrArray) y = ns_queue_list (dst, NS_QUEUE_SORT_ADDED, -1, &error);

    g_assert_no_error (error);
    g_assert_cmpuint (x->len, ==, y->len);
    for (guint i = 0; i < x->len; i++)
      {
        const NsQueueEntry *p = x->pdata[i], *q = y->pdata[i];

        g_assert_cmpint (p->id, ==, q->id);
        g_assert_cmpstr (p->case_id, ==, q->case_id);
        g_assert_cmpint (p->state, ==, q->state);
        g_assert_cmpstr (p->mask_sha256, ==, q->mask_sha256);
        g_assert_cmpstr (p->claimed_by, ==, q->claimed_by);
        g_assert_cmpint (p->review, ==, q->review);
        g_assert_cmpstr (p->reviewer, ==, q->reviewer);
        g_assert_cmpint (p->n_annotations, ==, q->n_annotations);
        g_assert_true (p->uncertainty == q->uncertainty
                       || (isnan (p->uncertainty) && isnan (q->uncertainty)));
      }
  }
  {
    g_autoptr (NsRegistryModel) def = ns_registry_dup_default (dst, &error);

    g_assert_no_error (error);
    g_assert_cmpint (def->version, ==, 1);
    g_assert_cmpint (def->run_id, >, 0);
  }
  /* the stored mask, bit for bit */
  {
    g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (src, "Copy_A", &error);
    g_autofree char *m1 = ns_test_fresh_path ("m1.nii.gz");
    g_autofree char *m2 = ns_test_fresh_path ("m2.nii.gz");
    g_autofree char *s1 = NULL, *s2 = NULL;

    g_assert_no_error (error);
    g_assert_true (ns_queue_write_mask (src, e->annotation_id, m1, &error));
    g_assert_true (ns_queue_write_mask (dst, e->annotation_id, m2, &error));
    g_assert_no_error (error);
    s1 = ns_test_file_sum (m1);
    s2 = ns_test_file_sum (m2);
    g_assert_cmpstr (s1, ==, s2);
  }
  /* new rows get ids after the copied ones (a server's identities went on) */
  {
    gint64 c = ns_test_queued_case (dst, "Copy_C");
    g_autoptr (GPtrArray) reviews = NULL;

    g_assert_cmpint (c, >, a);
    g_assert_true (ns_queue_review (dst, c, 0, NS_QUEUE_REVIEW_ACCEPTED, "rev", NULL, &error));
    g_assert_no_error (error);
    reviews = ns_queue_list_reviews (dst, c, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (reviews->len, ==, 1);
  }
}

static void
test_refuses (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *src_path = NULL, *dst_location = NULL;
  gint64 a;
  g_autoptr (NsDb) src = make_source (&src_path, &a);
  g_autoptr (NsDb) dst = ns_test_open_fresh_db (&dst_location);
  g_autoptr (GPtrArray) sums = NULL;

  ns_test_queued_case (dst, "Already_Here");
  sums = ns_db_copy (src, dst, FALSE, &error);
  g_assert_null (sums);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "not empty"));
  g_assert_cmpint (ns_test_sql_int (dst_location, "SELECT COUNT(*) FROM cases"), ==, 1);
  g_clear_error (&error);

  sums = ns_db_copy (src, dst, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ns_test_sql_int (dst_location, "SELECT COUNT(*) FROM cases"), ==, 2);
  g_assert_cmpint (ns_test_sql_int (dst_location, "SELECT COUNT(*) FROM cases WHERE "
                                                  "case_id = 'Already_Here'"), ==, 0);

  /* the same database on both sides */
  g_clear_pointer (&sums, g_ptr_array_unref);
  sums = ns_db_copy (src, src, TRUE, &error);
  g_assert_null (sums);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
}

static void
test_all_or_none (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *src_path = NULL, *dst_location = NULL;
  gint64 a;
  g_autoptr (NsDb) src = make_source (&src_path, &a);
  g_autoptr (NsDb) dst = ns_test_open_fresh_db (&dst_location);
  g_autoptr (GPtrArray) sums = NULL;
  gint64 models_before = ns_test_sql_int (dst_location, "SELECT COUNT(*) FROM models");

  /* the last table copied cannot be written */
  if (ns_test_db_is_server ())
    ns_test_sql_exec (dst_location,
                      "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                      "$$ BEGIN RAISE EXCEPTION 'injected failure'; END $$; "
                      "CREATE TRIGGER refuse BEFORE INSERT ON reviews "
                      "FOR EACH ROW EXECUTE FUNCTION refuse()");
  else
    ns_test_sql_exec (dst_location, "CREATE TRIGGER refuse BEFORE INSERT ON reviews "
                                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  ns_db_set_retry_window (dst, 0);
  sums = ns_db_copy (src, dst, FALSE, &error);
  g_assert_null (sums);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "injected failure"));
  g_assert_cmpint (ns_test_sql_int (dst_location, "SELECT COUNT(*) FROM cases"), ==, 0);
  g_assert_cmpint (ns_test_sql_int (dst_location, "SELECT COUNT(*) FROM annotation_masks"),
                   ==, 0);
  g_assert_cmpint (ns_test_sql_int (dst_location, "SELECT COUNT(*) FROM models"), ==,
                   models_before);
}

static void
test_every_table (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = ns_test_fresh_path ("schema.db");
  g_autoptr (NsDb) db = ns_db_open (path, &error);
  g_autoptr (GString) listed = g_string_new ("'changes'");
  const char *table, *columns;
  guint n = 0;

  g_assert_no_error (error);
  for (guint i = 0; (columns = _ns_db_copy_columns (i, &table)) != NULL; i++)
    {
      g_autofree char *sql = g_strdup_printf ("SELECT COUNT(*) FROM pragma_table_info('%s')",
                                              table);
      g_auto (GStrv) names = g_strsplit (columns, ", ", -1);

      g_string_append_printf (listed, ", '%s'", table);
      g_assert_cmpint (ns_test_sql_int (path, sql), ==, g_strv_length (names));
      for (guint c = 0; names[c] != NULL; c++)
        {
          g_autofree char *q = g_strdup_printf ("SELECT COUNT(*) FROM pragma_table_info('%s') "
                                                "WHERE name = '%s'", table, names[c]);

          g_assert_cmpint (ns_test_sql_int (path, q), ==, 1);
        }
      n++;
    }
  g_assert_cmpuint (n, >=, 13);
  {
    g_autofree char *sql = g_strdup_printf ("SELECT COUNT(*) FROM sqlite_master WHERE type = "
                                            "'table' AND name NOT IN (%s)", listed->str);

    g_assert_cmpint (ns_test_sql_int (path, sql), ==, 0);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ns_test_db_init ();
  g_test_add_func ("/data/db-copy/everything", test_everything);
  g_test_add_func ("/data/db-copy/refuses", test_refuses);
  g_test_add_func ("/data/db-copy/all-or-none", test_all_or_none);
  if (!ns_test_db_is_server ())
    g_test_add_func ("/data/db-copy/every-table", test_every_table);
  return g_test_run ();
}
