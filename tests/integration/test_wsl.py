"""vsnapd against wsl (Debian package wsl: bash + curl WS-Man command line).

wsl reads its target from WSENDPOINT (host:port), WSUSER, WSPASS; WSNOSSL=true selects http,
otherwise it uses https with `curl --insecure` (unless ./<WSENDPOINT>.crt exists).  It writes
~/.wsl-config, ./.wslrun, ./log.txt, ./request-N.xml, ./response-N.xml and ./response.xml, so every
run gets its own HOME and working directory.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import vsnapd_fixture as fx  # noqa: E402

WSL = "/usr/bin/wsl"
_SHELL_SAFE = re.compile(r"^[A-Za-z0-9._+/=@%^~-]+$")


class WslIdentify(fx.DaemonTestCase):
    # anonymous_identify off: a 200 IdentifyResponse proves wsl's credentials were accepted.
    CONFIG = "[auth]\nallow_unencrypted = true\nanonymous_identify = false\n"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.user, cls.password = cls.d.admin_user, cls.d.admin_password
        # wsl pastes the password unquoted into a `bash -c "curl ..."` command line; the
        # generated password's URL-safe base64 alphabet must stay shell-safe for that.
        if not _SHELL_SAFE.match(cls.password or ""):
            cls.d.close()  # tearDownClass does not run when setUpClass fails
            raise AssertionError("admin password is not shell-safe for wsl: %r" % cls.password)

    def run_wsl(self, scheme, user, password):
        work = tempfile.mkdtemp(prefix="vsnapd-it-wsl-")
        self.addCleanup(shutil.rmtree, work, True)
        env = fx.client_env({
            "HOME": work,
            "SHELL": "/bin/bash",
            "WSENDPOINT": "127.0.0.1:%d" % self.d.port(scheme),
            "WSUSER": user,
            "WSPASS": password,
            "OUTLEVEL": "1",
            "IPINTERACTIVE": "0",
        })
        env.pop("WSNOSSL", None)
        if scheme == "http":
            env["WSNOSSL"] = "true"
        r = subprocess.run([WSL, "identify", "check"], cwd=work, env=env, stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=60)
        response_file = os.path.join(work, "response.xml")
        body = b""
        if os.path.exists(response_file):
            with open(response_file, "rb") as f:
                body = f.read()
        log = ""
        if os.path.exists(os.path.join(work, "log.txt")):
            with open(os.path.join(work, "log.txt"), encoding="utf-8", errors="replace") as f:
                log = f.read()
        return r, body, log

    def check_identify(self, scheme):
        r, body, log = self.run_wsl(scheme, self.user, self.password)
        diag = "wsl rc=%d\nstdout:\n%s\nstderr:\n%s\nlog.txt:\n%s\n%s" % (
            r.returncode, r.stdout, r.stderr, log, self.d.log_tail(15))
        self.assertEqual(r.returncode, 0, diag)
        self.assertIn("IdentifyResponse", r.stdout, diag)
        self.assertRegex(r.stdout, r"<(\w+:)?ProductVendor>vsnapd</(\w+:)?ProductVendor>", diag)
        info = fx.identify_info(body)
        self.assertEqual(info["ProductVendor"], "vsnapd")
        self.assertEqual(info["ProductVersion"], "0.1.0")
        self.assertEqual(info["ProtocolVersion"], fx.WSMAN_PROTOCOL_VERSION)

    def test_identify_http(self):
        self.check_identify("http")

    def test_identify_https_insecure(self):
        self.check_identify("https")

    def test_identify_wrong_password_gets_no_response(self):
        r, body, log = self.run_wsl("https", self.user, self.password + "x")
        self.assertNotIn("IdentifyResponse", r.stdout)
        self.assertNotIn(b"IdentifyResponse", body)


if __name__ == "__main__":
    unittest.main(verbosity=2)
