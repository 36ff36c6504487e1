"""The trust boundary of docs/protection.md ("Threat model"), held on the example stack that closes it
(stacks/Pulumi.isolated.yaml): everything in one namespace, no ReferenceGrant to let other namespaces' routes reach
the Backends, and every route behind its own policy."""

from __future__ import annotations

from typing import Any

from tools.engine import reveal
from tools.plan import plan

NAMESPACE = "lambda-isolated"


def test_the_isolated_stack_keeps_every_object_in_its_own_namespace_behind_its_policy() -> None:
    run = plan("isolated")
    objects: list[dict[str, Any]] = [
        reveal(r.inputs) for r in run.resources if r.type.startswith("kubernetes:") and r.read_id is None
    ]
    namespaced = [o for o in objects if o.get("kind") not in (None, "Namespace")]
    assert {o["metadata"]["namespace"] for o in namespaced} == {NAMESPACE}
    kinds = {o["kind"] for o in namespaced}
    assert "ReferenceGrant" not in kinds  # no other namespace's route may reach these Backends
    assert {"Secret", "Backend", "HTTPRoute", "TrafficPolicy"} <= kinds
    routes = {o["metadata"]["name"] for o in namespaced if o["kind"] == "HTTPRoute"}
    policies = [o for o in namespaced if o["kind"] == "TrafficPolicy" and "spec" in o]
    # Each route is the target of exactly one policy, and that policy asks for an API key.
    targets = [ref["name"] for p in policies for ref in p["spec"]["targetRefs"]]
    assert sorted(targets) == sorted(routes)
    assert all("apiKeyAuth" in p["spec"] for p in policies)
