/* SPDX-License-Identifier: MIT
 *
 * test-net-dataset.c: the training set on the bundled sample case: slices cropped to the
 * brain with one fixed size, classes within the model's set, the 2:1 tumour sampling,
 * batches that are a pure function of (seed, index) whatever the number of worker
 * threads, and every bad input a GError naming what is wrong.
 */
#define G_LOG_DOMAIN "ns-test"

#include "ns-data-error.h"
#include "ns-dataset.h"
#include "ns-test-util.h"

#include <math.h>
#include <string.h>

static NsCase *sample;

static NsDataset *
make_dataset (int crop, gboolean augment, guint64 seed, double ratio)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("mobilenetv2-unet");
  NsDatasetOptions opt;
  ns_dataset_options_init (&opt);
  opt.crop_w = opt.crop_h = crop;
  opt.augment = augment;
  opt.seed = seed;
  opt.tumour_ratio = ratio;
  NsDataset *ds = ns_dataset_new_from_cases (&sample, 1, meta, &opt, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ds);
  return ds;
}

static gboolean
batches_equal (const NsBatch *a, const NsBatch *b)
{
  gsize n = (gsize) a->n * a->h * a->w;
  return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w && a->index == b->index
         && memcmp (a->images, b->images, n * a->c * sizeof (float)) == 0
         && memcmp (a->labels, b->labels, n * sizeof (float)) == 0
         && memcmp (a->slice_ids, b->slice_ids, a->n * sizeof (int)) == 0;
}

/* Slices: brain slices only, the automatic crop covers the brain box rounded up to 32,
 * the slice is the normalised volume at the right place, classes are 0..3. */
static void
test_slices (void)
{
  g_autoptr (NsDataset) ds = make_dataset (0, FALSE, 0, 2);
  int w, h;
  ns_dataset_get_crop_size (ds, &w, &h);
  g_test_message ("%d slices (%d with tumour), crop %d x %d", ns_dataset_get_n_slices (ds),
                  ns_dataset_get_n_tumour_slices (ds), w, h);
  g_assert_cmpint (w % 32, ==, 0);
  g_assert_cmpint (h % 32, ==, 0);
  g_assert_cmpint (w, <=, sample->grid.dim[0] + 31);
  g_assert_cmpint (ns_dataset_get_n_slices (ds), >, 50);
  g_assert_cmpint (ns_dataset_get_n_slices (ds), <=, sample->grid.dim[2]);
  g_assert_cmpint (ns_dataset_get_n_tumour_slices (ds), >, 10);
  g_assert_cmpint (ns_dataset_get_n_tumour_slices (ds), <, ns_dataset_get_n_slices (ds));
  g_assert_cmpint (ns_dataset_get_n_channels (ds), ==, 2);
  g_assert_cmpstr (ns_dataset_get_case_ids (ds)[0], ==, "Brats18_CBICA_ABM_1");

  /* Tumour voxels of the case == tumour pixels over all slices (the brain box holds the
   * whole tumour), and class 3 is label 4. */
  guint64 want[5] = { 0 };
  gsize nvox = ns_grid_n_voxels (&sample->grid);
  for (gsize v = 0; v < nvox; v++)
    if (sample->labels->labels[v] <= 4)
      want[sample->labels->labels[v]]++;
  guint64 got[4] = { 0 };
  for (int id = 0; id < ns_dataset_get_n_slices (ds); id++)
    {
      const float *img;
      const guint8 *cls;
      gboolean tumour, any = FALSE;
      ns_dataset_peek_slice (ds, id, &img, &cls);
      ns_dataset_slice_info (ds, id, NULL, NULL, &tumour);
      for (int p = 0; p < w * h; p++)
        {
          g_assert_cmpuint (cls[p], <, 4);
          got[cls[p]]++;
          any |= cls[p] != 0;
        }
      g_assert_cmpint (any, ==, tumour);
    }
  g_assert_cmpuint (got[1], ==, want[1]);
  g_assert_cmpuint (got[2], ==, want[2]);
  g_assert_cmpuint (got[3], ==, want[4]);
}

/* 2.5-D: an item of a model with context 1 holds, per modality, the planes k - 1, k and
 * k + 1 of its case (0 where the case has no brain slice there), in ns-model.h's order. */
