"""The typed config layer: reads a stack's config once, validates all of it, and reports every problem.

`load_settings` runs before any resource is registered, so a bad stack config creates nothing. Each
problem names the config key, the bad value, what is allowed and an example.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

import pulumi

from components.kgateway_api import (
    DEFAULT_KGATEWAY_VERSION,
    KGATEWAY_VERSIONS,
    KgatewayVersion,
)

PROJECT = "kgateway-lambda"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_SRC = PROJECT_ROOT / "lambda_src"

CredentialsMode = Literal["generated", "provided", "irsa", "assume-role"]
CREDENTIALS_MODES: tuple[str, ...] = ("generated", "provided", "irsa", "assume-role")
RUNTIMES: tuple[str, ...] = ("nodejs24.x", "nodejs22.x")
ARCHITECTURES: tuple[str, ...] = ("arm64", "x86_64")
LOG_RETENTION_DAYS: tuple[int, ...] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
    3653,
)  # fmt: skip

FUNCTION_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SOURCE_DIR_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
ALIAS_RE = re.compile(r"^(?![0-9]+$)[A-Za-z0-9_-]{1,128}$")
QUALIFIER_RE = re.compile(r"^(\$LATEST|[0-9]+|[A-Za-z0-9_-]{1,128})$")
ACCOUNT_ID_RE = re.compile(r"^[0-9]{12}$")
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$")
ENDPOINT_URL_RE = re.compile(r"^https?://[-a-zA-Z0-9@:%.+~#?&/=]+$")
GATEWAY_URL_RE = re.compile(r"^https?://[^\s/]+$")
OIDC_PROVIDER_RE = re.compile(r"^(arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/|https://)[A-Za-z0-9./_-]+$")
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$")
ROTATION_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Gateway API's path rules for Exact/PathPrefix matches (the CRD's pattern and CEL rules).
PATH_CHARS_RE = re.compile(r"^/[-A-Za-z0-9._~!$&'()*+,;=:@%/]*$")
PATH_FORBIDDEN = ("//", "/./", "/../", "%2f", "%2F", "#")


class ConfigSource(Protocol):
    """Where raw config strings come from: Pulumi's config, or a dict in tests."""

    def get(self, key: str) -> str | None: ...

    def is_secret(self, key: str) -> bool: ...

    def secret(self, key: str) -> pulumi.Output[str] | None: ...


class PulumiConfigSource:
    """The stack config Pulumi hands the program (`namespace:key`, default namespace the project)."""

    def _split(self, key: str) -> tuple[pulumi.Config, str]:
        namespace, _, name = key.rpartition(":")
        return pulumi.Config(namespace or PROJECT), name

    def get(self, key: str) -> str | None:
        config, name = self._split(key)
        return config.get(name)

    def is_secret(self, key: str) -> bool:
        namespace, _, name = key.rpartition(":")
        return pulumi.runtime.is_config_secret(f"{namespace or PROJECT}:{name}")

    def secret(self, key: str) -> pulumi.Output[str] | None:
        config, name = self._split(key)
        return config.get_secret(name)


@dataclass(frozen=True)
class Problem:
    key: str
    value: object
    allowed: str
    example: str

    def __str__(self) -> str:
        shown = "(unset)" if self.value is None else repr(self.value)
        return f"{self.key} = {shown}: {self.allowed} (example: {self.example})"


