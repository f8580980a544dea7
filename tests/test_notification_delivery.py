"""Notifications leave the app: e-mail over SMTP, WeCom and DingTalk group robots and an SMS gateway, each a
real server on 127.0.0.1 that checks what it gets as the provider documents; failures are recorded and retried
with backoff; administrators see every delivery and replay one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from engine.bootstrap import Huhua
from engine.clock import VirtualClock
from engine.commands import NotifyPeople, ReplayDelivery, SendNotice, SetPersonContact
from engine.config import Settings
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.store import tables
from tests.conftest import PROJECT
from tests.helpers import served_client, token_headers
from tests.notification_receivers import certificate, dingtalk_robot, sms_gateway, smtp_server, wecom_robot
from tests.notification_setup import SCHOOL, configured, load_school, mobile
from tests.receiver import Received
from workers.job_worker import run_due_jobs

Engine = Callable[[str], Huhua]


@pytest.fixture
def engine_with(settings: Settings, clock: VirtualClock, tmp_path: Path) -> Iterator[Engine]:
    """Engines on the test's database, each configured by the notifications.toml given."""
    made: list[Huhua] = []

    def make(toml: str) -> Huhua:
        made.append(configured(settings, clock, tmp_path, toml))
        return made[-1]

    yield make
    for huhua in made:
        huhua.close()


def _deliveries(huhua: Huhua, **filters: str) -> list[dict]:
    return huhua.queries.notification_deliveries(**filters)


def _plain(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]


def test_a_notice_e_mail_arrives_over_starttls_with_login_in_chinese_with_its_link(
        engine_with: Engine, tmp_path: Path) -> None:
    cert, _key = certificate(tmp_path)
    with smtp_server(tmp_path, security="starttls", users={"huhua": "秘密-pass"}) as box:
        huhua = engine_with(f"""
public_url = "https://huhua.edu.example.cn"
[email]
url = "smtp://huhua:%E7%A7%98%E5%AF%86-pass@{box.host}:{box.port}"
sender = "心育护花 <noreply@edu.example.cn>"
ca_file = "{cert}"
""")
        load_school(huhua, 2)
        told = huhua.execute(SendNotice("admin", ("t001",), "关于<开展>心理健康月的通知",
                                        "请各位班主任\n**按时**填报，见[填报说明](https://huhua.edu.example.cn/help)。",
                                        "/inbox", ("email",)))
        assert told["notifications"] == 1
        assert run_due_jobs(huhua) == 1
    [message] = box.messages
    assert box.logins == [("huhua", True)]
    assert message["Subject"] == "【心育护花】关于<开展>心理健康月的通知"  # decoded from RFC 2047
    assert message["To"] == "t001@school.example.cn"
    text = _plain(message)
    assert "https://huhua.edu.example.cn/inbox" in text
    assert "请各位班主任\n按时填报，见填报说明 (https://huhua.edu.example.cn/help)。" in text  # no raw markdown
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "关于&lt;开展&gt;心理健康月的通知" in html and 'href="https://huhua.edu.example.cn/inbox"' in html
    assert "<strong>按时</strong>" in html and '<a href="https://huhua.edu.example.cn/help"' in html
    assert "**" not in text + html
    [delivery] = _deliveries(huhua)
    assert message["Message-ID"].startswith(f"<{delivery['message_id']}@")
    assert (delivery["state"], delivery["attempts"], delivery["channel"]) == ("sent", 1, "email")
    assert "250" in delivery["answer"] and delivery["sent_at"]