static void
test_context (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("mobilenetv2-unet");
  meta->context = 1;
  NsDatasetOptions opt;
  ns_dataset_options_init (&opt);
  opt.augment = FALSE;
  opt.tumour_ratio = 0;   /* plain slices too: the first and last brain planes */
  g_autoptr (NsDataset) ds = ns_dataset_new_from_cases (&sample, 1, meta, &opt, &error);
  g_assert_no_error (error);
  g_assert_cmpint (ns_dataset_get_n_channels (ds), ==, 6);
  int w, h;
  ns_dataset_get_crop_size (ds, &w, &h);
  gsize plane = (gsize) w * h;
  int n = ns_dataset_get_n_slices (ds), edges = 0;

  for (guint64 b = 0; b < 40; b++)
    {
      g_autoptr (NsBatch) batch = ns_dataset_make_batch (ds, b, 4, &error);
      g_assert_no_error (error);
      g_assert_cmpint (batch->c, ==, 6);
      for (int it = 0; it < 4; it++)
        {
          int id = batch->slice_ids[it], k;
          ns_dataset_slice_info (ds, id, NULL, &k, NULL);
          for (int d = -1; d <= 1; d++)
            {
              /* the stored slice of plane k + d, if any (slices are in plane order) */
              const float *want = NULL;
              for (int o = 0; o < n; o++)
                {
                  int ko;
                  ns_dataset_slice_info (ds, o, NULL, &ko, NULL);
                  if (ko == k + d)
                    ns_dataset_peek_slice (ds, o, &want, NULL);
                }
              edges += want == NULL;
              for (int m = 0; m < 2; m++)
                {
                  const float *got = batch->images + ((gsize) it * 6 + m * 3 + d + 1) * plane;
                  for (gsize p = 0; p < plane; p++)
                    g_assert_cmpfloat (got[p], ==, want != NULL ? want[m * plane + p] : 0.0f);
                }
            }
        }
    }
  g_test_message ("%d neighbours outside the brain slices", edges);
}

/* A fixed crop smaller than the brain is centred on the brain box; images are finite. */
static void
test_fixed_crop (void)
{
  g_autoptr (NsDataset) ds = make_dataset (64, TRUE, 3, 2);
  g_autoptr (GError) error = NULL;
  int w, h;
  ns_dataset_get_crop_size (ds, &w, &h);
  g_assert_cmpint (w, ==, 64);
  g_assert_cmpint (h, ==, 64);
  g_autoptr (NsBatch) b = ns_dataset_make_batch (ds, 0, 4, &error);
  g_assert_no_error (error);
  g_assert_cmpint (b->n, ==, 4);
  g_assert_cmpint (b->c, ==, 2);
  for (gsize i = 0; i < (gsize) 4 * 2 * 64 * 64; i++)
    g_assert_true (isfinite (b->images[i]));
  for (gsize i = 0; i < (gsize) 4 * 64 * 64; i++)
    g_assert_true (b->labels[i] == 0 || b->labels[i] == 1 || b->labels[i] == 2
                   || b->labels[i] == 3);
}

/* Deterministic: the same batch twice; another seed another batch; the loader with 1 or
 * 3 workers returns exactly the synchronous batches, in order. */
static void
test_deterministic (void)
{
  g_autoptr (NsDataset) ds = make_dataset (96, TRUE, 42, 2);
  g_autoptr (NsDataset) other = make_dataset (96, TRUE, 43, 2);
  g_autoptr (GError) error = NULL;

  g_autoptr (NsBatch) a = ns_dataset_make_batch (ds, 5, 3, &error);
  g_assert_no_error (error);
  g_autoptr (NsBatch) b = ns_dataset_make_batch (ds, 5, 3, &error);
  g_assert_no_error (error);
  g_assert_true (batches_equal (a, b));
  g_autoptr (NsBatch) c = ns_dataset_make_batch (other, 5, 3, &error);
  g_assert_no_error (error);
  g_assert_false (batches_equal (a, c));
  g_autoptr (NsBatch) d = ns_dataset_make_batch (ds, 6, 3, &error);
  g_assert_no_error (error);
  g_assert_false (batches_equal (a, d));

  const int first = 3, count = 8;
  NsBatch *want[8];
  for (int i = 0; i < count; i++)
    {
      want[i] = ns_dataset_make_batch (ds, first + i, 3, &error);
      g_assert_no_error (error);
    }
  int workers[2] = { 1, 3 };
  for (int wi = 0; wi < 2; wi++)
    {
      /* depth 2: the workers must wait for the consumer (the bounded queue) */
      g_autoptr (NsBatchLoader) l = ns_batch_loader_new (ds, 3, first, workers[wi], 2);
      for (int i = 0; i < count; i++)
        {
          g_autoptr (NsBatch) got = ns_batch_loader_next (l, &error);
          g_assert_no_error (error);
          g_assert_cmpuint (got->index, ==, (guint64) (first + i));
          g_assert_true (batches_equal (got, want[i]));
          if (i == 2)
            g_usleep (20000);   /* let the workers run into the bound */
        }
    }
  for (int i = 0; i < count; i++)
    ns_batch_free (want[i]);
}

