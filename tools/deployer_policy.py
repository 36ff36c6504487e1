"""The least-privilege IAM policy of the identity that runs `pulumi up` (and `preview`, `refresh`, `destroy`) for a
stack, derived from the stack's offline plan: which AWS resource types it creates, which invokes it makes (the
ownership check's listings, `discover`'s tagging query), and the names and ARNs they get.

`python -m tools deployer-policy --stack NAME [--account ID]` prints it; `docs/deployer-policy/<stack>.json` are
the example stacks' (a test keeps them equal to this output). What each type's provider calls comes from
terraform-provider-aws (the bridge under pulumi-aws), each row citing the file (and the commit read) whose
Create/Read/Update/Delete functions make the calls; `tests/test_deployer_policy.py` checks the rows against an
independent table and runs the moto deploy under the policy.

`RESOURCE_CALLS` is the one inventory of what each type's provider calls: tools/grants.py (the Pulumi Kubernetes
Operator's workspace identity) takes its actions from it and adds its own ARNs and conditions; the two policies
still differ in those (grants conditions attachments on `iam:PolicyARN` and PassRole on `iam:PassedToService`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi

from tools.aws_rules import AUTONAME_RANDOM_CHARS
from tools.engine import ProgramRun, RegisteredResource
from tools.plan import PlaceholderMocks

PROVIDER = "hashicorp/terraform-provider-aws"
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "docs" / "deployer-policy"
EXAMPLE_STACKS = ("dev", "multi", "discovered")
EXAMPLE_ACCOUNT = "111122223333"  # the AWS documentation's example account: replace with yours (--account)
# Pulumi's auto-name: `<logical name>-` plus 7 random hex characters (tools/aws_rules.py), matched with IAM's `?`.
AUTONAME = "-" + "?" * AUTONAME_RANDOM_CHARS


def _actions(listed: str) -> tuple[str, ...]:
    return tuple(listed.split())


class UncoveredError(ValueError):
    """The plan creates or invokes something no row here decided the permissions of."""


@dataclass(frozen=True)
class ProviderCalls:
    """The IAM actions one resource type's provider code calls, and where that was read."""

    source: str  # path in hashicorp/terraform-provider-aws @ commit
    actions: tuple[str, ...]


