"""The working-day calendar: China's official 2026 schedule, administrators' overrides, the statutory days off of a
year the official schedule does not carry yet, and years before the law that nobody knows.

Commands and queries run through the engine on SQLite and PostgreSQL; the CLI through click's runner.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import chinese_calendar
import pytest
from sqlalchemy import event, select

from engine.bootstrap import Huhua
from engine.commands import ClearWorkday, SetWorkday
from engine.errors import HuhuaError, InvalidInput, NotFound
from engine.org.calendar import Override, SpecialDay, WorkingCalendar, YearBasis
from engine.org.statutory_holidays import statutory_days_off
from engine.store.models import Event
from tests.helpers import cli_json

#: One database: working days are reckoned in Python over rows any database keeps alike.
DATABASES = ("sqlite",)

NATIONAL_DAY_2026 = [date(2026, 10, d) for d in range(1, 8)]


@pytest.fixture
def cli(cli):  # type: ignore[no-untyped-def]
    """The shared command line, narrowed to `huhua calendar`."""
    return lambda *args: cli("calendar", *args)


def _after(huhua: Huhua, day: str, n: int) -> str:
    return huhua.queries.working_days_after(day, n)["date"]


# --- the official 2026 schedule -------------------------------------------------------------------------------


def test_five_working_days_after_29_september_2026_is_12_october(huhua: Huhua) -> None:
    answer = huhua.queries.working_days_after("2026-09-29", 5)
    assert answer["date"] == "2026-10-12" and answer["weekday"] == "Mon"
    assert answer["warnings"] == []


def test_national_day_2026_is_off_and_its_adjusted_weekends_are_worked(huhua: Huhua) -> None:
    for day in NATIONAL_DAY_2026:
        answer = huhua.queries.is_working_day(day.isoformat())
        assert answer["working"] is False, day
        assert "National Day" in answer["reason"]
    sunday, saturday = huhua.queries.is_working_day("2026-09-20"), huhua.queries.is_working_day("2026-10-10")
    assert (sunday["weekday"], sunday["working"]) == ("Sun", True)
    assert (saturday["weekday"], saturday["working"]) == ("Sat", True)
    assert sunday["basis"] == "official" and "调休" in sunday["reason"]
    assert huhua.queries.is_working_day("2026-10-11")["working"] is False  # the Sunday after stays a weekend


def test_first_working_day_of_the_month_follows_the_official_schedule(huhua: Huhua) -> None:
    calendar = huhua.queries.calendar.working_calendar()
    assert calendar.first_working_day_of_month(2026, 10) == date(2026, 10, 8)
    # February 2026: the Spring Festival break is 15–23 Feb, so the month starts on Monday the 2nd as usual.
    assert calendar.first_working_day_of_month(2026, 2) == date(2026, 2, 2)
    assert calendar.is_working_day(date(2026, 2, 14)) and calendar.is_working_day(date(2026, 2, 28))
    assert not any(calendar.is_working_day(date(2026, 2, d)) for d in range(15, 24))
    # January 2026: 1–3 Jan are New Year's Day, and Sunday the 4th is worked in their place.
    assert calendar.first_working_day_of_month(2026, 1) == date(2026, 1, 4)


def test_zero_working_days_moves_a_holiday_forward_and_leaves_a_working_day(huhua: Huhua) -> None:
    assert _after(huhua, "2026-10-01", 0) == "2026-10-08"
    assert _after(huhua, "2026-10-08", 0) == "2026-10-08"
    assert _after(huhua, "2026-10-03", 1) == "2026-10-09"  # counting from a holiday starts at the next working day
    calendar = huhua.queries.calendar.working_calendar()
    assert calendar.next_working_day(date(2026, 9, 30)) == date(2026, 10, 8)
    assert calendar.next_working_day(date(2026, 10, 9)) == date(2026, 10, 10)


def test_show_2026_lists_the_holidays_and_adjusted_days(cli) -> None:  # type: ignore[no-untyped-def]
    shown = cli_json(cli("show", "2026", "--json"))
    assert shown["basis"] == "official" and shown["warnings"] == []
    days = {d["date"]: d for d in shown["days"]}
    assert all(days[d.isoformat()]["working"] is False for d in NATIONAL_DAY_2026)
    assert days["2026-09-20"]["working"] is True and days["2026-10-10"]["working"] is True
    assert "2026-10-12" not in days  # a plain Monday is not listed
    human = cli("show", "2026")
    assert human.exit_code == 0
    assert human.stdout.splitlines()[0].startswith("2026: official calendar (chinese-calendar")
    assert "2026-10-10 Sat  workday" in human.stdout


# --- overrides --------------------------------------------------------------------------------------------------


def test_an_override_makes_a_day_a_holiday_and_the_count_moves(huhua: Huhua) -> None:
    done = huhua.execute(SetWorkday(day="2026-10-09", working=False, actor="city01", note="校庆"))
    assert done["official_working"] is True and done["previous"] is None
    assert huhua.queries.is_working_day("2026-10-09") == {
        "date": "2026-10-09", "weekday": "Fri", "working": False, "basis": "official",
        "reason": "set by city01: 校庆", "warnings": []}
    assert _after(huhua, "2026-09-29", 5) == "2026-10-13"
    assert huhua.queries.calendar_overrides(2026) == [{"date": "2026-10-09", "working": False, "note": "校庆",
                                                         "set_by": "city01", "set_at": huhua.clock.now().isoformat()}]

    cleared = huhua.execute(ClearWorkday(day=date(2026, 10, 9), actor="city01"))
    assert cleared["working"] is True and cleared["cleared"]["note"] == "校庆"
    assert _after(huhua, "2026-09-29", 5) == "2026-10-12"
    assert huhua.queries.calendar_overrides("2026") == []

    with huhua.services.database.read() as session:
        events = session.scalars(select(Event).where(Event.kind.in_(["workday_set", "workday_cleared"]))
                                 .order_by(Event.id)).all()
        assert [(e.kind, e.actor) for e in events] == [("workday_set", "city01"), ("workday_cleared", "city01")]
        assert json.loads(events[0].detail) == {"day": "2026-10-09", "working": False, "note": "校庆",
                                                "previous": None}


def test_an_override_can_turn_an_official_holiday_into_a_working_day_and_be_replaced(huhua: Huhua) -> None:
    huhua.execute(SetWorkday(day="2026-10-05", working=True, actor="admin", note="值班"))
    assert _after(huhua, "2026-09-29", 5) == "2026-10-10"  # Sep 30, Oct 5, 8, 9, 10
    assert huhua.queries.calendar.working_calendar().first_working_day_of_month(2026, 10) == date(2026, 10, 5)
    again = huhua.execute(SetWorkday(day="2026-10-05", working=False, actor="city01"))
    assert again["previous"] == {"working": True, "note": "值班", "set_by": "admin"}
    assert _after(huhua, "2026-09-29", 5) == "2026-10-12"
    assert huhua.queries.calendar_overrides(2026)[0]["set_by"] == "city01"


def test_a_year_the_library_does_not_know_can_be_entered(huhua: Huhua, cli) -> None:  # type: ignore[no-untyped-def]
    # the State Council's 2027 arrangement as an administrator enters it: a Saturday worked, a bridging day off,
    # and (as the arrangement may) a computed make-up day worked after all
    assert cli("set", "2027-02-11", "holiday", "--note", "春节连休", "--as", "city01").exit_code == 0
    entered = cli_json(cli("set", "2027-02-20", "workday", "--note", "春节调休", "--json"))
    assert entered["official_working"] is None and entered["statutory"] is None
    worked = cli("set", "2027-02-10", "workday", "--note", "按国务院安排")
    assert worked.stdout.strip() == ("2027-02-10 is now a workday (its year is not in the official calendar; statutory "
                                     "day off by law: 补假 make-up day off for 春节 Spring Festival)")
    assert huhua.queries.is_working_day("2027-02-20")["working"] is True  # a Saturday, entered as worked
    assert huhua.queries.is_working_day("2027-02-10")["working"] is True  # the override wins over the law
    assert _after(huhua, "2027-02-04", 1) == "2027-02-10"  # 5–9 February off by law, the 10th worked as entered

    shown = cli_json(cli("show", "2027", "--json"))
    assert shown["basis"] == "entered" and shown["overrides"] == 3 and shown["warnings"] == []
    assert [(d["date"], d["working"], d["override"]["note"]) for d in shown["days"] if d["override"]] == [
        ("2027-02-10", True, "按国务院安排"), ("2027-02-11", False, "春节连休"), ("2027-02-20", True, "春节调休")]
    assert {d["date"]: d["statutory"] for d in shown["days"]}["2027-01-01"] is True  # the law's days stay under them
    human = cli("show", "2027")
    assert "3 day(s) entered by administrators; otherwise the statutory days off computed" in human.stdout
    assert "2027-02-11 Thu  holiday  override by city01: 春节连休" in human.stdout
    assert "2027-02-10 Wed  workday  override by admin: 按国务院安排 (by law: holiday, 补假" in human.stdout
    cleared = cli("clear", "2027-02-10")
    assert cleared.stdout.strip().startswith("2027-02-10: override removed; it is a holiday (its year is not in "
                                             "the official calendar; statutory day off by law: 补假")


def test_a_year_the_library_does_not_know_yet_has_the_statutory_days_off(huhua: Huhua, cli) -> None:  # type: ignore[no-untyped-def]
    # New Year's Day 2027 is a Friday: off by law, so the first working day of the year is Monday the 4th
    answer = huhua.queries.is_working_day("2027-01-01")
    assert answer["working"] is False and answer["basis"] == "statutory"
    assert answer["reason"].startswith("元旦 New Year's Day (statutory, computed from 《全国年节及纪念日放假办法》")
    assert "法定节假日按《全国年节及纪念日放假办法》推算" in answer["warnings"][0]
    assert "调休上班日和连休安排待国务院公布" in answer["warnings"][0]
    assert "weekends worked and days bridged (调休) are unknown" in answer["warnings"][0]
    assert huhua.queries.calendar.working_calendar().first_working_day_of_month(2027, 10) == date(2027, 10, 6)

    counted = cli("after", "2026-12-31", "1")
    assert counted.exit_code == 0 and counted.stdout.strip() == "2027-01-04"
    assert "warning: 2027 年尚无国务院放假安排（chinese-calendar" in counted.stderr
    shown = cli_json(cli("show", "2027", "--json"))
    assert shown["basis"] == "statutory" and shown["overrides"] == 0 and len(shown["warnings"]) == 1
    off = {d["date"]: d["name"] for d in shown["days"] if d["statutory"] and not d["working"]}
    assert off["2027-02-05"] == "春节 Spring Festival"  # 除夕: lunar new year 2027 is Saturday 6 February
    assert off["2027-10-01"] == "国庆节 National Day" and off["2027-09-15"] == "中秋 Mid-autumn Festival"
    assert off["2027-10-04"] == "补假 make-up day off for 国庆节 National Day"  # 2 and 3 October are a weekend
    assert "2027-10-06" not in off and len(off) == 19
    human = cli("show", "2027")
    assert human.stdout.splitlines()[0].startswith("2027: not in chinese-calendar 1.11.0: the statutory days off")
    assert "2027-04-05 Mon  holiday  清明 Tomb-sweeping Day (statutory, computed)" in human.stdout


def test_the_computed_statutory_days_off_are_official_days_off_where_the_official_schedule_is_known() -> None:
    """Proves the computation on real data: every day the law gives in 2025 and 2026, make-up days included, is a
    day off in the State Council's published arrangement."""
    for year in (2025, 2026):
        computed = statutory_days_off(year)
        assert len(computed) >= 13
        assert [d for d in computed if chinese_calendar.is_workday(d)] == [], year
        named = {d: chinese_calendar.get_holiday_detail(d)[1] for d in computed}
        assert [d for d, name in named.items() if name is None or name not in computed[d]] == [], year
    assert statutory_days_off(2024) == {}  # before the 2024 revision, other rules applied
    # the 清明 solar term agrees with chinese-calendar's own formula for the years both cover
    for year in range(2025, 2100):
        qingming = [d for d, term in chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 30))
                    if term == "清明"]
        assert [d for d, name in statutory_days_off(year).items() if name.startswith("清明")] == qingming, year


