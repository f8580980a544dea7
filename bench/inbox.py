"""(f) The inbox at city scale: the first page of a person's tasks among a million task rows.

The full profile is loaded and 1,000,000 task rows written straight to the tables (950,000 done, 50,000
open: every class teacher's own task, and tasks offered to the programme officer of a school or county).
The figures: the median time of the inbox's first page (``queries.task_page``: the first 20 tasks assigned
to the person or offered to them by name or by a role they hold, and the total over all pages, as the inbox
page asks) for a class teacher and for a county officer over 100 requests, beside the same query with the
inbox indexes dropped, in the same run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import DeployModels, LoadDirectory, StartInstance
from engine.config import Settings
from engine.org.profiles import generate
from engine.store import tables
from engine.task_filters import TaskFilter

MODELS = Path(__file__).parent / "models"
TOTAL, OPEN = 1_000_000, 50_000
REQUESTS = 100
INBOX_INDEXES = ("ix_human_task_assignee", "ix_task_candidate_lookup")


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
        indexed = {who: _median_ms(huhua, who, now) for who in (teacher, officer)}
        pages = {who: len(huhua.queries.task_page(user=who, filters=TaskFilter(), now=now)["tasks"])
                 for who in (teacher, officer)}
        say("(f) the same queries without the inbox indexes")
        dropped = _drop_indexes(huhua)
        bare = {who: _median_ms(huhua, who, now, requests=10) for who in (teacher, officer)}
        _restore_indexes(huhua, dropped)
    finally:
        huhua.close()
    for who, label in ((teacher, "class teacher"), (officer, "county officer (role)")):
        print(f"(f) inbox first page, {label:<22} ms  huhua {indexed[who]:8.2f}   without indexes {bare[who]:8.2f}"
              f"   ratio {bare[who] / indexed[who]:6.1f}x   ({pages[who]} tasks on the page)")


def _fill(huhua: Huhua, now: datetime, say: Callable[[str], None]) -> str:
    """1M task rows over the full profile: teachers' own tasks, tasks offered to officers; a teacher with one open."""
    schools = huhua.queries.unit_ids("school")
    instances = [huhua.execute(StartInstance("one_task", "bench", org_scope=s))["id"] for s in schools[:200]]
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
                candidates.append({"task_id": next_id, "kind": "role", "value": f"programme_officer@{unit}"})
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


def _median_ms(huhua: Huhua, user: str, now: datetime, requests: int = REQUESTS) -> float:
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        huhua.queries.task_page(user=user, filters=TaskFilter(), now=now, limit=20)
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
