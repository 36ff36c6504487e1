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


# Lambda's Init phase (the runtime starting and the handler's module loading on a cold start) may take up to 10 s
# before the handler's own `timeout` starts (Lambda Developer Guide, "Understanding the Lambda execution environment
# lifecycle": "The Init phase is limited to 10 seconds"), and the call to Lambda itself takes a moment: a synchronous
# route waits that long beyond the function's timeout, so the gateway never answers 504 while the function runs.
LAMBDA_INIT_LIMIT_S = 10
ROUTE_TIMEOUT_MARGIN_S = 1


def route_request_timeout(function_timeout_s: int) -> str:
    """The HTTPRoute rule's `timeouts.request` for a synchronously invoked function: its timeout, plus a cold
    start's Init phase and a second; in Gateway API's duration form (`^([0-9]{1,5}(h|m|s|ms)){1,4}$`, every line's
    HTTPRoute CRD: 1 to 5 digits per part, so seconds alone cover Lambda's 900 s)."""
    return f"{function_timeout_s + LAMBDA_INIT_LIMIT_S + ROUTE_TIMEOUT_MARGIN_S}s"


def http_route_manifest(
    *,
    name: str,
    namespace: str,
    gateway_name: str,
    gateway_namespace: str,
    listener_name: str | None,
    path: str,
    backend_name: pulumi.Input[str],
    backend_namespace: str | None = None,
    match: str = "PathPrefix",
    methods: tuple[str, ...] = (),
    headers: tuple[tuple[str, str], ...] = (),
    hostnames: tuple[str, ...] = (),
    wait: bool = True,
    request_timeout: str | None = None,
    cors: bool = False,
) -> dict[str, Any]:
    """An `HTTPRoute` sending `path` on the Gateway (one match per method) to a kgateway Lambda `Backend`;
    `request_timeout`: the rule's `timeouts.request` (Gateway API duration; every kgateway line maps it; for a Sync
    function the composite's default is `route_request_timeout`); `cors`: the route's policy answers CORS
    preflights, so a route limited to `methods` also matches OPTIONS."""
    parent_ref: dict[str, Any] = {"name": gateway_name, "namespace": gateway_namespace}
    if listener_name is not None:
        parent_ref["sectionName"] = listener_name
    base: dict[str, Any] = {"path": {"type": match, "value": path}}
    if headers:
        base["headers"] = [{"type": "Exact", "name": header, "value": value} for header, value in headers]
    if cors and methods and "OPTIONS" not in methods:
        # A browser's preflight is an OPTIONS request. Envoy's CORS filter answers it from the policy of the route
        # the request matched (kgateway puts `cors` in the route's per-filter config, TRAFFICPOLICY.md §4), so an
        # OPTIONS that matches no rule never reaches it: the router answers 404 and the browser refuses the call.
        # A non-preflight OPTIONS now also matches; it passes auth like any other method.
        methods = (*methods, "OPTIONS")
    matches = [{**base, "method": method} for method in methods] if methods else [base]
    backend_ref: dict[str, Any] = {"group": BACKEND_GROUP, "kind": "Backend", "name": backend_name}
    if backend_namespace is not None and backend_namespace != namespace:
        backend_ref["namespace"] = backend_namespace
    spec: dict[str, Any] = {"parentRefs": [parent_ref]}
    if hostnames:
        spec["hostnames"] = list(hostnames)
    rule: dict[str, Any] = {"matches": matches, "backendRefs": [backend_ref]}
    if request_timeout is not None:
        rule["timeouts"] = {"request": request_timeout}
    spec["rules"] = [rule]
    return {
        "apiVersion": HTTPROUTE_API_VERSION,
        "kind": "HTTPRoute",
        "metadata": _metadata(name, namespace, readiness_annotations("HTTPRoute", KGATEWAY_VERSIONS["main"], wait)),
        "spec": spec,
    }


REFERENCE_GRANT_API_VERSION = "gateway.networking.k8s.io/v1beta1"


def reference_grant_manifest(
    *, name: str, backend_namespace: str, route_namespace: str, backend_name: pulumi.Input[str]
) -> dict[str, Any]:
    """Lets HTTPRoutes in `route_namespace` reference exactly one Backend in `backend_namespace`."""
    return {
        "apiVersion": REFERENCE_GRANT_API_VERSION,
        "kind": "ReferenceGrant",
        "metadata": {"name": name, "namespace": backend_namespace},
        "spec": {
            "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": route_namespace}],
            "to": [{"group": BACKEND_GROUP, "kind": "Backend", "name": backend_name}],
        },
    }


GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1"


def gateway_manifest(
    *,
    name: str,
    namespace: str,
    port: int,
    listener_name: str,
    route_namespaces: tuple[str, ...],
    wait: bool = True,
    gateway_parameters: str | None = None,
) -> dict[str, Any]:
    """The guide's `http` Gateway: class kgateway, one HTTP listener, routes only from the namespaces that have them;
    with `gateway_parameters`, the proxy is configured by those kgateway GatewayParameters (irsa)."""
    if set(route_namespaces) <= {namespace}:
        allowed: dict[str, Any] = {"from": "Same"}
    else:
        allowed = {
            "from": "Selector",
            "selector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "In", "values": sorted(set(route_namespaces))}
                ]
            },
        }
    annotations = {WAIT_FOR: "condition=Accepted"} if wait else {SKIP_AWAIT: "true"}
    return {
        "apiVersion": GATEWAY_API_VERSION,
        "kind": "Gateway",
        "metadata": _metadata(name, namespace, annotations),
        "spec": {
            "gatewayClassName": "kgateway",
            # The proxy takes its settings (e.g. the IRSA role annotation) from these GatewayParameters.
            **(
                {
                    "infrastructure": {
                        "parametersRef": {
                            "group": BACKEND_GROUP,
                            "kind": "GatewayParameters",
                            "name": gateway_parameters,
                        }
                    }
                }
                if gateway_parameters is not None
                else {}
            ),
            "listeners": [
                {"name": listener_name, "protocol": "HTTP", "port": port, "allowedRoutes": {"namespaces": allowed}}
            ],
        },
    }


def gateway_parameters_manifest(
    *, name: str, namespace: str, annotations: dict[str, pulumi.Input[str]]
) -> dict[str, Any]:
    """kgateway `GatewayParameters` that annotate the proxy's ServiceAccount (e.g. with an IRSA role)."""
    return {
        "apiVersion": BACKEND_API_VERSION,
        "kind": "GatewayParameters",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"kube": {"serviceAccount": {"extraAnnotations": annotations}}},
    }


# --- Route protection: kgateway `TrafficPolicy` and `GatewayExtension` (program/crds/TRAFFICPOLICY.md) ---------

TRAFFIC_POLICY_CRD_NAME = "trafficpolicies.gateway.kgateway.dev"
HTTPROUTE_GROUP = "gateway.networking.k8s.io"
# The `TrafficPolicy` spec field each protection kind is emitted as (one home for the names errors show).
PROTECTION_FIELDS: dict[str, str] = {
    "apiKeys": "apiKeyAuth",
    "jwt": "jwtAuth",
    "cors": "cors",
    "rateLimit": "rateLimit.local",
    "ipAllow": "acl",
    "retry": "retry",
    "requestBody": "buffer.maxRequestSize",
    "streamIdle": "timeouts.streamIdle",
}
# A protection `timeout` is not a TrafficPolicy field here: it is the HTTPRoute rule's `timeouts.request`, which
# every line has and which overrides a TrafficPolicy's (TRAFFICPOLICY.md §7), so the route's timeout is one fact.


@dataclass(frozen=True)
class TrafficPolicySupport:
    """Which protection kinds one kgateway line's `TrafficPolicy` CRD can express, and how its status reads.

    Each named line is what `traffic_policy_support_from_crd` reads from that line's real CRD (program/crds); a
    test keeps the two equal.
    """

    name: str
    # Kinds (keys of PROTECTION_FIELDS) this line can express.
    kinds: frozenset[str]
    # Why a kind this line lacks is refused, beyond "first in <line>" (v2.1: no CRD to verify against).
    refusal_note: str = ""
    # The status shape kgateway writes: `status.ancestors[].conditions[]` (v2.2+, True), `status.conditions[]`
    # (v2.0, False), or not known here (None: the policy's acceptance is not awaited), TRAFFICPOLICY.md §10.
    status_ancestors: bool | None = True


