#!/usr/bin/env bash
# nginx over TLS on a free loopback port, answering every request (POST included) with one
# static body file: the baseline the HTTP benchmarks compare a server's reply with.
#
#   bench/http/nginx_static.sh start WORKDIR BODY_FILE [CONTENT_TYPE] [KEY_LIKE_PEM]
#       Renders bench/http/nginx.conf.in into WORKDIR/nginx, creates a throwaway self-signed
#       certificate (same key type as KEY_LIKE_PEM when given, so both servers pay the same
#       handshake; else EC P-256), starts nginx (2 workers, daemonized), checks that a POST
#       returns 200 with exactly BODY_FILE's bytes, and prints the base URL
#       (https://127.0.0.1:PORT) on stdout. CONTENT_TYPE defaults to
#       application/soap+xml;charset=UTF-8. With NGINX_ALSO_HTTP=1 it also listens on a second
#       free port without TLS and prints that base URL (http://127.0.0.1:PORT2) as a second line.
#   bench/http/nginx_static.sh stop WORKDIR
#       Stops that nginx (TERM, bounded wait, then KILL of master and workers).
#
# Needs nginx (Debian nginx or nginx-light), openssl, curl, /usr/bin/python3.
# Exit status non-zero when nginx cannot be started or answers wrongly.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { printf '[nginx_static] ERROR: %s\n' "$*" >&2; exit 1; }

find_nginx() {
    local n
    n=$(command -v nginx || true)
    [[ -n $n ]] || { [[ -x /usr/sbin/nginx ]] && n=/usr/sbin/nginx; }
    printf '%s' "$n"
}

cmd=${1:-}
case $cmd in
start)
    (( $# >= 3 )) || die "usage: $0 start WORKDIR BODY_FILE [CONTENT_TYPE] [KEY_LIKE_PEM]"
    work=$2 body=$3 ctype=${4:-application/soap+xml;charset=UTF-8} keylike=${5:-}
    [[ -r $body ]] || die "body file $body not readable"
    NGINX=$(find_nginx); [[ -n $NGINX ]] || die "nginx not installed (apt-get install nginx-light)"
    ngx="$work/nginx"
    mkdir -p "$ngx/tmp" "$ngx/html"
    cp "$body" "$ngx/html/body"
    keyalg=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1)
    if [[ -n $keylike && -r $keylike ]]; then
        keytext=$(openssl pkey -in "$keylike" -noout -text 2>/dev/null | head -n 3 || true)
        if [[ $keytext =~ ([0-9]+)\ bit ]] && [[ $keytext == *modulus* || $keytext == *RSA* || $keytext == *primes* ]]; then
            keyalg=(-newkey "rsa:${BASH_REMATCH[1]}")
        elif [[ $keytext == *ED25519* ]]; then
            keyalg=(-newkey ed25519)
        elif [[ $keytext == *"384 bit"* ]]; then
            keyalg=(-newkey ec -pkeyopt ec_paramgen_curve:secp384r1)
        fi
    fi
    openssl req -x509 "${keyalg[@]}" -nodes -days 2 -subj "/CN=127.0.0.1" \
        -keyout "$ngx/key.pem" -out "$ngx/cert.pem" >"$ngx/openssl.log" 2>&1 \
        || { cat "$ngx/openssl.log" >&2; die "openssl could not create the certificate"; }
    port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    user_line=""
    (( EUID != 0 )) || user_line="user $(id -un) $(id -gn);"
    plain_port="" plain_listen=""
    if [[ ${NGINX_ALSO_HTTP:-0} == 1 ]]; then
        plain_port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
        plain_listen="listen 127.0.0.1:$plain_port;"
    fi
    sed -e "s|@PREFIX@|$ngx|g" -e "s|@PORT@|$port|g" -e "s|@CERT@|$ngx/cert.pem|g" \
        -e "s|@KEY@|$ngx/key.pem|g" -e "s|@DOCROOT@|$ngx/html|g" -e "s|@USER_LINE@|$user_line|g" \
        -e "s|@CONTENT_TYPE@|$ctype|g" -e "s|@PLAIN_LISTEN@|$plain_listen|g" \
        "$HERE/nginx.conf.in" >"$ngx/nginx.conf"
    "$NGINX" -t -q -p "$ngx/" -c "$ngx/nginx.conf" -e "$ngx/error.log" >"$ngx/test.log" 2>&1 \
        || { cat "$ngx/test.log" >&2; die "nginx rejected its configuration"; }
    # daemon on: the master forks, writes nginx.pid and this command returns.
    "$NGINX" -p "$ngx/" -c "$ngx/nginx.conf" -e "$ngx/error.log" </dev/null >"$ngx/stdout.log" 2>&1 \
        || { cat "$ngx/error.log" "$ngx/stdout.log" >&2 2>/dev/null || true; die "nginx failed to start"; }
    url="https://127.0.0.1:$port"
    ok=""
    for (( i = 0; i < 100; i++ )); do   # bounded: about 10 s
        code=$(curl -sk --noproxy '*' --max-time 2 -o "$ngx/check.body" -w '%{http_code}' \
            -H "Content-Type: $ctype" --data-binary 'x' "$url/wsman" || true)
        if [[ $code == 200 ]]; then ok=1; break; fi
        sleep 0.1
    done
    [[ -n $ok ]] || { cat "$ngx/error.log" >&2 2>/dev/null || true; "$0" stop "$work" || true; die "nginx did not answer POST $url with 200"; }
    cmp -s "$ngx/check.body" "$body" || { "$0" stop "$work" || true; die "nginx body differs from $body"; }
    printf '%s\n' "$url"
    if [[ -n $plain_port ]]; then
        code=$(curl -s --noproxy '*' --max-time 2 -o "$ngx/check-plain.body" -w '%{http_code}' \
            -H "Content-Type: $ctype" --data-binary 'x' "http://127.0.0.1:$plain_port/wsman" || true)
        [[ $code == 200 ]] && cmp -s "$ngx/check-plain.body" "$body" \
            || { "$0" stop "$work" || true; die "nginx did not answer plain-HTTP POST with the body"; }
        printf 'http://127.0.0.1:%s\n' "$plain_port"
    fi
    ;;
stop)
    (( $# >= 2 )) || die "usage: $0 stop WORKDIR"
    pidf="$2/nginx/nginx.pid"
    [[ -r $pidf ]] || exit 0
    pid=$(cat "$pidf")
    [[ $pid =~ ^[0-9]+$ ]] || exit 0
    workers=$(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ' || true)
    kill -TERM "$pid" 2>/dev/null || true
    for (( i = 0; i < 100; i++ )); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    for w in $workers; do kill -0 "$w" 2>/dev/null && kill -KILL "$w" 2>/dev/null || true; done
    rm -f "$pidf"
    ;;
*)
    die "usage: $0 start WORKDIR BODY_FILE [CONTENT_TYPE] [KEY_LIKE_PEM] | stop WORKDIR"
    ;;
esac
