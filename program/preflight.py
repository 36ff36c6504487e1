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

from components.backend import backend_object, backend_values
from components.composite_plan import composite_plan
from components.credentials import irsa_gateway_parameters
from components.kgateway_api import KGATEWAY_VERSIONS
from components.protection_spec import ProtectionPlan, protection_plan
from components.route import route_plan
from components.traffic_policy import PROTECTION_FIELDS, TRAFFIC_POLICY_SUPPORT
from components.validation import dns_label_for
from program.component_args import (
    STACK_IDENTITY,
    composite_args,
    function_args,
    gateway_credentials_args,
    shared_credentials_args,
)
from program.config import PROJECT, Origin, Problem, RouteSettings, StackSettings, TargetSettings
from program.crd_validation import object_violations
from program.gateway import gateway_object

PLACEHOLDER_ACCOUNT = "123456789012"
PLACEHOLDER_ROLE = f"arn:aws:iam::{PLACEHOLDER_ACCOUNT}:role/kgateway-lambda-preflight"


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


def _protection_sources(route: RouteSettings, plan: ProtectionPlan) -> list[tuple[ObjectSource, dict[str, Any]]]:
    """The route's TrafficPolicy, and its JWT GatewayExtension with its remote JWKS's grant and TLS policy, as the
    component registers them (`protection_plan`); each refusal reported on the protection key the field comes
    from."""
    key, written = route.origins.get("protection", _flat("protection", None))
    raw: Mapping[str, Any] = written if isinstance(written, Mapping) else {}

    def origin(field: str) -> Origin:
        return (f"{key}.{field}", raw.get(field))

    by_segment = {field: origin(config) for field, config in _POLICY_FIELD_KEYS.items()}
    by_segment["timeouts"] = origin("timeout")  # the stream idle timeout follows the route's timeout
    found = [(ObjectSource(fallback=(key, "(set)"), by_segment=by_segment), plan.policy)]
    if plan.extension is not None:
        found.append((ObjectSource(fallback=origin("jwt")), plan.extension))
        found += [(ObjectSource(fallback=origin("jwt")), manifest) for manifest in plan.jwks_access]
    return found


def _derived(name: Origin, function: Origin) -> bool:
    """The route's name is made by the program (from the function, or the entry), not written by the user."""
    return name == function or not name[0].endswith((".name", ":routeName"))


def objects(settings: StackSettings) -> list[tuple[ObjectSource, dict[str, Any]]]:
    """(where in the config its fields come from, manifest) for every Kubernetes object the program would create:
    built by the components' own plans from the inputs the program gives them (program/component_args.py), with
    what only a deploy knows filled in. `auto`: main's shapes, checked against v2.4's and main's CRDs."""
    found: list[tuple[ObjectSource, dict[str, Any]]] = []
    credentials = settings.credentials
    shared = shared_credentials_args(settings, credentials.secret_name, PLACEHOLDER_ROLE)
    for target in settings.targets:
        name = target.resource_name or dns_label_for(target.function.name)
        function = None if target.function.existing_arn else function_args(target, with_code=False)
        plan = composite_plan(name, composite_args(target, settings, shared, function))
        backend_args = plan.backend_args(shared.get("secret_name"), shared.get("assume_role_arn"))
        values = backend_values(backend_args, region=settings.region, account_id=PLACEHOLDER_ACCOUNT)
        shape = target.backend.kgateway or KGATEWAY_VERSIONS["main"]
        found.append((_backend_source(settings, target), backend_object(name, backend_args, shape, values)))
        for route, (child_name, route_args) in zip(target.routes, plan.routes, strict=True):
            planned = route_plan(child_name, route_args)
            route_source = _route_source(route, target)
            found.append((route_source, planned.http_route))
            if planned.protection is not None and planned.has_policy:
                support = TRAFFIC_POLICY_SUPPORT.get(planned.line, TRAFFIC_POLICY_SUPPORT["main"])
                protection = protection_plan(
                    planned.protection,
                    planned.route_name,
                    planned.namespace,
                    support,
                    planned.wait,
                    planned.stream_idle_timeout,
                )
                found += _protection_sources(route, protection)
            if planned.reference_grant is not None:
                grant_source = ObjectSource(
                    fallback=route_source.by_segment["metadata.namespace"],
                    by_segment={
                        "metadata.name": route_source.by_segment["metadata.name"],
                        "to": route_source.by_segment["backendRefs"],
                    },
                    derived={"metadata.name": "ReferenceGrant name"},
                )
                found.append((grant_source, planned.reference_grant))
    gateway = settings.gateway
    if credentials.mode == "irsa":
        source = ObjectSource(
            fallback=_flat("gatewayParametersName", credentials.gateway_parameters_name),
            by_segment={"metadata.namespace": _flat("gatewayNamespace", gateway.gateway_namespace)},
        )
        parameters = irsa_gateway_parameters(STACK_IDENTITY, gateway_credentials_args(settings), PLACEHOLDER_ROLE)
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
        found.append((source, gateway_object(settings)))
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
