"""Every key of the stack config, every JSON shape (issue 32): a value of the wrong shape for any key, or for any
place inside a structured key (an entry of `functions` or `routes`, a variable of `environment`, a section or
field of `protection`, a client of `providedApiKeys`), ends in a ConfigError naming that place, never in a
traceback; and no secret value shows in it.

The places come from the keys' registry (program/keys.py: types, entry fields) and, for `protection`, from the
package schema's RouteProtectionArgs (the config spells a protection in the schema's words) down to its last
field. The components' inputs have the same property in tests/test_input_shapes.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from program import keys
from program.config import ConfigError, MappingConfigSource, load_settings
from program.config.discovery import FIELDS as DISCOVER_FIELDS
from tests.support.json_shapes import ANY_JSON_SETTINGS, json_values
from tools.schema import package_schema

SCHEMA = package_schema()
PROTECTION = "kgateway-lambda:index:RouteProtectionArgs"
BASE = {"aws:region": "us-east-1", "kgateway-lambda:kgatewayVersion": "main"}
# Text that stands for key material: wherever a shape holds a string under a secret key, it is this.
SECRET_TEXT = "leaked-if-shown-7c1e"
# One value of each JSON kind, each where it does not belong somewhere: null, boolean, number, text, a list of
# objects (objects where names are expected), an object of lists (a list where a value is expected).
SHAPES: list[Any] = [None, True, 1.5, "x", [{}], {"a": []}]


def _schema_places(spec: dict[str, Any], place: str, depth: int) -> list[tuple[str, dict[str, Any]]]:
    """Each place under a schema type, as the config spells it (`apiKeys.keySources[0].header`)."""
    found = [(place, spec)]
    if depth == 0:
        return found
    if "items" in spec:
        found += _schema_places(spec["items"], f"{place}[0]", depth - 1)
    if isinstance(spec.get("additionalProperties"), dict):
        found += _schema_places(spec["additionalProperties"], f"{place}.mobile", depth - 1)
    ref = spec.get("$ref", "")
    if ref.startswith("#/types/"):
        for field, field_spec in SCHEMA["types"][ref.removeprefix("#/types/")].get("properties", {}).items():
            found += _schema_places(field_spec, f"{place}.{field}" if place else field, depth - 1)
    return found


def protection_places() -> list[tuple[str, dict[str, Any]]]:
    """`protection`'s places: the schema's, and the config's own `apiKeys.provided` (client ids, not keys)."""
    found = _schema_places({"$ref": f"#/types/{PROTECTION}"}, "", 6)[1:]
    found = [(p, s) for p, s in found if not p.startswith("apiKeys.keys")]  # config: providedApiKeys instead
    names = {"type": "array", "items": {"type": "string"}}
    return [*found, ("apiKeys.provided", names), ("apiKeys.provided[0]", {"type": "string"})]


KEY_TYPES = {"string": "string", "integer": "integer", "boolean": "boolean", "list": "array", "mapping": "object"}


def places() -> list[tuple[str, dict[str, Any]]]:
    """Every place of the stack config: (place, the shape it takes)."""
    found: list[tuple[str, dict[str, Any]]] = []
    for key in keys.KEYS:
        shape = {"type": KEY_TYPES[key.type]}
        if key.flat:
            found.append((key.name, shape))
        if key.function_field:
            found.append((f"functions[0].{key.function_field}", shape))
        if key.route_field:
            found.append((f"routes[0].{key.route_field}", shape))
    text = {"type": "string"}
    found += [
        ("functions[0]", {"type": "object"}),
        ("routes[0]", {"type": "object"}),
        ("environment.STAGE", text),
        ("functions[0].environment.STAGE", text),
        ("secretEnvironment.echo", {"type": "object"}),
        ("secretEnvironment.echo.API_TOKEN", text),
        ("providedApiKeys.mobile", text),
        ("routes[0].headers.x-env", text),
        ("routeMethods[0]", text),
        ("routeHostnames[0]", text),
        *((f"discover.{field}", text) for field in DISCOVER_FIELDS),
    ]
    for place, spec in protection_places():
        found += [(f"protection.{place}", spec), (f"routes[0].protection.{place}", spec)]
    return found


PLACES = places()
SECRET_ROOTS = {key.name for key in keys.KEYS if key.secret}
# What each place needs around it to be read at all (a provided key is read once a route names its client).
CONTEXT: dict[str, dict[str, Any]] = {
    "providedApiKeys": {"protection": {"apiKeys": {"provided": ["mobile"]}}},
    "discover": {"discover": {"tag": "kgateway-lambda/route"}},
    "routes": {"routes": [{"path": "/x"}]},
    "functions": {"functions": [{"name": "echo"}]},
}


