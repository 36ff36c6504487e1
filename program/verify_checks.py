"""What `tools verify` checks of a deployed stack (the `verify` stack output): one check per route, with the
answer its function must give through kgateway and what its protection must do (tools/verify.py runs them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from components.protection_spec import protection_objects
from program.config import RouteSettings, StackSettings, TargetSettings
from program.guide import EXPECT_ASYNC, EXPECT_ENVOY, EXPECT_GUIDE, EXPECT_STATUS
from program.guide_objects import verify_request
from program.regex_path import sample_path


def route_url(base: str, route: RouteSettings) -> str:
    """Where to send a request for this route, or the Gateway's "no address yet" message unchanged."""
    return base + route.path if base.startswith("http") else base


def verify_url(base: str, route: RouteSettings) -> str | None:
    """Where `verify` sends its request: the route's URL; for a RegularExpression route, at a path the expression
    matches (program/regex_path.py), or None when none is found (no check rather than a 404)."""
    if route.match != "RegularExpression":
        return route_url(base, route)
    path = sample_path(route.path)
    if path is None:
        return None
    return base + path if base.startswith("http") else base


def expected_answer(target: TargetSettings, payload_mode: str | None) -> str:
    """What `verify` must see from this function through kgateway, given the mode its Backend carries."""
    if target.backend.invocation_mode == "Async":
        return EXPECT_ASYNC
    source = target.function.source_dir
    if target.function.existing_arn is not None or source is None or source.name != "echo":
        return EXPECT_STATUS
    return EXPECT_GUIDE if payload_mode == "None" else EXPECT_ENVOY


def verify_protection(protection: Mapping[str, Any], method: str) -> dict[str, Any]:
    """What `verify` must see of a route's protection (plain: where keys and tokens go, never a key): every key
    source in the policy's order, where the JWT goes, the token bucket's three figures, whether ipAllow is set."""
    spec, provider, _, _ = protection_objects(protection, "route")
    described: dict[str, Any] = {"jwt": spec.jwt_extension is not None}
    if provider is not None and provider.token_source is not None:
        kind, name, prefix = provider.token_source
        described["jwtSource"] = [kind, name, prefix]
    if spec.api_keys is not None:
        described["keySources"] = [list(source) for source in spec.api_keys.key_sources]
    if spec.cors is not None:
        origin = spec.cors.allow_origins[0]
        origin = "https://verify.example.com" if origin == "*" else origin.replace("*.", "verify.", 1)
        allowed = [m for m in spec.cors.allow_methods if m != "*"]
        described["cors"] = {"origin": origin, "method": method if not allowed or method in allowed else allowed[0]}
    if spec.rate_limit is not None:
        described["rateLimit"] = {
            "maxTokens": spec.rate_limit.max_tokens,
            "tokensPerFill": spec.rate_limit.tokens_per_fill,
            "fillInterval": spec.rate_limit.fill_interval,
        }
    if spec.ip_allow:
        described["ipAllow"] = True
    return described


def verify_checks(settings: StackSettings, base_url: str, payload_modes: Sequence[str | None]) -> list[dict[str, Any]]:
    """One check per route (a RegularExpression route: at a path it matches, when one is found)."""
    checks: list[dict[str, Any]] = []
    for target, payload_mode in zip(settings.targets, payload_modes, strict=True):
        for route in target.routes:
            url = verify_url(base_url, route)
            if url is None:
                continue
            request = verify_request(route)
            check: dict[str, Any] = {
                "route": route.name,
                "url": url,
                "expect": expected_answer(target, payload_mode),
                "host": request.host,
                "method": request.method,
                "function": target.function.name,
            }
            if route.protection:
                check["protection"] = verify_protection(route.protection, request.method)
            checks.append(check)
    return checks
