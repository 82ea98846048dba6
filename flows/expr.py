"""A small, safe evaluator for the expressions used in form definitions.

Forms (YAML, in the spirit of XLSForm) attach expressions to questions:

* ``constraint`` – must be true for an answer to be accepted, e.g. ``. > 0 and . < 1000000``;
* ``relevant`` – whether the question is asked at all, e.g. ``selected(techniques, 'reuse')``;
* ``calculate`` – a derived value, e.g. ``(elec_before - elec_now) / elec_before * 100``;
* ``warning`` – a soft check that asks the user to confirm, e.g. ``saving < 0 or saving > 60``.

Expressions are written by form authors, but answers come from chat users, so this module
never hands anything to ``eval``/``exec``/``compile``. Instead the source is parsed with
:func:`ast.parse`, checked node by node against a whitelist once (when the form is loaded)
and turned into a tree of small Python closures that are run against a mapping of answers.

Evaluation never raises for ordinary data: anything that cannot be computed (an unanswered
question, a division by zero, text where a number is expected, a number that is absurdly
large) yields ``None``, and comparisons involving such values are false.
"""

from __future__ import annotations

import ast
import functools
import io
import operator
import re
import tokenize
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import (
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from typing import Any

__all__ = ["Expression", "ExpressionError", "compile_expression"]

MAX_SOURCE_LENGTH = 500
"""Longest accepted expression, in characters."""
MAX_DEPTH = 30
"""Deepest accepted nesting, counted both in AST levels and in brackets."""
MAX_STRING_LENGTH = 200
"""Longest accepted string literal, in characters."""
MAX_PATTERN_LENGTH = 200
"""Longest regular expression accepted by ``regex()``."""
MAX_ADJUSTED_EXPONENT = 30
"""Numbers of 10**31 or more (in magnitude) are treated as ``None``."""
MAX_ROUND_DIGITS = 20
"""``round(x, n)`` accepts ``-20 <= n <= 20``."""

# `.` (the value of the question being answered) is rewritten to this name before parsing.
# It has the same length as `.`, so every column in the AST still points into the source the
# author wrote; and since authors may not use names starting with `_`, it cannot collide.
_CURRENT = "_"

_ARITHMETIC = Context(
    prec=28,
    rounding=ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
# quantize() fails when the result has more digits than the precision; be generous there.
_ROUNDING = Context(
    prec=80,
    rounding=ROUND_HALF_UP,
    Emin=-999_999,
    Emax=999_999,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)

_Evaluator = Callable[[Mapping[str, object], object], object]


class ExpressionError(ValueError):
    """An expression was refused or could not be parsed; the message says what and where."""


@dataclass(frozen=True)
class Expression:
    """A validated expression, ready to be evaluated against answers.

    Build one with :func:`compile_expression`.
    """

    source: str
    names: frozenset[str]
    """The answer names the expression reads (``.`` and function names not included)."""
    _run: _Evaluator = field(repr=False, compare=False)

    def evaluate(self, answers: Mapping[str, object], current: object = None) -> object:
        """Evaluate against ``answers``; ``current`` is the value ``.`` stands for.

        Returns a ``Decimal``, ``bool``, ``str``, ``list`` of ``str`` or ``None``.
        """
        try:
            return self._run(answers, current)
        except (ArithmeticError, re.error):  # defensive: every operation already guards
            return None

    def is_true(self, answers: Mapping[str, object], current: object = None) -> bool:
        """Evaluate and take the truthiness of the result (``None`` is false)."""
        return _truthy(self.evaluate(answers, current))


def compile_expression(source: str) -> Expression:
    """Parse and validate ``source``; raise :class:`ExpressionError` if it is refused."""
    if not isinstance(source, str):
        raise ExpressionError(f"an expression must be a string, not {type(source).__name__}")
    text = source.strip()
    if not text:
        raise ExpressionError("empty expression")
    if len(text) > MAX_SOURCE_LENGTH:
        raise ExpressionError(
            f"expression is too long ({len(text)} characters, at most {MAX_SOURCE_LENGTH}): "
            f"{text[:40]!r}..."
        )
    prepared = _replace_current(text)
    try:
        tree = ast.parse(prepared, mode="eval")
    except SyntaxError as exc:
        where = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"syntax error{where} in {text!r}: {exc.msg}") from None
    except (ValueError, MemoryError, RecursionError) as exc:
        raise ExpressionError(f"cannot parse {text!r}: {exc}") from None
    compiler = _Compiler(text)
    run = compiler.compile(tree.body, 1)
    return Expression(source=text, names=frozenset(compiler.names), _run=run)


# --------------------------------------------------------------------------------------------
# Source preparation


def _replace_current(text: str) -> str:
    """Rewrite each standalone `.` as the reserved name, and check bracket nesting.

    Tokenizing (rather than a regular expression) keeps dots inside string literals and number
    literals such as ``0.5`` or ``1.`` untouched. A `.` token next to a letter, digit or `_`
    (``x.y``, ``().__class__``) is left alone so that it is refused as attribute access.
    """
    lines = io.StringIO(text).readlines()
    edited = list(lines)
    depth = 0
    try:
        for token in tokenize.generate_tokens(iter(lines).__next__):
            if token.type == tokenize.NAME and token.string == _CURRENT:
                raise ExpressionError(
                    f"a name starting with '_' is not allowed: {_CURRENT} "
                    f"(at column {token.start[1] + 1} in {text!r})"
                )
            if token.type != tokenize.OP:
                continue
            if token.string in ("(", "[", "{"):
                depth += 1
                if depth > MAX_DEPTH:
                    raise ExpressionError(
                        f"expression is nested too deeply (more than {MAX_DEPTH} levels of "
                        f"brackets) at column {token.start[1] + 1} in {text[:40]!r}..."
                    )
            elif token.string in (")", "]", "}"):
                depth -= 1
            elif token.string == ".":
                row, col = token.start
                line = lines[row - 1]
                before = line[col - 1] if col > 0 else " "
                after = line[col + 1] if col + 1 < len(line) else " "
                if not (_is_word_char(before) or _is_word_char(after)):
                    current_line = edited[row - 1]
                    edited[row - 1] = current_line[:col] + _CURRENT + current_line[col + 1 :]
    except tokenize.TokenError:
        pass  # unbalanced brackets and the like: ast.parse gives the better message
    return "".join(edited)


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


# --------------------------------------------------------------------------------------------
# Validation and compilation

_COMPARISONS: dict[type[ast.cmpop], str] = {
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}

_REFUSED_OPERATORS: dict[type[ast.AST], str] = {
    ast.Pow: "the power operator **",
    ast.FloorDiv: "floor division //",
    ast.Mod: "the modulo operator %",
    ast.MatMult: "matrix multiplication @",
    ast.LShift: "a bit shift",
    ast.RShift: "a bit shift",
    ast.BitAnd: "a bit operator",
    ast.BitOr: "a bit operator",
    ast.BitXor: "a bit operator",
    ast.Invert: "the bit operator ~",
    ast.Is: "an 'is' comparison (write == None)",
    ast.IsNot: "an 'is not' comparison (write != None)",
}

_REFUSED_NODES: dict[type[ast.AST], str] = {
    ast.Attribute: "attribute access",
    ast.Subscript: "a subscript",
    ast.Slice: "a slice",
    ast.Lambda: "a lambda",
    ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension",
    ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression",
    ast.NamedExpr: "an assignment expression (:=)",
    ast.JoinedStr: "an f-string",
    ast.FormattedValue: "an f-string",
    ast.Starred: "a starred expression",
    ast.List: "a list display [...]",
    ast.Tuple: "a tuple",
    ast.Set: "a set display {...}",
    ast.Dict: "a dict display {...}",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
}

# name -> (min args, max args or None for "any number")
_FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "selected": (2, 2),
    "count_selected": (1, 1),
    "count": (1, 1),
    "len": (1, 1),
    "abs": (1, 1),
    "round": (1, 2),
    "min": (1, None),
    "max": (1, None),
    "coalesce": (1, None),
    "number": (1, 1),
    "regex": (2, 2),
}