def test_a_year_nobody_knows_falls_back_to_weekdays_with_a_warning(huhua: Huhua, cli) -> None:  # type: ignore[no-untyped-def]
    answer = huhua.queries.is_working_day("2003-01-01")  # before the official data and the law: nobody said so
    assert answer["working"] is True and answer["basis"] == "weekdays"
    assert answer["warnings"] and "2003" in answer["warnings"][0]
    assert huhua.queries.calendar.working_calendar().basis(2003) is YearBasis.WEEKDAYS

    counted = cli("after", "2003-01-03", "1")
    assert counted.exit_code == 0 and counted.stdout.strip() == "2003-01-06"
    assert "2003 is not in chinese-calendar" in counted.stderr and "暂按周一至周五计算" in counted.stderr
    as_json = cli_json(cli("after", "2003-01-03", "1", "--json"))
    assert as_json["date"] == "2003-01-06" and len(as_json["warnings"]) == 1
    shown = cli_json(cli("show", "2003", "--json"))
    assert shown["basis"] == "weekdays" and shown["days"] == [] and shown["warnings"]
    assert cli_json(cli("after", "2026-09-29", "5", "--json"))["warnings"] == []


def test_counting_reads_each_year_once_not_once_per_day(huhua: Huhua) -> None:
    huhua.execute(SetWorkday(day="2026-03-10", working=False, actor="admin"))
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "workday_override" in statement:
            statements.append(statement)

    engine = huhua.services.database.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert _after(huhua, "2026-03-02", 20) == "2026-03-31"  # 20 working days, one of them overridden
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1


