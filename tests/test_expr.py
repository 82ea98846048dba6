"""Tests for the safe form-expression evaluator (flows/expr.py)."""

from __future__ import annotations

import ast
import builtins
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.expr import Expression, ExpressionError, compile_expression

D = Decimal


def evaluate(
    source: str, answers: dict[str, object] | None = None, current: object = None
) -> object:
    return compile_expression(source).evaluate(answers or {}, current)


def assert_same(result: object, expected: object) -> None:
    """Equal *and* of the same type: True == Decimal(1) must not pass for a number."""
    assert result == expected
    assert type(result) is type(expected), f"{result!r} is not a {type(expected).__name__}"


# --------------------------------------------------------------------------------------------
# Evaluation table

SAVING = "(elec_before - elec_now) / elec_before * 100"
BETWEEN = ". > 0 and . < 1000000"
TECHNIQUES = ["good_housekeeping", "reuse", "equipment_change"]

EVALUATIONS: list[tuple[str, dict[str, object], object, object]] = [
    # calculate: the design's saving percentage, and payback
    (SAVING, {"elec_before": D("125.5"), "elec_now": D("100.4")}, None, D("20")),
    (SAVING, {"elec_before": D("125.5")}, None, None),
    (SAVING, {"elec_before": D(0), "elec_now": D(0)}, None, None),
    (SAVING, {"elec_before": 200, "elec_now": 150}, None, D(25)),
    ("investment / yearly_savings", {"investment": D(1000), "yearly_savings": D(0)}, None, None),
    ("investment / yearly_savings", {"investment": 1200, "yearly_savings": 400}, None, D(3)),
    ("investment / yearly_savings", {"investment": D(1000)}, None, None),
    # constraint on the current answer, written `.`
    (BETWEEN, {}, D("5"), True),
    (BETWEEN, {}, D("0.5"), True),
    (BETWEEN, {}, D("0"), False),
    (BETWEEN, {}, D("-3"), False),
    (BETWEEN, {}, D("1000000"), False),
    (BETWEEN, {}, None, False),
    (BETWEEN, {}, "lots", False),
    (BETWEEN, {}, 42, True),
    ("regex(., '0[0-9]{9}')", {}, "0912345678", True),
    ("regex(., '0[0-9]{9}')", {}, "12345", False),
    ("regex(., '.*@.*')", {}, "sxsh@langson.gov.vn", True),
    ("len(.) <= 10", {}, "Lạng Sơn", True),
    ("'a.b' == .", {}, "a.b", True),
    # relevance, including missing answers
    ("applied and elec_before", {"applied": True, "elec_before": D("10")}, None, D("10")),
    ("applied and elec_before", {"applied": False, "elec_before": D("10")}, None, False),
    ("applied and elec_before", {}, None, None),
    ("applied or elec_before", {"elec_before": D("3")}, None, D("3")),
    ("not applied", {}, None, True),
    ("not applied", {"applied": True}, None, False),
    ("applied == True", {"applied": True}, None, True),
    ("applied == False", {}, None, False),
    ("'good_housekeeping' in techniques", {"techniques": TECHNIQUES}, None, True),
    ("'water_recycling' in techniques", {"techniques": TECHNIQUES}, None, False),
    ("'good_housekeeping' in techniques", {}, None, False),
    ("'water_recycling' not in techniques", {"techniques": TECHNIQUES}, None, True),
    ("'water_recycling' not in techniques", {}, None, False),
    ("'reu' in 'reuse'", {}, None, True),
    ("selected(techniques, 'good_housekeeping')", {"techniques": TECHNIQUES}, None, True),
    ("selected(techniques, 'water_recycling')", {"techniques": TECHNIQUES}, None, False),
    ("selected(techniques, 'good_housekeeping')", {}, None, False),
    ("selected(techniques, 'reuse')", {"techniques": "reuse good_housekeeping"}, None, True),
    ("selected(., 'reuse')", {}, ["reuse"], True),
    ("count_selected(techniques) >= 2", {"techniques": TECHNIQUES}, None, True),
    ("count_selected(techniques)", {}, None, D(0)),
    ("count(techniques)", {"techniques": TECHNIQUES}, None, D(3)),
    # soft warnings
    ("saving < 0 or saving > 60", {"saving": D("75")}, None, True),
    ("saving < 0 or saving > 60", {"saving": D("-1")}, None, True),
    ("saving < 0 or saving > 60", {"saving": D("20")}, None, False),
    ("saving < 0 or saving > 60", {}, None, False),
    # None and comparisons
    ("x == None", {}, None, True),
    ("x == None", {"x": D(0)}, None, False),
    ("x != None", {"x": D(0)}, None, True),
    ("x != 5", {}, None, False),
    ("x == y", {}, None, False),
    ("1 < x <= 10", {"x": D(10)}, None, True),
    ("1 < x <= 10", {"x": D("10.01")}, None, False),
    ("x > 3", {"x": "5"}, None, False),
    ("'5' == 5", {}, None, False),
    ("'5' != 5", {}, None, False),
    ("sector == 'textile'", {"sector": "textile"}, None, True),
    ("'a' < 'b'", {}, None, True),
    ("techniques == None", {"techniques": []}, None, False),
    ("not techniques", {"techniques": []}, None, True),
    # arithmetic
    ("applied + 1", {"applied": True}, None, D(2)),
    ("x + 'kWh'", {"x": D(1)}, None, None),
    ("-x", {"x": D(3)}, None, D(-3)),
    ("+x", {"x": "3"}, None, None),
    ("0.5 * x", {"x": 3}, None, D("1.5")),
    ("1.5 + .5 + 1.", {}, None, D("3.0")),
    ("1e3 + 1_000", {}, None, D(2000)),
    ("x * 10", {"x": D("9e30")}, None, None),
    ("x", {"x": D("1e31")}, None, None),
    ("x", {"x": 10**40}, None, None),
    ("x / 3 * 3 == x", {"x": D(1)}, None, False),
    ("unknown_answer", {}, None, None),
    ("x", {"x": object()}, None, None),
    # functions
    ("'big' if size > 100 else 'small'", {"size": D(150)}, None, "big"),
    ("'big' if size > 100 else 'small'", {}, None, "small"),
    ("abs(a - b)", {"a": D(3), "b": D(5)}, None, D(2)),
    ("round(2.5)", {}, None, D(3)),
    ("round(-2.5)", {}, None, D(-3)),
    ("round(0.125, 2)", {}, None, D("0.13")),
    ("round(1234, -2)", {}, None, D("1.2E+3")),
    ("round(x, 2)", {}, None, None),
    ("round(x, 0.5)", {"x": D(1)}, None, None),
    ("min(a, b, 3)", {"a": D(7), "b": D("2.5")}, None, D("2.5")),
    ("max(a, b)", {"a": D(7)}, None, None),
    ("max(a, b)", {"a": D(7), "b": 9}, None, D(9)),
    ("coalesce(a, b, 0)", {}, None, D(0)),
    ("coalesce(a, b, 0)", {"b": D(2)}, None, D(2)),
    ("number(s)", {"s": " 12.5 "}, None, D("12.5")),
    ("number(s)", {"s": "12,5"}, None, None),
    ("number(s)", {"s": "NaN"}, None, None),
    ("number(s) * 2", {"s": "abc"}, None, None),
    ("len(name)", {"name": "Hà Nội"}, None, D(6)),
    ("len(x)", {"x": D(6)}, None, None),
    ("regex(phone, '0[0-9]{9}')", {}, None, False),
    ("regex(phone, pattern)", {"phone": "012", "pattern": "("}, None, False),
]


