/* SPDX-License-Identifier: MIT
 *
 * ns-file.h: opening a file that must be a regular file, and saying what a path is
 * when it is not one.
 *
 * A case folder can hold a dangling symbolic link, a link loop, a FIFO or a folder where
 * a FLAIR is expected.  Each is refused with an NS_DATA_ERROR that names the path and
 * what it is ("a dangling symbolic link to /old/t1.nii.gz", "a symbolic link loop", "a
 * FIFO (named pipe), not a regular file"), never skipped, and never opened in a way that
 * could block (a FIFO without a writer) or act on a device.
 *
 * A file about to be written is checked with ns_file_check_output (): nothing a run reads
 * is ever written over, and nothing that exists is replaced unless the user said so.
 */
#pragma once

#include <glib.h>
#include <sys/stat.h>

G_BEGIN_DECLS

/* Checks that path leads (through any symbolic links) to a regular file, without opening
 * it.  NS_DATA_ERROR_NOT_FOUND for a missing file or a dangling link, NS_DATA_ERROR_NOT_NIFTI
 * (it cannot be an image file) for a link loop or anything that is not a regular file,
 * NS_DATA_ERROR_IO otherwise (permissions, ...). */
gboolean    ns_file_check_regular (const char *path, GError **error);
/* Opens path read-only (O_CLOEXEC) after that check, without blocking, and checks the
 * opened file again (it may have been replaced meanwhile).  The descriptor (blocking mode)
 * and its fstat in *st (may be NULL); -1 and an error as above on failure. */
int         ns_file_open_regular  (const char *path, struct stat *st, GError **error);
/* Reads exactly len bytes of fd at offset (pread, retried when interrupted).  A failed
 * read is NS_DATA_ERROR_IO "<name>: cannot read: <reason>", a file that ends first
 * NS_DATA_ERROR_CORRUPT "<name>: truncated: the file ends at byte <n>". */
gboolean    ns_file_read_at       (int fd, void *buf, gsize len, guint64 offset,
                                   const char *name, GError **error);
/* "a FIFO (named pipe)", "a folder", "a character device", ... for a file type (st_mode). */
const char *ns_file_type_name     (mode_t mode);

/* Checks path before a file is written there (the writers of data/, net/ and render/
 * write a temporary file and rename it over path).  Refused, with an NS_DATA_ERROR naming
 * path and the reason:
 *   - path is one of inputs (NULL-terminated; those that do not exist are skipped): the
 *     same file by device and inode, so also through a symbolic or a hard link, whatever
 *     replace says (NS_DATA_ERROR_INVALID);
 *   - a folder, a FIFO, a device or a socket is at path (NS_DATA_ERROR_INVALID);
 *   - a file or a symbolic link is at path and replace is FALSE (NS_DATA_ERROR_REFUSED:
 *     the user may choose to replace it). */
gboolean    ns_file_check_output  (const char *path, const char *const *inputs,
                                   gboolean replace, GError **error);

G_END_DECLS
