/* SPDX-License-Identifier: MIT
 *
 * ns-cmd-render.c: `neuroseg render CASE -o OUT.png`: one plane, or the three planes side
 * by side, of a case (a folder or its files) or of any single NIfTI file, with the label
 * overlay, as a PNG, for reports and golden-image tests.  Everything visual is render/'s;
 * this file parses options, loads, and picks the cursor.
 */
#define G_LOG_DOMAIN "neuroseg"

#include "ns-cmd.h"
#include "ns-case.h"
#include "ns-data-error.h"
#include "ns-nifti.h"
#include "ns-mesh.h"
#include "ns-render.h"
#include "ns-raster3d.h"
#include "ns-render3d.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char summary[] =
  "Writes a PNG of one plane, or of axial, sagittal and coronal side by side (--plane all,\n"
  "the default), in display orientation (radiological unless --neurological), with the\n"
  "label overlay.  CASE is a case folder, several files of one case, or any single NIfTI\n"
  "file (shown as is).  The planes go through the centre of the labels when there are\n"
  "labels, else through the centre of the volume; --slice or --voxel choose otherwise.\n"
  "The window defaults to the 0.5-99.5 percentiles inside the brain.\n"
  "--plane 3d draws the label surfaces in 3D (the workbench's fourth view) off-screen,\n"
  "seen from --azimuth and --elevation (degrees; 0, 0 looks at the face), with the\n"
  "brain's outline unless --no-outline; --crosshair marks the cursor; --renderer gl draws\n"
  "with OpenGL off-screen (EGL), --renderer cpu on the CPU (the workbench's renderer where\n"
  "GL is software); by default GL, or the CPU where EGL is not usable (said on stderr).";

/* Labels from any NIfTI volume: integers 0..255 (atlases as well as BraTS maps). */
static NsLabelMap *
labels_from_file (const char *path, const NsGrid *image_grid, GError **error)
{
  g_autoptr (NsVolume) vol = ns_nifti_read (path, error);
  g_autoptr (NsLabelMap) map = NULL;
  gsize n;

  if (vol == NULL)
    return NULL;
  if (!ns_grid_equal (&vol->grid, image_grid))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH,
                   "%s: grid %d x %d x %d (or its voxel-to-RAS matrix) differs from the "
                   "image's %d x %d x %d", path, vol->grid.dim[0], vol->grid.dim[1],
                   vol->grid.dim[2], image_grid->dim[0], image_grid->dim[1], image_grid->dim[2]);
      return NULL;
    }
  map = ns_label_map_new (&vol->grid, error);
  if (map == NULL)
    return NULL;
  map->path = g_strdup (path);
  n = ns_volume_n_voxels (vol);
  for (gsize i = 0; i < n; i++)
    {
      float v = ns_volume_get_value (vol, i);
      float r = roundf (v);
      if (!(fabsf (v - r) <= 1e-3f) || r < 0.0f || r > 255.0f)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS,
                       "%s: value %g at voxel %" G_GSIZE_FORMAT " is not a label (0 to 255)",
                       path, (double) v, i);
          return NULL;
        }
      map->labels[i] = (guint8) r;
    }
  return g_steal_pointer (&map);
}

static gboolean
parse_voxel (const char *text, double voxel[3])
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  if (g_strv_length (parts) != 3)
    return FALSE;
  for (int d = 0; d < 3; d++)
    {
      char *end = NULL;
      voxel[d] = g_ascii_strtod (parts[d], &end);
      if (end == parts[d] || *end != '\0' || !isfinite (voxel[d]))
        return FALSE;
    }
  return TRUE;
}

/* The labels' surfaces and the brain's outline, seen by cam: the workbench's 3D view
 * (its block size and default decimation). */
typedef enum
{
  RENDERER_AUTO,                 /* GL, else the CPU where EGL is not usable */
  RENDERER_GL,
  RENDERER_CPU,
} Renderer3d;

