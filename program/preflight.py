"""The program's preflight: every Kubernetes object the stack would apply, validated against the real CRD of the
chosen kgateway line before any resource exists.

What only a deploy knows (the account id, ARNs, the IRSA role) is filled with values of the right form, so the
check is of what the config decides: names, paths, headers, hostnames, qualifiers, ports. A refusal names the
user's own key and entry (`routes[2].headers.x-team`) and value, the object and field, and the CRD's rule with its
limit, once however many CRD files state it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.gateway_api_objects import (
    gateway_manifest,
    gateway_parameters_manifest,
    http_route_manifest,
    reference_grant_manifest,
)
from components.kgateway_api import KGATEWAY_VERSIONS, AssumeRoleAuth, LambdaTarget, SecretAuth, backend_manifest
from components.lambda_gateway_route import lambda_route_limits, route_protection_with_limits
from components.protection_spec import jwks_access, policy_kinds, protection_objects
from components.route_limits import stream_idle_timeout
from components.traffic_policy import (
    PROTECTION_FIELDS,
    TRAFFIC_POLICY_SUPPORT,
    jwt_gateway_extension_manifest,
    traffic_policy_manifest,
)
from components.validation import subdomain_cut
from program.config import PROJECT, Origin, Problem, RouteSettings, StackSettings, TargetSettings
from program.crd_validation import object_violations

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


@dataclass(frozen=True)
class ObjectSource:
    """Where an object's fields come from in the user's config: path segment -> the key and value written there.

    A refusal of a field is reported on the deepest segment of its path found here, else on `fallback`."""

    fallback: Origin
    by_segment: Mapping[str, Origin] = field(default_factory=dict)
    # Inside `headers` / `hostnames`, the entry the user wrote for each index (`routes[2].headers.x-team`).
    by_item: Mapping[tuple[str, int], Origin] = field(default_factory=dict)
    # Fields whose value the program derives from what the user wrote (a name made from the function's name):
    # segment -> what the field is ("Backend name").
    derived: Mapping[str, str] = field(default_factory=dict)

    def locate(self, path: tuple[str | int, ...]) -> tuple[Origin, str | None]:
        """The user's key and value for a place in the object, and which derived field it is (if any)."""
        for depth in range(len(path), 0, -1):
            segment, after = path[depth - 1], path[depth : depth + 1]
            if isinstance(segment, str) and after and isinstance(after[0], int) and (segment, after[0]) in self.by_item:
                return self.by_item[(segment, after[0])], None
            if isinstance(segment, str):
                joined = ".".join(str(p) for p in path[:depth] if isinstance(p, str))
                for name in (joined, segment):
                    if name in self.by_segment:
                        return self.by_segment[name], self.derived.get(name)
        return self.fallback, None


def _flat(key: str, value: object) -> Origin:
    return (key if ":" in key else f"{PROJECT}:{key}", value)


def _backend_source(settings: StackSettings, target: TargetSettings) -> ObjectSource:
    origins = target.origins
    name = origins.get("name", _flat("functionName", target.function.name))
    backend_name = origins.get("backendName", name)
    qualifier = origins.get("qualifier", name)
    return ObjectSource(
        fallback=name,
        by_segment={
            "metadata.name": backend_name,
            "metadata.namespace": origins.get("namespace", _flat("namespace", target.backend.namespace)),
            "functionName": name,
            "qualifier": qualifier,
            "invocationMode": origins.get("invocationMode", name),
            "payloadTransformMode": origins.get("payloadTransformMode", name),
            "accountId": origins.get("accountId", name),
            "endpointURL": origins.get("endpointUrl", name),
            "region": _flat("aws:region", settings.region),
            "secretRef": origins.get("secretName", _flat("secretName", settings.credentials.secret_name)),
        },
        derived={"metadata.name": "Backend name"} if backend_name == name else {},
    )


