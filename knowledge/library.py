"""The guidance library: short cleaner-production snippets, one Markdown file each.

A snippet file holds YAML front matter, the Vietnamese body, a ``<!-- en -->`` line and
the English body::

    ---
    id: compressed-air-leaks
    title: {vi: "Tìm và sửa rò rỉ khí nén", en: "Find and fix compressed air leaks"}
    sectors: [all]                      # VSIC divisions (C23, B08, …) or all
    techniques: [good_housekeeping]     # the eight Cleaner Production techniques
    resources: [electricity]            # electricity, heat_fuel, water, raw_material, waste
    saving: {vi: "…", en: "…"}          # a typical saving or payback
    source: "US DOE compressed air tip sheets"   # the kind of source it comes from
    keywords: [khí nén, rò rỉ, compressed air]
    ---
    Vietnamese body, ending with "Bước đầu tuần này: …"
    <!-- en -->
    English body, ending with "First step this week: …"

Snippets of kind ``programme`` explain the SXSH programme itself (the yearly report, state
support, how an assessment works); they belong to no technique and save no resource.

Advisers edit these files without touching code; a broken file stops the bot at start
with the file name and the problem, as a broken form does.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.geo import sectors as vsic_divisions
from bot.i18n import N_
from flows.model import Label

Technique = Literal[
    "good_housekeeping",
    "input_material_change",
    "better_process_control",
    "equipment_modification",
    "technology_change",
    "onsite_recovery_reuse",
    "byproducts",
    "product_modification",
]
Resource = Literal["electricity", "heat_fuel", "water", "raw_material", "waste"]

# Display names, in the order of the UNEP/UNIDO list; English msgids for the catalogs.
TECHNIQUES: dict[str, str] = {
    "good_housekeeping": N_("Good housekeeping"),
    "input_material_change": N_("Input material change"),
    "better_process_control": N_("Better process control"),
    "equipment_modification": N_("Equipment modification"),
    "technology_change": N_("Technology change"),
    "onsite_recovery_reuse": N_("On-site recovery and reuse"),
    "byproducts": N_("Useful by-products"),
    "product_modification": N_("Product modification"),
}
RESOURCES: dict[str, str] = {
    "electricity": N_("Electricity"),
    "heat_fuel": N_("Heat and fuel"),
    "water": N_("Water"),
    "raw_material": N_("Raw materials"),
    "waste": N_("Waste"),
}
assert tuple(TECHNIQUES) == get_args(Technique) and tuple(RESOURCES) == get_args(Resource)

ALL_SECTORS = "all"
# One chat message: the body in each language stays under this many characters.
BODY_LIMIT = 800
FIRST_STEP = {"vi": "Bước đầu tuần này:", "en": "First step this week:"}
ENGLISH_MARKER = "<!-- en -->"
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n(.*)\Z", re.DOTALL)


class LibraryError(Exception):
    """A snippet that cannot be used; the message names the file and the problem."""


class Snippet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    # Short enough for Telegram's 64-byte button data ("tn:" + id).
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,47}$")
    title: Label
    kind: Literal["measure", "programme"] = "measure"
    sectors: list[str] = Field(min_length=1)
    techniques: list[Technique] = Field(default_factory=list)
    resources: list[Resource] = Field(default_factory=list)
    saving: Label
    source: str = Field(min_length=3)
    keywords: list[str] = Field(min_length=1)
    body_vi: str
    # None until someone writes it; readers then get the Vietnamese body with a note.
    body_en: str | None = None

    @field_validator("sectors")
    @classmethod
    def _real_sectors(cls, codes: list[str]) -> list[str]:
        if ALL_SECTORS in codes and len(codes) > 1:
            raise ValueError("`all` cannot be combined with sector codes")
        known = {sector.code for sector in vsic_divisions()}
        unknown = [code for code in codes if code != ALL_SECTORS and code not in known]
        if unknown:
            raise ValueError(
                f"unknown VSIC division {', '.join(unknown)} (use codes like C23, B08, or all)"
            )
        return codes

    @field_validator("techniques", "resources", "sectors", "keywords")
    @classmethod
    def _no_repeats(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("a value is listed twice")
        return values

    @model_validator(mode="after")
    def _body_fits_one_message(self) -> Snippet:
        if self.kind == "measure" and not (self.techniques and self.resources):
            raise ValueError("a measure needs at least one technique and one resource")
        if self.kind == "programme" and (self.techniques or self.resources):
            raise ValueError("a programme snippet has no techniques or resources")
        for lang, body in (("vi", self.body_vi), ("en", self.body_en)):
            if body is None:
                continue
            if not body.strip():
                raise ValueError(f"the {lang} body is empty")
            if len(body) > BODY_LIMIT:
                raise ValueError(
                    f"the {lang} body has {len(body)} characters; keep it under {BODY_LIMIT}"
                )
            if not body.splitlines()[-1].startswith(FIRST_STEP[lang]):
                raise ValueError(f"the {lang} body must end with a line “{FIRST_STEP[lang]} …”")
        return self

    def body(self, lang: str) -> tuple[str, bool]:
        """The body in `lang`, and whether it fell back to Vietnamese."""
        if lang == "en" and self.body_en is None:
            return self.body_vi, True
        return (self.body_en if lang == "en" and self.body_en else self.body_vi), False

    def first_line(self, lang: str) -> str:
        return self.body(lang)[0].splitlines()[0]

    def fits(self, sector: str | None) -> bool:
        """Meant for every sector, or for this one."""
        return ALL_SECTORS in self.sectors or (sector is not None and sector in self.sectors)

    def sector_order(self, sector: str | None) -> int:
        """0 written for this sector, 1 for every sector, 2 for other sectors."""
        if sector is not None and sector in self.sectors:
            return 0
        return 1 if ALL_SECTORS in self.sectors else 2

    def named_in(self, text: str) -> bool:
        """One of the keywords appears as whole words in `text`, diacritics and all:
        "bún" names "Cơ sở sản xuất bún phở", while "sắn" does not name "sản xuất"."""
        words = f" {_exact_words(text)} "
        return any(f" {_exact_words(keyword)} " in words for keyword in self.keywords)


@dataclass(frozen=True)
class Library:
    snippets: tuple[Snippet, ...]

    @cached_property
    def _by_id(self) -> dict[str, Snippet]:
        return {snippet.id: snippet for snippet in self.snippets}

    def get(self, snippet_id: str) -> Snippet | None:
        return self._by_id.get(snippet_id)

    def __len__(self) -> int:
        return len(self.snippets)

    def with_technique(self, technique: str, sector: str | None = None) -> list[Snippet]:
        return _for_reader((s for s in self.snippets if technique in s.techniques), sector)

    def with_resource(self, resource: str, sector: str | None = None) -> list[Snippet]:
        return _for_reader((s for s in self.snippets if resource in s.resources), sector)

    def for_sector(self, sector: str) -> list[Snippet]:
        """Written for this sector first, then the ones for every sector."""
        return _for_reader((s for s in self.snippets if s.fits(sector)), sector)

    def specific_to(self, sector: str) -> list[Snippet]:
        return [snippet for snippet in self.snippets if sector in snippet.sectors]

    def suited(
        self, candidates: Iterable[Snippet], sector: str | None, about: str = ""
    ) -> list[Snippet]:
        """The candidates that fit the sector, the best suited first.

        A VSIC division is broad (C10 holds rice noodles, cassava starch and star anise
        alike), so the facility's own words (`about`: its name, its main product) go
        first: a snippet they name leads. When they name some snippet written for the
        sector, the sector's other snippets are about other trades and come after the
        general ones; otherwise the sector's snippets come before the general ones.
        """
        fitting = [snippet for snippet in candidates if snippet.fits(sector)]
        if not about or sector is None:
            return sorted(fitting, key=lambda snippet: snippet.sector_order(sector))
        trade_known = any(snippet.named_in(about) for snippet in self.specific_to(sector))

        def rank(snippet: Snippet) -> int:
            if snippet.named_in(about):
                return 0
            general = ALL_SECTORS in snippet.sectors
            return (1 if general else 2) if trade_known else (2 if general else 1)

        return sorted(fitting, key=rank)

    def programme(self) -> list[Snippet]:
        return [snippet for snippet in self.snippets if snippet.kind == "programme"]

    def sectors_with_guidance(self, minimum: int = 3) -> list[str]:
        """VSIC divisions with at least `minimum` snippets written for them, by code."""
        counts: dict[str, int] = {}
        for snippet in self.snippets:
            for code in snippet.sectors:
                if code != ALL_SECTORS:
                    counts[code] = counts.get(code, 0) + 1
        return sorted(code for code, count in counts.items() if count >= minimum)


def _exact_words(text: str) -> str:
    lowered = unicodedata.normalize("NFC", text).casefold()
    return " ".join("".join(ch if ch.isalnum() else " " for ch in lowered).split())


def _for_reader(snippets: Iterable[Snippet], sector: str | None) -> list[Snippet]:
    """The reader's own sector first, then general guidance, then other sectors."""
    return sorted(snippets, key=lambda snippet: snippet.sector_order(sector))


