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


@dataclass
class Cluster:
    """A throw-away PostgreSQL cluster made with initdb on a free loopback port; a test may stop it and start it
    again (the same data, the same port) to see what the app does while its database is away."""

    bindir: Path
    base: Path
    port: int
    run_as: list[str]

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run([*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.base / "data"), *args],
                       check=True, capture_output=True)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.base / 'sock'} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c max_connections=200")
        self._pg_ctl("-l", str(self.base / "server.log"), "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m fast`` by default: open connections are ended, as in a real restart."""
        self._pg_ctl("-m", mode, "-w", "stop")

    def remove(self) -> None:
        subprocess.run([*self.run_as, str(self.bindir / "pg_ctl"), "-D", str(self.base / "data"), "-m", "immediate",
                        "stop"], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


def throwaway_cluster() -> Cluster:
    """A new cluster of Debian's server binaries, running as ``postgres`` when the tests run as root."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install Debian's 'postgresql' package "
            f"(the test command does this), or point {ENV_URL} at a server.")
    base = Path(tempfile.mkdtemp(prefix="huhua-pg-"))
    (base / "sock").mkdir()
    run_as: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(base, user.pw_uid, user.pw_gid)
        os.chown(base / "sock", user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    cluster = Cluster(bindir, base, free_port(), run_as)
    subprocess.run([*run_as, str(bindir / "initdb"), "-D", str(base / "data"), "-U", "postgres", "-A", "trust",
                    "-E", "UTF8", "--locale=C.UTF-8"], check=True, capture_output=True)
    cluster.start()
    return cluster


def start() -> PostgresServer:
    """The server named by HUHUA_TEST_POSTGRES_URL, or a throw-away cluster removed when the tests end."""
    url = os.environ.get(ENV_URL)
    if url:
        return PostgresServer(admin_url=url)
    cluster = throwaway_cluster()
    return PostgresServer(admin_url=cluster.admin_url, cleanup=cluster.remove)
