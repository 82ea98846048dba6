"""Complete passes through the built-in forms, for end-to-end tests on every channel.

Each script is what a manager types on Zalo (and taps on Telegram) from the first
question to the summary, and what must be stored. A new form adds its script to FORMS
and every channel's end-to-end test runs it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from bot.settings import Settings


@dataclass(frozen=True)
class FormScript:
    """One complete pass through a form: what a manager types on Zalo (and taps on
    Telegram), and what must be stored. The yearly report (issue #3) adds its own."""

    form_id: str
    command: str
    # (typed on Zalo, button tapped on Telegram or None to type the same there)
    answers: tuple[tuple[str, str | None], ...]
    stored: dict[str, str]
    thanks: str


PROFILE = FormScript(
    form_id="facility_profile",
    command="/profile",
    answers=(
        ("Hoàng Thị Mai", None),
        ("Phó giám đốc", None),
        ("0912 345 678", None),
        ("bánh phở tươi", None),
        ("nghin vien", "nghìn viên"),  # a choice typed without diacritics
        ("-", "Bỏ qua"),
    ),
    stored={
        "contact_name": '"Hoàng Thị Mai"',
        "contact_role": '"Phó giám đốc"',
        "contact_phone": '"0912 345 678"',
        "main_product": '"bánh phở tươi"',
        "product_unit": '"thousand_bricks"',
        "employees": "null",
    },
    thanks="thông tin cơ sở đã được lưu",
)
FORMS = [PROFILE]


def stored_answers(settings: Settings, form_id: str, facility: str = "DEMO01") -> dict[str, str]:
    with sqlite3.connect(settings.db_path) as connection:
        rows = connection.execute(
            "SELECT a.name, a.value FROM draft_answers a JOIN drafts d ON d.id = a.draft_id"
            " JOIN facilities f ON f.id = d.facility_id WHERE d.form_id = ? AND f.code = ?",
            (form_id, facility),
        ).fetchall()
    return dict(rows)
