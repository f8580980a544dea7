"""Where a simulated person works: at the engine itself (the commands and queries the task page calls), or over
HTTP against web processes as a person's browser or a program with their API token does.

Both answer the same three things — the task's form and the data it opens with, claim, complete — and report a
refusal as the engine's own error (a lost claim as :class:`~engine.errors.Conflict`, a form the engine will not
take as :class:`~engine.errors.InvalidInput`), so the year runs the same whichever desk the people sit at.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Protocol

import requests

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ
from engine.commands import ClaimTask, CompleteTask, CreateApiToken
from engine.errors import Conflict, HuhuaError, InvalidInput, Problem
from engine.form_dates import with_resolved_ranges


class Desk(Protocol):
    def form(self, task_id: int, person: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """The task's form-js schema (its date ranges resolved for today) and the data it opens with."""
        ...

    def claim(self, task_id: int, person: str) -> None: ...

    def complete(self, task_id: int, person: str, data: dict[str, Any]) -> None: ...


class EngineDesk:
    """The commands and queries themselves, in this process."""

    def __init__(self, huhua: Huhua) -> None:
        self.huhua = huhua

    def form(self, task_id: int, person: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        schema = self.huhua.queries.task_form(task_id)
        today = self.huhua.clock.now().astimezone(BUSINESS_TZ).date()
        return with_resolved_ranges(schema, today), self.huhua.queries.task_form_data(task_id, schema, person)

    def claim(self, task_id: int, person: str) -> None:
        self.huhua.execute(ClaimTask(task_id, person))

    def complete(self, task_id: int, person: str, data: dict[str, Any]) -> None:
        self.huhua.execute(CompleteTask(task_id, person, data))


class WebDesk:
    """The API of web processes at ``base_url``, each person with an API token of their own (made for them by the
    administrator the first time they act, as an operator would, unless ``tokens`` already holds theirs)."""

    def __init__(self, huhua: Huhua, base_url: str, tokens: dict[str, str] | None = None) -> None:
        self.huhua = huhua
        self.api = base_url.rstrip("/") + "/api/v1"
        self.http = requests.Session()
        self._tokens: dict[str, str] = dict(tokens or {})

    def authorization(self, person: str) -> dict[str, str]:
        """The header that signs a call as ``person`` (for calls of theirs beyond the task form's three)."""
        return {"Authorization": f"Bearer {self._token(person)}"}

    def form(self, task_id: int, person: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        found = self._call("GET", f"/tasks/{task_id}/form", person)
        return found["schema"], found["data"] or {}

    def claim(self, task_id: int, person: str) -> None:
        self._call("POST", f"/tasks/{task_id}/claim", person)

    def complete(self, task_id: int, person: str, data: dict[str, Any]) -> None:
        self._call("POST", f"/tasks/{task_id}/complete", person, {"data": data})

    def _call(self, method: str, path: str, person: str, body: dict[str, Any] | None = None) -> Any:
        for attempt in range(2):
            answer = self.http.request(method, self.api + path, json=body, timeout=120,
                                       headers={"Authorization": f"Bearer {self._token(person, renew=attempt > 0)}"})
            if answer.status_code == 401 and attempt == 0:
                continue  # the token ran out on the simulated calendar: a new one
            break
        if answer.status_code < 300:
            return answer.json()
        problem = answer.json() if answer.headers.get("Content-Type", "").startswith("application/") else {}
        text = str(problem.get("message") or answer.text[:200])
        if answer.status_code == 409:
            raise Conflict(text)
        if answer.status_code == 400:
            raise InvalidInput(text, [Problem(str(p.get("message", p)) if isinstance(p, dict) else str(p))
                                      for p in problem.get("problems", [])])
        if answer.status_code < 500:
            raise HuhuaError(f"{answer.status_code} {text}")
        raise RuntimeError(f"{method} {path} answered {answer.status_code}: {text}")

    def _token(self, person: str, *, renew: bool = False) -> str:
        if renew or person not in self._tokens:
            made = self.huhua.execute(CreateApiToken(person, "simulation", "admin",
                                                     days=self.huhua.settings.token_max_days))
            self._tokens[person] = made["token"]
        return self._tokens[person]


class WebPool:
    """``count`` web processes under gunicorn on a free loopback port, on the simulator's database and clock."""

    def __init__(self, count: int, env: dict[str, str], log: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log = log
        with log.open("ab") as written:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", str(count), "-b", f"127.0.0.1:{port}", "--timeout", "300",
                 "engine.web.wsgi:app"], env={**os.environ, "HUHUA_SECRET_KEY": os.urandom(16).hex(), **env},
                stdin=subprocess.DEVNULL, stdout=written, stderr=written)
        deadline = time.monotonic() + 120
        while True:
            try:
                if requests.get(self.url + "/healthz", timeout=30).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise HuhuaError("the web processes did not start: "
                                 + log.read_text(encoding="utf-8", errors="replace")[-800:])
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
