"""The figures of the dashboard: rollout coverage drilled down county → school → person, the monthly checks
month by month (submission and scores) and one month compared across counties (engine.score_comparison), and
overdue work per unit and process.

A rollout's rate counts what the rollout counts, never both: its people where it hands work to people (a
training: attendance), else its units by how their submissions stand (submitted, approved, returned, not
submitted: the launch). A unit that nothing has reached yet is "not started", with no rate, not "0 missing".

Every figure is aggregated in SQL from the narrow tables (``fan_out_child``, ``human_task``, ``org_unit``;
for the checks' months, scores and bands ``instance_figure``, kept by the commands), so the page answers
at city scale (2,620 units, 40,000 teachers). Each answer is the chart's data, the table under it and the
sheet of its .xlsx export. Who may read which part is the access policy's business
(:class:`engine.access.policy.DashboardScope`): the administrator and the city's officers see the whole city, a
county's officer only that county; another county answers as a missing one.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, and_, case, func, literal, or_, select

from engine.access.policy import DashboardScope as Scope
from engine.access.policy import not_on_dashboard
from engine.clock import BUSINESS_TZ
from engine.commands.attendance import COVERED
from engine.errors import NotFound, Problem
from engine.grades import BANDS
from engine.phrases import Phrase
from engine.score_comparison import box_of, compare_scores
from engine.store import tables
from engine.store.database import Database

MONTHLY_CHECK = "monthly_school_check"
SUBMISSION = "check_class_teachers"  # the school's checking sheet: its completion is the school's submission
HISTOGRAM_WIDTH = 10
#: How a person of an attendance register stands, as the coverage table names it.
STANDINGS = {"pending": "待确认参训", "attended": "已参训", "excused": "缺训已准假", "absent": "缺训待补训"}
CITY_LEVEL = "市级"
NO_UNIT = "未指定单位"
_i, _t, _u, _fo, _fc, _p, _r, _f = (tables.process_instance, tables.human_task, tables.org_unit, tables.fan_out,
                                    tables.fan_out_child, tables.person, tables.role_assignment, tables.instance_figure)
_a = tables.training_attendance


# --- rollout coverage ---------------------------------------------------------------------------------------------

def rollouts(database: Database, scope: Scope) -> list[dict[str, Any]]:
    """The tiered rollouts (instances that fanned out and were not themselves fanned out), the one with the most
    recent activity in the caller's counties first, each with its completion by what it counts (``measure``):
    its people where it hands work to people, else its units by their submissions. A county officer sees those
    that reach their county, counted there."""
    roots = select(_i.c.id).where(_i.c.id.in_(select(_fo.c.parent_instance_id)), _i.c.parent_instance_id.is_(None))
    base = (select(_fo.c.parent_instance_id.label("root"), _fc.c.unit_id, _fc.c.instance_id, _fc.c.state,
                   literal(0).label("depth"))
            .join(_fo, _fo.c.id == _fc.c.fan_out_id).where(_fo.c.parent_instance_id.in_(roots))
            .cte("rollout_trees", recursive=True))
    fo2, fc2 = _fo.alias("fo2"), _fc.alias("fc2")
    trees = base.union_all(
        select(base.c.root, fc2.c.unit_id, fc2.c.instance_id, fc2.c.state, base.c.depth + 1)
        .select_from(base.join(fo2, fo2.c.parent_instance_id == base.c.instance_id)
                     .join(fc2, fc2.c.fan_out_id == fo2.c.id)).where(base.c.depth < 10))
    units_query = _in_county(select(trees.c.root, trees.c.unit_id, trees.c.instance_id, trees.c.state)
                             .select_from(trees).join(_u, _u.c.id == trees.c.unit_id, isouter=True), None, scope)
    finished = func.sum(case((_t.c.state == "completed", 1), else_=0))
    people_query = _in_county(select(trees.c.root, func.count(_t.c.id), finished).select_from(trees)
                              .join(_u, _u.c.id == trees.c.unit_id, isouter=True)
                              .join(_t, _t.c.instance_id == trees.c.instance_id)
                              .where(_people_filter(), _t.c.instance_id.not_in(_registered()))
                              .group_by(trees.c.root), None, scope)
    attended = func.sum(case((_a.c.status.in_(COVERED), 1), else_=0))
    register_query = _in_county(select(trees.c.root, func.count(), attended).select_from(trees)
                                .join(_u, _u.c.id == trees.c.unit_id, isouter=True)
                                .join(_a, _a.c.instance_id == trees.c.instance_id)
                                .group_by(trees.c.root), None, scope)
    activity_query = _in_county(select(trees.c.root, func.max(_t.c.created_at), func.max(_t.c.completed_at))
                                .select_from(trees).join(_u, _u.c.id == trees.c.unit_id, isouter=True)
                                .join(_t, _t.c.instance_id == trees.c.instance_id)
                                .group_by(trees.c.root), None, scope)
    with database.engine.connect() as connection:
        # by unit: a unit whose instance has not started yet (pending, no instance id) counts on its own
        reached: dict[int, dict[str, tuple[int | None, str]]] = defaultdict(dict)
        for row in connection.execute(units_query):
            reached[row.root][row.unit_id] = (row.instance_id, row.state)
        people = {row[0]: (int(row[1]), int(row[2] or 0)) for row in connection.execute(people_query)}
        for row in connection.execute(register_query):  # the trainings count attendance, not answers
            total, completed = people.get(row[0], (0, 0))
            people[row[0]] = (total + int(row[1]), completed + int(row[2] or 0))
        if scope.counties is None:  # the people the root itself asks (the city's own) count for the whole city
            for row in connection.execute(select(_t.c.instance_id, func.count(), finished)
                                          .where(_t.c.instance_id.in_(roots), _people_filter())
                                          .group_by(_t.c.instance_id)):
                total, completed = people.get(row[0], (0, 0))
                people[row[0]] = (total + int(row[1]), completed + int(row[2] or 0))
        activity = {row[0]: max((t for t in row[1:] if t is not None), default=None)
                    for row in connection.execute(activity_query)}
        by_units = {root: states for root, states in reached.items() if not people.get(root, (0, 0))[0]}
        standings = _standings(connection, {i: s for states in by_units.values() for i, s in states.values()
                                            if i is not None})
        found = connection.execute(
            select(_i.c.id, _i.c.process_key, _i.c.business_key, _i.c.state, _i.c.org_scope, _i.c.started_at)
            .where(_i.c.id.in_(roots)).order_by(_i.c.id.desc())).all()
        names = _definition_names(connection)
    listed = []
    for root in found:
        if root.id not in reached:  # nothing of it lies in the caller's counties
            continue
        states = reached[root.id]
        unit_figures = {"total": len(states), "completed": sum(s == "completed" for _, s in states.values())}
        total, completed = people.get(root.id, (0, 0))
        people_figures = {"total": total, "completed": completed}
        if total:
            measure, submissions, percent = "people", None, _share(completed, total)
        else:
            submissions = _count_standings(standings.get(i, "not_submitted") for i, _ in states.values())
            measure, percent = "units", _share(submissions["submitted"] + submissions["approved"], len(states))
            if not (submissions["submitted"] or submissions["approved"] or submissions["returned"]):
                percent = None  # nothing handed in anywhere yet: not started, rather than 0 %
        last = activity.get(root.id) or root.started_at
        listed.append({"id": root.id, "process_key": root.process_key, "name": names.get(root.process_key),
                       "business_key": root.business_key, "state": root.state, "org_scope": root.org_scope,
                       "started_at": _local(root.started_at), "last_activity": _local(last),
                       "units": unit_figures, "people": people_figures, "measure": measure,
                       "submissions": submissions, "percent": percent})
    listed.sort(key=lambda r: r["last_activity"] or "", reverse=True)  # stable: newest rollout first on a tie
    return listed


def rollout_level(database: Database, scope: Scope, instance_id: int, unit: str | None = None) -> dict[str, Any]:
    """One level of a rollout: its units (the counties at the top, a county's schools and teaching points) each
    with its own and its subtree's completion, or a school's people (who confirmed, who is missing), and the
    breadcrumbs back to the top."""
    with database.engine.connect() as connection:
        root = connection.execute(select(_i.c.id, _i.c.process_key, _i.c.state, _i.c.org_scope)
                                  .where(_i.c.id == instance_id)).first()
        # a missing instance, one that is no rollout and one outside the caller's counties answer alike
        missing = NotFound(Phrase("process instance %(id)s does not exist", id=instance_id))
        if root is None:
            raise missing
        nodes = _tree(connection, instance_id)
        if not nodes and not connection.execute(select(_fo.c.id).where(_fo.c.parent_instance_id == instance_id)
                                                .limit(1)).first():
            raise missing
        if scope.counties is not None and not any(scope.allows_path(n["path"]) for n in nodes.values()):
            raise missing
        if unit is None:
            here_instance: int | None = instance_id
            crumbs: list[dict[str, Any]] = []
        else:
            node = nodes.get(unit)
            if node is None or not scope.allows_path(node["path"]):  # outside the caller's counties: as missing
                raise NotFound(f"unit '{unit}' has no part in rollout {instance_id}",
                               [Problem("not in this rollout", field="unit")])
            here_instance = node["instance_id"]
            crumbs = _crumbs(nodes, unit)
        children = [n for n in nodes.values() if n["parent_instance"] == here_instance and here_instance is not None
                    and scope.allows_path(n["path"])]
        below = _subtree_instances(nodes, children)
        people_totals = _people_totals(connection, [i for ids in below.values() for i in ids])
        everywhere = [n["instance_id"] for n in nodes.values() if n["instance_id"] is not None]
        measure = "people" if _hands_work_to_people(connection, everywhere) else "units"
        shown = {i for ids in below.values() for i in ids}
        standings = _standings(connection, {n["instance_id"]: n["state"] for n in nodes.values()
                                            if n["instance_id"] in shown}) if measure == "units" else {}
        people = _people(connection, here_instance) if here_instance is not None and \
            (unit is not None or scope.counties is None) else []
        names = _definition_names(connection)
    rows = []
    for child in children:
        sub = [n for n in nodes.values() if n["instance_id"] in below[child["unit"]] and n is not child]
        done_people = sum(people_totals.get(i, (0, 0))[1] for i in below[child["unit"]])
        all_people = sum(people_totals.get(i, (0, 0))[0] for i in below[child["unit"]])
        units = {"total": len(sub), "completed": sum(n["state"] == "completed" for n in sub)}
        submissions = _count_standings(standings.get(n["instance_id"], "not_submitted") for n in [child, *sub])
        if measure == "people":  # a training counts its people: the unit's own completion is no share of it
            started, percent = all_people > 0 or child["state"] == "completed", _share(done_people, all_people)
        else:  # the unit itself and every unit below it, each by how its submission stands
            started = submissions["not_submitted"] < len(sub) + 1 or child["state"] == "completed"
            percent = _share(submissions["submitted"] + submissions["approved"], len(sub) + 1)
        rows.append({"unit": child["unit"], "name": child["name"], "kind": child["kind"], "state": child["state"],
                     "started": started, "completed_at": _local(child["completed_at"]),
                     "instance_id": child["instance_id"],
                     "units": {**units, "missing": units["total"] - units["completed"]},
                     "people": {"total": all_people, "completed": done_people, "missing": all_people - done_people},
                     "submissions": submissions if measure == "units" else None,
                     "percent": percent if started else None,
                     "drillable": bool(sub) or all_people > 0})
    level = "people" if unit is not None and not rows else ("counties" if unit is None else "units")
    return {"instance_id": instance_id, "process_key": root.process_key, "name": names.get(root.process_key),
            "state": root.state, "unit": unit, "level": level, "measure": measure, "breadcrumbs": crumbs,
            "units": rows, "people": people,
            "not_started": [r["unit"] for r in rows if not r["started"]],
            "missing_units": [r["unit"] for r in rows if r["state"] != "completed"],
            "missing_people": [p for p in people if not p["done"]]}


def _tree(connection: Connection, root_id: int) -> dict[str, dict[str, Any]]:
    """Every unit a rollout reached, by unit id: a recursive query down the fan-outs from the root."""
    base = (select(_fc.c.fan_out_id, _fc.c.unit_id, _fc.c.instance_id, _fc.c.state, _fc.c.completed_at,
                   _fo.c.parent_instance_id.label("parent_instance"), literal(0).label("depth"))
            .join(_fo, _fo.c.id == _fc.c.fan_out_id).where(_fo.c.parent_instance_id == root_id)
            .cte("rollout_tree", recursive=True))
    fo2, fc2 = _fo.alias("fo2"), _fc.alias("fc2")
    tree = base.union_all(
        select(fc2.c.fan_out_id, fc2.c.unit_id, fc2.c.instance_id, fc2.c.state, fc2.c.completed_at,
               fo2.c.parent_instance_id, base.c.depth + 1)
        .select_from(base.join(fo2, fo2.c.parent_instance_id == base.c.instance_id)
                     .join(fc2, fc2.c.fan_out_id == fo2.c.id)).where(base.c.depth < 10))
    rows = connection.execute(
        select(tree.c.unit_id, tree.c.instance_id, tree.c.state, tree.c.completed_at, tree.c.parent_instance,
               _u.c.name, _u.c.kind, _u.c.path).join(_u, _u.c.id == tree.c.unit_id, isouter=True)
        .order_by(_u.c.sort_order, tree.c.unit_id, tree.c.fan_out_id)).all()
    nodes: dict[str, dict[str, Any]] = {}
    for row in rows:  # a unit fanned out to twice (a repeated fan-out) counts once, at its newest child
        nodes[row.unit_id] = {"unit": row.unit_id, "instance_id": row.instance_id, "state": row.state,
                              "completed_at": row.completed_at, "parent_instance": row.parent_instance,
                              "name": row.name or row.unit_id, "kind": row.kind, "path": row.path}
    return nodes


def _subtree_instances(nodes: dict[str, dict[str, Any]], children: list[dict[str, Any]]) -> dict[str, set[int]]:
    """For each child, the instances of it and everything below it."""
    by_parent: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for node in nodes.values():
        by_parent[node["parent_instance"]].append(node)
    found: dict[str, set[int]] = {}
    for child in children:
        ids: set[int] = set()
        stack = [child]
        while stack:
            node = stack.pop()
            if node["instance_id"] is not None and node["instance_id"] not in ids:
                ids.add(node["instance_id"])
                stack.extend(by_parent.get(node["instance_id"], []))
        found[child["unit"]] = ids
    return found


def _people_filter() -> Any:
    return and_(_t.c.item_group_id.is_not(None), _t.c.assignee.is_not(None), _t.c.state != "cancelled")


def _registered() -> Any:
    """The instances that keep an attendance register: their people are the register's, not their items."""
    return select(_a.c.instance_id).distinct()


def _people_totals(connection: Connection, instances: list[int]) -> dict[int, tuple[int, int]]:
    """(people, people done) per instance: one person's item of a per-person task each, or, where the instance
    keeps an attendance register, one person of the register each, done when attended or excused."""
    totals: dict[int, tuple[int, int]] = {}
    for start in range(0, len(instances), 2000):
        batch = instances[start:start + 2000]
        for row in connection.execute(
                select(_a.c.instance_id, func.count(), func.sum(case((_a.c.status.in_(COVERED), 1), else_=0)))
                .where(_a.c.instance_id.in_(batch)).group_by(_a.c.instance_id)):
            totals[row[0]] = (int(row[1]), int(row[2] or 0))
        for row in connection.execute(
                select(_t.c.instance_id, func.count(), func.sum(case((_t.c.state == "completed", 1), else_=0)))
                .where(_t.c.instance_id.in_(batch), _people_filter())
                .group_by(_t.c.instance_id)):
            if row[0] not in totals:
                totals[row[0]] = (int(row[1]), int(row[2] or 0))
    return totals


def _hands_work_to_people(connection: Connection, instances: list[int]) -> bool:
    """Whether a rollout counts people (a task per person, or an attendance register, anywhere in it)."""
    for start in range(0, len(instances), 2000):
        batch = instances[start:start + 2000]
        if connection.execute(select(_a.c.instance_id).where(_a.c.instance_id.in_(batch)).limit(1)).first() or \
                connection.execute(select(_t.c.id).where(_t.c.instance_id.in_(batch), _people_filter())
                                   .limit(1)).first():
            return True
    return False


def _people(connection: Connection, instance_id: int) -> list[dict[str, Any]]:
    registered = connection.execute(
        select(_a.c.person_id, _a.c.status, _a.c.reason, _a.c.updated_at, _p.c.name.label("person"), _p.c.phone)
        .join(_p, _p.c.id == _a.c.person_id, isouter=True)
        .where(_a.c.instance_id == instance_id).order_by(_a.c.person_id)).all()
    if registered:
        return [{"id": r.person_id, "name": r.person or r.person_id, "phone": r.phone,
                 "task": STANDINGS.get(r.status, r.status) + (f"（{r.reason}）" if r.reason else ""),
                 "status": r.status, "reason": r.reason, "done": r.status in COVERED,
                 "completed_at": _local(r.updated_at) if r.status in COVERED else None, "due_at": None}
                for r in registered]
    rows = connection.execute(
        select(_t.c.assignee, _t.c.name, _t.c.state, _t.c.completed_at, _t.c.due_at, _p.c.name.label("person"),
               _p.c.phone).join(_p, _p.c.id == _t.c.assignee, isouter=True)
        .where(_t.c.instance_id == instance_id, _people_filter()).order_by(_t.c.assignee)).all()
    return [{"id": r.assignee, "name": r.person or r.assignee, "phone": r.phone, "task": r.name,
             "done": r.state == "completed", "completed_at": _local(r.completed_at), "due_at": _local(r.due_at)}
            for r in rows]


def _crumbs(nodes: dict[str, dict[str, Any]], unit: str) -> list[dict[str, str]]:
    by_instance = {n["instance_id"]: n for n in nodes.values() if n["instance_id"] is not None}
    crumbs, node = [], nodes.get(unit)
    while node is not None:
        crumbs.append({"unit": node["unit"], "name": node["name"]})
        node = by_instance.get(node["parent_instance"])
    return crumbs[::-1]


def _share(done: int, whole: int) -> float | None:
    """The share done in per cent; 100.0 only when nobody is missing, None when there is nothing to count."""
    if not whole:
        return None
    return 100.0 if done == whole else min(round(done * 100 / whole, 1), 99.9)


#: How a unit's own submission stands (its first task, the report or plan it hands in): the launch's progress.
STANDINGS_OF_UNITS = ("approved", "submitted", "returned", "not_submitted")


def _standings(connection: Connection, instances: dict[int, str]) -> dict[int, str]:
    """How each unit instance's submission stands: ``approved`` when the instance is done, ``not_submitted``
    while its first task (what the unit itself hands in) was never completed, ``returned`` when that task was
    completed and is open again (sent back), else ``submitted`` (awaiting review above)."""
    tasks: dict[int, list[Any]] = defaultdict(list)
    ids = list(instances)
    for start in range(0, len(ids), 2000):
        for row in connection.execute(
                select(_t.c.instance_id, _t.c.element_id, _t.c.state)
                .where(_t.c.instance_id.in_(ids[start:start + 2000]), _t.c.state != "cancelled",
                       _t.c.item_group_id.is_(None)).order_by(_t.c.id)):
            tasks[row.instance_id].append(row)
    found = {}
    for instance, state in instances.items():
        rows = tasks.get(instance, [])
        own = [r for r in rows if r.element_id == rows[0].element_id] if rows else []
        if state == "completed":
            found[instance] = "approved"
        elif not any(r.state == "completed" for r in own):
            found[instance] = "not_submitted"
        else:
            found[instance] = "returned" if own[-1].state == "open" else "submitted"
    return found


def _count_standings(standings: Any) -> dict[str, int]:
    counted = Counter(standings)
    return {standing: counted[standing] for standing in STANDINGS_OF_UNITS}


def _definition_names(connection: Connection) -> dict[str, str]:
    d = tables.process_definition
    return {row.key: row.name for row in connection.execute(select(d.c.key, d.c.name).order_by(d.c.version))}


# --- monthly checks ------------------------------------------------------------------------------------------------

def monthly_checks(database: Database, scope: Scope, now: datetime, county: str | None = None,
                   compared: str | None = None) -> dict[str, Any]:
    """一月一查 per month: how many schools submitted their class-teacher checking sheet (the school's own check)
    on time, late, not yet (before its due date) or are missing (past it), and the school means' bands, box plot
    (min, quartiles, max) and histogram; and one month's scores compared per county, or per school of a county
    (engine.score_comparison; the newest month with a score unless ``compared`` names one)."""
    if county is not None:
        _require_county(database, scope, county)
    latest = (select(func.max(_t.c.id)).where(_t.c.process_key == MONTHLY_CHECK, _t.c.element_id == SUBMISSION,
                                               _t.c.state != "cancelled").group_by(_t.c.instance_id))
    submitted = select(_t.c.instance_id, _t.c.state, _t.c.due_at, _t.c.completed_at).where(
        _t.c.id.in_(latest)).subquery()  # a sheet asked again counts the school once, as last asked
    category = case(
        (submitted.c.state == "completed",
         case((and_(submitted.c.due_at.is_not(None), submitted.c.completed_at > submitted.c.due_at), "late"),
              else_="on_time")),
        (submitted.c.state.is_(None), "on_time"),  # moved on without a sheet row (an older model)
        (and_(submitted.c.due_at.is_not(None), submitted.c.due_at < now), "missing"), else_="pending")
    month, band, total = _f.c.period, _f.c.band, _f.c.score
    unscheduled = case((month.is_(None), _i.c.started_at), else_=None)  # those go by the day they started
    query = (select(month.label("month"), unscheduled.label("started_at"), category.label("category"),
                    band.label("band"), total.label("total"), func.count().label("schools"))
             .select_from(_i).join(_u, _u.c.id == _i.c.org_scope, isouter=True)
             .join(_f, _f.c.instance_id == _i.c.id, isouter=True)
             .join(submitted, submitted.c.instance_id == _i.c.id, isouter=True)
             .where(_i.c.process_key == MONTHLY_CHECK, _i.c.state != "terminated")
             .group_by(month, unscheduled, category, band, total))  # a few thousand groups at city scale
    with database.engine.connect() as connection:
        rows = [(row.month or _month_of(row.started_at), row)
                for row in connection.execute(_in_county(query, county, scope))]
        comparison = compare_scores(connection, scope, county, compared)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    scores: dict[str, list[float]] = defaultdict(list)
    for key, row in rows:
        counts[key]["schools"] += row.schools
        counts[key][row.category] += row.schools
        if row.band in BANDS:
            counts[key][row.band] += row.schools
        if row.total is not None:
            scores[key].extend([float(row.total)] * row.schools)
    months = []
    for month in sorted(counts):
        c, values = counts[month], sorted(scores[month])
        months.append({"month": month, "schools": c["schools"], "on_time": c["on_time"], "late": c["late"],
                       "pending": c["pending"], "missing": c["missing"],
                       "submitted_rate": _rate(c["on_time"] + c["late"], c["schools"]),
                       "on_time_rate": _rate(c["on_time"], c["schools"]),
                       "scored": len(values), "average": round(statistics.fmean(values), 1) if values else None,
                       "bands": {band: c[band] for band in BANDS}, "box": box_of(values)})
    top = max((m["box"][4] for m in months if m["box"]), default=0.0)
    edges = list(range(0, int(max(top, 100) // HISTOGRAM_WIDTH + 1) * HISTOGRAM_WIDTH + 1, HISTOGRAM_WIDTH))
    for month in months:
        month["histogram"] = _histogram(sorted(scores[month["month"]]), edges)
    return {"as_of": now.astimezone(BUSINESS_TZ).isoformat(), "county": county, "bands": list(BANDS),
            "histogram_bins": [f"{low}–{high}" for low, high in pairwise(edges)],
            "months": months, "comparison": comparison}


def _month_of(started_at: datetime) -> str:
    """The month of a check that was not scheduled for one: the month it started, in Shanghai."""
    return started_at.astimezone(BUSINESS_TZ).strftime("%Y-%m")


def _histogram(values: list[float], edges: list[int]) -> list[int]:
    bins = [0] * (len(edges) - 1)
    for value in values:
        index = min(max(int(value // HISTOGRAM_WIDTH), 0), len(bins) - 1)
        bins[index] += 1
    return bins


def _rate(part: int, whole: int) -> float:
    return round(part * 100 / whole, 1) if whole else 0.0


# --- overdue work ----------------------------------------------------------------------------------------------------

def overdue(database: Database, scope: Scope, now: datetime, county: str | None = None,
            process: str | None = None) -> dict[str, Any]:
    """Open tasks past their due date, per county (or, within ``county``, per school and teaching point), each
    split by process; ``process`` keeps one process only."""
    if county is not None:
        _require_county(database, scope, county)
    query = (select(_t.c.process_key, _u.c.path, func.count().label("tasks"), func.min(_t.c.due_at).label("oldest"))
             .select_from(_t).join(_u, _u.c.id == _t.c.org_scope, isouter=True)
             .where(_t.c.state == "open", _t.c.due_at.is_not(None), _t.c.due_at < now)
             .group_by(_t.c.process_key, _u.c.path))
    if process is not None:
        query = query.where(_t.c.process_key == process)
    query = _in_county(query, county, scope)
    with database.engine.connect() as connection:
        rows = connection.execute(query).all()
        names = _definition_names(connection)
    keys = {_group_unit(row.path, county) for row in rows} - {None}
    with database.engine.connect() as connection:
        unit_names = dict(connection.execute(select(_u.c.id, _u.c.name).where(_u.c.id.in_(keys))).all()) \
            if keys else {}
    grouped: dict[str | None, dict[str, Any]] = {}
    for row in rows:
        key = _group_unit(row.path, county)
        label = unit_names.get(key, key) if key else (CITY_LEVEL if row.path else NO_UNIT)
        entry = grouped.setdefault(key if key else label, {
            "unit": key, "name": label, "overdue": 0, "oldest_due": None, "by_process": Counter()})
        entry["overdue"] += row.tasks
        entry["by_process"][row.process_key] += row.tasks
        if row.oldest is not None and (entry["oldest_due"] is None or row.oldest < entry["oldest_due"]):
            entry["oldest_due"] = row.oldest
    units = sorted(grouped.values(), key=lambda e: (-e["overdue"], e["unit"] or "~"))
    processes = sorted({p for e in units for p in e["by_process"]})
    for entry in units:
        entry["by_process"] = dict(sorted(entry["by_process"].items()))
        entry["oldest_due"] = _local(entry["oldest_due"])
        entry["drillable"] = county is None and entry["unit"] is not None
    return {"as_of": now.astimezone(BUSINESS_TZ).isoformat(), "county": county, "process": process,
            "level": "schools" if county else "counties", "total": sum(e["overdue"] for e in units),
            "processes": [{"key": p, "name": names.get(p, p)} for p in processes], "units": units}


def _group_unit(path: str | None, county: str | None) -> str | None:
    """The county a task's unit lies in, or within ``county`` its school (a teaching point counts on its own)."""
    if path is None:
        return None
    steps = [step.split(":", 1) for step in path.strip("/").split("/") if ":" in step]
    if county is None:
        return next((unit for kind, unit in steps if kind == "county"), None)
    below = [unit for kind, unit in steps if kind in ("school", "teaching_point")]
    return below[-1] if below else county


def _in_county(query: Any, county: str | None, scope: Scope) -> Any:
    """Keep rows whose unit lies in ``county`` (or, for a county officer, in one of theirs)."""
    counties = [county] if county is not None else (sorted(scope.counties) if scope.counties is not None else None)
    if counties is None:
        return query
    return query.where(or_(*(_u.c.path.contains(f"/county:{c}/", autoescape=True) for c in counties)))


def _require_county(database: Database, scope: Scope, county: str) -> None:
    """A county of the directory within the caller's scope; another county answers as a missing one (404)."""
    with database.engine.connect() as connection:
        found = connection.execute(select(_u.c.kind).where(_u.c.id == county)).scalar()
    if found != "county" or not scope.allows_county(county):
        raise not_on_dashboard(f"county '{county}'", "county")


#: For other figures over the same scope (engine.counselling_figures).
within_counties = _in_county
require_county = _require_county


def _local(value: datetime | None) -> str | None:
    return value.astimezone(BUSINESS_TZ).isoformat() if value is not None else None


# --- the sheets of the .xlsx exports ---------------------------------------------------------------------------------

Sheet = tuple[str, list[str], list[list[Any]]]
_STATES = {"completed": "已完成", "running": "进行中", "pending": "未开始", "not_started": "未开始", "closed": "已截止",
           "cancelled": "已取消", "failed": "出错"}
_STANDING_NAMES = {"approved": "已通过", "submitted": "已提交", "returned": "已退回", "not_submitted": "未提交"}


def rollout_sheets(level: dict[str, Any]) -> list[Sheet]:
    """One level of a rollout as sheets: its units (with their submissions where the rollout counts units), and
    (at a school) its people."""
    where = " / ".join(c["name"] for c in level["breadcrumbs"]) or (level["name"] or level["process_key"])
    by_units = level["measure"] == "units"
    sheets: list[Sheet] = []
    if level["units"]:
        sheets.append(("单位覆盖", ["单位", "单位代码", "状态", "下级单位数", "下级已完成", "下级未完成", "人数",
                                 "已完成人数", "未完成人数", "完成率%", "完成时间",
                                 *(_STANDING_NAMES.values() if by_units else ())],
                       [[u["name"], u["unit"], _STATES.get(u["state"] if u["started"] else "not_started", u["state"]),
                         u["units"]["total"], u["units"]["completed"], u["units"]["missing"], u["people"]["total"],
                         u["people"]["completed"], u["people"]["missing"],
                         u["percent"] if u["percent"] is not None else "", u["completed_at"] or "",
                         *(u["submissions"][k] for k in _STANDING_NAMES if by_units)]
                        for u in level["units"]]))
    if level["people"] or not sheets:
        sheets.append(("人员名单", ["姓名", "工号", "电话", "任务", "是否完成", "完成时间", "截止时间"],
                       [[p["name"], p["id"], p["phone"] or "", p["task"], "已完成" if p["done"] else "未完成",
                         p["completed_at"] or "", p["due_at"] or ""] for p in level["people"]]))
    sheets.append(("说明", ["项目", "内容"], [["推进", where], ["实例", level["instance_id"]]]))
    return sheets


def monthly_sheets(figures: dict[str, Any]) -> list[Sheet]:
    """The monthly checks: submission and scores per month, and the histogram of scores."""
    return [("一月一查", ["月份", "应查学校", "按时提交", "逾期提交", "未到期", "逾期未交", "提交率%", "按时率%",
                      "已评分", "平均分", *BANDS, "最低分", "下四分位", "中位数", "上四分位", "最高分"],
             [[m["month"], m["schools"], m["on_time"], m["late"], m["pending"], m["missing"], m["submitted_rate"],
               m["on_time_rate"], m["scored"], m["average"] if m["average"] is not None else "",
               *(m["bands"][b] for b in BANDS), *(m["box"] or [""] * 5)] for m in figures["months"]]),
            ("分数分布", ["月份", *figures["histogram_bins"]],
             [[m["month"], *m["histogram"]] for m in figures["months"]]),
            _comparison_sheet(figures["comparison"])]


def _comparison_sheet(comparison: dict[str, Any]) -> Sheet:
    """The month's scores compared per county (or per school), as ranked."""
    counties = comparison["level"] == "counties"
    return ("得分对比", ["月份", "排名", "县市区" if counties else "学校", "单位代码",
                      "已评分学校" if counties else "已评分教师", "应评分", "平均分", "最低分", "下四分位", "中位数",
                      "上四分位", "最高分"],
            [[comparison["month"] or "", u["rank"] or "", u["name"], u["unit"], u["scored"], u["expected"],
              u["average"] if u["average"] is not None else "", *(u["box"] or [""] * 5)]
             for u in comparison["units"]])


def overdue_sheets(figures: dict[str, Any]) -> list[Sheet]:
    """Overdue work per unit, split by process."""
    processes = figures["processes"]
    return [("逾期待办", ["县市区" if figures["level"] == "counties" else "学校/教学点", "单位代码", "逾期待办数",
                      "最早截止", *(p["name"] for p in processes)],
             [[u["name"], u["unit"] or "", u["overdue"], u["oldest_due"] or "",
               *(u["by_process"].get(p["key"], 0) for p in processes)] for u in figures["units"]])]
