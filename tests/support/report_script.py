"""A yearly report as a rice-noodle maker's manager types it, one message per step.

Used by the end-to-end and console tests and by `bench/report_flow.py`, so they all walk
the same path through `flows/forms/annual_report.yaml` (numbers typed the Vietnamese way);
`stored_reports` reads back what a submission stored, to compare channels.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

FULL_REPORT: tuple[str, ...] = (
    "/report",
    "có",  # management has learned about SXSH
    "1, 3",  # through a training course and an adviser visit
    "12",  # staff trained this year
    "có",  # applied SXSH
    "1, 4",  # good housekeeping, equipment modification
    "Sửa rò rỉ hơi, tắt máy khi không sản xuất",
    "Thay nồi hấp bằng nồi có bảo ôn",
    "bánh phở tươi",
    "tấn",
    "1.250,5",  # output
    "1, 2, 3, 4",  # electricity, fuel, water, main raw material
    "2024",  # baseline year
    "125,5",
    "100,4",
    "có",  # electricity: 20 % saved
    "1",  # coal
    "1",  # in tonnes
    "0,35",
    "0,28",
    "có",  # fuel: 20 % saved
    "12,5",
    "10",
    "có",  # water: 20 % saved
    "gạo",
    "1",  # tonnes
    "1,02",
    "0,98",
    "có",  # rice: 3,92 % saved
    "150 triệu",  # investment
    "100.000.000",  # yearly savings
    "có",  # payback 1,5 years
    "có",  # a dedicated SXSH unit …
    "2",  # … of two people
    "Đề nghị Sở tổ chức thêm lớp tập huấn",
    "Hoàng Thị Mai",
    "0912 345 678",
)
SUBMIT = "1"

# A facility that did not apply SXSH this year: seven answers and it is done.
NOT_APPLIED: tuple[str, ...] = (
    "/report",
    "có",  # management has learned about SXSH …
    "1",  # … through a training course
    "0",  # nobody trained this year
    "không",  # did not apply
    "2",  # not enough money to invest
    "-",  # no more detail
    "có",  # wants an adviser to call
)


REPORT_TABLES = ("report_revisions", "report_resources", "report_measures")
# Row ids and the chat user who submitted differ from one database to another.
NOT_COMPARED = frozenset({"id", "revision_id", "draft_id", "submitted_by"})


def stored_reports(db_path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every stored report row, table by table, in order, with every column but those
    that differ between two databases given the same answers at the same time."""
    found: dict[str, list[tuple[object, ...]]] = {}
    with sqlite3.connect(db_path) as connection:
        for table in REPORT_TABLES:
            columns = [
                str(name)
                for _cid, name, *_rest in connection.execute(f"PRAGMA table_info({table})")
                if name not in NOT_COMPARED
            ]
            found[table] = connection.execute(
                f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid"
            ).fetchall()
    return found
