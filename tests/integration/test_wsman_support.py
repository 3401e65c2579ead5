"""Shared helpers for the WS-Man real-client tests (test_wsman_pywinrm, test_wsman_wsl, test_wsman_curl).

No tests here. These tests run vsnapd-testd (path in $VSNAPD_TESTD_BIN, set by tests.cmake),
which serves the fixture namespace root/vsnapd/test (tests/fixtures/mof/root_vsnapd_test.mof):
Vsnapd_TestElement E0..E<n-1> (n = $VSNAPD_TEST_ELEMENTS), Vsnapd_TestSubElement S0..S2,
Vsnapd_TestLink E<i> -> E<i+1>, and the methods Echo, Fail and the static Noop.

Envelopes are written the way Windows writes them (MS-WSMV section 4.1 examples plus the session
headers of wire-rules.md section 4.2), as raw text, so what is tested is the wire form.
"""

import os
import re
import sys
import uuid
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import vsnapd_fixture as fx  # noqa: E402

_HERE = os.path.dirname(os.path.abspath(__file__))
_DEFAULT_TESTD = os.path.normpath(os.path.join(_HERE, "..", "..", "build", "bin", "vsnapd-testd"))

# Every daemon these tests start is vsnapd-testd: vsnapd_fixture starts $VSNAPD_BIN.
os.environ["VSNAPD_BIN"] = os.environ.get("VSNAPD_TESTD_BIN") or _DEFAULT_TESTD

TEST_NS = "root/vsnapd/test"
DMTF_PREFIX = "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/"
WMI_PREFIX = "http://schemas.microsoft.com/wbem/wsman/1/wmi/"
ALL_CLASSES_URI = "http://schemas.dmtf.org/wbem/wscim/1/*"
ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"

ACT_GET = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Get"
ACT_ENUMERATE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Enumerate"
ACT_PULL = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Pull"
ACT_RELEASE = "http://schemas.xmlsoap.org/ws/2004/09/enumeration/Release"

WQL_MS = "http://schemas.microsoft.com/wbem/wsman/1/WQL"
WQL_DMTF = "http://schemas.dmtf.org/wbem/wsman/1/WQL"
CQL = "http://schemas.dmtf.org/wbem/cql/1/dsp0202.pdf"
ASSOC_DIALECT = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding/associationFilter"

NS = dict(fx.NS)
NS.update({
    "wsen": "http://schemas.xmlsoap.org/ws/2004/09/enumeration",
    "wsmb": "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd",
    "cim": "http://schemas.dmtf.org/wbem/wscim/1/common",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
    "f": "http://schemas.microsoft.com/wbem/wsman/1/wsmanfault",
    "p": "http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd",
})

# python3-winrm turns a fault whose WSManFault Code is this into WinRMOperationTimeoutError.
WSMAN_TIMEOUT_CODE = "2150858793"


def class_uri(cls):
    return DMTF_PREFIX + cls


def wmi_uri(cls, ns=TEST_NS):
    return WMI_PREFIX + ns + "/" + cls


def message_id():
    return "uuid:" + str(uuid.uuid4()).upper()


def selector_set(selectors):
    """selectors: [(name, text-or-raw-xml)] or dict. Values starting with '<' are raw XML (EPRs)."""
    if not selectors:
        return ""
    items = selectors.items() if isinstance(selectors, dict) else selectors
    out = []
    for name, value in items:
        v = value if value.startswith("<") else escape(value)
        out.append('<w:Selector Name="%s">%s</w:Selector>' % (name, v))
    return "<w:SelectorSet>%s</w:SelectorSet>" % "".join(out)


def envelope(action, resource_uri, body="", selectors=None, headers="", mid=None,
             to="http://windows-host:5985/wsman", max_envelope=512000, timeout="PT60.000S",
             body_ns=""):
    """A request as WinRM writes it: a/w/p prefixes, mustUnderstand on the addressing headers,
    MaxEnvelopeSize, Locale, DataLocale and the Microsoft session headers (which the server must
    accept and ignore), wsa:To naming some other host."""
    mid = mid or message_id()
    ts = "<w:OperationTimeout>%s</w:OperationTimeout>" % timeout if timeout else ""
    return (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:n="http://schemas.xmlsoap.org/ws/2004/09/enumeration" '
        'xmlns:w="http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd" '
        'xmlns:p="http://schemas.microsoft.com/wbem/wsman/1/wsman.xsd" '
        'xmlns:b="http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"%s>'
        "<s:Header>"
        "<a:To>%s</a:To>"
        '<w:ResourceURI s:mustUnderstand="true">%s</w:ResourceURI>'
        '<a:ReplyTo><a:Address s:mustUnderstand="true">%s</a:Address></a:ReplyTo>'
        '<a:Action s:mustUnderstand="true">%s</a:Action>'
        '<w:MaxEnvelopeSize s:mustUnderstand="true">%d</w:MaxEnvelopeSize>'
        "<a:MessageID>%s</a:MessageID>"
        '<w:Locale xml:lang="en-US" s:mustUnderstand="false"/>'
        '<p:DataLocale xml:lang="en-US" s:mustUnderstand="false"/>'
        '<p:SessionId s:mustUnderstand="false">uuid:%s</p:SessionId>'
        '<p:OperationID s:mustUnderstand="false">uuid:%s</p:OperationID>'
        '<p:SequenceId s:mustUnderstand="false">1</p:SequenceId>'
        "%s%s%s"
        "</s:Header>"
        "<s:Body>%s</s:Body>"
        "</s:Envelope>"
    ) % (body_ns, to, resource_uri, ANONYMOUS, action, max_envelope, mid,
         str(uuid.uuid4()).upper(), str(uuid.uuid4()).upper(),
         selector_set(selectors), ts, headers, body)


