"""What the providers decide that the deploy harness (tests/support/lifecycle.py) asks of them: pulumi-kubernetes'
Diff (replace, and delete first) and DiffConfig (a provider change to another cluster), which cluster a provider
reaches, the random provider's bytes, and the default providers' config; each as the provider's source says (cited
at each)."""

from __future__ import annotations

import base64
import secrets
from typing import Any

import yaml

from tests.support.state import comparable, is_unknown
from tools.engine import reveal


def random_bytes_state(inputs: dict[str, Any]) -> dict[str, Any]:
    """What the random provider's RandomBytes holds once made: `length` bytes from a crypto RNG as `hex` and
    `base64` (pulumi/pulumi-random: terraform-provider-random `resource_bytes.go` reads crypto/rand), kept in the
    state until the resource goes. The engine marks both secret (`additional_secret_outputs` in pulumi_random's
    RandomBytes); the mock engine does not, so the component wraps them in Output.secret itself."""
    raw = secrets.token_bytes(int(inputs["length"]))
    return {"hex": raw.hex(), "base64": base64.b64encode(raw).decode()}


def kubernetes_diff(type_: str, old: dict[str, Any], new: dict[str, Any]) -> tuple[bool, bool]:
    """(replace, delete_before_replace) as pulumi-kubernetes' Diff decides them.

    pulumi/pulumi-kubernetes provider/pkg/provider/diff.go `forceNewProperties`: `.metadata.name` and
    `.metadata.namespace` always force a replacement, and for a Secret (unless the provider sets
    `enableSecretMutable`) `.type`, `.stringData` and `.data` too (a ConfigMap's `.data` and `.binaryData`,
    unless `enableConfigMapMutable`). provider.go `Diff`: delete-before-replace only when the object is named
    and the new name AND namespace equal the old ones; a name or namespace change is create-before-delete.
    """
    before, after = reveal(old), reveal(new)
    before_meta, after_meta = before.get("metadata") or {}, after.get("metadata") or {}
    force_new: list[tuple[str, ...]] = [("metadata", "name"), ("metadata", "namespace")]
    if type_ == "kubernetes:core/v1:Secret":
        force_new += [("type",), ("stringData",), ("data",)]
    elif type_ == "kubernetes:core/v1:ConfigMap":  # unless `enableConfigMapMutable`
        force_new += [("binaryData",), ("data",)]

    def at(obj: dict[str, Any], path: tuple[str, ...]) -> Any:
        for part in path:
            obj = obj.get(part) if isinstance(obj, dict) else None  # type: ignore[assignment]
        return comparable({"v": obj})

    replace = any(at(before, path) != at(after, path) for path in force_new)
    same_identity = all(before_meta.get(k) == after_meta.get(k) for k in ("name", "namespace"))
    return replace, replace and same_identity and bool(after_meta.get("name"))


def active_cluster(config: dict[str, Any]) -> Any:
    """The cluster entry a kubeconfig's context selects (pulumi/pulumi-kubernetes provider/pkg/provider/util.go
    `getActiveClusterFromConfig`), or None when there is no kubeconfig to read it from."""
    text = config.get("kubeconfig")
    if not isinstance(text, str) or not text:
        return None
    try:
        kubeconfig = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(kubeconfig, dict):
        return None
    context_name = config.get("context") or kubeconfig.get("current-context")
    contexts = {c.get("name"): c.get("context") or {} for c in kubeconfig.get("contexts") or []}
    clusters = {c.get("name"): c.get("cluster") or {} for c in kubeconfig.get("clusters") or []}
    context = contexts.get(context_name)
    if context is None:
        return None
    return clusters.get(config.get("cluster") or context.get("cluster"))


def kubernetes_config_replaces(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether pulumi-kubernetes' DiffConfig (pulumi/pulumi-kubernetes provider/pkg/provider/provider.go
    `DiffConfig`) asks for a replacement
    of every object when a resource moves from a provider with config `old` to one with `new`: a changed
    `clusterIdentifier` (added or removed does not count), else a `kubeconfig`, `context` or `cluster` not known
    yet, else a different active cluster (both known); an unchanged, set `clusterIdentifier` cancels it all."""
    if old.get("clusterIdentifier") and new.get("clusterIdentifier"):
        return bool(old["clusterIdentifier"] != new["clusterIdentifier"])
    if any(is_unknown(new.get(key)) for key in ("kubeconfig", "context", "cluster")):
        return True
    before, after = active_cluster(old), active_cluster(new)
    return before is not None and after is not None and before != after


def cluster_identity(config: dict[str, Any]) -> str:
    """Which cluster a Kubernetes provider's config reaches: the server of the kubeconfig's active cluster
    (pulumi/pulumi-kubernetes provider/pkg/provider/util.go `getActiveClusterFromConfig`), else its
    `clusterIdentifier`, else "" (the ambient kubeconfig, the default provider's)."""
    active = active_cluster(config)
    if isinstance(active, dict) and active.get("server"):
        return str(active["server"])
    return str(config.get("clusterIdentifier") or "")


def provider_key(urn: str) -> str:
    """A provider by its type and name (the SDK's references carry the mock's URN, the state the engine's)."""
    parts = urn.split("::")
    return f"{parts[-2].rsplit('$', 1)[-1]}::{parts[-1]}"


def default_provider_config(config: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each package's default provider config: its `<package>:<key>` stack settings (pulumi/pulumi
    pkg/resource/deploy/providers: default providers are configured from the stack's config of their package)."""
    providers: dict[str, dict[str, Any]] = {}
    for key, value in config.items():
        package, _, name = key.partition(":")
        providers.setdefault(package, {})[name] = value
    return providers
