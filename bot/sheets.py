"""The Department's export: which sheets, which columns, which rows, for which filter.

`bot.export` writes any tables; this module decides what the Department's file holds.
Each sheet is a `SheetSpec` in `SHEETS` (a key for `--sheet`, its names, and a builder
that reads rows from one `SnapshotReader`), so a new sheet — the yearly reports, the
measures applied, the indicators, the revisions, the self-assessments — is one more
builder appended to the list; the writers, the filters, the access checks, the audit and
the benchmark need no change.

Any form becomes columns the same way (`form_columns` / `form_cells`): one typed column
per question, headed by the question's Vietnamese label, the stored answer decoded by
the question's type (choices as their Vietnamese labels, numbers as numbers).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from bot.access import commune_name
from bot.clock import VIETNAM, local
from bot.export import (
    Column,
    ColumnType,
    ExportDocument,
    Progress,
    Sheet,
    write_atomically,
    write_csv,
    write_csv_zip,
    write_xlsx,
)
from bot.formrun import PROFILE_FORM
from bot.geo import find_sector, sectors
from bot.i18n import tr
from bot.indicators import DEFINITIONS
from bot.storage.snapshot import FacilityFacts, FacilityFilter, SnapshotReader, read_snapshot
from flows.engine import decode_answers, effective_answers
from flows.model import Form, FormRegistry, Question
from flows.textmatch import fold

ANNUAL_REPORT_FORM = "annual_report"
ExportFormat = Literal["xlsx", "csv"]
FORMATS: tuple[ExportFormat, ...] = ("xlsx", "csv")

SIZE_NAMES = {"micro": "siêu nhỏ", "small": "nhỏ", "medium": "vừa", "large": "lớn"}
_COLUMN_TYPES = {
    "integer": ColumnType.INTEGER,
    "year": ColumnType.INTEGER,
    "decimal": ColumnType.DECIMAL,
    "calculate": ColumnType.DECIMAL,
    "percent": ColumnType.PERCENT,
    "money": ColumnType.MONEY,
}
# Placeholders in question labels, said generically in a column header.
_HEADER_PLACEHOLDERS = {"product_unit": "đơn vị sản phẩm", "current_year": "năm báo cáo"}
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


@dataclass(frozen=True)
class ExportRequest:
    """What to export; `scope` is already narrowed to what the caller may see."""

    year: int
    scope: FacilityFilter
    fmt: ExportFormat = "xlsx"
    sheet: str | None = None  # a SheetSpec key; None for every sheet

    def audit_filter(self) -> dict[str, object]:
        return {
            "year": self.year,
            "commune": self.scope.commune_code,
            "sector": self.scope.sector_code,
            "facility": self.scope.facility_id,
            "sheet": self.sheet,
            "format": self.fmt,
        }

    def file_name(self, now: datetime, zone: ZoneInfo = VIETNAM) -> str:
        """sxsh-2026-tam-thanh-20261201-0900.xlsx — ASCII, so every system can save it."""
        parts = ["sxsh", str(self.year)]
        if self.scope.commune_code:
            parts.append(fold(commune_name(self.scope.commune_code)).replace(" ", "-"))
        if self.scope.sector_code:
            parts.append(self.scope.sector_code.lower())
        if self.sheet:
            parts.append(self.sheet.replace("_", "-"))
        parts.append(local(now, zone).strftime("%Y%m%d-%H%M"))
        single = self.sheet is not None or self.fmt == "xlsx"
        extension = self.fmt if single else "zip"
        return "-".join(parts) + "." + extension


@dataclass(frozen=True)
class SheetContext:
    reader: SnapshotReader
    scope: FacilityFilter
    year: int
    forms: FormRegistry

    @property
    def report_period(self) -> tuple[str, str]:
        return ANNUAL_REPORT_FORM, str(self.year)

    def profile(self) -> Form | None:
        return self.forms.get(PROFILE_FORM) if PROFILE_FORM in self.forms else None


@dataclass(frozen=True)
class SheetSpec:
    key: str
    name: str  # Vietnamese; "{year}" is filled in
    build: Callable[[SheetContext], Sheet]

    def matches(self, text: str) -> bool:
        wanted = fold(text).replace("-", " ").replace("_", " ")
        return wanted in {self.key.replace("_", " "), fold(self.name.replace("{year}", "")).strip()}


# ---------------------------------------------------------------- forms as columns


def column_header(question: Question) -> str:
    if question.column is not None:
        return question.column.vi
    text = _PLACEHOLDER.sub(
        lambda match: _HEADER_PLACEHOLDERS.get(match.group(1), "…"), question.label.vi
    )
    return text.strip().rstrip("?:").strip()


def form_columns(form: Form) -> list[Column]:
    """One typed column per question that holds an answer (notes hold none)."""
    return [
        Column(
            column_header(question),
            _COLUMN_TYPES.get(question.type, ColumnType.TEXT),
            name=question.name,
        )
        for question in _answered_questions(form)
    ]


def form_cells(
    form: Form, stored: dict[str, object], context: dict[str, object] | None = None
) -> list[object]:
    """The cells of `form_columns` for one draft's stored answers: relevant answers only,
    calculations fresh, choices as their Vietnamese labels."""
    if not stored:
        return [None] * len(_answered_questions(form))
    names: dict[str, object] = dict.fromkeys(form.context)
    names.update(context or {})
    values = effective_answers(form, decode_answers(form, stored), names)
    cells: list[object] = []
    for question in _answered_questions(form):
        value = values.get(question.name)
        if value is None:
            cells.append(None)
        elif isinstance(value, bool | str | list) and (
            question.kind.needs_choices or isinstance(value, bool)
        ):
            cells.append(question.kind.show(value, form.choices_of(question), "vi", 6))
        else:
            cells.append(value)
    return cells


def _answered_questions(form: Form) -> list[Question]:
    return [question for question in form.questions if question.type != "note"]


# ---------------------------------------------------------------- the register


_REGISTER_COLUMNS = [
    Column("Mã cơ sở", note="mã trong danh sách cơ sở của Sở"),
    Column("Tên cơ sở"),
    Column("Mã số thuế"),
    Column("Mã xã/phường", note="mã đơn vị hành chính cấp xã (từ 01/7/2025)"),
    Column("Xã/phường"),
    Column("Huyện cũ (trước 01/7/2025)", note="để so sánh với số liệu 2016–2025"),
    Column("Mã ngành (VSIC)", note="cấp 2 của Hệ thống ngành kinh tế Việt Nam"),
    Column("Ngành"),
    Column("Quy mô", note="siêu nhỏ, nhỏ, vừa, lớn"),
    Column("Địa chỉ"),
    Column("Điện thoại (theo danh sách)"),
]


@cache
def _sector_names() -> dict[str, str]:
    return {sector.code: sector.name_vi for sector in sectors()}


def _register_cells(facts: FacilityFacts) -> list[object]:
    facility = facts.facility
    return [
        facility.code,
        facility.name,
        facility.tax_code,
        facility.commune_code,
        commune_name(facility.commune_code),
        facility.former_district,
        facility.sector_code,
        _sector_names().get(facility.sector_code),
        SIZE_NAMES.get(facility.size_class, facility.size_class),
        facility.address,
        facility.phone,
    ]


def _report_state(facts: FacilityFacts) -> str:
    if facts.status is None:
        return "Chưa mở biểu mẫu"
    return "Đã gửi" if facts.status.status == "submitted" else "Đang soạn, chưa gửi"


def facilities_sheet(context: SheetContext) -> Sheet:
    profile = context.profile()
    profile_columns = form_columns(profile) if profile else []
    year = context.year
    columns = [
        *_REGISTER_COLUMNS,
        *profile_columns,
        Column(
            "Số tài khoản chat đã liên kết",
            ColumnType.INTEGER,
            note="tài khoản Telegram/Zalo đã dùng mã mời của cơ sở",
        ),
        Column(
            f"Báo cáo năm {year}",
            note="Đã gửi / Đang soạn, chưa gửi / Chưa mở biểu mẫu",
        ),
        Column(
            f"Báo cáo năm {year}: cập nhật lần cuối",
            ColumnType.DATETIME,
            note="lần lưu gần nhất của báo cáo năm, giờ Việt Nam",
        ),
    ]

    def rows() -> Iterator[Sequence[object]]:
        for facts in context.reader.facilities(
            context.scope,
            status_of=context.report_period,
            answers_of=(PROFILE_FORM, "once") if profile else None,
        ):
            answers = (
                form_cells(profile, facts.answers, {"facility_name": facts.facility.name})
                if profile
                else []
            )
            yield [
                *_register_cells(facts),
                *answers,
                facts.linked_accounts,
                _report_state(facts),
                facts.status.updated_at if facts.status else None,
            ]

    return Sheet(
        key="facilities",
        name="Cơ sở",
        description=(
            "Danh sách cơ sở với xã/phường, huyện cũ, ngành, quy mô, thông tin liên hệ "
            f"do cơ sở khai và tình trạng báo cáo năm {year}"
        ),
        columns=columns,
        rows=rows(),
        total=context.reader.count_facilities(context.scope),
    )


def not_reported_sheet(context: SheetContext) -> Sheet:
    year = context.year
    profile = context.profile() is not None
    columns = [
        Column("Mã cơ sở"),
        Column("Tên cơ sở"),
        Column("Xã/phường"),
        Column("Huyện cũ (trước 01/7/2025)"),
        Column("Mã ngành (VSIC)"),
        Column("Quy mô"),
        Column("Người phụ trách SXSH", note="do cơ sở khai trong thông tin cơ sở"),
        Column("Điện thoại liên hệ", note="do cơ sở khai; nếu chưa khai thì theo danh sách"),
        Column("Số tài khoản chat đã liên kết", ColumnType.INTEGER),
        Column(
            "Tình trạng",
            note="chưa có tài khoản liên kết (cần gửi mã mời) / chưa mở biểu mẫu / đang soạn",
        ),
        Column(
            "Hoạt động gần nhất",
            ColumnType.DATETIME,
            note="lần lưu gần nhất của báo cáo năm đang soạn, giờ Việt Nam",
        ),
    ]

    def state(facts: FacilityFacts) -> str:
        if facts.linked_accounts == 0 and facts.status is None:
            return "Chưa có tài khoản chat liên kết (cần gửi mã mời)"
        return _report_state(facts)

    def rows() -> Iterator[Sequence[object]]:
        for facts in context.reader.facilities(
            context.scope,
            status_of=context.report_period,
            answers_of=(PROFILE_FORM, "once") if profile else None,
            only_unsubmitted=True,
        ):
            facility = facts.facility
            contact_phone = facts.answers.get("contact_phone") or facility.phone
            yield [
                facility.code,
                facility.name,
                commune_name(facility.commune_code),
                facility.former_district,
                facility.sector_code,
                SIZE_NAMES.get(facility.size_class, facility.size_class),
                facts.answers.get("contact_name"),
                contact_phone,
                facts.linked_accounts,
                state(facts),
                facts.status.updated_at if facts.status else None,
            ]

    return Sheet(
        key="not_reported",
        name=f"Chưa báo cáo {year}",
        description=f"Cơ sở chưa gửi báo cáo năm {year} (hạn: trước ngày 15/12/{year})",
        columns=columns,
        rows=rows(),
        total=context.reader.count_facilities(
            context.scope, status_of=context.report_period, only_unsubmitted=True
        ),
    )


SHEETS: list[SheetSpec] = [
    SheetSpec("facilities", "Cơ sở", facilities_sheet),
    SheetSpec("not_reported", "Chưa báo cáo {year}", not_reported_sheet),
]


@cache
def sheet_specs() -> tuple[SheetSpec, ...]:
    """Every sheet of the Department's file, in the order of the workbook."""
    # The report sheets build on this module's helpers, so they are imported late.
    from bot.report_sheets import REPORT_SHEETS

    register = {spec.key: spec for spec in SHEETS}
    return (
        REPORT_SHEETS["reports"],
        REPORT_SHEETS["measures"],
        REPORT_SHEETS["indicators"],
        register["not_reported"],
        REPORT_SHEETS["revisions"],
        REPORT_SHEETS["self_assessments"],
        register["facilities"],
    )


