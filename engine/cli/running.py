"""Verbs that run the engine and look at its machinery: db, serve, worker, scheduler, clock, jobs, webhooks
(the schedules themselves: :mod:`engine.cli.schedule_commands`)."""

from __future__ import annotations

from typing import Any

import click

from engine.bootstrap import Huhua
from engine.cli.base import (
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    Context,
    emit,
    fail,
    guard,
    json_option,
    main,
    redact,
)
from engine.commands import DeployShippedProcesses
from engine.config import load_settings
from engine.errors import HuhuaError


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
    emit(as_json, {"database": redact(settings.database_url), "revision": revision},
          lambda d: f"schema at revision {d['revision']} ({d['database']})")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--demo", is_flag=True, help="To try Huhua: on the first start, load the demo org directory and give "
              "the administrator and demo people accounts with the demo password (an existing directory or accounts "
              "stay as they are).")
@json_option
@click.pass_obj
def serve(obj: Context, host: str, port: int, threads: int, demo: bool, as_json: bool) -> None:
    """Serve the web app and the HTTP API, with shipped processes deployed and the timer runner in process."""
    import waitress

    from engine.web import create_app
    from workers.timer_runner import TimerRunner

    huhua = obj.huhua
    try:
        shipped = huhua.execute(DeployShippedProcesses(str(huhua.settings.processes_dir)))
        if demo:
            _first_start_demo(huhua)
    except HuhuaError as err:
        fail(err, as_json)
        return
    runner = TimerRunner(huhua)
    runner.start()
    scheduler = _scheduler_thread(huhua, as_json)
    scheduler.start()
    url = f"http://{host}:{port}/"
    people = sorted(huhua.queries.users(ids=list(DEMO_ACCOUNTS)), key=lambda p: DEMO_ACCOUNTS.index(p["id"]))
    accounts = [{"user": "admin", "name": "管理员", "roles": "管理员"}] + [
        {"user": p["id"], "name": p["name"], "roles": ", ".join(f"{r['role_name']}@{r['unit']}" for r in p["roles"])}
        for p in people]
    accounts = [a for a in accounts if huhua.queries.account(a["user"]) is not None]
    info = {"url": url, "api": url + "api/v1", "database": redact(huhua.settings.database_url),
            "data": str(huhua.settings.data_dir), "deployed": shipped["processes"], "accounts": accounts}
    emit(as_json, info, lambda i: "\n".join([
        "心育护花 Huhua is running",
        f"  open:     {url}",
        f"  API:      {i['api']}  (log in, or send 'Authorization: Bearer <token>': huhua accounts token)",
        f"  health:   {i['api']}/health",
        f"  database: {i['database']}",
        f"  data:     {i['data']}",
        f"  deployed: {len(i['deployed'])} process(es) changed since last start",
        *(_account_lines(url, i["accounts"])),
    ]))
    try:
        waitress.serve(create_app(huhua), host=host, port=port, threads=threads, ident="huhua")
    finally:
        scheduler.stop()
        runner.stop()
        huhua.close()


def _first_start_demo(huhua: Huhua) -> None:
    """``serve --demo``: the demo org directory and accounts, unless a directory or accounts are there already."""
    from engine.cli.directory import make_demo_accounts
    from engine.commands import LoadDirectory
    from engine.org.profiles import generate

    if not huhua.queries.units(limit=1):
        huhua.execute(LoadDirectory(generate("demo"), "admin", source="demo"))
    if huhua.queries.account("admin") is None:
        make_demo_accounts(huhua)


def _account_lines(url: str, accounts: list[dict[str, str]]) -> list[str]:
    if not accounts:
        return ["  log in:   nobody can yet: create the administrator's account with "
                "`huhua accounts password admin --admin`,",
                "            or try the demo (org directory and accounts): `huhua serve --demo`"]
    return [f"  log in:   {url}login   (demo accounts below; password {DEMO_PASSWORD} unless changed)"
            if len(accounts) > 1 else f"  log in:   {url}login",
            *(f"    {a['user']:<18} {a['name']:<5} {a['roles']}" for a in accounts)]


def _scheduler_thread(huhua: Huhua, as_json: bool) -> Any:
    """The scheduler, after loading the shipped schedules that changed (an administrator's edits stay)."""
    from engine.commands import LoadShippedSchedules
    from workers.scheduler import SchedulerThread

    try:
        huhua.execute(LoadShippedSchedules(str(huhua.settings.schedules_file)))
    except HuhuaError as err:
        fail(err, as_json)
    _plan_notification_sweep(huhua)
    return SchedulerThread(huhua)


