"""What the offline engines answer a program's reads and invokes: the region, a CRD read from files, kgateway's
controller Deployment, the AWS provider's function and log group listings, a StackReference's outputs and the
tagging API's pages. One answer per call for every mock engine (the plan's, the tests' fake account, the deploy
harness's moto), each as the real provider or engine gives it (cited at each)."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from program.crd_validation import load_yaml


def region_invoke_result(token: str, region: str) -> dict[str, Any] | None:
    """What `aws.get_region` / `aws.get_partition` return for a region (for every mock engine), else None."""
    if token == "aws:index/getRegion:getRegion":
        return {"region": region, "name": region, "id": region, "endpoint": "", "description": ""}
    if token == "aws:index/getPartition:getPartition":
        return {"partition": "aws", "dnsSuffix": "amazonaws.com", "reverseDnsPrefix": "com.amazonaws", "id": "aws"}
    return None


def read_crd_file(path: Path) -> dict[str, Any]:
    """A CRD as the Kubernetes provider's read returns it: the object itself, a fresh copy each time (callers keep
    and change it as a cluster's object). Parsed once per file version: the CRDs are megabytes of YAML, and
    parsing them was the better part of the suite's time."""
    stat = path.stat()
    return copy.deepcopy(_parsed_crd(path.resolve(), stat.st_mtime_ns, stat.st_size))


