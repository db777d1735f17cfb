/* SPDX-License-Identifier: MIT
 *
 * ns-validate.h: a model's validation figures on cases with truth labels, for the gate of
 * promotions (data/ns-registry.h).
 *
 * Each case is loaded with its label map (BraTS 2015 labels mapped to 2017+), segmented
 * whole (ns_infer_run_case), and compared with its truth (ns_metrics_evaluate): Dice of WT,
 * TC and ET, voxels predicted and true per region, and the sha256 of the FLAIR and of the
 * truth, which identify the case wherever its folder goes.  A case without a label map is
 * an error naming it: a figure needs a truth.
 *
 * The model is given as its file and loaded here in full with ns_checkpoint_load ():
 * every tensor read and checked, NaN and infinity refused.  A model that diverged would
 * still segment (empty masks) and would earn figures; taking an NsModel built some other
 * way (its metadata alone, say) would let it.
 */
#pragma once

#include "ns-backend.h"
#include "ns-infer.h"
#include "ns-registry.h"

G_BEGIN_DECLS

/* After each case: done of n_cases, and the case just validated. */
typedef void (*NsValidateProgressFunc) (guint done, guint n_cases,
                                        const NsRegistryValidation *figures,
                                        gpointer user_data);

/* Loads the model file on backend (the errors of ns_checkpoint_load (), naming the file)
 * and runs it on each of the NULL-terminated cases (folders or files, as ns_case_load
 * reads them).  options (nullable) are passed to the inference engine.  Returns one
 * NsRegistryValidation * per case, in order, with model_version NS_REGISTRY_NONE (the
 * caller knows the version), or NULL + error at the first case that fails. */
GPtrArray *ns_validate_model_file (const char *model_path, NsBackend *backend,
                                   const char *const *cases, const NsInferOptions *options,
                                   NsValidateProgressFunc progress, gpointer progress_data,
                                   GError **error);

G_END_DECLS
