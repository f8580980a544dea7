"""Rewrites of a model, before SpiffWorkflow parses it, into equivalent BPMN it understands.

* ``eventDefinitionRef``: an event that points to an event definition declared once at the top of
  the file gets its own copy of that definition.
* Link events: a link throw event and the link catch event of the same name in the same scope are
  joined by a sequence flow, and both become none events — the token moves as if the two were one.
* Global tasks (``globalScriptTask`` and kin) that call activities call become one-task processes.
* A receive task with ``instantiate="true"`` and no incoming flow becomes the message start event it
  stands for (the message that starts the instance is the one it receives).
* Element ids ``Start`` and ``End`` are names SpiffWorkflow gives its own internal steps; such
  elements are renamed (``Start__element``) and their BPMN id is restored after parsing.
* Token quantities: an activity with ``startQuantity`` N > 1 waits behind a complex gateway that
  fires at N tokens; one with ``completionQuantity`` N > 1 sends N tokens down each outgoing flow.
* Diagrams: the BPMN DI is dropped. It draws the model and never changes what runs (SpiffWorkflow would order
  a node's outgoing flows by their targets' height on the diagram; without it they keep the file's order, so
  moving a shape or laying a model out again changes nothing), and parsing does not search through it.
* Data items: a multi-instance activity's input or output data item whose id (its variable, as spiff-arena's
  modeler writes it) another activity's item repeats gets that id back (engine.bpmn.editor_attributes set it
  aside so that the schema, which wants ids unique, could check the file).
* Lane roles: a lane whose ``role`` property names the role its tasks go to (engine.bpmn.lane_roles) is
  named by that role, since SpiffWorkflow hands the engine a task's lane by name; the name a reader sees
  (县市区专项负责人) stays on the diagram.

The tree is the safely parsed, already validated and linted document; it is changed in place.
"""

from __future__ import annotations

import copy

from lxml import etree

from engine.bpmn.editor_attributes import restore_data_item_ids
from engine.bpmn.lane_roles import lane_role
from engine.bpmn.schema import BPMN_NS, BPMNDI_NS, bpmn_tag

_LINK = bpmn_tag("linkEventDefinition")
_SCOPES = (bpmn_tag("process"), bpmn_tag("subProcess"), bpmn_tag("transaction"), bpmn_tag("adHocSubProcess"))


#: Suffix of elements renamed because their id is one SpiffWorkflow reserves (see restore_reserved_ids).
RENAMED = "__element"
RESERVED_IDS = frozenset({"Start", "End"})


def normalise(tree: etree._ElementTree) -> None:
    """Apply every rewrite in place."""
    restore_data_item_ids(tree.getroot())
    rename_reserved_ids(tree.getroot())
    inline_event_definition_refs(tree.getroot())
    connect_link_events(tree.getroot())
    wrap_global_tasks(tree.getroot())
    start_with_instantiating_receive_tasks(tree.getroot())
    expand_token_quantities(tree.getroot())
    name_lanes_by_role(tree.getroot())
    drop_diagrams(tree.getroot())


def drop_diagrams(root: etree._Element) -> None:
    for diagram in root.findall(f"{{{BPMNDI_NS}}}BPMNDiagram"):
        root.remove(diagram)


def name_lanes_by_role(root: etree._Element) -> None:
    for lane in root.iter(bpmn_tag("lane")):
        role = lane_role(lane)
        if role is not None:
            lane.set("name", role)


def inline_event_definition_refs(root: etree._Element) -> None:
    shared = {el.get("id"): el for el in root if isinstance(el.tag, str) and el.tag.endswith("EventDefinition")
              and etree.QName(el).namespace == BPMN_NS}
    for ref in list(root.iter(bpmn_tag("eventDefinitionRef"))):
        definition = shared.get((ref.text or "").strip())
        if definition is None:
            continue  # lint reports unresolvable references
        event = ref.getparent()
        inlined = copy.deepcopy(definition)
        inlined.set("id", f"{definition.get('id')}__{event.get('id')}")
        event.replace(ref, inlined)


def connect_link_events(root: etree._Element) -> None:
    for scope in root.iter(*_SCOPES):
        catches: dict[str, etree._Element] = {}
        throws: list[tuple[str, etree._Element]] = []
        for event in scope:
            link = event.find(_LINK) if isinstance(event.tag, str) else None
            if link is None:
                continue
            name = (link.get("name") or "").strip()
            if event.tag == bpmn_tag("intermediateCatchEvent"):
                catches[name] = event
            elif event.tag == bpmn_tag("intermediateThrowEvent"):
                throws.append((name, event))
        for name, throw in throws:
            catch = catches.get(name)
            if catch is None:
                continue
            flow_id = f"{throw.get('id')}__link__{catch.get('id')}"
            etree.SubElement(throw, bpmn_tag("outgoing")).text = flow_id
            etree.SubElement(catch, bpmn_tag("incoming")).text = flow_id
            scope.append(etree.Element(bpmn_tag("sequenceFlow"), id=flow_id, sourceRef=throw.get("id"),
                                       targetRef=catch.get("id")))
            throw.remove(throw.find(_LINK))
        for catch in catches.values():
            link = catch.find(_LINK)
            if link is not None and any(name == (link.get("name") or "").strip() for name, _ in throws):
                catch.remove(link)


_GLOBAL_TASKS = {"globalScriptTask": "scriptTask", "globalUserTask": "userTask", "globalManualTask": "manualTask",
                 "globalBusinessRuleTask": "businessRuleTask", "globalTask": "task"}


