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

from program.config import PROJECT_ROOT, ConfigError
from tests.support.commands import run_tools
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
        "memorySize: 128.5": "memorySize' must be of type 'integer'",  # the CLI parses the text with strconv.Atoi
        "memorySize: [1]": "memorySize' must be of type 'integer'",
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
    # `True` is the bool true to yaml.v3, written back as `true`: a boolean by then (`yes` stays a string).
    capital = write_stack(tmp_path, "config:\n  kgateway-lambda:waitForAcceptance: True\n")
    assert (
        merge_config("fresh", real, read_stack_file(capital / "Pulumi.fresh.yaml"))[
            "kgateway-lambda:waitForAcceptance"
        ].text
        == "true"
    )
    # `128.0` is a float to yaml.v3, written back by the CLI's round trip as `128`: an integer by then.
    whole = write_stack(tmp_path, "config:\n  kgateway-lambda:memorySize: 128.0\n")
    assert (
        merge_config("fresh", real, read_stack_file(whole / "Pulumi.fresh.yaml"))["kgateway-lambda:memorySize"].text
        == "128"
    )


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


def test_an_encrypted_value_is_type_checked_once_decrypted() -> None:
    """pkg/workspace/config.go `validateStackConfigValues`: the CLI decrypts, then checks the declared type; a
    `--secret` integer that decrypts to text is refused, one that decrypts to digits passes, and the message never
    shows the plaintext."""
    typed = project(port={"type": "integer", "secret": True, "default": 1})
    encrypted = read_stack_file(write_tmp("config:\n  p:t:\n    secure: v1:abc\n"))["p:t"]
    stack = {"kgateway-lambda:port": encrypted}
    with pytest.raises(PulumiCliError, match=r"^Stack 'dev' with configuration key 'port' must be of type 'integer'$"):
        merge_config("dev", typed, stack, {"kgateway-lambda:port": "not-a-number"})
    # Offline, without its plaintext, the value is left to the real CLI (which has the passphrase).
    assert merge_config("dev", typed, stack)["kgateway-lambda:port"].secure
    assert merge_config("dev", typed, stack, {"kgateway-lambda:port": "8080"})["kgateway-lambda:port"].secure
    listed = project(names={"type": "array", "items": {"type": "integer"}, "default": [1]})
    inner = read_stack_file(write_tmp("config:\n  p:t:\n    - secure: v1:abc\n"))["p:t"]
    assert inner.is_object and inner.secure
    with pytest.raises(PulumiCliError, match="must be of type 'array<integer>'"):
        merge_config("dev", listed, {"kgateway-lambda:names": inner}, {"kgateway-lambda:names[0]": "x"})
    assert merge_config("dev", listed, {"kgateway-lambda:names": inner}, {"kgateway-lambda:names[0]": "7"})


def test_only_explicitly_typed_keys_are_checked() -> None:
    """`IsExplicitlyTyped` gates both checks in the CLI: an untyped `secret: true` key may hold plain text."""
    untyped = project(token={"secret": True, "default": "x"})
    plain = read_stack_file(write_tmp("config:\n  p:t: plain\n"))["p:t"]
    assert merge_config("dev", untyped, {"kgateway-lambda:token": plain})["kgateway-lambda:token"].text == "plain"


def test_values_reach_the_program_as_the_cli_hands_them() -> None:
    """Scalars as yaml.v3 resolves them (an unquoted account id with a leading zero is not octal, so a float, and
    loses its zero: quote it); empty is "", never "None"."""
    values = read_stack_file(
        write_tmp(
            "config:\n  p:account: 012345678901\n  p:flag: true\n  p:empty:\n  p:list: [1, yes, '2']\n"
            "  p:config:name: x\n"
        )
    )
    assert values["p:account"].text == "12345678901"
    assert values["p:flag"].text == "true"
    assert values["p:empty"].text == ""
    assert json.loads(values["p:list"].text) == [1, "yes", "2"]  # YAML 1.2: `yes` is a string
    assert values["p:name"].text == "x"  # the old `<namespace>:config:<name>` form


def test_stack_file_mistakes_are_refused_with_where_they_are() -> None:
    with pytest.raises(PulumiCliError, match=r"could not parse functionName as a configuration key"):
        read_stack_file(write_tmp("config:\n  functionName: echo\n"))  # no project to namespace it with
    with pytest.raises(PulumiCliError, match=r"Pulumi.x.yaml:3:3: p:a is set twice \(with and without its namespace"):
        read_stack_file(write_tmp("config:\n  p:a: 1\n  a: 2\n"), "p")
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
    assert len(shipped) == 33
    assert recorded == shipped
    upstream = (CRDS / "UPSTREAM.md").read_text()
    for name in shipped:
        line = name.split("-")[1]  # v2.0.0, v2.2.x, main, ...
        assert line in upstream, name


