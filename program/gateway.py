"""Where the Gateway listens: read from the cluster at deploy time, or overridden by config."""

from __future__ import annotations

import asyncio
from typing import Any

import pulumi

from components.k8s_objects import kubernetes_package_options

GATEWAY_TYPE = "kubernetes:gateway.networking.k8s.io/v1:Gateway"


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
    """A Gateway this stack creates and deletes; `status` is declared so its published address can be read."""

    spec: pulumi.Output[Any]
    status: pulumi.Output[Any]

    def __init__(self, name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions | None = None):
        props = {**manifest, "status": None}
        super().__init__(GATEWAY_TYPE, name, props, pulumi.ResourceOptions.merge(kubernetes_package_options(), opts))


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
