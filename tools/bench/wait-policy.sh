#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tools/bench/wait-policy.sh: libgomp's wait policy and Run Model's network pass, on a
# quiet machine and beside a local training (net/README.md, "OpenMP's wait policy").
# The four settings run in turn, twice, each `neuroseg bench --net --no-training --runs 3`
# on the bundled case (median total); the load is `neuroseg train` (batch 8, 2 threads,
# the default policy) on CASE.
#
#   tools/bench/wait-policy.sh [NEUROSEG] [CASE]     (run from the project root)
set -eu
B=${1:-build/app/neuroseg}
LOAD_CASE=${2:-}
if [ -z "$LOAD_CASE" ]; then
  for d in ../shared/data/brats2018/*/; do LOAD_CASE=$d; break; done
fi
SAMPLE=resources/samples/Brats18_CBICA_ABM_1
[ -x "$B" ] || { echo "wait-policy: $B is not a program" >&2; exit 1; }
[ -d "$LOAD_CASE" ] || { echo "wait-policy: no case for the load (give CASE)" >&2; exit 1; }
TMP=$(mktemp -d)
trap '[ -n "$LP" ] && kill "$LP" 2>/dev/null && wait "$LP" 2>/dev/null; rm -rf "$TMP"' EXIT
LP=
run () {  # label, settings (VAR=VALUE...; none: libgomp's default)
  label=$1; shift
  t=$(env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$@" "$B" bench --net --no-training --runs 3 --json "$SAMPLE" | /usr/bin/python3 -c '
import json, sys; f = json.load(sys.stdin)["net"]["fp32"]; print("%.3f s" % f["total_s"])')
  echo "$label: $t"
}
for phase in quiet load; do
  if [ $phase = load ]; then
    "$B" train --data "$LOAD_CASE" --batch 8 --epochs 100000 --steps-per-epoch 10 \
      --max-steps 1000000 --device cpu -o "$TMP/load.safetensors" -f > "$TMP/load.log" 2>&1 &
    LP=$!
    sleep 20
  fi
  for turn in 1 2; do
    run "$phase, turn $turn, default"
    run "$phase, turn $turn, GOMP_SPINCOUNT=10000" GOMP_SPINCOUNT=10000
    run "$phase, turn $turn, GOMP_SPINCOUNT=0" GOMP_SPINCOUNT=0
    run "$phase, turn $turn, OMP_WAIT_POLICY=PASSIVE" OMP_WAIT_POLICY=PASSIVE
  done
done
