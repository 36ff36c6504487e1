"""The composite's plan: what a `LambdaGatewayRoute` decides from its inputs alone, before it registers anything:
its routes' names and Pulumi names, the Lambda limits each route gets, and the inputs of its Backend and of each
route. Pure: the component registers from this plan and the program's preflight (program/preflight.py) checks the
objects it leads to, so the object checked is the object deployed.
"""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .gateway_api_objects import route_request_timeout
from .route_limits import LAMBDA_MAX_TIMEOUT_S, envoy_mode_body_cap
from .traffic_policy import LAMBDA_SYNC_PAYLOAD, TRAFFIC_POLICY_SUPPORT
from .validation import FUNCTION_ARN_RE, InputChecker, dns_label_for, plain, whole


def route_match_signature(route: Mapping[str, Any]) -> str:
    """What makes two routes the same route (the same requests reach both, and only one is served): the match,
    path, methods, hostnames and headers, in any order. The stack's config (program/config/routes.py) and the
    composite refuse a second route with the signature of an earlier one by this one rule."""
    parts = [
        str(plain(route.get("match")) or "PathPrefix"),
        str(route.get("path")),
        ",".join(sorted(str(plain(m)) for m in route.get("methods") or ())),
        ",".join(sorted(route.get("hostnames") or ())),
        str(sorted((route.get("headers") or {}).items())),
    ]
    return "|".join(parts)


def default_route_name(component_label: str, index: int, route: Mapping[str, Any], *, whole: bool = False) -> str:
    """The first route takes the component's name; others add a hash of what they match (stable under reordering).

    `whole`: the hash covers hostnames, headers and namespace too (for a route that matches like an earlier one
    and differs only there; the shorter hash stays the default, so deployed routes keep their names)."""
    if index == 0 and not whole:
        return component_label
    parts = [
        str(plain(route.get("match")) or "PathPrefix"),
        str(route.get("path")),
        str(sorted(route.get("methods") or [])),
    ]
    if whole:
        parts += [
            str(sorted(route.get("hostnames") or [])),
            str(sorted((route.get("headers") or {}).items())),
            str(route.get("namespace")),
        ]
    signature = "|".join(parts)
    return f"{component_label[:55].rstrip('-')}-{hashlib.sha256(signature.encode()).hexdigest()[:6]}"


def route_child_name(component_name: str, route_name: str) -> str:
    """The LambdaRoute's Pulumi name: unique across composites (the composite's name, where it is missing)."""
    return route_name if route_name.startswith(component_name) else f"{component_name}-{route_name}"


