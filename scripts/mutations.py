#!/usr/bin/env python3
"""A mutation run (not a test): plant one realistic bug at a time, run the suite, and see whether it notices.

Each mutation below is a single edit a developer could plausibly make, named for the behaviour it breaks. The
run applies it to a scratch copy of the repository (the working tree is never touched), runs the test suite
there (`pytest -x`: the first failing test kills the mutant), and reports killed and surviving mutants and the
kill rate. Mutations marked `equivalent` change no behaviour a user could observe (performance, or a value that
is provably the same); they are expected to survive and are left out of the rate.

Each mutant is judged by the test files that exercise its code (`tests`, else TESTS_BY_FILE), so a run of all of
them takes about 40 minutes on 2 busy CPUs; `--full` judges by the whole suite.
Run `.venv/bin/python scripts/mutations.py [--only NAME ...] [--full] [--json FILE]`; `--check` only lists the
mutants whose text no longer occurs once in their file (re-target them after a refactor; the default test suite does
not hold the catalogue, so a refactor is never blocked by it).
"""

from __future__ import annotations

import argparse
import json
import os
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
    # The test files that judge it (first the likeliest to fail fast); empty: those of its file (TESTS_BY_FILE).
    tests: tuple[str, ...] = ()

    def test_files(self) -> tuple[str, ...]:
        return self.tests or TESTS_BY_FILE[self.path]


# The tests that exercise each mutated file, quickest first (`pytest -x` stops at the first failure). `--full`
# runs the whole suite instead, for a survivor that may be killed elsewhere.
CREDENTIALS_TESTS = (
    "tests/test_components.py",
    "tests/test_keyless_credentials.py",
    "tests/test_aws_limits.py",
    "tests/test_rotation_window.py",
    "tests/test_many_routes.py",
    "tests/test_golden.py",
)
TESTS_BY_FILE: dict[str, tuple[str, ...]] = {
    "components/backend.py": ("tests/test_components.py", "tests/test_golden.py"),
    "components/credentials.py": CREDENTIALS_TESTS,
    "components/gateway_iam.py": CREDENTIALS_TESTS,  # the credentials' IAM documents
    "components/execution_role.py": ("tests/test_log_permissions.py", "tests/test_components.py"),
    "components/inputs.py": ("tests/test_inputs.py", "tests/test_input_properties.py", "tests/test_construct.py"),
    "components/lambda_function.py": ("tests/test_components.py", "tests/test_ownership.py", "tests/test_golden.py"),
    "components/lambda_gateway_route.py": (
        "tests/test_components.py",
        "tests/test_deploy_graph.py",
        "tests/test_golden.py",
    ),
    "components/cluster_reads.py": ("tests/test_scale.py", "tests/test_auto_shape.py", "tests/test_components.py"),
    "components/crd_reads.py": ("tests/test_auto_shape.py", "tests/test_components.py"),
    "components/composite_plan.py": ("tests/test_components.py", "tests/test_one_builder.py", "tests/test_golden.py"),
    "components/function_names.py": ("tests/test_ownership.py", "tests/test_components.py"),
    "components/packaging.py": ("tests/test_packaging.py", "tests/test_function_builds.py"),
    "components/protection.py": ("tests/test_protection.py",),
    "components/jwks_access.py": ("tests/test_jwks_access.py",),
    "components/protection_checks.py": ("tests/test_protection.py", "tests/test_pure_helpers.py"),
    "components/protection_spec.py": ("tests/test_protection.py", "tests/test_pure_helpers.py"),
    "components/route.py": ("tests/test_components.py", "tests/test_golden.py"),
    "components/route_limits.py": ("tests/test_route_limits.py", "tests/test_golden.py"),
    "components/validation.py": ("tests/test_components.py", "tests/test_inputs.py", "tests/test_golden.py"),
    **{
        f"program/config/{part}.py": ("tests/test_config.py", "tests/test_properties.py")
        for part in ("credentials", "discovery", "errors", "functions", "load", "protection", "reader", "routes")
    },
    "program/guide_objects.py": ("tests/test_guide_follower.py",),
    "program/preflight.py": ("tests/test_config.py", "tests/test_one_builder.py"),
    "program/component_args.py": ("tests/test_components.py", "tests/test_many_routes.py", "tests/test_golden.py"),
    "program/verify_checks.py": ("tests/test_verify.py", "tests/test_verify_protection.py"),
    "program/regex_path.py": ("tests/test_verify.py",),
    "program/runtime.py": ("tests/test_golden.py",),
    "program/stack.py": (
        "tests/test_verify.py",
        "tests/test_config.py",
        "tests/test_deploy_graph.py",
        "tests/test_many_routes.py",
        "tests/test_golden.py",
    ),
    "tests/support/lifecycle.py": ("tests/test_engine_faithful.py", "tests/test_day2.py", "tests/test_moto_deploy.py"),
    "tests/support/state.py": ("tests/test_engine_faithful.py", "tests/test_day2.py"),
    "tools/engine.py": ("tests/test_secrets.py", "tests/test_urns.py", "tests/test_engine_faithful.py"),
    "tools/plan.py": ("tests/test_secrets.py", "tests/test_plan.py", "tests/test_golden.py"),
    "tools/pulumi_cli.py": ("tests/test_pulumi_cli.py", "tests/test_secrets.py"),
    "tools/verify.py": ("tests/test_verify.py", "tests/test_verify_protection.py"),
    "tools/verify_protection.py": ("tests/test_verify_protection.py",),
    "tools/grants.py": ("tests/test_operator.py",),
    "tools/operator.py": ("tests/test_operator.py",),
    "tools/rbac.py": ("tests/test_operator.py",),
}


