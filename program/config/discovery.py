"""`discover`: the functions of the account and region that carry a tag, routed like a `functionArn` each.

Two halves: the config key, read and checked with the rest of the config (`read_discovery`); and, once the
program has asked AWS which functions carry the tag (program/discovery.py, one paginated call of the Resource
Groups Tagging API), the targets those functions become (`discovered_targets`). Both report problems the way the
config reader does: the key (or the function and its tag), the value, what is allowed.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.route_limits import LAMBDA_MAX_TIMEOUT_S
from components.validation import FUNCTION_ARN_RE, FUNCTION_NAME, TAG_KEY, dns_label_for, path_problem
from program.config.errors import Problem
from program.config.functions import SharedBackend
from program.config.project import LAMBDA_SRC, PROJECT
from program.config.reader import DEFAULTS, Reader
from program.config.settings import (
    BackendSettings,
    DiscoverySettings,
    FunctionSettings,
    Origin,
    RouteSettings,
    StackSettings,
    TargetSettings,
)

KEY = "discover"
FIELDS = ("tag", "namespace", "invocationMode", "unprotected")
EXAMPLE = "{tag: kgateway-lambda/route}"
UNPROTECTED_EXAMPLE = "{status: /status}"
# Lambda's longest timeout (AWS Lambda Developer Guide, "Lambda quotas": 900 seconds). The tagging API does not
# return a function's configuration and one call per function is what discovery must not do, so a found function
# is taken to run as long as any can.
LONGEST_TIMEOUT_S = LAMBDA_MAX_TIMEOUT_S


def read_discovery(reader: Reader, shared: SharedBackend) -> DiscoverySettings | None:
    """The `discover` mapping, checked; None when unset."""
    value = reader.structured(KEY, dict)
    if value is None:
        return None
    full = f"{PROJECT}:{KEY}"
    unknown = sorted(str(k) for k in value if k not in FIELDS)
    if unknown:
        reader.problems.append(Problem(full, unknown, f"has unknown fields; allowed: {', '.join(FIELDS)}", EXAMPLE))
    tag = value.get("tag")
    if not isinstance(tag, str) or not TAG_KEY.pattern.match(tag):
        allowed = TAG_KEY.allowed if tag is not None else "is required: the tag key that marks a function to route"
        reader.problems.append(Problem(f"{full}.tag", tag, allowed, TAG_KEY.example))
        tag = TAG_KEY.example
    namespace = value.get("namespace")
    if namespace is not None and not (isinstance(namespace, str) and dns_label_for(namespace) == namespace):
        reader.problems.append(
            Problem(
                f"{full}.namespace",
                namespace,
                "must be a DNS label: at most 63 lower-case letters, digits and '-', starting and ending with a "
                "letter or digit",
                "team-a",
            )
        )
        namespace = None
    mode = value.get("invocationMode", "Sync")
    if mode not in ("Sync", "Async"):
        reader.problems.append(Problem(f"{full}.invocationMode", mode, "must be one of Sync, Async", "Sync"))
        mode = "Sync"
    unprotected = _read_unprotected(reader, value.get("unprotected", {}))
    backend = BackendSettings(
        kgateway=shared.kgateway,
        namespace=shared.namespace,
        name="",
        account_id=None,
        qualifier=None,
        invocation_mode="Sync",
        payload_transform_mode=None,
        endpoint_url=shared.endpoint_url,
        wait_for_acceptance=shared.wait_for_acceptance,
    )
    return DiscoverySettings(
        tag=tag, backend=backend, route_namespace=namespace, invocation_mode=mode, unprotected=unprotected
    )


def _read_unprotected(reader: Reader, value: object) -> dict[str, str]:
    """`discover.unprotected`: function name -> the exact path it may be served on without the stack's protection.

    The opt-out is the stack config's alone, and pinned to a path as well as a name: whoever may create or tag a
    function chooses both its name and its tag's value, so a name alone would let them open any path (a function
    of that name tagged `/echo/admin`). A found function whose tag says another path keeps the protection."""
    key = f"{PROJECT}:{KEY}.unprotected"
    if not isinstance(value, dict):
        reader.problems.append(
            Problem(key, value, "must map function names to the one path each is served on unprotected", "")
        )
        return {}
    unprotected: dict[str, str] = {}
    for name, path in value.items():
        if not FUNCTION_NAME.pattern.match(str(name)):
            reader.problems.append(Problem(f"{key}.{name}", name, FUNCTION_NAME.allowed, UNPROTECTED_EXAMPLE))
        elif not isinstance(path, str) or (problem := path_problem(path)) is not None:
            allowed = "must be the path the function's tag routes it on (its tag value, or /<function name>)"
            shown = problem if isinstance(path, str) and problem else "must be a string"
            reader.problems.append(Problem(f"{key}.{name}", path, f"{allowed}; a path {shown}", f"/{name}"))
        else:
            unprotected[str(name)] = path
    return unprotected


def with_stack_protection(
    discovery: DiscoverySettings, protection: Mapping[str, Any] | None, reader: Reader
) -> DiscoverySettings:
    """The discovery settings with the stack-wide `protection`, which every found route gets (docs/protection.md:
    `protection` applies to every route); `discover.unprotected` without it protects nothing to opt out of, and
    says so."""
    if protection is None:
        # Not refused (a stack may mean to publish every tagged function), but never silent.
        named = f" (so {KEY}.unprotected changes nothing)" if discovery.unprotected else ""
        reader.warnings.append(
            f"{PROJECT}:{KEY}: the stack has no `protection`, so every found route is open to anyone{named}: whoever "
            f"may tag a function with {discovery.tag!r} in the account publishes it, invoked with the gateway's "
            "identity; set `protection` to guard them"
        )
    return dataclasses.replace(discovery, protection=protection)


@dataclass(frozen=True)
class FoundFunction:
    """One function the tagging API returned: its ARN and its tags."""

    arn: str
    tags: Mapping[str, str]


def _origin(discovery: DiscoverySettings, function_name: str) -> str:
    """How a problem names a found function: the key that found it, the function and the tag."""
    return f"{PROJECT}:{KEY} (function {function_name}, tag {discovery.tag!r})"


def kubernetes_name(function_name: str, taken: Iterable[str] = ()) -> str:
    """The Backend and HTTPRoute name of a found function, a function of its own name alone where possible.

    A name that is already a DNS label keeps it (Lambda names are unique per account and region, so two such never
    clash). Any other name (upper case, `_`, longer than 63) is cut to a label plus 6 hex digits of its SHA-256:
    `My_Func` and `my-func` both make `my-func`, so the one that is not a label always carries the hash, whatever
    else is found. Only a name a configured function already uses makes a found label take the hash too.
    """
    label = dns_label_for(function_name)
    if label == function_name and label not in taken:
        return label
    digest = hashlib.sha256(function_name.encode()).hexdigest()[:6]
    return f"{label[:56].rstrip('-')}-{digest}"


@dataclass(frozen=True)
class PreviousRoute:
    """A found function's route as the previous `up` made it (the stack output `discovered`)."""

    arn: str
    path: str


