"""The component package's schema, as Pulumi's own analyzer infers it from the components' type annotations.

`pulumi package add` asks the plugin (provider/__main__.py) for exactly this; here it is made offline, for the
golden file, the metaschema check and the README's reference table.
"""

from __future__ import annotations

import json
from typing import Any

from pulumi.provider.experimental.component import ComponentProvider

from components import COMPONENTS, __version__
from components.tokens import PACKAGE


def package_provider() -> ComponentProvider:
    """The provider `component_provider_host` would serve (without starting a server)."""
    return ComponentProvider(list(COMPONENTS), PACKAGE, None, __version__)


def package_schema() -> dict[str, Any]:
    schema = package_provider().schema
    assert schema is not None
    return json.loads(schema)  # type: ignore[no-any-return]


def _type_text(spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        ref = str(spec["$ref"])
        return ref.rsplit("/", 1)[-1].rsplit(":", 1)[-1] if ref.startswith("#/") else ref.split("#/", 1)[-1]
    if spec.get("type") == "array":
        return f"list of {_type_text(spec['items'])}"
    if spec.get("type") == "object":
        return f"map of {_type_text(spec.get('additionalProperties', {'type': 'string'}))}"
    return str(spec.get("type", "any"))


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _rows(properties: dict[str, Any], required: list[str]) -> list[str]:
    return [
        f"| `{name}` | {_type_text(spec)} | {'yes' if name in required else ''} | {_cell(spec.get('description'))} |"
        for name, spec in properties.items()
    ]


def reference_markdown(schema: dict[str, Any]) -> str:
    """The README's components reference: every component's inputs and outputs, then the types they use."""
    lines: list[str] = []
    for token, resource in schema["resources"].items():
        lines += [f"#### `{token}`", "", _cell(resource.get("description")), ""]
        lines += ["| input | type | required | description |", "|---|---|---|---|"]
        lines += _rows(resource.get("inputProperties", {}), resource.get("requiredInputs", []))
        lines += ["", "| output | type | always set | description |", "|---|---|---|---|"]
        lines += _rows(resource.get("properties", {}), resource.get("required", []))
        lines.append("")
    for token, spec in schema.get("types", {}).items():
        name = token.rsplit(":", 1)[-1]
        lines += [f"#### `{name}`", "", _cell(spec.get("description")), ""]
        if "enum" in spec:
            lines += ["| value | meaning |", "|---|---|"]
            lines += [f"| `{value['value']}` | {value.get('description') or ''} |" for value in spec["enum"]]
        else:
            lines += ["| field | type | required | description |", "|---|---|---|---|"]
            lines += _rows(spec.get("properties", {}), spec.get("required", []))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
