"""The deploying identity's policy (tools/deployer_policy.py): it allows every call the provider makes for what the
stack creates and invokes (a table read from terraform-provider-aws, independent of the generator's), the example
files are its output, and the moto deploy of the dev stack runs under it, every AWS call evaluated by IAM's rules:
up and destroy pass with the policy and fail with any one needed action removed; so do the keyless modes'."""

from __future__ import annotations

import copy
import functools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.iam.models import iam_backends

from tests.support.fake_aws import AMBIENT_ROLE, OIDC_PROVIDER
from tests.support.lifecycle import MotoDeployment, dev_config
from tests.support.moto_account import evaluate
from tools.__main__ import main as tools_main
from tools.deployer_policy import (
    EXAMPLE_ACCOUNT,
    EXAMPLE_STACKS,
    EXAMPLES_DIR,
    policy_text,
    stack_policy,
)

A = EXAMPLE_ACCOUNT
FN = f"arn:aws:lambda:us-east-1:{A}:function:echo"
LOGS = f"arn:aws:logs:us-east-1:{A}:log-group:/aws/lambda/echo"
ROLE = f"arn:aws:iam::{A}:role/echo-role-0a1b2c3"  # Pulumi's auto-name: 7 random hex characters
USER = f"arn:aws:iam::{A}:user/kgateway-lambda/gateway-invoker-4d5e6f7"
POLICY = f"arn:aws:iam::{A}:policy/kgateway-lambda/gateway-invoke-only-1-89abcde"
TF = "hashicorp/terraform-provider-aws internal/service/"

