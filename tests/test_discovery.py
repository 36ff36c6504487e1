"""`discover`: every function of the account and region carrying a tag gets a Backend and an HTTPRoute, found with
one paginated Resource Groups Tagging API call, in preview and up; nothing of a found function is made, changed or
deleted; tags added and removed across `up`s move exactly their own routes."""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from typing import Any

import boto3
import pytest

from components.kgateway_api import KGATEWAY_VERSIONS
from program.config import ConfigError, MappingConfigSource, load_settings
from program.config.discovery import FoundFunction, discovered_targets, kubernetes_name
from program.preflight import preflight_problems
from tests.conftest import RunStack
from tests.support.aws_models import AwsModels, attached_documents
from tests.support.fake_aws import FakeAwsMocks
from tests.support.lifecycle import MotoDeployment, dev_config
from tools.engine import (
    TAGGED_RESOURCES,
    inventory_tagging_page,
    reveal,
    tagged_resources_result,
)
from tools.plan import plan

TAG = "kgateway-lambda/route"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
BACKEND = "kubernetes:gateway.kgateway.dev/v1alpha1:Backend"
ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


def discovery_config(**discover: Any) -> dict[str, str]:
    """The dev stack with no function of its own, routing the functions tagged TAG."""
    return dev_config(functions="[]", discover=json.dumps({"tag": TAG, **discover}))


