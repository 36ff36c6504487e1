#!/usr/bin/env python3
"""Benchmarks (not tests): how long config validation, an offline plan and packaging take.

Run with `.venv/bin/python scripts/benchmark.py`; prints one line per measurement (median of N runs).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components.packaging import zip_bytes  # noqa: E402
from program.config import MappingConfigSource, load_settings  # noqa: E402
from tools.engine import stack_config  # noqa: E402
from tools.plan import plan  # noqa: E402


def median_ms(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    config, _ = stack_config("multi")
    source = MappingConfigSource(config)
    print(f"validate multi stack config:        {median_ms(lambda: load_settings(source), 200):8.2f} ms")
    echo = ROOT / "lambda_src" / "echo"
    print(f"zip lambda_src/echo:                 {median_ms(lambda: zip_bytes(echo), 200):8.2f} ms")
    print(f"offline plan, dev (in process):      {median_ms(lambda: plan('dev'), 10):8.1f} ms")
    print(f"offline plan, multi (in process):    {median_ms(lambda: plan('multi'), 10):8.1f} ms")
    command = [sys.executable, "-m", "tools", "plan", "--stack", "dev", "--json"]
    cold = median_ms(lambda: subprocess.run(command, cwd=ROOT, capture_output=True, check=True), 3)
    print(f"plan command, dev (new process):     {cold:8.0f} ms")


if __name__ == "__main__":
    main()
