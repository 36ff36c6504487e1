"""Day 2: the changes a user makes to a deployed stack, run like `pulumi up` (state by URN, aliases, replacements
create-before-delete, deletes last and dependents first), with AWS in moto and Kubernetes in an API server that
refuses AlreadyExists and validates every object against the real CRDs."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest

from tests.support.fake_aws import oidc_provider
from tests.support.guide import hand_made_echo
from tests.support.lifecycle import MotoDeployment, dev_config, generated_key, secret_data
from tests.support.state import Key
from tools.engine import ProgramRun, reveal

PROVIDER = oidc_provider("ABC")
# What the harness's cluster holds before any stack: kgateway's Backend and TrafficPolicy CRDs and the guide's Gateway.
INSTALLED_BY_THE_GUIDE = {
    ("apiextensions.k8s.io/v1:CustomResourceDefinition", "", "backends.gateway.kgateway.dev"),
    ("apiextensions.k8s.io/v1:CustomResourceDefinition", "", "trafficpolicies.gateway.kgateway.dev"),
    ("gateway.networking.k8s.io/v1:Gateway", "kgateway-system", "http"),
    ("apps/v1:Deployment", "kgateway-system", "kgateway"),  # the controller, as kgateway's Helm chart installs it
}
CREDENTIAL_TYPES = ("aws:iam/user:User", "aws:iam/accessKey:AccessKey", "kubernetes:core/v1:Secret")


def functions(*names: str) -> dict[str, str]:
    entries = [{"name": name, **({"source": "hello"} if name == "hello" else {})} for name in names]
    return dev_config(functions=json.dumps(entries))


def check_in_step(deployment: MotoDeployment, run: ProgramRun, aws: boto3.Session, names: set[str]) -> None:
    """After every step: exactly the run's objects exist in AWS and the cluster; the Secret holds the live key."""
    live = {f["FunctionName"] for f in aws.client("lambda").list_functions()["Functions"]}
    assert live == names
    groups = {g["logGroupName"] for g in aws.client("logs").describe_log_groups()["logGroups"]}
    assert groups == {f"/aws/lambda/{name}" for name in names}
    declared = {
        (r.type.split(":", 1)[1], reveal(r.inputs)["metadata"]["namespace"], reveal(r.inputs)["metadata"]["name"])
        for r in run.resources
        if r.type.startswith("kubernetes:") and r.read_id is None
    }
    assert set(deployment.cluster.objects) == declared | INSTALLED_BY_THE_GUIDE
    for identity in declared:  # by content: what the server holds is what the run asked for
        (resource,) = [
            r
            for r in run.resources
            if r.read_id is None
            and r.type.endswith(identity[0])
            and reveal(r.inputs)["metadata"]["name"] == identity[2]
            and reveal(r.inputs)["metadata"]["namespace"] == identity[1]
        ]
        assert deployment.cluster.objects[identity] == reveal(resource.inputs)
    if any(d.type == "aws:iam/accessKey:AccessKey" for d in deployment.deployed.values()):
        iam = aws.client("iam")
        (user,) = iam.list_users(PathPrefix="/kgateway-lambda/")["Users"]
        (key,) = iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"]
        assert secret_data(deployment)["accessKey"] == key["AccessKeyId"] == generated_key(deployment)["id"]


def touched(deployment: MotoDeployment, *operations: str) -> set[str]:
    return {key[0] for op, key in deployment.changes if op in operations}


