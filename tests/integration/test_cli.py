"""vsnapd command line: --version, --help, --check-config, user add/list/del, startup log."""

import os
import re
import shutil
import ssl
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import vsnapd_fixture as fx  # noqa: E402

GOOD_CONFIG = """\
# every key the contract documents, with legal values
[auth]
basic = true
digest = true
allow_unencrypted = false
anonymous_identify = true
realm = "vsnapd"
max_failures = 5
failure_window_seconds = 60
lockout_seconds = 60

[limits]
max_envelope_size = 512000
header_timeout_seconds = 10
request_timeout_seconds = 30
idle_timeout_seconds = 120
max_connections = 4096
"""

# (name, text, line number the error must be reported at)
BAD_CONFIGS = [
    ("unknown key", "[auth]\nbasic = true\nfrobnicate = 1\n", 3),
    ("unknown section", "[auth]\nbasic = true\n\n[nosuchsection]\nx = 1\n", 4),
    ("bad value type (string for integer)", "[limits]\nheader_timeout_seconds = 10\nmax_envelope_size = \"huge\"\n", 3),
    ("bad value type (string for bool)", "[auth]\n\nallow_unencrypted = \"yes\"\n", 3),
    ("bad value (negative timeout)", "[limits]\nheader_timeout_seconds = -5\n", 2),
    ("bad value (zero max_failures)", "[auth]\nrealm = \"x\"\nmax_failures = 0\n", 3),
    ("invalid TOML (unterminated table header)", "[auth]\nbasic = true\n[limits\nmax_connections = 10\n", 3),
    ("invalid TOML (bad bool literal)", "[auth]\nbasic = tru\n", 2),
    ("invalid TOML (unterminated string)", "[auth]\nbasic = true\nrealm = \"vsnapd\n", 3),
]


