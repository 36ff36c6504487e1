"""The local sandbox: the moto server script, the local stack's AWS side deployed into it over HTTP, its plan."""

from __future__ import annotations

import os
import re
import subprocess

import boto3

from program.config import PROJECT_ROOT
from tests.support.lifecycle import MotoDeployment
from tests.support.local_servers import free_port
from tools.engine import stack_config
from tools.plan import plan, plan_document

SCRIPT = PROJECT_ROOT / "scripts" / "moto-server"


def moto_server(command: str, port: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MOTO_PORT": str(port), "MOTO_HOST": "127.0.0.1"}
    return subprocess.run(
        ["bash", str(SCRIPT), command], env=env, capture_output=True, text=True, check=False, timeout=60
    )


def test_local_stack_deploys_into_a_moto_server_started_by_the_script() -> None:
    """One server for the whole life cycle (starting one takes seconds): start, deploy over HTTP, destroy, stop."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    assert moto_server("status", port).returncode == 1
    started = moto_server("start", port)
    assert started.returncode == 0, started.stderr
    try:
        assert moto_server("start", port).stdout.startswith("moto already running")
        assert moto_server("status", port).stdout == f"moto healthy on port {port}\n"

        config, secret_keys = stack_config("local")
        session = boto3.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
        deployment = MotoDeployment(session, endpoint_url=endpoint)
        run = deployment.up(config, secret_keys, stack="local")
        remote = session.client("lambda", endpoint_url=endpoint)
        function = remote.get_function(FunctionName="echo")["Configuration"]
        assert function["Runtime"] == "nodejs22.x"
        assert run.outputs["function_arn"] == function["FunctionArn"]
        backend = next(d for d in deployment.deployed.values() if d.type.endswith(":Backend"))
        assert backend.state["spec"]["aws"]["lambda"]["endpointURL"] == "http://172.18.0.1:5000"
        deployment.destroy()
        assert remote.list_functions()["Functions"] == []
        assert session.client("iam", endpoint_url=endpoint).list_users()["Users"] == []
    finally:
        assert moto_server("stop", port).returncode == 0
    assert moto_server("status", port).returncode == 1


def test_plan_of_the_local_stack_carries_the_endpoint_settings() -> None:
    document = plan_document(plan("local"))
    aws = document["providers"]["aws"]
    assert aws["endpoints"] == [
        {
            "iam": "http://localhost:5000",
            "lambda": "http://localhost:5000",
            "logs": "http://localhost:5000",
            "sts": "http://localhost:5000",
        }
    ]
    assert aws["skipCredentialsValidation"] is True and aws["skipRequestingAccountId"] is True
    assert aws["accessKey"] == aws["secretKey"] == "[secret]"
    assert document["providers"]["kubernetes"] == {"context": "kind-kgateway-lambda"}
    backend = next(r for r in document["resources"] if r["type"].endswith(":Backend"))
    assert backend["inputs"]["spec"]["aws"]["lambda"]["endpointURL"] == "http://172.18.0.1:5000"
    assert document["outputs"]["gateway_url"] == "http://localhost:8080"


def test_the_local_stack_targets_the_kgateway_release_the_walkthrough_installs() -> None:
    config, _ = stack_config("local")
    line = config["kgateway-lambda:kgatewayVersion"]
    walkthrough = (PROJECT_ROOT / "docs" / "local-sandbox.md").read_text()
    charts = re.findall(r"oci://cr\.kgateway\.dev/kgateway-dev/charts/\S+ --version (v\d+\.\d+)\.\d+", walkthrough)
    assert charts and set(charts) == {line}