@pytest.mark.parametrize(("source", "answers", "current", "expected"), EVALUATIONS)
def test_an_expression_evaluates_to_the_expected_value(
    source: str, answers: dict[str, object], current: object, expected: object
) -> None:
    assert_same(evaluate(source, answers, current), expected)


def test_the_table_is_big_enough() -> None:
    assert len(EVALUATIONS) >= 30


def test_a_saving_is_computed_exactly_from_decimal_answers() -> None:
    answers: dict[str, object] = {"elec_before": D("125.5"), "elec_now": D("100.4")}
    result = evaluate(SAVING, answers)
    assert isinstance(result, Decimal)
    assert result == D("20")
    # the point of Decimal: floats would say 19.999999999999996
    assert (125.5 - 100.4) / 125.5 * 100 != 20


def test_a_float_answer_is_read_through_its_text_and_never_used_as_a_float() -> None:
    assert_same(evaluate("x + 0.2", {"x": 0.1}), D("0.3"))


def test_a_payback_with_no_savings_is_unknown_rather_than_a_crash() -> None:
    payback = compile_expression("investment / yearly_savings")
    assert payback.evaluate({"investment": D(5), "yearly_savings": D(0)}) is None
    assert payback.evaluate({"investment": D(0), "yearly_savings": D(0)}) is None
    assert not payback.is_true({"investment": D(5), "yearly_savings": D(0)})


