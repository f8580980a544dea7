"""Semantic validation at deploy time: models that break the BPMN spec are refused, valid ones never are.

The corpora are betsy's: 301 models that each break one of the spec's constraints (as catalogued by
BPMNspector) and 137 valid test processes; Huhua's own process library, fixtures and benchmark
models must pass too. No database is needed.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from engine.bpmn.lint import lint
from engine.bpmn.parser import ModelFile, inspect_models
from engine.bpmn.safe_xml import parse_xml
from engine.errors import InvalidModel, Problem

PROJECT = Path(__file__).resolve().parents[1]
BETSY = PROJECT.parent / "shared" / "conformance" / "betsy"
CONSTRAINTS = BETSY / "bpmn_constraints"
VALID_GROUPS = ("basics", "activities", "gateways", "events", "errors", "data", "cfpatterns")
MAX_BYTES = 5 * 1024 * 1024
REFUSED_AT_LEAST = 280
_IMPORT_LOCATION = re.compile(rb"<(?:\w+:)?import\b[^>]*\blocation=\"([^\"]+)\"")


def _lint_file(path: Path) -> list[Problem]:
    return lint(parse_xml(path.read_bytes(), path.name, MAX_BYTES), path.name)


def _with_imported_siblings(model: Path) -> list[ModelFile]:
    """The model and the files of its folder that it imports, deployed together as a deployment would be."""
    files = {model.name: model}
    pending = [model]
    while pending:
        for location in _IMPORT_LOCATION.findall(pending.pop().read_bytes()):
            sibling = model.parent / Path(location.decode()).name
            if sibling.is_file() and sibling.name not in files:
                files[sibling.name] = sibling
                pending.append(sibling)
    return [ModelFile(name, path.read_bytes()) for name, path in files.items()]


@cache
def _constraint_outcomes() -> dict[str, InvalidModel | None]:
    """Each constraint model's refusal, or None when it was deployed."""
    outcomes: dict[str, InvalidModel | None] = {}
    for model in sorted(CONSTRAINTS.rglob("*.bpmn")):
        try:
            inspect_models(_with_imported_siblings(model), MAX_BYTES)
            outcomes[str(model.relative_to(CONSTRAINTS))] = None
        except InvalidModel as refused:
            outcomes[str(model.relative_to(CONSTRAINTS))] = refused
    return outcomes


def _expected_to_fail() -> set[str]:
    """Valid-group models whose expected outcome is an error: engines may refuse them."""
    tests = json.loads((BETSY / "expected.json").read_text())["tests"]
    return {test["file"] for test in tests if any(case["expected"] == ["ERROR"] for case in test["cases"])}


def _valid_models() -> list[Path]:
    return [model for group in VALID_GROUPS for model in sorted((BETSY / group).glob("*.bpmn"))]


def _project_models() -> list[Path]:
    return [model for folder in ("processes", "tests/fixtures", "bench/models")
            for model in sorted((PROJECT / folder).glob("*.bpmn"))]


# ----- the corpora ---------------------------------------------------------------------------------

def test_the_constraint_suite_is_all_there() -> None:
    assert len(_constraint_outcomes()) == 301


def test_constraint_models_are_refused() -> None:
    outcomes = _constraint_outcomes()
    accepted = sorted(name for name, refused in outcomes.items() if refused is None)
    assert len(outcomes) - len(accepted) >= REFUSED_AT_LEAST, f"accepted: {accepted}"


def test_every_refusal_is_located() -> None:
    for name, refused in _constraint_outcomes().items():
        if refused is None:
            continue
        assert refused.problems, name
        assert any(p.element_id or (p.file and p.line) for p in refused.problems), (name, refused.problems)


