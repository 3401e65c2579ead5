#!/usr/bin/env bash
# Configures and builds vsnapd (Release) into build/; the daemon is build/bin/vsnapd.
# Extra arguments go to CMake's configure step (e.g. -DVSNAPD_SANITIZE=address).
# BUILD_DIR overrides the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${BUILD_DIR:-build}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-Release}" "$@" >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
