"""Pinned by kgateway's own tests (issue 27): for each feature this project emits, the object kgateway's own
translator, setup or e2e tests feed its translator on each release line (tests/data/kgateway-testdata, byte copies
with SOURCES.md) is compared field by field with what our builders emit for the same values, in the spirit of
kgateway's table-driven translator tests: one row per feature and line. A field we emit that kgateway's input never
sets, or one it sets that we do not, fails naming the upstream file, unless the row lists it with the reason."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.gateway_api_objects import http_route_manifest
from components.kgateway_api import KGATEWAY_VERSIONS, LambdaTarget, SecretAuth, backend_manifest
from components.protection import _encoded
from components.traffic_policy import (
    TRAFFIC_POLICY_SUPPORT,
    ApiKeyAuth,
    Cors,
    JwksBackend,
    JwtProvider,
    Retry,
    RouteProtectionSpec,
    TokenBucket,
    jwt_gateway_extension_manifest,
    traffic_policy_manifest,
)
from program.config import MappingConfigSource, load_settings
from program.crd_validation import object_errors
from program.preflight import objects
from tools.engine import stack_config

DATA = Path(__file__).parent / "data" / "kgateway-testdata"
# Upstream's folder per line -> our kgatewayVersion.
LINES = {"v2.0.0": "v2.0", "v2.1.x": "v2.1", "v2.2.x": "v2.2", "v2.3.x": "v2.3", "v2.4.x": "v2.4", "main": "main"}
Docs = list[dict[str, Any]]


def one(docs: Docs, kind: str, name: str | None = None) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    return found


def policy(line: str, protection: RouteProtectionSpec, route: str = "route") -> dict[str, Any]:
    return traffic_policy_manifest(
        TRAFFIC_POLICY_SUPPORT[line], name="p", namespace="ns", route_name=route, protection=protection
    )


@dataclass(frozen=True)
class Case:
    """One feature: upstream's part of its test input, and ours built from the same values."""

    name: str
    file: str
    upstream: Callable[[Docs], Any]
    ours: Callable[[Docs, str], Any]
    # Dotted paths (list items as `[]`) we emit and kgateway's input does not set, each with why.
    extra: dict[str, str] = field(default_factory=dict)
    # Dotted paths kgateway's input sets and we do not, each with why.
    missing: dict[str, str] = field(default_factory=dict)
    # Compare only names and types (our values differ by design, e.g. an allow list where upstream denies).
    shape_only: bool = False


def _lambda_target(spec: dict[str, Any]) -> LambdaTarget:
    aws = spec["aws"]
    lam = aws["lambda"]
    return LambdaTarget(
        function_name=lam["functionName"],
        region=aws.get("region", "us-east-1"),
        account_id=lam.get("accountId") or aws["accountId"],
        qualifier=lam.get("qualifier"),
        endpoint_url=lam.get("endpointURL"),
    )


def _backend(docs: Docs, line: str, name: str) -> Any:
    spec = one(docs, "Backend", name)["spec"]
    auth = spec["aws"].get("auth")
    secret = SecretAuth(auth["secretRef"]["name"]) if auth else None
    return backend_manifest(
        KGATEWAY_VERSIONS[line], name=name, namespace="gwtest", target=_lambda_target(spec), auth=secret
    )["spec"]


BACKEND_EXTRA = {
    "aws.region": "always stated (upstream relies on the CRD default us-east-1)",
    "aws.lambda.invocationMode": "always stated (Sync, the CRD default)",
    "aws.lambda.payloadTransformMode": "None, the guide's pass-through (upstream relies on the default Envoy)",
}
TYPE_OMITTED = {"type": "omitted from v2.4, where it is deprecated and the CEL rules guard it (UPSTREAM.md)"}


def _api_keys(docs: Docs, line: str) -> Any:
    keys = one(docs, "TrafficPolicy")["spec"]["apiKeyAuth"]
    ours = ApiKeyAuth(
        secret_name=keys["secretRef"]["name"],
        key_sources=tuple(next(iter(source.items())) for source in keys["keySources"]),
        forward_credential=keys.get("forwardCredential", False),
        client_id_header=keys.get("clientIdHeader"),
    )
    return policy(line, RouteProtectionSpec(api_keys=ours))["spec"]["apiKeyAuth"]


