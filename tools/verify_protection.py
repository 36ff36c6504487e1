"""`verify` on a protected route: each protection is checked so that it fails for each way it can be wrong.

A refusal counts only as the exact status the protection gives (program/crds/TRAFFICPOLICY.md, each line that has
the kind): 401 for a missing or unknown API key (§1, Envoy `api_key_auth.cc`; kgateway never sets
`allowed_clients`, so no 403), 401 for a missing or invalid JWT (§2, Envoy `jwt_authn/filter.cc`), 429 for the
local rate limit (§5, Envoy's default status; kgateway sets none). Anything else (a 500 from an invalid policy, a
502, a 404) fails the step with what came back. kgateway v2.0 has only the rate limit of these (the others are
refused before deploy), and its 429 is the same.

Keys and JWT on one route: kgateway adds each as its own Envoy filter at the AuthN stage, enabled per route
(TRAFFICPOLICY.md §1 "Filter wiring", §2; stage order from kgateway `pkg/pluginsdk/filters/stages.go`), and each
filter refuses on its own, so both are required: a key without a token is refused, a token without a key too.

Secrets (the keys from the secret output `api_keys`, the token given with `--jwt`/`--jwt-file`) are sent, never
shown: a result names a client id or a key source, never a key or a token.
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

# The statuses that are refusals, and nothing else (module docstring).
REFUSED_NO_CREDENTIALS = 401
RATE_LIMITED = 429
# ipAllow's refusal (TRAFFICPOLICY.md §6: `denyResponse.statusCode` defaults to 403; v2.3+): named in hints only.
IP_DENIED = 403

# More requests than this in one burst are not sent: a bucket larger than it is not checked (said in the result).
MAX_BURST_REQUESTS = 300
# The burst's requests in flight at once (bounded: verify must not become a load test).
BURST_CONCURRENCY = 16
# The burst is sized to be over the bucket if it is sent within this many seconds (refills during it included).
BURST_WINDOW_SECONDS = 1.0
# Where Envoy's jwt_authn reads a token when the provider names no source: `Authorization: Bearer <token>`
# (envoy api/envoy/extensions/filters/http/jwt_authn/v3/config.proto, `from_headers` default).
DEFAULT_JWT_SOURCE = ("header", "Authorization", "Bearer ")


@dataclass(frozen=True)
class Bucket:
    """Envoy's token bucket of one replica: `tokens_per_fill` added every `fill_seconds`, at most `max_tokens`."""

    max_tokens: int
    tokens_per_fill: int
    fill_seconds: float

    def admits_at_most(self, seconds: float, replicas: int) -> int:
        """The most requests `replicas` buckets (full at the start) let through in `seconds`: each full bucket,
        plus every fill that can fall within the time (one more than whole intervals: a fill may come at once)."""
        fills = math.floor(seconds / self.fill_seconds) + 1
        return replicas * (self.max_tokens + self.tokens_per_fill * fills)


@dataclass(frozen=True)
class Protection:
    """What a protected route must show (from the stack's `verify` output; keys from the secret `api_keys`)."""

    # Each place the API key may go: ("header" | "query" | "cookie", name), in the policy's order; none: no keys.
    key_sources: tuple[tuple[str, str], ...] = ()
    # (client id, key) for every client of the route's Secret; never shown in a result.
    api_keys: tuple[tuple[str, str], ...] = ()
    # A JWT is required; where it goes ("header", name, prefix) or ("query", name, None).
    jwt: bool = False
    jwt_source: tuple[str, str, str | None] = DEFAULT_JWT_SOURCE
    # The token the user gave (`--jwt`, `--jwt-file`); never shown in a result.
    jwt_token: str | None = None
    # CORS: an allowed origin and method a preflight must get back.
    cors_origin: str | None = None
    cors_method: str | None = None
    bucket: Bucket | None = None
    # Gateway replicas: each has its own bucket (TRAFFICPOLICY.md §5 "Per Envoy replica").
    replicas: int = 1
    ip_allow: bool = False

    @property
    def has_keys(self) -> bool:
        return bool(self.key_sources)

    @property
    def needs_credentials(self) -> bool:
        return self.has_keys or self.jwt


# A request's credentials: (kind, name, value) each, kind "header" | "query" | "cookie".
Credentials = tuple[tuple[str, str, str], ...]
# Sends one request with these credentials: (status, body).
Send = Callable[[Credentials, float], tuple[int, str]]
# Whether an answer is the function's, and what came back.
Judge = Callable[[int, str], tuple[bool, str]]


def key_credential(source: tuple[str, str], key: str) -> tuple[str, str, str]:
    return (source[0], source[1], key)


def token_credential(protection: Protection, token: str) -> tuple[str, str, str]:
    kind, name, prefix = protection.jwt_source
    return (kind, name, f"{prefix or ''}{token}")


