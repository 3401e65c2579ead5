"""WS-Man operations through python3-winrm (Debian 0.3.0) against vsnapd-testd over HTTPS + Basic.

Every request goes through winrm.protocol.Protocol.send_message with a raw envelope written the
way Windows writes it (test_wsman_support.envelope), so this is what pywinrm-based tools see:
replies as bytes, SOAP faults as winrm.exceptions.WinRMError carrying pywinrm's "extended fault
data" (HTTP status, code, subcode, WSManFault Code), the Windows timeout code as
WinRMOperationTimeoutError and non-SOAP HTTP errors as WinRMTransportError.
"""

import ast
import os
import re
import sys
import unittest
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import test_wsman_support as ws  # noqa: E402  (sets VSNAPD_BIN to vsnapd-testd)
import vsnapd_fixture as fx  # noqa: E402

fx.scrub_process_env()

import winrm.exceptions  # noqa: E402
from winrm.protocol import Protocol  # noqa: E402

EL = "Vsnapd_TestElement"
SUB = "Vsnapd_TestSubElement"
LINK = "Vsnapd_TestLink"
ELEMENTS = 10000


def protocol(endpoint, user, password):
    return Protocol(endpoint=endpoint, transport="basic", username=user, password=password,
                    server_cert_validation="ignore", read_timeout_sec=60, operation_timeout_sec=50)


def close_protocol(p):
    session = getattr(p.transport, "session", None)
    if session is not None:
        session.close()


_FAULT_DATA = re.compile(r"\(extended fault data: (\{.*\})\)\s*$", re.S)


def fault_data(exc):
    """The dict pywinrm 0.3.0 puts into WinRMError's message for a SOAP fault."""
    m = _FAULT_DATA.search(str(exc))
    if not m:
        raise AssertionError("WinRMError without fault data: %s" % exc)
    return ast.literal_eval(m.group(1))


def datetime_text(elem):
    """A DSP0230 datetime property: cim:Datetime child (or bare text)."""
    dt = elem.find("cim:Datetime", ws.NS) if isinstance(elem, ET.Element) else None
    if dt is not None:
        return (dt.text or "").strip()
    return (elem.text or "").strip() if isinstance(elem, ET.Element) else elem


def cimxml_instance_props(text):
    """PROPERTY NAME -> VALUE text of a CIM-XML <INSTANCE> given as text."""
    inst = ET.fromstring(text.strip())
    if inst.tag != "INSTANCE":
        raise AssertionError("not an INSTANCE: %r" % text[:300])
    out = {"__class__": inst.get("CLASSNAME")}
    for p in inst:
        v = p.find("VALUE")
        out[p.get("NAME")] = v.text if v is not None else None
    return out


def embedded_props(elem):
    """Properties of an embedded instance as the server returned it: a DSP0230 element (the
    class element as child, or the properties directly under the xsi:typed parameter) or an
    escaped CIM-XML INSTANCE string."""
    if len(elem):
        child = elem[0]
        if ws.local(child.tag) in (EL, SUB):
            d = {k: v for k, v in ws.props(child).items()}
            d["__class__"] = ws.local(child.tag)
            return d
        d = dict(ws.props(elem))
        d["__class__"] = (elem.get("{%s}type" % ws.NS["xsi"]) or "").rpartition(":")[2].replace("_Type", "")
        return d
    text = elem.text or ""
    if "<INSTANCE" in text:
        return cimxml_instance_props(text)
    raise AssertionError("no embedded instance in %r" % ET.tostring(elem)[:400])


