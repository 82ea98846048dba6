"""Searching the guidance library the way managers type: SQLite FTS5, BM25, folded text.

Everything is compared folded (`flows.textmatch.fold`: no diacritics, đ → d, lower case),
so "tiet kiem dien lo hoi" and "tiết kiệm điện lò hơi" are the same query. Folding makes
many Vietnamese syllables collide ("lò", "lô", "lọ" are all "lo"), so a question is read
as phrases first: the longest known domain phrase at each point ("lo hoi", "may nen khi",
"tinh bot san", from the snippets' keywords and the synonym table) counts twice as much
as a loose word, and neighbouring loose words also count as a pair. Synonyms
("điện" ~ "năng lượng", "than" ~ "nhiên liệu", …) are added as further alternatives.
BM25 ranks the matches (a title hit weighs more than a keyword, a keyword more than the
body); snippets written for the asker's sector are then boosted.

The index is an in-memory FTS5 table built from the snippet files when the bot starts
(some 40 ms for the whole library). The files stay the only source of truth: nothing to
migrate, never stale after an adviser edits a snippet and restarts, and the bot's
database never holds a copy. Searching is synchronous and sub-millisecond, so it runs
inline in the turn without a thread hop.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
from dataclasses import dataclass
from functools import cached_property

from flows.textmatch import fold
from knowledge.library import FIRST_STEP, Library, Snippet

# Groups of folded phrases that mean the same to someone asking (both languages).
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("dien", "dien nang", "nang luong", "tien dien", "electricity", "energy"),
    ("than", "nhien lieu", "coal", "fuel"),
    ("cui", "nhien lieu", "firewood"),
    ("nuoc thai", "xa thai", "wastewater", "effluent"),
    ("may nen khi", "khi nen", "compressor", "compressed air"),
    ("lo hoi", "noi hoi", "boiler"),
    ("bien tan", "vsd", "vfd", "variable speed"),
    ("chieu sang", "bong den", "den led", "lighting", "lamp"),
    ("ro ri", "xi hoi", "leak"),
    ("hoi nuoc", "steam"),
    ("bay hoi", "steam trap"),
    ("nuoc ngung", "condensate"),
    ("bao on", "cach nhiet", "insulation"),
    ("he so cong suat", "cos phi", "tu bu", "power factor", "capacitor"),
    ("gio cao diem", "gia dien", "time of use", "peak"),
    ("gach", "brick"),
    ("xi mang", "cement"),
    ("lo nung", "kiln"),
    ("mo da", "khai thac da", "quarry"),
    ("bui", "dap bui", "dust"),
    ("bun", "banh pho", "pho kho", "rice noodle"),
    ("tinh dau", "chung cat", "essential oil", "distillation"),
    ("tinh bot san", "cu san", "cassava"),
    ("van boc", "veneer"),
    ("van ep", "plywood"),
    ("go", "wood"),
    ("dong co", "motor"),
    ("quat", "fan"),
    ("bom", "pump"),
    ("chat thai", "rac thai", "waste"),
    ("phe lieu", "scrap"),
    ("khi thai", "khoi thai", "flue gas", "exhaust"),
    ("tro bay", "tro xi", "fly ash"),
    ("hoan von", "payback"),
    ("bao cao", "report"),
    ("ho tro", "kinh phi", "subsidy", "funding"),
    ("may nghien", "nghien", "crusher", "mill"),
    ("may may", "sewing machine"),
    ("vai", "fabric"),
    ("son", "paint"),
    ("may han", "welding"),
    ("nuoc lam mat", "cooling water"),
    ("tai su dung", "dung lai", "tuan hoan", "reuse", "recycling"),
)
# Phrases people type that are not among the snippets' keywords.
COMPOUNDS = (
    "co khi",
    "lo gach",
    "cay hoi",
    "hoi que",
    "nha may xi mang",
    "che bien thuc pham",
    "khong tai",
    "may nen",
    "nhiet dien",
    "san pham hong",
    "so lieu nen",
    "bat dau",
    "ma kem",
)
# Asking words, removed before anything else ("cho hỏi" is not a question about "hồi").
STOP_PHRASES = (
    "cho hoi",
    "xin hoi",
    "muon hoi",
    "lam the nao",
    "nhu the nao",
    "the nao",
    "lam sao",
    "co cach nao",
    "bang cach nao",
    "how do i",
    "how can i",
    "how to",
    "what is",
)
# Words too common in questions to say what they are about (Vietnamese folded, English).
STOPWORDS = frozenset(
    """
    a ai anh ban bao cac cach can chi cho chung co cua da de duoc em gi hay hoac khi
    khong la lam ma minh mot muon nao nay nen nhieu nhu nhung o oi qua sao thi toi
    trong tuan va vay vi voi xin
    an and are at be do does for how i in is it my of on or our should the this to we
    what which with
    """.split()  # noqa: SIM905 - a word list reads better as text
)
# BM25 weight of each column: a title hit counts most, then a keyword, then the body.
COLUMN_WEIGHTS = {"title": 6.0, "keywords": 3.0, "body": 1.0}
PHRASE_WEIGHT = 2
# Snippets written for the asker's sector rank higher; those written only for other
# sectors a little lower. General snippets stay as they are.
OWN_SECTOR_BOOST = 1.6
OTHER_SECTOR_FACTOR = 0.8
# Below this a match only shares a common word or two with the question (BM25 points,
# before the sector boost): better to offer suggestions than noise.
MIN_SCORE = 5.0
_WORD = re.compile(r"[a-z0-9]+")
_LONGEST_PHRASE = 5


@dataclass(frozen=True)
class Term:
    """One alternative of a query: a folded phrase, how much it counts, a prefix or not."""

    text: str
    weight: int = 1
    prefix: bool = False

    def fts(self) -> str:
        quoted = f'"{self.text}"' + ("*" if self.prefix else "")
        return " OR ".join([quoted] * self.weight)


@dataclass(frozen=True)
class Hit:
    snippet: Snippet
    score: float


def _words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def _searchable_body(snippet: Snippet) -> str:
    """Both bodies and the saving, without the fixed "first step" words every snippet has."""
    parts = [snippet.body_vi, snippet.body_en or "", snippet.saving.vi, snippet.saving.en]
    text = "\n".join(parts)
    for words in FIRST_STEP.values():
        text = text.replace(words, "")
    return text


class GuidanceIndex:
    """An in-memory FTS5 index over one library."""

    def __init__(self, library: Library) -> None:
        self.library = library
        # Used from one event loop thread at a time; the bot never shares it across threads.
        self._connection = sqlite3.connect(":memory:", check_same_thread=False)
        self._connection.execute(
            "CREATE VIRTUAL TABLE guidance USING fts5("
            "id UNINDEXED, title, keywords, body, tokenize = 'unicode61')"
        )
        self._connection.executemany(
            "INSERT INTO guidance (id, title, keywords, body) VALUES (?, ?, ?, ?)",
            [
                (
                    snippet.id,
                    fold(f"{snippet.title.vi} {snippet.title.en}"),
                    fold(" ; ".join(snippet.keywords)),
                    fold(_searchable_body(snippet)),
                )
                for snippet in library.snippets
            ],
        )
        weights = ", ".join(str(weight) for weight in COLUMN_WEIGHTS.values())
        self._rank = f"bm25(guidance, 0, {weights})"

    def close(self) -> None:
        self._connection.close()

    @cached_property
    def vocabulary(self) -> frozenset[tuple[str, ...]]:
        """Multi-word phrases read as one: keywords, synonyms and common compounds."""
        phrases = [keyword for snippet in self.library.snippets for keyword in snippet.keywords]
        phrases += [member for group in SYNONYMS for member in group]
        phrases += COMPOUNDS
        found = {tuple(_words(phrase)) for phrase in phrases}
        return frozenset(words for words in found if 1 < len(words) <= _LONGEST_PHRASE)

    @cached_property
    def _synonyms(self) -> dict[str, tuple[str, ...]]:
        found: dict[str, list[str]] = {}
        for group in SYNONYMS:
            for member in group:
                found.setdefault(member, []).extend(other for other in group if other != member)
        return {member: tuple(others) for member, others in found.items()}

    def terms(self, question: str) -> list[Term]:
        """The alternatives a question is searched with, most telling first."""
        text = f" {' '.join(_words(question))} "
        for phrase in STOP_PHRASES:
            text = text.replace(f" {phrase} ", " ")
        words = text.split()
        terms: dict[str, Term] = {}
        loose: list[str | None] = []  # None marks a break between loose words
        index = 0
        while index < len(words):
            for length in range(min(_LONGEST_PHRASE, len(words) - index), 1, -1):
                candidate = tuple(words[index : index + length])
                if candidate in self.vocabulary:
                    phrase = " ".join(candidate)
                    terms.setdefault(phrase, Term(phrase, PHRASE_WEIGHT))
                    # "nuoc thai tinh bot san" also stands for "nuoc thai", "tinh bot san".
                    for part in self._known_parts(candidate):
                        terms.setdefault(part, Term(part))
                    loose.append(None)
                    index += length
                    break
            else:
                loose.append(None if words[index] in STOPWORDS else words[index])
                index += 1
        for single in loose:
            if single is not None:
                terms.setdefault(single, _loose_word(single))
        for first, second in itertools.pairwise(loose):
            if first is not None and second is not None:
                terms.setdefault(f"{first} {second}", Term(f"{first} {second}"))
        for term in list(terms.values()):
            for synonym in self._synonyms.get(term.text, ()):
                terms.setdefault(synonym, Term(synonym))
        return list(terms.values())

    def _known_parts(self, words: tuple[str, ...]) -> list[str]:
        return [
            " ".join(words[start:end])
            for start in range(len(words))
            for end in range(start + 2, len(words) + 1)
            if (end - start) < len(words) and words[start:end] in self.vocabulary
        ]

    def match_expression(self, question: str) -> str | None:
        """The FTS5 MATCH text for a question; None when nothing in it can be searched."""
        terms = self.terms(question)
        return " OR ".join(term.fts() for term in terms) if terms else None

    def search(self, question: str, sector: str | None = None) -> list[Hit]:
        """Every matching snippet, best first, boosted for the asker's sector."""
        expression = self.match_expression(question)
        if expression is None:
            return []
        rows = self._connection.execute(
            f"SELECT id, {self._rank} FROM guidance WHERE guidance MATCH ?", (expression,)
        ).fetchall()
        hits = []
        for snippet_id, rank in rows:
            score = -float(rank)
            if score < MIN_SCORE:
                continue
            snippet = self.library.get(str(snippet_id))
            assert snippet is not None
            hits.append(Hit(snippet, score * _sector_factor(snippet, sector)))
        hits.sort(key=lambda hit: (-hit.score, hit.snippet.id))
        return hits

    def bare_search(self, expression: str, limit: int = 3) -> list[str]:
        """The plain FTS5 query with its built-in ranking: the benchmark's baseline."""
        rows = self._connection.execute(
            "SELECT id FROM guidance WHERE guidance MATCH ? ORDER BY rank LIMIT ?",
            (expression, limit),
        ).fetchall()
        return [str(row[0]) for row in rows]


def _loose_word(word: str) -> Term:
    # Vietnamese syllables never end in "s": such words are English, and "leaks" should
    # find "leak". Only longer words, so "gas" stays "gas".
    if len(word) >= 5 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return Term(word[:-1], prefix=True)
    return Term(word)


def _sector_factor(snippet: Snippet, sector: str | None) -> float:
    if sector is None:
        return 1.0
    return (OWN_SECTOR_BOOST, 1.0, OTHER_SECTOR_FACTOR)[snippet.sector_order(sector)]
