"""Many clusters, one definition (docs/fleet.md): the Pulumi Kubernetes Operator's Stack, RBAC and AWS policies that
`python -m tools operator` derives from a stack's plan.

What the program does is read from its plan independently of the grants: the objects it would apply
(`tools.plan.kubernetes_manifests`), the objects it reads, the AWS resources it creates under the names the rig
gives them (`tools.aws_rules.physical_name`). Each is checked against the grants with RBAC's and IAM's own matching,
both ways: everything the program does is allowed, and every grant is used by something it does.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import itertools
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from program.config.project import PROJECT_ROOT
from program.crd_validation import CRDS, load_yaml, schema_errors
from tests.support.fake_aws import OIDC_PROVIDER
from tests.support.moto_account import evaluate, iam_match
from tools import grants
from tools.__main__ import main
from tools.aws_rules import physical_name
from tools.engine import RegisteredResource, reveal
from tools.operator import (
    PKO_CRDS,
    STACK_CRD,
    WORKSPACE_CRD,
    OperatorError,
    Planned,
    Settings,
    manifest_problems,
    manifests,
    plan_stack,
    stack_object,
    workspace_for,
)
from tools.plan import kubernetes_manifests
from tools.rbac import Request, allowed, role_problems, rule_allows

ACCOUNT = "111122223333"
DEPLOY = PROJECT_ROOT / "deploy" / "operator"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
TAGGED = {"arn:aws:lambda:eu-west-1:111122223333:function:orders": {"kgateway-lambda/route": "/api/orders"}}
# Every example stack a PKO workspace can run (`local` points at a kind context: refused, tested below).
EXAMPLES = ["dev", "multi", "protected", "functions", "discovered", "prod-us-east-1", "prod-eu-west-1", "staging"]
FLEET = {
    "prod-us-east-1": ["--state-bucket", "example-prod-pulumi-state"],
    "prod-eu-west-1": ["--state-bucket", "example-prod-pulumi-state", "--identity", "irsa",
                       "--oidc-issuer", "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"],
    "staging": ["--state-bucket", "example-staging-pulumi-state", "--account-id", "444455556666"],
}  # fmt: skip
REPO = ["--repo", "https://github.com/example-org/kgateway-lambda.git", "--branch", "main"]


# What managing an object takes in pulumi-kubernetes (server-side apply, refresh, the await's watch, delete), and
# each kind's plural from the real CRDs: both read here independently of tools/grants.py.
MANAGE = ("get", "list", "watch", "create", "update", "patch", "delete")


@functools.cache
def plurals() -> dict[str, str]:
    found = {"Secret": "secrets"}  # core/v1
    for path in CRDS.glob("*.yaml"):
        names = load_yaml(path)["spec"]["names"]
        found[names["kind"]] = names["plural"]
    return found


class Plans(dict[str, Planned]):
    """Each example stack's plan, made once for the module (planning is the slow part)."""

    def __missing__(self, stack: str) -> Planned:
        self[stack] = plan_stack(stack, tagged=TAGGED if stack == "discovered" else None)
        return self[stack]


planned = Plans()


def settings_for(stack: str) -> Settings:
    return Settings(stack=stack, repo="https://example.com/r.git", branch="main")


# ---- what the program does, read from the plan -------------------------------------------------------------------


def written(planned: Planned) -> list[Request]:
    """Each object the stack applies (its manifest), with everything managing it takes."""
    requests = []
    for manifest in kubernetes_manifests(planned.run):
        group = manifest["apiVersion"].rpartition("/")[0]
        plural = plurals()[manifest["kind"]]
        meta = manifest["metadata"]
        requests += [Request(v, group, plural, meta["namespace"], meta["name"]) for v in MANAGE]
    return requests


def read(planned: Planned) -> list[Request]:
    """Each object the stack reads (a `.get()`), by the id it reads, and what its own cluster lookup asks (kubectl
    get by name, list in every namespace)."""
    groups = {"Secret": "", "Backend": "gateway.kgateway.dev", "GatewayParameters": "gateway.kgateway.dev"}
    requests = [
        Request(verb, groups.get(kind, "gateway.networking.k8s.io"), plurals()[kind], namespace, name)
        for verb, kind, namespace, name in planned.lookups
    ]
    for resource in planned.run.resources:
        if resource.read_id is not None:
            namespace, _, name = resource.read_id.rpartition("/")
            group = resource.type.split(":")[1].rpartition("/")[0]
            kind = resource.type.rsplit(":", 1)[1]
            plural = "customresourcedefinitions" if kind == "CustomResourceDefinition" else plurals()[kind]
            requests.append(Request("get", group, plural, namespace, name))
    return requests


