"""A submitted yearly report, normalized: the figures exports and indicators read.

The form's answers are kept raw (as JSON) with every revision; this module turns them
into typed columns and child rows — one per resource tracked, one per technique applied —
so that staff tools never have to know the form's question names. Questions that were
not relevant (a facility that did not apply SXSH has no resources) give None.
Numbers stay `Decimal` all the way to the database, where they are stored as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from flows.engine import CONFIRMED, canonical_decimal, needs_confirmation, warns
from flows.model import Form
from flows.types import Value


@dataclass(frozen=True)
class ResourceSpec:
    """Where one resource's figures live in the form."""

    resource: str
    baseline: str
    current: str
    saving: str
    unit: str | None = None  # a fixed unit, or …
    unit_question: str | None = None  # … the question that asks it
    name_question: str | None = None  # which fuel, which material


RESOURCES = (
    ResourceSpec("electricity", "elec_base", "elec_now", "elec_saving", unit="kWh"),
    ResourceSpec(
        "fuel",
        "fuel_base",
        "fuel_now",
        "fuel_saving",
        unit_question="fuel_unit",
        name_question="fuel_type",
    ),
    ResourceSpec("water", "water_base", "water_now", "water_saving", unit="m3"),
    ResourceSpec(
        "material",
        "material_base",
        "material_now",
        "material_saving",
        unit_question="material_unit",
        name_question="material_name",
    ),
)
MEASURE_PREFIX = "measure_"
# Every other question the record reads, by column.
SCALARS = (
    "mgmt_aware",
    "aware_how",
    "staff_trained",
    "applied",
    "not_applied_reason",
    "not_applied_detail",
    "wants_adviser",
    "techniques",
    "product_name",
    "output_unit",
    "output",
    "baseline_year",
    "investment",
    "yearly_savings",
    "payback_years",
    "sxsh_unit",
    "sxsh_unit_people",
    "remarks",
    "reporter_name",
    "reporter_phone",
)


@dataclass(frozen=True)
class ResourceFigure:
    resource: str  # electricity, fuel, water, material
    name: str | None  # the fuel (coal, firewood, …) or the material's name
    unit: str | None  # kWh, m3, or the unit chosen: tonne, kg, m3, litre
    baseline_year: int | None
    baseline_per_unit: Decimal
    current_per_unit: Decimal
    saving_pct: Decimal | None
    confirmed: bool  # the manager confirmed the computed saving as shown
    questioned: bool  # negative or above 60 %: asked "is that right?" and confirmed


@dataclass(frozen=True)
class Measure:
    technique: str
    description: str | None


@dataclass(frozen=True)
class Contact:
    name: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class ReportRecord:
    aware: bool | None
    aware_how: tuple[str, ...]
    staff_trained: int | None
    applied: bool
    not_applied_reason: str | None
    not_applied_detail: str | None
    wants_adviser: bool | None
    techniques: tuple[str, ...]
    measures: tuple[Measure, ...]
    product: str | None
    product_unit: str | None
    output: Decimal | None
    resources: tuple[ResourceFigure, ...]
    investment_vnd: int | None
    yearly_savings_vnd: int | None
    payback_years: Decimal | None
    sxsh_unit: bool | None
    sxsh_unit_people: int | None
    remarks: str | None
    reporter_name: str | None
    reporter_phone: str | None


def normalize(
    form: Form,
    answers: Mapping[str, Value],
    values: Mapping[str, object],
    contact: Contact | None = None,
) -> ReportRecord:
    """The record of a finished report.

    `answers` are the decoded stored answers (with their confirmations), `values` the
    effective values (irrelevant questions None, calculations fresh). When the form did
    not ask who reports (the facility did not apply SXSH), `contact` — the facility
    profile's contact person — stands in.
    """
    contact = contact or Contact()
    techniques = _codes(values.get("techniques"))
    return ReportRecord(
        aware=_flag(values.get("mgmt_aware")),
        aware_how=_codes(values.get("aware_how")),
        staff_trained=_whole(values.get("staff_trained")),
        applied=values.get("applied") is True,
        not_applied_reason=_text(values.get("not_applied_reason")),
        not_applied_detail=_text(values.get("not_applied_detail")),
        wants_adviser=_flag(values.get("wants_adviser")),
        techniques=techniques,
        measures=tuple(
            Measure(code, _text(values.get(MEASURE_PREFIX + code))) for code in techniques
        ),
        product=_text(values.get("product_name")),
        product_unit=_text(values.get("output_unit")),
        output=_number(values.get("output")),
        resources=tuple(
            figure
            for spec in RESOURCES
            if (figure := _resource(form, spec, answers, values)) is not None
        ),
        investment_vnd=_whole(values.get("investment")),
        yearly_savings_vnd=_whole(values.get("yearly_savings")),
        payback_years=_number(values.get("payback_years")),
        sxsh_unit=_flag(values.get("sxsh_unit")),
        sxsh_unit_people=_whole(values.get("sxsh_unit_people")),
        remarks=_text(values.get("remarks")),
        reporter_name=_text(values.get("reporter_name")) or contact.name,
        reporter_phone=_text(values.get("reporter_phone")) or contact.phone,
    )


def names_read() -> set[str]:
    """Every question name the record reads (a test checks the form still has them)."""
    names = set(SCALARS)
    for spec in RESOURCES:
        names |= {spec.baseline, spec.current, spec.saving}
        names |= {name for name in (spec.unit_question, spec.name_question) if name}
    return names


def decimal_text(number: Decimal | None) -> str | None:
    """Exact digits for the database: 1250.5 -> '1250.5', 75.00 -> '75', never '1E+2'."""
    return None if number is None else format(canonical_decimal(number), "f")


def _resource(
    form: Form, spec: ResourceSpec, answers: Mapping[str, Value], values: Mapping[str, object]
) -> ResourceFigure | None:
    baseline = _number(values.get(spec.baseline))
    current = _number(values.get(spec.current))
    if baseline is None or current is None:
        return None
    saving = _number(values.get(spec.saving))
    question = form.by_name[spec.saving]
    unit = spec.unit or _text(values.get(spec.unit_question or ""))
    return ResourceFigure(
        resource=spec.resource,
        name=_text(values.get(spec.name_question or "")),
        unit=unit,
        baseline_year=_whole(values.get("baseline_year")),
        baseline_per_unit=baseline,
        current_per_unit=current,
        saving_pct=saving,
        confirmed=saving is not None
        and spec.saving + CONFIRMED in answers
        and not needs_confirmation(form, question, values, answers),
        questioned=saving is not None and warns(form, question, values, saving),
    )


def _number(value: object) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        return None
    return canonical_decimal(Decimal(value))


def _whole(value: object) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _codes(value: object) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list) else ()
