"""Context in every task, over HTTP: a reviewer's form opens with exactly the process data it names (the plan
the county approves, the case an expert scores), a value sent back for a read-only field changes nothing, files
of earlier steps are linked on the task page and download for whoever may see the task (the expert gets the case
file uploaded at the school), and anyone else gets 404; on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from datetime import datetime

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import ENGINE, DeployModels, SetPassword, StartInstance
from engine.errors import InvalidModel
from engine.forms import parse_form
from engine.web import create_app
from tests.helpers import one_task_model
from tests.library.conftest import complete
from tests.library.test_counselling import COUNSELLOR, at, open_case, record, room
from tests.test_inbox import PDF
from workers.job_worker import run_due_jobs

SCHOOL = "zhuhui-s001"
PLAN = {"body_name": "“心育护花行动”工作领导小组", "first_responsible": "校长 李明", "officer_name": "王芳",
        "officer_phone": "0734-8123456", "plan_title": "珠晖区第一中学“心育护花行动”工作方案",
        "plan_content": "每月开展一次主题班会，心理咨询室午间开放。", "points_covered": "无"}
UNIT = {"id": SCHOOL, "name": "珠晖区第一中学"}


def _as(user: str) -> dict[str, str]:
    return {"X-Huhua-User": user}


@pytest.fixture
def client(demo: Huhua) -> FlaskClient:
    return create_app(demo, {"TESTING": True}).test_client()


def _open_task(demo: Huhua, instance_id: int, element_id: str) -> int:
    return next(t["id"] for t in demo.queries.tasks(instance_id=instance_id) if t["element_id"] == element_id)


def _upload(client: FlaskClient, task_id: int, user: str, name: str) -> int:
    answer = client.post(f"/api/v1/tasks/{task_id}/attachments", headers=_as(user),
                         data={"file": (io.BytesIO(PDF), name)}, content_type="multipart/form-data")
    assert answer.status_code == 201, answer.json
    return answer.json["id"]


def submitted_plan(demo: Huhua, client: FlaskClient) -> tuple[int, int, int]:
    """A school's plan, with its scan attached, approved by the principal: (instance, review task, attachment)."""
    instance = demo.execute(StartInstance("launch_school", "admin", org_scope=SCHOOL, origin=ENGINE, variables={
        "year": "2026", "notice_no": "衡教通〔2026〕3号", "notice": "通知全文", "unit": UNIT}))["id"]
    setup = _open_task(demo, instance, "launch_school_setup")
    scan = _upload(client, setup, f"{SCHOOL}-zr", "工作方案（盖章）.pdf")
    complete(demo, f"{SCHOOL}-zr", "launch_school_setup", PLAN, SCHOOL)
    complete(demo, f"{SCHOOL}-xz", "launch_school_approve", {"approve_result": "approved", "approve_opinion": "同意"})
    return instance, _open_task(demo, instance, "launch_school_review"), scan


def test_the_county_officer_sees_exactly_the_plan_and_cannot_change_it(demo: Huhua, client: FlaskClient) -> None:
    instance, review, scan = submitted_plan(demo, client)
    answer = client.get(f"/api/v1/tasks/{review}/form", headers=_as("zhuhui-zr"))
    assert answer.status_code == 200
    # the values the form names, nothing else (not the principal's opinion, the notice's text or the reminders)
    assert answer.json["data"] == {**PLAN, "unit": UNIT, "notice_no": "衡教通〔2026〕3号"}
    shown = next(c for c in answer.json["schema"]["components"] if c.get("type") == "group")["components"]
    assert all(c["readonly"] for c in shown)

    # a value sent back for a shown field is dropped: the plan stays as the school wrote it
    answer = client.post(f"/api/v1/tasks/{review}/complete", headers=_as("zhuhui-zr"), json={"data": {
        "review_result": "approved", "review_opinion": "同意", "plan_content": "改过的方案", "body_name": None}})
    assert answer.status_code == 200, answer.json
    data = demo.queries.instance(instance)["data"]
    assert (data["plan_content"], data["body_name"], data["review_result"]) == (
        PLAN["plan_content"], PLAN["body_name"], "approved")
    assert client.get(f"/api/v1/attachments/{scan}", headers=_as("zhuhui-zr")).status_code == 200


