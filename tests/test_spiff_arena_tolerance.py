"""What spiff-arena's modeler writes and SpiffWorkflow accepts though BPMN 2.0's schema does not (issue 16): the
harmless is accepted and runs as SpiffWorkflow runs it; the rest is refused naming the element, its line and the
change to make. The models here are written for these tests, after the shapes found in spiff-arena's test data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from engine.bootstrap import Huhua
from engine.commands import ENGINE, CompleteTask, DeployModels, StartInstance
from engine.errors import InvalidModel, Problem

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI" xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="http://x">
"""

#: A message start event as spiff-arena's modeler saves it: the start event, the collaboration and the process carry
#: properties written as "[object Object]", a correlation property has an empty retrieval expression beside its real
#: one, an empty correlation key stands at the top, and the diagram's plane has a label.
MESSAGE_START = _HEAD + """
  <bpmn:collaboration id="collab" messages="[object Object],[object Object]">
    <bpmn:participant id="orders" processRef="take_order"/>
  </bpmn:collaboration>
  <bpmn:process id="take_order" name="接单" isExecutable="true" rootElements="[object Object]">
    <bpmn:startEvent id="order_in" name="收到订单" messageRef="[object Object]">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="keylessMessages" value="true"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:messageEventDefinition id="order_in_def" messageRef="order_placed"/>
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="order_in" targetRef="price"/>
    <bpmn:scriptTask id="price" name="计价"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>total = amount * 2</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="price" targetRef="done"/>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
  <bpmn:process id="place_order" name="下单" isExecutable="true">
    <bpmn:startEvent id="ps"><bpmn:outgoing>p1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="p1" sourceRef="ps" targetRef="sent"/>
    <bpmn:endEvent id="sent"><bpmn:incoming>p1</bpmn:incoming>
      <bpmn:messageEventDefinition id="sent_def" messageRef="order_placed"/></bpmn:endEvent>
  </bpmn:process>
  <bpmn:message id="order_placed" name="order_placed">
    <bpmn:extensionElements>
      <spiffworkflow:messagePayload>{"amount": amount, "number": "A7"}</spiffworkflow:messagePayload>
    </bpmn:extensionElements>
  </bpmn:message>
  <bpmn:correlationProperty id="order_number" name="order_number">
    <bpmn:correlationPropertyRetrievalExpression messageRef="order_placed">
      <bpmn:formalExpression/>
    </bpmn:correlationPropertyRetrievalExpression>
    <bpmn:correlationPropertyRetrievalExpression messageRef="order_placed">
      <bpmn:formalExpression>number</bpmn:formalExpression>
    </bpmn:correlationPropertyRetrievalExpression>
  </bpmn:correlationProperty>
  <bpmn:correlationKey id="stray_key" name="MainCorrelationKey"/>
  <bpmndi:BPMNDiagram id="diagram">
    <bpmndi:BPMNPlane id="plane" bpmnElement="collab" label="接单">
      <bpmndi:BPMNShape id="order_in_di" bpmnElement="order_in"><dc:Bounds x="0" y="0" width="36" height="36"/>
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""

#: An escalation caught at a sub-process's border, the catch carrying the errorRef="[object Object]" the modeler
#: leaves, and the escalation its code twice (escalationCode, which is read, and errorCode).
ESCALATION = _HEAD + """
  <bpmn:escalation id="late" name="逾期" escalationCode="late" errorCode="late"/>
  <bpmn:process id="escalate" name="升级" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="work"/>
    <bpmn:subProcess id="work" name="办理"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:startEvent id="ws"><bpmn:outgoing>w1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:sequenceFlow id="w1" sourceRef="ws" targetRef="raise"/>
      <bpmn:intermediateThrowEvent id="raise" name="上报"><bpmn:incoming>w1</bpmn:incoming>
        <bpmn:outgoing>w2</bpmn:outgoing><bpmn:escalationEventDefinition escalationRef="late"/>
      </bpmn:intermediateThrowEvent>
      <bpmn:sequenceFlow id="w2" sourceRef="raise" targetRef="we"/>
      <bpmn:endEvent id="we"><bpmn:incoming>w2</bpmn:incoming></bpmn:endEvent>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="e"/>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:boundaryEvent id="caught" attachedToRef="work" cancelActivity="false"><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:escalationEventDefinition id="caught_def" escalationRef="late" errorRef="[object Object]"/>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="caught" targetRef="note"/>
    <bpmn:scriptTask id="note" name="记录"><bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:script>escalated = True</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f4" sourceRef="note" targetRef="e2"/>
    <bpmn:endEvent id="e2"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def _looping(task_id: str, incoming: str, outgoing: str, script: str) -> str:
    return f"""<bpmn:scriptTask id="{task_id}"><bpmn:incoming>{incoming}</bpmn:incoming>
      <bpmn:outgoing>{outgoing}</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics isSequential="true">
        <bpmn:loopDataInputRef>numbers</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>{task_id}_results</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="number" name="number"/>
        <bpmn:outputDataItem id="result" name="result"/>
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:script>{script}</bpmn:script></bpmn:scriptTask>"""


