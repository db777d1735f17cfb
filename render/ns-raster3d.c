/* SPDX-License-Identifier: MIT
 *
 * ns-raster3d.c: the CPU renderer of the 3D view (see ns-raster3d.h).
 *
 * The pipeline, per triangle of the soup (vertices are not shared, so there is nothing to
 * cache per vertex across triangles):
 *   1. project the three vertices with the camera's frame (orthographic: x and y in pixels,
 *      z the depth toward the viewer in mm, linear across the triangle);
 *   2. clip at the near and far planes of the GL renderer's clip volume (only triangles that
 *      cross a plane are clipped: Sutherland-Hodgman on the polygon, drawn as a fan);
 *   3. reject what covers no pixel centre: the bounding box in fixed point (4 fractional
 *      bits) rounded inward to pixel centres; most triangles of a full-resolution label
 *      surface are about a pixel across at 512 x 512, and many cover no centre at all;
 *   4. the face's orientation from the sign of its area: closed surfaces drawn opaque skip
 *      back faces (a front face of the same closed surface always hides them) unless their
 *      bounding box reaches the near or far plane (then a clipped front face may uncover
 *      them, and they are drawn as GL draws them); the outline skips them always (GL culls
 *      it too); faces drawn from the back are lit with the normal turned round, as GL's
 *      shader does (two-sided lighting);
 *   5. edge functions in that fixed point (64-bit) stepped over the bounding box, with the
 *      top-left rule, so that triangles sharing an edge cover each pixel once (no cracks);
 *   6. depth test (nearer wins, ties to the later triangle: GL_LEQUAL) and Gouraud shading:
 *      the Blinn-Phong headlight of ns-render3d-private.h evaluated at the three vertices,
 *      lazily (only when a pixel of the triangle passed the depth test), interpolated.
 *
 * The cursor marker is drawn last, over everything (as GL draws it), so a frame that differs
 * from the last one only by the cursor (a crosshair drag in the slice views, the most
 * frequent redraw) is the last scene copied plus three lines: the scene without the marker
 * is kept (one more frame buffer) with what it was drawn from.
 *
 * Transparency (the brain's outline, and the labels when see-through): blended "over" in
 * the order of submission without writing depth, exactly as the GL renderer does (GL_BLEND,
 * glDepthMask (GL_FALSE), no sorting): neither back-to-front nor weighted.  With one colour
 * and one alpha for a whole shell, the order only changes how the shading of overlapping
 * front faces mixes; keeping GL's rule keeps the two images comparable pixel for pixel.
 */
#define G_LOG_DOMAIN "neuroseg-render"

#include "ns-raster3d.h"

#include "ns-render3d-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SUBPIXEL 16                  /* fixed point: 4 fractional bits */
#define MAX_SIZE 16384
/* Vertices further than this from the view (in pixels) are not drawn: far beyond what the
 * zoom (at most 50) can put within reach of a visible pixel, and it keeps the fixed-point
 * products within 64 bits. */
#define MAX_COORD 1.0e7f

/* One surface's triangles as the surfaces hold them (borrowed, block by block: no copy),
 * taken again whenever the surfaces' generation changes. */
typedef struct
{
  GArray *parts;                     /* NsMeshPart */
  float lo[3], hi[3];                /* bounding box, RAS mm */
} Mesh;

struct _NsRaster3d
{
  Mesh *labels[256];                 /* NULL: none */
  Mesh *outline;
  const NsSurfaces *label_surfaces, *outline_surfaces;
  const NsSurfaces *copied_labels, *copied_outline;
  guint64 labels_generation, outline_generation;
  gboolean stale;                    /* set_surfaces () since the blocks were taken */
  float *depth;                      /* (height, width) */
  gsize depth_len;
  /* The last scene without the cursor marker, and what it was drawn from. */
  guint32 *scene;                    /* (scene_height, scene_width) */
  gsize scene_len;                   /* allocated, in pixels */
  int scene_width, scene_height;     /* 0: none kept */
  NsCamera3d scene_cam;
  NsRender3dStyle scene_style;
};

