"""The docs stay true to the repository: every repository path and module they name exists, every link and section
citation resolves, the README is a first-time user's path (its two commands first, then its sections in order),
every config key is documented in docs/configuration.md, and each example folder holds what its runtime needs to
run on its own."""

from __future__ import annotations

import ast
import functools
import importlib
import importlib.util
import inspect
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
    """Each relative link target of a Markdown text (`docs/protection.md#threat-model`, `#anchor`), with its line."""
    for number, line in enumerate(text.splitlines(), 1):
        for target in re.findall(r"\]\(([^)\s]+)\)", line):
            if not re.match(r"[a-z]+:", target):
                yield number, target


def markdown_headings(markdown: str) -> list[str]:
    """The headings of a Markdown text, outside fenced code blocks (a `# comment` in a code block is not one)."""
    found, fenced = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"#{1,6} ", line):
            found.append(line.lstrip("#").strip())
    return found


def anchors(markdown: str) -> set[str]:
    """The `#anchor` each heading gets, as GitHub makes them: the heading's text in lower case, all but word
    characters, `-` and spaces dropped, spaces as `-`; a repeated one gets `-1`, `-2`, ... (gjtorikian/html-pipeline
    `lib/html/pipeline/toc_filter.rb` `TableOfContentsFilter`, at 164bcd68ce9c, the filter GitHub's Markdown uses).
    The text is the rendered one: a link's text stays, its target goes; backticks and `*` are punctuation."""
    made: set[str] = set()
    times: dict[str, int] = {}
    for heading in markdown_headings(markdown):
        plain = re.sub(r"\[([^]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
        slug = re.sub(r"[^\w\- ]", "", plain.lower()).replace(" ", "-")
        made.add(f"{slug}-{times[slug]}" if slug in times else slug)
        times[slug] = times.get(slug, 0) + 1
    return made


@functools.cache
def anchors_of(path: Path) -> frozenset[str]:
    return frozenset(anchors(path.read_text()))


@functools.cache
def headings_of(path: Path) -> tuple[str, ...]:
    return tuple(markdown_headings(path.read_text()))


def broken_links(doc: Path, text: str) -> list[tuple[int, str]]:
    """Each relative link of `doc` whose file does not exist, or whose `#anchor` is no heading of that file."""
    problems = []
    for number, target in markdown_links(text):
        path, _, anchor = target.partition("#")
        linked = (doc.parent / path) if path else doc
        if not linked.exists():
            problems.append((number, f"link {target}"))
        elif anchor and linked.suffix == ".md" and anchor not in anchors_of(linked.resolve()):
            problems.append((number, f"link {target}: no heading makes #{anchor}"))
    return problems


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
        problems += [f"{where}:{number}: {problem}" for number, problem in broken_links(doc, text)]
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


def test_a_link_to_an_anchor_no_heading_makes_is_found(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text(
        "# Title\n\n## What `verify` proves\n\n## Limits\n\n## Limits\n\n```\n# Not a heading\n```\n\n"
        "[a](docs/protection.md#day-2-the-order-of-changes) [b](#what-verify-proves) [c](#limits-1)\n"
        "[d](docs/protection.md#threat-model) [e](#limits-2) [f](#not-a-heading) [g](stacks/#x)\n"
    )
    (tmp_path / "docs" / "protection.md").write_text("# Protected routes\n\n## Day 2: the order of changes\n")
    (tmp_path / "stacks").mkdir()
    assert stale_in_repository(tmp_path) == [
        "README.md:14: link docs/protection.md#threat-model: no heading makes #threat-model",
        "README.md:14: link #limits-2: no heading makes #limits-2",
        "README.md:14: link #not-a-heading: no heading makes #not-a-heading",
    ]


# --- every section a text cites by name exists -------------------------------------------------------------------

# `README "Limits"`, `README's "Limits"`, `docs/protection.md "Threat model"`, a Markdown link to a file followed
# by `, "<section>"`, and in Markdown `see "<section>"` (a section of the same file).
SECTION_CITATION = re.compile(r"(?:\b(README)(?:'s)?|\b(see)|((?:[\w.-]+/)*[\w.-]+\.md)[)`]*,?) \"([^\"]+)\"")


def headings(markdown: str) -> list[str]:
    return markdown_headings(markdown)


def text_files(root: Path = ROOT) -> list[Path]:
    """What can cite a section: docs, code (messages included), configs and the CI script."""
    kinds = ("*.md", "*.py", "*.yaml", "*.txt", "*.toml")
    found = {p for kind in kinds for p in root.rglob(kind)} | {root / ".ci" / "run"}
    return sorted(
        p
        for p in found
        if p.is_file()
        and not any(part.startswith(".") or part in SKIPPED_DIRS for part in p.relative_to(root).parts[:-1])
    )


def cited_document(name: str, citing: Path, root: Path = ROOT) -> Path | None:
    """The Markdown file a citation names: a path from the root or from the citing file, else the one doc of
    that file name (`TRAFFICPOLICY.md` is program/crds/TRAFFICPOLICY.md)."""
    for candidate in (root / name, citing.parent / name):
        if candidate.is_file():
            return candidate
    same_name = [doc for doc in doc_files(root) if doc.name == Path(name).name]
    return same_name[0] if len(same_name) == 1 else None


def missing_sections(root: Path = ROOT) -> list[str]:
    """A section cited by name must be a heading of the file named (a citation may give a heading's start):
    README's for `README`, the named file's for `docs/protection.md` (or a file beside the citing one), the same
    file's for `see` in Markdown."""
    problems = []
    for path in text_files(root):
        text = path.read_text()
        for number, line in enumerate(text.splitlines(), 1):
            if not ('"' in line and ("README" in line or "see " in line or ".md" in line)):
                continue  # most lines cite nothing; the pattern is slow on the CRDs' long lines
            for readme, see, named, section in SECTION_CITATION.findall(line):
                if see and path.suffix != ".md":
                    continue
                where = readme or see or named
                document = path if see else cited_document("README.md" if readme else named, path, root)
                candidates = headings_of(document.resolve()) if document else []
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
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "configuration.md").write_text("# Configuration\n\n## Config keys\n")
    (tmp_path / "docs" / "functions.md").write_text('See [configuration.md](configuration.md), "Config keys".\n')
    moved = "docs/configuration.md" + ' "Outputs"'  # split, as above
    (tmp_path / "y.py").write_text(f"HINT = 'docs/configuration.md \"Config keys\"'  # and {moved}\n")
    unknown = "nowhere.md" + ' "Config keys"'
    (tmp_path / "z.py").write_text(f"# {unknown}\n")
    assert missing_sections(tmp_path) == [
        'README.md:5: see "Layout"',
        f"provider/PulumiPlugin.yaml:1: {cited}",
        f"y.py:1: {moved}",
        f"z.py:1: {unknown}",
    ]


# --- the README is a first-time user's path --------------------------------------------------------------------

README_PATH = (  # what a first-time user reads, top to bottom (issue 30: a README that leads with use)
    "What it does",
    "Prerequisites",
    "Coming from the guide",
    "Deploy and destroy",
    "Your own stack",
    "Verify",
    "Reuse from another stack",
    "Common keys",
    "Limits",
    "Verified here / not verified here",
)


def path_problems(markdown: str, path: tuple[str, ...] = README_PATH) -> list[str]:
    """Each section of the path the README lacks, and each that comes before one it should follow."""
    sections = list(dict.fromkeys(heading for heading in markdown_headings(markdown) if heading in path))
    problems = [f"no section {name!r}" for name in path if name not in sections]
    present = [name for name in path if name in sections]
    problems += [
        f"{later!r} before {earlier!r}" for earlier, later in zip(present, sections, strict=True) if earlier != later
    ]
    return problems


def opening_commands(markdown: str) -> list[str]:
    """The commands of the code block that opens the README, right under its title (comments dropped)."""
    lines = markdown.splitlines()
    start = next((n for n, line in enumerate(lines[:4]) if line.startswith("```")), None)
    if start is None:
        return []
    block = lines[start + 1 : lines.index("```", start + 1)]
    return [line.split("  #", 1)[0].strip() for line in block if line.strip()]


def first_run_problems(commands: list[str]) -> list[str]:
    """The developers' guide's rule: the README opens with the two commands that work on a fresh machine, the
    tests (`bash .ci/run`) and `pulumi up` of the default stack on a local file backend."""
    problems = [] if "bash .ci/run" in commands else ["no `bash .ci/run`"]
    deploys = [command for command in commands if command.startswith("pulumi ")]
    steps = [step.strip() for step in deploys[0].split("&&")] if deploys else []
    wanted = ["pulumi login --local", "pulumi install", "pulumi stack select --create dev", "pulumi up --stack dev"]
    problems += [f"no `{step}`" for step in wanted if step not in steps]
    if steps and (steps[0] != wanted[0] or steps[-1] != wanted[-1]):
        problems.append("the deploy must log in to the local backend first and end with `pulumi up`")
    return problems


def test_the_readme_opens_with_the_two_commands_that_work_on_a_fresh_machine() -> None:
    commands = opening_commands((ROOT / "README.md").read_text())
    assert first_run_problems(commands) == []
    assert (ROOT / ".ci" / "run").is_file() and (ROOT / "stacks" / "Pulumi.dev.yaml").is_file()


def test_the_readme_is_a_first_time_users_path() -> None:
    assert path_problems((ROOT / "README.md").read_text()) == []


@pytest.mark.parametrize(
    ("readme", "problems"),
    [
        ("# t\n\n## What it does\n## Prerequisites\n## Verify\n", []),
        (
            "# t\n\n## Prerequisites\n## What it does\n## Verify\n",
            ["'Prerequisites' before 'What it does'", "'What it does' before 'Prerequisites'"],
        ),
        ("# t\n\n## What it does\n```\n## Prerequisites\n```\n## Verify\n", ["no section 'Prerequisites'"]),
    ],
)
def test_a_readme_missing_a_section_or_out_of_order_is_found(readme: str, problems: list[str]) -> None:
    assert path_problems(readme, ("What it does", "Prerequisites", "Verify")) == problems


@pytest.mark.parametrize(
    ("block", "problems"),
    [
        ("pulumi login --local && pulumi install && pulumi stack select --create dev && pulumi up --stack dev\n"
         "bash .ci/run  # the tests", []),
        ("pulumi up --stack dev", ["no `bash .ci/run`", "no `pulumi login --local`", "no `pulumi install`",
                                   "no `pulumi stack select --create dev`",
                                   "the deploy must log in to the local backend first and end with `pulumi up`"]),
        ("bash .ci/run\npulumi login && pulumi install && pulumi stack select --create dev && pulumi up --stack dev",
         ["no `pulumi login --local`", "the deploy must log in to the local backend first and end with `pulumi up`"]),
    ],
)  # fmt: skip
def test_an_opening_without_the_two_commands_is_found(block: str, problems: list[str]) -> None:
    assert first_run_problems(opening_commands(f"# title\n\n```bash\n{block}\n```\n")) == problems
    assert opening_commands("# title\n\nSome text first.\n\n\n```bash\nbash .ci/run\n```\n") == []


def key_table_names(section: str) -> set[str]:
    """The key names of a Markdown table's first column (`functionName`, ...)."""
    cells = "".join(re.findall(r"^\| ([^|]+) \|", section, re.M))
    return set(re.findall(r"`([A-Za-z]+)`", cells))


def section_of(markdown: str, heading: str) -> str:
    return markdown.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_docs_configuration_documents_every_config_key_the_program_reads() -> None:
    from program.config import KNOWN_KEYS
    from program.keys import KEYS

    table = section_of((ROOT / "docs" / "configuration.md").read_text(), "Config keys")
    documented = key_table_names(table)
    assert set(KNOWN_KEYS) - documented == set()
    assert "aws:region" in table
    assert documented == {key.name for key in KEYS}  # the flat keys and the entry-only ones (routeFunction)


def test_the_readme_has_the_common_keys_and_links_the_full_table() -> None:
    from program.keys import COMMON_KEYS, KEYS, TABLE_BEGIN

    readme = (ROOT / "README.md").read_text()
    common = section_of(readme, "Common keys")
    assert key_table_names(common) == set(COMMON_KEYS) <= {key.name for key in KEYS}
    assert "aws:region" in common and "(docs/configuration.md)" in common
    assert TABLE_BEGIN.strip() not in readme  # the full table lives in docs/configuration.md


def table_rows(section: str, first_header: str) -> list[dict[str, str]]:
    """The rows of the first Markdown table in `section` whose header starts with `first_header`, by column."""
    lines = section.splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    header = [cell.strip() for cell in lines[start].strip("|").split("|")]
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True)))
    return rows


