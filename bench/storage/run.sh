#!/usr/bin/env bash
# Storage benchmark: vsnapd's qcow2 engine (driven in-process by `vsnapd-img bench`, `create`,
# `snapshot` and `commit`) against qemu-img on the same files, in the same run, with the same
# cache mode (-t none), queue depth and pattern; random I/O against fio's raw-file ceiling.
#
#   bash bench/storage/run.sh
#
# Environment (all optional):
#   VSNAPD_IMG        the tool (default build/bin/vsnapd-img; built with cmake when missing)
#   BENCH_DIR         where the multi-GiB scratch files go (default /var/tmp); they are removed
#                     on exit, also on failure or Ctrl-C
#   BENCH_SCALE       multiplies every request count (default 1); 0.2 gives a quick smoke run
#   BENCH_REPEAT      rounds per I/O case, best one reported (default 2)
#   BENCH_KEEP_WORKDIR=1  keep the scratch directory
#
# Output: bench/results/storage.txt (a table: case, vsnapd, qemu or fio, unit, ratio, target,
# PASS/MISS). The ratio is always oriented so that > 1 means vsnapd is better: IOPS and
# throughput are vsnapd/reference, times are reference/vsnapd. Numbers on a shared machine are
# noisy, which is why both sides are measured back to back in the same run.
# Exit status: 0 when the run completed (targets may be MISS), non-zero when something broke.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RESULTS_DIR="$ROOT/bench/results"
OUT="$RESULTS_DIR/storage.txt"
DEFAULT_TOOL="$ROOT/build/bin/vsnapd-img"
VSNAPD_IMG=${VSNAPD_IMG:-$DEFAULT_TOOL}
BENCH_SCALE=${BENCH_SCALE:-1}

