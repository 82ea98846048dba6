"""Reading facility registers, and the commune/sector look-ups they rely on."""

from __future__ import annotations

import unicodedata
from importlib import resources
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.geo import communes, find_commune, find_former_district, find_sector, sectors
from bot.register import (
    FacilityRecord,
    RegisterFileError,
    RowProblem,
    SizeClass,
    describe,
    describe_row_error,
    parse_size_class,
    read_register,
)
from flows.textmatch import fold

FIXTURES = Path(__file__).parent / "fixtures"
ERRORS_CSV = FIXTURES / "register_with_errors.csv"
HEADER = "code,name,tax_code,commune,former_district,sector,size_class,address,phone"


def sample_path() -> Path:
    return Path(str(resources.files("bot.data").joinpath("sample_facilities.csv")))


def write_csv(tmp_path: Path, *lines: str, name: str = "register.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((("\ufeff" if bom else "") + "\n".join(lines) + "\n").encode("utf-8"))
    return path


def write_xlsx(tmp_path: Path, rows: list[list[object]], name: str = "register.xlsx") -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Danh sách"
    for row in rows:
        sheet.append(row)
    workbook.create_sheet("Ghi chú").append(["not read: only the first sheet is"])
    path = tmp_path / name
    workbook.save(path)
    return path


def one_record(path: Path) -> FacilityRecord:
    result = read_register(path)
    assert result.errors == ()
    assert len(result.records) == 1
    return result.records[0]


# --- the sample register ----------------------------------------------------


def test_the_sample_register_loads_forty_records_without_errors() -> None:
    result = read_register(sample_path())

    assert result.errors == ()
    assert len(result.records) == 40
    assert len({r.code for r in result.records}) == 40


def test_the_sample_register_starts_with_the_demo_rice_noodle_maker_in_tam_thanh() -> None:
    first = read_register(sample_path()).records[0]

    assert first.code == "DEMO01"
    assert first.commune_code == find_commune("Phường Tam Thanh").code  # type: ignore[union-attr]
    assert first.sector_code == "C10"
    assert first.size_class is SizeClass.SMALL
    assert "bún" in first.name or "phở" in first.name


def test_the_sample_register_is_fictional_and_spread_over_communes_sectors_and_sizes() -> None:
    records = read_register(sample_path()).records
    by_code = {c.code: c for c in communes()}
    used = {by_code[r.commune_code] for r in records}

    assert len(used) >= 15
    assert {c.name for c in used if c.kind == "phường"} == {
        "Tam Thanh",
        "Lương Văn Tri",
        "Kỳ Lừa",
        "Đông Kinh",
    }
    assert {r.sector_code for r in records} >= {
        "C23", "B08", "B05", "D35", "C16", "C20", "C10", "C25", "C33", "C14",
    }  # fmt: skip
    assert {r.size_class for r in records} == set(SizeClass)
    assert all("Mẫu" in r.name for r in records)
    assert all(r.tax_code is None or r.tax_code.startswith("9999") for r in records)
    assert all(r.phone is None or r.phone.startswith("0900000") for r in records)
    assert all(r.former_district == by_code[r.commune_code].former_district for r in records)


# --- the error fixture --------------------------------------------------------


def test_the_error_fixture_reports_each_bad_row_with_its_line_and_problem_keys() -> None:
    result = read_register(ERRORS_CSV)

    assert [(e.line, e.keys) for e in result.errors] == [
        (4, ("unknown_commune",)),
        (5, ("unknown_sector",)),
        (6, ("bad_size",)),
        (7, ("duplicate_code",)),
        (8, ("missing_code",)),
        (9, ("missing_name",)),
        (10, ("bad_tax_code",)),
        (11, ("bad_phone",)),
        (14, ("missing_name", "unknown_commune", "unknown_sector", "bad_size", "bad_phone")),
        (17, ("missing_commune", "missing_sector", "missing_size")),
        (18, ("unknown_former_district",)),
        (20, ("duplicate_code",)),
    ]
    assert [e.code for e in result.errors][:5] == ["E02", "E03", "E04", "E01", None]


def test_an_unknown_commune_is_reported_with_its_line_and_the_good_rows_still_load() -> None:
    result = read_register(ERRORS_CSV)

    unknown = next(e for e in result.errors if e.keys == ("unknown_commune",))
    assert unknown.line == 4
    assert unknown.problems == (RowProblem("unknown_commune", {"value": "Xã Không Có"}),)
    assert [r.code for r in result.records] == ["E01", "E10", "E12", "E15"]


def test_a_repeated_code_is_imported_once_and_later_rows_point_to_the_first_line() -> None:
    result = read_register(ERRORS_CSV)

    assert [r.name for r in result.records if r.code == "E01"] == ["Cơ sở Mẫu Một"]
    duplicates = [e for e in result.errors if e.keys == ("duplicate_code",)]
    assert [(e.line, e.problems[0].params) for e in duplicates] == [
        (7, {"code": "E01", "first_line": "2"}),
        (20, {"code": "e01", "first_line": "2"}),
    ]


def test_good_rows_are_stored_with_official_codes_and_the_former_district_filled_in() -> None:
    records = {r.code: r for r in read_register(ERRORS_CSV).records}

    assert records["E01"] == FacilityRecord(
        code="E01",
        name="Cơ sở Mẫu Một",
        tax_code="9999100001",
        commune_code="06040",
        former_district="Tràng Định",
        sector_code="C23",
        size_class=SizeClass.SMALL,
        address="Thôn Mẫu, xã Thất Khê",
        phone="0900000101",
    )
    # "xa Ky Lua", "23", "lon", a branch tax code, no address or phone
    assert records["E10"].commune_code == "06187"
    assert records["E10"].former_district == "Cao Lộc"
    assert records["E10"].sector_code == "C23"
    assert records["E10"].size_class is SizeClass.LARGE
    assert records["E10"].tax_code == "9999100010-001"
    assert (records["E10"].address, records["E10"].phone) == (None, None)
    # commune code without its leading zero, "c 16", "siêu nhỏ", +84 phone
    assert records["E12"].commune_code == "06040"
    assert records["E12"].sector_code == "C16"
    assert records["E12"].size_class is SizeClass.MICRO
    assert records["E12"].phone == "0900000112"
    # a former district given as "huyện Văn Quan" is stored by its name
    assert records["E15"].former_district == "Văn Quan"
    assert records["E15"].phone == "02053800115"


# --- file formats ------------------------------------------------------------


def test_a_csv_reads_the_same_with_and_without_a_byte_order_mark(tmp_path: Path) -> None:
    text = ERRORS_CSV.read_bytes().decode("utf-8-sig")
    with_bom = tmp_path / "with_bom.csv"
    without_bom = tmp_path / "without_bom.csv"
    with_bom.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    without_bom.write_bytes(text.encode("utf-8"))

    assert read_register(with_bom) == read_register(without_bom) == read_register(ERRORS_CSV)


def test_comma_and_semicolon_delimited_files_read_the_same(tmp_path: Path) -> None:
    row = ["S1", "Cơ sở Mẫu, chi nhánh Một", "", "Tam Thanh", "", "C10", "small", "", ""]
    comma = write_csv(tmp_path, HEADER, ",".join(f'"{v}"' for v in row), name="comma.csv")
    semicolon = write_csv(
        tmp_path, HEADER.replace(",", ";"), ";".join(row), name="semicolon.csv", bom=True
    )

    assert read_register(comma) == read_register(semicolon)
    assert one_record(comma).name == "Cơ sở Mẫu, chi nhánh Một"


def test_an_xlsx_register_with_numeric_codes_phones_and_tax_codes_reads_right(
    tmp_path: Path,
) -> None:
    path = write_xlsx(
        tmp_path,
        [
            ["Mã cơ sở", "Tên cơ sở", "Mã số thuế", "Xã/Phường", "Ngành", "Quy mô", "SĐT"],
            [101, "Cơ sở Mẫu Excel", 9999200001, 6040, "C23", "Nhỏ", 912345678],
            [],
            [102.0, "Cơ sở Mẫu Excel Hai", 999200002, "Kỳ Lừa", 10.0, "lớn", 2053800115],
            ["X3", "Cơ sở Mẫu lỗi", None, "Nowhere", 23, "vừa", None],
        ],
    )

    result = read_register(path)

    assert result.records == (
        FacilityRecord(
            code="101",
            name="Cơ sở Mẫu Excel",
            tax_code="9999200001",
            commune_code="06040",
            former_district="Tràng Định",
            sector_code="C23",
            size_class=SizeClass.SMALL,
            address=None,
            phone="0912345678",
        ),
        FacilityRecord(
            code="102",
            name="Cơ sở Mẫu Excel Hai",
            tax_code="0999200002",
            commune_code="06187",
            former_district="Cao Lộc",
            sector_code="C10",
            size_class=SizeClass.LARGE,
            address=None,
            phone="02053800115",
        ),
    )
    assert [(e.line, e.code, e.keys) for e in result.errors] == [(5, "X3", ("unknown_commune",))]


def test_blank_rows_are_skipped_but_still_counted(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        HEADER,
        "",
        ",,,,,,,,",
        "B1,Cơ sở Mẫu,,Nowhere,,C10,small,,",
    )

    assert [e.line for e in read_register(path).errors] == [4]


def test_headers_are_matched_in_english_or_vietnamese_with_or_without_diacritics(
    tmp_path: Path,
) -> None:
    english = write_csv(
        tmp_path,
        "CODE,Name,Commune_Code,VSIC,Size,Address,Phone,Notes",
        "H1,Cơ sở Mẫu,5986,C10,micro,Số 1,0900000001,ignored",
        name="english.csv",
    )
    plain = write_csv(
        tmp_path,
        "ma co so,ten co so,xa_phuong,nganh,quy mo (sieu nho/nho/vua/lon),dia chi,sdt",
        "H1,Cơ sở Mẫu,Tam Thanh,10,siêu nhỏ,Số 1,0900 000 001",
        name="plain.csv",
    )

    assert one_record(english) == one_record(plain)
    assert one_record(plain).commune_code == "05986"


def test_a_file_without_a_name_column_raises_an_error_naming_the_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "code,commune,sector,size", "N1,Tam Thanh,C10,small")

    with pytest.raises(RegisterFileError) as raised:
        read_register(path)

    assert raised.value.key == "missing_columns"
    assert "name" in str(raised.value)
    assert "\n" not in str(raised.value)
    assert "tên cơ sở" in describe(raised.value, "vi")


