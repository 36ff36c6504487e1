"""The composite: one Lambda function reachable through kgateway on one or more Gateway routes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.backend import LambdaBackend, LambdaBackendArgs, installed_backend_shape
from components.config import BackendSettings, CredentialsSettings, RouteSettings
from components.credentials import GatewayCredentials, credentials_args
from components.kgateway_api import KgatewayVersion
from components.lambda_function import LambdaFunction, LambdaFunctionArgs
from components.route import LambdaRoute, LambdaRouteArgs


@dataclass(frozen=True)
class LambdaGatewayRouteArgs:
    function: LambdaFunctionArgs
    backend: BackendSettings
    routes: Sequence[RouteSettings] = field(default_factory=tuple)
    # Either credentials of this function's own, or credentials shared by several functions (made by the caller).
    credentials: CredentialsSettings | None = None
    shared_credentials: GatewayCredentials | None = None
    # What the HTTPRoutes must wait for, e.g. a Gateway the caller creates.
    route_dependencies: tuple[pulumi.Resource, ...] = ()


def qualified_arn(function_arn: pulumi.Input[str], qualifier: str | None) -> pulumi.Output[str]:
    """The ARN kgateway invokes: the function's ARN with its qualifier (`$LATEST` when none is set)."""
    return pulumi.Output.concat(function_arn, ":", qualifier or "$LATEST")


class LambdaGatewayRoute(pulumi.ComponentResource):
    """Function, credentials, Backend and HTTPRoutes for one function, in dependency order.

    Pass `aws_provider` / `k8s_provider` to target another account or cluster; the account id and region
    of the Backend come from the AWS provider's identity unless the backend settings name an account.
    """

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    credentials: GatewayCredentials
    backend_name: pulumi.Output[str]
    route_names: list[pulumi.Output[str]]
    kgateway_shape: pulumi.Output[KgatewayVersion]

    def __init__(
        self,
        name: str,
        args: LambdaGatewayRouteArgs,
        aws_provider: aws.Provider | None = None,
        k8s_provider: k8s.Provider | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ):
        providers: list[pulumi.ProviderResource] = [p for p in (aws_provider, k8s_provider) if p is not None]
        super().__init__(
            "kgateway-lambda:index:LambdaGatewayRoute",
            name,
            None,
            pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers=providers)),
        )
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)

        function = LambdaFunction(name, args.function, opts=child)
        qualifier = function.alias_name if function.alias_name is not None else args.backend.qualifier
        account_id = args.backend.account_id or aws.get_caller_identity_output(opts=invoke).account_id
        if args.shared_credentials is not None:
            credentials = args.shared_credentials
        elif args.credentials is not None:
            credentials = GatewayCredentials(
                name,
                credentials_args(
                    args.credentials,
                    namespace=args.backend.namespace,
                    invoke_arns=[
                        function.function_arn,
                        qualified_arn(function.function_arn, args.function.alias or args.backend.qualifier),
                    ],
                    account_id=account_id,
                    gateway_name=args.routes[0].gateway_name if args.routes else "http",
                    gateway_namespace=args.routes[0].gateway_namespace if args.routes else "kgateway-system",
                ),
                opts=child,
            )
        else:
            raise ValueError("LambdaGatewayRouteArgs needs credentials or shared_credentials")
        # No release line given (`auto`): read the shape from the cluster's Backend CRD, through our provider.
        shape: KgatewayVersion | pulumi.Output[KgatewayVersion] = (
            args.backend.kgateway
            if args.backend.kgateway is not None
            else installed_backend_shape(f"{name}-kgateway-crd", child)
        )
        backend = LambdaBackend(
            name,
            LambdaBackendArgs(
                kgateway=shape,
                name=args.backend.name,
                namespace=args.backend.namespace,
                function_name=function.function_name,
                region=aws.get_region_output(opts=invoke).region,
                account_id=account_id,
                secret_name=credentials.secret_name,
                assume_role_arn=credentials.invoke_role_arn,
                qualifier=qualifier,
                invocation_mode=args.backend.invocation_mode,
                payload_transform_mode=args.backend.payload_transform_mode,
                endpoint_url=args.backend.endpoint_url,
                wait_for_acceptance=args.backend.wait_for_acceptance,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[credentials]),
        )
        routes = [
            LambdaRoute(
                # Child names must be unique across composites: prefix the composite's name where it is missing.
                route.name if route.name.startswith(name) else f"{name}-{route.name}",
                LambdaRouteArgs(
                    name=route.name,
                    namespace=route.namespace or args.backend.namespace,
                    path=route.path,
                    backend_name=backend.backend_name,
                    backend_namespace=args.backend.namespace,
                    gateway_name=route.gateway_name,
                    gateway_namespace=route.gateway_namespace,
                    listener_name=route.listener_name,
                    wait_for_acceptance=args.backend.wait_for_acceptance,
                    match=route.match,
                    methods=route.methods,
                    headers=route.headers,
                    hostnames=route.hostnames,
                    depends_on=args.route_dependencies,
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[backend]),
            )
            for route in args.routes
        ]

        self.function_name = function.function_name
        self.function_arn = function.function_arn
        self.role_arn = function.role_arn
        self.credentials = credentials
        self.backend_name = backend.backend_name
        self.kgateway_shape = pulumi.Output.from_input(shape)
        self.route_names = [r.route_name for r in routes]
        self.register_outputs(
            {
                "function_name": self.function_name,
                "function_arn": self.function_arn,
                "role_arn": self.role_arn,
                "backend_name": self.backend_name,
                "route_names": self.route_names,
            }
        )
