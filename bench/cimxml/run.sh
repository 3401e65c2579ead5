#!/usr/bin/env bash
# Benchmark (issue 5): CIM-XML EnumerateInstances of the fixture's 1,000 elements and GetInstance
# over HTTP and HTTPS keep-alive with wrk against vsnapd-testd (VSNAPD_TEST_ELEMENTS=1000), and
# nginx serving static responses of the same bytes in the same run: req/s, p50/p99 and ratios.
#
#   bash bench/cimxml/run.sh            # BENCH_SECONDS=10 per case and server
#
# Environment (all optional):
#   BENCH_SECONDS         measured wrk duration per case and server (default 10)
#   BENCH_WARMUP_SECONDS  wrk warm-up per case and server, not measured (default 2)
#   BENCH_CONNECTIONS     wrk connections (default 32)
#   BENCH_THREADS         wrk threads (default 2)
#   BENCH_KEEP_WORKDIR=1  keep the temp dir (logs, state, bodies) even on success
#   VSNAPD_TESTD          daemon binary (default: vsnapd-testd built Release in BENCH_BUILD_DIR,
#                         build-bench/, as bench/wsman does)
#
# Output: bench/results/cimxml.txt ('#' lines for people, key=value lines for machines), also
# printed; raw wrk outputs beside it (cimxml.wrk-<server>-<case>.txt). Uses the shared harness in
# bench/http (nginx_static.sh, wrk_post.sh).
# Exit status: 0 when the run completed (targets PASS or MISS), 1 when something broke (daemon
# crash, CIM errors or socket errors under load, setup failure).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
cd "$ROOT"

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_WARMUP_SECONDS=${BENCH_WARMUP_SECONDS:-2}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-32}
BENCH_THREADS=${BENCH_THREADS:-2}
BUILD=${BENCH_BUILD_DIR:-$ROOT/build-bench}
VSNAPD_TESTD=${VSNAPD_TESTD:-}
ELEMENTS=1000
NAMESPACE=root/vsnapd/test
HTTP_BENCH="$ROOT/bench/http"
RESULTS_DIR="$ROOT/bench/results"
OUT="$RESULTS_DIR/cimxml.txt"
READY_TIMEOUT=30
STOP_TIMEOUT=15

# Targets (issue 5).
TARGET_GI_RATIO=0.4       # GetInstance req/s vs nginx serving the same bytes
TARGET_EI_RPS=300         # EnumerateInstances of 1,000 instances, responses/s

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for v in BENCH_SECONDS BENCH_WARMUP_SECONDS BENCH_CONNECTIONS BENCH_THREADS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
(( BENCH_SECONDS >= 1 && BENCH_SECONDS <= 600 )) || die "BENCH_SECONDS must be 1..600"
(( BENCH_CONNECTIONS >= BENCH_THREADS && BENCH_THREADS >= 1 )) || die "need BENCH_CONNECTIONS >= BENCH_THREADS >= 1"

WORK=$(mktemp -d /tmp/vsnapd-bench-cimxml.XXXXXX)
chmod 700 "$WORK"
DAEMON_PID="" NGINX_WORK="" TAIL_PID=""

