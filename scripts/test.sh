#!/usr/bin/env bash
# Sets up everything and runs the full test suite, on SQLite and on PostgreSQL.
# PostgreSQL: the server named by HUHUA_TEST_POSTGRES_URL, or else a throw-away cluster started by the tests.
# Extra arguments go to pytest (e.g. ./scripts/test.sh -k deploy; ./scripts/test.sh -m 'not slow' for the quick loop
# without the subprocess servers, the browser and the conformance suites).
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$HUHUA_ROOT"

ensure_python
ensure_packages test
ensure_chinese_font
ensure_node_packages
ensure_browser
if [ -z "${HUHUA_TEST_POSTGRES_URL:-}" ]; then
    ensure_postgres_server_binaries
fi
ensure_postgres_client_programs

say "ruff"
"$VENV/bin/ruff" check engine workers webhooks tests bench scripts setup.py

say "pytest"
set +e
# Two workers, a test file each at a time (its fixtures stay together): on a busy 2-core machine the suite's
# waits on PostgreSQL, the browser and subprocesses overlap (HUHUA_TEST_WORKERS=0 runs in one process).
"$VENV/bin/python" -m pytest -n "${HUHUA_TEST_WORKERS:-2}" --dist loadfile --durations=30 "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    die "pytest collected no tests: a run that tests nothing is a failed run"
fi
exit "$status"
