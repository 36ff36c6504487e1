"""Who may call a Lambda route: API keys, JWT, CORS, rate limit, IP allow list, timeout and retry, as ONE kgateway
`TrafficPolicy` per HTTPRoute, plus the Secret of API keys and the JWT `GatewayExtension` it names.

This file is the component (`RouteProtection`): what it registers and in which order. What a user may ask is in
`protection_inputs.py`, the rules on it in `protection_checks.py`, the plain objects it becomes in
`protection_spec.py`.

Day 2, in the order the Pulumi engine applies it (creates and updates in dependency order while the program runs;
resources no longer registered are deleted after all of them, dependents first: pulumi/pulumi
`pkg/resource/deploy/step_generator.go` `GenerateDeletes`, `pkg/resource/deploy/deployment_executor.go`):

- A remote https JWKS's BackendConfigPolicy (TLS) and, for a JWKS backend in another namespace, its ReferenceGrant
  come before the GatewayExtension that fetches through them (components/jwks_access.py).
- The Secret and the GatewayExtension come first: the TrafficPolicy depends on them explicitly (it names them by
  plain strings), so it never references an object that does not exist yet (on v2.2+ that is a policy error, and
  the route answers 500 until it appears).
- The TrafficPolicy comes before the HTTPRoute: the route's component waits for this component (`depends_on`),
  so a new route is never served without its protection. The policy does not wait for its own status: kgateway
  writes none until its target route is translated (TRAFFICPOLICY.md §10).
- Changing protection updates the one TrafficPolicy in place (one object: kgateway sees the old or the new
  policy, never none). Keys rotate inside the Secret (kgateway re-reads Secrets, TRAFFICPOLICY.md §1), and with
  `previousRotation` the old keys stay valid beside the new ones until it is removed.
- Removing protection (or the route) deletes the policy after everything else, and a removed route before its
  policy (dependents first): a protected route is never served without its policy.

A protection `timeout` is not emitted here: `LambdaRoute` sets it as the HTTPRoute rule's `timeouts.request`
(every line has it, and it overrides a TrafficPolicy's: TRAFFICPOLICY.md §7), so the route's timeout is one fact.
With `kgateway_version` auto, the cluster's TrafficPolicy CRD and its controller's Deployment are read
(components/controller.py: the CRD says what is accepted, the controller's line what is enforced) and the policy is
built from what both offer; a kind either lacks fails the deploy naming the first line that has it.

Secret values are written to `data` (base64), never `stringData`: Kubernetes merges `stringData` into `data` on
write (k8s.io/api `core/v1/types.go`, `Secret.StringData`), so a key removed from `stringData` would stay valid.
"""

from __future__ import annotations  # `-> k8s.core.v1.Secret` would load pulumi-kubernetes' core types at import

import base64
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .cluster_reads import ClusterReads, check_cluster_reads, installed_traffic_policy_support
from .controller import DEFAULT_CONTROLLER, DEPLOYMENT_TYPE, installed_enforced_support
from .crd_reads import crd_read_id
from .k8s_objects import COMMON_LABELS, object_resource_name
from .kgateway_api import AUTO, BACKEND_API_VERSION, CRD_TYPE
from .protection_checks import check_protection_args
from .protection_inputs import RouteProtectionArgs
from .protection_spec import ProtectionPlan, jwks_access, protection_objects, protection_plan, protection_policy_name
from .readiness import policy_acceptance_gate
from .tokens import component_options, token
from .traffic_policy import (
    TRAFFIC_POLICY_CRD_NAME,
    TRAFFIC_POLICY_SUPPORT,
    TrafficPolicySupport,
    protection_problems,
)
from .validation import (
    DNS_LABEL_RE,
    DNS_LABEL_RULE,
    DNS_SUBDOMAIN_RE,
    DNS_SUBDOMAIN_RULE,
    InputChecker,
)

GENERATED_KEY_BYTES = 32  # 256 bits, sent as 64 hex characters


def _secret_data(entries: dict[str, Any]) -> pulumi.Output[dict[str, str]]:
    secret: pulumi.Output[dict[str, str]] = pulumi.Output.secret(_encoded(entries))
    return secret


