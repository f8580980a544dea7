"""(f) The inbox at city scale: the first page of a person's inbox among a million task rows, as served.

The full profile is loaded and 1,000,000 task rows written straight to the tables (950,000 done, 50,000
open: every class teacher's own task, and tasks offered to the programme officer of a school or county).
The figures are server time: the median over 100 requests of the whole ``GET /inbox`` page (log-in
session, the first 20 tasks and the total, due dates in working days, saved filters, the HTML), through
the app in process with no network, for a class teacher (their tasks) and for a county officer's group
inbox (``?view=offered``: unclaimed tasks offered to a role they hold); beside the same requests with the
inbox indexes dropped, in the same run. The query alone (``queries.task_page``) is shown for each too, and the
SQL statements one page request runs (bench.statements; transaction control left out).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import insert, text

from bench.statements import StatementCounter
from engine import bench_results
from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import ENGINE, DeployModels, LoadDirectory, SetPassword, StartInstance
from engine.config import Settings
from engine.org.profiles import generate
from engine.store import tables
from engine.task_filters import TaskFilter
from engine.web import create_app

MODELS = Path(__file__).parent / "models"
TOTAL, OPEN = 1_000_000, 50_000
REQUESTS = 100
BENCH_PASSWORD = "bench inbox"
INBOX_INDEXES = ("ix_human_task_assignee", "ix_task_candidate_open_lookup")


def report_inbox(url: str, data_dir: Path, say: Callable[[str], None]) -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    huhua = bootstrap(Settings(database_url=url, data_dir=data_dir, processes_dir=MODELS, node_name="bench"),
                      clock=VirtualClock(now))
    try:
        huhua.execute(LoadDirectory(generate("full"), "bench", source="full"))
        huhua.execute(DeployModels((("one_task.bpmn", (MODELS / "one_task.bpmn").read_bytes()),), "bench"))
        say(f"(f) writing {TOTAL:,} task rows ({OPEN:,} open)")
        teacher = _fill(huhua, now, say)
        officer = "zhuhui-zr"
        inboxes = {"班主任待办首页": (teacher, "/inbox", TaskFilter()),
                   "县区专干组待办首页": (officer, "/inbox?view=offered", TaskFilter(view="offered"))}
        clients = {who: _logged_in(huhua, who) for who, _path, _filter in inboxes.values()}
        counter = StatementCounter(huhua.services.database)
        pages, indexed, query_ms, statements = {}, {}, {}, {}
        for name, (who, path, filters) in inboxes.items():
            pages[name] = len(huhua.queries.task_page(user=who, filters=filters, now=now)["tasks"])
            _get(clients[who], path)  # the first fills what a running server keeps; the second is counted
            statements[name] = counter.count(lambda w=who, p=path: _get(clients[w], p))
            indexed[name] = _median_ms(lambda w=who, p=path: _get(clients[w], p))
            query_ms[name] = _median_ms(lambda w=who, f=filters: huhua.queries.task_page(user=w, filters=f, now=now))
        say("(f) the same requests without the inbox indexes")
        dropped = _drop_indexes(huhua)
        bare = {name: _median_ms(lambda w=who, p=path: _get(clients[w], p), requests=10)
                for name, (who, path, _filters) in inboxes.items()}
        _restore_indexes(huhua, dropped)
    finally:
        huhua.close()
    for name in inboxes:
        print(f"(f) {name}: server ms   huhua {indexed[name]:8.2f}   without indexes {bare[name]:8.2f}"
              f"   ratio {bare[name] / indexed[name]:6.1f}x   (query alone {query_ms[name]:.2f} ms;"
              f" {pages[name]} tasks on the page; {statements[name]} SQL statements per request)")
        bench_results.compare("f", name, "ms", indexed[name], bare[name], "同一请求（无收件箱索引）")


def _logged_in(huhua: Huhua, person: str) -> FlaskClient:
    """A browser's session for ``person``, on the app as served (CSRF off: the bench posts only its log-in)."""
    huhua.execute(SetPassword(person, BENCH_PASSWORD, "bench"))
    client = create_app(huhua, {"SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False}).test_client()
    answer = client.post("/login", data={"username": person, "password": BENCH_PASSWORD})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    return client


def _get(client: FlaskClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 200, answer.status_code


def _fill(huhua: Huhua, now: datetime, say: Callable[[str], None]) -> str:
    """1M task rows over the full profile: teachers' own tasks, tasks offered to officers; a teacher with one open."""
    schools = huhua.queries.unit_ids("school")
    instances = [huhua.execute(StartInstance("one_task", "bench", org_scope=s,
                                             origin=ENGINE))["id"] for s in schools[:200]]
    directory = huhua.queries.directory()
    teachers = [r.person_id for r in directory.roles if r.role == "class_teacher"]
    counties = [u.id for u in directory.units if u.kind == "county"]
    t, c = tables.human_task, tables.task_candidate
    base = {"spiff_task_id": "00000000-0000-0000-0000-000000000000", "element_id": "bench", "name": "基准任务",
            "process_key": "one_task", "form_key": None, "completed_by": None, "item_group_id": None,
            "item_key": None, "item_input": None, "item_output": None}
    batch, candidates, next_id = [], [], 10_000_000
    with huhua.services.database.engine.begin() as connection:
        for n in range(TOTAL):
            open_task = n < OPEN
            teacher_task = n % 5 != 0
            school = schools[n % len(schools)]
            assignee = teachers[n % len(teachers)] if teacher_task else None
            row = {**base, "id": next_id, "instance_id": instances[n % len(instances)],
                   "state": "open" if open_task else "completed", "assignee": assignee, "org_scope": school,
                   "due_at": now + timedelta(hours=n % 500), "created_at": now,
                   "completed_at": None if open_task else now}
            batch.append(row)
            if not teacher_task:  # offered to the programme officer of the school or of its county
                unit = counties[n % len(counties)] if n % 2 else school
                candidates.append({"task_id": next_id, "kind": "role", "value": f"programme_officer@{unit}",
                                   "task_open": open_task})
            next_id += 1
            if len(batch) == 20_000:
                connection.execute(insert(t), batch)
                connection.execute(insert(c), candidates)
                batch, candidates = [], []
                if (n + 1) % 200_000 == 0:
                    say(f"(f) {n + 1:,} rows")
        if batch:
            connection.execute(insert(t), batch)
            connection.execute(insert(c), candidates)
    with huhua.services.database.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    return teachers[1]  # row 1 is open and this teacher's


def _median_ms(request: Callable[[], object], requests: int = REQUESTS) -> float:
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        request()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _drop_indexes(huhua: Huhua) -> list[str]:
    """Drop the inbox's indexes; returns their CREATE statements for putting them back."""
    dropped = []
    with huhua.services.database.engine.begin() as connection:
        for index in INBOX_INDEXES:
            for table in (tables.human_task, tables.task_candidate):
                found = next((i for i in table.indexes if i.name == index), None)
                if found is not None:
                    dropped.append(found)
                    found.drop(connection)
    return dropped


def _restore_indexes(huhua: Huhua, dropped: list) -> None:
    with huhua.services.database.engine.begin() as connection:
        for index in dropped:
            index.create(connection)
