"""The working-day calendar verbs: calendar after/set/clear/show."""

from __future__ import annotations

from typing import Any

import click

from engine.cli.base import (
    Context,
    emit,
    guard,
    json_option,
    main,
)
from engine.commands.requests import ClearWorkday, SetWorkday
from engine.errors import InvalidInput, Problem


@main.group("calendar")
def calendar_group() -> None:
    """Working days: China's official calendar, with administrators' overrides on top."""


_DAY_KINDS = {"workday": True, "holiday": False}


def _kind(working: bool | None) -> str:
    return "unknown" if working is None else "workday" if working else "holiday"


def _warn(warnings: list[str], as_json: bool) -> None:
    """Print a calendar answer's warnings on stderr (a --json answer carries them in its body)."""
    if not as_json:
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)


@calendar_group.command("after", context_settings={"ignore_unknown_options": True})  # N may be "-1"
@click.argument("day", metavar="DATE")
@click.argument("n", metavar="N")
@json_option
@click.pass_obj
def calendar_after(obj: Context, day: str, n: str, as_json: bool) -> None:
    """Print the date N working days after DATE (YYYY-MM-DD); N = 0 gives DATE or the next working day."""

    def run() -> None:
        result = obj.huhua.queries.working_days_after(day, n)
        _warn(result["warnings"], as_json)
        emit(as_json, result, lambda r: r["date"])

    guard(as_json, run)


@calendar_group.command("set")
@click.argument("day", metavar="DATE")
@click.argument("kind", metavar="workday|holiday")
@click.option("--note", help="Why; shown by `huhua calendar show`.")
@click.option("--as", "actor", default="admin", show_default=True, help="Who decides.")
@json_option
@click.pass_obj
def calendar_set(obj: Context, day: str, kind: str, note: str | None, actor: str, as_json: bool) -> None:
    """Make DATE a working day or a holiday, whatever the official calendar says."""

    def run() -> None:
        if kind not in _DAY_KINDS:
            raise InvalidInput(f"the day's kind must be workday or holiday, not {kind!r}",
                               [Problem("expected workday or holiday", field="kind")])
        result = obj.huhua.execute(SetWorkday(day=day, working=_DAY_KINDS[kind], actor=actor, note=note))
        emit(as_json, result, lambda r: f"{r['date']} is now a {_kind(r['working'])} ({_without_override(r)})")

    guard(as_json, run)


@calendar_group.command("clear")
@click.argument("day", metavar="DATE")
@click.option("--as", "actor", default="admin", show_default=True, help="Who decides.")
@json_option
@click.pass_obj
def calendar_clear(obj: Context, day: str, actor: str, as_json: bool) -> None:
    """Remove the override of DATE, so the official calendar decides again."""

    def run() -> None:
        result = obj.huhua.execute(ClearWorkday(day=day, actor=actor))
        emit(as_json, result, lambda r: f"{r['date']}: override removed; it is a {_kind(r['working'])} "
              f"({_without_override(r)})")

    guard(as_json, run)


def _without_override(r: dict[str, Any]) -> str:
    """What decides the date when no administrator does, for a set or clear answer."""
    if r["official_working"] is not None:
        return f"official calendar: {_kind(r['official_working'])}"
    if r["statutory"]:
        return f"its year is not in the official calendar; statutory day off by law: {r['statutory']}"
    return "its year is not in the official calendar; no statutory day off"


@calendar_group.command("show")
@click.argument("year", metavar="YEAR")
@json_option
@click.pass_obj
def calendar_show(obj: Context, year: str, as_json: bool) -> None:
    """List YEAR's holidays, adjusted working days and overrides, and what the year rests on."""

    def human(r: dict[str, Any]) -> str:
        by_law = any(d["statutory"] for d in r["days"])
        statutory = (f"the statutory days off computed from {r['statutory_source']} (法定节假日按办法推算) and "
                     "weekends; 调休 not yet published by the State Council")
        heads = {
            "official": f"{r['year']}: official calendar ({r['official_source']})",
            "entered": f"{r['year']}: not in {r['official_source']}; {r['overrides']} day(s) entered by "
                       f"administrators; otherwise {statutory if by_law else 'Monday to Friday'}",
            "statutory": f"{r['year']}: not in {r['official_source']}: {statutory}",
            "weekdays": f"{r['year']}: not in {r['official_source']} and nothing entered: Monday to Friday (a guess)",
        }
        lines = [heads[r["basis"]]]
        for d in r["days"]:
            text = (d["name"] or "") + (" (statutory, computed)" if d["statutory"] else "")
            if d["override"]:
                o = d["override"]
                text = f"override by {o['set_by']}" + (f": {o['note']}" if o["note"] else "")
                if d["official_working"] is not None and d["official_working"] != d["working"]:
                    text += f" (official: {_kind(d['official_working'])}, {d['name']})"
                elif d["statutory"] and d["working"]:
                    text += f" (by law: holiday, {d['name']})"
            lines.append(f"{d['date']} {d['weekday']}  {_kind(d['working']):<7}  {text}")
        return "\n".join(lines if r["days"] else [*lines, "(no holidays or adjusted days)"])

    def run() -> None:
        result = obj.huhua.queries.calendar_year(year)
        _warn(result["warnings"], as_json)
        emit(as_json, result, human)

    guard(as_json, run)
