"""The load test (``./scripts/bench.sh load``): the real server on PostgreSQL under simulated staff, with faults.

    ./scripts/bench.sh load [--staff 50] [--seconds 300] [--web 3] [--fault pg-restart|kill-worker|kill-scheduler]

A throw-away PostgreSQL cluster (tests/pg_server.py), or a new database on HUHUA_BENCH_POSTGRES_URL (not with
``--fault pg-restart``, which stops the server), gets the demo directory and the library. Then gunicorn
(deploy/gunicorn.conf.py, ``--web`` web processes), two ``huhua worker`` and a ``huhua scheduler`` serve it on
loopback, and ``--staff`` simulated people (bench/load_staff.py) work for ``--seconds``: inbox, task forms,
claims, completions, starts, dashboards, each call timed. Faults, at half time:

* ``pg-restart``: PostgreSQL stopped (``pg_ctl stop -m fast``) for ``--outage`` seconds and started again;
* ``kill-worker``: SIGKILL to a job worker holding leases (a new worker is started; the dead one's jobs are
  taken when their leases run out) and to one of gunicorn's web processes (gunicorn starts another);
* ``kill-scheduler``: a standby scheduler runs beside the leader, which gets SIGKILL; the standby takes over and
  no occurrence of a schedule due every minute fires twice.

The report: per kind of call its count, p50/p95/p99 latency and statuses; the 5xx outside the fault's declared
window (from the fault's start to ``--recovery`` seconds after it ended); 503s without Retry-After; /metrics before,
during and after; the ledger (bench/load_checks.py), whose violations must be zero.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import psycopg

from bench.load_checks import (
    LedgerReport,
    ScheduleReport,
    check_ledger,
    check_schedule_fires,
    fires_of,
    jobs_leased_by,
    jobs_still_held,
)
from bench.load_figures import SHOWN, KindFigures, Scrape, Window, by_kind, scrape, server_errors_outside
from bench.load_processes import LEASE_SECONDS, Processes
from bench.load_staff import Desk, Ledger, Recorder, Sample, Shift, Staff, choose_staff, plan_starts
from engine.bootstrap import Huhua, bootstrap
from engine.clock import BUSINESS_TZ
from engine.commands import CreateApiToken, DeployModels, DeployShippedProcesses, LoadDirectory
from engine.config import PROJECT_ROOT, Settings, normalise_database_url
from engine.org.profiles import generate
from tests import pg_server

FAULTS = ("pg-restart", "kill-worker", "kill-scheduler")
#: A schedule due every minute, so that a run of minutes shows whether the scheduler fires each occurrence once.
MINUTELY_KEY, MINUTELY_PROCESS = "load_minutely", "straight"
METRICS_TOKEN = "load-test-scraper"


@dataclass
class LoadOptions:
    staff: int = 50
    seconds: float = 300
    fault: str | None = None
    web: int = 3
    workers: int = 2
    think_seconds: float = 1.0  # mean pause between a person's steps
    start_share: float = 0.2  # how often a person who may start something does, per round
    outage_seconds: float = 10.0
    recovery_seconds: float = 5.0  # after a fault ends, still inside its declared window
    scheduler_interval: float = 5.0
    seed: int = 1
    postgres_url: str | None = None  # a server to make the database on; None: a throw-away cluster


@dataclass
class LoadResult:
    options: LoadOptions
    samples: list[Sample]
    figures: dict[str, KindFigures]
    windows: list[Window]
    errors_outside: list[Sample]
    missing_retry_after: int
    scrapes: list[Scrape]
    ledger: LedgerReport
    schedule: ScheduleReport
    dead: list[str]  # processes that stopped without being killed
    jobs_left_held: list[int]  # jobs a killed worker held that nobody ran afterwards
    jobs_due_at_end: int
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        schedule = self.schedule
        return (not self.errors_outside and not self.missing_retry_after and not self.ledger.violations
                and not self.ledger.refused_yet_applied and not self.dead and not self.jobs_left_held
                and not (schedule.duplicate_fires or schedule.duplicate_starts or schedule.unstarted
                         or schedule.skipped)
                and all(s.error is None for s in self.scrapes if s.moment != "during"))


_BEGAN = time.monotonic()


def say(text: str) -> None:
    print(f"  … {time.monotonic() - _BEGAN:6.1f} s  {text}", file=sys.stderr, flush=True)


@contextmanager
def database(options: LoadOptions) -> Iterator[tuple[str, pg_server.Cluster | None]]:
    """A new database ``huhua_load``: on the given server, or on a throw-away cluster of the run's own."""
    if options.postgres_url and options.fault == "pg-restart":
        raise SystemExit("--fault pg-restart stops PostgreSQL, so it needs a cluster of the load test's own: "
                         "unset HUHUA_BENCH_POSTGRES_URL")
    cluster = None if options.postgres_url else pg_server.throwaway_cluster()
    server = options.postgres_url or (cluster.admin_url if cluster else "")
    name = f"huhua_load_{os.getpid()}"
    try:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        yield normalise_database_url(server.rsplit("/", 1)[0] + "/" + name), cluster
    finally:
        if cluster is not None:
            cluster.remove()
        else:
            with psycopg.connect(server, autocommit=True) as connection:
                connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def prepare(url: str, data_dir: Path, staff_count: int) -> tuple[Huhua, list[Staff], dict[str, str], Path]:
    """The demo directory and the library deployed, a schedule due every minute beside the shipped ones, and an
    API token for each person of the pool."""
    schedules = data_dir / "schedules.toml"
    shipped = (PROJECT_ROOT / "config" / "schedules.toml").read_text(encoding="utf-8")
    schedules.write_text(shipped + f'\n[[schedule]]\nkey = "{MINUTELY_KEY}"\nprocess = "{MINUTELY_PROCESS}"\n'
                         'cron = "* * * * *"\nnote = "the load test\'s: one occurrence a minute"\n', encoding="utf-8")
    settings = Settings(database_url=url, data_dir=data_dir, processes_dir=PROJECT_ROOT / "processes",
                        schedules_file=schedules, node_name="load")
    huhua = bootstrap(settings)
    huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    huhua.execute(DeployShippedProcesses(str(settings.processes_dir)))
    model = PROJECT_ROOT / "bench" / "models" / f"{MINUTELY_PROCESS}.bpmn"
    huhua.execute(DeployModels(files=((model.name, model.read_bytes()),), actor="admin"))
    staff = choose_staff(huhua, staff_count)
    plan_starts(huhua, staff)
    tokens = {s.person: huhua.execute(CreateApiToken(s.person, "load test", "admin"))["token"] for s in staff}
    return huhua, staff, tokens, schedules


