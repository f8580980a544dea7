"""Task-spec behaviour that Huhua adds to SpiffWorkflow by subclassing, never by copying its source.

* :class:`ExternalParallelMultiInstanceTask` keeps the instances of a parallel multi-instance
  *human* task outside the task tree. SpiffWorkflow would add one child task per item, so every
  completion re-walks and re-serialises all N siblings (its cost grows ~30x from 10 to 1,000
  items). Here the items become rows of their own; the tree holds one waiting task until the
  engine hands back every item's result (see ``engine.runtime.multi_instance``).
* The timer definitions read the engine's injected clock instead of the wall clock, so that
  tests and simulations can run on virtual time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.spiff.specs.defaults import ParallelMultiInstanceTask
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from engine.bpmn.timevalues import parse_instant

#: The most item instances one parallel multi-instance human task may create (each is a task row).
MAX_ITEMS = 100_000
EXTERNAL_ITEMS = "external_items"
EXTERNAL_PENDING = "external_pending"


#: An ISO-8601 duration (P3D, PT1H30M), repetition (R3/PT1H, R/2026-03-01T08:00/P1M) or date-time, as models
#: write them unquoted; anything else (publicity_ends, working_days_later(5)) is an expression.
_ISO_LITERAL = re.compile(r"P(?=\d|T\d)(\d+(\.\d+)?[YMWD])*(T(\d+(\.\d+)?[HMS])+)?|R\d*/\S+"
                          r"|\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?")


def timer_value(my_task: Any, expression: str) -> Any:
    """A timer's value: an ISO-8601 literal as BPMN writes it (``P2D``), or else an expression on the data."""
    text = (expression or "").strip()
    if _ISO_LITERAL.fullmatch(text):
        return text
    value = my_task.workflow.script_engine.evaluate(my_task, text)
    if not isinstance(value, str):  # a timedelta or datetime: SpiffWorkflow would fail later, naming no element
        raise WorkflowTaskException(
            f"the timer expression '{text}' gave {type(value).__name__} {value!r}, not ISO 8601 text; write a duration "
            "such as 'PT30S', or a date-time as text (x.isoformat())", task=my_task)
    return value


def engine_now(my_task: Any) -> datetime:
    """The engine clock's time as seen from a task, falling back to the wall clock outside the engine."""
    clock = getattr(my_task.workflow.top_workflow.script_engine, "clock", None)
    return clock.now() if clock is not None else datetime.now(UTC)


class ExternalParallelMultiInstanceTask(ParallelMultiInstanceTask):
    """A parallel multi-instance whose item instances live outside the task tree."""

    def create_children(self, my_task: Any) -> None:
        if self.condition is not None:
            # A completion condition must be evaluated against each finished item in the tree.
            super().create_children(my_task)
            return
        if self.data_input is not None:
            data_input = self.data_input.get(my_task)
            if isinstance(data_input, Mapping):
                items = [[key, value] for key, value in data_input.items()]
            elif isinstance(data_input, Sequence) and not isinstance(data_input, str):
                items = [[idx, value] for idx, value in enumerate(data_input)]
            else:
                items = [[None, value] for value in data_input]
        else:
            cardinality = int(my_task.workflow.script_engine.evaluate(my_task, self.cardinality))
            if not 0 <= cardinality <= MAX_ITEMS:
                self.raise_data_exception(f"loop cardinality {cardinality} is outside 0..{MAX_ITEMS}", my_task)
            items = [[idx, idx] for idx in range(cardinality)]
        if len(items) > MAX_ITEMS:
            self.raise_data_exception(f"{len(items)} items are more than the {MAX_ITEMS} one activity may hand out",
                                      my_task)
        if self.data_output is not None:
            if self.data_input is not None:
                self.init_data_output_with_input_data(my_task, self.data_input.get(my_task))
            elif not self.data_output.exists(my_task):
                self.data_output.set(my_task, [])
        my_task.internal_data[EXTERNAL_ITEMS] = items
        my_task.internal_data[EXTERNAL_PENDING] = len(items)

    def children_complete(self, my_task: Any) -> bool:
        if EXTERNAL_PENDING in my_task.internal_data:
            return my_task.internal_data[EXTERNAL_PENDING] == 0
        return super().children_complete(my_task)

    def item_data(self, item: Any) -> dict[str, Any]:
        """The data one item instance starts with (its input item, if the model names one)."""
        return {self.input_item.bpmn_id: item} if self.input_item is not None else {}

    def finish_external(self, my_task: Any, results: list[tuple[Any, dict[str, Any]]]) -> None:
        """Merge every item's result into this task, in item order, and let the task complete (each item's
        post-script first, as SpiffWorkflow runs it when an item in the tree completes)."""
        post = getattr(my_task.workflow.spec.task_specs[self.task_spec], "postscript", None)
        for key_or_index, data in results:
            if post:
                run_item_script(my_task, post, data)
            if self.data_output is not None and self.output_item is not None:
                name = self.output_item.bpmn_id
                if name not in data:
                    self.raise_data_exception(f"an item finished without its output item '{name}'", my_task)
                collection = self.data_output.get(my_task)
                if isinstance(collection, dict) or (key_or_index is not None and self._updates_in_place(my_task)):
                    collection[key_or_index] = data[name]
                else:
                    collection.append(data[name])
            else:
                DeepMerge.merge(my_task.data, data)
        my_task.internal_data[EXTERNAL_PENDING] = 0
        my_task.internal_data["merged"] = [str(k) for k, _ in results]
        my_task._set_state(TaskState.READY)

    def _updates_in_place(self, my_task: Any) -> bool:
        return self.data_input is not None and self.data_input.get(my_task) is self.data_output.get(my_task)


