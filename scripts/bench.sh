#!/usr/bin/env bash
# Sets up everything and runs the engine benchmarks (bench/): each figure beside plain SpiffWorkflow.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$HUHUA_ROOT"
ensure_python
ensure_packages test
exec "$VENV/bin/python" -m bench "$@"
