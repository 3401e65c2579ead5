#!/usr/bin/env python3
"""A small, independent DSP0004 (CIM Infrastructure 2.x) MOF compiler used only by the tests.

It exists to check vsnapd's schema/ MOF with a second implementation that shares no code with
the C++ compiler in cimom/. It parses `#pragma include`/`#pragma namespace`, qualifier
declarations, class, association and indication declarations and `instance of` with `$alias`,
builds an in-memory repository per namespace, and rejects what a conforming compiler rejects:
undeclared qualifiers, qualifiers outside their scope or of the wrong type, unknown
superclasses, duplicate classes or features, an `Override` naming nothing inherited, a
redeclared inherited feature without `Override`, references outside associations, unresolved
REF and EmbeddedInstance classes, ValueMap/Values of unequal length, instances of abstract or
unknown classes, unknown instance properties, type mismatches, missing keys and dangling
aliases. Names are case-insensitive as DSP0004 requires; the spelling of the declaration is kept.

It is deliberately not a full WBEM server: no DSP0004 3.0 structures/enumerations, no
qualifier flavor propagation beyond what the checks above need."""
from __future__ import annotations

import dataclasses
import pathlib
import re
from typing import Any

INT_RANGES = {
    "uint8": (0, 2**8 - 1), "sint8": (-(2**7), 2**7 - 1),
    "uint16": (0, 2**16 - 1), "sint16": (-(2**15), 2**15 - 1),
    "uint32": (0, 2**32 - 1), "sint32": (-(2**31), 2**31 - 1),
    "uint64": (0, 2**64 - 1), "sint64": (-(2**63), 2**63 - 1),
}
BUILTIN_TYPES = set(INT_RANGES) | {"string", "boolean", "real32", "real64", "datetime", "char16"}


class MofError(Exception):
    """A compile error with its file and line."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message


@dataclasses.dataclass
class Alias:
    """A `$name` value, resolved against the namespace's aliases when an instance is added."""
    name: str


@dataclasses.dataclass
class QualifierDecl:
    name: str
    type: str
    is_array: bool
    default: Any
    scopes: set[str]
    flavors: set[str]


@dataclasses.dataclass
class Feature:
    """A property, reference, method or parameter. `type` is 'ref' for references."""
    name: str
    type: str
    ref_class: str | None = None
    is_array: bool = False
    default: Any = None
    quals: dict[str, tuple[str, Any]] = dataclasses.field(default_factory=dict)
    params: list["Feature"] | None = None  # methods only
    where: str = ""

    @property
    def is_method(self) -> bool:
        return self.params is not None

    def qual(self, name: str, default: Any = None) -> Any:
        hit = self.quals.get(name.lower())
        return default if hit is None else hit[1]


@dataclasses.dataclass
class MofClass:
    name: str
    superclass: str | None
    quals: dict[str, tuple[str, Any]]
    features: dict[str, Feature]  # local declarations only, keyed by lower-case name
    where: str

    def qual(self, name: str, default: Any = None) -> Any:
        hit = self.quals.get(name.lower())
        return default if hit is None else hit[1]


@dataclasses.dataclass
class MofInstance:
    classname: str
    alias: str | None
    values: dict[str, tuple[str, Any]]  # lower name -> (spelling, value with aliases resolved)
    where: str

    def get(self, name: str) -> Any:
        hit = self.values.get(name.lower())
        return None if hit is None else hit[1]


@dataclasses.dataclass
class InstanceRef:
    """What an alias stands for: the path of an instance compiled earlier."""
    instance: MofInstance


