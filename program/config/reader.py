"""Reads keys one at a time, collecting every problem so the user sees all of them at once."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from components.validation import (
    DNS_LABEL_RE,
    DNS_SUBDOMAIN_RE,
    Rule,
    dns_label_for,
)
from program import keys
from program.config.errors import Problem
from program.config.project import PROJECT
from program.config.settings import Origin
from program.config.sources import ConfigSource, config_text

# Go's time.Time String(): what the CLI hands over for an unquoted YAML timestamp (tools/go_yaml.py go_resolve).
GO_TIME_TEXT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)? [-+][0-9]{4} \S+$")

# Defaults, entry fields and known keys come from the one registry of keys (program/keys.py).
DEFAULTS: dict[str, str] = keys.defaults()

# Every key of the project's namespace the program reads.
KNOWN_KEYS = keys.flat_keys()
# Where a message sends the user for the keys: the generated table (program/keys.py writes it).
KEYS_DOC = 'docs/configuration.md "Config keys"'


class Reader:
    """Collects problems while reading, so the user sees all of them at once."""

    def __init__(self, source: ConfigSource):
        self.source = source
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        # Inside one entry of a list (functions[i], routes[i]): its fields, by the flat key they stand for.
        self.entry: dict[str, Any] = {}
        self.prefix = ""
        self.fields: dict[str, str] = {}

    def scoped(self, entry: dict[str, Any], prefix: str, fields: dict[str, str]) -> Reader:
        """A reader of one list entry; a field it lacks falls back to the flat key (a stack-wide default)."""
        child = Reader(self.source)
        child.problems, child.warnings = self.problems, self.warnings
        child.entry, child.prefix, child.fields = entry, prefix, fields
        return child

    def in_entry(self, name: str) -> bool:
        return name in self.fields and self.fields[name] in self.entry

    def key(self, name: str) -> str:
        flat = name if ":" in name else f"{PROJECT}:{name}"
        # Inside an entry, a field is named by its place in the list unless a stack-wide value stands in for it.
        stands_in = self.source.get(flat) is not None or name in DEFAULTS
        if self.in_entry(name) or (name in self.fields and self.prefix and not stands_in):
            return f"{PROJECT}:{self.prefix}.{self.fields[name]}"
        return flat

    def raw(self, name: str) -> str | None:
        if self.in_entry(name):
            return config_text(self.entry[self.fields[name]])
        value = self.source.get(name if ":" in name else f"{PROJECT}:{name}")
        if value is None or value == "":  # empty: reported once by check_keys, then read as unset
            value = DEFAULTS.get(name)
        return value

    def structured(self, name: str, kind: type) -> Any:
        """A list or object value (given as YAML in the stack file), or None when unset."""
        value: Any = self.entry[self.fields[name]] if self.in_entry(name) else None
        if value is None:
            text = self.source.get(name if ":" in name else f"{PROJECT}:{name}")
            if text is None:
                return None
            try:
                value = json.loads(text)
            except ValueError:
                value = text
        if not isinstance(value, kind):
            self.fail(name, value, f"must be a {'list' if kind is list else 'mapping'}", f"see {KEYS_DOC}")
            return None
        return value

    def fail(self, name: str, value: object, allowed: str, example: str) -> None:
        if isinstance(value, str) and GO_TIME_TEXT.match(value):
            allowed += " (an unquoted date or time in the stack file reaches the program as this text: quote it)"
        self.problems.append(Problem(self.key(name), value, allowed, example))

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.raw(name)
        if value not in allowed:
            self.fail(name, value, f"must be one of {', '.join(allowed)}", closest(value, allowed) or allowed[0])
            return allowed[0]
        return value

    def pattern(self, name: str, regex: re.Pattern[str], allowed: str, example: str) -> str:
        value = self.raw(name)
        if value is None or not regex.match(value):
            self.fail(name, value, allowed, example)
            return example
        return value

    def rule(self, name: str, rule: Rule, required: str | None = None, example: str | None = None) -> str:
        """A value the shared rule (components/validation.py) must accept, in the rule's words; `required`: what
        to say when it is unset, if that needs more than the rule (when it is needed, how to set it)."""
        example = example or rule.example
        if required is not None and self.raw(name) is None:
            self.fail(name, None, required, example)
            return example
        return self.pattern(name, rule.pattern, rule.allowed, example)

    def optional_rule(self, name: str, rule: Rule, example: str | None = None) -> str | None:
        return self.optional_pattern(name, rule.pattern, rule.allowed, example or rule.example)

    def optional_pattern(self, name: str, regex: re.Pattern[str], allowed: str, example: str) -> str | None:
        value = self.raw(name)
        if value is None or value == "":
            return None
        if not regex.match(value):
            self.fail(name, value, allowed, example)
        return value

    def integer(self, name: str, low: int, high: int, example: int) -> int:
        value = self.raw(name)
        try:
            number = int(str(value))
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            self.fail(
                name,
                value,
                f"must be a whole number from {low} to {high}",
                str(example),
            )
            return example
        return number

    def boolean(self, name: str) -> bool:
        value = self.raw(name)
        if value not in ("true", "false"):
            self.fail(name, value, "must be true or false", "true")
            return True
        return value == "true"

    def dns_label(self, name: str, example: str) -> str:
        return self.pattern(
            name,
            DNS_LABEL_RE,
            "must be a DNS label: at most 63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit",
            example,
        )

    def object_name(self, name: str, function_name: str) -> str:
        """An optional Kubernetes object name; unset, it is derived from the function name."""
        if self.raw(name) is None:
            return dns_label_for(function_name)
        return self.dns_subdomain(name, dns_label_for(function_name))

    def dns_subdomain(self, name: str, example: str) -> str:
        value = self.pattern(
            name,
            DNS_SUBDOMAIN_RE,
            "must be a DNS subdomain: lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit",
            example,
        )
        if len(value) > 253:
            self.fail(name, value, "must be at most 253 characters", example)
        return value


def only_in(versions: list[str]) -> str:
    return f"only kgateway {', '.join(versions)} {'has' if len(versions) == 1 else 'have'} it"


def entries(reader: Reader, key: str, fields: dict[str, str]) -> list[Reader]:
    """One reader per entry of the list `key`; unset, one reader of the flat keys."""
    entries = reader.structured(key, list)
    if entries is None:
        return [reader]
    if not entries:
        reader.fail(key, entries, "must list at least one entry", "[{name: echo}]")
    readers = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            reader.fail(f"{key}[{index}]", entry, "must be a mapping of fields", "{name: echo}")
            continue
        unknown = sorted(set(entry) - set(fields.values()))
        if unknown:
            reader.fail(
                f"{key}[{index}]", unknown, f"has unknown fields; allowed: {', '.join(fields.values())}", "name"
            )
        readers.append(reader.scoped(entry, f"{key}[{index}]", fields))
    return readers


def check_unique(reader: Reader, values: list[tuple[str, Origin]], what: str) -> bool:
    """Each of `values` (a name, and the key and value the user wrote that it comes from) once; a clash is
    reported on the second entry's own key and names the first's. True if unique."""
    seen: dict[str, Origin] = {}
    unique = True
    for value, (key, written) in values:
        if value in seen:
            first_key, first_written = seen[value]
            reader.problems.append(
                Problem(
                    key,
                    written,
                    f"gives the {what} {value!r}, as {first_key.partition(':')[2]} ({first_written!r}) does; "
                    "each must be unique",
                    f"{written}-2",
                )
            )
            unique = False
        seen.setdefault(value, (key, written))
    return unique


def read_list(reader: Reader, name: str, valid: Callable[[str], bool], allowed: str) -> list[str]:
    values = reader.structured(name, list) or []
    for value in values:
        if not isinstance(value, str) or not valid(value):
            reader.fail(name, value, f"each must be one of / match: {allowed}", allowed.split(",", maxsplit=1)[0])
    return [v for v in values if isinstance(v, str) and valid(v)]


def closest(value: object, allowed: Iterable[str]) -> str | None:
    """The allowed value a typo most likely meant (`2.4` → `v2.4`, `functionNme` → `functionName`)."""
    if not isinstance(value, str):
        return None
    options = list(allowed)
    by_case = {option.lower(): option for option in options}
    match = difflib.get_close_matches(value.lower(), list(by_case), n=1, cutoff=0.6)
    return by_case[match[0]] if match else None


def check_keys(reader: Reader) -> None:
    """Keys of our namespace that the program would ignore (a typo deploys the default), and empty values."""
    for full_key in sorted(reader.source.keys()):
        namespace, _, name = full_key.partition(":")
        if namespace != PROJECT:
            continue
        if name not in KNOWN_KEYS:
            guess = closest(name, KNOWN_KEYS)
            hint = f"; did you mean {guess}?" if guess else f"; the keys are listed in {KEYS_DOC}"
            reader.problems.append(
                Problem(
                    full_key, reader.source.get(full_key), f"is not a key of {PROJECT}{hint}", guess or "functionName"
                )
            )
        elif reader.source.get(full_key) == "":
            reader.problems.append(
                Problem(
                    full_key,
                    "",
                    f"is empty: give it a value, or remove it with `pulumi config rm {name}`",
                    DEFAULTS.get(name, f"see {KEYS_DOC}"),
                )
            )


def check_all_secret(reader: Reader, name: str, placeholder: str) -> bool:
    """Every value of the secret mapping `name` stored encrypted. `pulumi config set --path` without `--secret` keeps
    that one value in plain text in the stack file (in git) beside the encrypted ones, and the engine still lists
    the whole key as secret: each such value is refused by its place, never shown. True if there is none."""
    key = f"{PROJECT}:{name}"
    places = reader.source.plain_places(key) if reader.source.is_secret(key) else None
    for place in places or []:
        command = f"pulumi config set --secret --path '{place}' {placeholder}"
        reader.problems.append(
            Problem(
                f"{PROJECT}:{place}",
                "[plain text]",
                f"is stored in plain text in the stack file (in git), unlike the rest of {name}: set it again with "
                f"`{command}`",
                command,
            )
        )
    return not places
