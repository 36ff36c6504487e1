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

- the scale table (`--scale`, issue 29): per number of functions, plain and with stack-wide protection (`auto`):
  the plan's CPU and wall time and peak memory (whole processes), the preflight's CEL evaluations, the reads and
  API listings per preview, and the state's size after `up` in the deploy harness (tests/support/lifecycle.py, up to
  `--state-max` functions: larger ups in moto take minutes on a loaded machine);
- `--profile N1,N2`: where each added function's plan time goes, by cProfile (own time per part: our components
  and program, the preflight's CEL, the Pulumi SDK, the mock engine that stands in for the CLI, protobuf/gRPC, the
  rest), as the difference between N1 and N2 functions.

Run `.venv/bin/python scripts/benchmark.py [--repeat 3] [--sizes 1,10,50,200,500] [--discovered 200] [--json FILE]
[--packages-only] [--scale [--scale-sizes 1,50,200,500] [--state-max 50]] [--profile 10,50]`.
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
# What `pulumi up` runs before the program's first line (__main__.py's imports): the floor a deploy pays.
PROGRAM_IMPORTS = "import program.stack, program.config, program.runtime"


def stack_file(directory: Path, name: str, functions: int, extra: dict[str, Any]) -> str:
    config = {
        "aws:region": "us-east-1",
        "kgateway-lambda:functions": [{"name": f"fn{i:03d}"} for i in range(functions)],
        **extra,
    }
    (directory / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))
    return name


