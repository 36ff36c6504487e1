"""The components' one input layer (components/inputs.py), seen from a reusing stack: wrong types, values inside
Outputs, and the real APIs' rules the components enforce themselves."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

import components
from components.validation import ComponentInputError
from program.crd_validation import object_errors
from tests.support.fake_aws import FakeAwsMocks
from tools.engine import ProgramRun, redact, reveal, run_program

# Untyped, as another language (or a typo) reaches them: the checks, not mypy, must refuse what is wrong.
GatewayCredentials: Any = components.GatewayCredentials
LambdaBackend: Any = components.LambdaBackend
LambdaFunction: Any = components.LambdaFunction
LambdaGatewayRoute: Any = components.LambdaGatewayRoute
LambdaRoute: Any = components.LambdaRoute

# The program every test here runs: it calls the body the test registered (components built in-process).
BACKEND = "kubernetes:gateway.kgateway.dev/v1alpha1:Backend"
HTTPROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"


def run(build: Callable[[], object], mocks: FakeAwsMocks | None = None, *, preview: bool = False) -> ProgramRun:
    """Run `build` as a Pulumi program on the mock engine (a reusing stack's program)."""

    def program() -> None:
        build()

    return run_program(mocks or FakeAwsMocks(), {"aws:region": "us-east-1"}, program=program, preview=preview)


def refused(build: Callable[[], object], mocks: FakeAwsMocks | None = None) -> str:
    """The ComponentInputError `build` ends in (anything else fails the test)."""
    with pytest.raises(ComponentInputError) as error:
        run(build, mocks)
    return str(error.value)


def code() -> pulumi.Archive:
    return pulumi.AssetArchive({"index.mjs": pulumi.StringAsset("export const handler = async () => 1")})


def unknown() -> pulumi.Output[Any]:
    """An Output whose value is not known (a preview of a value another resource computes)."""
    loop = asyncio.get_event_loop()
    value: asyncio.Future[Any] = loop.create_future()
    value.set_result(None)
    known: asyncio.Future[bool] = loop.create_future()
    known.set_result(False)
    secret: asyncio.Future[bool] = loop.create_future()
    secret.set_result(False)
    resources: asyncio.Future[set[pulumi.Resource]] = loop.create_future()
    resources.set_result(set())
    return pulumi.Output(resources, value, known, secret)


# --- types -------------------------------------------------------------------------------------------------------


def test_an_output_where_the_schema_declares_a_plain_string_is_refused_never_formatted() -> None:
    mocks = FakeAwsMocks()
    text = refused(
        lambda: LambdaFunction("fn", {"function_name": pulumi.Output.from_input("fn"), "code": code()}), mocks
    )
    assert "functionName = an Output: must be a string, known when the program runs" in text
    assert "Calling __str__" not in text
    assert mocks.counter == 0 and mocks.log_groups == {}


def test_a_fractional_number_for_an_integer_is_refused() -> None:
    """128.5 MB is no memory size: an integer input takes whole numbers only (a whole float, as JSON gives, passes)."""
    text = refused(lambda: LambdaFunction("fn", {"function_name": "fn", "code": code(), "memory_size": 128.5}))
    assert "memorySize = 128.5" in text


def test_the_type_layer_alone_refuses_a_fractional_number_for_an_integer() -> None:
    """The schema's `integer` is the layer's rule, not left to each component's range check: with no component rule
    to run (`rules=None`), 128.5 is refused as no whole number, while 256.0 (a whole number, as JSON and a provider's
    construct hand numbers over) and 256 pass."""
    from components.inputs import checked_inputs
    from components.lambda_function import LambdaFunctionArgs

    base = {"function_name": "fn", "code": code()}
    with pytest.raises(ComponentInputError) as error:
        checked_inputs("LambdaFunction", "fn", LambdaFunctionArgs, {**base, "memory_size": 128.5})
    assert "memorySize = 128.5: must be a whole number (example: 128)" in str(error.value)
    for whole_number in (256.0, 256):
        assert checked_inputs("LambdaFunction", "fn", LambdaFunctionArgs, {**base, "memory_size": whole_number})


def test_the_string_false_for_a_boolean_is_refused_not_read_as_true() -> None:
    text = refused(lambda: LambdaRoute("r", {"path": "/x", "backend_name": "b", "wait_for_acceptance": "false"}))
    assert "waitForAcceptance = 'false': must be a boolean (true or false, not a string)" in text
    nested = refused(
        lambda: LambdaGatewayRoute(
            "c",
            {"existing_function": "echo", "backend": {"wait_for_acceptance": "false"}},
        )
    )
    assert "backend.waitForAcceptance = 'false'" in nested


def test_a_number_where_a_string_is_declared_is_refused_and_a_keys_value_never_shown() -> None:
    text = refused(
        lambda: GatewayCredentials(
            "g",
            {"functions": [{"function": "echo"}], "mode": "provided", "access_key_id": 1.5, "secret_access_key": 7},
        )
    )
    assert "accessKeyId = [secret]: must be a string" in text
    assert "secretAccessKey = [secret]: must be a string" in text
    assert "1.5" not in text
    assert "qualifier = 3: must be a string" in refused(
        lambda: LambdaBackend("b", {"function_name": "echo", "qualifier": 3})
    )


def test_a_mapping_where_a_list_is_declared_is_refused_not_read_as_its_keys() -> None:
    text = refused(lambda: LambdaRoute("r", {"path": "/x", "backend_name": "b", "methods": {"GET": 1}}))
    assert "methods = {'GET': 1}: must be a list" in text
    text = refused(lambda: GatewayCredentials("g", {"functions": {"function": "echo"}}))
    assert "functions = {'function': 'echo'}: must be a list" in text


def test_wrong_shapes_and_typos_are_named_not_crashes() -> None:
    text = refused(
        lambda: LambdaGatewayRoute(
            "c",
            {
                "function": [1],
                "routes": [{"path": "/a"}, {"path": "/b", "methods": ["GET", 5], "hostnames": "a.example.com"}],
                "backend": {"namespace": ["x"]},
            },
        )
    )
    assert "invalid inputs (4 problem(s))" in text
    assert "function = [1]: must be an object (LambdaFunctionArgs)" in text
    assert "routes[1].methods[1] = 5: must be a string" in text
    assert "routes[1].hostnames = 'a.example.com': must be a list" in text
    assert "backend.namespace = ['x']: must be a string" in text
    typo = refused(lambda: LambdaFunction("fn", {"functionName": "fn", "code": code()}))
    assert "functionName = 'fn': is not an input of LambdaFunctionArgs (in Python: function_name)" in typo
    assert "code = './echo': must be an archive of the code" in refused(
        lambda: LambdaFunction("fn", {"function_name": "fn", "code": "./echo"})
    )
    assert "memorySize = True: must be a whole number" in refused(
        lambda: LambdaFunction("fn", {"function_name": "fn", "code": code(), "memory_size": True})
    )
    assert "runtime = 'python3.11': must be one of nodejs24.x, nodejs22.x, python3.14" in refused(
        lambda: LambdaFunction("fn", {"function_name": "fn", "code": code(), "runtime": "python3.11"})
    )


def test_unset_optional_inputs_may_be_given_as_none() -> None:
    result = run(lambda: LambdaGatewayRoute("c", {"existing_function": "echo", "routes": None, "backend": None}))
    assert [r.inputs["metadata"]["name"] for r in result.by_type(HTTPROUTE)] == ["c"]


# --- values inside Outputs ----------------------------------------------------------------------------------------


def test_a_bad_account_id_inside_an_output_fails_when_it_resolves_before_the_backend_is_sent() -> None:
    def build() -> None:
        LambdaBackend(
            "b", {"function_name": "echo", "account_id": pulumi.Output.from_input("12345"), "kgateway_version": "v2.4"}
        )

    with pytest.raises(Exception, match=r"LambdaBackend 'b': invalid inputs") as error:
        run(build)
    assert "accountId = '12345': must be 12 digits" in str(error.value)


def test_a_secret_outputs_bad_value_is_named_but_not_shown() -> None:
    def build() -> None:
        LambdaBackend(
            "b", {"function_name": "echo", "account_id": pulumi.Output.secret("98765"), "kgateway_version": "v2.4"}
        )

    with pytest.raises(Exception, match=r"accountId = \[secret\]: must be 12 digits") as error:
        run(build)
    assert "98765" not in str(error.value)


class RecordingMocks(FakeAwsMocks):
    """The mocks, noting the type of every resource the engine was asked to make."""

    def __init__(self) -> None:
        super().__init__()
        self.made: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.made.append(args.typ)
        return super().new_resource(args)


def test_the_backend_is_never_registered_with_a_bad_value_from_an_output() -> None:
    mocks = RecordingMocks()

    def build() -> None:
        LambdaGatewayRoute(
            "c",
            {
                "existing_function": "echo",
                "backend": {"account_id": pulumi.Output.from_input("not-an-account"), "kgateway_version": "v2.4"},
            },
        )

    with pytest.raises(Exception, match=r"backend.accountId = 'not-an-account': must be 12 digits"):
        run(build, mocks)
    assert BACKEND not in mocks.made and "aws:iam/policy:Policy" not in mocks.made  # both take the account id


def test_good_outputs_reach_the_objects_with_their_secrecy() -> None:
    def build() -> None:
        LambdaGatewayRoute(
            "c",
            {
                "existing_function": "echo",
                "backend": {"account_id": pulumi.Output.secret("210987654321"), "kgateway_version": "v2.4"},
            },
        )

    result = run(build)
    backend = result.one(BACKEND).inputs
    assert reveal(backend)["spec"]["aws"]["lambda"]["accountId"] == "210987654321"
    assert "210987654321" not in json.dumps(redact(backend))  # sent as a secret, as the caller gave it


def test_an_unknown_output_is_left_for_when_it_is_known() -> None:
    result = run(
        lambda: LambdaBackend("b", {"function_name": "echo", "account_id": unknown(), "kgateway_version": "v2.4"}),
        preview=True,
    )
    assert result.one(BACKEND).inputs["metadata"]["name"] == "b"


# --- the real APIs' rules -----------------------------------------------------------------------------------------


def test_lambdas_handler_rule() -> None:
    rule = "must be <file or module>.<function>, at most 128 characters without white space"
    assert f"handler = 'index handler': {rule}" in refused(
        lambda: LambdaFunction("fn", {"function_name": "fn", "code": code(), "handler": "index handler"})
    )
    assert f"handler = 'index': {rule}" in refused(  # no exported name: neither runtime could find the function
        lambda: LambdaFunction("fn", {"function_name": "fn", "code": code(), "handler": "index"})
    )


def test_the_backend_needs_a_function_name() -> None:
    assert "functionName = '': must be 1 to 64 letters, digits, '-' or '_'" in refused(
        lambda: LambdaBackend("b", {"function_name": ""})
    )


def test_gateway_apis_header_and_hostname_limits() -> None:
    text = refused(
        lambda: LambdaRoute(
            "r",
            {
                "path": "/x",
                "backend_name": "b",
                "headers": {"x-env": ""},
                "hostnames": [f"h{i}.example.com" for i in range(17)],
            },
        )
    )
    assert "headers = {'x-env': ''}: must map header names to values of 1 to 4096 characters" in text
    assert "hostnames = '[17 hostnames]': must be at most 16" in text
    result = run(
        lambda: LambdaRoute(
            "r", {"path": "/x", "backend_name": "b", "hostnames": [f"h{i}.example.com" for i in range(16)]}
        )
    )
    assert object_errors(reveal(result.one(HTTPROUTE).inputs), "main") == []


def test_kubernetes_names_over_253_characters_and_bad_namespaces_are_refused() -> None:
    long_name = ".".join(["a" * 63] * 4)  # 255 characters of valid labels
    assert "name = " in refused(lambda: LambdaBackend("b", {"function_name": "echo", "name": long_name}))
    text = refused(
        lambda: GatewayCredentials(
            "g",
            {
                "functions": [{"function": "echo"}],
                "namespace": "Team_A",
                "mode": "irsa",
                "oidc_provider": "https://oidc.example/id/X",
                "gateway_namespace": "-edge",
            },
        )
    )
    assert "namespace = 'Team_A': must be a DNS label" in text
    assert "gatewayNamespace = '-edge': must be a DNS label" in text


def test_a_cut_reference_grant_name_never_ends_in_a_dash() -> None:
    route_name = "r" * 240 + "-" + "s" * 10  # the cut at 253 falls right after the '-' of `-from-`
    result = run(
        lambda: LambdaRoute("r", {"path": "/x", "backend_name": "b", "name": route_name, "namespace": "team-a"})
    )
    grant = result.one("kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant").inputs
    name = grant["metadata"]["name"]
    assert len(name) <= 253 and not name.endswith("-") and name.startswith(route_name)
    assert object_errors(reveal(grant), "main") == []


@pytest.mark.parametrize("mode", ["generated", "irsa", "assume-role"])
def test_iam_names_from_long_component_names_fit_with_pulumis_suffix(mode: str) -> None:
    """The rig (tools/aws_rules.py) refuses an auto-name past IAM's 64 characters, as Pulumi does."""
    names = ["x" * 70 + "-orders", "x" * 70 + "-invoices"]  # a long shared prefix

    def build() -> None:
        for name in names:
            credentials: dict[str, Any] = {"mode": mode}
            if mode == "irsa":
                credentials["oidc_provider"] = "https://oidc.example/id/X"
            if mode == "assume-role":
                credentials["ambient_role_arn"] = "arn:aws:iam::123456789012:role/proxy"
            LambdaGatewayRoute(
                name,
                {"existing_function": "echo", "credentials": credentials, "backend": {"kgateway_version": "v2.4"}},
            )

    result = run(build)
    iam = [r for r in result.resources if r.type in ("aws:iam/user:User", "aws:iam/role:Role", "aws:iam/policy:Policy")]
    assert len(iam) == 4
    assert len({r.name for r in iam}) == 4  # distinct, though the component names share 70 characters


def test_two_routes_of_one_composite_never_share_an_httproute_name() -> None:
    def build() -> None:
        LambdaGatewayRoute(
            "c",
            {
                "existing_function": "echo",
                "routes": [
                    {"path": "/a"},
                    {"path": "/b", "hostnames": ["one.example.com"]},
                    {"path": "/b", "hostnames": ["two.example.com"]},
                ],
            },
        )

    names = [r.inputs["metadata"]["name"] for r in run(build).by_type(HTTPROUTE)]
    assert len(names) == 3 and len(set(names)) == 3
    text = refused(
        lambda: LambdaGatewayRoute(
            "c", {"existing_function": "echo", "routes": [{"path": "/a"}, {"path": "/b", "name": "c"}]}
        )
    )
    assert "routes[1].name = 'c': would be named 'c' like routes[0]" in text


# --- behaviours the mutation run found unpinned (issue 20) --------------------------------------------------------


def test_two_functions_with_a_long_shared_prefix_get_distinct_execution_role_names() -> None:
    names = ["f" * 60 + "_one", "f" * 60 + "_two"]
    result = run(lambda: [LambdaFunction(name, {"function_name": name, "code": code()}) for name in names])
    roles = [r.name for r in result.by_type("aws:iam/role:Role")]
    assert len(roles) == 2 and len(set(roles)) == 2 and all(len(role) <= 64 - 8 for role in roles)


def test_invoke_policy_names_start_at_one() -> None:
    """Deployed stacks hold `<name>-invoke-only-1`: renumbering would replace every policy."""
    result = run(lambda: LambdaGatewayRoute("c", {"existing_function": "echo"}))
    assert [r.name for r in result.by_type("aws:iam/policy:Policy")] == ["c-invoke-only-1"]


def test_route_names_do_not_depend_on_the_order_of_methods() -> None:
    def names(methods: list[str]) -> set[str]:
        routes = [{"path": "/a"}, {"path": "/b", "methods": methods}]
        result = run(lambda: LambdaGatewayRoute("c", {"existing_function": "echo", "routes": routes}))
        return {r.inputs["metadata"]["name"] for r in result.by_type(HTTPROUTE)}

    assert names(["GET", "POST"]) == names(["POST", "GET"])


def invoke_resources(result: ProgramRun) -> list[str]:
    return [
        arn
        for policy in result.by_type("aws:iam/policy:Policy")
        for arn in json.loads(reveal(policy.inputs)["policy"])["Statement"][0]["Resource"]
    ]


def test_the_composites_own_credentials_may_invoke_the_alias_the_backend_invokes() -> None:
    result = run(
        lambda: LambdaGatewayRoute(
            "c",
            {
                "function": {"function_name": "orders", "code": code(), "alias": "live"},
                "backend": {"kgateway_version": "v2.4"},
            },
        )
    )
    arn = "arn:aws:lambda:us-east-1:123456789012:function:orders"
    assert reveal(result.one(BACKEND).inputs)["spec"]["aws"]["lambda"]["qualifier"] == "live"
    assert invoke_resources(result) == [f"{arn}:live"]  # exactly what the Backend invokes


def test_a_qualified_function_arn_is_invoked_at_its_qualifier() -> None:
    arn = "arn:aws:lambda:eu-west-1:210987654321:function:orders"
    result = run(
        lambda: LambdaGatewayRoute("c", {"existing_function": f"{arn}:live", "backend": {"kgateway_version": "v2.4"}})
    )
    spec = reveal(result.one(BACKEND).inputs)["spec"]["aws"]
    assert (spec["lambda"]["qualifier"], spec["lambda"]["accountId"], spec["region"]) == (
        "live",
        "210987654321",
        "eu-west-1",
    )
    assert spec["lambda"]["functionName"] == "orders"
    assert invoke_resources(result) == [f"{arn}:live"]  # exactly what the Backend invokes


def test_a_hostname_over_253_characters_is_refused_by_the_route() -> None:
    hostname = ".".join(["a" * 60] * 4) + ".example.com"
    text = refused(lambda: LambdaRoute("r", {"path": "/x", "backend_name": "b", "hostnames": [hostname]}))
    assert "hostnames = 'aaaa" in text and "must be at most 253 characters each" in text
