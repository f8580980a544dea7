"""From user files to SpiffWorkflow specs: safe load, XSD check, parse, and located error messages.

:func:`inspect_models` checks a set of files the way a deployment needs (every problem of every
file at once); :func:`compile_process` turns one process of an already accepted set into specs.
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.defaults import EndEvent as EndEventSpec
from SpiffWorkflow.bpmn.specs.defaults import IntermediateThrowEvent as IntermediateThrowEventSpec
from SpiffWorkflow.bpmn.specs.defaults import StartEvent as StartEventSpec
from SpiffWorkflow.bpmn.specs.event_definitions.item_aware_event import SignalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent, ThrowingEvent
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.parser.task_spec import SpiffTaskParser, UserTaskParser
from SpiffWorkflow.spiff.specs.defaults import ManualTask, UserTask

from engine.bpmn import compensation, events, schema
from engine.bpmn.complex_gateway import ComplexGateway, ComplexGatewayParser
from engine.bpmn.data_associations import DataAssociationsParser
from engine.bpmn.flows import OutgoingFlowsParser
from engine.bpmn.lane_roles import group_lanes
from engine.bpmn.lint import lint
from engine.bpmn.mi_behaviour import MultiInstanceBehaviourParser
from engine.bpmn.normalise import normalise, restore_reserved_ids
from engine.bpmn.safe_xml import parse_xml
from engine.bpmn.task_specs import ExternalParallelMultiInstanceTask, clock_aware
from engine.connectors.registry import ConnectorRegistry
from engine.dmn.dialect import PYTHON, dialect
from engine.dmn.task import FeelDecision
from engine.errors import InvalidModel, Problem
from engine.phrases import Phrase
from engine.schedules import check_timer

#: Files one deployment (or check) may hold, and their XML elements together (not counting their diagrams, which
#: are dropped before parsing): a bound on what one call costs.
MAX_FILES = 200
MAX_TOTAL_ELEMENTS = 10_000
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
#: Files a deployment may hold besides its models: a process model folder's JSON (form schemas, data). They are
#: stored with the deployment for the engine's other parts and never parsed as models.
ATTACHMENT_SUFFIX = ".json"


def is_attachment(name: str) -> bool:
    """Whether a deployment's file ``name`` is an attachment (see :data:`ATTACHMENT_SUFFIX`), not a model."""
    return name.endswith(ATTACHMENT_SUFFIX)


class _HumanTaskParser(UserTaskParser):
    PARALLEL_MI_CLASS = ExternalParallelMultiInstanceTask


class _ManualTaskParser(SpiffTaskParser):
    PARALLEL_MI_CLASS = ExternalParallelMultiInstanceTask


def activity_parser(parser_class: type) -> type:
    """``parser_class`` with BPMN's rules for outgoing flows, data associations and multi-instance behaviour."""
    mixins = (OutgoingFlowsParser, DataAssociationsParser, MultiInstanceBehaviourParser)
    return type(f"Huhua{parser_class.__name__}", (*mixins, parser_class), {})


#: Activities that may have several or conditional outgoing sequence flows (see engine.bpmn.flows).
ACTIVITY_TAGS = ("task", "userTask", "manualTask", "scriptTask", "serviceTask", "businessRuleTask", "sendTask",
                 "receiveTask", "subProcess", "transaction", "callActivity")


class HuhuaBpmnParser(SpiffBpmnParser):
    """SpiffWorkflow's parser with Huhua's task specs registered in its override table."""

    OVERRIDE_PARSER_CLASSES: ClassVar[dict[str, tuple[type, type]]] = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        schema.bpmn_tag("userTask"): (_HumanTaskParser, UserTask),
        schema.bpmn_tag("manualTask"): (_ManualTaskParser, ManualTask),
        schema.bpmn_tag("startEvent"): (events.StartEventParser, StartEventSpec),
        schema.bpmn_tag("endEvent"): (events.EndEventParser, EndEventSpec),
        schema.bpmn_tag("complexGateway"): (ComplexGatewayParser, ComplexGateway),
        schema.bpmn_tag("intermediateThrowEvent"): (compensation.IntermediateThrowEventParser,
                                                    IntermediateThrowEventSpec),
    }
    PROCESS_PARSER_CLASS = compensation.CompensationProcessParser

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: decisions in FEEL by id (``engine.dmn``); files declaring Python go to SpiffWorkflow's DMN parser
        self.feel_decisions: dict[str, FeelDecision] = {}

    def add_bpmn_xml(self, bpmn: Any, filename: str | None = None) -> None:
        normalise(bpmn)
        super().add_bpmn_xml(bpmn, filename)

    def add_dmn_xml(self, node: Any, filename: str | None = None) -> None:
        if dialect(node) == PYTHON:
            super().add_dmn_xml(node, filename)
            return
        content = etree.tostring(node)
        for decision in node:
            if isinstance(decision.tag, str) and etree.QName(decision).localname == "decision":
                self.feel_decisions[decision.get("id")] = FeelDecision(content, decision.get("id"))

    def get_engine(self, decision_ref: str, node: Any) -> Any:
        if decision_ref in self.feel_decisions:
            return self.feel_decisions[decision_ref]
        return super().get_engine(decision_ref, node)

    for _tag in ACTIVITY_TAGS:
        _parser, _spec = OVERRIDE_PARSER_CLASSES[schema.bpmn_tag(_tag)]
        OVERRIDE_PARSER_CLASSES[schema.bpmn_tag(_tag)] = (activity_parser(_parser), _spec)
    del _tag, _parser, _spec


