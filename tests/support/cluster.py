"""An in-memory Kubernetes API server for the deploy harness: what it holds, what it refuses (AlreadyExists, what the
real CRDs refuse) and what it answers to a read."""

from __future__ import annotations

import json
from typing import Any

from components.kgateway_api import CRD_TYPE
from program.crd_validation import object_errors
from program.gateway import GATEWAY_TYPE
from tests.support.kgateway_reference import MAIN_BACKEND_CRD, MAIN_TRAFFIC_POLICY_CRD
from tools.engine import read_crd_file, reveal


class AlreadyExistsError(RuntimeError):
    """The API server's AlreadyExists for a create whose name is taken."""


# Kinds without a namespace (the API server keeps them cluster-wide).
CLUSTER_SCOPED_KINDS = {"CustomResourceDefinition", "Namespace", "ClusterRole", "ClusterRoleBinding"}


class Cluster:
    """An in-memory API server: refuses an object that exists (AlreadyExists), validates every custom object
    against the real CRD (strict fields, CEL; kgateway main), answers reads with what it holds, and forgets what
    is deleted. It starts with what the guide installs: kgateway's Backend and TrafficPolicy CRDs and the Gateway
    `http` in `kgateway-system` (pass `gateway=None` for a cluster without it)."""

    def __init__(self, gateway: dict[str, Any] | None = None, *, with_gateway: bool = True) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        for crd_file in (MAIN_BACKEND_CRD, MAIN_TRAFFIC_POLICY_CRD):
            crd = read_crd_file(crd_file)
            self.objects[self._identity(CRD_TYPE, crd)] = crd
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
            self.objects[self._identity(GATEWAY_TYPE, manifest)] = manifest

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
        identity = self._identity(type_, manifest)
        self._validate(manifest)
        if identity in self.objects:
            raise AlreadyExistsError(
                f'AlreadyExists: {identity[0]} "{identity[2]}" already exists in {identity[1] or "the cluster"}'
                "\n\nThe resource already exists in the cluster."
            )
        if not dry_run:
            self.objects[identity] = manifest
        return f"{identity[1]}/{identity[2]}" if identity[1] else identity[2]

    def update(self, type_: str, manifest: dict[str, Any], *, dry_run: bool = False) -> None:
        """A server-side apply of the whole object (pulumi-kubernetes' Update), validated like a create."""
        self._validate(manifest)
        if not dry_run:
            self.objects[self._identity(type_, manifest)] = manifest

    def delete(self, type_: str, manifest: dict[str, Any]) -> None:
        self.objects.pop(self._identity(type_, reveal(manifest)), None)

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