def test_an_xlsx_without_a_name_column_raises_too(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path, [["code", "commune", "sector", "size"], ["N1", 6040, 10, "nhỏ"]])

    with pytest.raises(RegisterFileError, match="name"):
        read_register(path)


@pytest.mark.parametrize(
    ("name", "content", "key"),
    [
        ("register.xls", b"whatever", "unsupported_extension"),
        ("register.csv", "Tên;Quy mô\n".encode("cp1258"), "not_utf8"),
        ("register.csv", b"\n\n  \n", "empty_file"),
        ("register.xlsx", b"not a zip file", "bad_xlsx"),
    ],
)
def test_unusable_files_raise_a_one_line_error(
    tmp_path: Path, name: str, content: bytes, key: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    with pytest.raises(RegisterFileError) as raised:
        read_register(path)

    assert raised.value.key == key
    assert name in str(raised.value)
    assert "\n" not in str(raised.value)
    assert "\n" not in describe(raised.value, "vi")


def test_a_missing_file_raises_a_register_file_error(tmp_path: Path) -> None:
    with pytest.raises(RegisterFileError) as raised:
        read_register(tmp_path / "absent.csv")

    assert raised.value.key == "file_unreadable"


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("0912 345 678", "0912345678"),
        ("0912.345.678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("912345678", "0912345678"),
        ("0205 3870 123", "02053870123"),
    ],
)
def test_phone_numbers_are_normalised(tmp_path: Path, phone: str, expected: str) -> None:
    path = write_csv(tmp_path, HEADER, f"P1,Cơ sở Mẫu,,Tam Thanh,,C10,small,,{phone}")

    assert one_record(path).phone == expected


