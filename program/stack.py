"""The program behind `__main__.py`: validated settings in, resources and stack outputs out."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components import (
    ClusterReads,
    ExecutionRole,
    ExecutionRoleArgs,
    GatewayCredentials,
    LambdaGatewayRoute,
)
from components.validation import dns_label_for
from program.component_args import (
    STACK_IDENTITY,
    build_all,
    composite_args,
    function_args,
    gateway_credentials_args,
    shared_credentials_args,
)
from program.config import (
    ConfigError,
    StackSettings,
)
from program.discovery import with_found_functions
from program.gateway import (
    EXISTING_GATEWAY,
    ExistingGateway,
    ManagedGateway,
    gateway_object,
    gateway_url_from,
    no_address_message,
    read_gateway_url,
)
from program.guide import GUIDE_REQUEST_BODY
from program.guide_objects import refuse_objects_in_the_way
from program.preflight import preflight_problems
from program.verify_checks import route_url, verify_checks


def curl_command(url: str) -> str:
    """The guide's check, ready to paste."""
    if not url.startswith("http"):
        return url
    return f"curl -i -X POST {url} -H 'content-type: application/json' -d '{GUIDE_REQUEST_BODY}'"


def managed_gateway(settings: StackSettings, waits_for: Sequence[pulumi.Resource] = ()) -> ManagedGateway:
    """The Gateway this stack creates; in irsa mode it references (and waits for) the GatewayParameters."""
    return ManagedGateway(gateway_object(settings), pulumi.ResourceOptions(depends_on=list(waits_for)))


def gateway_url(settings: StackSettings, created: ManagedGateway | None) -> pulumi.Output[str]:
    """Where the Gateway listens: the created one's published address, or the existing one's, read (the read has
    its own URN, so it never stands in for a created Gateway: see program/gateway.py)."""
    if settings.gateway_url is not None:
        return pulumi.Output.from_input(settings.gateway_url)
    gw = settings.gateway
    if created is not None:
        return pulumi.Output.all(created.spec, created.status).apply(
            lambda parts: (
                gateway_url_from({"spec": parts[0], "status": parts[1]}, gw.listener_name)
                or no_address_message(gw.gateway_namespace, gw.gateway_name)
            )
        )
    read = ExistingGateway(EXISTING_GATEWAY, gw.gateway_namespace, gw.gateway_name)
    return pulumi.Output.all(read.spec, read.status, read.metadata).apply(
        lambda parts: read_gateway_url(
            {
                "spec": parts[0],
                "status": parts[1],
                "metadata": {"namespace": gw.gateway_namespace, "name": gw.gateway_name, **(parts[2] or {})},
            },
            gw.listener_name,
        )
    )


def shared_credentials(settings: StackSettings) -> GatewayCredentials:
    """One identity for every routed function, at the stack's root whatever the number of functions.

    So going from one function to several (or back), or renaming the function, never moves it: its Secret, user
    and key keep their URNs. It is given names, not ARNs, so nothing waits on the functions. Stacks deployed
    before 0.2.0 kept a single function's identity inside its composite: aliases bring it here unchanged.
    """
    first = dns_label_for(settings.targets[0].function.name)
    composite = (
        f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::kgateway-lambda:index:LambdaGatewayRoute::{first}"
    )
    moved_from = [
        pulumi.Alias(name=first, parent=composite, type_=old_type)
        for old_type in ("kgateway-lambda:aws:GatewayCredentials", "kgateway-lambda:index:GatewayCredentials")
    ]
    return GatewayCredentials(
        STACK_IDENTITY, gateway_credentials_args(settings), opts=pulumi.ResourceOptions(aliases=moved_from)
    )


