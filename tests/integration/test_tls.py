"""vsnapd's TLS: client-certificate authentication (curl and python3-winrm's certificate
transport), session resumption, the protocol and cipher floor, and the connection cap."""

import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import vsnapd_fixture as fx  # noqa: E402

import winrm.exceptions  # noqa: E402
import winrm.protocol  # noqa: E402


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_pki(d):
    """A CA and three client certificates it signed: two mapped to users, one not."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test CA", cwd=d)
    for name, subject in (("bysubject", "/O=Example/CN=automation"),
                          ("byhash", "/CN=hashed"),
                          ("stranger", "/CN=stranger")):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", cwd=d)
    out = subprocess.run(["openssl", "x509", "-in", "byhash.pem", "-noout", "-fingerprint",
                          "-sha256"], cwd=d, check=True, capture_output=True, text=True).stdout
    return out.strip().split("=", 1)[1]


class ClientCertificates(fx.DaemonTestCase):
    HTTP = False

    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="vsnapd-it-pki-")
        fingerprint = make_pki(cls.pki)
        config = (
            "[tls]\n"
            f'client_ca = "{cls.pki}/ca.pem"\n'
            "[[tls.client_certificate]]\n"
            'user = "admin"\n'
            'subject = "CN=automation,O=Example"\n'
            "[[tls.client_certificate]]\n"
            'user = "admin"\n'
            f'sha256 = "{fingerprint}"\n'
            "[auth]\nanonymous_identify = false\n")
        cls.CONFIG = config
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.pki, ignore_errors=True)

    def curl(self, cert=None, body=fx.IDENTIFY_XML):
        args = ["curl", "-s", "-k", "-o", "-", "-w", "\n%{http_code}", "-H",
                "Content-Type: application/soap+xml;charset=UTF-8", "--data-binary", "@-",
                self.d.url("https")]
        if cert:
            args[1:1] = ["--cert", f"{self.pki}/{cert}.pem", "--key", f"{self.pki}/{cert}.key"]
        out = subprocess.run(args, input=body if isinstance(body, bytes) else body.encode(),
                             capture_output=True, env=fx.client_env(), timeout=30)
        text = out.stdout.decode(errors="replace")
        return int(text.rsplit("\n", 1)[1]), text

    def test_certificate_mapped_by_subject_authenticates(self):
        status, body = self.curl("bysubject")
        self.assertEqual(status, 200, body)
        self.assertIn("IdentifyResponse", body)
        self.assertIn("secprofile/https/mutual", body)

    def test_certificate_mapped_by_fingerprint_authenticates(self):
        status, body = self.curl("byhash", fx.unsupported_action_xml())
        self.assertEqual(status, 500, body)  # authenticated: the action itself is refused
        self.assertIn("wsa:ActionNotSupported", body)

    def test_unmapped_certificate_is_challenged(self):
        status, _ = self.curl("stranger")
        self.assertEqual(status, 401)

    def test_no_certificate_is_challenged(self):
        status, _ = self.curl(None)
        self.assertEqual(status, 401)

    def test_pywinrm_certificate_transport(self):
        p = winrm.protocol.Protocol(self.d.url("https"), transport="certificate",
                                    cert_pem=f"{self.pki}/bysubject.pem",
                                    cert_key_pem=f"{self.pki}/bysubject.key",
                                    server_cert_validation="ignore")
        self.assertIn(b"IdentifyResponse", p.send_message(fx.IDENTIFY_XML))
        with self.assertRaises(winrm.exceptions.WinRMError) as ctx:
            p.send_message(fx.unsupported_action_xml())
        self.assertIn("wsa:ActionNotSupported", str(ctx.exception))


class ProtocolFloorAndResumption(fx.DaemonTestCase):
    HTTP = False

    def handshake(self, context):
        with socket.create_connection(("127.0.0.1", self.d.port("https")), timeout=10) as raw:
            with context.wrap_socket(raw) as s:
                return s.version(), s.cipher()[0]

    def client_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx

    def test_tls_1_1_is_refused(self):
        ctx = self.client_context()
        # Lower the client's own floor so that only the server can be the one refusing.
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        with self.assertRaises(ssl.SSLError):
            self.handshake(ctx)

    def test_non_forward_secret_cipher_is_refused(self):
        ctx = self.client_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers("AES128-GCM-SHA256:AES256-GCM-SHA384")  # RSA key exchange only
        with self.assertRaises(ssl.SSLError):
            self.handshake(ctx)

    def test_tls_1_2_negotiates_ecdhe_aead(self):
        ctx = self.client_context()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        version, cipher = self.handshake(ctx)
        self.assertEqual(version, "TLSv1.2")
        self.assertTrue(cipher.startswith("ECDHE-"), cipher)
        self.assertTrue("GCM" in cipher or "CHACHA20" in cipher, cipher)

    def resumed(self, maximum):
        ctx = self.client_context()
        ctx.maximum_version = maximum
        request = (b"POST /wsman HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml\r\n"
                   b"Content-Length: %d\r\n\r\n" % len(fx.IDENTIFY_XML)) + fx.IDENTIFY_XML.encode()
        session = None
        reused = []
        for _ in range(2):
            with socket.create_connection(("127.0.0.1", self.d.port("https")), timeout=10) as raw:
                with ctx.wrap_socket(raw, session=session) as s:
                    s.sendall(request)
                    data = b""
                    while b"</s:Envelope>" not in data:  # TLS 1.3 tickets arrive with data
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    self.assertIn(b"IdentifyResponse", data)
                    reused.append(s.session_reused)
                    session = s.session
        return reused

    def test_tls_1_2_session_is_resumed(self):
        self.assertEqual(self.resumed(ssl.TLSVersion.TLSv1_2), [False, True])

    def test_tls_1_3_session_is_resumed(self):
        self.assertEqual(self.resumed(ssl.TLSVersion.TLSv1_3), [False, True])


class ConnectionCap(unittest.TestCase):
    def test_connections_past_the_cap_get_503_and_room_returns(self):
        with fx.Vsnapd(config="[limits]\nmax_connections = 2\n", https=False) as d:
            held = [fx.HttpConn("127.0.0.1", d.port("http")) for _ in range(2)]
            for c in held:  # a completed request proves the server registered the connection
                self.assertEqual(c.request("POST", body=fx.IDENTIFY_XML.encode(),
                                           headers=[("Content-Type", "application/soap+xml")]).status, 200)
            with fx.HttpConn("127.0.0.1", d.port("http")) as third:
                self.assertEqual(third.read_response().status, 503)
            d.wait_for_log(r"max_connections \(2\) reached")
            held[0].close()
            # The slot frees once the server has seen the close; retry for a bounded time.
            status = None
            for _ in range(50):
                with fx.HttpConn("127.0.0.1", d.port("http")) as c:
                    try:
                        status = c.request("POST", body=fx.IDENTIFY_XML.encode(),
                                           headers=[("Content-Type", "application/soap+xml")]).status
                    except (ConnectionError, OSError, AssertionError):
                        status = None
                if status == 200:
                    break
                time.sleep(0.05)  # nothing is logged when a client leaves, so poll briefly
            self.assertEqual(status, 200)
            held[1].close()


if __name__ == "__main__":
    unittest.main()