/* Everything one frame needs, derived once from the camera. */
typedef struct
{
  float ax[3], bx;                   /* pixel x = ax . p + bx (p in RAS mm) */
  float ay[3], by;                   /* pixel y, downward */
  float az[3], bz;                   /* depth toward the viewer, mm from the target */
  float zmin, zmax;                  /* drawn: zmin <= z <= zmax */
  float light[3], half[3];           /* view space */
  int width, height;
  guint32 *pixels;
  gsize stride;                      /* in words */
  float *depth;
} Frame;

/* How one mesh is drawn. */
typedef struct
{
  float rgb[3];                      /* 0 .. 1 */
  float alpha;                       /* 1: opaque */
  gboolean cull_back;
  gboolean write_depth;
  /* The normal's view-space axes (rows of the camera's rotation). */
  const float *nx, *ny, *nz;
} Pass;

static void
mesh_free (Mesh *m)
{
  g_array_unref (m->parts);
  g_free (m);
}

NsRaster3d *
ns_raster3d_new (void)
{
  return g_new0 (NsRaster3d, 1);
}

void
ns_raster3d_free (NsRaster3d *r)
{
  if (r == NULL)
    return;
  for (int l = 0; l < 256; l++)
    g_clear_pointer (&r->labels[l], mesh_free);
  g_clear_pointer (&r->outline, mesh_free);
  g_free (r->depth);
  g_free (r->scene);
  g_free (r);
}

void
ns_raster3d_set_surfaces (NsRaster3d *r, const NsSurfaces *labels, const NsSurfaces *outline)
{
  g_return_if_fail (r != NULL);
  r->label_surfaces = labels;
  r->outline_surfaces = outline;
  /* Take the blocks again at the next draw even when the pointers look the same: surfaces
   * freed and made anew may land at the same address. */
  r->stale = TRUE;
}

static Mesh *
collect (const NsSurfaces *surfaces, guint8 label)
{
  Mesh *m = g_new0 (Mesh, 1);

  m->parts = g_array_new (FALSE, FALSE, sizeof (NsMeshPart));
  ns_surfaces_get_parts (surfaces, label, m->parts);
  if (m->parts->len == 0)
    {
      mesh_free (m);
      return NULL;
    }
  for (int a = 0; a < 3; a++)
    {
      m->lo[a] = INFINITY;
      m->hi[a] = -INFINITY;
    }
  for (guint k = 0; k < m->parts->len; k++)
    {
      const NsMeshPart *part = &g_array_index (m->parts, NsMeshPart, k);
      for (gsize i = 0; i < part->n_vertices; i++)
        for (int a = 0; a < 3; a++)
          {
            float x = part->vertices[i].pos[a];
            m->lo[a] = MIN (m->lo[a], x);
            m->hi[a] = MAX (m->hi[a], x);
          }
    }
  return m;
}

/* The lists of blocks follow the surfaces' generations, as GL's buffers do (a block's
 * triangles may have moved at an update).  Forgets the scene kept when anything changed. */
static void
copy_changed (NsRaster3d *r)
{
  if (r->stale || _ns_render3d_surfaces_changed (r->label_surfaces, r->copied_labels,
                                                 r->labels_generation))
    {
      gboolean present[256] = { FALSE };
      if (r->label_surfaces != NULL)
        ns_surfaces_get_labels (r->label_surfaces, present);
      for (int l = 1; l < 256; l++)
        {
          g_clear_pointer (&r->labels[l], mesh_free);
          if (present[l])
            r->labels[l] = collect (r->label_surfaces, (guint8) l);
        }
      r->scene_width = 0;
      r->copied_labels = r->label_surfaces;
      r->labels_generation = _ns_render3d_generation (r->label_surfaces);
    }
  if (r->stale || _ns_render3d_surfaces_changed (r->outline_surfaces, r->copied_outline,
                                                 r->outline_generation))
    {
      g_clear_pointer (&r->outline, mesh_free);
      if (r->outline_surfaces != NULL)
        r->outline = collect (r->outline_surfaces, 1);
      r->scene_width = 0;
      r->copied_outline = r->outline_surfaces;
      r->outline_generation = _ns_render3d_generation (r->outline_surfaces);
    }
  r->stale = FALSE;
}

