"""What `kgatewayVersion: auto` reads from one cluster, read once and shared by every component that needs it.

With `auto`, a Backend's shape comes from the cluster's Backend CRD (components/crd_reads.py), a route's protection
from its TrafficPolicy CRD and the controller's Deployment (components/protection.py, components/controller.py).
Each read is a resource in the state holding the whole object (a CRD is ~100 KB-1 MB of JSON) and a GET to the API
server at every preview and `up`. Read per component, 200 protected functions kept 400 CRD copies in the state and
sent 600 GETs per preview; read here, a stack holds one read per CRD kind (and one per controller Deployment) per
cluster, whatever its number of functions.

`ClusterReads` is per Kubernetes provider (per cluster): make one per provider and give it to each component
(`cluster_reads=`, Python only); a component given none makes its own (a composite shares it among its Backend and
routes). A read is made only when a component first asks for it, so a stack that pins its line reads nothing.
"""

from __future__ import annotations

from typing import Any

import pulumi

from .controller import DEFAULT_CONTROLLER, installed_enforced_support
from .crd_reads import CrdRead, crd_read_id, installed_backend_shape
from .kgateway_api import BACKEND_CRD_NAME, KgatewayVersion
from .traffic_policy import TRAFFIC_POLICY_CRD_NAME, TrafficPolicySupport, traffic_policy_support_from_crd
from .validation import InputChecker


def installed_traffic_policy_support(
    resource_name: str, opts: pulumi.ResourceOptions, read_id: pulumi.Output[str]
) -> pulumi.Output[TrafficPolicySupport]:
    """`auto`: read the cluster's TrafficPolicy CRD (as the Backend's is read, components/crd_reads.py) and decide
    what it can express from its schema; unknown while the read is (a preview before the cluster exists)."""
    crd = CrdRead(resource_name, opts, read_id)

    def decide(spec: Any) -> TrafficPolicySupport:
        if spec is None:
            message = (
                f"kgatewayVersion 'auto' could not read the cluster's CustomResourceDefinition "
                f"{TRAFFIC_POLICY_CRD_NAME}, which route protection needs: install kgateway's CRDs (v2.2 or newer "
                "for API keys, JWT, CORS and retries), or pin kgatewayVersion"
            )
            raise pulumi.RunError(message)
        return traffic_policy_support_from_crd({"spec": spec}, "auto (the cluster's TrafficPolicy CRD)")

    support: pulumi.Output[TrafficPolicySupport] = crd.spec.apply(decide)
    return support


class ClusterReads:
    """The reads of one cluster (one Kubernetes provider), each made on first use and shared after.

    `name`: prefix of the reads' resource names (unique in the stack); `parent`: the component they belong to
    (none: the stack's root); `provider`: the Kubernetes provider (none: the default, or the parent's);
    `crds_ready`: an output of what installs kgateway's CRDs in the same program, which every read waits for.
    """

    def __init__(
        self,
        name: str,
        *,
        parent: pulumi.Resource | None = None,
        provider: pulumi.ProviderResource | None = None,
        crds_ready: pulumi.Input[str] | None = None,
    ):
        self.name = name
        self.provider = provider
        self.crds_ready = crds_ready
        self._opts = pulumi.ResourceOptions(parent=parent, provider=provider)
        self._backend: pulumi.Output[KgatewayVersion] | None = None
        self._traffic_policy: pulumi.Output[TrafficPolicySupport] | None = None
        self._enforced: dict[str, pulumi.Output[TrafficPolicySupport]] = {}

    def serves(self, provider: pulumi.ProviderResource | None) -> bool:
        """Whether these reads are of the cluster a component with this Kubernetes provider deploys to."""
        return provider is self.provider

    def backend_shape(self) -> pulumi.Output[KgatewayVersion]:
        """The Backend shape the cluster's Backend CRD accepts (one read of `backends.gateway.kgateway.dev`)."""
        if self._backend is None:
            read_id = crd_read_id(self.provider, self.crds_ready, BACKEND_CRD_NAME)
            self._backend = installed_backend_shape(f"{self.name}-crd-{BACKEND_CRD_NAME}", self._opts, read_id)
        return self._backend

    def traffic_policy_support(self) -> pulumi.Output[TrafficPolicySupport]:
        """What the cluster's TrafficPolicy CRD can express (one read of `trafficpolicies.gateway.kgateway.dev`)."""
        if self._traffic_policy is None:
            read_id = crd_read_id(self.provider, self.crds_ready, TRAFFIC_POLICY_CRD_NAME)
            self._traffic_policy = installed_traffic_policy_support(
                f"{self.name}-crd-{TRAFFIC_POLICY_CRD_NAME}", self._opts, read_id
            )
        return self._traffic_policy

    def enforced_support(self, deployment: str = DEFAULT_CONTROLLER) -> pulumi.Output[TrafficPolicySupport]:
        """What a route's policy may ask: the TrafficPolicy CRD's kinds that the controller in `deployment`
        (`namespace/name`) enforces (one read of that Deployment, shared by every route naming it)."""
        if deployment not in self._enforced:
            read_id = crd_read_id(self.provider, self.crds_ready, deployment)
            self._enforced[deployment] = installed_enforced_support(
                self.traffic_policy_support(),
                f"{self.name}-controller-{deployment}",
                self._opts,
                read_id,
                deployment,
            )
        return self._enforced[deployment]


def check_cluster_reads(
    component: str, name: str, cluster_reads: ClusterReads | None, provider: pulumi.ProviderResource | None
) -> None:
    """Shared reads must be of the cluster the component deploys to: another cluster's CRD would pick the shape."""
    if cluster_reads is not None and not cluster_reads.serves(provider):
        checker = InputChecker(component, name)
        checker.fail(
            "cluster_reads",
            cluster_reads.name,
            "reads another Kubernetes provider's cluster than this component's; give the ClusterReads made with "
            "this component's provider",
            "ClusterReads('kgateway', provider=<this component's Kubernetes provider>)",
        )
        checker.done()
