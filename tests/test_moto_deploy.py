"""The AWS side deployed into moto by the real program: what it makes, least privilege, rotation, destroy."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core import set_initial_no_auth_action_count
from moto.iam.access_control import IAMPolicy, PermissionResult

from components.credentials import rotation_secret_name
from tests.support.aws_models import DeleteConflictError, attached_documents
from tests.support.lifecycle import MotoDeployment, dev_config, generated_key, secret_data
from tests.support.moto_account import REGION, evaluate
from tools.engine import reveal
from tools.plan import plan_document


def test_up_makes_the_aws_side_in_moto(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    run = deployment.up(dev_config())
    function = aws.client("lambda").get_function(FunctionName="echo")["Configuration"]
    assert (function["Runtime"], function["Handler"], function["MemorySize"], function["Timeout"]) == (
        "nodejs24.x",
        "index.handler",
        128,
        10,
    )
    assert function["Architectures"] == ["arm64"]
    assert run.outputs["function_arn"] == function["FunctionArn"]
    assert run.outputs["role_arn"] == function["Role"]
    groups = aws.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/echo")["logGroups"]
    assert [(g["logGroupName"], g["retentionInDays"]) for g in groups] == [("/aws/lambda/echo", 14)]
    iam = aws.client("iam")
    users = iam.list_users(PathPrefix="/kgateway-lambda/")["Users"]
    assert len(users) == 1
    keys = iam.list_access_keys(UserName=users[0]["UserName"])["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in keys] == [secret_data(deployment)["accessKey"]]
    role = function["Role"].rsplit("/", 1)[1]
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []  # no AWSLambdaBasicExecutionRole
    assert len(iam.list_role_policies(RoleName=role)["PolicyNames"]) == 1  # its own log group's


def test_second_up_with_no_change_changes_nothing(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    deployment.up(dev_config())
    deployment.up(dev_config())
    assert deployment.changes == []


def test_destroy_leaves_nothing_behind(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    deployment.up(dev_config())
    deployment.destroy()
    assert aws.client("lambda").list_functions()["Functions"] == []
    assert aws.client("logs").describe_log_groups()["logGroups"] == []
    iam = aws.client("iam")
    assert iam.list_users()["Users"] == []
    assert iam.list_roles()["Roles"] == []
    assert deployment.deployed == {}


def deleted_kinds(deployment: MotoDeployment) -> list[str]:
    return [key[0].rsplit(":", 1)[-1] for op, key in deployment.changes if op == "delete"]


def test_destroy_goes_route_backend_secret_key_user_by_the_programs_own_graph(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    deployment.up(dev_config())
    deployment.changes = []
    deployment.destroy()
    order = deleted_kinds(deployment)
    # The harness deletes the oldest first wherever the graph allows, so each "before" below is an edge the
    # program declared (the HTTPRoute takes the Backend's name from it, the Backend the Secret's, the Secret the key).
    for before, after in [
        ("HTTPRoute", "Backend"),
        ("Backend", "Secret"),
        ("Secret", "AccessKey"),
        ("AccessKey", "User"),
        ("UserPolicyAttachment", "Policy"),
        ("UserPolicyAttachment", "User"),
        ("Function", "Role"),
        ("RolePolicy", "Role"),
    ]:
        assert order.index(before) < order.index(after), (before, after, order)
    assert deployment.deployed == {}


def test_a_missing_edge_shows_as_a_wrong_destroy_order_or_a_refused_delete(aws: boto3.Session) -> None:
    """The harness bites: without the Backend → Secret edge the Secret (older) goes first; without the
    attachment → policy edge, IAM's DeleteConflict stops the destroy."""
    deployment = MotoDeployment(aws)
    deployment.up(dev_config())
    backend = next(d for d in deployment.deployed.values() if d.type.endswith(":Backend"))
    backend.depends_on = tuple(d for d in backend.depends_on if "kubernetes:core/v1:Secret::" not in d)
    deployment.changes = []
    deployment.destroy()
    order = deleted_kinds(deployment)
    assert order.index("Secret") < order.index("Backend")

    deployment.up(dev_config())
    attachment = next(d for d in deployment.deployed.values() if d.type.endswith(":UserPolicyAttachment"))
    attachment.depends_on = tuple(d for d in attachment.depends_on if "aws:iam/policy:Policy::" not in d)
    with pytest.raises(DeleteConflictError, match="DeletePolicy"):
        deployment.destroy()


