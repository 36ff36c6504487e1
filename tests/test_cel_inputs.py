"""The preflight caches each CEL rule's verdict by what the rule reads of `self` (program/crd_validation.py
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
from program.config import PROJECT_ROOT
from program.crd_validation import CRDS, crd_files, rule_input, rule_paths, served_schema, with_defaults

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
        ("has(self.a.b)", ((("a", "b"), True),)),
        ("self.a.size() > 0", ((("a",), False),)),
        ("self.type == 'AWS' ? has(self.aws) : true", ((("type",), False), (("aws",), True))),
        ("size(self) > 1", None),
        ("self.all(x, x.kind == 'HTTPRoute')", None),
        ("self[0].name != ''", None),
        ("self.name != 'self.secret'", ((("name",), False),)),  # a string literal is not a read
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
    assert rule_input("size(self) > 0", obj) is obj


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