class _Compiler:
    def __init__(self, source: str) -> None:
        self.source = source
        self.names: set[str] = set()

    # -- error reporting ---------------------------------------------------------------------

    def _segment(self, node: ast.AST) -> str:
        segment = ast.get_source_segment(self.source, node)
        return segment if segment is not None else ast.unparse(node)

    def _column(self, node: ast.AST) -> int:
        lineno: int = getattr(node, "lineno", 1)
        offset: int = getattr(node, "col_offset", 0)
        lines = self.source.splitlines() or [""]
        line = lines[min(lineno, len(lines)) - 1]
        # col_offset counts UTF-8 bytes; report characters
        return len(line.encode("utf-8")[:offset].decode("utf-8", errors="ignore")) + 1

    def _error(self, message: str, node: ast.AST) -> ExpressionError:
        return ExpressionError(
            f"{message}: {self._segment(node)} (at column {self._column(node)} in {self.source!r})"
        )

    def _refuse(self, what: str, node: ast.AST) -> ExpressionError:
        return self._error(f"{what} is not allowed", node)

    # -- dispatch ----------------------------------------------------------------------------

    def compile(self, node: ast.expr, depth: int) -> _Evaluator:
        if depth > MAX_DEPTH:
            raise self._error(
                f"expression is nested too deeply (more than {MAX_DEPTH} levels)", node
            )
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.BinOp):
            return self._binop(node, depth)
        if isinstance(node, ast.UnaryOp):
            return self._unaryop(node, depth)
        if isinstance(node, ast.BoolOp):
            return self._boolop(node, depth)
        if isinstance(node, ast.Compare):
            return self._compare(node, depth)
        if isinstance(node, ast.IfExp):
            return self._ifexp(node, depth)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        what = _REFUSED_NODES.get(type(node), f"the construct {type(node).__name__}")
        raise self._refuse(what, node)

    # -- leaves ------------------------------------------------------------------------------

    def _constant(self, node: ast.Constant) -> _Evaluator:
        value = node.value
        constant: object
        if value is None or isinstance(value, bool):
            constant = value
        elif isinstance(value, str):
            if len(value) > MAX_STRING_LENGTH:
                raise self._error(
                    f"string literal is too long ({len(value)} characters, "
                    f"at most {MAX_STRING_LENGTH})",
                    node,
                )
            constant = value
        elif isinstance(value, int):
            constant = self._number(Decimal(value), node)
        elif isinstance(value, float):
            # Never go through the float: read the literal's own text.
            text = self._segment(node).replace("_", "")
            try:
                number = Decimal(text)
            except InvalidOperation:
                raise self._error("unreadable number", node) from None
            constant = self._number(number, node)
        elif isinstance(value, bytes):
            raise self._refuse("a bytes literal", node)
        elif isinstance(value, complex):
            raise self._refuse("a complex number", node)
        else:
            raise self._refuse(f"the literal {value!r}", node)
        return lambda answers, current: constant

    def _number(self, number: Decimal, node: ast.AST) -> Decimal:
        checked = _checked(number)
        if checked is None:
            raise self._error("number is too large", node)
        return checked

    def _name(self, node: ast.Name) -> _Evaluator:
        name = node.id
        if name == _CURRENT:
            return lambda answers, current: _value(current)
        if name.startswith("_"):
            raise self._refuse("a name starting with '_'", node)
        self.names.add(name)
        return lambda answers, current: _value(answers.get(name))

    # -- operators ---------------------------------------------------------------------------

    def _binop(self, node: ast.BinOp, depth: int) -> _Evaluator:
        operation: Callable[[Decimal, Decimal], Decimal]
        if isinstance(node.op, ast.Add):
            operation = _ARITHMETIC.add
        elif isinstance(node.op, ast.Sub):
            operation = _ARITHMETIC.subtract
        elif isinstance(node.op, ast.Mult):
            operation = _ARITHMETIC.multiply
        elif isinstance(node.op, ast.Div):
            operation = _ARITHMETIC.divide
        else:
            what = _REFUSED_OPERATORS.get(type(node.op), f"the operator {type(node.op).__name__}")
            raise self._refuse(what, node)
        left = self.compile(node.left, depth + 1)
        right = self.compile(node.right, depth + 1)

        def run(answers: Mapping[str, object], current: object) -> object:
            a = _numeric(left(answers, current))
            if a is None:
                return None
            b = _numeric(right(answers, current))
            if b is None:
                return None
            return _arithmetic(operation, a, b)

        return run

    def _unaryop(self, node: ast.UnaryOp, depth: int) -> _Evaluator:
        if not isinstance(node.op, ast.Not | ast.USub | ast.UAdd):
            what = _REFUSED_OPERATORS.get(type(node.op), f"the operator {type(node.op).__name__}")
            raise self._refuse(what, node)
        operand = self.compile(node.operand, depth + 1)
        if isinstance(node.op, ast.Not):
            return lambda answers, current: not _truthy(operand(answers, current))
        if isinstance(node.op, ast.USub):
            return lambda answers, current: _negate(_numeric(operand(answers, current)))
        return lambda answers, current: _numeric(operand(answers, current))

    def _boolop(self, node: ast.BoolOp, depth: int) -> _Evaluator:
        operands = [self.compile(value, depth + 1) for value in node.values]
        if isinstance(node.op, ast.And):

            def run_and(answers: Mapping[str, object], current: object) -> object:
                result: object = None
                for operand in operands:
                    result = operand(answers, current)
                    if not _truthy(result):
                        return result
                return result

            return run_and

        def run_or(answers: Mapping[str, object], current: object) -> object:
            result: object = None
            for operand in operands:
                result = operand(answers, current)
                if _truthy(result):
                    return result
            return result

        return run_or

    def _compare(self, node: ast.Compare, depth: int) -> _Evaluator:
        for op in node.ops:
            if type(op) not in _COMPARISONS:
                what = _REFUSED_OPERATORS.get(type(op), f"the comparison {type(op).__name__}")
                raise self._refuse(what, node)
        nodes = [node.left, *node.comparators]
        operands = [self.compile(operand, depth + 1) for operand in nodes]
        literal_none = [isinstance(n, ast.Constant) and n.value is None for n in nodes]
        steps = [
            (_COMPARISONS[type(op)], literal_none[i] or literal_none[i + 1])
            for i, op in enumerate(node.ops)
        ]

        def run(answers: Mapping[str, object], current: object) -> object:
            left = operands[0](answers, current)
            for i, (op, against_none) in enumerate(steps):
                right = operands[i + 1](answers, current)
                if not _comparison(op, left, right, against_none):
                    return False
                left = right
            return True

        return run

    def _ifexp(self, node: ast.IfExp, depth: int) -> _Evaluator:
        test = self.compile(node.test, depth + 1)
        body = self.compile(node.body, depth + 1)
        orelse = self.compile(node.orelse, depth + 1)

        def run(answers: Mapping[str, object], current: object) -> object:
            if _truthy(test(answers, current)):
                return body(answers, current)
            return orelse(answers, current)

        return run

    # -- function calls ----------------------------------------------------------------------

    def _call(self, node: ast.Call, depth: int) -> _Evaluator:
        if isinstance(node.func, ast.Attribute):
            raise self._refuse("attribute access", node.func)
        if not isinstance(node.func, ast.Name):
            raise self._refuse("calling anything but a function name", node)
        name = node.func.id
        if name not in _FUNCTIONS:
            allowed = ", ".join(sorted(_FUNCTIONS))
            raise self._error(
                f"calling {name!r} is not allowed (the functions are: {allowed})", node
            )
        if node.keywords:
            raise self._refuse("a keyword argument", node)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self._refuse("a starred argument", node)
        low, high = _FUNCTIONS[name]
        count = len(node.args)
        if count < low or (high is not None and count > high):
            if high is None:
                expected = f"at least {low}"
            elif low == high:
                expected = str(low)
            else:
                expected = f"{low} to {high}"
            noun = "argument" if expected == "1" else "arguments"
            raise self._error(f"{name}() takes {expected} {noun}, got {count}", node)
        if name == "regex":
            self._check_pattern(node)
        args = [self.compile(arg, depth + 1) for arg in node.args]

        if name == "coalesce":

            def run_coalesce(answers: Mapping[str, object], current: object) -> object:
                for arg in args:
                    value = arg(answers, current)
                    if value is not None:
                        return value
                return None

            return run_coalesce

        function = _IMPLEMENTATIONS[name]

        def run(answers: Mapping[str, object], current: object) -> object:
            return function([arg(answers, current) for arg in args])

        return run

    def _check_pattern(self, node: ast.Call) -> None:
        pattern = node.args[1]
        if not isinstance(pattern, ast.Constant):
            return  # checked (leniently) when evaluated
        if not isinstance(pattern.value, str):
            raise self._error("the pattern given to regex() must be a string", node)
        if len(pattern.value) > MAX_PATTERN_LENGTH:
            raise self._error(
                f"regular expression is too long (at most {MAX_PATTERN_LENGTH} characters)", node
            )
        try:
            re.compile(pattern.value)
        except re.error as exc:
            raise self._error(f"invalid regular expression ({exc})", node) from None


