"""`discover`: every function of the account and region carrying a tag gets a Backend and an HTTPRoute, found with
one paginated Resource Groups Tagging API call, in preview and up; nothing of a found function is made, changed or
deleted; tags added and removed across `up`s move exactly their own routes."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import logging
import zipfile
from typing import Any

import boto3
import pytest

from components.kgateway_api import KGATEWAY_VERSIONS
from program.config import ConfigError, MappingConfigSource, load_settings
from program.config.discovery import Discovered, FoundFunction, PreviousRoute, discovered_targets, kubernetes_name
from program.preflight import preflight_problems
from tests.conftest import RunStack
from tests.support.aws_models import AwsModels, attached_documents
from tests.support.fake_aws import FakeAwsMocks
from tests.support.lifecycle import MotoDeployment, dev_config
from tools.engine import ProgramRun, reveal
from tools.engine_answers import TAGGED_RESOURCES, inventory_tagging_page, tagged_resources_result
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


def account_id(aws: boto3.Session) -> str:
    return str(aws.client("sts").get_caller_identity()["Account"])


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


def test_a_bad_tag_value_is_a_warning_that_skips_only_that_function(aws: boto3.Session) -> None:
    """Anyone who may tag a function could otherwise block every deploy: a bad value skips its function, with a
    warning naming the function, the tag, the value and what is allowed; the other functions are routed."""
    account = Account(aws)
    account.function("orders", **{TAG: "orders here"})
    account.function("fine", **{TAG: ""})
    deployment = MotoDeployment(aws)
    run = deployment.up(discovery_config())
    assert routes(deployment) == {"fine": "/fine"}
    (warning,) = [line for line in run.logs if "orders" in line]
    assert warning.startswith("warning:")
    assert f"kgateway-lambda:discover (function orders, tag {TAG!r}) = 'orders here': not routed" in warning
    assert "must be empty (route on /orders) or a path" in warning and "absolute path" in warning
    assert reveal(run.outputs["discovered"]) == {
        "fine": {"arn": f"{ARN.replace('123456789012', account_id(aws))}fine", "path": "/fine", "protected": False}
    }


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
    return discovered_targets(settings, [FoundFunction(arn, tags) for arn, tags in found.items()]).targets, settings


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


def found_with(
    found: dict[str, dict[str, str]], previous: dict[str, PreviousRoute] | None = None, **config: str
) -> Discovered:
    values = {"aws:region": "us-east-1", "discover": json.dumps({"tag": TAG}), "functions": "[]", **config}
    settings = load_settings(MappingConfigSource(values))
    return discovered_targets(settings, [FoundFunction(arn, tags) for arn, tags in found.items()], previous)


def test_two_found_functions_on_one_path_route_neither_unless_one_held_it() -> None:
    """A newly tagged function never takes an existing route: the one routed there before keeps it; with no such
    incumbent neither is routed (whichever sorted first would otherwise win), each named in a warning."""
    found = {f"{ARN}a": {TAG: "/same"}, f"{ARN}b": {TAG: "/same"}}
    fresh = found_with(found)
    assert fresh.targets == ()
    assert len(fresh.warnings) == 2
    assert "function b" in fresh.warnings[1] and "shares its path '/same' with a" in fresh.warnings[1]
    held = found_with(found, {"b": PreviousRoute(f"{ARN}b", "/same")})
    assert [t.function.name for t in held.targets] == ["b"]
    (warning,) = held.warnings
    assert "function a" in warning and "b keeps it (routed there before)" in warning


def test_a_found_path_a_configured_route_has_is_skipped_and_the_configured_one_stays() -> None:
    entries = json.dumps([{"arn": f"{ARN}echo"}])
    result = found_with({f"{ARN}intruder": {TAG: "/echo"}}, functions=entries, routePath="/echo")
    assert result.targets == ()
    (warning,) = result.warnings
    assert "function intruder" in warning and "routes /echo already" in warning


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
    found = {
        f"{arn}orders": {TAG: "/api/orders"},
        f"{arn}Billing_v2": {TAG: ""},
        f"{arn}status": {TAG: "/status"},
        f"{arn}other": {"team": "a"},
    }
    run = plan("discovered", tagged=found)
    routes_planned = {
        reveal(r.inputs)["metadata"]["name"]: reveal(r.inputs)["metadata"]["namespace"] for r in run.by_type(HTTP_ROUTE)
    }
    billing = kubernetes_name("Billing_v2")
    assert routes_planned == {"orders": "team-a", billing: "team-a", "status": "team-a"}
    assert not run.by_type("aws:lambda/function:Function")
    assert len(run.by_type(BACKEND)) == 3
    # Every found route but the one the stack config opts out (status, on /status) needs the stack's API key.
    policies = {
        reveal(p.inputs)["spec"]["targetRefs"][0]["name"]: reveal(p.inputs)["spec"]
        for p in run.by_type("kubernetes:gateway.kgateway.dev/v1alpha1:TrafficPolicy")
    }
    assert all("apiKeyAuth" in policies[name] and "rateLimit" in policies[name] for name in ("orders", billing))
    # status's policy is the body limit of every Sync route on v2.2+ and, since a found function is routed for
    # Lambda's 900 s (911s), the stream idle timeout past Envoy's 5 minutes: nothing that asks who calls.
    assert set(policies["status"]) == {"targetRefs", "buffer", "timeouts"}
    assert policies["status"]["timeouts"] == {"streamIdle": "911s"}
    assert reveal(run.outputs["discovered"])["status"] == {"arn": f"{arn}status", "path": "/status", "protected": False}
    # Nothing found: the stack routes nothing (and says so) rather than failing every `up`.
    empty = plan("discovered")
    assert not [r for r in empty.resources if not r.type.startswith("pulumi:")]
    assert any("carries 'kgateway-lambda/route'" in line and "routes nothing" in line for line in empty.logs)


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


# --- protection: every route the stack makes, found or listed, gets the stack-wide protection ---------------------

PROTECTION = {"apiKeys": {"clients": ["web"]}, "rateLimit": {"requestsPerSecond": 5}}


def protected_discovery(**discover: Any) -> dict[str, str]:
    return {**discovery_config(**discover), "kgateway-lambda:protection": json.dumps(PROTECTION)}


def policy_of(deployment: MotoDeployment, route: str) -> dict[str, Any] | None:
    """The TrafficPolicy whose target is the HTTPRoute `route`, as the cluster holds it."""
    for policy in deployment.cluster.of_kind("TrafficPolicy").values():
        if [ref["name"] for ref in policy["spec"]["targetRefs"]] == [route]:
            return policy
    return None


def test_a_found_function_under_a_protected_stack_needs_the_stacks_key(aws: boto3.Session) -> None:
    """A function tagged `/echo/admin` under a stack protected with apiKeys: its route (the longer prefix wins) gets
    the TrafficPolicy with the stack's clients; the key in its Secret is the one `api_keys` gives the user."""
    account = Account(aws)
    account.function("admin", **{TAG: "/echo/admin"})
    deployment = MotoDeployment(aws)
    run = deployment.up(protected_discovery())
    assert routes(deployment) == {"admin": "/echo/admin"}
    policy = policy_of(deployment, "admin")
    assert policy is not None, "the found function's route is served with no TrafficPolicy: open to anyone"
    assert policy["spec"]["targetRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "name": "admin"}
    ]
    assert policy["spec"]["rateLimit"]["local"]["tokenBucket"]["maxTokens"] == 5
    keys = reveal(run.outputs["api_keys"])["admin"]
    assert set(keys) == {"web"}
    secret = deployment.cluster.of_kind("Secret")[
        ("kgateway-system", policy["spec"]["apiKeyAuth"]["secretRef"]["name"])
    ]
    assert {base64.b64decode(v).decode() for v in secret["data"].values()} == {keys["web"]}
    # `verify` expects the refusal without a key on the found route, as on a listed one.
    (check,) = reveal(run.outputs["verify"])
    assert check["route"] == "admin" and check["protection"]["keySources"] == [["header", "api-key"]]