def _jwt_provider(upstream: dict[str, Any]) -> JwtProvider:
    remote = upstream["jwks"]["remote"]
    ref = remote["backendRef"]
    return JwtProvider(
        name=upstream["name"],
        issuer=upstream.get("issuer"),
        audiences=tuple(upstream.get("audiences") or ()),
        jwks_uri=remote["url"],
        jwks_backend=JwksBackend(
            name=ref["name"], kind=ref.get("kind", "Service"), namespace=ref.get("namespace"), port=ref.get("port")
        ),
        jwks_cache_duration=remote.get("cacheDuration"),
        claims_to_headers=tuple((c["name"], c["header"]) for c in upstream.get("claimsToHeaders") or ()),
    )


def _extension(docs: Docs, line: str) -> Any:
    upstream = one(docs, "GatewayExtension")
    provider = _jwt_provider(upstream["spec"]["jwt"]["providers"][0])
    ours = jwt_gateway_extension_manifest(
        TRAFFIC_POLICY_SUPPORT[line], name=upstream["metadata"]["name"], namespace="ns", provider=provider
    )
    return ours["spec"]["jwt"]["providers"][0]


def _upstream_provider(docs: Docs) -> Any:
    return one(docs, "GatewayExtension")["spec"]["jwt"]["providers"][0]


JWT_EXTRA = {
    "forwardToken": "always stated (false, the CRD default: the token does not reach the function)",
    "jwks.remote.backendRef.group": "always stated ('' for a Service)",
}


def _cors(docs: Docs, line: str) -> Any:
    cors = one(docs, "TrafficPolicy")["spec"]["cors"]
    ours = Cors(
        allow_origins=tuple(cors["allowOrigins"]),
        allow_methods=tuple(cors.get("allowMethods") or ()),
        allow_headers=tuple(cors.get("allowHeaders") or ()),
        expose_headers=tuple(cors.get("exposeHeaders") or ()),
        allow_credentials=cors.get("allowCredentials", False),
        max_age_seconds=cors.get("maxAge"),
    )
    return policy(line, RouteProtectionSpec(cors=ours))["spec"]["cors"]


def _rate_limit(docs: Docs, line: str) -> Any:
    bucket = one(docs, "TrafficPolicy")["spec"]["rateLimit"]["local"]["tokenBucket"]
    ours = TokenBucket(bucket["maxTokens"], bucket["tokensPerFill"], bucket["fillInterval"])
    return policy(line, RouteProtectionSpec(rate_limit=ours))["spec"]["rateLimit"]


def _upstream_retry(docs: Docs) -> Any:
    return one(docs, "TrafficPolicy", "example-route-retry-and-timeouts")["spec"]["retry"]


def _retry(docs: Docs, line: str) -> Any:
    retry = _upstream_retry(docs)
    ours = Retry(
        retry_on=tuple(retry["retryOn"]),
        attempts=retry["attempts"],
        per_try_timeout=retry.get("perTryTimeout"),
        backoff_base_interval=retry.get("backoffBaseInterval"),
    )
    return policy(line, RouteProtectionSpec(retry=ours))["spec"]["retry"]


def _buffer(docs: Docs, line: str) -> Any:
    size = one(docs, "TrafficPolicy", "buffer-policy")["spec"]["buffer"]["maxRequestSize"]
    return policy(line, RouteProtectionSpec(max_request_size=size))["spec"]["buffer"]


def _route_timeout(docs: Docs, line: str) -> Any:
    timeouts = one(docs, "HTTPRoute", "example-route-timeout")["spec"]["rules"][0]["timeouts"]
    route = http_route_manifest(
        name="r",
        namespace="ns",
        gateway_name="gw",
        gateway_namespace="ns",
        listener_name=None,
        path="/",
        backend_name="b",
        request_timeout=timeouts["request"],
    )
    return route["spec"]["rules"][0]["timeouts"]


def _route_backend_ref(docs: Docs, line: str) -> Any:
    upstream = one(docs, "HTTPRoute")["spec"]["rules"][0]["backendRefs"][0]
    route = http_route_manifest(
        name="lambda-route",
        namespace="gwtest",
        gateway_name="http-gw-for-test",
        gateway_namespace="gwtest",
        listener_name=None,
        path="/lambda/prod",
        backend_name=upstream["name"],
        backend_namespace="gwtest",
    )
    return route["spec"]["rules"][0]["backendRefs"][0]