@functools.cache
def _parsed_crd(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    """One parse per file version (its modification time and size are part of the key)."""
    document = load_yaml(path)
    if not isinstance(document, dict) or document.get("kind") != "CustomResourceDefinition":
        raise ValueError(f"{path} is not a CustomResourceDefinition")
    return document


def read_crd_files(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """Every CRD in these files by its name: a file holds one CRD, several as YAML documents, or a `List` of them
    as `kubectl get crd NAME... -o yaml` prints it. A document that is not a CRD is refused, naming the file."""
    found: dict[str, dict[str, Any]] = {}
    for path in paths:
        documents = [
            d
            for d in yaml.load_all(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            if d is not None
        ]
        for document in documents:
            items = document.get("items") if isinstance(document, dict) and document.get("kind") == "List" else None
            for crd in items if isinstance(items, list) else [document]:
                if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
                    kind = crd.get("kind") if isinstance(crd, dict) else type(crd).__name__
                    raise ValueError(f"{path} holds a {kind}, not a CustomResourceDefinition")
                name = (crd.get("metadata") or {}).get("name")
                if not isinstance(name, str):
                    raise ValueError(f"{path} holds a CustomResourceDefinition without metadata.name")
                found[name] = crd
    return found


def crd_read_result(name: str, crd: dict[str, Any] | None) -> dict[str, Any]:
    """The state of a read CRD, or the engine's refusal when the cluster has none (ReadStep: "does not exist")."""
    if crd is None:
        raise RuntimeError(f"resource '{name}' does not exist")
    return crd


# What kgateway's Helm chart runs (its `kgateway` container), for the offline rigs' controller Deployment.
KGATEWAY_IMAGE = "cr.kgateway.dev/kgateway-dev/kgateway:v2.4.0"


def controller_deployment(image: str, namespace: str = "kgateway-system", name: str = "kgateway") -> dict[str, Any]:
    """A kgateway controller Deployment as a read returns it (only what components/controller.py looks at)."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"spec": {"containers": [{"name": "kgateway", "image": image}]}}},
    }


def inventory_invoke_result(
    token: str, args: dict[str, Any], functions: dict[str, dict[str, str]], log_groups: dict[str, dict[str, str]]
) -> dict[str, Any] | None:
    """What the AWS provider's list and get invokes of functions and log groups return, from an inventory
    (name -> tags); a get of a missing one fails as the provider's does. None for other invokes."""
    if token == "aws:lambda/getFunctions:getFunctions":
        return {"functionNames": sorted(functions), "functionArns": [], "id": "functions"}
    if token == "aws:lambda/getFunction:getFunction":
        name = args["functionName"]
        if name not in functions:
            raise RuntimeError(f"reading Lambda Function ({name}): ResourceNotFoundException")
        return {"functionName": name, "tags": functions[name], "id": name}
    if token == "aws:cloudwatch/getLogGroups:getLogGroups":
        prefix = args.get("logGroupNamePrefix", "")
        return {"logGroupNames": sorted(n for n in log_groups if n.startswith(prefix)), "arns": [], "id": prefix}
    if token == "aws:cloudwatch/getLogGroup:getLogGroup":
        name = args["name"]
        if name not in log_groups:
            raise RuntimeError(f"reading CloudWatch Logs Log Group ({name}): empty result")
        return {"name": name, "tags": log_groups[name], "id": name}
    return None


READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs"


def stack_outputs_result(token: str, args: dict[str, Any], outputs: dict[str, Any]) -> dict[str, Any] | None:
    """What the engine's builtin provider answers a program's `pulumi:pulumi:readStackOutputs` (the invoke behind a
    StackReference: pulumi/pulumi pkg/resource/deploy/builtins.go `readStackReference`): the named stack's outputs
    as its last completed update left them (a new stack has none). The rigs keep the plain outputs only (the engine
    would also hand back secret ones, marked secret; the program reads none of them). None for other invokes."""
    if token != READ_STACK_OUTPUTS:
        return None
    name = str(args.get("name", ""))
    if name.count("/") != 2:
        raise RuntimeError(f"readStackOutputs: {name!r} is no fully qualified stack name (org/project/stack)")
    return {"name": name, "outputs": dict(outputs), "secretOutputNames": []}


TAGGED_RESOURCES = "aws:resourcegroupstaggingapi/getResources:getResources"
# A page of GetResources: (the resource tag mappings in the API's shape, the next PaginationToken or None).
TaggingPage = tuple[list[dict[str, Any]], str | None]


def tagged_resources_result(
    token: str, args: dict[str, Any], partition: str, page: Callable[[dict[str, Any], str | None], TaggingPage]
) -> dict[str, Any] | None:
    """What `aws.resourcegroupstaggingapi.get_resources` returns, read page by page through `page` (the API's own
    request and its PaginationToken); None for other invokes.

    As hashicorp/terraform-provider-aws internal/service/resourcegroupstaggingapi/resources_data_source.go does:
    the schema refuses `resource_arn_list` with `tag_filter` or `resource_type_filters` (ConflictsWith), more than
    50 tag filters, 20 values each or 100 type filters (MaxItems); `dataSourceResourcesRead` asks for the next page
    while the response has a PaginationToken (`NewGetResourcesPaginator` / `HasMorePages`: a nil or empty token
    ends it), keeps every page's mappings in order, sets the id to the partition and flattens each mapping to
    `resource_arn` and a tags map."""
    if token != TAGGED_RESOURCES:
        return None
    arns = list(args.get("resourceArnLists") or [])
    filters = list(args.get("tagFilters") or [])
    types = list(args.get("resourceTypeFilters") or [])
    if arns and (filters or types):
        raise RuntimeError('"resource_arn_list": conflicts with tag_filter / resource_type_filters')
    if len(filters) > 50 or any(len(f.get("values") or []) > 20 for f in filters) or len(types) > 100:
        raise RuntimeError("tag_filter: at most 50 (20 values each); resource_type_filters: at most 100")
    request: dict[str, Any] = {}
    if arns:
        request["ResourceARNList"] = arns
    if filters:
        request["TagFilters"] = [
            {"Key": f["key"], **({"Values": list(f["values"])} if f.get("values") else {})} for f in filters
        ]
    if types:
        request["ResourceTypeFilters"] = types
    mappings: list[dict[str, Any]] = []
    next_token: str | None = None
    while True:
        found, next_token = page(request, next_token)
        mappings += found
        if not next_token:
            break
    return {
        "id": partition,
        "resourceTagMappingLists": [
            {
                "resourceArn": m["ResourceARN"],
                "tags": {t["Key"]: t["Value"] for t in m.get("Tags") or []},
                "complianceDetails": [],
            }
            for m in mappings
        ],
        **({"tagFilters": filters} if filters else {}),
        **({"resourceTypeFilters": types} if types else {}),
    }


def inventory_tagging_page(
    inventory: dict[str, dict[str, str]], page_size: int = 50
) -> Callable[[dict[str, Any], str | None], TaggingPage]:
    """GetResources over an inventory (function ARN -> tags), as the API filters and pages it: a resource matches
    when it has every filter's key (with one of its values, if given) and its type (`lambda:function` from the ARN,
    or the bare service) is among the type filters; pages of `page_size` (ResourcesPerPage: 1 to 100), the token
    the next index (AWS Resource Groups Tagging API Reference, GetResources)."""

    def resource_type(arn: str) -> str:
        parts = arn.split(":")
        return f"{parts[2]}:{parts[5]}" if len(parts) > 5 else parts[2]

    def matches(arn: str, tags: dict[str, str], request: dict[str, Any]) -> bool:
        types = request.get("ResourceTypeFilters") or []
        if types and not any(t in (resource_type(arn), resource_type(arn).split(":")[0]) for t in types):
            return False
        if request.get("ResourceARNList") and arn not in request["ResourceARNList"]:
            return False
        return all(
            f["Key"] in tags and (not f.get("Values") or tags[f["Key"]] in f["Values"])
            for f in request.get("TagFilters") or []
        )

    def page(request: dict[str, Any], token: str | None) -> TaggingPage:
        found = [
            {"ResourceARN": arn, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
            for arn, tags in sorted(inventory.items())
            if matches(arn, tags, request)
        ]
        start = int(token or 0)
        rest = start + page_size
        return found[start:rest], str(rest) if rest < len(found) else None

    return page
