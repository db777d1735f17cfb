/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-segment.c: `neuroseg segment`: a case in, a label map (and optionally the class
 * probabilities) out, on the case's grid, with the time of each stage.
 *
 * The probabilities are written one 3-D float file per class, named after the given
 * path with the class appended (P.nii.gz -> P-background.nii.gz, P-edema.nii.gz, ...),
 * because the NIfTI writer of data/ writes 3-D volumes.
 *
 * A DICOM folder is a case too (--flair etc. where its series are unclear); the label map
 * is still written as NIfTI, and --seg-dicom also writes it as a DICOM-SEG of the series
 * on whose grid it lies.
 *
 * Nothing is written over an input of the run (the case's files, every file of a DICOM
 * folder, the model, through any link) and no existing file is replaced without --force;
 * both are checked before the network runs.  When the device cannot finish the case (it
 * failed, or had no memory for one slice) the engine finishes on the CPU and its note
 * says why, on stderr.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-cmd.h"

#include "ns-case.h"
#include "ns-checkpoint.h"
#include "ns-dicom.h"
#include "ns-infer.h"
#include "ns-nifti.h"
#include "ns-registry.h"

#include <stdio.h>
#include <string.h>

static void
progress_cb (int done, int total, gpointer user_data)
{
  const int width = 40;
  int filled = total > 0 ? done * width / total : width;
  fprintf (stdout, "\r[");
  for (int i = 0; i < width; i++)
    fputc (i < filled ? '#' : ' ', stdout);
  fprintf (stdout, "] %d/%d slices", done, total);
  if (done == total)
    fputc ('\n', stdout);
  fflush (stdout);
}

/* P.nii.gz + "NCR/NET" -> P-ncr-net.nii.gz */
static char *
class_path (const char *path, const char *class_name)
{
  const char *ext = g_str_has_suffix (path, ".nii.gz") ? ".nii.gz"
                    : g_str_has_suffix (path, ".nii") ? ".nii" : "";
  g_autofree char *stem = g_strndup (path, strlen (path) - strlen (ext));
  g_autofree char *slug = g_ascii_strdown (class_name, -1);
  for (char *c = slug; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c))
      *c = '-';
  return g_strdup_printf ("%s-%s%s", stem, slug, *ext ? ext : ".nii.gz");
}