def test_a_wrong_smtp_password_is_recorded_and_retried_until_the_last_attempt(
        engine_with: Engine, tmp_path: Path, clock: VirtualClock) -> None:
    cert, _key = certificate(tmp_path)
    with smtp_server(tmp_path, security="ssl", users={"huhua": "right"}) as box:
        huhua = engine_with(f'[email]\nurl = "smtps://huhua:wrong@{box.host}:{box.port}"\nca_file = "{cert}"\n')
        load_school(huhua, 1)
        huhua.execute(SendNotice("admin", ("t001",), "测试", channels=("email",)))
        run_due_jobs(huhua)
        [delivery] = _deliveries(huhua)
        assert (delivery["state"], delivery["attempts"]) == ("pending", 1)
        assert "refused the login of 'huhua'" in delivery["last_error"] and "535" in delivery["answer"]
        first_due = datetime.fromisoformat(delivery["due_at"])
        assert first_due > clock.now()  # retried later, not at once
        for _ in range(10):
            clock.advance(timedelta(minutes=1))
            run_due_jobs(huhua)
        [delivery] = _deliveries(huhua)
        assert delivery["state"] == "pending"  # ten minutes of refusals (an outage, a rate limit): still trying
        waits = []
        while delivery["state"] == "pending":
            due = datetime.fromisoformat(delivery["due_at"])
            waits.append(due - clock.now())
            clock.set(due)
            run_due_jobs(huhua)
            [delivery] = _deliveries(huhua)
        assert (delivery["state"], delivery["attempts"]) == ("failed", 12)
        assert waits == sorted(waits) and waits[-1] == timedelta(hours=3)  # growing to hours, then capped
        assert sum(waits, timedelta()) > timedelta(hours=10)
        assert box.messages == [] and len(box.logins) >= 12 and not any(ok for _, ok in box.logins)  # smtplib
        # tries each mechanism the server offers (PLAIN, LOGIN) at every attempt

        right = engine_with(f'[email]\nurl = "smtps://huhua:right@{box.host}:{box.port}"\nca_file = "{cert}"\n')
        right.execute(ReplayDelivery(delivery["id"], "admin"))
        run_due_jobs(right)
    [message] = box.messages
    [replayed] = _deliveries(right)
    assert replayed["state"] == "sent" and message["Message-ID"].startswith(f"<{delivery['message_id']}@")


def test_dingtalk_refuses_a_wrong_signature_the_engine_retries_with_backoff_and_the_right_secret_gets_through(
        engine_with: Engine, clock: VirtualClock) -> None:
    with dingtalk_robot("tok-s1", "SECright") as robot:
        wrong = engine_with(f'[dingtalk]\nurl = "{robot.url}/robot/send"\n[dingtalk.robots.{SCHOOL}]\n'
                            'token = "tok-s1"\nsecret = "SECwrong"\n')
        load_school(wrong, 3)
        wrong.execute(SendNotice("admin", ("t001", "t002"), "请于周五前提交自查表", link="/tasks/7",
                                 channels=("dingtalk",)))
        clock.advance(timedelta(minutes=1))  # robots take a unit's notices of a minute in one message
        run_due_jobs(wrong)
        [refused] = _deliveries(wrong)
        assert (refused["state"], refused["attempts"]) == ("pending", 1)
        assert "errcode 310000" in refused["last_error"] and "sign not match" in refused["answer"]
        assert datetime.fromisoformat(refused["due_at"]) > clock.now()
        clock.advance(timedelta(seconds=30))
        run_due_jobs(wrong)
        assert _deliveries(wrong)[0]["attempts"] == 2  # refused again, still retried
        assert datetime.fromisoformat(_deliveries(wrong)[0]["due_at"]) - clock.now() > timedelta(seconds=30)

        right = engine_with(f'[dingtalk]\nurl = "{robot.url}/robot/send"\n[dingtalk.robots.{SCHOOL}]\n'
                            'token = "tok-s1"\nsecret = "SECright"\n')
        clock.advance(timedelta(minutes=1))
        run_due_jobs(right)
    [sent] = _deliveries(right)
    assert (sent["state"], sent["attempts"]) == ("sent", 3) and sent["last_error"] is None
    assert len(robot.refused) == 2 and len(robot.accepted) == 1
    message = robot.accepted[0].json()
    assert message["at"]["atMobiles"] == [mobile("t001"), mobile("t002")]
    assert f"@{mobile('t001')}" in message["markdown"]["text"] and "请于周五前提交自查表" in message["markdown"]["text"]
    assert "/tasks/7" in message["markdown"]["text"]
    assert {r.headers["X-Huhua-Message-Id"] for r in robot.requests} == {sent["message_id"]}


