"""Route protection from stack config (issue 19): the `protection` key and a routes entry's own, the secret
`providedApiKeys`, refusals naming the key, value and rule (the component's own words), a kind the pinned line
lacks refused with the line that has it, and the preflight validating every emitted TrafficPolicy and
GatewayExtension against the chosen line's real CRDs."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from program.config import ConfigError, MappingConfigSource, load_settings
from program.crd_validation import schema_errors
from program.preflight import objects, preflight_problems
from tools.engine import stack_config

BASE = {"aws:region": "us-east-1", "kgateway-lambda:kgatewayVersion": "v2.3"}


def load(extra: dict[str, Any], secret: set[str] | None = None) -> Any:
    values = {**BASE, **{k: json.dumps(v) if not isinstance(v, str) else v for k, v in extra.items()}}
    return load_settings(MappingConfigSource(values, secret or set()))


def refused(extra: dict[str, Any], secret: set[str] | None = None) -> str:
    with pytest.raises(ConfigError) as error:
        load(extra, secret)
    return str(error.value)


def test_the_example_stack_reads_a_default_and_a_routes_own_protection() -> None:
    config, secret_keys = stack_config("protected")
    settings = load_settings(MappingConfigSource(config, set(secret_keys)))
    echo, partner = settings.targets[0].routes
    assert echo.protection is not None and partner.protection is not None
    assert echo.protection["api_keys"]["key_sources"] == [{"header": "x-api-key"}, {"query": "api_key"}]
    assert echo.protection["rate_limit"] == {"requests_per_minute": 120, "burst": 20}
    assert echo.protection["cors"]["max_age_seconds"] == 600
    # The partner route's own protection replaces the default: a JWT instead of API keys.
    assert "api_keys" not in partner.protection and partner.protection["jwt"]["audiences"] == ["echo"]
    assert partner.protection["jwt"]["jwks_backend"] == {"name": "issuer", "port": 443}


def test_the_example_stacks_objects_pass_every_line_that_has_its_kinds() -> None:
    config, secret_keys = stack_config("protected")
    for line in ("v2.2", "v2.3", "v2.4", "main", "auto"):
        settings = load_settings(
            MappingConfigSource({**config, "kgateway-lambda:kgatewayVersion": line}, set(secret_keys))
        )
        kinds = [manifest["kind"] for _, manifest in objects(settings)]
        assert kinds.count("TrafficPolicy") == 2 and kinds.count("GatewayExtension") == 1, line
        assert preflight_problems(settings) == [], line


def test_a_kind_the_pinned_line_lacks_is_refused_with_the_first_line_that_has_it() -> None:
    text = refused(
        {"kgateway-lambda:kgatewayVersion": "v2.0", "kgateway-lambda:protection": {"cors": {"allowOrigins": ["*"]}}}
    )
    assert (
        "kgateway-lambda:protection.cors = '(set)': protection cors (TrafficPolicy cors) is not available on " in text
    )
    assert "first in kgateway v2.1" in text and "example: kgatewayVersion v2.1" in text
    ip = refused({"kgateway-lambda:kgatewayVersion": "v2.2", "kgateway-lambda:protection": {"ipAllow": ["10.0.0.0/8"]}})
    assert "protection.ipAllow" in ip and "first in kgateway v2.3" in ip
    # The local rate limit is on every line.
    load(
        {
            "kgateway-lambda:kgatewayVersion": "v2.0",
            "kgateway-lambda:protection": {"rateLimit": {"requestsPerSecond": 5}},
        }
    )


@pytest.mark.parametrize(
    ("protection", "message"),
    [
        ({"rateLimit": {"requestsPerSecond": 1000, "burst": 5}}, "protection.rateLimit.burst = 5: must be a whole"),
        (
            {"cors": {"allowOrigin": ["*"]}},
            "protection.cors.allowOrigin = '(set)': is not a field; use allowCredentials",
        ),
        ({"retry": {"retryOn": ["5xx"]}}, "protection.retry.retryOn = '5xx': may run the function again"),
        ({"timeout": "1.5s"}, "protection.timeout = '1.5s': must be a duration"),
        ({"rateLimits": {}}, "protection.rateLimits = '(set)': is not a field; use apiKeys"),
        ({"apiKeys": {"keySources": [{"header": "a", "query": "b"}]}}, "exactly one of header, query and cookie"),
    ],
)
def test_bad_protection_is_refused_naming_the_key_value_and_rule(protection: dict[str, Any], message: str) -> None:
    assert message in refused({"kgateway-lambda:protection": protection})


def test_a_routes_entry_is_named_by_its_place() -> None:
    text = refused(
        {
            "kgateway-lambda:routes": [
                {"path": "/a"},
                {"path": "/b", "protection": {"rateLimit": {"requestsPerMinute": 0}}},
            ]
        }
    )
    assert "kgateway-lambda:routes[1].protection.rateLimit.requestsPerMinute = 0" in text


def test_an_empty_protection_turns_the_default_off_for_that_route() -> None:
    settings = load(
        {
            "kgateway-lambda:protection": {"rateLimit": {"requestsPerSecond": 5}},
            "kgateway-lambda:routes": [{"path": "/a"}, {"path": "/open", "protection": {}}],
        }
    )
    limited, open_route = settings.targets[0].routes
    assert limited.protection == {"rate_limit": {"requests_per_second": 5}} and open_route.protection is None


KEY = "Partner-Key-0123456789-abcdef"


def test_provided_keys_come_from_secret_config_and_are_never_shown() -> None:
    keys = {"kgateway-lambda:providedApiKeys": json.dumps({"partner": KEY})}
    protection = {"kgateway-lambda:protection": {"apiKeys": {"provided": ["partner"]}}}
    plain = refused({**keys, **protection})
    # The key's value is never shown (the redactor hides every part of a secret-by-name key, client ids too).
    assert "providedApiKeys = [secret]: must be stored encrypted" in plain and KEY not in plain
    settings = load({**keys, **protection}, {"kgateway-lambda:providedApiKeys"})
    assert set(settings.targets[0].routes[0].protection["api_keys"]["keys"]) == {"partner"}
    short = refused(
        {"kgateway-lambda:providedApiKeys": json.dumps({"partner": "short"}), **protection},
        {"kgateway-lambda:providedApiKeys"},
    )
    assert "providedApiKeys.partner = [secret]: must be 16 to 4096" in short and "'short'" not in short
    assert "(1 problem(s))" in short
    unknown = refused(
        {**keys, "kgateway-lambda:protection": {"apiKeys": {"provided": ["mobile"]}}},
        {"kgateway-lambda:providedApiKeys"},
    )
    assert "protection.apiKeys.provided = 'mobile': must name a client id set in the secret config" in unknown


def test_the_preflight_reports_what_the_crd_refuses_on_the_protection_key() -> None:
    """A protection past the config checks (built directly) that v2.3's CRD refuses: `*` beside another origin
    (CEL). The refusal names the protection key the field came from and the CRD rule."""
    settings = load({"kgateway-lambda:protection": {"cors": {"allowOrigins": ["https://a.example.com"]}}})
    route = settings.targets[0].routes[0]
    bad = dataclasses.replace(route, protection={"cors": {"allow_origins": ["*", "https://a.example.com"]}})
    bad = dataclasses.replace(bad, origins={**route.origins})
    target = dataclasses.replace(settings.targets[0], routes=(bad,))
    problems = preflight_problems(dataclasses.replace(settings, targets=(target,)))
    assert [p.key for p in problems] == ["kgateway-lambda:protection.cors"]
    assert "TrafficPolicy 'echo-protection'" in str(problems[0]) and "AllowOrigins cannot contain" in str(problems[0])


def test_a_timeout_is_the_route_rules_and_passes_every_line() -> None:
    for line in ("v2.0", "v2.2", "main"):
        settings = load({"kgateway-lambda:kgatewayVersion": line, "kgateway-lambda:protection": {"timeout": "45s"}})
        kinds = {m["kind"]: m for _, m in objects(settings)}
        # No TrafficPolicy `timeouts`: on v2.2+ the route's one policy holds only the Lambda body limit (issue 18).
        assert "TrafficPolicy" not in kinds or set(kinds["TrafficPolicy"]["spec"]) == {"targetRefs", "buffer"}
        assert kinds["HTTPRoute"]["spec"]["rules"][0]["timeouts"] == {"request": "45s"}
        assert preflight_problems(settings) == []


def test_the_example_stack_plans_with_its_keys_secret() -> None:
    from tools.plan import plan, plan_document

    run = plan("protected")
    document = plan_document(run)
    types = [entry["type"].rsplit(":", 1)[1] for entry in document["resources"]]
    assert types.count("TrafficPolicy") == 2 and types.count("GatewayExtension") == 1
    assert types.count("RandomBytes") == 2  # web and mobile, on the default-protected route
    assert "api_keys" in run.secret_outputs


def test_a_client_id_header_is_refused_where_the_function_gets_only_the_body() -> None:
    """payloadTransformMode None (the default from v2.1) hands the function only the body: a header set for it is a
    promise the gateway cannot keep (issue 27); in Envoy mode the header reaches the function."""
    protection = {"apiKeys": {"clients": ["web"], "clientIdHeader": "x-client-id"}}
    text = refused({"kgateway-lambda:protection": protection})
    assert "kgateway-lambda:protection.apiKeys.clientIdHeader = 'x-client-id': never reaches the function" in text
    explicit = refused({"kgateway-lambda:protection": protection, "kgateway-lambda:payloadTransformMode": "None"})
    assert "apiKeys.clientIdHeader" in explicit
    settings = load({"kgateway-lambda:protection": protection, "kgateway-lambda:payloadTransformMode": "Envoy"})
    assert settings.targets[0].routes[0].protection["api_keys"]["client_id_header"] == "x-client-id"


def test_a_jwt_needs_its_issuer_and_audiences_or_the_opt_out_in_words() -> None:
    jwt = {"jwksInline": '{"keys": []}'}
    text = refused({"kgateway-lambda:protection": {"jwt": jwt}})
    assert "kgateway-lambda:protection.jwt.issuer = (unset): is required" in text
    assert "kgateway-lambda:protection.jwt.audiences = (unset): is required" in text
    loose = load({"kgateway-lambda:protection": {"jwt": {**jwt, "allowAnyIssuer": True, "allowAnyAudience": True}}})
    assert loose.targets[0].routes[0].protection["jwt"]["allow_any_audience"] is True


def route_methods(extra: dict[str, Any]) -> list[str | None]:
    settings = load(extra)
    (route,) = [manifest for _, manifest in objects(settings) if manifest["kind"] == "HTTPRoute"]
    return [match.get("method") for match in route["spec"]["rules"][0]["matches"]]


def test_a_cors_route_limited_to_methods_also_matches_the_preflight() -> None:
    """A preflight (OPTIONS) that matches no rule gets 404 before Envoy's CORS filter sees it (issue 27): where the
    route's protection has CORS, its methods gain OPTIONS; without CORS, the route matches what the user wrote."""
    routes = [{"path": "/echo", "methods": ["GET", "POST"]}]
    cors = {"cors": {"allowOrigins": ["https://app.example.com"]}}
    assert route_methods({"kgateway-lambda:routes": routes, "kgateway-lambda:protection": cors}) == [
        "GET",
        "POST",
        "OPTIONS",
    ]
    assert route_methods({"kgateway-lambda:routes": routes}) == ["GET", "POST"]
    with_options = [{"path": "/echo", "methods": ["OPTIONS", "GET"]}]
    assert route_methods({"kgateway-lambda:routes": with_options, "kgateway-lambda:protection": cors}) == [
        "OPTIONS",
        "GET",
    ]
    assert route_methods({"kgateway-lambda:routes": [{"path": "/echo"}], "kgateway-lambda:protection": cors}) == [None]


