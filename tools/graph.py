"""The deploy's dependency graph, as the Pulumi engine schedules it: what waits for what, and for how long.

A resource waits for its own dependencies (explicit `depends_on` and the resources its inputs came from) and,
through its parent's registration, for everything each ancestor component waits for. A component in a
dependency list stands for every resource under it, as the SDK expands it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tools.engine import ProgramRun, RegisteredResource

# Typical create latencies in seconds (from the providers' and services' documented behaviour and the timings in
# issue 11): IAM writes about 1-2 s, a Lambda function 2-10 s, a Kubernetes apply plus kgateway's acceptance 1-6 s.
# Reads (`.get` of an existing object) and anything not listed count 0.5 s. An estimate to compare layouts with,
# not a promise.
CREATE_SECONDS: dict[str, float] = {
    "aws:iam/role:Role": 1.5,
    "aws:iam/user:User": 1.5,
    "aws:iam/policy:Policy": 1.5,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 1.0,
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": 1.0,
    "aws:iam/accessKey:AccessKey": 0.5,
    "aws:cloudwatch/logGroup:LogGroup": 0.5,
    "aws:lambda/function:Function": 6.0,
    "aws:lambda/alias:Alias": 1.0,
    "kubernetes:core/v1:Secret": 0.5,
    "kubernetes:gateway.kgateway.dev/v1alpha1:Backend": 3.0,
    "kubernetes:gateway.kgateway.dev/v1alpha1:GatewayParameters": 0.5,
    "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute": 3.0,
    "kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant": 0.5,
    "kubernetes:gateway.networking.k8s.io/v1:Gateway": 10.0,
}
DEFAULT_SECONDS = 0.5


@dataclass(frozen=True)
class CriticalPath:
    seconds: float
    chain: tuple[RegisteredResource, ...]

    @property
    def kinds(self) -> list[str]:
        """The chain as short type names (`Role`, `Function`, ...)."""
        return [r.type.rsplit(":", 1)[-1] for r in self.chain]


def waits_for(run: ProgramRun) -> dict[str, set[str]]:
    """Each resource (not component) → the resources (not components) it waits for before its create starts."""
    by_urn = {r.urn: r for r in run.resources}
    children: dict[str, list[str]] = {}
    for resource in run.resources:
        children.setdefault(resource.parent_urn, []).append(resource.urn)

    def resources_under(urn: str) -> set[str]:
        found: set[str] = set()
        stack = [urn]
        while stack:
            for child in children.get(stack.pop(), []):
                stack.append(child)
                if by_urn[child].custom:
                    found.add(child)
        return found

    def expanded(dependencies: list[str]) -> set[str]:
        out: set[str] = set()
        for urn in dependencies:
            dependency = by_urn.get(urn)
            if dependency is None:
                continue
            out |= {urn} if dependency.custom else resources_under(urn)
        return out

    inherited: dict[str, set[str]] = {}  # component → what it (and so each resource under it) waits for

    def of_component(urn: str) -> set[str]:
        if urn not in inherited:
            component = by_urn.get(urn)
            inherited[urn] = (
                set() if component is None else expanded(component.dependencies) | of_component(component.parent_urn)
            )
        return inherited[urn]

    return {r.urn: expanded(r.dependencies) | of_component(r.parent_urn) for r in run.resources if r.custom}


def critical_path(run: ProgramRun, seconds: Mapping[str, float] = CREATE_SECONDS) -> CriticalPath:
    """The longest chain of creates the engine must run one after another, by estimated time (O(V+E))."""
    graph = waits_for(run)
    by_urn = {r.urn: r for r in run.resources}
    finish: dict[str, tuple[float, tuple[str, ...]]] = {}

    def done_at(urn: str) -> tuple[float, tuple[str, ...]]:
        if urn not in finish:
            before = max((done_at(d) for d in sorted(graph[urn])), default=(0.0, ()), key=lambda f: f[0])
            resource = by_urn[urn]
            cost = DEFAULT_SECONDS if resource.read_id is not None else seconds.get(resource.type, DEFAULT_SECONDS)
            finish[urn] = (before[0] + cost, (*before[1], urn))
        return finish[urn]

    longest = max((done_at(urn) for urn in sorted(graph)), default=(0.0, ()), key=lambda f: f[0])
    return CriticalPath(longest[0], tuple(by_urn[urn] for urn in longest[1]))


def ancestors(graph: Mapping[str, set[str]], urn: str) -> set[str]:
    """Everything `urn` waits for, directly or not."""
    seen: set[str] = set()
    stack = [urn]
    while stack:
        for dependency in graph[stack.pop()]:
            if dependency not in seen:
                seen.add(dependency)
                stack.append(dependency)
    return seen
