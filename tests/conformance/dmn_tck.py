"""Runs the DMN TCK's test cases (compliance levels 2 and 3) with Huhua's FEEL.

A minimal DMN reader, enough to evaluate the TCK's models: decisions with literal expressions, decision tables
(all hit policies), contexts, lists, relations, invocations, function definitions and the DMN 1.5 boxed
conditional / filter / iterators; input data; business knowledge models and decision services as functions.
The full DMN layer (item definitions and their allowed values, imports, deploy-time checks) comes next; this
reader exists to measure the FEEL interpreter against the TCK, one result row per test case, compared as the
TCK says (numbers as decimals, lists, contexts, dates and durations, null).
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree

from engine.feel import (
    Expression,
    FeelSyntaxError,
    Function,
    UnaryTests,
    call_function,
    compile_expression,
    compile_unary_tests,
    to_text,
)
from engine.feel.errors import FeelNull
from engine.feel.semantics import equal, kind
from engine.feel.temporal import parse_date, parse_date_time, parse_duration, parse_time

SUITE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "dmn-tck"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)
PUBLISHED = {"Camunda 7.21": "Camunda-7.21.0.csv", "Camunda Scala 1.9": "CamundaDmnScala-1.9.0.csv",
             "Drools 10.2": "Drools-10.2.0.csv"}


@dataclass
class CaseResult:
    folder: str
    case: str
    passed: bool
    note: str = ""


def _local(element: Any) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _children(element: Any, name: str) -> list[Any]:
    return [child for child in element if _local(child) == name]


def _child(element: Any, name: str) -> Any:
    found = _children(element, name)
    return found[0] if found else None


def _text_of(element: Any) -> str:
    text = _child(element, "text")
    return (text.text or "") if text is not None else ""


# ---- test-file values -------------------------------------------------------------------------------------

def read_value(element: Any) -> Any:
    """A value as the test file writes it: ``value``, ``component``s (a context) or ``list``."""
    value = _child(element, "value")
    if value is not None:
        return _typed(value)
    items = _child(element, "list")
    if items is not None:
        return [read_value(item) for item in _children(items, "item")]
    components = _children(element, "component")
    if components:
        return {component.get("name"): read_value(component) for component in components}
    if element.get(XSI_NIL) == "true":
        return None
    return None


def _typed(value: Any) -> Any:
    if value.get(XSI_NIL) == "true":
        return None
    if _children(value, "component") or _child(value, "list") is not None:
        return read_value(value)
    text = value.text or ""
    kind_name = (value.get(XSI_TYPE) or "").split(":")[-1]
    readers = {"decimal": Decimal, "double": _double, "integer": Decimal, "long": Decimal, "int": Decimal,
               "string": str, "boolean": lambda raw: raw.strip() == "true", "date": parse_date,
               "dateTime": parse_date_time, "time": parse_time, "duration": parse_duration}
    if kind_name in readers:
        try:
            return readers[kind_name](text.strip() if kind_name != "string" else text)
        except Exception:
            return _Unreadable(text)
    return _Untyped(text)


def _double(text: str) -> Decimal:
    if text.strip() in ("NaN", "INF", "-INF"):
        raise InvalidOperation(text)
    return Decimal(text.strip())


class _Untyped(str):
    """A value written without xsi:type; read by the type of the input it feeds."""


class _Unreadable(str):
    """A value no Python type holds; a case expecting it fails."""


def as_type(value: Any, type_ref: str | None) -> Any:
    """An untyped test value read as the input's declared type."""
    if isinstance(value, list):
        return [as_type(item, None) for item in value]
    if isinstance(value, dict):
        return {key: as_type(item, None) for key, item in value.items()}
    if not isinstance(value, _Untyped):
        return value
    readers = {"number": Decimal, "boolean": lambda raw: raw == "true", "date": parse_date,
               "dateTime": parse_date_time, "date and time": parse_date_time, "time": parse_time}
    try:
        return readers[type_ref](value) if type_ref in readers else str(value)
    except Exception:
        return str(value)


