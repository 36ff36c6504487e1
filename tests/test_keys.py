"""One home for each config key: program/keys.py. Everything else that knows a key is derived from it."""

from __future__ import annotations

import yaml

from program import config, keys
from program.config import PROJECT_ROOT
from program.keys import KEYS, Key
from tests.support.commands import run_tools


def test_pulumi_yaml_declares_exactly_the_registrys_keys_with_a_default() -> None:
    declared = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())["config"]
    assert declared == keys.pulumi_yaml_config()


def test_the_config_reader_knows_exactly_the_registrys_keys() -> None:
    assert keys.defaults() == config.DEFAULTS
    assert keys.function_fields() == config.FUNCTION_FIELDS
    assert keys.route_fields() == config.ROUTE_FIELDS
    assert {key.name for key in KEYS if key.flat} == config.KNOWN_KEYS


def test_the_readme_table_is_generated_from_the_registry() -> None:
    readme = keys.README.read_text()
    assert keys.with_readme_table(readme) == readme, "run `python -m tools keys --write`"


def test_an_entry_only_key_is_refused_at_the_top_level() -> None:
    """`routeFunction` is a field of `routes` entries; set flat, the program would ignore it, so it is refused."""
    import pytest

    base = {"aws:region": "us-east-1", "kgateway-lambda:routeFunction": "echo"}
    with pytest.raises(config.ConfigError, match=r"kgateway-lambda:routeFunction = 'echo': is not a key of"):
        config.load_settings(config.MappingConfigSource(base))


def test_a_key_added_in_one_place_reaches_every_derived_fact() -> None:
    added = Key(
        "coldStartBudget", "Milliseconds a cold start may take", "a whole number of ms", default="500",
        type="integer", function_field="coldStartBudget",
    )  # fmt: skip
    extended = (*KEYS, added)
    assert keys.defaults(extended)["coldStartBudget"] == "500"
    assert keys.function_fields(extended)["coldStartBudget"] == "coldStartBudget"
    assert keys.pulumi_yaml_config(extended)["coldStartBudget"] == {
        "type": "integer",
        "default": 500,
        "description": "Milliseconds a cold start may take",
    }
    row = next(line for line in keys.readme_table(extended).splitlines() if "coldStartBudget" in line)
    assert row == "| `coldStartBudget` | `500` | a whole number of ms | `functions[].coldStartBudget` |"
    assert "coldStartBudget" not in keys.defaults()  # the registry itself is unchanged


def test_optional_and_secret_keys_are_never_declared_in_pulumi_yaml() -> None:
    """The CLI refuses a stack without a declared key that has no default; key material is never a default."""
    for key in KEYS:
        assert key.declared == (key.default is not None)
        if key.secret:
            assert not key.declared, key.name
    assert keys.secret_keys() == {
        "accessKeyId",
        "secretAccessKey",
        "sessionToken",
        "providedApiKeys",
        "secretEnvironment",
    }


def test_the_keys_command_prints_the_table() -> None:
    done = run_tools("keys")
    assert done.returncode == 0
    assert done.stdout == keys.readme_table()
    assert done.stdout.count("\n") == len(KEYS) + 2
