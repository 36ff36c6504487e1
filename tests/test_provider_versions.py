"""Every resource and invoke the library and program send names its provider package's version.

Without one, the engine serves the request from a default provider of whatever plugin version it finds (pulumi/pulumi
pkg/resource/deploy/source_eval.go `ReadResource` / `RegisterResource`: `parseProviderRequest(t.Package(),
req.GetVersion(), ...)`), a second default provider beside the versioned one when the caller's own program does not
use pulumi-kubernetes (a YAML or TypeScript consumer of the component package).
"""

from __future__ import annotations

import ast
import inspect
import re
import runpy
import sys
import tomllib
from importlib import import_module
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


# --- pulumi: the one minor the component package's server is tested with ----------------------------------------

# Every name components/provider.py takes from pulumi that is not API (a leading underscore), and what it relies on:
# the overrides are static methods called with these parameters, the options are read from the provider instance.
PRIVATE_PULUMI_NAMES = {
    "pulumi.provider.server.ProviderServicer._construct_inputs": ["inputs", "input_dependencies"],
    "pulumi.provider.server.ProviderServicer._construct_options": ["request"],
    "pulumi.runtime._grpc_settings._GRPC_CHANNEL_OPTIONS": None,
    "self._component_defs": None,  # ComponentProvider's: the analyzed components by name
    "self._name": None,  # ComponentProvider's: the package name
}


def private_pulumi_names_used() -> set[str]:
    """What components/provider.py uses of pulumi that starts with an underscore (read from its source)."""
    tree = ast.parse((PROJECT_ROOT / "components" / "provider.py").read_text(encoding="utf-8"))
    imported: dict[str, str] = {}
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("pulumi"):
            for alias in node.names:
                imported[alias.asname or alias.name] = node.module
                if alias.name.startswith("_") or any(part.startswith("_") for part in node.module.split(".")):
                    used.add(f"{node.module}.{alias.name}")
    own = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)}
    own |= {
        t.attr for n in ast.walk(tree) if isinstance(n, ast.Assign) for t in n.targets if isinstance(t, ast.Attribute)
    }
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__"):
            continue
        if node.value.id in imported:
            used.add(f"{imported[node.value.id]}.{node.value.id}.{node.attr}")
        elif node.value.id == "self" and node.attr not in own:
            used.add(f"self.{node.attr}")
    return used


def test_the_pin_allows_only_the_pulumi_minor_the_private_overrides_are_tested_with() -> None:
    """An upgrade of pulumi is a deliberate act: pyproject.toml allows one minor, the one installed and pinned."""
    dependencies = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    (spec,) = [d for d in dependencies if re.match(r"pulumi\b(?!-)", d)]
    bounds = re.fullmatch(r"pulumi>=(\d+)\.(\d+)\.(\d+),<(\d+)\.(\d+)", spec)
    assert bounds, f"{spec!r}: expected pulumi>=X.Y.Z,<X.Y+1 (one minor: components/provider.py)"
    major, minor, _, upper_major, upper_minor = (int(part) for part in bounds.groups())
    assert (upper_major, upper_minor) == (major, minor + 1), spec
    for pinned_in in ("requirements.txt", "provider/requirements.txt", "examples/python/requirements.txt"):
        text = (PROJECT_ROOT / pinned_in).read_text()
        pinned = re.search(r"^pulumi==(\d+)\.(\d+)\.\d+$", text, re.MULTILINE)
        assert pinned and (int(pinned[1]), int(pinned[2])) == (major, minor), pinned_in
    installed = [int(part) for part in version("pulumi").split(".")[:2]]
    assert installed == [major, minor], f"pulumi {version('pulumi')} installed, {spec} tested"


def test_every_private_pulumi_name_the_provider_uses_is_listed_and_exists() -> None:
    assert private_pulumi_names_used() == set(PRIVATE_PULUMI_NAMES)
    from components import COMPONENTS
    from components.provider import ComponentPackage

    provider = ComponentPackage(list(COMPONENTS), "kgateway-lambda", None, "0.0.0")
    for name, parameters in PRIVATE_PULUMI_NAMES.items():
        if name.startswith("self."):
            assert hasattr(provider, name.removeprefix("self.")), name
            continue
        module_name, _, attribute = name.rpartition(".")
        try:
            owner: object = import_module(module_name)
        except ModuleNotFoundError:  # a class of a module
            module_name, _, class_name = module_name.rpartition(".")
            owner = getattr(import_module(module_name), class_name)
        assert hasattr(owner, attribute), name
        if parameters is not None:
            assert list(inspect.signature(getattr(owner, attribute)).parameters) == parameters, name
