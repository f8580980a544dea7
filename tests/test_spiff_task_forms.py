"""spiff-arena's task forms: ``instructionsForEndUser`` (Jinja + Markdown) shown in the API, on the task page and in
the CLI, rendered in a sandbox with the task's data written literally, a template error shown in words, a template
that does not parse refused at deployment; a JSON-schema form (``formJsonSchemaFilename``) kept with the process
version and every completion checked against it on the server, nothing saved when it is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.commands import SetPassword
from engine.web import create_app
from tests.helpers import cli_json

pytestmark = [pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
              pytest.mark.usefixtures("demo_template")]
CLERK = "zhuhui-s001-bzr1"
_MODEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="http://huhua.example/t">
  <bpmn:process id="expense_request" name="报销申请" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="Activity_prepare"/>
    <bpmn:scriptTask id="Activity_prepare" name="准备">
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:script>{script}</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f1" sourceRef="Activity_prepare" targetRef="Activity_fill"/>
    <bpmn:userTask id="Activity_fill" name="填写报销单">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="assignee" value="zhuhui-s001-bzr1"/>
          <spiffworkflow:property name="formJsonSchemaFilename" value="{schema}"/>
          <spiffworkflow:property name="formUiSchemaFilename" value="expense-uischema.json"/>
        </spiffworkflow:properties>
        <spiffworkflow:instructionsForEndUser>{instructions}</spiffworkflow:instructionsForEndUser>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="Activity_fill" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>"""
INSTRUCTIONS = ("## 请核对 {{ student }} 的报销\n\n**金额上限**：{{ limit }} 元\n\n"
                "{% for item in items %}- {{ item.name }}\n{% endfor %}")
SCHEMA = {"title": "报销单", "type": "object", "required": ["amount", "reason"],
          "properties": {"amount": {"type": "integer", "title": "金额", "minimum": 1},
                         "reason": {"type": "string", "title": "事由", "minLength": 1},
                         "kind": {"type": "string", "title": "类别", "enum": ["差旅", "办公"]},
                         "urgent": {"type": "boolean", "title": "加急"},
                         "trips": {"type": "array", "title": "行程", "maxItems": 3, "items": {
                             "type": "object", "required": ["city"],
                             "properties": {"city": {"type": "string", "title": "城市"},
                                            "days": {"type": "integer", "title": "天数", "minimum": 1}}}}}}
UI_SCHEMA = {"ui:order": ["amount", "reason", "kind", "urgent", "trips"]}
STUDENT = "<script>alert(1)</script>[点此](javascript:alert(2))"
SCRIPT = f"student = {STUDENT!r}\nlimit = 500\nitems = [{{'name': '火车票'}}, {{'name': '<b>住宿</b>'}}]"


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _folder(tmp_path: Path, *, instructions: str = INSTRUCTIONS, schema: Any = SCHEMA,
            schema_file: str = "expense-schema.json", write_schema: bool = True, script: str = SCRIPT) -> Path:
    """A spiff-arena model folder: the BPMN, the form's JSON Schema and UI schema beside it."""
    folder = tmp_path / "expense-request"
    folder.mkdir(exist_ok=True)
    model = _MODEL.format(schema=schema_file, instructions=_escaped(instructions), script=_escaped(script))
    (folder / "expense-request.bpmn").write_text(model, encoding="utf-8")
    if write_schema:
        content = schema if isinstance(schema, str) else json.dumps(schema, ensure_ascii=False)
        (folder / schema_file).write_text(content, encoding="utf-8")
    (folder / "expense-uischema.json").write_text(json.dumps(UI_SCHEMA), encoding="utf-8")
    return folder


def _started(cli: Any, tmp_path: Path, huhua: Huhua, **folder: Any) -> tuple[FlaskClient, int, int]:
    """The folder deployed and an instance started through the CLI: (client, instance, task)."""
    deployed = cli("deploy", str(_folder(tmp_path, **folder)))
    assert deployed.exit_code == 0, deployed.output
    started = cli_json(cli("start", "expense_request", "--json"))
    assert isinstance(started, dict)
    [task] = huhua.queries.tasks(instance_id=started["id"])
    return create_app(huhua, {"TESTING": True}).test_client(), started["id"], task["id"]


def _as_clerk() -> dict[str, str]:
    return {"X-Huhua-User": CLERK}


