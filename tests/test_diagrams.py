"""Every shipped model carries its diagram, drawn as the layout tool (`huhua diagram layout`) draws it.

The structural test reads each processes/*.bpmn as a modeler would: a pool per process, lanes inside it, a shape
for every flow node inside its lane, boundary events on their host's border, an orthogonal edge for every
sequence flow from its source to its target, and no shape or label on top of another.
"""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from engine.bootstrap import Huhua
from engine.bpmn import diagram
from engine.bpmn.schema import validate
from engine.cli import main
from engine.commands import ENGINE, CompleteTask, DeployModels, LoadDirectory, StartInstance
from engine.org.profiles import generate
from tests.conftest import PROJECT

PROCESSES = PROJECT / "processes"
CONSTRUCTS = PROJECT / "tests" / "fixtures" / "diagram_constructs.bpmn"
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC", "di": "http://www.omg.org/spec/DD/20100524/DI"}
FLOW_NODES = ("startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent", "task",
              "userTask", "manualTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask", "receiveTask",
              "callActivity", "subProcess", "transaction", "adHocSubProcess", "exclusiveGateway", "parallelGateway",
              "inclusiveGateway", "eventBasedGateway", "complexGateway")
Box = tuple[float, float, float, float]


def _box(element: etree._Element | None) -> Box:
    assert element is not None
    return tuple(float(element.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _inside(inner: Box, outer: Box) -> bool:
    return (outer[0] <= inner[0] and outer[1] <= inner[1] and inner[0] + inner[2] <= outer[0] + outer[2]
            and inner[1] + inner[3] <= outer[1] + outer[3])


def _on_border(point: tuple[float, float], box: Box) -> bool:
    x, y = point
    on_x = box[0] - 1 <= x <= box[0] + box[2] + 1
    on_y = box[1] - 1 <= y <= box[1] + box[3] + 1
    return (on_x and (abs(y - box[1]) <= 1 or abs(y - box[1] - box[3]) <= 1)) or \
        (on_y and (abs(x - box[0]) <= 1 or abs(x - box[0] - box[2]) <= 1))


def diagram_problems(content: bytes) -> list[str]:
    """Everything a reader of the diagram would find wrong, one line each (empty: the diagram is whole)."""
    root = etree.fromstring(content)
    problems: list[str] = []
    shapes = {s.get("bpmnElement"): s for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    bounds = {element: _box(s.find("dc:Bounds", NS)) for element, s in shapes.items()}
    labels = {element: _box(s.find("bpmndi:BPMNLabel/dc:Bounds", NS)) for element, s in {**shapes, **edges}.items()
              if s.find("bpmndi:BPMNLabel/dc:Bounds", NS) is not None}
    nodes = [n for tag in FLOW_NODES for n in root.iterfind(f".//bpmn:{tag}", NS)]
    hosts = {n.get("id"): n.get("attachedToRef") for n in nodes if n.tag.endswith("boundaryEvent")}
    collaboration = root.find("bpmn:collaboration", NS)
    plane = root.find("bpmndi:BPMNDiagram/bpmndi:BPMNPlane", NS)
    if collaboration is None or plane is None or plane.get("bpmnElement") != collaboration.get("id"):
        return ["the first diagram does not show a collaboration"]
    pools = {p.get("processRef"): p.get("id") for p in collaboration.iterfind("bpmn:participant", NS)}
    for process in root.iterfind("bpmn:process", NS):
        pool = pools.get(process.get("id"))
        if pool not in shapes or shapes[pool].get("isHorizontal") != "true":
            problems.append(f"process {process.get('id')} has no horizontal pool")
            continue
        members: dict[str, str] = {}
        for lane in process.iterfind("bpmn:laneSet/bpmn:lane", NS):
            if lane.get("id") not in shapes or shapes[lane.get("id")].get("isHorizontal") != "true":
                problems.append(f"lane {lane.get('id')} is not drawn as a horizontal lane")
                continue
            if not _inside(bounds[lane.get("id")], bounds[pool]):
                problems.append(f"lane {lane.get('id')} is not inside its pool")
            for ref in lane.iterfind("bpmn:flowNodeRef", NS):
                if ref.text in members:
                    problems.append(f"{ref.text} is in two lanes")
                members[ref.text or ""] = lane.get("id") or ""
        for node in process:
            if not isinstance(node.tag, str) or etree.QName(node).localname not in FLOW_NODES:
                continue
            node_id = node.get("id")
            if node_id not in members:
                problems.append(f"{node_id} is in no lane")
            elif node_id in bounds and not _inside(bounds[node_id], bounds[members[node_id]]):
                problems.append(f"{node_id} is drawn outside its lane {members[node_id]}")
    for node in nodes:
        if node.get("id") not in shapes:
            problems.append(f"{node.get('id')} has no shape")
    for boundary, host in hosts.items():
        if boundary in bounds and host in bounds:
            x, y, w, h = bounds[boundary]
            if not _on_border((x + w / 2, y + h / 2), bounds[host]):
                problems.append(f"boundary event {boundary} is not on the border of {host}")
    for flow in root.iterfind(".//bpmn:sequenceFlow", NS):
        edge = edges.get(flow.get("id"))
        if edge is None:
            problems.append(f"{flow.get('id')} has no edge")
            continue
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.iterfind("di:waypoint", NS)]
        if len(points) < 2 or any(a[0] != b[0] and a[1] != b[1] for a, b in itertools.pairwise(points)):
            problems.append(f"{flow.get('id')} is not an orthogonal edge")
            continue
        for end, point in (("sourceRef", points[0]), ("targetRef", points[-1])):
            if flow.get(end) in bounds and not _on_border(point, bounds[flow.get(end) or ""]):
                problems.append(f"{flow.get('id')} does not touch its {end[:-3]} {flow.get(end)}")
    drawn = [(element, box) for element, box in bounds.items() if element not in pools.values()
             and not shapes[element].get("bpmnElement", "").startswith("lane")
             and root.find(f".//bpmn:lane[@id='{element}']", NS) is None]
    for index, (a, box_a) in enumerate(drawn):
        for b, box_b in drawn[index + 1:]:
            if hosts.get(a) == b or hosts.get(b) == a:
                continue
            if _overlap(box_a, box_b) and _same_plane(root, a, b):
                problems.append(f"shapes {a} and {b} overlap")
    label_items = list(labels.items())
    for index, (a, box_a) in enumerate(label_items):
        for b, box_b in label_items[index + 1:]:
            if _overlap(box_a, box_b) and _same_plane(root, a, b):
                problems.append(f"the labels of {a} and {b} overlap")
        for b, box_b in drawn:
            if _overlap(box_a, box_b) and _same_plane(root, a, b):
                problems.append(f"the label of {a} overlaps the shape of {b}")
    return problems


def _same_plane(root: etree._Element, a: str, b: str) -> bool:
    def plane(element: str) -> str:
        found = root.find(f".//bpmndi:BPMNPlane/*[@bpmnElement='{element}']/..", NS)
        return found.get("id") if found is not None else ""
    return plane(a) == plane(b)


SHIPPED = sorted(PROCESSES.glob("*.bpmn"))


def test_every_shipped_model_has_a_whole_diagram_in_pools_and_lanes() -> None:
    assert len(SHIPPED) >= 30
    found = {path.name: diagram_problems(path.read_bytes()) for path in SHIPPED}
    assert {name: problems for name, problems in found.items() if problems} == {}
    for path in SHIPPED:  # valid BPMN 2.0 DI by the OMG schemas (what Camunda Modeler reads)
        assert validate(etree.ElementTree(etree.fromstring(path.read_bytes())), path.name) == [], path.name


def test_the_tool_writes_the_same_file_twice_and_changes_no_behaviour(tmp_path: Path) -> None:
    """Laid out again, every shipped model is byte for byte the same; a model's lanes get readable names."""
    facts = diagram.read_library(path.read_bytes() for path in SHIPPED)
    for path in SHIPPED:
        content = path.read_bytes()
        assert diagram.lay_out(content, path.name, facts) == content, f"{path.name} is not as the tool draws it"
    for path in sorted((PROJECT / "tests" / "fixtures").rglob("*.bpmn")):  # any model, whatever it holds
        once = diagram.lay_out(path.read_bytes(), path.name)
        assert diagram.lay_out(once, path.name) == once and diagram_problems(once) == [], path.name
    plain = (PROJECT / "tests" / "fixtures" / "review.bpmn").read_bytes()
    assert not diagram.has_diagram(plain)
    once = diagram.lay_out(plain, "review.bpmn")
    # the command line: a file with a diagram is kept unless --force; --check writes nothing and says so
    target = tmp_path / "review.bpmn"
    target.write_bytes(plain)
    runner = CliRunner()
    check = runner.invoke(main, ["diagram", "layout", "--check", str(target)])
    assert check.exit_code == 1 and "would change" in check.output and target.read_bytes() == plain
    assert runner.invoke(main, ["diagram", "layout", str(target)]).exit_code == 0
    assert target.read_bytes() == once
    kept = runner.invoke(main, ["diagram", "layout", "--check", "--force", str(tmp_path)])
    assert kept.exit_code == 0 and "unchanged" in kept.output
    missing = runner.invoke(main, ["diagram", "layout", str(tmp_path / "nothing.bpmn")])
    assert missing.exit_code == 2 and "nothing.bpmn" in missing.output


LANED = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
                  id="laned_definitions" targetNamespace="http://huhua.example/tests">
  <bpmn:process id="laned" name="\xe5\x88\x86\xe9\x81\x93" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="county" name="\xe4\xb8\x93\xe9\xa1\xb9\xe8\xb4\x9f\xe8\xb4\xa3\xe4\xba\xba@county">
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="\xe5\xae\xa1\xe6\xa0\xb8">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="sign"/>
    <bpmn:userTask id="sign" name="\xe7\xad\xbe\xe5\x8f\x91">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="candidateRoles" value="principal"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="sign" targetRef="end"/>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_laid_out_model_offers_its_tasks_to_the_same_people(huhua: Huhua) -> None:
    """Lanes named for readers (县市区专项负责人) keep offering tasks to the role they stood for."""
    laid_out = diagram.lay_out(LANED, "laned.bpmn")
    root = etree.fromstring(laid_out)
    assert [lane.get("name") for lane in root.iterfind(".//bpmn:lane", NS)] == ["县市区专项负责人", "校长"]
    assert diagram_problems(laid_out) == []
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(DeployModels(files=(("laned.bpmn", laid_out),), actor="admin", source="test"))
    started = huhua.execute(StartInstance("laned", "admin", org_scope="zhuhui-s001", origin=ENGINE))
    review = huhua.queries.tasks(user="zhuhui-zr", instance_id=started["id"])
    assert [t["name"] for t in review] == ["审核"]  # the county officer, as the lane's old name said
    assert huhua.queries.tasks(user="zhuhui-s001-zr", instance_id=started["id"]) == []
    huhua.execute(CompleteTask(review[0]["id"], "zhuhui-zr", {}))
    assert [t["name"] for t in huhua.queries.tasks(user="zhuhui-s001-xz", instance_id=started["id"])] == ["签发"]


def test_pools_sub_processes_artifacts_and_message_flows_are_drawn() -> None:
    """Two pools with a message flow, a collapsed sub-process drawn on its own plane, a compensation handler
    beside its boundary event, a text annotation and a data object: all drawn, valid against the schemas."""
    laid_out = diagram.lay_out(CONSTRUCTS.read_bytes(), CONSTRUCTS.name)
    root = etree.fromstring(laid_out)
    assert diagram_problems(laid_out) == [] and diagram.missing_from_diagram(laid_out) == []
    assert validate(etree.ElementTree(root), CONSTRUCTS.name) == []
    planes = {p.get("bpmnElement"): {e.get("bpmnElement") for e in p} for p in root.iterfind(".//bpmndi:BPMNPlane", NS)}
    assert set(planes) == {"constructs_collaboration", "review"}
    assert {"review_start", "check", "review_end", "to_check"} <= planes["review"]
    assert {"constructs_pool", "partner_pool", "notice_flow", "note", "note_link", "file", "undo", "undo_link"} <= \
        planes["constructs_collaboration"]
    shapes = {s.get("bpmnElement"): s for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    assert shapes["review"].get("isExpanded") == "false"
    pools = [_box(shapes[pool].find("dc:Bounds", NS)) for pool in ("constructs_pool", "partner_pool")]
    assert not _overlap(*pools)
    lanes = {lane.get("name"): [ref.text for ref in lane.iterfind("bpmn:flowNodeRef", NS)]
             for lane in root.iterfind("bpmn:process[@id='diagram_constructs']/bpmn:laneSet/bpmn:lane", NS)}
    assert lanes["系统（自动）"][0] == "start" and "chase" in lanes["上级专项负责人"]


@pytest.mark.parametrize("name", ["monthly_school_check.bpmn"])
def test_a_model_edited_after_layout_is_found_incomplete(name: str, tmp_path: Path) -> None:
    """A task added without a shape is reported by name, and laying the file out again draws it."""
    shutil.copy(PROCESSES / name, tmp_path / name)
    content = (tmp_path / name).read_bytes().replace(
        b"</bpmn:process>", b'<bpmn:task id="extra" name="extra"/></bpmn:process>', 1)
    assert diagram.missing_from_diagram(content) == ["extra"]
    assert "extra is in no lane" in diagram_problems(content)
    (tmp_path / name).write_bytes(content)
    found = CliRunner().invoke(main, ["diagram", "layout", "--check", str(tmp_path / name)])
    assert found.exit_code == 1 and "incomplete diagram: extra not drawn" in found.output
    assert diagram.missing_from_diagram(diagram.lay_out(content, name)) == []
