#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tools/interact-starts.sh: the starts of interactive training (issue 15) for
# tools/interact-cv.sh STARTS=OUT: the automatic prediction of every training case of each
# fold by a segmentation model that did not train on it, nested inside the fold (the
# fold's test cases are never touched).  Fold f's training cases (those of
# tools/interact-cv.sh: case index modulo FOLDS is not f) are split in two halves by
# alternation; a model of the screening recipe (regions, clipped z-score, ImageNet
# encoder, EPOCHS x STEPS steps of BATCH: the recipe of the fold models whose predictions
# interact-cv.sh starts its test cases from) is trained on each half and predicts the
# other half into OUT/fold<f>/<case>.nii.gz (scored against the truth into <case>.json).
#
# Resumable: a half whose model is done is not trained again, a prediction made is not
# made again.
#
#   tools/interact-starts.sh [NEUROSEG] [OUT_DIR]
#   environment: FOLDS (2), EPOCHS (5), STEPS (40), BATCH (8), SEED (1), NICE (10),
#                DEVICE (cpu), FOLD_LIST (the folds to make, default all)
set -eu
NEUROSEG=${1:-build/app/neuroseg}
OUT=${2:-/tmp/ns-interact-starts}
FOLDS=${FOLDS:-2}
EPOCHS=${EPOCHS:-5}
STEPS=${STEPS:-40}
BATCH=${BATCH:-8}
SEED=${SEED:-1}
NICE=${NICE:-10}
DEVICE=${DEVICE:-cpu}
D=../shared/data
TOOLS=$(dirname "$0")

[ -d "$D" ] || { echo "interact-starts: $D not found (run from the project root)" >&2; exit 1; }
. "$TOOLS/lib/cases.sh"   # truth_of, CV_CASES
CASES=$CV_CASES

for f in ${FOLD_LIST:-$(seq 0 $((FOLDS - 1)))}; do
  TRAIN=""
  i=0
  for c in $CASES; do
    [ $((i % FOLDS)) -ne "$f" ] && TRAIN="$TRAIN $c"
    i=$((i + 1))
  done
  for h in 0 1; do
    DATA="" OTHER=""
    j=0
    for c in $TRAIN; do
      if [ $((j % 2)) -eq $h ]; then DATA="$DATA --data $c"; else OTHER="$OTHER $c"; fi
      j=$((j + 1))
    done
    M=$OUT/fold$f/half$h
    mkdir -p "$M"
    if [ ! -f "$M/done" ]; then
      echo "== fold $f half $h: train$DATA; predict$OTHER" >&2
      # shellcheck disable=SC2086
      nice -n "$NICE" "$NEUROSEG" train $DATA --arch mobilenetv2-unet --init imagenet \
        --lr 1e-3 --targets regions --normalisation zscore-brain-clip --epochs "$EPOCHS" \
        --steps-per-epoch "$STEPS" --batch "$BATCH" --schedule cosine --seed "$SEED" \
        --device "$DEVICE" --precision fp32 --weights-init kaiming --json-progress --force \
        -o "$M/model.safetensors" > "$M/train.log"
      if ! tail -n 1 "$M/train.log" | grep -q '"event":"done".*"stopped":false'; then
        echo "interact-starts: fold $f half $h did not finish (see $M/train.log)" >&2
        exit 1
      fi
      touch "$M/done"
    fi
    for c in $OTHER; do
      name=$(basename "$c")
      [ -f "$OUT/fold$f/$name.json" ] && continue
      nice -n "$NICE" "$NEUROSEG" segment --quiet --force --device "$DEVICE" \
        --model "$M/model.safetensors" -o "$OUT/fold$f/$name.nii.gz" "$c"
      "$NEUROSEG" eval --json "$OUT/fold$f/$name.nii.gz" "$(truth_of "$c")" \
        > "$OUT/fold$f/$name.json.part"
      mv "$OUT/fold$f/$name.json.part" "$OUT/fold$f/$name.json"
    done
  done
done
