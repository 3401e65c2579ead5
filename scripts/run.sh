#!/usr/bin/env bash
# README command 1: install dependencies, build, and start vsnapd in the foreground on its
# embedded default configuration (state in ./var/vsnapd; WS-Man on 127.0.0.1:5985/5986,
# CIM-XML on 127.0.0.1:5988/5989). On first start it prints the administrator's password and
# the certificate fingerprint, and defines a stopped VM `demo` booting the test guest. Extra
# arguments are passed to vsnapd.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
# The demo VM defined on the first start boots this tiny guest (a shell on its serial console in
# ~3 s under TCG); without it the demo VM boots the firmware only. Best effort: it needs
# `apt-get download`, and the daemon is useful without it.
scripts/build-test-guest.sh || echo "run.sh: the test guest was not built; the demo VM will boot firmware only" >&2
exec build/bin/vsnapd "$@"