# (action, resource, where the provider calls it): what `pulumi up`, refresh and destroy of the dev stack ask for.
DEV_CALLS: list[tuple[str, str, str]] = [
    ("lambda:ListFunctions", "*", TF + "lambda/functions_data_source.go@92a1f12 (the ownership check's listing)"),
    ("logs:DescribeLogGroups", "*", TF + "logs/groups_data_source.go@bd3bab6; group.go@b11fc0f LookupGroup"),
    ("lambda:CreateFunction", FN, TF + "lambda/function.go@262d4da resourceFunctionCreate"),
    ("lambda:GetFunction", FN, TF + "lambda/function.go@262d4da resourceFunctionRead, refreshFunctionState"),
    ("lambda:ListVersionsByFunction", FN, TF + "lambda/function.go@262d4da resourceFunctionRead"),
    ("lambda:GetFunctionCodeSigningConfig", FN, TF + "lambda/function.go@262d4da readFunctionCodeSigningConfig"),
    ("lambda:GetRuntimeManagementConfig", FN, "newer function.go Read (runtime_management_config), after 262d4da"),
    ("lambda:UpdateFunctionCode", FN, TF + "lambda/function.go@262d4da resourceFunctionUpdate"),
    ("lambda:UpdateFunctionConfiguration", FN, TF + "lambda/function.go@262d4da resourceFunctionUpdate"),
    ("lambda:PublishVersion", FN, TF + "lambda/function.go@262d4da resourceFunctionUpdate (publish)"),
    ("lambda:GetFunctionConfiguration", f"{FN}:3", TF + "lambda/function.go@262d4da WaitUntilFunctionUpdated"),
    ("lambda:DeleteFunction", FN, TF + "lambda/function.go@262d4da resourceFunctionDelete"),
    ("lambda:TagResource", FN, TF + "lambda/generate.go@986e30b UpdateTags"),
    ("lambda:UntagResource", FN, TF + "lambda/generate.go@986e30b UpdateTags"),
    ("lambda:ListTags", FN, TF + "lambda/generate.go@986e30b ListTagsOp=ListTags"),
    ("iam:PassRole", ROLE, "Lambda Developer Guide, execution role: CreateFunction passes the role"),
    ("logs:CreateLogGroup", LOGS, TF + "logs/group.go@b11fc0f resourceGroupCreate"),
    ("logs:PutRetentionPolicy", LOGS, TF + "logs/group.go@b11fc0f resourceGroupCreate, Update"),
    ("logs:DeleteRetentionPolicy", LOGS, TF + "logs/group.go@b11fc0f resourceGroupUpdate"),
    ("logs:DeleteLogGroup", LOGS, TF + "logs/group.go@b11fc0f resourceGroupDelete"),
    ("logs:ListTagsLogGroup", LOGS, TF + "logs/generate.go@79c8bcb ListTagsOp=ListTagsLogGroup"),
    ("logs:TagLogGroup", LOGS, TF + "logs/generate.go@79c8bcb TagOp=TagLogGroup"),
    ("logs:UntagLogGroup", LOGS, TF + "logs/generate.go@79c8bcb UntagOp=UntagLogGroup"),
    ("logs:ListTagsForResource", f"{LOGS}:*", "current provider and moto: tags by ARN"),
    ("logs:TagResource", LOGS, "current provider and moto: tags by ARN"),
    ("logs:UntagResource", LOGS, "current provider and moto: tags by ARN"),
    ("iam:CreateRole", ROLE, TF + "iam/role.go@3277329 resourceRoleCreate"),
    ("iam:GetRole", ROLE, TF + "iam/role.go@3277329 resourceRoleRead"),
    ("iam:UpdateAssumeRolePolicy", ROLE, TF + "iam/role.go@3277329 resourceRoleUpdate"),
    ("iam:UpdateRole", ROLE, TF + "iam/role.go@3277329 resourceRoleUpdate"),
    ("iam:UpdateRoleDescription", ROLE, TF + "iam/role.go@3277329 resourceRoleUpdate"),
    ("iam:TagRole", ROLE, TF + "iam/role.go@3277329 roleUpdateTags"),
    ("iam:UntagRole", ROLE, TF + "iam/role.go@3277329 roleUpdateTags"),
    ("iam:ListRolePolicies", ROLE, TF + "iam/role.go@3277329 deleteRole (inline policies first)"),
    ("iam:ListAttachedRolePolicies", ROLE, TF + "iam/role.go@3277329 deleteRole (detach first)"),
    ("iam:ListInstanceProfilesForRole", ROLE, TF + "iam/role.go@3277329 deleteRole (instance profiles)"),
    ("iam:DeleteRole", ROLE, TF + "iam/role.go@3277329 resourceRoleDelete"),
    ("iam:PutRolePolicy", ROLE, TF + "iam/role_policy.go@33aa0b5 Create/Update"),
    ("iam:GetRolePolicy", ROLE, TF + "iam/role_policy.go@33aa0b5 Read"),
    ("iam:DeleteRolePolicy", ROLE, TF + "iam/role_policy.go@33aa0b5 Delete"),
    ("iam:CreateUser", USER, TF + "iam/user.go@6c6ae51 resourceUserCreate"),
    ("iam:GetUser", USER, TF + "iam/user.go@6c6ae51 resourceUserRead"),
    ("iam:UpdateUser", USER, TF + "iam/user.go@6c6ae51 resourceUserUpdate (path)"),
    ("iam:TagUser", USER, TF + "iam/user.go@6c6ae51 userUpdateTags"),
    ("iam:UntagUser", USER, TF + "iam/user.go@6c6ae51 userUpdateTags"),
    ("iam:DeleteUser", USER, TF + "iam/user.go@6c6ae51 resourceUserDelete"),
    ("iam:ListGroupsForUser", USER, TF + "iam/user.go@6c6ae51 resourceUserDelete: DeleteUserGroupMemberships"),
    ("iam:CreateAccessKey", USER, TF + "iam/access_key.go@c7cbd9b Create"),
    ("iam:ListAccessKeys", USER, TF + "iam/access_key.go@c7cbd9b Read (FindAccessKey)"),
    ("iam:UpdateAccessKey", USER, TF + "iam/access_key.go@c7cbd9b Update (status)"),
    ("iam:DeleteAccessKey", USER, TF + "iam/access_key.go@c7cbd9b Delete"),
    ("iam:AttachUserPolicy", USER, TF + "iam/user_policy_attachment.go@81ae62f Create"),
    ("iam:ListAttachedUserPolicies", USER, TF + "iam/user_policy_attachment.go@81ae62f Read"),
    ("iam:DetachUserPolicy", USER, TF + "iam/user_policy_attachment.go@81ae62f Delete"),
    ("iam:CreatePolicy", POLICY, TF + "iam/policy.go@fd91d1b Create"),
    ("iam:GetPolicy", POLICY, TF + "iam/policy.go@fd91d1b Read"),
    ("iam:GetPolicyVersion", POLICY, TF + "iam/policy.go@fd91d1b Read (the document)"),
    ("iam:ListPolicyVersions", POLICY, TF + "iam/policy.go@fd91d1b Update (prune), Delete"),
    ("iam:CreatePolicyVersion", POLICY, TF + "iam/policy.go@fd91d1b Update"),
    ("iam:DeletePolicyVersion", POLICY, TF + "iam/policy.go@fd91d1b Update (prune), Delete"),
    ("iam:TagPolicy", POLICY, TF + "iam/policy.go@fd91d1b policyUpdateTags"),
    ("iam:UntagPolicy", POLICY, TF + "iam/policy.go@fd91d1b policyUpdateTags"),
    ("iam:DeletePolicy", POLICY, TF + "iam/policy.go@fd91d1b Delete"),
]
# What the multi stack adds (an alias) and `discover` (the tagging API).
MULTI_CALLS = [
    (action, f"arn:aws:lambda:eu-west-1:{A}:function:echo{suffix}", TF + "lambda/alias.go@1265e58")
    for action in ("lambda:CreateAlias", "lambda:GetAlias", "lambda:UpdateAlias", "lambda:DeleteAlias")
    for suffix in ("", ":live")
]
DISCOVERED_CALLS = [("tag:GetResources", "*", TF + "resourcegroupstaggingapi/resources_data_source.go@0620f2a")]
# Never granted: another function, log group, role, user or policy of the account; IAM beyond the stack's own.
DEV_REFUSED = [
    ("lambda:DeleteFunction", f"arn:aws:lambda:us-east-1:{A}:function:payroll"),
    ("lambda:UpdateFunctionCode", f"arn:aws:lambda:us-east-1:{A}:function:echo2"),
    ("logs:DeleteLogGroup", f"arn:aws:logs:us-east-1:{A}:log-group:/aws/lambda/payroll"),
    ("iam:PassRole", f"arn:aws:iam::{A}:role/admin"),
    ("iam:PassRole", f"arn:aws:iam::{A}:role/echo-role-admin"),  # longer than the 7 random characters
    ("iam:PutRolePolicy", f"arn:aws:iam::{A}:role/admin"),
    ("iam:CreateAccessKey", f"arn:aws:iam::{A}:user/admin"),
    ("iam:AttachUserPolicy", f"arn:aws:iam::{A}:user/admin"),
    ("iam:CreatePolicyVersion", f"arn:aws:iam::{A}:policy/admin"),
    ("lambda:InvokeFunction", FN),
    ("tag:GetResources", "*"),  # only with discover
]


