#!/usr/bin/env bash
# Object-manager benchmark (issue 3), in process: GetInstance and Associators latency against
# the static instance provider (1,000 systems, settings and associations), and enumeration of
# 100,000 instances - streamed through pull cursors and, for comparison, materialized - with
# time and peak RSS (VmHWM). Each mode runs in its own process so peak RSS is its own.
#
#   bash bench/cimom/run.sh
#
# Environment (optional): BENCH_BUILD_DIR (default build-bench, Release), BENCH_COUNT (100000),
# BENCH_BATCH (100), BENCH_ITERATIONS (20000).
# Output: bench/results/cimom.txt (key=value lines, '#' lines for people), also printed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}
COUNT=${BENCH_COUNT:-100000}
BATCH=${BENCH_BATCH:-100}
ITERATIONS=${BENCH_ITERATIONS:-20000}
OUT="$ROOT/bench/results/cimom.txt"

for v in COUNT BATCH ITERATIONS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench: $v must be a positive integer" >&2; exit 1; }
done

if [[ ! -f "$BUILD/CMakeCache.txt" ]]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVSNAPD_BUILD_TESTS=OFF >/dev/null
fi
cmake --build "$BUILD" -j2 --target vsnapd_cimom_bench >/dev/null
BIN="$BUILD/bin/vsnapd_cimom_bench"

mkdir -p "$(dirname "$OUT")"
{
    echo "# vsnapd object manager, in process ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores)"
    echo "# latency: $ITERATIONS GetInstance + Associators calls; enumeration: $COUNT instances"
    "$BIN" latency "$ITERATIONS"
    "$BIN" enumerate "$COUNT" "$BATCH"
    "$BIN" materialize "$COUNT"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
cat "$OUT"
