"""The typed config layer: reads a stack's config once, validates all of it, and reports every problem.

`load_settings` runs before any resource is registered, so a bad stack config creates nothing. Each
problem names the config key, the bad value, what is allowed and an example.
"""

from __future__ import annotations

import collections
import difflib
import hashlib
import json
import re
import urllib.parse
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import pulumi

from components.credentials import CredentialsMode
from components.kgateway_api import (
    AUTO,
    KGATEWAY_VERSIONS,
    KgatewayVersion,
    versions_with,
)
from components.lambda_function import (
    ENVIRONMENT_SIZE_LIMIT,
    EXAMPLE_IMAGE,
    HANDLER_RE,
    HANDLER_RULE,
    IMAGE_URI_RE,
    IMAGE_URI_RULE,
    Architecture,
    PackageType,
    Runtime,
    default_handler,
    environment_problem,
    environment_size,
    handler_files,
)
from components.validation import (
    ACCOUNT_ID_RE,
    ALIAS_RE,
    DNS_LABEL_RE,
    DNS_SUBDOMAIN_RE,
    ENDPOINT_URL_RE,
    FUNCTION_ARN_RE,
    FUNCTION_NAME_RE,
    HEADER_NAME_RE,
    HOSTNAME_RE,
    HTTP_METHODS,
    LOG_RETENTION_DAYS,
    OIDC_PROVIDER_RE,
    QUALIFIER_RE,
    ROLE_ARN_RE,
    ROTATION_RE,
    InputProblem,
    dns_label_for,
    path_problem,
    regex_problem,
)
from program import keys

PROJECT = "kgateway-lambda"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
LAMBDA_SRC = PROJECT_ROOT / "lambda_src"

CredentialsModeName = Literal["generated", "provided", "irsa", "assume-role"]
CREDENTIALS_MODES: tuple[str, ...] = tuple(m.value for m in CredentialsMode)
RUNTIMES: tuple[str, ...] = tuple(r.value for r in Runtime)
ARCHITECTURES: tuple[str, ...] = tuple(a.value for a in Architecture)
PACKAGE_TYPES: tuple[str, ...] = tuple(t.value for t in PackageType)
SOURCE_DIR_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$")
GATEWAY_URL_RE = re.compile(r"^https?://[^\s/]+$")
# Go's time.Time String(): what the CLI hands over for an unquoted YAML timestamp (tools/pulumi_cli.py go_resolve).
GO_TIME_TEXT = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)? [-+][0-9]{4} \S+$")


class ConfigSource(Protocol):
    """Where raw config strings come from: Pulumi's config, or a dict in tests."""

    def get(self, key: str) -> str | None: ...

    def keys(self) -> Iterable[str]: ...

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

    def keys(self) -> Iterable[str]:
        """Every config key the engine handed the program (the stack's, with Pulumi.yaml's defaults)."""
        return {*pulumi.runtime.config.CONFIG.get(), *pulumi.runtime.config.get_config_env()}

    def is_secret(self, key: str) -> bool:
        namespace, _, name = key.rpartition(":")
        return pulumi.runtime.is_config_secret(f"{namespace or PROJECT}:{name}")

    def secret(self, key: str) -> pulumi.Output[str] | None:
        config, name = self._split(key)
        return config.get_secret(name)


class MappingConfigSource:
    """Config from a plain mapping (`namespace:key` or project keys), e.g. to validate a stack file offline."""

    def __init__(self, values: dict[str, str], secret_keys: set[str] | None = None):
        self.values = {k if ":" in k else f"{PROJECT}:{k}": v for k, v in values.items()}
        self.secret_keys = {k if ":" in k else f"{PROJECT}:{k}" for k in (secret_keys or set())}

    def get(self, key: str) -> str | None:
        return self.values.get(key)

    def keys(self) -> Iterable[str]:
        return self.values.keys()

    def is_secret(self, key: str) -> bool:
        return key in self.secret_keys

    def secret(self, key: str) -> pulumi.Output[str] | None:
        return None  # validation never reads a secret's value


SHOWN_VALUE_LIMIT = 80

# The program's own secret keys (README "Config keys"); set them with `pulumi config set --secret`.
SECRET_KEYS = ("accessKeyId", "secretAccessKey", "sessionToken")
# Parts of a key name that mark its value as key material, whatever the namespace or spelling around them.
_SECRET_NAME_PARTS = (
    "secretacces", "secretkey", "accesskey", "acceskey", "sessiontok", "token", "password", "passwd", "passphrase",
    "privatekey", "apikey",
)  # fmt: skip