@functools.cache
def example_policies() -> dict[str, dict[str, Any]]:
    """Each example stack's policy, planned once per test process (fixtures live only in conftest.py)."""
    return {stack: stack_policy(stack, EXAMPLE_ACCOUNT) for stack in EXAMPLE_STACKS}


@pytest.mark.parametrize(("action", "resource", "source"), DEV_CALLS, ids=[f"{a} {r}" for a, r, _ in DEV_CALLS])
def test_the_dev_policy_allows_each_call_the_provider_makes(action: str, resource: str, source: str) -> None:
    assert evaluate(json.dumps(example_policies()["dev"]), action, resource), f"{action} on {resource} ({source})"


@pytest.mark.parametrize(("action", "resource", "source"), MULTI_CALLS + DISCOVERED_CALLS)
def test_the_alias_and_discover_add_their_calls(action: str, resource: str, source: str) -> None:
    stack = "discovered" if action.startswith("tag:") else "multi"
    assert evaluate(json.dumps(example_policies()[stack]), action, resource), f"{action} on {resource} ({source})"


@pytest.mark.parametrize(("action", "resource"), DEV_REFUSED)
def test_the_dev_policy_allows_nothing_else(action: str, resource: str) -> None:
    assert not evaluate(json.dumps(example_policies()["dev"]), action, resource)


def test_only_the_listings_are_on_every_resource() -> None:
    """Service Authorization Reference: ListFunctions and GetResources have no resource type; DescribeLogGroups
    lists every group. Nothing else may be granted on `*`."""
    for stack, policy in example_policies().items():
        unscoped = {a for s in policy["Statement"] if "*" in s["Resource"] for a in s["Action"]}
        assert unscoped <= {"lambda:ListFunctions", "logs:DescribeLogGroups", "tag:GetResources"}, stack
        assert all(s["Effect"] == "Allow" for s in policy["Statement"])


@pytest.mark.parametrize(
    ("stack", "calls"),
    [("dev", DEV_CALLS), ("multi", DEV_CALLS + MULTI_CALLS), ("discovered", DISCOVERED_CALLS)],
)
def test_the_policy_grants_no_action_the_table_does_not_trace_to_a_call(
    stack: str, calls: list[tuple[str, str, str]]
) -> None:
    granted = {a for s in example_policies()[stack]["Statement"] for a in s["Action"]}
    assert granted <= {action for action, _, _ in calls}