def unused_rules(roles: list[dict[str, Any]], requests: list[Request]) -> list[str]:
    """Each (verb, group, resource, name) a rule grants that no request of the program needs. A rule without
    `resourceNames` grants every name: only objects the program manages (their names are its own) justify it."""
    managed = {(r.api_group, r.resource, r.namespace) for r in requests if r.verb == "patch"}
    listed = {(r.verb, r.api_group, r.resource, r.namespace) for r in requests if not r.name}
    unused = []
    for role in roles:
        namespace = role["metadata"].get("namespace", "")
        for rule in role["rules"]:
            for verb, group, resource in itertools.product(rule["verbs"], rule["apiGroups"], rule["resources"]):
                for name in rule.get("resourceNames") or [""]:
                    asked = (verb, group, resource, namespace)
                    needed = any(
                        (r.verb, r.api_group, r.resource, r.namespace) == asked and (not name or r.name == name)
                        for r in requests
                    )
                    unnamed_ok = (group, resource, namespace) in managed or (verb, *asked[1:]) in listed
                    if not needed or (not name and not unnamed_ok):
                        unused.append(f"{role['kind']} {namespace}: {verb} {group}/{resource} {name}".strip())
    return unused


def rbac_of(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        o for o in objects if o["kind"] in ("Role", "ClusterRole") and o["metadata"]["name"] != "system:auth-delegator"
    ]


def aws_named(planned: Planned) -> dict[str, str]:
    """URN -> the ARN of each AWS resource under the name the rig gives it (Pulumi's auto-name with 7 characters)."""
    arns = {}
    region = planned.region
    for r in planned.run.resources:
        inputs = reveal(r.inputs)
        if r.type in ("aws:iam/role:Role", "aws:iam/user:User", "aws:iam/policy:Policy"):
            kind = r.type.split(":")[1].split("/")[1]
            path = inputs.get("path") or "/"
            arns[r.urn] = f"arn:aws:iam::{ACCOUNT}:{kind}{path}{physical_name(r.type, r.name, inputs, 'abc1234')}"
        elif r.type == "aws:lambda/function:Function":
            arns[r.urn] = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{inputs['name']}"
        elif r.type == "aws:cloudwatch/logGroup:LogGroup":
            arns[r.urn] = f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{inputs['name']}"
    return arns


# ---- the tests ------------------------------------------------------------------------------------------------------


def test_pkos_crds_are_the_recorded_upstream_bytes() -> None:
    recorded = dict(
        re.findall(r"^\| `([^`]+\.yaml)` \| `([0-9a-f]{64})` \|$", (PKO_CRDS / "SOURCES.md").read_text(), re.M)
    )
    shipped = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in PKO_CRDS.glob("*.yaml")}
    assert shipped == recorded and len(shipped) == 4


