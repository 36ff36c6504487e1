"""Day 2 of route protection in the deploy harness (the real program, preview before every up, state by URN,
deletes last and dependents first, an API server that refuses AlreadyExists and validates against the real CRDs):
adding, changing and removing protection on a live route, and rotating a generated key, in an order in which a
route that was protected before a step is never without its policy, the policy never names a missing Secret or
GatewayExtension, and some key that worked before keeps working until the new one is in place."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import boto3

from tests.support.lifecycle import MotoDeployment, dev_config
from tools.engine import ProgramRun, reveal

POLICY = "kubernetes:gateway.kgateway.dev/v1alpha1:TrafficPolicy"
SECRET = "kubernetes:core/v1:Secret"
RANDOM = "random:index/randomBytes:RandomBytes"
ROUTE = ("kgateway-system", "echo")


class Guard:
    """Checks the cluster after every write the harness makes to it (create, update, delete)."""

    def __init__(self, deployment: MotoDeployment) -> None:
        self.cluster = deployment.cluster
        self.protected = False  # the route must have a policy at every write
        self.key_that_must_work: str | None = None  # an API key that must stay valid at every write
        self.writes = 0
        for name in ("create", "update", "delete"):
            self._wrap(name)

    def _wrap(self, name: str) -> None:
        original: Callable[..., Any] = getattr(self.cluster, name)

        def checked(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            if not kwargs.get("dry_run"):
                self.writes += 1
                self.check()
            return result

        setattr(self.cluster, name, checked)

    def policy(self) -> dict[str, Any] | None:
        for policy in self.cluster.of_kind("TrafficPolicy").values():
            if policy["spec"]["targetRefs"][0]["name"] == ROUTE[1]:
                return policy
        return None

    def valid_keys(self) -> set[str]:
        policy = self.policy()
        if policy is None or "apiKeyAuth" not in policy["spec"]:
            return set()
        secret = self.cluster.of_kind("Secret").get((ROUTE[0], policy["spec"]["apiKeyAuth"]["secretRef"]["name"]))
        assert secret is not None, "the policy names a Secret that does not exist (kgateway v2.2+: the route is 500)"
        return {base64.b64decode(value).decode() for value in secret["data"].values()}

    def check(self) -> None:
        routes = self.cluster.of_kind("HTTPRoute")
        policy = self.policy()
        if self.protected and ROUTE in routes:
            assert policy is not None, "the protected route is open: its TrafficPolicy is gone while it is served"
        if policy is not None and "jwtAuth" in policy["spec"]:
            name = policy["spec"]["jwtAuth"]["extensionRef"]["name"]
            assert (ROUTE[0], name) in self.cluster.of_kind("GatewayExtension"), "the policy names a missing extension"
        keys = self.valid_keys()
        if self.key_that_must_work is not None:
            assert self.key_that_must_work in keys, "no window: the key in use must stay valid at every step"


def protected(**protection: Any) -> dict[str, str]:
    return dev_config(protection=json.dumps(protection))


def keys_of(run: ProgramRun) -> dict[str, str]:
    assert "api_keys" in run.secret_outputs
    found: dict[str, str] = reveal(run.outputs["api_keys"])["echo"]
    return found


def order(deployment: MotoDeployment) -> list[tuple[str, str]]:
    """What the last up did to Kubernetes objects and keys, in order: (operation, type's last part)."""
    return [
        (op, key[0].rsplit(":", 1)[1])
        for op, key in deployment.changes
        if key[0] in (POLICY, SECRET, RANDOM) and not key[1].endswith("aws-creds") and "aws-creds" not in key[1]
    ]


def test_add_change_rotate_and_remove_protection_never_leave_the_route_open(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    guard = Guard(deployment)
    deployment.up(dev_config())
    assert guard.policy() is None

    # Add: the keys and their Secret first, then the policy (the route is unchanged: nothing to update).
    run = deployment.up(protected(apiKeys={"clients": ["web"]}, rateLimit={"requestsPerSecond": 5}))
    assert order(deployment) == [("create", "RandomBytes"), ("create", "Secret"), ("create", "TrafficPolicy")]
    first_key = keys_of(run)["web"]
    assert guard.valid_keys() == {first_key}
    assert first_key not in json.dumps(reveal(run.outputs["verify"]))  # verify is told where the key goes only

    # Change: the one policy is updated in place (never deleted); the Secret stays.
    guard.protected, guard.key_that_must_work = True, first_key
    deployment.up(protected(apiKeys={"clients": ["web"]}, rateLimit={"requestsPerSecond": 10},
                            cors={"allowOrigins": ["https://app.example.com"]}))  # fmt: skip
    assert order(deployment) == [("update", "TrafficPolicy")]
    assert guard.policy()["spec"]["cors"]["allowOrigins"] == ["https://app.example.com"]  # type: ignore[index]

    # Rotate with the previous key kept: a new key and a new Secret (a new key set is a new name), the policy
    # moved to it, the old Secret deleted last; the old key works at every write.
    writes = guard.writes
    run = deployment.up(protected(apiKeys={"clients": ["web"], "rotation": "2", "previousRotation": "1"},
                                  rateLimit={"requestsPerSecond": 10}))  # fmt: skip
    assert order(deployment) == [
        ("create", "RandomBytes"),
        ("create", "Secret"),
        ("update", "TrafficPolicy"),
        ("delete", "Secret"),
    ]
    assert guard.writes > writes
    second_key = keys_of(run)["web"]
    assert second_key != first_key and guard.valid_keys() == {first_key, second_key}

    # Drop the previous key: the new key must work throughout; the first key and its random bytes go.
    guard.key_that_must_work = second_key
    deployment.up(protected(apiKeys={"clients": ["web"], "rotation": "2"}, rateLimit={"requestsPerSecond": 10}))
    assert order(deployment) == [
        ("create", "Secret"),
        ("update", "TrafficPolicy"),
        ("delete", "Secret"),
        ("delete", "RandomBytes"),
    ]
    assert guard.valid_keys() == {second_key}

    # Remove: the route is updated first (it no longer waits for a policy), the policy deleted after the run,
    # then its Secret (dependents first): the policy never names a missing Secret.
    guard.protected, guard.key_that_must_work = False, None
    deployment.up(dev_config())
    assert order(deployment) == [("delete", "TrafficPolicy"), ("delete", "Secret"), ("delete", "RandomBytes")]
    assert guard.policy() is None and ROUTE in deployment.cluster.of_kind("HTTPRoute")

    # Protected again, then destroyed: the route goes before its policy, nothing of ours is left.
    deployment.up(protected(apiKeys={}))
    guard.protected = True
    deployment.destroy()
    kinds = {identity[0].rsplit(":", 1)[1] for identity in deployment.cluster.objects}
    assert kinds == {"CustomResourceDefinition", "Gateway", "Deployment"}  # what kgateway installed stays
    assert deployment.deployed == {}


def test_a_jwt_route_gets_its_extension_before_its_policy_and_loses_it_after(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    guard = Guard(deployment)
    jwt = {"issuer": "https://issuer.example.com", "audiences": ["echo"], "jwksInline": '{"keys": []}'}
    deployment.up(protected(jwt=jwt))
    changes = [(op, key[0].rsplit(":", 1)[1]) for op, key in deployment.changes if "gateway.kgateway.dev" in key[0]]
    kinds = [kind for _, kind in changes]
    assert kinds.index("GatewayExtension") < kinds.index("TrafficPolicy")
    guard.protected = True
    deployment.up(protected(rateLimit={"requestsPerSecond": 5}))  # JWT off, rate limit on: policy first, then
    ops = [(op, key[0].rsplit(":", 1)[1]) for op, key in deployment.changes if "gateway.kgateway.dev" in key[0]]
    # The acceptance gate follows the policy's change (components/readiness.py), then the extension goes.
    assert ops == [("update", "TrafficPolicy"), ("update", "TrafficPolicyPatch"), ("delete", "GatewayExtension")]


def renamed(function: str, **protection: Any) -> dict[str, str]:
    """One function whose route has a pinned name (`routes[].name`), protected."""
    return dev_config(
        functions=json.dumps([{"name": function}]),
        routes=json.dumps([{"function": function, "name": ROUTE[1], "path": "/echo"}]),
        protection=json.dumps(protection),
    )


def test_renaming_the_function_keeps_every_api_key_with_no_window(aws: boto3.Session) -> None:
    """Issue 27: a rename (with the route's name pinned) made new keys and replaced their Secret delete-first: a
    500 window, then 401 for every old key. The keys and their Secret keep their identity instead: the key in use
    stays valid at every write, and the route still names the same Secret holding the same keys afterwards."""
    deployment = MotoDeployment(aws)
    guard = Guard(deployment)
    keys = {"clients": ["web", "mobile"]}
    run = deployment.up(renamed("echo", apiKeys=keys))
    before = keys_of(run)
    secret_before = guard.policy()["spec"]["apiKeyAuth"]["secretRef"]["name"]  # type: ignore[index]
    guard.protected, guard.key_that_must_work = True, before["web"]

    run = deployment.up(renamed("echo-v2", apiKeys=keys))
    assert keys_of(run) == before, "a rename must not change any key"
    assert guard.valid_keys() == set(before.values())
    assert guard.policy()["spec"]["apiKeyAuth"]["secretRef"]["name"] == secret_before  # type: ignore[index]
    touched = {(op, kind) for op, kind in order(deployment)}
    assert not touched & {("create", "RandomBytes"), ("delete", "RandomBytes"), ("create", "Secret")}, touched
    assert ("delete", "Secret") not in touched and ("replace", "Secret") not in touched, touched
    assert {f["FunctionName"] for f in aws.client("lambda").list_functions()["Functions"]} == {"echo-v2"}


def test_keys_made_under_their_old_names_are_kept_through_the_alias(aws: boto3.Session) -> None:
    """A stack whose keys were named after the component (`echo-protection-api-key-web-1`, before issue 27) keeps
    them: the engine moves each to its new URN by the alias, with no new key and no new Secret."""
    deployment = MotoDeployment(aws)
    run = deployment.up(protected(apiKeys={"clients": ["web"]}))
    before = keys_of(run)
    moved = {}
    for (type_, urn), resource in deployment.deployed.items():
        old = urn.replace("::kgateway-system/echo-api-key-", "::echo-protection-api-key-") if type_ == RANDOM else urn
        moved[(type_, old)] = resource
    assert moved.keys() != deployment.deployed.keys()
    deployment.deployed = moved  # the state as the older program left it
    run = deployment.up(protected(apiKeys={"clients": ["web"]}))
    assert keys_of(run) == before
    assert RANDOM in {key[0] for op, key in deployment.changes if op == "alias"}
    assert not [change for change in order(deployment) if change[0] in ("create", "delete", "replace")]
