#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""postprocess-threshold.py: the enhancing-tumour volume threshold of the post-processing
(data/ns-postprocess.h: enhancing tumour of fewer than T voxels becomes necrosis/core),
chosen on cross-validation predictions that the fold being tested never saw.

    postprocess-threshold.py RESULTS CONFIG FOLD OUT_DIR

For test fold FOLD it reads the label maps that tools/crossval.sh wrote for CONFIG in the
OTHER folds (OUT_DIR/CONFIG/fold<g>/<case>.nii.gz: the cases fold FOLD trained on,
predicted by models that did not train on them) and their expert labels, and picks the T
of the candidates that maximises the mean enhancing-tumour Dice there (the smallest on a
tie; the relabelling leaves WT and TC as they are).  FOLD -1 uses every fold: the
threshold of a model trained on all the cases.  Prints the segment option
"--postprocess-et-below T" on stdout and the table on stderr.  RESULTS (results.tsv) names
the cases and their folds.
"""
import glob
import os
import sys

import nibabel as nib
import numpy as np

CANDIDATES = [0, 25, 50, 100, 200, 300, 500, 800, 1200, 2000]
DATA = "../shared/data"


def truth_path(case):
    sub = "brats2015" if case.startswith("brats_2013") else "brats2018"
    d = os.path.join(DATA, sub, case)
    hits = glob.glob(os.path.join(d, "*seg.nii.gz")) + glob.glob(os.path.join(d, "OTMultiClass.nii.gz"))
    if not hits:
        sys.exit(f"postprocess-threshold: no label map in {d}")
    return hits[0]


def dice(n_pred, n_truth, n_overlap):
    return 1.0 if n_pred + n_truth == 0 else 2.0 * n_overlap / (n_pred + n_truth)


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    results, config, fold, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    rows = [l.rstrip("\n").split("\t") for l in open(results)][1:]
    cases = sorted({(r[1], r[2]) for r in rows if r[0] == config and int(r[1]) != fold})
    if not cases:
        sys.exit(f"postprocess-threshold: no predictions of {config} outside fold {fold} in "
                 f"{results}")
    stats = []   # (predicted ET voxels, truth ET voxels, overlap)
    for g, case in cases:
        pred = np.asarray(nib.load(os.path.join(out, config, f"fold{g}", case + ".nii.gz")).dataobj)
        truth = np.asarray(nib.load(truth_path(case)).dataobj)
        p, t = pred == 4, np.rint(truth) == 4
        stats.append((int(p.sum()), int(t.sum()), int((p & t).sum())))
    best = None
    for T in CANDIDATES:
        d = [dice(0, nt, 0) if 0 < npred < T else dice(npred, nt, no) for npred, nt, no in stats]
        m = float(np.mean(d))
        print(f"T {T:5d}: mean ET Dice {m:.4f} over {len(d)} cases", file=sys.stderr)
        if best is None or m > best[1] + 1e-12:
            best = (T, m)
    print(f"chosen T {best[0]} for fold {fold} of {config}", file=sys.stderr)
    print(f"--postprocess-et-below {best[0]}")


if __name__ == "__main__":
    main()
