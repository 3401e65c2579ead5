"""vsnapd against pywinrm (Debian python3-winrm), via winrm.protocol.Protocol.send_message."""

import os
import sys
import unittest
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import vsnapd_fixture as fx  # noqa: E402

fx.scrub_process_env()

import winrm  # noqa: E402
import winrm.exceptions  # noqa: E402
from winrm.protocol import Protocol  # noqa: E402


def protocol(endpoint, user, password, transport, testcase=None):
    p = Protocol(endpoint=endpoint, transport=transport, username=user, password=password,
                 server_cert_validation="ignore", read_timeout_sec=30, operation_timeout_sec=20)
    if testcase is not None:
        testcase.addCleanup(_close_session, p)
    return p


def _close_session(p):
    session = getattr(p.transport, "session", None)
    if session is not None:
        session.close()


class PywinrmDefaultConfig(fx.DaemonTestCase):
    """Daemon with the default configuration (Basic over plain HTTP refused)."""

    def test_fixture_recorded_startup_facts(self):
        self.assertEqual(self.d.admin_user, "admin")
        self.assertTrue(self.d.admin_password)
        self.assertRegex(self.d.fingerprint or "", r"^[0-9A-F]{2}(:[0-9A-F]{2}){31}$")
        self.assertGreater(self.d.port("http"), 0)
        self.assertGreater(self.d.port("https"), 0)
        self.assertNotEqual(self.d.port("http"), self.d.port("https"))

    def test_identify_https_basic(self):
        p = protocol(self.d.url("https"), self.d.admin_user, self.d.admin_password, "basic", self)
        resp = p.send_message(fx.IDENTIFY_XML)
        info = fx.identify_info(resp)
        self.assertEqual(info["ProductVendor"], "vsnapd")
        self.assertEqual(info["ProductVersion"], "0.1.0")
        self.assertEqual(info["ProtocolVersion"], fx.WSMAN_PROTOCOL_VERSION)
        self.assertTrue(info["SecurityProfiles"], "IdentifyResponse lacks wsmid:SecurityProfiles")

    def test_identify_https_ssl_transport(self):
        # transport='ssl' without a client cert is pywinrm's other name for Basic over HTTPS
        p = protocol(self.d.url("https"), self.d.admin_user, self.d.admin_password, "ssl", self)
        info = fx.identify_info(p.send_message(fx.IDENTIFY_XML))
        self.assertEqual(info["ProductVendor"], "vsnapd")

    def test_bad_password_https(self):
        p = protocol(self.d.url("https"), self.d.admin_user, self.d.admin_password + "-wrong", "basic", self)
        with self.assertRaises(winrm.exceptions.InvalidCredentialsError):
            p.send_message(fx.transfer_get_xml())

    def test_unknown_user_https(self):
        p = protocol(self.d.url("https"), "nosuchuser", "whatever", "basic", self)
        with self.assertRaises(winrm.exceptions.InvalidCredentialsError):
            p.send_message(fx.transfer_get_xml())

    def test_unsupported_action_https(self):
        p = protocol(self.d.url("https"), self.d.admin_user, self.d.admin_password, "basic", self)
        with self.assertRaises(winrm.exceptions.WinRMError) as cm:
            p.send_message(fx.unsupported_action_xml(endpoint=self.d.url("https")))
        # not the 401 subclass: the credentials were fine
        self.assertNotIsInstance(cm.exception, winrm.exceptions.InvalidCredentialsError)
        msg = str(cm.exception)
        self.assertIn("wsa:ActionNotSupported", msg)
        self.assertIn("'http_status_code': 500", msg)

    def test_basic_over_plain_http_refused_403(self):
        p = protocol(self.d.url("http"), self.d.admin_user, self.d.admin_password, "plaintext", self)
        with self.assertRaises(winrm.exceptions.WinRMTransportError) as cm:
            p.send_message(fx.IDENTIFY_XML)
        self.assertEqual(cm.exception.code, 403)


class PywinrmAllowUnencrypted(fx.DaemonTestCase):
    """Daemon with [auth] allow_unencrypted = true: Basic over plain HTTP works."""

    CONFIG = "[auth]\nallow_unencrypted = true\n"

    def test_identify_http_plaintext(self):
        p = protocol(self.d.url("http"), self.d.admin_user, self.d.admin_password, "plaintext", self)
        info = fx.identify_info(p.send_message(fx.IDENTIFY_XML))
        self.assertEqual(info["ProductVendor"], "vsnapd")
        self.assertEqual(info["ProductVersion"], "0.1.0")
        self.assertEqual(info["ProtocolVersion"], fx.WSMAN_PROTOCOL_VERSION)

    def test_identify_http_basic(self):
        p = protocol(self.d.url("http"), self.d.admin_user, self.d.admin_password, "basic", self)
        info = fx.identify_info(p.send_message(fx.IDENTIFY_XML))
        self.assertEqual(info["ProductVendor"], "vsnapd")

    def test_bad_password_http(self):
        p = protocol(self.d.url("http"), self.d.admin_user, "x" + self.d.admin_password, "plaintext", self)
        with self.assertRaises(winrm.exceptions.InvalidCredentialsError):
            p.send_message(fx.transfer_get_xml())

    def test_unsupported_action_http(self):
        p = protocol(self.d.url("http"), self.d.admin_user, self.d.admin_password, "plaintext", self)
        mid = "uuid:" + str(uuid.uuid4())
        with self.assertRaises(winrm.exceptions.WinRMError) as cm:
            p.send_message(fx.unsupported_action_xml(message_id=mid))
        self.assertNotIsInstance(cm.exception, winrm.exceptions.InvalidCredentialsError)
        self.assertIn("wsa:ActionNotSupported", str(cm.exception))

    def test_several_requests_one_session(self):
        # pywinrm keeps one requests.Session (keep-alive); several round trips must work
        p = protocol(self.d.url("http"), self.d.admin_user, self.d.admin_password, "plaintext", self)
        for _ in range(5):
            self.assertEqual(fx.identify_info(p.send_message(fx.IDENTIFY_XML))["ProductVendor"], "vsnapd")


if __name__ == "__main__":
    unittest.main(verbosity=2)
