"""Which lane of its pool each flow node is drawn in: one lane per role, every flow node in exactly one.

A human task is drawn in the lane of the people it is offered to: its ``candidateRoles`` (or role-named
``candidateGroups``); a computed performer (``assignee`` or ``candidateRoles`` written as an expression) in the
lane of the default branch of a conditional (``'a' if … else 'b'`` → b), of an expert when it reads one, else
of the ``people`` the library's fan-outs start the process with (``LibraryFacts``), else in the lane it sits in
(the author's name for that person: 拟稿人), else in 指定人员. A human task that names nobody and sits in a lane
keeps it: that lane is whom it is offered to. Any other node that sits in a lane keeps it (where its author, or
an earlier layout, put it). Events, gateways and the engine's own tasks (script, service, business rule, call
activity) in no lane follow the flow from the node before them (never back along a loop), the rest (a start
event) the nearest node that has a lane; a boundary event goes to its host's lane; what nothing reaches is in
系统（自动）. Laid out again, a model keeps its lanes: the plan of a planned model is itself.

The plan changes no behaviour: a task with its own performer ignores its lane (engine.commands.assignment),
the lanes a plan adds carry the role of their tasks as the ``role`` property (engine.bpmn.lane_roles), and
lanes without a role (系统（自动）, 指定人员, 未指定办理人) offer nothing to anyone unless a task's data names their
people (``lane_owners``, engine.commands.lane_people).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from lxml import etree

from engine.bpmn import lane_roles
from engine.bpmn.lane_roles import SCHOOL_ROLES, SPIFF_NS
from engine.bpmn.schema import BPMN_NS

ENGINE_LANE = "系统（自动）"
DESIGNATED_LANE = "指定人员"
UNASSIGNED_LANE = "未指定办理人"

EVENTS = frozenset({"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"})
GATEWAYS = frozenset({"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway",
                      "complexGateway"})
SUB_PROCESSES = frozenset({"subProcess", "transaction", "adHocSubProcess"})
ACTIVITIES = frozenset({"task", "userTask", "manualTask", "scriptTask", "serviceTask", "businessRuleTask",
                        "sendTask", "receiveTask", "callActivity"}) | SUB_PROCESSES
FLOW_NODES = EVENTS | GATEWAYS | ACTIVITIES
HUMAN = frozenset({"userTask", "manualTask"})
_PERFORMER_KEYS = ("candidateRoles", "candidateGroups", "candidateUsers", "assignee")


def local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def is_bpmn(element: etree._Element, names: Iterable[str]) -> bool:
    return isinstance(element.tag, str) and etree.QName(element).namespace == BPMN_NS and local(element) in names


def properties(element: etree._Element) -> dict[str, str]:
    """An element's own ``spiffworkflow:property`` name → value pairs."""
    path = f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property"
    return {p.get("name") or "": p.get("value") or "" for p in element.iterfind(path)}


@dataclass(frozen=True)
class LibraryFacts:
    """What the other models of a library say about a process: where fan-outs start it, and with whom."""

    unit_kinds: dict[str, tuple[str, ...]] = field(default_factory=dict)
    people: dict[str, tuple[str, ...]] = field(default_factory=dict)


def library_facts(roots: Iterable[etree._Element]) -> LibraryFacts:
    """Read every ``fan_out`` service task of the given models (their ``process``, ``for_each``, ``people``)."""
    kinds: dict[str, list[str]] = {}
    people: dict[str, list[str]] = {}
    for root in roots:
        for operator in root.iter(f"{{{SPIFF_NS}}}serviceTaskOperator"):
            if operator.get("id") != "fan_out":
                continue
            params = {p.get("id"): _literal(p.get("value")) for p in operator.iter(f"{{{SPIFF_NS}}}parameter")}
            process = params.get("process")
            if not process:
                continue
            for target, value in ((kinds, params.get("for_each")), (people, params.get("people"))):
                for entry in lane_roles.split(value):
                    target.setdefault(process, [])
                    if entry not in target[process]:
                        target[process].append(entry)
    return LibraryFacts({k: tuple(v) for k, v in kinds.items()}, {k: tuple(v) for k, v in people.items()})


