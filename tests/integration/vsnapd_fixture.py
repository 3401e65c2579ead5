"""Test fixture for the vsnapd integration tests (stdlib only).

`Vsnapd` starts build/bin/vsnapd (or $VSNAPD_BIN) with a fresh state directory,
port-0 listeners and an optional TOML config, follows its stderr log in a
background thread and exposes what the log tells (bound ports, initial admin
password, certificate fingerprint).  `HttpConn` is a minimal raw HTTP/1.1 client
(plain or TLS) for the tests that need byte-level control of the connection.
"""

import base64
import hashlib
import io
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import unittest
import time
import uuid
import xml.etree.ElementTree as ET

DEFAULT_BIN = "/work/main/build/bin/vsnapd"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0

# Environment variables that would make clients verify the self-signed cert
# against the system CA bundle.
_CA_VARS = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")

NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "wsman": "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd",
    "wsmid": "http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd",
}
WSMAN_PROTOCOL_VERSION = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
MAX_ENVELOPE_DETAIL = "http://schemas.dmtf.org/wbem/wsman/1/wsman/faultDetail/MaxEnvelopeSize"

# Identify exactly as wsl sends it (no Action header, no MessageID).
IDENTIFY_XML = (
    '<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:wsmid="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd">'
    "  <s:Header/>  <s:Body>    <wsmid:Identify/>  </s:Body></s:Envelope>"
)


def transfer_get_xml(message_id=None, endpoint="http://127.0.0.1:5985/wsman"):
    """A WS-Transfer Get as pywinrm sends it (vectors/clients/pywinrm-send_message-get-*.txt)."""
    if message_id is None:
        message_id = "uuid:" + str(uuid.uuid4())
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd">\n'
        "<s:Header>\n"
        "<wsa:To>%s</wsa:To>\n"
        '<wsman:ResourceURI s:mustUnderstand="true">'
        "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ComputerSystem</wsman:ResourceURI>\n"
        '<wsa:ReplyTo><wsa:Address s:mustUnderstand="true">'
        "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo>\n"
        '<wsa:Action s:mustUnderstand="true">http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</wsa:Action>\n'
        '<wsa:MessageID s:mustUnderstand="true">%s</wsa:MessageID>\n'
        '<wsman:SelectorSet><wsman:Selector Name="Name">host1</wsman:Selector></wsman:SelectorSet>\n'
        "<wsman:OperationTimeout>PT60S</wsman:OperationTimeout>\n"
        "</s:Header>\n"
        "<s:Body/>\n"
        "</s:Envelope>\n"
    ) % (endpoint, message_id)


def unsupported_action_xml(message_id=None, endpoint="http://127.0.0.1:5985/wsman"):
    """transfer_get_xml with an action vsnapd does not serve (WS-Eventing Subscribe), for tests
    that need an authenticated request answered with wsa:ActionNotSupported."""
    return transfer_get_xml(message_id, endpoint).replace(
        "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get",
        "http://schemas.xmlsoap.org/ws/2004/08/eventing/Subscribe")


