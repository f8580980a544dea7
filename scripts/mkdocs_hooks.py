"""MkDocs hooks: the pages that are generated from the code at every build, so they never drift from it.

- ``reference/api.md`` from the OpenAPI document the app serves at ``/api/v1/openapi.json``
  (:func:`engine.web.openapi.document`);
- ``processes/<key>.md`` for each process of the shipped library (``processes/*.bpmn``), read with the engine's own
  hardened XML reader and lane-role helpers, with each user task's form (``processes/forms``) and the schedules of
  ``config/schedules.toml`` that start the process.

Named in ``mkdocs.yml`` under ``hooks:``; MkDocs runs it in its own interpreter, so the project root is put on
``sys.path`` here.
"""

from __future__ import annotations

import json
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from engine.bpmn.lane_roles import lane_role  # noqa: E402
from engine.bpmn.safe_xml import parse_xml  # noqa: E402
from engine.bpmn.schema import BPMN_NS  # noqa: E402
from engine.web import openapi  # noqa: E402

SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
PROCESSES = ROOT / "processes"
FORMS = PROCESSES / "forms"
SCHEDULES = ROOT / "config" / "schedules.toml"
MAX_MODEL_BYTES = 5 * 1024 * 1024
METHODS = ("get", "post", "put", "patch", "delete")
TIMER_KINDS = {"timeDate": "at", "timeDuration": "after", "timeCycle": "every"}


def on_config(config: Any) -> Any:
    """Add a navigation entry per library process under "Process library", sorted by key."""
    entries = [{f"{p.key} — {p.name}": f"processes/{p.key}.md"} for p in _library()]
    for section in config["nav"] or []:
        if isinstance(section, dict) and "Process library" in section:
            section["Process library"] = ["processes/index.md", "processes/catalogue.md", *entries]
    return config


def on_files(files: Files, config: Any) -> Files:
    files.append(File.generated(config, "reference/api.md", content=api_page(openapi.document())))
    files.append(File.generated(config, "reference/cli.md", content=cli_page()))
    files.append(File.generated(config, "reference/configuration.md", content=configuration_page()))
    library = _library()
    files.append(File.generated(config, "processes/index.md", content=library_index(library)))
    files.append(File.generated(config, "processes/catalogue.md", content=_from_readme(
        PROCESSES / "README.md", "Library catalogue", "processes/README.md")))
    schedules = _schedules()
    for process in library:
        files.append(File.generated(config, f"processes/{process.key}.md",
                                    content=process_page(process, schedules.get(process.key, []),
                                                         {p.key for p in library})))
    return files


# --- the command line and the settings --------------------------------------------------------------------------

def cli_page() -> str:
    """Every ``huhua`` command's help, as ``huhua COMMAND --help`` prints it."""
    import click

    from engine.cli import main

    lines = ["# Command line", "", "*Generated at build time from the `huhua` command's own help.*", "",
             "Every verb takes `--json` (machine-readable output); bad input exits with code 2 and says what is "
             "wrong and where. The commands read the same settings as the server (`HUHUA_DATABASE_URL`, …; see "
             "[Configuration](configuration.md)).", ""]

    def walk(command: click.Command, path: list[str]) -> None:
        context = click.Context(command, info_name=" ".join(path))
        if len(path) > 1:
            lines.extend([f"{'#' * min(len(path), 4)} `{' '.join(path)}`", "", "```text",
                          command.get_help(context), "```", ""])
        if isinstance(command, click.Group):
            for name in command.list_commands(context):
                walk(command.commands[name], [*path, name])

    walk(main, ["huhua"])
    return "\n".join(lines) + "\n"


def configuration_page() -> str:
    return _from_readme(ROOT / "config" / "README.md", "Configuration", "config/README.md")


def _from_readme(path: Path, title: str, name: str) -> str:
    """A README kept beside what it describes, as a page of the site under a title of its own."""
    text = path.read_text(encoding="utf-8")
    body = text.split("\n", 1)[1] if text.startswith("# ") else text
    return f"# {title}\n\n*Generated at build time from `{name}`.*\n{body}"


# --- the API ---------------------------------------------------------------------------------------------------