def ns_selector(extra=None):
    sel = [("__cimnamespace", TEST_NS)]
    if extra:
        sel += list(extra.items()) if isinstance(extra, dict) else list(extra)
    return sel


def get_xml(cls, instance_id, mid=None, **kw):
    return envelope(ACT_GET, class_uri(cls), selectors=ns_selector({"InstanceID": instance_id}),
                    mid=mid, **kw)


def enumerate_xml(resource_uri, selectors=None, optimize=False, max_elements=None, mode=None,
                  filter_xml="", estimate=False, mid=None, **kw):
    parts = []
    if optimize:
        parts.append("<w:OptimizeEnumeration/>")
    if max_elements is not None:
        parts.append("<w:MaxElements>%d</w:MaxElements>" % max_elements)
    if mode:
        parts.append("<w:EnumerationMode>%s</w:EnumerationMode>" % mode)
    parts.append(filter_xml)
    headers = "<w:RequestTotalItemsCountEstimate/>" if estimate else ""
    return envelope(ACT_ENUMERATE, resource_uri, "<n:Enumerate>%s</n:Enumerate>" % "".join(parts),
                    selectors=selectors, headers=headers, mid=mid, **kw)


def pull_xml(resource_uri, context, max_elements=None, selectors=None, mid=None,
             max_characters=None, max_time=None, **kw):
    parts = ["<n:EnumerationContext>%s</n:EnumerationContext>" % escape(context)]
    if max_time:
        parts.append("<n:MaxTime>%s</n:MaxTime>" % max_time)
    if max_elements is not None:
        parts.append("<n:MaxElements>%d</n:MaxElements>" % max_elements)
    if max_characters is not None:
        parts.append("<n:MaxCharacters>%d</n:MaxCharacters>" % max_characters)
    return envelope(ACT_PULL, resource_uri, "<n:Pull>%s</n:Pull>" % "".join(parts),
                    selectors=selectors, mid=mid, **kw)


def release_xml(resource_uri, context, selectors=None, mid=None):
    return envelope(ACT_RELEASE, resource_uri,
                    "<n:Release><n:EnumerationContext>%s</n:EnumerationContext></n:Release>"
                    % escape(context), selectors=selectors, mid=mid)


def wql_filter(query, dialect=WQL_MS):
    return '<w:Filter Dialect="%s">%s</w:Filter>' % (dialect, escape(query))


def epr(cls, instance_id, ns=TEST_NS, wrapped=False, address=ANONYMOUS, extra_selectors=()):
    """An EPR to a fixture element: bare (Address + ReferenceParameters children) or wrapped
    in a:EndpointReference."""
    sel = [("InstanceID", instance_id)] + list(extra_selectors)
    if ns is not None:
        sel.append(("__cimnamespace", ns))
    inner = ("<a:Address>%s</a:Address><a:ReferenceParameters>"
             "<w:ResourceURI>%s</w:ResourceURI>%s</a:ReferenceParameters>"
             % (address, class_uri(cls), selector_set(sel)))
    return "<a:EndpointReference>%s</a:EndpointReference>" % inner if wrapped else inner


def assoc_filter(kind, cls, instance_id, extra=""):
    """DSP0227 association filter: kind is AssociatedInstances (associators) or
    AssociationInstances (references)."""
    return ('<w:Filter Dialect="%s"><b:%s><b:Object>%s</b:Object>%s</b:%s></w:Filter>'
            % (ASSOC_DIALECT, kind, epr(cls, instance_id), extra, kind))


def invoke_xml(cls, method, params_xml, selectors=None, resource_uri=None, mid=None, **kw):
    uri = resource_uri or class_uri(cls)
    body = '<p:%s_INPUT xmlns:p="%s">%s</p:%s_INPUT>' % (method, uri, params_xml, method)
    return envelope(uri + "/" + method, uri, body, selectors=selectors, mid=mid, **kw)


# ---------------------------------------------------------------- responses

def parse(xml_bytes):
    return ET.fromstring(xml_bytes if isinstance(xml_bytes, bytes) else xml_bytes.encode("utf-8"))


def local(tag):
    return tag.rpartition("}")[2]