@dataclass(frozen=True)
class ModelFile:
    name: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class ProcessSummary:
    """An executable process found in a set of model files."""

    key: str
    name: str
    filename: str
    #: Hash of everything the process's behaviour depends on: its file, called processes' files, DMN files.
    content_hash: str
    #: (kind, name, element id) of each message or signal start event: what starts an instance from outside.
    start_triggers: tuple[tuple[str, str, str], ...] = ()
    #: The files its behaviour comes from: its own and those of the processes it calls.
    dependency_files: tuple[str, ...] = ()
    #: The ``spiffworkflow:properties`` of its ``bpmn:process`` element (its start declaration, engine/access).
    properties: dict[str, str] = field(default_factory=dict)
    #: Lanes of groups, whose tasks reach only the people ``lane_owners`` names (engine.bpmn.lane_roles).
    group_lanes: tuple[str, ...] = ()


@dataclass
class CompiledProcess:
    """Specs for one process version: parsed once, shared by every instance of that version."""

    key: str
    name: str
    spec: Any
    subprocess_specs: dict[str, Any] = field(default_factory=dict)
    #: The ``spiffworkflow:properties`` of the ``bpmn:process`` element (who may start it, see engine/access).
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def start_triggers(self) -> tuple[tuple[str, str, str], ...]:
        """(kind, name, element id) of each message, signal or timer start event."""
        return _start_triggers(self.spec)

    @property
    def start_form(self) -> str | None:
        """The ``formKey`` of the none start event: the form a person's start variables are checked against."""
        for task_spec in self.spec.task_specs.values():
            if isinstance(task_spec, StartEvent) and _is_none_start(task_spec):
                key = (getattr(task_spec, "extensions", None) or {}).get("properties", {}).get("formKey")
                return key.strip() if isinstance(key, str) and key.strip() else None
        return None

    @property
    def has_none_start(self) -> bool:
        """Whether the process has a start event without a trigger: one an instance may be started through."""
        return any(isinstance(t, StartEvent) and _is_none_start(t) for t in self.spec.task_specs.values())


def inspect_models(files: Iterable[ModelFile], max_bytes: int, *,
                   connectors: ConnectorRegistry | None = None) -> list[ProcessSummary]:
    """Check ``files`` as one deployment; return its executable processes or raise :class:`InvalidModel`.

    ``connectors`` are the ones service tasks may name (a deployment or a check refuses others); None leaves
    them unchecked, for versions deployed before (their unknown connector is an incident when it runs).
    """
    files = list(files)
    parser, by_name = _load(files, max_bytes, connectors)
    problems: list[Problem] = []
    summaries: list[ProcessSummary] = []
    dmn_hashes = sorted(f.sha256 for f in files if schema.is_dmn(by_name[f.name]))
    for key, process_parser in list(parser.process_parsers.items()):  # building specs may add parsers
        if not process_parser.process_executable:
            continue
        try:
            specs = parser.get_subprocess_specs(key)
            _ = parser.get_spec(key)
        except ValidationException as err:
            problems.append(_problem_from_spiff(err, process_parser.filename))
            continue
        except Exception as err:  # a model the schema accepts but SpiffWorkflow cannot build
            problems.append(Problem(f"cannot build process '{key}': {err}", file=process_parser.filename))
            continue
        dependency_files = {process_parser.filename}
        for sub_key in specs:
            sub_parser = parser.process_parsers.get(sub_key)
            if sub_parser is not None:
                dependency_files.add(sub_parser.filename)
        digest = hashlib.sha256(key.encode())
        for name in sorted(dependency_files):
            digest.update(hashlib.sha256(_content(files, name)).digest())
        for dmn_hash in dmn_hashes:
            digest.update(dmn_hash.encode())
        triggers = _start_triggers(parser.get_spec(key))
        problems += _timer_start_problems(triggers, process_parser.filename)
        summaries.append(ProcessSummary(key, process_parser.get_name() or key, process_parser.filename,
                                        digest.hexdigest(), triggers, tuple(sorted(dependency_files)),
                                        process_properties(process_parser.node), group_lanes(process_parser.node)))
    if problems:
        raise InvalidModel("the model was refused; nothing was deployed", problems)
    if not summaries and not dmn_hashes:
        raise InvalidModel("the files contain no executable process (isExecutable=\"true\")",
                           [Problem("no executable process", file=f.name) for f in files])
    return summaries