@pytest.mark.parametrize("stack", EXAMPLES)
def test_every_kubernetes_request_of_the_plan_is_granted_and_every_grant_is_used(
    stack: str,
) -> None:
    objects = manifests(settings_for(stack), planned[stack])
    roles = rbac_of(objects)
    requests = written(planned[stack]) + read(planned[stack])
    assert requests, "the plan does nothing in the cluster?"
    assert [r for r in requests if not allowed(roles, r)] == []
    assert unused_rules(roles, requests) == []
    # nothing cluster-wide but reads: named gets of CRDs, and the lookup's listing of HTTPRoutes (guide_objects.py)
    for role in roles:
        if role["kind"] == "ClusterRole":
            crd = {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"]}
            routes = {"apiGroups": ["gateway.networking.k8s.io"], "resources": ["httproutes"], "verbs": ["list"]}
            named_crds = [{**crd, "resourceNames": ["backends.gateway.kgateway.dev"], "verbs": ["get"]}]
            assert role["rules"] in ([routes], [*named_crds, routes])
    assert manifest_problems(objects) == []


def test_the_check_fails_when_the_program_writes_more_or_the_grant_covers_more() -> None:
    roles = rbac_of(manifests(settings_for("dev"), planned["dev"]))
    requests = written(planned["dev"]) + read(planned["dev"])
    # the program starts writing a kind in a namespace the grant never saw
    extra = Request("patch", "gateway.kgateway.dev", "trafficpolicies", "team-b", "x")
    assert not allowed(roles, extra)
    # the grant covers a kind the program never writes
    wider = [*roles[:-1], {**roles[-1], "rules": [*roles[-1]["rules"], {"apiGroups": [""], "resources": ["configmaps"],
                                                                      "verbs": ["get"]}]}]  # fmt: skip
    assert unused_rules(wider, requests) == ["Role kgateway-system: get /configmaps"]


def test_a_kind_or_aws_type_without_a_decided_grant_stops_the_derivation() -> None:
    run = planned["dev"].run
    config_map = RegisteredResource("kubernetes:core/v1:ConfigMap", "c", "urn:c", "", {"metadata": {"name": "c",
                                    "namespace": "kgateway-system"}}, [], True)  # fmt: skip
    with pytest.raises(grants.UncoveredError, match=r"writes a ConfigMap .*KINDS has no grant"):
        grants.kubernetes_requests(dataclasses.replace(run, resources=[*run.resources, config_map]))
    cluster_wide = dataclasses.replace(config_map, type="kubernetes:gateway.kgateway.dev/v1alpha1:Backend",
                                       inputs={"metadata": {"name": "b"}})  # fmt: skip
    with pytest.raises(grants.UncoveredError, match=r"writes Backend b cluster-wide"):
        grants.kubernetes_requests(dataclasses.replace(run, resources=[cluster_wide]))
    queue = dataclasses.replace(config_map, type="aws:sqs/queue:Queue")
    with pytest.raises(grants.UncoveredError, match=r"creates a aws:sqs/queue:Queue .*RESOURCE_REQUESTS"):
        grants.aws_requests(dataclasses.replace(run, resources=[queue]), [], ACCOUNT, "us-east-1")
    with pytest.raises(grants.UncoveredError, match=r"calls aws:ec2/getVpc:getVpc"):
        grants.aws_requests(run, [("aws:ec2/getVpc:getVpc", {})], ACCOUNT, "us-east-1")


@pytest.mark.parametrize("stack", EXAMPLES)
def test_the_deployer_policy_allows_each_resource_the_plan_creates_and_names_nothing_else(stack: str) -> None:
    assert_deployer_policy_fits(planned[stack])


def assert_deployer_policy_fits(plan: Planned) -> None:
    policy = grants.deployer_policy(grants.aws_requests(plan.run, plan.invokes, ACCOUNT, plan.region))
    document = json.dumps(policy)
    named = aws_named(plan)
    assert named, "the plan creates nothing in AWS?"
    creates = {"aws:iam/role:Role": "iam:CreateRole", "aws:iam/user:User": "iam:CreateUser",
               "aws:iam/policy:Policy": "iam:CreatePolicy", "aws:lambda/function:Function": "lambda:CreateFunction",
               "aws:cloudwatch/logGroup:LogGroup": "logs:CreateLogGroup"}  # fmt: skip
    by_urn = {r.urn: r for r in plan.run.resources}
    for urn, arn in named.items():
        assert evaluate(document, creates[by_urn[urn].type], arn), f"{arn} cannot be created"
    # every statement's resource is one of the plan's own resources (or a listing that takes `*` or a prefix)
    listings = {"lambda:ListFunctions", "tag:GetResources", "logs:DescribeLogGroups"}
    for statement in policy["Statement"]:
        for pattern in statement["Resource"]:
            if set(statement["Action"]) <= listings:
                continue
            assert any(iam_match(pattern, arn) or iam_match(pattern, f"{arn}:live") for arn in named.values()), (
                f"{statement['Action']} on {pattern}: no resource of the plan"
            )
    # a function or role of another stack is out of reach
    assert not evaluate(document, "lambda:UpdateFunctionCode", f"arn:aws:lambda:{plan.region}:{ACCOUNT}:function:other")
    assert not evaluate(document, "iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/admin")
    assert not evaluate(document, "iam:AttachUserPolicy", f"arn:aws:iam::{ACCOUNT}:user/admin")


def test_passrole_and_attachments_are_conditioned() -> None:
    plan = planned["dev"]
    statements = grants.deployer_policy(grants.aws_requests(plan.run, plan.invokes, ACCOUNT, plan.region))["Statement"]
    conditioned = {tuple(s["Action"]): s.get("Condition") for s in statements}
    assert conditioned[("iam:PassRole",)] == {"StringEquals": {"iam:PassedToService": ["lambda.amazonaws.com"]}}
    assert conditioned[("iam:AttachUserPolicy", "iam:DetachUserPolicy")] == {
        "ArnLike": {"iam:PolicyARN": [f"arn:aws:iam::{ACCOUNT}:policy/kgateway-lambda/gateway-invoke-only-1-???????"]}
    }


def test_a_created_gateway_and_irsa_grant_their_kinds_in_their_namespace(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.gw.yaml").write_text(
        "config:\n  aws:region: us-east-1\n  kgateway-lambda:createGateway: true\n"
        f"  kgateway-lambda:credentialsMode: irsa\n  kgateway-lambda:oidcProvider: {OIDC_PROVIDER}\n"
        "  kgateway-lambda:gatewayNamespace: edge\n  kgateway-lambda:kgatewayVersion: v2.4\n"
    )
    plan = plan_stack("gw", tmp_path)
    roles = rbac_of(manifests(settings_for("gw"), plan))
    requests = written(plan) + read(plan)
    kinds = {(r.namespace, r.resource) for r in requests if r.verb == "patch"}
    assert ("edge", "gateways") in kinds and ("edge", "gatewayparameters") in kinds
    assert [r for r in requests if not allowed(roles, r)] == [] and unused_rules(roles, requests) == []
    assert_deployer_policy_fits(plan)  # its IRSA role and policy too
    (tmp_path / "Pulumi.ar.yaml").write_text(
        "config:\n  aws:region: us-east-1\n  kgateway-lambda:credentialsMode: assume-role\n"
        f"  kgateway-lambda:ambientRoleArn: arn:aws:iam::{ACCOUNT}:role/node\n  kgateway-lambda:kgatewayVersion: v2.4\n"
    )
    assert_deployer_policy_fits(plan_stack("ar", tmp_path))


def test_a_stack_pointing_at_a_kubeconfig_context_is_refused() -> None:
    with pytest.raises(OperatorError, match=r"kubernetes:context = 'kind-kgateway-lambda': the workspace's Kubernetes"):
        plan_stack("local")


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"resyncFrequency": 60}, "'resyncFrequency' was unexpected"),  # no such field: strict validation
        ({"resyncFrequencySeconds": "often"}, "'often' is not of type 'integer'"),
        ({"workspaceReclaimPolicy": "Keep"}, "'Keep' is not one of ['Retain', 'Delete']"),
    ],
)
def test_pkos_crd_refuses_a_wrong_stack(change: dict[str, Any], error: str) -> None:
    stack = stack_object(settings_for("dev"))
    assert schema_errors(stack, STACK_CRD, "v1") == []
    broken = {**stack, "spec": {**stack["spec"], **change}}
    assert any(error in e for e in schema_errors(broken, STACK_CRD, "v1"))
    assert any(error in p for p in manifest_problems([broken]))  # what `write` refuses before writing