def test_found_routes_carry_the_stack_wide_protection_whatever_their_tag_says() -> None:
    found = {f"{ARN}admin": {TAG: "/echo/admin"}, f"{ARN}plain": {TAG: ""}, f"{ARN}sneaky": {TAG: "protection={}"}}
    # A tag value is a path or nothing; one that tries to carry settings is no path, and its function is skipped.
    result = found_with(found, protection=json.dumps(PROTECTION))
    assert "sneaky" not in {t.function.name for t in result.targets}
    del found[f"{ARN}sneaky"]
    targets, _ = settings_with(found, protection=json.dumps(PROTECTION))
    for target in targets:
        (route,) = target.routes
        assert route.protection is not None, f"{route.name} is served open"
        assert route.protection["api_keys"]["clients"] == ["web"]
        assert route.protection["rate_limit"] == {"requests_per_second": 5}
    # Without a stack-wide protection a found route is open, as a listed one is.
    open_targets, open_settings = settings_with(found)
    assert [t.routes[0].protection for t in open_targets] == [None, None]
    (warning,) = open_settings.warnings  # allowed, never silent
    assert "no `protection`, so every found route is open to anyone" in warning and TAG in warning
    _, protected_settings = settings_with(found, protection=json.dumps(PROTECTION))
    assert protected_settings.warnings == ()