@dataclass(frozen=True)
class Discovered:
    """What the found functions become: their targets, and a warning for each one skipped (and why)."""

    targets: tuple[TargetSettings, ...]
    warnings: tuple[str, ...]

    def routes(self) -> dict[str, dict[str, object]]:
        """Function name -> its ARN, path and whether the stack's protection covers it (the `discovered` output)."""
        return {
            t.function.name: {
                "arn": t.function.existing_arn,
                "path": t.routes[0].path,
                "protected": t.routes[0].protection is not None,
            }
            for t in self.targets
        }


@dataclass(frozen=True)
class _Candidate:
    arn: str
    account: str
    name: str
    value: str
    path: str
    object_name: str


def discovered_targets(
    settings: StackSettings, found: Sequence[FoundFunction], previous: Mapping[str, PreviousRoute] | None = None
) -> Discovered:
    """A route-only target (Backend + HTTPRoute) for each found function the config does not route already.

    A tag is anyone's who may tag a function, so nothing a tag says stops the `up` or takes a route from another:
    a function whose tag value is no path is skipped with a warning naming the function, the tag, the value and
    what is allowed; one whose path a configured route has is skipped (the config wins); where found functions
    share a path or a Kubernetes name, the one the previous `up` routed there keeps it (`previous`: the stack
    output `discovered`) and the others are skipped; with no such incumbent, none of them is routed (the first by
    ARN would let a new function take an existing route by its name)."""
    discovery = settings.discovery
    assert discovery is not None
    previous = previous or {}
    configured_names = {t.function.name for t in settings.targets if t.function.existing_arn is None}
    configured_arns = {_unqualified(t.function.existing_arn) for t in settings.targets if t.function.existing_arn}
    # The found functions' routes go to their own namespace, or to the Backends' (with the Secret).
    namespace = discovery.route_namespace or discovery.backend.namespace
    taken = {t.backend.name for t in settings.targets} | {
        r.name for t in settings.targets for r in t.routes if (r.namespace or t.backend.namespace) == namespace
    }
    configured_paths = {
        (r.match, r.path, r.methods, r.hostnames, r.headers): _route_owner(t, r)
        for t in settings.targets
        for r in t.routes
    }
    warnings: list[str] = []
    candidates: list[_Candidate] = []
    for function in sorted(found, key=lambda f: f.arn):
        arn = FUNCTION_ARN_RE.match(function.arn)
        if arn is None or arn["qualifier"]:
            warnings.append(
                f"{PROJECT}:{KEY}: skipped {function.arn!r}: the tagging API returned no unqualified function ARN"
            )
            continue
        name = arn["name"]
        if name in configured_names or function.arn in configured_arns:
            continue  # routed by its own entry, as configured there
        value = function.tags.get(discovery.tag, "")
        path = value or f"/{name}"
        if (problem := path_problem(path)) is not None:
            warnings.append(
                _skipped(
                    discovery,
                    name,
                    value,
                    f"the tag's value must be empty (route on /{name}) or a path; a path {problem}",
                )
            )
            continue
        owner = configured_paths.get(("PathPrefix", path, (), (), ()))
        if owner is not None:
            warnings.append(
                _skipped(discovery, name, value, f"{owner} routes {path} already; give the tag another path")
            )
            continue
        candidates.append(_Candidate(function.arn, arn["account"], name, value, path, kubernetes_name(name, taken)))
    keys: tuple[tuple[str, Callable[[_Candidate], str]], ...] = (
        ("path", lambda c: c.path),
        ("Kubernetes name", lambda c: c.object_name),
    )
    for what, key in keys:
        candidates = _one_per(candidates, key, what=what, discovery=discovery, previous=previous, warnings=warnings)
    targets = tuple(_target(settings, discovery, c, warnings) for c in candidates)
    return Discovered(targets, tuple(warnings))


