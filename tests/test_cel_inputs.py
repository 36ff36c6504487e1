"""The preflight caches each CEL rule's verdict by what the rule reads of `self` (program/cel_reads.py
`rule_paths`, `rule_input`), so N Backends that differ only in their function names cost one evaluation of most
rules, not N. The cache is sound only if a rule's verdict on that projection is its verdict on the whole object:
checked here for every rule of the CRDs our objects meet, on our objects and on broken variants of them."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from components.protection_spec import protection_objects
from components.traffic_policy import TRAFFIC_POLICY_SUPPORT, jwt_gateway_extension_manifest, traffic_policy_manifest
from program import crd_validation
from program.cel_reads import rule_input, rule_paths
from program.config import PROJECT_ROOT
from program.crd_validation import CRDS, crd_files, served_schema, with_defaults

PROTECTION = {
    "api_keys": {"clients": ["mobile"], "key_sources": [{"header": "x-api-key"}]},
    "jwt": {
        "issuer": "https://issuer.example.com",
        "audiences": ["orders"],
        "jwks_uri": "https://issuer.example.com/.well-known/jwks.json",
        "jwks_backend": {"name": "issuer", "port": 443},
    },
    "cors": {"allow_origins": ["https://app.example.com"], "allow_methods": ["GET"], "allow_credentials": True},
    "rate_limit": {"requests_per_minute": 120, "burst": 20},
    "ip_allow": ["203.0.113.0/24"],
    "retry": {"idempotent": True, "attempts": 2, "per_try_timeout": "5s"},
    "timeout": "30s",
    "max_request_size": "6Mi",
}


@pytest.mark.parametrize(
    ("rule", "paths"),
    [
        ("has(self.a.b)", ((("a", "b"), "presence"),)),
        ("self.a.size() > 0", ((("a",), "size"),)),
        ("size(self.a) > 0", ((("a",), "size"),)),
        ("self.type == 'AWS' ? has(self.aws) : true", ((("type",), "whole"), (("aws",), "presence"))),
        ("size(self) > 1", (((), "size"),)),
        ("self.all(x, x.kind == 'HTTPRoute')", (((), "size"), (("*", "kind"), "whole"))),
        ("self.all(x, x in [1])", None),
        ("self[0].name != ''", (((0, "name"), "whole"),)),
        ("self.matches[0].path.type == 'Exact'", ((("matches", 0, "path", "type"), "whole"),)),
        ("self.a[i] == 1", ((("a",), "whole"),)),  # an index that is not a literal: the list, whole
        ("self.a.exists(x, x.size() > 1)", ((("a",), "size"), (("a", "*"), "size"))),  # each item's length
        (
            "self.a.all(x, has(x.b) && x.c == 1)",
            ((("a",), "size"), (("a", "*", "b"), "presence"), (("a", "*", "c"), "whole")),
        ),
        ("self.a.all(x, x == 'b')", ((("a",), "whole"),)),  # the item itself: the list, whole
        (
            "self.a.all(x, self.b.exists(y, y.c == x.d))",
            ((("a",), "size"), (("a", "*", "d"), "whole"), (("b",), "size"), (("b", "*", "c"), "whole")),
        ),
        ("self.a.filter(x, x.b).size() == 1", ((("a",), "size"), (("a", "*", "b"), "whole"))),
        ("self.a.filter(x, x.b)[0].c == 1", ((("a",), "whole"),)),  # the items themselves come back: whole
        ("self.a.filter(x, x.b) == []", ((("a",), "whole"),)),
        ("self.a.all(i, v, v.b == 1)", ((("a",), "whole"),)),  # two variables: the item is `v`, not `i`
        (
            "self.a.map(x, x.b, x.c).exists(y, y == 1)",
            ((("a",), "size"), (("a", "*", "b"), "whole"), (("a", "*", "c"), "whole")),
        ),
        ("self.a.exists_one(b, b.c) && self.b == 1", ((("a",), "size"), (("a", "*", "c"), "whole"), (("b",), "whole"))),
        ("x.size(self.a) == 1", ((("a",), "whole"),)),  # a method's argument, not `size()`
        ("self == oldSelf", None),
        ("self.name != 'self.secret'", ((("name",), "whole"),)),  # a string literal is not a read
        ('self.v.matches(r"""^a\'self.b$""")', ((("v",), "whole"),)),  # nor a triple-quoted one
        ("self.a // self.b is what it checks\n == 1", None),  # a comment: not a text this reading trusts
    ],
)
def test_what_a_rule_reads_of_self(rule: str, paths: Any) -> None:
    assert rule_paths(rule) == paths


