#!/usr/bin/env bash
# The quick start: installs what is missing, builds, and runs the broker on 127.0.0.1:1883
# with its SQLite data in ./topicdb-data. Extra arguments go to `topicdb serve`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build" -DTOPICDB_BUILD_TESTS=OFF -DTOPICDB_BUILD_BENCH=OFF
exec "$root/build/topicdb" serve --listen 127.0.0.1:1883 --data-dir ./topicdb-data "$@"
