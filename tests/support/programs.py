"""Programs given as source text (a reusing stack's `__main__.py`, or one that calls the provider's construct), run
on the fake account: for the few tests whose point is the program as a file."""

from __future__ import annotations

from pathlib import Path

from tests.support.fake_aws import FakeAwsMocks
from tools.engine import RegisteredResource, run_program


def run_text(tmp_path: Path, name: str, text: str) -> list[RegisteredResource]:
    """Write `text` as `<name>.py` under `tmp_path` and run it in the fake account's us-east-1; what it registered."""
    program = tmp_path / f"{name}.py"
    program.write_text(text)
    return run_program(FakeAwsMocks(), {"aws:region": "us-east-1"}, program=program).resources