def test_the_rig_refuses_deletes_iam_refuses(aws: boto3.Session) -> None:
    iam = aws.client("iam")
    deployment = MotoDeployment(aws)
    iam.create_user(UserName="u")
    iam.create_access_key(UserName="u")
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
    arn = iam.create_policy(PolicyName="p", PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    iam.attach_role_policy(RoleName="r", PolicyArn=arn)
    with pytest.raises(DeleteConflictError, match="access keys"):
        deployment.aws.delete_user("u")
    with pytest.raises(DeleteConflictError, match="detach the policy"):
        deployment.aws.delete_policy(arn)
    with pytest.raises(DeleteConflictError, match="detach all policies"):
        deployment.aws.delete_role("r")
    iam.detach_role_policy(RoleName="r", PolicyArn=arn)
    deployment.aws.delete_role("r")
    deployment.aws.delete_policy(arn)
    assert iam.list_policies(Scope="Local")["Policies"] == []


def test_rotation_replaces_the_key_before_deleting_the_old_one(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    deployment.up(dev_config(credentialsRotation="1"))
    first = generated_key(deployment)
    deployment.up(dev_config(credentialsRotation="2"))
    second = generated_key(deployment)
    assert second["id"] != first["id"]
    kinds = [(op, key[0]) for op, key in deployment.changes]
    # The new key, then its own Secret (a new name: never a Secret replaced delete-first), then the Backend moves to
    # it, and only then the old Secret and the old key go.
    assert ("replace", "kubernetes:core/v1:Secret") not in kinds
    order = [
        ("create", "aws:iam/accessKey:AccessKey"),
        ("create", "kubernetes:core/v1:Secret"),
        ("update", "kubernetes:gateway.kgateway.dev/v1alpha1:Backend"),
        ("delete", "kubernetes:core/v1:Secret"),
        ("delete", "aws:iam/accessKey:AccessKey"),
    ]
    assert [kinds.index(step) for step in order] == sorted(kinds.index(step) for step in order), kinds
    iam = aws.client("iam")
    user = iam.list_users(PathPrefix="/kgateway-lambda/")["Users"][0]["UserName"]
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]] == [second["id"]]
    assert secret_data(deployment) == {"accessKey": second["id"], "secretKey": second["secret"]}


PROVIDED_KEYS = ["kgateway-lambda:accessKeyId", "kgateway-lambda:secretAccessKey"]


def provided(access_key_id: str, **overrides: str) -> dict[str, str]:
    return dev_config(
        credentialsMode="provided", accessKeyId=access_key_id, secretAccessKey=f"{access_key_id}/s", **overrides
    )


def test_provided_keys_given_with_a_new_rotation_get_their_own_secret_before_the_backend_moves(
    aws: boto3.Session,
) -> None:
    """New `provided` keys with a new credentialsRotation: a Secret of their own, made before the Backend moves to it,
    the old one deleted after (never a Secret replaced delete-first under one name: a moment with no Secret). The
    same keys change without a new rotation is that replacement, as docs/configuration.md "Credentials modes" says."""
    deployment = MotoDeployment(aws)
    deployment.up(provided("AKIAFIRST"), PROVIDED_KEYS)
    deployment.up(provided("AKIASECOND", credentialsRotation="2"), PROVIDED_KEYS)
    kinds = [(op, key[0]) for op, key in deployment.changes]
    assert ("replace", "kubernetes:core/v1:Secret") not in kinds
    order = [
        ("create", "kubernetes:core/v1:Secret"),
        ("update", "kubernetes:gateway.kgateway.dev/v1alpha1:Backend"),
        ("delete", "kubernetes:core/v1:Secret"),
    ]
    assert [kinds.index(step) for step in order] == sorted(kinds.index(step) for step in order), kinds
    assert secret_data(deployment) == {"accessKey": "AKIASECOND", "secretKey": "AKIASECOND/s"}
    (backend,) = [d for d in deployment.deployed.values() if d.type.endswith(":Backend")]
    assert backend.inputs["spec"]["aws"]["auth"]["secretRef"]["name"] == rotation_secret_name("aws-creds", "2")

    deployment.up(provided("AKIATHIRD", credentialsRotation="2"), PROVIDED_KEYS)
    assert ("replace", "kubernetes:core/v1:Secret") in [(op, key[0]) for op, key in deployment.changes]


def test_the_evaluator_matches_as_iam_does() -> None:
    document = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "lambda:InvokeFunction",
                    "Resource": "arn:aws:lambda:*:1:function:a.b:$LATEST",
                }
            ],
        }
    )
    assert evaluate(document, "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:1:function:a.b:$LATEST")
    assert not evaluate(document, "lambda:InvokeFunction", "arn:aws:lambda:us-east-1:1:function:aXb:$LATEST")
    assert not evaluate(document, "lambda:GetFunction", "arn:aws:lambda:us-east-1:1:function:a.b:$LATEST")
    # moto's own matcher gets both wrong: this notices if a moto release fixes it (then the patch can go).
    moto_says = IAMPolicy(document).is_action_permitted
    assert (
        moto_says("lambda:InvokeFunction", "arn:aws:lambda:us-east-1:1:function:a.b:$LATEST")
        != PermissionResult.PERMITTED
    )