class WinrmCase(ws.TestdCase):
    """Shared pywinrm session (keep-alive) as admin."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.d.admin_user or next(n for n, r in cls.USERS if r == "admin")
        cls.p = protocol(cls.d.url("https"), cls.admin, cls.passwords[cls.admin])

    @classmethod
    def tearDownClass(cls):
        close_protocol(cls.p)
        super().tearDownClass()

    def send(self, xml, p=None, expect_action=None):
        """send_message; asserts RelatesTo echoes the MessageID and returns the parsed reply."""
        mid = re.search(r"<a:MessageID>([^<]*)</a:MessageID>", xml).group(1)
        try:
            raw = (p or self.p).send_message(xml)
        except winrm.exceptions.WinRMError as e:
            raise AssertionError("unexpected fault: %s\n%s" % (e, self.d.log_tail(10)))
        self.assertIsNotNone(raw, "pywinrm returned nothing (a 5xx without s:Fault?)")
        root = ws.parse(raw)
        self.assertEqual(ws.relates_to(root), mid)
        if expect_action:
            self.assertEqual(ws.action_of(root), expect_action)
        return root

    def fault(self, xml, p=None):
        """Sends a request that must fault; returns pywinrm's fault data."""
        with self.assertRaises(winrm.exceptions.WinRMError) as cm:
            (p or self.p).send_message(xml)
        self.assertNotIsInstance(cm.exception, winrm.exceptions.InvalidCredentialsError)
        data = fault_data(cm.exception)
        self.assertEqual(data.get("http_status_code"), 500, data)
        # Windows clients read the WSManFault Code where there is one; it must be a number.
        if "wsmanfault_code" in data:
            self.assertRegex(data["wsmanfault_code"], r"^\d+$", data)
        return data

    def assert_fault(self, xml, subcode, code="s:Sender", p=None, wsman_code=None):
        data = self.fault(xml, p)
        self.assertEqual((data.get("fault_subcode") or "").rpartition(":")[2], subcode, data)
        self.assertEqual((data.get("fault_code") or "").rpartition(":")[2], code.rpartition(":")[2], data)
        if wsman_code is not None:
            self.assertEqual(data.get("wsmanfault_code"), str(wsman_code), data)
        return data

    def enumerate_all(self, uri, selectors, optimize, mode=None, max_elements=1000, filter_xml="",
                      pull_max=None):
        """Enumerate and Pull to the end; returns (pages, items). Checks the context rules:
        every non-final page carries a context, the final one none."""
        root = self.send(ws.enumerate_xml(uri, selectors, optimize=optimize, max_elements=max_elements if optimize else None,
                                          mode=mode, filter_xml=filter_xml),
                         expect_action=ws.ACT_ENUMERATE + "Response")
        page = ws.EnumPage(root)
        pages = [page]
        items = list(page.items)
        if not optimize:
            self.assertEqual(page.items, [], "items in a non-optimized EnumerateResponse")
        limit = pull_max or max_elements
        while not page.end:
            self.assertIsNotNone(page.context, "no EnumerationContext before EndOfSequence")
            self.assertLess(len(pages), 20000 // max(1, limit) + 50, "pull does not end")
            root = self.send(ws.pull_xml(uri, page.context, max_elements=limit, selectors=selectors),
                             expect_action=ws.ACT_PULL + "Response")
            page = ws.EnumPage(root)
            self.assertLessEqual(len(page.items), limit, "Pull returned more than MaxElements")
            pages.append(page)
            items += page.items
        self.assertIsNone(page.context, "final response still carries an EnumerationContext")
        return pages, items


class WsmanPywinrm(WinrmCase):
    ELEMENTS = ELEMENTS

    # ------------------------------------------------------------------ Get
    def check_element(self, elem, i):
        p = ws.props(elem)
        self.assertEqual(p["InstanceID"], "E%d" % i)
        self.assertEqual(p["Index"], str(i))
        self.assertEqual(p["Name"], "element %d <&>" % i)
        self.assertEqual(p["Flag"], "true" if i % 2 == 0 else "false")
        self.assertEqual(int(p["Big"]), -i * 1000000007)
        self.assertEqual(float(p["Ratio"]), i / 8.0)
        codes = p["Codes"] if isinstance(p["Codes"], list) else [p["Codes"]]
        self.assertEqual([int(c) for c in codes], [i % 7, i % 11])
        # 1,700,000,000 s + i s after the epoch: 2023-11-14T22:13:20Z + i
        secs = 20 + i
        want = "2023-11-14T22:%02d:%02d" % (13 + secs // 60, secs % 60) if secs < 2400 else None
        created = datetime_text(p["Created"])
        if want:
            self.assertRegex(created, "^" + want + r"(\.0+)?(Z|[+-]00:00)$")

    def test_get_element_by_dmtf_uri_and_namespace_selector(self):
        root = self.send(ws.get_xml(EL, "E42"), expect_action=ws.ACT_GET + "Response")
        body = root.find("s:Body", ws.NS)
        self.assertEqual(len(body), 1)
        inst = body[0]
        self.assertEqual(inst.tag, "{%s}%s" % (ws.class_uri(EL), EL))
        self.check_element(inst, 42)

    def test_get_element_by_windows_wmi_uri(self):
        root = self.send(ws.envelope(ws.ACT_GET, ws.wmi_uri(EL), selectors=[("InstanceID", "E7")]))
        inst = root.find("s:Body", ws.NS)[0]
        self.assertEqual(ws.local(inst.tag), EL)
        self.check_element(inst, 7)

    def test_get_interop_registered_profile_by_windows_uri(self):
        root = self.send(ws.envelope(ws.ACT_GET, ws.wmi_uri("CIM_RegisteredProfile", "root/interop"),
                                     selectors=[("InstanceID", "vsnapd:DSP1044-1.0.0")]))
        p = ws.props(root.find("s:Body", ws.NS)[0])
        self.assertEqual((p["RegisteredName"], p["RegisteredVersion"]), ("Virtual System Snapshot", "1.0.0"))

    def test_get_subclass_instance(self):
        root = self.send(ws.get_xml(SUB, "S1"))
        p = ws.props(root.find("s:Body", ws.NS)[0])
        self.assertEqual((p["InstanceID"], p["Extra"], p["Index"]), ("S1", "extra 1", "1"))

    def test_message_id_forms_echoed(self):
        for mid in ("uuid:" + "A" * 8 + "-1111-2222-3333-444455556666", "7", "bare-3f1c"):
            with self.subTest(mid=mid):
                self.send(ws.get_xml(EL, "E1", mid=mid))

    # ------------------------------------------------------------ Enumerate
    def check_all_elements(self, ids, subs=True):
        es = sorted(i for k, i in ids if k == "E")
        self.assertEqual(len(es), ELEMENTS, "duplicates or gaps in the E instances")
        self.assertEqual(es, list(range(ELEMENTS)))
        if subs:
            self.assertEqual(sorted(i for k, i in ids if k == "S"), [0, 1, 2])

    def test_enumerate_optimized_objects_all_10000(self):
        pages, items = self.enumerate_all(ws.class_uri(EL), ws.ns_selector(), optimize=True,
                                          max_elements=1000)
        self.assertEqual(pages[0].kind, "EnumerateResponse")
        self.assertEqual(len(pages[0].items), 1000, "optimized Enumerate ignored MaxElements")
        self.assertGreaterEqual(len(pages), 10)
        ids = [ws.instance_index(it) for it in items]
        self.check_all_elements(ids)
        by_id = {ws.props(it)["InstanceID"]: it for it in items}
        self.check_element(by_id["E1234"], 1234)
        self.assertEqual(ws.props(by_id["S2"])["Extra"], "extra 2")

    def test_enumerate_unoptimized_epr_all_10000(self):
        pages, items = self.enumerate_all(ws.class_uri(EL), ws.ns_selector(), optimize=False,
                                          mode="EnumerateEPR", max_elements=2500)
        ids = []
        for it in items:
            self.assertEqual(ws.local(it.tag), "EndpointReference")
            uri, sels = ws.epr_selectors(it)
            self.assertTrue(uri.endswith("/" + EL) or uri.endswith("/" + SUB), uri)
            m = re.match(r"^([ES])(\d+)$", sels.get("InstanceID", ""))
            self.assertTrue(m, sels)
            self.assertEqual(sels.get("__cimnamespace", ws.TEST_NS), ws.TEST_NS)
            ids.append((m.group(1), int(m.group(2))))
        self.check_all_elements(ids)

    def test_enumerate_unoptimized_object_and_epr_all_10000(self):
        pages, items = self.enumerate_all(ws.class_uri(EL), ws.ns_selector(), optimize=False,
                                          mode="EnumerateObjectAndEPR", max_elements=2500)
        ids = []
        for it in items:
            self.assertEqual(ws.local(it.tag), "Item")
            obj, ref = it[0], it[1]
            kind_index = ws.instance_index(obj)
            _, sels = ws.epr_selectors(ref)
            self.assertEqual(sels.get("InstanceID"), "%s%d" % kind_index)
            ids.append(kind_index)
        self.check_all_elements(ids)

    def test_enumerate_object_and_epr_pairs(self):
        for optimize in (True, False):
            with self.subTest(optimize=optimize):
                pages, items = self.enumerate_all(ws.class_uri(SUB), ws.ns_selector(), optimize=optimize,
                                                  mode="EnumerateObjectAndEPR", max_elements=2)
                self.assertEqual(len(items), 3)
                self.assertGreaterEqual(len(pages), 2 if optimize else 3)
                seen = set()
                for it in items:
                    self.assertEqual(ws.local(it.tag), "Item")
                    self.assertEqual(len(it), 2, ET.tostring(it)[:400])
                    obj, ref = it[0], it[1]
                    self.assertEqual(ws.local(obj.tag), SUB)
                    self.assertEqual(ws.local(ref.tag), "EndpointReference")
                    iid = ws.props(obj)["InstanceID"]
                    uri, sels = ws.epr_selectors(ref)
                    self.assertEqual(sels.get("InstanceID"), iid)
                    self.assertTrue(uri.endswith("/" + SUB), uri)
                    seen.add(iid)
                self.assertEqual(seen, {"S0", "S1", "S2"})

    def test_enumerate_by_windows_uri_without_selectors(self):
        pages, items = self.enumerate_all(ws.wmi_uri(SUB), None, optimize=True, max_elements=10)
        self.assertEqual(sorted(ws.props(i)["InstanceID"] for i in items), ["S0", "S1", "S2"])

    def test_total_items_count_estimate(self):
        # Every reply to a request asking for it carries the header: a number, or xsi:nil while
        # the provider is still streaming; once the end is reached, the exact count.
        ask = "<w:RequestTotalItemsCountEstimate/>"
        uri = ws.class_uri(SUB)
        page = ws.EnumPage(self.send(ws.enumerate_xml(uri, ws.ns_selector(), optimize=True,
                                                      max_elements=1, estimate=True)))
        self.assertTrue(page.estimate_present, "no wsman:TotalItemsCountEstimate in the reply header")
        self.assertTrue(page.estimate_nil or page.estimate == 3, page.estimate)
        self.assertEqual(len(page.items), 1)
        self.assertIsNotNone(page.context)
        page = ws.EnumPage(self.send(ws.pull_xml(uri, page.context, max_elements=10, selectors=ws.ns_selector(),
                                                 headers=ask)))
        self.assertEqual(len(page.items), 2)
        self.assertTrue(page.end)
        self.assertEqual(page.estimate, 3)

    def test_release_then_pull_is_invalid_context(self):
        uri = ws.class_uri(EL)
        root = self.send(ws.enumerate_xml(uri, ws.ns_selector()))
        ctx = ws.EnumPage(root).context
        self.assertIsNotNone(ctx)
        page = ws.EnumPage(self.send(ws.pull_xml(uri, ctx, max_elements=5, selectors=ws.ns_selector())))
        self.assertEqual(len(page.items), 5)
        self.assertIsNotNone(page.context)
        rel = self.send(ws.release_xml(uri, page.context, ws.ns_selector()),
                        expect_action=ws.ACT_RELEASE + "Response")
        self.assertIsNone(rel.find("s:Body/s:Fault", ws.NS))
        self.assert_fault(ws.pull_xml(uri, page.context, max_elements=5, selectors=ws.ns_selector()),
                          "InvalidEnumerationContext")

    def test_pull_max_characters_limits_the_page(self):
        uri = ws.class_uri(EL)
        ctx = ws.EnumPage(self.send(ws.enumerate_xml(uri, ws.ns_selector()))).context
        page = ws.EnumPage(self.send(ws.pull_xml(uri, ctx, max_elements=500, max_characters=3000,
                                                 selectors=ws.ns_selector())))
        self.assertGreaterEqual(len(page.items), 1)
        self.assertLess(len(page.items), 500, "MaxCharacters ignored")
        self.send(ws.release_xml(uri, page.context, ws.ns_selector()))

    # --------------------------------------------------------------- Invoke
    def echo(self, params_xml, target="E3"):
        root = self.send(ws.invoke_xml(EL, "Echo", params_xml, selectors=ws.ns_selector({"InstanceID": target})),
                         expect_action=ws.class_uri(EL) + "/EchoResponse")
        out = root.find("s:Body", ws.NS)[0]
        self.assertEqual(out.tag, "{%s}Echo_OUTPUT" % ws.class_uri(EL))
        return out

    def out_param(self, out, name):
        return out.find("{%s}%s" % (ws.class_uri(EL), name))

    def test_invoke_echo_scalars_arrays_datetime(self):
        out = self.echo("<p:Text>h\u00e9llo &lt;&amp;&gt;</p:Text><p:Numbers>1</p:Numbers><p:Numbers>65535</p:Numbers>"
                        "<p:Numbers>0</p:Numbers>"
                        '<p:When><cim:Datetime xmlns:cim="http://schemas.dmtf.org/wbem/wscim/1/common">'
                        "2024-02-29T12:34:56Z</cim:Datetime></p:When>")
        p = ws.props(out)
        self.assertEqual(p["ReturnValue"], "0")
        self.assertEqual(p["TextOut"], "h\u00e9llo <&>")
        self.assertEqual(p["NumbersOut"], ["1", "65535", "0"])
        self.assertRegex(datetime_text(p["WhenOut"]), r"^2024-02-29T12:34:56(\.0+)?(Z|[+-]00:00)$")

    def check_target_out(self, out, iid):
        t = self.out_param(out, "TargetOut")
        self.assertIsNotNone(t, ET.tostring(out)[:600])
        uri, sels = ws.epr_selectors(t.find("wsa:EndpointReference", ws.NS) if t.find("wsa:EndpointReference", ws.NS) is not None else t)
        self.assertTrue(uri.endswith("/" + EL), uri)
        self.assertEqual(sels.get("InstanceID"), iid)

    def test_invoke_echo_reference_bare_epr(self):
        out = self.echo("<p:Target>%s</p:Target>" % ws.epr(EL, "E9"))
        self.assertEqual(ws.props(out)["ReturnValue"], "0")
        self.check_target_out(out, "E9")

    def test_invoke_echo_reference_wrapped_epr(self):
        out = self.echo("<p:Target>%s</p:Target>" % ws.epr(EL, "E11", wrapped=True))
        self.assertEqual(ws.props(out)["ReturnValue"], "0")
        self.check_target_out(out, "E11")

    def test_invoke_echo_reference_without_namespace_selector(self):
        # Target in the request's own namespace when the EPR names none.
        out = self.echo("<p:Target>%s</p:Target>" % ws.epr(EL, "E12", ns=None))
        self.assertEqual(ws.props(out)["ReturnValue"], "0")
        self.check_target_out(out, "E12")

    def test_invoke_echo_reference_to_missing_instance_returns_4(self):
        out = self.echo("<p:Target>%s</p:Target>" % ws.epr(EL, "E%d" % (ELEMENTS + 5)))
        self.assertEqual(ws.props(out)["ReturnValue"], "4")

    EMBEDDED = ('<INSTANCE CLASSNAME="Vsnapd_TestElement">'
                '<PROPERTY NAME="InstanceID" TYPE="string"><VALUE>X%d</VALUE></PROPERTY>'
                '<PROPERTY NAME="Index" TYPE="uint32"><VALUE>77</VALUE></PROPERTY>'
                '<PROPERTY NAME="Notes" TYPE="string"><VALUE>a &lt; b</VALUE></PROPERTY>'
                "</INSTANCE>")

    def check_embedded_out(self, out, n):
        e = self.out_param(out, "EmbeddedOut")
        self.assertIsNotNone(e, ET.tostring(out)[:800])
        p = embedded_props(e)
        self.assertEqual(p.get("__class__"), EL, p)
        self.assertEqual((p.get("InstanceID"), p.get("Index"), p.get("Notes")), ("X%d" % n, "77", "a < b"), p)

    def test_invoke_echo_embedded_escaped_cimxml(self):
        out = self.echo("<p:Embedded>%s</p:Embedded>" % escape(self.EMBEDDED % 1))
        self.assertEqual(ws.props(out)["ReturnValue"], "0")
        self.check_embedded_out(out, 1)

    def test_invoke_echo_embedded_cdata_cimxml(self):
        out = self.echo("<p:Embedded><![CDATA[%s]]></p:Embedded>" % (self.EMBEDDED % 2))
        self.assertEqual(ws.props(out)["ReturnValue"], "0")
        self.check_embedded_out(out, 2)

    def test_invoke_echo_embedded_dsp0230_element(self):
        uri = ws.class_uri(EL)
        props = "<q:InstanceID>X3</q:InstanceID><q:Index>77</q:Index><q:Notes>a &lt; b</q:Notes>"
        forms = {
            # DSP0230: the parameter typed with xsi:type, the properties as its children
            "xsi:type": ('<p:Embedded xmlns:q="%s" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                         'xsi:type="q:Vsnapd_TestElement_Type">%s</p:Embedded>' % (uri, props)),
            # the class element inside the parameter, as Go Hyper-V clients write it
            "class element": ('<p:Embedded><q:Vsnapd_TestElement xmlns:q="%s">%s</q:Vsnapd_TestElement></p:Embedded>'
                              % (uri, props)),
        }
        for form, inst in forms.items():
            with self.subTest(form):
                out = self.echo(inst)
                self.assertEqual(ws.props(out)["ReturnValue"], "0")
                self.check_embedded_out(out, 3)

    def test_invoke_echo_embedded_empty_string(self):
        out = self.echo("<p:Text>t</p:Text><p:Embedded></p:Embedded>")
        p = ws.props(out)
        self.assertEqual(p["ReturnValue"], "0")
        self.assertEqual(p["TextOut"], "t")
        e = self.out_param(out, "EmbeddedOut")
        if e is not None:  # absent, empty or nil: no instance came in
            self.assertEqual(len(e), 0)
            self.assertEqual((e.text or "").strip(), "")

    def test_invoke_static_noop(self):
        for uri, sels in ((ws.class_uri(EL), ws.ns_selector()), (ws.wmi_uri(EL), None)):
            with self.subTest(uri=uri):
                root = self.send(ws.invoke_xml(EL, "Noop", "", selectors=sels, resource_uri=uri),
                                 expect_action=uri + "/NoopResponse")
                out = root.find("s:Body", ws.NS)[0]
                self.assertEqual(ws.local(out.tag), "Noop_OUTPUT")
                self.assertEqual(ws.props(out)["ReturnValue"], "0")

    # --------------------------------------------------------------- faults
    def test_fault_unknown_class_is_destination_unreachable(self):
        self.assert_fault(ws.get_xml("Vsnapd_NoSuchClass", "E1"), "DestinationUnreachable")

    def test_fault_unknown_resource_uri_prefix(self):
        self.assert_fault(ws.envelope(ws.ACT_GET, "http://example.com/not/a/cim/uri", selectors=[("a", "b")]),
                          "DestinationUnreachable")

    def test_fault_missing_instance(self):
        self.assert_fault(ws.get_xml(EL, "E%d" % (ELEMENTS + 1)), "DestinationUnreachable")

    def test_fault_selectors(self):
        cases = [
            ("insufficient", ws.ns_selector()),
            ("unexpected", ws.ns_selector({"InstanceID": "E1", "Bogus": "1"})),
        ]
        for name, sels in cases:
            with self.subTest(name):
                self.assert_fault(ws.envelope(ws.ACT_GET, ws.class_uri(EL), selectors=sels), "InvalidSelectors")

    def test_fault_unknown_method_is_action_not_supported(self):
        self.assert_fault(ws.invoke_xml(EL, "NoSuchMethod", "", selectors=ws.ns_selector({"InstanceID": "E1"})),
                          "ActionNotSupported")

    def test_fault_unsupported_filter_dialect(self):
        f = '<w:Filter Dialect="urn:example:no-such-dialect">x</w:Filter>'
        self.assert_fault(ws.enumerate_xml(ws.class_uri(EL), ws.ns_selector(), filter_xml=f),
                          "FilterDialectRequestedUnavailable")

    def test_fault_bad_query(self):
        self.assert_fault(ws.enumerate_xml(ws.class_uri(EL), ws.ns_selector(),
                                           filter_xml=ws.wql_filter("SELEKT nothing FROM")),
                          "CannotProcessFilter")

    def test_fault_must_comply_option(self):
        opts = ('<w:OptionSet s:mustUnderstand="true"><w:Option Name="NoSuchOption" MustComply="true">1'
                "</w:Option></w:OptionSet>")
        self.assert_fault(ws.get_xml(EL, "E1", headers=opts), "InvalidOptions")
        # the same option without MustComply is ignored
        ignored = opts.replace(' MustComply="true"', "")
        self.send(ws.get_xml(EL, "E1", headers=ignored))

    def test_fault_must_understand_unknown_header(self):
        h = '<x:Unknown xmlns:x="urn:example:x" s:mustUnderstand="true">1</x:Unknown>'
        data = self.fault(ws.get_xml(EL, "E1", headers=h))
        self.assertEqual((data.get("fault_code") or "").rpartition(":")[2], "MustUnderstand", data)

    def test_fault_max_envelope_below_minimum(self):
        self.assert_fault(ws.get_xml(EL, "E1", max_envelope=4096), "EncodingLimit")

    def test_small_max_envelope_shrinks_enumeration_pages(self):
        # An enumeration page holds as many items as fit in MaxEnvelopeSize (DSP0226), instead
        # of faulting.
        uri = ws.class_uri(EL)
        raw = self.p.send_message(ws.enumerate_xml(uri, ws.ns_selector(), optimize=True, max_elements=1000,
                                                   max_envelope=8192))
        self.assertLessEqual(len(raw), 8192)
        page = ws.EnumPage(ws.parse(raw))
        self.assertGreaterEqual(len(page.items), 1)
        self.assertLess(len(page.items), 1000)
        self.send(ws.release_xml(uri, page.context, ws.ns_selector()))

    def test_fault_reply_over_max_envelope(self):
        text = "x" * 10000
        xml = ws.invoke_xml(EL, "Echo", "<p:Text>%s</p:Text>" % text, selectors=ws.ns_selector({"InstanceID": "E1"}),
                            max_envelope=8192)
        self.assert_fault(xml, "EncodingLimit")

    def test_fault_table_from_cim_status(self):
        # CIM status (DSP0200) -> WS-Man subcode as wire-rules.md section 4.1 maps them, with the
        # Win32 / WinRM code Windows clients read from WSManFault (None: no WSManFault code).
        table = [
            (1, "InternalError", "s:Receiver", None),
            (2, "AccessDenied", "s:Sender", 5),
            (4, "InvalidParameter", "s:Sender", 87),
            (6, "DestinationUnreachable", "s:Sender", 2150858752),
            (7, "ActionNotSupported", "s:Sender", 50),
            (11, "AlreadyExists", "s:Sender", 183),
            (15, "CannotProcessFilter", "s:Sender", None),
            (17, "ActionNotSupported", "s:Sender", 50),
        ]
        for status, subcode, code, wsman_code in table:
            with self.subTest(status=status):
                xml = ws.invoke_xml(EL, "Fail", "<p:Code>%d</p:Code>" % status,
                                    selectors=ws.ns_selector({"InstanceID": "E1"}))
                self.assert_fault(xml, subcode, code, wsman_code=wsman_code)

    def test_fault_invalid_parameter_value(self):
        xml = ws.invoke_xml(EL, "Echo", "<p:Numbers>70000</p:Numbers>", selectors=ws.ns_selector({"InstanceID": "E1"}))
        self.assert_fault(xml, "InvalidParameter")

    def test_fault_operation_timeout_is_winrm_timeout(self):
        # An OperationTimeout that has expired before the work is done: wsman:TimedOut with the
        # Windows code (2150858793) python3-winrm turns into WinRMOperationTimeoutError.
        with self.assertRaises(winrm.exceptions.WinRMOperationTimeoutError):
            self.p.send_message(ws.get_xml(EL, "E1", timeout="PT0.000S"))

    def test_pull_timed_out_keeps_the_context(self):
        uri = ws.class_uri(EL)
        ctx = ws.EnumPage(self.send(ws.enumerate_xml(uri, ws.ns_selector()))).context
        with self.assertRaises(winrm.exceptions.WinRMOperationTimeoutError):
            self.p.send_message(ws.pull_xml(uri, ctx, max_elements=10, selectors=ws.ns_selector(),
                                            timeout="PT0.000S"))
        page = ws.EnumPage(self.send(ws.pull_xml(uri, ctx, max_elements=10, selectors=ws.ns_selector())))
        self.assertEqual(len(page.items), 10)
        self.assertEqual(ws.instance_index(page.items[0]), ("E", 0))
        self.send(ws.release_xml(uri, page.context, ws.ns_selector()))

    def test_transport_error_for_wrong_path(self):
        p = protocol(self.d.url("https", "/no-such-path"), self.admin, self.passwords[self.admin])
        self.addCleanup(close_protocol, p)
        with self.assertRaises(winrm.exceptions.WinRMTransportError) as cm:
            p.send_message(ws.get_xml(EL, "E1"))
        self.assertEqual(cm.exception.code, 404)


class WsmanPywinrmFilters(WinrmCase):
    """Filtered enumerations on a small fixture (50 elements): the filters scan every
    instance, which need not be 10,000 to show they select the right ones."""

    ELEMENTS = 50

    def wql_ids(self, query, dialect):
        _, items = self.enumerate_all(ws.class_uri(EL), ws.ns_selector(), optimize=True, max_elements=50,
                                      filter_xml=ws.wql_filter(query, dialect))
        return items

    def test_enumerate_wql_filter_both_dialects(self):
        for dialect in (ws.WQL_MS, ws.WQL_DMTF, ws.WQL_MS.upper().replace("HTTP://", "http://")):
            with self.subTest(dialect=dialect):
                items = self.wql_ids("SELECT * FROM Vsnapd_TestElement WHERE Index < 5", dialect)
                es = sorted(i for k, i in map(ws.instance_index, items) if k == "E")
                self.assertEqual(es, [0, 1, 2, 3, 4])
                for it in items:
                    self.assertLess(int(ws.props(it)["Index"]), 5)

    def test_enumerate_cql_filter(self):
        items = self.wql_ids("SELECT * FROM Vsnapd_TestElement WHERE InstanceID = 'E37'", ws.CQL)
        self.assertEqual([ws.props(i)["InstanceID"] for i in items], ["E37"])

    def test_enumerate_selector_filter(self):
        f = ('<w:Filter Dialect="http://schemas.dmtf.org/wbem/wsman/1/wsman/SelectorFilter">'
             '<w:SelectorSet><w:Selector Name="InstanceID">E31</w:Selector></w:SelectorSet></w:Filter>')
        _, items = self.enumerate_all(ws.class_uri(EL), ws.ns_selector(), optimize=True, max_elements=10,
                                      filter_xml=f)
        self.assertEqual([ws.props(i)["InstanceID"] for i in items], ["E31"])

    def test_association_filter_associators(self):
        _, items = self.enumerate_all(ws.ALL_CLASSES_URI, None, optimize=True, max_elements=10,
                                      filter_xml=ws.assoc_filter("AssociatedInstances", EL, "E5"))
        self.assertEqual(sorted(ws.props(i)["InstanceID"] for i in items), ["E4", "E6"])

    def test_association_filter_associators_result_role(self):
        extra = "<b:AssociationClassName>%s</b:AssociationClassName><b:ResultRole>Target</b:ResultRole>" % LINK
        _, items = self.enumerate_all(ws.ALL_CLASSES_URI, None, optimize=True, max_elements=10,
                                      filter_xml=ws.assoc_filter("AssociatedInstances", EL, "E5", extra))
        self.assertEqual([ws.props(i)["InstanceID"] for i in items], ["E6"])

    def test_association_filter_references(self):
        _, items = self.enumerate_all(ws.ALL_CLASSES_URI, None, optimize=True, max_elements=10,
                                      filter_xml=ws.assoc_filter("AssociationInstances", EL, "E5"))
        self.assertEqual(len(items), 2)
        for it in items:
            self.assertEqual(ws.local(it.tag), LINK)
        self.assertEqual(sorted(int(ws.props(i)["Weight"]) for i in items), [4, 5])
        for it in items:
            p = ws.props(it)
            _, src = ws.epr_selectors(p["Source"])
            _, dst = ws.epr_selectors(p["Target"])
            w = int(p["Weight"])
            self.assertEqual((src["InstanceID"], dst["InstanceID"]), ("E%d" % w, "E%d" % (w + 1)))



class WsmanPywinrmTransfer(WinrmCase):
    """Put, Create and Delete as pywinrm sends them (admin), each checked by a Get afterwards."""

    ELEMENTS = 10
    T_PUT = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Put"
    T_CREATE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Create"
    T_DELETE = "http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete"

    def body(self, props_xml):
        return '<p:Vsnapd_TestElement xmlns:p="%s">%s</p:Vsnapd_TestElement>' % (ws.class_uri(EL), props_xml)

    def get_props(self, iid):
        return ws.props(self.send(ws.get_xml(EL, iid)).find("s:Body", ws.NS)[0])

    def test_put_create_delete_round_trip(self):
        uri = ws.class_uri(EL)
        # Put: the writable Notes changes, the rest stays as generated.
        root = self.send(ws.envelope(self.T_PUT, uri, self.body("<p:InstanceID>E5</p:InstanceID><p:Notes>n &amp; m</p:Notes>"),
                                     selectors=ws.ns_selector({"InstanceID": "E5"})),
                         expect_action=self.T_PUT + "Response")
        self.assertEqual(ws.props(root.find("s:Body", ws.NS)[0])["Notes"], "n & m")
        p = self.get_props("E5")
        self.assertEqual((p["Notes"], p["Index"], p["Name"]), ("n & m", "5", "element 5 <&>"))
        # Create: the reply is the new instance's EPR.
        new = ("<p:InstanceID>N7</p:InstanceID><p:Index>700</p:Index><p:Name>made by pywinrm</p:Name>"
               "<p:Codes>3</p:Codes><p:Codes>4</p:Codes>")
        root = self.send(ws.envelope(self.T_CREATE, uri, self.body(new), selectors=ws.ns_selector()),
                         expect_action=self.T_CREATE + "Response")
        created = root.find("s:Body/{http://schemas.xmlsoap.org/ws/2004/09/transfer}ResourceCreated", ws.NS)
        self.assertIsNotNone(created, ET.tostring(root)[:800])
        _, sels = ws.epr_selectors(created)
        self.assertEqual(sels["InstanceID"], "N7")
        p = self.get_props("N7")
        self.assertEqual((p["Index"], p["Name"], p["Codes"]), ("700", "made by pywinrm", ["3", "4"]))
        self.assert_fault(ws.envelope(self.T_CREATE, uri, self.body(new), selectors=ws.ns_selector()),
                          "AlreadyExists")
        # Delete: gone afterwards, and a second Delete finds nothing.
        delete = ws.envelope(self.T_DELETE, uri, selectors=ws.ns_selector({"InstanceID": "N7"}))
        self.send(delete, expect_action=self.T_DELETE + "Response")
        self.assert_fault(ws.get_xml(EL, "N7"), "DestinationUnreachable")
        self.assert_fault(ws.envelope(self.T_DELETE, uri, selectors=ws.ns_selector({"InstanceID": "N7"})),
                          "DestinationUnreachable")


class WsmanPywinrmRoles(WinrmCase):
    """reader: Get/Enumerate only; operator: also Invoke; admin: everything."""

    ELEMENTS = 10
    USERS = (("root1", "admin"), ("op1", "operator"), ("rd1", "reader"))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.as_user = {}
        for name, _ in cls.USERS:
            cls.as_user[name] = protocol(cls.d.url("https"), name, cls.passwords[name])

    @classmethod
    def tearDownClass(cls):
        for p in cls.as_user.values():
            close_protocol(p)
        super().tearDownClass()

    def test_reader_may_get_and_enumerate(self):
        p = self.as_user["rd1"]
        self.send(ws.get_xml(EL, "E1"), p=p)
        self.send(ws.enumerate_xml(ws.class_uri(EL), ws.ns_selector(), optimize=True, max_elements=20), p=p)

    def test_reader_may_not_invoke(self):
        self.assert_fault(ws.invoke_xml(EL, "Noop", "", selectors=ws.ns_selector()), "AccessDenied",
                          p=self.as_user["rd1"])

    def test_operator_and_admin_may_invoke(self):
        for user in ("op1", "root1"):
            with self.subTest(user=user):
                root = self.send(ws.invoke_xml(EL, "Noop", "", selectors=ws.ns_selector()), p=self.as_user[user])
                self.assertEqual(ws.props(root.find("s:Body", ws.NS)[0])["ReturnValue"], "0")

    def test_operator_may_not_delete(self):
        xml = ws.envelope("http://schemas.xmlsoap.org/ws/2004/09/transfer/Delete", ws.class_uri(EL),
                          selectors=ws.ns_selector({"InstanceID": "E2"}))
        self.assert_fault(xml, "AccessDenied", p=self.as_user["op1"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