def wrap_global_tasks(root: etree._Element) -> None:
    for global_name, task_name in _GLOBAL_TASKS.items():
        for declared in list(root.findall(bpmn_tag(global_name))):
            task_id = declared.get("id")
            process = etree.Element(bpmn_tag("process"), id=task_id, isExecutable="true",
                                    name=declared.get("name") or task_id)
            start_id, end_id = f"{task_id}__start", f"{task_id}__end"
            etree.SubElement(process, bpmn_tag("startEvent"), id=start_id)
            task = etree.SubElement(process, bpmn_tag(task_name), id=task_id)
            if declared.get("name"):
                task.set("name", declared.get("name"))
            for child in declared:
                task.append(copy.deepcopy(child))
            etree.SubElement(process, bpmn_tag("endEvent"), id=end_id)
            etree.SubElement(process, bpmn_tag("sequenceFlow"), id=f"{task_id}__in", sourceRef=start_id,
                             targetRef=task_id)
            etree.SubElement(process, bpmn_tag("sequenceFlow"), id=f"{task_id}__out", sourceRef=task_id,
                             targetRef=end_id)
            root.replace(declared, process)


def start_with_instantiating_receive_tasks(root: etree._Element) -> None:
    for process in root.iter(bpmn_tag("process")):
        if process.find(bpmn_tag("startEvent")) is not None:
            continue
        targets = {flow.get("targetRef") for flow in process.iter(bpmn_tag("sequenceFlow"))}
        for receive in list(process.findall(bpmn_tag("receiveTask"))):
            if receive.get("instantiate") != "true" or receive.get("id") in targets:
                continue
            start = etree.Element(bpmn_tag("startEvent"), id=receive.get("id"))
            if receive.get("name"):
                start.set("name", receive.get("name"))
            for extensions in receive.findall(bpmn_tag("extensionElements")):  # e.g. keylessMessages, eventSenders
                start.append(copy.deepcopy(extensions))
            for outgoing in receive.findall(bpmn_tag("outgoing")):
                start.append(copy.deepcopy(outgoing))
            definition = etree.SubElement(start, bpmn_tag("messageEventDefinition"),
                                          id=f"{receive.get('id')}__message")
            if receive.get("messageRef"):
                definition.set("messageRef", receive.get("messageRef"))
            process.replace(receive, start)


_ACTIVITIES = ("task", "scriptTask", "userTask", "manualTask", "serviceTask", "businessRuleTask", "sendTask",
               "receiveTask", "subProcess", "callActivity", "transaction")


def expand_token_quantities(root: etree._Element) -> None:
    for scope in list(root.iter(*_SCOPES)):
        for activity in [el for el in scope if isinstance(el.tag, str) and etree.QName(el).localname in _ACTIVITIES]:
            start, done = _quantity(activity, "startQuantity"), _quantity(activity, "completionQuantity")
            if start > 1:
                _wait_for_tokens(scope, activity, start)
            if done > 1:
                _send_tokens(scope, activity, done)


def _quantity(activity: etree._Element, attribute: str) -> int:
    try:
        return int(activity.get(attribute, "1"))
    except ValueError:
        return 1  # lint refuses what is not a whole number


def _wait_for_tokens(scope: etree._Element, activity: etree._Element, count: int) -> None:
    gate_id = f"{activity.get('id')}__start_quantity"
    gate = etree.SubElement(scope, bpmn_tag("complexGateway"), id=gate_id)
    for flow in scope.findall(bpmn_tag("sequenceFlow")):
        if flow.get("targetRef") == activity.get("id"):
            flow.set("targetRef", gate_id)
    etree.SubElement(gate, bpmn_tag("activationCondition")).text = f"activationCount >= {count}"
    scope.append(etree.Element(bpmn_tag("sequenceFlow"), id=f"{gate_id}__flow", sourceRef=gate_id,
                               targetRef=activity.get("id")))
    for incoming in activity.findall(bpmn_tag("incoming")):
        activity.remove(incoming)


def _send_tokens(scope: etree._Element, activity: etree._Element, count: int) -> None:
    for flow in [f for f in scope.findall(bpmn_tag("sequenceFlow")) if f.get("sourceRef") == activity.get("id")]:
        split_id = f"{flow.get('id')}__completion_quantity"
        target = flow.get("targetRef")
        flow.set("targetRef", split_id)
        etree.SubElement(scope, bpmn_tag("parallelGateway"), id=split_id)
        for copy_number in range(count):
            token_id = f"{split_id}_{copy_number + 1}"
            etree.SubElement(scope, bpmn_tag("intermediateThrowEvent"), id=token_id)
            scope.append(etree.Element(bpmn_tag("sequenceFlow"), id=f"{token_id}__in", sourceRef=split_id,
                                       targetRef=token_id))
            scope.append(etree.Element(bpmn_tag("sequenceFlow"), id=f"{token_id}__out", sourceRef=token_id,
                                       targetRef=target))


def rename_reserved_ids(root: etree._Element) -> None:
    reserved = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id") in RESERVED_IDS}
    if not reserved:
        return
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            if value in reserved:
                element.set(name, value + RENAMED)
        if element.text and element.text.strip() in reserved and len(element) == 0:
            element.text = element.text.strip() + RENAMED


def restore_reserved_ids(spec: object) -> None:
    """Give renamed elements their own BPMN id back (their spec keeps the safe name)."""
    for task_spec in getattr(spec, "task_specs", {}).values():
        bpmn_id = getattr(task_spec, "bpmn_id", None)
        if bpmn_id and bpmn_id.endswith(RENAMED) and bpmn_id[: -len(RENAMED)] in RESERVED_IDS:
            task_spec.bpmn_id = bpmn_id[: -len(RENAMED)]
