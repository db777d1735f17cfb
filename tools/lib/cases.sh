# SPDX-License-Identifier: MIT
# tools/lib/cases.sh: shell helpers of the evaluation scripts (sourced, not run).

# truth_of CASE_DIR: the expert label map of a case folder (either BraTS layout)
truth_of () {
  for f in "$1"/*seg.nii.gz "$1"/OTMultiClass.nii.gz; do
    [ -f "$f" ] && { echo "$f"; return; }
  done
  echo "$(basename "$0"): no label map in $1" >&2
  exit 1
}
