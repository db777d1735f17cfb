# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# tools/lib/cases.sh: shell helpers of the evaluation scripts (sourced, not run).

# truth_of CASE_DIR: the expert label map of a case folder (either BraTS layout)
truth_of () {
  for f in "$1"/*seg.nii.gz "$1"/OTMultiClass.nii.gz; do
    [ -f "$f" ] && { echo "$f"; return; }
  done
  echo "$(basename "$0"): no label map in $1" >&2
  exit 1
}

# CV_CASES: the 13 shared cases of the cross-validations (crossval.sh, interact-cv.sh,
# interact-starts.sh), in the order that makes the folds (case index modulo FOLDS); the
# bundled case Brats18_CBICA_ABM_1 is never one of them.  D: ../shared/data.
D=${D:-../shared/data}
# shellcheck disable=SC2034  # used by the scripts that source this file
CV_CASES="$D/brats2015/brats_2013_pat0003_1 $D/brats2015/brats_2013_pat0004_1
$D/brats2015/brats_2013_pat0005_1 $D/brats2015/brats_2013_pat0006_1
$D/brats2018/Brats18_2013_11_1 $D/brats2018/Brats18_2013_3_1
$D/brats2018/Brats18_CBICA_ALU_1 $D/brats2018/Brats18_TCIA01_201_1
$D/brats2018/Brats18_TCIA01_378_1 $D/brats2018/Brats18_TCIA02_135_1
$D/brats2018/Brats18_TCIA03_265_1 $D/brats2018/Brats18_TCIA10_628_1
$D/brats2018/Brats18_TCIA13_623_1"
