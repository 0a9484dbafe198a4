#!/usr/bin/env bash
# Install headless Chromium for the report test (tests/test_smoke_dag.py opens report.html in it).
# Idempotent: does nothing when `chromium` is already on PATH; otherwise installs Debian's chromium
# package with apt-get (needs root). CI only; the test skips without Chromium unless
# LCWBENCH_REQUIRE_CHROMIUM=1.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
die() { echo "install_chromium: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "chromium is not on PATH and this is not root: install Debian's chromium package"
command -v apt-get >/dev/null 2>&1 || die "chromium is not on PATH and apt-get is missing: install chromium by hand"
log=$(mktemp)
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  rm -f "$log"
  die "apt-get install chromium failed (output above)"
fi
rm -f "$log"
command -v chromium >/dev/null 2>&1 || die "apt-get installed chromium but it is not on PATH"
echo "install_chromium: $(chromium --version 2>/dev/null || echo chromium installed)"
