/* SPDX-License-Identifier: MIT
 *
 * ns-cmd.h: the subcommands of the neuroseg binary.  Each lives in its own
 * ns-cmd-<name>.c, parses its arguments with GOptionContext (numeric options checked
 * against their ranges), prints errors as one line (file + reason) through
 * ns_cmd_print_error(), every string from a user, a file or the database through
 * ns_cmd_printable(), checks the files it will write with ns_cmd_check_outputs() before
 * any work, and returns the exit status (0, or 1 on error; 2 on bad usage).
 */
#pragma once

#include <glib.h>

#include "ns-case.h"
#include "ns-dicom.h"

G_BEGIN_DECLS

typedef struct _JsonBuilder JsonBuilder;
typedef struct _JsonNode JsonNode;

typedef int (*NsCmdFunc) (int argc, char **argv);

typedef struct
{
  const char *name;
  const char *summary;
  NsCmdFunc func;
} NsCmd;

/* ---- printing (ns-cmd-print.c) ------------------------------------------------------- */

/* "neuroseg: <message>" on stderr, the message made printable; returns 1 so callers can
 * `return ns_cmd_print_error (e)`. */
int         ns_cmd_print_error     (const GError *error);
/* "neuroseg CMD: <message> (neuroseg CMD --help)" on stderr; returns 2 (bad usage). */
int         ns_cmd_usage_error     (const char *cmd, const char *message);
/* Every string that came from a user, a file name, a file or the database goes through
 * this before it is printed (data/ns-text.h: control characters, escape sequences and
 * invalid UTF-8 are shown as escapes).  Returns text itself when it is printable, else an
 * escaped copy kept until the program ends; NULL for NULL. */
const char *ns_cmd_printable       (const char *text);
/* value printed with format (one double conversion), or "-" when it is not finite (a
 * figure that does not exist); owned. */
char       *ns_cmd_dup_number_text (double value, const char *format);
/* root as JSON text and a newline on stdout, flushed (pretty: indented, several lines). */
void        ns_cmd_print_json      (JsonNode *root, gboolean pretty);
/* TRUE when stdout is a terminal (progress bars only then). */
gboolean    ns_cmd_stdout_is_tty   (void);

/* ---- options (ns-cmd-options.c) ---------------------------------------------------- */

typedef enum
{
  NS_CMD_INT,       /* int */
  NS_CMD_INT64,     /* gint64 */
  NS_CMD_DOUBLE,    /* double, finite */
} NsCmdNumberType;

/* A numeric option and the values it takes.  The value must be written out whole (no
 * trailing text), finite, in [min, max] (or (min, max] with above_min; min -INFINITY,
 * max INFINITY for no bound); otherwise the command ends with a usage error (exit 2)
 * naming the option, the range and what was given.  value (int *, gint64 * or double *)
 * and *given (nullable) are set only when the option is given, so the variable's initial
 * value is the default and never a sentinel a user could type. */
typedef struct
{
  const char *long_name;
  char short_name;
  NsCmdNumberType type;
  gpointer value;
  double min;
  double max;
  gboolean above_min;
  gboolean *given;
  const char *description;
  const char *arg_description;
} NsCmdNumber;

/* Parses argv with a GOptionContext carrying entries, more (a second list, e.g. the DICOM
 * series options) and numbers (each NULL-terminated by a NULL long_name; any may be
 * NULL), usage " PARAMS" and summary; prints the error and returns FALSE on bad usage
 * (*status set to 2) or after --help (*status 0). */
gboolean    ns_cmd_parse_options   (const char *cmd, const char *params, const char *summary,
                                    const GOptionEntry *entries, const GOptionEntry *more,
                                    const NsCmdNumber *numbers, int *argc, char ***argv,
                                    int *status);
/* ns_cmd_parse_options () with --db FILE (the queue and registry database, into *db,
 * owned by the caller) after entries: for `neuroseg queue ...` and `neuroseg models ...`. */
gboolean    ns_cmd_parse_with_db   (const char *cmd, const char *params, const char *summary,
                                    const GOptionEntry *entries, const NsCmdNumber *numbers,
                                    char **db, int *argc, char ***argv, int *status);
/* ns_cmd_parse_options () with entries alone. */
gboolean    ns_cmd_parse           (const char *cmd, const char *params, const char *summary,
                                    const GOptionEntry *entries, int *argc, char ***argv,
                                    int *status);
/* Commands with sub-commands (`neuroseg queue add ...`): runs the one named by argv[1]
 * with argv[0] = "neuroseg CMD SUB", or prints the list (--help: stdout, exit 0; no or an
 * unknown sub-command: stderr, exit 2).  what is the paragraph under the usage line. */
int         ns_cmd_dispatch        (const char *cmd, const char *what, const NsCmd *subs,
                                    gsize n_subs, int argc, char **argv);

/* ---- files written (ns-cmd-output.c) ------------------------------------------------ */

