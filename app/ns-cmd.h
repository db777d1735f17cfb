/* SPDX-License-Identifier: MIT
 *
 * ns-cmd.h: the subcommands of the neuroseg binary.  Each lives in its own
 * ns-cmd-<name>.c, parses its arguments with GOptionContext, prints errors as one line
 * (file + reason) through ns_cmd_print_error() and returns the exit status (0, or 1 on
 * error; 2 on bad usage).
 */
#pragma once

#include <glib.h>

#include "ns-dicom.h"

G_BEGIN_DECLS

typedef int (*NsCmdFunc) (int argc, char **argv);

typedef struct
{
  const char *name;
  const char *summary;
  NsCmdFunc func;
} NsCmd;

/* "neuroseg: <message>" on stderr; returns 1 so callers can `return ns_cmd_print_error (e)`. */
int         ns_cmd_print_error     (const GError *error);
/* Parses argv with a GOptionContext carrying entries, usage " PARAMS" and summary;
 * prints the error and returns FALSE on bad usage (*status set to 2) or after --help
 * (*status 0). */
gboolean    ns_cmd_parse           (const char *cmd, const char *params, const char *summary,
                                    const GOptionEntry *entries, int *argc, char ***argv,
                                    int *status);
/* Commands with sub-commands (`neuroseg queue add ...`): runs the one named by argv[1]
 * with argv[0] = "neuroseg CMD SUB", or prints the list (--help: stdout, exit 0; no or an
 * unknown sub-command: stderr, exit 2).  what is the paragraph under the usage line. */
int         ns_cmd_dispatch        (const char *cmd, const char *what, const NsCmd *subs,
                                    gsize n_subs, int argc, char **argv);
/* TRUE when stdout is a terminal (progress bars only then). */
gboolean    ns_cmd_stdout_is_tty   (void);
/* ns_cmd_parse () with a second list of entries in the main group (may be NULL). */
gboolean    ns_cmd_parse_full      (const char *cmd, const char *params, const char *summary,
                                    const GOptionEntry *entries, const GOptionEntry *more,
                                    int *argc, char ***argv, int *status);

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
typedef struct _JsonBuilder JsonBuilder;
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
int ns_cmd_render  (int argc, char **argv);
int ns_cmd_train   (int argc, char **argv);
/* The fine-tuning queue and the model registry (data/ns-queue.h, data/ns-registry.h). */
int ns_cmd_queue   (int argc, char **argv);
int ns_cmd_models  (int argc, char **argv);

G_END_DECLS
