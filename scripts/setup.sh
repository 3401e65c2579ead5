#!/usr/bin/env bash
# Installs every build and test dependency of vsnapd from Debian 12 packages.
# Idempotent and quiet: `apt-get update` runs only when a package is missing, and
# nothing is installed twice. Safe to re-run; needs root (or sudo) only when
# something is missing.
set -euo pipefail

# Build: compiler, CMake/Ninja, and the libraries the README's dependency list names.
build_pkgs=(
  g++ cmake ninja-build pkg-config
  libboost1.81-dev      # Asio, Beast (header-only parts)
  libpugixml-dev        # SOAP / CIM-XML DOM
  libssl-dev            # TLS, PBKDF2, digests, certificate generation
  libtomlplusplus-dev   # conf/vsnapd.toml with line/column diagnostics
  libsqlite3-dev        # CIM repository persistence (snapshot metadata, jobs)
  zlib1g-dev            # qcow2 compressed (deflate) clusters
  catch2                # unit and integration test framework (Catch2 v2)
)
# Test: the real clients the integration tests drive, and their helpers.
test_pkgs=(
  python3 python3-winrm # WinRM client (pywinrm), run with /usr/bin/python3
  wsl uuid-runtime      # openwsman-style shell client (wsl uses uuidgen)
  curl openssl ca-certificates
  libxml2-utils         # xmllint: CIM-XML golden responses validated against the DSP0203 DTD
  qemu-utils            # qemu-img: interoperability oracle for the qcow2 engine
  qemu-system-x86       # savevm/loadvm: VM state in qcow2 internal snapshots (TCG)
  cpio xz-utils         # scripts/build-test-guest.sh: initramfs archive, kernel payload
  # schema.pywbem needs only python3: Debian 12 has no python3-pywbem, so the test uses
  # tests/tools/dsp0004_mof.py and adds pywbem's MOFCompiler only where it is installed.
)

want=("${build_pkgs[@]}" "${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
  sudo=(sudo)
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq >/dev/null
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
