"""The program behind `__main__.py`: validated settings in, resources and stack outputs out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from components import (
    Architecture,
    BackendOptions,
    ClusterReads,
    CredentialsOptions,
    ExecutionRole,
    ExecutionRoleArgs,
    GatewayCredentials,
    GatewayCredentialsArgs,
    LambdaFunctionArgs,
    LambdaGatewayRoute,
    LambdaGatewayRouteArgs,
    PackageType,
    RouteOptions,
    Runtime,
    SharedCredentialsArgs,
)
from components.gateway_api_objects import gateway_manifest
from components.k8s_objects import COMMON_LABELS
from components.packaging import LambdaPackage, PackagingError, build_package
from components.protection_spec import protection_objects
from components.validation import dns_label_for
from program.config import (
    PROJECT,
    PROJECT_ROOT,
    ConfigError,
    CredentialsSettings,
    Problem,
    RouteSettings,
    StackSettings,
    TargetSettings,
)
from program.discovery import with_found_functions
from program.gateway import (
    EXISTING_GATEWAY,
    ExistingGateway,
    ManagedGateway,
    gateway_url_from,
    no_address_message,
    read_gateway_url,
)
from program.guide import EXPECT_ASYNC, EXPECT_ENVOY, EXPECT_GUIDE, EXPECT_STATUS, GUIDE_REQUEST_BODY
from program.guide_objects import refuse_objects_in_the_way, verify_request
from program.preflight import preflight_problems
from program.regex_path import sample_path

BUILD_DIR = PROJECT_ROOT / ".build"


def curl_command(url: str) -> str:
    """The guide's check, ready to paste."""
    if not url.startswith("http"):
        return url
    return f"curl -i -X POST {url} -H 'content-type: application/json' -d '{GUIDE_REQUEST_BODY}'"


def managed_gateway(settings: StackSettings, waits_for: Sequence[pulumi.Resource] = ()) -> ManagedGateway:
    """The Gateway this stack creates; in irsa mode it references (and waits for) the GatewayParameters."""
    opts = pulumi.ResourceOptions(depends_on=list(waits_for))
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
        gateway_parameters=settings.credentials.gateway_parameters_name
        if settings.credentials.mode == "irsa"
        else None,
    )
    manifest["metadata"]["labels"] = COMMON_LABELS
    return ManagedGateway(manifest, opts)


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


def route_url(base: str, route: RouteSettings) -> str:
    """Where to send a request for this route, or the Gateway's "no address yet" message unchanged."""
    return base + route.path if base.startswith("http") else base


def verify_url(base: str, route: RouteSettings) -> str | None:
    """Where `verify` sends its request: the route's URL; for a RegularExpression route, at a path the expression
    matches (program/regex_path.py), or None when none is found (no check rather than a 404)."""
    if route.match != "RegularExpression":
        return route_url(base, route)
    path = sample_path(route.path)
    if path is None:
        return None
    return base + path if base.startswith("http") else base


def expected_answer(target: TargetSettings, payload_mode: str | None) -> str:
    """What `verify` must see from this function through kgateway, given the mode its Backend carries."""
    if target.backend.invocation_mode == "Async":
        return EXPECT_ASYNC
    source = target.function.source_dir
    if target.function.existing_arn is not None or source is None or source.name != "echo":
        return EXPECT_STATUS
    return EXPECT_GUIDE if payload_mode == "None" else EXPECT_ENVOY


def verify_protection(protection: Mapping[str, Any], method: str) -> dict[str, Any]:
    """What `verify` must see of a route's protection (plain: where keys and tokens go, never a key): every key
    source in the policy's order, where the JWT goes, the token bucket's three figures, whether ipAllow is set."""
    spec, provider, _, _ = protection_objects(protection, "route")
    described: dict[str, Any] = {"jwt": spec.jwt_extension is not None}
    if provider is not None and provider.token_source is not None:
        kind, name, prefix = provider.token_source
        described["jwtSource"] = [kind, name, prefix]
    if spec.api_keys is not None:
        described["keySources"] = [list(source) for source in spec.api_keys.key_sources]
    if spec.cors is not None:
        origin = spec.cors.allow_origins[0]
        origin = "https://verify.example.com" if origin == "*" else origin.replace("*.", "verify.", 1)
        allowed = [m for m in spec.cors.allow_methods if m != "*"]
        described["cors"] = {"origin": origin, "method": method if not allowed or method in allowed else allowed[0]}
    if spec.rate_limit is not None:
        described["rateLimit"] = {
            "maxTokens": spec.rate_limit.max_tokens,
            "tokensPerFill": spec.rate_limit.tokens_per_fill,
            "fillInterval": spec.rate_limit.fill_interval,
        }
    if spec.ip_allow:
        described["ipAllow"] = True
    return described


