"""DMN cells are checked at deploy as the engine will evaluate them, on every path (the DMN editor's API, an
upload, the command line): a cell that would fail in every instance (``>= 九十分``: unquoted text, a name
nothing defines) is refused with the file, decision, rule, column and cell named, in the reader's language,
with its location for programs, and nothing is deployed. What the library and the fixtures write still deploys.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from flask.testing import FlaskClient

from engine.bootstrap import Huhua
from engine.commands import ENGINE, StartInstance
from engine.web import create_app
from tests.helpers import FIXTURES, deploy_fixtures

AS_ADMIN = {"X-Huhua-User": "admin"}
FILES = ("score_review.bpmn", "score_band.dmn", "score_confirm.form.json")
PROJECT = Path(__file__).parent.parent
TABLE = (FIXTURES / "score_band.dmn").read_text()
#: the same table declaring SpiffWorkflow's Python cells, the path kept for existing models
PYTHON_TABLE = TABLE.replace('id="score_band_definitions"', 'id="score_band_definitions" expressionLanguage="python"')


@pytest.fixture
def client(huhua: Huhua) -> Iterator[FlaskClient]:
    deploy_fixtures(huhua, *FILES)
    with create_app(huhua, {"TESTING": True}).test_client() as client:
        yield client


def _deploy_edit(client: FlaskClient, xml: str, query: str = "") -> tuple[int, dict]:
    answer = client.post(f"/api/v1/process-definitions/1/decisions/score_band/deploy{query}", headers=AS_ADMIN,
                         json={"xml": xml})
    return answer.status_code, answer.json


def _versions(client: FlaskClient) -> list[int]:
    return [d["version"] for d in client.get("/api/v1/process-definitions?key=score_review", headers=AS_ADMIN).json]


def test_a_cell_naming_what_nothing_defines_is_refused_with_its_location_in_chinese(client: FlaskClient) -> None:
    status, answer = _deploy_edit(client, TABLE.replace("&gt;= 60", "&gt;= 九十分"))

    assert status == 422, answer
    assert answer["message"] == "决策表中有引擎无法求值的内容，未部署任何新版本（1 处问题）。"
    [problem] = answer["problems"]
    assert problem["message"] == (
        "score_band.dmn，决策“考核等级”（score_band），第 1 条规则，输入列“得分”，单元格「>= 九十分」："
        "“九十分”既不是本表的输入，也不是引擎认识的函数；文字请加英文双引号（\"九十分\"），数值请写阿拉伯数字（如 90）")
    assert problem["element_id"] == "rule_pass_score" and problem["file"] == "score_band.dmn"
    assert problem["location"] == {
        "decision_id": "score_band", "decision_name": "考核等级", "rule_id": "rule_pass", "rule_number": 1,
        "input_id": "in_score", "entry_id": "rule_pass_score", "column": "得分", "cell": ">= 九十分",
        "reason": "dmn_unknown_names", "names": ["九十分"]}
    assert _versions(client) == [1]


def test_the_refusal_is_in_english_once_chosen(client: FlaskClient) -> None:
    status, answer = _deploy_edit(client, TABLE.replace('"不合格"', "不合格"), "?lang=en")

    assert status == 422
    assert answer["message"] == ("The decision table holds what the engine cannot evaluate; nothing was deployed "
                                 "(1 problem(s)).")
    [problem] = answer["problems"]
    assert problem["message"] == (
        "score_band.dmn, decision '考核等级' (score_band), rule 2, output column '等级', cell '不合格': '不合格' is "
        "neither an input of this table nor a function the engine knows; write text in quotes (\"不合格\") and "
        "numbers as digits (90)")
    assert problem["location"]["output_id"] == "out_band" and problem["location"]["rule_id"] == "rule_fail"
    assert _versions(client) == [1]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # the check stores nothing: one database will do
@pytest.mark.parametrize(("table", "before", "after", "reason", "element"), [
    (TABLE, "&gt;= 60", "&gt;= passmark", "dmn_unknown_names", "rule_pass_score"),  # a name the table has no input for
    (TABLE, "&gt;= 60", "&gt;= 60 and", "dmn_input_syntax", "rule_pass_score"),
    (TABLE, "&lt; 60", "eval('1')", "dmn_input_syntax", "rule_fail_score"),  # not FEEL
    (TABLE, "&lt; 60", 'eval("1")', "dmn_unknown_names", "rule_fail_score"),  # FEEL cannot reach Python
    (PYTHON_TABLE, "&lt; 60", "eval('1')", "dmn_refused", "rule_fail_score"),  # the sandbox's verdict, as at run time
    (TABLE, '"合格"', '"合格" +', "dmn_output_syntax", "rule_pass_band"),
    (PYTHON_TABLE, '"合格"', "score.__class__", "dmn_refused", "rule_pass_band"),
    (TABLE, "<text>score</text>", "<text>score +</text>", "dmn_input_expression", "in_score_expr"),
    (TABLE, "&gt;= 60", '&gt;= "九十"', "dmn_mistyped", "rule_pass_score"),  # quoted, but a number column
    (TABLE, "&lt; 60", '"甲"', "dmn_mistyped", "rule_fail_score"),  # would never match a number
    (TABLE, '"合格"', "1", "dmn_mistyped", "rule_pass_band"),  # a number in a string column
    (TABLE, "&lt; 60", 'date("2026-09-01")', "dmn_mistyped", "rule_fail_score"),  # a date in a number column
    (PYTHON_TABLE, "&gt;= 60", '&gt;= "九十"', "dmn_mistyped", "rule_pass_score"),
])
def test_each_kind_of_unevaluable_cell_is_refused_and_located(client: FlaskClient, table: str, before: str,
                                                              after: str, reason: str, element: str) -> None:
    status, answer = _deploy_edit(client, table.replace(before, after, 1))

    assert status == 422, answer
    assert [(p["location"]["reason"], p["element_id"]) for p in answer["problems"]] == [(reason, element)]
    assert "考核等级" in answer["problems"][0]["message"] and "未部署" in answer["message"]
    assert _versions(client) == [1]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_quoted_floor_in_the_monthly_grade_table_is_refused_as_text_in_a_number_column(huhua: Huhua) -> None:
    """Having learnt to quote, one writes "九十" as 月查等级's floor: the monthly check's script would compare it."""
    band = (PROJECT / "processes" / "monthly_check_band.dmn").read_text()
    band = band.replace("<text>90</text>", '<text>"九十"</text>')
    with create_app(huhua, {"TESTING": True}).test_client() as client:
        refused = client.post("/api/v1/validate?lang=en", headers=AS_ADMIN,
                              json={"files": [{"name": "monthly_check_band.dmn", "content": band}]})
    assert refused.status_code == 422
    [problem] = refused.json["problems"]
    assert problem["message"].endswith(
        "rule 1, output column '最低分', cell '\"九十\"': the column holds number values, but \"九十\" is a text "
        "value: write numbers without quotes (90) and text in quotes (\"pass\")")
    assert problem["location"]["output_id"] == "out_floor" and problem["location"]["reason"] == "dmn_mistyped"


def test_cells_written_as_the_engine_reads_them_still_deploy_and_evaluate(client: FlaskClient, huhua: Huhua) -> None:
    """Python cells, declared: values, comparisons, tests on ?, '-', builtins, outputs computed from the input."""
    xml = (PYTHON_TABLE.replace("&gt;= 60", "60 &lt;= ? &lt; 90").replace('"合格"', 'f"{round(score)} 分"')
           .replace("&lt; 60", "-").replace('"不合格"', '"优秀" if score &gt;= 90 else "不合格"'))

    status, answer = _deploy_edit(client, xml)

    assert status == 201, answer
    bands = {score: huhua.queries.instance(huhua.execute(StartInstance(
        "score_review", "admin", variables={"score": score}, origin=ENGINE))["id"])["data"]["band"]
             for score in (70, 95, 10)}
    assert bands == {70: "70 分", 95: "优秀", 10: "不合格"}


def test_an_upload_bringing_a_broken_table_deploys_nothing(huhua: Huhua) -> None:
    files = [{"name": name, "content": (FIXTURES / name).read_text()} for name in FILES]
    files[1]["content"] = TABLE.replace("&gt;= 60", "&gt;= 九十分")
    with create_app(huhua, {"TESTING": True}).test_client() as client:
        refused = client.post("/api/v1/deployments", json={"files": files}, headers=AS_ADMIN)
        assert refused.status_code == 422
        assert refused.json["problems"][0]["location"]["entry_id"] == "rule_pass_score"
        assert client.get("/api/v1/process-definitions", headers=AS_ADMIN).json == []


def test_the_command_line_names_the_cell_and_gives_its_location(cli: Callable[..., Result], huhua: Huhua,
                                                                tmp_path: Path) -> None:
    (tmp_path / "score_band.dmn").write_text(TABLE.replace("&gt;= 60", "&gt;= 九十分"))
    files = [str(FIXTURES / "score_review.bpmn"), str(tmp_path / "score_band.dmn")]

    said = cli("deploy", *files)

    assert said.exit_code == 2
    assert ("score_band.dmn:9, element rule_pass_score: decision '考核等级' (score_band): rule 1, input '得分': "
            "'>= 九十分': '九十分' is neither an input of this table nor a function the engine knows") in said.output
    answer = json.loads(cli("deploy", "--json", *files).stderr)
    assert answer["problems"][0]["location"]["rule_id"] == "rule_pass"
    assert huhua.queries.definitions() == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_every_library_and_fixture_table_passes(cli: Callable[..., Result]) -> None:
    """What the shipped library and the tests write today (``75 <= ? < 90``, ``False``, ``"甲"``) is not refused."""
    tables = sorted(str(p) for p in (*(PROJECT / "processes").glob("*.dmn"), *FIXTURES.glob("*.dmn")))
    processes = sorted(str(p) for p in (PROJECT / "processes").glob("*.bpmn"))
    assert len(tables) > 20

    checked = cli("validate", *processes, *tables)

    assert checked.exit_code == 0, checked.output
