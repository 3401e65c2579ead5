"""HTTP-level behaviour of vsnapd's WS-Man listeners: curl (subprocess) and raw sockets."""

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import shutil
import threading
import time
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import vsnapd_fixture as fx  # noqa: E402

SOAP_CT = "application/soap+xml;charset=UTF-8"
MAX_ENVELOPE = 16384
CLOSE_WAIT = 5.0  # bound for "the server closes the connection"


def soap_headers(auth=None, extra=()):
    h = [("Content-Type", SOAP_CT)]
    if auth:
        h.append(("Authorization", auth))
    return h + list(extra)


def chunked(body, size):
    out = b""
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def assert_soap_content_type(tc, resp):
    ct = resp.header("Content-Type") or ""
    tc.assertEqual(ct.split(";")[0].strip().lower(), "application/soap+xml", resp)


class DaemonCase(fx.DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.basic = fx.basic_auth(cls.d.admin_user, cls.d.admin_password)

    def conn(self, scheme="https", timeout=10.0):
        c = self.d.connect(scheme, timeout=timeout)
        self.addCleanup(c.close)
        return c

    def diag(self, resp=None):
        return "%r\n%s" % (resp, self.d.log_tail(15))

    # ------------------------------------------------------------ curl helper
    def curl(self, scheme, user, password, body, extra=()):
        work = tempfile.mkdtemp(prefix="vsnapd-it-curl-")
        self.addCleanup(shutil.rmtree, work, True)
        body_file = os.path.join(work, "body.xml")
        with open(body_file, "w", encoding="utf-8") as f:
            f.write(body)
        out_file = os.path.join(work, "out.xml")
        hdr_file = os.path.join(work, "headers.txt")

        def q(s):
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

        config = "user = %s\n" % q("%s:%s" % (user, password))
        args = ["curl", "-sS", "-K", "-", "--max-time", "30", "-H", "Content-Type: " + SOAP_CT,
                "--data-binary", "@" + body_file, "-o", out_file, "-D", hdr_file,
                "-w", "%{http_code}"] + list(extra)
        if scheme == "https":
            args.append("-k")
        args.append(self.d.url(scheme))
        r = subprocess.run(args, input=config, capture_output=True, text=True, timeout=40,
                           env=fx.client_env())
        out = b""
        if os.path.exists(out_file):
            with open(out_file, "rb") as f:
                out = f.read()
        headers = ""
        if os.path.exists(hdr_file):
            with open(hdr_file, encoding="latin-1") as f:
                headers = f.read()
        return r, out, headers


class HttpBehaviour(DaemonCase):
    CONFIG = (
        "[auth]\n"
        "anonymous_identify = false\n"
        "max_failures = 1000\n"
        "[limits]\n"
        "max_envelope_size = %d\n" % MAX_ENVELOPE
    )

    # ------------------------------------------------------------ challenge
    def challenges(self, scheme):
        c = self.conn(scheme)
        r = c.request("POST", "/wsman", fx.transfer_get_xml(), soap_headers())
        self.assertEqual(r.status, 401, self.diag(r))
        ch = fx.parse_challenges(r.header_all("WWW-Authenticate"))
        return r, ch

    def assert_digest_challenges(self, ch, r):
        digests = {}
        for scheme, params in ch:
            if scheme.lower() == "digest":
                digests[params.get("algorithm", "MD5").upper()] = params
        self.assertIn("SHA-256", digests, r)
        self.assertIn("MD5", digests, r)
        for alg, p in digests.items():
            self.assertEqual(p.get("realm"), "vsnapd", (alg, r))
            self.assertIn("auth", [x.strip() for x in p.get("qop", "").split(",")], (alg, r))
            self.assertTrue(p.get("nonce"), (alg, r))

    def test_401_challenge_https_lists_digest_sha256_md5_and_basic(self):
        r, ch = self.challenges("https")
        self.assert_digest_challenges(ch, r)
        basics = [p for s, p in ch if s.lower() == "basic"]
        self.assertEqual(len(basics), 1, r)
        self.assertEqual(basics[0].get("realm"), "vsnapd", r)

    def test_401_challenge_plain_http_offers_digest_not_basic(self):
        r, ch = self.challenges("http")
        self.assert_digest_challenges(ch, r)
        self.assertEqual([s for s, _ in ch if s.lower() == "basic"], [], r)

    def test_identify_without_credentials_401_when_anonymous_identify_off(self):
        r = self.conn("https").request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers())
        self.assertEqual(r.status, 401, self.diag(r))

    def test_basic_over_plain_http_403_with_reason(self):
        r = self.conn("http").request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers(self.basic))
        self.assertEqual(r.status, 403, self.diag(r))
        self.assertTrue(r.body.strip(), "403 body should say why: %r" % r)

    # ------------------------------------------------------------ digest
    def check_curl_digest(self, scheme):
        r, out, headers = self.curl(scheme, self.d.admin_user, self.d.admin_password,
                                    fx.IDENTIFY_XML, extra=["--digest"])
        diag = "curl rc=%d stdout=%r stderr=%r headers=%r body=%r\n%s" % (
            r.returncode, r.stdout, r.stderr, headers, out[:500], self.d.log_tail(10))
        self.assertEqual(r.returncode, 0, diag)
        self.assertEqual(r.stdout.strip(), "200", diag)
        statuses = re.findall(r"^HTTP/\S+ (\d{3})", headers, re.M)
        self.assertEqual(statuses, ["401", "200"], diag)  # challenged, then answered
        self.assertEqual(fx.identify_info(out)["ProductVendor"], "vsnapd", diag)

    def test_curl_digest_http(self):
        self.check_curl_digest("http")

    def test_curl_digest_https(self):
        self.check_curl_digest("https")

    def test_curl_digest_wrong_password_401(self):
        r, out, headers = self.curl("http", self.d.admin_user, self.d.admin_password + "nope",
                                    fx.IDENTIFY_XML, extra=["--digest"])
        self.assertEqual(r.stdout.strip(), "401", (r, headers, out))
        self.assertNotIn(b"IdentifyResponse", out)

    def raw_digest(self, scheme, alg, password, body=None, same_connection=False):
        c = self.conn(scheme)
        body = body or fx.IDENTIFY_XML
        r = c.request("POST", "/wsman", body, soap_headers())
        self.assertEqual(r.status, 401, self.diag(r))
        ch = [p for s, p in fx.parse_challenges(r.header_all("WWW-Authenticate"))
              if s.lower() == "digest" and p.get("algorithm", "MD5").upper() == alg]
        self.assertTrue(ch, r)
        auth = fx.digest_auth(ch[0], self.d.admin_user, password)
        if not same_connection:
            c = self.conn(scheme)
        return c.request("POST", "/wsman", body, soap_headers(auth))

    def test_raw_digest_sha256_http(self):
        r = self.raw_digest("http", "SHA-256", self.d.admin_password)
        self.assertEqual(r.status, 200, self.diag(r))
        self.assertEqual(fx.identify_info(r.body)["ProductVendor"], "vsnapd")

    def test_raw_digest_md5_http(self):
        r = self.raw_digest("http", "MD5", self.d.admin_password)
        self.assertEqual(r.status, 200, self.diag(r))
        self.assertEqual(fx.identify_info(r.body)["ProductVendor"], "vsnapd")

    def test_raw_digest_sha256_wrong_password_401(self):
        r = self.raw_digest("http", "SHA-256", "wrong" + self.d.admin_password)
        self.assertEqual(r.status, 401, self.diag(r))

    # ------------------------------------------------------------ TLS
    def test_https_certificate_matches_logged_fingerprint(self):
        c = self.conn("https")
        served = fx.cert_fingerprint_from_der(c.peer_cert_der())
        self.assertEqual(fx.normalize_fingerprint(served), fx.normalize_fingerprint(self.d.fingerprint))
        with open(os.path.join(self.d.state_dir, "tls", "cert.pem"), encoding="ascii") as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        self.assertEqual(fx.cert_fingerprint_from_der(der), served)

    # ------------------------------------------------------------ faults
    def test_unsupported_action_fault(self):
        mid = "uuid:" + str(uuid.uuid4())
        r = self.conn("https").request("POST", "/wsman", fx.unsupported_action_xml(mid), soap_headers(self.basic))
        self.assertEqual(r.status, 500, self.diag(r))
        ct = (r.header("Content-Type") or "").replace(" ", "")
        self.assertEqual(ct.lower(), SOAP_CT.lower(), r)
        f = fx.fault_info(r.body)
        self.assertEqual((f["subcode_ns"], f["subcode_local"]), (fx.NS["wsa"], "ActionNotSupported"), f)
        self.assertEqual(f["subcode"], "wsa:ActionNotSupported", f)
        self.assertEqual(f["relates_to"], mid, f)

    def test_garbage_body_schema_validation_fault(self):
        r = self.conn("https").request("POST", "/wsman", b"this is <<< not XML \x01 at all",
                                       soap_headers(self.basic))
        self.assertEqual(r.status, 500, self.diag(r))
        assert_soap_content_type(self, r)
        f = fx.fault_info(r.body)
        self.assertEqual((f["subcode_ns"], f["subcode_local"]), (fx.NS["wsman"], "SchemaValidationError"), f)

    def oversize_body(self):
        head = fx.IDENTIFY_XML.replace("<s:Body>", "<s:Body><!-- ").replace("</s:Body>", " --></s:Body>")
        pad = "x" * (MAX_ENVELOPE + 4096 - len(head))
        i = head.index("<!-- ") + 5
        return (head[:i] + pad + head[i:]).encode()

    def check_encoding_limit(self, c, r):
        self.assertEqual(r.status, 500, self.diag(r))
        assert_soap_content_type(self, r)
        f = fx.fault_info(r.body)
        self.assertEqual((f["subcode_ns"], f["subcode_local"]), (fx.NS["wsman"], "EncodingLimit"), f)
        self.assertIn(fx.MAX_ENVELOPE_DETAIL, f["detail_text"], f)
        self.assertTrue(c.wait_closed(CLOSE_WAIT), "connection not closed after EncodingLimit fault")

    def test_oversize_body_encoding_limit(self):
        body = self.oversize_body()
        self.assertGreater(len(body), MAX_ENVELOPE)
        c = self.conn("https")
        c.send_request("POST", "/wsman", body, soap_headers(self.basic))
        self.check_encoding_limit(c, c.read_response())

    def test_oversize_chunked_body_encoding_limit(self):
        body = self.oversize_body()
        c = self.conn("https")
        c.send_request("POST", "/wsman", chunked(body, 4096),
                       soap_headers(self.basic, [("Transfer-Encoding", "chunked")]))
        self.check_encoding_limit(c, c.read_response())

    def test_a_client_still_uploading_an_oversize_body_gets_the_fault(self):
        # The answer goes out when the headers are read; the client is still sending 8 MiB.
        # Without a lingering close the server's close resets the connection and the client
        # loses the fault (curl: "Empty reply from server").
        body = self.oversize_body() * 16
        body += b" " * (8 * 1024 * 1024 - len(body))
        for scheme in ("http", "https"):
            with self.subTest(scheme=scheme):
                c = self.conn(scheme)
                c.send_request("POST", "/wsman", body, soap_headers(self.basic))
                self.check_encoding_limit(c, c.read_response())

    # ------------------------------------------------------------ connection handling
    def test_connection_close_honoured(self):
        c = self.conn("https")
        r = c.request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers(self.basic, [("Connection", "close")]))
        self.assertEqual(r.status, 200, self.diag(r))
        self.assertEqual(fx.identify_info(r.body)["ProductVendor"], "vsnapd")
        self.assertTrue(c.wait_closed(CLOSE_WAIT), "server kept the connection open after Connection: close")

    def test_keep_alive_several_requests(self):
        c = self.conn("https")
        for i in range(3):
            r = c.request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers(self.basic))
            self.assertEqual(r.status, 200, (i, self.diag(r)))
            self.assertNotEqual((r.header("Connection") or "").lower(), "close", r)

    def test_keep_alive_across_digest_challenge(self):
        # curl answers the digest challenge on the same connection
        r = self.raw_digest("http", "SHA-256", self.d.admin_password, same_connection=True)
        self.assertEqual(r.status, 200, self.diag(r))

    def test_pipelined_requests(self):
        body = fx.IDENTIFY_XML.encode()
        one = ("POST /wsman HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\nAuthorization: %s\r\n"
               "Content-Length: %d\r\n\r\n" % (SOAP_CT, self.basic, len(body))).encode() + body
        c = self.conn("https")
        c.send(one * 3)  # three requests in one write, before reading anything
        for i in range(3):
            r = c.read_response()
            self.assertEqual(r.status, 200, (i, self.diag(r)))
            self.assertEqual(fx.identify_info(r.body)["ProductVendor"], "vsnapd")

    def test_parallel_clients(self):
        n = 32
        results = [None] * n

        def worker(i):
            try:
                with self.d.connect("https" if i % 2 else "http") as c:
                    auth = self.basic if i % 2 else None
                    body = fx.IDENTIFY_XML
                    if auth is None:  # anonymous_identify is off here: use digest on plain HTTP
                        r = c.request("POST", "/wsman", body, soap_headers())
                        ch = [p for sch, p in fx.parse_challenges(r.header_all("WWW-Authenticate"))
                              if sch.lower() == "digest"]
                        auth = fx.digest_auth(ch[0], self.d.admin_user, self.d.admin_password)
                    results[i] = c.request("POST", "/wsman", body, soap_headers(auth)).status
            except Exception as e:  # reported below
                results[i] = repr(e)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(results, [200] * n, self.d.log_tail(10))

    def test_chunked_request_body(self):
        body = fx.IDENTIFY_XML.encode()
        c = self.conn("https")
        r = c.request("POST", "/wsman", chunked(body, 37),
                      soap_headers(self.basic, [("Transfer-Encoding", "chunked")]))
        self.assertEqual(r.status, 200, self.diag(r))
        self.assertEqual(fx.identify_info(r.body)["ProductVendor"], "vsnapd")
        # the connection is still usable afterwards (chunked body fully consumed)
        r = c.request("POST", "/wsman", body, soap_headers(self.basic))
        self.assertEqual(r.status, 200, self.diag(r))

    def test_expect_100_continue(self):
        body = fx.IDENTIFY_XML.encode()
        c = self.conn("https", timeout=5.0)
        c.send_request("POST", "/wsman", b"", soap_headers(self.basic, [
            ("Content-Length", str(len(body))), ("Expect", "100-continue")]))
        try:
            interim = c.read_response()  # bounded by the 5 s socket timeout
        except (socket.timeout, TimeoutError):
            self.fail("no interim response within 5 s after headers with Expect: 100-continue")
        self.assertEqual(interim.status, 100, self.diag(interim))
        c.send(body)
        r = c.read_response()
        self.assertEqual(r.status, 200, self.diag(r))
        self.assertEqual(fx.identify_info(r.body)["ProductVendor"], "vsnapd")

    def test_wsl_style_lowercase_charset_accepted(self):
        r = self.conn("https").request("POST", "/wsman", fx.IDENTIFY_XML, [
            ("Content-Type", "application/soap+xml;charset=utf-8"), ("Authorization", self.basic)])
        self.assertEqual(r.status, 200, self.diag(r))

    def test_quoted_charset_and_extra_parameters_accepted(self):
        r = self.conn("https").request("POST", "/wsman", fx.IDENTIFY_XML, [
            ("Content-Type", 'Application/SOAP+XML; action="x"; charset="UTF-8"'),
            ("Authorization", self.basic)])
        self.assertEqual(r.status, 200, self.diag(r))

    def test_other_media_type_gets_415(self):
        r = self.conn("https").request("POST", "/wsman", fx.IDENTIFY_XML, [
            ("Content-Type", "application/json"), ("Authorization", self.basic)])
        self.assertEqual(r.status, 415, self.diag(r))
        self.assertIn("application/soap+xml", r.text)

    def test_other_charset_gets_encoding_limit_fault(self):
        r = self.conn("https").request("POST", "/wsman", fx.IDENTIFY_XML, [
            ("Content-Type", "application/soap+xml;charset=UTF-16"), ("Authorization", self.basic)])
        self.assertEqual(r.status, 500, self.diag(r))
        assert_soap_content_type(self, r)
        self.assertIn("wsman:EncodingLimit", r.text)
        self.assertIn("faultDetail/CharacterSet", r.text)

    def test_404_other_path(self):
        r = self.conn("https").request("POST", "/other", fx.IDENTIFY_XML, soap_headers(self.basic))
        self.assertEqual(r.status, 404, self.diag(r))

    def test_405_get_wsman(self):
        r = self.conn("https").request("GET", "/wsman", b"", [("Authorization", self.basic)])
        self.assertEqual(r.status, 405, self.diag(r))

    def test_405_carries_allow_post(self):
        # RFC 9110 15.5.6: a 405 response MUST carry Allow
        r = self.conn("https").request("GET", "/wsman", b"", [("Authorization", self.basic)])
        self.assertEqual(r.status, 405, self.diag(r))
        self.assertIn("POST", (r.header("Allow") or "").upper(), r)


