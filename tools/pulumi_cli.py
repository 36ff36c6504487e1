"""The Pulumi CLI's own config rules, applied offline before the program runs.

`pulumi preview` / `pulumi up` load Pulumi.yaml and the stack file, then refuse the stack before the program
starts when its config breaks the project's declarations. The offline engine must refuse the same stacks with
the same messages, or a stack that plans here fails at the first real command. Every rule below names the
pulumi/pulumi source it follows (sdk/go/common/...):

- `workspace/project.go` `Project.Validate`: project-namespaced array keys need `items`; a typed key's
  `default` must match its type; keys of other namespaces carry a `value`, never a type or `default`.
- `resource/config/key.go` `ParseKey`: a stack-file key is `<namespace>:<name>` (or `<ns>:config:<name>`).
- `resource/config/value.go` `unmarshalValue`: a scalar stack value reaches the program as its source text
  (`128`, `True`, `012` stay as written); a mapping `{secure: ...}` is an encrypted value; any other
  mapping or list is an object value, handed over as JSON.
- `workspace/config.go` `mergeConfig`: a project-namespaced key declared with neither `default` nor `value`
  and absent from the stack is missing ("Stack 'dev' is missing configuration value 'x'"); defaults fill the
  rest; then `validateStackConfigValue`: a `secret: true` key must be stored encrypted, and an explicitly
  typed value must pass `ValidateConfigValue` ("... must be of type 'integer'").
- `workspace/project.go` `ValidateConfigValue`: string: any scalar text; integer: text that `strconv.Atoi`
  parses (or a whole number inside an object); boolean: exactly `true`/`false`; array: a list whose items
  pass `items`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


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
    text = path.read_text(encoding="utf-8-sig")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
        raise PulumiCliError(f"{where}: invalid YAML: {error.problem}") from None
    if node is not None:
        _no_duplicates(node, str(path))
    return node


# YAML 1.2 core schema (what yaml.v3 resolves plain scalars with), not PyYAML's YAML 1.1: `yes`, `on`, `0o17`,
# `1:30` keep their YAML 1.2 meaning inside objects.
_NULL = re.compile(r"^(~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^[-+]?[0-9]+$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")


def _plain(node: yaml.Node) -> Any:  # noqa: PLR0911 (one return per kind of node)
    """A node as a JSON-able value under the YAML 1.2 core schema."""
    if isinstance(node, yaml.MappingNode):
        return {str(_plain(k)): _plain(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item) for item in node.value]
    assert isinstance(node, yaml.ScalarNode)
    text = node.value
    if node.style is not None:  # quoted or block scalar: always a string
        return text
    if _NULL.match(text):
        return None
    if _BOOL.match(text):
        return text.lower() == "true"
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text


def _stack_value(node: yaml.Node) -> StackValue:
    """config.Value's unmarshalValue: a scalar as its text; `{secure: x}` encrypted; anything else an object."""
    if isinstance(node, yaml.ScalarNode):
        return StackValue("" if node.style is None and _NULL.match(node.value) else node.value)
    value = _plain(node)
    if isinstance(value, dict) and set(value) == {"secure"} and isinstance(value["secure"], str):
        return StackValue(value["secure"], secure=True)
    return StackValue(json.dumps(value, sort_keys=True, separators=(",", ":")), is_object=True)


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
    raw = _plain(node) if node is not None else None
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
    """createConfigValue: a primitive (string, int, bool) as its `%v` text, anything else as JSON."""
    if isinstance(value, bool):
        return StackValue("true" if value else "false")
    if isinstance(value, str | int):
        return StackValue(str(value))
    return StackValue(json.dumps(value, sort_keys=True, separators=(",", ":")), is_object=True)


def read_stack_file(path: Path) -> dict[str, StackValue]:
    """The stack file's `config:` as the CLI holds it; a missing file is an empty stack (LoadProjectStack)."""
    if not path.is_file():
        return {}
    node = _compose(path)
    if node is None:
        return {}
    if not isinstance(node, yaml.MappingNode):
        raise PulumiCliError(f"{path}: a stack file must be a mapping (with a `config:` mapping)")
    values: dict[str, StackValue] = {}
    for key, value in node.value:
        if key.value != "config" or (isinstance(value, yaml.ScalarNode) and _NULL.match(value.value)):
            continue
        if not isinstance(value, yaml.MappingNode):
            mark = value.start_mark
            raise PulumiCliError(f"{path}:{mark.line + 1}:{mark.column + 1}: `config` must be a mapping of keys")
        for config_key, config_value in value.value:
            namespace, name = parse_key(str(config_key.value))
            values[f"{namespace}:{name}"] = _stack_value(config_value)
    return values


def merge_config(stack: str, project: Project, stack_values: dict[str, StackValue]) -> dict[str, StackValue]:
    """mergeConfig + validateStackConfigValues: the config the program gets, or the CLI's refusal."""
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
        value = merged.get(f"{namespace}:{name}", StackValue(""))
        if declared.get("secret") and not value.secure:
            raise PulumiCliError(
                f"Stack '{stack}' with configuration key '{declared_key}' must be encrypted as it's secret"
            )
        if (
            "type" in declared
            and not value.secure
            and not _valid(declared["type"], declared.get("items"), value.content())
        ):
            raise PulumiCliError(
                f"Stack '{stack}' with configuration key '{declared_key}' must be of type "
                f"'{full_type_name(declared['type'], declared.get('items'))}'"
            )
    return merged
