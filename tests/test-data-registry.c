/* SPDX-License-Identifier: MIT
 *
 * test-data-registry.c: the model registry (data/ns-registry.h): registering, failed
 * models, changed files; the shipped model as version 0 (its row from the model card,
 * refreshed when its file changes, listed from the file where the database has no row);
 * the one rule of the default model (without creating anything, never another model
 * silently); roll-backs that always reach version 0; validation figures and the gate of
 * promotions (no figures, an empty mask, a lower score, nothing to compare with, force).
 *
 * The test programs run from the build tree, so the shipped model is the source tree's
 * resources/models/default.safetensors (data/ns-paths.h).
 */
#include "ns-test-queue.h"
#include "ns-test-util.h"

#include "ns-data-error.h"
#include "ns-model-card.h"
#include "ns-paths.h"
#include "ns-registry.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static NsRegistryModel *
model_at (GPtrArray *models, int version)
{
  for (guint i = 0; i < models->len; i++)
    if (((NsRegistryModel *) models->pdata[i])->version == version)
      return models->pdata[i];
  return NULL;
}

static void
test_models (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (NULL);
  g_autofree char *p1 = ns_test_fake_model ("model one");
  g_autofree char *p2 = ns_test_fake_model ("model two");
  g_autofree char *p3 = ns_test_fake_model ("broken");

  NsRegistryModelInfo i1 = { p1, "mobilenetv2-unet", NS_REGISTRY_NONE,
                             "{\"dice_wt\": 0.8, \"dice_tc\": 0.7, \"dice_et\": 0.6}", 0, NULL };
  g_assert_cmpint (ns_registry_register_model (q, &i1, &error), ==, 1);
  g_assert_no_error (error);
  NsRegistryModelInfo i2 = { p2, "mobilenetv2-unet", 1, "{\"dice_wt\": 0.82}", 0, NULL };
  g_assert_cmpint (ns_registry_register_model (q, &i2, &error), ==, 2);
  NsRegistryModelInfo i3 = { p3, NULL, NS_REGISTRY_NONE, NULL, 0, "bad header" };
  g_assert_cmpint (ns_registry_register_model (q, &i3, &error), ==, 3);
  g_assert_no_error (error);

  /* Refused registrations change nothing. */
  NsRegistryModelInfo bad_parent = { p1, NULL, 42, NULL, 0, NULL };
  g_assert_cmpint (ns_registry_register_model (q, &bad_parent, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  NsRegistryModelInfo bad_metrics = { p1, NULL, NS_REGISTRY_NONE, "[1, 2]", 0, NULL };
  g_assert_cmpint (ns_registry_register_model (q, &bad_metrics, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);
  NsRegistryModelInfo missing = { "/no/such/model.safetensors", NULL, NS_REGISTRY_NONE, NULL, 0,
                                  NULL };
  g_assert_cmpint (ns_registry_register_model (q, &missing, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, "/no/such/model.safetensors"));
  g_clear_error (&error);
  g_autofree char *p1_copy = ns_test_fake_model ("model one");
  NsRegistryModelInfo dup = { p1_copy, NULL, NS_REGISTRY_NONE, NULL, 0, NULL };
  g_assert_cmpint (ns_registry_register_model (q, &dup, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "version 1"));
  g_clear_error (&error);

  /* The shipped model first (version 0), then 1, 2, 3. */
  g_autoptr (GPtrArray) models = ns_registry_list_models (q, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (models->len, ==, 4);
  g_assert_cmpint (((NsRegistryModel *) models->pdata[0])->version, ==, NS_REGISTRY_SHIPPED);
  NsRegistryModel *m1 = model_at (models, 1);
  g_autofree char *sum1 = g_compute_checksum_for_string (G_CHECKSUM_SHA256, "model one", -1);
  g_assert_cmpstr (m1->sha256, ==, sum1);
  g_assert_cmpstr (m1->path, ==, p1);
  g_assert_cmpfloat (m1->dice[0], ==, 0.8);
  g_assert_cmpfloat (m1->dice[2], ==, 0.6);
  g_assert_cmpint (m1->parent, ==, NS_REGISTRY_NONE);
  NsRegistryModel *m2 = model_at (models, 2);
  g_assert_cmpint (m2->parent, ==, 1);
  g_assert_true (isnan (m2->dice[1]));
  NsRegistryModel *m3 = model_at (models, 3);
  g_assert_cmpint (m3->status, ==, NS_REGISTRY_MODEL_FAILED);
  g_assert_cmpstr (m3->error, ==, "bad header");
  int found = -7;
  g_assert_true (ns_registry_find_model_by_path (q, p2, &found, &error));
  g_assert_cmpint (found, ==, 2);
  g_assert_true (ns_registry_find_model_by_path (q, p3, &found, &error));
  g_assert_cmpint (found, ==, NS_REGISTRY_NONE);
  g_autofree char *shipped = ns_paths_dup_shipped_model (&error);
  g_assert_no_error (error);
  g_assert_true (ns_registry_find_model_by_path (q, shipped, &found, &error));
  g_assert_cmpint (found, ==, NS_REGISTRY_SHIPPED);

  /* A failed model is never the default, forced or not. */
  g_assert_false (ns_registry_promote (q, 3, TRUE, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "bad header"));
  g_clear_error (&error);

  g_assert_true (ns_registry_promote (q, 1, TRUE, "tester", &error));
  g_assert_no_error (error);
  int v = -1;
  g_autofree char *d1 = ns_registry_dup_default_path (q, &v, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (d1, ==, p1);
  g_assert_cmpint (v, ==, 1);
  g_assert_false (ns_registry_promote (q, 1, TRUE, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (ns_registry_promote (q, 2, TRUE, "tester", &error));
  g_autofree char *d2 = ns_registry_dup_default_path (q, NULL, NULL, &error);
  g_assert_cmpstr (d2, ==, p2);
  g_autofree char *d2b = ns_registry_dup_default_model (ns_db_get_path (q), &v, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (d2b, ==, p2);
  g_assert_cmpint (v, ==, 2);

  int now = 0;
  g_assert_true (ns_registry_rollback (q, NS_REGISTRY_PREVIOUS, "tester", &now, &error));
  g_assert_no_error (error);
  g_assert_cmpint (now, ==, 1);
  g_assert_true (ns_registry_rollback (q, 2, "tester", &now, &error));
  g_assert_no_error (error);
  g_assert_cmpint (now, ==, 2);
  g_autoptr (GPtrArray) promos = ns_registry_list_promotions (q, &error);
  g_assert_cmpuint (promos->len, ==, 4);
  NsRegistryPromotion *first = promos->pdata[0];
  g_assert_cmpint (first->previous, ==, NS_REGISTRY_SHIPPED);
  NsRegistryPromotion *last = promos->pdata[3];
  g_assert_cmpstr (last->action, ==, "rollback");
  g_assert_cmpint (last->version, ==, 2);
  g_assert_cmpint (last->previous, ==, 1);

  /* Exactly one default. */
  g_autoptr (GPtrArray) after = ns_registry_list_models (q, &error);
  int n_default = 0;
  for (guint i = 0; i < after->len; i++)
    n_default += ((NsRegistryModel *) after->pdata[i])->is_default;
  g_assert_cmpint (n_default, ==, 1);
  g_assert_true (model_at (after, 2)->is_default);

  /* The default's file changed or vanished: reported, never replaced by another model. */
  g_assert_true (g_file_set_contents (p2, "model two, overwritten", -1, NULL));
  g_autofree char *changed = ns_registry_dup_default_path (q, NULL, NULL, &error);
  g_assert_null (changed);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
  g_assert_true (g_str_has_prefix (error->message, p2));
  g_clear_error (&error);
  g_autofree char *changed2 = ns_registry_dup_default_model (ns_db_get_path (q), NULL, NULL,
                                                             &error);
  g_assert_null (changed2);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
  g_clear_error (&error);
  g_assert_cmpint (g_unlink (p2), ==, 0);
  g_autofree char *gone = ns_registry_dup_default_path (q, NULL, NULL, &error);
  g_assert_null (gone);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
}

/* The shipped model is version 0: recorded from its model card when the database is
 * opened read-write, listed from its file where the database has no row. */
static void
test_shipped (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *shipped = ns_paths_dup_shipped_model (&error);
  g_assert_no_error (error);
  g_autofree char *sum = ns_test_file_sum (shipped);
  g_autofree char *arch = NULL, *metrics = NULL;
  g_assert_true (ns_model_card_read (shipped, &arch, &metrics, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (arch, ==, "mobilenetv2-unet");
  g_assert_nonnull (strstr (metrics, "dice_wt"));

  g_autofree char *path = NULL;
  {
    g_autoptr (NsDb) q = ns_test_open_fresh_db (&path);
    g_autoptr (NsRegistryModel) m = ns_registry_dup_model (q, NS_REGISTRY_SHIPPED, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (m->path, ==, shipped);
    g_assert_cmpstr (m->sha256, ==, sum);
    g_assert_cmpstr (m->arch, ==, "mobilenetv2-unet");
    g_assert_cmpint (m->status, ==, NS_REGISTRY_MODEL_REGISTERED);
    g_assert_cmpfloat (m->dice[0], >, 0.8);
    g_assert_cmpfloat (m->dice[0], <, 1.0);
    g_assert_true (m->is_default);
    g_assert_cmpint (m->parent, ==, NS_REGISTRY_NONE);
    g_assert_true (ns_registry_verify_model_file (q, m, &error));

    /* Its file is registered already. */
    NsRegistryModelInfo again = { shipped, NULL, NS_REGISTRY_NONE, NULL, 0, NULL };
    g_assert_cmpint (ns_registry_register_model (q, &again, &error), ==, 0);
    g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "version 0, the shipped model"));
    g_clear_error (&error);

    /* Figures recorded for it... */
    NsRegistryValidation f = { 0, NS_REGISTRY_SHIPPED, (char *) "/c", (char *) "C",
                               (char *) "f", (char *) "t", { 0.9, 0.8, 0.7 }, { 10, 5, 2 },
                               { 11, 6, 2 }, NULL, NULL };
    g_assert_cmpint (ns_registry_add_validation (q, &f, &error), >, 0);
    g_assert_no_error (error);
  }
  g_assert_cmpint (ns_test_sql_int (path, "SELECT count(*) FROM models WHERE version = 0"),
                   ==, 1);
  /* ... are dropped when the shipped file changes (here: the row says another sha256); the
   * row follows the file. */
  ns_test_sql_exec (path, "UPDATE models SET sha256 = 'older', metrics = '{}' WHERE version = 0");
  {
    g_autoptr (NsDb) q = ns_db_open (path, &error);
    g_assert_no_error (error);
    g_autoptr (NsRegistryModel) m = ns_registry_dup_model (q, NS_REGISTRY_SHIPPED, &error);
    g_assert_cmpstr (m->sha256, ==, sum);
    g_assert_false (isnan (m->dice[0]));
    g_autoptr (GPtrArray) figures = ns_registry_list_validations (q, 0, &error);
    g_assert_cmpuint (figures->len, ==, 0);
  }

  /* A database without the row (an older one, read-only): version 0 from the file. */
  g_autofree char *bare = ns_test_fresh_location ("bare.db");
  {
    g_autoptr (NsDb) q = ns_db_open (bare, &error);
    g_assert_no_error (error);
  }
  ns_test_sql_exec (bare, "DELETE FROM models");
  {
    g_autoptr (NsDb) q = ns_db_open_readonly (bare, &error);
    g_assert_no_error (error);
    g_autoptr (GPtrArray) models = ns_registry_list_models (q, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (models->len, ==, 1);
    NsRegistryModel *m = models->pdata[0];
    g_assert_cmpint (m->version, ==, NS_REGISTRY_SHIPPED);
    g_assert_cmpstr (m->sha256, ==, sum);
    g_assert_true (m->is_default);
    g_assert_cmpfloat (m->dice[0], >, 0.8);
  }
  g_assert_cmpint (ns_test_sql_int (bare, "SELECT count(*) FROM models"), ==, 0);

  /* The model card refuses what is not a model, naming the file. */
  g_autofree char *junk = ns_test_fake_model ("not a model at all");
  g_autofree char *a2 = NULL, *m2 = NULL;
  g_assert_false (ns_model_card_read (junk, &a2, &m2, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
  g_assert_true (g_str_has_prefix (error->message, junk));
  g_clear_error (&error);
  g_autofree char *plain = ns_test_fresh_path ("plain.safetensors");
  static const char header[] = "{\"__metadata__\":{\"format\":\"pt\"}}";
  guint8 bytes[8 + sizeof header] = { sizeof header - 1 };
  memcpy (bytes + 8, header, sizeof header - 1);
  g_assert_true (g_file_set_contents (plain, (const char *) bytes, 8 + sizeof header - 1,
                                      NULL));
  g_assert_false (ns_model_card_read (plain, &a2, &m2, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "not a neuroseg model"));
}

/* The one rule: the promoted default, else the shipped model; with no database, the
 * shipped model and nothing created. */
static void
test_default_rule (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *shipped = ns_paths_dup_shipped_model (&error);
  g_assert_no_error (error);

  g_autofree char *dir = ns_test_fresh_path ("no-db");
  g_autofree char *absent = g_build_filename (dir, "neuroseg.db", NULL);
  int v = -7;
  g_autofree char *why = NULL;
  g_autofree char *p = ns_registry_dup_default_model (absent, &v, &why, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (p, ==, shipped);
  g_assert_cmpint (v, ==, NS_REGISTRY_SHIPPED);
  g_assert_nonnull (strstr (why, "shipped model"));
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));

  /* Promoted: that model, and why. */
  g_autofree char *db_path = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (&db_path);
  g_autofree char *m1 = ns_test_fake_model ("rule one");
  NsRegistryModelInfo i1 = { m1, NULL, NS_REGISTRY_SHIPPED, NULL, 0, NULL };
  g_assert_cmpint (ns_registry_register_model (q, &i1, &error), ==, 1);
  g_assert_true (ns_registry_promote (q, 1, TRUE, "Ann", &error));
  g_clear_pointer (&why, g_free);
  g_autofree char *p1 = ns_registry_dup_default_model (db_path, &v, &why, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (p1, ==, m1);
  g_assert_cmpint (v, ==, 1);
  g_assert_nonnull (strstr (why, "promoted"));
  g_assert_nonnull (strstr (why, "Ann"));

  /* Rolled back to version 0: the shipped model again. */
  g_assert_true (ns_registry_rollback (q, NS_REGISTRY_SHIPPED, "Bob", NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&why, g_free);
  g_autofree char *p0 = ns_registry_dup_default_model (db_path, &v, &why, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (p0, ==, shipped);
  g_assert_cmpint (v, ==, NS_REGISTRY_SHIPPED);
  g_assert_nonnull (strstr (why, "rolled back"));
}

/* #12: Roll Back always reaches version 0, also when no other model was ever the
 * default (it used to answer "the only default there has been"). */
static void
test_rollback_reaches_shipped (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (NULL);
  g_autofree char *m1 = ns_test_fake_model ("roll one");
  g_autofree char *m2 = ns_test_fake_model ("roll two");
  NsRegistryModelInfo i1 = { m1, NULL, NS_REGISTRY_SHIPPED, NULL, 0, NULL };
  NsRegistryModelInfo i2 = { m2, NULL, 1, NULL, 0, NULL };
  g_assert_cmpint (ns_registry_register_model (q, &i1, &error), ==, 1);
  g_assert_cmpint (ns_registry_register_model (q, &i2, &error), ==, 2);

  /* Nothing promoted yet: the shipped model is the default, nothing before it. */
  int now = -7;
  g_assert_false (ns_registry_rollback (q, NS_REGISTRY_PREVIOUS, NULL, &now, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (ns_registry_promote (q, 1, TRUE, NULL, &error));
  g_assert_true (ns_registry_rollback (q, NS_REGISTRY_PREVIOUS, NULL, &now, &error));
  g_assert_no_error (error);
  g_assert_cmpint (now, ==, NS_REGISTRY_SHIPPED);
  g_autoptr (NsRegistryModel) def = ns_registry_dup_default (q, &error);
  g_assert_cmpint (def->version, ==, NS_REGISTRY_SHIPPED);
  g_assert_true (def->is_default);

  /* An explicit rollback to 0 from any default. */
  g_assert_true (ns_registry_promote (q, 1, TRUE, NULL, &error));
  g_assert_true (ns_registry_promote (q, 2, TRUE, NULL, &error));
  g_assert_true (ns_registry_rollback (q, NS_REGISTRY_SHIPPED, NULL, &now, &error));
  g_assert_no_error (error);
  g_assert_cmpint (now, ==, NS_REGISTRY_SHIPPED);
  g_assert_false (ns_registry_rollback (q, NS_REGISTRY_SHIPPED, NULL, &now, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);
  /* ... and from there back to what was the default before. */
  g_assert_true (ns_registry_rollback (q, NS_REGISTRY_PREVIOUS, NULL, &now, &error));
  g_assert_cmpint (now, ==, 2);
}

/* Figures of a model on a case. */
static NsRegistryValidation
figures (int version, const char *case_id, double wt, double tc, double et, gint64 predicted,
         gint64 truth)
{
  NsRegistryValidation v = { 0 };
  v.model_version = version;
  v.case_path = g_strdup_printf ("/cases/%s", case_id);
  v.case_id = (char *) case_id;
  v.flair_sha256 = g_strdup_printf ("flair-of-%s", case_id);
  v.truth_sha256 = g_strdup_printf ("truth-of-%s", case_id);
  v.dice[0] = wt;
  v.dice[1] = tc;
  v.dice[2] = et;
  v.predicted[0] = predicted;
  v.truth[0] = truth;
  return v;
}

static void
add_figures (NsDb *q, int version, const char *case_id, double wt, double tc, double et,
             gint64 predicted, gint64 truth)
{
  g_autoptr (GError) error = NULL;
  NsRegistryValidation v = figures (version, case_id, wt, tc, et, predicted, truth);
  g_assert_cmpint (ns_registry_add_validation (q, &v, &error), >, 0);
  g_assert_no_error (error);
  g_free (v.case_path);
  g_free (v.flair_sha256);
  g_free (v.truth_sha256);
}

static void
test_validations (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (NULL);
  add_figures (q, NS_REGISTRY_SHIPPED, "ValA", 0.9, 0.8, 0.7, 1000, 1100);
  add_figures (q, NS_REGISTRY_SHIPPED, "ValB", 0.5, 0.4, 0.3, 10, 900);
  g_autoptr (GPtrArray) all = ns_registry_list_validations (q, NS_REGISTRY_SHIPPED, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 2);
  NsRegistryValidation *a = all->pdata[0];
  g_assert_cmpstr (a->case_id, ==, "ValA");
  g_assert_cmpstr (a->case_path, ==, "/cases/ValA");
  g_assert_cmpfloat (a->dice[1], ==, 0.8);
  g_assert_cmpint (a->predicted[0], ==, 1000);
  g_assert_cmpint (a->truth[0], ==, 1100);
  g_assert_nonnull (a->at);

  /* Refused: an unknown version, a Dice out of range, a negative count. */
  NsRegistryValidation bad = figures (9, "ValC", 0.5, 0.5, 0.5, 1, 1);
  g_assert_cmpint (ns_registry_add_validation (q, &bad, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  bad.model_version = 0;
  bad.dice[1] = 1.5;
  g_assert_cmpint (ns_registry_add_validation (q, &bad, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);
  bad.dice[1] = NAN;
  g_assert_cmpint (ns_registry_add_validation (q, &bad, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);
  bad.dice[1] = 0.5;
  bad.truth[2] = -1;
  g_assert_cmpint (ns_registry_add_validation (q, &bad, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);
  g_free (bad.case_path);
  g_free (bad.flair_sha256);
  g_free (bad.truth_sha256);
  g_autoptr (GPtrArray) still = ns_registry_list_validations (q, NS_REGISTRY_SHIPPED, &error);
  g_assert_cmpuint (still->len, ==, 2);
}

static int
register_fake (NsDb *q, const char *content)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *m = ns_test_fake_model (content);
  NsRegistryModelInfo info = { m, NULL, NS_REGISTRY_SHIPPED, NULL, 0, NULL };
  int v = ns_registry_register_model (q, &info, &error);
  g_assert_no_error (error);
  return v;
}

static void
assert_refused (NsDb *q, int version, NsRegistryGate gate, const char *why)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsRegistryComparison) c = ns_registry_compare (q, version, &error);
  g_assert_no_error (error);
  g_assert_cmpint (c->gate, ==, gate);
  g_assert_nonnull (strstr (c->reason, why));
  g_assert_false (ns_registry_promote (q, version, FALSE, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, why));
  g_autoptr (NsRegistryModel) def = ns_registry_dup_default (q, NULL);
  g_assert_cmpint (def->version, !=, version);
}

/* #12: promotion is gated; the figures side by side on the same cases. */
static void
test_gate (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (NULL);
  int v1 = register_fake (q, "gate one");

  /* No figures at all (what used to become "the first default"). */
  assert_refused (q, v1, NS_REGISTRY_GATE_NO_FIGURES, "no validation figures");

  /* Figures, but the current default (the shipped model) has none on those cases. */
  add_figures (q, v1, "GateA", 0.80, 0.70, 0.60, 500, 600);
  assert_refused (q, v1, NS_REGISTRY_GATE_NOT_COMPARABLE, "validate it on the same cases");

  /* Below the current default on the same cases: mean of WT, TC, ET 0.70 < 0.75. */
  add_figures (q, NS_REGISTRY_SHIPPED, "GateA", 0.75, 0.75, 0.75, 550, 600);
  assert_refused (q, v1, NS_REGISTRY_GATE_LOWER_DICE, "below");
  {
    g_autoptr (NsRegistryComparison) c = ns_registry_compare (q, v1, &error);
    g_assert_cmpint (c->candidate, ==, v1);
    g_assert_cmpint (c->current, ==, NS_REGISTRY_SHIPPED);
    g_assert_cmpuint (c->rows->len, ==, 1);
    g_assert_cmpuint (c->n_common, ==, 1);
    NsRegistryComparisonRow *row = c->rows->pdata[0];
    g_assert_cmpfloat (row->candidate->dice[0], ==, 0.80);
    g_assert_cmpfloat (row->current->dice[0], ==, 0.75);
    g_assert_cmpfloat_with_epsilon (c->candidate_score, 0.70, 1e-12);
    g_assert_cmpfloat_with_epsilon (c->current_score, 0.75, 1e-12);
    /* WT alone would have let it through: 0.80 > 0.75. */
    g_assert_cmpfloat (c->candidate_dice[0], >, c->current_dice[0]);
  }

  /* Validated again on the same case (same FLAIR and truth, moved folder): the latest
   * figures count; now better. */
  NsRegistryValidation moved = figures (v1, "GateA", 0.85, 0.80, 0.75, 560, 600);
  g_free (moved.case_path);
  moved.case_path = g_strdup ("/elsewhere/GateA");
  g_assert_cmpint (ns_registry_add_validation (q, &moved, &error), >, 0);
  g_free (moved.case_path);
  g_free (moved.flair_sha256);
  g_free (moved.truth_sha256);
  {
    g_autoptr (NsRegistryComparison) c = ns_registry_compare (q, v1, &error);
    g_assert_no_error (error);
    g_assert_cmpint (c->gate, ==, NS_REGISTRY_GATE_PASS);
    g_assert_cmpuint (c->rows->len, ==, 1);
    g_assert_cmpfloat_with_epsilon (c->candidate_score, 0.80, 1e-12);
  }

  /* An empty mask on a case whose truth is not empty refuses, whatever the mean. */
  add_figures (q, v1, "GateEmpty", 0.0, 1.0, 1.0, 0, 250);
  add_figures (q, NS_REGISTRY_SHIPPED, "GateEmpty", 0.5, 0.5, 0.5, 200, 250);
  assert_refused (q, v1, NS_REGISTRY_GATE_EMPTY_PREDICTION, "empty mask");
  /* An empty truth predicted empty is right, not a refusal. */
  int v2 = register_fake (q, "gate two");
  add_figures (q, v2, "GateA", 0.9, 0.9, 0.9, 590, 600);
  add_figures (q, v2, "NoTumour", 1.0, 1.0, 1.0, 0, 0);
  {
    g_autoptr (NsRegistryComparison) c = ns_registry_compare (q, v2, &error);
    g_assert_cmpint (c->gate, ==, NS_REGISTRY_GATE_PASS);
    g_assert_cmpuint (c->rows->len, ==, 2);
    g_assert_cmpuint (c->n_common, ==, 1);
    g_assert_null (((NsRegistryComparisonRow *) c->rows->pdata[1])->current);
  }

  /* Forced: "promote anyway". */
  g_assert_true (ns_registry_promote (q, v1, TRUE, NULL, &error));
  g_assert_no_error (error);
  /* Passing the gate: no force needed; compared with v1 now. */
  {
    g_autoptr (NsRegistryComparison) c = ns_registry_compare (q, v2, &error);
    g_assert_cmpint (c->current, ==, v1);
    g_assert_cmpint (c->gate, ==, NS_REGISTRY_GATE_PASS);
  }
  g_assert_true (ns_registry_promote (q, v2, FALSE, NULL, &error));
  g_assert_no_error (error);
  g_autoptr (NsRegistryModel) def = ns_registry_dup_default (q, &error);
  g_assert_cmpint (def->version, ==, v2);

  /* The shipped model is never gated. */
  g_assert_true (ns_registry_promote (q, NS_REGISTRY_SHIPPED, FALSE, NULL, &error));
  g_assert_no_error (error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ns_test_db_init ();
  g_test_add_func ("/data/registry/models", test_models);
  g_test_add_func ("/data/registry/shipped", test_shipped);
  g_test_add_func ("/data/registry/default-rule", test_default_rule);
  g_test_add_func ("/data/registry/rollback-reaches-shipped", test_rollback_reaches_shipped);
  g_test_add_func ("/data/registry/validations", test_validations);
  g_test_add_func ("/data/registry/gate", test_gate);
  return g_test_run ();
}
