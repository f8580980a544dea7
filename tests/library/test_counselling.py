"""心理咨询与辅导: appointments, record, follow-up, feedback and outcome, a crisis path, and confidentiality."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import CompleteTask, StartInstance
from engine.errors import Forbidden, InvalidInput, NotFound
from tests.library.conftest import complete, inbox
from workers.job_worker import run_due_jobs

#: One database: a scenario of the library; the engine's own tests hold its contract with each database, and
#: test_launch and test_ct_training run the library on PostgreSQL too.
DATABASES = ("sqlite",)

COUNSELLOR = "zhuhui-s001-xl1"  # 专职心理健康教育教师 and 值班辅导教师 of zhuhui-s001
#: people who must never see a counselling case of zhuhui-s001 outside a crisis
OUTSIDERS = ("zhuhui-s001-bzr1", "zhuhui-s001-xz", "zhuhui-s001-zr", "zhuhui-s002-xl1", "zhuhui-s001-p01-js",
             "zhuhui-zr", "hy-zr")


def at(huhua: Huhua, clock: VirtualClock, *when: int) -> None:
    clock.set(datetime(*when, tzinfo=BUSINESS_TZ))
    run_due_jobs(huhua)


def open_case(huhua: Huhua, channel: str, requester: str, reason: str) -> int:
    """A duty counsellor registers an appointment; the case starts at the same school."""
    huhua.execute(StartInstance("counselling_appointment", COUNSELLOR, org_scope="zhuhui-s001"))
    assert inbox(huhua, COUNSELLOR) == [("register", "zhuhui-s001")]
    for outsider in OUTSIDERS:
        assert inbox(huhua, outsider) == [], outsider
    complete(huhua, COUNSELLOR, "register", {"student_alias": "初二学生A", "requester": requester, "channel": channel,
                                             "appointment_date": "2026-03-03", "reason": reason})
    cases = huhua.queries.instances(process_key="counselling_case", limit=10)
    assert [(c["org_scope"], c["state"]) for c in cases] == [("zhuhui-s001", "running")]
    return cases[0]["id"]


def record(level: str, signs: list[str]) -> dict:
    return {"session_date": "2026-03-03", "session_record": "倾听与情绪疏导，约定下次辅导", "risk_level": level,
            "risk_signs": signs}


def follow_up(more: bool, progress: str = "improved") -> dict:
    return {"follow_up_date": "2026-03-09", "follow_up_record": "情绪有所稳定", "progress": progress,
            "continue_follow_up": more}


def test_an_online_appointment_is_recorded_followed_up_fed_back_and_closed_by_the_schools_counsellor_only(
        demo: Huhua, clock: VirtualClock) -> None:
    case = open_case(demo, "online", "student", "考试焦虑，入睡困难")
    assert inbox(demo, COUNSELLOR) == [("session", "zhuhui-s001")]
    session = demo.queries.tasks(user=COUNSELLOR)[0]
    for outsider in ("zhuhui-s001-bzr1", "zhuhui-s002-xl1"):
        with pytest.raises(NotFound):  # nobody but the counsellor has part in it: as if there were no such task
            demo.execute(CompleteTask(session["id"], outsider, record("low", ["none"])))
    with pytest.raises(Forbidden):  # the principal sees the case and its risk level, but does not do the session
        demo.execute(CompleteTask(session["id"], "zhuhui-s001-xz", record("low", ["none"])))
    complete(demo, COUNSELLOR, "session", record("medium", ["severe_distress"]))
    data = demo.queries.instance(case)["data"]
    assert (data["crisis"], data["case_priority"], data["follow_up_days"]) == (False, "重点跟踪", 5)
    assert data["channel"] == "online" and data["student_alias"] == "初二学生A"

    # follow-up after 5 working days (09:00), again while it is needed; nobody else is involved
    at(demo, clock, 2026, 3, 9, 8, 59)
    assert inbox(demo, COUNSELLOR) == []
    at(demo, clock, 2026, 3, 9, 9, 1)
    assert inbox(demo, COUNSELLOR) == [("follow_up", "zhuhui-s001")]
    for outsider in OUTSIDERS:
        assert inbox(demo, outsider) == [], outsider
    complete(demo, COUNSELLOR, "follow_up", follow_up(True, "stable"))
    at(demo, clock, 2026, 3, 16, 9, 1)
    complete(demo, COUNSELLOR, "follow_up", follow_up(False))
    complete(demo, COUNSELLOR, "feedback", {"feedback_to": ["student", "parent"],
                                            "feedback_summary": "情绪稳定，建议家长关注作息"})
    complete(demo, COUNSELLOR, "outcome", {"outcome": "resolved", "outcome_summary": "焦虑缓解，结案"})
    finished = demo.queries.instance(case)
    assert finished["state"] == "completed"
    assert finished["data"]["case_result"] == {"student_alias": "初二学生A", "channel": "online",
                                               "priority": "重点跟踪", "crisis": False, "follow_ups": 2,
                                               "outcome": "resolved", "closed_on": "2026-03-16"}
    assert [log["progress"] for log in finished["data"]["follow_up_log"]] == ["stable", "improved"]
    completed_by = {e.get("actor") for e in finished["history"] if e["kind"] == "task_completed"}
    assert completed_by == {COUNSELLOR}


def test_a_crisis_goes_to_the_principal_the_same_day_and_the_county_is_informed(
        demo: Huhua, clock: VirtualClock) -> None:
    at(demo, clock, 2026, 3, 3, 15)
    case = open_case(demo, "phone", "parent", "家长电话：孩子近期情绪低落")
    complete(demo, COUNSELLOR, "session", record("low", ["self_harm", "family_crisis"]))  # self-harm: a crisis
    data = demo.queries.instance(case)["data"]
    assert (data["crisis"], data["case_priority"]) == (True, "危机干预")

    assert inbox(demo, "zhuhui-s001-xz") == [("principal_act", "zhuhui-s001")]
    act = demo.queries.tasks(user="zhuhui-s001-xz")[0]
    assert act["due_at"] == "2026-03-03T15:59:00+00:00"  # the same day, 23:59 Beijing
    assert inbox(demo, "zhuhui-zr") == [("county_notice", "zhuhui-s001")]
    for outsider in ("zhuhui-s001-bzr1", "zhuhui-s001-zr", "zhuhui-s002-xz", "zhuhui-s002-xl1", "yanfeng-zr",
                     "hy-zr", "zhuhui-jz"):
        assert inbox(demo, outsider) == [], outsider
    complete(demo, "zhuhui-zr", "county_notice", {"notice_acknowledged": True, "county_guidance": "落实24小时监护"})

    # not acted on by midnight: the county bureau head is asked to step in
    at(demo, clock, 2026, 3, 4, 0, 1)
    assert inbox(demo, "zhuhui-jz") == [("crisis_urge", "zhuhui-s001")]
    complete(demo, "zhuhui-s001-xz", "principal_act", {"guardian_notified": True, "safety_measures": "专人陪护",
                                                       "hospital_referral": "yes"})
    assert inbox(demo, "zhuhui-jz") == []  # the principal has acted: the urge closed itself
    assert inbox(demo, COUNSELLOR) == [("hospital_referral", "zhuhui-s001")]
    complete(demo, COUNSELLOR, "hospital_referral", {"hospital_name": "衡阳市第二人民医院",
                                                     "hospital_referral_date": "2026-03-04",
                                                     "guardian_consent": True})
    # crisis cases are followed up the next working day
    at(demo, clock, 2026, 3, 5, 9, 1)
    assert inbox(demo, COUNSELLOR) == [("follow_up", "zhuhui-s001")]
    assert inbox(demo, "zhuhui-s001-xz") == [] and inbox(demo, "zhuhui-zr") == []
    complete(demo, COUNSELLOR, "follow_up", follow_up(False))
    complete(demo, COUNSELLOR, "feedback", {"feedback_to": ["parent", "class_teacher"],
                                            "feedback_summary": "已就医，班主任配合关注在校情况"})
    complete(demo, COUNSELLOR, "outcome", {"outcome": "referred", "outcome_summary": "转介专业医疗机构，定期回访"})
    finished = demo.queries.instance(case)
    assert finished["state"] == "completed"
    result = finished["data"]["case_result"]
    assert (result["crisis"], result["channel"], result["outcome"], result["follow_ups"]) == (
        True, "phone", "referred", 1)
    assert finished["data"]["hospital_name"] == "衡阳市第二人民医院"


# --- the counselling room standard (§四.5): the register, the county's check, hours, roster, new students -------

SHORT_ROOM = {"rooms": [{"room_name": "心语室", "location": "综合楼302", "area": 16,
                         "functions": ["counselling", "assessment"]}],
              "class_morning": "08:00-11:50", "class_afternoon": "14:30-17:10",
              "opening_hours": [{"weekday": 1, "start": "12:30", "end": "13:30", "duty_teacher": COUNSELLOR},
                                {"weekday": 3, "start": "17:20", "end": "18:00", "duty_teacher": COUNSELLOR},
                                {"weekday": 5, "start": "10:00", "end": "11:00", "duty_teacher": "zhuhui-s001-bzr1"}],
              "appointment_channels": ["visit", "phone"], "parent_access": False}


def room(teacher: str) -> dict:
    """A register that meets the standard: one room of 24 m² with the three functions, three slots out of class."""
    return {"rooms": [{"room_name": "心语室", "location": "综合楼302", "area": 24,
                       "functions": ["counselling", "assessment", "sandplay"]},
                      {"room_name": "团体辅导室", "location": "综合楼303", "area": 40, "functions": ["group"]}],
            "class_morning": "08:00-11:50", "class_afternoon": "14:30-17:10",
            "opening_hours": [{"weekday": day, "start": start, "end": end, "duty_teacher": teacher} for day, start, end
                              in ((1, "12:30", "13:30"), (3, "17:20", "18:00"), (5, "12:30", "13:30"))],
            "appointment_channels": ["visit", "phone", "online"], "parent_access": True,
            "parent_arrangement": "周三17:20后接待家长预约"}


def appointment(date: str, time: str) -> dict:
    return {"student_alias": "初一学生B", "requester": "student", "channel": "visit", "appointment_date": date,
            "appointment_time": time, "reason": "适应新环境有困难"}


def test_each_school_records_its_counselling_room_the_county_checks_it_and_appointments_keep_to_its_hours(
        demo: Huhua, clock: VirtualClock) -> None:
    at(demo, clock, 2026, 9, 1, 9)  # a new school year: the county starts the register at every school
    started = demo.execute(StartInstance("counselling_room_county", "zhuhui-zr", org_scope="zhuhui"))
    run_due_jobs(demo)
    schools = {i["org_scope"]: i["id"] for i in demo.queries.instances(process_key="counselling_room_school")}
    assert sorted(schools) == ["zhuhui-s001", "zhuhui-s002", "zhuhui-s003"]  # schools; teaching points share theirs
    assert demo.queries.instance(schools["zhuhui-s001"])["data"]["school_year"] == "2026-2027"
    assert sorted(inbox(demo, "zhuhui-s001-zr")) == [("orientation", "zhuhui-s001"), ("record_room", "zhuhui-s001")]
    for outsider in ("zhuhui-s001-bzr1", "zhuhui-s001-xl1", "zhuhui-s001-xz", "yanfeng-s001-zr"):
        assert ("record_room", "zhuhui-s001") not in inbox(demo, outsider), outsider
    with pytest.raises(InvalidInput) as refused:  # each entry of a list is checked, and named
        task = next(t["id"] for t in demo.queries.tasks(user="zhuhui-s001-zr") if t["element_id"] == "record_room")
        demo.execute(CompleteTask(task, "zhuhui-s001-zr",
                                  {**SHORT_ROOM, "opening_hours": [{"weekday": 9, "start": "25:00"}]}))
    assert {p.field for p in refused.value.problems} >= {"opening_hours[0].weekday", "opening_hours[0].start",
                                                         "opening_hours[0].end", "opening_hours[0].duty_teacher"}

    # a room too small, no sand-play, a slot in class time, a class teacher on duty, no room for parents:
    # the standard (DMN) names each shortfall, and the county cannot pass it: the principal rectifies
    complete(demo, "zhuhui-s001-zr", "record_room", SHORT_ROOM)
    data = demo.queries.instance(schools["zhuhui-s001"])["data"]
    assert data["room_shortfalls"] == ["使用面积小于18平方米", "缺少沙盘游戏治疗功能", "开放时间不在学生课余时间",
                                       "有开放时段未安排本校心理健康教育教师值班", "未为学生家长参与提供条件"]
    complete(demo, "zhuhui-zr", "county_check", {"room_check_result": "pass", "room_check_comment": "基本可以"},
             "zhuhui-s001")
    assert inbox(demo, "zhuhui-s001-xz") == [("rectify", "zhuhui-s001")]
    with pytest.raises(NotFound):  # nothing is on record until the county accepts it
        demo.queries.counselling_room("zhuhui-s001-bzr1", "zhuhui-s001")
    assert demo.queries.counselling_room("zhuhui-s001-xl1", "zhuhui-s001")["registers"] == []
    complete(demo, "zhuhui-s001-xz", "rectify", {"room_rectify_measures": "改用36平方米教室，添置沙盘",
                                                 "room_rectified_on": "2026-09-10"})
    complete(demo, "zhuhui-s001-zr", "record_room", room(COUNSELLOR))
    assert demo.queries.instance(schools["zhuhui-s001"])["data"]["room_shortfalls"] == []
    complete(demo, "zhuhui-zr", "county_check", {"room_check_result": "pass", "room_check_comment": "达标"},
             "zhuhui-s001")
    # a school with no room at all (one room per school): the standard says so and its principal rectifies
    complete(demo, "zhuhui-s002-zr", "record_room", {**room("zhuhui-s002-xl1"), "rooms": [], "opening_hours": []})
    assert demo.queries.instance(schools["zhuhui-s002"])["data"]["room_shortfalls"] == [
        "未配备心理咨询室", "每周规定开放时段少于3个"]
    complete(demo, "zhuhui-zr", "county_check", {"room_check_result": "pass", "room_check_comment": "暂无"},
             "zhuhui-s002")
    assert inbox(demo, "zhuhui-s002-xz") == [("rectify", "zhuhui-s002")] and inbox(demo, "zhuhui-s002-zr") == [
        ("orientation", "zhuhui-s002")]
    complete(demo, "zhuhui-s002-xz", "rectify", {"room_rectify_measures": "腾出综合楼两间教室建心理咨询室",
                                                 "room_rectified_on": "2026-09-11"})
    complete(demo, "zhuhui-s002-zr", "record_room", room("zhuhui-s002-xl1"))
    complete(demo, "zhuhui-zr", "county_check", {"room_check_result": "pass", "room_check_comment": "达标"},
             "zhuhui-s002")
    assert demo.queries.counselling_room("zhuhui-s002-xz", "zhuhui-s002")["registers"][0]["shortfalls"][0] == (
        "未配备心理咨询室")

    # the register is on record for the school's leaders, its mental-health teachers and the bureaus above it
    register = demo.queries.counselling_room("zhuhui-s001-xz", "zhuhui-s001")["registers"][0]
    assert (register["school_year"], register["standard_met"], register["largest_area"]) == ("2026-2027", True, 40)
    assert register["shortfalls"] == data["room_shortfalls"]  # what fell short before the rectification
    assert [(h["weekday"], h["duty_teacher"]) for h in register["opening_hours"]] == [
        (1, COUNSELLOR), (3, COUNSELLOR), (5, COUNSELLOR)]
    for reader in (COUNSELLOR, "zhuhui-s001-zr", "zhuhui-zr", "zhuhui-jz", "hy-zr", "hy-jz"):
        assert demo.queries.counselling_room(reader, "zhuhui-s001")["registers"][0]["standard_met"] is True
    for outsider in ("zhuhui-s001-bzr1", "zhuhui-s002-xl1", "yanfeng-zr", "zhuhui-s001-p01-js"):
        with pytest.raises(NotFound):
            demo.queries.counselling_room(outsider, "zhuhui-s001")

    # new students visit the room during orientation; a report without its date or numbers comes back
    complete(demo, "zhuhui-s001-zr", "orientation", {"new_intake": "yes", "visit_date": "2026-09-04",
                                                     "visit_classes": 6, "visit_students": 270})
    complete(demo, "zhuhui-s002-zr", "orientation", {"new_intake": "yes"})
    assert ("orientation", "zhuhui-s002") in inbox(demo, "zhuhui-s002-zr")
    complete(demo, "zhuhui-s002-zr", "orientation", {"new_intake": "yes", "visit_date": "2026-09-07",
                                                     "visit_classes": 4, "visit_students": 180})
    at(demo, clock, 2026, 10, 16, 17, 31)  # 20 working days (after National Day): zhuhui-s003 reported nothing
    assert sorted(inbox(demo, "zhuhui-zr")) == [("urge_orientation", "zhuhui-s003"), ("urge_room", "zhuhui-s003")]
    listing = demo.queries.counselling_rooms_of_county("zhuhui-zr", "zhuhui")
    assert (listing["school_count"], listing["accepted"], listing["orientation_reported"]) == (3, 2, 2)
    assert [(s["id"], s["accepted"], (s["orientation"] or {}).get("students")) for s in listing["schools"]] == [
        ("zhuhui-s001", True, 270), ("zhuhui-s002", True, 180), ("zhuhui-s003", False, None)]
    assert [c for c in demo.queries.counselling_rooms_of_county("hy-zr", None)["counties"]
            if c["id"] == "zhuhui"] == [{"id": "zhuhui", "name": "珠晖区教育局", "school_count": 3, "accepted": 2,
                                         "orientation_reported": 2}]
    with pytest.raises(NotFound):
        demo.queries.counselling_rooms_of_county("yanfeng-zr", "zhuhui")
    at(demo, clock, 2026, 11, 2, 9)  # 30 working days: the county stops waiting and sums up
    assert ("summary", "zhuhui") in inbox(demo, "zhuhui-zr")
    assert demo.queries.coverage(started["id"], clock.now(), missing_only=True)["missing_units"] == ["zhuhui-s003"]

    # appointments are checked against the opening hours; the roster says who is on duty
    demo.execute(StartInstance("counselling_appointment", COUNSELLOR, org_scope="zhuhui-s001"))
    complete(demo, COUNSELLOR, "register", appointment("2026-11-02", "12:40"))  # Monday 12:40: open
    first = demo.queries.instances(process_key="counselling_appointment", limit=10)[0]["id"]
    assert demo.queries.instance(first)["data"]["on_duty"] == [COUNSELLOR]
    demo.execute(StartInstance("counselling_appointment", COUNSELLOR, org_scope="zhuhui-s001"))
    complete(demo, COUNSELLOR, "register", appointment("2026-11-03", "10:00"))  # Tuesday in class time: refused
    assert inbox(demo, COUNSELLOR) == [("reschedule", "zhuhui-s001"), ("session", "zhuhui-s001")]
    for outsider in ("zhuhui-s001-zr", "zhuhui-s001-xz", "zhuhui-zr"):
        assert ("reschedule", "zhuhui-s001") not in inbox(demo, outsider), outsider
    complete(demo, COUNSELLOR, "reschedule", {"hours_decision": "reschedule", "new_date": "2026-11-04",
                                              "new_time": "09:00"})  # still in class time: asked again
    complete(demo, COUNSELLOR, "reschedule", {"hours_decision": "reschedule", "new_date": "2026-11-04",
                                              "new_time": "17:30"})
    cases = demo.queries.instances(process_key="counselling_case", limit=10)
    assert len(cases) == 2 and {c["org_scope"] for c in cases} == {"zhuhui-s001"}
    # a school without a register on record: the appointment goes ahead, noted as not checked
    demo.execute(StartInstance("counselling_appointment", "zhuhui-s003-xl1", org_scope="zhuhui-s003"))
    complete(demo, "zhuhui-s003-xl1", "register", appointment("2026-11-03", "10:00"))
    third = next(i["id"] for i in demo.queries.instances(process_key="counselling_appointment", limit=10)
                 if i["org_scope"] == "zhuhui-s003")
    assert demo.queries.instance(third)["data"]["hours_note"] == "本校尚未登记心理咨询室开放时间，未核对"
