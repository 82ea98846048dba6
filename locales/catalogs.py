"""Keep the gettext catalogs in step with the code.

    python -m locales.catalogs check            # every msgid in vi and en, none empty
    python -m locales.catalogs update DOMAIN    # add new msgids to locales/*/DOMAIN.po

`update` writes English msgstr equal to the msgid and leaves Vietnamese empty for a
translator; `check` (also run by the test suite) fails until it is filled in.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("bot", "flows", "knowledge")
KEYWORDS = {"tr": (2,), "t": None, "N_": None}
LANGUAGES = ("vi", "en")
_FIELD = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def extracted() -> dict[str, str]:
    """msgid -> 'file:line' of its first use in the code."""
    found: dict[str, str] = {}
    for source in SOURCES:
        folder = ROOT / source
        method_map = [("**.py", "python")]
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(folder), method_map=method_map, keywords=KEYWORDS
        ):
            if isinstance(message, str) and message not in found:
                found[message] = f"{source}/{filename}:{lineno}"
    return found


def catalog_entries(lang: str) -> Iterator[tuple[Path, str, str]]:
    for path in sorted((ROOT / "locales" / lang / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale=lang):
                if message.id and isinstance(message.id, str):
                    yield (
                        path,
                        message.id,
                        message.string if isinstance(message.string, str) else "",
                    )


def problems() -> list[str]:
    found = extracted()
    result: list[str] = []
    for lang in LANGUAGES:
        entries: dict[str, tuple[Path, str]] = {}
        for path, msgid, text in catalog_entries(lang):
            if msgid in entries:
                # Domains are merged at run time: a second copy would silently win or lose.
                result.append(
                    f"{lang}: {msgid!r} is in both {entries[msgid][0].name} and {path.name}"
                )
            entries[msgid] = (path, text)
        for msgid, where in sorted(found.items()):
            entry = entries.get(msgid)
            if entry is None:
                result.append(f"{lang}: missing {msgid!r} (used at {where})")
            elif not entry[1].strip():
                result.append(f"{lang}: empty translation of {msgid!r} in {entry[0].name}")
            elif set(_FIELD.findall(entry[1])) != set(_FIELD.findall(msgid)):
                result.append(f"{lang}: placeholders differ for {msgid!r} in {entry[0].name}")
    return result


def update(domain: str) -> int:
    found = extracted()
    added = 0
    for lang in LANGUAGES:
        known = {msgid for _path, msgid, _text in catalog_entries(lang)}
        path = ROOT / "locales" / lang / "LC_MESSAGES" / f"{domain}.po"
        catalog = Catalog(locale=lang, project="sxsh-bot", domain=domain)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=lang)
        for msgid, where in sorted(found.items()):
            if msgid not in known:
                catalog.add(msgid, msgid if lang == "en" else "", locations=[(where, 0)])
                added += 1
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as handle:
            write_po(handle, catalog, width=100, omit_header=False, include_lineno=False)
    return added


def main(argv: list[str]) -> int:
    if argv[:1] == ["check"]:
        found = problems()
        for line in found:
            print(line)
        print(f"{len(found)} problems")
        return 1 if found else 0
    if len(argv) == 2 and argv[0] == "update":
        print(f"added {update(argv[1])} entries")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
