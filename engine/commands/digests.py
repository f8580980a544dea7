"""Digests: each working morning a person's due and overdue work in one message; on the week's first working day,
for leaders, how their units did last week.

- ``digest_daily`` goes to each person with an open task overdue, due today or due on the next working day (theirs,
  or offered to them), and to each officer (programme officer, bureau head, deputy head of a county or the city)
  whose units below are behind: overdue tasks per unit.
- ``digest_weekly`` goes to the bureau heads and deputy heads of the counties and the city, and to the principals:
  per unit below them (their own school, for a principal), the tasks completed last week (how many late) and
  those overdue at its end.

Counts are read by a few grouped queries over every unit at once and rolled up along the units' paths, so a
city of thousands of schools costs the same handful of statements; the messages are then one per person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select

from engine.clock import BUSINESS_TZ
from engine.commands.unit_of_work import UnitOfWork
from engine.notifications.planning import Occasion, notify
from engine.notifications.recipients import TaskFacts, chunks, responsible, task_facts
from engine.notifications.wording import day_text, moment_text, plain, task_link, task_name
from engine.org.calendar import WorkingCalendar
from engine.store import tables

_t, _u, _r = tables.human_task, tables.org_unit, tables.role_assignment
#: Who hears daily of the units below them that are behind (at a county or the city).
OFFICER_ROLES = ("programme_officer", "bureau_head", "deputy_head")
#: Who gets the weekly digest: heads at a county or the city, principals at their school.
HEAD_ROLES = ("bureau_head", "deputy_head")
#: Lines a list shows before "另有 N 项".
SHOWN = 10


def first_working_day_of_week(calendar: WorkingCalendar, day: date) -> bool:
    """Whether ``day`` is the first working day of its week (Monday to Sunday)."""
    monday = day - timedelta(days=day.weekday())
    return calendar.is_working_day(day) and not any(
        calendar.is_working_day(monday + timedelta(days=n)) for n in range((day - monday).days))


def daily_digests(uow: UnitOfWork, today: date) -> int:
    """Send today's digests; the number of people told."""
    now = uow.now
    next_day = uow.calendar.next_working_day(today)
    tomorrow, horizon = _start_of(today + timedelta(days=1)), _start_of(next_day + timedelta(days=1))
    ids = uow.read(select(_t.c.id).where(_t.c.state == "open", _t.c.due_at.is_not(None), _t.c.due_at < horizon)
                   .order_by(_t.c.due_at, _t.c.id)).scalars().all()
    tasks = task_facts(uow, ids)
    mine: dict[str, list[TaskFacts]] = defaultdict(list)
    for task_id, people in responsible(uow, tasks.values()).items():
        for person in people:
            mine[person].append(tasks[task_id])
    behind = _behind_below(uow, _scope_counts(uow, select(_t.c.org_scope, func.count()).where(
        _t.c.state == "open", _t.c.due_at <= now)), OFFICER_ROLES, ("county", "city"))
    settings = uow.services.notifications
    told = 0
    for person in sorted(set(mine) | set(behind)):
        own = sorted(mine.get(person, []), key=lambda task: (task.due_at, task.id))
        overdue = [task for task in own if task.due_at <= now]  # type: ignore[operator]
        due_today = [task for task in own if now < task.due_at < tomorrow]  # type: ignore[operator]
        soon = [task for task in own if task.due_at >= tomorrow]  # type: ignore[operator]
        sections = [_task_section(f"已逾期 {len(overdue)} 项", overdue, settings.public_url),
                    _task_section(f"今天到期 {len(due_today)} 项", due_today, settings.public_url),
                    _task_section(f"{_next_day_name(today, next_day)}到期 {len(soon)} 项", soon, settings.public_url)]
        units = behind.get(person, {})
        if units:
            rows = sorted(units.items(), key=lambda item: (-item[1][0], item[0]))
            sections.append(_unit_section(f"辖区逾期：{len(rows)} 个单位共 {sum(n for n, *_ in units.values())} 项",
                                          [f"{plain(name)}：逾期 {count} 项" for name, (count, *_) in rows]))
        parts = [f"已逾期 {len(overdue)} 项" if overdue else "", f"今天到期 {len(due_today)} 项" if due_today else "",
                 f"即将到期 {len(soon)} 项" if soon else "", f"辖区逾期 {len(units)} 个单位" if units else ""]
        subject = f"每日待办摘要（{day_text(today)}）：" + "，".join(part for part in parts if part)
        links = f"[打开待办]({settings.public_url}/inbox)" + (
            f" · [逾期督办]({settings.public_url}/dashboard/overdue)" if units else "")
        body = "\n\n".join([section for section in sections if section] + [links])
        occasion = Occasion("digest_daily", subject, body, f"digest_daily:{today.isoformat()}", link="/inbox")
        told += len(notify(uow, occasion, [person]).notifications)
    return told


