"""Complete passes through the built-in forms, for end-to-end tests on every channel.

Each script is what a manager types on Zalo (and taps on Telegram) from the first
question to the summary, and what must be stored. A new form adds its script to FORMS
and every channel's end-to-end test runs it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from bot.settings import Settings
from tests.support.report_script import FULL_REPORT


@dataclass(frozen=True)
class FormScript:
    """One complete pass through a form: what a manager types on Zalo (and taps on
    Telegram), and what its draft must hold once submitted."""

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
# The yearly report (flows/forms/annual_report.yaml) as tests/support/report_script.py
# types it, answer for answer the same on both channels.
REPORT = FormScript(
    form_id="annual_report",
    command=FULL_REPORT[0],
    answers=tuple((typed, None) for typed in FULL_REPORT[1:]),
    stored={
        "mgmt_aware": "true",
        "aware_how": '["training", "adviser_visit"]',
        "staff_trained": "12",
        "applied": "true",
        "techniques": '["good_housekeeping", "equipment_modification"]',
        "measure_good_housekeeping": '"Sửa rò rỉ hơi, tắt máy khi không sản xuất"',
        "measure_equipment_modification": '"Thay nồi hấp bằng nồi có bảo ôn"',
        "product_name": '"bánh phở tươi"',
        "output_unit": '"tấn"',
        "output": '"1250.5"',
        "resources": '["electricity", "fuel", "water", "material"]',
        "baseline_year": "2024",
        "elec_base": '"125.5"',
        "elec_now": '"100.4"',
        "elec_saving": '"20"',
        "elec_saving__confirmed": '"20"',
        "fuel_type": '"coal"',
        "fuel_unit": '"tonne"',
        "fuel_base": '"0.35"',
        "fuel_now": '"0.28"',
        "fuel_saving": '"20"',
        "fuel_saving__confirmed": '"20"',
        "water_base": '"12.5"',
        "water_now": '"10"',
        "water_saving": '"20"',
        "water_saving__confirmed": '"20"',
        "material_name": '"gạo"',
        "material_unit": '"tonne"',
        "material_base": '"1.02"',
        "material_now": '"0.98"',
        "material_saving": '"3.92"',
        "material_saving__confirmed": '"3.92"',
        "investment": "150000000",
        "yearly_savings": "100000000",
        "payback_years": '"1.5"',
        "payback_years__confirmed": '"1.5"',
        "sxsh_unit": "true",
        "sxsh_unit_people": "2",
        "remarks": '"Đề nghị Sở tổ chức thêm lớp tập huấn"',
        "reporter_name": '"Hoàng Thị Mai"',
        "reporter_phone": '"0912 345 678"',
    },
    thanks="Đã nhận báo cáo năm 2026",
)
FORMS = [PROFILE, REPORT]


def stored_answers(settings: Settings, form_id: str, facility: str = "DEMO01") -> dict[str, str]:
    with sqlite3.connect(settings.db_path) as connection:
        rows = connection.execute(
            "SELECT a.name, a.value FROM draft_answers a JOIN drafts d ON d.id = a.draft_id"
            " JOIN facilities f ON f.id = d.facility_id WHERE d.form_id = ? AND f.code = ?",
            (form_id, facility),
        ).fetchall()
    return dict(rows)
