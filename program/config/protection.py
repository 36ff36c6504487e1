"""The `protection` key (stack-wide, or a `routes` entry's own) and the secret `providedApiKeys` it may name.

The config spells a protection in the package schema's words (camelCase: `apiKeys.keySources`,
`rateLimit.requestsPerMinute`); the fields allowed at each level are the component's own (`RouteProtectionArgs` and
the TypedDicts under it), and the rules are the component's (`check_protection_args`), so the stack and the
component refuse the same values with the same words. A kind the pinned kgateway line lacks is refused here with the
line that first has it (`protection_problems`); with `auto`, at deploy, from the cluster's TrafficPolicy CRD.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Mapping
from typing import Any, NotRequired, Required, get_args, get_origin, is_typeddict

import pulumi

from components.inputs import camel_case, check_types
from components.kgateway_api import KgatewayVersion
from components.protection_checks import CLIENT_ID_RE, PROVIDED_KEY_RE, check_protection_args
from components.protection_inputs import RouteProtectionArgs
from components.protection_spec import protection_objects
from components.traffic_policy import TRAFFIC_POLICY_SUPPORT, protection_problems
from components.validation import InputChecker
from program.config.errors import Named, Problem
from program.config.reader import Reader, check_all_secret
from program.config.sources import config_path

PROVIDED_KEYS = "providedApiKeys"
# Mappings whose keys are the user's data (client ids, claim names), not field names.
_DATA_MAPS = ("claims_to_headers", "keys")
# Config-only: the client ids of `providedApiKeys` a route accepts (their keys come from the secret config).
_PROVIDED = "provided"


def _fields(typed_dict: type) -> dict[str, Any]:
    """A TypedDict's fields (snake_case) with their declared types, unwrapped from NotRequired/Required."""
    hints = typing.get_type_hints(typed_dict, localns={"Output": pulumi.Output, "T": Any}, include_extras=True)
    unwrapped = {}
    for name, declared in hints.items():
        hint = declared
        while get_origin(hint) in (NotRequired, Required):
            hint = get_args(hint)[0]
        unwrapped[name] = hint
    return unwrapped


def _typed_dict_of(hint: Any) -> type | None:
    """The TypedDict a field holds (directly or as a list's items), if any."""
    if is_typeddict(hint):
        return typing.cast(type, hint)
    if get_origin(hint) is list:
        (item,) = get_args(hint)
        return typing.cast(type, item) if is_typeddict(item) else None
    return None


def to_args(
    value: Any, typed_dict: type, path: str, problems: list[tuple[str, object, str, str]]
) -> dict[str, Any] | None:
    """A config mapping in camelCase as the component's args (snake_case), unknown fields reported by path."""
    if not isinstance(value, Mapping):
        problems.append((path, value, "must be a mapping of fields", "{rateLimit: {requestsPerSecond: 10}}"))
        return None
    fields = _fields(typed_dict)
    by_camel = {camel_case(name): name for name in fields}
    args: dict[str, Any] = {}
    for key, item in value.items():
        name = by_camel.get(str(key))
        if name is None and not (typed_dict.__name__ == "ApiKeysArgs" and key == _PROVIDED):
            allowed = sorted([*by_camel, *([_PROVIDED] if typed_dict.__name__ == "ApiKeysArgs" else [])])
            problems.append(
                (
                    f"{path}.{key}" if path else str(key),
                    "(set)",
                    f"is not a field; use {', '.join(allowed)}",
                    allowed[0],
                )
            )
            continue
        if name is None:
            args[_PROVIDED] = item
            continue
        inner = _typed_dict_of(fields[name])
        where = f"{path}.{key}" if path else str(key)
        if inner is not None and get_origin(fields[name]) is list and isinstance(item, list):
            converted = [to_args(entry, inner, f"{where}[{index}]", problems) for index, entry in enumerate(item)]
            args[name] = [entry for entry in converted if entry is not None]
        elif inner is not None and name not in _DATA_MAPS:
            args[name] = to_args(item, inner, where, problems)
        else:
            args[name] = item
    return args


def _key_of(client: str) -> typing.Callable[[str], str]:
    def pick(text: str) -> str:
        return str(json.loads(text)[client])

    return pick


def _set_command(place: str) -> str:
    return f"pulumi config set --secret --path '{place}' <key>"


