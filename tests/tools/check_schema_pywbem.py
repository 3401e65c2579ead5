#!/usr/bin/env python3
"""Compiles vsnapd's schema/ with a MOF compiler that is not vsnapd's own and checks its facts.

Usage: check_schema_pywbem.py <repo root> [<shared dir>]   (shared defaults to <root>/../shared)

1. Proves the independent compiler (tests/tools/dsp0004_mof.py) is worth trusting: it must
   accept the whole DMTF CIM Schema 2.41 and reject each broken snippet of a table and each
   invalid case of OpenPegasus's MOF compiler tests.
2. Compiles every namespace entry file (schema/root_*.mof) in declaration order, failing on
   any error. When pywbem is importable (it is not packaged for Debian 12) its MOFCompiler
   compiles the same files as a second opinion.
3. Asserts the facts the issue names: classes per namespace, DMTF keys, the snapshot service's
   five methods and return codes, both capability spellings, snapshot types, Msvm_ inheritance,
   association ends, interop registrations and their resolved references.
4. Compares every CIM_ class with DMTF 2.41 (superclass, features, types, keys, ValueMap/Values,
   signatures) and every Msvm_ class with the Hyper-V digest, so a transcription slip fails.
Exit status 0 only when every check passed."""
from __future__ import annotations

import pathlib
import re
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import dsp0004_mof as mof  # noqa: E402

V2, INTEROP, CIMV2 = "root/virtualization/v2", "root/interop", "root/cimv2"
ENTRY_FILES = {V2: "root_virtualization_v2.mof", INTEROP: "root_interop.mof",
               CIMV2: "root_cimv2.mof"}

# Classes each namespace must serve (the list plus the chains they need).
CHAIN = ["CIM_ManagedElement", "CIM_ManagedSystemElement", "CIM_LogicalElement",
         "CIM_EnabledLogicalElement", "CIM_Job", "CIM_ConcreteJob", "CIM_Error"]
EXPECTED_CLASSES = {
    V2: CHAIN + [
        "CIM_System", "CIM_ComputerSystem", "CIM_Service", "CIM_Capabilities", "CIM_SettingData",
        "CIM_VirtualSystemSnapshotService", "CIM_VirtualSystemSnapshotServiceCapabilities",
        "CIM_VirtualSystemSnapshotCapabilities", "CIM_VirtualSystemSettingData",
        "CIM_VirtualSystemManagementService", "CIM_ResourceAllocationSettingData",
        "CIM_Dependency", "CIM_HostedDependency", "CIM_HostedService", "CIM_ElementCapabilities",
        "CIM_SnapshotOfVirtualSystem", "CIM_MostCurrentSnapshotInBranch", "CIM_LastAppliedSnapshot",
        "CIM_AffectedJobElement", "CIM_OwningJobElement", "CIM_SettingsDefineState",
        "CIM_Component", "CIM_VirtualSystemSettingDataComponent",
        "Msvm_ComputerSystem", "Msvm_VirtualSystemSettingData", "Msvm_VirtualSystemSnapshotService",
        "Msvm_VirtualSystemSnapshotServiceCapabilities", "Msvm_VirtualSystemSnapshotSettingData",
        "Msvm_ConcreteJob", "Msvm_Error", "Msvm_VirtualSystemManagementService",
        "Msvm_SnapshotOfVirtualSystem", "Msvm_MostCurrentSnapshotInBranch",
        "Msvm_LastAppliedSnapshot", "Msvm_ParentChildSettingData", "Msvm_SettingsDefineState",
        "Msvm_AffectedJobElement", "Msvm_OwningJobElement", "Msvm_ElementCapabilities",
        "Msvm_HostedService", "Msvm_VirtualSystemSettingDataComponent"],
    INTEROP: CHAIN + [
        "CIM_Service", "CIM_WBEMService", "CIM_ObjectManager", "CIM_Namespace",
        "CIM_RegisteredSpecification", "CIM_RegisteredProfile", "CIM_Dependency",
        "CIM_ReferencedSpecification", "CIM_ReferencedProfile", "CIM_ElementConformsToProfile"],
    CIMV2: CHAIN + ["CIM_System", "CIM_ComputerSystem"],
}

