/* SPDX-License-Identifier: MIT
 *
 * ns-render.h: the public API of render/, pure functions from volumes and label maps to
 * cairo image surfaces (no GTK).  ui/ and `neuroseg render` use it.
 *
 * Display orientation (derived from the grid's voxel-to-RAS matrix, never assumed):
 *
 *   plane     normal  screen x (left -> right)                    screen y (top -> bottom)
 *   axial     S/I     radiological: R -> L, neurological: L -> R   A -> P  (anterior up)
 *   coronal   A/P     radiological: R -> L, neurological: L -> R   S -> I  (superior up)
 *   sagittal  R/L     A -> P (anterior on the left, both conventions) S -> I (superior up)
 *
 * Radiological (the default) puts the patient's left on the screen's right.  Each RAS axis
 * is followed by the voxel axis whose direction is closest to it (NsAxisMap).  For oblique
 * matrices this is the nearest axis: slices are voxel planes, shown without reslicing, so
 * an oblique acquisition appears as it was acquired, tilted by its obliquity.
 *
 * Screen coordinates are continuous pixel coordinates of the rendered image: (0, 0) is
 * the top-left corner of the image, pixel (u, v) covers [u, u+1) x [v, v+1) and has its
 * centre at (u + 0.5, v + 0.5).  Pixels are square, pixel_mm on each side, so anisotropic
 * voxels come out with their physical aspect.  Voxel coordinates are continuous too: the
 * centre of voxel (i, j, k) is at (i, j, k); voxel i covers [i - 0.5, i + 0.5).
 *
 * A widget that zooms and pans maps its own coordinates to image coordinates
 * (x = (widget_x - pan_x) / zoom) and then calls ns_plane_geometry_voxel_at(); the other
 * way, ns_plane_geometry_screen_pos() gives image coordinates of a voxel centre.
 */
#pragma once

#include <cairo.h>
#include <glib.h>

#include "ns-volume.h"

G_BEGIN_DECLS

/* ---- errors ------------------------------------------------------------------------------ */

#define NS_RENDER_ERROR (ns_render_error_quark ())

typedef enum
{
  NS_RENDER_ERROR_GRID_MISMATCH, /* image, labels and geometry on different grids */
  NS_RENDER_ERROR_SURFACE,       /* surface of the wrong format or too small */
  NS_RENDER_ERROR_IO,            /* PNG could not be written */
  NS_RENDER_ERROR_INVALID,       /* other bad argument (empty volume, ...) */
} NsRenderError;

GQuark      ns_render_error_quark      (void);

/* ---- planes and orientation --------------------------------------------------------------- */

typedef enum
{
  NS_PLANE_AXIAL,
  NS_PLANE_SAGITTAL,
  NS_PLANE_CORONAL,
  NS_N_PLANES
} NsPlane;

typedef enum
{
  NS_CONVENTION_RADIOLOGICAL,    /* patient left on screen right (default) */
  NS_CONVENTION_NEUROLOGICAL,    /* patient left on screen left */
} NsConvention;

typedef enum
{
  NS_INTERP_NEAREST,
  NS_INTERP_LINEAR,              /* bilinear within the slice */
} NsInterp;

/* "axial", "sagittal", "coronal". */
const char *ns_plane_to_string         (NsPlane plane);
gboolean    ns_plane_from_string       (const char *name, NsPlane *plane);

/* For each RAS axis r (0 = R, 1 = A, 2 = S): the voxel axis that follows it most closely
 * (the assignment maximising the sum of |cosines|, so each voxel axis is used once), and
 * +1 when that voxel axis's index increases toward R, A or S, -1 when toward L, P or I.
 * An LPS grid (BraTS) gives voxel_axis {0, 1, 2}, sign {-1, -1, +1}. */
typedef struct
{
  int voxel_axis[3];
  int sign[3];
  gboolean oblique;              /* some voxel axis is more than 0.1 degree off its RAS axis */
} NsAxisMap;

void        ns_axis_map_init           (NsAxisMap *map, const NsGrid *grid);

