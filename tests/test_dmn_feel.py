"""Decision tables as dmn-js writes them, in FEEL, deployed and run by a business rule task: the cells that
never matched or failed as Python cells (``"甲","乙"``, ``not("甲")``, ``true``, ``date("2026-09-01")``) match
as FEEL says, and each hit policy chosen from the editor's menu behaves as chosen."""

from __future__ import annotations

from typing import Any

import pytest

from engine.bootstrap import Huhua
from engine.commands import ENGINE, DeployEditedDecision, DeployModels, StartInstance
from engine.errors import InvalidModel
from tests.helpers import FIXTURES

#: One database: decisions evaluate in memory; the database only stores the files.
DATABASES = ("sqlite",)

FEEL_URI = "https://www.omg.org/spec/DMN/20191111/FEEL/"


def table(inputs: list[tuple[str, str, str]], outputs: list[tuple[str, str]], rules: list[tuple[list[str], list[str]]],
          hit_policy: str = "UNIQUE", aggregation: str | None = None, language: str = FEEL_URI) -> str:
    """A DMN file as dmn-js writes it: decision score_band (what score_review calls) with one table."""
    columns = "".join(f'<input id="in_{number}" label="{label}"><inputExpression id="in_{number}_expr" '
                      f'typeRef="{kind}"><text>{expression}</text></inputExpression></input>'
                      for number, (label, expression, kind) in enumerate(inputs))
    columns += "".join(f'<output id="out_{number}" name="{name}" typeRef="{kind}"/>'
                       for number, (name, kind) in enumerate(outputs))
    body = "".join(
        f'<rule id="rule_{number}">'
        + "".join(f'<inputEntry id="rule_{number}_in_{column}"><text>{_xml(cell)}</text></inputEntry>'
                  for column, cell in enumerate(cells))
        + "".join(f'<outputEntry id="rule_{number}_out_{column}"><text>{_xml(cell)}</text></outputEntry>'
                  for column, cell in enumerate(results))
        + "</rule>" for number, (cells, results) in enumerate(rules))
    collect = f' aggregation="{aggregation}"' if aggregation else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="考核等级" '
            f'namespace="http://huhua.example/decisions" expressionLanguage="{language}">'
            f'<decision id="score_band" name="考核等级"><decisionTable id="t" hitPolicy="{hit_policy}"{collect}>'
            f"{columns}{body}</decisionTable></decision></definitions>")


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def decide(huhua: Huhua, dmn: str, **variables: Any) -> dict[str, Any]:
    """Deploys ``dmn`` with the score_review process and runs its business rule task with ``variables``."""
    files = [(name, (FIXTURES / name).read_bytes()) for name in ("score_review.bpmn", "score_confirm.form.json")]
    huhua.execute(DeployModels(files=(*files, ("score_band.dmn", dmn.encode())), actor="admin"))
    started = huhua.execute(StartInstance("score_review", "admin", variables=variables, origin=ENGINE))
    return huhua.queries.instance(started["id"])


GRADE = [("等级", "grade", "string")]


@pytest.mark.parametrize(("grade", "band"), [("甲", "优"), ("乙", "优"), ("丙", "其他")])
def test_two_values_picked_in_a_string_column_match_either(huhua: Huhua, grade: str, band: str) -> None:
    dmn = table(GRADE, [("band", "string")], [(['"甲","乙"'], ['"优"']), (['not("甲","乙")'], ['"其他"'])])
    assert decide(huhua, dmn, grade=grade)["data"]["band"] == band


@pytest.mark.parametrize(("grade", "band"), [("甲", "甲等"), ("乙", "非甲")])
def test_a_negation_matches_everything_else(huhua: Huhua, grade: str, band: str) -> None:
    dmn = table(GRADE, [("band", "string")], [(['not("甲")'], ['"非甲"']), (['"甲"'], ['"甲等"'])])
    assert decide(huhua, dmn, grade=grade)["data"]["band"] == band


@pytest.mark.parametrize(("urgent", "band"), [(True, "加急"), (False, "普通")])
def test_a_boolean_column_reads_true_and_false(huhua: Huhua, urgent: bool, band: str) -> None:
    dmn = table([("加急", "urgent", "boolean")], [("band", "string"), ("flagged", "boolean")],
                [(["true"], ['"加急"', "true"]), (["false"], ['"普通"', "false"])])
    data = decide(huhua, dmn, urgent=urgent)["data"]
    assert (data["band"], data["flagged"]) == (band, urgent)


@pytest.mark.parametrize(("day", "term"), [("2026-08-31", "上学年"), ("2026-09-01", "新学年"),
                                          ("2027-01-05", "新学年")])