def _page(huhua: Huhua, task: int) -> str:
    """The task's page as the clerk sees it, logged in."""
    huhua.execute(SetPassword(CLERK, "correct horse", "admin"))
    app = create_app(huhua, {"SECRET_KEY": "pages", "TRUST_USER_HEADER": False, "WTF_CSRF_ENABLED": False})
    with app.test_client() as client:
        client.post("/login", data={"username": CLERK, "password": "correct horse"})
        page = client.get(f"/inbox/tasks/{task}")
        assert page.status_code == 200
        return page.get_data(as_text=True)


def test_instructions_are_rendered_over_the_task_data_with_its_values_literal(cli: Any, tmp_path: Path,
                                                                             huhua: Huhua) -> None:
    client, _instance, task = _started(cli, tmp_path, huhua)
    answer = client.get(f"/api/v1/tasks/{task}", headers=_as_clerk())
    assert answer.status_code == 200, answer.json
    instructions = answer.json["instructions"]
    assert instructions["error"] is None
    html = instructions["html"]
    assert "<h2>请核对 " in html and "<strong>金额上限</strong>：500 元" in html
    assert "<li>火车票</li>" in html and "&lt;b&gt;住宿&lt;/b&gt;" in html  # a value is text, never markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html
    assert "href" not in html  # the value's [点此](javascript:…) stays literal text

    body = _page(huhua, task)
    assert 'id="instructions"' in body and "办理说明" in body
    assert "<strong>金额上限</strong>：500 元" in body and "<script>alert(1)" not in body
    assert body.index('id="instructions"') < body.index('id="form"')  # above the form

    shown = cli("task", str(task))
    assert shown.exit_code == 0, shown.output
    assert "instructions:" in shown.output and "金额上限：500 元" in shown.output and "· 火车票" in shown.output
    listed = cli("tasks", "--instructions")
    assert listed.exit_code == 0 and "金额上限：500 元" in listed.output


def test_instructions_walk_a_mappings_items_as_spiff_arenas_do_and_reach_no_other_attribute(
        cli: Any, tmp_path: Path, huhua: Huhua) -> None:
    loop = "{% for name, hex in colours.items() %}- {{ name }}: {{ hex }}\n{% endfor %}\n红：{{ colours.get('红') }}"
    script = "colours = {'红': '#ff0000', '绿': '#00ff00'}"
    client, _instance, task = _started(cli, tmp_path, huhua, instructions=loop, script=script)
    instructions = client.get(f"/api/v1/tasks/{task}", headers=_as_clerk()).json["instructions"]
    assert instructions["error"] is None, instructions
    assert "<li>红: #ff0000</li>" in instructions["html"] and "<p>红：#ff0000</p>" in instructions["html"]

    reaching = "{{ colours.__class__ }}{{ '红'.ljust(9) }}"
    (tmp_path / "again").mkdir()
    client, _instance, task = _started(cli, tmp_path / "again", huhua, instructions=reaching, script=script)
    instructions = client.get(f"/api/v1/tasks/{task}", headers=_as_clerk()).json["instructions"]
    assert instructions["html"] is None and "unsafe" in instructions["error"]


def test_a_template_error_is_shown_in_words_and_the_page_still_works(cli: Any, tmp_path: Path, huhua: Huhua) -> None:
    client, _instance, task = _started(cli, tmp_path, huhua, instructions="请核对 {{ missing_variable }}")
    instructions = client.get(f"/api/v1/tasks/{task}", headers=_as_clerk()).json["instructions"]
    assert instructions["html"] is None and "missing_variable" in instructions["error"]
    body = _page(huhua, task)
    assert 'id="instructions-error"' in body and "办理说明无法显示" in body and "missing_variable" in body
    assert 'id="form"' in body  # the person can still do the task
    assert "cannot be shown" in cli("task", str(task)).output


def test_instructions_that_do_not_parse_are_refused_at_deployment(cli: Any, tmp_path: Path) -> None:
    refused = cli("deploy", str(_folder(tmp_path, instructions="{% for x in %}坏模板")), "--json")
    assert refused.exit_code == 2
    problems = json.loads(refused.stderr)["problems"]
    assert any(p.get("element_id") == "Activity_fill" and "instructionsForEndUser" in p["message"]
               and p.get("file", "").endswith("expense-request.bpmn") for p in problems), problems
    assert cli_json(cli("tasks", "--json")) == []
    sneaky = cli("deploy", str(_folder(tmp_path, instructions="{{ ''.__class__ }}")))
    assert sneaky.exit_code == 0  # parses; at run time the sandbox refuses the attribute, shown as an error


