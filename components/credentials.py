"""The credentials kgateway signs Lambda invocations with, as the Secret its Backend references."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.config import CredentialsMode

COMMON_LABELS = {
    "app.kubernetes.io/managed-by": "pulumi",
    "app.kubernetes.io/part-of": "kgateway-lambda",
}


def invoke_only_policy(function_arns: Sequence[str]) -> str:
    """An IAM policy allowing `lambda:InvokeFunction` on exactly these ARNs and nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "InvokeRoutedFunctions",
                    "Effect": "Allow",
                    "Action": "lambda:InvokeFunction",
                    "Resource": sorted(set(function_arns)),
                }
            ],
        },
        sort_keys=True,
    )


@dataclass(frozen=True)
class GatewayCredentialsArgs:
    mode: CredentialsMode
    namespace: str
    secret_name: str
    # Every ARN kgateway may invoke: the functions and their qualified ARNs.
    invoke_arns: Sequence[pulumi.Input[str]]
    rotation: str = "1"
    access_key_id: pulumi.Input[str] | None = None
    secret_access_key: pulumi.Input[str] | None = None
    session_token: pulumi.Input[str] | None = None


class GatewayCredentials(pulumi.ComponentResource):
    """The `aws-creds` Secret (keys accessKey, secretKey, optional sessionToken) kgateway reads.

    `generated`: a dedicated IAM user allowed only to invoke the routed functions, with one access key;
    changing `rotation` makes a new key, points the Secret at it, and only then deletes the old key.
    `provided`: keys from encrypted stack config.
    """

    secret_name: pulumi.Output[str]
    access_key_id: pulumi.Output[str]
    user_name: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        args: GatewayCredentialsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kgateway-lambda:aws:GatewayCredentials", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        session_token: pulumi.Input[str] | None
        if args.mode == "generated":
            user = aws.iam.User(
                f"{name}-invoker",
                path="/kgateway-lambda/",
                tags={"purpose": "kgateway Lambda invocation"},
                opts=child,
            )
            policy = aws.iam.UserPolicy(
                f"{name}-invoke-only",
                user=user.name,
                policy=pulumi.Output.all(*args.invoke_arns).apply(invoke_only_policy),
                opts=child,
            )
            key = aws.iam.AccessKey(
                f"{name}-key-{args.rotation}",
                user=user.name,
                opts=pulumi.ResourceOptions(
                    parent=self,
                    depends_on=[policy],
                    additional_secret_outputs=["secret"],
                ),
            )
            access_key_id: pulumi.Input[str] = key.id
            secret_access_key: pulumi.Input[str] = key.secret
            session_token = None
            self.user_name = user.name
        else:
            if args.access_key_id is None or args.secret_access_key is None:
                raise ValueError("provided credentials need access_key_id and secret_access_key")
            access_key_id, secret_access_key, session_token = (
                args.access_key_id,
                args.secret_access_key,
                args.session_token,
            )
            self.user_name = None

        string_data: dict[str, pulumi.Input[str]] = {
            "accessKey": pulumi.Output.secret(access_key_id),
            "secretKey": pulumi.Output.secret(secret_access_key),
        }
        if session_token is not None:
            string_data["sessionToken"] = pulumi.Output.secret(session_token)
        secret = k8s.core.v1.Secret(
            f"{name}-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=args.secret_name, namespace=args.namespace, labels=COMMON_LABELS),
            type="Opaque",
            string_data=string_data,
            opts=child,
        )

        self.secret_name = secret.urn.apply(lambda _: args.secret_name)
        self.access_key_id = pulumi.Output.secret(access_key_id)
        self.register_outputs({"secret_name": self.secret_name, "access_key_id": self.access_key_id})
