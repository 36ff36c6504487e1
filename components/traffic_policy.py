"""kgateway route protection objects: which protection kinds each line's `TrafficPolicy` can express
(`TRAFFIC_POLICY_SUPPORT`, read from its CRD), the plain values of a route's one policy (`RouteProtectionSpec`), and
the `TrafficPolicy` and JWT `GatewayExtension` manifests (program/crds/TRAFFICPOLICY.md). Pure, like
components/kgateway_api.py (the line table and the Backend).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pulumi

from .kgateway_api import (
    BACKEND_API_VERSION,
    BACKEND_GROUP,
    _api_spelling,
    _metadata,
    _served_v1alpha1,
)
from .readiness import SKIP_AWAIT

# --- Route protection: kgateway `TrafficPolicy` and `GatewayExtension` (program/crds/TRAFFICPOLICY.md) ---------

TRAFFIC_POLICY_CRD_NAME = "trafficpolicies.gateway.kgateway.dev"
HTTPROUTE_GROUP = "gateway.networking.k8s.io"
# The `TrafficPolicy` spec field each protection kind is emitted as (one home for the names errors show).
PROTECTION_FIELDS: dict[str, str] = {
    "apiKeys": "apiKeyAuth",
    "jwt": "jwtAuth",
    "cors": "cors",
    "rateLimit": "rateLimit.local",
    "ipAllow": "acl",
    "retry": "retry",
    "requestBody": "buffer.maxRequestSize",
    "streamIdle": "timeouts.streamIdle",
}
# A protection `timeout` is not a TrafficPolicy field here: it is the HTTPRoute rule's `timeouts.request`, which
# every line has and which overrides a TrafficPolicy's (TRAFFICPOLICY.md §7), so the route's timeout is one fact.


@dataclass(frozen=True)
class TrafficPolicySupport:
    """Which protection kinds one kgateway line's `TrafficPolicy` CRD can express, and how its status reads.

    Each named line is what `traffic_policy_support_from_crd` reads from that line's real CRD (program/crds); a
    test keeps the two equal.
    """

    name: str
    # Kinds (keys of PROTECTION_FIELDS) this line can express.
    kinds: frozenset[str]
    # Why a kind this line lacks is refused, beyond "first in <line>" (v2.1: no CRD to verify against).
    refusal_note: str = ""
    # The status shape kgateway writes: `status.ancestors[].conditions[]` (v2.2+, True), `status.conditions[]`
    # (v2.0, False), or not known here (None: the policy's acceptance is not awaited), TRAFFICPOLICY.md §10.
    status_ancestors: bool | None = True


_RATE_LIMIT_ONLY = frozenset({"rateLimit"})
# v2.1.x's own TrafficPolicy CRD (program/crds/kgateway-v2.1.x-0d04052-*): cors, buffer, retry and timeouts came
# to main months before v2.1 was cut; apiKeyAuth and jwtAuth came with v2.2, acl with v2.3. `timeouts.streamIdle`
# is mapped to the route's idle timeout from v2.1 on (`stream_idle_timeout`).
_V2_1_KINDS = frozenset({"cors", "rateLimit", "retry", "requestBody", "streamIdle"})
_V2_2_KINDS = _V2_1_KINDS | {"apiKeys", "jwt"}
_V2_3_KINDS = _V2_2_KINDS | {"ipAllow"}
TRAFFIC_POLICY_SUPPORT: dict[str, TrafficPolicySupport] = {
    support.name: support
    for support in (
        TrafficPolicySupport("v2.0", _RATE_LIMIT_ONLY, status_ancestors=False),
        TrafficPolicySupport("v2.1", _V2_1_KINDS),
        TrafficPolicySupport("v2.2", _V2_2_KINDS),
        TrafficPolicySupport("v2.3", _V2_3_KINDS),
        TrafficPolicySupport("v2.4", _V2_3_KINDS),
        TrafficPolicySupport("main", _V2_3_KINDS),
    )
}


class UnsupportedProtectionError(pulumi.RunError):
    """The kgateway line cannot express a protection kind that was asked for."""


def first_line_with(kind: str) -> str | None:
    """The oldest line (of those this project emits for) whose TrafficPolicy has the kind."""
    return next((s.name for s in TRAFFIC_POLICY_SUPPORT.values() if kind in s.kinds), None)


def protection_problems(support: TrafficPolicySupport, kinds: set[str]) -> list[str]:
    """Why each asked-for kind cannot be emitted for this line (empty: all can), naming the first line with it."""
    problems = []
    for kind in sorted(kinds - support.kinds):
        first = first_line_with(kind)
        note = f" ({support.refusal_note})" if support.refusal_note else ""
        problems.append(
            f"protection {kind} (TrafficPolicy {PROTECTION_FIELDS[kind]}) is not available on kgateway "
            f"{support.name}{note}; it is first in kgateway {first}: install {first} or newer, or remove {kind}"
        )
    return problems


def traffic_policy_support_from_crd(crd: Mapping[str, Any], name: str) -> TrafficPolicySupport:
    """What a cluster's TrafficPolicy CRD (its served v1alpha1 schema) can express, decided from the schema."""
    served = _served_v1alpha1(_api_spelling(crd))
    spec = served["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    present = {
        "apiKeys": "apiKeyAuth" in spec,
        "jwt": "jwtAuth" in spec,
        "cors": "cors" in spec,
        "rateLimit": "local" in ((spec.get("rateLimit") or {}).get("properties") or {}),
        "ipAllow": "acl" in spec,
        "retry": "retry" in spec,
        "requestBody": "maxRequestSize" in ((spec.get("buffer") or {}).get("properties") or {}),
        "streamIdle": "streamIdle" in ((spec.get("timeouts") or {}).get("properties") or {}),
    }
    status = served["schema"]["openAPIV3Schema"]["properties"].get("status") or {}
    return TrafficPolicySupport(
        name=name,
        kinds=frozenset(kind for kind, there in present.items() if there),
        status_ancestors="ancestors" in (status.get("properties") or {}),
    )


