"""/healthz and /readyz: alive without asking the database; ready only when the database answers and its schema is
the code's (the database stopped mid-run: tests/test_database_outage.py)."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory

from engine.bootstrap import Huhua, bootstrap
from engine.config import Settings
from engine.store import migration
from engine.store.database import Database
from engine.web import create_app
from tests.conftest import PROJECT


def test_the_process_is_alive_and_ready(huhua: Huhua) -> None:
    with create_app(huhua, {"TESTING": True}).test_client() as client:
        alive = client.get("/healthz")
        ready = client.get("/readyz")
    assert (alive.status_code, alive.json) == (200, {"status": "alive"})
    assert ready.status_code == 200
    assert ready.json == {"status": "ready", "revision": migration.head_revision()}


def test_a_schema_behind_the_code_is_not_ready_and_says_what_to_do(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'huhua.db'}")
    scripts = ScriptDirectory.from_config(migration.alembic_config(database))
    previous = scripts.get_revision(migration.head_revision()).down_revision
    migration.upgrade(database, str(previous))  # as a database left behind by an older release
    database.dispose()
    huhua = bootstrap(Settings(database_url=database.url, data_dir=tmp_path, processes_dir=PROJECT / "processes"),
                      upgrade=False)
    try:
        with create_app(huhua, {"TESTING": True}).test_client() as client:
            alive = client.get("/healthz")
            ready = client.get("/readyz")
    finally:
        huhua.close()
    assert alive.status_code == 200  # nothing a restart would mend
    assert ready.status_code == 503 and ready.headers["Retry-After"] == "10"
    assert ready.json["status"] == "unavailable"
    assert f"revision {previous}" in ready.json["reason"] and "huhua db upgrade" in ready.json["reason"]