def run_item_script(my_task: Any, script: str, data: dict[str, Any]) -> None:
    """Run an item's pre- or post-script on its own ``data``, seeing the activity's data it does not shadow."""
    around = {name: value for name, value in my_task.data.items() if name not in data}
    my_task.workflow.script_engine.environment.execute(script, data, around)


class ClockTimeDate(TimeDateEventDefinition):
    def has_fired(self, my_task: Any) -> bool:
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = timer_value(my_task, self.expression)
            _read_timer(my_task, event_value, parse_instant)
            my_task._set_internal_data(event_value=event_value)
        if parse_instant(event_value) <= engine_now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockDuration(DurationTimerEventDefinition):
    def has_fired(self, my_task: Any) -> bool:
        now = engine_now(my_task)
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = timer_value(my_task, self.expression)
            parsed = _read_timer(my_task, expression, TimerEventDefinition.parse_iso_duration)
            event_value = (now + TimerEventDefinition.get_timedelta_from_start(parsed, now)).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if parse_instant(event_value) <= now:
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockCycle(CycleTimerEventDefinition):
    def cycle_complete(self, my_task: Any) -> bool:
        now = engine_now(my_task)
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = timer_value(my_task, self.expression)
            cycles, start, duration = _read_timer(my_task, expression, lambda text: _recurring_interval(text, now))
            event_value = {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= now:
                event_value["next"] = (next_event + timedelta(seconds=event_value["duration"])).isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


def _read_timer(my_task: Any, text: str, read: Any) -> Any:
    """``read(text)``; a value it cannot read fails on the timer's element, saying what it got."""
    try:
        return read(text)
    except Exception as err:  # SpiffWorkflow raises a bare Exception for a bad duration
        raise WorkflowTaskException(f"the timer's value '{text}' is not ISO 8601 ({err})", task=my_task) from None


def _recurring_interval(expression: str, now: datetime) -> tuple[int, datetime, timedelta]:
    parts = expression.upper().replace("--", "/").strip("R").split("/")
    if len(parts) == 2 and parts[1].startswith("P"):
        # "R3/PT1H": the first occurrence is one interval from now (on the engine clock).
        cycles = int(parts[0]) if parts[0] else -1
        duration = TimerEventDefinition.get_timedelta_from_start(
            TimerEventDefinition.parse_iso_duration(parts[1]), now)
        return cycles, now + duration, duration
    return TimerEventDefinition.parse_iso_recurring_interval(expression)


_CLOCK_TIMERS: dict[type, type] = {
    TimeDateEventDefinition: ClockTimeDate,
    DurationTimerEventDefinition: ClockDuration,
    CycleTimerEventDefinition: ClockCycle,
}


#: Each clock-reading timer and the SpiffWorkflow timer it replaces (whose serializer it shares).
CLOCK_TIMER_BASES: dict[type, type] = {clock: base for base, clock in _CLOCK_TIMERS.items()}


def clock_aware(definition: Any) -> Any:
    """Return the clock-reading equivalent of a parsed timer definition (others unchanged)."""
    replacement = _CLOCK_TIMERS.get(type(definition))
    if replacement is not None:
        return replacement(definition.name, definition.expression, description=definition.description)
    nested = getattr(definition, "event_definitions", None)
    if nested:
        definition.event_definitions = [clock_aware(d) for d in nested]
    return definition