def _skipped(discovery: DiscoverySettings, name: str, value: str, why: str) -> str:
    return f"{_origin(discovery, name)} = {value!r}: not routed: {why}"


def _one_per(
    candidates: list[_Candidate],
    key: Callable[[_Candidate], str],
    *,
    what: str,
    discovery: DiscoverySettings,
    previous: Mapping[str, PreviousRoute],
    warnings: list[str],
) -> list[_Candidate]:
    """The candidates with at most one per `key`: the incumbent (routed so by the previous `up`), else none."""
    groups: dict[str, list[_Candidate]] = {}
    for candidate in candidates:
        groups.setdefault(key(candidate), []).append(candidate)
    kept = []
    for candidate in candidates:
        group = groups[key(candidate)]
        incumbents = [
            c for c in group if (p := previous.get(c.name)) is not None and p.arn == c.arn and p.path == c.path
        ]
        if len(group) == 1 or (len(incumbents) == 1 and incumbents[0] is candidate):
            kept.append(candidate)
            continue
        others = ", ".join(c.name for c in group if c is not candidate)
        held = f"; {incumbents[0].name} keeps it (routed there before)" if len(incumbents) == 1 else ""
        warnings.append(
            _skipped(
                discovery, candidate.name, candidate.value, f"shares its {what} {key(candidate)!r} with {others}{held}"
            )
        )
    return kept


def _unqualified(arn: str | None) -> str:
    """A function ARN without its version or alias (`...:function:echo:live` -> `...:function:echo`)."""
    match = FUNCTION_ARN_RE.match(arn or "")
    if match is None:
        return ""
    return f"arn:{match['partition']}:lambda:{match['region']}:{match['account']}:function:{match['name']}"


def _route_owner(target: TargetSettings, route: RouteSettings) -> str:
    key, _ = route.origins.get("path", (f"{PROJECT}:routePath", route.path))
    return f"{key.partition(':')[2]} (function {target.function.name})"


def _target(
    settings: StackSettings, discovery: DiscoverySettings, found: _Candidate, warnings: list[str]
) -> TargetSettings:
    """One found function's Backend and route, under the stack-wide protection unless `discover.unprotected`
    names this function with exactly this path (the stack config's words; a tag can never turn it off)."""
    where = _origin(discovery, found.name)
    origin: Origin = (where, found.value)
    mode = discovery.invocation_mode
    backend = dataclasses.replace(
        discovery.backend, name=found.object_name, account_id=found.account, qualifier=None, invocation_mode=mode
    )
    function = FunctionSettings(
        existing_arn=found.arn,
        name=found.name,
        source_dir=LAMBDA_SRC / DEFAULTS["functionSource"],
        runtime=DEFAULTS["runtime"],
        architecture=DEFAULTS["architecture"],
        memory_mb=int(DEFAULTS["memorySize"]),
        timeout_s=LONGEST_TIMEOUT_S,
        log_retention_days=int(DEFAULTS["logRetentionDays"]),
    )
    protection = discovery.protection
    protection_origin: Origin = (f"{PROJECT}:protection", "(stack-wide)")
    opted_out = discovery.unprotected.get(found.name)
    if protection is not None and opted_out is not None:
        if opted_out == found.path:
            protection, protection_origin = None, (f"{PROJECT}:{KEY}.unprotected.{found.name}", opted_out)
        else:
            warnings.append(
                f"{PROJECT}:{KEY}.unprotected.{found.name} = {opted_out!r} but the tag {discovery.tag!r} routes it on "
                f"{found.path!r}: served there with the stack's protection"
            )
    gateway = settings.gateway
    route = RouteSettings(
        name=found.object_name,
        path=found.path,
        gateway_name=gateway.gateway_name,
        gateway_namespace=gateway.gateway_namespace,
        listener_name=gateway.listener_name,
        namespace=discovery.route_namespace,
        protection=protection,
        origins={
            **{field: origin for field in ("path", "name", "namespace", "match")},
            "protection": protection_origin,
        },
    )
    return TargetSettings(
        function, backend, (route,), {"name": origin, "backendName": origin}, resource_name=found.object_name
    )