def deploy(settings: StackSettings) -> None:
    # The functions found by tag join the configured ones before anything is checked or registered.
    settings = with_found_functions(settings)
    if not settings.targets:
        # `discover` found nothing and `functions: []`: nothing to route, so nothing is held (the warning says so).
        for warning in settings.warnings:
            pulumi.log.warn(warning)
        return
    # Every object the API server would refuse is refused here, before any resource exists.
    problems = preflight_problems(settings)
    if problems:
        raise ConfigError(problems)
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    # Objects of others in the stack's way (the guide's, made by hand) are refused in preview and up alike.
    refuse_objects_in_the_way(settings)
    build_all(settings)
    shared = shared_credentials(settings)
    creates_functions = any(target.function.existing_arn is None for target in settings.targets)
    # The shared role may write the log groups of exactly the functions the stack creates.
    created_functions = [t.function.name for t in settings.targets if t.function.existing_arn is None]
    execution_role = (
        ExecutionRole("functions", ExecutionRoleArgs(function_names=created_functions))
        if settings.shared_execution_role and creates_functions
        else None
    )
    # irsa: a created Gateway waits for exactly its GatewayParameters (the identity has them in that mode alone).
    parameters = [shared.gateway_parameters] if shared.gateway_parameters is not None else []
    created = managed_gateway(settings, waits_for=parameters) if settings.create_gateway else None
    # `auto`: one read of each CRD kind and of the controller for the whole stack, whatever its number of functions.
    cluster_reads = ClusterReads("kgateway")
    role_arn = execution_role.role_arn if execution_role is not None else None
    composites = [
        LambdaGatewayRoute(
            target.resource_name or dns_label_for(target.function.name),
            composite_args(
                target,
                settings,
                shared_credentials_args(settings, shared.secret_name, shared.invoke_role_arn),
                None if target.function.existing_arn else function_args(target, role_arn),
            ),
            route_depends_on=[created] if created else [],
            cluster_reads=cluster_reads,
        )
        for target in settings.targets
    ]
    base_url = gateway_url(settings, created)
    first, first_route = composites[0], next(r for t in settings.targets for r in t.routes)
    echo_url = base_url.apply(lambda url: route_url(url, first_route))
    credentials = shared
    mode = settings.credentials.mode
    pulumi.export("gateway_url", base_url)
    pulumi.export("echo_url", echo_url)
    pulumi.export("curl_command", echo_url.apply(curl_command))
    pulumi.export("function_name", first.function_name)
    pulumi.export("function_arn", first.function_arn)
    pulumi.export("role_arn", first.role_arn)
    pulumi.export("backend_name", first.backend_name)
    pulumi.export("route_name", first.route_names.apply(lambda names: names[0] if names else None))
    if mode in ("generated", "provided"):
        pulumi.export("secret_name", credentials.secret_name)
    if mode == "irsa":
        pulumi.export("irsa_role_arn", credentials.irsa_role_arn)
        pulumi.export("gateway_parameters_name", credentials.gateway_parameters_name)
    if mode == "assume-role":
        pulumi.export("invoke_role_arn", credentials.invoke_role_arn)
    pulumi.export("region", aws.get_region_output().region)
    if any(route.protection and "api_keys" in route.protection for t in settings.targets for route in t.routes):
        # HTTPRoute name -> client id -> key: a secret output (`pulumi stack output --show-secrets api_keys`).
        keys = pulumi.Output.all(*(c.api_keys for c in composites)).apply(
            lambda per_composite: {route: k for keys_of in per_composite for route, k in keys_of.items()}
        )
        pulumi.export("api_keys", pulumi.Output.secret(keys))
    payload_modes = pulumi.Output.all(*(c.payload_transform_mode for c in composites))
    pulumi.export(
        "verify",
        pulumi.Output.all(base_url, payload_modes).apply(lambda parts: verify_checks(settings, parts[0], parts[1])),
    )
    if len(settings.targets) > 1 or len(settings.targets[0].routes) > 1:
        arns = {t.function.name: c.function_arn for t, c in zip(settings.targets, composites, strict=True)}
        pulumi.export("functions", arns)
        pulumi.export(
            "routes",
            base_url.apply(lambda url: {r.name: route_url(url, r) for t in settings.targets for r in t.routes}),
        )