def test_a_projection_keeps_what_the_rule_reads_and_only_that() -> None:
    obj = {"type": "AWS", "aws": {"lambda": {"functionName": "fn01"}}, "static": {"hosts": []}}
    assert rule_input("self.type == 'AWS' ? has(self.aws) : true", obj) == {"type": "AWS", "aws": {}}
    assert rule_input("has(self.aws) && self.aws.lambda.functionName != ''", obj) == {
        "aws": {"lambda": {"functionName": "fn01"}}
    }
    assert rule_input("self == oldSelf", obj) is obj
    assert rule_input("size(self) > 0", obj) is obj  # a map's size: kept whole
    # A list read for its length keeps its length; an item read by its index keeps that item's part.
    rules = [{"matches": [{"path": {"value": "/a"}}, {"path": {"value": "/b"}}]}, {"matches": []}]
    assert rule_input("self.size() > 1 && self[0].matches.size() < 3", rules) == [{"matches": [None, None]}, None]
    assert rule_input("self[1].matches[0].path == 1", rules) == [None, {"matches": []}]
    # A macro's items each keep what its body reads of them; a map's macro iterates its keys: kept whole.
    macro = "self.all(r, r.matches.all(m, has(m.path)))"
    assert rule_input(macro, rules) == [{"matches": [{"path": {}}, {"path": {}}]}, {"matches": []}]
    assert rule_input("self.m.all(k, k != 'x')", {"m": {"x": 1}, "n": 2}) == {"m": {"x": 1}}


def http_route_rule(path: str, backend: str) -> dict[str, Any]:
    """One rule of the HTTPRoute the program emits per function: its path and its Backend differ by function."""
    return {
        "backendRefs": [{"group": "gateway.kgateway.dev", "kind": "Backend", "name": backend, "weight": 1}],
        "matches": [{"path": {"type": "PathPrefix", "value": path}}],
        "timeouts": {"request": "21s"},
    }


def http_route_rule_validations() -> tuple[list[str], list[str]]:
    """The CEL rules of Gateway API v1.6.1's HTTPRoute on `spec.rules` (its limit on matches) and on each rule (on
    filters and backendRefs)."""
    schema = served_schema(crd_validation.load_yaml(CRDS / "gateway-api-v1.6.1-httproutes.yaml"), "v1")
    rules = schema["properties"]["spec"]["properties"]["rules"]
    on_each = [v["rule"] for v in rules["items"]["x-kubernetes-validations"]]
    return [v["rule"] for v in rules["x-kubernetes-validations"]], on_each


def test_routes_that_differ_in_path_and_backend_share_the_verdicts_of_their_rule_limits() -> None:
    """The limits on `spec.rules` (at most 128 matches in all) and on each rule (redirect and rewrite filters)
    count matches and look at path types, never at a path's value or a Backend's name: 50 functions' routes cost
    one evaluation of each, not 50 (issue 29: these were 6 of the 16 evaluations each function added)."""
    on_rules, on_each_rule = http_route_rule_validations()
    first, second = http_route_rule("/fn000", "fn000"), http_route_rule("/fn001", "fn001")
    count_rule = next(rule for rule in on_rules if "<= 128" in rule)
    assert rule_input(count_rule, [first]) == rule_input(count_rule, [second]) == [{"matches": [None]}]
    shared = [rule for rule in on_each_rule if rule_input(rule, first) == rule_input(rule, second)]
    assert len(on_each_rule) == 5 and shared == on_each_rule