/* ---- one triangle ------------------------------------------------------------------------ */

static inline float
dot3 (const float a[3], const float b[3])
{
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/* The headlight at a vertex with normal n (RAS), turned round when sign is -1: colour in
 * 0 .. 255.  Same formula as ns_render3d_shade (), with the 40th power as squarings. */
static inline void
light_vertex (const Frame *f, const Pass *p, const float n[3], float sign, float out[3])
{
  float v[3] = { sign * dot3 (p->nx, n), sign * dot3 (p->ny, n), sign * dot3 (p->nz, n) };
  float d = MAX (dot3 (v, f->light), 0.0f), s = MAX (dot3 (v, f->half), 0.0f);
  float s2 = s * s, s4 = s2 * s2, s8 = s4 * s4, s16 = s8 * s8, s32 = s16 * s16, s40 = s32 * s8;

  G_STATIC_ASSERT ((int) NS_RENDER3D_SHININESS == 40); /* clang: no float in _Static_assert */
  for (int c = 0; c < 3; c++)
    {
      float x = p->rgb[c] * (float) (NS_RENDER3D_AMBIENT + NS_RENDER3D_DIFFUSE * d)
                + (float) NS_RENDER3D_SPECULAR * s40;
      out[c] = CLAMP (x, 0.0f, 1.0f) * 255.0f;
    }
}

static inline guint32
pack (float r, float g, float b)
{
  return 0xff000000u | ((guint32) (r + 0.5f) << 16) | ((guint32) (g + 0.5f) << 8)
         | (guint32) (b + 0.5f);
}

static inline guint32
blend (guint32 dst, float r, float g, float b, float a)
{
  float k = 1.0f - a;
  return pack (r * a + ((dst >> 16) & 0xff) * k, g * a + ((dst >> 8) & 0xff) * k,
               b * a + (dst & 0xff) * k);
}

/* Nearest fixed-point value (halves away from zero); inline, where lrintf () is a call
 * into libm without -ffast-math. */
static inline gint64
to_fixed (float x)
{
  float v = x * SUBPIXEL;
  return (gint64) (v >= 0.0f ? v + 0.5f : v - 0.5f);
}

static inline gboolean
is_top_left (gint64 dx, gint64 dy)
{
  /* With the orientation chosen below (positive area, y down), a top edge runs
   * horizontally to the right, a left edge upward. */
  return (dy == 0 && dx > 0) || dy < 0;
}

/* A triangle whose vertices lie within the depth range. */
static void
raster_triangle (const Frame *f, const Pass *p, const NsMeshVertex *const tri[3])
{
  float sx[3], sy[3], sz[3];
  gint64 X[3], Y[3], area, e_dx[3], e_dy[3], row[3], bias[3];
  int v1 = 1, v2 = 2, x_lo, x_hi, y_lo, y_hi;
  gboolean front, lit = FALSE;
  float inv_area, colour[3][3] = { { 0 } }, sign;

  for (int i = 0; i < 3; i++)
    {
      const float *pos = tri[i]->pos;
      sx[i] = dot3 (f->ax, pos) + f->bx;
      sy[i] = dot3 (f->ay, pos) + f->by;
      sz[i] = dot3 (f->az, pos) + f->bz;
    }
  /* Off the view, or too far off to compute with. */
  if (MAX (sx[0], MAX (sx[1], sx[2])) < 0.0f || MIN (sx[0], MIN (sx[1], sx[2])) > f->width
      || MAX (sy[0], MAX (sy[1], sy[2])) < 0.0f || MIN (sy[0], MIN (sy[1], sy[2])) > f->height)
    return;
  for (int i = 0; i < 3; i++)
    {
      if (fabsf (sx[i]) > MAX_COORD || fabsf (sy[i]) > MAX_COORD)
        return;
      X[i] = to_fixed (sx[i]);
      Y[i] = to_fixed (sy[i]);
    }
  /* Pixel centres (x + 0.5) inside the bounding box; >> 4 rounds toward -infinity. */
  x_lo = (int) MAX ((MIN (X[0], MIN (X[1], X[2])) - SUBPIXEL / 2 + SUBPIXEL - 1) >> 4, 0);
  x_hi = (int) MIN ((MAX (X[0], MAX (X[1], X[2])) - SUBPIXEL / 2) >> 4, f->width - 1);
  y_lo = (int) MAX ((MIN (Y[0], MIN (Y[1], Y[2])) - SUBPIXEL / 2 + SUBPIXEL - 1) >> 4, 0);
  y_hi = (int) MIN ((MAX (Y[0], MAX (Y[1], Y[2])) - SUBPIXEL / 2) >> 4, f->height - 1);
  if (x_lo > x_hi || y_lo > y_hi)
    return;

  /* Twice the signed area, y down: negative when the vertices run counter-clockwise as
   * seen with y up, i.e. a front face (the surfaces are counter-clockwise from outside). */
  area = (X[1] - X[0]) * (Y[2] - Y[0]) - (Y[1] - Y[0]) * (X[2] - X[0]);
  if (area == 0)
    return;
  front = area < 0;
  if (!front && p->cull_back)
    return;
  sign = front ? 1.0f : -1.0f;
  if (area < 0)
    {
      v1 = 2;
      v2 = 1;
      area = -area;
    }

  /* Edge k is opposite vertex k: e_k (x, y) = (xb - xa) (y - ya) - (yb - ya) (x - xa) for
   * the edge a -> b, positive inside; e_k / area is vertex k's barycentric weight. */
  {
    const int ia[3] = { v1, v2, 0 }, ib[3] = { v2, 0, v1 };
    gint64 cx = (gint64) x_lo * SUBPIXEL + SUBPIXEL / 2, cy = (gint64) y_lo * SUBPIXEL
                                                               + SUBPIXEL / 2;
    for (int k = 0; k < 3; k++)
      {
        gint64 dx = X[ib[k]] - X[ia[k]], dy = Y[ib[k]] - Y[ia[k]];
        row[k] = dx * (cy - Y[ia[k]]) - dy * (cx - X[ia[k]]);
        e_dx[k] = -dy * SUBPIXEL;
        e_dy[k] = dx * SUBPIXEL;
        bias[k] = is_top_left (dx, dy) ? 0 : -1;
      }
  }
  inv_area = 1.0f / (float) area;
  {
    /* Attributes in the order of the edges: weight k belongs to vertex order[k]. */
    const int order[3] = { 0, v1, v2 };
    float z0 = sz[order[0]], dz1 = sz[order[1]] - z0, dz2 = sz[order[2]] - z0;

    for (int y = y_lo; y <= y_hi; y++)
      {
        gint64 e0 = row[0], e1 = row[1], e2 = row[2];
        guint32 *px = f->pixels + (gsize) y * f->stride;
        float *depth = f->depth + (gsize) y * f->width;

        for (int x = x_lo; x <= x_hi; x++, e0 += e_dx[0], e1 += e_dx[1], e2 += e_dx[2])
          {
            float w1, w2, z, c[3];
            if (((e0 + bias[0]) | (e1 + bias[1]) | (e2 + bias[2])) < 0)
              continue;
            w1 = (float) e1 * inv_area;
            w2 = (float) e2 * inv_area;
            z = z0 + w1 * dz1 + w2 * dz2;
            if (z < depth[x])
              continue;
            if (!lit)
              {
                for (int k = 0; k < 3; k++)
                  light_vertex (f, p, tri[order[k]]->normal, sign, colour[k]);
                lit = TRUE;
              }
            for (int ch = 0; ch < 3; ch++)
              c[ch] = colour[0][ch] + w1 * (colour[1][ch] - colour[0][ch])
                      + w2 * (colour[2][ch] - colour[0][ch]);
            if (p->alpha >= 1.0f)
              px[x] = pack (c[0], c[1], c[2]);
            else
              px[x] = blend (px[x], c[0], c[1], c[2], p->alpha);
            if (p->write_depth)
              depth[x] = z;
          }
        for (int k = 0; k < 3; k++)
          row[k] += e_dy[k];
      }
  }
}

/* ---- clipping at the near and far planes ------------------------------------------------ */

static void
lerp_vertex (const NsMeshVertex *a, const NsMeshVertex *b, float t, NsMeshVertex *out)
{
  float n = 0.0f;

  for (int i = 0; i < 3; i++)
    {
      out->pos[i] = a->pos[i] + t * (b->pos[i] - a->pos[i]);
      out->normal[i] = a->normal[i] + t * (b->normal[i] - a->normal[i]);
      n += out->normal[i] * out->normal[i];
    }
  n = n > 0.0f ? 1.0f / sqrtf (n) : 0.0f;
  for (int i = 0; i < 3; i++)
    out->normal[i] *= n;
}

/* Keeps the part of polygon in (n vertices) where side * (z - limit) <= 0; returns the
 * number of vertices written to out (at most n + 1). */
static int
clip_polygon (const Frame *f, const NsMeshVertex *in, int n, float limit, float side,
              NsMeshVertex *out)
{
  int m = 0;

  for (int i = 0; i < n; i++)
    {
      const NsMeshVertex *a = &in[i], *b = &in[(i + 1) % n];
      float da = side * (dot3 (f->az, a->pos) + f->bz - limit);
      float db = side * (dot3 (f->az, b->pos) + f->bz - limit);
      if (da <= 0.0f)
        out[m++] = *a;
      if ((da <= 0.0f) != (db <= 0.0f))
        lerp_vertex (a, b, da / (da - db), &out[m++]);
    }
  return m;
}

static void
draw_triangle (const Frame *f, const Pass *p, const NsMeshVertex *v)
{
  float z[3];
  int outside_near = 0, outside_far = 0;

  for (int i = 0; i < 3; i++)
    {
      z[i] = dot3 (f->az, v[i].pos) + f->bz;
      outside_near += z[i] > f->zmax;
      outside_far += z[i] < f->zmin;
    }
  if (outside_near == 0 && outside_far == 0)
    {
      const NsMeshVertex *tri[3] = { &v[0], &v[1], &v[2] };
      raster_triangle (f, p, tri);
    }
  else if (outside_near < 3 && outside_far < 3)
    {
      NsMeshVertex a[5], b[5];
      int n = clip_polygon (f, v, 3, f->zmax, 1.0f, a);
      n = clip_polygon (f, a, n, f->zmin, -1.0f, b);
      for (int i = 1; i + 1 < n; i++)
        {
          const NsMeshVertex *tri[3] = { &b[0], &b[i], &b[i + 1] };
          raster_triangle (f, p, tri);
        }
    }
}

/* Whether the mesh's bounding box lies within the depth range (nothing of it clipped). */
static gboolean
within_depth (const Frame *f, const Mesh *m)
{
  for (int c = 0; c < 8; c++)
    {
      float corner[3] = { (c & 1) ? m->hi[0] : m->lo[0], (c & 2) ? m->hi[1] : m->lo[1],
                          (c & 4) ? m->hi[2] : m->lo[2] };
      float z = dot3 (f->az, corner) + f->bz;
      if (z > f->zmax || z < f->zmin)
        return FALSE;
    }
  return TRUE;
}

static void
draw_mesh (const Frame *f, const Pass *p, const Mesh *m)
{
  for (guint k = 0; k < m->parts->len; k++)
    {
      const NsMeshPart *part = &g_array_index (m->parts, NsMeshPart, k);
      for (gsize i = 0; i + 2 < part->n_vertices; i += 3)
        draw_triangle (f, p, part->vertices + i);
    }
}

/* ---- the cursor marker ------------------------------------------------------------------- */

static void
draw_line (const Frame *f, const float a[3], const float b[3], guint32 rgb)
{
  float x0 = dot3 (f->ax, a) + f->bx, y0 = dot3 (f->ay, a) + f->by;
  float x1 = dot3 (f->ax, b) + f->bx, y1 = dot3 (f->ay, b) + f->by;
  int steps = (int) ceilf (MAX (fabsf (x1 - x0), fabsf (y1 - y0)));

  if (!isfinite (x0 + y0 + x1 + y1) || steps > 4 * MAX_SIZE)
    return;
  for (int i = 0; i <= steps; i++)
    {
      float t = steps > 0 ? (float) i / steps : 0.0f;
      int x = (int) floorf (x0 + t * (x1 - x0)), y = (int) floorf (y0 + t * (y1 - y0));
      if (x >= 0 && y >= 0 && x < f->width && y < f->height)
        f->pixels[(gsize) y * f->stride + x] = 0xff000000u | rgb;
    }
}

static void
draw_marker (const Frame *f, const NsCamera3d *cam, const NsRender3dStyle *style)
{
  /* As the GL renderer's: R red, A green, S blue, 6% of the field of view each way, on
   * top of everything. */
  static const guint32 colours[3] = { 0xff4040, 0x40ff40, 0x4080ff };
  float len = (float) (0.06 * cam->fov_mm / cam->zoom);

  for (int a = 0; a < 3; a++)
    {
      float p0[3], p1[3];
      for (int b = 0; b < 3; b++)
        p0[b] = p1[b] = (float) style->cursor_ras[b];
      p0[a] -= len;
      p1[a] += len;
      draw_line (f, p0, p1, colours[a]);
    }
}

/* ---- the frame ------------------------------------------------------------------------------ */

static gboolean
same_camera (const NsCamera3d *a, const NsCamera3d *b)
{
  return memcmp (a->centre, b->centre, sizeof a->centre) == 0 && a->azimuth == b->azimuth
         && a->elevation == b->elevation && a->zoom == b->zoom && a->fov_mm == b->fov_mm
         && memcmp (a->pan, b->pan, sizeof a->pan) == 0;
}

/* Everything of the style but the cursor. */
static gboolean
same_scene_style (const NsRender3dStyle *a, const NsRender3dStyle *b)
{
  return memcmp (a->labels.rgb, b->labels.rgb, sizeof a->labels.rgb) == 0
         && memcmp (a->labels.visible, b->labels.visible, sizeof a->labels.visible) == 0
         && a->label_opacity == b->label_opacity && a->opaque_label == b->opaque_label
         && a->show_outline == b->show_outline
         && a->outline_opacity == b->outline_opacity && a->outline_rgb == b->outline_rgb
         && a->background_rgb == b->background_rgb;
}

static void
rgb_of (guint32 rgb, float out[3])
{
  out[0] = ((rgb >> 16) & 0xff) / 255.0f;
  out[1] = ((rgb >> 8) & 0xff) / 255.0f;
  out[2] = (rgb & 0xff) / 255.0f;
}

/* The projection of cam into a width x height view over pixels. */
static void
frame_init (Frame *f, const NsCamera3d *cam, int width, int height, guint8 *pixels,
            gsize stride)
{
  double right[3], up[3], toward[3], target[3], l[3], h[3];
  double mmpp = ns_camera3d_mm_per_pixel (cam, height);

  f->width = width;
  f->height = height;
  f->pixels = (guint32 *) pixels;
  f->stride = stride / 4;
  _ns_camera3d_frame (cam, right, up, toward, target);
  _ns_render3d_light (l, h);
  /* x = (p - target).right / mmpp + width / 2, y = height / 2 - (p - target).up / mmpp
   * (as ns_camera3d_project ()), z = (p - target).toward. */
  f->bx = (float) (0.5 * width);
  f->by = (float) (0.5 * height);
  f->bz = 0.0f;
  for (int a = 0; a < 3; a++)
    {
      f->ax[a] = (float) (right[a] / mmpp);
      f->ay[a] = (float) (-up[a] / mmpp);
      f->az[a] = (float) toward[a];
      f->bx -= (float) (target[a] * right[a] / mmpp);
      f->by += (float) (target[a] * up[a] / mmpp);
      f->bz -= (float) (target[a] * toward[a]);
      f->light[a] = (float) l[a];
      f->half[a] = (float) h[a];
    }
  f->zmax = (float) (NS_RENDER3D_EYE_MM - NS_RENDER3D_NEAR_MM);
  f->zmin = (float) (NS_RENDER3D_EYE_MM - NS_RENDER3D_FAR_MM);
}

void
ns_raster3d_draw (NsRaster3d *r, const NsCamera3d *cam, const NsRender3dStyle *style,
                  int width, int height, guint8 *pixels, gsize stride)
{
  float nx[3], ny[3], nz[3];
  guint32 background;
  Frame f;
  Pass pass;

  g_return_if_fail (r != NULL && cam != NULL && style != NULL);
  g_return_if_fail (width >= 0 && height >= 0 && (pixels != NULL || width * height == 0));
  g_return_if_fail (stride >= (gsize) width * 4 && stride % 4 == 0);
  if (width == 0 || height == 0)
    return;

  copy_changed (r);
  if (r->scene_width == width && r->scene_height == height && same_camera (cam, &r->scene_cam)
      && same_scene_style (style, &r->scene_style))
    {
      /* Only the cursor moved (or nothing): the scene kept, then the marker. */
      for (int y = 0; y < height; y++)
        memcpy (pixels + (gsize) y * stride, r->scene + (gsize) y * width, (gsize) width * 4);
      memset (&f, 0, sizeof f);
      frame_init (&f, cam, width, height, pixels, stride);
      if (style->show_cursor)
        draw_marker (&f, cam, style);
      return;
    }
  if (r->depth_len < (gsize) width * height)
    {
      g_free (r->depth);
      r->depth_len = (gsize) width * height;
      r->depth = g_new (float, r->depth_len);
    }

  memset (&f, 0, sizeof f);
  frame_init (&f, cam, width, height, pixels, stride);
  f.depth = r->depth;
  {
    double right[3], up[3], toward[3], target[3];
    _ns_camera3d_frame (cam, right, up, toward, target);
    for (int a = 0; a < 3; a++)
      {
        nx[a] = (float) right[a];
        ny[a] = (float) up[a];
        nz[a] = (float) toward[a];
      }
  }

  background = 0xff000000u | (style->background_rgb & 0xffffff);
  for (int y = 0; y < height; y++)
    {
      guint32 *row = f.pixels + (gsize) y * f.stride;
      for (int x = 0; x < width; x++)
        row[x] = background;
    }
  for (gsize i = 0; i < (gsize) width * height; i++)
    f.depth[i] = -INFINITY;

  memset (&pass, 0, sizeof pass);
  pass.nx = nx;
  pass.ny = ny;
  pass.nz = nz;
  /* Opaque labels write depth and skip back faces (closed surfaces); see-through ones are
   * blended without writing depth, both faces, as GL draws them. */
  /* The opaque label among see-through ones first: it writes depth and the others blend
   * over it (the innermost of nested regions, seen through the outer ones). */
  if (style->label_opacity < 1.0 && style->opaque_label != 0
      && r->labels[style->opaque_label] != NULL && style->labels.visible[style->opaque_label])
    {
      pass.alpha = 1.0f;
      pass.write_depth = TRUE;
      rgb_of (style->labels.rgb[style->opaque_label], pass.rgb);
      pass.cull_back = within_depth (&f, r->labels[style->opaque_label]);
      draw_mesh (&f, &pass, r->labels[style->opaque_label]);
    }
  pass.alpha = (float) CLAMP (style->label_opacity, 0.0, 1.0);
  pass.write_depth = pass.alpha >= 1.0f;
  for (int lv = 1; lv < 256; lv++)
    if (r->labels[lv] != NULL && style->labels.visible[lv]
        && !(lv == style->opaque_label && !pass.write_depth))
      {
        rgb_of (style->labels.rgb[lv], pass.rgb);
        pass.cull_back = pass.write_depth && within_depth (&f, r->labels[lv]);
        draw_mesh (&f, &pass, r->labels[lv]);
      }
  /* The outline last, faint, front faces only: a glass shell over the labels. */
  if (style->show_outline && r->outline != NULL)
    {
      rgb_of (style->outline_rgb, pass.rgb);
      pass.alpha = (float) CLAMP (style->outline_opacity, 0.0, 1.0);
      pass.cull_back = TRUE;
      pass.write_depth = FALSE;
      draw_mesh (&f, &pass, r->outline);
    }
  /* Keep the scene for the frames that only move the cursor. */
  if (r->scene_len < (gsize) width * height)
    {
      g_free (r->scene);
      r->scene_len = (gsize) width * height;
      r->scene = g_new (guint32, r->scene_len);
    }
  for (int y = 0; y < height; y++)
    memcpy (r->scene + (gsize) y * width, pixels + (gsize) y * stride, (gsize) width * 4);
  r->scene_width = width;
  r->scene_height = height;
  r->scene_cam = *cam;
  r->scene_style = *style;
  if (style->show_cursor)
    draw_marker (&f, cam, style);
}

static gboolean
check_size (int width, int height, GError **error)
{
  if (width < 1 || height < 1 || width > MAX_SIZE || height > MAX_SIZE)
    {
      g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_INVALID,
                   "a 3D view of %d x %d pixels: width and height must be 1 .. %d", width,
                   height, MAX_SIZE);
      return FALSE;
    }
  return TRUE;
}

