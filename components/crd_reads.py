"""The reads `kgatewayVersion: auto` makes of a cluster's CRDs: the engine read of one CRD, the id it is read by
(unknown while the cluster or the CRDs are being made), and the Backend CRD read into a Backend shape, with what a
failed read means. Shared by every component that reads (components/cluster_reads.py reads each kind once per
cluster; a component given no ClusterReads reads for itself)."""

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import pulumi
from pulumi.runtime.rpc import UNKNOWN

from .k8s_objects import kubernetes_package_options
from .kgateway_api import BACKEND_CRD_NAME, CRD_TYPE, KgatewayVersion, describe_shape, shape_from_crd

T = TypeVar("T")

CRDS_MISSING = (
    f"kgateway's CRDs are not installed: the cluster has no CustomResourceDefinition {BACKEND_CRD_NAME}, which "
    "kgatewayVersion 'auto' reads to choose the Backend's shape. Install kgateway's CRDs (helm upgrade -i "
    "--create-namespace -n kgateway-system kgateway-crds oci://cr.kgateway.dev/kgateway-dev/charts/kgateway-crds "
    "--version <your kgateway version>), check the Kubernetes provider's context, or set kgatewayVersion to your "
    "release line"
)


def crd_unreadable_message(cause: str) -> str:
    """Why `auto` could not read the CRD when the cluster (not the CRD) is the problem, and the way around it."""
    return (
        f"kgatewayVersion 'auto' could not read the cluster's CustomResourceDefinition {BACKEND_CRD_NAME} to choose "
        f"the Backend's shape: {cause}. Pin kgatewayVersion to your kgateway release line (e.g. v2.4), so nothing is "
        "read from the cluster, or fix the Kubernetes provider's kubeconfig/context"
    )


def crd_read_failure(error: str) -> str:
    """The user's explanation of a failed CRD read: a missing CRD (the engine's "does not exist", the API server's
    NotFound) means kgateway's CRDs are not installed; anything else is about reaching the cluster."""
    missing = "does not exist" in error or "NotFound" in error or "could not find the requested resource" in error
    return CRDS_MISSING if missing else crd_unreadable_message(error)


# Either failure, when the engine reports it and the program sees only an empty read (pulumi/pulumi
# sdk/python/lib/pulumi/runtime/resource.py `read_resource`: a failed read resolves its outputs empty or unknown).
CRD_READ_FAILED = (
    f"kgatewayVersion 'auto' could not read the cluster's CustomResourceDefinition {BACKEND_CRD_NAME} (the "
    "engine's error for it says why). 'does not exist': " + CRDS_MISSING + ". Anything else (cluster unreachable, "
    "unauthorized): pin kgatewayVersion to your kgateway release line (e.g. v2.4), so nothing is read"
)


class CrdRead(pulumi.CustomResource):
    """A read of one of the cluster's CRDs (never created or deleted by this stack): the Backend's, the
    TrafficPolicy's (components/protection.py).

    The same engine read as pulumi-kubernetes' `CustomResourceDefinition.get` (same type token, same provider),
    taken untyped: the typed output classes keep only the keys they know, and the schema keys we decide from
    (`x-kubernetes-validations`, `additionalPrinterColumns`) must survive whichever spelling the provider uses.
    """

    spec: pulumi.Output[Any]

    def __init__(self, name: str, opts: pulumi.ResourceOptions, read_id: pulumi.Output[str]):
        props = {"apiVersion": None, "kind": None, "metadata": None, "spec": None}
        read = pulumi.ResourceOptions.merge(kubernetes_package_options(), pulumi.ResourceOptions(id=read_id))
        super().__init__(CRD_TYPE, name, props, pulumi.ResourceOptions.merge(opts, read))


def crd_read_id(
    provider: pulumi.ProviderResource | None,
    crds_ready: pulumi.Input[str] | None,
    crd_name: str = BACKEND_CRD_NAME,
) -> pulumi.Output[str]:
    """The id the CRD is read by: unknown at preview exactly while the Kubernetes provider or `crds_ready` is (the
    CRDs' installer created or replaced; upgraded too when it is the Helm release's status), so the engine skips
    the read then (pulumi/pulumi pkg/resource/deploy/step.go
    `ReadStep.Apply`: an unknown id is not read, its outputs are unknown) instead of failing it through a provider
    with no cluster yet; at update the read waits for both, so it sees the cluster and the CRDs they make.

    A provider being created has an unknown id at preview; one handed to a component package's Construct carries
    the unknown-id sentinel in its reference instead (pulumi sdk/python/lib/pulumi/resource.py
    `DependencyProviderResource`), which counts as unknown too.
    """
    waits_for: list[pulumi.Output[Any]] = []
    if provider is not None:
        waits_for.append(provider.id)
    if crds_ready is not None:
        waits_for.append(pulumi.Output.from_input(crds_ready))

    async def known() -> bool:
        for output in waits_for:
            if not await output.is_known() or await output.future() == UNKNOWN:
                return False
        return True

    async def value() -> str:
        return crd_name

    async def resources() -> set[pulumi.Resource]:
        return set()

    async def secret() -> bool:
        return False

    futures = [asyncio.ensure_future(f()) for f in (resources, value, known, secret)]
    return pulumi.Output(*futures)  # type: ignore[arg-type]


def installed_backend_shape(
    resource_name: str, opts: pulumi.ResourceOptions, read_id: pulumi.Output[str]
) -> pulumi.Output[KgatewayVersion]:
    """Read the cluster's Backend CRD (through the provider in `opts`) and decide the shape from its schema.

    Unknown while the read is (a preview before the cluster or CRDs exist, an offline plan); a failed read fails
    with what it means: CRDs missing (how to install them), or the cluster unreadable (pin kgatewayVersion).
    """
    crd = CrdRead(resource_name, opts, read_id)

    async def read() -> KgatewayVersion | None:
        try:
            known = await crd.spec.is_known()
            spec = await crd.spec.future()
        except Exception as error:
            # The engine's or the provider's own words; say what they mean for this component.
            message = crd_read_failure(str(error))
            pulumi.log.error(message)  # no resource: logged synchronously, before the run ends
            raise pulumi.RunError(f"{message} ({error})") from error
        if known and spec is not None:
            shape = shape_from_crd({"spec": spec}, "auto (the cluster's CRD)")
            pulumi.log.info(describe_shape(shape), resource=crd)
            return shape
        if not pulumi.runtime.is_dry_run() and await read_id.is_known():
            # A read that was made and brought nothing back: it failed, and the engine reports why.
            pulumi.log.error(CRD_READ_FAILED)
            raise pulumi.RunError(CRD_READ_FAILED)
        return None  # not known yet: the read was skipped at preview (or an offline plan)

    return decided_from_read(read(), crd)


def decided_from_read(decision: Coroutine[Any, Any, T | None], read: pulumi.Resource) -> pulumi.Output[T]:
    """An output of what a read decides (`decision`: None while the read is unknown, which the output then is),
    depending on the read resource, never secret. Built from futures, since `apply` cannot make an output unknown
    from a known input."""
    value = asyncio.ensure_future(decision)

    async def known() -> bool:
        return await value is not None

    async def resources() -> set[pulumi.Resource]:
        return {read}

    async def secret() -> bool:
        return False

    futures = (asyncio.ensure_future(resources()), asyncio.ensure_future(known()), asyncio.ensure_future(secret()))
    return pulumi.Output(futures[0], value, futures[1], futures[2])  # type: ignore[arg-type]  # unknown: None
