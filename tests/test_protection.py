"""Route protection (issue 19): each kind on each kgateway line against the real CRDs, refusals naming the first line
that has a kind, input checks, and the component on the mock engine (secrets, dependencies, rotation)."""

from __future__ import annotations

import base64
import json
import re
import secrets
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.lambda_gateway_route import check_composite_args
from components.protection_checks import check_protection_args
from components.protection_spec import key_secret_name, protection_objects, token_bucket
from components.traffic_policy import (
    TRAFFIC_POLICY_SUPPORT,
    UnsupportedProtectionError,
    jwt_gateway_extension_manifest,
    traffic_policy_manifest,
    traffic_policy_support_from_crd,
)
from components.validation import DNS_SUBDOMAIN_RE, ComponentInputError, InputChecker
from program.crd_validation import BASIS, CRDS, load_yaml, object_errors
from tests.support.fake_aws import FakeAwsMocks
from tools.engine import ProgramRun, is_secret_value, redact, reveal, run_program

RANDOM_BYTES = "random:index/randomBytes:RandomBytes"
SECRET = "kubernetes:core/v1:Secret"
POLICY = "kubernetes:gateway.kgateway.dev/v1alpha1:TrafficPolicy"
EXTENSION = "kubernetes:gateway.kgateway.dev/v1alpha1:GatewayExtension"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
LINES = ("v2.0", "v2.1", "v2.2", "v2.3", "v2.4", "main")