def relates_to(root):
    e = root.find("s:Header/wsa:RelatesTo", NS)
    return e.text.strip() if e is not None and e.text else None


def action_of(root):
    e = root.find("s:Header/wsa:Action", NS)
    return e.text.strip() if e is not None and e.text else None


class EnumPage:
    """One EnumerateResponse or PullResponse: its items, context and end-of-sequence flag."""

    def __init__(self, root):
        body = root.find("s:Body", NS)
        resp = body[0] if len(body) else None
        if resp is None or local(resp.tag) not in ("EnumerateResponse", "PullResponse"):
            raise AssertionError("not an Enumerate/PullResponse: %r" % ET.tostring(root)[:600])
        self.kind = local(resp.tag)
        ctx = resp.find("wsen:EnumerationContext", NS)
        self.context = ctx.text.strip() if ctx is not None and ctx.text and ctx.text.strip() else None
        self.has_context_element = ctx is not None
        # Optimized Enumerate: wsman:Items / wsman:EndOfSequence; Pull: wsen:Items / wsen:EndOfSequence.
        items = resp.find("wsman:Items", NS)
        if items is None:
            items = resp.find("wsen:Items", NS)
        self.items = list(items) if items is not None else []
        self.end = (resp.find("wsman:EndOfSequence", NS) is not None
                    or resp.find("wsen:EndOfSequence", NS) is not None)
        est = root.find("s:Header/wsman:TotalItemsCountEstimate", NS)
        self.estimate_present = est is not None
        # xsi:nil: the service cannot tell (yet); DSP0226 allows that answer.
        self.estimate_nil = est is not None and est.get("{%s}nil" % NS["xsi"]) in ("true", "1")
        self.estimate = int(est.text) if est is not None and est.text and est.text.strip() else None


def props(elem):
    """An instance element's properties: local name -> text, or list of texts when repeated;
    None for xsi:nil."""
    out = {}
    for child in elem:
        name = local(child.tag)
        if child.get("{%s}nil" % NS["xsi"]) in ("true", "1"):
            val = None
        elif len(child):
            val = child
        else:
            val = child.text or ""
        if name in out:
            if not isinstance(out[name], list):
                out[name] = [out[name]]
            out[name].append(val)
        else:
            out[name] = val
    return out


def epr_selectors(epr_elem):
    """ResourceURI and selectors of an EPR element (a:EndpointReference or its content)."""
    rp = epr_elem.find("wsa:ReferenceParameters", NS)
    if rp is None:
        raise AssertionError("EPR without ReferenceParameters: %r" % ET.tostring(epr_elem)[:600])
    uri = rp.find("wsman:ResourceURI", NS)
    sels = {}
    for s in rp.findall("wsman:SelectorSet/wsman:Selector", NS):
        sels[s.get("Name")] = s if len(s) else (s.text or "").strip()
    return (uri.text or "").strip() if uri is not None else None, sels


def instance_index(elem):
    """Index of a fixture element from its InstanceID (E<i> / S<i>), as ('E', i)."""
    p = props(elem)
    m = re.match(r"^([ES])(\d+)$", p.get("InstanceID") or "")
    if not m:
        raise AssertionError("unexpected InstanceID in %r" % p)
    return m.group(1), int(m.group(2))


class TestdCase(fx.DaemonTestCase):
    """One vsnapd-testd per test class, with ELEMENTS generated elements and optional users
    (name, role) made before start with the daemon's own `user add`."""

    ELEMENTS = 10000
    HTTP = False
    USERS = ()

    @classmethod
    def setUpClass(cls):
        fx.scrub_process_env()
        old = os.environ.get("VSNAPD_TEST_ELEMENTS")
        os.environ["VSNAPD_TEST_ELEMENTS"] = str(cls.ELEMENTS)
        try:
            cls.d = fx.Vsnapd(config=cls.CONFIG, http=cls.HTTP, https=cls.HTTPS)
            cls.passwords = {}
            for name, role in cls.USERS:
                password = "Pw-" + uuid.uuid4().hex
                r = cls.d.cli(["user", "add", name, "--role", role], input=password + "\n")
                if r.returncode != 0:
                    cls.d.close()
                    raise AssertionError("user add %s failed: %s%s" % (name, r.stdout, r.stderr))
                cls.passwords[name] = password
            cls.d.start()
        finally:
            if old is None:
                os.environ.pop("VSNAPD_TEST_ELEMENTS", None)
            else:
                os.environ["VSNAPD_TEST_ELEMENTS"] = old
        if cls.d.admin_user:
            cls.passwords[cls.d.admin_user] = cls.d.admin_password

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()  # stops the daemon and asserts exit status 0
        finally:
            # Sanitizer builds report on stderr without always changing the exit status
            # (UBSan keeps running): any report fails the class.
            reports = [line for line in cls.d.log_lines()
                       if "runtime error:" in line or "Sanitizer" in line]
        if reports:
            raise AssertionError("sanitizer report in the vsnapd-testd log:\n" + "\n".join(reports[:20]))