def weekly_digests(uow: UnitOfWork, today: date) -> int:
    """Send last week's digest to the leaders; the number of people told."""
    monday = today - timedelta(days=today.weekday())
    starts, ends = _start_of(monday - timedelta(days=7)), _start_of(monday)
    done = _scope_counts(uow, select(
        _t.c.org_scope, func.count(), func.sum(case((_t.c.completed_at > _t.c.due_at, 1), else_=0)))
        .where(_t.c.state == "completed", _t.c.completed_at >= starts, _t.c.completed_at < ends))
    late = _scope_counts(uow, select(_t.c.org_scope, func.count()).where(
        _t.c.due_at < ends, _t.c.created_at < ends,
        or_(_t.c.state == "open", and_(_t.c.state == "completed", _t.c.completed_at >= ends))))
    counts = {scope: (done.get(scope, (0, 0))[0], done.get(scope, (0, 0))[1], late.get(scope, (0,))[0])
              for scope in set(done) | set(late)}
    leaders = _behind_below(uow, counts, HEAD_ROLES, ("county", "city"))
    for person, units in _behind_below(uow, counts, ("principal",), ("school",)).items():
        leaders.setdefault(person, {}).update(units)
    settings = uow.services.notifications
    week = f"{day_text(monday - timedelta(days=7))}—{day_text(monday - timedelta(days=1))}"
    told = 0
    for person, units in sorted(leaders.items()):
        completed = sum(row[0] for row in units.values())
        completed_late = sum(row[1] for row in units.values())
        overdue = sum(row[2] for row in units.values())
        rows = sorted(units.items(), key=lambda item: (-item[1][2], -item[1][0], item[0]))
        lines = [f"{plain(name)}：完成 {c} 项" + (f"（逾期完成 {cl} 项）" if cl else "") + f"，逾期未办 {o} 项"
                 for name, (c, cl, o) in rows]
        summary = f"完成 {completed} 项（其中逾期完成 {completed_late} 项），周末仍逾期未办 {overdue} 项。"
        body = "\n\n".join([f"**上周（{week}）工作情况**", summary, _unit_section("各单位", lines),
                            f"[查看工作台]({settings.public_url}/dashboard)"])
        subject = f"每周工作摘要（{week}）：完成 {completed} 项，逾期未办 {overdue} 项"
        occasion = Occasion("digest_weekly", subject, body, f"digest_weekly:{monday.isoformat()}", link="/dashboard")
        told += len(notify(uow, occasion, [person]).notifications)
    return told


def _scope_counts(uow: UnitOfWork, query: Any) -> dict[str, tuple[int, ...]]:
    """A grouped count per task unit (``query`` selects the unit, then the counts; grouped here)."""
    rows = uow.read(query.where(_t.c.org_scope.is_not(None)).group_by(_t.c.org_scope)).all()
    return {row[0]: tuple(int(value or 0) for value in row[1:]) for row in rows}


def _behind_below(uow: UnitOfWork, counts: dict[str, tuple[int, ...]], roles: Iterable[str],
                  kinds: tuple[str, ...]) -> dict[str, dict[str, tuple[int, ...]]]:
    """Per holder of ``roles`` at a unit of ``kinds``: the counts of the units one step below it (each with the
    units under it), and its own as 本级, by unit name; only units with something counted."""
    if not counts:
        return {}
    paths: dict[str, list[str]] = {}
    for scopes in chunks(counts):
        for unit_id, path in uow.read(select(_u.c.id, _u.c.path).where(_u.c.id.in_(scopes))):
            paths[unit_id] = [step.split(":", 1)[1] for step in path.split("/") if ":" in step]
    above: dict[str, dict[str, list[int]]] = defaultdict(dict)  # unit → the unit below it (or itself) → counts
    for scope, chain in paths.items():
        for depth, unit in enumerate(chain):
            key = chain[depth + 1] if depth + 1 < len(chain) else unit
            summed = above[unit].setdefault(key, [0] * len(counts[scope]))
            for n, value in enumerate(counts[scope]):
                summed[n] += value
    holders = uow.read(select(_r.c.person_id, _r.c.unit_id).join(_u, _u.c.id == _r.c.unit_id)
                       .where(_r.c.role.in_(list(roles)), _u.c.kind.in_(kinds), _r.c.unit_id.in_(list(above)))).all()
    if not holders:
        return {}
    named = {key for unit in {unit for _person, unit in holders} for key in above[unit]}
    names = {}
    for ids in chunks(named):
        names.update(dict(uow.read(select(_u.c.id, _u.c.name).where(_u.c.id.in_(ids))).all()))
    found: dict[str, dict[str, tuple[int, ...]]] = defaultdict(dict)
    for person, unit in holders:
        for key, summed in above[unit].items():
            if any(summed):
                name = names.get(key, key)
                label = f"{name}（本级）" if key == unit and len(above[unit]) > 1 else name
                found[person][label] = tuple(summed)
    return dict(found)


def _task_section(title: str, tasks: list[TaskFacts], public_url: str) -> str:
    if not tasks:
        return ""
    lines = [f"- [{plain(task_name(task))}]({public_url}{task_link(task.id)})"
             + (f"（{plain(task.unit_name)}）" if task.unit_name and not task.confidential else "")
             + f" — {moment_text(task.due_at)}" for task in tasks[:SHOWN]]  # type: ignore[arg-type]
    if len(tasks) > SHOWN:
        lines.append(f"- 另有 {len(tasks) - SHOWN} 项")
    return f"**{title}**\n" + "\n".join(lines)


def _unit_section(title: str, lines: list[str]) -> str:
    shown = [f"- {line}" for line in lines[:SHOWN]]
    if len(lines) > SHOWN:
        shown.append(f"- 另有 {len(lines) - SHOWN} 个单位")
    return f"**{title}**\n" + "\n".join(shown)


def _next_day_name(today: date, next_day: date) -> str:
    return "明天" if next_day == today + timedelta(days=1) else f"下一个工作日（{day_text(next_day)}）"


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), BUSINESS_TZ)