# One protection of each kind, as a user writes it.
KIND_EXAMPLES: dict[str, dict[str, Any]] = {
    "apiKeys": {"api_keys": {"clients": ["mobile"], "key_sources": [{"header": "x-api-key"}, {"query": "api_key"}]}},
    "jwt": {
        "jwt": {
            "issuer": "https://issuer.example.com",
            "audiences": ["orders"],
            "jwks_uri": "https://issuer.example.com/.well-known/jwks.json",
            "jwks_backend": {"name": "issuer", "port": 443},
            "jwks_cache_duration": "10m",
            "token_header": "Authorization",
            "token_prefix": "Bearer ",
        }
    },
    "cors": {
        "cors": {
            "allow_origins": ["https://app.example.com", "https://*.example.org"],
            "allow_methods": ["GET", "POST"],
            "allow_headers": ["content-type", "x-api-key"],
            "expose_headers": ["x-request-id"],
            "allow_credentials": True,
            "max_age_seconds": 600,
        }
    },
    "rateLimit": {"rate_limit": {"requests_per_minute": 120, "burst": 20}},
    "ipAllow": {"ip_allow": ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7"]},
    "retry": {"retry": {"idempotent": True, "attempts": 2, "per_try_timeout": "5s"}},
}


def manifests(args: dict[str, Any], line: str) -> list[dict[str, Any]]:
    """The TrafficPolicy (and GatewayExtension) the component emits for a route `echo` in `team-a`."""
    spec, provider, _, extension = protection_objects(args, "echo")
    support = TRAFFIC_POLICY_SUPPORT[line]
    emitted = [
        traffic_policy_manifest(support, name="echo-protection", namespace="team-a", route_name="echo", protection=spec)
    ]
    if provider is not None and extension is not None:
        emitted.append(jwt_gateway_extension_manifest(support, name=extension, namespace="team-a", provider=provider))
    return emitted


@pytest.mark.parametrize("line", LINES)
@pytest.mark.parametrize("kind", sorted(KIND_EXAMPLES))
def test_each_kind_plans_and_passes_the_lines_crds_or_is_refused_with_the_first_line(kind: str, line: str) -> None:
    args = KIND_EXAMPLES[kind]
    checker = InputChecker("RouteProtection", "echo")
    check_protection_args(checker, args)
    assert checker.problems == []
    if kind in TRAFFIC_POLICY_SUPPORT[line].kinds:
        for manifest in manifests(args, line):
            assert object_errors(manifest, line) == [], (kind, line, manifest["kind"])
    else:
        first = {"ipAllow": "v2.3", "cors": "v2.1", "retry": "v2.1"}.get(kind, "v2.2")
        with pytest.raises(UnsupportedProtectionError, match=rf"protection {kind} .* not available on kgateway {line}"):
            manifests(args, line)
        with pytest.raises(UnsupportedProtectionError, match=rf"first in kgateway {first}"):
            manifests(args, line)


def test_everything_at_once_passes_the_newest_lines() -> None:
    combined = {key: value for example in KIND_EXAMPLES.values() for key, value in example.items()}
    combined["timeout"] = "30s"
    for line in ("v2.3", "v2.4", "main"):
        for manifest in manifests(combined, line):
            assert object_errors(manifest, line) == []
            # The timeout is the route rule's (it overrides a TrafficPolicy's): never a policy field.
            assert "timeouts" not in manifest["spec"]


def test_v2_1_is_validated_against_its_own_release_and_offers_what_its_crd_has() -> None:
    """v2.1.x's own TrafficPolicy CRD (issue 27): CORS, the buffer and retry came to main months before v2.1 was
    cut; API keys and JWT did not. Before, v2.1 refused all but the rate limit (no file to verify against)."""
    assert BASIS["v2.1"].policy_crds == ("kgateway-v2.1.x-0d04052",)
    assert TRAFFIC_POLICY_SUPPORT["v2.1"].kinds == {"cors", "rateLimit", "retry", "requestBody", "streamIdle"}
    for kind in ("cors", "retry"):
        (policy,) = manifests(KIND_EXAMPLES[kind], "v2.1")
        assert object_errors(policy, "v2.1") == []
    with pytest.raises(
        UnsupportedProtectionError, match=r"apiKeys .* not available on kgateway v2\.1.*first in kgateway v2\.2"
    ):
        manifests(KIND_EXAMPLES["apiKeys"], "v2.1")


@pytest.mark.parametrize(
    ("line", "crd"),
    [
        ("v2.0", "kgateway-v2.0.0"),
        ("v2.1", "kgateway-v2.1.x-0d04052"),
        ("v2.2", "kgateway-v2.2.x-207dff9"),
        ("v2.3", "kgateway-v2.3.x-1eb924f"),
        ("v2.4", "kgateway-v2.4.x-6c33df2"),
        ("main", "kgateway-main-354c0f6"),
    ],
)
def test_the_support_table_is_what_each_real_crd_offers(line: str, crd: str) -> None:
    document = load_yaml(CRDS / f"{crd}-trafficpolicies.yaml")
    assert traffic_policy_support_from_crd(document, line).kinds == TRAFFIC_POLICY_SUPPORT[line].kinds


def test_the_rig_refuses_what_each_lines_api_server_refuses() -> None:
    """Strict fields and CEL of the real files: an `acl` on v2.2 (unknown field), a fill interval under 50ms on
    v2.2+ (CEL), a per-try timeout not shorter than the request timeout (CEL), `*` beside other origins (CEL)."""
    policy = manifests(KIND_EXAMPLES["rateLimit"], "main")[0]
    with_acl = {**policy, "spec": {**policy["spec"], "acl": {"defaultAction": "deny"}}}
    assert any("acl" in error for error in object_errors(with_acl, "v2.2"))
    fast = json.loads(json.dumps(policy).replace('"500ms"', '"10ms"'))
    assert any("50ms" in error for error in object_errors(fast, "v2.2"))
    assert object_errors(fast, "v2.0") == []  # v2.0's CRD has no such rule (Envoy refuses it later)
    assert any("50ms" in error for error in object_errors(fast, "v2.1"))  # v2.1.x's own CRD has the rule
    retry = {
        **policy,
        "spec": {**policy["spec"], "timeouts": {"request": "5s"}, "retry": {"retryOn": ["5xx"], "perTryTimeout": "5s"}},
    }
    assert any("perTryTimeout" in error or "CEL" in error for error in object_errors(retry, "main"))
    cors = {**policy, "spec": {**policy["spec"], "cors": {"allowOrigins": ["*", "https://a.example.com"]}}}
    assert any("AllowOrigins cannot contain" in error for error in object_errors(cors, "main"))


def test_rates_become_a_token_bucket_in_the_crds_words() -> None:
    per_minute = manifests({"rate_limit": {"requests_per_minute": 120, "burst": 200}}, "main")[0]
    assert per_minute["spec"]["rateLimit"] == {
        "local": {"tokenBucket": {"maxTokens": 200, "tokensPerFill": 120, "fillInterval": "1m"}}
    }
    # A burst below the rate: the smallest exact fill, at least 50ms apart (so the bucket never overflows).
    smooth = manifests(KIND_EXAMPLES["rateLimit"], "v2.2")[0]
    assert smooth["spec"]["rateLimit"]["local"]["tokenBucket"] == {
        "maxTokens": 20,
        "tokensPerFill": 1,
        "fillInterval": "500ms",
    }
    fast = manifests({"rate_limit": {"requests_per_second": 1000, "burst": 60}}, "main")[0]
    assert fast["spec"]["rateLimit"]["local"]["tokenBucket"]["fillInterval"] == "50ms"
    assert fast["spec"]["rateLimit"]["local"]["tokenBucket"]["tokensPerFill"] == 50
    assert object_errors(fast, "main") == []
    per_second = manifests({"rate_limit": {"requests_per_second": 10}}, "v2.0")[0]
    assert per_second["spec"]["rateLimit"]["local"]["tokenBucket"] == {
        "maxTokens": 10,
        "tokensPerFill": 10,
        "fillInterval": "1s",
    }
    assert per_second["spec"]["targetRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "echo"}
    ]


def test_api_keys_ip_allow_and_retry_shapes() -> None:
    spec = manifests({**KIND_EXAMPLES["apiKeys"], **KIND_EXAMPLES["ipAllow"], "retry": {}}, "main")[0]["spec"]
    assert spec["apiKeyAuth"] == {
        "secretRef": {"name": key_secret_name("echo-api-keys", KIND_EXAMPLES["apiKeys"]["api_keys"])},
        # One source per entry: Envoy reads only the first of header/query/cookie in one entry.
        "keySources": [{"header": "x-api-key"}, {"query": "api_key"}],
        "forwardCredential": False,
    }
    assert spec["acl"] == {
        "defaultAction": "deny",
        "rules": [
            {"name": "ip-allow", "cidrs": ["203.0.113.0/24", "2001:db8::/32", "198.51.100.7"], "action": "allow"}
        ],
    }
    # Without `idempotent`, only failures before the request reached the function are retried.
    assert spec["retry"] == {"retryOn": ["connect-failure", "reset-before-request", "refused-stream"], "attempts": 1}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"retry": {"retry_on": ["5xx"]}}, "retryOn = '5xx': may run the function again"),
        ({"api_keys": {"key_sources": [{"header": "a", "query": "b"}]}}, "exactly one of header, query and cookie"),
        ({"ip_allow": ["172.18.0.0/12"]}, "ipAllow = '172.18.0.0/12': must be a CIDR without host bits"),
        ({"timeout": "5s", "retry": {"per_try_timeout": "5s"}}, "perTryTimeout = '5s': must be shorter than timeout"),
        ({"rate_limit": {"requests_per_second": 1000, "burst": 5}}, "burst = 5: must be a whole number from 50"),
        ({"rate_limit": {"requests_per_second": 10, "requests_per_minute": 5}}, "exactly one of requestsPerSecond"),
        ({"cors": {"allow_origins": ["ftp://x.example.com"]}}, "allowOrigins = 'ftp://x.example.com'"),
        ({"jwt": {"jwks_uri": "https://issuer/jwks"}}, "jwksBackend = \\(unset\\): is required with jwksUri"),
        ({"timeout": "1.5s"}, "timeout = '1.5s': must be a duration"),
        ({"api_keys": {"keys": {"mobile": "short"}}}, r"keys.mobile = '\(secret\)': must be 16 to 4096"),
        ({"api_keys": {"rotation": "2", "previous_rotation": "2"}}, "previousRotation = '2': must differ"),
        ({"rate_limits": {}}, "rate_limits = '\\(set\\)': is not a protection"),
        ({"cors": {"allow_origins": ["*", "https://a.example.com"]}}, "allowOrigins = .*'\\*' must stand alone"),
        # Who gets in (issue 27): a JWT whose issuer or audience Envoy would not check, credentials for any origin,
        # claim headers a client can forge.
        ({"jwt": {"issuer": "https://i.example.com", "jwks_inline": "{}"}}, r"jwt.audiences = \(unset\): is required"),
        ({"jwt": {"audiences": ["api"], "jwks_inline": "{}"}}, r"jwt.issuer = \(unset\): is required"),
        (
            {
                "jwt": {
                    "issuer": "https://i.example.com",
                    "audiences": ["api"],
                    "allow_any_audience": True,
                    "jwks_inline": "{}",
                }
            },
            "jwt.allowAnyAudience = True: contradicts audiences",
        ),
        (
            {"cors": {"allow_origins": ["*"], "allow_credentials": True}},
            r"cors.allowCredentials = True: cannot go with allowOrigins \[\*\]",
        ),
        (
            {
                "jwt": {
                    "issuer": "https://i.example.com",
                    "audiences": ["api"],
                    "jwks_inline": "{}",
                    "claims_to_headers": {"sub": "x-user"},
                }
            },
            r"jwt.claimsToHeaders = '\(set\)': is refused: .* a client-sent header",
        ),
    ],
)
def test_bad_protection_is_refused_with_the_input_and_the_rule(args: dict[str, Any], message: str) -> None:
    checker = InputChecker("RouteProtection", "echo")
    check_protection_args(checker, args)
    assert checker.problems
    with pytest.raises(ComponentInputError, match=message):
        checker.done()


