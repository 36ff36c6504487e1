"""Who may call a Lambda route: API keys, JWT, CORS, rate limit, IP allow list, timeout and retry, as ONE kgateway
`TrafficPolicy` per HTTPRoute, plus the Secret of API keys and the JWT `GatewayExtension` it names.

Day 2, in the order the Pulumi engine applies it (creates and updates in dependency order while the program runs;
resources no longer registered are deleted after all of them, dependents first: pulumi/pulumi
`pkg/resource/deploy/step_generator.go` `GenerateDeletes`, `pkg/resource/deploy/deployment_executor.go`):

- The Secret and the GatewayExtension come first: the TrafficPolicy depends on them explicitly (it names them by
  plain strings), so it never references an object that does not exist yet (on v2.2+ that is a policy error, and
  the route answers 500 until it appears).
- The TrafficPolicy comes before the HTTPRoute: the route's component waits for this component (`depends_on`),
  so a new route is never served without its protection. The policy does not wait for its own status: kgateway
  writes none until its target route is translated (TRAFFICPOLICY.md §10).
- Changing protection updates the one TrafficPolicy in place (one object: kgateway sees the old or the new
  policy, never none). Keys rotate inside the Secret (kgateway re-reads Secrets, TRAFFICPOLICY.md §1), and with
  `previousRotation` the old keys stay valid beside the new ones until it is removed.
- Removing protection (or the route) deletes the policy after everything else, and a removed route before its
  policy (dependents first): a protected route is never served without its policy.

A protection `timeout` is not emitted here: `LambdaRoute` sets it as the HTTPRoute rule's `timeouts.request`
(every line has it, and it overrides a TrafficPolicy's: TRAFFICPOLICY.md §7), so the route's timeout is one fact.
With `kgateway_version` auto, the cluster's TrafficPolicy CRD is read (like the Backend CRD) and the policy is built
from what its schema offers; a kind it lacks fails the deploy naming the first line that has it.

Secret values are written to `data` (base64), never `stringData`: Kubernetes merges `stringData` into `data` on
write (k8s.io/api `core/v1/types.go`, `Secret.StringData`), so a key removed from `stringData` would stay valid.
"""

import base64
import hashlib
import ipaddress
import math
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .backend import CrdRead, crd_read_id
from .k8s_objects import COMMON_LABELS, object_resource_name
from .kgateway_api import (
    AUTO,
    BACKEND_API_VERSION,
    CRD_TYPE,
    TRAFFIC_POLICY_CRD_NAME,
    TRAFFIC_POLICY_SUPPORT,
    ApiKeyAuth,
    Cors,
    JwksBackend,
    JwtProvider,
    Retry,
    RouteProtectionSpec,
    TokenBucket,
    TrafficPolicySupport,
    jwt_gateway_extension_manifest,
    protection_problems,
    traffic_policy_manifest,
    traffic_policy_support_from_crd,
)
from .tokens import component_options, token
from .validation import (
    DNS_LABEL_RE,
    DNS_LABEL_RULE,
    DNS_SUBDOMAIN_RE,
    DNS_SUBDOMAIN_RULE,
    DURATION,
    HEADER_NAME_RE,
    HTTP_METHODS,
    QUANTITY,
    ROTATION,
    InputChecker,
    max_request_size_problem,
    plain,
    whole,
)

# A Secret's data key (k8s.io/apimachinery `IsConfigMapKey`): the API key's client id.
CLIENT_ID_RE = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")
# kgateway's duration strings (the shared rule, components/validation.py DURATION).
DURATION_RE, DURATION_RULE = DURATION.pattern, DURATION.allowed
# CORS origins as the v2.3+ CRDs allow them (v2.2 allows more; these pass both): `*`, or http(s) with an optional
# leading `*.` and port.
ORIGIN_RE = re.compile(r"(^\*$)|(^(http(s)?):\/\/(((\*\.)?([a-zA-Z0-9\-]+\.)*[a-zA-Z0-9-]+|\*)(:([0-9]{1,5}))?)$)")
# A provided key: visible ASCII (it travels in a header or query), long enough not to be guessed.
PROVIDED_KEY_RE = re.compile(r"^[\x21-\x7e]{16,4096}$")
GENERATED_KEY_BYTES = 32  # 256 bits, sent as 64 hex characters
MAX_INT32 = 2**31 - 1
MIN_FILL_MS = 50  # Envoy: "token bucket fill timer must be >= 50ms" (TRAFFICPOLICY.md §5)
# Retry conditions under which the request never reached the function, so a retry cannot run it twice
# (Envoy `router_filter` docs: connect-failure, reset-before-request, refused-stream).
RETRY_BEFORE_REQUEST = ("connect-failure", "reset-before-request", "refused-stream")
RETRY_CONDITIONS = (
    "5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "envoy-ratelimited", "retriable-4xx",
    "refused-stream", "retriable-status-codes", "http3-post-connect-failure", "cancelled", "deadline-exceeded",
    "internal", "resource-exhausted", "unavailable",
)  # fmt: skip  # the CRD's enum of retryOn (v2.2.x to main)