def test_the_workspace_pko_makes_of_the_stack_passes_its_crd() -> None:
    stack = stack_object(settings_for("dev"))
    workspace = workspace_for(stack, "a" * 40)
    assert schema_errors(workspace, WORKSPACE_CRD, "v1alpha1") == []
    spec = workspace["spec"]
    assert spec["env"] == [
        {"name": "PULUMI_BACKEND_URL", "value": "s3://kgateway-lambda-pulumi-state?region=us-east-1"},
        {"name": "PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER", "value": "true"},
    ]
    assert spec["stacks"] == [
        {"name": "dev", "create": True, "secretsProvider": "awskms://alias/kgateway-lambda-pulumi?region=us-east-1"}
    ]
    assert (spec["serviceAccountName"], spec["image"]) == ("kgateway-lambda-dev", "pulumi/pulumi:3.272.0-nonroot")
    template = stack["spec"]["workspaceTemplate"]
    broken = {**stack, "spec": {**stack["spec"], "workspaceTemplate": {"spec": {**template["spec"], "image": 5}}}}
    assert any(p.startswith("the Workspace PKO makes of Stack") for p in manifest_problems([broken]))


def test_pkos_cel_rule_limits_the_stack_name() -> None:
    stack = stack_object(settings_for("dev"))
    long = {**stack, "metadata": {**stack["metadata"], "name": "x" * 43}}
    assert any("no more than 42 characters" in e for e in schema_errors(long, STACK_CRD, "v1"))
    assert main(["operator", "--stack", "a" * 30, *REPO], end_loop=False) == 2


