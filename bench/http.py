"""(j) The request path: what a call over HTTP costs beyond the command or query it runs, measured in one run.

    ./scripts/bench.sh http                                         # SQLite
    HUHUA_BENCH_POSTGRES_URL=postgresql://… ./scripts/bench.sh http    # also on PostgreSQL

The demo directory is loaded and a school's programme officer given an API token. The server is the production one
(docs/operations.md, "Production layout"): ``gunicorn -w 1 engine.web.wsgi:app`` on 127.0.0.1, its default sync
worker, called by one ``http.client`` connection with ``Authorization: Bearer <token>`` as a program would.
gunicorn's sync worker answers each request and closes (it is meant to sit behind a proxy), so every call also pays
a loopback connect; the client reconnects by itself (a gthread worker that keeps the connection measured the same:
about 1.2-1.6 ms for /api/v1/health either way on a busy 2-core machine). Beside each call, in the same run and in
alternating blocks so the machine's noise falls on both alike, the same work in process:

- a start: ``StartInstance`` through the command bus vs ``POST /api/v1/process-instances`` (the officer's own
  school; the task it makes is the officer's, the sole holder of the role it is offered to);
- a completion: ``CompleteTask`` vs ``POST /api/v1/tasks/{id}/complete``;
- the inbox: the query (``queries.task_list``: 50 tasks and the total) vs ``GET /api/v1/tasks``, with 200 of
  the officer's tasks open.

Each is the median and 95th percentile in ms per operation after a warm-up, with the ratio HTTP/command; the
SQL statements each runs are counted too (the request served through the app in this process, as gunicorn would
call it; transaction control left out).
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.statements import StatementCounter
from engine import bench_results
from engine.bootstrap import Huhua, bootstrap
from engine.commands import CompleteTask, CreateApiToken, DeployModels, LoadDirectory, StartInstance
from engine.config import PROJECT_ROOT, Settings
from engine.org.profiles import generate
from engine.task_filters import TaskFilter
from engine.web import create_app

MODEL = Path(__file__).parent / "models" / "http" / "school_task.bpmn"
PROCESS, SCHOOL = "school_task", "zhuhui-s001"
OFFICER = f"{SCHOOL}-zr"  # the school's programme officer: starts the process, and its task is theirs
ROUNDS, WARM_UP, BLOCK = 300, 50, 25
OPEN_IN_INBOX, PAGE = 200, 50
REFERENCE = "同一命令或查询（进程内）"
SERVER = "gunicorn -w 1 (sync worker)"


def report_http(url: str, data_dir: Path, say: Callable[[str], None]) -> None:
    huhua = bootstrap(Settings(database_url=url, data_dir=data_dir, processes_dir=MODEL.parent, node_name="bench"))
    try:
        huhua.execute(LoadDirectory(generate("demo"), "bench", source="demo"))
        huhua.execute(DeployModels(((MODEL.name, MODEL.read_bytes()),), "bench"))
        token = huhua.execute(CreateApiToken(OFFICER, "bench", "admin"))["token"]
        with _server(url, data_dir) as port:
            client = _Client(port, token)
            say(f"(j) {SERVER} on 127.0.0.1:{port}; warming up")
            figures = _measure(huhua, client, say)
        statements = _statements(huhua, token)
    finally:
        huhua.close()
    print(f"(j) server: {SERVER}, {ROUNDS} operations each after {WARM_UP} to warm up; ms per operation")
    for name, (command, over_http) in figures.items():
        sql_command, sql_request = statements[name]
        print(f"(j) {name:<12} command {_ms(command)}   HTTP {_ms(over_http)}"
              f"   ratio {statistics.median(over_http) / statistics.median(command):5.2f}"
              f"   (SQL statements: command {sql_command}, request {sql_request})")
        bench_results.compare("j", f"HTTP {name}", "ms", statistics.median(over_http), statistics.median(command),
                              REFERENCE)


def _measure(huhua: Huhua, client: _Client, say: Callable[[str], None]) -> dict[str, tuple[list[float], list[float]]]:
    def start_command() -> None:
        huhua.execute(StartInstance(PROCESS, OFFICER, org_scope=SCHOOL))

    def start_call() -> None:
        client.call("POST", "/api/v1/process-instances", {"process_key": PROCESS, "org_scope": SCHOOL}, 201)

    starts = _alternating(start_command, start_call)
    say("(j) starts measured")
    task_ids = iter(_open_tasks(huhua))

    def complete_command() -> None:
        huhua.execute(CompleteTask(next(task_ids), OFFICER))

    def complete_call() -> None:
        client.call("POST", f"/api/v1/tasks/{next(task_ids)}/complete", {"data": {}}, 200)

    completions = _alternating(complete_command, complete_call)
    say("(j) completions measured")
    for task_id in task_ids:  # the warm-up's leftovers: then exactly OPEN_IN_INBOX stay open
        huhua.execute(CompleteTask(task_id, OFFICER))
    for _ in range(OPEN_IN_INBOX):
        start_command()
    assert len(_open_tasks(huhua)) == OPEN_IN_INBOX

    def inbox_query() -> None:
        assert len(_inbox(huhua, huhua.clock.now())) == PAGE

    def inbox_call() -> None:
        assert len(client.call("GET", "/api/v1/tasks", None, 200)) == PAGE

    inbox = _alternating(inbox_query, inbox_call)
    return {"启动一个实例": starts, "办理一个任务": completions, f"待办 {PAGE} 条": inbox}


def _alternating(command: Callable[[], None], call: Callable[[], None]) -> tuple[list[float], list[float]]:
    """Per-operation seconds of each, in alternating blocks after a warm-up of each (not counted)."""
    for _ in range(WARM_UP):
        command()
        call()
    commands: list[float] = []
    calls: list[float] = []
    while len(commands) < ROUNDS:
        for action, samples in ((command, commands), (call, calls)):
            for _ in range(BLOCK):
                started = time.perf_counter()
                action()
                samples.append((time.perf_counter() - started) * 1000)
    return commands, calls


def _inbox(huhua: Huhua, now: datetime) -> list[dict[str, Any]]:
    """What ``GET /api/v1/tasks`` asks of the engine: the first page of the caller's open tasks, and their total."""
    return huhua.queries.task_list(user=OFFICER, filters=TaskFilter(), now=now, limit=PAGE)[0]


