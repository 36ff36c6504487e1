"""The HTTPRoute's path rules judged in Python (program/path_rules.py) judge as cel-python does: each is a rule of
the shipped HTTPRoute CRDs, word for word, and on every path tried (crafted to break each rule, and generated) its
verdict is cel-python's; the preflight uses them, and leaves anything else to cel-python."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from program import crd_validation
from program.crd_validation import CRDS, cel_errors, served_schema
from program.path_rules import PATH_RULES, path_rule_holds

HTTPROUTE_CRDS = ("gateway-api-v1.2.1-httproutes.yaml", "gateway-api-v1.6.1-httproutes.yaml")
TYPES = ("Exact", "PathPrefix", "RegularExpression", "Other")
# Each rule's forbidden text, at the start, the middle and the end; the character rule's edges (a lone `%`, a
# percent-encoding, a space, a non-ASCII letter); the empty path.
FORBIDDEN = ("//", "/./", "/../", "%2f", "%2F", "#", "/..", "/.")
CRAFTED = [
    *("", "/", "fn", "/fn000", "/a/b/", "/%41", "/%4", "%", "/a b", "/é", "/a?b", "/~!$&'()*+,;=:@", "/.", "/.."),
    *(f"{at}{bad}{end}" for bad in FORBIDDEN for at in ("", "/a") for end in ("", "b")),
]


def path_schema(crd_file: str, served: str) -> dict[str, Any]:
    schema = served_schema(crd_validation.load_yaml(CRDS / crd_file), served)
    rules = schema["properties"]["spec"]["properties"]["rules"]
    path: dict[str, Any] = rules["items"]["properties"]["matches"]["items"]["properties"]["path"]
    return path


def cel_python_holds(rule: str, obj: Any) -> bool:
    return crd_validation._verdict(rule, json.dumps(obj, sort_keys=True)) is None


@pytest.mark.parametrize("crd_file", HTTPROUTE_CRDS)
@pytest.mark.parametrize("served", ["v1", "v1beta1"])
def test_each_rule_judged_in_python_is_a_rule_of_the_httproute_path(crd_file: str, served: str) -> None:
    rules = [v["rule"] for v in path_schema(crd_file, served)["x-kubernetes-validations"]]
    assert set(PATH_RULES) <= set(rules)
    assert len(PATH_RULES) == len(rules) - 1  # all but the one on the type alone (whose verdicts the cache shares)


@pytest.mark.parametrize("rule", sorted(PATH_RULES))
def test_each_rule_judges_crafted_paths_as_cel_python_does(rule: str) -> None:
    refused = 0
    for kind in TYPES:
        for value in CRAFTED:
            obj = {"type": kind, "value": value}
            assert path_rule_holds(rule, obj) is cel_python_holds(rule, obj), (kind, value)
            refused += not cel_python_holds(rule, obj)
    assert refused > 0  # the crafted paths do break this rule


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(TYPES), value=st.text(alphabet="/.%2fF#a~-é ?", max_size=12))
def test_the_rules_judge_generated_paths_as_cel_python_does(kind: str, value: str) -> None:
    obj = {"type": kind, "value": value}
    for rule in PATH_RULES:
        assert path_rule_holds(rule, obj) is cel_python_holds(rule, obj), (rule, obj)


@pytest.mark.parametrize(
    "obj",
    [{"type": "Exact"}, {"value": "/a"}, {"type": "Exact", "value": 1}, {"type": None, "value": "/a"}, ["/a"], "/a"],
)
def test_anything_but_a_type_and_a_value_that_are_strings_is_left_to_cel_python(obj: Any) -> None:
    assert all(path_rule_holds(rule, obj) is None for rule in PATH_RULES)
    assert path_rule_holds("self.value.size() > 0", {"type": "Exact", "value": "/a"}) is None  # not one of them


def test_the_preflight_refuses_a_bad_path_with_the_crds_message() -> None:
    """Judged in Python, a broken rule is reported as cel-python reported it: the CRD's message, and the rule."""
    schema = path_schema(HTTPROUTE_CRDS[1], "v1")
    errors = cel_errors({"type": "PathPrefix", "value": "/a//b#c"}, schema)
    broken = [v for v in schema["x-kubernetes-validations"] if "'//'" in v["rule"] or "'#'" in v["rule"]]
    broken += [v for v in schema["x-kubernetes-validations"] if "matches(" in v["rule"]]
    assert errors == [f"/: {v['message']} (CEL: {v['rule']})" for v in broken]


def test_the_preflight_leaves_cel_python_only_the_rule_on_the_type() -> None:
    """Of the path's 11 rules, cel-python evaluates one (the type's); the value's 10 are judged here."""
    schema = path_schema(HTTPROUTE_CRDS[1], "v1")
    crd_validation._verdict.cache_clear()
    assert cel_errors({"type": "PathPrefix", "value": "/judged-in-python"}, schema) == []
    assert crd_validation._verdict.cache_info().misses == 1
