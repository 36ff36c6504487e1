"""AWS's and Pulumi's limits: the rig refuses what they refuse, and the program stays inside them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pulumi
import pytest

from components import LambdaFunction, Runtime, packaging
from components.credentials import CredentialsMode, GatewayCredentials, GatewayCredentialsArgs, InvokeTarget
from components.execution_role import ATTACHED_POLICIES, MANAGED_POLICY_CHARACTERS, role_resource_name
from components.gateway_iam import invoke_only_policy
from components.validation import dns_label_for
from tests.conftest import RunStack
from tests.support.aws_models import attached_documents
from tests.support.fake_aws import FakeAwsMocks
from tests.support.lifecycle import MotoDeployment
from tests.support.moto_account import evaluate
from tools.aws_rules import (
    AwsLimitError,
    IamState,
    check_inline_policies,
    check_managed_policy,
    enforce_iam_limits,
    physical_name,
    policy_size,
)
from tools.engine import reveal, run_program, stack_config


def test_the_rig_refuses_what_pulumi_and_iam_refuse() -> None:
    assert (
        physical_name("aws:iam/role:Role", "r" * 56, {})
        == "r" * 56 + "-" + physical_name("aws:iam/role:Role", "r" * 56, {})[-7:]
    )
    with pytest.raises(AwsLimitError, match=r"name 'r{57}-' plus 7 random chars is longer than maximum length 64"):
        physical_name("aws:iam/role:Role", "r" * 57, {})
    with pytest.raises(AwsLimitError, match="length less than or equal to 64"):
        physical_name("aws:iam/user:User", "u", {"name": "u" * 65})
    with pytest.raises(AwsLimitError, match="match"):
        physical_name("aws:iam/user:User", "u", {"name": "a b"})
    big = invoke_only_policy([f"arn:aws:lambda:us-east-1:123456789012:function:f{i:04d}" for i in range(130)])
    assert policy_size(big) > MANAGED_POLICY_CHARACTERS
    with pytest.raises(AwsLimitError, match="PolicySize: 6144"):
        check_managed_policy(big)
    small = invoke_only_policy([f"arn:aws:lambda:us-east-1:123456789012:function:f{i:04d}" for i in range(20)])
    with pytest.raises(AwsLimitError, match="Maximum policy size of 2048 bytes exceeded for user u"):
        check_inline_policies("aws:iam/userPolicy:UserPolicy", "u", [small, small])
    check_inline_policies("aws:iam/rolePolicy:RolePolicy", "r", [small, small])  # roles have 10,240
    state = IamState()
    for _ in range(ATTACHED_POLICIES):
        enforce_iam_limits(state, "aws:iam/userPolicyAttachment:UserPolicyAttachment", "a", {"user": "u"})
    with pytest.raises(AwsLimitError, match="PoliciesPerUser/Role: 10"):
        enforce_iam_limits(state, "aws:iam/userPolicyAttachment:UserPolicyAttachment", "a", {"user": "u"})


def test_a_64_character_function_name_deploys_within_iams_limits(run_stack: RunStack) -> None:
    name = "F" * 32 + "_" + "x" * 31
    run = run_stack({"functionName": name, "credentialsMode": "irsa", "oidcProvider": "https://oidc.example/id/X"})
    role = next(r for r in run.by_type("aws:iam/role:Role") if "gateway" not in r.name)
    assert role.name == role_resource_name(dns_label_for(name)) and len(role.name) + 8 <= 64
    assert reveal(run.one("aws:lambda/function:Function").inputs)["name"] == name
    assert role_resource_name("echo") == "echo-role"  # short names keep the URNs they had


def functions_config(count: int, name_length: int = 12, qualifier: str = "live") -> dict[str, str]:
    config, _ = stack_config("multi")
    functions = [{"name": f"fn{i:03d}".ljust(name_length, "x"), "qualifier": qualifier} for i in range(count)]
    config["kgateway-lambda:functions"] = json.dumps(functions)
    config.pop("kgateway-lambda:routes")
    return config


def identity_for(names: list[str]) -> Callable[[], None]:
    """A reusing program that makes only the gateway's identity, for these functions at their alias `live`."""

    def program() -> None:
        GatewayCredentials("gateway", {"functions": [{"function": name, "qualifier": "live"} for name in names]})

    return program


