"""Golden files, reviewed like kgateway's translator inputs: the Kubernetes objects each scenario emits on each
kgateway line (`tests/golden/<scenario>-<line>.yaml`), and the component package's schema (`schema.json`).

Regenerate every golden after an intended change with one command, then review the diff:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/test_golden.py

A golden that differs fails with a unified diff (golden → rendered); a golden no scenario renders fails too.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.kgateway_api import KGATEWAY_VERSIONS
from program.config import ConfigError
from tests.support import TESTS
from tests.support.fake_aws import AMBIENT_ROLE, OIDC_PROVIDER, FakeAwsMocks
from tools.engine import run_program, stack_config
from tools.plan import kubernetes_manifests

GOLDEN = TESTS / "golden"
GOLDEN_SCHEMA = GOLDEN / "schema.json"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


@dataclass(frozen=True)
class Scenario:
    """A stack file (stacks/Pulumi.<stack>.yaml) with some `kgateway-lambda:` keys set, in the fake account."""

    stack: str
    overrides: dict[str, str] = field(default_factory=dict)
    region: str = "us-east-1"


SCENARIOS = {
    "dev": Scenario("dev"),
    "multi": Scenario("multi", region="eu-west-1"),
    "irsa": Scenario("dev", {"credentialsMode": "irsa", "oidcProvider": OIDC_PROVIDER}),
    "assume-role": Scenario("dev", {"credentialsMode": "assume-role", "ambientRoleArn": AMBIENT_ROLE}),
    "cross-namespace": Scenario("dev", {"namespace": "team-a", "gatewayNamespace": "edge", "gatewayName": "public"}),
    "existing-arn": Scenario("dev", {"functionArn": "arn:aws:lambda:us-east-1:210987654321:function:orders"}),
}

# The pairs the program refuses, and why: a Backend authenticates with AssumeRole only from kgateway v2.4 on
# (`KgatewayVersion.has_assume_role_auth`, decided from each line's real Backend CRD).
REFUSED = {
    ("assume-role", line): "needs a Backend auth type AssumeRole"
    for line, version in KGATEWAY_VERSIONS.items()
    if not version.has_assume_role_auth
}
MATRIX = [(scenario, line) for scenario in SCENARIOS for line in KGATEWAY_VERSIONS if (scenario, line) not in REFUSED]


def render(scenario_name: str, line: str) -> str:
    scenario = SCENARIOS[scenario_name]
    config, secret_keys = stack_config(scenario.stack)
    overrides = {**scenario.overrides, "kgatewayVersion": line}
    config.update({f"kgateway-lambda:{key}": value for key, value in overrides.items()})
    run = run_program(FakeAwsMocks(region=scenario.region), config, secret_keys, stack=scenario.stack)
    return yaml.safe_dump_all(kubernetes_manifests(run), sort_keys=False)


def assert_matches_golden(rendered: str, golden: Path) -> None:
    """Equal to the golden file, or a failure that shows the unified diff from the golden to what was rendered."""
    if UPDATE:
        golden.write_text(rendered)
    expected = golden.read_text() if golden.exists() else ""
    if rendered != expected:
        diff = difflib.unified_diff(
            expected.splitlines(keepends=True),
            rendered.splitlines(keepends=True),
            fromfile=f"tests/golden/{golden.name}",
            tofile="rendered",
        )
        pytest.fail(
            f"{golden.name} differs from what is rendered; review, then regenerate (module docstring):\n"
            + "".join(diff),
            pytrace=False,
        )


@pytest.mark.parametrize(("scenario", "line"), MATRIX, ids=[f"{s}-{line}" for s, line in MATRIX])
def test_objects_match_the_golden_file(scenario: str, line: str) -> None:
    assert_matches_golden(render(scenario, line), GOLDEN / f"{scenario}-{line}.yaml")


def test_the_refused_pairs_are_assume_role_before_v2_4_and_fail_before_any_resource() -> None:
    assert sorted(REFUSED) == [("assume-role", line) for line in ("v2.0", "v2.1", "v2.2", "v2.3")]
    for (scenario, line), reason in REFUSED.items():
        with pytest.raises(ConfigError, match=reason):
            render(scenario, line)


def test_every_golden_file_is_rendered_by_the_matrix() -> None:
    rendered = {f"{scenario}-{line}.yaml" for scenario, line in MATRIX}
    assert {path.name for path in GOLDEN.glob("*.yaml")} == rendered


def test_a_difference_fails_with_a_unified_diff(tmp_path: Path) -> None:
    golden = tmp_path / "x.yaml"
    golden.write_text("kind: Backend\nname: echo\n")
    if UPDATE:
        pytest.skip("UPDATE_GOLDEN=1 rewrites goldens instead of comparing them")
    with pytest.raises(pytest.fail.Exception) as failure:
        assert_matches_golden("kind: Backend\nname: other\n", golden)
    assert "--- tests/golden/x.yaml\n+++ rendered\n" in str(failure.value)
    assert "-name: echo\n+name: other\n" in str(failure.value)


def test_schema_matches_the_golden_file(schema: dict[str, Any]) -> None:
    """Reviewed as text: regenerate with UPDATE_GOLDEN=1 and read the diff."""
    assert_matches_golden(json.dumps(schema, indent=2, sort_keys=True) + "\n", GOLDEN_SCHEMA)
