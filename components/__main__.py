"""Command line: `python -m components plan --stack dev [--json | --manifests DIR]`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from components.config import ConfigError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    plan_cmd = commands.add_parser("plan", help="show what `pulumi up` would create, offline")
    plan_cmd.add_argument("--stack", default="dev", help="stack name (stacks/Pulumi.<stack>.yaml)")
    plan_cmd.add_argument("--json", action="store_true", help="print one JSON document")
    plan_cmd.add_argument(
        "--manifests",
        type=Path,
        metavar="DIR",
        help="write each Kubernetes object as YAML",
    )
    args = parser.parse_args(argv)

    from components.plan import plan, plan_document, render_text, write_manifests

    try:
        run = plan(args.stack)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    document = plan_document(run)
    if args.manifests is not None:
        for path in write_manifests(run, args.manifests):
            print(f"wrote {path}", file=sys.stderr)
    print(json.dumps(document, indent=2, sort_keys=False) if args.json else render_text(document))
    return 0


if __name__ == "__main__":
    sys.exit(main())
