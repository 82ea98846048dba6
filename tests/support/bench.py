"""Running a benchmark script in its quick mode, as a user would, outside any SXSH_ setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def run_quick(script: str, cwd: Path = ROOT, timeout: float = 110) -> str:
    """Run `bench/<script> --quick`; fail with its output if it fails; return its stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SXSH_")}
    finished = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), "--quick"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        env=env,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    return finished.stdout
