"""The fan-out benchmark runs, in its quick mode, and finds no duplicate and no miss."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_quick_fan_out_benchmark_delivers_each_reminder_exactly_once() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "reminders.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "duplicates 0, misses 0" in done.stdout
    assert "marked sent in the database: 60" in done.stdout
    assert "of the limit" in done.stdout
