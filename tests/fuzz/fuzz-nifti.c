/* SPDX-License-Identifier: MIT
 *
 * fuzz-nifti.c: libFuzzer target for the NIfTI loader.  The input is a whole file, gzip-
 * compressed or not, read through ns_nifti_read_memory (the loader's own code path, no
 * temporary file).  What loads is then pushed through what the data layer does next with
 * a volume (orientation, label conversion, background and brain mask) so that odd but
 * accepted headers are exercised too.  Every input must give volumes or an error naming
 * the input, never a crash, a leak or an allocation the input cannot justify.
 *
 * The decoder's memory budget is fixed at FUZZ_BUDGET_MIB, below libFuzzer's
 * -malloc_limit_mb (run-fuzz.sh): a reader that allocated what a header claims, rather
 * than what the budget grants and the stream holds, is reported as a crash (the seeds
 * claim-1e9 and claim-6e7 claim 4 GB and 240 MB of float32).
 */
#define G_LOG_DOMAIN "ns-fuzz"

#include "ns-data-error.h"
#include "ns-labels.h"
#include "ns-memory.h"
#include "ns-nifti.h"
#include "ns-normalize.h"

#include <stdint.h>
#include <string.h>

#define FUZZ_BUDGET_MIB 96

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  ns_memory_set_limit ((guint64) FUZZ_BUDGET_MIB << 20);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  GPtrArray *volumes = ns_nifti_read_memory (data, size, "fuzz-input", &error);

  if (volumes == NULL)
    {
      g_assert (error != NULL && error->domain == NS_DATA_ERROR);
      g_assert (strstr (error->message, "fuzz-input") != NULL);
      g_error_free (error);
      return 0;
    }
  g_assert (error == NULL);

  for (guint v = 0; v < volumes->len; v++)
    {
      NsVolume *vol = g_ptr_array_index (volumes, v);
      char orient[4];
      ns_grid_orientation_code (&vol->grid, orient);
      g_assert (strlen (orient) == 3);
      (void) ns_grid_voxel_volume_ml (&vol->grid);
      if (ns_volume_n_voxels (vol) > (1u << 20))
        continue;

      NsLabelMap *map = ns_label_map_from_volume (vol, NS_LABEL_SCHEME_BRATS2015, TRUE, &error);
      if (map != NULL)
        {
          g_assert (ns_label_map_check_scheme (map, NS_LABEL_SCHEME_BRATS2017, NULL));
          ns_label_map_unref (map);
        }
      else
        g_clear_error (&error);

      NsNormalizeStats stats;
      NsVolume *norm = ns_normalize_zscore (vol, NULL, &stats, &error);
      if (norm != NULL)
        ns_volume_unref (norm);
      else
        g_clear_error (&error);
    }
  g_ptr_array_unref (volumes);
  return 0;
}
