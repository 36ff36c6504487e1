"""The Gateway the routes attach to: created by this stack, or read from the cluster; and where it listens.

One URN per role (pulumi/pulumi `pkg/resource/deploy/step_generator.go`): a read and a managed resource sharing a
URN turn each toggle of `createGateway` into an engine transition nobody wants. false->true: the old entry is a
read, so the engine creates in its place ("creating instead", `generateSteps`, case wasExternal). true->false: the
read's ID equals the managed object's, so `GenerateReadSteps` "relinquishes" it: never deleted, left behind by
`pulumi destroy`. With two URNs, the read is simply dropped from state (deleting an External resource is a no-op,
`step.go` `DeleteStep.Apply`) and the managed Gateway is created or deleted like any other resource.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi

from components.gateway_api_objects import gateway_manifest
from components.k8s_objects import COMMON_LABELS, fixed_name_options, kubernetes_package_options, object_resource_name
from program.config import StackSettings

GATEWAY_TYPE = "kubernetes:gateway.networking.k8s.io/v1:Gateway"


# On the Gateway this stack creates: which stack made it, so that a read of the same Gateway (createGateway turned
# off) knows it is looking at the object this very update deletes.
CREATED_BY_STACK = "kgateway-lambda/created-by-stack"
EXISTING_GATEWAY = "existing-gateway"
"""The read's Pulumi name: never a managed Gateway's (`namespace/name`), so the two roles never share a URN."""


def this_stack() -> str:
    return f"{pulumi.get_project()}/{pulumi.get_stack()}"


def already_exists_message(namespace: str, gateway_name: str) -> str:
    return (
        f"createGateway is true, but a Gateway {namespace}/{gateway_name} already exists and this stack did not "
        "create it (the Kubernetes provider creates, it does not take over). Keep createGateway false to attach the "
        "routes to it as it is; or delete it (kubectl delete gateway -n "
        f"{namespace} {gateway_name}) to have this stack create and own it; or set gatewayName to a name not taken"
    )


def deleted_by_this_update_message(namespace: str, gateway_name: str) -> str:
    return (
        f"createGateway is now false: the Gateway {namespace}/{gateway_name} this stack created is deleted by this "
        "update, and the routes attach to nothing until a Gateway of that name exists again: create it (the guide's "
        "`http` Gateway) and run `pulumi up` again, or set gatewayName/gatewayNamespace to a Gateway that exists, or "
        "keep createGateway true"
    )


def missing_gateway_message(namespace: str, gateway_name: str) -> str:
    return (
        f"the Gateway {namespace}/{gateway_name} the routes attach to does not exist: create it (the guide's `http` "
        "Gateway), or `pulumi config set createGateway true` to have this stack create it, or set gatewayName / "
        "gatewayNamespace to yours; `pulumi config set gatewayUrl http://host:port` skips reading it"
    )


class ExistingGateway(pulumi.CustomResource):
    """A read of a Gateway that already exists (never created or deleted by this stack).

    `status` is declared so the read brings back the addresses the controller published. A missing Gateway fails
    the read with the engine's words ("resource '...' does not exist"); the program logs what that means.
    """

    metadata: pulumi.Output[Any]
    spec: pulumi.Output[Any]
    status: pulumi.Output[Any]

    def __init__(
        self,
        name: str,
        namespace: str,
        gateway_name: str,
        opts: pulumi.ResourceOptions | None = None,
    ):
        props = {
            "apiVersion": None,
            "kind": None,
            "metadata": None,
            "spec": None,
            "status": None,
        }
        read = pulumi.ResourceOptions(id=f"{namespace}/{gateway_name}")
        versioned = pulumi.ResourceOptions.merge(kubernetes_package_options(), read)
        super().__init__(GATEWAY_TYPE, name, props, pulumi.ResourceOptions.merge(opts, versioned))

        async def explain_a_failed_read() -> None:
            try:
                await self.urn.future()
            except Exception as error:
                if "does not exist" in str(error):  # the read step's refusal; any other failure speaks for itself
                    pulumi.log.error(missing_gateway_message(namespace, gateway_name))  # no resource: synchronous

        self._explained = asyncio.ensure_future(explain_a_failed_read())


class ManagedGateway(pulumi.CustomResource):
    """A Gateway this stack creates and deletes; `status` is declared so its published address can be read.

    A fixed-name object like the library's (`components.k8s_objects`): named `namespace/name` (its URN was
    `gateway` before, kept as an alias) and replaced delete-first. It carries the stack that made it
    (`CREATED_BY_STACK`). Creating a Gateway that already exists fails in the Kubernetes provider with
    AlreadyExists (client-side create, pulumi/pulumi-kubernetes `provider/pkg/await/await.go` `Creation`), but only
    in the `up`: a preview drops AlreadyExists from its dry run, in server-side apply mode
    (pulumi/pulumi-kubernetes `provider/pkg/provider/provider.go` `Create`, "failedPreview"). So one this stack
    did not make is refused before anything is created, in preview and up alike (program/guide_objects.py); the
    message below is for one made meanwhile.
    """

    metadata: pulumi.Output[Any]
    spec: pulumi.Output[Any]
    status: pulumi.Output[Any]

    def __init__(self, manifest: dict[str, Any], opts: pulumi.ResourceOptions | None = None):
        metadata = manifest["metadata"]
        namespace, gateway_name = metadata["namespace"], metadata["name"]
        annotations = {**(metadata.get("annotations") or {}), CREATED_BY_STACK: this_stack()}
        props = {**manifest, "metadata": {**metadata, "annotations": annotations}, "status": None}
        options = pulumi.ResourceOptions.merge(
            kubernetes_package_options(), fixed_name_options(opts or pulumi.ResourceOptions(), "gateway")
        )
        super().__init__(GATEWAY_TYPE, object_resource_name(namespace, gateway_name), props, options)

        async def explain_a_failed_create() -> None:
            try:
                await self.urn.future()
            except Exception as error:
                if "already exists" in str(error):  # the API server's AlreadyExists, as the provider passes it on
                    pulumi.log.error(already_exists_message(namespace, gateway_name))

        self._explained = asyncio.ensure_future(explain_a_failed_create())


def read_gateway_url(gateway: dict[str, Any], listener_name: str | None) -> str:
    """The URL of a Gateway read from the cluster; a message where it has none, or where it is the one this stack
    created and this update deletes (createGateway turned off: its address is about to go away)."""
    metadata = gateway.get("metadata") or {}
    namespace, gateway_name = str(metadata.get("namespace")), str(metadata.get("name"))
    if (metadata.get("annotations") or {}).get(CREATED_BY_STACK) == this_stack():
        pulumi.log.warn(deleted_by_this_update_message(namespace, gateway_name))
        return f"({deleted_by_this_update_message(namespace, gateway_name)})"
    return gateway_url_from(gateway, listener_name) or no_address_message(namespace, gateway_name)


def no_address_message(namespace: str, gateway_name: str) -> str:
    return (
        f"(no address yet: Gateway {namespace}/{gateway_name} has no status.addresses; run "
        f"`kubectl port-forward -n {namespace} deployment/{gateway_name} 8080:8080` and set "
        "gatewayUrl to http://localhost:8080)"
    )


def gateway_url_from(gateway: dict[str, Any], listener_name: str | None) -> str | None:
    """`scheme://address[:port]` from a Gateway object, or None when it has no address yet."""
    listeners = (gateway.get("spec") or {}).get("listeners") or []
    candidates = [
        listener
        for listener in listeners
        if (listener.get("name") == listener_name if listener_name else listener.get("protocol") in ("HTTP", "HTTPS"))
    ]
    addresses = (gateway.get("status") or {}).get("addresses") or []
    if not candidates or not addresses:
        return None
    listener = candidates[0]
    scheme = "https" if listener.get("protocol") == "HTTPS" else "http"
    host = str(addresses[0]["value"])
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    port = int(listener["port"])
    default_port = 443 if scheme == "https" else 80
    return f"{scheme}://{host}" if port == default_port else f"{scheme}://{host}:{port}"


def gateway_object(settings: StackSettings) -> dict[str, Any]:
    """The Gateway the stack creates (`createGateway`), labelled as the project's: the program registers it and the
    preflight (program/preflight.py) checks it."""
    gw = settings.gateway
    manifest = gateway_manifest(
        name=gw.gateway_name,
        namespace=gw.gateway_namespace,
        port=settings.gateway_port,
        listener_name=gw.listener_name or "http",
        route_namespaces=tuple(
            route.namespace or target.backend.namespace for target in settings.targets for route in target.routes
        ),
        wait=settings.targets[0].backend.wait_for_acceptance,
        gateway_parameters=settings.credentials.gateway_parameters_name
        if settings.credentials.mode == "irsa"
        else None,
    )
    manifest["metadata"]["labels"] = COMMON_LABELS
    return manifest
