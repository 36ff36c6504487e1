"""The typed settings the config is read into: what the stack builds, and where each value came from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pulumi

from components.kgateway_api import (
    KgatewayVersion,
)
from program.config.errors import Redactor

CredentialsModeName = Literal["generated", "provided", "irsa", "assume-role"]


@dataclass(frozen=True)
class FunctionSettings:
    # An existing function to route (its ARN): nothing of the function is created.
    existing_arn: str | None
    name: str
    # The function's code: a folder (built by its kind) or a prebuilt .zip; None for an image or an existing function.
    source_dir: Path | None
    runtime: str
    architecture: str
    memory_mb: int
    timeout_s: int
    log_retention_days: int
    # Publish a version on each code change and point this alias at it; the Backend then invokes the alias.
    alias: str | None = None
    handler: str = "index.handler"
    package_type: Literal["Zip", "Image"] = "Zip"
    image_uri: str | None = None
    environment: tuple[tuple[str, str], ...] = ()
    # The function's entry of `secretEnvironment`: a Pulumi secret from config to the function, never plain.
    secret_environment: pulumi.Output[dict[str, str]] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CredentialsSettings:
    mode: CredentialsModeName
    secret_name: str
    rotation: str
    # generated: the rotation whose key stays valid beside the new one (no failing window during a rotation).
    previous_rotation: str | None = None
    access_key_id: pulumi.Output[str] | None = None
    secret_access_key: pulumi.Output[str] | None = None
    session_token: pulumi.Output[str] | None = None
    # irsa: the cluster's OIDC provider (ARN or issuer URL) and the GatewayParameters to create.
    oidc_provider: str | None = None
    gateway_parameters_name: str = "lambda-irsa"
    # assume-role: the gateway's ambient identity (e.g. its IRSA role) that may assume the invoke role.
    ambient_role_arn: str | None = None


@dataclass(frozen=True)
class BackendSettings:
    # None: `auto`, the shape is read from the cluster's Backend CRD at deploy time.
    kgateway: KgatewayVersion | None
    namespace: str
    name: str
    account_id: str | None
    qualifier: str | None
    invocation_mode: Literal["Sync", "Async"]
    # None: unset ("None" where the installed shape has the switch).
    payload_transform_mode: Literal["None", "Envoy"] | None
    endpoint_url: str | None
    # Annotate the Backend and HTTPRoute so `pulumi up` waits until kgateway accepted them.
    wait_for_acceptance: bool = True


# A setting's source: the config key the user wrote (or the key a derived value comes from) and its value there.
Origin = tuple[str, object]

PathMatch = Literal["PathPrefix", "Exact", "RegularExpression"]
PATH_MATCHES: tuple[str, ...] = ("PathPrefix", "Exact", "RegularExpression")


@dataclass(frozen=True)
class RouteSettings:
    name: str
    path: str
    gateway_name: str
    gateway_namespace: str
    listener_name: str | None
    match: PathMatch = "PathPrefix"
    methods: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    hostnames: tuple[str, ...] = ()
    # Namespace of the HTTPRoute; None: the Backend's (a different one gets a ReferenceGrant).
    namespace: str | None = None
    # Who may call it (the component's RouteProtectionArgs, provided keys as secret Outputs); None: open.
    protection: Mapping[str, Any] | None = field(default=None, compare=False)
    # Where each field comes from: field -> (the config key the user wrote, what they wrote there).
    origins: Mapping[str, Origin] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class TargetSettings:
    """One function, its Backend and the routes to it."""

    function: FunctionSettings
    backend: BackendSettings
    routes: tuple[RouteSettings, ...]
    # Where each field of the function and Backend comes from: field -> (config key, what the user wrote).
    origins: Mapping[str, Origin] = field(default_factory=dict, compare=False)
    # The composite's Pulumi name; None: derived from the function name (a found function's is its Backend name).
    resource_name: str | None = None


@dataclass(frozen=True)
class DiscoverySettings:
    """`discover`: route every function of the account and region that carries `tag` (found at deploy time)."""

    tag: str
    # What every found function's Backend shares (its name, account and invocation mode are each function's own).
    backend: BackendSettings
    # Namespace of the found functions' HTTPRoutes; None: the Backends' (`namespace`).
    route_namespace: str | None = None
    invocation_mode: Literal["Sync", "Async"] = "Sync"
    # The stack-wide `protection` (RouteProtectionArgs), every found route's; None: the stack protects no route.
    protection: Mapping[str, Any] | None = field(default=None, compare=False)
    # `discover.unprotected`: function name -> the one path on which that found function is served without the
    # stack's protection (the stack config's words only: a tag can never turn protection off).
    unprotected: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StackSettings:
    region: str
    targets: tuple[TargetSettings, ...]
    credentials: CredentialsSettings
    gateway_url: str | None
    # The Gateway every route attaches to (only its gateway_* and listener fields are meaningful).
    gateway: RouteSettings
    warnings: tuple[str, ...] = field(default=())
    # Create the Gateway itself (class kgateway, one HTTP listener on this port) instead of expecting it.
    create_gateway: bool = False
    gateway_port: int = 8080
    # One execution role for every function the stack creates, instead of one each (issue 11: IAM writes).
    shared_execution_role: bool = False
    # Functions found by tag at deploy time (their targets are added to `targets` then: program/discovery.py).
    discovery: DiscoverySettings | None = None
    # What keeps secret config values out of the preflight's messages too.
    redactor: Redactor = field(default_factory=Redactor, repr=False, compare=False)
