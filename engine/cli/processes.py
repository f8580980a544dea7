"""Verbs on models, instances and tasks: deploy, start, complete, claim, coverage, documents, ..."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from engine.access.identity import ADMIN
from engine.cli.base import (
    BAD_INPUT,
    Context,
    emit,
    guard,
    json_object,
    json_option,
    main,
    model_files,
)
from engine.clock import BUSINESS_TZ
from engine.commands import (
    CompleteTask,
    CorrelateMessage,
    DeployModels,
    RecordCaseRead,
    SetDocumentCode,
    StartInstance,
    ThrowSignal,
)
from engine.errors import HuhuaError, InvalidInput, Problem
from engine.model_folders import commands_for, deploy_each, holds_process_models
from engine.safe_markdown import plain_text
from engine.task_filters import DUES, SORTS, VIEWS, parse_filter


@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--as", "actor", default="admin", show_default=True, help="Who deploys.")
@json_option
@click.pass_obj
def deploy(obj: Context, paths: tuple[str, ...], actor: str, as_json: bool) -> None:
    """Deploy BPMN/DMN files (or every model in a directory) as one deployment.

    A spiff-arena process model folder (with process_model.json), or a group of them, is deployed model by model,
    each under its folder path; a refused model is named and the others still go in (exit code 2)."""

    def run() -> None:
        folders = [Path(p) for p in paths if holds_process_models(Path(p))]
        if folders:
            _refuse_mixed(paths, folders)
            _deploy_model_folders(obj, folders, actor, as_json)
            return
        result = obj.huhua.execute(DeployModels(files=model_files(paths), actor=actor, source="cli"))
        emit(as_json, result, lambda r: "\n".join(
            f"{p['key']}: version {p['version']}" + ("" if p["changed"] else " (unchanged)") + _group_lanes(p)
            for p in r["processes"]))

    guard(as_json, run)


def _deploy_model_folders(obj: Context, folders: list[Path], actor: str, as_json: bool) -> None:
    """Each process model below ``folders`` in its own deployment; the refused ones named, exit code 2 if any."""
    deployed, refused = [], []
    for folder in folders:
        for path, outcome in deploy_each(obj.huhua.execute, folder, actor, obj.huhua.services.settings.max_model_bytes):
            if isinstance(outcome, HuhuaError):
                refused.append({"path": path, **outcome.to_dict()})
                if not as_json:
                    click.echo(f"refused {path}: {outcome}", err=True)
            else:
                deployed.append({"path": path, **outcome})
    emit(as_json, {"models": deployed, "refused": refused}, lambda r: "\n".join(
        f"{m['path']} «{m['model']['display_name']}»: " + ", ".join(
            f"{p['key']} version {p['version']}" + ("" if p["changed"] else " (unchanged)") + _group_lanes(p)
            for p in m["processes"])
        for m in r["models"]) or "no model deployed")
    if refused:
        sys.exit(BAD_INPUT)


def _group_lanes(process: dict) -> str:
    """A note (not a warning) on lanes whose people only ``lane_owners`` gives (engine.commands.lane_people)."""
    lanes = process.get("group_lanes") or []
    return "".join(f"\n  lane '{lane}' is a group: its tasks go to the people lane_owners names for it when they "
                   "open" for lane in lanes)


@main.command("processes")
@click.option("--key", help="Only this process.")
@json_option
@click.pass_obj
def processes_command(obj: Context, key: str | None, as_json: bool) -> None:
    """List the deployed processes: each one's newest version, name, process model folder and description."""

    def run() -> None:
        newest: dict[str, dict[str, Any]] = {}
        for definition in obj.huhua.queries.definitions(key=key):
            newest[definition["key"]] = definition  # versions come oldest first
        emit(as_json, list(newest.values()), lambda rows: "\n".join(
            f"{d['key']}  v{d['version']}  {d['name']}" + (f"  [{d['model']}]" if d["model"] else "")
            + (f"\n    {d['description']}" if d["description"] else "") for d in rows) or "no processes")

    guard(as_json, run)


