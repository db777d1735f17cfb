#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tools/crossval.sh: the paper's comparison by cross-validation over the 13 shared BraTS
# cases (../shared/data minus the bundled sample case Brats18_CBICA_ABM_1):
#   (a) classic U-Net from scratch,
#   (b) MobileNetV2-U-Net from scratch,
#   (c) MobileNetV2-U-Net with the ImageNet encoder,
# each with the same folds, budget and seed.  Fold f tests on the cases whose index is f
# modulo FOLDS; of the remaining cases one (rotating) is held out for validation (best
# epoch, early stopping) and the rest are trained on.  Every test case is segmented with
# `neuroseg segment` and scored with `neuroseg eval --json`; the table of mean Dice (WT,
# TC, ET) over all test cases goes to docs/crossval.md, the per-case numbers to
# OUT_DIR/results.tsv.
#
#   tools/crossval.sh [NEUROSEG] [OUT_DIR]
#   environment: FOLDS (4), EPOCHS (20), STEPS (100 steps per epoch), BATCH (8), LR (5e-4),
#                SCHEDULE (cosine), SEED (1), DEVICE (auto), PRECISION (fp32),
#                PATIENCE (0), WEIGHTS_INIT (kaiming: the layers the init does not set),
#                CONFIGS ("a b c"), DOC (docs/crossval.md)
#
# Run from the project root.  The default budget is 3 x 4 x 2000 steps of 8 slices: hours
# on a GPU, days on a 2-core CPU; lower EPOCHS/STEPS to try it out.
set -eu
NEUROSEG=${1:-build/app/neuroseg}
OUT=${2:-/tmp/ns-crossval}
FOLDS=${FOLDS:-4}
EPOCHS=${EPOCHS:-20}
STEPS=${STEPS:-100}
BATCH=${BATCH:-8}
LR=${LR:-5e-4}
SCHEDULE=${SCHEDULE:-cosine}
SEED=${SEED:-1}
DEVICE=${DEVICE:-auto}
PRECISION=${PRECISION:-fp32}
PATIENCE=${PATIENCE:-0}
WEIGHTS_INIT=${WEIGHTS_INIT:-kaiming}
CONFIGS=${CONFIGS:-a b c}
DOC=${DOC:-docs/crossval.md}
D=../shared/data

CASES="$D/brats2015/brats_2013_pat0003_1 $D/brats2015/brats_2013_pat0004_1
$D/brats2015/brats_2013_pat0005_1 $D/brats2015/brats_2013_pat0006_1
$D/brats2018/Brats18_2013_11_1 $D/brats2018/Brats18_2013_3_1
$D/brats2018/Brats18_CBICA_ALU_1 $D/brats2018/Brats18_TCIA01_201_1
$D/brats2018/Brats18_TCIA01_378_1 $D/brats2018/Brats18_TCIA02_135_1
$D/brats2018/Brats18_TCIA03_265_1 $D/brats2018/Brats18_TCIA10_628_1
$D/brats2018/Brats18_TCIA13_623_1"

[ -d "$D" ] || { echo "crossval: $D not found (run from the project root)" >&2; exit 1; }
mkdir -p "$OUT"
RESULTS=$OUT/results.tsv
printf 'config\tfold\tcase\tWT\tTC\tET\n' > "$RESULTS"

. "$(dirname "$0")/lib/cases.sh"   # truth_of

for config in $CONFIGS; do
  case $config in
    a) ARGS="--arch unet --init none" ;;
    b) ARGS="--arch mobilenetv2-unet --init none" ;;
    c) ARGS="--arch mobilenetv2-unet --init imagenet" ;;
    *) echo "crossval: unknown config $config (a, b or c)" >&2; exit 2 ;;
  esac
  f=0
  while [ $f -lt "$FOLDS" ]; do
    TEST="" TRAIN="" VAL=""
    i=0
    for c in $CASES; do
      if [ $((i % FOLDS)) -eq $f ]; then TEST="$TEST $c"; else TRAIN="$TRAIN $c"; fi
      i=$((i + 1))
    done
    # the validation case: the f-th of the training cases
    j=0 REST=""
    for c in $TRAIN; do
      if [ $j -eq $f ]; then VAL=$c; else REST="$REST --data $c"; fi
      j=$((j + 1))
    done
    DIR=$OUT/$config/fold$f
    mkdir -p "$DIR"
    echo "== config $config fold $f: test$TEST, validation $VAL" >&2
    # shellcheck disable=SC2086
    "$NEUROSEG" train $REST --val "$VAL" $ARGS --epochs "$EPOCHS" --steps-per-epoch "$STEPS" \
      --batch "$BATCH" --lr "$LR" --schedule "$SCHEDULE" --seed "$SEED" --device "$DEVICE" \
      --precision "$PRECISION" --patience "$PATIENCE" --weights-init "$WEIGHTS_INIT" --quiet --force \
      -o "$DIR/model.safetensors" > "$DIR/train.log"
    for c in $TEST; do
      name=$(basename "$c")
      "$NEUROSEG" segment --quiet --force --device "$DEVICE" --model "$DIR/model.safetensors" \
        -o "$DIR/$name.nii.gz" "$c"
      "$NEUROSEG" eval --json "$DIR/$name.nii.gz" "$(truth_of "$c")" > "$DIR/$name.json"
      python3 - "$config" "$f" "$name" "$DIR/$name.json" >> "$RESULTS" <<'EOF'
import json, sys
config, fold, name, path = sys.argv[1:]
r = json.load(open(path))["regions"]
print("\t".join([config, fold, name] + ["%.4f" % r[k]["dice"] for k in ("WT", "TC", "ET")]))
EOF
    done
    f=$((f + 1))
  done
done

python3 - "$RESULTS" "$DOC" "$*" <<EOF
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
names = {"a": "(a) U-Net, from scratch", "b": "(b) MobileNetV2-U-Net, from scratch",
         "c": "(c) MobileNetV2-U-Net, ImageNet encoder"}
out = ["# Cross-validation: U-Net vs MobileNetV2-U-Net vs ImageNet encoder", "",
       "Produced by \`tools/crossval.sh\` ($FOLDS folds over the 13 shared BraTS cases, the "
       "bundled sample case excluded; budget $EPOCHS epochs x $STEPS steps x batch $BATCH, "
       "Adam lr $LR, $SCHEDULE schedule, seed $SEED, $WEIGHTS_INIT init of the layers not "
       "taken from ImageNet, device $DEVICE, $PRECISION).",
       "Dice of \`neuroseg segment\` on each held-out case (\`neuroseg eval\`), mean +- "
       "standard deviation over the cases.", "",
       "| model | cases | WT | TC | ET |", "|---|---|---|---|---|"]
for c in "abc":
    r = [x for x in rows if x[0] == c]
    if not r:
        continue
    cols = []
    for k in (3, 4, 5):
        v = [float(x[k]) for x in r]
        sd = statistics.stdev(v) if len(v) > 1 else 0.0
        cols.append("%.3f +- %.3f" % (statistics.mean(v), sd))
    out.append("| %s | %d | %s |" % (names[c], len(r), " | ".join(cols)))
out += ["", "Per case: %s" % sys.argv[1], ""]
open(sys.argv[2], "w").write("\n".join(out))
print("\n".join(out))
EOF
