"""Command line: `python -m tools plan --stack dev [--kgateway-crd FILE] [--kgateway-image IMAGE] [--tagged FILE]
[--json | --manifests DIR]`, `python -m tools schema [--markdown [--write]]`, `python -m tools keys [--write]`,
`python -m tools deployer-policy --stack NAME [--account ID] [--write]`,
`python -m tools verify (--stack NAME | --outputs FILE | --url URL) [--invoke] [--wait SECONDS]
[--jwt TOKEN | --jwt-file FILE] [--replicas N] [--base-url URL]` and
`python -m tools operator --stack NAME --repo URL --branch B [--out DIR]` (docs/fleet.md)."""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tools.verify import Result


def main(argv: list[str] | None = None, *, end_loop: bool = True) -> int:  # noqa: PLR0911 (a return per command)
    """`end_loop`: close the runs' event loops at the end (a test running commands in one process keeps them)."""
    parser = argparse.ArgumentParser(prog="python -m tools", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    plan_cmd = commands.add_parser("plan", help="show what `pulumi up` would create, offline")
    plan_cmd.add_argument("--stack", default="dev", help="stack name (stacks/Pulumi.<stack>.yaml)")
    plan_cmd.add_argument("--json", action="store_true", help="print one JSON document")
    plan_cmd.add_argument(
        "--stacks-dir", type=Path, metavar="DIR", help="where Pulumi.<stack>.yaml is (default stacks/)"
    )
    plan_cmd.add_argument(
        "--kgateway-crd",
        type=Path,
        metavar="FILE",
        action="append",
        help="with kgatewayVersion auto: plan for a cluster with these CRDs (repeat it for each file; a file may hold "
        "several, as `kubectl get crd backends.gateway.kgateway.dev trafficpolicies.gateway.kgateway.dev -o yaml` "
        "prints them)",
    )
    plan_cmd.add_argument(
        "--kgateway-image",
        metavar="IMAGE",
        help="with kgatewayVersion auto and protection: the image the cluster's kgateway controller runs (`kubectl "
        "-n kgateway-system get deploy kgateway -o jsonpath='{..image}'`), which decides what it enforces",
    )
    plan_cmd.add_argument(
        "--tagged",
        type=Path,
        metavar="FILE",
        help="with discover: the functions to take as found, as `aws resourcegroupstaggingapi get-resources "
        "--resource-type-filters lambda:function` prints them (JSON)",
    )
    plan_cmd.add_argument(
        "--manifests",
        type=Path,
        metavar="DIR",
        help="write each Kubernetes object as YAML",
    )
    verify_cmd = commands.add_parser("verify", help="send the guide's request to every route and check the answers")
    source = verify_cmd.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="read the outputs with `pulumi stack output --json --stack NAME`")
    source.add_argument("--outputs", type=Path, metavar="FILE", help="the outputs as JSON (from pulumi stack output)")
    source.add_argument("--url", help="check one URL (the echo route) for the guide's exact response")
    verify_cmd.add_argument("--host", help="Host header to send with --url")
    verify_cmd.add_argument(
        "--base-url",
        metavar="URL",
        help="send every check to this address of the Gateway instead (inside the cluster: "
        "http://GATEWAY.NAMESPACE.svc.cluster.local:PORT), keeping each check's path and Host",
    )
    verify_cmd.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    verify_cmd.add_argument("--invoke", action="store_true", help="also invoke each function with the AWS SDK")
    verify_cmd.add_argument("--endpoint-url", help="Lambda API endpoint for --invoke (moto, LocalStack)")
    verify_cmd.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="retry each check with backoff until it passes or SECONDS are over (right after `pulumi up`: 60)",
    )
    token = verify_cmd.add_mutually_exclusive_group()
    token.add_argument(
        "--jwt",
        metavar="TOKEN",
        help="a valid JWT for the JWT routes (never printed; --jwt-file keeps it out of the process list)",
    )
    token.add_argument("--jwt-file", type=Path, metavar="FILE", help="read the JWT for the JWT routes from FILE")
    verify_cmd.add_argument(
        "--replicas",
        type=positive_count,
        default=1,
        metavar="N",
        help="the gateway's replicas (default 1): each has its own rate-limit bucket, so the burst is sized for N",
    )
    schema_cmd = commands.add_parser(
        "schema", help="print the component package's schema, as `pulumi package add` gets it"
    )
    schema_cmd.add_argument("--markdown", action="store_true", help="print the components reference instead")
    schema_cmd.add_argument("--write", action="store_true", help="with --markdown: update it in docs/reference.md")
    keys_cmd = commands.add_parser("keys", help="print the config-key table, generated from program/keys.py")
    keys_cmd.add_argument(
        "--write",
        action="store_true",
        help="update it in docs/configuration.md, and the common keys' table in README.md, between their markers",
    )
    policy_cmd = commands.add_parser(
        "deployer-policy", help="print the IAM policy the identity that runs `pulumi up` on a stack needs"
    )
    policy_cmd.add_argument("--stack", default="dev", help="stack name (stacks/Pulumi.<stack>.yaml)")
    policy_cmd.add_argument("--account", help="the deploying identity's account id (default: the stack's accountId)")
    policy_cmd.add_argument(
        "--write", action="store_true", help="regenerate docs/deployer-policy/<stack>.json for the example stacks"
    )
    add_operator_command(commands)
    args = parser.parse_args(argv)
    if args.command == "deployer-policy":
        return deployer_policy(args, end_loop)
    if args.command == "operator":
        return operator(args, end_loop)
    if args.command == "keys":
        from program.keys import key_table, write_key_tables

        if args.write:
            write_key_tables()
        else:
            print(key_table(), end="")
        return 0
    if args.command == "verify":
        return verify(args)
    if args.command == "schema":
        from tools.schema import REFERENCE_DOC, package_schema, reference_markdown, with_reference

        schema = package_schema()
        if args.markdown and args.write:
            REFERENCE_DOC.write_text(with_reference(REFERENCE_DOC.read_text(), reference_markdown(schema)))
            print(f"wrote {REFERENCE_DOC}", file=sys.stderr)
            return 0
        print(reference_markdown(schema) if args.markdown else json.dumps(schema, indent=2, sort_keys=True), end="")
        return 0

    # Imported here: `verify` and `keys` start without the SDK and the components (a second of imports).
    import pulumi

    from program.config import ConfigError
    from tools.engine import close_event_loop
    from tools.plan import plan, plan_document, render_text, tagged_from_listing, write_manifests
    from tools.pulumi_cli import PulumiCliError

    try:
        tagged = tagged_from_listing(json.loads(args.tagged.read_text())) if args.tagged is not None else None
        run = plan(
            args.stack,
            stacks_dir=args.stacks_dir,
            kgateway_crd=args.kgateway_crd,
            tagged=tagged,
            kgateway_image=args.kgateway_image,
        )
        close_event_loop()
    except (ConfigError, PulumiCliError, FileNotFoundError, ValueError, pulumi.RunError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    document = plan_document(run)
    if args.manifests is not None:
        for path in write_manifests(run, args.manifests):
            print(f"wrote {path}", file=sys.stderr)
    print(json.dumps(document, indent=2, sort_keys=False) if args.json else render_text(document))
    return 0


def deployer_policy(args: argparse.Namespace, end_loop: bool) -> int:
    from program.config import ConfigError
    from tools.deployer_policy import (
        EXAMPLE_ACCOUNT,
        EXAMPLE_STACKS,
        EXAMPLES_DIR,
        UncoveredError,
        policy_text,
        stack_policy,
    )
    from tools.engine import close_event_loop
    from tools.pulumi_cli import PulumiCliError

    try:
        if args.write:
            for stack in EXAMPLE_STACKS:
                path = EXAMPLES_DIR / f"{stack}.json"
                path.write_text(policy_text(stack_policy(stack, EXAMPLE_ACCOUNT)))
                print(f"wrote {path}", file=sys.stderr)
        else:
            print(policy_text(stack_policy(args.stack, args.account)), end="")
        if end_loop:
            close_event_loop()
    except (ConfigError, PulumiCliError, UncoveredError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def add_operator_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from tools.operator import DEFAULT_RESYNC_SECONDS, Settings

    defaults = Settings(stack="", repo="", branch="")
    cmd = commands.add_parser(
        "operator", help="write the Pulumi Kubernetes Operator's Stack, RBAC and AWS policies for a stack"
    )
    cmd.add_argument("--stack", required=True, help="stack name (stacks/Pulumi.<stack>.yaml)")
    cmd.add_argument("--repo", required=True, help="the Git repository the workspace clones (https or ssh URL)")
    cmd.add_argument("--branch", required=True, help="the branch PKO follows")
    cmd.add_argument(
        "--out", type=Path, default=None, metavar="DIR", help="where to write (default: deploy/operator/<stack>)"
    )
    cmd.add_argument("--stacks-dir", type=Path, metavar="DIR", help="where Pulumi.<stack>.yaml is (default stacks/)")
    cmd.add_argument("--namespace", default=defaults.namespace, help="namespace of the Stack and its workspace")
    cmd.add_argument("--repo-dir", default="", help="folder of Pulumi.yaml in the repository (default: its root)")
    cmd.add_argument("--resync-seconds", type=int, default=DEFAULT_RESYNC_SECONDS, help="drift check and poll period")
    cmd.add_argument("--image", default=defaults.image, help="the workspace image (Pulumi CLI with Python)")
    cmd.add_argument("--state-bucket", default=defaults.state_bucket, help="S3 bucket of the state (s3:// backend)")
    cmd.add_argument("--state-region", default=defaults.state_region, help="region of the bucket and the KMS key")
    cmd.add_argument("--kms-key", default=defaults.kms_key, help="KMS key alias (alias/NAME) or ARN for secrets")
    cmd.add_argument("--account-id", default=defaults.account, help="the AWS account the stack deploys into")
    cmd.add_argument("--identity", choices=("pod-identity", "irsa"), default=defaults.identity)
    cmd.add_argument("--oidc-issuer", default="", help="irsa: the cluster's OIDC issuer (oidc.eks.REGION...)")


def operator(args: argparse.Namespace, end_loop: bool) -> int:
    from program.config import ConfigError
    from tools.engine import close_event_loop
    from tools.operator import OperatorError, Settings, plan_stack, settings_problems, write
    from tools.pulumi_cli import PulumiCliError

    settings = Settings(
        stack=args.stack, repo=args.repo, branch=args.branch, namespace=args.namespace, repo_dir=args.repo_dir,
        resync_seconds=args.resync_seconds, image=args.image, state_bucket=args.state_bucket,
        state_region=args.state_region, kms_key=args.kms_key, account=args.account_id, identity=args.identity,
        oidc_issuer=args.oidc_issuer,
    )  # fmt: skip
    problems = settings_problems(settings)
    if problems:
        print("error: " + "\n  - ".join(["refused before writing anything:", *problems]), file=sys.stderr)
        return 2
    try:
        planned = plan_stack(args.stack, args.stacks_dir)
        if end_loop:
            close_event_loop()
        out = args.out if args.out is not None else Path("deploy") / "operator" / args.stack
        for path in write(settings, planned, out):
            print(f"wrote {path}", file=sys.stderr)
    except (OperatorError, ConfigError, PulumiCliError, FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def verify(args: argparse.Namespace) -> int:
    from tools.verify import (
        Check,
        ProgressLines,
        checks_from_outputs,
        http_check,
        invoke_check,
        run_checks,
        through,
    )

    if args.url:
        outputs: dict[str, object] = {}
        checks = [Check(route="url", url=args.url, host=args.host)]
    else:
        try:
            outputs = read_outputs(args.stack, args.outputs)
        except (OSError, ValueError, subprocess.CalledProcessError) as error:
            print(f"error: cannot read the stack's outputs: {error}", file=sys.stderr)
            return 2
        try:
            token = args.jwt if args.jwt_file is None else args.jwt_file.read_text().strip()
        except OSError as error:
            print(f"error: cannot read --jwt-file {args.jwt_file}: {error.strerror}", file=sys.stderr)
            return 2
        try:
            checks = checks_from_outputs(outputs, jwt_token=token or None, replicas=args.replicas)
            if args.base_url:
                checks = through(checks, args.base_url)
        except (ValueError, KeyError) as error:
            print(f"error: cannot read the stack's outputs: {error}", file=sys.stderr)
            return 2
    attempts: list[tuple[str, Callable[[float], Result]]] = [
        (f"route {check.route}", functools.partial(http_check, check)) for check in checks
    ]
    if args.invoke:
        region = str(outputs.get("region") or os.environ.get("AWS_REGION") or "us-east-1")
        expect = {c.function: c.expect for c in checks if c.function}
        functions = sorted(expect) or [str(outputs.get("function_name", "echo"))]
        attempts += [
            (
                f"function {name}",
                functools.partial(invoke_check, name, region, expect.get(name, "guide"), args.endpoint_url),
            )
            for name in functions
        ]
    progress = None
    if args.wait > 0:
        print(f"waiting up to {args.wait:g}s for {len(attempts)} check(s)", file=sys.stderr)
        progress = ProgressLines([name for name, _ in attempts], sys.stderr, sys.stderr.isatty())
    results = run_checks(attempts, args.wait, args.timeout, progress=progress)
    for result in results:
        print(result.line())
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def positive_count(text: str) -> int:
    """--replicas: a whole number from 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"--replicas {text!r}: must be a whole number from 1")
    return value


def read_outputs(stack: str | None, path: Path | None) -> dict[str, object]:
    if path is not None:
        text = path.read_text()
    else:
        text = subprocess.run(
            # --show-secrets: a protected route's API key (the secret output `api_keys`) to check it is let in;
            # verify never prints it.
            ["pulumi", "stack", "output", "--json", "--show-secrets", "--stack", str(stack)],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
    outputs = json.loads(text)
    if not isinstance(outputs, dict):
        raise ValueError("expected a JSON object of stack outputs")
    return outputs


if __name__ == "__main__":
    sys.exit(main())