#: Two multi-instance activities whose data items have the same ids: spiff-arena's modeler names an item by its
#: variable, and SpiffWorkflow reads the id as the variable.
SAME_ITEMS = _HEAD + f"""
  <bpmn:process id="twice" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="doubled"/>
    {_looping("doubled", "f1", "f2", "result = number * 2")}
    <bpmn:sequenceFlow id="f2" sourceRef="doubled" targetRef="squared"/>
    {_looping("squared", "f2", "f3", "result = number * number")}
    <bpmn:sequenceFlow id="f3" sourceRef="squared" targetRef="e"/>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def _one_step(step: str, before: str = "", after: str = "", process_attributes: str = "") -> str:
    """A process start → ``step`` (id 'step', flows f1 in and f2 out) → end, with ``before``/``after`` around it."""
    return _HEAD + f"""{before}
  <bpmn:process id="p" isExecutable="true"{process_attributes}>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="step"/>
    {step}
    <bpmn:sequenceFlow id="f2" sourceRef="step" targetRef="e"/>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>{after}
</bpmn:definitions>
"""


def _script(code: str) -> str:
    return (f'<bpmn:scriptTask id="step"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>'
            f"<bpmn:script>{code}</bpmn:script></bpmn:scriptTask>")


def _refused(huhua: Huhua, *files: tuple[str, str]) -> Problem:
    with pytest.raises(InvalidModel) as refused:
        huhua.execute(DeployModels(files=tuple((n, c.encode()) for n, c in files), actor="admin"))
    assert huhua.queries.definitions() == []  # nothing of a refused deployment is kept
    return refused.value.problems[0]


def test_a_message_start_as_spiff_arena_saves_it_deploys_and_starts_by_its_message(huhua: Huhua) -> None:
    huhua.execute(DeployModels(files=(("order.bpmn", MESSAGE_START.encode()),), actor="admin"))

    sender = huhua.execute(StartInstance("place_order", "admin", variables={"amount": 21}, origin=ENGINE))

    assert sender["state"] == "completed"
    [started] = huhua.queries.instances(process_key="take_order")
    instance = huhua.queries.instance(started["id"])
    assert (instance["state"], instance["data"]["total"]) == ("completed", 42)


def test_an_escalation_catch_with_the_modelers_error_ref_runs_as_spiffworkflow_runs_it(huhua: Huhua) -> None:
    huhua.execute(DeployModels(files=(("escalate.bpmn", ESCALATION.encode()),), actor="admin"))

    started = huhua.execute(StartInstance("escalate", "admin", origin=ENGINE))

    instance = huhua.queries.instance(started["id"])
    assert (instance["state"], instance["data"].get("escalated")) == ("completed", True)


def test_multi_instance_items_named_alike_in_two_activities_deploy_and_loop_over_their_variables(
        huhua: Huhua) -> None:
    huhua.execute(DeployModels(files=(("twice.bpmn", SAME_ITEMS.encode()),), actor="admin"))

    started = huhua.execute(StartInstance("twice", "admin", variables={"numbers": [1, 2, 3]}, origin=ENGINE))

    data = huhua.queries.instance(started["id"])["data"]
    assert (data["doubled_results"], data["squared_results"]) == ([2, 4, 6], [1, 4, 9])


def test_a_start_events_message_ref_without_a_message_definition_is_refused_saying_where_to_write_it(
        huhua: Huhua) -> None:
    model = _one_step(_script("x = 1"), before='  <bpmn:message id="order_placed" name="order_placed"/>')
    model = model.replace('<bpmn:startEvent id="s">', '<bpmn:startEvent id="s" messageRef="order_placed">')

    problem = _refused(huhua, ("p.bpmn", model))

    assert (problem.file, problem.element_id, problem.line) == ("p.bpmn", "s", 7)
    assert '<bpmn:messageEventDefinition messageRef="order_placed"/> inside the start event' in problem.message
    assert "remove its messageRef attribute" in problem.message


def test_an_escalations_error_code_is_refused_naming_escalation_code(huhua: Huhua) -> None:
    model = ESCALATION.replace('escalationCode="late" errorCode="late"', 'errorCode="26"')

    problem = _refused(huhua, ("escalate.bpmn", model))

    assert (problem.element_id, problem.line) == ("late", 6)
    assert 'write escalationCode="26" instead' in problem.message


def test_a_correlation_key_with_properties_outside_a_collaboration_is_refused_saying_where_it_goes(
        huhua: Huhua) -> None:
    key = """
  <bpmn:correlationKey id="by_number" name="by_number"><bpmn:correlationPropertyRef>number</bpmn:correlationPropertyRef>
  </bpmn:correlationKey>"""

    problem = _refused(huhua, ("p.bpmn", _one_step(_script("x = 1"), after=key)))

    assert problem.element_id == "by_number"
    assert "move it into a <bpmn:collaboration>" in problem.message


def test_a_data_store_is_refused_naming_it_and_what_to_use_instead(huhua: Huhua) -> None:
    reference = '<bpmn:dataStoreReference id="contacts_ref" dataStoreRef="contacts" type="json"/>'
    model = _one_step(_script("x = 1") + reference, before='  <bpmn:dataStore id="contacts" name="JSONFileDataStore"/>')

    problem = _refused(huhua, ("contacts.bpmn", model))

    assert (problem.element_id, problem.line) == ("contacts", 5)
    assert "spiff-arena's JSONFileDataStore, and Huhua offers no data stores" in problem.message
    assert "service task" in problem.message and "remove the data store and its references (contacts_ref)" in (
        problem.message)


def test_an_attribute_bpmn_does_not_define_is_refused_saying_to_remove_it(huhua: Huhua) -> None:
    problem = _refused(huhua, ("p.bpmn", _one_step(_script("x = 1"), process_attributes=' priority="high"')))

    assert (problem.element_id, problem.line) == ("p", 6)
    assert problem.message.startswith("BPMN 2.0 does not allow the attribute priority on <bpmn:process>; "
                                      'remove priority="…" from the element')


def test_a_stale_incoming_flow_is_refused_saying_which_line_to_remove(huhua: Huhua) -> None:
    step = _script("x = 1").replace("<bpmn:incoming>f1</bpmn:incoming>",
                                    "<bpmn:incoming>f1</bpmn:incoming><bpmn:incoming>gone</bpmn:incoming>")

    problem = _refused(huhua, ("p.bpmn", _one_step(step)))

    assert problem.element_id == "step"
    assert "remove <bpmn:incoming>gone</bpmn:incoming> from it" in problem.message


def test_random_in_a_script_is_refused_naming_what_to_use(huhua: Huhua) -> None:
    problem = _refused(huhua, ("p.bpmn", _one_step(_script("uid = random.randint(1, 100000)"))))

    assert problem.element_id == "step"
    assert "use the instance's business key" in problem.message and "form field or a service task" in (
        problem.message)


EMPTY_INPUT = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="http://x">
  <decision id="grade" name="评级">
    <decisionTable id="table">
      <input id="score_column" label="分数">
        <inputExpression id="score_expression" typeRef="number"><text></text></inputExpression>
      </input>
      <output id="out" name="level" typeRef="string"/>
      <rule id="r1"><inputEntry id="i1"><text>&gt;= 60</text></inputEntry>
        <outputEntry id="o1"><text>"合格"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>
"""


