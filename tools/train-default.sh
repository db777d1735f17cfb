#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tools/train-default.sh: trains the shipped default model (resources/models/), the
# MobileNetV2-U-Net (FLAIR + T1c in), on the shared BraTS cases except the bundled sample
# case Brats18_CBICA_ABM_1 (never trained on: it is the quality check of `neuroseg
# segment`), with 2 held-out cases for validation (the best epoch is kept).
#
#   tools/train-default.sh [NEUROSEG] [OUT_DIR] [extra train options...]
#   environment: RECIPE (regions | imagenet), PARENT (regions: the softmax model to
#                warm-start from, default the shipped one), EPOCHS, STEPS, ET_BELOW
#
# Run from the project root (../shared/data must exist).  Two recipes:
#  - regions (the recipe of issue 14, resources/models/README.md): region targets (WT, TC,
#    ET as three sigmoid outputs, nnU-Net's BraTS recipe), warm-started from PARENT (a
#    softmax model of the same inputs: every tensor but the head), lr 3e-4 cosine; the
#    post-processing threshold ET_BELOW (enhancing tumour below it becomes core) was
#    chosen on cross-validation predictions (docs/quality.md) and goes into the metadata.
#    The warm start is what makes it affordable on 2 CPU cores.
#  - imagenet: the first shipped model's recipe (from the ImageNet encoder, softmax over
#    4 classes, lr 1e-3 cosine, 20 x 60 steps: 35 minutes on a quiet 2-core machine).
# Writes OUT_DIR/mobilenetv2-unet-default.safetensors (best validation Dice, bf16) and
# OUT_DIR/mobilenetv2-unet-default.last.safetensors (+ .state, for --resume).
set -eu
NEUROSEG=${1:-build/app/neuroseg}
OUT=${2:-/tmp/ns-default}
[ $# -ge 2 ] && shift 2 || shift $#
RECIPE=${RECIPE:-regions}
D=../shared/data
mkdir -p "$OUT"
case $RECIPE in
  regions)
    PARENT=${PARENT:-resources/models/mobilenetv2-unet-default.safetensors}
    # the parent is copied first: the result may replace the file it came from
    cp "$PARENT" "$OUT/parent.safetensors"
    RECIPE_ARGS="--init $OUT/parent.safetensors --targets regions --lr 3e-4
      --epochs ${EPOCHS:-5} --steps-per-epoch ${STEPS:-30}
      --postprocess-et-below ${ET_BELOW:-0}" ;;
  imagenet)
    RECIPE_ARGS="--init imagenet --weights-init kaiming --lr 1e-3
      --epochs ${EPOCHS:-20} --steps-per-epoch ${STEPS:-60}" ;;
  *) echo "train-default.sh: RECIPE must be regions or imagenet" >&2; exit 2 ;;
esac
# shellcheck disable=SC2086
exec "$NEUROSEG" train \
  --data $D/brats2015/brats_2013_pat0003_1 \
  --data $D/brats2015/brats_2013_pat0005_1 \
  --data $D/brats2015/brats_2013_pat0006_1 \
  --data $D/brats2018/Brats18_2013_11_1 \
  --data $D/brats2018/Brats18_2013_3_1 \
  --data $D/brats2018/Brats18_TCIA01_201_1 \
  --data $D/brats2018/Brats18_TCIA01_378_1 \
  --data $D/brats2018/Brats18_TCIA02_135_1 \
  --data $D/brats2018/Brats18_TCIA03_265_1 \
  --data $D/brats2018/Brats18_TCIA10_628_1 \
  --data $D/brats2018/Brats18_TCIA13_623_1 \
  --val $D/brats2018/Brats18_CBICA_ALU_1 \
  --val $D/brats2015/brats_2013_pat0004_1 \
  --arch mobilenetv2-unet $RECIPE_ARGS \
  --batch 8 --schedule cosine --seed 1 --workers 1 --dtype bf16 --json-progress --force \
  -o "$OUT/mobilenetv2-unet-default.safetensors" "$@"
