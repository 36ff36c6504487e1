"""The docs stay true to the repository: every repository path and module they name exists, the README stays a
guide of about 300 lines, and each example folder holds what its runtime needs to run on its own."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import io
import json
import re
import subprocess
import sys
import tokenize
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
import yaml

from program.config import PROJECT, MappingConfigSource, config_text, load_settings

ROOT = Path(__file__).resolve().parent.parent
README_MAX_LINES = 320

# Folders never read: tools' caches, virtualenvs, what `pulumi install` generates in an example.
SKIPPED_DIRS = {"__pycache__", "node_modules", "sdks", "build"}


def doc_files(root: Path = ROOT) -> list[Path]:
    """The Markdown the project ships: the guide and its companions, docs/, and the notes beside upstream copies."""
    named = [root / name for name in ("README.md", "DEVELOPMENT.md", "CHANGELOG.md")]
    globbed = [*root.glob("docs/*.md"), *root.glob("program/crds/*.md"), root / "tests" / "data" / "SOURCES.md"]
    return sorted({path for path in [*named, *globbed] if path.is_file()})


def python_files(root: Path = ROOT) -> list[Path]:
    return sorted(
        path
        for path in root.rglob("*.py")
        if not any(part.startswith(".") or part in SKIPPED_DIRS for part in path.relative_to(root).parts[:-1])
    )


def top_level_names(root: Path = ROOT) -> list[str]:
    """What a path must start with to be read as one of this repository's: its top-level folders and files."""
    names = [p.name for p in root.iterdir() if not p.name.startswith(".") and p.name not in SKIPPED_DIRS]
    return sorted([*names, ".ci"], key=len, reverse=True)


def path_pattern(root: Path = ROOT) -> re.Pattern[str]:
    """`tests/test_docs.py`, `program/crds/`, `stacks/Pulumi.<stack>.yaml`, `.ci/run`: a top-level name, then a path.

    Not preceded by a path or URL character, so `github.com/org/repo/provider@v1` and `../provider` are not ours.
    """
    tops = "|".join(re.escape(name) for name in top_level_names(root) if (root / name).is_dir() or name == ".ci")
    return re.compile(rf"(?<![\w.\-/@:~$])(?:{tops})/[\w.\-/*<>{{}}]*")


MODULE_PATTERN = re.compile(r"(?<![\w./\-`])(?:components|program|tools|tests)(?:\.[A-Za-z_]\w*)+(?![\w/(-])")

# Upstream repositories the docs cite paths of (`pulumi/pulumi-kubernetes` `provider/pkg/...`): a path after one
# of these on the same line is that repository's, not ours.
UPSTREAM_OWNERS = (
    "pulumi",
    "kgateway-dev",
    "kubernetes-sigs",
    "kubernetes",
    "envoyproxy",
    "getmoto",
    "google",
    "cloud-custodian",
    "go-yaml",
    "hashicorp",
    "aws",
)
UPSTREAM_SLUG = re.compile(rf"\b(?:{'|'.join(re.escape(o) for o in UPSTREAM_OWNERS)})/[\w.\-]+")


def _trim(path: str) -> str:
    return path.rstrip(".,;:)`'\"")


def path_exists(path: str, root: Path = ROOT) -> bool:
    """A path exists; one with placeholders (`<stack>`, `{name}`, `*`) must match at least one file or folder."""
    pattern = re.sub(r"<[^>/]*>|\{[^}/]*\}", "*", path)
    if "*" in pattern:
        return any(root.glob(pattern.rstrip("/")))
    return (root / pattern).exists()


def module_resolves(dotted: str) -> bool:
    """`program.config` imports; `program.config.load_settings` is an attribute of an importable module."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        module = ".".join(parts[:end])
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            continue
        if end == len(parts):
            return True
        target: object = importlib.import_module(module)
        for attribute in parts[end:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


def prose_of_python(source: str) -> Iterator[tuple[int, str]]:
    """The docstrings and comments of a Python file, with their line numbers (code and other strings are not)."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            docstring = ast.get_docstring(node, clean=False)
            if docstring is not None and node.body:
                start = node.body[0].lineno
                for offset, line in enumerate(docstring.splitlines()):
                    yield start + offset, line
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            yield token.start[0], token.string


def markdown_links(text: str) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(text.splitlines(), 1):
        for target in re.findall(r"\]\(([^)\s]+)\)", line):
            if not re.match(r"[a-z]+:|#", target):
                yield number, target.split("#", 1)[0]