def _ip_allow(docs: Docs, line: str) -> Any:
    return policy(line, RouteProtectionSpec(ip_allow=("192.168.0.0/16",)))["spec"]["acl"]


CASES = (
    Case(
        "Backend (Lambda, qualifier)",
        "lambda-qualifiers.yaml",
        lambda docs: one(docs, "Backend", "lambda-prod")["spec"],
        lambda docs, line: _backend(docs, line, "lambda-prod"),
        extra=BACKEND_EXTRA,
    ),
    Case(
        "Backend (Secret auth, endpointURL)",
        "lambda-custom-endpoint.yaml",
        lambda docs: one(docs, "Backend")["spec"],
        lambda docs, line: _backend(docs, line, one(docs, "Backend")["metadata"]["name"]),
        extra=BACKEND_EXTRA,
    ),
    Case(
        "HTTPRoute backendRef to a Backend",
        "lambda-qualifiers.yaml",
        lambda docs: one(docs, "HTTPRoute")["spec"]["rules"][0]["backendRefs"][0],
        _route_backend_ref,
    ),
    Case(
        "HTTPRoute timeouts.request",
        "httproute-timeout-retry-builtin.yaml",
        lambda docs: one(docs, "HTTPRoute", "example-route-timeout")["spec"]["rules"][0]["timeouts"],
        _route_timeout,
    ),
    Case(
        "apiKeyAuth (headers, client id header)",
        "api-key-auth.yaml",
        lambda docs: one(docs, "TrafficPolicy")["spec"]["apiKeyAuth"],
        _api_keys,
    ),
    Case(
        "apiKeyAuth (query)",
        "api-key-auth-query.yaml",
        lambda docs: one(docs, "TrafficPolicy")["spec"]["apiKeyAuth"],
        _api_keys,
    ),
    Case(
        "apiKeyAuth (cookie)",
        "api-key-auth-cookie.yaml",
        lambda docs: one(docs, "TrafficPolicy")["spec"]["apiKeyAuth"],
        _api_keys,
    ),
    Case(
        "apiKeyAuth's Secret (one entry per client id)",
        "api-key-auth.yaml",
        lambda docs: one(docs, "Secret")["stringData"],
        lambda docs, line: {
            client: base64.b64decode(value).decode()
            for client, value in _encoded(one(docs, "Secret")["stringData"]).items()
        },
    ),
    Case(
        "jwtAuth",
        "httproute-remote-jwks.yaml",
        lambda docs: one(docs, "TrafficPolicy")["spec"]["jwtAuth"],
        lambda docs, line: policy(line, RouteProtectionSpec(jwt_extension="jwt-ext-2"))["spec"]["jwtAuth"],
    ),
    Case(
        "GatewayExtension (remote JWKS, claims to headers)",
        "httproute-remote-jwks.yaml",
        _upstream_provider,
        _extension,
        extra={**JWT_EXTRA, "jwks.remote.backendRef.kind": "always stated (Service)"},
    ),
    Case(
        "GatewayExtension (remote JWKS in a named namespace, e2e)",
        "jwt-remote.yaml",
        _upstream_provider,
        _extension,
        extra=JWT_EXTRA,
    ),
    Case(
        "cors",
        "cors-trafficpolicy-route.yaml",
        lambda docs: one(docs, "TrafficPolicy")["spec"]["cors"],
        _cors,
    ),
    Case(
        "rateLimit.local",
        "local-rate-limit-route.yaml",
        lambda docs: one(docs, "TrafficPolicy")["spec"]["rateLimit"],
        _rate_limit,
    ),
    Case(
        "acl",
        "route-http-acl.yaml",
        lambda docs: one(docs, "TrafficPolicy")["spec"]["acl"],
        _ip_allow,
        extra={"rules[].name": "names the rule in kgateway's logs (the CRD's optional name)"},
        shape_only=True,
    ),
    Case(
        "retry",
        "timeout-retry.yaml",
        _upstream_retry,
        _retry,
        missing={"statusCodes": "never set: only the retryOn conditions the user chose, so a 4xx is never retried"},
    ),
    Case(
        "buffer",
        "buffer-route.yaml",
        lambda docs: one(docs, "TrafficPolicy", "buffer-policy")["spec"]["buffer"],
        _buffer,
    ),
)
TYPE_BY_LINE = {"v2.4", "main"}