def test_the_loose_jwt_and_cors_settings_pass_only_when_asked_for_in_words() -> None:
    """The opt-outs are the only way to a JWT without issuer or audience; credentials go with listed origins."""
    for args in (
        {"jwt": {"allow_any_issuer": True, "allow_any_audience": True, "jwks_inline": "{}"}},
        {"jwt": {"issuer": "https://i.example.com", "allow_any_audience": True, "jwks_inline": "{}"}},
        {"cors": {"allow_origins": ["https://app.example.com"], "allow_credentials": True}},
        {"cors": {"allow_origins": ["*"], "allow_credentials": False}},
    ):
        checker = InputChecker("RouteProtection", "echo")
        check_protection_args(checker, args)
        assert checker.problems == [], args
    checker = InputChecker("RouteProtection", "echo")
    check_protection_args(checker, {"jwt": {"allow_any_issuer": "yes", "audiences": ["api"], "jwks_inline": "{}"}})
    assert [p.name for p in checker.problems] == ["jwt.allowAnyIssuer"]


def test_a_provided_key_is_never_shown_in_the_error() -> None:
    checker = InputChecker("RouteProtection", "echo")
    check_protection_args(checker, {"api_keys": {"keys": {"a": "not-long", "b": "  spaced key here  "}}})
    with pytest.raises(ComponentInputError) as refused:
        checker.done()
    text = str(refused.value)
    assert "not-long" not in text and "spaced" not in text