@pytest.mark.parametrize(
    ("rule", "kind", "problem"),
    [
        ({"apiGroups": [""], "resources": ["secrets"], "verbs": []}, "Role", "verbs must contain at least one value"),
        ({"resources": ["secrets"], "verbs": ["get"]}, "Role", "must supply at least one api group"),
        ({"apiGroups": [""], "verbs": ["get"]}, "Role", "must supply at least one resource"),
        ({"nonResourceURLs": ["/metrics"], "verbs": ["get"]}, "Role", "namespaced rules cannot apply to non-resource"),
        ({"nonResourceURLs": ["/m"], "resources": ["x"], "verbs": ["get"]}, "ClusterRole", "both regular resources"),
        ({"apiGroups": [""], "resources": ["Secrets"], "verbs": ["get"]}, "Role", "is not a resource"),
        ({"apiGroups": [""], "resources": ["secrets"], "verbs": ["read"]}, "Role", "'read' is not a verb"),
        ({"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["a"], "verbs": ["list"]}, "Role",
         "resourceNames never match list"),
    ],
)  # fmt: skip
def test_rbac_rules_are_validated_as_the_api_server_does(rule: dict[str, Any], kind: str, problem: str) -> None:
    role = {"kind": kind, "metadata": {"name": "r", "namespace": "ns"}, "rules": [rule]}
    assert any(problem in p for p in role_problems(role))


def test_rbac_matching_is_kubernetes_rule_allows() -> None:
    rule = {"apiGroups": ["gateway.kgateway.dev"], "resources": ["backends", "*/status"], "verbs": ["get"]}
    assert rule_allows(rule, Request("get", "gateway.kgateway.dev", "backends", "ns"))
    assert rule_allows(rule, Request("get", "gateway.kgateway.dev", "httproutes/status", "ns"))
    assert not rule_allows(rule, Request("patch", "gateway.kgateway.dev", "backends", "ns"))
    assert not rule_allows(rule, Request("get", "", "backends", "ns"))
    named = {"apiGroups": ["*"], "resources": ["*"], "resourceNames": ["a"], "verbs": ["*"]}
    assert rule_allows(named, Request("delete", "x", "y", "ns", "a"))
    assert not rule_allows(named, Request("delete", "x", "y", "ns", "b"))
    role = {"kind": "Role", "metadata": {"name": "r", "namespace": "ns"}, "rules": [rule]}
    assert not allowed([role], Request("get", "gateway.kgateway.dev", "backends", "other"))


def test_the_fleet_stacks_are_one_definition() -> None:
    configs = {stack: yaml.safe_load((PROJECT_ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"]
               for stack in FLEET}  # fmt: skip
    shared = {k for k in configs["staging"] if k.endswith((":functions", ":routes", ":kgatewayVersion"))}
    assert len(shared) == 3
    assert all({k: c[k] for k in shared} == {k: configs["staging"][k] for k in shared} for c in configs.values())
    assert len({c["aws:region"] for c in configs.values()}) == 3


@pytest.mark.parametrize("stack", sorted(FLEET))
def test_the_fleet_manifests_are_what_the_command_writes(stack: str, tmp_path: Path) -> None:
    out = DEPLOY / stack if UPDATE else tmp_path
    assert main(["operator", "--stack", stack, *REPO, "--out", str(out), *FLEET[stack]], end_loop=False) == 0
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(DEPLOY / stack).as_posix() for p in (DEPLOY / stack).rglob("*") if p.is_file())
    assert files == committed
    for name in files:
        assert (out / name).read_text() == (DEPLOY / stack / name).read_text(), f"deploy/operator/{stack}/{name}"
    objects = list(yaml.safe_load_all((out / "stack.yaml").read_text()))
    assert [o["kind"] for o in objects if o["kind"] == "Stack"] == ["Stack"]
    assert manifest_problems(objects) == []
