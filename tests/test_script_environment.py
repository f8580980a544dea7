"""Models written for spiff-arena, through the engine's commands: the helpers their scripts use read the engine's
(virtual) clock and configuration; every construct that is refused names what to write instead, at deploy time and
with the element; timers written as Python objects are refused at deploy; the XSD's messages are said in words."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from engine.bootstrap import Huhua
from engine.clock import VirtualClock
from engine.commands import ENGINE, CompleteTask, DeployModels, StartInstance
from engine.errors import InvalidModel
from engine.web import create_app
from tests.conftest import START
from tests.test_sandbox import script_model, timer_model

#: The behaviour does not depend on the database's dialect: SQLite only.
SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

TEACHER = "zhuhui-s001-bzr1"

_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
         '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
         'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
         'id="defs_{key}" targetNamespace="http://huhua.example/test">\n'
         '<bpmn:process id="{key}" name="{key}" isExecutable="true">\n')

HELPERS = """
when = time.time()
nanoseconds = time.time_ns()
stamp = datetime.now().isoformat()
same_day = datetime.now().date() == today()
total = str(Decimal('0.10') + Decimal('0.20'))
rounded = float(Decimal('2.675').quantize(Decimal('0.01')))
user = get_current_user()
env = get_env()
"""


def _asked_then_scripted(key: str, script: str) -> bytes:
    """start → user task 'ask' (the teacher's) → script task 'compute' → end."""
    return (_HEAD.format(key=key) + f"""
<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="ask"/>
<bpmn:userTask id="ask" name="填写"><bpmn:extensionElements><spiffworkflow:properties>
<spiffworkflow:property name="candidateUsers" value="{TEACHER}"/></spiffworkflow:properties></bpmn:extensionElements>
<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
<bpmn:sequenceFlow id="f2" sourceRef="ask" targetRef="compute"/>
<bpmn:scriptTask id="compute" name="计算"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
<bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>
<bpmn:sequenceFlow id="f3" sourceRef="compute" targetRef="end"/>
<bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
</bpmn:process></bpmn:definitions>""").encode()


def _deploy(huhua: Huhua, name: str, content: bytes) -> dict:
    return huhua.execute(DeployModels(files=((name, content),), actor="admin"))


def _refusal(huhua: Huhua, content: bytes, name: str = "model.bpmn") -> tuple[str | None, str]:
    """Deploy ``content``, which must be refused with one problem, and validate it; the problem's element and text."""
    with pytest.raises(InvalidModel) as refused:
        _deploy(huhua, name, content)
    assert len(refused.value.problems) == 1, refused.value.problems
    with pytest.raises(InvalidModel) as validated:  # `huhua validate` says the same
        huhua.queries.validate_models(((name, content),))
    assert validated.value.problems == refused.value.problems
    problem = refused.value.problems[0]
    return problem.element_id, str(problem.message)


@SQLITE
def test_spiff_arena_helpers_read_the_engine_clock_and_know_who_acts(demo: Huhua, clock: VirtualClock) -> None:
    _deploy(demo, "helpers.bpmn", _asked_then_scripted("helpers", HELPERS))
    started = demo.execute(StartInstance("helpers", "admin", origin=ENGINE))
    clock.advance(timedelta(days=3, hours=2))  # the virtual clock moves; the wall clock is years away
    task = demo.queries.tasks(instance_id=started["id"])[0]
    done = demo.execute(CompleteTask(task["id"], TEACHER, {"note": "好"}))
    assert done["instance"]["state"] == "completed", done
    data = demo.queries.instance(started["id"])["data"]
    moment = START + timedelta(days=3, hours=2)
    assert data["when"] == moment.timestamp() and data["nanoseconds"] == int(moment.timestamp()) * 10**9
    assert data["stamp"] == "2026-03-05T10:30:00+08:00" and data["same_day"] is True  # Beijing time, with its zone
    assert data["total"] == "0.30" and data["rounded"] == 2.68  # exact decimals, not 0.30000000000000004
    name = demo.queries.person_names([TEACHER])[TEACHER]
    assert data["user"] == {"id": TEACHER, "username": TEACHER, "display_name": name, "email": data["user"]["email"]}
    assert name and name != TEACHER
    assert data["env"] == "production"  # HUHUA_ENV unset


WHO = """
initiator = get_process_initiator_user()["username"]
completer = get_last_user_completing_task("who", "ask")["username"]
never = get_last_user_completing_task("who", "compute")
seen = get_current_task_data()
seen["never"] = "changed"
step = get_current_task_info()
"""


@SQLITE
def test_scripts_know_who_started_the_instance_and_who_completed_a_task_of_it(demo: Huhua) -> None:
    _deploy(demo, "who.bpmn", _asked_then_scripted("who", WHO))
    started = demo.execute(StartInstance("who", "admin", origin=ENGINE))
    task = demo.queries.tasks(instance_id=started["id"])[0]

    demo.execute(CompleteTask(task["id"], TEACHER, {"note": "好"}))  # a later command: both are kept with it

    data = demo.queries.instance(started["id"])["data"]
    assert (data["initiator"], data["completer"], data["never"]) == ("admin", TEACHER, None)
    assert data["seen"] == {"note": "好", "initiator": "admin", "completer": TEACHER, "never": "changed"}  # a copy
    assert (data["step"]["task_spec"], data["step"]["id"]) == ("compute", data["step"]["id"])
    assert isinstance(data["step"]["id"], str) and data["step"]["children"] and "data" not in data["step"]
    assert not {"huhua_initiator", "huhua_completed_by"} & set(data)  # kept with the workflow, not as data


@SQLITE
def test_a_step_the_engine_runs_has_no_current_user_and_the_environment_is_configured(
        huhua: Huhua, settings: object, clock: VirtualClock) -> None:
    from dataclasses import replace

    from engine.bootstrap import bootstrap

    staged = bootstrap(replace(settings, environment="demo"), clock=clock, upgrade=False)  # type: ignore[type-var]
    try:
        _deploy(staged, "engine_step.bpmn", script_model("engine_step", "user = get_current_user()\nenv = get_env()\n"
                                                                        "time_field = time"))
        started = staged.execute(StartInstance("engine_step", "admin", variables={"time": "08:00"}, origin=ENGINE))
        assert started["state"] == "completed", started
        data = staged.queries.instance(started["id"])["data"]
        assert data["user"] is None and data["env"] == "demo"
        assert data["time_field"] == "08:00"  # a form's field named 'time' keeps its value
    finally:
        staged.close()


#: spiff-arena constructs scripts here refuse at deploy time, and what each refusal says to write instead.
REPLACED = [
    pytest.param("amount = payload.amount", "write payload['amount']", id="dict-dot-access"),
    pytest.param("stamp = datetime.utcnow().isoformat()", "write now() or datetime.now()", id="utcnow"),
    pytest.param("day = date.today()", "write today()", id="date-today"),
    pytest.param("time.sleep(5)", "model the wait with a timer event", id="sleep"),
    pytest.param("import json\nx = json.dumps(payload)", "the task data is already data", id="import-json"),
    pytest.param("from datetime import datetime\nx = 1", "datetime, date, timedelta, time, Decimal", id="import-from"),
    pytest.param("total = decimal.Decimal('1.5')", "write Decimal('1.5')", id="decimal-module"),
    pytest.param("members = get_group_members('reviewers')", "give the task to a lane, a role or candidateGroups",
                 id="get-group-members"),
    pytest.param("token = get_secret('API_KEY')", "config/connectors.toml", id="get-secret"),
    pytest.param("local = get_localtime(now(), 'Asia/Shanghai')", "already give Beijing time", id="get-localtime"),
    pytest.param("n = random.randint(1, 6)", "there is no random", id="random"),
]


@SQLITE
@pytest.mark.parametrize("script, says", REPLACED)
def test_each_refused_construct_names_its_replacement_at_deploy(huhua: Huhua, script: str, says: str) -> None:
    element, message = _refusal(huhua, script_model("arena", script))
    assert element == "hostile"
    assert says in message and message.startswith("script"), message


@SQLITE
def test_a_name_only_known_at_run_time_fails_naming_the_replacement_on_its_element(huhua: Huhua) -> None:
    """``payload`` given by the data, not the model: an incident on the script task says to write payload['count']."""
    _deploy(huhua, "late.bpmn", script_model("late", "n = payload.count('x')\nm = 1"))
    started = huhua.execute(StartInstance("late", "admin", variables={"payload": {"count": 2}}, origin=ENGINE))
    assert started["state"] == "incident"
    assert "a dict's keys are read as payload['count']" in started["incident"]
    assert [i["element_id"] for i in huhua.queries.instance(started["id"])["incidents"]] == ["hostile"]


@SQLITE
def test_a_decimal_left_in_the_task_data_is_refused_saying_what_to_keep(huhua: Huhua) -> None:
    _deploy(huhua, "money.bpmn", script_model("money", "total = Decimal('1.10') * 3"))
    started = huhua.execute(StartInstance("money", "admin", origin=ENGINE))
    assert started["state"] == "incident" and "keep float(x) or str(x)" in started["incident"]


@SQLITE
@pytest.mark.parametrize("expression, says", [
    pytest.param("timedelta(seconds=30)", "gives a timedelta, not ISO 8601 text; write the duration as text: PT30S",
                 id="timedelta"),
    pytest.param("timedelta(days=2, hours=1)", "write the duration as text: P2DT1H", id="timedelta-days"),
    pytest.param("datetime.now() + timedelta(hours=1)",
                 "gives a date-time, not ISO 8601 text; write the date-time as text: "
                 "(datetime.now() + timedelta(hours=1)).isoformat()", id="datetime"),
    pytest.param("30 * 60", "gives a number", id="number"),
    pytest.param("'PT30'", "the timer's value 'PT30' is not an ISO 8601 duration; write a duration such as 'PT30S'",
                 id="not-iso-text"),
])
def test_a_timer_that_cannot_give_iso_8601_is_refused_at_deploy_naming_the_element(
        huhua: Huhua, expression: str, says: str) -> None:
    element, message = _refusal(huhua, timer_model("waiting", expression))
    assert element == "wait" and says in message, message


@SQLITE
def test_timer_expressions_that_compute_iso_text_still_run(huhua: Huhua) -> None:
    for index, expression in enumerate(("'PT%sS' % seconds", "f'PT{seconds}S'", "'PT' + str(seconds * 2) + 'S'",
                                        '"PT30S"')):
        _deploy(huhua, f"timer{index}.bpmn", timer_model(f"timer{index}", expression))
        started = huhua.execute(StartInstance(f"timer{index}", "admin", variables={"seconds": 30}, origin=ENGINE))
        assert started["state"] == "running", started


@SQLITE
def test_a_timer_expression_that_gives_no_text_at_run_time_is_an_incident_on_its_element(huhua: Huhua) -> None:
    _deploy(huhua, "late_timer.bpmn", timer_model("late_timer", "wait_for"))
    started = huhua.execute(StartInstance("late_timer", "admin", variables={"wait_for": 30}, origin=ENGINE))
    assert started["state"] == "incident" and "not ISO 8601 text" in started["incident"]
    assert [i["element_id"] for i in huhua.queries.instance(started["id"])["incidents"]] == ["wait"]


DUPLICATE_ID = (_HEAD.format(key="twice") + """
<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="step"/>
<bpmn:task id="step"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:task>
<bpmn:sequenceFlow id="f2" sourceRef="step" targetRef="end"/>
<bpmn:endEvent id="step"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
</bpmn:process></bpmn:definitions>""").encode()

OLD_DECISION = (_HEAD.format(key="grading") + """
<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="grade"/>
<bpmn:businessRuleTask id="grade" name="评定"><bpmn:extensionElements>
<spiffworkflow:calledDecision decisionId="score_band" /></bpmn:extensionElements>
<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:businessRuleTask>
<bpmn:sequenceFlow id="f2" sourceRef="grade" targetRef="end"/>
<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
</bpmn:process></bpmn:definitions>""").encode()


@SQLITE
def test_a_duplicate_id_is_said_as_such_with_both_lines(huhua: Huhua) -> None:
    element, message = _refusal(huhua, DUPLICATE_ID)
    assert element == "step"
    assert message == "the id step is used twice (lines 7 and 9); give each element an id of its own"
    assert "xs:ID" not in message


MISPLACED = (_HEAD.format(key="misplaced") + """
<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="step"/>
<bpmn:manualTask id="step"><bpmn:incoming>f1</bpmn:incoming>
<bpmn:extensionElements><spiffworkflow:preScript>x = 1</spiffworkflow:preScript></bpmn:extensionElements>
<bpmn:outgoing>f2</bpmn:outgoing></bpmn:manualTask>
<bpmn:sequenceFlow id="f2" sourceRef="step" targetRef="end"/>
<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
</bpmn:process></bpmn:definitions>""").encode()


@SQLITE
def test_a_child_out_of_order_is_said_as_such_with_what_comes_there(huhua: Huhua) -> None:
    element, message = _refusal(huhua, MISPLACED)
    assert element == "step" and "This element is not expected" not in message
    assert message.startswith("<bpmn:extensionElements> is out of place inside <bpmn:manualTask>: BPMN 2.0 fixes "
                              "the order of an element's children, and at this point it expects <bpmn:incoming>, "
                              "<bpmn:outgoing>")
    assert "move <bpmn:extensionElements> to its place (documentation first, then extensionElements" in message


@SQLITE
def test_an_old_called_decision_form_is_named_with_what_to_write(huhua: Huhua) -> None:
    element, message = _refusal(huhua, OLD_DECISION)
    assert element == "grade" and "None" not in message
    assert message.startswith("business rule task '评定' (grade) names its decision in the old form "
                              '<spiffworkflow:calledDecision decisionId="score_band"/>')
    assert "write <spiffworkflow:calledDecisionId>score_band</spiffworkflow:calledDecisionId>" in message


@SQLITE
def test_the_refusals_are_chinese_through_the_api(huhua: Huhua) -> None:
    app = create_app(huhua, {"SECRET_KEY": "arena", "TESTING": True})
    with app.test_client() as client:
        def refused(name: str, content: bytes) -> str:
            answer = client.post("/api/v1/deployments", headers={"X-Huhua-User": "admin"},
                                 json={"files": [{"name": name, "content": content.decode()}]})
            assert answer.status_code == 422, answer.json
            return answer.json["problems"][0]["message"]

        assert refused("twice.bpmn", DUPLICATE_ID) == "id “step”被使用了两次（第 7 行和第 9 行）；每个元素须有自己的 id"
        assert "旧写法" in refused("grading.bpmn", OLD_DECISION)
        timer = refused("timer.bpmn", timer_model("waiting", "timedelta(seconds=30)"))
        assert "ISO 8601" in timer and "PT30S" in timer and "计时器表达式" in timer
        dotted = refused("dot.bpmn", script_model("dot", "amount = payload.amount"))
        assert "payload['amount']" in dotted and "脚本" in dotted


@SQLITE
def test_huhua_validate_names_the_timer_and_what_to_write(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = tmp_path / "waiting.bpmn"
    model.write_bytes(timer_model("waiting", "timedelta(minutes=90)"))
    result = cli("validate", str(model))
    assert result.exit_code == 2
    assert "waiting.bpmn, element wait: the timer expression 'timedelta(minutes=90)' gives a timedelta, not ISO 8601 " \
           "text; write the duration as text: PT1H30M" in result.stderr


def test_every_replacement_a_refusal_names_has_its_chinese() -> None:
    """The hints are Phrases made from a table, which the catalogue's extraction cannot see: checked here."""
    from babel.messages.pofile import read_po

    from engine.runtime import script_hints, timer_expressions
    from engine.web.i18n import CATALOGUES

    with (CATALOGUES / "zh_Hans_CN" / "LC_MESSAGES" / "errors.po").open("rb") as po:
        chinese = {m.id: m.string for m in read_po(po) if m.id}
    hints = [*script_hints.UNOFFERED.values(), *script_hints.REPLACED_ATTRIBUTES.values(),
             "a date-time", "a timedelta", "a number", "True or False", "a list or dict", "duration", "date-time",
             "cycle", *(example for _valid, example in timer_expressions._ISO_VALUES.values())]
    assert [hint for hint in hints if not chinese.get(hint)] == []
