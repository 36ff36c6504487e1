"""Update plans as the engine keeps and checks them: `pulumi preview --save-plan` records, per resource, the step it
would take and its goal; `pulumi up --plan` refuses any step or goal that exceeds it.

pulumi/pulumi pkg/resource/deploy/plan.go (`ResourcePlan`, `GoalPlan`, `checkGoal`, `checkDiff`) and
step_generator.go (`generateSteps`: each step checked with `ConstrainedTo` against the next planned op; a
resource without a plan may only be a same; `GenerateDeletes`: a delete must be planned); step.go `ConstrainedTo`:
a planned create or update allows a same, a planned replace allows a same or an update. A planned input that was
unknown at preview matches any value (properties_diff.go `DeepEqualsIncludeUnknowns`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.support.state import is_unknown
from tools.engine import reveal

# step.go `ConstrainedTo`: what each planned op allows.
ALLOWED = {
    "same": {"same"},
    "read": {"read"},
    "delete": {"delete"},
    "create": {"same", "create"},
    "update": {"same", "update"},
    "replace": {"same", "update", "replace"},
}


class PlanViolationError(RuntimeError):
    """The engine's refusal of a step or goal the plan does not allow."""


@dataclass
class PlannedStep:
    """A resource's plan: the op the preview decided and the goal it registered (`GoalPlan`)."""

    op: str
    custom: bool
    parent: str
    provider: str  # "<urn>::<id>"; an id unknown at preview ("") matches any
    delete_before_replace: bool | None
    dependencies: tuple[str, ...]
    old_inputs: dict[str, Any]  # the inputs it was diffed against ({} for a create)
    inputs: dict[str, Any]


@dataclass
class Plan:
    steps: dict[str, PlannedStep] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)


def matches(planned: Any, actual: Any) -> bool:
    """properties_diff.go `DeepEqualsIncludeUnknowns`: anything equals an unknown; arrays and objects elementwise."""
    if is_unknown(planned) or is_unknown(actual):
        return True
    if isinstance(planned, dict) and isinstance(actual, dict):
        return set(planned) == set(actual) and all(matches(planned[k], actual[k]) for k in planned)
    if isinstance(planned, list) and isinstance(actual, list):
        return len(planned) == len(actual) and all(matches(p, a) for p, a in zip(planned, actual, strict=True))
    return bool(_plain(planned) == _plain(actual))


def _plain(value: Any) -> Any:
    value = reveal(value)
    return getattr(value, "path", value)  # an archive by its path


def _changed_keys(old: dict[str, Any], new: dict[str, Any]) -> set[str]:
    return {k for k in set(old) | set(new) if (k in old) != (k in new) or not _equal(old.get(k), new.get(k))}


def _equal(a: Any, b: Any) -> bool:
    if is_unknown(a) or is_unknown(b):
        return is_unknown(a) and is_unknown(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return set(a) == set(b) and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(_plain(a) == _plain(b))


def check_step(plan: Plan, urn: str, actual: PlannedStep) -> None:
    """step_generator.go: the step against the planned op, then plan.go `checkGoal` (or `checkMissingPlan`)."""
    planned = plan.steps.get(urn)
    if planned is None:
        if actual.op != "same":
            raise PlanViolationError(
                f"{actual.op} is not allowed by the plan: no steps were expected for this resource"
            )
        return
    if actual.op not in ALLOWED[planned.op]:
        raise PlanViolationError(
            f"{actual.op} is not allowed by the plan: this resource is constrained to {planned.op}"
        )
    problem = _goal_problem(planned, actual)
    if problem:
        raise PlanViolationError(f"resource {urn} violates plan: {problem}")


def _goal_problem(planned: PlannedStep, actual: PlannedStep) -> str | None:  # noqa: PLR0911 (one per check)
    if planned.custom != actual.custom:
        return f"resource kind changed (expected {'custom' if planned.custom else 'component'})"
    planned_urn, _, planned_id = planned.provider.rpartition("::")
    actual_urn, _, actual_id = actual.provider.rpartition("::")
    if planned_urn != actual_urn or (planned_id and planned_id != actual_id):
        return f"provider changed (expected {planned.provider})"
    if planned.parent != actual.parent:
        return f"parent changed (expected {planned.parent})"
    if planned.delete_before_replace != actual.delete_before_replace:
        return f"deleteBeforeReplace changed (expected {planned.delete_before_replace})"
    if set(planned.dependencies) != set(actual.dependencies):
        return f"dependencies changed: {sorted(set(planned.dependencies) ^ set(actual.dependencies))}"
    # checkDiff: every change the update makes must be one the plan made, to the value it planned (or unknown).
    planned_changes = _changed_keys(planned.old_inputs, planned.inputs)
    for key in sorted(_changed_keys(actual.old_inputs, actual.inputs)):
        if key not in actual.inputs:
            if key in planned_changes and (key not in planned.inputs or is_unknown(planned.inputs[key])):
                continue
            return f"properties changed: -{key}"
        if key not in planned_changes or not matches(planned.inputs.get(key), actual.inputs[key]):
            return f"properties changed: ~{key}"
    return None


def check_delete(plan: Plan, urn: str) -> None:
    """step_generator.go `GenerateDeletes`: a delete the plan did not expect is refused."""
    planned = plan.steps.get(urn)
    if urn not in plan.deletes and (planned is None or planned.op != "replace"):
        raise PlanViolationError("delete is not allowed by the plan: no steps were expected for this resource")
