"""A virtual October (国庆 in it) on the demo profile: the monthly check's reminders and escalations reach their
recipients once each, none planned for a rest day or inside quiet hours; a crisis is told at once, even at night
on a holiday. Channels point at receivers on this machine; in this part of the work nothing sends them, so the
test reads what was planned (``notification``, ``notification_delivery``)."""

from __future__ import annotations

import json
import socket
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, time
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from sqlalchemy import select, update

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import CompleteTask, StartInstance
from engine.notifications.settings import NotificationSettings, Robot, RobotSettings, SmtpSettings
from engine.schedules import load_schedules
from engine.store import tables
from tests.library.conftest import complete, inbox
from tests.library.monthly_checks import CLASS_ITEMS, MH_ITEMS, marks
from tests.receiver import http_receiver
from workers.job_worker import run_due_jobs
from workers.scheduler import ScheduleRunner

_n, _d, _item, _j = (tables.notification, tables.notification_delivery, tables.notification_delivery_item,
                     tables.job)
_t, _r, _u, _p = tables.human_task, tables.role_assignment, tables.org_unit, tables.person
COUNSELLOR = "zhuhui-s001-xl1"
CHECK_TASKS = ("check_class_teachers", "check_mh_work")


@pytest.fixture
def told(demo: Huhua) -> Iterator[Huhua]:
    """Everyone has an e-mail address; every school and county has a WeCom group robot; quiet 22:00–07:00."""
    with demo.services.database.engine.begin() as connection:
        connection.execute(update(_p).values(email=_p.c.id + "@jiaoyu.test"))
        units = list(connection.execute(select(_u.c.id).where(_u.c.kind.in_(("school", "county")))).scalars())
    with socket.socket() as probe:  # a free port for the SMTP server (aiosmtpd checks it by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(Sink(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        with http_receiver() as robot:
            robot.answer = {"errcode": 0, "errmsg": "ok"}
            demo.services.notifications = NotificationSettings(
                email=SmtpSettings("127.0.0.1", port, "none", None, None, "huhua@jiaoyu.test"),
                wecom=RobotSettings(f"{robot.url}/cgi-bin/webhook/send", {u: Robot(f"key-{u}") for u in units}),
                quiet_hours=("22:00", "07:00"))
            yield demo
    finally:
        smtp.stop()


class Month:
    """The clock moved through the month: stopping at every due engine job and schedule occurrence (the
    ``notify_send`` jobs belong to the sending worker), noting each delivery as it was planned."""

    def __init__(self, huhua: Huhua, clock: VirtualClock) -> None:
        self.huhua, self.clock = huhua, clock
        self.runner = ScheduleRunner(huhua, [s for s in load_schedules(huhua.settings.schedules_file)
                                             if s.key in ("monthly_check", "monthly_spot_check")])
        self.planned: dict[int, Any] = {}

    def run(self) -> None:
        run_due_jobs(self.huhua)
        with self.huhua.services.database.engine.connect() as connection:
            for row in connection.execute(select(_d.c.id, _d.c.channel, _d.c.target, _d.c.due_at, _d.c.created_at)
                                          .where(_d.c.id.not_in(list(self.planned) or [0]))).all():
                self.planned[row.id] = row

    def until(self, when: datetime) -> None:
        while True:
            self.run()
            self.runner.tick()
            with self.huhua.services.database.engine.connect() as connection:
                job = connection.execute(select(_j.c.due_at).where(_j.c.state == "pending",
                                                                   _j.c.kind != "notify_send")
                                         .order_by(_j.c.due_at).limit(1)).scalar()
            candidates = [c for c in (job, self.runner.next_occurrence(when)) if c is not None and c <= when]
            if not candidates:
                self.clock.set(max(when, self.clock.now()))
                self.run()
                return
            self.clock.set(max(min(candidates), self.clock.now()))


def _notifications(huhua: Huhua) -> list[Any]:
    with huhua.services.database.engine.connect() as connection:
        return list(connection.execute(select(_n.c.id, _n.c.person_id, _n.c.kind, _n.c.dedupe_key, _n.c.instance_id,
                                              _n.c.urgent, _n.c.body, _n.c.created_at)).all())