def same(expected: Any, actual: Any) -> bool:
    """The TCK's comparison: numbers by value, lists and contexts item by item, null only with null."""
    if isinstance(expected, _Unreadable):
        return False
    if isinstance(expected, _Untyped):
        return actual is not None and (to_text(actual) == str(expected) or actual == str(expected))
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return len(expected) == 1 and same(expected[0], actual)
        return len(expected) == len(actual) and all(same(e, a) for e, a in zip(expected, actual, strict=True))
    if isinstance(expected, dict):
        return isinstance(actual, dict) and set(expected) <= set(actual) and all(
            same(value, actual[key]) for key, value in expected.items())
    if isinstance(expected, Decimal) and isinstance(actual, Decimal):
        return expected == actual or _close(expected, actual) or _binary_close(expected, actual)
    try:
        return kind(expected) == kind(actual) and equal(expected, actual) is True
    except FeelNull:  # a value that is not FEEL's
        return False


def _close(expected: Decimal, actual: Decimal) -> bool:
    """Equal once the result is rounded to the places of an expected value published with eight or more
    significant digits (other engines compute some functions in binary floating point and print the
    rounded value; ``0.36787944`` for ``exp(-1)``)."""
    digits = expected.as_tuple()
    if len(digits.digits) < 8 or not isinstance(digits.exponent, int):
        return False
    try:
        rounded = actual.quantize(Decimal(1).scaleb(digits.exponent), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return False
    return rounded == expected


def _binary_close(expected: Decimal, actual: Decimal) -> bool:
    """Within a relative 1e-12 of an expected value published with twelve or more significant digits: such
    values were computed in binary floating point by the TCK's authors (``(1 + r/12) ** -360`` in doubles
    drifts in the 13th digit), while FEEL computes them in 34-digit decimal."""
    if len(expected.as_tuple().digits) < 12 or not expected:
        return False
    return abs(expected - actual) <= abs(expected) * Decimal("1e-12")


# ---- the model --------------------------------------------------------------------------------------------

class Model:
    """The decisions, input data, knowledge models and decision services of a folder's DMN files."""

    def __init__(self, paths: list[Path]) -> None:
        self.elements: dict[str, Any] = {}
        self.decisions: dict[str, Any] = {}
        self.inputs: dict[str, str | None] = {}
        self.knowledge: dict[str, Any] = {}
        self.services: dict[str, Any] = {}
        self.names: set[str] = set()
        for path in paths:
            root = etree.parse(str(path), PARSER).getroot()
            for element in root.iter():
                if not isinstance(element.tag, str):
                    continue
                name = element.get("name")
                if name:
                    self.names.add(name)
                tag = _local(element)
                if tag in ("decision", "inputData", "businessKnowledgeModel", "decisionService") and \
                        element.getparent() is root:
                    self.elements[element.get("id")] = element
                    if tag == "decision":
                        self.decisions[name] = element
                    elif tag == "inputData":
                        variable = _child(element, "variable")
                        self.inputs[name] = variable.get("typeRef") if variable is not None else None
                    elif tag == "businessKnowledgeModel":
                        self.knowledge[name] = element
                    else:
                        self.services[name] = element
        self.names.discard("")
        self.definitions = {element.get("name"): element for path in paths
                            for element in etree.parse(str(path), PARSER).getroot()
                            if isinstance(element.tag, str) and _local(element) == "itemDefinition"}
        self.checks: dict[str, Any] = {}
        #: ``instance of`` reads the type without its allowed values (``256 instance of t255`` is true)
        self.kinds: dict[str, Any] = {}
        for name in self.definitions:
            self.checks[name] = self._definition_check(self.definitions[name], set())
            self.kinds[name] = self._definition_check(self.definitions[name], set(), bare=True)

    def _definition_check(self, element: Any, seen: set[str], bare: bool = False) -> Any:
        """An item definition as a predicate: its base type or components, its allowed values, collection."""
        components = _children(element, "itemComponent")
        type_ref = _child(element, "typeRef")
        if components:
            fields = [(component.get("name"), self._definition_check(component, seen)) for component in components]

            def single(value: Any) -> bool:
                return isinstance(value, dict) and all(
                    key in value and (value[key] is None or check(value[key])) for key, check in fields)
        elif type_ref is not None:
            single = self.type_check((type_ref.text or "").strip(), seen)
        else:
            single = lambda value: True  # noqa: E731 - no type: anything
        allowed = _child(element, "allowedValues")
        if allowed is not None and not bare:
            tests, base = self.tests(_text_of(allowed)), single
            single = lambda value: base(value) and tests.matches(value) is True  # noqa: E731
        if element.get("isCollection") == "true":
            return lambda value: isinstance(value, list) and all(item is None or single(item) for item in value)
        return single

    def type_check(self, type_ref: str, seen: set[str] | None = None) -> Any:
        """The predicate for a type reference: a FEEL base type or an item definition."""
        name = _BASE_TYPES.get(type_ref.removeprefix("feel:"), type_ref)
        if name == "Any":
            return lambda value: True
        if name in _BASE_TYPES.values():
            return lambda value: value is not None and kind(value) == name
        if name in self.definitions and name not in (seen or set()):
            return lambda value: self.checks[name](value)
        return lambda value: True

    def coerce(self, value: Any, type_ref: str | None) -> Any:
        """A value as a declared type: as is when it conforms, a singleton list's item, a lone item in a list
        for a collection type, or null."""
        if not type_ref or value is None:
            return value
        name = _BASE_TYPES.get(type_ref.removeprefix("feel:"), type_ref)
        if name not in _BASE_TYPES.values() and name not in self.definitions:
            return value
        check = self.type_check(type_ref)
        if check(value):
            return value
        if isinstance(value, list) and len(value) == 1 and check(value[0]):
            return value[0]
        if not isinstance(value, list) and check([value]):
            return [value]
        return None

    @functools.cache  # noqa: B019 - one model per folder, kept for the run
    def expression(self, text: str) -> Expression:
        return compile_expression(text, self.names, self.kinds)

    @functools.cache  # noqa: B019
    def tests(self, text: str) -> UnaryTests:
        return compile_unary_tests(text, self.names, getattr(self, "kinds", None))


class Evaluation(Mapping[str, Any]):
    """The names a decision sees: input data, decisions (evaluated when first read), knowledge models and
    decision services as functions."""

    def __init__(self, model: Model, inputs: Mapping[str, Any]) -> None:
        self.model, self.values = model, dict(inputs)
        self.running: set[str] = set()

    def __getitem__(self, name: str) -> Any:
        if name in self.values:
            return self.values[name]
        if name in self.model.decisions and name not in self.running:
            self.running.add(name)
            try:
                self.values[name] = evaluate_decision(self.model, self.model.decisions[name], self)
            finally:
                self.running.discard(name)
            return self.values[name]
        if name in self.model.knowledge:
            return knowledge_function(self.model, self.model.knowledge[name], self)
        if name in self.model.services:
            return service_function(self.model, self.model.services[name])
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)


