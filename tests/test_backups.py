"""Backups as an operator takes and restores them: ``huhua backup`` / ``huhua restore`` on the embedded SQLite
database (under write load, and each refusal), and on PostgreSQL the procedure of docs/operations.md ("Backups and
restore": pg_dump -Fc, createdb, pg_restore, huhua db upgrade), run exactly as written there."""

from __future__ import annotations

import itertools
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from flask.testing import FlaskClient

from engine.bootstrap import Huhua, bootstrap
from engine.cli import main as cli_main
from engine.clock import VirtualClock
from engine.commands import ENGINE, CompleteTask, StartInstance
from engine.config import Settings
from engine.store import migration
from engine.store.database import Database
from engine.web import create_app
from tests import pg_server
from tests.helpers import deploy_fixtures

pytestmark = pytest.mark.slow  # backups and restores through the command line and pg_dump

AS_ADMIN = {"X-Huhua-User": "admin"}
AS_WANG = {"X-Huhua-User": "wang"}
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


class WriteLoad(threading.Thread):
    """People at work on an engine of their own: each round starts a review and completes the one before."""

    def __init__(self, settings: Settings, clock: VirtualClock, most_rounds: int = 5000) -> None:
        super().__init__(daemon=True)
        self.engine = bootstrap(settings, clock=clock, upgrade=False)
        self.rounds, self.most_rounds = 0, most_rounds
        self.error: BaseException | None = None
        self._stopping = threading.Event()
        self._moved = threading.Condition()

    def run(self) -> None:
        waiting = None
        try:
            while not self._stopping.is_set() and self.rounds < self.most_rounds:
                started = self.engine.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]},
                                                             org_scope="nanyue", origin=ENGINE))
                if waiting is not None:
                    task = self.engine.queries.tasks(instance_id=waiting)[0]
                    self.engine.execute(CompleteTask(task["id"], "wang", {"approve": True}))
                waiting = started["id"]
                with self._moved:
                    self.rounds += 1
                    self._moved.notify_all()
        except BaseException as err:  # the test reports it
            self.error = err
        finally:
            self.engine.close()
            with self._moved:
                self._moved.notify_all()

    def wait_for(self, rounds: int) -> None:
        with self._moved:
            self._moved.wait_for(lambda: self.rounds >= rounds or not self.is_alive(), timeout=120)
        assert self.error is None, self.error
        assert self.rounds >= rounds, f"the load stopped at {self.rounds} rounds"

    def stop(self) -> None:
        self._stopping.set()
        self.join(60)
        assert self.error is None, self.error


def _huhua_cli(database_url: str, data_dir: Path) -> Callable[..., Result]:
    """``huhua`` run on another database than the test's (where a restore goes)."""
    def run(*args: str) -> Result:
        return CliRunner().invoke(cli_main, list(args), env={"HUHUA_DATABASE_URL": database_url,
                                                             "HUHUA_DATA_DIR": str(data_dir)},
                                  catch_exceptions=False)

    return run


def _instances(client: FlaskClient) -> list[dict[str, Any]]:
    """Every instance of the database, each read whole through the API (its page's JSON)."""
    ids: list[int] = []
    while page := client.get("/api/v1/process-instances", headers=AS_ADMIN,
                             query_string={"limit": 500, "offset": len(ids)}).json:
        ids += [row["id"] for row in page]
    read = [client.get(f"/api/v1/process-instances/{i}", headers=AS_ADMIN) for i in sorted(ids)]
    assert [r.status_code for r in read] == [200] * len(ids)
    return [r.json for r in read]


def _check_history(huhua: Huhua, instance: dict[str, Any]) -> None:
    """The instance's history holds its start and, for each of its completed tasks, that task's completion."""
    assert instance["definition"] is not None, instance["id"]  # its process version is there
    kinds = [event["kind"] for event in instance["history"]]
    assert kinds[0] == "instance_started", (instance["id"], kinds)
    completed = huhua.queries.tasks(instance_id=instance["id"], state="completed")
    recorded = {e["task_id"] for e in instance["history"] if e["kind"] == "task_completed"}
    assert {t["id"] for t in completed} == recorded, instance["id"]
    if instance["state"] == "completed":
        assert len(completed) == 1 and kinds[-1] == "instance_completed", (instance["id"], kinds)
    else:
        assert [t["name"] for t in instance["open_tasks"]] == ["审核材料"], instance["id"]


def _no_dangling_rows(path: Path) -> None:
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []


# --- SQLite: huhua backup and huhua restore ---------------------------------------------------------------------

@SQLITE
def test_a_backup_taken_under_write_load_restores_every_instance_whole(
        demo: Huhua, settings: Settings, clock: VirtualClock, cli: Callable[..., Result], tmp_path: Path) -> None:
    deploy_fixtures(demo, "review.bpmn")
    load = WriteLoad(settings, clock)
    load.start()
    load.wait_for(30)
    before = load.rounds
    taken = cli("backup", str(tmp_path / "backups" / "huhua.db"))
    assert taken.exit_code == 2 and "the folder" in taken.stderr and "does not exist" in taken.stderr
    (tmp_path / "backups").mkdir()
    taken = cli("backup", "--json", str(tmp_path / "backups" / "huhua.db"))
    after = load.rounds
    load.wait_for(after + 30)  # the app went on writing after the backup too
    load.stop()
    assert taken.exit_code == 0, taken.output
    backup = json.loads(taken.stdout)
    assert backup["revision"] == migration.head_revision() and backup["pages"] > 256  # more than one step
    assert "pages copied (100%)" in taken.stderr.splitlines()[-1] and len(taken.stderr.splitlines()) >= 2
    assert oct(os.stat(backup["file"]).st_mode & 0o777) == "0o600"  # personal data: its maker's alone
    assert [p.name for p in (tmp_path / "backups").iterdir()] == ["huhua.db"]  # no partial file left

    fresh = tmp_path / "fresh" / "huhua.db"
    restored = _huhua_cli(f"sqlite:///{fresh}", tmp_path / "fresh")("restore", "--json", backup["file"])
    assert restored.exit_code == 0, restored.output
    assert json.loads(restored.stdout)["kept"] is None  # there was nothing to keep
    _no_dangling_rows(fresh)
    fresh_settings = Settings(database_url=f"sqlite:///{fresh}", data_dir=fresh.parent,
                              processes_dir=settings.processes_dir, node_name="restored")
    with closing(bootstrap(fresh_settings, clock=clock, upgrade=False)) as engine, \
            create_app(engine, {"TESTING": True}).test_client() as client:
        everything = _instances(client)
        assert all(i["definition"] for i in everything)  # no instance without its process version
        instances = [i for i in everything if i["definition"]["key"] == "review"]
        assert before <= len(instances) <= after + 1  # the database as it was at one moment of the backup
        for instance in instances:
            _check_history(engine, instance)
        running = [i for i in instances if i["state"] == "running"]
        assert 1 <= len(running) <= 2  # each round starts one, then completes the one before
        for instance in running:  # its stored workflow loads and moves on
            done = client.post(f"/api/v1/tasks/{instance['open_tasks'][0]['id']}/complete", headers=AS_WANG,
                               json={"data": {"approve": True}})
            assert done.status_code == 200 and done.json["instance"]["state"] == "completed", done.json


@SQLITE
def test_restore_keeps_the_replaced_database_and_refuses_while_it_is_in_use(
        huhua: Huhua, settings: Settings, cli: Callable[..., Result], tmp_path: Path) -> None:
    deploy_fixtures(huhua, "review.bpmn")
    first = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]}, origin=ENGINE))["id"]
    backup = tmp_path / "before.db"
    assert cli("backup", str(backup)).exit_code == 0
    again = cli("backup", str(backup))
    assert again.exit_code == 2 and f"{backup} exists: pass --force to replace it" in again.stderr
    later = huhua.execute(StartInstance("review", "admin", variables={"reviewers": ["li"]}, origin=ENGINE))["id"]

    unforced = cli("restore", str(backup))
    assert unforced.exit_code == 2
    assert "a database exists at" in unforced.stderr and "pass --force" in unforced.stderr
    in_use = cli("restore", "--force", str(backup))  # the engine of the test still has it open
    assert in_use.exit_code == 2 and "is in use by another process" in in_use.stderr, in_use.stderr
    assert huhua.queries.instance(later)["state"] == "running"  # nothing was replaced
    database = Path(settings.database_url.split("///", 1)[1])
    assert sorted(p.name for p in database.parent.iterdir() if "before-restore" in p.name or p.suffix == ".partial"
                  ) == []

    huhua.close()  # the app stopped
    restored = cli("restore", "--force", "--json", str(backup))
    assert restored.exit_code == 0, restored.output
    kept = Path(json.loads(restored.stdout)["kept"])
    assert kept.parent == database.parent and kept.name.startswith("huhua.db.before-restore-")
    with closing(bootstrap(settings, upgrade=False)) as engine:
        assert engine.queries.instance(first)["state"] == "running"
        with pytest.raises(Exception, match="does not exist"):
            engine.queries.instance(later)  # started after the backup
    with closing(sqlite3.connect(kept)) as old:  # the replaced database, whole, with what came after the backup
        assert old.execute("SELECT count(*) FROM process_instance WHERE id = ?", (later,)).fetchone() == (1,)
        assert old.execute("PRAGMA integrity_check").fetchone() == ("ok",)


