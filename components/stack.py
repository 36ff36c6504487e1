"""The program behind `__main__.py`: validated settings in, resources and stack outputs out."""

from __future__ import annotations

import pulumi

from components.config import PROJECT_ROOT, StackSettings, dns_label_for
from components.gateway import ExistingGateway, gateway_url_from, no_address_message
from components.lambda_function import LambdaFunctionArgs
from components.lambda_gateway_route import LambdaGatewayRoute, LambdaGatewayRouteArgs

BUILD_DIR = PROJECT_ROOT / ".build"
GUIDE_REQUEST_BODY = '{"key1":"value1","key2":"value2"}'


def curl_command(url: str) -> str:
    """The guide's check, ready to paste."""
    if not url.startswith("http"):
        return url
    return f"curl -i -X POST {url} -H 'content-type: application/json' -d '{GUIDE_REQUEST_BODY}'"


def gateway_url(settings: StackSettings) -> pulumi.Output[str]:
    if settings.gateway_url is not None:
        return pulumi.Output.from_input(settings.gateway_url)
    route = settings.route
    gateway = ExistingGateway("gateway", route.gateway_namespace, route.gateway_name)
    return pulumi.Output.all(gateway.spec, gateway.status).apply(
        lambda parts: (
            gateway_url_from({"spec": parts[0], "status": parts[1]}, route.listener_name)
            or no_address_message(route.gateway_namespace, route.gateway_name)
        )
    )


def deploy(settings: StackSettings) -> None:
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    function = settings.function
    route = LambdaGatewayRoute(
        dns_label_for(function.name),
        LambdaGatewayRouteArgs(
            function=LambdaFunctionArgs(
                function_name=function.name,
                source_dir=function.source_dir,
                build_dir=BUILD_DIR,
                runtime=function.runtime,
                architecture=function.architecture,
                memory_mb=function.memory_mb,
                timeout_s=function.timeout_s,
                log_retention_days=function.log_retention_days,
                alias=function.alias,
            ),
            credentials=settings.credentials,
            backend=settings.backend,
            route=settings.route,
        ),
    )
    base_url = gateway_url(settings)
    echo_url = base_url.apply(lambda url: url + settings.route.path if url.startswith("http") else url)
    pulumi.export("gateway_url", base_url)
    pulumi.export("echo_url", echo_url)
    pulumi.export("curl_command", echo_url.apply(curl_command))
    pulumi.export("function_name", route.function_name)
    pulumi.export("function_arn", route.function_arn)
    pulumi.export("role_arn", route.role_arn)
    pulumi.export("backend_name", route.backend_name)
    pulumi.export("route_name", route.route_name)
    if route.secret_name is not None:
        pulumi.export("secret_name", route.secret_name)
    if route.irsa_role_arn is not None:
        pulumi.export("irsa_role_arn", route.irsa_role_arn)
        pulumi.export("gateway_parameters_name", route.gateway_parameters_name)
    if route.invoke_role_arn is not None:
        pulumi.export("invoke_role_arn", route.invoke_role_arn)
