"""The real program and its components on Pulumi's mock engine: resources, inputs, parents, order, outputs."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws
import pytest

from components import (
    CredentialsMode,
    GatewayCredentials,
    KgatewayRelease,
    LambdaBackend,
    LambdaFunction,
    LambdaFunctionArgs,
    LambdaGatewayRoute,
)
from program.crd_validation import schema_errors
from tests.conftest import RunStack
from tests.support.fake_aws import ACCOUNT, FakeAwsMocks
from tests.support.kgateway_reference import require_crds
from tools.engine import Program, ProgramRun, is_secret_value, reveal, run_program, stack_config

FUNCTION_ARN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:echo"
BACKEND = "kubernetes:gateway.kgateway.dev/v1alpha1:Backend"


def parent_of(run: ProgramRun, type_: str) -> str:
    parent = run.by_urn(run.one(type_).parent_urn)
    assert parent is not None
    return parent.type


def depends_on(run: ProgramRun, type_: str, other: str) -> bool:
    return run.one(other).urn in run.one(type_).dependencies


def test_function_role_and_log_group(run_stack: RunStack) -> None:
    run = run_stack()
    function = reveal(run.one("aws:lambda/function:Function").inputs)
    assert function["name"] == "echo"
    assert function["runtime"] == "nodejs24.x"
    assert function["handler"] == "index.handler"
    assert function["architectures"] == ["arm64"]
    assert function["memorySize"] == 128
    assert function["timeout"] == 10
    assert function["role"] == "arn:aws:iam::123456789012:role/echo-role-0000001"
    assert function["loggingConfig"]["logGroup"] == "/aws/lambda/echo"
    assert len(function["sourceCodeHash"]) == 44

    log_group = run.one("aws:cloudwatch/logGroup:LogGroup").inputs
    assert log_group["name"] == "/aws/lambda/echo"
    assert log_group["retentionInDays"] == 14
    # The log group exists before the function, so it never makes its own group; the function waits for its role
    # too, and for nothing else (the logging permission is attached in parallel: issue 11's critical path).
    assert {run.by_urn(d).type for d in run.one("aws:lambda/function:Function").dependencies} == {  # type: ignore[union-attr]
        "aws:cloudwatch/logGroup:LogGroup",
        "aws:iam/role:Role",
    }

    trust = json.loads(run.one("aws:iam/role:Role").inputs["assumeRolePolicy"])
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]
    # Its own log group's streams, nothing else (no AWSLambdaBasicExecutionRole: logs on `*`, issue 21).
    assert run.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == []
    logs = json.loads(reveal(run.one("aws:iam/rolePolicy:RolePolicy").inputs)["policy"])
    (statement,) = logs["Statement"]
    assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert [r.split(":log-group:")[1] for r in statement["Resource"]] == ["/aws/lambda/echo:*"]


def test_function_knobs_reach_aws(run_stack: RunStack) -> None:
    run = run_stack(
        {
            "functionName": "My_Echo-2",
            "architecture": "x86_64",
            "memorySize": "512",
            "timeout": "30",
            "logRetentionDays": "90",
            "runtime": "nodejs22.x",
        }
    )
    function = run.one("aws:lambda/function:Function").inputs
    assert (
        function["name"],
        function["architectures"],
        function["memorySize"],
        function["timeout"],
    ) == (
        "My_Echo-2",
        ["x86_64"],
        512,
        30,
    )
    assert function["runtime"] == "nodejs22.x"
    assert run.one("aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == 90
    # Kubernetes names derived from an AWS name are valid DNS labels.
    assert run.one("kubernetes:gateway.kgateway.dev/v1alpha1:Backend").inputs["metadata"]["name"] == "my-echo-2"


def test_generated_credentials_invoke_only_exact_arns(run_stack: RunStack) -> None:
    run = run_stack()
    policy = json.loads(run.one("aws:iam/policy:Policy").inputs["policy"])
    assert policy["Statement"] == [
        {
            "Sid": "InvokeRoutedFunctions",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": [f"{FUNCTION_ARN}:$LATEST"],  # exactly the ARN the Backend invokes
        }
    ]
    secret = run.one("kubernetes:core/v1:Secret").inputs
    assert secret["metadata"]["name"] == "aws-creds"
    assert secret["metadata"]["namespace"] == "kgateway-system"
    assert secret["type"] == "Opaque"
    assert is_secret_value(secret["stringData"])
    data = reveal(secret["stringData"])
    assert set(data) == {"accessKey", "secretKey"}
    assert data["accessKey"].startswith("AKIAFAKE")
    assert data["secretKey"].startswith("fake-secret-")
    # The Secret is written only after the key exists; the key waits for its user alone.
    assert depends_on(run, "kubernetes:core/v1:Secret", "aws:iam/accessKey:AccessKey")
    assert run.one("aws:iam/accessKey:AccessKey").dependencies == [run.one("aws:iam/user:User").urn]


def test_qualifier_is_in_the_policy_and_the_backend(run_stack: RunStack) -> None:
    run = run_stack({"qualifier": "live"})
    policy = json.loads(run.one("aws:iam/policy:Policy").inputs["policy"])
    assert policy["Statement"][0]["Resource"] == [f"{FUNCTION_ARN}:live"]
    spec = run.one("kubernetes:gateway.kgateway.dev/v1alpha1:Backend").inputs["spec"]
    assert spec["aws"]["lambda"]["qualifier"] == "live"


def test_provided_credentials_stay_secret(run_stack: RunStack) -> None:
    run = run_stack(
        {"credentialsMode": "provided"},
        secrets={
            "accessKeyId": "AKIAPROVIDED0000001",
            "secretAccessKey": "provided-secret-key",
        },
    )
    assert not run.by_type("aws:iam/user:User")
    assert not run.by_type("aws:iam/accessKey:AccessKey")
    secret = run.one("kubernetes:core/v1:Secret").inputs
    assert is_secret_value(secret["stringData"])
    assert reveal(secret["stringData"]) == {
        "accessKey": "AKIAPROVIDED0000001",
        "secretKey": "provided-secret-key",
    }


def test_backend_and_route_for_the_guide(run_stack: RunStack) -> None:
    run = run_stack()
    backend = run.one("kubernetes:gateway.kgateway.dev/v1alpha1:Backend").inputs
    assert backend["apiVersion"] == "gateway.kgateway.dev/v1alpha1"
    assert backend["kind"] == "Backend"
    assert backend["spec"] == {
        "aws": {
            "region": "us-east-1",
            "auth": {"type": "Secret", "secretRef": {"name": "aws-creds"}},
            "lambda": {
                "functionName": "echo",
                "accountId": ACCOUNT,
                "invocationMode": "Sync",
                "payloadTransformMode": "None",
            },
        }
    }
    route = run.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute").inputs
    assert route["spec"] == {
        "parentRefs": [{"name": "http", "namespace": "kgateway-system"}],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/echo"}}],
                "backendRefs": [{"group": "gateway.kgateway.dev", "kind": "Backend", "name": "echo"}],
                # The function's 10 s, a cold start's 10 s Init phase and a second (Sync).
                "timeouts": {"request": "21s"},
            }
        ],
    }


def test_configured_account_id_wins_over_the_callers(run_stack: RunStack) -> None:
    run = run_stack({"accountId": "210987654321"})
    spec = run.one("kubernetes:gateway.kgateway.dev/v1alpha1:Backend").inputs["spec"]
    assert spec["aws"]["lambda"]["accountId"] == "210987654321"


def test_every_resource_is_parented_by_its_component(run_stack: RunStack) -> None:
    run = run_stack()
    assert parent_of(run, "aws:lambda/function:Function") == "kgateway-lambda:index:LambdaFunction"
    assert parent_of(run, "aws:iam/role:Role") == "kgateway-lambda:index:LambdaFunction"
    assert parent_of(run, "aws:cloudwatch/logGroup:LogGroup") == "kgateway-lambda:index:LambdaFunction"
    assert parent_of(run, "aws:iam/user:User") == "kgateway-lambda:index:GatewayCredentials"
    assert parent_of(run, "kubernetes:core/v1:Secret") == "kgateway-lambda:index:GatewayCredentials"
    assert parent_of(run, "kubernetes:gateway.kgateway.dev/v1alpha1:Backend") == "kgateway-lambda:index:LambdaBackend"
    assert parent_of(run, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute") == "kgateway-lambda:index:LambdaRoute"
    assert parent_of(run, "kgateway-lambda:index:LambdaFunction") == "kgateway-lambda:index:LambdaGatewayRoute"
    # The identity is the stack's (one for every function), so adding or renaming a function never moves it.
    assert run.one("kgateway-lambda:index:GatewayCredentials").parent_urn.endswith(
        "pulumi:pulumi:Stack::kgateway-lambda-dev"
    )
    for component in ("LambdaBackend", "LambdaRoute"):
        assert parent_of(run, f"kgateway-lambda:index:{component}") == "kgateway-lambda:index:LambdaGatewayRoute"


def test_stack_outputs(run_stack: RunStack) -> None:
    run = run_stack()
    assert run.outputs == {
        "gateway_url": "http://203.0.113.10:8080",
        "echo_url": "http://203.0.113.10:8080/echo",
        "curl_command": "curl -i -X POST http://203.0.113.10:8080/echo -H 'content-type: application/json' "
        """-d '{"key1":"value1","key2":"value2"}'""",
        "function_name": "echo",
        "function_arn": FUNCTION_ARN,
        "role_arn": "arn:aws:iam::123456789012:role/echo-role-0000001",
        "backend_name": "echo",
        "route_name": "echo",
        "secret_name": "aws-creds",
        "region": "us-east-1",
        "verify": [
            {
                "route": "echo",
                "url": "http://203.0.113.10:8080/echo",
                "expect": "guide",
                "host": None,
                "method": "POST",
                "function": "echo",
            }
        ],
    }
    assert run.secret_outputs == set()
    assert "fake-secret" not in json.dumps(run.outputs)
    gateway = run.one("kubernetes:gateway.networking.k8s.io/v1:Gateway")
    assert gateway.read_id == "kgateway-system/http"


def test_gateway_url_follows_the_listener_and_address(run_stack: RunStack) -> None:
    https = FakeAwsMocks(
        gateway={
            "spec": {
                "listeners": [
                    {"name": "http", "port": 80, "protocol": "HTTP"},
                    {"name": "https", "port": 8443, "protocol": "HTTPS"},
                ]
            },
            "status": {"addresses": [{"type": "Hostname", "value": "gw.example.com"}]},
        }
    )
    assert run_stack({"gatewayListener": "https"}, mocks=https).outputs["gateway_url"] == "https://gw.example.com:8443"
    assert run_stack(mocks=https).outputs["gateway_url"] == "http://gw.example.com"
    pending = FakeAwsMocks(gateway={"spec": {"listeners": [{"name": "http", "port": 8080, "protocol": "HTTP"}]}})
    outputs = run_stack(mocks=pending).outputs
    assert outputs["gateway_url"].startswith("(no address yet: Gateway kgateway-system/http")
    assert "kubectl port-forward" in outputs["curl_command"]


def test_gateway_url_override_skips_the_cluster_read(run_stack: RunStack) -> None:
    run = run_stack({"gatewayUrl": "http://localhost:8080"})
    assert run.outputs["echo_url"] == "http://localhost:8080/echo"
    assert not run.by_type("kubernetes:gateway.networking.k8s.io/v1:Gateway")


def test_provided_session_token_is_warned_about_and_kept_secret(run_stack: RunStack) -> None:
    run = run_stack(
        {"credentialsMode": "provided"},
        secrets={"accessKeyId": "AKIATEMPORARY00001", "secretAccessKey": "temp-secret", "sessionToken": "temp-token"},
    )
    assert any("never refreshes" in line and line.startswith("warning:") for line in run.logs)
    assert reveal(run.one("kubernetes:core/v1:Secret").inputs["stringData"])["sessionToken"] == "temp-token"
    assert "temp-token" not in "\n".join(run.logs) + json.dumps(run.outputs)


def test_readiness_annotations_follow_the_version_and_the_switch(run_stack: RunStack) -> None:
    run = run_stack()
    route = run.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute").inputs["metadata"]["annotations"]
    # Only conditions written for the route's current generation count (components/readiness.py).
    assert json.loads(route["pulumi.com/waitFor"]) == [
        'jsonpath={.status.parents[0].conditions[?@.type=="Accepted" && '
        "@.observedGeneration==$.metadata.generation].status}=True",
        'jsonpath={.status.parents[0].conditions[?@.type=="ResolvedRefs" && '
        "@.observedGeneration==$.metadata.generation].status}=True",
    ]
    backend = run.one("kubernetes:gateway.kgateway.dev/v1alpha1:Backend").inputs["metadata"]["annotations"]
    assert backend == {"pulumi.com/waitFor": "condition=Accepted"}

    old = run_stack({"kgatewayVersion": "v2.0"}).one("kubernetes:gateway.kgateway.dev/v1alpha1:Backend")
    assert "annotations" not in old.inputs["metadata"]  # v2.0 does not report Accepted on Backends

    off = run_stack({"waitForAcceptance": "false"})
    for kind in ("gateway.kgateway.dev/v1alpha1:Backend", "gateway.networking.k8s.io/v1:HTTPRoute"):
        assert off.one(f"kubernetes:{kind}").inputs["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}


def test_alias_publishes_a_version_and_is_what_kgateway_invokes(run_stack: RunStack) -> None:
    run = run_stack({"alias": "live"})
    assert run.one("aws:lambda/function:Function").inputs["publish"] is True
    alias = run.one("aws:lambda/alias:Alias").inputs
    assert (alias["name"], alias["functionName"]) == ("live", "echo")
    assert "functionVersion" in alias
    spec = run.one("kubernetes:gateway.kgateway.dev/v1alpha1:Backend").inputs["spec"]
    assert spec["aws"]["lambda"]["qualifier"] == "live"
    policy = json.loads(run.one("aws:iam/policy:Policy").inputs["policy"])
    assert policy["Statement"][0]["Resource"] == [f"{FUNCTION_ARN}:live"]
    # The alias's name is known from config: the Backend does not wait for the alias (nor the function).
    assert not depends_on(run, "kubernetes:gateway.kgateway.dev/v1alpha1:Backend", "aws:lambda/alias:Alias")


def test_create_gateway_makes_the_guides_gateway_and_routes_wait_for_it(run_stack: RunStack) -> None:
    run = run_stack({"createGateway": "true", "gatewayPort": "9080"})
    gateways = run.by_type("kubernetes:gateway.networking.k8s.io/v1:Gateway")
    assert [g.read_id for g in gateways] == [None]  # created, not read
    gateway = gateways[0].inputs
    assert gateway["metadata"]["name"] == "http" and gateway["metadata"]["namespace"] == "kgateway-system"
    assert gateway["spec"] == {
        "gatewayClassName": "kgateway",
        "listeners": [
            {"name": "http", "protocol": "HTTP", "port": 9080, "allowedRoutes": {"namespaces": {"from": "Same"}}}
        ],
    }
    assert gateways[0].urn in run.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute").dependencies
    assert run.outputs["gateway_url"] == "http://203.0.113.10:9080"  # its address, its listener port
    crds = require_crds()
    for version in ("v1.2.1", "v1.6.1"):
        assert schema_errors(reveal(gateways[0].inputs), crds / f"gateway-api-{version}-gateways.yaml", "v1") == []


def test_components_keep_the_urns_of_their_old_type_tokens(run_stack: RunStack) -> None:
    """0.2.0 moved the components to `kgateway-lambda:index:*`; aliases keep deployed stacks' URNs (and children's)."""
    run = run_stack()
    old = {
        "LambdaFunction": "kgateway-lambda:aws:LambdaFunction",
        "GatewayCredentials": "kgateway-lambda:aws:GatewayCredentials",
        "LambdaBackend": "kgateway-lambda:kubernetes:LambdaBackend",
        "LambdaRoute": "kgateway-lambda:kubernetes:LambdaRoute",
    }
    for component, token in old.items():
        assert token in run.one(f"kgateway-lambda:index:{component}").alias_types, component


def test_a_single_functions_identity_moved_to_the_root_keeps_its_urn(run_stack: RunStack) -> None:
    """Before 0.2.0 one function's identity lived in its composite; now it is always the stack's."""
    credentials = run_stack().one("kgateway-lambda:index:GatewayCredentials")
    composite = "urn:pulumi:dev::kgateway-lambda::kgateway-lambda:index:LambdaGatewayRoute::echo"
    assert ("echo", "kgateway-lambda:aws:GatewayCredentials", composite) in credentials.aliases
    multi = run_stack({"functions": '[{"name": "echo"}, {"name": "hello", "source": "hello"}]'})
    assert multi.one("kgateway-lambda:index:GatewayCredentials").urn == credentials.urn  # 1 -> N moves nothing


def test_a_missing_gateway_says_which_and_what_to_do(run_stack: RunStack) -> None:
    with pytest.raises(Exception, match=r"resource 'kgateway-system/http' does not exist") as failure:
        run_stack(mocks=FakeAwsMocks(gateway=None))
    (note,) = failure.value.__notes__
    assert note.startswith("error: the Gateway kgateway-system/http the routes attach to does not exist")
    assert "createGateway true" in note and "gatewayUrl" in note
    run_stack({"gatewayUrl": "http://localhost:8080"}, mocks=FakeAwsMocks(gateway=None))  # nothing read


# What a reusing stack's program packages: a one-line handler (no build).
def handler_code() -> pulumi.AssetArchive:
    return pulumi.AssetArchive({"index.mjs": pulumi.StringAsset("export const handler = async () => 1")})


def run_component_program(program: Program) -> ProgramRun:
    """A program that uses the components directly, as a reusing stack does, in the fake account's us-east-1."""
    return run_program(FakeAwsMocks(), {"aws:region": "us-east-1"}, program=program)