def timed_process(command: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system: what a loaded machine inflates least) and peak resident MB of one
    process."""
    # As `pulumi up` runs the program: Python caching its bytecode (a PYTHONDONTWRITEBYTECODE=1 environment, as
    # some sandboxes set, compiles every module of ours afresh each run: 0.07 s more of imports here).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    stderr = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {stderr[-2000:]}")
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def repeated(command: list[str], repeat: int) -> dict[str, float]:
    runs = [timed_process(command) for _ in range(repeat)]
    times = [t for t, _, _ in runs]
    return {
        "min_s": min(times),
        "median_s": statistics.median(times),
        "cpu_min_s": min(c for _, c, _ in runs),
        "peak_mb": max(m for _, _, m in runs),
    }


def plan_series(sizes: list[int], repeat: int, directory: Path) -> dict[str, Any]:
    floor = repeated([sys.executable, "-c", IMPORT_FLOOR], repeat)
    program_floor = repeated([sys.executable, "-c", PROGRAM_IMPORTS], repeat)
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
        "program_import_floor": program_floor,
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


# Stack-wide protection for the scale table's protected rows (with `auto`: the TrafficPolicy CRD and controller reads).
SCALE_PROTECTION = {"rateLimit": {"requestsPerSecond": 5}, "cors": {"allowOrigins": ["https://app.example.com"]}}
CLUSTER_OPTIONS = (
    *("--kgateway-crd", str(ROOT / "program/crds/kgateway-main-354c0f6-backends.yaml")),
    *("--kgateway-crd", str(ROOT / "program/crds/kgateway-main-354c0f6-trafficpolicies.yaml")),
    *("--kgateway-image", "cr.kgateway.dev/kgateway-dev/kgateway:v2.4.0"),
)
LISTINGS = ("aws:lambda/getFunctions:getFunctions", "aws:cloudwatch/getLogGroups:getLogGroups")


class CountingMocks(PlaceholderMocks):
    """The offline plan's mocks, counting the reads and invokes a preview makes (what an engine sends the cluster
    and AWS), answering the cluster's reads as a cluster running kgateway main would."""

    def __init__(self, config: dict[str, str]):
        from tests.support.kgateway_reference import MAIN_BACKEND_CRD, MAIN_TRAFFIC_POLICY_CRD
        from tools.engine_answers import KGATEWAY_IMAGE, read_crd_files

        super().__init__(config, read_crd_files([MAIN_BACKEND_CRD, MAIN_TRAFFIC_POLICY_CRD]), None, KGATEWAY_IMAGE)
        self.reads = 0
        self.invokes: dict[str, int] = {}

    def new_resource(self, args: Any) -> tuple[str, dict[str, Any]]:
        self.reads += 1 if args.resource_id else 0
        return super().new_resource(args)

    def call(self, args: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.invokes[args.token] = self.invokes.get(args.token, 0) + 1
        return super().call(args)


def scale_config(functions: int, protected: bool) -> dict[str, Any]:
    extra: dict[str, Any] = dict(SCALING_MODE)
    if protected:
        extra["kgateway-lambda:protection"] = SCALE_PROTECTION
    return extra


def preview_counts(directory: Path, name: str) -> dict[str, int]:
    """Deterministic counts of one preview: reads, API listings, all invokes, CEL evaluations, resources."""
    from program import crd_validation

    config, secret_keys = stack_config(name, directory)
    mocks = CountingMocks(config)
    crd_validation._verdict.cache_clear()
    run = run_program(mocks, config, secret_keys, stack=name, preview=True)
    return {
        "reads": mocks.reads,
        "listings": sum(mocks.invokes.get(token, 0) for token in LISTINGS),
        "invokes": sum(mocks.invokes.values()),
        "cel_evaluations": crd_validation._verdict.cache_info().misses,
        "resources": len(run.resources),
    }


def state_kb(functions: int, protected: bool) -> tuple[float, float]:
    """The state's JSON size after `up` in the deploy harness (KB): inputs and outputs by URN (issue 29's
    measure), and with the dependency graph the checkpoint keeps beside (tests/support/state.py `state_bytes`)."""
    from tests.support.lifecycle import MotoDeployment, dev_config
    from tests.support.moto_account import moto_account
    from tests.support.state import state_bytes

    overrides = {"functions": json.dumps([{"name": f"fn{i:03d}"} for i in range(functions)])}
    if protected:
        overrides["protection"] = json.dumps(SCALE_PROTECTION)
    with moto_account() as session:
        deployment = MotoDeployment(session)
        deployment.up(dev_config(**overrides))
        return state_bytes(deployment.deployed) / 1000, state_bytes(deployment.deployed, with_graph=True) / 1000


def scale_table(sizes: list[int], repeat: int, state_max: int, directory: Path) -> list[dict[str, Any]]:
    rows = []
    for protected in (False, True):
        for size in sizes:
            name = stack_file(directory, f"scale{size}{'p' if protected else ''}", size, scale_config(size, protected))
            base = [sys.executable, "-m", "tools", "plan", "--stack", name, "--stacks-dir", str(directory), "--json"]
            base += [*CLUSTER_OPTIONS]  # `auto` planned for a cluster running kgateway main, as the counts are
            row: dict[str, Any] = {"functions": size, "protected": protected, **repeated(base, repeat)}
            row.update(preview_counts(directory, name))
            if size <= state_max:
                row["state_kb"], row["state_with_graph_kb"] = state_kb(size, protected)
            rows.append(row)
            print(
                f"  scale: {size} functions{' protected' if protected else ''}: {row['cpu_min_s']:.2f} s CPU",
                file=sys.stderr,
            )
    return rows


def print_scale(rows: list[dict[str, Any]]) -> None:
    print(
        "\n| functions | protection | plan CPU min (s) | wall min (s) | peak MB | CEL evaluations | reads | listings |",
        end="",
    )
    print(" state (KB) | with graph (KB) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        state = f"{row['state_kb']:.0f} | {row['state_with_graph_kb']:.0f}" if "state_kb" in row else "– | –"
        print(
            f"| {row['functions']} | {'stack-wide' if row['protected'] else 'none'} | {row['cpu_min_s']:.2f} | "
            f"{row['min_s']:.2f} | {row['peak_mb']:.0f} | {row['cel_evaluations']} | {row['reads']} | "
            f"{row['listings']} | {state} |"
        )
    for protected in (False, True):
        series = [r for r in rows if r["protected"] == protected]
        label = "protected" if protected else "plain"
        for before, after in itertools.pairwise(series):
            added = after["functions"] - before["functions"]
            cpu = (after["cpu_min_s"] - before["cpu_min_s"]) / added * 1000
            cel = (after["cel_evaluations"] - before["cel_evaluations"]) / added
            line = f"{label}, per added function {before['functions']}→{after['functions']}: {cpu:.1f} ms CPU, "
            line += f"{cel:.1f} CEL evaluations"
            if "state_kb" in before and "state_kb" in after:
                line += f", {(after['state_kb'] - before['state_kb']) / added:.1f} KB of state"
                line += f" ({(after['state_with_graph_kb'] - before['state_with_graph_kb']) / added:.1f} KB with graph)"
            print(line)


# Where a plan's time goes, by cumulative time of entry points (file fragment, function name).
PROFILE_ENTRIES = {
    "program": ("__main__.py", "<module>"),
    "preflight": ("program/preflight.py", "preflight_problems"),
    "cel": ("program/crd_validation.py", "_verdict"),
    "jsonschema": ("program/crd_validation.py", "schema_violations"),
}
OURS = ("/components/", "/program/", "__main__.py")
ENGINE = "the mock engine answering the SDK (the Pulumi engine's part in a real run: another process)"
OWN = "of all the above, our own code's own time (components/, program/ but CEL)"


def engine_cpu(run: Any) -> float:
    """`run()`, returning the CPU seconds the mock engine spent answering the SDK (in the SDK's executor threads:
    the Pulumi engine's part in a real run, another process), by a thread-CPU clock around each monitor call."""
    import threading

    from tools import engine

    spent = [0.0]
    lock = threading.Lock()
    monitor: Any = engine._RecordingMonitor
    saved = {m: getattr(monitor, m) for m in ("RegisterResource", "ReadResource", "Invoke", "RegisterResourceOutputs")}

    def timed(method: Any) -> Any:
        def call(self: Any, request: Any) -> Any:
            start = time.thread_time()
            try:
                return method(self, request)
            finally:
                with lock:
                    spent[0] += time.thread_time() - start

        return call

    for name, method in saved.items():
        setattr(monitor, name, timed(method))
    try:
        run()
    finally:
        for name, method in saved.items():
            setattr(monitor, name, method)
    return spent[0]


def profile_parts(directory: Path, name: str) -> dict[str, float]:
    """One plan under cProfile (its default clock: a CPU clock per call costs a system call, which would swamp what
    it measures); the parts are shares of the main thread's time, scaled to the unprofiled CPU by the caller."""
    import cProfile
    import pstats

    from program import crd_validation

    crd_validation._verdict.cache_clear()
    profiler = cProfile.Profile()
    profiler.enable()
    program_run(directory, name)
    profiler.disable()
    stats: Any = pstats.Stats(profiler)
    cumulative = dict.fromkeys(PROFILE_ENTRIES, 0.0)
    main_thread = own_ours = 0.0
    for (filename, _, function), (_, _, own, total, _) in stats.stats.items():
        main_thread += own
        if any(f in filename for f in OURS) and "crd_validation" not in filename:
            own_ours += own
        for key, (fragment, entry) in PROFILE_ENTRIES.items():
            if filename.endswith(fragment) and function == entry:
                cumulative[key] = max(cumulative[key], total)
    preflight = cumulative["preflight"]
    return {
        "preflight: CEL evaluations in cel-python": cumulative["cel"],
        "preflight: the rest (schema check, defaults, manifests, path rules in Python)": preflight - cumulative["cel"],
        "program body after the preflight (components, SDK constructors)": cumulative["program"] - preflight,
        "Pulumi SDK after the body: registrations, outputs (the event loop)": main_thread - cumulative["program"],
        OWN: own_ours,
    }


def profile_per_function(sizes: list[int], directory: Path) -> dict[str, Any]:
    small, large = sizes
    program_run(directory, stack_file(directory, "warm", 1, SCALING_MODE))  # imports and caches, outside the count
    names = {n: stack_file(directory, f"profile{n}", n, SCALING_MODE) for n in sizes}
    from program import crd_validation

    cpu: dict[int, float] = {}
    engine: dict[int, float] = {}
    for n in sizes:  # unprofiled: the process's CPU time, the least of three runs (the engine's with it)
        runs = []
        for _ in range(3):
            crd_validation._verdict.cache_clear()
            start = time.process_time()
            spent = engine_cpu(lambda n=n: program_run(directory, names[n]))
            runs.append((time.process_time() - start, spent))
        cpu[n], engine[n] = min(runs)
    measured = {n: profile_parts(directory, names[n]) for n in sizes}
    per = {label: (measured[large][label] - measured[small][label]) / (large - small) for label in measured[large]}
    profiled = sum(seconds for label, seconds in per.items() if label != OWN)
    engine_per_function = (engine[large] - engine[small]) / (large - small)
    cpu_per_function = (cpu[large] - cpu[small]) / (large - small)
    program_per_function = cpu_per_function - engine_per_function
    scaled = {label: seconds / profiled * program_per_function for label, seconds in per.items()}
    scaled[ENGINE] = engine_per_function
    return {"sizes": sizes, "per_function_s": scaled, "cpu_per_function_s": cpu_per_function}


def print_profile(profile: dict[str, Any]) -> None:
    small, large = profile["sizes"]
    total = profile["cpu_per_function_s"]
    print(
        f"\nper added function ({small} → {large} functions, in process): {total * 1000:.1f} ms of CPU; the mock ",
        end="",
    )
    print("engine's by a thread clock, the program's split by cProfile's shares:")
    for label, seconds in profile["per_function_s"].items():
        print(f"  {label}: {seconds * 1000:.1f} ms ({seconds / total * 100:.0f}%)")


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
    for label, statement in (("import_floor", IMPORT_FLOOR), ("program_import_floor", PROGRAM_IMPORTS)):
        floor = series[label]
        print(f'\nimport floor (`python -c "{statement}"`): CPU min {floor["cpu_min_s"]:.2f} s; ', end="")
        print(f"wall min {floor['min_s']:.2f} s, median {floor['median_s']:.2f} s")
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
    parser.add_argument("--scale", action="store_true", help="only the scale table (issue 29)")
    parser.add_argument("--scale-sizes", default="1,50,200", help="functions per row of the scale table (add 500)")
    parser.add_argument("--state-max", type=int, default=50, help="largest stack whose state the harness measures")
    parser.add_argument("--profile", metavar="N1,N2", help="only where each added function's plan time goes")
    options = parser.parse_args()
    if options.scale or options.profile:
        with tempfile.TemporaryDirectory() as temporary:
            if options.scale:
                sizes = sorted({int(s) for s in options.scale_sizes.split(",")})
                print_scale(scale_table(sizes, options.repeat, options.state_max, Path(temporary)))
            if options.profile:
                print_profile(profile_per_function(sorted(int(s) for s in options.profile.split(",")), Path(temporary)))
        return
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