def test_200_functions_get_exactly_their_arns_in_managed_policies() -> None:
    """The identity's policies for 200 functions (the program's other 1,800 resources would only slow this down)."""
    names = [f"fn{i:03d}xxxxxxx" for i in range(200)]
    run = run_program(FakeAwsMocks(), {"aws:region": "us-east-1"}, program=identity_for(names))
    policies = [json.loads(p.inputs["policy"]) for p in run.by_type("aws:iam/policy:Policy")]
    assert 2 <= len(policies) <= ATTACHED_POLICIES
    granted = sorted(arn for policy in policies for arn in policy["Statement"][0]["Resource"])
    prefix = "arn:aws:lambda:us-east-1:123456789012:function:"
    assert granted == sorted(f"{prefix}{name}:live" for name in names)  # exactly what each Backend invokes
    assert len(run.by_type("aws:iam/userPolicyAttachment:UserPolicyAttachment")) == len(policies)
    key = run.one("aws:iam/accessKey:AccessKey")
    # The key waits for its user alone, not for the permissions (issue 11: IAM is eventually consistent anyway).
    assert set(key.dependencies) == {run.one("aws:iam/user:User").urn}


def test_more_functions_than_iam_can_name_are_refused_before_anything_is_made(run_stack: RunStack) -> None:
    config = functions_config(500, name_length=64)
    with pytest.raises(Exception, match=r"functions = '\[500 functions\]': need \d+ managed policies") as failure:
        run_stack({k: v for k, v in config.items() if k.startswith("kgateway-lambda:")})
    assert "at most 10 to a user or role" in str(failure.value)


def test_provided_keys_make_no_policies_so_iams_quota_does_not_cap_them() -> None:
    """500 functions: refused where the stack writes the invoke policies, accepted with the user's own keys."""
    targets: list[InvokeTarget] = [{"function": f"fn{i:03d}".ljust(64, "x")} for i in range(500)]

    def program() -> None:
        mode = CredentialsMode(pulumi.Config().require("mode"))
        args: GatewayCredentialsArgs = {"functions": targets, "mode": mode}
        if mode == CredentialsMode.PROVIDED:
            args["access_key_id"], args["secret_access_key"] = "AKIAPROVIDED", "provided"
        GatewayCredentials("gateway", args)

    config = {"aws:region": "us-east-1"}
    run = run_program(FakeAwsMocks(), {**config, "kgateway-lambda:mode": "provided"}, program=program)
    assert run.by_type("aws:iam/policy:Policy") == [] and len(run.by_type("kubernetes:core/v1:Secret")) == 1
    with pytest.raises(Exception, match=r"\[500 functions\]': need \d+ managed policies"):
        run_program(FakeAwsMocks(), {**config, "kgateway-lambda:mode": "generated"}, program=program)


