"""What `pulumi up` waits for before it reports a route ready: the `pulumi.com/waitFor` expressions this project
writes, and why each one sees the generation it was written for.

pulumi-kubernetes (>= 4.18) reads `pulumi.com/waitFor` from the live object after every create and update
(pulumi/pulumi-kubernetes `provider/pkg/metadata/overrides.go` `ReadyCondition`), in two forms:

- `condition=T` checks `status.conditions[type=T]` and refuses a condition whose own `observedGeneration` is older
  than `metadata.generation` (pulumi/pulumi-kubernetes `provider/pkg/await/condition/kubectl.go` `checkCondition`,
  vendored from kubectl).
- `jsonpath={...}=V` compares the *first* value the RFC 9535 query selects with V; the only generation it checks
  is a top-level `status.observedGeneration` (pulumi/pulumi-kubernetes `provider/pkg/await/condition/jsonpath.go`
  `Satisfied`; pulumi/pulumi-kubernetes `provider/pkg/jsonpath/jsonpath.go` `Matches`, github.com/theory/jsonpath).

Gateway API objects carry their generation per condition, not at `status.observedGeneration`: an HTTPRoute's
`status.parents[].conditions[]` (kgateway `internal/kgateway/reports/status.go`, `BuildRouteStatus`: every
condition gets the route's `observedGeneration`), and from kgateway v2.2 a TrafficPolicy's
`status.ancestors[].conditions[]` (program/crds/TRAFFICPOLICY.md §10). A plain `jsonpath=` wait on them is
satisfied at once by the previous generation's `Accepted=True` after an update. So each expression here filters the
conditions to those written for the object's current generation, an RFC 9535 comparison with an absolute query
(`@.observedGeneration == $.metadata.generation`, RFC 9535 §2.3.5.1): a stale condition selects nothing, and the
wait goes on until kgateway has seen the new generation.

A TrafficPolicy cannot wait for itself: kgateway writes its status only once the route it targets is translated,
and the policy is created before the route so the route is never served without it. Its acceptance is awaited by a
separate gate, a server-side-apply patch of the policy registered after the route (`policy_acceptance_gate`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

WAIT_FOR = "pulumi.com/waitFor"
SKIP_AWAIT = "pulumi.com/skipAwait"
# On the gate's patch: a digest of the policy's spec, so the gate is updated (and waits again) whenever the policy
# changes, and only then.
POLICY_SPEC_DIGEST = "kgateway-lambda.dev/accepted-policy-spec"
# Only conditions written for the object's current generation.
_CURRENT = "@.observedGeneration==$.metadata.generation"


def _condition_at_generation(conditions: str, condition_type: str) -> str:
    return f'jsonpath={{{conditions}[?@.type=="{condition_type}" && {_CURRENT}].status}}=True'


# The HTTPRoute: accepted by the Gateway and every reference resolved, both for the route's current generation.
ROUTE_ACCEPTED = [
    _condition_at_generation(".status.parents[0].conditions", "Accepted"),
    _condition_at_generation(".status.parents[0].conditions", "ResolvedRefs"),
]
# A TrafficPolicy on kgateway v2.2 and later (`status.ancestors[]`, a gwv1 PolicyStatus): accepted for the current
# generation by the Gateway behind its route. (`Attached` is not awaited: a policy legitimately `Overridden` on
# some route would never be ready, TRAFFICPOLICY.md §10.)
POLICY_ACCEPTED_ANCESTORS = _condition_at_generation(".status.ancestors[*].conditions", "Accepted")
# v2.0 (`status.conditions[]`, written for every policy): the condition form checks each condition's generation.
POLICY_ACCEPTED_CONDITIONS = "condition=Accepted"


def policy_acceptance(status_ancestors: bool) -> str:
    """The wait expression for a TrafficPolicy whose status has the ancestors shape (v2.2+) or not (v2.0)."""
    return POLICY_ACCEPTED_ANCESTORS if status_ancestors else POLICY_ACCEPTED_CONDITIONS


def spec_digest(spec: Any) -> str:
    """A stable digest of an object's spec (keys sorted), never of anything secret (a policy names its Secret)."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def policy_acceptance_gate(policy_manifest: dict[str, Any], status_ancestors: bool) -> dict[str, Any]:
    """The patch that makes `pulumi up` wait until kgateway accepted the policy's current generation.

    Registered after the HTTPRoute (so kgateway can translate the route and write the policy's status). The patch
    holds only two annotations; its field manager is its own, so the policy's own updates never remove them.
    """
    metadata = policy_manifest["metadata"]
    return {
        "apiVersion": policy_manifest["apiVersion"],
        "kind": policy_manifest["kind"],
        "metadata": {
            "name": metadata["name"],
            "namespace": metadata["namespace"],
            "annotations": {
                WAIT_FOR: policy_acceptance(status_ancestors),
                POLICY_SPEC_DIGEST: spec_digest(policy_manifest["spec"]),
            },
        },
    }
