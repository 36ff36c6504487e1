"""Many functions and routes: one identity with exactly their ARNs, stable names, ReferenceGrants, clear errors."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from components.kgateway_api import KGATEWAY_VERSIONS
from program.config import ConfigError
from tests.conftest import RunStack
from tests.support.aws_models import attached_documents
from tests.support.fake_aws import ACCOUNT, FakeAwsMocks
from tests.support.kgateway_reference import object_errors
from tests.support.lifecycle import MotoDeployment
from tests.support.moto_account import evaluate
from tools.engine import ProgramRun, reveal, run_program, stack_config

ECHO = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:echo"
HELLO = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:hello"


def run_multi(**changes: Any) -> ProgramRun:
    config, secret_keys = stack_config("multi")
    for key, value in changes.items():
        config[f"kgateway-lambda:{key}"] = json.dumps(value)
    return run_program(FakeAwsMocks(region="eu-west-1"), config, secret_keys, stack="multi")


def by_name(run: ProgramRun, type_: str) -> dict[str, dict[str, Any]]:
    return {r.inputs["metadata"]["name"]: reveal(r.inputs) for r in run.by_type(type_)}


def test_one_identity_invokes_exactly_the_routed_functions() -> None:
    run = run_multi()
    (policy,) = [json.loads(r.inputs["policy"]) for r in run.by_type("aws:iam/policy:Policy")]
    assert policy["Statement"][0]["Resource"] == [f"{ECHO}:live", f"{HELLO}:$LATEST"]
    assert len(run.by_type("aws:iam/user:User")) == 1
    assert len(run.by_type("kubernetes:core/v1:Secret")) == 1
    backends = by_name(run, "kubernetes:gateway.kgateway.dev/v1alpha1:Backend")
    assert {name: b["spec"]["aws"]["auth"]["secretRef"]["name"] for name, b in backends.items()} == {
        "echo": "aws-creds",
        "hello": "aws-creds",
    }
    assert backends["echo"]["spec"]["aws"]["lambda"]["qualifier"] == "live"
    functions = {r.inputs["name"]: r.inputs for r in run.by_type("aws:lambda/function:Function")}
    assert functions["hello"]["memorySize"] == 256
    assert functions["echo"]["memorySize"] == 128  # the stack-wide default


def test_routes_carry_matches_methods_headers_hostnames_and_grants() -> None:
    run = run_multi()
    routes = by_name(run, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    assert set(routes) == {"echo-echo-a04831", "echo-echo-get-a101de", "hello"}
    get_rule = routes["echo-echo-get-a101de"]["spec"]["rules"][0]
    assert get_rule["matches"] == [{"path": {"type": "Exact", "value": "/echo-get"}, "method": "GET"}]
    hello = routes["hello"]
    assert hello["metadata"]["namespace"] == "team-a"
    assert hello["spec"]["hostnames"] == ["api.example.com"]
    assert hello["spec"]["rules"][0]["matches"][0]["headers"] == [
        {"type": "Exact", "name": "x-team", "value": "platform"}
    ]
    assert hello["spec"]["rules"][0]["backendRefs"] == [
        {"group": "gateway.kgateway.dev", "kind": "Backend", "name": "hello", "namespace": "kgateway-system"}
    ]
    (grant,) = [reveal(r.inputs) for r in run.by_type("kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant")]
    assert grant["metadata"]["namespace"] == "kgateway-system"
    assert grant["spec"] == {
        "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "team-a"}],
        "to": [{"group": "gateway.kgateway.dev", "kind": "Backend", "name": "hello"}],
    }
    grant_urn = run.one("kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant").urn
    hello_route = next(
        r for r in run.by_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute") if r.name == "team-a/hello"
    )
    assert grant_urn in hello_route.dependencies
    assert run.outputs["routes"] == {
        "echo-echo-a04831": "http://203.0.113.10:8080/echo",
        "echo-echo-get-a101de": "http://203.0.113.10:8080/echo-get",
        "hello": "http://203.0.113.10:8080/hello",
    }
    assert run.outputs["functions"] == {"echo": ECHO, "hello": HELLO}


def test_names_are_stable_across_runs_and_order() -> None:
    first = set(by_name(run_multi(), "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"))
    config, _ = stack_config("multi")
    routes = json.loads(config["kgateway-lambda:routes"])
    reordered = set(
        by_name(run_multi(routes=list(reversed(routes))), "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    )
    assert first == reordered


@pytest.mark.parametrize("version", list(KGATEWAY_VERSIONS))
def test_every_object_validates_against_its_crd(version: str) -> None:
    config, secret_keys = stack_config("multi")
    config["kgateway-lambda:kgatewayVersion"] = version
    run = run_program(FakeAwsMocks(region="eu-west-1"), config, secret_keys, stack="multi")
    checked = 0
    for type_ in (
        "kubernetes:gateway.kgateway.dev/v1alpha1:Backend",
        "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute",
        "kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant",
    ):
        for resource in run.by_type(type_):
            assert object_errors(reveal(resource.inputs), version) == [], resource.name
            checked += 1
    assert checked >= 6


BAD = [
    (
        {"functions": [{"name": "echo"}, {"name": "echo"}]},
        "functions[1].name = 'echo': gives the function name 'echo', as functions[0].name ('echo') does",
    ),
    ({"functions": [{"source": "echo"}]}, "functions[0].name = (unset): is required"),
    ({"functions": [{"name": "echo", "memory": 1}]}, "functions[0] = ['memory']: has unknown fields"),
    ({"routes": [{"function": "nope", "path": "/x"}]}, "routes[0].function = 'nope': must be one of the functions"),
    ({"routes": [{"path": "/x"}]}, "routes[0].function = (unset): must name the routed function"),
    ({"routes": [{"function": "echo", "path": "/a"}, {"function": "hello", "path": "/a"}]}, "is routed twice"),
    ({"routes": [{"function": "echo", "path": "/a", "methods": ["FETCH"]}]}, "routes[0].methods = 'FETCH'"),
    ({"routes": [{"function": "echo", "path": "/a", "match": "Prefix"}]}, "routes[0].match = 'Prefix'"),
    ({"routes": [{"function": "echo", "path": "/a", "namespace": "Team_A"}]}, "routes[0].namespace = 'Team_A'"),
    ({"routes": [{"function": "echo", "path": "no-slash"}]}, "routes[0].path = 'no-slash'"),
    (
        {"routes": [{"function": "echo", "path": "(", "match": "RegularExpression"}]},
        "must be an RE2 regular expression",
    ),
    ({"functions": "echo"}, "kgateway-lambda:functions = 'echo': must be a list"),
]


@pytest.mark.parametrize(("changes", "message"), BAD, ids=[m[:30] for _, m in BAD])
def test_bad_lists_are_refused_before_anything_is_created(changes: dict[str, Any], message: str) -> None:
    config, secret_keys = stack_config("multi")
    for key, value in changes.items():
        config[f"kgateway-lambda:{key}"] = json.dumps(value) if not isinstance(value, str) else value
    mocks = FakeAwsMocks(region="eu-west-1")
    with pytest.raises(ConfigError) as error:
        run_program(mocks, config, secret_keys, stack="multi")
    assert message in str(error.value)
    assert mocks.counter == 0


def test_many_functions_deploy_into_moto_with_one_invoke_only_key(aws: boto3.Session) -> None:
    config, secret_keys = stack_config("multi")
    config["aws:region"] = "us-east-1"
    deployment = MotoDeployment(aws)
    run = deployment.up(config, secret_keys, stack="multi")
    iam = aws.client("iam")
    (user,) = iam.list_users(PathPrefix="/kgateway-lambda/")["Users"]
    (stored,) = attached_documents(iam, user=user["UserName"])
    document = json.dumps(stored)
    arns = run.outputs["functions"]
    assert evaluate(document, "lambda:InvokeFunction", f"{arns['echo']}:live")
    assert evaluate(document, "lambda:InvokeFunction", f"{arns['hello']}:$LATEST")  # what its Backend invokes
    assert not evaluate(document, "lambda:InvokeFunction", f"{arns['hello']}:live")
    deployment.destroy()
    assert iam.list_users()["Users"] == [] and aws.client("lambda").list_functions()["Functions"] == []


def test_created_gateway_allows_routes_from_exactly_their_namespaces() -> None:
    run = run_multi(createGateway=True)
    gateway = run.one("kubernetes:gateway.networking.k8s.io/v1:Gateway").inputs
    assert gateway["spec"]["listeners"][0]["allowedRoutes"] == {
        "namespaces": {
            "from": "Selector",
            "selector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["kgateway-system", "team-a"]}
                ]
            },
        }
    }
    for version in KGATEWAY_VERSIONS:
        assert object_errors(reveal(gateway), version) == [], version


def test_a_function_without_routes_gets_a_backend_and_no_route() -> None:
    run = run_multi(routes=[{"function": "hello", "path": "/hello"}])
    backends = by_name(run, "kubernetes:gateway.kgateway.dev/v1alpha1:Backend")
    routes = by_name(run, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    assert set(backends) == {"echo", "hello"} and set(routes) == {"hello"}
    assert run.outputs["echo_url"] == "http://203.0.113.10:8080/hello"  # the first route there is


def test_route_names_do_not_depend_on_the_order_of_methods() -> None:
    def names(methods: list[str]) -> set[str]:
        routes = [{"function": "echo", "path": "/a", "methods": methods}, {"function": "echo", "path": "/b"}]
        return set(by_name(run_multi(routes=routes), "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"))

    assert names(["GET", "POST"]) == names(["POST", "GET"])


ORDERS_ARN = "arn:aws:lambda:eu-central-1:210987654321:function:orders"


def test_an_existing_function_is_routed_without_creating_it(run_stack: RunStack) -> None:
    run = run_stack({"functionArn": ORDERS_ARN, "functionName": "orders", "routePath": "/orders"})
    assert not run.by_type("aws:lambda/function:Function")
    assert not run.by_type("aws:iam/role:Role") and not run.by_type("aws:cloudwatch/logGroup:LogGroup")
    backend = reveal(run.one("kubernetes:gateway.kgateway.dev/v1alpha1:Backend").inputs)
    assert backend["metadata"]["name"] == "orders"
    assert backend["spec"]["aws"]["region"] == "eu-central-1"  # the function's, not the provider's
    assert backend["spec"]["aws"]["lambda"]["functionName"] == "orders"
    assert backend["spec"]["aws"]["lambda"]["accountId"] == "210987654321"
    policy = json.loads(run.one("aws:iam/policy:Policy").inputs["policy"])
    assert policy["Statement"][0]["Resource"] == [f"{ORDERS_ARN}:$LATEST"]
    assert run.outputs["function_arn"] == ORDERS_ARN and run.outputs["role_arn"] is None
    assert run.outputs["verify"][0]["expect"] == "status"


def test_existing_and_created_functions_share_one_exact_identity() -> None:
    functions = [{"name": "echo"}, {"arn": ORDERS_ARN, "qualifier": "7"}]
    run = run_multi(
        functions=functions, routes=[{"function": "echo", "path": "/e"}, {"function": "orders", "path": "/o"}]
    )
    assert [reveal(f.inputs)["name"] for f in run.by_type("aws:lambda/function:Function")] == ["echo"]
    policy = json.loads(run.one("aws:iam/policy:Policy").inputs["policy"])
    echo_arn = "arn:aws:lambda:eu-west-1:123456789012:function:echo"
    assert policy["Statement"][0]["Resource"] == sorted([f"{echo_arn}:$LATEST", f"{ORDERS_ARN}:7"])


def test_a_bad_existing_function_is_refused_with_its_key(run_stack: RunStack) -> None:
    with pytest.raises(ConfigError) as failure:
        run_stack({"functionArn": "arn:aws:lambda:eu-central-1:2109:function:orders", "alias": "live"})
    text = str(failure.value)
    assert "kgateway-lambda:functionArn = 'arn:aws:lambda:eu-central-1:2109:function:orders': must be the ARN" in text
    assert "kgateway-lambda:alias = 'live': is only for functions this stack creates" in text
    # `echo` is Pulumi.yaml's default, which the CLI always hands over: with an ARN it counts as unset (issue 17).
    with pytest.raises(ConfigError, match=r"functionName = 'billing': must be the name in the ARN \(orders\)"):
        run_stack({"functionArn": ORDERS_ARN, "functionName": "billing"})


def test_a_shared_execution_role_is_one_role_for_every_created_function() -> None:
    run = run_multi(sharedExecutionRole=True)
    (role,) = run.by_type("aws:iam/role:Role")
    (attachment,) = run.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")  # its functions' log groups
    assert role.name == "functions-role" and attachment.inputs["role"] == role.state["name"]
    (logs,) = [p for p in run.by_type("aws:iam/policy:Policy") if p.name.startswith("functions-logs")]
    resources = json.loads(reveal(logs.inputs)["policy"])["Statement"][0]["Resource"]
    assert sorted(r.split(":log-group:")[1] for r in resources) == ["/aws/lambda/echo:*", "/aws/lambda/hello:*"]
    functions = run.by_type("aws:lambda/function:Function")
    assert len(functions) == 2
    assert {f.inputs["role"] for f in functions} == {role.state["arn"]}
    assert run.outputs["role_arn"] == role.state["arn"]
    separate = run_multi()
    assert len(separate.by_type("aws:iam/role:Role")) == 2  # the default: a role per function


def test_a_shared_execution_role_is_not_made_when_no_function_is_created(run_stack: RunStack) -> None:
    run = run_stack({"sharedExecutionRole": "true", "functionArn": ECHO})
    assert run.by_type("aws:iam/role:Role") == []
    with pytest.raises(ConfigError, match=r"sharedExecutionRole = 'yes': must be true or false"):
        run_stack({"sharedExecutionRole": "yes"})


def test_a_shared_execution_role_deploys_and_goes_away_in_moto(aws: boto3.Session) -> None:
    config, secret_keys = stack_config("multi")
    config.update({"aws:region": "us-east-1", "kgateway-lambda:sharedExecutionRole": "true"})
    deployment = MotoDeployment(aws)
    deployment.up(config, secret_keys, stack="multi")
    iam, lambda_ = aws.client("iam"), aws.client("lambda")
    (role,) = [r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("functions-role-")]
    assert {f["Role"] for f in lambda_.list_functions()["Functions"]} == {role["Arn"]}
    deployment.destroy()  # the functions go before the role they run as; the attachment before the role
    assert iam.list_roles()["Roles"] == [] and lambda_.list_functions()["Functions"] == []


def test_turning_the_shared_execution_role_on_and_off_moves_no_function(aws: boto3.Session) -> None:
    """The next `pulumi up` after the config change: functions are updated onto the new role, never replaced, and
    the roles no longer used go after them; auto-named roles cannot collide."""
    config, secret_keys = stack_config("multi")
    config["aws:region"] = "us-east-1"
    deployment = MotoDeployment(aws)
    iam, lambda_ = aws.client("iam"), aws.client("lambda")

    def roles_of_functions() -> set[str]:
        return {f["Role"] for f in lambda_.list_functions()["Functions"]}

    deployment.up(config, secret_keys, stack="multi")
    assert len(roles_of_functions()) == 2
    for shared in ("true", "false"):
        deployment.up({**config, "kgateway-lambda:sharedExecutionRole": shared}, secret_keys, stack="multi")
        function_changes = {op for op, key in deployment.changes if key[0] == "aws:lambda/function:Function"}
        assert function_changes == {"update"}, deployment.changes
        in_use = roles_of_functions()
        assert len(in_use) == (1 if shared == "true" else 2)
        assert {r["Arn"] for r in iam.list_roles()["Roles"]} == in_use  # the old roles are gone
    deployment.destroy()
    assert iam.list_roles()["Roles"] == []
