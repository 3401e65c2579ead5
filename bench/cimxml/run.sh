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
#   VSNAPD_TESTD          daemon binary (default build/bin/vsnapd-testd, built when missing)
#
# Output: bench/results/cimxml.txt ('#' lines for people, key=value lines for machines), also
# printed; raw wrk outputs beside it (cimxml.wrk-<server>-<case>.txt).
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
DEFAULT_TESTD="$ROOT/build/bin/vsnapd-testd"
VSNAPD_TESTD=${VSNAPD_TESTD:-$DEFAULT_TESTD}
ELEMENTS=1000
NAMESPACE=root/vsnapd/test
LUA="$HERE/post.lua"
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
DAEMON_PID="" NGINX_PID="" TAIL_PID=""

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
    stop_pid "$NGINX_PID" TERM 10
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

if [[ ! -x $VSNAPD_TESTD ]]; then
    [[ $VSNAPD_TESTD == "$DEFAULT_TESTD" ]] || die "VSNAPD_TESTD=$VSNAPD_TESTD is not executable"
    log "building vsnapd-testd (Release, build/)"
    cmake -S "$ROOT" -B "$ROOT/build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$ROOT/build" -j "$(nproc)" --target vsnapd-testd >/dev/null
fi

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

# ---------------------------------------------------------- nginx baseline ---
NGX="$WORK/nginx"
mkdir -p "$NGX/tmp" "$NGX/html"
cp "$WORK/ei.http.rsp" "$NGX/html/ei"
cp "$WORK/gi.http.rsp" "$NGX/html/gi"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
    -keyout "$NGX/key.pem" -out "$NGX/cert.pem" >"$NGX/openssl.log" 2>&1 || die "openssl failed"
free_port() { /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
NGX_HTTP=$(free_port); NGX_HTTPS=$(free_port)
user_line=""; (( EUID != 0 )) || user_line="user $(id -un) $(id -gn);"
cat >"$NGX/nginx.conf" <<EOF
$user_line
worker_processes 2;
daemon off;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $NGX/tmp/client_body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    sendfile on;
    tcp_nodelay on;
    server_tokens off;
    keepalive_timeout 120s;
    keepalive_requests 10000000;
    types { }
    default_type 'application/xml; charset="utf-8"';
    server {
        listen 127.0.0.1:$NGX_HTTP;
        listen 127.0.0.1:$NGX_HTTPS ssl;
        ssl_certificate $NGX/cert.pem;
        ssl_certificate_key $NGX/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        root $NGX/html;
        # Static files refuse POST with 405; answer 200 with the file instead.
        location / { error_page 405 =200 \$uri; add_header CIMOperation MethodResponse always; }
    }
}
EOF
"$NGINX" -t -q -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/error.log" >"$NGX/test.log" 2>&1 \
    || { cat "$NGX/test.log" >&2; die "nginx rejected its configuration"; }
"$NGINX" -p "$NGX/" -c "$NGX/nginx.conf" -e "$NGX/error.log" </dev/null >"$NGX/stdout.log" 2>&1 &
NGINX_PID=$!
for (( i = 0; i < 100; i++ )); do
    curl -s --noproxy '*' --max-time 2 -o "$NGX/check" -X POST --data-binary @"$WORK/gi.req" \
        "http://127.0.0.1:$NGX_HTTP/gi" 2>/dev/null && cmp -s "$NGX/check" "$WORK/gi.http.rsp" && break
    kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited: $(cat "$NGX/error.log" 2>/dev/null)"
    sleep 0.1
done
cmp -s "$NGX/check" "$WORK/gi.http.rsp" || die "nginx does not serve the GetInstance body"

# -------------------------------------------------------------------- wrk ---
declare -A R
PROBLEMS=()
problem() { log "PROBLEM: $*"; PROBLEMS+=("$*"); }