# Each AWS type the program creates -> what its Create/Read/Update/Delete call. Reads of tags and the waits count:
# the bridge reads after every create and update, and on refresh.
RESOURCE_CALLS: dict[str, ProviderCalls] = {
    "aws:iam/role:Role": ProviderCalls(
        "internal/service/iam/role.go@3277329285f5730eeff9c56fbe69836c9448ab78",
        # Delete lists and detaches/deletes the role's policies and instance profiles first (deleteRole).
        _actions(
            "iam:CreateRole iam:GetRole iam:UpdateRole iam:UpdateRoleDescription iam:UpdateAssumeRolePolicy "
            "iam:DeleteRole iam:TagRole iam:UntagRole iam:ListRolePolicies iam:ListAttachedRolePolicies "
            "iam:ListInstanceProfilesForRole"
        ),
    ),
    "aws:iam/rolePolicy:RolePolicy": ProviderCalls(
        "internal/service/iam/role_policy.go@33aa0b5e1401dc9bb1c862c51471506512abc050",
        ("iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"),
    ),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ProviderCalls(
        "internal/service/iam/role_policy_attachment.go@81ae62fe1923da7df3e2e3d1444f883c64396a12",
        ("iam:AttachRolePolicy", "iam:DetachRolePolicy", "iam:ListAttachedRolePolicies"),
    ),
    "aws:iam/user:User": ProviderCalls(
        "internal/service/iam/user.go@6c6ae512efa86dccdb1a5401d5c71a672b839792",
        # Delete always lists the user's groups to leave them first (DeleteUserGroupMemberships).
        _actions(
            "iam:CreateUser iam:GetUser iam:UpdateUser iam:DeleteUser iam:TagUser iam:UntagUser iam:ListGroupsForUser"
        ),
    ),
    "aws:iam/accessKey:AccessKey": ProviderCalls(
        "internal/service/iam/access_key.go@c7cbd9b0a67d048c2ce5b12b3569da703524892b",
        ("iam:CreateAccessKey", "iam:ListAccessKeys", "iam:UpdateAccessKey", "iam:DeleteAccessKey"),
    ),
    "aws:iam/policy:Policy": ProviderCalls(
        "internal/service/iam/policy.go@fd91d1b7945cd7b14e91b4f8e9770d14a6f793d9",
        # Update adds a version and deletes the oldest past five; Delete deletes the non-default versions first.
        _actions(
            "iam:CreatePolicy iam:GetPolicy iam:GetPolicyVersion iam:ListPolicyVersions iam:CreatePolicyVersion "
            "iam:DeletePolicyVersion iam:DeletePolicy iam:TagPolicy iam:UntagPolicy"
        ),
    ),
    "aws:iam/userPolicy:UserPolicy": ProviderCalls(
        "internal/service/iam/user_policy.go@6c6ae512efa86dccdb1a5401d5c71a672b839792",
        ("iam:PutUserPolicy", "iam:GetUserPolicy", "iam:DeleteUserPolicy"),
    ),
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": ProviderCalls(
        "internal/service/iam/user_policy_attachment.go@81ae62fe1923da7df3e2e3d1444f883c64396a12",
        ("iam:AttachUserPolicy", "iam:DetachUserPolicy", "iam:ListAttachedUserPolicies"),
    ),
    "aws:lambda/function:Function": ProviderCalls(
        # Create waits on GetFunction; Read calls GetFunction, ListVersionsByFunction, GetFunctionCodeSigningConfig;
        # an update's publish waits on GetFunctionConfiguration; tags through generate.go's ListTags/Tag/Untag.
        # GetRuntimeManagementConfig: the newer provider's Read of runtime_management_config (the operator's grants
        # had it; not in the text stored at 262d4da, which predates that block).
        "internal/service/lambda/function.go@262d4da63aa78d7dcea5d62ac118005e6628db57, "
        "generate.go@986e30bbe086179af5a5828498891a65fd51014e",
        _actions(
            "lambda:CreateFunction lambda:GetFunction lambda:GetRuntimeManagementConfig "
            "lambda:GetFunctionConfiguration "
            "lambda:GetFunctionCodeSigningConfig lambda:ListVersionsByFunction lambda:UpdateFunctionCode "
            "lambda:UpdateFunctionConfiguration lambda:PublishVersion lambda:DeleteFunction lambda:ListTags "
            "lambda:TagResource lambda:UntagResource"
        ),
    ),
    "aws:lambda/alias:Alias": ProviderCalls(
        "internal/service/lambda/alias.go@1265e5841c0f7339e085729ebbaf8af06a0d2fdf",
        ("lambda:CreateAlias", "lambda:GetAlias", "lambda:UpdateAlias", "lambda:DeleteAlias"),
    ),
    "aws:cloudwatch/logGroup:LogGroup": ProviderCalls(
        # Read is LookupGroup: DescribeLogGroups by prefix (on `*`, below). Tags: the stored generate.go
        # (79c8bcb) generates the *LogGroup tag calls; the current provider and moto use the *Resource ones.
        "internal/service/logs/group.go@b11fc0fdd2efcc87bbff031692818008455bd048, "
        "generate.go@79c8bcbd417a513ef6fc387e5c46bd3aa5af1ed5",
        _actions(
            "logs:CreateLogGroup logs:DeleteLogGroup logs:PutRetentionPolicy logs:DeleteRetentionPolicy "
            "logs:ListTagsLogGroup logs:TagLogGroup logs:UntagLogGroup logs:ListTagsForResource logs:TagResource "
            "logs:UntagResource"
        ),
    ),
    # Only for code over 50 MB (components/lambda_function.py): a bucket and the zip in it.
    "aws:s3/bucket:Bucket": ProviderCalls(
        "internal/service/s3/bucket.go (not read here; no example stack has code over 50 MB)",
        _actions(
            "s3:CreateBucket s3:DeleteBucket s3:ListBucket s3:GetBucket* s3:PutBucketTagging "
            "s3:GetAccelerateConfiguration s3:GetLifecycleConfiguration s3:GetReplicationConfiguration "
            "s3:GetEncryptionConfiguration s3:ListBucketVersions s3:DeleteObject s3:DeleteObjectVersion"
        ),
    ),
    "aws:s3/bucketObjectv2:BucketObjectv2": ProviderCalls(
        "internal/service/s3/object.go (not read here)",
        ("s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:GetObjectTagging", "s3:PutObjectTagging"),
    ),
}
# Needed with CreateFunction/UpdateFunctionConfiguration on the function's role (Lambda Developer Guide, "Lambda
# execution role": the caller must be allowed iam:PassRole).
PASS_ROLE = "iam:PassRole"