static cairo_surface_t *
render_3d (const NsVolume *image, const NsLabelMap *labels, const double cursor[3],
           const NsCamera3d *cam, const NsRender3dStyle *style, int size, Renderer3d renderer,
           GError **error)
{
  NsSurfaces *label_surfaces = NULL, *outline = NULL;
  cairo_surface_t *surface;

  if (labels != NULL)
    {
      label_surfaces = ns_surfaces_new_full (&labels->grid, NS_SURFACES_BLOCK_SIZE,
                                             NS_SURFACES_LABELS, NS_MESH_DECIMATE_DEFAULT);
      ns_surfaces_update (label_surfaces, labels->labels, NULL, NULL);
    }
  if (style->show_outline)
    {
      NsGrid coarse;
      g_autofree guint8 *mask = ns_surfaces_brain_mask_new (image, 2, &coarse);
      outline = ns_surfaces_new_full (&coarse, NS_SURFACES_BLOCK_SIZE, NS_SURFACES_LABELS,
                                      NS_MESH_DECIMATE_DEFAULT);
      ns_surfaces_update (outline, mask, NULL, NULL);
    }
  {
    NsRender3dStyle s = *style;
    ns_geometry_voxel_to_ras (&image->grid, cursor, s.cursor_ras);
    g_autoptr (GError) gl_error = NULL;
    surface = NULL;
    if (renderer != RENDERER_CPU)
      surface = ns_render3d_offscreen (label_surfaces, outline, cam, &s, size, size,
                                       renderer == RENDERER_GL ? error : &gl_error);
    if (surface == NULL && renderer == RENDERER_AUTO)
      g_printerr ("neuroseg render: %s; drawing with the CPU renderer\n", gl_error->message);
    if (surface == NULL && renderer != RENDERER_GL)
      surface = ns_raster3d_render (label_surfaces, outline, cam, &s, size, size, error);
  }
  ns_surfaces_free (label_surfaces);
  ns_surfaces_free (outline);
  return surface;
}

