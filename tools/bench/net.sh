#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tools/bench/net.sh [BUILD_DIR] [CASE]: the network benchmark of issue 3 on this machine:
# whole-volume inference of the bundled sample case in fp32 and bf16 (stages, GFLOP/s,
# per-op-type profile, bf16/fp32 label agreement) and training throughput at batch 16.
# Prints the human summary and leaves the JSON in $BUILD_DIR/bench-net.json.  Not a test:
# numbers depend on the machine and on what else runs on it (the script prints the load).
set -eu
build=${1:-build}
case_dir=${2:-resources/samples/Brats18_CBICA_ABM_1}
exe="$build/app/neuroseg"
[ -x "$exe" ] || { echo "net.sh: $exe not built" >&2; exit 1; }

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
# fp32 then bf16 inference (bf16 also re-runs fp32 for the agreement), per-op profile.
"$exe" bench --net --no-training --precision bf16 --profile --runs 3 "$case_dir"
# training slices/s at batch 16 (224 x 224 crops of the case's middle slices), fp32.
"$exe" bench --net --no-inference --train-batch 16 --train-size 224 --train-steps 3 \
  --profile --runs 1 "$case_dir"
"$exe" bench --net --precision bf16 --runs 1 --json "$case_dir" > "$build/bench-net.json"
echo "JSON: $build/bench-net.json"
echo "machine after: load average $(cut -d' ' -f1-3 /proc/loadavg)"