# Each invoke the program makes -> the actions its data source calls. None: no permission at all
# (GetCallerIdentity needs none: AWS STS API Reference, GetCallerIdentity; getRegion/getPartition call nothing).
INVOKE_CALLS: dict[str, tuple[str, ...] | None] = {
    "aws:index/getCallerIdentity:getCallerIdentity": None,
    "aws:index/getRegion:getRegion": None,
    "aws:index/getPartition:getPartition": None,
    # functions_data_source.go@92a1f12: ListFunctions pages.
    "aws:lambda/getFunctions:getFunctions": ("lambda:ListFunctions",),
    # function_data_source.go@c7cbd9b: GetFunction (and the reads of the resource's Read).
    "aws:lambda/getFunction:getFunction": ("lambda:GetFunction",),
    # groups_data_source.go@bd3bab6 and group_data_source.go@68e5278: DescribeLogGroups (+ tags of one group).
    "aws:cloudwatch/getLogGroups:getLogGroups": ("logs:DescribeLogGroups",),
    "aws:cloudwatch/getLogGroup:getLogGroup": ("logs:DescribeLogGroups",),
    # resourcegroupstaggingapi/resources_data_source.go@0620f2a: GetResources pages.
    "aws:resourcegroupstaggingapi/getResources:getResources": ("tag:GetResources",),
}
# Actions IAM authorizes on `*` only (Service Authorization Reference: no resource type in the action's row):
# lambda:ListFunctions (list_awslambda.html), tag:GetResources (list_awsresourcegroupstaggingapi.html),
# logs:DescribeLogGroups (the listing of every group; issue 28 and the CloudWatch Logs permissions reference).
UNSCOPED = frozenset({"lambda:ListFunctions", "tag:GetResources", "logs:DescribeLogGroups"})


@dataclass(frozen=True)
class AwsRequest:
    action: str
    resource: str


@dataclass
class Arns:
    account: str
    region: str
    partition: str = "aws"

    def iam(self, kind: str, resource: RegisteredResource) -> str:
        name = resource.inputs.get("name") or f"{resource.name}{AUTONAME}"
        path = resource.inputs.get("path") or "/"
        return f"arn:{self.partition}:iam::{self.account}:{kind}{path}{name}"

    def function(self, name: str) -> str:
        return f"arn:{self.partition}:lambda:{self.region}:{self.account}:function:{name}"

    def log_group(self, name: str) -> str:
        return f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:{name}"

    def bucket(self, resource: RegisteredResource) -> str:
        prefix = resource.inputs.get("bucketPrefix")
        name = resource.inputs.get("bucket") or (f"{prefix}*" if prefix else f"{resource.name}*")
        return f"arn:{self.partition}:s3:::{name}"


def _known(value: Any, what: str) -> str:
    if not isinstance(value, str) or value.startswith("["):
        raise UncoveredError(f"the plan does not know {what} ({value!r}); the policy needs it to name the ARN")
    return value