def test_generated_key_is_invoke_only(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    run = deployment.up(dev_config(qualifier="live"))
    function_arn = run.outputs["function_arn"]
    admin_lambda = aws.client("lambda")
    role = admin_lambda.get_function(FunctionName="echo")["Configuration"]["Role"]
    code = next(d.state["code"].path for d in deployment.deployed.values() if d.type == "aws:lambda/function:Function")
    with open(code, "rb") as f:
        other_arn = admin_lambda.create_function(
            FunctionName="not-routed",
            Runtime="nodejs24.x",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": f.read()},
        )["FunctionArn"]
    key = generated_key(deployment)
    as_gateway = boto3.Session(aws_access_key_id=key["id"], aws_secret_access_key=key["secret"], region_name=REGION)

    @set_initial_no_auth_action_count(0)  # from here on moto enforces IAM for every request
    def probe() -> dict[str, Any]:
        results: dict[str, Any] = {}
        iam = as_gateway.client("iam")
        for name, call in {
            "iam:ListUsers": iam.list_users,
            "iam:CreateAccessKey": iam.create_access_key,
            "iam:GetUserPolicy": lambda: iam.list_user_policies(UserName="x"),
        }.items():
            try:
                call()
                results[name] = "allowed"
            except ClientError as error:
                results[name] = error.response["Error"]["Code"]
        return results

    results = probe()
    # moto enforces IAM's own API: every IAM call with the gateway's key is denied.
    assert results["iam:ListUsers"] == "AccessDenied"
    assert results["iam:CreateAccessKey"] == "AccessDenied"
    assert results["iam:GetUserPolicy"] == "AccessDenied"
    # moto cannot enforce Lambda's actions (it authorizes Lambda requests as `lambda:<Operation>` on `*`, so it
    # would deny even a correct invoke-only key; that says nothing about our policy, so it is not asserted).
    # The Lambda cases are decided by moto's own IAM policy evaluator, on the policy exactly as moto
    # stores it for the user (and the user has no other policy).
    iam = aws.client("iam")
    user = iam.list_users(PathPrefix="/kgateway-lambda/")["Users"][0]["UserName"]
    (stored,) = attached_documents(iam, user=user)
    document = json.dumps(stored)
    assert iam.list_user_policies(UserName=user)["PolicyNames"] == []  # no inline policy besides
    # Exactly what the Backend invokes (kgateway signs `function:<name>:<qualifier>`): not the unqualified ARN,
    # which invokes $LATEST.
    assert evaluate(document, "lambda:InvokeFunction", f"{function_arn}:live")
    assert not evaluate(document, "lambda:InvokeFunction", function_arn)
    assert not evaluate(document, "lambda:InvokeFunction", f"{function_arn}:$LATEST")
    assert not evaluate(document, "lambda:InvokeFunction", f"{function_arn}:other-alias")
    assert not evaluate(document, "lambda:InvokeFunction", other_arn)
    for action in ("lambda:ListFunctions", "lambda:GetFunction", "lambda:UpdateFunctionCode", "iam:ListUsers"):
        assert not evaluate(document, action, function_arn), action
        assert not evaluate(document, action, "*"), action


def test_key_material_never_appears_in_plan_output_or_logs(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    run = deployment.up(dev_config())
    key = generated_key(deployment)
    shown = json.dumps(plan_document(run)) + "\n".join(run.logs) + json.dumps(run.outputs)
    assert key["secret"] not in shown
    assert key["id"] not in shown
    assert run.secret_outputs == set()


def test_alias_points_at_the_published_version(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    run = deployment.up(dev_config(alias="live"))
    admin = aws.client("lambda")
    alias = admin.get_alias(FunctionName="echo", Name="live")
    versions = [v["Version"] for v in admin.list_versions_by_function(FunctionName="echo")["Versions"]]
    assert alias["FunctionVersion"] in versions
    assert alias["FunctionVersion"] != "$LATEST"
    # The credentials may invoke exactly the alias the Backend invokes (docs/configuration.md): not $LATEST (the
    # unpublished code, reached through the unqualified ARN or `:$LATEST`), not the version behind the alias.
    (backend,) = [r for r in run.resources if r.type.endswith(":Backend")]
    assert reveal(backend.inputs)["spec"]["aws"]["lambda"]["qualifier"] == "live"
    iam = aws.client("iam")
    user = iam.list_users(PathPrefix="/kgateway-lambda/")["Users"][0]["UserName"]
    (stored,) = attached_documents(iam, user=user)
    document = json.dumps(stored)
    function_arn = alias["AliasArn"].rsplit(":", 1)[0]
    assert evaluate(document, "lambda:InvokeFunction", alias["AliasArn"])
    for denied in (function_arn, f"{function_arn}:$LATEST", f"{function_arn}:{alias['FunctionVersion']}"):
        assert not evaluate(document, "lambda:InvokeFunction", denied), denied
    deployment.destroy()
    assert admin.list_functions()["Functions"] == []
