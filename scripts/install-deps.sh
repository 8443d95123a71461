#!/usr/bin/env bash
# Installs the Debian 12 packages TopicDB needs, only those missing (idempotent).
# Usage: scripts/install-deps.sh [--tests] [--fuzz]
#   --tests: also the test clients, Debian's chromium, and MQTT.js from npm into
#   tests/integration/browser/node_modules (pinned by its package-lock.json) for the headless
#   browser test; Node.js and npm from Debian only if no npm is on the PATH.
#   --fuzz: clang 14 and its libFuzzer/sanitizer runtimes (libclang-rt-14-dev is only a
#   recommendation of clang-14, and packages install without recommends), for scripts/fuzz.sh.
# Never installs the mosquitto broker package: on systemd machines it would start a service
# on port 1883 (only its clients are used, by the tests).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

packages=(build-essential cmake ninja-build pkg-config ccache
          libuv1-dev libsqlite3-dev libfmt-dev libssl-dev libmsgpack-cxx-dev libabsl-dev
          nlohmann-json3-dev libmosquitto-dev libargon2-dev libwslay-dev libjemalloc-dev)
tests=0
for arg in "$@"; do
  case "$arg" in
    --tests)
      packages+=(googletest libgtest-dev libbenchmark-dev libpaho-mqtt-dev libpaho-mqttpp-dev
                 mosquitto-clients python3-paho-mqtt openssl chromium)
      command -v npm >/dev/null || packages+=(nodejs npm)
      tests=1 ;;
    --fuzz)
      packages+=(clang-14 libclang-rt-14-dev) ;;
    *)
      echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} > 0)); then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "install-deps: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# MQTT.js for the browser test: only when missing or when the lock file changed since
# (npm ci leaves node_modules/.package-lock.json behind).
if ((tests)); then
  browser=$root/tests/integration/browser
  if [[ ! -f $browser/node_modules/mqtt/dist/mqtt.min.js ||
        $browser/package-lock.json -nt $browser/node_modules/.package-lock.json ]]; then
    echo "install-deps: npm ci in tests/integration/browser (MQTT.js)" >&2
    (cd "$browser" && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
