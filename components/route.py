"""A Gateway API `HTTPRoute` to a kgateway Lambda `Backend`, with the ReferenceGrant a cross-namespace route needs."""

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

import pulumi

from .backend import KgatewayRelease
from .cluster_reads import ClusterReads
from .gateway_api_objects import (
    LAMBDA_INIT_LIMIT_S,
    http_route_manifest,
    reference_grant_manifest,
    route_request_timeout,
)
from .inputs import checked_inputs
from .k8s_objects import awaited_resources, custom_resource
from .kgateway_api import AUTO
from .protection_checks import check_protection_args
from .protection_inputs import RouteProtectionArgs
from .protection_spec import policy_kinds
from .route_limits import ENVOY_STREAM_IDLE_DEFAULT_S, LAMBDA_MAX_TIMEOUT_S, duration_seconds, stream_idle_timeout
from .tokens import component_options, token
from .traffic_policy import TRAFFIC_POLICY_SUPPORT, first_line_with, protection_problems
from .validation import (
    DNS_LABEL_RE,
    DNS_LABEL_RULE,
    DNS_SUBDOMAIN_RE,
    DNS_SUBDOMAIN_RULE,
    DURATION_RE,
    HEADER_NAME_RE,
    HOSTNAME_RE,
    HTTP_METHODS,
    MAX_HEADER_VALUE,
    MAX_HEADERS,
    MAX_HOSTNAME,
    MAX_HOSTNAMES,
    InputChecker,
    dns_label_for,
    path_problem,
    plain,
    regex_problem,
    subdomain_cut,
    whole,
)


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
    protection: NotRequired[RouteProtectionArgs]
    """Who may call the route (API keys, JWT, CORS, rate limit, IP allow list, timeout, retry): one TrafficPolicy,
    created before the route; its `timeout` is the route rule's timeouts.request."""
    kgateway_version: NotRequired[KgatewayRelease]
    """What the protection may use: auto reads the cluster's TrafficPolicy CRD (the default), or a release line."""
    crds_ready: NotRequired[pulumi.Input[str]]
    """auto: an output of what installs kgateway's CRDs in the same program that is unknown while it changes (e.g. its
    Helm release's status, as text); an id stays known through an upgrade."""
    max_request_size: NotRequired[str]
    (
        "The largest request body, a quantity such as 6Mi: `buffer.maxRequestSize` in the route's one TrafficPolicy "
        "(kgateway v2.1+; without it a Lambda route's cap is Envoy's 1Mi buffer limit)."
    )


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
    headers = args.get("headers") or {}
    for header, value in headers.items():
        if (
            not HEADER_NAME_RE.match(str(header))
            or not isinstance(value, str)
            or not 1 <= len(value) <= MAX_HEADER_VALUE
        ):
            checker.fail(
                f"{prefix}headers",
                {header: value},
                f"must map header names to values of 1 to {MAX_HEADER_VALUE} characters",
                "x-env: dev",
            )
    if len({str(header).lower() for header in headers}) < len(headers):
        checker.fail(f"{prefix}headers", headers, "must name each header once (names ignore case)", "x-env: dev")
    if len(headers) > MAX_HEADERS:
        checker.fail(f"{prefix}headers", f"[{len(headers)} headers]", f"must be at most {MAX_HEADERS}", "x-env: dev")
    hostnames = args.get("hostnames") or []
    if len(hostnames) > MAX_HOSTNAMES:
        checker.fail(
            f"{prefix}hostnames", f"[{len(hostnames)} hostnames]", f"must be at most {MAX_HOSTNAMES}", "api.example.com"
        )
    for hostname in hostnames:
        checker.pattern(
            f"{prefix}hostnames",
            hostname,
            HOSTNAME_RE,
            "must be DNS names, optionally '*.'-prefixed",
            "api.example.com",
        )
        if isinstance(hostname, str) and len(hostname) > MAX_HOSTNAME:
            checker.fail(
                f"{prefix}hostnames", hostname, f"must be at most {MAX_HOSTNAME} characters each", "api.example.com"
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
    if (protection := args.get("protection")) is not None:
        check_protection_args(checker, protection, f"{prefix}protection.")
    if (size := args.get("max_request_size")) is not None:
        check_protection_args(checker, {"max_request_size": size}, prefix)
        support = TRAFFIC_POLICY_SUPPORT.get(str(plain(args.get("kgateway_version"))))
        if support is not None and (problems := protection_problems(support, {"requestBody"})):
            checker.fail(f"{prefix}maxRequestSize", size, "; ".join(problems), "unset")


def route_stream_idle_timeout(request_timeout: str | None, line: str) -> str | None:
    """The route's `timeouts.streamIdle`: its request timeout where that outlasts Envoy's default stream idle
    timeout and the pinned line has the field (v2.1+); None elsewhere (`warn_about_stream_idle` says so)."""
    idle = stream_idle_timeout(request_timeout)
    support = TRAFFIC_POLICY_SUPPORT.get(line)
    return idle if support is not None and "streamIdle" in support.kinds else None


def warn_about_stream_idle(route_name: str, request_timeout: str | None, line: str) -> None:
    """Where the request timeout outlasts Envoy's default stream idle timeout but the line cannot set the route's
    (v2.0, `auto`): a warning that calls end at 300 s."""
    if stream_idle_timeout(request_timeout) is None or route_stream_idle_timeout(request_timeout, line) is not None:
        return
    why = (
        "kgatewayVersion auto cannot tell at plan time whether the cluster's TrafficPolicy has it"
        if line == AUTO
        else f"kgateway {line}'s TrafficPolicy has no timeouts.streamIdle (first in {first_line_with('streamIdle')})"
    )
    pulumi.log.warn(
        f"route {route_name}: its request timeout is {request_timeout}, but Envoy's stream idle timeout (5 minutes; "
        f"kgateway sets none) answers 408 to a call still unanswered after {ENVOY_STREAM_IDLE_DEFAULT_S} s; {why}. "
        f"With kgateway {first_line_with('streamIdle')} or newer and kgatewayVersion pinned to it, the route's idle "
        "timeout follows its request "
        f"timeout; until then calls end at {ENVOY_STREAM_IDLE_DEFAULT_S} s",
    )


def warn_about_timeout(route_name: str, protection: Mapping[str, Any] | None) -> None:
    """A `timeout` longer than every try Lambda can run (LAMBDA_MAX_TIMEOUT_S plus a cold start, once per try) is
    allowed (it changes nothing: Lambda ends each call first) but said, since it reads as if calls could run longer."""
    timeout = (protection or {}).get("timeout")
    if not isinstance(timeout, str) or not DURATION_RE.match(timeout):
        return
    retry = (protection or {}).get("retry")
    tries = 1 + ((whole(retry.get("attempts")) or 1) if isinstance(retry, Mapping) else 0)
    longest = duration_seconds(route_request_timeout(LAMBDA_MAX_TIMEOUT_S)) * tries
    if duration_seconds(timeout) > longest:
        pulumi.log.warn(
            f"route {route_name}: protection.timeout {timeout} is longer than Lambda can run "
            f"({'one call' if tries == 1 else f'{tries} tries'} of at most {LAMBDA_MAX_TIMEOUT_S} s plus a "
            f"{LAMBDA_INIT_LIMIT_S} s cold start: {int(longest)} s); the function's own timeout ends each call first"
        )


@dataclass(frozen=True)
class RoutePlan:
    """What a `LambdaRoute` registers, as plain objects: the component registers these and the program's preflight
    (program/preflight.py) checks these against the CRDs, so the object checked is the object deployed."""

    route_name: str
    namespace: str
    line: str
    """The kgateway line the protection is built for (`auto`: read from the cluster at deploy)."""
    wait: bool
    protection: RouteProtectionArgs | None
    """The route's protection, with `max_request_size` folded in (a field of the one policy)."""
    has_policy: bool
    """Whether the protection makes a TrafficPolicy (a `timeout` alone is the route rule's)."""
    request_timeout: str | None
    stream_idle_timeout: str | None
    reference_grant: dict[str, Any] | None
    """The grant a route in another namespace than its Backend's needs, or None."""
    http_route: dict[str, Any]


def route_plan(name: str, args: Mapping[str, Any]) -> RoutePlan:
    """The objects of the `LambdaRoute` named `name` with checked `args` (a Backend name may be an output)."""
    route_name = args.get("name") or dns_label_for(name)
    backend_namespace = args.get("backend_namespace") or "kgateway-system"
    namespace = args.get("namespace") or backend_namespace
    grant = None
    if backend_namespace != namespace:
        grant = reference_grant_manifest(
            name=subdomain_cut(f"{route_name}-from-{namespace}"),
            backend_namespace=backend_namespace,
            route_namespace=namespace,
            backend_name=args["backend_name"],
        )
    protection: RouteProtectionArgs | None = args.get("protection")
    if (size := args.get("max_request_size")) is not None and not (protection or {}).get("max_request_size"):
        protection = {**(protection or {}), "max_request_size": size}  # a field of the one policy
    wait = args.get("wait_for_acceptance", True) is not False
    line = plain(args.get("kgateway_version")) or AUTO
    request_timeout = (protection or {}).get("timeout")
    idle = route_stream_idle_timeout(request_timeout, line)
    http_route = http_route_manifest(
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
        wait=wait,
        request_timeout=request_timeout,
        cors=(protection or {}).get("cors") is not None,
    )
    return RoutePlan(
        route_name=route_name,
        namespace=namespace,
        line=line,
        wait=wait,
        protection=protection,
        has_policy=protection is not None and bool(policy_kinds(protection, idle)),
        request_timeout=request_timeout,
        stream_idle_timeout=idle,
        reference_grant=grant,
        http_route=http_route,
    )


class LambdaRoute(pulumi.ComponentResource):
    """The HTTPRoute that sends a Gateway path to a Lambda Backend."""

    route_name: pulumi.Output[str]
    """The HTTPRoute's name."""
    api_keys: pulumi.Output[dict[str, str] | None]
    """The route's current generated or provided API keys by client id (a secret; none without apiKeys)."""

    def __init__(
        self,
        name: str,
        args: LambdaRouteArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        cluster_reads: ClusterReads | None = None,
    ):
        """Python only: `cluster_reads`, the cluster's reads shared with the stack's other components
        (components/cluster_reads.py); without it, `auto` protection reads for this route alone."""
        args = checked_inputs("LambdaRoute", name, LambdaRouteArgs, args, check_route_args)
        super().__init__(token("LambdaRoute"), name, None, component_options("LambdaRoute", "kubernetes", opts))
        plan = route_plan(name, args)
        # What the component waits for (e.g. a Gateway the caller creates), the HTTPRoute waits for explicitly.
        depends_on = awaited_resources(opts)
        if plan.reference_grant is not None:
            child = pulumi.ResourceOptions(parent=self)
            depends_on.append(custom_resource(f"{name}-reference-grant", plan.reference_grant, child))
        warn_about_stream_idle(plan.route_name, plan.request_timeout, plan.line)
        warn_about_timeout(plan.route_name, plan.protection)
        if plan.protection is not None and plan.has_policy:
            # One TrafficPolicy per HTTPRoute, created (with its Secret and GatewayExtension) before the route.
            # Imported here: a stack without protection never loads it (nor pulumi-random; tests/test_scale.py).
            from .protection import RouteProtection

            guard = RouteProtection(
                f"{name}-protection",
                plan.protection,
                opts=pulumi.ResourceOptions(parent=self),
                route_name=plan.route_name,
                namespace=plan.namespace,
                kgateway_version=plan.line,
                wait=plan.wait,
                crds_ready=args.get("crds_ready"),
                cluster_reads=cluster_reads,
                stream_idle_timeout=plan.stream_idle_timeout,
            )
            depends_on.append(guard.policy)
            self.api_keys = guard.api_keys
        else:
            guard = None
            self.api_keys = pulumi.Output.from_input(None)
        route = custom_resource(
            f"{name}-httproute", plan.http_route, pulumi.ResourceOptions(parent=self, depends_on=depends_on)
        )
        if guard is not None:  # `pulumi up` then waits until kgateway accepted the route's policy, too
            guard.await_acceptance(route)
        route_name = plan.route_name
        self.route_name = route.urn.apply(lambda _: route_name)
        self.register_outputs({"route_name": self.route_name, "api_keys": self.api_keys})
