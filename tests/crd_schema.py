"""Validate objects against a real CRD's served schema the way an API server with strict field validation
would: unknown fields are errors, and the CEL rules (`x-kubernetes-validations`) are evaluated."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml


@cache
def _served_from_file(crd_path: Path, version: str) -> dict[str, Any]:
    return served_schema(yaml.safe_load(crd_path.read_text()), version)


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


def schema_errors(obj: dict[str, Any], crd: Path | dict[str, Any], version: str) -> list[str]:
    """Errors of `obj` against a CRD (a file, or a document) as an API server would report them."""
    schema = (
        _served_from_file(crd, version)
        if isinstance(crd, Path)
        else _served_from_text(json.dumps(crd, sort_keys=True), version)
    )
    obj = with_defaults(obj, schema)
    validator = jsonschema.Draft7Validator(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]
    from tests.cel_rules import cel_errors

    return errors + cel_errors(obj, schema)
