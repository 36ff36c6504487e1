#!/usr/bin/env python3
"""Benchmarks (not tests): what a user waits for, measured as they meet it.

- the offline plan (`python -m tools plan`) as whole processes, for 1 to 500 functions: wall time (min and median
  of `--repeat` runs) and peak memory, the cost per added function, and the import floor under it;
- the deploy's critical path (from the program's real dependency graph) and its estimated time, from the table of
  create latencies in tools/graph.py, which it prints;
- resources and IAM writes per function, with a role per function and with `sharedExecutionRole`;
- the plan of 200 functions found by tag (`discover`), beside the same functions listed by ARN;
- packaging the example functions (components/packaging.py `build_package`, as the program builds them before any
  resource): a cold build into an empty build folder (dependencies installed: pip/npm's own download caches are
  left as they are), a cached build (the same folder again: what every later `up` pays), the artifact's zipped and
  unzipped size, and whether two cold builds give the same bytes.

Run `.venv/bin/python scripts/benchmark.py [--repeat 3] [--sizes 1,10,50,200,500] [--discovered 200] [--json FILE]
[--packages-only]`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from components.packaging import build_package, unzipped_size  # noqa: E402
from tools.engine import ProgramRun, run_program, stack_config  # noqa: E402
from tools.graph import CREATE_SECONDS, DEFAULT_SECONDS, critical_path  # noqa: E402
from tools.plan import PlaceholderMocks  # noqa: E402

# The scaling series uses `provided` keys: the one credentials mode IAM's managed-policy quota does not cap (the
# other modes refuse more than about 360 functions per identity), so every size plans the same kind of stack.
SCALING_MODE = {
    "kgateway-lambda:credentialsMode": "provided",
    "kgateway-lambda:accessKeyId": {"secure": "v1:benchmark"},
    "kgateway-lambda:secretAccessKey": {"secure": "v1:benchmark"},
}
IMPORT_FLOOR = "import tools.__main__, tools.plan, program.stack"


def stack_file(directory: Path, name: str, functions: int, extra: dict[str, Any]) -> str:
    config = {
        "aws:region": "us-east-1",
        "kgateway-lambda:functions": [{"name": f"fn{i:03d}"} for i in range(functions)],
        **extra,
    }
    (directory / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))
    return name


def timed_process(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {stderr[-2000:]}")
    return elapsed, usage.ru_maxrss / 1024


def repeated(command: list[str], repeat: int) -> dict[str, float]:
    runs = [timed_process(command) for _ in range(repeat)]
    times = [t for t, _ in runs]
    return {"min_s": min(times), "median_s": statistics.median(times), "peak_mb": max(m for _, m in runs)}


def plan_series(sizes: list[int], repeat: int, directory: Path) -> dict[str, Any]:
    floor = repeated([sys.executable, "-c", IMPORT_FLOOR], repeat)
    plans: dict[int, dict[str, float]] = {}
    for size in sizes:
        name = stack_file(directory, f"bench{size}", size, SCALING_MODE)
        command = [sys.executable, "-m", "tools", "plan", "--stack", name, "--stacks-dir", str(directory), "--json"]
        plans[size] = repeated(command, repeat)
        print(f"  planned {size} functions: {plans[size]['min_s']:.2f} s", file=sys.stderr)
    # The cost of each added function: the slope between consecutive sizes. Linear growth means equal slopes; the
    # spread is taken from 10 functions on (below that, one-off costs of the first objects dominate).
    per_function = {
        size: (plans[size]["min_s"] - plans[previous]["min_s"]) / (size - previous)
        for previous, size in itertools.pairwise(sizes)
    }
    compared = [cost for size, cost in per_function.items() if size > 10] or list(per_function.values())
    mean = statistics.mean(compared) if compared else 0.0
    spread = max(abs(cost - mean) / mean for cost in compared) if compared else 0.0
    smallest = sizes[0]
    return {
        "import_floor": floor,
        "plans": plans,
        "per_function_s": per_function,
        "per_function_spread": spread,
        "one_function_above_floor_s": plans[smallest]["min_s"] - floor["min_s"] if smallest == 1 else None,
    }


def discovery_figures(count: int, repeat: int, directory: Path) -> dict[str, Any]:
    """The offline plan of a stack that routes `count` functions found by tag (`discover`, `functions: []`), the
    tagging API's answer given as `aws resourcegroupstaggingapi get-resources` prints it (`--tagged FILE`); beside
    it, the same functions written out as `functionArn` entries: what discovery itself costs."""
    arns = [f"arn:aws:lambda:us-east-1:123456789012:function:team-fn{i:03d}" for i in range(count)]
    listing = {
        "ResourceTagMappingList": [
            {"ResourceARN": arn, "Tags": [{"Key": "kgateway-lambda/route", "Value": ""}]} for arn in arns
        ]
    }
    tagged = directory / "tagged.json"
    tagged.write_text(json.dumps(listing))
    found = f"discovered{count}"
    config: dict[str, Any] = {
        "aws:region": "us-east-1",
        "kgateway-lambda:functions": [],
        "kgateway-lambda:discover": {"tag": "kgateway-lambda/route"},
        **SCALING_MODE,
    }
    (directory / f"Pulumi.{found}.yaml").write_text(yaml.safe_dump({"config": config}))
    listed = f"listed{count}"
    config = {**config, "kgateway-lambda:functions": [{"arn": arn} for arn in arns]}
    del config["kgateway-lambda:discover"]
    (directory / f"Pulumi.{listed}.yaml").write_text(yaml.safe_dump({"config": config}))
    base = [sys.executable, "-m", "tools", "plan", "--stacks-dir", str(directory), "--json"]
    discovered = repeated([*base, "--stack", found, "--tagged", str(tagged)], repeat)
    listed_by_arn = repeated([*base, "--stack", listed], repeat)
    print(f"  planned {count} discovered functions: {discovered['min_s']:.2f} s", file=sys.stderr)
    return {"functions": count, "discovered": discovered, "listed_by_arn": listed_by_arn}


def program_run(directory: Path, name: str) -> ProgramRun:
    config, secret_keys = stack_config(name, directory)
    return run_program(PlaceholderMocks(config), config, secret_keys, stack=name, preview=True)


def counts(run: ProgramRun) -> tuple[int, int]:
    """Resources the deploy creates (not components, not reads) and how many of them are IAM writes."""
    created = [r for r in run.resources if r.custom and r.read_id is None]
    return len(created), sum(1 for r in created if r.type.startswith("aws:iam/"))


def graph_figures(directory: Path, many: int) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    layouts = {"role per function": {}, "sharedExecutionRole": {"kgateway-lambda:sharedExecutionRole": "true"}}
    for label, extra in layouts.items():
        key = label.replace(" ", "_")
        one = program_run(directory, stack_file(directory, f"{key}1", 1, extra))
        lots = program_run(directory, stack_file(directory, f"{key}{many}", many, extra))
        (one_resources, one_iam), (lots_resources, lots_iam) = counts(one), counts(lots)
        path, path_many = critical_path(one), critical_path(lots)
        figures[label] = {
            "critical_path": path.kinds,
            "critical_path_estimate_s": path.seconds,
            f"critical_path_estimate_s_{many}_functions": path_many.seconds,
            "resources_one_function": one_resources,
            "iam_writes_one_function": one_iam,
            "resources_per_added_function": round((lots_resources - one_resources) / (many - 1), 2),
            "iam_writes_per_added_function": round((lots_iam - one_iam) / (many - 1), 2),
        }
    return figures


# The example functions as stacks/Pulumi.functions.yaml (and the dev stack) build them: source, runtime, architecture.
EXAMPLE_FUNCTIONS = (
    ("greet-python", "python3.13", "arm64"),
    ("uptime-node", "nodejs24.x", "x86_64"),
    ("echo", "nodejs24.x", "arm64"),
)


def package_figures(repeat: int) -> dict[str, dict[str, Any]]:
    """Per example function: cold and cached build times (min and median of `repeat`), sizes, reproducibility."""
    figures: dict[str, dict[str, Any]] = {}
    for source, runtime, architecture in EXAMPLE_FUNCTIONS:
        cold: list[float] = []
        cached: list[float] = []
        hashes: set[str] = set()
        data = b""
        for _ in range(repeat):
            with tempfile.TemporaryDirectory() as build:
                start = time.perf_counter()
                package = build_package(ROOT / "lambda_src" / source, runtime, architecture, Path(build), source)
                cold.append(time.perf_counter() - start)
                start = time.perf_counter()
                build_package(ROOT / "lambda_src" / source, runtime, architecture, Path(build), source)
                cached.append(time.perf_counter() - start)
                data = package.read_bytes()
                hashes.add(package.sha256_base64)
        figures[source] = {
            "runtime": runtime,
            "architecture": architecture,
            "cold_min_s": min(cold),
            "cold_median_s": statistics.median(cold),
            "cached_min_s": min(cached),
            "cached_median_s": statistics.median(cached),
            "zipped_bytes": len(data),
            "unzipped_bytes": unzipped_size(data),
            "same_bytes_every_cold_build": len(hashes) == 1,
        }
    return figures


def print_packages(packages: dict[str, dict[str, Any]]) -> None:
    print("\n| function | runtime, arch | cold build min / median (s) | cached min / median (ms) | zip (KiB) |", end="")
    print(" unzipped (KiB) | same bytes |")
    print("|---|---|---:|---:|---:|---:|---|")
    for source, f in packages.items():
        print(
            f"| {source} | {f['runtime']}, {f['architecture']} | {f['cold_min_s']:.3f} / {f['cold_median_s']:.3f} | "
            f"{f['cached_min_s'] * 1000:.1f} / {f['cached_median_s'] * 1000:.1f} | {f['zipped_bytes'] / 1024:.1f} | "
            f"{f['unzipped_bytes'] / 1024:.1f} | {'yes' if f['same_bytes_every_cold_build'] else 'NO'} |"
        )


def print_report(result: dict[str, Any]) -> None:
    print(f"machine: {result['machine']}")
    if "plan" not in result:
        print_packages(result["packages"])
        return
    series = result["plan"]
    floor = series["import_floor"]
    print(f'\nimport floor (`python -c "{IMPORT_FLOOR}"`): ', end="")
    print(f"min {floor['min_s']:.2f} s, median {floor['median_s']:.2f} s")
    print("\n| functions | plan min (s) | plan median (s) | peak memory (MB) | per function added (ms) |")
    print("|---:|---:|---:|---:|---:|")
    for size, figures in series["plans"].items():
        added = series["per_function_s"].get(size)
        cost = f"{added * 1000:.1f}" if added is not None else "–"
        print(f"| {size} | {figures['min_s']:.2f} | {figures['median_s']:.2f} | {figures['peak_mb']:.0f} | {cost} |")
    print(f"\nper added function, from 10 functions on: within ±{series['per_function_spread'] * 100:.0f}% of its mean")
    if series["one_function_above_floor_s"] is not None:
        print(f"one-function plan above the import floor: {series['one_function_above_floor_s']:.2f} s")
    print("\ncreate latencies assumed for the critical path (s):")
    for type_, seconds in sorted(result["create_seconds"].items()):
        print(f"  {type_}: {seconds}")
    print(f"  anything else, and reads: {DEFAULT_SECONDS}")
    found: dict[str, Any] = result["discovery"]
    print(f"\nplan of {found['functions']} functions found by tag (`discover`, `--tagged`): ", end="")
    print(f"min {found['discovered']['min_s']:.2f} s, median {found['discovered']['median_s']:.2f} s, ", end="")
    print(f"peak {found['discovered']['peak_mb']:.0f} MB; the same functions as `functionArn` entries: ", end="")
    print(f"min {found['listed_by_arn']['min_s']:.2f} s, median {found['listed_by_arn']['median_s']:.2f} s")
    for label, figures in result["graph"].items():
        print(f"\n{label}:")
        for key, value in figures.items():
            print(f"  {key}: {' → '.join(value) if isinstance(value, list) else value}")
    print_packages(result["packages"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (min and median reported)")
    parser.add_argument("--sizes", default="1,10,50,200,500", help="numbers of functions to plan")
    parser.add_argument("--discovered", type=int, default=200, help="functions found by tag to plan")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--packages-only", action="store_true", help="only the packaging of the example functions")
    options = parser.parse_args()
    sizes = sorted({int(s) for s in options.sizes.split(",")})
    result: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}",
    }
    if not options.packages_only:
        with tempfile.TemporaryDirectory() as temporary:
            directory = Path(temporary)
            result["plan"] = plan_series(sizes, options.repeat, directory)
            result["create_seconds"] = CREATE_SECONDS
            result["graph"] = graph_figures(directory, 200)
            result["discovery"] = discovery_figures(options.discovered, options.repeat, directory)
    result["packages"] = package_figures(options.repeat)
    print_report(result)
    if options.json is not None:
        options.json.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