def _secret_keys(entries: dict[str, Any]) -> pulumi.Output[dict[str, str]]:
    secret: pulumi.Output[dict[str, str]] = pulumi.Output.secret({client: str(key) for client, key in entries.items()})
    return secret


def _encoded(entries: Mapping[str, Any]) -> dict[str, str]:
    """A Secret's `data`: each value base64-encoded, byte for byte (kgateway uses the value as it is)."""
    return {client: base64.b64encode(str(value).encode()).decode() for client, value in sorted(entries.items())}


def _gate(manifest: dict[str, Any], support: TrafficPolicySupport) -> dict[str, Any] | None:
    """The acceptance gate's patch for this policy, or None where the line's status shape is not known here."""
    if support.status_ancestors is None:
        return None
    return policy_acceptance_gate(manifest, support.status_ancestors)


def _gate_metadata(gate: dict[str, Any] | None) -> dict[str, Any]:
    assert gate is not None  # await_acceptance registers no gate where there is none
    metadata: dict[str, Any] = gate["metadata"]
    return metadata


class RouteProtection(pulumi.ComponentResource):
    """One HTTPRoute's protection: its TrafficPolicy, the Secret of API keys, the JWT GatewayExtension.

    The route must wait for this component (`depends_on`), so that it is never served before its policy exists.
    Python only for now: the route's name, namespace and the kgateway line are keyword arguments; `auto` reads
    the cluster's TrafficPolicy CRD (`crds_ready`: what installs it in the same program) and the controller's
    Deployment (`controller_deployment`, `namespace/name`), for this component alone, or takes them from
    `cluster_reads`, read once for the stack (components/cluster_reads.py); `stream_idle_timeout`
    is the route's `timeouts.streamIdle` (`LambdaRoute` derives it from the route's request timeout).
    """

    policy_name: pulumi.Output[str]
    """The TrafficPolicy's name."""
    api_keys: pulumi.Output[dict[str, str] | None]
    """The current API keys by client id (a secret; none without apiKeys)."""
    secret_name: pulumi.Output[str | None]
    """The Secret of API keys (none without apiKeys)."""

    def __init__(
        self,
        name: str,
        args: RouteProtectionArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        route_name: str,
        namespace: str = "kgateway-system",
        kgateway_version: str = "main",
        wait: bool = True,
        crds_ready: pulumi.Input[str] | None = None,
        controller_deployment: str = DEFAULT_CONTROLLER,
        cluster_reads: ClusterReads | None = None,
        stream_idle_timeout: str | None = None,
    ):
        super().__init__(token("RouteProtection"), name, None, component_options("RouteProtection", None, opts))
        check_cluster_reads("RouteProtection", name, cluster_reads, self.get_provider(CRD_TYPE))
        checker = InputChecker("RouteProtection", name)
        check_protection_args(checker, args)
        support: TrafficPolicySupport | None = TRAFFIC_POLICY_SUPPORT.get(kgateway_version)
        if support is None and kgateway_version != AUTO:
            checker.choice("kgatewayVersion", kgateway_version, [AUTO, *TRAFFIC_POLICY_SUPPORT])
        checker.pattern("routeName", route_name, DNS_SUBDOMAIN_RE, DNS_SUBDOMAIN_RULE, "echo")
        checker.pattern("namespace", namespace, DNS_LABEL_RE, DNS_LABEL_RULE, "kgateway-system")
        checker.done()
        spec, provider, secret_name, extension_name = protection_objects(args, route_name, stream_idle_timeout)
        problems = protection_problems(support, spec.kinds()) if support is not None else []
        if problems:
            checker.fail("kgatewayVersion", kgateway_version, "; ".join(problems), "main")
            checker.done()
        installed: pulumi.Output[TrafficPolicySupport] | None = None
        if support is None and cluster_reads is not None:  # auto, read once for the whole stack
            installed = cluster_reads.enforced_support(controller_deployment)
        elif support is None:  # auto: the cluster's CRD decides (a kind it lacks fails the deploy, naming the line)
            read_id = crd_read_id(self.get_provider(CRD_TYPE), crds_ready, TRAFFIC_POLICY_CRD_NAME)
            offered = installed_traffic_policy_support(
                f"{name}-trafficpolicy-crd", pulumi.ResourceOptions(parent=self), read_id
            )
            # ... and what the controller enforces (components/controller.py): a kind the CRD has but the
            # controller's line lacks is refused, never written for a controller that would drop it.
            controller_id = crd_read_id(self.get_provider(DEPLOYMENT_TYPE), crds_ready, controller_deployment)
            installed = installed_enforced_support(
                offered, f"{name}-controller", pulumi.ResourceOptions(parent=self), controller_id, controller_deployment
            )

        waited: list[pulumi.Resource] = []
        none: pulumi.Output[Any] = pulumi.Output.from_input(None)
        self.api_keys = self.secret_name = none
        if (keys := args.get("api_keys")) is not None:
            secret = self._api_key_secret(name, keys, namespace, secret_name, route_name)
            waited.append(secret)
            self.secret_name = secret.urn.apply(lambda _: secret_name)

        def plan_on(line: TrafficPolicySupport) -> ProtectionPlan:
            return protection_plan(args, route_name, namespace, line, wait, stream_idle_timeout)

        # Pinned: the objects now; auto: once the cluster's line is read (the same builder either way).
        planned = plan_on(support) if support is not None else None
        deferred = installed.apply(plan_on) if installed is not None else None
        if provider is not None and extension_name is not None:
            # TLS to an https JWKS host and the grant to its namespace exist before the extension that uses them.
            access = [
                self._object(manifest, pulumi.ResourceOptions(parent=self))
                for manifest in jwks_access(provider, extension_name, namespace)
            ]
            waited.extend(access)
            extension_opts = pulumi.ResourceOptions(parent=self, depends_on=access)
            if planned is not None:
                assert planned.extension is not None  # a plan with a JWT provider has its extension
                waited.append(self._object(planned.extension, extension_opts))
            else:
                assert deferred is not None
                extension = deferred.apply(lambda plan: plan.extension or {})
                waited.append(self._deferred("GatewayExtension", extension_name, namespace, extension, extension_opts))
        policy_name = protection_policy_name(route_name)
        policy_opts = pulumi.ResourceOptions(parent=self, depends_on=waited)
        policy: pulumi.Resource
        gate: pulumi.Input[dict[str, Any] | None]
        if planned is not None and support is not None:
            policy = self._object(planned.policy, policy_opts)
            gate = _gate(planned.policy, support) if wait else None
        else:
            assert deferred is not None and installed is not None
            manifest = deferred.apply(lambda plan: plan.policy)
            policy = self._deferred("TrafficPolicy", policy_name, namespace, manifest, policy_opts)
            gate = pulumi.Output.all(manifest, installed).apply(lambda both: _gate(*both)) if wait else None
        self.policy = policy  # Python only: what a route waits for
        self._gate = gate
        self._policy_identity = (policy_name, namespace)
        self.policy_name = policy.urn.apply(lambda _: policy_name)
        self.register_outputs(
            {"policy_name": self.policy_name, "api_keys": self.api_keys, "secret_name": self.secret_name}
        )

    def await_acceptance(self, route: pulumi.Resource) -> pulumi.Resource | None:
        """After `route` (the HTTPRoute the policy targets): a gate that makes `pulumi up` wait until kgateway
        accepted the policy's current generation (components/readiness.py). None when nothing is awaited (`wait`
        false, or a line whose status shape is not known here)."""
        if self._gate is None:
            return None
        name, namespace = self._policy_identity
        gate = pulumi.Output.from_input(self._gate)
        return k8s.apiextensions.CustomResourcePatch(
            object_resource_name(namespace, name),
            api_version=BACKEND_API_VERSION,
            kind="TrafficPolicy",
            metadata=gate.apply(_gate_metadata),
            # Named like the policy it patches (a fixed-name object, components/k8s_objects.py): replaced delete-first,
            # so two gates never own the same annotations.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.policy, route], delete_before_replace=True),
        )

    def _deferred(
        self,
        kind: str,
        object_name: str,
        namespace: str,
        manifest: pulumi.Output[dict[str, Any]],
        opts: pulumi.ResourceOptions,
    ) -> k8s.apiextensions.CustomResource:
        """A fixed-name object whose spec is known once the cluster's CRD is read (`auto`)."""
        return k8s.apiextensions.CustomResource(
            object_resource_name(namespace, object_name),
            api_version=BACKEND_API_VERSION,
            kind=kind,
            metadata={
                "name": object_name,
                "namespace": namespace,
                "annotations": manifest.apply(lambda m: m["metadata"].get("annotations") or {}),
                "labels": COMMON_LABELS,
            },
            spec=manifest.apply(lambda m: m["spec"]),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(delete_before_replace=True)),
        )

    def _object(self, manifest: dict[str, Any], opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
        """A fixed-name object (components/k8s_objects.py): named `namespace/name`, replaced delete-first."""
        metadata = manifest["metadata"]
        return k8s.apiextensions.CustomResource(
            object_resource_name(metadata["namespace"], metadata["name"]),
            api_version=manifest["apiVersion"],
            kind=manifest["kind"],
            metadata={**metadata, "labels": COMMON_LABELS},
            spec=manifest["spec"],
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(delete_before_replace=True)),
        )

    def _api_key_secret(
        self, name: str, keys: Mapping[str, Any], namespace: str, secret_name: str, route_name: str
    ) -> k8s.core.v1.Secret:
        """The Secret kgateway reads: one data entry per client (entry name = client id, value = the key)."""
        entries: dict[str, pulumi.Input[str]] = {}
        current: dict[str, pulumi.Input[str]] = {}
        if keys.get("keys") is not None:
            current = dict(keys["keys"])
            entries.update(current)
        else:
            rotation = keys.get("rotation") or "1"
            previous = keys.get("previous_rotation")
            for client in keys.get("clients") or ["default"]:
                # The rotation is in the resource name: a new rotation is a new random key (created, then the
                # Secret switched to it, then the old one deleted); the previous rotation's resource is kept.
                current[client] = self._random_key(name, namespace, route_name, client, rotation)
                if previous is not None:
                    entries[f"{client}.previous"] = self._random_key(name, namespace, route_name, client, previous)
            entries.update(current)
        # Secret from the start (also for provided keys given as plain strings): never plain in the state or a diff.
        data: pulumi.Output[dict[str, str]] = pulumi.Output.all(**entries).apply(_secret_data)
        keys_out: pulumi.Output[dict[str, str]] = pulumi.Output.all(**current).apply(_secret_keys)
        self.api_keys = keys_out
        return k8s.core.v1.Secret(
            object_resource_name(namespace, secret_name),
            metadata=k8s.meta.v1.ObjectMetaArgs(name=secret_name, namespace=namespace, labels=COMMON_LABELS),
            type="Opaque",
            data=data,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
        )

    def _random_key(self, name: str, namespace: str, route_name: str, client: str, rotation: str) -> pulumi.Output[str]:
        """256 random bits from the random provider's crypto RNG, made once and kept in the state (a secret).

        Its Pulumi name is the HTTPRoute's identity (`namespace/route`), not this component's name: a URN holds its
        parents' types but not their names (pulumi/pulumi `sdk/go/common/resource/urn.go` `NewURN` @ 1b5949891b),
        so renaming the function behind a pinned route name leaves every key's URN, and so the key, where it is.
        With the component's name in it, a rename made new keys, and the Secret (same name, new data) was replaced
        delete-first: a 500, then 401 for every old key. The name it had before is an alias (deployed stacks keep
        their keys)."""
        key = random.RandomBytes(
            f"{namespace}/{route_name}-api-key-{client}-{rotation}",
            length=GENERATED_KEY_BYTES,
            opts=pulumi.ResourceOptions(
                parent=self, aliases=[pulumi.Alias(name=f"{name}-api-key-{client}-{rotation}")]
            ),
        )
        return key.hex
