"""Lạng Sơn's communes (since 1 July 2025) and the VSIC divisions the bot knows.

Both lists are read once from the CSV files shipped in :mod:`bot.data`:

* ``langson_communes.csv`` — the 65 commune-level units (61 xã, 4 phường) with
  their official code and the former district most of each came from;
* ``vsic_divisions.csv`` — VSIC divisions (two-digit codes prefixed with their
  section letter, e.g. ``C23``).

``find_commune`` and ``find_sector`` turn what a person typed (or what a
register file holds) into one of those entries.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from flows.textmatch import fold

__all__ = [
    "Commune",
    "Sector",
    "communes",
    "find_commune",
    "find_former_district",
    "find_sector",
    "former_districts",
    "sectors",
]


@dataclass(frozen=True)
class Commune:
    """A commune-level unit: official code (5 digits, e.g. ``"06040"``), name
    without its type (``"Thất Khê"``), kind (``"xã"`` or ``"phường"``) and the
    former district it belonged to (``"Tràng Định"``, ``"Thành phố Lạng Sơn"``)."""

    code: str
    name: str
    kind: str
    former_district: str

    @property
    def full_name(self) -> str:
        """Name with its type, as written in documents: ``"xã Thất Khê"``."""
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class Sector:
    """A VSIC division: ``code`` like ``"C23"``, ``section`` like ``"C"``."""

    code: str
    section: str
    name_vi: str
    name_en: str

    @property
    def division(self) -> str:
        """The two-digit division number, e.g. ``"23"``."""
        return self.code[1:]


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("bot.data").joinpath(name).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@cache
def communes() -> tuple[Commune, ...]:
    """All 65 communes, in the order of the reference file."""
    return tuple(
        Commune(
            code=row["code"].strip(),
            name=row["name"].strip(),
            kind=row["type"].strip(),
            former_district=row["former_district"].strip(),
        )
        for row in _read_csv("langson_communes.csv")
    )


@cache
def sectors() -> tuple[Sector, ...]:
    """All VSIC divisions known to the bot, in the order of the reference file."""
    return tuple(
        Sector(
            code=row["code"].strip().upper(),
            section=row["section"].strip().upper(),
            name_vi=row["name_vi"].strip(),
            name_en=row["name_en"].strip(),
        )
        for row in _read_csv("vsic_divisions.csv")
    )


@cache
def former_districts() -> tuple[str, ...]:
    """The former district-level units (before 1 July 2025), in file order."""
    return tuple(dict.fromkeys(c.former_district for c in communes()))


# --- communes ---------------------------------------------------------------

# Prefixes people put before a commune name; "thị trấn" covers the old towns
# (thị trấn Thất Khê, Na Sầm, …), which all gave their name to a new xã.
_COMMUNE_PREFIX = re.compile(r"^(?:xa|phuong|thi tran)\s+")
# Punctuation around what people type: "xã Thất Khê." or «Tam Thanh».
_EDGE_PUNCT = " \t\r\n.,;:!?\"'«»()[]"


@cache
def _communes_by_number() -> dict[int, Commune]:
    return {int(c.code): c for c in communes()}


@cache
def _communes_by_name() -> dict[str, Commune]:
    index: dict[str, Commune] = {}
    for c in communes():
        key = fold(c.name)
        if key in index:  # pragma: no cover - guards the reference data
            raise ValueError(f"two communes fold to the same name: {key!r}")
        index[key] = c
    return index


def find_commune(text: str) -> Commune | None:
    """The commune ``text`` names, or ``None``.

    Accepts the official code with or without leading zeros (``"6040"``,
    ``"06040"``) or the name in any case, with or without diacritics and with
    an optional ``xã``/``phường`` prefix (``"Thất Khê"``, ``"that khe"``,
    ``"Xa That Khe"``, ``"Phường Tam Thanh"``).
    """
    cleaned = text.strip().strip(_EDGE_PUNCT)
    if not cleaned:
        return None
    if cleaned.isascii() and cleaned.isdigit():
        return _communes_by_number().get(int(cleaned))
    key = fold(cleaned)
    by_name = _communes_by_name()
    found = by_name.get(key)
    if found is None:
        bare = _COMMUNE_PREFIX.sub("", key, count=1)
        found = by_name.get(bare) if bare != key else None
    return found


# --- former districts -------------------------------------------------------

_DISTRICT_PREFIX = re.compile(r"^(?:huyen|thanh pho|tp\.?)\s*")


@cache
def _districts_by_name() -> dict[str, str]:
    index: dict[str, str] = {}
    for name in former_districts():
        key = fold(name)
        index[key] = name
        index[_DISTRICT_PREFIX.sub("", key, count=1)] = name
    return index


def find_former_district(text: str) -> str | None:
    """The canonical name of the former district ``text`` names, or ``None``.

    ``"huyện Tràng Định"``, ``"trang dinh"`` → ``"Tràng Định"``;
    ``"TP Lạng Sơn"``, ``"Lang Son"`` → ``"Thành phố Lạng Sơn"``.
    """
    key = fold(text.strip().strip(_EDGE_PUNCT))
    if not key:
        return None
    index = _districts_by_name()
    return index.get(key) or index.get(_DISTRICT_PREFIX.sub("", key, count=1))


# --- sectors ----------------------------------------------------------------

# A section letter (optional) and 1–5 digits: VSIC codes at any level start
# with their division, so "C2394" (cement) and "23940" both mean C23.
_SECTOR_CODE = re.compile(r"^([a-z])?([0-9]{1,5})$")
_SECTOR_SEPARATORS = re.compile(r"[\s.\-_/]+")


@cache
def _sectors_by_division() -> dict[str, Sector]:
    return {s.division: s for s in sectors()}


@cache
def _sectors_by_name() -> dict[str, Sector]:
    index: dict[str, Sector] = {}
    for s in sectors():
        index.setdefault(fold(s.name_vi), s)
        index.setdefault(fold(s.name_en), s)
    return index


def find_sector(text: str) -> Sector | None:
    """The VSIC division ``text`` names, or ``None``.

    Accepts ``"C23"``, ``"c23"``, ``"C 23"``, ``"23"`` (the division whose
    digits match), longer VSIC codes (``"2394"`` → C23) and the exact
    division name in Vietnamese or English. A section letter that does not
    match the division (``"B23"``) gives ``None``.
    """
    key = fold(text.strip().strip(_EDGE_PUNCT))
    if not key:
        return None
    match = _SECTOR_CODE.match(_SECTOR_SEPARATORS.sub("", key))
    if match is None:
        return _sectors_by_name().get(key)
    letter, digits = match.groups()
    division = digits.zfill(2) if len(digits) == 1 else digits[:2]
    found = _sectors_by_division().get(division)
    if found is None or (letter is not None and letter.upper() != found.section):
        return None
    return found