/* Voxel coordinates (continuous, centre of voxel i at i) to RAS mm and back. */
void        ns_geometry_voxel_to_ras   (const NsGrid *grid, const double voxel[3], double ras[3]);
/* FALSE when the matrix is singular (voxel left unchanged). */
gboolean    ns_geometry_ras_to_voxel   (const NsGrid *grid, const double ras[3], double voxel[3]);

/* The display geometry of one plane: which voxel axes run along screen x and y, the
 * slice shown, the image size, and the affine map between screen and voxel coordinates.
 * Filled by ns_plane_geometry_init(); treat as read-only (use the setters). */
typedef struct
{
  NsPlane plane;
  NsConvention convention;
  int dim[3];                    /* the grid's dims */
  double spacing[3];             /* the grid's spacing, mm */
  int axis_u;                    /* voxel axis along screen x */
  int axis_v;                    /* voxel axis along screen y */
  int axis_n;                    /* voxel axis normal to the plane (slice axis) */
  int normal_sign;               /* +1 when the slice index grows toward S (axial),
                                  * A (coronal) or R (sagittal); -1 otherwise */
  int slice;                     /* index along axis_n, 0 .. dim[axis_n] - 1 */
  int width, height;             /* image size, pixels */
  double pixel_mm;               /* side of a (square) pixel, mm */
  /* Voxel coordinate along axis_u at screen x is origin_u + step_u * x; along axis_v at
   * screen y it is origin_v + step_v * y.  step is +-pixel_mm / spacing. */
  double origin_u, step_u;
  double origin_v, step_v;
  double vox2ras[4][4];          /* the grid's, for the _ras variants below */
} NsPlaneGeometry;

/* pixel_mm <= 0 picks the smaller in-plane spacing (no loss of resolution; a 1 mm BraTS
 * axial plane is 240 x 240).  cursor_voxel (continuous voxel coordinates) picks the slice;
 * NULL picks the middle one.  width = ceil (dim[axis_u] * spacing[axis_u] / pixel_mm)
 * (within 1e-6), the same for height. */
void        ns_plane_geometry_init     (NsPlaneGeometry *geom, const NsGrid *grid, NsPlane plane,
                                        NsConvention convention, double pixel_mm,
                                        const double cursor_voxel[3]);
int         ns_plane_geometry_n_slices (const NsPlaneGeometry *geom);
/* Clamped to 0 .. n_slices - 1. */
void        ns_plane_geometry_set_slice (NsPlaneGeometry *geom, int slice);
/* slice = cursor_voxel[axis_n] rounded and clamped: how linked views follow a 3-D cursor. */
void        ns_plane_geometry_set_cursor (NsPlaneGeometry *geom, const double cursor_voxel[3]);
/* Screen -> voxel: continuous voxel coordinates under screen point (x, y); the normal
 * coordinate is the slice. */
void        ns_plane_geometry_voxel_at (const NsPlaneGeometry *geom, double x, double y,
                                        double voxel[3]);
/* Screen -> voxel index: the voxel whose footprint holds (x, y), which is the one drawn
 * there with nearest interpolation (on a footprint boundary: the voxel to the right of or
 * below it on screen, whatever the voxel order).  FALSE when (x, y) is outside the grid
 * (ijk is then clamped into it). */
gboolean    ns_plane_geometry_voxel_index_at (const NsPlaneGeometry *geom, double x, double y,
                                              int ijk[3]);
/* Voxel -> screen: image coordinates of the point voxel (continuous; the component along
 * axis_n is ignored).  Integer voxel indices give the centre of the voxel's footprint. */
void        ns_plane_geometry_screen_pos (const NsPlaneGeometry *geom, const double voxel[3],
                                          double *x, double *y);
/* The same in RAS mm: the RAS point under screen point (x, y) on the current slice; the
 * slice through a RAS cursor; the screen position of a RAS point (its voxel coordinates
 * projected on the plane).  FALSE when the matrix is singular. */
void        ns_plane_geometry_ras_at     (const NsPlaneGeometry *geom, double x, double y,
                                          double ras[3]);
