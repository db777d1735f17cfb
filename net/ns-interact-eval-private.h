/* SPDX-License-Identifier: MIT
 *
 * ns-interact-eval-private.h: the protocol with another answer in the network's place
 * (the tests' analytic oracle, ns-interact-private.h).
 */
#pragma once

#include "ns-interact-eval.h"
#include "ns-interact-private.h"

G_BEGIN_DECLS

/* ns_interact_eval_run () with meta (inputs, normalisation) and forward in the model's
 * place when not NULL (model may then be NULL). */
gboolean _ns_interact_eval_run_full (NsModel *model, const NsModelMeta *meta,
                                     NsInteractForwardFunc forward, gpointer forward_data,
                                     NsCase *ncase, const NsLabelMap *start,
                                     const NsLabelMap *truth,
                                     const NsInteractEvalOptions *options,
                                     NsInteractEvalResult *result, GError **error);

G_END_DECLS
