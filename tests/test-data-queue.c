/* SPDX-License-Identifier: MIT
 *
 * test-data-queue.c: the fine-tuning queue (data/ns-queue.h) on small synthetic cases:
 * adding cases with effort computed from a prediction, refusal of cases that do not
 * decode or whose images or mask lie on another grid (the voxel-to-RAS matrix counts, not
 * just dims and spacing), sorting for active learning, states and their history.
 */
#include "ns-test-queue.h"
#include "ns-test-util.h"

#include "ns-data-error.h"
#include "ns-nifti.h"
#include "ns-queue.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

static NsQueueAnnotation
annotation (const char *mask, const char *pred, double uncertainty)
{
  NsQueueAnnotation a = { mask, pred, 0, "tester", uncertainty };
  return a;
}

static void
test_add_and_effort (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (NULL);
  g_autofree char *dir = ns_test_make_case ("CaseAdd", ".nii.gz");
  g_autofree char *mask = ns_test_fresh_path ("mask.nii.gz");
  g_autofree char *pred = ns_test_fresh_path ("pred.nii.gz");
  /* Mask: box [4, 10)^2 x 4 slices = 144 voxels (6 of them label 4); prediction: box
   * [5, 11)^2 x 4, all label 2: overlap [5, 10)^2 x 4 = 100.  WT Dice = 200 / 288. */
  ns_test_write_mask (mask, 4, 10, TRUE);
  ns_test_write_mask (pred, 5, 11, FALSE);
  NsQueueAnnotation ann = annotation (mask, pred, 0.25);
  gint64 id = ns_queue_add (q, dir, &ann, &error);
  g_assert_no_error (error);
  g_assert_cmpint (id, >, 0);

  g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, "CaseAdd", &error);
  g_assert_no_error (error);
  g_assert_cmpint (e->id, ==, id);
  g_assert_cmpstr (e->path, ==, dir);
  g_assert_cmpint (e->state, ==, NS_QUEUE_STATE_QUEUED);
  g_assert_cmpfloat_with_epsilon (e->effort, 200.0 / 288.0, 1e-12);
  /* Differences: 44 mask-only + 44 prediction-only voxels, plus the core voxels inside
   * the overlap that are 4 in the mask and 2 in the prediction (i = 5, j in [5, 10)). */
  g_assert_cmpint (e->edited_voxels, ==, 44 + 44 + 5);
  g_assert_cmpfloat (e->uncertainty, ==, 0.25);
  g_assert_cmpstr (e->who, ==, "tester");
  g_assert_cmpint (e->n_annotations, ==, 1);
  g_assert_nonnull (strstr (e->modalities, "CaseAdd_t1ce.nii.gz"));
  g_assert_nonnull (strstr (e->modalities, "\"t1c\""));

  /* Find by path and by row id too. */
  g_autoptr (NsQueueEntry) by_path = ns_queue_dup_entry (q, dir, &error);
  g_assert_no_error (error);
  g_assert_cmpint (by_path->id, ==, id);
  g_autofree char *id_text = g_strdup_printf ("%" G_GINT64_FORMAT, id);
  g_autoptr (NsQueueEntry) by_id = ns_queue_dup_entry (q, id_text, &error);
  g_assert_no_error (error);
  g_assert_cmpint (by_id->id, ==, id);

  /* A second annotation of the same case: one case, two annotations, the latest shown. */
  NsQueueAnnotation again = annotation (mask, NULL, NAN);
  g_assert_cmpint (ns_queue_add (q, dir, &again, &error), ==, id);
  g_assert_no_error (error);
  g_autoptr (NsQueueEntry) e2 = ns_queue_dup_entry (q, "CaseAdd", &error);
  g_assert_cmpint (e2->n_annotations, ==, 2);
  g_assert_true (isnan (e2->effort));
  g_assert_cmpint (e2->edited_voxels, ==, -1);

  /* Errors name the file. */
  g_autofree char *small = ns_test_fresh_path ("small.nii.gz");
  {
    NsGrid g;
    ns_grid_init (&g, 8, 8, 8, 1, 1, 1);
    g_autoptr (NsLabelMap) m = ns_label_map_new (&g, NULL);
    g_assert_true (ns_nifti_write_label_map (m, small, NULL));
  }
  NsQueueAnnotation bad = annotation (small, NULL, NAN);
  g_assert_cmpint (ns_queue_add (q, dir, &bad, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_assert_true (g_str_has_prefix (error->message, small));
  g_clear_error (&error);
  g_assert_cmpint (ns_queue_add (q, "/no/such/case", &ann, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "/no/such/case"));
  g_clear_error (&error);
  NsQueueAnnotation unknown_model = { mask, NULL, 7, NULL, NAN };
  g_assert_cmpint (ns_queue_add (q, dir, &unknown_model, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_autoptr (NsQueueEntry) e3 = ns_queue_dup_entry (q, "CaseAdd", &error);
  g_assert_cmpint (e3->n_annotations, ==, 2);
  g_assert_null (ns_queue_dup_entry (q, "NoSuchCase", &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
}

/* Cutting a file to half its length (a copy interrupted, a full disk). */
static void
truncate_half (const char *path)
{
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_assert_true (g_file_set_contents (path, data, len / 2, NULL));
}

static gsize
n_cases (NsDb *q)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) all = ns_queue_list (q, NS_QUEUE_SORT_ADDED, -1, &error);
  g_assert_no_error (error);
  return all->len;
}

/* #13, defect 8: a case is queued only when every image decodes and all lie on one grid,
 * the mask's voxel-to-RAS matrix included; nothing is recorded otherwise. */
static void
test_add_refuses_bad_images (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (NULL);
  g_autofree char *mask = ns_test_fresh_path ("mask.nii.gz");
  ns_test_write_mask (mask, 4, 10, FALSE);
  NsQueueAnnotation a = annotation (mask, NULL, NAN);

  /* A truncated FLAIR: its header reads, its voxels do not. */
  g_autofree char *cut = ns_test_make_case ("CaseCutFlair", ".nii.gz");
  g_autofree char *flair = g_build_filename (cut, "CaseCutFlair_flair.nii.gz", NULL);
  truncate_half (flair);
  NsNiftiHeader hdr;
  g_assert_true (ns_nifti_read_header (flair, &hdr, NULL));
  g_assert_cmpint (ns_queue_add (q, cut, &a, &error), ==, 0);
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, flair));
  g_clear_error (&error);

  /* A truncated T2 (not the file a header check would look at). */
  g_autofree char *cut2 = ns_test_make_case ("CaseCutT2", ".nii");
  g_autofree char *t2 = g_build_filename (cut2, "CaseCutT2_t2.nii", NULL);
  truncate_half (t2);
  g_assert_cmpint (ns_queue_add (q, cut2, &a, &error), ==, 0);
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, t2));
  g_clear_error (&error);

  /* A T2 on another grid. */
  g_autofree char *other = ns_test_make_case ("CaseOtherGrid", ".nii.gz");
  g_autofree char *t2b = g_build_filename (other, "CaseOtherGrid_t2.nii.gz", NULL);
  {
    NsGrid g;
    ns_grid_init (&g, NS_TEST_NX, NS_TEST_NY, NS_TEST_NZ - 2, 1.0, 1.0, 2.0);
    g_autoptr (NsVolume) v = ns_volume_new (&g, &error);
    g_assert_true (ns_nifti_write_volume (v, t2b, &error));
    g_assert_no_error (error);
  }
  g_assert_cmpint (ns_queue_add (q, other, &a, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_assert_true (g_str_has_prefix (error->message, t2b));
  g_clear_error (&error);

  /* A mask with the case's dims and spacing in another orientation (x flipped). */
  g_autofree char *good = ns_test_make_case ("CaseFlippedMask", ".nii.gz");
  g_autofree char *flipped = ns_test_fresh_path ("flipped.nii.gz");
  {
    NsGrid g;
    ns_test_grid (&g);
    g.sform_code = 1;
    g.sform[0][0] = -1.0;
    g.sform[0][3] = NS_TEST_NX - 1;
    g.sform[1][1] = 1.0;
    g.sform[2][2] = 2.0;
    g.sform[3][3] = 1.0;
    g_autoptr (NsLabelMap) m = ns_label_map_new (&g, &error);
    g_assert_true (ns_nifti_write_label_map (m, flipped, &error));
    g_assert_no_error (error);
    g_autoptr (NsVolume) back = ns_nifti_read (flipped, &error);
    g_assert_no_error (error);
    g_assert_cmpint (back->grid.dim[0], ==, NS_TEST_NX);
    g_assert_cmpint (back->grid.dim[1], ==, NS_TEST_NY);
    g_assert_cmpint (back->grid.dim[2], ==, NS_TEST_NZ);
    g_assert_cmpfloat (back->grid.spacing[2], ==, 2.0);
    g_assert_cmpfloat (back->grid.vox2ras[0][0], ==, -1.0);
  }
  NsQueueAnnotation f = annotation (flipped, NULL, NAN);
  g_assert_cmpint (ns_queue_add (q, good, &f, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_assert_true (g_str_has_prefix (error->message, flipped));
  g_clear_error (&error);

  g_assert_cmpuint (n_cases (q), ==, 0);
  /* The good case with its good mask goes in. */
  g_assert_cmpint (ns_queue_add (q, good, &a, &error), >, 0);
  g_assert_no_error (error);
  g_assert_cmpuint (n_cases (q), ==, 1);
}

/* A single FLAIR file and a 4-modality file are cases too (ns_case_describe). */
static void
test_add_files (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (NULL);
  g_autofree char *mask = ns_test_fresh_path ("mask.nii.gz");
  ns_test_write_mask (mask, 4, 10, FALSE);
  NsQueueAnnotation a = annotation (mask, NULL, NAN);

  g_autofree char *msd = ns_test_make_msd_case ("AddMsd_007");
  g_assert_cmpint (ns_queue_add (q, msd, &a, &error), >, 0);
  g_assert_no_error (error);
  g_autoptr (NsQueueEntry) e = ns_queue_dup_entry (q, "AddMsd_007", &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (e->modalities, "\"volume\":3"));

  g_autofree char *flair = ns_test_fresh_path ("Single_flair.nii.gz");
  ns_test_write_volume (flair, 10);
  g_assert_cmpint (ns_queue_add (q, flair, &a, &error), >, 0);
  g_assert_no_error (error);
  g_autofree char *base = g_path_get_basename (flair);
  base[strlen (base) - strlen ("_flair.nii.gz")] = '\0';
  g_autoptr (NsQueueEntry) s = ns_queue_dup_entry (q, base, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (s->path, ==, flair);

  g_autofree char *t1 = ns_test_fresh_path ("Lonely_t1.nii.gz");
  ns_test_write_volume (t1, 10);
  g_assert_cmpint (ns_queue_add (q, t1, &a, &error), ==, 0);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, t1));
}

static void
test_sort (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (NULL);
  const char *ids[3] = { "SortA", "SortB", "SortC" };
  const double unc[3] = { 0.2, 0.9, NAN };
  const int pred_lo[3] = { 4, 6, 4 };  /* A: perfect prediction, B: shifted, C: none */
  g_autofree char *mask = ns_test_fresh_path ("mask.nii.gz");
  ns_test_write_mask (mask, 4, 10, FALSE);
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *dir = ns_test_make_case (ids[i], ".nii.gz");
      g_autofree char *pred = ns_test_fresh_path ("pred.nii.gz");
      ns_test_write_mask (pred, pred_lo[i], pred_lo[i] + 6, FALSE);
      NsQueueAnnotation a = annotation (mask, i < 2 ? pred : NULL, unc[i]);
      g_assert_cmpint (ns_queue_add (q, dir, &a, &error), >, 0);
      g_assert_no_error (error);
    }
  struct { NsQueueSort sort; const char *want[3]; } cases[] = {
    { NS_QUEUE_SORT_ADDED, { "SortA", "SortB", "SortC" } },
    { NS_QUEUE_SORT_UNCERTAINTY, { "SortB", "SortA", "SortC" } },
    { NS_QUEUE_SORT_EFFORT, { "SortB", "SortA", "SortC" } },
  };
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr (GPtrArray) l = ns_queue_list (q, cases[c].sort, -1, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (l->len, ==, 3);
      for (int i = 0; i < 3; i++)
        g_assert_cmpstr (((NsQueueEntry *) l->pdata[i])->case_id, ==, cases[c].want[i]);
    }
  g_autoptr (NsQueueEntry) a = ns_queue_dup_entry (q, "SortA", &error);
  g_assert_cmpfloat (a->effort, ==, 1.0);
  g_assert_cmpint (a->edited_voxels, ==, 0);
}

static void
test_states (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (NULL);
  g_autofree char *dir = ns_test_make_case ("CaseStates", ".nii.gz");
  g_autofree char *mask = ns_test_fresh_path ("mask.nii.gz");
  ns_test_write_mask (mask, 4, 10, FALSE);
  NsQueueAnnotation a = annotation (mask, NULL, NAN);
  gint64 id = ns_queue_add (q, dir, &a, &error);
  g_assert_no_error (error);

  g_assert_true (ns_queue_set_state (q, id, NS_QUEUE_STATE_EXCLUDED, 0, "tester", "blurry",
                                     &error));
  g_assert_no_error (error);
  g_autoptr (GPtrArray) queued = ns_queue_list (q, NS_QUEUE_SORT_ADDED, NS_QUEUE_STATE_QUEUED,
                                                &error);
  g_assert_cmpuint (queued->len, ==, 0);
  g_autoptr (GPtrArray) excluded = ns_queue_list (q, NS_QUEUE_SORT_ADDED,
                                                  NS_QUEUE_STATE_EXCLUDED, &error);
  g_assert_cmpuint (excluded->len, ==, 1);
  g_assert_true (ns_queue_set_state (q, id, NS_QUEUE_STATE_QUEUED, 0, NULL, NULL, &error));
  g_assert_no_error (error);

  /* USED needs a registered model. */
  g_assert_false (ns_queue_set_state (q, id, NS_QUEUE_STATE_USED, 3, NULL, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (ns_queue_set_state (q, id + 100, NS_QUEUE_STATE_EXCLUDED, 0, NULL, NULL,
                                      &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, ns_db_get_path (q)));
  g_clear_error (&error);

  g_autoptr (GPtrArray) hist = ns_queue_list_history (q, id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (hist->len, ==, 3);
  NsQueueHistoryItem *h1 = hist->pdata[1];
  g_assert_cmpint (h1->state, ==, NS_QUEUE_STATE_EXCLUDED);
  g_assert_cmpstr (h1->note, ==, "blurry");
  g_assert_cmpstr (h1->who, ==, "tester");

  /* Two cases with one case id: the id is ambiguous, the path is not. */
  g_autofree char *other_parent = ns_test_fresh_path ("other");
  g_autofree char *other = g_build_filename (other_parent, "CaseStates", NULL);
  g_assert_cmpint (g_mkdir_with_parents (other_parent, 0755), ==, 0);
  g_autofree char *tmp_case = ns_test_make_case ("CaseStatesTmp", ".nii.gz");
  g_assert_cmpint (g_rename (tmp_case, other), ==, 0);
  g_assert_cmpint (ns_queue_add (q, other, &a, &error), >, 0);
  g_assert_no_error (error);
  g_assert_null (ns_queue_dup_entry (q, "CaseStates", &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_clear_error (&error);

  g_assert_true (ns_queue_remove (q, id, &error));
  g_assert_no_error (error);
  g_autoptr (NsQueueEntry) left = ns_queue_dup_entry (q, "CaseStates", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (left->path, ==, other);
  g_autoptr (GPtrArray) gone = ns_queue_list_history (q, id, &error);
  g_assert_cmpuint (gone->len, ==, 0);
  g_assert_false (ns_queue_remove (q, id, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  /* The files are still there. */
  g_assert_true (g_file_test (dir, G_FILE_TEST_IS_DIR));
  g_assert_true (g_file_test (mask, G_FILE_TEST_IS_REGULAR));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ns_test_db_init ();
  g_test_add_func ("/data/queue/add-and-effort", test_add_and_effort);
  g_test_add_func ("/data/queue/add-refuses-bad-images", test_add_refuses_bad_images);
  g_test_add_func ("/data/queue/add-files", test_add_files);
  g_test_add_func ("/data/queue/sort", test_sort);
  g_test_add_func ("/data/queue/states", test_states);
  return g_test_run ();
}
