"""Kubernetes RBAC as the API server reads it: a rule's validation and whether a set of rules allows a request.

Sources (kubernetes/kubernetes, master as read on 2026-12-07):
- `pkg/apis/rbac/validation/validation.go` `ValidatePolicyRule`: verbs required; a namespaced rule (a Role's)
  cannot name non-resource URLs; a rule with non-resource URLs names nothing else; a resource rule supplies at
  least one API group and one resource.
- `pkg/apis/rbac/v1/evaluation_helpers.go` (`VerbMatches`, `APIGroupMatches`, `ResourceMatches`,
  `ResourceNameMatches`) and `plugin/pkg/auth/authorizer/rbac/rbac.go` `RuleAllows`: `*` matches any verb, group
  or resource; a resource is `plural` or `plural/subresource`; an empty `resourceNames` matches every name.
- A request that carries no name (create, list and watch without a field selector, deletecollection) is never
  matched by a rule with `resourceNames` ("Using RBAC Authorization", Referring to resources): such a rule is
  a grant that cannot work, refused here.
- A Role's rules apply in its own namespace only; cluster-scoped objects (a CustomResourceDefinition) need a
  ClusterRole ("Role and ClusterRole").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The verbs an API server authorizes for resource requests ("Determine the request verb").
VERBS = frozenset({"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection", "*"})
# Requests that carry no object name, so `resourceNames` cannot match them.
UNNAMED_VERBS = frozenset({"create", "list", "watch", "deletecollection"})


@dataclass(frozen=True)
class Request:
    """One resource request as the authorizer sees it (namespace "" for a cluster-scoped object)."""

    verb: str
    api_group: str
    resource: str
    namespace: str
    name: str = ""


def rule_problems(rule: dict[str, Any], namespaced: bool, where: str) -> list[str]:
    """What the API server refuses in one rule of a Role (`namespaced`) or ClusterRole, plus grants that can never
    match a request; `where` names the rule (`Role x rules[0]`)."""
    problems: list[str] = []
    known = {"verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs"}
    problems += [f"{where}: unknown field {key!r}" for key in sorted(set(rule) - known)]
    verbs = rule.get("verbs") or []
    if not verbs:
        problems.append(f"{where}.verbs: Required value: verbs must contain at least one value")
    if rule.get("nonResourceURLs"):
        if namespaced:
            problems.append(f"{where}.nonResourceURLs: namespaced rules cannot apply to non-resource URLs")
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            problems.append(
                f"{where}.nonResourceURLs: rules cannot apply to both regular resources and non-resource URLs"
            )
        return problems
    if not rule.get("apiGroups"):
        problems.append(f"{where}.apiGroups: Required value: resource rules must supply at least one api group")
    if not rule.get("resources"):
        problems.append(f"{where}.resources: Required value: resource rules must supply at least one resource")
    unknown = [verb for verb in verbs if verb not in VERBS]
    problems += [f"{where}.verbs: {verb!r} is not a verb the API server authorizes" for verb in unknown]
    for resource in rule.get("resources") or []:
        if resource != resource.lower() or not resource or resource.count("/") > 1:
            problems.append(f"{where}.resources: {resource!r} is not a resource (lower-case plural[/subresource])")
    if rule.get("resourceNames"):
        unnamed = sorted(set(verbs) & UNNAMED_VERBS)
        if unnamed:
            problems.append(f"{where}: resourceNames never match {', '.join(unnamed)} (those requests carry no name)")
    return problems


def role_problems(role: dict[str, Any]) -> list[str]:
    """A Role's or ClusterRole's rules, each checked as its kind is."""
    namespaced = role["kind"] == "Role"
    if namespaced and not role.get("metadata", {}).get("namespace"):
        return [f"Role {role['metadata']['name']}: a Role needs a namespace"]
    name = f"{role['kind']} {role['metadata']['name']}"
    return [
        problem
        for index, rule in enumerate(role.get("rules") or [])
        for problem in rule_problems(rule, namespaced, f"{name} rules[{index}]")
    ]


def _matches(allowed: list[str], value: str) -> bool:
    return "*" in allowed or value in allowed


def rule_allows(rule: dict[str, Any], request: Request) -> bool:
    """`RuleAllows`: verb, API group, resource and (when the rule names any) the object's name all match."""
    if not _matches(rule.get("verbs") or [], request.verb):
        return False
    if not _matches(rule.get("apiGroups") or [], request.api_group):
        return False
    resources = rule.get("resources") or []
    if not _matches(resources, request.resource):
        sub = request.resource.partition("/")[2]
        if not (sub and f"*/{sub}" in resources):
            return False
    names = rule.get("resourceNames") or []
    return not names or request.name in names


def role_allows(role: dict[str, Any], request: Request) -> bool:
    """A Role allows requests in its own namespace; a ClusterRole (bound cluster-wide) everywhere."""
    if role["kind"] == "Role" and role["metadata"]["namespace"] != request.namespace:
        return False
    return any(rule_allows(rule, request) for rule in role.get("rules") or [])


def allowed(roles: list[dict[str, Any]], request: Request) -> bool:
    return any(role_allows(role, request) for role in roles)
