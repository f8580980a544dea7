"""Runs the DMN TCK's test cases (compliance levels 2 and 3) through the engine's DMN layer (``engine.dmn``,
the one business rule tasks use): one result row per test case, compared as the TCK says (numbers as decimals,
lists, contexts, dates and durations, null).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree

from engine.dmn.boxed import Evaluation, service_function
from engine.dmn.model import Model
from engine.dmn.xml import PARSER
from engine.feel import FeelSyntaxError, to_text
from engine.feel.errors import FeelNull
from engine.feel.semantics import equal, kind
from engine.feel.temporal import parse_date, parse_date_time, parse_duration, parse_time

SUITE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "dmn-tck"
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
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
            model = Model.from_paths(chosen + [other for other in models if other not in chosen])
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