def test_one_then_three_then_a_rename_then_a_mode_change_then_one_then_destroy(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    run = deployment.up(dev_config())
    check_in_step(deployment, run, aws, {"echo"})

    run = deployment.up(functions("echo", "hello", "world"))  # 1 -> 3: the identity stays where it is
    check_in_step(deployment, run, aws, {"echo", "hello", "world"})
    assert not touched(deployment, "create", "delete", "replace") & set(CREDENTIAL_TYPES)
    assert "aws:iam/policy:Policy" in touched(deployment, "update")  # its policy now lists three functions

    run = deployment.up(functions("echo", "hello", "earth"))  # a rename: a new function, the old one deleted
    check_in_step(deployment, run, aws, {"echo", "hello", "earth"})
    assert "replace" not in {op for op, _ in deployment.changes}

    keyless = {**functions("echo", "hello", "earth"), "kgateway-lambda:credentialsMode": "irsa"}
    keyless["kgateway-lambda:oidcProvider"] = PROVIDER
    run = deployment.up(keyless)  # a mode change: keys go (after the Backends stop naming the Secret), a role comes
    check_in_step(deployment, run, aws, {"echo", "hello", "earth"})
    kinds = [(op, key[0]) for op, key in deployment.changes]
    assert kinds.index(("update", "kubernetes:gateway.kgateway.dev/v1alpha1:Backend")) < kinds.index(
        ("delete", "kubernetes:core/v1:Secret")
    )
    assert aws.client("iam").list_users(PathPrefix="/kgateway-lambda/")["Users"] == []
    assert ("gateway.kgateway.dev/v1alpha1:GatewayParameters", "kgateway-system", "lambda-irsa") in set(
        deployment.cluster.objects
    )

    run = deployment.up(
        {**dev_config(), "kgateway-lambda:credentialsMode": "irsa", "kgateway-lambda:oidcProvider": PROVIDER}
    )
    check_in_step(deployment, run, aws, {"echo"})

    deployment.destroy()
    iam = aws.client("iam")
    assert aws.client("lambda").list_functions()["Functions"] == []
    assert iam.list_roles()["Roles"] == [] and iam.list_users()["Users"] == []
    assert iam.list_policies(Scope="Local")["Policies"] == []
    assert set(deployment.cluster.objects) == INSTALLED_BY_THE_GUIDE
    assert deployment.deployed == {}


def old_urn(urn: str) -> str:
    """Where a single function's identity lived before 0.2.0: inside its composite, under the old type token."""
    return urn.replace(
        "::kgateway-lambda:index:GatewayCredentials",
        "::kgateway-lambda:index:LambdaGatewayRoute$kgateway-lambda:aws:GatewayCredentials",
    ).replace("::gateway", "::echo")


def test_a_pre_0_2_0_stack_keeps_its_identity_through_the_aliases(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    deployment.up(dev_config())
    key_before = generated_key(deployment)
    moved: dict[Key, Any] = {}
    for (type_, urn), resource in deployment.deployed.items():
        moved[(type_, old_urn(urn) if "GatewayCredentials" in urn else urn)] = resource
    deployment.deployed = moved  # the state as an older version of the program left it

    run = deployment.up(dev_config())
    aliased = {key[0] for op, key in deployment.changes if op == "alias"}
    assert {"kgateway-lambda:index:GatewayCredentials", *CREDENTIAL_TYPES} <= aliased
    assert not touched(deployment, "create", "delete", "replace")
    assert generated_key(deployment) == key_before
    check_in_step(deployment, run, aws, {"echo"})


def test_a_urn_move_onto_a_fixed_name_would_collide(aws: boto3.Session) -> None:
    """Why the aliases matter: under a URN no alias leads to, the Secret `aws-creds` would be created while the old
    one still exists, and the API server refuses it (as IAM refuses the user's name)."""
    deployment = MotoDeployment(aws)
    deployment.up(dev_config())
    deployment.deployed = {
        (type_, urn.replace("::gateway", "::elsewhere") if "GatewayCredentials" in urn else urn): resource
        for (type_, urn), resource in deployment.deployed.items()
    }
    try:
        deployment.up(dev_config())
    except Exception as error:
        assert "already exists" in str(error).lower() or "AlreadyExists" in str(error), error
    else:
        raise AssertionError("a create onto a name that still exists must fail, as the API server and IAM do")


def test_the_guides_hand_made_function_is_refused_then_routed_as_it_is(aws: boto3.Session) -> None:
    """Someone who followed the guide by hand has `echo` and `/aws/lambda/echo`: the stack neither collides with
    them (ResourceConflict mid-deploy) nor takes them over; it says so at preview, and routes them on request."""
    admin = aws.client("lambda")
    echo = hand_made_echo(aws)

    deployment = MotoDeployment(aws)
    with pytest.raises(Exception, match=r"ResourceConflict|already exists") as failure:
        deployment.up(dev_config())
    # Whichever of the two the engine reaches first (they are checked in parallel).
    assert re.search(
        r"a (Lambda function|CloudWatch log group) named '(/aws/lambda/)?echo' already exists", str(failure.value)
    )
    assert "outside Pulumi (the guide's hand-made one?)" in str(failure.value)
    assert "functionArn" in str(failure.value)
    assert {f["FunctionName"] for f in admin.list_functions()["Functions"]} == {"echo"}  # nothing created

    run = deployment.up(dev_config(functionArn=echo))  # routed as it is: nothing of the function is created
    assert run.outputs["function_arn"] == echo
    assert admin.get_function(FunctionName="echo")["Configuration"]["Runtime"] == "nodejs22.x"  # untouched
    deployment.destroy()
    assert {f["FunctionName"] for f in admin.list_functions()["Functions"]} == {"echo"}  # still the user's


def test_a_stacks_own_function_is_not_mistaken_for_someone_elses(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    deployment.up(dev_config())
    deployment.up(dev_config(memorySize="256"))  # the second up finds `echo`, tagged as this stack's
    assert aws.client("lambda").get_function(FunctionName="echo")["Configuration"]["MemorySize"] == 256
    other = MotoDeployment(aws)  # another stack (another owner) wanting the same name
    with pytest.raises(
        Exception, match=r"already exists in this account and region, made by kgateway-lambda/test/echo"
    ):
        other.up(dev_config(), stack="other")
