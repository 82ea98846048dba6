"""Accent-insensitive text folding for Vietnamese input.

``fold`` is the one normalisation used wherever the bot compares what a person
typed with a known string (commune names, register headers, menu choices,
search); it lives in the pure `flows` package so the engine can use it too.
People type Vietnamese with or without diacritics, with ``d`` for
``đ``, in any case and with stray spaces.
"""

from __future__ import annotations

import unicodedata

__all__ = ["fold"]

# NFD decomposes every Vietnamese vowel with its marks into a base letter plus
# combining marks; only đ/Đ (a letter of its own, not d + mark) needs mapping.
_EXTRA = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """Lower-case ``text``, drop diacritics, map đ to d and collapse whitespace.

    >>> fold("  Xã  THẤT Khê ")
    'xa that khe'
    >>> fold("Đông Kinh")
    'dong kinh'
    """
    decomposed = unicodedata.normalize("NFD", text.casefold().translate(_EXTRA))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.split())