def find_sheet(text: str) -> SheetSpec | None:
    return next((spec for spec in sheet_specs() if spec.matches(text)), None)


def definitions(year: int) -> list[tuple[str, str]]:
    return [
        ("Hạn nộp", f"trước ngày 15/12/{year} (ngày cuối cùng là 14/12/{year})"),
        (
            "Xã/phường",
            "đơn vị hành chính cấp xã từ 01/7/2025 (Lạng Sơn có 65: 61 xã, 4 phường)",
        ),
        ("Huyện cũ", "đơn vị cấp huyện trước 01/7/2025 mà phần lớn xã/phường thuộc về"),
        ("Thời gian", "mọi ngày giờ là giờ Việt Nam (UTC+7)"),
        *((tr("vi", term), tr("vi", text)) for term, text in DEFINITIONS),
    ]


def describe_scope(scope: FacilityFilter) -> list[tuple[str, str]]:
    sector = find_sector(scope.sector_code) if scope.sector_code else None
    return [
        ("Xã/phường", commune_name(scope.commune_code) if scope.commune_code else "Toàn tỉnh"),
        ("Ngành", f"{sector.code} — {sector.name_vi}" if sector else "Tất cả"),
    ]


def build_document(
    reader: SnapshotReader,
    request: ExportRequest,
    forms: FormRegistry,
    now: datetime,
    exported_by: str,
) -> ExportDocument:
    context = SheetContext(reader, request.scope, request.year, forms)
    specs = [spec for spec in sheet_specs() if request.sheet in (None, spec.key)]
    return ExportDocument(
        title="Dữ liệu Sản xuất sạch hơn (SXSH) — Sở Công Thương tỉnh Lạng Sơn",
        created_at=now,
        facts=[
            ("Người xuất", exported_by),
            ("Năm báo cáo", str(request.year)),
            *describe_scope(request.scope),
        ],
        sheets=[spec.build(context) for spec in specs],
        definitions=definitions(request.year),
    )


def run_export(
    database_path: Path,
    request: ExportRequest,
    forms: FormRegistry,
    out: Path,
    now: datetime,
    exported_by: str,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Write the export to `out` from one read-only snapshot; returns rows per sheet.

    Synchronous on purpose: the chat runs it in a worker thread, so the bot keeps
    answering while a large file is written.
    """
    with read_snapshot(database_path) as reader:
        document = build_document(reader, request, forms, now, exported_by)
        if request.fmt == "xlsx":
            counts: dict[str, int] = write_atomically(
                out, lambda path: write_xlsx(document, path, progress)
            )
            return counts
        if request.sheet is not None:
            [sheet] = document.sheets
            rows: int = write_atomically(
                out, lambda path: write_csv(sheet, path, document.zone, progress)
            )
            return {sheet.key: rows}
        zipped: dict[str, int] = write_atomically(
            out, lambda path: write_csv_zip(document, path, progress)
        )
        return zipped
