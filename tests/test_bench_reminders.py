"""The fan-out benchmark runs, in its quick mode, and finds no duplicate and no miss."""

from __future__ import annotations

from tests.support.bench import run_quick


def test_the_quick_fan_out_benchmark_delivers_each_reminder_exactly_once() -> None:
    printed = run_quick("reminders.py", timeout=90)
    assert "duplicates 0, misses 0" in printed
    assert "marked sent in the database: 60" in printed
    assert "of the limit" in printed
