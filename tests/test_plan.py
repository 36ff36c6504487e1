"""The offline plan of a stack: its shape, placeholders, manifests, and no plaintext secret anywhere."""

from __future__ import annotations

import gc
import json
import random
from pathlib import Path
from typing import Any

import yaml

from program.config import PROJECT_ROOT
from program.runtime import GC_THRESHOLDS
from tests.support.commands import run_tools
from tests.support.kgateway_reference import (
    BASIS,
    MAIN_BACKEND_CRD,
    MAIN_TRAFFIC_POLICY_CRD,
    object_errors,
    require_crds,
)
from tools.engine import RegisteredResource, reveal, run_program
from tools.engine_answers import KGATEWAY_IMAGE
from tools.plan import PlaceholderMocks, in_dependency_order, plan, plan_document, render_text

STACKS = PROJECT_ROOT / "stacks"
EXPECTED_TYPES = {
    "kgateway-lambda:index:LambdaGatewayRoute",
    "kgateway-lambda:index:LambdaFunction",
    "kgateway-lambda:index:GatewayCredentials",
    "kgateway-lambda:index:LambdaBackend",
    "kgateway-lambda:index:LambdaRoute",
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:lambda/function:Function",
    "aws:iam/user:User",
    "aws:iam/policy:Policy",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/accessKey:AccessKey",
    "kubernetes:core/v1:Secret",
    "kubernetes:gateway.kgateway.dev/v1alpha1:Backend",
    "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
    "kubernetes:gateway.networking.k8s.io/v1:Gateway",
    "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
}


