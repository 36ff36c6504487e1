"""`verify` on protected routes, against loopback servers that protect as kgateway's Envoy does (or fail to, one
way at a time): each way a protection can be wrong makes its check fail, and a correct one passes."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.support.commands import run_tools
from tests.support.fake_aws import FakeAwsMocks
from tests.support.local_servers import protected_server
from tools.engine import run_program, stack_config
from tools.verify import Check, http_check
from tools.verify_protection import Bucket, Protection, burst_size, burst_step, protection_from, tampered

KEY = "0123456789abcdef" * 4
OTHER_KEY = "fedcba9876543210" * 4
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2ZXJpZnkifQ.c2lnbmF0dXJlLW9mLXRoZS1pc3N1ZXItdGhhdC1tYXR0ZXJz"
ONE_MINUTE = Bucket(max_tokens=5, tokens_per_fill=1, fill_seconds=60)
PROTECTED = Protection(
    key_sources=(("header", "api-key"),),
    api_keys=(("default", KEY),),
    cors_origin="https://app.example.com",
    cors_method="POST",
    bucket=ONE_MINUTE,
)
SOURCES = (("header", "x-api-key"), ("query", "api_key"), ("cookie", "session-key"))
TWO_CLIENTS = {"mobile": KEY, "web": OTHER_KEY}
# Keys from three sources, two clients, and a JWT: everything a route can require at once.
EVERYTHING = Protection(
    key_sources=SOURCES, api_keys=tuple(sorted(TWO_CLIENTS.items())), jwt=True, jwt_token=TOKEN, bucket=ONE_MINUTE
)


def check(base: str, protection: Protection) -> Any:
    return http_check(Check(route="echo", url=f"{base}/echo", protection=protection))


def test_a_protected_route_passes_when_it_refuses_lets_in_answers_preflights_and_limits() -> None:
    with protected_server(key=KEY) as base:
        result = check(base, PROTECTED)
    assert result.passed, result.line()
    assert "without credentials expected HTTP 401, got HTTP 401" in result.detail
    assert "a wrong key in header 'api-key' expected HTTP 401, got HTTP 401" in result.detail
    assert "CORS preflight from https://app.example.com for POST" in result.detail
    assert "expected HTTP 429" in result.detail
    assert KEY not in result.line()  # the key is never shown


def test_every_key_source_client_and_the_jwt_are_each_checked() -> None:
    with protected_server(key_sources=SOURCES, keys=TWO_CLIENTS, jwt=TOKEN) as base:
        result = check(base, EVERYTHING)
    assert result.passed, result.line()
    for where in ("header 'x-api-key'", "query 'api_key'", "cookie 'session-key'"):
        assert f"client mobile's key in {where} expected the function's answer, got HTTP 200" in result.detail
        assert f"a wrong key in {where} expected HTTP 401, got HTTP 401" in result.detail
    assert "client web's key expected the function's answer, got HTTP 200" in result.detail
    assert "with a valid JWT and a key expected the function's answer" in result.detail
    assert "with a tampered JWT expected HTTP 401" in result.detail
    assert "with a key but no JWT expected HTTP 401" in result.detail
    assert "with a JWT but no key expected HTTP 401" in result.detail
    assert KEY not in result.line() and OTHER_KEY not in result.line() and TOKEN not in result.line()


@pytest.mark.parametrize(
    ("misbehaviour", "complaint"),
    [
        ("open", "without credentials expected HTTP 401, got HTTP 200: let in"),
        ("no-cors", "Access-Control-Allow-Origin None"),
        ("no-429", "got 11 let in and 0 HTTP 429: more let in than the buckets hold"),
        ("500", "expected HTTP 401, got HTTP 500: the route is broken, not refusing"),
        ("403", "without credentials expected HTTP 401, got HTTP 403"),
    ],
)
def test_a_route_that_does_not_protect_fails(misbehaviour: str, complaint: str) -> None:
    with protected_server(key=KEY, misbehave=frozenset({misbehaviour})) as base:
        result = check(base, PROTECTED)
    assert not result.passed and complaint in result.detail, result.line()
    assert KEY not in result.line()


@pytest.mark.parametrize(
    ("misbehaviour", "complaint"),
    [
        ("first-source-only", "client mobile's key in query 'api_key' expected the function's answer, got HTTP 401"),
        ("first-client-only", "client web's key expected the function's answer, got HTTP 401"),
        ("jwt-open", "with a key but no JWT expected HTTP 401, got HTTP 200"),
        ("jwt-any", "with a tampered JWT expected HTTP 401, got HTTP 200"),
        ("jwt-or-key", "with a JWT but no key expected HTTP 401, got HTTP 200"),
    ],
)
def test_each_way_keys_and_jwt_can_be_wrong_fails(misbehaviour: str, complaint: str) -> None:
    with protected_server(
        key_sources=SOURCES, keys=TWO_CLIENTS, jwt=TOKEN, misbehave=frozenset({misbehaviour})
    ) as base:
        result = check(base, EVERYTHING)
    assert not result.passed and complaint in result.detail, result.line()
    assert TOKEN not in result.line()


def test_without_a_token_jwt_acceptance_is_said_not_checked_and_the_refusals_still_are() -> None:
    no_token = Protection(key_sources=SOURCES[:1], api_keys=(("mobile", KEY),), jwt=True, bucket=ONE_MINUTE)
    with protected_server(key_sources=SOURCES[:1], keys={"mobile": KEY}, jwt=TOKEN) as base:
        result = check(base, no_token)
    with protected_server(
        key_sources=SOURCES[:1], keys={"mobile": KEY}, jwt=TOKEN, misbehave=frozenset({"jwt-open"})
    ) as base:
        open_jwt = check(base, no_token)
    assert result.passed, result.line()
    assert "with a key but no JWT expected HTTP 401, got HTTP 401" in result.detail
    assert "NOT CHECKED: JWT acceptance" in result.detail and "--jwt-file" in result.detail
    assert "NOT CHECKED: the rate limit" in result.detail
    assert not open_jwt.passed and "with a key but no JWT expected HTTP 401, got HTTP 200" in open_jwt.detail


def test_a_wrong_key_in_the_outputs_fails_and_a_missing_one_says_how_to_read_it() -> None:
    header = (("header", "api-key"),)
    with protected_server(key=KEY) as base:
        wrong = check(base, Protection(header, api_keys=(("default", "x" * 64),)))
        missing = check(base, Protection(header))
    assert not wrong.passed and "expected the function's answer, got HTTP 401" in wrong.detail
    assert not missing.passed and "--show-secrets" in missing.detail


def test_ip_allow_is_said_not_checked() -> None:
    with protected_server(key_sources=()) as base:
        result = check(base, Protection(ip_allow=True))
    assert result.passed and "NOT CHECKED: ipAllow" in result.detail and "403" in result.detail


def test_a_correct_per_second_limit_passes_the_concurrent_burst() -> None:
    """requestsPerSecond 10 (10 tokens, 10 a second): the burst is sent concurrently and sized for the refill."""
    per_second = Bucket(max_tokens=10, tokens_per_fill=10, fill_seconds=1)
    with protected_server(key_sources=(), burst=10, tokens_per_fill=10, fill_seconds=1) as base:
        result = check(base, Protection(bucket=per_second))
    assert result.passed, result.line()


def test_replicas_each_with_a_bucket_are_counted() -> None:
    """Three replicas let three buckets in: sized for one, the burst says so; with --replicas 3 it passes."""
    with protected_server(key_sources=(), burst=5, replicas=3) as base:
        one = check(base, Protection(bucket=ONE_MINUTE))
    with protected_server(key_sources=(), burst=5, replicas=3) as base:
        three = check(base, Protection(bucket=ONE_MINUTE, replicas=3))
    assert not one.passed and "--replicas too low" in one.detail, one.line()
    assert three.passed, three.line()


class SlowGateway:
    """A gateway of `replicas` token buckets on a simulated clock: every request takes `each` seconds of it, and the
    buckets' first fill comes `phase` seconds in (the worst case: a fill while the burst is sent)."""

    def __init__(self, bucket: Bucket, replicas: int, each: float, phase: float) -> None:
        self.bucket, self.each, self.phase = bucket, each, phase
        self.seconds = 0.0
        self.tokens = [bucket.max_tokens] * replicas
        self.fills = [0] * replicas
        self.turn = 0
        self.lock = threading.Lock()

    def now(self) -> float:
        return self.seconds

    def send(self, _credentials: object, _timeout: float) -> tuple[int, str]:
        with self.lock:
            self.seconds += self.each
            replica = self.turn % len(self.tokens)
            self.turn += 1
            fills = int((self.seconds + self.bucket.fill_seconds - self.phase) // self.bucket.fill_seconds)
            added = (fills - self.fills[replica]) * self.bucket.tokens_per_fill
            self.tokens[replica] = min(self.bucket.max_tokens, self.tokens[replica] + added)
            self.fills[replica] = fills
            if self.tokens[replica] <= 0:
                return 429, "local_rate_limited"
            self.tokens[replica] -= 1
            return 200, "answer"


@pytest.mark.parametrize(
    ("bucket", "replicas"),
    [
        (Bucket(max_tokens=20, tokens_per_fill=1, fill_seconds=0.5), 1),  # requestsPerMinute 120, burst 20
        (Bucket(max_tokens=10, tokens_per_fill=10, fill_seconds=1), 1),  # requestsPerSecond 10
        (Bucket(max_tokens=5, tokens_per_fill=5, fill_seconds=1), 3),  # requestsPerSecond 5 on 3 replicas
        (Bucket(max_tokens=4, tokens_per_fill=2, fill_seconds=0.05), 2),  # a fill every 50 ms, Envoy's fastest
    ],
)
def test_the_burst_is_past_every_bucket_and_what_refills_while_it_is_sent(bucket: Bucket, replicas: int) -> None:
    """A working limit passes when the burst is sent within the window (spread over 0.99 s, fills on time), and
    the size is exactly the buckets plus their refills in that window plus the margin: sized from another figure
    of the bucket, without the refills or for one replica, a working limit lets the whole burst in and fails."""
    refills = bucket.tokens_per_fill * (int(1 / bucket.fill_seconds) + 1)
    over = replicas * (bucket.max_tokens + refills)
    size = over + max(5, over // 4)
    assert burst_size(bucket, replicas) == size
    each = 0.99 / size
    # The worst case: the first fill comes just as the full buckets are drained, and the next ones on time.
    gateway = SlowGateway(bucket, replicas, each=each, phase=each * (replicas * bucket.max_tokens + 1))
    protection = Protection(bucket=bucket, replicas=replicas)
    passed, text = burst_step(protection, gateway.send, lambda s, b: (s == 200, f"HTTP {s}"), 1, gateway.now)
    assert passed, text


def test_the_bucket_admits_at_most_its_tokens_and_each_fill() -> None:
    bucket = Bucket(max_tokens=20, tokens_per_fill=1, fill_seconds=0.5)
    assert bucket.admits_at_most(0.0, 1) == 21
    assert bucket.admits_at_most(1.0, 1) == 23
    assert bucket.admits_at_most(1.0, 3) == 69


def test_a_tampered_token_differs_in_its_signature_only() -> None:
    changed = tampered(TOKEN)
    assert changed != TOKEN and changed.rsplit(".", 1)[0] == TOKEN.rsplit(".", 1)[0]
    assert len(changed) == len(TOKEN)


def test_the_cli_takes_the_token_from_a_file_and_the_replicas_and_never_prints_secrets(tmp_path: Path) -> None:
    with protected_server(key_sources=SOURCES[:1], keys={"mobile": KEY}, jwt=TOKEN, burst=3) as base:
        outputs = tmp_path / "outputs.json"
        item = {
            "route": "echo",
            "url": f"{base}/echo",
            "expect": "guide",
            "protection": {
                "keySources": [["header", "x-api-key"]],
                "jwt": True,
                "cors": {"origin": "https://app.example.com", "method": "POST"},
                "rateLimit": {"maxTokens": 3, "tokensPerFill": 1, "fillInterval": "1m"},
            },
        }
        outputs.write_text(json.dumps({"verify": [item], "api_keys": {"echo": {"mobile": KEY}}}))
        token_file = tmp_path / "token"
        token_file.write_text(TOKEN + "\n")
        done = run_tools("verify", "--outputs", str(outputs), "--jwt-file", str(token_file), "--replicas", "1")
        without = run_tools("verify", "--outputs", str(outputs))
        wrong = run_tools("verify", "--outputs", str(outputs), "--jwt", tampered(TOKEN))
        bad_count = run_tools("verify", "--outputs", str(outputs), "--replicas", "0")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "with a valid JWT and a key expected the function's answer, got HTTP 200" in done.stdout
    assert without.returncode == 0 and "NOT CHECKED: JWT acceptance" in without.stdout
    assert wrong.returncode == 1 and "with a valid JWT and a key expected the function's answer, got HTTP 401" in (
        wrong.stdout
    )
    assert bad_count.returncode == 2 and "--replicas '0': must be a whole number from 1" in bad_count.stderr
    for run in (done, without, wrong):
        assert KEY not in run.stdout + run.stderr and TOKEN not in run.stdout + run.stderr


def plan_verify(stack: str) -> dict[str, dict[str, Any]]:
    config, secret_keys = stack_config(stack)
    config["kgateway-lambda:gatewayUrl"] = "http://127.0.0.1:1"
    run = run_program(FakeAwsMocks(), config, secret_keys, stack=stack)
    return {item["route"]: item for item in run.outputs["verify"]}


def test_the_protected_stack_describes_every_source_the_bucket_and_the_jwt() -> None:
    """stacks/Pulumi.protected.yaml: both key sources in the policy's order, the bucket's three figures (120/min,
    burst 20: 20 tokens, 1 every 500ms; 5/s: 5 tokens, 5 a second), the JWT; and verify reads them back."""
    checks = plan_verify("protected")
    assert len(checks) == 2, list(checks)
    [echo] = [item["protection"] for route, item in checks.items() if route.startswith("echo-echo-")]
    [partner] = [item["protection"] for route, item in checks.items() if route.startswith("echo-partner-")]
    assert echo["keySources"] == [["header", "x-api-key"], ["query", "api_key"]]
    assert echo["rateLimit"] == {"maxTokens": 20, "tokensPerFill": 1, "fillInterval": "500ms"}
    assert echo["jwt"] is False and "ipAllow" not in echo
    assert partner["jwt"] is True and partner["rateLimit"] == {"maxTokens": 5, "tokensPerFill": 5, "fillInterval": "1s"}
    read = protection_from(echo, {"web": KEY, "mobile": OTHER_KEY}, replicas=2)
    assert read is not None
    assert read.key_sources == (("header", "x-api-key"), ("query", "api_key"))
    assert read.api_keys == (("mobile", OTHER_KEY), ("web", KEY))
    assert read.bucket == Bucket(20, 1, 0.5) and read.replicas == 2


def test_on_v2_0_the_answer_expected_is_envoys_envelope() -> None:
    """kgateway v2.0's Backend has no payloadTransformMode: Envoy wraps the event and unwraps the answer
    (docs/commands.md "verify"), so verify must expect the envelope's echo there, not the pass-through's exact
    response."""
    config, secret_keys = stack_config("dev")
    config["kgateway-lambda:kgatewayVersion"] = "v2.0"
    config["kgateway-lambda:gatewayUrl"] = "http://127.0.0.1:1"
    run = run_program(FakeAwsMocks(), config, secret_keys, stack="dev")
    assert [item["expect"] for item in run.outputs["verify"]] == ["envoy"]
    config["kgateway-lambda:kgatewayVersion"] = "v2.2"
    run = run_program(FakeAwsMocks(), config, secret_keys, stack="dev")
    assert [item["expect"] for item in run.outputs["verify"]] == ["guide"]
