"""`verify`: the guide's confirmation step, automated, for every route of a deployed stack.

Sends the guide's request to each route and checks the answer the configured payload mode must give; one
PASS/FAIL line per route, exit code 0 only when all pass. Optionally invokes each function directly with the
AWS SDK (`--invoke`), with the deployer's credentials. With `--wait SECONDS` every check is retried with backoff
until it passes or the deadline comes, for the seconds after `pulumi up` in which IAM and kgateway catch up.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TextIO

from program.guide import (
    ECHO_PREFIX,
    EXPECT_ASYNC,
    EXPECT_ENVOY,
    EXPECT_GUIDE,
    EXPECT_STATUS,
    GUIDE_EVENT,
    GUIDE_REQUEST_BODY,
    GUIDE_RESPONSE,
    Expect,
)
from tools.verify_protection import (
    Credentials,
    Protection,
    auth_steps,
    burst_step,
    ip_allow_step,
    protection_from,
)


@dataclass(frozen=True)
class Check:
    route: str
    url: str
    expect: Expect = EXPECT_GUIDE
    host: str | None = None
    method: str = "POST"
    function: str | None = None
    protection: Protection | None = None


@dataclass(frozen=True)
class Result:
    name: str
    passed: bool
    detail: str

    def line(self) -> str:
        return f"{'PASS' if self.passed else 'FAIL'} {self.name}: {self.detail}"


def checks_from_outputs(outputs: dict[str, Any], jwt_token: str | None = None, replicas: int = 1) -> list[Check]:
    """The checks a stack's outputs describe (`verify`), or one guide check of `echo_url`; `jwt_token` for every
    JWT route, `replicas` the gateway's (each has its own rate-limit bucket)."""
    if isinstance(outputs.get("verify"), list):
        found = outputs.get("api_keys")
        keys: dict[str, Any] = found if isinstance(found, dict) else {}
        return [
            Check(
                route=str(item["route"]),
                url=str(item["url"]),
                expect=str(item.get("expect", EXPECT_GUIDE)),
                host=item.get("host"),
                method=str(item.get("method", "POST")),
                function=item.get("function"),
                protection=protection_from(item.get("protection"), keys.get(str(item["route"])), jwt_token, replicas),
            )
            for item in outputs["verify"]
        ]
    if "echo_url" in outputs:
        return [Check(route=str(outputs.get("route_name", "echo")), url=str(outputs["echo_url"]))]
    raise ValueError("the outputs have neither `verify` nor `echo_url`: is this a kgateway-lambda stack?")


def through(checks: list[Check], base_url: str) -> list[Check]:
    """The same checks sent to another address of the same Gateway: from inside the cluster its Service
    (`http://<gateway>.<namespace>.svc.cluster.local:<port>`, the Service kgateway's deployer names after the
    Gateway), from outside a port-forward or load balancer. Path and query stay; so does the Host the stack's URL
    carried, so Envoy picks the same virtual host and route as for the published address."""
    base = urllib.parse.urlsplit(base_url)
    if base.scheme not in ("http", "https") or not base.netloc or base.path not in ("", "/"):
        raise ValueError(f"--base-url {base_url!r}: expected scheme://host[:port] with no path")
    moved = []
    for check in checks:
        url = urllib.parse.urlsplit(check.url)
        new_url = urllib.parse.urlunsplit((base.scheme, base.netloc, url.path, url.query, ""))
        moved.append(dataclasses.replace(check, url=new_url, host=check.host or url.netloc))
    return moved


def expected_text(expect: Expect) -> str:
    return {
        EXPECT_GUIDE: f"HTTP 200 and exactly {GUIDE_RESPONSE}",
        EXPECT_ENVOY: f"HTTP 200 and a body starting {ECHO_PREFIX!r} that echoes the request",
        EXPECT_ASYNC: "HTTP 202 (the function runs asynchronously; no body)",
        EXPECT_STATUS: "HTTP 200",
    }[expect]