@pytest.mark.parametrize("model", _valid_models(), ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_valid_betsy_models_get_no_finding(model: Path) -> None:
    findings = _lint_file(model)
    if f"{model.parent.name}/{model.name}" in _expected_to_fail():
        return  # invalid loop counts or token quantities: refusing them is what the suite expects
    assert findings == []


def test_models_expected_to_fail_are_refused_for_their_fault() -> None:
    expected = _expected_to_fail()
    assert len(expected) == 4
    for name in expected:
        rules = " ".join(p.message for p in _lint_file(BETSY / name))
        assert re.search(r"token-quantity|loop-maximum|loop-cardinality", rules), (name, rules)


@pytest.mark.parametrize("model", _project_models(), ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_project_models_get_no_finding(model: Path) -> None:
    assert _lint_file(model) == []


# ----- single rules on small models ----------------------------------------------------------------

def _definitions(body: str, extra: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
            f'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:other="urn:another-model" '
            f'id="defs" targetNamespace="urn:test">\n{extra}\n'
            f'<bpmn:process id="p" isExecutable="true">\n{body}\n</bpmn:process>\n'
            f'</bpmn:definitions>\n').encode()


def _findings(body: str, extra: str = "") -> list[Problem]:
    return lint(parse_xml(_definitions(body, extra), "rule.bpmn", MAX_BYTES), "rule.bpmn")


def _flow(identifier: str, source: str, target: str, condition: str | None = None) -> str:
    if condition is None:
        return f'<bpmn:sequenceFlow id="{identifier}" sourceRef="{source}" targetRef="{target}"/>'
    return (f'<bpmn:sequenceFlow id="{identifier}" sourceRef="{source}" targetRef="{target}">'
            f'<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>')


def _timer(value: str) -> str:
    return ('<bpmn:startEvent id="s"/>' + _flow("f1", "s", "wait")
            + f'<bpmn:intermediateCatchEvent id="wait" name="Wait"><bpmn:timerEventDefinition>'
            f'<bpmn:timeDuration>{value}</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>'
            + _flow("f2", "wait", "e") + '<bpmn:endEvent id="e"/>')


STRAIGHT = '<bpmn:startEvent id="s"/>' + _flow("f1", "s", "t") + '<bpmn:task id="t" name="Work"/>' + \
    _flow("f2", "t", "e") + '<bpmn:endEvent id="e"/>'


def test_a_valid_small_model_has_no_finding() -> None:
    assert _findings(STRAIGHT) == []


def test_an_undecidable_gateway_is_named_with_file_line_and_rule() -> None:
    body = ('<bpmn:startEvent id="s"/>' + _flow("f1", "s", "gw1")
            + '<bpmn:exclusiveGateway id="gw1" name="Decide"/>'
            + _flow("yes", "gw1", "e1") + _flow("no", "gw1", "e2")
            + '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>')
    [problem] = _findings(body)
    assert problem.message.startswith("exclusive gateway 'Decide' (gw1) has 2 outgoing flows without conditions "
                                      "and no default flow")
    assert problem.message.endswith("[rule: gateway-conditions]")
    lines = _definitions(body).decode().splitlines()
    gateway_line = next(number for number, line in enumerate(lines, 1) if 'id="gw1"' in line)
    assert (problem.file, problem.line, problem.element_id) == ("rule.bpmn", gateway_line, "gw1")


def test_a_gateway_with_conditions_and_a_default_is_fine() -> None:
    body = ('<bpmn:startEvent id="s"/>' + _flow("f1", "s", "gw1")
            + '<bpmn:exclusiveGateway id="gw1" default="no"/>'
            + _flow("yes", "gw1", "e1", "approved") + _flow("no", "gw1", "e2")
            + '<bpmn:endEvent id="e1"/><bpmn:endEvent id="e2"/>')
    assert _findings(body) == []


@pytest.mark.parametrize("body, rule, element", [
    # a default flow that leaves another element
    ('<bpmn:startEvent id="s"/>' + _flow("f1", "s", "gw") + '<bpmn:exclusiveGateway id="gw" default="f1"/>'
     + _flow("a", "gw", "e1", "x") + _flow("b", "gw", "e2", "not x") + '<bpmn:endEvent id="e1"/>'
     '<bpmn:endEvent id="e2"/>', "EXT.026", "gw"),
    # a start event entered by a flow, an end event left by one
    (STRAIGHT + _flow("back", "t", "s"), "EXT.096", "s"),
    (STRAIGHT + _flow("on", "e", "t"), "EXT.104", "e"),
    # a flow into a sub-process's inner task
    ('<bpmn:startEvent id="s"/>' + _flow("f1", "s", "inner") + '<bpmn:subProcess id="sub"><bpmn:startEvent '
     'id="s2"/>' + _flow("f2", "s2", "inner") + '<bpmn:task id="inner"/>' + _flow("f3", "inner", "e2")
     + '<bpmn:endEvent id="e2"/></bpmn:subProcess>' + _flow("f4", "sub", "e") + '<bpmn:endEvent id="e"/>',
     "EXT.152", "f1"),
    # a flow to nothing
    (STRAIGHT.replace('targetRef="e"', 'targetRef="nowhere"'), "flow-ends-exist", "f2"),
    # a task no start event reaches
    (STRAIGHT + '<bpmn:task id="orphan" name="Forgotten"/>' + _flow("f3", "orphan", "e"), "EXT.150", "orphan"),
    # a boundary event attached to a flow, one with an incoming flow
    (STRAIGHT + '<bpmn:boundaryEvent id="b" attachedToRef="f1"><bpmn:timerEventDefinition><bpmn:timeDuration>'
     'PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>' + _flow("f3", "b", "e"),
     "reference-type", "b"),
    (STRAIGHT + '<bpmn:boundaryEvent id="b" attachedToRef="t"><bpmn:timerEventDefinition><bpmn:timeDuration>'
     'PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>' + _flow("f3", "b", "e")
     + _flow("f4", "s", "b"), "EXT.112", "b"),
    # a message event whose message is not in the file
    ('<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="missing"/></bpmn:startEvent>'
     + _flow("f1", "s", "e") + '<bpmn:endEvent id="e"/>', "reference-exists", "s"),
    # a lane that lists an unknown node
    ('<bpmn:laneSet id="ls"><bpmn:lane id="lane" name="Clerks"><bpmn:flowNodeRef>t</bpmn:flowNodeRef>'
     '<bpmn:flowNodeRef>ghost</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>' + STRAIGHT, "reference-exists", "lane"),
    # a link thrown under a name no catch event has
    ('<bpmn:startEvent id="s"/>' + _flow("f1", "s", "jump") + '<bpmn:intermediateThrowEvent id="jump">'
     '<bpmn:linkEventDefinition name="A"/></bpmn:intermediateThrowEvent><bpmn:intermediateCatchEvent id="land">'
     '<bpmn:linkEventDefinition name="B"/></bpmn:intermediateCatchEvent>' + _flow("f2", "land", "e")
     + '<bpmn:endEvent id="e"/>', "EXT.125", "jump"),
    # an event-based gateway that leads to a task
    ('<bpmn:startEvent id="s"/>' + _flow("f1", "s", "g") + '<bpmn:eventBasedGateway id="g"/>' + _flow("a", "g", "t1")
     + _flow("b", "g", "t2") + '<bpmn:task id="t1"/><bpmn:task id="t2"/>' + _flow("c", "t1", "e")
     + _flow("d", "t2", "e") + '<bpmn:endEvent id="e"/>', "EXT.138", "g"),
    # a data association reading a data object that does not exist
    (STRAIGHT.replace('<bpmn:task id="t" name="Work"/>', '<bpmn:task id="t" name="Work"><bpmn:property id="in"/>'
                      '<bpmn:dataInputAssociation id="da"><bpmn:sourceRef>ghost</bpmn:sourceRef><bpmn:targetRef>'
                      'in</bpmn:targetRef></bpmn:dataInputAssociation></bpmn:task>'), "reference-exists", "da"),
])
def test_a_broken_rule_is_reported_on_its_element(body: str, rule: str, element: str) -> None:
    findings = _findings(body)
    assert any(rule in p.message and p.element_id == element and p.line for p in findings), findings


@pytest.mark.parametrize("value", ["PT5M", "P2D", "P1Y2M10DT2H30M", '"PT5M"', "due_date", "timedelta(days=3)",
                                   "${duration}"])
def test_timer_literals_and_expressions_are_accepted(value: str) -> None:
    assert _findings(_timer(value)) == []


@pytest.mark.parametrize("value, rule", [("INVALID", "EXT.134"), ("", "EXT.013"), ("P", "EXT.134"),
                                         ("PT5X", "EXT.134")])
def test_broken_timer_literals_are_refused(value: str, rule: str) -> None:
    [problem] = _findings(_timer(value))
    assert rule in problem.message and problem.element_id == "wait"


def test_references_into_other_namespaces_are_left_to_the_engine() -> None:
    body = ('<bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="other:shared"/></bpmn:startEvent>'
            + _flow("f1", "s", "e") + '<bpmn:endEvent id="e"/>')
    assert _findings(body) == []


def test_duplicate_ids_name_the_second_element() -> None:
    [problem] = [p for p in _findings(STRAIGHT + '<bpmn:task id="t" name="Again"/>') if "EXT.002" in p.message]
    assert problem.message.startswith("task 'Again' (t) reuses the id")


def test_deploying_a_model_that_breaks_a_rule_is_refused_with_the_rule() -> None:
    broken = _definitions(STRAIGHT + _flow("back", "t", "s"))
    with pytest.raises(InvalidModel) as refused:
        inspect_models([ModelFile("broken.bpmn", broken)], MAX_BYTES)
    assert any("start-event-incoming (EXT.096)" in p.message and p.element_id == "s" and p.file == "broken.bpmn"
               for p in refused.value.problems), refused.value.problems


def test_a_dmn_document_is_not_linted() -> None:
    dmn = (b'<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" '
           b'namespace="urn:x"><decision id="x" name="x"/></definitions>')
    assert lint(parse_xml(dmn, "rules.dmn", MAX_BYTES), "rules.dmn") == []


def test_a_huge_token_quantity_is_refused() -> None:
    model = (Path(__file__).parent / "fixtures" / "straight.bpmn").read_bytes().replace(
        b'<bpmn:scriptTask id="score">', b'<bpmn:scriptTask id="score" completionQuantity="20000">')
    with pytest.raises(InvalidModel, match="completionQuantity=20000"):
        inspect_models([ModelFile("tokens.bpmn", model)], 5 * 1024 * 1024)
