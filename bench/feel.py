"""Evaluations per second of a 100-rule, 5-input decision table through the engine's DMN layer (``engine.dmn``,
the path a business rule task takes: task data in, converted, the table's hits shaped back into task data)
beside SpiffWorkflow's own DMN engine on the same table written in its Python dialect, measured in the same run;
the bare compiled FEEL unary tests too.

    .venv/bin/python -m bench.feel        # or ./scripts/bench.sh feel

Both tables are first-hit on the same inputs, and the inputs match only the last rule, so every rule is tried
(each rule stops at its first failing cell, in both engines). FEEL's cells are compiled once; SpiffWorkflow
parses and evaluates its Python cells through its script engine on each evaluation, as it does at run time.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.dmn.parser.BpmnDmnParser import BpmnDmnParser

from engine import bench_results
from engine.dmn.task import FeelDecision
from engine.feel import compile_unary_tests

RULES = 5 * 20
INPUTS = [("grade", "string"), ("days", "number"), ("urgent", "boolean"), ("age", "number"), ("score", "number")]
GRADES = ["甲", "乙", "丙", "丁"]


def rule_cells(index: int) -> tuple[list[str], list[str]]:
    """The cells of rule ``index``, in FEEL and in SpiffWorkflow's Python dialect."""
    low, high = index * 10, index * 10 + 10
    grades = [GRADES[index % 4], GRADES[(index + 1) % 4]]
    feel = [",".join(f'"{grade}"' for grade in grades), f"> {index % 7}", "true" if index % 2 else "-",
            f"< {index + 18}", f"[{low}..{high})"]
    python = [f" in ({', '.join(repr(grade) for grade in grades)})", f"> {index % 7}", "True" if index % 2 else "-",
              f"< {index + 18}", f"{low} <= ? < {high}"]
    return feel, python


def matching_inputs() -> dict[str, Any]:
    """Inputs only the last rule matches."""
    last = RULES - 1
    return {"grade": GRADES[last % 4], "days": 10, "urgent": True, "age": 17, "score": last * 10 + 5}


def feel_table() -> Callable[[dict[str, Any]], Any]:
    rules = [[compile_unary_tests(cell) for cell in rule_cells(index)[0]] for index in range(RULES)]
    names = [name for name, _ in INPUTS]

    def evaluate(inputs: dict[str, Any]) -> Any:
        values = [inputs[name] for name in names]
        for index, tests in enumerate(rules):
            if all(test.matches(value) is True for test, value in zip(tests, values, strict=True)):
                return index
        return None
    return evaluate


def dmn_file(dialect: int) -> str:
    """The table as a DMN file: its cells in FEEL (``dialect`` 0) or in SpiffWorkflow's Python (1)."""
    inputs = "".join(
        f'<input id="input_{column}" label="{name}"><inputExpression id="expression_{column}" typeRef="{kind}">'
        f"<text>{name}</text></inputExpression></input>" for column, (name, kind) in enumerate(INPUTS))
    rules = "".join(
        f'<rule id="rule_{index}">'
        + "".join(f'<inputEntry id="entry_{index}_{column}"><text>{_xml(cell)}</text></inputEntry>'
                  for column, cell in enumerate(rule_cells(index)[dialect]))
        + f'<outputEntry id="output_{index}"><text>{index}</text></outputEntry></rule>' for index in range(RULES))
    language = "https://www.omg.org/spec/DMN/20191111/FEEL/" if dialect == 0 else "python"
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="bench" name="bench" '
            f'namespace="http://huhua/bench" expressionLanguage="{language}"><decision id="table" name="table">'
            f'<decisionTable id="table_1" hitPolicy="FIRST">{inputs}'
            '<output id="output" name="rule" typeRef="number"/>'
            f"{rules}</decisionTable></decision></definitions>")


def dmn_layer_table() -> Callable[[dict[str, Any]], Any]:
    """The table as a business rule task evaluates it: ``FeelDecision`` on the task's (JSON) data."""
    decision = FeelDecision(dmn_file(0).encode(), "table")
    return lambda inputs: decision.evaluate(inputs).get("rule")


def spiff_table(directory: Path) -> Callable[[dict[str, Any]], Any]:
    path = directory / "bench.dmn"
    path.write_text(dmn_file(1), encoding="utf-8")
    parser = BpmnDmnParser()
    parser.add_dmn_file(str(path))
    engine = parser.get_engine("table", None)
    script_engine = PythonScriptEngine()

    def evaluate(inputs: dict[str, Any]) -> Any:
        task = SimpleNamespace(data=dict(inputs), workflow=SimpleNamespace(script_engine=script_engine))
        matched = engine.decide(task)
        return matched[0].row_number - 1 if matched else None
    return evaluate


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def rate(evaluate: Callable[[dict[str, Any]], Any], inputs: dict[str, Any], seconds: float = 2.0) -> float:
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        for _ in range(10):
            evaluate(inputs)
        count += 10
    return count / elapsed


def report_feel() -> None:
    """(h) the table's evaluations per second, printed and kept for the administrators' benchmark page."""
    plain = matching_inputs()
    feel_inputs = {name: Decimal(value) if isinstance(value, int) and not isinstance(value, bool) else value
                   for name, value in plain.items()}
    feel, layer = feel_table(), dmn_layer_table()
    with tempfile.TemporaryDirectory() as directory:
        spiff = spiff_table(Path(directory))
        assert feel(feel_inputs) == layer(plain) == spiff(plain) == RULES - 1, "the tables must agree"
        feel_rate, layer_rate, spiff_rate = rate(feel, feel_inputs), rate(layer, plain), rate(spiff, plain)
    print(f"{RULES}-rule, {len(INPUTS)}-input table, first hit on the last rule")
    print(f"  Huhua engine.dmn (business rule task) {layer_rate:>10,.0f} evaluations/s  "
          f"{1000 / layer_rate:.3f} ms each")
    print(f"  Huhua FEEL (compiled unary tests)     {feel_rate:>10,.0f} evaluations/s  "
          f"{1000 / feel_rate:.3f} ms each")
    print(f"  SpiffWorkflow DMN (Python cells)      {spiff_rate:>10,.0f} evaluations/s  "
          f"{1000 / spiff_rate:.3f} ms each")
    print(f"  ratio engine.dmn / SpiffWorkflow      {layer_rate / spiff_rate:>10.1f}x")
    bench_results.compare("h", f"{RULES} 条规则、{len(INPUTS)} 列的决策表求值（业务规则任务的 DMN 层）", "次/s",
                          layer_rate, spiff_rate, "SpiffWorkflow DMN（Python 单元格）")


if __name__ == "__main__":
    report_feel()
