"""Functions found by tag, at deploy time: one paginated call of the Resource Groups Tagging API, in `preview` and
`up` alike, whose answer becomes a route-only target per function (program/config/discovery.py).

The engine runs an invoke in a preview as in an update (pulumi/pulumi pkg/resource/deploy/source_eval.go
`resmon.Invoke` calls the provider's Invoke either way, answering unknown only for arguments that wait on
resources; these are plain), so `pulumi preview` shows the routes the next `up` makes.

Discovery is an input a team reviews, and the tagging API's answer is not a reviewed input: what the previous `up`
routed is kept in the stack output `discovered`, read back here (the engine's `pulumi:pulumi:readStackOutputs`,
what a StackReference reads: pulumi/pulumi pkg/resource/deploy/builtins.go), so every run logs the routes it adds,
moves and removes, and a route found last time is removed only when a second question confirms its function
no longer carries the tag (`confirmed_absent`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from program.config import StackSettings
from program.config.discovery import FoundFunction, PreviousRoute, discovered_targets
from program.config.project import PROJECT

# The resource type of a Lambda function in the tagging API (`service:resourceType`): versions and aliases carry
# no tags of their own, so only functions are returned, by their unqualified ARNs.
LAMBDA_FUNCTION = "lambda:function"
# The engine's own invoke behind a StackReference: a stack's outputs as its last completed update left them.
READ_STACK_OUTPUTS = "pulumi:pulumi:readStackOutputs"
OUTPUT = "discovered"
# GetResources takes at most 100 ARNs in ResourceARNList (Resource Groups Tagging API Reference, GetResources).
ARNS_PER_CALL = 100


def find_tagged_functions(tag: str) -> list[FoundFunction]:
    """Every function of the default provider's account and region that carries `tag`, whatever its value.

    One invoke: the provider's data source pages through GetResources itself until the PaginationToken comes
    back empty (hashicorp/terraform-provider-aws internal/service/resourcegroupstaggingapi/resources_data_source.go
    `dataSourceResourcesRead`: `NewGetResourcesPaginator` ... `HasMorePages`), so the program sees all of them in
    one answer, and an error on any page fails the invoke (and the run: nothing is removed); a filter with a key and
    no values matches any value (GetResources, TagFilter.Values)."""
    result = aws.resourcegroupstaggingapi.get_resources(
        resource_type_filters=[LAMBDA_FUNCTION], tag_filters=[{"key": tag}]
    )
    return [
        FoundFunction(arn=mapping.resource_arn, tags=dict(mapping.tags or {}))
        for mapping in result.resource_tag_mapping_lists or []
    ]


def previous_routes() -> dict[str, PreviousRoute]:
    """The found functions the previous `up` routed (function name -> ARN and path), from this stack's own output
    `discovered`; empty on a new stack (or one deployed before the output existed)."""
    stack = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    answer = pulumi.runtime.invoke(READ_STACK_OUTPUTS, {"name": stack}).value or {}
    recorded = (answer.get("outputs") or {}).get(OUTPUT)
    routes = {}
    if isinstance(recorded, Mapping):
        for name, route in recorded.items():
            if isinstance(route, Mapping) and isinstance(route.get("arn"), str) and isinstance(route.get("path"), str):
                routes[str(name)] = PreviousRoute(arn=route["arn"], path=route["path"])
    return routes


def confirmed_absent(tag: str, arns: Sequence[str]) -> tuple[set[str], list[FoundFunction]]:
    """Of functions routed last time and missing from this run's answer: those confirmed without the tag, and
    those that still carry it (the first answer left them out: they stay routed).

    The second question asks the tagging API for exactly these ARNs and no tag filter, which answers every
    resource that is or was tagged, each with its current tags, and leaves out one that has no tag (or no longer
    exists) (Resource Groups Tagging API Reference, GetResources: "Returns all the tagged or previously tagged
    resources", "GetResources does not return untagged resources"). So a function it returns with the tag was left
    out by a partial answer and is kept; one it returns without the tag, or does not return, was seen untagged or
    gone by two answers and is removed. No GetFunction: that would need `lambda:GetFunction`, which also hands out
    the function's code."""
    still_tagged: list[FoundFunction] = []
    for start in range(0, len(arns), ARNS_PER_CALL):
        result = aws.resourcegroupstaggingapi.get_resources(
            resource_arn_lists=list(arns[start : start + ARNS_PER_CALL])
        )
        for mapping in result.resource_tag_mapping_lists or []:
            tags = dict(mapping.tags or {})
            if tag in tags and mapping.resource_arn in arns:
                still_tagged.append(FoundFunction(arn=mapping.resource_arn, tags=tags))
    kept = {f.arn for f in still_tagged}
    return {arn for arn in arns if arn not in kept}, still_tagged


def with_found_functions(settings: StackSettings) -> StackSettings:
    """The settings with a target for each function found by `discover` (unchanged without it); logs what changes
    against the previous `up` and exports the found set as `discovered`."""
    discovery = settings.discovery
    if discovery is None:
        return settings
    previous = previous_routes()
    found = find_tagged_functions(discovery.tag)
    seen = {f.arn for f in found}
    missing = sorted({route.arn for route in previous.values()} - seen)
    notes: list[str] = []
    if missing:
        _, still_tagged = confirmed_absent(discovery.tag, missing)
        found += still_tagged
        notes += [
            f"{PROJECT}:discover: {f.arn} is missing from the tagging API's answer but, asked by its ARN, still "
            f"carries {discovery.tag!r}: its route stays (a partial or lagging answer never removes a route)"
            for f in still_tagged
        ]
    discovered = discovered_targets(settings, found, previous)
    now = discovered.routes()
    for line in _changes(previous, now):
        pulumi.log.info(line)
    pulumi.export(OUTPUT, now)
    if not settings.targets and not discovered.targets:
        notes.append(
            f"{PROJECT}:discover: no Lambda function in {settings.region} carries {discovery.tag!r} (or every one "
            "was skipped) and `functions` is empty: the stack routes nothing, and holds no route, Backend, gateway "
            "identity or created Gateway; they come back at the `up` after a function is tagged"
        )
    return dataclasses.replace(
        settings,
        targets=settings.targets + discovered.targets,
        warnings=(*settings.warnings, *notes, *discovered.warnings),
    )


def _changes(previous: Mapping[str, PreviousRoute], now: Mapping[str, Mapping[str, object]]) -> list[str]:
    """One line per route discovery adds, moves or removes against the previous `up` (what a reviewer reads)."""
    lines = []
    for name in sorted(set(previous) | set(now)):
        before, after = previous.get(name), now.get(name)
        if before is None and after is not None:
            lines.append(f"{PROJECT}:discover: adds the route of {name} on {after['path']} ({_guard(after)})")
        elif before is not None and after is None:
            lines.append(f"{PROJECT}:discover: removes the route of {name} on {before.path}")
        elif before is not None and after is not None and (before.path, before.arn) != (after["path"], after["arn"]):
            lines.append(f"{PROJECT}:discover: moves the route of {name} from {before.path} to {after['path']}")
    return lines


def _guard(route: Mapping[str, object]) -> str:
    return "with the stack's protection" if route["protected"] else "unprotected"