def _steps(place: str) -> list[str | int]:
    parts = place.replace("]", "").replace("[", ".[").split(".")
    return [int(part[1:]) if part.startswith("[") else part for part in parts]


def _put(tree: Any, steps: list[str | int], value: Any) -> Any:
    if not steps:
        return value
    step, rest = steps[0], steps[1:]
    if isinstance(step, int):
        items = list(tree) if isinstance(tree, list) and tree else [{}]
        items[step] = _put(items[step], rest, value)
        return items
    copy = dict(tree) if isinstance(tree, dict) else {}
    copy[step] = _put(copy.get(step), rest, value)
    return copy


def _secret(value: Any) -> Any:
    """The shape with every string in it as key material."""
    if isinstance(value, str):
        return SECRET_TEXT
    if isinstance(value, list):
        return [_secret(item) for item in value]
    if isinstance(value, dict):
        return {key: _secret(item) for key, item in value.items()}
    return value


def config_with(place: str, value: Any) -> tuple[dict[str, str], set[str]]:
    """The stack config with `value` at `place` (structured keys as the JSON text the CLI hands over)."""
    root, *rest = _steps(place)
    assert isinstance(root, str)
    tree: dict[str, Any] = json.loads(json.dumps(CONTEXT.get(root, {})))
    tree = _put(tree, [root, *rest], value)
    config = dict(BASE)
    for key, item in tree.items():
        config[f"kgateway-lambda:{key}"] = item if isinstance(item, str) else json.dumps(item)
    return config, {key for key in tree if key in SECRET_ROOTS}


def fits(spec: dict[str, Any], value: Any) -> bool:
    """The JSON shape the place takes; null inside a structured key is the field left unset."""
    if value is None:
        return True
    ref = spec.get("$ref", "")
    if ref.startswith("#/types/"):
        declared = SCHEMA["types"][ref.removeprefix("#/types/")]
        return isinstance(value, dict) if declared.get("type") == "object" else isinstance(value, str)
    return {
        "string": not isinstance(value, list | dict),  # config text: any scalar reaches the program as text
        "integer": isinstance(value, int | str) and not isinstance(value, bool),
        "boolean": isinstance(value, bool | str),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
    }.get(str(spec.get("type")), True)


# Keys the base config does not read (their credentialsMode is another): any value is ignored, as documented.
UNREAD = {"oidcProvider", "gatewayParametersName", "ambientRoleArn"}


def check(place: str, spec: dict[str, Any], value: Any) -> None:
    root = str(_steps(place)[0])
    if root in SECRET_ROOTS:
        value = _secret(value)
    config, secret = config_with(place, value)
    try:
        load_settings(MappingConfigSource(config, secret))
    except ConfigError as error:
        text = str(error)
        assert SECRET_TEXT not in text, (place, text)
        if not fits(spec, value) and root not in UNREAD:
            named = [p.name for p in error.problems]
            assert any(
                name == f"kgateway-lambda:{place}"
                or name.startswith((f"kgateway-lambda:{place}.", f"kgateway-lambda:{place}["))
                for name in named
            ) or any(f"kgateway-lambda:{parent}" in named for parent in _parents(place)), (place, value, text)
        return
    except Exception as error:  # a traceback from inside the reader or the checks
        pytest.fail(f"{place} = {value!r}: {type(error).__name__}: {error}")
    assert fits(spec, value) or root in UNREAD, (place, value, "accepted")


def _parents(place: str) -> list[str]:
    """The places around `place` (`protection.apiKeys` for `protection.apiKeys.clients[0]`): a value in a
    list of names may be reported on the list."""
    parents = []
    while "." in place or "[" in place:
        place = place[: max(place.rfind("."), place.rfind("["))]
        parents.append(place)
    return parents[:1]


def test_every_place_of_the_config_takes_every_json_kind_without_a_traceback() -> None:
    """Each place, each kind (a routes entry's own protection is read as the stack-wide one: the random test below
    reaches its places)."""
    for place, spec in PLACES:
        if place.startswith("routes[0].protection."):
            continue
        for value in SHAPES:
            check(place, spec, value)


@ANY_JSON_SETTINGS
@given(data=st.data())
def test_any_json_at_any_place_of_the_config_is_refused_naming_it_or_accepted(data: st.DataObject) -> None:
    place, spec = data.draw(st.sampled_from(PLACES), label="place")
    check(place, spec, data.draw(json_values(6), label="value"))


def test_the_places_cover_every_key_and_protection_to_the_bottom() -> None:
    roots = {str(_steps(place)[0]) for place, _ in PLACES}
    assert {key.name for key in keys.KEYS if key.flat} <= roots
    names = {place for place, _ in PLACES}
    assert {"protection.apiKeys.keySources[0].header", "routes[0].protection.jwt.jwksBackend.port"} <= names
