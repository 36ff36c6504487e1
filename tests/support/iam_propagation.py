"""Propagation delay on the day-2 harness: a simulated clock, IAM that honours a new access key only after a while,
and kgateway that sees the cluster only after a while; then the answer to "would a signed request fail now?".

The harness applies each change at once; the real systems do not:
- IAM is eventually consistent: a new access key is honoured only some seconds after CreateAccessKey returns, while
  a deleted key fails at once (IAM User Guide, troubleshoot_general, "Changes that I make are not always immediately
  visible"; the model takes the worst side of each: late to honour, early to refuse);
- kgateway reads Backends and Secrets from informers (krt collections) and pushes the translated cluster to Envoy
  over xDS, the credentials inlined in it (kgateway-dev/kgateway internal/kgateway/extensions2/plugins/backend/aws.go
  `configureAWSAuth`: `InlineCredential` from the Secret's `accessKey`/`secretKey`; no Secret, no credentials:
  Envoy's default chain, which has none for this user). Envoy therefore signs, at time t, with the Secret the
  Backend referenced at t - M.

Every step the harness takes (a create, an update, a delete) lasts one simulated second. A wait in the program
(components.credentials.CLOCK) is a discrete-event sleep on the same clock: steps that do not wait for it go on at
their own simulated times, and the clock jumps to the sleeper's wake-up only once nothing else is in flight. So a
step the program does not make wait (a Backend moved before the new key settled) happens early, as it would.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pulumi

from components import credentials
from tests.support.lifecycle import MotoDeployment
from tests.support.state import Deployed, Key
from tools.engine import ProgramRun, reveal

# A new key is honoured this long after it is made (AWS gives no bound; seconds are typical).
KEY_HONOURED_AFTER = 20.0
# kgateway's view of the cluster (informer, translation, xDS push to Envoy) lags by this much.
KGATEWAY_LAG = 5.0
STEP_SECONDS = 1.0
# The last commit whose rotation deleted the old key and replaced the Secret in the same `up`, and whose execution
# roles had AWSLambdaBasicExecutionRole (logs on `*`): the stacks issue 21 upgrades.
BEFORE_ISSUE_21 = "b51b45f"

# Why a signed request fails.
NO_SECRET = "no Secret: Envoy signs with no credentials of this user"
DELETED_KEY = "signed with a deleted key"
UNKNOWN_KEY = "signed with a key IAM never had"
NEW_KEY_NOT_HONOURED = "signed with a new key IAM does not honour yet"


class SimulatedClock:
    """Seconds since the start of the test, advanced by the harness's steps and by the program's sleeps, in the
    order a real deploy would reach them: a sleep ends at its wake-up time, and only steps made meanwhile by what
    does not wait for it are timed before that."""

    # A sleeper jumps the clock once no harness step has been in flight for this many polls of this many seconds
    # (real time): the program's other work (an Output resolving, a registration being sent) takes microseconds.
    QUIET_POLLS = 10
    POLL_SECONDS = 0.005

    def __init__(self) -> None:
        self._now = 1_000_000_000.0
        self._lock = threading.Lock()
        self._in_flight = 0  # harness steps (mock calls) running now
        self._finished = 0  # harness steps finished so far
        self._wake_ups: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += max(seconds, 0.0)

    @contextlib.contextmanager
    def step(self) -> Iterator[None]:
        """A harness step in flight (a sleeper does not jump the clock past it)."""
        with self._lock:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
                self._finished += 1

    async def sleep(self, seconds: float) -> None:
        with self._lock:
            wake_up = self._now + max(seconds, 0.0)
            self._wake_ups.append(wake_up)
        try:
            quiet, seen = 0, -1
            while self.now() < wake_up:
                await asyncio.sleep(self.POLL_SECONDS)  # the program's other tasks run meanwhile
                with self._lock:
                    busy = self._in_flight > 0 or self._finished != seen
                    seen = self._finished
                quiet = 0 if busy else quiet + 1
                if quiet >= self.QUIET_POLLS:  # nothing else moves: time passes to the earliest wake-up
                    with self._lock:
                        self._now = max(self._now, min(self._wake_ups))
                    quiet = 0
        finally:
            with self._lock:
                self._wake_ups.remove(wake_up)


@dataclass
class Failure:
    at: float
    backend: str
    why: str


@dataclass
class PropagationModel:
    """What IAM honours and what kgateway signs with, over simulated time."""

    clock: SimulatedClock = field(default_factory=SimulatedClock)
    key_honoured_after: float = KEY_HONOURED_AFTER
    kgateway_lag: float = KGATEWAY_LAG
    key_created: dict[str, float] = field(default_factory=dict)
    key_deleted: dict[str, float] = field(default_factory=dict)
    # (time, {backend: the access key id its Secret holds, or None when the Secret is missing}), in order.
    views: list[tuple[float, dict[str, str | None]]] = field(default_factory=list)

    def honoured(self, access_key: str | None, at: float) -> str | None:
        """Why a request signed with this key at `at` fails, or None when IAM honours it."""
        if access_key is None:
            return NO_SECRET
        if access_key in self.key_deleted and self.key_deleted[access_key] <= at:
            return DELETED_KEY
        created = self.key_created.get(access_key)
        if created is None:
            return UNKNOWN_KEY
        if at < created + self.key_honoured_after:
            return NEW_KEY_NOT_HONOURED
        return None

    def signing_keys(self, at: float) -> dict[str, str | None]:
        """The key Envoy signs each Backend's requests with at `at`: the cluster as it was kgateway_lag earlier."""
        seen: dict[str, str | None] = {}
        for when, view in self.views:
            if when > at - self.kgateway_lag:
                break
            seen = view
        return seen

    def failures(self, start: float, end: float) -> list[Failure]:
        """Every failing signed request of a client sending one a second through every Backend, from start to end."""
        found = []
        at = start
        while at <= end:
            for backend, access_key in sorted(self.signing_keys(at).items()):
                why = self.honoured(access_key, at)
                if why is not None:
                    found.append(Failure(at, backend, why))
            at += 1.0
        return found