def verify_checks(settings: StackSettings, base_url: str, payload_modes: Sequence[str | None]) -> list[dict[str, Any]]:
    """One check per route (a RegularExpression route: at a path it matches, when one is found)."""
    checks: list[dict[str, Any]] = []
    for target, payload_mode in zip(settings.targets, payload_modes, strict=True):
        for route in target.routes:
            url = verify_url(base_url, route)
            if url is None:
                continue
            request = verify_request(route)
            check: dict[str, Any] = {
                "route": route.name,
                "url": url,
                "expect": expected_answer(target, payload_mode),
                "host": request.host,
                "method": request.method,
                "function": target.function.name,
            }
            if route.protection:
                check["protection"] = verify_protection(route.protection, request.method)
            checks.append(check)
    return checks


def build_function(target: TargetSettings) -> LambdaPackage:
    """The function's deployment package, built by its kind into .build/ (cached by content, so a second build of
    the same source is free); a source that cannot be built is a config error naming functionSource."""
    function = target.function
    assert function.source_dir is not None  # the config reader gives every Zip function its source
    try:
        return build_package(function.source_dir, function.runtime, function.architecture, BUILD_DIR, function.name)
    except PackagingError as error:
        key, written = target.origins.get("source", (f"{PROJECT}:functionSource", str(function.source_dir)))
        raise ConfigError(
            [Problem(key, written, str(error), 'see docs/functions.md "What `functionSource` may be"')]
        ) from error


def build_all(settings: StackSettings) -> None:
    """Every package, before any resource is registered: a source that cannot be built creates nothing."""
    for target in settings.targets:
        if target.function.existing_arn is None and target.function.package_type == "Zip":
            build_function(target)


def function_args(target: TargetSettings, role_arn: pulumi.Input[str] | None = None) -> LambdaFunctionArgs:
    """The function component's inputs: the code is its source built by its kind (components/packaging.py
    `build_package`, reproducibly) or its image; `role_arn`, a shared execution role (none: the function gets its
    own)."""
    function = target.function
    args = LambdaFunctionArgs(
        function_name=function.name,
        architecture=Architecture(function.architecture),
        memory_size=function.memory_mb,
        timeout=function.timeout_s,
        log_retention_days=function.log_retention_days,
    )
    if function.package_type == "Image":
        args["package_type"] = PackageType.IMAGE
        args["image_uri"] = str(function.image_uri)
    else:
        package = build_function(target)
        args["code"] = pulumi.FileArchive(str(package.path))
        args["source_code_hash"] = package.sha256_base64
        args["runtime"] = Runtime(function.runtime)
        args["handler"] = function.handler
    environment: dict[str, pulumi.Input[str]] = dict(function.environment)
    if function.secret_environment is not None:
        # One secret mapping: the plain variables join it inside, so the whole set stays a secret (as Lambda's
        # `environment.variables` is one value in the state).
        merged = pulumi.Output.all(dict(function.environment), function.secret_environment).apply(
            lambda parts: {**parts[0], **parts[1]}
        )
        args["environment"] = pulumi.Output.secret(merged)
    elif environment:
        args["environment"] = environment
    if function.alias is not None:
        args["alias"] = function.alias
    if role_arn is not None:
        args["role_arn"] = role_arn
    return args


def _present(**values: Any) -> dict[str, Any]:
    """Only the values that are set: an unset component input takes the component's default."""
    return {key: value for key, value in values.items() if value is not None}