def _holders(huhua: Huhua, unit: str, role: str) -> set[str]:
    with huhua.services.database.engine.connect() as connection:
        return set(connection.execute(select(_r.c.person_id).where(_r.c.unit_id == unit, _r.c.role == role)).scalars())


def _county_of(huhua: Huhua, school: str) -> str:
    with huhua.services.database.engine.connect() as connection:
        return str(connection.execute(select(_u.c.parent_id).where(_u.c.id == school)).scalar())


def _carried(huhua: Huhua, notification_ids: list[int]) -> dict[int, list[int]]:
    with huhua.services.database.engine.connect() as connection:
        rows = connection.execute(select(_item.c.notification_id, _item.c.delivery_id)
                                  .where(_item.c.notification_id.in_(notification_ids))).all()
    found: dict[int, list[int]] = defaultdict(list)
    for notification_id, delivery_id in rows:
        found[notification_id].append(delivery_id)
    return found


def _score_every_sheet(huhua: Huhua, schools: set[str]) -> None:
    with huhua.services.database.engine.connect() as connection:
        sheets = connection.execute(select(_t.c.id, _t.c.org_scope, _t.c.element_id, tables.process_instance.c.data)
                                    .join(tables.process_instance, tables.process_instance.c.id == _t.c.instance_id)
                                    .where(_t.c.state == "open", _t.c.element_id.in_(CHECK_TASKS),
                                           _t.c.org_scope.in_(schools))).all()
    for sheet in sheets:
        data = json.loads(sheet.data)
        if sheet.element_id == "check_class_teachers":
            answer = {"class_teacher_scores": [{**r, **marks(CLASS_ITEMS, 10)} for r in data["class_teacher_scores"]],
                      "class_problems": "无", "class_requirements": "无"}
        else:
            answer = {"mh_teacher_scores": [{**r, **marks(MH_ITEMS, 10)} for r in data["mh_teacher_scores"]],
                      "mh_problems": "无", "mh_requirements": "无"}
        huhua.execute(CompleteTask(sheet.id, f"{sheet.org_scope}-dy", answer))
    run_due_jobs(huhua)


def _crisis_on_a_holiday_night(huhua: Huhua, clock: VirtualClock) -> int:
    """国庆, 3 October, 22:30: a phone call; the counsellor's first session finds self-harm signs — a crisis."""
    clock.set(datetime(2026, 10, 3, 22, 30, tzinfo=BUSINESS_TZ))
    huhua.execute(StartInstance("counselling_appointment", COUNSELLOR, org_scope="zhuhui-s001"))
    complete(huhua, COUNSELLOR, "register", {"student_alias": "初二学生A", "requester": "parent", "channel": "phone",
                                             "appointment_date": "2026-10-03", "reason": "家长电话：孩子情绪低落"})
    complete(huhua, COUNSELLOR, "session", {"session_date": "2026-10-03", "session_record": "倾听与情绪疏导",
                                            "risk_level": "low", "risk_signs": ["self_harm"]})
    case = huhua.queries.instances(process_key="counselling_case", limit=10)[0]["id"]
    assert inbox(huhua, "zhuhui-s001-xz") == [("principal_act", "zhuhui-s001")]
    return int(case)