def _stopped_by_signals() -> Any:
    """An event SIGTERM and SIGINT set (main thread only): the work under way finishes, then the process stops."""
    import signal
    import threading

    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    return stopping


def _plan_notification_sweep(huhua: Huhua) -> None:
    """Make sure the working morning's reminders and digests are planned (one sweep waits, however many start)."""
    from engine.commands import PlanNotificationSweep

    huhua.execute(PlanNotificationSweep())


@main.command()
@click.option("--interval", default=30.0, show_default=True, type=click.FloatRange(1, 3600),
              help="Seconds between looks at the schedules.")
@click.pass_obj
def scheduler(obj: Context, interval: float) -> None:
    """Fire scheduled starts (the schedules in force, timer start events); one per deployment: a second one waits
    as a standby and takes over when the first stops."""
    stopping = _stopped_by_signals()  # the tick under way finishes, then the lock is released
    thread = obj.once_reachable(lambda huhua: _scheduler_thread(huhua, False), stopping)
    if thread is None:
        return
    thread.interval = interval
    thread.stopping = stopping
    click.echo(f"scheduler running with {len(thread.runner.all_schedules())} schedule(s); Ctrl-C or SIGTERM to stop "
               "(a second scheduler waits as a standby)", err=True)
    thread.run()


@main.command()
@json_option
@click.pass_obj
def clock(obj: Context, as_json: bool) -> None:
    """Show the engine clock: the time it reads, in UTC and Beijing time, and whether it is virtual."""
    from engine.clock import BUSINESS_TZ

    now = obj.huhua.clock.now()
    local = now.astimezone(BUSINESS_TZ)
    info = {"now": now.isoformat(), "beijing": local.isoformat(), "virtual": obj.huhua.clock.virtual,
            "working_day": obj.huhua.queries.is_working_day(local.date().isoformat())}
    emit(as_json, info, lambda i: f"{i['beijing']} (Beijing time, {i['now']} UTC)"
          + ("  [virtual clock: HUHUA_VIRTUAL_CLOCK]" if i["virtual"] else "")
          + f"; {'a working day' if i['working_day']['working'] else 'not a working day'}")


@main.command()
@click.option("--name", help="How this worker signs its leases (default: host:pid).")
@click.option("--batch", default=20, show_default=True, type=click.IntRange(1, 1000), help="Jobs claimed at a time.")
@click.option("--lease", "lease_seconds", default=60, show_default=True, type=click.IntRange(1, 3600),
              help="Seconds a claimed job stays this worker's before others may take it.")
@click.option("--poll", default=1.0, show_default=True, type=click.FloatRange(0.05, 60), help="Seconds between polls.")
@click.pass_obj
def worker(obj: Context, name: str | None, batch: int, lease_seconds: int, poll: float) -> None:
    """Run due jobs until SIGTERM or Ctrl-C; several workers may run at once on PostgreSQL."""
    from workers.job_worker import JobWorker

    def started(huhua: Huhua) -> JobWorker:
        _plan_notification_sweep(huhua)
        return JobWorker(huhua, name, batch=batch, lease_seconds=lease_seconds, stopping=stopping)

    stopping = _stopped_by_signals()
    job_worker = obj.once_reachable(started, stopping)
    if job_worker is None:
        return
    click.echo(f"worker {job_worker.name} running (Ctrl-C or SIGTERM to stop after the current job)", err=True)
    job_worker.run_forever(poll)


@main.command()
@click.option("--due", is_flag=True, help="Only jobs due now.")
@click.option("--failed", is_flag=True, help="Only jobs whose retries ran out.")
@click.option("--limit", default=100, show_default=True)
@json_option
@click.pass_obj
def jobs(obj: Context, due: bool, failed: bool, limit: int, as_json: bool) -> None:
    """List background jobs (timers, scheduled starts, service calls, continuations, webhook deliveries)."""

    def run() -> None:
        rows = obj.huhua.queries.jobs(state="failed" if failed else "pending" if due else None,
                                      due_before=obj.huhua.clock.now() if due else None, limit=limit)
        emit(as_json, rows, lambda rs: "\n".join(
            f"{j['id']:>6}  {j['state']:<9} {j['kind']:<15} due {j['due_at']}  instance {j['instance_id']} "
            f"{j['element_id'] or ''}" + (f"  ({j['attempts']} attempts: {j['last_error']})" if j["last_error"] else "")
            for j in rs) or "no jobs")

    guard(as_json, run)


