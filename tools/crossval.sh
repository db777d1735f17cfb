#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tools/crossval.sh: k-fold cross-validation over the 13 shared BraTS cases
# (../shared/data minus the bundled sample case Brats18_CBICA_ABM_1, never used), for
#   the paper's comparison (docs/crossval.md):
#     a    classic U-Net from scratch,
#     b    MobileNetV2-U-Net from scratch,
#     c    MobileNetV2-U-Net with the ImageNet encoder;
#   and the quality ablation of issue 14 (docs/quality.md), all from the ImageNet encoder:
#     base      c with lr 1e-3, Kaiming decoder (the shipped model's recipe),
#     regions   base with region targets (sigmoid WT, TC, ET),
#     clip      regions with percentile clipping before the z-score,
#     ctx       regions with 2.5-D input (one neighbouring slice on each side),
#     ctxclip   clip with 2.5-D input (both of the screening's gains at once),
#     seq4      regions with all four sequences (trains on the cases that have them),
#     seq4clip  clip with all four sequences,
#     ratio5    regions with tumour slices drawn 5 : 1 (default 2 : 1);
#   inference-only variants reuse the models of the config before the '+':
#     regions+tta        mirror flips averaged (segment --tta),
#     regions+pp         post-processing with the fold's own threshold (see below),
#     regions+tta+pp     both.
# Every config uses the same folds, budget and seed.  Fold f tests on the cases whose
# index is f modulo FOLDS; of the remaining cases one (rotating) is held out for validation
# (the best epoch is kept) and the rest are trained on.  Every test case is segmented with
# `neuroseg segment` and scored with `neuroseg eval --json`.
#
# Post-processing (+pp): the enhancing-tumour threshold of fold f is chosen on the other
# folds' test predictions (cases fold f trained on, predicted by models that never saw
# them), never on fold f's own test cases: tools/postprocess-threshold.py.
#
# Resumable: a fold whose model and per-case results exist is not run again; a training
# run that was stopped continues with --resume.  Results: OUT_DIR/results.tsv (one line
# per config, fold and case) and the summary table (mean +- SD over cases, and per
# source: brats2015 / brats2018) written to SUMMARY (default OUT_DIR/summary.md).
#
#   tools/crossval.sh [NEUROSEG] [OUT_DIR]
#   environment: FOLDS (4), EPOCHS (20), STEPS (100 steps per epoch), BATCH (8), LR (5e-4),
#                SCHEDULE (cosine), SEED (1), DEVICE (auto), PRECISION (fp32),
#                PATIENCE (0), WEIGHTS_INIT (kaiming: the layers the init does not set),
#                CONFIGS ("a b c"), SUMMARY (OUT_DIR/summary.md), NICE (0: the niceness of
#                training), SEGMENT_ARGS (extra options of every segment), FOLD_LIST
#                (the folds to run, fold-major: "0" runs fold 0 of every config)
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
SUMMARY=${SUMMARY:-$OUT/summary.md}
NICE=${NICE:-0}
SEGMENT_ARGS=${SEGMENT_ARGS:-}
D=../shared/data
TOOLS=$(dirname "$0")

[ -d "$D" ] || { echo "crossval: $D not found (run from the project root)" >&2; exit 1; }
mkdir -p "$OUT"
RESULTS=$OUT/results.tsv
[ -f "$RESULTS" ] || printf 'config\tfold\tcase\tWT\tTC\tET\n' > "$RESULTS"

. "$TOOLS/lib/cases.sh"   # truth_of, CV_CASES
CASES=$CV_CASES

QUALITY="--arch mobilenetv2-unet --init imagenet --lr 1e-3"
CLIP="--targets regions --normalisation zscore-brain-clip"

# train_args CONFIG: the training options of a config (empty: unknown)
train_args () {
  case $1 in
    a) echo "--arch unet --init none --lr $LR" ;;
    b) echo "--arch mobilenetv2-unet --init none --lr $LR" ;;
    c) echo "--arch mobilenetv2-unet --init imagenet --lr $LR" ;;
    base) echo "$QUALITY" ;;
    regions) echo "$QUALITY --targets regions" ;;
    clip) echo "$QUALITY $CLIP" ;;
    ctx) echo "$QUALITY --targets regions --context 1" ;;
    ctxclip) echo "$QUALITY $CLIP --context 1" ;;
    seq4) echo "$QUALITY --targets regions --modalities flair,t1c,t1,t2" ;;
    seq4clip) echo "$QUALITY $CLIP --modalities flair,t1c,t1,t2" ;;
    ratio5) echo "$QUALITY --targets regions --tumour-ratio 5" ;;
    *) echo "" ;;
  esac
}

# segment_args SUFFIXES: the options of the inference variant (+tta, +pp)
segment_args () {
  args=""
  case $1 in *+tta*) args="$args --tta 1" ;; esac
  echo "$args"
}

# cases that a model taking MODALITIES can be trained on
can_feed () {
  case $2 in
    *t1,*|*,t1|*t2*) [ -n "$(ls "$1"/*_t1.nii* 2>/dev/null)" ] ;;
    *) true ;;
  esac
}

