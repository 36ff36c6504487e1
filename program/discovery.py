"""Functions found by tag, at deploy time: one paginated call of the Resource Groups Tagging API, in `preview` and
`up` alike, whose answer becomes a route-only target per function (program/config/discovery.py).

The engine runs an invoke in a preview as in an update (pulumi/pulumi pkg/resource/deploy/source_eval.go
`resmon.Invoke` calls the provider's Invoke either way, answering unknown only for arguments that wait on
resources; these are plain), so `pulumi preview` shows the routes the next `up` makes."""

from __future__ import annotations

import dataclasses

import pulumi_aws as aws

from program.config import ConfigError, Problem, StackSettings
from program.config.discovery import FoundFunction, discovered_targets
from program.config.project import PROJECT

# The resource type of a Lambda function in the tagging API (`service:resourceType`): versions and aliases carry
# no tags of their own, so only functions are returned, by their unqualified ARNs.
LAMBDA_FUNCTION = "lambda:function"


def find_tagged_functions(tag: str) -> list[FoundFunction]:
    """Every function of the default provider's account and region that carries `tag`, whatever its value.

    One invoke: the provider's data source pages through GetResources itself until the PaginationToken comes
    back empty (hashicorp/terraform-provider-aws internal/service/resourcegroupstaggingapi/resources_data_source.go
    `dataSourceResourcesRead`: `NewGetResourcesPaginator` ... `HasMorePages`), so the program sees all of them in
    one answer; a filter with a key and no values matches any value (GetResources, TagFilter.Values)."""
    result = aws.resourcegroupstaggingapi.get_resources(
        resource_type_filters=[LAMBDA_FUNCTION], tag_filters=[{"key": tag}]
    )
    return [
        FoundFunction(arn=mapping.resource_arn, tags=dict(mapping.tags or {}))
        for mapping in result.resource_tag_mapping_lists or []
    ]


def with_found_functions(settings: StackSettings) -> StackSettings:
    """The settings with a target for each function found by `discover` (unchanged without it)."""
    discovery = settings.discovery
    if discovery is None:
        return settings
    targets = settings.targets + discovered_targets(settings, find_tagged_functions(discovery.tag))
    if not targets:
        raise ConfigError(
            [
                Problem(
                    f"{PROJECT}:discover.tag",
                    discovery.tag,
                    f"is carried by no Lambda function in {settings.region} and `functions` is empty, so the stack "
                    "would route nothing: tag a function with it, or list a function of the stack's own",
                    "aws lambda tag-resource --resource <function arn> --tags kgateway-lambda/route=",
                )
            ],
            settings.redactor,
        )
    return dataclasses.replace(settings, targets=targets)
