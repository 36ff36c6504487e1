"""Rotation on the day-2 harness with propagation delay (tests/support/iam_propagation.py): a client signing one
request a second through the Backend sees no failure across a rotation that keeps the previous key; the rotation
as it was before issue 21 (and a rotation without credentialsPreviousRotation) shows the window."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from components import LambdaGatewayRoute
from components.credentials import KEY_SETTLE_SECONDS, check_credentials_args, rotation_secret_name
from components.lambda_gateway_route import CredentialsOptions
from components.validation import DNS_SUBDOMAIN_RE, ComponentInputError, InputChecker
from program.config import ConfigError, MappingConfigSource, load_settings
from tests.support.fake_aws import FakeAwsMocks
from tests.support.iam_propagation import (
    BEFORE_ISSUE_21,
    DELETED_KEY,
    KEY_HONOURED_AFTER,
    NEW_KEY_NOT_HONOURED,
    NO_SECRET,
    Failure,
    PropagatingDeployment,
    PropagationModel,
    SimulatedClock,
)
from tests.support.lifecycle import dev_config
from tests.support.releases import up_release
from tools.engine import run_program

OIDC = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE"


def access_key_ids(session: boto3.Session) -> list[str]:
    iam = session.client("iam")
    user = iam.list_users(PathPrefix="/kgateway-lambda/")["Users"][0]["UserName"]
    return sorted(k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"])


def rotate_and_sign(deployment: PropagatingDeployment, config: dict[str, str], **up: object) -> list[Failure]:
    """The failures a client signing once a second sees from before the `up` until everything has propagated."""
    model = deployment.model
    deployment.settle()
    start = model.clock.now()
    deployment.up(config, **up)  # type: ignore[arg-type]
    end = model.clock.now() + model.key_honoured_after + model.kgateway_lag + 1
    deployment.settle(end - model.clock.now())
    return model.failures(start, end)


def test_the_model_bites_a_new_key_is_late_a_deleted_key_fails_at_once_kgateway_lags() -> None:
    model = PropagationModel()
    now = model.clock.now()
    model.key_created["AKIANEW"] = now
    assert model.honoured("AKIANEW", now + KEY_HONOURED_AFTER - 1) == NEW_KEY_NOT_HONOURED
    assert model.honoured("AKIANEW", now + KEY_HONOURED_AFTER) is None
    model.key_deleted["AKIANEW"] = now + 100
    assert model.honoured("AKIANEW", now + 100) == DELETED_KEY
    assert model.honoured(None, now) == NO_SECRET
    model.views.append((now, {"ns/b": "AKIAOLD"}))
    model.views.append((now + 10, {"ns/b": "AKIANEW"}))
    assert model.signing_keys(now + 10) == {"ns/b": "AKIAOLD"}  # kgateway has not seen the change yet
    assert model.signing_keys(now + 10 + model.kgateway_lag) == {"ns/b": "AKIANEW"}


def test_a_sleep_delays_only_what_waits_for_it() -> None:
    """The program's wait for a new key to settle must not make unrelated steps late: a step that does not wait is
    timed at once, and the sleeper wakes at its own time (else a Backend moved too early would look on time)."""

    async def scenario() -> tuple[float, float, float]:
        clock = SimulatedClock()
        start = clock.now()
        sleeper = asyncio.ensure_future(clock.sleep(30))
        await asyncio.sleep(0)  # the sleep has begun
        with clock.step():  # a step that does not wait for it
            clock.advance(1)
        stepped = clock.now()
        await sleeper
        return start, stepped, clock.now()

    loop = asyncio.new_event_loop()  # its own loop: asyncio.run would unset the one the Pulumi tests share
    try:
        start, stepped, woke = loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert stepped == start + 1
    assert woke == start + 30


def test_rotation_before_issue_21_fails_signed_requests(aws: boto3.Session, tmp_path: Path) -> None:
    deployment = PropagatingDeployment(aws)
    up_release(deployment, BEFORE_ISSUE_21, tmp_path / "first", dev_config(credentialsRotation="1"))
    deployment.settle()
    assert deployment.model.failures(deployment.model.clock.now() - 1, deployment.model.clock.now()) == []
    start = deployment.model.clock.now()
    up_release(deployment, BEFORE_ISSUE_21, tmp_path / "second", dev_config(credentialsRotation="2"))
    deployment.settle(KEY_HONOURED_AFTER + 10)
    reasons = {f.why for f in deployment.model.failures(start, deployment.model.clock.now())}
    # The Secret is replaced delete-first, the old key goes in the same `up` while Envoy still signs with it, and
    # Envoy gets the new key before IAM honours it.
    assert reasons == {NO_SECRET, DELETED_KEY, NEW_KEY_NOT_HONOURED}


def test_rotation_keeping_the_previous_key_never_fails_a_signed_request(aws: boto3.Session) -> None:
    deployment = PropagatingDeployment(aws)
    deployment.up(dev_config(credentialsRotation="1"))
    first = access_key_ids(aws)
    failures = rotate_and_sign(deployment, dev_config(credentialsRotation="2", credentialsPreviousRotation="1"))
    assert failures == []
    both = access_key_ids(aws)
    assert len(both) == 2 and set(first) < set(both)  # the previous key is kept
    # The Backend moved to the new rotation's Secret; the old Secret is gone (after the Backend moved).
    backend = next(iter(deployment.cluster.of_kind("Backend").values()))
    assert backend["spec"]["aws"]["auth"]["secretRef"]["name"] == rotation_secret_name("aws-creds", "2")
    assert set(name for _, name in deployment.cluster.of_kind("Secret")) == {rotation_secret_name("aws-creds", "2")}
    # The Backend moved only once the new key was KEY_SETTLE_SECONDS old.
    new_key = (set(both) - set(first)).pop()
    moved = next(when for when, view in deployment.model.views if next(iter(view.values()), None) == new_key)
    assert moved >= deployment.model.key_created[new_key] + KEY_SETTLE_SECONDS

    # Later, the previous key is retired: no failure either, and one key is left.
    assert rotate_and_sign(deployment, dev_config(credentialsRotation="2")) == []
    assert access_key_ids(aws) == [new_key]


def test_rotation_without_the_previous_key_shows_the_window(aws: boto3.Session) -> None:
    """The immediate rotation (for a leaked key) is still there, and the model shows what it costs."""
    deployment = PropagatingDeployment(aws)
    deployment.up(dev_config(credentialsRotation="1"))
    failures = rotate_and_sign(deployment, dev_config(credentialsRotation="2"))
    assert DELETED_KEY in {f.why for f in failures}


def test_a_third_key_is_refused_as_iam_refuses_it(aws: boto3.Session) -> None:
    """IAM allows two access keys per user ("IAM and AWS STS quotas": access keys assigned to an IAM user, 2; moto
    enforces it in `create_access_key`): rotating again before retiring the previous key fails, before the Secret
    or the Backend change, and the keys in use stay."""
    deployment = PropagatingDeployment(aws)
    deployment.up(dev_config(credentialsRotation="1"))
    deployment.up(dev_config(credentialsRotation="2", credentialsPreviousRotation="1"))
    before = access_key_ids(aws)
    with pytest.raises(Exception, match="AccessKeysPerUser") as raised:
        deployment.up(dev_config(credentialsRotation="3", credentialsPreviousRotation="2"))
    assert isinstance(raised.value, ClientError) or "LimitExceeded" in str(raised.value)
    assert access_key_ids(aws) == before
    backend = next(iter(deployment.cluster.of_kind("Backend").values()))
    assert backend["spec"]["aws"]["auth"]["secretRef"]["name"] == rotation_secret_name("aws-creds", "2")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            {"credentialsPreviousRotation": "2"},
            "credentialsPreviousRotation = '2': must differ from credentialsRotation",
        ),
        ({"credentialsPreviousRotation": "a b"}, "credentialsPreviousRotation = 'a b': must be 1 to 64"),
    ],
)
def test_a_bad_previous_rotation_is_named_before_anything_is_made(config: dict[str, str], message: str) -> None:
    rotation = {"credentialsRotation": "2"} if "2" in config.values() else {}
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(MappingConfigSource({"aws:region": "us-east-1", **rotation, **config}))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"rotation": "2", "previous_rotation": "2"}, "previousRotation = '2': must differ from rotation"),
        ({"mode": "irsa", "previous_rotation": "1", "oidc_provider": OIDC}, "is only read in mode 'generated'"),
        ({"secret_name": "s" * 245, "rotation": "2"}, "must be at most 244 characters in mode 'generated'"),
    ],
)
def test_the_component_refuses_previous_rotations_it_cannot_keep(args: dict[str, Any], message: str) -> None:
    checker = InputChecker("GatewayCredentials", "gateway")
    check_credentials_args(checker, args)
    with pytest.raises(ComponentInputError, match=re.escape(message)):
        checker.done()


def test_each_rotation_has_its_own_secret_name_and_the_first_keeps_the_plain_one() -> None:
    names = {rotation_secret_name("aws-creds", r) for r in ("2", "3", "2026-11", "2026_11", "A")}
    assert len(names) == 5
    assert all(DNS_SUBDOMAIN_RE.match(name) for name in names)
    assert rotation_secret_name("aws-creds", "1") == "aws-creds"


def test_the_previous_rotation_must_differ_from_the_default_rotation() -> None:
    """Unset, `rotation` is "1": a previousRotation of "1" names the current key, refused like an explicit one."""
    from components.credentials import check_credentials_args
    from components.validation import InputChecker

    for args in ({"mode": "generated", "previous_rotation": "1"}, {"rotation": "2", "previous_rotation": "2"}):
        checker = InputChecker("GatewayCredentials", "creds")
        check_credentials_args(checker, args)
        assert any(p.name == "previousRotation" and "must differ from rotation" in p.allowed for p in checker.problems)


def test_the_composite_keeps_the_previous_key_too(program_clock: SimulatedClock) -> None:
    """Other languages reach rotation through the composite's `credentials`: `previous_rotation` is in its schema
    type and keeps the old key valid beside the new one (the new key's Secret is its own), and waits for the new
    key to settle, as GatewayCredentials does. (Simulated time: the wait is KEY_SETTLE_SECONDS of the clock.)"""
    start = program_clock.now()

    def program() -> None:
        LambdaGatewayRoute(
            "orders",
            {
                "existing_function": "arn:aws:lambda:us-east-1:123456789012:function:orders",
                "credentials": {"rotation": "2", "previous_rotation": "1"},
            },
        )

    run = run_program(FakeAwsMocks(), {"aws:region": "us-east-1"}, program=program)
    keys = sorted(r.name for r in run.by_type("aws:iam/accessKey:AccessKey"))
    assert keys == ["orders-key-1", "orders-key-2"], keys
    (secret,) = run.by_type("kubernetes:core/v1:Secret")
    assert secret.inputs["metadata"]["name"] == rotation_secret_name("orders-aws-creds", "2")
    assert "previous_rotation" in CredentialsOptions.__annotations__
    assert program_clock.now() - start >= KEY_SETTLE_SECONDS


def test_only_a_new_key_waits_to_settle_not_every_up_that_keeps_the_previous_one(aws: boto3.Session) -> None:
    """The 30 s wait is for a key just made: an `up` that changes nothing while `credentialsPreviousRotation` is
    still set (the key is minutes old by then) takes no simulated time, and moves nothing."""
    deployment = PropagatingDeployment(aws)
    deployment.up(dev_config(credentialsRotation="1"))
    rotating = dev_config(credentialsRotation="2", credentialsPreviousRotation="1")
    first_up = deployment.model.clock.now()
    deployment.up(rotating)
    assert deployment.model.clock.now() - first_up >= KEY_SETTLE_SECONDS  # the new key settled
    deployment.settle(120)
    keys = access_key_ids(aws)
    again = deployment.model.clock.now()
    deployment.up(rotating)
    assert deployment.model.clock.now() - again < KEY_SETTLE_SECONDS / 2, deployment.model.clock.now() - again
    assert access_key_ids(aws) == keys
