/* SPDX-License-Identifier: MIT
 *
 * main.c: entry point of the neuroseg binary.  The first argument picks a subcommand
 * (info, eval, segment, ...); anything else (case folders, NIfTI files, or nothing)
 * opens the workbench.  In a build without the GUI, no argument prints `info` of the
 * bundled sample case instead.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-config.h"
#include "ns-cmd.h"
#include "ns-paths.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

static const NsCmd commands[] = {
  { "info", "Describe a volume or a case: grid, orientation, modalities, labels", ns_cmd_info },
  { "eval", "Dice, HD95 and volumes of a prediction against a truth", ns_cmd_eval },
  { "segment", "Segment a case with a model (label map, probabilities, stage times)",
    ns_cmd_segment },
  { "export-seg", "A label map as a DICOM Segmentation of its DICOM series", ns_cmd_export_seg },
  { "bench", "Timings on a real case: --io, --render, --edit, --net, --train", ns_cmd_bench },
  { "train", "Train a model on cases (validation Dice, checkpoints, --resume)", ns_cmd_train },
  { "interact-eval", "Simulated clicks of interactive correction: Dice after k clicks, NoC@90",
    ns_cmd_interact_eval },
  { "queue", "The fine-tuning queue: list, add, remove, exclude, requeue, export; claim, review",
    ns_cmd_queue },
  { "models", "The model registry: list, show, register, promote, rollback", ns_cmd_models },
  { "render", "PNG of one plane or of the three planes, with the label overlay", ns_cmd_render },
  { "import-encoder", "ImageNet MobileNetV2 (TFLite) as the encoder of a new model",
    ns_cmd_import_encoder },
  { "classify-imagenet", "Top-5 ImageNet classes of a photo with an imported MobileNetV2",
    ns_cmd_classify_imagenet },
};

gboolean
ns_cmd_parse (const char *cmd, const char *params, const char *summary,
              const GOptionEntry *entries, int *argc, char ***argv, int *status)
{
  return ns_cmd_parse_options (cmd, params, summary, entries, NULL, NULL, argc, argv, status);
}

static void
print_sub_usage (FILE *out, const char *cmd, const char *what, const NsCmd *subs, gsize n)
{
  fprintf (out, "Usage: neuroseg %s COMMAND [OPTIONS...]   (neuroseg %s COMMAND --help)\n\n"
                "%s\n\nCommands:\n", cmd, cmd, what);
  for (gsize i = 0; i < n; i++)
    fprintf (out, "  %-10s %s\n", subs[i].name, subs[i].summary);
}

int
ns_cmd_dispatch (const char *cmd, const char *what, const NsCmd *subs, gsize n_subs, int argc,
                 char **argv)
{
  if (argc < 2)
    {
      print_sub_usage (stderr, cmd, what, subs, n_subs);
      return 2;
    }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)
    {
      print_sub_usage (stdout, cmd, what, subs, n_subs);
      return 0;
    }
  for (gsize i = 0; i < n_subs; i++)
    if (strcmp (argv[1], subs[i].name) == 0)
      {
        g_autofree char *prog = g_strdup_printf ("neuroseg %s %s", cmd, subs[i].name);
        argv[1] = prog;
        return subs[i].func (argc - 1, argv + 1);
      }
  fprintf (stderr, "neuroseg %s: unknown command '%s'\n", cmd, ns_cmd_printable (argv[1]));
  print_sub_usage (stderr, cmd, what, subs, n_subs);
  return 2;
}

static void
print_usage (FILE *out)
{
  fprintf (out, "Usage: neuroseg [CASE_DIR | DICOM_DIR | FILE.nii[.gz] ...]\n"
                "       neuroseg COMMAND [OPTIONS...]   (neuroseg COMMAND --help)\n\n"
                "Commands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-18s %s\n", commands[i].name, commands[i].summary);
}

#if NS_HAVE_GUI
int ns_app_run (int argc, char **argv);
#endif

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  setlocale (LC_NUMERIC, "C"); /* numbers in files and JSON always use '.' */

  if (argc >= 2)
    {
      if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0
          || strcmp (argv[1], "help") == 0)
        {
          print_usage (stdout);
          return 0;
        }
      if (strcmp (argv[1], "--version") == 0)
        {
          printf ("neuroseg %s\n", NS_VERSION);
          return 0;
        }
      for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
        if (strcmp (argv[1], commands[i].name) == 0)
          {
            /* The subcommand sees argv[0] = "neuroseg COMMAND". */
            g_autofree char *prog = g_strdup_printf ("neuroseg %s", argv[1]);
            argv[1] = prog;
            return commands[i].func (argc - 1, argv + 1);
          }
    }

#if NS_HAVE_GUI
  return ns_app_run (argc, argv);
#else
  if (argc >= 2 && argv[1][0] == '-')
    {
      fprintf (stderr, "neuroseg: unknown option '%s'\n", ns_cmd_printable (argv[1]));
      print_usage (stderr);
      return 2;
    }
  /* Without the window: describe what would have been opened. */
  {
    char *info_argv[3] = { (char *) "neuroseg info", NULL, NULL };
    g_autoptr (GError) error = NULL;
    g_autofree char *sample = NULL;
    if (argc < 2 && (sample = ns_paths_dup_sample_case (&error)) == NULL)
      return ns_cmd_print_error (error);
    info_argv[1] = argc >= 2 ? argv[1] : sample;
    fprintf (stderr, "neuroseg: built without the GUI; showing `neuroseg info` instead\n");
    return ns_cmd_info (2, info_argv);
  }
#endif
}