MUTATIONS = [
    # --- region -------------------------------------------------------------------------------------------
    Mutation(
        "backend region hard-coded",
        "components/backend.py",
        'region=args.get("region") or aws.get_region_output(opts=invoke).region,',
        'region=args.get("region") or "us-east-1",',
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
        "self.secret_name = pulumi.Output.all(secret.urn, settled).apply(lambda _: secret_name)",
        "self.secret_name = pulumi.Output.from_input(secret_name)",
    ),
    Mutation(
        "HTTPRoute no longer waits for the Backend",
        "components/lambda_gateway_route.py",
        '{**route_args, "backend_name": backend.backend_name}',
        "route_args",
    ),
    Mutation(
        "Backend waits for the Lambda function again",
        "components/lambda_gateway_route.py",
        "cast(LambdaBackendArgs, plan.backend_args(secret_name, assume_role_arn)),",
        (
            'cast(LambdaBackendArgs, {**plan.backend_args(secret_name, assume_role_arn), **({"function_'
            'name": function.function_name} if "function" in args else {})}),'
        ),
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
        'files = sorted(p for p in source_dir.rglob("*") if p.is_file() and not _is_hidden(p, source_dir))',
        'files = sorted(p for p in source_dir.rglob("*") if p.is_file())',
        tests=("tests/test_packaging.py",),
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
        '        match=plain(args.get("match")) or PathMatch.PATH_PREFIX.value,',
        '        match=plain(args.get("match")) or PathMatch.EXACT.value,',
    ),
    Mutation(
        "verify sends GET to a route that accepts POST",
        "program/guide_objects.py",
        'method = "POST" if not route.methods or "POST" in route.methods else route.methods[0]',
        'method = "GET" if not route.methods or "GET" in route.methods else route.methods[0]',
        tests=("tests/test_verify.py", "tests/test_guide_follower.py"),
    ),
    # --- namespaces and names -----------------------------------------------------------------------------
    Mutation(
        "Secret in the Gateway's namespace",
        "program/component_args.py",
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
        "program/config/functions.py",
        'reader.integer("memorySize", 128, 10240, 128)',
        'reader.integer("memorySize", 128, 10239, 128)',
    ),
    Mutation(
        "refuses 900 s",
        "program/config/functions.py",
        'reader.integer("timeout", 1, 900, 10)',
        'reader.integer("timeout", 1, 899, 10)',
    ),
    Mutation(
        "refuses port 65535",
        "program/config/load.py",
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
        "invoke policy grants the unqualified ARN instead of the qualified one the Backend invokes",
        "components/credentials.py",
        'arns.append(pulumi.Output.concat(arn, ":", qualifier))',
        "arns.append(arn)",
    ),
    Mutation(
        "invoke policy also grants the unqualified ARN ($LATEST beside an alias)",
        "components/credentials.py",
        'arns.append(pulumi.Output.concat(arn, ":", qualifier))',
        'arns += [arn, pulumi.Output.concat(arn, ":", qualifier)]',
        tests=("tests/test_components.py", "tests/test_moto_deploy.py"),
    ),
    Mutation(
        "invoke policy allows every function",
        "components/gateway_iam.py",
        'return allow_policy("InvokeRoutedFunctions", "lambda:InvokeFunction", function_arns)',
        'return allow_policy("InvokeRoutedFunctions", "lambda:InvokeFunction", ["*"])',
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
        "components/function_names.py",
        "if found is not None and found == owner:",
        "if found is None or found == owner:",
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
    # === issue 20: mutants in code added since the first run ===============================================
    # --- the ownership check (components/lambda_function.py) ---------------------------------------------
    Mutation(
        "ownership: the function is looked up as its log group",
        "components/lambda_function.py",
        "lambda: inventory.has_function(function_name),",
        "lambda: inventory.has_log_group(log_group_name),",
        tests=("tests/test_ownership.py",),
    ),
    Mutation(
        "ownership: a replaced function of ours compared with the component name",
        "components/function_names.py",
        "if found is not None and found == owner:",
        "if found is not None and found == wanted.name:",
        tests=("tests/test_ownership.py", "tests/test_day2.py"),
    ),
    Mutation(
        "ownership: a function in the state is listed and checked again",
        "components/function_names.py",
        "        if await arn.is_known():\n            return wanted.name\n",
        "",
        tests=("tests/test_ownership.py",),
    ),
    Mutation(
        "ownership: an untagged (hand-made) function is taken over",
        "components/function_names.py",
        "            return wanted.name\n        raise pulumi.RunError(taken_message(wanted.what, wanted.name, found))",
        (
            "            return wanted.name\n        if found is not None:\n            raise pulumi.RunE"
            "rror(taken_message(wanted.what, wanted.name, found))\n        return wanted.name"
        ),
        tests=("tests/test_ownership.py",),
    ),
    Mutation(
        "ownership: the functions are listed once per function",
        "components/function_names.py",
        "        if self._functions is None:  # set before the first await: concurrent checks share one listing",
        "        if True:",
        tests=("tests/test_ownership.py",),
    ),
    # --- preflight attribution (program/preflight.py) -----------------------------------------------------
    Mutation(
        "preflight checks only the first function's objects",
        "program/preflight.py",
        "    for target in settings.targets:\n        name = target.resource_name",
        "    for target in settings.targets[:1]:\n        name = target.resource_name",
    ),
    Mutation(
        "preflight: a derived route name blamed on a `name` the user never wrote (unreachable: a name derived from"
        " an entry is a hashed DNS label, which no CRD rule refuses, so the attribution never shows)",
        "program/preflight.py",
        'return name == function or not name[0].endswith((".name", ":routeName"))',
        "return name == function",
        equivalent=True,
    ),
    Mutation(
        "preflight: a refusal of a derived name no longer says what it is derived from",
        "program/preflight.py",
        'made = f" (the {derived} {_cut(_at(manifest, violation.path))!r} is derived from it)" if derived else ""',
        'made = ""',
    ),
    Mutation(
        "preflight: ReferenceGrants not checked (every field of a grant is its HTTPRoute's or Backend's, checked by"
        " the same rules there; its own name is cut valid)",
        "program/preflight.py",
        "                found.append((grant_source, planned.reference_grant))",
        "                pass",
        equivalent=True,
    ),
    Mutation(
        "the ReferenceGrant's name cut without dropping a trailing '-'",
        "components/route.py",
        'name=subdomain_cut(f"{route_name}-from-{namespace}"),',
        'name=f"{route_name}-from-{namespace}"[:253],',
        tests=("tests/test_config.py", "tests/test_one_builder.py"),
    ),
    # --- the harness's engine behaviours (tests/support/lifecycle.py, state.py; tools/engine.py) ----------
    Mutation(
        "harness: `up` without its preview",
        "tests/support/lifecycle.py",
        "        if not skip_preview:  # pulumi/pulumi pkg/cmd/pulumi/operations/up.go `--skip-preview`\n",
        "        if False:\n",
        # The tests that see a preview's own refusals (the guide's objects, discovery's reads) before the up.
        tests=("tests/test_guide_follower.py", "tests/test_discovery.py"),
    ),
    Mutation(
        "harness: a read of a missing object passes in the preview",
        "tests/support/lifecycle.py",
        "        if found is None:\n            raise RuntimeError(f\"resource '{resource_id}' does not exist\")",
        "        if found is None and not self.dry_run:\n"
        "            raise RuntimeError(f\"resource '{resource_id}' does not exist\")",
    ),
    Mutation(
        "harness: a managed resource now read is never relinquished (compared by URN)",
        "tests/support/lifecycle.py",
        "            if previous.id == resource_id:",
        "            if previous.id == key[1]:",
    ),
    Mutation(
        "harness: a read resource now managed goes through the provider's diff (the same: a read holds no inputs,"
        " so the diff always replaces create-first, as the `wasExternal` branch does)",
        "tests/support/lifecycle.py",
        "        if previous.external:\n",
        "        if previous.external and self.dry_run:\n",
        equivalent=True,
    ),
    Mutation(
        "harness: a read resource now managed deletes the object it read first",
        "tests/support/lifecycle.py",
        "            return self._replace(key, previous, args, depends_on, registration, delete_first=False)",
        "            return self._replace(key, previous, args, depends_on, registration, delete_first=True)",
    ),
    Mutation(
        "harness: deleteBeforeReplace ignored",
        "tests/support/lifecycle.py",
        "            delete_first = registration.delete_before_replace",
        "            delete_first = False",
    ),
    Mutation(
        "harness: delete-before-replace creates first",
        "tests/support/lifecycle.py",
        "        if delete_first:\n            self._delete(old_key)",
        "        if not delete_first:\n            self._delete(old_key)",
    ),
    Mutation(
        "harness: the old halves of replacements not listed for deletion (the same: they are under `#replaced-N`"
        " keys no registration declares, so the first list already holds them)",
        "tests/support/lifecycle.py",
        "doomed = [k for k in self.deployed if k not in self._declared] + self._replaced",
        "doomed = [k for k in self.deployed if k not in self._declared]",
        equivalent=True,
    ),
    Mutation(
        "harness: deletes ignore dependencies",
        "tests/support/lifecycle.py",
        "            ready = [k for k in pending if _state_urn(k[1]) not in needed]",
        "            ready = list(pending)",
    ),
    Mutation(
        "harness: a preview create skips the API server's dry run",
        "tests/support/lifecycle.py",
        "                self.cluster_of(provider_config).create(args.typ, reveal(args.inputs), dry_run=True)",
        "                pass",
    ),
    Mutation(
        "harness: a failed create-before-delete loses the old resource from the state",
        "tests/support/lifecycle.py",
        "            self.deployed[key] = self.deployed.pop(old_key)\n            raise",
        "            raise",
    ),
    Mutation(
        "state: secret inputs compared with their wrappers",
        "tests/support/state.py",
        "    return json.dumps(plain(reveal(inputs)), sort_keys=True, default=str)",
        "    return json.dumps(plain(inputs), sort_keys=True, default=str)",
    ),
    Mutation(
        "engine: a parent's aliases not multiplied out to its children",
        "tools/engine.py",
        "        for parent_alias, parent_alias_name in self._aliases.get(parent_urn, []):",
        "        for parent_alias, parent_alias_name in []:",
    ),
    Mutation(
        "engine: an inherited child alias cut by the alias's name length",
        "tools/engine.py",
        "                    name = parent_alias_name + name[len(parent_name) :]",
        "                    name = parent_alias_name + name[len(parent_alias_name) :]",
    ),
    Mutation(
        "engine: a child's own aliases not multiplied by its parent's",
        "tools/engine.py",
        "            for child_type, child_name in [(request.type, request.name), *own]:",
        "            for child_type, child_name in [(request.type, request.name)]:",
    ),
    # --- packaging (components/packaging.py) ---------------------------------------------------------------
    Mutation(
        "packaging: x86_64 wheels for arm64",
        "components/packaging.py",
        '"arm64": "manylinux2014_aarch64"',
        '"arm64": "manylinux2014_x86_64"',
    ),
    Mutation(
        "packaging: npm told cpu x86_64 (npm calls it x64)",
        "components/packaging.py",
        '"x86_64": "x64"}',
        '"x86_64": "x86_64"}',
    ),
    Mutation(
        "packaging: hidden judged on the absolute path (a checkout under a dot-folder zips nothing)",
        "components/packaging.py",
        'return any(part.startswith(".") for part in path.relative_to(root).parts)',
        'return any(part.startswith(".") for part in path.parts)',
    ),
    Mutation(
        "packaging: the unzipped limit in decimal megabytes",
        "components/packaging.py",
        "UNZIPPED_LIMIT = 250 * 1024 * 1024",
        "UNZIPPED_LIMIT = 250 * 1000 * 1000",
    ),
    Mutation(
        "packaging: the zipped size checked against the unzipped limit",
        "components/packaging.py",
        "    size = unzipped_size(package.read_bytes())",
        "    size = len(package.read_bytes())",
    ),
    Mutation(
        "packaging: the build machine's node_modules zipped",
        "components/packaging.py",
        '        if "node_modules" in relative.parts:  # built afresh from the lock file, never the build machine\'s',
        '        if relative.name == "node_modules":',
    ),
    Mutation(
        "packaging: the dependency cache ignores the architecture",
        "components/packaging.py",
        "_fingerprint(source, runtime, architecture)",
        "_fingerprint(source, runtime)",
    ),
    Mutation(
        "packaging: the zip's entries in directory order",
        "components/packaging.py",
        'files = sorted(p for p in source_dir.rglob("*") if p.is_file() and not _is_hidden(p, source_dir))',
        'files = [p for p in source_dir.rglob("*") if p.is_file() and not _is_hidden(p, source_dir)]',
    ),
    # --- protection (components/protection_*.py) -------------------------------------------------------------
    Mutation(
        "auto, shared reads: the stack's policies trust the TrafficPolicy CRD, not what the controller enforces",
        "components/cluster_reads.py",
        "            self._enforced[deployment] = installed_enforced_support(",
        "            self._enforced[deployment] = self.traffic_policy_support() or installed_enforced_support(",
        tests=("tests/test_scale.py",),
    ),
    Mutation(
        "auto, shared reads: another cluster's reads decide this component's shape",
        "components/cluster_reads.py",
        "    if cluster_reads is not None and not cluster_reads.serves(provider):",
        "    if False:",
        tests=("tests/test_scale.py",),
    ),
    Mutation(
        "protection: a small burst fills faster than Envoy allows (floor, not ceiling)",
        "components/protection_checks.py",
        "    scale = -(-MIN_FILL_MS // interval)  # ceil",
        "    scale = max(1, MIN_FILL_MS // interval)",
    ),
    Mutation(
        "protection: a per-minute rate filled per second",
        "components/protection_spec.py",
        'bucket = token_bucket(rate, 1_000 if per_second is not None else 60_000, whole(limit.get("burst")))',
        'bucket = token_bucket(rate, 1_000, whole(limit.get("burst")))',
    ),
    Mutation(
        "protection: a function not declared idempotent retried on 5xx",
        "components/protection_spec.py",
        'default_on = (*RETRY_BEFORE_REQUEST, "5xx", "reset") if idempotent else RETRY_BEFORE_REQUEST',
        'default_on = (*RETRY_BEFORE_REQUEST, "5xx", "reset")',
    ),
    Mutation(
        "protection: CORS '*' accepted beside one other origin",
        "components/protection_checks.py",
        'if isinstance(origins, list) and "*" in origins and len(origins) > 1:',
        'if isinstance(origins, list) and "*" in origins and len(origins) > 2:',
    ),
    Mutation(
        "protection: an ipAllow CIDR with host bits accepted",
        "components/protection_checks.py",
        "ipaddress.ip_network(str(cidr), strict=True)",
        "ipaddress.ip_network(str(cidr), strict=False)",
    ),
    Mutation(
        "protection: perTryTimeout equal to timeout accepted",
        "components/protection_checks.py",
        "and duration_ms(per_try) >= duration_ms(timeout)",
        "and duration_ms(per_try) > duration_ms(timeout)",
    ),
    Mutation(
        "protection: the API-key Secret's name not kept within 253 (the same since the Secret is named after its"
        " key set: key_secret_name cuts the base again before its hash, so an uncut base never reaches the API)",
        "components/protection_spec.py",
        '    secret_name = _bounded(route_name, "-api-keys")',
        '    secret_name = f"{route_name}-api-keys"',
        equivalent=True,
    ),
    Mutation(
        "protection: API keys stored without base64 in `data`",
        "components/protection.py",
        "return {client: base64.b64encode(str(value).encode()).decode() for client, value in sorted(entries.items())}",
        "return {client: str(value) for client, value in sorted(entries.items())}",
    ),
    # --- who gets in (issue 27) -----------------------------------------------------------------------------
    Mutation(
        "who gets in: a JWT without audiences accepted",
        "components/protection_checks.py",
        "        elif opt_out is not True and not given:",
        "        elif opt_out is not True and not given and value_key == 'issuer':",
    ),
    Mutation(
        "who gets in: a JWT without an issuer accepted",
        "components/protection_checks.py",
        "        elif opt_out is not True and not given:",
        "        elif opt_out is not True and not given and value_key == 'audiences':",
    ),
    Mutation(
        "who gets in: an unset opt-out read as allowAnyAudience/allowAnyIssuer",
        "components/protection_checks.py",
        "        opt_out = jwt.get(opt_out_key)",
        "        opt_out = jwt.get(opt_out_key, True)",
    ),
    Mutation(
        "who gets in: the JWT's audiences not emitted (Envoy then skips the aud check)",
        "components/traffic_policy.py",
        '    if provider.audiences:\n        entry["audiences"] = list(provider.audiences)',
        "    pass",
        tests=("tests/test_protection.py",),
    ),
    Mutation(
        "who gets in: the JWT's issuer not emitted (Envoy then accepts any iss)",
        "components/traffic_policy.py",
        '    if provider.issuer is not None:\n        entry["issuer"] = provider.issuer',
        "    pass",
        tests=("tests/test_protection.py",),
    ),
    Mutation(
        "who gets in: CORS '*' with credentials accepted",
        "components/protection_checks.py",
        'if credentials is True and isinstance(origins, list) and "*" in origins:',
        'if credentials is True and isinstance(origins, list) and "*" in origins[1:]:',
    ),
    Mutation(
        "who gets in: CORS credentials turned on where the user wrote them off",
        "components/protection_spec.py",
        'allow_credentials=cors_args.get("allow_credentials") is True,',
        'allow_credentials=cors_args.get("allow_credentials") is not None,',
    ),
    Mutation(
        "who gets in: claimsToHeaders accepted (a client can forge the claim header)",
        "components/protection_checks.py",
        '    if jwt.get("claims_to_headers") is not None:\n        checker.fail(',
        '    if jwt.get("claims_to_headers") == 0:\n        checker.fail(',
    ),
    Mutation(
        "who gets in: clientIdHeader accepted where the function gets only the body",
        "components/protection_checks.py",
        'keys.get("client_id_header") is None or payload_mode == "Envoy":',
        'keys.get("client_id_header") is None or payload_mode != "None":',
        tests=("tests/test_protection_config.py", "tests/test_protection.py"),
    ),
    Mutation(
        "who gets in: only the first client's key generated (the others' clients refused)",
        "components/protection.py",
        '            for client in keys.get("clients") or ["default"]:',
        '            for client in (keys.get("clients") or ["default"])[:1]:',
    ),
    Mutation(
        "who gets in: ipAllow's default action allow (every client admitted)",
        "components/traffic_policy.py",
        '"defaultAction": "deny",',
        '"defaultAction": "allow",',
        tests=("tests/test_protection.py",),
    ),
    Mutation(
        "who gets in: ipAllow's CIDRs not emitted",
        "components/traffic_policy.py",
        '"rules": [{"name": "ip-allow", "cidrs": list(protection.ip_allow), "action": "allow"}],',
        '"rules": [{"name": "ip-allow", "cidrs": ["0.0.0.0/0"], "action": "allow"}],',
        tests=("tests/test_protection.py",),
    ),
    Mutation(
        "preflight: a CORS route limited to methods gets no OPTIONS match (preflights 404)",
        "components/gateway_api_objects.py",
        '    if cors and methods and "OPTIONS" not in methods:',
        "    if False:",
        tests=("tests/test_protection_config.py", "tests/test_protection.py"),
    ),
    Mutation(
        "rename: API keys named after the component (a rename revokes them)",
        "components/protection.py",
        'f"{namespace}/{route_name}-api-key-{client}-{rotation}",',
        'f"{name}-api-key-{client}-{rotation}",',
        tests=("tests/test_protection.py", "tests/test_protection_day2.py"),
    ),
    Mutation(
        "rename: keys made under their old names not kept (no alias)",
        "components/protection.py",
        'parent=self, aliases=[pulumi.Alias(name=f"{name}-api-key-{client}-{rotation}")]',
        "parent=self",
        tests=("tests/test_protection_day2.py",),
    ),
    # --- rotation (components/credentials.py) ---------------------------------------------------------------
    Mutation(
        "rotation: the Backend moves before the new key has settled",
        "components/credentials.py",
        "self.secret_name = pulumi.Output.all(secret.urn, settled).apply(lambda _: secret_name)",
        "self.secret_name = secret.urn.apply(lambda _: secret_name)",
        tests=("tests/test_rotation_window.py",),  # the propagation model times the Backend's move
    ),
    Mutation(
        "rotation: the new key settles for 3 s",
        "components/credentials.py",
        "KEY_SETTLE_SECONDS = 30.0",
        "KEY_SETTLE_SECONDS = 3.0",
    ),
    Mutation(
        "rotation: the previous key not kept",
        "components/credentials.py",
        'aws.iam.AccessKey(f"{name}-key-{resolved.previous_rotation}", user=user.name, opts=key_options)',
        "None",
    ),
    Mutation(
        "rotation: a stack that never rotated gets a renamed Secret",
        "components/credentials.py",
        "    if rotation == FIRST_ROTATION:",
        '    if rotation == "0":',
    ),
    Mutation(
        "rotation: previousRotation equal to the default rotation accepted",
        "components/credentials.py",
        'if previous is not None and previous == (args.get("rotation") or FIRST_ROTATION):',
        'if previous is not None and previous == args.get("rotation"):',
    ),
    # --- the input layer (components/inputs.py) -------------------------------------------------------------
    Mutation(
        "inputs: the string 'false' accepted for a boolean",
        "components/inputs.py",
        "        elif hint is bool:\n            if not isinstance(value, bool):",
        "        elif hint is bool:\n            if not isinstance(value, bool | str):",
    ),
    Mutation(
        "inputs: Outputs never checked once known",
        "components/inputs.py",
        "                self.outputs.append((location, base))",
        "                pass",
    ),
    Mutation(
        "inputs: a secret Output's bad value shown",
        "components/inputs.py",
        "            if secret:\n",
        "            if not secret:\n",
    ),
    Mutation(
        "inputs: a mapping accepted where a list is declared",
        "components/inputs.py",
        "            if not isinstance(value, list | tuple):",
        "            if not isinstance(value, list | tuple | Mapping):",
    ),
    Mutation(
        "inputs: a fractional number accepted for an integer",
        "components/inputs.py",
        "        elif hint is int:\n            if whole(value) is None:",
        "        elif hint is int:\n            if not isinstance(value, int | float) or isinstance(value, bool):",
    ),
    # --- the CLI's config rules (tools/pulumi_cli.py) ----------------------------------------------------------
    Mutation(
        "CLI: an encrypted value skips the type check",
        "tools/pulumi_cli.py",
        '        if not _valid(declared["type"], declared.get("items"), content):',
        '        if not value.secure and not _valid(declared["type"], declared.get("items"), content):',
    ),
    Mutation(
        "CLI: untyped keys checked too",
        "tools/pulumi_cli.py",
        '        if "type" not in declared:\n            continue\n',
        "",
    ),
    # --- verify (tools/verify.py, program/stack.py) --------------------------------------------------------------
    Mutation(
        "verify: the wildcard hostname sent as the Host",
        "program/guide_objects.py",
        '        host = "verify." + route.hostnames[0][2:]',
        "        host = route.hostnames[0]",
        tests=("tests/test_verify.py", "tests/test_guide_follower.py"),
    ),
    Mutation(
        "verify: RegularExpression routes skipped",
        "program/verify_checks.py",
        "            url = verify_url(base_url, route)",
        '            url = None if route.match == "RegularExpression" else route_url(base_url, route)',
    ),
    Mutation(
        "verify: an Envoy event's base64 body not decoded",
        "tools/verify.py",
        'if isinstance(body, str) and event.get("isBase64Encoded"):',
        'if isinstance(body, str) and event.get("isBase64"):',
    ),
    Mutation(
        "verify: a GET sent without the guide's body",
        "tools/verify.py",
        'BODILESS_METHODS = frozenset({"HEAD", "CONNECT", "TRACE"})',
        'BODILESS_METHODS = frozenset({"HEAD", "CONNECT", "TRACE", "GET"})',
    ),
    Mutation(
        "verify: a regex path sampled with a character its [^...] class refuses",
        "program/regex_path.py",
        "found = next((c for c in _ANY_CHOICES if allowed.fullmatch(c)), None)",
        "found = next((c for c in _ANY_CHOICES if not allowed.fullmatch(c)), None)",
    ),
    # --- secrets ---------------------------------------------------------------------------------------------------
    Mutation(
        "a plain-text aws:token shown in the plan's provider settings",
        "tools/engine.py",
        'SENSITIVE_PROVIDER_KEYS = {"accessKey", "secretKey", "token", "kubeconfig"}',
        'SENSITIVE_PROVIDER_KEYS = {"accessKey", "secretKey", "kubeconfig"}',
    ),
    # --- route limits and limits measured as the API does (issues 27, 32) ----------------------------------------
    Mutation(
        "the Lambda body limit replaces the user's maxRequestSize again",
        "components/composite_plan.py",
        "if field in limits and not merged.get(field):",
        "if field in limits:",
        tests=("tests/test_route_limits.py",),
    ),
    Mutation(
        "the stream idle timeout kept at Envoy's 5 minutes for a long call",
        "components/route_limits.py",
        "return request_timeout if duration_seconds(request_timeout) > ENVOY_STREAM_IDLE_DEFAULT_S else None",
        "return None",
        tests=("tests/test_route_limits.py",),
    ),
    Mutation(
        "a function made elsewhere routed with Envoy's 15 s again",
        "components/composite_plan.py",
        'limits: dict[str, Any] = {"timeout": route_request_timeout(function_timeout)}',
        'limits: dict[str, Any] = {"timeout": route_request_timeout(function_timeout)} if "function" in args else {}',
        tests=("tests/test_route_limits.py",),
    ),
    Mutation(
        "Envoy mode capped like pass-through (the envelope outgrows Lambda's 6 MB)",
        "components/composite_plan.py",
        'envoy_mode = plain(backend_options.get("payload_transform_mode")) == "Envoy"',
        "envoy_mode = False",
        tests=("tests/test_route_limits.py",),
    ),
    Mutation(
        "an endpoint URL without a port accepted",
        "components/validation.py",
        "    if port is None:\n        fixed",
        "    if port == -2:\n        fixed",
        tests=("tests/test_api_limits.py",),
    ),
    Mutation(
        "the environment measured as names plus values again",
        "components/validation.py",
        'return len(json.dumps(dict(variables), separators=(",", ":")).encode())',
        "return sum(len(k.encode()) + len(v.encode()) for k, v in variables.items())",
        tests=("tests/test_api_limits.py",),
    ),
    Mutation(
        "secret variables left out of the 4 KB",
        "program/config/functions.py",
        "size = environment_size({**plain, **secret})",
        "size = environment_size(plain)",
        tests=("tests/test_api_limits.py",),
    ),
    Mutation(
        "a route path with '//' passes the preflight (the rule judged in Python)",
        "program/path_rules.py",
        """"!self.value.contains('//')": lambda value: "//" not in value,""",
        """"!self.value.contains('//')": lambda value: "///" not in value,""",
        tests=("tests/test_path_rules.py",),
    ),
    Mutation(
        "a rule that counts a list judged on one item of it (the verdict cache's projection)",
        "program/cel_reads.py",
        "kept: list[Any] = [None] * len(value)",
        "kept: list[Any] = [None] * min(len(value), 1)",
        tests=("tests/test_cel_inputs.py",),
    ),
    Mutation(
        "a CRD set's repeated item not refused by the preflight",
        "program/crd_validation.py",
        "        if seen[mark] == 2:",
        "        if seen[mark] == 0:",
        tests=("tests/test_api_limits.py",),
    ),
    Mutation(
        "a secret mapping's value set without --secret accepted (kept in plain text in git)",
        "program/config/reader.py",
        "places = reader.source.plain_places(key) if reader.source.is_secret(key) else None",
        "places = None",
        tests=("tests/test_bad_input.py",),
    ),
    Mutation(
        "the stack file trusted for plain values when it holds other values than the program was given",
        "program/config/sources.py",
        "elif isinstance(stored, str) and not isinstance(received, dict | list) and stored == config_text(received):",
        "elif isinstance(stored, str) and not isinstance(received, dict | list):",
        tests=("tests/test_bad_input.py",),
    ),
    Mutation(
        "a variable in both environment and secretEnvironment accepted (its plain copy kept in git)",
        "program/config/functions.py",
        "    plain_names = {name for name, _ in environment}",
        "    plain_names: set[str] = set()",
        tests=("tests/test_bad_input.py",),
    ),
    Mutation(
        "a client id of providedApiKeys cut out of messages as if it were key material",
        "program/config/errors.py",
        "for leaf in _leaves(text, names_are_secret=k not in NAMED_SECRET_KEYS)",
        "for leaf in _leaves(text)",
        tests=("tests/test_bad_input.py",),
    ),
    # --- shapes: never a traceback -------------------------------------------------------------------------------
    Mutation(
        "an unknown value where the schema declares a plain one read into by the checks",
        "components/inputs.py",
        "if _is_unknown(value) and _input_base(hint) is None:",
        "if _is_unknown(value) and _input_base(hint) is not None:",
        tests=("tests/test_input_shapes.py",),
    ),
    Mutation(
        "protection from the stack config checked without the component's type walk",
        "program/config/protection.py",
        "        check_types(checker, args, RouteProtectionArgs)  # the component's own type checks first, by name\n",
        "",
        tests=("tests/test_bad_input.py", "tests/test_config_shapes.py"),
    ),
    # --- discovery: who a found function's route lets in, and which routes a tag can move (issues 27, 28) -----
    Mutation(
        "found routes get no protection (a function tagged /echo/admin is served with no key)",
        "program/config/discovery.py",
        "    protection = discovery.protection\n",
        "    protection = None\n",
        tests=("tests/test_discovery.py",),
    ),
    Mutation(
        "the stack-wide protection never reaches discovery",
        "program/config/load.py",
        "discovery = with_stack_protection(discovery, protection, reader)",
        "discovery = with_stack_protection(discovery, None, reader)",
        tests=("tests/test_discovery.py",),
    ),
    Mutation(
        "discover.unprotected opts a function out by name on any path its tag chooses",
        "program/config/discovery.py",
        "if opted_out == found.path:",
        "if opted_out is not None:",
        tests=("tests/test_discovery.py",),
    ),
    Mutation(
        "discovery reads the path from the default tag key instead of the configured one",
        "program/config/discovery.py",
        'value = function.tags.get(discovery.tag, "")',
        'value = function.tags.get("kgateway-lambda/route", "")',
        tests=("tests/test_discovery.py",),
    ),
    Mutation(
        "discovery asks the tagging API for the default tag key instead of the configured one",
        "program/discovery.py",
        "found = find_tagged_functions(discovery.tag)",
        'found = find_tagged_functions("kgateway-lambda/route")',
        tests=("tests/test_discovery.py",),
    ),
    Mutation(
        "a partial answer's check reads the default tag key (a route kept on another tag)",
        "program/discovery.py",
        "if tag in tags and mapping.resource_arn in arns:",
        'if "kgateway-lambda/route" in tags and mapping.resource_arn in arns:',
        tests=("tests/test_discovery.py",),
    ),
    Mutation(
        "a partial answer removes the routes it left out",
        "program/discovery.py",
        "found += still_tagged",
        "found += []",
        tests=("tests/test_discovery.py",),
    ),
    Mutation(
        "found names hashed from the cut name (two long names collide after the cut)",
        "program/config/discovery.py",
        "digest = hashlib.sha256(function_name.encode()).hexdigest()[:6]",
        "digest = hashlib.sha256(label[:56].encode()).hexdigest()[:6]",
        tests=("tests/test_discovery.py",),
    ),
    Mutation(
        "two found functions may share a Kubernetes name (one takes the other's Backend)",
        "program/config/discovery.py",
        '        ("Kubernetes name", lambda c: c.object_name),\n',
        "",
        tests=("tests/test_discovery.py",),
    ),
    Mutation(
        "the first found by ARN takes a shared path (a new function takes an existing route)",
        "program/config/discovery.py",
        "if len(group) == 1 or (len(incumbents) == 1 and incumbents[0] is candidate):",
        "if group[0] is candidate:",
        tests=("tests/test_discovery.py",),
    ),
    Mutation(
        "a qualified functionArn that is also tagged is routed again, at $LATEST",
        "program/config/discovery.py",
        "configured_arns = {_unqualified(t.function.existing_arn) for t",
        "configured_arns = {(t.function.existing_arn) for t",
        tests=("tests/test_discovery.py",),
    ),
    # --- remote JWKS: TLS and the grant (issue 27) ------------------------------------------------------------
    Mutation(
        "the JWKS TLS policy accepts any certificate the CA set signed (no SAN to match)",
        "components/jwks_access.py",
        '"tls": {"wellKnownCACertificates": SYSTEM_CA, "sni": host, "verifySubjectAltNames": [host]},',
        '"tls": {"wellKnownCACertificates": SYSTEM_CA, "sni": host},',
    ),
    Mutation(
        "an https JWKS fetched in plain text (no TLS policy)",
        "components/jwks_access.py",
        'return url.hostname if url.scheme == "https" else None',
        'return url.hostname if url.scheme == "http" else None',
    ),
    Mutation(
        "the JWKS grant admits every Service of the namespace",
        "components/jwks_access.py",
        '"to": [_target(provider)],',
        '"to": [{k: v for k, v in _target(provider).items() if k != "name"}],',
    ),
    Mutation(
        "the JWKS grant admits HTTPRoutes instead of the GatewayExtension",
        "components/jwks_access.py",
        '"from": [{"group": BACKEND_GROUP, "kind": GATEWAY_EXTENSION_KIND, "namespace": policy_namespace}],',
        '"from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": policy_namespace}],',
    ),
    Mutation(
        "the JWKS TLS policy made after the GatewayExtension",
        "components/protection.py",
        "extension_opts = pulumi.ResourceOptions(parent=self, depends_on=access)",
        "extension_opts = pulumi.ResourceOptions(parent=self)",
        tests=("tests/test_jwks_access.py",),
    ),
    Mutation(
        "v2.1 refuses CORS its own CRD has",
        "components/traffic_policy.py",
        '_V2_1_KINDS = frozenset({"cors", "rateLimit", "retry", "requestBody", "streamIdle"})',
        '_V2_1_KINDS = frozenset({"rateLimit", "retry", "requestBody", "streamIdle"})',
        tests=("tests/test_kgateway_testdata.py", "tests/test_protection.py"),
    ),
    # --- objects of others in the stack's way (the guide follower) -------------------------------------------
    Mutation(
        "an object of others taken for the stack's own (any label counts)",
        "program/guide_objects.py",
        "return bool(labels.get(PART_OF) == COMMON_LABELS[PART_OF])",
        "return bool(labels)",
        tests=("tests/test_guide_follower.py",),
    ),
    Mutation(
        "route tie-break: the younger route wins",
        "program/guide_objects.py",
        "return theirs[1] < ours_[1]",
        "return theirs[1] > ours_[1]",
        tests=("tests/test_guide_follower.py",),
    ),
    Mutation(
        "a route on another Gateway counts as competing",
        "program/guide_objects.py",
        "if same_gateway and (listener is None",
        "if (listener is None",
        tests=("tests/test_guide_follower.py",),
    ),
    Mutation(
        "the check of objects in the way runs in the preview only",
        "program/guide_objects.py",
        "    with cluster_lookup() as lookup:\n        if lookup is None:",
        "    with cluster_lookup() as lookup:\n        if lookup is None or not pulumi.runtime.is_dry_run():",
        tests=("tests/test_guide_follower.py",),
    ),
    # --- the deploying identity's policy (tools/deployer_policy.py) --------------------------------------
    Mutation(
        "the deployer policy's IAM names match any suffix, not Pulumi's 7 random characters",
        "tools/deployer_policy.py",
        'AUTONAME = "-" + "?" * AUTONAME_RANDOM_CHARS',
        'AUTONAME = "-*"',
        tests=("tests/test_deployer_policy.py",),
    ),
    Mutation(
        "the deployer policy passes every role of the account to Lambda",
        "tools/deployer_policy.py",
        'found.update(AwsRequest(PASS_ROLE, arns.iam("role", r)) for r in run.by_type("aws:iam/role:Role"))',
        'found.add(AwsRequest(PASS_ROLE, "*"))',
        tests=("tests/test_deployer_policy.py",),
    ),
    Mutation(
        "the deployer policy grants a function's actions on every function",
        "tools/deployer_policy.py",
        'return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{name}"',
        'return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:*"',
        tests=("tests/test_deployer_policy.py",),
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
    # --- issue 27: verify proves what it says; the door's pins ---------------------------------------------
    Mutation(
        "verify: any non-200 counted as a refusal",
        "tools/verify_protection.py",
        "    passed = status == expected",
        "    passed = status != 200",
        tests=("tests/test_verify_protection.py",),
    ),
    Mutation(
        "verify: a refusal without credentials not checked",
        "tools/verify_protection.py",
        '    steps.append(_refused(status, body, REFUSED_NO_CREDENTIALS, "without credentials"))',
        "",
        tests=("tests/test_verify_protection.py",),
    ),
    Mutation(
        "verify: the burst sized without the refills",
        "tools/verify_protection.py",
        "    over = bucket.admits_at_most(BURST_WINDOW_SECONDS, replicas)",
        "    over = replicas * bucket.max_tokens",
        tests=("tests/test_verify_protection.py",),
    ),
    Mutation(
        "verify: the burst sized for one replica",
        "tools/verify_protection.py",
        "    over = bucket.admits_at_most(BURST_WINDOW_SECONDS, replicas)",
        "    over = bucket.admits_at_most(BURST_WINDOW_SECONDS, 1)",
        tests=("tests/test_verify_protection.py",),
    ),
    Mutation(
        "verify: the bucket's size read from tokensPerFill",
        "tools/verify_protection.py",
        "        return replicas * (self.max_tokens + self.tokens_per_fill * fills)",
        "        return replicas * (self.tokens_per_fill + self.tokens_per_fill * fills)",
        tests=("tests/test_verify_protection.py",),
    ),
    Mutation(
        "verify: the stack describes tokensPerFill as the bucket's size",
        "program/verify_checks.py",
        '"maxTokens": spec.rate_limit.max_tokens,',
        '"maxTokens": spec.rate_limit.tokens_per_fill,',
        tests=("tests/test_verify_protection.py",),
    ),
    Mutation(
        "verify: only the first key source described",
        "program/verify_checks.py",
        'described["keySources"] = [list(source) for source in spec.api_keys.key_sources]',
        'described["keySources"] = [list(source) for source in spec.api_keys.key_sources[:1]]',
        tests=("tests/test_verify_protection.py",),
    ),
    Mutation(
        "verify: only the first client's key checked",
        "tools/verify_protection.py",
        "    for client, key in protection.api_keys[1:]:",
        "    for client, key in protection.api_keys[1:1]:",
        tests=("tests/test_verify_protection.py",),
    ),
    Mutation(
        "verify: v2.0 expected to answer as pass-through",
        "program/verify_checks.py",
        '    return EXPECT_GUIDE if payload_mode == "None" else EXPECT_ENVOY',
        '    return EXPECT_GUIDE if payload_mode in ("None", None) else EXPECT_ENVOY',
        tests=("tests/test_verify_protection.py",),
    ),
    Mutation(
        "door: the TrafficPolicy targets the component's name, not its HTTPRoute's",
        "components/route.py",
        "                route_name=plan.route_name,",
        "                route_name=name,",
        tests=("tests/test_door.py",),
    ),
    Mutation(
        "door: a route holds every provided client's key",
        "program/config/protection.py",
        '            keys_args["keys"] = {c: outputs.get(c, pulumi.Output.secret("")) for c in clients if c in known}',
        '            keys_args["keys"] = {c: outputs.get(c, pulumi.Output.secret("")) for c in known}',
        tests=("tests/test_door.py",),
    ),
    Mutation(
        "ownership: names compared as prefixes",
        "components/function_names.py",
        "    return name in (await names.future() or [])",
        "    return any(n.startswith(name) for n in (await names.future() or []))",
        tests=("tests/test_ownership.py",),
    ),
    Mutation(
        "rotation: every up keeping the previous key waits the settle",
        "components/credentials.py",
        "    remaining = created + KEY_SETTLE_SECONDS - CLOCK.now()",
        "    remaining = KEY_SETTLE_SECONDS",
        tests=("tests/test_rotation_window.py",),
    ),
    Mutation(
        "upload: the direct-upload limit in decimal megabytes",
        "components/packaging.py",
        "DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024",
        "DIRECT_UPLOAD_LIMIT = 50 * 1000 * 1000",
        tests=("tests/test_aws_limits.py",),
    ),
    Mutation(
        "upload: a zip of exactly the limit sent through S3",
        "components/lambda_function.py",
        "zip_file.stat().st_size <= packaging.DIRECT_UPLOAD_LIMIT",
        "zip_file.stat().st_size < packaging.DIRECT_UPLOAD_LIMIT",
        tests=("tests/test_aws_limits.py",),
    ),
    # === issue 28: the engine's other modes ===========================================================
    Mutation(
        "outside a preview: the create hook accepts any name AWS has",
        "components/function_names.py",
        "            if held and found != owner:\n",
        "            if held and found is None:\n",
        tests=("tests/test_engine_modes.py",),
    ),
    Mutation(
        "outside a preview: no create hook (AWS's raw conflict, after the log group was made and owned)",
        "components/lambda_function.py",
        "hooks=pulumi.ResourceHookBinding(before_create=[names_free]),",
        "hooks=None,",
        tests=("tests/test_engine_modes.py",),
    ),
    Mutation(
        "the Function and LogGroup replaced create-first",
        "components/lambda_function.py",
        "            delete_before_replace=True,\n",
        "",
        tests=("tests/test_engine_modes.py",),
    ),
    Mutation(
        "upgrades: the old releases' Secret aliased onto every rotation's Secret (a delete-first rename)",
        "components/credentials.py",
        "        if secret_name == resolved.secret_name:\n",
        "        if True:\n",
        tests=("tests/test_release_upgrades.py",),
    ),
    Mutation(
        "harness: an old half's delete not held back by its old dependents",
        "tests/support/lifecycle.py",
        "            ready = [k for k in pending if _state_urn(k[1]) not in needed]",
        "            ready = [k for k in pending if k[1] not in needed]",
        tests=("tests/test_engine_modes.py",),
    ),
    # --- the operator's grants (issue 31): who may write what in the cluster and in AWS ----------------------
    Mutation(
        "operator RBAC: no watch on managed objects (the provider's await would be forbidden)",
        "tools/grants.py",
        'WRITE_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")',
        'WRITE_VERBS = ("create", "delete", "get", "list", "patch", "update")',
    ),
    Mutation(
        "operator RBAC: reads granted for every object of the kind, not the one read",
        "tools/grants.py",
        'rule = {"apiGroups": [group], "resources": [resource], "resourceNames": names, "verbs": ["get"]}',
        'rule = {"apiGroups": [group], "resources": [resource], "verbs": ["get"]}',
    ),
    Mutation(
        "operator RBAC: any resource of the Gateway API group writable",
        "tools/grants.py",
        '"HTTPRoute": ("gateway.networking.k8s.io", "httproutes"),',
        '"HTTPRoute": ("gateway.networking.k8s.io", "*"),',
    ),
    Mutation(
        "deployer policy: PassRole to any service",
        "tools/grants.py",
        'passed = (("StringEquals", "iam:PassedToService", "lambda.amazonaws.com"),)',
        "passed: Condition = ()",
    ),
    Mutation(
        "deployer policy: any IAM name instead of the stack's own",
        "tools/deployer_policy.py",
        'name = resource.inputs.get("name") or f"{resource.name}{AUTONAME}"',
        'name = resource.inputs.get("name") or "*"',
        tests=("tests/test_operator.py", "tests/test_deployer_policy.py"),
    ),
    Mutation(
        "RBAC validation: a Role may name non-resource URLs",
        "tools/rbac.py",
        "        if namespaced:\n",
        "        if False:\n",
    ),
    Mutation(
        "operator: the Stack is not checked against PKO's CRD",
        "tools/operator.py",
        "problems += [f\"Stack {obj['metadata']['name']}: {e}\" for e in schema_errors(obj, STACK_CRD, \"v1\")]",
        "pass",
    ),
    # --- one builder per object, one rule for both doors (issue 30) ------------------------------------------
    Mutation(
        "the composite takes the same route twice again (two HTTPRoutes, one never served)",
        "components/lambda_gateway_route.py",
        '    check_distinct_routes(checker, args.get("routes") or [])\n',
        "",
        tests=("tests/test_one_builder.py",),
    ),
    Mutation(
        "two components of one program create the same function again (ResourceConflict mid-deploy)",
        "components/function_names.py",
        "    if first != name:",
        "    if first != name and not first:",
        tests=("tests/test_one_builder.py",),
    ),
    Mutation(
        "the preflight checks the route without its protection's body limit (its own copy of the inputs)",
        "program/preflight.py",
        "            planned = route_plan(child_name, route_args)",
        '            planned = route_plan(child_name, {k: v for k, v in route_args.items() if k != "protection"})',
        tests=("tests/test_one_builder.py",),
    ),
]


@dataclass(frozen=True)
class Outcome:
    mutation: Mutation
    killed: bool
    by: str  # the first failing test


def stale_mutants(chosen: list[Mutation]) -> list[str]:
    """Each mutant whose text does not occur exactly once in its file, or whose judging test files are gone."""
    problems = []
    for mutation in chosen:
        path = ROOT / mutation.path
        count = path.read_text().count(mutation.old) if path.is_file() else 0
        if count != 1 or mutation.old == mutation.new:
            problems.append(f"{mutation.name}: its text occurs {count} time(s) in {mutation.path}")
        problems += [f"{mutation.name}: no {f}" for f in mutation.test_files() if not (ROOT / f).is_file()]
    return problems


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


def run_suite(directory: Path, tests: tuple[str, ...] = ()) -> tuple[bool, str, float]:
    """True when the tests fail (the mutant is killed), with the first failing test and the seconds taken. `tests`:
    these files only, in one process in this order (else the whole suite on 2 workers)."""
    start = time.perf_counter()
    selection = ["-n", "0", *tests] if tests else ["-n", "2"]
    # The copy has no .git: the tests that run an old release from git read this repository's history.
    git_dir = subprocess.run(
        ["git", "rev-parse", "--absolute-git-dir"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    done = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *selection],
        cwd=directory,
        env={**os.environ, "GIT_DIR": git_dir},
        capture_output=True,
        text=True,
        check=False,  # a failing suite is the answer, not an error
    )
    failed = next((line for line in done.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))), "")
    if done.returncode != 0 and not failed:
        failed = (done.stdout.strip().splitlines() or done.stderr.strip().splitlines() or ["(no output)"])[-1]
    return done.returncode != 0, failed, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="run only the mutations whose names contain these words")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--full", action="store_true", help="judge every mutant by the whole suite (slow)")
    parser.add_argument("--check", action="store_true", help="only list stale mutants (exit 2 if any), run nothing")
    options = parser.parse_args()
    chosen = [m for m in MUTATIONS if not options.only or any(word in m.name for word in options.only)]
    stale = stale_mutants(chosen)
    if stale:  # the code moved on: each such mutant must be rewritten, never silently skipped
        for problem in stale:
            print(f"stale: {problem}", file=sys.stderr)
        return 2
    if options.check:
        print(f"{len(chosen)} mutants apply once each and are judged by existing test files", file=sys.stderr)
        return 0
    results: list[Outcome] = []
    # A copy with nothing beside it: the repository is the whole project.
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary) / "main"
        scratch_copy(directory)
        # Unmutated, the same tests must pass, or every mutant would look killed.
        baseline = () if options.full else tuple(dict.fromkeys(f for m in chosen for f in m.test_files()))
        killed, failed, seconds = run_suite(directory, baseline)
        if killed:
            print(f"the tests fail without any mutation ({failed}); fix that first", file=sys.stderr)
            return 2
        print(f"unmutated: {len(baseline) or 'all'} test files pass in {seconds:.0f} s", file=sys.stderr)
        for mutation in chosen:
            path = directory / mutation.path
            original = path.read_text()
            path.write_text(original.replace(mutation.old, mutation.new))
            try:
                killed, failed, seconds = run_suite(directory, () if options.full else mutation.test_files())
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
