/* SPDX-License-Identifier: MIT
 *
 * ns-render3d-offscreen.c: the 3D view without a window, for `neuroseg render --plane 3d`
 * and the tests: an OpenGL 3.3 core context on EGL's surfaceless platform
 * (EGL_MESA_platform_surfaceless: Mesa's llvmpipe on a machine without GPU or display,
 * the GPU's driver where there is one), a 4x multisampled framebuffer object resolved
 * into a plain one, read back into a cairo surface.  The drawing itself is
 * ns_renderer3d_draw (), the workbench's.
 */
#define G_LOG_DOMAIN "neuroseg-render"

#include "ns-render3d.h"

#include <epoxy/egl.h>
#include <epoxy/gl.h>
#include <stdlib.h>

typedef struct
{
  EGLDisplay display;
  EGLContext context;
} Egl;

static void
egl_close (Egl *egl)
{
  if (egl->context != EGL_NO_CONTEXT)
    {
      eglMakeCurrent (egl->display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
      eglDestroyContext (egl->display, egl->context);
    }
  if (egl->display != EGL_NO_DISPLAY)
    eglTerminate (egl->display);
}

static gboolean
egl_open (Egl *egl, GError **error)
{
  static const EGLint attribs[] = {
    EGL_CONTEXT_MAJOR_VERSION, 3,
    EGL_CONTEXT_MINOR_VERSION, 3,
    EGL_CONTEXT_OPENGL_PROFILE_MASK, EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
    EGL_NONE,
  };
  const char *client = eglQueryString (EGL_NO_DISPLAY, EGL_EXTENSIONS);
  EGLint major, minor;

  egl->display = EGL_NO_DISPLAY;
  egl->context = EGL_NO_CONTEXT;
  if (client == NULL || !epoxy_extension_in_string (client, "EGL_MESA_platform_surfaceless"))
    {
      g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_INVALID,
                   "off-screen 3D needs EGL's surfaceless platform "
                   "(EGL_MESA_platform_surfaceless, Debian package libegl-mesa0)");
      return FALSE;
    }
  egl->display = eglGetPlatformDisplayEXT (EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY,
                                           NULL);
  if (egl->display == EGL_NO_DISPLAY || !eglInitialize (egl->display, &major, &minor))
    {
      g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_INVALID,
                   "off-screen 3D: EGL's surfaceless display does not initialise "
                   "(EGL error 0x%x)", eglGetError ());
      egl->display = EGL_NO_DISPLAY;
      return FALSE;
    }
  if (!epoxy_has_egl_extension (egl->display, "EGL_KHR_surfaceless_context")
      || !epoxy_has_egl_extension (egl->display, "EGL_KHR_no_config_context")
      || !eglBindAPI (EGL_OPENGL_API))
    {
      g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_INVALID,
                   "off-screen 3D: EGL %d.%d lacks surfaceless OpenGL contexts "
                   "(EGL_KHR_surfaceless_context, EGL_KHR_no_config_context)", major, minor);
      egl_close (egl);
      return FALSE;
    }
  egl->context = eglCreateContext (egl->display, EGL_NO_CONFIG_KHR, EGL_NO_CONTEXT, attribs);
  if (egl->context == EGL_NO_CONTEXT
      || !eglMakeCurrent (egl->display, EGL_NO_SURFACE, EGL_NO_SURFACE, egl->context))
    {
      g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_INVALID,
                   "off-screen 3D: no OpenGL 3.3 core context on EGL (EGL error 0x%x)",
                   eglGetError ());
      egl_close (egl);
      return FALSE;
    }
  return TRUE;
}

/* A framebuffer with colour and depth renderbuffers, samples 0 for a plain one. */
static GLuint
framebuffer_new (int width, int height, int samples, GLuint rb[2])
{
  GLuint fbo;

  glGenFramebuffers (1, &fbo);
  glBindFramebuffer (GL_FRAMEBUFFER, fbo);
  glGenRenderbuffers (2, rb);
  glBindRenderbuffer (GL_RENDERBUFFER, rb[0]);
  glRenderbufferStorageMultisample (GL_RENDERBUFFER, samples, GL_RGBA8, width, height);
  glFramebufferRenderbuffer (GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, rb[0]);
  glBindRenderbuffer (GL_RENDERBUFFER, rb[1]);
  glRenderbufferStorageMultisample (GL_RENDERBUFFER, samples, GL_DEPTH_COMPONENT24, width,
                                    height);
  glFramebufferRenderbuffer (GL_FRAMEBUFFER, GL_DEPTH_ATTACHMENT, GL_RENDERBUFFER, rb[1]);
  return fbo;
}

