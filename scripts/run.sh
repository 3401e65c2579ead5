#!/usr/bin/env bash
# README command 1: install dependencies, build, and start vsnapd in the foreground on its
# embedded default configuration (state in ./var/vsnapd; WS-Man on 127.0.0.1:5985/5986,
# CIM-XML on 127.0.0.1:5988/5989). On first start it prints the administrator's password and
# the certificate fingerprint. Extra arguments are passed to vsnapd.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
exec build/bin/vsnapd "$@"
