/* SPDX-License-Identifier: MIT
 *
 * ns-test-queue.h: small synthetic cases, masks and databases shared by the tests of the
 * queue, the export, the registry and the runs (test-data-queue.c, test-data-export.c,
 * test-data-registry.c, test-data-runs.c, test-data-db.c, test-data-team.c).
 *
 * Every image is 16 x 16 x 8 voxels of 1 x 1 x 2 mm (NS_TEST_NX, ...); files go under
 * ns_test_tmpdir().
 *
 * The same test programs run on both engines of ns-db.h: meson registers each twice, the
 * second time with NS_TEST_DB=postgresql, and ns_test_db_init() (first in main()) then
 * starts a real server for the program (ns-test-pg.h).  A "location" is what ns_db_open()
 * takes: a file path, or the URI of a database on that server.
 */
#pragma once

#include "ns-db.h"
#include "ns-volume.h"

G_BEGIN_DECLS

#define NS_TEST_NX 16
#define NS_TEST_NY 16
#define NS_TEST_NZ 8
#define NS_TEST_NVOX (NS_TEST_NX * NS_TEST_NY * NS_TEST_NZ)

/* A fresh path "<n>-<stem>" under the temporary folder (owned). */
char   *ns_test_fresh_path    (const char *stem);
/* The grid of every test image. */
void    ns_test_grid          (NsGrid *grid);
/* A float volume on the grid: base + (i % 97). */
void    ns_test_write_volume  (const char *path, float base);
/* A label map: a box [lo, hi)^2 on slices 2..5 of label 2, with a core of 4 on slice 3 at
 * i = lo + 1 when with_core. */
void    ns_test_write_mask    (const char *path, int lo, int hi, gboolean with_core);
/* A BraTS-2018-style case folder with the four modalities (ext ".nii.gz" or ".nii"). */
char   *ns_test_make_case     (const char *id, const char *ext);
/* A 4-volume Medical Segmentation Decathlon file <id>.nii.gz. */
char   *ns_test_make_msd_case (const char *id);
/* Reads $NS_TEST_DB ("sqlite", the default, or "postgresql") and starts the server of
 * the latter; call first in main(). */
void     ns_test_db_init       (void);
/* The program runs on a server. */
gboolean ns_test_db_is_server  (void);
/* "sqlite" or "postgresql" (what ns_db_get_backend_name() says). */
const char *ns_test_db_backend (void);
/* A fresh location: a new file path named after stem, or a new database on the server. */
char   *ns_test_fresh_location (const char *stem);
/* A read-write database at a fresh location; *path_out (nullable) gets the location. */
NsDb   *ns_test_open_fresh_db (char **path_out);
/* One integer from a query on the database (its own connection). */
gint64  ns_test_sql_int       (const char *location, const char *sql);
/* Runs sql on the database (its own connection). */
void    ns_test_sql_exec      (const char *location, const char *sql);
/* The schema version of the database, and setting it (as a newer neuroseg would). */
gint64  ns_test_schema_version     (const char *location);
void    ns_test_set_schema_version (const char *location, gint64 version);
/* A case queued with a box mask; returns its row id. */
gint64  ns_test_queued_case   (NsDb *db, const char *id);
/* A file with content, standing for a model file (the registry only hashes it). */
char   *ns_test_fake_model    (const char *content);
/* The sha256 of a file (owned). */
char   *ns_test_file_sum      (const char *path);

G_END_DECLS
