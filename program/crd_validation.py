"""Validate objects against a real CRD's served schema the way an API server with strict field validation
would: schema defaults applied, unknown fields are errors, list types (`x-kubernetes-list-type` set and map) hold,
and the CEL rules (`x-kubernetes-validations`) are evaluated (with cel-python; a rule that fails to evaluate refuses
the object, as the API server's does).

The program's preflight and the tests both use it; `CRDS` are the files the program ships (program/crds).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import celpy
import jsonschema
import yaml

from program.cel_reads import rule_input
from program.path_rules import path_rule_holds

CRDS = Path(__file__).resolve().parent / "crds"
# libyaml's loader where PyYAML was built with it: the CRDs are megabytes, and this runs in every `pulumi up`.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_LOADER)


@cache
def _served_from_file(crd_path: Path, version: str) -> dict[str, Any]:
    return served_schema(load_yaml(crd_path), version)


@cache
def _served_from_text(crd_json: str, version: str) -> dict[str, Any]:
    return served_schema(json.loads(crd_json), version)


def served_schema(crd: dict[str, Any], version: str) -> dict[str, Any]:
    for served in crd["spec"]["versions"]:
        if served["name"] == version and served.get("served"):
            return strict(served["schema"]["openAPIV3Schema"])
    raise LookupError(f"{crd['metadata']['name']} serves no version {version}")


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy in which every object with declared properties rejects undeclared ones."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def with_defaults(obj: Any, schema: dict[str, Any]) -> Any:
    """The object as the API server stores it: schema defaults filled in, before validation and CEL."""
    if isinstance(obj, dict):
        obj = dict(obj)
        for key, sub in schema.get("properties", {}).items():
            if key not in obj and "default" in sub:
                obj[key] = copy.deepcopy(sub["default"])
            if key in obj:
                obj[key] = with_defaults(obj[key], sub)
    elif isinstance(obj, list) and "items" in schema:
        obj = [with_defaults(item, schema["items"]) for item in obj]
    return obj


@dataclass(frozen=True)
class Violation:
    """One rule of a CRD an object breaks: where in the object, the rule (with its limit), and the API server's
    own words for it (which may quote the value)."""

    path: tuple[str | int, ...]
    rule: str
    message: str
    cel: bool = False

    def __str__(self) -> str:
        where = "/".join(map(str, self.path))
        return f"{'/' + where if self.cel else where}: {self.message}" if where else f"/: {self.message}"


# The rule a JSON Schema keyword states, in words, with the CRD's limit (never the value that broke it).
_RULES = {
    "maxLength": "at most {} character(s)",
    "minLength": "at least {} character(s)",
    "maxItems": "at most {} items",
    "minItems": "at least {} items",
    "maxProperties": "at most {} entries",
    "maximum": "at most {}",
    "minimum": "at least {}",
    "pattern": "must match the pattern {!r}",
    "enum": "must be one of {}",
    "type": "must be of type {}",
    "format": "must be in the format {}",
    "required": "must have the fields {}",
    "additionalProperties": "has a field the CRD does not declare",
}


def _rule(error: jsonschema.ValidationError) -> str:
    template = _RULES.get(str(error.validator))
    if template is None:
        return f"{error.validator} {error.validator_value!r}"
    if error.validator == "enum":
        allowed: Any = error.validator_value
        return template.format(", ".join(map(str, allowed)))
    return template.format(error.validator_value)


def schema_violations(obj: dict[str, Any], crd: Path | dict[str, Any], version: str) -> list[Violation]:
    """What an API server with this CRD (a file, or a document) refuses in `obj`."""
    schema = (
        _served_from_file(crd, version)
        if isinstance(crd, Path)
        else _served_from_text(json.dumps(crd, sort_keys=True), version)
    )
    obj = with_defaults(obj, schema)
    validator = jsonschema.Draft7Validator(schema)
    found = [Violation(tuple(e.absolute_path), _rule(e), e.message) for e in validator.iter_errors(obj)]
    return found + list_type_violations(obj, schema) + cel_violations(obj, schema)


def schema_errors(obj: dict[str, Any], crd: Path | dict[str, Any], version: str) -> list[str]:
    """Errors of `obj` against a CRD (a file, or a document) as an API server would report them."""
    return [str(violation) for violation in schema_violations(obj, crd, version)]


def _uniqueness_key(value: Any) -> tuple[str, str]:
    """How the API server tells list items apart: compounds by their JSON, scalars by type and value (Go's
    interface equality: 1 and 1.0, or true and 1, differ)."""
    if isinstance(value, dict | list):
        return ("compound", json.dumps(value, sort_keys=True))
    return (type(value).__name__, json.dumps(value))


def _repeated(keys: list[Any]) -> list[int]:
    """The index of each value's second appearance (once per value), as `validateListSet` reports them."""
    seen: dict[tuple[str, str], int] = {}
    repeated = []
    for index, key in enumerate(keys):
        mark = _uniqueness_key(key)
        seen[mark] = seen.get(mark, 0) + 1
        if seen[mark] == 2:
            repeated.append(index)
    return repeated


