#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tools/train-default.sh: trains the shipped default model (resources/models/), the
# MobileNetV2-U-Net (FLAIR + T1c in, 4 classes) from the ImageNet encoder, on the shared
# BraTS cases except the bundled sample case Brats18_CBICA_ABM_1 (never trained on: it is
# the quality check of `neuroseg segment`), with 2 held-out cases for validation.
#
#   tools/train-default.sh [NEUROSEG] [OUT_DIR] [extra train options...]
#
# Run from the project root (../shared/data must exist).  20 epochs x 60 steps took 35
# minutes on the 2-core build machine when it was not busy (resources/models/README.md:
# the shipped model was trained with --epochs 11, then extended by --resume to 12 and 20,
# so its learning-rate curve differs slightly from one uninterrupted run of this script).
# Writes OUT_DIR/mobilenetv2-unet-default.safetensors (best validation Dice, bf16) and
# OUT_DIR/mobilenetv2-unet-default.last.safetensors (+ .state, for --resume).
set -eu
NEUROSEG=${1:-build/app/neuroseg}
OUT=${2:-/tmp/ns-default}
[ $# -ge 2 ] && shift 2 || shift $#
D=../shared/data
mkdir -p "$OUT"
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
  --arch mobilenetv2-unet --init imagenet \
  --weights-init kaiming \
  --epochs 20 --steps-per-epoch 60 --batch 8 --lr 1e-3 --schedule cosine --seed 1 \
  --workers 1 --dtype bf16 --json-progress --force \
  -o "$OUT/mobilenetv2-unet-default.safetensors" "$@"