def compile_process(files: Iterable[ModelFile], key: str, max_bytes: int) -> CompiledProcess:
    """Build the specs of process ``key`` from the files of its deployment."""
    return compile_processes(files, [key], max_bytes)[key]


def compile_processes(files: Iterable[ModelFile], keys: Iterable[str], max_bytes: int) -> dict[str, CompiledProcess]:
    """Build the specs of several processes of one deployment, reading and checking its files once."""
    parser, _ = _load(list(files), max_bytes)
    return {key: _compiled(parser, key) for key in keys}


def _compiled(parser: HuhuaBpmnParser, key: str) -> CompiledProcess:
    try:
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as err:
        raise InvalidModel(f"process '{key}' cannot be built", [_problem_from_spiff(err, None)]) from None
    for each in (spec, *subprocess_specs.values()):
        if each is None:
            continue
        restore_reserved_ids(each)
        for task_spec in each.task_specs.values():
            if isinstance(task_spec, CatchingEvent | ThrowingEvent):
                task_spec.event_definition = clock_aware(task_spec.event_definition)
            if isinstance(task_spec, LoopTask):
                # SpiffWorkflow connects this callback on first use; shared specs are used by many
                # threads, and two first uses at once would connect it twice (merging data twice).
                child = each.task_specs[task_spec.task_spec]
                if not child.completed_event.is_connected(task_spec.merge_child):
                    child.completed_event.connect(task_spec.merge_child)
    return CompiledProcess(key, spec.description or key, spec, subprocess_specs,
                           process_properties(parser.process_parsers[key].node))


def process_properties(process: etree._Element) -> dict[str, str]:
    """The ``spiffworkflow:property`` name/value pairs in a ``bpmn:process`` element's own extension elements."""
    found = process.xpath("./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property",
                          namespaces={"bpmn": schema.BPMN_NS, "spiffworkflow": SPIFF_NS})
    return {str(p.get("name")): str(p.get("value") or "") for p in found if p.get("name")}


def _is_none_start(task_spec: Any) -> bool:
    """A start event of the process itself (not of an event sub-process) with no event definition."""
    return type(task_spec.event_definition).__name__ == "NoneEventDefinition"


def _load(files: list[ModelFile], max_bytes: int,
          connectors: ConnectorRegistry | None = None) -> tuple[HuhuaBpmnParser, dict[str, etree._ElementTree]]:
    if not files:
        raise InvalidModel("no files were given")
    if len(files) > MAX_FILES:
        raise InvalidModel(f"{len(files)} files were given; one deployment or check takes at most {MAX_FILES}",
                           [Problem("too many files", field="files")])
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise InvalidModel("two files have the same name", [Problem("duplicate file name", file=n)
                                                            for n in names if names.count(n) > 1])
    problems: list[Problem] = []
    trees: dict[str, etree._ElementTree] = {}
    total = 0
    for model in files:
        try:
            tree = parse_xml(model.content, model.name, max_bytes)
        except InvalidModel as err:
            problems.extend(err.problems or [Problem(err.message, file=model.name)])
            continue
        total += schema.semantic_size(tree)  # a diagram is dropped before parsing (engine.bpmn.normalise)
        if total > MAX_TOTAL_ELEMENTS:
            raise InvalidModel(f"the files hold more than {MAX_TOTAL_ELEMENTS} XML elements together; deploy them "
                               "in several parts", [Problem("too many elements", file=model.name)])
        found = schema.validate(tree, model.name)
        problems.extend(found or lint(tree, model.name, connectors=connectors))
        trees[model.name] = tree
    if problems:
        raise InvalidModel("the model was refused; nothing was deployed", problems)
    parser = HuhuaBpmnParser(validator=None)
    for model in files:
        tree = trees[model.name]
        try:
            if schema.is_dmn(tree):
                decisions = [e for e in tree.getroot() if etree.QName(e).localname == "decision"]
                if len(decisions) != 1 and (dialect(tree.getroot()) == PYTHON or not decisions):
                    problems.append(Problem(
                        f"a DMN file must hold exactly one decision, this one holds {len(decisions)}; "
                        "put each decision in a file of its own", file=model.name,
                        line=decisions[1].sourceline if len(decisions) > 1 else None,
                        element_id=decisions[1].get("id") if len(decisions) > 1 else None))
                    continue
                parser.add_dmn_xml(tree.getroot(), filename=model.name)
            else:
                parser.add_bpmn_xml(tree, filename=model.name)
        except ValidationException as err:
            problems.append(_duplicate_process(err, parser, model.name) or _problem_from_spiff(err, model.name))
        except Exception as err:
            problems.append(Problem(f"cannot read the model: {err}", file=model.name))
    if problems:
        raise InvalidModel("the model was refused; nothing was deployed", problems)
    return parser, trees


