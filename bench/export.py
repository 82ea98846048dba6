"""Export benchmark: time and peak memory of `sxsh-bot export` next to a bare write of the
same rows, measured in the same run.

    python bench/export.py              # 100,000 facilities: 100,000 facility-year reports
    python bench/export.py --quick      # 2,000 facilities, for a smoke test
    python bench/export.py --rows 50000

It builds a temporary database — the register, a profile with answers for most
facilities, and one submitted yearly report per facility (a real report row: every
answer, a tenth corrected once, three in four with resources and measures, some late,
some hostile text) — then runs each task in a forked child process and reads that
child's peak resident memory from the kernel (`wait4`), so no task inherits another's
garbage:

* the Reports sheet (one row per facility-year, every answer in its own typed column) as
  the program writes it, XLSX and CSV, through `bot.sheets.run_export`;
* the same rows fetched by a plain SQL query (each answer pulled out of the stored JSON)
  and written with no typing, formats, neutralization or explanatory sheet, with the same
  XLSX library (xlsxwriter, constant_memory) and with the csv module;
* the Reports sheet again on a database with a tenth of the facilities: with a streaming
  writer, ten times the rows should take about ten times as long and no more memory;
* the whole workbook (every sheet of `bot.sheets.sheet_specs()`), for its time and memory.

Prints seconds, peak RSS and the ratios to the bare writes (×1.00 = as fast/small as a
bare write). Linux only (fork, wait4).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import xlsxwriter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.geo import communes, sectors  # noqa: E402
from bot.sheets import ExportRequest, run_export  # noqa: E402
from bot.storage.db import Database  # noqa: E402
from bot.storage.snapshot import FacilityFilter  # noqa: E402
from flows.model import FormRegistry  # noqa: E402

YEAR = 2026
NOW = datetime(2026, 12, 10, 3, 0, tzinfo=UTC)
STAMP = NOW.isoformat(timespec="microseconds")
SIZES = ("micro", "small", "medium", "large")
UNITS = ("tonne", "m3", "thousand_bricks", "kg", "litre")


def build_database(path: Path, facilities: int) -> None:
    """A register of `facilities` with profiles and yearly report drafts, written fast."""

    async def migrate() -> None:
        database = await Database.open(path)
        await database.close()

    asyncio.run(migrate())
    places = communes()
    divisions = sectors()
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA synchronous = OFF")
        connection.executemany(
            "INSERT INTO facilities (id, code, name, tax_code, commune_code, former_district,"
            " sector_code, size_class, address, phone, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    n,
                    f"DN{n:06d}",
                    f"Cơ sở sản xuất Tiết Kiệm số {n}",
                    f"{4900000000 + n}",
                    places[n % len(places)].code,
                    places[n % len(places)].former_district,
                    divisions[n % len(divisions)].code,
                    SIZES[n % 4],
                    f"Số {n} đường Bà Triệu, {places[n % len(places)].full_name}",
                    f"09{n % 100000000:08d}",
                    STAMP,
                    STAMP,
                )
                for n in range(1, facilities + 1)
            ),
        )
        connection.executemany(
            "INSERT INTO users (id, channel, external_id, chat_id, facility_id, created_at)"
            " VALUES (?, 'telegram', ?, ?, ?, ?)",
            ((n, str(n), str(n), n, STAMP) for n in range(1, facilities + 1, 2)),
        )
        profiles = [n for n in range(1, facilities + 1) if n % 5]
        connection.executemany(
            "INSERT INTO drafts (id, facility_id, form_id, period, form_version, status,"
            " created_at, updated_at) VALUES (?, ?, 'facility_profile', 'once', 1, 'submitted',"
            " ?, ?)",
            ((n, n, STAMP, STAMP) for n in profiles),
        )
        connection.executemany(
            "INSERT INTO draft_answers (draft_id, name, value, answered_at) VALUES (?, ?, ?, ?)",
            (
                (n, name, json.dumps(value, ensure_ascii=False), STAMP)
                for n in profiles
                for name, value in _profile(n).items()
            ),
        )
        connection.executemany(
            "INSERT INTO drafts (id, facility_id, form_id, period, form_version, status,"
            " created_at, updated_at) VALUES (?, ?, 'annual_report', ?, 1, 'submitted', ?, ?)",
            ((facilities + n, n, str(YEAR), STAMP, STAMP) for n in range(1, facilities + 1)),
        )
        _add_reports(connection, facilities)


def _report(n: int, revision: int) -> dict[str, object]:
    """The stored answers of facility n's yearly report (as the form stores them)."""
    if n % 4 == 0:
        return {
            "mgmt_aware": n % 8 == 0,
            "aware_how": ["seminar"] if n % 8 == 0 else [],
            "staff_trained": 0,
            "applied": False,
            "not_applied_reason": "no_funds",
            "not_applied_detail": "Chưa có vốn",
            "wants_adviser": True,
        }
    output = f"{1000 + n % 500 + revision}.5"
    answers: dict[str, object] = {
        "mgmt_aware": True,
        "aware_how": ["training", "adviser_visit"],
        "staff_trained": 5 + n % 20,
        "applied": True,
        "techniques": ["good_housekeeping", "equipment_modification"],
        "measure_good_housekeeping": "Sửa rò rỉ hơi, tắt máy khi không sản xuất",
        "measure_equipment_modification": (
            "=1+2 thay nồi hơi" if n % 50 == 0 else "Thay nồi hấp bằng nồi có bảo ôn"
        ),
        "product_name": "bánh phở tươi",
        "output_unit": "tấn",
        "output": output,
        "resources": ["electricity", "fuel"],
        "baseline_year": YEAR - 2,
        "elec_base": "125.5",
        "elec_now": f"{100 + n % 20}.4",
        "fuel_type": "coal",
        "fuel_unit": "tonne",
        "fuel_base": "0.35",
        "fuel_now": "0.28",
        "fuel_saving": "20",
        "fuel_saving__confirmed": "20",
        "investment": 150_000_000 + n,
        "yearly_savings": 100_000_000,
        "payback_years": "1.5",
        "payback_years__confirmed": "1.5",
        "sxsh_unit": n % 3 == 0,
        "remarks": "Đề nghị Sở tổ chức thêm lớp tập huấn",
        "reporter_name": f"Hoàng Thị Mai {n}",
        "reporter_phone": "0912 345 678",
    }
    saving = _saving(n)
    answers.update(elec_saving=saving, elec_saving__confirmed=saving)
    if answers["sxsh_unit"]:
        answers["sxsh_unit_people"] = 2
    return answers


