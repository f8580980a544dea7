"""The server the load test drives, run as production runs it: gunicorn with deploy/gunicorn.conf.py (its /metrics
summing every web process through PROMETHEUS_MULTIPROC_DIR), ``huhua worker`` processes and ``huhua scheduler``
processes, all on one PostgreSQL database and on loopback only. Each writes its log beside the run's data.

The faults are done to these processes as an operator's bad day does them: SIGKILL, no warning.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from engine.config import PROJECT_ROOT

#: How long the web processes may take to answer /healthz after gunicorn is started.
START_SECONDS = 120
#: The lease a load test's job workers take on a job: short, so the jobs of a killed worker run again within the run.
LEASE_SECONDS = 15


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Processes:
    """The server's processes on ``env`` (the HUHUA_* settings they share), logging into ``logs``."""

    env: dict[str, str]
    logs: Path
    web_count: int
    base_url: str = ""
    web: subprocess.Popen[bytes] | None = None
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    schedulers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    killed: list[str] = field(default_factory=list)

    def _spawn(self, name: str, args: list[str], extra: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as log:
            return subprocess.Popen(args, env={**os.environ, **self.env, **(extra or {})}, cwd=PROJECT_ROOT,
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def start_web(self) -> None:
        """gunicorn with ``web_count`` web processes on a free loopback port; returns once /healthz answers."""
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        metrics_dir = self.logs / "prometheus"
        self.web = self._spawn("gunicorn", [sys.executable, "-m", "gunicorn", "-c",
                                            str(PROJECT_ROOT / "deploy" / "gunicorn.conf.py")],
                               {"HUHUA_BIND": f"127.0.0.1:{port}", "HUHUA_WEB_WORKERS": str(self.web_count),
                                "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if requests.get(self.base_url + "/healthz", timeout=10).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.web.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the web processes did not start:\n" + self.log_tail("gunicorn"))
            time.sleep(0.2)

    def start_worker(self) -> str:
        """One more ``huhua worker``; returns its name (the name its leases carry). See :meth:`wait_started`."""
        name = f"load-worker-{len(self.workers) + 1}"
        self.workers[name] = self._spawn(name, [sys.executable, "-m", "engine.cli", "worker", "--name", name,
                                                "--poll", "0.2", "--lease", str(LEASE_SECONDS)])
        return name

    def start_scheduler(self, interval: float) -> str:
        """One more ``huhua scheduler`` (the leader, or a standby while another leads). See :meth:`wait_started`."""
        name = f"load-scheduler-{len(self.schedulers) + 1}"
        self.schedulers[name] = self._spawn(name, [sys.executable, "-m", "engine.cli", "-v", "scheduler",
                                                   "--interval", str(interval)])
        return name

    def wait_started(self) -> None:
        """Until every worker and scheduler says it runs. A process still starting dies with its database (systemd
        restarts it); the run's faults are for processes at work."""
        deadline = time.monotonic() + START_SECONDS
        said = {**{name: f"worker {name} running" for name in self.workers},
                **{name: "scheduler running with" for name in self.schedulers}}
        for name, text in said.items():
            process = self.workers.get(name) or self.schedulers[name]
            while name not in self.killed and self._last_said(name, text) < 0:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not start:\n" + self.log_tail(name))
                time.sleep(0.1)

    def leading_scheduler(self, timeout: float = 60) -> str:
        """The scheduler whose log says it leads now (the last to say so), waiting for one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            leading = [(self._last_said(name, "this scheduler leads"), name) for name in self.schedulers
                       if name not in self.killed]
            leading = [(at, name) for at, name in leading if at >= 0]
            if leading:
                return max(leading)[1]
            time.sleep(0.2)
        raise RuntimeError("no scheduler leads:\n" + "\n".join(self.log_tail(n) for n in self.schedulers))

    def _last_said(self, name: str, text: str) -> int:
        return (self.logs / f"{name}.log").read_text(encoding="utf-8", errors="replace").rfind(text)

    def web_children(self) -> list[int]:
        """The pids of gunicorn's web processes (the children of its master)."""
        assert self.web is not None
        children = Path(f"/proc/{self.web.pid}/task/{self.web.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def pause(self, name: str, paused: bool) -> None:
        """SIGSTOP (``paused``) or SIGCONT a worker or scheduler: to look at what it holds at one moment."""
        process = self.workers.get(name) or self.schedulers[name]
        process.send_signal(signal.SIGSTOP if paused else signal.SIGCONT)

    def kill(self, name: str) -> None:
        """SIGKILL a worker or scheduler by name: no chance to hand back leases or locks."""
        process = self.workers.get(name) or self.schedulers[name]
        process.send_signal(signal.SIGKILL)  # a stopped process dies of it too
        process.wait(30)
        self.killed.append(name)

    def kill_web_process(self) -> int:
        """SIGKILL one of gunicorn's web processes (the master starts another); returns its pid."""
        pid = self.web_children()[0]
        os.kill(pid, signal.SIGKILL)
        self.killed.append(f"web process {pid}")
        return pid

    def dead(self) -> list[str]:
        """Processes that stopped although nobody killed them."""
        named = {"gunicorn": self.web, **self.workers, **self.schedulers}
        return [name for name, process in named.items()
                if process is not None and name not in self.killed and process.poll() is not None]

    def log_tail(self, name: str, size: int = 2000) -> str:
        path = self.logs / f"{name}.log"
        return f"--- {name}\n" + (path.read_text(encoding="utf-8", errors="replace")[-size:] if path.exists() else "")

    def stop(self) -> None:
        """SIGTERM every process still running (each stops gracefully), then wait; SIGKILL what does not stop."""
        running = [p for p in (self.web, *self.workers.values(), *self.schedulers.values())
                   if p is not None and p.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
