"""Guidance in chat: the /tips menu, browsing the library, and free questions.

Any free text that is not an answer to an open form question (and not an invitation
code, which onboarding reads first) is taken as a question to the library. The best
three snippets come back with a button each and one for more; a question that finds
nothing gets suggestions instead of silence. Every question is recorded, so "more"
pages through the same results and the Department can see what the library lacks.

Button data (Telegram allows 64 bytes): "tips:tech", "tips:res", "tips:sectors",
"tips:ask", "tips:t:<technique>:<page>", "tips:r:<resource>:<page>",
"tips:s:<sector>:<page>", "tips:p:<page>", "tips:n:<snippet id>",
"tips:m:<question id>:<offset>".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.dispatcher import CommandHandler, Dispatcher, Turn, stale_message
from bot.formrun import FormRunner, profile_answers
from bot.geo import find_sector
from bot.i18n import N_
from bot.messages import Button
from bot.render import short_label
from bot.settings import Settings
from flows.textmatch import fold
from knowledge.library import RESOURCES, TECHNIQUES, Library, Snippet, load_library
from knowledge.search import GuidanceIndex, Hit

PREFIX = "tips"
BROWSE_PAGE = 6
RESULTS_PAGE = 3
QUESTION_LIMIT = 300
FIRST_LINE_LIMIT = 160
# Shown when a question finds nothing and the asker has no sector of their own.
STARTERS = ("housekeeping-checklist", "rapid-assessment", "sxsh-team-start")
# Thanks and plain acknowledgements get a short word back, not a search.
THANKS = frozenset(
    {"cam on", "cam on nhieu", "cam on ban", "thanks", "thank you", "tks", "ok", "oke", "vang"}
)
GREETINGS = frozenset({"xin chao", "chao", "chao ban", "hello", "hi", "alo"})
# The command the assessment module registers; offered under a snippet when present.
ADVISER_COMMAND = "adviser"


@dataclass(frozen=True)
class Guide:
    """The guidance library and its search index, as the bot uses them."""

    library: Library
    index: GuidanceIndex

    @classmethod
    def load(cls, settings: Settings) -> Guide:
        """The library of `SXSH_GUIDANCE_DIR`, or the built-in one; raises LibraryError."""
        library = load_library(settings.guidance_dir)
        return cls(library, GuidanceIndex(library))

    def snippets(self, ids: tuple[str, ...] | list[str]) -> list[Snippet]:
        return [snippet for snippet in map(self.library.get, ids) if snippet is not None]


def install(dispatcher: Dispatcher, runner: FormRunner, guide: Guide) -> None:
    @dispatcher.command("tips", N_("Practical guidance: browse or ask a question"))
    async def tips(turn: Turn, argument: str) -> None:
        if argument.strip():
            await answer_question(turn, guide, argument)
        else:
            await show_menu(turn)

    @dispatcher.callback(PREFIX)
    async def pressed(turn: Turn, rest: str) -> None:
        action, _, argument = rest.partition(":")
        handler = _ACTIONS.get(action)
        if handler is None or not await handler(turn, guide, argument):
            turn.reply(stale_message(turn))

    # A handler installed earlier for text nobody understood (e.g. a welcome for people
    # not linked yet) keeps the small talk of unlinked users; their questions are answered.
    understood_elsewhere = dispatcher.fallback_text

    async def free_text(turn: Turn, text: str) -> None:
        folded = fold(text).strip(" !.?")
        welcome = understood_elsewhere if turn.user.facility_id is None else None
        if folded in THANKS:
            turn.reply(
                turn.t(
                    "Glad to help. Type any question about saving energy, materials or "
                    "water, or send /tips."
                )
            )
        elif folded in GREETINGS and welcome is not None:
            await welcome(turn, text)
        elif folded in GREETINGS:
            turn.reply(
                turn.t(
                    "Hello! Type a question such as “giảm than lò hơi”, or send /tips to "
                    "browse the guidance and /help for everything else."
                )
            )
        else:
            await answer_question(turn, guide, text, nothing_found=welcome)

    dispatcher.fallback_text = free_text


# ---------------------------------------------------------------- menus


async def show_menu(turn: Turn) -> None:
    facility = await turn.facility()
    rows = [
        [Button(turn.t("By Cleaner Production technique"), f"{PREFIX}:tech")],
        [Button(turn.t("By what you want to save"), f"{PREFIX}:res")],
    ]
    if facility is not None:
        label = turn.t("For your sector: {sector}", sector=sector_name(turn, facility.sector_code))
        rows.append([Button(short_label(label), f"{PREFIX}:s:{facility.sector_code}:0")])
    else:
        rows.append([Button(turn.t("By sector"), f"{PREFIX}:sectors")])
    rows.append([Button(turn.t("Getting started with SXSH"), f"{PREFIX}:p:0")])
    rows.append([Button(turn.t("Ask a question"), f"{PREFIX}:ask")])
    turn.reply(
        turn.t(
            "Cleaner Production guidance. Choose how to browse, or simply type your "
            "question, with or without diacritics (for example “giam than lo hoi”)."
        ),
        rows,
        menu=True,
    )


async def _techniques(turn: Turn, guide: Guide, argument: str) -> bool:
    sector = await _sector_of(turn)
    heading = turn.t("The eight Cleaner Production techniques:")
    _topics(turn, heading, TECHNIQUES, "t", lambda key: guide.library.with_technique(key, sector))
    return True


async def _resources(turn: Turn, guide: Guide, argument: str) -> bool:
    sector = await _sector_of(turn)
    heading = turn.t("What do you want to save?")
    _topics(turn, heading, RESOURCES, "r", lambda key: guide.library.with_resource(key, sector))
    return True


def _topics(
    turn: Turn,
    heading: str,
    names: dict[str, str],
    action: str,
    snippets_of: Callable[[str], list[Snippet]],
) -> None:
    """One button per technique or resource, with how many guides it has."""
    rows = [
        [Button(f"{turn.t(name)} ({len(snippets_of(key))})", f"{PREFIX}:{action}:{key}:0")]
        for key, name in names.items()
    ]
    rows.append([_menu_button(turn)])
    turn.reply(heading, rows, menu=True)


async def _sectors(turn: Turn, guide: Guide, argument: str) -> bool:
    rows = [
        [Button(short_label(sector_name(turn, code)), f"{PREFIX}:s:{code}:0")]
        for code in guide.library.sectors_with_guidance()
    ]
    rows.append([_menu_button(turn)])
    turn.reply(turn.t("Guidance written for these sectors:"), rows, menu=True)
    return True


async def _ask(turn: Turn, guide: Guide, argument: str) -> bool:
    turn.reply(
        turn.t(
            "Type your question in a few words, for example “rò rỉ khí nén”, “nuoc thai bun” "
            "or “lo gach ton than”. Diacritics are optional."
        )
    )
    return True


# ---------------------------------------------------------------- browsing


async def _technique_page(turn: Turn, guide: Guide, argument: str) -> bool:
    return await _topic_page(turn, argument, TECHNIQUES, "t", guide.library.with_technique)


async def _resource_page(turn: Turn, guide: Guide, argument: str) -> bool:
    return await _topic_page(turn, argument, RESOURCES, "r", guide.library.with_resource)


async def _topic_page(
    turn: Turn,
    argument: str,
    names: dict[str, str],
    action: str,
    snippets_of: Callable[[str, str | None], list[Snippet]],
) -> bool:
    key, page = _key_and_page(argument)
    if key not in names or page is None:
        return False
    snippets = snippets_of(key, await _sector_of(turn))
    return _browse(turn, turn.t(names[key]), snippets, page, f"{PREFIX}:{action}:{key}")


async def _sector_page(turn: Turn, guide: Guide, argument: str) -> bool:
    code, page = _key_and_page(argument)
    if find_sector(code) is None or page is None:
        return False
    heading = turn.t("For {sector}", sector=sector_name(turn, code))
    return _browse(turn, heading, guide.library.for_sector(code), page, f"{PREFIX}:s:{code}")


async def _programme_page(turn: Turn, guide: Guide, argument: str) -> bool:
    page = _page(argument)
    if page is None:
        return False
    heading = turn.t("Getting started with SXSH")
    return _browse(turn, heading, guide.library.programme(), page, f"{PREFIX}:p")


def _browse(turn: Turn, heading: str, snippets: list[Snippet], page: int, base: str) -> bool:
    pages = max(1, -(-len(snippets) // BROWSE_PAGE))
    if page >= pages:
        return False
    shown = snippets[page * BROWSE_PAGE : (page + 1) * BROWSE_PAGE]
    text = turn.t(
        "{heading}: {count} guides (page {page} of {pages}). Choose one to read:",
        heading=heading,
        count=len(snippets),
        page=page + 1,
        pages=pages,
    )
    rows = [[_snippet_button(turn, snippet)] for snippet in shown]
    if page + 1 < pages:
        rows.append([Button(turn.t("More ▶"), f"{base}:{page + 1}")])
    rows.append([_menu_button(turn)])
    turn.reply(text, rows, menu=True)
    return True


async def _snippet(turn: Turn, guide: Guide, argument: str) -> bool:
    snippet = guide.library.get(argument)
    if snippet is None:
        return False
    show_snippet(turn, snippet)
    return True


def show_snippet(turn: Turn, snippet: Snippet) -> None:
    body, fell_back = snippet.body(turn.lang)
    lines = [f"📘 {snippet.title.text(turn.lang)}"]
    if fell_back:
        lines.append(
            turn.t("(This guide is not written in English yet; here it is in Vietnamese.)")
        )
    lines += ["", body, "", "💡 " + snippet.saving.text(turn.lang)]
    controls = [_menu_button(turn)]
    if turn.user.facility_id is not None and ADVISER_COMMAND in turn.dispatcher.commands:
        controls.append(
            Button(
                turn.t("Ask an adviser to call me"),
                f"cmd:{ADVISER_COMMAND}",
                numbered=False,
                typed=f"/{ADVISER_COMMAND}",
            )
        )
    turn.reply("\n".join(lines), [controls])


# ---------------------------------------------------------------- questions


async def answer_question(
    turn: Turn, guide: Guide, question: str, nothing_found: CommandHandler | None = None
) -> None:
    """The best three guides; when none is found, suggestions (or `nothing_found`)."""
    question = " ".join(question.split())[:QUESTION_LIMIT]
    sector = await _sector_of(turn)
    hits = guide.index.search(question, sector)
    question_id = await turn.store.guidance.record(
        turn.user.id, question, sector, len(hits), turn.now
    )
    if hits:
        _results(turn, question, hits, question_id, 0)
    elif nothing_found is not None:
        await nothing_found(turn, question)
    else:
        await _suggestions(turn, guide, question, sector)


async def _more(turn: Turn, guide: Guide, argument: str) -> bool:
    question_id, _, offset_text = argument.partition(":")
    if not (question_id.isdigit() and offset_text.isdigit()):
        return False
    asked = await turn.store.guidance.by_id(int(question_id))
    if asked is None or asked.user_id != turn.user.id:
        return False
    hits = guide.index.search(asked.question, asked.sector_code)
    offset = int(offset_text)
    if not 0 < offset < len(hits):
        return False
    _results(turn, asked.question, hits, asked.id, offset)
    return True


def _results(turn: Turn, question: str, hits: list[Hit], question_id: int, offset: int) -> None:
    shown = hits[offset : offset + RESULTS_PAGE]
    if offset == 0:
        heading = turn.t("The best guidance for “{question}”:", question=question)
    else:
        heading = turn.t(
            "More for “{question}” ({first}–{last} of {count}):",
            question=question,
            first=offset + 1,
            last=offset + len(shown),
            count=len(hits),
        )
    lines = [heading]
    for number, hit in enumerate(shown, start=1):
        first_line = hit.snippet.first_line(turn.lang)
        if len(first_line) > FIRST_LINE_LIMIT:
            first_line = first_line[: FIRST_LINE_LIMIT - 1] + "…"
        lines += ["", f"{number}. {hit.snippet.title.text(turn.lang)}", f"   {first_line}"]
    rows = [[_snippet_button(turn, hit.snippet)] for hit in shown]
    if offset + RESULTS_PAGE < len(hits):
        rows.append(
            [Button(turn.t("More results ▶"), f"{PREFIX}:m:{question_id}:{offset + RESULTS_PAGE}")]
        )
    rows.append([_menu_button(turn)])
    turn.reply("\n".join(lines), rows, menu=True)


async def _suggestions(turn: Turn, guide: Guide, question: str, sector: str | None) -> None:
    library = guide.library
    about = await facility_words(turn)
    suggested = library.suited(library.specific_to(sector), sector, about)[:3] if sector else []
    suggested = suggested or guide.snippets(STARTERS)
    text = turn.t(
        "I found no guidance for “{question}”. Try fewer or other words, for example "
        "“khí nén”, “lò hơi”, “nước thải” or “tiết kiệm điện”, or start from one of these:",
        question=question,
    )
    rows = [[_snippet_button(turn, snippet)] for snippet in suggested]
    rows.append([Button(turn.t("By Cleaner Production technique"), f"{PREFIX}:tech")])
    rows.append([Button(turn.t("By what you want to save"), f"{PREFIX}:res")])
    turn.reply(text, rows, menu=True)


# ---------------------------------------------------------------- helpers


def sector_name(turn: Turn, code: str) -> str:
    sector = find_sector(code)
    if sector is None:
        return code
    return sector.name_en if turn.lang == "en" else sector.name_vi


async def facility_words(turn: Turn) -> str:
    """The facility's name and main product: what tells its trade within a sector."""
    facility = await turn.facility()
    if facility is None:
        return ""
    product = (await profile_answers(turn)).get("main_product")
    return f"{facility.name} {product if isinstance(product, str) else ''}".strip()


async def _sector_of(turn: Turn) -> str | None:
    facility = await turn.facility()
    return facility.sector_code if facility else None


def _snippet_button(turn: Turn, snippet: Snippet) -> Button:
    return Button(short_label(snippet.title.text(turn.lang)), f"{PREFIX}:n:{snippet.id}")


def _menu_button(turn: Turn) -> Button:
    return Button(turn.t("☰ Guidance menu"), "cmd:tips", numbered=False, typed="/tips")


def _page(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 4 else None


def _key_and_page(argument: str) -> tuple[str, int | None]:
    key, _, page = argument.partition(":")
    return key, _page(page)


_Action = Callable[[Turn, Guide, str], Awaitable[bool]]
_ACTIONS: dict[str, _Action] = {
    "tech": _techniques,
    "res": _resources,
    "sectors": _sectors,
    "ask": _ask,
    "t": _technique_page,
    "r": _resource_page,
    "s": _sector_page,
    "p": _programme_page,
    "n": _snippet,
    "m": _more,
}