def tampered(token: str) -> str:
    """The token with one character of its signature changed (a middle one: the last may be padding bits only)."""
    head, _, signature = token.rpartition(".")
    if not signature:
        return token + "x"
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{signature[:middle]}{swapped}{signature[middle + 1 :]}"


def wrong_key(protection: Protection) -> str:
    """A key no client has, shaped like the route's keys (so only its value is wrong)."""
    length = max((len(key) for _, key in protection.api_keys), default=64)
    known = {key for _, key in protection.api_keys}
    while (candidate := secrets.token_hex(length)[:length]) in known:
        pass
    return candidate


def _refused(status: int, body: str, expected: int, what: str) -> tuple[bool, str]:
    passed = status == expected
    text = f"{what} expected HTTP {expected}, got HTTP {status}"
    if not passed:
        if status == 200 or 200 < status < 300:
            text += f": let in ({body[:80]!r})"
        elif status == IP_DENIED:
            text += ": 403 (is this address outside the route's ipAllow? a wrong JWT audience?)"
        elif status >= 500:
            text += f": the route is broken, not refusing (kgateway answers 500 for an invalid policy): {body[:80]!r}"
        else:
            text += f": {body[:80]!r}"
    return passed, text


def auth_steps(protection: Protection, send: Send, judge: Judge, timeout: float) -> list[tuple[bool, str]]:
    """The API key and JWT steps: refused without, each source and client let in, wrong ones refused."""
    steps: list[tuple[bool, str]] = []
    if not protection.needs_credentials:
        return steps
    status, body = send((), timeout)
    steps.append(_refused(status, body, REFUSED_NO_CREDENTIALS, "without credentials"))
    if protection.has_keys and not protection.api_keys:
        steps.append((False, "no API key in the outputs: read them with `pulumi stack output --show-secrets`"))
        return steps
    token = protection.jwt_token
    with_token: Credentials = (token_credential(protection, token),) if protection.jwt and token else ()
    first_source = protection.key_sources[0] if protection.has_keys else None
    first_key: Credentials = (
        (key_credential(first_source, protection.api_keys[0][1]),) if first_source is not None else ()
    )
    if protection.jwt and token is None:
        if first_source is not None:
            status, body = send(first_key, timeout)
            steps.append(_refused(status, body, REFUSED_NO_CREDENTIALS, "with a key but no JWT"))
        steps.append(
            (True, "NOT CHECKED: JWT acceptance (a valid token is let in, a tampered one refused): give --jwt-file")
        )
        return steps
    if protection.jwt and token is not None:
        status, body = send((*first_key, token_credential(protection, token)), timeout)
        passed, got = judge(status, body)
        steps.append(
            (passed, f"with a valid JWT{' and a key' if first_key else ''} expected the function's answer, got {got}")
        )
        status, body = send((*first_key, token_credential(protection, tampered(token))), timeout)
        steps.append(_refused(status, body, REFUSED_NO_CREDENTIALS, "with a tampered JWT"))
        if first_key:
            status, body = send(first_key, timeout)
            steps.append(_refused(status, body, REFUSED_NO_CREDENTIALS, "with a key but no JWT"))
            status, body = send(with_token, timeout)
            steps.append(_refused(status, body, REFUSED_NO_CREDENTIALS, "with a JWT but no key"))
    if first_source is None:
        return steps
    client, key = protection.api_keys[0]
    wrong = wrong_key(protection)
    for source in protection.key_sources:
        where = f"{source[0]} {source[1]!r}"
        status, body = send((key_credential(source, key), *with_token), timeout)
        passed, got = judge(status, body)
        steps.append((passed, f"client {client}'s key in {where} expected the function's answer, got {got}"))
        status, body = send((key_credential(source, wrong), *with_token), timeout)
        steps.append(_refused(status, body, REFUSED_NO_CREDENTIALS, f"a wrong key in {where}"))
    for client, key in protection.api_keys[1:]:
        status, body = send((key_credential(first_source, key), *with_token), timeout)
        passed, got = judge(status, body)
        steps.append((passed, f"client {client}'s key expected the function's answer, got {got}"))
    return steps


def burst_credentials(protection: Protection) -> Credentials | None:
    """What each request of the burst carries (it must be let in until the bucket is empty); None: none will do."""
    credentials: list[tuple[str, str, str]] = []
    if protection.has_keys:
        if not protection.api_keys:
            return None
        credentials.append(key_credential(protection.key_sources[0], protection.api_keys[0][1]))
    if protection.jwt:
        if protection.jwt_token is None:
            return None
        credentials.append(token_credential(protection, protection.jwt_token))
    return tuple(credentials)