cairo_surface_t *
ns_render3d_offscreen (const NsSurfaces *labels, const NsSurfaces *outline,
                       const NsCamera3d *cam, const NsRender3dStyle *style, int width,
                       int height, GError **error)
{
  Egl egl;
  NsRenderer3d *renderer;
  GLuint fbo[2], rb[2][2];
  cairo_surface_t *surface = NULL;
  guint8 *pixels;
  gboolean complete;

  g_return_val_if_fail (cam != NULL && style != NULL, NULL);
  if (width <= 0 || height <= 0 || width > 16384 || height > 16384)
    {
      g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_INVALID,
                   "a 3D view of %d x %d pixels (1 to 16384 each)", width, height);
      return NULL;
    }
  if (!egl_open (&egl, error))
    return NULL;
  renderer = ns_renderer3d_new (error);
  if (renderer == NULL)
    {
      egl_close (&egl);
      return NULL;
    }
  fbo[1] = framebuffer_new (width, height, 0, rb[1]);
  fbo[0] = framebuffer_new (width, height, 4, rb[0]);
  complete = glCheckFramebufferStatus (GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE;
  if (complete)
    {
      ns_renderer3d_set_surfaces (renderer, labels, outline);
      ns_renderer3d_draw (renderer, cam, style, width, height);
      glBindFramebuffer (GL_READ_FRAMEBUFFER, fbo[0]);
      glBindFramebuffer (GL_DRAW_FRAMEBUFFER, fbo[1]);
      glBlitFramebuffer (0, 0, width, height, 0, 0, width, height, GL_COLOR_BUFFER_BIT,
                         GL_NEAREST);
      glBindFramebuffer (GL_FRAMEBUFFER, fbo[1]);
      pixels = g_malloc ((gsize) width * height * 4);
      glPixelStorei (GL_PACK_ALIGNMENT, 1);
      glReadPixels (0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE, pixels);
      if (glGetError () == GL_NO_ERROR)
        {
          guint8 *data;
          int stride;
          surface = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
          cairo_surface_flush (surface);
          data = cairo_image_surface_get_data (surface);
          stride = cairo_image_surface_get_stride (surface);
          /* GL's rows go bottom-up, RGBA bytes; cairo's top-down, native 0xAARRGGBB.
           * The framebuffer is opaque (cleared to an opaque background). */
          for (int y = 0; y < height; y++)
            {
              const guint8 *in = pixels + (gsize) (height - 1 - y) * width * 4;
              guint32 *out = (guint32 *) (data + (gsize) y * stride);
              for (int x = 0; x < width; x++)
                out[x] = 0xff000000u | ((guint32) in[4 * x] << 16)
                         | ((guint32) in[4 * x + 1] << 8) | in[4 * x + 2];
            }
          cairo_surface_mark_dirty (surface);
        }
      else
        g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_INVALID,
                     "off-screen 3D: reading the framebuffer back failed (GL error)");
      g_free (pixels);
    }
  else
    g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_INVALID,
                 "off-screen 3D: a %d x %d multisampled framebuffer is not supported here",
                 width, height);
  glBindFramebuffer (GL_FRAMEBUFFER, 0);
  glDeleteFramebuffers (2, fbo);
  glDeleteRenderbuffers (2, rb[0]);
  glDeleteRenderbuffers (2, rb[1]);
  ns_renderer3d_free (renderer);
  egl_close (&egl);
  return surface;
}

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

gboolean
ns_render3d_time_frames (const NsSurfaces *labels, const NsSurfaces *outline,
                         const NsCamera3d *cam, const NsRender3dStyle *style, int width,
                         int height, int n_frames, double *median_ms, GError **error)
{
  Egl egl;
  NsRenderer3d *renderer;
  NsCamera3d turned = *cam;
  GLuint fbo, rb[2];
  g_autofree double *times = NULL;
  gboolean ok;

  g_return_val_if_fail (n_frames > 0 && median_ms != NULL, FALSE);
  if (!egl_open (&egl, error))
    return FALSE;
  renderer = ns_renderer3d_new (error);
  if (renderer == NULL)
    {
      egl_close (&egl);
      return FALSE;
    }
  fbo = framebuffer_new (width, height, 0, rb);
  ok = glCheckFramebufferStatus (GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE;
  if (ok)
    {
      times = g_new (double, n_frames);
      ns_renderer3d_set_surfaces (renderer, labels, outline);
      ns_renderer3d_draw (renderer, &turned, style, width, height); /* uploads: untimed */
      glFinish ();
      for (int i = 0; i < n_frames; i++)
        {
          gint64 t0 = g_get_monotonic_time ();
          turned.azimuth += 3.0;
          ns_renderer3d_draw (renderer, &turned, style, width, height);
          glFinish ();
          times[i] = (double) (g_get_monotonic_time () - t0) / 1e3;
        }
      qsort (times, n_frames, sizeof (double), compare_double);
      *median_ms = times[n_frames / 2];
    }
  else
    g_set_error (error, NS_RENDER_ERROR, NS_RENDER_ERROR_INVALID,
                 "off-screen 3D: a %d x %d framebuffer is not supported here", width, height);
  glBindFramebuffer (GL_FRAMEBUFFER, 0);
  glDeleteFramebuffers (1, &fbo);
  glDeleteRenderbuffers (2, rb);
  ns_renderer3d_free (renderer);
  egl_close (&egl);
  return ok;
}