def test_only_the_stack_config_opts_a_found_function_out_and_only_on_the_path_it_names() -> None:
    discover = json.dumps({"tag": TAG, "unprotected": {"status": "/status"}})
    found = {f"{ARN}status": {TAG: "/status"}, f"{ARN}orders": {TAG: "/status-page"}}
    result = found_with(found, discover=discover, protection=json.dumps(PROTECTION))
    by_name = {t.function.name: t.routes[0] for t in result.targets}
    assert by_name["status"].protection is None
    assert by_name["status"].origins["protection"] == ("kgateway-lambda:discover.unprotected.status", "/status")
    assert by_name["orders"].protection is not None
    assert result.routes()["status"]["protected"] is False and result.routes()["orders"]["protected"] is True
    # The same function tagged onto another path (whoever may tag it chose that) keeps the protection.
    moved = found_with({f"{ARN}status": {TAG: "/echo/admin"}}, discover=discover, protection=json.dumps(PROTECTION))
    (target,) = moved.targets
    assert target.routes[0].protection is not None
    (warning,) = moved.warnings
    assert (
        "discover.unprotected.status = '/status'" in warning and "served there with the stack's protection" in warning
    )


@pytest.mark.parametrize(
    ("unprotected", "key", "words"),
    [
        ({"bad name!": "/x"}, "discover.unprotected.bad name!", "AWS Lambda's rule"),
        ({"status": "status"}, "discover.unprotected.status", "absolute path"),
        ({"status": None}, "discover.unprotected.status", "must be a string"),
        (["status"], "discover.unprotected", "must map function names"),
    ],
)
def test_the_opt_out_is_checked_before_anything(unprotected: Any, key: str, words: str) -> None:
    discover = json.dumps({"tag": TAG, "unprotected": unprotected})
    with pytest.raises(ConfigError) as failure:
        load_settings(MappingConfigSource({"aws:region": "us-east-1", "discover": discover}))
    (problem,) = failure.value.problems
    assert problem.name == f"kgateway-lambda:{key}"
    assert words in problem.allowed


def test_with_no_functions_of_its_own_the_stack_wide_protection_is_still_checked() -> None:
    """With `functions: []` no configured route reads `protection`; discovery does, so a bad one is refused."""
    with pytest.raises(ConfigError) as failure:
        load_settings(
            MappingConfigSource(
                {
                    "aws:region": "us-east-1",
                    "functions": "[]",
                    "discover": json.dumps({"tag": TAG}),
                    "protection": json.dumps({"rateLimit": {"requestsPerSecond": 0}}),
                }
            )
        )
    assert [p.name for p in failure.value.problems] == ["kgateway-lambda:protection.rateLimit.requestsPerSecond"]


# --- discovery as an input a team reviews -------------------------------------------------------------------------


def discovery_lines(run: ProgramRun) -> list[str]:
    return [line for line in run.logs if "kgateway-lambda:discover: " in line]


