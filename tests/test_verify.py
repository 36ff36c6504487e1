"""`verify` against real local HTTP servers: one that answers right, ones that answer wrong, hang or refuse."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from program.guide import GUIDE_RESPONSE
from program.regex_path import sample_path
from tests.support.commands import run_tools
from tests.support.fake_aws import FakeAwsMocks
from tests.support.local_servers import free_port, gateway_server, lambda_api_server
from tools.__main__ import main
from tools.engine import run_program, stack_config
from tools.verify import (
    Check,
    Clock,
    Result,
    http_check,
    invoke_check,
    run_checks,
    through,
    until_passed,
)


def test_the_guides_answer_passes() -> None:
    with gateway_server("passthrough") as base:
        result = http_check(Check(route="echo", url=f"{base}/echo"))
    assert result.passed, result.line()
    assert result.line().startswith("PASS route echo: POST ")


def test_envoy_mode_and_async_answers_pass_when_expected() -> None:
    with gateway_server("envoy") as base:
        assert http_check(Check(route="echo", url=f"{base}/echo", expect="envoy")).passed
        # The same answer is wrong where the guide's exact response is expected.
        wrong = http_check(Check(route="echo", url=f"{base}/echo", expect="guide"))
        assert not wrong.passed
        assert "HTTP 200 but body" in wrong.detail
    with gateway_server("async") as base:
        assert http_check(Check(route="echo", url=f"{base}/echo", expect="async")).passed


def test_wrong_answers_fail_with_what_came_back_and_a_hint() -> None:
    with gateway_server("wrong-status") as base:
        result = http_check(Check(route="echo", url=f"{base}/echo"))
    assert not result.passed
    assert "got HTTP 502: 'upstream connect error'" in result.detail
    assert "kgateway could not invoke the function" in result.detail
    with gateway_server("wrong-body") as base:
        result = http_check(Check(route="echo", url=f"{base}/echo"))
    assert not result.passed
    assert f"expected HTTP 200 and exactly {GUIDE_RESPONSE}" in result.detail
    assert "something else" in result.detail


def test_a_status_check_passes_200_only() -> None:
    """Functions other than echo are checked by status: a 5xx from kgateway is a failure, not "some answer"."""
    with gateway_server("wrong-status") as base:
        result = http_check(Check(route="hello", url=f"{base}/hello", expect="status"))
    assert not result.passed and "HTTP 502" in result.detail
    with gateway_server("wrong-body") as base:
        assert http_check(Check(route="hello", url=f"{base}/hello", expect="status")).passed
    with gateway_server("passthrough") as base:  # a 200 where the function runs asynchronously is wrong too
        assert not http_check(Check(route="echo", url=f"{base}/echo", expect="async")).passed


def test_timeout_and_refusal_are_reported_as_such() -> None:
    with gateway_server("hang", hang_seconds=1) as base:
        result = http_check(Check(route="echo", url=f"{base}/echo"), timeout=0.3)
    assert not result.passed
    assert "timed out after 0.3s" in result.detail and "no address yet" in result.detail
    result = http_check(Check(route="echo", url=f"http://127.0.0.1:{free_port()}/echo"), timeout=2)
    assert not result.passed
    assert "connection refused" in result.detail and "port-forward" in result.detail


def test_host_header_is_sent_when_the_route_has_hostnames() -> None:
    with gateway_server("passthrough", host="api.example.com") as base:
        assert http_check(Check(route="hello", url=f"{base}/echo", host="api.example.com")).passed
        missing = http_check(Check(route="hello", url=f"{base}/echo"))
    assert not missing.passed and "no route matched" in missing.detail


def test_no_address_yet_fails_plainly() -> None:
    result = http_check(
        Check(route="echo", url="(no address yet: Gateway kgateway-system/http has no status.addresses)")
    )
    assert not result.passed and "no address yet" in result.detail


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_tools("verify", *args, env=env)


def test_cli_checks_every_route_from_the_outputs_and_sets_the_exit_code(tmp_path: Path) -> None:
    with gateway_server("passthrough") as good, gateway_server("wrong-status") as bad:
        outputs = tmp_path / "outputs.json"
        checks = [
            {
                "route": "echo",
                "url": f"{good}/echo",
                "expect": "guide",
                "host": None,
                "method": "POST",
                "function": "echo",
            },
            {
                "route": "other",
                "url": f"{bad}/other",
                "expect": "guide",
                "host": None,
                "method": "POST",
                "function": "echo",
            },
        ]
        outputs.write_text(json.dumps({"verify": checks, "region": "us-east-1"}))
        failing = run_cli("--outputs", str(outputs))
        outputs.write_text(json.dumps({"verify": checks[:1]}))
        passing = run_cli("--outputs", str(outputs))
    assert failing.returncode == 1
    lines = failing.stdout.splitlines()
    assert lines[0].startswith("PASS route echo")
    assert lines[1].startswith("FAIL route other")
    assert lines[-1] == "1 passed, 1 failed"
    assert passing.returncode == 0 and passing.stdout.splitlines()[-1] == "1 passed, 0 failed"


def test_cli_url_mode_and_unreadable_outputs(tmp_path: Path) -> None:
    with gateway_server("passthrough") as base:
        assert run_cli("--url", f"{base}/echo").returncode == 0
    broken = tmp_path / "broken.json"
    broken.write_text("not json")
    done = run_cli("--outputs", str(broken))
    assert done.returncode == 2 and "cannot read the stack's outputs" in done.stderr


def test_invoke_checks_the_function_directly_through_the_lambda_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = {"AWS_ACCESS_KEY_ID": "deployer", "AWS_SECRET_ACCESS_KEY": "deployer", "AWS_REGION": "us-east-1"}
    for key, value in credentials.items():
        monkeypatch.setenv(key, value)
    with lambda_api_server() as endpoint:
        assert invoke_check("echo", "us-east-1", "guide", endpoint_url=endpoint).passed
        missing = invoke_check("nope", "us-east-1", "guide", endpoint_url=endpoint)
        with gateway_server("passthrough") as base:
            outputs = tmp_path / "outputs.json"
            check = {"route": "echo", "url": f"{base}/echo", "expect": "guide", "function": "echo"}
            outputs.write_text(json.dumps({"verify": [check], "region": "us-east-1"}))
            done = run_cli("--outputs", str(outputs), "--invoke", "--endpoint-url", endpoint, env=credentials)
        wrong = invoke_check("wrong", "us-east-1", "guide", endpoint_url=endpoint)
        raises = invoke_check("raises", "us-east-1", "status", endpoint_url=endpoint)
        any_answer = invoke_check("wrong", "us-east-1", "status", endpoint_url=endpoint)
    assert not missing.passed and "invoke failed" in missing.detail
    assert not wrong.passed and 'got \'{"statusCode":200,"body":"something else"}\'' in wrong.detail
    assert not raises.passed and "the function raised" in raises.detail and "boom" in raises.detail
    assert any_answer.passed  # a function other than echo: any answer without an error is its own business
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines()[1].startswith("PASS function echo")


class SimulatedClock:
    """Time that moves only when the waiting loop sleeps: a 60 s wait is tested in milliseconds."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.pauses: list[float] = []

    def now(self) -> float:
        return self.seconds

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.seconds += seconds


