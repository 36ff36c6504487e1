"""Older releases of this program, deployed by the harness onto today's state (the upgrade tests): each release's
tree from git, run with its own `components`/`program` packages."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.lifecycle import MotoDeployment
from tools.engine import ProgramRun


def extract_release(revision: str, into: Path) -> Path:
    """The whole tree of the program at `revision` (from git, one `git archive`), written under `into`; returns its
    `__main__.py`."""
    root = Path(__file__).resolve().parents[2]
    archive = subprocess.run(["git", "archive", "--format=tar", revision], cwd=root, capture_output=True, check=True)
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tree:
        tree.extractall(into, filter="data")
    return into / "__main__.py"


@contextlib.contextmanager
def isolated_program_modules(program_root: Path) -> Iterator[None]:
    """Run another tree's program: its own `components`/`program` packages first on sys.path, and today's modules
    of those names set aside while it runs (and put back after), so neither sees the other's."""
    packages = ("components", "program", "tools")

    def ours(name: str) -> bool:
        return any(name == p or name.startswith(p + ".") for p in packages)

    saved = {name: module for name, module in sys.modules.items() if ours(name)}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(program_root))
    try:
        yield
    finally:
        sys.path.remove(str(program_root))
        for name in [n for n in sys.modules if ours(n)]:
            del sys.modules[name]
        sys.modules.update(saved)


def up_release(
    deployment: MotoDeployment, revision: str, workdir: Path, config: dict[str, str], **options: Any
) -> ProgramRun:
    """`pulumi up` of an older release of the program (extracted from git) on this deployment's state."""
    program = extract_release(revision, workdir)
    with isolated_program_modules(program.parent):
        return deployment.up(config, program=program, **options)
