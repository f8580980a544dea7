"""The working morning's sweep: reminders of tasks due on the next working day, today, and overdue, once each;
the daily digest on working days; on the week's first working day the leaders' weekly digest. The sweep plans
its next morning itself, skipping rest days and holidays (国庆)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import CompleteTask, DeployModels, PlanNotificationSweep, SweepNotifications, notification_sweep
from tests.helpers import one_task_model, only_task, start_at
from tests.notified import notifications, told
from workers.job_worker import run_due_jobs


def _deploy_due(huhua: Huhua, process: str, due: str) -> None:
    """A one-task process for a school's principal (the demo's schools have one: the task is theirs), due ``due``."""
    model = one_task_model(process, "报送材料", "报送月度材料", "candidateRoles", "principal",
                           task_properties={"dueDate": due})
    huhua.execute(DeployModels(files=((f"{process}.bpmn", model.encode()),), actor="admin"))


def _days_told(huhua: Huhua, kind: str, person: str | None = None) -> list[date]:
    return [row.created_at.astimezone(BUSINESS_TZ).date() for row in notifications(huhua, kind=kind, person=person)]


def _live_through(huhua: Huhua, clock: VirtualClock, last: date) -> None:
    """Morning by morning (08:30 Beijing time) to ``last``, running the jobs due each time, as a worker would."""
    day = clock.now().astimezone(BUSINESS_TZ).date()
    while day < last:
        day += timedelta(days=1)
        clock.set(datetime.combine(day, time(8, 30), BUSINESS_TZ))
        run_due_jobs(huhua)


def test_one_sweep_waits_for_the_next_working_morning_however_often_it_is_planned(demo: Huhua,
                                                                                  clock: VirtualClock) -> None:
    assert demo.queries.jobs(kind="notify_sweep") == []  # plain bootstrap plans nothing: serve/worker/scheduler do
    clock.set(datetime(2026, 9, 30, 9, 0, tzinfo=BUSINESS_TZ))  # the last working day before 国庆, after 08:00
    first = demo.execute(PlanNotificationSweep())
    again = demo.execute(PlanNotificationSweep())
    assert first["planned"] and not again["planned"] and again["job_id"] == first["job_id"]
    [waiting] = demo.queries.jobs(kind="notify_sweep", state="pending")
    assert datetime.fromisoformat(waiting["due_at"]) == datetime(2026, 10, 8, 8, 0, tzinfo=BUSINESS_TZ)

    clock.set(datetime(2026, 10, 8, 8, 0, tzinfo=BUSINESS_TZ))
    run_due_jobs(demo)
    [done] = demo.queries.jobs(kind="notify_sweep", state="done")
    [following] = demo.queries.jobs(kind="notify_sweep", state="pending")
    assert done["id"] == waiting["id"]
    assert datetime.fromisoformat(following["due_at"]) == datetime(2026, 10, 9, 8, 0, tzinfo=BUSINESS_TZ)
    assert demo.execute(SweepNotifications(done["id"]))["next_job"] is None  # run again: still one waiting
    assert len(demo.queries.jobs(kind="notify_sweep", state="pending")) == 1


def test_due_tomorrow_today_and_overdue_once_each_on_working_days_around_a_holiday(demo: Huhua,
                                                                                   clock: VirtualClock) -> None:
    clock.set(datetime(2026, 9, 28, 8, 30, tzinfo=BUSINESS_TZ))
    _deploy_due(demo, "october_report", "2026-10-08T17:30:00+08:00")  # due the first working day after 国庆
    task = only_task(demo, start_at(demo, "october_report", "zhuhui-s001"))
    demo.execute(PlanNotificationSweep())
    _live_through(demo, clock, date(2026, 10, 12))

    principal = "zhuhui-s001-xz"
    # on the last working day before the holiday, a task due after it is due "tomorrow"
    assert _days_told(demo, "task_due_tomorrow") == [date(2026, 9, 30)]
    assert _days_told(demo, "task_due_today") == [date(2026, 10, 8)]
    assert _days_told(demo, "task_overdue") == [date(2026, 10, 9)]  # once, though it stays overdue
    assert told(demo, "task_overdue") == [principal]
    [tomorrow] = notifications(demo, kind="task_due_tomorrow")
    assert tomorrow.task_id == task["id"] and "10月8日 17:30（下一个工作日）" in tomorrow.body
    # the daily digest: each working morning with anything due by the next working day; none in the holiday,
    # the Saturday worked in its place included, the Sunday not
    assert _days_told(demo, "digest_daily", principal) == [date(2026, 9, 30), date(2026, 10, 8), date(2026, 10, 9),
                                                           date(2026, 10, 10), date(2026, 10, 12)]
    holiday_digest = notifications(demo, kind="digest_daily", person=principal)[0]
    assert "下一个工作日（10月8日）到期 1 项" in holiday_digest.body
    assert f"/inbox/tasks/{task['id']}" in holiday_digest.body
    overdue_digest = notifications(demo, kind="digest_daily", person=principal)[-1]
    assert "已逾期 1 项" in overdue_digest.body and "已逾期 1 项" in overdue_digest.subject
    # the county's officers hear daily which of their schools are behind, from the day it is overdue
    assert _days_told(demo, "digest_daily", "zhuhui-zr") == [date(2026, 10, 9), date(2026, 10, 10),
                                                             date(2026, 10, 12)]
    county = notifications(demo, kind="digest_daily", person="zhuhui-zr")[0]
    assert "珠晖区第一中学：逾期 1 项" in county.body and "/dashboard/overdue" in county.body
    assert "雁峰" not in county.body
    assert "珠晖区教育局：逾期 1 项" in notifications(demo, kind="digest_daily", person="hy-zr")[0].body
    assert notifications(demo, kind="digest_daily", person="yanfeng-zr") == []

    before = len(notifications(demo))
    [last] = demo.queries.jobs(kind="notify_sweep", state="done")[-1:]
    demo.execute(SweepNotifications(last["id"]))  # the morning's sweep run again tells nobody twice
    assert len(notifications(demo)) == before


def test_the_weekly_digest_tells_leaders_how_their_units_did_last_week_on_its_first_working_day(
        demo: Huhua, clock: VirtualClock) -> None:
    clock.set(datetime(2026, 3, 2, 8, 30, tzinfo=BUSINESS_TZ))  # a Monday
    _deploy_due(demo, "march_report", "2026-03-04T17:30:00+08:00")
    tasks = {unit: only_task(demo, start_at(demo, "march_report", unit))
             for unit in ("zhuhui-s001", "zhuhui-s002", "yanfeng-s001")}
    demo.execute(PlanNotificationSweep())
    demo.execute(CompleteTask(tasks["zhuhui-s001"]["id"], "zhuhui-s001-xz", {}))  # on time
    _live_through(demo, clock, date(2026, 3, 5))
    demo.execute(CompleteTask(tasks["zhuhui-s002"]["id"], "zhuhui-s002-xz", {}))  # a day late
    # yanfeng-s001's stays undone
    _live_through(demo, clock, date(2026, 3, 8))
    assert told(demo, "digest_weekly") == []
    _live_through(demo, clock, date(2026, 3, 10))

    assert _days_told(demo, "digest_weekly") == [date(2026, 3, 9)] * len(told(demo, "digest_weekly"))
    assert told(demo, "digest_weekly") == sorted(["hy-jz", "hy-fgjz", "zhuhui-jz", "yanfeng-jz", "zhuhui-s001-xz",
                                                  "zhuhui-s002-xz", "yanfeng-s001-xz"])
    [city] = notifications(demo, kind="digest_weekly", person="hy-jz")
    assert "3月2日—3月8日" in city.subject and "完成 2 项，逾期未办 1 项" in city.subject
    assert "珠晖区教育局：完成 2 项（逾期完成 1 项），逾期未办 0 项" in city.body
    assert "雁峰区教育局：完成 0 项，逾期未办 1 项" in city.body
    [county] = notifications(demo, kind="digest_weekly", person="zhuhui-jz")
    assert "珠晖区第一中学：完成 1 项，逾期未办 0 项" in county.body
    assert "珠晖区第二小学：完成 1 项（逾期完成 1 项），逾期未办 0 项" in county.body and "雁峰" not in county.body
    [school] = notifications(demo, kind="digest_weekly", person="yanfeng-s001-xz")
    assert "完成 0 项，逾期未办 1 项" in school.subject
    # daily digests: working days only (not the weekend), while the principal has something due or overdue
    assert _days_told(demo, "digest_daily", "yanfeng-s001-xz") == [date(2026, 3, 3), date(2026, 3, 4),
                                                                   date(2026, 3, 5), date(2026, 3, 6),
                                                                   date(2026, 3, 9), date(2026, 3, 10)]
    assert _days_told(demo, "digest_daily", "zhuhui-s001-xz") == []  # done on the Monday: nothing to tell


def test_the_first_sweep_tells_only_of_lately_overdue_tasks_and_a_big_morning_goes_in_short_passes(
        demo: Huhua, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch) -> None:
    clock.set(datetime(2026, 9, 14, 7, 30, tzinfo=BUSINESS_TZ))  # go-live: a Monday, before the morning sweep
    _deploy_due(demo, "june_report", "2026-06-30T17:30:00+08:00")  # overdue for months: stale, not re-told
    _deploy_due(demo, "week_report", "2026-09-10T17:30:00+08:00")  # overdue since Thursday: within the week
    schools = ["zhuhui-s001", "zhuhui-s002", "zhuhui-s003"]
    stale = [only_task(demo, start_at(demo, "june_report", school))["id"] for school in schools]
    late = [only_task(demo, start_at(demo, "week_report", school))["id"] for school in schools]
    monkeypatch.setattr(notification_sweep, "TASKS_PER_PASS", 2)  # what 500 tasks do, with three
    demo.execute(PlanNotificationSweep())
    clock.set(datetime(2026, 9, 14, 8, 0, tzinfo=BUSINESS_TZ))
    [job] = demo.queries.jobs(kind="notify_sweep", state="pending")
    passes = []
    while demo.queries.jobs(kind="notify_sweep", state="pending")[0]["id"] == job["id"]:
        passes.append(demo.execute(SweepNotifications(job["id"])))
        assert len(passes) < 5
    assert [p.get("more", False) for p in passes] == [True, False]  # two tasks, then the third and the digests
    assert [p["told"]["reminders"] for p in passes] == [2, 1] and "daily_digests" not in passes[0]["told"]
    assert sorted(n.task_id for n in notifications(demo, kind="task_overdue")) == late
    assert not {n.task_id for n in notifications(demo)} & set(stale)
    assert _days_told(demo, "digest_daily", "zhuhui-s001-xz") == [date(2026, 9, 14)]  # once, though in passes
    overdue_digest = notifications(demo, kind="digest_daily", person="zhuhui-s001-xz")[0]
    assert "已逾期 2 项" in overdue_digest.body  # the stale task is still counted where it belongs
    assert [j["state"] for j in demo.queries.jobs(kind="notify_sweep")] == ["done", "pending"]