int
ns_cmd_segment (int argc, char **argv)
{
  g_autofree char *model_path = NULL;
  g_autofree char *device = NULL;
  g_autofree char *precision = NULL;
  g_autofree char *prob_path = NULL;
  g_autofree char *out_path = NULL;
  g_autofree char *seg_dicom = NULL;
  g_auto (NsCmdDicomOptions) dicom = { { NULL } };
  GOptionEntry dicom_entries[NS_CMD_DICOM_N_ENTRIES];
  int memory_mb = 0, limit_mb = 0, tta = 0, pp_et = -1, pp_component = -1;
  gboolean quiet = FALSE, force = FALSE, no_postprocess = FALSE;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_path, "Model checkpoint (.safetensors)", "M" },
    { "device", 'd', 0, G_OPTION_ARG_STRING, &device, "auto, cpu, ref or cuda (default auto)",
      "DEV" },
    { "precision", 0, 0, G_OPTION_ARG_STRING, &precision, "fp32 (default) or bf16", "P" },
    { "probabilities", 'p', 0, G_OPTION_ARG_FILENAME, &prob_path,
      "Also write the class probabilities (one file per class, named after P)", "P.nii.gz" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &out_path, "Label map to write", "OUT.nii.gz" },
    { "seg-dicom", 0, 0, G_OPTION_ARG_FILENAME, &seg_dicom,
      "DICOM input: also write the label map as a DICOM Segmentation", "OUT.dcm" },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force,
      "Replace output files that exist (an input of the run is never replaced)", NULL },
    { "no-postprocess", 0, 0, G_OPTION_ARG_NONE, &no_postprocess, "Skip the model's "
      "post-processing", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &quiet, "Print nothing but errors", NULL },
    { NULL }
  };
  const NsCmdNumber numbers[] = {
    { "memory", 0, NS_CMD_INT, &memory_mb, 1, 1 << 20, FALSE, NULL,
      "Memory budget of one batch in MB (default: 1024, or 90 % of the GPU's free memory if "
      "less; 256 on the CPU)", "MB" },
    { "memory-limit", 0, NS_CMD_INT, &limit_mb, 1, 1 << 20, FALSE, NULL,
      "Use at most this much device memory in MB (sharing a GPU); a batch that does not fit "
      "is halved, and at one slice the rest runs on the CPU", "MB" },
    { "tta", 0, NS_CMD_INT, &tta, 0, 3, FALSE, NULL, "Test-time augmentation: mirrored "
      "passes averaged with the plain one: 0 (default), 1 (left-right) or 3 (left-right, "
      "up-down, both)", "N" },
    { "postprocess-et-below", 0, NS_CMD_INT, &pp_et, 0, 1e9, FALSE, NULL, "Instead of the "
      "model's: enhancing tumour of fewer than N voxels becomes necrosis / core", "N" },
    { "postprocess-min-component", 0, NS_CMD_INT, &pp_component, 0, 1e9, FALSE, NULL,
      "Instead of the model's: tumour components below N voxels are dropped", "N" },
    { NULL }
  };
  int status;
  g_autoptr (GError) error = NULL;

  ns_cmd_dicom_entries (&dicom, dicom_entries);
  if (!ns_cmd_parse_options ("segment", "CASE_DIR | DICOM_DIR | FILE.nii[.gz]...",
                             "Segment a case with a model; prints the time of each stage.",
                             entries, dicom_entries, numbers, &argc, &argv, &status))
    return status;
  if (argc < 2 || out_path == NULL)
    {
      fprintf (stderr, "neuroseg segment: need -o OUT.nii.gz and a CASE (see --help)\n");
      return 2;
    }
  if (seg_dicom != NULL && !(argc == 2 && ns_dicom_is_case_path (argv[1])))
    {
      fprintf (stderr, "neuroseg segment: --seg-dicom needs a DICOM case (a DICOM folder or "
                       "DICOMDIR); %s is not one\n", ns_cmd_printable (argv[1]));
      return 2;
    }
  /* Without --model, the one rule of the default model: the registry's promoted default,
   * else the shipped model (data/ns-registry.h); never the working directory. */
  g_autofree char *model_why = NULL;
  int model_version = NS_REGISTRY_NONE;
  if (model_path == NULL)
    {
      model_path = ns_registry_dup_default_model (NULL, &model_version, &model_why, &error);
      if (model_path == NULL)
        {
          fprintf (stderr, "neuroseg segment: %s (or pass --model MODEL.safetensors)\n",
                   ns_cmd_printable (error->message));
          return 1;
        }
    }
  NsPrecision prec = NS_PRECISION_FP32;
  if (precision != NULL && g_ascii_strcasecmp (precision, "bf16") == 0)
    prec = NS_PRECISION_BF16;
  else if (precision != NULL && g_ascii_strcasecmp (precision, "fp32") != 0)
    {
      fprintf (stderr, "neuroseg segment: --precision must be fp32 or bf16, not '%s'\n",
               ns_cmd_printable (precision));
      return 2;
    }
  gboolean verbose = !quiet;
  gint64 t_all = g_get_monotonic_time (), t0;

  /* The case. */
  t0 = g_get_monotonic_time ();
  g_autoptr (NsCase) ncase = ns_cmd_load_case ((const char *const *) argv + 1,
                                               NS_CASE_LOAD_SKIP_LABELS, &dicom, &error);
  if (ncase == NULL && error->domain == G_OPTION_ERROR)
    {
      fprintf (stderr, "neuroseg segment: %s\n", ns_cmd_printable (error->message));
      return 2;
    }
  if (ncase == NULL)
    return ns_cmd_print_error (error);
  if (verbose)
    for (char **note = ncase->notes; note != NULL && *note != NULL; note++)
      printf ("note: %s\n", ns_cmd_printable (*note));
  double t_load = (g_get_monotonic_time () - t0) / 1e6;

  /* The backend and the model. */
  t0 = g_get_monotonic_time ();
  g_autoptr (NsBackend) be = ns_backend_new (device != NULL ? device : "auto", &error);
  if (be == NULL)
    return ns_cmd_print_error (error);
  if (!ns_backend_set_precision (be, prec, &error))
    return ns_cmd_print_error (error);
  if (limit_mb > 0)
    ns_backend_set_memory_limit (be, (gsize) limit_mb << 20);
  g_autoptr (NsModel) model = ns_checkpoint_load (model_path, be, &error);
  if (model == NULL)
    return ns_cmd_print_error (error);
  double t_model = (g_get_monotonic_time () - t0) / 1e6;
  const NsModelMeta *meta = ns_model_get_meta (model);

  /* What will be written, checked before the network runs. */
  g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func (g_free);
  ns_cmd_add_case_inputs (inputs, ncase);
  for (int i = 1; i < argc; i++)
    if (!ns_cmd_add_case_path_inputs (inputs, argv[i], &error))
      return ns_cmd_print_error (error);
  g_ptr_array_add (inputs, g_strdup (model_path));
  g_ptr_array_add (inputs, NULL);
  g_autoptr (GPtrArray) outputs = g_ptr_array_new_with_free_func (g_free);
  for (int k = 0; prob_path != NULL && k < meta->n_classes; k++)
    g_ptr_array_add (outputs, class_path (prob_path, meta->classes[k].name));
  g_ptr_array_add (outputs, g_strdup (out_path));
  if (seg_dicom != NULL)
    g_ptr_array_add (outputs, g_strdup (seg_dicom));
  g_ptr_array_add (outputs, NULL);
  if (!ns_cmd_check_outputs ((const char *const *) outputs->pdata,
                             (const char *const *) inputs->pdata, force, &error))
    return ns_cmd_print_error (error);

  NsInferOptions opt = { 0 };
  opt.memory_budget = memory_mb > 0 ? (gsize) memory_mb << 20 : 0;
  opt.want_probabilities = prob_path != NULL;
  opt.tta = tta;
  opt.no_postprocess = no_postprocess;
  NsPostprocessParams pp = ns_model_get_meta (model)->postprocess;
  if (pp_et >= 0)
    pp = (NsPostprocessParams) { pp.min_component_voxels, pp_et > 0 ? 4 : 0, pp_et,
                                 pp_et > 0 ? 1 : 0 };
  if (pp_component >= 0)
    pp.min_component_voxels = pp_component;
  if (pp_et >= 0 || pp_component >= 0)
    opt.postprocess = &pp;
  if (verbose && ns_cmd_stdout_is_tty ())
    opt.progress = progress_cb;
  g_autoptr (NsInferResult) r = ns_infer_run_case (model, ncase, &opt, &error);
  if (r == NULL)
    return ns_cmd_print_error (error);
  if (r->stats.cpu_fallback)
    fprintf (stderr, "neuroseg segment: %s\n", ns_cmd_printable (r->stats.note));
  else if (r->stats.oom_retries > 0 && verbose)
    fprintf (stderr, "neuroseg segment: out of memory %d time%s on %s; batches were "
             "halved to %d slices\n", r->stats.oom_retries,
             r->stats.oom_retries == 1 ? "" : "s", ns_backend_get_device (be),
             r->stats.batch_size);

  t0 = g_get_monotonic_time ();
  if (!ns_nifti_write_label_map (r->labels, out_path, &error))
    return ns_cmd_print_error (error);
  if (prob_path != NULL)
    for (int k = 0; k < r->n_classes; k++)
      {
        const char *p = outputs->pdata[k];
        if (!ns_nifti_write_volume (r->probabilities[k], p, &error))
          return ns_cmd_print_error (error);
        if (verbose)
          printf ("probabilities of %s: %s\n", ns_cmd_printable (meta->classes[k].name),
                  ns_cmd_printable (p));
      }
  if (seg_dicom != NULL)
    {
      g_autofree char *model_name = g_path_get_basename (model_path);
      g_autofree char *algorithm = g_strdup_printf ("Neuroseg %s", model_name);
      NsDicomSegOptions options = { NULL, 0, algorithm, NULL };
      if (!ns_dicom_seg_write_for_case (ncase, r->labels, seg_dicom, &options, &error))
        return ns_cmd_print_error (error);
    }
  double t_write = (g_get_monotonic_time () - t0) / 1e6;
  double t_total = (g_get_monotonic_time () - t_all) / 1e6;

  if (verbose)
    {
      const NsInferStats *s = &r->stats;
      printf ("device       %s (%s, %s)\n", ns_backend_get_name (be), s->device,
              prec == NS_PRECISION_BF16 ? "bf16" : "fp32");
      printf ("model        %s (%s)\n", ns_cmd_printable (model_path), meta->arch);
      if (model_why != NULL)
        printf ("             registry version %d, %s\n", model_version,
                ns_cmd_printable (model_why));
      printf ("slices       %d of %d with brain, crop %d x %d, %d batch%s of %d\n",
              s->slices_run, s->slices_total, s->crop_size[0], s->crop_size[1], s->n_batches,
              s->n_batches == 1 ? "" : "es", s->batch_size);
      printf ("load case    %8.3f s\n", t_load);
      printf ("load model   %8.3f s\n", t_model);
      printf ("normalise    %8.3f s\n", s->normalise);
      printf ("crop         %8.3f s\n", s->crop);
      printf ("network      %8.3f s  (%.1f GFLOP, %.1f GFLOP/s, %d pass%s)\n", s->forward,
              s->gflop, s->forward > 0 ? s->gflop / s->forward : 0.0, s->passes,
              s->passes == 1 ? "" : "es");
      printf ("postprocess  %8.3f s", s->postprocess);
      if (s->postprocess_stats.components_dropped > 0 || s->postprocess_stats.relabelled)
        printf ("  (%d small component%s dropped%s)", s->postprocess_stats.components_dropped,
                s->postprocess_stats.components_dropped == 1 ? "" : "s",
                s->postprocess_stats.relabelled ? ", small enhancing tumour relabelled" : "");
      printf ("\n");
      printf ("first pass   %8.3f s  (from the start of inference)\n", s->first_pass);
      printf ("write        %8.3f s\n", t_write);
      printf ("total        %8.3f s\n", t_total);
      printf ("labels: %s\n", ns_cmd_printable (out_path));
      if (seg_dicom != NULL)
        printf ("DICOM-SEG: %s\n", ns_cmd_printable (seg_dicom));
    }
  return 0;
}
