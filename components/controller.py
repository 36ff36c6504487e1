"""Which kgateway enforces a route's protection, with `kgatewayVersion: auto`: read from the controller's Deployment.

The CRDs say what the API server accepts, not what the controller enforces. kgateway's controller decodes a
TrafficPolicy into its own Go types, so a controller older than its CRDs (the CRD chart upgraded first, or the
controller rolled back) silently drops every field it does not know: an `apiKeyAuth` or `acl` written against a
v2.3 CRD is stored, accepted, and not enforced by a v2.2 controller, and the route is served without it. So `auto`
decides what a route's policy may ask from both: the kinds the cluster's TrafficPolicy CRD offers AND the kinds the
controller's release line has (components/traffic_policy.py `TRAFFIC_POLICY_SUPPORT`), and the status shape the
controller writes. The line is read from the image tag of the controller's Deployment (kgateway's Helm chart
installs `cr.kgateway.dev/kgateway-dev/kgateway:v<version>` as Deployment `kgateway` in the release's namespace); a
tag that names no version allows only what every line enforces alike.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi

from .crd_reads import decided_from_read
from .k8s_objects import kubernetes_package_options
from .traffic_policy import TRAFFIC_POLICY_SUPPORT, TrafficPolicySupport

DEPLOYMENT_TYPE = "kubernetes:apps/v1:Deployment"
# kgateway's Helm chart: release `kgateway` in `kgateway-system` (the guide's `helm upgrade -i kgateway ...`).
DEFAULT_CONTROLLER = "kgateway-system/kgateway"
# `...:v2.2.1`, `...:2.3.0-beta.1`, `...:v2.4.0-main`; a digest after `@` is ignored.
_VERSION_TAG = re.compile(r":v?(?P<major>[0-9]+)\.(?P<minor>[0-9]+)(\.[0-9]+)?([-+][0-9A-Za-z.-]*)?$")
# What every line enforces the same way (the local rate limit): all an unidentified controller is trusted with.
_EVERY_LINE = TRAFFIC_POLICY_SUPPORT["v2.0"].kinds


class DeploymentRead(pulumi.CustomResource):
    """A read of the controller's Deployment (never created or deleted by this stack), taken untyped."""

    spec: pulumi.Output[Any]

    def __init__(self, name: str, opts: pulumi.ResourceOptions, read_id: pulumi.Output[str]):
        props = {"apiVersion": None, "kind": None, "metadata": None, "spec": None}
        read = pulumi.ResourceOptions.merge(kubernetes_package_options(), pulumi.ResourceOptions(id=read_id))
        super().__init__(DEPLOYMENT_TYPE, name, props, pulumi.ResourceOptions.merge(opts, read))


def controller_image(spec: Any) -> str | None:
    """The image of the Deployment's `kgateway` container (or its only container)."""
    containers = (((spec or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    named = [c for c in containers if isinstance(c, dict) and c.get("name") == "kgateway"]
    chosen = named or (containers if len(containers) == 1 else [])
    image = chosen[0].get("image") if chosen and isinstance(chosen[0], dict) else None
    return image if isinstance(image, str) else None


def controller_line(image: str | None) -> str | None:
    """The release line an image tag names (`v2.2`; a line newer than any named here is `main`), or None."""
    match = _VERSION_TAG.search((image or "").split("@", 1)[0])
    if match is None:
        return None
    major, minor = int(match["major"]), int(match["minor"])
    if (major, minor) < (2, 0):
        return None  # Gloo or older: no kgateway TrafficPolicy
    line = f"v{major}.{minor}"
    return line if line in TRAFFIC_POLICY_SUPPORT else "main"


def enforced_support(crd: TrafficPolicySupport, image: str | None, deployment: str) -> TrafficPolicySupport:
    """What a route's policy may ask on this cluster: what the CRD offers and the controller's line enforces."""
    line = controller_line(image)
    if line is None:
        return TrafficPolicySupport(
            name=f"auto (controller image {image!r} of Deployment {deployment} names no kgateway version)",
            kinds=crd.kinds & _EVERY_LINE,
            refusal_note=(
                "the CRD alone does not show that the controller enforces it (an older controller drops fields it "
                "does not know); pin kgatewayVersion to the line the controller runs"
            ),
            status_ancestors=None,
        )
    known = TRAFFIC_POLICY_SUPPORT[line]
    return TrafficPolicySupport(
        name=f"auto (the controller runs kgateway {line}: {image})",
        kinds=crd.kinds & known.kinds,
        refusal_note=known.refusal_note,
        status_ancestors=known.status_ancestors,  # the shape the controller writes, whatever the CRD allows
    )


def controller_read_failure(deployment: str, error: str) -> str:
    """The user's explanation of a failed read of the controller's Deployment."""
    missing = "does not exist" in error or "NotFound" in error
    cause = "it is not there" if missing else f"it could not be read ({error})"
    return (
        f"kgatewayVersion 'auto' reads kgateway's controller Deployment {deployment} to learn which kgateway enforces "
        f"route protection (its CRDs alone do not say: an older controller drops fields it does not know); {cause}. "
        "Pass the controller's namespace/name (RouteProtection controller_deployment), or pin kgatewayVersion to the "
        "line the controller runs"
    )


def installed_enforced_support(
    crd: pulumi.Output[TrafficPolicySupport],
    resource_name: str,
    opts: pulumi.ResourceOptions,
    read_id: pulumi.Output[str],
    deployment: str,
) -> pulumi.Output[TrafficPolicySupport]:
    """`crd` (what the cluster's TrafficPolicy CRD offers) narrowed to what its controller enforces; unknown while
    either read is (a preview before the cluster exists, an offline plan)."""
    read = DeploymentRead(resource_name, opts, read_id)

    async def decide() -> TrafficPolicySupport | None:
        try:
            known = await read.spec.is_known()
            spec = await read.spec.future()
        except Exception as error:
            message = controller_read_failure(deployment, str(error))
            pulumi.log.error(message)
            raise pulumi.RunError(message) from error
        if not known or not await crd.is_known():
            return None
        if spec is None and not pulumi.runtime.is_dry_run() and await read_id.is_known():
            message = controller_read_failure(deployment, "the engine's error for it says why")
            pulumi.log.error(message)
            raise pulumi.RunError(message)
        if spec is None:
            return None
        return enforced_support(await crd.future(), controller_image(spec), deployment)  # type: ignore[arg-type]

    return decided_from_read(decide(), read)
