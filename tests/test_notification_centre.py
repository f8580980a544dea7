"""The in-app notification centre (issue 14): the bell's unread count on every page, the centre's list (one's own,
newest first, unread marked, bodies rendered safely), opening one (read, then its task), reading all, the API,
and each person's choices and the administrator's defaults — which notify() then follows: a teacher who unticks
邮件 for a kind gets no e-mail for it, and the quiet hours she sets move her deliveries."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import NotifyPeople, SetNotificationChoices, SetPassword, SetRoleNotificationDefaults
from engine.config import Settings
from engine.errors import Forbidden, InvalidInput
from engine.store import tables
from engine.web import create_app
from tests.conftest import PROJECT

TEACHER, COLLEAGUE = "zhuhui-s001-bzr1", "zhuhui-s001-bzr2"
PASSWORD = "correct horse"
#: The server's channels: e-mail, a WeCom robot for the teacher's school (none for DingTalk), an SMS gateway with a
#: template for overdue tasks and crises only. Nothing is sent here: these tests read the deliveries notify() plans.
NOTIFICATIONS_TOML = """
public_url = "http://127.0.0.1:8000"
quiet_hours = "22:00-07:00"
[email]
url = "smtp://127.0.0.1:2525"
[wecom]
url = "http://127.0.0.1:9/cgi-bin/webhook/send"
robots = { "zhuhui-s001" = "school-key" }
[sms]
url = "http://127.0.0.1:9/sms"
key = "k"
secret = "s"
templates = { task_overdue = "SMS_001", crisis = "SMS_002" }
"""


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The tests' settings, with the notification channels above set up."""
    path = tmp_path / "notifications.toml"
    path.write_text(NOTIFICATIONS_TOML, encoding="utf-8")
    return Settings(database_url=database_url, data_dir=tmp_path, processes_dir=PROJECT / "processes",
                    max_model_bytes=5 * 1024 * 1024, node_name="test", outbound_allow=("127.0.0.1",),
                    notifications_file=path)


