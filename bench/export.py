"""Export benchmark: time and peak memory of `sxsh-bot export` next to a bare write of the
same rows, measured in the same run.

    python bench/export.py              # 100,000 facilities (about 130,000 rows)
    python bench/export.py --quick      # 2,000 facilities, for a smoke test
    python bench/export.py --rows 50000

It builds a temporary database (the register, a profile with answers for most
facilities, yearly report drafts for one year, some hostile answers), then runs each
task in a forked child process and reads that child's peak resident memory from the
kernel (`wait4`), so no task inherits another's garbage:

* the export as the program writes it, XLSX and CSV (zip), through `bot.sheets.run_export`
  — every sheet `bot.sheets.sheet_specs()` lists, so sheets added later are measured too;
* the same rows fetched by a plain SQL query and written with no typing, formats,
  neutralization or explanatory sheet, with the same XLSX library (xlsxwriter,
  constant_memory) and with the csv module (into a zip, as the export does);
* the XLSX export again on a database with a tenth of the facilities: with a streaming
  writer, ten times the rows should take about ten times as long and no more memory.

Prints seconds, peak RSS and the ratios to the bare writes (×1.00 = as fast/small as a
bare write). Linux only (fork, wait4).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import sqlite3
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
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
            " created_at, updated_at) VALUES (?, ?, 'annual_report', ?, 1, ?, ?, ?)",
            (
                (facilities + n, n, str(YEAR), "submitted" if n % 10 < 6 else "draft", STAMP, STAMP)
                for n in range(1, facilities + 1)
                if n % 10 < 7
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


_BARE_FACILITIES = """
SELECT f.code, f.name, f.tax_code, f.commune_code, f.former_district, f.sector_code,
       f.size_class, f.address, f.phone,
       MAX(CASE a.name WHEN 'contact_name' THEN a.value END),
       MAX(CASE a.name WHEN 'contact_role' THEN a.value END),
       MAX(CASE a.name WHEN 'contact_phone' THEN a.value END),
       MAX(CASE a.name WHEN 'main_product' THEN a.value END),
       MAX(CASE a.name WHEN 'product_unit' THEN a.value END),
       MAX(CASE a.name WHEN 'employees' THEN a.value END),
       (SELECT COUNT(*) FROM users u WHERE u.facility_id = f.id),
       s.status, s.updated_at
FROM facilities f
LEFT JOIN drafts s ON s.facility_id = f.id AND s.form_id = 'annual_report' AND s.period = ?
LEFT JOIN drafts p ON p.facility_id = f.id AND p.form_id = 'facility_profile'
LEFT JOIN draft_answers a ON a.draft_id = p.id
GROUP BY f.id ORDER BY f.code
"""
_BARE_NOT_REPORTED = """
SELECT f.code, f.name, f.commune_code, f.former_district, f.sector_code, f.size_class,
       f.phone, (SELECT COUNT(*) FROM users u WHERE u.facility_id = f.id), s.status, s.updated_at
FROM facilities f
LEFT JOIN drafts s ON s.facility_id = f.id AND s.form_id = 'annual_report' AND s.period = ?
WHERE s.status IS NULL OR s.status != 'submitted' ORDER BY f.code
"""


def _bare_rows(database: Path) -> Iterator[tuple[str, Iterator[tuple[object, ...]]]]:
    connection = sqlite3.connect(database)
    try:
        for name, sql in (("facilities", _BARE_FACILITIES), ("not_reported", _BARE_NOT_REPORTED)):
            yield name, connection.execute(sql, (str(YEAR),))
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
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, rows in _bare_rows(database):
            with (
                archive.open(f"{name}.csv", "w") as raw,
                io.TextIOWrapper(raw, encoding="utf-8", newline="") as handle,
            ):
                writer = csv.writer(handle)
                for row in rows:
                    writer.writerow(row)
                    written += 1
    return written


def program_export(database: Path, out: Path, fmt: str) -> int:
    request = ExportRequest(YEAR, FacilityFilter(), "xlsx" if fmt == "xlsx" else "csv")
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
            "export CSV": measure(lambda: program_export(big_db, work / "e.zip", "csv")),
            "bare CSV": measure(lambda: bare_csv(big_db, work / "b.zip")),
            "export XLSX, 1/10": measure(lambda: program_export(small_db, work / "s.xlsx", "xlsx")),
        }
    print(
        f"sxsh-bot export benchmark: {facilities:,} facilities, year {YEAR} "
        f"(idle child: {idle[1]:.0f} MB)"
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
