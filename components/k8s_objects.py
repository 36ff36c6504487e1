"""Kubernetes objects from the manifests in `kgateway_api`, labelled as this project's."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

COMMON_LABELS = {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "kgateway-lambda"}


def custom_resource(
    resource_name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    """A custom resource exactly as the manifest says, plus the common labels."""
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata={**manifest["metadata"], "labels": COMMON_LABELS},
        spec=manifest["spec"],
        opts=opts,
    )


def deferred_custom_resource(
    resource_name: str,
    identity: dict[str, str],
    manifest: pulumi.Output[dict[str, Any]],
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """A custom resource whose annotations and spec are known only at deploy.

    `identity` holds what is known now: apiVersion and kind (the type token), name and namespace.
    """
    return k8s.apiextensions.CustomResource(
        resource_name,
        api_version=identity["apiVersion"],
        kind=identity["kind"],
        metadata={
            "name": identity["name"],
            "namespace": identity["namespace"],
            "annotations": manifest.apply(lambda m: m["metadata"].get("annotations") or {}),
            "labels": COMMON_LABELS,
        },
        spec=manifest.apply(lambda m: m["spec"]),
        opts=opts,
    )


def awaited_resources(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """What a component was told to wait for: its Kubernetes object then waits for exactly that, explicitly."""
    waits_for = opts.depends_on if opts is not None else None
    listed = waits_for if isinstance(waits_for, list) else [waits_for]
    return [resource for resource in listed if isinstance(resource, pulumi.Resource)]


def kubernetes_package_options() -> pulumi.ResourceOptions:
    """The options pulumi-kubernetes' own classes register with (its version, its plugin download URL), for the
    raw resources registered here: without them the engine serves the resource from a second, unversioned default
    provider whenever the caller's program has no pulumi-kubernetes of its own (a YAML or TypeScript consumer)."""
    return k8s._utilities.get_resource_opts_defaults()  # the generated classes' own defaults