@pytest.fixture
def office(demo: Huhua) -> Iterator[tuple[Huhua, Callable[..., FlaskClient]]]:
    """The demo with the teacher's e-mail and mobile on file (the directory's), and a way to log in as anyone."""
    with demo.services.database.engine.begin() as connection:
        connection.execute(update(tables.person).where(tables.person.c.id == TEACHER).values(
            email="weinaxiu@zhuhui-s001.example", phone="13800000001"))
    app = create_app(demo, {"SECRET_KEY": "centre", "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})

    def log_in(user: str, *, is_admin: bool = False) -> FlaskClient:
        demo.execute(SetPassword(user, PASSWORD, "admin", is_admin=is_admin))
        client = app.test_client()
        assert client.post("/login", data={"username": user, "password": PASSWORD}).status_code == 302
        return client

    yield demo, log_in


def _tell(huhua: Huhua, person: str, subject: str, *, kind: str = "message", body: str = "请及时办理。",
          link: str | None = None) -> int:
    told = huhua.execute(NotifyPeople("admin", kind, subject, body, (person,), link=link))
    return int(told["notifications"][person])


def _bell(page: str) -> str | None:
    found = re.search(r'<span id="bell-count">([^<]*)</span>', page)
    return found.group(1) if found else None


def _deliveries(huhua: Huhua, notification_id: int) -> dict[str, datetime]:
    """channel → when the delivery carrying the notification is due (Beijing time)."""
    d, item = tables.notification_delivery, tables.notification_delivery_item
    with huhua.services.database.engine.connect() as connection:
        rows = connection.execute(select(d.c.channel, d.c.due_at).join(item, item.c.delivery_id == d.c.id)
                                  .where(item.c.notification_id == notification_id)).all()
    return {row.channel: row.due_at.astimezone(BUSINESS_TZ) for row in rows}


def test_the_centre_lists_ones_own_newest_first_with_the_unread_marked_and_bodies_rendered_safely(
        office: tuple[Huhua, Callable[..., FlaskClient]]) -> None:
    huhua, log_in = office
    client = log_in(TEACHER)
    assert _bell(client.get("/inbox").get_data(as_text=True)) is None  # nothing unread: no count on the bell
    _tell(huhua, TEACHER, "本周家访登记", kind="task_offered")
    _tell(huhua, COLLEAGUE, "同事的通知")
    _tell(huhua, TEACHER, "请查看整改要求", kind="task_returned", body=(
        "**请修改**<script>alert(1)</script> [任务](/inbox/tasks/7) [说明](https://jyj.example.cn/a) "
        "[危险](javascript:alert(1)) <img src=x onerror=alert(1)>"))
    page = client.get("/notifications").get_data(as_text=True)
    subjects = re.findall(r'<button type="submit" class="subject">([^<]*)</button>', page)
    assert subjects == ["请查看整改要求", "本周家访登记"]  # newest first, only her own
    assert _bell(page) == "2" and page.count('class="badge unread-mark"') == 2
    assert "任务被退回修改 · 2026-03-02 08:30" in page and "新的待认领任务 · 2026-03-02 08:30" in page
    assert "<strong>请修改</strong>&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert '<a href="/inbox/tasks/7">任务</a>' in page
    assert '<a href="https://jyj.example.cn/a" rel="noopener noreferrer nofollow">说明</a>' in page
    assert "[危险](javascript:alert(1))" in page and 'href="javascript' not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert _bell(client.get("/inbox").get_data(as_text=True)) == "2"  # every page's header carries the bell
    english = client.get("/notifications?lang=en").get_data(as_text=True)
    assert "Task returned for rework · 2026-03-02 08:30" in english and "Mark all as read" in english


def test_opening_one_marks_it_read_and_goes_to_its_task_and_anothers_is_not_found(
        office: tuple[Huhua, Callable[..., FlaskClient]]) -> None:
    huhua, log_in = office
    client = log_in(TEACHER)
    opened = _tell(huhua, TEACHER, "新任务：本周家访登记", kind="task_assigned", link="/inbox/tasks/42")
    _tell(huhua, TEACHER, "流程通知")
    theirs = _tell(huhua, COLLEAGUE, "同事的通知", link="/inbox/tasks/43")
    answer = client.post(f"/notifications/{opened}/open")
    assert answer.status_code == 302 and answer.headers["Location"] == "/inbox/tasks/42"
    assert _bell(client.get("/notifications").get_data(as_text=True)) == "1"
    unread = client.get("/notifications?show=unread").get_data(as_text=True)
    assert "流程通知" in unread and "新任务：本周家访登记" not in unread
    assert client.post(f"/notifications/{opened}/open").headers["Location"] == "/inbox/tasks/42"  # again: the same

    assert client.post(f"/notifications/{theirs}/open").status_code == 404  # another person's: as a missing one
    assert client.post("/notifications/9000000/open").status_code == 404
    assert client.post(f"/notifications/{2**64}/open").status_code == 404
    colleague = log_in(COLLEAGUE)
    assert _bell(colleague.get("/notifications").get_data(as_text=True)) == "1"  # hers is still unread

    done = client.post("/notifications/read-all")
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已将 1 条通知标为已读" in page and _bell(page) is None
    assert "没有未读通知" in client.get("/notifications?show=unread").get_data(as_text=True)


def test_a_link_that_leads_off_the_site_is_not_followed(office: tuple[Huhua, Callable[..., FlaskClient]]) -> None:
    huhua, log_in = office
    for link in ("//evil.example/x", "https://evil.example/x", "/\\evil.example"):
        with pytest.raises(InvalidInput) as refused:
            _tell(huhua, TEACHER, "外链", link=link)
        assert refused.value.problems[0].field == "link"
    client = log_in(TEACHER)
    plain = _tell(huhua, TEACHER, "没有链接的通知")
    assert client.post(f"/notifications/{plain}/open").headers["Location"] == "/notifications"


def test_opening_needs_the_pages_csrf_token(office: tuple[Huhua, Callable[..., FlaskClient]]) -> None:
    huhua, _log_in = office
    app = create_app(huhua, {"SECRET_KEY": "csrf", "TRUST_USER_HEADER": False})
    huhua.execute(SetPassword(TEACHER, PASSWORD, "admin"))
    notification = _tell(huhua, TEACHER, "新任务", link="/inbox/tasks/1")
    with app.test_client() as client:
        login = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
        client.post("/login", data={"username": TEACHER, "password": PASSWORD, "csrf_token": token})
        assert client.post(f"/notifications/{notification}/open").status_code == 400
        assert _bell(client.get("/notifications").get_data(as_text=True)) == "1"  # still unread
        page = client.get("/notifications").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        opened = client.post(f"/notifications/{notification}/open", data={"csrf_token": token})
        assert opened.status_code == 302 and opened.headers["Location"] == "/inbox/tasks/1"


def test_the_bell_shows_99_plus_beyond_99(office: tuple[Huhua, Callable[..., FlaskClient]]) -> None:
    huhua, log_in = office
    for number in range(99):
        _tell(huhua, TEACHER, f"第 {number + 1} 条")
    client = log_in(TEACHER)
    assert _bell(client.get("/inbox").get_data(as_text=True)) == "99"
    _tell(huhua, TEACHER, "第 100 条")
    page = client.get("/notifications").get_data(as_text=True)
    assert _bell(page) == "99+"
    assert page.count('class="subject"') == 20 and "第 1/5 页" in page
    assert re.findall(r'class="subject">([^<]*)<', page)[:2] == ["第 100 条", "第 99 条"]
    second = client.get("/notifications?page=5").get_data(as_text=True)
    assert re.findall(r'class="subject">([^<]*)<', second)[-1] == "第 1 条"


def test_the_api_lists_counts_and_marks_ones_own(office: tuple[Huhua, Callable[..., FlaskClient]]) -> None:
    huhua, log_in = office
    client = log_in(TEACHER)
    first = _tell(huhua, TEACHER, "第一条", link="/inbox/tasks/5")
    second = _tell(huhua, TEACHER, "第二条", body="**加粗**")
    theirs = _tell(huhua, COLLEAGUE, "同事的")
    assert client.get("/api/v1/notifications/unread-count").json == {"unread": 2, "more": False}
    listed = client.get("/api/v1/notifications")
    assert [n["id"] for n in listed.json] == [second, first] and listed.headers["X-Total-Count"] == "2"
    assert listed.json[0]["body"] == "**加粗**" and listed.json[0]["unread"] is True
    assert listed.json[1]["link"] == "/inbox/tasks/5" and listed.json[1]["kind"] == "message"
    paged = client.get("/api/v1/notifications?limit=1&offset=1")
    assert [n["id"] for n in paged.json] == [first] and paged.headers["X-Total-Count"] == "2"

    read = client.post(f"/api/v1/notifications/{first}/read")
    assert read.status_code == 200 and read.json == {"id": first, "read": 1, "link": "/inbox/tasks/5"}
    assert [n["id"] for n in client.get("/api/v1/notifications?unread=true").json] == [second]
    assert client.get("/api/v1/notifications/unread-count").json["unread"] == 1
    missing = client.post(f"/api/v1/notifications/{theirs}/read")
    assert missing.status_code == 404 and missing.json["message"] == f"通知 {theirs} 不存在"
    bad = client.get("/api/v1/notifications?unread=yes")
    assert bad.status_code == 400 and bad.json["message"] == "查询参数 unread 须为 true 或 false"
    assert bad.json["problems"] == [{"field": "unread", "message": "不是 true 或 false"}]
    assert client.post("/api/v1/notifications/read-all").json == {"read": 1}
    assert client.get("/api/v1/notifications/unread-count").json["unread"] == 0
    assert log_in(COLLEAGUE).get("/api/v1/notifications/unread-count").json["unread"] == 1


def _form(page: str) -> dict[str, list[str]]:
    """What the choices form sends as the page stands: each ticked box that is not disabled, the quiet hours."""
    sent: dict[str, list[str]] = {}
    for box in re.findall(r"<input type=\"checkbox\"[^>]*>", page):
        if " checked" in box and " disabled" not in box:
            name = re.search(r'name="([^"]+)"', box).group(1)  # type: ignore[union-attr]
            sent.setdefault(name, []).append(re.search(r'value="([^"]+)"', box).group(1))  # type: ignore[union-attr]
    mode = re.search(r'name="quiet_mode" value="(\w+)"[^>]* checked', page)
    sent["quiet_mode"] = [mode.group(1) if mode else "default"]
    return sent


def _row(page: str, kind: str) -> str:
    return re.search(rf'<tr data-kind="{kind}">(.*?)</tr>', page, re.S).group(1)  # type: ignore[union-attr]


def test_a_teacher_chooses_her_channels_and_quiet_hours_and_notify_follows_them(
        office: tuple[Huhua, Callable[..., FlaskClient]], clock: VirtualClock) -> None:
    huhua, log_in = office
    client = log_in(TEACHER)
    page = client.get("/account/notifications").get_data(as_text=True)
    assert "weinaxiu@zhuhui-s001.example" in page and "13800000001" in page  # on file, read only
    assert 'name="email"' not in page and 'name="phone"' not in page
    assigned = _row(page, "task_assigned")
    assert '<td class="source">系统默认</td>' in assigned
    assert re.search(r'value="dingtalk"[^>]* disabled title="您所在单位尚未配置群机器人"', assigned)
    assert re.search(r'value="sms"[^>]* disabled title="此类通知没有短信模板"', assigned)
    assert "<li>钉钉群：您所在单位尚未配置群机器人</li>" in page and "<li>短信：灰色的通知类型没有短信模板</li>" in page
    assert not re.search(r'value="sms"[^>]* disabled', _row(page, "task_overdue"))  # it has a template
    assert "紧急通知不受免打扰时段限制" in _row(page, "crisis")
    assert "紧急通知不受免打扰时段限制" not in assigned
    assert "使用系统默认（22:00 至次日 07:00）" in page

    before = _tell(huhua, TEACHER, "分派前", kind="task_assigned")
    assert set(_deliveries(huhua, before)) == {"email", "wecom"}  # no DingTalk robot at her school
    form = _form(page)
    form["channels-task_assigned"].remove("email")
    form.update(quiet_mode=["own"], quiet_from=["08:00"], quiet_until=["10:00"])
    saved = client.post("/account/notifications", data=form)
    assert saved.status_code == 302 and saved.headers["Location"] == "/account/notifications?saved=1"
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "通知设置已保存" in page and "我的选择" in _row(page, "task_assigned")
    assert "系统默认：在站内、邮件、企业微信群、钉钉群" in _row(page, "task_assigned")  # what 恢复默认 goes back to
    assert "我的选择" not in _row(page, "task_offered")  # untouched kinds keep following the defaults
    assert 'value="08:00"' in page and 'value="10:00"' in page

    after = _tell(huhua, TEACHER, "分派后", kind="task_assigned")
    delivered = _deliveries(huhua, after)
    assert set(delivered) == {"wecom"}  # no e-mail for this kind any more
    escalation = _deliveries(huhua, _tell(huhua, TEACHER, "督办", kind="escalation"))
    assert escalation["email"] == datetime(2026, 3, 2, 10, 0, tzinfo=BUSINESS_TZ)  # 08:30 is in her quiet hours
    # the school's group is not hers alone: its robot keeps the server's quiet hours (22:00-07:00), not hers
    assert delivered["wecom"] == datetime(2026, 3, 2, 8, 31, tzinfo=BUSINESS_TZ)
    crisis = _deliveries(huhua, _tell(huhua, TEACHER, "危机", kind="crisis"))
    assert crisis["email"] == clock.now().astimezone(BUSINESS_TZ)  # urgent: at once

    reset = client.post("/account/notifications", data={"reset": "task_assigned"})
    assert reset.status_code == 302
    page = client.get("/account/notifications").get_data(as_text=True)
    assert "系统默认" in _row(page, "task_assigned") and "我的选择" not in page
    assert set(_deliveries(huhua, _tell(huhua, TEACHER, "恢复后", kind="task_assigned"))) == {"email", "wecom"}

    client.post("/account/notifications", data={**_form(page), "quiet_mode": "none"})
    clock.set(datetime(2026, 3, 2, 23, 0, tzinfo=BUSINESS_TZ))
    at_night = _deliveries(huhua, _tell(huhua, TEACHER, "夜间", kind="escalation"))
    assert at_night["email"] == datetime(2026, 3, 2, 23, 0, tzinfo=BUSINESS_TZ)  # she wants no quiet hours
    assert at_night["wecom"] == datetime(2026, 3, 3, 7, 1, tzinfo=BUSINESS_TZ)  # but her colleagues in the group do
    client.post("/account/notifications", data={**_form(page), "quiet_mode": "default"})
    clock.advance(timedelta(minutes=5))
    server_default = _deliveries(huhua, _tell(huhua, TEACHER, "夜间二", kind="escalation"))
    assert server_default["email"] == datetime(2026, 3, 3, 7, 0, tzinfo=BUSINESS_TZ)


def test_a_bad_choice_is_refused_in_chinese_naming_the_field_and_nothing_is_saved(
        office: tuple[Huhua, Callable[..., FlaskClient]]) -> None:
    huhua, log_in = office
    client = log_in(TEACHER)
    form = _form(client.get("/account/notifications").get_data(as_text=True))
    form["channels-task_assigned"].remove("email")
    refused = client.post("/account/notifications", data={**form, "quiet_mode": "own", "quiet_from": "25:00",
                                                          "quiet_until": "07:00"})
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "免打扰时段：“25:00-07:00”不是两个时刻（如 22:00-07:00）" in page
    assert 'value="25:00"' in page  # what she typed, to correct
    english = client.post("/account/notifications?lang=en", data={**form, "quiet_mode": "own", "quiet_from": "9:00",
                                                                 "quiet_until": "09:00"})
    assert english.status_code == 400
    assert "quiet hours: from and until are both 09:00; choose no quiet hours instead" in english.get_data(as_text=True)
    page = client.get("/account/notifications?lang=zh_Hans_CN").get_data(as_text=True)
    assert "我的选择" not in page and "使用系统默认" in page
    assert set(_deliveries(huhua, _tell(huhua, TEACHER, "仍按默认", kind="task_assigned"))) == {"email", "wecom"}

    with pytest.raises(InvalidInput) as unknown:
        huhua.execute(SetNotificationChoices(TEACHER, {"task_assigned": ["inbox", "fax"]}))
    assert unknown.value.problems[0].field == "choices.task_assigned"
    assert "unknown channel fax" in unknown.value.message
    with pytest.raises(InvalidInput) as kind:
        huhua.execute(SetNotificationChoices(TEACHER, {"gossip": ["inbox"]}))
    assert kind.value.problems[0].field == "choices.gossip"
    with pytest.raises(InvalidInput) as text:
        huhua.execute(SetNotificationChoices(TEACHER, {"task_assigned": "inbox"}))
    assert text.value.problems[0].field == "choices.task_assigned"

    # a crisis cannot be switched off, nor sent to a group; the page says so, naming the kind
    form = _form(client.get("/account/notifications").get_data(as_text=True))
    assert re.search(r'value="wecom"[^>]* disabled title="涉及学生个案的紧急通知不发到群"', _row(
        client.get("/account/notifications").get_data(as_text=True), "crisis"))
    off = client.post("/account/notifications", data={**form, "channels-crisis": []})
    assert off.status_code == 400
    assert "危机个案紧急通知不能关闭：须保留站内通知，并至少保留邮件或短信之一" in off.get_data(as_text=True)
    for channels in ([], ["email", "sms"], ["inbox"], ["inbox", "email", "wecom"]):
        with pytest.raises(InvalidInput) as crisis:
            huhua.execute(SetNotificationChoices(TEACHER, {"crisis": channels}))
        assert crisis.value.problems[0].field == "choices.crisis"
    with pytest.raises(InvalidInput) as by_role:
        huhua.execute(SetRoleNotificationDefaults("admin", "class_teacher", {"crisis": ["inbox", "dingtalk"]}))
    assert by_role.value.problems[0].field == "defaults.crisis" and "never sent to a group" in by_role.value.message
    huhua.execute(SetNotificationChoices(TEACHER, {"crisis": ["inbox", "sms"]}))  # one personal channel will do
    assert set(_deliveries(huhua, _tell(huhua, TEACHER, "危机", kind="crisis"))) == {"sms"}


def test_the_administrator_sets_a_roles_defaults_and_its_holders_follow_them(
        office: tuple[Huhua, Callable[..., FlaskClient]]) -> None:
    huhua, log_in = office
    admin = log_in("admin", is_admin=True)
    page = admin.get("/admin/notifications/defaults?role=class_teacher").get_data(as_text=True)
    assert "“班主任”的默认渠道" in page and 'data-role="principal"' in page
    assert re.search(r'<tr class="current" data-role="class_teacher">', page)
    form = {"role": "class_teacher", **{k: v for k, v in _form(page).items() if k.startswith("channels-")}}
    form["channels-document_issued"] = ["inbox", "wecom"]  # instead of 在站内、邮件
    saved = admin.post("/admin/notifications/defaults", data=form)
    assert saved.status_code == 302
    page = admin.get(saved.headers["Location"]).get_data(as_text=True)
    assert "已保存“班主任”的默认渠道" in page
    row = re.search(r'data-role="class_teacher">(.*?)</tr>', page, re.S).group(1)  # type: ignore[union-attr]
    assert row.count('class="set"') == 1 and '<td class="set">在站内、企业微信群</td>' in row

    teacher = log_in(TEACHER)
    mine = teacher.get("/account/notifications").get_data(as_text=True)
    assert "角色默认（班主任）" in _row(mine, "document_issued")
    assert set(_deliveries(huhua, _tell(huhua, TEACHER, "公文", kind="document_issued"))) == {"wecom"}
    principal = "zhuhui-s001-xz"  # another role keeps the kind's default
    assert "wecom" not in _deliveries(huhua, _tell(huhua, principal, "公文", kind="document_issued"))

    refused = admin.post("/admin/notifications/defaults", data={"role": "janitor"})
    assert refused.status_code == 400 and "没有“janitor”这个角色" in refused.get_data(as_text=True)
    assert admin.post("/admin/notifications/defaults", data={"role": "class_teacher", "reset": "*"}).status_code == 302
    assert "角色默认" not in teacher.get("/account/notifications").get_data(as_text=True)
    with pytest.raises(Forbidden):
        huhua.execute(SetRoleNotificationDefaults(TEACHER, "class_teacher", {"task_offered": ["inbox"]}))
    assert teacher.get("/admin/notifications/defaults").status_code == 403
