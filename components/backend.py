"""A kgateway `Backend` for one Lambda function, in the shape the installed kgateway accepts."""

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from .cluster_reads import ClusterReads, check_cluster_reads
from .crd_reads import crd_read_id, installed_backend_shape
from .inputs import checked_inputs
from .k8s_objects import awaited_resources, custom_resource, deferred_custom_resource
from .kgateway_api import (
    AUTO,
    BACKEND_API_VERSION,
    CRD_TYPE,
    KGATEWAY_VERSIONS,
    AssumeRoleAuth,
    KgatewayVersion,
    LambdaTarget,
    SecretAuth,
    backend_manifest,
)
from .tokens import component_options, token
from .validation import (
    ACCOUNT_ID,
    DNS_LABEL,
    DNS_SUBDOMAIN_RE,
    DNS_SUBDOMAIN_RULE,
    ENDPOINT_URL,
    FUNCTION_NAME,
    QUALIFIER,
    REGION,
    ROLE_ARN,
    InputChecker,
    dns_label_for,
    endpoint_url_problem,
    plain,
)


class KgatewayRelease(StrEnum):
    """Which Backend shape to emit: read from the cluster, or a kgateway release line."""

    AUTO = "auto"
    """Read the cluster's Backend CRD at deploy and emit the shape its schema accepts (the default)."""
    V2_0 = "v2.0"
    """kgateway v2.0.x."""
    V2_1 = "v2.1"
    """kgateway v2.1.x."""
    V2_2 = "v2.2"
    """kgateway v2.2.x."""
    V2_3 = "v2.3"
    """kgateway v2.3.x."""
    V2_4 = "v2.4"
    """kgateway v2.4.x."""
    MAIN = "main"
    """kgateway main at 354c0f6."""


class InvocationMode(StrEnum):
    """How kgateway invokes the function."""

    SYNC = "Sync"
    """Wait for the function's answer (the default)."""
    ASYNC = "Async"
    """Queue the event; the caller gets 202 at once."""


class PayloadTransformMode(StrEnum):
    """What kgateway sends the function and returns to the caller (kgateway v2.1+)."""

    NONE = "None"
    """The raw request body in, the function's result out (the guide's response; the default)."""
    ENVOY = "Envoy"
    """An API-Gateway-style event in; the function's {statusCode, headers, body} becomes the HTTP response."""


class LambdaBackendArgs(TypedDict):
    """A kgateway Backend that invokes one Lambda function."""

    function_name: pulumi.Input[str]
    """The function to invoke (its name)."""
    name: NotRequired[str]
    """Name of the Backend (default: the component's name as a DNS label)."""
    namespace: NotRequired[str]
    """Namespace of the Backend, and of the Secret it reads (default kgateway-system)."""
    kgateway_version: NotRequired[KgatewayRelease]
    """Backend shape: auto reads the cluster's CRD (the default), or pin a kgateway release line."""
    region: NotRequired[pulumi.Input[str]]
    """The function's region (default: the AWS provider's)."""
    account_id: NotRequired[pulumi.Input[str]]
    """The function's 12-digit account (default: the deploying identity's)."""
    secret_name: NotRequired[pulumi.Input[str]]
    """The Secret with the signing keys, in the Backend's namespace (none: the gateway's ambient credentials)."""
    assume_role_arn: NotRequired[pulumi.Input[str]]
    """A role the gateway's ambient identity assumes to sign (kgateway v2.4+)."""
    qualifier: NotRequired[pulumi.Input[str]]
    """$LATEST, a version number or an alias (default $LATEST)."""
    invocation_mode: NotRequired[InvocationMode]
    """Sync (default) or Async."""
    payload_transform_mode: NotRequired[PayloadTransformMode]
    """None (default where kgateway has the switch) or Envoy; refused where the installed kgateway lacks it."""
    endpoint_url: NotRequired[str]
    """A Lambda-compatible endpoint kgateway calls instead of AWS's (LocalStack, moto), with its port."""
    wait_for_acceptance: NotRequired[bool]
    """Wait until kgateway accepted the Backend, where it reports that (default true)."""
    crds_ready: NotRequired[pulumi.Input[str]]
    """auto: an output of what installs kgateway's CRDs in the same program that is unknown while it changes (e.g. its
    Helm release's status, as text); an id stays known through an upgrade."""