def judge(expect: Expect, status: int, body: str) -> tuple[bool, str]:
    """Whether an answer is what the payload mode must give, and what was wrong if not."""
    if expect == EXPECT_ASYNC:
        return status == 202, f"HTTP {status}"
    if status != 200:
        return False, f"HTTP {status}: {body[:300]!r}"
    if expect == EXPECT_GUIDE and body != GUIDE_RESPONSE:
        return False, f"HTTP 200 but body {body[:300]!r}"
    if expect == EXPECT_ENVOY and not (body.startswith(ECHO_PREFIX) and _echoes_request(body[len(ECHO_PREFIX) :])):
        return False, f"HTTP 200 but body {body[:300]!r}"
    return True, f"HTTP {status}"


def _echoes_request(echoed: str) -> bool:
    """Envoy wraps the request in an API-Gateway-style event; the request body is in it (maybe base64)."""
    if not _is_json(echoed):
        return False
    event = json.loads(echoed)
    body = event.get("body") if isinstance(event, dict) else None
    if isinstance(body, str) and event.get("isBase64Encoded"):
        body = base64.b64decode(body).decode(errors="replace")
    return isinstance(body, str) and _is_json(body) and json.loads(body) == GUIDE_EVENT


def _is_json(text: object) -> bool:
    if not isinstance(text, str):
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def http_check(check: Check, timeout: float = 10.0) -> Result:
    name = f"route {check.route}"
    if not check.url.startswith("http"):
        return Result(name, False, f"no URL: {check.url}")
    if check.protection is not None:
        return protected_check(check, check.protection, timeout)
    try:
        status, body = _send(check, timeout)
    except OSError as error:  # timeouts, refusals and other transport failures, each with its hint
        return Result(name, False, f"{check.method} {check.url}: {_describe(error, timeout)}")
    passed, got = judge(check.expect, status, body)
    hint = "" if passed else f"; {hint_for(status)}"
    return Result(name, passed, f"{check.method} {check.url} expected {expected_text(check.expect)}, got {got}{hint}")


def protected_check(check: Check, protection: Protection, timeout: float) -> Result:
    """A protected route: each protection's refusals exactly (tools/verify_protection.py), each way in let in, a
    CORS preflight answered with the configured headers, a concurrent burst past the bucket(s) seeing 429, and a
    NOT CHECKED line for what cannot be checked from outside. Keys and tokens are never shown."""
    name = f"route {check.route}"

    def send(credentials: Credentials, request_timeout: float) -> tuple[int, str]:
        return _send(check, request_timeout, credentials)

    def judge_answer(status: int, body: str) -> tuple[bool, str]:
        return judge(check.expect, status, body)

    steps: list[tuple[bool, str]] = []
    try:
        steps += auth_steps(protection, send, judge_answer, timeout)
        if not protection.needs_credentials:
            status, body = send((), timeout)
            passed, got = judge(check.expect, status, body)
            steps.append((passed, f"expected {expected_text(check.expect)}, got {got}"))
        if protection.cors_origin is not None:
            steps.append(_cors_step(check, protection, timeout))
        if protection.bucket is not None:
            steps.append(burst_step(protection, send, judge_answer, timeout))
        if (ip_step := ip_allow_step(protection)) is not None:
            steps.append(ip_step)
    except OSError as error:
        return Result(name, False, f"{check.method} {check.url}: {_describe(error, timeout)}")
    passed = all(ok for ok, _ in steps)
    return Result(name, passed, f"{check.method} {check.url}: " + "; ".join(text for _, text in steps))


