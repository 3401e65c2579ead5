#!/usr/bin/python3
"""Open N real keep-alive TLS sessions to a WS-Management server, hold them
idle, and read the server's resident memory (VmRSS) while they are open.

Each connection: TCP connect, full TLS handshake (CERT_NONE), one Identify
POST /wsman whose 200 response is read completely; the connection is then left
open and idle. Once all are open (and after a short settle), VmRSS/VmHWM of
--pid are read from /proc. Afterwards every connection sends a second Identify
to prove that the server kept it as a live keep-alive session.

Python 3 standard library only. Output: key=value lines on stdout.
Exit status: 0 when every connection was opened and answered, 1 otherwise,
2 on usage/setup errors.
"""
import argparse
import resource
import socket
import ssl
import sys
import time

BODY = (b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        b'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
        b'<s:Header/><s:Body><wsmid:Identify/></s:Body></s:Envelope>')


class HttpError(Exception):
    pass


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise HttpError("connection closed by server")
        self.buf += data

    def _read_until(self, sep):
        while True:
            i = self.buf.find(sep)
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + len(sep):]
                return out
            if len(self.buf) > 1 << 20:
                raise HttpError("header too long")
            self._fill()

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def request(self, host, port):
        req = (b"POST /wsman HTTP/1.1\r\n"
               b"Host: " + f"{host}:{port}".encode() + b"\r\n"
               b"Content-Type: application/soap+xml;charset=UTF-8\r\n"
               b"Content-Length: " + str(len(BODY)).encode() + b"\r\n"
               b"\r\n" + BODY)
        self.sock.sendall(req)
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise HttpError("bad status line %r" % lines[0])
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self._read_until(b"\r\n").split(b";")[0], 16)
                if size == 0:
                    while self._read_until(b"\r\n"):  # trailers
                        pass
                    break
                body += self._read_exact(size)
                self._read_exact(2)
        elif "content-length" in headers:
            body = self._read_exact(int(headers["content-length"]))
        else:
            raise HttpError("response without length (not keep-alive capable)")
        if status != 200:
            raise HttpError("HTTP %d" % status)
        if b"IdentifyResponse" not in body:
            raise HttpError("200 without IdentifyResponse")
        if "close" in headers.get("connection", "").lower():
            raise HttpError("server answered Connection: close")
        return len(body)


def proc_status(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0])  # kB
    except OSError:
        pass
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--pid", type=int, required=True, help="server pid whose VmRSS is read")
    ap.add_argument("--settle", type=float, default=1.0, help="seconds to wait before reading RSS")
    ap.add_argument("--timeout", type=float, default=10.0, help="per-operation socket timeout")
    ap.add_argument("--deadline", type=float, default=120.0, help="overall bound in seconds")
    a = ap.parse_args()

    if a.host not in ("127.0.0.1", "localhost", "::1"):
        print("error=refusing non-loopback host", file=sys.stderr)
        return 2

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = a.count + 64
    if soft != resource.RLIM_INFINITY and soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            print("error=fd limit %d too low for %d connections" % (hard, a.count), file=sys.stderr)
            return 2
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE

    start = time.monotonic()
    conns, failures, first_error = [], 0, ""
    for _ in range(a.count):
        if time.monotonic() - start > a.deadline:
            failures += 1
            first_error = first_error or "overall deadline exceeded"
            break
        raw = None
        try:
            raw = socket.create_connection((a.host, a.port), timeout=a.timeout)
            s = ctx.wrap_socket(raw, server_hostname=None)
            c = Conn(s)
            c.request(a.host, a.port)
            conns.append(c)
        except (OSError, HttpError, ValueError) as e:
            failures += 1
            first_error = first_error or "%s: %s" % (type(e).__name__, e)
            if raw is not None:
                raw.close()
    open_secs = time.monotonic() - start

    time.sleep(a.settle)
    st = proc_status(a.pid)

    # Second request on every held connection: were they kept alive?
    alive = 0
    for c in conns:
        try:
            c.request(a.host, a.port)
            alive += 1
        except (OSError, HttpError, ValueError) as e:
            first_error = first_error or "after idle: %s: %s" % (type(e).__name__, e)
    for c in conns:
        try:
            c.sock.close()
        except OSError:
            pass

    print("idle_conns_requested=%d" % a.count)
    print("idle_conns_opened=%d" % len(conns))
    print("idle_conns_failed=%d" % failures)
    print("idle_conns_open_seconds=%.2f" % open_secs)
    print("idle_conns_alive_after_hold=%d" % alive)
    print("idle_conns_rss_kib=%s" % st.get("VmRSS", "NA"))
    print("idle_conns_hwm_kib=%s" % st.get("VmHWM", "NA"))
    if first_error:
        print("idle_conns_first_error=%s" % first_error.replace("\n", " "))
    ok = len(conns) == a.count and alive == a.count and "VmRSS" in st
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
