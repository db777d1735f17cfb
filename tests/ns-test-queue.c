/* SPDX-License-Identifier: MIT
 *
 * ns-test-queue.c: see ns-test-queue.h.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-test-queue.h"

#include "ns-nifti.h"
#include "ns-queue.h"
#include "ns-test-pg.h"
#include "ns-test-util.h"

#include <math.h>
#include <nifti1_io.h>
#include <sqlite3.h>

static int counter;

char *
ns_test_fresh_path (const char *stem)
{
  g_autofree char *name = g_strdup_printf ("%d-%s", ++counter, stem);
  return g_build_filename (ns_test_tmpdir (), name, NULL);
}

void
ns_test_grid (NsGrid *g)
{
  ns_grid_init (g, NS_TEST_NX, NS_TEST_NY, NS_TEST_NZ, 1.0, 1.0, 2.0);
}

void
ns_test_write_volume (const char *path, float base)
{
  g_autoptr (GError) error = NULL;
  NsGrid g;
  ns_test_grid (&g);
  g_autoptr (NsVolume) v = ns_volume_new (&g, &error);
  g_assert_no_error (error);
  for (int i = 0; i < NS_TEST_NVOX; i++)
    v->voxels[i] = base + (float) (i % 97);
  g_assert_true (ns_nifti_write_volume (v, path, &error));
  g_assert_no_error (error);
}

void
ns_test_write_mask (const char *path, int lo, int hi, gboolean with_core)
{
  g_autoptr (GError) error = NULL;
  NsGrid g;
  ns_test_grid (&g);
  g_autoptr (NsLabelMap) m = ns_label_map_new (&g, &error);
  g_assert_no_error (error);
  for (int k = 2; k < 6; k++)
    for (int j = lo; j < hi; j++)
      for (int i = lo; i < hi; i++)
        m->labels[ns_grid_index (&g, i, j, k)] = (with_core && k == 3 && i == lo + 1) ? 4 : 2;
  g_assert_true (ns_nifti_write_label_map (m, path, &error));
  g_assert_no_error (error);
}

char *
ns_test_make_case (const char *id, const char *ext)
{
  static const char *const mods[] = { "flair", "t1", "t1ce", "t2" };
  char *dir = g_build_filename (ns_test_tmpdir (), id, NULL);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  for (int m = 0; m < 4; m++)
    {
      g_autofree char *name = g_strdup_printf ("%s_%s%s", id, mods[m], ext);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      ns_test_write_volume (path, 100.0f * (m + 1));
    }
  return dir;
}

char *
ns_test_make_msd_case (const char *id)
{
  int dims[8] = { 4, NS_TEST_NX, NS_TEST_NY, NS_TEST_NZ, 4, 1, 1, 1 };
  nifti_image *nim = nifti_make_new_nim (dims, DT_FLOAT32, 1);
  float *v = nim->data;
  for (gsize i = 0; i < (gsize) NS_TEST_NVOX * 4; i++)
    v[i] = (float) (i / NS_TEST_NVOX) * 1000.0f + (float) (i % NS_TEST_NVOX);
  nim->pixdim[3] = nim->dz = 2.0f;
  g_autofree char *name = g_strdup_printf ("%s.nii.gz", id);
  char *path = g_build_filename (ns_test_tmpdir (), name, NULL);
  g_assert_cmpint (nifti_set_filenames (nim, path, 0, 1), ==, 0);
  nifti_image_write (nim);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  nifti_image_free (nim);
  return path;
}

static gboolean on_server;

void
ns_test_db_init (void)
{
  const char *which = g_getenv ("NS_TEST_DB");
  if (g_strcmp0 (which, "postgresql") == 0)
    {
      on_server = TRUE;
      ns_test_pg_start ();
    }
  else if (which != NULL && which[0] != '\0' && g_strcmp0 (which, "sqlite") != 0)
    g_error ("NS_TEST_DB=%s: sqlite or postgresql", which);
}

gboolean
ns_test_db_is_server (void)
{
  return on_server;
}

const char *
ns_test_db_backend (void)
{
  return on_server ? "postgresql" : "sqlite";
}

char *
ns_test_fresh_location (const char *stem)
{
  return on_server ? ns_test_pg_fresh_location ()
                   : ns_test_fresh_path (stem != NULL ? stem : "queue.db");
}

NsDb *
ns_test_open_fresh_db (char **path_out)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = ns_test_fresh_location ("queue.db");
  NsDb *db = ns_db_open (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (db);
  if (path_out != NULL)
    *path_out = g_steal_pointer (&path);
  return db;
}

gint64
ns_test_sql_int (const char *db_path, const char *sql)
{
  if (ns_db_location_is_server (db_path))
    return ns_test_pg_sql_int (db_path, sql);
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  g_assert_cmpint (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &st, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (st), ==, SQLITE_ROW);
  gint64 v = sqlite3_column_int64 (st, 0);
  sqlite3_finalize (st);
  sqlite3_close (db);
  return v;
}

void
ns_test_sql_exec (const char *db_path, const char *sql)
{
  if (ns_db_location_is_server (db_path))
    {
      ns_test_pg_sql_exec (db_path, sql);
      return;
    }
  sqlite3 *db = NULL;
  char *msg = NULL;
  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  int rc = sqlite3_exec (db, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK)
    g_error ("%s: %s", sql, msg);
  sqlite3_close (db);
}

gint64
ns_test_schema_version (const char *location)
{
  return ns_test_sql_int (location, on_server ? "SELECT max(version) FROM neuroseg_schema"
                                              : "PRAGMA user_version");
}

void
ns_test_set_schema_version (const char *location, gint64 version)
{
  g_autofree char *sql = on_server
    ? g_strdup_printf ("UPDATE neuroseg_schema SET version = %" G_GINT64_FORMAT, version)
    : g_strdup_printf ("PRAGMA user_version = %" G_GINT64_FORMAT, version);
  ns_test_sql_exec (location, sql);
}

gint64
ns_test_queued_case (NsDb *db, const char *id)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = ns_test_make_case (id, ".nii.gz");
  g_autofree char *mask = ns_test_fresh_path ("mask.nii.gz");
  ns_test_write_mask (mask, 4, 10, FALSE);
  NsQueueAnnotation a = { mask, NULL, 0, "tester", NAN };
  gint64 row = ns_queue_add (db, dir, &a, &error);
  g_assert_no_error (error);
  return row;
}

char *
ns_test_fake_model (const char *content)
{
  char *path = ns_test_fresh_path ("model.safetensors");
  g_assert_true (g_file_set_contents (path, content, -1, NULL));
  return path;
}

char *
ns_test_file_sum (const char *path)
{
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
}