@main.group("webhooks")
def webhooks_group() -> None:
    """Outside systems subscribed to engine events (JSON POSTs signed as Standard Webhooks, delivered by workers)."""


@webhooks_group.command("add")
@click.argument("url")
@click.option("--events", default="*", show_default=True, help="Event kinds, comma-separated (task_created,...).")
@click.option("--secret", help="Signing secret (default: a new random one, printed once).")
@click.option("--actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def webhooks_add(obj: Context, url: str, events: str, secret: str | None, actor: str, as_json: bool) -> None:
    """Subscribe URL to engine events."""
    from engine.commands import AddWebhook

    def run() -> None:
        created = obj.huhua.execute(AddWebhook(url, actor, events, secret))
        emit(as_json, created, lambda w: f"webhook {w['id']} → {w['url']} ({w['events']}); "
              f"signing secret: {w['secret']}")

    guard(as_json, run)


@webhooks_group.command("list")
@json_option
@click.pass_obj
def webhooks_list(obj: Context, as_json: bool) -> None:
    """List active subscriptions."""
    guard(as_json, lambda: emit(as_json, obj.huhua.queries.webhooks(), lambda rows: "\n".join(
        f"{w['id']:>4}  {w['url']}  ({w['events']})" for w in rows) or "no webhooks"))


@webhooks_group.command("remove")
@click.argument("subscription_id", type=int)
@click.option("--actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def webhooks_remove(obj: Context, subscription_id: int, actor: str, as_json: bool) -> None:
    """Stop delivering to a subscription (deliveries already queued are dropped)."""
    from engine.commands import RemoveWebhook

    guard(as_json, lambda: emit(as_json, obj.huhua.execute(RemoveWebhook(subscription_id, actor)),
                                  lambda r: f"webhook {r['id']} removed"))


@webhooks_group.command("rotate")
@click.argument("subscription_id", type=int)
@click.option("--secret", help="The new whsec_ secret (default: a new random one, printed once).")
@click.option("--grace-hours", default=24.0, show_default=True, type=float,
              help="Hours the old secret still signs deliveries, beside the new one.")
@click.option("--actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def webhooks_rotate(obj: Context, subscription_id: int, secret: str | None, grace_hours: float, actor: str,
                    as_json: bool) -> None:
    """Give a subscription a new signing secret; the old one keeps signing for the grace period."""
    from engine.commands import RotateWebhookSecret

    guard(as_json, lambda: emit(as_json, obj.huhua.execute(RotateWebhookSecret(subscription_id, actor, secret,
                                                                               grace_hours)),
                                  lambda r: f"webhook {r['id']}: new signing secret {r['secret']}"
                                  + (f"; the old one also signs until {r['previous_secret_valid_until']}"
                                     if r["previous_secret_valid_until"] else "; the old one no longer signs")))


@main.command()
@click.argument("instance_id", type=int)
@click.option("--to", "target_definition_id", required=True, type=int,
              help="Id of the process definition (a newer version of the instance's process) to move to.")
@click.option("--dry-run", is_flag=True, help="Only report whether the instance could move; change nothing.")
@click.option("--as", "actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def migrate(obj: Context, instance_id: int, target_definition_id: int, dry_run: bool, actor: str,
            as_json: bool) -> None:
    """Move a running instance to a newer version of its process (same element ids); a dry run that finds
    incompatible elements exits with status 1."""
    from engine.commands import MigrateInstance

    def run() -> None:
        report = obj.huhua.execute(MigrateInstance(instance_id, target_definition_id, actor, dry_run))
        emit(as_json, report, _migration_text)
        if not report["compatible"]:
            raise SystemExit(1)

    guard(as_json, run)


def _migration_text(report: dict[str, Any]) -> str:
    head = (f"instance {report['instance_id']} ({report['process_key']}): version {report['from']['version']} → "
            f"{report['to']['version']}")
    lines = [head + (" — migrated" if report["migrated"] else " — compatible" if report["compatible"]
                     else " — NOT compatible")]
    lines.append(f"  at: {', '.join(report['at_elements']) or '—'}")
    lines += [f"  ✗ {p['element_id']}: {p['reason']}" for p in report["problems"]]
    if report["added_elements"]:
        lines.append(f"  new in version {report['to']['version']}: {', '.join(report['added_elements'])}")
    if report["removed_elements"]:
        lines.append(f"  gone in version {report['to']['version']}: {', '.join(report['removed_elements'])}")
    return "\n".join(lines)
