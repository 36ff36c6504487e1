"""The real engine, where one is at hand: the Pulumi CLI through the Automation API, on a copy of this repository.

Offline, every other test runs the program on Pulumi's mocks. This one runs `pulumi preview` of the `local` stack
for real (the CLI, the language host, the AWS provider plugin) against a moto server on 127.0.0.1, with a file
backend in a temporary folder. Where a cluster with kgateway's CRDs is reachable (kubectl's current context), it
also runs `pulumi up`, a second `pulumi up` that must change nothing, and `pulumi destroy`, and checks moto is
empty after it. Without a `pulumi` CLI on PATH it is skipped, and the test summary says so.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import boto3
import pytest

from program.config import PROJECT_ROOT

PULUMI = shutil.which("pulumi")
NOT_RUN = "the real-engine test did not run: no `pulumi` CLI on PATH (install it to run the real engine)"
pytestmark = pytest.mark.skipif(PULUMI is None, reason=NOT_RUN)


def copy_of_the_repository(destination: Path) -> Path:
    """The tracked files (and untracked ones git does not ignore), as a clone has them, plus the virtualenv."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        source = PROJECT_ROOT / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    (destination / ".venv").symlink_to(PROJECT_ROOT / ".venv")
    return destination


def cluster_with_kgateway() -> bool:
    """kubectl's current context answers and has kgateway's Backend CRD."""
    if shutil.which("kubectl") is None:
        return False
    done = subprocess.run(
        ["kubectl", "get", "crd", "backends.gateway.kgateway.dev", "--request-timeout=5s"],
        capture_output=True,
        check=False,
        timeout=30,
    )
    return done.returncode == 0


def test_the_real_engine_previews_the_local_stack_and_where_a_cluster_is_reachable_ups_and_destroys(
    moto_endpoint: str,
) -> None:
    from pulumi import automation as auto

    with tempfile.TemporaryDirectory() as temporary:
        work = copy_of_the_repository(Path(temporary) / "kgateway-lambda")
        state = Path(temporary) / "state"
        state.mkdir()
        env = {"PULUMI_BACKEND_URL": f"file://{state}", "PULUMI_CONFIG_PASSPHRASE": "real-engine-test"}
        stack = auto.create_or_select_stack("local", work_dir=str(work), opts=auto.LocalWorkspaceOptions(env_vars=env))
        endpoints = {service: moto_endpoint for service in ("iam", "lambda", "logs", "sts")}
        stack.set_config("aws:endpoints", auto.ConfigValue(json.dumps([endpoints])))
        stack.set_config("kgateway-lambda:endpointUrl", auto.ConfigValue(moto_endpoint))
        # kubectl's current context (the one asked for kgateway's CRDs), not the walkthrough's kind cluster.
        stack.remove_config("kubernetes:context")
        with_cluster = cluster_with_kgateway()
        if with_cluster:  # read the shape from the cluster's own CRD
            stack.set_config("kgateway-lambda:kgatewayVersion", auto.ConfigValue("auto"))

        preview = stack.preview()
        assert preview.change_summary.get(auto.OpType.CREATE, 0) >= 8, preview.change_summary
        assert not preview.change_summary.get(auto.OpType.DELETE), preview.change_summary
        if not with_cluster:
            pytest.skip("previewed for real; no cluster with kgateway's CRDs is reachable, so up/destroy did not run")

        up = stack.up()
        assert up.summary.result == "succeeded"
        again = stack.up(expect_no_changes=True)
        assert set(again.summary.resource_changes or {}) == {auto.OpType.SAME}, again.summary.resource_changes
        stack.destroy()
        session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        assert session.client("lambda", endpoint_url=moto_endpoint).list_functions()["Functions"] == []
        assert session.client("iam", endpoint_url=moto_endpoint).list_users()["Users"] == []
        stack.workspace.remove_stack("local")
