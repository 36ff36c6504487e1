"""Checks of component inputs where they enter, before any child resource exists.

The rules are the real systems' (AWS Lambda and IAM names, Kubernetes object names, kgateway's CRD patterns);
the program's config layer uses the same patterns, so a stack config and a component call are refused alike.
Each problem names the input (as every language's SDK spells it), the bad value, what is allowed and an example.
"""

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import pulumi
import pulumi.output

FUNCTION_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# Kubernetes' IsDNS1123Subdomain (kubernetes apimachinery `pkg/util/validation/validation.go`): the pattern, and at
# most 253 characters (DNS1123SubdomainMaxLength).
DNS_SUBDOMAIN_RE = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
ALIAS_RE = re.compile(r"^(?![0-9]+$)[A-Za-z0-9_-]{1,128}$")
QUALIFIER_RE = re.compile(r"^(\$LATEST|[0-9]+|[A-Za-z0-9_-]{1,128})$")
ACCOUNT_ID_RE = re.compile(r"^[0-9]{12}$")
REGION_RE = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]$")
ENDPOINT_URL_RE = re.compile(r"^https?://[-a-zA-Z0-9@:%.+~#?&/=]+$")
OIDC_PROVIDER_RE = re.compile(r"^(arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/|https://)[A-Za-z0-9./_-]+$")
ROLE_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$")
ROTATION_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Lambda's Handler (AWS Lambda API Reference, CreateFunction: "Maximum length of 128. Pattern: [^\s]+"), in the
# shape both runtimes read: a module (file) path, a dot, and the name it exports (see lambda_function.handler_files).
HANDLER_RE = re.compile(r"^(?=[^\s]{1,128}$)[^\s]*[^\s.]\.[A-Za-z_$][A-Za-z0-9_$]*$")
# The runtimes Lambda supports and has not deprecated (Lambda Developer Guide, "Lambda runtimes": python3.11 and
# python3.10 were deprecated on 2026-06-30); components/lambda_function.py `Runtime` lists the same (a test holds it).
LAMBDA_RUNTIMES = ("nodejs24.x", "nodejs22.x", "python3.14", "python3.13", "python3.12")
# An image in Amazon ECR (Lambda takes images only from ECR, in the function's region): registry, repository (ECR's
# name rule), then a tag or a digest.
IMAGE_URI_RE = re.compile(
    r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
    r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$"
)
# Lambda's rules for environment variables (API Reference, Environment: keys `[a-zA-Z]([a-zA-Z0-9_])+`; Developer
# Guide, "Working with Lambda environment variables": the reserved keys a function cannot set; "Lambda quotas":
# "4 KB, for all environment variables associated with the function, in aggregate"). How the 4 KB is measured:
# `environment_size`.
ENVIRONMENT_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]+$")
RESERVED_ENVIRONMENT = frozenset(
    {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    }
)  # fmt: skip
ENVIRONMENT_SIZE_LIMIT = 4096
# kgateway's duration strings (the CRDs' CEL rule `^([0-9]{1,5}(h|m|s|ms)){1,4}$`; Gateway API's HTTPRoute
# `timeouts.request` has the same pattern on every line).
DURATION_RE = re.compile(r"^([0-9]{1,5}(h|m|s|ms)){1,4}$")
# A Kubernetes quantity in binary or decimal units, as `buffer.maxRequestSize` takes it (k8s.io/apimachinery
# pkg/api/resource `ParseQuantity`; the subset a body size needs: whole numbers).
QUANTITY_RE = re.compile(r"^[0-9]+(Ki|Mi|Gi|k|M|G)?$")
# A Lambda function ARN, optionally qualified (AWS's pattern for FunctionName in Invoke).
FUNCTION_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-zA-Z-]*):lambda:(?P<region>[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-[0-9]):"
    r"(?P<account>[0-9]{12}):function:(?P<name>[A-Za-z0-9_-]{1,64})(:(?P<qualifier>\$LATEST|[A-Za-z0-9_-]+))?$"
)
# Gateway API's path rules for Exact/PathPrefix matches (the CRD's pattern and CEL rules).
PATH_CHARS_RE = re.compile(r"^/[-A-Za-z0-9._~!$&'()*+,;=:@%/]*$")
PATH_FORBIDDEN = ("//", "/./", "/../", "%2f", "%2F", "#")
# Gateway API's HTTPPathMatch `value`: `maxLength: 1024` (program/crds/gateway-api-v1.6.1-httproutes.yaml, from
# apis/v1/httproute_types.go).
MAX_PATH = 1024
HEADER_NAME_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+\-.^_`|~]{1,256}$")
HOSTNAME_RE = re.compile(r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# Gateway API (gateway-api `apis/v1/httproute_types.go`, the CRD's maxItems/minLength): at most 16 hostnames and
# 16 header matches per route match, each header value 1 to 4,096 characters, each hostname at most 253.
MAX_HOSTNAMES = 16
MAX_HOSTNAME = 253
MAX_HEADERS = 16
MAX_HEADER_VALUE = 4096
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

DNS_LABEL_RULE = (
    "must be a DNS label: at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit"
)
DNS_SUBDOMAIN_RULE = (
    "must be a DNS subdomain: at most 253 lower-case letters, digits, '-' and '.', starting and ending with a "
    "letter or digit"
)


@dataclass(frozen=True)
class Rule:
    """One rule of a real API on a string: its pattern, what the message says is allowed, and an example. The
    components' checks and the stack config's reader both state a rule through this table, in the same words."""

    pattern: re.Pattern[str]
    allowed: str
    example: str


FUNCTION_NAME = Rule(
    FUNCTION_NAME_RE, "must be 1 to 64 letters, digits, '-' or '_' (AWS Lambda's rule for a function name)", "echo"
)
ALIAS = Rule(ALIAS_RE, "must be an alias name: 1 to 128 letters, digits, '-' or '_', not only digits", "live")
QUALIFIER = Rule(QUALIFIER_RE, "must be $LATEST, a version number or an alias name", "$LATEST")
HANDLER = Rule(
    HANDLER_RE,
    "must be <file or module>.<function>, at most 128 characters without white space (Lambda's handler)",
    "index.handler",
)
RUNTIME = Rule(
    re.compile("^(" + "|".join(re.escape(r) for r in LAMBDA_RUNTIMES) + ")$"),
    f"must be one of {', '.join(LAMBDA_RUNTIMES)} (the runtimes Lambda supports; python3.11 and older are deprecated)",
    "nodejs24.x",
)
IMAGE_URI = Rule(
    IMAGE_URI_RE,
    "must be an Amazon ECR image URI: <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag> or @sha256:<digest>",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/greet:1.0",
)
ENVIRONMENT_NAME = Rule(
    ENVIRONMENT_NAME_RE, "must start with a letter and have at least 2 of A-Z a-z 0-9 _ (Lambda's rule)", "STAGE"
)
ENVIRONMENT_RESERVED = "is reserved by Lambda (the runtime sets it)"
ENVIRONMENT_SIZE = (
    f"must be at most {ENVIRONMENT_SIZE_LIMIT} bytes as Lambda measures them, the variables written as compact JSON "
    '({"NAME":"value",...}; Lambda\'s limit)'
)
DURATION = Rule(
    DURATION_RE,
    "must be a duration like 30s, 1m30s or 500ms (1 to 4 parts of up to 5 digits and h, m, s or ms)",
    "30s",
)
QUANTITY = Rule(QUANTITY_RE, "must be a quantity such as 6Mi or 512Ki (whole bytes, with Ki, Mi, Gi, k, M or G)", "6Mi")
ACCOUNT_ID = Rule(ACCOUNT_ID_RE, "must be 12 digits", "123456789012")
REGION = Rule(REGION_RE, "must be an AWS region code", "us-east-1")
ENDPOINT_URL = Rule(ENDPOINT_URL_RE, "must be an http(s) URL", "http://moto.example:5000")
ROTATION = Rule(
    ROTATION_RE, "must be 1 to 64 letters, digits, '.', '_' or '-'; change it to rotate the keys", "2026-11"
)
OIDC_PROVIDER = Rule(
    OIDC_PROVIDER_RE,
    "must be the cluster's IAM OIDC provider: an oidc-provider ARN or an https:// issuer URL",
    "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE",
)
ROLE_ARN = Rule(ROLE_ARN_RE, "must be an IAM role ARN", "arn:aws:iam::123456789012:role/kgateway-proxy")
# An AWS tag key a user may set: 1 to 128 Unicode letters, digits, white space and `_ . : / = + - @`, not starting
# with `aws:` in any case (AWS General Reference, "Tagging your AWS resources": tag naming limits and requirements).
TAG_KEY_RE = re.compile(r"^(?![aA][wW][sS]:)[\w\s.:/=+\-@]{1,128}$")
TAG_KEY = Rule(
    TAG_KEY_RE,
    "must be an AWS tag key: 1 to 128 letters, digits, spaces and _ . : / = + - @, not starting with 'aws:' "
    "(reserved for AWS)",
    "kgateway-lambda/route",
)
DNS_LABEL = Rule(DNS_LABEL_RE, DNS_LABEL_RULE, "kgateway-system")
DNS_SUBDOMAIN = Rule(DNS_SUBDOMAIN_RE, DNS_SUBDOMAIN_RULE, "echo")


_QUANTITY_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
# The TrafficPolicy CRDs' CEL rule on `buffer.maxRequestSize` (v2.2.x to main): "greater than 0 and less than 4Gi".
MAX_REQUEST_SIZE_LIMIT = 4 * 2**30


def quantity_bytes(text: str) -> int:
    """Bytes of a quantity QUANTITY_RE accepts."""
    match = re.match(r"^([0-9]+)(.*)$", text)
    assert match is not None
    return int(match[1]) * _QUANTITY_UNITS[match[2]]


def max_request_size_problem(text: str) -> str | None:
    """Why the TrafficPolicy CRD refuses this `buffer.maxRequestSize` (a QUANTITY), or None."""
    if QUANTITY_RE.match(text) and not 0 < quantity_bytes(text) < MAX_REQUEST_SIZE_LIMIT:
        return "must be greater than 0 and less than 4Gi (the TrafficPolicy CRD's rule)"
    return None


def endpoint_url_problem(url: object) -> tuple[str, str] | None:
    """Why kgateway refuses a Backend's `endpointURL` that its CRD's pattern accepts, with the fixed URL; or None.

    Every line reads the port from the URL with `strconv.ParseUint(parsedURL.Port(), 10, 32)` and fails the
    Backend without one ("failed to parse port": kgateway `pkg/kgateway/extensions2/plugins/backend/aws.go`
    `configureLambdaEndpoint` at v2.2.x 207dff98230f, v2.3.x 1eb924fe752b and main 354c0f605fa8, `internal/...` at
    v2.0.0; main's `aws_test.go` `TestBuildTranslateFuncFailsClosedForLambdaEndpointWithoutPort` refuses
    `https://lambda.us-east-1.amazonaws.com`), so the Backend is never accepted and a deploy waits for it in vain.
    """
    if not isinstance(url, str) or not ENDPOINT_URL_RE.match(url):
        return None  # the pattern's own message says what is wrong
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is None:
        fixed = urlunsplit(parts._replace(netloc=f"{parts.netloc}:{443 if parts.scheme == 'https' else 80}"))
        return (
            "must give the port (kgateway reads it from the URL and refuses a URL without one, 'failed to parse "
            "port': the Backend would never be accepted)",
            fixed,
        )
    if not 1 <= port <= 65535:
        return "must have a port from 1 to 65535", ENDPOINT_URL.example
    return None


def environment_problem(name: object) -> str | None:
    """Why Lambda refuses an environment variable name, or None."""
    if not isinstance(name, str) or not ENVIRONMENT_NAME_RE.match(name):
        return ENVIRONMENT_NAME.allowed
    if name in RESERVED_ENVIRONMENT:
        return ENVIRONMENT_RESERVED
    return None


def environment_size(variables: Mapping[str, str]) -> int:
    """Bytes Lambda counts against its 4 KB: the variables as one compact JSON object, quotes, colons and commas
    included. Lambda's refusal quotes what it measured ("...exceeded the 4KB limit. String measured:
    {"NAME":"value"}"), and LocalStack reproduces it as `json.dumps(variables, separators=(",", ":"))` in UTF-8
    (localstack/localstack `localstack-core/localstack/services/lambda_/provider.py` @ 223ce47fa98d,
    `_verify_env_variables`), each non-ASCII character escaped as `\\uXXXX` (should Lambda count raw UTF-8 instead,
    this reading is the stricter one)."""
    return len(json.dumps(dict(variables), separators=(",", ":")).encode())


# Inputs whose values are never shown in a message, whatever their type (they are credentials).
SECRET_INPUTS = ("accessKeyId", "secretAccessKey", "sessionToken")


def subdomain_cut(name: str) -> str:
    """A name cut to a DNS subdomain's 253 characters, never ending in '-' or '.' (a derived name's cut)."""
    return name[:253].rstrip("-.")


def dns_label_for(name: str) -> str:
    """A stable Kubernetes object name for any name (AWS names may hold upper case and `_`)."""
    label = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:63].rstrip("-")
    return label or "lambda"


def regex_problem(expression: str) -> str | None:
    """Why Envoy would refuse this RegularExpression path: kgateway hands it to Envoy, which compiles RE2 (no
    look-around, no back-references), so it is checked with RE2 itself, not Python's `re`."""
    if not expression or len(expression) > 1024:
        return "must be 1 to 1024 characters"
    import re2  # type: ignore[import-untyped]  # only stacks with a RegularExpression route need it

    options = re2.Options()
    options.log_errors = False
    try:
        re2.compile(expression, options)
    except re2.error as error:
        reason = error.args[0].decode() if error.args and isinstance(error.args[0], bytes) else str(error)
        return f"must be an RE2 regular expression, as Envoy compiles it ({reason})"
    return None


