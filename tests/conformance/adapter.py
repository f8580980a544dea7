"""Turns a betsy test model into one Huhua runs: placeholder scripts and JUEL-style conditions translated,
and message catches marked as taking keyless messages.

betsy writes engine-neutral placeholders in script tasks and Java/JUEL conditions; every engine's
adapter rewrites them (betsy's own adapters do the same for Camunda, jBPM, …). The trace itself is not
written by scripts: the harness reads it from the engine's activity history, so placeholders that
only log become no-ops here. betsy's ten-second waits become a ``duration`` of PT10S: the task takes that long on
the engine's clock.
"""

from __future__ import annotations

import re

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
MESSAGE_CATCHES = ("startEvent", "intermediateCatchEvent", "boundaryEvent", "receiveTask")
LOGGING_ONLY = {"CREATE_LOG_FILE", "CREATE_MARKER_FILE", "dummyScript"}
#: Placeholders whose task takes ten seconds: on the engine's clock, by the activity's ``duration`` property.
TEN_SECONDS = {"CREATE_TIMESTAMP_LOG_1", "CREATE_TIMESTAMP_LOG_2", "WAIT_TEN_SECONDS"}
INCREMENT = "integerVariable = integerVariable + 1"
CONDITION_TAGS = ("conditionExpression", "loopCondition", "completionCondition", "condition", "loopCardinality",
                  "activationCondition")
SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


def placeholder_of(script_task: etree._Element) -> str:
    script = script_task.find(f"{{{BPMN}}}script")
    return (script.text or "").strip() if script is not None else ""


def adapt(content: bytes) -> bytes:
    """Return the model with every placeholder and condition in Huhua's expression language."""
    root = etree.fromstring(content, SAFE_PARSER)
    for task in root.iter(f"{{{BPMN}}}scriptTask", f"{{{BPMN}}}globalScriptTask"):
        script = task.find(f"{{{BPMN}}}script")
        if script is not None:
            placeholder = placeholder_of(task)
            script.text = _script_for(task, placeholder)
            if placeholder in TEN_SECONDS:
                _set_property(task, "duration", "PT10S")
    for tag in CONDITION_TAGS:
        for element in root.iter(f"{{{BPMN}}}{tag}"):
            if element.text and element.text.strip():
                element.text = translate_condition(element.text)
    for catch in root.iter(*(f"{{{BPMN}}}{tag}" for tag in MESSAGE_CATCHES)):
        if catch.tag.endswith("receiveTask") or catch.find(f"{{{BPMN}}}messageEventDefinition") is not None:
            _take_keyless_messages(catch)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _take_keyless_messages(catch: etree._Element) -> None:
    """betsy's collaborations correlate messages by name alone (no key); in Huhua a catch must say it takes that."""
    _set_property(catch, "keylessMessages", "true")


def _set_property(element: etree._Element, name: str, value: str) -> None:
    """Give ``element`` the ``spiffworkflow:property`` ``name`` = ``value``."""
    extensions = element.find(f"{{{BPMN}}}extensionElements")
    if extensions is None:
        extensions = etree.Element(f"{{{BPMN}}}extensionElements")
        element.insert(1 if element.find(f"{{{BPMN}}}documentation") is not None else 0, extensions)
    properties = extensions.find(f"{{{SPIFF}}}properties")
    if properties is None:
        properties = etree.SubElement(extensions, f"{{{SPIFF}}}properties")
    etree.SubElement(properties, f"{{{SPIFF}}}property", name=name, value=value)


def _script_for(task: etree._Element, placeholder: str) -> str:
    if placeholder in LOGGING_ONLY or placeholder in TEN_SECONDS or placeholder.startswith("SCRIPT_task"):
        return "pass"
    if placeholder.startswith("INCREMENT_INTEGER_VARIABLE"):
        return INCREMENT
    if placeholder == "SET_STRING_DATA":
        outputs = task.findall(f"{{{BPMN}}}ioSpecification/{{{BPMN}}}dataOutput")
        return "\n".join(f'{o.get("id")} = "String"' for o in outputs) or 'betsy_data = "String"'
    if placeholder == "LOG_DATA":
        inputs = task.findall(f"{{{BPMN}}}ioSpecification/{{{BPMN}}}dataInput")
        name = inputs[0].get("id") if inputs else "betsy_data"
        return f"betsy_data_read = {name}"
    if placeholder == "THROW_ERROR":
        return 'throw_error("ERR_CODE")'
    return placeholder  # unknown: left for the engine to judge


def translate_condition(text: str) -> str:
    """JUEL/Java style (``${test.contains("a") && !x}``) to a Python expression."""
    expression = text.strip()
    if expression.startswith("${") and expression.endswith("}"):
        expression = expression[2:-1]
    expression = re.sub(r"(\w+)\.contains\(([^()]*)\)", r"(\2 in \1)", expression)
    expression = re.sub(r"(\w+)\.equals\(([^()]*)\)", r"(\1 == \2)", expression)
    expression = expression.replace("&&", " and ").replace("||", " or ")
    expression = re.sub(r"!(?!=)", " not ", expression)
    expression = re.sub(r"\btrue\b", "True", expression)
    expression = re.sub(r"\bfalse\b", "False", expression)
    return expression.strip()
