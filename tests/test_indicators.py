"""The plan's four indicators on fixtures with known answers: the figures are exact."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from bot.app import Bot
from bot.indicators import DEFINITIONS, FacilityYear, TargetState, compute
from bot.settings import Settings
from bot.stats import load_breakdown
from bot.storage.snapshot import FacilityFilter
from tests.conftest import FakeClock
from tests.support.report_script import FULL_REPORT, NOT_APPLIED, SUBMIT
from tests.support.staffing import linked_manager

README = Path(__file__).resolve().parent.parent / "README.md"
A, B = "05986", "06040"  # two communes


def facility(commune: str = A, sector: str = "C10", size: str = "small", **report: object):
    return FacilityYear(commune, sector, size, **report)  # type: ignore[arg-type]


# Ten registered facilities; the comments say what each report answered.
FIXTURE = [
    # reported on time, aware, applied, savings 20 % electricity and 10 % fuel
    facility(
        reported=True,
        aware=True,
        applied=True,
        savings={"electricity": Decimal(20), "fuel": Decimal(10)},
    ),
    # reported late, aware, applied, saving 5 % water; large with an SXSH unit
    facility(
        size="large",
        reported=True,
        late=True,
        aware=True,
        applied=True,
        sxsh_unit=True,
        savings={"water": Decimal(5)},
    ),
    # reported on time, aware, applied without figures; medium without a unit
    facility(B, "C23", "medium", reported=True, aware=True, applied=True),
    # reported on time, not aware, did not apply (its savings are not counted)
    facility(B, "C23", reported=True, savings={"electricity": Decimal(50)}),
    # reported, aware, did not apply; large: counts in the fourth denominator
    facility(B, "C23", "large", reported=True, aware=True),
    # a draft, not reported: never counted as aware even if the draft says so
    facility(drafting=True, aware=True),
    # not reported, medium
    facility(B, size="medium"),
    facility(),
    facility(B),
    # an unusual (negative) saving the manager confirmed: it counts
    facility(
        B,
        "C23",
        reported=True,
        aware=True,
        applied=True,
        savings={"electricity": Decimal("-4"), "material": Decimal("3.92")},
    ),
]


def test_the_four_indicators_and_the_report_counts_of_a_known_fixture() -> None:
    total = compute(FIXTURE).total
    assert (total.registered, total.reported, total.on_time, total.late) == (10, 6, 5, 1)
    assert (total.not_reported, total.drafting) == (4, 1)
    assert (total.aware_share.count, total.aware_share.of, total.aware_share.value) == (
        5,
        10,
        Decimal("50.0"),
    )
    assert (total.applying, total.applying_share.value) == (4, Decimal("40.0"))
    # electricity: 20 and -4 (the non-applier's 50 is left out) -> 8
    assert total.saving("electricity").value == Decimal("8.0")
    assert total.saving("fuel").value == Decimal("10.0")
    assert total.saving("water").value == Decimal("5.0")
    assert total.saving("material").value == Decimal("3.9")
    # overall: facility means 15, 5 and -0.04 -> 19.96 / 3 = 6.6533…
    assert (total.overall_saving.count, total.overall_saving.value) == (3, Decimal("6.7"))
    # medium and large: 4 registered, one with a unit
    assert (total.medium_large, total.with_unit, total.unit_share.value) == (
        4,
        1,
        Decimal("25.0"),
    )
    assert total.states() == {
        "aware": TargetState.BELOW,
        "applying": TargetState.BELOW,
        "saving": TargetState.BELOW,
        "unit": TargetState.BELOW,
    }


def test_per_commune_and_per_sector_figures_add_up_to_the_total() -> None:
    breakdown = compute(FIXTURE)
    a, b = breakdown.by_commune[A], breakdown.by_commune[B]
    assert (a.registered, a.reported, a.aware, a.applying) == (4, 2, 2, 2)
    assert a.overall_saving.value == Decimal("10.0")  # 15 and 5
    assert a.states()["saving"] is TargetState.REACHED
    assert (b.registered, b.reported, b.aware, b.applying) == (6, 4, 3, 2)
    assert (b.medium_large, b.with_unit) == (3, 0)
    assert list(breakdown.by_sector) == ["C10", "C23"]
    assert breakdown.by_sector["C23"].registered == 4
    assert sum(f.registered for f in breakdown.by_commune.values()) == 10


def test_nothing_registered_gives_no_data_rather_than_a_division_by_zero() -> None:
    total = compute([]).total
    assert total.aware_share.value is None and total.overall_saving.value is None
    assert set(total.states().values()) == {TargetState.NO_DATA}


async def test_reports_submitted_through_the_chat_give_the_expected_indicators(
    bot: Bot, settings: Settings, clock: FakeClock
) -> None:
    noodles = await linked_manager(bot, "DEMO01", "hoa", clock())
    for step in ("Nguyễn Thị Hoa", "-", "0912 345 678", "bún", "1", "-", SUBMIT):
        await noodles.say(step)
    for step in (*FULL_REPORT, SUBMIT):
        await noodles.say(step)
    clock.advance(days=14)  # 15 December: late
    cement = await linked_manager(bot, "DEMO02", "binh", clock())
    await cement.say("/cancel")
    for step in (*NOT_APPLIED, SUBMIT):
        await cement.say(step)
    breakdown = load_breakdown(settings.db_path, FacilityFilter(), 2026)
    total = breakdown.total
    assert (total.registered, total.reported, total.late) == (40, 2, 1)
    assert (total.aware, total.applying) == (2, 1)
    # rice noodles: 20, 20, 20 and 3.92 % -> 15.98
    assert total.overall_saving.value == Decimal("16.0")
    assert total.saving("material").value == Decimal("3.9")
    assert (total.with_unit, total.medium_large) == (0, 14)  # DEMO01 is small
    tam_thanh = load_breakdown(settings.db_path, FacilityFilter(commune_code=A), 2026).total
    assert (tam_thanh.registered, tam_thanh.reported) == (2, 1)


def test_the_readme_states_every_definition_in_the_words_the_program_uses() -> None:
    readme = " ".join(README.read_text(encoding="utf-8").split())
    for term, text in DEFINITIONS:
        assert f"**{term}**" in readme
        assert " ".join(text.split()) in readme