@main.command()
@click.argument("paths", nargs=-1, required=True)
@json_option
@click.pass_obj
def validate(obj: Context, paths: tuple[str, ...], as_json: bool) -> None:
    """Check BPMN/DMN files without deploying them.

    Process model folders (with process_model.json), or groups of them, are checked model by model as deploy would
    check them, against what is deployed (a process id another folder owns); a refused model is named and the
    others are still checked (exit code 2)."""

    def run() -> None:
        folders = [Path(p) for p in paths if holds_process_models(Path(p))]
        if folders:
            _refuse_mixed(paths, folders)
            _validate_model_folders(obj, folders, as_json)
            return
        result = obj.huhua.queries.validate_models(model_files(paths))
        emit(as_json, {"valid": True, "processes": result},
              lambda r: "valid: " + ", ".join(p["key"] for p in r["processes"]))

    guard(as_json, run)


def _refuse_mixed(paths: tuple[str, ...], folders: list[Path]) -> None:
    if len(folders) != len(paths):
        raise InvalidInput("give process model folders (with process_model.json) and other model files to "
                           "separate commands", [Problem("mixed", file=p) for p in paths
                                                 if not holds_process_models(Path(p))])


def _validate_model_folders(obj: Context, folders: list[Path], as_json: bool) -> None:
    """Each process model below ``folders`` checked on its own; the refused ones named, exit code 2 if any."""
    valid, refused = [], []
    for folder in folders:
        for path, command in commands_for(folder, "admin", obj.huhua.services.settings.max_model_bytes):
            try:
                if isinstance(command, HuhuaError):
                    raise command
                valid.append(obj.huhua.queries.validate_process_model(command))
            except HuhuaError as err:
                refused.append({"path": path, **err.to_dict()})
                if not as_json:
                    click.echo(f"refused {path}: {err}", err=True)
    emit(as_json, {"valid": not refused, "models": valid, "refused": refused}, lambda r: "\n".join(
        f"valid: {m['path']} «{m['display_name']}»: " + ", ".join(p["key"] for p in m["processes"])
        for m in r["models"]) or "no model is valid")
    if refused:
        sys.exit(BAD_INPUT)


@main.command()
@click.argument("key")
@click.option("--vars", "variables", help="Start variables as a JSON object.")
@click.option("--scope", help="Org unit the instance runs for.")
@click.option("--business-key", help="Your own identifier; also the default message correlation key.")
@click.option("--as", "actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def start(obj: Context, key: str, variables: str | None, scope: str | None, business_key: str | None,
          actor: str, as_json: bool) -> None:
    """Start an instance of the newest version of process KEY."""

    def run() -> None:
        result = obj.huhua.execute(StartInstance(process_key=key, actor=actor,
                                                 variables=json_object(variables, "--vars"),
                                                 org_scope=scope, business_key=business_key))
        emit(as_json, result, lambda r: f"instance {r['id']} {r['state']}"
              + (f": {r['incident']}" if r.get("incident") else ""))

    guard(as_json, run)


@main.command()
@click.option("--user", help="Only tasks this user may work on.")
@click.option("--instance", "instance_id", type=int, help="Only tasks of this instance.")
@click.option("--state", default="open", show_default=True,
              type=click.Choice(["open", "completed", "cancelled", "all"]))
@click.option("--view", type=click.Choice(VIEWS), help="With --user: open (default), mine, offered, done.")
@click.option("--process", help="Only tasks of this process key.")
@click.option("--unit", help="Only tasks scoped to this org unit.")
@click.option("--due", type=click.Choice(DUES), help="overdue, today, within (--within-days), none.")
@click.option("--within-days", type=int, help="Working days, for --due within.")
@click.option("--q", "words", help="Words in the task name.")
@click.option("--sort", type=click.Choice(SORTS), help="due (default), due_desc, newest.")
@click.option("--limit", default=50, show_default=True)
@click.option("--offset", default=0, show_default=True)
@click.option("--instructions", "with_instructions", is_flag=True,
              help="Show each task's instructions (instructionsForEndUser), rendered over its data.")
@json_option
@click.pass_obj
def tasks(obj: Context, user: str | None, instance_id: int | None, state: str, view: str | None,
          process: str | None, unit: str | None, due: str | None, within_days: int | None, words: str | None,
          sort: str | None, limit: int, offset: int, with_instructions: bool, as_json: bool) -> None:
    """List human tasks, with the inbox's filters."""

    def run() -> None:
        given = {"view": view, "process": process, "unit": unit, "due": due, "within_days": within_days,
                 "q": words, "sort": sort}
        filters = parse_filter({k: v for k, v in given.items() if v is not None})
        result = obj.huhua.queries.tasks(user=user, instance_id=instance_id, state=state, filters=filters,
                                         now=obj.huhua.clock.now(), limit=limit, offset=offset)
        if with_instructions:
            for row in result:
                row["instructions"] = obj.huhua.queries.task_instructions(row["id"], user or ADMIN)
        emit(as_json, result, lambda rows: "\n".join(
            f"{t['id']:>6}  {t['state']:<9} {t['name']}  (instance {t['instance_id']}"
            + (f", assignee {t['assignee']}" if t["assignee"] else "")
            + (f", due {t['due_at']}" if t["due_at"] else "") + ")" + _instructions_text(t.get("instructions"))
            for t in rows) or "no tasks")

    guard(as_json, run)