@pytest.mark.parametrize("phone", ["12345", "0912 345 678 901 2", "0912-abc", "0912345678/0205"])
def test_malformed_phone_numbers_are_reported(tmp_path: Path, phone: str) -> None:
    path = write_csv(tmp_path, HEADER, f"P1,Cơ sở Mẫu,,Tam Thanh,,C10,small,,{phone}")

    [error] = read_register(path).errors
    assert error.problems == (RowProblem("bad_phone", {"value": phone}),)


@pytest.mark.parametrize("tax_code", ["999900000", "99990000011", "9999000001-01", "99990000O1"])
def test_malformed_tax_codes_are_reported(tmp_path: Path, tax_code: str) -> None:
    path = write_csv(tmp_path, HEADER, f"T1,Cơ sở Mẫu,{tax_code},Tam Thanh,,C10,small,,")

    assert read_register(path).errors[0].keys == ("bad_tax_code",)


# --- communes, sectors, sizes ------------------------------------------------


def test_the_reference_lists_hold_65_communes_including_4_wards_and_the_needed_sectors() -> None:
    assert len(communes()) == 65
    assert sum(c.kind == "phường" for c in communes()) == 4
    assert {"B05", "B08", "C10", "C23", "D35"} <= {s.code for s in sectors()}


@pytest.mark.parametrize(
    "text",
    [
        "Thất Khê",
        "thất khê",
        "That Khe",
        "THAT KHE",
        "xã Thất Khê",
        "Xa That Khe",
        "  xã   Thất  Khê ",
        "6040",
        "06040",
        unicodedata.normalize("NFD", "Thất Khê"),
    ],
)
def test_a_commune_is_found_by_code_or_by_name_with_or_without_diacritics(text: str) -> None:
    commune = find_commune(text)

    assert commune is not None
    assert (commune.code, commune.name, commune.former_district) == (
        "06040",
        "Thất Khê",
        "Tràng Định",
    )


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Phường Tam Thanh", "Tam Thanh"),
        ("phuong ky lua", "Kỳ Lừa"),
        ("Dong Kinh", "Đông Kinh"),
        ("Diem He", "Điềm He"),
        ("Quý Hoà", "Quý Hòa"),  # old-style tone placement
        ("5986", "Tam Thanh"),
    ],
)
def test_communes_with_d_for_dj_ward_prefixes_and_other_spellings_are_found(
    text: str, name: str
) -> None:
    commune = find_commune(text)

    assert commune is not None
    assert commune.name == name


