#!/usr/bin/env python3
"""A mutation run (not a test): plant one realistic bug at a time, run the suite, and see whether it notices.

Each mutation below is a single edit a developer could plausibly make, named for the behaviour it breaks. The
run applies it to a scratch copy of the repository (the working tree is never touched), runs the test suite
there (`pytest -x`: the first failing test kills the mutant), and reports killed and surviving mutants and the
kill rate. Mutations marked `equivalent` change no behaviour a user could observe (performance, or a value that
is provably the same); they are expected to survive and are left out of the rate.

Run `.venv/bin/python scripts/mutations.py [--only NAME ...] [--json FILE]` (about 10 minutes on 2 CPUs).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    old: str
    new: str
    equivalent: bool = False


MUTATIONS = [
    # --- region -------------------------------------------------------------------------------------------
    Mutation(
        "backend region hard-coded",
        "components/backend.py",
        '"region": args.get("region") or aws.get_region_output(opts=invoke).region,',
        '"region": args.get("region") or "us-east-1",',
    ),
    Mutation(
        "backend region from the default provider",
        "components/backend.py",
        "aws.get_region_output(opts=invoke).region,",
        "aws.get_region_output().region,",
    ),
    # --- dependencies -------------------------------------------------------------------------------------
    Mutation(
        "Backend no longer waits for the Secret",
        "components/credentials.py",
        "self.secret_name = secret.urn.apply(lambda _: resolved.secret_name)",
        "self.secret_name = pulumi.Output.from_input(resolved.secret_name)",
    ),
    Mutation(
        "HTTPRoute no longer waits for the Backend",
        "components/lambda_gateway_route.py",
        "backend_name=backend.backend_name,",
        'backend_name=backend_args["name"],',
    ),
    Mutation(
        "Backend waits for the Lambda function again",
        "components/lambda_gateway_route.py",
        "function_name: pulumi.Input[str] = plain_name",
        "function_name: pulumi.Input[str] = function.function_name",
    ),
    Mutation(
        "function no longer waits for its log group",
        "components/lambda_function.py",
        "log_group=log_group.name),",
        'log_group=f"/aws/lambda/{function_name}"),',
    ),
    Mutation(
        "created Gateway no longer waits for the GatewayParameters",
        "program/stack.py",
        "created = managed_gateway(settings, waits_for=parameters)",
        "created = managed_gateway(settings, waits_for=[])",
    ),
    # --- defaults -----------------------------------------------------------------------------------------
    Mutation(
        "default architecture x86_64",
        "components/lambda_function.py",
        'architectures=[plain(args.get("architecture")) or Architecture.ARM64.value],',
        'architectures=[plain(args.get("architecture")) or Architecture.X86_64.value],',
    ),
    Mutation(
        "default log retention 7 days",
        "components/lambda_function.py",
        'retention_in_days=whole(args.get("log_retention_days")) or 14,',
        'retention_in_days=whole(args.get("log_retention_days")) or 7,',
    ),
    Mutation(
        "an alias no longer publishes versions",
        "components/lambda_function.py",
        "publish=alias_name is not None,",
        "publish=False,",
    ),
    # --- verify -------------------------------------------------------------------------------------------
    Mutation(
        "verify: a status check passes any status",
        "tools/verify.py",
        "    if status != 200:\n",
        "    if status != 200 and expect != EXPECT_STATUS:\n",
    ),
    Mutation(
        "verify --invoke passes any payload",
        "tools/verify.py",
        "passed = payload == GUIDE_RESPONSE",
        "passed = bool(payload)",
    ),
    # --- packaging ----------------------------------------------------------------------------------------
    Mutation(
        "zip takes the file's mtime",
        "components/packaging.py",
        "date_time=_EPOCH)",
        'date_time=__import__("time").localtime(file.stat().st_mtime)[:6])',
    ),
    Mutation(
        "zip takes the current time",
        "components/packaging.py",
        "date_time=_EPOCH)",
        'date_time=__import__("time").localtime()[:6])',
    ),
    Mutation(
        "zip takes the file's mode",
        "components/packaging.py",
        "info.external_attr = 0o100644 << 16",
        "info.external_attr = (file.stat().st_mode & 0xFFFF) << 16",
    ),
    Mutation(
        "zip keeps hidden files",
        "components/packaging.py",
        'if p.is_file() and not any(part.startswith(".") for part in p.parts)',
        "if p.is_file()",
    ),
    # --- plan and secrets ---------------------------------------------------------------------------------
    Mutation(
        "plan prints secret outputs in clear",
        "tools/plan.py",
        "name: SECRET if name in run.secret_outputs else canonical(redact(value))",
        "name: canonical(redact(value))",
    ),
    Mutation(
        "the Backend forgets its Secret",
        "components/backend.py",
        'if values["secret_name"] is not None:',
        "if False:",
    ),
    Mutation(
        "routes match exactly by default",
        "components/route.py",
        '            match=plain(args.get("match")) or PathMatch.PATH_PREFIX.value,',
        '            match=plain(args.get("match")) or PathMatch.EXACT.value,',
    ),
    Mutation(
        "verify sends GET to a route that accepts POST",
        "program/stack.py",
        'method = "POST" if not route.methods or "POST" in route.methods else route.methods[0]',
        'method = "GET" if not route.methods or "GET" in route.methods else route.methods[0]',
    ),
    # --- namespaces and names -----------------------------------------------------------------------------
    Mutation(
        "Secret in the Gateway's namespace",
        "program/stack.py",
        '"namespace": settings.targets[0].backend.namespace,',
        '"namespace": gw.gateway_namespace,',
    ),
    Mutation(
        "derived Kubernetes names not cut to 63",
        "components/validation.py",
        '.strip("-")[:63].rstrip("-")',
        '.strip("-").rstrip("-")',
    ),
    Mutation(
        "irsa trusts <name>:<namespace> instead of <namespace>:<name>",
        "components/credentials.py",
        'f"system:serviceaccount:{args.gateway_namespace}:{args.gateway_name}"',
        'f"system:serviceaccount:{args.gateway_name}:{args.gateway_namespace}"',
    ),
    # --- limits -------------------------------------------------------------------------------------------
    Mutation(
        "refuses 10240 MB",
        "program/config.py",
        'reader.integer("memorySize", 128, 10240, 128)',
        'reader.integer("memorySize", 128, 10239, 128)',
    ),
    Mutation(
        "refuses 900 s",
        "program/config.py",
        'reader.integer("timeout", 1, 900, 10)',
        'reader.integer("timeout", 1, 899, 10)',
    ),
    Mutation(
        "refuses port 65535",
        "program/config.py",
        'reader.integer("gatewayPort", 1, 65535, 8080)',
        'reader.integer("gatewayPort", 1, 65534, 8080)',
    ),
    Mutation(
        "component accepts 10241 MB",
        "components/lambda_function.py",
        'checker.integer(f"{prefix}memorySize", args.get("memory_size"), 128, 10240, 128)',
        'checker.integer(f"{prefix}memorySize", args.get("memory_size"), 128, 10241, 128)',
    ),
    Mutation(
        "provided keys capped by IAM's policy quota again",
        "components/credentials.py",
        "    if mode == CredentialsMode.PROVIDED.value:\n        return\n",
        "",
    ),
    # --- least privilege ----------------------------------------------------------------------------------
    Mutation(
        "invoke policy forgets the qualified ARN",
        "components/credentials.py",
        'arns += [arn, pulumi.Output.concat(arn, ":", qualifier)]',
        "arns += [arn]",
    ),
    Mutation(
        "invoke policy allows every function",
        "components/credentials.py",
        '"Resource": sorted(set(function_arns)),',
        '"Resource": "*",',
    ),
    Mutation(
        "execution role trusts another service",
        "components/execution_role.py",
        '"Principal": {"Service": "lambda.amazonaws.com"},',
        '"Principal": {"Service": "edgelambda.amazonaws.com"},',
    ),
    # --- lifecycle ----------------------------------------------------------------------------------------
    Mutation(
        "rotation no longer makes a new key",
        "components/credentials.py",
        'f"{name}-key-{resolved.rotation}",',
        'f"{name}-key",',
    ),
    Mutation(
        "a function without our owner tag is taken over",
        "components/lambda_function.py",
        "    if found != owner:\n",
        "    if found is not None and found != owner:\n",
    ),
    Mutation(
        "sharedExecutionRole ignored",
        "program/stack.py",
        "if settings.shared_execution_role and creates_functions",
        "if False",
    ),
    Mutation(
        "the API server's checks skipped",
        "program/stack.py",
        "    problems = preflight_problems(settings)\n",
        "    problems: list[Any] = []\n",
    ),
    Mutation(
        "dependency order ties by name before type",
        "tools/plan.py",
        "ready = [(r.type, r.name, index[r.urn], r.urn) for r in resources if waiting[r.urn] == 0]",
        "ready = [(r.name, r.type, index[r.urn], r.urn) for r in resources if waiting[r.urn] == 0]",
    ),
    # --- equivalent: no behaviour a user could observe ----------------------------------------------------
    Mutation(
        "GC thresholds changed (performance only)",
        "program/runtime.py",
        "GC_THRESHOLDS = (50_000, 1_000, 1_000)",
        "GC_THRESHOLDS = (60_000, 1_000, 1_000)",
        equivalent=True,
    ),
    Mutation(
        "the Secret's key values not wrapped as secrets (pulumi-kubernetes' Secret marks stringData secret itself)",
        "components/credentials.py",
        '"secretKey": pulumi.Output.secret(secret_access_key),',
        '"secretKey": secret_access_key,',
        equivalent=True,
    ),
    Mutation(
        "integral floats rounded instead of truncated (the same for integral values)",
        "tools/engine.py",
        "return int(value)",
        "return round(value)",
        equivalent=True,
    ),
]


@dataclass(frozen=True)
class Outcome:
    mutation: Mutation
    killed: bool
    by: str  # the first failing test


def scratch_copy(destination: Path) -> None:
    """The tracked files (what CI sees), plus the virtualenv linked in place."""
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    (destination / ".venv").symlink_to(ROOT / ".venv")
    node_modules = ROOT / "node_modules"
    if node_modules.exists():
        (destination / "node_modules").symlink_to(node_modules)


def run_suite(directory: Path) -> tuple[bool, str, float]:
    """True when the suite fails (the mutant is killed), with the first failing test and the seconds taken."""
    start = time.perf_counter()
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "pytest", "-x", "-q", "-n", "2", "-p", "no:cacheprovider"],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,  # a failing suite is the answer, not an error
    )
    failed = next((line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))), "")
    return done.returncode != 0, failed, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="run only the mutations whose names contain these words")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    options = parser.parse_args()
    chosen = [m for m in MUTATIONS if not options.only or any(word in m.name for word in options.only)]
    results: list[Outcome] = []
    # A copy with nothing beside it: the repository is the whole project.
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary) / "main"
        scratch_copy(directory)
        killed, failed, seconds = run_suite(directory)
        if killed:
            print(f"the suite fails without any mutation ({failed}); fix that first", file=sys.stderr)
            return 2
        print(f"unmutated suite: passes in {seconds:.0f} s", file=sys.stderr)
        for mutation in chosen:
            path = directory / mutation.path
            original = path.read_text()
            if original.count(mutation.old) != 1:
                raise SystemExit(f"{mutation.name}: the text to mutate must occur once in {mutation.path}")
            path.write_text(original.replace(mutation.old, mutation.new))
            try:
                killed, failed, seconds = run_suite(directory)
            finally:
                path.write_text(original)
            results.append(Outcome(mutation, killed, failed))
            verdict = "killed" if killed else "SURVIVED"
            print(f"{verdict:8} {mutation.name}  ({seconds:.0f} s) {failed}", file=sys.stderr)
    counted = [r for r in results if not r.mutation.equivalent]
    killed_count = sum(1 for r in counted if r.killed)
    rate = killed_count / len(counted) if counted else 1.0
    print(f"\nkill rate: {killed_count}/{len(counted)} = {rate:.0%} (equivalent mutants excluded)")
    for result in results:
        if not result.killed:
            print(f"  survived: {result.mutation.name}{' (equivalent)' if result.mutation.equivalent else ''}")
    if options.json is not None:
        rows = [
            {"name": r.mutation.name, "equivalent": r.mutation.equivalent, "killed": r.killed, "by": r.by}
            for r in results
        ]
        options.json.write_text(json.dumps({"kill_rate": rate, "results": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
