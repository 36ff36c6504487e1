"""The Gateway API HTTPRoute's CEL rules on a path match (`spec.rules[].matches[].path`), judged in Python.

Each route's path differs from every other's, so the preflight's verdict cache (program/cel_reads.py) cannot share
these rules' verdicts: with cel-python (about 0.4 ms per evaluation) they were 10 of the 12 evaluations each added
function still cost (issue 29). Each rule here is the CRD's exact text, mapped to the same test in Python: a guard
on the type, then one string check on the value (`startsWith`, `contains`, `endsWith` as cel-python's
`function_startsWith`, `function_contains`, `function_endsWith` do them: Python's `str` methods; `matches` as its
`function_matches` does: RE2's search). A rule whose text is not here, or an input that is not a `type` and a
`value` that are both strings, is left to cel-python.

tests/test_path_rules.py checks that each text is a rule of the shipped HTTPRoute CRDs (v1.2.1 and v1.6.1, both
served versions) and that each judges as cel-python does, on crafted and generated paths of every type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import re2  # type: ignore[import-untyped]  # google-re2, as cel-python's `matches` uses it

_TYPES_WITH_PATH_RULES = ("Exact", "PathPrefix")
_GUARD = "(self.type in ['Exact','PathPrefix']) ? "
_VALUE_CHARS = r"""^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$"""

# Gateway API v1.6.1 config/crd/standard/gateway.networking.k8s.io_httproutes.yaml (the same in v1.2.1): the rule
# after the guard, and its check of the value.
_VALUE_CHECKS: dict[str, Callable[[str], bool]] = {
    "self.value.startsWith('/')": lambda value: value.startswith("/"),
    "!self.value.contains('//')": lambda value: "//" not in value,
    "!self.value.contains('/./')": lambda value: "/./" not in value,
    "!self.value.contains('/../')": lambda value: "/../" not in value,
    "!self.value.contains('%2f')": lambda value: "%2f" not in value,
    "!self.value.contains('%2F')": lambda value: "%2F" not in value,
    "!self.value.contains('#')": lambda value: "#" not in value,
    "!self.value.endsWith('/..')": lambda value: not value.endswith("/.."),
    "!self.value.endsWith('/.')": lambda value: not value.endswith("/."),
    f'self.value.matches(r"""{_VALUE_CHARS}""")': lambda value: re2.search(_VALUE_CHARS, value) is not None,
}
PATH_RULES = {f"{_GUARD}{check} : true": judge for check, judge in _VALUE_CHECKS.items()}


def path_rule_holds(rule: str, obj: Any) -> bool | None:
    """Whether the path match `obj` passes `rule`; None when this module does not judge it (cel-python does)."""
    judge = PATH_RULES.get(rule)
    if judge is None or not isinstance(obj, dict):
        return None
    kind, value = obj.get("type"), obj.get("value")
    if not isinstance(kind, str) or not isinstance(value, str):
        return None
    return judge(value) if kind in _TYPES_WITH_PATH_RULES else True
