"""(d) The monthly check's fan-out at city scale: from the scheduler's tick to every school's first task.

The full profile (2,080 schools, 520 teaching points checked with their schools) is loaded, the
process library deployed, and two ``huhua worker`` processes poll for jobs. The clock stands at the
first working day of October 2026, 08:31; one scheduler tick logs the occurrence and writes one
``scheduled_start`` job per school, the workers start the schools' instances and read each school's
roster of teachers from the directory (the ``roster`` service task), and the figure is the time until every
school's 德育处 has its checking sheets (班主任工作、心理健康教育及辅导工作) open and claimable. The reference is
plain SpiffWorkflow in memory running as many instances of the same model to the same tasks, with no database
at all and a constant roster of a typical school in place of the directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

from engine import bench_results
from engine.bootstrap import Huhua, bootstrap
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import DeployShippedProcesses, LoadDirectory
from engine.config import PROJECT_ROOT, Settings
from engine.org.profiles import generate
from engine.schedules import load_schedules
from engine.store import tables
from workers.scheduler import ScheduleRunner

FIRST_WORKING_DAY = datetime(2026, 10, 8, 8, 31, tzinfo=BUSINESS_TZ)
SHEETS = ("check_class_teachers", "check_mh_work")
#: The roster of a school of the full profile, for the reference run (no directory in memory).
ROSTER = {"unit": {"id": "s", "name": "学校", "kind": "school"},
          "class_teachers": [{"id": f"s-bzr{n}", "name": f"班主任{n}", "unit": "s"} for n in range(1, 7)],
          "mh_teachers": [{"id": "s-xl1", "name": "心理教师", "unit": "s"}]}
WORKERS = 2
PROCESSES = PROJECT_ROOT / "processes"


def spiff_seconds(count: int) -> float:
    """Plain SpiffWorkflow in memory: ``count`` monthly checks run to their first user task."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(PROCESSES / "monthly_school_check.bpmn"))
    parser.add_dmn_files([str(p) for p in PROCESSES.glob("monthly_check_*.dmn")])
    spec = parser.get_spec("monthly_school_check")
    deadline = FIRST_WORKING_DAY.replace(day=15).isoformat()  # the calendar is Huhua's work; a constant here
    engine = PythonScriptEngine(environment=_ConstantRoster({"working_days_later": lambda *_: deadline,
                                                             "scheduled_for": FIRST_WORKING_DAY.isoformat()}))
    started = time.perf_counter()
    for _ in range(count):
        workflow = BpmnWorkflow(spec, script_engine=engine)
        workflow.do_engine_steps()
        ready = workflow.get_tasks(state=TaskState.READY, manual=True)
        assert sorted(task.task_spec.bpmn_id for task in ready) == list(SHEETS)
    return time.perf_counter() - started


class _ConstantRoster(TaskDataEnvironment):
    """The ``roster`` service task answered from memory, as a connector would answer it."""

    def call_service(self, context: dict, **kwargs: object) -> str:
        return json.dumps(ROSTER)


def _worker(url: str, data_dir: Path, name: str) -> subprocess.Popen:
    env = {**os.environ, "HUHUA_DATABASE_URL": url, "HUHUA_DATA_DIR": str(data_dir),
           "HUHUA_VIRTUAL_CLOCK": FIRST_WORKING_DAY.isoformat(), "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.Popen([sys.executable, "-m", "engine.cli", "worker", "--name", name, "--batch", "50",
                             "--poll", "0.05"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def report_fanout(url: str, data_dir: Path, say: Callable[[str], None]) -> None:
    settings = Settings(database_url=url, data_dir=data_dir, processes_dir=PROCESSES, node_name="bench")
    huhua = bootstrap(settings, clock=VirtualClock(FIRST_WORKING_DAY))
    workers: list[subprocess.Popen] = []
    try:
        started = time.perf_counter()
        loaded = huhua.execute(LoadDirectory(generate("full"), "bench", source="full"))
        load_seconds = time.perf_counter() - started
        huhua.execute(DeployShippedProcesses(str(PROCESSES)))
        schools = len(huhua.queries.unit_ids("school"))
        say(f"(d) full profile loaded: {loaded['units']} units, {loaded['people']} people; starting {WORKERS} workers")
        workers = [_worker(url, data_dir, f"bench-{n}") for n in range(WORKERS)]
        time.sleep(3)  # the workers are up and polling before the clock strikes
        runner = ScheduleRunner(huhua, [s for s in load_schedules(PROJECT_ROOT / "config" / "schedules.toml")
                                        if s.key == "monthly_check"])
        started = time.perf_counter()
        fired = runner.tick()
        assert fired and fired[0]["units"] == schools, fired
        open_tasks = 0
        while open_tasks < schools:
            time.sleep(0.05)
            open_tasks = _open_sheets(huhua)
            if time.perf_counter() - started > 600:
                raise RuntimeError(f"only {open_tasks} of {schools} schools started within 10 minutes")
        ours = time.perf_counter() - started
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(60)
        huhua.close()
    say("(d) plain SpiffWorkflow")
    reference = spiff_seconds(schools)
    print(f"(d) full profile load s            huhua {load_seconds:8.2f}   ({loaded['people']} people, "
          f"{loaded['roles']} roles)")
    print(f"(d) monthly check at {schools} schools, s  huhua {ours:8.2f}   spiff in memory {reference:8.2f}"
          f"   ratio {ours / reference:5.1f}   ({WORKERS} workers; tick to the last school's task claimable)")
    bench_results.compare("d", f"一月一查分发到 {schools} 所学校", "s", ours, reference)


def _open_sheets(huhua: Huhua) -> int:
    """The schools whose two checking sheets are both open."""
    t = tables.human_task
    with huhua.services.database.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(
            select(t.c.instance_id).where(t.c.element_id.in_(SHEETS), t.c.state == "open")
            .group_by(t.c.instance_id).having(func.count() == len(SHEETS)).subquery())).scalar_one()
