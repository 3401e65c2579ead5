"""A Hyper-V snapshot client over python3-winrm, for the end-to-end snapshot tests.

Every request is a raw envelope written the way WinRM writes it (test_wsman_support.envelope:
a/w/p prefixes, mustUnderstand, the Microsoft session headers) and sent with
winrm.protocol.Protocol.send_message, so the daemon sees what Hyper-V management tools send:
method parameters as EPRs (Address + ReferenceParameters, as libvirt and go-wsman send them),
SnapshotSettings as an escaped CIM-XML INSTANCE string (PowerShell's ConvertTo-CimEmbeddedString,
WMI's GetText(1)) and the snapshot service addressed by its four key selectors.

Two dialects address the same objects: `msvm` (the WMI resource URIs
http://schemas.microsoft.com/wbem/wsman/1/wmi/root/virtualization/v2/<Class>, namespace in the
URI) and `cim` (the DMTF URIs http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_<Class> with
a __cimnamespace=root/virtualization/v2 selector).
"""

import ast
import os
import re
import sys
import time
from xml.sax.saxutils import escape

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# test_wsman_support points VSNAPD_BIN at vsnapd-testd for the protocol tests; these tests drive
# the product daemon, so the variable is put back as it was.
_saved_bin = os.environ.get("VSNAPD_BIN")
import test_wsman_support as ws  # noqa: E402
if _saved_bin is None:
    os.environ.pop("VSNAPD_BIN", None)
else:
    os.environ["VSNAPD_BIN"] = _saved_bin
import vsnapd_fixture as fx  # noqa: E402

fx.scrub_process_env()

import winrm.exceptions  # noqa: E402
from winrm.protocol import Protocol  # noqa: E402

NAMESPACE = "root/virtualization/v2"
MSVM_PREFIX = ws.WMI_PREFIX + NAMESPACE + "/"
ANONYMOUS = ws.ANONYMOUS

# CIM_ConcreteJob.JobState
JOB_NEW, JOB_STARTING, JOB_RUNNING = 2, 3, 4
JOB_COMPLETED, JOB_TERMINATED, JOB_KILLED, JOB_EXCEPTION = 7, 8, 9, 10
FINAL_JOB_STATES = (JOB_COMPLETED, JOB_TERMINATED, JOB_KILLED, JOB_EXCEPTION)

SNAPSHOT_REALIZED = "Microsoft:Hyper-V:Snapshot:Realized"

_FAULT_DATA = re.compile(r"\(extended fault data: (\{.*\})\)\s*$", re.S)


class Fault(Exception):
    """A SOAP fault the daemon answered with; `data` is pywinrm's extended fault data."""

    def __init__(self, message, data):
        super().__init__(message)
        self.data = data


class Dialect:
    """How a client names a class: `msvm` or `cim` (see the module comment)."""

    def __init__(self, name):
        assert name in ("msvm", "cim")
        self.name = name

    def uri(self, cls):
        if self.name == "msvm":
            return MSVM_PREFIX + cls
        return ws.DMTF_PREFIX + cls.replace("Msvm_", "CIM_", 1)

    def all_classes_uri(self):
        # Association filters go to the "all classes" URI of the dialect (wire-rules: a class
        # URI with a filter is refused by Hyper-V).
        return MSVM_PREFIX + "*" if self.name == "msvm" else ws.ALL_CLASSES_URI

    def selectors(self, sel):
        sel = list(sel.items()) if isinstance(sel, dict) else list(sel)
        if self.name == "cim":
            sel.append(("__cimnamespace", NAMESPACE))
        return sel

    def epr(self, cls, sel):
        """An EPR parameter's content (no wrapper): Address + ReferenceParameters."""
        return ("<a:Address>%s</a:Address><a:ReferenceParameters><w:ResourceURI>%s</w:ResourceURI>"
                "%s</a:ReferenceParameters>"
                % (ANONYMOUS, self.uri(cls), ws.selector_set(self.selectors(sel))))


MSVM = Dialect("msvm")
CIM = Dialect("cim")


def snapshot_settings_cimxml(consistency_level=None, ignore_non_snapshottable=None,
                             class_name="Msvm_VirtualSystemSnapshotSettingData"):
    """Msvm_VirtualSystemSnapshotSettingData as ConvertTo-CimEmbeddedString writes it (CIM-XML),
    escaped into the parameter element's text."""
    props = []
    if consistency_level is not None:
        props.append('<PROPERTY NAME="ConsistencyLevel" TYPE="uint8"><VALUE>%s</VALUE></PROPERTY>'
                     % consistency_level)
    if ignore_non_snapshottable is not None:
        props.append('<PROPERTY NAME="IgnoreNonSnapshottableDisks" TYPE="boolean">'
                     "<VALUE>%s</VALUE></PROPERTY>" % ("TRUE" if ignore_non_snapshottable else "FALSE"))
    inst = '<INSTANCE CLASSNAME="%s">%s</INSTANCE>' % (class_name, "".join(props))
    return escape(inst)


def local(tag):
    return tag.rpartition("}")[2]


def text_of(elem):
    return (elem.text or "").strip() if elem is not None else None


