"""Issue 14's acceptance on the demo profile over a virtual October (国庆 in it): every reminder and escalation of
the monthly check reaches its recipients once, none on a holiday, none in quiet hours, the crisis escalation at
once. The month runs as deployed: the scheduler's clock loop (:func:`~workers.scheduler.advance_clock`) stops at
every due job, the working-morning sweep is planned, and the worker sends every delivery to real receivers on
127.0.0.1 (an SMTP server, every unit's WeCom group robot, the SMS gateway), which note the engine clock's time
at which each message arrived. The assertions read what the receivers heard; the database only says which
notifications a message id carried.

SQLite only: the month is about calendars and who hears what; delivery on PostgreSQL (several workers, leases,
a worker killed mid-send) is covered by tests/test_notification_delivery.py and the notification tests that run
on both databases, and running this month twice would double the suite's longest library test."""

from __future__ import annotations

import json
import socket
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import CompleteTask, PlanNotificationSweep, SetRoleNotificationDefaults, StartInstance
from engine.notifications.settings import NotificationSettings, Robot, RobotSettings, SmsSettings, SmtpSettings
from engine.org.directory import ROLES
from engine.schedules import load_schedules
from engine.store import tables
from tests.library.conftest import complete, inbox
from tests.library.monthly_checks import CLASS_ITEMS, MH_ITEMS, marks
from tests.notification_receivers import sms_gateway, wecom_robot
from tests.receiver import Received
from workers.job_worker import run_due_jobs
from workers.scheduler import ScheduleRunner, advance_clock

_n, _d, _item = tables.notification, tables.notification_delivery, tables.notification_delivery_item
_t, _r, _u, _p = tables.human_task, tables.role_assignment, tables.org_unit, tables.person
COUNSELLOR = "zhuhui-s001-xl1"
CHECK_TASKS = ("check_class_teachers", "check_mh_work")
#: Where each kind reaches a person who chose nothing (engine/notifications/kinds.py), among the channels set up.
REACHES = {"reminder": {"wecom", "sms"}, "escalation": {"email", "wecom", "sms"}, "crisis": {"email", "sms"}}
SMS_KEY, SMS_SECRET = "huhua-sms", "sms-secret"


@dataclass(frozen=True)
class Heard:
    """One message a receiver took, and when by the engine's clock."""

    channel: str
    message_id: str
    at: datetime
    #: The e-mail address or mobile it went to; a robot's: the mobiles it mentions.
    to: tuple[str, ...]
    #: The group whose robot heard it (WeCom), else None.
    unit: str | None
    text: str


@pytest.fixture
def receivers(demo: Huhua, clock: VirtualClock) -> Iterator[list[Heard]]:
    """Every unit has a WeCom group robot; e-mail and SMS go to servers here; quiet 22:00–07:00."""
    heard: list[Heard] = []
    with demo.services.database.engine.connect() as connection:
        units = list(connection.execute(select(_u.c.id)).scalars())
    keys = {f"key-{unit}": unit for unit in units}

    class Mailbox:
        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            message = message_from_bytes(envelope.content, policy=policy.default)  # type: ignore[arg-type]
            plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            heard.append(Heard("email", str(message["X-Huhua-Message-Id"]), clock.now(), tuple(envelope.rcpt_tos),
                               None, f"{message['Subject']}\n{plain}"))
            return "250 2.0.0 queued"

    def robot_heard(request: Received) -> None:
        text = request.json()["text"] if request.json()["msgtype"] == "text" else request.json()["markdown"]
        key = request.path.partition("key=")[2]
        heard.append(Heard("wecom", request.headers["X-Huhua-Message-Id"], clock.now(),
                           tuple(text.get("mentioned_mobile_list", ())), keys.get(key), text["content"]))

    def gateway_heard(request: Received) -> None:
        call = request.json()
        heard.append(Heard("sms", request.headers["X-Huhua-Message-Id"], clock.now(), (call["phone"],), None,
                           json.dumps(call["template_params"], ensure_ascii=False)))

    with socket.socket() as probe:  # a free port for the SMTP server (aiosmtpd checks it by connecting)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(Mailbox(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        with wecom_robot(keys, robot_heard) as robot, sms_gateway(SMS_KEY, SMS_SECRET, on_request=gateway_heard) as sms:
            demo.services.notifications = NotificationSettings(
                email=SmtpSettings("127.0.0.1", port, "none", None, None,
                                   "心育护花 <huhua@jiaoyu.test>"),
                wecom=RobotSettings(f"{robot.url}/cgi-bin/webhook/send", {u: Robot(f"key-{u}") for u in units}),
                sms=SmsSettings(f"{sms.url}/sms/send", SMS_KEY, SMS_SECRET, "心育护花", {"default": "SMS_100"}),
                quiet_hours=("22:00", "07:00"))
            yield heard
            assert robot.refused == [] and sms.refused == []
    finally:
        smtp.stop()


def _holders(huhua: Huhua, unit: str, role: str) -> set[str]:
    with huhua.services.database.engine.connect() as connection:
        return set(connection.execute(select(_r.c.person_id).where(_r.c.unit_id == unit, _r.c.role == role)).scalars())