def duration_ms(text: str) -> int:
    """Milliseconds of a kgateway duration string (one that matches DURATION_RE)."""
    unit_ms = {"h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}
    return sum(int(number) * unit_ms[unit] for number, unit in re.findall(r"([0-9]+)(ms|h|m|s)", text))


class ApiKeySource(TypedDict):
    """Where a client sends its key: exactly one of header, query and cookie (Envoy reads one per entry)."""

    header: NotRequired[str]
    """A request header (a leading `Bearer ` is stripped)."""
    query: NotRequired[str]
    """A query parameter."""
    cookie: NotRequired[str]
    """A cookie."""


class ApiKeysArgs(TypedDict):
    """API keys (401 without a valid one): generated by the stack, or provided as secrets."""

    clients: NotRequired[list[str]]
    """Generated keys: one random 256-bit key per client id (default: one client, `default`)."""
    rotation: NotRequired[str]
    """Generated keys: change it to make new keys (default 1)."""
    previous_rotation: NotRequired[str]
    (
        "Generated keys: the rotation whose keys stay valid beside the new ones (as `<client>.previous`), so clients "
        "can move over; remove it to revoke them."
    )
    keys: NotRequired[dict[str, pulumi.Input[str]]]
    """Provided keys: client id -> key (kept secret; at least 16 visible ASCII characters); instead of clients."""
    key_sources: NotRequired[list[ApiKeySource]]
    """Where the key is read from, tried in order (default: header `api-key`)."""
    secret_name: NotRequired[str]
    """Base name of the Secret of keys (default `<route>-api-keys`), followed by a hash of the key set (client ids
    and rotations), so a new key set is a new Secret and the policy moves to it with no window."""
    client_id_header: NotRequired[str]
    """A header that carries the caller's client id to the function."""
    forward_key: NotRequired[bool]
    """Pass the key on to the function (default false: it is removed)."""


class JwksBackendKind(StrEnum):
    """What serves a remote JWKS inside the cluster."""

    SERVICE = "Service"
    """A Kubernetes Service (give its port)."""
    BACKEND = "Backend"
    """A kgateway Backend."""


class JwksBackendArgs(TypedDict):
    """The object Envoy reaches the JWKS host through (kgateway needs one beside the URL)."""

    name: str
    """Its name."""
    kind: NotRequired[JwksBackendKind]
    """Service (default) or Backend."""
    namespace: NotRequired[str]
    """Its namespace (default: the route's)."""
    port: NotRequired[int]
    """The Service's port (required for a Service)."""


class JwtArgs(TypedDict):
    """Require a valid JWT (401 without one, 403 for a wrong audience), through a kgateway GatewayExtension."""

    issuer: NotRequired[str]
    """The `iss` tokens must carry."""
    audiences: NotRequired[list[str]]
    """Accepted `aud` values (default: any)."""
    jwks_uri: NotRequired[str]
    """The provider's JWKS URL; give `jwksBackend` too. Or give `jwksInline`."""
    jwks_backend: NotRequired[JwksBackendArgs]
    """What Envoy fetches `jwksUri` through."""
    jwks_inline: NotRequired[str]
    """The JWKS itself (a JWKS, one JWK or a PEM public key)."""
    jwks_cache_duration: NotRequired[str]
    """How long a fetched JWKS is kept (e.g. 10m)."""
    token_header: NotRequired[str]
    """The header carrying the token (default: Authorization, then the access_token query parameter)."""
    token_prefix: NotRequired[str]
    """The prefix before the token in that header (e.g. `Bearer `)."""
    token_query_parameter: NotRequired[str]
    """A query parameter carrying the token, instead of a header."""
    forward_token: NotRequired[bool]
    """Pass the token on to the function (default false)."""
    claims_to_headers: NotRequired[dict[str, str]]
    """Claims copied into request headers for the function: claim -> header."""
    extension_name: NotRequired[str]
    """Name of the GatewayExtension (default `<route>-jwt`)."""


class CorsArgs(TypedDict):
    """Cross-origin access from browsers (preflights answered by the gateway)."""

    allow_origins: list[str]
    """Origins allowed (`*`, or http(s)://host[:port], host may start with `*.`)."""
    allow_methods: NotRequired[list[str]]
    """Methods allowed (or `*`)."""
    allow_headers: NotRequired[list[str]]
    """Request headers allowed (or `*`)."""
    expose_headers: NotRequired[list[str]]
    """Response headers the browser may read."""
    allow_credentials: NotRequired[bool]
    """Allow cookies and credentials (default false)."""
    max_age_seconds: NotRequired[int]
    """How long a browser may cache a preflight (kgateway's default 5)."""


class RateLimitArgs(TypedDict):
    """A token bucket per gateway replica (429 past it): a steady rate per second or minute, up to `burst` at once."""

    requests_per_second: NotRequired[int]
    """The steady rate, per second; or give requestsPerMinute."""
    requests_per_minute: NotRequired[int]
    """The steady rate, per minute."""
    burst: NotRequired[int]
    """Requests allowed at once (default: the rate)."""


class RetryArgs(TypedDict):
    """Retries by the gateway. Only connect-failure, reset-before-request and refused-stream (the function never
    ran) are allowed unless `idempotent` says the function is safe to run twice for one request."""

    idempotent: NotRequired[bool]
    """The function is safe to run more than once for one request (default false)."""
    attempts: NotRequired[int]
    """Retries after the first try (1 to 10, default 1)."""
    retry_on: NotRequired[list[str]]
    """Envoy retry conditions (default: connect-failure, reset-before-request, refused-stream; plus 5xx and reset
    when idempotent)."""
    per_try_timeout: NotRequired[str]
    """Timeout of each try (shorter than `timeout`)."""
    backoff_base_interval: NotRequired[str]
    """Base of the exponential backoff (kgateway's default 25ms)."""


class RouteProtectionArgs(TypedDict):
    """Who may call a route, and how: emitted as one kgateway TrafficPolicy on the route."""

    api_keys: NotRequired[ApiKeysArgs]
    """Require an API key (kgateway v2.2+)."""
    jwt: NotRequired[JwtArgs]
    """Require a JWT (kgateway v2.2+)."""
    cors: NotRequired[CorsArgs]
    """Answer CORS preflights and add CORS headers (kgateway v2.2+)."""
    rate_limit: NotRequired[RateLimitArgs]
    """Limit the request rate (every line)."""
    ip_allow: NotRequired[list[str]]
    """Only these client CIDRs (or bare IPs) may call; others get 403 (kgateway v2.3+)."""
    timeout: NotRequired[str]
    """The whole request's timeout, retries included (e.g. 30s): the HTTPRoute rule's timeouts.request (every
    line; Envoy's default is 15s)."""
    retry: NotRequired[RetryArgs]
    """Retry failed requests (kgateway v2.2+)."""
    max_request_size: NotRequired[str]
    (
        "The largest request body, a quantity such as 6Mi, as `buffer.maxRequestSize` (kgateway v2.2+; larger "
        "bodies get 413; without it a Lambda route's cap is Envoy's 1Mi buffer limit)."
    )


def _strings(checker: InputChecker, name: str, value: Any, regex: re.Pattern[str], *, rule: str, example: str) -> None:
    if value is None:
        return
    if not isinstance(value, list):
        checker.fail(name, value, "must be a list", f"[{example}]")
        return
    for item in value:
        checker.pattern(name, item, regex, rule, example)


def _duration(checker: InputChecker, name: str, value: Any, minimum_ms: int, example: str) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not DURATION_RE.match(value):
        checker.fail(name, value, DURATION_RULE, example)
    elif duration_ms(value) < minimum_ms:
        checker.fail(name, value, f"must be at least {minimum_ms}ms", example)


def check_api_keys(checker: InputChecker, keys: Mapping[str, Any], prefix: str) -> None:
    provided = keys.get("keys")
    generated = any(keys.get(key) is not None for key in ("clients", "rotation", "previous_rotation"))
    if provided is not None and generated:
        checker.fail(f"{prefix}keys", "(set)", "give either keys (provided) or clients/rotation (generated)", "unset")
    if provided is not None:
        if not isinstance(provided, Mapping) or not provided:
            checker.fail(f"{prefix}keys", "(set)", "must map client ids to keys", "{mobile: <secret>}")
        else:
            plain_keys = [value for value in provided.values() if isinstance(value, str)]
            for client, value in provided.items():
                checker.pattern(
                    f"{prefix}keys", client, CLIENT_ID_RE, "client ids must be 1 to 253 of A-Z a-z 0-9 - . _", "mobile"
                )
                if isinstance(value, str) and not PROVIDED_KEY_RE.match(value):  # the value itself is never shown
                    checker.fail(
                        f"{prefix}keys.{client}", "(secret)", "must be 16 to 4096 visible ASCII characters", "<secret>"
                    )
            if len(set(plain_keys)) != len(plain_keys):
                checker.fail(f"{prefix}keys", "(secret)", "must give each client a different key", "<secret>")
    clients = keys.get("clients")
    _strings(
        checker,
        f"{prefix}clients",
        clients,
        CLIENT_ID_RE,
        rule="must be 1 to 253 of A-Z a-z 0-9 - . _",
        example="mobile",
    )
    if isinstance(clients, list) and (not clients or len(set(clients)) != len(clients)):
        checker.fail(f"{prefix}clients", clients, "must list distinct client ids", "[mobile, partner]")
    if isinstance(clients, list) and any(str(c).endswith(".previous") for c in clients):
        checker.fail(f"{prefix}clients", clients, "must not end in .previous (that names the previous keys)", "mobile")
    for key, schema_name in (("rotation", "rotation"), ("previous_rotation", "previousRotation")):
        checker.rule(f"{prefix}{schema_name}", keys.get(key), ROTATION, "2")
    if keys.get("previous_rotation") is not None and keys.get("previous_rotation") == (keys.get("rotation") or "1"):
        checker.fail(f"{prefix}previousRotation", keys.get("previous_rotation"), "must differ from rotation", "1")
    sources = keys.get("key_sources")
    if sources is not None:
        if not isinstance(sources, list) or not 1 <= len(sources) <= 16:
            checker.fail(f"{prefix}keySources", sources, "must list 1 to 16 sources", "[{header: api-key}]")
        else:
            for index, source in enumerate(sources):
                given = [k for k in ("header", "query", "cookie") if isinstance(source, Mapping) and k in source]
                if len(given) != 1:
                    checker.fail(
                        f"{prefix}keySources[{index}]",
                        source,
                        "must give exactly one of header, query and cookie (Envoy reads only one per entry: list "
                        "another entry for a fallback)",
                        "{query: api_key}",
                    )
                    continue
                value = source[given[0]]
                if not isinstance(value, str) or not 1 <= len(value) <= 256:
                    checker.fail(
                        f"{prefix}keySources[{index}].{given[0]}", value, "must be 1 to 256 characters", "api-key"
                    )
                elif given[0] == "header" and not HEADER_NAME_RE.match(value):
                    checker.fail(f"{prefix}keySources[{index}].header", value, "must be a header name", "api-key")
    checker.pattern(f"{prefix}secretName", keys.get("secret_name"), DNS_SUBDOMAIN_RE, DNS_SUBDOMAIN_RULE, "echo-keys")
    checker.pattern(
        f"{prefix}clientIdHeader", keys.get("client_id_header"), HEADER_NAME_RE, "must be a header name", "x-client-id"
    )


def check_jwt(checker: InputChecker, jwt: Mapping[str, Any], prefix: str) -> None:
    remote, inline = jwt.get("jwks_uri"), jwt.get("jwks_inline")
    if (remote is None) == (inline is None):
        checker.fail(
            f"{prefix}jwksUri", remote, "give exactly one of jwksUri and jwksInline", "https://issuer/jwks.json"
        )
    if remote is not None:
        if not isinstance(remote, str) or not re.match(r"^https?://[^\s]{1,2040}$", remote):
            checker.fail(
                f"{prefix}jwksUri",
                remote,
                "must be an http(s) URL of at most 2048 characters",
                "https://issuer/jwks.json",
            )
        backend = jwt.get("jwks_backend")
        if not isinstance(backend, Mapping):
            checker.fail(
                f"{prefix}jwksBackend",
                backend,
                "is required with jwksUri: kgateway fetches the JWKS through a Service or Backend",
                "{name: issuer, port: 443}",
            )
        else:
            checker.pattern(
                f"{prefix}jwksBackend.name", backend.get("name"), DNS_SUBDOMAIN_RE, DNS_SUBDOMAIN_RULE, "issuer"
            )
            checker.required(f"{prefix}jwksBackend.name", backend.get("name"), "issuer")
            kind = plain(backend.get("kind")) or JwksBackendKind.SERVICE.value
            checker.choice(f"{prefix}jwksBackend.kind", kind, [k.value for k in JwksBackendKind])
            checker.pattern(
                f"{prefix}jwksBackend.namespace", backend.get("namespace"), DNS_LABEL_RE, DNS_LABEL_RULE, "auth"
            )
            checker.integer(f"{prefix}jwksBackend.port", backend.get("port"), 1, 65535, 443)
            if kind == JwksBackendKind.SERVICE.value and backend.get("port") is None:
                checker.fail(f"{prefix}jwksBackend.port", None, "is required for a Service", "443")
    elif jwt.get("jwks_backend") is not None:
        checker.fail(f"{prefix}jwksBackend", "(set)", "goes with jwksUri only", "unset")
    if inline is not None and (not isinstance(inline, str) or not 1 <= len(inline) <= 16384):
        checker.fail(f"{prefix}jwksInline", "(set)", "must be 1 to 16384 characters", '{"keys": [...]}')
    for key, schema_name in (
        ("issuer", "issuer"),
        ("token_prefix", "tokenPrefix"),
        ("token_query_parameter", "tokenQueryParameter"),
    ):
        value = jwt.get(key)
        if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= 2048):
            checker.fail(f"{prefix}{schema_name}", value, "must be 1 to 2048 characters", "https://issuer.example.com")
    audiences = jwt.get("audiences")
    if audiences is not None and (
        not isinstance(audiences, list)
        or not 1 <= len(audiences) <= 32
        or not all(isinstance(a, str) and a for a in audiences)
    ):
        checker.fail(f"{prefix}audiences", audiences, "must list 1 to 32 audiences", "[api]")
    checker.pattern(
        f"{prefix}tokenHeader", jwt.get("token_header"), HEADER_NAME_RE, "must be a header name", "Authorization"
    )
    if (
        jwt.get("token_query_parameter") is not None
        and (jwt.get("token_header") or jwt.get("token_prefix")) is not None
    ):
        checker.fail(
            f"{prefix}tokenQueryParameter",
            jwt.get("token_query_parameter"),
            "give a header or a query parameter, not both",
            "unset",
        )
    if jwt.get("token_prefix") is not None and jwt.get("token_header") is None:
        checker.fail(f"{prefix}tokenPrefix", jwt.get("token_prefix"), "goes with tokenHeader", "Bearer ")
    for claim, header in (jwt.get("claims_to_headers") or {}).items():
        if (
            not isinstance(claim, str)
            or not 1 <= len(claim) <= 2048
            or not isinstance(header, str)
            or not HEADER_NAME_RE.match(header)
        ):
            checker.fail(f"{prefix}claimsToHeaders", {claim: header}, "must map claims to header names", "sub: x-user")
    _duration(checker, f"{prefix}jwksCacheDuration", jwt.get("jwks_cache_duration"), 1, "10m")
    checker.pattern(
        f"{prefix}extensionName", jwt.get("extension_name"), DNS_SUBDOMAIN_RE, DNS_SUBDOMAIN_RULE, "echo-jwt"
    )