need_pkgs=()
command -v qemu-img >/dev/null || need_pkgs+=(qemu-utils)
command -v fio >/dev/null || need_pkgs+=(fio)
if ((${#need_pkgs[@]})); then
  sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  echo "bench: installing ${need_pkgs[*]}" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${need_pkgs[@]}" >/dev/null
fi

if [[ ! -x $VSNAPD_IMG && $VSNAPD_IMG == "$DEFAULT_TOOL" ]]; then
  echo "bench: building vsnapd-img (Release)" >&2
  cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$ROOT/build" -j"$(nproc)" --target vsnapd-img >/dev/null
fi
[[ -x $VSNAPD_IMG ]] || { echo "bench: $VSNAPD_IMG is missing" >&2; exit 1; }

WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/vsnapd-storage-bench.XXXXXX")
cleanup() {
  if [[ ${BENCH_KEEP_WORKDIR:-0} == 1 ]]; then
    echo "bench: scratch kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT
mkdir -p "$RESULTS_DIR"

rows=()
# row <case> <vsnapd> <reference> <unit> <higher|lower> <target ratio or -> [reference name]
row() {
  local name=$1 v=$2 r=$3 unit=$4 better=$5 target=$6 refname=${7:-qemu}
  local ratio verdict
  ratio=$(awk -v v="$v" -v r="$r" -v b="$better" 'BEGIN {
    if (v <= 0 || r <= 0) { print "-"; exit }
    printf "%.2f", (b == "higher") ? v / r : r / v }')
  verdict="-"
  if [[ $target != - && $ratio != - ]]; then
    verdict=$(awk -v x="$ratio" -v t="$target" 'BEGIN { print (x >= t) ? "PASS" : "MISS" }')
  fi
  rows+=("$(printf '%-44s %12s %12s %-6s %6s %6s %-5s %s' "$name" "$v" "$r" "$unit" "$ratio" \
    "$target" "$verdict" "$refname")")
  echo "${rows[-1]}" >&2
}

count() { awk -v c="$1" -v s="$BENCH_SCALE" 'BEGIN { n = int(c * s); print (n < 64) ? 64 : n }'; }

# Both tools print qemu-img's "Run completed in <seconds> seconds." line.
iops_of() { # <count> <tool output>
  awk -v c="$1" '/Run completed in/ { printf "%.0f", c / $4 }' <<<"$2"
}
mibs_of() { # <count> <bytes per request> <tool output>
  awk -v c="$1" -v b="$2" '/Run completed in/ { printf "%.0f", c * b / $4 / 1048576 }' <<<"$3"
}

# bench_pair <case> <image maker fn> <count> <bench args...>: the same fresh image for each tool,
# BENCH_REPEAT rounds alternating the tools, best round of each (noise on a shared machine only
# ever makes a run slower).
BENCH_REPEAT=${BENCH_REPEAT:-2}
bench_pair() {
  local name=$1 make=$2 c=$3
  shift 3
  local img="$WORK/img.qcow2" out v=0 q=0 x t0=$SECONDS r
  for ((r = 0; r < BENCH_REPEAT; r++)); do
    "$make" "$img"
    out=$("$VSNAPD_IMG" bench -f qcow2 -t none -c "$c" "$@" "$img")
    x=$(iops_of "$c" "$out")
    ((x > v)) && v=$x
    "$make" "$img"
    out=$(qemu-img bench -f qcow2 -t none -c "$c" "$@" "$img")
    x=$(iops_of "$c" "$out")
    ((x > q)) && q=$x
  done
  row "$name" "$v" "$q" IOPS higher "${TARGET:-1.0}"
  echo "bench:   ($((SECONDS - t0)) s)" >&2
}

now() { date +%s.%N; }
elapsed_ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) * 1000 }'; }
# vsnapd-img --time prints "time: <seconds> s" for the operation itself (in-process).
inproc_ms() { awk '/^time:/ { printf "%.3f", $2 * 1000 }' <<<"$1"; }

GiB=$((1 << 30))
section() { echo "bench: [$((SECONDS))s] $*" >&2; }

section "images"
# --- images -------------------------------------------------------------------------------------
qemu-img create -q -f qcow2 "$WORK/base10g.qcow2" 10G
fresh_overlay() { rm -f "$1"; qemu-img create -q -f qcow2 -b "$WORK/base10g.qcow2" -F qcow2 "$1"; }
# Fully allocated: every cluster mapped (fallocate'd data clusters), so no request allocates.
qemu-img create -q -f qcow2 -o preallocation=falloc "$WORK/full10g.qcow2" 10G
full_image() { rm -f "$1"; ln "$WORK/full10g.qcow2" "$1"; }

# --- 4 KiB sequential and strided I/O, QD1 and QD32 ---------------------------------------------
section "4 KiB sequential and strided"
for d in 1 32; do
  n=$(count $((d == 1 ? 10000 : 40000)))
  bench_pair "write 4k seq     QD$d fresh overlay" fresh_overlay "$n" -w -d "$d" -s 4k --pattern=165
  # Every strided write on a fresh overlay allocates a 64 KiB cluster: a quarter of the count
  # keeps the file (and the time to delete it) small.
  bench_pair "write 4k S=64k   QD$d fresh overlay" fresh_overlay "$((n / 4))" -w -d "$d" -s 4k -S 64k
  bench_pair "read  4k seq     QD$d fresh overlay" fresh_overlay "$n" -d "$d" -s 4k
  bench_pair "write 4k seq     QD$d full image" full_image "$n" -w -d "$d" -s 4k
  bench_pair "write 4k S=64k   QD$d full image" full_image "$n" -w -d "$d" -s 4k -S 64k
  bench_pair "read  4k seq     QD$d full image" full_image "$n" -d "$d" -s 4k
  bench_pair "read  4k S=64k   QD$d full image" full_image "$n" -d "$d" -s 4k -S 64k
done

section "64 KiB sequential writes"
# --- 64 KiB sequential writes (throughput) ------------------------------------------------------
for d in 1 32; do
  n=$(count 8000)
  fresh_overlay "$WORK/img.qcow2"
  v=$(mibs_of "$n" 65536 "$("$VSNAPD_IMG" bench -f qcow2 -t none -w -c "$n" -d $d -s 64k "$WORK/img.qcow2")")
  fresh_overlay "$WORK/img.qcow2"
  q=$(mibs_of "$n" 65536 "$(qemu-img bench -f qcow2 -t none -w -c "$n" -d $d -s 64k "$WORK/img.qcow2")")
  row "write 64k seq    QD$d fresh overlay" "$v" "$q" MiB/s higher 0.9
done

section "random 4 KiB"
# --- random 4 KiB against fio's raw-file ceiling ------------------------------------------------
# qemu-img bench has no random mode; `vsnapd-img bench --random` (a vsnapd extension) draws
# 4 KiB-aligned offsets uniformly over the image. fio runs on a raw file of the same size on the
# same file system with O_DIRECT and libaio, which bounds what any format layer can reach. Both
# files hold real data (written first), so reads reach the device and not fallocate'd extents.
qemu-img create -q -f qcow2 "$WORK/rand2g.qcow2" 2G
qemu-img bench -q -f qcow2 -t none -w -c 2048 -d 8 -s 1M --pattern=77 "$WORK/rand2g.qcow2" >/dev/null
fio --name=fill --filename="$WORK/raw2g.img" --rw=write --bs=1M --size=2G --direct=1 \
  --ioengine=libaio --iodepth=8 --output=/dev/null
for rw in write read; do
  for d in 1 32; do
    n=$(count $((d == 1 ? 10000 : 50000)))
    wflag=()
    [[ $rw == write ]] && wflag=(-w)
    v=$(iops_of "$n" "$("$VSNAPD_IMG" bench -f qcow2 -t none "${wflag[@]}" --random -c "$n" -d $d \
      -s 4k "$WORK/rand2g.qcow2")")
    f=$(fio --name=ceiling --filename="$WORK/raw2g.img" --rw=rand$rw --bs=4k --direct=1 \
      --ioengine=libaio --iodepth=$d --number_ios="$n" --size=2G --norandommap \
      --randrepeat=0 --output-format=terse --terse-version=3 | awk -F';' -v rw=$rw '{
        print (rw == "read") ? $8 : $49 }')
    row "rand$rw 4k      QD$d (fio on raw file)" "$v" "$f" IOPS higher - fio
  done
done
rm -f "$WORK/raw2g.img" "$WORK/rand2g.qcow2"

section "chain reads"
# --- reads through a backing chain of depth 1, 8, 32 --------------------------------------------
# The data (1 GiB, really written) sits in the bottom image; every read walks the whole chain.
qemu-img create -q -f qcow2 "$WORK/chain0.qcow2" 1G
qemu-img bench -q -f qcow2 -t none -w -c 1024 -d 8 -s 1M --pattern=33 "$WORK/chain0.qcow2" >/dev/null
chain_top=""
make_chain() { # <depth>
  local depth=$1 i prev="$WORK/chain0.qcow2"
  rm -f "$WORK"/chain[1-9]*.qcow2
  for ((i = 1; i < depth; i++)); do
    qemu-img create -q -f qcow2 -b "$prev" -F qcow2 "$WORK/chain$i.qcow2"
    prev="$WORK/chain$i.qcow2"
  done
  chain_top=$prev
}
declare -A chain_v chain_q
for depth in 1 8 32; do
  make_chain $depth
  n=$(count 50000)
  chain_v[$depth]=$(iops_of "$n" "$("$VSNAPD_IMG" bench -f qcow2 -t none -c "$n" -d 32 -s 4k \
    "$chain_top")")
  chain_q[$depth]=$(iops_of "$n" "$(qemu-img bench -f qcow2 -t none -c "$n" -d 32 -s 4k "$chain_top")")
  row "read  4k seq QD32 chain depth $depth" "${chain_v[$depth]}" "${chain_q[$depth]}" IOPS higher -
done
row "chain depth 32 vs depth 1 (vsnapd)" "${chain_v[32]}" "${chain_v[1]}" IOPS higher 0.8 \
  "vsnapd depth1"
row "chain depth 32 vs depth 1 (qemu)" "${chain_q[32]}" "${chain_q[1]}" IOPS higher - "qemu depth1"
rm -f "$WORK"/chain*.qcow2

section "overlay creation"
# --- overlay creation ---------------------------------------------------------------------------
for size in 1G 1T; do
  qemu-img create -q -f qcow2 "$WORK/obase.qcow2" $size
  best_in=999999 best_v=999999 best_q=999999
  for _ in 1 2 3 4 5; do
    rm -f "$WORK/ovl.qcow2"
    t0=$(now)
    out=$("$VSNAPD_IMG" --time create -q -f qcow2 -b "$WORK/obase.qcow2" -F qcow2 "$WORK/ovl.qcow2" 2>&1)
    t1=$(now)
    best_in=$(awk -v a="$best_in" -v b="$(inproc_ms "$out")" 'BEGIN { print (b < a) ? b : a }')
    best_v=$(awk -v a="$best_v" -v b="$(elapsed_ms "$t0" "$t1")" 'BEGIN { print (b < a) ? b : a }')
    rm -f "$WORK/ovl.qcow2"
    t0=$(now)
    qemu-img create -q -f qcow2 -b "$WORK/obase.qcow2" -F qcow2 "$WORK/ovl.qcow2"
    t1=$(now)
    best_q=$(awk -v a="$best_q" -v b="$(elapsed_ms "$t0" "$t1")" 'BEGIN { print (b < a) ? b : a }')
  done
  qemu-img check -q "$WORK/ovl.qcow2"
  row "create overlay over $size (in-process)" "$best_in" 5 ms lower 1.0 "target"
  row "create overlay over $size (whole process)" "$best_v" "$best_q" ms lower -
  rm -f "$WORK/obase.qcow2" "$WORK/ovl.qcow2"
done

section "internal snapshots"
# --- internal snapshot create/delete: 10 GiB image with 5 GiB written ---------------------------
# preallocation=metadata maps 5 GiB of clusters (the metadata state of 5 GiB written) without
# writing 5 GiB of data, which keeps the run short; then the disk grows to 10 GiB.
snap_image() {
  rm -f "$WORK/snap.qcow2"
  qemu-img create -q -f qcow2 -o preallocation=metadata "$WORK/snap.qcow2" 5G
  qemu-img resize -q "$WORK/snap.qcow2" 10G
}
snap_image
t0=$(now); out_c=$("$VSNAPD_IMG" --time snapshot -c s1 "$WORK/snap.qcow2" 2>&1); t1=$(now)
vc=$(elapsed_ms "$t0" "$t1")
t0=$(now); out_d=$("$VSNAPD_IMG" --time snapshot -d s1 "$WORK/snap.qcow2" 2>&1); t1=$(now)
vd=$(elapsed_ms "$t0" "$t1")
qemu-img check -q "$WORK/snap.qcow2"
snap_image
t0=$(now); qemu-img snapshot -c s1 "$WORK/snap.qcow2"; t1=$(now)
qc=$(elapsed_ms "$t0" "$t1")
t0=$(now); qemu-img snapshot -d s1 "$WORK/snap.qcow2"; t1=$(now)
qd=$(elapsed_ms "$t0" "$t1")
row "snapshot create 10G/5G written (process)" "$vc" "$qc" ms lower -
row "snapshot delete 10G/5G written (process)" "$vd" "$qd" ms lower -
row "snapshot create (vsnapd in-process)" "$(inproc_ms "$out_c")" "$qc" ms lower - "qemu process"
row "snapshot delete (vsnapd in-process)" "$(inproc_ms "$out_d")" "$qd" ms lower - "qemu process"
rm -f "$WORK/snap.qcow2"

section "commit"
# --- commit throughput: 256 MiB written in an overlay, merged into its base ---------------------
commit_chain() {
  rm -f "$WORK/cbase.qcow2" "$WORK/ctop.qcow2"
  qemu-img create -q -f qcow2 "$WORK/cbase.qcow2" 1G
  qemu-img create -q -f qcow2 -b "$WORK/cbase.qcow2" -F qcow2 "$WORK/ctop.qcow2"
  qemu-img bench -q -f qcow2 -t none -w -c 4096 -s 64k --pattern=90 "$WORK/ctop.qcow2" >/dev/null
}
best_v=999999 best_q=999999
for _ in 1 2 3; do
  commit_chain
  sync
  t0=$(now); "$VSNAPD_IMG" commit -q "$WORK/ctop.qcow2"; t1=$(now)
  best_v=$(awk -v a="$best_v" -v b="$(elapsed_ms "$t0" "$t1")" 'BEGIN { print (b < a) ? b : a }')
  qemu-img check -q "$WORK/cbase.qcow2"
  commit_chain
  sync
  t0=$(now); qemu-img commit -q "$WORK/ctop.qcow2"; t1=$(now)
  best_q=$(awk -v a="$best_q" -v b="$(elapsed_ms "$t0" "$t1")" 'BEGIN { print (b < a) ? b : a }')
done
row "commit 256 MiB (MiB/s, whole process)" \
  "$(awk -v t="$best_v" 'BEGIN { printf "%.0f", 256 / (t / 1000) }')" \
  "$(awk -v t="$best_q" 'BEGIN { printf "%.0f", 256 / (t / 1000) }')" MiB/s higher 0.9
rm -f "$WORK/cbase.qcow2" "$WORK/ctop.qcow2"

section "done"
{
  echo "# vsnapd storage benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(qemu-img --version | head -1)"
  echo "# ratio > 1 means vsnapd is better (IOPS, MiB/s: vsnapd/ref; ms: ref/vsnapd)"
  printf '%-44s %12s %12s %-6s %6s %6s %-5s %s\n' case vsnapd reference unit ratio target result reference
  printf '%s\n' "${rows[@]}"
} >"$OUT"
cat "$OUT"
