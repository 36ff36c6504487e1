"""Who gets in, pinned where a one-line slip would open the door: each protected HTTPRoute of every example stack
is the target of its own TrafficPolicy (a policy pointed at another name leaves the route served open), and each
route's Secret of provided keys holds exactly the client ids that route names (another client's key would be let
in)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from program.config import PROJECT_ROOT
from tests.support.fake_aws import FakeAwsMocks
from tools.engine import ProgramRun, reveal, run_program, stack_config
from tools.plan import kubernetes_manifests, plan

STACKS = sorted(path.name.removeprefix("Pulumi.").removesuffix(".yaml") for path in (PROJECT_ROOT / "stacks").glob("*"))
POLICY = "kubernetes:gateway.kgateway.dev/v1alpha1:TrafficPolicy"
SECRET = "kubernetes:core/v1:Secret"
ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"


def planned(stack: str, **overrides: str) -> ProgramRun:
    config, secret_keys = stack_config(stack)
    config.update({f"kgateway-lambda:{key}": value for key, value in overrides.items()})
    return run_program(FakeAwsMocks(), config, secret_keys, stack=stack)


@pytest.mark.parametrize("stack", STACKS)
def test_each_policy_targets_exactly_its_own_route_in_every_stack(stack: str) -> None:
    """targetRefs are namespace-local (TRAFFICPOLICY.md "Levels"): the policy's one target is an HTTPRoute of this
    stack, in the policy's namespace, under the name the route has; no HTTPRoute has two policies, and every route
    of the protected stack has one."""
    # The discovered stack finds one tagged function (as tests/test_discovery.py plans it).
    arn = "arn:aws:lambda:eu-west-1:111122223333:function:orders"
    run = plan(stack, tagged={arn: {"kgateway-lambda/route": "/api/orders"}} if stack == "discovered" else None)
    objects = kubernetes_manifests(run)
    routes = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objects if o["kind"] == "HTTPRoute"}
    targeted: list[tuple[str, str]] = []
    # (An object of kind TrafficPolicy without a spec is the acceptance gate's patch of the policy's annotations.)
    for policy in (o for o in objects if o["kind"] == "TrafficPolicy" and "spec" in o):
        [target] = policy["spec"]["targetRefs"]
        assert (target["group"], target["kind"]) == ("gateway.networking.k8s.io", "HTTPRoute")
        targeted.append((policy["metadata"]["namespace"], target["name"]))
    assert set(targeted) <= routes, (targeted, routes)
    assert len(targeted) == len(set(targeted))
    if stack == "protected":  # every route of it is protected: each has its policy
        assert set(targeted) == routes


def test_a_policy_targets_a_route_named_unlike_its_component() -> None:
    """A route `partner` of the composite `echo` (its component is `echo-partner`): the policy targets `partner`."""
    routes = [{"path": "/echo"}, {"path": "/partner", "name": "partner"}]
    protection = {"rateLimit": {"requestsPerSecond": 5}}
    run = planned("dev", routes=json.dumps(routes), protection=json.dumps(protection), kgatewayVersion="v2.3")
    targets = sorted(reveal(p.inputs)["spec"]["targetRefs"][0]["name"] for p in run.by_type(POLICY))
    names = sorted(reveal(r.inputs)["metadata"]["name"] for r in run.by_type(ROUTE))
    assert "partner" in names and targets == names


PARTNER_KEY = "p4rtner-key-0123456789abcdef"
WEB_KEY = "w3b-key-0123456789abcdef0123"


def test_each_route_holds_only_the_provided_keys_it_names() -> None:
    """`providedApiKeys` holds every client's key; a route accepts only those its `apiKeys.provided` lists."""
    config, secret_keys = stack_config("dev")
    config["kgateway-lambda:kgatewayVersion"] = "v2.3"
    config["kgateway-lambda:providedApiKeys"] = json.dumps({"partner": PARTNER_KEY, "web": WEB_KEY})
    config["kgateway-lambda:protection"] = json.dumps({"apiKeys": {"provided": ["web"]}})
    routes = [
        {"path": "/echo", "name": "site"},
        {"path": "/partner", "name": "partner", "protection": {"apiKeys": {"provided": ["partner"]}}},
    ]
    config["kgateway-lambda:routes"] = json.dumps(routes)
    run = run_program(FakeAwsMocks(), config, [*secret_keys, "kgateway-lambda:providedApiKeys"], stack="dev")
    secrets: dict[str, dict[str, str]] = {}
    for secret in run.by_type(SECRET):
        data: dict[str, Any] = reveal(secret.inputs).get("data") or {}
        secrets[reveal(secret.inputs)["metadata"]["name"]] = {c: base64.b64decode(v).decode() for c, v in data.items()}
    held: dict[str, dict[str, str]] = {}
    for policy in run.by_type(POLICY):
        spec = reveal(policy.inputs)["spec"]
        held[spec["targetRefs"][0]["name"]] = secrets[spec["apiKeyAuth"]["secretRef"]["name"]]
    assert held == {"site": {"web": WEB_KEY}, "partner": {"partner": PARTNER_KEY}}