# --------------------------------------------------------------------------------------------
# Values


def _checked(number: Decimal) -> Decimal | None:
    """Return ``number`` if it is finite and not absurdly large, else ``None``."""
    if not number.is_finite():
        return None
    if number.is_zero():
        return number if number.adjusted() <= 0 else Decimal(0)
    if number.adjusted() > MAX_ADJUSTED_EXPONENT:
        return None
    return number


def _value(raw: object) -> object:
    """Normalise an answer: ints become Decimal, oddities become None."""
    if raw is None or isinstance(raw, bool | str):
        return raw
    if isinstance(raw, Decimal):
        return _checked(raw)
    if isinstance(raw, int):
        return _checked(Decimal(raw))
    if isinstance(raw, float):  # not expected; converted through its shortest repr, never used
        return _checked(Decimal(repr(raw)))
    if isinstance(raw, list | tuple):
        return [item for item in raw if isinstance(item, str)]
    if isinstance(raw, set | frozenset):
        return sorted(item for item in raw if isinstance(item, str))
    return None


def _truthy(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, bool | Decimal | str | list):
        return bool(value)
    return False


def _numeric(value: object) -> Decimal | None:
    """The number a value stands for in arithmetic: True is 1, text and lists are not numbers."""
    if isinstance(value, bool | Decimal):
        return _as_decimal(value)
    return None