class SlowClients(DaemonCase):
    CONFIG = "[limits]\nheader_timeout_seconds = 1\nidle_timeout_seconds = 1\nrequest_timeout_seconds = 1\n"

    def test_idle_keep_alive_closed_after_idle_timeout(self):
        c = self.conn("http")
        r = c.request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers())
        self.assertEqual(r.status, 200, self.diag(r))
        t0 = time.monotonic()
        self.assertTrue(c.wait_closed(CLOSE_WAIT), "idle connection open > %.0fs (idle_timeout_seconds = 1)" % CLOSE_WAIT)
        self.assertGreaterEqual(time.monotonic() - t0, 0.5)

    def test_stalled_body_disconnected_after_request_timeout(self):
        c = self.conn("http")
        c.send_request("POST", "/wsman", fx.IDENTIFY_XML[:40],
                       soap_headers(extra=[("Content-Length", str(len(fx.IDENTIFY_XML)))]))
        t0 = time.monotonic()
        self.assertTrue(c.wait_closed(CLOSE_WAIT), "stalled body open > %.0fs (request_timeout_seconds = 1)" % CLOSE_WAIT)
        self.assertGreaterEqual(time.monotonic() - t0, 0.5)

    def test_slow_headers_disconnected_after_header_timeout(self):
        s = socket.create_connection(("127.0.0.1", self.d.port("http")), timeout=10)
        self.addCleanup(s.close)
        t0 = time.monotonic()
        s.sendall(b"POST /wsman HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/soap")
        closed = False
        s.settimeout(0.25)
        while time.monotonic() - t0 < CLOSE_WAIT:
            try:
                data = s.recv(4096)  # a 408 response before the close is fine
            except (socket.timeout, TimeoutError):
                continue
            except ConnectionResetError:
                closed = True
                break
            if not data:
                closed = True
                break
        elapsed = time.monotonic() - t0
        self.assertTrue(closed, "half-sent headers still open after %.1fs (header_timeout_seconds = 1)" % elapsed)
        self.assertGreaterEqual(elapsed, 0.5, "closed before the header timeout could have expired")
        # and the daemon still serves others
        r = self.conn("https").request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers(self.basic))
        self.assertEqual(r.status, 200, self.diag(r))

    def test_silent_tls_client_disconnected_after_header_timeout(self):
        s = socket.create_connection(("127.0.0.1", self.d.port("https")), timeout=10)
        self.addCleanup(s.close)
        t0 = time.monotonic()
        s.settimeout(CLOSE_WAIT)
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
        except (socket.timeout, TimeoutError):
            data = None
        elapsed = time.monotonic() - t0
        self.assertEqual(data, b"", "TCP client that never starts TLS not disconnected within %.1fs" % CLOSE_WAIT)
        self.assertGreaterEqual(elapsed, 0.5)