def test_an_empty_dmn_input_expression_is_refused_naming_the_decision_the_column_and_what_to_write(
        cli: Callable[..., Result], tmp_path: Path) -> None:
    table = tmp_path / "grade.dmn"
    table.write_text(EMPTY_INPUT, encoding="utf-8")

    checked = cli("validate", str(table))

    assert checked.exit_code != 0
    assert "grade.dmn:6, element score_expression: decision '评级' (grade): input column '分数' has no input " \
           "expression; write the value its rules test" in checked.output


def test_a_process_id_two_files_define_is_refused_naming_both_files_and_the_change(huhua: Huhua) -> None:
    problem = _refused(huhua, ("old.bpmn", _one_step(_script("x = 1"))), ("new.bpmn", _one_step(_script("x = 2"))))

    assert (problem.file, problem.element_id) == ("new.bpmn", "p")
    assert problem.message.startswith("the process id p is defined in old.bpmn and again in new.bpmn; give one of "
                                      "them another id")


#: A script task drawn and never given a script (spiff-arena's modeler saves none), then one that has one.
UNSCRIPTED = _one_step('<bpmn:scriptTask id="step"><bpmn:incoming>f1</bpmn:incoming>'
                       '<bpmn:outgoing>f2</bpmn:outgoing></bpmn:scriptTask>')


