"""The yearly cycle of 衡教通〔2019〕41号 is scheduled: calendar rules that keep circulars on working days, the
school term calendar, schedules administrators change (and keep across redeploys), and `huhua schedules --year`."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import ChangeSchedule, LoadShippedSchedules, SetTermCalendar
from engine.errors import Forbidden, InvalidInput
from engine.org.calendar import WorkingCalendar
from engine.org.term_calendar import TermCalendar, parse_term_calendar
from engine.schedules import Schedule, load_schedules, parse_schedule
from tests.conftest import PROJECT
from tests.helpers import cli_json, load_demo, served_client, token_headers
from workers.scheduler import ScheduleRunner, advance_clock

SHIPPED = PROJECT / "config" / "schedules.toml"


def _at(*args: int) -> datetime:
    return datetime(*args, tzinfo=BUSINESS_TZ)


def _working(year: int, month: int, day: int, off: set[str]) -> bool:
    when = date(year, month, day)
    return when.weekday() < 5 and when.isoformat() not in off


def _fires(schedule: Schedule, start: datetime, end: datetime, term: TermCalendar | None = None) -> list[str]:
    return [f.isoformat()[:16] for f in schedule.occurrences(start, end, WorkingCalendar(), term)]


def test_the_rules_keep_to_working_days_months_and_the_term_calendar() -> None:
    year = (_at(2026, 1, 1), _at(2026, 12, 31, 23))
    # the 25th, moved to the next working day: Sunday 25 Jan, the Mid-Autumn Festival (25 Sep), Sunday 25 Oct
    circular = parse_schedule({"key": "c", "process": "p", "rule": "day_of_month", "day": 25, "at": "09:00"})
    assert [f[:10] for f in _fires(circular, *year)] == [
        "2026-01-26", "2026-02-25", "2026-03-25", "2026-04-27", "2026-05-25", "2026-06-25", "2026-07-27",
        "2026-08-25", "2026-09-28", "2026-10-26", "2026-11-25", "2026-12-25"]
    # the third working day of October 2026: 8 Oct (after National Day), Friday 9, Saturday 10 (调休 worked)
    third = parse_schedule({"key": "t", "process": "p", "rule": "nth_working_day", "n": 3, "months": [10]})
    assert _fires(third, *year) == ["2026-10-10T08:00"]
    # term months only: February, July and August by default, or as the administrator sets them
    check = parse_schedule({"key": "m", "process": "p", "rule": "first_working_day", "at": "08:30",
                            "term_only": True})
    assert [f[5:7] for f in _fires(check, *year)] == ["01", "03", "04", "05", "06", "09", "10", "11", "12"]
    changed = parse_term_calendar({"holiday_months": [1, 2, 7]})
    assert [f[5:7] for f in _fires(check, *year, changed)] == ["03", "04", "05", "06", "08", "09", "10", "11", "12"]
    # start variables from the fire time: a whole number, the semester by the term calendar
    routine = parse_schedule({"key": "r", "process": "p", "rule": "first_working_day", "months": [3, 9],
                              "variables": {"year": "{year}", "semester": "{semester}",
                                            "ends": "{semester_end}T17:30:00", "tags": ["{year}年", 2],
                                            "period": "{year}-{month:02d}"}})
    assert routine.start_variables(_at(2027, 3, 1, 9)) == {
        "year": 2027, "semester": "2027年春季学期", "ends": "2027-07-10T17:30:00", "tags": ["2027年", 2],
        "period": "2027-03"}
    assert routine.start_variables(_at(2028, 1, 5, 9))["semester"] == "2027年秋季学期"  # ends 20 January
    # a file entry that is wrong is refused naming the entry, its key and the field
    for entry, field in (({"rule": "day_of_month"}, "day"), ({"rule": "first_working_day", "months": [13]}, "months"),
                         ({"rule": "weekly"}, "rule"), ({"cron": "0 9 * * *", "at": "09:00"}, "at"),
                         ({"rule": "first_working_day", "variables": {"year": "{yr}"}}, "variables.year"),
                         ({"rule": "first_working_day", "variables": {"x": "{year.real}"}}, "variables.x"),
                         ({"rule": "first_working_day", "variables": {"late": "x"}}, "variables.late"),
                         ({"rule": "first_working_day", "term_only": "yes"}, "term_only")):
        with pytest.raises(InvalidInput) as refused:
            parse_schedule({"key": "bad", "process": "p", **entry}, "schedule[4]")
        assert f"schedule[4] (bad): {field}:" in str(refused.value), refused.value
    with pytest.raises(InvalidInput, match="spring_end"):
        parse_term_calendar({"spring_start": "07-01", "spring_end": "03-01"})
    with pytest.raises(InvalidInput, match="autumn_start"):
        parse_term_calendar({"autumn_start": "02-30"})


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_huhua_schedules_year_2027_lists_the_notices_months_on_working_days(cli) -> None:  # type: ignore[no-untyped-def]
    cli_json(cli("db", "upgrade", "--json"))
    cli_json(cli("org", "load", "demo", "--json"))
    # chinese-calendar does not carry 2027 and nothing is entered: the statutory days off, computed from the law
    off = {d["date"] for d in cli_json(cli("calendar", "show", "2027", "--json"))["days"] if not d["working"]}
    assert {"2027-01-01", "2027-02-05", "2027-02-08", "2027-04-05", "2027-06-09", "2027-09-15", "2027-10-01"} <= off
    listing = cli_json(cli("schedules", "--year", "2027", "--json"))
    months: dict[str, list[int]] = {}
    for occurrence in listing["occurrences"]:
        fire = datetime.fromisoformat(occurrence["fire_time"])
        assert fire.utcoffset().total_seconds() == 8 * 3600 and fire.year == 2027  # type: ignore[union-attr]
        assert fire.weekday() < 5 and fire.date().isoformat() not in off, occurrence  # a working day
        months.setdefault(occurrence["process"], []).append(fire.month)
    assert months["launch_programme"] == [2]                      # 2月印发通知、成立工作机构（春节后）
    assert months["ct_training_city"] == months["mh_training_city"] == [3]  # 3月份开始
    assert months["safety_programme"][0] <= 3                     # 3月安全主题教育活动之前部署
    assert all(7 <= m <= 12 for m in months["case_collection"])  # 下半年
    assert all(9 <= m <= 11 for m in months["showcase_selection"])  # 9—11月
    assert months["monthly_school_check"] == [1, 3, 4, 5, 6, 9, 10, 11, 12]  # every term month, never 2, 7, 8
    assert months["annual_assessment"] == [12]
    assert months["ct_routine_semester"] == [3, 9]                # each semester
    assert sorted(months["supervision_campaign"]) == [4, 10, 11]  # counties each semester, the city once a year
    by_key = {(o["schedule"], o["fire_time"][:10]): o for o in listing["occurrences"]}
    assert by_key[("monthly_check", "2027-01-04")]["units"] == 39  # 1 January off: the first working day is the 4th
    assert ("monthly_check", "2027-10-06") in by_key  # 1–3 October, and 4–5 made up for the weekend 2–3 October
    checks = sorted(day for schedule, day in by_key if schedule == "monthly_check")
    assert checks == [min(f"2027-{m:02d}-{d:02d}" for d in range(1, 29) if _working(2027, m, d, off))
                      for m in (1, 3, 4, 5, 6, 9, 10, 11, 12)]  # the first working day of each term month
    assert by_key[("ct_routine", "2027-03-01")]["for_each"] == "county"
    assert by_key[("ct_routine", "2027-03-01")]["units"] == 13
    assert by_key[("launch", "2027-02-22")]["units"] == 1          # 20 February 2027 is a Saturday
    assert listing["calendar_basis"] == "statutory" and listing["holiday_months"] == [2, 7, 8]
    [warning] = listing["calendar_warnings"]
    assert "法定节假日按《全国年节及纪念日放假办法》推算" in warning and "调休上班日和连休安排待国务院公布" in warning
    human = cli("schedules", "--year", "2027")
    assert human.exit_code == 0 and "2027-09-15T09:00:00+08:00" not in human.output  # Mid-Autumn: moved
    assert "2027-01-01T" not in human.output and "2027-10-01T" not in human.output  # New Year's and National Day
    assert "working days: statutory" in human.output and "warning: 2027 年尚无国务院放假安排" in human.output
    assert "showcase" in human.output and "county (13 units)" in human.output


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_administrators_change_schedules_the_change_survives_redeploys_and_the_scheduler_fires_it(
        huhua: Huhua, clock: VirtualClock, tmp_path: Path) -> None:
    load_demo(huhua)
    shipped = tmp_path / "schedules.toml"
    shutil.copy(SHIPPED, shipped)
    first = huhua.execute(LoadShippedSchedules(str(shipped)))
    assert sorted(first["loaded"]) == sorted(s.key for s in load_schedules(SHIPPED)) and first["withdrawn"] == []
    for schedule in load_schedules(SHIPPED):  # what each schedule gives its start form is what the form takes
        if schedule.variables:
            huhua.execute(ChangeSchedule(schedule.key, "admin", {"variables": dict(schedule.variables)}))

    with served_client(huhua) as client:
        admin, officer = token_headers(huhua, "admin"), token_headers(huhua, "hy-zr")
        change = {"rule": "nth_working_day", "n": 3, "at": "10:00", "months": None, "term_only": True}
        assert client.put("/api/v1/schedules/mh_training", json=change, headers=officer).status_code == 403
        assert client.put("/api/v1/schedules/no_such", json=change, headers=admin).status_code == 404
        refused = client.put("/api/v1/schedules/mh_training", json={"months": [13]}, headers=admin)
        assert refused.status_code == 400 and "months" in refused.json["message"]
        refused = client.put("/api/v1/schedules/mh_training", json={"variables": {"year": "{year}"}}, headers=admin)
        assert refused.status_code == 400 and "no start form" in refused.json["message"]
        changed = client.put("/api/v1/schedules/mh_training", json=change, headers=admin)
        assert changed.status_code == 200 and changed.json["entry"]["n"] == 3, changed.json
        assert client.put("/api/v1/term-calendar", json={"holiday_months": [2, 7, 10]},
                          headers=officer).status_code == 403
        assert client.put("/api/v1/term-calendar", json={"spring_start": "13-01"}, headers=admin).status_code == 400
        term = client.put("/api/v1/term-calendar", json={"holiday_months": [2, 7, 10]}, headers=admin)
        assert term.status_code == 200 and term.json["holiday_months"] == [2, 7, 10]

        # a restart with the file unchanged loads nothing: the edit stays
        assert huhua.execute(LoadShippedSchedules(str(shipped))) == {"loaded": [], "withdrawn": []}
        # a new release of one entry replaces that entry only; an entry gone from the file is paused
        text = shipped.read_text(encoding="utf-8")
        text = text.replace('key = "ct_training"\nprocess = "ct_training_city"\nrule = "first_working_day"\n'
                            'months = [3]\nat = "09:00"', 'key = "ct_training"\nprocess = "ct_training_city"\n'
                            'rule = "first_working_day"\nmonths = [3]\nat = "09:30"')
        start = text.index('[[schedule]]\nkey = "showcase"')
        shipped.write_text(text[:start] + text[text.index("[[schedule]]", start + 1):], encoding="utf-8")
        assert huhua.execute(LoadShippedSchedules(str(shipped))) == {"loaded": ["ct_training"],
                                                                      "withdrawn": ["showcase"]}
        listed = {s["key"]: s for s in client.get("/api/v1/schedules", headers=admin).json}
        assert (listed["mh_training"]["origin"], listed["mh_training"]["rule"]) == ("edited", "nth_working_day")
        assert listed["mh_training"]["changed_by"] == "admin"
        assert (listed["ct_training"]["origin"], listed["ct_training"]["at"]) == ("shipped", "09:30")
        assert (listed["showcase"]["origin"], listed["showcase"]["enabled"]) == ("withdrawn", False)
        # the term calendar rules the year's listing too: no monthly check in October, one in August now
        year = client.get("/api/v1/schedule-occurrences/2026", headers=admin).json
        checks = [o["month"] for o in year["occurrences"] if o["schedule"] == "monthly_check"]
        assert checks == [1, 3, 4, 5, 6, 8, 9, 11, 12] and "showcase" in year["paused"]

    with pytest.raises(Forbidden):
        huhua.execute(ChangeSchedule("launch", "hy-zr", {"enabled": False}))
    with pytest.raises(Forbidden):
        huhua.execute(SetTermCalendar("zhuhui-zr", {"holiday_months": [2]}))
    audit = huhua.queries.audit.entries(actor="admin", limit=200)["entries"]
    assert {"ChangeSchedule", "SetTermCalendar"} <= {a["action"] for a in audit}
    assert any(a["resource"] == "schedule:mh_training" and "n" in a["detail"]["changes"] for a in audit), audit

    # the scheduler fires the database's schedules: all paused but the edited one and the safety programme
    for schedule in huhua.queries.configured_schedules():
        if schedule.key not in ("mh_training", "safety_education") and schedule.enabled:
            huhua.execute(ChangeSchedule(schedule.key, "admin", {"enabled": False}))
    runner = ScheduleRunner(huhua)
    clock.set(datetime(2026, 7, 31, 12, tzinfo=BUSINESS_TZ))
    runner.tick()
    advance_clock(huhua, clock, datetime(2027, 2, 26, tzinfo=UTC), runner)
    started = sorted((i["business_key"].split("@")[1][:16], i["org_scope"])
                     for i in huhua.queries.instances(process_key="mh_training_city", limit=50))
    assert started == [("2026-08-05T10:00", "hy"), ("2026-09-03T10:00", "hy"),  # the 3rd working day, 10:00;
                       ("2026-11-04T10:00", "hy"), ("2026-12-03T10:00", "hy"),  # October and February are
                       ("2027-01-06T10:00", "hy")]  # holidays now (2027: 1 January is off by law)
    safety = huhua.queries.instances(process_key="safety_programme", limit=5)
    assert [(i["org_scope"], i["business_key"].split("@")[1][:10]) for i in safety] == [("hy", "2027-02-25")]
    assert huhua.queries.instance(safety[0]["id"])["data"]["year"] == 2027  # rendered from the fire time
    assert not huhua.queries.instances(process_key="monthly_school_check", limit=1)  # paused: nothing caught up
    assert datetime.fromisoformat(safety[0]["business_key"].split("@")[1]).time() == time(9)