# Each plain scalar, and the text the real CLI hands the program for it. The CLI decodes the stack file with
# gopkg.in/yaml.v3 v3.0.1 into Go values and writes them back (sdk/go/common/workspace/loaders.go
# LoadProjectStackBytes; sdk/go/common/resource/config/object.go unmarshalObject and MarshalString), so each row
# follows yaml.v3 resolve.go `resolve` (checked against go-yaml/yaml v3.0.1):
YAML_SCALARS = [
    ("012", "10"),  # ParseInt(_, 0, 64): a leading 0 is octal ("Octals from the 1.1 spec ... still decoded")
    ("0o12", "10"),  # YAML 1.2 octal
    ("1_000", "1000"),  # underscores are removed before ParseInt
    ("+1", "1"),  # the sign is ParseInt's; the int written back without it
    ("-0x1F", "-31"),
    ("0x1F", "31"),  # ParseInt base 0: hex
    ("0b101", "5"),
    (".5", "0.5"),  # hint '.': ParseFloat
    ("1e3", "1000"),  # yamlStyleFloat; json.Marshal writes a float64 with %f below 1e21
    ("1.0", "1"),  # a float, written back by `%g` as 1
    ("1e21", "1e+21"),  # json.Marshal's %e from 1e21 on
    ("0.0000001", "1e-7"),  # ... and below 1e-6, without the padded exponent
    ("08", "8"),  # not octal (8), not an int: yamlStyleFloat matches, so the float 8
    ("012345678901", "12345678901"),  # an account id: the same, it loses its leading zero
    ("99999999999999999999", "100000000000000000000"),  # past uint64: a float
    ("18446744073709551615", "18446744073709551615"),  # ParseUint after ParseInt
    ("True", "true"),  # resolveMap: true/True/TRUE
    ("FALSE", "false"),
    ("yes", "yes"),  # YAML 1.1 booleans are strings in v3 (the encoder quotes them back: isOldBool)
    ("on", "on"),
    ("~", ""),  # null: an empty value (loaders.go checkForEmptyConfig)
    ("null", ""),
    ("1:30", "1:30"),  # base 60 is not supported: a string
    ("2026-11-30", "2026-11-30 00:00:00 +0000 UTC"),  # a timestamp: time.Time, written back by Time.String
    ("2026-11-30T10:20:30.5Z", "2026-11-30 10:20:30.5 +0000 UTC"),
    ("2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.1 -0500 -0500"),  # a zone with no name: its offset
    ("2001-12-14 21:59:43.10", "2001-12-14 21:59:43.1 +0000 UTC"),  # space form: no zone, UTC
    ("2026-02-30", "2026-02-30"),  # time.Parse refuses the day: a string
    ("2026-11", "2026-11"),  # not a timestamp layout: a string (the README's credentialsRotation example)
    ("'012'", "012"),  # quoted: always a string
    ("!!str 012", "012"),  # tagged a string
    ("0x", "0x"),  # no digits after the prefix: a string
]


@pytest.mark.parametrize(("written", "handed"), YAML_SCALARS, ids=[w for w, _ in YAML_SCALARS])
def test_a_scalar_reaches_the_program_as_yaml_v3_resolves_it(written: str, handed: str) -> None:
    values = read_stack_file(write_tmp(f"config:\n  p:k: {written}\n"))
    assert values["p:k"].text == handed
    assert not values["p:k"].is_object


def test_objects_are_go_json_of_the_resolved_values() -> None:
    """json.Marshal: keys sorted, no spaces, HTML characters escaped, numbers and times as resolved above."""
    values = read_stack_file(write_tmp("config:\n  p:o: {b: [012, 1.0, yes, 2026-11-30], a: <x&y>, 1: ~}\n"))
    assert values["p:o"].is_object
    assert values["p:o"].text == (
        '{"1":null,"a":"\\u003cx\\u0026y\\u003e","b":[10,1,"yes","2026-11-30 00:00:00 +0000 UTC"]}'
    )