def path_problem(path: str) -> str | None:
    """Why Gateway API refuses this Exact/PathPrefix path, or None."""
    if len(path) > MAX_PATH:
        return f"must be at most {MAX_PATH} characters (Gateway API's limit on a path match); this one has {len(path)}"
    bad = not PATH_CHARS_RE.match(path) or any(s in path for s in PATH_FORBIDDEN) or path.endswith(("/.", "/.."))
    if bad:
        return (
            "must be an absolute path starting with '/', of the characters Gateway API allows, "
            f"without {', '.join(repr(s) for s in PATH_FORBIDDEN)} and not ending in '/.' or '/..'"
        )
    return None


@dataclass(frozen=True)
class InputProblem:
    name: str
    value: object
    allowed: str
    example: str

    # At most this many characters of the value are shown (None: all of it).
    shown_limit: ClassVar[int | None] = None

    def __str__(self) -> str:
        hidden = self.name.rsplit(".", 1)[-1] in SECRET_INPUTS
        shown = "(unset)" if self.value is None else "[secret]" if hidden else repr(self.value)
        if self.shown_limit is not None and len(shown) > self.shown_limit:  # a value is shown, never a page of it
            shown = f"{shown[: self.shown_limit - 1]}… ({len(str(self.value))} characters)"
        return f"{self.name} = {shown}: {self.allowed} (example: {self.example})"


