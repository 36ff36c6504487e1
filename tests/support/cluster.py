"""An in-memory Kubernetes API server for the deploy harness: what it holds, what it refuses (AlreadyExists, what the
real CRDs refuse) and what it answers to a read."""

from __future__ import annotations

import copy
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from components.kgateway_api import CRD_TYPE
from program.crd_validation import object_errors
from program.gateway import GATEWAY_TYPE
from tests.support.kgateway_reference import MAIN_BACKEND_CRD, MAIN_TRAFFIC_POLICY_CRD
from tools.engine import reveal
from tools.engine_answers import KGATEWAY_IMAGE, controller_deployment, read_crd_file


class AlreadyExistsError(RuntimeError):
    """The API server's AlreadyExists for a create whose name is taken."""


# Kinds without a namespace (the API server keeps them cluster-wide).
CLUSTER_SCOPED_KINDS = {"CustomResourceDefinition", "Namespace", "ClusterRole", "ClusterRoleBinding"}


# A kubeconfig of one cluster at the server given (`KUBECONFIG % server`): a Kubernetes provider with it reaches that
# cluster's in-memory API server.
KUBECONFIG = """
apiVersion: v1
kind: Config
current-context: here
contexts: [{name: here, context: {cluster: here}}]
clusters: [{name: here, cluster: {server: "%s"}}]
users: []
"""


def is_patch(type_: str) -> bool:
    """A pulumi-kubernetes Patch resource (`kubernetes:<apiVersion>:<Kind>Patch`;
    pulumi/pulumi-kubernetes `provider/pkg/kinds/util.go` `IsPatchResource`)."""
    return type_.startswith("kubernetes:") and type_.endswith("Patch")


def target_type(type_: str) -> str:
    """The type of the object a Patch resource patches."""
    return type_.removesuffix("Patch")


