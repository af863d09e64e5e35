#!/usr/bin/env bash
# Make sure a headless Chromium is available for the report test (tests/report/).
# Debian/Ubuntu: installs the distribution's `chromium` package when it is missing.
# Exit status 0 when a browser is available afterwards, 1 otherwise (with the reason).
set -euo pipefail
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then
    echo "ensure_chromium: found $(command -v "$b")"
    exit 0
  fi
done
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure_chromium: no chromium and no apt-get; install Chromium by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "ensure_chromium: not root and no sudo; run: apt-get install -y chromium" >&2
    exit 1
  fi
fi
echo "ensure_chromium: installing chromium with apt-get"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
command -v chromium >/dev/null 2>&1 && echo "ensure_chromium: installed $(command -v chromium)"
