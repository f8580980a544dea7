"""The database stopped under a running app (``pg_ctl stop -m fast``, as a restart or a failover does): every
request that needs it answers 503 with Retry-After — a JSON problem to programs, a short page in the reader's
language to people — and once the database is back the same app serves again, without being restarted. A worker
and a scheduler started while it is away wait for it, saying so, and start once it is back; a one-off command
says in one line that it cannot reach it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from engine.bootstrap import Huhua, bootstrap
from engine.commands import SetPassword
from engine.config import Settings, normalise_database_url
from engine.web import create_app
from tests import pg_server
from tests.conftest import PROJECT
from tests.test_graceful_shutdown import Huhua as HuhuaProcess

pytestmark = pytest.mark.slow  # a PostgreSQL cluster of its own, stopped and started

HTML = {"Accept": "text/html"}
AS_ADMIN = {"X-Huhua-User": "admin"}
SCRAPER = {"Authorization": "Bearer outage-scraper"}


@pytest.fixture
def cluster() -> Iterator[pg_server.Cluster]:
    """A cluster of this test's own: the shared one must not be stopped under the other tests."""
    cluster = pg_server.throwaway_cluster()
    yield cluster
    cluster.remove()


def _database(cluster: pg_server.Cluster) -> str:
    with psycopg.connect(cluster.admin_url, autocommit=True) as connection:
        connection.execute("CREATE DATABASE huhua")
    return normalise_database_url(cluster.admin_url.rsplit("/", 1)[0] + "/huhua")


@pytest.fixture
def served(cluster: pg_server.Cluster, tmp_path: Path) -> Iterator[tuple[Huhua, FlaskClient]]:
    url = _database(cluster)
    huhua = bootstrap(Settings(database_url=url, data_dir=tmp_path, processes_dir=PROJECT / "processes",
                               metrics_token="outage-scraper"))
    huhua.execute(SetPassword("admin", "outage-pass", "admin", is_admin=True))
    app = create_app(huhua, {"SECRET_KEY": "outage", "TRUST_USER_HEADER": True, "WTF_CSRF_ENABLED": False})
    with app.test_client() as client:
        assert client.post("/login", data={"username": "admin", "password": "outage-pass"}).status_code == 302
        yield huhua, client
    huhua.close()


def _database_up(client: FlaskClient) -> float:
    text = client.get("/metrics", headers=SCRAPER).get_data(as_text=True)
    samples = [s for family in text_string_to_metric_families(text) for s in family.samples]
    return next(s.value for s in samples if s.name == "huhua_database_up")


def test_a_stopped_database_answers_503_and_the_app_serves_again_once_it_is_back(
        cluster: pg_server.Cluster, served: tuple[Huhua, FlaskClient]) -> None:
    _huhua, client = served
    assert client.get("/api/v1/tasks", headers=AS_ADMIN).status_code == 200
    assert client.get("/inbox", headers=HTML).status_code == 200
    assert client.get("/readyz").status_code == 200

    cluster.stop("fast")  # the pool's connections are cut; new ones are refused

    api = client.get("/api/v1/tasks", headers=AS_ADMIN)
    assert api.status_code == 503 and api.headers["Retry-After"] == "10"
    assert api.json == {"error": "unavailable", "problems": [],
                        "message": "系统暂时连接不上数据库，本次操作没有生效，请稍等一分钟后重试"}
    english = client.get("/api/v1/tasks?lang=en", headers=AS_ADMIN)
    assert english.status_code == 503 and "database cannot be reached" in english.json["message"]
    change = client.post("/api/v1/process-instances", headers=AS_ADMIN, json={"process_key": "monthly_school_check"})
    assert change.status_code == 503 and change.headers["Retry-After"] == "10"
    page = client.get("/inbox?lang=zh_Hans_CN", headers=HTML)
    assert page.status_code == 503 and page.headers["Retry-After"] == "10"
    assert "暂时无法使用" in page.get_data(as_text=True) and 'href="/inbox?lang=zh_Hans_CN"' in page.get_data(
        as_text=True)
    page = client.get("/inbox?lang=en", headers=HTML)
    assert page.status_code == 503 and "cannot reach its database" in page.get_data(as_text=True)
    assert client.get("/healthz").status_code == 200  # alive: restarting the app would not bring the database back
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "does not answer" in ready.json["reason"]
    assert "127.0.0.1" not in ready.json["reason"]  # the probe is public: the database's address stays in the log
    assert _database_up(client) == 0

    cluster.start()

    assert client.get("/api/v1/tasks", headers=AS_ADMIN).status_code == 200
    assert client.get("/inbox", headers=HTML).status_code == 200  # the same log-in: its session is in the database
    assert client.get("/readyz").status_code == 200
    assert _database_up(client) == 1


def test_a_worker_and_a_scheduler_started_while_the_database_is_away_wait_for_it_and_start_once_it_is_back(
        cluster: pg_server.Cluster, tmp_path: Path) -> None:
    settings = Settings(database_url=_database(cluster), data_dir=tmp_path, processes_dir=PROJECT / "processes")
    bootstrap(settings).close()  # the schema is there; the processes below find it once the server is back
    cluster.stop("fast")

    one_off = subprocess.run([sys.executable, "-m", "engine.cli", "jobs"], capture_output=True, text=True, timeout=60,
                             env={"HUHUA_DATABASE_URL": settings.database_url, "HUHUA_DATA_DIR": str(tmp_path),
                                  "PYTHONPATH": str(PROJECT), "PATH": "/usr/bin:/bin"})
    assert one_off.returncode == 2 and one_off.stdout == ""
    assert one_off.stderr.startswith("error: the database postgresql+psycopg://***@127.0.0.1:")
    assert "cannot be reached" in one_off.stderr and "Traceback" not in one_off.stderr

    waiting = [HuhuaProcess(settings, "worker", "--poll", "0.2"), HuhuaProcess(settings, "scheduler")]
    try:
        for process in waiting:
            process.wait_for("cannot be reached")
            process.wait_for("trying again in 2 s")  # still there, trying as the wait grows
        cluster.start()
        waiting[0].wait_for("running (Ctrl-C or SIGTERM")
        waiting[1].wait_for("scheduler running with")
        assert [process.terminate() for process in waiting] == [0, 0]
        assert not any("Traceback" in line for process in waiting for line in process.seen)
    finally:
        for process in waiting:
            process.kill()
    engine = bootstrap(settings, upgrade=False)
    try:  # what each did on starting: the morning's notification sweep is planned, the shipped schedules loaded
        assert any(job["kind"] == "notify_sweep" for job in engine.queries.jobs(limit=100))
        assert engine.queries.schedule_records()
    finally:
        engine.close()
