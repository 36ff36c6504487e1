"""Each function entry (or the flat keys): the function to create or route, and its Backend."""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pulumi

from components.kgateway_api import (
    KgatewayVersion,
    versions_with,
)
from components.lambda_function import Architecture, PackageType, Runtime, default_handler, handler_files
from components.validation import (
    ALIAS,
    ENVIRONMENT_SIZE,
    ENVIRONMENT_SIZE_LIMIT,
    FUNCTION_ARN_RE,
    FUNCTION_NAME,
    HANDLER,
    IMAGE_URI,
    LOG_RETENTION_DAYS,
    QUALIFIER,
    RUNTIME,
    environment_problem,
    environment_size,
)
from program import keys
from program.config.errors import Named, Problem
from program.config.project import LAMBDA_SRC, PROJECT, PROJECT_ROOT
from program.config.reader import DEFAULTS, Reader, closest, only_in
from program.config.settings import BackendSettings, FunctionSettings, Origin
from program.config.sources import config_path, config_text

ARCHITECTURES: tuple[str, ...] = tuple(a.value for a in Architecture)
PACKAGE_TYPES: tuple[str, ...] = tuple(t.value for t in PackageType)
RUNTIME_NAMES: tuple[str, ...] = tuple(r.value for r in Runtime)
SOURCE_DIR_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
FUNCTION_FIELDS = keys.function_fields()


@dataclass(frozen=True)
class SharedBackend:
    region: str
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
    code = read_code(reader, shared.region) if existing is None else Code(None, "nodejs24.x", "", "Zip", None)
    if existing is not None and reader.raw("alias") is not None:
        reader.fail("alias", reader.raw("alias"), "is only for functions this stack creates; use qualifier", "unset")
    environment = read_environment(reader)
    function = FunctionSettings(
        existing_arn=existing,
        name=function_name,
        source_dir=code.source,
        runtime=code.runtime,
        handler=code.handler,
        package_type=code.package_type,
        image_uri=code.image_uri,
        environment=environment,
        secret_environment=secret_environment(reader, function_name, environment),
        architecture=reader.choice("architecture", ARCHITECTURES),
        memory_mb=reader.integer("memorySize", 128, 10240, 128),
        timeout_s=reader.integer("timeout", 1, 900, 10),
        log_retention_days=_read_retention(reader),
        alias=reader.optional_rule("alias", ALIAS),
    )
    check_environment_size(reader, dict(function.environment), function_name)
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
        ("source", "functionSource"),
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


@dataclass(frozen=True)
class Code:
    source: Path | None
    runtime: str
    handler: str
    package_type: Literal["Zip", "Image"]
    image_uri: str | None


def _written_here(reader: Reader, name: str) -> bool:
    """The user set the key (in the entry or the stack file) to something other than Pulumi.yaml's default."""
    return reader.in_entry(name) or reader.source.get(reader.key(name)) not in (None, "", DEFAULTS.get(name))