@SQLITE
def test_restore_refuses_what_is_not_a_backup_this_huhua_can_read(
        settings: Settings, cli: Callable[..., Result], tmp_path: Path) -> None:
    text = tmp_path / "notes.db"
    text.write_text("这不是数据库" * 200)
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as db:
        db.execute("CREATE TABLE t (x)")
    newer = tmp_path / "newer.db"
    shutil.copy(settings.database_url.split("///", 1)[1], newer)
    with closing(sqlite3.connect(newer)) as db, db:
        db.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    damaged = tmp_path / "damaged.db"
    shutil.copy(settings.database_url.split("///", 1)[1], damaged)
    with closing(sqlite3.connect(damaged)) as db:
        root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'process_definition'").fetchone()[0]
        size = db.execute("PRAGMA page_size").fetchone()[0]
    with damaged.open("r+b") as file:  # the table's page says it holds five cells, at offsets past its end
        file.seek(size * (root - 1))
        file.write(bytes([0x0D, 0, 0, 0, 5, 0xFF, 0xFF]))
    fresh = _huhua_cli(f"sqlite:///{tmp_path / 'fresh' / 'huhua.db'}", tmp_path / "fresh")
    for backup, said in ((tmp_path / "missing.db", "there is no backup at"),
                         (text, "is not a SQLite database"),
                         (damaged, f"{damaged} is damaged (PRAGMA integrity_check)"),
                         (other, "is not a Huhua database: it has no schema revision"),
                         (newer, "has the schema revision 9999_from_the_future, which this Huhua does not know")):
        refused = fresh("restore", str(backup))
        assert refused.exit_code == 2 and said in refused.stderr, (backup, refused.stderr)
        assert not (tmp_path / "fresh" / "huhua.db").exists()  # nothing half restored
    assert [p.name for p in (tmp_path / "fresh").iterdir()] == []  # nor a partial copy left behind


def test_an_older_backup_is_migrated_when_restored(tmp_path: Path) -> None:
    older = tmp_path / "older.db"
    parent = ScriptDirectory.from_config(migration.alembic_config()).get_revision(migration.head_revision()) \
        .down_revision
    database = Database(f"sqlite:///{older}")
    migration.upgrade(database, str(parent))
    database.dispose()
    restored = _huhua_cli(f"sqlite:///{tmp_path / 'now' / 'huhua.db'}", tmp_path / "now")("restore", "--json",
                                                                                         str(older))
    assert restored.exit_code == 0, restored.output
    said = json.loads(restored.stdout)
    assert (said["backup_revision"], said["revision"]) == (parent, migration.head_revision())


# --- PostgreSQL: the documented procedure -----------------------------------------------------------------------

