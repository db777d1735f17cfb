/* SPDX-License-Identifier: MIT
 *
 * ns-text.h: strings that came from a user, a file name, a file's content or the
 * database, made safe to print on a terminal.
 *
 * A case folder may be named "\033]0;pwned\007", a --who given by a script may hold
 * "\033[2J", a model's class names come from its file: printed raw, such bytes move the
 * cursor, clear the screen, retitle the window or, on some terminals, answer back.
 * Printed through ns_text_dup_printable () they are visible text instead, written the way
 * C writes them, so that nothing is hidden and nothing acts:
 *
 *   "\n" "\r" "\t"   for the three common control characters,
 *   "\x1b"           for any other C0 control character and DEL,
 *   "\u009b"         for C1 control characters and the characters that reorder or break
 *                    lines (bidirectional embeddings, overrides and isolates, U+2028,
 *                    U+2029), which can make text read differently from what it is,
 *   "\xff"           for each byte that is not part of valid UTF-8,
 *   "\\"             for a backslash, so that the escapes above are unambiguous.
 *
 * Every other character, accented letters and other scripts included, stays as it is.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TRUE when text prints as itself (ns_text_dup_printable () would return an equal copy). */
gboolean ns_text_is_printable  (const char *text);
/* A copy of text with what could act on a terminal escaped as above (owned; NULL for
 * NULL). */
char    *ns_text_dup_printable (const char *text);

G_END_DECLS