def test_plan_command_prints_one_json_document(tmp_path: Path) -> None:
    done = run_tools(
        "plan", "--stack", "dev", "--json", "--manifests", str(tmp_path), "--kgateway-crd", str(MAIN_BACKEND_CRD)
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["stack"] == "dev"
    assert {r["type"] for r in document["resources"]} == EXPECTED_TYPES
    for resource in document["resources"]:
        assert set(resource) >= {"type", "name", "parent", "inputs"}
    assert set(document["outputs"]) == {
        "gateway_url",
        "echo_url",
        "curl_command",
        "function_name",
        "function_arn",
        "role_arn",
        "backend_name",
        "route_name",
        "secret_name",
        "region",
        "verify",
    }
    assert document["outputs"]["function_name"] == "echo"
    assert document["outputs"]["function_arn"] == "[known after deploy]"
    secret = next(r for r in document["resources"] if r["type"] == "kubernetes:core/v1:Secret")
    assert secret["inputs"]["stringData"] == "[secret]"

    manifests = sorted(tmp_path.glob("*.yaml"))
    kinds = [yaml.safe_load(p.read_text())["kind"] for p in manifests]
    assert kinds == ["Secret", "Backend", "HTTPRoute"]
    backend = yaml.safe_load(manifests[1].read_text())
    assert backend["spec"]["aws"]["lambda"]["accountId"] == "[account id of the deploying identity]"


def test_encrypted_config_is_shown_as_secret_only(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.sandbox.yaml").write_text(
        yaml.safe_dump(
            {
                "config": {
                    "aws:region": "eu-west-1",
                    "kgateway-lambda:credentialsMode": "provided",
                    "kgateway-lambda:accessKeyId": {"secure": "v1:ENCRYPTEDKEYID"},
                    "kgateway-lambda:secretAccessKey": {"secure": "v1:ENCRYPTEDSECRET"},
                }
            }
        )
    )
    document = plan_document(plan("sandbox", stacks_dir=tmp_path))
    text = json.dumps(document)
    assert "ENCRYPTED" not in text
    secret = next(r for r in document["resources"] if r["type"] == "kubernetes:core/v1:Secret")
    assert secret["inputs"]["stringData"] == "[secret]"
    assert not any(r["type"].startswith("aws:iam/") and "user" in r["type"].lower() for r in document["resources"])


def test_plan_of_a_bad_stack_fails_with_the_config_error(tmp_path: Path) -> None:
    done = run_tools("plan", "--stack", "nope")
    assert done.returncode == 2
    assert "no stack config" in done.stderr


def test_the_same_config_gives_the_same_plan() -> None:
    """Registration order varies between runs; the plan (and so a review diff) must not."""
    documents = {json.dumps(plan_document(plan("multi"))) for _ in range(3)}
    assert len(documents) == 1


def test_plan_of_auto_without_a_crd_leaves_the_backend_to_the_cluster() -> None:
    document = plan_document(plan("dev"))
    backend = next(r for r in document["resources"] if r["type"].endswith(":Backend"))
    assert backend["inputs"]["spec"] == "[known after deploy]"
    assert backend["inputs"]["metadata"]["name"] == "echo"
    assert document["warnings"][0].startswith("info: kgateway Backend shape auto: read from the cluster's Backend CRD")
    assert "--kgateway-crd FILE" in render_text(document)


def test_plan_with_a_crd_file_shows_what_that_cluster_gets() -> None:
    crds = require_crds()
    v2_0 = plan_document(plan("dev", kgateway_crd=crds / f"{BASIS['v2.0'].backend_crd}-backends.yaml"))
    backend = next(r for r in v2_0["resources"] if r["type"].endswith(":Backend"))
    assert backend["inputs"]["spec"]["type"] == "AWS"
    assert "payloadTransformMode" not in backend["inputs"]["spec"]["aws"]["lambda"]
    assert "pulumi.com/waitFor" not in backend["inputs"]["metadata"]["annotations"]
    assert "spec.type AWS, account id on spec.aws, payloadTransformMode no" in v2_0["warnings"][0]
    main = plan_document(plan("dev", kgateway_crd=MAIN_BACKEND_CRD))
    backend = next(r for r in main["resources"] if r["type"].endswith(":Backend"))
    assert "type" not in backend["inputs"]["spec"]
    assert backend["inputs"]["metadata"]["annotations"] == {"pulumi.com/waitFor": "condition=Accepted"}


def test_runs_close_every_event_loop_they_made(capsys: Any) -> None:
    """Loops left to the interpreter's exit printed a traceback after about one successful plan in twenty."""
    import asyncio

    from tools.engine import close_event_loop
    from tools.plan import plan

    plan("dev")
    loops = close_event_loop()
    assert len(loops) >= 2  # the main loop and the SDK mock monitor's executor threads' loops
    assert all(loop.is_closed() for loop in loops)
    asyncio.set_event_loop(asyncio.new_event_loop())  # the next test in this worker gets a fresh one


def least_ready_first(resources: list[RegisteredResource]) -> list[RegisteredResource]:
    """The order's definition, written the slow way: repeatedly the least (type, name) whose inputs are placed."""
    placed: list[RegisteredResource] = []
    urns = {r.urn for r in resources}
    while len(placed) < len(resources):
        done = {r.urn for r in placed}
        ready = [
            r
            for r in resources
            if r.urn not in done and {d for d in [*r.dependencies, r.parent_urn] if d in urns} <= done
        ]
        placed.append(min(ready, key=lambda r: (r.type, r.name)))
    return placed


def test_dependency_order_is_the_least_ready_resource_each_time() -> None:
    """The linear-time sort gives exactly the order its definition gives, on a random DAG with parents."""
    rng = random.Random(11)
    resources: list[RegisteredResource] = []
    for index in range(300):
        earlier = [r.urn for r in resources]
        resources.append(
            RegisteredResource(
                type=rng.choice(["a:x:X", "b:y:Y", "c:z:Z"]),
                name=f"r{rng.randrange(1000):03d}-{index}",
                urn=f"urn:{index}",
                parent_urn=rng.choice(earlier) if earlier and rng.random() < 0.3 else "",
                inputs={},
                dependencies=rng.sample(earlier, min(len(earlier), rng.randrange(4))),
                custom=True,
            )
        )
    rng.shuffle(resources)  # registration order varies from run to run
    expected = [r.urn for r in least_ready_first(resources)]
    assert [r.urn for r in in_dependency_order(resources)] == expected
    assert [r.urn for r in in_dependency_order(list(reversed(resources)))] == expected


def test_the_program_sets_garbage_collection_for_one_short_run() -> None:
    gc.set_threshold(700, 10, 10)
    plan("dev")
    assert gc.get_threshold() == GC_THRESHOLDS


def test_secret_stack_outputs_are_shown_as_secret_in_the_plan(tmp_path: Path) -> None:
    """The program exports no secret today; a reusing stack may, and the plan must not print it."""
    program = tmp_path / "secret_outputs.py"
    program.write_text(
        "import pulumi\n"
        "pulumi.export('token', pulumi.Output.secret('hunter2-token'))\n"
        "pulumi.export('derived', pulumi.Output.secret('hunter2').apply(lambda s: {'url': 'https://x/' + s}))\n"
        "pulumi.export('plain', 'visible')\n"
    )
    run = run_program(PlaceholderMocks({}), {}, program=program, preview=True)
    document = plan_document(run)
    assert document["outputs"] == {"derived": "[secret]", "plain": "visible", "token": "[secret]"}
    shown = json.dumps(document) + render_text(document)
    assert "hunter2" not in shown
    assert "token: [secret]" in render_text(document)


def auto_protected_stack(tmp_path: Path) -> Path:
    config = {"config": {**yaml.safe_load((STACKS / "Pulumi.protected.yaml").read_text())["config"]}}
    config["config"]["kgateway-lambda:kgatewayVersion"] = "auto"
    (tmp_path / "Pulumi.autoprotected.yaml").write_text(yaml.safe_dump(config))
    return tmp_path


def test_an_auto_stack_with_protection_plans_for_the_cluster_whose_crds_are_given(tmp_path: Path) -> None:
    """Every CRD the stack reads can be given, in one file as `kubectl get crd A B -o yaml` prints them (a `List`),
    and each read is answered with its own CRD (before, every CRD read was answered with the Backend's, and the
    plan refused protection as "not available on kgateway auto")."""
    stacks = auto_protected_stack(tmp_path)
    listing = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [yaml.safe_load(MAIN_BACKEND_CRD.read_text()), yaml.safe_load(MAIN_TRAFFIC_POLICY_CRD.read_text())],
    }
    both = tmp_path / "crds.yaml"
    both.write_text(yaml.safe_dump(listing))
    run = plan("autoprotected", stacks_dir=stacks, kgateway_crd=[both], kgateway_image=KGATEWAY_IMAGE)
    policies = [reveal(r.inputs) for r in run.resources if r.type.endswith(":TrafficPolicy")]
    assert policies and all(object_errors(p, "main") == [] for p in policies)
    assert all("apiKeyAuth" in p["spec"] or "jwtAuth" in p["spec"] for p in policies)
    # The same two CRDs as two files, repeated `--kgateway-crd`: the same plan.
    again = plan(
        "autoprotected",
        stacks_dir=stacks,
        kgateway_crd=[MAIN_BACKEND_CRD, MAIN_TRAFFIC_POLICY_CRD],
        kgateway_image=KGATEWAY_IMAGE,
    )
    assert plan_document(again)["resources"] == plan_document(run)["resources"]


def test_a_crd_the_stack_reads_but_no_file_gives_is_named_not_guessed(tmp_path: Path) -> None:
    stacks = auto_protected_stack(tmp_path)
    run = plan("autoprotected", stacks_dir=stacks, kgateway_crd=[MAIN_BACKEND_CRD], kgateway_image=KGATEWAY_IMAGE)
    (line,) = [log for log in run.logs if "trafficpolicies.gateway.kgateway.dev" in log]
    assert "no --kgateway-crd file holds" in line and "kubectl get crd" in line
    assert not [log for log in run.logs if "not available on kgateway" in log]
    policy = next(r for r in plan_document(run)["resources"] if r["type"].endswith(":TrafficPolicy"))
    assert "known after deploy" in json.dumps(policy["inputs"])


def test_a_file_that_is_not_a_crd_is_refused_naming_it(tmp_path: Path) -> None:
    stray = tmp_path / "stray.yaml"
    stray.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    done = run_tools("plan", "--stack", "dev", "--kgateway-crd", str(MAIN_BACKEND_CRD), "--kgateway-crd", str(stray))
    assert done.returncode == 2
    assert f"{stray} holds a ConfigMap, not a CustomResourceDefinition" in done.stderr
