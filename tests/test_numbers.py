"""How flows.numbers reads numbers Vietnamese users type and formats them back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.numbers import (
    NumberError,
    format_decimal,
    format_money,
    format_percent,
    parse_decimal,
    parse_integer,
    parse_money,
)

NBSP = "\u00a0"

# Each row: typed text -> expected value, or the NumberError reason as a string.
DECIMAL_CASES: list[tuple[str, Decimal | str]] = [
    ("1.250,5", Decimal("1250.5")),
    ("1250,5", Decimal("1250.5")),
    ("1,5", Decimal("1.5")),
    ("0,125", Decimal("0.125")),
    ("1.250", Decimal("1250")),
    ("1.250.000", Decimal("1250000")),
    ("12", Decimal("12")),
    ("0", Decimal("0")),
    ("-0", Decimal("0")),
    ("  42  ", Decimal("42")),
    ("-1.250,5", Decimal("-1250.5")),
    ("+1.250,5", Decimal("1250.5")),
    ("\u22123,5", Decimal("-3.5")),
    ("1.5", Decimal("1.5")),
    ("12.75", Decimal("12.75")),
    ("0.125", Decimal("0.125")),
    ("1234.567", Decimal("1234.567")),
    ("1 250 000", Decimal("1250000")),
    ("1\u00a0250\u00a0000,75", Decimal("1250000.75")),
    ("1\u202f250", Decimal("1250")),
    ("1234,567", Decimal("1234.567")),
    ("1,2345", Decimal("1.2345")),
    ("1.000,000", Decimal("1000")),
    ("007", Decimal("7")),
    ("1.234.567.890.123,45", Decimal("1234567890123.45")),
    ("1,250", "ambiguous"),
    ("999,999", "ambiguous"),
    ("1,250,000", "ambiguous"),
    ("1,250.5", "ambiguous"),
    ("12,345.67", "ambiguous"),
    ("1.25.000", "not_a_number"),
    ("1.2.3", "not_a_number"),
    ("0.125.000", "not_a_number"),
    ("1.250,5,5", "not_a_number"),
    ("1,25,000", "not_a_number"),
    ("1 25", "not_a_number"),
    ("1.", "not_a_number"),
    (",5", "not_a_number"),
    ("--5", "not_a_number"),
    ("abc", "not_a_number"),
    ("12a", "not_a_number"),
    ("1e5", "not_a_number"),
    ("12,5%", "not_a_number"),
    ("", "empty"),
    ("   ", "empty"),
    ("1" * 41, "not_a_number"),
]

INTEGER_CASES: list[tuple[str, int | str]] = [
    ("1.250", 1250),
    ("12", 12),
    ("0", 0),
    ("1.250.000", 1250000),
    ("1250", 1250),
    ("1 250", 1250),
    ("1\u00a0250\u00a0000", 1250000),
    ("-12", -12),
    ("+12", 12),
    ("1.250,0", 1250),
    ("1.250,00", 1250),
    ("12,0", 12),
    ("12.0", 12),
    ("1.000.000.000", 1000000000),
    ("  7 ", 7),
    ("007", 7),
    ("-0", 0),
    ("1,5", "not_whole"),
    ("1.5", "not_whole"),
    ("0,125", "not_whole"),
    ("1.250,5", "not_whole"),
    ("12.75", "not_whole"),
    ("1,250", "ambiguous"),
    ("1,250,000", "ambiguous"),
    ("1,250.5", "ambiguous"),
    ("1.25.000", "not_a_number"),
    ("mười hai", "not_a_number"),
    ("12 người", "not_a_number"),
    ("12%", "not_a_number"),
    ("", "empty"),
    ("\t\n", "empty"),
    ("9" * 41, "not_a_number"),
]

MONEY_CASES: list[tuple[str, int | str]] = [
    ("1.500.000", 1500000),
    ("1500000", 1500000),
    ("1 500 000", 1500000),
    ("1,5 triệu", 1500000),
    ("1,5 trieu", 1500000),
    ("1,5 TRIỆU", 1500000),
    ("1.5tr", 1500000),
    ("1,5tr", 1500000),
    ("1.5 Tr", 1500000),
    ("2 tỷ", 2000000000),
    ("2 ty", 2000000000),
    ("2 tỉ", 2000000000),
    ("2tỷ", 2000000000),
    ("1,25 tỷ", 1250000000),
    ("500k", 500000),
    ("500K", 500000),
    ("1,5k", 1500),
    ("500 nghìn", 500000),
    ("500 nghin", 500000),
    ("500 ngàn", 500000),
    ("500 ngan", 500000),
    ("500 nghìn đồng", 500000),
    ("1,5 triệu đồng", 1500000),
    ("1.500.000đ", 1500000),
    ("1.500.000 đ", 1500000),
    ("1.500.000 d", 1500000),
    ("1.500.000 đồng", 1500000),
    ("1.500.000 dong", 1500000),
    ("1.500.000 vnd", 1500000),
    ("1.500.000 VNĐ", 1500000),
    ("1.500.000 ₫", 1500000),
    ("1.500.000\u00a0₫", 1500000),
    ("1.500.000₫", 1500000),
    ("1.5trđ", 1500000),
    ("1.500tr", 1500000000),
    ("1.500", 1500),
    ("0", 0),
    ("-0", 0),
    ("1.234,5", "not_whole"),
    ("1.5", "not_whole"),
    ("1,2345k", "not_whole"),
    ("-500k", "negative_money"),
    ("-1.500.000", "negative_money"),
    ("1,500 triệu", "ambiguous"),
    ("1,500,000", "ambiguous"),
    ("1tr5", "not_a_number"),
    ("triệu", "not_a_number"),
    ("đồng", "not_a_number"),
    ("năm trăm nghìn", "not_a_number"),
    ("500 USD", "not_a_number"),
    ("10%", "not_a_number"),
    ("", "empty"),
    ("  ", "empty"),
    ("1" * 38 + " tr", "not_a_number"),
]


def _check(parse: object, text: str, expected: object) -> None:
    assert callable(parse)
    if isinstance(expected, str):
        with pytest.raises(NumberError) as caught:
            parse(text)
        assert caught.value.reason == expected
    else:
        result = parse(text)
        assert result == expected
        assert type(result) is type(expected)


@pytest.mark.parametrize(("text", "expected"), DECIMAL_CASES)
def test_parse_decimal_reads_what_vietnamese_users_type(text: str, expected: object) -> None:
    _check(parse_decimal, text, expected)


@pytest.mark.parametrize(("text", "expected"), INTEGER_CASES)
def test_parse_integer_reads_whole_numbers_and_refuses_fractions(
    text: str, expected: object
) -> None:
    _check(parse_integer, text, expected)


@pytest.mark.parametrize(("text", "expected"), MONEY_CASES)
def test_parse_money_reads_amounts_with_the_words_people_use(text: str, expected: object) -> None:
    _check(parse_money, text, expected)


def test_a_manager_who_types_1_250_comma_5_gets_1250_point_5() -> None:
    assert parse_decimal("1.250,5") == Decimal("1250.5")


def test_one_comma_two_five_zero_is_refused_rather_than_guessed() -> None:
    with pytest.raises(NumberError) as caught:
        parse_decimal("1,250")
    assert caught.value.reason == "ambiguous"
    assert caught.value.example == "1.250,5"


def test_number_error_is_a_value_error_with_a_readable_message() -> None:
    with pytest.raises(ValueError, match="ambiguous"):
        parse_decimal("1,250")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12,5%", Decimal("12.5")),
        ("12,5 %", Decimal("12.5")),
        ("12.5%", Decimal("12.5")),
        ("100%", Decimal("100")),
        ("12,5", Decimal("12.5")),
        ("-3%", Decimal("-3")),
    ],
)
def test_percent_sign_is_accepted_only_when_asked(text: str, expected: Decimal) -> None:
    assert parse_decimal(text, allow_percent=True) == expected


@pytest.mark.parametrize("text", ["%", "12%%", "%12", "12,5 % %"])
def test_stray_percent_signs_are_not_numbers(text: str) -> None:
    with pytest.raises(NumberError) as caught:
        parse_decimal(text, allow_percent=True)
    assert caught.value.reason in {"not_a_number", "empty"}


@pytest.mark.parametrize(
    ("parse", "example"),
    [
        (parse_decimal, "1.250,5"),
        (parse_integer, "1.250"),
        (parse_money, "1.500.000"),
    ],
)
def test_errors_carry_an_example_for_the_kind_of_number_asked(parse: object, example: str) -> None:
    assert callable(parse)
    for bad in ["", "abc", "1,250"]:
        with pytest.raises(NumberError) as caught:
            parse(bad)
        assert caught.value.example == example


def test_percent_errors_show_a_percent_example() -> None:
    with pytest.raises(NumberError) as caught:
        parse_decimal("mười", allow_percent=True)
    assert caught.value.example == "12,5%"


def test_money_errors_quote_the_users_own_text() -> None:
    with pytest.raises(NumberError) as caught:
        parse_money("1.25.000 ĐỒNG")
    assert caught.value.reason == "not_a_number"
    assert "1.25.000 ĐỒNG" in str(caught.value)


def test_a_fraction_of_a_million_is_fine_when_the_total_is_whole() -> None:
    assert parse_money("1.234,5 triệu") == 1_234_500_000
    assert parse_money("0,000001 triệu") == 1


def test_huge_money_with_a_multiplier_stays_exact() -> None:
    typed = "999.999.999.999.999.999.999.999.999 tỷ"
    assert parse_money(typed) == 999_999_999_999_999_999_999_999_999 * 10**9


def test_very_long_input_is_refused_quickly() -> None:
    with pytest.raises(NumberError) as caught:
        parse_decimal("1" * 1_000_000)
    assert caught.value.reason == "not_a_number"
    assert len(str(caught.value)) < 200


# Formatting ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1250.5"), "1.250,5"),
        (1250, "1.250"),
        (Decimal("1250.50"), "1.250,5"),
        (Decimal("1250.00"), "1.250"),
        (Decimal("0.125"), "0,13"),
        (Decimal("1.005"), "1,01"),
        (Decimal("-1.005"), "-1,01"),
        (Decimal("-0.001"), "0"),
        (Decimal("-0"), "0"),
        (0, "0"),
        (Decimal("1234567.891"), "1.234.567,89"),
        (-1500000, "-1.500.000"),
        (Decimal("1E+6"), "1.000.000"),
    ],
)
def test_format_decimal_writes_vietnamese_style(value: Decimal | int, expected: str) -> None:
    assert format_decimal(value) == expected


def test_format_decimal_respects_max_fraction_digits() -> None:
    assert format_decimal(Decimal("1.23456"), max_fraction_digits=4) == "1,2346"
    assert format_decimal(Decimal("2.5"), max_fraction_digits=0) == "3"
    with pytest.raises(ValueError):
        format_decimal(Decimal("1"), max_fraction_digits=-1)


def test_format_decimal_refuses_nan_and_infinity() -> None:
    for value in (Decimal("NaN"), Decimal("Infinity")):
        with pytest.raises(ValueError):
            format_decimal(value)


def test_format_decimal_keeps_huge_numbers_exact() -> None:
    value = Decimal("12345678901234567890123456789012345.125")
    assert format_decimal(value) == "12.345.678.901.234.567.890.123.456.789.012.345,13"


def test_format_money_uses_a_no_break_space_before_the_dong_sign() -> None:
    assert format_money(1500000) == f"1.500.000{NBSP}₫"
    assert format_money(0) == f"0{NBSP}₫"
    assert format_money(Decimal("999.5")) == f"1.000{NBSP}₫"


def test_format_percent_puts_no_space_before_the_percent_sign() -> None:
    assert format_percent(Decimal("12.5")) == "12,5%"
    assert format_percent(Decimal("12.25")) == "12,3%"
    assert format_percent(Decimal("100")) == "100%"
    assert format_percent(Decimal("0.04")) == "0%"


# Properties ----------------------------------------------------------------------------

_BOUND = Decimal(10) ** 12


@given(
    st.decimals(
        min_value=-_BOUND, max_value=_BOUND, places=2, allow_nan=False, allow_infinity=False
    )
)
def test_formatted_decimals_read_back_to_the_same_value(value: Decimal) -> None:
    assert parse_decimal(format_decimal(value)) == value


@given(
    st.decimals(
        min_value=-_BOUND, max_value=_BOUND, places=1, allow_nan=False, allow_infinity=False
    )
)
def test_formatted_percentages_read_back_to_the_same_value(value: Decimal) -> None:
    assert parse_decimal(format_percent(value), allow_percent=True) == value


@given(st.integers(min_value=0, max_value=10**13))
def test_formatted_money_reads_back_to_the_same_amount(value: int) -> None:
    assert parse_money(format_money(value)) == value


@given(st.integers(min_value=0, max_value=10**13))
def test_formatted_whole_numbers_read_back_as_integers(value: int) -> None:
    assert parse_integer(format_decimal(value)) == value


@given(st.integers(min_value=0, max_value=10**13))
def test_money_typed_without_grouping_or_with_dong_reads_the_same(value: int) -> None:
    assert parse_money(str(value)) == value
    assert parse_money(f"{format_decimal(value)} đồng") == value


@given(st.text(max_size=60))
def test_any_text_either_parses_or_raises_number_error(text: str) -> None:
    for parse in (parse_decimal, parse_integer, parse_money):
        try:
            parse(text)
        except NumberError as exc:
            assert exc.reason in {
                "empty",
                "not_a_number",
                "ambiguous",
                "not_whole",
                "negative_money",
            }
            assert exc.example
