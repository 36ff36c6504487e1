"""The Pulumi CLI's own config rules, applied offline before the program runs.

`pulumi preview` / `pulumi up` load Pulumi.yaml and the stack file, then refuse the stack before the program
starts when its config breaks the project's declarations. The offline engine must refuse the same stacks with
the same messages, or a stack that plans here fails at the first real command. Every rule below names the
pulumi/pulumi source it follows (sdk/go/common/...):

- `workspace/project.go` `Project.Validate`: project-namespaced array keys need `items`; a typed key's
  `default` must match its type; keys of other namespaces carry a `value`, never a type or `default`.
- `resource/config/key.go` `ParseKey`: a stack-file key is `<namespace>:<name>` (or `<ns>:config:<name>`).
- `workspace/loaders.go` `LoadProjectStackBytes` and `resource/config/object.go`: a stack value reaches the
  program as yaml.v3 resolves it, written back by Go (`012` -> "10", `True` -> "true": see `go_resolve`); a
  mapping `{secure: ...}` is an encrypted value; any other mapping or list is an object value, as Go's JSON.
- `workspace/config.go` `mergeConfig`: a project-namespaced key declared with neither `default` nor `value`
  and absent from the stack is missing ("Stack 'dev' is missing configuration value 'x'"); defaults fill the
  rest; then, for explicitly typed keys only, `validateStackConfigValue`: a `secret: true` key must be stored
  encrypted, and the value, decrypted when it is (`--secret`), must pass `ValidateConfigValue` ("... must be
  of type 'integer'").
- `workspace/project.go` `ValidateConfigValue`: string: any scalar text; integer: text that `strconv.Atoi`
  parses (or a whole number inside an object); boolean: exactly `true`/`false`; array: a list whose items
  pass `items`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools.go_yaml import GoTime, UnsupportedJsonValueError, go_json, go_text, yaml_value


class PulumiCliError(Exception):
    """What the real CLI prints before it refuses to run the program."""


@dataclass(frozen=True)
class StackValue:
    """One stack-file value as the CLI holds it (config.Value): text, or JSON text of an object."""

    text: str
    secure: bool = False
    is_object: bool = False

    def content(self) -> Any:
        """What `ValidateConfigValue` sees: the text, or the object decoded from its JSON."""
        return json.loads(self.text) if self.is_object else self.text


def _no_duplicates(node: yaml.Node, source: str) -> None:
    """yaml.v3 (which the CLI reads YAML with) refuses a mapping that names a key twice."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise PulumiCliError(
                        f"{source}:{key.start_mark.line + 1}:{key.start_mark.column + 1}: mapping key "
                        f'"{key.value}" already defined at line {seen[key.value]}'
                    )
                seen[key.value] = key.start_mark.line + 1
            _no_duplicates(value, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _no_duplicates(item, source)


def _compose(path: Path) -> yaml.Node | None:
    """The file's YAML node tree, checked for duplicate keys; parsed once per text (tests read the same project and
    stack files hundreds of times). Callers read the nodes, never change them."""
    return _composed(path, path.read_text(encoding="utf-8-sig"))


@functools.lru_cache(maxsize=256)
def _composed(path: Path, text: str) -> yaml.Node | None:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise PulumiCliError(f"{where}: invalid YAML: {error.problem}") from None
    if node is not None:
        _no_duplicates(node, str(path))
    return node


# How the CLI reads a stack file's values: pulumi/pulumi sdk/go/common/workspace/loaders.go
def _has_secure(value: Any) -> bool:
    """object.go `isSecureValue` anywhere inside: a one-key mapping `{secure: <string>}`."""
    if isinstance(value, dict):
        if set(value) == {"secure"} and isinstance(value["secure"], str):
            return True
        return any(_has_secure(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_secure(item) for item in value)
    return False


def _stack_value(node: yaml.Node) -> StackValue:
    """config.Value after the CLI's round trip (object.go `MarshalString`): a string as it is, a bool, number or
    time as Go writes it, null as "" (loaders.go `checkForEmptyConfig`), `{secure: x}` encrypted, any other
    mapping or list an object as JSON text (secure when a `{secure: x}` is inside: map.go `SecureKeys`)."""
    value = yaml_value(node)
    if value is None:
        return StackValue("")
    if not isinstance(value, dict | list):
        return StackValue(go_text(value))
    if isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str):
        return StackValue(value["secure"], secure=True)
    return StackValue(go_json(value), is_object=True, secure=_has_secure(value))


def parse_key(key: str) -> tuple[str, str]:
    """config.ParseKey: `<namespace>:<name>`, or the old `<namespace>:config:<name>`."""
    parts = key.split(":")
    if len(parts) == 2:
        return parts[0], parts[1]
    if len(parts) == 3 and parts[1] == "config":
        return parts[0], parts[2]
    raise PulumiCliError(
        f"could not parse {key} as a configuration key (configuration keys should be of the form `<namespace>:<name>`)"
    )


@dataclass(frozen=True)
class Project:
    name: str
    config: dict[str, dict[str, Any]]
    stack_config_dir: str


def load_project(path: Path) -> Project:
    """Pulumi.yaml with the shorthand config rewritten (RewriteShorthandConfigValues) and Project.Validate."""
    node = _compose(path)
    raw = yaml_value(node) if node is not None else None
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise PulumiCliError("project is missing a non-empty string 'name' attribute")
    name = raw["name"]
    declared: dict[str, dict[str, Any]] = {}
    for key, written in (raw.get("config") or {}).items():
        namespaced_by_project = ":" not in key or key.startswith(f"{name}:")
        # RewriteShorthandConfigValues: `key: 3` is a default (project keys) or a value (other namespaces).
        value = written if isinstance(written, dict) else {"default" if namespaced_by_project else "value": written}
        declared[key] = value
        typed = "type" in value
        if "default" in value and "value" in value:
            raise PulumiCliError(f"project config '{key}' cannot have both a 'default' and 'value' attribute")
        if namespaced_by_project:
            if typed and value["type"] == "array" and "items" not in value:
                raise PulumiCliError(
                    f"The configuration key '{key}' declares an array but does not specify the underlying type "
                    "via the 'items' attribute"
                )
            if typed and "default" in value and not _valid(value["type"], value.get("items"), value["default"]):
                raise PulumiCliError(
                    f"The default value specified for configuration key '{key}' is not of the expected type "
                    f"'{full_type_name(value['type'], value.get('items'))}'"
                )
        elif typed:
            raise PulumiCliError(
                f"Configuration key '{key}' is not namespaced by the project and should not define a type"
            )
        elif "default" in value:
            raise PulumiCliError(
                f"Configuration key '{key}' is not namespaced by the project and should not define a default value. "
                "Did you mean to use the 'value' attribute instead of 'default'?"
            )
        elif "value" not in value:
            raise PulumiCliError(f"Configuration key '{key}' is namespaced and must provide an attribute 'value'")
    return Project(name=name, config=declared, stack_config_dir=str(raw.get("stackConfigDir") or "."))


def _valid(type_name: str, items: dict[str, Any] | None, value: Any) -> bool:  # noqa: PLR0911 (one per type)
    """ValidateConfigValue."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return True
        return isinstance(value, str) and re.fullmatch(r"[-+]?[0-9]+", value) is not None  # strconv.Atoi
    if type_name == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(_valid(items.get("type", ""), items.get("items"), item) for item in value)


def full_type_name(type_name: str, items: dict[str, Any] | None) -> str:
    """InferFullTypeName: `array<string>` for arrays."""
    if items is not None:
        return f"array<{full_type_name(items.get('type', ''), items.get('items'))}>"
    return type_name


def _missing_message(stack: str, keys: list[str]) -> str:
    """missingStackConfigurationKeysError / formatMissingKeys, word for word."""
    if len(keys) == 1:
        return f"Stack '{stack}' is missing configuration value '{keys[0]}'"
    keys = sorted(keys)
    listed = ", ".join(f"'{k}'" for k in keys[:-2])
    listed = (listed + ", " if listed else "") + f"'{keys[-2]}' and '{keys[-1]}'"
    return f"Stack '{stack}' is missing configuration values {listed}"


def _default_value(value: Any) -> StackValue:
    """createConfigValue (pkg/workspace/config.go): a string, int or bool as its `%v` text, anything else
    (a float, a time, a list, a mapping) as JSON."""
    if isinstance(value, str | bool | int):
        return StackValue(go_text(value))
    return StackValue(go_json(value.rfc3339 if isinstance(value, GoTime) else value), is_object=True)


def read_stack_file(path: Path, project_name: str | None = None) -> dict[str, StackValue]:
    """The stack file's `config:` as the CLI holds it; a missing file is an empty stack (LoadProjectStack).

    With the project's name, a key without a namespace is the project's, as loaders.go
    `stackConfigNamespacedWithProject` makes it (`functionName: x` is `<project>:functionName`)."""
    if not path.is_file():
        return {}
    node = _compose(path)
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise PulumiCliError(f"{path}: a stack file must be a mapping (with a `config:` mapping)")
    try:
        return _config_values(node, path, project_name)
    except UnsupportedJsonValueError as error:  # config.Value's MarshalString fails, so loading the stack does
        raise PulumiCliError(f"could not load {path}: {error}") from None


def _config_values(node: yaml.MappingNode, path: Path, project_name: str | None) -> dict[str, StackValue]:
    values: dict[str, StackValue] = {}
    for key, value in node.value:
        if key.value != "config" or (isinstance(value, yaml.ScalarNode) and yaml_value(value) is None):
            continue
        if not isinstance(value, yaml.MappingNode):
            mark = value.start_mark
            raise PulumiCliError(f"{path}:{mark.line + 1}:{mark.column + 1}: `config` must be a mapping of keys")
        for config_key, config_value in value.value:
            written = go_text(yaml_value(config_key))
            if project_name is not None and ":" not in written:
                written = f"{project_name}:{written}"
            namespace, name = parse_key(written)
            if f"{namespace}:{name}" in values:  # `x` and `<project>:x`: the CLI keeps one of the two at random
                mark = config_key.start_mark
                raise PulumiCliError(
                    f"{path}:{mark.line + 1}:{mark.column + 1}: {namespace}:{name} is set twice (with and without "
                    "its namespace); keep one"
                )
            values[f"{namespace}:{name}"] = _stack_value(config_value)
    return values


def merge_config(
    stack: str, project: Project, stack_values: dict[str, StackValue], plaintexts: Mapping[str, str] | None = None
) -> dict[str, StackValue]:
    """mergeConfig + validateStackConfigValues: the config the program gets, or the CLI's refusal.

    pulumi/pulumi pkg/workspace/config.go `validateStackConfigValues` checks only explicitly typed keys
    (`IsExplicitlyTyped`: a `type` is declared), and checks the *decrypted* value (`stackValue.Value(dec)`,
    then `validateStackConfigValue`): a `--secret` value of an integer key must decrypt to an integer. Offline
    there is no passphrase: an encrypted value is type-checked when its plaintext is given (`plaintexts`, by key,
    or by `key[0].name` for each `{secure: ...}` inside an object), else left to the real CLI."""
    merged = dict(stack_values)
    missing: list[str] = []
    for declared_key in sorted(project.config):
        declared = project.config[declared_key]
        namespace, name = parse_key(declared_key) if ":" in declared_key else (project.name, declared_key)
        key = f"{namespace}:{name}"
        has_default, has_value = "default" in declared, "value" in declared
        if key not in merged and not has_value and not has_default and namespace == project.name:
            missing.append(declared_key)
        elif key not in merged and (has_value or has_default):
            merged[key] = _default_value(declared["default"] if has_default else declared["value"])
    if missing:
        raise PulumiCliError(_missing_message(stack, missing))
    for declared_key in sorted(project.config):
        declared = project.config[declared_key]
        namespace, name = parse_key(declared_key) if ":" in declared_key else (project.name, declared_key)
        if "type" not in declared:
            continue
        key = f"{namespace}:{name}"
        value = merged.get(key, StackValue(""))
        if declared.get("secret") and not value.secure:
            raise PulumiCliError(
                f"Stack '{stack}' with configuration key '{declared_key}' must be encrypted as it's secret"
            )
        if value.secure and not _decryptable(key, value, plaintexts or {}):
            continue  # offline, without its plaintext: the real CLI checks the value its passphrase decrypts
        decrypted = _decrypted(key, value, plaintexts or {}) if value.secure else value.text
        content = json.loads(decrypted) if value.is_object else decrypted
        if not _valid(declared["type"], declared.get("items"), content):
            raise PulumiCliError(
                f"Stack '{stack}' with configuration key '{declared_key}' must be of type "
                f"'{full_type_name(declared['type'], declared.get('items'))}'"
            )
    return merged


def offline_plaintext(key: str) -> str:
    """What an encrypted (`secure:`) value of `key` decrypts to offline, where there is no passphrase: distinctive
    per key and never part of a message, so a test can look for it in everything a run shows."""
    return f"offline-secret-{hashlib.sha256(key.encode()).hexdigest()[:20]}"


def _secure_places(key: str, node: Any, place: str = "") -> list[str]:
    """The keys (`key`, `key[0].name`, ...) of the `{secure: ...}` values inside an object value."""
    if isinstance(node, dict) and set(node) == {"secure"} and isinstance(node["secure"], str):
        return [f"{key}{place}"]
    if isinstance(node, dict):
        return [found for name, item in node.items() for found in _secure_places(key, item, f"{place}.{name}")]
    if isinstance(node, list):
        return [found for index, item in enumerate(node) for found in _secure_places(key, item, f"{place}[{index}]")]
    return []


def _decryptable(key: str, value: StackValue, plaintexts: Mapping[str, str]) -> bool:
    """Whether every encrypted part of the value has its plaintext here (offline there is no passphrase)."""
    if not value.is_object:
        return key in plaintexts
    return all(place in plaintexts for place in _secure_places(key, json.loads(value.text)))


def _decrypted(key: str, value: StackValue, plaintexts: Mapping[str, str]) -> str:
    """A secure value's plaintext: the test's, else offline_plaintext; in an object, each `{secure: ...}` leaf
    (by `key.path[0]`), the object written back as JSON (config.Value `Value(decrypter)`)."""
    if not value.is_object:
        return plaintexts.get(key, offline_plaintext(key))

    def walk(node: Any, place: str) -> Any:
        if isinstance(node, dict) and set(node) == {"secure"} and isinstance(node["secure"], str):
            return plaintexts.get(f"{key}{place}", offline_plaintext(f"{key}{place}"))
        if isinstance(node, dict):
            return {name: walk(item, f"{place}.{name}") for name, item in node.items()}
        if isinstance(node, list):
            return [walk(item, f"{place}[{index}]") for index, item in enumerate(node)]
        return node

    return go_json(walk(json.loads(value.text), ""))


def program_config(merged: dict[str, StackValue], plaintexts: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The config the program gets and the keys listed as secret, as the CLI hands them over: every value in
    plain text, secure ones decrypted (pulumi/pulumi pkg/resource/deploy/source_eval.go `evalSource.Iterate`:
    `Config.Decrypt` and `Config.SecureKeys`, which sdk/python/cmd/pulumi-language-python/main.go passes as
    PULUMI_CONFIG and PULUMI_CONFIG_SECRET_KEYS; the Python SDK's `Config.get` then returns the plaintext)."""
    config = {key: _decrypted(key, value, plaintexts) if value.secure else value.text for key, value in merged.items()}
    return config, sorted(key for key, value in merged.items() if value.secure)
