"""The offline plan: what `pulumi up` on a stack would create, without a cloud, cluster or Pulumi CLI.

Runs the real program in preview mode on the mock engine. What only AWS or the cluster can tell (ARNs,
generated names, the account id, the Gateway's address) stays `[known after deploy]`; secrets are
`[secret]`.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime.rpc import UNKNOWN

from components.controller import DEPLOYMENT_TYPE
from components.kgateway_api import (
    AUTO,
    BACKEND_CRD_NAME,
    CRD_TYPE,
    KGATEWAY_VERSIONS,
    describe_shape,
    shape_from_crd,
)
from program.config import PROJECT, sources
from tools.engine import SECRET, ProgramRun, RegisteredResource, redact, run_program, stack_config
from tools.engine_answers import (
    controller_deployment,
    crd_read_result,
    inventory_invoke_result,
    inventory_tagging_page,
    read_crd_files,
    region_invoke_result,
    stack_outputs_result,
    tagged_resources_result,
)

ACCOUNT_PLACEHOLDER = "[account id of the deploying identity]"

# Outputs AWS computes for each resource type the program creates (the rest are its inputs).
COMPUTED_OUTPUTS: dict[str, tuple[str, ...]] = {
    "aws:iam/role:Role": ("arn", "name", "uniqueId"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (),
    "aws:cloudwatch/logGroup:LogGroup": ("arn",),
    "aws:lambda/function:Function": ("arn", "invokeArn", "qualifiedArn", "version"),
    "aws:iam/user:User": ("arn", "name", "uniqueId"),
    "aws:iam/userPolicy:UserPolicy": ("name",),
    "aws:iam/accessKey:AccessKey": ("secret", "createDate"),
    "aws:iam/rolePolicy:RolePolicy": ("name",),
    "aws:iam/policy:Policy": ("arn", "name", "policyId"),
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": (),
    "aws:lambda/alias:Alias": ("arn", "invokeArn"),
    "aws:s3/bucket:Bucket": ("arn", "bucket", "bucketDomainName"),
    "aws:s3/bucketObjectv2:BucketObjectv2": ("etag", "versionId"),
}


class PlaceholderMocks(pulumi.runtime.Mocks):
    """Inputs pass through; everything only a real deploy knows is left unknown."""

    def __init__(
        self,
        config: dict[str, str],
        crds: dict[str, dict[str, Any]] | None = None,
        tagged: dict[str, dict[str, str]] | None = None,
        kgateway_image: str | None = None,
    ):
        self.config = config
        # The functions `discover` would find (ARN -> tags), e.g. from `aws resourcegroupstaggingapi get-resources`;
        # unset, none: offline, nothing says which functions of the account carry the tag.
        self.tagged = tagged or {}
        # The CRDs `auto` reads, by name (`--kgateway-crd FILE...`): each given one is answered as that cluster
        # would; one not given stays unknown, as with no file at all (the plan says which).
        self.crds = crds or {}
        # The image of the cluster's kgateway controller (`--kgateway-image`), which `auto` reads for protection.
        self.kgateway_image = kgateway_image

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.resource_id and args.typ == CRD_TYPE:
            if args.resource_id in self.crds:
                return args.resource_id, crd_read_result(args.resource_id, self.crds[args.resource_id])
            return args.resource_id, {"spec": UNKNOWN}
        if args.resource_id and args.typ == DEPLOYMENT_TYPE and self.kgateway_image is not None:
            return args.resource_id, controller_deployment(self.kgateway_image)
        if args.resource_id:  # a read of an existing object (the Gateway): nothing is known offline
            return args.resource_id, {"spec": UNKNOWN, "status": UNKNOWN}
        if args.typ == "kubernetes:gateway.networking.k8s.io/v1:Gateway":  # created: its address comes later
            return "", {**args.inputs, "status": UNKNOWN}
        state = dict(args.inputs)
        if args.typ.startswith("aws:") and args.typ not in COMPUTED_OUTPUTS:
            raise NotImplementedError(f"the offline plan has no model of {args.typ}; add it to COMPUTED_OUTPUTS")
        for key in COMPUTED_OUTPUTS.get(args.typ, ()):
            state.setdefault(key, UNKNOWN)
        return "", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            # Invoke results must be concrete: a placeholder that no AWS account id could be.
            account = ACCOUNT_PLACEHOLDER
            return {
                "accountId": account,
                "arn": account,
                "userId": account,
                "id": account,
            }, []
        regional = region_invoke_result(args.token, self.config.get("aws:region", ""))
        if regional is not None:
            return regional, []
        found = tagged_resources_result(args.token, args.args, "aws", inventory_tagging_page(self.tagged))
        if found is not None:
            return found, []
        # The plan is of a stack's first `up`: no previous outputs (so every found function shows as added).
        previous = stack_outputs_result(args.token, args.args, {})
        if previous is not None:
            return previous, []
        # Offline, the account's functions and log groups are unknown: the plan assumes the names are free.
        listed = inventory_invoke_result(args.token, args.args, {}, {})
        if listed is not None:
            return listed, []
        raise NotImplementedError(f"the offline plan has no model of the call {args.token}")


def in_dependency_order(resources: list[RegisteredResource]) -> list[RegisteredResource]:
    """Parents and dependencies first, ties by type and name: registration order varies from run to run.

    Kahn's algorithm with a heap of the ready resources: O((V + E) log V), the same order as picking the least
    (type, name) among the ready ones at each step.
    """
    by_urn = {r.urn: r for r in resources}
    waiting = {r.urn: 0 for r in resources}
    dependents: dict[str, list[str]] = {r.urn: [] for r in resources}
    for resource in resources:
        for before in {d for d in [*resource.dependencies, resource.parent_urn] if d in by_urn}:
            waiting[resource.urn] += 1
            dependents[before].append(resource.urn)
    # The index breaks ties between equal (type, name) as a stable sort did: by registration order.
    index = {r.urn: i for i, r in enumerate(resources)}
    ready = [(r.type, r.name, index[r.urn], r.urn) for r in resources if waiting[r.urn] == 0]
    heapq.heapify(ready)
    ordered: list[RegisteredResource] = []
    while ready:
        *_, urn = heapq.heappop(ready)
        ordered.append(by_urn[urn])
        for dependent in dependents[urn]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                resource = by_urn[dependent]
                heapq.heappush(ready, (resource.type, resource.name, index[dependent], dependent))
    if len(ordered) < len(resources):  # a cycle cannot happen in a Pulumi program; keep the rest stable anyway
        placed = {r.urn for r in ordered}
        ordered += sorted((r for r in resources if r.urn not in placed), key=lambda r: (r.type, r.name))
    return ordered


def canonical(value: Any) -> Any:
    """Mappings with sorted keys, all the way down: the same program gives the same text every time."""
    if isinstance(value, dict):
        return {key: canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    return value


def plan(
    stack: str,
    stacks_dir: Path | None = None,
    kgateway_crd: Path | Sequence[Path] | None = None,
    tagged: dict[str, dict[str, str]] | None = None,
    kgateway_image: str | None = None,
) -> ProgramRun:
    """`kgateway_crd`: the files holding the CRDs the cluster has (`auto` reads them); `tagged`: the functions
    (ARN -> tags) the plan takes `discover` to find; `kgateway_image`: the image the cluster's kgateway controller
    runs (with `auto`, what decides which protection it enforces)."""
    config, secret_keys = stack_config(stack, stacks_dir)
    files = [kgateway_crd] if isinstance(kgateway_crd, Path) else list(kgateway_crd or [])
    crds = read_crd_files(files)
    # The program reads the stack file too (which parts of a secret mapping are encrypted): this one.
    previous, sources.STACK_CONFIG_DIR = sources.STACK_CONFIG_DIR, stacks_dir
    try:
        mocks = PlaceholderMocks(config, crds, tagged, kgateway_image)
        run = run_program(mocks, config, secret_keys, stack=stack, preview=True)
    finally:
        sources.STACK_CONFIG_DIR = previous
    version = config.get(f"{PROJECT}:kgatewayVersion", AUTO)
    run.logs[:0] = [f"info: {line}" for line in assumed_shape(version, crds, files, run)]
    return run


def tagged_from_listing(listing: dict[str, Any]) -> dict[str, dict[str, str]]:
    """ARN -> tags from a GetResources answer as the AWS CLI prints it (`ResourceTagMappingList`)."""
    return {
        mapping["ResourceARN"]: {tag["Key"]: tag["Value"] for tag in mapping.get("Tags") or []}
        for mapping in listing.get("ResourceTagMappingList") or []
    }


def assumed_shape(
    version: str, crds: dict[str, dict[str, Any]], files: list[Path], run: ProgramRun | None = None
) -> list[str]:
    """Which Backend shape the plan shows and where it comes from; then each CRD the stack reads that no file gave
    (what depends on it is [known after deploy])."""
    if version in KGATEWAY_VERSIONS:
        return [f"{describe_shape(KGATEWAY_VERSIONS[version])} (kgatewayVersion {version})"]
    given = ", ".join(str(f) for f in files)
    lines = []
    if BACKEND_CRD_NAME in crds:
        lines.append(f"{describe_shape(shape_from_crd(crds[BACKEND_CRD_NAME], 'auto'))} (read from {given})")
    else:
        lines.append(
            "kgateway Backend shape auto: read from the cluster's Backend CRD at deploy, so the Backend's spec is "
            "[known after deploy] here; pass --kgateway-crd FILE to plan for a cluster with that CRD"
        )
    read = sorted({str(r.read_id) for r in run.resources if r.type == CRD_TYPE and r.read_id}) if run else []
    lines.extend(
        f"the stack also reads the cluster's CRD {name}, which no --kgateway-crd file holds: what depends on it is "
        f"[known after deploy]; add `kubectl get crd {name} -o yaml` (one file may hold every CRD: `kubectl get crd "
        f"{' '.join(read)} -o yaml`)"
        for name in read
        if name not in crds and name != BACKEND_CRD_NAME
    )
    return lines


def plan_document(run: ProgramRun) -> dict[str, Any]:
    """`{"stack", "resources": [{"type", "name", "parent", "inputs", ...}], "outputs"}`, secrets redacted."""
    names = {r.urn: f"{r.type}::{r.name}" for r in run.resources}
    resources = []
    for resource in in_dependency_order(run.resources):
        entry: dict[str, Any] = {
            "type": resource.type,
            "name": resource.name,
            "parent": names.get(resource.parent_urn),
            "inputs": canonical(redact(resource.inputs)),
        }
        depends_on = sorted({names[d] for d in resource.dependencies if d in names})
        if depends_on:
            entry["dependsOn"] = depends_on
        if resource.read_id is not None:
            entry["read"] = resource.read_id
        resources.append(entry)
    outputs = {
        name: SECRET if name in run.secret_outputs else canonical(redact(value))
        for name, value in sorted(run.outputs.items())
    }
    return {
        "stack": run.stack,
        "providers": run.provider_config,
        "resources": resources,
        "outputs": outputs,
        "warnings": run.logs,
    }


def kubernetes_manifests(run: ProgramRun) -> list[dict[str, Any]]:
    """The Kubernetes objects the stack would apply, in dependency order, secrets redacted."""
    manifests = []
    for resource in in_dependency_order(run.resources):
        if resource.type.startswith("kubernetes:") and resource.read_id is None:
            inputs = canonical(redact(resource.inputs))
            head = {key: inputs.pop(key) for key in ("apiVersion", "kind", "metadata") if key in inputs}
            manifests.append({**head, **dict(sorted(inputs.items()))})
    return manifests


def write_manifests(run: ProgramRun, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for index, manifest in enumerate(kubernetes_manifests(run), start=1):
        meta = manifest.get("metadata", {})
        path = directory / f"{index:02d}-{manifest['kind'].lower()}-{meta.get('namespace', '')}-{meta['name']}.yaml"
        path.write_text(yaml.safe_dump(manifest, sort_keys=False))
        written.append(path)
    return written


def render_text(document: dict[str, Any]) -> str:
    lines = [f"Plan for stack {document['stack']}: {len(document['resources'])} resources"]
    for resource in document["resources"]:
        verb = "read  " if "read" in resource else "create"
        parent = f"  (in {resource['parent'].rsplit(':', 3)[-1]})" if resource["parent"] else ""
        lines.append(f"  {verb} {resource['type']}  {resource['name']}{parent}")
    lines.append("Outputs:")
    for name, value in document["outputs"].items():
        lines.append(f"  {name}: {json.dumps(value) if not isinstance(value, str) else value}")
    lines.extend(document["warnings"])
    return "\n".join(lines)
