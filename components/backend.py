"""A kgateway `Backend` for one Lambda function, in the shape the installed kgateway accepts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pulumi

from components.k8s_objects import custom_resource, deferred_custom_resource
from components.kgateway_api import (
    BACKEND_API_VERSION,
    BACKEND_CRD_NAME,
    CRD_TYPE,
    AssumeRoleAuth,
    InvocationMode,
    KgatewayVersion,
    LambdaTarget,
    PayloadTransformMode,
    SecretAuth,
    backend_manifest,
    describe_shape,
    shape_from_crd,
)

CRDS_MISSING = (
    f"kgateway's CRDs are not installed: the cluster has no CustomResourceDefinition {BACKEND_CRD_NAME}, which "
    "kgatewayVersion 'auto' reads to choose the Backend's shape. Install kgateway's CRDs (helm upgrade -i "
    "--create-namespace -n kgateway-system kgateway-crds oci://cr.kgateway.dev/kgateway-dev/charts/kgateway-crds "
    "--version <your kgateway version>), check the Kubernetes provider's context, or set kgatewayVersion to your "
    "release line"
)


class _BackendCrdRead(pulumi.CustomResource):
    """A read of the cluster's Backend CRD (never created or deleted by this stack).

    The same engine read as pulumi-kubernetes' `CustomResourceDefinition.get` (same type token, same provider),
    taken untyped: the typed output classes keep only the keys they know, and the schema keys we decide from
    (`x-kubernetes-validations`, `additionalPrinterColumns`) must survive whichever spelling the provider uses.
    """

    spec: pulumi.Output[Any]

    def __init__(self, name: str, opts: pulumi.ResourceOptions):
        props = {"apiVersion": None, "kind": None, "metadata": None, "spec": None}
        read = pulumi.ResourceOptions(id=BACKEND_CRD_NAME)
        super().__init__(CRD_TYPE, name, props, pulumi.ResourceOptions.merge(opts, read))


def installed_backend_shape(resource_name: str, opts: pulumi.ResourceOptions) -> pulumi.Output[KgatewayVersion]:
    """Read the cluster's Backend CRD (through the provider in `opts`) and decide the shape from its schema.

    Unknown while the read is (an offline plan); a missing CRD fails with how to install it.
    """
    crd = _BackendCrdRead(resource_name, opts)

    async def read() -> KgatewayVersion | None:
        try:
            spec = await crd.spec.future()
        except Exception as error:
            # The engine fails the read with its own words ("resource '...' does not exist"); say what it means.
            pulumi.log.error(CRDS_MISSING)  # no resource: logged synchronously, before the run ends
            raise pulumi.RunError(f"{CRDS_MISSING} ({error})") from error
        if spec is None:  # not known yet: only in an offline preview
            return None
        shape = shape_from_crd({"spec": spec}, "auto (the cluster's CRD)")
        pulumi.log.info(describe_shape(shape), resource=crd)
        return shape

    value = asyncio.ensure_future(read())

    async def known() -> bool:
        return await value is not None

    async def resources() -> set[pulumi.Resource]:
        return {crd}

    async def secret() -> bool:
        return False

    return pulumi.Output(resources(), value, known(), secret())  # type: ignore[arg-type]  # unknown: None


@dataclass(frozen=True)
class LambdaBackendArgs:
    # A known shape (a release line), or the installed one read at deploy time (`installed_backend_shape`).
    kgateway: KgatewayVersion | pulumi.Output[KgatewayVersion]
    name: str
    namespace: str
    function_name: pulumi.Input[str]
    region: pulumi.Input[str]
    account_id: pulumi.Input[str]
    # The Secret with the signing keys (same namespace); None: the gateway's ambient credentials.
    secret_name: pulumi.Input[str] | None
    # A role the gateway's ambient identity assumes (kgateway versions with AssumeRole auth).
    assume_role_arn: pulumi.Input[str] | None = None
    qualifier: pulumi.Input[str] | None = None
    invocation_mode: InvocationMode = "Sync"
    # None: "None" (raw pass-through) where the shape has the switch; a value the shape lacks is refused.
    payload_transform_mode: PayloadTransformMode | None = None
    endpoint_url: str | None = None
    wait_for_acceptance: bool = True


def _manifest(args: LambdaBackendArgs, shape: KgatewayVersion, values: dict[str, Any]) -> dict[str, Any]:
    auth: SecretAuth | AssumeRoleAuth | None = None
    if values["secret_name"] is not None:
        auth = SecretAuth(values["secret_name"])
    elif values["assume_role_arn"] is not None:
        auth = AssumeRoleAuth(values["assume_role_arn"])
    return backend_manifest(
        shape,
        name=args.name,
        namespace=args.namespace,
        target=LambdaTarget(
            function_name=values["function_name"],
            region=values["region"],
            account_id=values["account_id"],
            qualifier=values["qualifier"],
            invocation_mode=args.invocation_mode,
            payload_transform_mode=args.payload_transform_mode,
            endpoint_url=args.endpoint_url,
        ),
        auth=auth,
        wait=args.wait_for_acceptance,
    )


class LambdaBackend(pulumi.ComponentResource):
    """The `gateway.kgateway.dev/v1alpha1` Backend, in the shape the chosen or installed kgateway accepts."""

    backend_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: LambdaBackendArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kgateway-lambda:kubernetes:LambdaBackend", name, None, opts)
        values: dict[str, Any] = {
            "function_name": args.function_name,
            "region": args.region,
            "account_id": args.account_id,
            "qualifier": args.qualifier,
            "secret_name": args.secret_name,
            "assume_role_arn": args.assume_role_arn,
        }
        child = pulumi.ResourceOptions(parent=self)
        if isinstance(args.kgateway, KgatewayVersion):
            backend = custom_resource(f"{name}-backend", _manifest(args, args.kgateway, values), child)
        else:
            # The shape is known only once the CRD is read: build the whole object then (a refused option fails
            # the deploy with the option's name and the installed shape, before the Backend is sent).
            manifest = pulumi.Output.all(args.kgateway, pulumi.Output.all(**values)).apply(
                lambda parts: _manifest(args, parts[0], parts[1])
            )
            identity = {
                "apiVersion": BACKEND_API_VERSION,
                "kind": "Backend",
                "name": args.name,
                "namespace": args.namespace,
            }
            backend = deferred_custom_resource(f"{name}-backend", identity, manifest, child)
        self.backend_name = backend.urn.apply(lambda _: args.name)
        self.register_outputs({"backend_name": self.backend_name})
