"""The guidance library: every snippet well formed, short enough for one chat message,
about real sectors and techniques, and the programme's sectors and topics covered."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.app import build
from bot.cli import main
from bot.geo import sectors
from bot.settings import Settings
from flows.textmatch import fold
from knowledge.library import (
    BODY_LIMIT,
    FIRST_STEP,
    RESOURCES,
    TECHNIQUES,
    Library,
    LibraryError,
    Snippet,
    builtin_folder,
    load_library,
)

LIBRARY = load_library()

# The sectors that matter in Lạng Sơn, the VSIC division their snippets name, and words
# (folded) of which one must be in the snippet's title or keywords to count for the topic.
LANG_SON_SECTORS = {
    "cement": ("C23", ("xi mang", "clinker")),
    "bricks and building materials": ("C23", ("gach",)),
    "stone quarrying": ("B08", ("mo da", "da", "quarry", "tram nghien")),
    "coal mining": ("B05", ("mo", "mo than", "than non", "mine", "coal waste")),
    "thermal power": ("D35", ("nhiet dien", "lo cfb", "tro xi", "tro bay", "than non")),
    "wood veneer and boards": ("C16", ("go", "van boc", "van ep", "plywood", "veneer")),
    "star anise and cinnamon oil": ("C20", ("tinh dau", "chung cat", "star anise")),
    "cassava starch": ("C10", ("tinh bot san", "cassava", "ba san")),
    "rice noodles": ("C10", ("bun", "banh pho", "pho kho", "rice noodle")),
    "other food processing": ("C10", ("thuc pham", "food processing", "lo hoi", "boiler")),
    "mechanical workshops": ("C25", ("co khi", "xuong co khi", "han", "son", "phoi", "foundry")),
    "garments": ("C14", ("vai", "may", "xuong may", "fabric", "sewing machine", "ironing")),
}
# The cross-cutting topics of the issue and words that mark a snippet as about them.
CROSS_CUTTING = {
    "motors and variable-speed drives": ("dong co", "bien tan"),
    "compressed air": ("khi nen", "may nen khi"),
    "lighting": ("chieu sang", "den led"),
    "power factor and tariffs": ("he so cong suat", "gio cao diem"),
    "boilers": ("lo hoi",),
    "steam and condensate": ("hoi nuoc", "nuoc ngung"),
    "insulation": ("bao on", "cach nhiet"),
    "kilns and furnaces": ("lo nung", "furnace", "kiln"),
    "water reuse": ("tai su dung nuoc", "water reuse", "tuan hoan nuoc"),
    "material losses and waste": ("hao hut", "chat thai", "phe lieu"),
    "metering and monitoring": ("cong to phu", "dong ho nuoc", "monitoring"),
    "housekeeping and maintenance": ("quan ly noi vi", "bao duong", "maintenance"),
}


def mentions(snippet: Snippet, words: tuple[str, ...]) -> bool:
    text = fold(" ".join([snippet.title.vi, snippet.title.en, *snippet.keywords]))
    padded = " " + " ".join(text.replace(";", " ").replace(",", " ").split()) + " "
    return any(f" {word} " in padded for word in words)


def test_the_library_holds_at_least_80_snippets_with_unique_ids() -> None:
    assert len(LIBRARY) >= 80
    assert len({snippet.id for snippet in LIBRARY.snippets}) == len(LIBRARY)


def test_every_snippet_has_both_titles_a_saving_a_source_and_keywords() -> None:
    for snippet in LIBRARY.snippets:
        assert snippet.title.vi.strip() and snippet.title.en.strip(), snippet.id
        assert snippet.saving.vi.strip() and snippet.saving.en.strip(), snippet.id
        assert len(snippet.source) >= 10, snippet.id
        assert snippet.keywords, snippet.id


def test_every_body_fits_one_message_and_ends_with_a_first_step_for_this_week() -> None:
    for snippet in LIBRARY.snippets:
        for lang in ("vi", "en"):
            body, fell_back = snippet.body(lang)
            assert not fell_back, f"{snippet.id} has no English body"
            assert 200 <= len(body) <= BODY_LIMIT, snippet.id
            assert body.splitlines()[-1].startswith(FIRST_STEP[lang]), snippet.id


def test_snippets_name_only_real_sectors_techniques_and_resources() -> None:
    divisions = {sector.code for sector in sectors()}
    for snippet in LIBRARY.snippets:
        assert set(snippet.sectors) <= divisions | {"all"}, snippet.id
        assert set(snippet.techniques) <= set(TECHNIQUES), snippet.id
        assert set(snippet.resources) <= set(RESOURCES), snippet.id
        if snippet.kind == "measure":
            assert snippet.techniques and snippet.resources, snippet.id


@pytest.mark.parametrize("technique", list(TECHNIQUES))
def test_each_cleaner_production_technique_has_at_least_three_snippets(technique: str) -> None:
    assert len(LIBRARY.with_technique(technique)) >= 3


@pytest.mark.parametrize("topic", list(LANG_SON_SECTORS))
def test_each_lang_son_sector_has_at_least_three_snippets_written_for_it(topic: str) -> None:
    code, words = LANG_SON_SECTORS[topic]
    written = [s.id for s in LIBRARY.specific_to(code) if mentions(s, words)]
    assert len(written) >= 3, f"{topic}: {written}"


@pytest.mark.parametrize("topic", list(CROSS_CUTTING))
def test_each_cross_cutting_topic_has_guidance(topic: str) -> None:
    about = [s.id for s in LIBRARY.snippets if mentions(s, CROSS_CUTTING[topic])]
    assert len(about) >= 2, f"{topic}: {about}"


def test_the_programme_itself_is_explained_deadline_support_and_assessments() -> None:
    programme = {snippet.id for snippet in LIBRARY.programme()}
    assert {"annual-report-deadline", "state-budget-support", "rapid-assessment"} <= programme
    deadline = LIBRARY.get("annual-report-deadline")
    assert deadline is not None and "15" in deadline.title.vi


def copy_library(folder: Path, *ids: str) -> None:
    folder.mkdir(exist_ok=True)
    for snippet_id in ids:
        shutil.copy(builtin_folder() / f"{snippet_id}.md", folder / f"{snippet_id}.md")


GOOD = (builtin_folder() / "compressed-air-leaks.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("sectors: [all]", "sectors: [C99]"), "unknown VSIC division C99"),
        (("techniques: [good_housekeeping,", "techniques: [tidying,"), "techniques"),
        (("- Usual spots", "- " + "Very long line. " * 40 + "\n- Usual spots"), "characters"),
        (("First step this week:", "This week:"), "First step this week"),
        (("id: compressed-air-leaks", "id: air-leaks"), "must match the file name"),
        (("---\nid:", "id:"), "front matter"),
        (('  en: "Find and fix compressed air leaks"', ""), "title.en"),
    ],
)
def test_a_broken_snippet_is_refused_with_the_file_and_the_problem(
    tmp_path: Path, change: tuple[str, str], problem: str
) -> None:
    path = tmp_path / "compressed-air-leaks.md"
    assert change[0] in GOOD
    path.write_text(GOOD.replace(change[0], change[1], 1), encoding="utf-8")
    with pytest.raises(LibraryError) as refused:
        load_library(tmp_path)
    assert "compressed-air-leaks.md" in str(refused.value)
    assert problem in str(refused.value)


async def test_a_broken_snippet_stops_the_bot_at_start(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "guidance"
    copy_library(folder, "led-lighting", "steam-traps")
    (folder / "bad-tip.md").write_text("just text, no front matter\n", encoding="utf-8")
    settings.guidance_dir = folder
    with pytest.raises(LibraryError, match=r"bad-tip\.md"):
        await build(settings)


def test_the_command_line_reports_a_broken_library_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "guidance"
    copy_library(folder, "led-lighting")
    (folder / "led-lighting.md").write_text(GOOD, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SXSH_GUIDANCE_DIR", str(folder))
    assert main(["tips", "đèn"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("sxsh-bot: ") and "led-lighting.md" in error
    assert len(error.splitlines()) == 1


def test_a_snippet_may_wait_for_its_english_body_and_falls_back_to_vietnamese(
    tmp_path: Path,
) -> None:
    vietnamese_only = GOOD.split("<!-- en -->")[0]
    (tmp_path / "compressed-air-leaks.md").write_text(vietnamese_only, encoding="utf-8")
    library = Library(load_library(tmp_path).snippets)
    snippet = library.get("compressed-air-leaks")
    assert snippet is not None
    body, fell_back = snippet.body("en")
    assert fell_back and body.startswith("Khí nén là dạng năng lượng đắt nhất")
    assert snippet.title.text("en") == "Find and fix compressed air leaks"


@pytest.mark.parametrize(
    ("about", "trade"),
    [
        ("Cơ sở sản xuất bún phở Mẫu Tam Thanh", "rice-noodle-"),
        ("Công ty TNHH Tinh bột sắn Mẫu Hữu Liên", "cassava-"),
        ("Hợp tác xã Chế biến hồi quế Mẫu Tri Lễ", "spice-drying"),
        ("Hộ kinh doanh Chưng cất tinh dầu hồi", "essential-oil-"),
    ],
)
def test_the_facilitys_own_words_pick_its_trade_within_a_broad_sector(
    about: str, trade: str
) -> None:
    suited = LIBRARY.suited(LIBRARY.specific_to("C10"), "C10", about)
    assert suited[0].id.startswith(trade)
    assert len(suited) == len(LIBRARY.specific_to("C10"))


def test_words_are_matched_with_their_diacritics_so_san_xuat_is_not_cassava() -> None:
    cassava = LIBRARY.get("cassava-pulp-feed")
    noodles = LIBRARY.get("rice-noodle-improved-stove")
    assert cassava is not None and noodles is not None
    assert not cassava.named_in("Cơ sở sản xuất bún phở")
    assert noodles.named_in("Cơ sở sản xuất BÚN phở")


def test_once_the_trade_is_known_other_trades_come_after_general_guidance() -> None:
    candidates = [
        LIBRARY.get(ref)
        for ref in ("essential-oil-furnace", "boiler-excess-air", "rice-noodle-improved-stove")
    ]
    noodles = LIBRARY.suited(filter(None, candidates), "C10", "bún tươi")
    assert [s.id for s in noodles] == [
        "rice-noodle-improved-stove",
        "boiler-excess-air",
        "essential-oil-furnace",
    ]
    unknown = LIBRARY.suited(filter(None, candidates), "C10", "Cơ sở Mẫu")
    assert [s.id for s in unknown][-1] == "boiler-excess-air"
