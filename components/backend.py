"""A kgateway `Backend` for one Lambda function."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.k8s_objects import custom_resource
from components.kgateway_api import (
    AssumeRoleAuth,
    InvocationMode,
    KgatewayVersion,
    LambdaTarget,
    PayloadTransformMode,
    SecretAuth,
    backend_manifest,
)


@dataclass(frozen=True)
class LambdaBackendArgs:
    kgateway: KgatewayVersion
    name: str
    namespace: str
    function_name: pulumi.Input[str]
    region: pulumi.Input[str]
    account_id: pulumi.Input[str]
    # The Secret with the signing keys (same namespace); None: the gateway's ambient credentials.
    secret_name: pulumi.Input[str] | None
    # A role the gateway's ambient identity assumes (kgateway versions with AssumeRole auth).
    assume_role_arn: pulumi.Input[str] | None = None
    qualifier: pulumi.Input[str] | None = None
    invocation_mode: InvocationMode = "Sync"
    payload_transform_mode: PayloadTransformMode = "None"
    endpoint_url: str | None = None
    wait_for_acceptance: bool = True


class LambdaBackend(pulumi.ComponentResource):
    """The `gateway.kgateway.dev/v1alpha1` Backend, in the shape the chosen kgateway version accepts."""

    backend_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: LambdaBackendArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kgateway-lambda:kubernetes:LambdaBackend", name, None, opts)

        auth: SecretAuth | AssumeRoleAuth | None = None
        if args.secret_name is not None:
            auth = SecretAuth(args.secret_name)
        elif args.assume_role_arn is not None:
            auth = AssumeRoleAuth(args.assume_role_arn)
        manifest = backend_manifest(
            args.kgateway,
            name=args.name,
            namespace=args.namespace,
            target=LambdaTarget(
                function_name=args.function_name,
                region=args.region,
                account_id=args.account_id,
                qualifier=args.qualifier,
                invocation_mode=args.invocation_mode,
                payload_transform_mode=args.payload_transform_mode,
                endpoint_url=args.endpoint_url,
            ),
            auth=auth,
            wait=args.wait_for_acceptance,
        )
        backend = custom_resource(f"{name}-backend", manifest, pulumi.ResourceOptions(parent=self))
        self.backend_name = backend.urn.apply(lambda _: args.name)
        self.register_outputs({"backend_name": self.backend_name})