def stale_references(lines: Iterator[tuple[int, str]], where: str, root: Path = ROOT) -> list[str]:
    """Every repository path or module a text names that does not exist, as `file:line: what`."""
    pattern = path_pattern(root)
    problems = []
    for number, line in lines:
        for match in pattern.finditer(line):
            path = _trim(match.group(0))
            if UPSTREAM_SLUG.search(line[: match.start()]):
                continue
            if not path_exists(path, root):
                problems.append(f"{where}:{number}: {path}")
        for match in MODULE_PATTERN.finditer(line):
            dotted = _trim(match.group(0))
            if not module_resolves(dotted):
                problems.append(f"{where}:{number}: {dotted}")
    return problems


def stale_in_repository(root: Path = ROOT) -> list[str]:
    problems = []
    for doc in doc_files(root):
        text = doc.read_text()
        where = str(doc.relative_to(root))
        problems += stale_references(enumerate(text.splitlines(), 1), where, root)
        for number, target in markdown_links(text):
            if target and not (doc.parent / target).exists():
                problems.append(f"{where}:{number}: link {target}")
    for path in python_files(root):
        problems += stale_references(prose_of_python(path.read_text()), str(path.relative_to(root)), root)
    return problems


# --- every path and module the docs and docstrings name exists -------------------------------------------------


def test_every_path_and_module_named_in_the_docs_and_docstrings_exists() -> None:
    assert stale_in_repository() == []


def test_the_checker_reads_the_places_it_claims_to() -> None:
    docs = {str(p.relative_to(ROOT)) for p in doc_files()}
    assert {"README.md", "DEVELOPMENT.md", "CHANGELOG.md", "docs/reference.md", "tests/data/SOURCES.md"} <= docs
    assert "program/crds/UPSTREAM.md" in docs
    pythons = {str(p.relative_to(ROOT)) for p in python_files()}
    assert {"__main__.py", "tools/engine.py", "tests/test_docs.py", "examples/python/__main__.py"} <= pythons
    assert not any(part.startswith(".") for p in pythons for part in Path(p).parts)


@pytest.mark.parametrize(
    ("text", "stale"),
    [
        # The stale citations this check was written against (README and docstrings before issue 22).
        ("| `tests/crd_schema.py`, `tests/cel_rules.py` (cel-python) |", ["tests/crd_schema.py", "tests/cel_rules.py"]),
        ("(see components.pulumi_cli for the source of each rule)", ["components.pulumi_cli"]),
        ("starts: see components.pulumi_cli. Encrypted", ["components.pulumi_cli"]),
        ("`tools/pulumi_cli.py` `merge_config`, and tools.pulumi_cli.merge_config", []),
        ("tools.pulumi_cli.no_such_rule", ["tools.pulumi_cli.no_such_rule"]),
        ("the golden files (`tests/golden/`) and `program/crds/kgateway-v2.0.0-*`", []),
        ("`lambda_src/<functionSource>/` and `stacks/Pulumi.<stack>.yaml`", []),
        ("`stacks/Pulumi.<stack>.yml`", ["stacks/Pulumi.<stack>.yml"]),
        ("bash .ci/run, then .ci/runs", [".ci/runs"]),
        ("`examples/typescript/package.json`, `docs/reference.md`.", []),
        # Not ours: an upstream repository's path, a URL, a relative path, prose, a domain-like word.
        ("pulumi/pulumi-kubernetes `provider/pkg/await/condition/custom.go`", []),
        ("`pulumi package add github.com/your-org/kgateway-lambda/provider@v0.2.0` or `../../provider`", []),
        ("https://github.com/kgateway-dev/kgateway/tree/main/tests/e2e", []),
        ("the tests. Components, tools.", []),
    ],
)
def test_the_checker_finds_stale_references_and_only_them(text: str, stale: list[str]) -> None:
    found = [problem.split(": ", 1)[1] for problem in stale_references(iter([(1, text)]), "doc")]
    assert found == stale


def test_the_checker_reads_docstrings_and_comments_but_not_code() -> None:
    source = '''"""Module: see tests/gone.py."""
import os  # and tools/gone.py
PATH = "tests/not_prose.py"


def f() -> None:
    """See program.gone."""
'''
    found = [problem.split(": ", 1)[1] for problem in stale_references(prose_of_python(source), "x.py")]
    assert found == ["tests/gone.py", "program.gone", "tools/gone.py"]


def test_a_broken_relative_link_is_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("[ref](docs/reference.md), [dev](DEVELOPMENT.md), [web](https://x.y/z)\n")
    (tmp_path / "docs" / "reference.md").write_text("[back](../README.md)\n")
    assert stale_in_repository(tmp_path) == ["README.md:1: link DEVELOPMENT.md"]


# --- every section a text cites by name exists -------------------------------------------------------------------

