"""The report form's computed figures and the normalized record built from its answers:
plain tables, no database."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import pytest

from bot.report_record import (
    Contact,
    Measure,
    ResourceFigure,
    decimal_text,
    names_read,
    normalize,
)
from flows.engine import CONFIRMED, effective_answers, warns
from flows.model import Form, FormRegistry
from flows.types import Value

CONTEXT = {"report_year": 2026, "previous_year": 2025}


@pytest.fixture(scope="module")
def form() -> Form:
    return FormRegistry.builtin().get("annual_report")


def values_of(form: Form, answers: Mapping[str, Value]) -> dict[str, object]:
    return effective_answers(form, answers, CONTEXT)


def test_every_question_the_record_reads_is_in_the_form(form: Form) -> None:
    assert names_read() <= set(form.by_name)


@pytest.mark.parametrize(
    ("baseline", "current", "saving", "questioned"),
    [
        ("125.5", "100.4", "20", False),
        ("150", "135", "10", False),
        ("3", "2", "33.33", False),
        ("1.02", "0.98", "3.92", False),
        ("0.0035", "0.0034", "2.86", False),
        ("100", "40", "60", False),
        ("100", "39.99", "60.01", True),
        ("100", "25", "75", True),
        ("100", "120", "-20", True),
        ("100", "100", "0", False),
    ],
)
def test_the_saving_is_the_exact_percentage_per_unit_and_only_odd_ones_are_questioned(
    form: Form, baseline: str, current: str, saving: str, questioned: bool
) -> None:
    answers: dict[str, Value] = {
        "applied": True,
        "resources": ["electricity"],
        "elec_base": Decimal(baseline),
        "elec_now": Decimal(current),
    }
    values = values_of(form, answers)
    assert values["elec_saving"] == Decimal(saving)
    assert str(values["elec_saving"]) == saving
    assert warns(form, form.by_name["elec_saving"], values, values["elec_saving"]) is questioned


@pytest.mark.parametrize(
    ("investment", "savings", "payback"),
    [
        (150_000_000, 100_000_000, Decimal("1.5")),
        (60_000_000, 60_000_000, Decimal("1")),
        (10_000_000, 3_000_000, Decimal("3.33")),
        (0, 5_000_000, Decimal("0")),
        (100_000_000, 0, None),  # nothing saved: no payback to speak of
    ],
)
def test_simple_payback_is_investment_over_yearly_savings_in_years(
    form: Form, investment: int, savings: int, payback: Decimal | None
) -> None:
    answers: dict[str, Value] = {
        "applied": True,
        "investment": investment,
        "yearly_savings": savings,
    }
    assert values_of(form, answers)["payback_years"] == payback


FULL: dict[str, Value] = {
    "mgmt_aware": True,
    "aware_how": ["training", "media"],
    "staff_trained": 12,
    "applied": True,
    "techniques": ["good_housekeeping", "onsite_reuse"],
    "measure_good_housekeeping": "Sửa rò rỉ hơi",
    "measure_onsite_reuse": "Dùng lại nước rửa",
    "measure_technology_change": "an answer from before the techniques changed",
    "product_name": "gạch đặc",
    "output_unit": "nghìn viên",
    "output": Decimal("1250.5"),
    "resources": ["fuel", "water"],
    "baseline_year": 2024,
    "elec_base": Decimal("50"),  # electricity no longer ticked: ignored
    "elec_now": Decimal("45"),
    "fuel_type": "coal",
    "fuel_unit": "tonne",
    "fuel_base": Decimal("0.2"),
    "fuel_now": Decimal("0.15"),
    "fuel_saving" + CONFIRMED: "25",
    "water_base": Decimal("2"),
    "water_now": Decimal("0.5"),
    "water_saving" + CONFIRMED: "70",  # above 60 %: asked and confirmed
    "investment": 80_000_000,
    "yearly_savings": 40_000_000,
    "payback_years" + CONFIRMED: "2",
    "sxsh_unit": True,
    "sxsh_unit_people": 3,
    "remarks": None,
    "reporter_name": "Lê Văn Nam",
    "reporter_phone": "0912 345 678",
}


def test_a_full_report_becomes_typed_columns_and_one_row_per_resource_and_measure(
    form: Form,
) -> None:
    record = normalize(form, FULL, values_of(form, FULL), Contact("Someone Else", "0900"))
    assert record.aware is True and record.aware_how == ("training", "media")
    assert (record.applied, record.staff_trained) == (True, 12)
    assert record.techniques == ("good_housekeeping", "onsite_reuse")
    assert record.measures == (
        Measure("good_housekeeping", "Sửa rò rỉ hơi"),
        Measure("onsite_reuse", "Dùng lại nước rửa"),
    )
    assert (record.product, record.product_unit, record.output) == (
        "gạch đặc",
        "nghìn viên",
        Decimal("1250.5"),
    )
    assert record.resources == (
        ResourceFigure(
            "fuel", "coal", "tonne", 2024, Decimal("0.2"), Decimal("0.15"), Decimal("25"),
            confirmed=True, questioned=False,
        ),
        ResourceFigure(
            "water", None, "m3", 2024, Decimal("2"), Decimal("0.5"), Decimal("75"),
            confirmed=False, questioned=True,
        ),
    )  # fmt: skip
    assert (record.investment_vnd, record.yearly_savings_vnd, record.payback_years) == (
        80_000_000,
        40_000_000,
        Decimal("2"),
    )
    assert (record.sxsh_unit, record.sxsh_unit_people, record.remarks) == (True, 3, None)
    assert (record.reporter_name, record.reporter_phone) == ("Lê Văn Nam", "0912 345 678")
    assert (record.not_applied_reason, record.wants_adviser) == (None, None)


def test_a_facility_that_did_not_apply_has_no_figures_and_the_profile_contact_reports(
    form: Form,
) -> None:
    answers: dict[str, Value] = {
        **FULL,
        "applied": False,
        "not_applied_reason": "no_funds",
        "not_applied_detail": None,
        "wants_adviser": True,
    }
    record = normalize(form, answers, values_of(form, answers), Contact("Nguyễn Thị Hoa", "0912"))
    assert (record.applied, record.not_applied_reason, record.wants_adviser) == (
        False,
        "no_funds",
        True,
    )
    assert record.techniques == () and record.measures == () and record.resources == ()
    assert (record.output, record.investment_vnd, record.payback_years) == (None, None, None)
    assert (record.sxsh_unit, record.staff_trained) == (None, 12)
    assert (record.reporter_name, record.reporter_phone) == ("Nguyễn Thị Hoa", "0912")


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (Decimal("1250.50"), "1250.5"),
        (Decimal("75.00"), "75"),
        (Decimal("1E+2"), "100"),
        (Decimal("0.0000001"), "0.0000001"),
        (Decimal("-3.920"), "-3.92"),
        (Decimal("0.1") + Decimal("0.2"), "0.3"),
        (None, None),
    ],
)
def test_numbers_are_stored_as_their_exact_decimal_digits(
    number: Decimal | None, text: str | None
) -> None:
    assert decimal_text(number) == text