def api_page(document: dict[str, Any]) -> str:
    info = document["info"]
    lines = ["# API reference", "",
             "*Generated at build time from the OpenAPI document the app serves at `/api/v1/openapi.json`"
             f" ({info['title']}, OpenAPI {document['openapi']}).*", "", info.get("description", ""), "",
             "Paths are below `/api/v1` unless marked *(site root)*. Every answer is JSON; an error is a JSON problem "
             "with a `message` (and, for bad input, each field named). An operation marked **public** needs no "
             "caller; the others need a log-in session (changes carry `X-CSRFToken`) or "
             "`Authorization: Bearer <token>`.", ""]
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for path, item in document["paths"].items():
        groups.setdefault(path.strip("/").split("/")[0] or "/", []).append((path, item))
    lines += ["| group | operations |", "|---|---|"]
    for group, items in groups.items():
        count = sum(1 for _, item in items for method in METHODS if method in item)
        lines.append(f"| [`{group}`](#{_anchor(group)}) | {count} |")
    lines.append("")
    for group, items in groups.items():
        lines += [f"## {group} {{#{_anchor(group)}}}", ""]
        for path, item in items:
            root = " *(site root)*" if item.get("servers") else ""
            for method in METHODS:
                if method in item:
                    lines += _operation(method, path, root, item[method], item.get("parameters", []))
    return "\n".join(lines) + "\n"


def _anchor(group: str) -> str:
    return "api-" + "".join(c if c.isalnum() else "-" for c in group).strip("-")


def _operation(method: str, path: str, root: str, operation: dict[str, Any],
               shared: list[dict[str, Any]]) -> list[str]:
    public = " — **public**" if operation.get("security") == [] else ""
    lines = [f"### `{method.upper()} {path}`{root}", "", f"{operation.get('summary', '')}{public}", ""]
    parameters = [*shared, *operation.get("parameters", [])]
    if parameters:
        lines += ["| parameter | in | type | description |", "|---|---|---|---|"]
        for parameter in parameters:
            required = " (required)" if parameter.get("required") and parameter["in"] != "path" else ""
            lines.append(f"| `{parameter['name']}`{required} | {parameter['in']} | {_type(parameter.get('schema', {}))}"
                         f" | {_cell(parameter.get('description', ''))} |")
        lines.append("")
    body = operation.get("requestBody")
    if body:
        for media, content in body.get("content", {}).items():
            schema = content.get("schema", {})
            properties = schema.get("properties", {})
            needed = set(schema.get("required", []))
            lines.append(f"Body ({media}){':' if properties else ': ' + _type(schema)}")
            lines.append("")
            if properties:
                lines += ["| field | type | description |", "|---|---|---|"]
                for name, prop in properties.items():
                    mark = " (required)" if name in needed else ""
                    lines.append(f"| `{name}`{mark} | {_type(prop)} | {_cell(prop.get('description', ''))} |")
                lines.append("")
    answers = ", ".join(f"`{code}`" + (f" {_cell(answer.get('description', ''))}" if code.startswith("2")
                                       and answer.get("description") not in (None, "OK") else "")
                        for code, answer in operation.get("responses", {}).items())
    lines += [f"Answers: {answers}", ""]
    return lines


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if "enum" in schema:
        return " \\| ".join(f"`{value}`" for value in schema["enum"])
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if "format" in schema:
        return f"{kind} ({schema['format']})"
    return str(kind)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


# --- the process library ---------------------------------------------------------------------------------------

@dataclass
class UserTask:
    id: str
    name: str
    lane: str
    performers: str
    due: str
    form: dict[str, Any] | None
    form_key: str


@dataclass
class Process:
    key: str
    name: str
    file: str
    documentation: str
    properties: dict[str, str]
    lanes: list[tuple[str, str]] = field(default_factory=list)
    tasks: list[UserTask] = field(default_factory=list)
    timers: list[tuple[str, str, str]] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)


def _b(name: str) -> str:
    return f"{{{BPMN_NS}}}{name}"


def _s(name: str) -> str:
    return f"{{{SPIFF_NS}}}{name}"


def _properties(element: Any) -> dict[str, str]:
    return {p.get("name"): (p.get("value") or "").strip()
            for p in element.iterfind(f"{_b('extensionElements')}/{_s('properties')}/{_s('property')}")
            if p.get("name")}