def check_cors(checker: InputChecker, cors: Mapping[str, Any], prefix: str) -> None:
    origins = cors.get("allow_origins")
    if not isinstance(origins, list) or not 1 <= len(origins) <= 64:
        checker.fail(f"{prefix}allowOrigins", origins, "must list 1 to 64 origins", "[https://app.example.com]")
    else:
        _strings(
            checker,
            f"{prefix}allowOrigins",
            origins,
            ORIGIN_RE,
            rule="must be *, or http(s)://host[:port] (host may start with *.)",
            example="https://app.example.com",
        )
    for key, schema_name, allowed, example in (
        ("allow_methods", "allowMethods", 9, "GET"),
        ("allow_headers", "allowHeaders", 64, "content-type"),
        ("expose_headers", "exposeHeaders", 64, "x-request-id"),
    ):
        values = cors.get(key)
        if values is None:
            continue
        if not isinstance(values, list) or not 1 <= len(values) <= allowed or len(set(values)) != len(values):
            checker.fail(f"{prefix}{schema_name}", values, f"must list 1 to {allowed} distinct values", f"[{example}]")
            continue
        if key == "allow_methods":
            for method in values:
                checker.choice(f"{prefix}allowMethods", method, [*HTTP_METHODS, "*"])
        else:
            _strings(
                checker, f"{prefix}{schema_name}", values, HEADER_NAME_RE, rule="must be header names", example=example
            )
        if key != "expose_headers" and "*" in values and len(values) > 1:
            checker.fail(f"{prefix}{schema_name}", values, "'*' must stand alone", "[*]")
    if isinstance(origins, list) and "*" in origins and len(origins) > 1:
        checker.fail(f"{prefix}allowOrigins", origins, "'*' must stand alone", "[*]")
    checker.integer(f"{prefix}maxAgeSeconds", cors.get("max_age_seconds"), 1, MAX_INT32, 600)