def test_dates_compare_as_dates_and_come_back_as_iso_text(huhua: Huhua, day: str, term: str) -> None:
    dmn = table([("日期", "date(day)", "date")], [("term", "string"), ("start", "date")],
                [(['< date("2026-09-01")'], ['"上学年"', 'date("2025-09-01")']),
                 (['>= date("2026-09-01")'], ['"新学年"', 'date("2026-09-01")'])])
    data = decide(huhua, dmn, day=day)["data"]
    assert data["term"] == term and data["start"] == ("2025-09-01" if term == "上学年" else "2026-09-01")


SCORE = [("得分", "score", "number")]
#: three rules that all match a score of 95, one that matches only 70 and more
OVERLAPPING = [(["> 90"], ['"优秀"', "3"]), (["> 60"], ['"合格"', "1"]), (["-"], ['"参与"', "0.5"]),
               (["< 0"], ['"无效"', "0"])]
OUTPUTS = [("band", "string"), ("points", "number")]


@pytest.mark.parametrize(("policy", "band", "points"), [
    ("FIRST", "优秀", 3),
    ("RULE ORDER", ["优秀", "合格", "参与"], [3, 1, 0.5]),
    ("COLLECT", ["优秀", "合格", "参与"], [3, 1, 0.5]),
])
def test_first_rule_order_and_collect(huhua: Huhua, policy: str, band: Any, points: Any) -> None:
    data = decide(huhua, table(SCORE, OUTPUTS, OVERLAPPING, policy), score=95)["data"]
    assert (data["band"], data["points"]) == (band, points)


def test_priority_and_output_order_follow_the_outputs_listed_values(huhua: Huhua) -> None:
    ordered = table(SCORE, [("band", "string")], [(["> 60"], ['"合格"']), (["> 90"], ['"优秀"']), (["-"], ['"参与"'])],
                    "PRIORITY").replace('typeRef="string"/>', 'typeRef="string"><outputValues><text>'
                                        '"优秀","合格","参与"</text></outputValues></output>')
    assert decide(huhua, ordered, score=95)["data"]["band"] == "优秀"  # not the first match
    assert decide(huhua, ordered.replace('"PRIORITY"', '"OUTPUT ORDER"'), score=95)["data"]["band"] == [
        "优秀", "合格", "参与"]


@pytest.mark.parametrize(("aggregation", "points"), [("SUM", 4.5), ("MIN", 0.5), ("MAX", 3), ("COUNT", 3)])
def test_collect_aggregates(huhua: Huhua, aggregation: str, points: float) -> None:
    dmn = table(SCORE, [("points", "number")], [(cells, [results[1]]) for cells, results in OVERLAPPING],
                "COLLECT", aggregation)
    assert decide(huhua, dmn, score=95)["data"]["points"] == points


def test_any_takes_the_agreed_output_and_unique_refuses_to_guess(huhua: Huhua) -> None:
    agreeing = table(SCORE, [("band", "string")], [(["> 90"], ['"优秀"']), (["> 80"], ['"优秀"']), (["< 0"], ['"无"'])],
                     "ANY")
    assert decide(huhua, agreeing, score=95)["data"]["band"] == "优秀"
    unique = table(SCORE, [("band", "string")], [(["> 90"], ['"优秀"']), (["> 80"], ['"良好"'])], "UNIQUE")
    assert decide(huhua, unique, score=85)["data"]["band"] == "良好"
    refused = decide(huhua, unique, score=95)  # two rules match a UNIQUE table: an incident, not a silent pick
    assert "band" not in refused["data"]
    assert "rules 1, 2 all match a UNIQUE table" in str(refused)


def test_python_cells_are_kept_when_declared(huhua: Huhua) -> None:
    dmn = table(SCORE, [("band", "string")], [(["60 <= ? < 90"], ['f"{round(score)} 分"']), (["-"], ['"其他"'])],
                "FIRST", language="python")
    assert decide(huhua, dmn, score=70)["data"]["band"] == "70 分"


def test_a_literal_expression_decision_requiring_another(huhua: Huhua) -> None:
    dmn = ('<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="n" namespace="x">'
           '<decision id="score_band" name="band"><variable name="band"/>'
           '<informationRequirement id="r"><requiredDecision href="#bonus"/></informationRequirement>'
           '<literalExpression><text>if score + bonus &gt;= 90 then "优秀" else "合格"</text></literalExpression>'
           '</decision><decision id="bonus" name="bonus"><variable name="bonus"/>'
           '<literalExpression><text>if count(awards) &gt; 0 then 10 else 0</text></literalExpression></decision>'
           "</definitions>")
    assert decide(huhua, dmn, score=85, awards=["市级"])["data"]["band"] == "优秀"


