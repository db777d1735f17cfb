/* SPDX-License-Identifier: MIT
 *
 * ns-render3d.c: the OpenGL renderer of the 3D view (see ns-render3d.h; the camera, style
 * and lighting it shares with the CPU renderer are in ns-render3d-scene.c).
 * GL is reached through libepoxy, which resolves entry points in whatever context is
 * current (GTK's, or the off-screen EGL one).  One shader program draws the lit surfaces
 * and, unlit, the cursor marker.  Each label value has its own vertex buffer, re-uploaded
 * from the surfaces when their generation moved on.
 */
#define G_LOG_DOMAIN "neuroseg-render"

#include "ns-render3d-private.h"

#include <epoxy/gl.h>
#include <math.h>
#include <string.h>

/* ---- renderer ---------------------------------------------------------------------------- */

typedef struct
{
  GLuint vao, vbo;
  GLsizei n_vertices;
} GpuMesh;

struct _NsRenderer3d
{
  GLuint program;
  GLint u_mvp, u_view, u_colour, u_lit;
  GpuMesh labels[256];
  GpuMesh outline;
  GpuMesh marker;
  const NsSurfaces *label_surfaces, *outline_surfaces;
  const NsSurfaces *uploaded_labels, *uploaded_outline;
  guint64 labels_generation, outline_generation;
};

static const char vertex_src[] =
  "in vec3 a_pos;\n"
  "in vec3 a_normal;\n"
  "uniform mat4 u_mvp;\n"
  "uniform mat4 u_view;\n"
  "out vec3 v_normal;\n"
  "void main () {\n"
  "  gl_Position = u_mvp * vec4 (a_pos, 1.0);\n"
  "  v_normal = mat3 (u_view) * a_normal;\n"
  "}\n";

/* %s: the constants, so that the shader and ns_render3d_shade () cannot drift apart. */
static const char fragment_fmt[] =
  "in vec3 v_normal;\n"
  "uniform vec4 u_colour;\n"
  "uniform int u_lit;\n"
  "out vec4 frag_colour;\n"
  "void main () {\n"
  "  if (u_lit == 0) { frag_colour = u_colour; return; }\n"
  "  vec3 n = normalize (v_normal);\n"
  "  if (!gl_FrontFacing) n = -n;\n"
  "  vec3 l = normalize (vec3 (%s, %s, %s));\n"
  "  vec3 h = normalize (l + vec3 (0.0, 0.0, 1.0));\n"
  "  float d = max (dot (n, l), 0.0);\n"
  "  float s = pow (max (dot (n, h), 0.0), %s);\n"
  "  frag_colour = vec4 (clamp (u_colour.rgb * (%s + %s * d) + %s * s, 0.0, 1.0),\n"
  "                      u_colour.a);\n"
  "}\n";

static GLuint
compile (GLenum kind, const char *body, GError **error)
{
  const char *header = epoxy_is_desktop_gl () ? "#version 150\n"
                                              : "#version 300 es\nprecision highp float;\n";
  const char *sources[2] = { header, body };
  GLuint shader = glCreateShader (kind);
  GLint ok = 0;

  glShaderSource (shader, 2, sources, NULL);
  glCompileShader (shader);
  glGetShaderiv (shader, GL_COMPILE_STATUS, &ok);
  if (!ok)
    {
      char log[2048] = "";
      glGetShaderInfoLog (shader, sizeof log, NULL, log);
      g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_INVALID,
                   "the 3D view's %s shader does not compile: %s",
                   kind == GL_VERTEX_SHADER ? "vertex" : "fragment", log);
      glDeleteShader (shader);
      return 0;
    }
  return shader;
}