def _smallest_exact_fill(rate: int, period_ms: int) -> tuple[int, int]:
    """(tokens per fill, fill interval in ms): the smallest whole-token fill giving exactly `rate` per period, at
    least 50 ms apart (Envoy refuses faster fill timers; the v2.2+ CRDs say the same)."""
    common = math.gcd(rate, period_ms)
    tokens, interval = rate // common, period_ms // common
    scale = -(-MIN_FILL_MS // interval)  # ceil
    return tokens * scale, interval * scale


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
    tokens, interval = _smallest_exact_fill(rate, period_ms)
    return TokenBucket(max_tokens=burst, tokens_per_fill=tokens, fill_interval=_interval_text(interval))


def check_rate_limit(checker: InputChecker, limit: Mapping[str, Any], prefix: str) -> None:
    per_second, per_minute = limit.get("requests_per_second"), limit.get("requests_per_minute")
    if (per_second is None) == (per_minute is None):
        checker.fail(
            f"{prefix}requestsPerSecond",
            per_second,
            "give exactly one of requestsPerSecond and requestsPerMinute",
            "10",
        )
        return
    rate_name = "requestsPerSecond" if per_second is not None else "requestsPerMinute"
    rate = per_second if per_second is not None else per_minute
    checker.integer(f"{prefix}{rate_name}", rate, 1, MAX_INT32, 10)
    rate_value = whole(rate)
    if rate_value is None or not 1 <= rate_value <= MAX_INT32:
        return
    smallest, _ = _smallest_exact_fill(rate_value, 1_000 if per_second is not None else 60_000)
    checker.integer(f"{prefix}burst", limit.get("burst"), min(smallest, rate_value), MAX_INT32, rate_value)


def check_retry(checker: InputChecker, retry: Mapping[str, Any], prefix: str, timeout: Any) -> None:
    idempotent = retry.get("idempotent", False)
    if not isinstance(idempotent, bool):
        checker.fail(f"{prefix}idempotent", idempotent, "must be true or false", "true")
    checker.integer(f"{prefix}attempts", retry.get("attempts"), 1, 10, 2)
    conditions = retry.get("retry_on")
    if conditions is not None:
        if not isinstance(conditions, list) or not conditions:
            checker.fail(f"{prefix}retryOn", conditions, "must list retry conditions", "[connect-failure]")
        else:
            for condition in conditions:
                checker.choice(f"{prefix}retryOn", condition, RETRY_CONDITIONS)
                if condition in RETRY_CONDITIONS and condition not in RETRY_BEFORE_REQUEST and idempotent is not True:
                    checker.fail(
                        f"{prefix}retryOn",
                        condition,
                        "may run the function again for a request it already ran: set retry.idempotent true if "
                        f"that is safe, or retry only on {', '.join(RETRY_BEFORE_REQUEST)}",
                        "connect-failure",
                    )
    _duration(checker, f"{prefix}perTryTimeout", retry.get("per_try_timeout"), 1, "5s")
    _duration(checker, f"{prefix}backoffBaseInterval", retry.get("backoff_base_interval"), 1, "25ms")
    per_try = retry.get("per_try_timeout")
    if (
        isinstance(per_try, str)
        and isinstance(timeout, str)
        and DURATION_RE.match(per_try)
        and DURATION_RE.match(timeout)
        and duration_ms(per_try) >= duration_ms(timeout)
    ):
        checker.fail(f"{prefix}perTryTimeout", per_try, f"must be shorter than timeout ({timeout})", "5s")


def check_protection_args(checker: InputChecker, args: Mapping[str, Any], prefix: str = "") -> None:
    """A route's protection, against kgateway's CRD rules and Envoy's behaviour (the line is checked separately)."""
    known = set(RouteProtectionArgs.__annotations__)
    for key in args:
        if key not in known:
            checker.fail(
                f"{prefix}{key}", "(set)", f"is not a protection; use {', '.join(sorted(known))}", "rate_limit"
            )
    if (keys := args.get("api_keys")) is not None:
        check_api_keys(checker, keys, f"{prefix}apiKeys.")
    if (jwt := args.get("jwt")) is not None:
        check_jwt(checker, jwt, f"{prefix}jwt.")
    if (cors := args.get("cors")) is not None:
        check_cors(checker, cors, f"{prefix}cors.")
    if (limit := args.get("rate_limit")) is not None:
        check_rate_limit(checker, limit, f"{prefix}rateLimit.")
    cidrs = args.get("ip_allow")
    if cidrs is not None:
        if not isinstance(cidrs, list) or not 1 <= len(cidrs) <= 256:
            checker.fail(f"{prefix}ipAllow", cidrs, "must list 1 to 256 CIDRs or IPs", "[203.0.113.0/24]")
        else:
            for cidr in cidrs:
                try:
                    ipaddress.ip_network(str(cidr), strict=True)  # host bits set: a kgateway translation error
                except ValueError as error:
                    checker.fail(
                        f"{prefix}ipAllow",
                        cidr,
                        f"must be a CIDR without host bits, or an IP ({error})",
                        "203.0.113.0/24",
                    )
    _duration(checker, f"{prefix}timeout", args.get("timeout"), 1, "30s")
    if (retry := args.get("retry")) is not None:
        check_retry(checker, retry, f"{prefix}retry.", args.get("timeout"))
    size = args.get("max_request_size")
    checker.rule(f"{prefix}maxRequestSize", size, QUANTITY)
    if isinstance(size, str) and (problem := max_request_size_problem(size)) is not None:
        checker.fail(f"{prefix}maxRequestSize", size, problem, QUANTITY.example)


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
    args: Mapping[str, Any], route_name: str
) -> tuple[RouteProtectionSpec, JwtProvider | None, str, str | None]:
    """The plain TrafficPolicy values, the JWT provider, the Secret's name and the GatewayExtension's name."""
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
    )
    return spec, provider, secret_name, extension_name


