"""A Gateway API `HTTPRoute` to a kgateway Lambda `Backend`, with the ReferenceGrant a cross-namespace route needs."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.k8s_objects import custom_resource
from components.kgateway_api import (
    http_route_manifest,
    reference_grant_manifest,
)


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
    match: str = "PathPrefix"
    methods: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    hostnames: tuple[str, ...] = ()
    # Where the Backend lives; another namespace than the route's gets a ReferenceGrant for that one Backend.
    backend_namespace: str | None = None
    # Resources the HTTPRoute must wait for (a Gateway this stack creates).
    depends_on: tuple[pulumi.Resource, ...] = ()


class LambdaRoute(pulumi.ComponentResource):
    """The HTTPRoute that sends a Gateway path to a Lambda Backend."""

    route_name: pulumi.Output[str]

    def __init__(self, name: str, args: LambdaRouteArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("kgateway-lambda:kubernetes:LambdaRoute", name, None, opts)
        depends_on: list[pulumi.Resource] = list(args.depends_on)
        backend_namespace = args.backend_namespace or args.namespace
        if backend_namespace != args.namespace:
            grant = reference_grant_manifest(
                name=f"{args.name}-from-{args.namespace}"[:253],
                backend_namespace=backend_namespace,
                route_namespace=args.namespace,
                backend_name=args.backend_name,
            )
            depends_on.append(custom_resource(f"{name}-reference-grant", grant, pulumi.ResourceOptions(parent=self)))
        manifest = http_route_manifest(
            name=args.name,
            namespace=args.namespace,
            gateway_name=args.gateway_name,
            gateway_namespace=args.gateway_namespace,
            listener_name=args.listener_name,
            path=args.path,
            backend_name=args.backend_name,
            backend_namespace=backend_namespace,
            match=args.match,
            methods=args.methods,
            headers=args.headers,
            hostnames=args.hostnames,
            wait=args.wait_for_acceptance,
        )
        route = custom_resource(
            f"{name}-httproute", manifest, pulumi.ResourceOptions(parent=self, depends_on=depends_on)
        )
        self.route_name = route.urn.apply(lambda _: args.name)
        self.register_outputs({"route_name": self.route_name})