/* Adds (copies of) the files of a loaded case to inputs (a GPtrArray of g_free'd paths). */
void        ns_cmd_add_case_inputs      (GPtrArray *inputs, const NsCase *ncase);
/* The same for a case path given by the user, loaded or not: a folder's files by name
 * (ns_case_discover ()), every file of a DICOM folder (or of the folder of a DICOMDIR or
 * DICOM file), or the file itself.  Errors are those of ns_case_discover () and
 * ns_file_check_regular () (a missing case, a dangling link, ...), and a folder that
 * cannot be listed. */
gboolean    ns_cmd_add_case_path_inputs (GPtrArray *inputs, const char *path, GError **error);
/* Checks, before any work, the files a command will write (outputs, NULL-terminated):
 * none may be one of inputs (NULL-terminated, compared as files: see
 * ns_file_check_output ()), no two may be the same path, and none may exist unless force.
 * The error names the file; for an existing one it says that --force replaces it. */
gboolean    ns_cmd_check_outputs        (const char *const *outputs, const char *const *inputs,
                                         gboolean force, GError **error);

/* DICOM input (ns-cmd-dicom.c): which series is which sequence, for info and segment. */
typedef struct
{
  char *series[NS_N_MODALITIES];   /* --flair, --t1c, --t1, --t2 */
  char *grid;                      /* --grid flair|finest */
} NsCmdDicomOptions;

#define NS_CMD_DICOM_N_ENTRIES 6
/* The options above as GOption entries (NULL-terminated) writing into o. */
void        ns_cmd_dicom_entries        (NsCmdDicomOptions *o,
                                         GOptionEntry entries[NS_CMD_DICOM_N_ENTRIES]);
void        ns_cmd_dicom_options_clear  (NsCmdDicomOptions *o);
gboolean    ns_cmd_dicom_options_given  (const NsCmdDicomOptions *o);
gboolean    ns_cmd_dicom_assignment     (const NsCmdDicomOptions *o, NsDicomAssignment *a,
                                         GError **error);
/* The case of paths (NULL-terminated): one DICOM folder, DICOMDIR or file (with o's
 * assignment), one case folder or NIfTI file, or several NIfTI files.  The DICOM options
 * given for anything but DICOM are an error. */
NsCase     *ns_cmd_load_case            (const char *const *paths, NsCaseLoadFlags flags,
                                         const NsCmdDicomOptions *o, GError **error);
/* The series of a scan, a few lines each (number, description, grid or why not a volume,
 * the sequence it looks like and why). */
void        ns_cmd_print_dicom_series   (GPtrArray *scan);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (NsCmdDicomOptions, ns_cmd_dicom_options_clear)

int ns_cmd_info    (int argc, char **argv);
int ns_cmd_import_encoder    (int argc, char **argv);
int ns_cmd_classify_imagenet (int argc, char **argv);
int ns_cmd_eval    (int argc, char **argv);
int ns_cmd_bench   (int argc, char **argv);
int ns_cmd_segment (int argc, char **argv);
int ns_cmd_export_seg (int argc, char **argv);

/* The network section of `neuroseg bench` (ns-cmd-bench-net.c). */
typedef struct
{
  const char *case_path;
  int runs;
  const char *device;       /* default "cpu" */
  const char *model_path;   /* NULL: default architecture, Kaiming weights */
  const char *arch;
  gboolean bf16;            /* also bf16 inference (+ agreement) and bf16 training */
  gboolean profile;         /* time per op type */
  gboolean json;
  int train_batch;          /* default 16 */
  int train_size;           /* square crop of the training slices */
  int train_steps;          /* timed steps (default 3) */
  gboolean no_inference;
  gboolean no_training;
} NsBenchNetOptions;
gboolean ns_bench_net (const NsBenchNetOptions *options, JsonBuilder *json, GError **error);
/* The memory section of `neuroseg bench` (ns-cmd-bench-memory.c). */
gboolean ns_bench_memory (const char *case_path, gboolean json_only, JsonBuilder *json,
                          GError **error);
/* The interact section of `neuroseg bench` (ns-cmd-bench-interact.c): per-slice latency of
 * interactive correction; model_path NULL: a fresh interactive model. */
gboolean ns_bench_interact (const char *case_path, const char *model_path, int runs,
                            gboolean json_only, JsonBuilder *json, GError **error);
/* The 3D view's part of `neuroseg bench --render` (ns-cmd-bench-render3d.c). */
gboolean ns_bench_render3d (const char *case_path, const NsVolume *image,
                            const NsLabelMap *labels, int runs, gboolean json_only,
                            JsonBuilder *json, GError **error);
int ns_cmd_render  (int argc, char **argv);
int ns_cmd_train   (int argc, char **argv);
/* The simulated-click protocol of interactive correction (ns-cmd-interact.c). */
int ns_cmd_interact_eval (int argc, char **argv);
/* The fine-tuning queue and the model registry (data/ns-queue.h, data/ns-registry.h). */
int ns_cmd_queue   (int argc, char **argv);
int ns_cmd_models  (int argc, char **argv);

G_END_DECLS
