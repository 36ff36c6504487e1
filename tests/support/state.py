"""What the deploy harness's state holds for each resource, and how it compares inputs between runs (as the
engine's snapshot and its diff of old and new inputs do)."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from tools.engine import reveal

Key = tuple[str, str]  # (type, URN)

# When a resource was made, across runs: deletes the dependency graph leaves unordered go oldest first.
CREATED = itertools.count()


@dataclass
class Deployed:
    type: str
    name: str
    id: str
    inputs: dict[str, Any]
    state: dict[str, Any]
    # The URNs it depends on (its dependencies and parent): what must outlive it when deleting.
    depends_on: tuple[str, ...] = ()
    # When it was made (a counter across runs): deletes the graph leaves unordered go oldest first.
    created: int = field(default_factory=lambda: next(CREATED))
    # A read (`get`), or a resource released from management: the engine never deletes it through its provider.
    external: bool = False
    # The provider it was made through ("" = the package's default provider) and that provider's config then.
    provider: str = ""
    provider_config: dict[str, Any] = field(default_factory=dict)


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown) or (isinstance(value, str) and value == UNKNOWN)


def has_unknowns(value: Any) -> bool:
    if isinstance(value, dict):
        return any(has_unknowns(v) for v in value.values())
    if isinstance(value, list):
        return any(has_unknowns(v) for v in value)
    return is_unknown(value)


def comparable(inputs: dict[str, Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, pulumi.FileArchive):
            return {"archive": value.path}
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if is_unknown(value):
            return UNKNOWN
        return value

    return json.dumps(plain(reveal(inputs)), sort_keys=True, default=str)


def changed(before: dict[str, Any], after: dict[str, Any], key: str) -> bool:
    return comparable({key: before.get(key)}) != comparable({key: after.get(key)})


def state_bytes(deployed: dict[Key, Deployed], *, with_graph: bool = False) -> int:
    """The size of the state as JSON: per resource (by URN) its inputs and outputs, as issue 29 measured it; with
    `with_graph`, also its type, id, provider and dependencies, as the engine's checkpoint keeps them beside
    (pulumi/pulumi 1b59498 sdk/go/common/apitype/core.go `ResourceV3`; its `propertyDependencies` and timestamps
    are not modelled, so the real checkpoint is larger still). Secrets count as their plain values (the
    checkpoint holds ciphertext: a little larger)."""
    entries: dict[str, Any] = {}
    for key, resource in deployed.items():
        entry: dict[str, Any] = {"inputs": resource.inputs, "outputs": resource.state}
        if with_graph:
            entry.update(
                type=resource.type,
                id=resource.id,
                external=resource.external,
                provider=resource.provider,
                dependencies=list(resource.depends_on),
            )
        entries[key[1]] = entry
    return len(comparable(entries).encode())
