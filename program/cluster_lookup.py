"""What the program reads of the cluster itself, outside Pulumi's resources: the objects the stack is about to name.

pulumi-kubernetes offers no call that answers "does this object exist" without failing: a read (`.get`, a
resource with `id`) of a missing object fails the whole deployment ("resource '...' does not exist", pulumi/pulumi
`pkg/resource/deploy/step.go` `ReadStep.Apply`), and its only invokes decode YAML, template a Helm chart and build a
kustomization (pulumi/pulumi-kubernetes `provider/pkg/provider/provider.go` `Invoke`: `invokeDecodeYaml`,
`invokeHelmTemplate`, `invokeKustomize`). So the program asks `kubectl`, with the cluster the Kubernetes provider
is configured for (`kubernetes:kubeconfig`, `kubernetes:context`, `kubernetes:cluster`; else `KUBECONFIG` and
`~/.kube/config`, as the provider), in `pulumi preview` and `pulumi up` alike.

The offline runs (tools/engine.py `run_program`) put their own lookup in `LOOKUP` for the run: the deploy harness
answers from its in-memory API server, the mock engine from no cluster at all (the check is then skipped).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Protocol

import pulumi

# The kinds the check looks at, as kubectl names them (resource.group: never ambiguous with another API's kind).
KUBECTL_RESOURCES = {
    "Secret": "secrets",
    "Backend": "backends.gateway.kgateway.dev",
    "HTTPRoute": "httproutes.gateway.networking.k8s.io",
    "Gateway": "gateways.gateway.networking.k8s.io",
    "GatewayParameters": "gatewayparameters.gateway.kgateway.dev",
}
# kubectl's answer for a kind the cluster does not serve (a CRD not installed): no object of it can collide.
NOT_SERVED = "the server doesn't have a resource type"
TIMEOUT_SECONDS = 60


class ClusterLookupError(RuntimeError):
    """The cluster could not be asked (no kubectl, no access): the check is skipped with a warning."""


class ClusterLookup(Protocol):
    """The objects of a kind as the API server has them (a Secret's `metadata` only: its data is never read)."""

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None: ...

    def list(self, kind: str) -> list[dict[str, Any]]:
        """Every object of the kind, in every namespace."""
        ...


class NoCluster:
    """No cluster to ask (the offline plan on the mock engine): nothing is found, and nothing is claimed."""

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        return None

    def list(self, kind: str) -> list[dict[str, Any]]:
        return []


NO_CLUSTER = NoCluster()
LOOKUP: ContextVar[ClusterLookup | None] = ContextVar("cluster_lookup", default=None)
"""The lookup of this run; None: ask the cluster with kubectl (a real `pulumi preview`/`pulumi up`)."""


class KubectlLookup:
    """`kubectl get`, against the cluster the default Kubernetes provider uses."""

    def __init__(self, flags: list[str]) -> None:
        self._flags = flags
        self._kubectl = shutil.which("kubectl")

    def _run(self, arguments: list[str]) -> str | None:
        if self._kubectl is None:
            raise ClusterLookupError("kubectl is not on PATH")
        command = [self._kubectl, *self._flags, "get", *arguments, "--request-timeout=20s"]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ClusterLookupError(f"kubectl get failed: {error}") from error
        if done.returncode != 0:
            if NOT_SERVED in done.stderr:
                return None
            raise ClusterLookupError(f"kubectl get {arguments[0]} failed: {done.stderr.strip()[:300]}")
        return done.stdout

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        resource = KUBECTL_RESOURCES[kind]
        # A Secret's metadata alone: its keys never reach this process.
        output = "jsonpath={.metadata}" if kind == "Secret" else "json"
        text = self._run([resource, name, "-n", namespace, "--ignore-not-found", "-o", output])
        if not text or not text.strip():
            return None
        found: dict[str, Any] = json.loads(text)
        return {"kind": kind, "metadata": found} if kind == "Secret" else found

    def list(self, kind: str) -> list[dict[str, Any]]:
        text = self._run([KUBECTL_RESOURCES[kind], "--all-namespaces", "-o", "json"])
        if not text:
            return []
        items: list[dict[str, Any]] = json.loads(text).get("items") or []
        return items


@contextlib.contextmanager
def cluster_lookup() -> Iterator[ClusterLookup | None]:
    """The run's lookup (None: the provider renders YAML to a folder, so there is no cluster to collide with)."""
    given = LOOKUP.get()
    if given is not None:
        yield given
        return
    config = pulumi.Config("kubernetes")
    if config.get("renderYamlToDirectory"):
        yield None
        return
    flags: list[str] = []
    for key in ("context", "cluster"):
        if value := config.get(key):
            flags += [f"--{key}", value]
    kubeconfig = config.get("kubeconfig")
    if not kubeconfig:
        yield KubectlLookup(flags)
        return
    if Path(os.path.expanduser(kubeconfig)).is_file():  # the provider takes a path or the file's contents
        yield KubectlLookup([*flags, "--kubeconfig", os.path.expanduser(kubeconfig)])
        return
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "kubeconfig"
        path.write_text(kubeconfig)
        path.chmod(0o600)
        yield KubectlLookup([*flags, "--kubeconfig", str(path)])
