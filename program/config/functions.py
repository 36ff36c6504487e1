"""Each function entry (or the flat keys): the function to create or route, and its Backend."""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.kgateway_api import (
    KgatewayVersion,
    versions_with,
)
from components.lambda_function import Architecture, Runtime
from components.validation import (
    ALIAS,
    FUNCTION_ARN_RE,
    FUNCTION_NAME,
    LOG_RETENTION_DAYS,
    QUALIFIER,
)
from program import keys
from program.config.project import LAMBDA_SRC
from program.config.reader import DEFAULTS, Reader, only_in
from program.config.settings import BackendSettings, FunctionSettings, Origin

RUNTIMES: tuple[str, ...] = tuple(r.value for r in Runtime)
ARCHITECTURES: tuple[str, ...] = tuple(a.value for a in Architecture)
SOURCE_DIR_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
FUNCTION_FIELDS = keys.function_fields()


@dataclass(frozen=True)
class SharedBackend:
    kgateway: KgatewayVersion | None
    namespace: str
    account_id: str | None
    endpoint_url: str | None
    wait_for_acceptance: bool


def read_target(reader: Reader, shared: SharedBackend) -> tuple[FunctionSettings, BackendSettings, dict[str, Origin]]:
    existing = reader.optional_pattern(
        "functionArn",
        FUNCTION_ARN_RE,
        "must be the ARN of an existing Lambda function (arn:aws:lambda:<region>:<account>:function:<name>)",
        "arn:aws:lambda:us-east-1:123456789012:function:echo",
    )
    arn_name = match["name"] if existing and (match := FUNCTION_ARN_RE.match(existing)) else None
    if reader.entry and "name" not in reader.entry and "arn" not in reader.entry:
        reader.fail(f"{reader.prefix}.name", None, "is required in each functions entry (or arn)", "echo")
    # Pulumi.yaml gives functionName a default, so under the CLI it is never unset: with an ARN, the declared
    # default counts as unset (the name comes from the ARN); any other name must be the ARN's. Inside a
    # `functions` entry nothing is defaulted, so a name there is always the user's own.
    flat_name = reader.source.get(reader.key("functionName")) if not reader.entry else None
    if arn_name is not None and not reader.in_entry("functionName") and flat_name in (None, DEFAULTS["functionName"]):
        function_name = arn_name
        name_origin: Origin = (reader.key("functionArn"), existing)
    else:
        function_name = reader.rule("functionName", FUNCTION_NAME)
        if arn_name is not None and function_name != arn_name:
            reader.fail("functionName", function_name, f"must be the name in the ARN ({arn_name}) or unset", arn_name)
        name_origin = (reader.key("functionName"), function_name)
    source_name = reader.pattern(
        "functionSource",
        SOURCE_DIR_RE,
        "must name a folder under lambda_src/ (lower-case letters, digits, '-', '_')",
        "echo",
    )
    source_dir = LAMBDA_SRC / source_name
    if SOURCE_DIR_RE.match(source_name) and not (source_dir / "index.mjs").is_file():
        available = sorted(p.name for p in LAMBDA_SRC.iterdir() if (p / "index.mjs").is_file())
        reader.fail(
            "functionSource",
            source_name,
            f"must be a folder of lambda_src/ with an index.mjs; have {available}",
            "echo",
        )
    if existing is not None and reader.raw("alias") is not None:
        reader.fail("alias", reader.raw("alias"), "is only for functions this stack creates; use qualifier", "unset")
    function = FunctionSettings(
        existing_arn=existing,
        name=function_name,
        source_dir=source_dir,
        runtime=reader.choice("runtime", RUNTIMES),
        architecture=reader.choice("architecture", ARCHITECTURES),
        memory_mb=reader.integer("memorySize", 128, 10240, 128),
        timeout_s=reader.integer("timeout", 1, 900, 10),
        log_retention_days=_read_retention(reader),
        alias=reader.optional_rule("alias", ALIAS),
    )
    version = shared.kgateway
    # Unset means pass-through ("None"), the guide's response, where the version has the switch at all.
    payload_mode = (
        reader.choice("payloadTransformMode", ("None", "Envoy")) if reader.raw("payloadTransformMode") else "None"
    )
    explicit_payload = reader.raw("payloadTransformMode") is not None
    if version is not None and not version.has_payload_transform_mode and explicit_payload:
        having = versions_with(lambda v: v.has_payload_transform_mode)
        reader.fail(
            "payloadTransformMode",
            payload_mode,
            f"is not a field of kgateway {version.name}; {only_in(having)}",
            "unset it, or set kgatewayVersion to " + having[0],
        )
    qualifier = reader.optional_rule("qualifier", QUALIFIER)
    if function.alias is not None and qualifier not in (None, function.alias):
        reader.fail(
            "qualifier",
            qualifier,
            f"must be unset or equal to alias ({function.alias!r}): the Backend invokes the alias",
            function.alias,
        )
    backend = BackendSettings(
        kgateway=version,
        namespace=shared.namespace,
        name=reader.object_name("backendName", function_name),
        account_id=shared.account_id,
        qualifier=qualifier,
        invocation_mode="Async" if reader.choice("invocationMode", ("Sync", "Async")) == "Async" else "Sync",
        payload_transform_mode=("Envoy" if payload_mode == "Envoy" else "None") if explicit_payload else None,
        endpoint_url=shared.endpoint_url,
        wait_for_acceptance=shared.wait_for_acceptance,
    )
    origins: dict[str, Origin] = {"name": name_origin, "backendName": name_origin}
    for field_name, key in (
        ("backendName", "backendName"),
        ("qualifier", "alias"),
        ("qualifier", "qualifier"),
        ("invocationMode", "invocationMode"),
        ("payloadTransformMode", "payloadTransformMode"),
        ("namespace", "namespace"),
        ("accountId", "accountId"),
        ("endpointUrl", "endpointUrl"),
        ("secretName", "secretName"),
    ):
        if reader.raw(key) is not None:
            origins[field_name] = (reader.key(key), reader.raw(key))
    return function, backend, origins


def _read_retention(reader: Reader) -> int:
    value = reader.raw("logRetentionDays")
    if value is None or not value.isdigit() or int(value) not in LOG_RETENTION_DAYS:
        reader.fail(
            "logRetentionDays",
            value,
            f"must be one of CloudWatch's retention periods: {', '.join(map(str, LOG_RETENTION_DAYS))}",
            "14",
        )
        return 14
    return int(value)
