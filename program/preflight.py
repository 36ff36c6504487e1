"""The program's preflight: every Kubernetes object the stack would apply, validated against the real CRD of the
chosen kgateway line before any resource exists.

What only a deploy knows (the account id, ARNs, the IRSA role) is filled with values of the right form, so the
check is of what the config decides: names, paths, headers, hostnames, qualifiers, ports. A refusal names the
config key the object comes from, the object, and the API server's reason.
"""

from __future__ import annotations

from typing import Any

from components.kgateway_api import (
    KGATEWAY_VERSIONS,
    AssumeRoleAuth,
    LambdaTarget,
    SecretAuth,
    backend_manifest,
    gateway_manifest,
    gateway_parameters_manifest,
    http_route_manifest,
    reference_grant_manifest,
)
from program.config import PROJECT, Problem, StackSettings, TargetSettings
from program.crd_validation import object_errors

PLACEHOLDER_ACCOUNT = "123456789012"
PLACEHOLDER_ROLE = f"arn:aws:iam::{PLACEHOLDER_ACCOUNT}:role/kgateway-lambda-preflight"


def _backend(settings: StackSettings, target: TargetSettings) -> dict[str, Any]:
    backend, credentials = target.backend, settings.credentials
    auth: SecretAuth | AssumeRoleAuth | None = None
    if credentials.mode in ("generated", "provided"):
        auth = SecretAuth(credentials.secret_name)
    elif credentials.mode == "assume-role":
        auth = AssumeRoleAuth(PLACEHOLDER_ROLE)
    return backend_manifest(
        backend.kgateway or KGATEWAY_VERSIONS["main"],
        name=backend.name,
        namespace=backend.namespace,
        target=LambdaTarget(
            function_name=target.function.name,
            region=settings.region,
            account_id=backend.account_id or PLACEHOLDER_ACCOUNT,
            qualifier=target.function.alias or backend.qualifier,
            invocation_mode=backend.invocation_mode,
            payload_transform_mode=backend.payload_transform_mode,
            endpoint_url=backend.endpoint_url,
        ),
        auth=auth,
        wait=backend.wait_for_acceptance,
    )


def objects(settings: StackSettings) -> list[tuple[str, dict[str, Any]]]:
    """(config key it comes from, manifest) for every Kubernetes object the program would create."""
    many = len(settings.targets) > 1
    found: list[tuple[str, dict[str, Any]]] = []
    for index, target in enumerate(settings.targets):
        key = f"{PROJECT}:functions[{index}]" if many else f"{PROJECT}:functionName"
        found.append((key, _backend(settings, target)))
        for route in target.routes:
            namespace = route.namespace or target.backend.namespace
            route_key = f"{PROJECT}:routes ({route.name})" if many or len(target.routes) > 1 else f"{PROJECT}:routePath"
            found.append(
                (
                    route_key,
                    http_route_manifest(
                        name=route.name,
                        namespace=namespace,
                        gateway_name=route.gateway_name,
                        gateway_namespace=route.gateway_namespace,
                        listener_name=route.listener_name,
                        path=route.path,
                        backend_name=target.backend.name,
                        backend_namespace=target.backend.namespace,
                        match=route.match,
                        methods=route.methods,
                        headers=route.headers,
                        hostnames=route.hostnames,
                        wait=target.backend.wait_for_acceptance,
                    ),
                )
            )
            if namespace != target.backend.namespace:
                grant = reference_grant_manifest(
                    name=f"{route.name}-from-{namespace}"[:253],
                    backend_namespace=target.backend.namespace,
                    route_namespace=namespace,
                    backend_name=target.backend.name,
                )
                found.append((route_key, grant))
    credentials, gateway = settings.credentials, settings.gateway
    if credentials.mode == "irsa":
        parameters = gateway_parameters_manifest(
            name=credentials.gateway_parameters_name,
            namespace=gateway.gateway_namespace,
            annotations={"eks.amazonaws.com/role-arn": PLACEHOLDER_ROLE},
        )
        found.append((f"{PROJECT}:gatewayParametersName", parameters))
    if settings.create_gateway:
        found.append(
            (
                f"{PROJECT}:createGateway",
                gateway_manifest(
                    name=gateway.gateway_name,
                    namespace=gateway.gateway_namespace,
                    port=settings.gateway_port,
                    listener_name=gateway.listener_name or "http",
                    route_namespaces=tuple(
                        r.namespace or t.backend.namespace for t in settings.targets for r in t.routes
                    ),
                    gateway_parameters=credentials.gateway_parameters_name if credentials.mode == "irsa" else None,
                ),
            )
        )
    return found


def preflight_problems(settings: StackSettings) -> list[Problem]:
    """What the API server would refuse, as config problems; empty when every object passes its CRDs."""
    line = settings.targets[0].backend.kgateway
    line_name = line.name if line is not None else "auto"
    return [
        Problem(
            key,
            f"{manifest['kind']} {manifest['metadata']['name']}",
            f"would be refused by the API server ({error})",
            'see README "Config keys" for what each key allows',
        )
        for key, manifest in objects(settings)
        for error in object_errors(manifest, line_name)
    ]
