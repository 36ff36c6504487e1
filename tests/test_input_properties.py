"""Property tests generated from the package schema, as another language reaches the components: through the
provider's construct path, each input given a value of the wrong type, an edge value, or an Output (known,
unknown, secret) of either. Each run must end in a ComponentInputError naming that input, or register only objects
the real rules accept: the CRDs (program/crd_validation.py), Kubernetes' names, and AWS's names and policy sizes
as the mocks enforce them (tools/aws_rules.py)."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi.output
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from components.kgateway_api import CRD_TYPE
from components.validation import DNS_LABEL_RE, DNS_SUBDOMAIN_RE
from program.crd_validation import object_errors
from tests.support.fake_aws import FakeAwsMocks
from tests.support.kgateway_reference import CHECKED_KINDS
from tools.aws_rules import AwsLimitError
from tools.engine import ProgramRun, reveal, run_program
from tools.schema import package_provider, package_schema

SCHEMA = package_schema()
TOKEN = "kgateway-lambda:index:"
CODE = pulumi.AssetArchive({"index.mjs": pulumi.StringAsset("export const handler = async () => 1")})
# A valid call of each component (the schema's names): one input at a time is then made wrong.
VALID: dict[str, dict[str, Any]] = {
    "ExecutionRole": {},
    "GatewayCredentials": {"functions": [{"function": "echo"}]},
    "LambdaBackend": {"functionName": "echo", "kgatewayVersion": "v2.4"},
    "LambdaRoute": {"path": "/echo", "backendName": "echo"},
    "LambdaFunction": {"functionName": "echo", "code": CODE},
    "LambdaGatewayRoute": {
        "function": {"functionName": "echo", "code": CODE},
        "backend": {"kgatewayVersion": "v2.4"},
        "routes": [{"path": "/echo"}],
        "credentials": {"mode": "generated"},
    },
}
# Inputs that exclude another (give one of them): the valid call drops the other when one is probed.
ALTERNATIVES = {"existingFunction": "function", "sharedCredentials": "credentials"}
EDGE_STRINGS = ["", " ", "-", "a" * 300, "Echo_1", "x y", "é", "/", "0", "$LATEST", "arn:aws:iam::1:role/r", "false"]
WRONG = [0, -1, 1.5, 2**40, True, False, [], ["a"], {}, {"a": "b"}, "false", "true", "12"]


def _fields(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An object type's properties, from its `$ref`."""
    ref = spec.get("$ref", "")
    if not ref.startswith("#/types/"):
        return {}
    return SCHEMA["types"][ref.removeprefix("#/types/")].get("properties", {})  # type: ignore[no-any-return]


def input_paths(component: str) -> list[tuple[tuple[str | int, ...], dict[str, Any]]]:
    """Every input of the component, and every field of the objects it takes (lists: their first entry)."""
    paths: list[tuple[tuple[str | int, ...], dict[str, Any]]] = []
    for name, spec in SCHEMA["resources"][TOKEN + component]["inputProperties"].items():
        paths.append(((name,), spec))
        inner = spec.get("items", spec)
        for field, field_spec in _fields(inner).items():
            paths.append(((name, 0, field) if "items" in spec else (name, field), field_spec))
    return paths


def schema_name(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{step}]" if isinstance(step, int) else f"{'.' if i else ''}{step}" for i, step in enumerate(path))


def edge_values(spec: dict[str, Any]) -> list[Any]:
    """Values of the declared type at its edges (enums: strings outside it)."""
    if "$ref" in spec and "enum" in SCHEMA["types"].get(spec["$ref"].removeprefix("#/types/"), {}):
        return ["", "auto ", "V2.4", "nope"]
    kind = spec.get("type")
    if kind == "string":
        return EDGE_STRINGS
    if kind == "integer":
        return [0, -1, 1, 127, 128, 10240, 10241, 901, 2**31]
    if kind == "boolean":
        return [True, False]
    if kind == "array":
        return [[], [""], ["a"] * 20]
    return [{}]