def test_the_backend_is_in_the_region_of_the_components_own_provider() -> None:
    """The stack's default region is us-east-1; a component given a Frankfurt provider is in Frankfurt, all of it."""

    def program() -> None:
        frankfurt = aws.Provider("frankfurt", region="eu-central-1")
        LambdaGatewayRoute(
            "echo",
            {"function": {"function_name": "echo", "code": handler_code()}},
            opts=pulumi.ResourceOptions(providers={"aws": frankfurt}),
        )
        LambdaBackend("default-region", {"function_name": "other", "kgateway_version": KgatewayRelease.V2_3})

    run = run_component_program(program)
    regions = {
        r.inputs["metadata"]["name"]: reveal(r.inputs)["spec"]["aws"]["region"]
        for r in run.by_type("kubernetes:gateway.kgateway.dev/v1alpha1:Backend")
    }
    assert regions == {"echo": "eu-central-1", "default-region": "us-east-1"}
    policy = json.loads(run.one("aws:iam/policy:Policy").inputs["policy"])
    assert policy["Statement"][0]["Resource"][0] == f"arn:aws:lambda:eu-central-1:{ACCOUNT}:function:echo:$LATEST"
    multi = run_stack_multi()
    assert {reveal(b.inputs)["spec"]["aws"]["region"] for b in multi.by_type(BACKEND)} == {"eu-west-1"}


