"""The mutation run's catalogue (scripts/mutations.py) stays runnable as the code moves: each mutant's text occurs
exactly once in its file, changes it, and is judged by test files that exist."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def catalogue() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutations_catalogue", ROOT / "scripts" / "mutations.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def test_every_mutant_applies_once_and_is_judged_by_existing_tests() -> None:
    mutations = catalogue().MUTATIONS
    assert len(mutations) >= 90
    problems = []
    for mutation in mutations:
        count = (ROOT / mutation.path).read_text().count(mutation.old) if (ROOT / mutation.path).is_file() else 0
        if count != 1 or mutation.old == mutation.new:
            problems.append(f"{mutation.name}: its text occurs {count} time(s) in {mutation.path}")
        problems += [f"{mutation.name}: no {f}" for f in mutation.test_files() if not (ROOT / f).is_file()]
    assert problems == []


def test_mutant_names_are_unique() -> None:
    names = [m.name for m in catalogue().MUTATIONS]
    assert len(names) == len(set(names))
