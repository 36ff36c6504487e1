"""A Lambda execution role: assumable by Lambda, allowed to write the function's logs."""

import hashlib
import json
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

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


# Pulumi auto-names a role `<resource name>-<7 random hex>` and IAM allows 64 characters: longer resource names
# (from function names past 51 characters) are cut, with a hash of the whole name to keep them apart.
ROLE_NAME_LIMIT = 64 - len("-") - 7


def role_resource_name(component_name: str) -> str:
    """`<name>-role`, short enough for Pulumi's auto-name to fit IAM's 64 characters."""
    wanted = f"{component_name}-role"
    if len(wanted) <= ROLE_NAME_LIMIT:
        return wanted
    digest = hashlib.sha256(component_name.encode()).hexdigest()[:6]
    return f"{component_name[: ROLE_NAME_LIMIT - len('-role') - 7]}-{digest}-role"


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
        super().__init__(token("ExecutionRole"), name, None, component_options("ExecutionRole", None, opts))
        description = args.get("description") or "Execution role shared by Lambda functions kgateway routes"
        role = lambda_execution_role(name, description, self)
        self.role_arn, self.role_name = role.arn, role.name
        self.register_outputs({"role_arn": self.role_arn, "role_name": self.role_name})
