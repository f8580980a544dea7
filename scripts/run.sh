#!/usr/bin/env bash
# Sets up everything and runs Huhua on the embedded default: SQLite under ./data, the process library
# deployed, the demo org directory (first run only), worker and scheduler in process, the API at the
# printed URL with demo accounts. Idempotent.
# HUHUA_HOST / HUHUA_PORT change where it listens; HUHUA_DATABASE_URL points it at PostgreSQL instead.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$HUHUA_ROOT"

ensure_python
ensure_packages test
ensure_chinese_font
ensure_node_packages
"$VENV/bin/huhua" db upgrade
"$VENV/bin/huhua" org load demo --if-empty
"$VENV/bin/huhua" accounts demo --if-empty
exec "$VENV/bin/huhua" serve --host "${HUHUA_HOST:-127.0.0.1}" --port "${HUHUA_PORT:-8080}"
