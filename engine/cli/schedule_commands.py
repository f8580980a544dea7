"""The schedule verbs: schedules (list, a year's occurrences), schedules set/load, and term show/set.

``huhua schedules`` and ``huhua schedules --year 2027`` read the schedules in force and the term calendar; they
read no one's data but the administrators' settings and the org directory's unit counts.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from engine.cli.base import Context, emit, guard, json_object, json_option, main
from engine.clock import BUSINESS_TZ
from engine.commands.requests import ChangeSchedule, LoadShippedSchedules, SetTermCalendar
from engine.org.calendar import parse_year

_HORIZON = timedelta(days=400)


@main.group("schedules", invoke_without_command=True)
@click.option("--year", help="List every occurrence of this year instead (Beijing time).")
@json_option
@click.pass_context
def schedules_group(ctx: click.Context, year: str | None, as_json: bool) -> None:
    """List the schedules in force and when each fires next; with --year, every occurrence of that year.

    Reads the administrators' schedule settings, the term calendar and the number of units per kind; nobody's
    personal data."""
    if ctx.invoked_subcommand is not None:
        return
    obj: Context = ctx.obj

    def run() -> None:
        huhua = obj.huhua
        schedules = huhua.queries.configured_schedules() + huhua.queries.timer_schedules()
        term = huhua.queries.term_calendar()
        if year is not None:
            listing = huhua.queries.operations.schedule_year(schedules, parse_year(year), term)
            emit(as_json, listing, _year_table)
            return
        now = huhua.clock.now()
        calendar = huhua.queries.calendar.working_calendar()
        rows = []
        for schedule in schedules:
            upcoming = next(schedule.occurrences(now, now + _HORIZON, calendar, term), None) \
                if schedule.enabled else None
            checked = huhua.queries.schedule_checked_until(schedule.key)
            rows.append({"key": schedule.key, "process": schedule.process_key,
                         "when": schedule.cron or schedule.rule or ":".join(schedule.timer or ()),
                         "months": list(schedule.months), "term_only": schedule.term_only,
                         "for_each": schedule.for_each, "enabled": schedule.enabled,
                         "variables": dict(schedule.variables),
                         "next": upcoming.astimezone(BUSINESS_TZ).isoformat() if upcoming else None,
                         "checked_until": checked.astimezone(BUSINESS_TZ).isoformat() if checked else None})
        emit(as_json, rows, lambda rs: "\n".join(
            f"{r['key']:<32} {r['process']:<24} {r['when']:<28} "
            + ("paused" if not r["enabled"] else f"next {r['next'] or '—'}")
            + (f"  (each {r['for_each']})" if r["for_each"] else "") for r in rs) or "no schedules")

    guard(as_json, run)


def _year_table(listing: dict[str, Any]) -> str:
    lines = [f"{listing['year']}: {len(listing['occurrences'])} occurrence(s), Beijing time; working days: "
             f"{listing['calendar_basis']}; school holiday months: "
             f"{', '.join(str(m) for m in listing['holiday_months']) or 'none'}",
             f"{'fire time':<26} {'schedule':<28} {'process':<24} for each"]
    for o in listing["occurrences"]:
        each = f"{o['for_each']} ({o['units']} unit{'' if o['units'] == 1 else 's'})" if o["for_each"] else "—"
        lines.append(f"{o['fire_time']:<26} {o['schedule']:<28} {o['process']:<24} {each}")
    if listing["paused"]:
        lines.append(f"paused: {', '.join(listing['paused'])}")
    lines += [f"warning: {w}" for w in listing["calendar_warnings"]]
    lines += [f"error: {e['schedule']}: {e['error']}" for e in listing["errors"]]
    return "\n".join(lines)


@schedules_group.command("set")
@click.argument("key")
@click.argument("changes", metavar="JSON")
@click.option("--as", "actor", default="admin", show_default=True, help="The administrator making the change.")
@json_option
@click.pass_obj
def schedules_set(obj: Context, key: str, changes: str, actor: str, as_json: bool) -> None:
    """Change schedule KEY: JSON holds the fields to set, such as '{"enabled": false}' or '{"months": [3, 9]}'
    (null removes a field)."""

    def run() -> None:
        result = obj.huhua.execute(ChangeSchedule(schedule_key=key, actor=actor, changes=json_object(changes, "JSON")))
        emit(as_json, result, lambda r: f"{r['key']}: {'enabled' if r['enabled'] else 'paused'}, {r['entry']}")

    guard(as_json, run)


@schedules_group.command("load")
@json_option
@click.pass_obj
def schedules_load(obj: Context, as_json: bool) -> None:
    """Load the shipped schedules (config/schedules.toml) that changed since last loaded, as a restart does."""

    def run() -> None:
        result = obj.huhua.execute(LoadShippedSchedules(str(obj.huhua.settings.schedules_file)))
        emit(as_json, result, lambda r: f"loaded: {', '.join(r['loaded']) or 'none'}; "
                                        f"withdrawn: {', '.join(r['withdrawn']) or 'none'}")

    guard(as_json, run)


@main.group("term")
def term_group() -> None:
    """The school term calendar: holiday months (no monthly check) and semester dates."""


def _term_text(term: dict[str, Any]) -> str:
    return (f"holiday months: {', '.join(str(m) for m in term['holiday_months']) or 'none'}\n"
            f"spring semester: {term['spring_start']} to {term['spring_end']}\n"
            f"autumn semester: {term['autumn_start']} to {term['autumn_end']}\n"
            + (f"set by {term['set_by']} at {term['set_at']}" if term["set_by"] else "(defaults, never set)"))


@term_group.command("show")
@json_option
@click.pass_obj
def term_show(obj: Context, as_json: bool) -> None:
    """Show the term calendar in force."""
    guard(as_json, lambda: emit(as_json, obj.huhua.queries.term_calendar().as_dict(), _term_text))


@term_group.command("set")
@click.option("--holiday-months", help="Comma-separated months without school, such as 2,7,8.")
@click.option("--spring", help="The spring semester as MM-DD:MM-DD, such as 03-01:07-10.")
@click.option("--autumn", help="The autumn semester as MM-DD:MM-DD, such as 09-01:01-20 (ends next year).")
@click.option("--as", "actor", default="admin", show_default=True, help="The administrator setting it.")
@json_option
@click.pass_obj
def term_set(obj: Context, holiday_months: str | None, spring: str | None, autumn: str | None, actor: str,
             as_json: bool) -> None:
    """Set the holiday months and semester dates (what is left out keeps its value)."""

    def run() -> None:
        values: dict[str, Any] = {}
        if holiday_months is not None:
            values["holiday_months"] = holiday_months
        for name, given in (("spring", spring), ("autumn", autumn)):
            if given is not None:
                start, _, end = given.partition(":")
                values[f"{name}_start"], values[f"{name}_end"] = start, end
        emit(as_json, obj.huhua.execute(SetTermCalendar(actor=actor, values=values)), _term_text)

    guard(as_json, run)
