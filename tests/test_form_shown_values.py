"""A form's shown values, on completion over HTTP: a hide condition reads the values the form showed, as form-js
does (what a person typed in a field the browser showed is kept), a read-only column of a list a person fills
in keeps the process's value for its row, whatever the client sends, and a text (markdown) shows what people typed
as typed, never as a link; on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.bootstrap import Huhua
from engine.commands import DeployModels, LoadDirectory
from engine.org.profiles import generate
from engine.web import create_app
from tests.helpers import one_task_model, start_at

TEACHER = "zhuhui-s001-bzr1"
_MODEL = one_task_model("shown_review", "复核", "复核", "candidateRoles", "class_teacher", task_id="review",
                        task_properties={"formKey": "shown_review"})
_FORM = {"id": "shown_review", "type": "default", "components": [
    {"type": "text", "text": "### 《{{case.title}}》 {{verdict}}\n\n{{#loop case.files}}原稿：[{{name}}]"
                             "(/api/v1/attachments/{{attachment_id}}){{/loop}}"},
    {"type": "textfield", "key": "verdict", "label": "县级意见", "readonly": True},
    {"type": "textarea", "key": "reason", "label": "补充说明", "validate": {"required": True},
     "conditional": {"hide": "=verdict != \"returned\""}},
    {"type": "dynamiclist", "path": "sheet", "label": "评分表", "isRepeating": True,
     "properties": {"rowsFrom": "sheet", "rowKey": "teacher"},
     "components": [{"type": "textfield", "key": "teacher", "label": "工号", "readonly": True},
                    {"type": "textfield", "key": "name", "label": "姓名", "readonly": True},
                    {"type": "number", "key": "score", "label": "得分"}]}]}
CASE = {"title": "[点此](https://evil.example)", "files": [{"name": "x](https://evil.example) (", "attachment_id": 7}]}
SHEET = [{"teacher": "t1", "name": "王老师", "score": None}, {"teacher": "t2", "name": "李老师", "score": None}]


def _review(huhua: Huhua) -> tuple[FlaskClient, int, int]:
    """A review at a school, its county's verdict "returned" shown, its sheet's rows set, the case it is about named
    by a text: (client, instance, task)."""
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(DeployModels((("shown_review.bpmn", _MODEL.encode()),
                                ("shown_review.form.json", json.dumps(_FORM).encode())), "admin"))
    instance = start_at(huhua, "shown_review", "zhuhui-s001", verdict="returned", sheet=SHEET,
                        case=CASE)
    [task] = huhua.queries.tasks(instance_id=instance)
    return create_app(huhua, {"TESTING": True}).test_client(), instance, task["id"]


def _complete(client: FlaskClient, task: int, data: dict) -> TestResponse:
    return client.post(f"/api/v1/tasks/{task}/complete", headers={"X-Huhua-User": TEACHER}, json={"data": data})


def test_a_hide_condition_reads_the_values_the_form_showed(huhua: Huhua) -> None:
    client, instance, task = _review(huhua)
    opened = client.get(f"/api/v1/tasks/{task}/form", headers={"X-Huhua-User": TEACHER}).json["data"]
    assert opened["verdict"] == "returned"  # the browser shows 补充说明, asked for when the county returned it
    rows = [{"teacher": "t1", "score": 5}, {"teacher": "t2", "score": 4}]
    missing = _complete(client, task, {"sheet": rows})
    assert missing.status_code == 400 and [p["field"] for p in missing.json["problems"]] == ["reason"]
    done = _complete(client, task, {"reason": "已补充材料", "sheet": rows, "verdict": "approved"})
    assert done.status_code == 200, done.json
    data = huhua.queries.instance(instance)["data"]
    assert (data["reason"], data["verdict"]) == ("已补充材料", "returned")  # typed text kept; shown value unchanged


def test_a_read_only_column_of_a_filled_in_list_keeps_the_process_values(huhua: Huhua) -> None:
    client, instance, task = _review(huhua)
    rows = [{"teacher": "t1", "name": "改掉的名字", "score": 5}, {"teacher": "t2", "score": 4}]
    assert _complete(client, task, {"reason": "无", "sheet": rows}).status_code == 200
    assert huhua.queries.instance(instance)["data"]["sheet"] == [{"teacher": "t1", "name": "王老师", "score": 5},
                                                                 {"teacher": "t2", "name": "李老师", "score": 4}]


def test_a_text_shows_typed_names_as_typed_never_as_links(huhua: Huhua) -> None:
    client, _, task = _review(huhua)
    opened = client.get(f"/api/v1/tasks/{task}/form", headers={"X-Huhua-User": TEACHER}).json["data"]
    assert opened["case"] == {"title": r"\[点此\]\(https://evil.example\)",
                              "files": [{"name": r"x\]\(https://evil.example\) \(", "attachment_id": 7}]}
    assert opened["verdict"] == "returned" and opened["sheet"] == SHEET  # a field's value is not markdown

