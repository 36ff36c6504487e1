"""Objects this stack did not make that it would collide with or be shadowed by (kgateway's Lambda guide, followed
by hand): refused before anything is created, in `pulumi preview` and `pulumi up` alike, with the cleanup commands.

Why refused and not adopted (docs/coming-from-the-guide.md): pulumi-kubernetes creates without taking over (a
create onto an existing name fails with AlreadyExists, and a preview drops that error:
pulumi/pulumi-kubernetes `provider/pkg/provider/provider.go` `Create`, "failedPreview" on
`apierrors.IsAlreadyExists` in server-side apply mode). Pulumi's `import` would replace the guide's Secret (other
keys), which the engine refuses for a resource that names an import ID (pulumi/pulumi
`pkg/resource/deploy/step_generator.go`, "previously-imported resources that still specify an ID may not be
replaced"); the guide's Backend and route have other names than this stack's.
Adopting with `upsertExistingObjects` would overwrite them, and `pulumi destroy` would delete what the user made.

What is checked, per kind, against the objects the API server holds that do not carry this project's labels
(`components.k8s_objects.COMMON_LABELS`; every object any kgateway-lambda stack makes carries them):
- the names this stack creates: the credentials Secret, each Backend and HTTPRoute, the Gateway with
  `createGateway` (a create onto one fails with AlreadyExists, after the identity was made);
- each route's requests: an HTTPRoute on the same Gateway that takes the request `verify` sends for a route of ours
  by Gateway API's precedence (the rules in `route_precedence`), so the route would never be reached.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pulumi

from components.credentials import rotation_secret_name
from components.k8s_objects import COMMON_LABELS
from program.cluster_lookup import ClusterLookup, ClusterLookupError, cluster_lookup
from program.config import PROJECT, RouteSettings, StackSettings

GATEWAY_GROUP = "gateway.networking.k8s.io"
BACKEND_GROUP = "gateway.kgateway.dev"
PART_OF = "app.kubernetes.io/part-of"
# Each kind as the guide's cleanup spells it (`kubectl delete HTTPRoute lambda`, `kubectl delete Backend lambda`,
# `kubectl delete secret aws-creds`), so the commands are the guide's own, word for word.
KUBECTL_KINDS = {
    "HTTPRoute": "HTTPRoute",
    "Backend": "Backend",
    "Secret": "secret",
    "GatewayParameters": "gatewayparameters",
    "Gateway": "gateway",
}


@dataclass(frozen=True)
class Found:
    """An object in the way: what it is, why, and what removes it or steps around it."""

    kind: str
    namespace: str
    name: str
    why: str
    instead: str
    # What else goes with it in the guide's cleanup (the Backend a shadowing route sends to, that Backend's Secret).
    with_it: tuple[tuple[str, str, str], ...] = ()


class GuideObjectsError(pulumi.RunError):
    """Objects this stack did not make are in its way; nothing was created."""

    def __init__(self, found: list[Found], created_functions: Iterable[str] = ()):
        self.found = found
        lines = [f"  - {i.kind} {i.namespace}/{i.name} {i.why}. Delete it (below), or {i.instead}" for i in found]
        functions = [
            f"  - function {name!r}: this stack creates it; if a function of that name exists (the guide's `echo`), "
            "it is refused next (the stack does not take it over): set functionArn to route it as it is, or delete "
            f"it: aws lambda delete-function --function-name {name} && aws logs delete-log-group --log-group-name "
            f"/aws/lambda/{name}"
            for name in created_functions
        ]
        super().__init__(
            f"{len(found)} object(s) in the cluster that this stack did not make are in its way (kgateway's Lambda "
            "guide, followed by hand?); nothing was created:\n"
            + "\n".join(lines)
            + "\nTo remove them (the guide's cleanup; first make sure nothing else uses them):\n"
            + "\n".join(f"  {command}" for command in cleanup_commands(found))
            + ("\nIn the account:\n" + "\n".join(functions) if functions else "")
            + '\nREADME "Coming from the guide" has the whole path.'
        )


def ours(found: dict[str, Any]) -> bool:
    """Made by a kgateway-lambda stack (the labels every one of its objects carries)."""
    labels = (found.get("metadata") or {}).get("labels") or {}
    return bool(labels.get(PART_OF) == COMMON_LABELS[PART_OF])


def cleanup_commands(found: Iterable[Found]) -> list[str]:
    """`kubectl delete` for each object, routes first, then Backends, then Secrets (the guide's own order)."""
    order = {"HTTPRoute": 0, "Backend": 1, "Secret": 2, "GatewayParameters": 3, "Gateway": 4}
    objects: set[tuple[str, str, str]] = set()
    for item in found:
        objects.add((item.kind, item.namespace, item.name))
        objects.update(item.with_it)
    ranked = sorted(objects, key=lambda o: (order[o[0]], o[1], o[2]))
    return [f"kubectl delete {KUBECTL_KINDS[kind]} {name} -n {namespace}" for kind, namespace, name in ranked]


def planned_names(settings: StackSettings) -> list[tuple[str, str, str, str, str]]:
    """(kind, namespace, name, config key, its value) of each object this stack creates under a fixed name that a
    guide follower may already have (the kinds the guides make; not the derived names of ReferenceGrants and
    protection objects, which no guide uses)."""
    names: list[tuple[str, str, str, str, str]] = []
    credentials = settings.credentials
    if credentials.mode in ("generated", "provided"):
        secret = rotation_secret_name(credentials.secret_name, credentials.rotation)
        namespace = settings.targets[0].backend.namespace
        names.append(("Secret", namespace, secret, "secretName", credentials.secret_name))
    if credentials.mode == "irsa":  # in the Gateway's namespace (components/credentials.py)
        parameters = credentials.gateway_parameters_name
        gateway_namespace = settings.gateway.gateway_namespace
        names.append(("GatewayParameters", gateway_namespace, parameters, "gatewayParametersName", parameters))
    for target in settings.targets:
        backend = target.backend
        names.append(("Backend", backend.namespace, backend.name, "backendName", backend.name))
        names.extend(
            ("HTTPRoute", route.namespace or backend.namespace, route.name, "routeName", route.name)
            for route in target.routes
        )
    if settings.create_gateway:
        gateway = settings.gateway
        names.append(("Gateway", gateway.gateway_namespace, gateway.gateway_name, "createGateway", "true"))
    return names


def name_collisions(settings: StackSettings, lookup: ClusterLookup) -> list[Found]:
    found: list[Found] = []
    for kind, namespace, name, key, value in planned_names(settings):
        existing = lookup.get(kind, namespace, name)
        if existing is None or ours(existing):
            continue
        if kind == "Gateway":
            instead = "keep createGateway false to attach the routes to it as it is"
        else:
            instead = f"set {PROJECT}:{key} (now {value!r}) to a name not taken"
        why = "exists: creating it fails with AlreadyExists (the Kubernetes provider creates, it does not take over)"
        found.append(Found(kind, namespace, name, why, instead))
    return found


@dataclass(frozen=True)
class Request:
    """The request `verify` sends for a route (program/verify_checks.py `verify_checks`): what a competing route
    must take."""

    path: str
    method: str
    host: str | None
    headers: dict[str, str]


def verify_request(route: RouteSettings) -> Request:
    """POST unless the route's methods leave it out; the Host of its first exact hostname (a wildcard's with
    `verify.` in front); the headers it matches on."""
    method = "POST" if not route.methods or "POST" in route.methods else route.methods[0]
    host = next((h for h in route.hostnames if not h.startswith("*.")), None)
    if host is None and route.hostnames:
        host = "verify." + route.hostnames[0][2:]
    return Request(route.path, method, host, dict(route.headers))


def _prefix_matches(prefix: str, path: str) -> bool:
    """Gateway API PathPrefix: element-wise, a trailing slash ignored (`/echo` matches `/echo` and `/echo/x`)."""
    prefix = prefix.rstrip("/")
    return not prefix or path == prefix or path.startswith(prefix + "/")


def _hostname_rank(hostnames: list[str], host: str | None) -> tuple[int, int] | None:
    """How specifically a route's hostnames match the request's host: (characters of a matching non-wildcard
    hostname, characters of a matching hostname); None when they do not match it; (0, 0) for no hostnames."""
    if not hostnames:
        return (0, 0)
    if host is None:
        return None
    ranks = [
        (len(h), len(h)) if h == host else (0, len(h))
        for h in hostnames
        if h == host or (h.startswith("*.") and host.endswith(h[1:]))
    ]
    return max(ranks) if ranks else None


def route_precedence(hostnames: list[str], match: dict[str, Any], request: Request) -> tuple[int, ...] | None:
    """The rank of one HTTPRoute match for `request` (higher wins), or None when it does not take the request.

    Gateway API (kubernetes-sigs/gateway-api v1.2.1 `apis/v1/httproute_types.go`, the CRD descriptions in
    program/crds/gateway-api-v1.2.1-httproutes.yaml): among intersecting hostnames, "the largest number of:
    Characters in a matching non-wildcard hostname. Characters in a matching hostname"; then "'Exact' path match.
    'Prefix' path match with largest number of characters. Method match. Largest number of header matches. Largest
    number of query param matches"; RegularExpression's precedence "is implementation-specific", so such a match is
    not ranked here. Ties between routes go to "The oldest Route based on creation timestamp", then "{namespace}/
    {name}" (`route_wins`).
    """
    host_rank = _hostname_rank(hostnames, request.host)
    if host_rank is None:
        return None
    path = match.get("path") or {"type": "PathPrefix", "value": "/"}
    kind, value = path.get("type", "PathPrefix"), str(path.get("value", "/"))
    if kind == "Exact" and value == request.path:
        path_rank = (2, len(value))
    elif kind == "PathPrefix" and _prefix_matches(value, request.path):
        path_rank = (1, len(value.rstrip("/")))
    else:
        return None
    method = match.get("method")
    if method is not None and method != request.method:
        return None
    headers = match.get("headers") or []
    if any(request.headers.get(h.get("name")) != h.get("value") for h in headers):
        return None
    if match.get("queryParams"):
        return None  # `verify` sends no query
    return (*host_rank, *path_rank, int(method is not None), len(headers), 0)


def route_wins(theirs: tuple[tuple[int, ...], str, str], ours_: tuple[tuple[int, ...], str, str]) -> bool:
    """(rank, creationTimestamp, "namespace/name"): the higher rank; on a tie the older; then alphabetical."""
    if theirs[0] != ours_[0]:
        return theirs[0] > ours_[0]
    if theirs[1] != ours_[1]:
        return theirs[1] < ours_[1]
    return theirs[2] < ours_[2]


def _attached(route: dict[str, Any], gateway: RouteSettings) -> bool:
    namespace = (route.get("metadata") or {}).get("namespace")
    for parent in (route.get("spec") or {}).get("parentRefs") or []:
        if (parent.get("group") or GATEWAY_GROUP) != GATEWAY_GROUP or (parent.get("kind") or "Gateway") != "Gateway":
            continue
        same_gateway = (
            parent.get("name") == gateway.gateway_name
            and (parent.get("namespace") or namespace) == gateway.gateway_namespace
        )
        listener = parent.get("sectionName")
        if same_gateway and (listener is None or gateway.listener_name is None or listener == gateway.listener_name):
            return True
    return False


def _best_rank(route: dict[str, Any], request: Request) -> tuple[int, ...] | None:
    spec = route.get("spec") or {}
    ranks = [
        rank
        for rule in spec.get("rules") or [{}]
        for match in rule.get("matches") or [{}]
        if (rank := route_precedence(list(spec.get("hostnames") or []), match, request)) is not None
    ]
    return max(ranks) if ranks else None


def _our_match(route: RouteSettings) -> dict[str, Any]:
    match: dict[str, Any] = {"path": {"type": route.match, "value": route.path}}
    if route.methods:
        match["method"] = "POST" if "POST" in route.methods else route.methods[0]
    if route.headers:
        match["headers"] = [{"name": name, "value": value} for name, value in route.headers]
    return match


def shadowing_routes(settings: StackSettings, lookup: ClusterLookup) -> list[Found]:
    """The HTTPRoutes of others that take a route's own requests (its `verify` request) on the same Gateway."""
    found: list[Found] = []
    routes = lookup.list("HTTPRoute")
    live = {f"{(r.get('metadata') or {}).get('namespace')}/{(r.get('metadata') or {}).get('name')}": r for r in routes}
    for target in settings.targets:
        for route in target.routes:
            if route.match == "RegularExpression":
                continue  # its precedence is implementation-specific: not ranked
            request = verify_request(route)
            namespace = route.namespace or target.backend.namespace
            own_key = f"{namespace}/{route.name}"
            own_rank = route_precedence(list(route.hostnames), _our_match(route), request)
            assert own_rank is not None  # a route takes its own request
            existing = live.get(own_key)
            # A route not created yet is the youngest of all.
            own_created = str((existing or {}).get("metadata", {}).get("creationTimestamp") or "9999")
            for other in routes:
                metadata = other.get("metadata") or {}
                key = f"{metadata.get('namespace')}/{metadata.get('name')}"
                if key == own_key or ours(other) or not _attached(other, route):
                    continue
                rank = _best_rank(other, request)
                created = str(metadata.get("creationTimestamp") or "")
                if rank is None or not route_wins((rank, created, key), (own_rank, own_created, own_key)):
                    continue
                found.append(
                    Found(
                        "HTTPRoute",
                        str(metadata.get("namespace")),
                        str(metadata.get("name")),
                        f"takes the requests of route {route.name!r} ({request.method} {route.path}) on Gateway "
                        f"{route.gateway_namespace}/{route.gateway_name} (Gateway API's precedence: as specific, and "
                        "older), so that route would never be reached",
                        f"set {PROJECT}:routePath (now {route.path!r}) to a path it does not take",
                        _sent_to(other, lookup),
                    )
                )
    return found


def _sent_to(route: dict[str, Any], lookup: ClusterLookup) -> tuple[tuple[str, str, str], ...]:
    """The Backends the route sends to that no stack of ours made, and the Secrets they sign with: the rest of the
    guide's objects, which its cleanup deletes with the route."""
    namespace = str((route.get("metadata") or {}).get("namespace"))
    found: list[tuple[str, str, str]] = []
    for rule in (route.get("spec") or {}).get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            if ref.get("group") != BACKEND_GROUP or ref.get("kind") != "Backend":
                continue
            backend_namespace = str(ref.get("namespace") or namespace)
            backend = lookup.get("Backend", backend_namespace, str(ref.get("name")))
            if backend is None or ours(backend):
                continue
            found.append(("Backend", backend_namespace, str(ref.get("name"))))
            secret = (((backend.get("spec") or {}).get("aws") or {}).get("auth") or {}).get("secretRef") or {}
            if secret.get("name"):
                held = lookup.get("Secret", backend_namespace, str(secret["name"]))
                if held is not None and not ours(held):
                    found.append(("Secret", backend_namespace, str(secret["name"])))
    return tuple(found)


def objects_in_the_way(settings: StackSettings, lookup: ClusterLookup) -> list[Found]:
    found = name_collisions(settings, lookup) + shadowing_routes(settings, lookup)
    unique = {(f.kind, f.namespace, f.name, f.why): f for f in found}
    return sorted(unique.values(), key=lambda f: (f.kind, f.namespace, f.name, f.why))


def refuse_objects_in_the_way(settings: StackSettings) -> None:
    """Before any resource is registered: refuse when objects of others are in the stack's way (see the module)."""
    with cluster_lookup() as lookup:
        if lookup is None:
            return
        try:
            found = objects_in_the_way(settings, lookup)
        except ClusterLookupError as error:
            pulumi.log.warn(
                f"could not look at the cluster for objects this stack would collide with ({error}): not checked; "
                "a Secret, Backend, HTTPRoute or Gateway of the same name then fails the `up` with AlreadyExists, and "
                "an older route on the same path and Gateway takes this stack's requests (README \"Coming from the "
                'guide")'
            )
            return
    if found:
        created = [t.function.name for t in settings.targets if t.function.existing_arn is None]
        raise GuideObjectsError(found, created)