def quoting_problems(quoted: list[dict[str, str]], source: list[dict[str, str]]) -> list[str]:
    """Each cell of the README's scale table that differs from DEVELOPMENT.md's row of the same size and protection."""
    by_row = {(row["functions"], row["protection"]): row for row in source}
    problems = []
    for row in quoted:
        original = by_row.get((row["functions"], row["protection"]))
        if original is None:
            problems.append(f"no row {row['functions']} / {row['protection']} in DEVELOPMENT.md")
            continue
        problems += [
            f"{row['functions']} / {row['protection']}: {column} {value} (DEVELOPMENT.md: {original.get(column)})"
            for column, value in row.items()
            if original.get(column) != value
        ]
    return problems


def test_the_readmes_limits_quote_the_scale_table_of_development_md() -> None:
    """README "Limits" quotes issue 29's measurements; when they are measured again, both tables change."""
    quoted = table_rows(section_of((ROOT / "README.md").read_text(), "Limits"), "functions")
    source = table_rows((ROOT / "DEVELOPMENT.md").read_text().split("**Scale (issue 29)**", 1)[1], "functions")
    assert quoted and quoting_problems(quoted, source) == []
    changed = [{**quoted[0], "plan CPU (s)": "0.01"}]
    assert quoting_problems(changed, source) == [
        f"1 / none: plan CPU (s) 0.01 (DEVELOPMENT.md: {source[0]['plan CPU (s)']})"
    ]


