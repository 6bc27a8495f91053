#!/usr/bin/env bash
# Installs what a fresh Debian machine lacks for this project, then the npm dependencies.
# Idempotent: a second run only checks. Needs root (or sudo) for the Debian packages.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v kcat >/dev/null 2>&1 || need+=(kcat)              # librdkafka mock cluster: the Kafka-protocol broker of the tests
command -v gcc >/dev/null 2>&1 || need+=(gcc)                # compiles test/support/mock-broker/mock-broker.c on first use
[ -f /usr/include/librdkafka/rdkafka_mock.h ] || need+=(librdkafka-dev)  # its headers: the mock with N-partition topics
command -v chromium >/dev/null 2>&1 || need+=(chromium)      # headless browser check of the HTML statement
command -v xmllint >/dev/null 2>&1 || need+=(libxml2-utils)  # XSD validation of pain.001 files

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi
echo "setup: ok"
