"""The program behind `__main__.py`: validated settings in, resources and stack outputs out."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.config import PROJECT_ROOT, RouteSettings, StackSettings, TargetSettings, dns_label_for
from components.credentials import GatewayCredentials, credentials_args
from components.gateway import ExistingGateway, ManagedGateway, gateway_url_from, no_address_message
from components.k8s_objects import COMMON_LABELS
from components.kgateway_api import KgatewayVersion, gateway_manifest
from components.lambda_function import LambdaFunctionArgs
from components.lambda_gateway_route import LambdaGatewayRoute, LambdaGatewayRouteArgs
from components.verify import EXPECT_ASYNC, EXPECT_ENVOY, EXPECT_GUIDE, EXPECT_STATUS, GUIDE_REQUEST_BODY

BUILD_DIR = PROJECT_ROOT / ".build"


def curl_command(url: str) -> str:
    """The guide's check, ready to paste."""
    if not url.startswith("http"):
        return url
    return f"curl -i -X POST {url} -H 'content-type: application/json' -d '{GUIDE_REQUEST_BODY}'"


def managed_gateway(settings: StackSettings) -> ManagedGateway:
    gw = settings.gateway
    route_namespaces = tuple(
        route.namespace or target.backend.namespace for target in settings.targets for route in target.routes
    )
    manifest = gateway_manifest(
        name=gw.gateway_name,
        namespace=gw.gateway_namespace,
        port=settings.gateway_port,
        listener_name=gw.listener_name or "http",
        route_namespaces=route_namespaces,
        wait=settings.targets[0].backend.wait_for_acceptance,
    )
    manifest["metadata"]["labels"] = COMMON_LABELS
    return ManagedGateway("gateway", manifest)


def gateway_url(settings: StackSettings, created: ManagedGateway | None) -> pulumi.Output[str]:
    if settings.gateway_url is not None:
        return pulumi.Output.from_input(settings.gateway_url)
    gw = settings.gateway
    gateway = created or ExistingGateway("gateway", gw.gateway_namespace, gw.gateway_name)
    return pulumi.Output.all(gateway.spec, gateway.status).apply(
        lambda parts: (
            gateway_url_from({"spec": parts[0], "status": parts[1]}, gw.listener_name)
            or no_address_message(gw.gateway_namespace, gw.gateway_name)
        )
    )


def route_url(base: str, route: RouteSettings) -> str:
    """Where to send a request for this route, or the Gateway's "no address yet" message unchanged."""
    return base + route.path if base.startswith("http") else base


def expected_answer(target: TargetSettings, shape: KgatewayVersion) -> str:
    """What `verify` must see from this function through kgateway (see components.verify)."""
    backend = target.backend
    if backend.invocation_mode == "Async":
        return EXPECT_ASYNC
    if target.function.source_dir.name != "echo":
        return EXPECT_STATUS
    passthrough = shape.has_payload_transform_mode and backend.payload_transform_mode in (None, "None")
    return EXPECT_GUIDE if passthrough else EXPECT_ENVOY


def verify_checks(
    settings: StackSettings, base_url: str, shapes: Sequence[KgatewayVersion]
) -> list[dict[str, str | None]]:
    """One check per route with a concrete path (a regular expression has no URL to send to)."""
    checks: list[dict[str, str | None]] = []
    for target, shape in zip(settings.targets, shapes, strict=True):
        for route in target.routes:
            if route.match == "RegularExpression":
                continue
            host = next((h for h in route.hostnames if not h.startswith("*.")), None)
            if host is None and route.hostnames:
                host = "verify." + route.hostnames[0][2:]
            method = "POST" if not route.methods or "POST" in route.methods else route.methods[0]
            checks.append(
                {
                    "route": route.name,
                    "url": route_url(base_url, route),
                    "expect": expected_answer(target, shape),
                    "host": host,
                    "method": method,
                    "function": target.function.name,
                }
            )
    return checks