int
ns_cmd_render (int argc, char **argv)
{
  static char *output, *plane_name, *modality_name, *labels_path, *voxel_text, *colormap_name;
  static char *renderer_name;
  static gboolean no_labels, neurological, outline, fill_outline, nearest, crosshair, force;
  static gboolean has_slice, has_window, has_level, has_opacity, no_outline;
  static int slice, size = 512;
  static double window, level, opacity, pixel_mm, azimuth, elevation, zoom = 1.0;
  const GOptionEntry entries[] = {
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "PNG to write (required)", "OUT.png" },
    { "plane", 'p', 0, G_OPTION_ARG_STRING, &plane_name,
      "axial, sagittal, coronal, all (default: side by side) or 3d", "PLANE" },
    { "voxel", 0, 0, G_OPTION_ARG_STRING, &voxel_text,
      "The voxel the planes go through", "I,J,K" },
    { "modality", 'm', 0, G_OPTION_ARG_STRING, &modality_name,
      "flair, t1c, t1 or t2 (default flair)", "MOD" },
    { "labels", 'l', 0, G_OPTION_ARG_FILENAME, &labels_path,
      "Label map to overlay instead of the case's", "FILE" },
    { "no-labels", 0, 0, G_OPTION_ARG_NONE, &no_labels, "No label overlay", NULL },
    { "colormap", 0, 0, G_OPTION_ARG_STRING, &colormap_name,
      "grey, hot, viridis or jet (default grey)", "MAP" },
    { "neurological", 0, 0, G_OPTION_ARG_NONE, &neurological,
      "Patient left on screen left (default: radiological, left on the right)", NULL },
    { "outline", 0, 0, G_OPTION_ARG_NONE, &outline, "Draw label outlines only", NULL },
    { "fill-outline", 0, 0, G_OPTION_ARG_NONE, &fill_outline,
      "Draw outlines over a lighter fill", NULL },
    { "nearest", 0, 0, G_OPTION_ARG_NONE, &nearest,
      "Nearest-neighbour image sampling (default: linear)", NULL },
    { "crosshair", 0, 0, G_OPTION_ARG_NONE, &crosshair, "Draw the crosshair", NULL },
    { "no-outline", 0, 0, G_OPTION_ARG_NONE, &no_outline,
      "3d: no brain outline", NULL },
    { "renderer", 0, 0, G_OPTION_ARG_STRING, &renderer_name,
      "3d: gl (OpenGL off-screen) or cpu (default: gl, cpu where EGL is not usable)",
      "NAME" },
    { "force", 'f', 0, G_OPTION_ARG_NONE, &force,
      "Replace OUT.png if it exists (an input is never replaced)", NULL },
    { NULL },
  };
  const NsCmdNumber numbers[] = {
    { "slice", 's', NS_CMD_INT, &slice, 0, G_MAXINT, FALSE, &has_slice,
      "Slice index along the plane's normal voxel axis (one plane only)", "N" },
    { "window", 'w', NS_CMD_DOUBLE, &window, 0, INFINITY, TRUE, &has_window,
      "Window width (default: automatic)", "W" },
    { "level", 'L', NS_CMD_DOUBLE, &level, -INFINITY, INFINITY, FALSE, &has_level,
      "Window centre (default: automatic)", "L" },
    { "opacity", 0, NS_CMD_DOUBLE, &opacity, 0, 1, FALSE, &has_opacity,
      "Label opacity, 0 to 1 (default 0.5)", "X" },
    { "pixel-mm", 0, NS_CMD_DOUBLE, &pixel_mm, 0, 100, TRUE, NULL,
      "Output pixel size in mm (default: the finest voxel spacing)", "MM" },
    { "azimuth", 0, NS_CMD_DOUBLE, &azimuth, -360, 360, FALSE, NULL,
      "3d: turn around the S axis, degrees (default 0: from anterior; 90: from the right)",
      "DEG" },
    { "elevation", 0, NS_CMD_DOUBLE, &elevation, -89, 89, FALSE, NULL,
      "3d: tilt toward S, degrees (default 0)", "DEG" },
    { "zoom", 0, NS_CMD_DOUBLE, &zoom, 0.05, 50, FALSE, NULL,
      "3d: zoom (default 1: the whole volume)", "X" },
    { "size", 0, NS_CMD_INT, &size, 16, 4096, FALSE, NULL,
      "3d: image width and height in pixels (default 512)", "PX" },
    { NULL },
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (NsCase) ncase = NULL;
  g_autoptr (NsVolume) image = NULL;
  g_autoptr (NsLabelMap) labels = NULL;
  NsPlane plane = NS_PLANE_AXIAL;
  gboolean all_planes = TRUE, plane_3d = FALSE;
  Renderer3d renderer = RENDERER_AUTO;
  NsModality modality = NS_MODALITY_FLAIR;
  NsColormap colormap = NS_COLORMAP_GREY;
  NsRenderOptions options;
  double cursor[3];
  gboolean have_cursor = FALSE;
  cairo_surface_t *surface;
  int status;

  if (!ns_cmd_parse_options ("render", "CASE", summary, entries, NULL, numbers, &argc, &argv,
                             &status))
    return status;

  /* ---- check the arguments ---- */
  if (argc < 2)
    return ns_cmd_usage_error ("render", "no CASE given");
  if (output == NULL)
    return ns_cmd_usage_error ("render", "-o OUT.png is required");
  if (plane_name != NULL && g_ascii_strcasecmp (plane_name, "3d") == 0)
    {
      plane_3d = TRUE;
      all_planes = FALSE;
    }
  else if (plane_name != NULL && g_ascii_strcasecmp (plane_name, "all") != 0)
    {
      if (!ns_plane_from_string (plane_name, &plane))
        return ns_cmd_usage_error ("render",
                                   "--plane must be axial, sagittal, coronal, all or 3d");
      all_planes = FALSE;
    }
  if (renderer_name != NULL && !plane_3d)
    return ns_cmd_usage_error ("render", "--renderer is for --plane 3d only");
  if (renderer_name != NULL && strcmp (renderer_name, "gl") == 0)
    renderer = RENDERER_GL;
  else if (renderer_name != NULL && strcmp (renderer_name, "cpu") == 0)
    renderer = RENDERER_CPU;
  else if (renderer_name != NULL)
    return ns_cmd_usage_error ("render", "--renderer must be gl or cpu");
  if (has_slice && plane_3d)
    return ns_cmd_usage_error ("render", "--slice has no meaning in 3d (use --voxel I,J,K)");
  if (has_slice && all_planes)
    return ns_cmd_usage_error ("render",
                               "--slice needs one --plane (use --voxel I,J,K for all planes)");
  if (voxel_text != NULL && !parse_voxel (voxel_text, cursor))
    return ns_cmd_usage_error ("render", "--voxel must be three numbers I,J,K");
  have_cursor = voxel_text != NULL;
  if (modality_name != NULL)
    {
      gboolean found = FALSE;
      for (int m = 0; m < NS_N_MODALITIES; m++)
        if (g_ascii_strcasecmp (modality_name, ns_modality_name ((NsModality) m)) == 0)
          {
            modality = (NsModality) m;
            found = TRUE;
          }
      if (!found && (g_ascii_strcasecmp (modality_name, "t1ce") == 0
                     || g_ascii_strcasecmp (modality_name, "t1gd") == 0))
        {
          modality = NS_MODALITY_T1C;
          found = TRUE;
        }
      if (!found)
        return ns_cmd_usage_error ("render", "--modality must be flair, t1c, t1 or t2");
    }
  if (colormap_name != NULL && !ns_colormap_from_string (colormap_name, &colormap))
    return ns_cmd_usage_error ("render", "--colormap must be grey, hot, viridis or jet");
  if (labels_path != NULL && no_labels)
    return ns_cmd_usage_error ("render", "--labels and --no-labels exclude each other");
  if (outline && fill_outline)
    return ns_cmd_usage_error ("render", "--outline and --fill-outline exclude each other");

  /* ---- load ---- */
  if (argc == 2 && !g_file_test (argv[1], G_FILE_TEST_IS_DIR)
      && g_file_test (argv[1], G_FILE_TEST_EXISTS)
      && ns_case_classify_file (argv[1]) == NS_CASE_FILE_NONE)
    {
      /* Any single NIfTI file: the image itself, no case around it. */
      if (modality_name != NULL)
        return ns_cmd_usage_error ("render", "--modality needs a case, not a single file");
      g_autoptr (GPtrArray) volumes = ns_nifti_read_all (argv[1], &error);
      if (volumes == NULL)
        return ns_cmd_print_error (error);
      image = ns_volume_ref (g_ptr_array_index (volumes, 0));
    }
  else
    {
      NsCaseLoadFlags flags = (no_labels || labels_path != NULL) ? NS_CASE_LOAD_SKIP_LABELS
                                                                 : NS_CASE_LOAD_DEFAULT;
      ncase = ns_case_open ((const char *const *) argv + 1, flags, &error);
      if (ncase == NULL)
        return ns_cmd_print_error (error);
      if (ncase->modality[modality] == NULL)
        {
          g_set_error (&error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                       "%s: the case has no %s image", ncase->dir, ns_modality_name (modality));
          return ns_cmd_print_error (error);
        }
      image = ns_volume_ref (ncase->modality[modality]);
      if (ncase->labels != NULL && !no_labels)
        labels = ns_label_map_ref (ncase->labels);
    }
  if (labels_path != NULL)
    {
      labels = labels_from_file (labels_path, &image->grid, &error);
      if (labels == NULL)
        return ns_cmd_print_error (error);
    }

  /* ---- what is written: never an input, an existing file only with --force ---- */
  {
    g_autoptr (GPtrArray) inputs = g_ptr_array_new_with_free_func (g_free);
    if (ncase != NULL)
      ns_cmd_add_case_inputs (inputs, ncase);
    else
      g_ptr_array_add (inputs, g_strdup (argv[1]));
    if (labels_path != NULL)
      g_ptr_array_add (inputs, g_strdup (labels_path));
    g_ptr_array_add (inputs, NULL);
    if (!ns_cmd_check_outputs ((const char *const[]) { output, NULL },
                               (const char *const *) inputs->pdata, force, &error))
      return ns_cmd_print_error (error);
  }

  /* ---- options ---- */
  ns_render_options_init (&options, image);
  if (has_window || has_level)
    ns_lut_init (&options.lut, has_window ? window : options.lut.window,
                 has_level ? level : options.lut.level, colormap);
  else
    ns_lut_init (&options.lut, options.lut.window, options.lut.level, colormap);
  options.convention = neurological ? NS_CONVENTION_NEUROLOGICAL : NS_CONVENTION_RADIOLOGICAL;
  options.interp = nearest ? NS_INTERP_NEAREST : NS_INTERP_LINEAR;
  options.pixel_mm = pixel_mm;
  options.show_crosshair = crosshair;
  options.show_labels = labels != NULL;
  if (outline)
    options.overlay.mode = NS_OVERLAY_OUTLINE;
  else if (fill_outline)
    options.overlay.mode = NS_OVERLAY_FILL_AND_OUTLINE;
  if (has_opacity)
    options.overlay.opacity = opacity;

  if (!have_cursor && !(labels != NULL && ns_label_map_centroid (labels, cursor)))
    for (int d = 0; d < 3; d++)
      cursor[d] = image->grid.dim[d] / 2;
  if (has_slice)
    {
      NsPlaneGeometry geom;
      ns_plane_geometry_init (&geom, &image->grid, plane, options.convention, 0, cursor);
      if (slice < 0 || slice >= ns_plane_geometry_n_slices (&geom))
        {
          g_set_error (&error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                       "%s: --slice %d is outside 0..%d of the %s plane",
                       image->path != NULL ? image->path : argv[1], slice,
                       ns_plane_geometry_n_slices (&geom) - 1, ns_plane_to_string (plane));
          return ns_cmd_print_error (error);
        }
      cursor[geom.axis_n] = slice;
    }

  /* ---- render ---- */
  if (plane_3d)
    {
      NsCamera3d cam;
      NsRender3dStyle style;
      ns_camera3d_init (&cam, &image->grid);
      cam.azimuth = azimuth;
      cam.elevation = elevation;
      cam.zoom = zoom;
      ns_render3d_style_init (&style);
      style.labels = options.overlay;
      style.label_opacity = has_opacity ? opacity : 1.0;
      style.show_outline = !no_outline;
      style.show_cursor = crosshair;
      surface = render_3d (image, labels, cursor, &cam, &style, size, renderer, &error);
    }
  else if (all_planes)
    surface = ns_render_montage (image, labels, cursor, &options, &error);
  else
    surface = ns_render_plane (image, labels, plane, cursor, &options, &error);
  if (surface == NULL)
    return ns_cmd_print_error (error);
  if (!ns_render_write_png (surface, output, &error))
    {
      cairo_surface_destroy (surface);
      return ns_cmd_print_error (error);
    }
  cairo_surface_destroy (surface);
  return 0;
}