def test_a_script_task_without_a_script_does_nothing_and_the_instance_goes_on(huhua: Huhua) -> None:
    huhua.execute(DeployModels(files=(("p.bpmn", UNSCRIPTED.encode()),), actor="admin"))

    started = huhua.execute(StartInstance("p", "admin", variables={"kept": 1}, origin=ENGINE))

    instance = huhua.queries.instance(started["id"])
    assert (instance["state"], instance["data"]) == ("completed", {"kept": 1})


#: A parallel multi-instance manual task whose items carry a pre-script (what each item's page shows) and a
#: post-script (what each item hands back): spiff-arena's modeler writes scriptsOnInstances for that.
ITEM_SCRIPTS = _one_step("""<bpmn:manualTask id="step" name="逐项确认">
      <bpmn:extensionElements>
        <spiffworkflow:preScript>label = "第" + str(room) + "室"</spiffworkflow:preScript>
        <spiffworkflow:postScript>checked = label + "：" + note</spiffworkflow:postScript>
      </bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics spiffworkflow:scriptsOnInstances="true">
        <bpmn:loopDataInputRef>rooms</bpmn:loopDataInputRef>
        <bpmn:loopDataOutputRef>checks</bpmn:loopDataOutputRef>
        <bpmn:inputDataItem id="room" name="room"/>
        <bpmn:outputDataItem id="checked" name="checked"/>
      </bpmn:multiInstanceLoopCharacteristics>
    </bpmn:manualTask>""")


def test_the_items_of_a_multi_instance_human_task_run_its_pre_and_post_scripts(huhua: Huhua) -> None:
    huhua.execute(DeployModels(files=(("p.bpmn", ITEM_SCRIPTS.encode()),), actor="admin"))
    started = huhua.execute(StartInstance("p", "admin", variables={"rooms": [101, 102]}, origin=ENGINE))

    items = huhua.queries.tasks(instance_id=started["id"])
    assert [task["item"]["label"] for task in items] == ["第101室", "第102室"]
    for task, note in zip(items, ("已查", "待修"), strict=True):
        huhua.execute(CompleteTask(task["id"], "admin", {"note": note}))

    instance = huhua.queries.instance(started["id"])
    assert (instance["state"], instance["data"]["checks"]) == ("completed", ["第101室：已查", "第102室：待修"])


#: A data object written by a script and read by a sub-process through the placeholder property bpmn-js draws as
#: the association's target (spiff-arena's multi-instance sub-processes read their input so).
PLACEHOLDER_INPUT = _HEAD + """
  <bpmn:process id="p" isExecutable="true">
    <bpmn:dataObject id="rooms" name="rooms"/>
    <bpmn:dataObjectReference id="rooms_out" dataObjectRef="rooms"/>
    <bpmn:dataObjectReference id="rooms_in" dataObjectRef="rooms"/>
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="list"/>
    <bpmn:scriptTask id="list"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:dataOutputAssociation id="out"><bpmn:targetRef>rooms_out</bpmn:targetRef></bpmn:dataOutputAssociation>
      <bpmn:script>rooms = [101, 102, 103]</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="list" targetRef="count_all"/>
    <bpmn:subProcess id="count_all"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:property id="placeholder" name="__targetRef_placeholder"/>
      <bpmn:dataInputAssociation id="in"><bpmn:sourceRef>rooms_in</bpmn:sourceRef>
        <bpmn:targetRef>placeholder</bpmn:targetRef></bpmn:dataInputAssociation>
      <bpmn:startEvent id="inner_s"><bpmn:outgoing>i1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:sequenceFlow id="i1" sourceRef="inner_s" targetRef="count"/>
      <bpmn:scriptTask id="count"><bpmn:incoming>i1</bpmn:incoming><bpmn:outgoing>i2</bpmn:outgoing>
        <bpmn:script>room_count = len(rooms)</bpmn:script></bpmn:scriptTask>
      <bpmn:sequenceFlow id="i2" sourceRef="count" targetRef="inner_e"/>
      <bpmn:endEvent id="inner_e"><bpmn:incoming>i2</bpmn:incoming></bpmn:endEvent>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f3" sourceRef="count_all" targetRef="e"/>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_data_object_read_through_the_modelers_placeholder_property_keeps_its_own_name(huhua: Huhua) -> None:
    huhua.execute(DeployModels(files=(("p.bpmn", PLACEHOLDER_INPUT.encode()),), actor="admin"))

    started = huhua.execute(StartInstance("p", "admin", origin=ENGINE))

    instance = huhua.queries.instance(started["id"])
    assert (instance["state"], instance["incidents"], instance["data"].get("room_count")) == ("completed", [], 3)
