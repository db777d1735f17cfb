#!/bin/sh
# SPDX-License-Identifier: MIT
#
# tools/bench/ort.sh [BUILD_DIR] [MODEL] [CASE]: Neuroseg's default inference pass side by
# side with ONNX Runtime on the same network, weights, shapes and thread count (2), in
# one run, and the ratio (issue 14: the goal is >= 2x ONNX Runtime).
#
# 1. `neuroseg bench --net --no-training --json` on CASE (default: the bundled case) with
#    MODEL (default: the shipped model): the network time of the whole-volume pass (upload,
#    network, download), its slices, crop and batch;
# 2. tools/bench/pytorch_reference.py --export-onnx: the same network and weights as ONNX
#    (needs Debian's python3-torch);
# 3. ONNX Runtime from npm (onnxruntime-node 1.30.0, CPU execution provider, 2 intra-op
#    threads) on batches of the same shape: tools/bench/ort-run.mjs.  It is installed
#    into tools/bench/.ort/ on first use with `npm install --ignore-scripts` (the package's
#    install script would fetch GPU parts from outside; the CPU library is in the package).
#
# Not a test: the numbers depend on the machine and what else runs on it (the load is
# printed).  The two runtimes take turns, RUNS (default 3) times, each time one timed run
# after its own warm-up, so that a load that comes and goes (a training job, builds)
# weighs on both alike; the medians are compared, and the median of the RUNS ratios of
# neighbouring runs is printed too.  BASE=OTHER_BUILD_DIR adds a third runtime to the
# turns, another build of neuroseg (e.g. of the commit before a change), for a before /
# after under the same load.
set -eu
build=${1:-build}
model=${2:-resources/models/mobilenetv2-unet-default.safetensors}
case_dir=${3:-resources/samples/Brats18_CBICA_ABM_1}
runs=${RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)
exe="$build/app/neuroseg"
[ -x "$exe" ] || { echo "ort.sh: $exe not built" >&2; exit 1; }
python3 -c "import torch" 2>/dev/null || {
  echo "ort.sh: PyTorch is needed for the ONNX export: apt-get install python3-torch" >&2
  exit 1; }
if [ ! -d "$here/.ort/node_modules/onnxruntime-node" ]; then
  echo "ort.sh: installing onnxruntime-node 1.30.0 into $here/.ort (benchmark only)" >&2
  mkdir -p "$here/.ort"
  npm install --silent --no-audit --no-fund --ignore-scripts --prefix "$here/.ort" \
    onnxruntime-node@1.30.0 >&2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
base=${BASE:-}
[ -z "$base" ] || [ -x "$base/app/neuroseg" ] || { echo "ort.sh: $base/app/neuroseg not built" >&2; exit 1; }
ns_run () {
  "$exe" bench --net --no-training --json --runs 1 --model "$model" "$case_dir" > "$tmp/ns$1.json"
  [ -z "$base" ] || "$base/app/neuroseg" bench --net --no-training --json --runs 1 \
    --model "$model" "$case_dir" > "$tmp/base$1.json"
}
ns_run 1
read -r slices batch w h <<EOF2
$(python3 -c "
import json
r = json.load(open('$tmp/ns1.json'))['net']['fp32']
w, h = r['crop'].split('x')
print(r['slices'], r['batch'], w, h)")
EOF2
channels=$(python3 -c "
import sys; sys.path.insert(0, '$here')
import pytorch_reference as p
print(p.model_shape(p.read_safetensors('$model')[1])[0])")
python3 "$here/pytorch_reference.py" --model "$model" --export-onnx "$tmp/net.onnx" \
  --height "$h" --width "$w" 2>/dev/null
i=1
while [ "$i" -le "$runs" ]; do
  [ "$i" -eq 1 ] || ns_run "$i"
  ORT_MODULE="$here/.ort/node_modules/onnxruntime-node" \
    node "$here/ort-run.mjs" "$tmp/net.onnx" "$slices" "$batch" "$channels" "$h" "$w" 2 1 \
    > "$tmp/ort$i.json"
  i=$((i + 1))
done
python3 - "$tmp" "$runs" "$slices" "$batch" "$w" "$h" "$base" <<'EOF2'
import json, os, statistics, sys
tmp, runs = sys.argv[1], int(sys.argv[2])
slices, batch, w, h = sys.argv[3:7]
ns = [json.load(open(f"{tmp}/ns{i}.json"))["net"]["fp32"] for i in range(1, runs + 1)]
ort = [json.load(open(f"{tmp}/ort{i}.json")) for i in range(1, runs + 1)]
ns_s = [r["network_s"] for r in ns]
ort_s = [r["seconds"] for r in ort]
gflop = ns[0]["gflop"]
ns_m, ort_m = statistics.median(ns_s), statistics.median(ort_s)
print(f"pass: {slices} slices of {w} x {h}, batches of {batch}, fp32, 2 threads, "
      f"{runs} turns each")
print("neuroseg runs (s):     " + " ".join(f"{x:.3f}" for x in ns_s))
print("ONNX Runtime runs (s): " + " ".join(f"{x:.3f}" for x in ort_s))
print("| runtime | network s (median) | GFLOP/s |")
print("|---|---|---|")
print(f"| neuroseg (oneDNN) | {ns_m:.3f} | {gflop / ns_m:.0f} |")
print(f"| ONNX Runtime {ort[0]['ort_version'] or '1.30.0'} | {ort_m:.3f} | {gflop / ort_m:.0f} |")
print(f"ratio: neuroseg is {ort_m / ns_m:.2f}x ONNX Runtime (median of the turn ratios "
      f"{statistics.median(o / n for o, n in zip(ort_s, ns_s)):.2f}x)")
if sys.argv[7]:
    base_s = [json.load(open(f"{tmp}/base{i}.json"))["net"]["fp32"]["network_s"]
              for i in range(1, runs + 1)]
    base_m = statistics.median(base_s)
    print(f"BASE {sys.argv[7]} runs (s): " + " ".join(f"{x:.3f}" for x in base_s))
    print(f"| neuroseg BASE | {base_m:.3f} | {gflop / base_m:.0f} |")
    print(f"BASE is {ort_m / base_m:.2f}x ONNX Runtime; this build is {base_m / ns_m:.2f}x BASE")
EOF2
echo "machine after: load average $(cut -d' ' -f1-3 /proc/loadavg)"