@pytest.mark.parametrize("written", [".nan", ".inf", "-.Inf", "[1, .NaN]"])
def test_nan_and_infinity_cannot_be_loaded(written: str) -> None:
    """config.Value's MarshalString writes numbers with json.Marshal, which refuses NaN and infinities."""
    with pytest.raises(PulumiCliError, match=r"could not load .*: json: unsupported value: (NaN|\+Inf|-Inf)$"):
        read_stack_file(write_tmp(f"config:\n  p:k: {written}\n"))


def test_an_unquoted_account_id_with_a_leading_zero_is_refused_as_the_real_run_would(tmp_path: Path) -> None:
    """The program sees what the CLI hands it: 11 digits, so the offline plan refuses it as `pulumi up` would."""
    write_stack(tmp_path, "config:\n  aws:region: us-east-1\n  kgateway-lambda:accountId: 012345678901\n")
    with pytest.raises(ConfigError, match=r"kgateway-lambda:accountId = '12345678901': must be 12 digits"):
        plan("fresh", stacks_dir=tmp_path)
    write_stack(tmp_path, "config:\n  aws:region: us-east-1\n  kgateway-lambda:accountId: '012345678901'\n")
    assert plan("fresh", stacks_dir=tmp_path).resources


def test_a_function_arn_alone_routes_that_function(tmp_path: Path) -> None:
    """Pulumi.yaml gives functionName its default `echo`, so under the CLI it is always set: an ARN alone must
    still work (the name comes from the ARN), and an explicit other name must still be refused."""
    arn = "arn:aws:lambda:us-east-1:123456789012:function:orders"
    pinned = "  kgateway-lambda:kgatewayVersion: v2.4\n"
    write_stack(tmp_path, f"config:\n  aws:region: us-east-1\n{pinned}  kgateway-lambda:functionArn: {arn}\n")
    config, _ = stack_config("fresh", tmp_path)
    assert config["kgateway-lambda:functionName"] == "echo"  # what the CLI hands over: the declared default
    run = plan("fresh", stacks_dir=tmp_path)
    assert not run.by_type("aws:lambda/function:Function")  # nothing of the function is created
    backend = run.one("kubernetes:gateway.kgateway.dev/v1alpha1:Backend")
    assert "orders" in json.dumps(backend.inputs)
    assert backend.inputs["metadata"]["name"] == "orders"

    write_stack(
        tmp_path,
        f"config:\n  aws:region: us-east-1\n  kgateway-lambda:functionArn: {arn}\n"
        "  kgateway-lambda:functionName: billing\n",
    )
    with pytest.raises(ConfigError, match=r"functionName = 'billing': must be the name in the ARN \(orders\) or unset"):
        plan("fresh", stacks_dir=tmp_path)
    # In a `functions` entry nothing is defaulted: a name there that is not the ARN's is refused, `echo` too.
    entry = json.dumps([{"arn": arn, "name": "echo"}])
    write_stack(tmp_path, f"config:\n  aws:region: us-east-1\n  kgateway-lambda:functions: '{entry}'\n")
    with pytest.raises(ConfigError, match=r"functions\[0\]\.name = 'echo': must be the name in the ARN \(orders\)"):
        plan("fresh", stacks_dir=tmp_path)


def test_a_key_without_a_namespace_is_the_projects(tmp_path: Path) -> None:
    """loaders.go stackConfigNamespacedWithProject: `functionName: orders` in a stack file is the project's key."""
    write_stack(tmp_path, "config:\n  aws:region: us-east-1\n  functionName: orders\n")
    config, _ = stack_config("fresh", tmp_path)
    assert config["kgateway-lambda:functionName"] == "orders"
    assert plan("fresh", stacks_dir=tmp_path).one("aws:lambda/function:Function").inputs["name"] == "orders"


def test_an_unquoted_date_is_refused_with_what_the_program_got_and_the_fix(tmp_path: Path) -> None:
    """`credentialsRotation: 2026-11-30` is a YAML timestamp to yaml.v3: the program gets Go's text for it."""
    write_stack(tmp_path, "config:\n  aws:region: us-east-1\n  kgateway-lambda:credentialsRotation: 2026-11-30\n")
    with pytest.raises(ConfigError) as failure:
        plan("fresh", stacks_dir=tmp_path)
    (problem,) = failure.value.problems
    assert str(problem).startswith("kgateway-lambda:credentialsRotation = '2026-11-30 00:00:00 +0000 UTC': ")
    assert "unquoted date or time in the stack file" in str(problem)
    write_stack(tmp_path, "config:\n  aws:region: us-east-1\n  kgateway-lambda:credentialsRotation: '2026-11-30'\n")
    assert plan("fresh", stacks_dir=tmp_path).resources