# The captured client traffic lives in ../shared beside the repository (read-only reference
# material that CI checks out next to the clone); it is read, never copied in.
VECTORS = os.environ.get("VSNAPD_CLIENT_VECTORS") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "shared", "vectors", "clients")


def captured_requests():
    """(file, index, method, path, headers, body) for every request in vectors/clients/{pywinrm,wsl}-*.txt

    (traffic of python3-winrm and wsl captured against a probe listener)."""
    out = []
    for name in sorted(os.listdir(VECTORS)):
        if not (name.startswith("pywinrm-") or name.startswith("wsl-")) or not name.endswith(".txt"):
            continue
        with open(os.path.join(VECTORS, name), "rb") as f:
            data = f.read()
        for i, block in enumerate(data.split(b"===== REQUEST ")[1:]):
            block = block.split(b"\n", 1)[1]
            head, _, rest = block.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = []
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers.append((k.strip(), v.strip()))
            length = int(dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
            out.append((name, i, method, path, headers, rest[:length]))
    return out


class CapturedClientReplay(DaemonCase):
    """Replays every request python3-winrm and wsl were seen to send (credentials swapped for
    the daemon's admin, over HTTPS).  Whatever the action, the daemon must parse it: Identify
    answers 200, everything else a SOAP answer (200 or 500 fault) that echoes the MessageID,
    never a SchemaValidationError / MustUnderstand / VersionMismatch fault."""

    def test_replay(self):
        reqs = captured_requests()
        self.assertGreaterEqual(len(reqs), 40, "vectors missing under %s" % VECTORS)
        for name, i, method, path, headers, body in reqs:
            with self.subTest("%s#%d" % (name, i)):
                hdrs = [(k, v) for k, v in headers
                        if k.lower() not in ("host", "authorization", "content-length", "connection")]
                hdrs.append(("Authorization", self.basic))
                c = self.conn("https")
                r = c.request(method, path, body, hdrs)
                self.assertIn(r.status, (200, 500), self.diag(r))
                assert_soap_content_type(self, r)
                if not body.strip():
                    # wsl put sometimes posts an empty body: not XML, so SchemaValidationError
                    self.assertEqual(r.status, 500, self.diag(r))
                    f = fx.fault_info(r.body)
                    self.assertEqual(f["subcode_local"], "SchemaValidationError", f)
                    continue
                req = fx.parse_xml(body)
                if req.find("s:Body/wsmid:Identify", fx.NS) is not None:
                    self.assertEqual(r.status, 200, self.diag(r))
                    self.assertEqual(fx.identify_info(r.body)["ProductVendor"], "vsnapd")
                    continue
                root = fx.parse_xml(r.body)
                if r.status == 500:
                    f = fx.fault_info(r.body)
                    self.assertNotIn(f["subcode_local"], ("SchemaValidationError", "EncodingLimit"), f)
                    self.assertNotIn((f["code"] or "").rpartition(":")[2], ("MustUnderstand", "VersionMismatch"), f)
                else:
                    self.assertIsNone(root.find("s:Body/s:Fault", fx.NS), r)
                mid = req.find("s:Header/wsa:MessageID", fx.NS)
                if mid is not None:
                    rel = root.find("s:Header/wsa:RelatesTo", fx.NS)
                    self.assertIsNotNone(rel, "no wsa:RelatesTo: %r" % r)
                    self.assertEqual((rel.text or "").strip(), (mid.text or "").strip(), r)


def get_variant(message_id="uuid:11111111-2222-3333-4444-555555555555", to="http://127.0.0.1:5985/wsman",
                env_prefix="s", must_understand=' %s:mustUnderstand="true"'):
    mu = must_understand % env_prefix if "%s" in must_understand else must_understand
    if env_prefix:
        e, decl = env_prefix + ":", 'xmlns:%s="http://www.w3.org/2003/05/soap-envelope"' % env_prefix
    else:
        e, decl = "", 'xmlns="http://www.w3.org/2003/05/soap-envelope"'
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<{e}Envelope {decl} xmlns:wsa="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:wsman="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"><{e}Header>'
        "<wsa:To>{to}</wsa:To>"
        "<wsman:ResourceURI{mu}>http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ComputerSystem</wsman:ResourceURI>"
        "<wsa:ReplyTo><wsa:Address{mu}>http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous</wsa:Address></wsa:ReplyTo>"
        "<wsa:Action{mu}>http://schemas.xmlsoap.org/ws/2004/09/transfer/Get</wsa:Action>"
        "<wsa:MessageID{mu}>{mid}</wsa:MessageID>"
        "<wsman:OperationTimeout>PT60.0S</wsman:OperationTimeout>"
        "</{e}Header><{e}Body/></{e}Envelope>"
    ).format(e=e, decl=decl, to=to, mu=mu, mid=message_id)


