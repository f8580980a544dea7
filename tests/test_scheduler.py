"""Scheduled starts on the engine clock: once per occurrence, late after downtime, in order on a virtual clock."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import StartInstance
from engine.errors import InvalidInput, InvalidModel
from engine.schedules import Schedule, load_schedules
from tests.helpers import deploy_fixtures
from workers.scheduler import ScheduleRunner, advance_clock

MONTHLY = Schedule("monthly_check", "straight", rule="first_working_day", at=time(8, 30))


def _fires(huhua: Huhua) -> list[tuple[str, bool]]:
    return [(i["business_key"].split("@", 1)[1], huhua.queries.instance(i["id"])["data"]["late"])
            for i in reversed(huhua.queries.instances(process_key="straight"))]


def test_the_first_working_day_fires_once_even_with_two_schedulers(huhua: Huhua, clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "straight.bpmn")
    clock.set(datetime(2026, 9, 30, 12, tzinfo=BUSINESS_TZ))
    first, second = ScheduleRunner(huhua, [MONTHLY]), ScheduleRunner(huhua, [MONTHLY])
    first.tick()
    clock.set(datetime(2026, 10, 8, 8, 31, tzinfo=BUSINESS_TZ))  # National Day: Oct 8 is October's first working day
    assert len(first.tick()) == 1
    assert second.tick() == [] and first.tick() == []
    assert _fires(huhua) == [("2026-10-08T08:30:00+08:00", False)]


def test_a_scheduler_down_over_the_boundary_fires_the_missed_occurrence_once_late(
        huhua: Huhua, clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "straight.bpmn")
    runner = ScheduleRunner(huhua, [MONTHLY])
    clock.set(datetime(2026, 9, 1, 8, 31, tzinfo=BUSINESS_TZ))
    assert len(runner.tick()) == 1
    clock.set(datetime(2026, 11, 20, 10, tzinfo=BUSINESS_TZ))  # down through October and November's first days
    fired = runner.tick()
    assert [(f["fire_time"], f["late"]) for f in fired] == [("2026-11-02T08:30:00+08:00", True)]
    assert runner.tick() == []


def test_a_virtual_clock_jump_fires_every_occurrence_in_order(huhua: Huhua, clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "straight.bpmn", "deadline.bpmn")
    runner = ScheduleRunner(huhua, [MONTHLY])  # the clock stands at 08:30 on Monday 2 March 2026, Beijing time
    waiting = huhua.execute(StartInstance("deadline", "admin"))  # its boundary timer is due on 4 March
    advance_clock(huhua, clock, datetime(2026, 12, 31, tzinfo=UTC), runner)
    escalated = huhua.queries.instance(waiting["id"])
    assert [t["name"] for t in escalated["open_tasks"]] == ["上级督办"]
    timer_fired_at = next(e["at"] for e in escalated["history"] if e["kind"] == "timer_fired")
    assert timer_fired_at.startswith("2026-03-04")  # the clock stopped at the timer, not at the end
    fires = _fires(huhua)
    assert [fire_time[:10] for fire_time, _late in fires] == [
        "2026-03-02", "2026-04-01", "2026-05-06", "2026-06-01", "2026-07-01", "2026-08-03", "2026-09-01",
        "2026-10-08", "2026-11-02", "2026-12-01"]  # May 1-5 and Oct 1-7 are holidays
    assert not any(late for _fire_time, late in fires)


def test_schedule_files_are_checked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "schedules.toml"
    good.write_text('[[schedule]]\nkey = "weekly"\nprocess = "digest"\ncron = "0 9 * * 1"\n', encoding="utf-8")
    assert load_schedules(good)[0].cron == "0 9 * * 1"
    bad = tmp_path / "bad.toml"
    bad.write_text('[[schedule]]\nkey = "weekly"\nprocess = "digest"\ncron = "99 * * * *"\n', encoding="utf-8")
    try:
        load_schedules(bad)
    except InvalidInput as err:
        assert "schedule[0]" in str(err)
    else:
        raise AssertionError("a bad cron was accepted")
    assert load_schedules(tmp_path / "missing.toml") == []


def test_a_timer_start_event_is_a_schedule_each_occurrence_starting_one_instance(
        huhua: Huhua, clock: VirtualClock) -> None:
    deploy_fixtures(huhua, "timer_start.bpmn")  # R3/2026-03-02T09:00/P1D; the clock stands at 08:30 on 2 March
    runner = ScheduleRunner(huhua, [])
    advance_clock(huhua, clock, datetime(2026, 3, 10, tzinfo=BUSINESS_TZ), runner)
    started = list(reversed(huhua.queries.instances(process_key="daily_roll_call")))
    assert [i["business_key"] for i in started] == [
        f"daily_roll_call.every_morning@2026-03-0{day}T09:00:00+08:00" for day in (2, 3, 4)]
    for instance in started:  # started through the timer start event, waiting at the task after it
        assert [t["element_id"] for t in huhua.queries.instance(instance["id"])["open_tasks"]] == ["roll_call"]
    assert huhua.queries.jobs(state="pending") == []  # no instance waits on its own start timer


def test_a_timer_start_event_the_scheduler_cannot_follow_is_refused_at_deployment(huhua: Huhua) -> None:
    with pytest.raises(InvalidModel) as refused:
        deploy_fixtures(huhua, "bad_timer_start.bpmn")
    problem = refused.value.problems[0]
    assert (problem.element_id, problem.file) == ("every_morning", "bad_timer_start.bpmn")
    assert "every monday at nine" in problem.message and "cycle" in problem.message
    assert huhua.queries.definitions() == []
