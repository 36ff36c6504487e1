"""The mutation run's catalogue (scripts/mutations.py): its names are unique. Whether each mutant still applies is
checked by the script itself (`scripts/mutations.py --check`, and before every run), not by this suite: a refactor
re-targets the catalogue, it is never blocked by it."""

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


def test_mutant_names_are_unique() -> None:
    names = [m.name for m in catalogue().MUTATIONS]
    assert len(names) >= 90
    assert len(names) == len(set(names))


def test_the_staleness_check_finds_a_mutant_whose_text_moved() -> None:
    module = catalogue()
    moved = module.Mutation("moved", "components/route.py", "text that is nowhere in the file", "x")
    assert module.stale_mutants([moved]) == ["moved: its text occurs 0 time(s) in components/route.py"]
