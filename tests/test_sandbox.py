"""The script sandbox, driven through the engine's commands: hostile scripts and expressions are refused
at deploy time (naming the element) or become incidents within the budget, and the engine keeps serving."""

from __future__ import annotations

import threading
import time
from xml.sax.saxutils import escape

import pytest

from engine.bootstrap import Huhua
from engine.clock import SystemClock
from engine.commands import ENGINE, DeployModels, StartInstance
from engine.errors import InvalidModel
from engine.runtime.script_guards import ScriptLimitExceeded, ScriptLimits
from engine.runtime.scripting import GuardedEnvironment
from tests.helpers import deploy_fixtures

#: One database: the script sandbox decides before any database is asked.
DATABASES = ("sqlite",)

#: Refusals and incidents must come well within this; the time budget itself is 1 s.
DEADLINE_SECONDS = 2.0

_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n'
         '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
         'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
         'id="defs_{key}" targetNamespace="http://huhua.example/test">\n'
         '<bpmn:process id="{key}" name="{key}" isExecutable="true">\n')
_TAIL = "</bpmn:process>\n</bpmn:definitions>\n"


_FLOWS = "<bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>"


def _through(key: str, step_id: str, step: str, definitions: str = "") -> bytes:
    """start → ``step`` (element ``step_id``, ``_FLOWS`` inside it) → end; ``definitions`` go beside the process."""
    body = f"""<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="{step_id}"/>
{step}
<bpmn:sequenceFlow id="f2" sourceRef="{step_id}" targetRef="end"/>
<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
"""
    return (_HEAD.format(key=key) + body + "</bpmn:process>\n" + definitions + "</bpmn:definitions>\n").encode()


def script_model(key: str, script: str) -> bytes:
    """start → script task 'hostile' → end."""
    return _through(key, "hostile", f'<bpmn:scriptTask id="hostile" name="脚本">{_FLOWS}'
                                    f"<bpmn:script>{escape(script)}</bpmn:script></bpmn:scriptTask>")


def gateway_model(key: str, condition: str) -> bytes:
    """start → exclusive gateway 'choose' → 'risky' (under ``condition``) or the default 'plain' → end."""
    body = f"""<bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="choose"/>
<bpmn:exclusiveGateway id="choose" default="plain"><bpmn:incoming>f1</bpmn:incoming>
<bpmn:outgoing>risky</bpmn:outgoing><bpmn:outgoing>plain</bpmn:outgoing></bpmn:exclusiveGateway>
<bpmn:sequenceFlow id="risky" sourceRef="choose" targetRef="end_a">
<bpmn:conditionExpression>{escape(condition)}</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="plain" sourceRef="choose" targetRef="end_b"/>
<bpmn:endEvent id="end_a"><bpmn:incoming>risky</bpmn:incoming></bpmn:endEvent>
<bpmn:endEvent id="end_b"><bpmn:incoming>plain</bpmn:incoming></bpmn:endEvent>
"""
    return (_HEAD.format(key=key) + body + _TAIL).encode()


def user_task_model(key: str, extension: str) -> bytes:
    """start → user task 'ask' (with ``extension`` inside it) → end."""
    return _through(key, "ask", f'<bpmn:userTask id="ask" name="填写">{extension}{_FLOWS}</bpmn:userTask>')


def timer_model(key: str, duration: str) -> bytes:
    """start → intermediate timer 'wait' (``duration``) → end."""
    return _through(key, "wait", f'<bpmn:intermediateCatchEvent id="wait">{_FLOWS}<bpmn:timerEventDefinition>'
                                 f"<bpmn:timeDuration>{escape(duration)}</bpmn:timeDuration>"
                                 "</bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>")


def message_model(key: str, payload: str) -> bytes:
    """start → throw message 'send' (its payload ``payload``) → end."""
    return _through(key, "send", f'<bpmn:intermediateThrowEvent id="send">{_FLOWS}'
                                 '<bpmn:messageEventDefinition messageRef="note_message"><bpmn:extensionElements>'
                                 f"<spiffworkflow:messagePayload>{escape(payload)}</spiffworkflow:messagePayload>"
                                 "</bpmn:extensionElements></bpmn:messageEventDefinition></bpmn:intermediateThrowEvent>",
                    definitions='<bpmn:message id="note_message" name="note"/>\n')


START_DATA = {"x": 1, "items": [3, 1, 2]}