class RandomMocks(FakeAwsMocks):
    """The mocks, plus the random provider's RandomBytes: `hex`/`base64` of `length` crypto-random bytes (the
    provider marks both secret: pulumi_random/random_bytes.py `additional_secret_outputs`)."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == RANDOM_BYTES:
            raw = secrets.token_bytes(int(args.inputs["length"]))
            state = {**args.inputs, "hex": raw.hex(), "base64": base64.b64encode(raw).decode()}
            return f"{args.name}-id", state
        return super().new_resource(args)


def secret_resource_name(base: str, keys: dict[str, Any]) -> str:
    return f"team-a/{key_secret_name(base, keys)}"


def test_a_new_key_set_is_a_new_secret_so_the_policy_moves_without_a_gap() -> None:
    """pulumi-kubernetes replaces a Secret whose data changed, delete-first under one name: the name follows the
    key set (clients and rotations, never a key), so a rotation creates a new Secret before the old one goes."""
    one = key_secret_name("echo-api-keys", {"rotation": "1"})
    assert one == key_secret_name("echo-api-keys", {})
    assert key_secret_name("echo-api-keys", {"rotation": "2", "previous_rotation": "1"}) != one
    assert key_secret_name("echo-api-keys", {"rotation": "2"}) not in (one,)
    assert key_secret_name("echo-api-keys", {"clients": ["a", "b"]}) == key_secret_name(
        "echo-api-keys", {"clients": ["b", "a"]}
    )
    provided = key_secret_name("echo-api-keys", {"keys": {"mobile": "s3cret-s3cret-s3cret"}})
    assert "s3cret" not in provided and provided == key_secret_name("echo-api-keys", {"keys": {"mobile": "other"}})
    assert len(key_secret_name("x" * 253, {})) <= 253


def run_protected(tmp_path: Path, protection: str, *, version: str = "main") -> ProgramRun:
    """A reusing stack's program: a protected LambdaRoute, the route waiting for its protection."""
    program = tmp_path / "protected.py"
    program.write_text(
        "import pulumi\n"
        "from components import LambdaRoute\n"
        "from components.protection import RouteProtection\n"
        f"protection = RouteProtection('echo', {protection}, route_name='echo', namespace='team-a',"
        f" kgateway_version={version!r})\n"
        "LambdaRoute('echo', {'path': '/echo', 'backend_name': 'echo', 'namespace': 'team-a',"
        " 'backend_namespace': 'team-a'}, opts=pulumi.ResourceOptions(depends_on=[protection]))\n"
        "pulumi.export('api_keys', protection.api_keys)\n"
        "pulumi.export('policy_name', protection.policy_name)\n"
    )
    return run_program(RandomMocks(), {"aws:region": "us-east-1"}, program=program)


