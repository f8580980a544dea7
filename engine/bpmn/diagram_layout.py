"""Where each shape, edge and label of one pool goes: a layered left-to-right layout in horizontal lanes.

Pure geometry, no XML. The layering is Sugiyama's in its simplest form: cycles are broken by a depth-first
search (edges back to a node on the stack are drawn as loops, not layered), each node's column is its longest
path from a start, and inside its lane each node takes the row of the node before it when free (so the main
path runs straight), else the nearest free row. Columns and rows are a fixed grid, wide enough that shapes
never touch and edges run in the free channels between columns and the gutters between rows: an edge leaves
its source to the right (a gateway's branch from its top or bottom, a boundary event's from its bottom) and
enters its target from the left, with orthogonal bends only. Labels are placed by trying spots around their
shape (or along their edge's first segments) and taking the first that overlaps no shape and no other label.

Why not a library: grandalf and networkx lay out plain graphs; neither keeps nodes inside lane bands, puts
boundary events on their host's border or routes orthogonally, and that is most of the work here.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.bpmn.diagram_lanes import back_edges, breadth_first

COLUMN = 170  # a task is 100 wide: 70 for the channel between columns
ROW = 180  # a task is 80 high: room above for a gateway's label, below for boundary events and their labels
POOL_HEADER = 30
LANE_HEADER = 30
PADDING = 20
GUTTER = 12  # distance of an edge's gutter from its row's border
LINE_HEIGHT = 14
LABEL_WIDTH = 90  # bpmn-js wraps an external label at 90 px

SIZES = {"task": (100, 80), "event": (36, 36), "gateway": (50, 50)}


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def overlaps(self, other: Box, margin: float = 0) -> bool:
        return (self.x < other.right + margin and other.x < self.right + margin
                and self.y < other.bottom + margin and other.y < self.bottom + margin)

    def contains(self, other: Box) -> bool:
        return (self.x <= other.x and self.y <= other.y and other.right <= self.right
                and other.bottom <= self.bottom)


Point = tuple[float, float]


@dataclass(frozen=True)
class Node:
    id: str
    kind: str  # task, event or gateway
    lane: int
    name: str = ""


@dataclass(frozen=True)
class Boundary:
    id: str
    host: str
    name: str = ""


@dataclass(frozen=True)
class Flow:
    id: str
    source: str
    target: str
    name: str = ""


@dataclass(frozen=True)
class Artifact:
    """A text annotation (``annotation``), data object (``data``) or data store (``store``) beside ``near``."""

    id: str
    kind: str
    name: str = ""
    near: str | None = None


ARTIFACT_SIZES = {"data": (36, 50), "store": (50, 50)}


@dataclass
class Layout:
    shapes: dict[str, Box] = field(default_factory=dict)
    labels: dict[str, Box] = field(default_factory=dict)
    edges: dict[str, list[Point]] = field(default_factory=dict)
    lanes: list[Box] = field(default_factory=list)
    pool: Box | None = None


def lay_out(nodes: list[Node], boundaries: list[Boundary], flows: list[Flow], lane_count: int,
            origin: Point = (0, 0), pool: bool = True, artifacts: Iterable[Artifact] = (),
            associations: Iterable[Flow] = ()) -> Layout:
    """Shapes, lanes, pool, edges and labels for one pool (``pool=False``: one band, no headers).

    An association between two flow nodes (a compensation handler's) is laid out and routed like a flow; one
    with an artifact is a straight line to the artifact, which sits beside its node.
    """
    ids = [node.id for node in nodes]
    by_id = {node.id: node for node in nodes}
    host_of = {b.id: b.host for b in boundaries if b.host in by_id}
    associations = list(associations)
    flows = [f for f in [*flows, *associations]
             if (f.source in by_id or f.source in host_of) and f.target in by_id]
    links = [(host_of.get(f.source, f.source), f.target, f.source in host_of) for f in flows]
    back = back_edges(ids, [(source, target) for source, target, _ in links])
    column = _columns(ids, [(s, t) for s, t, _ in links if (s, t) not in back and s != t])
    row = _rows(nodes, links, column, back)

    lane_count = max(lane_count, 1)
    rows_in_lane = [1] * lane_count
    for node in nodes:
        rows_in_lane[node.lane] = max(rows_in_lane[node.lane], row[node.id] + 1)
    columns = max(column.values(), default=0) + 1
    left = origin[0] + (POOL_HEADER + LANE_HEADER if pool else 0) + PADDING
    width = (left - origin[0]) + columns * COLUMN + PADDING
    layout = Layout()
    top = origin[1]
    lane_tops = []
    for count in rows_in_lane:
        lane_tops.append(top)
        height = count * ROW
        if pool:
            layout.lanes.append(Box(origin[0] + POOL_HEADER, top, width - POOL_HEADER, height))
        top += height
    if pool:
        layout.pool = Box(origin[0], origin[1], width, top - origin[1])

    grid = _Grid(left, lane_tops)
    cells: dict[str, tuple[int, int, int]] = {}
    for node in nodes:
        w, h = SIZES[node.kind]
        cx, cy = grid.centre(column[node.id], node.lane, row[node.id])
        layout.shapes[node.id] = Box(round(cx - w / 2), round(cy - h / 2), w, h)
        cells[node.id] = (column[node.id], node.lane, row[node.id])
    for host, attached in _group(boundaries, by_id).items():
        box = layout.shapes[host]
        for index, boundary in enumerate(attached):
            spacing = 54 if len(attached) == 2 else 40  # clear of the marker at the bottom's middle
            cx = box.cx + (index - (len(attached) - 1) / 2) * spacing if len(attached) > 1 else box.x + box.w * 0.75
            layout.shapes[boundary.id] = Box(round(cx - 18), round(box.bottom - 18), 36, 36)
            cells[boundary.id] = cells[host]

    router = _Router(layout, grid, cells, host_of, by_id)
    for flow in flows:
        layout.edges[flow.id] = router.route(flow)

    placer = _LabelPlacer(layout)
    for artifact in artifacts:
        placer.place_artifact(artifact)
    for association in associations:
        if association.id not in layout.edges and {association.source, association.target} <= set(layout.shapes):
            layout.edges[association.id] = _straight(layout.shapes[association.source],
                                                     layout.shapes[association.target])
    for artifact in artifacts:
        if artifact.kind != "annotation" and artifact.name:
            placer.place_near(artifact.id, artifact.name, "below")
    for node in nodes:
        if node.name and node.kind != "task":
            placer.place_near(node.id, node.name, "above" if node.kind == "gateway" else "below")
    for boundary in boundaries:
        if boundary.name and boundary.id in layout.shapes:
            placer.place_near(boundary.id, boundary.name, "boundary")
    for flow in flows:
        if flow.name:
            placer.place_on_edge(flow.id, flow.name)
    return layout


def _columns(ids: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest path from a start (the edges form no cycle)."""
    predecessors: dict[str, list[str]] = {node: [] for node in ids}
    pending = {node: 0 for node in ids}
    successors: dict[str, list[str]] = {node: [] for node in ids}
    for source, target in edges:
        predecessors[target].append(source)
        successors[source].append(target)
        pending[target] += 1
    column = {node: 0 for node in ids}
    ready = [node for node in ids if pending[node] == 0]
    while ready:
        node = ready.pop(0)
        for target in successors[node]:
            column[target] = max(column[target], column[node] + 1)
            pending[target] -= 1
            if pending[target] == 0:
                ready.append(target)
    return column


def _rows(nodes: list[Node], links: list[tuple[str, str, bool]], column: dict[str, int],
          back: set[tuple[str, str]]) -> dict[str, int]:
    """Each node's row inside its lane: its predecessor's when free (below its host for a boundary's target)."""
    lane = {node.id: node.lane for node in nodes}
    predecessors: dict[str, list[tuple[str, bool]]] = {node.id: [] for node in nodes}
    successors: dict[str, list[str]] = {node.id: [] for node in nodes}
    for source, target, from_boundary in sorted(links, key=lambda link: link[2]):  # a host's own flows first
        if (source, target) not in back:
            predecessors[target].append((source, from_boundary))
        successors[source].append(target)
    order = breadth_first([node.id for node in nodes], successors)
    taken: set[tuple[int, int, int]] = set()
    row: dict[str, int] = {}
    for node_id in order:
        wanted = 0
        for source, from_boundary in predecessors[node_id]:
            if source in row and lane[source] == lane[node_id]:
                wanted = row[source] + (1 if from_boundary else 0)
                break
        choice = next(r for r in _nearest(wanted) if (column[node_id], lane[node_id], r) not in taken)
        taken.add((column[node_id], lane[node_id], choice))
        row[node_id] = choice
    return row


def _nearest(wanted: int) -> Iterable[int]:
    yield wanted
    step = 1
    while True:
        yield wanted + step
        if wanted - step >= 0:
            yield wanted - step
        step += 1


def _group(boundaries: list[Boundary], by_id: dict[str, Node]) -> dict[str, list[Boundary]]:
    grouped: dict[str, list[Boundary]] = {}
    for boundary in boundaries:
        if boundary.host in by_id:
            grouped.setdefault(boundary.host, []).append(boundary)
    return grouped


class _Grid:
    def __init__(self, left: float, lane_tops: list[float]) -> None:
        self.left = left
        self.lane_tops = lane_tops

    def centre(self, column: int, lane: int, row: int) -> Point:
        return self.left + COLUMN / 2 + column * COLUMN, self.lane_tops[lane] + ROW / 2 + row * ROW

    def channel(self, column: int) -> float:
        """The x of the free channel right of ``column`` (-1: left of the first column)."""
        return self.left + (column + 1) * COLUMN

    def row_top(self, lane: int, row: int) -> float:
        return self.lane_tops[lane] + row * ROW


class _Router:
    """Orthogonal edges through the channels between columns and the gutters between rows."""

    def __init__(self, layout: Layout, grid: _Grid, cells: dict[str, tuple[int, int, int]],
                 host_of: dict[str, str], nodes: dict[str, Node]) -> None:
        self.layout = layout
        self.grid = grid
        self.cells = cells
        self.host_of = host_of
        self.nodes = nodes
        self.used: dict[tuple[str, float], int] = {}
        self.exits: set[tuple[str, bool]] = set()  # (gateway, upwards): corners a branch leaves by

    def route(self, flow: Flow) -> list[Point]:
        source, target = self.layout.shapes[flow.source], self.layout.shapes[flow.target]
        s_col, s_lane, s_row = self.cells[flow.source]
        t_col, t_lane, t_row = self.cells[flow.target]
        end = (target.x, target.cy)
        ignore = {flow.source, flow.target, self.host_of.get(flow.source, "")}
        candidates: list[list[Point]] = []
        if flow.source in self.host_of:
            start = (source.cx, source.bottom)
            if target.cy > source.bottom and target.x > source.cx:
                candidates.append([start, (source.cx, target.cy), end])
            below = self.grid.row_top(s_lane, s_row + 1) - GUTTER
            xt = self._lane_x(t_col - 1)
            candidates.append([start, (source.cx, below), (xt, below), (xt, target.cy), end])
        else:
            forward = t_col > s_col
            side = (flow.source, target.cy < source.cy)
            if self.nodes[flow.source].kind == "gateway" and forward and target.cy != source.cy \
                    and side not in self.exits:  # one branch per corner: two would run on top of each other
                edge_y = source.y if target.cy < source.cy else source.bottom
                path = [(source.cx, edge_y), (source.cx, target.cy), end]
                if self._free(path, ignore):
                    self.exits.add(side)
                    return _simplify(path)
            exit_point = (source.right, source.cy)
            if forward and target.cy == source.cy:
                candidates.append([exit_point, end])
            xs = self._lane_x(s_col)
            xt = self._lane_x(t_col - 1)
            if forward:
                candidates.append([exit_point, (xs, source.cy), (xs, target.cy), end])
                candidates.append([exit_point, (xt, source.cy), (xt, target.cy), end])
            gutter = self.grid.row_top(t_lane, t_row) + GUTTER + 6 * (self._use(("gutter", t_lane * 1000 + t_row))
                                                                        % 3)
            candidates.append([exit_point, (xs, source.cy), (xs, gutter), (xt, gutter), (xt, target.cy), end])
        for path in candidates[:-1]:
            if self._free(path, ignore):
                return _simplify(path)
        return _simplify(candidates[-1])

    def _lane_x(self, column: int) -> float:
        """A channel's x, shifted a little for each further edge that uses it."""
        offset = self._use(("channel", column)) % 5
        return self.grid.channel(column) + (offset - 2) * 7

    def _use(self, key: tuple[str, float]) -> int:
        count = self.used.get(key, 0)
        self.used[key] = count + 1
        return count

    def _free(self, path: list[Point], ignore: set[str]) -> bool:
        for (x1, y1), (x2, y2) in itertools.pairwise(path):
            segment = Box(min(x1, x2), min(y1, y2), abs(x2 - x1), abs(y2 - y1))
            for shape_id, box in self.layout.shapes.items():
                if shape_id not in ignore and box.overlaps(segment, margin=4):
                    return False
        return True


def _simplify(path: list[Point]) -> list[Point]:
    points = [(round(x), round(y)) for x, y in path]
    kept: list[Point] = []
    for point in points:
        if kept and kept[-1] == point:
            continue
        if len(kept) >= 2 and (kept[-2][0] == kept[-1][0] == point[0] or kept[-2][1] == kept[-1][1] == point[1]):
            kept[-1] = point
            continue
        kept.append(point)
    return kept


def _straight(a: Box, b: Box) -> list[Point]:
    """A line from the side of ``a`` that faces ``b`` to the side of ``b`` that faces ``a``."""
    def facing(box: Box, other: Box) -> Point:
        x = min(max(other.cx, box.x), box.right)
        y = min(max(other.cy, box.y), box.bottom)
        if box.x < other.cx < box.right:
            y = box.y if other.cy < box.y else box.bottom
        elif box.y < other.cy < box.bottom:
            x = box.x if other.cx < box.x else box.right
        return round(x), round(y)
    return [facing(a, b), facing(b, a)]


def text_size(text: str, width: float = LABEL_WIDTH) -> tuple[float, float]:
    """The box bpmn-js needs for a label: CJK characters about 11 px wide, others 6.5 px; wrapped at ``width``."""
    lines, line = 1, 0.0
    widest = 0.0
    for char in text:
        step = 11.0 if ord(char) > 0x2E7F else 6.5
        if line + step > width:
            widest = max(widest, line)
            lines, line = lines + 1, 0.0
        line += step
    widest = max(widest, line)
    return max(round(widest) + 4, 20), lines * LINE_HEIGHT + 2


class _LabelPlacer:
    """Labels beside their shape or edge, each where it overlaps no shape and no label placed before."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.segments = [Box(min(a[0], b[0]), min(a[1], b[1]), abs(b[0] - a[0]), abs(b[1] - a[1]))
                         for path in layout.edges.values() for a, b in itertools.pairwise(path)]

    def place_near(self, element: str, text: str, where: str) -> None:
        shape = self.layout.shapes[element]
        w, h = text_size(text)
        below = Box(shape.cx - w / 2, shape.bottom + 4, w, h)
        above = Box(shape.cx - w / 2, shape.y - h - 4, w, h)
        right = Box(shape.right + 4, shape.cy - h / 2, w, h)
        left = Box(shape.x - w - 4, shape.cy - h / 2, w, h)
        below_right = Box(shape.right + 2, shape.bottom + 2, w, h)
        below_left = Box(shape.x - w - 2, shape.bottom + 2, w, h)
        order = {"above": [above, below, right, left], "below": [below, above, right, left],
                 "boundary": [below_right, below_left, below, right, left]}[where]
        self._place(element, order, shape)

    def place_artifact(self, artifact: Artifact) -> None:
        """An artifact's shape above (else below, beside) its node, clear of shapes, labels and edges."""
        if artifact.kind == "annotation":
            w, h = 100.0, max(30.0, text_size(artifact.name, 92)[1] + 10)
        else:
            w, h = ARTIFACT_SIZES[artifact.kind]
        near = self.layout.shapes.get(artifact.near or "")
        if near is None:
            near = self.layout.pool or Box(0, 0, 0, 0)
            near = Box(near.x + POOL_HEADER + LANE_HEADER + PADDING, near.y + 8, w, h)
            candidates = [near]
        else:
            candidates = [Box(near.cx - w / 2 + dx, y, w, h) for y in (near.y - h - 30, near.bottom + 30)
                          for dx in (0, 60, -60)]
        box = self._free_spot(candidates, Box(near.x, near.y, near.w, near.h))
        self.layout.shapes[artifact.id] = box

    def place_on_edge(self, flow: str, text: str) -> None:
        path = self.layout.edges[flow]
        w, h = text_size(text, 80)
        candidates = []
        for (x1, y1), (x2, y2) in itertools.pairwise(path):
            if y1 == y2:
                x = min(x1, x2) + 6 if x2 >= x1 else max(x1, x2) - w - 6
                candidates += [Box(x, y1 - h - 3, w, h), Box(x, y1 + 3, w, h)]
            else:
                y = min(y1, y2) + 4 if y2 >= y1 else max(y1, y2) - h - 4
                candidates += [Box(x1 + 4, y, w, h), Box(x1 - w - 4, y, w, h)]
        self._place(flow, candidates, Box(path[0][0], path[0][1], 0, 0))

    def _place(self, element: str, candidates: list[Box], anchor: Box) -> None:
        self.layout.labels[element] = self._free_spot(candidates, anchor)

    def _free_spot(self, candidates: list[Box], anchor: Box) -> Box:
        """The first candidate clear of shapes and labels (and of edges, if one is), else the nearest clear spot."""
        spiral = [Box(anchor.cx + dx - c.w / 2, anchor.cy + dy - c.h / 2, c.w, c.h)
                  for c in candidates[:1] for k in range(1, 60) for dx, dy in
                  ((0, 12 * k), (0, -12 * k), (12 * k, 0), (-12 * k, 0), (12 * k, 12 * k), (-12 * k, 12 * k),
                   (12 * k, -12 * k), (-12 * k, -12 * k))]
        for strict in (True, False):
            for box in candidates + spiral:
                box = Box(round(box.x), round(box.y), round(box.w), round(box.h))
                if self._clear(box, strict):
                    return box
        # a crowded pool: below it, where nothing is
        bottom = max((b.bottom for b in [*self.layout.shapes.values(), *self.layout.labels.values()]), default=0)
        return Box(round(anchor.x), round(bottom + 10), round(candidates[0].w), round(candidates[0].h))

    def _clear(self, box: Box, strict: bool) -> bool:
        if any(box.overlaps(shape, margin=3) for shape in self.layout.shapes.values()):
            return False
        if any(box.overlaps(label, margin=3) for label in self.layout.labels.values()):
            return False
        if self.layout.pool is not None and not self.layout.pool.contains(box):
            return False
        return not strict or not any(box.overlaps(segment, margin=1) for segment in self.segments)