def secret_by_name(key: str) -> bool:
    """Whether a key's name says its value is key material (`secretAccesKey` too: a typo is no less secret).

    The engine lists every key set with `--secret`; this catches the ones a user stored in plain text.
    """
    name = re.sub(r"[^a-z0-9]", "", key.rpartition(":")[2].lower())
    if any(part in name for part in _SECRET_NAME_PARTS):
        return True
    return any(difflib.SequenceMatcher(None, name, known.lower()).ratio() >= 0.75 for known in SECRET_KEYS)


class _Hidden:
    """Stands for a secret value in a message: shown as [secret], never as the value."""

    def __repr__(self) -> str:
        return "[secret]"

    __str__ = __repr__


HIDDEN = _Hidden()


def _leaves(text: str) -> list[str]:
    """The text of a config value and, for an object value (JSON), the text of each scalar inside it."""
    found = [text]
    try:
        stack: list[Any] = [json.loads(text)]
    except ValueError:
        return found
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif value is not None and not isinstance(value, bool):
            found.append(str(value))
    return found


class Redactor:
    """Keeps secret values out of every message: the value of a secret key (listed secret by the engine, or
    secret by name) is shown as [secret], and its text is cut out of every other part of every message."""

    def __init__(self, secret_keys: Iterable[str] = (), secret_texts: Iterable[str] = ()):
        self.secret_keys = frozenset(secret_keys)
        texts = sorted({t for t in secret_texts if t and t not in ("true", "false")}, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(rf"(?<![A-Za-z0-9]){re.escape(t)}(?![A-Za-z0-9])" for t in texts)) if texts else None
        )

    @classmethod
    def of(cls, source: ConfigSource) -> Redactor:
        present = source.keys()
        keys = [k for k in present if source.is_secret(k) or secret_by_name(k)]
        texts = [leaf for k in keys if (text := source.get(k)) is not None for leaf in _leaves(text)]
        return cls(keys, texts)

    def __repr__(self) -> str:  # never the texts
        return f"Redactor({len(self.secret_keys)} secret keys)"

    def is_secret(self, key: str) -> bool:
        """`key` (a config key, or a place inside one: `functions[1].name`) holds a secret value."""
        root = re.split(r"[.\[]", key, maxsplit=1)[0]
        return root in self.secret_keys or secret_by_name(root)

    def scrub(self, text: str) -> str:
        return self._pattern.sub("[secret]", text) if self._pattern is not None else text

    def problem(self, problem: Problem) -> Problem:
        value = HIDDEN if self.is_secret(problem.name) else problem.value
        if isinstance(value, str):
            value = self.scrub(value)
        return Problem(problem.name, value, self.scrub(problem.allowed), self.scrub(problem.example))

    def problems(self, problems: Iterable[Problem]) -> list[Problem]:
        return [self.problem(p) for p in problems]


class Problem(InputProblem):
    """A stack config problem, in the components' words: `name` is the full config key; a long value is cut."""

    shown_limit: ClassVar[int | None] = SHOWN_VALUE_LIMIT

    @property
    def key(self) -> str:
        return self.name


