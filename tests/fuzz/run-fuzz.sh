#!/bin/sh
# SPDX-License-Identifier: MIT
# run-fuzz.sh FUZZER SEED_DIR ARTIFACT_DIR [SECONDS]: runs a libFuzzer target for a bounded
# time on a copy of its seed corpus in a temporary folder (the source tree is never
# written); inputs that crash are kept in ARTIFACT_DIR (in the build tree) for a test.
# -malloc_limit_mb is above the decoder's budget (96 MiB, set by the target) and below
# what a header can claim within -max_len bytes (64 kB x 1032 x 4 bytes a voxel = 270 MB):
# an allocation sized by a claim instead of by the budget and the stream is a crash.
set -eu
fuzzer=$1
seeds=$2
artifacts=$3
seconds=${4:-60}
work=$(mktemp -d "${TMPDIR:-/tmp}/neuroseg-fuzz-XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
cp -R "$seeds/." "$work/"
mkdir -p "$artifacts"
"$fuzzer" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -malloc_limit_mb=128 \
  -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" "$work"