SECTION_CITATION = re.compile(r"\b(README(?:'s)?|see) \"([^\"]+)\"")


def headings(markdown: str) -> list[str]:
    return [line.lstrip("#").strip() for line in markdown.splitlines() if re.match(r"#{1,6} ", line)]


def text_files(root: Path = ROOT) -> list[Path]:
    """What can cite a README section: docs, code (messages included), configs and the CI script."""
    kinds = ("*.md", "*.py", "*.yaml", "*.txt", "*.toml")
    found = {p for kind in kinds for p in root.rglob(kind)} | {root / ".ci" / "run"}
    return sorted(
        p
        for p in found
        if p.is_file()
        and not any(part.startswith(".") or part in SKIPPED_DIRS for part in p.relative_to(root).parts[:-1])
    )


def missing_sections(root: Path = ROOT) -> list[str]:
    """`README "Config keys"` must be a heading of README.md, `see "X"` one of the same Markdown file (a citation
    may give a heading's start: "What the offline checks enforce")."""
    readme = headings((root / "README.md").read_text())
    problems = []
    for path in text_files(root):
        text = path.read_text()
        own = headings(text) if path.suffix == ".md" else []
        for number, line in enumerate(text.splitlines(), 1):
            for where, section in SECTION_CITATION.findall(line):
                if where == "see" and path.suffix != ".md":
                    continue
                candidates = own if where == "see" else readme
                if not any(heading.startswith(section) for heading in candidates):
                    problems.append(f'{path.relative_to(root)}:{number}: {where} "{section}"')
    return problems


def test_every_section_cited_by_name_exists() -> None:
    assert missing_sections() == []


