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

import calendar
import decimal
import functools
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class PulumiCliError(Exception):
    """What the real CLI prints before it refuses to run the program."""


class UnsupportedJsonValueError(PulumiCliError):
    """Go's json.Marshal refuses NaN and infinities (`.nan`, `.inf` in a stack file)."""


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
# `LoadProjectStackBytes` decodes the file with gopkg.in/yaml.v3 (v3.0.1, sdk/go.mod) into Go values (`any`),
# encodes them back to YAML (sdk/go/common/util/yamlutil/encode.go `YamlEncode`) and decodes that into
# config.Value, whose `UnmarshalYAML` (sdk/go/common/resource/config/object.go `unmarshalObject`,
# `MarshalString`) keeps a string as it is, writes a bool or number as JSON and an object as JSON text. So a plain
# scalar reaches the program as what yaml.v3 resolves it to (go-yaml/yaml v3 resolve.go `resolve`), not as written:
# `012` (a YAML 1.1 octal yaml.v3 still reads) is "10", `0x1F` "31", `1_000` "1000", `+1` "1", `.5` "0.5", `True`
# "true", `1e3` "1000", `08` (no octal, but a float) "8", `2026-11-30` a time.Time, written back by Go's
# `Time.String` as "2026-11-30 00:00:00 +0000 UTC"; `yes`/`on`/`0o`-less text stays a string (YAML 1.2).

_NULL_TEXTS = ("", "~", "null", "Null", "NULL")
_BOOL_TEXTS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_SPECIAL_FLOATS = {
    ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan,
    ".inf": math.inf, ".Inf": math.inf, ".INF": math.inf, "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
    "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
}  # fmt: skip
# resolve.go `yamlStyleFloat`.
_YAML_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
# Go's strconv.ParseFloat for text starting with '.': digits, then an optional exponent.
_DOT_FLOAT = re.compile(r"^\.[0-9]+([eE][-+]?[0-9]+)?$")
# resolve.go `allowedTimestampFormats`, as Go's time.Parse reads them: 1-2 digit fields, `,` or `.` before a
# fraction; `T`/`t` forms need a zone (`Z` or `±hh:mm`), the space form has none.
_TIMESTAMP = re.compile(
    r"^(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})"
    r"(?:(?P<sep>[Tt ])(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{1,2}):(?P<second>[0-9]{1,2})"
    r"(?:[.,](?P<fraction>[0-9]+))?(?P<zone>Z|[-+][0-9]{2}:[0-9]{2})?)?$"
)


@dataclass(frozen=True)
class GoTime:
    """A YAML timestamp as yaml.v3 decodes it (a Go time.Time): `text` is Go's `Time.String()` of it after the
    CLI's YAML round trip, `rfc3339` its `Format(time.RFC3339Nano)` (what json.Marshal writes)."""

    text: str
    rfc3339: str


def _go_timestamp(text: str) -> GoTime | None:
    """resolve.go `parseTimestamp` (Go's time.Parse with its layouts), or None where it does not parse."""
    found = _TIMESTAMP.match(text)
    if found is None:
        return None
    parts = found.groupdict()
    year, month, day = int(parts["year"]), int(parts["month"]), int(parts["day"])
    if (parts["sep"] in ("T", "t") and parts["zone"] is None) or (parts["sep"] == " " and parts["zone"] is not None):
        return None
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year or 2000, month)[1]:
        return None
    hour, minute, second = (int(parts[name] or 0) for name in ("hour", "minute", "second"))
    if hour > 23 or minute > 59 or second > 59:
        return None
    nanos = (parts["fraction"] or "")[:9].ljust(9, "0")
    fraction = "." + nanos.rstrip("0") if nanos.rstrip("0") else ""
    zone = parts["zone"] or "Z"
    offset = 0 if zone == "Z" else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 60 + int(zone[4:6]))
    if zone != "Z" and (int(zone[1:3]) > 24 or int(zone[4:6]) > 60):
        return None
    clock = f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d}{fraction}"
    sign, size = ("-" if offset < 0 else "+"), abs(offset)
    numeric = f"{sign}{size // 60:02d}{size % 60:02d}"
    # A zero offset comes back from the round trip as UTC (RFC 3339 writes it `Z`); any other as a zone with no
    # name, which Go prints as its offset (assuming the CLI machine's own zone has no such offset then).
    text_form = f"{clock} {numeric} {'UTC' if offset == 0 else numeric}"
    iso_zone = "Z" if offset == 0 else f"{sign}{size // 60:02d}:{size % 60:02d}"
    return GoTime(text_form, f"{clock.replace(' ', 'T')}{iso_zone}")


