"""A Huhua server in a process of its own (``huhua serve`` or gunicorn), on a free port, for tests over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from engine.config import Settings
from tests.conftest import PROJECT
from tests.pg_server import free_port


@dataclass
class LiveServer:
    base: str
    process: subprocess.Popen[str]
    output: str = ""


def get_json(url: str, token: str | None = None) -> object:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as response:
        return json.loads(response.read())


@contextmanager
def live_server(settings: Settings, *, gunicorn: bool = False, workers: int = 2, config: Path | None = None,
                env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """Serve the app on the test's database; yields once /api/v1/health answers, stops the server afterwards.
    Under gunicorn, ``config`` is its configuration file (deploy/gunicorn.conf.py); ``env`` adds to the
    environment."""
    port = free_port()
    env = {**os.environ, "HUHUA_DATABASE_URL": settings.database_url, "HUHUA_DATA_DIR": str(settings.data_dir),
           "PYTHONPATH": str(PROJECT), **(env or {})}
    configured = ["-c", str(config)] if config else []
    command = ([sys.executable, "-m", "gunicorn", *configured, "-w", str(workers), "-b", f"127.0.0.1:{port}",
                "engine.web.wsgi:app"] if gunicorn
               else [sys.executable, "-m", "engine.cli", "serve", "--port", str(port)])
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server = LiveServer(f"http://127.0.0.1:{port}", process)
    try:
        for _ in range(300):
            try:
                get_json(server.base + "/api/v1/health")
                break
            except OSError:
                if process.poll() is not None:
                    break
                time.sleep(0.1)
        else:
            process.kill()
        if process.poll() is not None:
            raise AssertionError(f"the server did not start:\n{process.communicate()[0]}")
        yield server
    finally:
        process.terminate()
        server.output = process.communicate(timeout=30)[0]