class ConfigError(pulumi.RunError):
    """Every problem in the stack config, found before any resource was created."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack config ({len(problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class FunctionSettings:
    name: str
    source_dir: Path
    runtime: str
    architecture: str
    memory_mb: int
    timeout_s: int
    log_retention_days: int
    # Publish a version on each code change and point this alias at it; the Backend then invokes the alias.
    alias: str | None = None


@dataclass(frozen=True)
class CredentialsSettings:
    mode: CredentialsMode
    secret_name: str
    rotation: str
    access_key_id: pulumi.Output[str] | None = None
    secret_access_key: pulumi.Output[str] | None = None
    session_token: pulumi.Output[str] | None = None
    # irsa: the cluster's OIDC provider (ARN or issuer URL) and the GatewayParameters to create.
    oidc_provider: str | None = None
    gateway_parameters_name: str = "lambda-irsa"
    # assume-role: the gateway's ambient identity (e.g. its IRSA role) that may assume the invoke role.
    ambient_role_arn: str | None = None


@dataclass(frozen=True)
class BackendSettings:
    kgateway: KgatewayVersion
    namespace: str
    name: str
    account_id: str | None
    qualifier: str | None
    invocation_mode: Literal["Sync", "Async"]
    payload_transform_mode: Literal["None", "Envoy"]
    endpoint_url: str | None
    # Annotate the Backend and HTTPRoute so `pulumi up` waits until kgateway accepted them.
    wait_for_acceptance: bool = True


@dataclass(frozen=True)
class RouteSettings:
    name: str
    path: str
    gateway_name: str
    gateway_namespace: str
    listener_name: str | None


@dataclass(frozen=True)
class StackSettings:
    region: str
    function: FunctionSettings
    credentials: CredentialsSettings
    backend: BackendSettings
    route: RouteSettings
    gateway_url: str | None
    warnings: tuple[str, ...] = field(default=())


# Defaults: Pulumi.yaml declares the same values (a test keeps the two equal).
DEFAULTS: dict[str, str] = {
    "functionName": "echo",
    "functionSource": "echo",
    "runtime": "nodejs24.x",
    "architecture": "arm64",
    "memorySize": "128",
    "timeout": "10",
    "logRetentionDays": "14",
    "credentialsMode": "generated",
    "credentialsRotation": "1",
    "secretName": "aws-creds",
    "namespace": "kgateway-system",
    "kgatewayVersion": DEFAULT_KGATEWAY_VERSION,
    "invocationMode": "Sync",
    "routePath": "/echo",
    "gatewayName": "http",
    "gatewayNamespace": "kgateway-system",
    "waitForAcceptance": "true",
}


def dns_label_for(name: str) -> str:
    """A stable Kubernetes object name for an AWS name (which may hold upper case and `_`)."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].rstrip("-")
    return label or "lambda"


class _Reader:
    """Collects problems while reading, so the user sees all of them at once."""

    def __init__(self, source: ConfigSource):
        self.source = source
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    def key(self, name: str) -> str:
        return name if ":" in name else f"{PROJECT}:{name}"

    def raw(self, name: str) -> str | None:
        value = self.source.get(self.key(name))
        if value is None:
            value = DEFAULTS.get(name)
        return value

    def fail(self, name: str, value: object, allowed: str, example: str) -> None:
        self.problems.append(Problem(self.key(name), value, allowed, example))

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.raw(name)
        if value not in allowed:
            self.fail(name, value, f"must be one of {', '.join(allowed)}", allowed[0])
            return allowed[0]
        return value

    def pattern(self, name: str, regex: re.Pattern[str], allowed: str, example: str) -> str:
        value = self.raw(name)
        if value is None or not regex.match(value):
            self.fail(name, value, allowed, example)
            return example
        return value

    def optional_pattern(self, name: str, regex: re.Pattern[str], allowed: str, example: str) -> str | None:
        value = self.raw(name)
        if value is None or value == "":
            return None
        if not regex.match(value):
            self.fail(name, value, allowed, example)
        return value

    def integer(self, name: str, low: int, high: int, example: int) -> int:
        value = self.raw(name)
        try:
            number = int(str(value))
        except ValueError:
            number = low - 1
        if not low <= number <= high:
            self.fail(
                name,
                value,
                f"must be a whole number from {low} to {high}",
                str(example),
            )
            return example
        return number

    def boolean(self, name: str) -> bool:
        value = self.raw(name)
        if value not in ("true", "false"):
            self.fail(name, value, "must be true or false", "true")
            return True
        return value == "true"

    def dns_label(self, name: str, example: str) -> str:
        return self.pattern(
            name,
            DNS_LABEL_RE,
            "must be a DNS label: at most 63 lower-case letters, digits and '-', "
            "starting and ending with a letter or digit",
            example,
        )

    def object_name(self, name: str, function_name: str) -> str:
        """An optional Kubernetes object name; unset, it is derived from the function name."""
        if self.raw(name) is None:
            return dns_label_for(function_name)
        return self.dns_subdomain(name, dns_label_for(function_name))

    def dns_subdomain(self, name: str, example: str) -> str:
        value = self.pattern(
            name,
            DNS_SUBDOMAIN_RE,
            "must be a DNS subdomain: lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit",
            example,
        )
        if len(value) > 253:
            self.fail(name, value, "must be at most 253 characters", example)
        return value