def _go_parse_int(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 0, 64), then ParseUint(text, 0, 64) as resolve.go tries them: a sign, then
    `0x`/`0o`/`0b`, or a leading `0` for octal (YAML 1.1's `012`), else decimal; None where both fail."""
    sign, digits = (-1, text[1:]) if text[:1] == "-" else (1, text[1:]) if text[:1] == "+" else (1, text)
    base = 10
    if digits[:1] == "0":
        prefixes = {"b": 2, "o": 8, "x": 16}
        if len(digits) >= 3 and digits[1].lower() in prefixes:
            base, digits = prefixes[digits[1].lower()], digits[2:]
        else:
            base, digits = 8, digits[1:]
    elif not digits:
        return None
    allowed = "0123456789abcdef"[:base]
    if any(c.lower() not in allowed for c in digits):
        return None
    value = sign * int(digits, base) if digits else 0
    if -(2**63) <= value < 2**63 or (text[:1] not in "+-" and value < 2**64):
        return value
    return None


def go_resolve(text: str) -> Any:  # noqa: PLR0911 (one return per YAML type)
    """A plain (unquoted, untagged) scalar as yaml.v3 v3.0.1 decodes it into `any` (resolve.go `resolve`)."""
    if text in _NULL_TEXTS:
        return None
    if text in _BOOL_TEXTS:
        return _BOOL_TEXTS[text]
    if text in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[text]
    first = text[0]
    if first == ".":
        return _round_tripped(float(text)) if _DOT_FLOAT.match(text) else text
    if not ((first.isdigit() and first.isascii()) or first in "+-"):
        return text  # hint 'M' (y, n, t, f, o, ~...) or none: a string
    timestamp = _go_timestamp(text)
    if timestamp is not None:
        return timestamp
    plain = text.replace("_", "")
    number = _go_parse_int(plain) if plain else None
    if number is not None:
        return number
    if _YAML_FLOAT.match(plain):
        value = float(plain)
        if not math.isinf(value):  # ParseFloat reports a range error: not a float
            return _round_tripped(value)
    return text


def _round_tripped(value: float) -> float | int:
    """A float after the CLI's YAML round trip: yaml.v3 writes it with Go's `%g` (encode.go `floatv`), so one with
    an exponent from -4 to 5 and no fraction (`128.0`, `-0.0`) is read back as an int."""
    if value == 0:
        return 0
    exponent = decimal.Decimal(repr(value)).adjusted()
    return int(value) if -4 <= exponent < 6 and value.is_integer() else value


def _is_explicit_str(node: yaml.ScalarNode) -> bool:
    """`!!str 012`: a plain scalar whose tag is not what PyYAML's own resolver gives it was tagged by the user."""
    implicit = yaml.SafeLoader.resolve(yaml.SafeLoader, yaml.ScalarNode, node.value, (True, False))  # type: ignore[arg-type,no-untyped-call]
    return node.tag == "tag:yaml.org,2002:str" and node.tag != implicit


def _plain(node: yaml.Node) -> Any:
    """A node as yaml.v3 decodes it into `any`: mappings, lists, and scalars resolved by `go_resolve`."""
    if isinstance(node, yaml.MappingNode):
        return {go_text(_plain(k)): _plain(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item) for item in node.value]
    assert isinstance(node, yaml.ScalarNode)
    if node.style is not None or _is_explicit_str(node):  # quoted or block scalar, or `!!str`: always a string
        return node.value
    return go_resolve(node.value)


def _go_float(value: float) -> str:
    """Go's encoding/json float64: shortest digits, `%f` form from 1e-6 to 1e21, else `%e` without a padded
    exponent (`1e-07` -> `1e-7`)."""
    if math.isnan(value) or math.isinf(value):
        raise UnsupportedJsonValueError(
            f"json: unsupported value: {'NaN' if math.isnan(value) else '+Inf' if value > 0 else '-Inf'}"
        )
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        mantissa, _, exponent = repr(value).partition("e")  # Python's repr is `%e` form here: `1.5e-07`
        sign, digits = exponent[0], exponent[1:]
        if sign == "-" and len(digits) == 2 and digits[0] == "0":
            digits = digits[1]
        return f"{mantissa.removesuffix('.0')}e{sign}{digits}"
    text = format(decimal.Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def go_text(value: Any) -> str:
    """A decoded scalar as Go's `%v` (a mapping key) or `MarshalString` (a top-level config value) writes it."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, GoTime):
        return value.text
    return str(value)


def go_json(value: Any) -> str:
    """Go's json.Marshal of a decoded value: keys sorted, no spaces, `<`, `>`, `&` escaped, UTF-8 kept, numbers
    as Go writes them; a time inside an object is its `Time.String()` (object.go `unmarshalObject`)."""

    def walk(node: Any) -> str:
        if isinstance(node, dict):
            return "{" + ",".join(f"{walk(str(k))}:{walk(node[k])}" for k in sorted(node)) + "}"
        if isinstance(node, list):
            return "[" + ",".join(walk(item) for item in node) + "]"
        if node is None:
            return "null"
        if isinstance(node, bool | int | float):
            return go_text(node)
        text = json.dumps(node.text if isinstance(node, GoTime) else node, ensure_ascii=False)
        for char, escaped in (
            ("<", "\\u003c"),
            (">", "\\u003e"),
            ("&", "\\u0026"),
            ("\u2028", "\\u2028"),
            ("\u2029", "\\u2029"),
        ):
            text = text.replace(char, escaped)
        return text

    return walk(value)


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
    value = _plain(node)
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
        if key.value != "config" or (isinstance(value, yaml.ScalarNode) and _plain(value) is None):
            continue
        if not isinstance(value, yaml.MappingNode):
            mark = value.start_mark
            raise PulumiCliError(f"{path}:{mark.line + 1}:{mark.column + 1}: `config` must be a mapping of keys")
        for config_key, config_value in value.value:
            written = go_text(_plain(config_key))
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
