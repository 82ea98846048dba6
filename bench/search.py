"""How long a question to the guidance library takes, next to a bare FTS5 query.

    python bench/search.py            # 200 rounds over the question table
    python bench/search.py --quick    # 3 rounds (the test suite runs this once)

For every question of `tests/fixtures/search_questions.yaml`, each round times the
library search the chat uses (folding, phrase and synonym expansion, BM25 with column
weights, sector boost, every match ranked) and, right after it, the bare SQLite FTS5
query on the same in-memory index (`MATCH … ORDER BY rank LIMIT 3`, with the MATCH text
prepared beforehand). Timing both in turn keeps them under the same conditions; the
ratios say what the search adds to the engine underneath. No wall-clock goal is
asserted anywhere.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.library import load_library  # noqa: E402
from knowledge.search import GuidanceIndex  # noqa: E402

QUESTIONS = ROOT / "tests" / "fixtures" / "search_questions.yaml"


def percentile(samples: Sequence[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="passes over the table")
    parser.add_argument("--quick", action="store_true", help="3 rounds, for the test suite")
    args = parser.parse_args(argv)
    rounds = 3 if args.quick else args.rounds

    started = time.perf_counter()
    library = load_library()
    loaded = time.perf_counter()
    index = GuidanceIndex(library)
    built = time.perf_counter()
    rows = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    questions = [(str(row["q"]), row.get("sector")) for row in rows]
    expressions = [index.match_expression(question) or '""' for question, _sector in questions]

    ours: list[float] = []
    bare: list[float] = []
    clock = time.perf_counter_ns
    for _round in range(rounds):
        for (question, sector), expression in zip(questions, expressions, strict=True):
            start = clock()
            index.search(question, sector)
            middle = clock()
            index.bare_search(expression)
            end = clock()
            ours.append((middle - start) / 1000)
            bare.append((end - middle) / 1000)
    index.close()

    p50 = (percentile(ours, 0.5), percentile(bare, 0.5))
    p95 = (percentile(ours, 0.95), percentile(bare, 0.95))
    print(
        f"guidance search: {len(questions)} questions × {rounds} rounds "
        f"= {len(ours)} searches each way"
    )
    print(f"{'':22}{'p50':>10}{'p95':>10}{'mean':>10}")
    print(f"{'library search (µs)':22}{p50[0]:10.1f}{p95[0]:10.1f}{statistics.fmean(ours):10.1f}")
    print(f"{'bare FTS5 query (µs)':22}{p50[1]:10.1f}{p95[1]:10.1f}{statistics.fmean(bare):10.1f}")
    ratio_mean = statistics.fmean(ours) / statistics.fmean(bare)
    print(f"{'ratio':22}{p50[0] / p50[1]:9.1f}×{p95[0] / p95[1]:9.1f}×{ratio_mean:9.1f}×")
    print(
        f"library loaded in {(loaded - started) * 1000:.1f} ms ({len(library)} snippets), "
        f"index built in {(built - loaded) * 1000:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