def client_env(extra=None):
    """Environment for client subprocesses: no CA bundle overrides, no proxy for loopback."""
    env = dict(os.environ)
    for var in _CA_VARS:
        env.pop(var, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost,::1"
    if extra:
        env.update(extra)
    return env


def scrub_process_env():
    """Same as client_env() but for in-process clients (pywinrm/requests read os.environ)."""
    for var in _CA_VARS:
        os.environ.pop(var, None)
    os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost,::1"


def vsnapd_bin():
    return os.environ.get("VSNAPD_BIN") or DEFAULT_BIN


def run_cli(args, input=None, timeout=20.0, env=None):
    """Run `vsnapd ARGS...`; returns CompletedProcess with text stdout/stderr."""
    return subprocess.run(
        [vsnapd_bin()] + list(args),
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else client_env(),
    )


def cert_fingerprint_from_der(der):
    """SHA-256 fingerprint formatted as AB:CD:..."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def normalize_fingerprint(fp):
    return fp.replace(":", "").upper()


LOG_LINE_RE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (debug|info|warning|error) [A-Za-z0-9_.\-]+ "
)
_LISTEN_RE = re.compile(r"\b(wsman-https?|cimxml-https?) listening on (\S+)\s*$")
# The contract shows the password at the end of the line; the daemon may append a remark.
_ADMIN_RE = re.compile(r"created initial administrator '([^']+)' password: (\S+)")
_FPR_RE = re.compile(r"sha256 fingerprint: ([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2})+)\b")
READY_RE = r"\sinfo server ready\b"


class Vsnapd:
    """One vsnapd daemon process.  Use as a context manager or call start()/close()."""

    def __init__(self, config=None, http=True, https=True, state_dir=None,
                 log_level=None, extra_args=()):
        self.config_text = config
        self.want_http = http
        self.want_https = https
        self.log_level = log_level or os.environ.get("VSNAPD_TEST_LOG_LEVEL")
        self.extra_args = list(extra_args)
        self._own_state = state_dir is None
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="vsnapd-it-state-")
        self._conf_dir = None
        self.config_path = None
        self.proc = None
        self.returncode = None
        self.ports = {}            # listener name -> port
        self.addresses = {}        # listener name -> host
        self.admin_user = None
        self.admin_password = None
        self.fingerprint = None
        self._lines = []
        self._stdout = []
        self._cond = threading.Condition()
        self._eof = False
        self._threads = []

    # ---------------------------------------------------------------- lifecycle
    def start(self, timeout=START_TIMEOUT):
        scrub_process_env()
        if self.config_text is not None:
            self._conf_dir = tempfile.mkdtemp(prefix="vsnapd-it-conf-")
            self.config_path = os.path.join(self._conf_dir, "vsnapd.toml")
            with open(self.config_path, "w", encoding="utf-8") as f:
                f.write(self.config_text)
        args = [
            vsnapd_bin(),
            "--state-dir", self.state_dir,
            "--wsman-http", "127.0.0.1:0" if self.want_http else "",
            "--wsman-https", "127.0.0.1:0" if self.want_https else "",
            "--cimxml-http", "",
            "--cimxml-https", "",
        ]
        if self.config_path:
            args += ["--config", self.config_path]
        if self.log_level:
            args += ["--log-level", self.log_level]
        args += self.extra_args
        try:
            self.proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=client_env(),
                start_new_session=True,
            )
        except OSError:
            self.close()
            raise
        for stream, sink, parse in ((self.proc.stderr, self._lines, True),
                                    (self.proc.stdout, self._stdout, False)):
            t = threading.Thread(target=self._reader, args=(stream, sink, parse), daemon=True)
            t.start()
            self._threads.append(t)
        try:
            self.wait_for_log(READY_RE, timeout=timeout)
        except AssertionError:
            self.close()
            raise
        expected = []
        if self.want_http:
            expected.append("wsman-http")
        if self.want_https:
            expected.append("wsman-https")
        missing = [n for n in expected if n not in self.ports]
        if missing:
            msg = "listener line(s) missing for %s before 'server ready'\n%s" % (
                missing, self.log_tail())
            self.close()
            raise AssertionError(msg)
        return self

    def _reader(self, stream, sink, parse):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self._cond:
                sink.append(line)
                if parse:
                    self._parse(line)
                self._cond.notify_all()
        stream.close()
        if parse:
            with self._cond:
                self._eof = True
                self._cond.notify_all()

    def _parse(self, line):
        m = _LISTEN_RE.search(line)
        if m:
            host, _, port = m.group(2).rpartition(":")
            self.addresses[m.group(1)] = host.strip("[]")
            self.ports[m.group(1)] = int(port)
        m = _ADMIN_RE.search(line)
        if m:
            self.admin_user, self.admin_password = m.group(1), m.group(2)
        m = _FPR_RE.search(line)
        if m:
            self.fingerprint = m.group(1)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
        return False

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        assert self.running(), "vsnapd is not running\n" + self.log_tail()
        self.proc.send_signal(sig)

    def stop(self, timeout=STOP_TIMEOUT, sig=signal.SIGTERM):
        """Send SIGTERM (or sig), wait bounded, assert exit status 0.  Returns the status."""
        if self.proc is None:
            raise AssertionError("vsnapd was never started")
        if self.returncode is None:
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
            try:
                self.returncode = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.returncode = self.proc.wait(timeout=10)
                self._join()
                raise AssertionError("vsnapd did not exit within %.0fs of %s\n%s" % (
                    timeout, signal.Signals(sig).name, self.log_tail()))
            self._join()
        if self.returncode != 0:
            raise AssertionError("vsnapd exited with status %r (expected 0)\n%s" % (
                self.returncode, self.log_tail()))
        return self.returncode

    def _join(self):
        for t in self._threads:
            t.join(timeout=5)

    def close(self):
        """Kill the process if still running (no assertion) and remove temp dirs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        if self.proc is not None:
            if self.returncode is None:
                self.returncode = self.proc.returncode
            self._join()
        if os.environ.get("VSNAPD_TEST_SHOW_LOGS"):
            print("\n----- vsnapd log -----\n" + "\n".join(self.log_lines()), flush=True)
        if self._own_state and self.state_dir:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        if self._conf_dir:
            shutil.rmtree(self._conf_dir, ignore_errors=True)
            self._conf_dir = None

    # ---------------------------------------------------------------- logs
    def log_lines(self):
        with self._cond:
            return list(self._lines)

    def stdout_lines(self):
        with self._cond:
            return list(self._stdout)

    def log_tail(self, n=40):
        lines = self.log_lines()
        return "----- vsnapd stderr (last %d of %d lines) -----\n%s" % (
            min(n, len(lines)), len(lines), "\n".join(lines[-n:]))

    def wait_for_log(self, pattern, timeout=10.0, start=0):
        """Wait until a stderr line (index >= start) matches regex pattern; return the match.

        Fails (AssertionError) on timeout or when the daemon's stderr closes first."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        idx = start
        with self._cond:
            while True:
                while idx < len(self._lines):
                    m = rx.search(self._lines[idx])
                    if m:
                        return m
                    idx += 1
                if self._eof:
                    raise AssertionError("vsnapd stderr closed (exit status %r) before a line matched %r\n%s"
                                         % (self.proc.poll(), pattern, self.log_tail()))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("no vsnapd log line matched %r within %.1fs\n%s"
                                         % (pattern, timeout, self.log_tail()))
                self._cond.wait(remaining)

    def log_count(self):
        with self._cond:
            return len(self._lines)

    # ---------------------------------------------------------------- helpers
    def port(self, scheme):
        return self.ports["wsman-" + scheme]

    def url(self, scheme, path="/wsman"):
        return "%s://127.0.0.1:%d%s" % (scheme, self.port(scheme), path)

    def connect(self, scheme, timeout=10.0):
        return HttpConn("127.0.0.1", self.port(scheme), tls=(scheme == "https"), timeout=timeout)

    def cli(self, args, input=None, timeout=20.0):
        """Run `vsnapd ARGS... --state-dir STATE`."""
        return run_cli(list(args) + ["--state-dir", self.state_dir], input=input, timeout=timeout)


# ====================================================================== raw HTTP

class DaemonTestCase(unittest.TestCase):
    """One daemon per test class, started before its tests and stopped (exit 0 asserted) after.

    Subclasses set CONFIG (TOML text), HTTP and HTTPS; `cls.d` is the running Vsnapd."""

    CONFIG = None
    HTTP = True
    HTTPS = True

    @classmethod
    def setUpClass(cls):
        scrub_process_env()
        cls.d = Vsnapd(config=cls.CONFIG, http=cls.HTTP, https=cls.HTTPS)
        cls.d.start()

    @classmethod
    def tearDownClass(cls):
        try:
            cls.d.stop()
        finally:
            cls.d.close()


class Response:
    def __init__(self, version, status, reason, headers, body):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value)
        self.body = body

    def header(self, name, default=None):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return default

    def header_all(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return "<Response %s %s %r body=%r>" % (self.status, self.reason, self.headers, self.body[:600])


class HttpConn:
    """Minimal HTTP/1.1 client over a raw (optionally TLS) socket."""

    def __init__(self, host, port, tls=False, timeout=10.0):
        self.host = host
        self.port = port
        self.timeout = timeout
        sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            sock = ctx.wrap_socket(sock, server_hostname=host)
        self.sock = sock
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def peer_cert_der(self):
        return self.sock.getpeercert(binary_form=True)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.settimeout(self.timeout)
        self.sock.sendall(data)

    def send_request(self, method, path="/wsman", body=b"", headers=None, content_length=True):
        """Send a request; body is sent as-is (caller chunk-encodes if needed)."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        hdrs = [("Host", "%s:%d" % (self.host, self.port))]
        names = set()
        for k, v in (headers or []):
            hdrs.append((k, v))
            names.add(k.lower())
        if content_length and "content-length" not in names and "transfer-encoding" not in names:
            hdrs.append(("Content-Length", str(len(body))))
        head = "%s %s HTTP/1.1\r\n%s\r\n" % (
            method, path, "".join("%s: %s\r\n" % kv for kv in hdrs))
        self.send(head.encode("latin-1") + body)

    def request(self, method, path="/wsman", body=b"", headers=None):
        self.send_request(method, path, body, headers)
        return self.read_response(head_request=(method == "HEAD"))

    def _fill(self, timeout=None):
        self.sock.settimeout(self.timeout if timeout is None else timeout)
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("connection closed by server")
        self.buf += data

    def _read_until(self, marker):
        while marker not in self.buf:
            self._fill()
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _read_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self, head_request=False):
        head = self._read_until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ValueError("bad status line %r" % lines[0])
        version, status = parts[0], int(parts[1])
        reason = parts[2] if len(parts) > 2 else ""
        headers = []
        for line in lines[1:]:
            if not line:
                continue
            k, _, v = line.partition(":")
            headers.append((k.strip(), v.strip()))
        resp = Response(version, status, reason, headers, b"")
        if head_request or 100 <= status < 200 or status in (204, 304):
            return resp
        te = (resp.header("Transfer-Encoding") or "").lower()
        cl = resp.header("Content-Length")
        if "chunked" in te:
            body = b""
            while True:
                size_line = self._read_until(b"\r\n").decode("latin-1").strip()
                size = int(size_line.split(";")[0], 16)
                if size == 0:
                    while self._read_until(b"\r\n") != b"\r\n":
                        pass
                    break
                body += self._read_exact(size)
                self._read_exact(2)
            resp.body = body
        elif cl is not None:
            resp.body = self._read_exact(int(cl))
        else:
            # no framing: body runs to connection close
            try:
                while True:
                    self._fill()
            except (EOFError, ConnectionError, ssl.SSLError):
                pass
            resp.body, self.buf = self.buf, b""
        return resp

    def wait_closed(self, timeout):
        """True if the server closes the connection within timeout seconds (data is discarded)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                self._fill(timeout=remaining)
            except EOFError:
                return True
            except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
                return True
            except (socket.timeout, TimeoutError):
                return False


# ====================================================================== auth

def basic_auth(user, password):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode("utf-8")).decode("ascii")


def _split_header_list(value):
    """Split a header value on commas outside quoted strings."""
    items, cur, q, esc = [], "", False, False
    for ch in value:
        if esc:
            cur += ch
            esc = False
        elif ch == "\\" and q:
            cur += ch
            esc = True
        elif ch == '"':
            cur += ch
            q = not q
        elif ch == "," and not q:
            items.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        items.append(cur.strip())
    return [i for i in items if i]


_PARAM_RE = re.compile(r'^([A-Za-z0-9_\-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|(\S*))$')


def parse_challenges(values):
    """Parse WWW-Authenticate header values into [(scheme, {param: value})]."""
    out = []
    for value in values:
        for item in _split_header_list(value):
            m = re.match(r"^([A-Za-z0-9_\-]+)\s+(\S.*)$", item)
            if m and "=" not in m.group(1) and _PARAM_RE.match(m.group(2)):
                out.append((m.group(1), {}))
                item = m.group(2)
            elif re.match(r"^[A-Za-z0-9_\-]+$", item):
                out.append((item, {}))
                continue
            pm = _PARAM_RE.match(item)
            if pm and out:
                val = pm.group(2) if pm.group(2) is not None else pm.group(3)
                out[-1][1][pm.group(1).lower()] = re.sub(r"\\(.)", r"\1", val)
    return out


def digest_auth(challenge, user, password, method="POST", uri="/wsman"):
    """Authorization header value for a Digest challenge dict (qop=auth)."""
    alg = challenge.get("algorithm", "MD5")
    h = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[alg.upper()]

    def H(s):
        return h(s.encode("utf-8")).hexdigest()

    realm, nonce = challenge["realm"], challenge["nonce"]
    cnonce = secrets.token_hex(8)
    nc = "00000001"
    ha1 = H("%s:%s:%s" % (user, realm, password))
    ha2 = H("%s:%s" % (method, uri))
    resp = H("%s:%s:%s:%s:%s:%s" % (ha1, nonce, nc, cnonce, "auth", ha2))
    parts = [
        'username="%s"' % user, 'realm="%s"' % realm, 'nonce="%s"' % nonce, 'uri="%s"' % uri,
        "algorithm=%s" % alg, 'response="%s"' % resp, "qop=auth", "nc=%s" % nc, 'cnonce="%s"' % cnonce,
    ]
    if "opaque" in challenge:
        parts.append('opaque="%s"' % challenge["opaque"])
    return "Digest " + ", ".join(parts)


# ====================================================================== SOAP

def parse_xml(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return ET.fromstring(data)


def resolve_qname_text(xml_bytes, elem_text):
    """Resolve 'prefix:local' in element text using the document's namespace declarations."""
    prefix, _, local = elem_text.strip().rpartition(":")
    nsmap = {}
    for event, (p, uri) in ET.iterparse(io.BytesIO(xml_bytes), events=("start-ns",)):
        nsmap.setdefault(p, uri)
    return nsmap.get(prefix), local


