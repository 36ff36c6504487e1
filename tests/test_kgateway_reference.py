"""The shape of each named release line is what `shape_from_crd` reads from that line's real CRD."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from components.kgateway_api import KGATEWAY_VERSIONS, UnsupportedBackendCrdError, shape_from_crd
from tests.support.kgateway_reference import BASIS, V2_1, backend_crd, crd_errors


@pytest.mark.parametrize("version", list(KGATEWAY_VERSIONS))
def test_each_named_line_is_the_shape_its_real_crd_gives(version: str) -> None:
    read = shape_from_crd(backend_crd(BASIS[version].backend_crd), version)
    assert read == KGATEWAY_VERSIONS[version]


def sdk_spelling(node: Any) -> Any:
    """The CRD with the key names pulumi-kubernetes' schema gives them (its generator renames x-kubernetes-*)."""
    names: dict[str, str] = {
        "openAPIV3Schema": "open_apiv3_schema",
        "additionalPrinterColumns": "additional_printer_columns",
    }
    if isinstance(node, dict):
        return {
            names.get(k, k.replace("-", "_") if k.startswith("x-kubernetes-") else k): sdk_spelling(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [sdk_spelling(v) for v in node]
    return node


@pytest.mark.parametrize("version", ["v2.0", "v2.2", "main"])
def test_either_spelling_of_the_schema_keys_gives_the_same_shape(version: str) -> None:
    crd = backend_crd(BASIS[version].backend_crd)
    assert shape_from_crd(sdk_spelling(crd), version) == shape_from_crd(crd, version)


def test_v2_1s_own_crd_has_what_the_derivation_from_v2_2_assumed() -> None:
    """v2.1 once had no file and was v2.2.x's with `type` required and its enum without GCP; v2.1.x's own file
    (program/crds/UPSTREAM.md) says the same about the Backend, so the shape emitted for v2.1 did not change."""
    spec = backend_crd(V2_1)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert "type" in spec["required"]
    assert spec["properties"]["type"]["enum"] == ["AI", "AWS", "Static", "DynamicForwardProxy", "MCP"]
    assert shape_from_crd(backend_crd(V2_1), "v2.1") == KGATEWAY_VERSIONS["v2.1"]


def test_the_older_lines_read_type_without_a_guard() -> None:
    """Why v2.2 and v2.3 keep `type: AWS`: their CEL rules fail to evaluate without it (as an API server's would)."""
    backend: dict[str, Any] = {
        "apiVersion": "gateway.kgateway.dev/v1alpha1",
        "kind": "Backend",
        "metadata": {"name": "echo", "namespace": "kgateway-system"},
        "spec": {"aws": {"region": "us-east-1", "accountId": "123456789012", "lambda": {"functionName": "echo"}}},
    }
    for version in ("v2.2", "v2.3"):
        errors = crd_errors(backend, f"{BASIS[version].backend_crd}-backends.yaml")
        assert any("CEL error" in e and "type" in e for e in errors), (version, errors)
        with_type = {**backend, "spec": {**backend["spec"], "type": "AWS"}}
        assert crd_errors(with_type, f"{BASIS[version].backend_crd}-backends.yaml") == []
    assert crd_errors(backend, f"{BASIS['main'].backend_crd}-backends.yaml") == []


def test_a_crd_without_a_lambda_backend_is_refused() -> None:
    crd = copy.deepcopy(backend_crd(BASIS["main"].backend_crd))
    del crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["aws"]
    with pytest.raises(UnsupportedBackendCrdError, match=r"has no spec\.aws\.lambda\.functionName"):
        shape_from_crd(crd, "x")
    crd["spec"]["versions"][0]["served"] = False
    with pytest.raises(UnsupportedBackendCrdError, match="serves no v1alpha1"):
        shape_from_crd(crd, "x")


def test_every_release_line_is_newer_than_the_last() -> None:
    """Versions are listed oldest first: error messages and the upgrade test rely on that order."""
    released = [name for name in KGATEWAY_VERSIONS if name != "main"]
    assert released == sorted(released, key=lambda n: tuple(int(p) for p in n[1:].split(".")))
    assert list(KGATEWAY_VERSIONS)[-1] == "main"
    assert [dataclasses.replace(v, name="") for v in KGATEWAY_VERSIONS.values()][-2:] == [
        dataclasses.replace(KGATEWAY_VERSIONS["main"], name="")
    ] * 2
