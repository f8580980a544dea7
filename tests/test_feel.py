"""FEEL, the language itself: what the DMN TCK does not cover, errors with their positions, and safety."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from engine.bootstrap import Huhua
from engine.feel import (
    DaysTimeDuration,
    FeelSyntaxError,
    Range,
    YearsMonthsDuration,
    call_function,
    compile_expression,
    compile_unary_tests,
    from_python,
)


def evaluate(text: str, **scope: object) -> object:
    return compile_expression(text, scope).evaluate(scope)


@pytest.mark.parametrize(("text", "expected"), [
    ("0.1 + 0.2 = 0.3", True),  # decimal, not binary floating point
    ("1 / 3", Decimal("0.3333333333333333333333333333333333")),  # 34 digits
    ("2.5 * 2", Decimal("5.0")),
    ("decimal(2.5, 0) + decimal(3.5, 0)", Decimal("6")),  # half even
    ("1 / 0", None),
    ("1 + null", None),
    ('"a" + 1', None),
    ("true and null", None),
    ("false and null", False),
    ("true or null", True),
    ("null = null", True),
    ('1 = "1"', None),
    ("if null then 1 else 2", Decimal("2")),
    ("-(3)", Decimal("-3")),
    ("2 ** 10", Decimal("1024")),
    ("[1, 2, 3][item >= 2]", [Decimal("2"), Decimal("3")]),
    ("[1, 2, 3][2]", Decimal("2")),
    ("[1, 2, 3][-1]", Decimal("3")),
    ("[1, 2, 3][4]", None),
    ("[{a: 1}, {a: 2}][a > 1].a", [Decimal("2")]),
    ("{a: 1, b: a + 1}.b", Decimal("2")),
    ("{a: {b: {c: 5}}}.a.b.c", Decimal("5")),
    ("for x in 1..3 return x * x", [Decimal("1"), Decimal("4"), Decimal("9")]),
    ("for x in 3..1 return x", [Decimal("3"), Decimal("2"), Decimal("1")]),
    ("for x in [1, 2], y in [10, 20] return x + y",
     [Decimal("11"), Decimal("21"), Decimal("12"), Decimal("22")]),
    ("for i in 1..4 return if i = 1 then 1 else partial[-1] * i",
     [Decimal("1"), Decimal("2"), Decimal("6"), Decimal("24")]),
    ("some x in [1, 5] satisfies x > 4", True),
    ("every x in [1, 5] satisfies x > 4", False),
    ("5 between 1 and 5", True),
    ("5 in [1..5)", False),
    ("5 in ]1..5]", True),
    ('"b" in ("a", "b")', True),
    ("3 in (< 2, > 2)", True),
    ("[1..5] = [1..5]", True),
    ("(function(a, b) a - b)(b: 1, a: 3)", Decimal("2")),
    ("{square: function(x) x * x, r: square(4)}.r", Decimal("16")),
    ('string join(["甲", "乙"], "、")', "甲、乙"),
    ('substring("心育护花", 2, 2)', "育护"),
    ('string length("心育护花")', Decimal("4")),
    ('upper case("abc")', "ABC"),
    ('replace("abc", "b", "[$0]")', "a[b]c"),
    ('matches("2026-09-01", "^\\d{4}-\\d{2}-\\d{2}$")', True),
    ("sort([3, 1, 2])", [Decimal("1"), Decimal("2"), Decimal("3")]),
    ("sort([3, 1, 2], function(x, y) x > y)", [Decimal("3"), Decimal("2"), Decimal("1")]),
    ("sum([1, 2, 3])", Decimal("6")),
    ("max(1, 5, 3)", Decimal("5")),
    ("count([])", Decimal("0")),
    ("distinct values([1, 1, 2])", [Decimal("1"), Decimal("2")]),
    ('get value({a: 1}, "a")', Decimal("1")),
    ('context put({a: 1}, "b", 2)', {"a": Decimal("1"), "b": Decimal("2")}),
    ('date("2026-01-31") + duration("P1M")', date(2026, 2, 28)),
    ('date("2026-03-01") - date("2026-02-01")', DaysTimeDuration(timedelta(days=28))),
    ('years and months duration(date("2020-05-15"), date("2026-05-14"))', YearsMonthsDuration(71)),
    ('date and time("2026-09-01T08:00:00@Asia/Shanghai") = date and time("2026-09-01T00:00:00Z")', True),
    ('date and time("2026-09-01T08:00:00+08:00").hour', Decimal("8")),
    ('time("10:30:00") + duration("PT45M")', time(11, 15)),
    ('@"2026-09-01".month', Decimal("9")),
    ('duration("P1DT2H") * 2', DaysTimeDuration(timedelta(days=2, hours=4))),
    ('duration("P1Y") / duration("P1M")', Decimal("12")),
    ('string(duration("P1DT2H"))', "P1DT2H"),
    ('string(date("2026-09-01"))', "2026-09-01"),
    ("string(1.50)", "1.5"),
    ('day of week(date("2026-09-01"))', "Tuesday"),
    ("5 instance of number", True),
    ('[1, 2] instance of list<number>', True),
    ('{a: "x"} instance of context<a: string>', True),
    ('"5" instance of number', False),
    ('range("[1..5)")', Range(True, Decimal("1"), Decimal("5"), False)),
    ("before(1, [2..5])", True),
    ("includes([1..10], 5)", True),
    ("// a comment\n 1 /* and another */ + 1", Decimal("2")),
    ('"\\u5fc3\\u80b2"', "心育"),
])
def test_expression_values(text: str, expected: object) -> None:
    assert evaluate(text) == expected


def test_names_with_spaces_resolve_against_scope_and_text() -> None:
    scope = {"Monthly Salary": Decimal("10000"), "Applicant's age": Decimal("17"), "loan-to-value": Decimal("2")}
    assert evaluate("Monthly Salary * 12", **scope) == Decimal("120000")
    assert evaluate("Applicant's age >= 18", **scope) is False
    assert evaluate("loan-to-value - 1", **scope) == Decimal("1")
    # without announcing the name, "-" is subtraction
    assert compile_expression("loan-to-value").evaluate({"loan": Decimal(5), "to": Decimal(1),
                                                         "value": Decimal(1)}) == Decimal(3)
    assert evaluate("{first name: \"Li\", greeting: \"hi \" + first name}.greeting") == "hi Li"
    # a known name is matched whole: the built-in "string length" is not the start of "string lengthy"
    assert compile_expression("string lengthy + 1").evaluate({"string lengthy": Decimal(1)}) == Decimal(2)
    # a name holding a keyword is found when announced
    assert evaluate("for day in days in weekend return upper case(day)", **{"days in weekend": ["sat"]}) == ["SAT"]
    assert evaluate("some x in values in a list satisfies x > 2", **{"values in a list": [Decimal(3)]}) is True


def test_errors_become_null_with_a_warning() -> None:
    warnings: list[str] = []
    assert compile_expression("unknown + 1").evaluate({}, warnings) is None
    assert any("unknown" in warning for warning in warnings)
    warnings.clear()
    assert compile_expression('date("2026-02-30")').evaluate({}, warnings) is None
    assert warnings and "2026-02-30" in warnings[0]


def test_now_and_today_read_the_given_moment() -> None:
    moment = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    assert compile_expression("today()").evaluate({}, now=moment) == date(2026, 9, 1)
    assert compile_expression("now()").evaluate({}, now=moment) == moment


@pytest.mark.parametrize(("text", "value", "expected"), [
    ('"甲","乙"', "乙", True),  # two values picked in dmn-js
    ('"甲","乙"', "丙", False),
    ('not("甲")', "甲", False),
    ('not("甲")', "乙", True),
    ("true", True, True),
    ("false", True, False),
    ('date("2026-09-01")', date(2026, 9, 1), True),
    ('>= date("2026-09-01")', date(2026, 8, 31), False),
    ("-", "anything", True),
    ("< 60", Decimal("59.5"), True),
    ("[60..80)", Decimal("80"), False),
    ("]60..80]", Decimal("80"), True),
    ("not(< 60, > 80)", Decimal("70"), True),
    ("? > 3 and ? < 5", Decimal("4"), True),
    ("[1, 2, 3]", Decimal("2"), True),
    ("< 60", "sixty", None),  # cannot compare: unknown, not a match
    ("null", None, True),
])
def test_unary_tests(text: str, value: object, expected: object) -> None:
    assert compile_unary_tests(text).matches(value) is expected


def test_unary_tests_may_use_other_inputs() -> None:
    tests = compile_unary_tests("> threshold")
    assert tests.matches(Decimal(5), {"threshold": Decimal(3)}) is True
    assert tests.matches(Decimal(2), {"threshold": Decimal(3)}) is False


@pytest.mark.parametrize(("text", "line", "column", "words"), [
    ("1 +", 1, 4, "ends too early"),
    ("if x then 1", 1, 12, "ends too early"),
    ("[1, 2", 1, 6, "ends too early"),
    ("1 + * 2", 1, 5, "'*'"),
    ("{a: 1,\n b 2}", 2, 4, "'2'"),
    ('"open', 1, 1, "not closed"),
    ("1 # 2", 1, 3, "'#'"),
    ("", 1, 1, "empty"),
])
def test_syntax_errors_name_the_place(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(FeelSyntaxError) as raised:
        compile_expression(text)
    assert (raised.value.line, raised.value.column) == (line, column)
    assert words in raised.value.message


def test_unary_test_syntax_errors() -> None:
    with pytest.raises(FeelSyntaxError):
        compile_unary_tests('"甲" "乙"')
    with pytest.raises(FeelSyntaxError):
        compile_unary_tests("< ")


def test_python_objects_are_out_of_reach() -> None:
    # attribute-like paths read FEEL properties only; Python's dunder names are just unknown properties
    assert evaluate('"text".__class__') is None
    assert evaluate("x.__class__.__mro__", x={"a": Decimal(1)}) is None
    assert evaluate("f.__globals__", f=Decimal(1)) is None
    # a Python object smuggled into the scope is not a FEEL value: operations on it are null
    assert evaluate("x + 1", x=object()) is None
    assert evaluate('__import__("os")') is None
    with pytest.raises(FeelSyntaxError):
        compile_expression("exec('1')")


def test_deep_nesting_is_refused_at_compile_time() -> None:
    with pytest.raises(FeelSyntaxError, match="nest deeper"):
        compile_expression("(" * 500 + "1" + ")" * 500)
    with pytest.raises(FeelSyntaxError, match="deeper"):
        compile_expression("1" + " + 1" * 5000)
    with pytest.raises(FeelSyntaxError, match="deeper"):
        compile_expression("-" * 1000 + "1")


def test_runaway_evaluations_are_bounded() -> None:
    warnings: list[str] = []
    assert compile_expression("for i in 1..1000000000 return i").evaluate({}, warnings) is None
    assert any("1000000" in warning for warning in warnings)
    warnings.clear()
    nested = compile_expression("count(for i in 1..1100 return count(for j in 1..1000 return j))")
    assert nested.evaluate({}, warnings) is None  # each loop is small; together they pass the step budget
    assert any("steps" in warning for warning in warnings)
    recursive = compile_expression("{f: function(n) if n = 0 then 0 else 1 + f(n - 1), r: f(100000)}.r")
    warnings.clear()
    assert recursive.evaluate({}, warnings) is None
    assert any("deeper" in warning or "nested" in warning for warning in warnings)
    assert compile_expression("{f: function(n) if n = 0 then 0 else 1 + f(n - 1), r: f(20)}.r").evaluate(
        {}) == Decimal(20)
    assert compile_expression("10 ** 999999999").evaluate({}) is None
    grown = 'replace(string join(for i in 1..100000 return "aaaaaaaaaa"), "a", string join(for i in 1..100 return "b"))'
    assert compile_expression(grown).evaluate({}) is None  # 10^6 matches x 100 characters: refused, not built


def test_function_values_can_be_called_from_python() -> None:
    function = compile_expression("function(a, b) a * b").evaluate({})
    assert call_function(function, [Decimal(3), Decimal(4)]) == Decimal(12)
    assert call_function(function, {"b": Decimal(2), "a": Decimal(5)}) == Decimal(10)
    assert call_function(function, [Decimal(3)]) is None


def test_syntax_errors_read_in_chinese_by_default_and_in_english_once_chosen(huhua: Huhua) -> None:
    from engine.web import create_app
    from engine.web.error_language import say

    with pytest.raises(FeelSyntaxError) as raised:
        compile_expression("1 + * 2")
    app = create_app(huhua, {"SECRET_KEY": "feel", "TRUST_USER_HEADER": False})
    with app.test_request_context("/"):
        assert str(say(raised.value.phrase)) == "此处不应出现 '*'（第 1 行第 5 列）"
    with app.test_request_context("/?lang=en"):
        assert str(say(raised.value.phrase)) == "unexpected '*' (line 1, column 5)"


def test_each_evaluation_returns_its_own_lists_and_contexts() -> None:
    expression = compile_expression('{grades: ["甲", "乙"]}')
    first = expression.evaluate({})
    first["grades"].append("丙")
    first["extra"] = True
    assert expression.evaluate({}) == {"grades": ["甲", "乙"]}


def test_python_numbers_from_task_data_are_feel_numbers() -> None:
    assert compile_unary_tests("[60..80)").matches(75) is True  # an int from JSON, as a task's data holds it
    assert compile_unary_tests("< 0.3").matches(0.1 + 0.1) is True
    data = from_python({"score": 75, "weights": (0.5, 1), "name": "李"})
    assert data == {"score": Decimal(75), "weights": [Decimal("0.5"), Decimal(1)], "name": "李"}
    assert compile_expression("score * weights[1]").evaluate(data) == Decimal("37.5")


def test_no_text_or_value_makes_compiling_or_evaluating_raise_anything_but_a_syntax_error() -> None:
    """Random texts from FEEL's pieces, and values that are not FEEL's in the scope: a syntax error at compile
    time, otherwise a value or null, never another exception (a deploy check or a decision would crash)."""
    import random

    pieces = ["1", '"a"', "x", "y", "(", ")", "[", "]", "{", "}", ",", ":", ".", "..", "+", "-", "*", "/", "**",
              "<", ">=", "=", "!=", "and", "or", "not", "if", "then", "else", "for", "in", "return", "some",
              "satisfies", "between", "instance", "of", "function", "true", "null", "?", '@"2020-01-01"',
              "date and time", "list<number>", "@", '"', "\\", "/*", "\n", "]1..2[", "->", "item", "sum", "date"]
    chooser = random.Random(2026)
    for _ in range(3000):
        text = " ".join(chooser.choice(pieces) for _ in range(chooser.randint(1, 8)))
        try:
            expression = compile_expression(text)
        except FeelSyntaxError:
            pass
        else:
            expression.evaluate({"x": 1, "y": object()})
        try:
            tests = compile_unary_tests(text)
        except FeelSyntaxError:
            pass
        else:
            tests.matches(object(), {"x": 1.5})


def test_dates_beyond_pythons_calendar() -> None:
    import pickle

    assert evaluate('string(date("-0044-03-15") + duration("P1D"))') == "-0044-03-16"
    assert evaluate('string(date(12026, 9, 1))') == "12026-09-01"
    assert evaluate('date(12026, 9, 1).year') == Decimal(12026)
    assert evaluate('date("12026-09-01") > date("2026-09-01")') is True
    assert evaluate('day of week(date("12026-09-01"))') == evaluate('day of week(date("2426-09-01"))')
    assert evaluate('date("2426-09-01") - date("2026-09-01")') == DaysTimeDuration(timedelta(days=146097))
    assert evaluate('date("12026-09-01") - date("2026-09-01")') == DaysTimeDuration(timedelta(days=25 * 146097))
    far = evaluate('date and time("-2021-01-01T10:10:10@Asia/Shanghai")')
    assert str(far) == "-2021-01-01T10:10:10@Asia/Shanghai"
    assert pickle.loads(pickle.dumps(far)) == far
    assert evaluate('date("01211-12-31")') is None  # no leading zero past four digits
