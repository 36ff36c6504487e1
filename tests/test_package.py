"""The components as a package: the schema Pulumi infers from them, the wheel Python users install, and the reuse
examples (Python, Pulumi YAML, TypeScript) checked against the schema. The construct path other languages use, through
the plugin's provider server: tests/test_construct.py."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from components.tokens import PACKAGE
from tests.support import TESTS
from tests.support.fake_aws import ACCOUNT, FakeAwsMocks
from tests.support.programs import run_text
from tools.engine import reveal, run_program
from tools.schema import package_provider, reference_markdown

ROOT = TESTS.parent
TOKEN = f"{PACKAGE}:index:"


def test_schema_is_a_valid_pulumi_package(schema: dict[str, Any]) -> None:
    # JSON Schema patterns are ECMA-262, whose named groups `(?<n>` Python's re spells `(?P<n>`.
    metaschema = json.loads((TESTS / "data" / "pulumi-package-metaschema.json").read_text().replace("(?<", "(?P<"))
    validator = jsonschema.Draft202012Validator(metaschema)
    assert [e.message for e in validator.iter_errors(schema)] == []
    broken = json.loads(json.dumps(schema))
    broken["types"][f"{TOKEN}Runtime"]["enum"][0]["description"] = None  # what an undocumented enum value gives
    broken["resources"]["not a token"] = {}
    assert len(list(validator.iter_errors(broken))) >= 2


def properties_of(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for token, resource in schema["resources"].items():
        found += [(token, name, spec) for name, spec in resource["inputProperties"].items()]
        found += [(token, name, spec) for name, spec in resource["properties"].items()]
    for token, spec in schema["types"].items():
        found += [(token, name, prop) for name, prop in spec.get("properties", {}).items()]
        found += [(token, str(value["value"]), value) for value in spec.get("enum", [])]
    return found


def test_every_input_output_and_choice_is_described(schema: dict[str, Any]) -> None:
    undescribed = [(token, name) for token, name, spec in properties_of(schema) if not spec.get("description")]
    assert undescribed == []
    assert set(schema["resources"]) == {
        f"{TOKEN}{name}"
        for name in (
            "LambdaGatewayRoute",
            "LambdaFunction",
            "ExecutionRole",
            "GatewayCredentials",
            "LambdaBackend",
            "LambdaRoute",
        )
    }


def test_required_inputs_and_closed_choices(schema: dict[str, Any]) -> None:
    resources = schema["resources"]
    assert resources[f"{TOKEN}LambdaGatewayRoute"].get("requiredInputs", []) == []
    # `code` is required of a Zip function only (an Image has imageUri): the component checks it.
    assert sorted(resources[f"{TOKEN}LambdaFunction"]["requiredInputs"]) == ["functionName"]
    assert resources[f"{TOKEN}GatewayCredentials"]["requiredInputs"] == ["functions"]
    assert resources[f"{TOKEN}LambdaBackend"]["requiredInputs"] == ["functionName"]
    assert sorted(resources[f"{TOKEN}LambdaRoute"]["requiredInputs"]) == ["backendName", "path"]
    assert resources[f"{TOKEN}LambdaFunction"]["inputProperties"]["code"]["$ref"] == "pulumi.json#/Archive"
    enums = {
        token.rsplit(":", 1)[1]: [v["value"] for v in spec["enum"]]
        for token, spec in schema["types"].items()
        if "enum" in spec
    }
    assert enums == {
        "Runtime": ["nodejs24.x", "nodejs22.x", "python3.14", "python3.13", "python3.12"],
        "PackageType": ["Zip", "Image"],
        "Architecture": ["arm64", "x86_64"],
        "KgatewayRelease": ["auto", "v2.0", "v2.1", "v2.2", "v2.3", "v2.4", "main"],
        "InvocationMode": ["Sync", "Async"],
        "PayloadTransformMode": ["None", "Envoy"],
        "PathMatch": ["PathPrefix", "Exact", "RegularExpression"],
        "CredentialsMode": ["generated", "provided", "irsa", "assume-role"],
        "JwksBackendKind": ["Service", "Backend"],
    }
    route = schema["types"][f"{TOKEN}RouteOptions"]
    assert route["required"] == ["path"] and route["properties"]["match"]["$ref"] == f"#/types/{TOKEN}PathMatch"


def test_the_library_imports_nothing_of_the_program_or_the_tools() -> None:
    ours = ("components", "program", "tools")
    for path in sorted((ROOT / "components").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 1 or (node.module or "").split(".")[0] not in ours, path
            if isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] not in ours for a in node.names), path


def test_the_docs_reference_is_generated_from_the_schema(schema: dict[str, Any]) -> None:
    document = (ROOT / "docs" / "reference.md").read_text()
    section = document.split("<!-- components reference: generated by `python -m tools schema --markdown` -->\n", 1)[1]
    assert section.split("<!-- end of components reference -->", 1)[0] == reference_markdown(schema)


# --- instances side by side ------------------------------------------------------------------------------------
# (The construct path, how `pulumi package add` users' stacks reach the components: tests/test_construct.py.)


@pytest.mark.parametrize(("mode", "own"), [("generated", "aws-creds"), ("irsa", "irsa")])
def test_two_instances_in_one_namespace_do_not_collide(tmp_path: Path, mode: str, own: str) -> None:
    program = f"""
