"""Kubernetes objects from the manifests in `kgateway_api`, labelled as this project's.

Every object here has a fixed name (from config or derived), which shapes how it is registered:

- Its Pulumi name is its `namespace/name`, so its URN follows the object and nothing else. Renaming the function
  behind a pinned `backendName`/`routeName` leaves the Backend's and HTTPRoute's URNs alone (an in-place update,
  never a second object of the same name); a new name or namespace is a new URN, which the engine creates before
  it deletes the old one (two objects with different names: no collision, no gap). The name these objects had
  before (`<component>-backend`, ...) is kept as an alias, so deployed stacks keep their URNs.
- `delete_before_replace`: a replacement within one URN is then always of an object with the same name and
  namespace, which the API server cannot hold twice. pulumi-kubernetes asks for delete-first only from its own
  Diff (pulumi/pulumi-kubernetes `provider/pkg/provider/provider.go`, `Diff`: same name and namespace); a
  replacement the
  engine decides (a provider change, `--target-replace`, a replacement trigger) is create-before-delete unless the
  resource says otherwise (pulumi/pulumi `pkg/resource/deploy/step_generator.go`, "The user can override the
  provider's decision"), and the create would fail with AlreadyExists
  (pulumi/pulumi-kubernetes `provider/pkg/await/await.go` `Creation`: a client-side create).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

COMMON_LABELS = {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "kgateway-lambda"}


def object_resource_name(namespace: str, name: str) -> str:
    """The Pulumi name of a Kubernetes object: the object's own identity (see the module's docstring)."""
    return f"{namespace}/{name}"


def fixed_name_options(opts: pulumi.ResourceOptions, previous_resource_name: str) -> pulumi.ResourceOptions:
    """`opts`, plus delete-first replacement and an alias of the name the object had before (`<component>-<role>`)."""
    fixed = pulumi.ResourceOptions(delete_before_replace=True, aliases=[pulumi.Alias(name=previous_resource_name)])
    return pulumi.ResourceOptions.merge(opts, fixed)


def custom_resource(
    previous_resource_name: str, manifest: dict[str, Any], opts: pulumi.ResourceOptions
) -> k8s.apiextensions.CustomResource:
    """A custom resource exactly as the manifest says, plus the common labels, registered as a fixed-name object."""
    metadata = manifest["metadata"]
    return k8s.apiextensions.CustomResource(
        object_resource_name(metadata["namespace"], metadata["name"]),
        api_version=manifest["apiVersion"],
        kind=manifest["kind"],
        metadata={**manifest["metadata"], "labels": COMMON_LABELS},
        spec=manifest["spec"],
        opts=fixed_name_options(opts, previous_resource_name),
    )


def deferred_custom_resource(
    previous_resource_name: str,
    identity: dict[str, str],
    manifest: pulumi.Output[dict[str, Any]],
    opts: pulumi.ResourceOptions,
) -> k8s.apiextensions.CustomResource:
    """A custom resource whose annotations and spec are known only at deploy.

    `identity` holds what is known now: apiVersion and kind (the type token), name and namespace.
    """
    return k8s.apiextensions.CustomResource(
        object_resource_name(identity["namespace"], identity["name"]),
        api_version=identity["apiVersion"],
        kind=identity["kind"],
        metadata={
            "name": identity["name"],
            "namespace": identity["namespace"],
            "annotations": manifest.apply(lambda m: m["metadata"].get("annotations") or {}),
            "labels": COMMON_LABELS,
        },
        spec=manifest.apply(lambda m: m["spec"]),
        opts=fixed_name_options(opts, previous_resource_name),
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