SERVICE_KEYS = ["SystemCreationClassName", "SystemName", "CreationClassName", "Name"]
EXPECTED_KEYS = {
    "CIM_ComputerSystem": ["CreationClassName", "Name"],
    "Msvm_ComputerSystem": ["CreationClassName", "Name"],
    "CIM_VirtualSystemSnapshotService": SERVICE_KEYS,
    "Msvm_VirtualSystemSnapshotService": SERVICE_KEYS,
    "Msvm_VirtualSystemManagementService": SERVICE_KEYS,
    "CIM_VirtualSystemSnapshotServiceCapabilities": ["InstanceID"],
    "Msvm_VirtualSystemSnapshotServiceCapabilities": ["InstanceID"],
    "CIM_VirtualSystemSnapshotCapabilities": ["InstanceID"],
    "CIM_VirtualSystemSettingData": ["InstanceID"],
    "Msvm_VirtualSystemSettingData": ["InstanceID"],
    "Msvm_VirtualSystemSnapshotSettingData": ["InstanceID"],
    "CIM_ConcreteJob": ["InstanceID"],
    "Msvm_ConcreteJob": ["InstanceID"],
    "CIM_Error": [],
    "Msvm_SnapshotOfVirtualSystem": ["Antecedent", "Dependent"],
    "Msvm_MostCurrentSnapshotInBranch": ["Antecedent", "Dependent"],
    "Msvm_LastAppliedSnapshot": ["Antecedent", "Dependent"],
    "Msvm_ParentChildSettingData": ["Antecedent", "Dependent"],
    "Msvm_HostedService": ["Antecedent", "Dependent"],
    "Msvm_AffectedJobElement": ["AffectedElement", "AffectingElement"],
    "Msvm_OwningJobElement": ["OwningElement", "OwnedElement"],
    "Msvm_ElementCapabilities": ["ManagedElement", "Capabilities"],
    "Msvm_SettingsDefineState": ["ManagedElement", "SettingData"],
    "Msvm_VirtualSystemSettingDataComponent": ["GroupComponent", "PartComponent"],
}
EXPECTED_INTEROP_KEYS = {
    "CIM_RegisteredProfile": ["InstanceID"],
    "CIM_ReferencedProfile": ["Antecedent", "Dependent"],
    "CIM_ElementConformsToProfile": ["ConformantStandard", "ManagedElement"],
    "CIM_ObjectManager": SERVICE_KEYS,
    "CIM_Namespace": ["SystemCreationClassName", "SystemName", "ObjectManagerCreationClassName",
                      "ObjectManagerName", "CreationClassName", "Name"],
}

# (superclass, {reference: class}) of each Hyper-V association.
MSVM_ASSOCIATIONS = {
    "Msvm_SnapshotOfVirtualSystem": ("CIM_SnapshotOfVirtualSystem", {
        "Antecedent": "Msvm_ComputerSystem", "Dependent": "Msvm_VirtualSystemSettingData"}),
    "Msvm_MostCurrentSnapshotInBranch": ("CIM_MostCurrentSnapshotInBranch", {
        "Antecedent": "CIM_ComputerSystem", "Dependent": "Msvm_VirtualSystemSettingData"}),
    "Msvm_LastAppliedSnapshot": ("CIM_LastAppliedSnapshot", {
        "Antecedent": "CIM_VirtualSystemSettingData", "Dependent": "CIM_ComputerSystem"}),
    "Msvm_ParentChildSettingData": ("CIM_Dependency", {
        "Antecedent": "Msvm_VirtualSystemSettingData",
        "Dependent": "Msvm_VirtualSystemSettingData"}),
    "Msvm_SettingsDefineState": ("CIM_SettingsDefineState", {
        "ManagedElement": "Msvm_ComputerSystem", "SettingData": "Msvm_VirtualSystemSettingData"}),
    "Msvm_AffectedJobElement": ("CIM_AffectedJobElement", {
        "AffectedElement": "CIM_ManagedElement", "AffectingElement": "Msvm_ConcreteJob"}),
    "Msvm_OwningJobElement": ("CIM_OwningJobElement", {
        "OwningElement": "CIM_ManagedElement", "OwnedElement": "Msvm_ConcreteJob"}),
    "Msvm_ElementCapabilities": ("CIM_ElementCapabilities", {
        "ManagedElement": "CIM_ManagedElement", "Capabilities": "CIM_Capabilities"}),
    "Msvm_HostedService": ("CIM_HostedService", {
        "Antecedent": "CIM_System", "Dependent": "CIM_Service"}),
    "Msvm_VirtualSystemSettingDataComponent": ("CIM_VirtualSystemSettingDataComponent", {
        "GroupComponent": "CIM_VirtualSystemSettingData",
        "PartComponent": "CIM_ResourceAllocationSettingData"}),
}
MSVM_SUPERCLASS = {
    "Msvm_ComputerSystem": "CIM_ComputerSystem",
    "Msvm_VirtualSystemSettingData": "CIM_VirtualSystemSettingData",
    "Msvm_VirtualSystemSnapshotService": "CIM_VirtualSystemSnapshotService",
    "Msvm_VirtualSystemSnapshotServiceCapabilities": "CIM_VirtualSystemSnapshotServiceCapabilities",
    "Msvm_VirtualSystemSnapshotSettingData": "CIM_SettingData",
    "Msvm_ConcreteJob": "CIM_ConcreteJob",
    "Msvm_Error": "CIM_Error",
    "Msvm_VirtualSystemManagementService": "CIM_VirtualSystemManagementService",
    **{k: v[0] for k, v in MSVM_ASSOCIATIONS.items()},
}

DMTF_RC = (["0", "1", "2", "3", "4", "5", "6", "..", "4096", "4097..32767", "32768..65535"],
           ["Completed with No Error", "Not Supported", "Failed", "Timeout", "Invalid Parameter",
            "Invalid State", "Invalid Type", "DMTF Reserved",
            "Method Parameters Checked - Job Started", "Method Reserved", "Vendor Specific"])
MSVM_RC = (["0", "4096"] + [str(n) for n in range(32768, 32779)],
           ["Completed with No Error", "Method Parameters Checked - Job Started", "Failed",
            "Access Denied", "Not Supported", "Status is unknown", "Timeout", "Invalid parameter",
            "System is in use", "Invalid state for this operation", "Incorrect data type",
            "System is not available", "Out of memory"])