def _cors_step(check: Check, protection: Protection, timeout: float) -> tuple[bool, str]:
    origin, method = protection.cors_origin or "", protection.cors_method or "GET"
    request = urllib.request.Request(check.url, method="OPTIONS")
    request.add_header("Origin", origin)
    request.add_header("Access-Control-Request-Method", method)
    if check.host:
        request.add_header("Host", check.host)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, headers = response.status, response.headers
    except urllib.error.HTTPError as error:
        status, headers = error.code, error.headers
    allowed_origin = headers.get("Access-Control-Allow-Origin")
    allowed_methods = [m.strip() for m in (headers.get("Access-Control-Allow-Methods") or "").split(",")]
    passed = allowed_origin in (origin, "*") and (method in allowed_methods or "*" in allowed_methods)
    got = f"HTTP {status}, Access-Control-Allow-Origin {allowed_origin!r}, -Methods {', '.join(allowed_methods)!r}"
    return passed, f"CORS preflight from {origin} for {method} expected the origin and method allowed, got {got}"


def _send(check: Check, timeout: float, credentials: Credentials = ()) -> tuple[int, str]:
    # The guide's event goes with every method that may carry a body (a GET-only route's function still gets it:
    # Envoy forwards a GET's body), so the echo function answers the same whatever method the route accepts.
    data = GUIDE_REQUEST_BODY.encode() if check.method not in BODILESS_METHODS else None
    url = check.url
    query = [(name, value) for kind, name, value in credentials if kind == "query"]
    if query:
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode(query)
    request = urllib.request.Request(url, data=data, method=check.method)
    request.add_header("content-type", "application/json")
    if check.host:
        request.add_header("Host", check.host)
    for kind, name, value in credentials:
        if kind == "header":
            request.add_header(name, value)
    cookies = [f"{name}={value}" for kind, name, value in credentials if kind == "cookie"]
    if cookies:
        request.add_header("Cookie", "; ".join(cookies))
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


# HEAD's answer has no body (RFC 9110 §9.3.2) and CONNECT/TRACE carry none: nothing to send.
BODILESS_METHODS = frozenset({"HEAD", "CONNECT", "TRACE"})


def _describe(error: OSError, timeout: float) -> str:
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(reason, TimeoutError | socket.timeout):
        return f"timed out after {timeout:g}s; {HINT_TIMEOUT}"
    if isinstance(reason, ConnectionRefusedError):
        return f"connection refused; {HINT_REFUSED}"
    return f"{reason}; {HINT_REFUSED}"


HINT_TIMEOUT = (
    "the Gateway may have no address yet (kubectl get gateway -A) or the route is not accepted "
    "(kubectl get httproute -A -o yaml: status.parents[].conditions)"
)
HINT_REFUSED = (
    "nothing listens there: is the port-forward running "
    "(kubectl port-forward -n kgateway-system deployment/http 8080:8080) and is gatewayUrl right?"
)


def hint_for(status: int) -> str:
    if status == 404:
        return "no route matched: is the HTTPRoute accepted, and do path, method and Host match?"
    if status in (401, 403):
        return "AWS refused the call: check the Secret's keys or the role (IRSA / assume-role) and its policy"
    if status >= 500:
        return "kgateway could not invoke the function: check the Backend's status and the gateway's logs"
    return "unexpected answer"


