#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# gpu-run.sh BUNDLE [all|check|bench]: every GPU check and the GPU benchmark in one run, on
# the GPU machine, from the repository root; ends with one short table (ours against
# PyTorch eager).  `check` runs the gpu suite and memcheck only, `bench` the rest (two
# device commands when one must stay under 10 minutes).
#
# Prepare on the CPU machine (repository root; 2 cores: about 5 minutes):
#   meson setup build-gpu -Dgui=disabled -Donednn=disabled     # cuda: auto (nvcc 13, cuDNN 9)
#   ninja -C build-gpu -j2 app/neuroseg tests/test-gpu-ops tests/test-gpu-model tests/bench-gpu
#   ../shared/tools/device-bundle bundle-gpu build-gpu/app/neuroseg build-gpu/tests/test-gpu-ops \
#       build-gpu/tests/test-gpu-model build-gpu/tests/bench-gpu
#   mkdir -p bundle-gpu/lib-cuda && cp -L /usr/local/cuda/lib64/libcudart.so.13 bundle-gpu/lib-cuda/
# Run on the device machine with carry ["bundle-gpu"] (bundle* is git-ignored; tracked files,
# the bundled sample case included, travel by themselves), command:
#   tools/bench/gpu-run.sh bundle-gpu
# Results: $OUT (the device tool's output folder) or ./gpu-results: the logs of every step,
# ours.json, torch.json and table.txt.  Expected device time: check 3-5 minutes, bench
# 3-5 minutes (every step has its own time limit; the sum of the limits is 23 minutes).
#
# Our binaries run with LD_LIBRARY_PATH=BUNDLE/lib:/usr/local/cuda/lib64 (+ a cuDNN or CUDA
# runtime found elsewhere when those lack one, and the bundled libcudart last); python runs
# with the machine's own environment.  A step that fails is reported and the run goes on.
set -uo pipefail

bundle=${1:?usage: $0 BUNDLE_DIR [all|check|bench]}
phase=${2:-all}
bundle=$(cd "$bundle" && pwd)
out=${OUT:-$PWD/gpu-results}
mkdir -p "$out"
case_dir=resources/samples/Brats18_CBICA_ABM_1
status=0

libs="$bundle/lib:/usr/local/cuda/lib64"
for lib in libcudnn.so.9 libcudart.so.13; do
  if ! LD_LIBRARY_PATH=$libs ldd "$bundle/bin/neuroseg" | grep -q "$lib => /"; then
    dir=$(find /usr /opt "$(python3 -c 'import site; print(site.getsitepackages()[0])' 2>/dev/null)" \
          -name "$lib" -print -quit 2>/dev/null | xargs -r dirname)
    [ -n "$dir" ] && libs="$libs:$dir"
  fi
done
[ -d "$bundle/lib-cuda" ] && libs="$libs:$bundle/lib-cuda"

step() {   # step NAME TIMEOUT CMD...: runs CMD, log in $out/NAME.log, records its status
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS
  timeout "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  printf '%-28s rc %-3s %4ss\n' "$name" "$rc" $((SECONDS - t0)) | tee -a "$out/steps.txt"
  [ "$rc" -eq 0 ] || { status=1; tail -n 15 "$out/$name.log"; }
  return "$rc"
}

: >"$out/steps.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
LD_LIBRARY_PATH=$libs ldd "$bundle/bin/neuroseg" | grep -E "cud|not found" | tee "$out/ldd.txt"
export NS_SOURCE_DIR=$PWD G_DEBUG=fatal-criticals G_SLICE=always-malloc

# ---- correctness ----
if [ "$phase" != bench ]; then
# (G_MESSAGES_DEBUG: the log says which shapes had no bf16 algorithm and ran in fp32)
step test-gpu-ops 240 env "LD_LIBRARY_PATH=$libs" G_MESSAGES_DEBUG=neuroseg-net \
  "$bundle/bin/test-gpu-ops" --verbose
sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda*/bin/compute-sanitizer 2>/dev/null | head -1)
if [ -n "$sanitizer" ]; then
  step memcheck-gpu-ops 180 env "LD_LIBRARY_PATH=$libs" "$sanitizer" --tool memcheck \
    --error-exitcode 3 "$bundle/bin/test-gpu-ops" -p /gpu/cuda-fp32
else
  echo "memcheck: no compute-sanitizer on this machine (unrun)" | tee -a "$out/steps.txt"
fi
step test-gpu-model 240 env "LD_LIBRARY_PATH=$libs" "$bundle/bin/test-gpu-model"
fi
[ "$phase" = check ] && { echo "steps:"; cat "$out/steps.txt"; exit "$status"; }