@dataclass(frozen=True)
class ApiKeyAuth:
    """API keys in a Secret in the policy's namespace (one data entry per client: entry name = client id)."""

    secret_name: str
    # Each entry one of ("header"|"query"|"cookie", name); Envoy reads only the first non-empty field of an entry,
    # so every source is an entry of its own (TRAFFICPOLICY.md §1).
    key_sources: tuple[tuple[str, str], ...]
    forward_credential: bool = False
    client_id_header: str | None = None


@dataclass(frozen=True)
class Cors:
    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age_seconds: int | None = None


@dataclass(frozen=True)
class TokenBucket:
    """Envoy's local token bucket: `tokens_per_fill` tokens every `fill_interval`, at most `max_tokens` saved."""

    max_tokens: int
    tokens_per_fill: int
    fill_interval: str


@dataclass(frozen=True)
class Retry:
    retry_on: tuple[str, ...]
    attempts: int
    per_try_timeout: str | None = None
    backoff_base_interval: str | None = None


@dataclass(frozen=True)
class RouteProtectionSpec:
    """Plain values of one route's protection, as the TrafficPolicy fields they become."""

    api_keys: ApiKeyAuth | None = None
    jwt_extension: str | None = None
    cors: Cors | None = None
    rate_limit: TokenBucket | None = None
    ip_allow: tuple[str, ...] = ()
    retry: Retry | None = None
    # The largest request body the route takes (a Kubernetes quantity, e.g. "6Mi"; Envoy answers 413 above it).
    max_request_size: str | None = None
    # How long the route's stream may be idle (`timeouts.streamIdle`, Envoy's per-route `idle_timeout`): set where
    # the route's request timeout is longer than Envoy's stream idle default (ENVOY_STREAM_IDLE_DEFAULT_S).
    stream_idle_timeout: str | None = None

    def kinds(self) -> set[str]:
        """The protection kinds this spec asks for (keys of PROTECTION_FIELDS)."""
        present = {
            "apiKeys": self.api_keys is not None,
            "jwt": self.jwt_extension is not None,
            "cors": self.cors is not None,
            "rateLimit": self.rate_limit is not None,
            "ipAllow": bool(self.ip_allow),
            "retry": self.retry is not None,
            "requestBody": self.max_request_size is not None,
            "streamIdle": self.stream_idle_timeout is not None,
        }
        return {kind for kind, there in present.items() if there}