NsRenderer3d *
ns_renderer3d_new (GError **error)
{
  g_autofree char *fragment_src = NULL;
  NsRenderer3d *r;
  GLuint vs, fs;
  GLint ok = 0;

  {
    /* GLSL wants '.' whatever the locale: g_ascii_dtostr, not printf's %f. */
    const double k[7] = { NS_RENDER3D_LIGHT_X, NS_RENDER3D_LIGHT_Y, NS_RENDER3D_LIGHT_Z,
                          NS_RENDER3D_SHININESS, NS_RENDER3D_AMBIENT, NS_RENDER3D_DIFFUSE,
                          NS_RENDER3D_SPECULAR };
    char n[7][G_ASCII_DTOSTR_BUF_SIZE];
    for (int i = 0; i < 7; i++)
      {
        g_ascii_dtostr (n[i], sizeof n[i], k[i]);
        if (strpbrk (n[i], ".e") == NULL)
          g_strlcat (n[i], ".0", sizeof n[i]);
      }
    fragment_src = g_strdup_printf (fragment_fmt, n[0], n[1], n[2], n[3], n[4], n[5], n[6]);
  }
  vs = compile (GL_VERTEX_SHADER, vertex_src, error);
  if (vs == 0)
    return NULL;
  fs = compile (GL_FRAGMENT_SHADER, fragment_src, error);
  if (fs == 0)
    {
      glDeleteShader (vs);
      return NULL;
    }
  r = g_new0 (NsRenderer3d, 1);
  r->program = glCreateProgram ();
  glAttachShader (r->program, vs);
  glAttachShader (r->program, fs);
  glBindAttribLocation (r->program, 0, "a_pos");
  glBindAttribLocation (r->program, 1, "a_normal");
  glLinkProgram (r->program);
  glDeleteShader (vs);
  glDeleteShader (fs);
  glGetProgramiv (r->program, GL_LINK_STATUS, &ok);
  if (!ok)
    {
      char log[2048] = "";
      glGetProgramInfoLog (r->program, sizeof log, NULL, log);
      g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_INVALID,
                   "the 3D view's shaders do not link: %s", log);
      glDeleteProgram (r->program);
      g_free (r);
      return NULL;
    }
  r->u_mvp = glGetUniformLocation (r->program, "u_mvp");
  r->u_view = glGetUniformLocation (r->program, "u_view");
  r->u_colour = glGetUniformLocation (r->program, "u_colour");
  r->u_lit = glGetUniformLocation (r->program, "u_lit");
  return r;
}

static void
gpu_mesh_clear (GpuMesh *m)
{
  if (m->vao != 0)
    glDeleteVertexArrays (1, &m->vao);
  if (m->vbo != 0)
    glDeleteBuffers (1, &m->vbo);
  memset (m, 0, sizeof *m);
}

static void
gpu_mesh_upload (GpuMesh *m, const NsMeshVertex *v, gsize n)
{
  if (n == 0)
    {
      gpu_mesh_clear (m);
      return;
    }
  if (m->vao == 0)
    {
      glGenVertexArrays (1, &m->vao);
      glGenBuffers (1, &m->vbo);
      glBindVertexArray (m->vao);
      glBindBuffer (GL_ARRAY_BUFFER, m->vbo);
      glEnableVertexAttribArray (0);
      glVertexAttribPointer (0, 3, GL_FLOAT, GL_FALSE, sizeof (NsMeshVertex),
                             (void *) G_STRUCT_OFFSET (NsMeshVertex, pos));
      glEnableVertexAttribArray (1);
      glVertexAttribPointer (1, 3, GL_FLOAT, GL_FALSE, sizeof (NsMeshVertex),
                             (void *) G_STRUCT_OFFSET (NsMeshVertex, normal));
    }
  glBindBuffer (GL_ARRAY_BUFFER, m->vbo);
  glBufferData (GL_ARRAY_BUFFER, (GLsizeiptr) (n * sizeof (NsMeshVertex)), v, GL_STATIC_DRAW);
  m->n_vertices = (GLsizei) n;
}

void
ns_renderer3d_free (NsRenderer3d *r)
{
  if (r == NULL)
    return;
  for (int l = 0; l < 256; l++)
    gpu_mesh_clear (&r->labels[l]);
  gpu_mesh_clear (&r->outline);
  gpu_mesh_clear (&r->marker);
  glDeleteProgram (r->program);
  g_free (r);
}

void
ns_renderer3d_set_surfaces (NsRenderer3d *r, const NsSurfaces *labels,
                            const NsSurfaces *outline)
{
  r->label_surfaces = labels;
  r->outline_surfaces = outline;
}