_RATE_LIMIT_ONLY = frozenset({"rateLimit"})
# v2.1.x's own TrafficPolicy CRD (program/crds/kgateway-v2.1.x-0d04052-*): cors, buffer, retry and timeouts came
# to main months before v2.1 was cut; apiKeyAuth and jwtAuth came with v2.2, acl with v2.3. `timeouts.streamIdle`
# is mapped to the route's idle timeout from v2.1 on (`stream_idle_timeout`).
_V2_1_KINDS = frozenset({"cors", "rateLimit", "retry", "requestBody", "streamIdle"})
_V2_2_KINDS = _V2_1_KINDS | {"apiKeys", "jwt"}
_V2_3_KINDS = _V2_2_KINDS | {"ipAllow"}
TRAFFIC_POLICY_SUPPORT: dict[str, TrafficPolicySupport] = {
    support.name: support
    for support in (
        TrafficPolicySupport("v2.0", _RATE_LIMIT_ONLY, status_ancestors=False),
        TrafficPolicySupport("v2.1", _V2_1_KINDS),
        TrafficPolicySupport("v2.2", _V2_2_KINDS),
        TrafficPolicySupport("v2.3", _V2_3_KINDS),
        TrafficPolicySupport("v2.4", _V2_3_KINDS),
        TrafficPolicySupport("main", _V2_3_KINDS),
    )
}


class UnsupportedProtectionError(pulumi.RunError):
    """The kgateway line cannot express a protection kind that was asked for."""


def first_line_with(kind: str) -> str | None:
    """The oldest line (of those this project emits for) whose TrafficPolicy has the kind."""
    return next((s.name for s in TRAFFIC_POLICY_SUPPORT.values() if kind in s.kinds), None)


def protection_problems(support: TrafficPolicySupport, kinds: set[str]) -> list[str]:
    """Why each asked-for kind cannot be emitted for this line (empty: all can), naming the first line with it."""
    problems = []
    for kind in sorted(kinds - support.kinds):
        first = first_line_with(kind)
        note = f" ({support.refusal_note})" if support.refusal_note else ""
        problems.append(
            f"protection {kind} (TrafficPolicy {PROTECTION_FIELDS[kind]}) is not available on kgateway "
            f"{support.name}{note}; it is first in kgateway {first}: install {first} or newer, or remove {kind}"
        )
    return problems