class WireTolerance(DaemonCase):
    """The 'what the server must tolerate' list of wire-rules.md, for what the daemon serves now."""

    def post(self, body, ct=SOAP_CT):
        return self.conn("https").request("POST", "/wsman", body,
                                          [("Content-Type", ct), ("Authorization", self.basic)])

    def assert_answered(self, r, mid):
        self.assertEqual(r.status, 500, self.diag(r))
        assert_soap_content_type(self, r)
        f = fx.fault_info(r.body)
        # The Get names no instance (no selectors): reaching the selector check proves every
        # header was accepted.
        self.assertEqual((f["subcode_ns"], f["subcode_local"]), (fx.NS["wsman"], "InvalidSelectors"), f)
        self.assertEqual(f["relates_to"] or "", mid, f)

    def test_message_id_formats_echoed(self):
        for mid in ("uuid:0f135042-6894-4709-8b98-762df78956f2", "0f135042-6894-4709-8b98-762df78956f2",
                    "12345", ""):
            with self.subTest(mid):
                self.assert_answered(self.post(get_variant(message_id=mid)), mid)

    def test_wsa_to_variants(self):
        for to in ("http://windows-host:5985/wsman", "/wsman"):
            with self.subTest(to):
                self.assert_answered(self.post(get_variant(to=to)), "uuid:11111111-2222-3333-4444-555555555555")

    def test_must_understand_variants(self):
        for mu in (' %s:mustUnderstand="true"', ' mustUnderstand="true"', ""):
            with self.subTest(mu):
                self.assert_answered(self.post(get_variant(must_understand=mu)),
                                     "uuid:11111111-2222-3333-4444-555555555555")

    def test_envelope_prefixes(self):
        for prefix in ("env", "soap", ""):
            with self.subTest(prefix or "default namespace"):
                self.assert_answered(self.post(get_variant(env_prefix=prefix)),
                                     "uuid:11111111-2222-3333-4444-555555555555")

    def test_identify_envelope_variants(self):
        bodies = [
            fx.IDENTIFY_XML,
            '<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Header/><Body>'
            '<Identify xmlns="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"/></Body></Envelope>',
            '<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" '
            'xmlns:id="http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd"><env:Header/>'
            '<env:Body><id:Identify></id:Identify></env:Body></env:Envelope>',
        ]
        for i, body in enumerate(bodies):
            with self.subTest(i):
                r = self.post(body, ct="Application/SOAP+XML; Charset=utf-8")
                self.assertEqual(r.status, 200, self.diag(r))
                self.assertEqual(fx.identify_info(r.body)["ProductVendor"], "vsnapd")


