"""A full disk: a change is refused with a clear 507 (never a 500), nothing of it is stored, and the database stays
whole and readable. The disk is filled portably, without a mount: every connection's ``PRAGMA max_page_count`` caps
the file at its size, so SQLite answers exactly as on a full disk (SQLITE_FULL, "database or disk is full")."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import DeployModels
from engine.config import Settings
from engine.web import create_app
from tests.conftest import fixture_bytes

DATABASES = ("sqlite",)  # max_page_count is SQLite's; PostgreSQL's disk_full (SQLSTATE 53100) takes the same path
AS_ADMIN = {"X-Huhua-User": "admin"}
AS_WANG = {"X-Huhua-User": "wang"}


#: The review's start form with a free text besides its reviewers: a start that brings pages of data.
START_FORM = json.dumps({"type": "default", "id": "review_start", "schemaVersion": 16, "components": [
    {"type": "taglist", "key": "reviewers", "label": "审核人", "validate": {"required": True}},
    {"type": "textarea", "key": "note", "label": "说明"}]}).encode()


@pytest.fixture
def client(demo: Huhua) -> Iterator[FlaskClient]:
    demo.execute(DeployModels(files=(("review.bpmn", fixture_bytes("review.bpmn")),
                                     ("review_start.form.json", START_FORM)), actor="admin"))
    with create_app(demo, {"TESTING": True}).test_client() as client:
        yield client


def _start(client: FlaskClient, note: str = "", language: str = "zh_Hans_CN") -> Any:
    return client.post(f"/api/v1/process-instances?lang={language}", headers=AS_ADMIN, json={
        "process_key": "review", "org_scope": "nanyue", "variables": {"reviewers": ["wang"], "note": note}})


def _fill_the_disk(huhua: Huhua) -> None:
    """From now on no connection of the engine may grow the database file by a page."""
    database = huhua.services.database
    database.dispose()

    @event.listens_for(database.engine, "connect")
    def _no_room(dbapi_connection: Any, _record: Any) -> None:
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")


def _instances(path: str) -> tuple[str, int]:
    with sqlite3.connect(path) as db:
        return db.execute("PRAGMA integrity_check").fetchone()[0], db.execute(
            "SELECT count(*) FROM process_instance").fetchone()[0]


def test_a_full_disk_refuses_the_change_clearly_and_keeps_the_database(
        demo: Huhua, client: FlaskClient, settings: Settings, clock: VirtualClock) -> None:
    earlier = _start(client)
    assert earlier.status_code == 201, earlier.json
    _fill_the_disk(demo)

    answers = [_start(client, "材料" * 4000) for _ in range(40)]  # each start needs pages the file may not take
    refused = [a for a in answers if a.status_code != 201]
    assert refused, "the capped database took forty instances of 24 KB"
    assert {a.status_code for a in refused} == {507}
    assert refused[0].json["error"] == "storage_full"
    assert refused[0].json["message"] == "数据库或其所在磁盘已满，本次操作没有保存；请联系管理员释放磁盘空间后重试"
    english = _start(client, "x" * 9000, "en")
    assert english.status_code == 507 and "full, so nothing was saved" in english.json["message"], english.json
    task = client.get("/api/v1/tasks", headers=AS_WANG).json[0]["id"]
    completing = client.post(f"/api/v1/tasks/{task}/complete", headers=AS_WANG,
                             json={"data": {"approve": True, "comment": "好" * 20000}})
    assert completing.status_code == 507 and completing.json["error"] == "storage_full", completing.json

    # reading still works, and the earlier instance is there as it was
    read = client.get(f"/api/v1/process-instances/{earlier.json['id']}", headers=AS_ADMIN)
    assert read.status_code == 200 and read.json["state"] == "running"
    integrity, count = _instances(settings.database_url.split("///", 1)[1])
    assert integrity == "ok"
    assert count == 1 + sum(a.status_code == 201 for a in answers)  # of a refused start, not a row was stored
    assert client.get(f"/api/v1/tasks/{task}", headers=AS_WANG).json["state"] == "open"

    # room again (a fresh engine, its connections uncapped): the same changes go through
    with closing(bootstrap(settings, clock=clock, upgrade=False)) as roomy, \
            create_app(roomy, {"TESTING": True}).test_client() as again:
        assert _start(again, "材料" * 4000).status_code == 201
        assert again.post(f"/api/v1/tasks/{task}/complete", headers=AS_WANG,
                          json={"data": {"approve": True, "comment": "好" * 20000}}).status_code == 200
