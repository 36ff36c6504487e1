"""Issue 18: the stack's own functions from source (every kind), their environment, and routes that match them."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from components.gateway_api_objects import route_request_timeout
from components.lambda_function import check_function_args
from components.protection_checks import check_protection_args
from components.protection_spec import protection_objects
from components.route import check_route_args
from components.traffic_policy import TRAFFIC_POLICY_SUPPORT, protection_problems, traffic_policy_manifest
from components.validation import ComponentInputError, InputChecker
from program.config import ConfigError, MappingConfigSource, load_settings
from program.crd_validation import BASIS, object_errors
from program.preflight import objects
from tools.engine import ProgramRun, is_secret_value, reveal, stack_config
from tools.plan import kubernetes_manifests, plan, plan_document, render_text
from tools.pulumi_cli import offline_plaintext

FUNCTION = "aws:lambda/function:Function"
HTTPROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"
POLICY = "kubernetes:gateway.kgateway.dev/v1alpha1:TrafficPolicy"
IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/greet:1.4.2"


def stack(tmp_path: Path, functions: list[dict[str, Any]], **config: Any) -> ProgramRun:
    """Plan a stack of these function entries (and other config) written as a stack file, as the CLI reads it."""
    document = {"aws:region": "eu-west-1", "kgateway-lambda:functions": functions}
    document.update({f"kgateway-lambda:{key}": value for key, value in config.items()})
    (tmp_path / "Pulumi.t.yaml").write_text(yaml.safe_dump({"config": document}))
    return plan("t", stacks_dir=tmp_path)


def functions_by_name(run: ProgramRun) -> dict[str, dict[str, Any]]:
    return {r.inputs["name"]: r.inputs for r in run.by_type(FUNCTION)}


def test_every_kind_of_source_becomes_the_function_aws_is_given(tmp_path: Path) -> None:
    prebuilt = tmp_path / "prebuilt.zip"
    with zipfile.ZipFile(prebuilt, "w") as archive:
        archive.writestr("app/main.js", "exports.run = async () => ({statusCode: 200});\n")
    run = stack(
        tmp_path,
        [
            {"name": "greet", "source": "greet-python", "runtime": "python3.13"},
            {"name": "uptime", "source": "uptime-node", "runtime": "nodejs22.x"},
            {"name": "zipped", "source": str(prebuilt), "handler": "app/main.run"},
            {"name": "boxed", "packageType": "Image", "imageUri": IMAGE},
        ],
    )
    functions = functions_by_name(run)
    greet, uptime, zipped, boxed = (functions[n] for n in ("greet", "uptime", "zipped", "boxed"))
    assert (greet["runtime"], greet["handler"]) == ("python3.13", "handler.handler")  # Python's default handler
    assert (uptime["runtime"], uptime["handler"]) == ("nodejs22.x", "index.handler")
    assert zipped["handler"] == "app/main.run"
    with zipfile.ZipFile(Path(greet["code"].path)) as archive:  # built: the dependency is in the package
        assert "humanize/__init__.py" in archive.namelist()
    with zipfile.ZipFile(Path(uptime["code"].path)) as archive:
        assert "node_modules/ms/index.js" in archive.namelist()
    assert Path(zipped["code"].path).read_bytes() == prebuilt.read_bytes()  # a prebuilt zip is used as it is
    # An image: no code, runtime or handler (Lambda takes them from the image); nothing is built.
    assert boxed["packageType"] == "Image" and boxed["imageUri"] == IMAGE
    assert not {"code", "runtime", "handler", "sourceCodeHash"} & {k for k, v in boxed.items() if v is not None}


def settings_problems(**config: Any) -> str:
    values = {"aws:region": "eu-west-1", **{k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}}
    with pytest.raises(ConfigError) as caught:
        load_settings(MappingConfigSource(values))
    return str(caught.value)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"runtime": "python3.11"}, "kgateway-lambda:runtime = 'python3.11': must be one of nodejs24.x, nodejs22.x"),
        # A source of the other language: the runtime is named, not the handler the user never wrote (issue 32).
        ({"runtime": "python3.13"}, "runtime = 'python3.13': does not run echo: it holds index.mjs (a Node.js"),
        (
            {"runtime": "nodejs24.x", "functionSource": "greet-python"},
            "runtime = 'nodejs24.x': does not run greet-python: it holds handler.py (a Python source)",
        ),
        ({"runtime": "python3.13", "handler": "index.handler"}, "set runtime to a Node.js runtime"),
        ({"handler": "index handler"}, "kgateway-lambda:handler = 'index handler': must be <file or module>"),
        ({"handler": "x" * 127 + ".h"}, "at most 128 characters"),
        ({"handler": "main.handler"}, "needs main.js or main.mjs or main.cjs in echo for nodejs24.x"),
        ({"functionSource": "../no-such-src"}, "kgateway-lambda:functionSource = '../no-such-src': must be a folder"),
        ({"functionSource": "stacks/Pulumi.dev.yaml"}, "or the path of a folder or a prebuilt .zip"),
        ({"packageType": "Image", "imageUri": "docker.io/library/greet:1"}, "must be an Amazon ECR image URI"),
        ({"packageType": "Image", "imageUri": IMAGE.replace("eu-west-1", "us-east-1")}, "in the function's region"),
        ({"packageType": "Image", "imageUri": IMAGE, "handler": "index.handler"}, "handler = 'index.handler': is not"),
        ({"imageUri": IMAGE}, "kgateway-lambda:imageUri = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/gr"),
        ({"environment": {"AWS_REGION": "x"}}, "kgateway-lambda:environment = 'AWS_REGION': is reserved by Lambda"),
        ({"environment": {"1X": "x"}}, "must start with a letter"),
        # Lambda measures the variables as compact JSON ({"BIG":"..."}: 10 bytes around the value), not 3 + 4087.
        ({"environment": {"BIG": "x" * 4087}}, "environment = '4097 bytes': must be at most 4096 bytes"),
    ],
)
def test_what_aws_refuses_is_refused_before_anything_is_made(config: dict[str, Any], expected: str) -> None:
    assert expected in settings_problems(**{f"kgateway-lambda:{k}": v for k, v in config.items()})


def test_secret_environment_must_be_encrypted_and_never_shows() -> None:
    plain = settings_problems(**{"kgateway-lambda:secretEnvironment": {"echo": {"API_TOKEN": "hunter2-value"}}})
    assert "secretEnvironment = '[plain text]': must be stored encrypted" in plain
    assert "hunter2-value" not in plain
    unknown = {"kgateway-lambda:secretEnvironment": json.dumps({"ecko": {"API_TOKEN": "hunter2-value"}})}
    with pytest.raises(ConfigError) as caught:
        load_settings(MappingConfigSource({"aws:region": "eu-west-1", **unknown}, {"secretEnvironment"}))
    # A function name is a name, not a secret: shown as written (only the values under it are secret).
    assert "secretEnvironment.ecko = 'ecko': must name a function of this stack: ['echo']" in str(caught.value)
    assert "hunter2-value" not in str(caught.value)


def test_the_example_stack_plans_with_secret_values_kept_secret_and_routes_that_match() -> None:
    run = plan("functions")
    document = plan_document(run)
    shown = json.dumps(document) + render_text(document) + json.dumps(run.outputs, default=str)
    secret_value = offline_plaintext("kgateway-lambda:secretEnvironment.greet.API_TOKEN")
    assert secret_value not in shown  # the decrypted value: nowhere in the plan, its text or the outputs
    functions = {r["inputs"]["name"]: r["inputs"] for r in document["resources"] if r["type"] == FUNCTION}
    assert functions["greet"]["environment"] == "[secret]"  # the plain variable rides inside the secret set
    assert functions["uptime"]["environment"] == {"variables": {"LOG_LEVEL": "info"}}
    greet = next(r for r in run.by_type(FUNCTION) if r.inputs["name"] == "greet")
    environment = greet.inputs["environment"]
    assert is_secret_value(environment) or is_secret_value(environment["variables"])
    # What AWS is given, as a secret: the plain variable and the secret one.
    assert reveal(environment)["variables"] == {"GREETING_STYLE": "friendly", "API_TOKEN": secret_value}
    manifests = {m["metadata"]["name"]: m for m in kubernetes_manifests(run) if m["kind"] == "HTTPRoute"}
    # The 60 s function's route waits 60 s + a cold start's 10 s Init phase + 1 s; the 600 s one's 611 s.
    assert manifests["greet"]["spec"]["rules"][0]["timeouts"] == {"request": "71s"}
    assert manifests["uptime"]["spec"]["rules"][0]["timeouts"] == {"request": "611s"}
    policies = {r.inputs["spec"]["targetRefs"][0]["name"]: r.inputs["spec"] for r in run.by_type(POLICY)}
    assert sorted(policies) == ["greet", "uptime"]
    # Pass-through takes Lambda's 6 MB; Envoy mode's base64 envelope must fit it (issue 27).
    assert policies["greet"]["buffer"] == {"maxRequestSize": "6Mi"} and "timeouts" not in policies["greet"]
    assert policies["uptime"]["buffer"] == {"maxRequestSize": "4416Ki"}
    assert policies["uptime"]["timeouts"] == {"streamIdle": "611s"}  # past Envoy's 5 minutes
    route = next(r for r in run.by_type(HTTPROUTE) if r.inputs["metadata"]["name"] == "greet")
    policy = next(r for r in run.by_type(POLICY) if r.inputs["metadata"]["name"] == "greet-protection")
    assert policy.urn in route.dependencies  # the route is never served before its body limit exists


@pytest.mark.parametrize("line", list(BASIS))
def test_a_60_second_route_is_valid_on_every_line_and_the_body_limit_where_the_line_has_buffer(line: str) -> None:
    settings = load_settings(
        MappingConfigSource(
            {"aws:region": "eu-west-1", "kgateway-lambda:timeout": "60", "kgateway-lambda:kgatewayVersion": line}
        )
    )
    found = [manifest for _, manifest in objects(settings)]
    route = next(m for m in found if m["kind"] == "HTTPRoute")
    assert route["spec"]["rules"][0]["timeouts"]["request"] == "71s"
    policies = [m for m in found if m["kind"] == "TrafficPolicy"]
    # v2.0 has no buffer (TRAFFICPOLICY.md §8: Envoy's 1 MiB applies there); auto cannot know the line.
    assert len(policies) == (1 if line in ("v2.1", "v2.2", "v2.3", "v2.4", "main") else 0)
    for manifest in found:
        assert object_errors(manifest, line) == [], manifest["kind"]


def test_the_rig_refuses_what_the_api_server_refuses_in_timeouts_and_body_limits() -> None:
    route = next(
        m
        for _, m in objects(load_settings(MappingConfigSource({"aws:region": "eu-west-1"})))
        if m["kind"] == "HTTPRoute"
    )
    route["spec"]["rules"][0]["timeouts"]["request"] = "100000s"  # six digits: Gateway API allows five per part
    assert any("does not match" in e for e in object_errors(route, "v2.0"))
    for size, refused in (("6Mi", False), ("4Gi", True), ("0", True), ("3999Mi", False)):
        spec, _, _, _ = protection_objects({"max_request_size": size}, "echo")
        policy = traffic_policy_manifest(
            TRAFFIC_POLICY_SUPPORT["v2.2"], name="echo-protection", namespace="ns", route_name="echo", protection=spec
        )
        # The CRD's CEL rule with Kubernetes' quantity library: more than 0 and less than 4Gi.
        assert bool(object_errors(policy, "v2.2")) == refused, size


def test_async_functions_and_existing_functions_get_no_route_timeout() -> None:
    async_settings = load_settings(
        MappingConfigSource(
            {
                "aws:region": "eu-west-1",
                "kgateway-lambda:invocationMode": "Async",
                "kgateway-lambda:kgatewayVersion": "v2.3",
            }
        )
    )
    found = [m for _, m in objects(async_settings)]
    assert "timeouts" not in next(m for m in found if m["kind"] == "HTTPRoute")["spec"]["rules"][0]
    assert not [m for m in found if m["kind"] == "TrafficPolicy"]  # an async call's body limit is Lambda's own
    existing = load_settings(
        MappingConfigSource(
            {
                "aws:region": "eu-west-1",
                "kgateway-lambda:functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:f",
            }
        )
    )
    route = next(m for _, m in objects(existing) if m["kind"] == "HTTPRoute")
    # Its own timeout is not read (a call per function, and its owner may change it): Lambda's longest is routed.
    assert route["spec"]["rules"][0]["timeouts"] == {"request": "911s"}
    assert route_request_timeout(900) == "911s"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"max_request_size": "6Mi", "kgateway_version": "v2.0"}, "it is first in kgateway v2.1"),
        ({"max_request_size": "6 MB", "kgateway_version": "v2.2"}, "must be a quantity such as 6Mi"),
        ({"max_request_size": "4Gi", "kgateway_version": "v2.2"}, "must be greater than 0 and less than 4Gi"),
        ({"protection": {"timeout": "1.5s"}}, "protection.timeout = '1.5s': must be a duration like 30s"),
    ],
)
def test_the_route_component_refuses_limits_the_line_cannot_express(args: dict[str, Any], expected: str) -> None:
    checker = InputChecker("LambdaRoute", "echo")
    check_route_args(checker, {"path": "/echo", "backend_name": "echo", **args})
    with pytest.raises(ComponentInputError, match=re.escape(expected)):
        checker.done()


def test_the_function_component_refuses_an_image_with_code_and_a_zip_without(tmp_path: Path) -> None:
    for args, expected in (
        ({"package_type": "Image", "image_uri": IMAGE, "runtime": "python3.13"}, "runtime = '(set)': is not used"),
        ({"package_type": "Image"}, "imageUri = (unset): is required"),
        ({}, "code = (unset): is required"),
        ({"code": "x", "image_uri": IMAGE}, "is only for packageType Image"),
    ):
        checker = InputChecker("LambdaFunction", "f")
        check_function_args(checker, cast(Any, {"function_name": "f", **args}))
        with pytest.raises(ComponentInputError, match=re.escape(expected)):
            checker.done()


def test_the_body_limit_joins_the_routes_one_traffic_policy_beside_its_protection() -> None:
    """Convention: one TrafficPolicy per HTTPRoute; the body limit is a field of it, not a policy of its own."""
    spec, _, _, _ = protection_objects({"rate_limit": {"requests_per_second": 10}, "max_request_size": "6Mi"}, "echo")
    assert spec.kinds() == {"rateLimit", "requestBody"}
    for line in ("v2.1", "v2.2", "v2.3", "v2.4", "main"):
        policy = traffic_policy_manifest(
            TRAFFIC_POLICY_SUPPORT[line], name="echo-protection", namespace="ns", route_name="echo", protection=spec
        )
        assert policy["spec"]["buffer"] == {"maxRequestSize": "6Mi"} and "rateLimit" in policy["spec"]
        assert object_errors(policy, line) == [], line
    # No `buffer` in v2.0.0's CRD: refused, naming the first line with it (v2.1.x's own CRD has it).
    (problem,) = protection_problems(TRAFFIC_POLICY_SUPPORT["v2.0"], spec.kinds())
    assert problem.startswith("protection requestBody (TrafficPolicy buffer.maxRequestSize) is not available")
    assert "it is first in kgateway v2.1" in problem


@pytest.mark.parametrize("size", ["6 MB", "0", "4Gi", "5000Mi", "-1"])
def test_route_protection_refuses_a_body_limit_the_crd_refuses(size: str) -> None:
    checker = InputChecker("RouteProtection", "echo")
    check_protection_args(checker, {"max_request_size": size})
    assert [p.name for p in checker.problems] == ["maxRequestSize"]


@pytest.mark.parametrize("line", list(BASIS))
def test_the_example_stack_passes_the_preflight_against_every_lines_crds(line: str) -> None:
    """stacks/Pulumi.functions.yaml as the CLI hands it over, on each line: every object it emits is one that line's
    CRDs accept (its 60 s function's route waits 71s, its 600 s one's 611s; the body limit only where the line has
    `buffer`). v2.0 has no payloadTransformMode (Envoy's transformation always applies): the key is left out there."""
    config, secret_keys = stack_config("functions")
    config["kgateway-lambda:kgatewayVersion"] = line
    if line == "v2.0":
        functions = json.loads(config["kgateway-lambda:functions"])
        functions[1].pop("payloadTransformMode")
        config["kgateway-lambda:functions"] = json.dumps(functions)
    settings = load_settings(MappingConfigSource(config, set(secret_keys)))
    found = [manifest for _, manifest in objects(settings)]
    timeouts = {m["metadata"]["name"]: m["spec"]["rules"][0]["timeouts"] for m in found if m["kind"] == "HTTPRoute"}
    assert timeouts == {"greet": {"request": "71s"}, "uptime": {"request": "611s"}}
    policies = sorted(m["metadata"]["name"] for m in found if m["kind"] == "TrafficPolicy")
    assert policies == (
        ["greet-protection", "uptime-protection"] if line in ("v2.1", "v2.2", "v2.3", "v2.4", "main") else []
    )
    for manifest in found:
        assert object_errors(manifest, line) == [], (manifest["kind"], manifest["metadata"]["name"])


def test_protection_and_the_body_limit_share_one_policy_and_a_protection_timeout_wins(tmp_path: Path) -> None:
    """One TrafficPolicy per HTTPRoute: the stack's protection and the Lambda body limit in the same object; the
    route's one timeout is the protection's when it gives one, else the Sync function's own."""
    functions: list[dict[str, Any]] = [
        {"name": "greet", "source": "greet-python", "runtime": "python3.13", "timeout": 60},
        {"name": "quick", "source": "echo"},
    ]
    routes = [
        {"function": "greet", "path": "/greet"},
        {"function": "quick", "path": "/quick", "protection": {"timeout": "5s"}},
    ]
    run = stack(
        tmp_path,
        functions,
        kgatewayVersion="v2.2",
        protection={"rateLimit": {"requestsPerSecond": 10}},
        routes=routes,
    )
    policies = {r.inputs["metadata"]["name"]: r.inputs["spec"] for r in run.by_type(POLICY)}
    assert set(policies) == {"greet-protection", "quick-protection"}
    assert (
        policies["greet-protection"]["buffer"] == {"maxRequestSize": "6Mi"}
        and "rateLimit" in policies["greet-protection"]
    )
    assert "rateLimit" not in policies["quick-protection"]  # its own protection replaces the stack's
    timeouts = {m["metadata"]["name"]: m["spec"]["rules"][0]["timeouts"] for m in kubernetes_manifests(run)
                if m["kind"] == "HTTPRoute"}  # fmt: skip
    assert timeouts == {"greet": {"request": "71s"}, "quick": {"request": "5s"}}