class CustomRealm(DaemonCase):
    CONFIG = '[auth]\nrealm = "lab"\n'

    def digest_status(self, user, password, alg):
        c = self.conn("http")
        r = c.request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers())
        self.assertEqual(r.status, 200, self.diag(r))  # anonymous Identify on by default
        r = c.request("POST", "/wsman", fx.transfer_get_xml(), soap_headers())
        self.assertEqual(r.status, 401, self.diag(r))
        ch = fx.parse_challenges(r.header_all("WWW-Authenticate"))
        self.assertTrue(ch)
        for scheme, p in ch:
            self.assertEqual(p.get("realm"), "lab", ch)
        dig = [p for sch, p in ch if sch.lower() == "digest" and p.get("algorithm", "MD5").upper() == alg]
        self.assertTrue(dig, ch)
        # authenticated non-Identify request -> 500 ActionNotSupported; bad credentials -> 401
        return self.conn("http").request("POST", "/wsman", fx.transfer_get_xml(),
                                         soap_headers(fx.digest_auth(dig[0], user, password))).status

    def test_digest_with_configured_realm(self):
        for alg in ("SHA-256", "MD5"):
            with self.subTest(alg):
                self.assertEqual(self.digest_status(self.d.admin_user, self.d.admin_password, alg), 500)

    def test_user_added_with_config_digest_authenticates(self):
        res = self.d.cli(["user", "add", "dora", "--role", "operator", "--config", self.d.config_path],
                         input="Dora-pw-4242\n")
        self.assertEqual(res.returncode, 0, res)
        mark = self.d.log_count()
        self.d.send_signal(signal.SIGHUP)
        self.d.wait_for_log(r"\sinfo server reloaded\b", timeout=10, start=mark)
        self.assertEqual(self.digest_status("dora", "Dora-pw-4242", "SHA-256"), 500)
        self.assertEqual(self.digest_status("dora", "wrong-pw", "SHA-256"), 401)