def test_generated_keys_are_random_secret_and_in_the_format_kgateway_reads(tmp_path: Path) -> None:
    run = run_protected(tmp_path, "{'api_keys': {'clients': ['mobile', 'partner']}}")
    keys = run.by_type(RANDOM_BYTES)
    assert sorted(k.name for k in keys) == ["team-a/echo-api-key-mobile-1", "team-a/echo-api-key-partner-1"]
    assert {k.inputs["length"] for k in keys} == {32}
    secret = run.one(SECRET)
    secret_name = key_secret_name("echo-api-keys", {"clients": ["mobile", "partner"]})
    assert secret_name.startswith("echo-api-keys-") and secret.inputs["metadata"]["namespace"] == "team-a"
    assert secret.inputs["metadata"]["name"] == secret_name
    assert "stringData" not in secret.inputs  # data: a removed key really leaves the Secret
    assert is_secret_value(secret.inputs["data"])
    data = {client: base64.b64decode(value).decode() for client, value in reveal(secret.inputs["data"]).items()}
    assert set(data) == {"mobile", "partner"}
    assert all(len(key) == 64 and int(key, 16) >= 0 for key in data.values())
    assert data["mobile"] != data["partner"]
    # The keys are a secret output, and appear nowhere in plain.
    assert run.secret_outputs == {"api_keys"}
    assert run.outputs["api_keys"] == data
    shown = json.dumps(redact([r.inputs for r in run.resources])) + "\n".join(run.logs)
    assert not any(key in shown for key in data.values())
    policy = reveal(run.one(POLICY).inputs)
    assert policy["spec"]["apiKeyAuth"]["secretRef"] == {"name": secret_name}
    assert object_errors({k: policy[k] for k in ("apiVersion", "kind", "metadata", "spec")}, "main") == []


def test_rotation_keeps_the_previous_keys_beside_the_new_ones(tmp_path: Path) -> None:
    run = run_protected(tmp_path, "{'api_keys': {'rotation': '2', 'previous_rotation': '1'}}")
    names = sorted(k.name for k in run.by_type(RANDOM_BYTES))
    assert names == ["team-a/echo-api-key-default-1", "team-a/echo-api-key-default-2"]
    data = reveal(run.one(SECRET).inputs["data"])
    assert set(data) == {"default", "default.previous"}
    assert set(run.outputs["api_keys"]) == {"default"}  # the output holds the current keys only
    assert base64.b64decode(data["default"]).decode() == run.outputs["api_keys"]["default"]


def test_provided_keys_given_as_plain_strings_stay_secret(tmp_path: Path) -> None:
    run = run_protected(tmp_path, "{'api_keys': {'keys': {'partner': 'p4rtner-key-0123456789'}}}")
    assert run.by_type(RANDOM_BYTES) == []
    assert is_secret_value(run.one(SECRET).inputs["data"])
    assert reveal(run.one(SECRET).inputs["data"]) == {"partner": base64.b64encode(b"p4rtner-key-0123456789").decode()}
    assert "p4rtner" not in json.dumps(redact([r.inputs for r in run.resources]))


