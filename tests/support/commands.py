"""The project's command line, run as a user runs it: `python -m tools ...` in a new process from the root."""

from __future__ import annotations

import os
import subprocess
import sys

from program.config import PROJECT_ROOT


def run_tools(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m tools ARGS` in a new process, from the project's root, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "tools", *args],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, **(env or {})},
    )
