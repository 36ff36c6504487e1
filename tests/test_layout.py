"""How the tests are laid out, held by a test: fixtures live in `tests/conftest.py` alone; a test module imports
`tests.support.*` and `tests.conftest` and never another test module; `tests/support` imports only itself (it sits
below the fixtures, so a fixture can use any of it and nothing in it depends on a test)."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import TESTS

SUPPORT = "tests.support"


def imports_from_tests(source: str) -> list[str]:
    """Every module under `tests` the source imports, wherever the import statement is (top level or in a body)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module is not None:
            names = [node.module] if node.module != "tests" else [f"tests.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [name for name in names if name == "tests" or name.startswith("tests.")]
    return found


def is_support(module: str) -> bool:
    return module == SUPPORT or module.startswith(SUPPORT + ".")


def forbidden_imports(path: Path, source: str) -> list[str]:
    """What `path` (a file under tests/) imports that its place in the layout does not allow."""
    inside_support = path.parent.name == "support"
    allowed = is_support if inside_support else (lambda module: is_support(module) or module == "tests.conftest")
    if path.name == "conftest.py":
        allowed = is_support
    where = path.relative_to(TESTS.parent)
    return sorted(f"{where} imports {module}" for module in imports_from_tests(source) if not allowed(module))


def fixtures_defined(source: str) -> list[str]:
    """Functions the source decorates with `pytest.fixture` (called or not)."""
    names = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                if ast.unparse(target) in ("pytest.fixture", "fixture"):
                    names.append(node.name)
    return names


def python_files() -> list[Path]:
    return sorted([*TESTS.glob("*.py"), *(TESTS / "support").glob("*.py")])


def test_no_test_module_imports_another_and_support_imports_only_itself() -> None:
    problems = [problem for path in python_files() for problem in forbidden_imports(path, path.read_text())]
    assert problems == []


def test_fixtures_are_defined_only_in_conftest() -> None:
    elsewhere = {
        str(path.relative_to(TESTS.parent)): names
        for path in python_files()
        if path.name != "conftest.py" and (names := fixtures_defined(path.read_text()))
    }
    assert elsewhere == {}
    assert {"aws", "run_stack"} <= set(fixtures_defined((TESTS / "conftest.py").read_text()))


def test_the_rules_refuse_what_they_are_meant_to() -> None:
    """The checks bite: each kind of import and fixture the layout forbids is found, wherever it is written."""
    a_test = TESTS / "test_example.py"
    a_support_module = TESTS / "support" / "example.py"
    crossing = (
        "from tests.test_moto_deploy import aws\n"
        "def f() -> None:\n    import tests.test_config\n"
        "from tests import test_day2\n"
    )
    assert forbidden_imports(a_test, crossing) == [
        "tests/test_example.py imports tests.test_config",
        "tests/test_example.py imports tests.test_day2",
        "tests/test_example.py imports tests.test_moto_deploy",
    ]
    assert (
        forbidden_imports(a_test, "from tests.support.lifecycle import MotoDeployment\nimport tests.conftest\n") == []
    )
    assert forbidden_imports(a_support_module, "from tests.conftest import RunStack\n") == [
        "tests/support/example.py imports tests.conftest"
    ]
    assert forbidden_imports(TESTS / "conftest.py", "from tests.test_golden import render\n") == [
        "tests/conftest.py imports tests.test_golden"
    ]
    assert fixtures_defined("import pytest\n@pytest.fixture(scope='module')\ndef a() -> int:\n    return 1\n") == ["a"]
    assert fixtures_defined("from pytest import fixture\n@fixture\ndef b() -> int:\n    return 1\n") == ["b"]
