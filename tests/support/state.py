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