# ---- a model both sides load: the shipped one, else a seeded random one ----
model=$(ls resources/models/*.safetensors 2>/dev/null | head -1)
if [ -z "$model" ]; then
  model=$out/random-model.safetensors
  step write-model 60 python3 tools/bench/pytorch_reference.py --write-model "$model"
fi

# ---- ours ----
step segment-cuda 60 env "LD_LIBRARY_PATH=$libs" "$bundle/bin/neuroseg" segment "$case_dir" --model "$model" \
  --device cuda --precision fp32 -o "$out/labels-cuda.nii.gz"
# a device memory cap that forces small batches (and out-of-memory retries): same labels
step segment-cuda-limited 90 env "LD_LIBRARY_PATH=$libs" "$bundle/bin/neuroseg" segment "$case_dir" \
  --model "$model" --device cuda --precision fp32 --memory-limit 300 \
  -o "$out/labels-cuda-limited.nii.gz"
step compare-limited 60 sh -c "env LD_LIBRARY_PATH=$libs '$bundle/bin/neuroseg' eval --json \
  '$out/labels-cuda-limited.nii.gz' '$out/labels-cuda.nii.gz' | python3 -c 'import json, sys
r = json.load(sys.stdin)[\"regions\"]
d = [r[k][\"dice\"] for k in (\"WT\", \"TC\", \"ET\")]
print(\"limited vs unlimited Dice\", d)
sys.exit(0 if min(d) == 1.0 else 1)'"
step bench-gpu-bf16 150 env "LD_LIBRARY_PATH=$libs" "$bundle/bin/bench-gpu" --device cuda --precision bf16 \
  --model "$model" --json --profile
step bench-gpu-fp32 120 env "LD_LIBRARY_PATH=$libs" "$bundle/bin/bench-gpu" --device cuda --precision fp32 \
  --model "$model" --json
step neuroseg-bench 120 env "LD_LIBRARY_PATH=$libs" "$bundle/bin/neuroseg" bench --net --device cuda \
  --precision bf16 --model "$model" --train-batch 32 --runs 3 --json
grep -h '^{"device"' "$out/bench-gpu-bf16.log" "$out/bench-gpu-fp32.log" >"$out/ours.json"

# ---- PyTorch eager, same shapes, and the check of our labels ----
step pytorch 240 python3 tools/bench/pytorch_reference.py --model "$model" --case "$case_dir" \
  --labels "$out/labels-cuda.nii.gz" --json
grep -h '^{' "$out/pytorch.log" | tail -1 >"$out/torch.json"

# ---- the table ----
python3 - "$out" <<'EOF' | tee "$out/table.txt"
import json, re, sys
out = sys.argv[1]
def load_lines(p):
    try:
        return [json.loads(l) for l in open(p) if l.strip()]
    except (OSError, ValueError):
        return []
ours = {d.get("precision"): d for d in load_lines(f"{out}/ours.json")}
torch = (load_lines(f"{out}/torch.json") or [{}])[-1]
try:
    seg = open(f"{out}/segment-cuda.log").read()
except OSError:
    seg = ""
def row(name, o, t, better_lower=True):
    if o is None or t is None:
        return f"{name:<38} {o if o is not None else 'n/a':>10} {t if t is not None else 'n/a':>10}"
    ratio = t / o if better_lower else o / t
    return f"{name:<38} {o:>10.2f} {t:>10.2f} {ratio:>8.2f}x"
b16, f32 = ours.get("bf16", {}), ours.get("fp32", {})
print(f"GPU: {torch.get('device', '?')}, torch {torch.get('torch', '?')}, cuDNN {torch.get('cudnn', '?')}, "
      f"PyTorch model {torch.get('parameters', '?')} parameters (ours: 6629092)")
print(f"{'':<38} {'ours':>10} {'pytorch':>10} {'speed-up':>9}")
print(row("volume 155x2x256x256 fp32 (ms)", f32.get("volume_ms"), torch.get("volume_fp32_ms")))
print(row("volume 155x2x256x256 bf16 (ms)", b16.get("volume_ms"), torch.get("volume_bf16_ms")))
print(row("one slice bf16 (ms)", b16.get("slice_ms"), torch.get("slice_bf16_ms")))
print(row("training bf16 b32 224^2 (slices/s)", b16.get("train_slices_per_s"),
          torch.get("train_slices_per_s"), better_lower=False))
check = torch.get("check", {})
if check:
    print(f"labels (ours cuda fp32 vs PyTorch fp32): {100 * check['labels_agree_brain']:.3f} % of "
          f"{check['brain_voxels']} brain voxels agree ({check['slices']} slices, crop {check['crop']})")
m = re.search(r"^total\s+([0-9.]+) s", seg, re.M)
if m:
    print(f"neuroseg segment end to end (cuda fp32): {m.group(1)} s")
EOF
echo "steps:"; cat "$out/steps.txt"
exit "$status"
