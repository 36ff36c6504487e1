"""One home for each config key: program/keys.py. Everything else that knows a key is derived from it."""

from __future__ import annotations

from pathlib import Path

import pytest
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


def test_the_key_tables_are_generated_from_the_registry() -> None:
    """docs/configuration.md's full table and the README's common keys: stale text fails here."""
    configuration = keys.CONFIGURATION_DOC.read_text()
    assert keys.with_key_table(configuration) == configuration, "run `python -m tools keys --write`"
    readme = keys.README.read_text()
    assert keys.with_common_key_table(readme) == readme, "run `python -m tools keys --write`"


def test_keys_write_updates_both_documents_and_a_second_run_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    configuration, readme = tmp_path / "configuration.md", tmp_path / "README.md"
    configuration.write_text(f"# Configuration\n\n{keys.TABLE_BEGIN}| stale |\n{keys.TABLE_END}\n\nMore.\n")
    readme.write_text(f"# Title\n\n{keys.COMMON_BEGIN}{keys.COMMON_END}\n\nEnd.\n")
    monkeypatch.setattr(keys, "CONFIGURATION_DOC", configuration)
    monkeypatch.setattr(keys, "README", readme)
    keys.write_key_tables()
    first = configuration.read_text(), readme.read_text()
    assert first[0] == f"# Configuration\n\n{keys.TABLE_BEGIN}{keys.key_table()}{keys.TABLE_END}\n\nMore.\n"
    assert first[1] == f"# Title\n\n{keys.COMMON_BEGIN}{keys.common_key_table()}{keys.COMMON_END}\n\nEnd.\n"
    keys.write_key_tables()
    assert (configuration.read_text(), readme.read_text()) == first


def test_a_document_without_the_markers_is_refused() -> None:
    with pytest.raises(ValueError, match=r"configuration\.md lacks the markers <!-- config-keys:begin"):
        keys.with_key_table("# Configuration\n")
    with pytest.raises(ValueError, match=r"README\.md lacks the markers <!-- common-keys:begin"):
        keys.with_common_key_table("# Title\n")


def test_the_common_keys_are_keys_of_the_registry() -> None:
    names = {key.name for key in KEYS}
    assert set(keys.COMMON_KEYS) <= names and len(set(keys.COMMON_KEYS)) == len(keys.COMMON_KEYS)
    rows = keys.common_key_table().splitlines()[2:]
    assert [row.split("`")[1] for row in rows] == list(keys.COMMON_KEYS)
    assert "| `kgatewayVersion` | `auto` |" in keys.common_key_table()


def test_an_entry_only_key_is_refused_at_the_top_level() -> None:
    """`routeFunction` is a field of `routes` entries; set flat, the program would ignore it, so it is refused."""
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
    row = next(line for line in keys.key_table(extended).splitlines() if "coldStartBudget" in line)
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
    assert done.stdout == keys.key_table()
    assert done.stdout.count("\n") == len(KEYS) + 2
