/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-bench-memory.c: the memory section of `neuroseg bench` (`--memory`): what the
 * process holds resident (VmRSS) and its peak (VmHWM) at each step of what the workbench
 * does with a case, read from /proc/self/status:
 *   start   the process before any case (libraries, the command line);
 *   open    the case opened as the workbench opens a folder (ns_case_load, every file
 *           decoded in parallel) and the statistics its viewer computes (window/level
 *           presets, brain percentiles, range); resident after, peak during;
 *   3d      the 3D view's own memory as the workbench holds it where GL is software: the
 *           label surfaces and the brain outline meshed (blocks of 16^3, the outline on a
 *           2x coarser grid, as ui/ns-view3d.c) and one 512 x 512 frame drawn by the CPU
 *           renderer (its copy of the triangles, depth buffer, the scene it keeps and the
 *           frame); resident growth, with the bytes of each part;
 *   run     Run Model as the workbench's model runner does it (default model, "auto"
 *           device, ns_infer_run_case with default options); peak during, resident after
 *           the network and its result are freed.
 * The peak of a step is measured by resetting VmHWM first (writing 5 to
 * /proc/self/clear_refs, Linux 4.0 and later); where that is refused the peak is the
 * process's since it started, and the output says so.  The GUI window itself (GTK,
 * textures, the model runner's buffers) is measured by tools/bench/memory.
 *
 * Also printed: the bytes the case's voxels take in memory, by storage type, against
 * what float32 storage of every image would take (ns-volume.h).
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-cmd.h"
#include "ns-json.h"

#include "ns-case.h"
#include "ns-checkpoint.h"
#include "ns-infer.h"
#include "ns-mesh.h"
#include "ns-raster3d.h"
#include "ns-registry.h"
#include "ns-render.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

typedef struct
{
  guint64 rss;  /* bytes */
  guint64 hwm;
} MemSample;

static gboolean
read_status (MemSample *s, GError **error)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents ("/proc/self/status", &text, NULL, error))
    return FALSE;
  s->rss = s->hwm = 0;
  for (char *line = text; line != NULL && *line != '\0';)
    {
      char *end = strchr (line, '\n');
      if (g_str_has_prefix (line, "VmRSS:"))
        s->rss = g_ascii_strtoull (line + 6, NULL, 10) << 10;
      else if (g_str_has_prefix (line, "VmHWM:"))
        s->hwm = g_ascii_strtoull (line + 6, NULL, 10) << 10;
      line = end != NULL ? end + 1 : NULL;
    }
  if (s->rss == 0 || s->hwm == 0)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "/proc/self/status: no VmRSS or VmHWM line");
      return FALSE;
    }
  return TRUE;
}

/* Sets the peak to the resident size now; FALSE when the kernel refuses. */
static gboolean
reset_peak (void)
{
  FILE *f = fopen ("/proc/self/clear_refs", "w");
  if (f == NULL)
    return FALSE;
  gboolean ok = fputs ("5", f) >= 0;
  ok &= fclose (f) == 0;
  return ok;
}

static double
mib (guint64 bytes)
{
  return (double) bytes / (1024.0 * 1024.0);
}

typedef struct
{
  guint64 grown;                 /* resident growth, bytes */
  gsize label_triangles, outline_triangles;
  guint64 copy;                  /* the CPU renderer's copy of the triangles */
  guint64 buffers;               /* frame, depth and kept scene, 4 bytes a pixel each */
} View3dMemory;

#define VIEW3D_SIZE 512