static void
upload_changed (NsRenderer3d *r)
{
  g_autoptr (GArray) v = g_array_new (FALSE, FALSE, sizeof (NsMeshVertex));

  if (_ns_render3d_surfaces_changed (r->label_surfaces, r->uploaded_labels,
                                     r->labels_generation))
    {
      gboolean present[256] = { FALSE };
      if (r->label_surfaces != NULL)
        ns_surfaces_get_labels (r->label_surfaces, present);
      for (int l = 1; l < 256; l++)
        {
          g_array_set_size (v, 0);
          if (present[l])
            ns_surfaces_collect (r->label_surfaces, (guint8) l, v, NULL);
          gpu_mesh_upload (&r->labels[l], (NsMeshVertex *) v->data, v->len);
        }
      r->uploaded_labels = r->label_surfaces;
      r->labels_generation = _ns_render3d_generation (r->label_surfaces);
    }
  if (_ns_render3d_surfaces_changed (r->outline_surfaces, r->uploaded_outline,
                                     r->outline_generation))
    {
      g_array_set_size (v, 0);
      if (r->outline_surfaces != NULL)
        ns_surfaces_collect (r->outline_surfaces, 1, v, NULL);
      gpu_mesh_upload (&r->outline, (NsMeshVertex *) v->data, v->len);
      r->uploaded_outline = r->outline_surfaces;
      r->outline_generation = _ns_render3d_generation (r->outline_surfaces);
    }
}

/* Column-major 4 x 4 matrices, as GL takes them. */
static void
matrices (const NsCamera3d *cam, int width, int height, float view[16], float mvp[16])
{
  double right[3], up[3], toward[3], target[3], eye[3], proj[16] = { 0 }, v[16] = { 0 };
  double h = 0.5 * cam->fov_mm / cam->zoom, w = h * width / MAX (height, 1);
  double near = NS_RENDER3D_NEAR_MM, far = NS_RENDER3D_FAR_MM;

  _ns_camera3d_frame (cam, right, up, toward, target);
  for (int a = 0; a < 3; a++)
    eye[a] = target[a] + toward[a] * NS_RENDER3D_EYE_MM;
  for (int a = 0; a < 3; a++)
    {
      v[4 * a + 0] = right[a];
      v[4 * a + 1] = up[a];
      v[4 * a + 2] = toward[a];
    }
  v[12] = -(right[0] * eye[0] + right[1] * eye[1] + right[2] * eye[2]);
  v[13] = -(up[0] * eye[0] + up[1] * eye[1] + up[2] * eye[2]);
  v[14] = -(toward[0] * eye[0] + toward[1] * eye[1] + toward[2] * eye[2]);
  v[15] = 1.0;
  proj[0] = 1.0 / w;
  proj[5] = 1.0 / h;
  proj[10] = -2.0 / (far - near);
  proj[14] = -(far + near) / (far - near);
  proj[15] = 1.0;
  for (int c = 0; c < 4; c++)
    for (int r = 0; r < 4; r++)
      {
        double s = 0.0;
        for (int k = 0; k < 4; k++)
          s += proj[4 * k + r] * v[4 * c + k];
        mvp[4 * c + r] = (float) s;
        view[4 * c + r] = (float) v[4 * c + r];
      }
}

static void
set_colour (NsRenderer3d *r, guint32 rgb, double alpha, gboolean lit)
{
  glUniform4f (r->u_colour, ((rgb >> 16) & 0xff) / 255.0f, ((rgb >> 8) & 0xff) / 255.0f,
               (rgb & 0xff) / 255.0f, (float) alpha);
  glUniform1i (r->u_lit, lit ? 1 : 0);
}

