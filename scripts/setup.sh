# Shared set-up for the two quick-start commands; sourced, not run. Idempotent: a second run only checks.
# Needs Python 3.11+, apt (for Debian packages the machine lacks) and access to the package registries.

HUHUA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$HUHUA_ROOT/.venv"
PYTHON="${PYTHON:-python3}"

say() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

_apt_updated=""
apt_install() {
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    command -v apt-get >/dev/null || die "apt-get is not available; install these packages by hand: $*"
    if [ -z "$_apt_updated" ]; then
        say "apt-get update"
        $sudo apt-get update -qq || die "apt-get update failed"
        _apt_updated=1
    fi
    say "installing Debian packages: $*"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
}

ensure_python() {
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found; Huhua needs Python 3.11 or newer"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "Huhua needs Python 3.11 or newer"
    if [ ! -x "$VENV/bin/python" ]; then
        "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || apt_install python3-venv
        say "creating $VENV"
        "$PYTHON" -m venv "$VENV" || { rm -rf "$VENV"; die "could not create the virtual environment"; }
    fi
}

ensure_packages() {
    # Reinstall only when the declared dependencies changed since the last install.
    local extras="$1" stamp
    stamp="$VENV/.installed-$(cat "$HUHUA_ROOT/pyproject.toml" | sha256sum | cut -c1-16)-$extras"
    if [ ! -f "$stamp" ]; then
        say "installing Huhua and its dependencies into .venv (log: .venv/pip.log)"
        if ! { "$VENV/bin/python" -m pip install --upgrade pip \
               && "$VENV/bin/python" -m pip install -e "$HUHUA_ROOT[$extras]"; } >"$VENV/pip.log" 2>&1; then
            tail -30 "$VENV/pip.log" >&2
            die "pip install failed (full log: .venv/pip.log)"
        fi
        rm -f "$VENV"/.installed-*
        touch "$stamp"
    fi
}

ensure_postgres_server_binaries() {
    if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && ! command -v initdb >/dev/null; then
        apt_install postgresql
    fi
    command -v runuser >/dev/null || apt_install util-linux
}

ensure_postgres_client_programs() {
    # pg_dump, createdb and pg_restore: the backup tests run the documented PostgreSQL procedure with them.
    if ! compgen -G "/usr/lib/postgresql/*/bin/pg_restore" >/dev/null && ! command -v pg_restore >/dev/null; then
        apt_install postgresql-client
    fi
}

ensure_chinese_font() {
    # Generated PDFs (circulars, assessments, certificates) embed a Chinese font.
    if ! compgen -G "/usr/share/fonts/truetype/wqy/wqy-*.ttc" >/dev/null \
            && ! compgen -G "/usr/share/fonts/opentype/noto/NotoSansCJK-*.ttc" >/dev/null; then
        apt_install fonts-wqy-microhei
    fi
}

ensure_node_packages() {
    # The browser side (form-js, …) comes from the npm registry, pinned by package-lock.json; never copied by hand.
    command -v npm >/dev/null || apt_install nodejs npm
    local stamp="$HUHUA_ROOT/node_modules/.installed-$(sha256sum "$HUHUA_ROOT/package-lock.json" | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        say "installing the web app's packages into node_modules (log: node_modules.log)"
        (cd "$HUHUA_ROOT" && npm ci --no-audit --no-fund >"$HUHUA_ROOT/node_modules.log" 2>&1) \
            || { tail -30 "$HUHUA_ROOT/node_modules.log" >&2; die "npm ci failed (log: node_modules.log)"; }
        touch "$stamp"
    fi
    ensure_frontend
}

ensure_frontend() {
    # The pages' bundles (build/frontend/, scripts/build_frontend.mjs): rebuilt only when their inputs changed.
    # setup.py (the wheel's build) computes the same stamp: keep the two in step.
    local inputs stamp
    inputs="$(cd "$HUHUA_ROOT" && find package-lock.json scripts/build_frontend.mjs engine/web/frontend -type f \
              -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
    stamp="$HUHUA_ROOT/build/frontend/.inputs-$inputs"
    if [ ! -f "$stamp" ]; then
        say "building the pages' scripts and styles into build/frontend (log: frontend-build.log)"
        (cd "$HUHUA_ROOT" && node scripts/build_frontend.mjs >"$HUHUA_ROOT/frontend-build.log" 2>&1) \
            || { tail -30 "$HUHUA_ROOT/frontend-build.log" >&2; die "the front-end build failed (log: frontend-build.log)"; }
        touch "$stamp"
    fi
}

ensure_browser() {
    # Browser tests drive Debian's Chromium through its chromedriver.
    if ! command -v chromedriver >/dev/null || ! { command -v chromium >/dev/null || command -v chromium-browser >/dev/null; }; then
        apt_install chromium chromium-driver
    fi
}
