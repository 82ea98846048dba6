"""The report benchmark's quick mode still runs, so the benchmark cannot rot unnoticed.
Its figures are printed, never asserted: speed is judged by the ratios it prints."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.report_flow import main


def test_the_report_benchmark_runs_in_quick_mode_and_prints_both_sides_and_the_ratios(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--quick", "--workdir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "updates/s" in printed and "p50" in printed and "p95" in printed
    assert "sxsh-bot report flow" in printed
    assert "bare PTB echo handler" in printed
    assert "ratio bot / echo" in printed
