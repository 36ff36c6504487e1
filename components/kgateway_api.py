"""The kgateway and Gateway API object shapes, per supported kgateway version.

Pure functions from plain values to Kubernetes manifests (dicts): the components wrap them in Pulumi
resources, the tests validate them against the real upstream CRD schemas. Every field name here is the
CRD's own; see program/crds/UPSTREAM.md in the repository for where each schema comes from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import pulumi

# pulumi-kubernetes (>= 4.18) waits for these before it reports the object created; `skipAwait` turns it off.
from .readiness import ROUTE_ACCEPTED, SKIP_AWAIT, WAIT_FOR

BACKEND_API_VERSION = "gateway.kgateway.dev/v1alpha1"
BACKEND_GROUP = "gateway.kgateway.dev"
HTTPROUTE_API_VERSION = "gateway.networking.k8s.io/v1"


@dataclass(frozen=True)
class KgatewayVersion:
    """What one kgateway release line accepts in a Lambda `Backend`.

    Each named line is what `shape_from_crd` reads from that line's real CRD (program/crds in the repository;
    v2.1, which has no file, is v2.2.x's CRD with `type` required): a test keeps the two equal.
    """

    name: str
    # `spec.type: AWS` must be set: required up to v2.1.x; deprecated from v2.2, but the v2.2.x and v2.3.x CEL
    # rules still read `self.type` without a `has()` guard, so an object without it fails to validate there.
    requires_type_field: bool
    # Where the account id lives: `spec.aws.accountId` (up to v2.3.x) or `spec.aws.lambda.accountId` (v2.4+).
    account_id_on_lambda: bool
    # `spec.aws.lambda.payloadTransformMode` (None|Envoy): from v2.1.
    has_payload_transform_mode: bool
    # `spec.aws.auth.type: AssumeRole` with `assumeRole.roleArn`: from v2.4.
    has_assume_role_auth: bool
    # Whether the controller writes `status.conditions[Accepted]` on Backends (only then can we wait for it).
    backend_reports_accepted: bool


KGATEWAY_VERSIONS: dict[str, KgatewayVersion] = {
    version.name: version
    for version in (
        KgatewayVersion(
            name="v2.0",
            requires_type_field=True,
            account_id_on_lambda=False,
            has_payload_transform_mode=False,
            has_assume_role_auth=False,
            backend_reports_accepted=False,
        ),
        KgatewayVersion(
            name="v2.1",
            requires_type_field=True,
            account_id_on_lambda=False,
            has_payload_transform_mode=True,
            has_assume_role_auth=False,
            backend_reports_accepted=True,
        ),
        KgatewayVersion(
            name="v2.2",
            requires_type_field=True,
            account_id_on_lambda=False,
            has_payload_transform_mode=True,
            has_assume_role_auth=False,
            backend_reports_accepted=True,
        ),
        KgatewayVersion(
            name="v2.3",
            requires_type_field=True,
            account_id_on_lambda=False,
            has_payload_transform_mode=True,
            has_assume_role_auth=False,
            backend_reports_accepted=True,
        ),
        KgatewayVersion(
            name="v2.4",
            requires_type_field=False,
            account_id_on_lambda=True,
            has_payload_transform_mode=True,
            has_assume_role_auth=True,
            backend_reports_accepted=True,
        ),
        KgatewayVersion(
            name="main",
            requires_type_field=False,
            account_id_on_lambda=True,
            has_payload_transform_mode=True,
            has_assume_role_auth=True,
            backend_reports_accepted=True,
        ),
    )
}
# Read the shape from the cluster's Backend CRD at deploy time (see `shape_from_crd`).
AUTO = "auto"
DEFAULT_KGATEWAY_VERSION = AUTO
BACKEND_CRD_NAME = "backends.gateway.kgateway.dev"
CRD_TYPE = "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition"
# pulumi-kubernetes' schema names for the CRD keys an SDK cannot spell (its generator renames `x-kubernetes-*`):
# a read may hand them back either way, so both spellings are read.
_SDK_SPELLINGS = {"open_apiv3_schema": "openAPIV3Schema", "additional_printer_columns": "additionalPrinterColumns"}


def _api_spelling(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            _SDK_SPELLINGS.get(k, k.replace("_", "-") if k.startswith("x_kubernetes_") else k): _api_spelling(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_api_spelling(v) for v in node]
    return node


class UnsupportedBackendCrdError(pulumi.RunError):
    """The installed Backend CRD cannot express a Lambda Backend (or not the one asked for)."""


def _served_v1alpha1(crd: Mapping[str, Any]) -> Mapping[str, Any]:
    for version in (crd.get("spec") or {}).get("versions") or []:
        if version.get("name") == "v1alpha1" and version.get("served"):
            return version  # type: ignore[no-any-return]
    raise UnsupportedBackendCrdError(f"the CRD {BACKEND_CRD_NAME} serves no v1alpha1 version")


def shape_from_crd(crd: Mapping[str, Any], name: str) -> KgatewayVersion:
    """The Backend shape a kgateway CRD's served `v1alpha1` schema accepts, decided from the schema itself.

    So a build between releases works too: where the account id goes, whether `payloadTransformMode` exists,
    whether `type` must be set (required, or read by a CEL rule without a `has()` guard), which auth types
    exist, and whether the controller reports `Accepted` on Backends (the CRD's `Accepted` printer column).
    """
    served = _served_v1alpha1(_api_spelling(crd))
    spec = served["schema"]["openAPIV3Schema"]["properties"]["spec"]
    aws = spec["properties"].get("aws") or {}
    lambda_props = ((aws.get("properties") or {}).get("lambda") or {}).get("properties")
    if not lambda_props or "functionName" not in lambda_props:
        raise UnsupportedBackendCrdError(f"the CRD {BACKEND_CRD_NAME} has no spec.aws.lambda.functionName")
    auth = (aws["properties"].get("auth") or {}).get("properties") or {}
    type_rules = [r["rule"] for r in spec.get("x-kubernetes-validations") or [] if "self.type" in r["rule"]]
    requires_type = "type" in (spec.get("required") or []) or any("has(self.type)" not in r for r in type_rules)
    if requires_type and "AWS" not in ((spec["properties"].get("type") or {}).get("enum") or []):
        raise UnsupportedBackendCrdError(f"the CRD {BACKEND_CRD_NAME} requires spec.type but has no type AWS")
    if "accountId" not in lambda_props and "accountId" not in aws["properties"]:
        raise UnsupportedBackendCrdError(f"the CRD {BACKEND_CRD_NAME} has no field for the account id")
    return KgatewayVersion(
        name=name,
        requires_type_field=requires_type,
        account_id_on_lambda="accountId" in lambda_props,
        has_payload_transform_mode="payloadTransformMode" in lambda_props,
        has_assume_role_auth="AssumeRole" in ((auth.get("type") or {}).get("enum") or []),
        backend_reports_accepted=any(c.get("name") == "Accepted" for c in served.get("additionalPrinterColumns") or []),
    )


def describe_shape(shape: KgatewayVersion) -> str:
    """One line for the plan and the deploy log: which Backend shape is emitted and why."""
    return (
        f"kgateway Backend shape {shape.name}: spec.type {'AWS' if shape.requires_type_field else 'omitted'}, "
        f"account id on {'spec.aws.lambda' if shape.account_id_on_lambda else 'spec.aws'}, "
        f"payloadTransformMode {'yes' if shape.has_payload_transform_mode else 'no'}, "
        f"auth types {'Secret, AssumeRole' if shape.has_assume_role_auth else 'Secret'} or ambient, "
        f"{'waits' if shape.backend_reports_accepted else 'does not wait'} for the Backend's Accepted"
    )


def versions_with(feature: Callable[[KgatewayVersion], bool]) -> list[str]:
    """Names of the versions that have a feature, oldest first (for error messages)."""
    return [version.name for version in KGATEWAY_VERSIONS.values() if feature(version)]


InvocationMode = Literal["Sync", "Async"]
PayloadTransformMode = Literal["None", "Envoy"]


@dataclass(frozen=True)
class SecretAuth:
    """Sign requests with the keys in a Secret in the Backend's own namespace."""

    secret_name: pulumi.Input[str]


@dataclass(frozen=True)
class AssumeRoleAuth:
    """The gateway's ambient identity assumes this role (STS role chaining) to sign requests."""

    role_arn: pulumi.Input[str]


@dataclass(frozen=True)
class LambdaTarget:
    """The function a Backend invokes and how.

    Name, region and account may be Pulumi outputs: they are only placed into the manifest, never read.
    """

    function_name: pulumi.Input[str]
    region: pulumi.Input[str]
    account_id: pulumi.Input[str]
    qualifier: pulumi.Input[str] | None = None
    invocation_mode: InvocationMode = "Sync"
    # Unset: "None" (raw pass-through, the guide's response) where the shape has the switch, omitted where not.
    payload_transform_mode: PayloadTransformMode | None = None
    endpoint_url: str | None = None


def readiness_annotations(kind: str, version: KgatewayVersion, wait: bool) -> dict[str, str]:
    """Annotations that make `pulumi up` wait until kgateway accepted the object (or not wait at all)."""
    if not wait:
        return {SKIP_AWAIT: "true"}
    if kind == "HTTPRoute":
        return {WAIT_FOR: json.dumps(ROUTE_ACCEPTED)}
    if kind == "Backend" and version.backend_reports_accepted:
        return {WAIT_FOR: "condition=Accepted"}
    return {}


def _metadata(name: str, namespace: str, annotations: dict[str, str]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if annotations:
        metadata["annotations"] = annotations
    return metadata


def backend_manifest(
    version: KgatewayVersion,
    *,
    name: str,
    namespace: str,
    target: LambdaTarget,
    auth: SecretAuth | AssumeRoleAuth | None,
    wait: bool = True,
) -> dict[str, Any]:
    """A `Backend` for one Lambda function in the shape `version` accepts; no `auth`: ambient credentials."""
    lambda_spec: dict[str, Any] = {"functionName": target.function_name}
    if target.qualifier is not None:
        lambda_spec["qualifier"] = target.qualifier
    lambda_spec["invocationMode"] = target.invocation_mode
    if target.endpoint_url is not None:
        lambda_spec["endpointURL"] = target.endpoint_url
    if version.has_payload_transform_mode:
        lambda_spec["payloadTransformMode"] = target.payload_transform_mode or "None"
    elif target.payload_transform_mode is not None:
        raise UnsupportedBackendCrdError(
            f"payloadTransformMode = {target.payload_transform_mode!r} cannot be expressed: {describe_shape(version)}."
            " Unset payloadTransformMode, or install kgateway v2.1 or newer"
        )

    aws_spec: dict[str, Any] = {"region": target.region}
    if version.account_id_on_lambda:
        lambda_spec["accountId"] = target.account_id
    else:
        aws_spec["accountId"] = target.account_id
    if isinstance(auth, SecretAuth):
        aws_spec["auth"] = {"type": "Secret", "secretRef": {"name": auth.secret_name}}
    elif isinstance(auth, AssumeRoleAuth):
        if not version.has_assume_role_auth:
            raise UnsupportedBackendCrdError(
                f"credentialsMode = 'assume-role' needs Backend auth type AssumeRole, which cannot be expressed: "
                f"{describe_shape(version)}. Use credentialsMode 'irsa', or install kgateway v2.4 or newer"
            )
        aws_spec["auth"] = {"type": "AssumeRole", "assumeRole": {"roleArn": auth.role_arn}}
    aws_spec["lambda"] = lambda_spec

    spec: dict[str, Any] = {}
    if version.requires_type_field:
        spec["type"] = "AWS"
    spec["aws"] = aws_spec
    return {
        "apiVersion": BACKEND_API_VERSION,
        "kind": "Backend",
        "metadata": _metadata(name, namespace, readiness_annotations("Backend", version, wait)),
        "spec": spec,
    }