def test_forty_notices_to_a_school_reach_its_wecom_group_as_one_message_mentioning_everyone(
        engine_with: Engine, clock: VirtualClock) -> None:
    with wecom_robot("key-s1") as robot:
        huhua = engine_with(f'[wecom]\nurl = "{robot.url}/cgi-bin/webhook/send"\n[wecom.robots]\n{SCHOOL} = "key-s1"\n')
        people = load_school(huhua, 40)
        huhua.execute(SetPersonContact("t040", "admin", phone="0734-8123456"))  # an office landline: no @
        with served_client(huhua) as client:
            answer = client.post("/api/v1/notifications", headers=token_headers(huhua, "admin"), json={
                "recipients": [f"class_teacher@{SCHOOL}"], "subject": "心理健康月活动安排", "link": "/inbox"})
            assert answer.status_code == 201, answer.json
            assert answer.json["notifications"] == 40 and len(answer.json["deliveries"]) == 1
            clock.advance(timedelta(minutes=1))
            run_due_jobs(huhua)
            listed = client.get("/api/v1/notification-deliveries?channel=wecom",
                                headers=token_headers(huhua, "admin")).json
    [request] = robot.requests
    message = request.json()
    assert message["msgtype"] == "text"
    assert message["text"]["mentioned_mobile_list"] == [mobile(p) for p in people[:-1]]
    assert message["text"]["content"].count("心理健康月活动安排") == 1  # one line for the same notice to all
    assert "http://127.0.0.1:8000/inbox" in message["text"]["content"]
    [delivery] = listed
    assert delivery["state"] == "sent" and len(delivery["notifications"]) == 40 and delivery["target"] == SCHOOL


def test_the_sms_gateway_gets_the_template_call_signed_and_the_list_masks_the_number(
        engine_with: Engine) -> None:
    with sms_gateway("AK-huhua", "sms-secret-123") as gateway:
        huhua = engine_with(f"""
[sms]
url = "{gateway.url}/sms/send"
key = "AK-huhua"
secret = "sms-secret-123"
sign = "心育护花"
[sms.templates]
message = "SMS_100200"
""")
        load_school(huhua, 2)
        huhua.execute(SetPersonContact("t002", "admin", phone="(0734) 8123456"))  # a landline gets no SMS
        huhua.execute(SendNotice("admin", ("t001", "t002"), "明天上午九点召开班主任会议", link="/inbox",
                                 channels=("sms",)))
        run_due_jobs(huhua)
        [delivery] = _deliveries(huhua)
    [call] = gateway.accepted
    body = call.json()
    assert body["template_id"] == "SMS_100200" and body["phone"] == mobile("t001") and body["sign_name"] == "心育护花"
    assert body["template_params"] == {"name": "老师001", "kind": "流程通知", "title": "明天上午九点召开班主任会议",
                                       "link": "http://127.0.0.1:8000/inbox"}
    assert body["out_id"] == delivery["message_id"] == call.headers["X-Huhua-Message-Id"]
    assert delivery["state"] == "sent" and delivery["target"] == "139****0001"


def test_a_wrongly_signed_sms_is_refused_by_the_gateway_and_recorded(engine_with: Engine) -> None:
    with sms_gateway("AK-huhua", "the-real-secret") as gateway:
        huhua = engine_with(f'[sms]\nurl = "{gateway.url}/sms/send"\nkey = "AK-huhua"\nsecret = "not-it"\n'
                            '[sms.templates]\ndefault = "SMS_1"\n')
        load_school(huhua, 1)
        huhua.execute(SendNotice("admin", ("t001",), "测试", channels=("sms",)))
        run_due_jobs(huhua)
    [delivery] = _deliveries(huhua)
    assert gateway.accepted == [] and len(gateway.refused) == 1
    assert delivery["state"] == "pending" and "HTTP 403" in delivery["last_error"]
    assert "SignatureDoesNotMatch" in delivery["answer"]