def _literal(value: str | None) -> str | None:
    try:
        found = ast.literal_eval(value or "")
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return found if isinstance(found, str) else None


@dataclass
class Lane:
    """One lane of a plan: its id, the name a reader sees, the role it offers (None: nobody), its nodes."""

    id: str
    name: str
    role: str | None
    nodes: list[str] = field(default_factory=list)
    #: The lane element of the model it was read from (its documentation is kept), or None for a new lane.
    element: etree._Element | None = None


def plan_lanes(process: etree._Element, facts: LibraryFacts, taken_ids: set[str]) -> list[Lane]:
    """The lanes of ``process``, top to bottom, with each of its top-level flow nodes in exactly one of them."""
    nodes = [child for child in process if is_bpmn(child, FLOW_NODES)]
    by_id = {node.get("id") or "": node for node in nodes}
    tier = _process_tier(process, nodes, facts)
    existing = _leaf_lanes(process)
    member = {ref: lane for lane in existing for ref in _refs(lane) if ref in by_id}

    lanes: dict[str, Lane] = {}  # by name
    for lane in existing:
        role = lane_roles.lane_role(lane)
        name = lane_roles.display_name(role, tier) if role else (lane.get("name") or lane.get("id") or "")
        if name in lanes:
            name = f"{name}（{role or lane.get('id')}）"
        canonical = lane_roles.canonical(lane_roles.split(role)) if role else ""
        lanes[name] = Lane(lane.get("id") or "", name, canonical or None, element=lane)
    lane_of_element = {lane.element: name for name, lane in lanes.items()}

    placed: dict[str, str] = {}
    for node in nodes:
        node_id = node.get("id") or ""
        kind = local(node)
        performer = _performer(node, process.get("id") or "", facts) if kind in HUMAN else None
        if kind in HUMAN and performer in (None, DESIGNATED_LANE) and node_id in member:
            # the lane is whom it is offered to, or names the person its expression picks (拟稿人)
            placed[node_id] = lane_of_element[member[node_id]]
        elif performer is not None:
            placed[node_id] = _lane_for(lanes, performer, tier)
        elif (kind in HUMAN or (kind in SUB_PROCESSES and _holds_unassigned_work(node))) and node_id not in member:
            placed[node_id] = _lane_for(lanes, UNASSIGNED_LANE, tier)
        elif node_id in member and kind != "boundaryEvent":
            placed[node_id] = lane_of_element[member[node_id]]  # where its author (or an earlier layout) put it
    _follow_neighbours(process, nodes, placed)
    for node in nodes:
        placed.setdefault(node.get("id") or "", _lane_for(lanes, ENGINE_LANE, tier))

    order = flow_order(process, nodes)
    for node_id in order:
        lanes[placed[node_id]].nodes.append(node_id)
    used = [lane for lane in lanes.values() if lane.nodes]
    rank = {node_id: index for index, node_id in enumerate(order)}
    used.sort(key=lambda lane: (lane.name == ENGINE_LANE, min(rank[n] for n in lane.nodes)))
    for lane in used:
        if not lane.id:
            lane.id = _unique(_lane_id(lane), taken_ids)
        taken_ids.add(lane.id)
        lane.nodes.sort(key=lambda n: rank[n])
    return used


def _lane_for(lanes: dict[str, Lane], performer: str, tier: str | None) -> str:
    """The name of the lane for a performer (a role value, or one of the lanes without a role), made if new."""
    if performer in (ENGINE_LANE, DESIGNATED_LANE, UNASSIGNED_LANE):
        name, role = performer, None
    else:
        name, role = lane_roles.display_name(performer, tier), performer
    if name not in lanes:
        lanes[name] = Lane("", name, role)
    return name