class ConfigError(pulumi.RunError):
    """Every problem in the stack config, found before any resource was created (secret values redacted)."""

    def __init__(self, problems: list[Problem], redactor: Redactor | None = None):
        self.problems = (redactor or Redactor()).problems(problems)
        problems = self.problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid stack config ({len(problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class FunctionSettings:
    # An existing function to route (its ARN): nothing of the function is created.
    existing_arn: str | None
    name: str
    # The function's code: a folder (built by its kind) or a prebuilt .zip; None for an image or an existing function.
    source_dir: Path | None
    runtime: str
    architecture: str
    memory_mb: int
    timeout_s: int
    log_retention_days: int
    # Publish a version on each code change and point this alias at it; the Backend then invokes the alias.
    alias: str | None = None
    handler: str = "index.handler"
    package_type: Literal["Zip", "Image"] = "Zip"
    image_uri: str | None = None
    environment: tuple[tuple[str, str], ...] = ()
    # The function's entry of `secretEnvironment`: a Pulumi secret from config to the function, never plain.
    secret_environment: pulumi.Output[dict[str, str]] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class CredentialsSettings:
    mode: CredentialsModeName
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
    # None: `auto`, the shape is read from the cluster's Backend CRD at deploy time.
    kgateway: KgatewayVersion | None
    namespace: str
    name: str
    account_id: str | None
    qualifier: str | None
    invocation_mode: Literal["Sync", "Async"]
    # None: unset ("None" where the installed shape has the switch).
    payload_transform_mode: Literal["None", "Envoy"] | None
    endpoint_url: str | None
    # Annotate the Backend and HTTPRoute so `pulumi up` waits until kgateway accepted them.
    wait_for_acceptance: bool = True


# A setting's source: the config key the user wrote (or the key a derived value comes from) and its value there.
Origin = tuple[str, object]

PathMatch = Literal["PathPrefix", "Exact", "RegularExpression"]
PATH_MATCHES: tuple[str, ...] = ("PathPrefix", "Exact", "RegularExpression")


@dataclass(frozen=True)
class RouteSettings:
    name: str
    path: str
    gateway_name: str
    gateway_namespace: str
    listener_name: str | None
    match: PathMatch = "PathPrefix"
    methods: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    hostnames: tuple[str, ...] = ()
    # Namespace of the HTTPRoute; None: the Backend's (a different one gets a ReferenceGrant).
    namespace: str | None = None
    # Where each field comes from: field -> (the config key the user wrote, what they wrote there).
    origins: Mapping[str, Origin] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class TargetSettings:
    """One function, its Backend and the routes to it."""

    function: FunctionSettings
    backend: BackendSettings
    routes: tuple[RouteSettings, ...]
    # Where each field of the function and Backend comes from: field -> (config key, what the user wrote).
    origins: Mapping[str, Origin] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class StackSettings:
    region: str
    targets: tuple[TargetSettings, ...]
    credentials: CredentialsSettings
    gateway_url: str | None
    # The Gateway every route attaches to (only its gateway_* and listener fields are meaningful).
    gateway: RouteSettings
    warnings: tuple[str, ...] = field(default=())
    # Create the Gateway itself (class kgateway, one HTTP listener on this port) instead of expecting it.
    create_gateway: bool = False
    gateway_port: int = 8080
    # One execution role for every function the stack creates, instead of one each (issue 11: IAM writes).
    shared_execution_role: bool = False
    # What keeps secret config values out of the preflight's messages too.
    redactor: Redactor = field(default_factory=Redactor, repr=False, compare=False)


# Defaults, entry fields and known keys come from the one registry of keys (program/keys.py).
DEFAULTS: dict[str, str] = keys.defaults()


def config_text(value: Any) -> str:
    """A structured config value as the string Pulumi would hand over for it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


class _Reader:
    """Collects problems while reading, so the user sees all of them at once."""

    def __init__(self, source: ConfigSource):
        self.source = source
        self.problems: list[Problem] = []
        self.warnings: list[str] = []
        # Inside one entry of a list (functions[i], routes[i]): its fields, by the flat key they stand for.
        self.entry: dict[str, Any] = {}
        self.prefix = ""
        self.fields: dict[str, str] = {}

    def scoped(self, entry: dict[str, Any], prefix: str, fields: dict[str, str]) -> _Reader:
        """A reader of one list entry; a field it lacks falls back to the flat key (a stack-wide default)."""
        child = _Reader(self.source)
        child.problems, child.warnings = self.problems, self.warnings
        child.entry, child.prefix, child.fields = entry, prefix, fields
        return child

    def _in_entry(self, name: str) -> bool:
        return name in self.fields and self.fields[name] in self.entry

    def key(self, name: str) -> str:
        flat = name if ":" in name else f"{PROJECT}:{name}"
        # Inside an entry, a field is named by its place in the list unless a stack-wide value stands in for it.
        stands_in = self.source.get(flat) is not None or name in DEFAULTS
        if self._in_entry(name) or (name in self.fields and self.prefix and not stands_in):
            return f"{PROJECT}:{self.prefix}.{self.fields[name]}"
        return flat

    def raw(self, name: str) -> str | None:
        if self._in_entry(name):
            return config_text(self.entry[self.fields[name]])
        value = self.source.get(name if ":" in name else f"{PROJECT}:{name}")
        if value is None or value == "":  # empty: reported once by _check_keys, then read as unset
            value = DEFAULTS.get(name)
        return value

    def structured(self, name: str, kind: type) -> Any:
        """A list or object value (given as YAML in the stack file), or None when unset."""
        value: Any = self.entry[self.fields[name]] if self._in_entry(name) else None
        if value is None:
            text = self.source.get(name if ":" in name else f"{PROJECT}:{name}")
            if text is None:
                return None
            try:
                value = json.loads(text)
            except ValueError:
                value = text
        if not isinstance(value, kind):
            self.fail(name, value, f"must be a {'list' if kind is list else 'mapping'}", "see README")
            return None
        return value

    def fail(self, name: str, value: object, allowed: str, example: str) -> None:
        if isinstance(value, str) and GO_TIME_TEXT.match(value):
            allowed += " (an unquoted date or time in the stack file reaches the program as this text: quote it)"
        self.problems.append(Problem(self.key(name), value, allowed, example))

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.raw(name)
        if value not in allowed:
            self.fail(name, value, f"must be one of {', '.join(allowed)}", closest(value, allowed) or allowed[0])
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


def _read_path(reader: _Reader, match: str) -> str:
    name = "routePath"
    value = reader.raw(name) or ""
    if match == "RegularExpression":
        if (problem := regex_problem(value)) is not None:
            reader.fail(name, value, problem, "^/echo/[0-9]+$")
        return value
    problem = path_problem(value)
    if problem is not None:
        reader.fail(name, value, problem, "/echo")
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
            reader.warnings.append(
                "credentialsMode 'assume-role': kgateway builds before PR 14632 (merged 2026-09-01, in v2.4.x as "
                "PR 14649) ignore auth.assumeRole.roleArn and sign with the proxy's ambient identity, and builds "
                "from then until the Envoy v1.39.1 bump (PR 14663, 2026-09-07) hang every request when that "
                "identity is IRSA or Pod Identity. Run a kgateway build with both fixes, or use credentialsMode 'irsa'."
            )
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


def _only(versions: list[str]) -> str:
    return f"only kgateway {', '.join(versions)} {'has' if len(versions) == 1 else 'have'} it"


def load_settings(source: ConfigSource | None = None) -> StackSettings:
    """Read and validate the whole stack config; raise ConfigError listing every problem."""
    reader = _Reader(source or PulumiConfigSource())
    _check_keys(reader)
    region = reader.pattern(
        "aws:region",
        REGION_RE,
        "must be an AWS region code; set it with `pulumi config set aws:region <region>`",
        "us-east-1",
    )

    credentials = _read_credentials(reader)
    version_name = reader.choice("kgatewayVersion", (AUTO, *KGATEWAY_VERSIONS))
    version = KGATEWAY_VERSIONS.get(version_name)
    if version is not None and credentials.mode == "assume-role" and not version.has_assume_role_auth:
        having = versions_with(lambda v: v.has_assume_role_auth)
        reader.fail(
            "credentialsMode",
            "assume-role",
            f"needs a Backend auth type AssumeRole, which kgateway {version.name} lacks; {_only(having)}",
            "irsa, or kgatewayVersion " + having[0],
        )
    shared = _SharedBackend(
        region=region,
        kgateway=version,
        namespace=reader.dns_label("namespace", "kgateway-system"),
        account_id=reader.optional_pattern("accountId", ACCOUNT_ID_RE, "must be 12 digits", "123456789012"),
        endpoint_url=reader.optional_pattern(
            "endpointUrl", ENDPOINT_URL_RE, "must be an http(s) URL", "http://moto.example:5000"
        ),
        wait_for_acceptance=reader.boolean("waitForAcceptance"),
    )
    secret_namespace = reader.raw("secretNamespace")
    if secret_namespace is not None and secret_namespace != shared.namespace:
        reader.fail(
            "secretNamespace",
            secret_namespace,
            f"must be unset or equal namespace ({shared.namespace!r}): a kgateway Backend's secretRef has only a "
            "name, so every kgateway version reads the Secret from the Backend's own namespace and no "
            "ReferenceGrant can allow another",
            shared.namespace,
        )
    gateway = RouteSettings(
        name="",
        path="/",
        gateway_name=reader.dns_subdomain("gatewayName", "http"),
        gateway_namespace=reader.dns_label("gatewayNamespace", "kgateway-system"),
        listener_name=reader.optional_pattern(
            "gatewayListener", DNS_SUBDOMAIN_RE, "must be the name of a listener of the Gateway", "http"
        ),
    )

    read = [_read_target(entry_reader, shared) for entry_reader in _entries(reader, "functions", FUNCTION_FIELDS)]
    unique = _check_unique(reader, [(f.name, o["name"]) for f, _, o in read], "function name")
    _check_secret_environment_names(reader, [f.name for f, _, _ in read])
    unique = unique and _check_unique(
        reader, [(b.name, o["backendName"]) for _, b, o in read], "Kubernetes (Backend) name"
    )
    # Routes derived from clashing functions would only repeat the clash under keys the user never wrote.
    routes = _read_routes(reader, {f.name: o["name"] for f, _, o in read}, gateway) if unique else []
    routes_of: dict[str, list[RouteSettings]] = collections.defaultdict(list)
    for function_name, route in routes:
        routes_of[function_name].append(route)
    targets = tuple(
        TargetSettings(function, backend, tuple(routes_of[function.name]), origins)
        for function, backend, origins in read
    )
    gateway_url = reader.optional_pattern(
        "gatewayUrl", GATEWAY_URL_RE, "must be http(s)://host[:port] with no path", "http://localhost:8080"
    )
    if gateway_url is not None and GATEWAY_URL_RE.match(gateway_url):
        try:
            urllib.parse.urlsplit(gateway_url).port  # noqa: B018 (raises for a port out of range)
        except ValueError:
            reader.fail("gatewayUrl", gateway_url, "must have a port from 1 to 65535", "http://localhost:8080")
    create_gateway = reader.boolean("createGateway")
    gateway_port = reader.integer("gatewayPort", 1, 65535, 8080)
    shared_execution_role = reader.boolean("sharedExecutionRole")
    redactor = Redactor.of(reader.source)
    if reader.problems:
        raise ConfigError(reader.problems, redactor)
    return StackSettings(
        region=region,
        targets=targets,
        credentials=credentials,
        gateway_url=gateway_url,
        gateway=gateway,
        warnings=tuple(reader.warnings),
        create_gateway=create_gateway,
        gateway_port=gateway_port,
        shared_execution_role=shared_execution_role,
        redactor=redactor,
    )


FUNCTION_FIELDS = keys.function_fields()
ROUTE_FIELDS = keys.route_fields()


@dataclass(frozen=True)
class _SharedBackend:
    region: str
    kgateway: KgatewayVersion | None
    namespace: str
    account_id: str | None
    endpoint_url: str | None
    wait_for_acceptance: bool


def _entries(reader: _Reader, key: str, fields: dict[str, str]) -> list[_Reader]:
    """One reader per entry of the list `key`; unset, one reader of the flat keys."""
    entries = reader.structured(key, list)
    if entries is None:
        return [reader]
    if not entries:
        reader.fail(key, entries, "must list at least one entry", "[{name: echo}]")
    readers = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            reader.fail(f"{key}[{index}]", entry, "must be a mapping of fields", "{name: echo}")
            continue
        unknown = sorted(set(entry) - set(fields.values()))
        if unknown:
            reader.fail(
                f"{key}[{index}]", unknown, f"has unknown fields; allowed: {', '.join(fields.values())}", "name"
            )
        readers.append(reader.scoped(entry, f"{key}[{index}]", fields))
    return readers


def _check_unique(reader: _Reader, values: list[tuple[str, Origin]], what: str) -> bool:
    """Each of `values` (a name, and the key and value the user wrote that it comes from) once; a clash is
    reported on the second entry's own key and names the first's. True if unique."""
    seen: dict[str, Origin] = {}
    unique = True
    for value, (key, written) in values:
        if value in seen:
            first_key, first_written = seen[value]
            reader.problems.append(
                Problem(
                    key,
                    written,
                    f"gives the {what} {value!r}, as {first_key.partition(':')[2]} ({first_written!r}) does; "
                    "each must be unique",
                    f"{written}-2",
                )
            )
            unique = False
        seen.setdefault(value, (key, written))
    return unique


def _read_target(
    reader: _Reader, shared: _SharedBackend
) -> tuple[FunctionSettings, BackendSettings, dict[str, Origin]]:
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
    if arn_name is not None and not reader._in_entry("functionName") and flat_name in (None, DEFAULTS["functionName"]):
        function_name = arn_name
        name_origin: Origin = (reader.key("functionArn"), existing)
    else:
        function_name = reader.pattern(
            "functionName",
            FUNCTION_NAME_RE,
            "must be 1 to 64 letters, digits, '-' or '_' (AWS Lambda's rule for a function name)",
            "echo",
        )
        if arn_name is not None and function_name != arn_name:
            reader.fail("functionName", function_name, f"must be the name in the ARN ({arn_name}) or unset", arn_name)
        name_origin = (reader.key("functionName"), function_name)
    code = _read_code(reader, shared.region) if existing is None else _Code(None, "nodejs24.x", "", "Zip", None)
    if existing is not None and reader.raw("alias") is not None:
        reader.fail("alias", reader.raw("alias"), "is only for functions this stack creates; use qualifier", "unset")
    function = FunctionSettings(
        existing_arn=existing,
        name=function_name,
        source_dir=code.source,
        runtime=code.runtime,
        handler=code.handler,
        package_type=code.package_type,
        image_uri=code.image_uri,
        environment=_read_environment(reader),
        secret_environment=_secret_environment(reader, function_name),
        architecture=reader.choice("architecture", ARCHITECTURES),
        memory_mb=reader.integer("memorySize", 128, 10240, 128),
        timeout_s=reader.integer("timeout", 1, 900, 10),
        log_retention_days=_read_retention(reader),
        alias=reader.optional_pattern(
            "alias", ALIAS_RE, "must be an alias name: 1 to 128 letters, digits, '-' or '_', not only digits", "live"
        ),
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
            f"is not a field of kgateway {version.name}; {_only(having)}",
            "unset it, or set kgatewayVersion to " + having[0],
        )
    qualifier = reader.optional_pattern(
        "qualifier", QUALIFIER_RE, "must be $LATEST, a version number or an alias name", "$LATEST"
    )
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


@dataclass(frozen=True)
class _Code:
    source: Path | None
    runtime: str
    handler: str
    package_type: Literal["Zip", "Image"]
    image_uri: str | None


def _written_here(reader: _Reader, name: str) -> bool:
    """The user set the key (in the entry or the stack file) to something other than Pulumi.yaml's default."""
    return reader._in_entry(name) or reader.source.get(reader.key(name)) not in (None, "", DEFAULTS.get(name))


def _read_code(reader: _Reader, region: str) -> _Code:
    """What the function runs: a container image by URI, or a zip from a folder (any kind build_package builds)
    or a prebuilt .zip, with a runtime and a handler whose file the source has."""
    package_type = reader.choice("packageType", PACKAGE_TYPES)
    if package_type == "Image":
        uri = reader.pattern("imageUri", IMAGE_URI_RE, IMAGE_URI_RULE, EXAMPLE_IMAGE)
        if (match := IMAGE_URI_RE.match(uri)) is not None and match["region"] != region:
            reader.fail(
                "imageUri",
                uri,
                f"must be in the function's region {region} (Lambda takes ECR images only "
                "from the function's own region)",
                EXAMPLE_IMAGE.replace("us-east-1", region),
            )
        for key in ("functionSource", "runtime", "handler"):
            if _written_here(reader, key):
                reader.fail(
                    key, reader.raw(key), "is not used with packageType Image (the image has it): remove it", "unset"
                )
        return _Code(None, "", "", "Image", uri)
    if reader.raw("imageUri") is not None:
        reader.fail("imageUri", reader.raw("imageUri"), "is only for packageType Image", "unset")
    runtime = reader.choice("runtime", RUNTIMES)
    handler = reader.raw("handler") or default_handler(runtime)
    if not HANDLER_RE.match(handler):
        reader.fail("handler", handler, HANDLER_RULE, default_handler(runtime))
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
        return _Code(source, runtime, handler, "Zip", None)
    if HANDLER_RE.match(handler):
        files = _source_files(source)
        candidates = handler_files(runtime, handler)
        if not any(candidate in files for candidate in candidates):
            reader.fail(
                "handler",
                handler,
                f"needs {' or '.join(candidates)} in {written} for {runtime}; set handler to its file and function",
                default_handler(runtime),
            )
    return _Code(source, runtime, handler, "Zip", None)


def _source_files(source: Path) -> set[str]:
    """The files a source offers the runtime: a zip's entries, or the folder's files (relative, `/`-separated)."""
    if source.is_file():
        try:
            with zipfile.ZipFile(source) as archive:
                return set(archive.namelist())
        except zipfile.BadZipFile:
            return set()
    return {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()}


def _read_environment(reader: _Reader) -> tuple[tuple[str, str], ...]:
    """Plain environment variables (values as text, as Lambda keeps them)."""
    variables = reader.structured("environment", dict) or {}
    for variable, value in variables.items():
        if (problem := environment_problem(variable)) is not None:
            reader.fail("environment", variable, problem, "STAGE")
        if isinstance(value, dict | list) or value is None:
            reader.fail("environment", {variable: value}, "must map each variable to a text value", "STAGE: prod")
    pairs = {str(k): config_text(v) for k, v in variables.items()}
    if environment_size(pairs) > ENVIRONMENT_SIZE_LIMIT:
        reader.fail(
            "environment",
            f"{environment_size(pairs)} bytes",
            f"must be at most {ENVIRONMENT_SIZE_LIMIT} bytes of names and values in all (Lambda's limit, "
            "secretEnvironment included)",
            "fewer or shorter variables",
        )
    return tuple(sorted(pairs.items()))


def _secret_environment(reader: _Reader, function_name: str) -> pulumi.Output[dict[str, str]] | None:
    """This function's entry of `secretEnvironment` (`{<function name>: {VARIABLE: value}}`, stored encrypted): its
    names are checked here from the text; the values reach the function only as a Pulumi secret."""
    key = f"{PROJECT}:secretEnvironment"
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
    for variable in mine:
        if (problem := environment_problem(variable)) is not None:
            reader.problems.append(Problem(f"{key}.{function_name}", variable, problem, "API_TOKEN"))
    value = reader.source.secret(key)
    if value is None:  # validation only (no engine): the names are checked, nothing is deployed
        return None
    return pulumi.Output.secret(
        value.apply(lambda t: {str(k): config_text(v) for k, v in json.loads(t)[function_name].items()})
    )


def _check_secret_environment_names(reader: _Reader, function_names: list[str]) -> None:
    """Each function `secretEnvironment` names is one this stack creates (a typo would deploy without it)."""
    key = f"{PROJECT}:secretEnvironment"
    text = reader.source.get(key)
    try:
        entries = json.loads(text) if text is not None and reader.source.is_secret(key) else {}
    except ValueError:
        return
    for name in entries if isinstance(entries, dict) else {}:
        if name not in function_names:
            guess = closest(name, function_names)
            reader.problems.append(
                Problem(f"{key}.{name}", name, f"must name a function of this stack: {function_names}", guess or "echo")
            )


def _first_function(reader: _Reader) -> str | None:
    """The function a stack-wide problem is reported with (once, not once per function)."""
    entries = reader.structured("functions", list) if reader.source.get(f"{PROJECT}:functions") else None
    if entries:
        first = entries[0]
        return str(first.get("name")) if isinstance(first, dict) else None
    return reader.raw("functionName")


def _read_routes(
    reader: _Reader, function_origins: dict[str, Origin], gateway: RouteSettings
) -> list[tuple[str, RouteSettings]]:
    """Routes by function name; unset, one PathPrefix route per function."""
    function_names = list(function_origins)
    explicit = reader.structured("routes", list) is not None
    readers = _entries(reader, "routes", ROUTE_FIELDS) if explicit else []
    if not explicit:
        if len(function_names) == 1:
            readers = [reader]
        else:
            readers = [
                reader.scoped({"function": name, "path": f"/{dns_label_for(name)}"}, "routes", ROUTE_FIELDS)
                for name in function_names
            ]
    parsed: list[tuple[str, RouteSettings, _Reader]] = []
    # How many routes each function has (counted once: the loop below asks for every route).
    routes_per_function = collections.Counter(_function_of(r, function_names) for r in readers)
    known_functions = set(function_names)
    for route_reader in readers:
        function = route_reader.raw("routeFunction") if route_reader._in_entry("routeFunction") else None
        if function is None:
            if len(function_names) != 1:
                route_reader.fail(
                    "routeFunction", None, f"must name the routed function, one of {function_names}", function_names[0]
                )
                continue
            function = function_names[0]
        elif function not in known_functions:
            route_reader.fail("routeFunction", function, f"must be one of the functions {function_names}", "echo")
            continue
        match = route_reader.choice("routeMatch", PATH_MATCHES) if route_reader.raw("routeMatch") else "PathPrefix"
        path = _read_path(route_reader, match)
        methods = tuple(_read_list(route_reader, "routeMethods", lambda m: m in HTTP_METHODS, ", ".join(HTTP_METHODS)))
        hostnames = tuple(
            _read_list(route_reader, "routeHostnames", lambda h: bool(HOSTNAME_RE.match(h)), "DNS names, '*.' prefix")
        )
        header_map = route_reader.structured("routeHeaders", dict) or {}
        headers = []
        for header, value in sorted(header_map.items()):
            if not HEADER_NAME_RE.match(str(header)) or not isinstance(value, str) or len(value) > 4096:
                route_reader.problems.append(
                    Problem(
                        f"{route_reader.key('routeHeaders')}.{header}",
                        value,
                        "must map a header name (1 to 256 of A-Z a-z 0-9 !#$%&'*+-.^_`|~) to a string of at most "
                        "4096 characters",
                        "x-env: dev",
                    )
                )
            else:
                headers.append((str(header), value))
        namespace = route_reader.dns_label("routeNamespace", "team-a") if route_reader.raw("routeNamespace") else None
        default_name = dns_label_for(function)
        if routes_per_function[function] > 1:
            signature = _route_signature(match, path, methods, hostnames, tuple(headers))
            digest = hashlib.sha256(signature.encode()).hexdigest()[:6]
            default_name = f"{dns_label_for(function + '-' + path)[:56].rstrip('-')}-{digest}"
        # Where each field comes from: the user's key; a route made for each function comes from that function.
        synthetic = not explicit and route_reader is not reader
        entry_origin: Origin = (
            function_origins[function] if synthetic else (f"{PROJECT}:{route_reader.prefix}", route_reader.entry)
        )
        origins: dict[str, Origin] = {
            field_name: entry_origin if synthetic else (route_reader.key(key), route_reader.raw(key))
            for field_name, key in (
                ("path", "routePath"),
                ("match", "routeMatch"),
                ("methods", "routeMethods"),
                ("headers", "routeHeaders"),
                ("hostnames", "routeHostnames"),
                ("namespace", "routeNamespace"),
            )
        }
        origins["headers"] = (origins["headers"][0], header_map) if not synthetic else entry_origin
        if route_reader._in_entry("routeName"):
            name = route_reader.dns_subdomain("routeName", default_name)
            origins["name"] = (route_reader.key("routeName"), name)
        elif route_reader is reader:  # the flat keys: routeName, or the function's name
            name = reader.object_name("routeName", function)
            written = reader.raw("routeName")
            origins["name"] = (reader.key("routeName"), written) if written is not None else function_origins[function]
        else:
            name = default_name
            origins["name"] = entry_origin
        route = RouteSettings(
            name=name,
            path=path,
            gateway_name=gateway.gateway_name,
            gateway_namespace=gateway.gateway_namespace,
            listener_name=gateway.listener_name,
            match=match,  # type: ignore[arg-type]
            methods=methods,
            headers=tuple(headers),
            hostnames=hostnames,
            namespace=namespace,
            origins=origins,
        )
        parsed.append((function, route, route_reader))
    seen: dict[str, str] = {}
    names: dict[tuple[str | None, str], Origin] = {}
    for _, route, route_reader in parsed:
        signature = _route_signature(route.match, route.path, route.methods, route.hostnames, route.headers)
        if signature in seen:
            route_reader.fail(
                "routePath",
                route.path,
                f"is routed twice with the same match ({route.match}), methods, headers and hostnames "
                f"(also {seen[signature]}); make each route distinct",
                "/echo-v2",
            )
        seen[signature] = route_reader.prefix or "routePath"
        first = names.setdefault((route.namespace, route.name), route.origins["name"])
        if first is not route.origins["name"]:
            # Reported on what the user wrote: their name, or (for a derived name) the entry it is derived from.
            key, name_written = route.origins["name"]
            written_name = route_reader._in_entry("routeName") or route_reader is reader
            made = "" if written_name else " (derived from its function and path)"
            reader.problems.append(
                Problem(
                    key,
                    name_written if written_name else route.path,
                    f"gives the HTTPRoute name {route.name!r}{made}, as {first[0].partition(':')[2]} does; "
                    "HTTPRoute names must be unique per namespace: set a distinct name on one of them",
                    f"{route.name}-2",
                )
            )
    return [(function, route) for function, route, _ in parsed]


def _route_signature(
    match: str, path: str, methods: tuple[str, ...], hostnames: tuple[str, ...], headers: tuple[tuple[str, str], ...]
) -> str:
    """What makes two routes the same route: order of methods, hostnames and headers does not matter."""
    return "|".join([match, path, ",".join(sorted(methods)), ",".join(sorted(hostnames)), str(sorted(headers))])


def _function_of(reader: _Reader, function_names: list[str]) -> str | None:
    if reader._in_entry("routeFunction"):
        return reader.raw("routeFunction")
    return function_names[0] if len(function_names) == 1 else None


def _read_list(reader: _Reader, name: str, valid: Callable[[str], bool], allowed: str) -> list[str]:
    values = reader.structured(name, list) or []
    for value in values:
        if not isinstance(value, str) or not valid(value):
            reader.fail(name, value, f"each must be one of / match: {allowed}", allowed.split(",", maxsplit=1)[0])
    return [v for v in values if isinstance(v, str) and valid(v)]


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


# Every key of the project's namespace the program reads.
KNOWN_KEYS = keys.flat_keys()


def closest(value: object, allowed: Iterable[str]) -> str | None:
    """The allowed value a typo most likely meant (`2.4` → `v2.4`, `functionNme` → `functionName`)."""
    if not isinstance(value, str):
        return None
    options = list(allowed)
    by_case = {option.lower(): option for option in options}
    match = difflib.get_close_matches(value.lower(), list(by_case), n=1, cutoff=0.6)
    return by_case[match[0]] if match else None


def _check_keys(reader: _Reader) -> None:
    """Keys of our namespace that the program would ignore (a typo deploys the default), and empty values."""
    for full_key in sorted(reader.source.keys()):
        namespace, _, name = full_key.partition(":")
        if namespace != PROJECT:
            continue
        if name not in KNOWN_KEYS:
            guess = closest(name, KNOWN_KEYS)
            hint = f"; did you mean {guess}?" if guess else '; the keys are listed in README "Config keys"'
            reader.problems.append(
                Problem(
                    full_key, reader.source.get(full_key), f"is not a key of {PROJECT}{hint}", guess or "functionName"
                )
            )
        elif reader.source.get(full_key) == "":
            reader.problems.append(
                Problem(
                    full_key,
                    "",
                    f"is empty: give it a value, or remove it with `pulumi config rm {name}`",
                    DEFAULTS.get(name, "see README"),
                )
            )
