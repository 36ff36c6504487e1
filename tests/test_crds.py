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
from tests.conftest import ACCOUNT, RunStack, require_crds
from tests.crd_schema import schema_errors


def backend_errors(manifest: dict[str, Any], version: str) -> list[str]:
    crds = require_crds()
    return schema_errors(manifest, crds / KGATEWAY_VERSIONS[version].backend_crd, "v1alpha1")


def route_errors(manifest: dict[str, Any], version: str) -> list[str]:
    crds = require_crds()
    gateway_api = KGATEWAY_VERSIONS[version].gateway_api_crd_version
    return schema_errors(manifest, crds / f"gateway-api-{gateway_api}-httproutes.yaml", "v1")


def emitted(run_stack: RunStack, overrides: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    run = run_stack(overrides)
    backend = reveal(run.one("kubernetes:gateway.kgateway.dev/v1alpha1:Backend").inputs)
    route = reveal(run.one("kubernetes:gateway.networking.k8s.io/v1:HTTPRoute").inputs)
    return backend, route


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"kgatewayVersion": "v2.0"},
        {
            "qualifier": "live",
            "invocationMode": "Async",
            "payloadTransformMode": "Envoy",
        },
        {
            "kgatewayVersion": "v2.0",
            "qualifier": "7",
            "endpointUrl": "http://moto.local:5000",
        },
        {
            "functionName": "Echo_Fn",
            "routePath": "/api/v1/echo",
            "gatewayListener": "http",
        },
    ],
    ids=["default", "v2.0", "main-options", "v2.0-options", "names"],
)
def test_emitted_objects_validate(run_stack: RunStack, overrides: dict[str, str]) -> None:
    version = overrides.get("kgatewayVersion", "main")
    backend, route = emitted(run_stack, overrides)
    assert backend_errors(backend, version) == []
    assert route_errors(route, version) == []


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
    assert backend_errors(good, "main") == []

    unknown_field = copy.deepcopy(good)
    unknown_field["spec"]["aws"]["lambdaFunctions"] = [{"logicalName": "echo"}]
    assert any("lambdaFunctions" in e for e in backend_errors(unknown_field, "main"))

    no_account = copy.deepcopy(good)
    del no_account["spec"]["aws"]["lambda"]["accountId"]
    assert any("accountId must be specified" in e for e in backend_errors(no_account, "main"))

    no_secret_ref = copy.deepcopy(good)
    del no_secret_ref["spec"]["aws"]["auth"]["secretRef"]
    assert any("secretRef must be specified" in e for e in backend_errors(no_secret_ref, "main"))

    # The main shape lacks v2.0.0's required spec.type and spec.aws.accountId.
    assert backend_errors(good, "v2.0")

    route = http_route_manifest(
        name="echo",
        namespace="kgateway-system",
        gateway_name="http",
        gateway_namespace="kgateway-system",
        listener_name=None,
        path="echo",
        backend_name="echo",
    )
    assert any("absolute path" in e for e in route_errors(route, "main"))


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
        assert backend_errors(guide, version), version


def test_the_v2_0_shape_is_portable_to_the_newest_crd(run_stack: RunStack) -> None:
    """What we emit for v2.0 is also accepted by kgateway main: the shape for releases between the two."""
    backend, route = emitted(run_stack, {"kgatewayVersion": "v2.0", "qualifier": "live"})
    assert backend_errors(backend, "main") == []
    assert route_errors(route, "main") == []