def function_args(target: TargetSettings) -> LambdaFunctionArgs:
    function = target.function
    return LambdaFunctionArgs(
        function_name=function.name,
        source_dir=function.source_dir,
        build_dir=BUILD_DIR,
        runtime=function.runtime,
        architecture=function.architecture,
        memory_mb=function.memory_mb,
        timeout_s=function.timeout_s,
        log_retention_days=function.log_retention_days,
        alias=function.alias,
    )


def shared_credentials(settings: StackSettings) -> GatewayCredentials:
    """One identity for every routed function: ARNs follow from the explicit names, so nothing waits on AWS."""
    account = settings.targets[0].backend.account_id or aws.get_caller_identity_output().account_id
    prefix = pulumi.Output.concat(
        "arn:", aws.get_partition_output().partition, ":lambda:", aws.get_region_output().region, ":", account
    )
    arns: list[pulumi.Input[str]] = []
    for target in settings.targets:
        function_arn = pulumi.Output.concat(prefix, ":function:", target.function.name)
        qualifier = target.function.alias or target.backend.qualifier or "$LATEST"
        arns += [function_arn, pulumi.Output.concat(function_arn, ":", qualifier)]
    credentials, gw = settings.credentials, settings.gateway
    return GatewayCredentials(
        "gateway",
        credentials_args(
            credentials,
            namespace=settings.targets[0].backend.namespace,
            invoke_arns=arns,
            account_id=account,
            gateway_name=gw.gateway_name,
            gateway_namespace=gw.gateway_namespace,
        ),
    )


def deploy(settings: StackSettings) -> None:
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    # One function keeps its credentials inside its composite; several share one identity.
    shared = shared_credentials(settings) if len(settings.targets) > 1 else None
    created = managed_gateway(settings) if settings.create_gateway else None
    composites = [
        LambdaGatewayRoute(
            dns_label_for(target.function.name),
            LambdaGatewayRouteArgs(
                function=function_args(target),
                backend=target.backend,
                routes=target.routes,
                credentials=None if shared else settings.credentials,
                shared_credentials=shared,
                route_dependencies=(created,) if created else (),
            ),
        )
        for target in settings.targets
    ]
    base_url = gateway_url(settings, created)
    first, first_route = composites[0], next(r for t in settings.targets for r in t.routes)
    echo_url = base_url.apply(lambda url: route_url(url, first_route))
    credentials = first.credentials
    pulumi.export("gateway_url", base_url)
    pulumi.export("echo_url", echo_url)
    pulumi.export("curl_command", echo_url.apply(curl_command))
    pulumi.export("function_name", first.function_name)
    pulumi.export("function_arn", first.function_arn)
    pulumi.export("role_arn", first.role_arn)
    pulumi.export("backend_name", first.backend_name)
    pulumi.export("route_name", first.route_names[0] if first.route_names else None)
    if credentials.secret_name is not None:
        pulumi.export("secret_name", credentials.secret_name)
    if credentials.irsa_role_arn is not None:
        pulumi.export("irsa_role_arn", credentials.irsa_role_arn)
        pulumi.export("gateway_parameters_name", credentials.gateway_parameters_name)
    if credentials.invoke_role_arn is not None:
        pulumi.export("invoke_role_arn", credentials.invoke_role_arn)
    pulumi.export("region", aws.get_region_output().region)
    shapes = pulumi.Output.all(*(c.kgateway_shape for c in composites))
    pulumi.export(
        "verify", pulumi.Output.all(base_url, shapes).apply(lambda parts: verify_checks(settings, parts[0], parts[1]))
    )
    if len(settings.targets) > 1 or len(settings.targets[0].routes) > 1:
        arns = {t.function.name: c.function_arn for t, c in zip(settings.targets, composites, strict=True)}
        pulumi.export("functions", arns)
        pulumi.export(
            "routes",
            base_url.apply(lambda url: {r.name: route_url(url, r) for t in settings.targets for r in t.routes}),
        )