import pulumi
from components import LambdaGatewayRoute
for name in ("orders", "invoices"):
    credentials = {{"mode": "{mode}", "oidc_provider": "https://oidc.example/id/X"}} if "{mode}" == "irsa" else {{}}
    LambdaGatewayRoute(name, {{"function": {{"function_name": name, "code": pulumi.FileArchive("x")}},
                              "credentials": credentials}})
"""
    resources = run_text(tmp_path, "two", program)
    kube = [
        (r.type, reveal(r.inputs)["metadata"]) for r in resources if r.type.startswith("kubernetes:") and not r.read_id
    ]
    identities = [(kind, meta["namespace"], meta["name"]) for kind, meta in kube]
    assert len(kube) == 6 and len(set(identities)) == len(identities), identities
    assert {name for _, _, name in identities} == {"orders", "invoices", f"orders-{own}", f"invoices-{own}"}


# --- the wheel and the examples ---------------------------------------------------------------------------------


def test_the_wheel_installs_the_library_alone_and_the_python_example_runs_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "components", source / "components", ignore=shutil.ignore_patterns("__pycache__"))
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", str(source), "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist")],
        check=True,
        timeout=120,
    )
    (wheel,) = (tmp_path / "dist").glob("kgateway_lambda-*.whl")
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(tmp_path / "site"), str(wheel)], check=True, timeout=120
    )
    installed = sorted(p.name for p in (tmp_path / "site").iterdir() if not p.name.endswith(".dist-info"))
    assert installed == ["kgateway_lambda"]

    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    run = run_program(FakeAwsMocks(), {"aws:region": "eu-west-1"}, program=ROOT / "examples" / "python" / "__main__.py")
    import kgateway_lambda

    assert Path(kgateway_lambda.__file__).is_relative_to(tmp_path / "site")
    functions = {reveal(r.inputs)["name"]: r for r in run.by_type("aws:lambda/function:Function")}
    assert sorted(functions) == ["echo-prod", "echo-staging"]
    providers = {r.urn: r.name for r in run.resources if r.type.startswith("pulumi:providers:")}
    assert {providers[f.provider.rsplit("::", 1)[0]] for f in functions.values()} == {"aws-staging", "aws-prod"}
    orders = next(
        r
        for r in run.by_type("kubernetes:gateway.kgateway.dev/v1alpha1:Backend")
        if reveal(r.inputs)["metadata"]["name"] == "orders"
    )
    assert reveal(orders.inputs)["spec"]["aws"]["lambda"]["accountId"] == "210987654321"  # the function's own account
    (policy,) = [
        json.loads(p.inputs["policy"]) for p in run.by_type("aws:iam/policy:Policy") if p.name.startswith("orders")
    ]
    orders_arn = "arn:aws:lambda:eu-west-1:210987654321:function:orders"
    assert policy["Statement"][0]["Resource"] == [f"{orders_arn}:$LATEST"]
    assert not any(reveal(r.inputs).get("name") == "orders" for r in run.by_type("aws:lambda/function:Function"))
    assert ACCOUNT not in json.dumps(reveal(orders.inputs))


ARCHIVE = {"__archive__": True}


def check(value: Any, spec: dict[str, Any], schema: dict[str, Any], path: str) -> list[str]:  # noqa: PLR0911
    """What a program sets, against the schema: every property exists, with the right type."""
    if isinstance(value, str) and value.startswith("${"):  # an output of another resource (YAML)
        return []
    ref = spec.get("$ref")
    if ref == "pulumi.json#/Archive":
        return [] if value == ARCHIVE else [f"{path}: expected an archive, got {value!r}"]
    if ref is not None:
        definition = schema["types"][ref.removeprefix("#/types/")]
        if "enum" in definition:
            allowed = [v["value"] for v in definition["enum"]]
            return [] if value in allowed else [f"{path}: {value!r} is not one of {allowed}"]
        return check_object(value, definition.get("properties", {}), definition.get("required", []), schema, path)
    kind = str(spec.get("type"))
    python_types: dict[str, Any] = {
        "string": str,
        "integer": int,
        "boolean": bool,
        "number": (int, float),
        "array": list,
        "object": dict,
    }
    if not isinstance(value, python_types[kind]) or (kind == "integer" and isinstance(value, bool)):
        return [f"{path}: expected {kind}, got {value!r}"]
    if kind == "array":
        return [e for i, item in enumerate(value) for e in check(item, spec["items"], schema, f"{path}[{i}]")]
    if kind == "object":
        item = spec.get("additionalProperties", {"type": "string"})
        return [e for k, v in value.items() for e in check(v, item, schema, f"{path}.{k}")]
    return []


def check_object(
    value: Any, properties: dict[str, Any], required: list[str], schema: dict[str, Any], path: str
) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object, got {value!r}"]
    errors = [f"{path}.{key}: no such property" for key in value if key not in properties]
    errors += [f"{path}.{key}: required" for key in required if key not in value]
    return errors + [
        e for key, v in value.items() if key in properties for e in check(v, properties[key], schema, f"{path}.{key}")
    ]


def resource_errors(token: str, properties: dict[str, Any], schema: dict[str, Any]) -> list[str]:
    resource = schema["resources"].get(token)
    if resource is None:
        return [f"{token}: no such resource in the package"]
    return check_object(properties, resource["inputProperties"], resource.get("requiredInputs", []), schema, token)


def yaml_resources(text: str) -> list[tuple[str, dict[str, Any]]]:
    def archives(node: Any) -> Any:
        if isinstance(node, dict):
            return ARCHIVE if set(node) == {"fn::fileArchive"} else {k: archives(v) for k, v in node.items()}
        return [archives(v) for v in node] if isinstance(node, list) else node

    program = yaml.safe_load(text)
    return [
        (r["type"], archives(r.get("properties", {})))
        for r in program["resources"].values()
        if r["type"].startswith(PACKAGE)
    ]


def typescript_resources(text: str) -> list[tuple[str, dict[str, Any]]]:
    """`new kgatewayLambda.X("name", {...})` calls whose arguments are literals, as JSON (the examples keep them so)."""
    found = []
    for component, source in re.findall(r"new kgatewayLambda\.(\w+)\(\s*\"[^\"]+\",\s*(\{.*?\n\})\);", text, re.S):
        literal = re.sub(r"new pulumi\.asset\.FileArchive\(\"[^\"]*\"\)", '{"__archive__": true}', source)
        literal = re.sub(r"([{,]\s*)([A-Za-z_]\w*):", r'\1"\2":', literal)
        literal = re.sub(r",(\s*[}\]])", r"\1", literal)
        found.append((f"{TOKEN}{component}", json.loads(literal)))
    return found


def test_the_yaml_and_typescript_examples_fit_the_schema(schema: dict[str, Any]) -> None:
    yaml_text = (ROOT / "examples" / "yaml" / "Pulumi.yaml").read_text()
    ts_text = (ROOT / "examples" / "typescript" / "index.ts").read_text()
    programs = {"yaml": yaml_resources(yaml_text), "typescript": typescript_resources(ts_text)}
    for language, resources in programs.items():
        assert resources, language
        for token, properties in resources:
            assert resource_errors(token, properties, schema) == [], language
    # The check can fail: a misspelled property, a wrong type, a value outside an enum.
    (token, properties), *_ = programs["typescript"]
    bad = {
        **properties,
        "backend": {"kgatewayVersion": "v9"},
        "route": [],
        "function": {**properties["function"], "memorySize": "big"},
    }
    assert len(resource_errors(token, bad, schema)) == 3
    for output in re.findall(r"\$\{echo\.(\w+)\}", yaml_text) + re.findall(r"echo\.(\w+);", ts_text):
        assert output in schema["resources"][f"{TOKEN}LambdaGatewayRoute"]["properties"], output


def test_the_documented_examples_are_the_tested_files() -> None:
    document = (ROOT / "docs" / "reference.md").read_text()
    for language, path in (
        ("python", "examples/python/__main__.py"),
        ("yaml", "examples/yaml/Pulumi.yaml"),
        ("typescript", "examples/typescript/index.ts"),
    ):
        text = (ROOT / path).read_text()
        assert f"```{language}\n{text}```" in document, path


def test_the_plugin_serves_these_components() -> None:
    plugin = yaml.safe_load((ROOT / "provider" / "PulumiPlugin.yaml").read_text())
    assert plugin == {"runtime": "python"}
    entry = (ROOT / "provider" / "__main__.py").read_text()
    assert "serve_components(COMPONENTS, name=PACKAGE, version=__version__)" in entry
    assert package_provider().schema is not None


def test_one_version_everywhere(schema: dict[str, Any]) -> None:
    import tomllib

    import components

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == components.__version__ == schema["version"]


def test_required_inputs_are_named_with_when_they_are_required(tmp_path: Path) -> None:
    program = """
from components import GatewayCredentials, LambdaBackend, LambdaFunction
for mode in ("provided", "irsa", "assume-role"):
    try:
        GatewayCredentials(mode, {"functions": [{"function": "echo"}], "mode": mode})
    except Exception as error:
        print(error)
for component in (LambdaBackend, LambdaFunction):
    try:
        component("x", {})
    except Exception as error:
        print(error)
try:  # a Zip function's code (not required of an Image)
    LambdaFunction("y", {"function_name": "y"})
except Exception as error:
    print(error)
"""
    (tmp_path / "required.py").write_text(program)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "required.py")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
        check=True,
    )
    for line in (
        "accessKeyId = (unset): is required when mode is 'provided' (pass it as a secret) (example: a secret)",
        "secretAccessKey = (unset): is required when mode is 'provided'",
        "oidcProvider = (unset): is required when mode is 'irsa'",
        "ambientRoleArn = (unset): is required when mode is 'assume-role'",
        "LambdaBackend 'x': invalid inputs (1 problem(s)):\n  - functionName = (unset): is required (example: echo)",
        "code = (unset): is required: an archive of the function's code "
        "(example: pulumi.FileArchive('lambda_src/echo'))",
    ):
        assert line in done.stdout, line
