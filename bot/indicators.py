"""The plan's four indicators for a year, next to their targets: pure functions, no I/O.

The input is one `FacilityYear` per registered facility in the caller's scope (read by
`bot.storage.snapshot`); the output counts the reports and computes each indicator for the
whole scope, per commune and per sector, in one pass (memory grows with the number of
communes and sectors, not of facilities).

How each figure is defined is written once, in `DEFINITIONS`: the chat, the command line,
the export's explanatory sheet and the README (a test keeps it in step) all show these
same words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from bot.i18n import N_
from flows.numbers import format_decimal, format_percent

AWARE_TARGET = Decimal(90)
APPLYING_TARGET = Decimal(50)
SAVING_TARGET = (Decimal(8), Decimal(13))


def target_text(low: Decimal, high: Decimal | None = None) -> str:
    """A target as people read it: "90%", or a range "8–13%"."""
    if high is None:
        return format_percent(low)
    return f"{format_decimal(low)}–{format_percent(high)}"


UNIT_TARGET = Decimal(70)
# The report's resources, in the form's order.
RESOURCES = ("electricity", "fuel", "water", "material")
RESOURCE_LABELS = {
    "electricity": N_("electricity"),
    "fuel": N_("fuel"),
    "water": N_("water"),
    "material": N_("main raw material"),
}
# Register size classes that the fourth indicator counts.
MEDIUM_AND_LARGE = frozenset({"medium", "large"})
SHOWN = Decimal("0.1")

# (term, how it is computed): English msgids, shown in Vietnamese through the catalog.
DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        N_("Registered facilities"),
        N_(
            "Every facility of the Department's register within the filter (commune, "
            "sector), whether or not it uses the bot. The register is today's: the same "
            "facilities count for every year."
        ),
    ),
    (
        N_("Reported"),
        N_(
            "The facility pressed Submit on its report for the year at least once. Its report "
            "is the latest version: a correction replaces the figures, and every earlier "
            "version stays in the Revisions sheet. A draft not yet submitted does not count."
        ),
    ),
    (
        N_("Late"),
        N_(
            "Reported, but the first version arrived on or after 15 December of the year, "
            "Vietnam time (the last day is 14 December). A correction sent later does not "
            "make an on-time report late."
        ),
    ),
    (
        N_("Not reported"),
        N_(
            "Registered facilities without a submitted report for the year; those with a "
            "draft in progress are also counted apart as still writing."
        ),
    ),
    (
        N_("Aware of SXSH (target 90%)"),
        N_(
            "Facilities whose report for the year answers yes to “Has the facility's "
            "management learned about Cleaner Production (SXSH) and its benefits?”, divided "
            "by all registered facilities. How they learned (training, seminar, adviser, "
            "media) does not matter. A facility that has not reported counts as not aware, "
            "so the share is a lower bound until everyone has reported."
        ),
    ),
    (
        N_("Applying SXSH (target 50%)"),
        N_(
            "Facilities whose report for the year says they applied at least one SXSH "
            "measure that year, divided by all registered facilities (a facility that has "
            "not reported counts as not applying)."
        ),
    ),
    (
        N_("Saving per unit of product (target 8–13%)"),
        N_(
            "Per resource (electricity, fuel, water, main raw material): the plain average, "
            "over applying facilities that gave both figures, of (baseline − this year) ÷ "
            "baseline × 100, per unit of product, as the manager confirmed it. Overall: "
            "first each facility's average over its resources, then the average over those "
            "facilities, so each facility weighs the same. Unusual figures (negative, or "
            "above 60%) count too: the manager was asked to check them and confirmed them. "
            "The target is reached from 8%."
        ),
    ),
    (
        N_("Dedicated SXSH unit (target 70%)"),
        N_(
            "Medium and large facilities (the register's size class) whose report for the "
            "year says they have a dedicated SXSH unit or officer, divided by all registered "
            "medium and large facilities. The report asks this of applying facilities only."
        ),
    ),
)


@dataclass(frozen=True)
class FacilityYear:
    """One registered facility and its report for the year, as the indicators read it."""

    commune_code: str
    sector_code: str
    size_class: str
    reported: bool = False
    late: bool = False  # the first version arrived on or after the deadline
    drafting: bool = False  # not reported, but a draft exists
    aware: bool = False
    applied: bool = False
    sxsh_unit: bool = False
    # Resource -> saving in % per unit of product, the confirmed figures of the report.
    savings: Mapping[str, Decimal] = field(default_factory=dict)


def percent(part: Decimal | int, whole: Decimal | int) -> Decimal:
    """part ÷ whole × 100, rounded half up to 0.1."""
    return (Decimal(part) * 100 / Decimal(whole)).quantize(SHOWN, ROUND_HALF_UP)


@dataclass(frozen=True)
class Share:
    count: int
    of: int

    @property
    def value(self) -> Decimal | None:
        """In percent, rounded to 0.1; None when there is nobody to count."""
        return percent(self.count, self.of) if self.of else None


@dataclass(frozen=True)
class Average:
    total: Decimal = Decimal(0)
    count: int = 0

    @property
    def value(self) -> Decimal | None:
        return (self.total / self.count).quantize(SHOWN, ROUND_HALF_UP) if self.count else None

    def plus(self, value: Decimal) -> Average:
        return Average(self.total + value, self.count + 1)


class TargetState(StrEnum):
    REACHED = "reached"
    BELOW = "below"
    NO_DATA = "no_data"


@dataclass(frozen=True)
class Indicators:
    registered: int = 0
    reported: int = 0
    late: int = 0
    drafting: int = 0
    aware: int = 0
    applying: int = 0
    medium_large: int = 0
    with_unit: int = 0
    savings: Mapping[str, Average] = field(default_factory=dict)
    overall_saving: Average = Average()

    @property
    def on_time(self) -> int:
        return self.reported - self.late

    @property
    def not_reported(self) -> int:
        return self.registered - self.reported

    @property
    def aware_share(self) -> Share:
        return Share(self.aware, self.registered)

    @property
    def applying_share(self) -> Share:
        return Share(self.applying, self.registered)

    @property
    def unit_share(self) -> Share:
        return Share(self.with_unit, self.medium_large)

    def saving(self, resource: str) -> Average:
        return self.savings.get(resource, Average())

    def states(self) -> dict[str, TargetState]:
        """Each indicator against its target."""
        return {
            "aware": target_state(self.aware_share.value, AWARE_TARGET),
            "applying": target_state(self.applying_share.value, APPLYING_TARGET),
            "saving": target_state(self.overall_saving.value, SAVING_TARGET[0]),
            "unit": target_state(self.unit_share.value, UNIT_TARGET),
        }


def target_state(value: Decimal | None, target: Decimal) -> TargetState:
    if value is None:
        return TargetState.NO_DATA
    return TargetState.REACHED if value >= target else TargetState.BELOW


def add(indicators: Indicators, facility: FacilityYear) -> Indicators:
    """The indicators with one more facility counted."""
    counts_for_unit = facility.size_class in MEDIUM_AND_LARGE
    savings = dict(indicators.savings)
    overall = indicators.overall_saving
    if facility.applied and facility.savings:
        figures = [facility.savings[r] for r in RESOURCES if r in facility.savings]
        for resource in RESOURCES:
            if resource in facility.savings:
                savings[resource] = savings.get(resource, Average()).plus(
                    facility.savings[resource]
                )
        overall = overall.plus(sum(figures, Decimal(0)) / len(figures))
    return Indicators(
        registered=indicators.registered + 1,
        reported=indicators.reported + facility.reported,
        late=indicators.late + (facility.reported and facility.late),
        drafting=indicators.drafting + (not facility.reported and facility.drafting),
        aware=indicators.aware + (facility.reported and facility.aware),
        applying=indicators.applying + (facility.reported and facility.applied),
        medium_large=indicators.medium_large + counts_for_unit,
        with_unit=indicators.with_unit
        + (counts_for_unit and facility.reported and facility.sxsh_unit),
        savings=savings,
        overall_saving=overall,
    )


@dataclass(frozen=True)
class Breakdown:
    """The indicators for the whole scope, per commune and per sector (codes, sorted)."""

    total: Indicators
    by_commune: dict[str, Indicators]
    by_sector: dict[str, Indicators]


def compute(facilities: Iterable[FacilityYear]) -> Breakdown:
    total = Indicators()
    by_commune: dict[str, Indicators] = {}
    by_sector: dict[str, Indicators] = {}
    for facility in facilities:
        total = add(total, facility)
        by_commune[facility.commune_code] = add(
            by_commune.get(facility.commune_code, Indicators()), facility
        )
        by_sector[facility.sector_code] = add(
            by_sector.get(facility.sector_code, Indicators()), facility
        )
    return Breakdown(
        total,
        dict(sorted(by_commune.items())),
        dict(sorted(by_sector.items())),
    )
