"""The betsy conformance suite: every test, every case, against a committed baseline that may only rise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conformance.harness import SUITE, load_tests, run_case, summarise

pytestmark = pytest.mark.slow  # the whole conformance suite

BASELINE = Path(__file__).with_name("baseline.json")


def test_betsy_conformance(sqlite_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert SUITE.is_dir(), f"the betsy suite is missing at {SUITE}"
    results = [run_case(test, case, sqlite_template, tmp_path) for test in load_tests() for case in test["cases"]]
    table, totals = summarise(results)
    with capsys.disabled():
        print("\nbetsy conformance\n" + table)
    baseline = json.loads(BASELINE.read_text())
    assert len(results) == 210 and totals["tests"] >= baseline["tests"] and totals["cases"] >= baseline["cases"], (
        f"conformance fell below the baseline {baseline}: {totals}\n{table}")
