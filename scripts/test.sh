#!/usr/bin/env bash
# README command 2 (and what .ci/run calls): install dependencies, build once, and run the
# whole test suite through ctest in parallel. Unit tests, the layering check and the
# integration tests (the daemon as a process, driven by python3-winrm, wsl and curl) run
# against the Release build; the same integration tests then run against an AddressSanitizer
# and a ThreadSanitizer build of the daemon, so every concurrent path is checked.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The QEMU test guest, cached in ~/.cache/vsnapd/test-guest (first build: 68 MiB of .debs, ~8 s).
# The suite needs it: a guest that cannot be built fails here instead of skipping VM tests.
scripts/build-test-guest.sh
jobs=$(nproc)

scripts/build.sh
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 300

if [[ "${VSNAPD_SKIP_SANITIZERS:-0}" != 1 ]]; then
  for sanitizer in address thread; do
    dir=build-$sanitizer
    BUILD_DIR=$dir BUILD_TYPE=RelWithDebInfo scripts/build.sh -DVSNAPD_SANITIZE=$sanitizer
    # Sanitizer findings abort the daemon, whose non-zero exit fails the test that stopped it.
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
      ctest --test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600
  done
fi
