"""Every input of every shape (issue 32): a value of the wrong JSON shape anywhere in a component's inputs (a list
where an object is expected, objects where names are expected, an unknown value of a preview) ends in a
ComponentInputError naming that input, never in a traceback from inside the checks. Derived from the package
schema, all the way down its types: the components are called from other languages with arbitrary JSON.

The checks are called as the components call them (`checked_inputs` with each component's own rules), without
an engine: a few thousand calls take about a second. tests/test_input_properties.py runs the engine on the top
level of each input; the stack config's keys have the same property in tests/test_config_shapes.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pulumi
import pulumi.output
import pytest
from hypothesis import given
from hypothesis import strategies as st

from components.backend import LambdaBackendArgs, check_backend_args
from components.credentials import GatewayCredentialsArgs, check_gateway_credentials_args
from components.execution_role import ExecutionRoleArgs, check_execution_role_args
from components.inputs import camel_case, checked_inputs
from components.lambda_function import LambdaFunctionArgs, check_function_args
from components.lambda_gateway_route import LambdaGatewayRouteArgs, check_composite_args
from components.route import LambdaRouteArgs, check_route_args
from components.validation import ComponentInputError
from tests.support.json_shapes import ANY_JSON_SETTINGS, json_values
from tools.schema import package_schema

SCHEMA = package_schema()
TOKEN = "kgateway-lambda:index:"
CODE = pulumi.AssetArchive({"index.mjs": pulumi.StringAsset("export const handler = async () => 1")})
# Each component: its args type, its own rules and a valid call (in Python's names, as the provider passes them).
COMPONENTS: dict[str, tuple[type, Callable[..., None], dict[str, Any]]] = {
    "ExecutionRole": (ExecutionRoleArgs, check_execution_role_args, {}),
    "GatewayCredentials": (
        GatewayCredentialsArgs,
        check_gateway_credentials_args,
        {"functions": [{"function": "echo"}]},
    ),
    "LambdaBackend": (LambdaBackendArgs, check_backend_args, {"function_name": "echo", "kgateway_version": "v2.4"}),
    "LambdaRoute": (LambdaRouteArgs, check_route_args, {"path": "/echo", "backend_name": "echo"}),
    "LambdaFunction": (LambdaFunctionArgs, check_function_args, {"function_name": "echo", "code": CODE}),
    "LambdaGatewayRoute": (
        LambdaGatewayRouteArgs,
        check_composite_args,
        {
            "function": {"function_name": "echo", "code": CODE},
            "backend": {"kgateway_version": "v2.4"},
            "routes": [{"path": "/echo"}],
            "credentials": {"mode": "generated"},
        },
    ),
}
# Every JSON shape, and a preview's unknown value.
SHAPES: list[Any] = [
    None, True, 0, -1, 1.5, "", "x", [], [None], [0], ["x"], [{}], [[]], {}, {"a": None}, {"a": 0}, {"a": "x"},
    {"a": []}, {"a": {}}, {"a": [{}]},
]  # fmt: skip
UNKNOWN = pulumi.output.Unknown()  # type: ignore[no-untyped-call]
MAP_KEY = "x-key"


def snake(name: str) -> str:
    """A schema name as the Python args spell it (the inverse of the analyzer's camel_case)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


Path_ = tuple[str | int, ...]


def _walk(spec: dict[str, Any], path: Path_, schema_path: str, depth: int) -> list[tuple[Path_, str, dict[str, Any]]]:
    """Each place under `spec`: the Python path, the schema's name for it, its schema."""
    found = [(path, schema_path, spec)]
    if depth == 0:
        return found
    if "items" in spec:
        found += _walk(spec["items"], (*path, 0), f"{schema_path}[0]", depth - 1)
    if isinstance(spec.get("additionalProperties"), dict):
        found += _walk(spec["additionalProperties"], (*path, MAP_KEY), f"{schema_path}.{MAP_KEY}", depth - 1)
    ref = spec.get("$ref", "")
    if ref.startswith("#/types/"):
        for field, field_spec in SCHEMA["types"][ref.removeprefix("#/types/")].get("properties", {}).items():
            found += _walk(field_spec, (*path, snake(field)), f"{schema_path}.{field}", depth - 1)
    return found


def places(component: str) -> list[tuple[Path_, str, dict[str, Any]]]:
    found = []
    for name, spec in SCHEMA["resources"][TOKEN + component]["inputProperties"].items():
        found += _walk(spec, (snake(name),), name, 6)
    return found


CASES = [(component, *place) for component in COMPONENTS for place in places(component)]


def place(args: Any, path: Path_, value: Any) -> Any:
    """A copy of `args` with `value` at `path` (objects and lists made on the way)."""
    if not path:
        return value
    step, rest = path[0], path[1:]
    if isinstance(step, int):
        items = list(args) if isinstance(args, list) and args else [{}]
        items[step] = place(items[step], rest, value)
        return items
    copy = dict(args) if isinstance(args, dict) else {}
    copy[step] = place(copy.get(step), rest, value)
    return copy


def fits(spec: dict[str, Any], value: Any) -> bool:
    """Whether `value` has the JSON shape the schema declares (not whether it is a good value of it)."""
    ref = spec.get("$ref", "")
    if ref.startswith("#/types/"):
        declared = SCHEMA["types"][ref.removeprefix("#/types/")]
        if "enum" in declared:
            return value in [member["value"] for member in declared["enum"]]
        if declared.get("type") == "object":
            return isinstance(value, dict)
    if ref.startswith("pulumi.json#/"):  # Archive, Any
        return not ref.endswith("Archive")
    kind = spec.get("type")
    return {
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer(),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
    }.get(str(kind), True)


def check(component: str, path: Path_, name: str, spec: dict[str, Any], value: Any) -> None:
    """The property: no exception but a ComponentInputError, which names the input when the shape is wrong."""
    args_type, rules, valid = COMPONENTS[component]
    args = place(valid, path, value)
    # Wrong: a value of another shape, or one not known yet where the schema declares a plain value.
    wrong = (value is UNKNOWN and bool(spec.get("plain"))) or (
        value is not UNKNOWN and value is not None and not fits(spec, value)
    )
    try:
        checked_inputs(component, "probe", args_type, args, rules)
    except ComponentInputError as error:
        text = str(error)
        if wrong:
            assert any(f"{name}{after}" in text for after in (" = ", "[", ".")), (component, name, value, text)
        else:  # an unknown Input is the service's to check once known: never refused as what it is not
            assert value is not UNKNOWN or f"{name} = " not in text, (component, name, text)
        return
    except Exception as error:  # a traceback from inside the checks
        pytest.fail(f"{component} {name} = {value!r}: {type(error).__name__}: {error}")
    assert not wrong, (component, name, value, "accepted")


@pytest.mark.parametrize("component", list(COMPONENTS))
def test_every_place_of_every_input_takes_every_json_shape_without_a_traceback(component: str) -> None:
    for path, name, spec in places(component):
        for value in [*SHAPES, UNKNOWN]:
            check(component, path, name, spec, value)


@ANY_JSON_SETTINGS
@given(data=st.data())
def test_any_json_anywhere_in_the_inputs_ends_in_an_error_naming_it_or_is_accepted(data: st.DataObject) -> None:
    component, path, name, spec = data.draw(st.sampled_from(CASES), label="place")
    check(component, path, name, spec, data.draw(json_values(8), label="value"))


def test_the_places_follow_the_schema_to_the_bottom() -> None:
    """The cases reach the nested types (protection's API key sources, a JWT's backend), not only the top."""
    assert {TOKEN + component for component in COMPONENTS} == set(SCHEMA["resources"])  # every component
    names = {name for _, _, name, _ in CASES}
    assert "protection.apiKeys.keySources[0].header" in names
    assert "routes[0].protection.jwt.jwksBackend.port" in names
    assert "protection.apiKeys.keys.x-key" in names
    assert len(CASES) > 300


def schema_property_names(node: Any) -> set[str]:
    """Every property name the analyzer wrote into the package schema, at any depth."""
    names: set[str] = set()
    if isinstance(node, dict):
        names |= set(node.get("properties") or {}) if isinstance(node.get("properties"), dict) else set()
        for value in node.values():
            names |= schema_property_names(value)
    elif isinstance(node, list):
        for value in node:
            names |= schema_property_names(value)
    return names


@given(st.text(alphabet="ab_Z1", max_size=8))
def test_the_input_checkers_camel_case_is_the_analyzers(name: str) -> None:
    """components/inputs.py spells input names as the provider's analyzer does without loading it (issue 29's import
    floor): the same function on any name, and every name of the package schema spelled back from Python's."""
    from pulumi.provider.experimental.util import camel_case as analyzers

    assert camel_case(name) == analyzers(name)
    names = schema_property_names(SCHEMA)
    assert len(names) > 50 and all(camel_case(snake(n)) == analyzers(snake(n)) == n for n in names)