VSSD, JOB, CS = "CIM_VirtualSystemSettingData", "CIM_ConcreteJob", "CIM_ComputerSystem"
# method -> (return ValueMap/Values, [(param, type, ref class, is_array, IN, OUT)]) as Hyper-V
# documents them; CreateSnapshot/DestroySnapshot/ApplySnapshot carry DSP1044's return codes.
SNAPSHOT_METHODS = {
    "CreateSnapshot": (DMTF_RC, [
        ("AffectedSystem", "ref", CS, False, True, False),
        ("SnapshotSettings", "string", None, False, True, False),
        ("SnapshotType", "uint16", None, False, True, False),
        ("ResultingSnapshot", "ref", VSSD, False, False, True),
        ("Job", "ref", JOB, False, False, True)]),
    "DestroySnapshot": (DMTF_RC, [
        ("AffectedSnapshot", "ref", VSSD, False, True, False),
        ("Job", "ref", JOB, False, False, True)]),
    "ApplySnapshot": (DMTF_RC, [
        ("Snapshot", "ref", VSSD, False, True, False),
        ("Job", "ref", JOB, False, False, True)]),
    "DestroySnapshotTree": (MSVM_RC, [
        ("SnapshotSettingData", "ref", VSSD, False, True, False),
        ("Job", "ref", JOB, False, False, True)]),
    "ClearSnapshotState": (MSVM_RC, [
        ("SnapshotSettingData", "ref", VSSD, False, True, False),
        ("Job", "ref", JOB, False, False, True)]),
}

PROFILES = {  # InstanceID -> (RegisteredName, alias-free description of the registration)
    "vsnapd:DSP1033-1.0.0": "Profile Registration",
    "vsnapd:DSP1042-1.0.0": "System Virtualization",
    "vsnapd:DSP1057-1.0.0": "Virtual System",
    "vsnapd:DSP1044-1.0.0": "Virtual System Snapshot",
}
REFERENCED = {("vsnapd:DSP1042-1.0.0", "vsnapd:DSP1057-1.0.0"),
              ("vsnapd:DSP1057-1.0.0", "vsnapd:DSP1044-1.0.0")}

# Deliberate differences from DMTF 2.41, each explained in schema/README.md.
DMTF_ADDITIONS = {("cim_virtualsystemsnapshotservicecapabilities", "asynchronousmethodssupported")}
NOT_IN_DMTF_241 = {"cim_mostcurrentsnapshotinbranch"}  # Experimental: not in the final MOF
NOT_IN_DIGEST = {"msvm_virtualsystemsnapshotservicecapabilities"}
# Hyper-V documents ResultingSnapshot as [in, out]; DMTF 2.41 declares it In(false), and In is
# DisableOverride, so a subclass cannot change it. The server accepts it as input all the same.
DIGEST_DIRECTION_EXCEPTIONS = {("createsnapshot", "ResultingSnapshot")}

# Qualifiers whose values the DMTF comparison checks (Description is ours by design).
COMPARED_QUALIFIERS = [
    "abstract", "association", "aggregation", "indication", "exception", "experimental",
    "deprecated", "version", "key", "override", "required", "static", "write", "valuemap",
    "values", "embeddedinstance", "embeddedobject", "arraytype", "maxlen", "minvalue", "maxvalue",
    "min", "max", "weak", "propagated", "aggregate", "punit", "ispunit"]


class Checks:
    """Counts checks; a failure is recorded with its message and the run goes on."""

    def __init__(self) -> None:
        self.passed = 0
        self.failures: list[str] = []

    def expect(self, ok: bool, message: str) -> bool:
        if ok:
            self.passed += 1
        else:
            self.failures.append(message)
        return ok


# ---------------------------------------------------------------------------------------------
# 1. The checker checks: DMTF 2.41 compiles, and every broken snippet is refused.