@main.command()
@click.argument("task_id", type=int)
@json_option
@click.pass_obj
def task(obj: Context, task_id: int, as_json: bool) -> None:
    """Show a human task: who has it, its form, and its instructions rendered over its data."""

    def human(t: dict[str, Any]) -> str:
        lines = [f"task {t['id']} {t['state']}: {t['title'] or t['name']}  (instance {t['instance_id']}, "
                 f"{t['process_key']} {t['element_id']})"]
        lines += [f"assignee: {t['assignee']}"] if t["assignee"] else []
        lines += [f"due: {t['due_at']}"] if t["due_at"] else []
        lines += [f"form: {t['form_key']}"] if t["form_key"] else []
        return "\n".join(lines) + _instructions_text(t.get("instructions"))

    def read() -> dict[str, Any]:
        instance_id = obj.huhua.queries.task_instance(task_id)
        level = obj.huhua.queries.case_access(ADMIN, instance_id)  # the command line is the administrator's
        if level is not None:
            obj.huhua.execute(RecordCaseRead(instance_id, ADMIN, "cli", "task", level))
        return obj.huhua.queries.task(task_id, viewer=ADMIN)

    guard(as_json, lambda: emit(as_json, read(), human))


def _instructions_text(instructions: dict[str, Any] | None) -> str:
    """A task's rendered instructions as indented plain text under its line ("" when it has none)."""
    if not instructions:
        return ""
    text = plain_text(instructions["markdown"]) if instructions["error"] is None else \
        f"(the instructions cannot be shown: {instructions['error']})"
    return "\n" + "\n".join(["  instructions:", *(f"    {line}" for line in text.splitlines())])


@main.command()
@click.argument("task_id", type=int)
@click.option("--as", "actor", required=True, help="Who completes the task.")
@click.option("--data", help="Form data as a JSON object.")
@json_option
@click.pass_obj
def complete(obj: Context, task_id: int, actor: str, data: str | None, as_json: bool) -> None:
    """Complete a human task."""

    def run() -> None:
        result = obj.huhua.execute(CompleteTask(task_id=task_id, actor=actor, data=json_object(data, "--data")))
        emit(as_json, result, lambda r: f"task {r['task_id']} completed"
              + (f"; instance {r['instance']['id']} {r['instance']['state']}" if r.get("instance") else ""))

    guard(as_json, run)


