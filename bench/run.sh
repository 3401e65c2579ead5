#!/usr/bin/env bash
# Benchmark: vsnapd WS-Management Identify over HTTPS keep-alive, against an
# nginx static-file baseline of the same response size, plus vsnapd's memory
# (VmRSS) idle and with 1,000 open idle TLS keep-alive sessions.
#
#   bash bench/run.sh                 # BENCH_SECONDS=10 by default
#
# Environment (all optional):
#   BENCH_SECONDS         measured wrk duration per server (default 10)
#   BENCH_WARMUP_SECONDS  wrk warm-up per server, not measured (default 3)
#   BENCH_CONNECTIONS     wrk connections (default 50)
#   BENCH_THREADS         wrk threads (default 2)
#   BENCH_IDLE_CONNS      idle TLS sessions for the RSS test (default 1000)
#   BENCH_KEEP_WORKDIR=1  keep the temp dir (logs, state) even on success
#   VSNAPD                daemon binary (default build/bin/vsnapd; built by
#                         scripts/build.sh only when the default is missing)
#
# Output: bench/results/identify-https.txt ('#' lines for people, key=value
# lines for machines), echoed to stdout. Raw wrk outputs go beside it.
# Exit status: 0 when the run completed (targets may be PASS or MISS),
# non-zero when something broke (daemon crash, request errors, setup failure).
# The other benchmarks (bench/README.md): bench/storage, bench/cimom, bench/mof, bench/wsman,
# bench/cimxml, and bench/snapshots (snapshots of real QEMU VMs through WS-Man).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
cd "$ROOT"

BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_WARMUP_SECONDS=${BENCH_WARMUP_SECONDS:-3}
BENCH_CONNECTIONS=${BENCH_CONNECTIONS:-50}
BENCH_THREADS=${BENCH_THREADS:-2}
BENCH_IDLE_CONNS=${BENCH_IDLE_CONNS:-1000}
DEFAULT_VSNAPD="$ROOT/build/bin/vsnapd"
VSNAPD=${VSNAPD:-$DEFAULT_VSNAPD}
PY=/usr/bin/python3
LUA="$HERE/identify.lua"
RESULTS_DIR="$HERE/results"
OUT="$RESULTS_DIR/identify-https.txt"

# Targets.
TARGET_RATIO=0.5
TARGET_RSS_IDLE_MIB=16
TARGET_RSS_CONNS_MIB=48

READY_TIMEOUT=30          # seconds for vsnapd to log 'server ready'
STOP_TIMEOUT=15           # seconds for a graceful stop

IDENTIFY_BODY='<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>'
CONTENT_TYPE='application/soap+xml;charset=UTF-8'

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for v in BENCH_SECONDS BENCH_WARMUP_SECONDS BENCH_CONNECTIONS BENCH_THREADS BENCH_IDLE_CONNS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done
(( BENCH_SECONDS >= 1 && BENCH_SECONDS <= 600 )) || die "BENCH_SECONDS must be 1..600"
(( BENCH_WARMUP_SECONDS <= 60 )) || die "BENCH_WARMUP_SECONDS must be 0..60"
(( BENCH_CONNECTIONS >= 1 && BENCH_THREADS >= 1 && BENCH_CONNECTIONS >= BENCH_THREADS )) \
    || die "need BENCH_CONNECTIONS >= BENCH_THREADS >= 1"
(( BENCH_IDLE_CONNS >= 1 && BENCH_IDLE_CONNS <= 10000 )) || die "BENCH_IDLE_CONNS must be 1..10000"

WORK=$(mktemp -d /tmp/vsnapd-bench.XXXXXX)
chmod 700 "$WORK"

VSNAPD_PID="" NGINX_PID="" TAIL_PID="" CHILD_PID=""
NGINX_WORKERS=""

# ---------------------------------------------------------------- cleanup ---
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
        log "pid $pid did not stop after SIG$sig within ${limit}s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

# run_child CMD...: run a bounded foreground step as a background child and
# wait for it, so that INT/TERM reach the trap at once and cleanup stops it.
run_child() {
    local rc=0
    "$@" &
    CHILD_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    return "$rc"
}

