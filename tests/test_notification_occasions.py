"""Engine events tell people: a task offered, assigned, claimed by a colleague, returned for rework; a document
issued to their unit. The events of one commit become one ``notify_event`` job; the worker resolves who is told,
once per occasion however often the job runs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import update

from engine.bootstrap import Huhua
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import (
    ClaimTask,
    CompleteTask,
    DelegateTask,
    DeployModels,
    ReassignTask,
    StartInstance,
    TellOfEvents,
)
from engine.notifications.settings import NotificationSettings, SmtpSettings
from engine.store import tables
from tests.helpers import FIXTURES, deploy_fixtures, one_task_model, only_task, start_at
from tests.notified import deliveries, notifications, told
from workers.job_worker import run_due_jobs

PROCESSES = Path(__file__).parent.parent / "processes"
OFFICIAL = ("official_document.bpmn", "forms/official_document_sign.form.json",
            "forms/official_document_revise.form.json")


def _event_jobs(huhua: Huhua) -> list[dict]:
    return huhua.queries.jobs(kind="notify_event", limit=500)


def _replay_every_event_job(huhua: Huhua) -> None:
    for job in _event_jobs(huhua):
        huhua.execute(TellOfEvents(job["id"]))


def _name(huhua: Huhua, person: str) -> str:
    return huhua.queries.users(ids=[person])[0]["name"]


def _work_plan(demo: Huhua) -> int:
    deploy_fixtures(demo, "work_plan_review.bpmn", "work_plan.form.json", "work_plan_review.form.json")
    return int(demo.execute(StartInstance("work_plan_review", "qidong-zr", org_scope="qidong"))["id"])


def test_the_events_of_one_commit_are_one_job_and_the_sole_holder_hears_the_task_is_theirs(demo: Huhua) -> None:
    before = len(_event_jobs(demo))
    started = _work_plan(demo)  # the county's one programme officer gets the task as it is created
    [job] = _event_jobs(demo)[before:]
    payload = demo.queries.job_payload(job["id"])
    assert [event["kind"] for event in payload["events"]] == ["task_created", "task_assigned"]
    assert job["instance_id"] is None and job["state"] == "pending"
    assert told(demo, "task_assigned") == []  # nobody is told inside the command: the worker does it

    run_due_jobs(demo)
    submit = only_task(demo, started)
    [assigned] = notifications(demo, kind="task_assigned")
    assert (assigned.person_id, assigned.task_id, assigned.link) == ("qidong-zr", submit["id"],
                                                                    f"/inbox/tasks/{submit['id']}")
    assert submit["title"] in assigned.subject and "衡阳县教育局" not in assigned.body
    assert "祁东县教育局" in assigned.body and f"/inbox/tasks/{submit['id']}" in assigned.body
    assert told(demo, "task_offered") == []  # assigned, not offered: nobody else hears of it
    assert demo.queries.jobs(kind="notify_event", state="pending") == []


def test_an_offered_task_tells_everyone_it_is_offered_to_and_a_claim_tells_the_others_once(demo: Huhua) -> None:
    started = _work_plan(demo)
    run_due_jobs(demo)
    demo.execute(CompleteTask(only_task(demo, started)["id"], "qidong-zr", {"plan": "初稿"}))
    run_due_jobs(demo)
    review = only_task(demo, started)  # the city's two programme officers may take it
    assert told(demo, "task_offered") == ["hy-zr", "hy-zr2"]
    assert {row.dedupe_key for row in notifications(demo, kind="task_offered")} == {f"task_offered:task:{review['id']}"}

    demo.execute(ClaimTask(review["id"], "hy-zr"))
    run_due_jobs(demo)
    [claimed] = notifications(demo, kind="task_claimed")
    assert claimed.person_id == "hy-zr2"  # the colleague; not the one who claimed it
    by_whom = f"已由 {_name(demo, 'hy-zr')} 认领"
    assert by_whom in claimed.subject and by_whom in claimed.body

    demo.execute(DelegateTask(review["id"], "hy-zr", "hy-zr2", reason="出差"))
    run_due_jobs(demo)
    demo.execute(ReassignTask(review["id"], "admin", "hy-zr", reason="回来了"))
    run_due_jobs(demo)
    assert told(demo, "task_assigned") == ["hy-zr", "hy-zr2", "qidong-zr"]
    demo.execute(DelegateTask(review["id"], "hy-zr", "hy-zr2"))  # handed on twice before the worker runs:
    demo.execute(ReassignTask(review["id"], "admin", "hy-zr"))  # only who has it now hears
    run_due_jobs(demo)
    assert told(demo, "task_assigned") == ["hy-zr", "hy-zr", "hy-zr2", "qidong-zr"]

    counts = {kind: len(told(demo, kind)) for kind in ("task_offered", "task_assigned", "task_claimed")}
    _replay_every_event_job(demo)  # a job run twice (a worker died after telling) tells nobody twice
    assert {kind: len(told(demo, kind)) for kind in counts} == counts


def test_a_return_for_rework_tells_who_did_the_step_last_time(demo: Huhua) -> None:
    started = _work_plan(demo)
    run_due_jobs(demo)
    first = only_task(demo, started)
    demo.execute(CompleteTask(first["id"], "qidong-zr", {"plan": "初稿"}))
    review = only_task(demo, started)
    demo.execute(CompleteTask(review["id"], "hy-zr2", {"approved": False, "comment": "请补充班主任培训安排"}))
    run_due_jobs(demo)
    again = only_task(demo, started)
    assert again["element_id"] == "submit_plan" and again["id"] != first["id"]
    [returned] = notifications(demo, kind="task_returned")
    assert (returned.person_id, returned.task_id) == ("qidong-zr", again["id"])
    assert "退回" in returned.subject and again["title"] in returned.body
    assert told(demo, "task_returned") == ["qidong-zr"]  # the first submission was no return
    assert [row.task_id for row in notifications(demo, kind="task_assigned")] == [first["id"], again["id"]]


def test_a_confidential_case_tells_only_that_there_is_a_task_and_where(demo: Huhua) -> None:
    model = one_task_model("private_talk", "个别谈话", "与初二学生A谈话", "candidateRoles", "duty_counsellor,principal",
                           process_properties={"confidentiality": "counselling"})
    demo.execute(DeployModels(files=(("private_talk.bpmn", model.encode()),), actor="admin"))
    started = start_at(demo, "private_talk", "zhuhui-s002")
    run_due_jobs(demo)
    task = only_task(demo, started)
    offered = notifications(demo, kind="task_offered")
    assert len(offered) >= 2  # the school's duty counsellor and principal
    for row in offered:
        text = row.subject + row.body
        assert "初二学生A" not in text and "谈话" not in text and "珠晖" not in text
        assert "保密个案" in text and row.link == f"/inbox/tasks/{task['id']}"
    demo.execute(ClaimTask(task["id"], offered[0].person_id))
    run_due_jobs(demo)
    for row in notifications(demo, kind="task_claimed"):
        assert "初二学生A" not in row.subject + row.body and _name(demo, offered[0].person_id) not in row.body


def test_a_document_issued_tells_the_people_of_the_units_it_went_to(demo: Huhua) -> None:
    school = (FIXTURES / "school_circular.bpmn").read_text(encoding="utf-8")
    county = (school.replace('"school_circular"', '"county_circular"')
              .replace('"signer": "principal"', '"signer": "bureau_head"'))
    files = [("school_circular.bpmn", school.encode()), ("county_circular.bpmn", county.encode())]
    files += [(name, (PROCESSES / name).read_bytes()) for name in OFFICIAL]
    demo.execute(DeployModels(files=tuple(files), actor="admin"))

    for process, unit, signer in (("school_circular", "zhuhui-s001", "zhuhui-s001-xz"),
                                  ("county_circular", "zhuhui", "zhuhui-jz")):
        instance = start_at(demo, process, unit, month="2026年3月")
        run_due_jobs(demo)
        sign = next(t for t in demo.queries.tasks(user=signer) if t["instance_id"] == instance)
        demo.execute(CompleteTask(sign["id"], signer, {"od_decision": "signed"}))
        run_due_jobs(demo)

    rows = notifications(demo, kind="document_issued")
    by_key: dict[str, set[str]] = {}
    for row in rows:
        by_key.setdefault(row.dedupe_key, set()).add(row.person_id)
    school_people, county_people = by_key.values()
    # the school's own circular: everyone of the school and its teaching point, and nobody elsewhere
    assert {"zhuhui-s001-xz", "zhuhui-s001-bzr1", "zhuhui-s001-dy", "zhuhui-s001-p01-js"} <= school_people
    assert all(person.startswith("zhuhui-s001-") for person in school_people)
    # the county's: the heads, programme officers and 德育处主任 of its schools, not their teachers
    assert county_people == {f"zhuhui-s00{n}-{post}" for n in (1, 2, 3) for post in ("xz", "zr", "dy")}
    county_row = next(row for row in rows if row.person_id == "zhuhui-s002-xz")
    assert "珠晖区教育局" in county_row.body and "〔2026〕1号" in county_row.body
    assert "班主任工作检查情况的通报" in county_row.subject


def test_quiet_hours_move_an_e_mail_to_the_morning_and_the_in_app_notice_is_there_at_once(
        demo: Huhua, clock: VirtualClock) -> None:
    demo.services.notifications = NotificationSettings(
        email=SmtpSettings("127.0.0.1", 2525, "none", None, None, "心育护花 <noreply@127.0.0.1>"),
        quiet_hours=("22:00", "07:00"))
    with demo.services.database.engine.begin() as connection:
        connection.execute(update(tables.person).where(tables.person.c.id == "qidong-zr")
                           .values(email="qidong-zr@example.org"))
    clock.set(datetime(2026, 3, 4, 22, 30, tzinfo=BUSINESS_TZ))  # a Wednesday night
    started = _work_plan(demo)
    run_due_jobs(demo)
    [assigned] = notifications(demo, kind="task_assigned")
    assert assigned.created_at == clock.now() and assigned.read_at is None  # the centre has it now
    [email] = [row for row in deliveries(demo) if row.channel == "email"]
    assert (email.target, email.state, email.person_id) == ("qidong-zr@example.org", "pending", "qidong-zr")
    assert email.due_at == datetime(2026, 3, 5, 7, 0, tzinfo=BUSINESS_TZ)  # after the quiet hours
    [sending] = demo.queries.jobs(kind="notify_send", state="pending")
    assert datetime.fromisoformat(sending["due_at"]) == email.due_at  # the job that sends it waits as long
    assert only_task(demo, started)["assignee"] == "qidong-zr"


def test_a_task_created_and_done_before_the_worker_runs_tells_nobody_of_it(demo: Huhua) -> None:
    instance = _work_plan(demo)
    demo.execute(CompleteTask(only_task(demo, instance)["id"], "qidong-zr", {"plan": "初稿"}))
    run_due_jobs(demo)
    assert told(demo, "task_assigned") == []  # done already: nobody needs the news
    assert told(demo, "task_offered") == ["hy-zr", "hy-zr2"]  # the review waits for them
