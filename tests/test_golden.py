"""Golden files: the Kubernetes objects the dev stack emits, per kgateway version, reviewed like translator inputs.

Regenerate after an intended change with `UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py`
and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from components.kgateway_api import KGATEWAY_VERSIONS
from tests.conftest import RunStack
from tools.plan import kubernetes_manifests

GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.mark.parametrize("version", list(KGATEWAY_VERSIONS))
def test_dev_stack_objects_match_the_golden_file(run_stack: RunStack, version: str) -> None:
    manifests = kubernetes_manifests(run_stack({"kgatewayVersion": version}))
    rendered = yaml.safe_dump_all(manifests, sort_keys=False)
    golden = GOLDEN / f"dev-{version}.yaml"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        golden.write_text(rendered)
    assert rendered == golden.read_text(), f"{golden.name} differs; review, then regenerate (see module docstring)"
