"""Where raw config strings come from: the engine's config, or a mapping (tests, offline checks)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Protocol

import pulumi

from program.config.project import PROJECT


class ConfigSource(Protocol):
    """Where raw config strings come from: Pulumi's config, or a dict in tests."""

    def get(self, key: str) -> str | None: ...

    def keys(self) -> Iterable[str]: ...

    def is_secret(self, key: str) -> bool: ...

    def secret(self, key: str) -> pulumi.Output[str] | None: ...


class PulumiConfigSource:
    """The stack config Pulumi hands the program (`namespace:key`, default namespace the project)."""

    def _split(self, key: str) -> tuple[pulumi.Config, str]:
        namespace, _, name = key.rpartition(":")
        return pulumi.Config(namespace or PROJECT), name

    def get(self, key: str) -> str | None:
        config, name = self._split(key)
        return config.get(name)

    def keys(self) -> Iterable[str]:
        """Every config key the engine handed the program (the stack's, with Pulumi.yaml's defaults)."""
        return {*pulumi.runtime.config.CONFIG.get(), *pulumi.runtime.config.get_config_env()}

    def is_secret(self, key: str) -> bool:
        namespace, _, name = key.rpartition(":")
        return pulumi.runtime.is_config_secret(f"{namespace or PROJECT}:{name}")

    def secret(self, key: str) -> pulumi.Output[str] | None:
        config, name = self._split(key)
        return config.get_secret(name)


class MappingConfigSource:
    """Config from a plain mapping (`namespace:key` or project keys), e.g. to validate a stack file offline."""

    def __init__(self, values: dict[str, str], secret_keys: set[str] | None = None):
        self.values = {k if ":" in k else f"{PROJECT}:{k}": v for k, v in values.items()}
        self.secret_keys = {k if ":" in k else f"{PROJECT}:{k}" for k in (secret_keys or set())}

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def keys(self) -> Iterable[str]:
        return self.values.keys()

    def is_secret(self, key: str) -> bool:
        return key in self.secret_keys

    def secret(self, key: str) -> pulumi.Output[str] | None:
        return None  # validation never reads a secret's value


def config_text(value: Any) -> str:
    """A structured config value as the string Pulumi would hand over for it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
