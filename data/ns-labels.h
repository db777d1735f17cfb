/* SPDX-License-Identifier: MIT
 *
 * ns-labels.h: tumour label schemes, their class names and colours, and the WT/TC/ET
 * regions the metrics and the GUI use.
 *
 * BraTS 2017+ {0, 1 NCR/NET, 2 ED, 4 ET} is the model's output scheme.  BraTS 2015
 * {0, 1 necrosis, 2 edema, 3 non-enhancing, 4 enhancing} is read and, on request, mapped
 * to it (1 and 3 both become 1).  Regions: WT = {1,2,3,4}, TC = {1,3,4}, ET = {4}; they
 * mean the same in both schemes, so metrics need not map first.
 */
#pragma once

#include "ns-volume.h"

G_BEGIN_DECLS

typedef enum
{
  NS_LABEL_SCHEME_BRATS2017,  /* {0, 1, 2, 4}: also BraTS 2018-2021 */
  NS_LABEL_SCHEME_BRATS2015,  /* {0, 1, 2, 3, 4} */
} NsLabelScheme;

typedef enum
{
  NS_REGION_WT,  /* whole tumour: 1, 2, 3, 4 */
  NS_REGION_TC,  /* tumour core: 1, 3, 4 */
  NS_REGION_ET,  /* enhancing tumour: 4 */
  NS_N_REGIONS
} NsRegion;

typedef struct
{
  guint8 value;
  const char *short_name;  /* "NCR/NET", "ED", "ET", ... */
  const char *name;        /* "necrotic and non-enhancing tumour core", ... */
  guint8 rgba[4];          /* overlay colour (alpha 255; the GUI applies its opacity) */
} NsLabelClass;

/* "BraTS 2017+" or "BraTS 2015". */
const char         *ns_label_scheme_name      (NsLabelScheme scheme);
/* The tumour classes of the scheme (background excluded), in value order. */
const NsLabelClass *ns_label_scheme_classes   (NsLabelScheme scheme, guint *n_classes);
/* The class of value, or NULL when the scheme has no such label (0 included). */
const NsLabelClass *ns_label_scheme_lookup    (NsLabelScheme scheme, guint value);
/* TRUE for 0 and the scheme's class values. */
gboolean            ns_label_scheme_contains  (NsLabelScheme scheme, guint value);

const char         *ns_region_name            (NsRegion region);  /* "WT", "TC", "ET" */
/* Whether a label (either scheme) belongs to region. */
gboolean            ns_region_contains        (NsRegion region, guint8 label);

/* Voxel count of every value 0..255. */
void                ns_label_map_count        (const NsLabelMap *map, guint64 counts[256]);
/* The centre of mass of the voxels with a label other than 0, in voxel coordinates, each
 * rounded to the nearest voxel (where the views of a case start); FALSE, centre untouched,
 * when every voxel is 0. */
gboolean            ns_label_map_centroid     (const NsLabelMap *map, double centre[3]);
/* Fails with NS_DATA_ERROR_BAD_LABELS naming the file (map->path) and the first value
 * outside the scheme. */
gboolean            ns_label_map_check_scheme (const NsLabelMap *map, NsLabelScheme scheme,
                                               GError **error);
/* The scheme a map's values fit: BraTS 2015 when label 3 occurs, else BraTS 2017+. */
NsLabelScheme       ns_label_map_guess_scheme (const NsLabelMap *map);
/* BraTS 2015 to 2017+ in place: 3 (non-enhancing) becomes 1; 1, 2 and 4 stay. */
void                ns_label_map_map_2015_to_2017 (NsLabelMap *map);

/* A label map from a volume holding labels (label files are often float32 or int16).
 * Every voxel must be an integer of the scheme (within 1e-3: float files round-trip
 * values like 3.9999998); otherwise NS_DATA_ERROR_BAD_LABELS naming the file, the
 * value and a voxel where it occurs (NaN/Inf voxels, counted by the loader, are an
 * error too).  map_2015 applies ns_label_map_map_2015_to_2017(). */
NsLabelMap         *ns_label_map_from_volume  (const NsVolume *volume, NsLabelScheme scheme,
                                               gboolean map_2015, GError **error);
/* ns_label_map_from_volume () of the NIfTI file at path (ns_nifti_read ()): the one read
 * of a label file, whose errors name the file. */
NsLabelMap         *ns_label_map_read         (const char *path, NsLabelScheme scheme,
                                               gboolean map_2015, GError **error);
/* Voxels != 0 become 1 (a brain mask from a volume of any type). */
NsLabelMap         *ns_label_map_from_nonzero (const NsVolume *volume, GError **error);

G_END_DECLS