# (what is wrong, MOF after the qualifier declarations, words the error must contain)
NEGATIVE_CASES = [
    ("syntax: missing semicolon", "class A_A { string P; }", "expected ';'"),
    ("undeclared qualifier", "[NoSuchQualifier] class A_A { };", "not declared"),
    ("qualifier outside its scope", "[Key] class A_A { };", "not allowed on a class"),
    ("qualifier value of the wrong type", "class A_A { [MaxLen (\"x\")] string P; };",
     "is not a uint32"),
    ("unknown superclass", "class A_A : A_Missing { };", "superclass A_Missing"),
    ("class defined twice", "class A_A { }; class A_A { };", "already defined"),
    ("override naming nothing inherited",
     "class A_A { string P; }; class A_B : A_A { [Override (\"Q\")] string Q; };", "lacks"),
    ("inherited property redeclared without Override",
     "class A_A { string P; }; class A_B : A_A { string P; };", "without Override"),
    ("override changing the type",
     "class A_A { string P; }; class A_B : A_A { [Override (\"P\")] uint8 P; };",
     "changes the type"),
    ("override changing a DisableOverride qualifier",
     "class A_A { uint32 M([IN (false), OUT] string P); };"
     " class A_B : A_A { [Override (\"M\")] uint32 M([IN, OUT] string P); };", "DisableOverride"),
    ("reference outside an association", "class A_A { A_A REF R; };", "outside an association"),
    ("reference to an unknown class",
     "[Association] class A_A { [Key] A_Nope REF R; };", "A_Nope"),
    ("reference to a class declared later",
     "[Association] class A_A { [Key] A_B REF R; }; class A_B { };", "not declared before"),
    ("EmbeddedInstance of an unknown class",
     "class A_A { [EmbeddedInstance (\"A_Nope\")] string P; };", "A_Nope"),
    ("ValueMap and Values of unequal length",
     "class A_A { [ValueMap { \"1\", \"2\" }, Values { \"One\" }] uint16 P; };", "ValueMap has 2"),
    ("non-integer ValueMap on an integer", "class A_A { [ValueMap { \"x\" }] uint16 P; };",
     "not an integer"),
    ("default out of range", "class A_A { uint8 P = 300; };", "is not a uint8"),
    ("bad octal literal", "class A_A { uint8 P = 09; };", "octal"),
    ("malformed datetime default", "class A_A { datetime P = \"2024-01-01\"; };", "datetime"),
    ("instance of an abstract class",
     "[Abstract] class A_A { [Key] string K; }; instance of A_A { K = \"x\"; };", "abstract"),
    ("instance of an unknown class", "instance of A_Nope { };", "unknown class"),
    ("instance with an unknown property",
     "class A_A { [Key] string K; }; instance of A_A { K = \"x\"; Q = 1; };", "no property Q"),
    ("instance value of the wrong type",
     "class A_A { [Key] string K; uint8 N; }; instance of A_A { K = \"x\"; N = \"y\"; };",
     "is not a uint8"),
    ("instance without its key", "class A_A { [Key] string K; }; instance of A_A { };",
     "lacks key"),
    ("instance without a Required property",
     "class A_A { [Key] string K; [Required] string R; }; instance of A_A { K = \"x\"; };",
     "Required R"),
    ("two instances with the same keys",
     "class A_A { [Key] string K; };"
     " instance of A_A { K = \"x\"; }; instance of A_A { K = \"x\"; };",
     "defined twice"),
    ("alias used before it is defined",
     "class A_A { [Key] string K; }; [Association] class A_R { [Key] A_A REF R; };"
     " instance of A_R { R = $nope; };", "not defined"),
    ("alias of an instance of the wrong class",
     "class A_A { [Key] string K; }; class A_B { [Key] string K; };"
     " [Association] class A_R { [Key] A_A REF R; };"
     " instance of A_B as $b { K = \"x\"; }; instance of A_R { R = $b; };", "not a A_A"),
]


# OpenPegasus's invalid-MOF compiler tests (shared/schema/mof-tests-openpegasus): these four are
# legal per its result.master (unknown pragmas only warn, spaces in Scope/Flavor lists are fine);
# every other file there must be refused.
PEGASUS_INVALID_DIR = "schema/mof-tests-openpegasus/pegasus/src/Pegasus/Compiler/tests/invalidMOF"
PEGASUS_LEGAL = {"InvalidPragma1.mof", "InvalidPragma2.mof", "badQualifierDecl4.mof",
                 "badQualifierDecl14.mof"}


def check_pegasus_cases(c: Checks, folder: pathlib.Path) -> None:
    cases = sorted(folder.glob("*.mof"))
    c.expect(len(cases) >= 20, f"OpenPegasus invalid-MOF cases missing under {folder}")
    for path in cases:
        try:
            mof.compile_files(path)
            c.expect(path.name in PEGASUS_LEGAL, f"checker accepted OpenPegasus case {path.name}")
        except mof.MofError as e:
            c.expect(path.name not in PEGASUS_LEGAL, f"checker refused legal {path.name}: {e}")


def check_compiler(c: Checks, schema: pathlib.Path,
                   dmtf_entry: pathlib.Path) -> mof.Namespace | None:
    dmtf = None
    try:
        dmtf = mof.compile_files(dmtf_entry, strict_order=True).ns()
        c.expect(len(dmtf.classes) == 1438,
                 f"the checker found {len(dmtf.classes)} DMTF 2.41 classes, expected 1438")
    except mof.MofError as e:
        c.expect(False, f"the checker rejects the DMTF 2.41 schema: {e}")
    with tempfile.TemporaryDirectory() as tmp:
        for what, body, words in NEGATIVE_CASES:
            path = pathlib.Path(tmp) / "case.mof"
            path.write_text(f'#pragma include ("{schema / "qualifiers.mof"}")\n{body}\n')
            try:
                mof.compile_files(path, strict_order=True)
                c.expect(False, f"checker accepted a schema with {what}")
            except mof.MofError as e:
                c.expect(words in str(e), f"checker refused {what} for another reason: {e}")
    return dmtf


# ---------------------------------------------------------------------------------------------
# 2. Compile the schema.

def compile_schema(c: Checks, schema: pathlib.Path) -> mof.Compiler | None:
    comp = mof.Compiler(strict_order=True)
    try:
        for ns, entry in ENTRY_FILES.items():
            comp.current = ns  # each entry file sets it again with #pragma namespace
            comp.compile_file(schema / entry)
            c.expect(comp.current == ns, f"{entry} ends in namespace {comp.current}, not {ns}")
        comp.finish()
    except mof.MofError as e:
        c.expect(False, f"schema does not compile: {e}")
        return None
    return comp