def test_wait_passes_once_a_route_starts_answering_after_10_s() -> None:
    clock = SimulatedClock()
    with gateway_server("passthrough", ready=lambda: clock.seconds >= 10) as base:
        check = Check(route="echo", url=f"{base}/echo")
        [result] = run_checks([("route echo", lambda t: http_check(check, t))], 60, 10, Clock(clock.now, clock.sleep))
    assert result.passed, result.line()
    assert clock.pauses == [1, 2, 4, 8]  # backoff: tries at 0, 1, 3, 7 (404 each) and 15 s
    assert result.detail.endswith("(after 5 tries in 15s)")


def test_wait_fails_by_the_deadline_with_the_last_answer() -> None:
    clock = SimulatedClock()
    with gateway_server("wrong-status") as base:
        check = Check(route="echo", url=f"{base}/echo")
        [result] = run_checks([("route echo", lambda t: http_check(check, t))], 60, 10, Clock(clock.now, clock.sleep))
    assert not result.passed
    assert clock.seconds == 60  # the last pause is cut to the deadline, and no try starts after it
    assert clock.pauses == [1, 2, 4, 8, 8, 8, 8, 8, 8, 5]
    assert "got HTTP 502: 'upstream connect error'" in result.detail
    assert result.detail.endswith("(still failing after 11 tries in 60s; waited up to 60s)")