def read_code(reader: Reader, region: str) -> Code:
    """What the function runs: a container image by URI, or a zip from a folder (any kind build_package builds)
    or a prebuilt .zip, with a runtime and a handler whose file the source has."""
    # Optional, never declared in Pulumi.yaml: an older release's program never meets a key it does not know.
    package_type = reader.choice("packageType", PACKAGE_TYPES) if reader.raw("packageType") is not None else "Zip"
    if package_type == "Image":
        uri = reader.rule("imageUri", IMAGE_URI, "is required with packageType Image: " + IMAGE_URI.allowed[8:])
        if (match := IMAGE_URI.pattern.match(uri)) is not None and match["region"] != region:
            reader.fail(
                "imageUri",
                uri,
                f"must be in the function's region {region} (Lambda takes ECR images only "
                "from the function's own region)",
                IMAGE_URI.example.replace("us-east-1", region),
            )
        for key in ("functionSource", "runtime", "handler"):
            if _written_here(reader, key):
                reader.fail(
                    key, reader.raw(key), "is not used with packageType Image (the image has it): remove it", "unset"
                )
        return Code(None, "", "", "Image", uri)
    if reader.raw("imageUri") is not None:
        reader.fail("imageUri", reader.raw("imageUri"), "is only for packageType Image", "unset")
    runtime = reader.rule("runtime", RUNTIME, example=closest(reader.raw("runtime"), RUNTIME_NAMES) or None)
    handler = reader.raw("handler") or default_handler(runtime)
    if not HANDLER.pattern.match(handler):
        reader.fail("handler", handler, HANDLER.allowed, default_handler(runtime))
    written = reader.raw("functionSource") or "echo"
    source = LAMBDA_SRC / written if SOURCE_DIR_RE.match(written) else Path(written)
    if not source.is_absolute():
        source = PROJECT_ROOT / source
    if not (source.is_dir() or (source.is_file() and source.suffix == ".zip")):
        available = sorted(p.name for p in LAMBDA_SRC.iterdir() if p.is_dir())
        reader.fail(
            "functionSource",
            written,
            f"must be a folder of lambda_src/ (have {available}), or the path of a folder or a prebuilt .zip "
            "(relative to the project)",
            "echo",
        )
        return Code(source, runtime, handler, "Zip", None)
    if HANDLER.pattern.match(handler):
        files = _source_files(source)
        candidates = handler_files(runtime, handler)
        if not any(candidate in files for candidate in candidates):
            other = _runtime_of_source(files, runtime, handler)
            if other is not None:
                # The source is another language's: the runtime is what is wrong, not the handler.
                reader.fail(
                    "runtime",
                    runtime,
                    f"does not run {written}: it holds {other[1]} (a {other[0]} source) and no "
                    f"{' or '.join(candidates)}; set runtime to a {other[0]} runtime, or give a source for {runtime}",
                    other[2],
                )
            else:
                reader.fail(
                    "handler",
                    handler,
                    f"needs {' or '.join(candidates)} in {written} for {runtime}; set handler to its file and function",
                    default_handler(runtime),
                )
    return Code(source, runtime, handler, "Zip", None)


def _runtime_of_source(files: set[str], runtime: str, handler: str) -> tuple[str, str, str] | None:
    """(language, the file found, a runtime of it) when the source holds the handler's file (or the default
    handler's) for a runtime of another language than `runtime`'s, else None."""
    for language, prefix in (("Node.js", "nodejs"), ("Python", "python")):
        if runtime.startswith(prefix):
            continue
        other = next(name for name in RUNTIME_NAMES if name.startswith(prefix))
        for name in (handler, default_handler(other)):
            found = [candidate for candidate in handler_files(other, name) if candidate in files]
            if found:
                return language, found[0], other
    return None


def _source_files(source: Path) -> set[str]:
    """The files a source offers the runtime: a zip's entries, or the folder's files (relative, `/`-separated)."""
    if source.is_file():
        try:
            with zipfile.ZipFile(source) as archive:
                return set(archive.namelist())
        except zipfile.BadZipFile:
            return set()
    return {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()}


def read_environment(reader: Reader) -> tuple[tuple[str, str], ...]:
    """Plain environment variables (values as text, as Lambda keeps them)."""
    variables = reader.structured("environment", dict) or {}
    for variable, value in variables.items():
        if (problem := environment_problem(variable)) is not None:
            reader.fail("environment", variable, problem, "STAGE")
        if isinstance(value, dict | list) or value is None:
            reader.fail("environment", {variable: value}, "must map each variable to a text value", "STAGE: prod")
    pairs = {str(k): config_text(v) for k, v in variables.items()}
    return tuple(sorted(pairs.items()))


def check_environment_size(reader: Reader, plain: dict[str, str], function_name: str) -> None:
    """Lambda's 4 KB on the function's whole environment as Lambda measures it (`environment_size`): the plain
    variables and its `secretEnvironment` entry, merged as the function gets them (program/stack.py
    `function_args`). Secret values are measured from the decrypted config text and never shown: only the size."""
    secret: dict[str, str] = {}
    text = reader.source.get(SECRET_ENVIRONMENT) if reader.source.is_secret(SECRET_ENVIRONMENT) else None
    try:
        entries = json.loads(text) if text is not None else {}
    except ValueError:
        entries = {}  # reported by `secret_environment`
    mine = entries.get(function_name) if isinstance(entries, dict) else None
    if isinstance(mine, dict):
        secret = {str(k): config_text(v) for k, v in mine.items()}
    size = environment_size({**plain, **secret})
    if size <= ENVIRONMENT_SIZE_LIMIT:
        return
    where = f"{ENVIRONMENT_SIZE}, this function's secretEnvironment included" if secret else ""
    if plain:
        reader.fail("environment", f"{size} bytes", where or ENVIRONMENT_SIZE, "fewer or shorter variables")
    else:
        key = f"{SECRET_ENVIRONMENT}.{function_name}"
        reader.problems.append(Problem(key, f"{size} bytes", f"measures {size} bytes: {where}", "fewer variables"))


