"""``huhua simulate``: the library's year on the virtual clock with simulated people, through the real scheduler,
workers and commands. January of the demo profile is enough to see the whole mechanism: the monthly check starts at
every school by the scheduler, the people act late or never or send work back, the chase and the spot check follow;
the same seed gives the same outcome on SQLite in one process and on PostgreSQL with three ``huhua worker``
processes running the jobs and the people acting over HTTP at two gunicorn web processes, all on the simulator's
shared virtual clock.

``HUHUA_SIMULATION_UNTIL=2027-01-01`` runs the same comparison over the whole demo year (about an hour on a
2-core machine, so not in the suite's default run)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.config import normalise_database_url
from tests import pg_server
from tests.helpers import cli_json

pytestmark = pytest.mark.slow  # a simulated month through real schedulers, workers and web processes

UNTIL = os.environ.get("HUHUA_SIMULATION_UNTIL", "2026-01-14")


def _simulate(out: Path, *extra: str) -> dict:
    result = CliRunner().invoke(main, ["simulate", "--year", "2026", "--profile", "demo", "--seed", "7",
                                       "--until", UNTIL, "--out", str(out), "--json", *extra])
    return cli_json(result)  # type: ignore[return-value]


@pytest.fixture
def empty_postgres(postgres: pg_server.PostgresServer, postgres_template: str) -> Iterator[str]:
    name = f"huhua_simulation_{os.getpid()}"
    with psycopg.connect(postgres.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {postgres_template}")
    yield normalise_database_url(postgres.admin_url.rsplit("/", 1)[0] + "/" + name)
    with psycopg.connect(postgres.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_simulated_january_runs_the_check_everywhere_and_repeats_on_postgresql_in_several_processes(
        tmp_path: Path, empty_postgres: str) -> None:
    on_sqlite = _simulate(tmp_path / "sqlite")
    outcome = on_sqlite["outcome"]
    processes = {row["process"]: row for row in outcome["processes"]}
    # the scheduler started the check at every school of the demo directory (39) on each term month's first working day
    checks, months = processes["monthly_school_check"], len(outcome["monthly_scores"])
    assert [m["totals"]["checks_started"] for m in outcome["monthly_scores"]] == [39] * months
    assert sum(checks["instances"].values()) == 39 * months, checks
    january = outcome["monthly_scores"][0]
    assert january["month"] == "2026-01" and january["totals"]["checks_started"] == 39
    assert january["totals"]["checks_completed"] > 0
    completed = sum(m["totals"]["checks_completed"] for m in outcome["monthly_scores"])
    assert 0 < completed < 39 * months  # most finish; someone never does, or not by the span's end
    assert january["totals"]["mean_score"] is not None and january["totals"]["teachers_scored"] > 100
    assert len(january["counties"]) == 13
    # the counties' spot checks ran too, and the people behaved as people do
    assert sum(processes["monthly_spot_check"]["instances"].values()) == 13 * months
    people = outcome["people"]
    assert people["acted"]["monthly_school_check"] > 100
    assert sum(people["returned_work"].values()) > 0  # and the checks still open above are late or left undone
    assert people["answers_refused"] == {}, people["answers_refused"]  # every answer the forms allow is taken
    assert checks["overdue_rate"] is not None and checks["overdue_rate"] > 0
    # what it cost is reported, and the page carries the charts
    cost = on_sqlite["cost"]
    assert cost["database"] == "sqlite" and cost["database_bytes"] > 0 and cost["commands"] > 500
    slowest = cost["slowest_commands"]
    assert slowest and [row["p99_ms"] for row in slowest] == sorted((row["p99_ms"] for row in slowest), reverse=True)
    assert all(0 < row["p50_ms"] <= row["p95_ms"] <= row["p99_ms"] <= row["max_ms"] for row in slowest)
    assert cost["largest_instance"]["stored_bytes"] > 0
    assert cost["retention"]["database_bytes_after"] <= cost["database_bytes"]
    page = (tmp_path / "sqlite" / "report.html").read_text(encoding="utf-8")
    assert page.count("<svg") >= 2 and "一月一查" in page  # January has no rollout yet: its chart says so
    assert json.loads((tmp_path / "sqlite" / "report.json").read_text(encoding="utf-8"))["outcome"] == outcome

    on_postgres = _simulate(tmp_path / "postgresql", "--database", empty_postgres, "--workers", "3", "--web", "2")
    cost = on_postgres["cost"]
    assert (cost["database"], cost["worker_processes"], cost["web_processes"]) == ("postgresql", 3, 2)
    assert on_postgres["outcome"] == outcome

    # a database that already holds work is never simulated on
    again = CliRunner().invoke(main, ["simulate", "--year", "2026", "--until", UNTIL, "--database", empty_postgres,
                                      "--out", str(tmp_path / "again")])
    assert again.exit_code == 2 and "already holds" in again.output