def test_is_true_treats_unanswered_as_false_and_values_by_truthiness() -> None:
    relevant = compile_expression("applied and elec_before")
    assert relevant.is_true({"applied": True, "elec_before": D(1)})
    assert not relevant.is_true({"applied": True, "elec_before": D(0)})
    assert not relevant.is_true({})
    assert compile_expression(".").is_true({}, ["a"])
    assert not compile_expression(".").is_true({}, [])
    assert not compile_expression(".").is_true({}, None)


def test_string_repetition_never_builds_a_huge_string() -> None:
    assert evaluate("'a' * 10000000") is None
    assert evaluate("s * n", {"s": "a", "n": 10_000_000}) is None
    assert evaluate("n * s", {"s": "a", "n": 10_000_000}) is None


def test_numbers_in_the_source_are_read_as_decimals_from_their_text() -> None:
    result = evaluate("0.1 + 0.2")
    assert_same(result, D("0.3"))
    assert str(result) == "0.3"


def test_dot_inside_numbers_and_strings_is_left_alone() -> None:
    assert_same(evaluate("1. + 0.5 + .5"), D("2.0"))
    assert evaluate("regex(., 'a.c')", current="abc") is True
    assert evaluate("regex(., 'a.c')", current="ac") is False


def test_each_operand_of_a_chained_comparison_is_read_once_and_short_circuits() -> None:
    assert evaluate("0 < x < 10 < y", {"x": D(5)}) is False
    assert evaluate("0 < x < 10 < y", {"x": D(5), "y": D(11)}) is True


def test_an_expression_is_a_frozen_hashable_value() -> None:
    one = compile_expression("a + b")
    assert one == compile_expression("  a + b ")
    assert hash(one) == hash(compile_expression("a + b"))
    with pytest.raises(AttributeError):
        one.source = "c"  # type: ignore[misc]


# --------------------------------------------------------------------------------------------
# Names


@pytest.mark.parametrize(
    ("source", "names"),
    [
        (SAVING, {"elec_before", "elec_now"}),
        (BETWEEN, set()),
        ("selected(techniques, 'reuse') and . > min(a, 3)", {"techniques", "a"}),
        ("coalesce(x, y) if applied else round(z, places)", {"x", "y", "applied", "z", "places"}),
        ("count + len(count)", {"count"}),
        ("'name' == 'x'", set()),
    ],
)
def test_names_lists_the_answers_an_expression_reads(source: str, names: set[str]) -> None:
    expression = compile_expression(source)
    assert isinstance(expression, Expression)
    assert expression.names == frozenset(names)


# --------------------------------------------------------------------------------------------
# Refusals

HOSTILE: list[str] = [
    "__import__('os').system('ls')",
    "().__class__.__bases__[0].__subclasses__()",
    "open('/etc/passwd')",
    "[x for x in y]",
    "{x for x in y}",
    "{x: 1 for x in y}",
    "min(x for x in y)",
    "lambda: 1",
    "9**9**9",
    "a // 2",
    "a % 2",
    "a & b",
    "a | b",
    "a << 2",
    "~a",
    "a is None",
    "a[0]",
    "a[1:2]",
    "getattr(a, 'b')",
    "f'{a}'",
    "(a := 1)",
    "x.y",
    "x.__class__",
    "a.b()",
    "len(x).real",
    "exec('1')",
    "eval('1')",
    "compile('1', '', 'eval')",
    "__builtins__",
    "_secret",
    "_",
    "a + " + " + ".join(["b"] * 200),
    "(" * 50 + "a" + ")" * 50,
    "-" * 50 + "a",
    "regex(a, '(')",
    "regex(a, 5)",
    "regex(a, '" + "a" * 201 + "')",
    "'" + "x" * 201 + "'",
    "min(*a)",
    "round(x, n=2)",
    "round(x, 2, 3)",
    "len()",
    "min()",
    "selected(a)",
    "[1, 2]",
    "(1, 2)",
    "{'a': 1}",
    "b'bytes'",
    "1j",
    "...",
    "1e40",
    "100000000000000000000000000000000",
    "",
    "   ",
    "a +",
    "'unterminated",
    "(a",
    "a b",
    "a if b",
    "x = 1",
    "import os",
    "a\nb",
    "\0",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_a_hostile_or_malformed_expression_is_refused(source: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(source)


def test_the_hostile_table_is_big_enough() -> None:
    assert len(HOSTILE) >= 20
    assert any(len(source) > 500 for source in HOSTILE)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x.__class__", "attribute access is not allowed: x.__class__"),
        ("__import__('os').system('ls')", "attribute access is not allowed: __import__('os')"),
        ("open('/etc/passwd')", "calling 'open' is not allowed"),
        ("a[0] > 1", "a subscript is not allowed: a[0]"),
        ("9**9**9", "the power operator ** is not allowed: 9**9**9"),
        ("f'{a}'", "an f-string is not allowed: f'{a}'"),
        ("(a := 1)", "an assignment expression (:=) is not allowed: a := 1"),
        ("min(*a)", "a starred argument is not allowed: min(*a)"),
        ("round(x, n=2)", "a keyword argument is not allowed: round(x, n=2)"),
        ("1 + _hidden", "a name starting with '_' is not allowed: _hidden (at column 5"),
        ("regex(a, '(')", "invalid regular expression"),
        ("round(a, 1, 2)", "round() takes 1 to 2 arguments, got 3"),
        ("a +", "syntax error"),
        ("", "empty expression"),
        ("a" * 501, "too long"),
        ("(" * 31 + "a" + ")" * 31, "nested too deeply"),
        ("'" + "x" * 201 + "'", "string literal is too long"),
    ],
)
def test_a_refusal_says_what_was_refused_and_where(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source)
    assert message in str(caught.value)


