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
# printed).  RUNS (default 3) timed runs of each after a warm-up; the medians are compared.
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
"$exe" bench --net --no-training --json --runs "$runs" --model "$model" "$case_dir" \
  > "$tmp/ns.json"
read -r slices batch w h network <<EOF2
$(python3 -c "
import json, sys
r = json.load(open('$tmp/ns.json'))['net']['fp32']
w, h = r['crop'].split('x')
print(r['slices'], r['batch'], w, h, r['network_s'])")
EOF2
channels=$(python3 -c "
import sys; sys.path.insert(0, '$here')
import pytorch_reference as p
print(p.model_shape(p.read_safetensors('$model')[1])[0])")
python3 "$here/pytorch_reference.py" --model "$model" --export-onnx "$tmp/net.onnx" \
  --height "$h" --width "$w" 2>/dev/null
ORT_MODULE="$here/.ort/node_modules/onnxruntime-node" \
  node "$here/ort-run.mjs" "$tmp/net.onnx" "$slices" "$batch" "$channels" "$h" "$w" 2 \
  "$runs" > "$tmp/ort.json"
python3 - "$tmp/ns.json" "$tmp/ort.json" "$slices" "$batch" "$w" "$h" <<'EOF2'
import json, sys
ns = json.load(open(sys.argv[1]))["net"]["fp32"]
ort = json.load(open(sys.argv[2]))
slices, batch, w, h = sys.argv[3:7]
print(f"pass: {slices} slices of {w} x {h}, batches of {batch}, fp32, 2 threads")
print("| runtime | network s | GFLOP/s |")
print("|---|---|---|")
print(f"| neuroseg (oneDNN) | {ns['network_s']:.3f} | {ns['gflop'] / ns['network_s']:.0f} |")
print(f"| ONNX Runtime {ort['ort_version'] or '1.30.0'} | {ort['seconds']:.3f} | "
      f"{ns['gflop'] / ort['seconds']:.0f} |")
print(f"ratio: neuroseg is {ort['seconds'] / ns['network_s']:.2f}x ONNX Runtime")
EOF2
echo "machine after: load average $(cut -d' ' -f1-3 /proc/loadavg)"
