"""The credentials kgateway signs Lambda invocations with, as the Secret its Backend references."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.config import CredentialsMode, CredentialsSettings
from components.k8s_objects import COMMON_LABELS, custom_resource
from components.kgateway_api import gateway_parameters_manifest

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


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
    # irsa mode
    oidc_provider: str | None = None
    account_id: pulumi.Input[str] | None = None
    gateway_name: str = "http"
    gateway_namespace: str = "kgateway-system"
    gateway_parameters_name: str = "lambda-irsa"
    # assume-role mode
    ambient_role_arn: str | None = None


def credentials_args(
    settings: CredentialsSettings,
    *,
    namespace: str,
    invoke_arns: Sequence[pulumi.Input[str]],
    account_id: pulumi.Input[str],
    gateway_name: str,
    gateway_namespace: str,
) -> GatewayCredentialsArgs:
    """Component args from the validated stack settings plus what only the caller knows."""
    return GatewayCredentialsArgs(
        mode=settings.mode,
        namespace=namespace,
        secret_name=settings.secret_name,
        invoke_arns=invoke_arns,
        rotation=settings.rotation,
        access_key_id=settings.access_key_id,
        secret_access_key=settings.secret_access_key,
        session_token=settings.session_token,
        oidc_provider=settings.oidc_provider,
        account_id=account_id,
        gateway_name=gateway_name,
        gateway_namespace=gateway_namespace,
        gateway_parameters_name=settings.gateway_parameters_name,
        ambient_role_arn=settings.ambient_role_arn,
    )


class GatewayCredentials(pulumi.ComponentResource):
    """The `aws-creds` Secret (keys accessKey, secretKey, optional sessionToken) kgateway reads.

    `generated`: a dedicated IAM user allowed only to invoke the routed functions, with one access key;
    changing `rotation` makes a new key, points the Secret at it, and only then deletes the old key.
    `provided`: keys from encrypted stack config.
    `irsa`: no keys at all: an invoke-only role the gateway proxy's service account assumes through the
    cluster's OIDC provider, and the kgateway GatewayParameters that annotates that service account.
    `assume-role`: no keys: an invoke-only role that exactly the gateway's ambient role may assume; the
    Backend names it (`auth.type: AssumeRole`).
    """

    secret_name: pulumi.Output[str] | None
    access_key_id: pulumi.Output[str] | None
    user_name: pulumi.Output[str] | None
    irsa_role_arn: pulumi.Output[str] | None
    gateway_parameters_name: pulumi.Output[str] | None
    invoke_role_arn: pulumi.Output[str] | None

    def __init__(self, name: str, args: GatewayCredentialsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kgateway-lambda:aws:GatewayCredentials", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.irsa_role_arn = self.gateway_parameters_name = self.invoke_role_arn = None
        if args.mode == "irsa":
            self._irsa(name, args)
            return
        if args.mode == "assume-role":
            self._assume_role(name, args)
            return

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

    def _invoke_only_role(
        self, resource_name: str, trust_policy: pulumi.Input[str], description: str, args: GatewayCredentialsArgs
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """A role that may only invoke the routed functions, assumable as `trust_policy` says."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(resource_name, assume_role_policy=trust_policy, description=description, opts=child)
        policy = aws.iam.RolePolicy(
            f"{resource_name}-invoke-only",
            role=role.id,
            policy=pulumi.Output.all(*args.invoke_arns).apply(invoke_only_policy),
            opts=child,
        )
        return role, policy

    def _assume_role(self, name: str, args: GatewayCredentialsArgs) -> None:
        if args.ambient_role_arn is None:
            raise ValueError("assume-role credentials need ambient_role_arn")
        role, policy = self._invoke_only_role(
            f"{name}-invoke-role",
            assume_role_trust_policy(args.ambient_role_arn),
            "Assumed by the kgateway proxy's ambient identity to invoke routed Lambdas",
            args,
        )
        self.secret_name = self.access_key_id = self.user_name = None
        self.invoke_role_arn = pulumi.Output.all(role.arn, policy.id).apply(lambda parts: str(parts[0]))
        self.register_outputs({"invoke_role_arn": self.invoke_role_arn})

    def _irsa(self, name: str, args: GatewayCredentialsArgs) -> None:
        if args.oidc_provider is None or args.account_id is None:
            raise ValueError("irsa credentials need oidc_provider and account_id")
        service_account = f"system:serviceaccount:{args.gateway_namespace}:{args.gateway_name}"
        role, policy = self._invoke_only_role(
            f"{name}-irsa",
            oidc_provider_arn(args.oidc_provider, args.account_id).apply(
                lambda arn: irsa_trust_policy(arn, service_account)
            ),
            f"kgateway proxy {args.gateway_namespace}/{args.gateway_name}: invoke routed Lambdas",
            args,
        )
        parameters = custom_resource(
            f"{name}-gateway-parameters",
            gateway_parameters_manifest(
                name=args.gateway_parameters_name,
                namespace=args.gateway_namespace,
                annotations={IRSA_ANNOTATION: role.arn},
            ),
            pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        self.secret_name = self.access_key_id = self.user_name = None
        self.irsa_role_arn = role.arn
        self.gateway_parameters_name = parameters.urn.apply(lambda _: args.gateway_parameters_name)
        self.register_outputs(
            {"irsa_role_arn": self.irsa_role_arn, "gateway_parameters_name": self.gateway_parameters_name}
        )