def test_the_command_prints_the_policy() -> None:
    command = [sys.executable, "-m", "tools", "deployer-policy", "--stack", "dev", "--account", A]
    printed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    assert printed.stdout == (EXAMPLES_DIR / "dev.json").read_text()


def test_the_command_asks_for_the_account_a_stack_does_not_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert tools_main(["deployer-policy", "--stack", "dev"]) == 2
    assert "error: stack dev sets no accountId: pass --account" in capsys.readouterr().err


@pytest.mark.parametrize("stack", EXAMPLE_STACKS)
def test_the_published_files_are_the_generators_output(stack: str) -> None:
    path = EXAMPLES_DIR / f"{stack}.json"
    assert path.read_text() == policy_text(example_policies()[stack]), (
        f"{path} is stale: .venv/bin/python -m tools deployer-policy --write"
    )


# ---- the moto deploy under the policy -------------------------------------------------------------------------

SERVICE_PREFIX = {"tagging": "tag"}  # botocore's signing name -> IAM's service prefix where they differ
# Calls the harness makes to model IAM itself, not calls of the provider: the DeleteConflict check of a policy
# still attached (tests/support/aws_models.py `delete_policy`); IAM refuses such a DeletePolicy on its own.
HARNESS_ONLY = {"iam:ListEntitiesForPolicy"}


def _iam_arn(kind: str, name: str, path: str | None) -> str:
    if path is None:  # an existing user or role: its path as IAM keeps it
        backend = iam_backends[DEFAULT_ACCOUNT_ID]["global"]
        found = (backend.users if kind == "user" else backend.roles).get(name)
        if kind == "role":
            found = next((r for r in backend.roles.values() if r.name == name), None)
        path = found.path if found is not None else "/"
    return f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:{kind}{path}{name}"


def request_of(service: str, operation: str, params: dict[str, Any], region: str) -> tuple[str, str]:  # noqa: PLR0911
    """The (IAM action, resource ARN) one AWS API call is authorized as (Service Authorization Reference)."""
    action = f"{SERVICE_PREFIX.get(service, service)}:{operation}"
    if service == "iam":
        if operation == "CreatePolicy":
            return action, f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:policy{params.get('Path', '/')}{params['PolicyName']}"
        if "UserName" in params:
            path = params.get("Path", "/") if operation == "CreateUser" else None
            return action, _iam_arn("user", params["UserName"], path)
        if "RoleName" in params:
            path = params.get("Path", "/") if operation == "CreateRole" else None
            return action, _iam_arn("role", params["RoleName"], path)
        if "PolicyArn" in params:
            return action, params["PolicyArn"]
    if service == "lambda":
        if "Resource" in params:
            return action, params["Resource"]
        if "FunctionName" in params:
            name = params["FunctionName"]
            arn = name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{DEFAULT_ACCOUNT_ID}:function:{name}"
            return action, arn + (f":{params['Qualifier']}" if params.get("Qualifier") else "")
    if service == "logs":
        if "resourceArn" in params:
            return action, params["resourceArn"]
        if "logGroupName" in params and operation != "DescribeLogGroups":
            return action, f"arn:aws:logs:{region}:{DEFAULT_ACCOUNT_ID}:log-group:{params['logGroupName']}"
    return action, "*"