class Output:
    """A method's <M>_OUTPUT: ReturnValue, OUT references (as (uri, selectors)) and other
    OUT parameters (text)."""

    def __init__(self, root, method):
        body = root.find("s:Body", ws.NS)
        out = body[0] if len(body) else None
        if out is None or local(out.tag) != method + "_OUTPUT":
            raise AssertionError("no %s_OUTPUT in %s" % (method, ws.ET.tostring(root)[:800]))
        self.params = {}
        self.refs = {}
        for child in out:
            name = local(child.tag)
            if child.find("wsa:ReferenceParameters", ws.NS) is not None:
                self.refs[name] = ws.epr_selectors(child)
            elif child.get("{%s}nil" % ws.NS["xsi"]) in ("true", "1"):
                self.params[name] = None
            else:
                self.params[name] = (child.text or "").strip()
        self.return_value = int(self.params["ReturnValue"])


class HyperVClient:
    """One pywinrm session (HTTPS, Basic, keep-alive) to a vsnapd daemon."""

    def __init__(self, url, user, password):
        self.p = Protocol(endpoint=url, transport="basic", username=user, password=password,
                          server_cert_validation="ignore", read_timeout_sec=60,
                          operation_timeout_sec=50)
        self.host = None

    def close(self):
        session = getattr(self.p.transport, "session", None)
        if session is not None:
            session.close()

    # ------------------------------------------------------------------------ transport
    def send(self, xml):
        """send_message; returns the parsed reply, raises Fault for a SOAP fault."""
        try:
            raw = self.p.send_message(xml)
        except winrm.exceptions.WinRMError as e:
            m = _FAULT_DATA.search(str(e))
            raise Fault(str(e), ast.literal_eval(m.group(1)) if m else {})
        if raw is None:
            raise AssertionError("pywinrm returned nothing")
        return ws.parse(raw)

    def get(self, dialect, cls, sel):
        root = self.send(ws.envelope(ws.ACT_GET, dialect.uri(cls), selectors=dialect.selectors(sel)))
        body = root.find("s:Body", ws.NS)
        return ws.props(body[0])

    def get_epr(self, ref):
        """Get of an EPR as the daemon returned it: its ResourceURI and selectors."""
        uri, sel = ref
        root = self.send(ws.envelope(ws.ACT_GET, uri, selectors=list(sel.items())))
        return ws.props(root.find("s:Body", ws.NS)[0])

    def enumerate(self, resource_uri, selectors=None, filter_xml=""):
        """Every item of an Enumerate (optimized) and its Pulls."""
        root = self.send(ws.enumerate_xml(resource_uri, selectors=selectors, optimize=True,
                                          max_elements=100, filter_xml=filter_xml))
        page = ws.EnumPage(root)
        items = list(page.items)
        while not page.end and page.context:
            page = ws.EnumPage(self.send(ws.pull_xml(resource_uri, page.context, max_elements=100,
                                                     selectors=selectors)))
            items += page.items
        return items

    def instances(self, dialect, cls):
        sel = dialect.selectors([]) or None
        return [ws.props(i) for i in self.enumerate(dialect.uri(cls), selectors=sel)]

    def related(self, dialect, kind, cls, sel, assoc_class, extra=""):
        """DSP0227 association filter (kind AssociatedInstances or AssociationInstances) from the
        object cls/sel; returns (class name, properties) of each item."""
        # DSP0227: AssociatedInstances names the association in AssociationClassName,
        # AssociationInstances (the association instances themselves) in ResultClassName.
        tag = "AssociationClassName" if kind == "AssociatedInstances" else "ResultClassName"
        f = ('<w:Filter Dialect="%s"><b:%s><b:Object>%s</b:Object><b:%s>%s</b:%s>%s</b:%s>'
             "</w:Filter>" % (ws.ASSOC_DIALECT, kind, dialect.epr(cls, sel), tag, assoc_class, tag,
                              extra, kind))
        sel_all = dialect.selectors([]) or None
        items = self.enumerate(dialect.all_classes_uri(), selectors=sel_all, filter_xml=f)
        return [(local(i.tag), ws.props(i)) for i in items]

    def invoke(self, dialect, cls, sel, method, params_xml):
        uri = dialect.uri(cls)
        xml = ws.invoke_xml(None, method, params_xml, selectors=dialect.selectors(sel),
                            resource_uri=uri)
        return Output(self.send(xml), method)

    # ------------------------------------------------------------------------ objects
    def find_vm(self, name):
        for vm in self.instances(MSVM, "Msvm_ComputerSystem"):
            if vm.get("ElementName") == name and vm.get("Caption") == "Virtual Machine":
                return vm["Name"]
        raise AssertionError("no VM named %r" % name)

    def service_selectors(self):
        if self.host is None:
            svc = self.instances(MSVM, "Msvm_VirtualSystemSnapshotService")
            self.host = svc[0]["SystemName"]
        return [("CreationClassName", "Msvm_VirtualSystemSnapshotService"), ("Name", "vssnapsvc"),
                ("SystemCreationClassName", "Msvm_ComputerSystem"), ("SystemName", self.host)]

    def vm_state(self, vm):
        return int(self.get(MSVM, "Msvm_ComputerSystem",
                            [("CreationClassName", "Msvm_ComputerSystem"), ("Name", vm)])
                   ["EnabledState"])

    @staticmethod
    def vm_ref(dialect, vm):
        return dialect.epr("Msvm_ComputerSystem",
                           [("CreationClassName", "Msvm_ComputerSystem"), ("Name", vm)])

    @staticmethod
    def snap_ref(dialect, snap_id):
        return dialect.epr("Msvm_VirtualSystemSettingData", [("InstanceID", "Microsoft:" + snap_id)])

    # ------------------------------------------------------------------------ methods
    def request_state_change(self, vm, state, dialect=MSVM):
        return self.invoke(dialect, "Msvm_ComputerSystem",
                           [("CreationClassName", "Msvm_ComputerSystem"), ("Name", vm)],
                           "RequestStateChange",
                           "<p:RequestedState>%d</p:RequestedState>" % state)

    def create_snapshot(self, vm, snapshot_type, settings_xml="", dialect=MSVM, vm_ref=None):
        params = ("<p:AffectedSystem>%s</p:AffectedSystem>"
                  "<p:SnapshotSettings>%s</p:SnapshotSettings>"
                  "<p:SnapshotType>%s</p:SnapshotType>"
                  % (vm_ref if vm_ref is not None else self.vm_ref(dialect, vm), settings_xml,
                     snapshot_type))
        return self.invoke(dialect, "Msvm_VirtualSystemSnapshotService", self.service_selectors(),
                           "CreateSnapshot", params)

    def snapshot_method(self, method, param, snap_id, dialect=MSVM, ref=None):
        params = "<p:%s>%s</p:%s>" % (
            param, ref if ref is not None else self.snap_ref(dialect, snap_id), param)
        return self.invoke(dialect, "Msvm_VirtualSystemSnapshotService", self.service_selectors(),
                           method, params)

    def apply_snapshot(self, snap_id, dialect=MSVM, ref=None):
        return self.snapshot_method("ApplySnapshot", "Snapshot", snap_id, dialect, ref)

    def destroy_snapshot(self, snap_id, dialect=MSVM, ref=None):
        return self.snapshot_method("DestroySnapshot", "AffectedSnapshot", snap_id, dialect, ref)

    def destroy_snapshot_tree(self, snap_id, ref=None):
        # Msvm-only method: the CIM_ class has no DestroySnapshotTree.
        return self.snapshot_method("DestroySnapshotTree", "SnapshotSettingData", snap_id, MSVM, ref)

    # ------------------------------------------------------------------------ jobs
    def job(self, out):
        """The job (ref, properties) a method returned."""
        ref = out.refs.get("Job")
        if ref is None:
            raise AssertionError("no Job reference in %r %r" % (out.params, out.refs))
        return ref

    def poll_job(self, ref):
        p = self.get_epr(ref)
        return int(p["JobState"]), int(p.get("PercentComplete") or 0), p

    def wait_job(self, ref, timeout=90.0, until=None):
        """Follows a job with Get until it is final (or `until(state, percent)` holds), as
        Hyper-V clients poll it. Returns (final properties, [(JobState, PercentComplete)...])."""
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            state, percent, props = self.poll_job(ref)
            if not seen or seen[-1] != (state, percent):
                seen.append((state, percent))
            if state in FINAL_JOB_STATES or (until is not None and until(state, percent)):
                return props, seen
            if time.monotonic() > deadline:
                raise AssertionError("job %r still %d (%d%%) after %.0f s" % (
                    ref[1].get("InstanceID"), state, percent, timeout))
            # A client's poll interval (libvirt polls every 100 ms); no event exists to wait on.
            time.sleep(0.01)

    def run_job(self, out, timeout=90.0):
        """A method's outcome: 0 done at once, or 4096 and the job followed to Completed."""
        if out.return_value == 0:
            return None, []
        if out.return_value != 4096:
            raise AssertionError("method failed with %d: %r" % (out.return_value, out.params))
        props, seen = self.wait_job(self.job(out), timeout)
        if int(props["JobState"]) != JOB_COMPLETED:
            raise AssertionError("job ended in %s: %s" % (props["JobState"],
                                                          props.get("ErrorDescription")))
        return props, seen

    def affected_snapshot(self, job_ref, dialect=MSVM):
        """The snapshot a CreateSnapshot job names through AffectedJobElement (ElementEffects 5)."""
        uri, sel = job_ref
        cls = "Msvm_ConcreteJob"
        links = self.related(dialect, "AssociationInstances", cls,
                             [("InstanceID", sel["InstanceID"])],
                             "Msvm_AffectedJobElement" if dialect is MSVM else "CIM_AffectedJobElement")
        found = []
        for _, p in links:
            effects = p.get("ElementEffects")
            effects = effects if isinstance(effects, list) else [effects]
            auri, asel = ws.epr_selectors(p["AffectedElement"])
            if "VirtualSystemSettingData" in auri and "5" in effects:
                found.append(asel["InstanceID"])
        return found
