#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite with ctest.
#   scripts/test.sh                  plain build in build/
#   TOPICDB_SANITIZE=address,undefined scripts/test.sh   ASan+UBSan build in build-asan/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" --tests
sanitize=${TOPICDB_SANITIZE:-}
if [[ -n "$sanitize" ]]; then
  build_dir="$root/build-asan"
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
else
  build_dir="$root/build"
fi
"$root/scripts/build.sh" "$build_dir" -DTOPICDB_SANITIZE="$sanitize"
cd "$build_dir"
ctest --no-tests=error --output-on-failure -j "$(nproc)" --timeout 300
