"""The IAM documents of the gateway's identity: its invoke-only policy (exactly the ARNs kgateway invokes, packed
into as few managed policies as IAM's size limit allows) and the trust policies of its IRSA and assume-role roles.
Pure functions of plain values; components/credentials.py (`GatewayCredentials`) registers them.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi

from .execution_role import (
    allow_policy,
    managed_policy_chunks,
)


def invoke_only_policy(function_arns: Sequence[str]) -> str:
    """An IAM policy allowing `lambda:InvokeFunction` on exactly these ARNs and nothing else."""
    return allow_policy("InvokeRoutedFunctions", "lambda:InvokeFunction", function_arns)


# IAM's sizes (a managed policy's characters, the policies attached to a user or role) and the packing into
# policies have one home, beside IAM's naming rules: components/execution_role.py.
_POLICY_OVERHEAD = len(invoke_only_policy([])) + 16
# `arn:` + partition (at most aws-us-gov) + `:lambda:` + region (at most 20) + `:` + account + `:function:`.
_ARN_PREFIX_BOUND = len("arn:aws-us-gov:lambda:") + 20 + 1 + 12 + len(":function:")


def _bound(target: Mapping[str, Any]) -> int:
    """Characters the target's one ARN (qualified) takes at most in a policy, with quotes and a comma."""
    function, qualifier = str(target["function"]), str(target.get("qualifier") or "$LATEST")
    arn = len(function) if function.startswith("arn:") else _ARN_PREFIX_BOUND + len(function)
    return arn + 3 + len(qualifier) + 1


def policy_chunks(targets: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    """The targets packed into as few managed policies as fit IAM's size limit, in order."""
    return managed_policy_chunks(targets, _bound, _POLICY_OVERHEAD)


def irsa_trust_policy(provider_arn: str, service_account: str) -> str:
    """Trust only the gateway proxy's service account, via the cluster's OIDC provider, for STS."""
    issuer = provider_arn.split(":oidc-provider/", 1)[1]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": provider_arn},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {f"{issuer}:sub": service_account, f"{issuer}:aud": "sts.amazonaws.com"}
                    },
                }
            ],
        },
        sort_keys=True,
    )


def assume_role_trust_policy(ambient_role_arn: str) -> str:
    """Trust exactly the gateway's ambient role to assume the invoke role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": ambient_role_arn}, "Action": "sts:AssumeRole"}],
        },
        sort_keys=True,
    )


def oidc_provider_arn(provider: str, account_id: pulumi.Input[str]) -> pulumi.Output[str]:
    """The provider's ARN, from its ARN or from its issuer URL and the account."""
    if provider.startswith("arn:"):
        return pulumi.Output.from_input(provider)
    issuer = provider.removeprefix("https://").rstrip("/")
    return pulumi.Output.concat("arn:aws:iam::", account_id, ":oidc-provider/", issuer)