def beijing_today() -> date:
    """The day the server answers on (its wall clock, Beijing time): what date fields are drawn around."""
    return datetime.now(BUSINESS_TZ).date()


class Run:
    """One load run: the server's processes, the people, the fault, the figures."""

    def __init__(self, options: LoadOptions, huhua: Huhua, processes: Processes, cluster: pg_server.Cluster | None,
                 staff: list[Staff], tokens: dict[str, str]) -> None:
        self.options, self.huhua, self.processes, self.cluster = options, huhua, processes, cluster
        self.staff, self.tokens = staff, tokens
        self.recorder, self.ledger = Recorder(), Ledger()
        self.windows: list[Window] = []
        self.scrapes: list[Scrape] = []
        self.notes: list[str] = []
        self.held_by_killed: list[int] = []
        self.deadline = time.monotonic() + options.seconds

    def scrape(self, moment: str) -> None:
        self.scrapes.append(scrape(self.processes.base_url, METRICS_TOKEN, moment))

    def drive(self) -> None:
        """The people work for the run's length; the fault (or a plain scrape) comes at half time."""
        options, stop = self.options, threading.Event()
        started = time.monotonic()
        deadline = self.deadline = started + options.seconds
        threads = []
        for index, person in enumerate(self.staff):
            desk = Desk(self.huhua, self.processes.base_url, person, self.tokens[person.person], self.recorder)
            shift = Shift(desk, self.recorder, self.ledger, random.Random(options.seed * 1000 + index), deadline,
                          options.think_seconds, options.start_share, stop, beijing_today)
            threads.append(threading.Thread(target=shift.run, name=f"staff-{person.person}", daemon=True))
        for thread in threads:
            thread.start()
        try:
            self._wait_until(started + options.seconds / 2)
            self._fault()
            for thread in threads:
                thread.join(max(0.0, deadline - time.monotonic()) + 130)  # a call under way may take its timeout
        finally:
            stop.set()

    def _wait_until(self, moment: float) -> None:
        while time.monotonic() < moment:
            time.sleep(min(15.0, max(0.0, moment - time.monotonic())))
            say(f"{len(self.recorder.samples)} calls, {len(self.ledger.completed)} completions, "
                f"{len(self.ledger.started)} starts so far")

    def _fault(self) -> None:
        fault = self.options.fault
        if fault is None:
            self.scrape("during")
            return
        began = time.monotonic()
        if fault == "pg-restart":
            assert self.cluster is not None
            say("fault: PostgreSQL stopped")
            self.cluster.stop("fast")
            time.sleep(min(3.0, self.options.outage_seconds))
            self.scrape("during")
            time.sleep(max(0.0, self.options.outage_seconds - (time.monotonic() - began)))
            self.cluster.start()
            say("fault: PostgreSQL started again")
            self.notes.append(f"PostgreSQL was stopped for {time.monotonic() - began:.1f} s")
        elif fault == "kill-worker":
            self._kill_worker()
        elif fault == "kill-scheduler":
            self._kill_scheduler()
            self.scrape("during")
        ended = time.monotonic()
        self.windows.append(Window(began, ended + self.options.recovery_seconds, ended))

    def _kill_worker(self) -> None:
        """SIGKILL a web process, then a job worker caught holding leases: it is stopped (SIGSTOP) at moments
        until one finds it with jobs claimed and not yet run (for at most 20 s), and killed as it stands."""
        engine = self.huhua.services.database.engine
        pid = self.processes.kill_web_process()
        victim = next(iter(self.processes.workers))
        looking = time.monotonic() + 20
        while True:
            self.processes.pause(victim, True)
            if jobs_leased_by(engine, victim) or time.monotonic() > looking:
                break
            self.processes.pause(victim, False)
            time.sleep(random.uniform(0.01, 0.1))
        self.processes.kill(victim)
        self.held_by_killed = jobs_leased_by(engine, victim)
        replacement = self.processes.start_worker()
        self.notes.append(f"SIGKILL to web process {pid} (gunicorn's); SIGKILL to {victim} holding "
                          f"{len(self.held_by_killed)} leased job(s); {replacement} started")
        self.scrape("during")
        self.processes.wait_started()

    def _kill_scheduler(self) -> None:
        """SIGKILL the leader right after it fired an occurrence of the minutely schedule (before it marks the
        schedule checked, most likely), when one falls due while at least 20 s of the run are left."""
        leader = self.processes.leading_scheduler()
        engine = self.huhua.services.database.engine
        fired = fires_of(engine, MINUTELY_KEY)
        latest = time.monotonic() + max(0.0, self.deadline - time.monotonic() - 20)
        while fires_of(engine, MINUTELY_KEY) == fired and time.monotonic() < latest:
            time.sleep(0.05)
        after_fire = fires_of(engine, MINUTELY_KEY) > fired
        self.processes.kill(leader)
        killed = time.monotonic()
        successor = self.processes.leading_scheduler(timeout=60)
        self.notes.append(f"SIGKILL to the leading {leader}" + (" just after it fired an occurrence" if after_fire
                                                                 else "") +
                          f"; {successor} led {time.monotonic() - killed:.1f} s later")

    def settle(self) -> int:
        """Wait (at most a lease and a half) until the workers have run every job due; the number still due."""
        engine = self.huhua.services.database.engine
        deadline = time.monotonic() + LEASE_SECONDS * 1.5 + 15
        while True:
            with engine.connect() as connection:
                due = connection.exec_driver_sql(
                    "SELECT count(*) FROM job WHERE state = 'pending' AND due_at <= now()").scalar() or 0
            if not due or time.monotonic() > deadline:
                return int(due)
            time.sleep(0.5)