def _library() -> list[Process]:
    found: list[Process] = []
    for path in sorted(PROCESSES.glob("*.bpmn")):
        tree = parse_xml(path.read_bytes(), path.name, MAX_MODEL_BYTES)
        for element in tree.getroot().iterfind(_b("process")):
            found.append(_read_process(element, path.name))
    return sorted(found, key=lambda p: p.key)


def _read_process(element: Any, filename: str) -> Process:
    properties = _properties(element)
    documentation = " ".join((element.findtext(_b("documentation")) or "").split())
    process = Process(element.get("id"), element.get("name") or element.get("id"), filename, documentation,
                      properties)
    lane_of: dict[str, str] = {}
    for lane in element.iter(_b("lane")):
        role = lane_role(lane)
        name = lane.get("name") or ""
        if lane.find(_b("childLaneSet")) is None:
            process.lanes.append((name, f"`{role}`" if role else ""))
        for ref in lane.iterfind(_b("flowNodeRef")):
            lane_of[(ref.text or "").strip()] = name
    names = {node.get("id"): node.get("name") or node.get("id") for node in element.iter() if node.get("id")}
    for node in element.iter(_b("userTask"), _b("manualTask")):
        own = _properties(node)
        performers = ", ".join(f"{key} `{own[key]}`" for key in
                               ("candidateRoles", "candidateGroups", "candidateUsers", "assignee") if own.get(key))
        due = (f"{own['dueWorkingDays']} working days" if own.get("dueWorkingDays")
               else f"`{own['dueDate']}`" if own.get("dueDate") else "")
        form_key = own.get("formKey", "")
        process.tasks.append(UserTask(node.get("id"), node.get("name") or node.get("id"),
                                      lane_of.get(node.get("id"), ""), performers, due, _form(form_key), form_key))
    for timer in element.iter(_b("timerEventDefinition")):
        event = timer.getparent()
        for kind, word in TIMER_KINDS.items():
            value = timer.findtext(_b(kind))
            if value:
                where = _timer_place(event, names)
                process.timers.append((event.get("name") or event.get("id"), where, f"{word} `{value.strip()}`"))
    for rule in element.iter(_b("businessRuleTask")):
        decision = rule.findtext(f"{_b('extensionElements')}/{_s('calledDecisionId')}")
        if decision and decision.strip() not in process.decisions:
            process.decisions.append(decision.strip())
    for call in element.iter(_b("callActivity")):
        if call.get("calledElement") and call.get("calledElement") not in process.children:
            process.children.append(call.get("calledElement"))
    for operator in element.iter(_s("serviceTaskOperator")):
        if operator.get("id") != "fan_out":
            continue
        for parameter in operator.iter(_s("parameter")):
            child = (parameter.get("value") or "").strip("'\" ")
            if parameter.get("id") == "process" and child and child not in process.children:
                process.children.append(child)
    return process


def _timer_place(event: Any, names: dict[str, str]) -> str:
    kind = event.tag.rsplit("}", 1)[-1]
    if kind == "boundaryEvent":
        interrupting = "" if event.get("cancelActivity") == "false" else ", interrupting"
        return f"on “{names.get(event.get('attachedToRef'), event.get('attachedToRef'))}”{interrupting}"
    return {"startEvent": "start event", "intermediateCatchEvent": "waits"}.get(kind, kind)


def _form(key: str) -> dict[str, Any] | None:
    path = FORMS / f"{key}.form.json"
    return json.loads(path.read_text(encoding="utf-8")) if key and path.is_file() else None


def _fields(components: list[dict[str, Any]]) -> list[str]:
    """Each field's label (its key), in order; a group's or a list's fields under it."""
    found: list[str] = []
    for component in components:
        inner = component.get("components")
        if component.get("key") and component.get("label"):
            mark = "*" if (component.get("validate") or {}).get("required") else ""
            found.append(f"{component['label']}{mark} (`{component['key']}`)")
        elif component.get("label") and inner:
            found.append(f"{component['label']}:")
        if inner:
            found += ["  " + text for text in _fields(inner)] if component.get("label") else _fields(inner)
    return found


def _schedules() -> dict[str, list[dict[str, Any]]]:
    by_process: dict[str, list[dict[str, Any]]] = {}
    for entry in tomllib.loads(SCHEDULES.read_text(encoding="utf-8")).get("schedule", []):
        by_process.setdefault(entry["process"], []).append(entry)
    return by_process


