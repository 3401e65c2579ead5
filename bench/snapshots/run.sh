#!/usr/bin/env bash
# Snapshot benchmark (issue 7): the real vsnapd daemon over WS-Management (python3-winrm, HTTPS,
# Basic, one keep-alive session) against real QEMU VMs under TCG running the test guest, and
# QEMU's own commands over QMP on a second QEMU of the same shape in the same run:
#   1. disk-only snapshot of a running VM (CreateSnapshot type 3, request to job completion),
#      BENCH_RUNS runs, on a VM with a 1 GiB and one with a 100 GiB (sparse) qcow2 disk: median,
#      p99, guest pause (targets: median < 50 ms, sizes within 1.2x, pause < 5 ms); their
#      DestroySnapshot against QMP block-stream;
#   2. full snapshot of a 1 GiB-RAM VM with memory filled (CreateSnapshot type 2) against
#      snapshot-save: time and guest pause (target: at most 1.2x); ApplySnapshot against
#      snapshot-load, DestroySnapshot against snapshot-delete.
# How each figure is taken is described in snapbench.py's header and the results file.
#
#   bash bench/snapshots/run.sh
#
# Environment (all optional):
#   BENCH_RUNS (20)       disk snapshots per disk size
#   BENCH_FULL_RUNS (3)   full snapshots (each against one snapshot-save)
#   BENCH_MEM_MIB (1024)  guest RAM of the VMs
#   BENCH_FILL_MIB (600)  guest RAM filled with random data before the full snapshots
#   BENCH_POLL_MS (2)     interval of the client's job Gets
#   VSNAPD                daemon binary; default: build target vsnapd in BENCH_BUILD_DIR
#                         (build-bench, Release) first
#   BENCH_KEEP_WORKDIR=1  keep the temp dir (daemon logs with per-step timings, VM files)
# Output: bench/results/snapshots.txt ('#' lines for people, key=value lines), also printed.
# Exit status 0 when the run completed (targets PASS or MISS), 1 when something broke.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RESULTS="$ROOT/bench/results"
OUT="$RESULTS/snapshots.txt"
PY=/usr/bin/python3
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}

BENCH_RUNS=${BENCH_RUNS:-20}
BENCH_FULL_RUNS=${BENCH_FULL_RUNS:-3}
BENCH_MEM_MIB=${BENCH_MEM_MIB:-1024}
BENCH_FILL_MIB=${BENCH_FILL_MIB:-600}
BENCH_POLL_MS=${BENCH_POLL_MS:-2}

log() { printf '[bench/snapshots] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for v in BENCH_RUNS BENCH_FULL_RUNS BENCH_MEM_MIB BENCH_FILL_MIB BENCH_POLL_MS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
(( BENCH_RUNS >= 1 && BENCH_FULL_RUNS >= 1 )) || die "BENCH_RUNS and BENCH_FULL_RUNS must be >= 1"
(( BENCH_FILL_MIB < BENCH_MEM_MIB * 3 / 4 )) || die "BENCH_FILL_MIB must stay under 3/4 of BENCH_MEM_MIB"

# ------------------------------------------------------------------ tools ---
pkgs=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || pkgs+=(qemu-system-x86)
command -v qemu-img >/dev/null 2>&1 || pkgs+=(qemu-utils)
[[ -x $PY ]] || pkgs+=(python3)
[[ -x $PY ]] && "$PY" -c 'import winrm' 2>/dev/null || pkgs+=(python3-winrm)
if (( ${#pkgs[@]} )); then
    log "installing ${pkgs[*]}"
    sudo=(); (( EUID == 0 )) || sudo=(sudo -n)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 \
        || { "${sudo[@]}" apt-get update -qq >/dev/null && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; } \
        || die "apt-get install ${pkgs[*]} failed"
fi

if [[ -z ${VSNAPD:-} ]]; then
    if [[ ! -f $BUILD/CMakeCache.txt ]]; then
        cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    fi
    log "building vsnapd (Release) in ${BUILD#"$ROOT"/}"
    cmake --build "$BUILD" -j2 --target vsnapd >/dev/null
    VSNAPD="$BUILD/bin/vsnapd"
fi
[[ -x $VSNAPD ]] || die "VSNAPD=$VSNAPD is not executable"

WORK=$(mktemp -d /tmp/vsnapd-bench-snapshots.XXXXXX)
chmod 700 "$WORK"
PY_PID=""
cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    # snapbench.py stops the daemon, its VMs and the baseline QEMU itself, also on errors;
    # a signal here reaches it first so that it can.
    if [[ -n $PY_PID ]] && kill -0 "$PY_PID" 2>/dev/null; then
        kill -TERM "$PY_PID"; wait "$PY_PID"
    fi
    if (( rc != 0 )) || [[ ${BENCH_KEEP_WORKDIR:-0} == 1 ]]; then
        log "work dir kept: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "vsnapd $VSNAPD; work dir $WORK; $BENCH_RUNS disk runs, $BENCH_FULL_RUNS full runs, ${BENCH_MEM_MIB} MiB RAM, ${BENCH_FILL_MIB} MiB filled"
rc=0
"$PY" "$HERE/snapbench.py" --vsnapd "$VSNAPD" --work "$WORK" --runs "$BENCH_RUNS" \
    --full-runs "$BENCH_FULL_RUNS" --mem-mib "$BENCH_MEM_MIB" --fill-mib "$BENCH_FILL_MIB" \
    --poll-ms "$BENCH_POLL_MS" >"$WORK/results.txt" &
PY_PID=$!
wait "$PY_PID" || rc=$?
PY_PID=""
mkdir -p "$RESULTS"
{
    cat "$WORK/results.txt"
    echo "git_commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)"
    echo "status=$([[ $rc == 0 ]] && echo OK || echo FAIL)"
} >"$OUT"
# The backend's per-step timings of every operation, for the record.
grep -h 'qemu: op ' "$WORK"/vsnapd.log 2>/dev/null | sed 's/^.*qemu: op /op /' >"$RESULTS/snapshots.ops.txt" || true
cat "$OUT"
log "results written to ${OUT#"$ROOT"/} (per-operation backend steps: bench/results/snapshots.ops.txt)"
(( rc == 0 )) || die "snapbench.py exited $rc (daemon log in $WORK)"
exit 0
