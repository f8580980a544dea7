"""Problems worded in the reader's language: those that carry a ``reason`` code in their ``location``.

The engine words its problems in English (the command line and the logs read them); a problem found
in a DMN cell also says where it is and why as data (``engine.bpmn.dmn_lint``), so the API answers
with the same problem in the request's language (Chinese unless English is chosen) and the location
unchanged, for the DMN editor to mark the cell.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import gettext

from engine.bpmn import dmn_lint
from engine.dmn import check as dmn_check
from engine.errors import HuhuaError, Problem


def answer(err: HuhuaError) -> dict[str, Any]:
    """The JSON body of ``err``; the problems this module can word, worded in the reader's language."""
    body = err.to_dict()
    worded = [_worded(problem) for problem in err.problems]
    if not any(worded):
        return body
    body["problems"] = [{**problem.to_dict(), "message": text} if text else problem.to_dict()
                        for problem, text in zip(err.problems, worded, strict=True)]
    if all(worded):
        body["message"] = gettext("决策表中有引擎无法求值的内容，未部署任何新版本（%(count)s 处问题）。",
                                  count=len(err.problems))
    return body


def _worded(problem: Problem) -> str | None:
    at = problem.location or {}
    words = _WORDS.get(str(at.get("reason")))
    if words is None:
        return None
    decision = gettext("%(file)s，决策“%(decision)s”（%(decision_id)s）", file=problem.file or "",
                       decision=at.get("decision_name"), decision_id=at.get("decision_id"))
    if "entry_id" in at:
        column = gettext("输入列") if "input_id" in at else gettext("输出列")
        decision += gettext("，第 %(rule)s 条规则，%(kind)s“%(column)s”，单元格「%(cell)s」",
                            rule=at.get("rule_number"), kind=column, column=at.get("column"), cell=at.get("cell"))
    return gettext("%(where)s：%(what)s", where=decision, what=words(at))


def _unknown_names(at: dict[str, Any]) -> str:
    names = at.get("names") or ["?"]
    return gettext("“%(names)s”既不是本表的输入，也不是引擎认识的函数；文字请加英文双引号（\"%(first)s\"），"
                   "数值请写阿拉伯数字（如 90）", names=gettext("、").join(names), first=names[0])


def _mistyped(at: dict[str, Any]) -> str:
    number, text, yes_no = gettext("数值"), gettext("文字"), gettext("是/否")
    kinds = {"number": number, "integer": number, "long": number, "double": number, "string": text, "text": text,
             "boolean": yes_no, "yes/no": yes_no}
    return gettext("本列的类型是%(type)s，而 %(value)s 是%(found)s："
                   "数值不加引号（如 90），文字加英文双引号（如 \"合格\"）",
                   type=kinds.get(str(at.get("type")), at.get("type")), value=at.get("value"),
                   found=kinds.get(str(at.get("found")), at.get("found")))


_WORDS: dict[str, Callable[[dict[str, Any]], str]] = {
    dmn_check.LANGUAGE: lambda at: gettext(
        "文件声明的表达式语言无法识别或混用了 FEEL 与 Python；请用 FEEL（默认），或在 definitions 上声明 "
        "expressionLanguage=\"python\""),
    dmn_check.LITERAL_SYNTAX: lambda at: gettext("表达式「%(cell)s」不是合法的 FEEL：%(detail)s",
                                                 cell=at.get("cell"), detail=at.get("detail")),
    dmn_check.HIT_POLICY: lambda at: gettext("命中策略“%(detail)s”不是 DMN 的命中策略", detail=at.get("detail")),
    dmn_lint.MISTYPED: _mistyped,
    dmn_lint.UNKNOWN_NAMES: _unknown_names,
    dmn_lint.INPUT_SYNTAX: lambda at: gettext(
        "不是一个值（如 \"甲\"、True）、比较（如 >= 60）或对 ? 的区间判断（如 60 <= ? < 80）"),
    dmn_lint.OUTPUT_SYNTAX: lambda at: gettext("不是合法的表达式（文字请加英文双引号，如 \"合格\"）"),
    dmn_lint.REFUSED: lambda at: gettext("引擎不允许这样写：%(detail)s", detail=at.get("detail")),
    dmn_lint.INPUT_EXPRESSION: lambda at: gettext("输入列“%(column)s”的输入表达式「%(cell)s」无法求值",
                                                  column=at.get("column"), cell=at.get("cell"))
    + (gettext("（引擎不允许这样写：%(detail)s）", detail=at["detail"]) if at.get("detail") else ""),
    dmn_lint.INPUT_EMPTY: lambda at: gettext("输入列“%(column)s”没有输入表达式：请写出其规则检验的值，"
                                             "如任务数据中的变量名（amount）或表达式（order.total）",
                                             column=at.get("column")),
    dmn_lint.OUTPUT_UNNAMED: lambda at: gettext("输出列 %(number)s“%(column)s”需要名称（结果写入的变量名）",
                                                number=at.get("column_number"), column=at.get("column")),
    dmn_lint.OUTPUT_NAME_TWICE: lambda at: gettext("输出列 %(number)s 的名称 %(name)s 与另一输出列相同",
                                                   number=at.get("column_number"), name=at.get("name")),
    dmn_lint.CELL_COUNT: lambda at: gettext(
        "第 %(rule)s 条规则有 %(inputs)s 个输入和 %(outputs)s 个输出单元格，而表有 %(input_columns)s 个输入列和 "
        "%(output_columns)s 个输出列", rule=at.get("rule_number"), inputs=at.get("input_cells"),
        outputs=at.get("output_cells"), input_columns=at.get("input_columns"), output_columns=at.get("output_columns")),
}