def credentials_options(credentials: CredentialsSettings) -> CredentialsOptions:
    return cast(
        CredentialsOptions,
        _present(
            mode=credentials.mode,
            secret_name=credentials.secret_name,
            rotation=credentials.rotation,
            previous_rotation=credentials.previous_rotation,
            access_key_id=credentials.access_key_id,
            secret_access_key=credentials.secret_access_key,
            session_token=credentials.session_token,
            oidc_provider=credentials.oidc_provider,
            gateway_parameters_name=credentials.gateway_parameters_name,
            ambient_role_arn=credentials.ambient_role_arn,
        ),
    )


def composite_args(
    target: TargetSettings,
    settings: StackSettings,
    shared: GatewayCredentials,
    execution_role: ExecutionRole | None = None,
) -> LambdaGatewayRouteArgs:
    """The validated settings of one function, as the composite's own inputs."""
    backend = target.backend
    fields: dict[str, Any] = dict(
        backend=cast(
            BackendOptions,
            _present(
                name=backend.name,
                namespace=backend.namespace,
                kgateway_version=backend.kgateway.name if backend.kgateway is not None else "auto",
                account_id=backend.account_id,
                qualifier=backend.qualifier,
                invocation_mode=backend.invocation_mode,
                payload_transform_mode=backend.payload_transform_mode,
                endpoint_url=backend.endpoint_url,
                wait_for_acceptance=backend.wait_for_acceptance,
            ),
        ),
        routes=[
            cast(
                RouteOptions,
                _present(
                    name=route.name,
                    path=route.path,
                    match=route.match,
                    methods=list(route.methods) or None,
                    headers=dict(route.headers) or None,
                    hostnames=list(route.hostnames) or None,
                    namespace=route.namespace,
                    # Per route: the stack-wide `protection` is already each route's unless its entry has its own.
                    protection=dict(route.protection) if route.protection else None,
                ),
            )
            for route in target.routes
        ],
        **_present(
            gateway_name=settings.gateway.gateway_name,
            gateway_namespace=settings.gateway.gateway_namespace,
            listener_name=settings.gateway.listener_name,
        ),
    )
    args = cast(LambdaGatewayRouteArgs, fields)
    if target.function.existing_arn is not None:
        args["existing_function"] = target.function.existing_arn
    else:
        args["function"] = function_args(target, execution_role.role_arn if execution_role is not None else None)
    args["shared_credentials"] = cast(
        SharedCredentialsArgs,
        _present(
            secret_name=shared.secret_name if settings.credentials.mode in ("generated", "provided") else None,
            assume_role_arn=shared.invoke_role_arn if settings.credentials.mode == "assume-role" else None,
        ),
    )
    return args


def shared_credentials(settings: StackSettings) -> GatewayCredentials:
    """One identity for every routed function, at the stack's root whatever the number of functions.

    So going from one function to several (or back), or renaming the function, never moves it: its Secret, user
    and key keep their URNs. It is given names, not ARNs, so nothing waits on the functions. Stacks deployed
    before 0.2.0 kept a single function's identity inside its composite: aliases bring it here unchanged.
    """
    account = settings.targets[0].backend.account_id
    functions = [
        {
            "function": target.function.existing_arn or target.function.name,
            "qualifier": target.function.alias or target.backend.qualifier or "$LATEST",
        }
        for target in settings.targets
    ]
    gw = settings.gateway
    first = dns_label_for(settings.targets[0].function.name)
    composite = (
        f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::kgateway-lambda:index:LambdaGatewayRoute::{first}"
    )
    moved_from = [
        pulumi.Alias(name=first, parent=composite, type_=old_type)
        for old_type in ("kgateway-lambda:aws:GatewayCredentials", "kgateway-lambda:index:GatewayCredentials")
    ]
    return GatewayCredentials(
        "gateway",
        cast(
            GatewayCredentialsArgs,
            {
                **credentials_options(settings.credentials),
                "functions": functions,
                "namespace": settings.targets[0].backend.namespace,
                **({"account_id": account} if account else {}),
                "gateway_name": gw.gateway_name,
                "gateway_namespace": gw.gateway_namespace,
            },
        ),
        opts=pulumi.ResourceOptions(aliases=moved_from),
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
    composites = [
        LambdaGatewayRoute(
            target.resource_name or dns_label_for(target.function.name),
            composite_args(target, settings, shared, execution_role),
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
