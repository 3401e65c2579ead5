#!/usr/bin/env bash
# WS-Management benchmark (issue 4), one run against vsnapd-testd over HTTPS with Basic auth:
#   1. Enumerate + Pull of the 10,000 Vsnapd_TestElement instances, MaxElements 100, on one
#      keep-alive connection: total time (target < 1 s) and the server's RSS growth, from
#      /proc/<pid>/status VmRSS before and VmHWM after, with VmHWM reset first (target < 16 MiB).
#   2. Get of one instance, 50 keep-alive connections (wrk), against nginx serving a static body
#      of exactly the same bytes over TLS (bench/http): req/s ratio (target >= 0.4).
#   3. Invoke of the static Noop method, 50 connections: p99 latency (target < 2 ms).
#
#   bash bench/wsman/run.sh
#
# Environment (all optional):
#   BENCH_SECONDS (5)   measured wrk seconds per server and round (Noop: one run), after
#                       BENCH_WARMUP_SECONDS (2); BENCH_ROUNDS (3) interleaved Get rounds
#   BENCH_CONNECTIONS (50), BENCH_THREADS (2), BENCH_ELEMENTS (10000), BENCH_ENUM_RUNS (3)
#   VSNAPD_TESTD        vsnapd-testd binary; default: build the target in BENCH_BUILD_DIR
#                       (build-bench, Release) first
#   BENCH_KEEP_WORKDIR=1 keep the temp dir (daemon log, state, bodies)
# Output: bench/results/wsman.txt ('#' lines for people, key=value lines), also printed; raw
# wrk reports beside it as wsman.wrk-*.txt. Exit status 0 when the run completed (targets PASS
# or MISS), 1 when something broke (daemon crash, wrong answers, errors under load).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
HTTP_BENCH="$ROOT/bench/http"
RESULTS="$ROOT/bench/results"
OUT="$RESULTS/wsman.txt"
PY=/usr/bin/python3

BENCH_SECONDS=${BENCH_SECONDS:-5}
BENCH_ROUNDS=${BENCH_ROUNDS:-3}
BENCH_WARMUP_SECONDS=${BENCH_WARMUP_SECONDS:-2}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-50}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_ELEMENTS=${BENCH_ELEMENTS:-10000}
BENCH_ENUM_RUNS=${BENCH_ENUM_RUNS:-3}
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}

TARGET_RATIO=0.4
TARGET_ENUM_SECONDS=1
TARGET_ENUM_RSS_MIB=16
TARGET_NOOP_P99_MS=2