def _saving(n: int) -> str:
    return f"{(Decimal('125.5') - Decimal(f'{100 + n % 20}.4')) / Decimal('125.5') * 100:.2f}"


def _add_reports(connection: sqlite3.Connection, facilities: int) -> None:
    """One submitted report per facility (a tenth corrected once): every facility-year row
    of the Reports sheet is a real report, with its resources and measures."""
    revisions = [
        (n, revision)
        for n in range(1, facilities + 1)
        for revision in ((1, 2) if n % 10 == 0 else (1,))
    ]
    connection.executemany(
        "INSERT INTO report_revisions (id, facility_id, year, revision, receipt, form_id,"
        " form_version, draft_id, submitted_at, late, answers, aware, aware_how, staff_trained,"
        " applied, techniques, sxsh_unit) VALUES (?, ?, ?, ?, ?, 'annual_report', 1, ?, ?, ?,"
        " ?, ?, ?, ?, ?, ?, ?)",
        (
            (
                index,
                n,
                YEAR,
                revision,
                f"LS-{YEAR}-{index:06d}",
                facilities + n,
                STAMP,
                int(n % 7 == 0),
                json.dumps(answers := _report(n, revision), ensure_ascii=False),
                int(bool(answers["mgmt_aware"])),
                json.dumps(answers["aware_how"]),
                answers["staff_trained"],
                int(bool(answers["applied"])),
                json.dumps(answers.get("techniques", [])),
                int(bool(answers.get("sxsh_unit"))) if answers["applied"] else None,
            )
            for index, (n, revision) in enumerate(revisions, start=1)
        ),
    )
    applied = [(index, n) for index, (n, _r) in enumerate(revisions, start=1) if n % 4]
    connection.executemany(
        "INSERT INTO report_resources (revision_id, resource, name, unit, baseline_year,"
        " baseline_per_unit, current_per_unit, saving_pct, confirmed, questioned)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, 0)",
        (
            row
            for index, n in applied
            for row in (
                (
                    index,
                    "electricity",
                    None,
                    "kWh",
                    YEAR - 2,
                    "125.5",
                    f"{100 + n % 20}.4",
                    _saving(n),
                ),
                (index, "fuel", "coal", "tonne", YEAR - 2, "0.35", "0.28", "20"),
            )
        ),
    )
    connection.executemany(
        "INSERT INTO report_measures (revision_id, technique, description) VALUES (?, ?, ?)",
        (
            row
            for index, n in applied
            for row in (
                (index, "good_housekeeping", "Sửa rò rỉ hơi, tắt máy khi không sản xuất"),
                (index, "equipment_modification", "Thay nồi hấp bằng nồi có bảo ôn"),
            )
        ),
    )


def _profile(n: int) -> dict[str, object]:
    name = f'=HYPERLINK("http://x","{n}")' if n % 50 == 0 else f"Nguyễn Thị Hoa {n}"
    return {
        "contact_name": name,
        "contact_role": "Phó giám đốc",
        "contact_phone": f"0912 {n % 1000:03d} {n % 1000:03d}",
        "main_product": "bún tươi, bánh phở",
        "product_unit": UNITS[n % len(UNITS)],
        "employees": 5 + n % 300,
    }


# ---------------------------------------------------------------- the bare writes