def burst_size(bucket: Bucket, replicas: int) -> int:
    """Requests enough to empty every replica's bucket and what refills while they are sent, plus a margin."""
    over = bucket.admits_at_most(BURST_WINDOW_SECONDS, replicas)
    return over + max(5, over // 4)


def burst_step(
    protection: Protection,
    send: Send,
    judge: Judge,
    timeout: float,
    now: Callable[[], float] = time.monotonic,
) -> tuple[bool, str]:
    """A concurrent burst past the bucket(s): some 429, every other answer the function's, and no more let in than
    the buckets can admit in the time the burst took."""
    bucket = protection.bucket
    assert bucket is not None
    credentials = burst_credentials(protection)
    if credentials is None:
        return True, "NOT CHECKED: the rate limit (the burst needs credentials verify does not have)"
    count = burst_size(bucket, protection.replicas)
    if count > MAX_BURST_REQUESTS:
        return (
            True,
            f"NOT CHECKED: the rate limit (past these buckets takes {count} requests; verify sends at most "
            + (f"{MAX_BURST_REQUESTS})"),
        )
    start = now()
    with ThreadPoolExecutor(max_workers=min(BURST_CONCURRENCY, count)) as pool:
        answers = list(pool.map(lambda _: send(credentials, timeout), range(count)))
    took = now() - start
    limited = sum(status == RATE_LIMITED for status, _ in answers)
    admitted = sum(judge(status, body)[0] for status, body in answers if status != RATE_LIMITED)
    others = sorted({status for status, body in answers if status != RATE_LIMITED and not judge(status, body)[0]})
    most = bucket.admits_at_most(took, protection.replicas)
    replicas = f"{protection.replicas} replica{'s' if protection.replicas != 1 else ''}"
    text = (
        f"a concurrent burst of {count} in {took:.2f}s ({replicas} x {bucket.max_tokens} tokens, "
        f"{bucket.tokens_per_fill} per {bucket.fill_seconds:g}s) expected HTTP 429 past at most {most} let in, "
        f"got {admitted} let in and {limited} HTTP 429"
    )
    if others:
        return False, text + f" and other answers (HTTP {', '.join(map(str, others))}): not the function's, not 429"
    if admitted > most:
        return False, text + ": more let in than the buckets hold (the limit is looser, or is --replicas too low?)"
    if limited == 0:
        return False, text + f": sent too slowly to be past the buckets (over {BURST_WINDOW_SECONDS:g}s); run nearer"
    return True, text


def ip_allow_step(protection: Protection) -> tuple[bool, str] | None:
    if not protection.ip_allow:
        return None
    return (
        True,
        "NOT CHECKED: ipAllow (verify sends from one address; that other addresses get HTTP 403, and which address "
        "the gateway sees behind a load balancer, cannot be seen from here: docs/protection.md)",
    )


def protection_from(
    described: Any, route_keys: Any, jwt_token: str | None = None, replicas: int = 1
) -> Protection | None:
    """A route's protection as the stack's `verify` output describes it, with its clients' keys when known."""
    if not isinstance(described, dict):
        return None
    sources_found = described.get("keySources")
    if sources_found is None and isinstance(described.get("keySource"), list):  # outputs before every source
        sources_found = [described["keySource"]]
    key_sources = tuple((str(s[0]), str(s[1])) for s in sources_found or () if isinstance(s, list) and len(s) == 2)
    keys = tuple(sorted((str(c), str(k)) for c, k in route_keys.items())) if isinstance(route_keys, dict) else ()
    found = described.get("cors")
    cors: dict[str, Any] = found if isinstance(found, dict) else {}
    limit = described.get("rateLimit")
    bucket = None
    if isinstance(limit, dict):
        bucket = Bucket(
            int(limit["maxTokens"]), int(limit["tokensPerFill"]), duration_seconds(str(limit["fillInterval"]))
        )
    source = described.get("jwtSource")
    protection = Protection(
        key_sources=key_sources,
        api_keys=keys,
        jwt=described.get("jwt") is True,
        jwt_token=jwt_token,
        cors_origin=cors.get("origin"),
        cors_method=cors.get("method"),
        bucket=bucket,
        replicas=replicas,
        ip_allow=described.get("ipAllow") is True,
    )
    if isinstance(source, list) and len(source) == 3:
        protection = replace(protection, jwt_source=(str(source[0]), str(source[1]), source[2]))
    return protection


def duration_seconds(text: str) -> float:
    """A fill interval as kgateway writes it (`1m`, `1s`, `500ms`: components/protection_spec.py)."""
    for suffix, scale in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if text.endswith(suffix) and text[: -len(suffix)].isdigit():
            return int(text[: -len(suffix)]) * scale
    raise ValueError(f"fill interval {text!r}: expected whole ms, s, m or h")
