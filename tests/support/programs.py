"""Programs given as source text (a reusing stack's `__main__.py`, one that calls the provider's construct, or a small
program for one engine rule): for the few tests whose point is the program as a file."""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.support.fake_aws import FakeAwsMocks
from tools.engine import RegisteredResource, run_program


def run_text(tmp_path: Path, name: str, text: str) -> list[RegisteredResource]:
    """Write `text` as `<name>.py` under `tmp_path` and run it in the fake account's us-east-1; what it registered."""
    program = tmp_path / f"{name}.py"
    program.write_text(text)
    return run_program(FakeAwsMocks(), {"aws:region": "us-east-1"}, program=program).resources


def program(tmp_path: Path, body: str) -> Path:
    """A small Pulumi program with pulumi and pulumi-kubernetes imported, written to a file under `tmp_path`: one
    engine rule's test (tests/test_engine_faithful.py, tests/test_engine_modes.py)."""
    path = tmp_path / f"rule_{abs(hash(body))}.py"
    header = "import pulumi\nimport pulumi_kubernetes as k8s\nfrom pulumi_kubernetes.meta.v1 import ObjectMetaArgs\n"
    path.write_text(header + textwrap.dedent(body))
    return path
