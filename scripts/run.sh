#!/usr/bin/env bash
# Sets up everything and runs Huhua on the embedded default: SQLite under ./data, the process library
# deployed, the timer runner in process, the API at the printed URL. Idempotent.
# HUHUA_HOST / HUHUA_PORT change where it listens; HUHUA_DATABASE_URL points it at PostgreSQL instead.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$HUHUA_ROOT"

ensure_python
ensure_packages test
"$VENV/bin/huhua" db upgrade
exec "$VENV/bin/huhua" serve --host "${HUHUA_HOST:-127.0.0.1}" --port "${HUHUA_PORT:-8080}"
