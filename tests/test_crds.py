"""Every Backend and HTTPRoute we emit passes the real upstream CRD schemas (strict fields + CEL rules)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from components.engine import reveal
from components.kgateway_api import (
    KGATEWAY_VERSIONS,
    LambdaTarget,
    SecretAuth,
    backend_manifest,
    http_route_manifest,
)
from tests.conftest import ACCOUNT, RunStack
from tests.kgateway_reference import object_errors


def emitted(run_stack: RunStack, overrides: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    run = run_stack(overrides)
    backend = reveal(run.one("kubernetes:gateway.kgateway.dev/v1alpha1:Backend").inputs)
    route = reveal(run.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute").inputs)
    return backend, route


OPTIONS = {
    "qualifier": "live",
    "invocationMode": "Async",
    "endpointUrl": "http://moto.local:5000",
    "functionName": "Echo_Fn",
    "routePath": "/api/v1/echo",
    "gatewayListener": "http",
}


@pytest.mark.parametrize("version", list(KGATEWAY_VERSIONS))
@pytest.mark.parametrize(
    "overrides",
    [
        {},
        OPTIONS,
        {"qualifier": "7", "payloadTransformMode": "Envoy"},
    ],
    ids=["default", "options", "payload"],
)
def test_emitted_objects_validate(run_stack: RunStack, version: str, overrides: dict[str, str]) -> None:
    if "payloadTransformMode" in overrides and not KGATEWAY_VERSIONS[version].has_payload_transform_mode:
        overrides = {k: v for k, v in overrides.items() if k != "payloadTransformMode"}
    backend, route = emitted(run_stack, {**overrides, "kgatewayVersion": version})
    assert object_errors(backend, version) == []
    assert object_errors(route, version) == []


def test_v2_0_shape_has_type_and_account_on_aws(run_stack: RunStack) -> None:
    backend, _ = emitted(run_stack, {"kgatewayVersion": "v2.0"})
    assert backend["spec"]["type"] == "AWS"
    assert backend["spec"]["aws"]["accountId"] == ACCOUNT
    assert "accountId" not in backend["spec"]["aws"]["lambda"]
    assert "payloadTransformMode" not in backend["spec"]["aws"]["lambda"]


def test_the_validator_rejects_what_an_api_server_would() -> None:
    """The checks can fail: unknown fields, schema violations and CEL rules are caught."""
    good = backend_manifest(
        KGATEWAY_VERSIONS["main"],
        name="echo",
        namespace="kgateway-system",
        target=LambdaTarget(function_name="echo", region="us-east-1", account_id=ACCOUNT),
        auth=SecretAuth("aws-creds"),
    )
    assert object_errors(good, "main") == []

    unknown_field = copy.deepcopy(good)
    unknown_field["spec"]["aws"]["lambdaFunctions"] = [{"logicalName": "echo"}]
    assert any("lambdaFunctions" in e for e in object_errors(unknown_field, "main"))

    no_account = copy.deepcopy(good)
    del no_account["spec"]["aws"]["lambda"]["accountId"]
    assert any("accountId must be specified" in e for e in object_errors(no_account, "main"))

    no_secret_ref = copy.deepcopy(good)
    del no_secret_ref["spec"]["aws"]["auth"]["secretRef"]
    assert any("secretRef must be specified" in e for e in object_errors(no_secret_ref, "main"))

    # The main shape lacks v2.0.0's required spec.type and spec.aws.accountId.
    assert object_errors(good, "v2.0")

    route = http_route_manifest(
        name="echo",
        namespace="kgateway-system",
        gateway_name="http",
        gateway_namespace="kgateway-system",
        listener_name=None,
        path="echo",
        backend_name="echo",
    )
    assert any("absolute path" in e for e in object_errors(route, "main"))


def test_the_guides_literal_backend_is_rejected() -> None:
    """The seed guide's Gloo-era Backend: no released kgateway CRD accepts it (see ../shared/crds/SOURCES.md)."""
    guide = {
        "apiVersion": "gateway.kgateway.dev/v1alpha1",
        "kind": "Backend",
        "metadata": {"name": "lambda", "namespace": "kgateway-system"},
        "spec": {
            "type": "AWS",
            "aws": {
                "region": "us-east-1",
                "secretRef": {"name": "aws-creds", "namespace": "kgateway-system"},
                "lambdaFunctions": [{"lambdaFunctionName": "echo", "logicalName": "echo"}],
            },
        },
    }
    for version in KGATEWAY_VERSIONS:
        assert object_errors(guide, version), version


@pytest.mark.parametrize("older", list(KGATEWAY_VERSIONS))
def test_upgrading_kgateway_keeps_the_stack_valid(run_stack: RunStack, older: str) -> None:
    """What we emit for a release is accepted by every newer one: upgrading kgateway first breaks nothing."""
    backend, route = emitted(run_stack, {"kgatewayVersion": older, "qualifier": "live"})
    newer = list(KGATEWAY_VERSIONS)[list(KGATEWAY_VERSIONS).index(older) :]
    for version in newer:
        assert object_errors(backend, version) == [], version
        assert object_errors(route, version) == [], version


# (spec.type present, where the account id is, payloadTransformMode present), per kgateway's API reference.
EXPECTED_SHAPES = {
    "v2.0": (True, "aws", False),
    "v2.1": (True, "aws", True),
    "v2.2": (False, "aws", True),
    "v2.3": (False, "aws", True),
    "v2.4": (False, "lambda", True),
    "main": (False, "lambda", True),
}


@pytest.mark.parametrize("version", list(KGATEWAY_VERSIONS))
def test_each_release_gets_its_own_shape(run_stack: RunStack, version: str) -> None:
    backend, _ = emitted(run_stack, {"kgatewayVersion": version})
    has_type, account_on, has_payload = EXPECTED_SHAPES[version]
    aws = backend["spec"]["aws"]
    assert ("type" in backend["spec"]) is has_type
    assert (aws if account_on == "aws" else aws["lambda"])["accountId"] == ACCOUNT
    assert ("accountId" in aws["lambda"]) is (account_on == "lambda")
    assert ("payloadTransformMode" in aws["lambda"]) is has_payload


def test_a_newer_shape_is_refused_by_an_older_release(run_stack: RunStack) -> None:
    """The documented-field check can fail: fields a release lacks, values it lacks, fields it requires."""
    v2_4, _ = emitted(run_stack, {"kgatewayVersion": "v2.4"})
    assert "spec.aws.lambda.accountId: not a field of kgateway v2.3" in object_errors(v2_4, "v2.3")
    assert "spec.type: required by kgateway v2.1" in object_errors(v2_4, "v2.1")
    assume_role = copy.deepcopy(v2_4)
    assume_role["spec"]["aws"]["auth"] = {
        "type": "AssumeRole",
        "assumeRole": {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/invoke"},
    }
    assert object_errors(assume_role, "v2.4") == []
    assert any("kgateway v2.3 allows ['Secret']" in e for e in object_errors(assume_role, "v2.3"))
    v2_1, _ = emitted(run_stack, {"kgatewayVersion": "v2.1"})
    assert any("payloadTransformMode" in e for e in object_errors(v2_1, "v2.0"))