def test_day_two_order_policy_after_its_objects_route_after_its_policy(tmp_path: Path) -> None:
    """The engine creates in dependency order and deletes dependents first: the Secret and GatewayExtension exist
    before the policy names them; the route is created after its policy (never served open) and, when removed,
    deleted before it."""
    jwt = KIND_EXAMPLES["jwt"]["jwt"]
    run = run_protected(tmp_path, repr({"api_keys": {}, "jwt": jwt, "rate_limit": {"requests_per_second": 5}}))
    policy, secret, extension, route = (run.one(t) for t in (POLICY, SECRET, EXTENSION, ROUTE))
    assert set(policy.dependencies) >= {secret.urn, extension.urn}
    assert policy.urn in route.dependencies
    # Registered in that order, too (the SDK registers a resource once its dependencies are registered).
    order = [r.urn for r in run.resources]
    assert order.index(secret.urn) < order.index(policy.urn) < order.index(route.urn)
    # The policy does not wait for its status (none is written before its route exists).
    assert "annotations" not in policy.inputs["metadata"]
    # Fixed-name objects: named namespace/name (the URN follows the object).
    assert {r.name for r in (policy, secret, extension)} == {
        "team-a/echo-protection",
        secret_resource_name("echo-api-keys", {}),
        "team-a/echo-jwt",
    }
    assert reveal(extension.inputs)["spec"]["jwt"]["providers"][0]["jwks"]["remote"]["backendRef"] == {
        "group": "",
        "kind": "Service",
        "name": "issuer",
        "port": 443,
    }
    assert run.outputs["policy_name"] == "echo-protection"


def test_the_component_refuses_a_kind_the_line_lacks_before_any_resource(tmp_path: Path) -> None:
    with pytest.raises(ComponentInputError, match=r"protection ipAllow .* first in kgateway v2\.3") as error:
        run_protected(tmp_path, "{'ip_allow': ['203.0.113.0/24'], 'cors': {'allow_origins': ['*']}}", version="v2.2")
    assert "protection cors" not in str(error.value)  # v2.2 has cors: only what it lacks is refused


def run_route(tmp_path: Path, route_args: str, mocks: FakeAwsMocks | None = None) -> ProgramRun:
    """A LambdaRoute with the given extra args (e.g. protection), in team-a."""
    program = tmp_path / "route.py"
    program.write_text(
        "import pulumi\n"
        "from components import LambdaRoute\n"
        "route = LambdaRoute('echo', {'path': '/echo', 'backend_name': 'echo', 'namespace': 'team-a',"
        f" 'backend_namespace': 'team-a', **{route_args}}})\n"
        "pulumi.export('api_keys', route.api_keys)\n"
    )
    return run_program(mocks or RandomMocks(), {"aws:region": "us-east-1"}, program=program)


def test_lambda_route_creates_its_protection_first_and_takes_the_timeout_on_its_rule(tmp_path: Path) -> None:
    protection = {"api_keys": {}, "rate_limit": {"requests_per_second": 5}, "timeout": "40s"}
    run = run_route(tmp_path, repr({"protection": protection, "kgateway_version": "v2.2"}))
    policy, route = run.one(POLICY), run.one(ROUTE)
    assert policy.urn in route.dependencies
    components = [r for r in run.resources if r.type == "kgateway-lambda:index:RouteProtection"]
    assert [c.name for c in components] == ["echo-protection"]
    rule = reveal(route.inputs)["spec"]["rules"][0]
    assert rule["timeouts"] == {"request": "40s"}
    assert "timeouts" not in reveal(policy.inputs)["spec"]
    assert run.secret_outputs == {"api_keys"} and set(run.outputs["api_keys"]) == {"default"}
    # The route and policy pass v2.2's real CRDs (the route against both Gateway API releases v2.2 runs with).
    manifest = {k: reveal(route.inputs)[k] for k in ("apiVersion", "kind", "metadata", "spec")}
    assert object_errors(manifest, "v2.2") == []


def test_a_timeout_alone_needs_no_policy_and_is_on_every_line(tmp_path: Path) -> None:
    run = run_route(tmp_path, repr({"protection": {"timeout": "25s"}, "kgateway_version": "v2.0"}))
    assert run.by_type(POLICY) == [] and run.by_type(SECRET) == []
    route = reveal(run.one(ROUTE).inputs)
    assert route["spec"]["rules"][0]["timeouts"] == {"request": "25s"}
    manifest = {k: route[k] for k in ("apiVersion", "kind", "metadata", "spec")}
    assert object_errors(manifest, "v2.0") == []
    assert run.outputs["api_keys"] is None


