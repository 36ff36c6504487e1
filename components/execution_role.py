"""A Lambda execution role: assumable by Lambda, allowed to write the function's logs."""

import hashlib
import json
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from .inputs import checked_inputs
from .tokens import component_options, token

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


def role_resource_name(component_name: str) -> str:
    """`<name>-role`, short enough for Pulumi's auto-name to fit IAM's 64 characters."""
    return iam_resource_name(component_name, "role")


def lambda_execution_role(name: str, description: str, parent: pulumi.Resource) -> aws.iam.Role:
    """The role and its basic-execution attachment, as `parent`'s children (`<name>-role`, `<name>-basic-execution`)."""
    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        role_resource_name(name), assume_role_policy=LAMBDA_TRUST_POLICY, description=description, opts=child
    )
    aws.iam.RolePolicyAttachment(
        f"{name}-basic-execution",
        role=role.name,
        policy_arn=aws.iam.ManagedPolicy.AWS_LAMBDA_BASIC_EXECUTION_ROLE,
        opts=child,
    )
    return role


class ExecutionRoleArgs(TypedDict):
    """One execution role for several Lambda functions."""

    description: NotRequired[str]
    """The role's description (default: says it is shared)."""


class ExecutionRole(pulumi.ComponentResource):
    """One execution role for many functions: two IAM writes in all instead of two per function.

    Pass its `roleArn` as each LambdaFunction's `roleArn`. Every function then has the same permissions: only
    share it among functions that need nothing of their own.
    """

    role_arn: pulumi.Output[str]
    """The role's ARN."""
    role_name: pulumi.Output[str]
    """The role's name."""

    def __init__(self, name: str, args: ExecutionRoleArgs, opts: pulumi.ResourceOptions | None = None):
        args = checked_inputs("ExecutionRole", name, ExecutionRoleArgs, args)
        super().__init__(token("ExecutionRole"), name, None, component_options("ExecutionRole", None, opts))
        description = args.get("description") or "Execution role shared by Lambda functions kgateway routes"
        role = lambda_execution_role(name, description, self)
        self.role_arn, self.role_name = role.arn, role.name
        self.register_outputs({"role_arn": self.role_arn, "role_name": self.role_name})