static void
draw_marker (NsRenderer3d *r, const NsCamera3d *cam, const NsRender3dStyle *style)
{
  static const guint32 colours[3] = { 0xff4040, 0x40ff40, 0x4080ff };
  double len = 0.06 * cam->fov_mm / cam->zoom;
  NsMeshVertex v[6];

  memset (v, 0, sizeof v);
  for (int a = 0; a < 3; a++)
    for (int e = 0; e < 2; e++)
      {
        for (int b = 0; b < 3; b++)
          v[2 * a + e].pos[b] = (float) style->cursor_ras[b];
        v[2 * a + e].pos[a] += (float) (e ? len : -len);
      }
  gpu_mesh_upload (&r->marker, v, 6);
  glDisable (GL_DEPTH_TEST);
  glBindVertexArray (r->marker.vao);
  for (int a = 0; a < 3; a++)
    {
      set_colour (r, colours[a], 1.0, FALSE);
      glDrawArrays (GL_LINES, 2 * a, 2);
    }
  glEnable (GL_DEPTH_TEST);
}

void
ns_renderer3d_draw (NsRenderer3d *r, const NsCamera3d *cam, const NsRender3dStyle *style,
                    int width, int height)
{
  float view[16], mvp[16];
  gboolean see_through = style->label_opacity < 1.0;

  upload_changed (r);
  glViewport (0, 0, width, height);
  glClearColor (((style->background_rgb >> 16) & 0xff) / 255.0f,
                ((style->background_rgb >> 8) & 0xff) / 255.0f,
                (style->background_rgb & 0xff) / 255.0f, 1.0f);
  glClear (GL_COLOR_BUFFER_BIT | GL_DEPTH_BUFFER_BIT);
  if (width <= 0 || height <= 0)
    return;

  matrices (cam, width, height, view, mvp);
  glUseProgram (r->program);
  glUniformMatrix4fv (r->u_mvp, 1, GL_FALSE, mvp);
  glUniformMatrix4fv (r->u_view, 1, GL_FALSE, view);
  glEnable (GL_DEPTH_TEST);
  glDepthFunc (GL_LEQUAL);
  glDisable (GL_CULL_FACE);
  glBlendFunc (GL_SRC_ALPHA, GL_ONE_MINUS_SRC_ALPHA);

  /* The opaque label among see-through ones first: it writes depth and the others blend
   * over it (the innermost of nested regions, seen through the outer ones). */
  if (see_through && style->opaque_label != 0 && r->labels[style->opaque_label].n_vertices > 0
      && style->labels.visible[style->opaque_label])
    {
      glDisable (GL_BLEND);
      set_colour (r, style->labels.rgb[style->opaque_label], 1.0, TRUE);
      glBindVertexArray (r->labels[style->opaque_label].vao);
      glDrawArrays (GL_TRIANGLES, 0, r->labels[style->opaque_label].n_vertices);
    }
  /* Opaque labels write depth; see-through ones are blended without writing it, so all
   * of them show through each other (order-independent enough for a few nested regions). */
  if (see_through)
    {
      glEnable (GL_BLEND);
      glDepthMask (GL_FALSE);
    }
  else
    glDisable (GL_BLEND);
  for (int l = 1; l < 256; l++)
    if (r->labels[l].n_vertices > 0 && style->labels.visible[l]
        && !(see_through && l == style->opaque_label))
      {
        set_colour (r, style->labels.rgb[l], style->label_opacity, TRUE);
        glBindVertexArray (r->labels[l].vao);
        glDrawArrays (GL_TRIANGLES, 0, r->labels[l].n_vertices);
      }

  /* The outline last, faint, front faces only: a glass shell over the labels. */
  if (style->show_outline && r->outline.n_vertices > 0)
    {
      glEnable (GL_BLEND);
      glDepthMask (GL_FALSE);
      glEnable (GL_CULL_FACE);
      glCullFace (GL_BACK);
      glFrontFace (GL_CCW);
      set_colour (r, style->outline_rgb, style->outline_opacity, TRUE);
      glBindVertexArray (r->outline.vao);
      glDrawArrays (GL_TRIANGLES, 0, r->outline.n_vertices);
      glDisable (GL_CULL_FACE);
    }
  glDepthMask (GL_TRUE);
  glDisable (GL_BLEND);
  if (style->show_cursor)
    draw_marker (r, cam, style);
  glBindVertexArray (0);
  glUseProgram (0);
}

void
ns_renderer3d_finish (NsRenderer3d *renderer)
{
  glFinish ();
}