class PolicyEnforcer:
    """A botocore hook, before each call is built: the call's (action, resource) evaluated against the identity's
    policy by IAM's rules (tests/support/moto_account.py `evaluate`), an AccessDenied raised where it is not allowed,
    as AWS answers. moto's own IAM enforcement cannot do this: it authorizes Lambda as `lambda:<Operation>` on `*`."""

    def __init__(self, policy: dict[str, Any], region: str) -> None:
        self.document = json.dumps(policy)
        self.region = region
        self.asked: set[tuple[str, str]] = set()
        self.denied: list[tuple[str, str]] = []

    def __call__(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        action, resource = request_of(model.service_model.signing_name, model.name, params, self.region)
        # GetCallerIdentity needs no permission (AWS STS API Reference, GetCallerIdentity).
        if action == "sts:GetCallerIdentity" or action in HARNESS_ONLY:
            return
        checks = [(action, resource)]
        if action in ("lambda:CreateFunction", "lambda:UpdateFunctionConfiguration") and params.get("Role"):
            # Lambda checks that the caller may pass the execution role (Lambda Developer Guide, "Lambda execution
            # role"; Service Authorization Reference: CreateFunction's dependent action iam:PassRole).
            checks.append(("iam:PassRole", params["Role"]))
        for check in checks:
            self.asked.add(check)
            if not evaluate(self.document, *check):
                self.denied.append(check)
                raise ClientError(
                    {"Error": {"Code": "AccessDenied", "Message": f"not authorized to perform {check[0]} on "
                               f"{check[1]}"}},
                    model.name,
                )  # fmt: skip


@functools.cache
def dev_moto_policy() -> dict[str, Any]:
    """The dev stack's policy for moto's account."""
    return stack_policy("dev", DEFAULT_ACCOUNT_ID)


def _deploy_under(aws: boto3.Session, policy: dict[str, Any]) -> tuple[MotoDeployment, PolicyEnforcer]:
    enforcer = PolicyEnforcer(policy, aws.region_name)
    # On the session before the harness makes its clients: a client copies the session's handlers when made.
    aws._session.register("before-parameter-build", enforcer)
    return MotoDeployment(aws), enforcer


def without(policy: dict[str, Any], action: str) -> dict[str, Any]:
    reduced = copy.deepcopy(policy)
    for statement in reduced["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != action]
    reduced["Statement"] = [s for s in reduced["Statement"] if s["Action"]]
    return reduced


def test_the_dev_stack_deploys_updates_and_destroys_under_its_policy(aws: boto3.Session) -> None:
    deployment, enforcer = _deploy_under(aws, dev_moto_policy())
    deployment.up(dev_config())
    deployment.up(dev_config(credentialsRotation="2"))  # day 2: a new key and policy, the old ones deleted
    deployment.destroy()
    assert enforcer.denied == []
    assert not deployment.deployed
    # The listings the preview makes, and the writes, were all asked for (so the hook saw the harness's calls).
    actions = {action for action, _ in enforcer.asked}
    assert {"lambda:ListFunctions", "logs:DescribeLogGroups", "lambda:CreateFunction", "iam:DeleteRole"} <= actions


@pytest.mark.parametrize(
    ("action", "step"),
    [
        ("lambda:ListFunctions", "up"),  # the preview's ownership check
        ("logs:DescribeLogGroups", "up"),
        ("iam:PassRole", "up"),
        ("lambda:CreateFunction", "up"),
        ("iam:CreateAccessKey", "up"),
        ("iam:AttachUserPolicy", "up"),
        ("logs:PutRetentionPolicy", "up"),
        ("iam:DeleteRolePolicy", "destroy"),
        ("logs:DeleteLogGroup", "destroy"),
        ("iam:DeleteAccessKey", "destroy"),
        ("iam:ListGroupsForUser", "destroy"),  # the provider's user delete lists its groups first
    ],
)
def test_with_one_action_removed_the_deploy_fails(aws: boto3.Session, action: str, step: str) -> None:
    deployment, enforcer = _deploy_under(aws, without(dev_moto_policy(), action))
    with pytest.raises(Exception, match=r"AccessDenied|not authorized"):
        deployment.up(dev_config())
        if step == "destroy":
            deployment.destroy()
    assert {a for a, _ in enforcer.denied} == {action}


KEYLESS_MODES = {
    "irsa": {"credentialsMode": "irsa", "oidcProvider": OIDC_PROVIDER},
    "assume-role": {"credentialsMode": "assume-role", "ambientRoleArn": AMBIENT_ROLE},
}


@pytest.mark.parametrize("mode", sorted(KEYLESS_MODES))
def test_a_keyless_mode_deploys_and_destroys_under_its_own_policy(
    aws: boto3.Session, tmp_path: Path, mode: str
) -> None:
    """The other credentials modes: a role and its policy attachment instead of the user and key, and no user
    action granted."""
    keys = KEYLESS_MODES[mode]
    dev = (Path(__file__).resolve().parent.parent / "stacks" / "Pulumi.dev.yaml").read_text()
    dev = dev.replace("  kgateway-lambda:credentialsMode: generated\n", "")
    lines = "".join(f"  kgateway-lambda:{key}: {value}\n" for key, value in keys.items())
    (tmp_path / "Pulumi.keyless.yaml").write_text(dev + lines)
    policy = stack_policy("keyless", DEFAULT_ACCOUNT_ID, stacks_dir=tmp_path)
    assert not any(a.endswith("User") or "AccessKey" in a for s in policy["Statement"] for a in s["Action"])
    deployment, enforcer = _deploy_under(aws, policy)
    deployment.up(dev_config(**keys))
    deployment.destroy()
    assert enforcer.denied == []
    assert {"iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:CreatePolicy"} <= {a for a, _ in enforcer.asked}