cleanup() {
    local rc=$?
    set +e
    trap - EXIT INT TERM
    stop_pid "$CHILD_PID" TERM 5
    stop_pid "$TAIL_PID" TERM 2
    if [[ -n $NGINX_PID ]]; then
        [[ -n $NGINX_WORKERS ]] || NGINX_WORKERS=$(pgrep -P "$NGINX_PID" 2>/dev/null | tr '\n' ' ')
        stop_pid "$NGINX_PID" TERM 10
        local w
        for w in $NGINX_WORKERS; do kill -0 "$w" 2>/dev/null && kill -KILL "$w" 2>/dev/null; done
    fi
    if [[ -n $VSNAPD_PID ]] && kill -0 "$VSNAPD_PID" 2>/dev/null; then
        stop_pid "$VSNAPD_PID" TERM "$STOP_TIMEOUT"
    fi
    if (( rc != 0 )) || [[ ${BENCH_KEEP_WORKDIR:-0} == 1 ]]; then
        log "work dir kept for inspection: $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ tools ---
NGINX=$(command -v nginx || true)
[[ -n $NGINX || ! -x /usr/sbin/nginx ]] || NGINX=/usr/sbin/nginx
pkgs=()
command -v wrk >/dev/null 2>&1 || pkgs+=(wrk)
[[ -n $NGINX ]] || pkgs+=(nginx)
command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
command -v curl >/dev/null 2>&1 || pkgs+=(curl)
[[ -x $PY ]] || pkgs+=(python3)
if (( ${#pkgs[@]} )); then
    log "installing missing packages: ${pkgs[*]}"
    SUDO=()
    if (( EUID != 0 )); then
        command -v sudo >/dev/null 2>&1 || die "need root or sudo to install: ${pkgs[*]}"
        SUDO=(sudo -n)
    fi
    export DEBIAN_FRONTEND=noninteractive
    if ! "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >"$WORK/apt.log" 2>&1; then
        { "${SUDO[@]}" apt-get update -qq \
          && "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${pkgs[@]}"; } >>"$WORK/apt.log" 2>&1 \
            || { tail -n 20 "$WORK/apt.log" >&2; die "apt-get install failed"; }
    fi
    NGINX=$(command -v nginx || true)
    [[ -n $NGINX || ! -x /usr/sbin/nginx ]] || NGINX=/usr/sbin/nginx
fi
[[ -n $NGINX ]] || die "nginx not found after install"

if [[ ! -x $VSNAPD ]]; then
    [[ $VSNAPD == "$DEFAULT_VSNAPD" ]] || die "VSNAPD=$VSNAPD is not executable"
    log "build/bin/vsnapd missing: running scripts/build.sh"
    "$ROOT/scripts/build.sh"
    [[ -x $VSNAPD ]] || die "scripts/build.sh did not produce $VSNAPD"
fi

# Enough descriptors for 1,000 client sockets and the daemon's side of them
# (the daemon inherits this limit).
need_fds=$(( BENCH_IDLE_CONNS * 2 + 256 ))
if [[ $(ulimit -n) != unlimited ]] && (( $(ulimit -n) < need_fds )); then
    ulimit -n "$need_fds" 2>/dev/null || ulimit -n "$(ulimit -Hn)" \
        || die "cannot raise the open-file limit to $need_fds"
fi

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
ms() { awk -v u="$1" 'BEGIN { printf "%.3f", u / 1000 }'; }
vsnapd_alive() { [[ -n $VSNAPD_PID ]] && kill -0 "$VSNAPD_PID" 2>/dev/null; }
# exit_desc PID: reap a dead child (in this shell, not a subshell) and set
# EXIT_DESC to how it ended.
EXIT_DESC=""
exit_desc() {
    local rc=0
    wait "$1" 2>/dev/null || rc=$?
    if (( rc > 128 )); then
        EXIT_DESC="killed by signal $(( rc - 128 )) (SIG$(kill -l $(( rc - 128 )) 2>/dev/null || echo '?'))"
    else
        EXIT_DESC="exit status $rc"
    fi
}
vsnapd_log_tail() { log "last lines of the vsnapd log:"; tail -n 25 "$WORK/vsnapd.log" >&2 || true; }

PROBLEMS=()
problem() { log "PROBLEM: $*"; PROBLEMS+=("$*"); }

# ----------------------------------------------------------- start vsnapd ---
VSNAPD_VERSION=$("$VSNAPD" --version 2>/dev/null | head -n 1 || true)
log "starting $VSNAPD (${VSNAPD_VERSION:-version unknown})"
mkdir -m 700 "$WORK/state"
: >"$WORK/vsnapd.log"
"$VSNAPD" --state-dir "$WORK/state" \
    --wsman-http "" --wsman-https 127.0.0.1:0 --cimxml-http "" --cimxml-https "" \
    --log-level info </dev/null >"$WORK/vsnapd.stdout" 2>"$WORK/vsnapd.log" &
VSNAPD_PID=$!

# Wait on the 'server ready' log line (tail -F is inotify-driven; it ends when
# vsnapd exits, so a crash before ready is an EOF, not a timeout).
PORT=""
ready=""
exec {tail_fd}< <(exec tail -n +1 -F --pid="$VSNAPD_PID" "$WORK/vsnapd.log" 2>/dev/null)
TAIL_PID=$!
deadline=$(( SECONDS + READY_TIMEOUT ))
while (( SECONDS < deadline )); do
    if IFS= read -r -t "$(( deadline - SECONDS ))" -u "$tail_fd" line; then
        if [[ $line =~ wsman-https\ listening\ on\ .*:([0-9]+)[[:space:]]*$ ]]; then
            PORT=${BASH_REMATCH[1]}
        fi
        if [[ $line == *" server ready"* ]]; then ready=1; break; fi
    else
        break   # EOF (daemon exited) or timeout
    fi
done
exec {tail_fd}<&-
stop_pid "$TAIL_PID" TERM 2
TAIL_PID=""
if [[ -z $ready ]]; then
    vsnapd_log_tail
    vsnapd_alive && die "vsnapd did not log 'server ready' within ${READY_TIMEOUT}s" \
                 || { exit_desc "$VSNAPD_PID"; die "vsnapd exited before 'server ready': $EXIT_DESC"; }
fi
[[ -n $PORT ]] || { vsnapd_log_tail; die "no 'wsman-https listening on 127.0.0.1:PORT' line before 'server ready'"; }
RSS_IDLE=$(rss_kib "$VSNAPD_PID")
[[ -n $RSS_IDLE ]] || die "cannot read VmRSS of vsnapd (pid $VSNAPD_PID)"
log "vsnapd ready on https://127.0.0.1:$PORT/wsman, idle VmRSS $(mib "$RSS_IDLE") MiB"
VSNAPD_URL="https://127.0.0.1:$PORT/wsman"

# --------------------------------------------- one real Identify response ---
printf '%s' "$IDENTIFY_BODY" >"$WORK/identify-request.xml"
code=$(curl -sk --noproxy '*' --max-time 10 -o "$WORK/identify-response.xml" \
        -D "$WORK/identify-response.headers" -w '%{http_code}' \
        -H "Content-Type: $CONTENT_TYPE" --data-binary @"$WORK/identify-request.xml" \
        "$VSNAPD_URL") || die "curl to $VSNAPD_URL failed (exit $?)"
[[ $code == 200 ]] || { cat "$WORK/identify-response.xml" >&2; die "Identify answered HTTP $code, expected 200"; }
grep -q 'IdentifyResponse' "$WORK/identify-response.xml" || die "Identify 200 response has no IdentifyResponse"
BODY_BYTES=$(stat -c %s "$WORK/identify-response.xml")
log "Identify response body: $BODY_BYTES bytes"

# ------------------------------------ RSS with N idle keep-alive sessions ---
log "opening $BENCH_IDLE_CONNS idle TLS keep-alive sessions"
idle_rc=0
run_child timeout -k 5 240 "$PY" "$HERE/idle_conns.py" --host 127.0.0.1 --port "$PORT" \
    --count "$BENCH_IDLE_CONNS" --pid "$VSNAPD_PID" --settle 1 --deadline 180 \
    >"$WORK/idle_conns.txt" 2>&1 || idle_rc=$?
cat "$WORK/idle_conns.txt" >&2
kv() { sed -n "s/^$1=//p" "$2" | tail -n 1; }
RSS_CONNS=$(kv idle_conns_rss_kib "$WORK/idle_conns.txt")
HWM_CONNS=$(kv idle_conns_hwm_kib "$WORK/idle_conns.txt")
IDLE_OPENED=$(kv idle_conns_opened "$WORK/idle_conns.txt")
IDLE_ALIVE=$(kv idle_conns_alive_after_hold "$WORK/idle_conns.txt")
IDLE_ERR=$(kv idle_conns_first_error "$WORK/idle_conns.txt")
IDLE_OPEN_SECS=$(kv idle_conns_open_seconds "$WORK/idle_conns.txt")
(( idle_rc == 0 )) || problem "idle-connection test: exit $idle_rc, opened ${IDLE_OPENED:-?}/$BENCH_IDLE_CONNS, alive after hold ${IDLE_ALIVE:-?}${IDLE_ERR:+, first error: $IDLE_ERR}"
[[ $RSS_CONNS =~ ^[0-9]+$ ]] || RSS_CONNS=NA
vsnapd_alive || { vsnapd_log_tail; exit_desc "$VSNAPD_PID"; die "vsnapd died during the idle-connection test: $EXIT_DESC"; }

# ---------------------------------------------------------- nginx baseline ---
NGX="$WORK/nginx"
mkdir -p "$NGX/tmp" "$NGX/html"
cp "$WORK/identify-response.xml" "$NGX/html/wsman"
# Throwaway self-signed cert; same key type as vsnapd's own when recognisable.
keyalg=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1)
if [[ -r $WORK/state/tls/key.pem ]]; then
    keytext=$(openssl pkey -in "$WORK/state/tls/key.pem" -noout -text 2>/dev/null | head -n 3 || true)
    if [[ $keytext =~ ([0-9]+)\ bit ]] && [[ $keytext == *"modulus"* || $keytext == *"RSA"* || $keytext == *"primes"* ]]; then
        keyalg=(-newkey "rsa:${BASH_REMATCH[1]}")
    elif [[ $keytext == *"ED25519"* ]]; then
        keyalg=(-newkey ed25519)
    elif [[ $keytext == *"384 bit"* ]]; then
        keyalg=(-newkey ec -pkeyopt ec_paramgen_curve:secp384r1)
    fi
fi
openssl req -x509 "${keyalg[@]}" -nodes -days 2 -subj "/CN=127.0.0.1" \
    -keyout "$NGX/key.pem" -out "$NGX/cert.pem" >"$NGX/openssl.log" 2>&1 \
    || { cat "$NGX/openssl.log" >&2; die "openssl could not create the nginx certificate"; }
NGX_PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
USER_LINE=""
(( EUID != 0 )) || USER_LINE="user $(id -un) $(id -gn);"
sed -e "s|@PREFIX@|$NGX|g" -e "s|@PORT@|$NGX_PORT|g" -e "s|@CERT@|$NGX/cert.pem|g" \
    -e "s|@KEY@|$NGX/key.pem|g" -e "s|@DOCROOT@|$NGX/html|g" -e "s|@USER_LINE@|$USER_LINE|g" \
    "$HERE/nginx.conf.in" >"$NGX/nginx.conf"
"$NGINX" -t -q -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/error.log" >"$NGX/test.log" 2>&1 \
    || { cat "$NGX/test.log" >&2; die "nginx rejected its configuration"; }
"$NGINX" -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/error.log" </dev/null >"$NGX/stdout.log" 2>&1 &
NGINX_PID=$!
NGINX_URL="https://127.0.0.1:$NGX_PORT/wsman"
ngx_ok=""
for (( i = 0; i < 100; i++ )); do   # bounded: at most ~10 s
    kill -0 "$NGINX_PID" 2>/dev/null || break
    ngx_code=$(curl -sk --noproxy '*' --max-time 2 -o "$NGX/check.xml" -w '%{http_code}' \
        -H "Content-Type: $CONTENT_TYPE" --data-binary @"$WORK/identify-request.xml" "$NGINX_URL" || true)
    if [[ $ngx_code == 200 ]]; then ngx_ok=1; break; fi
    sleep 0.1
done
[[ -n $ngx_ok ]] || { cat "$NGX/error.log" "$NGX/stdout.log" >&2 2>/dev/null || true; die "nginx did not answer POST $NGINX_URL with 200"; }
cmp -s "$NGX/check.xml" "$WORK/identify-response.xml" || die "nginx body differs from the Identify response"
NGINX_WORKERS=$(pgrep -P "$NGINX_PID" | tr '\n' ' ' || true)
log "nginx baseline on $NGINX_URL (master $NGINX_PID, workers ${NGINX_WORKERS:-?})"

# -------------------------------------------------------------------- wrk ---
declare -A R
# run_wrk NAME URL: warm-up, then the measured run; fills R[NAME_key].
run_wrk() {
    local name=$1 url=$2 raw="$RESULTS_DIR/identify-https.wrk-$1.txt" line kv rc=0
    if (( BENCH_WARMUP_SECONDS > 0 )); then
        log "$name: warm-up ${BENCH_WARMUP_SECONDS}s"
        run_child timeout -k 5 $(( BENCH_WARMUP_SECONDS + 30 )) wrk -t "$BENCH_THREADS" -c "$BENCH_CONNECTIONS" \
            -d "${BENCH_WARMUP_SECONDS}s" --timeout 5s -s "$LUA" "$url" >"$WORK/wrk-$name-warmup.txt" 2>&1 || rc=$?
        (( rc == 0 )) || { cat "$WORK/wrk-$name-warmup.txt" >&2; problem "$name: wrk warm-up exited $rc"; return 1; }
        R[${name}_warmup_non2xx]=$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' "$WORK/wrk-$name-warmup.txt")
        R[${name}_warmup_socket_errors]=$(sed -n 's/^ *Socket errors: *//p' "$WORK/wrk-$name-warmup.txt")
    fi
    log "$name: measuring ${BENCH_SECONDS}s, $BENCH_CONNECTIONS connections, $BENCH_THREADS threads"
    run_child timeout -k 5 $(( BENCH_SECONDS + 30 )) wrk -t "$BENCH_THREADS" -c "$BENCH_CONNECTIONS" \
        -d "${BENCH_SECONDS}s" --timeout 5s --latency -s "$LUA" "$url" >"$raw" 2>&1 || rc=$?
    (( rc == 0 )) || { cat "$raw" >&2; problem "$name: wrk exited $rc"; return 1; }
    line=$(grep '^WRK_RESULT ' "$raw" | tail -n 1 || true)
    [[ -n $line ]] || { cat "$raw" >&2; problem "$name: no WRK_RESULT line from wrk"; return 1; }
    for kv in $line; do
        [[ $kv == *=* ]] && R[${name}_${kv%%=*}]=${kv#*=}
    done
    R[${name}_non2xx]=$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' "$raw")
    : "${R[${name}_non2xx]:=0}"
    local errs=$(( R[${name}_err_connect] + R[${name}_err_read] + R[${name}_err_write] + R[${name}_err_timeout] ))
    R[${name}_socket_errors]=$errs
    (( errs == 0 )) || problem "$name: socket errors under load: connect=${R[${name}_err_connect]} read=${R[${name}_err_read]} write=${R[${name}_err_write]} timeout=${R[${name}_err_timeout]} (of ${R[${name}_requests]} requests)"
    (( R[${name}_non2xx] == 0 )) || problem "$name: ${R[${name}_non2xx]} non-2xx/3xx responses of ${R[${name}_requests]}"
    (( R[${name}_requests] > 0 )) || problem "$name: no completed requests"
    # Every response should carry the same body: bytes/request ~ header + body size.
    R[${name}_bytes_per_req]=$(awk -v b="${R[${name}_bytes]}" -v n="${R[${name}_requests]}" 'BEGIN { printf "%.1f", n ? b / n : 0 }')
    log "$name: $(printf '%s' "${R[${name}_rps]}") req/s, p50 $(ms "${R[${name}_p50_us]}") ms, p99 $(ms "${R[${name}_p99_us]}") ms"
}

vs_ok=1 CRASH_DESC=""
run_wrk vsnapd "$VSNAPD_URL" || vs_ok=0
if ! vsnapd_alive; then
    vsnapd_log_tail
    exit_desc "$VSNAPD_PID"; CRASH_DESC=$EXIT_DESC
    problem "vsnapd crashed under load: $CRASH_DESC"
    vs_ok=0
fi
RSS_AFTER_LOAD=$(rss_kib "$VSNAPD_PID"); RSS_AFTER_LOAD=${RSS_AFTER_LOAD:-NA}
HWM_AFTER_LOAD=$(hwm_kib "$VSNAPD_PID"); HWM_AFTER_LOAD=${HWM_AFTER_LOAD:-NA}
ngx_ok=1
run_wrk nginx "$NGINX_URL" || ngx_ok=0

# ------------------------------------------------------- graceful shutdown ---
stop_pid "$NGINX_PID" TERM 10
for w in $NGINX_WORKERS; do kill -0 "$w" 2>/dev/null && kill -KILL "$w" 2>/dev/null || true; done
NGINX_PID=""
VSNAPD_LOG_WARN=$(grep -cE '^[^ ]+ (warning|error) ' "$WORK/vsnapd.log" || true)
VSNAPD_LOG_LINES=$(wc -l <"$WORK/vsnapd.log")
SHUTDOWN="crashed (${CRASH_DESC:-?})"
if vsnapd_alive; then
    kill -TERM "$VSNAPD_PID"
    for (( i = 0; i < STOP_TIMEOUT * 10; i++ )); do vsnapd_alive || break; sleep 0.1; done
    if vsnapd_alive; then
        SHUTDOWN="timeout_after_${STOP_TIMEOUT}s"
        problem "vsnapd did not exit within ${STOP_TIMEOUT}s of SIGTERM"
        stop_pid "$VSNAPD_PID" KILL 5
    else
        vrc=0; wait "$VSNAPD_PID" || vrc=$?
        SHUTDOWN="exit_$vrc"
        (( vrc == 0 )) || { vsnapd_log_tail; problem "vsnapd exited $vrc after SIGTERM (expected 0)"; }
    fi
fi
VSNAPD_PID=""

# ---------------------------------------------------------------- report ---
verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN {
    if (v == "NA" || v == "") { print "NA"; exit }
    ok = (op == "ge") ? (v + 0 >= t + 0) : (v + 0 <= t + 0); print ok ? "PASS" : "MISS" }'; }
get() { local k=$1; printf '%s' "${R[$k]:-NA}"; }

RATIO=NA
if (( vs_ok && ngx_ok )); then
    RATIO=$(awk -v a="$(get vsnapd_rps)" -v b="$(get nginx_rps)" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "NA" }')
fi
RSS_IDLE_MIB=$(mib "$RSS_IDLE")
RSS_CONNS_MIB=NA; [[ $RSS_CONNS == NA ]] || RSS_CONNS_MIB=$(mib "$RSS_CONNS")
RATIO_RESULT=$(verdict "$RATIO" "$TARGET_RATIO" ge)
RSS_IDLE_RESULT=$(verdict "$RSS_IDLE_MIB" "$TARGET_RSS_IDLE_MIB" le)
RSS_CONNS_RESULT=$(verdict "$RSS_CONNS_MIB" "$TARGET_RSS_CONNS_MIB" le)
[[ $RSS_CONNS_RESULT != PASS || $IDLE_OPENED == "$BENCH_IDLE_CONNS" ]] || RSS_CONNS_RESULT=NA
STATUS=OK; (( ${#PROBLEMS[@]} == 0 )) || STATUS=FAIL
fmt_ms() { [[ $1 == NA ]] && printf NA || ms "$1"; }
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)

mkdir -p "$RESULTS_DIR"
{
    echo "# vsnapd benchmark: WS-Management Identify over HTTPS keep-alive"
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, wrk ${BENCH_THREADS} threads x ${BENCH_CONNECTIONS} connections, ${BENCH_SECONDS}s (+${BENCH_WARMUP_SECONDS}s warm-up), client and server share the machine"
    echo "# baseline: nginx $("$NGINX" -v 2>&1 | sed 's|.*/||'), 2 workers, static ${BODY_BYTES}-byte body, TLS, keep-alive"
    printf '#   %-8s %12s req/s   p50 %8s ms   p99 %8s ms\n' vsnapd "$(get vsnapd_rps)" "$(fmt_ms "$(get vsnapd_p50_us)")" "$(fmt_ms "$(get vsnapd_p99_us)")"
    printf '#   %-8s %12s req/s   p50 %8s ms   p99 %8s ms\n' nginx "$(get nginx_rps)" "$(fmt_ms "$(get nginx_p50_us)")" "$(fmt_ms "$(get nginx_p99_us)")"
    echo "#   ratio vsnapd/nginx req/s: $RATIO (target >= $TARGET_RATIO) $RATIO_RESULT"
    echo "#   vsnapd VmRSS idle after start: $RSS_IDLE_MIB MiB (target <= $TARGET_RSS_IDLE_MIB MiB) $RSS_IDLE_RESULT"
    echo "#   vsnapd VmRSS with ${IDLE_OPENED:-0}/$BENCH_IDLE_CONNS idle TLS sessions: $RSS_CONNS_MIB MiB (target <= $TARGET_RSS_CONNS_MIB MiB) $RSS_CONNS_RESULT"
    echo "#   status: $STATUS"
    for p in "${PROBLEMS[@]}"; do echo "#   problem: $p"; done
    echo "timestamp=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "git_commit=$COMMIT"
    echo "vsnapd_version=${VSNAPD_VERSION:-unknown}"
    echo "cores=$(nproc)"
    echo "bench_seconds=$BENCH_SECONDS"
    echo "warmup_seconds=$BENCH_WARMUP_SECONDS"
    echo "wrk_threads=$BENCH_THREADS"
    echo "wrk_connections=$BENCH_CONNECTIONS"
    echo "identify_response_bytes=$BODY_BYTES"
    for s in vsnapd nginx; do
        echo "${s}_rps=$(get ${s}_rps)"
        echo "${s}_p50_ms=$(fmt_ms "$(get ${s}_p50_us)")"
        echo "${s}_p90_ms=$(fmt_ms "$(get ${s}_p90_us)")"
        echo "${s}_p99_ms=$(fmt_ms "$(get ${s}_p99_us)")"
        echo "${s}_max_ms=$(fmt_ms "$(get ${s}_max_us)")"
        echo "${s}_requests=$(get ${s}_requests)"
        echo "${s}_bytes_per_request=$(get ${s}_bytes_per_req)"
        echo "${s}_non2xx=$(get ${s}_non2xx)"
        echo "${s}_socket_errors=$(get ${s}_socket_errors)"
        echo "${s}_err_connect=$(get ${s}_err_connect)"
        echo "${s}_err_read=$(get ${s}_err_read)"
        echo "${s}_err_write=$(get ${s}_err_write)"
        echo "${s}_err_timeout=$(get ${s}_err_timeout)"
    done
    echo "ratio_rps=$RATIO"
    echo "ratio_target=$TARGET_RATIO"
    echo "ratio_result=$RATIO_RESULT"
    echo "rss_idle_kib=$RSS_IDLE"
    echo "rss_idle_mib=$RSS_IDLE_MIB"
    echo "rss_idle_target_mib=$TARGET_RSS_IDLE_MIB"
    echo "rss_idle_result=$RSS_IDLE_RESULT"
    echo "idle_conns_requested=$BENCH_IDLE_CONNS"
    echo "idle_conns_opened=${IDLE_OPENED:-0}"
    echo "idle_conns_alive_after_hold=${IDLE_ALIVE:-0}"
    echo "idle_conns_open_seconds=${IDLE_OPEN_SECS:-NA}"
    echo "rss_conns_kib=$RSS_CONNS"
    echo "rss_conns_mib=$RSS_CONNS_MIB"
    echo "rss_conns_hwm_kib=${HWM_CONNS:-NA}"
    echo "rss_conns_target_mib=$TARGET_RSS_CONNS_MIB"
    echo "rss_conns_result=$RSS_CONNS_RESULT"
    echo "rss_after_load_kib=$RSS_AFTER_LOAD"
    echo "rss_hwm_after_load_kib=$HWM_AFTER_LOAD"
    echo "vsnapd_log_lines=$VSNAPD_LOG_LINES"
    echo "vsnapd_log_warnings_errors=$VSNAPD_LOG_WARN"
    echo "vsnapd_shutdown=$SHUTDOWN"
    echo "problems=${#PROBLEMS[@]}"
    echo "status=$STATUS"
} >"$OUT"
cat "$OUT"
log "results written to ${OUT#"$ROOT"/} (raw wrk output: bench/results/identify-https.wrk-*.txt)"
if [[ $STATUS != OK ]]; then
    cp "$WORK/vsnapd.log" "$RESULTS_DIR/identify-https.vsnapd.log" 2>/dev/null || true
    log "something broke (see problems above); vsnapd log copied to bench/results/identify-https.vsnapd.log"
    exit 1
fi
exit 0