class CliBasics(unittest.TestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="vsnapd-it-cli-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_version(self):
        r = fx.run_cli(["--version"])
        self.assertEqual(r.returncode, 0, r)
        self.assertEqual(r.stdout.strip().splitlines()[0].strip(), "vsnapd 0.1.0", r)

    def test_help(self):
        r = fx.run_cli(["--help"])
        self.assertEqual(r.returncode, 0, r)
        out = r.stdout + r.stderr
        for opt in ("--state-dir", "--config", "--check-config", "--version"):
            self.assertIn(opt, out, "--help does not mention %s" % opt)

    def test_unknown_option_fails(self):
        r = fx.run_cli(["--no-such-option"])
        self.assertNotEqual(r.returncode, 0, r)

    def test_check_config_good_file(self):
        path = self.write("good.toml", GOOD_CONFIG)
        r = fx.run_cli(["--check-config", "--config", path])
        self.assertEqual(r.returncode, 0, r)

    def test_check_config_empty_file(self):
        path = self.write("empty.toml", "")
        r = fx.run_cli(["--check-config", "--config", path])
        self.assertEqual(r.returncode, 0, r)

    def test_check_config_bad_files(self):
        for i, (name, text, line) in enumerate(BAD_CONFIGS):
            with self.subTest(name):
                path = self.write("bad%d.toml" % i, text)
                r = fx.run_cli(["--check-config", "--config", path])
                self.assertNotEqual(r.returncode, 0, r)
                out = r.stdout + r.stderr
                self.assertIn("%s:%d:" % (path, line), out, r)

    def test_check_config_unloadable_certificate_fails(self):
        not_pem = self.write("cert.pem", "this is not a certificate\n")
        path = self.write("tls.toml", '[tls]\ncertificate = "%s"\n' % not_pem)
        r = fx.run_cli(["--check-config", "--config", path])
        self.assertNotEqual(r.returncode, 0, r)
        self.assertIn("cannot load TLS certificate " + not_pem, r.stdout + r.stderr)

    def test_check_config_missing_file(self):
        r = fx.run_cli(["--check-config", "--config", os.path.join(self.tmp, "nope.toml")])
        self.assertNotEqual(r.returncode, 0, r)

    def test_daemon_refuses_bad_config(self):
        path = self.write("bad.toml", "[auth]\nfrobnicate = 1\n")
        state = os.path.join(self.tmp, "state")
        os.mkdir(state)
        r = fx.run_cli(["--state-dir", state, "--wsman-http", "127.0.0.1:0", "--wsman-https", "",
                        "--cimxml-http", "", "--cimxml-https", "", "--config", path], timeout=10)
        self.assertNotEqual(r.returncode, 0, r)
        self.assertIn("%s:2:" % path, r.stdout + r.stderr, r)


class Users(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        # initialise a state dir the normal way (first start creates admin + cert), then stop
        cls.d = fx.Vsnapd(http=True, https=True)
        cls.d.start()
        cls.first_log = cls.d.log_lines()
        try:
            cls.d.stop()
        except BaseException:
            cls.d.close()
            raise
        cls.state = cls.d.state_dir
        cls.users_file = os.path.join(cls.state, "users")

    @classmethod
    def tearDownClass(cls):
        cls.d.close()

    def users_bytes(self):
        with open(self.users_file, "rb") as f:
            return f.read()

    def list_users(self):
        r = fx.run_cli(["user", "list", "--state-dir", self.state])
        self.assertEqual(r.returncode, 0, r)
        return r.stdout

    def listed(self, out, name):
        return re.search(r"(^|\W)%s(\W|$)" % re.escape(name), out) is not None

    def test_startup_log_format(self):
        self.assertTrue(self.first_log)
        for line in self.first_log:
            self.assertRegex(line, fx.LOG_LINE_RE, "log line not `<UTC time> <level> <component> ...`")

    def test_initial_admin_and_cert_created(self):
        self.assertEqual(self.d.admin_user, "admin")
        self.assertTrue(self.d.admin_password)
        self.assertTrue(os.path.isfile(self.users_file))
        with open(os.path.join(self.state, "tls", "cert.pem"), encoding="ascii") as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        self.assertTrue(os.path.isfile(os.path.join(self.state, "tls", "key.pem")))
        self.assertEqual(fx.normalize_fingerprint(fx.cert_fingerprint_from_der(der)),
                         fx.normalize_fingerprint(self.d.fingerprint))
        self.assertNotIn(self.d.admin_password.encode(), self.users_bytes())
        self.assertTrue(self.listed(self.list_users(), "admin"))

    def test_second_start_does_not_recreate_admin(self):
        d2 = fx.Vsnapd(state_dir=self.state)
        self.addCleanup(d2.close)
        d2.start()
        d2.stop()
        joined = "\n".join(d2.log_lines())
        self.assertNotIn("created initial administrator", joined)
        self.assertNotIn(self.d.admin_password, joined)
        with open(os.path.join(self.state, "tls", "cert.pem"), encoding="ascii") as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        self.assertEqual(fx.normalize_fingerprint(fx.cert_fingerprint_from_der(der)),
                         fx.normalize_fingerprint(self.d.fingerprint), "certificate was regenerated")

    def test_user_add_list_del_round_trip(self):
        name, password = "alice", "Al1ce-pa55word-x9"
        r = fx.run_cli(["user", "add", name, "--role", "operator", "--state-dir", self.state],
                       input=password + "\n")
        self.assertEqual(r.returncode, 0, r)
        self.assertNotIn(password, r.stdout + r.stderr)
        out = self.list_users()
        self.assertTrue(self.listed(out, name), out)
        line = [l for l in out.splitlines() if self.listed(l, name)]
        self.assertTrue(line and "operator" in line[0], out)
        self.assertTrue(self.listed(out, "admin"), out)
        self.assertNotIn(password, out)
        data = self.users_bytes()
        self.assertIn(name.encode(), data)
        self.assertNotIn(password.encode(), data)

        r = fx.run_cli(["user", "del", name, "--state-dir", self.state])
        self.assertEqual(r.returncode, 0, r)
        out = self.list_users()
        self.assertFalse(self.listed(out, name), out)
        self.assertTrue(self.listed(out, "admin"), out)
        self.assertNotIn(name.encode(), self.users_bytes())

    def test_user_add_each_role(self):
        for role in ("admin", "operator", "reader"):
            with self.subTest(role):
                name, password = "u_" + role, "Pw-for-" + role + "-123"
                r = fx.run_cli(["user", "add", name, "--role", role, "--state-dir", self.state],
                               input=password + "\n")
                self.assertEqual(r.returncode, 0, r)
                self.assertNotIn(password.encode(), self.users_bytes())
                out = self.list_users()
                line = [l for l in out.splitlines() if self.listed(l, name)]
                self.assertTrue(line and role in line[0], out)
                r = fx.run_cli(["user", "del", name, "--state-dir", self.state])
                self.assertEqual(r.returncode, 0, r)

    def test_user_add_bad_role_refused(self):
        r = fx.run_cli(["user", "add", "mallory", "--role", "superuser", "--state-dir", self.state],
                       input="Whatever-123\n")
        self.assertNotEqual(r.returncode, 0, r)
        self.assertFalse(self.listed(self.list_users(), "mallory"))

    def test_user_add_refuses_password_in_argv(self):
        secret = "ArgvSecret-987"
        attempts = [
            ["user", "add", "carol", "--role", "reader", "--password", secret],
            ["user", "add", "carol", "--role", "reader", "--password=" + secret],
            ["user", "add", "carol", secret, "--role", "reader"],
        ]
        for args in attempts:
            with self.subTest(" ".join(args)):
                r = fx.run_cli(args + ["--state-dir", self.state], input="")
                self.assertNotEqual(r.returncode, 0, r)
                data = self.users_bytes()
                self.assertNotIn(secret.encode(), data)
                self.assertNotIn(b"carol", data)

    def test_user_del_unknown_fails(self):
        r = fx.run_cli(["user", "del", "nobody-here", "--state-dir", self.state])
        self.assertNotEqual(r.returncode, 0, r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