# --- bad input --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command, field", [
    (SetWorkday(day="2026/10/09", working=False, actor="admin"), "day"),
    (SetWorkday(day="2026-02-30", working=False, actor="admin"), "day"),
    (SetWorkday(day=datetime(2026, 10, 9, 8), working=False, actor="admin"), "day"),  # type: ignore[arg-type]
    (SetWorkday(day="2026-10-09", working="no", actor="admin"), "working"),  # type: ignore[arg-type]
    (SetWorkday(day="2026-10-09", working=False, actor=""), "actor"),
    (SetWorkday(day="2026-10-09", working=False, actor="admin", note="x" * 301), "note"),
    (ClearWorkday(day="20261009", actor="admin"), "day"),
])
def test_commands_refuse_bad_input_naming_the_field(huhua: Huhua, command: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        huhua.execute(command)
    assert [p.field for p in refused.value.problems] == [field]
    assert huhua.queries.calendar_overrides(2026) == []


@pytest.mark.parametrize("day, n, field", [
    ("2026-9-29", 5, "date"),
    ("2026-13-01", 5, "date"),
    ("1800-01-01", 5, "date"),
    ("2026-09-29", -1, "n"),
    ("2026-09-29", 3651, "n"),
    ("2026-09-29", "five", "n"),
    ("2026-09-29", 2.5, "n"),
    ("2026-09-29", True, "n"),
])
def test_queries_refuse_bad_input_naming_the_field(huhua: Huhua, day: Any, n: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        huhua.queries.working_days_after(day, n)
    assert [p.field for p in refused.value.problems] == [field]


def test_clearing_a_date_without_an_override_is_reported(huhua: Huhua) -> None:
    with pytest.raises(NotFound, match="no working-day override is set for 2026-10-09"):
        huhua.execute(ClearWorkday(day="2026-10-09", actor="admin"))


@pytest.mark.parametrize("args, expected", [
    (["after", "2026-02-30", "1"], "date must be a real day"),
    (["after", "2026-09-29", "x"], "n must be a whole number from 0 to 3650"),
    (["after", "2026-09-29", "-1"], "n must be a whole number from 0 to 3650"),
    (["set", "2026-10-09", "day-off"], "must be workday or holiday"),
    (["set", "tomorrow", "holiday"], "day must be a date as YYYY-MM-DD"),
    (["clear", "2026-10-09"], "no working-day override is set for 2026-10-09"),
    (["show", "twenty"], "a year must be a whole number from 1900 to 2199"),
])
def test_cli_bad_input_exits_2_with_a_message(cli, args: list[str], expected: str) -> None:  # type: ignore[no-untyped-def]
    result = cli(*args)
    assert result.exit_code == 2
    assert expected in result.stderr


def test_cli_bad_input_in_json_names_the_field(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("after", "2026-09-29", "3651", "--json")
    assert result.exit_code == 2
    error = json.loads(result.stderr)
    assert error["error"] == "invalid_input" and error["problems"] == [{"message": "expected 0..3650", "field": "n"}]


# --- the calendar itself, without a database --------------------------------------------------------------------


def test_the_calendar_reads_each_year_once_and_overrides_win() -> None:
    reads: list[int] = []

    def load(year: int) -> list[Override]:
        reads.append(year)
        return [Override(date(2026, 12, 31), False, "年终盘点")] if year == 2026 else []

    calendar = WorkingCalendar(load)
    assert calendar.add_working_days(date(2026, 12, 1), 21) == date(2026, 12, 30)
    assert reads == [2026]
    # the 31st is off; 2027 is estimated from the law: 1 January off, then the weekend
    assert calendar.add_working_days(date(2026, 12, 1), 22) == date(2027, 1, 4)
    assert reads == [2026, 2027]
    assert calendar.is_official(2026) and calendar.guessed_years() == [2027]
    assert calendar.basis(2027) is YearBasis.STATUTORY
    official = WorkingCalendar(lambda year: [Override(date(2027, 10, 4), True, "按安排上班")] if year == 2027 else [])
    assert official.is_working_day(date(2027, 10, 4)) and not official.is_working_day(date(2027, 10, 5))
    assert official.basis(2027) is YearBasis.ENTERED and official.guessed_years() == []
    # where the official schedule is known it alone rules: Saturday 10 October 2026 is worked as published, and
    # 5 October 2026 is named by the schedule, not by the law's computation
    assert official.is_working_day(date(2026, 10, 10))
    assert official.special_day(date(2026, 10, 5)) == SpecialDay(date(2026, 10, 5), False, False,
                                                                 "国庆节 National Day", None, None)
    assert 2026 in WorkingCalendar.known_years() and 2027 not in WorkingCalendar.known_years()


def test_the_calendar_refuses_datetimes_and_a_year_without_working_days() -> None:
    calendar = WorkingCalendar()
    with pytest.raises(TypeError):
        calendar.is_working_day(datetime(2026, 10, 8, 9))  # type: ignore[arg-type]
    every_day_off = WorkingCalendar(lambda year: [Override(date(year, 1, 1) + timedelta(days=i), False)
                                                  for i in range(366)])
    with pytest.raises(HuhuaError, match="no working day in the 366 days"):
        every_day_off.add_working_days(date(2030, 1, 1), 1)
