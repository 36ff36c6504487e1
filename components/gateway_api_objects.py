"""Gateway API objects and kgateway's GatewayParameters: the HTTPRoute to a Lambda Backend (its match and its
request timeout), the ReferenceGrant a cross-namespace route needs, and the Gateway the stack may create. Pure
functions from plain values to manifests, like components/kgateway_api.py (the line table and the Backend).
"""

from __future__ import annotations

from typing import Any

import pulumi

from .kgateway_api import (
    BACKEND_API_VERSION,
    BACKEND_GROUP,
    HTTPROUTE_API_VERSION,
    KGATEWAY_VERSIONS,
    _metadata,
    readiness_annotations,
)
from .readiness import SKIP_AWAIT, WAIT_FOR

# before the handler's own `timeout` starts (Lambda Developer Guide, "Understanding the Lambda execution environment
# lifecycle": "The Init phase is limited to 10 seconds"), and the call to Lambda itself takes a moment: a synchronous
# route waits that long beyond the function's timeout, so the gateway never answers 504 while the function runs.
LAMBDA_INIT_LIMIT_S = 10
ROUTE_TIMEOUT_MARGIN_S = 1


def route_request_timeout(function_timeout_s: int) -> str:
    """The HTTPRoute rule's `timeouts.request` for a synchronously invoked function: its timeout, plus a cold
    start's Init phase and a second; in Gateway API's duration form (`^([0-9]{1,5}(h|m|s|ms)){1,4}$`, every line's
    HTTPRoute CRD: 1 to 5 digits per part, so seconds alone cover Lambda's 900 s)."""
    return f"{function_timeout_s + LAMBDA_INIT_LIMIT_S + ROUTE_TIMEOUT_MARGIN_S}s"


def http_route_manifest(
    *,
    name: str,
    namespace: str,
    gateway_name: str,
    gateway_namespace: str,
    listener_name: str | None,
    path: str,
    backend_name: pulumi.Input[str],
    backend_namespace: str | None = None,
    match: str = "PathPrefix",
    methods: tuple[str, ...] = (),
    headers: tuple[tuple[str, str], ...] = (),
    hostnames: tuple[str, ...] = (),
    wait: bool = True,
    request_timeout: str | None = None,
    cors: bool = False,
) -> dict[str, Any]:
    """An `HTTPRoute` sending `path` on the Gateway (one match per method) to a kgateway Lambda `Backend`;
    `request_timeout`: the rule's `timeouts.request` (Gateway API duration; every kgateway line maps it; for a Sync
    function the composite's default is `route_request_timeout`); `cors`: the route's policy answers CORS
    preflights, so a route limited to `methods` also matches OPTIONS."""
    parent_ref: dict[str, Any] = {"name": gateway_name, "namespace": gateway_namespace}
    if listener_name is not None:
        parent_ref["sectionName"] = listener_name
    base: dict[str, Any] = {"path": {"type": match, "value": path}}
    if headers:
        base["headers"] = [{"type": "Exact", "name": header, "value": value} for header, value in headers]
    if cors and methods and "OPTIONS" not in methods:
        # A browser's preflight is an OPTIONS request. Envoy's CORS filter answers it from the policy of the route
        # the request matched (kgateway puts `cors` in the route's per-filter config, TRAFFICPOLICY.md §4), so an
        # OPTIONS that matches no rule never reaches it: the router answers 404 and the browser refuses the call.
        # A non-preflight OPTIONS now also matches; it passes auth like any other method.
        methods = (*methods, "OPTIONS")
    matches = [{**base, "method": method} for method in methods] if methods else [base]
    backend_ref: dict[str, Any] = {"group": BACKEND_GROUP, "kind": "Backend", "name": backend_name}
    if backend_namespace is not None and backend_namespace != namespace:
        backend_ref["namespace"] = backend_namespace
    spec: dict[str, Any] = {"parentRefs": [parent_ref]}
    if hostnames:
        spec["hostnames"] = list(hostnames)
    rule: dict[str, Any] = {"matches": matches, "backendRefs": [backend_ref]}
    if request_timeout is not None:
        rule["timeouts"] = {"request": request_timeout}
    spec["rules"] = [rule]
    return {
        "apiVersion": HTTPROUTE_API_VERSION,
        "kind": "HTTPRoute",
        "metadata": _metadata(name, namespace, readiness_annotations("HTTPRoute", KGATEWAY_VERSIONS["main"], wait)),
        "spec": spec,
    }


REFERENCE_GRANT_API_VERSION = "gateway.networking.k8s.io/v1beta1"


def reference_grant_manifest(
    *, name: str, backend_namespace: str, route_namespace: str, backend_name: pulumi.Input[str]
) -> dict[str, Any]:
    """Lets HTTPRoutes in `route_namespace` reference exactly one Backend in `backend_namespace`."""
    return {
        "apiVersion": REFERENCE_GRANT_API_VERSION,
        "kind": "ReferenceGrant",
        "metadata": {"name": name, "namespace": backend_namespace},
        "spec": {
            "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": route_namespace}],
            "to": [{"group": BACKEND_GROUP, "kind": "Backend", "name": backend_name}],
        },
    }


GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1"


def gateway_manifest(
    *,
    name: str,
    namespace: str,
    port: int,
    listener_name: str,
    route_namespaces: tuple[str, ...],
    wait: bool = True,
    gateway_parameters: str | None = None,
) -> dict[str, Any]:
    """The guide's `http` Gateway: class kgateway, one HTTP listener, routes only from the namespaces that have them;
    with `gateway_parameters`, the proxy is configured by those kgateway GatewayParameters (irsa)."""
    if set(route_namespaces) <= {namespace}:
        allowed: dict[str, Any] = {"from": "Same"}
    else:
        allowed = {
            "from": "Selector",
            "selector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": sorted(set(route_namespaces))}
                ]
            },
        }
    annotations = {WAIT_FOR: "condition=Accepted"} if wait else {SKIP_AWAIT: "true"}
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "Gateway",
        "metadata": _metadata(name, namespace, annotations),
        "spec": {
            "gatewayClassName": "kgateway",
            # The proxy takes its settings (e.g. the IRSA role annotation) from these GatewayParameters.
            **(
                {
                    "infrastructure": {
                        "parametersRef": {
                            "group": BACKEND_GROUP,
                            "kind": "GatewayParameters",
                            "name": gateway_parameters,
                        }
                    }
                }
                if gateway_parameters is not None
                else {}
            ),
            "listeners": [
                {"name": listener_name, "protocol": "HTTP", "port": port, "allowedRoutes": {"namespaces": allowed}}
            ],
        },
    }


def gateway_parameters_manifest(
    *, name: str, namespace: str, annotations: dict[str, pulumi.Input[str]]
) -> dict[str, Any]:
    """kgateway `GatewayParameters` that annotate the proxy's ServiceAccount (e.g. with an IRSA role)."""
    return {
        "apiVersion": BACKEND_API_VERSION,
        "kind": "GatewayParameters",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"kube": {"serviceAccount": {"extraAnnotations": annotations}}},
    }
