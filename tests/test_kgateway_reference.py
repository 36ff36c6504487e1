"""The hand-transcribed per-release field tables agree with the real CRDs and with the components' version data."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from components.kgateway_api import KGATEWAY_VERSIONS
from tests.conftest import require_crds
from tests.kgateway_reference import BASIS, DOCUMENTED_BACKEND_FIELDS, MAIN, REQUIRED_BACKEND_FIELDS, V2_0


def crd_fields(crd: str) -> dict[str, frozenset[str] | None]:
    """Leaf fields of a Backend CRD's `spec` (without other backend kinds), with their enums."""
    document = yaml.safe_load((require_crds() / f"{crd}-backends.yaml").read_text())
    spec = document["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    fields: dict[str, frozenset[str] | None] = {}

    def walk(node: dict[str, Any], path: str) -> None:
        if "properties" in node:
            for key, sub in node["properties"].items():
                walk(sub, f"{path}.{key}" if path else key)
        else:
            fields[path] = frozenset(node["enum"]) if "enum" in node else None

    walk(spec, "")
    return {path: enum for path, enum in fields.items() if path == "type" or path.startswith("aws.")}


def without_ec2(fields: dict[str, frozenset[str] | None]) -> dict[str, frozenset[str] | None]:
    return {path: enum for path, enum in fields.items() if not path.startswith("aws.ec2.")}


def test_the_tables_of_releases_with_a_crd_equal_that_crd() -> None:
    """v2.0.0 and main: the transcription method reproduces the real CRDs exactly (but `type`'s other kinds)."""
    for version, crd in (("v2.0", V2_0), ("main", MAIN)):
        real = without_ec2(crd_fields(crd))
        assert set(DOCUMENTED_BACKEND_FIELDS[version]) == set(real), version
        for path, allowed in DOCUMENTED_BACKEND_FIELDS[version].items():
            if path != "type":
                assert allowed == real[path], (version, path)
            else:
                enum = real[path]
                assert allowed is not None and enum is not None and allowed <= enum


def test_the_newest_crd_keeps_every_field_of_every_release() -> None:
    """Why the main CRD can stand in for releases without their own: it still has all their fields."""
    main = crd_fields(MAIN)
    for version, fields in DOCUMENTED_BACKEND_FIELDS.items():
        for path, allowed in fields.items():
            assert path in main, (version, path)
            if allowed is not None:
                enum = main[path]
                assert enum is not None and allowed <= enum, (version, path)


def test_v2_0_crd_requires_what_the_table_says() -> None:
    document = yaml.safe_load((require_crds() / f"{V2_0}-backends.yaml").read_text())
    spec = document["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    required = {*spec["required"], *(f"aws.{r}" for r in spec["properties"]["aws"]["required"] if r != "lambda")}
    required |= {f"aws.lambda.{r}" for r in spec["properties"]["aws"]["properties"]["lambda"]["required"]}
    assert required == set(REQUIRED_BACKEND_FIELDS["v2.0"])


@pytest.mark.parametrize("version", list(KGATEWAY_VERSIONS))
def test_component_version_data_agrees_with_the_tables(version: str) -> None:
    kgateway = KGATEWAY_VERSIONS[version]
    fields = DOCUMENTED_BACKEND_FIELDS[version]
    assert kgateway.requires_type_field is ("type" in REQUIRED_BACKEND_FIELDS[version])
    assert kgateway.account_id_on_lambda is ("aws.lambda.accountId" in fields)
    assert kgateway.has_payload_transform_mode is ("aws.lambda.payloadTransformMode" in fields)
    assert kgateway.has_assume_role_auth is ("AssumeRole" in (fields["aws.auth.type"] or ()))
    assert version in BASIS


def test_every_release_line_is_newer_than_the_last() -> None:
    """Versions are listed oldest first: error messages and the upgrade test rely on that order."""
    released = [name for name in KGATEWAY_VERSIONS if name != "main"]
    assert released == sorted(released, key=lambda n: tuple(int(p) for p in n[1:].split(".")))
    assert list(KGATEWAY_VERSIONS)[-1] == "main"
