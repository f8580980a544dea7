"""A PostgreSQL server for the tests: the one named by HUHUA_TEST_POSTGRES_URL, or a throw-away cluster.

The throw-away cluster uses Debian's server binaries (initdb, pg_ctl), runs as the ``postgres`` user
when the tests run as root (the server refuses root), listens on a free loopback port and is removed
when the tests end.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ENV_URL = "HUHUA_TEST_POSTGRES_URL"


@dataclass
class PostgresServer:
    admin_url: str  # a URL to the maintenance database, with rights to create databases
    cleanup: object = None

    def stop(self) -> None:
        if callable(self.cleanup):
            self.cleanup()


def find_bindir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return Path(candidate)
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start() -> PostgresServer:
    url = os.environ.get(ENV_URL)
    if url:
        return PostgresServer(admin_url=url)
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install Debian's 'postgresql' package "
            f"(the test command does this), or point {ENV_URL} at a server.")
    base = Path(tempfile.mkdtemp(prefix="huhua-pg-"))
    datadir, sockdir, logfile = base / "data", base / "sock", base / "server.log"
    sockdir.mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(base, user.pw_uid, user.pw_gid)
        os.chown(sockdir, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust",
                    "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)
    options = f"-p {port} -k {sockdir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(datadir), "-l", str(logfile), "-o", options,
                    "-w", "start"], check=True, capture_output=True)

    def stop() -> None:
        subprocess.run([*run_as, str(bindir / "pg_ctl"), "-D", str(datadir), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)

    return PostgresServer(admin_url=f"postgresql://postgres@127.0.0.1:{port}/postgres", cleanup=stop)