def test_no_request_outlives_the_deadline() -> None:
    clock = SimulatedClock()
    asked: list[float] = []

    def attempt(timeout: float) -> Result:
        asked.append(timeout)
        clock.seconds += timeout  # a request that hangs until its timeout
        return Result("route echo", False, "timed out")

    until_passed(attempt, 25, 10, Clock(clock.now, clock.sleep))
    assert asked[0] == 10 and all(t <= 10 for t in asked)
    assert clock.seconds <= 25 + 0.1


def test_cli_wait_retries_each_route_in_real_time(tmp_path: Path) -> None:
    unprogrammed = [0]  # how many requests the late route still answers 404 (not programmed yet)

    def programmed() -> bool:
        unprogrammed[0] -= 1
        return unprogrammed[0] < 0

    with (
        gateway_server("passthrough", ready=programmed) as late,
        gateway_server("wrong-status") as never,
    ):
        outputs = tmp_path / "outputs.json"
        late_check = {"route": "late", "url": f"{late}/echo", "expect": "guide"}
        outputs.write_text(json.dumps({"verify": [late_check]}))
        unprogrammed[0] = 1
        once = run_cli("--outputs", str(outputs))
        unprogrammed[0] = 1  # the next request sees no route yet: one 404, a 1 s pause, then the 200
        waited = run_cli("--outputs", str(outputs), "--wait", "20")
        never_check = {"route": "never", "url": f"{never}/echo", "expect": "guide"}
        outputs.write_text(json.dumps({"verify": [late_check, never_check]}))
        before = time.monotonic()
        failed = run_cli("--outputs", str(outputs), "--wait", "1.5")
        took = time.monotonic() - before
    assert once.returncode == 1 and "no route matched" in once.stdout  # without --wait: one try
    assert waited.returncode == 0, waited.stdout + waited.stderr
    assert waited.stdout.startswith("PASS route late") and "tries in" in waited.stdout  # 404 first, then 200
    assert "late: not yet (" in waited.stderr and "late: PASS (" in waited.stderr  # progress, a line per change
    assert failed.returncode == 1
    assert "PASS route late" in failed.stdout
    assert "FAIL route never" in failed.stdout and "HTTP 502" in failed.stdout and "waited up to 1.5s" in failed.stdout
    assert took < 1.5 + 15  # bounded: the deadline plus the interpreter's start (slow on a loaded machine)


