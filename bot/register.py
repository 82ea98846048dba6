"""Reading a facility register (.csv or .xlsx) into validated records.

Pure: no database, no network. ``read_register`` checks every row, collects
all of a row's problems, and returns the good rows together with one
``RowError`` per bad row. Problems are keys plus parameters; ``describe``
renders them in Vietnamese or English. Whole-file problems (wrong extension,
missing required columns, undecodable file) raise ``RegisterFileError``.

Columns are found by header name, case- and diacritics-insensitively, in
English or Vietnamese (see ``COLUMN_ALIASES``); unknown columns are ignored.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal, TypeVar

from bot import geo
from flows.textmatch import fold

__all__ = [
    "COLUMN_ALIASES",
    "REQUIRED_COLUMNS",
    "FacilityRecord",
    "Lang",
    "RegisterFileError",
    "RegisterReadResult",
    "RowError",
    "RowProblem",
    "SizeClass",
    "describe",
    "describe_row_error",
    "parse_size_class",
    "read_register",
]

Lang = Literal["vi", "en"]


class SizeClass(StrEnum):
    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


@dataclass(frozen=True)
class FacilityRecord:
    """One valid register row. ``commune_code`` is the official commune code
    (``"05986"``), ``sector_code`` the VSIC division (``"C10"``),
    ``former_district`` the canonical former district name (filled from the
    commune when the file leaves it blank). Optional fields are ``None`` when
    blank; ``phone`` is normalised to digits with a leading 0."""

    code: str
    name: str
    tax_code: str | None
    commune_code: str
    former_district: str
    sector_code: str
    size_class: SizeClass
    address: str | None
    phone: str | None


@dataclass(frozen=True)
class RowProblem:
    """One problem in one row: a message key (see ``describe``) and the values
    the message mentions (e.g. ``{"value": "Xã Không Có"}``)."""

    key: str
    params: dict[str, str] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class RowError:
    """A row that was not imported. ``line`` is the line (CSV) or row (Excel)
    number a person sees in the file, the header being line 1; ``code`` is
    the row's facility code when it has one."""

    line: int
    code: str | None
    problems: tuple[RowProblem, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(p.key for p in self.problems)


@dataclass(frozen=True)
class RegisterReadResult:
    records: tuple[FacilityRecord, ...]
    errors: tuple[RowError, ...]


class RegisterFileError(Exception):
    """The file as a whole cannot be read. ``str(err)`` is one English line;
    ``describe(err, "vi")`` gives the Vietnamese one."""

    def __init__(self, key: str, params: Mapping[str, str] | None = None) -> None:
        self.key = key
        self.params: dict[str, str] = dict(params or {})
        super().__init__(describe(self, "en"))


# --- columns ----------------------------------------------------------------

Column = Literal[
    "code",
    "name",
    "tax_code",
    "commune",
    "former_district",
    "sector",
    "size_class",
    "address",
    "phone",
]

# Accepted headers per column, as written; matching uses _header_key().
COLUMN_ALIASES: dict[Column, tuple[str, ...]] = {
    "code": ("code", "mã", "mã cơ sở", "facility code", "facility_code"),
    "name": ("name", "tên", "tên cơ sở", "facility name", "facility_name"),
    "tax_code": ("tax_code", "tax code", "mã số thuế", "mst"),
    "commune": ("commune", "commune_code", "xã/phường", "xa_phuong", "mã xã", "xã", "phường"),
    "former_district": ("former_district", "huyện cũ", "huyen_cu"),
    "sector": ("sector", "sector_code", "vsic", "ngành", "mã ngành", "ngành vsic"),
    "size_class": ("size", "size_class", "quy mô"),
    "address": ("address", "địa chỉ"),
    "phone": ("phone", "điện thoại", "số điện thoại", "sđt"),
}

REQUIRED_COLUMNS: tuple[Column, ...] = ("code", "name", "commune", "sector", "size_class")

_COLUMN_LABELS: dict[Lang, dict[str, str]] = {
    "en": {
        "code": "code",
        "name": "name",
        "tax_code": "tax code",
        "commune": "commune",
        "former_district": "former district",
        "sector": "sector",
        "size_class": "size class",
        "address": "address",
        "phone": "phone",
    },
    "vi": {
        "code": "mã cơ sở",
        "name": "tên cơ sở",
        "tax_code": "mã số thuế",
        "commune": "xã/phường",
        "former_district": "huyện cũ",
        "sector": "ngành (VSIC)",
        "size_class": "quy mô",
        "address": "địa chỉ",
        "phone": "điện thoại",
    },
}

_PARENTHESISED = re.compile(r"\([^)]*\)")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _header_key(header: str) -> str:
    """``"Xã/Phường"`` → ``"xa phuong"``; ``"Quy mô (nhỏ/vừa)"`` → ``"quy mo"``."""
    without_hint = _PARENTHESISED.sub(" ", header)
    key = _NON_ALNUM.sub(" ", fold(without_hint)).strip()
    return key or _NON_ALNUM.sub(" ", fold(header)).strip()


_HEADER_INDEX: dict[str, Column] = {
    _header_key(alias): column for column, aliases in COLUMN_ALIASES.items() for alias in aliases
}


def _map_columns(header: Sequence[object]) -> dict[Column, int]:
    positions: dict[Column, int] = {}
    for index, cell in enumerate(header):
        column = _HEADER_INDEX.get(_header_key(_text(cell)))
        if column is None:
            continue
        if column in positions:
            first = _text(header[positions[column]])
            raise RegisterFileError(
                "duplicate_column",
                {"column": column, "first": first, "second": _text(cell)},
            )
        positions[column] = index
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        raise RegisterFileError("missing_columns", {"columns": ",".join(missing)})
    return positions


# --- messages ---------------------------------------------------------------

_MESSAGES: dict[Lang, dict[str, str]] = {
    "vi": {
        # rows
        "missing_code": "thiếu mã cơ sở",
        "duplicate_code": "mã cơ sở «{code}» bị trùng: mã này đã có ở dòng {first_line}",
        "missing_name": "thiếu tên cơ sở",
        "missing_commune": "thiếu xã/phường",
        "unknown_commune": "không tìm thấy xã/phường «{value}»",
        "unknown_former_district": "không nhận ra huyện cũ «{value}»",
        "missing_sector": "thiếu ngành (mã VSIC)",
        "unknown_sector": "không tìm thấy ngành VSIC «{value}»",
        "missing_size": "thiếu quy mô",
        "bad_size": "quy mô «{value}» không hợp lệ (ghi: siêu nhỏ, nhỏ, vừa hoặc lớn)",
        "bad_tax_code": (
            "mã số thuế «{value}» không hợp lệ (phải gồm 10 chữ số, "
            "hoặc 10 chữ số - 3 chữ số với chi nhánh)"
        ),
        "bad_phone": "số điện thoại «{value}» không hợp lệ (cần 9 đến 11 chữ số)",
        # whole file
        "unsupported_extension": (
            "không đọc được tệp «{file}»: chỉ nhận tệp .csv hoặc .xlsx "
            "(hãy lưu lại từ Excel dưới dạng .xlsx hoặc CSV UTF-8)"
        ),
        "file_unreadable": "không mở được tệp «{file}»: {reason}",
        "not_utf8": (
            "tệp «{file}» không phải mã hoá UTF-8: hãy mở bằng Excel và lưu lại "
            "dưới dạng «CSV UTF-8» hoặc .xlsx"
        ),
        "bad_xlsx": "tệp «{file}» không phải là tệp Excel .xlsx hợp lệ",
        "empty_file": "tệp «{file}» không có dữ liệu (không thấy dòng tiêu đề)",
        "missing_columns": "tệp thiếu cột bắt buộc: {columns}",
        "duplicate_column": (
            "hai cột «{first}» và «{second}» cùng là cột {column}; hãy bỏ bớt một cột"
        ),
    },
    "en": {
        "missing_code": "facility code is missing",
        "duplicate_code": "facility code «{code}» is already used on line {first_line}",
        "missing_name": "facility name is missing",
        "missing_commune": "commune is missing",
        "unknown_commune": "unknown commune «{value}»",
        "unknown_former_district": "unknown former district «{value}»",
        "missing_sector": "sector (VSIC code) is missing",
        "unknown_sector": "unknown VSIC sector «{value}»",
        "missing_size": "size class is missing",
        "bad_size": "size class «{value}» is not valid (use micro, small, medium or large)",
        "bad_tax_code": (
            "tax code «{value}» is not valid (10 digits, or 10 digits-3 digits for a branch)"
        ),
        "bad_phone": "phone number «{value}» is not valid (9 to 11 digits expected)",
        "unsupported_extension": (
            "cannot read «{file}»: only .csv and .xlsx files are accepted "
            "(save it from Excel as .xlsx or CSV UTF-8)"
        ),
        "file_unreadable": "cannot open «{file}»: {reason}",
        "not_utf8": (
            "«{file}» is not UTF-8 encoded: open it in Excel and save it as “CSV UTF-8” or .xlsx"
        ),
        "bad_xlsx": "«{file}» is not a valid Excel .xlsx file",
        "empty_file": "«{file}» holds no data (no header row found)",
        "missing_columns": "missing required column(s): {columns}",
        "duplicate_column": (
            "columns «{first}» and «{second}» both mean {column}; remove one of them"
        ),
    },
}

_ROW_PREFIX: dict[Lang, str] = {"vi": "Dòng {line}", "en": "Line {line}"}


def _column_hint(column: Column, lang: Lang) -> str:
    label = _COLUMN_LABELS[lang][column]
    aliases = ", ".join(dict.fromkeys(a for a in COLUMN_ALIASES[column] if "_" not in a))
    heading = "tiêu đề có thể là" if lang == "vi" else "header may be"
    return f"{label} ({heading}: {aliases})"


def describe(problem: RowProblem | RegisterFileError, lang: Lang = "vi") -> str:
    """The message for a row problem or a file error, in ``lang``."""
    params = dict(problem.params)
    if problem.key == "missing_columns":
        columns = [c for c in REQUIRED_COLUMNS if c in params.get("columns", "").split(",")]
        params["columns"] = "; ".join(_column_hint(c, lang) for c in columns)
    elif problem.key == "duplicate_column":
        column = params.get("column", "")
        params["column"] = _COLUMN_LABELS[lang].get(column, column)
    template = _MESSAGES[lang].get(problem.key)
    if template is None:
        return problem.key
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


def describe_row_error(error: RowError, lang: Lang = "vi") -> str:
    """``"Dòng 5 (DEMO07): thiếu tên cơ sở; không tìm thấy xã/phường «X»"``."""
    prefix = _ROW_PREFIX[lang].format(line=error.line)
    if error.code:
        prefix += f" ({error.code})"
    return f"{prefix}: " + "; ".join(describe(p, lang) for p in error.problems)


# --- cell values ------------------------------------------------------------


def _text(value: object) -> str:
    """A cell as stripped text; Excel numbers lose a spurious ``.0``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_SIZE_WORDS: dict[str, SizeClass] = {
    "micro": SizeClass.MICRO,
    "sieu nho": SizeClass.MICRO,
    "small": SizeClass.SMALL,
    "nho": SizeClass.SMALL,
    "medium": SizeClass.MEDIUM,
    "vua": SizeClass.MEDIUM,
    "large": SizeClass.LARGE,
    "lon": SizeClass.LARGE,
}


def parse_size_class(text: str) -> SizeClass | None:
    """``"small"``, ``"Nhỏ"``, ``"sieu nho"``, ``"quy mô vừa"`` → a size class."""
    key = _NON_ALNUM.sub(" ", fold(text)).strip()
    for prefix in ("quy mo ", "doanh nghiep ", "co so "):
        key = key.removeprefix(prefix)
    return _SIZE_WORDS.get(key)


_TAX_CODE = re.compile(r"^[0-9]{10}(?:-[0-9]{3})?$")


def _tax_code(value: object) -> str:
    text = _text(value)
    if _is_number(value) and re.fullmatch(r"[0-9]{9}", text):
        text = text.zfill(10)  # Excel dropped the leading 0
    return text


_PHONE_SEPARATORS = re.compile(r"[\s.\-()]+")


def _phone(value: object) -> tuple[str, bool]:
    """``(normalised, valid)``: ``"+84 912 345 678"`` → ``("0912345678", True)``.

    Valid means 9–11 digits once spaces, dots, dashes and brackets are gone,
    after an optional +84. Normalised numbers start with the trunk 0, which
    Excel drops from numbers (9-digit mobiles, 10-digit 02xx landlines).
    """
    text = _text(value)
    digits = _PHONE_SEPARATORS.sub("", text)
    international = digits.startswith("+84")
    national = digits.removeprefix("+84")
    if not re.fullmatch(r"[0-9]{9,11}", national):
        return text, False
    if not national.startswith("0") and (
        international
        or len(national) == 9
        or (_is_number(value) and len(national) == 10 and national.startswith("2"))
    ):
        national = "0" + national
    return national, True


# --- rows -------------------------------------------------------------------

_Row = tuple[int, Sequence[object]]


def _csv_rows(path: Path) -> Generator[_Row, None, None]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise RegisterFileError(
            "file_unreadable", {"file": path.name, "reason": exc.strerror or str(exc)}
        ) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RegisterFileError("not_utf8", {"file": path.name}) from exc
    if "\x00" in text:
        raise RegisterFileError("not_utf8", {"file": path.name})
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    start = 1
    try:
        for row in reader:
            yield start, row
            start = reader.line_num + 1
    except csv.Error as exc:
        raise RegisterFileError(
            "file_unreadable", {"file": path.name, "reason": f"line {start}: {exc}"}
        ) from exc


def _xlsx_rows(path: Path) -> Generator[_Row, None, None]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except OSError as exc:
        raise RegisterFileError(
            "file_unreadable", {"file": path.name, "reason": exc.strerror or str(exc)}
        ) from exc
    except Exception as exc:  # openpyxl/zipfile raise many kinds for a bad file
        raise RegisterFileError("bad_xlsx", {"file": path.name}) from exc
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # some writers store wrong dimensions
        # openpyxl yields empty tuples for missing rows, so this is the row number.
        yield from enumerate(sheet.iter_rows(values_only=True), start=1)
    finally:
        workbook.close()


def _rows(path: Path) -> Generator[_Row, None, None]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_rows(path)
    if suffix == ".xlsx":
        return _xlsx_rows(path)
    raise RegisterFileError("unsupported_extension", {"file": path.name})


def _is_blank(row: Sequence[object]) -> bool:
    return all(_text(cell) == "" for cell in row)


_UNKNOWN_KEYS = {"commune": "unknown_commune", "sector": "unknown_sector", "size": "bad_size"}
T = TypeVar("T")


def _check_row(
    line: int,
    row: Sequence[object],
    columns: Mapping[Column, int],
    first_line_of_code: dict[str, int],
) -> FacilityRecord | RowError:
    def raw(column: Column) -> object:
        index = columns.get(column)
        return row[index] if index is not None and index < len(row) else None

    problems: list[RowProblem] = []

    code = _text(raw("code"))
    if not code:
        problems.append(RowProblem("missing_code"))
    else:
        seen = first_line_of_code.setdefault(code.casefold(), line)
        if seen != line:
            problems.append(RowProblem("duplicate_code", {"code": code, "first_line": str(seen)}))

    name = _text(raw("name"))
    if not name:
        problems.append(RowProblem("missing_name"))

    tax_code = _tax_code(raw("tax_code"))
    if tax_code and not _TAX_CODE.match(tax_code):
        problems.append(RowProblem("bad_tax_code", {"value": tax_code}))

    def required(column: Column, lookup: Callable[[str], T | None], kind: str) -> T | None:
        """A required column read through `lookup`: missing and unknown values are problems."""
        text = _text(raw(column))
        found = lookup(text) if text else None
        if not text:
            problems.append(RowProblem(f"missing_{kind}"))
        elif found is None:
            problems.append(RowProblem(_UNKNOWN_KEYS[kind], {"value": text}))
        return found

    commune = required("commune", geo.find_commune, "commune")

    district_text = _text(raw("former_district"))
    former_district = geo.find_former_district(district_text) if district_text else None
    if district_text and former_district is None:
        problems.append(RowProblem("unknown_former_district", {"value": district_text}))

    sector = required("sector", geo.find_sector, "sector")
    size_class = required("size_class", parse_size_class, "size")

    phone: str | None = None
    if _text(raw("phone")):
        phone, phone_ok = _phone(raw("phone"))
        if not phone_ok:
            problems.append(RowProblem("bad_phone", {"value": _text(raw("phone"))}))

    if problems or commune is None or sector is None or size_class is None:
        return RowError(line=line, code=code or None, problems=tuple(problems))
    return FacilityRecord(
        code=code,
        name=name,
        tax_code=tax_code or None,
        commune_code=commune.code,
        former_district=former_district or commune.former_district,
        sector_code=sector.code,
        size_class=size_class,
        address=_text(raw("address")) or None,
        phone=phone,
    )


def read_register(path: Path) -> RegisterReadResult:
    """Read and check a facility register (.csv or .xlsx).

    CSV: UTF-8 with or without BOM, comma, semicolon or tab delimited (taken
    from the header line). XLSX: the first sheet. The header is the first
    non-blank row; blank rows are skipped but still counted in line numbers.
    A facility code used again later in the file is an error on the later
    rows, pointing at the first. Raises ``RegisterFileError`` when the file
    as a whole cannot be used.
    """
    path = Path(path)
    columns: dict[Column, int] | None = None
    records: list[FacilityRecord] = []
    errors: list[RowError] = []
    first_line_of_code: dict[str, int] = {}
    with closing(_rows(path)) as rows:  # closes the workbook even on an early error
        for line, row in rows:
            if _is_blank(row):
                continue
            if columns is None:
                columns = _map_columns(row)
                continue
            checked = _check_row(line, row, columns, first_line_of_code)
            if isinstance(checked, RowError):
                errors.append(checked)
            else:
                records.append(checked)
    if columns is None:
        raise RegisterFileError("empty_file", {"file": path.name})
    return RegisterReadResult(records=tuple(records), errors=tuple(errors))
