"""Engine benchmarks, each figure printed beside plain SpiffWorkflow in memory, measured in the same run.

    ./scripts/bench.sh                  # SQLite (durable commits) in a temporary directory
    HUHUA_BENCH_POSTGRES_URL=postgresql://… ./scripts/bench.sh   # also on PostgreSQL

(a) 1,000 instances of start → script → exclusive gateway → end, created and run to completion;
(b) 1,000 starts of a one-user-task process, then 1,000 completions through the command layer;
(c) completing one task of a parallel multi-instance activity with N = 10, 100 and 1,000 siblings;
(d) the monthly check's fan-out to every school of the full profile, with two worker processes
    (bench/fanout.py); (e) the class-teacher training rollout at city scale (bench/rollout.py); (f) the
    inbox among a million task rows (bench/inbox.py); (g) the task page's JavaScript and load time in Chromium
    (bench/pageweight.py). ``./scripts/bench.sh fanout`` runs (d) alone, ``rollout`` (e), ``inbox`` (f),
    ``pageweight`` (g), ``engine`` (a)-(c); ``feel`` (h) a 100-rule FEEL decision table beside SpiffWorkflow's
    DMN engine (bench/feel.py, no database); ``notifications`` (i) 10,000 notifications by SMS to a local gateway
    with 1 and 2 workers beside as many webhook deliveries (bench/notifications.py); ``http`` (j) a start, a
    completion and the inbox over HTTP to gunicorn beside the same command or query in process (bench/http.py).

``./scripts/bench.sh load [--staff 50] [--seconds 300] [--fault pg-restart|kill-worker|kill-scheduler]`` is the load
test of the real server on PostgreSQL (bench/load.py): gunicorn, workers and the scheduler under simulated staff,
with faults; it takes options of its own and runs alone.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from bench.fanout import report_fanout
from bench.feel import report_feel
from bench.http import report_http
from bench.inbox import report_inbox
from bench.notifications import report_notifications
from bench.pageweight import report_pageweight
from bench.rollout import report_rollout
from engine import bench_results
from engine.bootstrap import Huhua, bootstrap
from engine.commands import ENGINE, CompleteTask, DeployModels, StartInstance
from engine.config import Settings, load_settings, normalise_database_url

MODELS = Path(__file__).parent / "models"
INSTANCES = 1000
MI_SIZES = (10, 100, 1000)
MI_SAMPLES = 30
WARM_UP = 300


def progress(text: str) -> None:
    print(f"  … {text}", file=sys.stderr, flush=True)


def spiff_spec(name: str, key: str):  # type: ignore[no-untyped-def]
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(MODELS / name))
    return parser.get_spec(key)


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


# -- plain SpiffWorkflow, in memory ---------------------------------------------------------------

def straight_rates(huhua: Huhua, rounds: int = 5) -> tuple[float, float]:
    """Instances/s for Huhua and for plain SpiffWorkflow, measured in alternating rounds so that noise
    from the rest of the machine falls on both alike."""
    spec = spiff_spec("straight.bpmn", "straight")
    per_round = INSTANCES // rounds
    spiff_seconds = ours_seconds = 0.0

    def spiff_round() -> None:
        for _ in range(per_round):
            workflow = BpmnWorkflow(spec)
            workflow.do_engine_steps()
            assert workflow.is_completed()

    def huhua_round() -> None:
        for _ in range(per_round):
            assert huhua.execute(StartInstance("straight", "bench", origin=ENGINE))["state"] == "completed"

    for done in range(rounds):
        spiff_seconds += timed(spiff_round)
        ours_seconds += timed(huhua_round)
        progress(f"(a) {(done + 1) * per_round} instances each")
    return per_round * rounds / ours_seconds, per_round * rounds / spiff_seconds


def spiff_one_task_ms() -> tuple[float, float]:
    spec = spiff_spec("one_task.bpmn", "one_task")
    workflows: list[BpmnWorkflow] = []

    def start_all() -> None:
        for _ in range(INSTANCES):
            workflow = BpmnWorkflow(spec)
            workflow.do_engine_steps()
            workflows.append(workflow)

    def complete_all() -> None:
        for workflow in workflows:
            task = workflow.get_next_task(state=TaskState.READY, manual=True)
            task.data["done"] = True
            task.run()
            workflow.do_engine_steps()
            assert workflow.is_completed()

    return timed(start_all) / INSTANCES * 1000, timed(complete_all) / INSTANCES * 1000


def spiff_mi_completion_ms(n: int) -> float:
    spec = spiff_spec("many_reviews.bpmn", "many_reviews")
    workflow = BpmnWorkflow(spec)
    workflow.get_next_task(state=TaskState.READY).data["n"] = n
    workflow.do_engine_steps()
    tasks = workflow.get_tasks(state=TaskState.READY, manual=True)
    samples = []
    for task in tasks[:min(MI_SAMPLES, n - 1)]:
        samples.append(timed(lambda t=task: (t.run(), workflow.do_engine_steps())))
    return statistics.median(samples) * 1000


# -- Huhua, through the command layer, on a real database -----------------------------------------

def engine_for(url: str, data_dir: Path) -> Huhua:
    settings = Settings(database_url=url, data_dir=data_dir, processes_dir=MODELS, node_name="bench")
    huhua = bootstrap(settings)
    files = tuple((p.name, p.read_bytes()) for p in sorted(MODELS.glob("*.bpmn")))
    huhua.execute(DeployModels(files=files, actor="bench"))
    for _ in range(WARM_UP):  # a running server has its specs cached and its WAL file in place
        huhua.execute(StartInstance("straight", "bench", origin=ENGINE))
    return huhua


def huhua_one_task_ms(huhua: Huhua) -> tuple[float, float]:
    ids: list[int] = []

    def start_all() -> None:
        for _ in range(INSTANCES):
            ids.append(huhua.execute(StartInstance("one_task", "bench", origin=ENGINE))["id"])

    start_ms = timed(start_all) / INSTANCES * 1000
    progress("(b) started")
    task_ids = [t["id"] for t in huhua.queries.tasks(limit=500)]
    task_ids += [t["id"] for t in huhua.queries.tasks(limit=500, offset=500)]
    assert len(task_ids) == INSTANCES

    def complete_all() -> None:
        for task_id in task_ids:
            assert huhua.execute(CompleteTask(task_id, "admin", {"done": True}))["instance"]["state"] == "completed"

    return start_ms, timed(complete_all) / INSTANCES * 1000


def huhua_mi_completion_ms(huhua: Huhua, n: int) -> tuple[float, float]:
    """Median cost of completing one item, and the cost of the last one (which moves the workflow)."""
    started = huhua.execute(StartInstance("many_reviews", "bench", variables={"n": n}, origin=ENGINE))
    items = [t["id"] for t in huhua.queries.tasks(instance_id=started["id"], limit=500)]
    while len(items) < n:
        items += [t["id"] for t in huhua.queries.tasks(instance_id=started["id"], limit=500, offset=len(items))]
    samples = [timed(lambda t=t: huhua.execute(CompleteTask(t, "admin", {"ok": True})))
               for t in items[:min(MI_SAMPLES, n - 1)]]
    for task_id in items[min(MI_SAMPLES, n - 1):-1]:
        huhua.execute(CompleteTask(task_id, "admin", {"ok": True}))
    last = timed(lambda: huhua.execute(CompleteTask(items[-1], "admin", {"ok": True})))
    assert huhua.queries.instance(started["id"])["state"] == "completed"
    return statistics.median(samples) * 1000, last * 1000


def report(label: str, url: str, data_dir: Path) -> None:
    print(f"\n## {label}")
    huhua = engine_for(url, data_dir)
    try:
        ours, spiff_rate = straight_rates(huhua)
        print(f"(a) straight-through instances/s   huhua {ours:8.0f}   spiff in memory {spiff_rate:8.0f}"
              f"   ratio {ours / spiff_rate:5.2f}")
        bench_results.compare("a", "直通流程实例", "个/s", ours, spiff_rate)

        progress("(b) plain SpiffWorkflow")
        spiff_start, spiff_complete = spiff_one_task_ms()
        start_ms, complete_ms = huhua_one_task_ms(huhua)
        print(f"(b) start ms                       huhua {start_ms:8.2f}   spiff in memory {spiff_start:8.2f}"
              f"   ratio {start_ms / spiff_start:5.1f}")
        print(f"(b) completion ms                  huhua {complete_ms:8.2f}   spiff in memory {spiff_complete:8.2f}"
              f"   ratio {complete_ms / spiff_complete:5.1f}")
        bench_results.compare("b", "启动一个实例", "ms", start_ms, spiff_start)
        bench_results.compare("b", "办理一个任务", "ms", complete_ms, spiff_complete)

        ours_mi: dict[int, float] = {}
        spiff_mi: dict[int, float] = {}
        for n in MI_SIZES:
            progress(f"(c) N = {n}")
            median, last = huhua_mi_completion_ms(huhua, n)
            ours_mi[n], spiff_mi[n] = median, spiff_mi_completion_ms(n)
            print(f"(c) N={n:<5} one completion ms        huhua {median:8.2f}   spiff in memory {spiff_mi[n]:8.2f}"
                  f"   (huhua's last item, which moves the workflow: {last:.1f} ms)")
            bench_results.compare("c", f"多实例 N={n} 办理一项", "ms", median, spiff_mi[n])
        print(f"(c) growth N=1000 / N=10           huhua {ours_mi[1000] / ours_mi[10]:8.2f}x"
              f"  spiff in memory {spiff_mi[1000] / spiff_mi[10]:8.2f}x")
    finally:
        huhua.close()


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A database of its own on the given server, dropped afterwards."""
    name = f"huhua_bench_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield normalise_database_url(server_url.rsplit("/", 1)[0] + "/" + name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run_all(label: str, url: str, data_dir: Path, parts: set[str]) -> None:
    bench_results.on_database(label)
    if "engine" in parts:
        report(label, url, data_dir)
    if "engine" not in parts:
        print(f"\n## {label}")
    if "fanout" in parts:
        report_fanout(url.replace("bench.db", "fanout.db"), data_dir, progress)
    if "rollout" in parts:
        report_rollout(url.replace("bench.db", "rollout.db"), data_dir, progress)
    if "inbox" in parts:
        report_inbox(url.replace("bench.db", "inbox.db"), data_dir, progress)
    if "pageweight" in parts:
        report_pageweight(url.replace("bench.db", "pageweight.db"), data_dir, progress)
    if "notifications" in parts:
        report_notifications(url.replace("bench.db", "notifications.db"), data_dir, progress)
    if "http" in parts:
        report_http(url.replace("bench.db", "http.db"), data_dir, progress)