/* The 3D view's surfaces and one CPU frame, held while the resident size is read. */
static gboolean
measure_view3d (const NsCase *ncase, View3dMemory *m, GError **error)
{
  const NsVolume *image = NULL;
  MemSample before, after;
  NsSurfaces *labels = NULL, *outline = NULL;
  NsRaster3d *raster;
  NsCamera3d cam;
  NsRender3dStyle style;
  g_autofree guint8 *pixels = NULL;

  memset (m, 0, sizeof *m);
  for (guint mod = 0; image == NULL && mod < NS_N_MODALITIES; mod++)
    image = ncase->modality[mod];
  if (image == NULL)
    return TRUE;   /* nothing to show in 3D */
  if (!read_status (&before, error))
    return FALSE;
  if (ncase->labels != NULL)
    {
      labels = ns_surfaces_new (&ncase->labels->grid, 16);
      ns_surfaces_update (labels, ncase->labels->labels, NULL, NULL);
      m->label_triangles = ns_surfaces_n_triangles (labels);
    }
  {
    NsGrid coarse;
    g_autofree guint8 *mask = ns_surfaces_brain_mask_new (image, 2, &coarse);
    outline = ns_surfaces_new (&coarse, 16);
    ns_surfaces_update (outline, mask, NULL, NULL);
    m->outline_triangles = ns_surfaces_n_triangles (outline);
  }
  raster = ns_raster3d_new ();
  ns_raster3d_set_surfaces (raster, labels, outline);
  ns_camera3d_init (&cam, &image->grid);
  ns_render3d_style_init (&style);
  pixels = g_malloc ((gsize) VIEW3D_SIZE * VIEW3D_SIZE * 4);
  ns_raster3d_draw (raster, &cam, &style, VIEW3D_SIZE, VIEW3D_SIZE, pixels,
                    (gsize) VIEW3D_SIZE * 4);
  if (!read_status (&after, error))
    {
      ns_raster3d_free (raster);
      ns_surfaces_free (labels);
      ns_surfaces_free (outline);
      return FALSE;
    }
  m->grown = after.rss > before.rss ? after.rss - before.rss : 0;
  m->copy = (guint64) (m->label_triangles + m->outline_triangles) * 3 * sizeof (NsMeshVertex);
  m->buffers = 3 * (guint64) VIEW3D_SIZE * VIEW3D_SIZE * 4;
  ns_raster3d_free (raster);
  ns_surfaces_free (labels);
  ns_surfaces_free (outline);
  return TRUE;
}

/* What the workbench's viewer computes when it shows a case (ui/ns-viewer.c). */
static void
view_statistics (const NsCase *ncase)
{
  for (guint m = 0; m < NS_N_MODALITIES; m++)
    {
      const NsVolume *v = ncase->modality[m];
      double w, l, lo, hi;
      if (v == NULL)
        continue;
      ns_window_level_auto (v, &w, &l);
      ns_volume_brain_percentiles (v, 5.0, 95.0, &lo, &hi);
    }
}

static const char *
storage_name (NsVolumeStorage storage)
{
  switch (storage)
    {
    case NS_VOLUME_STORAGE_INT16:
      return "int16";
    case NS_VOLUME_STORAGE_UINT8:
      return "uint8";
    case NS_VOLUME_STORAGE_FLOAT32:
    default:
      return "float32";
    }
}

