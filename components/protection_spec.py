"""Route protection's spec: the plain values of a route's one TrafficPolicy (`RouteProtectionSpec`), its JWT
provider, and the names of the policy, the Secret of keys and the GatewayExtension, from checked
`RouteProtectionArgs`. Pure: no resource is registered here, so the preflight and the component build from the same
function.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .jwks_access import jwks_namespace, jwks_reference_grant_manifest, jwks_tls_policy_manifest
from .protection_checks import RETRY_BEFORE_REQUEST, smallest_exact_fill
from .traffic_policy import (
    ApiKeyAuth,
    Cors,
    JwksBackend,
    JwtProvider,
    Retry,
    RouteProtectionSpec,
    TokenBucket,
    TrafficPolicySupport,
    jwt_gateway_extension_manifest,
    traffic_policy_manifest,
)
from .validation import plain, whole


def _interval_text(ms: int) -> str:
    if ms % 60_000 == 0:
        return f"{ms // 60_000}m"
    if ms % 1_000 == 0:
        return f"{ms // 1_000}s"
    return f"{ms}ms"


def token_bucket(rate: int, period_ms: int, burst: int | None) -> TokenBucket:
    """A rate per second or minute and a burst as Envoy's token bucket: with a burst of at least the rate, the
    whole rate is added once per period; with a smaller burst, the smallest exact fill (120/min, burst 20: one
    token every 500ms), so the bucket never overflows and the long-run rate is exactly `rate`."""
    burst = rate if burst is None else burst
    if burst >= rate:
        return TokenBucket(max_tokens=burst, tokens_per_fill=rate, fill_interval=_interval_text(period_ms))
    tokens, interval = smallest_exact_fill(rate, period_ms)
    return TokenBucket(max_tokens=burst, tokens_per_fill=tokens, fill_interval=_interval_text(interval))


def _bounded(name: str, suffix: str) -> str:
    """`<name><suffix>` within a DNS subdomain's 253 characters."""
    return f"{name[: 253 - len(suffix)].rstrip('-.')}{suffix}"


def protection_policy_name(route_name: str) -> str:
    """The route's one TrafficPolicy's name."""
    return _bounded(route_name, "-protection")


def key_secret_name(base: str, keys: Mapping[str, Any]) -> str:
    """The Secret of keys, named after the key set it holds (client ids and rotations, never a key).

    pulumi-kubernetes replaces a Secret whose `data` changed unless the provider sets `enableSecretMutable`
    (pulumi/pulumi-kubernetes provider/pkg/provider/diff.go `forceNewProperties`), and an object that keeps its name
    is replaced delete-first: the policy would name a missing Secret (kgateway v2.2+:
    the route answers 500) until the new one exists. A new key set is a new name instead: the new Secret is
    created, the policy switched to it, and the old one deleted after the run, so some key works at every step.
    """
    if keys.get("keys") is not None:
        identity = ["provided", *sorted(str(client) for client in keys["keys"])]
    else:
        identity = [
            "generated",
            *sorted(str(client) for client in keys.get("clients") or ["default"]),
            f"rotation={keys.get('rotation') or '1'}",
            f"previous={keys.get('previous_rotation') or ''}",
        ]
    digest = hashlib.sha256("|".join(identity).encode()).hexdigest()[:8]
    return _bounded(base, f"-{digest}")