def _lane_id(lane: Lane) -> str:
    if lane.role is None:
        slug = {ENGINE_LANE: "engine", DESIGNATED_LANE: "designated", UNASSIGNED_LANE: "unassigned"}.get(lane.name,
                                                                                                         "other")
    else:
        slug = re.sub(r"[^A-Za-z0-9]+", "_", lane.role).strip("_")
    return f"lane_{slug or 'role'}"


def _unique(candidate: str, taken: set[str]) -> str:
    found, n = candidate, 2
    while found in taken:
        found, n = f"{candidate}_{n}", n + 1
    return found


def _performer(node: etree._Element, process_id: str, facts: LibraryFacts) -> str | None:
    """The role value a human task is offered to, DESIGNATED_LANE for named or computed people, None for nobody."""
    props = properties(node)
    given = {key: props[key].strip() for key in _PERFORMER_KEYS if props.get(key, "").strip()}
    if not given:
        return None
    for key in ("candidateRoles", "candidateGroups"):
        value = given.get(key)
        if value is None:
            continue
        if value.startswith("="):
            return _computed(value[1:], process_id, facts)
        roles = [entry for entry in lane_roles.split(value) if lane_roles.parse_role(entry)]
        if roles:
            return lane_roles.canonical(roles)
    assignee = given.get("assignee", "")
    if assignee.startswith("="):
        return _computed(assignee[1:], process_id, facts)
    return DESIGNATED_LANE


def _computed(expression: str, process_id: str, facts: LibraryFacts) -> str:
    try:
        tree = ast.parse(expression, mode="eval").body
    except SyntaxError:
        tree = None
    while isinstance(tree, ast.IfExp):  # 'a' if cond else 'b': the usual case is the last branch
        tree = tree.orelse
    if isinstance(tree, ast.Constant) and isinstance(tree.value, str):
        roles = [entry for entry in lane_roles.split(tree.value) if lane_roles.parse_role(entry)]
        if roles:
            return lane_roles.canonical(roles)
    if "expert" in expression:
        return "expert"
    people = [entry for entry in facts.people.get(process_id, ()) if lane_roles.parse_role(entry)]
    return lane_roles.canonical(people) if people else DESIGNATED_LANE


def _holds_unassigned_work(scope: etree._Element) -> bool:
    """A sub-process whose human tasks name nobody: its tasks take its lane, so that lane must offer nothing new."""
    return any(is_bpmn(node, HUMAN) and not any(properties(node).get(k, "").strip() for k in _PERFORMER_KEYS)
               for node in scope.iter())


def _process_tier(process: etree._Element, nodes: list[etree._Element], facts: LibraryFacts) -> str | None:
    """The tier the process runs at: its ``start_units``, else the fan-outs that start it, else a school's roles."""
    kinds = lane_roles.split(properties(process).get("start_units")) or list(facts.unit_kinds.get(
        process.get("id") or "", ()))
    if kinds:
        return lane_roles.process_tier(kinds)
    for node in nodes:
        for entry in lane_roles.split(properties(node).get("candidateRoles")):
            parsed = lane_roles.parse_role(entry)
            if parsed is not None and parsed[0] in SCHOOL_ROLES and parsed[1] is None:
                return "school"
    for lane in _leaf_lanes(process):
        for entry in lane_roles.split(lane_roles.lane_role(lane)):
            parsed = lane_roles.parse_role(entry)
            if parsed is not None and parsed[0] in SCHOOL_ROLES and parsed[1] is None:
                return "school"
    return None


def _leaf_lanes(process: etree._Element) -> list[etree._Element]:
    """The process's lanes that hold nodes themselves (nested lanes are flattened to their leaves)."""
    found = []
    for lane_set in process.iterfind(f"{{{BPMN_NS}}}laneSet"):
        for lane in lane_set.iter(f"{{{BPMN_NS}}}lane"):
            if lane.find(f"{{{BPMN_NS}}}childLaneSet") is None:
                found.append(lane)
    return found