def test_a_schema_form_completion_is_checked_on_the_server(cli: Any, tmp_path: Path, huhua: Huhua) -> None:
    client, instance, task = _started(cli, tmp_path, huhua)

    def complete(data: dict[str, Any]) -> Any:
        return client.post(f"/api/v1/tasks/{task}/complete", headers=_as_clerk(), json={"data": data})

    wrong_type = complete({"amount": "two", "reason": "出差"})
    assert wrong_type.status_code == 400, wrong_type.json
    [problem] = wrong_type.json["problems"]
    assert problem["field"] == "amount" and "金额" in problem["message"]
    assert "报销单" in wrong_type.json["message"]

    missing = complete({"amount": 2})
    assert missing.status_code == 400
    assert [(p["field"], "事由" in p["message"]) for p in missing.json["problems"]] == [("reason", True)]

    assert [p["field"] for p in complete({"amount": 2, "reason": "x", "kind": "别的"}).json["problems"]] == ["kind"]
    assert [p["field"] for p in complete({"amount": 2, "reason": "x", "approved": True}).json["problems"]] \
        == ["approved"]  # no setting process data the form does not ask for
    chinese = client.post(f"/api/v1/tasks/{task}/complete", json={"data": {"amount": "two", "reason": "x"}},
                          headers={**_as_clerk(), "Accept-Language": "zh-CN"})
    assert "金额：须为整数" in chinese.json["problems"][0]["message"]
    assert huhua.queries.tasks(instance_id=instance)[0]["state"] == "open"  # nothing was saved
    assert "amount" not in huhua.queries.instance(instance)["data"]

    done = complete({"amount": 2, "reason": "出差", "kind": "差旅", "urgent": False})
    assert done.status_code == 200, done.json
    data = huhua.queries.instance(instance)["data"]
    assert (data["amount"], data["reason"], data["kind"], data["urgent"]) == (2, "出差", "差旅", False)

    refused = cli("complete", "999999", "--as", CLERK, "--data", '{"amount": "two"}')
    assert refused.exit_code == 2


def test_cli_completion_is_checked_too(cli: Any, tmp_path: Path, huhua: Huhua) -> None:
    _client, _instance, task = _started(cli, tmp_path, huhua)
    refused = cli("complete", str(task), "--as", CLERK, "--data", '{"amount": "two", "reason": "x"}')
    assert refused.exit_code == 2 and "amount" in refused.stderr
    assert cli("complete", str(task), "--as", CLERK, "--data", '{"amount": 3, "reason": "x"}').exit_code == 0


def test_a_missing_or_wrong_schema_file_is_refused_at_deployment_naming_the_task(cli: Any, tmp_path: Path) -> None:
    cases = [({"write_schema": False}, "not among the deployed files"),
             ({"schema": "{not json"}, "not a JSON document"),
             ({"schema": {"type": "object", "properties": {"amount": {"type": "whole"}}}}, "not a valid JSON Schema"),
             ({"schema": {"type": "string"}}, "not the JSON Schema of a form"),
             # spiff-arena keeps "invoice.amount" as one key, which no script can name: nesting is the change
             ({"schema": {"type": "object", "properties": {"invoice.amount": {"type": "integer"}}}},
              "the field 'invoice.amount' would be a variable scripts cannot name; nest it instead: \"invoice\": "
              "{\"type\": \"object\", \"properties\": {\"amount\": …}} gives invoice['amount']")]
    for number, (folder, words) in enumerate(cases):
        place = tmp_path / str(number)
        place.mkdir()
        refused = cli("deploy", str(_folder(place, **folder)), "--json")
        assert refused.exit_code == 2, refused.output
        problems = json.loads(refused.stderr)["problems"]
        assert any(p.get("element_id") == "Activity_fill" and "formJsonSchemaFilename" in p["message"]
                   and words in p["message"] for p in problems), (words, problems)
    assert cli_json(cli("tasks", "--json")) == []


def test_the_schema_files_are_kept_with_the_process_version(cli: Any, tmp_path: Path, huhua: Huhua) -> None:
    folder = _folder(tmp_path)
    first = cli_json(cli("deploy", str(folder), "--json"))
    again = cli_json(cli("deploy", str(folder), "--json"))
    assert isinstance(first, dict) and isinstance(again, dict)
    assert [p["changed"] for p in again["processes"]] == [False]
    changed = {**SCHEMA, "properties": {**SCHEMA["properties"], "amount": {"type": "integer", "title": "金额",
                                                                           "maximum": 10}}}
    (folder / "expense-schema.json").write_text(json.dumps(changed), encoding="utf-8")
    second = cli_json(cli("deploy", str(folder), "--json"))
    assert isinstance(second, dict) and second["processes"][0]["version"] == 2  # a changed schema is a new version
    started = cli_json(cli("start", "expense_request", "--json"))
    assert isinstance(started, dict)
    [task] = huhua.queries.tasks(instance_id=started["id"])
    refused = cli("complete", str(task["id"]), "--as", CLERK, "--data", '{"amount": 50, "reason": "x"}')
    assert refused.exit_code == 2 and "amount" in refused.stderr  # version 2's maximum


