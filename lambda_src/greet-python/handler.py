"""A Python function with a dependency (humanize), built by kgateway-lambda for Lambda's platform."""

import json
from typing import Any

import humanize


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Greets, and says how large the request was in words a person reads (the dependency's job)."""
    size = len(json.dumps(event, sort_keys=True).encode())
    body = {"message": "Hello from Python on Lambda", "request_size": humanize.naturalsize(size)}
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}
