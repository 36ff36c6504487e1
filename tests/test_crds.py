"""Every Backend and HTTPRoute we emit passes the real upstream CRD schemas (strict fields + CEL rules)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from components.gateway_api_objects import http_route_manifest
from components.kgateway_api import KGATEWAY_VERSIONS, LambdaTarget, SecretAuth, backend_manifest, shape_from_crd
from tests.conftest import RunStack
from tests.support.fake_aws import ACCOUNT, FakeAwsMocks
from tests.support.kgateway_reference import BACKEND_CRDS, BASIS, backend_crd, crd_errors, object_errors
from tools.engine import reveal


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
    """The seed guide's Gloo-era Backend: no released kgateway CRD accepts it (see program/crds/UPSTREAM.md)."""
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


# (spec.type present, where the account id is, payloadTransformMode present), as each line's real CRD accepts.
EXPECTED_SHAPES = {
    "v2.0": (True, "aws", False),
    "v2.1": (True, "aws", True),
    "v2.2": (True, "aws", True),
    "v2.3": (True, "aws", True),
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
    """The real CRDs refuse what an older release lacks: fields, enum values, required fields, CEL reads."""
    v2_4, _ = emitted(run_stack, {"kgatewayVersion": "v2.4"})
    v2_3_errors = object_errors(v2_4, "v2.3")
    assert any("'accountId' is a required property" in e for e in v2_3_errors), v2_3_errors
    assert any("Additional properties are not allowed ('accountId'" in e for e in v2_3_errors), v2_3_errors
    assert any("CEL error" in e for e in v2_3_errors), v2_3_errors
    assert any("'type' is a required property" in e for e in object_errors(v2_4, "v2.1"))
    assume_role = copy.deepcopy(v2_4)
    assume_role["spec"]["aws"]["auth"] = {
        "type": "AssumeRole",
        "assumeRole": {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/invoke"},
    }
    assert object_errors(assume_role, "v2.4") == []
    v2_3 = copy.deepcopy(assume_role)
    v2_3["spec"]["type"] = "AWS"
    v2_3["spec"]["aws"]["accountId"] = v2_3["spec"]["aws"]["lambda"].pop("accountId")
    assert any("'AssumeRole' is not one of ['Secret']" in e for e in object_errors(v2_3, "v2.3"))
    v2_1, _ = emitted(run_stack, {"kgatewayVersion": "v2.1"})
    assert any("payloadTransformMode" in e for e in object_errors(v2_1, "v2.0"))


ALL_OPTIONS = {
    **OPTIONS,
    "payloadTransformMode": "Envoy",
    "credentialsMode": "irsa",  # + GatewayParameters
    "oidcProvider": "https://oidc.eks.us-east-1.amazonaws.com/id/ABC123",
    "routes": json.dumps([{"path": "/api/v1/echo", "namespace": "team-a", "methods": ["POST"]}]),  # + ReferenceGrant
}
LINE_OF_CRD = {BASIS[line].backend_crd: line for line in ("v2.0", "v2.1", "v2.2", "v2.3", "main")}


@pytest.mark.parametrize("crd", BACKEND_CRDS)
@pytest.mark.parametrize("overrides", [{}, ALL_OPTIONS], ids=["guide", "every-option"])
def test_auto_emits_what_the_installed_crd_accepts(run_stack: RunStack, crd: str, overrides: dict[str, str]) -> None:
    """`auto` reads the cluster's Backend CRD: whatever release is installed, its own CRDs accept every object."""
    document = backend_crd(crd)
    if "payloadTransformMode" in overrides and not shape_from_crd(document, crd).has_payload_transform_mode:
        overrides = {k: v for k, v in overrides.items() if k != "payloadTransformMode"}
    run = run_stack({**overrides, "kgatewayVersion": "auto"}, mocks=FakeAwsMocks(kgateway_crd=document))
    backend = reveal(run.one("kubernetes:gateway.kgateway.dev/v1alpha1:Backend").inputs)
    assert crd_errors(backend, f"{crd}-backends.yaml") == []
    assert backend["spec"]["aws"]["lambda"]["functionName"] == overrides.get("functionName", "echo")
    kinds = set()
    for resource in run.resources:
        if resource.type.startswith("kubernetes:gateway") and resource.read_id is None:
            manifest = reveal(resource.inputs)
            assert object_errors(manifest, LINE_OF_CRD[crd]) == [], resource.name
            kinds.add(manifest["kind"])
    assert kinds == (
        {"Backend", "HTTPRoute", "ReferenceGrant", "GatewayParameters"} if overrides else {"Backend", "HTTPRoute"}
    )
    read = run.one("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition")
    assert read.read_id == "backends.gateway.kgateway.dev"
    # One read for the whole stack (components/cluster_reads.py), at its root, through the default provider.
    assert read.parent_urn.endswith("::pulumi:pulumi:Stack::kgateway-lambda-dev")


def test_auto_refuses_an_option_the_installed_crd_cannot_express(run_stack: RunStack) -> None:
    v2_0 = FakeAwsMocks(kgateway_crd=backend_crd(BASIS["v2.0"].backend_crd))
    with pytest.raises(
        Exception, match=r"payloadTransformMode = 'Envoy' cannot be expressed: kgateway Backend shape auto"
    ):
        run_stack({"kgatewayVersion": "auto", "payloadTransformMode": "Envoy"}, mocks=v2_0)
    v2_3 = FakeAwsMocks(kgateway_crd=backend_crd(BASIS["v2.3"].backend_crd))
    assume_role = {"credentialsMode": "assume-role", "ambientRoleArn": f"arn:aws:iam::{ACCOUNT}:role/proxy"}
    with pytest.raises(Exception, match=r"credentialsMode = 'assume-role' needs Backend auth type AssumeRole"):
        run_stack({"kgatewayVersion": "auto", **assume_role}, mocks=v2_3)
    run = run_stack({"kgatewayVersion": "auto", **assume_role})  # main has AssumeRole
    assert (
        reveal(run.one("kubernetes:gateway.kgateway.dev/v1alpha1:Backend").inputs)["spec"]["aws"]["auth"]["type"]
        == "AssumeRole"
    )


def test_auto_without_kgateway_crds_says_how_to_install_them(run_stack: RunStack) -> None:
    with pytest.raises(Exception, match=r"resource 'backends.gateway.kgateway.dev' does not exist") as failure:
        run_stack({"kgatewayVersion": "auto"}, mocks=FakeAwsMocks(kgateway_crd=None))
    (note,) = failure.value.__notes__
    assert note.startswith("error: kgateway's CRDs are not installed")
    assert "helm upgrade -i" in note and "kgatewayVersion" in note