def test_a_section_the_readme_no_longer_has_is_found(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text('# Title\n\n## Config keys\n\nsee "Config keys", see "Layout"\n')
    (tmp_path / "provider").mkdir()
    cited = "README" + ' "Use it from another stack"'  # split, so this file cites no section itself
    (tmp_path / "provider" / "PulumiPlugin.yaml").write_text(f"# see {cited}\n")
    (tmp_path / "x.py").write_text("HINT = 'the keys are listed in README \"Config keys\"'\n")
    assert missing_sections(tmp_path) == [
        'README.md:5: see "Layout"',
        f"provider/PulumiPlugin.yaml:1: {cited}",
    ]


# --- the README is a guide ----------------------------------------------------------------------------------------


def test_the_readme_is_a_guide_of_about_300_lines() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail to docs/ or DEVELOPMENT.md"


def test_the_readme_lists_every_config_key_the_program_reads() -> None:
    from program.config import KNOWN_KEYS
    from program.keys import KEYS

    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Config keys", 1)[1].split("\n### ", 1)[0]
    documented = set(re.findall(r"`([A-Za-z]+)`", "".join(re.findall(r"^\| ([^|]+) \|", table, re.M))))
    assert set(KNOWN_KEYS) - documented == set()
    assert "aws:region" in table
    assert documented == {key.name for key in KEYS}  # the flat keys and the entry-only ones (routeFunction)


# --- each example runs on its own ----------------------------------------------------------------------------------

EXAMPLES = ROOT / "examples"


def _project(folder: str) -> dict[str, object]:
    project = yaml.safe_load((EXAMPLES / folder / "Pulumi.yaml").read_text())
    schema = json.loads((ROOT / "tests" / "data" / "pulumi-project.schema.json").read_text())
    jsonschema.validate(project, schema)  # the Pulumi CLI validates Pulumi.yaml against this schema
    assert isinstance(project, dict)
    return project


def _runtime(project: dict[str, object]) -> str:
    runtime = project["runtime"]
    return runtime if isinstance(runtime, str) else str(runtime["name"])  # type: ignore[index]


@pytest.mark.parametrize(
    ("folder", "runtime", "needs"),
    [
        ("python", "python", ["__main__.py", "requirements.txt"]),
        ("typescript", "nodejs", ["index.ts", "package.json", "tsconfig.json"]),
        ("yaml", "yaml", []),
    ],
)
def test_each_example_is_a_project_with_what_its_runtime_needs(folder: str, runtime: str, needs: list[str]) -> None:
    project = _project(folder)
    assert _runtime(project) == runtime
    for name in needs:
        assert (EXAMPLES / folder / name).is_file(), f"examples/{folder}/{name}"
    names = {str(project["name"]) for project in (_project(f) for f in ("python", "typescript", "yaml"))}
    assert len(names) == 3, "each example is a project of its own name"


def test_the_component_package_examples_name_this_repositorys_provider() -> None:
    """YAML and TypeScript reach the components through `packages:`; its local path must be the plugin folder."""
    for folder in ("yaml", "typescript"):
        packages = _project(folder)["packages"]
        assert isinstance(packages, dict)
        source = (EXAMPLES / folder / packages["kgateway-lambda"]).resolve()
        assert source == ROOT / "provider" and (source / "PulumiPlugin.yaml").is_file(), folder


def test_the_typescript_example_depends_on_the_sdk_pulumi_generates() -> None:
    """pulumi/pulumi: the SDK goes to sdks/<package> (`pkg/cmd/pulumi/packages/packages.go`), and npm links it as
    `dependencies[@pulumi/<package>]=file:<path>` (`sdk/nodejs/npm/manager.go` `getLinkPackageProperty`; the name
    from `getNodeJSPkgName`, `@pulumi/` plus the package name when the schema has no namespace)."""
    package = json.loads((EXAMPLES / "typescript" / "package.json").read_text())
    schema = json.loads((ROOT / "tests" / "golden" / "schema.json").read_text())
    assert "namespace" not in schema
    name = f"@pulumi/{schema['name']}"
    assert package["dependencies"][name] == f"file:sdks/{schema['name']}"
    assert re.fullmatch(r"\^3\.\d+\.\d+", package["dependencies"]["@pulumi/pulumi"])
    assert "typescript" in package["devDependencies"]
    assert f'from "{name}"' in (EXAMPLES / "typescript" / "index.ts").read_text()
    tsconfig = json.loads((EXAMPLES / "typescript" / "tsconfig.json").read_text())
    assert tsconfig["files"] == ["index.ts"] and tsconfig["compilerOptions"]["strict"] is True


def test_the_examples_take_the_functions_code_from_this_repository() -> None:
    for path in ("python/__main__.py", "typescript/index.ts", "yaml/Pulumi.yaml"):
        text = (EXAMPLES / path).read_text()
        archives = re.findall(r"FileArchive\(\"([^\"]+)\"\)|fn::fileArchive: (\S+)", text)
        targets = [a or b for a, b in archives]
        assert targets, path
        for target in targets:
            assert (EXAMPLES / path).parent.joinpath(target, "index.mjs").is_file(), (path, target)


def test_the_python_examples_requirements_install_the_library_as_kgateway_lambda() -> None:
    """pip resolves the local path from the folder it runs in; `pulumi install` runs it in the example's folder
    (pulumi/pulumi `sdk/python/toolchain/pip.go` `InstallDependencies`: `pipCmd.Dir = cwd`)."""
    folder = EXAMPLES / "python"
    pip = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--no-index", "--no-build-isolation"]
    report = subprocess.run(
        [*pip, "--disable-pip-version-check", "--quiet", "--report", "-", "-r", "requirements.txt"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    # The pinned SDKs are the project's own (installed already); what is left to install is the library.
    (install,) = json.loads(report.stdout)["install"]
    assert install["metadata"]["name"] == "kgateway-lambda"
    pinned = dict(line.split("==") for line in (folder / "requirements.txt").read_text().splitlines() if "==" in line)
    for name, version in pinned.items():  # the same versions as the project's own program
        assert f"{name}=={version}" in (ROOT / "requirements.txt").read_text().splitlines()


def config_examples(root: Path = ROOT) -> list[tuple[str, dict[str, object]]]:
    """Each YAML block of the README and docs/ that sets this project's config keys: (where, the keys)."""
    found = []
    for path in [root / "README.md", *sorted(root.glob("docs/*.md"))]:
        text = path.read_text()
        for match in re.finditer(r"```yaml\n(.*?)```", text, re.S):
            document = yaml.safe_load(match.group(1))
            if isinstance(document, dict) and isinstance(document.get("config"), dict):
                document = document["config"]
            keys = {k: v for k, v in (document or {}).items() if str(k).startswith(f"{PROJECT}:")}
            if keys:
                line = text.count("\n", 0, match.start()) + 2
                found.append((f"{path.relative_to(root)}:{line}", keys))
    return found


def test_the_docs_have_config_examples() -> None:
    assert len(config_examples()) >= 3


@pytest.mark.parametrize(("where", "keys"), config_examples(), ids=[where for where, _ in config_examples()])
def test_every_config_example_in_the_docs_is_a_valid_stack_config(where: str, keys: dict[str, object]) -> None:
    """A user copies these: each must pass the same checks `pulumi up` runs (on a line with every feature)."""
    values = {key: config_text(value) for key, value in keys.items()}
    values.setdefault("aws:region", "us-east-1")
    values.setdefault(f"{PROJECT}:kgatewayVersion", "main")
    load_settings(MappingConfigSource(values))