/* Tumour slices are drawn ratio : 1. */
static void
test_ratio (void)
{
  g_autoptr (GError) error = NULL;
  double ratios[3] = { 2, 1, 0 };
  for (int r = 0; r < 3; r++)
    {
      g_autoptr (NsDataset) ds = make_dataset (64, FALSE, 7, ratios[r]);
      int n = 0, tumour = 0;
      for (int i = 0; i < 200; i++)
        {
          g_autoptr (NsBatch) b = ns_dataset_make_batch (ds, i, 4, &error);
          g_assert_no_error (error);
          for (int k = 0; k < b->n; k++)
            {
              gboolean t;
              ns_dataset_slice_info (ds, b->slice_ids[k], NULL, NULL, &t);
              tumour += t;
              n++;
            }
        }
      double want = ratios[r] / (ratios[r] + 1), got = (double) tumour / n;
      g_test_message ("ratio %g: %.3f of %d items had tumour (want %.3f)", ratios[r], got, n,
                      want);
      g_assert_cmpfloat (fabs (got - want), <, 0.05);
    }
}

static void
test_bad_inputs (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsModelMeta) meta = ns_model_meta_new_default ("mobilenetv2-unet");
  NsDatasetOptions opt;
  ns_dataset_options_init (&opt);

  /* a folder that does not exist */
  const char *missing[] = { "/nonexistent/case-dir", NULL };
  NsDataset *ds = ns_dataset_new (missing, meta, &opt, &error);
  g_assert_null (ds);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "/nonexistent/case-dir"));
  g_clear_error (&error);

  /* a case without labels (only its FLAIR and T1c files) */
  g_autofree char *flair = g_build_filename (ns_test_sample_case (),
                                             "Brats18_CBICA_ABM_1_flair.nii.gz", NULL);
  g_autofree char *t1c = g_build_filename (ns_test_sample_case (),
                                           "Brats18_CBICA_ABM_1_t1ce.nii.gz", NULL);
  const char *files[] = { flair, t1c, NULL };
  g_autoptr (NsCase) nolabels = ns_case_load_files (files, NS_CASE_LOAD_DEFAULT, &error);
  g_assert_no_error (error);
  ds = ns_dataset_new_from_cases (&nolabels, 1, meta, &opt, &error);
  g_assert_null (ds);
  g_assert_nonnull (strstr (error->message, "label map"));
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  /* a modality the case lacks */
  g_autoptr (NsModelMeta) t2meta = ns_model_meta_copy (meta);
  g_free (t2meta->modalities[1]);
  t2meta->modalities[1] = g_strdup ("t2");
  ds = ns_dataset_new_from_cases (&nolabels, 1, t2meta, &opt, &error);
  g_assert_null (ds);
  g_assert_nonnull (strstr (error->message, "t2"));
  g_clear_error (&error);

  /* labels the model has no class for: a model without "enhancing" */
  g_autoptr (NsModelMeta) three = ns_model_meta_copy (meta);
  three->n_classes = 3;
  ds = ns_dataset_new_from_cases (&sample, 1, three, &opt, &error);
  g_assert_null (ds);
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS);
  g_assert_nonnull (strstr (error->message, "seg.nii.gz"));
  g_assert_nonnull (strstr (error->message, "label 4"));
  g_test_message ("%s", error->message);
  three->n_classes = 4;
  g_clear_error (&error);

  /* a crop that the network cannot take, a negative ratio, no case */
  opt.crop_w = opt.crop_h = 100;
  ds = ns_dataset_new_from_cases (&sample, 1, meta, &opt, &error);
  g_assert_null (ds);
  g_assert_nonnull (strstr (error->message, "multiple"));
  g_clear_error (&error);
  ns_dataset_options_init (&opt);
  opt.tumour_ratio = -1;
  ds = ns_dataset_new_from_cases (&sample, 1, meta, &opt, &error);
  g_assert_null (ds);
  g_assert_nonnull (error);
  g_clear_error (&error);
  ds = ns_dataset_new_from_cases (NULL, 0, meta, NULL, &error);
  g_assert_null (ds);
  g_assert_nonnull (error);
}

