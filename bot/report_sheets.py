"""The export's sheets about the yearly reports and self-assessments: Reports (each
facility's latest revision, every answer in its own typed column), Measures, Indicators,
Revisions (the full history) and Self-assessments.

Each is a `SheetSpec` builder reading one `SnapshotReader`; `bot.sheets` lists them in
`sheet_specs()`, so `/export`, `sxsh-bot export` and `--sheet` get them all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from bot.access import commune_name
from bot.clock import VIETNAM
from bot.export import Column, ColumnType, Sheet
from bot.geo import find_sector
from bot.i18n import tr
from bot.indicators import (
    APPLYING_TARGET,
    AWARE_TARGET,
    RESOURCE_LABELS,
    RESOURCES,
    SAVING_TARGET,
    UNIT_TARGET,
    Breakdown,
    Indicators,
    compute,
    target_text,
)
from bot.sheets import (
    ANNUAL_REPORT_FORM,
    SIZE_NAMES,
    SheetContext,
    SheetSpec,
    form_cells,
    form_columns,
)
from bot.storage.facilities import Facility
from bot.storage.snapshot import FacilityFilter
from flows.model import Form
from knowledge.library import TECHNIQUES

ASSESSMENT_FORM = "self_assessment"

_WHO = [
    Column("Mã cơ sở"),
    Column("Tên cơ sở"),
    Column("Xã/phường"),
    Column("Mã ngành (VSIC)"),
    Column("Quy mô", note="theo danh sách cơ sở: siêu nhỏ, nhỏ, vừa, lớn"),
]


def _who(facility: Facility) -> list[object]:
    return [
        facility.code,
        facility.name,
        commune_name(facility.commune_code),
        facility.sector_code,
        SIZE_NAMES.get(facility.size_class, facility.size_class),
    ]


def _yes_no(flag: bool) -> str:
    return "Có" if flag else "Không"


# ---------------------------------------------------------------- reports and revisions


def _report_form(context: SheetContext) -> Form | None:
    forms = context.forms
    return forms.get(ANNUAL_REPORT_FORM) if ANNUAL_REPORT_FORM in forms else None


def _report_sheet(context: SheetContext, *, latest_only: bool) -> Sheet:
    year = context.year
    form = _report_form(context)
    answer_columns = form_columns(form) if form else []
    history = [] if latest_only else [Column("Là bản mới nhất", note="Có / Không")]
    columns = [
        *_WHO,
        Column("Số biên nhận", note="biên nhận của phiên bản này: LS-năm-số thứ tự"),
        Column(
            "Phiên bản",
            ColumnType.INTEGER,
            note="1 là lần gửi đầu tiên; mỗi lần sửa sau khi gửi là một phiên bản mới",
        ),
        *history,
        Column("Phiên bản này gửi lúc", ColumnType.DATETIME, note="giờ Việt Nam"),
        Column("Người gửi (tài khoản chat)", note="tên hiển thị trên Telegram/Zalo"),
        Column(
            "Gửi lần đầu lúc",
            ColumnType.DATETIME,
            note="thời điểm cơ sở gửi phiên bản 1, giờ Việt Nam",
        ),
        Column(
            "Nộp muộn",
            note=f"Có nếu phiên bản 1 đến từ 00:00 ngày 15/12/{year} (giờ Việt Nam) trở đi",
        ),
        Column("Phiên bản biểu mẫu", ColumnType.INTEGER),
        *answer_columns,
    ]
    names: dict[str, object] = {"report_year": year, "previous_year": year - 1}

    def rows() -> Iterator[Sequence[object]]:
        for report in context.reader.reports(context.scope, year, latest_only=latest_only):
            latest = [] if latest_only else [_yes_no(report.revision == report.latest_revision)]
            yield [
                *_who(report.facility),
                report.receipt,
                report.revision,
                *latest,
                report.submitted_at,
                report.submitted_by,
                report.first_submitted_at,
                _yes_no(report.first_late),
                report.form_version,
                *(form_cells(form, report.answers, names) if form else []),
            ]

    if latest_only:
        key, name = "reports", f"Báo cáo {year}"
        description = (
            f"Báo cáo kết quả áp dụng SXSH năm {year}: mỗi cơ sở đã gửi một dòng, là phiên "
            "bản mới nhất; mỗi câu trả lời một cột"
        )
    else:
        key, name = "revisions", f"Các phiên bản {year}"
        description = (
            f"Toàn bộ lịch sử báo cáo năm {year}: mỗi lần gửi (kể cả các lần sửa) một dòng"
        )
    return Sheet(
        key=key,
        name=name,
        description=description,
        columns=columns,
        rows=rows(),
        total=context.reader.count_reports(context.scope, year, latest_only=latest_only),
    )


def reports_sheet(context: SheetContext) -> Sheet:
    return _report_sheet(context, latest_only=True)


def revisions_sheet(context: SheetContext) -> Sheet:
    return _report_sheet(context, latest_only=False)


# ---------------------------------------------------------------- measures


def _technique_names(form: Form) -> dict[str, str]:
    question = form.by_name.get("techniques")
    if question is None:
        return {}
    return {choice.value: choice.label.vi for choice in form.choices_of(question)}


def measures_sheet(context: SheetContext) -> Sheet:
    year = context.year
    form = _report_form(context)
    names = _technique_names(form) if form else {}
    columns = [
        *_WHO,
        Column("Số biên nhận"),
        Column("Phiên bản", ColumnType.INTEGER),
        Column("Nhóm giải pháp SXSH", note="một trong 8 kỹ thuật SXSH (UNEP/UNIDO)"),
        Column("Đã làm gì", note="lời của cơ sở"),
    ]

    def rows() -> Iterator[Sequence[object]]:
        for measure in context.reader.measures(context.scope, year):
            yield [
                *_who(measure.facility),
                measure.receipt,
                measure.revision,
                names.get(measure.technique, measure.technique),
                measure.description,
            ]

    return Sheet(
        key="measures",
        name=f"Giải pháp {year}",
        description=(
            f"Các giải pháp SXSH đã áp dụng năm {year}: mỗi giải pháp của mỗi cơ sở một dòng "
            "(theo phiên bản báo cáo mới nhất)"
        ),
        columns=columns,
        rows=rows(),
        total=context.reader.count_measures(context.scope, year),
    )


# ---------------------------------------------------------------- indicators


def indicator_columns() -> list[Column]:
    saving_range = target_text(*SAVING_TARGET)
    return [
        Column("Cấp", note="Phạm vi xuất / Xã/phường / Ngành"),
        Column("Mã"),
        Column("Tên"),
        Column("Cơ sở trong danh sách", ColumnType.INTEGER),
        Column("Đã báo cáo", ColumnType.INTEGER),
        Column("Đúng hạn", ColumnType.INTEGER),
        Column("Nộp muộn", ColumnType.INTEGER),
        Column("Chưa báo cáo", ColumnType.INTEGER),
        Column("Trong đó đang soạn", ColumnType.INTEGER),
        Column("Nhận thức SXSH (số cơ sở)", ColumnType.INTEGER),
        Column(f"Nhận thức SXSH (%) — mục tiêu {target_text(AWARE_TARGET)}", ColumnType.PERCENT),
        Column("Áp dụng SXSH (số cơ sở)", ColumnType.INTEGER),
        Column(f"Áp dụng SXSH (%) — mục tiêu {target_text(APPLYING_TARGET)}", ColumnType.PERCENT),
        *(
            Column(f"Tiết kiệm {tr('vi', RESOURCE_LABELS[resource])} (%)", ColumnType.PERCENT)
            for resource in RESOURCES
        ),
        Column(f"Tiết kiệm chung (%) — mục tiêu {saving_range}", ColumnType.PERCENT),
        Column("Cơ sở có số liệu tiết kiệm", ColumnType.INTEGER),
        Column("Cơ sở vừa và lớn", ColumnType.INTEGER),
        Column("Có bộ phận SXSH chuyên trách (số cơ sở)", ColumnType.INTEGER),
        Column(
            f"Có bộ phận SXSH chuyên trách (%) — mục tiêu {target_text(UNIT_TARGET)}",
            ColumnType.PERCENT,
        ),
    ]


def indicator_cells(level: str, code: str, name: str, figures: Indicators) -> list[object]:
    return [
        level,
        code,
        name,
        figures.registered,
        figures.reported,
        figures.on_time,
        figures.late,
        figures.not_reported,
        figures.drafting,
        figures.aware,
        figures.aware_share.value,
        figures.applying,
        figures.applying_share.value,
        *(figures.saving(resource).value for resource in RESOURCES),
        figures.overall_saving.value,
        figures.overall_saving.count,
        figures.medium_large,
        figures.with_unit,
        figures.unit_share.value,
    ]


def scope_name(scope: FacilityFilter) -> str:
    sector = find_sector(scope.sector_code) if scope.sector_code else None
    where = commune_name(scope.commune_code) if scope.commune_code else "Toàn tỉnh"
    return f"{where}, ngành {sector.code} {sector.name_vi}" if sector else where


def indicator_rows(scope: FacilityFilter, breakdown: Breakdown) -> list[list[object]]:
    rows = [indicator_cells("Phạm vi xuất", "", scope_name(scope), breakdown.total)]
    rows.extend(
        indicator_cells("Xã/phường", code, commune_name(code), figures)
        for code, figures in breakdown.by_commune.items()
    )
    for code, figures in breakdown.by_sector.items():
        sector = find_sector(code)
        rows.append(indicator_cells("Ngành", code, sector.name_vi if sector else code, figures))
    return rows


def indicators_sheet(context: SheetContext) -> Sheet:
    year = context.year
    breakdown = compute(context.reader.facility_years(context.scope, year))
    rows = indicator_rows(context.scope, breakdown)
    return Sheet(
        key="indicators",
        name=f"Chỉ tiêu {year}",
        description=(
            f"Bốn chỉ tiêu của Kế hoạch SXSH năm {year} so với mục tiêu: cả phạm vi xuất, "
            "từng xã/phường, từng ngành (cách tính ở phần Thuật ngữ bên dưới)"
        ),
        columns=indicator_columns(),
        rows=rows,
        total=len(rows),
    )


# ---------------------------------------------------------------- self-assessments


def _question_labels(form: Form) -> dict[str, str]:
    return {question.name: question.label.vi for question in form.questions}


def assessments_sheet(context: SheetContext) -> Sheet:
    year = context.year
    start = datetime(year, 1, 1, tzinfo=VIETNAM)
    end = datetime(year + 1, 1, 1, tzinfo=VIETNAM)
    forms = context.forms
    labels = _question_labels(forms.get(ASSESSMENT_FORM)) if ASSESSMENT_FORM in forms else {}
    columns = [
        *_WHO,
        Column("Hoàn thành lúc", ColumnType.DATETIME, note="giờ Việt Nam"),
        Column("Ngành khi đánh giá"),
        Column("Điểm chung (0–100)", ColumnType.INTEGER),
        *(
            Column(
                f"Điểm: {tr('vi', label)}",
                ColumnType.INTEGER,
                note="0–100; trống nếu không có câu hỏi nào về kỹ thuật này",
            )
            for label in TECHNIQUES.values()
        ),
        Column("Cơ hội lớn nhất", note="các việc nên làm trước, quan trọng nhất trước"),
    ]

    def rows() -> Iterator[Sequence[object]]:
        for result in context.reader.assessments(context.scope, start, end):
            yield [
                *_who(result.facility),
                result.completed_at,
                result.sector_code,
                result.overall,
                *(result.scores.get(technique) for technique in TECHNIQUES),
                "; ".join(labels.get(name, name) for name in result.opportunities),
            ]

    return Sheet(
        key="self_assessments",
        name=f"Tự đánh giá {year}",
        description=(
            f"Các lần tự đánh giá nhanh SXSH hoàn thành trong năm {year}, mỗi lần một dòng"
        ),
        columns=columns,
        rows=rows(),
        total=context.reader.count_assessments(context.scope, start, end),
    )


REPORT_SHEETS = {
    "reports": SheetSpec("reports", "Báo cáo {year}", reports_sheet),
    "measures": SheetSpec("measures", "Giải pháp {year}", measures_sheet),
    "indicators": SheetSpec("indicators", "Chỉ tiêu {year}", indicators_sheet),
    "revisions": SheetSpec("revisions", "Các phiên bản {year}", revisions_sheet),
    "self_assessments": SheetSpec("self_assessments", "Tự đánh giá {year}", assessments_sheet),
}
