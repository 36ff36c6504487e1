"""A concrete request path a RegularExpression route matches, so `verify` can send a request to it.

Envoy matches a RegularExpression path as RE2 against the whole path (envoy api/envoy/config/route/v3/
route_components.proto `RouteMatch.safe_regex`: "the entire path (without the query string) must match the
regex"). The sample is the shortest choice at each step (the least repetitions, the first branch, the first
character of a class), built from Python's own parse of the pattern; it is kept only when the whole pattern
fully matches it and it needs no percent-encoding, else there is no check for the route (never a guessed URL).
"""

from __future__ import annotations

import importlib
import re
import string
from typing import Any

# The standard library's regular expression parser (re._parser, sre_parse before 3.11): the same reading of the
# pattern as `re`, so no second parser to disagree with. Loaded by name: it has no public module or type stubs.
_PARSER: Any = importlib.import_module("re._parser")

# Characters a path may carry as they are (RFC 3986 pchar without percent-encoding, and "/").
_PATH_CHARS = frozenset(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/")
_CLASS_CHOICES = {"CATEGORY_DIGIT": "0", "CATEGORY_WORD": "a", "CATEGORY_NOT_DIGIT": "a", "CATEGORY_NOT_SPACE": "a"}
_ANY_CHOICES = "a0-_~"


class _NoSampleError(Exception):
    """The pattern uses something the sampler does not write (back-references, look-arounds, spaces, ...)."""


def sample_path(pattern: str) -> str | None:
    """A path `pattern` fully matches, or None when none is found."""
    try:
        text = _sample(_PARSER.parse(pattern))
    except (_NoSampleError, re.error, RecursionError):
        return None
    if not text.startswith("/") or not set(text) <= _PATH_CHARS or re.fullmatch(pattern, text) is None:
        return None
    return text


def _sample(items: Any) -> str:
    return "".join(_one(str(op), av) for op, av in items)


def _one(op: str, av: Any) -> str:  # noqa: PLR0911 (one return per construct)
    if op == "LITERAL":
        return chr(av)
    if op == "NOT_LITERAL":
        return next(c for c in _ANY_CHOICES if ord(c) != int(av))
    if op == "ANY":
        return "a"
    if op == "AT":  # ^, $, \b: no text
        return ""
    if op == "IN":
        return _in_class(av)
    if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
        least, _, body = av
        return _sample(body) * int(least)
    if op == "SUBPATTERN":
        return _sample(av[-1])
    if op == "BRANCH":
        return _sample(av[1][0])
    if op == "CATEGORY":
        return _in_class([(op, av)])
    raise _NoSampleError(op)


def _in_class(items: Any) -> str:
    """A character of a class `[...]`: the first it names, or for `[^...]` one of a few it does not refuse."""
    if items and str(items[0][0]) == "NEGATE":
        allowed = re.compile("[^" + "".join(_class_text(op, av) for op, av in items[1:]) + "]")
        found = next((c for c in _ANY_CHOICES if allowed.fullmatch(c)), None)
        if found is None:
            raise _NoSampleError("NEGATE")
        return found
    op, av = str(items[0][0]), items[0][1]
    if op == "LITERAL":
        return chr(av)
    if op == "RANGE":
        return chr(av[0])
    if op == "CATEGORY" and str(av) in _CLASS_CHOICES:
        return _CLASS_CHOICES[str(av)]
    raise _NoSampleError(op)


def _class_text(op: Any, av: Any) -> str:
    """One member of a class, written back as pattern text."""
    name = str(op)
    if name == "LITERAL":
        return re.escape(chr(av))
    if name == "RANGE":
        return f"{re.escape(chr(av[0]))}-{re.escape(chr(av[1]))}"
    categories = {"CATEGORY_DIGIT": r"\d", "CATEGORY_WORD": r"\w", "CATEGORY_SPACE": r"\s"}
    if name == "CATEGORY" and str(av) in categories:
        return categories[str(av)]
    raise _NoSampleError(name)