def rows() -> list[Any]:
    found = []
    for case in CASES:
        for folder, line in LINES.items():
            if (DATA / folder / case.file).is_file():
                found.append(pytest.param(case, folder, line, id=f"{case.name}-{folder}"))
    return found


def drift(ours: Any, upstream: Any, case: Case, path: str = "") -> list[str]:
    """Every difference between our part and upstream's that the row does not explain."""
    here = (path or "(the whole part).").rstrip(".")
    if isinstance(ours, dict) and isinstance(upstream, dict):
        found = [
            f"we emit {path}{key} = {ours[key]!r}, which kgateway's input never sets"
            for key in sorted(ours.keys() - upstream.keys())
            if f"{path}{key}" not in case.extra
        ]
        found += [
            f"kgateway's input sets {path}{key} = {upstream[key]!r}, which we do not emit"
            for key in sorted(upstream.keys() - ours.keys())
            if f"{path}{key}" not in case.missing
        ]
        for key in sorted(ours.keys() & upstream.keys()):
            found += drift(ours[key], upstream[key], case, f"{path}{key}.")
        return found
    if isinstance(ours, list) and isinstance(upstream, list):
        pairs = [(item, upstream[0]) for item in ours] if case.shape_only else list(zip(ours, upstream, strict=False))
        found = (
            []
            if case.shape_only or len(ours) == len(upstream)
            else [f"{here}: {len(ours)} item(s), kgateway {len(upstream)}"]
        )
        item_path = f"{here}[]." if case.shape_only else path
        return found + [m for mine, theirs in pairs for m in drift(mine, theirs, case, item_path)]
    problem = None
    if type(ours) is not type(upstream):
        problem = f"{here}: we emit a {type(ours).__name__} ({ours!r}), kgateway a {type(upstream).__name__}"
    elif not case.shape_only and ours != upstream:
        problem = f"{here}: we emit {ours!r}, kgateway's input has {upstream!r}"
    return [problem] if problem else []


@pytest.mark.parametrize(("case", "folder", "line"), rows())
def test_what_we_emit_is_what_kgateways_own_tests_feed_its_translator(case: Case, folder: str, line: str) -> None:
    source = DATA / folder / case.file
    docs = [d for d in yaml.safe_load_all(source.read_text()) if d]
    upstream = case.upstream(docs)
    ours = case.ours(docs, line)
    if case.extra is BACKEND_EXTRA and line in TYPE_BY_LINE:
        case = Case(case.name, case.file, case.upstream, case.ours, case.extra, TYPE_OMITTED)
    problems = drift(ours, upstream, case)
    upstream_path = re.search(rf"^\| `{re.escape(f'{folder}/{case.file}')}` \| `([^`]+)`", SOURCES, re.M)
    assert problems == [], (
        f"{case.name} on {line} drifted from kgateway's {upstream_path[1] if upstream_path else case.file} "
        f"({folder}, tests/data/kgateway-testdata/SOURCES.md): " + "; ".join(problems)
    )


SOURCES = (DATA / "SOURCES.md").read_text()


def test_each_feature_kgateway_tests_on_a_line_is_one_we_emit_there() -> None:
    """Where kgateway's tests feed a line's translator a TrafficPolicy feature, that line's support has the kind:
    v2.1's CORS, buffer and retry were refused here until its own CRDs were found."""
    kind_of_file = {
        "cors-trafficpolicy-route.yaml": "cors",
        "timeout-retry.yaml": "retry",
        "buffer-route.yaml": "requestBody",
        "local-rate-limit-route.yaml": "rateLimit",
        "route-http-acl.yaml": "ipAllow",
        "api-key-auth.yaml": "apiKeys",
        "httproute-remote-jwks.yaml": "jwt",
    }
    for folder, line in LINES.items():
        for file, kind in kind_of_file.items():
            if (DATA / folder / file).is_file():
                assert kind in TRAFFIC_POLICY_SUPPORT[line].kinds, (kind, line, f"{folder}/{file}")


