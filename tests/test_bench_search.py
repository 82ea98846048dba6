"""The search benchmark runs, in its quick mode, and reports its figures next to the
bare FTS5 baseline measured in the same run."""

from __future__ import annotations

import re

from tests.support.bench import run_quick


def test_the_quick_search_benchmark_prints_p50_and_p95_for_both_and_their_ratios() -> None:
    printed = run_quick("search.py", timeout=90)
    lines = printed.splitlines()
    assert "× 3 rounds" in lines[0]
    for row in ("library search (µs)", "bare FTS5 query (µs)"):
        line = next(line for line in lines if line.startswith(row))
        p50, p95, mean = (float(value) for value in line[len(row) :].split())
        assert 0 < p50 <= p95 and mean > 0
    ratios = re.findall(r"([0-9.]+)×", next(line for line in lines if line.startswith("ratio")))
    assert len(ratios) == 3 and all(float(ratio) > 0 for ratio in ratios)