def _bare_reports_sql() -> str:
    """The Reports sheet's rows by a plain query: the register's columns, the revision's,
    and each answer pulled out of its JSON — no typing, labels or formats."""
    form = FormRegistry.builtin().get("annual_report")
    answers = ", ".join(
        f"json_extract(r.answers, '$.{q.name}')" for q in form.questions if q.type != "note"
    )
    return (
        "SELECT f.code, f.name, f.commune_code, f.sector_code, f.size_class, r.receipt,"
        " r.revision, r.submitted_at, u.display_name, r.submitted_at, r.late, r.form_version,"
        f" {answers} FROM report_revisions r JOIN facilities f ON f.id = r.facility_id"
        " LEFT JOIN users u ON u.id = r.submitted_by WHERE r.year = ? AND r.revision ="
        " (SELECT MAX(o.revision) FROM report_revisions o WHERE o.facility_id = r.facility_id"
        " AND o.year = r.year) ORDER BY f.code"
    )


def _bare_rows(database: Path) -> Iterator[tuple[str, Iterator[tuple[object, ...]]]]:
    connection = sqlite3.connect(database)
    try:
        yield "reports", connection.execute(_bare_reports_sql(), (YEAR,))
    finally:
        connection.close()


def bare_xlsx(database: Path, out: Path) -> int:
    workbook = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    written = 0
    for name, rows in _bare_rows(database):
        sheet = workbook.add_worksheet(name)
        for index, row in enumerate(rows):
            sheet.write_row(index, 0, row)
            written += 1
    workbook.close()
    return written


def bare_csv(database: Path, out: Path) -> int:
    written = 0
    with out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        for _name, rows in _bare_rows(database):
            for row in rows:
                writer.writerow(row)
                written += 1
    return written


def program_export(database: Path, out: Path, fmt: str, sheet: str | None = "reports") -> int:
    request = ExportRequest(YEAR, FacilityFilter(), "xlsx" if fmt == "xlsx" else "csv", sheet)
    counts = run_export(database, request, FormRegistry.builtin(), out, NOW, "bench")
    return sum(counts.values())


# ---------------------------------------------------------------- measuring


def measure(task: Callable[[], int]) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, rows) of `task` run in a forked child."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read_end)
        status = 0
        try:
            started = time.perf_counter()
            rows = task()
            elapsed = time.perf_counter() - started
            os.write(write_end, json.dumps([elapsed, rows]).encode())
        except BaseException as error:  # reported by the parent
            os.write(write_end, json.dumps(["error", repr(error)]).encode())
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        message = json.loads(pipe.read() or '["error", "no result"]')
    _pid, status, usage = os.wait4(pid, 0)
    if message[0] == "error" or status != 0:
        raise SystemExit(f"benchmark task failed: {message[1]}")
    return float(message[0]), usage.ru_maxrss / 1024, int(message[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="facilities in the register")
    parser.add_argument("--quick", action="store_true", help="2,000 facilities, for a smoke test")
    args = parser.parse_args(argv)
    facilities = 2_000 if args.quick else args.rows
    small = max(facilities // 10, 1)
    with tempfile.TemporaryDirectory(prefix="sxsh-bench-") as folder:
        work = Path(folder)
        big_db, small_db = work / "big.db", work / "small.db"
        build_database(big_db, facilities)
        build_database(small_db, small)
        idle = measure(lambda: 0)
        runs = {
            "export XLSX": measure(lambda: program_export(big_db, work / "e.xlsx", "xlsx")),
            "bare XLSX": measure(lambda: bare_xlsx(big_db, work / "b.xlsx")),
            "export CSV": measure(lambda: program_export(big_db, work / "e.csv", "csv")),
            "bare CSV": measure(lambda: bare_csv(big_db, work / "b.csv")),
            "export XLSX, 1/10": measure(lambda: program_export(small_db, work / "s.xlsx", "xlsx")),
            "whole file XLSX": measure(
                lambda: program_export(big_db, work / "w.xlsx", "xlsx", sheet=None)
            ),
        }
    print(
        f"sxsh-bot export benchmark: {facilities:,} facilities, year {YEAR}: the Reports "
        f"sheet, one row per facility-year (idle child: {idle[1]:.0f} MB)"
    )
    print(f"{'task':<24}{'rows':>10}{'seconds':>10}{'peak MB':>10}{'× time':>9}{'× memory':>10}")
    baselines = {"export XLSX": "bare XLSX", "export CSV": "bare CSV"}
    for name, (seconds, peak, rows) in runs.items():
        ratios = ""
        if name in baselines:
            base_seconds, base_peak, _rows = runs[baselines[name]]
            ratios = f"{seconds / base_seconds:>9.2f}{peak / base_peak:>10.2f}"
        print(f"{name:<24}{rows:>10,}{seconds:>10.2f}{peak:>10.1f}{ratios}")
    big, tenth = runs["export XLSX"], runs["export XLSX, 1/10"]
    print(
        f"10× the rows: ×{big[0] / tenth[0]:.1f} the time, ×{big[1] / tenth[1]:.2f} the peak "
        f"memory (+{big[1] - tenth[1]:.1f} MB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