# run_wrk SERVER CASE URL OP: warm-up, measured run; fills R[SERVER_CASE_*].
run_wrk() {
    local server=$1 case=$2 url=$3 op=$4 key="$1_$2" raw="$RESULTS_DIR/cimxml.wrk-$1-$2.txt" rc=0 kv line
    export BENCH_BODY_FILE="$WORK/$op.req" BENCH_HEADERS
    BENCH_HEADERS=$(headers_for "$op")
    if (( BENCH_WARMUP_SECONDS > 0 )); then
        timeout -k 5 $(( BENCH_WARMUP_SECONDS + 30 )) wrk -t "$BENCH_THREADS" -c "$BENCH_CONNECTIONS" \
            -d "${BENCH_WARMUP_SECONDS}s" --timeout 10s -s "$LUA" "$url" >"$WORK/wrk-$key-warmup.txt" 2>&1 || rc=$?
        (( rc == 0 )) || { problem "$key: wrk warm-up exited $rc"; return 1; }
    fi
    timeout -k 5 $(( BENCH_SECONDS + 30 )) wrk -t "$BENCH_THREADS" -c "$BENCH_CONNECTIONS" \
        -d "${BENCH_SECONDS}s" --timeout 10s --latency -s "$LUA" "$url" >"$raw" 2>&1 || rc=$?
    (( rc == 0 )) || { cat "$raw" >&2; problem "$key: wrk exited $rc"; return 1; }
    line=$(grep '^WRK_RESULT ' "$raw" | tail -n 1)
    [[ -n $line ]] || { problem "$key: no WRK_RESULT line"; return 1; }
    for kv in $line; do [[ $kv == *=* ]] && R[${key}_${kv%%=*}]=${kv#*=}; done
    R[${key}_non2xx]=$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' "$raw"); : "${R[${key}_non2xx]:=0}"
    local errs=$(( R[${key}_err_connect] + R[${key}_err_read] + R[${key}_err_write] + R[${key}_err_timeout] ))
    (( errs == 0 )) || problem "$key: $errs socket errors of ${R[${key}_requests]} requests"
    (( R[${key}_non2xx] == 0 )) || problem "$key: ${R[${key}_non2xx]} non-2xx responses"
    (( R[${key}_requests] > 0 )) || problem "$key: no completed requests"
    # A CIM error is HTTP 200 too, but far shorter: every response must carry the full body.
    local body_bytes=$EI_BYTES; [[ $op == ei ]] || body_bytes=$GI_BYTES
    R[${key}_bytes_per_req]=$(awk -v b="${R[${key}_bytes]}" -v n="${R[${key}_requests]}" 'BEGIN { printf "%.0f", n ? b / n : 0 }')
    (( R[${key}_bytes_per_req] >= body_bytes )) \
        || problem "$key: ${R[${key}_bytes_per_req]} bytes per response, less than the $body_bytes-byte body"
    log "$key: ${R[${key}_rps]} req/s, p50 ${R[${key}_p50_us]} us, p99 ${R[${key}_p99_us]} us"
}

daemon_alive() { kill -0 "$DAEMON_PID" 2>/dev/null; }
CASES=(gi_http gi_https ei_http ei_https)
for c in "${CASES[@]}"; do
    op=${c%_*} scheme=${c#*_}
    vport=$HTTP_PORT nport=$NGX_HTTP
    [[ $scheme == http ]] || { vport=$HTTPS_PORT; nport=$NGX_HTTPS; }
    run_wrk vsnapd "$c" "$scheme://127.0.0.1:$vport/cimom" "$op" || true
    daemon_alive || { tail -n 25 "$WORK/vsnapd.log" >&2; problem "vsnapd-testd died during $c"; break; }
    run_wrk nginx "$c" "$scheme://127.0.0.1:$nport/$op" "$op" || true
done

# ------------------------------------------------------- graceful shutdown ---
stop_pid "$NGINX_PID" TERM 10; NGINX_PID=""
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
ms() { [[ $1 == NA ]] && printf NA || awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b + 0 == 0) print "NA"; else printf "%.3f", a / b }'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { if (v == "NA") print "NA"; else print (v + 0 >= t + 0) ? "PASS" : "MISS" }'; }
STATUS=OK; (( ${#PROBLEMS[@]} == 0 )) || STATUS=FAIL
mkdir -p "$RESULTS_DIR"
{
    echo "# vsnapd CIM-XML benchmark: vsnapd-testd ($ELEMENTS elements) vs nginx static, keep-alive"
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores shared by client and servers, wrk $BENCH_THREADS threads x $BENCH_CONNECTIONS connections, ${BENCH_SECONDS}s (+${BENCH_WARMUP_SECONDS}s warm-up) per case"
    echo "# EnumerateInstances: $EI_INSTANCES instances, $EI_BYTES bytes ($EI_FRAMING); GetInstance: $GI_BYTES bytes; nginx $("$NGINX" -v 2>&1 | sed 's|.*/||'), 2 workers, same bytes"
    printf '# %-9s %12s %10s %12s %10s %8s\n' case vsnapd_rps p99_ms nginx_rps p99_ms ratio
    for c in "${CASES[@]}"; do
        printf '# %-9s %12s %10s %12s %10s %8s\n' "$c" "$(get vsnapd_${c}_rps)" "$(ms "$(get vsnapd_${c}_p99_us)")" \
            "$(get nginx_${c}_rps)" "$(ms "$(get nginx_${c}_p99_us)")" "$(ratio "$(get vsnapd_${c}_rps)" "$(get nginx_${c}_rps)")"
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
            for k in rps p50_us p99_us max_us requests bytes_per_req non2xx err_connect err_read err_write err_timeout; do
                echo "${s}_${c}_${k}=$(get ${s}_${c}_${k})"
            done
        done
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