gboolean
ns_bench_memory (const char *case_path, gboolean json_only, JsonBuilder *json, GError **error)
{
  MemSample start, opened, open_peak, run_peak, after_run;
  gboolean peaks = TRUE;

  if (!read_status (&start, error))
    return FALSE;

  peaks &= reset_peak ();
  g_autoptr (NsCase) ncase = ns_case_load (case_path, NS_CASE_LOAD_DEFAULT, error);
  if (ncase == NULL)
    return FALSE;
  view_statistics (ncase);
  if (!read_status (&opened, error))
    return FALSE;
  open_peak = opened;

  /* The voxels held, by storage. */
  guint64 held = 0, as_float = 0;  /* as_float: held, with every image as float32 */
  g_autoptr (GString) storages = g_string_new (NULL);
  for (guint m = 0; m < NS_N_MODALITIES; m++)
    {
      const NsVolume *v = ncase->modality[m];
      if (v == NULL)
        continue;
      held += ns_volume_n_voxels (v) * ns_volume_storage_size (v->storage);
      as_float += ns_volume_n_voxels (v) * sizeof (float);
      as_float -= ns_volume_n_voxels (v) * ns_volume_storage_size (v->storage);
      g_string_append_printf (storages, "%s%s %s", storages->len > 0 ? ", " : "",
                              ns_modality_name (m), storage_name (v->storage));
    }
  if (ncase->labels != NULL)
    held += ns_grid_n_voxels (&ncase->labels->grid);
  if (ncase->brain_mask != NULL)
    held += ns_grid_n_voxels (&ncase->brain_mask->grid);
  as_float += held;

  View3dMemory view3d;
  if (!measure_view3d (ncase, &view3d, error))
    return FALSE;

  /* Run Model. */
  g_autofree char *model_path = ns_registry_dup_default_model (NULL, NULL, NULL, error);
  if (model_path == NULL)
    return FALSE;
  g_autofree char *device = NULL;
  peaks &= reset_peak ();
  {
    g_autoptr (NsBackend) backend = ns_backend_new ("auto", error);
    if (backend == NULL)
      return FALSE;
    device = g_strdup (ns_backend_get_device (backend));
    g_autoptr (NsModel) model = ns_checkpoint_load (model_path, backend, error);
    if (model == NULL)
      return FALSE;
    NsInferOptions options = { 0 };
    g_autoptr (NsInferResult) result = ns_infer_run_case (model, ncase, &options, error);
    if (result == NULL)
      return FALSE;
    if (!read_status (&run_peak, error))
      return FALSE;
  }
  if (!read_status (&after_run, error))
    return FALSE;
  run_peak.hwm = MAX (run_peak.hwm, after_run.hwm);

  if (!json_only)
    {
      printf ("memory (%s; %s):\n", ns_cmd_printable (case_path), storages->str);
      printf ("  voxels held: %.1f MiB (%.1f MiB with every image as float32)\n", mib (held),
              mib (as_float));
      printf ("  start                 %6.1f MiB resident\n", mib (start.rss));
      printf ("  case open and viewed  %6.1f MiB resident, %6.1f MiB peak%s\n", mib (opened.rss),
              mib (open_peak.hwm), peaks ? "" : " (since start)");
      printf ("  3D view (CPU renderer) +%5.1f MiB resident: surfaces of %" G_GSIZE_FORMAT
              " + %" G_GSIZE_FORMAT " triangles (labels + outline), the renderer's copy of "
              "them %.1f MiB, frame, depth and kept scene at %d x %d %.1f MiB\n",
              mib (view3d.grown), view3d.label_triangles, view3d.outline_triangles,
              mib (view3d.copy), VIEW3D_SIZE, VIEW3D_SIZE, mib (view3d.buffers));
      printf ("  Run Model             %6.1f MiB peak, %6.1f MiB resident after%s\n"
              "    (on %s)\n", mib (run_peak.hwm), mib (after_run.rss),
              peaks ? "" : " (since start)", device);
    }
  json_builder_set_member_name (json, "memory");
  json_builder_begin_object (json);
  ns_json_add_string (json, "case", case_path);
  ns_json_add_string (json, "storage", storages->str);
  ns_json_add_number (json, "voxels_mib", mib (held));
  ns_json_add_number (json, "voxels_as_float32_mib", mib (as_float));
  ns_json_add_number (json, "start_rss_mib", mib (start.rss));
  ns_json_add_number (json, "open_rss_mib", mib (opened.rss));
  ns_json_add_number (json, "open_peak_mib", mib (open_peak.hwm));
  ns_json_add_number (json, "view3d_rss_mib", mib (view3d.grown));
  ns_json_add_number (json, "view3d_copy_mib", mib (view3d.copy));
  ns_json_add_number (json, "view3d_buffers_mib", mib (view3d.buffers));
  ns_json_add_string (json, "run_device", device);
  ns_json_add_number (json, "run_peak_mib", mib (run_peak.hwm));
  ns_json_add_number (json, "after_run_rss_mib", mib (after_run.rss));
  ns_json_add_boolean (json, "peaks_per_step", peaks);
  json_builder_end_object (json);
  return TRUE;
}
