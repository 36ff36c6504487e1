"""A Gateway API `HTTPRoute` to a kgateway Lambda `Backend`, with the ReferenceGrant a cross-namespace route needs."""

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

import pulumi

from .k8s_objects import awaited_resources, custom_resource
from .kgateway_api import (
    TRAFFIC_POLICY_SUPPORT,
    http_route_manifest,
    lambda_route_policy_manifest,
    protection_problems,
    reference_grant_manifest,
)
from .protection import DURATION_RE, DURATION_RULE
from .tokens import component_options, token
from .validation import (
    DNS_LABEL_RE,
    DNS_LABEL_RULE,
    DNS_SUBDOMAIN_RE,
    DNS_SUBDOMAIN_RULE,
    HEADER_NAME_RE,
    HOSTNAME_RE,
    HTTP_METHODS,
    InputChecker,
    dns_label_for,
    path_problem,
    plain,
    regex_problem,
)

# A Kubernetes quantity in binary or decimal units (what `buffer.maxRequestSize` takes as a string).
QUANTITY_RE = re.compile(r"^[0-9]+(Ki|Mi|Gi|k|M|G)?$")


class PathMatch(StrEnum):
    """How the route matches the request path."""

    PATH_PREFIX = "PathPrefix"
    """The path and everything below it (the default)."""
    EXACT = "Exact"
    """Exactly the path."""
    REGULAR_EXPRESSION = "RegularExpression"
    """A regular expression (RE2, as Envoy evaluates it)."""


class LambdaRouteArgs(TypedDict):
    """An HTTPRoute from a Gateway to a kgateway Lambda Backend."""

    # What the route matches (the same fields as the composite's RouteOptions; all of it must match).
    path: str
    """The path (an absolute path, or an RE2 expression for RegularExpression)."""
    match: NotRequired[PathMatch]
    """How the path matches (default PathPrefix)."""
    methods: NotRequired[list[str]]
    """HTTP methods, one match each (default: any method)."""
    headers: NotRequired[dict[str, str]]
    """Headers that must have exactly these values."""
    hostnames: NotRequired[list[str]]
    """Host names the route answers for (a leading `*.` matches any subdomain)."""
    backend_name: pulumi.Input[str]
    """The Backend the route sends to."""
    name: NotRequired[str]
    """Name of the HTTPRoute (default: the component's name as a DNS label)."""
    namespace: NotRequired[str]
    """Namespace of the HTTPRoute (default: the Backend's)."""
    backend_namespace: NotRequired[str]
    """Namespace of the Backend (default kgateway-system); another than the route's gets a ReferenceGrant."""
    gateway_name: NotRequired[str]
    """The Gateway the route attaches to (default http)."""
    gateway_namespace: NotRequired[str]
    """That Gateway's namespace (default kgateway-system)."""
    listener_name: NotRequired[str]
    """The Gateway's listener (sectionName) to attach to (default: every listener that allows the route)."""
    wait_for_acceptance: NotRequired[bool]
    """Wait until kgateway accepted the route and resolved its Backend (default true)."""
    request_timeout: NotRequired[str]
    """The rule's `timeouts.request`, a duration such as 71s (default: none, so Envoy's 15 s)."""
    max_request_size: NotRequired[str]
    """The largest request body, a quantity such as 6Mi, as a TrafficPolicy `buffer` (kgateway v2.2+; Envoy's cap
    without it is 1Mi)."""
    kgateway_version: NotRequired[str]
    """The kgateway line (v2.0 ... main) `max_request_size` is emitted for."""


def check_match_args(checker: InputChecker, args: Mapping[str, Any], prefix: str = "") -> None:
    """A route's match against Gateway API's CRD rules."""
    path = args.get("path")
    match = plain(args.get("match")) or PathMatch.PATH_PREFIX.value
    checker.choice(f"{prefix}match", match, [m.value for m in PathMatch])
    if not isinstance(path, str):
        checker.fail(f"{prefix}path", path, "is required: an absolute path", "/echo")
    elif match == PathMatch.REGULAR_EXPRESSION.value:
        if (problem := regex_problem(path)) is not None:
            checker.fail(f"{prefix}path", path, problem, "^/echo/[0-9]+$")
    elif (problem := path_problem(path)) is not None:
        checker.fail(f"{prefix}path", path, problem, "/echo")
    for method in args.get("methods") or []:
        checker.choice(f"{prefix}methods", method, HTTP_METHODS)
    for header, value in (args.get("headers") or {}).items():
        if not HEADER_NAME_RE.match(str(header)) or not isinstance(value, str) or len(value) > 4096:
            checker.fail(f"{prefix}headers", {header: value}, "must map header names to strings", "x-env: dev")
    for hostname in args.get("hostnames") or []:
        checker.pattern(
            f"{prefix}hostnames",
            hostname,
            HOSTNAME_RE,
            "must be DNS names, optionally '*.'-prefixed",
            "api.example.com",
        )


