/* SPDX-License-Identifier: MIT
 *
 * test-data-text.c: strings made printable (data/ns-text.h): terminal escape sequences,
 * other control characters, C1 controls, bidirectional overrides and invalid UTF-8 come
 * out as visible escapes; letters of any script, and text that is already printable,
 * come out unchanged.
 */
#include "ns-text.h"

#include <string.h>

static void
check (const char *in, const char *want)
{
  g_autofree char *got = ns_text_dup_printable (in);
  g_assert_cmpstr (got, ==, want);
  g_assert_true (g_utf8_validate (got, -1, NULL));
  for (const char *c = got; *c != '\0'; c++)
    g_assert_true ((guint8) *c >= 0x20 && *c != 0x7f);
  g_assert_cmpint (ns_text_is_printable (in), ==, strcmp (in, want) == 0);
}

static void
test_unchanged (void)
{
  check ("", "");
  check ("Brats18_CBICA_ABM_1", "Brats18_CBICA_ABM_1");
  check ("/data/cases/Élodie Müller/flair.nii.gz", "/data/cases/Élodie Müller/flair.nii.gz");
  check ("症例 12 — T1c", "症例 12 — T1c");
  check ("spaces and 'quotes' and \"double\" ~!@#$%^&*()", "spaces and 'quotes' and \"double\" "
         "~!@#$%^&*()");
  g_assert_null (ns_text_dup_printable (NULL));
}

static void
test_controls (void)
{
  /* Clear the screen, set the window title, ring the bell. */
  check ("\033[2J\033[H", "\\x1b[2J\\x1b[H");
  check ("case\033]0;pwned\007", "case\\x1b]0;pwned\\x07");
  check ("a\nb\rc\td", "a\\nb\\rc\\td");
  check ("del\177", "del\\x7f");
  check ("\001\037", "\\x01\\x1f");
  /* A backslash is escaped too, so that "\x1b" in the output is never the raw text. */
  check ("C:\\x1b", "C:\\\\x1b");
}

static void
test_unicode_controls (void)
{
  /* U+009B is CSI on terminals that read C1 controls. */
  check ("\xc2\x9b" "2J", "\\u009b2J");
  check ("\xc2\x85", "\\u0085");
  /* Right-to-left override: "txt.exe" that reads as "exe.txt". */
  check ("report\xe2\x80\xaetxt.exe", "report\\u202etxt.exe");
  check ("a\xe2\x81\xa6" "b\xe2\x81\xa9", "a\\u2066b\\u2069");
  check ("line\xe2\x80\xa8" "break", "line\\u2028break");
}

static void
test_invalid_utf8 (void)
{
  check ("\xff", "\\xff");
  check ("caf\xe9", "caf\\xe9");               /* Latin-1, not UTF-8 */
  check ("\xe2\x82", "\\xe2\\x82");            /* cut short */
  check ("\xc0\xaf", "\\xc0\\xaf");            /* overlong '/' */
  check ("\xed\xa0\x80", "\\xed\\xa0\\x80");   /* a UTF-16 surrogate */
  check ("ok\xffok\xc3\xa9", "ok\\xffok\xc3\xa9");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/text/unchanged", test_unchanged);
  g_test_add_func ("/data/text/controls", test_controls);
  g_test_add_func ("/data/text/unicode-controls", test_unicode_controls);
  g_test_add_func ("/data/text/invalid-utf8", test_invalid_utf8);
  return g_test_run ();
}
