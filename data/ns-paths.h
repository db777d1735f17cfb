/* SPDX-License-Identifier: MIT
 *
 * ns-paths.h: where the program's own files are (the shipped model, the bundled sample
 * case), found from the location of the running executable (/proc/self/exe), never from
 * the working directory.
 *
 * The data folder (ns_paths_resolve_data_dir()) holds models/default.safetensors and
 * samples/Brats18_CBICA_ABM_1:
 * 1. an executable inside the build tree it was compiled in (NS_BUILD_ROOT; the test
 *    programs are executables there too) uses the source tree's resources/;
 * 2. else <exe_dir>/../share/neuroseg when that folder exists: an installed copy wherever
 *    its prefix was moved to (a relocatable install, `meson install --destdir`);
 * 3. else the compile-time data folder NS_DATADIR ($prefix/share/neuroseg).
 * An installed binary therefore never uses the source tree it was built from.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The shipped model's name in the data folder's models/. */
#define NS_PATHS_SHIPPED_MODEL "default.safetensors"
/* The bundled case's folder name in the data folder's samples/. */
#define NS_PATHS_SAMPLE_CASE "Brats18_CBICA_ABM_1"

/* The rule above as a pure function: exe is the running executable (absolute, symbolic
 * links resolved), build_root, source_dir and datadir the compile-time folders.  Returns
 * the data folder (owned); for the build tree that is source_dir/resources. */
char *ns_paths_resolve_data_dir   (const char *exe, const char *build_root,
                                   const char *source_dir, const char *datadir);

/* The running executable (from /proc/self/exe; owned), or NULL when it cannot be read. */
char *ns_paths_dup_executable     (void);
/* The data folder of the running program (owned, never NULL; it may not exist). */
char *ns_paths_dup_data_dir       (void);
/* The shipped model (data folder/models/default.safetensors), or NULL +
 * NS_DATA_ERROR_NOT_FOUND naming where it was looked for. */
char *ns_paths_dup_shipped_model  (GError **error);
/* The bundled sample case folder: $NEUROSEG_SAMPLE_CASE when set, else data
 * folder/samples/Brats18_CBICA_ABM_1; NULL + NS_DATA_ERROR_NOT_FOUND naming the folder
 * when it is not there. */
char *ns_paths_dup_sample_case    (GError **error);

G_END_DECLS