def traffic_policy_annotations(wait: bool) -> dict[str, str]:
    """No wait on the policy itself: kgateway writes a TrafficPolicy's status only once its target route is
    translated, and the policy is created *before* the route (so the route is never served without it): a wait
    would never end (TRAFFICPOLICY.md §10). Its acceptance is awaited after the route instead
    (components/readiness.py `policy_acceptance_gate`). `wait` false: skip even pulumi-kubernetes' generic
    readiness check."""
    return {} if wait else {SKIP_AWAIT: "true"}


def traffic_policy_manifest(
    support: TrafficPolicySupport,
    *,
    name: str,
    namespace: str,
    route_name: str,
    protection: RouteProtectionSpec,
    wait: bool = True,
) -> dict[str, Any]:
    """One `TrafficPolicy` attached to a whole HTTPRoute (same namespace: target refs are namespace-local)."""
    problems = protection_problems(support, protection.kinds())
    if problems:
        raise UnsupportedProtectionError("; ".join(problems))
    spec: dict[str, Any] = {"targetRefs": [{"group": HTTPROUTE_GROUP, "kind": "HTTPRoute", "name": route_name}]}
    if (keys := protection.api_keys) is not None:
        api_key_auth: dict[str, Any] = {
            "secretRef": {"name": keys.secret_name},
            "keySources": [{source: value} for source, value in keys.key_sources],
            "forwardCredential": keys.forward_credential,
        }
        if keys.client_id_header is not None:
            api_key_auth["clientIdHeader"] = keys.client_id_header
        spec["apiKeyAuth"] = api_key_auth
    if protection.jwt_extension is not None:
        spec["jwtAuth"] = {"extensionRef": {"name": protection.jwt_extension}}
    if (cors := protection.cors) is not None:
        cors_spec: dict[str, Any] = {"allowOrigins": list(cors.allow_origins)}
        for field, values in (
            ("allowMethods", cors.allow_methods),
            ("allowHeaders", cors.allow_headers),
            ("exposeHeaders", cors.expose_headers),
        ):
            if values:
                cors_spec[field] = list(values)
        if cors.allow_credentials:
            cors_spec["allowCredentials"] = True
        if cors.max_age_seconds is not None:
            cors_spec["maxAge"] = cors.max_age_seconds
        spec["cors"] = cors_spec
    if (bucket := protection.rate_limit) is not None:
        spec["rateLimit"] = {
            "local": {
                "tokenBucket": {
                    "maxTokens": bucket.max_tokens,
                    "tokensPerFill": bucket.tokens_per_fill,
                    "fillInterval": bucket.fill_interval,
                }
            }
        }
    if protection.ip_allow:
        # Deny by default, allow the listed clients (longest prefix wins; denied clients get 403).
        spec["acl"] = {
            "defaultAction": "deny",
            "rules": [{"name": "ip-allow", "cidrs": list(protection.ip_allow), "action": "allow"}],
        }
    if (retry := protection.retry) is not None:
        retry_spec: dict[str, Any] = {"retryOn": list(retry.retry_on), "attempts": retry.attempts}
        if retry.per_try_timeout is not None:
            retry_spec["perTryTimeout"] = retry.per_try_timeout
        if retry.backoff_base_interval is not None:
            retry_spec["backoffBaseInterval"] = retry.backoff_base_interval
        spec["retry"] = retry_spec
    if protection.max_request_size is not None:
        spec["buffer"] = {"maxRequestSize": protection.max_request_size}
    if protection.stream_idle_timeout is not None:
        spec["timeouts"] = {"streamIdle": protection.stream_idle_timeout}
    return {
        "apiVersion": BACKEND_API_VERSION,
        "kind": "TrafficPolicy",
        "metadata": _metadata(name, namespace, traffic_policy_annotations(wait)),
        "spec": spec,
    }