#: (script, the same attack as a condition, how it ends, what the refusal or incident says)
HOSTILE = [
    pytest.param("import os", "import os", "refused", "imports are not allowed", id="import"),
    pytest.param("__import__('os')", "__import__('os').getpid() > 0", "refused", "'__import__'", id="dunder-import"),
    pytest.param("open('/etc/hostname')", "open('/etc/hostname') is not None", "refused", "'open'", id="open"),
    pytest.param("().__class__.__base__.__subclasses__()", "len(().__class__.__base__.__subclasses__()) > 0",
                 "refused", "'__class__'", id="subclasses"),
    pytest.param("random._os.system('id')", "random._os.system('id') == 0", "refused", "'_os'", id="module-private"),
    pytest.param("getattr(x, '__globals__')", "getattr(x, '__globals__') is None", "refused", "'getattr'",
                 id="getattr"),
    pytest.param("while True: pass", "any(False for i in range(10**7) for j in range(10**7))", "incident",
                 "script ran longer than 1 s", id="endless-loop"),
    pytest.param("s = 'a' * 10**10", "len('a' * 10**10) > 0", "incident",
                 "result would exceed 10,000,000 elements", id="huge-string"),
]


def _deploy(huhua: Huhua, name: str, content: bytes) -> None:
    huhua.execute(DeployModels(files=((name, content),), actor="admin"))


def _assert_still_serving(huhua: Huhua) -> None:
    started = huhua.execute(StartInstance("straight", "admin"))
    assert started["state"] == "completed"
    assert huhua.queries.instance(started["id"])["data"] == {"total": 75}


def _run_hostile(huhua: Huhua, model: bytes, element_id: str, outcome: str, says: str,
                 also_named: str | None = None) -> None:
    """Deploy and start ``model``; ``also_named`` is another element a refusal may name (a gateway's flow)."""
    deploy_fixtures(huhua, "straight.bpmn")
    began = time.monotonic()
    if outcome == "refused":
        with pytest.raises(InvalidModel) as refused:
            _deploy(huhua, "hostile.bpmn", model)
        assert len(refused.value.problems) == 1
        assert refused.value.problems[0].element_id in (element_id, also_named)
        assert says in refused.value.problems[0].message
        assert huhua.queries.definitions(key="attack") == []
        with pytest.raises(InvalidModel) as validated:  # `huhua validate` says the same
            huhua.queries.validate_models((("hostile.bpmn", model),))
        assert validated.value.problems == refused.value.problems
    else:
        _deploy(huhua, "hostile.bpmn", model)
        started = huhua.execute(StartInstance("attack", "admin", variables=START_DATA, origin=ENGINE))
        assert started["state"] == "incident" and says in started["incident"]
        incidents = huhua.queries.instance(started["id"])["incidents"]
        assert [i["element_id"] for i in incidents] == [element_id]
    assert time.monotonic() - began < DEADLINE_SECONDS
    _assert_still_serving(huhua)


@pytest.mark.parametrize("script, condition, outcome, says", HOSTILE)
def test_hostile_script_task_is_refused_or_stopped(huhua: Huhua, script: str, condition: str, outcome: str,
                                                   says: str) -> None:
    _run_hostile(huhua, script_model("attack", script), "hostile", outcome, says)


@pytest.mark.parametrize("script, condition, outcome, says", HOSTILE)
def test_hostile_gateway_condition_is_refused_or_stopped(huhua: Huhua, script: str, condition: str, outcome: str,
                                                         says: str) -> None:
    if script == "import os":  # not an expression at all; the model lint may refuse it first, naming the flow
        says = "import os"
    _run_hostile(huhua, gateway_model("attack", condition), "choose", outcome, says, also_named="risky")


#: Other ways out that the sandbox must refuse before anything runs.
REFUSED_ESCAPES = [
    pytest.param("s = '{0.__class__}'.format(1)", "'.format' is not allowed", id="str-format"),
    pytest.param("s = '{0.__class__}'.format_map({})", "'.format_map' is not allowed", id="format-map"),
    pytest.param("g = (i for i in items)\nf = g.gi_frame", "'.gi_frame'", id="generator-frame"),
    pytest.param("f = (i for i in items).gi_frame.f_back.f_globals", "'.gi_frame'", id="frame-globals"),
    pytest.param("f = lambda: (yield)", "'yield' is not allowed", id="lambda-yield"),
    pytest.param("def f():\n    return 1\ny = f()", "'def' is not allowed", id="def"),
    pytest.param("class A:\n    pass", "'class' is not allowed", id="class"),
    pytest.param("global x\nx = 2", "'global' is not allowed", id="global"),
    pytest.param("f = items.append", "must be called where it is named", id="method-reference"),
    pytest.param("ok = any(map(items.append, items))", "must be called where it is named", id="self-feeding-map"),
    pytest.param("y = [*items, *items, *items]", "'*' unpacking", id="star-display"),
    pytest.param("items[0:0] = items", "assigning to a slice", id="slice-assignment"),
    pytest.param("x.real = 2", "assigning to an attribute", id="attribute-assignment"),
    pytest.param("s = f'{x:>1000000000}'", "f-string width", id="fstring-width"),
    pytest.param("s = f'{x:>{x}}'", "format spec", id="fstring-computed-spec"),
    pytest.param("try:\n    y = 1\nfinally:\n    y = 2", "'finally' is not allowed", id="finally"),
    pytest.param("try:\n    y = 1\nexcept:\n    y = 2", "bare 'except:'", id="bare-except"),
    pytest.param("t = type(x)", "'type'", id="type"),
    pytest.param("v = vars()", "'vars'", id="vars"),
    pytest.param("m = str.mro()", "'.mro' is not allowed", id="mro"),
    pytest.param("try:\n    y = 1 / 0\nexcept ZeroDivisionError as e:\n    t = e.__traceback__", "'__traceback__'",
                 id="traceback"),
    pytest.param("it = iter(int, 1)", "'iter'", id="iter-sentinel"),
    pytest.param("with x:\n    pass", "'with' is not allowed", id="with"),
    pytest.param("b = x.to_bytes(10**9, 'big')", "'.to_bytes'", id="to-bytes"),
    pytest.param("d = today.today()", "'.today'", id="wall-clock"),
]


