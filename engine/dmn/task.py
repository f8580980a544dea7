"""A business rule task's decision in FEEL: what SpiffWorkflow's ``BusinessRuleTask`` calls as its
``dmnEngine`` (``result(task)``: the values to merge into the task's data).

The task's data are the decision's input (read lazily, each name converted with ``from_python`` when a cell
reads it). A decision table's outputs go into the data under their output names as the Python-cell engine put
them, so processes read them alike: a single-hit table's outputs as values; COLLECT, RULE ORDER and OUTPUT
ORDER tables' as one list per output; an aggregation's as its value. Another decision logic's value goes
under the decision's variable name. A UNIQUE table with several matching rules (an ANY table with different
outputs) has no answer: the task fails with the rules named, rather than take one silently.

A name the decision reads that the task's data do not hold (and the model does not define) fails the task
too, naming the decision and the name: FEEL would read it as null, and a table would answer as if the value
were empty when it was never given (a field misnamed, a step skipped). The Python-cell engine failed alike. An
input that may be empty is given as null (``None``) by the process, or its table tests it for null in a column
of its own (a cell ``null``, see :func:`engine.dmn.tables.null_tested_inputs`): then absent reads as null.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from engine.dmn.boxed import Evaluation, evaluate_decision, logic_of
from engine.dmn.cache import compiled
from engine.dmn.results import to_python
from engine.dmn.tables import aggregate, hits, null_tested_inputs
from engine.dmn.xml import child, local
from engine.feel import from_python


class DecisionFailed(Exception):
    """The decision has no answer for these data."""


class TaskData(Mapping[str, Any]):
    """A task's data as FEEL reads them: each name converted on first read."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.read: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self.read:
            self.read[name] = from_python(self.data[name])
        return self.read[name]

    def __contains__(self, name: object) -> bool:
        return name in self.data

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


class FeelDecision:
    """Decision ``decision_id`` of a DMN file in FEEL, compiled once per content (``engine.dmn.cache``)."""

    def __init__(self, content: bytes, decision_id: str) -> None:
        self.content, self.decision_id = content, decision_id
        #: compiled when the process is built, not on the first instance
        self.may_be_absent = null_tested_inputs(compiled(content))

    def result(self, task: Any) -> dict[str, Any]:
        return self.evaluate(task.data)

    def evaluate(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The values to merge into ``data``; raises ``DecisionFailed`` when the decision has no answer."""
        model = compiled(self.content)
        name = model.decision_ids[self.decision_id]
        decision = model.decisions[name]
        scope = Evaluation(model, TaskData(data))
        logic = logic_of(decision)
        if logic is None or local(logic) != "decisionTable":
            variable = child(decision, "variable")
            key = (variable.get("name") if variable is not None else None) or name
            value = evaluate_decision(model, decision, scope)
            self._refuse_missing(name, scope)
            return _nested(key, to_python(value))
        found = hits(model, logic, scope)
        self._refuse_missing(name, scope)
        if found.conflict is not None:
            raise DecisionFailed(f"decision '{name}': {found.conflict}")
        names = [output or name for output in found.names]
        result: dict[str, Any] = {}
        if found.single:
            for key, value in zip(names, found.rows[0] if found.rows else [], strict=False):
                result = _merged(result, _nested(key, to_python(value)))
        elif found.aggregation:
            for column, key in enumerate(names):
                value = aggregate(found.aggregation, [row[column] for row in found.rows])
                result = _merged(result, _nested(key, to_python(value)))
        elif found.rows:
            for column, key in enumerate(names):
                result = _merged(result, _nested(key, [to_python(row[column]) for row in found.rows]))
        return result


    def _refuse_missing(self, name: str, scope: Evaluation) -> None:
        missing = sorted(scope.missing - self.may_be_absent)
        if missing:
            listed = ", ".join(f"'{each}'" for each in missing)
            raise DecisionFailed(
                f"decision '{name}' ({self.decision_id}) reads {listed}, which the task's data do not hold; give "
                f"{'it' if len(missing) == 1 else 'them'} a value (null when it may be empty) before this task")


def _nested(key: str, value: Any) -> dict[str, Any]:
    """``a.b`` → {"a": {"b": value}}, as the Python-cell engine wrote dotted output names."""
    head, _, rest = key.partition(".")
    return {head: _nested(rest, value) if rest else value}


def _merged(into: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            into[key] = _merged(dict(into[key]), value)
        else:
            into[key] = value
    return into