def run_load(options: LoadOptions, progress: Callable[[str], None] = say) -> LoadResult:
    """One load run as ``options`` say, from an empty database to the checked ledger."""
    if options.fault is not None and options.fault not in FAULTS:
        raise SystemExit(f"--fault must be one of {', '.join(FAULTS)}")
    with ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="huhua-load-")))
        url, cluster = stack.enter_context(database(options))
        progress("loading the demo directory and the library")
        huhua, staff, tokens, schedules = prepare(url, data_dir, options.staff)
        stack.callback(huhua.close)
        env = {"HUHUA_DATABASE_URL": url, "HUHUA_DATA_DIR": str(data_dir), "HUHUA_SCHEDULES": str(schedules),
               "HUHUA_SECRET_KEY": os.urandom(16).hex(), "HUHUA_METRICS_TOKEN": METRICS_TOKEN,
               "PYTHONPATH": str(PROJECT_ROOT)}
        processes = Processes(env, data_dir, options.web)
        stack.callback(processes.stop)
        progress(f"starting gunicorn ({options.web} web processes), {options.workers} workers and the scheduler")
        processes.start_web()
        for _ in range(options.workers):
            processes.start_worker()
        processes.start_scheduler(options.scheduler_interval)
        processes.wait_started()
        if options.fault == "kill-scheduler":
            processes.leading_scheduler()
            processes.start_scheduler(options.scheduler_interval)  # the standby
            processes.wait_started()
        run = Run(options, huhua, processes, cluster, staff, tokens)
        run.scrape("before")
        progress(f"{options.staff} people working for {options.seconds:.0f} s"
                 + (f", fault {options.fault} at half time" if options.fault else ""))
        run.drive()
        run.scrape("after")
        dead = processes.dead()
        progress("waiting for the workers to run the jobs due, then checking the ledger")
        due = run.settle()
        engine = huhua.services.database.engine
        samples = list(run.recorder.samples)
        result = LoadResult(
            options=options, samples=samples, figures=by_kind(samples), windows=run.windows,
            errors_outside=server_errors_outside(samples, run.windows),
            missing_retry_after=sum(1 for s in samples if s.status == 503 and not s.retry_after),
            scrapes=run.scrapes, ledger=check_ledger(engine, run.ledger),
            schedule=check_schedule_fires(engine, MINUTELY_KEY, MINUTELY_PROCESS), dead=dead,
            jobs_left_held=jobs_still_held(engine, run.held_by_killed), jobs_due_at_end=due, notes=run.notes)
        if dead:
            result.notes += [processes.log_tail(name) for name in dead]
        progress("stopping the server")
    return result