class BasicDisabled(DaemonCase):
    CONFIG = "[auth]\nbasic = false\n"

    def test_no_basic_challenge_and_basic_refused(self):
        c = self.conn("https")
        r = c.request("POST", "/wsman", fx.transfer_get_xml(), soap_headers())
        self.assertEqual(r.status, 401, self.diag(r))
        schemes = [s.lower() for s, _ in fx.parse_challenges(r.header_all("WWW-Authenticate"))]
        self.assertIn("digest", schemes)
        self.assertNotIn("basic", schemes)
        r = self.conn("https").request("POST", "/wsman", fx.transfer_get_xml(), soap_headers(self.basic))
        self.assertEqual(r.status, 401, self.diag(r))


class DigestDisabled(DaemonCase):
    CONFIG = "[auth]\ndigest = false\n"

    def test_no_digest_challenge_basic_works(self):
        r = self.conn("https").request("POST", "/wsman", fx.transfer_get_xml(), soap_headers())
        self.assertEqual(r.status, 401, self.diag(r))
        schemes = [s.lower() for s, _ in fx.parse_challenges(r.header_all("WWW-Authenticate"))]
        self.assertEqual(schemes, ["basic"], r)
        r = self.conn("https").request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers(self.basic))
        self.assertEqual(r.status, 200, self.diag(r))