def library_index(library: list[Process]) -> str:
    lines = ["# Process library", "",
             "*Generated at build time from `processes/*.bpmn`, `processes/forms/` and `config/schedules.toml`.*", "",
             "The shipped library models the yearly cycle of 衡教通〔2019〕41号 (see [the administrator's guide]"
             "(../admin/index.md) for how models are written and deployed). A process started by a `fan_out` runs once "
             "per county or school below its parent.", "",
             "| key | name | user tasks | started by |", "|---|---|---|---|"]
    for process in library:
        lines.append(f"| [`{process.key}`]({process.key}.md) | {process.name} | {len(process.tasks)} | "
                     f"{_started_by(process)} |")
    return "\n".join(lines) + "\n"


def _started_by(process: Process) -> str:
    roles = process.properties.get("start_roles")
    if roles:
        units = process.properties.get("start_units")
        return f"`{roles}`" + (f" at {units}" if units else "")
    if any(place == "start event" for _, place, _ in process.timers):
        return "its timer start event"
    return "the scheduler, a parent process or a message"


def process_page(process: Process, schedules: list[dict[str, Any]], known: set[str]) -> str:
    lines = [f"# {process.name} — `{process.key}`", "",
             f"*Generated from `processes/{process.file}`.*", ""]
    if process.documentation:
        lines += [f"> {process.documentation}", ""]
    start = process.properties
    lines += ["## Starting", ""]
    if start.get("start_roles"):
        lines.append(f"- started by hand by `{start['start_roles']}`"
                     + (f" at `{start['start_units']}` units" if start.get("start_units") else "")
                     + (f" (tier: `{start['start_tier']}`)" if start.get("start_tier") else ""))
    if start.get("start_description"):
        lines.append(f"- on the start page (发起事项): “{start['start_description']}”")
    for entry in schedules:
        rule = f"cron `{entry['cron']}`" if entry.get("cron") else f"rule `{entry.get('rule')}`"
        extra = ", ".join(f"{k} {entry[k]}" for k in ("day", "n", "months", "at", "for_each") if k in entry)
        paused = " (shipped paused)" if entry.get("enabled") is False else ""
        lines.append(f"- scheduled as `{entry['key']}`: {rule}, {extra}{paused}"
                     + (f" — {entry['note']}" if entry.get("note") else ""))
    if not start.get("start_roles") and not schedules:
        lines.append("- not started by hand: " + _started_by(process))
    if start.get("oversight_roles"):
        lines.append(f"- overseen by `{start['oversight_roles']}`")
    if start.get("confidentiality"):
        lines.append(f"- confidentiality `{start['confidentiality']}`; sensitive variables "
                     f"`{start.get('sensitiveVariables', '')}`")
    lines.append("")
    if process.lanes:
        lines += ["## Lanes and roles", "", "| lane | role |", "|---|---|"]
        lines += [f"| {name} | {role or '—'} |" for name, role in process.lanes]
        lines.append("")
    if process.tasks:
        lines += ["## User tasks", "", "| task | lane | offered to | due | form |", "|---|---|---|---|---|"]
        for task in process.tasks:
            form = f"`{task.form_key}`" if task.form_key else "—"
            lines.append(f"| {task.name} (`{task.id}`) | {task.lane or '—'} | {task.performers or 'its lane'} | "
                         f"{task.due or '—'} | {form} |")
        lines.append("")
        for task in process.tasks:
            if task.form:
                lines += [f"### Form `{task.form_key}`: {task.form.get('name', '')}", "",
                          f"Used by “{task.name}”. Fields (* required):", ""]
                lines += [f"{'    ' if text.startswith('  ') else ''}- {text.strip()}" for text in
                          _fields(task.form.get("components", []))] or ["- (no fields)"]
                lines.append("")
    if process.timers:
        lines += ["## Timers", "", "| event | where | when |", "|---|---|---|"]
        lines += [f"| {_cell(name)} | {_cell(place)} | {_cell(value)} |" for name, place, value in process.timers]
        lines.append("")
    if process.decisions or process.children:
        lines += ["## Uses", ""]
        lines += [f"- decision table `{decision}`" for decision in process.decisions]
        lines += [f"- starts [`{child}`]({child}.md)" if child in known else f"- starts `{child}`"
                  for child in process.children]
        lines.append("")
    return "\n".join(lines) + "\n"
