"""Evaluate a CRD schema's `x-kubernetes-validations` CEL rules on an object, with cel-python."""

from __future__ import annotations

import json
from functools import cache, lru_cache
from typing import Any

import celpy


@cache
def _program(rule: str) -> Any:
    env = celpy.Environment()
    return env.program(env.compile(rule))


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


def cel_errors(obj: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    errors: list[str] = []
    for validation in schema.get("x-kubernetes-validations", []):
        rule = validation["rule"]
        if "oldSelf" in rule:  # transition rules only apply to updates
            continue
        verdict = _verdict(rule, json.dumps(obj, sort_keys=True))
        if verdict is not None:
            errors.append(f"{path or '/'}: {validation.get('message', rule)} ({verdict})")
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key in schema.get("properties", {}):
                errors += cel_errors(value, schema["properties"][key], f"{path}/{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += cel_errors(value, schema["additionalProperties"], f"{path}/{key}")
    elif isinstance(obj, list) and "items" in schema:
        for index, value in enumerate(obj):
            errors += cel_errors(value, schema["items"], f"{path}/{index}")
    return errors