def compile_with_pywbem(c: Checks, schema: pathlib.Path, comp: mof.Compiler) -> bool:
    """Second opinion from pywbem's MOFCompiler when it is installed; False when it is not."""
    try:
        import pywbem  # type: ignore
    except ImportError:
        return False
    for ns, entry in ENTRY_FILES.items():
        conn = pywbem.MOFWBEMConnection()
        compiler = pywbem.MOFCompiler(handle=conn, search_paths=[str(schema)], verbose=False,
                                      log_func=lambda msg: None)
        try:
            compiler.compile_file(str(schema / entry), ns)
        except Exception as e:  # pywbem raises MOFParseError, CIMError and friends
            c.expect(False, f"pywbem refuses {entry}: {e}")
            continue
        for cls in comp.ns(ns).classes.values():
            try:
                got = conn.GetClass(cls.name, namespace=ns, LocalOnly=False)
                c.expect(got.classname.lower() == cls.name.lower(), f"pywbem: {ns}:{cls.name}")
            except Exception as e:
                c.expect(False, f"pywbem has no {ns}:{cls.name}: {e}")
    return True


# ---------------------------------------------------------------------------------------------
# 3. The facts the issue names.

def _in_out(p: mof.Feature) -> tuple[bool, bool]:
    return bool(p.qual("In", True)), bool(p.qual("Out", False))


