"""Which real CRD checks what we emit for each kgateway release line (../shared/crds, see its SOURCES.md).

| line       | Backend and GatewayParameters                     | Gateway API (HTTPRoute, ReferenceGrant, Gateway) |
|------------|---------------------------------------------------|--------------------------------------------------|
| v2.0       | kgateway-v2.0.0-*                                 | v1.2.1                                           |
| v2.1       | kgateway-v2.2.x-* with v2.1's differences applied | v1.2.1 and v1.6.1 (v2.1 builds against v1.4.0)   |
| v2.2       | kgateway-v2.2.x-207dff9-*                         | v1.2.1 and v1.6.1 (v1.4.1)                       |
| v2.3       | kgateway-v2.3.x-1eb924f-*                         | v1.2.1 and v1.6.1 (v1.5.1)                       |
| v2.4, main | kgateway-main-354c0f6-* (= the v2.4.x head)       | v1.6.1                                           |

v2.1 is the one line without a file of its own. SOURCES.md records how it differs from v2.3.x/v2.2.x: `type` is
required, with enum AI, AWS, Static, DynamicForwardProxy, MCP (no GCP). `v2_1_backend_crd` applies exactly
that to the v2.2.x file, the nearest release; nothing else is transcribed by hand.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from tests.conftest import require_crds
from tests.crd_schema import schema_errors

MAIN = "kgateway-main-354c0f6"
V2_3 = "kgateway-v2.3.x-1eb924f"
V2_2 = "kgateway-v2.2.x-207dff9"
V2_0 = "kgateway-v2.0.0"
V2_1_DERIVED = "kgateway-v2.1-derived"  # v2.2.x's file with v2.1's differences (SOURCES.md)


@dataclass(frozen=True)
class ValidationBasis:
    """The real CRDs an object for one kgateway release line must pass."""

    backend_crd: str
    gateway_parameters_crd: str
    gateway_api: tuple[str, ...]


BASIS: dict[str, ValidationBasis] = {
    "v2.0": ValidationBasis(V2_0, V2_0, ("v1.2.1",)),
    "v2.1": ValidationBasis(V2_1_DERIVED, V2_2, ("v1.2.1", "v1.6.1")),
    "v2.2": ValidationBasis(V2_2, V2_2, ("v1.2.1", "v1.6.1")),
    "v2.3": ValidationBasis(V2_3, V2_3, ("v1.2.1", "v1.6.1")),
    "v2.4": ValidationBasis(MAIN, MAIN, ("v1.6.1",)),
    "main": ValidationBasis(MAIN, MAIN, ("v1.6.1",)),
}
# Every real Backend CRD, oldest first (`auto` is tested against each).
BACKEND_CRDS = (V2_0, V2_1_DERIVED, V2_2, V2_3, MAIN)


@cache
def v2_1_backend_crd() -> dict[str, Any]:
    """v2.2.x's Backend CRD with v2.1's differences from SOURCES.md: `type` required, its enum without GCP."""
    crd: dict[str, Any] = copy.deepcopy(yaml.safe_load((require_crds() / f"{V2_2}-backends.yaml").read_text()))
    for version in crd["spec"]["versions"]:
        spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
        spec["required"] = sorted({*spec.get("required", []), "type"})
        spec["properties"]["type"]["enum"] = ["AI", "AWS", "Static", "DynamicForwardProxy", "MCP"]
    return crd


@cache
def backend_crd(name: str) -> dict[str, Any]:
    """One of BACKEND_CRDS as a document."""
    if name == V2_1_DERIVED:
        return v2_1_backend_crd()
    return yaml.safe_load((require_crds() / f"{name}-backends.yaml").read_text())  # type: ignore[no-any-return]


def _crd_checks(manifest: dict[str, Any], version: str) -> list[tuple[str, str]]:
    basis = BASIS[version]
    kind = manifest["kind"]
    if kind == "Backend":
        return [(f"{basis.backend_crd}-backends.yaml", "v1alpha1")]
    if kind == "GatewayParameters":
        return [(f"{basis.gateway_parameters_crd}-gatewayparameters.yaml", "v1alpha1")]
    plural = {"HTTPRoute": "httproutes", "ReferenceGrant": "referencegrants", "Gateway": "gateways"}[kind]
    served = manifest["apiVersion"].rsplit("/", 1)[1]
    return [(f"gateway-api-{api}-{plural}.yaml", served) for api in basis.gateway_api]


def object_errors(manifest: dict[str, Any], version: str) -> list[str]:
    """Everything an API server running kgateway `version` would refuse in this object."""
    return [
        f"{crd}: {error}"
        for crd, served in _crd_checks(manifest, version)
        for error in crd_errors(manifest, crd, served)
    ]


def crd_errors(manifest: dict[str, Any], crd_file: str, served: str = "v1alpha1") -> list[str]:
    """What an API server with this CRD file (strict field validation, CEL) would refuse in the object."""
    if crd_file == f"{V2_1_DERIVED}-backends.yaml":
        return schema_errors(manifest, v2_1_backend_crd(), served)
    return schema_errors(manifest, require_crds() / crd_file, served)


CHECKED_KINDS = ("Backend", "GatewayParameters", "HTTPRoute", "ReferenceGrant", "Gateway")