# Lambda's synchronous invocation payload: "6 MB each for request and response" (Lambda Developer Guide, "Lambda
# quotas", Invocation payload). Without a buffer policy a Lambda route's body is capped far lower: the upstream
# `aws_lambda` and `aws_request_signing` filters buffer the whole body under the stream's buffer limit, which is
# Envoy's listener default of 1 MiB (program/crds/TRAFFICPOLICY.md §8); `buffer.maxRequestSize` (v2.2+) raises it.
LAMBDA_SYNC_PAYLOAD = "6Mi"
ENVOY_DEFAULT_BODY_CAP = "1Mi"


@dataclass(frozen=True)
class JwksBackend:
    """The Service (with its port) or kgateway Backend through which Envoy fetches a remote JWKS."""

    name: str
    kind: Literal["Service", "Backend"] = "Service"
    namespace: str | None = None
    port: int | None = None


@dataclass(frozen=True)
class JwtProvider:
    name: str
    issuer: str | None = None
    audiences: tuple[str, ...] = ()
    jwks_inline: str | None = None
    jwks_uri: str | None = None
    jwks_backend: JwksBackend | None = None
    jwks_cache_duration: str | None = None
    # ("header", name, prefix or None) or ("query", name, None); None: Envoy's default (Authorization: Bearer).
    token_source: tuple[str, str, str | None] | None = None
    forward_token: bool = False
    claims_to_headers: tuple[tuple[str, str], ...] = ()


def jwt_gateway_extension_manifest(
    support: TrafficPolicySupport, *, name: str, namespace: str, provider: JwtProvider
) -> dict[str, Any]:
    """The `GatewayExtension` (spec.jwt) a TrafficPolicy's `jwtAuth.extensionRef` names; `type` is omitted (it is
    deprecated and has no effect from v2.2). Tokens are required (`validationMode: Strict`)."""
    if "jwt" not in support.kinds:
        raise UnsupportedProtectionError("; ".join(protection_problems(support, {"jwt"})))
    jwks: dict[str, Any]
    if provider.jwks_inline is not None:
        jwks = {"local": {"inline": provider.jwks_inline}}
    else:
        if provider.jwks_uri is None or provider.jwks_backend is None:
            raise ValueError("a JWT provider needs an inline JWKS, or a JWKS URI and the backend that serves it")
        backend = provider.jwks_backend
        backend_ref: dict[str, Any] = {
            "group": "" if backend.kind == "Service" else BACKEND_GROUP,
            "kind": backend.kind,
            "name": backend.name,
        }
        if backend.namespace is not None:
            backend_ref["namespace"] = backend.namespace
        if backend.port is not None:
            backend_ref["port"] = backend.port
        remote: dict[str, Any] = {"url": provider.jwks_uri, "backendRef": backend_ref}
        if provider.jwks_cache_duration is not None:
            remote["cacheDuration"] = provider.jwks_cache_duration
        jwks = {"remote": remote}
    entry: dict[str, Any] = {"name": provider.name}
    if provider.issuer is not None:
        entry["issuer"] = provider.issuer
    if provider.audiences:
        entry["audiences"] = list(provider.audiences)
    if provider.token_source is not None:
        source, token_name, prefix = provider.token_source
        if source == "header":
            entry["tokenSource"] = {"header": {"header": token_name, **({"prefix": prefix} if prefix else {})}}
        else:
            entry["tokenSource"] = {"queryParameter": token_name}
    if provider.claims_to_headers:
        entry["claimsToHeaders"] = [{"name": claim, "header": header} for claim, header in provider.claims_to_headers]
    entry["forwardToken"] = provider.forward_token
    entry["jwks"] = jwks
    return {
        "apiVersion": BACKEND_API_VERSION,
        "kind": "GatewayExtension",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"jwt": {"validationMode": "Strict", "providers": [entry]}},
    }