def test_many_functions_deploy_into_moto_and_the_key_may_invoke_exactly_them(aws: boto3.Session) -> None:
    """24 functions with 64-character names at a 128-character alias already need two managed policies (200 would
    take minutes here)."""
    alias = "live".ljust(128, "x")
    config = functions_config(24, name_length=64, qualifier=alias)
    config["aws:region"] = "us-east-1"
    deployment = MotoDeployment(aws)
    run = deployment.up(config, stack="multi")
    iam = aws.client("iam")
    (user,) = iam.list_users(PathPrefix="/kgateway-lambda/")["Users"]
    documents: list[Any] = attached_documents(iam, user=user["UserName"])
    assert 2 <= len(documents) <= ATTACHED_POLICIES
    arns = run.outputs["functions"]
    combined = json.dumps({"Version": "2012-10-17", "Statement": [s for d in documents for s in d["Statement"]]})
    for name in (f"fn{i:03d}".ljust(64, "x") for i in (0, 11, 23)):
        assert evaluate(combined, "lambda:InvokeFunction", f"{arns[name]}:{alias}")
        assert not evaluate(combined, "lambda:InvokeFunction", arns[name])  # the unqualified ARN invokes $LATEST
        assert not evaluate(combined, "lambda:InvokeFunction", f"{arns[name]}:other")
    assert not evaluate(combined, "lambda:InvokeFunction", arns["fn000".ljust(64, "x")].replace("fn000", "fn999"))
    deployment.destroy()
    assert iam.list_policies(Scope="Local")["Policies"] == []


def test_200_functions_identity_deploys_into_moto_and_allows_exactly_them(aws: boto3.Session) -> None:
    """The identity for 200 functions, really made in moto (IAM's sizes enforced by the harness), and moto's own
    IAM policy evaluator on the policies as moto stores them: each routed ARN allowed, nothing else."""
    names = [f"fn{i:03d}".ljust(40, "x") for i in range(200)]
    deployment = MotoDeployment(aws)
    deployment.up({"aws:region": "us-east-1"}, program=identity_for(names))
    iam = aws.client("iam")
    (user,) = iam.list_users(PathPrefix="/kgateway-lambda/")["Users"]
    documents = attached_documents(iam, user=user["UserName"])
    assert 2 <= len(documents) <= ATTACHED_POLICIES
    combined = json.dumps({"Version": "2012-10-17", "Statement": [s for d in documents for s in d["Statement"]]})
    prefix = "arn:aws:lambda:us-east-1:123456789012:function:"
    for name in names:
        assert evaluate(combined, "lambda:InvokeFunction", f"{prefix}{name}:live"), name
    assert not evaluate(combined, "lambda:InvokeFunction", f"{prefix}{names[0]}:other")
    assert not evaluate(combined, "lambda:InvokeFunction", f"{prefix}not-routed")
    assert not evaluate(combined, "lambda:GetFunction", f"{prefix}{names[0]}")
    deployment.destroy()
    assert iam.list_policies(Scope="Local")["Policies"] == []


@pytest.mark.parametrize(("size", "through_s3"), [(52_428_800, False), (52_428_801, True)])
def test_a_zip_of_exactly_50_mb_is_uploaded_directly_and_one_byte_more_goes_through_s3(
    tmp_path: Path, size: int, through_s3: bool
) -> None:
    """Lambda's direct-upload quota is 50 MB zipped, 52,428,800 bytes as the Lambda API reports it (the Developer
    Guide's GetAccountSettings example, docs.aws.amazon.com/lambda/latest/dg/example_lambda_GetAccountSettings_
    section.html: `"CodeSizeZipped": 52428800`; the "Lambda quotas" page: 50 MB zipped, larger through Amazon S3).
    The value is pinned, not only patched (tests/test_functions_deploy.py lowers it), and so is its boundary."""
    assert packaging.DIRECT_UPLOAD_LIMIT == 52_428_800
    archive = tmp_path / "big.zip"
    with archive.open("wb") as sparse:  # its size is what counts (the content only when it goes through S3)
        sparse.truncate(size)

    def program() -> None:
        LambdaFunction(
            "big",
            {"function_name": "big", "code": pulumi.FileArchive(str(archive)), "runtime": Runtime.NODEJS24_X},
        )

    run = run_program(FakeAwsMocks(), {"aws:region": "us-east-1"}, program=program)
    function = run.one("aws:lambda/function:Function")
    assert bool(run.by_type("aws:s3/bucketObjectv2:BucketObjectv2")) is through_s3
    assert ("code" not in function.inputs) is through_s3