def traffic_policy_support_from_crd(crd: Mapping[str, Any], name: str) -> TrafficPolicySupport:
    """What a cluster's TrafficPolicy CRD (its served v1alpha1 schema) can express, decided from the schema."""
    served = _served_v1alpha1(_api_spelling(crd))
    spec = served["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
    present = {
        "apiKeys": "apiKeyAuth" in spec,
        "jwt": "jwtAuth" in spec,
        "cors": "cors" in spec,
        "rateLimit": "local" in ((spec.get("rateLimit") or {}).get("properties") or {}),
        "ipAllow": "acl" in spec,
        "retry": "retry" in spec,
        "requestBody": "maxRequestSize" in ((spec.get("buffer") or {}).get("properties") or {}),
        "streamIdle": "streamIdle" in ((spec.get("timeouts") or {}).get("properties") or {}),
    }
    status = served["schema"]["openAPIV3Schema"]["properties"].get("status") or {}
    return TrafficPolicySupport(
        name=name,
        kinds=frozenset(kind for kind, there in present.items() if there),
        status_ancestors="ancestors" in (status.get("properties") or {}),
    )


@dataclass(frozen=True)
class ApiKeyAuth:
    """API keys in a Secret in the policy's namespace (one data entry per client: entry name = client id)."""

    secret_name: str
    # Each entry one of ("header"|"query"|"cookie", name); Envoy reads only the first non-empty field of an entry,
    # so every source is an entry of its own (TRAFFICPOLICY.md §1).
    key_sources: tuple[tuple[str, str], ...]
    forward_credential: bool = False
    client_id_header: str | None = None


@dataclass(frozen=True)
class Cors:
    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age_seconds: int | None = None


@dataclass(frozen=True)
class TokenBucket:
    """Envoy's local token bucket: `tokens_per_fill` tokens every `fill_interval`, at most `max_tokens` saved."""

    max_tokens: int
    tokens_per_fill: int
    fill_interval: str


@dataclass(frozen=True)
class Retry:
    retry_on: tuple[str, ...]
    attempts: int
    per_try_timeout: str | None = None
    backoff_base_interval: str | None = None


@dataclass(frozen=True)
class RouteProtectionSpec:
    """Plain values of one route's protection, as the TrafficPolicy fields they become."""

    api_keys: ApiKeyAuth | None = None
    jwt_extension: str | None = None
    cors: Cors | None = None
    rate_limit: TokenBucket | None = None
    ip_allow: tuple[str, ...] = ()
    retry: Retry | None = None
    # The largest request body the route takes (a Kubernetes quantity, e.g. "6Mi"; Envoy answers 413 above it).
    max_request_size: str | None = None
    # How long the route's stream may be idle (`timeouts.streamIdle`, Envoy's per-route `idle_timeout`): set where
    # the route's request timeout is longer than Envoy's stream idle default (ENVOY_STREAM_IDLE_DEFAULT_S).
    stream_idle_timeout: str | None = None

    def kinds(self) -> set[str]:
        """The protection kinds this spec asks for (keys of PROTECTION_FIELDS)."""
        present = {
            "apiKeys": self.api_keys is not None,
            "jwt": self.jwt_extension is not None,
            "cors": self.cors is not None,
            "rateLimit": self.rate_limit is not None,
            "ipAllow": bool(self.ip_allow),
            "retry": self.retry is not None,
            "requestBody": self.max_request_size is not None,
            "streamIdle": self.stream_idle_timeout is not None,
        }
        return {kind for kind, there in present.items() if there}


def traffic_policy_annotations(wait: bool) -> dict[str, str]:
    """No wait on the policy itself: kgateway writes a TrafficPolicy's status only once its target route is
    translated, and the policy is created *before* the route (so the route is never served without it): a wait
    would never end (TRAFFICPOLICY.md §10). Its acceptance is awaited after the route instead
    (components/readiness.py `policy_acceptance_gate`). `wait` false: skip even pulumi-kubernetes' generic
    readiness check."""
    return {} if wait else {SKIP_AWAIT: "true"}


def traffic_policy_manifest(
    support: TrafficPolicySupport,
    *,
    name: str,
    namespace: str,
    route_name: str,
    protection: RouteProtectionSpec,
    wait: bool = True,
) -> dict[str, Any]:
    """One `TrafficPolicy` attached to a whole HTTPRoute (same namespace: target refs are namespace-local)."""
    problems = protection_problems(support, protection.kinds())
    if problems:
        raise UnsupportedProtectionError("; ".join(problems))
    spec: dict[str, Any] = {"targetRefs": [{"group": HTTPROUTE_GROUP, "kind": "HTTPRoute", "name": route_name}]}
    if (keys := protection.api_keys) is not None:
        api_key_auth: dict[str, Any] = {
            "secretRef": {"name": keys.secret_name},
            "keySources": [{source: value} for source, value in keys.key_sources],
            "forwardCredential": keys.forward_credential,
        }
        if keys.client_id_header is not None:
            api_key_auth["clientIdHeader"] = keys.client_id_header
        spec["apiKeyAuth"] = api_key_auth
    if protection.jwt_extension is not None:
        spec["jwtAuth"] = {"extensionRef": {"name": protection.jwt_extension}}
    if (cors := protection.cors) is not None:
        cors_spec: dict[str, Any] = {"allowOrigins": list(cors.allow_origins)}
        for field, values in (
            ("allowMethods", cors.allow_methods),
            ("allowHeaders", cors.allow_headers),
            ("exposeHeaders", cors.expose_headers),
        ):
            if values:
                cors_spec[field] = list(values)
        if cors.allow_credentials:
            cors_spec["allowCredentials"] = True
        if cors.max_age_seconds is not None:
            cors_spec["maxAge"] = cors.max_age_seconds
        spec["cors"] = cors_spec
    if (bucket := protection.rate_limit) is not None:
        spec["rateLimit"] = {
            "local": {
                "tokenBucket": {
                    "maxTokens": bucket.max_tokens,
                    "tokensPerFill": bucket.tokens_per_fill,
                    "fillInterval": bucket.fill_interval,
                }
            }
        }
    if protection.ip_allow:
        # Deny by default, allow the listed clients (longest prefix wins; denied clients get 403).
        spec["acl"] = {
            "defaultAction": "deny",
            "rules": [{"name": "ip-allow", "cidrs": list(protection.ip_allow), "action": "allow"}],
        }
    if (retry := protection.retry) is not None:
        retry_spec: dict[str, Any] = {"retryOn": list(retry.retry_on), "attempts": retry.attempts}
        if retry.per_try_timeout is not None:
            retry_spec["perTryTimeout"] = retry.per_try_timeout
        if retry.backoff_base_interval is not None:
            retry_spec["backoffBaseInterval"] = retry.backoff_base_interval
        spec["retry"] = retry_spec
    if protection.max_request_size is not None:
        spec["buffer"] = {"maxRequestSize": protection.max_request_size}
    if protection.stream_idle_timeout is not None:
        spec["timeouts"] = {"streamIdle": protection.stream_idle_timeout}
    return {
        "apiVersion": BACKEND_API_VERSION,
        "kind": "TrafficPolicy",
        "metadata": _metadata(name, namespace, traffic_policy_annotations(wait)),
        "spec": spec,
    }


# Lambda's synchronous invocation payload: "6 MB each for request and response" (Lambda Developer Guide, "Lambda
# quotas", Invocation payload). Without a buffer policy a Lambda route's body is capped far lower: the upstream
# `aws_lambda` and `aws_request_signing` filters buffer the whole body under the stream's buffer limit, which is
# Envoy's listener default of 1 MiB (program/crds/TRAFFICPOLICY.md §8); `buffer.maxRequestSize` (v2.2+) raises it.
LAMBDA_SYNC_PAYLOAD = "6Mi"
ENVOY_DEFAULT_BODY_CAP = "1Mi"


@dataclass(frozen=True)
class JwksBackend:
    """The Service (with its port) or kgateway Backend through which Envoy fetches a remote JWKS."""

    name: str
    kind: Literal["Service", "Backend"] = "Service"
    namespace: str | None = None
    port: int | None = None


@dataclass(frozen=True)
class JwtProvider:
    name: str
    issuer: str | None = None
    audiences: tuple[str, ...] = ()
    jwks_inline: str | None = None
    jwks_uri: str | None = None
    jwks_backend: JwksBackend | None = None
    jwks_cache_duration: str | None = None
    # ("header", name, prefix or None) or ("query", name, None); None: Envoy's default (Authorization: Bearer).
    token_source: tuple[str, str, str | None] | None = None
    forward_token: bool = False
    claims_to_headers: tuple[tuple[str, str], ...] = ()


def jwt_gateway_extension_manifest(
    support: TrafficPolicySupport, *, name: str, namespace: str, provider: JwtProvider
) -> dict[str, Any]:
    """The `GatewayExtension` (spec.jwt) a TrafficPolicy's `jwtAuth.extensionRef` names; `type` is omitted (it is
    deprecated and has no effect from v2.2). Tokens are required (`validationMode: Strict`)."""
    if "jwt" not in support.kinds:
        raise UnsupportedProtectionError("; ".join(protection_problems(support, {"jwt"})))
    jwks: dict[str, Any]
    if provider.jwks_inline is not None:
        jwks = {"local": {"inline": provider.jwks_inline}}
    else:
        if provider.jwks_uri is None or provider.jwks_backend is None:
            raise ValueError("a JWT provider needs an inline JWKS, or a JWKS URI and the backend that serves it")
        backend = provider.jwks_backend
        backend_ref: dict[str, Any] = {
            "group": "" if backend.kind == "Service" else BACKEND_GROUP,
            "kind": backend.kind,
            "name": backend.name,
        }
        if backend.namespace is not None:
            backend_ref["namespace"] = backend.namespace
        if backend.port is not None:
            backend_ref["port"] = backend.port
        remote: dict[str, Any] = {"url": provider.jwks_uri, "backendRef": backend_ref}
        if provider.jwks_cache_duration is not None:
            remote["cacheDuration"] = provider.jwks_cache_duration
        jwks = {"remote": remote}
    entry: dict[str, Any] = {"name": provider.name}
    if provider.issuer is not None:
        entry["issuer"] = provider.issuer
    if provider.audiences:
        entry["audiences"] = list(provider.audiences)
    if provider.token_source is not None:
        source, token_name, prefix = provider.token_source
        if source == "header":
            entry["tokenSource"] = {"header": {"header": token_name, **({"prefix": prefix} if prefix else {})}}
        else:
            entry["tokenSource"] = {"queryParameter": token_name}
    if provider.claims_to_headers:
        entry["claimsToHeaders"] = [{"name": claim, "header": header} for claim, header in provider.claims_to_headers]
    entry["forwardToken"] = provider.forward_token
    entry["jwks"] = jwks
    return {
        "apiVersion": BACKEND_API_VERSION,
        "kind": "GatewayExtension",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"jwt": {"validationMode": "Strict", "providers": [entry]}},
    }