class Namespace:
    """The repository of one namespace: qualifier declarations, classes, instances, aliases."""

    def __init__(self, name: str):
        self.name = name
        self.qualifiers: dict[str, QualifierDecl] = {}
        self.classes: dict[str, MofClass] = {}
        self.instances: list[MofInstance] = []
        self.aliases: dict[str, MofInstance] = {}

    def cls(self, name: str) -> MofClass | None:
        return self.classes.get(name.lower())

    def chain(self, name: str) -> list[MofClass]:
        """The class and its superclasses, most derived first."""
        out = []
        c = self.cls(name)
        while c is not None:
            out.append(c)
            c = self.cls(c.superclass) if c.superclass else None
        return out

    def is_subclass(self, name: str, ancestor: str) -> bool:
        return any(c.name.lower() == ancestor.lower() for c in self.chain(name))

    def features(self, name: str) -> dict[str, Feature]:
        """Every property, reference and method visible in the class, the most derived
        declaration winning (what a client sees)."""
        out: dict[str, Feature] = {}
        for c in reversed(self.chain(name)):
            out.update(c.features)
        return out

    def properties(self, name: str) -> dict[str, Feature]:
        return {k: f for k, f in self.features(name).items() if not f.is_method}

    def methods(self, name: str) -> dict[str, Feature]:
        return {k: f for k, f in self.features(name).items() if f.is_method}

    def keys(self, name: str) -> list[str]:
        """Key property names; Key is inherited (ToSubclass): a declaration anywhere counts."""
        keys = []
        for c in reversed(self.chain(name)):
            for f in c.features.values():
                if f.qual("Key") and f.name.lower() not in [k.lower() for k in keys]:
                    keys.append(f.name)
        return keys

    def is_association(self, name: str) -> bool:
        return any(c.qual("Association") for c in self.chain(name))

    def is_indication(self, name: str) -> bool:
        return any(c.qual("Indication") for c in self.chain(name))


# ---------------------------------------------------------------------------------------------
# Lexer