def _route_source(route: RouteSettings, target: TargetSettings) -> ObjectSource:
    origins = route.origins
    function = target.origins.get("name", _flat("functionName", target.function.name))
    path = origins.get("path", _flat("routePath", route.path))
    headers_key = origins.get("headers", _flat("routeHeaders", dict(route.headers)))[0]
    hostnames_key = origins.get("hostnames", _flat("routeHostnames", list(route.hostnames)))[0]
    name = origins.get("name", function)
    backend = target.origins.get("backendName", function)
    derived = {"metadata.name": "HTTPRoute name"} if _derived(name, function) else {}
    if backend == function:
        derived["backendRefs"] = "Backend name"
    by_item: dict[tuple[str, int], Origin] = {
        ("headers", index): (f"{headers_key}.{header}", value) for index, (header, value) in enumerate(route.headers)
    }
    by_item.update(
        {("hostnames", index): (f"{hostnames_key}[{index}]", host) for index, host in enumerate(route.hostnames)}
    )
    return ObjectSource(
        fallback=path,
        by_segment={
            "metadata.name": name,
            "metadata.namespace": origins.get("namespace", _flat("routeNamespace", route.namespace)),
            "path": path,
            "path.type": origins.get("match", path),
            "method": origins.get("methods", path),
            "matches": origins.get("methods", path),
            "headers": origins.get("headers", path),
            "hostnames": (hostnames_key, list(route.hostnames)),
            "parentRefs": _flat("gatewayName", route.gateway_name),
            "parentRefs.namespace": _flat("gatewayNamespace", route.gateway_namespace),
            "parentRefs.sectionName": _flat("gatewayListener", route.listener_name),
            "backendRefs": backend,
        },
        by_item=by_item,
        derived=derived,
    )


# Where each TrafficPolicy field comes from in a `protection` mapping: its top-level spec field -> the kind.
_POLICY_FIELD_KEYS = {field.split(".")[0]: kind for kind, field in PROTECTION_FIELDS.items()}


def _protection_objects(  # noqa: PLR0917 (the route's facts, each named once)
    route: RouteSettings,
    protection: Mapping[str, Any],
    namespace: str,
    line: str,
    wait: bool,
    stream_idle: str | None = None,
) -> list[tuple[ObjectSource, dict[str, Any]]]:
    """The route's TrafficPolicy, JWT GatewayExtension and its JWKS's grant and TLS policy as the component emits
    them (auto: main's shape, checked against v2.4's and main's CRDs); each refusal reported on the protection key
    the field comes from.
    `protection`: the route's, with the body limit the composite adds (components/lambda_gateway_route.py)."""
    if not protection or not policy_kinds(protection, stream_idle):
        return []
    key, written = route.origins.get("protection", _flat("protection", None))
    raw: Mapping[str, Any] = written if isinstance(written, Mapping) else {}

    def origin(field: str) -> Origin:
        return (f"{key}.{field}", raw.get(field))

    spec, provider, _, extension_name = protection_objects(protection, route.name, stream_idle)
    support = TRAFFIC_POLICY_SUPPORT.get(line, TRAFFIC_POLICY_SUPPORT["main"])
    policy = traffic_policy_manifest(
        support,
        name=f"{route.name}-protection"[:253].rstrip("-."),
        namespace=namespace,
        route_name=route.name,
        protection=spec,
        wait=wait,
    )
    by_segment = {field: origin(config) for field, config in _POLICY_FIELD_KEYS.items()}
    by_segment["timeouts"] = origin("timeout")  # the stream idle timeout follows the route's timeout
    found = [(ObjectSource(fallback=(key, "(set)"), by_segment=by_segment), policy)]
    if provider is not None and extension_name is not None:
        extension = jwt_gateway_extension_manifest(support, name=extension_name, namespace=namespace, provider=provider)
        found.append((ObjectSource(fallback=origin("jwt")), extension))
        # The remote JWKS's ReferenceGrant and TLS policy (components/jwks_access.py), as the component emits them.
        found += [(ObjectSource(fallback=origin("jwt")), m) for m in jwks_access(provider, extension_name, namespace)]
    return found


def _derived(name: Origin, function: Origin) -> bool:
    """The route's name is made by the program (from the function, or the entry), not written by the user."""
    return name == function or not name[0].endswith((".name", ":routeName"))