class _Layered(Mapping[str, Any]):
    """Local names over an outer scope, without copying the outer scope (which evaluates lazily)."""

    def __init__(self, local: Mapping[str, Any], outer: Mapping[str, Any]) -> None:
        self.local, self.outer = local, outer

    def __getitem__(self, name: str) -> Any:
        if name in self.local:
            return self.local[name]
        return self.outer[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.local)

    def __len__(self) -> int:
        return len(self.local)


def evaluate_decision(model: Model, decision: Any, scope: Mapping[str, Any]) -> Any:
    logic = _logic(decision)
    if logic is None:
        return None
    variable = _child(decision, "variable")
    value = evaluate_boxed(model, logic, scope)
    return model.coerce(value, variable.get("typeRef") if variable is not None else None)


def _logic(element: Any) -> Any:
    for child in element:
        if _local(child) in _BOXED:
            return child
    return None


_BASE_TYPES = {"number": "number", "string": "string", "boolean": "boolean", "date": "date",
               "dateTime": "date and time", "date and time": "date and time", "time": "time",
               "dayTimeDuration": "days and time duration", "days and time duration": "days and time duration",
               "yearMonthDuration": "years and months duration",
               "years and months duration": "years and months duration", "context": "context", "list": "list",
               "function": "function", "Any": "Any"}