def invoke_check(
    function: str, region: str, expect: Expect, endpoint_url: str | None = None, timeout: float = 30.0
) -> Result:
    """Invoke the function directly with the deployer's AWS credentials: its raw result is the guide's response."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    name = f"function {function}"
    client = boto3.client(
        "lambda",
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 1}),
    )
    try:
        answer = client.invoke(FunctionName=function, Payload=GUIDE_REQUEST_BODY.encode())
    except (BotoCoreError, ClientError) as error:
        return Result(name, False, f"invoke failed: {error}")
    payload = answer["Payload"].read().decode(errors="replace")
    if answer.get("FunctionError"):
        return Result(name, False, f"the function raised: {payload[:300]!r}")
    if expect in (EXPECT_GUIDE, EXPECT_ENVOY):  # directly invoked, the echo function returns its raw result
        passed = payload == GUIDE_RESPONSE
        return Result(name, passed, f"expected {GUIDE_RESPONSE}, got {payload[:300]!r}")
    return Result(name, answer["StatusCode"] == 200, f"StatusCode {answer['StatusCode']}")


# Waiting: IAM honours a new key, role or policy only after seconds (AWS IAM User Guide, "Changes that I make are
# not always immediately visible"), and kgateway needs a moment to program a new route or Secret into Envoy; so
# right after `pulumi up` each check is retried until it passes or the deadline comes.
FIRST_PAUSE = 1.0
LONGEST_PAUSE = 8.0


@dataclass(frozen=True)
class Clock:
    """Time as the waiting loop sees it (the tests give it a simulated one)."""

    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def until_passed(
    attempt: Callable[[float], Result],
    wait: float,
    request_timeout: float,
    clock: Clock = Clock(),
    progress: Callable[[Result, int, float], None] | None = None,
) -> Result:
    """Run `attempt(timeout)` until it passes or `wait` seconds are over, pausing 1, 2, 4, 8, 8 ... s between
    tries; no request outlives the deadline. The answer: the last result, with how many tries and how long."""
    start = clock.now()
    deadline = start + wait
    pause = FIRST_PAUSE
    tries = 0
    while True:
        remaining = deadline - clock.now()
        result = attempt(max(0.1, min(request_timeout, remaining)) if wait > 0 else request_timeout)
        tries += 1
        elapsed = clock.now() - start
        if progress is not None:
            progress(result, tries, elapsed)
        remaining = deadline - clock.now()
        if result.passed or remaining <= 0:
            break
        clock.sleep(min(pause, remaining))
        pause = min(pause * 2, LONGEST_PAUSE)
    if wait <= 0:
        return result
    took = f"{tries} {'try' if tries == 1 else 'tries'} in {clock.now() - start:.0f}s"
    if result.passed:
        return Result(result.name, True, f"{result.detail} (after {took})")
    return Result(result.name, False, f"{result.detail} (still failing after {took}; waited up to {wait:g}s)")


class ProgressLines:
    """One line per check while waiting: rewritten in place on a terminal, else a line each time a check's answer
    changes (so a CI log shows the story without a line per try)."""

    def __init__(self, names: list[str], stream: TextIO, interactive: bool):
        self.names = names
        self.stream = stream
        self.interactive = interactive
        self.lines = {name: "waiting" for name in names}
        self.lock = threading.Lock()
        if interactive:
            stream.write("".join(f"{name}: waiting\n" for name in names))
            stream.flush()

    def update(self, result: Result, tries: int, elapsed: float) -> None:
        state = "PASS" if result.passed else "not yet"
        line = f"{state} ({result.detail.split(';')[0]}), try {tries}, {elapsed:.0f}s"
        with self.lock:
            changed = self.lines[result.name].split(",")[0] != line.split(",", maxsplit=1)[0]
            self.lines[result.name] = line
            if self.interactive:
                up = len(self.names)
                body = "".join(f"\x1b[2K{name}: {self.lines[name]}\n" for name in self.names)
                self.stream.write(f"\x1b[{up}F{body}")
            elif changed:
                self.stream.write(f"{result.name}: {line}\n")
            self.stream.flush()


def run_checks(
    attempts: list[tuple[str, Callable[[float], Result]]],
    wait: float,
    request_timeout: float,
    clock: Clock = Clock(),
    progress: ProgressLines | None = None,
) -> list[Result]:
    """Every check at once, each retried until the same deadline: N routes take as long as the slowest, not N
    times the wait."""
    if wait <= 0:
        return [attempt(request_timeout) for _, attempt in attempts]
    update = progress.update if progress is not None else None
    with ThreadPoolExecutor(max_workers=max(1, min(16, len(attempts)))) as pool:
        futures = [pool.submit(until_passed, attempt, wait, request_timeout, clock, update) for _, attempt in attempts]
        return [future.result() for future in futures]