def check_route_args(checker: InputChecker, args: Mapping[str, Any], prefix: str = "") -> None:
    check_match_args(checker, args, prefix)
    checker.pattern(f"{prefix}name", args.get("name"), DNS_SUBDOMAIN_RE, DNS_SUBDOMAIN_RULE, "echo")
    for key, schema_name in (
        ("namespace", "namespace"),
        ("backend_namespace", "backendNamespace"),
        ("gateway_namespace", "gatewayNamespace"),
    ):
        checker.pattern(f"{prefix}{schema_name}", args.get(key), DNS_LABEL_RE, DNS_LABEL_RULE, "kgateway-system")
    checker.pattern(f"{prefix}gatewayName", args.get("gateway_name"), DNS_SUBDOMAIN_RE, DNS_SUBDOMAIN_RULE, "http")
    checker.pattern(f"{prefix}listenerName", args.get("listener_name"), DNS_SUBDOMAIN_RE, DNS_SUBDOMAIN_RULE, "http")
    checker.pattern(f"{prefix}requestTimeout", args.get("request_timeout"), DURATION_RE, DURATION_RULE, "71s")
    size = args.get("max_request_size")
    if size is not None:
        checker.pattern(f"{prefix}maxRequestSize", size, QUANTITY_RE, "must be a quantity such as 6Mi or 512Ki", "6Mi")
        version = args.get("kgateway_version")
        support = TRAFFIC_POLICY_SUPPORT.get(str(version))
        if support is None:
            checker.fail(
                f"{prefix}kgatewayVersion",
                version,
                f"must name the kgateway line for maxRequestSize: one of {', '.join(TRAFFIC_POLICY_SUPPORT)}",
                "v2.2",
            )
        elif problems := protection_problems(support, {"requestBody"}):
            checker.fail(f"{prefix}maxRequestSize", size, "; ".join(problems), "unset")


class LambdaRoute(pulumi.ComponentResource):
    """The HTTPRoute that sends a Gateway path to a Lambda Backend."""

    route_name: pulumi.Output[str]
    """The HTTPRoute's name."""

    def __init__(self, name: str, args: LambdaRouteArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(token("LambdaRoute"), name, None, component_options("LambdaRoute", "kubernetes", opts))
        checker = InputChecker("LambdaRoute", name)
        check_route_args(checker, args)
        checker.required("backendName", args.get("backend_name"), "echo")
        checker.done()
        route_name = args.get("name") or dns_label_for(name)
        backend_namespace = args.get("backend_namespace") or "kgateway-system"
        namespace = args.get("namespace") or backend_namespace
        # What the component waits for (e.g. a Gateway the caller creates), the HTTPRoute waits for explicitly.
        depends_on = awaited_resources(opts)
        if backend_namespace != namespace:
            grant = reference_grant_manifest(
                name=f"{route_name}-from-{namespace}"[:253],
                backend_namespace=backend_namespace,
                route_namespace=namespace,
                backend_name=args["backend_name"],
            )
            depends_on.append(custom_resource(f"{name}-reference-grant", grant, pulumi.ResourceOptions(parent=self)))
        manifest = http_route_manifest(
            name=route_name,
            namespace=namespace,
            gateway_name=args.get("gateway_name") or "http",
            gateway_namespace=args.get("gateway_namespace") or "kgateway-system",
            listener_name=args.get("listener_name"),
            path=args["path"],
            backend_name=args["backend_name"],
            backend_namespace=backend_namespace,
            match=plain(args.get("match")) or PathMatch.PATH_PREFIX.value,
            methods=tuple(plain(m) for m in args.get("methods") or ()),
            headers=tuple(sorted((args.get("headers") or {}).items())),
            hostnames=tuple(args.get("hostnames") or ()),
            wait=args.get("wait_for_acceptance", True) is not False,
            request_timeout=args.get("request_timeout"),
        )
        if (size := args.get("max_request_size")) is not None:
            # Before the route (it waits for the policy), deleted after it: the route is never served without it.
            policy = lambda_route_policy_manifest(
                TRAFFIC_POLICY_SUPPORT[str(args.get("kgateway_version"))],
                route_name=route_name,
                namespace=namespace,
                max_request_size=size,
                wait=args.get("wait_for_acceptance", True) is not False,
            )
            depends_on.append(custom_resource(f"{name}-body-limit", policy, pulumi.ResourceOptions(parent=self)))
        route = custom_resource(
            f"{name}-httproute", manifest, pulumi.ResourceOptions(parent=self, depends_on=depends_on)
        )
        self.route_name = route.urn.apply(lambda _: route_name)
        self.register_outputs({"route_name": self.route_name})
