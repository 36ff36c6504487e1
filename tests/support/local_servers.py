"""Real HTTP servers on 127.0.0.1 for the verify tests: a gateway stand-in that runs the real handler with node
(pass-through or Envoy-style wrapping), ones that answer wrong or hang, and a Lambda Invoke API stand-in."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from program.config import PROJECT_ROOT
from tests.support.node_handler import invoke


def free_port() -> int:
    """A port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on a free loopback port in a background thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    # serve_forever notices a shutdown only between polls: the default half second was paid by every test.
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def answer_for(behaviour: str, path: str, method: str, body: str) -> tuple[int, str]:
    if behaviour == "passthrough":  # payloadTransformMode None: the event is the body, the result is the body
        return 200, invoke(json.loads(body or "null"))
    if behaviour == "envoy":  # an API-Gateway-style event in, {statusCode, body} unwrapped out
        event = {"httpMethod": method, "path": path, "headers": {}, "body": body, "isBase64Encoded": False}
        result = json.loads(invoke(event))
        return int(result["statusCode"]), str(result["body"])
    if behaviour == "envoy-base64":
        # Envoy base64-encodes the request body in the event when its content-type is not textual (the envoyproxy
        # repository's documentation of the AWS Lambda HTTP filter, aws_lambda_filter.rst: anything but text/*,
        # application/json, application/xml, application/javascript), and says so with isBase64Encoded.
        encoded = base64.b64encode(body.encode()).decode()
        event = {"httpMethod": method, "path": path, "headers": {}, "body": encoded, "isBase64Encoded": True}
        result = json.loads(invoke(event))
        return int(result["statusCode"]), str(result["body"])
    if behaviour == "async":
        return 202, ""
    if behaviour == "wrong-status":
        return 502, "upstream connect error"
    if behaviour == "wrong-body":
        return 200, '{"statusCode":200,"body":"something else"}'
    raise ValueError(behaviour)


@contextmanager
def gateway_server(
    behaviour: str,
    *,
    host: str | None = None,
    hang_seconds: float = 3.0,
    ready: Callable[[], bool] | None = None,
    methods: tuple[str, ...] = (),
    path_regex: str | None = None,
) -> Iterator[str]:
    """Serve one behaviour on a free port; yields the base URL. Until `ready()` is true it answers as Envoy does
    for a route kgateway has not programmed yet (404, no route); so it does for a request the route does not
    match: another Host, a method not in `methods` (when given), a path `path_regex` does not fully match."""

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
            if ready is not None and not ready():
                status, text = 404, ""
            elif behaviour == "hang":
                time.sleep(hang_seconds)
                status, text = 200, ""
            elif host is not None and self.headers.get("Host") != host:
                status, text = 404, "no route for this host"
            elif methods and self.command not in methods:
                status, text = 404, "no route for this method"
            elif path_regex is not None and re.fullmatch(path_regex, self.path) is None:
                status, text = 404, "no route for this path"
            else:
                status, text = answer_for(behaviour, self.path, self.command, body)
            data = text.encode()
            try:
                self.send_response(status)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up (timeout tests)
                pass

        do_POST = do_GET = do_PUT = do_DELETE = do_PATCH = _serve  # noqa: N815 (http.server's method names)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as base:
        yield base


INVOKE_PATH = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations")


@contextmanager
def lambda_api_server() -> Iterator[str]:
    """The Lambda Invoke API: `echo` answered by running the real handler with node; `wrong` returns another
    payload; `raises` fails as an unhandled error does (HTTP 200 with `X-Amz-Function-Error`)."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
            match = INVOKE_PATH.match(self.path)
            function = match.group(1) if match is not None else None
            if function == "echo":
                data = invoke(json.loads(body)).encode()
                self.send_response(200)
            elif function == "wrong":
                data = b'{"statusCode":200,"body":"something else"}'
                self.send_response(200)
            elif function == "raises":
                data = b'{"errorType":"Error","errorMessage":"boom"}'
                self.send_response(200)
                self.send_header("X-Amz-Function-Error", "Unhandled")
            else:
                data = b'{"Type":"User","message":"Function not found"}'
                self.send_response(404)
                self.send_header("x-amzn-ErrorType", "ResourceNotFoundException")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as base:
        yield base


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on a free loopback port, started and stopped by `scripts/moto-server` as a user runs it;
    yields its endpoint URL."""
    port = free_port()
    env = {**os.environ, "MOTO_PORT": str(port), "MOTO_HOST": "127.0.0.1"}
    script = str(PROJECT_ROOT / "scripts" / "moto-server")
    subprocess.run(["bash", script, "start"], env=env, check=True, capture_output=True, timeout=60)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run(["bash", script, "stop"], env=env, check=False, capture_output=True, timeout=60)


@contextmanager
def protected_server(
    *,
    key_header: str = "api-key",
    key: str = "k" * 32,
    cors_origin: str = "https://app.example.com",
    cors_methods: str = "GET, POST",
    burst: int = 5,
    misbehave: frozenset[str] = frozenset(),
) -> Iterator[str]:
    """A protected route as kgateway's Envoy answers it (TRAFFICPOLICY.md §1, §4, §5): a CORS preflight from an
    allowed origin answered 200 with the CORS headers before any auth; 401 "Client authentication failed." without
    the key; a token bucket of `burst` (refilled 1 a minute) answering 429 "local_rate_limited" once empty; else the
    echo function (pass-through). `misbehave`: "open" (no key needed), "no-cors" (preflights forwarded: no CORS
    headers), "no-429" (no rate limit)."""
    tokens = [burst]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, text: str, headers: dict[str, str] | None = None) -> None:
            data = text.encode()
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_OPTIONS(self) -> None:
            origin = self.headers.get("Origin")
            if (
                "no-cors" not in misbehave
                and origin == cors_origin
                and self.headers.get("Access-Control-Request-Method")
            ):
                headers = {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": cors_methods}
                self._answer(200, "", headers)
            else:
                self._answer(404, "")

        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
            if "open" not in misbehave and self.headers.get(key_header) != key:
                self._answer(401, "Client authentication failed.")
                return
            with lock:
                empty = tokens[0] <= 0
                tokens[0] -= 1
            if empty and "no-429" not in misbehave:
                self._answer(429, "local_rate_limited")
                return
            status, text = answer_for("passthrough", self.path, self.command, body)
            self._answer(status, text)

        do_POST = do_GET = _serve  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as base:
        yield base