def _secret_data(entries: dict[str, Any]) -> pulumi.Output[dict[str, str]]:
    secret: pulumi.Output[dict[str, str]] = pulumi.Output.secret(_encoded(entries))
    return secret


def _secret_keys(entries: dict[str, Any]) -> pulumi.Output[dict[str, str]]:
    secret: pulumi.Output[dict[str, str]] = pulumi.Output.secret({client: str(key) for client, key in entries.items()})
    return secret


def _encoded(entries: Mapping[str, Any]) -> dict[str, str]:
    """A Secret's `data`: each value base64-encoded, byte for byte (kgateway uses the value as it is)."""
    return {client: base64.b64encode(str(value).encode()).decode() for client, value in sorted(entries.items())}


def policy_kinds(args: Mapping[str, Any]) -> set[str]:
    """The TrafficPolicy kinds a protection asks for (a `timeout` alone needs no policy: it is the route's)."""
    spec, _, _, _ = protection_objects(args, "route")
    return spec.kinds()


def installed_traffic_policy_support(
    resource_name: str, opts: pulumi.ResourceOptions, read_id: pulumi.Output[str]
) -> pulumi.Output[TrafficPolicySupport]:
    """`auto`: read the cluster's TrafficPolicy CRD (as the Backend's is read, components/backend.py) and decide
    what it can express from its schema; unknown while the read is (a preview before the cluster exists)."""
    crd = CrdRead(resource_name, opts, read_id)

    def decide(spec: Any) -> TrafficPolicySupport:
        if spec is None:
            message = (
                f"kgatewayVersion 'auto' could not read the cluster's CustomResourceDefinition "
                f"{TRAFFIC_POLICY_CRD_NAME}, which route protection needs: install kgateway's CRDs (v2.2 or newer "
                "for API keys, JWT, CORS and retries), or pin kgatewayVersion"
            )
            raise pulumi.RunError(message)
        return traffic_policy_support_from_crd({"spec": spec}, "auto (the cluster's TrafficPolicy CRD)")

    support: pulumi.Output[TrafficPolicySupport] = crd.spec.apply(decide)
    return support