def protection_objects(
    args: Mapping[str, Any], route_name: str, stream_idle_timeout: str | None = None
) -> tuple[RouteProtectionSpec, JwtProvider | None, str, str | None]:
    """The plain TrafficPolicy values, the JWT provider, the Secret's name and the GatewayExtension's name;
    `stream_idle_timeout`: the route's, derived from its request timeout (components/route.py), not a user field."""
    secret_name = _bounded(route_name, "-api-keys")
    api_keys = None
    if (keys := args.get("api_keys")) is not None:
        secret_name = key_secret_name(keys.get("secret_name") or secret_name, keys)
        sources = [next(iter(source.items())) for source in keys.get("key_sources") or [{"header": "api-key"}]]
        api_keys = ApiKeyAuth(
            secret_name=secret_name,
            key_sources=tuple((str(kind), str(value)) for kind, value in sources),
            forward_credential=keys.get("forward_key") is True,
            client_id_header=keys.get("client_id_header"),
        )
    provider, extension_name = None, None
    if (jwt := args.get("jwt")) is not None:
        extension_name = jwt.get("extension_name") or _bounded(route_name, "-jwt")
        token_source: tuple[str, str, str | None] | None = None
        if jwt.get("token_header") is not None:
            token_source = ("header", jwt["token_header"], jwt.get("token_prefix"))
        elif jwt.get("token_query_parameter") is not None:
            token_source = ("query", jwt["token_query_parameter"], None)
        backend = jwt.get("jwks_backend")
        provider = JwtProvider(
            name="default",
            issuer=jwt.get("issuer"),
            audiences=tuple(jwt.get("audiences") or ()),
            jwks_inline=jwt.get("jwks_inline"),
            jwks_uri=jwt.get("jwks_uri"),
            jwks_backend=None
            if backend is None
            else JwksBackend(
                name=backend["name"],
                kind=plain(backend.get("kind")) or "Service",
                namespace=backend.get("namespace"),
                port=whole(backend.get("port")),
            ),
            jwks_cache_duration=jwt.get("jwks_cache_duration"),
            token_source=token_source,
            forward_token=jwt.get("forward_token") is True,
            claims_to_headers=tuple(sorted((jwt.get("claims_to_headers") or {}).items())),
        )
    cors = None
    if (cors_args := args.get("cors")) is not None:
        cors = Cors(
            allow_origins=tuple(cors_args["allow_origins"]),
            allow_methods=tuple(plain(m) for m in cors_args.get("allow_methods") or ()),
            allow_headers=tuple(cors_args.get("allow_headers") or ()),
            expose_headers=tuple(cors_args.get("expose_headers") or ()),
            allow_credentials=cors_args.get("allow_credentials") is True,
            max_age_seconds=whole(cors_args.get("max_age_seconds")),
        )
    bucket = None
    if (limit := args.get("rate_limit")) is not None:
        per_second = whole(limit.get("requests_per_second"))
        rate = per_second if per_second is not None else whole(limit.get("requests_per_minute"))
        assert rate is not None  # checked
        bucket = token_bucket(rate, 1_000 if per_second is not None else 60_000, whole(limit.get("burst")))
    retry = None
    if (retry_args := args.get("retry")) is not None:
        idempotent = retry_args.get("idempotent") is True
        default_on = (*RETRY_BEFORE_REQUEST, "5xx", "reset") if idempotent else RETRY_BEFORE_REQUEST
        retry = Retry(
            retry_on=tuple(retry_args.get("retry_on") or default_on),
            attempts=whole(retry_args.get("attempts")) or 1,
            per_try_timeout=retry_args.get("per_try_timeout"),
            backoff_base_interval=retry_args.get("backoff_base_interval"),
        )
    spec = RouteProtectionSpec(
        api_keys=api_keys,
        jwt_extension=extension_name,
        cors=cors,
        rate_limit=bucket,
        ip_allow=tuple(str(c) for c in args.get("ip_allow") or ()),
        retry=retry,
        max_request_size=args.get("max_request_size"),
        stream_idle_timeout=stream_idle_timeout,
    )
    return spec, provider, secret_name, extension_name


def jwks_access(provider: JwtProvider, extension_name: str, namespace: str) -> list[dict[str, Any]]:
    """The ReferenceGrant (a JWKS backend in another namespace) and the BackendConfigPolicy (an https JWKS) the
    extension's remote JWKS needs, in that order (components/jwks_access.py says why each is needed). Named after the
    extension, prefixed with its namespace where they live in another one, so two routes' objects never collide."""
    there = jwks_namespace(provider, namespace)
    base = extension_name if there == namespace else f"{namespace}-{extension_name}"
    grant = jwks_reference_grant_manifest(name=_bounded(base, "-jwks"), policy_namespace=namespace, provider=provider)
    tls = jwks_tls_policy_manifest(name=_bounded(base, "-jwks-tls"), policy_namespace=namespace, provider=provider)
    return [manifest for manifest in (grant, tls) if manifest is not None]


def policy_kinds(args: Mapping[str, Any], stream_idle_timeout: str | None = None) -> set[str]:
    """The TrafficPolicy kinds a protection asks for (a `timeout` alone needs no policy: it is the route's, unless
    it outlasts Envoy's stream idle timeout, `stream_idle_timeout`)."""
    spec, _, _, _ = protection_objects(args, "route", stream_idle_timeout)
    return spec.kinds()


@dataclass(frozen=True)
class ProtectionPlan:
    """What a `RouteProtection` registers for one kgateway line, as plain objects, in the order it registers them:
    the component registers these and the preflight (program/preflight.py) checks these, so the object checked is
    the object deployed."""

    spec: RouteProtectionSpec
    provider: JwtProvider | None
    secret_name: str
    """The Secret of API keys' name (made only with `api_keys`)."""
    extension_name: str | None
    jwks_access: list[dict[str, Any]]
    """The remote JWKS's ReferenceGrant and TLS policy, before the extension."""
    extension: dict[str, Any] | None
    policy: dict[str, Any]


def protection_plan(  # noqa: PLR0917 (the route's facts, each named once)
    args: Mapping[str, Any],
    route_name: str,
    namespace: str,
    support: TrafficPolicySupport,
    wait: bool = True,
    stream_idle_timeout: str | None = None,
) -> ProtectionPlan:
    """The objects of a route's checked protection `args` on the line `support` describes (for `auto`, the
    component calls this once the cluster's line is read)."""
    spec, provider, secret_name, extension_name = protection_objects(args, route_name, stream_idle_timeout)
    access: list[dict[str, Any]] = []
    extension = None
    if provider is not None and extension_name is not None:
        access = jwks_access(provider, extension_name, namespace)
        extension = jwt_gateway_extension_manifest(support, name=extension_name, namespace=namespace, provider=provider)
    policy = traffic_policy_manifest(
        support,
        name=protection_policy_name(route_name),
        namespace=namespace,
        route_name=route_name,
        protection=spec,
        wait=wait,
    )
    return ProtectionPlan(spec, provider, secret_name, extension_name, access, extension, policy)
