"""The DMN TCK, compliance levels 2 and 3, with Huhua's FEEL: counts against a committed baseline that may only
rise, printed beside the engines' published results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conformance.dmn_tck import SUITE, run_level, table

pytestmark = pytest.mark.slow  # the whole DMN TCK

BASELINE = Path(__file__).with_name("dmn_tck_baseline.json")


@pytest.mark.parametrize("level", [2, 3])
def test_dmn_tck(level: int, capsys: pytest.CaptureFixture[str]) -> None:
    assert SUITE.is_dir(), f"the DMN TCK is missing at {SUITE}"
    folders = run_level(level)
    with capsys.disabled():
        print(f"\nDMN TCK compliance level {level}\n" + table(level, folders))
    passed = sum(result.passed for folder in folders for result in folder.results)
    rows = sum(len(folder.results) for folder in folders)
    baseline = json.loads(BASELINE.read_text())[f"level {level}"]
    assert rows == baseline["rows"], f"the suite changed: {rows} rows, the baseline counts {baseline['rows']}"
    assert passed >= baseline["passed"], f"level {level} fell below the baseline: {passed} < {baseline['passed']}"