def _as_decimal(value: bool | Decimal) -> Decimal:
    if isinstance(value, bool):
        return Decimal(int(value))
    return value


def _arithmetic(
    operation: Callable[[Decimal, Decimal], Decimal], a: Decimal, b: Decimal
) -> Decimal | None:
    try:
        result = operation(a, b)
    except DecimalException:  # division by zero, 0/0, overflow
        return None
    return _checked(result)


def _negate(value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    return _checked(_ARITHMETIC.minus(value))


_ORDERINGS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _comparison(op: str, left: object, right: object, against_none: bool) -> bool:
    """One step of a (possibly chained) comparison.

    Against the literal ``None``, ``==`` and ``!=`` test for "unanswered". Otherwise a
    comparison with an unanswered value, or between values of different kinds (text and a
    number, say), is false whatever the operator.
    """
    if against_none and op in ("==", "!="):
        return (left is None and right is None) == (op == "==")
    if left is None or right is None:
        return False
    if op in ("in", "not in"):
        if not isinstance(left, str) or not isinstance(right, list | str):
            return False
        return (left in right) == (op == "in")
    if isinstance(left, bool | Decimal) and isinstance(right, bool | Decimal):
        return bool(_ORDERINGS[op](_as_decimal(left), _as_decimal(right)))
    if isinstance(left, str) and isinstance(right, str):
        return bool(_ORDERINGS[op](left, right))
    if isinstance(left, list) and isinstance(right, list) and op in ("==", "!="):
        return (left == right) == (op == "==")
    return False


# --------------------------------------------------------------------------------------------
# Functions (arguments already evaluated; arity checked at compile time)


def _choices(value: object) -> list[str] | None:
    """A multiple-choice answer as a list; a text answer is split on spaces, XLSForm style."""
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return value.split()
    return None


def _fn_selected(args: Sequence[object]) -> object:
    choices = _choices(args[0])
    choice = args[1]
    return choices is not None and isinstance(choice, str) and choice in choices


def _fn_count_selected(args: Sequence[object]) -> object:
    if args[0] is None:
        return Decimal(0)
    choices = _choices(args[0])
    return None if choices is None else Decimal(len(choices))


def _fn_len(args: Sequence[object]) -> object:
    value = args[0]
    if isinstance(value, str | list):
        return Decimal(len(value))
    return None


def _fn_abs(args: Sequence[object]) -> object:
    number = _numeric(args[0])
    return None if number is None else _ARITHMETIC.abs(number)


def _fn_round(args: Sequence[object]) -> object:
    number = _numeric(args[0])
    places = _numeric(args[1]) if len(args) > 1 else Decimal(0)
    if number is None or places is None or places != places.to_integral_value():
        return None
    digits = int(places)
    if abs(digits) > MAX_ROUND_DIGITS:
        return None
    try:
        result = number.quantize(Decimal(1).scaleb(-digits), context=_ROUNDING)
    except DecimalException:
        return None
    return _checked(result)


def _extremum(args: Sequence[object], pick: Callable[[list[Decimal]], Decimal]) -> object:
    numbers = [_numeric(arg) for arg in args]
    present = [number for number in numbers if number is not None]
    if len(present) != len(numbers):
        return None
    return pick(present)


def _fn_min(args: Sequence[object]) -> object:
    return _extremum(args, min)


def _fn_max(args: Sequence[object]) -> object:
    return _extremum(args, max)


_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?", re.ASCII)


def _fn_number(args: Sequence[object]) -> object:
    value = args[0]
    if isinstance(value, bool | Decimal):
        return _numeric(value)
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 100 or not _NUMBER_TEXT.fullmatch(text):
            return None
        return _checked(Decimal(text))
    return None


@functools.lru_cache(maxsize=256)
def _pattern(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _fn_regex(args: Sequence[object]) -> object:
    subject, pattern = args
    if not isinstance(subject, str) or not isinstance(pattern, str):
        return False
    if len(pattern) > MAX_PATTERN_LENGTH:
        return False
    compiled = _pattern(pattern)
    return compiled is not None and compiled.fullmatch(subject) is not None


_IMPLEMENTATIONS: dict[str, Callable[[Sequence[object]], object]] = {
    "selected": _fn_selected,
    "count_selected": _fn_count_selected,
    "count": _fn_count_selected,
    "len": _fn_len,
    "abs": _fn_abs,
    "round": _fn_round,
    "min": _fn_min,
    "max": _fn_max,
    "number": _fn_number,
    "regex": _fn_regex,
}
