"""vsnapd's CIM-XML endpoint driven by the real wbemcli (Debian sblim-wbemcli) against vsnapd-testd.

Every wbemcli operation the issue names (ei, ein, gi, gc, ec, ecn, ai, ain, ri, rin, gp, cm on an
instance and on a static method, mi, ci, di) runs over HTTP and over HTTPS with -cacert <the
daemon's generated certificate>; HTTPS with -noverify runs one test of each kind.  All against
the fixture namespace root/vsnapd/test (Vsnapd_TestElement E0..E{n-1}, Vsnapd_TestSubElement
S0..S2, Vsnapd_TestLink E<i> -> E<i+1>).  The failure cases check wbemcli's exit status (16) and the exact text it prints
on stderr, which for CIM errors is the server's ERROR CODE and DESCRIPTION.

One daemon serves the whole module (its own state dir, port-0 listeners), so ctest can run this
file beside the other integration tests.  Mutating tests use keys of their own per transport.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import vsnapd_fixture as fx  # noqa: E402

NAMESPACE = "root/vsnapd/test"
ELEMENTS = 8           # E0..E7: small, so every listing is checked element by element
SUBELEMENTS = ("S0", "S1", "S2")
WBEMCLI = shutil.which("wbemcli") or "/usr/bin/wbemcli"
WBEMCLI_TIMEOUT = 60   # generous for sanitizer builds; a healthy call takes milliseconds
WBEMCLI_FAILED = 16    # wbemcli's exit status for every abnormal termination (wbemcli(1))

# Basic over plain HTTP is what wbemcli does (it never answers a Digest challenge), so the
# HTTP transport needs allow_unencrypted; the failure throttle must not trip on the 401 tests.
CONFIG = "[auth]\nallow_unencrypted = true\nmax_failures = 1000\n"


def testd_bin():
    """vsnapd-testd: tests.cmake sets VSNAPD_TESTD_BIN; by hand, the default build dir."""
    path = os.environ.get("VSNAPD_TESTD_BIN") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        "build", "bin", "vsnapd-testd")
    if not os.access(path, os.X_OK):
        raise AssertionError("vsnapd-testd not found at %r (set VSNAPD_TESTD_BIN)" % path)
    return path


class CimxmlDaemon(fx.Vsnapd):
    """vsnapd-testd with only the CIM-XML listeners (HTTP and HTTPS) on free ports."""

    def __init__(self, elements, config=CONFIG):
        # The command line's last word wins over the fixture's "--cimxml-http ''".
        super().__init__(config=config, http=False, https=False,
                         extra_args=["--cimxml-http", "127.0.0.1:0", "--cimxml-https", "127.0.0.1:0"])
        self.elements = elements

    def start(self, timeout=fx.START_TIMEOUT):
        # fx.Vsnapd passes os.environ on to the daemon (client_env) and runs $VSNAPD_BIN.
        os.environ["VSNAPD_BIN"] = testd_bin()
        os.environ["VSNAPD_TEST_ELEMENTS"] = str(self.elements)
        super().start(timeout)
        missing = [n for n in ("cimxml-http", "cimxml-https") if n not in self.ports]
        if missing:
            msg = "no listener line for %s before 'server ready'\n%s" % (missing, self.log_tail())
            self.close()
            raise AssertionError(msg)
        return self

    def cimxml_port(self, scheme):
        return self.ports["cimxml-" + scheme]

    @property
    def certificate(self):
        return os.path.join(self.state_dir, "tls", "cert.pem")


SANITIZER_REPORT = re.compile(r"ERROR: (Address|Leak|Thread|UndefinedBehavior)Sanitizer|"
                              r"WARNING: ThreadSanitizer|runtime error: ")


def stop_checked(daemon):
    """Stop the daemon (exit status 0 asserted) and fail on any sanitizer report in its log:
    a report that does not abort (UBSan without halt_on_error) would otherwise go unseen."""
    try:
        daemon.stop()
    finally:
        daemon.close()
    reports = [line for line in daemon.log_lines() if SANITIZER_REPORT.search(line)]
    if reports:
        raise AssertionError("sanitizer report in the daemon's log:\n" + "\n".join(reports[:20]))


D = None


def setUpModule():
    global D
    fx.scrub_process_env()
    D = CimxmlDaemon(ELEMENTS)
    D.start()


def tearDownModule():
    if D is not None:
        stop_checked(D)


# ------------------------------------------------------------------ wbemcli output parsing

def parse_nl(text):
    """wbemcli -nl output -> [(path, {property: raw value})].

    Each object is its path on one line followed by one '-Name=value' line per property;
    -t marks keys with '#', arrays with '[]' and references with '&' (kept in the name)."""
    objects, current = [], None
    for line in text.splitlines():
        if not line.strip():
            current = None
        elif line.startswith("-") and current is not None:
            name, _, value = line[1:].partition("=")
            current[1][name] = value
        else:
            current = (line, {})
            objects.append(current)
    return objects


def instance_id(path):
    m = re.search(r'InstanceID="([^"]*)"', path)
    return m.group(1) if m else None


def run_wbemcli(args):
    # argv[0] "wbemcli" as a shell gives it: wbemcli names itself by argv[0] in its messages.
    return subprocess.run(["wbemcli"] + list(args), executable=WBEMCLI, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=WBEMCLI_TIMEOUT, env=fx.client_env())


def cim_error_text(code, description):
    """What wbemcli prints on stderr for <ERROR CODE=code DESCRIPTION=description>."""
    return "*\n* wbemcli: Cim: (%d) %s\n*\n" % (code, description)


class WbemcliCore:
    """Helpers and one test of each kind (enumeration, single object, method, life cycle,
    HTTP failure, CIM error); subclasses pick the transport (SCHEME, wbemcli TLS flags)."""

    SCHEME = "http"
    TAG = "http"   # keys of instances this transport creates, so transports never collide

    def tls_flags(self):
        return []

    # ------------------------------------------------------------ helpers
    def base(self, user=None, password=None):
        if user is None:
            user, password = D.admin_user, D.admin_password
        cred = "" if user == "" else "%s:%s@" % (user, password)
        return "%s://%s127.0.0.1:%d/%s" % (self.SCHEME, cred, D.cimxml_port(self.SCHEME), NAMESPACE)

    def obj(self, cls, keys=None, **kw):
        """Object path argument: base:Class[.Key="value",...]."""
        path = "%s:%s" % (self.base(**kw), cls)
        if keys:
            path += "." + ",".join('%s="%s"' % kv for kv in keys.items())
        return path

    def printed(self, cls, iid=None):
        """The object path wbemcli prints (no credentials, no scheme)."""
        p = "127.0.0.1:%d/%s:%s" % (D.cimxml_port(self.SCHEME), NAMESPACE, cls)
        return p + ('.InstanceID="%s"' % iid if iid is not None else "")

    def wbemcli(self, op, *args, flags=()):
        return run_wbemcli([op] + self.tls_flags() + list(flags) + list(args))

    def ok(self, op, *args, flags=()):
        r = self.wbemcli(op, *args, flags=flags)
        self.assertEqual(r.returncode, 0, self.diag(r))
        self.assertEqual(r.stderr, "", self.diag(r))
        return r.stdout

    def fails(self, op, *args, flags=()):
        r = self.wbemcli(op, *args, flags=flags)
        self.assertEqual(r.returncode, WBEMCLI_FAILED, self.diag(r))
        self.assertEqual(r.stdout, "", self.diag(r))
        return r.stderr

    def diag(self, r):
        return "\n$ %s\nexit %s\n--- stdout\n%s--- stderr\n%s\n%s" % (
            " ".join(r.args), r.returncode, r.stdout, r.stderr, D.log_tail(15))

    def element_ids(self):
        return ["E%d" % i for i in range(ELEMENTS)]

    # ------------------------------------------------------------ core: one of each kind
    def test_ei_lists_elements_and_subclass_instances(self):
        out = self.ok("ei", self.obj("Vsnapd_TestElement"), flags=["-nl", "-t"])
        objs = parse_nl(out)
        ids = [instance_id(p) for p, _ in objs]
        self.assertCountEqual(ids, self.element_ids() + list(SUBELEMENTS), out)
        by_id = {instance_id(p): (p, props) for p, props in objs}
        path, props = by_id["E3"]
        self.assertEqual(path, self.printed("Vsnapd_TestElement", "E3"))
        self.assertEqual(props["InstanceID#"], '"E3"')      # the key, marked as such
        self.assertEqual(props["Index"], "3")
        # The fixture's values for element 3 (tests/fixtures/test_fixture.cpp): XML-escaped
        # text, a negative sint64, a real, a datetime and a uint16 array.
        self.assertEqual(props["Name"], '"element 3 <&>"')
        self.assertEqual(props["Flag"], "FALSE")
        self.assertEqual(props["Big"], "-3000000021")
        self.assertEqual(props["Ratio"], "0.375")
        self.assertEqual(props["Created"], "20231114221323.000000+000")
        self.assertEqual(props["Codes[]"], "3,3")
        self.assertIn("Notes", props, out)
        sub_path, sub_props = by_id["S1"]
        self.assertEqual(sub_path, self.printed("Vsnapd_TestSubElement", "S1"))
        self.assertIn("Extra", sub_props)

    def test_gi_returns_one_instance(self):
        out = self.ok("gi", self.obj("Vsnapd_TestElement", {"InstanceID": "E5"}), flags=["-nl"])
        objs = parse_nl(out)
        self.assertEqual(len(objs), 1, out)
        path, props = objs[0]
        self.assertEqual(path, self.printed("Vsnapd_TestElement", "E5"))
        self.assertEqual(props["InstanceID"], '"E5"')
        self.assertEqual(props["Index"], "5")

    def test_cm_instance_method_echo(self):
        out = self.ok("cm", self.obj("Vsnapd_TestElement", {"InstanceID": "E1"}),
                      'Echo.Text="hello world",Numbers=1,2,3,When="20240102030405.000006+060"')
        first, _, rest = out.partition(" ")
        self.assertEqual(first, self.printed("Vsnapd_TestElement", "E1"))
        # wbemcli prints the typed RETURNVALUE and each out PARAMVALUE as "Name (type): value".
        self.assertEqual(rest, "Echo: 0, TextOut (string): hello world, NumbersOut (uint16): 1,2,3, "
                               "WhenOut (datetime): 20240102030405.000006+060\n")

    def test_ci_creates_and_di_deletes(self):
        iid = "C-%s" % self.TAG
        path = self.obj("Vsnapd_TestElement", {"InstanceID": iid})
        out = self.ok("ci", path, 'InstanceID="%s",Index=900,Name="made by wbemcli",Notes="new"' % iid)
        self.assertIn(self.printed("Vsnapd_TestElement", iid), out)
        props = parse_nl(self.ok("gi", path, flags=["-nl"]))[0][1]
        self.assertEqual(props["Index"], "900")
        self.assertEqual(props["Name"], '"made by wbemcli"')
        self.assertEqual(props["Notes"], '"new"')
        self.assertEqual(self.ok("di", path), "")
        err = self.fails("gi", path)
        self.assertRegex(err, r"^\*\n\* wbemcli: Cim: \(6\) .+\n\*\n$")

    def test_wrong_password_is_401(self):
        err = self.fails("ei", self.obj("Vsnapd_TestElement", user=D.admin_user, password="wrong"))
        self.assertEqual(err, "*\n* wbemcli: Http Exception: Invalid username/password.\n*\n")

    def test_unknown_class(self):
        err = self.fails("ei", self.obj("Vsnapd_NoSuchClass"))
        self.assertEqual(err, cim_error_text(5, "CIM_ERR_INVALID_CLASS: class Vsnapd_NoSuchClass does not "
                                                "exist in namespace root/vsnapd/test"))


class WbemcliFull(WbemcliCore):
    """Every other operation and failure case (HTTP and HTTPS -cacert run them all)."""

    # ------------------------------------------------------------ enumerations
    def test_ei_with_property_list_and_chunked_transfer(self):
        # -cte: wbemcli asks for chunked responses with trailers (TE: trailers).
        out = self.ok("ei", self.obj("Vsnapd_TestSubElement"), "Index,Extra", flags=["-nl", "-cte"])
        objs = parse_nl(out)
        self.assertEqual(sorted(instance_id(p) for p, _ in objs), list(SUBELEMENTS), out)
        for _, props in objs:
            self.assertEqual(set(props), {"Index", "Extra"}, out)

    def test_ein_lists_instance_names(self):
        out = self.ok("ein", self.obj("Vsnapd_TestElement"))
        expected = [self.printed("Vsnapd_TestElement", i) for i in self.element_ids()] + \
                   [self.printed("Vsnapd_TestSubElement", s) for s in SUBELEMENTS]
        self.assertCountEqual(out.splitlines(), expected, out)

    # ------------------------------------------------------------ single objects
    def test_gi_with_property_list(self):
        out = self.ok("gi", self.obj("Vsnapd_TestElement", {"InstanceID": "E2"}), "Index", flags=["-nl"])
        self.assertEqual(parse_nl(out), [(self.printed("Vsnapd_TestElement", "E2"), {"Index": "2"})])

    def test_gp_returns_the_property_value(self):
        out = self.ok("gp", self.obj("Vsnapd_TestElement", {"InstanceID": "E6"}), "Index")
        self.assertEqual(out, "6\n")

    def test_gc_returns_the_class_with_its_properties(self):
        out = self.ok("gc", self.obj("Vsnapd_TestSubElement"), flags=["-nl", "-t"])
        objs = parse_nl(out)
        self.assertEqual(len(objs), 1, out)
        path, props = objs[0]
        self.assertEqual(path, self.printed("Vsnapd_TestSubElement"))
        # Inherited properties included (LocalOnly=false), keys and arrays marked.
        for name in ("InstanceID#", "Index", "Name", "Flag", "Big", "Ratio", "Created", "Codes[]",
                     "Notes", "Extra"):
            self.assertIn(name, props, out)

    def test_ec_enumerates_subclasses(self):
        out = self.ok("ec", self.obj("Vsnapd_TestElement"), flags=["-nl"])
        objs = parse_nl(out)
        # A class prints as "path : superclass".
        self.assertEqual([p for p, _ in objs], [self.printed("Vsnapd_TestSubElement") + " : Vsnapd_TestElement"], out)
        self.assertIn("Extra", objs[0][1])

    def test_ecn_enumerates_class_names(self):
        out = self.ok("ecn", self.obj("Vsnapd_TestElement"))
        self.assertEqual(out.splitlines(), [self.printed("Vsnapd_TestSubElement")])
        everything = self.ok("ecn", self.base() + ":").splitlines()
        for cls in ("Vsnapd_TestElement", "Vsnapd_TestSubElement", "Vsnapd_TestLink"):
            self.assertIn(self.printed(cls), everything)

    # ------------------------------------------------------------ associations
    def test_ai_returns_both_neighbours(self):
        e1 = self.obj("Vsnapd_TestElement", {"InstanceID": "E1"})
        out = self.ok("ai", e1, flags=["-nl"])
        self.assertCountEqual([instance_id(p) for p, _ in parse_nl(out)], ["E0", "E2"], out)
        # Role Source: E1 is the Source of E1 -> E2 only.
        out = self.ok("ai", e1, flags=["-ac", "Vsnapd_TestLink", "-ar", "Source", "-arr", "Target"])
        objs = parse_nl(out)
        self.assertEqual([instance_id(p) for p, _ in objs], ["E2"], out)
        self.assertIn("Index=2", out)

    def test_ain_returns_neighbour_names(self):
        out = self.ok("ain", self.obj("Vsnapd_TestElement", {"InstanceID": "E4"}),
                      flags=["-arc", "Vsnapd_TestElement"])
        self.assertCountEqual([instance_id(line) for line in out.splitlines()], ["E3", "E5"], out)
        self.assertTrue(all("/%s:Vsnapd_TestElement." % NAMESPACE in line for line in out.splitlines()), out)

    def test_ri_returns_the_links(self):
        out = self.ok("ri", self.obj("Vsnapd_TestElement", {"InstanceID": "E1"}), flags=["-nl", "-t"])
        objs = parse_nl(out)
        self.assertEqual(len(objs), 2, out)
        weights_sources = []
        for path, props in objs:
            self.assertIn(":Vsnapd_TestLink.", path)
            self.assertIn("Source&#", props, out)   # key references, marked by -t
            self.assertIn("Target&#", props, out)
            self.assertIn("Weight", props, out)
            weights_sources.append(props["Source&#"])
        self.assertEqual(sum('InstanceID="E1"' in s for s in weights_sources), 1, out)
        self.assertEqual(sum('InstanceID="E0"' in s for s in weights_sources), 1, out)

    def test_rin_with_role_returns_one_link_name(self):
        out = self.ok("rin", self.obj("Vsnapd_TestElement", {"InstanceID": "E1"}), flags=["-ar", "Target"])
        lines = out.splitlines()
        self.assertEqual(len(lines), 1, out)
        self.assertIn(":Vsnapd_TestLink.", lines[0])
        # E1 is the Target only of E0 -> E1; the printed path names both ends (reference keys
        # nest a path, whose quotes wbemcli may print escaped).
        self.assertRegex(lines[0], r'InstanceID=\\*"E0\\*"')
        self.assertRegex(lines[0], r'InstanceID=\\*"E1\\*"')

    # ------------------------------------------------------------ methods
    def test_cm_reference_parameter(self):
        e1 = self.obj("Vsnapd_TestElement", {"InstanceID": "E1"})
        # A reference value is an unquoted object path; wbemcli prints it without the ':'.
        out = self.ok("cm", e1, 'Echo.Text="x",Target=%s:Vsnapd_TestElement.InstanceID="E2"' % NAMESPACE)
        self.assertEqual(out, '%s Echo: 0, TextOut (string): x, TargetOut (reference): '
                              '%sVsnapd_TestElement.InstanceID="E2"\n' % (self.printed("Vsnapd_TestElement", "E1"),
                                                                        NAMESPACE))
        # Echo returns 4 when Target names no instance: a method result, not a CIM error.
        out = self.ok("cm", e1, 'Echo.Target=%s:Vsnapd_TestElement.InstanceID="E999"' % NAMESPACE)
        self.assertRegex(out, r" Echo: 4\b")

    def test_cm_static_method_noop(self):
        out = self.ok("cm", self.obj("Vsnapd_TestElement"), "Noop")
        self.assertEqual(out, "%s Noop: 0\n" % self.printed("Vsnapd_TestElement"))

    # ------------------------------------------------------------ life cycle
    def test_mi_changes_a_writable_property(self):
        path = self.obj("Vsnapd_TestElement", {"InstanceID": {"http": "E0", "cacert": "E3"}[self.TAG]})
        note = "changed over %s" % self.TAG
        self.assertEqual(self.ok("mi", path, 'Notes="%s"' % note), "")
        props = parse_nl(self.ok("gi", path, flags=["-nl"]))[0][1]
        self.assertEqual(props["Notes"], '"%s"' % note)

    # ------------------------------------------------------------ failures
    def test_no_credentials_is_401(self):
        # The 401 challenge to a request without Authorization: wbemcli has nothing to retry with.
        err = self.fails("ei", self.obj("Vsnapd_TestElement", user=""))
        self.assertEqual(err, "*\n* wbemcli: Http Exception: Username/password required.\n*\n")

    def test_unknown_instance_key(self):
        err = self.fails("gi", self.obj("Vsnapd_TestElement", {"InstanceID": "E%d" % (ELEMENTS + 100)}))
        self.assertEqual(err, cim_error_text(6, 'CIM_ERR_NOT_FOUND: no Vsnapd_TestElement with InstanceID '
                                                '"E%d"' % (ELEMENTS + 100)))

    def test_key_that_is_not_a_key_property(self):
        err = self.fails("gi", self.obj("Vsnapd_TestElement", {"Name": "E1"}))
        self.assertEqual(err, cim_error_text(4, "CIM_ERR_INVALID_PARAMETER: 'Name' is not a key property "
                                                "of class Vsnapd_TestElement"))

    def test_unknown_method(self):
        err = self.fails("cm", self.obj("Vsnapd_TestElement", {"InstanceID": "E1"}), "NoSuchMethod")
        self.assertEqual(err, cim_error_text(17, "CIM_ERR_METHOD_NOT_FOUND: class Vsnapd_TestElement has "
                                                 "no method NoSuchMethod"))

    def test_bad_parameter_type(self):
        # wbemcli sends PARAMVALUEs without PARAMTYPE: the server types them from the class.
        err = self.fails("cm", self.obj("Vsnapd_TestElement", {"InstanceID": "E1"}), "Echo.Numbers=abc")
        self.assertEqual(err, cim_error_text(4, "CIM_ERR_INVALID_PARAMETER: parameter 'Numbers': 'abc' "
                                                "is not a valid uint16"))
        err = self.fails("cm", self.obj("Vsnapd_TestElement", {"InstanceID": "E1"}), "Echo.Numbers=70000")
        self.assertRegex(err, r"^\*\n\* wbemcli: Cim: \(4\) CIM_ERR_INVALID_PARAMETER: parameter "
                              r"'Numbers': .*70000.*\n\*\n$")

    def test_provider_error_from_a_method(self):
        # Fail(Code) makes the provider return that CIM status: it must travel as ERROR CODE.
        err = self.fails("cm", self.obj("Vsnapd_TestElement", {"InstanceID": "E1"}), "Fail.Code=7")
        self.assertEqual(err, cim_error_text(7, "CIM_ERR_NOT_SUPPORTED: Fail was asked to fail with CIM "
                                                "status 7"))


class WbemcliHttp(WbemcliFull, unittest.TestCase):
    SCHEME = "http"
    TAG = "http"

    def test_roles_limit_what_wbemcli_may_do(self):
        # A reader reads; an operator also invokes methods; only an admin changes instances.
        start = D.log_count()
        for name, role in (("viewer", "reader"), ("runner", "operator")):
            r = D.cli(["user", "add", name, "--role", role], input="pw-%s\n" % name)
            self.assertEqual(r.returncode, 0, r.stderr)
        D.send_signal(signal.SIGHUP)
        D.wait_for_log(r"reloaded users and certificate", start=start)
        e1 = {"InstanceID": "E1"}
        denied = r"^\*\n\* wbemcli: Cim: \(2\) CIM_ERR_ACCESS_DENIED.*\n\*\n$"
        viewer = dict(user="viewer", password="pw-viewer")
        runner = dict(user="runner", password="pw-runner")
        self.assertIn('InstanceID="E1"', self.ok("gi", self.obj("Vsnapd_TestElement", e1, **viewer)))
        self.assertRegex(self.fails("cm", self.obj("Vsnapd_TestElement", e1, **viewer), "Noop"), denied)
        self.assertRegex(self.fails("di", self.obj("Vsnapd_TestElement", e1, **viewer)), denied)
        self.assertRegex(self.ok("cm", self.obj("Vsnapd_TestElement", **runner), "Noop"), r" Noop: 0\n$")
        self.assertRegex(self.fails("mi", self.obj("Vsnapd_TestElement", e1, **runner), 'Notes="x"'), denied)
        self.ok("gi", self.obj("Vsnapd_TestElement", e1))   # E1 untouched, still there


class WbemcliHttpsNoverify(WbemcliCore, unittest.TestCase):
    # -noverify differs from -cacert only in how wbemcli treats the certificate: one test of
    # each kind is enough (keeps the module well under a minute under the sanitizers).
    SCHEME = "https"
    TAG = "noverify"

    def tls_flags(self):
        return ["-noverify"]


class WbemcliHttpsCacert(WbemcliFull, unittest.TestCase):
    SCHEME = "https"
    TAG = "cacert"

    def tls_flags(self):
        return ["-cacert", D.certificate]

    def test_without_noverify_or_cacert_the_self_signed_certificate_is_refused(self):
        # What makes the -cacert runs meaningful: the system CA bundle does not trust the daemon.
        r = run_wbemcli(["ei", self.obj("Vsnapd_TestElement")])
        self.assertEqual(r.returncode, WBEMCLI_FAILED, self.diag(r))
        self.assertEqual(r.stderr, "*\n* wbemcli: Http Exception: SSL peer certificate or SSH remote key "
                                   "was not OK\n*\n", self.diag(r))


if __name__ == "__main__":
    unittest.main()