def _refs(lane: etree._Element) -> list[str]:
    return [(ref.text or "").strip() for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef")]


def flows_of(scope: etree._Element) -> list[tuple[str, str]]:
    """(source, target) of each sequence flow directly in ``scope``, in document order."""
    return [(flow.get("sourceRef") or "", flow.get("targetRef") or "")
            for flow in scope if is_bpmn(flow, ("sequenceFlow",))]


def _follow_neighbours(process: etree._Element, nodes: list[etree._Element], placed: dict[str, str]) -> None:
    """Place each node without a lane of its own: down the flow from a placed node (never back along a loop), then
    what is left beside its nearest placed neighbour (a start event beside its first task); a boundary event in
    its host's lane."""
    hosts = {node.get("id") or "": node.get("attachedToRef") or "" for node in nodes if local(node) == "boundaryEvent"}
    ids = [node.get("id") or "" for node in nodes]
    flows = [(s, t) for s, t in flows_of(process) if s in ids and t in ids]
    back = back_edges(ids, flows + [(host, boundary) for boundary, host in hosts.items()])
    forward = [(s, t) for s, t in flows if (s, t) not in back]
    changed = True
    while changed:
        changed = False
        for source, target in [(host, boundary) for boundary, host in hosts.items()] + forward:
            if target not in placed and source in placed:
                placed[target] = placed[source]
                changed = True
    neighbours: dict[str, list[str]] = {node: [hosts[node]] if node in hosts else [] for node in ids}
    for edges in (forward, [edge for edge in flows if edge in back]):  # along the flow first, loops last
        for source, target in edges:
            neighbours[target].append(source)
        for source, target in edges:
            if source not in hosts:  # a boundary event goes with its host, not with what follows it
                neighbours[source].append(target)
    while True:
        known = dict(placed)
        for node in ids:
            if node not in known:
                nearest = next((n for n in neighbours[node] if n in known), None)
                if nearest is not None:
                    placed[node] = known[nearest]
        if len(placed) == len(known):
            return


def back_edges(ids: list[str], edges: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """The edges that close a loop, found depth first from the nodes nothing leads to (in document order)."""
    successors: dict[str, list[str]] = {node: [] for node in ids}
    incoming = set()
    for source, target in edges:
        if source in successors and target in successors:
            successors[source].append(target)
            incoming.add(target)
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    for root in [n for n in ids if n not in incoming] + ids:
        if root in state:
            continue
        stack = [(root, iter(successors[root]))]
        state[root] = 1
        while stack:
            node, following = stack[-1]
            nxt = next(following, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(successors[nxt])))
    return back


def flow_order(scope: etree._Element, nodes: list[etree._Element]) -> list[str]:
    """Node ids in the order a reader follows them: breadth first from the starts, boundary events after hosts."""
    ids = [node.get("id") or "" for node in nodes]
    known = set(ids)
    successors: dict[str, list[str]] = {node_id: [] for node_id in ids}
    for source, target in flows_of(scope):
        if source in known and target in known:
            successors[source].append(target)
    for node in nodes:
        if local(node) == "boundaryEvent" and node.get("attachedToRef") in successors:
            successors[node.get("attachedToRef") or ""].append(node.get("id") or "")
    return breadth_first(ids, successors)


def breadth_first(ids: list[str], successors: dict[str, list[str]]) -> list[str]:
    """``ids`` in breadth-first order from the nodes nothing leads to (then any left, in file order), so lanes and
    columns are assigned along the flow the way a reader follows it."""
    incoming = {target for targets in successors.values() for target in targets}
    order: list[str] = []
    seen: set[str] = set()
    for root in [n for n in ids if n not in incoming] + ids:
        if root in seen:
            continue
        seen.add(root)
        queue = [root]
        while queue:
            current = queue.pop(0)
            order.append(current)
            for following in successors[current]:
                if following not in seen:
                    seen.add(following)
                    queue.append(following)
    return order
