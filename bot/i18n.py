"""Translations for every string the bot shows, from the gettext catalogs in `locales/`.

Message ids are the English text, marked in code as `tr(lang, "...")` (or `N_("...")`
where the text is chosen before the language is known). Catalogs are `.po` files read
with babel when the bot starts; several domains (`bot.po`, `report.po`, …) per language
are merged, so each module keeps its own catalog. Vietnamese is the default language.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.pofile import read_po

LANGUAGES = ("vi", "en")
DEFAULT_LANGUAGE = "vi"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"


def N_(msgid: str) -> str:
    """Marks a msgid for extraction without translating it yet."""
    return msgid


@cache
def catalog(lang: str) -> dict[str, str]:
    """msgid -> translation for one language, all domains merged."""
    messages: dict[str, str] = {}
    folder = LOCALES_DIR / lang / "LC_MESSAGES"
    for path in sorted(folder.glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=lang):
                text = message.string
                if message.id and isinstance(message.id, str) and isinstance(text, str) and text:
                    messages[message.id] = text
    return messages


def normalize_language(lang: str | None) -> str:
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def tr(lang: str, msgid: str, /, **params: object) -> str:
    """The message in `lang`, with `{name}` placeholders filled.

    A message missing from the catalog falls back to the Vietnamese text and then to the
    msgid itself, so a user never sees nothing; the catalog test keeps that from
    happening in a release.
    """
    text = catalog(normalize_language(lang)).get(msgid) or catalog(DEFAULT_LANGUAGE).get(msgid)
    template = text or msgid
    if not params:
        return template
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return msgid.format(**params)
