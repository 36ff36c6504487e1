"""Where raw config strings come from: the engine's config, or a mapping (tests, offline checks)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

import pulumi
import yaml

from program.config.project import PROJECT, PROJECT_ROOT

# Where the offline plan keeps the stack file (`python -m tools plan --stacks-dir`); None: Pulumi.yaml's
# stackConfigDir, where `pulumi config set` writes it.
STACK_CONFIG_DIR: Path | None = None


class ConfigSource(Protocol):
    """Where raw config strings come from: Pulumi's config, or a dict in tests."""

    def get(self, key: str) -> str | None: ...

    def keys(self) -> Iterable[str]: ...

    def is_secret(self, key: str) -> bool: ...

    def secret(self, key: str) -> pulumi.Output[str] | None: ...

    def plain_places(self, key: str) -> list[str] | None:
        """The places inside an object value (`providedApiKeys.web`) stored in plain text beside encrypted ones
        (`pulumi config set --path` without `--secret`); None when the stack file does not tell."""
        ...


def config_path(*names: str | int) -> str:
    """A place inside a config value as `pulumi config set --path` spells it: `a.b`, `a["b-c"]`, `a[0]`
    (pulumi/pulumi sdk/go/common/resource/properties_path.go `PropertyPath.String`: a name with anything but
    A-Z a-z 0-9 _ is quoted)."""
    text = ""
    for index, name in enumerate(names):
        if isinstance(name, int):
            text += f"[{name}]"
        elif re.fullmatch(r"[A-Za-z0-9_]+", name):
            text += f"{'.' if index else ''}{name}"
        else:
            quoted = name.replace('"', '\\"')
            text += f'["{quoted}"]'
    return text


def _secure(node: Any) -> bool:
    """A `{secure: <ciphertext>}` mapping: one encrypted value of the stack file (config/object.go)."""
    return isinstance(node, dict) and set(node) == {"secure"} and isinstance(node["secure"], str)


def stored_plain_places(stored: Any, received: Any, place: tuple[str | int, ...]) -> list[str] | None:
    """The places of `stored` (a key's value in the stack file, every scalar as its text) that are plain text,
    when it holds what the program received (`received`, the decrypted value); None when it does not (the program
    was given another file: `pulumi up --config-file`)."""
    if _secure(stored):
        return []
    if isinstance(stored, dict) and isinstance(received, dict) and set(stored) == set(received):
        pairs: list[tuple[str | int, Any, Any]] = [(name, stored[name], received[name]) for name in stored]
    elif isinstance(stored, list) and isinstance(received, list) and len(stored) == len(received):
        pairs = [(index, item, received[index]) for index, item in enumerate(stored)]
    elif isinstance(stored, str) and not isinstance(received, dict | list) and stored == config_text(received):
        return [config_path(*place)]
    else:
        return None
    found: list[str] = []
    for name, inner_stored, inner_received in pairs:
        inner = stored_plain_places(inner_stored, inner_received, (*place, name))
        if inner is None:
            return None
        found += inner
    return found


def stack_file(stack: str) -> Path:
    """The stack's config file, where the Pulumi CLI keeps it: Pulumi.yaml's stackConfigDir."""
    if STACK_CONFIG_DIR is not None:
        return STACK_CONFIG_DIR / f"Pulumi.{stack}.yaml"
    project = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    return PROJECT_ROOT / str(project.get("stackConfigDir") or ".") / f"Pulumi.{stack}.yaml"


def read_stored(path: Path) -> dict[str, Any]:
    """The stack file's `config` by `namespace:name`, every scalar as its text (yaml BaseLoader); empty when
    there is no such file or it cannot be read (the CLI has read it already and refused what is broken)."""
    try:
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    except (OSError, yaml.YAMLError):
        return {}
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        return {}
    stored = {}
    for key, value in config.items():
        namespace, _, name = str(key).partition(":")
        stored[f"{namespace}:{name.removeprefix('config:')}"] = value
    return stored


class PulumiConfigSource:
    """The stack config Pulumi hands the program (`namespace:key`, default namespace the project)."""

    def __init__(self, stack_file_path: Path | None = None):
        self._stack_file = stack_file_path
        self._stored: dict[str, Any] | None = None

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

    def plain_places(self, key: str) -> list[str] | None:
        """From the stack file: the engine lists only whole keys as secret (pulumi/pulumi
        sdk/go/common/resource/config/map.go `SecureKeys`: a key with any `{secure: ...}` inside), and hands over
        every value decrypted, so the file is the one place that says which parts were set with `--secret`."""
        text = self.get(key)
        if text is None:
            return None
        if self._stored is None:
            self._stored = read_stored(self._stack_file or stack_file(pulumi.get_stack()))
        stored = self._stored.get(key)
        try:
            received = json.loads(text)
        except ValueError:
            return None
        return None if stored is None else stored_plain_places(stored, received, (key.partition(":")[2],))


class MappingConfigSource:
    """Config from a plain mapping (`namespace:key` or project keys), e.g. to validate a stack file offline."""

    def __init__(
        self,
        values: dict[str, str],
        secret_keys: set[str] | None = None,
        plain_places: Mapping[str, list[str]] | None = None,
    ):
        self.values = {k if ":" in k else f"{PROJECT}:{k}": v for k, v in values.items()}
        self.secret_keys = {k if ":" in k else f"{PROJECT}:{k}" for k in (secret_keys or set())}
        self.plain = {k if ":" in k else f"{PROJECT}:{k}": v for k, v in (plain_places or {}).items()}

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def keys(self) -> Iterable[str]:
        return self.values.keys()

    def is_secret(self, key: str) -> bool:
        return key in self.secret_keys

    def secret(self, key: str) -> pulumi.Output[str] | None:
        return None  # validation never reads a secret's value

    def plain_places(self, key: str) -> list[str] | None:
        return self.plain.get(key)


def config_text(value: Any) -> str:
    """A structured config value as the string Pulumi would hand over for it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