def test_a_month_of_checks_tells_each_reminder_and_escalation_once_and_never_on_a_rest_day_or_at_night(
        told: Huhua, clock: VirtualClock) -> None:
    huhua = told
    month = Month(huhua, clock)
    # 29 September: the county chases a school still late on September's check; the answer is due in 2 working days
    clock.set(datetime(2026, 9, 29, 10, tzinfo=BUSINESS_TZ))
    chase = int(huhua.execute(StartInstance("monthly_check_chase", "zhuhui-zr", org_scope="zhuhui-s002", variables={
        "chase_month": "2026-09", "chase_note": "请说明九月检查未完成的原因"}))["id"])
    # the worker is down from 29 September and catches up at night on 1 October (National Day)
    clock.set(datetime(2026, 10, 1, 23, 10, tzinfo=BUSINESS_TZ))
    month.run()
    case = _crisis_on_a_holiday_night(huhua, clock)
    month.run()
    # 8 October, the first working day after the holiday: every school's check starts; a third score at once
    month.until(datetime(2026, 10, 8, 10, tzinfo=BUSINESS_TZ))
    schools = sorted(u["id"] for u in huhua.queries.units(kind="school", limit=5000))
    prompt = set(schools[::3])
    _score_every_sheet(huhua, prompt)
    month.until(datetime(2026, 10, 31, 12, tzinfo=BUSINESS_TZ))

    notifications = _notifications(huhua)
    assert len({(n.person_id, n.dedupe_key) for n in notifications}) == len(notifications)  # nobody told twice
    by_occasion: dict[tuple[int | None, str], set[str]] = defaultdict(set)
    for n in notifications:
        by_occasion[(n.instance_id, n.dedupe_key.split(":")[1])].add(n.person_id)

    checks = {i["org_scope"]: i["id"] for i in huhua.queries.instances(process_key="monthly_school_check", limit=500)}
    assert sorted(checks) == schools
    for school, instance in checks.items():
        head_and_officer = _holders(huhua, school, "principal") | _holders(huhua, _county_of(huhua, school),
                                                                           "programme_officer")
        for task in CHECK_TASKS:
            reminded = by_occasion.get((instance, f"{task}_remind_notify"), set())
            escalated = by_occasion.get((instance, f"{task}_overdue_notify"), set())
            if school in prompt:
                assert (reminded, escalated) == (set(), set()), school
            else:
                assert reminded == {f"{school}-dy"}, (school, task)
                assert escalated == head_and_officer and len(escalated) == 2, (school, task)
    spots = {i["org_scope"]: i["id"] for i in huhua.queries.instances(process_key="monthly_spot_check", limit=500)}
    assert spots
    for county, instance in spots.items():
        assert by_occasion[(instance, "spot_check_remind_notify")] == _holders(huhua, county, "programme_officer")
        assert by_occasion[(instance, "spot_check_overdue_notify")] == (
            _holders(huhua, county, "bureau_head") | _holders(huhua, "hy", "programme_officer"))
    kinds = Counter(n.kind for n in notifications)
    assert kinds["reminder"] >= 2 * (len(schools) - len(prompt)) and kinds["escalation"] >= 4 * (
        len(schools) - len(prompt))

    # the chase's reminder ran on a holiday night: its messages wait for the first working morning
    chase_told = [n for n in notifications if n.instance_id == chase]
    assert {(n.kind, n.person_id) for n in chase_told} >= {("reminder", "zhuhui-s002-zr")}
    carried = _carried(huhua, [n.id for n in notifications])
    reminder = next(n for n in chase_told if n.kind == "reminder")
    assert reminder.created_at.astimezone(BUSINESS_TZ).date().isoformat() == "2026-10-01"
    assert {(month.planned[d].channel, month.planned[d].due_at.astimezone(BUSINESS_TZ).isoformat())
            for d in carried[reminder.id]} == {("wecom", "2026-10-08T08:01:00+08:00")}  # the group's next minute

    calendar = huhua.queries.calendar.working_calendar()
    urgent = {d for n in notifications if n.urgent for d in carried[n.id]}
    assert month.planned and urgent
    for delivery_id, delivery in month.planned.items():
        due = delivery.due_at.astimezone(BUSINESS_TZ)
        if delivery_id in urgent:
            continue
        assert calendar.is_working_day(due.date()), (delivery.channel, delivery.target, due)
        assert time(7) <= due.time() < time(22), (delivery.channel, delivery.target, due)

    # the crisis: principal, counsellor and county officer told at once, with the alias and the level only
    crisis = [n for n in notifications if n.instance_id == case]
    first = {n.person_id for n in crisis if n.dedupe_key.split(":")[1] == "crisis_notify"}
    assert first == {"zhuhui-s001-xz", COUNSELLOR, "zhuhui-zr"}
    late = {n.person_id for n in crisis if n.dedupe_key.split(":")[1] == "crisis_overdue_notify"}
    assert late == {"zhuhui-s001-xz", "zhuhui-jz", "zhuhui-zr"}  # not acted on by midnight: the bureau head too
    for n in crisis:
        assert n.urgent and "初二学生A" in n.body and "危机干预" in n.body
        assert "情绪低落" not in n.body and "倾听" not in n.body
        assert [month.planned[d].channel for d in carried[n.id]] == ["email"]
        for delivery_id in carried[n.id]:
            assert month.planned[delivery_id].due_at == month.planned[delivery_id].created_at  # at once, at night
