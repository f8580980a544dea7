"""Deliveries that hold up: long batches reach a group whole, concurrent commands share a robot's minute, nothing
is planned that cannot go, failures stay out of webhooks, the morning sweep never stops for good, a make-up
working day (调休) gets its sweep, and robot keys never show in an error."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import (
    AddWebhook,
    ClearWorkday,
    PlanNotificationSweep,
    RecordJobFailure,
    SendNotice,
    SetWorkday,
)
from engine.config import Settings
from engine.errors import InvalidInput
from engine.notifications.settings import load_notification_settings
from engine.outbound import OutboundPolicy, RefusedAddress
from engine.store import tables
from engine.store.models import Base
from tests.notification_receivers import dingtalk_robot, sms_gateway, wecom_robot
from tests.notification_setup import SCHOOL, configured, load_school, mobile
from workers.job_worker import run_due_jobs

Engine = Callable[..., Huhua]
_d, _di = tables.notification_delivery, tables.notification_delivery_item


@pytest.fixture
def engine_with(settings: Settings, clock: VirtualClock, tmp_path: Path) -> Iterator[Engine]:
    made: list[Huhua] = []

    def make(toml: str, own_clock: VirtualClock | None = None) -> Huhua:
        made.append(configured(settings, own_clock or clock, tmp_path, toml))
        return made[-1]

    yield make
    for huhua in made:
        huhua.close()


def _unsent_items(huhua: Huhua) -> list[int]:
    """Notifications carried by no delivery that went out."""
    with huhua.services.database.engine.connect() as connection:
        return list(connection.execute(select(_di.c.notification_id).join(_d, _d.c.id == _di.c.delivery_id)
                                       .where(_d.c.state != "sent")).scalars())


def _wecom(url: str) -> str:
    return f'[wecom]\nurl = "{url}/cgi-bin/webhook/send"\n[wecom.robots]\n{SCHOOL} = "key-s1"\n'


def test_forty_different_notices_of_one_minute_reach_the_wecom_group_whole_in_several_messages(
        engine_with: Engine, clock: VirtualClock) -> None:
    with wecom_robot("key-s1") as robot:
        huhua = engine_with(_wecom(robot.url))
        people = load_school(huhua, 40)
        subjects = [f"第{n:02d}项：请于本周五前在系统中完成本校心理健康月度自查表的填报与上传工作" for n in range(40)]
        for person, subject in zip(people, subjects, strict=True):
            huhua.execute(SendNotice("admin", (person,), subject, link=f"/tasks/{people.index(person) + 1}",
                                     channels=("wecom",)))
        clock.advance(timedelta(minutes=1))
        run_due_jobs(huhua)
    [delivery] = huhua.queries.notification_deliveries()
    assert delivery["state"] == "sent" and _unsent_items(huhua) == []
    texts = [request.json()["text"]["content"] for request in robot.accepted]
    assert len(texts) > 1 and all(len(t.encode()) <= 2048 for t in texts)  # each within WeCom's limit, none cut
    assert not any(t.endswith("…") for t in texts)
    assert all(sum(subject in t for t in texts) == 1 for subject in subjects)  # every line once, in order
    assert "第00项" in texts[0] and "第39项" in texts[-1]
    mentioned = [m for request in robot.accepted for m in request.json()["text"]["mentioned_mobile_list"]]
    assert sorted(mentioned) == sorted(mobile(p) for p in people)  # each message calls the people of its lines
    ids = [request.headers["X-Huhua-Message-Id"] for request in robot.accepted]
    assert ids == [f"{delivery['message_id']}-{n}" for n in range(1, len(ids) + 1)]  # stable, for dedupe


def test_a_batch_too_long_for_a_minute_ends_with_a_line_that_counts_the_rest_and_links_to_the_centre(
        engine_with: Engine, clock: VirtualClock) -> None:
    with dingtalk_robot("tok-s1", "SEC") as robot:
        huhua = engine_with(f'[dingtalk]\nurl = "{robot.url}/robot/send"\nper_minute = 8\n'
                            f'[dingtalk.robots.{SCHOOL}]\ntoken = "tok-s1"\nsecret = "SEC"\n')
        people = load_school(huhua, 150)
        subjects = [f"第{n:03d}项通知：" + "请认真阅读附件并按要求组织本校教师开展专题学习，" * 2 for n in range(150)]
        for person, subject in zip(people, subjects, strict=True):
            huhua.execute(SendNotice("admin", (person,), subject, channels=("dingtalk",)))
        clock.advance(timedelta(minutes=1))
        run_due_jobs(huhua)
    texts = [request.json()["markdown"]["text"] for request in robot.accepted]
    assert len(texts) == 2 and all(len(t.encode()) <= 5000 for t in texts)  # a quarter of per_minute = 8
    listed = [s for s in subjects if any(s in t for t in texts)]
    assert listed == subjects[:len(listed)] and len(listed) < 150
    assert f"另有 {150 - len(listed)} 条通知未在群内列出，请登录系统查看" in texts[-1]
    assert "http://127.0.0.1:8000/notifications" in texts[-1]
    at = [m for request in robot.accepted for m in request.json()["at"]["atMobiles"]]
    assert sorted(at) == sorted(mobile(p) for p in people)  # the people of the counted lines are still called
    assert _unsent_items(huhua) == []


def _lock_waiters(huhua: Huhua) -> int:
    with huhua.services.database.engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")).scalar_one())


def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, "the transactions never met"
        time.sleep(0.02)


def _in_thread(action: Callable[[], object], errors: list[BaseException]) -> threading.Thread:
    def run() -> None:
        try:
            action()
        except BaseException as err:  # reported by the test
            errors.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_commands_planning_one_schools_robot_minute_at_once_share_its_message(
        engine_with: Engine, clock: VirtualClock) -> None:
    with wecom_robot("key-s1") as robot:
        huhua = engine_with(_wecom(robot.url))
        load_school(huhua, 2)
        errors: list[BaseException] = []
        # the blocker holds the first command after it made the minute's delivery, before its job
        with huhua.services.database.engine.connect() as blocker, blocker.begin():
            blocker.execute(text("LOCK TABLE job IN EXCLUSIVE MODE"))
            first = _in_thread(lambda: huhua.execute(SendNotice("admin", ("t001",), "甲", channels=("wecom",))),
                               errors)
            _until(lambda: _lock_waiters(huhua) == 1)
            second = _in_thread(lambda: huhua.execute(SendNotice("admin", ("t002",), "乙", channels=("wecom",))),
                                errors)
            _until(lambda: _lock_waiters(huhua) == 2)  # the second meets the first one's batch key
        first.join(30)
        second.join(30)
        assert errors == []
        [delivery] = huhua.queries.notification_deliveries()
        assert len(delivery["notifications"]) == 2
        clock.advance(timedelta(minutes=1))
        run_due_jobs(huhua)
    [request] = robot.accepted
    assert request.json()["text"]["mentioned_mobile_list"] == [mobile("t001"), mobile("t002")]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_notification_joining_a_batch_while_a_worker_finishes_it_is_still_sent(
        engine_with: Engine, clock: VirtualClock) -> None:
    errors: list[BaseException] = []
    joined: list[threading.Thread] = []
    behind = VirtualClock(clock.now())  # a command that began before the minute turned: its now is stale

    with wecom_robot("key-s1", on_request=lambda _r: hold_a_join_open()) as robot:
        planner = engine_with(_wecom(robot.url), behind)
        load_school(planner, 2)
        worker = engine_with(_wecom(robot.url))
        with planner.services.database.engine.connect() as blocker:
            transaction = blocker.begin()

            def hold_a_join_open() -> None:
                if joined:
                    return
                # the join has found the pending batch and waits to add its notification to it
                blocker.execute(text("LOCK TABLE notification_delivery_item IN EXCLUSIVE MODE"))
                joined.append(_in_thread(lambda: planner.execute(SendNotice("admin", ("t002",), "乙",
                                                                            channels=("wecom",))), errors))
                _until(lambda: _lock_waiters(planner) == 1)

            planner.execute(SendNotice("admin", ("t001",), "甲", channels=("wecom",)))
            clock.advance(timedelta(minutes=1))
            sending = _in_thread(lambda: run_due_jobs(worker, max_rounds=1), errors)
            # the worker's finish meets the join (or, unguarded, marks the batch sent under it)
            _until(lambda: bool(joined) and (_lock_waiters(planner) == 2 or not sending.is_alive()))
            transaction.commit()
        sending.join(30)
        joined[0].join(30)
        assert errors == []
        for _ in range(3):
            clock.advance(timedelta(minutes=1))
            run_due_jobs(worker)
    assert _unsent_items(worker) == []
    told = [m for request in robot.accepted for m in request.json()["text"]["mentioned_mobile_list"]]
    assert sorted(told) == [mobile("t001"), mobile("t002")]


def test_sms_is_planned_only_for_kinds_with_a_template_and_an_urgent_kind_without_one_is_warned_of(
        engine_with: Engine, caplog: pytest.LogCaptureFixture) -> None:
    with sms_gateway("AK", "SK") as gateway, caplog.at_level(logging.WARNING, "huhua.notifications"):
        huhua = engine_with(f'[sms]\nurl = "{gateway.url}/sms/send"\nkey = "AK"\nsecret = "SK"\n'
                            '[sms.templates]\ntask_overdue = "SMS_9"\n')
        load_school(huhua, 1)
        told = huhua.execute(SendNotice("admin", ("t001",), "没有模板的通知", channels=("sms",)))
        run_due_jobs(huhua)
    assert told["notifications"] == 1 and told["deliveries"] == []  # in the centre only: no SMS bound to fail
    assert huhua.queries.notification_deliveries() == [] and gateway.requests == []
    assert any("urgent kind 'crisis'" in record.getMessage() for record in caplog.records)


def test_a_failing_delivery_tells_no_webhook_subscriber_the_recipients_address(
        engine_with: Engine, clock: VirtualClock) -> None:
    with sms_gateway("AK", "the-right-secret") as gateway:
        huhua = engine_with(f'[sms]\nurl = "{gateway.url}/sms/send"\nkey = "AK"\nsecret = "wrong"\n'
                            '[sms.templates]\ndefault = "SMS_1"\n')
        load_school(huhua, 1)
        huhua.execute(AddWebhook(gateway.url + "/hooks", "admin", "job_retry_scheduled,job_failed"))
        huhua.execute(SendNotice("admin", ("t001",), "通知", channels=("sms",)))
        run_due_jobs(huhua)
    assert len(gateway.refused) == 1
    with huhua.services.database.engine.connect() as connection:
        recorded = connection.execute(select(tables.event.c.detail).where(
            tables.event.c.kind == "job_retry_scheduled")).scalars().all()
        hooks = connection.execute(select(tables.job.c.payload).where(tables.job.c.kind == "webhook")).all()
    assert [json.loads(detail)["job_kind"] for detail in recorded] == ["notify_send"]  # in the audit trail
    assert hooks == []  # but not sent out


def test_a_sweep_that_keeps_failing_hands_over_to_the_next_morning(huhua: Huhua, clock: VirtualClock) -> None:
    clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=BUSINESS_TZ))  # a Monday, after the morning
    planned = huhua.execute(PlanNotificationSweep())
    clock.set(datetime(2026, 3, 3, 8, 0, tzinfo=BUSINESS_TZ))
    outcome: dict = {}
    while outcome.get("state") != "failed":  # the database away all morning, say
        outcome = huhua.execute(RecordJobFailure(planned["job_id"], "OperationalError: server closed the connection"))
    assert outcome["attempts"] > 5
    [waiting] = huhua.queries.jobs(kind="notify_sweep", state="pending")
    assert datetime.fromisoformat(waiting["due_at"]) == datetime(2026, 3, 4, 8, 0, tzinfo=BUSINESS_TZ)


def test_a_make_up_working_day_entered_after_the_sweep_was_planned_gets_its_morning(
        huhua: Huhua, clock: VirtualClock) -> None:
    clock.set(datetime(2026, 3, 6, 9, 0, tzinfo=BUSINESS_TZ))  # Friday, after the morning: next is Monday
    planned = huhua.execute(PlanNotificationSweep())
    assert datetime.fromisoformat(planned["due_at"]) == datetime(2026, 3, 9, 8, 0, tzinfo=BUSINESS_TZ)
    huhua.execute(SetWorkday("2026-03-07", True, "admin", "调休上班"))
    [waiting] = huhua.queries.jobs(kind="notify_sweep", state="pending")
    assert datetime.fromisoformat(waiting["due_at"]) == datetime(2026, 3, 7, 8, 0, tzinfo=BUSINESS_TZ)
    huhua.execute(ClearWorkday("2026-03-07", "admin"))  # withdrawn: the Saturday sweep just rests
    clock.set(datetime(2026, 3, 7, 8, 0, tzinfo=BUSINESS_TZ))
    run_due_jobs(huhua)
    [waiting] = huhua.queries.jobs(kind="notify_sweep", state="pending")
    assert datetime.fromisoformat(waiting["due_at"]) == datetime(2026, 3, 9, 8, 0, tzinfo=BUSINESS_TZ)


def test_robot_addresses_are_checked_at_load_and_no_error_shows_a_key(tmp_path: Path) -> None:
    path = tmp_path / "notifications.toml"
    for toml, field in (('[wecom]\nurl = "ftp://qyapi.example.cn/send"\n[wecom.robots]\ns1 = "KEY-1"\n', "wecom.url"),
                        ('[wecom]\nurl = "https://qyapi.example.cn/send?key=KEY-1"\n[wecom.robots]\ns1 = "KEY-1"\n',
                         "wecom.url"),
                        ('[dingtalk]\nurl = "https://oapi.example.cn:99999/robot/send"\n[dingtalk.robots]\n'
                         's1 = "TOKEN-1:SEC"\n', "dingtalk.url"),
                        ('hold_on_rest_days = "sometimes"\n', "hold_on_rest_days")):
        path.write_text(toml, encoding="utf-8")
        with pytest.raises(InvalidInput) as refused:
            load_notification_settings(path, environ={})
        assert refused.value.problems[0].field == field, toml
        assert "KEY-1" not in str(refused.value) and "TOKEN-1" not in str(refused.value)
    for url in ("http://robot.example.cn:99999/send?key=KEY-1", "ftp://robot.example.cn/send?access_token=KEY-1"):
        with pytest.raises(RefusedAddress) as refused_address:
            OutboundPolicy().target(url)
        assert "KEY-1" not in str(refused_address.value) and "robot.example.cn" in str(refused_address.value)


def test_holding_on_rest_days_is_read_as_written_and_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "notifications.toml"
    path.write_text('hold_on_rest_days = false\n', encoding="utf-8")
    assert load_notification_settings(path, environ={}).hold_on_rest_days is False
    path.write_text("", encoding="utf-8")
    assert load_notification_settings(path, environ={}).hold_on_rest_days is True
    assert load_notification_settings(path, environ={"HUHUA_HOLD_ON_REST_DAYS": "false"}).hold_on_rest_days is False
    assert load_notification_settings(path, environ={"HUHUA_HOLD_ON_REST_DAYS": "yes"}).hold_on_rest_days is True


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_notification_tables_as_migrated_are_as_the_models_say(huhua: Huhua) -> None:
    names = {"notification", "notification_delivery", "notification_delivery_item", "notification_preference",
             "notification_role_default", "notification_quiet_hours"}
    with huhua.services.database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = [d for d in compare_metadata(context, Base.metadata) if names & set(_tables_in(d))]
    assert differences == []


def _tables_in(difference: object) -> list[str]:
    """The table names an alembic difference (a tuple, or a list of tuples for column changes) mentions."""
    found: list[str] = []
    for part in difference if isinstance(difference, list) else [difference]:
        for value in part if isinstance(part, tuple) else ():
            name = getattr(value, "name", None) if hasattr(value, "columns") else value
            if isinstance(name, str):
                found.append(name)
            table = getattr(value, "table", None)
            if table is not None and isinstance(getattr(table, "name", None), str):
                found.append(table.name)
    return found
