"""一月一查: on the first working day of each month the scheduler starts the check at every school, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.config import Settings
from engine.schedules import load_schedules
from engine.store import tables
from workers.scheduler import ScheduleRunner, advance_clock

PROJECT = Path(__file__).resolve().parent.parent
SCHEDULES = load_schedules(PROJECT / "config" / "schedules.toml")


@pytest.fixture
def demo(huhua: Huhua, demo_template: None) -> Huhua:
    return huhua


def _checks(huhua: Huhua) -> list[tuple[str, str, bool]]:
    """(school, scheduled month, late) of every monthly-check instance."""
    with huhua.services.database.engine.connect() as connection:
        i = tables.process_instance
        rows = connection.execute(select(i.c.id, i.c.org_scope).where(i.c.process_key == "monthly_school_check"))
        found = []
        for instance_id, school in rows.all():
            data = huhua.queries.instance(instance_id)["data"]
            found.append((school, data["scheduled_for"][:7], data["late"]))
    return sorted(found)


def _schools(huhua: Huhua) -> list[str]:
    return sorted(u["id"] for u in huhua.queries.units(kind="school", limit=5000))


def test_across_a_month_boundary_every_school_gets_exactly_one_check(demo: Huhua, clock: VirtualClock) -> None:
    clock.set(datetime(2026, 9, 30, 12, tzinfo=BUSINESS_TZ))
    first, second = ScheduleRunner(demo, SCHEDULES), ScheduleRunner(demo, SCHEDULES)
    first.tick()
    assert _checks(demo) == []
    advance_clock(demo, clock, datetime(2026, 10, 9, 12, tzinfo=BUSINESS_TZ), first)  # 1-7 Oct: National Day
    second.tick()
    first.tick()
    assert _checks(demo) == [(school, "2026-10", False) for school in _schools(demo)]
    fired = demo.queries.instances(process_key="monthly_school_check", limit=500)
    assert {i["business_key"].split("@")[1] for i in fired} == {"2026-10-08T08:30:00+08:00"}
    for school in _schools(demo):  # every school's checking sheets are in its 德育处主任's inbox
        sheets = demo.queries.tasks(user=f"{school}-dy")
        assert sorted(t["element_id"] for t in sheets) == ["check_class_teachers", "check_mh_work"]
        assert {t["due_at"] for t in sheets} == {"2026-10-19T09:30:00+00:00"}  # 8 working days (Sat 10 Oct is one)


def test_a_scheduler_down_over_the_boundary_starts_the_missed_check_once_late(
        demo: Huhua, clock: VirtualClock) -> None:
    clock.set(datetime(2026, 10, 30, 12, tzinfo=BUSINESS_TZ))
    ScheduleRunner(demo, SCHEDULES).tick()  # running on 30 October; then down until 4 November
    clock.set(datetime(2026, 11, 4, 10, tzinfo=BUSINESS_TZ))
    restarted = ScheduleRunner(demo, SCHEDULES)
    fired = restarted.tick()
    assert [(f["fire_time"], f["late"], f["units"]) for f in fired] == [("2026-11-02T08:30:00+08:00", True, 39),
                                                                        ("2026-11-02T09:00:00+08:00", True, 13)]
    advance_clock(demo, clock, datetime(2026, 11, 4, 11, tzinfo=BUSINESS_TZ), restarted)
    restarted.tick()
    assert _checks(demo) == [(school, "2026-11", True) for school in _schools(demo)]


def _huhua_process(settings: Settings, clock_at: str, *arguments: str) -> subprocess.Popen:
    env = {**os.environ, "HUHUA_DATABASE_URL": settings.database_url, "HUHUA_DATA_DIR": str(settings.data_dir),
           "HUHUA_VIRTUAL_CLOCK": clock_at, "PYTHONPATH": str(PROJECT)}
    return subprocess.Popen([sys.executable, "-m", "engine.cli", *arguments], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        assert process.wait(30) in (0, -signal.SIGTERM), process.stderr.read() if process.stderr else ""


@pytest.mark.slow
def test_two_scheduler_processes_and_a_worker_start_each_school_once(demo: Huhua, settings: Settings) -> None:
    boundary = "2026-10-08T08:31:00+08:00"
    processes = [_huhua_process(settings, boundary, "scheduler", "--interval", "1") for _ in range(2)]
    processes.append(_huhua_process(settings, boundary, "worker", "--poll", "0.1"))
    try:
        deadline = time.monotonic() + 60
        while len(_started(demo)) < 39 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)  # both schedulers tick again meanwhile
    finally:
        _stop(processes)
    assert _started(demo) == {school: 1 for school in _schools(demo)}
    with demo.services.database.engine.connect() as connection:
        f = tables.schedule_fire
        occurrences = connection.execute(select(f.c.fire_time, func.count()).group_by(f.c.fire_time)).all()
    assert [(t.astimezone(UTC), n) for t, n in occurrences] == [(datetime(2026, 10, 8, 0, 30, tzinfo=UTC), 40)]


def _started(huhua: Huhua) -> dict[str, int]:
    with huhua.services.database.engine.connect() as connection:
        i = tables.process_instance
        return dict(connection.execute(select(i.c.org_scope, func.count()).where(
            i.c.process_key == "monthly_school_check").group_by(i.c.org_scope)).all())