def unique_route_names(name: str, label: str, routes: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each route's HTTPRoute name, unique within the composite (and so its LambdaRoute's Pulumi name); a given
    name that another route already has is refused, naming the input."""
    checker = InputChecker("LambdaGatewayRoute", name)
    taken: dict[str, int] = {}
    names = []
    for index, route in enumerate(routes):
        given = route.get("name")
        route_name = given or default_route_name(label, index, route)
        if not given and (route_name in taken or route_child_name(name, route_name) in taken):
            route_name = default_route_name(label, index, route, whole=True)
        for key in (route_name, route_child_name(name, route_name)):
            if key in taken:
                checker.fail(
                    f"routes[{index}].name" if given else f"routes[{index}]",
                    given or dict(route),
                    f"would be named {route_name!r} like routes[{taken[key]}]: each route of a composite needs its "
                    "own name (give a distinct name, or make the routes differ)",
                    f"{route_name}-2",
                )
                break
        taken[route_name] = taken[route_child_name(name, route_name)] = index
        names.append(route_name)
    checker.done()
    return names


def lambda_route_limits(args: Mapping[str, Any], backend_options: Mapping[str, Any]) -> dict[str, Any]:
    """What a route to a synchronously invoked function needs from the gateway: a request timeout that covers the
    function's own (a function made here: its timeout; one made elsewhere: Lambda's longest, LAMBDA_MAX_TIMEOUT_S),
    and bodies up to what Lambda takes in the Backend's payload mode where the pinned kgateway line has `buffer`
    (v2.1+; `auto` and v2.0 keep Envoy's 1 MiB): the body itself in pass-through, the body in base64 inside
    Envoy's JSON envelope in `Envoy` mode (`envoy_mode_body_cap`). Async calls return at once."""
    if plain(backend_options.get("invocation_mode")) == "Async":
        return {}
    function_timeout = whole(args["function"].get("timeout")) or 10 if "function" in args else LAMBDA_MAX_TIMEOUT_S
    limits: dict[str, Any] = {"timeout": route_request_timeout(function_timeout)}
    version = plain(backend_options.get("kgateway_version"))
    support = TRAFFIC_POLICY_SUPPORT.get(str(version))
    if support is not None and "requestBody" in support.kinds:
        envoy_mode = plain(backend_options.get("payload_transform_mode")) == "Envoy"
        limits["max_request_size"] = envoy_mode_body_cap() if envoy_mode else LAMBDA_SYNC_PAYLOAD
    return limits


def route_protection_with_limits(
    protection: Mapping[str, Any] | None, limits: Mapping[str, Any]
) -> dict[str, Any] | None:
    """A route's protection with the Lambda limits it does not set itself: the user's `timeout` and
    `maxRequestSize` win over the function's."""
    merged = dict(protection or {})
    for field in ("timeout", "max_request_size"):
        if field in limits and not merged.get(field):
            merged[field] = limits[field]
    return merged or None


def check_distinct_routes(checker: InputChecker, routes: Sequence[Mapping[str, Any]]) -> None:
    """A route that matches exactly what an earlier one matches is refused (`route_match_signature`): Gateway API
    serves the oldest of two identical matches, so the other would never be."""
    seen: dict[str, int] = {}
    for index, route in enumerate(routes):
        signature = route_match_signature(route)
        if signature in seen:
            checker.fail(
                f"routes[{index}]",
                dict(route),
                f"is routed twice with the same match, path, methods, headers and hostnames (also routes"
                f"[{seen[signature]}]); make each route distinct",
                "{path: /echo-v2}",
            )
        seen.setdefault(signature, index)


@dataclass(frozen=True)
class CompositePlan:
    """What a `LambdaGatewayRoute` decides from its checked inputs alone."""

    backend_name: str
    """The Backend's name (default: the component's name as a DNS label)."""
    namespace: str
    """The Backend's (and its Secret's) namespace."""
    function_name: str
    """The function's name (from its ARN for an existing one)."""
    existing: str | None
    """An existing function: its unqualified ARN, or its name; None: the composite creates the function."""
    account_id: Any
    region: str | None
    qualifier: str | None
    backend_options: Mapping[str, Any]
    routes: list[tuple[str, dict[str, Any]]]
    """Each route's LambdaRoute Pulumi name and inputs (naming the Backend by its plain name)."""

    def backend_args(self, secret_name: Any, assume_role_arn: Any) -> dict[str, Any]:
        """The Backend's inputs, with the credentials' Secret or role (an output, or None)."""
        args: dict[str, Any] = {
            key: value for key, value in self.backend_options.items() if key not in ("qualifier", "account_id")
        }
        args.update(name=self.backend_name, function_name=self.function_name, namespace=self.namespace)
        derived = {
            "qualifier": self.qualifier,
            "account_id": self.account_id,
            "region": self.region,
            "secret_name": secret_name,
            "assume_role_arn": assume_role_arn,
        }
        args.update({key: value for key, value in derived.items() if value is not None})
        return args


def composite_plan(name: str, args: Mapping[str, Any]) -> CompositePlan:
    """The plan of the `LambdaGatewayRoute` named `name` with checked `args` (`check_composite_args`; two routes
    with one name are refused here, naming the input)."""
    label = dns_label_for(name)
    given_route_names = unique_route_names(name, label, args.get("routes") or [])
    backend_options: Mapping[str, Any] = args.get("backend") or {}
    namespace = backend_options.get("namespace") or "kgateway-system"
    account_id: Any = backend_options.get("account_id")  # a string or an output
    region: str | None = None
    existing: str | None = None
    if "function" in args:
        function_name = str(args["function"]["function_name"])
        qualifier = args["function"].get("alias") or backend_options.get("qualifier")
    else:
        existing = str(args["existing_function"])
        arn = FUNCTION_ARN_RE.match(existing)
        if arn is not None:  # possibly another account or region: both come from the ARN
            # The ARN says where the function is: its account and region win over any default.
            function_name, account_id, region = arn["name"], arn["account"], arn["region"]
            existing = existing.rsplit(":", 1)[0] if arn["qualifier"] else existing
            qualifier = backend_options.get("qualifier") or arn["qualifier"]
        else:
            function_name = existing
            qualifier = backend_options.get("qualifier")
    # No `routes`: one route on /<function>; an empty list: a Backend without routes.
    routes: list[Mapping[str, Any]] = (
        list(args["routes"]) if "routes" in args else [{"path": f"/{dns_label_for(function_name)}"}]
    )
    route_names = given_route_names if "routes" in args else [label]
    backend_name = str(backend_options.get("name") or label)
    limits = lambda_route_limits(args, backend_options)
    planned = []
    for route, route_name in zip(routes, route_names, strict=True):
        route_args: dict[str, Any] = {key: value for key, value in route.items() if key != "name"}
        route_args.update(
            name=route_name,
            backend_name=backend_name,
            backend_namespace=namespace,
            namespace=route.get("namespace") or namespace,
            gateway_name=args.get("gateway_name") or "http",
            gateway_namespace=args.get("gateway_namespace") or "kgateway-system",
            wait_for_acceptance=backend_options.get("wait_for_acceptance", True) is not False,
        )
        if args.get("listener_name") is not None:
            route_args["listener_name"] = args["listener_name"]
        # A route's own protection replaces the composite's (`{}`: none); the line is the Backend's.
        # The rule's one timeouts.request and the policy's body limit: the function's (Sync), unless the
        # protection sets them.
        protection = route_protection_with_limits(route.get("protection", args.get("protection")), limits)
        if protection:
            route_args["protection"] = protection
            route_args["kgateway_version"] = backend_options.get("kgateway_version") or "auto"
            if backend_options.get("crds_ready") is not None:
                route_args["crds_ready"] = backend_options["crds_ready"]
        # Child names must be unique across composites: prefix the composite's name where it is missing.
        planned.append((route_child_name(name, route_name), route_args))
    return CompositePlan(
        backend_name=backend_name,
        namespace=namespace,
        function_name=function_name,
        existing=existing,
        account_id=account_id,
        region=region,
        qualifier=qualifier,
        backend_options=backend_options,
        routes=planned,
    )
