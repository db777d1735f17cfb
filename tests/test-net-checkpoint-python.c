/* SPDX-License-Identifier: MIT
 *
 * test-net-checkpoint-python.c: a checkpoint written by Neuroseg is readable by a
 * 30-line numpy reader that follows the safetensors specification (what PyTorch's
 * `safetensors` package checks: header length, JSON, dtypes, contiguous offsets covering
 * the data), and the values it reads are ours, bit for bit (F32) or as rounded (BF16).
 * Skipped (77) when /usr/bin/python3 or numpy is missing.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-checkpoint.h"
#include "ns-test-util.h"

#include <stdlib.h>
#include <string.h>

#define PYTHON "/usr/bin/python3"

static const char reader[] =
  "import json, struct, sys\n"
  "import numpy as np\n"
  "path, out_names, out_values = sys.argv[1:4]\n"
  "data = open(path, 'rb').read()\n"
  "(n,) = struct.unpack('<Q', data[:8])\n"
  "header = json.loads(data[8:8 + n])\n"
  "meta = header.pop('__metadata__')\n"
  "assert all(isinstance(v, str) for v in meta.values())\n"
  "assert meta['format'] == 'neuroseg-model' and meta['format_version'] == '1'\n"
  "body = data[8 + n:]\n"
  "entries = sorted(header.items(), key=lambda kv: kv[1]['data_offsets'][0])\n"
  "pos = 0\n"
  "with open(out_names, 'w') as names, open(out_values, 'wb') as values:\n"
  "    for name, e in entries:\n"
  "        b, end = e['data_offsets']\n"
  "        assert b == pos, (name, b, pos)  # contiguous, no holes\n"
  "        raw = body[b:end]\n"
  "        if e['dtype'] == 'F32':\n"
  "            a = np.frombuffer(raw, '<f4')\n"
  "        elif e['dtype'] == 'BF16':\n"
  "            a = (np.frombuffer(raw, '<u2').astype(np.uint32) << 16).view(np.float32)\n"
  "        elif e['dtype'] == 'F16':\n"
  "            a = np.frombuffer(raw, '<f2').astype(np.float32)\n"
  "        else:\n"
  "            raise ValueError(e['dtype'])\n"
  "        a = a.reshape(e['shape'])\n"
  "        names.write('%s %s\\n' % (name, ','.join(str(d) for d in a.shape)))\n"
  "        values.write(a.astype('<f4').tobytes())\n"
  "        pos = end\n"
  "assert pos == len(body), (pos, len(body))\n"
  "print(len(entries), 'tensors', meta['arch'], json.loads(meta['modalities']))\n";

static void
check_dtype (NsDType dtype)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsBackend) be = ns_backend_new ("ref", &error);
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("mobilenetv2-unet");
  NsModelInit init = { NS_INIT_KAIMING, 0, 42 };
  g_autoptr (NsModel) m = ns_model_new (be, meta, &init, &error);
  const char *dir = ns_test_tmpdir ();
  g_autofree char *model = g_build_filename (dir, "py.safetensors", NULL);
  g_autofree char *script = g_build_filename (dir, "reader.py", NULL);
  g_autofree char *names = g_build_filename (dir, "names.txt", NULL);
  g_autofree char *values = g_build_filename (dir, "values.bin", NULL);
  g_autofree char *out = NULL, *err = NULL, *text = NULL, *bin = NULL;
  gsize text_len, bin_len;
  int status;

  g_assert_no_error (error);
  g_assert_true (ns_checkpoint_save (m, model, dtype, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (script, reader, -1, NULL));

  const char *argv[] = { PYTHON, script, model, names, values, NULL };
  g_assert_true (g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out,
                               &err, &status, &error));
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("python reader failed: %s%s", out, err);
  g_test_message ("python: %s", out);

  g_assert_true (g_file_get_contents (names, &text, &text_len, NULL));
  g_assert_true (g_file_get_contents (values, &bin, &bin_len, NULL));
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  const float *v = (const float *) bin;
  gsize pos = 0;
  int n_read = 0;

  for (char **l = lines; *l != NULL && **l != '\0'; l++)
    {
      g_auto (GStrv) parts = g_strsplit (*l, " ", 2);
      int idx = ns_model_find_tensor (m, parts[0]);
      int shape[4];
      g_assert_cmpint (idx, >=, 0);
      ns_model_tensor_shape (m, idx, shape);
      int nd = ns_model_tensor_ndim (m, idx);
      g_autoptr (GString) want = g_string_new (NULL);
      for (int d = 0; d < nd; d++)
        g_string_append_printf (want, "%s%d", d ? "," : "", shape[d]);
      g_assert_cmpstr (parts[1], ==, want->str);

      gsize n = ns_model_tensor_size (m, idx);
      g_autofree float *mine = g_new (float, n);
      g_assert_cmpuint ((pos + n) * 4, <=, bin_len);
      ns_model_tensor_get (m, idx, mine);
      for (gsize e = 0; e < n; e++)
        {
          float w = dtype == NS_DTYPE_F32 ? mine[e] : ns_bf16_to_float (ns_float_to_bf16 (mine[e]));
          if (memcmp (&w, &v[pos + e], 4) != 0)
            g_error ("%s[%" G_GSIZE_FORMAT "]: ours %.9g, numpy %.9g", parts[0], e, w, v[pos + e]);
        }
      pos += n;
      n_read++;
    }
  g_assert_cmpint (n_read, ==, ns_model_n_tensors (m));
  g_assert_cmpuint (pos * 4, ==, bin_len);
}

static void
test_f32 (void)
{
  check_dtype (NS_DTYPE_F32);
}

static void
test_bf16 (void)
{
  check_dtype (NS_DTYPE_BF16);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (!g_file_test (PYTHON, G_FILE_TEST_IS_EXECUTABLE))
    {
      g_printerr ("skipping: %s not found\n", PYTHON);
      return 77;
    }
  {
    const char *check[] = { PYTHON, "-c", "import numpy", NULL };
    int status = 1;
    if (!g_spawn_sync (NULL, (char **) check, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
                       NULL, NULL, &status, NULL)
        || !g_spawn_check_wait_status (status, NULL))
      {
        g_printerr ("skipping: numpy is not available to %s\n", PYTHON);
        return 77;
      }
  }
  g_test_add_func ("/net/checkpoint/python-numpy/f32", test_f32);
  g_test_add_func ("/net/checkpoint/python-numpy/bf16", test_bf16);
  return g_test_run ();
}