@main.command()
@click.argument("instance_id", type=int)
@click.argument("action", type=click.Choice(["suspend", "resume", "terminate"]))
@click.option("--reason", help="Why, for the history.")
@click.option("--as", "actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def control(obj: Context, instance_id: int, action: str, reason: str | None, actor: str, as_json: bool) -> None:
    """Suspend, resume or terminate an instance (terminate also ends the children its fan-outs started)."""
    from engine.commands import ResumeInstance, SuspendInstance, TerminateInstance

    command = {"suspend": SuspendInstance(instance_id, actor, reason), "resume": ResumeInstance(instance_id, actor),
               "terminate": TerminateInstance(instance_id, actor, reason)}[action]
    guard(as_json, lambda: emit(as_json, obj.huhua.execute(command),
                                  lambda r: f"instance {instance_id}: {r['state']}"))


@main.command()
@click.argument("instance_id", type=int)
@click.option("--vars", "variables", help="Corrected data for the failed step, as a JSON object.")
@click.option("--as", "actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def retry(obj: Context, instance_id: int, variables: str | None, actor: str, as_json: bool) -> None:
    """Retry an instance's incidents: its failed step runs again, its failed jobs are due again."""
    from engine.commands import RetryIncidents

    def run() -> None:
        result = obj.huhua.execute(RetryIncidents(instance_id, actor, json_object(variables, "--vars")))
        emit(as_json, result, lambda r: f"instance {instance_id}: {r['instance']['state']}"
              + (f" ({r['instance']['incident']})" if r["instance"]["incident"] else ""))

    guard(as_json, run)


@main.command()
@click.argument("task_id", type=int)
@click.option("--as", "actor", required=True, help="Who acts.")
@click.option("--give-back", is_flag=True, help="Give a claimed task back to its candidates instead.")
@json_option
@click.pass_obj
def claim(obj: Context, task_id: int, actor: str, give_back: bool, as_json: bool) -> None:
    """Claim a task one is a candidate for (or give it back)."""
    from engine.commands import ClaimTask, UnclaimTask

    command = UnclaimTask(task_id, actor) if give_back else ClaimTask(task_id, actor)
    guard(as_json, lambda: emit(as_json, obj.huhua.execute(command),
                                  lambda r: f"task {r['task_id']}: {r['assignee'] or 'back with its candidates'}"))


@main.command()
@click.argument("task_id", type=int)
@click.option("--as", "actor", required=True, help="Who acts: the assignee to delegate, an officer to reassign.")
@click.option("--to", "to", help="The person who takes the task over (reassign without it: back to the candidates).")
@click.option("--reassign", is_flag=True, help="Reassign (administrator or the tier above) instead of delegating.")
@click.option("--reason", help="Why, for the history.")
@json_option
@click.pass_obj
def hand(obj: Context, task_id: int, actor: str, to: str | None, reassign: bool, reason: str | None,
         as_json: bool) -> None:
    """Delegate one's task to a colleague, or reassign a task (--reassign)."""
    from engine.commands import DelegateTask, ReassignTask

    def run() -> None:
        if not reassign and not to:
            raise InvalidInput("say to whom with --to", [Problem("missing", field="to")])
        command = ReassignTask(task_id, actor, to, reason) if reassign else DelegateTask(task_id, actor, to or "",
                                                                                        reason)
        emit(as_json, obj.huhua.execute(command),
              lambda r: f"task {r['task_id']}: {r['previous'] or '—'} → {r['assignee'] or 'its candidates'}")

    guard(as_json, run)


@main.command()
@click.argument("instance_id", type=int)
@json_option
@click.pass_obj
def instance(obj: Context, instance_id: int, as_json: bool) -> None:
    """Show an instance: state, data, open tasks and history."""

    def human(r: dict[str, Any]) -> str:
        lines = [f"instance {r['id']} of {r['process_key']} v{r['definition']['version']}: {r['state']}",
                 f"data: {json.dumps(r['data'], ensure_ascii=False)}", "open tasks:"]
        lines += [f"  {t['id']} {t['name']}" for t in r["open_tasks"]] or ["  (none)"]
        lines += [f"incident: {i['element_id']}: {i['message']}" for i in r["incidents"]]
        lines.append("history:")
        lines += [f"  {e['at']} {e['kind']} {e['element_id'] or ''} {e['actor'] or ''}".rstrip() for e in r["history"]]
        return "\n".join(lines)

    def read() -> dict[str, Any]:
        # the command line is the administrator's: a counselling case shows as its status, and the read is logged
        level = obj.huhua.queries.case_access(ADMIN, instance_id)
        if level is not None:
            obj.huhua.execute(RecordCaseRead(instance_id, ADMIN, "cli", "instance", level))
        return obj.huhua.queries.instance(instance_id, viewer=ADMIN)

    guard(as_json, lambda: emit(as_json, read(), human))


@main.command()
@click.argument("name")
@click.option("--key", "correlation_key", help="Correlation key (the waiting instance's business key); without it, "
              "the message's correlation properties are read from --vars.")
@click.option("--vars", "variables", help="Message payload as a JSON object.")
@click.option("--all", "deliver_to_all", is_flag=True, help="Deliver to every waiting instance that matches.")
@click.option("--as", "actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def message(obj: Context, name: str, correlation_key: str | None, variables: str | None, deliver_to_all: bool,
            actor: str, as_json: bool) -> None:
    """Correlate a message to the instance(s) waiting for it; when none waits, it starts a process whose start
    event catches it."""

    def run() -> None:
        result = obj.huhua.execute(CorrelateMessage(message_name=name, actor=actor, correlation_key=correlation_key,
                                                    variables=json_object(variables, "--vars"),
                                                    deliver_to_all=deliver_to_all))
        emit(as_json, result, lambda r: "started " + ", ".join(
            f"instance {i['id']} ({i['state']})" for i in r["started_instances"]) if r.get("started") else
            "delivered to " + ", ".join(f"instance {i['id']} ({i['state']})" for i in r["delivered_to"]))

    guard(as_json, run)


@main.command()
@click.argument("name")
@click.option("--data", "variables", help="The signal's payload as a JSON object (what its receivers take).")
@click.option("--unit", "org_scope", help="Reach only instances at this unit or below; started instances run for it.")
@click.option("--as", "actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def signal(obj: Context, name: str, variables: str | None, org_scope: str | None, actor: str, as_json: bool) -> None:
    """Throw a signal: every instance waiting for it catches it, every process starting with it starts."""

    def run() -> None:
        result = obj.huhua.execute(ThrowSignal(signal_name=name, actor=actor, org_scope=org_scope,
                                               variables=json_object(variables, "--data")))
        emit(as_json, result, lambda r: f"signal {r['signal']}: reached {r['reached']} waiting instance(s), "
                                        f"started {r['started']}" + "".join(
            f"\n  instance {i['id']} ({i['state']})" for i in r["reached_instances"] + r["started_instances"]))

    guard(as_json, run)


@main.command("coverage")
@click.argument("instance_id", type=int)
@click.option("--missing", "missing_only", is_flag=True, help="List only what is not done yet.")
@json_option
@click.pass_obj
def coverage_command(obj: Context, instance_id: int, missing_only: bool, as_json: bool) -> None:
    """不漏一校、不漏一人: per county, school and person, who has and has not completed a rollout."""

    def run() -> None:
        result = obj.huhua.queries.coverage(instance_id, obj.huhua.clock.now(), missing_only=missing_only)
        emit(as_json, result, _coverage_text)

    guard(as_json, run)


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
@click.argument("instance_id", type=int, required=False)
@click.option("--save", "directory", type=click.Path(file_okay=False), help="Write the files into this directory.")
@click.option("--unit", help="Instead: the unit's register of issued documents (发文登记簿).")
@click.option("--year", type=int, help="The register's year (default: this year).")
@json_option
@click.pass_obj
def documents_command(obj: Context, instance_id: int | None, directory: str | None, unit: str | None,
                      year: int | None, as_json: bool) -> None:
    """List (and save) the documents an instance generated: circulars, assessments, certificates; or, with
    --unit, the 发文登记簿 of a unit: every official document it issued in --year, by 文号, with its title, issue
    date and who signed it off (the register's rows, not the documents' content)."""

    def run() -> None:
        if unit is not None:
            chosen = year or obj.huhua.clock.now().astimezone(BUSINESS_TZ).year
            register = obj.huhua.queries.document_register(unit, chosen)
            emit(as_json, register, _register_text)
            return
        if instance_id is None:
            raise click.UsageError("give an INSTANCE_ID, or --unit for a unit's register of issued documents")
        listed = obj.huhua.queries.documents(instance_id)
        if directory:
            target = Path(directory)
            target.mkdir(parents=True, exist_ok=True)
            for entry in listed:
                name, _type, content = obj.huhua.queries.document(entry["id"])
                (target / f"{entry['id']}-{Path(name).name}").write_bytes(content)
        emit(as_json, listed, lambda rows: "\n".join(
            f"{d['id']:>5}  {d['name']}  "
            + (f"({d['size']} bytes)" if d["size"] is not None else "(a draft, drawn when read)")
            + (f"  {d['number']}" if d.get("number") else "")
            for d in rows) or "no documents")

    guard(as_json, run)


def _register_text(r: dict[str, Any]) -> str:
    lines = [f"{r['name']} ({r['unit']}) 发文登记簿 {r['year']} — 代字 {r['code']}"]
    for d in r["documents"]:
        day = datetime.fromisoformat(d["issued_at"]).astimezone(BUSINESS_TZ).date()
        lines.append(f"  {d['number']}  {day}  {d['title']}  签发 {d['signed_by_name'] or d['signed_by'] or '—'}")
    return "\n".join(lines) if r["documents"] else lines[0] + "\n  no documents issued"


@main.command("document-code")
@click.argument("unit")
@click.argument("code")
@click.option("--actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def document_code_command(obj: Context, unit: str, code: str, actor: str, as_json: bool) -> None:
    """Set a unit's 发文机关代字 (e.g. 衡教通); its next issued document is numbered under it, from 1."""

    def run() -> None:
        emit(as_json, obj.huhua.execute(SetDocumentCode(unit, code, actor)),
             lambda r: f"{r['unit']}: 代字 {r['code']}")

    guard(as_json, run)