def objects(settings: StackSettings) -> list[tuple[ObjectSource, dict[str, Any]]]:
    """(where in the config its fields come from, manifest) for every Kubernetes object the program would create."""
    found: list[tuple[ObjectSource, dict[str, Any]]] = []
    gateway = settings.gateway
    for target in settings.targets:
        found.append((_backend_source(settings, target), _backend(settings, target)))
        # What the composite gives each route to this function (components/lambda_gateway_route.py).
        limits = lambda_route_limits(
            {"function": {"timeout": target.function.timeout_s}} if target.function.existing_arn is None else {},
            {
                "invocation_mode": target.backend.invocation_mode,
                "kgateway_version": target.backend.kgateway.name if target.backend.kgateway else "auto",
                "payload_transform_mode": target.backend.payload_transform_mode,
            },
        )
        line = target.backend.kgateway.name if target.backend.kgateway is not None else "auto"
        for route in target.routes:
            namespace = route.namespace or target.backend.namespace
            route_source = _route_source(route, target)
            protection = route_protection_with_limits(route.protection, limits) or {}
            request_timeout = protection.get("timeout")
            found.append(
                (
                    route_source,
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
                        # The rule's one timeouts.request: the protection's, else the Sync function's own.
                        request_timeout=request_timeout,
                        cors=(route.protection or {}).get("cors") is not None,
                    ),
                )
            )
            support = TRAFFIC_POLICY_SUPPORT.get(line)
            idle = stream_idle_timeout(request_timeout)  # as components/route.py derives it, where the line has it
            idle = idle if support is not None and "streamIdle" in support.kinds else None
            found += _protection_objects(route, protection, namespace, line, target.backend.wait_for_acceptance, idle)
            if namespace != target.backend.namespace:
                grant = reference_grant_manifest(
                    name=subdomain_cut(f"{route.name}-from-{namespace}"),  # as components/route.py names it
                    backend_namespace=target.backend.namespace,
                    route_namespace=namespace,
                    backend_name=target.backend.name,
                )
                name = route_source.by_segment["metadata.name"]
                grant_source = ObjectSource(
                    fallback=route_source.by_segment["metadata.namespace"],
                    by_segment={"metadata.name": name, "to": route_source.by_segment["backendRefs"]},
                    derived={"metadata.name": "ReferenceGrant name"},
                )
                found.append((grant_source, grant))
    credentials = settings.credentials
    if credentials.mode == "irsa":
        parameters = gateway_parameters_manifest(
            name=credentials.gateway_parameters_name,
            namespace=gateway.gateway_namespace,
            annotations={"eks.amazonaws.com/role-arn": PLACEHOLDER_ROLE},
        )
        source = ObjectSource(
            fallback=_flat("gatewayParametersName", credentials.gateway_parameters_name),
            by_segment={"metadata.namespace": _flat("gatewayNamespace", gateway.gateway_namespace)},
        )
        found.append((source, parameters))
    if settings.create_gateway:
        source = ObjectSource(
            fallback=_flat("createGateway", True),
            by_segment={
                "metadata.name": _flat("gatewayName", gateway.gateway_name),
                "metadata.namespace": _flat("gatewayNamespace", gateway.gateway_namespace),
                "port": _flat("gatewayPort", settings.gateway_port),
                "listeners.name": _flat("gatewayListener", gateway.listener_name or "http"),
            },
        )
        found.append(
            (
                source,
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


def _place(path: tuple[str | int, ...]) -> str:
    """`spec.rules[0].matches[0].path.value`: where in the object, as kubectl explains it."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "the object"


def _at(manifest: Any, path: tuple[str | int, ...]) -> Any:
    """The object's value at a place (the value the rule refused; a place only the schema's defaults fill: None)."""
    for part in path:
        try:
            manifest = manifest[part]
        except (KeyError, IndexError, TypeError):
            return None
    return manifest


def _cut(value: Any, limit: int = 40) -> str:
    text = str(value)
    return text if len(text) <= limit else f"{text[: limit - 1]}…"


def _crd_names(files: list[str]) -> str:
    return ", ".join(name.removesuffix(".yaml") for name in files)


def preflight_problems(settings: StackSettings) -> list[Problem]:
    """What the API server would refuse, as config problems on the user's own keys and values, with the CRD rule
    and its limit; once per problem, however many CRD files (or objects) state the same rule."""
    line = settings.targets[0].backend.kgateway
    line_name = line.name if line is not None else "auto"
    problems: dict[tuple[str, str], Problem] = {}
    for source, manifest in objects(settings):
        kind, name = manifest["kind"], manifest["metadata"]["name"]
        for violation, files in object_violations(manifest, line_name).items():
            (key, value), derived = source.locate(violation.path)
            made = f" (the {derived} {_cut(_at(manifest, violation.path))!r} is derived from it)" if derived else ""
            allowed = (
                f"would be refused by the API server: {kind} {name!r} {_place(violation.path)} "
                f"{_worded(violation.rule)}{made} [{_crd_names(files)}]"
            )
            problems.setdefault(
                (key, violation.rule), Problem(key, value, allowed, 'see docs/configuration.md "Config keys"')
            )
    return settings.redactor.problems(problems.values())


def _worded(rule: str) -> str:
    """A CRD rule as the end of a sentence about a field."""
    return rule if rule.startswith(("must", "has")) else f"must be {rule}" if rule.startswith("at ") else f"({rule})"