class ComponentInputError(pulumi.RunError):
    """Every problem in a component's inputs, found before any of its children was registered."""

    def __init__(self, component: str, resource_name: str, problems: list[InputProblem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{component} {resource_name!r}: invalid inputs ({len(problems)} problem(s)):\n{lines}")


def pending(value: Any) -> bool:
    """A value known only later: an Output, or a preview's unknown (checked when it resolves, or by the service
    that receives it)."""
    return isinstance(value, pulumi.Output | pulumi.output.Unknown)


def plain(value: Any) -> Any:
    """An enum member as its value (inputs arrive as members from Python, as strings through a provider)."""
    return value.value if isinstance(value, Enum) else value


def whole(value: Any) -> int | None:
    """An integer input as an int (through a provider every number arrives as a float), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


class InputChecker:
    """Collects problems so a caller sees all of them at once; names are the schema's (camelCase) names."""

    def __init__(self, component: str, resource_name: str):
        self.component = component
        self.resource_name = resource_name
        self.problems: list[InputProblem] = []

    def fail(self, name: str, value: object, allowed: str, example: str) -> None:
        self.problems.append(InputProblem(name, value, allowed, example))

    def required(self, name: str, value: Any, example: str, condition: str = "") -> None:
        """An input that must be given (`condition`: when, or what it is, after "is required")."""
        if value is None:
            self.fail(name, None, f"is required{condition}", example)

    def pattern(self, name: str, value: Any, regex: re.Pattern[str], allowed: str, example: str) -> None:
        """Checks a plain string; an output (known only at deploy) is left to the service that receives it."""
        if isinstance(value, str) and not regex.match(value):
            self.fail(name, value, allowed, example)
        elif value is not None and not isinstance(value, str) and not pending(value):
            self.fail(name, value, "must be a string", example)

    def rule(self, name: str, value: Any, rule: Rule, example: str | None = None) -> None:
        """`pattern` with a rule of the shared table (its words, its example unless one is given)."""
        self.pattern(name, value, rule.pattern, rule.allowed, example or rule.example)

    def choice(self, name: str, value: Any, allowed: Iterable[str]) -> None:
        options = list(allowed)
        if value is not None and not pending(value) and plain(value) not in options:
            self.fail(name, plain(value), f"must be one of {', '.join(options)}", options[0])

    def integer(self, name: str, value: Any, low: int, high: int, example: int) -> None:
        number = whole(value)
        if value is not None and not pending(value) and (number is None or not low <= number <= high):
            self.fail(name, value, f"must be a whole number from {low} to {high}", str(example))

    def done(self) -> None:
        if self.problems:
            raise ComponentInputError(self.component, self.resource_name, self.problems)