/* Starts (interactive training): a label map per case, cut like the labels and moved by
 * the same augmentation in every batch, without changing the batch's images and labels;
 * a map on another grid or with a label the model has no class for is an error naming
 * its file. */
static void
test_starts (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (NsDataset) plain = make_dataset (0, TRUE, 3, 2);
  g_autoptr (NsDataset) ds = make_dataset (0, TRUE, 3, 2);
  /* the start: the truth with necrosis (1) and edema (2) swapped, so that it differs
   * from the labels and what it should be in every pixel is known */
  g_autoptr (NsLabelMap) start = ns_label_map_dup (sample->labels, &error);
  g_assert_no_error (error);
  gsize nvox = ns_grid_n_voxels (&sample->grid);
  for (gsize v = 0; v < nvox; v++)
    start->labels[v] = start->labels[v] == 1 ? 2 : start->labels[v] == 2 ? 1
                                                                         : start->labels[v];
  g_assert_false (ns_dataset_has_starts (ds));
  g_assert_true (ns_dataset_set_starts (ds, &start, &error));
  g_assert_no_error (error);
  g_assert_true (ns_dataset_has_starts (ds));

  int swapped = 0;
  for (guint64 b = 0; b < 20; b++)
    {
      g_autoptr (NsBatch) with = ns_dataset_make_batch (ds, b, 4, &error);
      g_assert_no_error (error);
      g_autoptr (NsBatch) without = ns_dataset_make_batch (plain, b, 4, &error);
      g_assert_no_error (error);
      g_assert_null (without->starts);
      g_assert_nonnull (with->starts);
      g_assert_true (batches_equal (with, without));
      gsize n = (gsize) with->n * with->h * with->w;
      for (gsize p = 0; p < n; p++)
        {
          float l = with->labels[p];
          float want = l == 1 ? 2 : l == 2 ? 1 : l;
          if (with->starts[p] != want)
            g_error ("batch %" G_GUINT64_FORMAT " pixel %zu: start %g, label %g", b,
                     (size_t) p, with->starts[p], l);
          swapped += l == 1 || l == 2;
        }
    }
  g_assert_cmpint (swapped, >, 1000);

  /* another grid */
  NsGrid small = sample->grid;
  small.dim[2] -= 1;
  g_autoptr (NsLabelMap) other = ns_label_map_new (&small, &error);
  g_assert_no_error (error);
  other->path = g_strdup ("/somewhere/other-grid.nii.gz");
  g_autoptr (NsDataset) ds2 = make_dataset (0, TRUE, 3, 2);
  g_assert_false (ns_dataset_set_starts (ds2, &other, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_GRID_MISMATCH);
  g_assert_nonnull (strstr (error->message, "other-grid.nii.gz"));
  g_test_message ("%s", error->message);
  g_clear_error (&error);

  /* a label that is no class of the model, inside the brain's slices */
  g_autoptr (NsLabelMap) bad = ns_label_map_dup (sample->labels, &error);
  g_assert_no_error (error);
  g_free (bad->path);
  bad->path = g_strdup ("/somewhere/bad-labels.nii.gz");
  for (gsize v = 0; v < nvox; v++)
    if (bad->labels[v] == 4)
      bad->labels[v] = 7;
  g_assert_false (ns_dataset_set_starts (ds2, &bad, &error));
  g_assert_error (error, NS_DATA_ERROR, NS_DATA_ERROR_BAD_LABELS);
  g_assert_nonnull (strstr (error->message, "bad-labels.nii.gz"));
  g_assert_nonnull (strstr (error->message, "label 7"));
  g_assert_false (ns_dataset_has_starts (ds2));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  sample = ns_case_load (ns_test_sample_case (), NS_CASE_LOAD_MAP_TO_2017, &error);
  g_assert_no_error (error);

  g_test_add_func ("/net/dataset/slices", test_slices);
  g_test_add_func ("/net/dataset/fixed-crop", test_fixed_crop);
  g_test_add_func ("/net/dataset/context", test_context);
  g_test_add_func ("/net/dataset/deterministic", test_deterministic);
  g_test_add_func ("/net/dataset/tumour-ratio", test_ratio);
  g_test_add_func ("/net/dataset/bad-inputs", test_bad_inputs);
  g_test_add_func ("/net/dataset/starts", test_starts);
  int status = g_test_run ();
  ns_case_unref (sample);
  return status;
}
