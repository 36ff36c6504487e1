"""`pulumi up` reports a route ready only once kgateway accepted the route and its policy at the generation just
written (components/readiness.py), judged with a model of pulumi-kubernetes' own readiness check
(tests/support/readiness.py) against the status kgateway writes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import RunStack
from tests.support.readiness import at_generation, policy_status, ready, route_status
from tools.engine import ProgramRun, reveal

ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
POLICY = "kubernetes:gateway.kgateway.dev/v1alpha1:TrafficPolicy"
GATE = "kubernetes:gateway.kgateway.dev/v1alpha1:TrafficPolicyPatch"
RATE_LIMIT = json.dumps({"rateLimit": {"requestsPerSecond": 5}})


# pulumi/pulumi-kubernetes provider/pkg/await/condition/jsonpath_test.go `TestJSONPath` (at 94977969d): the rows
# of the upstream table, so the model answers as the provider does.
@pytest.mark.parametrize(
    ("live", "expression", "want"),
    [
        ({}, "jsonpath={.foo}", False),  # missing key
        ({"foo": "bar"}, "jsonpath={.foo}", True),  # key present
        ({"foo": ""}, "jsonpath={.foo}", True),  # key present but empty
        ({"foo": None}, "jsonpath={.foo}", True),  # key present but null
        (
            {"foo": "bar", "metadata": {"generation": 2}, "status": {"observedGeneration": 1}},
            "jsonpath={.foo}",
            False,
        ),  # key present but observed generation is too young
        ({"foo": "bar"}, "jsonpath={.foo}=bar", True),  # key with matching value
        ({"foo": "baz"}, "jsonpath={.foo}=bar", False),  # key with mismatched value
    ],
)
def test_the_model_answers_as_pulumi_kubernetes_own_table(live: dict[str, Any], expression: str, want: bool) -> None:
    assert (
        ready({}, {**live, "metadata": {**live.get("metadata", {}), "annotations": {"pulumi.com/waitFor": expression}}})
        is want
    )


def _gate(run: ProgramRun) -> dict[str, Any]:
    gate: dict[str, Any] = reveal(run.one(GATE).inputs)
    return gate


def _applied(policy: dict[str, Any], gate: dict[str, Any]) -> dict[str, Any]:
    """The live policy once the gate's server-side apply merged its annotations in."""
    annotations = {**(policy["metadata"].get("annotations") or {}), **gate["metadata"]["annotations"]}
    return {**policy, "metadata": {**policy["metadata"], "annotations": annotations}}


def test_an_updated_route_is_not_ready_on_the_previous_generations_status(run_stack: RunStack) -> None:
    route = reveal(run_stack().one(ROUTE).inputs)
    live = at_generation(route, 2)
    route_status(live, seen=1)  # kgateway accepted generation 1 and has not yet seen the update
    assert not ready(route, live)
    route_status(live, seen=2, accepted=False)
    assert not ready(route, live)
    route_status(live, seen=2, resolved=False)
    assert not ready(route, live)
    route_status(live, seen=2)
    assert ready(route, live)
    del live["status"]
    assert not ready(route, live)


@pytest.mark.parametrize("version", ["v2.2", "v2.3", "v2.4", "main"])
def test_a_protected_route_waits_until_its_policy_is_accepted_at_its_generation(
    run_stack: RunStack, version: str
) -> None:
    run = run_stack({"kgatewayVersion": version, "protection": RATE_LIMIT})
    gate, policy = _gate(run), reveal(run.one(POLICY).inputs)
    # The gate comes after the route (kgateway writes the policy's status only once the route is translated) and
    # after the policy it patches.
    assert {run.one(ROUTE).urn, run.one(POLICY).urn} <= set(run.one(GATE).dependencies)
    assert (gate["metadata"]["name"], gate["metadata"]["namespace"]) == (
        policy["metadata"]["name"],
        policy["metadata"]["namespace"],
    )
    live = _applied(at_generation(policy, 3), gate)
    assert not ready(gate, live)  # no status yet: the controller has not translated it
    policy_status(live, seen=2)
    assert not ready(gate, live)  # the previous generation's acceptance
    policy_status(live, seen=3, accepted=False)
    assert not ready(gate, live)
    policy_status(live, seen=3, ancestors=False)
    assert not ready(gate, live)  # a controller that writes v2.0's shape has not accepted this line's policy
    policy_status(live, seen=3)
    assert ready(gate, live)


def test_on_v2_0_the_gate_reads_the_conditions_shape(run_stack: RunStack) -> None:
    run = run_stack({"kgatewayVersion": "v2.0", "protection": RATE_LIMIT})
    gate, policy = _gate(run), reveal(run.one(POLICY).inputs)
    live = _applied(at_generation(policy, 2), gate)
    policy_status(live, seen=1, ancestors=False)
    assert not ready(gate, live)
    policy_status(live, seen=2, ancestors=False)
    assert ready(gate, live)


def test_the_gate_waits_again_exactly_when_the_policy_changes(run_stack: RunStack) -> None:
    first = _gate(run_stack({"protection": RATE_LIMIT}))
    again = _gate(run_stack({"protection": RATE_LIMIT}))
    changed = _gate(run_stack({"protection": json.dumps({"rateLimit": {"requestsPerSecond": 6}})}))
    assert first == again
    assert first != changed  # a new spec: the gate is updated, so pulumi-kubernetes awaits it again


def test_without_waiting_there_is_no_gate(run_stack: RunStack) -> None:
    run = run_stack({"protection": RATE_LIMIT, "waitForAcceptance": "false"})
    assert run.by_type(GATE) == []


def test_auto_builds_the_gate_from_the_clusters_crd(run_stack: RunStack) -> None:
    run = run_stack({"kgatewayVersion": "auto", "protection": RATE_LIMIT})
    assert len(run.by_type(GATE)) == 1  # its annotations are known once the CRD is read (deploy)
