"""Scoring the rapid self-assessment: from answers to scores, and from gaps to next steps.

The questions live in `flows/forms/self_assessment.yaml` (a form like any other); what
each question means for the score lives in `knowledge/assessment.yaml`: the techniques
it belongs to, how much it weighs, whether closing the gap is something to *implement
now* (low cost, quick) or to *study further* (needs an adviser or investment), a short
name for the practice, and the library snippets that help. Advisers tune both files
without touching code.

An answer is worth 1 (yes), ½ (partly) or 0 (no, don't know): a practice nobody can vouch
for is not yet in place. A technique's score is the weighted share of its practices in
place, 0–100; the overall score weighs every question once. The biggest opportunities
are the largest weighted gaps, quick wins first among equals, with one of each kind
(implement now, study further) whenever both kinds of gap exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flows.model import Form, Label
from knowledge.library import (
    TECHNIQUES,
    Library,
    LibraryError,
    Snippet,
    Technique,
)

Answer = Literal["yes", "partly", "no", "dont_know"]
ANSWER_VALUES: dict[str, Fraction] = {
    "yes": Fraction(1),
    "partly": Fraction(1, 2),
    "no": Fraction(0),
    "dont_know": Fraction(0),
}
ANSWER_LIST = "answer"  # the form's choice list every scored question uses
HousekeepingArea = Literal[
    "raw_materials", "waste", "storage_handling", "water", "energy", "safety"
]
HOUSEKEEPING_AREAS: tuple[str, ...] = get_args(HousekeepingArea)
SCORING_FILE = Path(__file__).resolve().parent / "assessment.yaml"
MAX_OPPORTUNITIES = 5
SNIPPETS_PER_OPPORTUNITY = 2


class ScoringError(LibraryError):
    """A scoring table that does not fit its form or library."""


class ScoredQuestion(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    techniques: list[Technique] = Field(min_length=1)
    # For good-housekeeping questions: which checklist area they cover.
    area: HousekeepingArea | None = None
    weight: int = Field(ge=1, le=3)
    action: Literal["now", "study"]
    practice: Label
    snippets: list[str] = Field(min_length=1)


class ScoringTable(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    form: str
    questions: dict[str, ScoredQuestion]

    def check(self, form: Form, library: Library) -> None:
        """Every scored question is a yes/partly/no/don't-know question of the form and
        every such question is scored; every snippet named exists."""
        if form.id != self.form:
            raise ScoringError(f"the table scores form {self.form!r}, not {form.id!r}")
        asked = {q.name for q in form.questions if q.choices == ANSWER_LIST}
        if missing := sorted(asked - set(self.questions)):
            raise ScoringError(f"questions without scoring: {', '.join(missing)}")
        if unknown := sorted(set(self.questions) - asked):
            raise ScoringError(
                f"scored names that are not {ANSWER_LIST!r} questions of the form: "
                + ", ".join(unknown)
            )
        for name, question in self.questions.items():
            absent = [ref for ref in question.snippets if library.get(ref) is None]
            if absent:
                raise ScoringError(f"{name}: no snippet {', '.join(absent)} in the library")


@dataclass(frozen=True)
class TechniqueScore:
    technique: str
    score: int | None  # None when no question of this technique was asked
    asked: int
    done: int
    partly: int
    unknown: int


@dataclass(frozen=True)
class Opportunity:
    question: str
    action: str  # "now" or "study"
    practice: Label
    answer: str
    snippets: tuple[Snippet, ...]


@dataclass(frozen=True)
class AssessmentResult:
    overall: int
    asked: int
    done: int
    techniques: tuple[TechniqueScore, ...]
    opportunities: tuple[Opportunity, ...]
    answers: dict[str, str]

    @property
    def scores(self) -> dict[str, int | None]:
        return {item.technique: item.score for item in self.techniques}


def load_scoring(form: Form, library: Library, path: Path | None = None) -> ScoringTable:
    """Read the scoring table and check it against the form and the library."""
    path = path or SCORING_FILE
    try:
        table = ScoringTable.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        table.check(form, library)
    except (OSError, yaml.YAMLError) as error:
        raise ScoringError(f"{path}: cannot read the scoring table: {error}") from error
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ScoringError(f"{path}: {where}: {first['msg']}") from error
    except ScoringError as error:
        raise ScoringError(f"{path}: {error}") from error
    return table


def score(
    table: ScoringTable,
    answers: Mapping[str, object],
    sector: str,
    library: Library,
    about: str = "",
) -> AssessmentResult:
    """Score the answers given; a question without an answer was not asked.

    `about` is the facility's own words (its name, its main product), which pick the
    snippets for its trade within a broad sector."""
    given = {
        name: str(answers[name])
        for name in table.questions
        if isinstance(answers.get(name), str) and answers[name] in ANSWER_VALUES
    }
    techniques = tuple(_technique_score(table, given, key) for key in TECHNIQUES)
    total = sum(table.questions[name].weight for name in given)
    earned = sum(
        table.questions[name].weight * ANSWER_VALUES[value] for name, value in given.items()
    )
    return AssessmentResult(
        overall=_percent(earned, total) if total else 0,
        asked=len(given),
        done=sum(value == "yes" for value in given.values()),
        techniques=techniques,
        opportunities=_opportunities(table, given, sector, about, library),
        answers=given,
    )


def _technique_score(
    table: ScoringTable, given: Mapping[str, str], technique: str
) -> TechniqueScore:
    names = [name for name in given if technique in table.questions[name].techniques]
    total = sum(table.questions[name].weight for name in names)
    earned = sum(table.questions[name].weight * ANSWER_VALUES[given[name]] for name in names)
    values = [given[name] for name in names]
    return TechniqueScore(
        technique=technique,
        score=_percent(earned, total) if total else None,
        asked=len(names),
        done=values.count("yes"),
        partly=values.count("partly"),
        unknown=values.count("dont_know"),
    )


def _percent(earned: Fraction | int, total: int) -> int:
    """0–100, halves rounded up (so 62.5 shows as 63, as people expect)."""
    return int(Fraction(earned) * 100 / total + Fraction(1, 2))


def _opportunities(
    table: ScoringTable, given: Mapping[str, str], sector: str, about: str, library: Library
) -> tuple[Opportunity, ...]:
    order = list(table.questions)
    gaps = [
        (table.questions[name].weight * (1 - ANSWER_VALUES[value]), name)
        for name, value in given.items()
        if value != "yes"
    ]
    gaps.sort(
        key=lambda gap: (-gap[0], table.questions[gap[1]].action != "now", order.index(gap[1]))
    )
    chosen = [name for _gap, name in gaps[:MAX_OPPORTUNITIES]]
    # A plan holds a quick win and something to study when both kinds of gap exist: the
    # best of a missing kind takes the last place.
    for action in ("now", "study"):
        kinds = {table.questions[name].action for name in chosen}
        missing = [name for _gap, name in gaps if table.questions[name].action == action]
        if action not in kinds and missing and len(chosen) == MAX_OPPORTUNITIES:
            chosen[-1] = missing[0]
    used: set[str] = set()
    found = []
    for name in chosen:
        question = table.questions[name]
        snippets = _snippets_for(question, sector, about, library, used)
        used.update(snippet.id for snippet in snippets)
        found.append(Opportunity(name, question.action, question.practice, given[name], snippets))
    # Implement now first, then study further; each group keeps its ranking.
    found.sort(key=lambda item: item.action != "now")
    return tuple(found)


def _snippets_for(
    question: ScoredQuestion, sector: str, about: str, library: Library, used: set[str]
) -> tuple[Snippet, ...]:
    """Up to two snippets best suited to the facility, fresh ones before repeats."""
    candidates = [library.get(ref) for ref in question.snippets]
    suited = library.suited(filter(None, candidates), sector, about)
    suited.sort(key=lambda snippet: snippet.id in used)
    return tuple(suited[:SNIPPETS_PER_OPPORTUNITY])


def practice_changes(
    table: ScoringTable, before: Mapping[str, str], after: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """Question names that got better and worse between two assessments."""
    better, worse = [], []
    for name in table.questions:
        if name not in before or name not in after:
            continue
        old = ANSWER_VALUES.get(before[name], Fraction(0))
        new = ANSWER_VALUES.get(after[name], Fraction(0))
        if new > old:
            better.append(name)
        elif new < old:
            worse.append(name)
    return better, worse
