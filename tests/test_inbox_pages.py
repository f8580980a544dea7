"""The inbox pages over HTTP: a person's own tasks, due and overdue marks, filters and paging, and no one else's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import LoadDirectory, SetPassword, StartInstance
from engine.org.profiles import generate
from engine.web import create_app
from tests.helpers import deploy_fixtures


@pytest.fixture
def teacher(huhua: Huhua) -> Iterator[FlaskClient]:
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    deploy_fixtures(huhua, "teacher_report.bpmn", "teacher_home_visit.form.json")
    huhua.execute(SetPassword("zhuhui-s001-bzr1", "correct horse", "admin"))
    app = create_app(huhua, {"SECRET_KEY": "pages", "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})
    with app.test_client() as client:
        client.post("/login", data={"username": "zhuhui-s001-bzr1", "password": "correct horse"})
        yield client


def _names(page: str) -> list[str]:
    return re.findall(r'class="name" href="/inbox/tasks/\d+">([^<]+)<', page)


def test_the_inbox_lists_ones_tasks_marks_the_overdue_and_filters(
        huhua: Huhua, teacher: FlaskClient, clock: VirtualClock) -> None:
    for school in ("zhuhui-s001", "zhuhui-s001", "zhuhui-s002"):
        huhua.execute(StartInstance("teacher_report", "admin", org_scope=school))
    page = teacher.get("/inbox").get_data(as_text=True)
    assert _names(page) == ["登记本周家访 · 珠晖区第一中学"] * 2  # titled with the unit's name; not zhuhui-s002's
    assert "剩 3 个工作日" in page and "已逾期" not in page
    clock.advance(timedelta(days=10))
    page = teacher.get("/inbox").get_data(as_text=True)
    assert "已逾期" in page
    assert _names(teacher.get("/inbox?overdue=1").get_data(as_text=True)) == ["登记本周家访 · 珠晖区第一中学"] * 2
    assert "没有符合筛选条件的任务" in teacher.get("/inbox?q=不存在的任务").get_data(as_text=True)
    assert _names(teacher.get("/inbox?process=teacher_report&unit=zhuhui-s001").get_data(as_text=True)) == \
        ["登记本周家访 · 珠晖区第一中学"] * 2
    assert teacher.get("/inbox?page=abc").status_code == 200


def test_the_task_page_says_how_long_is_left_as_the_inbox_does(
        huhua: Huhua, teacher: FlaskClient, clock: VirtualClock) -> None:
    task = huhua.queries.instance(huhua.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001"))[
        "id"])["open_tasks"][0]["id"]
    due = datetime.fromisoformat(huhua.queries.task(task)["due_at"]).astimezone(BUSINESS_TZ)

    def badge() -> str:
        page = teacher.get(f"/inbox/tasks/{task}").get_data(as_text=True)
        found = re.findall(r'class="badge [a-z]+">([^<]+)<', page)
        assert found == re.findall(r'class="badge [a-z]+">([^<]+)<', teacher.get("/inbox").get_data(as_text=True))
        return found[0]

    assert badge() == "剩 3 个工作日"
    clock.set(due.replace(hour=9, minute=0))
    assert badge() == "今天到期"
    clock.set(due + timedelta(minutes=30))
    assert badge() == "今日已逾期"
    clock.set(due + timedelta(days=7))
    assert badge().startswith("已逾期 ") and badge().endswith(" 个工作日")


def test_pages_need_a_log_in_and_admin_pages_an_administrator(teacher: FlaskClient) -> None:
    assert teacher.get("/admin/").status_code == 403
    teacher.post("/logout")
    answer = teacher.get("/inbox")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_comments_on_a_task_are_kept_and_only_for_those_who_may_see_it(huhua: Huhua, teacher: FlaskClient) -> None:
    started = huhua.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001"))
    task = huhua.queries.instance(started["id"])["open_tasks"][0]["id"]
    added = teacher.post(f"/api/v1/tasks/{task}/comments", json={"body": "家长本周出差，下周补访"})
    assert added.status_code == 201
    assert [c["body"] for c in teacher.get(f"/api/v1/tasks/{task}/comments").json] == ["家长本周出差，下周补访"]
    assert teacher.post(f"/api/v1/tasks/{task}/comments", json={"body": ""}).status_code == 400
    assert "comment_added" in [e["kind"] for e in huhua.queries.instance(started["id"])["history"]]
    other = huhua.execute(StartInstance("teacher_report", "admin", org_scope="qidong-s001"))
    theirs = huhua.queries.instance(other["id"])["open_tasks"][0]["id"]
    assert teacher.post(f"/api/v1/tasks/{theirs}/comments", json={"body": "x"}).status_code == 404  # as if missing


def test_a_due_date_decades_away_does_not_break_the_page(huhua: Huhua, teacher: FlaskClient,
                                                         clock: VirtualClock) -> None:
    huhua.execute(StartInstance("teacher_report", "admin", org_scope="zhuhui-s001"))
    clock.advance(timedelta(days=365 * 30))  # the task is now thirty years overdue
    page = teacher.get("/inbox")
    assert page.status_code == 200 and "登记本周家访" in page.get_data(as_text=True)
