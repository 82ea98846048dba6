"""Scoring the rapid self-assessment, and which questions each sector is asked."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.geo import sectors
from flows.engine import effective_answers, is_relevant
from flows.model import FormRegistry, Label
from knowledge.library import TECHNIQUES, load_library
from knowledge.scoring import (
    HOUSEKEEPING_AREAS,
    SCORING_FILE,
    ScoredQuestion,
    ScoringError,
    ScoringTable,
    load_scoring,
    practice_changes,
    score,
)

FORM = FormRegistry.builtin().get("self_assessment")
LIBRARY = load_library()
TABLE = load_scoring(FORM, LIBRARY)
GATES = ("uses_heat", "uses_steam", "uses_air")
DIVISIONS = [sector.code for sector in sectors()]


def asked(sector: str, heat: bool = True, steam: bool = True, air: bool = True) -> list[str]:
    """The questions a facility of `sector` is asked, given what it uses."""
    answers: dict[str, object] = {"uses_heat": heat, "uses_steam": steam, "uses_air": air}
    answers.update({name: "yes" for name in TABLE.questions})
    values = effective_answers(FORM, answers, {"sector": sector})  # type: ignore[arg-type]
    return [q.name for q in FORM.questions if is_relevant(FORM, q, values)]


def scored(answers: dict[str, str], sector: str = "C10") -> dict[str, int | None]:
    return score(TABLE, answers, sector, LIBRARY).scores


# ---------------------------------------------------------------- scoring tables


def test_every_practice_in_place_scores_100_everywhere_with_nothing_left_to_do() -> None:
    answers = {name: "yes" for name in asked("C23")}
    result = score(TABLE, answers, "C23", LIBRARY)
    assert result.overall == 100
    assert set(result.scores.values()) == {100}
    assert result.opportunities == ()


def test_nothing_in_place_scores_0_and_gives_five_opportunities_of_both_kinds() -> None:
    answers = {name: "no" for name in asked("C23") if name in TABLE.questions}
    result = score(TABLE, answers, "C23", LIBRARY)
    assert result.overall == 0 and set(result.scores.values()) == {0}
    kinds = [item.action for item in result.opportunities]
    assert len(kinds) == 5
    assert kinds == sorted(kinds, key=lambda kind: kind != "now")  # implement now first
    assert "now" in kinds and "study" in kinds
    # The heaviest gaps come first: weight-3 practices of a cement or brick maker.
    assert result.opportunities[0].question == "pc_monthly_records"
    assert {item.question for item in result.opportunities} >= {"em_air_leaks", "c23_kiln_tight"}


@pytest.mark.parametrize(
    ("answers", "expected_scores", "overall", "opportunities"),
    [
        (
            # weights: hk_weigh_materials 2, hk_storage 1, pc_monthly_records 3,
            # em_air_leaks 3 (equipment modification and good housekeeping)
            {
                "hk_weigh_materials": "yes",
                "hk_storage": "partly",
                "pc_monthly_records": "no",
                "em_air_leaks": "dont_know",
            },
            # housekeeping (2 + 0.5 + 0) / 6 = 41.7 %; process control 0/3; equipment 0/3
            {"good_housekeeping": 42, "better_process_control": 0, "equipment_modification": 0},
            28,  # (2 + 0.5) / 9
            ["pc_monthly_records", "em_air_leaks", "hk_storage"],
        ),
        (
            {"hk_team": "partly", "hk_safety": "yes", "tc_review": "no", "tc_motors": "yes"},
            # housekeeping (1 + 1) / 3; technology (0 + 1) / 3; equipment (tc_motors) 1/1
            {"good_housekeeping": 67, "technology_change": 33, "equipment_modification": 100},
            50,  # (1 + 1 + 0 + 1) / 6
            # tc_review has the larger gap (2 against 1), but quick wins are listed first
            ["hk_team", "tc_review"],
        ),
        (
            {"rr_scrap": "partly", "pm_review": "yes"},  # 0.5 of 1 rounds up to 50, 1 of 1
            {"onsite_recovery_reuse": 50, "product_modification": 100},
            75,
            ["rr_scrap"],
        ),
    ],
)
def test_given_answers_give_these_scores_and_opportunities(
    answers: dict[str, str],
    expected_scores: dict[str, int],
    overall: int,
    opportunities: list[str],
) -> None:
    result = score(TABLE, answers, "C10", LIBRARY)
    not_asked = set(TECHNIQUES) - set(expected_scores)
    assert {k: v for k, v in result.scores.items() if k in expected_scores} == expected_scores
    assert all(result.scores[technique] is None for technique in not_asked)
    assert result.overall == overall
    assert [item.question for item in result.opportunities] == opportunities


def test_a_technique_line_counts_what_is_in_place_partly_and_unknown() -> None:
    answers = {"hk_weigh_materials": "yes", "hk_storage": "partly", "hk_water_leaks": "dont_know"}
    housekeeping = score(TABLE, answers, "C10", LIBRARY).techniques[0]
    assert (housekeeping.asked, housekeeping.done, housekeeping.partly) == (3, 1, 1)
    assert housekeeping.unknown == 1


def test_half_points_round_up_as_people_expect() -> None:
    # weights 2 (yes) + 2 (no) + 1 (partly) + 3 (yes): 5.5 / 8 = 68.75 → 69
    answers = {"hk_weigh_materials": "yes", "hk_waste_sorted": "no", "hk_storage": "partly"}
    answers["pc_monthly_records"] = "yes"
    assert score(TABLE, answers, "C10", LIBRARY).overall == 69


def test_answers_not_in_the_table_or_not_choices_are_ignored() -> None:
    answers = {"uses_heat": True, "hk_storage": "maybe", "hk_team": "yes", "other": "yes"}
    result = score(TABLE, answers, "C10", LIBRARY)  # type: ignore[arg-type]
    assert result.asked == 1 and result.overall == 100


@pytest.mark.parametrize("sector", ["C10", "C14", "C16", "C20", "C23", "C25", "B05", "B08", "D35"])
def test_each_opportunity_comes_with_one_or_two_snippets_that_fit_the_sector(
    sector: str,
) -> None:
    answers = {name: "no" for name in asked(sector) if name in TABLE.questions}
    result = score(TABLE, answers, sector, LIBRARY)
    assert len(result.opportunities) == 5
    for item in result.opportunities:
        assert 1 <= len(item.snippets) <= 2, item.question
        assert all(snippet.fits(sector) for snippet in item.snippets), item.question


def test_sector_guidance_comes_before_general_guidance() -> None:
    def first_snippet(sector: str) -> str:
        return (
            score(TABLE, {"em_combustion": "no"}, sector, LIBRARY).opportunities[0].snippets[0].id
        )

    assert first_snippet("C10") == "rice-noodle-improved-stove"
    assert first_snippet("C20") == "essential-oil-furnace"
    assert first_snippet("D35") == "power-excess-air"
    assert first_snippet("C31") == "boiler-excess-air"  # furniture: only general guidance


def test_the_facilitys_name_picks_the_guidance_of_its_own_trade() -> None:
    def snippets(about: str) -> list[str]:
        result = score(TABLE, {"em_combustion": "no"}, "C10", LIBRARY, about)
        return [snippet.id for snippet in result.opportunities[0].snippets]

    noodles = snippets("Cơ sở sản xuất bún phở Mẫu Tam Thanh bánh phở tươi")
    assert noodles == ["rice-noodle-improved-stove", "boiler-excess-air"]
    assert snippets("Hộ kinh doanh Chưng cất tinh dầu hồi")[0] == "essential-oil-furnace"


def synthetic_table() -> ScoringTable:
    def question(action: str, weight: int, *snippets: str) -> ScoredQuestion:
        practice = Label(vi="việc", en="practice")
        return ScoredQuestion(
            techniques=["good_housekeeping"],
            weight=weight,
            action=action,  # type: ignore[arg-type]
            practice=practice,
            snippets=list(snippets),
        )

    names = [f"q{n}" for n in range(7)]
    questions = {name: question("now", 3, "led-lighting", "steam-traps") for name in names[:6]}
    questions["q6"] = question("study", 1, "high-efficiency-motors")
    return ScoringTable(form="self_assessment", questions=questions)


def test_a_study_further_item_takes_the_last_place_when_only_quick_wins_would_show() -> None:
    table = synthetic_table()
    result = score(table, {name: "no" for name in table.questions}, "C10", LIBRARY)
    assert [item.question for item in result.opportunities] == ["q0", "q1", "q2", "q3", "q6"]
    assert result.opportunities[-1].action == "study"


def test_snippets_not_yet_shown_come_before_repeats() -> None:
    table = synthetic_table()
    result = score(table, {"q0": "no", "q1": "no"}, "C10", LIBRARY)
    first, second = result.opportunities
    assert [s.id for s in first.snippets] == ["led-lighting", "steam-traps"]
    assert [s.id for s in second.snippets] == ["led-lighting", "steam-traps"]


def test_changes_between_two_assessments_name_better_and_worse_practices() -> None:
    before = {"hk_team": "no", "hk_storage": "yes", "pc_tariff": "dont_know", "rr_water": "no"}
    after = {"hk_team": "partly", "hk_storage": "no", "pc_tariff": "no", "rr_water": "no"}
    assert practice_changes(TABLE, before, after) == (["hk_team"], ["hk_storage"])


# ---------------------------------------------------------------- sector relevance


@pytest.mark.parametrize("sector", DIVISIONS)
def test_every_sector_is_asked_between_20_and_35_questions_whatever_it_uses(
    sector: str,
) -> None:
    for heat in (True, False):
        for air in (True, False):
            count = len(asked(sector, heat=heat, steam=heat, air=air))
            assert 20 <= count <= 35, (sector, heat, air, count)


@pytest.mark.parametrize("sector", DIVISIONS)
def test_every_technique_and_housekeeping_area_is_covered_for_every_sector(sector: str) -> None:
    names = asked(sector, heat=False, steam=False, air=False)
    techniques = {
        t for name in names if name in TABLE.questions for t in TABLE.questions[name].techniques
    }
    areas = {TABLE.questions[name].area for name in names if name in TABLE.questions}
    assert techniques == set(TECHNIQUES)
    assert set(HOUSEKEEPING_AREAS) <= areas


@pytest.mark.parametrize("sector", DIVISIONS)
def test_every_question_a_sector_is_asked_has_guidance_that_fits_it(sector: str) -> None:
    for name in asked(sector):
        if name in GATES:
            continue
        refs = [LIBRARY.get(ref) for ref in TABLE.questions[name].snippets]
        assert any(s is not None and s.fits(sector) for s in refs), (sector, name)


@pytest.mark.parametrize(
    ("question", "sectors_asked"),
    [
        ("c23_kiln_tight", {"C23"}),
        ("c23_alt_inputs", {"C23"}),
        ("b08_dust", {"B08"}),
        ("b08_crusher", {"B08"}),
        ("mine_haul", {"B05", "B08"}),
        ("b05_pumps_fans", {"B05"}),
        ("d35_combustion", {"D35"}),
        ("c16_moisture", {"C16"}),
        ("c20_batch_end", {"C20"}),
        ("food_dry_cleanup", {"C10", "C11"}),
        ("metal_welding", {"C25", "C28", "C33"}),
        ("garment_servo", {"C14"}),
        ("hk_team", set(DIVISIONS)),
    ],
)
def test_sector_questions_reach_only_the_sectors_they_concern(
    question: str, sectors_asked: set[str]
) -> None:
    assert {code for code in DIVISIONS if question in asked(code)} == sectors_asked


def test_questions_about_heat_steam_and_compressed_air_reach_only_those_who_use_them() -> None:
    without = asked("C23", heat=False, steam=False, air=False)
    assert "c23_kiln_tight" not in without and "em_combustion" not in without
    assert "uses_steam" not in without and "em_steam_traps" not in without
    assert "em_air_leaks" not in without
    assert "em_steam_traps" in asked("C10", heat=True, steam=True)
    assert "em_steam_traps" not in asked("C10", heat=True, steam=False)
    # A hydropower or solar plant (D35 without a boiler) gets no combustion questions.
    assert "d35_combustion" not in asked("D35", heat=False)


# ---------------------------------------------------------------- the table itself


def test_a_scoring_table_that_does_not_fit_the_form_is_refused_naming_the_file(
    tmp_path: Path,
) -> None:
    text = SCORING_FILE.read_text(encoding="utf-8")
    missing = tmp_path / "missing.yaml"
    missing.write_text(text.replace("  hk_storage:", "  hk_storage_old:"), encoding="utf-8")
    with pytest.raises(ScoringError, match=r"missing\.yaml: questions without scoring: hk_storage"):
        load_scoring(FORM, LIBRARY, missing)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text(text.replace("[sewing-servo-motors]", "[sewing-robots]"), encoding="utf-8")
    with pytest.raises(ScoringError, match="no snippet sewing-robots"):
        load_scoring(FORM, LIBRARY, unknown)
    weightless = tmp_path / "weight.yaml"
    weightless.write_text(text.replace("weight: 3", "weight: 9", 1), encoding="utf-8")
    with pytest.raises(ScoringError, match="weight"):
        load_scoring(FORM, LIBRARY, weightless)