log() { printf '[bench/wsman] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for v in BENCH_SECONDS BENCH_ROUNDS BENCH_WARMUP_SECONDS BENCH_CONNECTIONS BENCH_THREADS BENCH_ELEMENTS BENCH_ENUM_RUNS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done

# ------------------------------------------------------------------ tools ---
pkgs=()
command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || pkgs+=(nginx-light)
command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
command -v curl >/dev/null 2>&1 || pkgs+=(curl)
[[ -x $PY ]] || pkgs+=(python3)
if (( ${#pkgs[@]} )); then
    log "installing ${pkgs[*]}"
    sudo=(); (( EUID == 0 )) || sudo=(sudo -n)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 \
        || { "${sudo[@]}" apt-get update -qq >/dev/null && "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; } \
        || die "apt-get install ${pkgs[*]} failed"
fi

if [[ -z ${VSNAPD_TESTD:-} ]]; then
    if [[ ! -f $BUILD/CMakeCache.txt ]] || ! grep -q '^VSNAPD_BUILD_TESTS:BOOL=ON' "$BUILD/CMakeCache.txt"; then
        cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVSNAPD_BUILD_TESTS=ON >/dev/null
    fi
    log "building vsnapd-testd (Release) in ${BUILD#"$ROOT"/}"
    cmake --build "$BUILD" -j2 --target vsnapd-testd >/dev/null
    VSNAPD_TESTD="$BUILD/bin/vsnapd-testd"
fi
[[ -x $VSNAPD_TESTD ]] || die "VSNAPD_TESTD=$VSNAPD_TESTD is not executable"

WORK=$(mktemp -d /tmp/vsnapd-bench-wsman.XXXXXX)
chmod 700 "$WORK"
TESTD_PID=""
PROBLEMS=()
problem() { PROBLEMS+=("$*"); log "problem: $*"; }

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    "$HTTP_BENCH/nginx_static.sh" stop "$WORK" 2>/dev/null
    if [[ -n $TESTD_PID ]] && kill -0 "$TESTD_PID" 2>/dev/null; then
        kill -TERM "$TESTD_PID"
        for (( i = 0; i < 150; i++ )); do kill -0 "$TESTD_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$TESTD_PID" 2>/dev/null
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

alive() { [[ -n $TESTD_PID ]] && kill -0 "$TESTD_PID" 2>/dev/null; }
kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || true; }
mib() { awk -v v="$1" 'BEGIN { if (v == "" || v == "NA") print "NA"; else printf "%.1f", v / 1024 }'; }

# ------------------------------------------------------------ the daemon ---
ulimit -n 4096 2>/dev/null || true
VSNAPD_TEST_ELEMENTS=$BENCH_ELEMENTS "$VSNAPD_TESTD" --state-dir "$WORK/state" \
    --wsman-https 127.0.0.1:0 --wsman-http "" --cimxml-http "" --cimxml-https "" \
    </dev/null >"$WORK/testd.log" 2>&1 &
TESTD_PID=$!
ready=""
for (( i = 0; i < 600; i++ )); do   # bounded: 30 s
    grep -q ' info server ready' "$WORK/testd.log" && { ready=1; break; }
    alive || break
    sleep 0.05
done
[[ -n $ready ]] || { tail -n 20 "$WORK/testd.log" >&2; die "vsnapd-testd did not log 'server ready'"; }
PORT=$(sed -n 's/.*wsman-https listening on .*:\([0-9]\+\)[[:space:]]*$/\1/p' "$WORK/testd.log" | head -n 1)
ADMIN_LINE=$(grep -o "created initial administrator '[^']*' password: [^ ]*" "$WORK/testd.log" | head -n 1 || true)
[[ -n $PORT && -n $ADMIN_LINE ]] || { tail -n 20 "$WORK/testd.log" >&2; die "no port or administrator line in the log"; }
ADMIN_USER=$(sed "s/.*administrator '\([^']*\)'.*/\1/" <<<"$ADMIN_LINE")
(umask 077; sed 's/.*password: //' <<<"$ADMIN_LINE" >"$WORK/password")
AUTH="Basic $(printf '%s:%s' "$ADMIN_USER" "$(cat "$WORK/password")" | base64 -w0)"
URL="https://127.0.0.1:$PORT/wsman"
CT='application/soap+xml;charset=UTF-8'
RSS_IDLE=$(kib "$TESTD_PID" VmRSS)
log "vsnapd-testd ($BENCH_ELEMENTS elements) on $URL, pid $TESTD_PID, VmRSS $(mib "$RSS_IDLE") MiB"

declare -A R
CHECK_PREFIXES=()
# median V...: the middle value (mean of the two middle ones for an even count)
median() {
    printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END {
        if (NR == 0) print "NA"; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
# kv_into PREFIX < one line of key=value words (wrk_post.sh): stores R[PREFIX_key]=value
kv_into() {
    local prefix=$1 word
    for word in $(cat); do [[ $word == *=* ]] && R[${prefix}${word%%=*}]=${word#*=}; done
}
# kv_lines < key=value lines (values may hold spaces): stores R[key]=value
kv_lines() {
    local line
    while IFS= read -r line; do [[ $line == *=* ]] && R[${line%%=*}]=${line#*=}; done
}

# fault_text FILE: the subcode and reason of a SOAP fault reply, on one line
fault_text() {
    "$PY" -c 'import re, sys
t = open(sys.argv[1], encoding="utf-8", errors="replace").read()
print(" ".join(re.findall(r"<s:Value>([^<]*)</s:Value>", t) + re.findall(r"<s:Text[^>]*>([^<]*)</s:Text>", t))[:300])' "$1" 2>/dev/null || true
}

# one_request NAME BODY_FILE: POST once with curl; fills $WORK/NAME-response.xml; echoes HTTP code
one_request() {
    curl -sk --noproxy '*' --max-time 30 -o "$WORK/$1-response.xml" -w '%{http_code}' \
        -H "Content-Type: $CT" -H "Authorization: $AUTH" --data-binary @"$2" "$URL" || echo 000
}

# ----------------------------------------------------- 1. Enumerate + Pull ---
log "enumerate + pull of $BENCH_ELEMENTS instances, MaxElements 100, $BENCH_ENUM_RUNS runs"
if "$PY" "$HERE/enum_pull.py" --port "$PORT" --user "$ADMIN_USER" --password-file "$WORK/password" \
        --pid "$TESTD_PID" --expect "$BENCH_ELEMENTS" --max-elements 100 --runs "$BENCH_ENUM_RUNS" \
        >"$WORK/enum.txt" 2>&1; then
    kv_lines <"$WORK/enum.txt"
else
    kv_lines <"$WORK/enum.txt" || true
    problem "enumerate + pull: ${R[enum_error]:-$(tail -n 3 "$WORK/enum.txt" | tr '\n' ' ')}"
fi
alive || die "vsnapd-testd died during the enumeration test"

# ------------------------------------------------ 2. Get vs nginx static ---
"$PY" "$HERE/wsman_requests.py" get >"$WORK/get.xml"
code=$(one_request get "$WORK/get.xml")
GET_BYTES=NA
if [[ $code == 200 ]] && grep -q 'InstanceID>E42<' "$WORK/get-response.xml"; then
    GET_BYTES=$(stat -c %s "$WORK/get-response.xml")
    # Interleaved rounds (vsnapd, nginx, vsnapd, nginx, ...): the machine is shared, and load
    # from elsewhere that lands on one server's window alone would skew a single pair of runs.
    log "Get: ${GET_BYTES}-byte reply; $BENCH_ROUNDS interleaved rounds of ${BENCH_SECONDS}s per server, wrk ${BENCH_CONNECTIONS} connections"
    if NGINX_URL=$("$HTTP_BENCH/nginx_static.sh" start "$WORK" "$WORK/get-response.xml" "$CT" "$WORK/state/tls/key.pem"); then
        for (( round = 1; round <= BENCH_ROUNDS; round++ )); do
            warm=0; (( round > 1 )) || warm=$BENCH_WARMUP_SECONDS
            for server in vsnapd nginx; do
                url=$URL; [[ $server == vsnapd ]] || url="$NGINX_URL/wsman"
                if "$HTTP_BENCH/wrk_post.sh" -u "$url" -b "$WORK/get.xml" -H "Content-Type: $CT" -H "Authorization: $AUTH" \
                        -c "$BENCH_CONNECTIONS" -t "$BENCH_THREADS" -d "$BENCH_SECONDS" -w "$warm" \
                        -o "$RESULTS/wsman.wrk-get-$server-$round.txt" >"$WORK/get-$server-$round.kv" 2>"$WORK/get-$server-$round.err"; then
                    kv_into "get_${server}_r${round}_" <"$WORK/get-$server-$round.kv"
                    CHECK_PREFIXES+=("get_${server}_r${round}_")
                else
                    problem "wrk Get $server round $round: $(tail -n 3 "$WORK/get-$server-$round.err" | tr '\n' ' ')"
                fi
            done
            alive || die "vsnapd-testd died under the Get load"
        done
        "$HTTP_BENCH/nginx_static.sh" stop "$WORK"
        RSS_AFTER_GET=$(kib "$TESTD_PID" VmRSS)
        ratios=() v_rps=() n_rps=() v_p50=() v_p99=()
        for (( round = 1; round <= BENCH_ROUNDS; round++ )); do
            v=${R[get_vsnapd_r${round}_rps]:-} n=${R[get_nginx_r${round}_rps]:-}
            [[ -n $v && -n $n ]] || continue
            v_rps+=("$v") n_rps+=("$n") v_p50+=("${R[get_vsnapd_r${round}_p50_ms]}") v_p99+=("${R[get_vsnapd_r${round}_p99_ms]}")
            ratios+=("$(awk -v a="$v" -v b="$n" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')")
        done
        if (( ${#ratios[@]} )); then
            R[get_ratio_rounds]=$(IFS=,; printf '%s' "${ratios[*]}")
            R[get_vsnapd_rps]=$(median "${v_rps[@]}")
            R[get_nginx_rps]=$(median "${n_rps[@]}")
            R[get_vsnapd_p50_ms]=$(median "${v_p50[@]}")
            R[get_vsnapd_p99_ms]=$(median "${v_p99[@]}")
            R[get_ratio_median]=$(median "${ratios[@]}")
        fi
    else
        problem "nginx baseline did not start"
    fi
else
    problem "Get of E42 answered HTTP $code $(fault_text "$WORK/get-response.xml")"
fi

# ------------------------------------------------------------- 3. Noop p99 ---
"$PY" "$HERE/wsman_requests.py" noop >"$WORK/noop.xml"
code=$(one_request noop "$WORK/noop.xml")
if [[ $code == 200 ]] && grep -q 'Noop_OUTPUT' "$WORK/noop-response.xml"; then
    log "Invoke Noop: wrk ${BENCH_CONNECTIONS} connections, ${BENCH_SECONDS}s"
    if "$HTTP_BENCH/wrk_post.sh" -u "$URL" -b "$WORK/noop.xml" -H "Content-Type: $CT" -H "Authorization: $AUTH" \
            -c "$BENCH_CONNECTIONS" -t "$BENCH_THREADS" -d "$BENCH_SECONDS" -w "$BENCH_WARMUP_SECONDS" \
            -o "$RESULTS/wsman.wrk-noop.txt" >"$WORK/noop.kv" 2>"$WORK/noop.err"; then
        kv_into noop_ <"$WORK/noop.kv"
        CHECK_PREFIXES+=(noop_)
    else
        problem "wrk Noop: $(tail -n 3 "$WORK/noop.err" | tr '\n' ' ')"
    fi
    alive || die "vsnapd-testd died under the Noop load"
else
    problem "Invoke Noop answered HTTP $code $(fault_text "$WORK/noop-response.xml")"
fi
RSS_END=$(kib "$TESTD_PID" VmRSS)
HWM_END=$(kib "$TESTD_PID" VmHWM)

for k in "${CHECK_PREFIXES[@]}"; do
    [[ -z ${R[${k}requests]:-} ]] && continue
    errs=$(( ${R[${k}err_connect]} + ${R[${k}err_read]} + ${R[${k}err_write]} + ${R[${k}err_timeout]} ))
    (( errs == 0 )) || problem "${k%_}: $errs socket errors under load"
    (( ${R[${k}non2xx]} == 0 )) || problem "${k%_}: ${R[${k}non2xx]} non-2xx replies of ${R[${k}requests]}"
done

# ------------------------------------------------------- graceful shutdown ---
kill -TERM "$TESTD_PID"
for (( i = 0; i < 150; i++ )); do alive || break; sleep 0.1; done
if alive; then
    problem "vsnapd-testd did not exit within 15 s of SIGTERM"
else
    rc=0; wait "$TESTD_PID" || rc=$?
    (( rc == 0 )) || problem "vsnapd-testd exited $rc after SIGTERM"
fi
TESTD_PID=""

# ------------------------------------------------------------------ report ---
get() { printf '%s' "${R[$1]:-NA}"; }
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN {
    if (v == "NA" || v == "") { print "NA"; exit }
    ok = (op == "ge") ? (v + 0 >= t + 0) : (v + 0 < t + 0); print ok ? "PASS" : "MISS" }'; }
RATIO=$(get get_ratio_median)
ENUM_S=$(get enum_seconds_median)
ENUM_GROWTH_MIB=NA; [[ $(get enum_rss_growth_kib) == NA ]] || ENUM_GROWTH_MIB=$(mib "$(get enum_rss_growth_kib)")
NOOP_P99=$(get noop_p99_ms)
STATUS=OK; (( ${#PROBLEMS[@]} == 0 )) || STATUS=FAIL
mkdir -p "$RESULTS"
{
    echo "# vsnapd WS-Management benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores shared by client and servers)"
    echo "# vsnapd-testd $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), HTTPS + Basic, keep-alive; wrk ${BENCH_THREADS} threads x ${BENCH_CONNECTIONS} connections, ${BENCH_SECONDS}s (+${BENCH_WARMUP_SECONDS}s warm-up)"
    echo "#   Enumerate+Pull ${BENCH_ELEMENTS} instances, MaxElements 100: median $ENUM_S s of ${BENCH_ENUM_RUNS} (first $(get enum_seconds_first) s; target < ${TARGET_ENUM_SECONDS} s) $(verdict "$ENUM_S" $TARGET_ENUM_SECONDS lt)"
    echo "#   server RSS growth during it: $ENUM_GROWTH_MIB MiB (target < ${TARGET_ENUM_RSS_MIB} MiB) $(verdict "$ENUM_GROWTH_MIB" $TARGET_ENUM_RSS_MIB lt)"
    echo "#   Get one instance (${GET_BYTES} bytes), medians of ${BENCH_ROUNDS} rounds: vsnapd $(get get_vsnapd_rps) req/s (p50 $(get get_vsnapd_p50_ms) ms, p99 $(get get_vsnapd_p99_ms) ms), nginx static $(get get_nginx_rps) req/s"
    echo "#   ratio vsnapd/nginx: $RATIO, median of rounds $(get get_ratio_rounds) (target >= $TARGET_RATIO) $(verdict "$RATIO" $TARGET_RATIO ge)"
    echo "#   Invoke Noop: $(get noop_rps) req/s, p50 $(get noop_p50_ms) ms, p99 $NOOP_P99 ms (target < ${TARGET_NOOP_P99_MS} ms) $(verdict "$NOOP_P99" $TARGET_NOOP_P99_MS lt)"
    echo "#   status: $STATUS"
    for p in "${PROBLEMS[@]}"; do echo "#   problem: $p"; done
    echo "timestamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "git_commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)"
    echo "cores=$(nproc)"
    echo "elements=$BENCH_ELEMENTS"
    echo "bench_seconds=$BENCH_SECONDS"
    echo "wrk_connections=$BENCH_CONNECTIONS"
    echo "wrk_threads=$BENCH_THREADS"
    echo "rss_idle_kib=${RSS_IDLE:-NA}"
    for k in $(printf '%s\n' "${!R[@]}" | sort); do [[ $k == enum_error ]] || echo "$k=${R[$k]}"; done
    echo "get_response_bytes=$GET_BYTES"
    echo "get_ratio=$RATIO"
    echo "get_ratio_result=$(verdict "$RATIO" $TARGET_RATIO ge)"
    echo "enum_seconds_result=$(verdict "$ENUM_S" $TARGET_ENUM_SECONDS lt)"
    echo "enum_rss_growth_mib=$ENUM_GROWTH_MIB"
    echo "enum_rss_growth_result=$(verdict "$ENUM_GROWTH_MIB" $TARGET_ENUM_RSS_MIB lt)"
    echo "noop_p99_result=$(verdict "$NOOP_P99" $TARGET_NOOP_P99_MS lt)"
    echo "rss_after_get_kib=${RSS_AFTER_GET:-NA}"
    echo "rss_end_kib=${RSS_END:-NA}"
    echo "hwm_end_kib=${HWM_END:-NA}"
    echo "problems=${#PROBLEMS[@]}"
    echo "status=$STATUS"
} >"$OUT"
cat "$OUT"
if [[ $STATUS != OK ]]; then
    cp "$WORK/testd.log" "$RESULTS/wsman.testd.log" 2>/dev/null || true
    exit 1
fi
exit 0