def snippet_problems(source: str) -> list[str]:
    """What a Python snippet gets wrong about the library: a name `kgateway_lambda` lacks, a field or argument its
    type does not take, a required field left out."""
    import components

    tree = ast.parse(source)
    problems, imported = [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "kgateway_lambda":
            for alias in node.names:
                if hasattr(components, alias.name):
                    imported[alias.asname or alias.name] = getattr(components, alias.name)
                else:
                    problems.append(f"kgateway_lambda has no {alias.name}")
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in imported):
            continue
        target = imported[node.func.id]
        given = [keyword.arg for keyword in node.keywords if keyword.arg is not None]  # not `**mapping`
        if hasattr(target, "__required_keys__"):  # a TypedDict: its fields
            fields = target.__required_keys__ | target.__optional_keys__
            problems += [f"{node.func.id} has no field {name}" for name in given if name not in fields]
            problems += [f"{node.func.id} needs {name}" for name in sorted(target.__required_keys__ - set(given))]
        else:
            try:
                inspect.signature(target).bind(*node.args, **dict.fromkeys(given))
            except TypeError as error:
                problems.append(f"{node.func.id}: {error}")
    return problems


def test_the_readmes_python_snippet_matches_the_library() -> None:
    readme = (ROOT / "README.md").read_text()
    (snippet,) = re.findall(r"```python\n(.*?)```", section_of(readme, "Reuse from another stack"), re.S)
    assert snippet_problems(snippet) == []
    wrong = snippet.replace("routes=", "route=").replace("import LambdaFunctionArgs", "import LambdaFunctionArg")
    assert snippet_problems(wrong) == [
        "kgateway_lambda has no LambdaFunctionArg",
        "LambdaGatewayRouteArgs has no field route",
    ]


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