class DefaultConfig(DaemonCase):
    CONFIG = None

    def test_anonymous_identify_default_on(self):
        r = self.conn("http").request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers())
        self.assertEqual(r.status, 200, self.diag(r))
        self.assertEqual(fx.identify_info(r.body)["ProductVendor"], "vsnapd")

    def test_unauthenticated_non_identify_401(self):
        r = self.conn("http").request("POST", "/wsman", fx.transfer_get_xml(), soap_headers())
        self.assertEqual(r.status, 401, self.diag(r))


class Lockout(DaemonCase):
    CONFIG = "[auth]\nmax_failures = 3\nfailure_window_seconds = 60\nlockout_seconds = 60\n"

    def post(self, password):
        c = self.conn("https")
        return c.request("POST", "/wsman", fx.transfer_get_xml(),
                         soap_headers(fx.basic_auth(self.d.admin_user, password)))

    def test_repeated_failures_lead_to_429(self):
        bad = "definitely-not-" + self.d.admin_password
        statuses = []
        for _ in range(2):  # below max_failures: plain 401
            statuses.append(self.post(bad).status)
        self.assertEqual(statuses, [401, 401], self.d.log_tail(10))
        third = self.post(bad)  # the 3rd failure may itself already answer 429
        self.assertIn(third.status, (401, 429), self.diag(third))
        r = self.post(bad)
        self.assertEqual(r.status, 429, self.diag(r))
        # the address is locked out: even the right password is refused
        r = self.post(self.d.admin_password)
        self.assertEqual(r.status, 429, self.diag(r))
        ra = r.header("Retry-After")
        self.assertIsNotNone(ra, r)
        self.assertRegex(ra, r"^\d+$", r)
        self.assertTrue(0 < int(ra) <= 60, r)


