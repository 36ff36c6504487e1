"""A Lambda execution role: assumable by Lambda, allowed to write its functions' own log groups and nothing else."""

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import NotRequired, TypedDict, TypeVar

import pulumi
import pulumi_aws as aws

from .inputs import checked_inputs
from .tokens import component_options, token
from .validation import FUNCTION_NAME_RE, InputChecker

LAMBDA_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    },
    sort_keys=True,
)


# Pulumi auto-names an IAM resource `<resource name>-<7 random hex>` (pulumi-terraform-bridge `AutoName`), and IAM
# allows 64 characters for users and roles, 128 for policies (AWS IAM User Guide, "IAM and AWS STS quotas").
IAM_USER_OR_ROLE_NAME = 64
IAM_POLICY_NAME = 128
AUTONAME_SUFFIX = len("-") + 7
ROLE_NAME_LIMIT = IAM_USER_OR_ROLE_NAME - AUTONAME_SUFFIX


def iam_resource_name(component_name: str, role: str, limit: int = IAM_USER_OR_ROLE_NAME) -> str:
    """`<name>-<role>`, short enough for Pulumi's auto-name to fit IAM's `limit`: a longer one is cut, with a hash
    of the whole component name, so two names that share a long prefix stay apart (and a name that fits is kept)."""
    wanted = f"{component_name}-{role}"
    if len(wanted) <= limit - AUTONAME_SUFFIX:
        return wanted
    digest = hashlib.sha256(component_name.encode()).hexdigest()[:6]
    return f"{component_name[: limit - AUTONAME_SUFFIX - len(role) - 1 - 7]}-{digest}-{role}"


# IAM: a managed policy holds at most 6,144 characters (white space not counted), and at most 10 managed policies
# attach to a user or role by default ("IAM and AWS STS quotas"). Lists of ARNs are packed by an upper bound of each
# ARN's length, so the number of policies is known before the account id or partition is.
MANAGED_POLICY_CHARACTERS = 6144
ATTACHED_POLICIES = 10
# An upper bound of `arn:<partition>:<service>:<region>:<account>:`: partition at most aws-us-gov, region at most 20.
ARN_HEAD_BOUND = len("arn:aws-us-gov::") + 20 + 1 + 12 + 1
T = TypeVar("T")


def managed_policy_chunks(items: Sequence[T], size: Callable[[T], int], overhead: int) -> list[list[T]]:
    """The items packed, in order, into as few managed policies as fit IAM's size limit: `size` bounds what an item
    adds to a policy, `overhead` what a policy takes with no item."""
    chunks: list[list[T]] = [[]]
    used = overhead
    for item in items:
        if chunks[-1] and used + size(item) > MANAGED_POLICY_CHARACTERS:
            chunks.append([])
            used = overhead
        chunks[-1].append(item)
        used += size(item)
    return chunks


# What a function needs to write its logs when its log group exists (the stack makes it): a stream in it, events in
# the stream. Not `logs:CreateLogGroup`, and not on `*` as AWSLambdaBasicExecutionRole allows (AWS managed policy
# reference, AWSLambdaBasicExecutionRole; Lambda Developer Guide, "Sending Lambda function logs to CloudWatch Logs",
# Required IAM permissions). `<group ARN>:*` covers the group's streams: CreateLogStream acts on the log-group and
# PutLogEvents on the log-stream `...:log-group:<name>:log-stream:<stream>` (Service Authorization Reference,
# "Actions, resources, and condition keys for Amazon CloudWatch Logs"), the form the Lambda operator guide shows:
# `arn:aws:logs:<region>:<account>:log-group:/aws/lambda/<name>:*`.
LOG_WRITE_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")
LAMBDA_LOG_GROUP_PREFIX = "/aws/lambda/"


def regional_arn(
    service: str,
    resource: pulumi.Input[str],
    invoke: pulumi.InvokeOutputOptions,
    account: pulumi.Input[str] | None = None,
) -> pulumi.Output[str]:
    """`arn:<partition>:<service>:<region>:<account>:<resource>`, from the provider `invoke` names (the account:
    the caller's unless given), so an ARN is right in any partition and region the component is deployed to."""
    return pulumi.Output.concat(
        "arn:",
        aws.get_partition_output(opts=invoke).partition,
        f":{service}:",
        aws.get_region_output(opts=invoke).region,
        ":",
        account or aws.get_caller_identity_output(opts=invoke).account_id,
        ":",
        resource,
    )


