"""The search benchmark runs and reports its figures next to the bare FTS5 baseline."""

from __future__ import annotations

import re

import pytest

from bench.search import main


def test_the_quick_benchmark_prints_p50_and_p95_for_both_and_their_ratios(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "× 3 rounds" in out
    for row in ("library search (µs)", "bare FTS5 query (µs)"):
        line = next(line for line in out.splitlines() if line.startswith(row))
        p50, p95, mean = (float(value) for value in line[len(row) :].split())
        assert 0 < p50 <= p95 and mean > 0
    ratio_line = next(line for line in out.splitlines() if line.startswith("ratio"))
    ratios = re.findall(r"([0-9.]+)×", ratio_line)
    assert len(ratios) == 3 and all(float(ratio) > 0 for ratio in ratios)