def _open_tasks(huhua: Huhua) -> list[int]:
    found: list[int] = []
    while batch := huhua.queries.tasks(user=OFFICER, limit=500, offset=len(found)):
        found += [t["id"] for t in batch]
    return sorted(found)


def _ms(samples: list[float]) -> str:
    return f"{statistics.median(samples):6.2f} (p95 {statistics.quantiles(samples, n=20)[-1]:6.2f})"


class _Client:
    """One keep-alive connection, as a program's client keeps; reconnects when the server closes it."""

    def __init__(self, port: int, token: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def call(self, method: str, path: str, body: dict[str, Any] | None, expected: int) -> Any:
        headers = dict(self.headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        self.connection.request(method, path, payload, headers)
        answer = self.connection.getresponse()
        content = answer.read()
        if answer.status != expected:
            raise AssertionError(f"{method} {path}: {answer.status} {content[:300]!r}")
        return json.loads(content)


@contextmanager
def _server(url: str, data_dir: Path) -> Iterator[int]:
    """The production server on this database, on a free port of 127.0.0.1, until the block ends."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "HUHUA_DATABASE_URL": url, "HUHUA_DATA_DIR": str(data_dir),
           "PYTHONPATH": str(PROJECT_ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}",
                                "engine.web.wsgi:app"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start:\n{process.communicate()[1][-2000:]}") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.communicate(timeout=30)


def _statements(huhua: Huhua, token: str) -> dict[str, tuple[int, int]]:
    """SQL statements run by each command or query and by its request (served through the app in process), each
    counted on its second run (the first fills what a running server has cached, and notes the token's use)."""
    client = create_app(huhua).test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    counter = StatementCounter(huhua.services.database)
    tasks = iter(_open_tasks(huhua))

    def ok(answer: Any, status: int) -> None:
        assert answer.status_code == status, answer.get_data(as_text=True)[:300]

    def second(action: Callable[[], Any]) -> int:
        action()
        return counter.count(action)

    return {
        "启动一个实例": (
            second(lambda: huhua.execute(StartInstance(PROCESS, OFFICER, org_scope=SCHOOL))),
            second(lambda: ok(client.post("/api/v1/process-instances", headers=bearer,
                                          json={"process_key": PROCESS, "org_scope": SCHOOL}), 201))),
        "办理一个任务": (
            second(lambda: huhua.execute(CompleteTask(next(tasks), OFFICER))),
            second(lambda: ok(client.post(f"/api/v1/tasks/{next(tasks)}/complete", headers=bearer,
                                          json={"data": {}}), 200))),
        f"待办 {PAGE} 条": (second(lambda: _inbox(huhua, huhua.clock.now())),
                          second(lambda: ok(client.get("/api/v1/tasks", headers=bearer), 200))),
    }
