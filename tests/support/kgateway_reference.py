"""Which real CRD checks what we emit for each kgateway release line: the program's own table
(program/crd_validation.py `BASIS`), applied to the real upstream files in program/crds (byte copies, whose
SHA-256 a test checks against program/crds/SOURCES.md). Every line has files of its own (v2.1: the v2.1.x release
branch, program/crds/UPSTREAM.md); nothing is transcribed by hand.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from program import crd_validation
from program.crd_validation import BASIS, MAIN, V2_0, V2_1, V2_2, V2_3
from program.crd_validation import CRDS as SHIPPED_CRDS

__all__ = ["BASIS", "MAIN", "V2_0", "V2_1", "V2_2", "V2_3"]

# The real upstream CRDs, as the program ships them (program/crds/SOURCES.md): a clone holds all the tests need.
CRDS = SHIPPED_CRDS
# The cluster the tests deploy to has kgateway main (= v2.4.x) installed unless a test says otherwise.
MAIN_BACKEND_CRD = CRDS / "kgateway-main-354c0f6-backends.yaml"
# Its TrafficPolicy CRD, which route protection reads with kgatewayVersion auto.
MAIN_TRAFFIC_POLICY_CRD = CRDS / "kgateway-main-354c0f6-trafficpolicies.yaml"


def require_crds() -> Path:
    """The folder of real CRDs (shipped in the repository, so never missing)."""
    return CRDS


# Every real Backend CRD, oldest first (`auto` is tested against each).
BACKEND_CRDS = (V2_0, V2_1, V2_2, V2_3, MAIN)


@cache
def backend_crd(name: str) -> dict[str, Any]:
    """One of BACKEND_CRDS as a document."""
    return yaml.safe_load((require_crds() / f"{name}-backends.yaml").read_text())  # type: ignore[no-any-return]


def object_errors(manifest: dict[str, Any], version: str) -> list[str]:
    """Everything an API server running kgateway `version` would refuse in this object."""
    return crd_validation.object_errors(manifest, version, require_crds())


def crd_errors(manifest: dict[str, Any], crd_file: str, served: str = "v1alpha1") -> list[str]:
    """What an API server with this CRD file (strict field validation, CEL) would refuse in the object."""
    return crd_validation.crd_errors(manifest, crd_file, served, require_crds())


CHECKED_KINDS = (
    "Backend",
    "GatewayParameters",
    "HTTPRoute",
    "ReferenceGrant",
    "Gateway",
    "TrafficPolicy",
    "GatewayExtension",
    "BackendConfigPolicy",
)