class RouteProtection(pulumi.ComponentResource):
    """One HTTPRoute's protection: its TrafficPolicy, the Secret of API keys, the JWT GatewayExtension.

    The route must wait for this component (`depends_on`), so that it is never served before its policy exists.
    Python only for now: the route's name, namespace and the kgateway line are keyword arguments; `auto` reads
    the cluster's TrafficPolicy CRD (`crds_ready`: what installs it in the same program).
    """

    policy_name: pulumi.Output[str]
    """The TrafficPolicy's name."""
    api_keys: pulumi.Output[dict[str, str] | None]
    """The current API keys by client id (a secret; none without apiKeys)."""
    secret_name: pulumi.Output[str | None]
    """The Secret of API keys (none without apiKeys)."""

    def __init__(
        self,
        name: str,
        args: RouteProtectionArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        route_name: str,
        namespace: str = "kgateway-system",
        kgateway_version: str = "main",
        wait: bool = True,
        crds_ready: pulumi.Input[str] | None = None,
    ):
        super().__init__(token("RouteProtection"), name, None, component_options("RouteProtection", None, opts))
        checker = InputChecker("RouteProtection", name)
        check_protection_args(checker, args)
        support: TrafficPolicySupport | None = TRAFFIC_POLICY_SUPPORT.get(kgateway_version)
        if support is None and kgateway_version != AUTO:
            checker.choice("kgatewayVersion", kgateway_version, [AUTO, *TRAFFIC_POLICY_SUPPORT])
        checker.pattern("routeName", route_name, DNS_SUBDOMAIN_RE, DNS_SUBDOMAIN_RULE, "echo")
        checker.pattern("namespace", namespace, DNS_LABEL_RE, DNS_LABEL_RULE, "kgateway-system")
        checker.done()
        spec, provider, secret_name, extension_name = protection_objects(args, route_name)
        problems = protection_problems(support, spec.kinds()) if support is not None else []
        if problems:
            checker.fail("kgatewayVersion", kgateway_version, "; ".join(problems), "main")
            checker.done()
        installed: pulumi.Output[TrafficPolicySupport] | None = None
        if support is None:  # auto: the cluster's CRD decides (a kind it lacks fails the deploy, naming the line)
            read_id = crd_read_id(self.get_provider(CRD_TYPE), crds_ready, TRAFFIC_POLICY_CRD_NAME)
            installed = installed_traffic_policy_support(
                f"{name}-trafficpolicy-crd", pulumi.ResourceOptions(parent=self), read_id
            )

        waited: list[pulumi.Resource] = []
        none: pulumi.Output[Any] = pulumi.Output.from_input(None)
        self.api_keys = self.secret_name = none
        if (keys := args.get("api_keys")) is not None:
            secret = self._api_key_secret(name, keys, namespace, secret_name)
            waited.append(secret)
            self.secret_name = secret.urn.apply(lambda _: secret_name)
        if provider is not None and extension_name is not None:
            extension_opts = pulumi.ResourceOptions(parent=self)
            if support is not None:
                manifest = jwt_gateway_extension_manifest(
                    support, name=extension_name, namespace=namespace, provider=provider
                )
                waited.append(self._object(manifest, extension_opts))
            else:
                assert installed is not None
                deferred = installed.apply(
                    lambda line: jwt_gateway_extension_manifest(
                        line, name=extension_name, namespace=namespace, provider=provider
                    )
                )
                waited.append(self._deferred("GatewayExtension", extension_name, namespace, deferred, extension_opts))
        policy_name = protection_policy_name(route_name)
        policy_opts = pulumi.ResourceOptions(parent=self, depends_on=waited)
        policy: pulumi.Resource
        if support is not None:
            manifest = traffic_policy_manifest(
                support, name=policy_name, namespace=namespace, route_name=route_name, protection=spec, wait=wait
            )
            policy = self._object(manifest, policy_opts)
        else:
            assert installed is not None
            deferred = installed.apply(
                lambda line: traffic_policy_manifest(
                    line, name=policy_name, namespace=namespace, route_name=route_name, protection=spec, wait=wait
                )
            )
            policy = self._deferred("TrafficPolicy", policy_name, namespace, deferred, policy_opts)
        self.policy = policy  # Python only: what a route waits for
        self.policy_name = policy.urn.apply(lambda _: policy_name)
        self.register_outputs(
            {"policy_name": self.policy_name, "api_keys": self.api_keys, "secret_name": self.secret_name}
        )

    def _deferred(
        self,
        kind: str,
        object_name: str,
        namespace: str,
        manifest: pulumi.Output[dict[str, Any]],
        opts: pulumi.ResourceOptions,
    ) -> k8s.apiextensions.CustomResource:
        """A fixed-name object whose spec is known once the cluster's CRD is read (`auto`)."""
        return k8s.apiextensions.CustomResource(
            object_resource_name(namespace, object_name),
            api_version=BACKEND_API_VERSION,
            kind=kind,
            metadata={
                "name": object_name,
                "namespace": namespace,
                "annotations": manifest.apply(lambda m: m["metadata"].get("annotations") or {}),
                "labels": COMMON_LABELS,
            },
            spec=manifest.apply(lambda m: m["spec"]),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(delete_before_replace=True)),
        )

    def _object(self, manifest: dict[str, Any], opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
        """A fixed-name object (components/k8s_objects.py): named `namespace/name`, replaced delete-first."""
        metadata = manifest["metadata"]
        return k8s.apiextensions.CustomResource(
            object_resource_name(metadata["namespace"], metadata["name"]),
            api_version=manifest["apiVersion"],
            kind=manifest["kind"],
            metadata={**metadata, "labels": COMMON_LABELS},
            spec=manifest["spec"],
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(delete_before_replace=True)),
        )

    def _api_key_secret(
        self, name: str, keys: Mapping[str, Any], namespace: str, secret_name: str
    ) -> k8s.core.v1.Secret:
        """The Secret kgateway reads: one data entry per client (entry name = client id, value = the key)."""
        entries: dict[str, pulumi.Input[str]] = {}
        current: dict[str, pulumi.Input[str]] = {}
        if keys.get("keys") is not None:
            current = dict(keys["keys"])
            entries.update(current)
        else:
            rotation = keys.get("rotation") or "1"
            previous = keys.get("previous_rotation")
            for client in keys.get("clients") or ["default"]:
                # The rotation is in the resource name: a new rotation is a new random key (created, then the
                # Secret switched to it, then the old one deleted); the previous rotation's resource is kept.
                current[client] = self._random_key(name, client, rotation)
                if previous is not None:
                    entries[f"{client}.previous"] = self._random_key(name, client, previous)
            entries.update(current)
        # Secret from the start (also for provided keys given as plain strings): never plain in the state or a diff.
        data: pulumi.Output[dict[str, str]] = pulumi.Output.all(**entries).apply(_secret_data)
        keys_out: pulumi.Output[dict[str, str]] = pulumi.Output.all(**current).apply(_secret_keys)
        self.api_keys = keys_out
        return k8s.core.v1.Secret(
            object_resource_name(namespace, secret_name),
            metadata=k8s.meta.v1.ObjectMetaArgs(name=secret_name, namespace=namespace, labels=COMMON_LABELS),
            type="Opaque",
            data=data,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )

    def _random_key(self, name: str, client: str, rotation: str) -> pulumi.Output[str]:
        """256 random bits from the random provider's crypto RNG, made once and kept in the state (a secret)."""
        key = random.RandomBytes(
            f"{name}-api-key-{client}-{rotation}",
            length=GENERATED_KEY_BYTES,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return key.hex
