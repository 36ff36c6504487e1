"""What a CEL rule of a CRD reads of `self`, so the preflight can cache the rule's verdict by that alone
(program/crd_validation.py `cel_violations`): the objects of 50 functions differ in names and paths that most
rules never read, or only count.

The reading is of the rule's text, and conservative: whatever it cannot account for exactly is read whole.
tests/test_cel_inputs.py checks that each rule of the CRDs our objects meet judges the projection as it judges the
whole object, on our objects and on broken variants of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

# A variable (`self`, or a macro's) and the steps after it: fields (`self.spec.aws`) and literal indexes
# (`self.matches[0]`); a method call's name (`.size(`) is not a field.
_CHAIN = r"(?<![.\w]){}((?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*|\s*\[\s*[0-9]+\s*\])*)"
_STEP = re.compile(r"\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*([0-9]+)\s*\]")
# CEL's string literals, triple-quoted first (`r"""^[a-z]$"""` holds quotes): what is inside reads nothing.
_STRING_LITERAL = re.compile(r"'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"", re.DOTALL)
# The call a chain is the whole argument of: `has(` (presence) or `size(` (a length), not a method (`.has(`).
_CALL_BEFORE = re.compile(r"(?<!\w)(has|size)\(\s*$")
_EMPTY_CALL = re.compile(r"\(\s*\)")
# The macros that bind a variable to each item of a list (`self.rules.all(r, r.matches.size() > 0)`).
# The macros that bind a variable to each item of a list (`self.rules.all(r, r.matches.size() > 0)`) and give
# back what only the body's reads decide: a verdict, or the body's values. `filter` gives back the items
# themselves, so only its length (`.filter(...).size()`) is decided by the body alone.
_MACROS = ("all", "exists", "exists_one", "map")
_MACRO_VARIABLE = re.compile(r"\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,(?!\s*[A-Za-z_][A-Za-z0-9_]*\s*,)")
_SIZE_AFTER = re.compile(r"\s*\.\s*size\s*\(\s*\)")
EACH = "*"  # the step to every item of a list (no CEL field is named so)
Step = str | int
Mode = Literal["whole", "presence", "size"]
Paths = tuple[tuple[tuple[Step, ...], Mode], ...]


def _closing(text: str, opening: int) -> int | None:
    """The index of the parenthesis that closes the one at `opening` (string literals already blanked)."""
    depth = 0
    for index in range(opening, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return index
    return None


def _reads_of(text: str, variable: str) -> list[tuple[tuple[Step, ...], Mode]] | None:
    """What `text` reads of `variable` (see rule_paths); None when it reads the variable itself whole."""
    paths: list[tuple[tuple[Step, ...], Mode]] = []
    for match in re.finditer(_CHAIN.format(re.escape(variable)), text):
        steps: list[Step] = [int(index) if index else field for field, index in _STEP.findall(match[1])]
        rest_at = len(text) - len(text[match.end() :].lstrip())
        rest = text[rest_at:]
        mode: Mode = "whole"
        if steps and isinstance(steps[-1], str) and rest.startswith("("):  # `self.a.size()`: a method of `self.a`
            method = steps.pop()
            macro = _MACRO_VARIABLE.match(rest)
            close = _closing(text, rest_at)
            if method == "size" and _EMPTY_CALL.match(rest):
                mode = "size"
            elif (
                macro is not None  # one variable: a second (`all(i, v, ...)`) would be read unseen
                and close is not None
                and (method in _MACROS or (method == "filter" and _SIZE_AFTER.match(text, close + 1)))
            ):
                inner = _reads_of(text[rest_at + macro.end() : close], macro[1])
                if inner is not None:  # each item read only as the body reads its variable; the list's length
                    paths.append((tuple(steps), "size"))
                    paths.extend(((*steps, EACH, *item_steps), item_mode) for item_steps, item_mode in inner)
                    continue
        else:
            before = text[: match.start()]
            call = _CALL_BEFORE.search(before)
            if call is not None and rest.startswith(")") and not before[: call.start()].rstrip().endswith("."):
                mode = "presence" if call[1] == "has" else "size"
        if mode == "presence" and not (steps and isinstance(steps[-1], str)):
            mode = "whole"  # `has()` takes a field; anything else is not ours to reason about
        if not steps and mode != "size":
            return None
        paths.append((tuple(steps), mode))
    return paths


@cache
def rule_paths(rule: str) -> Paths | None:
    """What of `self` a rule reads: (steps, how) for each `self.a[0].b` in it. How: `presence` for `has(self.a.b)`
    (only whether `b` is there), `size` for `size(self.a)` or `self.a.size()` (only its length), else `whole`
    (the value, and everything in it: a comparison, a method such as `self.a.startsWith(...)`). A macro over a list
    (`self.a.all(x, has(x.b))`) reads the list's length and, of each item (the step `EACH`), what its body reads of
    its variable. None when the rule reads `self` itself whole (`self.all(...)`, `self[k]`, `self == ...`).

    So a rule's verdict can be cached by what it reads: 50 Backends differ in their function names, which most of
    the CRD's rules never read, and 50 routes in their paths and Backends, which the rules' limits on matches and
    filters only count or check for presence; those verdicts are computed once, not once per object
    (tests/test_cel_inputs.py checks the verdicts agree)."""
    text = _STRING_LITERAL.sub("''", rule)
    if "//" in text or any(quote in text.replace("''", "") for quote in "'\""):
        return None  # a comment, or quotes left over: not a text this reading can trust
    paths = _reads_of(text, "self")
    return None if paths is None else tuple(paths)


def _placeholder(value: Any) -> Any:
    """A value of the same JSON type: all `has()` can tell of it is that it is there."""
    return type(value)() if isinstance(value, (dict, list, str, bool, int, float)) else value


@dataclass
class _Reads:
    """What a rule reads of one value: all of it, its length, whether it is there, or some of its parts."""

    whole: bool = False
    size: bool = False
    parts: dict[Step, _Reads] | None = None

    def at(self, steps: tuple[Step, ...], mode: Mode) -> None:
        node = self
        for step in steps:
            node.parts = node.parts if node.parts is not None else {}
            node = node.parts.setdefault(step, _Reads())
        node.whole |= mode == "whole"
        node.size |= mode == "size"


def _projected_list(value: list[Any], reads: _Reads) -> Any:
    parts = reads.parts or {}
    each = parts.get(EACH)
    if each is not None:  # a macro's items: all of them, each as the body reads it (indexes too: kept whole)
        return [_projected(item, each) for item in value] if len(parts) == 1 else value
    if any(not isinstance(step, int) for step in parts):
        return value  # a field of a list: an evaluation error, kept as it is
    if not reads.size and not parts:
        return _placeholder(value)
    kept: list[Any] = [None] * len(value)  # the length, and only the items read
    for index, item_reads in parts.items():
        if isinstance(index, int) and index < len(value):
            kept[index] = _projected(value[index], item_reads)
    return kept


def _projected(value: Any, reads: _Reads) -> Any:
    """`value` with only what `reads` covers; anything the projection cannot keep exactly is kept whole."""
    parts = reads.parts or {}
    if reads.whole:
        return value
    if isinstance(value, list):
        return _projected_list(value, reads)
    if isinstance(value, dict) and not reads.size and all(isinstance(step, str) and step != EACH for step in parts):
        if not parts:
            return _placeholder(value)
        return {key: _projected(value[key], sub) for key, sub in parts.items() if isinstance(key, str) and key in value}
    if parts or reads.size:
        return value  # a string's length, a map's size or keys, a part of a scalar: kept whole
    return _placeholder(value)


def rule_input(rule: str, obj: Any) -> Any:
    """What of `obj` the rule can read (rule_paths): the rule's verdict on it is its verdict on `obj`."""
    paths = rule_paths(rule)
    if paths is None:
        return obj
    reads = _Reads()
    for steps, mode in paths:
        reads.at(steps, mode)
    return _projected(obj, reads)