def test_the_route_refuses_bad_protection_naming_the_input(tmp_path: Path) -> None:
    with pytest.raises(ComponentInputError, match=r"protection\.rateLimit\.requestsPerSecond = 0"):
        run_route(tmp_path, repr({"protection": {"rate_limit": {"requests_per_second": 0}}}))


def test_auto_reads_the_clusters_traffic_policy_crd(tmp_path: Path) -> None:
    """auto: the TrafficPolicy CRD is read (by its name) and decides; main's has every kind."""
    run = run_route(tmp_path, repr({"protection": {"ip_allow": ["203.0.113.0/24"]}}))
    reads = [r for r in run.resources if r.type == "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"]
    assert [r.name for r in reads] == ["echo-protection-trafficpolicy-crd"]
    spec = reveal(run.one(POLICY).inputs)["spec"]
    assert spec["acl"]["rules"][0]["cidrs"] == ["203.0.113.0/24"]


def test_auto_on_a_v2_0_cluster_refuses_what_its_crd_lacks_naming_the_first_line(tmp_path: Path) -> None:
    mocks = RandomMocks(traffic_policy_crd=CRDS / "kgateway-v2.0.0-trafficpolicies.yaml")
    with pytest.raises(Exception, match=r"protection cors .* first in kgateway v2\.1"):
        run_route(tmp_path, repr({"protection": {"cors": {"allow_origins": ["*"]}}}), mocks)
    mocks = RandomMocks(traffic_policy_crd=CRDS / "kgateway-v2.0.0-trafficpolicies.yaml")
    run = run_route(tmp_path, repr({"protection": {"rate_limit": {"requests_per_minute": 60}}}), mocks)
    assert "rateLimit" in reveal(run.one(POLICY).inputs)["spec"]


def test_the_composites_protection_covers_routes_without_their_own(tmp_path: Path) -> None:
    program = tmp_path / "composite.py"
    program.write_text(
        "import pulumi\n"
        "from components import LambdaGatewayRoute\n"
        "c = LambdaGatewayRoute('echo', {'existing_function': 'arn:aws:lambda:us-east-1:123456789012:function:echo',"
        " 'backend': {'kgateway_version': 'v2.2'},"
        " 'protection': {'api_keys': {'clients': ['web']}},"
        " 'routes': [{'path': '/echo'}, {'path': '/open', 'protection': {}},"
        " {'path': '/limited', 'protection': {'rate_limit': {'requests_per_second': 2}}}]})\n"
        "pulumi.export('api_keys', c.api_keys)\n"
        "pulumi.export('routes', c.route_names)\n"
    )
    run = run_program(RandomMocks(), {"aws:region": "us-east-1"}, program=program)
    policies = {
        reveal(p.inputs)["spec"]["targetRefs"][0]["name"]: reveal(p.inputs)["spec"] for p in run.by_type(POLICY)
    }
    first, open_route, limited = run.outputs["routes"]
    # The open route has no protection: its one policy holds only the Lambda body limit (issue 18, v2.2+) and,
    # since a function made elsewhere is routed for Lambda's 900 s, the stream idle timeout that lets such a call
    # run past Envoy's 5 minutes (issue 27).
    assert set(policies) == {first, open_route, limited}
    assert set(policies[open_route]) == {"targetRefs", "buffer", "timeouts"}
    assert policies[open_route]["timeouts"] == {"streamIdle": "911s"}
    assert "apiKeyAuth" in policies[first]
    assert set(policies[limited]) == {"targetRefs", "rateLimit", "buffer", "timeouts"}
    assert run.secret_outputs >= {"api_keys"} and set(run.outputs["api_keys"]) == {first}
    assert set(run.outputs["api_keys"][first]) == {"web"}


def test_a_small_burst_never_fills_faster_than_every_50_ms() -> None:
    """125 requests a second with a burst of 10: one token every 8 ms is exact but faster than Envoy's 50 ms
    minimum fill interval; the smallest exact fill at least 50 ms apart is 7 tokens every 56 ms (not 6 every 48)."""
    bucket = token_bucket(125, 1_000, 10)
    assert (bucket.max_tokens, bucket.tokens_per_fill, bucket.fill_interval) == (10, 7, "56ms")


