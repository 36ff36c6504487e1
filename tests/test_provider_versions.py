"""Every resource and invoke the library and program send names its provider package's version.

Without one, the engine serves the request from a default provider of whatever plugin version it finds (pulumi/pulumi
pkg/resource/deploy/source_eval.go `ReadResource` / `RegisterResource`: `parseProviderRequest(t.Package(),
req.GetVersion(), ...)`), a second default provider beside the versioned one when the caller's own program does not
use pulumi-kubernetes (a YAML or TypeScript consumer of the component package).
"""

from __future__ import annotations

import runpy
import sys
from importlib.metadata import version

import pytest

from program.config import PROJECT_ROOT
from tests.conftest import RunStack
from tests.support.fake_aws import FakeAwsMocks

PACKAGE_VERSIONS = {"aws": version("pulumi_aws"), "kubernetes": version("pulumi_kubernetes")}


@pytest.mark.parametrize(
    "overrides",
    [{}, {"createGateway": "true"}, {"kgatewayVersion": "v2.2"}, {"credentialsMode": "irsa", "oidcProvider": "x"}],
    ids=["auto-existing-gateway", "created-gateway", "pinned", "irsa"],
)
def test_every_resource_read_and_invoke_names_its_package_version(
    run_stack: RunStack, recorded: list[tuple[str, str, str]], overrides: dict[str, str]
) -> None:
    if "oidcProvider" in overrides:
        overrides = {**overrides, "oidcProvider": "arn:aws:iam::123456789012:oidc-provider/oidc.eks.example/id/X"}
    run_stack(overrides, mocks=FakeAwsMocks())
    assert any(what == "read" for what, _, _ in recorded)
    for what, type_, sent in recorded:
        package = type_.split(":")[0]
        if package in PACKAGE_VERSIONS:
            assert sent == PACKAGE_VERSIONS[package], f"{what} {type_} sent version {sent!r}"


def test_the_plugin_refuses_a_python_older_than_its_floor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "version_info", (3, 10, 14, "final", 0))
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(PROJECT_ROOT / "provider" / "__main__.py"), run_name="plugin")
    assert "Python 3.11 or newer" in str(stopped.value.code)
    assert "PULUMI_PYTHON_CMD" in str(stopped.value.code)
