"""What a route to a Lambda function lets through and how long it waits (issue 27): the user's body limit kept, the
stream idle timeout that lets a call run past Envoy's 5 minutes, functions made elsewhere routed for Lambda's
longest timeout, the body cap of `payloadTransformMode: Envoy`, and a `timeout` longer than Lambda can run said at
plan time (issue 32). Each on the stack config (the preflight's objects, checked against every line's CRDs) and on
the components (the mock engine), which must emit the same."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from components import LambdaGatewayRoute
from components.route_limits import (
    ENVOY_ENVELOPE_RESERVE_BYTES,
    ENVOY_STREAM_IDLE_DEFAULT_S,
    LAMBDA_SYNC_PAYLOAD_BYTES,
    duration_seconds,
    envoy_mode_body_cap,
    stream_idle_timeout,
)
from components.traffic_policy import TRAFFIC_POLICY_SUPPORT, traffic_policy_support_from_crd
from components.validation import quantity_bytes
from program.config import MappingConfigSource, load_settings
from program.crd_validation import BASIS, CRDS, load_yaml
from program.preflight import objects, preflight_problems
from tests.support.fake_aws import FakeAwsMocks
from tools.engine import ProgramRun, reveal, run_program

POLICY = "kubernetes:gateway.kgateway.dev/v1alpha1:TrafficPolicy"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:echo"
PINNED_WITH_POLICY = ("v2.1", "v2.2", "v2.3", "v2.4", "main")


def plan(extra: dict[str, Any]) -> list[dict[str, Any]]:
    """The objects the program would create for this config (dev-like, pinned line), after the preflight passed."""
    values = {"aws:region": "us-east-1", "kgateway-lambda:kgatewayVersion": "v2.3"}
    values.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in extra.items()})
    settings = load_settings(MappingConfigSource(values))
    assert preflight_problems(settings) == []
    return [manifest for _, manifest in objects(settings)]


def only(found: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (one,) = [m for m in found if m["kind"] == kind]
    return one


def composite(args: dict[str, Any]) -> ProgramRun:
    def program() -> None:
        LambdaGatewayRoute("echo", args)  # type: ignore[arg-type]

    run: Callable[[], None] = program
    return run_program(FakeAwsMocks(), {"aws:region": "us-east-1"}, program=run)


# --- 1. The user's maxRequestSize is kept -------------------------------------------------------------------------


def test_a_users_body_limit_is_kept_on_a_sync_route() -> None:
    """It was replaced by Lambda's 6Mi on every Sync route of a pinned v2.1+ line (issue 27)."""
    for size in ("1Mi", "512Ki"):
        found = plan({"kgateway-lambda:protection": {"maxRequestSize": size}})
        assert only(found, "TrafficPolicy")["spec"]["buffer"] == {"maxRequestSize": size}
        run = composite(
            {
                "function": {"function_name": "echo", "code": pulumi.FileArchive("lambda_src/echo")},
                "backend": {"kgateway_version": "v2.3"},
                "protection": {"max_request_size": size},
            }
        )
        assert reveal(run.one(POLICY).inputs)["spec"]["buffer"] == {"maxRequestSize": size}
    # Without one, the Lambda limit still applies.
    assert only(plan({}), "TrafficPolicy")["spec"]["buffer"] == {"maxRequestSize": "6Mi"}


# --- 2. The stream idle timeout -----------------------------------------------------------------------------------


def test_the_stream_idle_timeout_follows_a_request_timeout_longer_than_envoys_default() -> None:
    assert ENVOY_STREAM_IDLE_DEFAULT_S == 300
    assert stream_idle_timeout(None) is None
    assert stream_idle_timeout("300s") is None and stream_idle_timeout("5m") is None
    assert stream_idle_timeout("301s") == "301s" and stream_idle_timeout("1h") == "1h"
    assert duration_seconds("1h30m") == 5400 and duration_seconds("1m500ms") == 60.5


@pytest.mark.parametrize("line", PINNED_WITH_POLICY)
def test_a_long_function_gets_a_stream_idle_timeout_on_every_line_that_has_it(line: str) -> None:
    """A function running 600 s was cut by Envoy's 5-minute stream idle timeout (408) while it still ran."""
    found = plan({"kgateway-lambda:kgatewayVersion": line, "kgateway-lambda:timeout": "600"})
    assert only(found, "HTTPRoute")["spec"]["rules"][0]["timeouts"] == {"request": "611s"}
    assert only(found, "TrafficPolicy")["spec"]["timeouts"] == {"streamIdle": "611s"}
    # A short one keeps Envoy's default: the request timeout ends it first.
    short = plan({"kgateway-lambda:kgatewayVersion": line, "kgateway-lambda:timeout": "60"})
    assert "timeouts" not in only(short, "TrafficPolicy")["spec"]
    # The user's own timeout decides, as it decides the request timeout.
    users = plan({"kgateway-lambda:kgatewayVersion": line, "kgateway-lambda:protection": {"timeout": "10m"}})
    assert only(users, "TrafficPolicy")["spec"]["timeouts"] == {"streamIdle": "10m"}


def test_each_lines_crd_says_whether_it_has_the_stream_idle_timeout() -> None:
    for line, basis in BASIS.items():
        if line in TRAFFIC_POLICY_SUPPORT:
            read = traffic_policy_support_from_crd(
                load_yaml(CRDS / f"{basis.policy_crds[0]}-trafficpolicies.yaml"), line
            )
            assert ("streamIdle" in read.kinds) == (line in PINNED_WITH_POLICY), line
            assert ("streamIdle" in TRAFFIC_POLICY_SUPPORT[line].kinds) == (line in PINNED_WITH_POLICY), line