def check_facts(c: Checks, comp: mof.Compiler) -> None:
    for ns_name, classes in EXPECTED_CLASSES.items():
        ns = comp.ns(ns_name)
        for name in classes:
            c.expect(ns.cls(name) is not None, f"{ns_name} lacks {name}")
    v2, interop = comp.ns(V2), comp.ns(INTEROP)

    for ns, table in ((v2, EXPECTED_KEYS), (interop, EXPECTED_INTEROP_KEYS)):
        for name, keys in table.items():
            if ns.cls(name) is not None:
                c.expect(ns.keys(name) == keys, f"{name} keys {ns.keys(name)}, expected {keys}")

    for name, sup in MSVM_SUPERCLASS.items():
        cls = v2.cls(name)
        if cls is not None:
            c.expect(cls.superclass == sup, f"{name} extends {cls.superclass}, expected {sup}")
    for name, (_, ends) in MSVM_ASSOCIATIONS.items():
        if v2.cls(name) is None:
            continue
        c.expect(v2.is_association(name), f"{name} is not an association")
        props = v2.properties(name)
        for ref, target in ends.items():
            p = props.get(ref.lower())
            c.expect(p is not None and p.type == "ref" and p.ref_class == target,
                     f"{name}.{ref} should reference {target}")
    for name in ("CIM_SnapshotOfVirtualSystem", "CIM_MostCurrentSnapshotInBranch",
                 "CIM_LastAppliedSnapshot", "CIM_HostedService", "CIM_ElementCapabilities",
                 "CIM_AffectedJobElement", "CIM_OwningJobElement", "CIM_SettingsDefineState",
                 "CIM_VirtualSystemSettingDataComponent"):
        c.expect(v2.cls(name) is not None and v2.is_association(name),
                 f"{name} is not an association")

    # The snapshot service: five methods, Hyper-V parameters, DSP1044 / Msvm return codes.
    methods = v2.methods("Msvm_VirtualSystemSnapshotService")
    for mname, ((vmap, vals), params) in SNAPSHOT_METHODS.items():
        m = methods.get(mname.lower())
        if not c.expect(m is not None, f"Msvm_VirtualSystemSnapshotService lacks {mname}"):
            continue
        c.expect(m.type == "uint32", f"{mname} returns {m.type}")
        c.expect(m.qual("ValueMap") == vmap and m.qual("Values") == vals,
                 f"{mname} return ValueMap/Values differ: {m.qual('ValueMap')}")
        got = [(p.name, p.type, p.ref_class, p.is_array, *_in_out(p)) for p in m.params]
        c.expect(got == params, f"{mname} parameters {got}, expected {params}")
    cim_methods = v2.methods("CIM_VirtualSystemSnapshotService")
    for mname in ("CreateSnapshot", "DestroySnapshot", "ApplySnapshot"):
        m = cim_methods.get(mname.lower())
        if c.expect(m is not None, f"CIM_VirtualSystemSnapshotService lacks {mname}"):
            c.expect((m.qual("ValueMap"), m.qual("Values")) == DMTF_RC, f"CIM {mname} return codes")
            c.expect([p.name for p in m.params] == [p[0] for p in SNAPSHOT_METHODS[mname][1]],
                     f"CIM {mname} parameter names differ from DSP1044")
    create = methods.get("createsnapshot")
    if create is not None:
        settings, stype = create.params[1], create.params[2]
        c.expect(settings.qual("EmbeddedInstance") == "Msvm_VirtualSystemSnapshotSettingData",
                 "Msvm CreateSnapshot.SnapshotSettings must embed "
                 "Msvm_VirtualSystemSnapshotSettingData")
        vm, vs = stype.qual("ValueMap") or [], stype.qual("Values") or []
        c.expect(("2", "Full Snapshot") in zip(vm, vs) and ("3", "Disk Snapshot") in zip(vm, vs)
                 and ("32768", "Recovery Snapshot") in zip(vm, vs), f"SnapshotType ValueMap {vm}")

    # Capabilities: both spellings, snapshot types with the vendor range.
    for cname in ("CIM_VirtualSystemSnapshotServiceCapabilities",
                  "Msvm_VirtualSystemSnapshotServiceCapabilities"):
        props = v2.properties(cname)
        maps = {}
        for pname in ("SynchronousMethodsSupported", "AynchronousMethodsSupported",
                      "AsynchronousMethodsSupported", "SnapshotTypesSupported"):
            p = props.get(pname.lower())
            if c.expect(p is not None and p.type == "uint16" and p.is_array,
                        f"{cname}.{pname} should be uint16[]"):
                maps[pname] = list(zip(p.qual("ValueMap") or [], p.qual("Values") or []))
        if "AynchronousMethodsSupported" in maps and "AsynchronousMethodsSupported" in maps:
            c.expect(maps["AynchronousMethodsSupported"] == maps["AsynchronousMethodsSupported"]
                     and ("2", "CreateSnapshotSupported") in maps["AsynchronousMethodsSupported"],
                     f"{cname}: the two async spellings must carry the same ValueMap")
        types = maps.get("SnapshotTypesSupported", [])
        c.expect(("2", "Full Snapshot") in types and ("3", "Disk Snapshot") in types
                 and ("32768..65535", "Vendor Specific") in types,
                 f"{cname}.SnapshotTypesSupported ValueMap {types}")
    vsc = v2.properties("CIM_VirtualSystemSnapshotCapabilities")
    c.expect("snapshottypesenabled" in vsc and "guestosnotificationenabled" in vsc,
             "CIM_VirtualSystemSnapshotCapabilities lacks its properties")

    # Settings: what snapshot clients read and filter on.
    vssd = v2.properties("Msvm_VirtualSystemSettingData")
    for pname, ptype in (("InstanceID", "string"), ("ElementName", "string"),
                         ("VirtualSystemIdentifier", "string"), ("VirtualSystemType", "string"),
                         ("Parent", "string"), ("ConfigurationID", "string"),
                         ("CreationTime", "datetime"), ("IsSaved", "boolean")):
        p = vssd.get(pname.lower())
        c.expect(p is not None and p.type == ptype,
                 f"Msvm_VirtualSystemSettingData.{pname} {ptype}")
    vst = (vssd.get("virtualsystemtype") or mof.Feature("", "")).qual("ValueMap") or []
    for value in ("Microsoft:Hyper-V:System:Realized", "Microsoft:Hyper-V:Snapshot:Realized",
                  "Microsoft:Hyper-V:Snapshot:Recovery"):
        c.expect(value in vst, f"VirtualSystemType ValueMap lacks {value}")
    sssd = v2.properties("Msvm_VirtualSystemSnapshotSettingData")
    c.expect(all(k in sssd for k in ("consistencylevel", "ignorenonsnapshottabledisks",
                                     "guestbackuptype")), "snapshot setting data properties")

    # Machines and jobs.
    rsc = v2.methods("Msvm_ComputerSystem").get("requeststatechange")
    if c.expect(rsc is not None, "Msvm_ComputerSystem lacks RequestStateChange"):
        got = [(p.name, p.type, p.ref_class, *_in_out(p)) for p in rsc.params]
        c.expect(got == [("RequestedState", "uint16", None, True, False),
                         ("Job", "ref", JOB, False, True),
                         ("TimeoutPeriod", "datetime", None, True, False)],
                 f"Msvm_ComputerSystem.RequestStateChange parameters {got}")
        c.expect("2" in (rsc.params[0].qual("ValueMap") or []), "RequestedState lacks 2 Enabled")
    job = v2.properties("Msvm_ConcreteJob")
    states = dict(zip(job["jobstate"].qual("ValueMap") or [], job["jobstate"].qual("Values") or []))
    c.expect(states.get("4") == "Running" and states.get("7") == "Completed"
             and states.get("10") == "Exception", f"JobState ValueMap {states}")
    removal = job.get("timebeforeremoval")
    c.expect(removal is not None and removal.type == "datetime",
             "Msvm_ConcreteJob.TimeBeforeRemoval")
    jm = v2.methods("Msvm_ConcreteJob")
    for mname in ("RequestStateChange", "GetError", "GetErrorEx", "KillJob"):
        c.expect(mname.lower() in jm, f"Msvm_ConcreteJob lacks {mname}")
    for cname, embedded in (("CIM_ConcreteJob", "CIM_Error"), ("Msvm_ConcreteJob", "Msvm_Error")):
        m = v2.methods(cname).get("geterror")
        if c.expect(m is not None and len(m.params) == 1, f"{cname}.GetError(Error)"):
            p = m.params[0]
            c.expect(p.name == "Error" and p.qual("EmbeddedInstance") == embedded
                     and _in_out(p)[1], f"{cname}.GetError returns an embedded {embedded}")
    effects = v2.properties("CIM_AffectedJobElement")["elementeffects"]
    c.expect(("5", "Create") in zip(effects.qual("ValueMap"), effects.qual("Values")),
             "AffectedJobElement.ElementEffects lacks 5 Create")

    # Interop: the four registrations and the two references between them, resolved.
    profiles = {i.get("InstanceID"): i for i in interop.instances
                if i.classname == "CIM_RegisteredProfile"}
    c.expect(set(profiles) == set(PROFILES), f"registered profiles {sorted(profiles)}")
    for iid, name in PROFILES.items():
        inst = profiles.get(iid)
        if inst is None:
            continue
        c.expect(inst.get("RegisteredOrganization") == 2, f"{iid} RegisteredOrganization")
        c.expect(inst.get("RegisteredName") == name,
                 f"{iid} RegisteredName {inst.get('RegisteredName')}")
        c.expect(inst.get("RegisteredVersion") == "1.0.0", f"{iid} RegisteredVersion")
        c.expect(inst.get("AdvertiseTypes") in ([2], [3]), f"{iid} AdvertiseTypes")
    refs = set()
    for inst in interop.instances:
        if inst.classname != "CIM_ReferencedProfile":
            continue
        ante, dep = inst.get("Antecedent"), inst.get("Dependent")
        if c.expect(isinstance(ante, mof.InstanceRef) and isinstance(dep, mof.InstanceRef),
                    "CIM_ReferencedProfile ends must be resolved aliases"):
            refs.add((ante.instance.get("InstanceID"), dep.instance.get("InstanceID")))
    c.expect(refs == REFERENCED,
             f"referenced profiles {sorted(refs)}, expected {sorted(REFERENCED)}")
    c.expect(interop.is_association("CIM_ElementConformsToProfile")
             and interop.properties("CIM_ElementConformsToProfile")["conformantstandard"].ref_class
             == "CIM_RegisteredProfile", "CIM_ElementConformsToProfile.ConformantStandard")


