#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tools/finetune-eval.sh: does fine-tuning on one corrected case improve the Dice on a
# held-out case of the same kind?  The workbench's loop (Run Model, correct, Mark Corrected
# and Queue, Training > Fine-tune with its defaults: 5 epochs, lr 1e-4) replayed from the
# command line, with the expert labels standing in for the annotator's correction.
#
# The base model must not have seen the cases: by default it is trained here as fold 0 of
# tools/crossval.sh trains model (c) (MobileNetV2-U-Net, ImageNet encoder, the 6 training
# cases of that fold, same budget), so that every case below is new to it, as a case from
# a new scanner or site is to a deployed model.  Each pair is "corrected case -> held-out
# case" from the same source (BraTS 2013 release, the CBICA site; the bundled sample case
# Brats18_CBICA_ABM_1 is used by nothing else).  For each pair the base model and the
# fine-tuned one segment both cases (`neuroseg segment`), scored with `neuroseg eval`.
#
#   tools/finetune-eval.sh [NEUROSEG] [OUT_DIR]
#   environment: BASE (a model to start from instead of training one), EPOCHS (5),
#                LR (1e-4), DEVICE (cpu), SEED (1), DOC (docs/finetune.md),
#                BASE_EPOCHS (3), BASE_STEPS (50): the base model's budget,
#                TABLE_ONLY=1: only rewrite DOC from OUT_DIR/rows.tsv
#
# Run from the project root.
set -eu
NEUROSEG=${1:-build/app/neuroseg}
OUT=${2:-/tmp/ns-finetune}
EPOCHS=${EPOCHS:-5}
LR=${LR:-1e-4}
DEVICE=${DEVICE:-cpu}
SEED=${SEED:-1}
DOC=${DOC:-docs/finetune.md}
BASE_EPOCHS=${BASE_EPOCHS:-3}
BASE_STEPS=${BASE_STEPS:-50}
D=../shared/data
S=resources/samples/Brats18_CBICA_ABM_1

PAIRS="$D/brats2015/brats_2013_pat0003_1:$D/brats2015/brats_2013_pat0005_1
$D/brats2015/brats_2013_pat0005_1:$D/brats2015/brats_2013_pat0003_1
$D/brats2018/Brats18_CBICA_ALU_1:$S
$D/brats2018/Brats18_2013_11_1:$D/brats2015/brats_2013_pat0003_1"

[ -d "$D" ] || { echo "finetune-eval: $D not found (run from the project root)" >&2; exit 1; }
mkdir -p "$OUT"

. "$(dirname "$0")/lib/cases.sh"

# "WT TC ET" of model $1 on case $2 (files under $3)
dice () {
  name=$(basename "$2")
  "$NEUROSEG" segment --quiet --force --device "$DEVICE" --model "$1" -o "$3-$name.nii.gz" "$2"
  "$NEUROSEG" eval --json "$3-$name.nii.gz" "$(truth_of "$2")" > "$3-$name.json"
  python3 - "$3-$name.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))["regions"]
print(" ".join("%.4f" % r[k]["dice"] for k in ("WT", "TC", "ET")))
EOF
}

BASE_DESC=${BASE:-"trained by this script on the 5 training cases of fold 0 of tools/crossval.sh (model (c): MobileNetV2-U-Net, ImageNet encoder, $BASE_EPOCHS x $BASE_STEPS steps of 8 slices, validation brats_2013_pat0004_1), so that it saw none of the cases below"}
if [ -z "${BASE:-}" ] && [ "${TABLE_ONLY:-0}" != 1 ]; then
  # fold 0 of tools/crossval.sh (4 folds would leave fewer new cases; 2 folds as there)
  BASE=$OUT/base.safetensors
  if [ ! -f "$BASE" ]; then
    echo "== base model (fold 0 training cases, ImageNet encoder)" >&2
    "$NEUROSEG" train --data $D/brats2015/brats_2013_pat0006_1 --data $D/brats2018/Brats18_2013_3_1 \
      --data $D/brats2018/Brats18_TCIA01_201_1 --data $D/brats2018/Brats18_TCIA02_135_1 \
      --data $D/brats2018/Brats18_TCIA10_628_1 --val $D/brats2015/brats_2013_pat0004_1 \
      --arch mobilenetv2-unet --init imagenet --epochs "$BASE_EPOCHS" \
      --steps-per-epoch "$BASE_STEPS" --batch 8 --lr 5e-4 --schedule cosine --seed "$SEED" \
      --device "$DEVICE" --weights-init kaiming --quiet -o "$BASE"
  fi
fi

ROWS=$OUT/rows.tsv
[ "${TABLE_ONLY:-0}" = 1 ] && PAIRS=""   # only rewrite DOC from OUT_DIR/rows.tsv
[ -n "$PAIRS" ] && : > "$ROWS"
i=0
for pair in $PAIRS; do
  T=${pair%%:*} H=${pair#*:}
  i=$((i + 1))
  echo "== pair $i: fine-tune on $(basename "$T"), held out $(basename "$H")" >&2
  t0=$(date +%s)
  "$NEUROSEG" train --data "$T" --init "$BASE" --epochs "$EPOCHS" --lr "$LR" \
    --device "$DEVICE" --seed "$SEED" --quiet --force -o "$OUT/ft$i.safetensors"
  secs=$(( $(date +%s) - t0 ))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(basename "$T")" "$(basename "$H")" "$secs" \
    "$(dice "$BASE" "$T" "$OUT/base$i")" "$(dice "$OUT/ft$i.safetensors" "$T" "$OUT/ft$i")" \
    "$(dice "$BASE" "$H" "$OUT/base$i")" "$(dice "$OUT/ft$i.safetensors" "$H" "$OUT/ft$i")" \
    >> "$ROWS"
done

python3 - "$ROWS" "$DOC" "$EPOCHS" "$LR" "$DEVICE" "$BASE_DESC" <<'EOF'
import sys
rows_path, doc, epochs, lr, device, base = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(rows_path) if l.strip()]
out = ["# Fine-tuning on one corrected case",
       "",
       "Produced by `tools/finetune-eval.sh` (fine-tune: %s epochs, Adam lr %s, the workbench's "
       "Fine-tune defaults, device %s; base model: %s)." % (epochs, lr, device, base),
       "Dice WT / TC / ET of `neuroseg segment`, scored by `neuroseg eval`, before (base) and "
       "after (fine-tuned) on the corrected case itself and on a held-out case of the same "
       "source that neither model saw.", "",
       "| corrected case | held-out case | fine-tune s | corrected: base | corrected: tuned "
       "| held-out: base | held-out: tuned | held-out WT change |",
       "|---|---|---|---|---|---|---|---|"]
deltas = []
fmt = lambda s: " / ".join("%.3f" % float(x) for x in s.split())
for t, h, secs, cb, ct, hb, ht in rows:
    d = [float(a) - float(b) for a, b in zip(ht.split(), hb.split())]
    deltas.append(d)
    out.append("| %s | %s | %s | %s | %s | %s | %s | %+.3f |"
               % (t, h, secs, fmt(cb), fmt(ct), fmt(hb), fmt(ht), d[0]))
mean = [sum(d[k] for d in deltas) / len(deltas) for k in range(3)]
better = [sum(d[k] > 0 for d in deltas) for k in range(3)]
out += ["", "Mean change on the held-out case over %d pairs: WT %+.3f, TC %+.3f, ET %+.3f "
        "(better in %d, %d and %d pairs)." % (len(deltas), *mean, *better), ""]
open(doc, "w").write("\n".join(out))
print("\n".join(out))
EOF