@pytest.mark.parametrize("script, says", REFUSED_ESCAPES)
def test_other_escapes_are_refused_at_deploy(huhua: Huhua, script: str, says: str) -> None:
    with pytest.raises(InvalidModel) as refused:
        _deploy(huhua, "escape.bpmn", script_model("escape", script))
    assert [p.element_id for p in refused.value.problems] == ["hostile"]
    assert says in refused.value.problems[0].message


#: Escapes that only show at run time: each becomes an incident on the script task.
RUNTIME_STOPS = [
    pytest.param("s = '%.100000000f' % 1.5", "% format width", id="percent-width"),
    pytest.param("s = ''.join(['a' * 10**7] * 100)", "result would exceed 10,000,000 elements", id="join"),
    pytest.param("s = 'ab'.replace('', 'x' * 10**7)", "result would exceed 10,000,000 elements", id="replace"),
    pytest.param("s = 'a'.zfill(10**9)", "result would exceed 10,000,000 elements", id="zfill"),
    pytest.param("y = 10**10**10", "integer result would exceed 100,000 bits", id="huge-power"),
    pytest.param("y = 1 << 10**10", "integer result would exceed 100,000 bits", id="huge-shift"),
    pytest.param("r = list(range(10**12))", "result would exceed 10,000,000 elements", id="range"),
    pytest.param("l = [0] * 10**7\nl += l", "result would exceed 10,000,000 elements", id="inplace-doubling"),
    pytest.param("l = [1] * 10**7\nl.extend(l)", "result would exceed 10,000,000 elements", id="extend"),
    pytest.param("a = [0] * 10**4\nb = [a] * 10**4", "the task data would exceed", id="aliased-data"),
    pytest.param("l = [1]\nl.append(l)", "refers to itself", id="cyclic-data"),
    pytest.param("z = round(5, -10**9)", "round() takes at most", id="round"),
    pytest.param("pairs = zip(items, items)", "not data", id="lazy-iterator-in-data"),
    pytest.param("try:\n    while True:\n        pass\nexcept Exception:\n    y = 1", "script ran longer than 1 s",
                 id="stop-is-not-catchable"),
]


@pytest.mark.parametrize("script, says", RUNTIME_STOPS)
def test_runtime_escapes_become_incidents(huhua: Huhua, script: str, says: str) -> None:
    _run_hostile(huhua, script_model("attack", script), "hostile", "incident", says)


NORMAL_SCRIPT = """
names = [n.strip().upper() for n in raw_names if n.strip()]
counts = {}
for n in names:
    counts[n] = counts.get(n, 0) + 1
info = dict(meta)
info.update({'checked': True})
info['tags'] += ['seen']
first_w = [n for n in names if n.startswith('W')]
parts = 'a,b,c'.split(',')
joined = '-'.join(parts)
due = (today() + timedelta(days=7)).isoformat()
weekday = today().weekday()
ranked = sorted(scores.items(), key=lambda pair: -pair[1])
best = ranked[0][0]
label = f"{len(names)} names, best {best}: {scores[best]:.1f}"
try:
    bad = int('not a number')
except ValueError:
    bad = -1
total = sum(scores.values())
big = 2 ** 64
while total > 100:
    total -= 100
"""