def check_layout(c: Checks, schema: pathlib.Path, comp: mof.Compiler) -> None:
    """One class per file named after it; #pragma namespace only in the entry files; every
    Description one short line of our own."""
    for path in sorted(schema.glob("*/*.mof")):
        text = path.read_text()
        c.expect("#pragma namespace" not in text, f"{path.name} sets a namespace")
        classes = re.findall(r"^\s*class\s+(\w+)", text, re.M)
        if classes or "instance of" not in text:
            c.expect(classes == [path.stem], f"{path.name} declares {classes}")
    for ns in comp.namespaces.values():
        for cls in ns.classes.values():
            items = [(cls.name, cls.qual("Description"))] + [
                (f"{cls.name}.{f.name}", f.qual("Description")) for f in cls.features.values()]
            for what, desc in items:
                if desc is not None:
                    c.expect("\n" not in desc and len(desc) <= 140, f"{what}: Description too long")


# ---------------------------------------------------------------------------------------------
# 4. Against the sources: DMTF 2.41 for CIM_ classes, the Hyper-V digest for Msvm_ ones.

def _effective(f: mof.Feature, q: str):
    value = f.qual(q)
    if q == "in":
        return True if value is None else value
    if q == "out":
        return False if value is None else value
    return value


def _compare_feature(c: Checks, label: str, ours: mof.Feature, theirs: mof.Feature) -> None:
    c.expect((ours.type, ours.ref_class, ours.is_array, ours.default)
             == (theirs.type, theirs.ref_class, theirs.is_array, theirs.default),
             f"{label}: type/default {ours.type} {ours.ref_class} {ours.default!r} differs "
             f"from DMTF {theirs.type} {theirs.ref_class} {theirs.default!r}")
    for q in COMPARED_QUALIFIERS + ["in", "out"]:
        c.expect(_effective(ours, q) == _effective(theirs, q),
                 f"{label}: {q} {_effective(ours, q)!r} differs from DMTF "
                 f"{_effective(theirs, q)!r}")
    if theirs.is_method:
        c.expect([p.name for p in ours.params] == [p.name for p in theirs.params],
                 f"{label}: parameters {[p.name for p in ours.params]}")
        for p, q in zip(ours.params, theirs.params):
            _compare_feature(c, f"{label}({p.name})", p, q)


def check_against_dmtf(c: Checks, comp: mof.Compiler, dmtf: mof.Namespace) -> None:
    seen = set()
    for ns in comp.namespaces.values():
        for key, cls in ns.classes.items():
            if not key.startswith("cim_") or key in seen:
                continue
            seen.add(key)
            if key in NOT_IN_DMTF_241:
                c.expect(dmtf.cls(key) is None, f"{cls.name} is in DMTF 2.41 after all: compare it")
                continue
            ref = dmtf.cls(key)
            if not c.expect(ref is not None, f"{cls.name} is not a DMTF 2.41 class"):
                continue
            c.expect(cls.name == ref.name and cls.superclass == ref.superclass,
                     f"{cls.name} : {cls.superclass} differs from DMTF "
                     f"{ref.name} : {ref.superclass}")
            for q in COMPARED_QUALIFIERS:
                c.expect(cls.qual(q) == ref.qual(q),
                         f"{cls.name}: class qualifier {q} {cls.qual(q)!r} vs DMTF {ref.qual(q)!r}")
            ours = {k for k in cls.features if (key, k) not in DMTF_ADDITIONS}
            theirs = set(ref.features)
            c.expect(ours == theirs, f"{cls.name}: features differ from DMTF: missing "
                                     f"{sorted(theirs - ours)}, extra {sorted(ours - theirs)}")
            for fkey in ours & set(ref.features):
                _compare_feature(c, f"{cls.name}.{cls.features[fkey].name}", cls.features[fkey],
                                 ref.features[fkey])
            c.expect(cls.qual("Description") != ref.qual("Description"),
                     f"{cls.name}: Description is DMTF's text, not ours")


def _digest_classes(text: str) -> dict[str, tuple[str, dict[str, tuple[str, bool]]]]:
    """class name -> (superclass, {property: (type, is_array)}) from the Hyper-V digest."""
    out = {}
    for m in re.finditer(r"^class (\w+)(?: : (\w+))?\s*\{(.*?)^\};", text, re.M | re.S):
        props = {}
        for line in m.group(3).splitlines():
            pm = re.match(r"\s*(\w+)\s+(REF\s+)?(\w+)(\[\])?", line)
            if pm:
                props[pm.group(3).lower()] = ("ref" if pm.group(2) else pm.group(1).lower(),
                                              bool(pm.group(4)))
        out[m.group(1).lower()] = (m.group(2), props)
    return out