def test_what_the_rule_limits_read_still_decides_their_verdict() -> None:
    """The projection keeps what decides: 129 matches break the limit of 128, and a ReplacePrefixMatch rewrite on a
    rule with two matches breaks its rule, on the projection as on the whole object."""
    on_rules, on_each_rule = http_route_rule_validations()
    count_rule = next(rule for rule in on_rules if "<= 128" in rule)
    many = [{**http_route_rule(f"/fn{i}", "fn"), "matches": [{"path": {"value": f"/p{j}"}} for j in range(32)]}
            for i in range(4)]  # fmt: skip
    assert verdict(count_rule, rule_input(count_rule, many)) is None  # 4 x 32: at the limit, not over
    many[0]["matches"].append({"path": {"value": "/one-more"}})
    assert verdict(count_rule, rule_input(count_rule, many)) is not None
    assert verdict(count_rule, many) is not None
    rewrite = next(rule for rule in on_each_rule if "self.filters.exists_one(f, has(f.urlRewrite)" in rule)
    rule = {
        **http_route_rule("/fn000", "fn000"),
        "filters": [
            {"type": "URLRewrite", "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}}}
        ],
    }
    assert verdict(rewrite, rule_input(rewrite, rule)) is None
    two = {**rule, "matches": [*rule["matches"], {"path": {"type": "PathPrefix", "value": "/other"}}]}
    assert verdict(rewrite, rule_input(rewrite, two)) is not None
    exact = {**rule, "matches": [{"path": {"type": "Exact", "value": "/fn000"}}]}
    assert verdict(rewrite, rule_input(rewrite, exact)) is not None
    # The same limit on a rewrite inside a backendRef's filters: read through two macros (`exists_one`).
    on_backend = next(rule for rule in on_each_rule if "b.filters.exists_one(f, has(f.urlRewrite)" in rule)
    backend_ref = {**http_route_rule("/fn000", "fn000")["backendRefs"][0], "filters": rule["filters"]}
    by_backend = {**http_route_rule("/fn000", "fn000"), "backendRefs": [backend_ref]}
    assert verdict(on_backend, rule_input(on_backend, by_backend)) is None
    for broken in ({**by_backend, "matches": two["matches"]}, {**by_backend, "matches": exact["matches"]}):
        assert verdict(on_backend, rule_input(on_backend, broken)) is not None
        assert verdict(on_backend, broken) is not None


def emitted_objects() -> list[dict[str, Any]]:
    """What the program emits for kgateway main (the goldens) and a policy with every protection kind."""
    found: dict[str, dict[str, Any]] = {}
    for golden in sorted((PROJECT_ROOT / "tests" / "golden").glob("*-main.yaml")):
        for document in yaml.safe_load_all(golden.read_text()):
            if document and document["kind"] not in ("Secret", "ServiceAccount"):
                found[json.dumps(document, sort_keys=True)] = document
    spec, provider, _, extension = protection_objects(PROTECTION, "echo")
    support = TRAFFIC_POLICY_SUPPORT["main"]
    policy = traffic_policy_manifest(support, name="echo", namespace="team-a", route_name="echo", protection=spec)
    assert provider is not None and extension is not None
    extension_manifest = jwt_gateway_extension_manifest(support, name=extension, namespace="team-a", provider=provider)
    for document in (policy, extension_manifest):
        found[json.dumps(document, sort_keys=True)] = document
    return list(found.values())


def broken_variants(obj: Any, depth: int = 0) -> Iterator[Any]:
    """The object with one key removed, or one leaf changed to what rules refuse, at each place in turn."""
    if depth > 3:
        return
    if isinstance(obj, dict):
        for key, value in obj.items():
            without = {k: v for k, v in obj.items() if k != key}
            yield without
            for variant in broken_variants(value, depth + 1):
                yield {**obj, key: variant}
    elif isinstance(obj, list) and obj:
        yield []
        yield [*obj, copy.deepcopy(obj[0])]
        for variant in broken_variants(obj[0], depth + 1):
            yield [variant, *obj[1:]]
    elif isinstance(obj, str):
        yield "//x/../"
        yield ""
    elif isinstance(obj, bool):
        yield not obj
    elif isinstance(obj, (int, float)):
        yield 0


def rule_nodes(obj: Any, schema: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(rule, the node it applies to) for every CEL rule of the schema that `obj` meets, as cel_violations walks."""
    for validation in schema.get("x-kubernetes-validations", []):
        if "oldSelf" not in validation["rule"]:
            yield validation["rule"], obj
    if isinstance(obj, dict):
        for key, value in obj.items():
            child = (schema.get("properties") or {}).get(key)
            if child is None and isinstance(schema.get("additionalProperties"), dict):
                child = schema["additionalProperties"]
            if child is not None:
                yield from rule_nodes(value, child)
    elif isinstance(obj, list) and "items" in schema:
        for value in obj:
            yield from rule_nodes(value, schema["items"])


def verdict(rule: str, value: Any) -> str | None:
    return crd_validation._verdict(rule, json.dumps(value, sort_keys=True))


def test_each_rule_judges_what_it_reads_as_it_judges_the_whole_object() -> None:
    checked = refused = 0
    for manifest in emitted_objects():
        for crd_file, served in crd_files(manifest, "main"):
            schema = served_schema(crd_validation.load_yaml(CRDS / crd_file), served)
            spec_schema = schema["properties"]["spec"]
            spec = with_defaults(manifest, schema).get("spec", manifest.get("spec"))
            seen: set[tuple[str, str]] = set()
            for variant in [spec, *broken_variants(spec)]:
                for rule, node in rule_nodes(variant, spec_schema):
                    key = (rule, json.dumps(node, sort_keys=True))
                    if key in seen:
                        continue
                    seen.add(key)
                    whole = verdict(rule, node)
                    assert verdict(rule, rule_input(rule, node)) == whole, (rule, node)
                    checked += 1
                    refused += whole is not None
    assert checked > 1000 and refused > 50  # the variants do break rules: both verdicts are exercised