def test_a_cell_that_is_not_feel_is_refused_at_deploy(huhua: Huhua) -> None:
    dmn = table(GRADE, [("band", "string")], [(['"甲" or'], ['"优"'])])
    with pytest.raises(InvalidModel) as refused:
        decide(huhua, dmn, grade="甲")
    [problem] = refused.value.problems
    assert problem.element_id == "rule_0_in_0" and problem.location["reason"] == "dmn_input_syntax"
    assert huhua.queries.definitions() == []


@pytest.mark.parametrize(("dmn", "reason"), [
    (table(GRADE, [("band", "string")], [(['"甲"'], ['"优"'])], "FIRST", "SUM"), "dmn_hit_policy"),  # C+ only
    (table(GRADE, [("band", "string")], [(['"甲"'], ['"优"'])], language="javascript"), "dmn_language"),
])
def test_a_hit_policy_or_language_dmn_does_not_have_is_refused(huhua: Huhua, dmn: str, reason: str) -> None:
    with pytest.raises(InvalidModel) as refused:
        decide(huhua, dmn, grade="甲")
    assert [problem.location["reason"] for problem in refused.value.problems] == [reason]


def test_an_input_missing_from_the_data_is_an_incident_naming_the_decision_and_the_input(huhua: Huhua) -> None:
    dmn = table(SCORE, [("band", "string")], [(["> 60"], ['"合格"']), (["-"], ['"其他"'])], "FIRST")
    failed = decide(huhua, dmn, points=95)  # a misnamed field: without the check, '-' would answer "其他"
    assert failed["state"] == "incident" and "band" not in failed["data"]
    [incident] = failed["incidents"]
    assert incident["element_id"] == "band"
    assert "decision '考核等级' (score_band) reads 'score', which the task's data do not hold" in incident["message"]


def test_an_input_given_as_null_or_tested_for_null_may_be_empty(huhua: Huhua) -> None:
    dmn = table(SCORE, [("band", "string")], [(["> 60"], ['"合格"']), (["-"], ['"其他"'])], "FIRST")
    assert decide(huhua, dmn, score=None)["data"]["band"] == "其他"
    tested = table(SCORE, [("band", "string")], [(["null"], ['"未评"']), (["> 60"], ['"合格"']), (["-"], ['"其他"'])],
                   "FIRST")
    assert decide(huhua, tested)["data"]["band"] == "未评"
    assert decide(huhua, tested, score=70)["data"]["band"] == "合格"


def test_only_what_is_read_is_required_and_built_in_functions_are_not_inputs(huhua: Huhua) -> None:
    dmn = ('<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="n" namespace="x">'
           '<decision id="score_band" name="band"><variable name="band"/><literalExpression><text>'
           'if score &gt;= 90 then bonus + count([1, 2]) else floor(score / 10)</text></literalExpression></decision>'
           "</definitions>")
    assert decide(huhua, dmn, score=85)["data"]["band"] == 8  # 'bonus' is read only for 90 and more
    failed = decide(huhua, dmn, score=95)
    assert failed["state"] == "incident" and "reads 'bonus'" in failed["incidents"][0]["message"]


TWO_DECISIONS = ('<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="defs" name="n" namespace="x">'
                 '<decision id="bonus" name="bonus"><variable name="bonus"/>'
                 '<literalExpression><text>if count(awards) &gt; 0 then 10 else 0</text></literalExpression>'
                 '</decision><decision id="score_band" name="考核等级"><variable name="band"/>'
                 '<informationRequirement id="r"><requiredDecision href="#bonus"/></informationRequirement>'
                 '<literalExpression><text>if score + bonus &gt;= 90 then "优秀" else "合格"</text></literalExpression>'
                 "</decision></definitions>")


def test_the_decision_a_task_calls_is_found_in_a_file_of_several_and_opens_for_editing(huhua: Huhua) -> None:
    assert decide(huhua, TWO_DECISIONS, score=85, awards=["市级"])["data"]["band"] == "优秀"
    [definition] = huhua.queries.definitions(key="score_review")
    artifacts = huhua.queries.definition_artifacts(definition["id"])["decisions"]
    assert artifacts == [{"decision_id": "score_band", "resource": "score_band.dmn", "name": "考核等级"}]
    name, xml = huhua.queries.definition_decision(definition["id"], "score_band")  # what the DMN editor opens
    assert name == "score_band.dmn" and xml == TWO_DECISIONS
    edited = xml.replace("then 10 else 0", "then 3 else 0")
    saved = huhua.execute(DeployEditedDecision(definition["id"], "score_band", edited, "admin"))
    assert [(p["key"], p["version"], p["changed"]) for p in saved["processes"]] == [("score_review", 2, True)]
    started = huhua.execute(StartInstance("score_review", "admin", variables={"score": 85, "awards": ["市级"]},
                                          origin=ENGINE))
    assert huhua.queries.instance(started["id"])["data"]["band"] == "合格"