def report(result: LoadResult) -> str:
    """The run as text: latency per kind, errors, /metrics, the ledger."""
    o = result.options
    lines = [f"## load: {o.staff} people × {o.seconds:.0f} s, {o.web} web processes, {o.workers} workers"
             + (f", fault {o.fault}" if o.fault else ", no fault"),
             f"{'kind':<10} {'count':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  statuses (0: no answer)"]
    for kind, f in result.figures.items():
        statuses = " ".join(f"{status}×{n}" for status, n in f.statuses.items())
        lines.append(f"{kind:<10} {f.count:>7} {f.p50_ms:>8.1f} {f.p95_ms:>8.1f} {f.p99_ms:>8.1f}  {statuses}")
    seconds = o.seconds
    lines.append(f"throughput: {len(result.samples) / seconds:.1f} calls/s; "
                 f"{result.ledger.completions / seconds:.2f} completions/s; {result.ledger.starts / seconds:.2f} "
                 "starts/s")
    fives = sum(1 for s in result.samples if s.status >= 500)
    lines.append(f"5xx: {fives} in all, {len(result.errors_outside)} outside the fault window; "
                 f"503 without Retry-After: {result.missing_retry_after}; no answer: "
                 f"{sum(1 for s in result.samples if s.status == 0)}")
    lines += [f"fault: {note}" for note in result.notes]
    lines.append(f"{'/metrics':<20}" + "".join(f"{s.moment:>12}" for s in result.scrapes))
    for label, name, labels in SHOWN:
        lines.append(f"{label:<20}" + "".join(f"{'—' if s.error else f'{s.total(name, **labels):.0f}':>12}"
                                               for s in result.scrapes))
    lines += [f"  ({s.moment}: {s.error})" for s in result.scrapes if s.error]
    ledger = result.ledger
    lines.append(f"ledger: {ledger.completions} completions and {ledger.starts} starts answered success; "
                 f"{len(ledger.violations)} violations; {len(ledger.refused_yet_applied)} answered 503 yet applied")
    lines += [f"  ✗ {v}" for v in ledger.violations[:20] + ledger.refused_yet_applied[:20]]
    schedule = result.schedule
    lines.append(f"scheduler: {schedule.fires} minutely occurrences fired, {schedule.duplicate_fires} fired twice, "
                 f"{schedule.duplicate_starts} started twice, {schedule.unstarted} without an instance, "
                 f"{schedule.skipped} minutes skipped")
    lines.append(f"jobs: {result.jobs_due_at_end} still due after the run; {len(result.jobs_left_held)} of the "
                 "killed worker's never run" + (f"; processes that died: {', '.join(result.dead)}"
                                               if result.dead else ""))
    lines.append("PASSED" if result.passed else "FAILED")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="./scripts/bench.sh load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--staff", type=int, default=50, help="simulated people working at once (default 50)")
    parser.add_argument("--seconds", type=float, default=300, help="how long they work (default 300)")
    parser.add_argument("--fault", choices=FAULTS, help="what goes wrong at half time")
    parser.add_argument("--web", type=int, default=3, help="gunicorn web processes (default 3)")
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between a person's steps")
    parser.add_argument("--outage", type=float, default=10.0, help="seconds PostgreSQL stays stopped")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    options = LoadOptions(staff=args.staff, seconds=args.seconds, fault=args.fault, web=args.web,
                          think_seconds=args.think, outage_seconds=args.outage, seed=args.seed,
                          postgres_url=os.environ.get("HUHUA_BENCH_POSTGRES_URL") or None)
    result = run_load(options)
    print(report(result))
    if not result.passed:
        sys.exit(1)