def _county_of(huhua: Huhua, school: str) -> str:
    with huhua.services.database.engine.connect() as connection:
        return str(connection.execute(select(_u.c.parent_id).where(_u.c.id == school)).scalar())


def _people(huhua: Huhua) -> dict[str, Any]:
    with huhua.services.database.engine.connect() as connection:
        return {p.id: p for p in connection.execute(select(_p.c.id, _p.c.unit_id, _p.c.phone, _p.c.email)).all()}


def _whole_messages(heard: list[Heard]) -> list[Heard]:
    """A robot message too long for one post goes as pieces ``<id>-1``, ``<id>-2`` …, each mentioning the people of
    its own lines: read them as the one message (the delivery) they make up, mentioning all of them."""
    whole: dict[str, Heard] = {}
    for h in heard:
        base = h.message_id.split("-", 1)[0]
        first = whole.get(base)
        whole[base] = replace(h, message_id=base) if first is None else replace(
            first, to=tuple(dict.fromkeys((*first.to, *h.to))), at=min(first.at, h.at))
    return list(whole.values())


def _carried_by(huhua: Huhua) -> dict[str, list[Any]]:
    """message id → the notifications its delivery carried (what the engine says it sent under that id)."""
    with huhua.services.database.engine.connect() as connection:
        rows = connection.execute(
            select(_d.c.message_id, _d.c.channel, _n.c.id, _n.c.person_id, _n.c.kind, _n.c.dedupe_key,
                   _n.c.instance_id, _n.c.urgent, _n.c.created_at, _n.c.body)
            .join(_item, _item.c.delivery_id == _d.c.id).join(_n, _n.c.id == _item.c.notification_id)).all()
    found: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        found[row.message_id].append(row)
    return found


