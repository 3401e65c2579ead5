#!/usr/bin/env python3
"""Rejects #include edges that break vsnapd's one-way layering (../shared/STYLE.md).

common <- storage <- hypervisor <- cimom/providers; common <- schema <- cimom (core); server on top.
Nothing includes server/. Exit status 1 lists every offending include."""
import pathlib
import re
import sys

ALLOWED = {
    "common": {"common"},
    "storage": {"storage", "common"},
    "hypervisor": {"hypervisor", "storage", "common"},
    "schema": {"schema", "common"},
    "cimom": {"cimom", "schema", "common"},
    "cimom/providers": {"cimom", "schema", "common", "hypervisor", "storage"},
    "server": {"server", "cimom", "schema", "common", "hypervisor", "storage"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')


def module_of(rel: pathlib.PurePath) -> str:
    parts = rel.parts
    if len(parts) > 1 and parts[0] == "cimom" and parts[1] == "providers":
        return "cimom/providers"
    return parts[0]


def main() -> int:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
    bad = []
    checked = 0
    for module in ("common", "storage", "hypervisor", "schema", "cimom", "server"):
        for path in sorted((root / module).rglob("*")):
            if path.suffix not in (".hpp", ".cpp", ".h"):
                continue
            checked += 1
            rel = path.relative_to(root)
            allowed = ALLOWED[module_of(rel)]
            for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                m = INCLUDE.match(line)
                if m and m.group(1) in ALLOWED and m.group(1) not in allowed:
                    bad.append(f"{rel}:{n}: includes {m.group(1)}/ (allowed: {sorted(allowed)})")
    for b in bad:
        print(b)
    print(f"layering: {checked} files checked, {len(bad)} violations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