LISTENER_POLICY_CRDS = Path(__file__).parent / "data" / "kgateway-listenerpolicy"


def test_the_documented_listener_policy_passes_kgateways_crds_and_the_copies_are_the_upstream_files() -> None:
    """docs/protection.md tells the Gateway's owner how to make `ipAllow` read the real client address; the
    example must be what the API server of every line with `ipAllow` (v2.3+) accepts."""
    text = (Path(__file__).parent.parent / "docs" / "protection.md").read_text()
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "kind: ListenerPolicy" in b]
    policy = yaml.safe_load(block)
    assert policy["spec"]["default"]["httpSettings"] == {"xffNumTrustedHops": 1}
    sources = (LISTENER_POLICY_CRDS / "SOURCES.md").read_text()
    crds = sorted(LISTENER_POLICY_CRDS.glob("*.yaml"))
    assert [crd.name for crd in crds] == [
        "kgateway-main-354c0f6-listenerpolicies.yaml",
        "kgateway-v2.3.x-1eb924f-listenerpolicies.yaml",
    ]
    for crd in crds:
        assert hashlib.sha256(crd.read_bytes()).hexdigest() in sources, crd.name
        assert schema_errors(policy, crd, "v1alpha1") == [], crd.name
        # The CRD's own rules apply (so a pass means something): trusted hops and CIDRs are exclusive.
        both = copy.deepcopy(policy)
        both["spec"]["default"]["httpSettings"]["xffTrustedCIDRs"] = ["10.0.0.0/8"]
        assert any("only one of xffNumTrustedHops" in e for e in schema_errors(both, crd, "v1alpha1")), crd.name


def test_a_client_id_header_is_refused_for_the_functions_discover_finds() -> None:
    """A found function's Backend is made in the default payloadTransformMode (None): it would never see the
    header the stack-wide protection promises it."""
    text = refused(
        {
            "kgateway-lambda:functions": [],
            "kgateway-lambda:discover": {"tag": "kgateway-lambda:path"},
            "kgateway-lambda:protection": {"apiKeys": {"clientIdHeader": "x-client-id"}},
        }
    )
    assert "kgateway-lambda:protection.apiKeys.clientIdHeader = 'x-client-id': never reaches the function" in text
    assert "(functions found by discover)" in text