def builtin_folder() -> Path:
    return Path(__file__).resolve().parent / "snippets"


def parse_snippet(path: Path) -> Snippet:
    """Read one snippet file; any problem becomes a LibraryError naming the file."""
    try:
        text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    except (OSError, UnicodeDecodeError) as error:
        raise LibraryError(f"{path}: cannot read the snippet: {error}") from error
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise LibraryError(f"{path}: the file must start with front matter between --- lines")
    try:
        front = yaml.safe_load(match.group(1))
    except yaml.YAMLError as error:
        raise LibraryError(f"{path}: the front matter is not valid YAML: {error}") from error
    if not isinstance(front, dict):
        raise LibraryError(f"{path}: the front matter must be a mapping of fields")
    body_vi, marker, body_en = match.group(2).partition(ENGLISH_MARKER)
    fields = {**front, "body_vi": body_vi.strip(), "body_en": body_en.strip() if marker else None}
    try:
        snippet = Snippet.model_validate(fields)
    except ValidationError as error:
        problems = []
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]) or "snippet"
            message = problem["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {message}")
        raise LibraryError(f"{path}: " + "; ".join(problems)) from error
    if snippet.id != path.stem:
        raise LibraryError(f"{path}: the id {snippet.id!r} must match the file name")
    return snippet


def load_library(folder: Path | None = None) -> Library:
    """Every `*.md` snippet of the folder (the built-in library by default), checked."""
    folder = folder or builtin_folder()
    paths = sorted(folder.glob("*.md"))
    if not paths:
        raise LibraryError(f"{folder}: no guidance snippets (*.md) found")
    return Library(tuple(parse_snippet(path) for path in paths))