def test_names_derived_from_a_long_route_name_stay_within_253() -> None:
    """The API-key Secret (`<route>-api-keys-<hash of its key set>`) and the JWT GatewayExtension (`<route>-jwt`)
    are cut so the whole name is a DNS subdomain of at most 253 characters, never ending in '-' or '.'."""
    route = "r" * 250
    args: dict[str, Any] = {"api_keys": {}, "jwt": {"jwks_uri": "https://issuer/jwks", "issuer": "https://issuer"}}
    _, _, secret_name, extension_name = protection_objects(args, route)
    assert extension_name is not None
    assert extension_name.endswith("-jwt") and re.fullmatch(r"r{200,}-[0-9a-f]{8}", secret_name), secret_name
    for name in (secret_name, extension_name):
        assert len(name) <= 253 and DNS_SUBDOMAIN_RE.fullmatch(name) and name.startswith("r" * 200), name


def test_the_composite_refuses_a_client_id_header_the_function_would_never_see() -> None:
    base: dict[str, Any] = {"existing_function": "echo", "backend": {"kgateway_version": "v2.3"}}
    keys = {"api_keys": {"client_id_header": "x-client-id"}}
    for args in ({**base, "protection": keys}, {**base, "routes": [{"path": "/echo", "protection": keys}]}):
        checker = InputChecker("LambdaGatewayRoute", "echo")
        check_composite_args(checker, args)
        assert [p.name for p in checker.problems] in (
            ["protection.apiKeys.clientIdHeader"],
            ["routes[0].protection.apiKeys.clientIdHeader"],
        ), checker.problems
    checker = InputChecker("LambdaGatewayRoute", "echo")
    envoy = {**base, "backend": {"kgateway_version": "v2.3", "payload_transform_mode": "Envoy"}, "protection": keys}
    check_composite_args(checker, envoy)
    assert checker.problems == []


def test_the_route_component_matches_the_preflight_where_its_protection_has_cors(tmp_path: Path) -> None:
    program = tmp_path / "cors_route.py"
    program.write_text(
        "from components import LambdaRoute\n"
        "LambdaRoute('echo', {'path': '/echo', 'backend_name': 'echo', 'methods': ['POST'],"
        " 'kgateway_version': 'v2.3', 'protection': {'cors': {'allow_origins': ['https://app.example.com']}}})\n"
    )
    run = run_program(RandomMocks(), {"aws:region": "us-east-1"}, program=program)
    matches = reveal(run.one(ROUTE).inputs)["spec"]["rules"][0]["matches"]
    assert [match["method"] for match in matches] == ["POST", "OPTIONS"]


def test_who_gets_in_is_emitted_exactly_as_written() -> None:
    """The fields that decide who gets in, pinned (issue 27): the JWT's issuer and audiences and its Strict mode,
    CORS credentials only where the user turned them on."""
    policy, extension = manifests(KIND_EXAMPLES["jwt"], "main")
    (provider,) = extension["spec"]["jwt"]["providers"]
    assert extension["spec"]["jwt"]["validationMode"] == "Strict"  # a request without a token is refused
    assert provider["issuer"] == "https://issuer.example.com" and provider["audiences"] == ["orders"]
    assert policy["spec"]["jwtAuth"] == {"extensionRef": {"name": "echo-jwt"}}
    loose = manifests({"jwt": {"allow_any_issuer": True, "allow_any_audience": True, "jwks_inline": "{}"}}, "main")
    assert "issuer" not in loose[1]["spec"]["jwt"]["providers"][0]
    assert "audiences" not in loose[1]["spec"]["jwt"]["providers"][0]
    origins = ["https://app.example.com"]
    for written, emitted in ((True, True), (False, None), (None, None)):
        cors: dict[str, Any] = {"allow_origins": origins}
        if written is not None:
            cors["allow_credentials"] = written
        spec = manifests({"cors": cors}, "main")[0]["spec"]["cors"]
        assert spec.get("allowCredentials") == emitted, written
        assert spec["allowOrigins"] == origins