class ReloadAndSignals(DaemonCase):
    CONFIG = "[auth]\nanonymous_identify = false\n"

    def test_sighup_keeps_connection_and_loads_new_user(self):
        bob = ("bob", "B0b-secret-%s" % uuid.uuid4().hex[:8])
        bob_auth = fx.basic_auth(*bob)
        keep = self.conn("https")
        r = keep.request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers(self.basic))
        self.assertEqual(r.status, 200, self.diag(r))
        r = self.conn("https").request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers(bob_auth))
        self.assertEqual(r.status, 401, "bob authenticated before being added: %r" % r)

        res = self.d.cli(["user", "add", bob[0], "--role", "reader"], input=bob[1] + "\n")
        self.assertEqual(res.returncode, 0, res)
        mark = self.d.log_count()
        self.d.send_signal(signal.SIGHUP)
        self.d.wait_for_log(r"\sinfo server reloaded\b", timeout=10, start=mark)
        self.assertTrue(self.d.running())

        # the keep-alive connection opened before the reload still works (same socket)
        r = keep.request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers(self.basic))
        self.assertEqual(r.status, 200, self.diag(r))
        r = keep.request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers(bob_auth))
        self.assertEqual(r.status, 200, self.diag(r))
        # and on a fresh connection
        r = self.conn("https").request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers(bob_auth))
        self.assertEqual(r.status, 200, self.diag(r))
        self.assertEqual(fx.identify_info(r.body)["ProductVendor"], "vsnapd")


    def test_sighup_reloads_certificate(self):
        keep = self.conn("https")
        r = keep.request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers(self.basic))
        self.assertEqual(r.status, 200, self.diag(r))
        old_fp = fx.cert_fingerprint_from_der(keep.peer_cert_der())
        work = tempfile.mkdtemp(prefix="vsnapd-it-cert-")
        self.addCleanup(shutil.rmtree, work, True)
        cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-subj", "/CN=vsnapd-reloaded", "-days", "2", "-keyout", key, "-out", cert],
                       check=True, capture_output=True, timeout=30, env=fx.client_env())
        with open(cert, encoding="ascii") as f:
            new_fp = fx.cert_fingerprint_from_der(ssl.PEM_cert_to_DER_cert(f.read()))
        self.assertNotEqual(new_fp, old_fp)
        tls = os.path.join(self.d.state_dir, "tls")
        shutil.copy(key, os.path.join(tls, "key.pem.new"))
        shutil.copy(cert, os.path.join(tls, "cert.pem.new"))
        os.replace(os.path.join(tls, "key.pem.new"), os.path.join(tls, "key.pem"))
        os.replace(os.path.join(tls, "cert.pem.new"), os.path.join(tls, "cert.pem"))
        mark = self.d.log_count()
        self.d.send_signal(signal.SIGHUP)
        self.d.wait_for_log(r"\sinfo server reloaded\b", timeout=10, start=mark)
        fresh = self.conn("https")
        self.assertEqual(fx.cert_fingerprint_from_der(fresh.peer_cert_der()), new_fp)
        r = fresh.request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers(self.basic))
        self.assertEqual(r.status, 200, self.diag(r))
        # the TLS connection made with the old certificate keeps working
        r = keep.request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers(self.basic))
        self.assertEqual(r.status, 200, self.diag(r))


class Shutdown(unittest.TestCase):

    def check_signal_exit(self, sig):
        d = fx.Vsnapd()
        self.addCleanup(d.close)
        d.start()
        port = d.port("http")
        idle = d.connect("http")  # an idle keep-alive connection must not block the shutdown
        self.addCleanup(idle.close)
        r = idle.request("POST", "/wsman", fx.IDENTIFY_XML, soap_headers())
        self.assertEqual(r.status, 200, r)
        t0 = time.monotonic()
        self.assertEqual(d.stop(timeout=10, sig=sig), 0)
        self.assertLess(time.monotonic() - t0, 10)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()

    def test_sigterm_exits_0(self):
        self.check_signal_exit(signal.SIGTERM)

    def test_sigint_exits_0(self):
        self.check_signal_exit(signal.SIGINT)


if __name__ == "__main__":
    unittest.main(verbosity=2)
