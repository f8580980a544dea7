"""BPMN DI for a model: a pool per process, a lane per role, a shape for every flow node, an edge for every flow.

:func:`lay_out` returns a model's XML with its diagram written in: a ``bpmn:collaboration`` with one
``bpmn:participant`` (the pool) per process, the process's ``laneSet`` completed (engine.bpmn.diagram_lanes),
and a ``bpmndi:BPMNDiagram`` whose plane shows the collaboration (engine.bpmn.diagram_layout places it); each
sub-process is drawn collapsed, its content on a plane of its own (bpmn-js drills into it). The rest of the file
is kept as written. The result is the same however often it is made (laying out a laid-out model again gives
the same bytes), and nothing that runs changes: lanes only gain the nodes they draw (see diagram_lanes).

``huhua diagram layout`` (engine.cli.diagrams) runs it over files; processes/README.md says when.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from engine.bpmn import diagram_lanes
from engine.bpmn.diagram_lanes import EVENTS, FLOW_NODES, GATEWAYS, SUB_PROCESSES, LibraryFacts, is_bpmn, local
from engine.bpmn.diagram_layout import Artifact, Boundary, Box, Flow, Layout, Node
from engine.bpmn.diagram_layout import lay_out as place
from engine.bpmn.lane_roles import ROLE_PROPERTY, SPIFF_NS
from engine.bpmn.safe_xml import parse_xml
from engine.bpmn.schema import BPMN_NS, BPMNDI_NS
from engine.errors import InvalidModel

DC_NS = "http://www.omg.org/spec/DD/20100524/DC"
DI_NS = "http://www.omg.org/spec/DD/20100524/DI"
_NAMESPACES = {"bpmndi": BPMNDI_NS, "dc": DC_NS, "di": DI_NS, "spiffworkflow": SPIFF_NS}
MAX_BYTES = 10 * 1024 * 1024
_POOL_GAP = 60
_ARTIFACTS = {"textAnnotation": "annotation", "dataObjectReference": "data", "dataStoreReference": "store"}
#: Elements that sit before a process's flow elements (tProcess's sequence in the BPMN 2.0 schema).
_PROCESS_HEAD = frozenset({"documentation", "extensionElements", "auditing", "monitoring", "property", "laneSet"})


def _b(name: str) -> str:
    return f"{{{BPMN_NS}}}{name}"


def has_diagram(content: bytes, filename: str = "model.bpmn") -> bool:
    root = parse_xml(content, filename, MAX_BYTES).getroot()
    return root.find(f"{{{BPMNDI_NS}}}BPMNDiagram") is not None


def read_library(contents: Iterable[bytes]) -> LibraryFacts:
    """What a set of models says about each other's processes (fan-outs: where and with whom)."""
    roots = []
    for content in contents:
        try:
            roots.append(parse_xml(content, "model.bpmn", MAX_BYTES).getroot())
        except InvalidModel:  # a file that cannot be read tells nothing about the others
            continue
    return diagram_lanes.library_facts(roots)