def _read_path(reader: _Reader) -> str:
    name = "routePath"
    value = reader.raw(name) or ""
    allowed = (
        "must be an absolute path starting with '/', of the characters Gateway API allows, "
        f"without {', '.join(repr(s) for s in PATH_FORBIDDEN)} and not ending in '/.' or '/..'"
    )
    bad = (
        not PATH_CHARS_RE.match(value)
        or len(value) > 1024
        or any(s in value for s in PATH_FORBIDDEN)
        or value.endswith(("/.", "/.."))
    )
    if bad:
        reader.fail(name, value, allowed, "/echo")
        return "/echo"
    return value


def _read_credentials(reader: _Reader) -> CredentialsSettings:
    mode = reader.choice("credentialsMode", CREDENTIALS_MODES)
    secret_name = reader.dns_subdomain("secretName", "aws-creds")
    rotation = reader.pattern(
        "credentialsRotation",
        ROTATION_RE,
        "must be 1 to 64 letters, digits, '.', '_' or '-'; change it to rotate the access key",
        "2026-11",
    )
    if mode != "provided":
        for key in ("accessKeyId", "secretAccessKey", "sessionToken"):
            if reader.raw(key) is not None:
                reader.fail(
                    key,
                    "[set]",
                    "is only read when credentialsMode is 'provided'; remove it",
                    "provided",
                )
        if mode == "irsa":
            oidc_provider = reader.pattern(
                "oidcProvider",
                OIDC_PROVIDER_RE,
                "is required when credentialsMode is 'irsa': the cluster's IAM OIDC provider ARN or issuer URL",
                "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE",
            )
            parameters_name = (
                reader.dns_subdomain("gatewayParametersName", "lambda-irsa")
                if reader.raw("gatewayParametersName")
                else "lambda-irsa"
            )
            return CredentialsSettings(
                mode="irsa",
                secret_name=secret_name,
                rotation=rotation,
                oidc_provider=oidc_provider,
                gateway_parameters_name=parameters_name,
            )
        if mode == "assume-role":
            return CredentialsSettings(
                mode="assume-role",
                secret_name=secret_name,
                rotation=rotation,
                ambient_role_arn=reader.pattern(
                    "ambientRoleArn",
                    ROLE_ARN_RE,
                    "is required when credentialsMode is 'assume-role': the IAM role ARN the gateway already runs "
                    "as (its IRSA or pod identity role)",
                    "arn:aws:iam::123456789012:role/kgateway-proxy",
                ),
            )
        return CredentialsSettings(mode="generated", secret_name=secret_name, rotation=rotation)

    secrets: dict[str, pulumi.Output[str] | None] = {}
    for key, required in (
        ("accessKeyId", True),
        ("secretAccessKey", True),
        ("sessionToken", False),
    ):
        full_key = reader.key(key)
        present = reader.source.get(full_key) is not None
        command = f"pulumi config set --secret {key} <value>"
        if not present:
            if required:
                reader.fail(
                    key,
                    None,
                    f"is required when credentialsMode is 'provided'; set it with `{command}`",
                    command,
                )
            secrets[key] = None
        elif not reader.source.is_secret(full_key):
            # Never echo the value itself: it is key material in plain config.
            reader.fail(
                key,
                "[plain text]",
                f"must be stored encrypted; set it with `{command}`",
                command,
            )
            secrets[key] = None
        else:
            secrets[key] = reader.source.secret(full_key)
    if reader.source.get(reader.key("sessionToken")) is not None:
        reader.warnings.append(
            "credentialsMode 'provided' with a sessionToken: kgateway signs with the stored keys and never "
            "refreshes them, so temporary credentials stop working when they expire. Prefer "
            "credentialsMode 'generated'."
        )
    return CredentialsSettings(
        mode="provided",
        secret_name=secret_name,
        rotation=rotation,
        access_key_id=secrets["accessKeyId"],
        secret_access_key=secrets["secretAccessKey"],
        session_token=secrets.get("sessionToken"),
    )


