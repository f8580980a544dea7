"""`huhua`: the command line. Every verb takes --json; bad input exits with code 2 and says why."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import click

from engine.bootstrap import Huhua, bootstrap
from engine.commands import CompleteTask, CorrelateMessage, DeployModels, DeployShippedProcesses, StartInstance
from engine.commands.deployment import model_files_in
from engine.commands.model import ClearWorkday, SetWorkday
from engine.config import load_settings
from engine.errors import HuhuaError, InvalidInput, Problem

BAD_INPUT = 2
#: Demo people, one per role and tier, given log-in accounts by ``huhua accounts demo`` and printed by serve.
DEMO_ACCOUNTS = ("hy-jz", "hy-zr", "zhuhui-jz", "zhuhui-zr", "zhuhui-s001-zr", "zhuhui-s001-xz", "zhuhui-s001-bzr1",
                 "zhuhui-s001-xl1", "zj01", "hy-jjjc")
#: The demo accounts' password (the demo profile is for trying the product, not for real people).
DEMO_PASSWORD = "Huhua@2026"


class _Context:
    def __init__(self) -> None:
        self._huhua: Huhua | None = None

    @property
    def huhua(self) -> Huhua:
        if self._huhua is None:
            try:
                settings = load_settings()
            except ValueError as err:  # a HUHUA_* variable that cannot be read
                click.echo(f"error: configuration: {err}", err=True)
                sys.exit(BAD_INPUT)
            self._huhua = bootstrap(settings)
        return self._huhua

    def close(self) -> None:
        if self._huhua is not None:
            self._huhua.close()
            self._huhua = None


def _emit(as_json: bool, data: Any, human: Callable[[Any], str]) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(human(data))


def _fail(err: HuhuaError, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(err.to_dict(), ensure_ascii=False, indent=2), err=True)
    else:
        click.echo(f"error: {err}", err=True)
    sys.exit(BAD_INPUT)


def _guard(as_json: bool, action: Callable[[], None]) -> None:
    try:
        action()
    except HuhuaError as err:
        _fail(err, as_json)


def _json_object(text: str | None, option: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInput(f"{option} is not valid JSON: {err.msg} at column {err.colno}",
                           [Problem(err.msg, field=option)]) from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{option} must be a JSON object", [Problem("expected an object", field=option)])
    return value


def _model_files(paths: Iterable[str]) -> tuple[tuple[str, bytes], ...]:
    files: list[tuple[str, bytes]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += model_files_in(path)
        elif path.is_file():
            files.append((path.name, path.read_bytes()))
        else:
            raise InvalidInput(f"{raw} does not exist", [Problem("no such file or directory", file=raw)])
    if not files:
        raise InvalidInput("no .bpmn or .dmn files were found in the given paths")
    return tuple(files)


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what the engine does.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """心育护花 Huhua — BPMN workflow engine."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = _Context()
    ctx.call_on_close(ctx.obj.close)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@json_option
def db_upgrade(as_json: bool) -> None:
    """Create or migrate the schema to the newest version (safe to repeat)."""
    from engine.store import migration
    from engine.store.database import Database

    settings = load_settings()
    database = Database(settings.database_url)
    migration.upgrade(database)
    revision = migration.current_revision(database)
    database.dispose()
    _emit(as_json, {"database": _redact(settings.database_url), "revision": revision},
          lambda d: f"schema at revision {d['revision']} ({d['database']})")


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--as", "actor", default="admin", show_default=True, help="Who deploys.")
@json_option
@click.pass_obj
def deploy(obj: _Context, paths: tuple[str, ...], actor: str, as_json: bool) -> None:
    """Deploy BPMN/DMN files (or every model in a directory) as one deployment."""

    def run() -> None:
        result = obj.huhua.execute(DeployModels(files=_model_files(paths), actor=actor, source="cli"))
        _emit(as_json, result, lambda r: "\n".join(
            f"{p['key']}: version {p['version']}" + ("" if p["changed"] else " (unchanged)") for p in r["processes"]))

    _guard(as_json, run)


@main.command()
@click.argument("paths", nargs=-1, required=True)
@json_option
@click.pass_obj
def validate(obj: _Context, paths: tuple[str, ...], as_json: bool) -> None:
    """Check BPMN/DMN files without deploying them."""

    def run() -> None:
        result = obj.huhua.queries.validate_models(_model_files(paths))
        _emit(as_json, {"valid": True, "processes": result},
              lambda r: "valid: " + ", ".join(p["key"] for p in r["processes"]))

    _guard(as_json, run)


