"""The export benchmark runs (quick mode) and prints its table with ratios."""

from __future__ import annotations

from pathlib import Path

from tests.support.bench import run_quick


def test_the_quick_export_benchmark_prints_times_memory_and_ratios(tmp_path: Path) -> None:
    printed = run_quick("export.py", cwd=tmp_path)
    lines = printed.splitlines()
    assert lines[0].startswith("sxsh-bot export benchmark: 2,000 facilities")
    rows = {line[:24].strip(): line[24:].split() for line in lines[2:-1]}
    assert set(rows) == {
        "export XLSX",
        "bare XLSX",
        "export CSV",
        "bare CSV",
        "export XLSX, 1/10",
        "whole file XLSX",
    }
    assert rows["export XLSX"][0] == rows["bare XLSX"][0] == "2,000"  # one per facility-year
    assert rows["export CSV"][0] == rows["bare CSV"][0] == "2,000"
    assert len(rows["export XLSX"]) == 5 and len(rows["bare XLSX"]) == 3  # ratios vs bare
    assert lines[-1].startswith("10× the rows:")