def test_expression_error_is_a_value_error() -> None:
    assert issubclass(ExpressionError, ValueError)


def test_limits_are_inclusive() -> None:
    compile_expression("(" * 30 + "a" + ")" * 30)
    compile_expression(" + ".join(["a"] * 30))
    compile_expression("a" * 500)
    compile_expression("'" + "x" * 200 + "'")


def test_nothing_is_handed_to_eval_exec_or_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    real_compile = builtins.compile

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("eval/exec called")

    def only_ast(
        source: Any, filename: Any, mode: Any, flags: int = 0, *rest: Any, **kw: Any
    ) -> Any:
        assert flags & ast.PyCF_ONLY_AST, "compile() used for something other than parsing"
        return real_compile(source, filename, mode, flags, *rest, **kw)

    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    monkeypatch.setattr(builtins, "compile", only_ast)
    expression = compile_expression(SAVING + " > 10 and selected(t, 'a') and regex(s, 'x+')")
    answers = {"elec_before": D(100), "elec_now": D(50), "t": ["a"], "s": "xx"}
    assert expression.evaluate(answers) is True


# --------------------------------------------------------------------------------------------
# Robustness: ordinary data never crashes an expression

ROBUSTNESS_SOURCES = [
    SAVING,
    BETWEEN,
    "a + b - c * d / e",
    "-a + +b",
    "not a or b and c",
    "a < b <= c > d >= e == a != b",
    "a in b or c not in d",
    "a if b else c",
    "selected(a, b) and count_selected(c) > count(d)",
    "len(a) + abs(b) + round(c, d) + round(e)",
    "min(a, b, c) + max(d, e) + coalesce(a, b, 1)",
    "number(a) + number(b)",
    "regex(a, b) or regex(c, '[0-9]+')",
    "a == None or b != None",
]
EXPRESSIONS = [compile_expression(source) for source in ROBUSTNESS_SOURCES]

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.text(max_size=5), max_size=4),
)
answer_sets = st.fixed_dictionaries({name: values for name in "abcde"})


def is_allowed_result(value: object) -> bool:
    if isinstance(value, list):
        return all(isinstance(item, str) for item in value)
    return value is None or isinstance(value, bool | Decimal | str)


@settings(max_examples=300, deadline=None)
@given(answers=answer_sets, current=values)
def test_ordinary_answers_never_make_an_expression_raise(
    answers: dict[str, object], current: object
) -> None:
    answers = {**answers, "elec_before": answers["a"], "elec_now": answers["b"]}
    for expression in EXPRESSIONS:
        result = expression.evaluate(answers, current)
        assert is_allowed_result(result), (expression.source, result)
        assert isinstance(expression.is_true(answers, current), bool)
        if isinstance(result, Decimal):
            assert result.is_finite() and result.adjusted() <= 30


def test_every_function_is_covered_by_the_robustness_expressions() -> None:
    called: set[str] = set()
    for source in ROBUSTNESS_SOURCES:
        for node in ast.walk(ast.parse(source.replace(". ", "x "), mode="eval")):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                called.add(node.func.id)
    assert called == {
        "selected",
        "count_selected",
        "count",
        "len",
        "abs",
        "round",
        "min",
        "max",
        "coalesce",
        "number",
        "regex",
    }
