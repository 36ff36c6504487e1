"""The composite: one Lambda function reachable through kgateway on a Gateway path."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.backend import LambdaBackend, LambdaBackendArgs
from components.config import BackendSettings, CredentialsSettings, RouteSettings
from components.credentials import GatewayCredentials, GatewayCredentialsArgs
from components.lambda_function import LambdaFunction, LambdaFunctionArgs
from components.route import LambdaRoute, LambdaRouteArgs


@dataclass(frozen=True)
class LambdaGatewayRouteArgs:
    function: LambdaFunctionArgs
    credentials: CredentialsSettings
    backend: BackendSettings
    route: RouteSettings


def qualified_arn(function_arn: pulumi.Input[str], qualifier: str | None) -> pulumi.Output[str]:
    """The ARN kgateway invokes: the function's ARN with its qualifier (`$LATEST` when none is set)."""
    return pulumi.Output.concat(function_arn, ":", qualifier or "$LATEST")


class LambdaGatewayRoute(pulumi.ComponentResource):
    """Function, credentials Secret, Backend and HTTPRoute for one function, in dependency order.

    Pass `aws_provider` / `k8s_provider` to target another account or cluster; the account id and region
    of the Backend come from the AWS provider's identity unless the backend settings name an account.
    """

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    secret_name: pulumi.Output[str] | None
    irsa_role_arn: pulumi.Output[str] | None
    gateway_parameters_name: pulumi.Output[str] | None
    invoke_role_arn: pulumi.Output[str] | None
    backend_name: pulumi.Output[str]
    route_name: pulumi.Output[str]

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
        credentials = GatewayCredentials(
            name,
            GatewayCredentialsArgs(
                mode=args.credentials.mode,
                namespace=args.backend.namespace,
                secret_name=args.credentials.secret_name,
                invoke_arns=[
                    function.function_arn,
                    qualified_arn(function.function_arn, args.function.alias or args.backend.qualifier),
                ],
                rotation=args.credentials.rotation,
                access_key_id=args.credentials.access_key_id,
                secret_access_key=args.credentials.secret_access_key,
                session_token=args.credentials.session_token,
                oidc_provider=args.credentials.oidc_provider,
                account_id=account_id,
                gateway_name=args.route.gateway_name,
                gateway_namespace=args.route.gateway_namespace,
                gateway_parameters_name=args.credentials.gateway_parameters_name,
                ambient_role_arn=args.credentials.ambient_role_arn,
            ),
            opts=child,
        )
        backend = LambdaBackend(
            name,
            LambdaBackendArgs(
                kgateway=args.backend.kgateway,
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
        route = LambdaRoute(
            name,
            LambdaRouteArgs(
                name=args.route.name,
                namespace=args.backend.namespace,
                path=args.route.path,
                backend_name=backend.backend_name,
                gateway_name=args.route.gateway_name,
                gateway_namespace=args.route.gateway_namespace,
                listener_name=args.route.listener_name,
                wait_for_acceptance=args.backend.wait_for_acceptance,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[backend]),
        )

        self.function_name = function.function_name
        self.function_arn = function.function_arn
        self.role_arn = function.role_arn
        self.secret_name = credentials.secret_name
        self.irsa_role_arn = credentials.irsa_role_arn
        self.gateway_parameters_name = credentials.gateway_parameters_name
        self.invoke_role_arn = credentials.invoke_role_arn
        self.backend_name = backend.backend_name
        self.route_name = route.route_name
        self.register_outputs(
            {
                "function_name": self.function_name,
                "function_arn": self.function_arn,
                "role_arn": self.role_arn,
                "secret_name": self.secret_name,
                "backend_name": self.backend_name,
                "route_name": self.route_name,
            }
        )