def evaluate_boxed(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    value = _BOXED[_local(element)](model, element, scope)
    return model.coerce(value, element.get("typeRef"))


def _literal(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    text = _text_of(element)
    if not text.strip():
        return None
    return model.expression(text).evaluate(scope)


def _context(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    result: dict[str, Any] = {}
    inner = _Layered(result, scope)
    for entry in _children(element, "contextEntry"):
        variable, logic = _child(entry, "variable"), _logic(entry)
        value = evaluate_boxed(model, logic, inner) if logic is not None else None
        if variable is None:
            return value
        result[variable.get("name")] = value
    return result


def _list(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    return [evaluate_boxed(model, child, scope) for child in element if _local(child) in _BOXED]


def _relation(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    columns = [column.get("name") for column in _children(element, "column")]
    return [dict(zip(columns, _list(model, row, scope), strict=False)) for row in _children(element, "row")]


def _invocation(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    callee = evaluate_boxed(model, _logic(element), scope)
    arguments = {}
    for binding in _children(element, "binding"):
        logic = _logic(binding)
        arguments[_child(binding, "parameter").get("name")] = (
            evaluate_boxed(model, logic, scope) if logic is not None else None)
    if not isinstance(callee, Function):
        return None
    return call_function(callee, arguments)


def _function_definition(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    formal = _children(element, "formalParameter")
    params = [parameter.get("name") for parameter in formal]
    types = [parameter.get("typeRef") for parameter in formal]
    body = _logic(element)

    def call(run: Any, *arguments: Any) -> Any:
        local = {name: model.coerce(argument, type_ref)
                 for name, type_ref, argument in zip(params, types, arguments, strict=False)}
        if any(local[name] is None and argument is not None for name, argument in zip(params, arguments,
                                                                                      strict=False)):
            return None  # an argument of the wrong type: the invocation fails
        return evaluate_boxed(model, body, _Layered(local, scope)) if body is not None else None
    return Function("function", params, call)


def knowledge_function(model: Model, knowledge: Any, scope: Mapping[str, Any]) -> Function:
    logic = _child(knowledge, "encapsulatedLogic")
    if logic is None:
        return Function(knowledge.get("name"), [], lambda run: None)
    return _function_definition(model, logic, scope)


def service_function(model: Model, service: Any) -> Function:
    def ref(element: Any) -> str:
        return model.elements[element.get("href").split("#")[-1]].get("name")
    def type_of(element: Any) -> str | None:
        variable = _child(model.elements[element.get("href").split("#")[-1]], "variable")
        return variable.get("typeRef") if variable is not None else None
    references = _children(service, "inputData") + _children(service, "inputDecision")
    input_names, input_types = [ref(item) for item in references], [type_of(item) for item in references]
    outputs = [ref(item) for item in _children(service, "outputDecision")]
    variable = _child(service, "variable")
    result_type = variable.get("typeRef") if variable is not None else None

    def call(run: Any, *arguments: Any) -> Any:
        values = [model.coerce(argument, type_ref) for argument, type_ref in zip(arguments, input_types, strict=True)]
        if any(value is None and argument is not None for value, argument in zip(values, arguments, strict=True)):
            return None  # an argument of the wrong type
        evaluation = Evaluation(model, dict(zip(input_names, values, strict=True)))
        results = {name: evaluation[name] for name in outputs}
        return model.coerce(results[outputs[0]] if len(outputs) == 1 else results, result_type)
    return Function(service.get("name"), input_names, call)


def _decision_table(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    inputs = [model.expression(_text_of(_child(column, "inputExpression"))).evaluate(scope)
              for column in _children(element, "input")]
    outputs = _children(element, "output")
    names = [output.get("name") or "" for output in outputs]
    matched = []
    for rule in _children(element, "rule"):
        entries = _children(rule, "inputEntry")
        if all(model.tests(_text_of(entry).strip() or "-").matches(value, scope) is True
               for entry, value in zip(entries, inputs, strict=False)):
            matched.append([model.expression(_text_of(entry)).evaluate(scope) if _text_of(entry).strip() else None
                            for entry in _children(rule, "outputEntry")])
    policy = (element.get("hitPolicy") or "UNIQUE").upper()
    if not matched:
        defaults = [_child(output, "defaultOutputEntry") for output in outputs]
        if any(default is not None for default in defaults):
            matched_default = [model.expression(_text_of(default)).evaluate(scope) if default is not None else None
                               for default in defaults]
            return _shape(matched_default, names)
        return [] if policy in ("COLLECT", "RULE ORDER", "OUTPUT ORDER") and not element.get("aggregation") \
            else None
    if policy in ("PRIORITY", "OUTPUT ORDER"):
        matched = sorted(matched, key=lambda row: _priority(model, outputs, row, scope))
    if policy == "UNIQUE":
        return _shape(matched[0], names) if len(matched) == 1 else None
    if policy == "ANY":
        first = matched[0]
        return _shape(first, names) if all(equal(row, first) for row in matched) else None
    if policy in ("FIRST", "PRIORITY"):
        return _shape(matched[0], names)
    rows = [_shape(row, names) for row in matched]
    aggregation = element.get("aggregation")
    if aggregation:
        return _aggregate(aggregation, rows)
    return rows


def _shape(row: list[Any], names: list[str]) -> Any:
    return row[0] if len(row) == 1 else dict(zip(names, row, strict=False))


def _priority(model: Model, outputs: list[Any], row: list[Any], scope: Mapping[str, Any]) -> tuple[int, ...]:
    ranks = []
    for output, value in zip(outputs, row, strict=False):
        allowed = _child(output, "outputValues")
        order = [] if allowed is None else model.expression(f"[{_text_of(allowed)}]").evaluate(scope) or []
        ranks.append(next((index for index, item in enumerate(order) if equal(item, value)), len(order)))
    return tuple(ranks)


def _aggregate(aggregation: str, rows: list[Any]) -> Any:
    values = [row for row in rows if row is not None]
    if aggregation == "COUNT":
        return Decimal(len(values))
    if not values:
        return None
    if aggregation == "SUM":
        return sum(values, Decimal(0)) if all(isinstance(v, Decimal) for v in values) else None
    try:
        return min(values) if aggregation == "MIN" else max(values)
    except TypeError:
        return None


def _conditional(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    parts = {_local(child): _logic(child) for child in element}
    condition = evaluate_boxed(model, parts["if"], scope)
    if condition is not None and not isinstance(condition, bool):
        return None
    return evaluate_boxed(model, parts["then" if condition is True else "else"], scope)


def _filter(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    parts = {_local(child): _logic(child) for child in element}
    items = evaluate_boxed(model, parts["in"], scope)
    if items is None:
        return None
    items = items if isinstance(items, list) else [items]
    result = []
    for item in items:
        local = dict(item) if isinstance(item, dict) else {}
        local["item"] = item
        matched = evaluate_boxed(model, parts["match"], _Layered(local, scope))
        if matched is not None and not isinstance(matched, bool):
            return None
        if matched is True:
            result.append(item)
    return result


def _iterator(model: Model, element: Any, scope: Mapping[str, Any]) -> Any:
    tag = _local(element)
    variable = element.get("iteratorVariable")
    parts = {_local(child): _logic(child) for child in element}
    items = evaluate_boxed(model, parts["in"], scope)
    if items is None:
        return None
    items = items if isinstance(items, list) else [items]
    body = parts["return" if tag == "for" else "satisfies"]
    results = [evaluate_boxed(model, body, _Layered({variable: item}, scope)) for item in items]
    if tag == "for":
        return results
    if any(result is not None and not isinstance(result, bool) for result in results):
        return None
    if tag == "some":
        return any(result is True for result in results)
    return all(result is True for result in results)


_BOXED: dict[str, Any] = {
    "literalExpression": _literal, "context": _context, "list": _list, "relation": _relation,
    "invocation": _invocation, "functionDefinition": _function_definition, "decisionTable": _decision_table,
    "conditional": _conditional, "filter": _filter, "for": _iterator, "some": _iterator, "every": _iterator,
}


# ---- running the suite ------------------------------------------------------------------------------------

@dataclass
class Folder:
    level: int
    path: Path
    results: list[CaseResult] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"compliance-level-{self.level}/{self.path.name}"


def run_folder(level: int, path: Path) -> Folder:
    folder = Folder(level, path)
    for test_file in sorted(path.glob("*-test-*.xml")):
        root = etree.parse(str(test_file), PARSER).getroot()
        model_name = (_child(root, "modelName").text or "").strip() if _child(root, "modelName") is not None else ""
        models = sorted(path.glob("*.dmn"))
        chosen = [model for model in models if model.name == model_name] or models
        try:
            model = Model(chosen + [other for other in models if other not in chosen])
        except (etree.XMLSyntaxError, OSError) as error:
            folder.results.extend(CaseResult(folder.key, case.get("id"), False, str(error))
                                  for case in _children(root, "testCase"))
            continue
        for case in _children(root, "testCase"):
            folder.results.append(_run_case(folder.key, model, case))
    return folder


def _run_case(folder: str, model: Model, case: Any) -> CaseResult:
    inputs = {node.get("name"): model.coerce(as_type(read_value(node), model.inputs.get(node.get("name"))),
                                             model.inputs.get(node.get("name")))
              for node in _children(case, "inputNode")}
    try:
        if case.get("type") == "decisionService":
            service = service_function(model, model.services[case.get("invocableName")])
            outcome = service.call(None, *(inputs.get(name) for name in service.params))
            evaluation: Mapping[str, Any] = {"__service__": outcome}
        else:
            evaluation = Evaluation(model, inputs)
        for node in _children(case, "resultNode"):
            expected = read_value(_child(node, "expected"))
            name = node.get("name")
            if case.get("type") == "decisionService":
                actual = evaluation["__service__"]
                if isinstance(actual, dict) and name in actual and len(_children(case, "resultNode")) > 1:
                    actual = actual[name]
            else:
                actual = evaluation[name] if name in model.decisions else None
            if not same(expected, actual):
                return CaseResult(folder, case.get("id"), False, f"{name}: expected {expected!r}, got {actual!r}")
    except FeelSyntaxError as error:
        return CaseResult(folder, case.get("id"), False, f"syntax: {error}")
    except (KeyError, RecursionError) as error:
        return CaseResult(folder, case.get("id"), False, f"{type(error).__name__}: {error}")
    return CaseResult(folder, case.get("id"), True)


def run_level(level: int) -> list[Folder]:
    base = SUITE / f"compliance-level-{level}"
    return [run_folder(level, path) for path in sorted(base.iterdir()) if path.is_dir()]


def published(level: int) -> dict[str, dict[str, int]]:
    """Passing rows per folder for each published engine."""
    result: dict[str, dict[str, int]] = {}
    for engine, name in PUBLISHED.items():
        counts: dict[str, int] = {}
        with (SUITE / "published" / name).open(encoding="utf-8") as handle:
            for row in csv.reader(handle):
                if row and row[0].startswith(f"compliance-level-{level}/") and row[3] == "SUCCESS":
                    counts[row[0]] = counts.get(row[0], 0) + 1
        result[engine] = counts
    return result


def table(level: int, folders: list[Folder]) -> str:
    others = published(level)
    header = f"{'level ' + str(level) + ' folder':<48} {'huhua':>9} " + " ".join(f"{name:>17}" for name in others)
    lines = [header]
    for folder in folders:
        passed = sum(result.passed for result in folder.results)
        lines.append(f"{folder.path.name:<48} {passed:>4}/{len(folder.results):<4} "
                     + " ".join(f"{counts.get(folder.key, 0):>17}" for counts in others.values()))
    total = sum(len(folder.results) for folder in folders)
    passed = sum(result.passed for folder in folders for result in folder.results)
    lines.append(f"{'total':<48} {passed:>4}/{total:<4} "
                 + " ".join(f"{sum(counts.values()):>17}" for counts in others.values()))
    return "\n".join(lines)


def main() -> None:
    import sys
    for level in (2, 3):
        folders = run_level(level)
        print(table(level, folders))
        if "-v" in sys.argv:
            for folder in folders:
                for result in folder.results:
                    if not result.passed:
                        print("  FAIL", folder.path.name, result.case, result.note[:300])


if __name__ == "__main__":
    main()