def read_provided_keys(reader: Reader) -> tuple[dict[str, pulumi.Output[str]], set[str]]:
    """`providedApiKeys`: client id -> key, from secret config (its values are checked, never shown; its client
    ids are names, shown as they are). The client ids returned are every one the config names, refused or not: a
    route naming one is not told it is unset when its problem is reported here."""
    key = reader.key(PROVIDED_KEYS)
    text = reader.source.get(key)
    if text is None:
        return {}, set()
    command = _set_command(f"{PROVIDED_KEYS}.<client id>")
    if not reader.source.is_secret(key):
        reader.fail(PROVIDED_KEYS, "[plain text]", f"must be stored encrypted; set each key with `{command}`", command)
        return {}, set()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not parsed:
        reader.fail(PROVIDED_KEYS, "[secret]", "must map client ids to keys", command)
        return {}, set()
    check_all_secret(reader, PROVIDED_KEYS, "<key>")
    clients, usable = set(), set()
    for client, value in parsed.items():
        clients.add(client)
        if not CLIENT_ID_RE.match(client):
            reader.problems.append(
                Problem(key, Named(client), "has a client id that is not 1 to 253 of A-Z a-z 0-9 - . _", "mobile")
            )
            continue
        place = config_path(PROVIDED_KEYS, client)
        if not isinstance(value, str) or not PROVIDED_KEY_RE.match(value):
            reader.problems.append(
                Problem(
                    f"{key}.{client}",
                    "[secret]",
                    f"must be 16 to 4096 visible ASCII characters; set it again with `{_set_command(place)}`",
                    _set_command(place),
                )
            )
            continue
        usable.add(client)
    texts = [value for value in parsed.values() if isinstance(value, str)]
    if len(set(texts)) != len(texts):
        reader.fail(PROVIDED_KEYS, "[secret]", "must give each client a different key", command)
    whole = reader.source.secret(key)
    outputs: dict[str, pulumi.Output[str]] = {}
    if whole is not None:
        for client in usable:
            outputs[client] = pulumi.Output.secret(whole.apply(_key_of(client)))
    return outputs, clients


def read_protection(
    reader: Reader,
    line: KgatewayVersion | None,
    provided: tuple[dict[str, pulumi.Output[str]], set[str]],
) -> RouteProtectionArgs | None:
    """A route's protection: its entry's own, else the stack-wide `protection`; `{}` (or unset): none."""
    value = reader.structured("protection", dict)
    if not value:
        return None
    base = reader.key("protection")
    found: list[tuple[str, object, str, str]] = []
    args = to_args(value, RouteProtectionArgs, "", found)
    keys_args = (args or {}).get("api_keys")
    refused_there = False
    if isinstance(keys_args, dict) and _PROVIDED in keys_args:
        clients = keys_args.pop(_PROVIDED)
        outputs, known = provided
        if keys_args.get("clients") is not None or keys_args.get("rotation") is not None:
            found.append(
                ("apiKeys.provided", clients, "give either provided or clients/rotation (generated)", "[mobile]")
            )
        if not isinstance(clients, list) or not clients or not all(isinstance(c, str) for c in clients):
            found.append(("apiKeys.provided", clients, f"must list client ids of {PROVIDED_KEYS}", "[mobile]"))
        else:
            found.extend(
                (
                    "apiKeys.provided",
                    client,
                    f"must name a client id set in the secret config {PROVIDED_KEYS} "
                    f"(`{_set_command(config_path(PROVIDED_KEYS, client))}`)",
                    "mobile",
                )
                for client in clients
                if client not in known
            )
            # A client id refused in providedApiKeys is reported there, once.
            refused_there = any(c in known and not CLIENT_ID_RE.match(c) for c in clients)
            # Offline validation has no secret values: a stand-in that the checks accept and nothing shows.
            keys_args["keys"] = {c: outputs.get(c, pulumi.Output.secret("")) for c in clients if c in known}
    size = (args or {}).get("max_request_size")
    if isinstance(size, int) and not isinstance(size, bool):
        # A plain number of bytes: the CRD's field is int-or-string (a Kubernetes quantity), and the digits alone
        # are the same quantity, which every later check reads.
        typing.cast(dict[str, Any], args)["max_request_size"] = str(size)
    if args is not None and not found and not refused_there:
        checker = InputChecker("protection", base)
        check_types(checker, args, RouteProtectionArgs)  # the component's own type checks first, by name
        if not checker.problems:
            check_protection_args(checker, args)
        found += [(p.name, p.value, p.allowed, p.example) for p in checker.problems]
        support = TRAFFIC_POLICY_SUPPORT.get(line.name) if line is not None else None
        if support is not None and not found:
            spec, _, _, _ = protection_objects(args, "route")
            for kind, problem in zip(
                sorted(spec.kinds() - support.kinds), protection_problems(support, spec.kinds()), strict=True
            ):
                found.append(
                    (
                        kind,
                        "(set)",
                        problem,
                        f"kgatewayVersion {problem.rsplit('first in kgateway ', 1)[1].split(':')[0]}",
                    )
                )
    for name, shown, allowed, example in found:
        reader.problems.append(Problem(f"{base}.{name}" if name else base, shown, allowed, example))
    return typing.cast(RouteProtectionArgs, args) if args is not None and not found and not refused_there else None