run_fold () {
  config=$1 f=$2
  base=${config%%+*}
  suffix=${config#"$base"}
  TEST="" TRAIN="" VAL=""
  i=0
  for c in $CASES; do
    if [ $((i % FOLDS)) -eq "$f" ]; then TEST="$TEST $c"; else TRAIN="$TRAIN $c"; fi
    i=$((i + 1))
  done
  args=$(train_args "$base")
  [ -n "$args" ] || { echo "crossval: unknown config $base" >&2; exit 2; }
  mods=$(echo "$args" | sed -n 's/.*--modalities \([^ ]*\).*/\1/p')
  # the validation case: the f-th of the training cases the model can be fed
  j=0 REST=""
  for c in $TRAIN; do
    can_feed "$c" "$mods" || continue
    if [ $j -eq "$f" ]; then VAL=$c; else REST="$REST --data $c"; fi
    j=$((j + 1))
  done
  MDIR=$OUT/$base/fold$f
  DIR=$OUT/$config/fold$f
  mkdir -p "$MDIR" "$DIR"
  MODEL=$MDIR/model.safetensors
  if [ ! -f "$MDIR/done" ]; then
    echo "== config $base fold $f: test$TEST, validation $VAL" >&2
    if [ -f "$MDIR/model.last.safetensors.state" ]; then
      nice -n "$NICE" "$NEUROSEG" train --resume "$MDIR/model.last.safetensors" \
        --device "$DEVICE" --json-progress >> "$MDIR/train.log"
    else
      # shellcheck disable=SC2086
      nice -n "$NICE" "$NEUROSEG" train $REST --val "$VAL" $args --epochs "$EPOCHS" \
        --steps-per-epoch "$STEPS" --batch "$BATCH" --schedule "$SCHEDULE" --seed "$SEED" \
        --device "$DEVICE" --precision "$PRECISION" --patience "$PATIENCE" \
        --weights-init "$WEIGHTS_INIT" --json-progress --force -o "$MODEL" > "$MDIR/train.log"
    fi
    # a run stopped by a signal exits 0 too: only a finished one is done
    if ! tail -n 1 "$MDIR/train.log" | grep -q '"event":"done".*"stopped":false'; then
      echo "crossval: $base fold $f did not finish (see $MDIR/train.log); run again to resume" >&2
      exit 1
    fi
    touch "$MDIR/done"
  fi
  sargs="$SEGMENT_ARGS $(segment_args "$suffix")"
  case $suffix in
    *+pp*) pp=$("$TOOLS/postprocess-threshold.py" "$RESULTS" "${config%+pp}" "$f" "$OUT") \
             || exit 1
           sargs="$sargs $pp" ;;
  esac
  for c in $TEST; do
    name=$(basename "$c")
    [ -f "$DIR/$name.json" ] && continue
    if ! can_feed "$c" "$mods"; then
      echo "crossval: $name lacks a sequence of $mods; not scored by $config" >&2
      continue
    fi
    # shellcheck disable=SC2086
    "$NEUROSEG" segment --quiet --force --device "$DEVICE" --model "$MODEL" $sargs \
      -o "$DIR/$name.nii.gz" "$c"
    "$NEUROSEG" eval --json "$DIR/$name.nii.gz" "$(truth_of "$c")" > "$DIR/$name.json.part"
    mv "$DIR/$name.json.part" "$DIR/$name.json"
    python3 - "$config" "$f" "$name" "$DIR/$name.json" >> "$RESULTS" <<'EOF'
import json, sys
config, fold, name, path = sys.argv[1:]
r = json.load(open(path))["regions"]
print("\t".join([config, fold, name] + ["%.4f" % r[k]["dice"] for k in ("WT", "TC", "ET")]))
EOF
  done
}

# FOLD_LIST: the folds to run now, in this order, each for every config (default all):
# fold 0 of every config first gives a paired comparison early on a slow machine
FOLD_LIST=${FOLD_LIST:-$(seq 0 $((FOLDS - 1)))}
for f in $FOLD_LIST; do
  for config in $CONFIGS; do
    run_fold "$config" "$f"
  done
done

python3 - "$RESULTS" "$SUMMARY" "$CONFIGS" <<EOF
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
configs = sys.argv[3].split()
out = ["Budget: $FOLDS folds, $EPOCHS epochs x $STEPS steps x batch $BATCH, $SCHEDULE "
       "schedule, seed $SEED, $WEIGHTS_INIT init of the layers not taken from ImageNet, "
       "device $DEVICE, $PRECISION.", "",
       "| config | source | cases | WT | TC | ET |", "|---|---|---|---|---|---|"]
def cell(v):
    sd = statistics.stdev(v) if len(v) > 1 else 0.0
    return "%.3f +- %.3f" % (statistics.mean(v), sd)
for c in configs:
    r = [x for x in rows if x[0] == c]
    for source, pick in (("all", lambda n: True),
                         ("brats2015", lambda n: n.startswith("brats_2013")),
                         ("brats2018", lambda n: n.startswith("Brats18"))):
        s = [x for x in r if pick(x[2])]
        if s:
            out.append("| %s | %s | %d | %s |" % (c, source, len(s),
                       " | ".join(cell([float(x[k]) for x in s]) for k in (3, 4, 5))))
out += ["", "Per case: %s" % sys.argv[1], ""]
open(sys.argv[2], "w").write("\n".join(out))
print("\n".join(out))
EOF
