"""/metrics: the Prometheus figures move as people and the engine work, and only the scraper with the metrics
token reads them."""

from __future__ import annotations

import dataclasses
import time
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from engine.bootstrap import Huhua, bootstrap
from engine.clock import VirtualClock
from engine.commands import CreateApiToken, LoadDirectory, SetPassword, StartInstance
from engine.config import Settings
from engine.org.profiles import generate
from engine.web import create_app
from tests.conftest import PROJECT
from tests.helpers import deploy_fixtures
from tests.live_server import live_server

TOKEN = "scrape-secret-7f3a"
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}
Figures = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def scraped(settings: Settings, clock: VirtualClock) -> Iterator[tuple[Huhua, FlaskClient]]:
    """An engine whose deployment has a metrics token, and the administrator logged in to the pages."""
    huhua = bootstrap(dataclasses.replace(settings, metrics_token=TOKEN), clock=clock, upgrade=False)
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(SetPassword("admin", "metrics-pass", "admin", is_admin=True))
    deploy_fixtures(huhua, "deadline.bpmn", "failing_script.bpmn")
    app = create_app(huhua, {"SECRET_KEY": "metrics", "TRUST_USER_HEADER": True, "WTF_CSRF_ENABLED": False})
    with app.test_client() as client:
        assert client.post("/login", data={"username": "admin", "password": "metrics-pass"}).status_code == 302
        yield huhua, client
    huhua.close()


def _scrape(client: FlaskClient) -> Figures:
    answer = client.get("/metrics", headers=SCRAPER)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.content_type.startswith("text/plain")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(answer.get_data(as_text=True)) for sample in family.samples}


def _value(figures: Figures, name: str, **labels: str) -> float:
    return figures.get((name, frozenset(labels.items())), 0.0)


def test_the_figures_move_with_the_work(scraped: tuple[Huhua, FlaskClient], clock: VirtualClock) -> None:
    huhua, client = scraped
    before = _scrape(client)
    assert _value(before, "huhua_database_up") == 1
    assert _value(before, "huhua_db_pool_size") > 0

    for _ in range(2):
        huhua.execute(StartInstance("deadline", "admin"))  # a timer due in two days
    huhua.execute(StartInstance("failing_script", "admin", org_scope="zhuhui"))  # an incident
    assert client.get("/api/v1/tasks", headers={"X-Huhua-User": "zhuhui-s001-bzr1"}).status_code == 200
    assert client.get("/inbox").status_code == 200
    assert client.get("/api/v1/process-instances/999999", headers={"X-Huhua-User": "admin"}).status_code == 404
    clock.advance(timedelta(days=2, hours=1))  # the timers have waited an hour for a worker
    after = _scrape(client)

    def moved(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert moved("huhua_commands_total", command="StartInstance", outcome="ok") == 3
    assert moved("huhua_command_seconds_count", command="StartInstance") == 3
    assert moved("huhua_http_requests_total", method="GET", route="/api/v1/tasks", status="200") == 1
    assert moved("huhua_http_requests_total", method="GET", route="/api/v1/process-instances/<int:instance_id>",
                 status="404") == 1
    assert moved("huhua_http_request_seconds_count", method="GET", route="/inbox") == 1
    assert moved("huhua_inbox_request_seconds_count", surface="api") == 1
    assert moved("huhua_inbox_request_seconds_count", surface="page") == 1
    assert moved("huhua_http_requests_total", method="GET", route="/metrics", status="200") == 1  # the first scrape
    assert _value(after, "huhua_jobs_due", kind="timer") == 2
    assert _value(after, "huhua_job_lag_seconds", kind="timer") == 3600
    assert moved("huhua_incidents_open") == 1


def test_only_the_scraper_with_the_metrics_token_reads_the_figures(scraped: tuple[Huhua, FlaskClient],
                                                                    settings: Settings) -> None:
    huhua, client = scraped
    person_token = huhua.execute(CreateApiToken("admin", "not for metrics", "admin"))["token"]
    assert client.get("/metrics").status_code == 401  # the administrator's session is no scraper
    assert client.get("/metrics", headers={"Authorization": f"Bearer {person_token}"}).status_code == 401
    refused = client.get("/metrics", headers={"Authorization": "Bearer wrong", "Accept": "application/json"})
    assert refused.status_code == 401 and "HUHUA_METRICS_TOKEN" in refused.json["message"]
    without = bootstrap(settings, upgrade=False)  # a deployment that set no metrics token
    try:
        with create_app(without, {"TESTING": True}).test_client() as other:
            assert other.get("/metrics", headers=SCRAPER).status_code == 404
    finally:
        without.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_under_gunicorn_any_worker_tells_every_workers_counts(settings: Settings, tmp_path: Path) -> None:
    """deploy/gunicorn.conf.py with PROMETHEUS_MULTIPROC_DIR: whichever worker answers the scrape sums them all."""
    counts = tmp_path / "prometheus"
    with live_server(settings, gunicorn=True, workers=3, config=PROJECT / "deploy" / "gunicorn.conf.py",
                     env={"PROMETHEUS_MULTIPROC_DIR": str(counts), "HUHUA_METRICS_TOKEN": TOKEN}) as server:

        def scrape() -> Figures:
            request = urllib.request.Request(server.base + "/metrics", headers=SCRAPER)
            with urllib.request.urlopen(request, timeout=5) as answer:
                return {(s.name, frozenset(s.labels.items())): s.value
                        for f in text_string_to_metric_families(answer.read().decode()) for s in f.samples}

        for _ in range(600):  # until the three workers have loaded the app: each adds its pool (10) to the sum
            if _value(scrape(), "huhua_db_pool_size") == 3 * 10:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"the pool sizes never summed to 30: {_value(scrape(), 'huhua_db_pool_size')}")
        for _ in range(30):
            with urllib.request.urlopen(server.base + "/healthz", timeout=5) as answer:
                assert answer.status == 200
        scrapes = [scrape() for _ in range(3)]
        kept = sorted(path.name.split("_")[0] for path in counts.glob("*.db"))
    assert "counter" in kept and "histogram" in kept  # the workers count into the directory
    for figures in scrapes:  # whichever worker answered
        assert _value(figures, "huhua_http_requests_total", method="GET", route="/healthz", status="200") == 30
