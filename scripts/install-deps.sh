#!/usr/bin/env bash
# Installs the Debian 12 packages TopicDB needs, only those missing (idempotent).
# Usage: scripts/install-deps.sh [--tests] [--fuzz]
#   --fuzz: clang 14 and its libFuzzer/sanitizer runtimes (libclang-rt-14-dev is only a
#   recommendation of clang-14, and packages install without recommends), for scripts/fuzz.sh.
# Never installs the mosquitto broker package: on systemd machines it would start a service
# on port 1883 (only its clients are used, by the tests).
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config ccache
          libuv1-dev libsqlite3-dev libfmt-dev libssl-dev libmsgpack-cxx-dev libabsl-dev
          nlohmann-json3-dev libmosquitto-dev libargon2-dev libwslay-dev)
for arg in "$@"; do
  case "$arg" in
    --tests)
      packages+=(googletest libgtest-dev libbenchmark-dev libpaho-mqtt-dev libpaho-mqttpp-dev
                 mosquitto-clients python3-paho-mqtt openssl) ;;
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
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