@pytest.mark.parametrize("text", ["", "   ", "Hà Nội", "12345", "xã"])
def test_unknown_communes_are_not_found(text: str) -> None:
    assert find_commune(text) is None


@pytest.mark.parametrize("text", ["C23", "c23", "23", "C 23", " c-23 ", "2394"])
def test_a_sector_is_found_by_its_vsic_code_or_digits(text: str) -> None:
    sector = find_sector(text)

    assert sector is not None
    assert sector.code == "C23"
    assert sector.section == "C"


def test_single_digit_divisions_and_sector_names_are_found() -> None:
    assert find_sector("5") == find_sector("B05") == find_sector("b 05")
    assert find_sector("Dệt") == find_sector("C13")


@pytest.mark.parametrize("text", ["", "B23", "C99", "Z99", "xi măng"])
def test_unknown_sectors_are_not_found(text: str) -> None:
    assert find_sector(text) is None


@pytest.mark.parametrize(
    ("text", "district"),
    [
        ("Tràng Định", "Tràng Định"),
        ("huyện Hữu Lũng", "Hữu Lũng"),
        ("huu lung", "Hữu Lũng"),
        ("TP. Lạng Sơn", "Thành phố Lạng Sơn"),
        ("thanh pho lang son", "Thành phố Lạng Sơn"),
    ],
)
def test_former_districts_are_recognised(text: str, district: str) -> None:
    assert find_former_district(text) == district


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("micro", SizeClass.MICRO),
        ("Siêu nhỏ", SizeClass.MICRO),
        ("sieu nho", SizeClass.MICRO),
        ("SMALL", SizeClass.SMALL),
        ("nhỏ", SizeClass.SMALL),
        ("vừa", SizeClass.MEDIUM),
        ("Quy mô vừa", SizeClass.MEDIUM),
        ("lớn", SizeClass.LARGE),
        ("lon", SizeClass.LARGE),
    ],
)
def test_size_classes_are_read_in_english_or_vietnamese(text: str, size: SizeClass) -> None:
    assert parse_size_class(text) is size


def test_fold_lowercases_strips_diacritics_maps_dj_and_collapses_spaces() -> None:
    assert fold("  Xã  ĐÔNG   Kinh ") == "xa dong kinh"
    assert fold("Lạng Sơn") == fold("LANG SON") == "lang son"
    assert fold(unicodedata.normalize("NFD", "Điềm He")) == "diem he"


# --- messages ----------------------------------------------------------------


def test_describe_gives_natural_vietnamese_with_diacritics() -> None:
    problem = RowProblem("unknown_commune", {"value": "Xã Không Có"})

    assert describe(problem, "vi") == "không tìm thấy xã/phường «Xã Không Có»"
    assert describe(problem, "en") == "unknown commune «Xã Không Có»"
    assert describe(RowProblem("missing_name"), "vi") == "thiếu tên cơ sở"


def test_every_problem_the_reader_reports_has_a_message_in_both_languages() -> None:
    result = read_register(ERRORS_CSV)
    problems = [p for e in result.errors for p in e.problems]

    for problem in problems:
        vi, en = describe(problem, "vi"), describe(problem, "en")
        assert vi != problem.key and en != problem.key
        assert "{" not in vi and "{" not in en
    assert fold(describe(problems[0], "vi")) != describe(problems[0], "vi")  # has diacritics


def test_a_row_error_is_described_with_its_line_code_and_all_problems() -> None:
    error = read_register(ERRORS_CSV).errors[3]

    assert describe_row_error(error, "vi") == (
        "Dòng 7 (E01): mã cơ sở «E01» bị trùng: mã này đã có ở dòng 2"
    )
    assert describe_row_error(error, "en") == (
        "Line 7 (E01): facility code «E01» is already used on line 2"
    )
