"""Route protection's checks: each value of `RouteProtectionArgs` against kgateway's CRD rules and Envoy's behaviour,
reported through an `InputChecker` with the key, the value, what is allowed and an example. The stack's config
reader and the components call the same checks, so both doors refuse the same values with the same words.
"""

import ipaddress
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from .protection_inputs import JwksBackendKind, RouteProtectionArgs
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
    pending,
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


def _distinct(values: list[Any]) -> bool:
    """No value twice (values of any JSON shape: a list or mapping in a list of names is no crash)."""
    texts = [json.dumps(value, sort_keys=True, default=str) for value in values]
    return len(set(texts)) == len(texts)


def _section(checker: InputChecker, name: str, value: Any) -> Mapping[str, Any] | None:
    """A protection's section (`apiKeys`, `jwt`, ...) when it is a mapping; anything else is refused by name (a
    list where a mapping belongs), and a value not known yet is left to when it is (None: nothing to check)."""
    if value is None or pending(value):
        return None
    if not isinstance(value, Mapping):
        checker.fail(name, value, "must be a mapping of fields", "{...}")
        return None
    return value


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
    if isinstance(clients, list) and (not clients or not _distinct(clients)):
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
    check_jwt_audience_and_issuer(checker, jwt, prefix)
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
    if jwt.get("claims_to_headers") is not None:
        checker.fail(
            f"{prefix}claimsToHeaders",
            "(set)",
            "is refused: in payloadTransformMode None the function receives only the body, so the headers never "
            "reach it; in Envoy mode Envoy's jwt_authn adds a claim's header only when the token has the claim, so "
            "a client-sent header of that name reaches the function as if the gateway had set it, and no kgateway "
            "line shipped here can strip it before authentication (headerModifiers run after it); set "
            "forwardToken: true and read the claims from the verified token",
            "unset",
        )
    claims = jwt.get("claims_to_headers")
    if claims is not None and not isinstance(claims, Mapping):
        checker.fail(f"{prefix}claimsToHeaders", claims, "must map claims to header names", "{sub: x-user}")
    for claim, header in (claims if isinstance(claims, Mapping) else {}).items():
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


def _first_repeated(values: list[Any]) -> Any:
    """The first item that appears twice (compared as the API server compares a set's items: by their JSON)."""
    seen: set[str] = set()
    for value in values:
        text = json.dumps(value, sort_keys=True, default=str)
        if text in seen:
            return value
        seen.add(text)
    return None


