#!/usr/bin/env bash
# Runs wrk against URL, POSTing one request body with given headers over keep-alive, and prints
# one key=value line: rps, p50/p90/p99/max latency (ms), requests, bytes per request and error
# counts. Shared by the WS-Man and CIM-XML benchmarks (bench/wsman, bench/cimxml).
#
#   bench/http/wrk_post.sh -u URL -b BODY_FILE [-H 'Name: value']... [-c CONNECTIONS]
#                          [-t THREADS] [-d SECONDS] [-w WARMUP_SECONDS] [-o RAW_OUTPUT]
#
# Defaults: 50 connections, 2 threads, 10 s measured after a 2 s warm-up (not measured, same
# connections count). RAW_OUTPUT keeps wrk's own report. Output line, e.g.
#   rps=12345.6 p50_ms=3.210 p90_ms=4.0 p99_ms=7.5 max_ms=20.1 requests=123456 bytes_per_req=812.0
#   err_connect=0 err_read=0 err_write=0 err_timeout=0 non2xx=0
# Exit status: 0 when wrk ran (check non2xx and err_* yourself), non-zero when it could not.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { printf '[wrk_post] ERROR: %s\n' "$*" >&2; exit 2; }

url="" body="" conns=50 threads=2 secs=10 warmup=2 raw="" headers=""
while getopts 'u:b:H:c:t:d:w:o:' opt; do
    case $opt in
        u) url=$OPTARG ;;
        b) body=$OPTARG ;;
        H) headers+="$OPTARG"$'\n' ;;
        c) conns=$OPTARG ;;
        t) threads=$OPTARG ;;
        d) secs=$OPTARG ;;
        w) warmup=$OPTARG ;;
        o) raw=$OPTARG ;;
        *) die "bad option" ;;
    esac
done
[[ -n $url && -r $body ]] || die "usage: $0 -u URL -b BODY_FILE [-H 'Name: value']... [-c N] [-t N] [-d S] [-w S] [-o FILE]"
for v in conns threads secs warmup; do [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be an integer"; done
(( conns >= threads && threads >= 1 && secs >= 1 )) || die "need connections >= threads >= 1 and duration >= 1"
command -v wrk >/dev/null 2>&1 || die "wrk not installed (apt-get install wrk)"

export WRK_BODY_FILE WRK_HEADERS
WRK_BODY_FILE=$(readlink -f "$body")
WRK_HEADERS=$headers
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

if (( warmup > 0 )); then
    timeout -k 5 $(( warmup + 30 )) wrk -t "$threads" -c "$conns" -d "${warmup}s" --timeout 5s \
        -s "$HERE/post.lua" "$url" >"$tmp" 2>&1 || { cat "$tmp" >&2; die "wrk warm-up failed"; }
fi
timeout -k 5 $(( secs + 30 )) wrk -t "$threads" -c "$conns" -d "${secs}s" --timeout 5s --latency \
    -s "$HERE/post.lua" "$url" >"$tmp" 2>&1 || { cat "$tmp" >&2; die "wrk failed"; }
[[ -z $raw ]] || cp "$tmp" "$raw"
line=$(grep '^WRK_RESULT ' "$tmp" | tail -n 1 || true)
[[ -n $line ]] || { cat "$tmp" >&2; die "no WRK_RESULT line from wrk"; }
awk '{
    for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    ms = 1000.0
    printf "rps=%s p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f requests=%s bytes_per_req=%.1f ",
        v["rps"], v["p50_us"] / ms, v["p90_us"] / ms, v["p99_us"] / ms, v["max_us"] / ms,
        v["requests"], v["requests"] ? v["bytes"] / v["requests"] : 0
    printf "err_connect=%s err_read=%s err_write=%s err_timeout=%s non2xx=%s\n",
        v["err_connect"], v["err_read"], v["err_write"], v["err_timeout"], v["err_status"]
}' <<<"$line"
