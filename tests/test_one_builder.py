"""The object checked is the object deployed (issue 30): the preflight (program/preflight.py) validates exactly the
Kubernetes objects the components register, because both build them with the components' own plans
(components/composite_plan.py, components/route.py `route_plan`, components/protection_spec.py `protection_plan`,
components/backend.py `backend_object`, components/credentials.py `irsa_gateway_parameters`, program/gateway.py
`gateway_object`) from the same inputs (program/component_args.py).

Two kinds of test: every object of a set of stacks, planned by the preflight and registered by the program on the
mock engine, is the same object (only what a deploy alone knows differs: the account and the roles' ARNs); and a
change to one builder shows in both paths.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

import components.backend
import components.credentials
import components.protection_spec
import components.route
import program.gateway
from components import LambdaGatewayRoute
from components.validation import ComponentInputError
from program.config import ConfigError, MappingConfigSource, load_settings
from program.gateway import CREATED_BY_STACK
from program.preflight import PLACEHOLDER_ACCOUNT, PLACEHOLDER_ROLE, objects
from tests.support.fake_aws import FakeAwsMocks
from tools.engine import reveal, run_program, stack_config

# What the program registers that the preflight checks: the custom objects of kgateway and Gateway API.
CHECKED_KINDS = {
    "Backend",
    "HTTPRoute",
    "TrafficPolicy",
    "GatewayExtension",
    "ReferenceGrant",
    "BackendConfigPolicy",
    "GatewayParameters",
    "Gateway",
}
ROLE_ARN = re.compile(r"arn:aws:iam::[0-9]{12}:role/[-\w+=,.@/]+")
ROUTE_242 = "r" * 243  # a route name whose policy name is cut (253 characters with "-protection")


def _config(stack: str, extra: dict[str, Any]) -> dict[str, str]:
    config, _ = stack_config(stack)
    config.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in extra.items()})
    return config


CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "dev": ("dev", {}),
    "protected (API keys, CORS, rate limit, JWT with a remote JWKS)": ("protected", {}),
    "several functions and routes": ("multi", {"kgateway-lambda:kgatewayVersion": "v2.3"}),
    "a route in another namespace (ReferenceGrant)": (
        "dev",
        {"kgateway-lambda:routeNamespace": "team-a", "kgateway-lambda:kgatewayVersion": "v2.4"},
    ),
    "a long route name (the policy's name is cut)": (
        "dev",
        {
            "kgateway-lambda:routeName": ROUTE_242[:253],
            "kgateway-lambda:kgatewayVersion": "v2.3",
            "kgateway-lambda:protection": {"rateLimit": {"requestsPerSecond": 5}},
        },
    ),
    "irsa and a created Gateway": (
        "dev",
        {
            "kgateway-lambda:credentialsMode": "irsa",
            "kgateway-lambda:oidcProvider": "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE",
            "kgateway-lambda:createGateway": "true",
            "kgateway-lambda:kgatewayVersion": "v2.3",
        },
    ),
    "assume-role, an existing function, a long timeout": (
        "dev",
        {
            "kgateway-lambda:credentialsMode": "assume-role",
            "kgateway-lambda:ambientRoleArn": "arn:aws:iam::123456789012:role/proxy",
            "kgateway-lambda:kgatewayVersion": "v2.4",
            "kgateway-lambda:functionArn": "arn:aws:lambda:us-east-1:123456789012:function:echo:live",
            "kgateway-lambda:protection": {"timeout": "10m"},
        },
    ),
}


def _key(manifest: dict[str, Any]) -> tuple[str, str, str]:
    metadata = manifest["metadata"]
    return manifest["kind"], metadata.get("namespace", ""), metadata["name"]


def _without_deploy_values(manifest: Any) -> Any:
    """The object without what only a deploy knows (the account, the roles the stack creates: the preflight fills
    them with values of the right form), the common labels and the created Gateway's stack annotation (the stack's
    name: program/gateway.py `ManagedGateway`) the registration adds."""
    if isinstance(manifest, dict):
        return {
            key: "(account)" if key == "accountId" else _without_deploy_values(value)
            for key, value in manifest.items()
            if key not in ("labels", CREATED_BY_STACK)
        }
    if isinstance(manifest, list):
        return [_without_deploy_values(item) for item in manifest]
    if isinstance(manifest, str) and ROLE_ARN.fullmatch(manifest):
        return "(role)"
    return manifest


def _deployed(config: dict[str, str]) -> dict[tuple[str, str, str], dict[str, Any]]:
    run = run_program(FakeAwsMocks(region=config["aws:region"]), config)
    registered = {}
    for resource in run.resources:
        inputs = reveal(resource.inputs)
        if resource.type.endswith("Patch") or not isinstance(inputs, dict) or inputs.get("kind") not in CHECKED_KINDS:
            continue
        registered[_key(inputs)] = _without_deploy_values(inputs)
    return registered


def _checked(config: dict[str, str]) -> dict[tuple[str, str, str], dict[str, Any]]:
    settings = load_settings(MappingConfigSource(config))
    return {_key(m): _without_deploy_values(m) for _, m in objects(settings)}


@pytest.mark.parametrize("case", CASES)
def test_the_preflight_checks_exactly_the_objects_the_program_registers(case: str) -> None:
    stack, extra = CASES[case]
    config = _config(stack, extra)
    checked, deployed = _checked(config), _deployed(config)
    assert checked.keys() == deployed.keys()
    for key, manifest in deployed.items():
        assert checked[key] == manifest, key


def test_the_placeholders_are_what_a_deploy_alone_knows() -> None:
    """The only fields set aside in the comparison are filled by the preflight with values of the right form."""
    assert PLACEHOLDER_ACCOUNT.isdigit() and len(PLACEHOLDER_ACCOUNT) == 12
    assert PLACEHOLDER_ROLE.startswith(f"arn:aws:iam::{PLACEHOLDER_ACCOUNT}:role/")


def test_a_long_route_names_policy_is_the_one_deployed() -> None:
    """The preflight once named a TrafficPolicy `f"{route}-protection"[:253]` and the component cut the route's
    name first: over 242 characters, one object was validated and another deployed."""
    stack, extra = CASES["a long route name (the policy's name is cut)"]
    (policy,) = [m for (kind, _, _), m in _checked(_config(stack, extra)).items() if kind == "TrafficPolicy"]
    assert policy["metadata"]["name"].endswith("-protection")
    assert len(policy["metadata"]["name"]) == 253


# --- one builder, both paths ----------------------------------------------------------------------------------------

MARK = "kgateway-lambda.dev/test-builder"


def _marking(builder: Callable[..., Any]) -> Callable[..., Any]:
    """The builder, with a marker annotation on what it returns (as a change to it would show)."""

    def marked(*args: Any, **kwargs: Any) -> Any:
        built = builder(*args, **kwargs)
        manifest = built.http_route if isinstance(built, components.route.RoutePlan) else built
        if isinstance(built, components.protection_spec.ProtectionPlan):
            manifest = built.policy
        manifest["metadata"].setdefault("annotations", {})[MARK] = "1"
        return built

    return marked


BUILDERS: dict[str, tuple[Any, str, str, dict[str, Any]]] = {
    # module, builder, the kind it builds, the config that makes one
    "backend": (components.backend, "backend_object", "Backend", {"kgateway-lambda:kgatewayVersion": "v2.3"}),
    "route": (components.route, "route_plan", "HTTPRoute", {"kgateway-lambda:kgatewayVersion": "v2.3"}),
    "protection": (
        components.protection_spec,
        "protection_plan",
        "TrafficPolicy",
        {"kgateway-lambda:kgatewayVersion": "v2.3", "kgateway-lambda:protection": {"cors": {"allowOrigins": ["*"]}}},
    ),
    "gateway parameters": (
        components.credentials,
        "irsa_gateway_parameters",
        "GatewayParameters",
        {
            "kgateway-lambda:credentialsMode": "irsa",
            "kgateway-lambda:oidcProvider": "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE",
            "kgateway-lambda:kgatewayVersion": "v2.3",
        },
    ),
    "gateway": (
        program.gateway,
        "gateway_object",
        "Gateway",
        {"kgateway-lambda:createGateway": "true", "kgateway-lambda:kgatewayVersion": "v2.3"},
    ),
}


def _patch_everywhere(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> None:
    """Replace a builder in its module and wherever it was imported by name, as a change to its code would."""
    original = getattr(module, name)
    replacement = _marking(original)
    for loaded in list(sys.modules.values()):
        if getattr(loaded, name, None) is original and getattr(loaded, "__name__", "").startswith(
            ("components", "program")
        ):
            monkeypatch.setattr(loaded, name, replacement)


@pytest.mark.parametrize("builder", BUILDERS)
def test_a_change_to_one_builder_shows_in_the_preflight_and_the_deploy(
    builder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    module, name, kind, extra = BUILDERS[builder]
    config = _config("dev", extra)
    _patch_everywhere(monkeypatch, module, name)
    checked = [m for (k, _, _), m in _checked(config).items() if k == kind]
    deployed = [m for (k, _, _), m in _deployed(config).items() if k == kind]
    assert checked and deployed
    assert all(m["metadata"]["annotations"][MARK] == "1" for m in checked + deployed)


# --- one rule, both doors: the same route twice -------------------------------------------------------------------

SAME_ROUTE = [
    # (route, another, the same requests reach both)
    ({"path": "/a"}, {"path": "/a"}, True),
    ({"path": "/a"}, {"path": "/a", "match": "PathPrefix"}, True),
    ({"path": "/a", "methods": ["GET", "POST"]}, {"path": "/a", "methods": ["POST", "GET"]}, True),
    ({"path": "/a", "headers": {"x": "1", "y": "2"}}, {"path": "/a", "headers": {"y": "2", "x": "1"}}, True),
    ({"path": "/a"}, {"path": "/a", "match": "Exact"}, False),
    ({"path": "/a"}, {"path": "/b"}, False),
    ({"path": "/a"}, {"path": "/a", "methods": ["GET"]}, False),
    ({"path": "/a"}, {"path": "/a", "hostnames": ["api.example.com"]}, False),
    ({"path": "/a"}, {"path": "/a", "headers": {"x": "1"}}, False),
]


@pytest.mark.parametrize(("route", "another", "same"), SAME_ROUTE)
def test_the_stack_and_the_composite_refuse_the_same_route_twice_alike(
    route: dict[str, Any], another: dict[str, Any], same: bool
) -> None:
    """Two HTTPRoutes with one match: Gateway API serves the oldest, so the other is never served. The stack's
    config refused it and the composite took it (issue 30); both now ask `route_match_signature`."""
    config = _config(
        "dev",
        {"kgateway-lambda:routes": [{**route, "function": "echo"}, {**another, "function": "echo"}]},
    )
    if same:
        with pytest.raises(ConfigError, match="is routed twice"):
            load_settings(MappingConfigSource(config))
    else:
        load_settings(MappingConfigSource(config))

    args: dict[str, Any] = {
        "existing_function": "echo",
        "backend": {"kgateway_version": "v2.3"},
        "routes": [route, another],
    }

    def composite() -> None:
        LambdaGatewayRoute("echo", args)  # type: ignore[arg-type]

    if same:
        with pytest.raises(ComponentInputError, match=r"routes\[1\] = .*is routed twice"):
            run_program(FakeAwsMocks(), {"aws:region": "us-east-1"}, program=composite)
    else:
        run = run_program(FakeAwsMocks(), {"aws:region": "us-east-1"}, program=composite)
        assert len(run.by_type("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")) == 2


# --- one rule, both doors: one creator per function name ----------------------------------------------------------


def _echo_function(name: str, opts: pulumi.ResourceOptions | None = None) -> None:
    args: dict[str, Any] = {
        "function": {"function_name": "echo", "code": pulumi.FileArchive("lambda_src/echo")},
        "backend": {"kgateway_version": "v2.3", "name": name},
    }
    LambdaGatewayRoute(name, args, opts=opts)  # type: ignore[arg-type]


def test_two_components_creating_one_function_are_refused_in_the_preview() -> None:
    """Both passed the preview and the second create failed mid-deploy with ResourceConflict (issue 30); the
    stack's config refuses the same name twice (functions[1].name), the components now refuse it too, while the
    program registers (so the preview fails)."""

    def program() -> None:
        _echo_function("a")
        _echo_function("b")

    mocks = FakeAwsMocks()
    with pytest.raises(
        ComponentInputError, match=r"functionName = 'echo': is already created by the LambdaFunction 'a'"
    ):
        run_program(mocks, {"aws:region": "us-east-1"}, program=program)


def test_the_same_function_name_in_another_region_is_another_function() -> None:
    def program() -> None:
        _echo_function("a")
        west = aws.Provider("west", region="eu-west-1")
        _echo_function("b", pulumi.ResourceOptions(providers={"aws": west}))

    run = run_program(FakeAwsMocks(), {"aws:region": "us-east-1"}, program=program)
    assert len(run.by_type("aws:lambda/function:Function")) == 2