def check_backend_args(checker: InputChecker, args: Mapping[str, Any], prefix: str = "") -> None:
    """The Backend's plain inputs against kgateway's CRD patterns and Kubernetes' name rules."""
    checker.pattern(f"{prefix}name", args.get("name"), DNS_SUBDOMAIN_RE, DNS_SUBDOMAIN_RULE, "echo")
    checker.rule(f"{prefix}functionName", args.get("function_name"), FUNCTION_NAME)
    checker.rule(f"{prefix}namespace", args.get("namespace"), DNS_LABEL)
    checker.choice(f"{prefix}kgatewayVersion", args.get("kgateway_version"), [r.value for r in KgatewayRelease])
    checker.rule(f"{prefix}accountId", args.get("account_id"), ACCOUNT_ID)
    checker.rule(f"{prefix}region", args.get("region"), REGION)
    checker.pattern(f"{prefix}secretName", args.get("secret_name"), DNS_SUBDOMAIN_RE, DNS_SUBDOMAIN_RULE, "aws-creds")
    checker.rule(
        f"{prefix}assumeRoleArn", args.get("assume_role_arn"), ROLE_ARN, "arn:aws:iam::123456789012:role/lambda-invoker"
    )
    checker.rule(f"{prefix}qualifier", args.get("qualifier"), QUALIFIER)
    checker.choice(f"{prefix}invocationMode", args.get("invocation_mode"), [m.value for m in InvocationMode])
    checker.choice(
        f"{prefix}payloadTransformMode", args.get("payload_transform_mode"), [m.value for m in PayloadTransformMode]
    )
    checker.rule(f"{prefix}endpointUrl", args.get("endpoint_url"), ENDPOINT_URL)
    if (endpoint := endpoint_url_problem(args.get("endpoint_url"))) is not None:
        checker.fail(f"{prefix}endpointUrl", args.get("endpoint_url"), *endpoint)
    release = plain(args.get("kgateway_version"))
    shape = KGATEWAY_VERSIONS.get(release) if isinstance(release, str) else None
    if (
        shape is not None
        and plain(args.get("payload_transform_mode")) is not None
        and not shape.has_payload_transform_mode
    ):
        checker.fail(
            f"{prefix}payloadTransformMode",
            plain(args.get("payload_transform_mode")),
            f"is not a field of kgateway {release}",
            "unset",
        )
    if shape is not None and args.get("assume_role_arn") is not None and not shape.has_assume_role_auth:
        checker.fail(f"{prefix}kgatewayVersion", release, "has no AssumeRole auth (kgateway v2.4+)", "v2.4")


def backend_values(args: Mapping[str, Any], *, region: Any, account_id: Any) -> dict[str, Any]:
    """What the Backend takes from a LambdaBackend's checked `args` beside its options: `region` and `account_id`
    where `args` give none (the provider's region, the deploying identity's account)."""
    return {
        "function_name": args["function_name"],
        "region": args.get("region") or region,
        "account_id": args.get("account_id") or account_id,
        "qualifier": args.get("qualifier"),
        "secret_name": args.get("secret_name"),
        "assume_role_arn": args.get("assume_role_arn"),
    }


def backend_identity(name: str, args: Mapping[str, Any]) -> tuple[str, str]:
    """The Backend's name and namespace for the `LambdaBackend` named `name` (defaults: its name as a DNS label,
    kgateway-system)."""
    return str(args.get("name") or dns_label_for(name)), str(args.get("namespace") or "kgateway-system")