def _digest_methods(text: str) -> dict[tuple[str, str], list[tuple[str, str, bool, bool, bool]]]:
    """(class, method) -> [(param, type, is_array, in, out)] from the method digest."""
    out = {}
    for m in re.finditer(r"^// source: [^\n]*/(\w+)-(msvm-\w+)\.md\n\w+ (\w+)\((.*?)\);", text,
                         re.M | re.S):
        cls = m.group(2).replace("msvm-", "msvm_")
        params = []
        for pm in re.finditer(r"\[([^\]]*)\]\s+(\w+)\s+(REF\s+)?(\w+)(\[\])?", m.group(4)):
            dirs = [d.strip().lower() for d in pm.group(1).split(",")]
            params.append((pm.group(4), "ref" if pm.group(3) else pm.group(2).lower(),
                           bool(pm.group(5)), "in" in dirs, "out" in dirs))
        out[(cls, m.group(3).lower())] = params
    return out


def _signature(m: mof.Feature) -> list[tuple]:
    """Parameters as the digest states them, with the documented direction exceptions undone."""
    out = []
    for p in m.params:
        is_in, is_out = _in_out(p)
        if (m.name.lower(), p.name) in DIGEST_DIRECTION_EXCEPTIONS:
            is_in = True
        out.append((p.name, p.type, p.is_array, is_in, is_out))
    return out


def check_against_digest(c: Checks, comp: mof.Compiler, digest_dir: pathlib.Path) -> None:
    """Msvm_ classes: superclass and property types as the digest has them; methods below."""
    classes = _digest_classes((digest_dir / "msvm_v2_classes_from_docs.mof").read_text())
    methods = _digest_methods((digest_dir / "msvm_v2_method_signatures_from_docs.mof").read_text())
    v2 = comp.ns(V2)
    for key, cls in v2.classes.items():
        if not key.startswith("msvm_") or key in NOT_IN_DIGEST:
            continue
        if not c.expect(key in classes, f"{cls.name} is not in the Hyper-V digest"):
            continue
        sup, props = classes[key]
        c.expect((sup or "").lower() == (cls.superclass or "").lower(),
                 f"{cls.name} extends {cls.superclass}, the digest says {sup}")
        for fkey, f in cls.features.items():
            if f.is_method:
                params = methods.get((key, fkey))
                if not c.expect(params is not None, f"{cls.name}.{f.name}() is not in the digest"):
                    continue
                got = _signature(f)
                c.expect(got == params, f"{cls.name}.{f.name}() {got} differs from digest {params}")
            else:
                c.expect(props.get(fkey) == (f.type, f.is_array),
                         f"{cls.name}.{f.name} {f.type} differs from the digest {props.get(fkey)}")
    # Inherited methods too (the snapshot service's DSP1044 trio, the management service's
    # DefineSystem, ModifySystemSettings...): where Hyper-V documents a method for the Msvm_
    # class, what the class serves must have the documented signature.
    compared = 0
    for key, cls in v2.classes.items():
        if not key.startswith("msvm_"):
            continue
        for mkey, m in v2.methods(cls.name).items():
            params = methods.get((key, mkey))
            if params is not None:
                compared += 1
                got = _signature(m)
                c.expect(got == params, f"{cls.name}.{m.name}() {got} differs from digest {params}")
    c.expect(compared >= 15, f"only {compared} Msvm_ methods found in the digest")
    for mname in SNAPSHOT_METHODS:
        c.expect(("msvm_virtualsystemsnapshotservice", mname.lower()) in methods,
                 f"the digest does not document {mname}")


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    shared = pathlib.Path(sys.argv[2]).resolve() if len(sys.argv) > 2 else root.parent / "shared"
    schema = root / "schema"
    dmtf_entry = shared / "schema/dmtf-cim-2.41/CIM241/DMTF/cim_schema_2.41.0.mof"
    digest_dir = shared / "schema/hyperv-v2"
    if not dmtf_entry.is_file() or not digest_dir.is_dir():
        print(f"check_schema_pywbem: reference material missing under {shared}", file=sys.stderr)
        return 1
    c = Checks()
    dmtf = check_compiler(c, schema, dmtf_entry)
    check_pegasus_cases(c, shared / PEGASUS_INVALID_DIR)
    comp = compile_schema(c, schema)
    pywbem_ran = False
    if comp is not None:
        pywbem_ran = compile_with_pywbem(c, schema, comp)
        check_facts(c, comp)
        check_layout(c, schema, comp)
        check_against_digest(c, comp, digest_dir)
        if dmtf is not None:
            check_against_dmtf(c, comp, dmtf)
    for f in c.failures:
        print(f"FAIL: {f}")
    counts = ", ".join(f"{n.name} {len(n.classes)} classes/{len(n.instances)} instances"
                       for n in (comp.namespaces.values() if comp else []))
    print(f"schema: {counts}; pywbem {'also compiled it' if pywbem_ran else 'not installed'}")
    print(f"{c.passed} passed, {len(c.failures)} failed")
    return 0 if not c.failures else 1


if __name__ == "__main__":
    sys.exit(main())