_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n\f]+)
  | (?P<lcomment>//[^\n]*)
  | (?P<bcomment>/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<char>'(?:[^'\\\n]|\\.[0-9a-fA-F]*)')
  | (?P<real>[+-]?[0-9]*\.[0-9]+(?:[eE][+-]?[0-9]+)?)
  | (?P<hex>[+-]?0[xX][0-9a-fA-F]+)
  | (?P<binary>[+-]?[01]+[bB](?![0-9A-Za-z_]))
  | (?P<int>[+-]?[0-9]+)
  | (?P<alias>\$[A-Za-z_][A-Za-z0-9_]*)
  | (?P<pragma>\#pragma\b)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[{}()\[\];,:=])
""", re.VERBOSE | re.DOTALL)

_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "'": "'", "\\": "\\"}


def _unescape(body: str, where: str) -> str:
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in _ESCAPES:
            out.append(_ESCAPES[nxt])
            i += 2
        elif nxt in "xX":
            m = re.match(r"[0-9a-fA-F]{1,4}", body[i + 2:])
            if not m:
                raise MofError(where, "bad \\x escape in string")
            out.append(chr(int(m.group(0), 16)))
            i += 2 + len(m.group(0))
        else:
            raise MofError(where, f"unknown escape \\{nxt} in string")
    return "".join(out)


@dataclasses.dataclass
class Token:
    kind: str
    text: str
    value: Any
    line: int


def tokenize(text: str, filename: str) -> list[Token]:
    tokens, pos, line = [], 0, 1
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise MofError(f"{filename}:{line}", f"unexpected character {text[pos]!r}")
        kind, raw = m.lastgroup, m.group(0)
        where = f"{filename}:{line}"
        if kind == "string":
            tokens.append(Token(kind, raw, _unescape(raw[1:-1], where), line))
        elif kind == "char":
            tokens.append(Token(kind, raw, _unescape(raw[1:-1], where), line))
        elif kind == "real":
            tokens.append(Token(kind, raw, float(raw), line))
        elif kind == "hex":
            tokens.append(Token("int", raw, int(raw, 16), line))
        elif kind == "binary":
            tokens.append(Token("int", raw, int(raw[:-1], 2), line))
        elif kind == "int":
            digits = raw.lstrip("+-")
            # DSP0004: a leading zero means octal.
            try:
                val = int(digits, 8) if len(digits) > 1 and digits[0] == "0" else int(digits)
            except ValueError:
                raise MofError(where, f"{raw} is not a valid octal number") from None
            tokens.append(Token(kind, raw, -val if raw.startswith("-") else val, line))
        elif kind not in ("ws", "lcomment", "bcomment"):
            tokens.append(Token(kind, raw, raw, line))
        line += raw.count("\n")
        pos = m.end()
    tokens.append(Token("eof", "", None, line))
    return tokens


# ---------------------------------------------------------------------------------------------
# Parser and semantic checks

class Compiler:
    """Compiles MOF files into per-namespace repositories. The namespace starts as `namespace`
    and changes with `#pragma namespace`; includes resolve against the including file's folder."""

    def __init__(self, namespace: str = "root/cimv2", strict_order: bool = False):
        # strict_order: a REF or EmbeddedInstance class must be declared before it is used (some
        # compilers resolve them at once); otherwise they are resolved when finish() runs.
        self.strict_order = strict_order
        self._defining: str | None = None
        self.namespaces: dict[str, Namespace] = {}
        self.current = namespace
        self.files: list[pathlib.Path] = []
        self._open: list[pathlib.Path] = []  # the include stack, to refuse cycles
        self._deferred: list[tuple[Namespace, str, str, str]] = []  # ns, class, where, what

    def ns(self, name: str | None = None) -> Namespace:
        name = name or self.current
        key = name.lower()
        if key not in self.namespaces:
            self.namespaces[key] = Namespace(name)
        return self.namespaces[key]

    # -- driver ---------------------------------------------------------------------------------

    def compile_file(self, path: pathlib.Path | str) -> None:
        path = pathlib.Path(path).resolve()
        if path in self._open:
            raise MofError(str(path), "file includes itself")
        self.files.append(path)
        self._open.append(path)
        saved = getattr(self, "_state", None)
        self._state = (tokenize(path.read_text(encoding="utf-8"), str(path)), 0, path)
        try:
            while self._peek().kind != "eof":
                self._production()
        finally:
            self._state = saved
            self._open.pop()

    def _require_class(self, cname: str, where: str, what: str) -> None:
        if self.strict_order:
            if self.ns().cls(cname) is None and (self._defining or "").lower() != cname.lower():
                raise MofError(where, f"{what} names class {cname}, "
                                      f"not declared before it in {self.current}")
        else:
            self._deferred.append((self.ns(), cname, where, what))

    def finish(self) -> None:
        """Runs the checks that need the whole namespace: every REF and EmbeddedInstance class
        must exist where it is used."""
        for ns, cname, where, what in self._deferred:
            if ns.cls(cname) is None:
                raise MofError(where, f"{what} names class {cname} unknown in {ns.name}")
        self._deferred.clear()

    # -- token helpers --------------------------------------------------------------------------

    def _peek(self, k: int = 0) -> Token:
        toks, i, _ = self._state
        return toks[min(i + k, len(toks) - 1)]

    def _next(self) -> Token:
        toks, i, path = self._state
        self._state = (toks, i + 1, path)
        return toks[i]

    def _where(self, tok: Token | None = None) -> str:
        tok = tok or self._peek()
        return f"{self._state[2]}:{tok.line}"

    def _is(self, text: str, k: int = 0) -> bool:
        t = self._peek(k)
        return t.kind in ("ident", "punct", "pragma") and t.text.lower() == text.lower()

    def _expect(self, text: str) -> Token:
        if not self._is(text):
            raise MofError(self._where(), f"expected '{text}', found '{self._peek().text}'")
        return self._next()

    def _ident(self) -> str:
        t = self._peek()
        if t.kind != "ident":
            raise MofError(self._where(), f"expected a name, found '{t.text}'")
        return self._next().text

    # -- productions ----------------------------------------------------------------------------

    def _production(self) -> None:
        if self._is("#pragma"):
            self._pragma()
        elif self._is("qualifier"):
            self._qualifier_decl()
        else:
            quals = self._qualifier_list() if self._is("[") else {}
            if self._is("class"):
                self._class_decl(quals)
            elif self._is("instance"):
                self._instance_decl(quals)
            else:
                raise MofError(self._where(), f"unexpected '{self._peek().text}'")

    def _pragma(self) -> None:
        self._next()
        name = self._ident().lower()
        self._expect("(")
        arg = self._string()
        self._expect(")")
        if name == "include":
            base = self._state[2].parent
            target = (base / arg).resolve()
            if not target.is_file():
                raise MofError(self._where(), f"included file {arg} not found")
            self.compile_file(target)
        elif name == "namespace":
            self.current = arg

    def _string(self) -> str:
        t = self._peek()
        if t.kind != "string":
            raise MofError(self._where(), f"expected a string, found '{t.text}'")
        parts = []
        while self._peek().kind == "string":  # adjacent literals concatenate
            parts.append(self._next().value)
        return "".join(parts)

    def _value(self) -> Any:
        t = self._peek()
        if t.kind == "string":
            return self._string()
        if t.kind in ("int", "real", "char"):
            return self._next().value
        if t.kind == "alias":
            return Alias(self._next().text[1:])
        if self._is("true"):
            self._next()
            return True
        if self._is("false"):
            self._next()
            return False
        if self._is("null"):
            self._next()
            return None
        if self._is("{"):
            self._next()
            items = []
            while not self._is("}"):
                items.append(self._value())
                if not self._is("}"):
                    self._expect(",")
            self._next()
            return items
        raise MofError(self._where(), f"expected a value, found '{t.text}'")

    def _qualifier_decl(self) -> None:
        where = self._where()
        self._next()
        name = self._ident()
        self._expect(":")
        qtype = self._ident().lower()
        if qtype not in BUILTIN_TYPES:
            raise MofError(where, f"qualifier {name} has unknown type {qtype}")
        is_array = False
        if self._is("["):
            self._next()
            if self._peek().kind == "int":
                self._next()
            self._expect("]")
            is_array = True
        default = None
        if self._is("="):
            self._next()
            default = self._value()
            _check_value(default, qtype, is_array, where, f"default of qualifier {name}")
        scopes, flavors = set(), set()
        while self._is(","):
            self._next()
            which = self._ident().lower()
            if which not in ("scope", "flavor"):
                raise MofError(self._where(), f"expected Scope or Flavor, found {which}")
            self._expect("(")
            target = scopes if which == "scope" else flavors
            while True:
                target.add(self._ident().lower())
                if self._is(")"):
                    break
                self._expect(",")
            self._next()
        self._expect(";")
        if not scopes:
            raise MofError(where, f"qualifier {name} declares no Scope")
        bad = scopes - {"class", "association", "indication", "property", "reference", "method",
                        "parameter", "any", "schema", "qualifier"}
        if bad:
            raise MofError(where, f"qualifier {name} has unknown scope {sorted(bad)}")
        badf = flavors - {"enableoverride", "disableoverride", "tosubclass", "restricted",
                          "translatable", "toinstance", "amended", "notoinstance"}
        if badf:
            raise MofError(where, f"qualifier {name} has unknown flavor {sorted(badf)}")
        ns = self.ns()
        if name.lower() in ns.qualifiers:
            raise MofError(where, f"qualifier {name} declared twice in {ns.name}")
        ns.qualifiers[name.lower()] = QualifierDecl(name, qtype, is_array, default, scopes, flavors)

    def _qualifier_list(self) -> dict[str, tuple[str, Any]]:
        self._expect("[")
        quals: dict[str, tuple[str, Any]] = {}
        while True:
            where = self._where()
            name = self._ident()
            value: Any = True  # a bare boolean qualifier means true
            explicit = False
            if self._is("("):
                self._next()
                value = self._value()
                self._expect(")")
                explicit = True
            elif self._is("{"):
                value = self._value()
                explicit = True
            if self._is(":"):  # per-use flavors
                self._next()
                while self._peek().kind == "ident":
                    self._next()
            if name.lower() in quals:
                raise MofError(where, f"qualifier {name} given twice")
            quals[name.lower()] = (name, (value, explicit, where))
            if self._is("]"):
                break
            self._expect(",")
        self._next()
        return quals

    def _apply_quals(self, raw: dict, scope: str, what: str) -> dict[str, tuple[str, Any]]:
        """Checks each used qualifier against its declaration and returns name -> value."""
        ns = self.ns()
        out = {}
        for key, (name, (value, explicit, where)) in raw.items():
            decl = ns.qualifiers.get(key)
            if decl is None:
                raise MofError(where, f"qualifier {name} on {what} is not declared in {ns.name}")
            scopes = decl.scopes
            ok = "any" in scopes or scope in scopes or (
                scope in ("association", "indication") and "class" in scopes)
            if not ok:
                raise MofError(where, f"qualifier {name} is not allowed on a {scope} ({what})")
            if not explicit and decl.type != "boolean":
                raise MofError(where, f"qualifier {name} on {what} needs a value")
            if decl.is_array and not isinstance(value, list):
                raise MofError(where, f"qualifier {name} on {what} needs an array value")
            _check_value(value, decl.type, decl.is_array, where, f"qualifier {name} on {what}")
            out[key] = (decl.name, value)
        return out

    def _class_decl(self, rawquals: dict) -> None:
        where = self._where()
        self._next()
        name = self._ident()
        superclass = None
        if self._is(":"):
            self._next()
            superclass = self._ident()
        ns = self.ns()
        if ns.cls(name) is not None:
            raise MofError(where, f"class {name} already defined in {ns.name}")
        sup = None
        if superclass is not None:
            sup = ns.cls(superclass)
            if sup is None:
                raise MofError(where,
                               f"superclass {superclass} of {name} is not defined in {ns.name}")
            superclass = sup.name  # keep the declared spelling
        is_assoc = "association" in rawquals and rawquals["association"][1][0] is not False
        is_ind = "indication" in rawquals and rawquals["indication"][1][0] is not False
        if sup is not None and ns.is_association(sup.name) and not is_assoc:
            raise MofError(where, f"{name} subclasses association {sup.name} without Association")
        if sup is not None and not ns.is_association(sup.name) and is_assoc:
            raise MofError(where, f"association {name} subclasses non-association {sup.name}")
        scope = "association" if is_assoc else "indication" if is_ind else "class"
        quals = self._apply_quals(rawquals, scope, f"class {name}")
        _check_valuemap(quals, where, f"class {name}")
        inherited = ns.features(sup.name) if sup is not None else {}
        self._defining = name
        features: dict[str, Feature] = {}
        self._expect("{")
        while not self._is("}"):
            feat = self._feature(name)
            key = feat.name.lower()
            if key in features:
                raise MofError(feat.where, f"{name}.{feat.name} declared twice")
            label = f"{name}.{feat.name}"
            if feat.type == "ref" and not is_assoc and not feat.is_method:
                raise MofError(feat.where, f"reference {label} outside an association")
            override = feat.qual("Override")
            if override is not None:
                base = inherited.get(str(override).lower())
                if base is None:
                    raise MofError(feat.where,
                                   f"{label} overrides {override}, which {superclass} lacks")
                if str(override).lower() != key:
                    raise MofError(feat.where, f"{label} Override names a different feature")
                _check_override(base, feat, label)
                self._check_fixed_qualifiers(base, feat, label)
                if base.type == "ref" and ns.cls(feat.ref_class) is not None and not ns.is_subclass(
                        feat.ref_class, base.ref_class):
                    raise MofError(feat.where, f"{label} narrows {base.ref_class} "
                                               f"to unrelated {feat.ref_class}")
            elif key in inherited:
                raise MofError(feat.where,
                               f"{label} redeclares an inherited feature without Override")
            features[key] = feat
        self._next()
        self._expect(";")
        ns.classes[name.lower()] = MofClass(name, superclass, quals, features, where)

    def _check_fixed_qualifiers(self, base: Feature, feat: Feature, label: str) -> None:
        """A qualifier with the DisableOverride flavor keeps the value the superclass gave it
        (DSP0004): an override may repeat it but not change it, on the feature or any parameter."""
        pairs = [(base, feat, label)]
        if base.is_method:
            pairs += [(b, f, f"{label}({f.name})") for b, f in zip(base.params, feat.params)]
        for old, new, what in pairs:
            for key, (name, value) in new.quals.items():
                decl = self.ns().qualifiers[key]
                # Only an explicitly inherited value is fixed: DMTF itself turns an inherited
                # property into a key (InstanceID) by adding Key to an override.
                if "disableoverride" not in decl.flavors or key not in old.quals:
                    continue
                inherited = old.quals[key][1]
                if value != inherited:
                    raise MofError(new.where, f"{what} changes {name} ({inherited!r} -> "
                                              f"{value!r}), which is DisableOverride")

    def _type_and_name(self, owner: str) -> tuple[str, str | None, str, str]:
        """Parses `type name` or `Class REF name`; returns (type, ref class, name, where)."""
        where = self._where()
        first = self._ident()
        if self._is("ref"):
            self._next()
            name = self._ident()
            self._require_class(first, where, f"reference {owner}.{name}")
            return "ref", first, name, where
        if first.lower() not in BUILTIN_TYPES:
            raise MofError(where, f"unknown type {first} in {owner}")
        return first.lower(), None, self._ident(), where

    def _array_suffix(self) -> bool:
        if not self._is("["):
            return False
        self._next()
        if self._peek().kind == "int":
            self._next()
        self._expect("]")
        return True

    def _feature(self, owner: str) -> Feature:
        rawquals = self._qualifier_list() if self._is("[") else {}
        ftype, ref, name, where = self._type_and_name(owner)
        label = f"{owner}.{name}"
        if self._is("("):  # a method
            self._next()
            params = []
            while not self._is(")"):
                praw = self._qualifier_list() if self._is("[") else {}
                ptype, pref, pname, pwhere = self._type_and_name(f"{label}()")
                parr = self._array_suffix()
                if self._is("="):
                    self._next()
                    self._value()
                pquals = self._apply_quals(praw, "parameter", f"parameter {label}.{pname}")
                _check_valuemap(pquals, pwhere, f"parameter {label}.{pname}", ptype)
                _check_embedded(self, pquals, ptype, pwhere, f"parameter {label}.{pname}")
                if any(p.name.lower() == pname.lower() for p in params):
                    raise MofError(pwhere, f"parameter {pname} of {label} given twice")
                params.append(Feature(pname, ptype, pref, parr, None, pquals, None, pwhere))
                if not self._is(")"):
                    self._expect(",")
            self._next()
            self._expect(";")
            if ftype == "ref":
                raise MofError(where, f"method {label} returns a reference")
            quals = self._apply_quals(rawquals, "method", f"method {label}")
            _check_valuemap(quals, where, f"method {label}", ftype)
            return Feature(name, ftype, None, False, None, quals, params, where)
        is_array = self._array_suffix()
        if is_array and ftype == "ref":
            raise MofError(where, f"reference {label} cannot be an array")
        default = None
        if self._is("="):
            self._next()
            default = self._value()
            if ftype != "ref":
                _check_value(default, ftype, is_array, where, f"default of {label}")
        self._expect(";")
        quals = self._apply_quals(rawquals, "reference" if ftype == "ref" else "property",
                                  f"property {label}")
        _check_valuemap(quals, where, f"property {label}", ftype)
        _check_embedded(self, quals, ftype, where, f"property {label}")
        return Feature(name, ftype, ref, is_array, default, quals, None, where)

    def _instance_decl(self, rawquals: dict) -> None:
        where = self._where()
        self._next()
        self._expect("of")
        cname = self._ident()
        alias = None
        if self._is("as"):
            self._next()
            t = self._next()
            if t.kind != "alias":
                raise MofError(where, "expected $alias after 'as'")
            alias = t.text[1:]
        ns = self.ns()
        cls = ns.cls(cname)
        if cls is None:
            raise MofError(where, f"instance of unknown class {cname} in {ns.name}")
        if cls.qual("Abstract"):
            raise MofError(where, f"instance of abstract class {cls.name}")
        self._apply_quals(rawquals, "class", f"instance of {cname}")
        props = ns.properties(cls.name)
        values: dict[str, tuple[str, Any]] = {}
        self._expect("{")
        while not self._is("}"):
            pwhere = self._where()
            if self._is("["):
                self._qualifier_list()
            pname = self._ident()
            self._expect("=")
            value = self._value()
            self._expect(";")
            prop = props.get(pname.lower())
            if prop is None:
                raise MofError(pwhere, f"{cls.name} has no property {pname}")
            if pname.lower() in values:
                raise MofError(pwhere, f"property {pname} set twice")
            if prop.type == "ref":
                value = self._resolve_ref(value, prop, pwhere)
            else:
                _check_value(value, prop.type, prop.is_array, pwhere, f"{cls.name}.{pname}")
            values[pname.lower()] = (prop.name, value)
        self._next()
        self._expect(";")
        for key, prop in props.items():
            required = prop.name in ns.keys(cls.name) or any(
                c.features.get(key) is not None and c.features[key].qual("Required")
                for c in ns.chain(cls.name))
            if required and values.get(key, (None, None))[1] is None and prop.default is None:
                raise MofError(where, f"instance of {cls.name} lacks key or Required {prop.name}")
        inst = MofInstance(cls.name, alias, values, where)
        ident = _identity(ns, inst)
        for other in ns.instances:
            if other.classname.lower() == inst.classname.lower() and _identity(ns, other) == ident:
                raise MofError(where, f"instance of {cls.name} with the same keys defined twice")
        if alias is not None:
            if alias.lower() in ns.aliases:
                raise MofError(where, f"alias ${alias} defined twice")
            ns.aliases[alias.lower()] = inst
        ns.instances.append(inst)

    def _resolve_ref(self, value: Any, prop: Feature, where: str) -> Any:
        if isinstance(value, Alias):
            target = self.ns().aliases.get(value.name.lower())
            if target is None:
                raise MofError(where, f"alias ${value.name} is not defined (yet)")
            if not self.ns().is_subclass(target.classname, prop.ref_class):
                raise MofError(where,
                               f"${value.name} is a {target.classname}, not a {prop.ref_class}")
            return InstanceRef(target)
        if isinstance(value, str) or value is None:
            return value  # an object path written out; not resolved
        raise MofError(where, f"reference {prop.name} needs an alias or an object path")


def _identity(ns: Namespace, inst: MofInstance) -> tuple:
    return tuple(repr(inst.get(k)) for k in ns.keys(inst.classname))


def _check_value(value: Any, vtype: str, is_array: bool, where: str, what: str) -> None:
    if value is None:
        return
    if is_array:
        if not isinstance(value, list):
            raise MofError(where, f"{what}: expected an array")
        for v in value:
            _check_value(v, vtype, False, where, what)
        return
    if isinstance(value, list):
        raise MofError(where, f"{what}: expected a single value, not an array")
    if vtype in INT_RANGES:
        lo, hi = INT_RANGES[vtype]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise MofError(where, f"{what}: {value!r} is not a {vtype}")
    elif vtype in ("real32", "real64"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise MofError(where, f"{what}: {value!r} is not a {vtype}")
    elif vtype == "boolean":
        if not isinstance(value, bool):
            raise MofError(where, f"{what}: {value!r} is not a boolean")
    elif vtype in ("string", "datetime", "char16"):
        if not isinstance(value, str):
            raise MofError(where, f"{what}: {value!r} is not a {vtype}")
        if vtype == "datetime" and not re.fullmatch(
                r"[0-9*]{14}\.[0-9*]{6}[+-][0-9*]{3}|[0-9*]{14}\.[0-9*]{6}:000", value):
            raise MofError(where, f"{what}: {value!r} is not a DSP0004 datetime")
    elif isinstance(value, Alias):
        raise MofError(where, f"{what}: alias used for a non-reference")


def _check_valuemap(quals: dict, where: str, what: str, vtype: str = "") -> None:
    vm, vals = quals.get("valuemap"), quals.get("values")
    if vm is not None and vals is not None and len(vm[1]) != len(vals[1]):
        raise MofError(where, f"{what}: ValueMap has {len(vm[1])} entries, Values {len(vals[1])}")
    if vm is not None:
        seen = set()
        for v in vm[1]:
            num = r"[+-]?(?:0[xX][0-9a-fA-F]+|[0-9]+)"
            integral = re.fullmatch(f"{num}|(?:{num})?\\.\\.(?:{num})?", v)
            if vtype in INT_RANGES and not integral:
                raise MofError(where, f"{what}: ValueMap entry {v!r} is not an integer or range")
            if v in seen and v != "..":  # DMTF itself repeats the bare ".." range
                raise MofError(where, f"{what}: ValueMap entry {v!r} repeated")
            seen.add(v)


def _check_embedded(comp: Compiler, quals: dict, ftype: str, where: str, what: str) -> None:
    for q in ("embeddedinstance", "embeddedobject"):
        if q in quals and ftype != "string":
            raise MofError(where, f"{what}: {quals[q][0]} on a {ftype}")
    if "embeddedinstance" in quals:
        comp._require_class(quals["embeddedinstance"][1], where, f"EmbeddedInstance of {what}")


def _check_override(base: Feature, feat: Feature, label: str) -> None:
    if base.is_method != feat.is_method:
        kind = "method" if base.is_method else "property"
        raise MofError(feat.where, f"{label} overrides a {kind}")
    if base.type != feat.type or base.is_array != feat.is_array:
        raise MofError(feat.where, f"{label} override changes the type")
    if base.is_method:
        if [p.name.lower() for p in base.params] != [p.name.lower() for p in feat.params]:
            raise MofError(feat.where, f"{label} override changes the parameters")


def compile_files(*paths: pathlib.Path | str, namespace: str = "root/cimv2",
                  strict_order: bool = False) -> Compiler:
    """Compiles each file (with its includes) and runs the whole-namespace checks."""
    comp = Compiler(namespace, strict_order)
    for p in paths:
        comp.compile_file(p)
    comp.finish()
    return comp
