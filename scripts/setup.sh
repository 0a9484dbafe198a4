#!/usr/bin/env bash
# Create (or update) the project's virtual environment in .venv and install lcwbench into it.
# Torch is pinned to the CPU/GPU-agnostic 2.13.0 (pip picks a local wheel when one is configured).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
log=$(mktemp)
if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' >"$log" 2>&1; then
  cat "$log" >&2
  echo "setup: pip install failed (log above)" >&2
  exit 1
fi
rm -f "$log"
.venv/bin/python -c "import lcwbench, torch; print(f'lcwbench ready: torch {torch.__version__}')"