@pytest.mark.parametrize("line", ["v2.0", "auto"])
def test_where_the_line_cannot_set_it_the_limit_is_said_at_plan_time(line: str) -> None:
    run = composite(
        {
            "function": {"function_name": "echo", "code": pulumi.FileArchive("lambda_src/echo"), "timeout": 600},
            "backend": {"kgateway_version": line},
        }
    )
    warnings = [entry for entry in run.logs if "stream idle timeout" in entry]
    assert len(warnings) == 1 and "408" in warnings[0] and "v2.1 or newer" in warnings[0], run.logs
    assert not any("timeouts" in reveal(p.inputs)["spec"] for p in run.by_type(POLICY))
    quiet = composite(
        {
            "function": {"function_name": "echo", "code": pulumi.FileArchive("lambda_src/echo")},
            "backend": {"kgateway_version": line},
        }
    )
    assert not [entry for entry in quiet.logs if "stream idle timeout" in entry]


# --- 3. Functions the stack does not create ----------------------------------------------------------------------


@pytest.mark.parametrize("line", ["v2.0", "v2.3"])
def test_a_function_named_by_arn_is_routed_for_lambdas_longest_timeout(line: str) -> None:
    """It had no `timeouts.request`: Envoy's 15 s cut every call longer than that."""
    found = plan({"kgateway-lambda:kgatewayVersion": line, "kgateway-lambda:functionArn": ARN})
    assert only(found, "HTTPRoute")["spec"]["rules"][0]["timeouts"] == {"request": "911s"}
    if line == "v2.3":
        assert only(found, "TrafficPolicy")["spec"]["timeouts"] == {"streamIdle": "911s"}
    run = composite({"existing_function": ARN, "backend": {"kgateway_version": line}})
    assert reveal(run.one(ROUTE).inputs)["spec"]["rules"][0]["timeouts"] == {"request": "911s"}
    # Async returns at once: nothing to wait for.
    async_run = composite({"existing_function": ARN, "backend": {"kgateway_version": line, "invocation_mode": "Async"}})
    assert "timeouts" not in reveal(async_run.one(ROUTE).inputs)["spec"]["rules"][0]


# --- 5. Bodies in Envoy mode --------------------------------------------------------------------------------------


def _envelope(body: bytes, headers: dict[str, str], path: str) -> bytes:
    """What Envoy's aws_lambda filter sends for a binary body (aws_lambda_filter.cc `jsonizeRequest`), compact."""
    query = dict(part.split("=", 1) for part in path.partition("?")[2].split("&") if "=" in part)
    request = {
        "raw_path": path,
        "method": "POST",
        "headers": headers,
        "query_string_parameters": query,
        "body": base64.b64encode(body).decode(),
        "is_base64_encoded": True,
    }
    return json.dumps(request, separators=(",", ":")).encode()


def test_the_envoy_mode_cap_keeps_the_envelope_within_lambdas_payload() -> None:
    cap = quantity_bytes(envoy_mode_body_cap())
    assert envoy_mode_body_cap() == "4416Ki"
    assert 4 * math.ceil(cap / 3) + ENVOY_ENVELOPE_RESERVE_BYTES <= LAMBDA_SYNC_PAYLOAD_BYTES
    # The worst header block Envoy lets through by default (60 KiB, every byte a quote JSON doubles) still fits.
    quotes = '"' * 500
    headers = {f"x-h{i}": quotes for i in range(100)}
    path = "/echo?" + "&".join(f"q{i}={quotes[:90]}" for i in range(100))
    assert sum(len(k) + len(v) for k, v in headers.items()) + len(path) <= 60 * 1024
    assert len(_envelope(b"\0" * cap, headers, path)) <= LAMBDA_SYNC_PAYLOAD_BYTES
    # The pass-through limit would not: a 6Mi body grows by a third.
    assert len(_envelope(b"\0" * LAMBDA_SYNC_PAYLOAD_BYTES, {}, "/echo")) > LAMBDA_SYNC_PAYLOAD_BYTES


def test_an_envoy_mode_route_is_capped_so_lambda_takes_the_envelope() -> None:
    envoy = plan({"kgateway-lambda:payloadTransformMode": "Envoy"})
    assert only(envoy, "TrafficPolicy")["spec"]["buffer"] == {"maxRequestSize": "4416Ki"}
    passthrough = plan({"kgateway-lambda:payloadTransformMode": "None"})
    assert only(passthrough, "TrafficPolicy")["spec"]["buffer"] == {"maxRequestSize": "6Mi"}
    run = composite(
        {
            "function": {"function_name": "echo", "code": pulumi.FileArchive("lambda_src/echo")},
            "backend": {"kgateway_version": "v2.3", "payload_transform_mode": "Envoy"},
        }
    )
    assert reveal(run.one(POLICY).inputs)["spec"]["buffer"] == {"maxRequestSize": "4416Ki"}


# --- 9. A timeout longer than Lambda can run ---------------------------------------------------------------------


def test_a_timeout_longer_than_lambda_can_run_is_said_at_plan_time() -> None:
    def warnings(protection: dict[str, Any]) -> list[str]:
        run = composite({"existing_function": ARN, "backend": {"kgateway_version": "v2.3"}, "protection": protection})
        return [entry for entry in run.logs if "longer than Lambda can run" in entry]

    (said,) = warnings({"timeout": "1h"})
    assert said.startswith("warning:") and "protection.timeout 1h" in said and "911 s" in said
    assert warnings({"timeout": "911s"}) == []
    # Each try may run as long: with a retry, two tries fit in 1822 s.
    assert warnings({"timeout": "30m", "retry": {"retry_on": ["connect-failure"], "attempts": 1}}) == []
    assert warnings({"timeout": "31m", "retry": {"retry_on": ["connect-failure"], "attempts": 1}}) != []