# stop_pid PID [SIGNAL] [TIMEOUT_S]: signal, wait bounded, then SIGKILL.
stop_pid() {
    local pid=$1 sig=${2:-TERM} limit=${3:-10} i
    [[ -n $pid ]] || return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -"$sig" "$pid" 2>/dev/null || true
    for (( i = 0; i < limit * 10; i++ )); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "pid $pid still running ${limit}s after SIG$sig; SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    stop_pid "$TAIL_PID" TERM 2
    [[ -z $NGINX_WORK ]] || "$HTTP_BENCH/nginx_static.sh" stop "$NGINX_WORK"
    stop_pid "$DAEMON_PID" TERM "$STOP_TIMEOUT"
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

# ------------------------------------------------------------------ tools ---
pkgs=()
command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || pkgs+=(nginx)
command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
command -v curl >/dev/null 2>&1 || pkgs+=(curl)
if (( ${#pkgs[@]} )); then
    log "installing ${pkgs[*]}"
    SUDO=(); (( EUID == 0 )) || SUDO=(sudo -n)
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >"$WORK/apt.log" 2>&1 \
        || { "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; } \
            >>"$WORK/apt.log" 2>&1 || { tail -n 20 "$WORK/apt.log" >&2; die "apt-get install failed"; }
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] || die "nginx not found after install"

# Same build directory as bench/wsman, so one Release build of vsnapd-testd serves both.
if [[ -z $VSNAPD_TESTD ]]; then
    if [[ ! -f $BUILD/CMakeCache.txt ]] || ! grep -q '^VSNAPD_BUILD_TESTS:BOOL=ON' "$BUILD/CMakeCache.txt"; then
        cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DVSNAPD_BUILD_TESTS=ON >/dev/null
    fi
    log "building vsnapd-testd (Release) in ${BUILD#"$ROOT"/}"
    cmake --build "$BUILD" -j2 --target vsnapd-testd >/dev/null
    VSNAPD_TESTD="$BUILD/bin/vsnapd-testd"
fi
[[ -x $VSNAPD_TESTD ]] || die "VSNAPD_TESTD=$VSNAPD_TESTD is not executable"

# ---------------------------------------------------------- start the daemon ---
# Basic over plain HTTP needs allow_unencrypted; wrk sends the same credentials on every
# request, so the daemon's verified-credentials cache pays PBKDF2 once.
printf '[auth]\nallow_unencrypted = true\n' >"$WORK/vsnapd.toml"
mkdir -m 700 "$WORK/state"
: >"$WORK/vsnapd.log"
VSNAPD_TEST_ELEMENTS=$ELEMENTS "$VSNAPD_TESTD" --config "$WORK/vsnapd.toml" --state-dir "$WORK/state" \
    --wsman-http "" --wsman-https "" --cimxml-http 127.0.0.1:0 --cimxml-https 127.0.0.1:0 \
    --log-level info </dev/null >"$WORK/vsnapd.stdout" 2>"$WORK/vsnapd.log" &
DAEMON_PID=$!

HTTP_PORT="" HTTPS_PORT="" PASSWORD="" ready=""
exec {tail_fd}< <(exec tail -n +1 -F --pid="$DAEMON_PID" "$WORK/vsnapd.log" 2>/dev/null)
TAIL_PID=$!
deadline=$(( SECONDS + READY_TIMEOUT ))
while (( SECONDS < deadline )); do
    IFS= read -r -t "$(( deadline - SECONDS ))" -u "$tail_fd" line || break
    [[ $line =~ cimxml-http\ listening\ on\ .*:([0-9]+)[[:space:]]*$ ]] && HTTP_PORT=${BASH_REMATCH[1]}
    [[ $line =~ cimxml-https\ listening\ on\ .*:([0-9]+)[[:space:]]*$ ]] && HTTPS_PORT=${BASH_REMATCH[1]}
    [[ $line =~ initial\ administrator\ \'admin\'\ password:\ ([^[:space:]]+) ]] && PASSWORD=${BASH_REMATCH[1]}
    if [[ $line == *" server ready"* ]]; then ready=1; break; fi
done
exec {tail_fd}<&-
stop_pid "$TAIL_PID" TERM 2
TAIL_PID=""
[[ -n $ready ]] || { tail -n 25 "$WORK/vsnapd.log" >&2; die "vsnapd-testd did not get ready within ${READY_TIMEOUT}s"; }
[[ -n $HTTP_PORT && -n $HTTPS_PORT && -n $PASSWORD ]] \
    || { tail -n 25 "$WORK/vsnapd.log" >&2; die "no cimxml listener ports or admin password in the log"; }
AUTH="Basic $(printf 'admin:%s' "$PASSWORD" | base64 -w0)"
log "vsnapd-testd ready: cimxml http :$HTTP_PORT, https :$HTTPS_PORT, $ELEMENTS elements"

# ---------------------------------------------------------- request bodies ---
nsxml="<LOCALNAMESPACEPATH>$(IFS=/; for p in $NAMESPACE; do printf '<NAMESPACE NAME="%s"/>' "$p"; done)</LOCALNAMESPACEPATH>"
request() {   # request METHOD IPARAMVALUES-XML
    printf '<?xml version="1.0" encoding="utf-8" ?>\n<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="1" PROTOCOLVERSION="1.0"><SIMPLEREQ><IMETHODCALL NAME="%s">%s%s</IMETHODCALL></SIMPLEREQ></MESSAGE></CIM>' "$1" "$nsxml" "$2"
}
# What wbemcli sends for `ei` (DeepInheritance TRUE, LocalOnly FALSE): 1,000 elements and the
# fixture's three Vsnapd_TestSubElement instances.
request EnumerateInstances '<IPARAMVALUE NAME="ClassName"><CLASSNAME NAME="Vsnapd_TestElement"/></IPARAMVALUE><IPARAMVALUE NAME="DeepInheritance"><VALUE>TRUE</VALUE></IPARAMVALUE><IPARAMVALUE NAME="LocalOnly"><VALUE>FALSE</VALUE></IPARAMVALUE>' >"$WORK/ei.req"
request GetInstance '<IPARAMVALUE NAME="InstanceName"><INSTANCENAME CLASSNAME="Vsnapd_TestElement"><KEYBINDING NAME="InstanceID"><KEYVALUE VALUETYPE="string">E500</KEYVALUE></KEYBINDING></INSTANCENAME></IPARAMVALUE><IPARAMVALUE NAME="LocalOnly"><VALUE>FALSE</VALUE></IPARAMVALUE>' >"$WORK/gi.req"
declare -A METHOD=([ei]=EnumerateInstances [gi]=GetInstance)
headers_for() {
    printf 'Content-Type: application/xml; charset="utf-8"\nCIMOperation: MethodCall\nCIMMethod: %s\nCIMObject: %s\nCIMProtocolVersion: 1.0\nAuthorization: %s\n' \
        "${METHOD[$1]}" "${NAMESPACE//\//%2F}" "$AUTH"
}

# One real response per operation and transport: it must be a success, and the nginx baseline
# serves exactly its bytes.
for op in ei gi; do
    for scheme in http https; do
        port=$HTTP_PORT; [[ $scheme == http ]] || port=$HTTPS_PORT
        hdr=(); while IFS= read -r h; do hdr+=(-H "$h"); done < <(headers_for "$op")
        code=$(curl -sk --noproxy '*' --max-time 30 -o "$WORK/$op.$scheme.rsp" -D "$WORK/$op.$scheme.hdr" \
               -w '%{http_code}' "${hdr[@]}" --data-binary @"$WORK/$op.req" "$scheme://127.0.0.1:$port/cimom") \
            || die "curl $op over $scheme failed"
        [[ $code == 200 ]] || { head -c 600 "$WORK/$op.$scheme.rsp" >&2; die "$op over $scheme: HTTP $code"; }
        ! grep -q '<ERROR' "$WORK/$op.$scheme.rsp" || { head -c 600 "$WORK/$op.$scheme.rsp" >&2; die "$op over $scheme: CIM error"; }
    done
    cmp -s "$WORK/$op.http.rsp" "$WORK/$op.https.rsp" || die "$op: HTTP and HTTPS bodies differ"
done
EI_INSTANCES=$(grep -o '<VALUE.NAMEDINSTANCE>' "$WORK/ei.http.rsp" | wc -l)
(( EI_INSTANCES == ELEMENTS + 3 )) || die "EnumerateInstances returned $EI_INSTANCES instances, expected $(( ELEMENTS + 3 ))"
grep -q 'E500' "$WORK/gi.http.rsp" || die "GetInstance response does not name E500"
EI_BYTES=$(stat -c %s "$WORK/ei.http.rsp")
GI_BYTES=$(stat -c %s "$WORK/gi.http.rsp")
EI_FRAMING=$(grep -qi '^transfer-encoding: *chunked' "$WORK/ei.http.hdr" && echo chunked || echo content-length)
log "EnumerateInstances: $EI_INSTANCES instances, $EI_BYTES bytes ($EI_FRAMING); GetInstance: $GI_BYTES bytes"

# ------------------------------------------------------------------- wrk ---
# bench/http (shared with bench/wsman): nginx_static.sh serves one body over TLS (and, with
# NGINX_ALSO_HTTP=1, plain HTTP) with a certificate of the daemon's key type; wrk_post.sh POSTs
# a body with headers over keep-alive and prints one key=value line.
declare -A R
PROBLEMS=()
problem() { log "PROBLEM: $*"; PROBLEMS+=("$*"); }
daemon_alive() { kill -0 "$DAEMON_PID" 2>/dev/null; }

# Daemon CPU time (user + system) in clock ticks, from /proc/PID/stat.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$DAEMON_PID/stat"; }
TICK=$(getconf CLK_TCK)

# measure SERVER CASE URL OP: fills R[SERVER_CASE_*] from wrk_post.sh: a warm-up run, then the
# measured one. For vsnapd also the daemon's CPU time per response over the measured run: on a
# machine shared with other work, req/s depends on what else runs, CPU per response does not.
measure() {
    local server=$1 case=$2 url=$3 op=$4 key="$1_$2" line kv hdr=() c0 c1
    while IFS= read -r h; do hdr+=(-H "$h"); done < <(headers_for "$op")
    if (( BENCH_WARMUP_SECONDS > 0 )); then
        "$HTTP_BENCH/wrk_post.sh" -u "$url" -b "$WORK/$op.req" "${hdr[@]}" -c "$BENCH_CONNECTIONS" \
            -t "$BENCH_THREADS" -d "$BENCH_WARMUP_SECONDS" -w 0 >/dev/null || { problem "$key: warm-up failed"; return 1; }
    fi
    [[ $server != vsnapd ]] || c0=$(cpu_ticks)
    if ! line=$("$HTTP_BENCH/wrk_post.sh" -u "$url" -b "$WORK/$op.req" "${hdr[@]}" \
            -c "$BENCH_CONNECTIONS" -t "$BENCH_THREADS" -d "$BENCH_SECONDS" -w 0 \
            -o "$RESULTS_DIR/cimxml.wrk-$server-$case.txt"); then
        problem "$key: wrk_post.sh failed"; return 1
    fi
    for kv in $line; do [[ $kv == *=* ]] && R[${key}_${kv%%=*}]=${kv#*=}; done
    if [[ $server == vsnapd ]]; then
        c1=$(cpu_ticks)
        R[${key}_cpu_us_per_req]=$(awk -v t=$(( c1 - c0 )) -v hz="$TICK" -v n="${R[${key}_requests]}" \
            'BEGIN { printf "%.1f", n ? t / hz * 1e6 / n : 0 }')
        R[${key}_cpu_cores]=$(awk -v t=$(( c1 - c0 )) -v hz="$TICK" -v d="$BENCH_SECONDS" 'BEGIN { printf "%.2f", t / hz / d }')
    fi
    local errs=$(( R[${key}_err_connect] + R[${key}_err_read] + R[${key}_err_write] + R[${key}_err_timeout] ))
    (( errs == 0 )) || problem "$key: $errs socket errors of ${R[${key}_requests]} requests"
    (( R[${key}_non2xx] == 0 )) || problem "$key: ${R[${key}_non2xx]} non-2xx responses"
    (( R[${key}_requests] > 0 )) || problem "$key: no completed requests"
    # A CIM error is HTTP 200 too, but far shorter: every response must carry the full body.
    local body_bytes=$EI_BYTES; [[ $op == ei ]] || body_bytes=$GI_BYTES
    awk -v b="${R[${key}_bytes_per_req]}" -v n="$body_bytes" 'BEGIN { exit !(b >= n) }' \
        || problem "$key: ${R[${key}_bytes_per_req]} bytes per response, less than the $body_bytes-byte body"
    log "$key: ${R[${key}_rps]} req/s, p50 ${R[${key}_p50_ms]} ms, p99 ${R[${key}_p99_ms]} ms${R[${key}_cpu_us_per_req]:+, daemon CPU ${R[${key}_cpu_us_per_req]} us/response}"
}

CASES=(gi_http gi_https ei_http ei_https)
for op in gi ei; do
    for scheme in http https; do
        port=$HTTP_PORT; [[ $scheme == http ]] || port=$HTTPS_PORT
        measure vsnapd "${op}_$scheme" "$scheme://127.0.0.1:$port/cimom" "$op" || true
        daemon_alive || { tail -n 25 "$WORK/vsnapd.log" >&2; problem "vsnapd-testd died during ${op}_$scheme"; break 2; }
    done
    # The baseline for this operation: nginx answering with the very bytes vsnapd sent.
    if urls=$(NGINX_ALSO_HTTP=1 "$HTTP_BENCH/nginx_static.sh" start "$WORK/nginx-$op" "$WORK/$op.http.rsp" \
                  'application/xml; charset=utf-8' "$WORK/state/tls/key.pem"); then
        NGINX_WORK="$WORK/nginx-$op"
        ngx_https=$(sed -n 1p <<<"$urls") ngx_http=$(sed -n 2p <<<"$urls")
        measure nginx "${op}_http" "$ngx_http/cimom" "$op" || true
        measure nginx "${op}_https" "$ngx_https/cimom" "$op" || true
        "$HTTP_BENCH/nginx_static.sh" stop "$NGINX_WORK"; NGINX_WORK=""
    else
        problem "nginx baseline for $op did not start"
    fi
done

# ------------------------------------------------------- graceful shutdown ---
SHUTDOWN=crashed
if daemon_alive; then
    kill -TERM "$DAEMON_PID"
    vrc=0
    for (( i = 0; i < STOP_TIMEOUT * 10; i++ )); do daemon_alive || break; sleep 0.1; done
    if daemon_alive; then
        problem "vsnapd-testd did not exit within ${STOP_TIMEOUT}s of SIGTERM"; stop_pid "$DAEMON_PID" KILL 5
        SHUTDOWN=timeout
    else
        wait "$DAEMON_PID" || vrc=$?
        SHUTDOWN=exit_$vrc
        (( vrc == 0 )) || problem "vsnapd-testd exited $vrc after SIGTERM"
    fi
fi
DAEMON_PID=""

# ---------------------------------------------------------------- report ---
get() { printf '%s' "${R[$1]:-NA}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b + 0 == 0) print "NA"; else printf "%.3f", a / b }'; }
per_core() { awk -v u="$1" 'BEGIN { if (u == "NA" || u + 0 == 0) print "NA"; else printf "%.0f", 1e6 / u }'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { if (v == "NA") print "NA"; else print (v + 0 >= t + 0) ? "PASS" : "MISS" }'; }
STATUS=OK; (( ${#PROBLEMS[@]} == 0 )) || STATUS=FAIL
mkdir -p "$RESULTS_DIR"
{
    echo "# vsnapd CIM-XML benchmark: vsnapd-testd ($ELEMENTS elements) vs nginx static, keep-alive"
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores shared by client and servers, wrk $BENCH_THREADS threads x $BENCH_CONNECTIONS connections, ${BENCH_SECONDS}s (+${BENCH_WARMUP_SECONDS}s warm-up) per case"
    echo "# EnumerateInstances: $EI_INSTANCES instances, $EI_BYTES bytes ($EI_FRAMING); GetInstance: $GI_BYTES bytes; nginx $("$NGINX" -v 2>&1 | sed 's|.*/||'), 2 workers, same bytes"
    printf '# %-9s %12s %10s %12s %10s %8s %14s\n' case vsnapd_rps p99_ms nginx_rps p99_ms ratio vsnapd_cpu_us
    for c in "${CASES[@]}"; do
        printf '# %-9s %12s %10s %12s %10s %8s %14s\n' "$c" "$(get vsnapd_${c}_rps)" "$(get vsnapd_${c}_p99_ms)" \
            "$(get nginx_${c}_rps)" "$(get nginx_${c}_p99_ms)" "$(ratio "$(get vsnapd_${c}_rps)" "$(get nginx_${c}_rps)")" \
            "$(get vsnapd_${c}_cpu_us_per_req)"
    done
    echo "#   vsnapd_cpu_us: daemon CPU (user+system) per response over the measured run; load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
    for c in ei_http ei_https; do
        echo "#   $c: one dedicated core would serve $(per_core "$(get vsnapd_${c}_cpu_us_per_req)") responses/s at that CPU cost"
    done
    for c in gi_http gi_https; do
        echo "#   GetInstance $c ratio >= $TARGET_GI_RATIO: $(verdict "$(ratio "$(get vsnapd_${c}_rps)" "$(get nginx_${c}_rps)")" "$TARGET_GI_RATIO")"
    done
    for c in ei_http ei_https; do
        echo "#   EnumerateInstances $c >= $TARGET_EI_RPS responses/s: $(verdict "$(get vsnapd_${c}_rps)" "$TARGET_EI_RPS")"
    done
    echo "#   status: $STATUS"
    for p in "${PROBLEMS[@]}"; do echo "#   problem: $p"; done
    echo "timestamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "git_commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)"
    echo "cores=$(nproc)"
    echo "elements=$ELEMENTS"
    echo "ei_instances=$EI_INSTANCES"
    echo "ei_response_bytes=$EI_BYTES"
    echo "ei_framing=$EI_FRAMING"
    echo "gi_response_bytes=$GI_BYTES"
    for c in "${CASES[@]}"; do
        for s in vsnapd nginx; do
            for k in rps p50_ms p90_ms p99_ms max_ms requests bytes_per_req non2xx err_connect err_read err_write err_timeout; do
                echo "${s}_${c}_${k}=$(get ${s}_${c}_${k})"
            done
        done
        echo "vsnapd_${c}_cpu_us_per_req=$(get vsnapd_${c}_cpu_us_per_req)"
        echo "vsnapd_${c}_cpu_cores=$(get vsnapd_${c}_cpu_cores)"
        echo "vsnapd_${c}_per_core_rps=$(per_core "$(get vsnapd_${c}_cpu_us_per_req)")"
        echo "ratio_${c}=$(ratio "$(get vsnapd_${c}_rps)" "$(get nginx_${c}_rps)")"
    done
    for c in gi_http gi_https; do
        echo "gi_ratio_result_${c#gi_}=$(verdict "$(ratio "$(get vsnapd_${c}_rps)" "$(get nginx_${c}_rps)")" "$TARGET_GI_RATIO")"
    done
    for c in ei_http ei_https; do
        echo "ei_rps_result_${c#ei_}=$(verdict "$(get vsnapd_${c}_rps)" "$TARGET_EI_RPS")"
    done
    echo "vsnapd_shutdown=$SHUTDOWN"
    echo "problems=${#PROBLEMS[@]}"
    echo "status=$STATUS"
} >"$OUT"
cat "$OUT"
if [[ $STATUS != OK ]]; then
    cp "$WORK/vsnapd.log" "$RESULTS_DIR/cimxml.vsnapd.log" 2>/dev/null || true
    exit 1
fi