def load_settings(source: ConfigSource | None = None) -> StackSettings:
    """Read and validate the whole stack config; raise ConfigError listing every problem."""
    reader = _Reader(source or PulumiConfigSource())
    region = reader.pattern("aws:region", REGION_RE, "must be an AWS region code", "us-east-1")

    function_name = reader.pattern(
        "functionName",
        FUNCTION_NAME_RE,
        "must be 1 to 64 letters, digits, '-' or '_' (AWS Lambda's rule for a function name)",
        "echo",
    )
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
    function = FunctionSettings(
        name=function_name,
        source_dir=source_dir,
        runtime=reader.choice("runtime", RUNTIMES),
        architecture=reader.choice("architecture", ARCHITECTURES),
        memory_mb=reader.integer("memorySize", 128, 10240, 128),
        timeout_s=reader.integer("timeout", 1, 900, 10),
        log_retention_days=_read_retention(reader),
        alias=reader.optional_pattern(
            "alias",
            ALIAS_RE,
            "must be an alias name: 1 to 128 letters, digits, '-' or '_', not only digits",
            "live",
        ),
    )

    credentials = _read_credentials(reader)

    version_name = reader.choice("kgatewayVersion", tuple(KGATEWAY_VERSIONS))
    version = KGATEWAY_VERSIONS[version_name]
    # Unset means pass-through ("None"), the guide's response, where the version has the switch at all.
    payload_mode = (
        reader.choice("payloadTransformMode", ("None", "Envoy")) if reader.raw("payloadTransformMode") else "None"
    )
    if not version.has_payload_transform_mode and reader.raw("payloadTransformMode") is not None:
        having = [v.name for v in KGATEWAY_VERSIONS.values() if v.has_payload_transform_mode]
        reader.fail(
            "payloadTransformMode",
            payload_mode,
            f"is not a field of kgateway {version.name}; only kgateway {', '.join(having)} has it",
            "unset it, or set kgatewayVersion to " + having[-1],
        )
    if credentials.mode == "assume-role" and not version.has_assume_role_auth:
        having = [v.name for v in KGATEWAY_VERSIONS.values() if v.has_assume_role_auth]
        reader.fail(
            "credentialsMode",
            "assume-role",
            f"needs a Backend auth type AssumeRole, which kgateway {version.name} lacks; only kgateway "
            f"{', '.join(having)} has it",
            "irsa, or kgatewayVersion " + having[-1],
        )
    backend = BackendSettings(
        kgateway=version,
        namespace=reader.dns_label("namespace", "kgateway-system"),
        name=reader.object_name("backendName", function_name),
        account_id=reader.optional_pattern("accountId", ACCOUNT_ID_RE, "must be 12 digits", "123456789012"),
        qualifier=reader.optional_pattern(
            "qualifier",
            QUALIFIER_RE,
            "must be $LATEST, a version number or an alias name",
            "$LATEST",
        ),
        invocation_mode="Async" if reader.choice("invocationMode", ("Sync", "Async")) == "Async" else "Sync",
        payload_transform_mode="Envoy" if payload_mode == "Envoy" else "None",
        endpoint_url=reader.optional_pattern(
            "endpointUrl",
            ENDPOINT_URL_RE,
            "must be an http(s) URL",
            "http://moto.example:5000",
        ),
        wait_for_acceptance=reader.boolean("waitForAcceptance"),
    )
    if function.alias is not None and backend.qualifier not in (None, function.alias):
        reader.fail(
            "qualifier",
            backend.qualifier,
            f"must be unset or equal to alias ({function.alias!r}): the Backend invokes the alias",
            function.alias,
        )
    route = RouteSettings(
        name=reader.object_name("routeName", function_name),
        path=_read_path(reader),
        gateway_name=reader.dns_subdomain("gatewayName", "http"),
        gateway_namespace=reader.dns_label("gatewayNamespace", "kgateway-system"),
        listener_name=reader.optional_pattern(
            "gatewayListener",
            DNS_SUBDOMAIN_RE,
            "must be the name of a listener of the Gateway",
            "http",
        ),
    )
    gateway_url = reader.optional_pattern(
        "gatewayUrl",
        GATEWAY_URL_RE,
        "must be http(s)://host[:port] with no path",
        "http://localhost:8080",
    )
    if reader.problems:
        raise ConfigError(reader.problems)
    return StackSettings(
        region=region,
        function=function,
        credentials=credentials,
        backend=backend,
        route=route,
        gateway_url=gateway_url,
        warnings=tuple(reader.warnings),
    )


def _read_retention(reader: _Reader) -> int:
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
