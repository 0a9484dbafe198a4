#!/usr/bin/env bash
# Lint, then every test (unit tests and the end-to-end smoke DAG on real MNIST).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check .
.venv/bin/python -m pytest "$@"