def test_ordinary_scripts_and_conditions_still_work(huhua: Huhua) -> None:
    _deploy(huhua, "normal.bpmn", script_model("normal", NORMAL_SCRIPT))
    variables = {"raw_names": [" wang ", "li", "", "Wang"], "meta": {"tags": ["new"]},
                 "scores": {"wang": 91.5, "li": 78}}
    started = huhua.execute(StartInstance("normal", "admin", variables=variables, origin=ENGINE))
    assert started["state"] == "completed", started["incident"]
    data = huhua.queries.instance(started["id"])["data"]
    assert data["names"] == ["WANG", "LI", "WANG"] and data["counts"] == {"WANG": 2, "LI": 1}
    assert data["info"] == {"tags": ["new", "seen"], "checked": True}
    assert data["meta"] == {"tags": ["new", "seen"]}  # dict() copies shallowly, as in Python
    assert data["first_w"] == ["WANG", "WANG"] and data["joined"] == "a-b-c"
    assert data["due"] == "2026-03-09" and data["weekday"] == 0  # the engine's virtual clock: Monday 2 March
    assert data["best"] == "wang" and data["label"] == "3 names, best wang: 91.5"
    assert data["bad"] == -1 and data["total"] == 69.5 and data["big"] == 2 ** 64

    condition = "len(names) > 1 and 'WANG' in [n.upper() for n in names] and today().year == 2026"
    _deploy(huhua, "choice.bpmn", gateway_model("choice", condition))
    taken = huhua.execute(StartInstance("choice", "admin", variables={"names": ["wang", "li"]}, origin=ENGINE))
    assert taken["state"] == "completed"
    history = huhua.queries.instance(taken["id"])["history"]
    assert any("end_a" in (event["detail"].get("elements") or []) for event in history)


@pytest.mark.parametrize("model, element_id, says", [
    pytest.param(user_task_model("prop", '<bpmn:extensionElements><spiffworkflow:properties>'
                                 '<spiffworkflow:property name="candidateUsers" value="=().__class__"/>'
                                 '</spiffworkflow:properties></bpmn:extensionElements>'),
                 "ask", "property 'candidateUsers'", id="task-property"),
    pytest.param(timer_model("timer", "__import__('os').getenv('HOME')"), "wait", "timer expression", id="timer"),
    pytest.param(gateway_model("mutating", "items.append(4) is None"), "choose", "must not change data",
                 id="condition-with-effects"),
    pytest.param(message_model("payload", "{'leak': ().__class__.__mro__}"), "send", "payload of 'note'",
                 id="message-payload"),
])
def test_expressions_outside_scripts_are_audited_at_deploy(huhua: Huhua, model: bytes, element_id: str,
                                                           says: str) -> None:
    with pytest.raises(InvalidModel) as refused:
        _deploy(huhua, "expression.bpmn", model)
    assert [p.element_id for p in refused.value.problems] == [element_id]
    assert says in refused.value.problems[0].message


def test_iso_timer_literals_are_not_expressions(huhua: Huhua) -> None:
    _deploy(huhua, "timer.bpmn", timer_model("timer", "P2D"))
    assert huhua.execute(StartInstance("timer", "admin"))["state"] == "running"


def test_a_stopped_script_leaves_no_stop_behind_for_the_next_evaluations() -> None:
    """The watchdog interrupts only the thread over budget, and never after its evaluation ended."""
    environment = GuardedEnvironment(SystemClock(), ScriptLimits(seconds=0.2))
    outcome: dict[str, object] = {}

    def endless() -> None:
        try:
            environment.execute("while True: pass", {})
        except ScriptLimitExceeded as stop:
            outcome["stop"] = str(stop)

    runner = threading.Thread(target=endless)
    began = time.monotonic()
    runner.start()
    evaluations = 0
    while runner.is_alive() or evaluations < 20_000:
        assert environment.evaluate("x * 2 + 1", {"x": evaluations}) == evaluations * 2 + 1
        evaluations += 1
    runner.join()
    assert outcome["stop"] == "script ran longer than 0.2 s"
    assert time.monotonic() - began < DEADLINE_SECONDS
    data: dict[str, object] = {"n": 0}
    for _ in range(1000):  # quick scripts right after a stop still run to the end
        environment.execute("n += 1", data)
    assert data == {"n": 1000}


def test_a_failed_script_leaves_the_task_data_as_it_was() -> None:
    environment = GuardedEnvironment(SystemClock())
    data: dict[str, object] = {"x": 1, "items": [1, 2]}
    with pytest.raises(ZeroDivisionError):
        environment.execute("a = 1\nx = 2\nb = x / 0", data)
    assert data == {"x": 1, "items": [1, 2]}
    with pytest.raises(ScriptLimitExceeded, match="beyond repair: items"):  # damaged in place: unstorable
        environment.execute("items.append(items)", data)
    assert data == {"x": 1}
