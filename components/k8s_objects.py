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