@main.command()
@click.argument("key")
@click.option("--vars", "variables", help="Start variables as a JSON object.")
@click.option("--scope", help="Org unit the instance runs for.")
@click.option("--business-key", help="Your own identifier; also the default message correlation key.")
@click.option("--as", "actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def start(obj: _Context, key: str, variables: str | None, scope: str | None, business_key: str | None,
          actor: str, as_json: bool) -> None:
    """Start an instance of the newest version of process KEY."""

    def run() -> None:
        result = obj.huhua.execute(StartInstance(process_key=key, actor=actor,
                                                 variables=_json_object(variables, "--vars"),
                                                 org_scope=scope, business_key=business_key))
        _emit(as_json, result, lambda r: f"instance {r['id']} {r['state']}"
              + (f": {r['incident']}" if r.get("incident") else ""))

    _guard(as_json, run)


@main.command()
@click.option("--user", help="Only tasks this user may work on.")
@click.option("--instance", "instance_id", type=int, help="Only tasks of this instance.")
@click.option("--state", default="open", show_default=True,
              type=click.Choice(["open", "completed", "cancelled", "all"]))
@click.option("--limit", default=50, show_default=True)
@json_option
@click.pass_obj
def tasks(obj: _Context, user: str | None, instance_id: int | None, state: str, limit: int, as_json: bool) -> None:
    """List human tasks."""

    def run() -> None:
        result = obj.huhua.queries.tasks(user=user, instance_id=instance_id, state=state, limit=limit)
        _emit(as_json, result, lambda rows: "\n".join(
            f"{t['id']:>6}  {t['state']:<9} {t['name']}  (instance {t['instance_id']}"
            + (f", assignee {t['assignee']}" if t["assignee"] else "") + ")" for t in rows) or "no tasks")

    _guard(as_json, run)


@main.command()
@click.argument("task_id", type=int)
@click.option("--as", "actor", required=True, help="Who completes the task.")
@click.option("--data", help="Form data as a JSON object.")
@json_option
@click.pass_obj
def complete(obj: _Context, task_id: int, actor: str, data: str | None, as_json: bool) -> None:
    """Complete a human task."""

    def run() -> None:
        result = obj.huhua.execute(CompleteTask(task_id=task_id, actor=actor, data=_json_object(data, "--data")))
        _emit(as_json, result, lambda r: f"task {r['task_id']} completed"
              + (f"; instance {r['instance']['id']} {r['instance']['state']}" if r.get("instance") else ""))

    _guard(as_json, run)