class PropagatingDeployment(MotoDeployment):
    """The day-2 harness with the propagation model: each step takes a simulated second and is recorded."""

    def __init__(self, session: boto3.Session, model: PropagationModel | None = None, **options: Any) -> None:
        super().__init__(session, **options)
        self.model = model or PropagationModel()

    def up(self, config: dict[str, str], secret_keys: list[str] | None = None, **options: Any) -> ProgramRun:
        with self._simulated_program_clock():
            return super().up(config, secret_keys, **options)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        with self.model.clock.step():
            return super().new_resource(args)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        with self.model.clock.step():
            return super().call(args)

    @contextlib.contextmanager
    def _simulated_program_clock(self) -> Iterator[None]:
        saved = credentials.CLOCK
        credentials.CLOCK = self.model.clock  # type: ignore[assignment]
        try:
            yield
        finally:
            credentials.CLOCK = saved

    def settle(self, seconds: float = 600.0) -> None:
        """Time passes with nothing deployed (everything made so far is honoured and seen)."""
        self.model.clock.advance(seconds)

    def _step(self) -> None:
        self.model.clock.advance(STEP_SECONDS)
        self.model.views.append((self.model.clock.now(), self._cluster_view()))

    def _cluster_view(self) -> dict[str, str | None]:
        secrets = self.cluster.of_kind("Secret")
        view: dict[str, str | None] = {}
        for (namespace, name), backend in self.cluster.of_kind("Backend").items():
            auth = ((backend.get("spec") or {}).get("aws") or {}).get("auth") or {}
            secret_name = (auth.get("secretRef") or {}).get("name")
            if secret_name is None:
                continue
            secret = secrets.get((namespace, secret_name))
            data = reveal(secret.get("stringData") or {}) if secret is not None else {}
            view[f"{namespace}/{name}"] = data.get("accessKey")
        return view

    # --- the harness's steps, each timed and recorded ------------------------------------------------------
    def _create(self, key: Key, args: pulumi.runtime.MockResourceArgs, *rest: Any) -> tuple[str, dict[str, Any]]:
        made = super()._create(key, args, *rest)
        if not self.dry_run:
            if args.typ == "aws:iam/accessKey:AccessKey":
                # The provider's `createDate` (RFC 3339), on the simulated clock.
                created = datetime.fromtimestamp(self.model.clock.now(), UTC).isoformat().replace("+00:00", "Z")
                made[1]["createDate"] = self.deployed[key].state["createDate"] = created
                self.model.key_created[made[0]] = self.model.clock.now()
            self._step()
        return made

    def _update(self, key: Key, *rest: Any) -> tuple[str, dict[str, Any]]:
        updated = super()._update(key, *rest)
        if not self.dry_run:
            self._step()
        return updated

    def _delete(self, key: Key) -> None:
        resource: Deployed = self.deployed[key]
        super()._delete(key)
        if resource.type == "aws:iam/accessKey:AccessKey":
            self.model.key_deleted[resource.id] = self.model.clock.now()
        self._step()