def test_the_preview_lists_the_routes_discovery_adds_moves_and_removes(
    aws: boto3.Session, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # the rig keeps the root's level (warnings); the CLI shows info lines too
    account = Account(aws)
    account.function("orders", **{TAG: "/orders"})
    late = account.function("late")
    deployment = MotoDeployment(aws)
    config = protected_discovery()
    first = deployment.up(config)
    assert discovery_lines(first) == [
        "info: kgateway-lambda:discover: adds the route of orders on /orders (with the stack's protection)"
    ]
    account.lambda_.tag_resource(Resource=late, Tags={TAG: "/late"})
    account.lambda_.tag_resource(Resource=account.lambda_.get_function(FunctionName="orders")["Configuration"]
                                 ["FunctionArn"], Tags={TAG: "/v2/orders"})  # fmt: skip
    preview = deployment.preview(config)
    assert discovery_lines(preview) == [
        "info: kgateway-lambda:discover: adds the route of late on /late (with the stack's protection)",
        "info: kgateway-lambda:discover: moves the route of orders from /orders to /v2/orders",
    ]
    assert routes(deployment) == {"orders": "/orders"}  # a preview changes nothing
    deployment.up(config)
    account.lambda_.untag_resource(Resource=late, TagKeys=[TAG])
    removing = deployment.preview(config)
    assert discovery_lines(removing) == ["info: kgateway-lambda:discover: removes the route of late on /late"]
    assert set(reveal(removing.outputs["discovered"])) == {"orders"}
    assert deployment.up(config).outputs and routes(deployment) == {"orders": "/v2/orders"}
    assert discovery_lines(deployment.up(config)) == []  # no change: nothing to review


class LaggingTagging:
    """A tagging API whose tag-filtered answers leave out some ARNs (a partial or lagging answer); asked by ARN it
    answers truly. Every request is kept, as the harness keeps them."""

    def __init__(self, deployment: MotoDeployment, left_out: set[str]) -> None:
        self.left_out = left_out
        self.page = deployment.aws.tagging_page
        deployment.aws.tagging_page = self  # type: ignore[method-assign]

    def __call__(self, request: dict[str, Any], token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        found, next_token = self.page(request, token)
        if "TagFilters" in request:
            found = [m for m in found if m["ResourceARN"] not in self.left_out]
        return found, next_token


def test_a_partial_answer_never_removes_a_route_it_did_not_see_gone(aws: boto3.Session) -> None:
    account = Account(aws)
    orders = account.function("orders", **{TAG: "/orders"}, team="a")
    billing = account.function("billing", **{TAG: ""})
    deployment = MotoDeployment(aws)
    config = discovery_config()
    deployment.up(config)
    lagging = LaggingTagging(deployment, {orders, billing})

    # Both left out of the tag-filtered answer: asked by ARN, both still carry the tag: both routes stay.
    run = deployment.up(config)
    assert routes(deployment) == {"orders": "/orders", "billing": "/billing"}
    assert deployment.changes == []
    kept = [line for line in run.logs if "still carries" in line]
    assert len(kept) == 2 and all(line.startswith("warning:") for line in kept)
    asked = [r for r in deployment.aws.tagging_requests if "ResourceARNList" in r]
    assert asked and sorted(asked[-1]["ResourceARNList"]) == sorted([billing, orders])

    # Untagged (orders keeps another tag) and deleted: two answers agree, so both routes go; the stack routes
    # nothing and holds nothing, and the `up` succeeds (it used to fail on every run from here on).
    account.lambda_.untag_resource(Resource=orders, TagKeys=[TAG])
    account.lambda_.delete_function(FunctionName="billing")
    run = deployment.up(config)
    assert routes(deployment) == {}
    assert deployment.deployed == {}, "nothing is held when nothing is routed"
    assert reveal(run.outputs["discovered"]) == {}
    assert any("routes nothing" in line for line in run.logs)
    assert not aws.client("iam").list_users(PathPrefix="/kgateway-lambda/")["Users"]

    # Tagged again: the stack comes back.
    lagging.left_out = set()
    account.lambda_.tag_resource(Resource=orders, Tags={TAG: "/orders"})
    deployment.up(config)
    assert routes(deployment) == {"orders": "/orders"}
    assert invoke_arns(aws) == {f"{orders}:$LATEST"}


def test_an_error_on_a_later_page_fails_the_run_and_removes_nothing(aws: boto3.Session) -> None:
    account = Account(aws)
    account.function("orders", **{TAG: ""})
    account.function("billing", **{TAG: ""})
    deployment = MotoDeployment(aws)
    config = discovery_config()
    deployment.up(config)
    before = dict(deployment.deployed)
    page = deployment.aws.tagging_page

    def throttled(request: dict[str, Any], token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """The first page answers one function and a PaginationToken; the next is refused."""
        if token:
            raise RuntimeError("ThrottlingException: Rate exceeded")
        found, _ = page(request, None)
        return found[:1], "page-2"

    deployment.aws.tagging_page = throttled  # type: ignore[method-assign]
    with pytest.raises(Exception, match="ThrottlingException"):
        deployment.up(config)
    assert set(deployment.deployed) == set(before)
    assert routes(deployment) == {"orders": "/orders", "billing": "/billing"}


def test_a_newly_tagged_function_cannot_take_a_route_another_holds(aws: boto3.Session) -> None:
    account = Account(aws)
    account.function("orders", **{TAG: "/api/orders"})
    deployment = MotoDeployment(aws)
    config = discovery_config()
    deployment.up(config)
    # `aaa` sorts before `orders`: the first by ARN must not win the path.
    account.function("aaa", **{TAG: "/api/orders"})
    run = deployment.up(config)
    assert routes(deployment) == {"orders": "/api/orders"}
    assert deployment.changes == []
    (warning,) = [line for line in run.logs if "function aaa" in line]
    assert "orders keeps it (routed there before)" in warning


# --- tests that fail when the door moves (issue 27): each holds one single-line bug (scripts/mutations.py) --------


def test_the_path_comes_from_the_configured_tag_key_not_the_default_one(aws: boto3.Session) -> None:
    """With `discover.tag: team-a/route`, the default key's value (someone else's route) decides nothing, and a
    function carrying only the default key is not found."""
    account = Account(aws)
    account.function("orders", **{"team-a/route": "/a/orders", TAG: "/echo"})
    account.function("theirs", **{TAG: "/theirs"})
    deployment = MotoDeployment(aws)
    config = dev_config(functions="[]", discover=json.dumps({"tag": "team-a/route"}))
    deployment.up(config)
    assert routes(deployment) == {"orders": "/a/orders"}
    # A partial answer is checked against the configured key too: the default key alone does not keep a route.
    orders = account.lambda_.get_function(FunctionName="orders")["Configuration"]["FunctionArn"]
    account.lambda_.untag_resource(Resource=orders, TagKeys=["team-a/route"])
    deployment.up(config)
    assert routes(deployment) == {}


def test_names_that_collide_after_the_cut_never_share_a_backend() -> None:
    """Two 64-character names alike in their first 60 characters get different Kubernetes names (the hash is of
    the whole name); a function named exactly as another's hashed name cannot take that name (or its route)."""
    first, second = "f" * 60 + "_one", "f" * 60 + "_two"
    result = found_with({f"{ARN}{first}": {TAG: "/one"}, f"{ARN}{second}": {TAG: "/two"}})
    names = {t.function.name: t.backend.name for t in result.targets}
    assert set(names) == {first, second} and len(set(names.values())) == 2
    assert all(len(n) <= 63 for n in names.values())
    victim = "Billing_v2"
    impostor = kubernetes_name(victim)  # a valid function name and DNS label: it keeps its name as it is
    assert impostor != victim and kubernetes_name(impostor) == impostor
    found = {f"{ARN}{victim}": {TAG: "/billing"}, f"{ARN}{impostor}": {TAG: "/impostor"}}
    fresh = found_with(found)
    assert fresh.targets == ()  # neither held the name before: neither gets it
    assert all(f"shares its Kubernetes name {impostor!r}" in w for w in fresh.warnings)
    held = found_with(found, {victim: PreviousRoute(f"{ARN}{victim}", "/billing")})
    assert [(t.function.name, t.backend.name, t.routes[0].path) for t in held.targets] == [
        (victim, impostor, "/billing")
    ]


def test_a_qualified_function_arn_that_is_also_tagged_is_routed_once_at_its_qualifier() -> None:
    """`functionArn: ...:orders:live` and the tag on `orders`: one route, to `live`; not a second at `$LATEST`."""
    entries = json.dumps([{"arn": f"{ARN}orders:live"}])
    result = found_with({f"{ARN}orders": {TAG: "/found"}}, functions=entries, routePath="/orders")
    assert result.targets == () and result.warnings == ()