def test_e_mail_over_the_per_minute_limit_waits_for_the_next_minute_and_none_is_dropped(
        engine_with: Engine, tmp_path: Path, clock: VirtualClock) -> None:
    cert, _key = certificate(tmp_path)
    with smtp_server(tmp_path, security="starttls", users={"u": "p"}) as box:
        huhua = engine_with(f'[email]\nurl = "smtp://u:p@{box.host}:{box.port}"\nca_file = "{cert}"\nper_minute = 2\n')
        load_school(huhua, 5)
        huhua.execute(SendNotice("admin", ("class_teacher@s1",), "五位老师", channels=("email",)))
        run_due_jobs(huhua)
        assert len(box.messages) == 2
        assert {d["state"] for d in _deliveries(huhua, state="pending")} == {"pending"}
        assert all(d["attempts"] == 0 for d in _deliveries(huhua, state="pending"))  # deferred, not failed
        for _ in range(3):
            clock.advance(timedelta(seconds=61))
            run_due_jobs(huhua)
    assert sorted(str(m["To"]) for m in box.messages) == [f"t00{n}@school.example.cn" for n in range(1, 6)]


def test_only_the_administrator_sends_notices_and_replays_and_bad_input_names_its_field(
        engine_with: Engine) -> None:
    with wecom_robot("k") as robot:
        huhua = engine_with(f'[wecom]\nurl = "{robot.url}/send"\n[wecom.robots]\n{SCHOOL} = "k"\n')
        load_school(huhua, 2)
        with pytest.raises(Forbidden):
            huhua.execute(SendNotice("t001", ("t002",), "我也想发"))
        for recipients, field in ((("nobody",), "recipients"), (("principal@s1",), "recipients"), ((), "recipients")):
            with pytest.raises(InvalidInput) as refused:
                huhua.execute(SendNotice("admin", recipients, "标题"))
            assert refused.value.problems[0].field == field
        with pytest.raises(InvalidInput) as refused:
            huhua.execute(SendNotice("admin", ("t001",), "标题", link="https://evil.example.com/"))
        assert refused.value.problems[0].field == "link"
        told = huhua.execute(SendNotice("admin", ("t001",), "标题"))
        with pytest.raises(Conflict):  # still pending: nothing to replay
            huhua.execute(ReplayDelivery(told["deliveries"][0], "admin"))
        with served_client(huhua) as client:
            teacher = token_headers(huhua, "t001")
            assert client.get("/api/v1/notification-deliveries", headers=teacher).status_code in (403, 404)
            assert client.post("/api/v1/notifications", headers=teacher,
                               json={"recipients": ["t002"], "subject": "x"}).status_code in (403, 404)
            bad = client.post("/api/v1/notifications", headers=token_headers(huhua, "admin"),
                              json={"recipients": "t001", "subject": "x"})
            assert bad.status_code == 400 and bad.json["problems"][0]["field"] == "recipients"
            bad = client.get("/api/v1/notification-deliveries?state=lost", headers=token_headers(huhua, "admin"))
            assert bad.status_code == 400 and bad.json["problems"][0]["field"] == "state"


