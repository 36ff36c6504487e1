"""What a stack's `pulumi up` does to the cluster and to AWS, read from its plan, and the least grants that allow it.

`kubernetes_requests(run)` and `aws_requests(run, ...)` list what the program asks for (each object it writes,
each object it reads, each AWS call its providers make); `rbac_roles` and `deployer_policy` derive the grants from
the same plan. `tests/test_operator.py` checks each grant against the requests both ways (all allowed, every rule
used), with RBAC's and IAM's own matching (`tools/rbac.py`, moto's evaluator).

This is the one derivation of the deploying identity's AWS policy: a laptop `pulumi up` needs the same policy (its
identity, not the workspace's ServiceAccount, is the principal), so a `deployer-policy` command can share it.

Sources for what each provider calls:
- pulumi-kubernetes (pulumi/pulumi-kubernetes `provider/pkg/provider/provider.go` `Create`/`Update`/`Read`/`Delete`;
  pulumi/pulumi-kubernetes `provider/pkg/await/`): server-side apply (a PATCH; a create when SSA is off), GET on
  read and refresh, watches (list+watch) while awaiting readiness and deletion, DELETE; a `.get()` read is a
  single GET by name.
- terraform-provider-aws (the bridge under pulumi-aws): `internal/service/iam/{role,role_policy,
  role_policy_attachment,user,access_key,policy,user_policy,user_policy_attachment}.go`,
  `internal/service/lambda/{function,alias}.go`, `internal/service/logs/group.go`, `internal/service/s3/
  {bucket,object}.go`: the Create/Read/Update/Delete functions' API calls, and `iam:PassRole` for a function's role.
- `sts:GetCallerIdentity` needs no permission (AWS STS API Reference, GetCallerIdentity).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tools.deployer_policy import AUTONAME, INVOKE_CALLS, PASS_ROLE, RESOURCE_CALLS
from tools.deployer_policy import Arns as PolicyArns
from tools.engine import ProgramRun, RegisteredResource
from tools.rbac import Request

# Kind -> (API group, plural): the kinds the program writes or reads. A kind not here stops the derivation: a new
# kind needs its grant decided, not guessed.
KINDS: dict[str, tuple[str, str]] = {
    "Secret": ("", "secrets"),
    "Backend": ("gateway.kgateway.dev", "backends"),
    "TrafficPolicy": ("gateway.kgateway.dev", "trafficpolicies"),
    "GatewayExtension": ("gateway.kgateway.dev", "gatewayextensions"),
    "GatewayParameters": ("gateway.kgateway.dev", "gatewayparameters"),
    # the TLS policy of a JWT route's remote JWKS (components/jwks_access.py), in the JWKS Service's namespace
    "BackendConfigPolicy": ("gateway.kgateway.dev", "backendconfigpolicies"),
    "HTTPRoute": ("gateway.networking.k8s.io", "httproutes"),
    "ReferenceGrant": ("gateway.networking.k8s.io", "referencegrants"),
    "Gateway": ("gateway.networking.k8s.io", "gateways"),
    "CustomResourceDefinition": ("apiextensions.k8s.io", "customresourcedefinitions"),
}
CLUSTER_SCOPED = frozenset({"CustomResourceDefinition"})
# What managing an object takes: apply (patch; create without SSA), refresh (get), the await's watch (list, watch),
# replacement and destroy (delete).
WRITE_VERBS = ("create", "delete", "get", "list", "patch", "update", "watch")
READ_VERBS = ("get",)


class UncoveredError(ValueError):
    """The plan does something no grant here was decided for."""


def _kind(resource: RegisteredResource) -> str:
    kind = resource.type.rsplit(":", 1)[1]
    if kind.endswith("Patch") and kind.removesuffix("Patch") in KINDS:
        # pulumi-kubernetes' `<Kind>Patch` resource: a server-side apply patch of an existing <Kind> (get, patch)
        kind = kind.removesuffix("Patch")
    if kind not in KINDS:
        raise UncoveredError(
            f"the program {'reads' if resource.read_id else 'writes'} a {kind} ({resource.type} {resource.name}), "
            "a kind tools/grants.py KINDS has no grant for: decide its API group, plural and scope there"
        )
    return kind


def kubernetes_requests(run: ProgramRun) -> list[Request]:
    """Every request the Kubernetes provider makes for the plan's objects: the write verbs on each managed object,
    a get by name on each read."""
    requests: list[Request] = []
    for resource in run.resources:
        if not resource.type.startswith("kubernetes:") or not resource.custom:
            continue
        kind = _kind(resource)
        group, plural = KINDS[kind]
        if resource.read_id is not None:
            namespace, _, name = resource.read_id.rpartition("/")
            requests += [Request(verb, group, plural, namespace, name) for verb in READ_VERBS]
            continue
        metadata = resource.inputs.get("metadata") or {}
        namespace = "" if kind in CLUSTER_SCOPED else str(metadata.get("namespace") or "")
        if kind in CLUSTER_SCOPED or not namespace:
            raise UncoveredError(
                f"the program writes {kind} {metadata.get('name')} {'cluster-wide' if not namespace else ''}: the "
                "workspace is granted writes in named namespaces only; set the object's namespace"
            )
        requests += [Request(verb, group, plural, namespace, str(metadata.get("name", ""))) for verb in WRITE_VERBS]
    return sorted(set(requests), key=lambda r: (r.namespace, r.api_group, r.resource, r.name, r.verb))


# What the program's own cluster lookup (program/cluster_lookup.py, kubectl) asks, as requests: a get by name in a
# namespace, a list in every namespace.
def lookup_requests(lookups: list[tuple[str, str, str, str]]) -> list[Request]:
    requests = []
    for verb, kind, namespace, name in lookups:
        if kind not in KINDS:
            raise UncoveredError(f"the program's cluster lookup {verb}s {kind}, a kind tools/grants.py KINDS lacks")
        group, plural = KINDS[kind]
        requests.append(Request(verb, group, plural, namespace, name))
    return requests


def rbac_roles(requests: list[Request], name: str) -> list[dict[str, Any]]:
    """A Role per namespace written or read (writes by kind; reads by name, `get` only) and, for cluster-scoped
    reads, one ClusterRole of named gets. Nothing else cluster-wide."""
    roles: list[dict[str, Any]] = []
    for namespace in sorted({r.namespace for r in requests}):
        here = [r for r in requests if r.namespace == namespace]
        written = sorted({(r.api_group, r.resource) for r in here if r.verb == "patch"})
        rules: list[dict[str, Any]] = []
        for group in sorted({g for g, _ in written}):
            resources = sorted(res for g, res in written if g == group)
            rules.append({"apiGroups": [group], "resources": resources, "verbs": list(WRITE_VERBS)})
        read_only = sorted({(r.api_group, r.resource) for r in here} - set(written))
        for group, resource in read_only:
            reads = [r for r in here if (r.api_group, r.resource) == (group, resource)]
            names = sorted({r.name for r in reads if r.name})
            if names:  # gets by name
                rule = {"apiGroups": [group], "resources": [resource], "resourceNames": names, "verbs": ["get"]}
                rules.append(rule)
            unnamed = sorted({r.verb for r in reads if not r.name})  # a listing names no object
            if unnamed:
                rules.append({"apiGroups": [group], "resources": [resource], "verbs": unnamed})
        if namespace:
            roles.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                          "metadata": {"name": name, "namespace": namespace}, "rules": rules})  # fmt: skip
        else:
            roles.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                          "metadata": {"name": f"{name}-reads"}, "rules": rules})  # fmt: skip
    return roles


# ---- AWS ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AwsRequest:
    """One AWS action on one resource (an ARN or ARN pattern with IAM's `?` for Pulumi's 7 random characters)."""

    action: str
    resource: str
    condition: tuple[tuple[str, str, str], ...] = ()  # (operator, key, value)


# What each invoke the program makes calls (None: nothing to grant): tools/deployer_policy.py INVOKE_CALLS, plus the
# engine's read of the stack's own outputs (the state bucket's statements cover it) and the tags of the one log group
# `getLogGroup` reads, which grants scope to that group's ARN (the deployer policy grants invokes on `*` only, and
# takes the tags from its LogGroup row).
INVOKES: dict[str, tuple[str, ...] | None] = {
    **INVOKE_CALLS,
    "pulumi:pulumi:readStackOutputs": None,
    "aws:cloudwatch/getLogGroup:getLogGroup": (
        *(INVOKE_CALLS["aws:cloudwatch/getLogGroup:getLogGroup"] or ()),
        "logs:ListTagsForResource",
    ),
}


@dataclass
class Arns(PolicyArns):
    """The deployer policy's ARNs (tools/deployer_policy.py), plus each resource's dependencies by URN."""

    by_urn: dict[str, RegisteredResource] = field(default_factory=dict)

    def dependency(self, resource: RegisteredResource, type_: str) -> RegisteredResource:
        found = [d for d in (self.by_urn.get(u) for u in resource.dependencies) if d is not None and d.type == type_]
        if len(found) != 1:
            raise UncoveredError(f"{resource.type} {resource.name} depends on {len(found)} {type_}; expected one")
        return found[0]


Condition = tuple[tuple[str, str, str], ...]


def _calls(resource: RegisteredResource) -> tuple[str, ...]:
    """What the resource's provider calls: the one inventory, read from terraform-provider-aws per type with its file
    and commit, is tools/deployer_policy.py RESOURCE_CALLS (also the laptop deployer's policy); here its ARNs and
    conditions."""
    return RESOURCE_CALLS[resource.type].actions


def _each(actions: tuple[str, ...], *resources: str, condition: Condition = ()) -> list[AwsRequest]:
    return [AwsRequest(action, resource, condition) for action in actions for resource in resources]


def _attachment(detach_list: tuple[str, ...], principal: str, policy: str) -> list[AwsRequest]:
    """Attach and detach only that policy (`iam:PolicyARN`), and the listing the provider reads it back with."""
    attach, detach, listing = detach_list
    only = (("ArnLike", "iam:PolicyARN", policy),)
    return _each((attach, detach), principal, condition=only) + _each((listing,), principal)


def _role(resource: RegisteredResource, arns: Arns) -> list[AwsRequest]:
    return _each(_calls(resource), arns.iam("role", resource))


def _role_policy(resource: RegisteredResource, arns: Arns) -> list[AwsRequest]:
    role = arns.iam("role", arns.dependency(resource, "aws:iam/role:Role"))
    return _each(_calls(resource), role)


def _role_policy_attachment(resource: RegisteredResource, arns: Arns) -> list[AwsRequest]:
    role = arns.iam("role", arns.dependency(resource, "aws:iam/role:Role"))
    policy = resource.inputs.get("policyArn")
    if not isinstance(policy, str):
        policy = arns.iam("policy", arns.dependency(resource, "aws:iam/policy:Policy"))
    return _attachment(_calls(resource), role, policy)


def _user(resource: RegisteredResource, arns: Arns) -> list[AwsRequest]:
    return _each(_calls(resource), arns.iam("user", resource))


def _access_key(resource: RegisteredResource, arns: Arns) -> list[AwsRequest]:
    user = arns.iam("user", arns.dependency(resource, "aws:iam/user:User"))
    return _each(_calls(resource), user)


def _policy(resource: RegisteredResource, arns: Arns) -> list[AwsRequest]:
    return _each(_calls(resource), arns.iam("policy", resource))


def _user_policy(resource: RegisteredResource, arns: Arns) -> list[AwsRequest]:
    user = arns.iam("user", arns.dependency(resource, "aws:iam/user:User"))
    return _each(_calls(resource), user)


def _user_policy_attachment(resource: RegisteredResource, arns: Arns) -> list[AwsRequest]:
    user = arns.iam("user", arns.dependency(resource, "aws:iam/user:User"))
    policy = arns.iam("policy", arns.dependency(resource, "aws:iam/policy:Policy"))
    return _attachment(_calls(resource), user, policy)


def _function(resource: RegisteredResource, arns: Arns) -> list[AwsRequest]:
    function = arns.function(str(resource.inputs["name"]))
    role = arns.iam("role", arns.dependency(resource, "aws:iam/role:Role"))
    passed = (("StringEquals", "iam:PassedToService", "lambda.amazonaws.com"),)
    return _each(_calls(resource), function, f"{function}:*") + _each((PASS_ROLE,), role, condition=passed)


def _alias(resource: RegisteredResource, arns: Arns) -> list[AwsRequest]:
    function = arns.function(str(resource.inputs["functionName"]))
    return _each(_calls(resource), function, f"{function}:{resource.inputs['name']}")


def _log_group(resource: RegisteredResource, arns: Arns) -> list[AwsRequest]:
    group = arns.log_group(str(resource.inputs["name"]))
    return _each(_calls(resource), group, f"{group}:*")


def _bucket_name(bucket: RegisteredResource) -> str:
    return str(bucket.inputs.get("bucket") or f"{bucket.name}{AUTONAME}")


def _bucket(resource: RegisteredResource, arns: Arns) -> list[AwsRequest]:
    return _each(_calls(resource), f"arn:{arns.partition}:s3:::{_bucket_name(resource)}")


def _bucket_object(resource: RegisteredResource, arns: Arns) -> list[AwsRequest]:
    bucket = _bucket_name(arns.dependency(resource, "aws:s3/bucket:Bucket"))
    return _each(_calls(resource), f"arn:{arns.partition}:s3:::{bucket}/*")


# Each AWS type the program creates -> the calls its provider makes, on which ARNs.
RESOURCE_REQUESTS: dict[str, Callable[[RegisteredResource, Arns], list[AwsRequest]]] = {
    "aws:iam/role:Role": _role,
    "aws:iam/rolePolicy:RolePolicy": _role_policy,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": _role_policy_attachment,
    "aws:iam/user:User": _user,
    "aws:iam/accessKey:AccessKey": _access_key,
    "aws:iam/policy:Policy": _policy,
    "aws:iam/userPolicy:UserPolicy": _user_policy,
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": _user_policy_attachment,
    "aws:lambda/function:Function": _function,
    "aws:lambda/alias:Alias": _alias,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:s3/bucketObjectv2:BucketObjectv2": _bucket_object,
}


def _resource_requests(resource: RegisteredResource, arns: Arns) -> list[AwsRequest]:
    derive = RESOURCE_REQUESTS.get(resource.type)
    if derive is None:
        raise UncoveredError(
            f"the program creates a {resource.type} ({resource.name}), a type tools/grants.py RESOURCE_REQUESTS has "
            "no grant for: add the calls its provider makes (Create/Read/Update/Delete) there"
        )
    return derive(resource, arns)


def _invoke_requests(token: str, args: dict[str, Any], arns: Arns) -> list[AwsRequest]:
    if token not in INVOKES:
        raise UncoveredError(f"the program calls {token}, an invoke tools/grants.py INVOKES has no grant for")
    actions: tuple[str, ...] = INVOKES[token] or ()
    if token.startswith("aws:cloudwatch/"):
        name = args.get("name")
        resources = [arns.log_group(str(name))] if name else [arns.log_group("*")]
    elif token == "aws:lambda/getFunction:getFunction":
        resources = [arns.function(str(args["functionName"]))]
    else:  # ListFunctions and GetResources authorize on `*` only (Service Authorization Reference)
        resources = ["*"]
    return [AwsRequest(action, resource) for action in actions for resource in resources]


def aws_requests(
    run: ProgramRun, invokes: list[tuple[str, dict[str, Any]]], account: str, region: str
) -> list[AwsRequest]:
    """Every AWS action the stack's `pulumi up`, refresh and destroy make, on which resource."""
    arns = Arns(account, region, by_urn={r.urn: r for r in run.resources})
    found: set[AwsRequest] = set()
    for resource in run.resources:
        if resource.type.startswith("aws:") and resource.custom and resource.read_id is None:
            found.update(_resource_requests(resource, arns))
    for token, args in invokes:
        found.update(_invoke_requests(token, args, arns))
    return sorted(found, key=lambda r: (r.action.split(":")[0], r.resource, r.action, r.condition))


def deployer_policy(requests: list[AwsRequest]) -> dict[str, Any]:
    """An IAM policy with one statement per (resource set, condition): the actions on exactly those resources."""
    grouped: dict[tuple[tuple[str, ...], Condition], set[str]] = {}
    by_action: dict[tuple[str, Condition], set[str]] = {}
    for request in requests:
        by_action.setdefault((request.action, request.condition), set()).add(request.resource)
    for (action, condition), arns in by_action.items():
        grouped.setdefault((tuple(sorted(arns)), condition), set()).add(action)
    statements = []
    for (resources, condition), actions in sorted(grouped.items(), key=lambda item: (sorted(item[1]), item[0])):
        statement: dict[str, Any] = {"Effect": "Allow", "Action": sorted(actions), "Resource": list(resources)}
        if condition:
            conditions: dict[str, dict[str, list[str]]] = {}
            for operator, key, value in condition:
                conditions.setdefault(operator, {}).setdefault(key, []).append(value)
            statement["Condition"] = conditions
        statements.append(statement)
    return {"Version": "2012-10-17", "Statement": statements}


def policy_text(policy: dict[str, Any]) -> str:
    return json.dumps(policy, indent=2) + "\n"
