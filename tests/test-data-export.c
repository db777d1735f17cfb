/* SPDX-License-Identifier: MIT
 *
 * test-data-export.c: the queue as an nnU-Net dataset (data/ns-export.h): hard links,
 * compression of .nii, 4-D files split, consecutive labels, sources untouched, chosen
 * channels; a corrupt source or a mask gone is never exported and leaves nothing; no
 * common channel is an error; identifiers are file-name safe and short (issue 13,
 * defects 8 and 10).
 */
#include "ns-test-queue.h"
#include "ns-test-util.h"

#include "ns-data-error.h"
#include "ns-export.h"
#include "ns-nifti.h"
#include "ns-queue.h"

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

static NsQueueAnnotation
annotation (const char *mask)
{
  NsQueueAnnotation a = { mask, NULL, 0, "tester", NAN };
  return a;
}

static void
assert_empty_folder (const char *dir)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  g_assert_no_error (error);
  g_assert_null (g_dir_read_name (d));
}

static void
test_export (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (NULL);
  g_autofree char *gz_case = ns_test_make_case ("ExpGz", ".nii.gz");
  g_autofree char *nii_case = ns_test_make_case ("ExpNii", ".nii");
  g_autofree char *msd_case = ns_test_make_msd_case ("ExpMsd_001");
  g_autofree char *off_case = ns_test_make_case ("ExpExcluded", ".nii.gz");
  g_autofree char *mask = ns_test_fresh_path ("mask.nii.gz");
  ns_test_write_mask (mask, 4, 10, TRUE);
  g_autofree char *mask_sum = ns_test_file_sum (mask);
  g_autofree char *flair = g_build_filename (gz_case, "ExpGz_flair.nii.gz", NULL);
  g_autofree char *flair_sum = ns_test_file_sum (flair);
  g_autofree char *msd_sum = ns_test_file_sum (msd_case);

  NsQueueAnnotation a = annotation (mask);
  g_assert_cmpint (ns_queue_add (q, gz_case, &a, &error), >, 0);
  g_assert_cmpint (ns_queue_add (q, nii_case, &a, &error), >, 0);
  g_assert_cmpint (ns_queue_add (q, msd_case, &a, &error), >, 0);
  gint64 off = ns_queue_add (q, off_case, &a, &error);
  g_assert_no_error (error);
  g_assert_true (ns_queue_set_state (q, off, NS_QUEUE_STATE_EXCLUDED, 0, NULL, NULL, &error));

  g_autofree char *out = ns_test_fresh_path ("export");
  guint n = 0;
  g_assert_true (ns_export_nnunet (q, out, NULL, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 3);

  /* dataset.json (nnU-Net v2) */
  g_autofree char *json_path = g_build_filename (out, "dataset.json", NULL);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_assert_true (json_parser_load_from_file (parser, json_path, &error));
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (root, "numTraining"), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (root, "file_ending"), ==, ".nii.gz");
  JsonObject *ch = json_object_get_object_member (root, "channel_names");
  g_assert_cmpuint (json_object_get_size (ch), ==, 4);
  g_assert_cmpstr (json_object_get_string_member (ch, "0"), ==, "FLAIR");
  g_assert_cmpstr (json_object_get_string_member (ch, "1"), ==, "T1");
  g_assert_cmpstr (json_object_get_string_member (ch, "2"), ==, "T1ce");
  g_assert_cmpstr (json_object_get_string_member (ch, "3"), ==, "T2");
  g_assert_true (json_object_has_member (root, "modality"));
  JsonObject *labels = json_object_get_object_member (root, "labels");
  g_assert_cmpint (json_object_get_int_member (labels, "background"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (labels, "enhancing"), ==, 3);

  /* Images: the .nii.gz is a hard link to its source, the .nii was compressed, the 4-D
   * file was split; all decode to their sources' voxels. */
  g_autofree char *gz0 = g_build_filename (out, "imagesTr", "ExpGz_0000.nii.gz", NULL);
  GStatBuf s1, s2;
  g_assert_cmpint (g_stat (gz0, &s1), ==, 0);
  g_assert_cmpint (g_stat (flair, &s2), ==, 0);
  g_assert_cmpuint (s1.st_ino, ==, s2.st_ino);
  for (int c = 0; c < 4; c++)
    {
      static const char *const mods[] = { "flair", "t1", "t1ce", "t2" };
      g_autofree char *name = g_strdup_printf ("ExpNii_%04d.nii.gz", c);
      g_autofree char *exported = g_build_filename (out, "imagesTr", name, NULL);
      g_autofree char *src_name = g_strdup_printf ("ExpNii_%s.nii", mods[c]);
      g_autofree char *src = g_build_filename (nii_case, src_name, NULL);
      NsNiftiHeader hdr;
      g_assert_true (ns_nifti_read_header (exported, &hdr, &error));
      g_assert_true (hdr.compressed);
      g_autoptr (NsVolume) a1 = ns_nifti_read (exported, &error);
      g_autoptr (NsVolume) a2 = ns_nifti_read (src, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (ns_volume_n_voxels (a1), ==, NS_TEST_NVOX);
      ns_test_assert_same_voxels (a1, a2);

      g_autofree char *mname = g_strdup_printf ("ExpMsd_001_%04d.nii.gz", c);
      g_autofree char *mpath = g_build_filename (out, "imagesTr", mname, NULL);
      g_autoptr (NsVolume) mv = ns_nifti_read (mpath, &error);
      g_assert_no_error (error);
      g_assert_cmpfloat (ns_volume_get_value (mv, 5), ==, c * 1000.0f + 5);
    }
  g_autofree char *excluded = g_build_filename (out, "imagesTr", "ExpExcluded_0000.nii.gz", NULL);
  g_assert_false (g_file_test (excluded, G_FILE_TEST_EXISTS));

  /* Labels made consecutive: 4 -> 3. */
  g_autofree char *lab = g_build_filename (out, "labelsTr", "ExpGz.nii.gz", NULL);
  g_autoptr (NsVolume) lv = ns_nifti_read (lab, &error);
  g_assert_no_error (error);
  guint64 hist[5] = { 0 };
  for (int i = 0; i < NS_TEST_NVOX; i++)
    {
      g_assert_cmpfloat (ns_volume_get_value (lv, i), <=, 3);
      hist[(int) ns_volume_get_value (lv, i)]++;
    }
  g_assert_cmpuint (hist[3], ==, 6);
  g_assert_cmpuint (hist[2], ==, 144 - 6);

  /* Sources untouched. */
  g_autofree char *flair_sum2 = ns_test_file_sum (flair);
  g_autofree char *mask_sum2 = ns_test_file_sum (mask);
  g_autofree char *msd_sum2 = ns_test_file_sum (msd_case);
  g_assert_cmpstr (flair_sum, ==, flair_sum2);
  g_assert_cmpstr (mask_sum, ==, mask_sum2);
  g_assert_cmpstr (msd_sum, ==, msd_sum2);

  /* Never into a folder that holds something. */
  g_assert_false (ns_export_nnunet (q, out, NULL, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, out));
  g_clear_error (&error);

  /* Chosen channels, copies instead of links. */
  g_autofree char *out2 = ns_test_fresh_path ("export");
  char *mods[] = { (char *) "t1c", (char *) "flair", NULL };
  NsExportOptions opt = { FALSE, mods, TRUE };
  g_assert_true (ns_export_nnunet (q, out2, &opt, &n, &error));
  g_assert_no_error (error);
  g_autofree char *c0 = g_build_filename (out2, "imagesTr", "ExpGz_0001.nii.gz", NULL);
  g_autofree char *c2 = g_build_filename (out2, "imagesTr", "ExpGz_0002.nii.gz", NULL);
  g_assert_cmpint (g_stat (c0, &s1), ==, 0);
  g_assert_cmpuint (s1.st_ino, !=, s2.st_ino);
  g_assert_false (g_file_test (c2, G_FILE_TEST_EXISTS));

  /* A mask file gone since it was queued: the database holds the correction (#19: no
   * shared folder needed), the export uses it. */
  g_autofree char *gone_case = ns_test_make_case ("ExpGone", ".nii.gz");
  g_autofree char *gone_mask = ns_test_fresh_path ("mask.nii.gz");
  ns_test_write_mask (gone_mask, 4, 10, FALSE);
  NsQueueAnnotation g = annotation (gone_mask);
  gint64 gone = ns_queue_add (q, gone_case, &g, &error);
  g_assert_cmpint (gone, >, 0);
  g_assert_cmpint (g_unlink (gone_mask), ==, 0);
  g_autofree char *out3 = ns_test_fresh_path ("export");
  g_assert_true (ns_export_nnunet (q, out3, NULL, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 4);
  g_autofree char *gone_lab = g_build_filename (out3, "labelsTr", "ExpGone.nii.gz", NULL);
  g_autoptr (NsVolume) gv = ns_nifti_read (gone_lab, &error);
  g_assert_no_error (error);
  guint64 n_labelled = 0;
  for (int i = 0; i < NS_TEST_NVOX; i++)
    n_labelled += ns_volume_get_value (gv, i) == 2;
  g_assert_cmpuint (n_labelled, ==, 144);

  /* ... except for a case queued before masks were stored (its row of annotation_masks
   * missing): the export fails naming the file and leaves nothing. */
  g_autofree char *sql = g_strdup_printf ("DELETE FROM annotation_masks WHERE annotation_ref IN "
                                          "(SELECT id FROM annotations WHERE case_ref = %"
                                          G_GINT64_FORMAT ")", gone);
  ns_test_sql_exec (ns_db_get_path (q), sql);
  g_autofree char *parent = ns_test_fresh_path ("export-parent");
  g_autofree char *out4 = g_build_filename (parent, "out", NULL);
  g_assert_false (ns_export_nnunet (q, out4, NULL, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_true (g_str_has_prefix (error->message, gone_mask));
  g_assert_nonnull (strstr (error->message, "ExpGone"));
  g_clear_error (&error);
  assert_empty_folder (parent);
}

/* #19: what is exported is what was queued: a stored mask that was damaged, or an image
 * replaced by another valid one since, is refused naming it; only accepted corrections
 * when asked. */
static void
test_export_checked (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (&path);
  g_autofree char *mask = ns_test_fresh_path ("mask.nii.gz");
  ns_test_write_mask (mask, 4, 10, FALSE);
  NsQueueAnnotation a = annotation (mask);
  g_autofree char *dir_a = ns_test_make_case ("CheckedA", ".nii.gz");
  g_autofree char *dir_b = ns_test_make_case ("CheckedB", ".nii.gz");
  gint64 ca = ns_queue_add (q, dir_a, &a, &error);
  gint64 cb = ns_queue_add (q, dir_b, &a, &error);
  g_assert_no_error (error);

  /* Only accepted corrections: none yet, then the one a second reader accepted. */
  g_autofree char *out = ns_test_fresh_path ("checked");
  NsExportOptions accepted = { .accepted_only = TRUE };
  g_assert_false (ns_export_nnunet (q, out, &accepted, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "accepted"));
  g_clear_error (&error);
  g_assert_true (ns_queue_review (q, ca, 0, NS_QUEUE_REVIEW_ACCEPTED, "reviewer", NULL, &error));
  g_assert_true (ns_queue_review (q, cb, 0, NS_QUEUE_REVIEW_SENT_BACK, "reviewer", "edema",
                                  &error));
  g_assert_no_error (error);
  guint n = 0;
  g_assert_true (ns_export_nnunet (q, out, &accepted, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 1);
  g_autofree char *lab_a = g_build_filename (out, "labelsTr", "CheckedA.nii.gz", NULL);
  g_assert_true (g_file_test (lab_a, G_FILE_TEST_IS_REGULAR));

  /* An image replaced by a valid file of the same grid: not the case that was queued. */
  g_autofree char *t1 = g_build_filename (dir_b, "CheckedB_t1.nii.gz", NULL);
  ns_test_write_volume (t1, 7.0f);
  g_autofree char *out2 = ns_test_fresh_path ("checked");
  g_assert_false (ns_export_nnunet (q, out2, NULL, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
  g_assert_true (g_str_has_prefix (error->message, t1));
  g_assert_nonnull (strstr (error->message, "queued with"));
  g_clear_error (&error);
  g_assert_false (g_file_test (out2, G_FILE_TEST_EXISTS));
  g_assert_true (ns_queue_set_state (q, cb, NS_QUEUE_STATE_EXCLUDED, 0, NULL, NULL, &error));

  /* A stored mask damaged in the database: refused, naming the database. */
  g_autofree char *sql = g_strdup_printf ("UPDATE annotation_masks SET sha256 = 'bad' WHERE "
                                          "annotation_ref IN (SELECT id FROM annotations WHERE "
                                          "case_ref = %" G_GINT64_FORMAT ")", ca);
  ns_test_sql_exec (path, sql);
  g_assert_false (ns_export_nnunet (q, out2, NULL, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT);
  g_assert_true (g_str_has_prefix (error->message, ns_db_get_path (q)));
  g_assert_nonnull (strstr (error->message, "damaged"));
  g_assert_nonnull (strstr (error->message, "CheckedA"));
  g_assert_false (g_file_test (out2, G_FILE_TEST_EXISTS));
}

/* #13, defect 8: a source that no longer decodes (truncated after it was queued) is never
 * linked into the dataset: the export fails naming the file and the case, leaving
 * nothing; so does a source that moved to another grid. */
static void
test_export_corrupt_source (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (NULL);
  g_autofree char *mask = ns_test_fresh_path ("mask.nii.gz");
  ns_test_write_mask (mask, 4, 10, FALSE);
  NsQueueAnnotation a = annotation (mask);
  g_autofree char *ok_case = ns_test_make_case ("CorruptOk", ".nii.gz");
  g_autofree char *bad_case = ns_test_make_case ("CorruptLater", ".nii.gz");
  g_assert_cmpint (ns_queue_add (q, ok_case, &a, &error), >, 0);
  gint64 bad = ns_queue_add (q, bad_case, &a, &error);
  g_assert_no_error (error);

  g_autofree char *t2 = g_build_filename (bad_case, "CorruptLater_t2.nii.gz", NULL);
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (t2, &data, &len, NULL));
  g_assert_true (g_file_set_contents (t2, data, len / 2, NULL));

  g_autofree char *parent = ns_test_fresh_path ("corrupt-export");
  g_autofree char *out = g_build_filename (parent, "out", NULL);
  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  g_assert_false (ns_export_nnunet (q, out, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error->message, t2));
  g_assert_nonnull (strstr (error->message, "CorruptLater"));
  g_autofree char *hint = g_strdup_printf ("neuroseg queue exclude %" G_GINT64_FORMAT, bad);
  g_assert_nonnull (strstr (error->message, hint));
  g_clear_error (&error);
  assert_empty_folder (parent);
  /* The source was not hard-linked anywhere: it still has one link. */
  GStatBuf st;
  g_assert_cmpint (g_stat (t2, &st), ==, 0);
  g_assert_cmpuint (st.st_nlink, ==, 1);

  /* Another grid: the T2 replaced by one of fewer slices. */
  {
    NsGrid g;
    ns_grid_init (&g, NS_TEST_NX, NS_TEST_NY, NS_TEST_NZ - 1, 1.0, 1.0, 2.0);
    g_autoptr (NsVolume) v = ns_volume_new (&g, &error);
    g_assert_true (ns_nifti_write_volume (v, t2, &error));
  }
  g_assert_false (ns_export_nnunet (q, out, NULL, NULL, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_assert_true (g_str_has_prefix (error->message, t2));
  g_clear_error (&error);
  assert_empty_folder (parent);

  /* Left out, the rest exports. */
  g_assert_true (ns_queue_set_state (q, bad, NS_QUEUE_STATE_EXCLUDED, 0, NULL, NULL, &error));
  guint n = 0;
  g_assert_true (ns_export_nnunet (q, out, NULL, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 1);
}

/* #13, defect 8: cases without a channel in common are an error, not an empty success. */
static void
test_export_no_common_channel (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (&path);
  gint64 a = ns_test_queued_case (q, "NoCommonA");
  ns_test_queued_case (q, "NoCommonB");
  /* As a database migrated from schema 1 may hold: a case without modality files. */
  g_autofree char *sql = g_strdup_printf ("UPDATE cases SET modalities = '[]' WHERE id = %"
                                          G_GINT64_FORMAT, a);
  ns_test_sql_exec (path, sql);

  g_autofree char *out = ns_test_fresh_path ("no-common");
  guint n = 99;
  g_assert_false (ns_export_nnunet (q, out, NULL, &n, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "no image modality is common"));
  g_assert_cmpuint (n, ==, 99);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

static gboolean
safe_identifier (const char *id)
{
  if (id[0] == '\0' || id[0] == '-' || id[0] == '.' || strlen (id) > NS_EXPORT_IDENTIFIER_MAX)
    return FALSE;
  for (const char *p = id; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

/* #13, defect 10: identifiers are short, safe and unique. */
static void
test_identifiers (void)
{
  g_autoptr (GHashTable) used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *long_a = g_strnfill (250, 'a');
  const char *names[] = { "Brats18_CBICA_ABM_1", ".hidden", "-rf", "--help", "a b/c.d",
                          "Müller", "", long_a, long_a, long_a, "Brats18_CBICA_ABM_1" };
  g_autoptr (GPtrArray) got = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      char *id = ns_export_dup_identifier (names[i], used);
      g_assert_true (safe_identifier (id));
      for (guint j = 0; j < got->len; j++)
        g_assert_cmpstr (id, !=, got->pdata[j]);
      g_ptr_array_add (got, id);
    }
  g_assert_cmpstr (got->pdata[0], ==, "Brats18_CBICA_ABM_1");
  g_assert_cmpstr (got->pdata[1], ==, "_hidden");
  g_assert_cmpstr (got->pdata[2], ==, "_rf");
  g_assert_cmpstr (got->pdata[3], ==, "_-help");
  g_assert_cmpstr (got->pdata[4], ==, "a_b_c_d");
  g_assert_cmpstr (got->pdata[6], ==, "case");
  g_assert_cmpuint (strlen (got->pdata[7]), ==, NS_EXPORT_IDENTIFIER_MAX);
  g_assert_cmpuint (strlen (got->pdata[8]), ==, NS_EXPORT_IDENTIFIER_MAX);
  g_assert_true (g_str_has_suffix (got->pdata[8], "_2"));
  g_assert_true (g_str_has_suffix (got->pdata[9], "_3"));
  g_assert_cmpstr (got->pdata[10], ==, "Brats18_CBICA_ABM_1_2");
}

/* #13, defect 10: a case with a 250-character name, one named like an option and one
 * like a hidden file export with the others instead of failing the whole export. */
static void
test_export_awkward_names (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDb) q = ns_test_open_fresh_db (NULL);
  g_autofree char *long_name = g_strnfill (250, 'x');
  const char *names[] = { long_name, "-Dash_1", ".Dot_1", "Plain_1" };
  g_autofree char *mask = ns_test_fresh_path ("mask.nii.gz");
  ns_test_write_mask (mask, 4, 10, FALSE);
  NsQueueAnnotation a = annotation (mask);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      /* the folder gets the awkward name; its files keep plain ones */
      g_autofree char *tmp_id = g_strdup_printf ("Awkward%u", i);
      g_autofree char *tmp = ns_test_make_case (tmp_id, ".nii.gz");
      g_autofree char *dir = g_build_filename (ns_test_tmpdir (), names[i], NULL);
      g_assert_cmpint (g_rename (tmp, dir), ==, 0);
      g_assert_cmpint (ns_queue_add (q, dir, &a, &error), >, 0);
      g_assert_no_error (error);
    }

  g_autofree char *out = ns_test_fresh_path ("awkward");
  guint n = 0;
  g_assert_true (ns_export_nnunet (q, out, NULL, &n, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 4);
  g_autofree char *images = g_build_filename (out, "imagesTr", NULL);
  g_autoptr (GDir) d = g_dir_open (images, 0, &error);
  g_assert_no_error (error);
  guint files = 0;
  for (const char *name; (name = g_dir_read_name (d)) != NULL; files++)
    {
      g_assert_true (name[0] != '.' && name[0] != '-');
      g_assert_cmpuint (strlen (name), <=, NS_EXPORT_IDENTIFIER_MAX + strlen ("_0000.nii.gz"));
    }
  g_assert_cmpuint (files, ==, 4 * 4);
  g_autofree char *plain = g_build_filename (out, "labelsTr", "Plain_1.nii.gz", NULL);
  g_assert_true (g_file_test (plain, G_FILE_TEST_IS_REGULAR));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ns_test_db_init ();
  g_test_add_func ("/data/export/nnunet", test_export);
  g_test_add_func ("/data/export/corrupt-source", test_export_corrupt_source);
  g_test_add_func ("/data/export/checked", test_export_checked);
  g_test_add_func ("/data/export/no-common-channel", test_export_no_common_channel);
  g_test_add_func ("/data/export/identifiers", test_identifiers);
  g_test_add_func ("/data/export/awkward-names", test_export_awkward_names);
  return g_test_run ();
}
