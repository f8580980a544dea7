"""``huhua retention``: finished jobs, the files of drafts that were issued, and notifications read long ago are
deleted after their time; the record (history, the issued document, unread notifications) stays."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import func, select

from engine.bootstrap import Huhua
from engine.cli import main
from engine.clock import VirtualClock
from engine.commands import CompleteTask, DeployModels, MarkNotificationsRead
from engine.store import tables
from tests.helpers import FIXTURES, cli_json, served_client, start_at, token_headers
from workers.job_worker import run_due_jobs

DATABASES = ["sqlite"]  # the deletes are plain SQL on both; test_simulation runs the engine on PostgreSQL
PROCESSES = Path(__file__).parent.parent / "processes"
OFFICIAL = ("official_document.bpmn", "forms/official_document_sign.form.json",
            "forms/official_document_revise.form.json")


def _count(huhua: Huhua, table: object, *where: object) -> int:
    with huhua.services.database.engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(table).where(*where)))  # type: ignore[arg-type]


def _history(huhua: Huhua, instance: int) -> list:
    with served_client(huhua) as client:
        answer = client.get(f"/api/v1/process-instances/{instance}/history?limit=500",
                            headers=token_headers(huhua, "admin"))
    assert answer.status_code == 200, answer.json
    return answer.json["events"] if isinstance(answer.json, dict) else answer.json


def _retention(huhua: Huhua, clock: VirtualClock, *extra: str) -> dict:
    env = {"HUHUA_DATABASE_URL": huhua.settings.database_url,
           "HUHUA_VIRTUAL_CLOCK": clock.now().isoformat(), "HUHUA_RETAIN_NOTIFICATION_DAYS": "180"}
    return cli_json(CliRunner().invoke(main, ["retention", "--json", "--batch", "7", *extra], env=env))  # type: ignore


def test_retention_deletes_machinery_past_its_time_and_keeps_the_record(demo: Huhua, clock: VirtualClock) -> None:
    files = [("school_circular.bpmn", (FIXTURES / "school_circular.bpmn").read_bytes())]
    files += [(name, (PROCESSES / name).read_bytes()) for name in OFFICIAL]
    demo.execute(DeployModels(files=tuple(files), actor="admin"))
    instance = start_at(demo, "school_circular", "zhuhui-s001", month="2026年3月")
    run_due_jobs(demo)
    sign = next(t for t in demo.queries.tasks(user="zhuhui-s001-xz") if t["instance_id"] == instance)
    demo.execute(CompleteTask(sign["id"], "zhuhui-s001-xz", {"od_decision": "signed"}))
    run_due_jobs(demo)
    o, d, j, n = tables.official_document, tables.document, tables.job, tables.notification
    [register] = demo.services.database.engine.connect().execute(select(o.c.draft_documents, o.c.documents)).all()
    draft_ids, issued_ids = json.loads(register.draft_documents), json.loads(register.documents)
    assert draft_ids and issued_ids
    demo.execute(MarkNotificationsRead("zhuhui-s001-bzr1"))
    unread = _count(demo, n, n.c.read_at.is_(None))
    finished_jobs = _count(demo, j, j.c.state.in_(("done", "cancelled")))
    history = _history(demo, instance)
    assert finished_jobs > 0 and unread > 0

    clock.advance(timedelta(days=10))  # too young for any of it
    assert _retention(demo, clock)["deleted"] == {"jobs": 0, "draft_documents": 0, "notifications": 0}

    clock.advance(timedelta(days=200))
    counted = _retention(demo, clock, "--dry-run")["would_delete"]
    assert counted == {"jobs": finished_jobs, "draft_documents": len(draft_ids), "notifications": counted[
        "notifications"]} and counted["notifications"] > 0
    assert _count(demo, j, j.c.state.in_(("done", "cancelled"))) == finished_jobs  # a dry run deletes nothing

    deleted = _retention(demo, clock)["deleted"]  # in batches of 7
    assert deleted == counted
    assert _count(demo, j, j.c.state.in_(("done", "cancelled"))) == 0
    assert _count(demo, d, d.c.id.in_(draft_ids)) == 0 and _count(demo, d, d.c.id.in_(issued_ids)) == len(issued_ids)
    assert _count(demo, n, n.c.read_at.is_not(None)) == 0 and _count(demo, n, n.c.read_at.is_(None)) == unread
    with served_client(demo) as client:
        headers = token_headers(demo, "zhuhui-s001-xz")
        assert client.get(f"/api/v1/documents/{issued_ids[0]}", headers=headers).status_code == 200
        assert client.get(f"/api/v1/documents/{draft_ids[0]}", headers=headers).status_code == 404
    assert _history(demo, instance) == history  # the record is whole
    assert _retention(demo, clock)["deleted"] == {"jobs": 0, "draft_documents": 0, "notifications": 0}