def allow_policy(sid: str, action: str | list[str], resources: Sequence[str]) -> str:
    """An IAM policy document with one Allow statement: exactly these actions on exactly these resources."""
    statement = {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": sorted(set(resources))}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]}, sort_keys=True)


def log_writing_policy(log_group_arns: Sequence[str]) -> str:
    """An IAM policy allowing exactly LOG_WRITE_ACTIONS in exactly these log groups (ARNs without `:*`)."""
    return allow_policy("WriteOwnLogGroups", list(LOG_WRITE_ACTIONS), [f"{arn}:*" for arn in log_group_arns])


_LOG_POLICY_OVERHEAD = len(log_writing_policy([])) + 16
_LOG_GROUP_ARN_BOUND = ARN_HEAD_BOUND + len("logs") + len("log-group:") + len(LAMBDA_LOG_GROUP_PREFIX) + len(":*")


def log_policy_chunks(function_names: Sequence[str]) -> list[list[str]]:
    """The functions whose log groups share a managed policy, as few policies as IAM's size limit allows."""
    return managed_policy_chunks(
        function_names, lambda name: _LOG_GROUP_ARN_BOUND + len(name) + 3, _LOG_POLICY_OVERHEAD
    )


def role_resource_name(component_name: str) -> str:
    """`<name>-role`, short enough for Pulumi's auto-name to fit IAM's 64 characters."""
    return iam_resource_name(component_name, "role")


def lambda_execution_role(name: str, description: str, parent: pulumi.Resource) -> aws.iam.Role:
    """The role alone (`<name>-role`, `parent`'s child): what it may do comes with the log groups it writes."""
    return aws.iam.Role(
        role_resource_name(name),
        assume_role_policy=LAMBDA_TRUST_POLICY,
        description=description,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def own_log_group_policy(
    name: str, role: aws.iam.Role, log_group_arn: pulumi.Input[str], parent: pulumi.Resource
) -> None:
    """One function's role may write its own log group only: an inline policy (`<name>-log-writing`), one IAM
    write as the managed attachment it replaces was. Stacks made before it had `<name>-basic-execution`
    (AWSLambdaBasicExecutionRole, logs on `*`): no longer declared, the engine deletes that attachment after this
    policy exists."""
    aws.iam.RolePolicy(
        iam_resource_name(name, "log-writing", IAM_POLICY_NAME),
        role=role.name,
        policy=pulumi.Output.from_input(log_group_arn).apply(lambda arn: log_writing_policy([arn])),
        opts=pulumi.ResourceOptions(parent=parent),
    )


class ExecutionRoleArgs(TypedDict):
    """One execution role for several Lambda functions."""

    description: NotRequired[str]
    """The role's description (default: says it is shared)."""
    function_names: NotRequired[list[str]]
    """The functions that run as this role: it may write their log groups (/aws/lambda/<name>) and no other."""


class ExecutionRole(pulumi.ComponentResource):
    """One execution role for many functions: a few IAM writes in all instead of two per function.

    Pass its `roleArn` as each LambdaFunction's `roleArn`, and the functions' names as `functionNames`: the role may
    write their log groups and nothing else. Every function then has the same permissions: only share it among
    functions that need nothing of their own.
    """

    role_arn: pulumi.Output[str]
    """The role's ARN."""
    role_name: pulumi.Output[str]
    """The role's name."""

    def __init__(self, name: str, args: ExecutionRoleArgs, opts: pulumi.ResourceOptions | None = None):
        args = checked_inputs("ExecutionRole", name, ExecutionRoleArgs, args, check_execution_role_args)
        super().__init__(token("ExecutionRole"), name, None, component_options("ExecutionRole", None, opts))
        description = args.get("description") or "Execution role shared by Lambda functions kgateway routes"
        role = lambda_execution_role(name, description, self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        # `arn:<partition>:logs:<region>:<account>:log-group:/aws/lambda/`, from the provider the role is made with.
        prefix = regional_arn("logs", f"log-group:{LAMBDA_LOG_GROUP_PREFIX}", invoke)
        child = pulumi.ResourceOptions(parent=self)
        for index, chunk in enumerate(log_policy_chunks(args.get("function_names") or []), start=1):
            arns = [pulumi.Output.concat(prefix, function_name) for function_name in chunk]
            policy_name = iam_resource_name(name, f"logs-{index}", IAM_POLICY_NAME)
            policy = aws.iam.Policy(
                policy_name,
                path="/kgateway-lambda/",
                description="Lambda functions may write their own log groups",
                policy=pulumi.Output.all(*arns).apply(log_writing_policy),
                opts=child,
            )
            aws.iam.RolePolicyAttachment(policy_name, role=role.name, policy_arn=policy.arn, opts=child)
        self.role_arn, self.role_name = role.arn, role.name
        self.register_outputs({"role_arn": self.role_arn, "role_name": self.role_name})


def check_execution_role_args(checker: InputChecker, args: ExecutionRoleArgs) -> None:
    """Function names as Lambda allows them, and few enough for IAM's managed-policy quota."""
    names = args.get("function_names") or []
    for index, function_name in enumerate(names):
        checker.pattern(
            f"functionNames[{index}]", function_name, FUNCTION_NAME_RE, "must be 1 to 64 of A-Z a-z 0-9 - _", "echo"
        )
    if not checker.problems and len(chunks := log_policy_chunks(names)) > ATTACHED_POLICIES:
        checker.fail(
            "functionNames",
            f"[{len(names)} functions]",
            f"need {len(chunks)} managed policies of at most {MANAGED_POLICY_CHARACTERS} characters each, and IAM "
            f"attaches at most {ATTACHED_POLICIES} to a role (its default quota): share the role among fewer",
            f"at most about {len(names) * ATTACHED_POLICIES // len(chunks)} functions",
        )