def main() -> None:
    if sys.argv[1:2] == ["load"]:
        from bench.load import main as load_main  # its own options; it starts its own PostgreSQL

        load_main(sys.argv[2:])
        return
    parts = {"engine", "fanout", "rollout", "inbox", "pageweight", "feel", "notifications", "http"}
    chosen = set(sys.argv[1:]) or parts
    if not chosen <= parts:
        sys.exit("usage: python -m bench [engine] [fanout] [rollout] [inbox] [pageweight] [feel] [notifications]"
                 " [http]")
    if "feel" in chosen:
        bench_results.on_database("—")
        report_feel()
        chosen.discard("feel")
    if chosen:
        with tempfile.TemporaryDirectory(prefix="huhua-bench-") as tmp:
            run_all("SQLite (WAL, synchronous=FULL)", f"sqlite:///{tmp}/bench.db", Path(tmp), chosen)
            postgres = os.environ.get("HUHUA_BENCH_POSTGRES_URL")
            if postgres:
                for part in sorted(chosen):  # a fresh database for each part
                    with scratch_database(postgres) as url:
                        run_all("PostgreSQL", url, Path(tmp), {part})
    saved = bench_results.save(load_settings().data_dir)
    if saved:
        print(f"\nfigures saved to {saved}; the administrators' page /admin/benchmarks draws them")


if __name__ == "__main__":
    main()
