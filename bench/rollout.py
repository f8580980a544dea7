"""(e) The class-teacher training rollout at city scale: every county, school and teaching point, every teacher.

The full profile is loaded (timed), the library deployed, and 班主任素养提升培训 run through its tiers as
the people would: the city plans, its experts answer the invitation, the city records; each county trains; each school
and teaching point trains, which hands each of the 40,000 class teachers their own attendance task.
The figures: the time to start every county and school instance and to hand out every teacher's task,
and the largest instance seen (open tasks, stored state). The reference is plain SpiffWorkflow in memory
running the school-level model to its attendance tasks as many times, with no database.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from engine import bench_results
from engine.bootstrap import Huhua, bootstrap
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import CompleteTask, DeployShippedProcesses, LoadDirectory, StartInstance
from engine.config import PROJECT_ROOT, Settings
from engine.org.profiles import generate
from engine.store import tables
from workers.job_worker import run_due_jobs

PROCESSES = PROJECT_ROOT / "processes"
START = datetime(2026, 3, 2, 8, 30, tzinfo=BUSINESS_TZ)
PLAN = {"year": 2026, "course": "班主任素养提升", "topics": ["班主任良好心理品质和心育能力"], "city_date": "2026-03-10"}
SESSION = {"held_on": "2026-03-20", "trainers": "专家组", "session_hours": 6, "participants": 40, "content": "专题讲座"}
LECTURE = {"reply": {"lecture_reply": "accept", "lecture_topic": "班主任的心育能力", "lecture_date": "2026-03-10",
                     "lecture_hours": 3}}


def report_rollout(url: str, data_dir: Path, say: Callable[[str], None]) -> None:
    settings = Settings(database_url=url, data_dir=data_dir, processes_dir=PROCESSES, node_name="bench")
    huhua = bootstrap(settings, clock=VirtualClock(START))
    try:
        started = time.perf_counter()
        loaded = huhua.execute(LoadDirectory(generate("full"), "bench", source="full"))
        load_seconds = time.perf_counter() - started
        huhua.execute(DeployShippedProcesses(str(PROCESSES)))
        say(f"(e) full profile loaded in {load_seconds:.1f} s; the city and its experts train first")
        city = huhua.execute(StartInstance("ct_training_city", "hy-zr", org_scope="hy"))["id"]
        _complete(huhua, "ct_training_city_plan", PLAN)
        _complete(huhua, "ct_training_expert_lecture", LECTURE)  # every expert of the pool answers
        _complete(huhua, "ct_training_city_record", SESSION)
        counties_started = time.perf_counter()
        _complete(huhua, "ct_training_county_session", SESSION)  # 13 counties: each fans out to its schools
        schools = _count(huhua, "ct_training_school")
        start_seconds = time.perf_counter() - counties_started
        say(f"(e) {schools} school and teaching-point instances started; every school trains now")
        handed = time.perf_counter()
        _complete(huhua, "ct_training_school_session", SESSION, progress=say)
        teachers = _open_tasks(huhua, "ct_training_attend")
        hand_seconds = time.perf_counter() - handed
        biggest_tasks, biggest_state = _largest(huhua)
        coverage = huhua.queries.coverage(city, huhua.clock.now(), missing_only=True)
        dashboard_seconds = _dashboard_seconds(huhua, city)
    finally:
        huhua.close()
    reference = spiff_seconds(schools)
    print(f"(e) full profile load s            huhua {load_seconds:8.2f}   ({loaded['units']} units, "
          f"{loaded['people']} people)")
    print(f"(e) rollout: 13 counties trained -> {schools} school instances started, s"
          f"   huhua {start_seconds:8.2f}")
    print(f"(e) rollout: {schools} schools trained -> {teachers} teacher tasks, s"
          f"   huhua {hand_seconds:8.2f}   spiff in memory {reference:8.2f}   ratio {hand_seconds / reference:5.1f}")
    bench_results.compare("e", f"培训任务分发到 {teachers} 名班主任", "s", hand_seconds, reference)
    print(f"(e) largest instance: {biggest_tasks} open tasks, {biggest_state} bytes of state; coverage "
          f"{coverage['people']['total']} people, {coverage['units']['total']} units, {coverage['percent']}% done")
    print("(e) dashboard, s: " + "   ".join(f"{name} {seconds:6.3f}" for name, seconds in dashboard_seconds.items()))


def _dashboard_seconds(huhua: Huhua, city: int) -> dict[str, float]:
    """The dashboard's answers on the rollout as the administrator asks them: the list, each drill-down level,
    the monthly checks and overdue work."""
    now = huhua.clock.now()
    asks: dict[str, Callable[[], Any]] = {
        "rollouts": lambda: huhua.queries.dashboard_rollouts("admin"),
        "counties": lambda: huhua.queries.dashboard_rollout("admin", city),
        "schools": lambda: huhua.queries.dashboard_rollout("admin", city, "qidong"),
        "people": lambda: huhua.queries.dashboard_rollout("admin", city, "qidong-s001"),
        "checks": lambda: huhua.queries.dashboard_monthly_checks("admin", now),
        "overdue": lambda: huhua.queries.dashboard_overdue("admin", now)}
    seconds = {}
    for name, ask in asks.items():
        started = time.perf_counter()
        ask()
        seconds[name] = time.perf_counter() - started
    return seconds


def _complete(huhua: Huhua, element_id: str, data: dict[str, Any], *, first_only: bool = False,
              progress: Callable[[str], None] | None = None) -> None:
    """Complete the open ``element_id`` tasks as the people offered them, then run what falls due."""
    t = tables.human_task
    with huhua.services.database.engine.connect() as connection:
        tasks = connection.execute(select(t.c.id).where(t.c.element_id == element_id, t.c.state == "open")
                                   .order_by(t.c.id)).scalars().all()
    for done, task_id in enumerate(tasks[:1] if first_only else tasks, start=1):
        huhua.execute(CompleteTask(task_id, "admin", data))
        if progress and done % 500 == 0:
            progress(f"(e) {done}/{len(tasks)} {element_id}")
    run_due_jobs(huhua, max_rounds=100_000)


def _count(huhua: Huhua, process_key: str) -> int:
    i = tables.process_instance
    with huhua.services.database.engine.connect() as connection:
        return connection.execute(select(func.count()).where(i.c.process_key == process_key)).scalar_one()


def _open_tasks(huhua: Huhua, element_id: str) -> int:
    t = tables.human_task
    with huhua.services.database.engine.connect() as connection:
        return connection.execute(select(func.count()).where(t.c.element_id == element_id,
                                                             t.c.state == "open")).scalar_one()


def _largest(huhua: Huhua) -> tuple[int, int]:
    """The most open tasks any one instance holds, and the largest stored instance state in bytes."""
    t, i = tables.human_task, tables.process_instance
    with huhua.services.database.engine.connect() as connection:
        tasks = connection.execute(select(func.count()).where(t.c.state == "open").group_by(t.c.instance_id)
                                   .order_by(func.count().desc()).limit(1)).scalar() or 0
        state = connection.execute(select(func.max(func.length(i.c.workflow_state)))).scalar() or 0
    return tasks, state


def spiff_seconds(count: int) -> float:
    """Plain SpiffWorkflow: the school-level model from its start to its attendance tasks, ``count`` times."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(PROCESSES / "ct_training_school.bpmn"))
    for dmn in PROCESSES.glob("*training*.dmn"):
        parser.add_dmn_file(str(dmn))
    spec = parser.get_spec("ct_training_school")
    engine = PythonScriptEngine(environment=TaskDataEnvironment({"working_days_later": lambda *_: "2026-04-01"}))
    people = [{"id": f"t{n}", "name": f"教师{n}"} for n in range(19)]
    started = time.perf_counter()
    for _ in range(count):
        workflow = BpmnWorkflow(spec, script_engine=engine)
        workflow.get_next_task(state=TaskState.READY).data.update(
            {"unit": {"id": "s", "name": "学校", "kind": "school"}, "people": people, "year": 2026,
             "course": "班主任素养提升"})
        workflow.do_engine_steps()
        session = workflow.get_next_task(state=TaskState.READY, manual=True)
        session.data.update(SESSION)
        session.run()
        workflow.do_engine_steps()
    return time.perf_counter() - started

