"""The Pulumi CLI's config rules, as the offline engine applies them: every stack passes, and the rig refuses what
the real CLI refuses, with the CLI's own message (see tools.pulumi_cli for the source of each rule)."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from program.config import PROJECT_ROOT
from tests.conftest import run_tools
from tools.engine import stack_config
from tools.plan import plan
from tools.pulumi_cli import Project, PulumiCliError, StackValue, load_project, merge_config, read_stack_file

# The CLI's own JSON Schema for Pulumi.yaml (tests/data/SOURCES.md).
PROJECT_SCHEMA = PROJECT_ROOT / "tests" / "data" / "pulumi-project.schema.json"
STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in (PROJECT_ROOT / "stacks").glob("*.yaml"))


def test_pulumi_yaml_validates_against_the_clis_own_schema() -> None:
    schema = json.loads(PROJECT_SCHEMA.read_text())
    project = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())
    jsonschema.Draft202012Validator(schema).validate(project)
    broken = {**project, "runtime": {"name": "python", "optionz": {}}}
    assert list(jsonschema.Draft202012Validator(schema).iter_errors(broken))  # the schema check can fail


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_passes_the_cli_preflight(stack: str) -> None:
    config, _ = stack_config(stack)
    assert config["kgateway-lambda:functionName"]


def write_stack(tmp_path: Path, text: str, name: str = "fresh") -> Path:
    (tmp_path / f"Pulumi.{name}.yaml").write_text(text)
    return tmp_path


def test_a_new_stack_with_only_a_region_passes_and_plans(tmp_path: Path) -> None:
    stacks = write_stack(tmp_path, "config:\n  aws:region: eu-central-1\n")
    run = plan("fresh", stacks_dir=stacks)
    assert run.one("aws:lambda/function:Function").inputs["name"] == "echo"


def project(**config: dict[str, Any]) -> Project:
    return Project(name="kgateway-lambda", config=config, stack_config_dir="stacks")


def test_a_declared_key_without_default_is_required_as_the_cli_says() -> None:
    """What broke every stack before: typed keys with neither `default` nor `value`."""
    optional = project(accountId={"type": "string"}, functionName={"type": "string", "default": "echo"})
    with pytest.raises(PulumiCliError, match=r"^Stack 'dev' is missing configuration value 'accountId'$"):
        merge_config("dev", optional, {})
    two = project(qualifier={"type": "string"}, accountId={"type": "string"}, alias={"type": "string"})
    with pytest.raises(
        PulumiCliError, match=r"^Stack 'dev' is missing configuration values 'accountId', 'alias' and 'qualifier'$"
    ):
        merge_config("dev", two, {})
    # Another namespace's key without a value is not required (mergeConfig only requires project keys).
    region: dict[str, dict[str, Any]] = {"aws:region": {"value": "us-east-1"}}
    assert merge_config("dev", project(**region), {})["aws:region"].text == "us-east-1"


def test_values_of_the_wrong_type_fail_with_the_clis_message(tmp_path: Path) -> None:
    real = load_project(PROJECT_ROOT / "Pulumi.yaml")
    cases = {
        "memorySize: abc": "memorySize' must be of type 'integer'",
        "memorySize: 128.0": "memorySize' must be of type 'integer'",  # the CLI parses the text with strconv.Atoi
        "memorySize: [1]": "memorySize' must be of type 'integer'",
        "waitForAcceptance: True": "waitForAcceptance' must be of type 'boolean'",  # only `true`/`false`
        "waitForAcceptance: yes": "waitForAcceptance' must be of type 'boolean'",
        "functionName: {a: 1}": "functionName' must be of type 'string'",
    }
    for line, message in cases.items():
        stacks = write_stack(tmp_path, f"config:\n  aws:region: us-east-1\n  kgateway-lambda:{line}\n")
        with pytest.raises(PulumiCliError, match=f"^Stack 'fresh' with configuration key '{message}$"):
            merge_config("fresh", real, read_stack_file(stacks / "Pulumi.fresh.yaml"))
    fine = write_stack(
        tmp_path, "config:\n  kgateway-lambda:memorySize: '256'\n  kgateway-lambda:createGateway: false\n"
    )
    merged = merge_config("fresh", real, read_stack_file(fine / "Pulumi.fresh.yaml"))
    assert merged["kgateway-lambda:memorySize"].text == "256"


def test_typed_arrays_check_their_items() -> None:
    typed = project(names={"type": "array", "items": {"type": "string"}, "default": ["a"]})
    stack = {"kgateway-lambda:names": read_value("[1, 2]")}
    with pytest.raises(PulumiCliError, match=r"'names' must be of type 'array<string>'$"):
        merge_config("dev", typed, stack)
    assert merge_config("dev", typed, {"kgateway-lambda:names": read_value("[a, b]")})


def read_value(text: str) -> StackValue:
    return read_stack_file(write_tmp(f"config:\n  kgateway-lambda:names: {text}\n"))["kgateway-lambda:names"]


def write_tmp(text: str) -> Path:
    path = Path(tempfile.mkdtemp()) / "Pulumi.x.yaml"
    path.write_text(text)
    return path


def test_a_secret_key_must_be_stored_encrypted() -> None:
    secret = project(token={"type": "string", "secret": True, "default": "x"})
    with pytest.raises(
        PulumiCliError, match=r"^Stack 'dev' with configuration key 'token' must be encrypted as it's secret$"
    ):
        merge_config(
            "dev", secret, {"kgateway-lambda:token": read_stack_file(write_tmp("config:\n  p:t: plain\n"))["p:t"]}
        )
    encrypted = read_stack_file(write_tmp("config:\n  p:t:\n    secure: v1:abc\n"))["p:t"]
    assert encrypted.secure
    assert merge_config("dev", secret, {"kgateway-lambda:token": encrypted})


def test_values_reach_the_program_as_the_cli_hands_them() -> None:
    """Scalars as their source text (an unquoted account id keeps its leading zero); empty is "", never "None"."""
    values = read_stack_file(
        write_tmp(
            "config:\n  p:account: 012345678901\n  p:flag: true\n  p:empty:\n  p:list: [1, yes, '2']\n"
            "  p:config:name: x\n"
        )
    )
    assert values["p:account"].text == "012345678901"
    assert values["p:flag"].text == "true"
    assert values["p:empty"].text == ""
    assert json.loads(values["p:list"].text) == [1, "yes", "2"]  # YAML 1.2: `yes` is a string
    assert values["p:name"].text == "x"  # the old `<namespace>:config:<name>` form


def test_stack_file_mistakes_are_refused_with_where_they_are() -> None:
    with pytest.raises(PulumiCliError, match=r"could not parse functionName as a configuration key"):
        read_stack_file(write_tmp("config:\n  functionName: echo\n"))
    with pytest.raises(PulumiCliError, match=r'Pulumi.x.yaml:3:3: mapping key "p:a" already defined at line 2'):
        read_stack_file(write_tmp("config:\n  p:a: 1\n  p:a: 2\n"))
    with pytest.raises(PulumiCliError, match=r"Pulumi.x.yaml:2:\d+: invalid YAML"):
        read_stack_file(write_tmp("config:\n\tp:a: 1\n"))
    with pytest.raises(PulumiCliError, match=r"`config` must be a mapping"):
        read_stack_file(write_tmp("config:\n  - p:a\n"))
    with pytest.raises(PulumiCliError, match=r"a stack file must be a mapping"):
        read_stack_file(write_tmp("- config\n"))
    with pytest.raises(PulumiCliError, match=r"Pulumi.x.yaml:3:1: invalid YAML: expected ',' or ']'"):
        read_stack_file(write_tmp("config:\n  p:a: [1, 2\n"))  # an unclosed bracket: where YAML noticed


def test_project_declarations_follow_project_validate(tmp_path: Path) -> None:
    cases = {
        "names: {type: array}": "declares an array but does not specify the underlying type",
        "size: {type: integer, default: big}": "default value specified for configuration key 'size' is not of",
        "aws:region: {type: string, value: x}": "is not namespaced by the project and should not define a type",
        "aws:region: {default: x}": "should not define a default value",
        "aws:region: {description: x}": "is namespaced and must provide an attribute 'value'",
    }
    for line, message in cases.items():
        (tmp_path / "Pulumi.yaml").write_text(f"name: kgateway-lambda\nruntime: python\nconfig:\n  {line}\n")
        with pytest.raises(PulumiCliError, match=message):
            load_project(tmp_path / "Pulumi.yaml")


def test_plan_refuses_with_the_clis_message(tmp_path: Path) -> None:
    write_stack(tmp_path, "config:\n  aws:region: us-east-1\n  kgateway-lambda:gatewayPort: http\n", "rig-wrong-type")
    done = run_tools("plan", "--stack", "rig-wrong-type", "--stacks-dir", str(tmp_path))
    assert done.returncode == 2
    assert "Stack 'rig-wrong-type' with configuration key 'gatewayPort' must be of type 'integer'" in done.stderr


def test_the_shipped_crds_are_the_upstream_files_as_copied() -> None:
    """program/crds are byte copies of upstream files: each one's SHA-256 is recorded in its SOURCES.md, whose
    UPSTREAM.md names the repository, path and commit; nothing outside the repository is read."""
    from program.crd_validation import CRDS

    recorded = dict(re.findall(r"^\| `([^`]+\.yaml)` \| `([0-9a-f]{64})` \|$", (CRDS / "SOURCES.md").read_text(), re.M))
    shipped = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in CRDS.glob("*.yaml")}
    assert len(shipped) == 24
    assert recorded == shipped
    upstream = (CRDS / "UPSTREAM.md").read_text()
    for name in shipped:
        line = name.split("-")[1]  # v2.0.0, v2.2.x, main, ...
        assert line in upstream, name