def run_stack_multi() -> ProgramRun:
    config, secret_keys = stack_config("multi")
    return run_program(FakeAwsMocks(region="eu-west-1"), config, secret_keys, stack="multi")


def test_a_function_made_with_the_components_own_defaults() -> None:
    """What a reusing stack gets when it gives only what is required."""

    def program() -> None:
        LambdaFunction("fn", {"function_name": "fn", "code": handler_code()})

    run = run_component_program(program)
    function = reveal(run.one("aws:lambda/function:Function").inputs)
    assert function["architectures"] == ["arm64"]
    assert (function["runtime"], function["handler"]) == ("nodejs24.x", "index.handler")
    assert (function["memorySize"], function["timeout"], function["publish"]) == (128, 10, False)
    assert run.one("aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == 14
    assert run.by_type("aws:lambda/alias:Alias") == []


def test_the_secret_goes_with_the_backend_and_the_route_to_the_gateways_namespace(run_stack: RunStack) -> None:
    run = run_stack({"namespace": "team-a", "gatewayNamespace": "edge", "gatewayName": "public"})
    secret = run.one("kubernetes:core/v1:Secret").inputs["metadata"]
    backend = reveal(run.one(BACKEND).inputs)
    route = reveal(run.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute").inputs)
    assert secret["namespace"] == backend["metadata"]["namespace"] == route["metadata"]["namespace"] == "team-a"
    assert backend["spec"]["aws"]["auth"]["secretRef"] == {"name": "aws-creds"}  # no namespace: the Backend's
    assert route["spec"]["parentRefs"] == [{"name": "public", "namespace": "edge"}]
    assert route["spec"]["rules"][0]["backendRefs"][0] == {
        "group": "gateway.kgateway.dev",
        "kind": "Backend",
        "name": "echo",
    }


def test_derived_kubernetes_names_are_cut_to_63_characters(run_stack: RunStack) -> None:
    name = "f" * 30 + "_" + "g" * 33  # 64 characters: AWS's longest function name
    run = run_stack({"functionName": name, "routePath": "/long"})
    label = ("f" * 30 + "-" + "g" * 33)[:63]
    assert run.one(BACKEND).inputs["metadata"]["name"] == label
    assert run.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute").inputs["metadata"]["name"] == label
    assert run_stack({"functionName": name[:63]}).one(BACKEND).inputs["metadata"]["name"] == label


@pytest.mark.parametrize(
    ("field", "valid", "invalid"),
    [("memory_size", (128, 10240), (127, 10241)), ("timeout", (1, 900), (0, 901))],
)
def test_the_function_components_own_bounds(field: str, valid: tuple[int, int], invalid: tuple[int, int]) -> None:
    """Reusing stacks reach the component without the config layer: it holds the same bounds itself."""
    for value in (*valid, *invalid):

        def program(value: int = value) -> None:
            args: LambdaFunctionArgs = {"function_name": "fn", "code": handler_code()}
            if field == "memory_size":
                args["memory_size"] = value
            else:
                args["timeout"] = value
            LambdaFunction("fn", args)

        if value in valid:
            run = run_component_program(program)
            key = "memorySize" if field == "memory_size" else "timeout"
            assert run.one("aws:lambda/function:Function").inputs[key] == value
        else:
            with pytest.raises(Exception, match=rf"= {value}: must be a whole number from {valid[0]} to {valid[1]}"):
                run_component_program(program)


def test_keys_a_reusing_stack_passes_as_plain_strings_are_still_kept_secret() -> None:
    """`provided` keys given to the component as plain strings (not `pulumi.Output.secret`) still reach the
    Secret, and so the state, as secrets."""

    def program() -> None:
        GatewayCredentials(
            "gateway",
            {
                "functions": [{"function": "echo"}],
                "mode": CredentialsMode.PROVIDED,
                "access_key_id": "AKIAPLAIN",
                "secret_access_key": "plain-secret",
            },
        )

    run = run_component_program(program)
    data = run.one("kubernetes:core/v1:Secret").inputs["stringData"]
    assert is_secret_value(data) or all(is_secret_value(value) for value in data.values())
    assert reveal(data) == {"accessKey": "AKIAPLAIN", "secretKey": "plain-secret"}


def test_the_composites_default_route_is_a_path_prefix_on_the_functions_name() -> None:
    """A reusing stack that gives no routes, or a route with only a path, gets PathPrefix (the guide's match)."""

    def program() -> None:
        LambdaGatewayRoute("orders", {"function": {"function_name": "Orders_v2", "code": handler_code()}})
        LambdaGatewayRoute("cart", {"existing_function": "cart", "routes": [{"path": "/cart"}]})

    run = run_component_program(program)
    matches = {
        r.inputs["metadata"]["name"]: reveal(r.inputs)["spec"]["rules"][0]["matches"]
        for r in run.by_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    }
    assert matches == {
        "orders": [{"path": {"type": "PathPrefix", "value": "/orders-v2"}}],
        "cart": [{"path": {"type": "PathPrefix", "value": "/cart"}}],
    }
