/* SPDX-License-Identifier: MIT
 *
 * ns-file.c: see ns-file.h.  stat () first, so that a FIFO or a device is described
 * without being opened; then open (O_NONBLOCK, which makes opening a FIFO return at
 * once) and fstat () the descriptor, which is what is read from, so that a file swapped
 * for a FIFO between the two calls is caught too.
 */
#define G_LOG_DOMAIN "neuroseg-data"

#include "ns-file.h"
#include "ns-data-error.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

const char *
ns_file_type_name (mode_t mode)
{
  if (S_ISREG (mode))
    return "a regular file";
  if (S_ISDIR (mode))
    return "a folder";
  if (S_ISFIFO (mode))
    return "a FIFO (named pipe)";
  if (S_ISCHR (mode))
    return "a character device";
  if (S_ISBLK (mode))
    return "a block device";
  if (S_ISSOCK (mode))
    return "a socket";
  if (S_ISLNK (mode))
    return "a symbolic link";
  return "not a regular file";
}

/* Why stat (path) failed with err, as precisely as the link (if any) lets us say. */
static void
set_stat_error (const char *path, int err, GError **error)
{
  GStatBuf lst;

  if (err == ELOOP)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_NIFTI,
                   "%s: a symbolic link loop (the link leads back to itself)", path);
      return;
    }
  if ((err == ENOENT || err == ENOTDIR) && g_lstat (path, &lst) == 0 && S_ISLNK (lst.st_mode))
    {
      g_autofree char *target = g_file_read_link (path, NULL);
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_FOUND,
                   "%s: a dangling symbolic link to %s (that file does not exist)", path,
                   target != NULL ? target : "a missing file");
      return;
    }
  g_set_error (error, NS_DATA_ERROR,
               err == ENOENT || err == ENOTDIR ? NS_DATA_ERROR_NOT_FOUND : NS_DATA_ERROR_IO,
               "%s: %s", path, g_strerror (err));
}

static gboolean
check_mode (const char *path, mode_t mode, GError **error)
{
  if (S_ISREG (mode))
    return TRUE;
  g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_NOT_NIFTI, "%s: %s, not a regular file", path,
               ns_file_type_name (mode));
  return FALSE;
}

gboolean
ns_file_check_regular (const char *path, GError **error)
{
  GStatBuf st;

  g_return_val_if_fail (path != NULL, FALSE);
  if (g_stat (path, &st) != 0)
    {
      set_stat_error (path, errno, error);
      return FALSE;
    }
  return check_mode (path, st.st_mode, error);
}

int
ns_file_open_regular (const char *path, struct stat *st, GError **error)
{
  struct stat local;

  g_return_val_if_fail (path != NULL, -1);
  if (!ns_file_check_regular (path, error))
    return -1;
  int fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0);
  if (fd < 0)
    {
      set_stat_error (path, errno, error);
      return -1;
    }
  if (st == NULL)
    st = &local;
  if (fstat (fd, st) != 0)
    {
      int err = errno;
      close (fd);
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: %s", path, g_strerror (err));
      return -1;
    }
  if (!check_mode (path, st->st_mode, error))
    {
      close (fd);
      return -1;
    }
  /* A regular file does not block; readers expect ordinary blocking reads. */
  int flags = fcntl (fd, F_GETFL);
  if (flags >= 0)
    fcntl (fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

gboolean
ns_file_read_at (int fd, void *buf, gsize len, guint64 offset, const char *name,
                 GError **error)
{
  gsize done = 0;

  while (done < len)
    {
      gssize got = pread (fd, (char *) buf + done, len - done, (off_t) (offset + done));
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        {
          int err = errno;
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_IO, "%s: cannot read: %s", name,
                       g_strerror (err));
          return FALSE;
        }
      if (got == 0)
        {
          g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_CORRUPT,
                       "%s: truncated: the file ends at byte %" G_GUINT64_FORMAT, name,
                       offset + done);
          return FALSE;
        }
      done += (gsize) got;
    }
  return TRUE;
}

gboolean
ns_file_check_output (const char *path, const char *const *inputs, gboolean replace,
                      GError **error)
{
  GStatBuf lst, st;

  g_return_val_if_fail (path != NULL, FALSE);
  if (g_lstat (path, &lst) != 0)
    {
      if (errno == ENOENT)
        return TRUE;   /* a new file, which no input can be */
      set_stat_error (path, errno, error);
      return FALSE;
    }
  /* Where a link leads, when it leads anywhere: a dangling link is only a name. */
  gboolean has_target = g_stat (path, &st) == 0;
  if (!has_target)
    st = lst;
  for (const char *const *in = inputs; has_target && in != NULL && *in != NULL; in++)
    {
      GStatBuf ist;
      if (g_stat (*in, &ist) == 0 && ist.st_dev == st.st_dev && ist.st_ino == st.st_ino)
        {
          if (strcmp (*in, path) == 0)
            g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                         "%s: is an input of this run; it is never written over", path);
          else
            g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID,
                         "%s: is an input of this run (the same file as %s); it is never "
                         "written over", path, *in);
          return FALSE;
        }
    }
  if (!S_ISREG (st.st_mode) && !S_ISLNK (st.st_mode))
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_INVALID, "%s: %s, not a file to write",
                   path, ns_file_type_name (st.st_mode));
      return FALSE;
    }
  if (!replace)
    {
      g_set_error (error, NS_DATA_ERROR, NS_DATA_ERROR_REFUSED, "%s: already exists",
                   path);
      return FALSE;
    }
  return TRUE;
}
