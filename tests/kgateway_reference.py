"""What each kgateway release line accepts, as the tests check it, from two independent sources.

1. The real CRDs in ../shared/crds: kgateway v2.0.0 and main at 354c0f6, Gateway API v1.2.1 and v1.6.1.
2. For the releases whose CRDs are not there (v2.1 to v2.4): the `Backend` fields that kgateway's own
   per-release API reference documents (kgateway.dev, docs for envoy 2.1.x, 2.2.x, 2.3.x) and the v2.4.0
   release notes (AssumeRole auth; the EC2 backend, which moved the account id to `spec.aws.lambda`).
   Transcribed here by hand, field by field; the tests below check the transcription against the real CRDs.

An object for a release without its own CRD must pass the newest real CRD (kgateway keeps old fields for
backward compatibility, so it is a superset; its CEL rules still apply) *and* use only the fields that
release documents, with values it allows, and carry the fields it requires.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import require_crds
from tests.crd_schema import schema_errors

MAIN = "kgateway-main-354c0f6"
V2_0 = "kgateway-v2.0.0"


@dataclass(frozen=True)
class ValidationBasis:
    """The real CRDs an object for one kgateway release line must pass."""

    backend_crd: str
    backend_crd_is_own: bool
    gateway_parameters_crds: tuple[str, ...]
    gateway_api: tuple[str, ...]


# Releases between v2.0 and v2.4 built against Gateway API v1.3 to v1.5 (v2.4.0 moved to v1.6.1): what we emit
# there must pass both ends we have. GatewayParameters likewise must pass both kgateway CRDs we have.
BASIS: dict[str, ValidationBasis] = {
    "v2.0": ValidationBasis(V2_0, True, (V2_0,), ("v1.2.1",)),
    "v2.1": ValidationBasis(MAIN, False, (V2_0, MAIN), ("v1.2.1", "v1.6.1")),
    "v2.2": ValidationBasis(MAIN, False, (V2_0, MAIN), ("v1.2.1", "v1.6.1")),
    "v2.3": ValidationBasis(MAIN, False, (V2_0, MAIN), ("v1.2.1", "v1.6.1")),
    "v2.4": ValidationBasis(MAIN, False, (MAIN,), ("v1.6.1",)),
    "main": ValidationBasis(MAIN, True, (MAIN,), ("v1.6.1",)),
}

# Lambda-relevant leaf fields under `Backend.spec`, each with the values the release allows (None: any value
# the schema allows).
_SECRET_AUTH: dict[str, frozenset[str] | None] = {
    "aws.region": None,
    "aws.auth.type": frozenset({"Secret"}),
    "aws.auth.secretRef.name": None,
    "aws.lambda.functionName": None,
    "aws.lambda.qualifier": None,
    "aws.lambda.invocationMode": frozenset({"Sync", "Async"}),
    "aws.lambda.endpointURL": None,
}
_V2_0 = {**_SECRET_AUTH, "type": frozenset({"AWS"}), "aws.accountId": None}
_V2_1 = {**_V2_0, "aws.lambda.payloadTransformMode": frozenset({"None", "Envoy"})}
_V2_4 = {
    **_V2_1,
    "aws.lambda.accountId": None,
    "aws.auth.type": frozenset({"Secret", "AssumeRole"}),
    "aws.auth.assumeRole.roleArn": None,
}
DOCUMENTED_BACKEND_FIELDS: dict[str, dict[str, frozenset[str] | None]] = {
    "v2.0": _V2_0,
    "v2.1": _V2_1,
    "v2.2": _V2_1,  # `type` deprecated: "the backend type is inferred from the configuration"
    "v2.3": _V2_1,
    "v2.4": _V2_4,
    "main": _V2_4,
}
# Fields the release requires (v2.4 and main: an account id in either place, a CEL rule of the CRD).
REQUIRED_BACKEND_FIELDS: dict[str, tuple[str, ...]] = {
    "v2.0": ("type", "aws.accountId", "aws.lambda.functionName"),
    "v2.1": ("type", "aws.accountId", "aws.lambda.functionName"),
    "v2.2": ("aws.accountId", "aws.lambda.functionName"),
    "v2.3": ("aws.accountId", "aws.lambda.functionName"),
    "v2.4": ("aws.lambda.functionName",),
    "main": ("aws.lambda.functionName",),
}


def leaf_fields(node: Any, prefix: str = "") -> dict[str, Any]:
    """`{"a.b": value}` for every leaf of nested dicts."""
    if not isinstance(node, dict):
        return {prefix: node}
    leaves: dict[str, Any] = {}
    for key, value in node.items():
        leaves.update(leaf_fields(value, f"{prefix}.{key}" if prefix else key))
    return leaves


def documented_field_errors(backend: dict[str, Any], version: str) -> list[str]:
    """Fields the release does not document, values it does not allow, fields it requires but lacks."""
    documented = DOCUMENTED_BACKEND_FIELDS[version]
    leaves = leaf_fields(backend.get("spec", {}))
    errors = []
    for path, value in sorted(leaves.items()):
        if path not in documented:
            errors.append(f"spec.{path}: not a field of kgateway {version}")
        elif (allowed := documented[path]) is not None and value not in allowed:
            errors.append(f"spec.{path} = {value!r}: kgateway {version} allows {sorted(allowed)}")
    missing = [path for path in REQUIRED_BACKEND_FIELDS[version] if path not in leaves]
    errors += [f"spec.{path}: required by kgateway {version}" for path in missing]
    return errors


def _crd_checks(manifest: dict[str, Any], version: str) -> list[tuple[str, str]]:
    basis = BASIS[version]
    kind = manifest["kind"]
    if kind == "Backend":
        return [(f"{basis.backend_crd}-backends.yaml", "v1alpha1")]
    if kind == "GatewayParameters":
        return [(f"{crd}-gatewayparameters.yaml", "v1alpha1") for crd in basis.gateway_parameters_crds]
    plural = {"HTTPRoute": "httproutes", "ReferenceGrant": "referencegrants", "Gateway": "gateways"}[kind]
    served = manifest["apiVersion"].rsplit("/", 1)[1]
    return [(f"gateway-api-{api}-{plural}.yaml", served) for api in basis.gateway_api]


def object_errors(manifest: dict[str, Any], version: str) -> list[str]:
    """Everything an API server running kgateway `version` would refuse in this object."""
    crds: Path = require_crds()
    errors = [
        f"{crd}: {error}"
        for crd, served in _crd_checks(manifest, version)
        for error in schema_errors(manifest, crds / crd, served)
    ]
    if manifest["kind"] == "Backend":
        errors += documented_field_errors(manifest, version)
    return errors


CHECKED_KINDS = ("Backend", "GatewayParameters", "HTTPRoute", "ReferenceGrant", "Gateway")
