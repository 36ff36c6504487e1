"""pulumi-kubernetes' readiness check (`pulumi.com/waitFor`, `pulumi.com/skipAwait`) and kgateway's status writer, for
deciding in tests whether `pulumi up` would report an object ready.

Modelled on pulumi/pulumi-kubernetes at 94977969d (2026-07-01):
- pulumi/pulumi-kubernetes `provider/pkg/metadata/overrides.go` `ReadyCondition`: `skipAwait` read from the inputs;
  `waitFor` read from the live object, one expression or a JSON array of them, all of which must hold; no annotation:
  ready at once.
- pulumi/pulumi-kubernetes `provider/pkg/await/condition/jsonpath.go` `Satisfied` and
  pulumi/pulumi-kubernetes `provider/pkg/jsonpath/jsonpath.go` `Parse`/`Matches`: a top-level
  `status.observedGeneration` older than `metadata.generation` is not ready; otherwise the first value the RFC 9535
  query selects (github.com/theory/jsonpath) is compared, as Go's `fmt.Sprint` prints it, with the expected value.
  The query is evaluated here with jsonpath-rfc9535, another implementation of the same RFC.
- pulumi/pulumi-kubernetes `provider/pkg/await/condition/kubectl.go` `checkCondition`: `condition=T[=S]` reads
  `status.conditions`, the first condition of type T (case-insensitive), not ready while its own
  `observedGeneration` is older than the object's.

kgateway's side (`route_status`, `policy_status`): the status it writes, each condition with the generation it
translated (kgateway `internal/kgateway/reports/status.go` `BuildRouteStatus`; TrafficPolicy from v2.2:
`status.ancestors[]` as a gwv1 PolicyStatus, v2.0: `status.conditions[]`, program/crds/TRAFFICPOLICY.md §10).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpath_rfc9535

WAIT_FOR = "pulumi.com/waitFor"
SKIP_AWAIT = "pulumi.com/skipAwait"
CONTROLLER = "kgateway.dev/kgateway"


def _go_sprint(value: Any) -> str:
    """`fmt.Sprint` of a JSON scalar as unstructured holds it."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_jsonpath(expression: str) -> tuple[str, str]:
    """(query, expected value) of `jsonpath={...}[=value]` (jsonpath.go `Parse`: `==` is kept, one `=` splits)."""
    if not expression.startswith("jsonpath="):
        raise ValueError("JSONPath expression must begin with a 'jsonpath=' prefix")
    raw = expression.removeprefix("jsonpath=").replace("==", "\x00")
    parts = raw.split("=")
    if len(parts) > 2:
        raise ValueError(f"format should be {{.path}}=value or {{.path}}, got {expression!r}")
    path = parts[0].replace("\x00", "==")
    value = parts[1].replace("\x00", "==") if len(parts) == 2 else ""
    if not (path.startswith("{") and path.endswith("}")):
        raise ValueError(f"{path} should be wrapped in brackets {{ ... }}")
    query = path[1:-1].strip()
    return (query if query.startswith("$") else f"${query}"), value


def jsonpath_satisfied(expression: str, live: dict[str, Any]) -> bool:
    query, expected = parse_jsonpath(expression)
    generation = (live.get("metadata") or {}).get("generation")
    observed = (live.get("status") or {}).get("observedGeneration")
    if isinstance(generation, int) and isinstance(observed, int) and observed < generation:
        return False
    results = jsonpath_rfc9535.find(query, live).values()
    if not results:
        return False
    first = results[0]
    if isinstance(first, list | dict):
        if expected == "":
            return True
        raise ValueError(f"{query!r} has a non-primitive value ({first})")
    return expected == "" or expected == _go_sprint(first)


def condition_satisfied(expression: str, live: dict[str, Any]) -> bool:
    condition_type, _, status = expression.removeprefix("condition=").partition("=")
    status = status or "True"
    generation = (live.get("metadata") or {}).get("generation")
    for condition in (live.get("status") or {}).get("conditions") or []:
        if str(condition.get("type", "")).lower() != condition_type.lower() or "status" not in condition:
            continue
        observed = condition.get("observedGeneration")
        if isinstance(generation, int) and isinstance(observed, int) and observed < generation:
            return False
        return str(condition["status"]).lower() == status.lower()
    return False


def ready(inputs: dict[str, Any], live: dict[str, Any]) -> bool:
    """Whether pulumi-kubernetes would report the object (created or updated from `inputs`) ready, seeing `live`."""
    if ((inputs.get("metadata") or {}).get("annotations") or {}).get(SKIP_AWAIT) == "true":
        return True
    value = ((live.get("metadata") or {}).get("annotations") or {}).get(WAIT_FOR)
    if not value:
        return True
    try:
        expressions = json.loads(value)
    except ValueError:
        expressions = [value]
    if not isinstance(expressions, list):
        expressions = [value]
    return all(
        jsonpath_satisfied(e, live) if e.startswith("jsonpath=") else condition_satisfied(e, live) for e in expressions
    )


def _conditions(generation: int, **statuses: bool) -> list[dict[str, Any]]:
    return [
        {"type": kind, "status": "True" if ok else "False", "observedGeneration": generation}
        for kind, ok in statuses.items()
    ]


def at_generation(manifest: dict[str, Any], generation: int) -> dict[str, Any]:
    """The object as the API server holds it after `generation` spec writes (status as it was)."""
    live = copy.deepcopy(manifest)
    live.setdefault("metadata", {})["generation"] = generation
    return live


def route_status(route: dict[str, Any], seen: int, *, accepted: bool = True, resolved: bool = True) -> None:
    """kgateway translated the route at generation `seen`: one parent, its conditions of that generation."""
    parent = route["spec"]["parentRefs"][0]
    route["status"] = {
        "parents": [
            {
                "parentRef": parent,
                "controllerName": CONTROLLER,
                "conditions": _conditions(seen, Accepted=accepted, ResolvedRefs=resolved),
            }
        ]
    }


def policy_status(policy: dict[str, Any], seen: int, *, accepted: bool = True, ancestors: bool = True) -> None:
    """kgateway translated the policy's route at generation `seen` (v2.2+: ancestors; v2.0: conditions)."""
    if ancestors:
        policy["status"] = {
            "ancestors": [
                {
                    "ancestorRef": {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "http"},
                    "controllerName": CONTROLLER,
                    "conditions": _conditions(seen, Accepted=accepted, Attached=True),
                }
            ]
        }
    else:
        policy["status"] = {"conditions": _conditions(seen, Accepted=accepted)}