cairo_surface_t *
ns_raster3d_render (const NsSurfaces *labels, const NsSurfaces *outline,
                    const NsCamera3d *cam, const NsRender3dStyle *style, int width,
                    int height, GError **error)
{
  NsRaster3d *r;
  cairo_surface_t *surface;

  if (!check_size (width, height, error))
    return NULL;
  surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  if (cairo_surface_status (surface) != CAIRO_STATUS_SUCCESS)
    {
      g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_SURFACE,
                   "a 3D view of %d x %d pixels: %s", width, height,
                   cairo_status_to_string (cairo_surface_status (surface)));
      cairo_surface_destroy (surface);
      return NULL;
    }
  r = ns_raster3d_new ();
  ns_raster3d_set_surfaces (r, labels, outline);
  cairo_surface_flush (surface);
  ns_raster3d_draw (r, cam, style, width, height, cairo_image_surface_get_data (surface),
                    cairo_image_surface_get_stride (surface));
  cairo_surface_mark_dirty (surface);
  ns_raster3d_free (r);
  return surface;
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* CPU time of the calling thread, ms: on a machine shared with other jobs the wall-clock
 * time also counts the time the thread waited for a core. */
static double
thread_cpu_ms (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

gboolean
ns_raster3d_time_frames (const NsSurfaces *labels, const NsSurfaces *outline,
                         const NsCamera3d *cam, const NsRender3dStyle *style, int width,
                         int height, int n_frames, double *median_ms, double *median_cpu_ms,
                         GError **error)
{
  g_autofree guint8 *pixels = NULL;
  g_autofree double *times = NULL, *cpu = NULL;
  NsCamera3d turning = *cam;
  NsRaster3d *r;

  if (!check_size (width, height, error))
    return FALSE;
  n_frames = MAX (n_frames, 1);
  pixels = g_malloc ((gsize) width * height * 4);
  times = g_new (double, n_frames);
  cpu = g_new (double, n_frames);
  r = ns_raster3d_new ();
  ns_raster3d_set_surfaces (r, labels, outline);
  ns_raster3d_draw (r, &turning, style, width, height, pixels, (gsize) width * 4);
  for (int i = 0; i < n_frames; i++)
    {
      gint64 t0;
      double c0;
      turning.azimuth = fmod (turning.azimuth + 3.0, 360.0);
      t0 = g_get_monotonic_time ();
      c0 = thread_cpu_ms ();
      ns_raster3d_draw (r, &turning, style, width, height, pixels, (gsize) width * 4);
      times[i] = (double) (g_get_monotonic_time () - t0) / 1e3;
      cpu[i] = thread_cpu_ms () - c0;
    }
  ns_raster3d_free (r);
  qsort (times, n_frames, sizeof (double), compare_double);
  qsort (cpu, n_frames, sizeof (double), compare_double);
  *median_ms = times[n_frames / 2];
  if (median_cpu_ms != NULL)
    *median_cpu_ms = cpu[n_frames / 2];
  return TRUE;
}