def _worker(settings: Settings, toml: Path, name: str) -> subprocess.Popen:
    env = {**os.environ, "HUHUA_DATABASE_URL": settings.database_url, "HUHUA_DATA_DIR": str(settings.data_dir),
           "HUHUA_NOTIFICATIONS": str(toml), "HUHUA_OUTBOUND_ALLOW": "127.0.0.1", "PYTHONPATH": str(PROJECT)}
    return subprocess.Popen([sys.executable, "-m", "engine.cli", "worker", "--name", name, "--batch", "10",
                             "--lease", "3", "--poll", "0.1"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_worker_killed_between_sending_and_recording_is_retried_and_the_receiver_dedupes_by_message_id(
        engine_with: Engine, settings: Settings, clock: VirtualClock, tmp_path: Path) -> None:
    workers: list[subprocess.Popen] = []

    def kill_the_first_sender(_request: Received) -> None:
        if len(robot.requests) == 1:  # the message arrived; the worker dies before it can record that
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(10)

    with wecom_robot("key-s1", on_request=kill_the_first_sender) as robot:
        # the workers run on the wall clock: no quiet hours or rest days, or at night they would rightly wait
        huhua = engine_with(f'quiet_hours = ""\nhold_on_rest_days = false\n[wecom]\nurl = "{robot.url}/send"\n'
                            f'[wecom.robots]\n{SCHOOL} = "key-s1"\n')
        load_school(huhua, 3)
        huhua.execute(SendNotice("admin", ("class_teacher@s1",), "请查收", channels=("wecom",)))
        toml = tmp_path / "notifications.toml"
        workers.append(_worker(settings, toml, "doomed"))
        deadline = time.monotonic() + 60
        while not robot.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert workers[0].wait(10) == -signal.SIGKILL
        assert _deliveries(huhua)[0]["state"] == "pending"  # sent, but never recorded
        workers.append(_worker(settings, toml, "survivor"))
        deadline = time.monotonic() + 60
        while _deliveries(huhua)[0]["state"] != "sent" and time.monotonic() < deadline:
            time.sleep(0.1)
        workers[1].send_signal(signal.SIGTERM)
        assert workers[1].wait(30) in (0, -signal.SIGTERM), workers[1].stderr.read() if workers[1].stderr else ""
    [delivery] = _deliveries(huhua)
    assert delivery["state"] == "sent"
    assert robot.message_ids == [delivery["message_id"]] * 2  # seen twice, the same message id both times
    assert len(robot.unique) == 1


def test_settings_name_the_field_they_refuse(tmp_path: Path) -> None:
    from engine.notifications.settings import load_notification_settings

    for toml, field in (('[email]\nurl = "smtp://h:25"\nper_minute = -1\n', "email.per_minute"),
                        ('[email]\nurl = "smtp://h:25"\nca_file = "missing.pem"\n', "email.ca_file"),
                        ('[sms]\nurl = "http://h/"\nkey = "k"\nsecret = "s"\nper_minute = "many"\n', "sms.per_minute"),
                        ('[wecom]\nurl = "http://h/"\nper_minute = 0\n[wecom.robots]\ns1 = "k"\n', "wecom.per_minute")):
        path = tmp_path / "notifications.toml"
        path.write_text(toml, encoding="utf-8")
        with pytest.raises(InvalidInput) as refused:
            load_notification_settings(path, environ={})
        assert refused.value.problems[0].field == field, toml
    shipped = load_notification_settings(PROJECT / "config" / "notifications.toml", environ={})
    assert (shipped.email, shipped.wecom, shipped.dingtalk, shipped.sms) == (None, None, None, None)
    path.write_text('[email]\nurl = "smtp://h:25"\nper_minute = 10\n', encoding="utf-8")
    assert load_notification_settings(path, environ={}).email.per_minute == 10  # type: ignore[union-attr]


def test_the_administrators_page_lists_deliveries_masked_replays_one_and_sends_a_notice(
        engine_with: Engine) -> None:
    from engine.commands import SetPassword
    from engine.web import create_app

    with sms_gateway("AK", "SK") as gateway:
        huhua = engine_with(f'[sms]\nurl = "{gateway.url}/sms/send"\nkey = "AK"\nsecret = "SK"\n'
                            '[sms.templates]\ndefault = "SMS_1"\n')
        load_school(huhua, 3)
        huhua.execute(SendNotice("admin", ("t001",), "家长会通知", channels=("sms",)))
        run_due_jobs(huhua)
        huhua.execute(SetPassword("admin", "correct horse", "admin"))
        app = create_app(huhua, {"SECRET_KEY": "pages", "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})
        with app.test_client() as client:
            client.post("/login", data={"username": "admin", "password": "correct horse"})
            page = client.get("/admin/notifications?channel=sms").get_data(as_text=True)
            [delivery] = _deliveries(huhua)
            assert "139****0001" in page and mobile("t001") not in page and "家长会通知 → 老师001" in page
            assert "换用新的消息编号" in page  # the page says what a replay does to the message id
            assert client.post(f"/admin/notifications/{delivery['id']}/replay").status_code == 302
            [replayed] = _deliveries(huhua)
            assert replayed["state"] == "pending" and replayed["message_id"] != delivery["message_id"]
            again = client.post(f"/admin/notifications/{delivery['id']}/replay")  # still pending: refused, said why
            assert again.status_code == 409 and "仍在等待发送" in again.get_data(as_text=True)
            run_due_jobs(huhua)
            refused = client.post("/admin/notifications/notice", data={"recipients": "nobody", "subject": "会议"})
            assert refused.status_code == 400 and "找不到在职人员 nobody" in refused.get_data(as_text=True)
            sent = client.post("/admin/notifications/notice", data={
                "recipients": "t002, t003", "subject": "会议", "channels": "sms"}, follow_redirects=True)
            assert "通知已发给 2 人" in sent.get_data(as_text=True)
            run_due_jobs(huhua)
    # a sent delivery replayed goes under a new message id: a receiver that dedupes shows it again
    assert gateway.message_ids.count(delivery["message_id"]) == 1
    assert gateway.message_ids.count(replayed["message_id"]) == 1
    with huhua.services.database.engine.connect() as connection:  # the audit trail keeps the old id
        [detail] = connection.execute(select(tables.event.c.detail).where(
            tables.event.c.kind == "notification_delivery_replayed")).scalars()
    assert (json.loads(detail)["previous_message_id"], json.loads(detail)["message_id"]) == (
        delivery["message_id"], replayed["message_id"])
    assert len(gateway.accepted) == 4 and {r.json()["phone"] for r in gateway.accepted} == {
        mobile("t001"), mobile("t002"), mobile("t003")}


def test_a_crisis_says_its_words_only_in_the_centre_e_mail_and_sms_are_neutral_and_no_group_hears_of_it(
        engine_with: Engine, tmp_path: Path, clock: VirtualClock) -> None:
    cert, _key = certificate(tmp_path)
    with smtp_server(tmp_path, security="starttls", users={"huhua": "pw"}) as box, \
            sms_gateway("AK", "sms-secret") as gateway, wecom_robot("key-s1") as robot:
        huhua = engine_with(f"""
public_url = "https://huhua.edu.example.cn"
[email]
url = "smtp://huhua:pw@{box.host}:{box.port}"
ca_file = "{cert}"
[sms]
url = "{gateway.url}/sms/send"
key = "AK"
secret = "sms-secret"
[sms.templates]
default = "SMS_1"
[wecom]
url = "{robot.url}/cgi-bin/webhook/send"
[wecom.robots]
{SCHOOL} = "key-s1"
""")
        load_school(huhua, 2)
        with huhua.services.database.engine.begin() as connection:  # a choice stored before the rules: group only
            connection.execute(insert(tables.notification_preference).values(
                person_id="t002", kind="crisis", channels="inbox,wecom"))
        told = huhua.execute(NotifyPeople("admin", "crisis", "危机个案：初二学生A", "个案 初二学生A 评估为 危机干预。",
                                          ("t001", "t002")))
        forced = huhua.execute(SendNotice("admin", ("t001",), "会议", channels=("wecom",)))  # a notice may go there
        clock.advance(timedelta(minutes=1))
        run_due_jobs(huhua)
        centre = huhua.queries.notifications.page("t001")
    # each by e-mail and SMS: t002's group-only choice gets the kind's personal channels and no group
    assert len(told["notifications"]) == 2 and len(told["deliveries"]) == 4
    assert sorted(d["channel"] for d in _deliveries(huhua)) == ["email", "email", "sms", "sms", "wecom"]
    assert len(box.messages) == 2 and len(gateway.accepted) == 2
    for message in box.messages:
        words = _plain(message) + message.get_body(("html",)).get_content() + message["Subject"]  # type: ignore[union-attr]
        assert "初二学生A" not in words and "危机干预" not in words  # neither the alias nor the level leaves
        assert "请登录系统查看" in words and "https://huhua.edu.example.cn/notifications" in words
    for call in gateway.accepted:
        sms = call.json()["template_params"]
        assert "初二学生A" not in str(sms) and sms["link"] == "https://huhua.edu.example.cn/notifications"
    [group] = robot.requests  # the notice, and nothing of the crisis
    assert "会议" in group.json()["text"]["content"] and "危机" not in str(group.json())
    assert forced["deliveries"]
    crisis = next(n for n in centre["notifications"] if n["kind"] == "crisis")
    assert "初二学生A" in crisis["subject"] + crisis["body"]  # the recipient reads it in the centre