@pytest.mark.parametrize(("folder", "forwarded"), [("v2.1.x", True), ("v2.2.x", True), ("v2.3.x", False),
                                                    ("v2.4.x", False), ("main", False)])  # fmt: skip
def test_a_disallowed_origins_preflight_reaches_the_function_only_before_v2_3(folder: str, forwarded: bool) -> None:
    """program/crds/TRAFFICPOLICY.md §4 as kgateway's expected output says it: v2.3.x and later set
    forwardNotMatchingPreflights false (Envoy answers), older lines leave Envoy's default (forwarded)."""
    text = (DATA / folder / "cors-trafficpolicy-route-out.yaml").read_text()
    assert ("forwardNotMatchingPreflights: false" not in text) is forwarded
    claim = (Path(__file__).parents[1] / "program" / "crds" / "TRAFFICPOLICY.md").read_text()
    assert "Disallowed origin, **v2.1.x and v2.2.x**: the preflight is **forwarded upstream**" in claim
    assert (
        "Disallowed origin, **v2.3.x, v2.4.x and main**: kgateway sets `forwardNotMatchingPreflights: false`" in claim
    )


@pytest.mark.parametrize("case", [c for c in CASES if c.name.startswith(("cors", "retry", "buffer", "rateLimit"))])
def test_our_policy_for_kgateways_input_passes_each_lines_crd(case: Case) -> None:
    for folder, line in LINES.items():
        source = DATA / folder / case.file
        if not source.is_file():
            continue
        docs = [d for d in yaml.safe_load_all(source.read_text()) if d]
        part = case.ours(docs, line)
        field_name = {"cors": "cors", "retry": "retry", "buffer": "buffer", "rateLimit.local": "rateLimit"}[case.name]
        manifest = policy(line, RouteProtectionSpec())
        manifest["spec"][field_name] = part
        errors = object_errors(manifest, line)
        # kgateway's CORS input has origins v2.3's CRD refuses (`http://*`): the CRD, not our builder, decides.
        assert errors == [] or case.name == "cors", (case.name, folder, errors)


def test_the_kept_files_are_kgateways_as_copied() -> None:
    recorded = dict(
        re.findall(r"^\| `([^`]+)` \| `[^`]+` \| [^|]+ \| `[0-9a-f]{40}` \| `([0-9a-f]{64})` \|$", SOURCES, re.M)
    )
    kept = {str(p.relative_to(DATA)): hashlib.sha256(p.read_bytes()).hexdigest() for p in DATA.rglob("*.yaml")}
    assert kept and recorded == kept


# The TrafficPolicy fields a row above pins, and the upstream input of each (timeouts: kgateway's own
# `timeout-retry.yaml` sets `request` and `streamIdle` on a route's policy).
PINNED_POLICY_FIELDS = {
    "targetRefs",
    "apiKeyAuth",
    "jwtAuth",
    "cors",
    "rateLimit",
    "acl",
    "retry",
    "buffer",
    "timeouts",
}


@pytest.mark.parametrize(
    "stack", sorted(p.stem.split(".", 1)[1] for p in (Path(__file__).parents[1] / "stacks").glob("*.yaml"))
)
def test_every_policy_field_the_example_stacks_emit_is_pinned_by_a_kgateway_input(stack: str) -> None:
    """A new TrafficPolicy field (or a timeouts key) gets a row comparing it with kgateway's own test input."""
    config, secret_keys = stack_config(stack)
    settings = load_settings(
        MappingConfigSource({**config, "kgateway-lambda:kgatewayVersion": "main"}, set(secret_keys))
    )
    docs = [d for d in yaml.safe_load_all((DATA / "main" / "timeout-retry.yaml").read_text()) if d]
    upstream_timeouts = one(docs, "TrafficPolicy", "example-route-timeout")["spec"]["timeouts"]
    for _, manifest in objects(settings):
        if manifest["kind"] != "TrafficPolicy":
            continue
        assert set(manifest["spec"]) <= PINNED_POLICY_FIELDS, (stack, sorted(manifest["spec"]))
        timeouts = manifest["spec"].get("timeouts") or {}
        assert set(timeouts) <= set(upstream_timeouts), (stack, timeouts)
        assert all(isinstance(value, str) for value in timeouts.values()), (stack, timeouts)