class Account:
    """Functions made outside the stack (by another team), with the tags they carry."""

    def __init__(self, aws: boto3.Session) -> None:
        self.lambda_ = aws.client("lambda")
        iam = aws.client("iam")
        principal = {"Service": "lambda.amazonaws.com"}
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
        }
        self.role = iam.create_role(RoleName="team-functions", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w") as zipped:
            zipped.writestr("index.mjs", "export const handler = async () => ({statusCode: 200});\n")
        self.code = archive.getvalue()

    def function(self, name: str, **tags: str) -> str:
        return str(
            self.lambda_.create_function(
                FunctionName=name,
                Runtime="nodejs22.x",
                Role=self.role["Arn"],
                Handler="index.handler",
                Code={"ZipFile": self.code},
                Tags=tags,
            )["FunctionArn"]
        )

    def configuration(self, name: str) -> dict[str, Any]:
        """What a deploy must never change: the function's configuration and code."""
        found = self.lambda_.get_function(FunctionName=name)
        config = found["Configuration"]
        return {k: config.get(k) for k in ("CodeSha256", "LastModified", "Timeout", "MemorySize", "RevisionId")}


def routes(deployment: MotoDeployment) -> dict[str, str]:
    """HTTPRoute name -> the path it matches, as the cluster holds them."""
    found = {}
    for (kind, _, name), obj in deployment.cluster.objects.items():
        if kind.endswith(":HTTPRoute"):
            found[name] = obj["spec"]["rules"][0]["matches"][0]["path"]["value"]
    return found


def invoke_arns(aws: boto3.Session) -> set[str]:
    """The resources the gateway's identity may invoke, from the policies IAM holds."""
    iam = aws.client("iam")
    (user,) = iam.list_users(PathPrefix="/kgateway-lambda/")["Users"]
    return {
        arn
        for document in attached_documents(iam, user=user["UserName"])
        for statement in document["Statement"]
        for arn in ([statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"])
    }


def tagging_invokes(deployment: MotoDeployment) -> list[bool]:
    """For each tagging invoke of the last preview and up: whether it ran in the preview."""
    return [dry for token, dry in deployment.invokes if token == TAGGED_RESOURCES]


def test_discovery_routes_exactly_the_tagged_functions_and_touches_none(aws: boto3.Session) -> None:
    account = Account(aws)
    orders = account.function("orders", **{TAG: "/api/orders"})
    billing = account.function("Billing_v2", **{TAG: ""})
    account.function("untagged")
    account.function("other-tag", team="a")
    before = {name: account.configuration(name) for name in ("orders", "Billing_v2", "untagged", "other-tag")}
    deployment = MotoDeployment(aws)
    deployment.up(discovery_config())

    billing_name = kubernetes_name("Billing_v2")
    assert routes(deployment) == {"orders": "/api/orders", billing_name: "/Billing_v2"}
    backends = {name for (kind, _, name) in deployment.cluster.objects if kind.endswith(":Backend")}
    assert backends == {"orders", billing_name}
    # The identity may invoke exactly the found functions at $LATEST (what their Backends invoke), nothing else.
    assert invoke_arns(aws) == {f"{orders}:$LATEST", f"{billing}:$LATEST"}
    # Nothing of any function was created, changed or deleted, and the stack holds no Lambda resource.
    assert {name: account.configuration(name) for name in before} == before
    assert not [d for d in deployment.deployed.values() if d.type.startswith("aws:lambda/")]
    # One tagging call in the preview and one in the update, one page each; no call per function.
    assert tagging_invokes(deployment) == [True, False]
    assert len(deployment.aws.tagging_requests) == 2
    assert not [token for token, _ in deployment.invokes if token.startswith("aws:lambda/")]


def test_day_two_a_tag_added_then_removed_moves_only_its_own_route(aws: boto3.Session) -> None:
    account = Account(aws)
    account.function("orders", **{TAG: ""})
    late = account.function("late")
    deployment = MotoDeployment(aws)
    config = discovery_config()
    deployment.up(config)
    assert routes(deployment) == {"orders": "/orders"}
    urns_before = {key: d.id for key, d in deployment.deployed.items()}

    account.lambda_.tag_resource(Resource=late, Tags={TAG: "/late"})
    preview = deployment.preview(config)  # the preview asks AWS too, and shows the new route
    assert "late" in {reveal(r.inputs)["metadata"]["name"] for r in preview.by_type(HTTP_ROUTE)}
    deployment.up(config)
    assert routes(deployment) == {"orders": "/orders", "late": "/late"}
    created = {key[1].rsplit("::", 1)[1] for op, key in deployment.changes if op == "create"}
    assert created and all(name.rsplit("/", 1)[-1].startswith("late") for name in created)
    assert {op for op, key in deployment.changes if key in urns_before} <= {"update"}
    # The other function's resources are untouched; only the invoke-only policy's document is updated.
    updated = {key[0] for op, key in deployment.changes if op == "update"}
    assert updated == {"aws:iam/policy:Policy"}
    assert f"{late}:$LATEST" in invoke_arns(aws)

    deployment.up(config)  # no change: nothing changes
    assert deployment.changes == []

    before = account.configuration("late")
    account.lambda_.untag_resource(Resource=late, TagKeys=[TAG])
    deployment.up(config)
    assert routes(deployment) == {"orders": "/orders"}
    deleted = {key for op, key in deployment.changes if op == "delete"}
    assert deleted and all("late" in key[1] for key in deleted)
    assert {key[0] for op, key in deployment.changes if op == "update"} == {"aws:iam/policy:Policy"}
    assert not any(late in arn for arn in invoke_arns(aws))
    assert account.configuration("late") == before  # the function itself is untouched, still there
    # The first function's resources kept their URNs and ids through both changes.
    assert {key: d.id for key, d in deployment.deployed.items() if key in urns_before} == {
        key: i for key, i in urns_before.items() if key in deployment.deployed
    }
    assert set(urns_before) <= set(deployment.deployed)


def test_a_bad_tag_value_is_reported_naming_the_function_and_the_tag_and_nothing_is_made(aws: boto3.Session) -> None:
    account = Account(aws)
    account.function("orders", **{TAG: "orders here"})
    account.function("fine", **{TAG: ""})
    deployment = MotoDeployment(aws)
    with pytest.raises(ConfigError) as failure:
        deployment.up(discovery_config())
    (problem,) = failure.value.problems
    assert problem.name == f"kgateway-lambda:discover (function orders, tag {TAG!r})"
    assert problem.value == "orders here"
    assert "absolute path" in problem.allowed
    assert deployment.deployed == {}


def test_the_tagging_call_pages_as_the_provider_does(aws: boto3.Session) -> None:
    """120 tagged functions: moto answers 50 a page; the provider's loop follows the token to the end."""
    account = Account(aws)
    arns = {account.function(f"fn-{i:03d}", **{TAG: ""}) for i in range(120)}
    account.function("not-this-one")
    models = AwsModels(aws)
    args = {"resourceTypeFilters": ["lambda:function"], "tagFilters": [{"key": TAG}]}
    result = tagged_resources_result(TAGGED_RESOURCES, args, "aws", models.tagging_page)
    assert result is not None
    assert {m["resourceArn"] for m in result["resourceTagMappingLists"]} == arns
    assert len(models.tagging_requests) == 3  # 50 + 50 + 20
    assert [("PaginationToken" in r) for r in models.tagging_requests] == [False, True, True]
    # The offline inventory pages and filters as moto does.
    inventory = {m["resourceArn"]: m["tags"] for m in result["resourceTagMappingLists"]}
    inventory[f"{ARN}x"] = {"team": "a"}
    offline = tagged_resources_result(TAGGED_RESOURCES, args, "aws", inventory_tagging_page(inventory))
    assert offline is not None
    assert sorted(m["resourceArn"] for m in offline["resourceTagMappingLists"]) == sorted(arns)


@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        ({"resourceArnLists": [f"{ARN}a"], "tagFilters": [{"key": TAG}]}, "conflicts with"),
        ({"tagFilters": [{"key": f"k{i}"} for i in range(51)]}, "at most 50"),
        ({"tagFilters": [{"key": TAG, "values": [str(i) for i in range(21)]}]}, "20 values"),
    ],
)
def test_the_rig_refuses_what_the_providers_schema_refuses(args: dict[str, Any], refusal: str) -> None:
    with pytest.raises(RuntimeError, match=refusal):
        tagged_resources_result(TAGGED_RESOURCES, args, "aws", inventory_tagging_page({}))


def settings_with(found: dict[str, dict[str, str]], **config: str) -> Any:
    values = {"aws:region": "us-east-1", "discover": json.dumps({"tag": TAG}), "functions": "[]", **config}
    settings = load_settings(MappingConfigSource(values))
    return discovered_targets(settings, [FoundFunction(arn, tags) for arn, tags in found.items()]), settings


def test_names_are_labels_or_hashed_and_stable_whatever_else_is_found() -> None:
    alone, _ = settings_with({f"{ARN}My_Func": {TAG: "/a"}})
    both, _ = settings_with({f"{ARN}My_Func": {TAG: "/a"}, f"{ARN}my-func": {TAG: "/b"}})
    hashed = kubernetes_name("My_Func")
    assert hashed.startswith("my-func-") and len(hashed) == len("my-func-") + 6
    assert [t.backend.name for t in alone] == [hashed]
    assert sorted(t.backend.name for t in both) == sorted([hashed, "my-func"])
    assert {t.resource_name for t in both} == {t.backend.name for t in both}
    long_name = "a" * 64
    assert len(kubernetes_name(long_name)) <= 63


def test_a_found_function_the_stack_configures_is_routed_once_and_a_taken_name_is_hashed() -> None:
    entries = json.dumps([{"name": "echo"}, {"arn": f"{ARN}orders"}])
    found = {f"{ARN}echo": {TAG: "/x"}, f"{ARN}orders": {TAG: "/y"}, f"{ARN}hello": {TAG: ""}}
    configured_routes = [{"function": "echo", "path": "/echo", "name": "hello"}, {"function": "orders", "path": "/o"}]
    targets, _ = settings_with(found, functions=entries, routes=json.dumps(configured_routes))
    assert [t.function.name for t in targets] == ["hello"]
    assert targets[0].backend.name == kubernetes_name("hello", {"hello"}) != "hello"


def test_two_routes_on_one_path_are_reported_naming_both() -> None:
    with pytest.raises(ConfigError) as failure:
        settings_with({f"{ARN}a": {TAG: "/same"}, f"{ARN}b": {TAG: "/same"}})
    (problem,) = failure.value.problems
    assert "function b" in problem.name and "function a (found by tag)" in problem.allowed


@pytest.mark.parametrize(
    ("discover", "key", "words"),
    [
        ({}, "discover.tag", "is required"),
        ({"tag": "aws:cloudformation:stack-name"}, "discover.tag", "not starting with 'aws:'"),
        ({"tag": "x" * 129}, "discover.tag", "1 to 128"),
        ({"tag": TAG, "namespace": "Team_A"}, "discover.namespace", "DNS label"),
        ({"tag": TAG, "invocationMode": "sync"}, "discover.invocationMode", "Sync, Async"),
        ({"tag": TAG, "path": "/x"}, "discover", "unknown fields; allowed: tag, namespace, invocationMode"),
    ],
)
def test_the_discover_key_is_checked_before_anything(discover: dict[str, Any], key: str, words: str) -> None:
    with pytest.raises(ConfigError) as failure:
        load_settings(MappingConfigSource({"aws:region": "us-east-1", "discover": json.dumps(discover)}))
    (problem,) = failure.value.problems
    assert problem.name == f"kgateway-lambda:{key}"
    assert words in problem.allowed


def test_an_empty_function_list_needs_discover() -> None:
    with pytest.raises(ConfigError, match=r"functions = \[\]: must list at least one entry"):
        load_settings(MappingConfigSource({"aws:region": "us-east-1", "functions": "[]"}))


@pytest.mark.parametrize("version", sorted(KGATEWAY_VERSIONS))
def test_the_found_functions_objects_pass_every_lines_crds(version: str) -> None:
    found = {f"{ARN}orders": {TAG: "/api/orders"}, f"{ARN}Billing_v2": {TAG: ""}}
    discover = {"tag": TAG, "namespace": "team-a", "invocationMode": "Async"}
    targets, settings = settings_with(found, kgatewayVersion=version, discover=json.dumps(discover))
    assert preflight_problems(dataclasses.replace(settings, targets=targets)) == []
    # and the preflight does check them: a Backend name the CRD refuses is reported on the found function
    broken = dataclasses.replace(targets[0], backend=dataclasses.replace(targets[0].backend, name="x" * 300))
    problems = preflight_problems(dataclasses.replace(settings, targets=(broken,)))
    assert problems and "discover (function" in problems[0].name


def test_the_example_stack_plans_the_functions_it_would_find() -> None:
    arn = "arn:aws:lambda:eu-west-1:111122223333:function:"
    found = {f"{arn}orders": {TAG: "/api/orders"}, f"{arn}Billing_v2": {TAG: ""}, f"{arn}other": {"team": "a"}}
    run = plan("discovered", tagged=found)
    routes_planned = {
        reveal(r.inputs)["metadata"]["name"]: reveal(r.inputs)["metadata"]["namespace"] for r in run.by_type(HTTP_ROUTE)
    }
    assert routes_planned == {"orders": "team-a", kubernetes_name("Billing_v2"): "team-a"}
    assert not run.by_type("aws:lambda/function:Function")
    assert len(run.by_type(BACKEND)) == 2
    with pytest.raises(ConfigError, match=r"discover.tag = 'kgateway-lambda/route': is carried by no Lambda function"):
        plan("discovered")


def test_with_the_stacks_own_function_the_found_ones_join_it_in_the_fake_account(run_stack: RunStack) -> None:
    """The component tests' fake account answers the same invoke from its inventory (names -> tags)."""
    mocks = FakeAwsMocks(hand_made=("orders", "untagged"))
    mocks.functions["orders"] = {TAG: "/api/orders"}
    run = run_stack({"discover": json.dumps({"tag": TAG})}, mocks=mocks)
    paths = {
        reveal(r.inputs)["metadata"]["name"]: reveal(r.inputs)["spec"]["rules"][0]["matches"][0]["path"]["value"]
        for r in run.by_type(HTTP_ROUTE)
    }
    assert paths == {"echo": "/echo", "orders": "/api/orders"}
    assert [r.inputs["name"] for r in run.by_type("aws:lambda/function:Function")] == ["echo"]
