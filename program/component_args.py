"""The stack's validated settings as the components' own inputs: one function's composite, the stack's one
identity, the function's package. The program registers from these and the preflight plans from these
(program/preflight.py), so both build each object from the same inputs."""

from __future__ import annotations

from typing import Any, cast

import pulumi

from components import (
    Architecture,
    BackendOptions,
    CredentialsOptions,
    GatewayCredentialsArgs,
    LambdaFunctionArgs,
    LambdaGatewayRouteArgs,
    PackageType,
    RouteOptions,
    Runtime,
    SharedCredentialsArgs,
)
from components.packaging import LambdaPackage, PackagingError, build_package
from program.config import (
    PROJECT,
    PROJECT_ROOT,
    ConfigError,
    CredentialsSettings,
    Problem,
    StackSettings,
    TargetSettings,
)

BUILD_DIR = PROJECT_ROOT / ".build"
STACK_IDENTITY = "gateway"
"""The Pulumi name of the stack's one GatewayCredentials."""


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


def function_args(
    target: TargetSettings, role_arn: pulumi.Input[str] | None = None, *, with_code: bool = True
) -> LambdaFunctionArgs:
    """The function component's inputs: the code is its source built by its kind (components/packaging.py
    `build_package`, reproducibly) or its image; `role_arn`, a shared execution role (none: the function gets its
    own); `with_code` false: all but the package (the preflight plans before anything is built)."""
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
        if with_code:
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
    shared: SharedCredentialsArgs,
    function: LambdaFunctionArgs | None,
) -> LambdaGatewayRouteArgs:
    """The validated settings of one function, as the composite's own inputs: `shared`, the stack's one identity
    (`shared_credentials_args`); `function`, the function's inputs (`function_args`; None for an existing one)."""
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
    if function is None:
        assert target.function.existing_arn is not None  # the config gives one or the other
        args["existing_function"] = target.function.existing_arn
    else:
        args["function"] = function
    args["shared_credentials"] = shared
    return args


def shared_credentials_args(
    settings: StackSettings,
    secret_name: pulumi.Output[str | None] | str | None,
    invoke_role_arn: pulumi.Output[str | None] | str | None,
) -> SharedCredentialsArgs:
    """What each composite takes from the stack's one identity: its Secret's name or its role, by mode."""
    mode = settings.credentials.mode
    return cast(
        SharedCredentialsArgs,
        _present(
            secret_name=secret_name if mode in ("generated", "provided") else None,
            assume_role_arn=invoke_role_arn if mode == "assume-role" else None,
        ),
    )


def gateway_credentials_args(settings: StackSettings) -> GatewayCredentialsArgs:
    """The stack's one identity's inputs: every routed function, by name or ARN, with the qualifier invoked."""
    account = settings.targets[0].backend.account_id
    functions = [
        {
            "function": target.function.existing_arn or target.function.name,
            "qualifier": target.function.alias or target.backend.qualifier or "$LATEST",
        }
        for target in settings.targets
    ]
    gw = settings.gateway
    return cast(
        GatewayCredentialsArgs,
        {
            **credentials_options(settings.credentials),
            "functions": functions,
            "namespace": settings.targets[0].backend.namespace,
            **({"account_id": account} if account else {}),
            "gateway_name": gw.gateway_name,
            "gateway_namespace": gw.gateway_namespace,
        },
    )