def _resources_of(resource: RegisteredResource, run: ProgramRun, arns: Arns) -> list[str]:  # noqa: PLR0911
    """The ARNs one created resource's actions are on. Inline policies and attachments act on the stack's own
    roles/users (every one of them: their names are only known after deploy)."""
    inputs = resource.inputs
    kind = resource.type
    if kind == "aws:iam/role:Role":
        return [arns.iam("role", resource)]
    if kind in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
        return [arns.iam("role", r) for r in run.by_type("aws:iam/role:Role")]
    if kind == "aws:iam/user:User":
        return [arns.iam("user", resource)]
    if kind in (
        "aws:iam/accessKey:AccessKey",
        "aws:iam/userPolicy:UserPolicy",
        "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    ):
        return [arns.iam("user", r) for r in run.by_type("aws:iam/user:User")]
    if kind == "aws:iam/policy:Policy":
        return [arns.iam("policy", resource)]
    if kind == "aws:lambda/function:Function":
        function = arns.function(_known(inputs.get("name"), f"the name of function {resource.name}"))
        return [function, f"{function}:*"]  # versions and aliases are qualified ARNs
    if kind == "aws:lambda/alias:Alias":
        function = arns.function(_known(inputs.get("functionName"), f"the function of alias {resource.name}"))
        return [function, f"{function}:{_known(inputs.get('name'), 'the alias name')}"]
    if kind == "aws:cloudwatch/logGroup:LogGroup":
        group = arns.log_group(_known(inputs.get("name"), f"the name of log group {resource.name}"))
        return [group, f"{group}:*"]  # IAM authorizes some log actions on `log-group:NAME:*`
    if kind == "aws:s3/bucket:Bucket":
        return [arns.bucket(resource)]
    if kind == "aws:s3/bucketObjectv2:BucketObjectv2":
        return [f"{arns.bucket(b)}/*" for b in run.by_type("aws:s3/bucket:Bucket")]
    raise UncoveredError(f"no ARN rule for {kind}")


def requests(run: ProgramRun, invokes: list[tuple[str, dict[str, Any]]], arns: Arns) -> list[AwsRequest]:
    """Every (action, resource) the stack's `pulumi up`, refresh and destroy ask AWS for."""
    found: set[AwsRequest] = set()
    for resource in run.resources:
        if not resource.type.startswith("aws:") or not resource.custom or resource.read_id is not None:
            continue
        calls = RESOURCE_CALLS.get(resource.type)
        if calls is None:
            raise UncoveredError(
                f"the program creates a {resource.type} ({resource.name}), a type tools/deployer_policy.py "
                "RESOURCE_CALLS has no row for: add what its provider calls"
            )
        targets = _resources_of(resource, run, arns)
        found.update(AwsRequest(a, t) for a in calls.actions for t in targets)
        if resource.type == "aws:lambda/function:Function":
            found.update(AwsRequest(PASS_ROLE, arns.iam("role", r)) for r in run.by_type("aws:iam/role:Role"))
    for token, _ in invokes:
        if not token.startswith("aws:"):
            continue
        if token not in INVOKE_CALLS:
            raise UncoveredError(f"the program calls {token}, an invoke tools/deployer_policy.py has no row for")
        found.update(AwsRequest(action, "*") for action in INVOKE_CALLS[token] or ())
    return sorted(found, key=lambda r: (r.action, r.resource))


def policy_document(found: list[AwsRequest]) -> dict[str, Any]:
    """One statement per set of resources: the actions allowed on exactly those."""
    by_action: dict[str, set[str]] = {}
    for request in found:
        by_action.setdefault(request.action, set()).add(request.resource)
    grouped: dict[tuple[str, ...], set[str]] = {}
    for action, resources in by_action.items():
        grouped.setdefault(tuple(sorted(resources)), set()).add(action)
    statements = [
        {"Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}
        for resources, actions in sorted(grouped.items(), key=lambda item: (sorted(item[1]), item[0]))
    ]
    return {"Version": "2012-10-17", "Statement": statements}


class _RecordingMocks(PlaceholderMocks):
    """The offline plan's mocks, keeping each invoke the program makes."""

    def __init__(self, config: dict[str, str]) -> None:
        super().__init__(config)
        self.invokes: list[tuple[str, dict[str, Any]]] = []

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.invokes.append((args.token, dict(args.args)))
        return super().call(args)


def stack_policy(stack: str, account: str | None = None, stacks_dir: Path | None = None) -> dict[str, Any]:
    """The policy for a stack's deploying identity, from its offline plan. `account`: the stack's `accountId` if
    set, else this (the deploying identity's account: `aws sts get-caller-identity`)."""
    from program.config import PROJECT, sources
    from tools.engine import run_program, stack_config

    config, secret_keys = stack_config(stack, stacks_dir)
    account = config.get(f"{PROJECT}:accountId") or account
    if not account:
        raise ValueError(
            f"stack {stack} sets no accountId: pass --account with the deploying identity's account "
            "(aws sts get-caller-identity --query Account --output text)"
        )
    previous, sources.STACK_CONFIG_DIR = sources.STACK_CONFIG_DIR, stacks_dir
    try:
        mocks = _RecordingMocks(config)
        run = run_program(mocks, config, secret_keys, stack=stack, preview=True)
    finally:
        sources.STACK_CONFIG_DIR = previous
    region = config.get("aws:region") or "us-east-1"
    return policy_document(requests(run, mocks.invokes, Arns(account, region)))


def policy_text(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2) + "\n"
