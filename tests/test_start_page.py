"""发起事项 over HTTP (issue 13, review M6): each person is offered what the start rules let them start, for the
units within their reach; a start from the page goes through the start command, leads to the person's first task
or to a confirmation naming whose task comes next, and is refused in Chinese when it is not theirs to start.
Heads of the city and the counties with nothing open land on the dashboard."""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Callable, Iterator

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ
from engine.commands import DeployModels, SetPassword
from engine.web import create_app
from tests.helpers import FIXTURES
from tests.test_languages import _english

#: One database: the start page follows the start rules, the same on any database; the engine's own tests
#: hold the store's contract with each database.
DATABASES = ("sqlite",)

COUNSELLOR, TEACHER, COUNTY, CITY, HEAD = "zhuhui-s001-xl1", "zhuhui-s001-bzr1", "zhuhui-zr", "hy-zr", "hy-jz"
LogIn = Callable[[str], FlaskClient]


@pytest.fixture
def log_in(demo: Huhua) -> Iterator[LogIn]:
    """A signed-in page client per person (the pages' CSRF check is the browser tests')."""
    app = create_app(demo, {"SECRET_KEY": "start", "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})
    clients: dict[str, FlaskClient] = {}

    def client(user: str) -> FlaskClient:
        if user not in clients:  # a password is hashed once a person
            demo.execute(SetPassword(user, "correct horse", "admin"))
            clients[user] = app.test_client()
            assert clients[user].post("/login", data={"username": user, "password": "correct horse"}
                                      ).status_code == 302
        return clients[user]

    yield client


def _groups(page: str) -> dict[str, list[str]]:
    """Each heading of the 发起事项 list and the process names under it."""
    found: dict[str, list[str]] = {}
    for title, body in re.findall(r'<h2 class="group-title">(.*?)</h2>(.*?)(?=<h2 class="group-title">|</main>)',
                                  page, re.S):
        found[title] = re.findall(r'<h3><a href="/start/\w+">([^<]+)</a></h3>', body)
    return found


def _session_cookie(client: FlaskClient) -> str:
    """What the session cookie says to whoever holds it (signed, not encrypted; compressed when it starts with .)."""
    value = client.get_cookie("session").value
    payload = value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return json.dumps(json.loads(zlib.decompress(raw) if value.startswith(".") else raw), ensure_ascii=False)


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<script.*?</script>|<[^>]+>", " ", page, flags=re.S))


def test_each_person_is_offered_what_they_may_start_where(demo: Huhua, log_in: LogIn) -> None:
    counsellor = log_in(COUNSELLOR).get("/start").get_data(as_text=True)
    assert _groups(counsellor) == {"学校事项": ["心理咨询预约登记"]}
    assert "发起单位：珠晖区第一中学" in counsellor and "登记学生或家长的心理咨询预约" in counsellor

    county = _groups(log_in(COUNTY).get("/start").get_data(as_text=True))
    assert set(county) == {"县市区事项", "学校事项"}
    assert {"减负督查", "督查考核部署", "班主任常规管理（学期）"} <= set(county["县市区事项"])
    assert set(county["学校事项"]) == {"督办学校一月一查", "督查考核"}
    chase = log_in(COUNTY).get("/start/monthly_check_chase").get_data(as_text=True)
    schools = re.findall(r'<option value="([\w-]+)">', chase)
    assert schools and all(school.startswith("zhuhui-") for school in schools)  # his county's schools only
    assert '"key": "chase_month"' in chase  # the start form, for form-js

    city = _groups(log_in(CITY).get("/start").get_data(as_text=True))
    assert next(iter(city)) == "全市事项"
    assert {"印发与组织（市级）", "班主任素养提升培训（市级）", "心理健康教育教师培训（市级）"} <= set(city["全市事项"])

    # in English once chosen: the page's own texts; process, unit names and descriptions are data
    data = tuple(name for p in demo.queries.startable(COUNTY)
                 for name in (p["name"], p["description"], *(u["name"] for u in p["units"])))
    county_client = log_in(COUNTY)
    _english(county_client.get("/start?lang=en").get_data(as_text=True), "Start work", "County",
             "May be started for", data=data)
    _english(county_client.get("/start/monthly_check_chase").get_data(as_text=True), "Start it for which unit",
             '"choose_unit": "Choose a unit"', data=data)
    county_client.get("/start?lang=zh_Hans_CN")

    teacher = log_in(TEACHER)
    page = teacher.get("/start").get_data(as_text=True)
    assert _groups(page) == {} and "您目前没有可以发起的事项" in page
    assert 'id="nav-start"' not in page and 'id="start-button"' not in teacher.get("/inbox").get_data(as_text=True)


def test_a_start_leads_to_the_starters_first_task_or_tells_whose_it_is(demo: Huhua, log_in: LogIn) -> None:
    counsellor = log_in(COUNSELLOR)
    inbox = counsellor.get("/inbox").get_data(as_text=True)
    assert "暂无待办事项" in inbox
    assert '可发起：<a href="/start/counselling_appointment">心理咨询预约登记</a>' in inbox
    answer = counsellor.post("/start/counselling_appointment", json={"org_scope": "zhuhui-s001"})
    assert answer.status_code == 200
    task = counsellor.get(answer.json["location"])
    assert task.status_code == 200 and "预约登记" in task.get_data(as_text=True)
    [registration] = demo.queries.tasks(user=COUNSELLOR)
    assert registration["assignee"] == COUNSELLOR  # claimed for her: the page opens on its form
    assert 'id="submit"' in task.get_data(as_text=True)

    county = log_in(COUNTY)
    refused = county.post("/start/monthly_check_chase", json={"org_scope": "zhuhui-s001",
                                                              "variables": {"chase_month": "2026-13"}})
    assert refused.status_code == 400 and refused.json["message"] == "表单中有 2 处需要修改，未发起。"
    assert {p["field"] for p in refused.json["problems"]} == {"chase_month", "chase_note"}
    elsewhere = county.post("/start/monthly_check_chase", json={
        "org_scope": "yanfeng-s001", "variables": {"chase_month": "2026-03", "chase_note": "请说明原因"}})
    assert elsewhere.status_code == 403
    assert elsewhere.json["message"] == "您不能为该单位发起“督办学校一月一查”，未发起。"
    assert demo.queries.instances(process_key="monthly_check_chase", limit=10) == []  # nothing half-started

    answer = county.post("/start/monthly_check_chase", json={
        "org_scope": "zhuhui-s001", "variables": {"chase_month": "2026-03", "chase_note": "请说明原因"}})
    assert answer.status_code == 200 and answer.json["location"] == "/start/started"
    confirmation = _text(county.get("/start/started").get_data(as_text=True))
    assert "已为珠晖区第一中学发起“督办学校一月一查”。" in confirmation
    officer = demo.queries.person_names(["zhuhui-s001-zr"])["zhuhui-s001-zr"]
    assert f"“回复一月一查督办”由 {officer} 办理，已进入其待办" in confirmation  # the only officer: hers at once
    assert officer not in _session_cookie(county)  # a signed cookie is readable: it keeps ids, names are looked up
    assert [t["name"] for t in demo.queries.tasks(user="zhuhui-s001-zr")] == ["回复一月一查督办"]

    # the city launches the year's 印发与组织: its first step, drafting the plan, is the city officer's own
    answer = log_in(CITY).post("/start/launch_programme", json={"org_scope": "hy"})
    [draft] = demo.queries.tasks(user=CITY)
    assert answer.json["location"] == f"/inbox/tasks/{draft['id']}" and draft["assignee"] == CITY
    assert draft["name"] == "起草实施方案与印发通知（含领导小组组成）"


def test_a_class_teacher_cannot_start_what_she_is_not_offered(demo: Huhua, log_in: LogIn) -> None:
    teacher = log_in(TEACHER)
    assert teacher.get("/start/counselling_appointment").status_code == 404
    refused = teacher.post("/start/counselling_appointment", json={"org_scope": "zhuhui-s001"})
    assert refused.status_code == 404 and refused.json["message"] == "找不到该事项，未发起。"  # as the page answers
    missing = teacher.post("/start/no_such_process", json={"org_scope": "zhuhui-s001"})
    assert missing.status_code == 404 and missing.json["message"] == "找不到该事项，未发起。"
    assert demo.queries.instances(process_key="counselling_appointment", limit=10) == []


def test_heads_with_nothing_open_land_on_the_dashboard_and_headers_name_the_page(log_in: LogIn) -> None:
    head = log_in(HEAD)
    assert head.get("/").headers["Location"] == "/admin/dashboard"
    for user in (COUNTY, TEACHER):
        assert log_in(user).get("/").headers["Location"] == "/inbox"
    assert "心育护花 · 看板" in head.get("/admin/dashboard").get_data(as_text=True)
    assert "心育护花 · 发起事项" in log_in(COUNTY).get("/start").get_data(as_text=True)



def test_a_malformed_start_is_refused_as_the_api_refuses_it(demo: Huhua, log_in: LogIn) -> None:
    """Too deep, a NUL or half a UTF-16 pair: a 400 naming what and where, not a 500; nothing is started."""
    county = log_in(COUNTY)
    deep = county.post("/start/monthly_check_chase", data="[" * 5000 + "]" * 5000,
                       content_type="application/json")
    assert deep.status_code == 400 and deep.json["message"].startswith("请求格式有误（")
    nul = county.post("/start/monthly_check_chase", json={"org_scope": "zhuhui-s001\x00"})
    assert nul.status_code == 400 and nul.json["problems"][0]["field"] == "org_scope"
    surrogate = county.post("/start/monthly_check_chase", data='{"org_scope": "zhuhui-s001", "variables": '
                            '{"chase_month": "2026-03", "chase_note": "\\ud800"}}', content_type="application/json")
    assert surrogate.status_code == 400 and surrogate.json["problems"][0]["field"] == "chase_note"
    assert county.post("/start/monthly_check_chase").status_code == 400
    assert demo.queries.instances(process_key="monthly_check_chase", limit=10) == []


def test_the_start_form_carries_each_date_fields_range_resolved(demo: Huhua, log_in: LogIn) -> None:
    """The browser compares ISO dates; a declared ``+1y`` reaches it as the date it means, as on the task page."""
    form = {"type": "default", "id": "dated_start", "schemaVersion": 16, "components": [
        {"type": "datetime", "key": "visit_on", "subtype": "date", "dateLabel": "走访日期",
         "properties": {"earliestDate": "today", "latestDate": "+1y"}}]}
    model = (FIXTURES / "review.bpmn").read_text().replace('value="review_start"', 'value="dated_start"')
    demo.execute(DeployModels(files=(("review.bpmn", model.encode()),
                                     ("dated_start.form.json", json.dumps(form).encode())), actor="admin"))
    page = log_in("admin").get("/start/review").get_data(as_text=True)
    today = demo.clock.now().astimezone(BUSINESS_TZ).date()
    resolved = {"earliestDate": today.isoformat(), "latestDate": today.replace(year=today.year + 1).isoformat()}
    assert f'"properties": {json.dumps(resolved)}' in page