@main.command()
@click.argument("instance_id", type=int)
@click.argument("action", type=click.Choice(["suspend", "resume", "terminate"]))
@click.option("--reason", help="Why, for the history.")
@click.option("--as", "actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def control(obj: _Context, instance_id: int, action: str, reason: str | None, actor: str, as_json: bool) -> None:
    """Suspend, resume or terminate an instance (terminate also ends the children its fan-outs started)."""
    from engine.commands import ResumeInstance, SuspendInstance, TerminateInstance

    command = {"suspend": SuspendInstance(instance_id, actor, reason), "resume": ResumeInstance(instance_id, actor),
               "terminate": TerminateInstance(instance_id, actor, reason)}[action]
    _guard(as_json, lambda: _emit(as_json, obj.huhua.execute(command),
                                  lambda r: f"instance {instance_id}: {r['state']}"))


@main.command()
@click.argument("instance_id", type=int)
@click.option("--vars", "variables", help="Corrected data for the failed step, as a JSON object.")
@click.option("--as", "actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def retry(obj: _Context, instance_id: int, variables: str | None, actor: str, as_json: bool) -> None:
    """Retry an instance's incidents: its failed step runs again, its failed jobs are due again."""
    from engine.commands import RetryIncidents

    def run() -> None:
        result = obj.huhua.execute(RetryIncidents(instance_id, actor, _json_object(variables, "--vars")))
        _emit(as_json, result, lambda r: f"instance {instance_id}: {r['instance']['state']}"
              + (f" ({r['instance']['incident']})" if r["instance"]["incident"] else ""))

    _guard(as_json, run)


@main.command()
@click.argument("task_id", type=int)
@click.option("--as", "actor", required=True, help="Who acts.")
@click.option("--give-back", is_flag=True, help="Give a claimed task back to its candidates instead.")
@json_option
@click.pass_obj
def claim(obj: _Context, task_id: int, actor: str, give_back: bool, as_json: bool) -> None:
    """Claim a task one is a candidate for (or give it back)."""
    from engine.commands import ClaimTask, UnclaimTask

    command = UnclaimTask(task_id, actor) if give_back else ClaimTask(task_id, actor)
    _guard(as_json, lambda: _emit(as_json, obj.huhua.execute(command),
                                  lambda r: f"task {r['task_id']}: {r['assignee'] or 'back with its candidates'}"))


@main.command()
@click.argument("task_id", type=int)
@click.option("--as", "actor", required=True, help="Who acts: the assignee to delegate, an officer to reassign.")
@click.option("--to", "to", help="The person who takes the task over (reassign without it: back to the candidates).")
@click.option("--reassign", is_flag=True, help="Reassign (administrator or the tier above) instead of delegating.")
@click.option("--reason", help="Why, for the history.")
@json_option
@click.pass_obj
def hand(obj: _Context, task_id: int, actor: str, to: str | None, reassign: bool, reason: str | None,
         as_json: bool) -> None:
    """Delegate one's task to a colleague, or reassign a task (--reassign)."""
    from engine.commands import DelegateTask, ReassignTask

    def run() -> None:
        if not reassign and not to:
            raise InvalidInput("say to whom with --to", [Problem("missing", field="to")])
        command = ReassignTask(task_id, actor, to, reason) if reassign else DelegateTask(task_id, actor, to or "",
                                                                                        reason)
        _emit(as_json, obj.huhua.execute(command),
              lambda r: f"task {r['task_id']}: {r['previous'] or '—'} → {r['assignee'] or 'its candidates'}")

    _guard(as_json, run)


@main.command()
@click.argument("instance_id", type=int)
@json_option
@click.pass_obj
def instance(obj: _Context, instance_id: int, as_json: bool) -> None:
    """Show an instance: state, data, open tasks and history."""

    def human(r: dict[str, Any]) -> str:
        lines = [f"instance {r['id']} of {r['process_key']} v{r['definition']['version']}: {r['state']}",
                 f"data: {json.dumps(r['data'], ensure_ascii=False)}", "open tasks:"]
        lines += [f"  {t['id']} {t['name']}" for t in r["open_tasks"]] or ["  (none)"]
        lines += [f"incident: {i['element_id']}: {i['message']}" for i in r["incidents"]]
        lines.append("history:")
        lines += [f"  {e['at']} {e['kind']} {e['element_id'] or ''} {e['actor'] or ''}".rstrip() for e in r["history"]]
        return "\n".join(lines)

    _guard(as_json, lambda: _emit(as_json, obj.huhua.queries.instance(instance_id), human))


@main.command()
@click.argument("name")
@click.option("--key", "correlation_key", help="Correlation key (the waiting instance's business key).")
@click.option("--vars", "variables", help="Message payload as a JSON object.")
@click.option("--all", "deliver_to_all", is_flag=True, help="Deliver to every waiting instance that matches.")
@click.option("--as", "actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def message(obj: _Context, name: str, correlation_key: str | None, variables: str | None, deliver_to_all: bool,
            actor: str, as_json: bool) -> None:
    """Correlate a message to the instance(s) waiting for it."""

    def run() -> None:
        result = obj.huhua.execute(CorrelateMessage(message_name=name, actor=actor, correlation_key=correlation_key,
                                                    variables=_json_object(variables, "--vars"),
                                                    deliver_to_all=deliver_to_all))
        _emit(as_json, result, lambda r: "delivered to " + ", ".join(
            f"instance {i['id']} ({i['state']})" for i in r["delivered_to"]))

    _guard(as_json, run)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@json_option
@click.pass_obj
def serve(obj: _Context, host: str, port: int, threads: int, as_json: bool) -> None:
    """Serve the HTTP API, with shipped processes deployed and the timer runner in process."""
    import waitress

    from engine.web import create_app
    from workers.timer_runner import TimerRunner

    huhua = obj.huhua
    try:
        shipped = huhua.execute(DeployShippedProcesses(str(huhua.settings.processes_dir)))
    except HuhuaError as err:
        _fail(err, as_json)
        return
    runner = TimerRunner(huhua)
    runner.start()
    scheduler = _scheduler_thread(huhua, as_json)
    scheduler.start()
    url = f"http://{host}:{port}/"
    accounts = [{"user": "admin", "name": "管理员", "roles": "管理员"}] + [
        {"user": p["id"], "name": p["name"], "roles": ", ".join(f"{r['role_name']}@{r['unit']}" for r in p["roles"])}
        for p in sorted(huhua.queries.users(ids=list(DEMO_ACCOUNTS)), key=lambda p: DEMO_ACCOUNTS.index(p["id"]))]
    info = {"url": url, "api": url + "api/v1", "database": _redact(huhua.settings.database_url),
            "deployed": shipped["processes"], "accounts": accounts}
    _emit(as_json, info, lambda i: "\n".join([
        "心育护花 Huhua is running",
        f"  API:      {i['api']}  (log in, or send 'Authorization: Bearer <token>': huhua accounts token)",
        f"  health:   {i['api']}/health",
        f"  database: {i['database']}",
        f"  deployed: {len(i['deployed'])} process(es) changed since last start",
        f"  log in:   {url}login   (demo accounts below; password {DEMO_PASSWORD} unless changed)",
        *(f"    {a['user']:<18} {a['name']:<5} {a['roles']}" for a in i["accounts"]),
    ]))
    try:
        waitress.serve(create_app(huhua), host=host, port=port, threads=threads, ident="huhua")
    finally:
        scheduler.stop()
        runner.stop()
        huhua.close()


def _scheduler_thread(huhua: Huhua, as_json: bool) -> Any:
    from engine.schedules import load_schedules
    from workers.scheduler import SchedulerThread

    try:
        schedules = load_schedules(huhua.settings.schedules_file)
    except HuhuaError as err:
        _fail(err, as_json)
    return SchedulerThread(huhua, schedules)


@main.command()
@click.option("--interval", default=30.0, show_default=True, type=click.FloatRange(1, 3600),
              help="Seconds between looks at the schedules.")
@click.pass_obj
def scheduler(obj: _Context, interval: float) -> None:
    """Fire scheduled starts (config/schedules.toml, timer start events); one per deployment: a second one waits."""
    import signal

    thread = _scheduler_thread(obj.huhua, False)
    thread.interval = interval
    signal.signal(signal.SIGTERM, lambda *_: thread.stopping.set())
    click.echo(f"scheduler running with {len(thread.runner.all_schedules())} schedule(s); Ctrl-C to stop", err=True)
    try:
        thread.run()
    except KeyboardInterrupt:
        thread.stopping.set()


@main.command()
@json_option
@click.pass_obj
def schedules(obj: _Context, as_json: bool) -> None:
    """List the schedules (configured and from timer start events), with when each fires next."""
    from datetime import timedelta

    from engine.clock import BUSINESS_TZ

    def run() -> None:
        huhua = obj.huhua
        runner = _scheduler_thread(huhua, as_json).runner
        now = huhua.clock.now()
        calendar = huhua.queries.calendar.working_calendar()
        rows = []
        for schedule in runner.all_schedules():
            upcoming = next(schedule.occurrences(now, now + timedelta(days=400), calendar.first_working_day_of_month),
                            None)
            checked = huhua.queries.schedule_checked_until(schedule.key)
            rows.append({"key": schedule.key, "process": schedule.process_key,
                         "when": schedule.cron or schedule.rule or ":".join(schedule.timer or ()),
                         "for_each": schedule.for_each,
                         "next": upcoming.astimezone(BUSINESS_TZ).isoformat() if upcoming else None,
                         "checked_until": checked.astimezone(BUSINESS_TZ).isoformat() if checked else None})
        _emit(as_json, rows, lambda rs: "\n".join(
            f"{r['key']:<32} {r['process']:<24} {r['when']:<28} next {r['next'] or '—'}"
            + (f"  (each {r['for_each']})" if r["for_each"] else "") for r in rs) or "no schedules")

    _guard(as_json, run)


@main.command()
@json_option
@click.pass_obj
def clock(obj: _Context, as_json: bool) -> None:
    """Show the engine clock: the time it reads, in UTC and Beijing time, and whether it is virtual."""
    from engine.clock import BUSINESS_TZ

    now = obj.huhua.clock.now()
    local = now.astimezone(BUSINESS_TZ)
    info = {"now": now.isoformat(), "beijing": local.isoformat(), "virtual": obj.huhua.clock.virtual,
            "working_day": obj.huhua.queries.is_working_day(local.date().isoformat())}
    _emit(as_json, info, lambda i: f"{i['beijing']} (Beijing time, {i['now']} UTC)"
          + ("  [virtual clock: HUHUA_VIRTUAL_CLOCK]" if i["virtual"] else "")
          + f"; {'a working day' if i['working_day']['working'] else 'not a working day'}")


@main.command()
@click.option("--name", help="How this worker signs its leases (default: host:pid).")
@click.option("--batch", default=20, show_default=True, type=click.IntRange(1, 1000), help="Jobs claimed at a time.")
@click.option("--lease", "lease_seconds", default=60, show_default=True, type=click.IntRange(1, 3600),
              help="Seconds a claimed job stays this worker's before others may take it.")
@click.option("--poll", default=1.0, show_default=True, type=click.FloatRange(0.05, 60), help="Seconds between polls.")
@click.pass_obj
def worker(obj: _Context, name: str | None, batch: int, lease_seconds: int, poll: float) -> None:
    """Run due jobs until SIGTERM or Ctrl-C; several workers may run at once on PostgreSQL."""
    from workers.job_worker import JobWorker

    job_worker = JobWorker(obj.huhua, name, batch=batch, lease_seconds=lease_seconds)
    job_worker.stop_on_signals()
    click.echo(f"worker {job_worker.name} running (Ctrl-C or SIGTERM to stop after the current job)", err=True)
    job_worker.run_forever(poll)


@main.command()
@click.option("--due", is_flag=True, help="Only jobs due now.")
@click.option("--failed", is_flag=True, help="Only jobs whose retries ran out.")
@click.option("--limit", default=100, show_default=True)
@json_option
@click.pass_obj
def jobs(obj: _Context, due: bool, failed: bool, limit: int, as_json: bool) -> None:
    """List background jobs (timers, scheduled starts, service calls, continuations, webhook deliveries)."""

    def run() -> None:
        rows = obj.huhua.queries.jobs(state="failed" if failed else "pending" if due else None,
                                      due_before=obj.huhua.clock.now() if due else None, limit=limit)
        _emit(as_json, rows, lambda rs: "\n".join(
            f"{j['id']:>6}  {j['state']:<9} {j['kind']:<15} due {j['due_at']}  instance {j['instance_id']} "
            f"{j['element_id'] or ''}" + (f"  ({j['attempts']} attempts: {j['last_error']})" if j["last_error"] else "")
            for j in rs) or "no jobs")

    _guard(as_json, run)


@main.group("org")
def org_group() -> None:
    """The org directory: units, people and the roles they hold."""


@org_group.command("load")
@click.argument("sources", nargs=-1, required=True)
@click.option("--actor", default="admin", show_default=True)
@click.option("--if-empty", is_flag=True, help="Only when no directory is loaded yet (keeps an edited one).")
@json_option
@click.pass_obj
def org_load(obj: _Context, sources: tuple[str, ...], actor: str, if_empty: bool, as_json: bool) -> None:
    """Load the directory: a profile (demo, full), a workbook (.xlsx: 单位 and 人员 sheets) or CSV files.

    Every bad row is reported (file, row, column, reason) and nothing changes unless all rows are good.
    A CSV file of units (or of people) replaces that part and keeps the other.
    """
    from engine.commands.model import LoadDirectory
    from engine.org import spreadsheets
    from engine.org.profiles import PROFILES, generate

    source = " ".join(sources)

    def run() -> None:
        if if_empty and obj.huhua.queries.units(limit=1):
            _emit(as_json, {"source": source, "skipped": "a directory is already loaded"},
                  lambda r: "a directory is already loaded; left as it is")
            return
        if len(sources) == 1 and sources[0] in PROFILES:
            directory = generate(sources[0])
        else:
            units = people = None
            for path in map(Path, sources):
                if not path.is_file() or path.suffix.lower() not in (".xlsx", ".csv"):
                    raise InvalidInput(f"'{path}' is neither a profile ({', '.join(PROFILES)}) nor an .xlsx or "
                                       ".csv file", [Problem("unknown source", file=str(path))])
                read = spreadsheets.read_workbook if path.suffix.lower() == ".xlsx" else spreadsheets.read_csv
                found_units, found_people = read(path.name, path.read_bytes())
                units, people = found_units or units, found_people or people
            directory = spreadsheets.build(units, people, obj.huhua.queries.directory())
        result = obj.huhua.execute(LoadDirectory(directory, actor, source=source))
        _emit(as_json, result, lambda r: f"loaded {r['source']}: {r['units']} units, {r['people']} people, "
              f"{r['roles']} roles")

    _guard(as_json, run)


@org_group.command("export")
@click.argument("target", type=click.Path(dir_okay=False))
@json_option
@click.pass_obj
def org_export(obj: _Context, target: str, as_json: bool) -> None:
    """Write the directory as a workbook (.xlsx: 单位 and 人员 sheets), or as two CSV files (NAME-单位.csv and
    NAME-人员.csv for NAME.csv), that org load reads back."""
    from engine.org import spreadsheets

    def run() -> None:
        path = Path(target)
        if path.suffix.lower() not in (".xlsx", ".csv"):
            raise InvalidInput("give a file name ending in .xlsx (a workbook) or .csv (two CSV files)",
                               [Problem("neither .xlsx nor .csv", file=target)])
        directory = obj.huhua.queries.directory()
        if path.suffix.lower() == ".xlsx":
            path.write_bytes(spreadsheets.export_workbook(directory))
            written = [str(path)]
        else:
            units, people = spreadsheets.export_csv(directory)
            written = [str(path.with_name(f"{path.stem}-单位.csv")), str(path.with_name(f"{path.stem}-人员.csv"))]
            Path(written[0]).write_bytes(units)
            Path(written[1]).write_bytes(people)
        counts = {"files": written, "units": len(directory.units), "people": len(directory.people),
                  "roles": len(directory.roles)}
        _emit(as_json, counts, lambda c: f"wrote {', '.join(c['files'])}: {c['units']} units, {c['people']} people")

    _guard(as_json, run)


@main.command()
@click.option("--unit", help="Only people holding a role at this unit.")
@click.option("--under", help="Only people holding a role at this unit or below it.")
@click.option("--role", help="Only holders of this role (code or Chinese name).")
@click.option("--limit", default=100, show_default=True)
@json_option
@click.pass_obj
def users(obj: _Context, unit: str | None, under: str | None, role: str | None, limit: int, as_json: bool) -> None:
    """List people of the org directory with their roles."""

    def run() -> None:
        rows = obj.huhua.queries.users(unit=unit, under=under, role=role, limit=limit)
        _emit(as_json, rows, lambda rs: "\n".join(
            f"{p['id']:<24} {p['name']:<6} " + ", ".join(f"{r['role_name']}@{r['unit']}" for r in p["roles"])
            for p in rs) or "nobody")

    _guard(as_json, run)


@main.group("webhooks")
def webhooks_group() -> None:
    """Outside systems subscribed to engine events (signed JSON POSTs, delivered by workers)."""


@webhooks_group.command("add")
@click.argument("url")
@click.option("--events", default="*", show_default=True, help="Event kinds, comma-separated (task_created,...).")
@click.option("--secret", help="Signing secret (default: a new random one, printed once).")
@click.option("--actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def webhooks_add(obj: _Context, url: str, events: str, secret: str | None, actor: str, as_json: bool) -> None:
    """Subscribe URL to engine events."""
    from engine.commands import AddWebhook

    def run() -> None:
        created = obj.huhua.execute(AddWebhook(url, actor, events, secret))
        _emit(as_json, created, lambda w: f"webhook {w['id']} → {w['url']} ({w['events']}); "
              f"signing secret: {w['secret']}")

    _guard(as_json, run)


@webhooks_group.command("list")
@json_option
@click.pass_obj
def webhooks_list(obj: _Context, as_json: bool) -> None:
    """List active subscriptions."""
    _guard(as_json, lambda: _emit(as_json, obj.huhua.queries.webhooks(), lambda rows: "\n".join(
        f"{w['id']:>4}  {w['url']}  ({w['events']})" for w in rows) or "no webhooks"))


@webhooks_group.command("remove")
@click.argument("subscription_id", type=int)
@click.option("--actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def webhooks_remove(obj: _Context, subscription_id: int, actor: str, as_json: bool) -> None:
    """Stop delivering to a subscription (deliveries already queued are dropped)."""
    from engine.commands import RemoveWebhook

    _guard(as_json, lambda: _emit(as_json, obj.huhua.execute(RemoveWebhook(subscription_id, actor)),
                                  lambda r: f"webhook {r['id']} removed"))


@main.command("coverage")
@click.argument("instance_id", type=int)
@click.option("--missing", "missing_only", is_flag=True, help="List only what is not done yet.")
@json_option
@click.pass_obj
def coverage_command(obj: _Context, instance_id: int, missing_only: bool, as_json: bool) -> None:
    """不漏一校、不漏一人: per county, school and person, who has and has not completed a rollout."""

    def run() -> None:
        result = obj.huhua.queries.coverage(instance_id, obj.huhua.clock.now(), missing_only=missing_only)
        _emit(as_json, result, _coverage_text)

    _guard(as_json, run)


def _coverage_text(c: dict[str, Any]) -> str:
    lines = [f"instance {c['instance_id']} ({c['process_key']}): {c['percent']}% as of {c['as_of']}",
             f"  units  {c['units']['completed']}/{c['units']['total']} completed",
             f"  people {c['people']['completed']}/{c['people']['total']} completed"]
    if c["missing_units"]:
        lines.append("  units not done:  " + ", ".join(c["missing_units"][:50])
                     + (" …" if len(c["missing_units"]) > 50 else ""))
    if c["missing_people"]:
        lines.append("  people not done: " + ", ".join(f"{p['name']}({p['id']})" for p in c["missing_people"][:50])
                     + (" …" if len(c["missing_people"]) > 50 else ""))
    return "\n".join(lines)


@main.command("documents")
@click.argument("instance_id", type=int)
@click.option("--save", "directory", type=click.Path(file_okay=False), help="Write the files into this directory.")
@json_option
@click.pass_obj
def documents_command(obj: _Context, instance_id: int, directory: str | None, as_json: bool) -> None:
    """List (and save) the documents an instance generated: circulars, assessments, certificates."""

    def run() -> None:
        listed = obj.huhua.queries.documents(instance_id)
        if directory:
            target = Path(directory)
            target.mkdir(parents=True, exist_ok=True)
            for entry in listed:
                name, _type, content = obj.huhua.queries.document(entry["id"])
                (target / f"{entry['id']}-{Path(name).name}").write_bytes(content)
        _emit(as_json, listed, lambda rows: "\n".join(
            f"{d['id']:>5}  {d['name']}  ({d['size']} bytes)" for d in rows) or "no documents")

    _guard(as_json, run)


@main.group("accounts")
def accounts_group() -> None:
    """Log-in accounts (hashed passwords) and API tokens for programs."""


@accounts_group.command("password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="The new password.")
@click.option("--admin", "is_admin", is_flag=True, help="May act on every task and administer the engine.")
@click.option("--actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def accounts_password(obj: _Context, username: str, password: str, is_admin: bool, actor: str, as_json: bool) -> None:
    """Create USERNAME's account (a person of the directory, or admin) or set a new password."""
    from engine.commands import SetPassword

    _guard(as_json, lambda: _emit(as_json, obj.huhua.execute(SetPassword(username, password, actor, is_admin)),
                                  lambda r: f"password set for {r['username']}"))


@accounts_group.command("demo")
@click.option("--if-empty", is_flag=True, help="Only when no account exists yet.")
@json_option
@click.pass_obj
def accounts_demo(obj: _Context, if_empty: bool, as_json: bool) -> None:
    """Give the administrator and one demo person per role an account with the demo password."""
    from engine.commands import SetPassword

    def run() -> None:
        if if_empty and obj.huhua.queries.account("admin") is not None:
            _emit(as_json, {"skipped": "accounts exist"}, lambda r: "accounts exist; left as they are")
            return
        present = {p["id"] for p in obj.huhua.queries.users(ids=list(DEMO_ACCOUNTS))}
        made = [obj.huhua.execute(SetPassword(name, DEMO_PASSWORD, "admin"))["username"]
                for name in ("admin", *DEMO_ACCOUNTS) if name == "admin" or name in present]
        _emit(as_json, {"accounts": made, "password": DEMO_PASSWORD},
              lambda r: f"{len(r['accounts'])} demo accounts, password {r['password']}")

    _guard(as_json, run)


@accounts_group.command("token")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for (shown in lists, not the token itself).")
@click.option("--actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def accounts_token(obj: _Context, username: str, name: str, actor: str, as_json: bool) -> None:
    """Make an API token for a program acting as USERNAME; it is printed once and stored only hashed."""
    from engine.commands import CreateApiToken

    _guard(as_json, lambda: _emit(as_json, obj.huhua.execute(CreateApiToken(username, name, actor)),
                                  lambda r: f"token {r['id']} for {r['username']}: {r['token']}"))


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
def calendar_after(obj: _Context, day: str, n: str, as_json: bool) -> None:
    """Print the date N working days after DATE (YYYY-MM-DD); N = 0 gives DATE or the next working day."""

    def run() -> None:
        result = obj.huhua.queries.working_days_after(day, n)
        _warn(result["warnings"], as_json)
        _emit(as_json, result, lambda r: r["date"])

    _guard(as_json, run)


@calendar_group.command("set")
@click.argument("day", metavar="DATE")
@click.argument("kind", metavar="workday|holiday")
@click.option("--note", help="Why; shown by `huhua calendar show`.")
@click.option("--as", "actor", default="admin", show_default=True, help="Who decides.")
@json_option
@click.pass_obj
def calendar_set(obj: _Context, day: str, kind: str, note: str | None, actor: str, as_json: bool) -> None:
    """Make DATE a working day or a holiday, whatever the official calendar says."""

    def run() -> None:
        if kind not in _DAY_KINDS:
            raise InvalidInput(f"the day's kind must be workday or holiday, not {kind!r}",
                               [Problem("expected workday or holiday", field="kind")])
        result = obj.huhua.execute(SetWorkday(day=day, working=_DAY_KINDS[kind], actor=actor, note=note))
        _emit(as_json, result, lambda r: f"{r['date']} is now a {_kind(r['working'])}"
              + (f" (official calendar: {_kind(r['official_working'])})" if r["official_working"] is not None
                 else " (its year is not in the official calendar)"))

    _guard(as_json, run)


@calendar_group.command("clear")
@click.argument("day", metavar="DATE")
@click.option("--as", "actor", default="admin", show_default=True, help="Who decides.")
@json_option
@click.pass_obj
def calendar_clear(obj: _Context, day: str, actor: str, as_json: bool) -> None:
    """Remove the override of DATE, so the official calendar decides again."""

    def run() -> None:
        result = obj.huhua.execute(ClearWorkday(day=day, actor=actor))
        _emit(as_json, result, lambda r: f"{r['date']}: override removed; it is a {_kind(r['working'])} "
              + ("(official calendar)" if r["official_working"] is not None else "(Monday to Friday)"))

    _guard(as_json, run)


@calendar_group.command("show")
@click.argument("year", metavar="YEAR")
@json_option
@click.pass_obj
def calendar_show(obj: _Context, year: str, as_json: bool) -> None:
    """List YEAR's holidays, adjusted working days and overrides, and what the year rests on."""

    def human(r: dict[str, Any]) -> str:
        heads = {
            "official": f"{r['year']}: official calendar ({r['official_source']})",
            "entered": f"{r['year']}: not in {r['official_source']}; {r['overrides']} day(s) entered by "
                       "administrators, Monday to Friday otherwise",
            "weekdays": f"{r['year']}: not in {r['official_source']} and nothing entered: Monday to Friday (a guess)",
        }
        lines = [heads[r["basis"]]]
        for d in r["days"]:
            text = d["name"] or ""
            if d["override"]:
                o = d["override"]
                text = f"override by {o['set_by']}" + (f": {o['note']}" if o["note"] else "")
                if d["official_working"] is not None and d["official_working"] != d["working"]:
                    text += f" (official: {_kind(d['official_working'])}, {d['name']})"
            lines.append(f"{d['date']} {d['weekday']}  {_kind(d['working']):<7}  {text}")
        return "\n".join(lines if r["days"] else [*lines, "(no holidays or adjusted days)"])

    def run() -> None:
        result = obj.huhua.queries.calendar_year(year)
        _warn(result["warnings"], as_json)
        _emit(as_json, result, human)

    _guard(as_json, run)


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


if __name__ == "__main__":
    main()
