"""Real HTTP servers on 127.0.0.1 for the verify tests: a gateway stand-in that runs the real handler with node
(pass-through or Envoy-style wrapping), ones that answer wrong or hang, and a Lambda Invoke API stand-in."""

from __future__ import annotations

import base64
import http.cookies
import json
import os
import re
import socket
import subprocess
import threading
import time
import urllib.parse
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


class BurstReadyServer(ThreadingHTTPServer):
    # socketserver's listen backlog is 5: verify's concurrent burst (16 in flight) would wait on dropped SYNs.
    request_queue_size = 64


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on a free loopback port in a background thread; yields the base URL."""
    server = BurstReadyServer(("127.0.0.1", 0), handler)
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
    key_sources: tuple[tuple[str, str], ...] = (("header", "api-key"),),
    keys: dict[str, str] | None = None,
    key: str = "k" * 32,
    jwt: str | None = None,
    cors_origin: str = "https://app.example.com",
    cors_methods: str = "GET, POST",
    burst: int = 5,
    tokens_per_fill: int = 1,
    fill_seconds: float = 60.0,
    replicas: int = 1,
    misbehave: frozenset[str] = frozenset(),
) -> Iterator[str]:
    """A protected route as kgateway's Envoy answers it (TRAFFICPOLICY.md §1, §2, §4, §5): a CORS preflight from an
    allowed origin answered 200 with the CORS headers before any auth; the API key read from the first of
    `key_sources` the request has (`keys`: client -> key, else one client with `key`), 401 "Client authentication
    failed." without a known one; with `jwt` (the one valid token) also `Authorization: Bearer <jwt>` required,
    401 "Jwt is missing" / "Jwt verification fails"; then `replicas` token buckets of `burst` tokens (taken in turn,
    `tokens_per_fill` added every `fill_seconds`) answering 429 "local_rate_limited" once empty; else the echo
    function (pass-through).

    `misbehave`: "open" (no key needed), "no-cors" (preflights forwarded: no CORS headers), "no-429" (no rate
    limit), "500" (an invalid policy: every request 500), "403" (refusals 403), "first-source-only" (keys read only
    from the first source), "first-client-only" (only the first client's key), "jwt-open" (no JWT needed),
    "jwt-any" (any token taken), "jwt-or-key" (either credential is enough)."""
    clients = keys if keys is not None else {"default": key}
    ordered = [clients[c] for c in sorted(clients)]
    accepted = set(ordered[:1] if "first-client-only" in misbehave else ordered)
    sources = key_sources[:1] if "first-source-only" in misbehave else key_sources
    refusal = 403 if "403" in misbehave else 401
    lock = threading.Lock()
    start = time.monotonic()
    buckets = [{"tokens": burst, "fills": 0} for _ in range(replicas)]
    turn = [0]
    answers: dict[str, tuple[int, str]] = {}

    def take_token() -> bool:
        with lock:
            bucket = buckets[turn[0] % replicas]
            turn[0] += 1
            fills = int((time.monotonic() - start) // fill_seconds)
            bucket["tokens"] = min(burst, bucket["tokens"] + (fills - bucket["fills"]) * tokens_per_fill)
            bucket["fills"] = fills
            if bucket["tokens"] <= 0:
                return False
            bucket["tokens"] -= 1
            return True

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

        def _key(self) -> str | None:
            """Envoy's api_key_auth: the first source the request has decides (no fallback past a wrong key)."""
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            cookies = http.cookies.SimpleCookie(self.headers.get("Cookie") or "")
            for kind, name in sources:
                if kind == "header" and self.headers.get(name) is not None:
                    return str(self.headers.get(name)).removeprefix("Bearer ")
                if kind == "query" and name in query:
                    return query[name][0]
                if kind == "cookie" and name in cookies:
                    return cookies[name].value
            return None

        def _key_ok(self) -> bool:
            return "open" in misbehave or not key_sources or self._key() in accepted

        def _jwt_ok(self) -> tuple[bool, str]:
            if jwt is None or "jwt-open" in misbehave:
                return True, ""
            header = self.headers.get("Authorization") or ""
            if not header.startswith("Bearer "):
                return False, "Jwt is missing"
            if "jwt-any" in misbehave or header.removeprefix("Bearer ") == jwt:
                return True, ""
            return False, "Jwt verification fails"

        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
            if "500" in misbehave:
                self._answer(500, "invalid route configuration detected and replaced with a direct response.")
                return
            key_ok, (jwt_ok, jwt_refusal) = self._key_ok(), self._jwt_ok()
            let_in = (key_ok and jwt_ok) if "jwt-or-key" not in misbehave else (key_ok or jwt_ok)
            if not let_in:
                self._answer(refusal, "Client authentication failed." if not key_ok else jwt_refusal)
                return
            if not take_token() and "no-429" not in misbehave:
                self._answer(429, "local_rate_limited")
                return
            with lock:  # the real handler runs once per distinct body (a burst sends one body many times)
                answered = answers.get(body)
            if answered is None:
                answered = answer_for("passthrough", self.path, self.command, body)
                with lock:
                    answers[body] = answered
            self._answer(*answered)

        do_POST = do_GET = _serve  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(Handler) as base:
        yield base