def verify_outputs(routes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `verify` output of a one-function stack with these routes, the Gateway at 127.0.0.1:1."""
    config, secret_keys = stack_config("dev")
    config["kgateway-lambda:routes"] = json.dumps(routes)
    config["kgateway-lambda:gatewayUrl"] = "http://127.0.0.1:1"
    run = run_program(FakeAwsMocks(), config, secret_keys, stack="dev")
    checks: list[dict[str, Any]] = run.outputs["verify"]
    return checks


def test_each_check_is_a_request_its_route_matches() -> None:
    """Host for a route with (wildcard) hostnames, a method the route accepts, and for a RegularExpression route a
    path the expression fully matches; a route with no such path found has no check rather than a wrong one."""
    routes: list[dict[str, Any]] = [
        {"path": "/echo", "hostnames": ["*.example.com"], "name": "by-host"},
        {"path": "/echo-get", "match": "Exact", "methods": ["GET"], "name": "get-only"},
        {"path": "/echo-put", "methods": ["DELETE", "PUT"], "name": "put-or-delete"},
        {"path": "^/items/[0-9]+/(view|edit)$", "match": "RegularExpression", "name": "by-regex"},
        {"path": "^/a\\s+$", "match": "RegularExpression", "name": "needs-a-space"},
    ]
    checks = {check["route"]: check for check in verify_outputs(routes)}
    assert set(checks) == {"by-host", "get-only", "put-or-delete", "by-regex"}
    assert checks["by-host"]["host"] == "verify.example.com"
    assert checks["get-only"]["method"] == "GET"
    assert checks["put-or-delete"]["method"] == "DELETE"
    assert checks["by-regex"]["url"] == "http://127.0.0.1:1/items/0/view"
    assert checks["by-regex"]["method"] == "POST" and checks["get-only"]["host"] is None
    # Each check passes against a gateway that routes only what its route matches.
    served: list[tuple[str, dict[str, Any]]] = [
        ("by-host", {"host": "verify.example.com"}),
        ("get-only", {"methods": ("GET",)}),
        ("put-or-delete", {"methods": ("DELETE", "PUT")}),
        ("by-regex", {"path_regex": "/items/[0-9]+/(view|edit)"}),
    ]
    for name, matches in served:
        check = checks[name]
        with gateway_server("envoy", **matches) as base:
            url = base + check["url"].removeprefix("http://127.0.0.1:1")
            result = http_check(Check(route=name, url=url, expect="envoy", host=check["host"], method=check["method"]))
        assert result.passed, result.line()


def test_an_envoy_event_with_a_base64_body_is_decoded() -> None:
    """Envoy base64-encodes a body of a non-textual content-type and sets isBase64Encoded: the echo's answer then
    holds the encoded body, which verify decodes before comparing it with the request it sent."""
    with gateway_server("envoy-base64") as base:
        result = http_check(Check(route="echo", url=f"{base}/echo", expect="envoy"))
    assert result.passed, result.line()


def test_the_guides_event_is_sent_with_every_method_but_head() -> None:
    """A GET-only route to the echo function answers with the guide's event too: verify sends the body with GET."""
    with gateway_server("passthrough", methods=("GET",)) as base:
        assert http_check(Check(route="get", url=f"{base}/echo", method="GET")).passed
        refused = http_check(Check(route="get", url=f"{base}/echo", method="POST"))
    assert not refused.passed and "no route matched" in refused.detail


@pytest.mark.parametrize(
    ("pattern", "sample"),
    [
        ("^/echo/[0-9]+$", "/echo/0"),
        ("/api/(v1|v2)/items/\\d{3}", "/api/v1/items/000"),
        ("/x/[^/]+/y", "/x/a/y"),
        ("/x/[^/.a-c]+", "/x/0"),  # a class of several refused characters: one it allows
        ("(/a|/b)?/c", "/c"),
        ("/users/[a-z]{2,5}-[A-Z0-9]+", "/users/aa-A"),
        ("/a[.]json", "/a.json"),
        ("/f.*", "/f"),
        ("/a b", None),  # a space is percent-encoded on the wire: the pattern never sees it as written
        ("\\w+", None),  # no leading "/": no request path matches
        ("/a\\s+", None),
    ],
)
def test_a_regular_expression_route_is_checked_at_a_path_it_fully_matches(pattern: str, sample: str | None) -> None:
    assert sample_path(pattern) == sample
    if sample is not None:
        assert re.fullmatch(pattern, sample)


def test_verify_reaches_the_gateway_from_inside_the_cluster_through_another_address(tmp_path: Path) -> None:
    """Outside, the checks go to the published address (`gateway_url`); inside the cluster (a PKO workspace, a Job)
    that load balancer may be out of reach, and `--base-url` sends the same requests to the Gateway's Service."""
    published = f"http://127.0.0.1:{free_port()}"  # nothing listens: the address this machine cannot reach
    check = {"route": "echo", "url": f"{published}/echo?x=1", "expect": "guide", "host": None, "method": "POST"}
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"verify": [check]}))
    with gateway_server("passthrough") as service:
        assert main(["verify", "--outputs", str(outputs), "--timeout", "2"]) == 1
        assert main(["verify", "--outputs", str(outputs), "--base-url", service]) == 0
    moved = through([Check(route="echo", url=f"{published}/echo?x=1")], "http://http.kgateway-system.svc:8080")
    assert moved == [Check(route="echo", url="http://http.kgateway-system.svc:8080/echo?x=1", host=published[7:])]
    named = through([Check(route="hello", url=f"{published}/hello", host="api.example.com")], "http://gw:8080/")
    assert named[0].host == "api.example.com"
    with pytest.raises(ValueError, match=r"--base-url 'gw:8080': expected scheme://host\[:port\]"):
        through([], "gw:8080")
