"""How long a route to a Lambda function waits and how large a body it takes, from what Lambda, Envoy and kgateway
allow (issue 27): Lambda's longest timeout for functions made elsewhere, the stream idle timeout a call longer than
Envoy's default needs, and the body cap that keeps `payloadTransformMode: Envoy`'s envelope within Lambda's payload.
Pure values; components/lambda_gateway_route.py and components/route.py apply them, program/preflight.py mirrors
them. (The request timeout itself, `route_request_timeout`, is in gateway_api_objects.py, and
`LAMBDA_SYNC_PAYLOAD` in traffic_policy.py.)
"""

from __future__ import annotations

import re

# Lambda's longest function timeout (Lambda Developer Guide, "Lambda quotas": 900 seconds). A function the stack
# does not create (found by tag, or named by ARN) is routed for it: reading each one's own timeout would be a call
# per function at every preview and up, and its owner may raise it later without this stack noticing.
LAMBDA_MAX_TIMEOUT_S = 900
# Envoy's stream idle timeout when none is configured: "If not specified, this defaults to 5 minutes" (envoyproxy/envoy
# api/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto @ 532044be2679,
# `stream_idle_timeout`). kgateway sets it only from a listener policy's `streamIdleTimeout` (v2.1's
# HTTPListenerPolicy, v2.2+'s ListenerPolicy: pkg/kgateway/extensions2/plugins/listenerpolicy/listener_plugin.go),
# never by default: a Lambda call sends and
# receives nothing while the function runs, so without a route idle timeout Envoy answers 408 after 300 s.
ENVOY_STREAM_IDLE_DEFAULT_S = 300
_DURATION_PART = re.compile(r"([0-9]+)(h|ms|m|s)")
_DURATION_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def duration_seconds(text: str) -> float:
    """Seconds of a Gateway API duration (`^([0-9]{1,5}(h|m|s|ms)){1,4}$`, e.g. 1h30m, 911s, 500ms)."""
    return sum(int(number) * _DURATION_UNIT_S[unit] for number, unit in _DURATION_PART.findall(text))


def stream_idle_timeout(request_timeout: str | None) -> str | None:
    """The route's `timeouts.streamIdle`: its request timeout, where that outlasts Envoy's default stream idle
    timeout (a longer call would get 408 first). None: the default holds.

    kgateway v2.1+ maps TrafficPolicy `timeouts.streamIdle` to the Envoy route's `idle_timeout`
    (pkg/kgateway/extensions2/plugins/trafficpolicy/timeout_retry.go `constructTimeoutRetry`,
    traffic_policy_plugin.go `handlePerRoutePolicies`: `action.IdleTimeout = ...routeStreamIdleTimeout`, at v2.2.x
    207dff98230f, v2.3.x 1eb924fe752b, v2.4.x 6c33df28eced and main 354c0f605fa8; under internal/kgateway/ at
    v2.1.x 0d040525b4e7), which replaces the connection
    manager's for the route; each request or response event resets it (envoyproxy/envoy
    api/envoy/config/route/v3/route_components.proto @ 3304863897c7, `RouteAction.idle_timeout`).
    """
    if request_timeout is None:
        return None
    return request_timeout if duration_seconds(request_timeout) > ENVOY_STREAM_IDLE_DEFAULT_S else None


# Lambda's "6 MB" is 6 MiB: its refusal reads "Request must be smaller than 6291456 bytes for the InvokeFunction
# operation" (RequestEntityTooLargeException).
LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 2**20
# `payloadTransformMode: Envoy`: Envoy's aws_lambda filter sends the function a JSON envelope, not the body
# (envoyproxy/envoy source/extensions/filters/http/aws_lambda/aws_lambda_filter.cc @ 2e9027678745,
# `jsonizeRequest`): `raw_path`, `method`, every header, the query string parsed again, and the body, base64-encoded
# (4 bytes for every 3, RFC 4648 §4) unless its content type is textual. The envelope around the body is bounded by
# Envoy's request header limit, "If unconfigured, the default max request headers allowed is 60 KiB"
# (http_connection_manager.proto, `max_request_headers_kb`): the path counted twice (`raw_path` and the parsed query)
# and every byte JSON-escaped at worst to two make 240 KiB, plus field names and quotes; 256 KiB is reserved.
ENVOY_ENVELOPE_RESERVE_BYTES = 256 * 2**10


def envoy_mode_body_cap() -> str:
    """The largest body whose envelope still fits Lambda's payload in Envoy mode: base64 of it plus the reserve is
    at most 6 MiB (4416Ki: 4,521,984 bytes become 6,029,312 in base64, and 262,144 remain for the envelope)."""
    usable = LAMBDA_SYNC_PAYLOAD_BYTES - ENVOY_ENVELOPE_RESERVE_BYTES
    body = usable // 4 * 3  # base64 writes 4 characters for every 3 bytes (the last group padded to 4)
    return f"{body // 2**10}Ki"
