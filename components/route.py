"""A Gateway API `HTTPRoute` from a path on the Gateway to a kgateway Lambda `Backend`."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.credentials import COMMON_LABELS
from components.kgateway_api import HTTPROUTE_API_VERSION, http_route_manifest


@dataclass(frozen=True)
class LambdaRouteArgs:
    name: str
    namespace: str
    path: str
    backend_name: pulumi.Input[str]
    gateway_name: str = "http"
    gateway_namespace: str = "kgateway-system"
    listener_name: str | None = None
    wait_for_acceptance: bool = True


class LambdaRoute(pulumi.ComponentResource):
    """The HTTPRoute (PathPrefix match) that sends a Gateway path to a Lambda Backend."""

    route_name: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: LambdaRouteArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kgateway-lambda:kubernetes:LambdaRoute", name, None, opts)

        manifest = http_route_manifest(
            name=args.name,
            namespace=args.namespace,
            gateway_name=args.gateway_name,
            gateway_namespace=args.gateway_namespace,
            listener_name=args.listener_name,
            path=args.path,
            backend_name=args.backend_name,
            wait=args.wait_for_acceptance,
        )
        route = k8s.apiextensions.CustomResource(
            f"{name}-httproute",
            api_version=HTTPROUTE_API_VERSION,
            kind="HTTPRoute",
            metadata={**manifest["metadata"], "labels": COMMON_LABELS},
            spec=manifest["spec"],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.route_name = route.urn.apply(lambda _: args.name)
        self.register_outputs({"route_name": self.route_name})
