#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tools/interact-cv.sh: cross-validation of interactive correction (issue 15), on the folds
# of tools/crossval.sh (13 shared cases, case index modulo FOLDS is the test fold; the
# bundled case Brats18_CBICA_ABM_1 is never used).
#
# Fold f:
#   - the interactive model is warm-started from INIT_DIR/fold<f>/model.safetensors (by
#     default BASE's: the segmentation model crossval.sh trained on fold f's training
#     cases; or an earlier interactive run of the same fold, to train it longer) and trained with
#     simulated clicks (neuroseg train --interactive) on the same training cases (its
#     training and validation cases: none of fold f's test cases); with STARTS, half of
#     the simulated corrections start from STARTS/fold<f>/<case>.nii.gz, each training
#     case's automatic prediction by a model that did not train on it (nested inside the
#     fold: tools/interact-starts.sh makes them) instead of a made-up error;
#   - every test case starts from BASE/fold<f>/<case>.nii.gz (the automatic prediction of
#     that model, which never saw the case) and is scored by neuroseg interact-eval --json
#     (Dice after 0..CLICKS clicks per region, NoC@90, ms per click) and by the same
#     protocol with brush dabs (--brush), into OUT/fold<f>/<case>.json and .brush.json.
#
# Resumable: a fold whose model is done is not trained again; a stopped training run
# continues with --resume; scored cases are not scored again.  The summary (mean over the
# test cases) is printed at the end and written to OUT/summary.md.
#
#   tools/interact-cv.sh [NEUROSEG] [OUT_DIR]
#   environment: FOLDS (2), BASE (/work/q-runs/cv/clip), INIT_DIR (BASE), STEPS (400),
#                BATCH (4), LR (1e-3),
#                SEED (1), NICE (10), CLICKS (5), DEVICE (cpu), PHASE (all | train | eval),
#                STARTS (none), FOLD_LIST (the folds to run, default all), MODES ("model brush": what to
#                score), CASE_LIMIT (score at most this many test cases per fold; 0: all)
set -eu
NEUROSEG=${1:-build/app/neuroseg}
OUT=${2:-/tmp/ns-interact-cv}
FOLDS=${FOLDS:-2}
BASE=${BASE:-/work/q-runs/cv/clip}
INIT_DIR=${INIT_DIR:-$BASE}
STEPS=${STEPS:-400}
BATCH=${BATCH:-4}
LR=${LR:-1e-3}
SEED=${SEED:-1}
NICE=${NICE:-10}
CLICKS=${CLICKS:-5}
DEVICE=${DEVICE:-cpu}
PHASE=${PHASE:-all}
MODES=${MODES:-model brush}
CASE_LIMIT=${CASE_LIMIT:-0}
STARTS=${STARTS:-}
D=../shared/data
TOOLS=$(dirname "$0")

[ -d "$D" ] || { echo "interact-cv: $D not found (run from the project root)" >&2; exit 1; }
. "$TOOLS/lib/cases.sh"   # truth_of, CV_CASES
CASES=$CV_CASES

run_fold () {
  f=$1
  TEST="" DATA=""
  i=0
  for c in $CASES; do
    if [ $((i % FOLDS)) -eq "$f" ]; then TEST="$TEST $c"; else DATA="$DATA --data $c"; fi
    i=$((i + 1))
  done
  DIR=$OUT/fold$f
  mkdir -p "$DIR"
  MODEL=$DIR/model.safetensors
  if [ "$PHASE" != eval ] && [ ! -f "$DIR/done" ]; then
    echo "== interactive fold $f: warm start $INIT_DIR/fold$f/model.safetensors" >&2
    if [ -f "$DIR/model.last.safetensors.state" ]; then
      nice -n "$NICE" "$NEUROSEG" train --resume "$DIR/model.last.safetensors" \
        --max-steps "$STEPS" --device "$DEVICE" >> "$DIR/train.log" 2>&1
    else
      starts=""
      [ -n "$STARTS" ] && starts="--starts $STARTS/fold$f"
      # an epoch of 10 steps: a checkpoint (and a resume point) every 10 steps
      # shellcheck disable=SC2086
      nice -n "$NICE" "$NEUROSEG" train --interactive --init "$INIT_DIR/fold$f/model.safetensors" \
        $DATA $starts --batch "$BATCH" --lr "$LR" --schedule cosine --seed "$SEED" \
        --epochs $((STEPS / 10)) --steps-per-epoch 10 --max-steps "$STEPS" \
        --device "$DEVICE" -o "$MODEL" -f > "$DIR/train.log" 2>&1
    fi && touch "$DIR/done"
  fi
  [ "$PHASE" = train ] && return 0
  case " $MODES " in
    *" model "*) [ -f "$MODEL" ] || { echo "interact-cv: no model for fold $f yet" >&2; return 0; } ;;
  esac
  n=0
  for c in $TEST; do
    n=$((n + 1))
    [ "$CASE_LIMIT" -gt 0 ] && [ "$n" -gt "$CASE_LIMIT" ] && break
    name=$(basename "$c")
    start=$BASE/fold$f/$name.nii.gz
    for mode in $MODES; do
      out=$DIR/$name.json
      extra=""
      [ "$mode" = brush ] && { out=$DIR/$name.brush.json; extra=--brush; }
      [ -s "$out" ] && continue
      # shellcheck disable=SC2086
      nice -n "$NICE" "$NEUROSEG" interact-eval --json --clicks "$CLICKS" --model "$MODEL" \
        --start "$start" $extra "$c" "$(truth_of "$c")" > "$out.part" && mv "$out.part" "$out"
    done
  done
}

for f in ${FOLD_LIST:-$(seq 0 $((FOLDS - 1)))}; do
  run_fold "$f"
done

[ "$PHASE" = train ] && exit 0
/usr/bin/python3 - "$OUT" "$CLICKS" <<'EOF' | tee "$OUT/summary.md"
import glob, json, os, statistics, sys
out, clicks = sys.argv[1], int(sys.argv[2])
for kind, pattern in (("interactive model", "*/*[!h].json"), ("brush baseline", "*/*.brush.json")):
    runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(out, pattern)))
            if not p.endswith(".brush.json") or kind != "interactive model"]
    if not runs:
        continue
    print(f"\n{kind}: {len(runs)} test cases\n")
    print("| region | " + " | ".join(f"{k} clicks" for k in range(clicks + 1)) + " | NoC@90 |")
    print("|---" * (clicks + 3) + "|")
    for r in ("WT", "TC", "ET"):
        cells = [statistics.mean(run["dice"][r][k] for run in runs) for k in range(clicks + 1)]
        noc = statistics.mean(run["noc90"][r] for run in runs)
        print(f"| {r} | " + " | ".join(f"{d:.3f}" for d in cells) + f" | {noc:.2f} |")
    print(f"\nms per click: p50 {statistics.median(r['ms_per_click_p50'] for r in runs):.0f}, "
          f"p95 {max(r['ms_per_click_p95'] for r in runs):.0f} (median of p50, max of p95)")
EOF