def _program(name: str) -> str:
    """A PostgreSQL client program, found as the fixtures find initdb; missing, the test fails (never skips)."""
    bindir = pg_server.find_bindir()
    found = bindir / name if bindir and (bindir / name).exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} was not found in /usr/lib/postgresql/*/bin or on PATH: install Debian's "
                    "postgresql-client (scripts/test.sh does)", pytrace=False)
    return str(found)


def _documented_procedure() -> list[list[str]]:
    """The commands of the PostgreSQL restore in the operations guide, each split as the shell would."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text.split("## Backups and restore", 1)[1].split("\n## ", 1)[0]
    block = section.split("```bash\n", 1)[1].split("```", 1)[0]
    commands = [shlex.split(line, comments=True) for line in block.splitlines()]
    assert [c[0] for c in commands] == ["pg_dump", "createdb", "pg_restore", "HUHUA_DATABASE_URL=postgresql://huhua"
                                        "@db.example/huhua_restored"], commands
    return commands


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(command)}: {done.stderr}"


@POSTGRESQL
def test_the_documented_postgresql_procedure_restores_every_instance(
        demo: Huhua, settings: Settings, clock: VirtualClock, postgres: pg_server.PostgresServer,
        tmp_path: Path) -> None:
    deploy_fixtures(demo, "review.bpmn")
    for n in range(12):
        started = demo.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]},
                                             org_scope="nanyue", origin=ENGINE))
        if n % 2:
            demo.execute(CompleteTask(demo.queries.tasks(instance_id=started["id"])[0]["id"], "wang",
                                      {"approve": n % 4 == 1}))
    source = _libpq(settings.database_url)
    restored_name = f"{source.rsplit('/', 1)[1]}_restored"
    server = source.rsplit("/", 1)[0]
    here = {"postgresql://huhua@db.example/huhua": source, "postgresql://huhua@db.example/postgres": postgres.admin_url,
            "postgresql://huhua@db.example/huhua_restored": f"{server}/{restored_name}",
            "huhua_restored": restored_name, "huhua.dump": str(tmp_path / "huhua.dump")}  # the guide's names, here
    try:
        for line in _documented_procedure():  # the operations guide's steps, as written there
            words = [re.sub(r"postgresql://huhua@db\.example/(\w+)|\bhuhua_restored\b|\bhuhua\.dump\b",
                            lambda found: here[found[0]], word) for word in line]
            settings_given = list(itertools.takewhile(lambda word: re.match(r"[A-Z_]+=", word), words))
            program, *arguments = words[len(settings_given):]
            environment = dict(word.split("=", 1) for word in settings_given)
            if program == "huhua":
                ran = _huhua_cli(environment["HUHUA_DATABASE_URL"], tmp_path)(*arguments)
                assert ran.exit_code == 0, (line, ran.output)
            else:
                _run(_program(program), *arguments)

        with create_app(demo, {"TESTING": True}).test_client() as client:
            was = _instances(client)
        moved = Settings(database_url=settings.database_url.rsplit("/", 1)[0] + "/" + restored_name,
                         data_dir=tmp_path, processes_dir=settings.processes_dir, node_name="restored")
        with closing(bootstrap(moved, clock=clock, upgrade=False)) as engine, \
                create_app(engine, {"TESTING": True}).test_client() as client:
            now = _instances(client)
            assert len(now) == len(was) >= 12
            assert [(i["id"], i["state"], len(i["history"])) for i in now] == \
                [(i["id"], i["state"], len(i["history"])) for i in was]
            for instance in now:
                if instance["definition"]["key"] == "review":
                    _check_history(engine, instance)
            running = [i for i in now if i["state"] == "running" and i["definition"]["key"] == "review"]
            assert len(running) == 6
            done = client.post(f"/api/v1/tasks/{running[0]['open_tasks'][0]['id']}/complete", headers=AS_WANG,
                               json={"data": {"approve": True}})
            assert done.status_code == 200 and done.json["instance"]["state"] == "completed"
            # the restored sequences go on after the restored rows: a new instance does not collide
            assert engine.execute(StartInstance("review", "admin", variables={"reviewers": ["wang"]},
                                                org_scope="nanyue", origin=ENGINE))["id"] > max(i["id"] for i in now)
    finally:
        with psycopg.connect(postgres.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {restored_name} WITH (FORCE)")


@POSTGRESQL
def test_huhua_backup_on_postgresql_runs_pg_dump_and_restore_points_to_the_procedure(
        huhua: Huhua, cli: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pg_restore = _program("pg_restore")
    taken = cli("backup", "--json", str(tmp_path / "huhua.dump"))
    assert taken.exit_code == 0, taken.output
    assert json.loads(taken.stdout)["format"] == "pg_dump custom"
    listing = subprocess.run([pg_restore, "--list", str(tmp_path / "huhua.dump")], capture_output=True, text=True,
                             check=True).stdout
    assert "TABLE DATA public alembic_version" in listing and "TABLE public process_instance" in listing

    refused = cli("restore", str(tmp_path / "huhua.dump"))
    assert refused.exit_code == 2 and "restore the dump into a new database with pg_restore" in refused.stderr

    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    monkeypatch.setattr("engine.store.postgres_dump.DEBIAN_BINARIES", str(tmp_path / "nothing" / "*"))
    missing = cli("backup", str(tmp_path / "other.dump"))
    assert missing.exit_code == 2 and "pg_dump was not found" in missing.stderr and "Backups" in missing.stderr
    assert not (tmp_path / "other.dump").exists()