def test_whoever_may_not_see_the_task_gets_404_for_its_form_and_files(demo: Huhua, client: FlaskClient) -> None:
    _, review, scan = submitted_plan(demo, client)
    for outsider in ("qidong-zr", "zhuhui-s002-zr", "zhuhui-s001-bzr1"):
        assert client.get(f"/api/v1/tasks/{review}/form", headers=_as(outsider)).status_code == 404, outsider
        assert client.get(f"/api/v1/attachments/{scan}", headers=_as(outsider)).status_code == 404, outsider
    answer = client.post(f"/api/v1/tasks/{review}/complete", headers=_as("qidong-zr"),
                         json={"data": {"review_result": "approved"}})
    assert answer.status_code == 404


def test_the_task_page_links_the_files_of_earlier_steps_with_author_and_beijing_time(
        demo: Huhua, client: FlaskClient) -> None:
    _, review, scan = submitted_plan(demo, client)
    demo.execute(SetPassword("zhuhui-zr", "correct horse", "admin"))
    pages = create_app(demo, {"SECRET_KEY": "pages", "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})\
        .test_client()
    pages.post("/login", data={"username": "zhuhui-zr", "password": "correct horse"})
    page = pages.get(f"/inbox/tasks/{review}").get_data(as_text=True)
    assert f'href="/api/v1/attachments/{scan}"' in page and "工作方案（盖章）.pdf" in page
    assert "成立学校工作机构并报送工作方案" in page and "2026-03-02 08:30" in page  # its step, and Beijing time
    uploader = demo.queries.person_names([f"{SCHOOL}-zr"])[f"{SCHOOL}-zr"]
    assert uploader in page


@pytest.mark.parametrize("second", [b'{"type": "textfield", "key": "plan"}',
                                    b'{"type": "textarea", "key": "plan", "readonly": true}'])
def test_a_form_may_not_bind_a_key_twice(second: bytes) -> None:
    form = b'{"id": "clash", "components": [{"type": "textfield", "key": "plan", "readonly": true}, ' + second + b']}'
    with pytest.raises(InvalidModel, match="shown or filled in by two fields: plan"):
        parse_form("clash.form.json", form)


def test_the_expert_sees_the_case_and_downloads_the_file_the_school_uploaded(
        demo: Huhua, client: FlaskClient, clock: VirtualClock) -> None:
    expert, case_file = scored_case(demo, client, clock)
    task = next(t for t in demo.queries.tasks(user=expert) if t["element_id"] == "expert_review")
    answer = client.get(f"/api/v1/tasks/{task['id']}/form", headers=_as(expert))
    assert answer.status_code == 200
    case = answer.json["data"]["review_item"]["case"]
    assert (case["title"], case["school"], case["author"]) == ("从家访开始", "珠晖区第一中学", "田老师")
    assert [f["attachment_id"] for f in case["files"]] == [case_file]
    assert set(answer.json["data"]) == {"review_item"}  # not the other cases, scores or experts
    download = client.get(f"/api/v1/attachments/{case_file}", headers=_as(expert))
    assert download.status_code == 200 and download.data == PDF
    for outsider in ("qidong-zr", "hengnan-zr", "zhuhui-s002-zr", "zhuhui-s001-bzr1"):
        assert client.get(f"/api/v1/attachments/{case_file}", headers=_as(outsider)).status_code == 404, outsider


def scored_case(demo: Huhua, client: FlaskClient, clock: VirtualClock) -> tuple[str, int]:
    """One case, submitted with its original by a school, reviewed by its county and sent to the city's panel:
    (an expert who scores it, the file)."""
    clock.set(datetime(2026, 9, 7, 9, tzinfo=BUSINESS_TZ))
    demo.execute(StartInstance("case_collection", "scheduler", org_scope="hy", origin=ENGINE))
    complete(demo, "hy-zr", "publish_call", {"year": "2026", "notice": "每校每类限报2篇"})
    submit = next(t["id"] for t in demo.queries.tasks(user=f"{SCHOOL}-zr") if t["element_id"] == "submit_case")
    case_file = _upload(client, submit, f"{SCHOOL}-zr", "从家访开始.pdf")
    complete(demo, f"{SCHOOL}-zr", "submit_case", {
        "action": "submit_last", "category": "班主任工作案例", "title": "从家访开始", "author": "田老师",
        "author_post": "班主任", "author_class": "三年级2班", "case_summary": "一次家访后的转变",
        "full_text": "全文：从家访开始。"})
    clock.set(datetime(2026, 9, 30, 9, tzinfo=BUSINESS_TZ))  # the other schools' submissions close unsent
    run_due_jobs(demo)
    complete(demo, "zhuhui-zr", "county_review", {"review": {"analysis": 30, "method": 40, "effect": 28,
                                                             "comment": "好"}})
    complete(demo, "zhuhui-jz", "od_sign", {"od_decision": "signed"})
    experts = [t["assignee"] for t in demo.queries.tasks(limit=100) if t["element_id"] == "expert_review"]
    assert experts, "the case reached the city's panel"
    return experts[0], case_file


def test_a_files_to_variable_must_not_be_a_field(demo: Huhua) -> None:
    form = (b'{"id": "files_clash", "properties": {"filesTo": "title"},'
            b' "components": [{"type": "textfield", "key": "title"}]}')
    with pytest.raises(InvalidModel, match="filesTo"):
        demo.execute(DeployModels((("files_clash.form.json", form),), "admin"))


def test_a_crisis_report_shows_the_county_the_alias_and_level_and_nothing_of_the_record(
        demo: Huhua, client: FlaskClient, clock: VirtualClock) -> None:
    at(demo, clock, 2026, 3, 3, 15)
    case = open_case(demo, "phone", "parent", "家长电话：孩子近期情绪低落")
    complete(demo, COUNSELLOR, "session", record("high", ["self_harm"]))
    notice = _open_task(demo, case, "county_notice")
    answer = client.get(f"/api/v1/tasks/{notice}/form", headers=_as("zhuhui-zr"))
    assert answer.status_code == 200
    assert answer.json["data"] == {"student_alias": "初二学生A", "risk_level": "high", "case_priority": "危机干预"}
    for outsider in ("zhuhui-s001-bzr1", "zhuhui-s001-zr", "yanfeng-zr"):  # not even that it exists
        assert client.get(f"/api/v1/tasks/{notice}/form", headers=_as(outsider)).status_code == 404, outsider


def test_the_county_checking_a_counselling_room_sees_the_register_as_rows_it_cannot_edit(
        demo: Huhua, client: FlaskClient, clock: VirtualClock) -> None:
    at(demo, clock, 2026, 9, 1, 9)
    demo.execute(StartInstance("counselling_room_county", "zhuhui-zr", org_scope="zhuhui"))
    run_due_jobs(demo)
    complete(demo, f"{SCHOOL}-zr", "record_room", {**room(COUNSELLOR), "rooms": room(COUNSELLOR)["rooms"][1:]})
    school = next(i["id"] for i in demo.queries.instances(process_key="counselling_room_school")
                  if i["org_scope"] == SCHOOL)
    check = _open_task(demo, school, "county_check")
    answer = client.get(f"/api/v1/tasks/{check}/form", headers=_as("zhuhui-zr"))
    data = answer.json["data"]
    assert [r["room_name"] for r in data["rooms"]] == ["团体辅导室"] and len(data["opening_hours"]) == 3
    assert "缺少沙盘游戏治疗功能" in data["room_shortfalls"]
    listed = next(c for c in next(c for c in answer.json["schema"]["components"] if c["type"] == "group")["components"]
                  if c.get("path") == "rooms")
    assert listed["allowAddRemove"] is False and all(c["readonly"] for c in listed["components"])
    answer = client.post(f"/api/v1/tasks/{check}/complete", headers=_as("zhuhui-zr"), json={"data": {
        "room_check_result": "rectify", "room_check_comment": "面积不足", "rooms": [], "parent_access": False}})
    assert answer.status_code == 200, answer.json
    kept = demo.queries.instance(school)["data"]
    assert [r["room_name"] for r in kept["rooms"]] == ["团体辅导室"] and kept["parent_access"] is True


def test_the_leader_signing_the_commendation_sees_its_draft_and_the_volume_it_comes_from(
        demo: Huhua, client: FlaskClient, clock: VirtualClock) -> None:
    scored_case(demo, client, clock)
    for task in [t for t in demo.queries.tasks(limit=100) if t["element_id"] == "expert_review"]:
        complete(demo, task["assignee"], "expert_review", {"review": {
            "conflict": "none", "analysis": 30, "method": 38, "effect": 27, "comment": "好"}})
    sign = next(t for t in demo.queries.tasks(user="hy-fgjz") if t["element_id"] == "od_sign")
    data = client.get(f"/api/v1/tasks/{sign['id']}/form", headers=_as("hy-fgjz")).json["data"]
    assert set(data) == {"od_draft"}  # the draft the called sign-off made, not the collection's data
    assert data["od_draft"]["title"] == "关于表彰2026年度心育护花优秀案例的通报"
    demo.execute(SetPassword("hy-fgjz", "correct horse", "admin"))
    pages = create_app(demo, {"SECRET_KEY": "pages", "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})\
        .test_client()
    pages.post("/login", data={"username": "hy-fgjz", "password": "correct horse"})
    page = pages.get(f"/inbox/tasks/{sign['id']}").get_data(as_text=True)
    assert "（草稿）.pdf" in page  # the draft
    assert "2026年度心育护花优秀案例汇编.pdf" in page  # the volume the collection made, which it commends


SENSITIVE = one_task_model(
    "flag_review", "关注学生复核", "复核关注学生", "candidateRoles", "programme_officer", task_id="check",
    task_properties={"formKey": "flag_review"},
    process_properties={"sensitiveVariables": "student_alias", "oversight_roles": "principal@school"}).encode()
FLAG_FORM = json.dumps({"id": "flag_review", "components": [
    {"type": "textfield", "key": "student_alias", "label": "学生化名", "readonly": True},
    {"type": "textfield", "key": "class_name", "label": "班级", "readonly": True},
    {"type": "textarea", "key": "note", "label": "复核意见"}]}).encode()


def test_a_variable_the_model_marks_sensitive_is_shown_only_to_whoever_holds_the_task(
        demo: Huhua, client: FlaskClient) -> None:
    demo.execute(DeployModels((("flag_review.bpmn", SENSITIVE), ("flag_review.form.json", FLAG_FORM)), "admin"))
    instance = demo.execute(StartInstance("flag_review", "admin", org_scope=SCHOOL, origin=ENGINE, variables={
        "student_alias": "小林", "class_name": "三年级2班", "concern": "说过不想来学校"}))["id"]
    task = _open_task(demo, instance, "check")
    holder = client.get(f"/api/v1/tasks/{task}/form", headers=_as(f"{SCHOOL}-zr")).json["data"]
    assert holder == {"student_alias": "小林", "class_name": "三年级2班"}  # never the concern: not named
    overseer = client.get(f"/api/v1/tasks/{task}/form", headers=_as(f"{SCHOOL}-xz"))
    assert overseer.status_code == 200 and overseer.json["data"] == {"class_name": "三年级2班"}
