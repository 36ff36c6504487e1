"""How a stack file's values reach the program through the Pulumi CLI: decoded by Go's gopkg.in/yaml.v3 and
written back by Go (the CLI's round trip), so `012` is "10", `True` "true" and `2026-11-30` a time.Time's text.
Used by tools/pulumi_cli.py; each rule names the Go source it follows."""

from __future__ import annotations

import calendar
import decimal
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import yaml


class UnsupportedJsonValueError(ValueError):
    """Go's json.Marshal refuses NaN and infinities (`.nan`, `.inf` in a stack file)."""


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


def yaml_value(node: yaml.Node) -> Any:
    """A node as yaml.v3 decodes it into `any`: mappings, lists, and scalars resolved by `go_resolve`."""
    if isinstance(node, yaml.MappingNode):
        return {go_text(yaml_value(k)): yaml_value(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [yaml_value(item) for item in node.value]
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