SECRET_ENVIRONMENT = f"{PROJECT}:secretEnvironment"


def secret_environment(
    reader: Reader, function_name: str, environment: tuple[tuple[str, str], ...] = ()
) -> pulumi.Output[dict[str, str]] | None:
    """This function's entry of `secretEnvironment` (`{<function name>: {VARIABLE: value}}`, stored encrypted): its
    names are checked here from the text; the values reach the function only as a Pulumi secret. A variable also
    in the function's plain `environment` is refused there: the secret would win, and the plain copy would stay in
    the stack file (in git)."""
    key = SECRET_ENVIRONMENT
    text = reader.source.get(key)
    if text is None:
        return None
    if not reader.source.is_secret(key):
        if function_name == _first_function(reader):
            reader.problems.append(
                Problem(
                    key,
                    "[plain text]",
                    "must be stored encrypted; set each value with "
                    "`pulumi config set --secret --path 'secretEnvironment.<function>.<VARIABLE>' <value>`",
                    "pulumi config set --secret --path secretEnvironment.echo.API_TOKEN <value>",
                )
            )
        return None
    try:
        entries = json.loads(text)
    except ValueError:
        entries = None
    if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
        if function_name == _first_function(reader):
            reader.problems.append(
                Problem(
                    key, "[secret]", "must map function names to {VARIABLE: value} mappings", "{echo: {API_TOKEN: ...}}"
                )
            )
        return None
    mine = entries.get(function_name)
    if mine is None:
        return None
    plain_names = {name for name, _ in environment}
    for variable, text in mine.items():
        if isinstance(text, dict | list) or text is None:
            place = config_path("secretEnvironment", function_name, variable)
            reader.problems.append(
                Problem(
                    f"{PROJECT}:{place}",
                    "[secret]",
                    "must be a text value (Lambda's variables are text)",
                    f"pulumi config set --secret --path '{place}' <value>",
                )
            )
        if variable in plain_names:
            reader.fail(
                "environment",
                Named(variable),
                f"is also set in secretEnvironment ({config_path('secretEnvironment', function_name, variable)}): "
                "the function gets the secret, and this plain copy stays in the stack file (in git); remove it from "
                "environment",
                "remove it",
            )
        if (problem := environment_problem(variable)) is not None:
            reader.problems.append(Problem(f"{key}.{function_name}", Named(variable), problem, "API_TOKEN"))
    value = reader.source.secret(key)
    if value is None:  # validation only (no engine): the names are checked, nothing is deployed
        return None
    return pulumi.Output.secret(
        value.apply(lambda t: {str(k): config_text(v) for k, v in json.loads(t)[function_name].items()})
    )


def check_secret_environment_names(reader: Reader, function_names: list[str]) -> None:
    """Each function `secretEnvironment` names is one this stack creates (a typo would deploy without it)."""
    key = SECRET_ENVIRONMENT
    text = reader.source.get(key)
    try:
        entries = json.loads(text) if text is not None and reader.source.is_secret(key) else {}
    except ValueError:
        return
    for name in entries if isinstance(entries, dict) else {}:
        if name not in function_names:
            guess = closest(name, function_names)
            reader.problems.append(
                Problem(
                    f"{key}.{name}",
                    Named(name),
                    f"must name a function of this stack: {function_names}",
                    guess or "echo",
                )
            )


def _first_function(reader: Reader) -> str | None:
    """The function a stack-wide problem is reported with (once, not once per function)."""
    entries = reader.structured("functions", list) if reader.source.get(f"{PROJECT}:functions") else None
    if entries:
        first = entries[0]
        return str(first.get("name")) if isinstance(first, dict) else None
    return reader.raw("functionName")