def _children(
    obj: Any, schema: dict[str, Any], path: tuple[str | int, ...]
) -> Iterator[tuple[Any, dict[str, Any], tuple[str | int, ...]]]:
    """Each value inside `obj` that its schema describes, with that schema and its path: a mapping's declared
    properties (else its `additionalProperties` schema), a list's items."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in schema.get("properties", {}):
                yield value, schema["properties"][key], (*path, key)
            elif isinstance(schema.get("additionalProperties"), dict):
                yield value, schema["additionalProperties"], (*path, key)
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for index, value in enumerate(obj):
            yield value, schema["items"], (*path, index)


def list_type_violations(obj: Any, schema: dict[str, Any], path: tuple[str | int, ...] = ()) -> list[Violation]:
    """Lists the CRD declares `x-kubernetes-list-type: set` (no item twice) or `map` (no two items with the same
    `x-kubernetes-list-map-keys`), checked as the API server does (kubernetes/kubernetes
    staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype/validation.go @ 95f08499d652,
    `ValidateListSetsAndMaps`: "Duplicate value" at the repeated item's index); JSON Schema has no such rule."""
    found: list[Violation] = []
    if isinstance(obj, list):
        kind = schema.get("x-kubernetes-list-type")
        if kind == "set":
            rule = "must not repeat an item (x-kubernetes-list-type: set)"
            found.extend(Violation((*path, i), rule, f"Duplicate value: {json.dumps(obj[i])}") for i in _repeated(obj))
        elif kind == "map":
            names = list(schema.get("x-kubernetes-list-map-keys") or [])
            keys = [{n: item[n] for n in names if n in item} if isinstance(item, dict) else {} for item in obj]
            rule = f"must not repeat a key ({', '.join(names)}; x-kubernetes-list-type: map)"
            found.extend(
                Violation((*path, i), rule, f"Duplicate value: {json.dumps(keys[i], sort_keys=True)}")
                for i in _repeated(keys)
            )
    for value, child, at in _children(obj, schema, path):
        found += list_type_violations(value, child, at)
    return found


# Kubernetes' CEL quantity library, the part the shipped CRDs use (kubernetes/kubernetes
# staging/src/k8s.io/apiserver/pkg/cel/library/quantity.go: `quantity(string)`, `isGreaterThan`, `isLessThan`;
# values as k8s.io/apimachinery pkg/api/resource `ParseQuantity` reads them: a decimal number, then a binary
# (Ki..Ei) or decimal (n, u, m, k, M..E) suffix or an exponent). celpy lacks it: without it every rule that uses it
# would fail to evaluate, so an API server's accepted object would be refused here.
_QUANTITY_RE = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$")
_QUANTITY_SUFFIXES = {
    **{suffix: Decimal(1024) ** power for power, suffix in enumerate(("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
    **{suffix: Decimal(10) ** power for suffix, power in (("n", -9), ("u", -6), ("m", -3), ("k", 3), ("M", 6),
                                                          ("G", 9), ("T", 12), ("P", 15), ("E", 18))},
}  # fmt: skip


class _Quantity(celpy.celtypes.StringType):
    """A quantity value in CEL (its text; compared by `_quantity_value`)."""


def _quantity_value(text: Any) -> Decimal:
    match = _QUANTITY_RE.match(str(text))
    if match is None:
        raise ValueError(f"quantities must match the regular expression: {text!r}")
    number, suffix = Decimal(match[1]), match[2] or ""
    if suffix[:1] in ("e", "E"):
        return number * Decimal(10) ** int(suffix[1:])
    return number * _QUANTITY_SUFFIXES[suffix]


def _quantity(text: Any) -> _Quantity:
    _quantity_value(text)  # an unparsable quantity is an evaluation error, as in Kubernetes
    return _Quantity(str(text))


CEL_FUNCTIONS: dict[str, Any] = {
    "quantity": _quantity,
    "isGreaterThan": lambda a, b: celpy.celtypes.BoolType(_quantity_value(a) > _quantity_value(b)),
    "isLessThan": lambda a, b: celpy.celtypes.BoolType(_quantity_value(a) < _quantity_value(b)),
}


@cache
def _program(rule: str) -> Any:
    env = celpy.Environment()
    return env.program(env.compile(rule), functions=CEL_FUNCTIONS)


@lru_cache(maxsize=65536)
def _verdict(rule: str, obj_json: str) -> str | None:
    """None when the rule holds for the object; else why not. Pure, so cached: tests re-check equal objects."""
    try:
        result = _program(rule).evaluate({"self": celpy.json_to_cel(json.loads(obj_json))})
    except celpy.CELEvalError as failure:  # an API server rejects an object whose rule cannot evaluate
        return f"CEL error: {failure.args[0]}"
    if result is True or (isinstance(result, celpy.celtypes.BoolType) and bool(result)):
        return None
    return f"CEL: {rule}"


def cel_violations(obj: Any, schema: dict[str, Any], path: tuple[str | int, ...] = ()) -> list[Violation]:
    """The CEL rules (`x-kubernetes-validations`) `obj` breaks; the rule is the CRD's message for it."""
    found: list[Violation] = []
    for validation in schema.get("x-kubernetes-validations", []):
        rule = validation["rule"]
        if "oldSelf" in rule:  # transition rules only apply to updates
            continue
        holds = path_rule_holds(rule, obj)  # the HTTPRoute's path rules, judged in Python (program/path_rules.py)
        if holds is None:
            verdict = _verdict(rule, json.dumps(rule_input(rule, obj), sort_keys=True))
        else:
            verdict = None if holds else f"CEL: {rule}"
        if verdict is not None:
            message = validation.get("message", rule)
            found.append(Violation(path, message, f"{message} ({verdict})", cel=True))
    for value, child, at in _children(obj, schema, path):
        found += cel_violations(value, child, at)
    return found


def cel_errors(obj: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    return [str(v) for v in cel_violations(obj, schema, tuple(part for part in path.split("/") if part))]


# Which files validate the objects for each kgateway line (see crds/SOURCES.md).
MAIN = "kgateway-main-354c0f6"
V2_3 = "kgateway-v2.3.x-1eb924f"
V2_2 = "kgateway-v2.2.x-207dff9"
V2_0 = "kgateway-v2.0.0"
V2_4 = "kgateway-v2.4.x-6c33df2"  # TrafficPolicy, GatewayExtension, BackendConfigPolicy: its others are main's
V2_1 = "kgateway-v2.1.x-0d04052"


@dataclass(frozen=True)
class ValidationBasis:
    """The real CRDs an object for one kgateway release line must pass."""

    backend_crd: str
    gateway_parameters_crd: str
    gateway_api: tuple[str, ...]
    # TrafficPolicy, GatewayExtension and BackendConfigPolicy (route protection; v2.0.0 has no BackendConfigPolicy).
    policy_crds: tuple[str, ...] = (MAIN,)


BASIS: dict[str, ValidationBasis] = {
    "v2.0": ValidationBasis(V2_0, V2_0, ("v1.2.1",), policy_crds=(V2_0,)),
    "v2.1": ValidationBasis(V2_1, V2_1, ("v1.2.1", "v1.6.1"), policy_crds=(V2_1,)),
    "v2.2": ValidationBasis(V2_2, V2_2, ("v1.2.1", "v1.6.1"), policy_crds=(V2_2,)),
    "v2.3": ValidationBasis(V2_3, V2_3, ("v1.2.1", "v1.6.1"), policy_crds=(V2_3,)),
    "v2.4": ValidationBasis(MAIN, MAIN, ("v1.6.1",), policy_crds=(V2_4,)),
    "main": ValidationBasis(MAIN, MAIN, ("v1.6.1",), policy_crds=(MAIN,)),
    # The shape comes from the cluster: values are checked against the newest CRD, routes against both ends;
    # policies against v2.4's and main's (v2.4.x adds length limits main lacks).
    "auto": ValidationBasis(MAIN, MAIN, ("v1.2.1", "v1.6.1"), policy_crds=(V2_4, MAIN)),
}


# The route-protection kinds, validated against the line's `policy_crds`.
POLICY_PLURALS = {
    "TrafficPolicy": "trafficpolicies",
    "GatewayExtension": "gatewayextensions",
    "BackendConfigPolicy": "backendconfigpolicies",
}


def crd_files(manifest: dict[str, Any], line: str) -> list[tuple[str, str]]:
    """(file, served version) of every CRD the object must pass for a kgateway line."""
    basis = BASIS[line]
    kind = manifest["kind"]
    if kind == "Backend":
        return [(f"{basis.backend_crd}-backends.yaml", "v1alpha1")]
    if kind == "GatewayParameters":
        return [(f"{basis.gateway_parameters_crd}-gatewayparameters.yaml", "v1alpha1")]
    if kind in POLICY_PLURALS:
        return [(f"{crd}-{POLICY_PLURALS[kind]}.yaml", "v1alpha1") for crd in basis.policy_crds]
    plural = {"HTTPRoute": "httproutes", "ReferenceGrant": "referencegrants", "Gateway": "gateways"}[kind]
    served = manifest["apiVersion"].rsplit("/", 1)[1]
    return [(f"gateway-api-{api}-{plural}.yaml", served) for api in basis.gateway_api]


def crd_violations(
    manifest: dict[str, Any], crd_file: str, served: str = "v1alpha1", crds: Path = CRDS
) -> list[Violation]:
    """What an API server with this CRD file would refuse in the object."""
    return schema_violations(manifest, crds / crd_file, served)


def crd_errors(manifest: dict[str, Any], crd_file: str, served: str = "v1alpha1", crds: Path = CRDS) -> list[str]:
    """What an API server with this CRD file would refuse in the object."""
    return [str(violation) for violation in crd_violations(manifest, crd_file, served, crds)]


def object_violations(manifest: dict[str, Any], line: str, crds: Path = CRDS) -> dict[Violation, list[str]]:
    """Each rule the object breaks for a kgateway line, once, with the CRD files that hold the rule."""
    found: dict[Violation, list[str]] = {}
    for crd, served in crd_files(manifest, line):
        for violation in crd_violations(manifest, crd, served, crds):
            found.setdefault(violation, []).append(crd)
    return found


def object_errors(manifest: dict[str, Any], line: str, crds: Path = CRDS) -> list[str]:
    """Everything an API server running kgateway `line` would refuse in this object."""
    return [
        f"{crd}: {error}"
        for crd, served in crd_files(manifest, line)
        for error in crd_errors(manifest, crd, served, crds)
    ]