def lay_out(content: bytes, filename: str = "model.bpmn", facts: LibraryFacts | None = None) -> bytes:
    """The model with a fresh diagram (any diagram it had is replaced)."""
    tree = parse_xml(content, filename, MAX_BYTES)
    root = _with_namespaces(tree.getroot())
    for old in root.findall(f"{{{BPMNDI_NS}}}BPMNDiagram"):
        _remove(old)
    processes = root.findall(_b("process"))
    if not processes:
        return content
    taken = {el.get("id") or "" for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    collaboration = _collaboration(root, processes, taken)
    pools = {p.get("processRef"): p for p in collaboration.iterfind(_b("participant"))}

    diagram = _Diagram(taken)
    plane = diagram.plane(collaboration.get("id") or "")
    top = 0.0
    drawn: dict[str, Box] = {}
    for process in processes:
        lanes = diagram_lanes.plan_lanes(process, facts or LibraryFacts(), taken)
        _write_lanes(process, lanes)
        layout = _draw_scope(process, [lane.nodes for lane in lanes], (0, top), pool=True)
        pool = pools[process.get("id")]
        assert layout.pool is not None
        diagram.shape(plane, pool.get("id") or "", layout.pool, horizontal=True)
        for lane, box in zip(lanes, layout.lanes, strict=False):
            diagram.shape(plane, lane.id, box, horizontal=True)
        diagram.draw(plane, process, layout)
        top = layout.pool.bottom + _POOL_GAP
        drawn.update(layout.shapes)
        drawn[pool.get("id") or ""] = layout.pool
    for message_flow in collaboration.iterfind(_b("messageFlow")):
        source, target = drawn.get(message_flow.get("sourceRef") or ""), drawn.get(message_flow.get("targetRef") or "")
        if source is not None and target is not None and message_flow.get("id"):
            diagram.edge(plane, message_flow.get("id") or "", _message_route(source, target))
    for sub in [el for el in root.iter() if is_bpmn(el, SUB_PROCESSES)]:
        inner = diagram.plane(sub.get("id") or "")
        diagram.draw(inner, sub, _draw_scope(sub, None, (0, 0), pool=False))
    for element in diagram.diagrams:
        _append_child(root, element)
    return _serialise(root)


def _draw_scope(scope: etree._Element, lanes: list[list[str]] | None, origin: tuple[float, float],
                pool: bool) -> Layout:
    lane_of = {node: index for index, members in enumerate(lanes or []) for node in members}
    nodes, boundaries = [], []
    for element in scope:
        if not is_bpmn(element, FLOW_NODES):
            continue
        kind = local(element)
        name = (element.get("name") or "").strip()
        if kind == "boundaryEvent":
            boundaries.append(Boundary(element.get("id") or "", element.get("attachedToRef") or "", name))
            continue
        shape = "event" if kind in EVENTS else "gateway" if kind in GATEWAYS else "task"
        nodes.append(Node(element.get("id") or "", shape, lane_of.get(element.get("id") or "", 0), name))
    order = {node_id: index for index, node_id in enumerate(diagram_lanes.flow_order(
        scope, [el for el in scope if is_bpmn(el, FLOW_NODES) and local(el) != "boundaryEvent"]))}
    nodes.sort(key=lambda node: order.get(node.id, len(order)))
    flows = [Flow(f.get("id") or "", f.get("sourceRef") or "", f.get("targetRef") or "", (f.get("name") or "").strip())
             for f in scope if is_bpmn(f, ("sequenceFlow",))]
    associations = [Flow(a.get("id") or "", a.get("sourceRef") or "", a.get("targetRef") or "")
                    for a in scope if is_bpmn(a, ("association",)) and a.get("id")]
    near: dict[str, str] = {}
    for association in associations:
        near.setdefault(association.source, association.target)
        near.setdefault(association.target, association.source)
    for data_association in scope.iter(_b("dataInputAssociation"), _b("dataOutputAssociation")):
        activity = data_association.getparent()
        for ref in data_association.iterfind(f"{_b('sourceRef')}|{_b('targetRef')}"):
            near.setdefault((ref.text or "").strip(), activity.get("id") or "")
    artifacts = [Artifact(a.get("id") or "", _ARTIFACTS[local(a)], _artifact_text(a), near.get(a.get("id") or ""))
                 for a in scope if is_bpmn(a, _ARTIFACTS) and a.get("id")]
    return place(nodes, boundaries, flows, len(lanes or [[]]), origin, pool, artifacts, associations)


def _artifact_text(element: etree._Element) -> str:
    text = element.find(_b("text"))
    return ((text.text if text is not None else element.get("name")) or "").strip()


@dataclass
class _Diagram:
    taken: set[str]

    def __post_init__(self) -> None:
        self.diagrams: list[etree._Element] = []

    def plane(self, element: str) -> etree._Element:
        diagram = etree.Element(f"{{{BPMNDI_NS}}}BPMNDiagram", id=self._id(f"{element}_diagram"))
        self.diagrams.append(diagram)
        return etree.SubElement(diagram, f"{{{BPMNDI_NS}}}BPMNPlane", id=self._id(f"{element}_plane"),
                                bpmnElement=element)

    def shape(self, plane: etree._Element, element: str, box: Box, *, horizontal: bool = False,
              label: Box | None = None, **extra: str) -> None:
        shape = etree.SubElement(plane, f"{{{BPMNDI_NS}}}BPMNShape", id=self._id(f"{element}_di"),
                                 bpmnElement=element)
        if horizontal:
            shape.set("isHorizontal", "true")
        for key, value in extra.items():
            shape.set(key, value)
        _bounds(shape, box)
        if label is not None:
            _bounds(etree.SubElement(shape, f"{{{BPMNDI_NS}}}BPMNLabel"), label)

    def draw(self, plane: etree._Element, scope: etree._Element, layout: Layout) -> None:
        for element in scope:
            if not is_bpmn(element, FLOW_NODES) or element.get("id") not in layout.shapes:
                continue
            element_id = element.get("id") or ""
            extra = {}
            if local(element) in SUB_PROCESSES:
                extra["isExpanded"] = "false"
            if local(element) == "exclusiveGateway":
                extra["isMarkerVisible"] = "true"
            self.shape(plane, element_id, layout.shapes[element_id], label=layout.labels.get(element_id), **extra)
        for artifact in scope:
            if is_bpmn(artifact, _ARTIFACTS) and artifact.get("id") in layout.shapes:
                artifact_id = artifact.get("id") or ""
                self.shape(plane, artifact_id, layout.shapes[artifact_id], label=layout.labels.get(artifact_id))
        for flow in scope:
            if is_bpmn(flow, ("sequenceFlow", "association")) and flow.get("id") in layout.edges:
                self.edge(plane, flow.get("id") or "", layout.edges[flow.get("id") or ""],
                          layout.labels.get(flow.get("id") or ""))

    def edge(self, plane: etree._Element, element: str, points: list[tuple[float, float]],
             label: Box | None = None) -> None:
        edge = etree.SubElement(plane, f"{{{BPMNDI_NS}}}BPMNEdge", id=self._id(f"{element}_di"), bpmnElement=element)
        for x, y in points:
            etree.SubElement(edge, f"{{{DI_NS}}}waypoint", x=_number(x), y=_number(y))
        if label is not None:
            _bounds(etree.SubElement(edge, f"{{{BPMNDI_NS}}}BPMNLabel"), label)

    def _id(self, wanted: str) -> str:
        found, n = wanted, 2
        while found in self.taken:
            found, n = f"{wanted}_{n}", n + 1
        self.taken.add(found)
        return found


def _message_route(source: Box, target: Box) -> list[tuple[float, float]]:
    """From the side of the source facing the target's pool, across the gap, into the target (dashed in bpmn-js)."""
    down = source.cy <= target.cy
    start = (source.cx, source.bottom if down else source.y)
    end = (target.cx, target.y if down else target.bottom)
    middle = (start[1] + end[1]) / 2
    return [start, (start[0], middle), (end[0], middle), end] if start[0] != end[0] else [start, end]


def _bounds(parent: etree._Element, box: Box) -> None:
    etree.SubElement(parent, f"{{{DC_NS}}}Bounds", x=_number(box.x), y=_number(box.y), width=_number(box.w),
                     height=_number(box.h))


def _number(value: float) -> str:
    return str(round(value))


def _collaboration(root: etree._Element, processes: list[etree._Element], taken: set[str]) -> etree._Element:
    """The file's collaboration, with a participant for every process (made when the file has none)."""
    collaboration = root.find(_b("collaboration"))
    if collaboration is None:
        wanted = f"{processes[0].get('id')}_collaboration"
        collaboration = etree.Element(_b("collaboration"), id=_unique(wanted, taken))
        _insert_before(processes[0], collaboration)
    referenced = {p.get("processRef") for p in collaboration.iterfind(_b("participant"))}
    for process in processes:
        if process.get("id") in referenced:
            continue
        participant = etree.Element(_b("participant"), id=_unique(f"{process.get('id')}_pool", taken),
                                    name=process.get("name") or process.get("id") or "",
                                    processRef=process.get("id") or "")
        participants = collaboration.findall(_b("participant"))
        if participants:
            participants[-1].addnext(participant)
        else:
            collaboration.insert(_documentation_end(collaboration), participant)
    _indent(collaboration)
    return collaboration


def _documentation_end(element: etree._Element) -> int:
    heads = [i for i, child in enumerate(element) if local(child) in ("documentation", "extensionElements")]
    return heads[-1] + 1 if heads else 0


def _unique(wanted: str, taken: set[str]) -> str:
    found, n = wanted, 2
    while found in taken:
        found, n = f"{wanted}_{n}", n + 1
    taken.add(found)
    return found


def _write_lanes(process: etree._Element, lanes: list[diagram_lanes.Lane]) -> None:
    """Replace the process's lane sets by one holding the planned lanes (documentation of old lanes kept)."""
    old_sets = process.findall(_b("laneSet"))
    lane_set = etree.Element(_b("laneSet"), id=old_sets[0].get("id") or "" if old_sets else
                             _unique(f"{process.get('id')}_lanes", {el.get("id") or "" for el in process.iter()
                                                                    if isinstance(el.tag, str)}))
    for lane in lanes:
        element = etree.SubElement(lane_set, _b("lane"), id=lane.id, name=lane.name)
        if lane.element is not None:
            for kept in lane.element.iterfind(_b("documentation")):
                element.append(_clean_copy(kept))
        if lane.role is not None:
            extension = etree.SubElement(element, _b("extensionElements"))
            props = etree.SubElement(extension, f"{{{SPIFF_NS}}}properties")
            etree.SubElement(props, f"{{{SPIFF_NS}}}property", name=ROLE_PROPERTY, value=lane.role)
        for node in lane.nodes:
            etree.SubElement(element, _b("flowNodeRef")).text = node
    if old_sets:
        _insert_before(old_sets[0], lane_set)
        for old in old_sets:
            _remove(old)
    else:
        first = next(child for child in process if isinstance(child.tag, str) and local(child) not in _PROCESS_HEAD)
        _insert_before(first, lane_set)
    _indent(lane_set)


def _clean_copy(element: etree._Element) -> etree._Element:
    copied = etree.fromstring(etree.tostring(element))
    copied.tail = None
    return copied


def _indent(element: etree._Element) -> None:
    """Indent an element's content to match the whitespace in front of it."""
    before = element.getprevious()
    space = (before.tail if before is not None else element.getparent().text) or "\n"
    level = len(space.rsplit("\n", 1)[-1]) // 2
    tail = element.tail
    etree.indent(element, space="  ", level=level)
    element.tail = tail


def _insert_before(reference: etree._Element, new: etree._Element) -> None:
    """Insert ``new`` before ``reference`` with the same whitespace in front of both (undone by _remove)."""
    before = reference.getprevious()
    parent = reference.getparent()
    new.tail = (before.tail if before is not None else parent.text) or "\n"
    parent.insert(parent.index(reference), new)
    _indent(new)


def _append_child(parent: etree._Element, new: etree._Element) -> None:
    last = parent[-1] if len(parent) else None
    if last is None:
        parent.append(new)
        return
    before = last.getprevious()
    new.tail = last.tail
    last.tail = (before.tail if before is not None else parent.text) or "\n  "
    parent.append(new)
    _indent(new)


def _remove(element: etree._Element) -> None:
    """Remove an element and the whitespace in front of it."""
    parent = element.getparent()
    before = element.getprevious()
    if before is not None:
        before.tail = element.tail
    else:
        parent.text = element.tail
    parent.remove(element)


def _with_namespaces(root: etree._Element) -> etree._Element:
    """The root, declaring the DI namespaces (an lxml element cannot gain declarations: it is rebuilt)."""
    missing = {prefix: uri for prefix, uri in _NAMESPACES.items() if uri not in root.nsmap.values()}
    if not missing:
        return root
    nsmap = dict(root.nsmap)
    for prefix, uri in missing.items():
        nsmap[prefix if prefix not in nsmap else f"{prefix}{len(nsmap)}"] = uri
    rebuilt = etree.Element(root.tag, attrib=dict(root.attrib), nsmap=nsmap)
    rebuilt.text = root.text
    for child in list(root):
        rebuilt.append(child)
    return rebuilt


_ATTRIBUTE = re.compile(r'\s+([^\s=]+="[^"]*")')


def _serialise(root: etree._Element) -> bytes:
    """The document, its root's namespace declarations one to a line as the library writes them."""
    text = etree.tostring(root, encoding="unicode")
    end = text.index(">")
    head = text[:end]
    tag = head.split()[0]
    attributes = _ATTRIBUTE.findall(head)
    declarations = [a for a in attributes if a.startswith("xmlns")]
    others = [a for a in attributes if not a.startswith("xmlns")]
    pad = "\n" + " " * (len(tag) + 1)
    lines = declarations + ([" ".join(others)] if others else [])
    head = tag + " " + pad.join(lines)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + head + text[end:] + "\n").encode("utf-8")


def missing_from_diagram(content: bytes, filename: str = "model.bpmn") -> list[str]:
    """Ids of the flow nodes without a shape and sequence flows without an edge (empty: the diagram is whole)."""
    root = parse_xml(content, filename, MAX_BYTES).getroot()
    drawn = {el.get("bpmnElement") for el in root.iter(f"{{{BPMNDI_NS}}}BPMNShape", f"{{{BPMNDI_NS}}}BPMNEdge")}
    wanted = [el.get("id") for el in root.iter() if is_bpmn(el, FLOW_NODES | {"sequenceFlow"})]
    return [element for element in wanted if element and element not in drawn]


__all__ = ["has_diagram", "lay_out", "missing_from_diagram", "read_library"]
