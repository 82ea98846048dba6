"""Read numbers the way Vietnamese users type them in chat, and format them the Vietnamese way.

Pure module: no I/O, no global state. Every value is a :class:`decimal.Decimal` (or an
``int`` for whole numbers and money) - never a float. Formatting and the final parse go
through babel with locale ``"vi"`` (decimal separator ``","``, grouping ``"."``).

Reading rules
-------------
* Surrounding whitespace is stripped. Input longer than 40 characters (after stripping)
  is refused as ``"not_a_number"`` without further work.
* A leading ``-`` or ``+`` (also the Unicode minus ``−``) is accepted.
* Spaces (normal, NBSP, narrow NBSP, thin space) are accepted as thousands separators
  when the first group has 1-3 digits and every later group exactly 3:
  ``1 250 000`` -> 1250000, ``1 250,5`` -> 1250.5.
* ``1.250,5`` -> 1250.5; ``1250,5`` -> 1250.5; ``1,5`` -> 1.5; ``0,125`` -> 0.125;
  ``1.250`` -> 1250; ``1.250.000`` -> 1250000; ``12`` -> 12.
* Dots are thousands separators when every group after the first has exactly 3 digits
  and the first group has 1-3 digits and does not start with ``0``; a comma may then
  follow as the decimal separator. Anything else with two or more dots (``1.25.000``)
  is refused.
* A single dot that cannot be a thousands separator is an English-style decimal point:
  ``1.5`` -> 1.5, ``12.75`` -> 12.75, ``0.125`` -> 0.125 (leading zero, so not grouping),
  ``1234.5`` -> 1234.5.
* Ambiguous input is refused with reason ``"ambiguous"`` instead of guessed:
  a single comma followed by exactly 3 digits after a 1-3 digit integer part that does
  not start with ``0`` (``1,250`` is 1.25 to a Vietnamese reader, 1250 to an English
  one); several commas in English grouping (``1,250,000``); the English full form with
  both separators in English order (``1,250.5``).
* ``allow_percent=True`` accepts one trailing ``%``, with or without a space before it:
  ``12,5%`` / ``12,5 %`` -> 12.5 (the value is in percentage points, not a fraction).
  Without it any ``%`` makes the input ``"not_a_number"``.
* Money (:func:`parse_money`) additionally accepts, case-insensitively, with or without
  Vietnamese diacritics and with or without a space before the word, a multiplier word
  (``k``, ``nghìn``/``nghin``/``ngàn``/``ngan`` = 1 000; ``tr``/``triệu``/``trieu``
  = 1 000 000; ``tỷ``/``ty``/``tỉ``/``ti`` = 1 000 000 000) followed by an optional
  currency word or sign (``đ``, ``d``, ``đồng``, ``dong``, ``vnd``, ``VNĐ``, ``₫``):
  ``1,5 triệu đồng`` -> 1500000, ``1.5tr`` -> 1500000, ``500k`` -> 500000,
  ``1.500tr`` -> 1500000000 (a dot followed by 3 digits is still grouping). The result
  must be a whole number of VND (else ``"not_whole"``) and not negative (else
  ``"negative_money"``). Shorthand such as ``1tr5`` is *not* accepted.

Error reasons (``NumberError.reason``)
--------------------------------------
``"empty"``, ``"not_a_number"`` (letters, garbage, bad grouping, stray ``%``, too long),
``"ambiguous"``, ``"not_whole"`` (integer / money with a fraction), ``"negative_money"``.
``NumberError.example`` is a correctly formatted example for the kind of number asked:
``"1.250,5"`` (decimal), ``"1.250"`` (integer), ``"1.500.000"`` (money), ``"12,5%"``
(percent).

Formatting choices
------------------
* :func:`format_decimal`: ``"1.250,5"``; rounds ROUND_HALF_UP to ``max_fraction_digits``,
  no trailing zeros, never ``"-0"``.
* :func:`format_money`: ``"1.500.000\\u00a0₫"`` - a NO-BREAK SPACE (U+00A0) before ``₫``,
  as in CLDR's Vietnamese currency pattern, so the sign never wraps onto its own line.
  Fractions of a dong are rounded ROUND_HALF_UP.
* :func:`format_percent`: ``"12,5%"`` - no space before ``%``, as in CLDR's Vietnamese
  percent pattern (``#,##0%``) and the usual Vietnamese administrative style.

``format_decimal`` output with up to 2 fraction digits always parses back to the same
value. (With 3 fraction digits and a 1-3 digit integer part, e.g. ``1,125``, the
output would be refused as ambiguous.)
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation, localcontext
from typing import Final

from babel import numbers as babel_numbers

from flows.textmatch import fold

__all__ = [
    "NumberError",
    "format_decimal",
    "format_money",
    "format_percent",
    "parse_decimal",
    "parse_integer",
    "parse_money",
]

_LOCALE: Final = "vi"
_MAX_INPUT_LENGTH: Final = 40
# Enough precision for any number that fits in the input length limit, times 10^9.
_WORKING_PRECISION: Final = 100

_NBSP: Final = "\u00a0"
_CURRENCY_SIGN: Final = "₫"

_EXAMPLE_DECIMAL: Final = "1.250,5"
_EXAMPLE_INTEGER: Final = "1.250"
_EXAMPLE_MONEY: Final = "1.500.000"
_EXAMPLE_PERCENT: Final = "12,5%"

_SIGNED = re.compile(r"(?P<sign>[-+\u2212]?)\s*(?P<body>.*)", re.DOTALL)
_SPACE_GROUPED = re.compile(r"[1-9]\d{0,2}(?:[ \u00a0\u202f\u2009]\d{3})+(?:,\d+)?")
_GROUP_SPACES = re.compile(r"[ \u00a0\u202f\u2009]")
_PLAIN = re.compile(r"\d+")
_ONE_COMMA = re.compile(r"(?P<int>\d+),(?P<frac>\d+)")
_DOT_GROUPED = re.compile(r"(?P<int>[1-9]\d{0,2}(?:\.\d{3})+)(?:,(?P<frac>\d+))?")
_ONE_DOT = re.compile(r"(?P<int>\d+)\.(?P<frac>\d+)")
_ENGLISH_GROUPED = re.compile(r"[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?")

# Applied to the case- and diacritic-folded text (see flows.textmatch.fold).
_CURRENCY_SUFFIX = re.compile(r"\s*(?:dong|vnd|d|₫)\Z")
_MULTIPLIER_SUFFIX = re.compile(r"\s*(?P<word>trieu|tr|ty|ti|nghin|ngan|k)\Z")
_MULTIPLIERS: Final[dict[str, int]] = {
    "k": 1_000,
    "nghin": 1_000,
    "ngan": 1_000,
    "tr": 1_000_000,
    "trieu": 1_000_000,
    "ty": 1_000_000_000,
    "ti": 1_000_000_000,
}


class NumberError(ValueError):
    """A number could not be read.

    ``reason`` is machine-readable (see the module docstring for the list) and
    ``example`` is a correctly formatted example the UI can show to the user.
    """

    reason: str
    example: str

    def __init__(self, reason: str, example: str, text: str = "") -> None:
        shown = text if len(text) <= _MAX_INPUT_LENGTH else text[:_MAX_INPUT_LENGTH] + "…"
        super().__init__(f"cannot read {shown!r} as a number ({reason}); example: {example}")
        self.reason = reason
        self.example = example


def parse_decimal(text: str, *, allow_percent: bool = False) -> Decimal:
    """Read a decimal number typed by a Vietnamese user (see the module rules)."""
    example = _EXAMPLE_PERCENT if allow_percent else _EXAMPLE_DECIMAL
    return _parse_number(text, example=example, allow_percent=allow_percent)


def parse_integer(text: str) -> int:
    """Read a whole number: ``"1.250"`` -> 1250, ``"12"`` -> 12; ``"1,5"`` is not whole."""
    value = _parse_number(text, example=_EXAMPLE_INTEGER, allow_percent=False)
    return _to_int(value, text, _EXAMPLE_INTEGER)


def parse_money(text: str) -> int:
    """Read an amount of VND, with the multiplier and currency words people use."""
    stripped = _strip_and_check(text, _EXAMPLE_MONEY)
    folded = fold(stripped)
    folded = _CURRENCY_SUFFIX.sub("", folded, count=1)
    multiplier = 1
    match = _MULTIPLIER_SUFFIX.search(folded)
    if match is not None:
        multiplier = _MULTIPLIERS[match.group("word")]
        folded = folded[: match.start()]
    if not folded.strip():
        # Only words, e.g. "triệu" or "đồng".
        raise NumberError("not_a_number", _EXAMPLE_MONEY, text)
    try:
        value = _parse_number(folded, example=_EXAMPLE_MONEY, allow_percent=False)
    except NumberError as exc:
        raise NumberError(exc.reason, _EXAMPLE_MONEY, text) from None
    with localcontext() as ctx:
        ctx.prec = _WORKING_PRECISION
        value *= multiplier
    if value < 0:
        raise NumberError("negative_money", _EXAMPLE_MONEY, text)
    return _to_int(value, text, _EXAMPLE_MONEY)


def format_decimal(value: Decimal | int, *, max_fraction_digits: int = 2) -> str:
    """Format Vietnamese-style: ``Decimal("1250.5")`` -> ``"1.250,5"``, ``1250`` -> ``"1.250"``.

    Rounds ROUND_HALF_UP to ``max_fraction_digits``, drops trailing zeros, never ``"-0"``.
    """
    if max_fraction_digits < 0:
        raise ValueError("max_fraction_digits must be >= 0")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"cannot format non-finite number {number}")
    pattern = "#,##0" + ("." + "#" * max_fraction_digits if max_fraction_digits else "")
    with localcontext() as ctx:
        ctx.prec = max(_WORKING_PRECISION, number.adjusted() + max_fraction_digits + 2)
        rounded = number.quantize(Decimal(1).scaleb(-max_fraction_digits), ROUND_HALF_UP)
        if rounded.is_zero():
            rounded = rounded.copy_abs()
        return babel_numbers.format_decimal(rounded, format=pattern, locale=_LOCALE)


def format_money(value: int | Decimal) -> str:
    """Format whole VND: ``1500000`` -> ``"1.500.000\\u00a0₫"`` (NO-BREAK SPACE before ₫)."""
    return format_decimal(value, max_fraction_digits=0) + _NBSP + _CURRENCY_SIGN


def format_percent(value: Decimal, *, max_fraction_digits: int = 1) -> str:
    """Format percentage points: ``Decimal("12.5")`` -> ``"12,5%"`` (no space before %)."""
    return format_decimal(value, max_fraction_digits=max_fraction_digits) + "%"


def _strip_and_check(text: str, example: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise NumberError("empty", example, text)
    if len(stripped) > _MAX_INPUT_LENGTH:
        raise NumberError("not_a_number", example, text)
    return stripped


def _parse_number(text: str, *, example: str, allow_percent: bool) -> Decimal:
    stripped = _strip_and_check(text, example)
    if allow_percent and stripped.endswith("%"):
        stripped = stripped[:-1].rstrip()
    if "%" in stripped:
        raise NumberError("not_a_number", example, text)

    signed = _SIGNED.fullmatch(stripped)
    assert signed is not None  # the pattern matches any string
    negative = signed.group("sign") in ("-", "\u2212")
    body = signed.group("body")
    if _SPACE_GROUPED.fullmatch(body):
        body = _GROUP_SPACES.sub("", body)

    int_digits, frac_digits = _split(body, text, example)
    canonical = int_digits + ("," + frac_digits if frac_digits else "")
    try:
        value = babel_numbers.parse_decimal(canonical, locale=_LOCALE, strict=True)
    except (babel_numbers.NumberFormatError, InvalidOperation) as exc:
        raise NumberError("not_a_number", example, text) from exc
    # copy_negate / copy_abs are exact (unary - and abs() round to the context precision).
    if negative:
        value = value.copy_negate()
    if value.is_zero():
        value = value.copy_abs()
    return value


def _split(body: str, text: str, example: str) -> tuple[str, str]:
    """Split an unsigned body into (integer digits, fraction digits) or refuse it."""
    if _PLAIN.fullmatch(body):
        return body, ""
    if match := _ONE_COMMA.fullmatch(body):
        int_part, frac_part = match.group("int", "frac")
        if len(frac_part) == 3 and len(int_part) <= 3 and not int_part.startswith("0"):
            raise NumberError("ambiguous", example, text)
        return int_part, frac_part
    if match := _DOT_GROUPED.fullmatch(body):
        return match.group("int").replace(".", ""), match.group("frac") or ""
    if match := _ONE_DOT.fullmatch(body):
        # Cannot be grouping (checked above), so it is an English decimal point.
        return match.group("int"), match.group("frac")
    if _ENGLISH_GROUPED.fullmatch(body):
        raise NumberError("ambiguous", example, text)
    raise NumberError("not_a_number", example, text)


def _to_int(value: Decimal, text: str, example: str) -> int:
    if value != value.to_integral_value():
        raise NumberError("not_whole", example, text)
    return int(value)
