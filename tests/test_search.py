"""Searching the library as managers type: with or without diacritics, with synonyms,
ranked by BM25 and lifted for the asker's own sector."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from flows.textmatch import fold
from knowledge.library import load_library
from knowledge.search import GuidanceIndex

QUESTIONS = yaml.safe_load(
    (Path(__file__).parent / "fixtures" / "search_questions.yaml").read_text(encoding="utf-8")
)


@pytest.fixture(scope="module")
def index() -> Iterator[GuidanceIndex]:
    built = GuidanceIndex(load_library())
    yield built
    built.close()


def best(index: GuidanceIndex, question: str, sector: str | None = None, n: int = 3) -> list[str]:
    return [hit.snippet.id for hit in index.search(question, sector)[:n]]


def typed_without_diacritics(question: str) -> bool:
    return fold(question) == " ".join(question.lower().split())


def test_the_question_table_is_realistic_in_size_and_half_is_typed_without_diacritics() -> None:
    assert len(QUESTIONS) >= 40
    assert sum(typed_without_diacritics(row["q"]) for row in QUESTIONS) >= len(QUESTIONS) / 2


@pytest.mark.parametrize("row", QUESTIONS, ids=[row["q"] for row in QUESTIONS])
def test_each_question_finds_its_snippets_among_the_best_three(
    index: GuidanceIndex, row: dict[str, object]
) -> None:
    sector = row.get("sector")
    found = best(index, str(row["q"]), str(sector) if sector else None)
    for expected in row["expect"]:  # type: ignore[attr-defined]
        assert expected in found, f"{row['q']!r}: {found}"


@pytest.mark.parametrize(
    ("with_marks", "without"),
    [
        ("tiết kiệm điện lò hơi", "tiet kiem dien lo hoi"),
        ("Đèn LED cho xưởng", "den led cho xuong"),
        ("ĐIỆN TỰ DÙNG nhà máy nhiệt điện", "dien tu dung nha may nhiet dien"),
        ("nước thải tinh bột sắn", "nuoc thai tinh bot san"),
    ],
)
def test_typing_without_diacritics_or_with_d_for_đ_finds_the_same_ranking(
    index: GuidanceIndex, with_marks: str, without: str
) -> None:
    assert best(index, with_marks, n=10) == best(index, without, n=10)
    assert best(index, with_marks)


@pytest.mark.parametrize(
    ("word", "synonym", "snippet"),
    [
        ("giảm điện máy nén", "giảm năng lượng máy nén", "compressed-air-leaks"),
        ("giảm than lò hơi", "giảm nhiên liệu lò hơi", "boiler-excess-air"),
        ("nước thải nhà máy sắn", "xả thải nhà máy sắn", "cassava-water-recycling"),
        ("máy nén khí", "khí nén", "compressed-air-leaks"),
        ("nồi hơi đốt than", "lò hơi đốt than", "boiler-excess-air"),
    ],
)
def test_common_synonyms_find_the_same_guidance(
    index: GuidanceIndex, word: str, synonym: str, snippet: str
) -> None:
    assert snippet in best(index, word)
    assert snippet in best(index, synonym)


def test_the_askers_own_sector_is_lifted_to_the_top(index: GuidanceIndex) -> None:
    assert best(index, "lo nau", "C10")[0] == "rice-noodle-improved-stove"
    assert best(index, "lo nau", "C23")[0] == "kiln-furnace-heat-loss"
    assert best(index, "tiết kiệm điện quạt", "D35")[0] == "power-fan-vsd"
    assert best(index, "tiết kiệm điện quạt", "C23")[0] == "cement-cooler-fan-vsd"


def test_asking_words_do_not_steer_the_search(index: GuidanceIndex) -> None:
    # "cho hỏi" folds to "cho hoi", which must not bring up star anise ("hồi").
    found = best(index, "cho hỏi cách giảm tiền điện", n=5)
    assert found and not any(snippet.startswith("essential-oil") for snippet in found)
    assert best(index, "làm thế nào để giảm bụi mỏ đá") == best(index, "giảm bụi mỏ đá")


def test_english_questions_and_plurals_work(index: GuidanceIndex) -> None:
    assert best(index, "compressed air leaks")[0] == "compressed-air-leaks"
    assert "sewing-servo-motors" in best(index, "servo motors for sewing machines")


@pytest.mark.parametrize(
    "question", ["Khi nào được nghỉ Tết?", "giá vàng hôm nay", "xyz qwerty", "", "???", "và của"]
)
def test_a_question_the_library_cannot_answer_finds_nothing(
    index: GuidanceIndex, question: str
) -> None:
    assert index.search(question) == []


def test_the_bare_fts5_query_runs_on_the_same_index(index: GuidanceIndex) -> None:
    expression = index.match_expression("rò rỉ khí nén")
    assert expression is not None and '"khi nen"' in expression
    assert index.bare_search(expression)[0] == "compressed-air-leaks"


def test_the_command_line_prints_the_best_three_as_the_chat_ranks_them(
    index: GuidanceIndex,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.delenv("SXSH_GUIDANCE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    assert main(["tips", "tiet kiem than lo hoi", "--sector", "C10", "--lang", "en"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = best(index, "tiet kiem than lo hoi", "C10")
    assert [line.split("\t")[0] for line in lines[::2]] == [
        f"{n}. {snippet}" for n, snippet in enumerate(expected, start=1)
    ]
    boiler = load_library().get(expected[0])
    assert boiler is not None
    assert lines[0].endswith(boiler.title.en) and lines[1].strip() == boiler.first_line("en")


def test_the_command_line_refuses_an_unknown_sector_and_says_when_nothing_is_found(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["tips", "lò gạch", "--sector", "Z99"]) == 2
    assert capsys.readouterr().err.strip() == "sxsh-bot: không có ngành: Z99"
    assert main(["tips", "xyz qwerty"]) == 1
    assert "Không tìm thấy hướng dẫn nào cho “xyz qwerty”." in capsys.readouterr().out
