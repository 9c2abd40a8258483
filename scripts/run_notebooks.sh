#!/usr/bin/env bash
# Execute every notebook in notebooks/ headless (jupytext + nbclient); executed copies with their
# outputs go to <data root>/ops/notebooks/ (never into git).
#   scripts/run_notebooks.sh                         # data root from config (data/)
#   LAKEHOUSE_ROOT=/mnt/lake scripts/run_notebooks.sh 01 02
#   scripts/run_notebooks.sh --root /tmp/lake -o seed=7
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
exec "$PY" -m lakehouse.models.notebooks "$@"