def backend_object(
    name: str, args: Mapping[str, Any], shape: KgatewayVersion, values: Mapping[str, Any]
) -> dict[str, Any]:
    """The Backend the `LambdaBackend` named `name` registers in the kgateway `shape`, from its checked `args` and
    `values` (`backend_values`, resolved): the preflight (program/preflight.py) checks this same object."""
    auth: SecretAuth | AssumeRoleAuth | None = None
    if values["secret_name"] is not None:
        auth = SecretAuth(values["secret_name"])
    elif values["assume_role_arn"] is not None:
        auth = AssumeRoleAuth(values["assume_role_arn"])
    backend_name, namespace = backend_identity(name, args)
    return backend_manifest(
        shape,
        name=backend_name,
        namespace=namespace,
        target=LambdaTarget(
            function_name=values["function_name"],
            region=values["region"],
            account_id=values["account_id"],
            qualifier=values["qualifier"],
            invocation_mode=plain(args.get("invocation_mode")) or "Sync",
            payload_transform_mode=plain(args.get("payload_transform_mode")),
            endpoint_url=args.get("endpoint_url"),
        ),
        auth=auth,
        wait=args.get("wait_for_acceptance", True) is not False,
    )


def effective_payload_mode(shape: KgatewayVersion, requested: str | None) -> str | None:
    """What the Backend carries: the requested mode, "None" by default, nothing where the field does not exist."""
    return (requested or "None") if shape.has_payload_transform_mode else None


class LambdaBackend(pulumi.ComponentResource):
    """The `gateway.kgateway.dev/v1alpha1` Backend, in the shape the pinned or installed kgateway accepts."""

    backend_name: pulumi.Output[str]
    """The Backend's name."""
    payload_transform_mode: pulumi.Output[str | None]
    """The payloadTransformMode the Backend carries (none where the installed kgateway lacks the field)."""

    def __init__(
        self,
        name: str,
        args: LambdaBackendArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        cluster_reads: ClusterReads | None = None,
    ):
        """Python only: `cluster_reads`, the cluster's reads shared with the stack's other components
        (components/cluster_reads.py); without it, `auto` reads the Backend CRD for this Backend alone."""
        args = checked_inputs("LambdaBackend", name, LambdaBackendArgs, args, check_backend_args)
        super().__init__(token("LambdaBackend"), name, None, component_options("LambdaBackend", "kubernetes", opts))
        check_cluster_reads("LambdaBackend", name, cluster_reads, self.get_provider(CRD_TYPE))
        backend_name, namespace = backend_identity(name, args)
        child = pulumi.ResourceOptions(parent=self)
        backend_opts = pulumi.ResourceOptions(parent=self, depends_on=awaited_resources(opts))
        invoke = pulumi.InvokeOutputOptions(parent=self)
        # Looked up only where the args give none (an invoke each).
        values = backend_values(
            args,
            region=args.get("region") or aws.get_region_output(opts=invoke).region,
            account_id=args.get("account_id") or aws.get_caller_identity_output(opts=invoke).account_id,
        )
        release = plain(args.get("kgateway_version")) or AUTO
        requested_mode = plain(args.get("payload_transform_mode"))
        if release != AUTO:
            shape = KGATEWAY_VERSIONS[release]
            manifest = backend_object(name, args, shape, values)
            backend = custom_resource(f"{name}-backend", manifest, backend_opts)
            self.payload_transform_mode = pulumi.Output.from_input(effective_payload_mode(shape, requested_mode))
        else:
            # The shape is known once the CRD is read: build the object then (an option the installed kgateway
            # cannot express fails the deploy with the option's name and the installed shape, before it is sent).
            if cluster_reads is not None:  # one read of the cluster's CRD for the whole stack
                installed = cluster_reads.backend_shape()
            else:
                read_id = crd_read_id(self.get_provider(CRD_TYPE), args.get("crds_ready"))
                installed = installed_backend_shape(f"{name}-kgateway-crd", child, read_id)
            deferred = pulumi.Output.all(installed, pulumi.Output.all(**values)).apply(
                lambda parts: backend_object(name, args, parts[0], parts[1])
            )
            identity = {
                "apiVersion": BACKEND_API_VERSION,
                "kind": "Backend",
                "name": backend_name,
                "namespace": namespace,
            }
            backend = deferred_custom_resource(f"{name}-backend", identity, deferred, backend_opts)
            self.payload_transform_mode = installed.apply(lambda shape: effective_payload_mode(shape, requested_mode))
        self.backend_name = backend.urn.apply(lambda _: backend_name)
        self.register_outputs(
            {"backend_name": self.backend_name, "payload_transform_mode": self.payload_transform_mode}
        )