def place(inputs: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A copy of `inputs` with `value` at `path` (missing objects and lists made on the way)."""
    if not path:
        return value
    step, rest = path[0], path[1:]
    if isinstance(step, int):
        items = list(inputs) if isinstance(inputs, list) and inputs else [{}]
        items[step] = place(items[step], rest, value)
        return items
    copy = dict(inputs) if isinstance(inputs, dict) else {}
    copy[step] = place(copy.get(step), rest, value)
    return copy


def wrapped(value: Any, how: str) -> Any:
    """The value as given: plain, or inside an Output (known, secret), or unknown (a preview's value)."""
    if how == "known":
        return pulumi.Output.from_input(value)
    if how == "secret":
        return pulumi.Output.secret(value)
    if how == "unknown":
        return pulumi.output.Unknown()  # type: ignore[no-untyped-call]
    return value


# What the program constructs, set by the test before each run (the program runs in this process).
CALL: dict[str, Any] = {}


def construct() -> None:
    inputs = {key: wrapped(value, CALL["how"]) if key == "__" else value for key, value in CALL["inputs"].items()}
    package_provider().construct("probe", TOKEN + CALL["component"], inputs, pulumi.ResourceOptions())


def run_construct(component: str, inputs: dict[str, Any]) -> ProgramRun:
    CALL.update(component=component, inputs=inputs, how="plain")
    return run_program(FakeAwsMocks(), {"aws:region": "us-east-1"}, program=construct)


def accepted_by_the_real_rules(run: ProgramRun) -> list[str]:
    """What the API server or AWS (as the rig enforces it) would refuse of what was registered."""
    problems = []
    for resource in run.resources:
        if resource.read_id is not None or resource.type == CRD_TYPE:
            continue
        inputs = reveal(resource.inputs)
        if resource.type.startswith("kubernetes:"):
            metadata = inputs.get("metadata", {})
            if not DNS_SUBDOMAIN_RE.match(str(metadata.get("name"))):
                problems.append(f"{resource.type} name {metadata.get('name')!r}")
            if not DNS_LABEL_RE.match(str(metadata.get("namespace"))):
                problems.append(f"{resource.type} namespace {metadata.get('namespace')!r}")
            if resource.type.rsplit(":", 1)[1] in CHECKED_KINDS:
                problems += object_errors(inputs, "main")
    return problems


def outcome(component: str, path: tuple[str | int, ...], inputs: dict[str, Any]) -> None:
    """The property: a ComponentInputError naming the input, or objects the real rules accept."""
    name = schema_name(path)
    try:
        run = run_construct(component, inputs)
    except AwsLimitError as error:  # the rig refused what AWS would: a name or policy the component let through
        pytest.fail(f"{component} {name}: AWS would refuse it: {error}")
    except Exception as error:
        text = str(error) + "".join(getattr(error, "__notes__", []))
        # The component's error, or the SDK's own for a required input or an enum it cannot map (before ours).
        assert (
            "invalid inputs" in text and (f"{name} = " in text or f"{name}[" in text or f"{name}." in text)
        ) or name.split(".")[-1].split("[")[0] in text, (component, name, text[:500])
        return
    assert accepted_by_the_real_rules(run) == [], (component, name)


CASES = [(component, path, spec) for component in VALID for path, spec in input_paths(component)]


@settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@given(data=st.data())
def test_each_input_of_each_component_is_refused_by_name_or_makes_valid_objects(data: st.DataObject) -> None:
    component, path, spec = data.draw(st.sampled_from(CASES), label="input")
    value = data.draw(st.sampled_from(WRONG + edge_values(spec)), label="value")
    # Plain inputs are plain in every language's SDK (the schema says so): Outputs go to the others. (An Output
    # for a plain integer crashes the SDK's own construct mapping, `int(Output)`, before any component code runs.)
    how = data.draw(st.sampled_from(["plain"] if spec.get("plain") else ["plain", "known", "secret", "unknown"]))
    base = {key: value for key, value in VALID[component].items() if key != ALTERNATIVES.get(str(path[0]))}
    inputs = place(base, path, wrapped(value, how))
    outcome(component, path, inputs)


def test_the_cases_cover_every_input_in_the_schema() -> None:
    """The generated cases follow the schema: a new input is probed without a test change."""
    for component in VALID:
        declared = set(SCHEMA["resources"][TOKEN + component]["inputProperties"])
        assert {path[0] for owner, path, _ in CASES if owner == component} == declared