def _step(notification: Any) -> str:
    """The notify step a library notification came from (its dedupe key is ``instance:step:…``)."""
    return str(notification.dedupe_key.split(":")[1])


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


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_month_of_checks_reaches_each_recipient_once_never_on_a_rest_day_or_at_night_and_a_crisis_at_once(
        demo: Huhua, receivers: list[Heard], clock: VirtualClock) -> None:
    huhua, heard = demo, receivers
    runner = ScheduleRunner(huhua, [s for s in load_schedules(huhua.settings.schedules_file)
                                    if s.key in ("monthly_check", "monthly_spot_check")])
    # 29 September, 10:00: the county chases a school still late on September's check (answer in 2 working days);
    # the worker tells of the new task, then goes down before the minute's group message went out
    clock.set(datetime(2026, 9, 29, 10, tzinfo=BUSINESS_TZ))
    for role in ROLES:  # the bureau keeps the daily digest in the app (digest e-mails: test_notification_sweep.py);
        # it would be half the month's e-mail and time, and it is neither reminder nor escalation
        huhua.execute(SetRoleNotificationDefaults("admin", role, {"digest_daily": ["inbox"]}))
    huhua.execute(PlanNotificationSweep())
    chase = int(huhua.execute(StartInstance("monthly_check_chase", "zhuhui-zr", org_scope="zhuhui-s002", variables={
        "chase_month": "2026-09", "chase_note": "请说明九月检查未完成的原因"}))["id"])
    run_due_jobs(huhua)
    backlog = {h.message_id for h in heard}
    # it comes back at night on 1 October (National Day) and catches up: reminders fire late, nothing is sent
    clock.set(datetime(2026, 10, 1, 23, 10, tzinfo=BUSINESS_TZ))
    advance_clock(huhua, clock, clock.now(), runner)
    assert {h.message_id for h in heard} == backlog
    case = _crisis_on_a_holiday_night(huhua, clock)
    raised = clock.now()
    advance_clock(huhua, clock, datetime(2026, 10, 8, 10, tzinfo=BUSINESS_TZ), runner)
    # 8 October, the first working day after the holiday: every school's check started; a third score at once
    schools = sorted(u["id"] for u in huhua.queries.units(kind="school", limit=5000))
    prompt = set(schools[::3])
    _score_every_sheet(huhua, prompt)
    advance_clock(huhua, clock, datetime(2026, 10, 31, 12, tzinfo=BUSINESS_TZ), runner)

    carried = _carried_by(huhua)
    people = _people(huhua)
    times_heard: dict[str, int] = defaultdict(int)
    for h in heard:
        times_heard[h.message_id] += 1
    assert set(times_heard.values()) == {1}  # nothing failed, so nothing was sent twice
    heard = _whole_messages(heard)
    assert heard and all(h.message_id in carried for h in heard)
    # (channel, instance, dedupe key, person) → the messages that reached that person for that occasion
    reached: dict[tuple[str, int | None, str, str], list[Heard]] = defaultdict(list)
    for h in heard:
        for n in carried[h.message_id]:
            address = {"email": people[n.person_id].email, "sms": people[n.person_id].phone}.get(h.channel)
            if h.channel == "wecom":
                assert h.unit == people[n.person_id].unit_id and people[n.person_id].phone in h.to, (h, n)
            else:
                assert h.to == (address,), (h, n)
            reached[(h.channel, n.instance_id, n.dedupe_key, n.person_id)].append(h)
    twice = {occasion: messages for occasion, messages in reached.items() if len(messages) > 1}
    assert twice == {}  # each occasion once per person and channel

    def told(instance: int, step: str) -> dict[str, set[str]]:
        """person → the channels that brought them the step's message (each exactly once, checked above)."""
        found: dict[str, set[str]] = defaultdict(set)
        for channel, on, key, person in reached:
            if on == instance and key.split(":")[1] == step:
                found[person].add(channel)
        return dict(found)

    checks = {i["org_scope"]: i["id"] for i in huhua.queries.instances(process_key="monthly_school_check", limit=500)}
    assert sorted(checks) == schools
    for school, instance in checks.items():
        head_and_officer = _holders(huhua, school, "principal") | _holders(huhua, _county_of(huhua, school),
                                                                           "programme_officer")
        assert len(head_and_officer) == 2
        for task in CHECK_TASKS:
            reminded, escalated = told(instance, f"{task}_remind_notify"), told(instance, f"{task}_overdue_notify")
            if school in prompt:
                assert (reminded, escalated) == ({}, {}), school
            else:
                assert reminded == {f"{school}-dy": REACHES["reminder"]}, (school, task)
                assert escalated == {p: REACHES["escalation"] for p in head_and_officer}, (school, task)
    spots = {i["org_scope"]: i["id"] for i in huhua.queries.instances(process_key="monthly_spot_check", limit=500)}
    assert sorted(spots) == sorted(u["id"] for u in huhua.queries.units(kind="county", limit=500))
    for county, instance in spots.items():
        assert told(instance, "spot_check_remind_notify") == {
            p: REACHES["reminder"] for p in _holders(huhua, county, "programme_officer")}
        assert told(instance, "spot_check_overdue_notify") == {
            p: REACHES["escalation"] for p in _holders(huhua, county, "bureau_head") | _holders(huhua, "hy",
                                                                                             "programme_officer")}
    # every reminder and escalation the month's checks made was heard on each channel the person has
    library = set(checks.values()) | set(spots.values())
    made = [n for rows in carried.values() for n in rows if n.kind in ("reminder", "escalation")
            and n.instance_id in library]
    assert len(made) >= 2 * 2 * (len(schools) - len(prompt)) * 2
    for n in made:
        assert told(n.instance_id, _step(n)).get(n.person_id) == REACHES[n.kind], n

    # none on a rest day, none in quiet hours — whatever was said, unless it was a crisis
    calendar = huhua.queries.calendar.working_calendar()
    urgent = {h.message_id for h in heard if any(n.urgent for n in carried[h.message_id])}
    for h in heard:
        if h.message_id not in urgent:
            local = h.at.astimezone(BUSINESS_TZ)
            assert calendar.is_working_day(local.date()) and time(7) <= local.time() < time(22), (h, local)
    # the backlog of 29 September and the chase's reminder (fired on a holiday night) wait for 8 October's morning
    first_morning = datetime(2026, 10, 8, 8, tzinfo=BUSINESS_TZ)
    assert backlog and all(h.at < first_morning for h in heard if h.message_id in backlog)
    late = [h for h in heard
            if h.message_id not in backlog and any(n.instance_id == chase for n in carried[h.message_id])]
    assert {(h.channel, h.at.astimezone(BUSINESS_TZ).time()) for h in late} >= {("wecom", time(8, 1)),
                                                                                   ("sms", time(8, 0))}
    assert all(h.at >= first_morning for h in late)
    chase_reminder = next(_step(n) for rows in carried.values() for n in rows
                          if n.instance_id == chase and n.kind == "reminder")
    assert told(chase, chase_reminder)["zhuhui-s002-zr"] == REACHES["reminder"]

    # the crisis: principal, counsellor and county officer hear it the minute it was raised, at night on a holiday,
    # by e-mail and SMS in neutral words with a link (the alias and level only in the centre, which only they read);
    # the bureau head too when nobody acted by midnight
    assert told(case, "crisis_notify") == {p: REACHES["crisis"] for p in ("zhuhui-s001-xz", COUNSELLOR, "zhuhui-zr")}
    assert told(case, "crisis_overdue_notify") == {p: REACHES["crisis"]
                                                   for p in ("zhuhui-s001-xz", "zhuhui-jz", "zhuhui-zr")}
    for h in heard:
        crisis = [n for n in carried[h.message_id] if n.kind == "crisis"]
        if h.channel == "wecom":
            assert not crisis and "初二学生A" not in h.text
            continue
        if not crisis:
            continue
        assert h.at.replace(second=0, microsecond=0) == crisis[0].created_at.replace(second=0, microsecond=0)
        if _step(crisis[0]) == "crisis_notify":
            assert h.at - raised < timedelta(minutes=1)
        assert "初二学生A" not in h.text and "情绪低落" not in h.text and "倾听" not in h.text
        assert all("初二学生A" in n.body for n in crisis)  # the centre says which case