class Cluster:
    """An in-memory API server: refuses an object that exists (AlreadyExists), validates every custom object
    against the real CRD (strict fields, CEL; kgateway main), answers reads with what it holds, and forgets what
    is deleted. It starts with what the guide installs: kgateway's Backend and TrafficPolicy CRDs and the Gateway
    `http` in `kgateway-system` (pass `gateway=None` for a cluster without it)."""

    def __init__(self, gateway: dict[str, Any] | None = None, *, with_gateway: bool = True) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        # Each object's metadata.creationTimestamp (kept beside it: `objects` holds exactly what was applied), one
        # simulated second apart, in the order they were made: Gateway API's tie-break reads it.
        self.created_at: dict[tuple[str, str, str], str] = {}
        self._clock = itertools.count()
        self.lookups: list[tuple[str, str]] = []  # the program's own lookups: (get|list, kind)
        # Each patch resource's identity -> the annotation keys its field manager owns on the patched object.
        self.patches: dict[tuple[str, str, str], set[str]] = {}
        for crd_file in (MAIN_BACKEND_CRD, MAIN_TRAFFIC_POLICY_CRD):
            crd = read_crd_file(crd_file)
            self._store(self._identity(CRD_TYPE, crd), crd)
        # kgateway's controller, as its Helm chart installs it (components/controller.py reads its image).
        controller = controller_deployment(KGATEWAY_IMAGE)
        self._store(self._identity("kubernetes:apps/v1:Deployment", controller), controller)
        if with_gateway:
            guide = gateway or {
                "spec": {
                    "gatewayClassName": "kgateway",
                    "listeners": [{"name": "http", "port": 8080, "protocol": "HTTP"}],
                },
                "status": {"addresses": [{"type": "IPAddress", "value": "127.0.0.1"}]},
            }
            manifest = {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "Gateway",
                "metadata": {"name": "http", "namespace": "kgateway-system"},
                **guide,
            }
            self._store(self._identity(GATEWAY_TYPE, manifest), manifest)

    def _store(self, identity: tuple[str, str, str], manifest: dict[str, Any]) -> None:
        if identity not in self.objects:
            second = next(self._clock)
            self.created_at[identity] = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=second)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
        self.objects[identity] = manifest

    def install(self, type_: str, manifest: dict[str, Any]) -> None:
        """What an installer (a Helm chart) applies, stored as it is (a CRD replaces the one of its name)."""
        self._store(self._identity(type_, manifest), manifest)

    def apply_by_hand(self, manifest: dict[str, Any]) -> None:
        """`kubectl apply` of an object someone made by hand (the guide's), as their kgateway accepted it."""
        api_version = "core/v1" if manifest["apiVersion"] == "v1" else manifest["apiVersion"]
        type_ = f"kubernetes:{api_version}:{manifest['kind']}"
        self._store(self._identity(type_, manifest), manifest)

    def kubectl_delete(self, command: str) -> None:
        """`kubectl delete <kind> <name> -n <namespace>`, as a refusal prints it; refuses any other command."""
        words = command.split()
        assert words[:2] == ["kubectl", "delete"] and len(words) == 6 and words[4] == "-n", command
        kind, name, namespace = words[2].lower(), words[3], words[5]  # kubectl takes a kind in any case
        matches = [i for i in self.objects if i[0].rsplit(":", 1)[-1].lower() == kind and i[1:] == (namespace, name)]
        assert len(matches) == 1, f"{command}: NotFound"
        del self.objects[matches[0]]
        del self.created_at[matches[0]]

    def route_for(
        self, gateway: tuple[str, str], path: str, method: str = "POST", listener: str = "http"
    ) -> tuple[str, str] | None:
        """The HTTPRoute (namespace, name) a request with no Host, headers or query goes to on a Gateway, by Gateway
        API's precedence (the HTTPRouteRule `matches` description in program/crds/gateway-api-v1.2.1-httproutes.yaml):
        "Exact" path, then the longest "Prefix", then a method match; ties to "The oldest Route based on creation
        timestamp", then "{namespace}/{name}". Routes with hostnames are left out (no Host matches them), and so
        are those attached to another listener (`sectionName`)."""
        candidates: list[tuple[tuple[int, int, int], str, str, tuple[str, str]]] = []
        for identity, route in self.objects.items():
            if not identity[0].endswith(":HTTPRoute") or route["spec"].get("hostnames"):
                continue
            parents = {
                (p.get("namespace") or identity[1], p["name"])
                for p in route["spec"].get("parentRefs", [])
                if p.get("sectionName", listener) == listener
            }
            if gateway not in parents:
                continue
            for rule in route["spec"].get("rules") or [{}]:
                for match in rule.get("matches") or [{"path": {"type": "PathPrefix", "value": "/"}}]:
                    kind, value = match["path"].get("type", "PathPrefix"), match["path"].get("value", "/")
                    prefix = value.rstrip("/")
                    taken = path == value if kind == "Exact" else path == prefix or path.startswith(prefix + "/")
                    if not taken or match.get("method", method) != method:
                        continue
                    rank = (-1 if kind == "Exact" else 0, -len(prefix), -int("method" in match))
                    candidates.append((rank, self.created_at[identity], f"{identity[1]}/{identity[2]}", identity[1:]))
        return min(candidates)[3] if candidates else None

    # --- what the program reads itself (program/cluster_lookup.py `ClusterLookup`, kubectl's answers) -----------
    def _live(self, identity: tuple[str, str, str]) -> dict[str, Any]:
        found = copy.deepcopy(self.objects[identity])
        found.setdefault("metadata", {})["creationTimestamp"] = self.created_at[identity]
        if found.get("kind") == "Secret":  # `-o jsonpath={.metadata}`: never the data
            return {"kind": "Secret", "metadata": found["metadata"]}
        return found

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        self.lookups.append(("get", kind))
        for identity in self.objects:
            if identity[0].rsplit(":", 1)[-1] == kind and identity[1:] == (namespace, name):
                return self._live(identity)
        return None

    def list(self, kind: str) -> list[dict[str, Any]]:
        self.lookups.append(("list", kind))
        return [self._live(i) for i in sorted(self.objects) if i[0].rsplit(":", 1)[-1] == kind]

    @staticmethod
    def _identity(type_: str, manifest: dict[str, Any]) -> tuple[str, str, str]:
        metadata = manifest.get("metadata") or {}
        api_type = type_.split(":", 1)[1]
        if api_type.rsplit(":", 1)[-1] in CLUSTER_SCOPED_KINDS:
            return api_type, "", str(metadata["name"])
        return api_type, str(metadata.get("namespace", "default")), str(metadata["name"])

    def create(self, type_: str, manifest: dict[str, Any], *, dry_run: bool = False) -> str:
        """A create (client-side, as pulumi-kubernetes >= 4.29 makes it:
        pulumi/pulumi-kubernetes provider/pkg/await/await.go `Creation`);
        validation comes before the name check, as in the API server (admission, then storage)."""
        if is_patch(type_):
            return self._apply_patch(type_, manifest, dry_run=dry_run)
        identity = self._identity(type_, manifest)
        self._validate(manifest)
        if identity in self.objects:
            raise AlreadyExistsError(
                f'AlreadyExists: {identity[0]} "{identity[2]}" already exists in {identity[1] or "the cluster"}'
                "\n\nThe resource already exists in the cluster."
            )
        if not dry_run:
            self._store(identity, manifest)
        return f"{identity[1]}/{identity[2]}" if identity[1] else identity[2]

    def update(self, type_: str, manifest: dict[str, Any], *, dry_run: bool = False) -> None:
        """A server-side apply of the whole object (pulumi-kubernetes' Update), validated like a create."""
        if is_patch(type_):
            self._apply_patch(type_, manifest, dry_run=dry_run, previewed=True)
            return
        self._validate(manifest)
        if not dry_run:
            self._store(self._identity(type_, manifest), manifest)

    def delete(self, type_: str, manifest: dict[str, Any]) -> None:
        if is_patch(type_):  # an empty apply: the fields this patch's field manager owned go
            self._unapply_patch(type_, reveal(manifest))
            return
        identity = self._identity(type_, reveal(manifest))
        self.objects.pop(identity, None)
        self.created_at.pop(identity, None)

    def _apply_patch(self, type_: str, manifest: dict[str, Any], *, dry_run: bool, previewed: bool = False) -> str:
        """A server-side apply of a partial object (a pulumi-kubernetes `...Patch` resource:
        pulumi/pulumi-kubernetes `provider/pkg/await/await.go` `Creation` sends it as an apply patch). The API
        server merges it into the live object and
        validates the result; on an object that does not exist, the patch alone is the object (and a patch
        without the kind's required fields is refused). Only metadata annotations are modelled."""
        target = self._identity(target_type(type_), manifest)
        if dry_run and not previewed:  # a Patch's create is never previewed (provider.go `Create`, `skipPreview`)
            return f"{target[1]}/{target[2]}" if target[1] else target[2]
        annotations = dict((manifest.get("metadata") or {}).get("annotations") or {})
        live = self.objects.get(target)
        merged = json.loads(json.dumps(live if live is not None else {k: v for k, v in manifest.items()}))
        metadata = merged.setdefault("metadata", {})
        metadata["annotations"] = {**(metadata.get("annotations") or {}), **annotations}
        self._validate(merged)
        if not dry_run:
            self._store(target, merged)
            self.patches[self._identity(type_, manifest)] = set(annotations)
        return f"{target[1]}/{target[2]}" if target[1] else target[2]

    def _unapply_patch(self, type_: str, manifest: dict[str, Any]) -> None:
        owned = self.patches.pop(self._identity(type_, manifest), set())
        live = self.objects.get(self._identity(target_type(type_), manifest))
        if live is not None:
            annotations = (live.get("metadata") or {}).get("annotations") or {}
            for key in owned:
                annotations.pop(key, None)

    def read(self, type_: str, resource_id: str) -> dict[str, Any] | None:
        """What pulumi-kubernetes' Read returns for an ID `namespace/name` (or `name`): the live object, or None."""
        namespace, _, name = resource_id.rpartition("/")
        api_type = type_.split(":", 1)[1]
        if not namespace and api_type.rsplit(":", 1)[-1] not in CLUSTER_SCOPED_KINDS:
            namespace = "default"
        found = self.objects.get((api_type, namespace, name))
        return json.loads(json.dumps(found)) if found is not None else None

    @staticmethod
    def _validate(manifest: dict[str, Any]) -> None:
        validated = ("Backend", "HTTPRoute", "ReferenceGrant", "GatewayParameters", "Gateway", "TrafficPolicy")
        if manifest.get("kind") in (*validated, "GatewayExtension", "BackendConfigPolicy"):
            errors = object_errors(manifest, "main")
            if errors:
                raise RuntimeError(f"the API server refuses {manifest['kind']}: {errors}")

    def of_kind(self, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
        return {(ns, name): obj for (k, ns, name), obj in self.objects.items() if k.endswith(f":{kind}")}
