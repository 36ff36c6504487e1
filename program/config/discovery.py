"""`discover`: the functions of the account and region that carry a tag, routed like a `functionArn` each.

Two halves: the config key, read and checked with the rest of the config (`read_discovery`); and, once the
program has asked AWS which functions carry the tag (program/discovery.py, one paginated call of the Resource
Groups Tagging API), the targets those functions become (`discovered_targets`). Both report problems the way the
config reader does: the key (or the function and its tag), the value, what is allowed.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from components.route_limits import LAMBDA_MAX_TIMEOUT_S
from components.validation import FUNCTION_ARN_RE, TAG_KEY, dns_label_for, path_problem
from program.config.errors import ConfigError, Problem
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
FIELDS = ("tag", "namespace", "invocationMode")
EXAMPLE = "{tag: kgateway-lambda/route}"
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
    return DiscoverySettings(tag=tag, backend=backend, route_namespace=namespace, invocation_mode=mode)


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


def discovered_targets(settings: StackSettings, found: Sequence[FoundFunction]) -> tuple[TargetSettings, ...]:
    """A route-only target (Backend + HTTPRoute) for each found function the config does not route already.

    Raises ConfigError naming each found function whose tag value is no path, or whose path or name another
    route has: a bad tag is reported, never skipped."""
    discovery = settings.discovery
    assert discovery is not None
    configured_names = {t.function.name for t in settings.targets if t.function.existing_arn is None}
    configured_arns = {_unqualified(t.function.existing_arn) for t in settings.targets if t.function.existing_arn}
    # The found functions' routes go to their own namespace, or to the Backends' (with the Secret).
    namespace = discovery.route_namespace or discovery.backend.namespace
    taken = {t.backend.name for t in settings.targets} | {
        r.name for t in settings.targets for r in t.routes if (r.namespace or t.backend.namespace) == namespace
    }
    paths: dict[tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[tuple[str, str], ...]], str] = {
        (r.match, r.path, r.methods, r.hostnames, r.headers): _route_owner(t, r)
        for t in settings.targets
        for r in t.routes
    }
    problems: list[Problem] = []
    targets: list[TargetSettings] = []
    names: dict[str, str] = {}
    for function in sorted(found, key=lambda f: f.arn):
        arn = FUNCTION_ARN_RE.match(function.arn)
        if arn is None or arn["qualifier"]:
            problems.append(
                Problem(f"{PROJECT}:{KEY}", function.arn, "found something that is no unqualified function ARN", "")
            )
            continue
        name = arn["name"]
        if name in configured_names or function.arn in configured_arns:
            continue  # routed by its own entry, as configured there
        where = _origin(discovery, name)
        value = function.tags.get(discovery.tag, "")
        path = value or f"/{name}"
        signature = ("PathPrefix", path, (), (), ())
        object_name = kubernetes_name(name, taken)
        if (problem := path_problem(path)) is not None:
            allowed = f"the tag's value must be empty (route on /{name}) or a path; a path {problem}"
            problems.append(Problem(where, value, allowed, f"/{dns_label_for(name)}"))
        elif signature in paths:
            allowed = f"routes {path} as {paths[signature]} does already; give one of them another path (the tag)"
            problems.append(Problem(where, value, allowed, f"/{dns_label_for(name)}-2"))
        elif object_name in names:  # two hashes alike: vanishingly rare, but never two functions on one name
            allowed = f"would share the Kubernetes name {object_name!r} with function {names[object_name]}"
            problems.append(Problem(where, name, allowed + "; rename one of them", f"{name}-2"))
        else:
            paths[signature] = f"function {name} (found by tag)"
            names[object_name] = name
            origin: Origin = (where, value)
            targets.append(_target(settings, discovery, arn["account"], function.arn, origin, path, object_name))
    if problems:
        raise ConfigError(problems, settings.redactor)
    return tuple(targets)


def _unqualified(arn: str | None) -> str:
    """A function ARN without its version or alias (`...:function:echo:live` -> `...:function:echo`)."""
    match = FUNCTION_ARN_RE.match(arn or "")
    if match is None:
        return ""
    return f"arn:{match['partition']}:lambda:{match['region']}:{match['account']}:function:{match['name']}"


def _route_owner(target: TargetSettings, route: RouteSettings) -> str:
    key, _ = route.origins.get("path", (f"{PROJECT}:routePath", route.path))
    return f"{key.partition(':')[2]} (function {target.function.name})"


def _target(  # noqa: PLR0917 (one found function's facts, each named once)
    settings: StackSettings,
    discovery: DiscoverySettings,
    account: str,
    arn: str,
    origin: Origin,
    path: str,
    object_name: str,
) -> TargetSettings:
    name = arn.rsplit(":", 1)[1]
    mode = discovery.invocation_mode
    backend = dataclasses.replace(
        discovery.backend, name=object_name, account_id=account, qualifier=None, invocation_mode=mode
    )
    function = FunctionSettings(
        existing_arn=arn,
        name=name,
        source_dir=LAMBDA_SRC / DEFAULTS["functionSource"],
        runtime=DEFAULTS["runtime"],
        architecture=DEFAULTS["architecture"],
        memory_mb=int(DEFAULTS["memorySize"]),
        timeout_s=LONGEST_TIMEOUT_S,
        log_retention_days=int(DEFAULTS["logRetentionDays"]),
    )
    gateway = settings.gateway
    route = RouteSettings(
        name=object_name,
        path=path,
        gateway_name=gateway.gateway_name,
        gateway_namespace=gateway.gateway_namespace,
        listener_name=gateway.listener_name,
        namespace=discovery.route_namespace,
        origins={field: origin for field in ("path", "name", "namespace", "match")},
    )
    return TargetSettings(
        function, backend, (route,), {"name": origin, "backendName": origin}, resource_name=object_name
    )