def test_the_task_page_gets_a_form_of_the_fields_the_schema_asks_for(cli: Any, tmp_path: Path, huhua: Huhua) -> None:
    client, instance, task = _started(cli, tmp_path, huhua)
    answer = client.get(f"/api/v1/tasks/{task}/form", headers=_as_clerk()).json
    assert answer["json_schema"] == {"schema": SCHEMA, "ui_schema": UI_SCHEMA}
    fields = {c.get("key") or c["path"]: c for c in answer["schema"]["components"]}
    assert list(fields) == ["amount", "reason", "kind", "urgent", "trips"]  # in the UI schema's order
    assert (fields["amount"]["type"], fields["amount"]["label"], fields["amount"]["decimalDigits"],
            fields["amount"]["validate"]) == ("number", "金额", 0, {"required": True, "min": 1})
    assert (fields["reason"]["type"], fields["reason"]["validate"]["required"]) == ("textfield", True)
    assert fields["kind"]["type"] == "select" and [v["value"] for v in fields["kind"]["values"]] == ["差旅", "办公"]
    assert fields["urgent"]["type"] == "checkbox" and "validate" not in fields["urgent"]
    # a list of objects: a row of the item's fields per item, rows added and removed, never folded away
    trips = fields["trips"]
    assert (trips["type"], trips["label"], trips["path"], trips["defaultRepetitions"], trips["allowAddRemove"],
            trips["disableCollapse"]) == ("dynamiclist", "行程", "trips", 0, True, True)  # optional: no row yet
    assert [(c["key"], c["type"], c.get("validate")) for c in trips["components"]] == [
        ("city", "textfield", {"required": True}), ("days", "number", {"min": 1})]
    too_many = client.post(f"/api/v1/tasks/{task}/complete", headers=_as_clerk(), json={"data": {
        "amount": 4, "reason": "出差", "trips": [{"city": "衡阳"}] * 4}})
    assert too_many.status_code == 400 and [p["field"] for p in too_many.json["problems"]] == ["trips"]
    # what form-js posts for fields left empty counts as not answered: optional ones pass, required ones are named
    empty = client.post(f"/api/v1/tasks/{task}/complete", headers=_as_clerk(),
                        json={"data": {"amount": 4, "reason": "", "kind": None, "urgent": False}})
    assert [p["field"] for p in empty.json["problems"]] == ["reason"]
    done = client.post(f"/api/v1/tasks/{task}/complete", headers=_as_clerk(),
                       json={"data": {"amount": 4, "reason": "出差", "kind": None, "urgent": False}})
    assert done.status_code == 200, done.json
    assert "kind" not in huhua.queries.instance(instance)["data"]


def test_choices_from_the_task_data_offered_and_enforced(cli: Any, tmp_path: Path, huhua: Huhua) -> None:
    """spiff-arena's ``"anyOf": ["options_from_task_data_var:x"]``: the choices are the list ``x`` the task holds."""
    schema = {"title": "颜色", "type": "object", "required": ["color"], "definitions": {
                  "Color": {"type": "string", "title": "颜色", "anyOf": ["options_from_task_data_var:colors"]}},
              "properties": {"color": {"$ref": "#/definitions/Color", "title": "选择颜色"}}}
    script = SCRIPT + "\ncolors = [{'value': 'blue', 'label': '蓝'}, {'value': 'green', 'label': '绿'}]"
    client, _instance, task = _started(cli, tmp_path, huhua, schema=schema, script=script)
    [field] = client.get(f"/api/v1/tasks/{task}/form", headers=_as_clerk()).json["schema"]["components"]
    assert (field["type"], field["label"], field["values"]) == ("select", "选择颜色", [
        {"label": "蓝", "value": "blue"}, {"label": "绿", "value": "green"}])
    refused = client.post(f"/api/v1/tasks/{task}/complete", headers=_as_clerk(), json={"data": {"color": "red"}})
    assert refused.status_code == 400
    assert [(p["field"], "蓝, 绿" in p["message"]) for p in refused.json["problems"]] == [("color", True)]
    done = client.post(f"/api/v1/tasks/{task}/complete", headers=_as_clerk(), json={"data": {"color": "green"}})
    assert done.status_code == 200, done.json