gboolean    ns_plane_geometry_set_cursor_ras (NsPlaneGeometry *geom, const double ras[3]);
gboolean    ns_plane_geometry_screen_pos_ras (const NsPlaneGeometry *geom, const double ras[3],
                                              double *x, double *y);

/* ---- window / level and colour maps ------------------------------------------------------ */

typedef enum
{
  NS_COLORMAP_GREY,
  NS_COLORMAP_HOT,               /* black, red, yellow, white */
  NS_COLORMAP_VIRIDIS,           /* perceptually uniform, for uncertainty heat maps */
  NS_COLORMAP_JET,
  NS_N_COLORMAPS
} NsColormap;

const char *ns_colormap_to_string      (NsColormap map);
gboolean    ns_colormap_from_string    (const char *name, NsColormap *map);
/* Colour of entry index (0 .. 255) as 0xRRGGBB. */
guint32     ns_colormap_rgb            (NsColormap map, guint8 index);

/* Window/level to 8 bits: with lo = level - window / 2, a value v maps to
 *   index = clamp (floor ((v - lo) * 256 / window), 0, 255)
 * so [lo, lo + window) is cut in 256 equal bins, below lo is 0 and from lo + window on
 * is 255; then index -> colour through the 256-entry table argb (opaque 0xFFRRGGBB, valid
 * for CAIRO_FORMAT_ARGB32 and RGB24 alike). */
typedef struct
{
  double window;                 /* > 0 (smaller values are raised to 1e-6) */
  double level;
  NsColormap colormap;
  /* derived by ns_lut_init () */
  double lo;
  double scale;                  /* 256 / window */
  guint32 argb[256];
} NsLut;

void        ns_lut_init                (NsLut *lut, double window, double level,
                                        NsColormap colormap);

static inline guint8
ns_lut_index (const NsLut *lut, float value)
{
  double t = ((double) value - lut->lo) * lut->scale;
  if (!(t > 0.0))                /* also NaN */
    return 0;
  if (t >= 255.0)
    return 255;
  return (guint8) t;
}

static inline guint32
ns_lut_argb (const NsLut *lut, float value)
{
  return lut->argb[ns_lut_index (lut, value)];
}

/* Percentiles (0..100) of the voxels inside the brain: voxels whose value differs from
 * the background value, the most common value on the border of the volume (DESIGN.md);
 * all voxels when that leaves none.  Exact (order statistics, linear interpolation
 * between ranks as numpy's default). */
void        ns_volume_brain_percentiles (const NsVolume *volume, double lo_pct, double hi_pct,
                                         double *lo_value, double *hi_value);
/* The automatic initial window: from the 0.5 to the 99.5 percentile inside the brain. */
void        ns_window_level_auto       (const NsVolume *volume, double *window, double *level);

/* ---- label overlay ----------------------------------------------------------------------- */

typedef enum
{
  NS_OVERLAY_FILL = 1,
  NS_OVERLAY_OUTLINE = 2,        /* one-pixel contour, inside the region, 4-connected */
  NS_OVERLAY_FILL_AND_OUTLINE = 3,
} NsOverlayMode;

typedef struct
{
  guint32 rgb[256];              /* colour of each label value, 0xRRGGBB */
  gboolean visible[256];         /* label 0 (background) is never drawn */
  double opacity;                /* 0 .. 1, for fill and outline alike */
  NsOverlayMode mode;
  /* Fill opacity relative to opacity when mode is FILL_AND_OUTLINE (the outline is drawn
   * at opacity, the inside at opacity * fill_fraction); 1 for a plain fill. */
  double fill_fraction;
} NsOverlayStyle;

/* BraTS colours of data/ns-labels.h (as ITK-SNAP shows them): 1 NCR/NET red, 2 edema
 * green, 3 non-enhancing (BraTS 2015) blue, 4 enhancing yellow; other values a fixed
 * palette; all visible, opacity 0.5, FILL, fill_fraction 0.5. */
void        ns_overlay_style_init      (NsOverlayStyle *style);

/* ---- rendering onto cairo image surfaces -------------------------------------------------- */