#: A timer start event's kind, as a schedule reads it (see :mod:`engine.schedules`).
TIMER_KINDS = {"TimeDateEventDefinition": "date", "DurationTimerEventDefinition": "duration",
               "CycleTimerEventDefinition": "cycle"}


def _start_triggers(spec: Any) -> tuple[tuple[str, str, str], ...]:
    found = []
    for task_spec in spec.task_specs.values():
        if not isinstance(task_spec, StartEvent):
            continue
        definition = task_spec.event_definition
        for each in getattr(definition, "event_definitions", None) or [definition]:
            if isinstance(each, MessageEventDefinition):
                found.append(("message", each.name, task_spec.bpmn_id))
            elif isinstance(each, SignalEventDefinition):
                found.append(("signal", each.name, task_spec.bpmn_id))
            elif isinstance(each, TimerEventDefinition):
                kind = TIMER_KINDS.get(type(each).__name__, "date")
                found.append(("timer", f"{kind}:{_literal(each.expression)}", task_spec.bpmn_id))
    return tuple(found)


def _literal(expression: str) -> str:
    """A timer start event's value: its expression is a quoted string (no instance data exists yet)."""
    try:
        value = ast.literal_eval(expression.strip())
    except (ValueError, SyntaxError):
        return expression.strip()
    return value if isinstance(value, str) else expression.strip()


def _timer_start_problems(triggers: tuple[tuple[str, str, str], ...], filename: str) -> list[Problem]:
    """A timer start event the scheduler could not follow is refused at deployment, not found out later."""
    problems = []
    for kind, name, element_id in triggers:
        if kind != "timer":
            continue
        timer_kind, _, value = name.partition(":")
        try:
            if len(name) > 200:
                raise ValueError("longer than 200 characters")
            check_timer(timer_kind, value)
        except ValueError as err:
            problems.append(Problem(f"the timer start event's {timer_kind} cannot be scheduled: {err} "
                                    "(write a quoted ISO-8601 value, e.g. \"R/2026-03-01T08:00/P1M\")",
                                    file=filename, element_id=element_id))
    return problems


def _content(files: list[ModelFile], name: str) -> bytes:
    return next(f.content for f in files if f.name == name)


def _duplicate_process(err: ValidationException, parser: HuhuaBpmnParser, filename: str) -> Problem | None:
    """SpiffWorkflow's "Duplicate process ID" naming both places and what to change; None for other errors."""
    found = re.fullmatch(r"Duplicate process ID: (\S+?)\.?", (str(err).splitlines() or [""])[0].strip())
    if found is None:
        return None
    process_id = found.group(1)
    first = parser.process_parsers.get(process_id)
    where = _problem_from_spiff(err, filename)
    if first is None or first.filename == filename:
        said = Phrase("the process id %(id)s is defined twice in %(file)s; give one of the processes another id",
                      id=process_id, file=filename)
    else:
        said = Phrase("the process id %(id)s is defined in %(first)s and again in %(file)s; give one of them another "
                      "id (and name that id in the call activities that mean it), or deploy the two files apart",
                      id=process_id, first=first.filename, file=filename)
    return Problem(said, file=filename, line=where.line, element_id=process_id)


#: SpiffWorkflow's words for a decision or a called process that no given file defines.
_NO_DECISION = re.compile(r'No DMN Diagram available with id "(?P<ref>[^"]*)"')
_NO_PROCESS = re.compile(r"The process '(?P<ref>[^']*)' was not found")


def _problem_from_spiff(err: ValidationException, default_file: str | None) -> Problem:
    message: str | Phrase = str(err).splitlines()[0] if str(err) else type(err).__name__
    if found := _NO_DECISION.match(str(message)):
        message = Phrase("decision '%(ref)s' is in none of the files given: add the .dmn file that defines "
                         "decision '%(ref)s' (deploy or validate it together with this model)", ref=found["ref"])
    elif found := _NO_PROCESS.match(str(message)):
        message = Phrase("the called process '%(ref)s' is in none of the files given: add the .bpmn file that "
                         "defines process '%(ref)s' (deploy or validate it together with this model)",
                         ref=found["ref"])
    line = getattr(err, "line_number", None)
    return Problem(
        message,
        file=getattr(err, "file_name", None) or default_file,
        line=int(line) if isinstance(line, int) or (isinstance(line, str) and line.isdigit()) else None,
        element_id=getattr(err, "id", None) or None,
    )