def fault_info(xml_bytes):
    """Return dict(code, subcode, subcode_ns, subcode_local, reason, detail_text, relates_to)."""
    root = parse_xml(xml_bytes)
    fault = root.find("s:Body/s:Fault", NS)
    if fault is None:
        raise AssertionError("no s:Body/s:Fault in %r" % xml_bytes[:800])
    info = {}
    code = fault.find("s:Code/s:Value", NS)
    info["code"] = code.text.strip() if code is not None and code.text else None
    sub = fault.find("s:Code/s:Subcode/s:Value", NS)
    info["subcode"] = sub.text.strip() if sub is not None and sub.text else None
    if info["subcode"]:
        info["subcode_ns"], info["subcode_local"] = resolve_qname_text(xml_bytes, info["subcode"])
    else:
        info["subcode_ns"] = info["subcode_local"] = None
    reason = fault.find("s:Reason/s:Text", NS)
    info["reason"] = reason.text if reason is not None else None
    detail = fault.find("s:Detail", NS)
    info["detail_text"] = "".join(detail.itertext()) if detail is not None else ""
    rel = root.find("s:Header/wsa:RelatesTo", NS)
    info["relates_to"] = rel.text.strip() if rel is not None and rel.text else None
    return info


def identify_info(xml_bytes):
    root = parse_xml(xml_bytes)
    ir = root.find("s:Body/wsmid:IdentifyResponse", NS)
    if ir is None:
        raise AssertionError("no s:Body/wsmid:IdentifyResponse in %r" % xml_bytes[:800])

    def t(name):
        e = ir.find("wsmid:" + name, NS)
        return e.text.strip() if e is not None and e.text is not None else None

    return {
        "ProtocolVersion": t("ProtocolVersion"),
        "ProductVendor": t("ProductVendor"),
        "ProductVersion": t("ProductVersion"),
        "SecurityProfiles": ir.find("wsmid:SecurityProfiles", NS) is not None,
    }
