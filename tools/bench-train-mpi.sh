#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tools/bench-train-mpi.sh: the median step time of `neuroseg train` in one process and on
# N processes with mpirun (docs/scale.md, "Fine-tuning on several processes").  Each run
# trains STEPS steps of a global batch of BATCH at CROP x CROP on the CPU backend from the
# cases given (default: two of ../shared/data); the median of the step-to-step times
# (the first step, with its warm-up, left out) is printed per configuration:
#   one process, one shard       (the plain run)
#   one process, N shards        (the same arithmetic as N processes)
#   N processes (mpirun), N shards
# -t T sets OMP_NUM_THREADS=T for every process (oneDNN's threads; default: its own
# choice, all cores of the process).
# Usage: tools/bench-train-mpi.sh [-n N] [-s STEPS] [-b BATCH] [-c CROP] [-t T] [CASE...]
set -euo pipefail
cd "$(dirname "$0")/.."
np=2 steps=10 batch=8 crop=128
while getopts n:s:b:c:t: opt; do
  case $opt in
    n) np=$OPTARG ;; s) steps=$OPTARG ;; b) batch=$OPTARG ;; c) crop=$OPTARG ;;
    t) export OMP_NUM_THREADS=$OPTARG ;;
    *) echo "usage: $0 [-n N] [-s STEPS] [-b BATCH] [-c CROP] [-t T] [CASE...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(../shared/data/brats2018/Brats18_2013_11_1
                                 ../shared/data/brats2018/Brats18_CBICA_ABM_1)
neuroseg=${NEUROSEG:-build/app/neuroseg}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
data=()
for c in "${cases[@]}"; do data+=(--data "$c"); done
common=(train "${data[@]}" --device cpu --batch "$batch" --crop "$crop" --max-steps "$steps"
        --steps-per-epoch "$steps" --seed 1 --json-progress --force)
mpirun=(mpirun -np "$np" --oversubscribe --mca btl_vader_single_copy_mechanism none)
[ "$(id -u)" -ne 0 ] || mpirun+=(--allow-run-as-root)
[ -z "${OMP_NUM_THREADS:-}" ] || mpirun+=(-x OMP_NUM_THREADS)

median () {
  /usr/bin/python3 -c '
import json, statistics, sys
t = [json.loads(l)["seconds"] for l in sys.stdin if l.startswith("{\"event\":\"step\"")]
d = [b - a for a, b in zip(t, t[1:])]
print("%.3f s/step (median of %d; steps %s)" % (statistics.median(d), len(d),
      " ".join("%.2f" % x for x in d)))'
}

echo "machine: $(getconf _NPROCESSORS_ONLN) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)," \
     "load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "global batch $batch, crop $crop, $steps steps, OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset}," \
     "cases: ${cases[*]}"
printf '1 process, 1 shard:    '
"$neuroseg" "${common[@]}" --shards 1 -o "$out/a.safetensors" | median
printf '1 process, %d shards:   ' "$np"
"$neuroseg" "${common[@]}" --shards "$np" -o "$out/b.safetensors" | median
printf '%d processes, %d shards: ' "$np" "$np"
"${mpirun[@]}" "$neuroseg" "${common[@]}" -o "$out/c.safetensors" | median