/* A new CAIRO_FORMAT_RGB24 surface of geom's size. */
cairo_surface_t *ns_render_surface_new (const NsPlaneGeometry *geom);

/* Each function below draws the plane geom into the rectangle (x0, y0, geom->width,
 * geom->height) of surface, an image surface of format ARGB32 or RGB24, by writing its
 * data directly (it flushes before and marks the rectangle dirty after).  They fail with
 * NS_RENDER_ERROR_GRID_MISMATCH when the volume's dims differ from geom's and
 * NS_RENDER_ERROR_SURFACE when the rectangle does not fit. */

/* The image through lut (replaces the pixels, opaque). */
gboolean    ns_render_image            (cairo_surface_t *surface, int x0, int y0,
                                        const NsPlaneGeometry *geom, const NsVolume *volume,
                                        const NsLut *lut, NsInterp interp, GError **error);
/* Labels blended over what is there, nearest-neighbour, by style. */
gboolean    ns_render_labels           (cairo_surface_t *surface, int x0, int y0,
                                        const NsPlaneGeometry *geom, const NsLabelMap *labels,
                                        const NsOverlayStyle *style, GError **error);
/* A scalar map (probability, uncertainty) through lut blended over what is there with
 * opacity; values below threshold are transparent. */
gboolean    ns_render_heat             (cairo_surface_t *surface, int x0, int y0,
                                        const NsPlaneGeometry *geom, const NsVolume *values,
                                        const NsLut *lut, double threshold, double opacity,
                                        NsInterp interp, GError **error);
/* A second image (another sequence on the same grid) through lut, blended over what is
 * there with opacity, as a fused display shows it: values below the window (lut->lo) are
 * transparent, so the image underneath shows where the second one has nothing. */
gboolean    ns_render_image_overlay    (cairo_surface_t *surface, int x0, int y0,
                                        const NsPlaneGeometry *geom, const NsVolume *volume,
                                        const NsLut *lut, double opacity, NsInterp interp,
                                        GError **error);
/* One-pixel horizontal and vertical lines through the screen position of cursor_voxel,
 * colour rgb (0xRRGGBB) blended with alpha, leaving a gap of gap pixels on each side of
 * the cursor (0: none). */
void        ns_render_crosshair        (cairo_surface_t *surface, int x0, int y0,
                                        const NsPlaneGeometry *geom,
                                        const double cursor_voxel[3], guint32 rgb,
                                        double alpha, int gap);

/* Everything at once, for the command line, tests and the benchmark. */
typedef struct
{
  NsConvention convention;
  NsInterp interp;
  double pixel_mm;               /* <= 0: the smallest spacing of the grid, all planes */
  NsLut lut;
  NsOverlayStyle overlay;
  gboolean show_labels;
  gboolean show_crosshair;
  guint32 crosshair_rgb;
  double crosshair_alpha;
} NsRenderOptions;

/* Radiological, linear, pixel_mm 0, automatic grey window of volume (when not NULL,
 * else window 1, level 0.5), BraTS overlay, labels shown, crosshair hidden (green). */
void        ns_render_options_init     (NsRenderOptions *options, const NsVolume *volume);

/* One plane (labels may be NULL) at the slice through cursor_voxel (NULL: centre). */
cairo_surface_t *ns_render_plane       (const NsVolume *volume, const NsLabelMap *labels,
                                        NsPlane plane, const double cursor_voxel[3],
                                        const NsRenderOptions *options, GError **error);
/* Axial, sagittal and coronal side by side (in that order, top-aligned, black between
 * and below), all through cursor_voxel (NULL: centre), at the same pixel size. */
cairo_surface_t *ns_render_montage     (const NsVolume *volume, const NsLabelMap *labels,
                                        const double cursor_voxel[3],
                                        const NsRenderOptions *options, GError **error);

/* Writes surface as PNG, atomically (a temporary file renamed over path); the error names
 * path. */
gboolean    ns_render_write_png        (cairo_surface_t *surface, const char *path,
                                        GError **error);

G_END_DECLS