def check_jwt_audience_and_issuer(checker: InputChecker, jwt: Mapping[str, Any], prefix: str) -> None:
    """Envoy's jwt_authn checks `iss` only when the provider names an issuer and `aud` only when it lists audiences
    (envoyproxy/envoy api/envoy/extensions/filters/http/jwt_authn/v3/config.proto @ 0016b9515b1b, JwtProvider
    `issuer`, `audiences`): without them any token signed by a key in the JWKS gets in, and a public JWKS (an
    identity provider's shared one) signs tokens for every application of every account. Both are required, or
    refused in words the user chose (`allowAnyIssuer`, `allowAnyAudience`)."""
    for value_key, value_name, opt_out_key, opt_out_name, example in (
        ("issuer", "issuer", "allow_any_issuer", "allowAnyIssuer", "https://issuer.example.com"),
        ("audiences", "audiences", "allow_any_audience", "allowAnyAudience", "[api]"),
    ):
        opt_out = jwt.get(opt_out_key)
        if opt_out is not None and not isinstance(opt_out, bool):
            checker.fail(f"{prefix}{opt_out_name}", opt_out, "must be true or false", "false")
            continue
        given = jwt.get(value_key) is not None
        if opt_out is True and given:
            checker.fail(f"{prefix}{opt_out_name}", opt_out, f"contradicts {value_name}: give one of them", "unset")
        elif opt_out is not True and not given:
            checker.fail(
                f"{prefix}{value_name}",
                None,
                f"is required: without it Envoy does not check the token's "
                f"{'iss' if value_key == 'issuer' else 'aud'}, so a token any party got from a key in the JWKS "
                f"gets in; set {opt_out_name}: true only if that is really meant",
                example,
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
        if not isinstance(values, list) or not 1 <= len(values) <= allowed or not _distinct(values):
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
    elif isinstance(origins, list) and (repeated := _first_repeated(origins)) is not None:
        # Every line's TrafficPolicy CRD declares the list `x-kubernetes-list-type: set`: the API server refuses it.
        once = [origin for index, origin in enumerate(origins) if origin not in origins[:index]]
        checker.fail(
            f"{prefix}allowOrigins", repeated, "must list each origin once (the CRD's list is a set)", str(once)
        )
    credentials = cors.get("allow_credentials")
    if credentials is not None and not isinstance(credentials, bool):
        checker.fail(f"{prefix}allowCredentials", credentials, "must be true or false", "false")
    if credentials is True and isinstance(origins, list) and "*" in origins:
        # The Fetch standard refuses `Access-Control-Allow-Origin: *` on a credentialed request (fetch.spec.whatwg.org,
        # "CORS check"), but Envoy's CORS filter answers an allowed origin with the request's own Origin, never `*`
        # (envoyproxy/envoy source/extensions/filters/http/cors/cors_filter.cc, `decodeHeaders`:
        # `setInline(access_control_allow_origin_handle, origin)`), so browsers accept it: any web site could call
        # the route with its visitor's cookies.
        checker.fail(
            f"{prefix}allowCredentials",
            True,
            "cannot go with allowOrigins [*]: the gateway would echo every Origin with credentials allowed, so any "
            "web site could call the route as its visitor; list the origins that may send credentials",
            "allowOrigins: [https://app.example.com]",
        )
    checker.integer(f"{prefix}maxAgeSeconds", cors.get("max_age_seconds"), 1, MAX_INT32, 600)


def smallest_exact_fill(rate: int, period_ms: int) -> tuple[int, int]:
    """(tokens per fill, fill interval in ms): the smallest whole-token fill giving exactly `rate` per period, at
    least 50 ms apart (Envoy refuses faster fill timers; the v2.2+ CRDs say the same)."""
    common = math.gcd(rate, period_ms)
    tokens, interval = rate // common, period_ms // common
    scale = -(-MIN_FILL_MS // interval)  # ceil
    return tokens * scale, interval * scale


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
    smallest, _ = smallest_exact_fill(rate_value, 1_000 if per_second is not None else 60_000)
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
    """A route's protection, against kgateway's CRD rules and Envoy's behaviour (the line is checked separately).
    Any JSON may reach it (the config reader, other languages): each section's shape is checked before it is read."""
    if _section(checker, prefix.rstrip(".") or "protection", args) is None:
        return
    known = set(RouteProtectionArgs.__annotations__)
    for key in args:
        if key not in known:
            checker.fail(
                f"{prefix}{key}", "(set)", f"is not a protection; use {', '.join(sorted(known))}", "rate_limit"
            )
    if (keys := _section(checker, f"{prefix}apiKeys", args.get("api_keys"))) is not None:
        check_api_keys(checker, keys, f"{prefix}apiKeys.")
    if (jwt := _section(checker, f"{prefix}jwt", args.get("jwt"))) is not None:
        check_jwt(checker, jwt, f"{prefix}jwt.")
    if (cors := _section(checker, f"{prefix}cors", args.get("cors"))) is not None:
        check_cors(checker, cors, f"{prefix}cors.")
    if (limit := _section(checker, f"{prefix}rateLimit", args.get("rate_limit"))) is not None:
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
    if (retry := _section(checker, f"{prefix}retry", args.get("retry"))) is not None:
        check_retry(checker, retry, f"{prefix}retry.", args.get("timeout"))
    size = args.get("max_request_size")
    checker.rule(f"{prefix}maxRequestSize", size, QUANTITY)
    if isinstance(size, str) and (problem := max_request_size_problem(size)) is not None:
        checker.fail(f"{prefix}maxRequestSize", size, problem, QUANTITY.example)


def check_client_id_forwarding(
    checker: InputChecker, args: Mapping[str, Any], payload_mode: str | None, prefix: str = ""
) -> None:
    """`apiKeys.clientIdHeader` adds a request header, and a Lambda Backend in payloadTransformMode None (the
    default from v2.1) hands the function only the request body (kgateway `api/v1alpha1/kgateway/backend_types.go`
    `PayloadTransformMode`; docs/functions.md): the function would never see it, so it is refused there."""
    keys = args.get("api_keys")
    if not isinstance(keys, Mapping) or keys.get("client_id_header") is None or payload_mode == "Envoy":
        return
    checker.fail(
        f"{prefix}apiKeys.clientIdHeader",
        keys.get("client_id_header"),
        f"never reaches the function: in payloadTransformMode {payload_mode or 'None'} (the default) Lambda receives "
        "only the request body; set payloadTransformMode: Envoy, or remove clientIdHeader",
        "unset",
    )
