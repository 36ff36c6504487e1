"""Every config key of the project, declared once.

A key's facts (its name, default, type, whether it is secret, its field in `functions`/`routes` entries, the
one-line description Pulumi.yaml carries and the rule docs/configuration.md states) live here and nowhere else:
the config reader's defaults and known keys, the entry field maps, the check of Pulumi.yaml, the config table of
docs/configuration.md and the README's table of common keys are all derived from `KEYS`. Adding a key is one
`Key(...)` here plus its reader in `program/config/` (`functions.py`, `routes.py`, `credentials.py` or `load.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from components.kgateway_api import DEFAULT_KGATEWAY_VERSION

KeyType = Literal["string", "integer", "boolean", "list", "mapping"]


@dataclass(frozen=True)
class Key:
    """One config key of the project's namespace (`kgateway-lambda:<name>`)."""

    name: str
    description: str
    """One line, as Pulumi.yaml declares it (and `pulumi config` shows it)."""
    allowed: str
    """The rule, as docs/configuration.md states it."""
    default: str | None = None
    """The default as config text; None: optional (the program reads and checks it without a declaration)."""
    shown_default: str | None = None
    """What the config table says when the default is not a plain value (e.g. "the function name as a DNS label")."""
    type: KeyType = "string"
    secret: bool = False
    """Key material: only read from secret config, and its value is never shown."""
    function_field: str | None = None
    """Its field in a `functions` entry, where a per-function value may stand in for the stack-wide one."""
    route_field: str | None = None
    """Its field in a `routes` entry."""
    flat: bool = True
    """Also a stack-wide key; False: only a field of entries (a flat key of that name is refused as unknown)."""

    @property
    def declared(self) -> bool:
        """Declared in Pulumi.yaml. Only keys with a default are: the CLI treats a declared project key with
        neither `default` nor `value` as required (pulumi/pulumi sdk/go/common/workspace `mergeConfig`:
        "Stack '...' is missing configuration value(s)") and would refuse every stack that leaves it out."""
        return self.default is not None


KEYS: tuple[Key, ...] = (
    Key("functionName", "Name of the Lambda function (AWS rule 1-64 of A-Z a-z 0-9 - _)",
        "1–64 of `A-Z a-z 0-9 - _` (AWS's rule); the execution role's name is cut to fit IAM's 64 characters with "
        "Pulumi's suffix", default="echo", function_field="name"),
    Key("functionArn", "ARN of an existing function to route (nothing of it is created)",
        "route a function that already exists (`arn:aws:lambda:<region>:<account>:function:<name>`, this account "
        "or another): no role, log group or function is created; the name comes from the ARN (`functionName` left at "
        "its default counts as unset, any other must be the ARN's name); `alias` is refused (use `qualifier`)",
        function_field="arn"),
    Key("functionSource", "The function's code: a folder of lambda_src/, or a path to a folder or a prebuilt .zip",
        "a folder name of `lambda_src/`, or a path (relative to the project) of a folder or a prebuilt `.zip`; a "
        "folder is built by its kind: Python with `requirements.txt` (binary wheels for Lambda's platform, "
        "architecture and Python), Node.js with `package.json` and its lock file (production dependencies), else "
        "zipped as it is; over 250 MB unzipped is refused; over 50 MB zipped goes through S3", default="echo",
        function_field="source"),
    Key("runtime", "Lambda runtime (nodejs24.x, nodejs22.x, python3.14, python3.13, python3.12)",
        "`nodejs24.x`, `nodejs22.x`, `python3.14`, `python3.13`, `python3.12` (AWS's supported runtimes; python3.11 "
        "and older are deprecated)", default="nodejs24.x", function_field="runtime"),
    Key("handler", "The function's handler, <file or module>.<function>",
        "`<file or module>.<function>`, at most 128 characters (Lambda's rule); the file must be in the source "
        "(`.js`/`.mjs`/`.cjs` for Node.js, `.py` for Python)",
        shown_default="`index.handler` (Node.js), `handler.handler` (Python)", function_field="handler"),
    Key("packageType", "Zip (code from functionSource) or Image (a container image by imageUri)",
        "`Zip`, `Image` (then `imageUri`, and no `functionSource`, `runtime` or `handler`)", shown_default="`Zip`",
        function_field="packageType"),
    Key("imageUri", "packageType Image: the ECR image URI",
        "`<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>` or `@sha256:<digest>`, in the stack's "
        "region; images are not built here", function_field="imageUri"),
    Key("environment", "Plain environment variables of the function",
        "a mapping of names (`[a-zA-Z][a-zA-Z0-9_]+`, not Lambda's reserved ones) to values, none also in "
        "`secretEnvironment`; with `secretEnvironment` at most 4 KB as compact JSON", type="mapping",
        function_field="environment"),
    Key("secretEnvironment", "Secret environment variables, by function name",
        "`{<function name>: {VARIABLE: value}}`, set with `pulumi config set --secret --path "
        "'secretEnvironment.<function>.<VARIABLE>' <value>`: values stay Pulumi secrets (never in the plan, "
        "outputs or logs); one set without `--secret` is refused", type="mapping", secret=True),
    Key("architecture", "Instruction set (arm64 or x86_64)", "`arm64`, `x86_64`", default="arm64",
        function_field="architecture"),
    Key("memorySize", "Memory in MB (128-10240)", "128–10240 (MB)", default="128", type="integer",
        function_field="memorySize"),
    Key("timeout", "Timeout in seconds (1-900)", "1–900 (s)", default="10", type="integer",
        function_field="timeout"),
    Key("logRetentionDays", "Retention of the /aws/lambda/<function> log group (a CloudWatch retention period)",
        "a CloudWatch retention period (1, 3, 5, 7, 14, 30, …, 3653)", default="14", type="integer",
        function_field="logRetentionDays"),
    Key("alias", "Publish a version on each code change and point this alias at it",
        "publish a version on each code change and point this alias (e.g. `live`) at it; the Backend invokes the "
        "alias and the credentials may invoke exactly it", function_field="alias"),
    Key("qualifier", "Version or alias the Backend invokes", "`$LATEST`, a version number, or an alias name",
        shown_default="unset (`$LATEST`)", function_field="qualifier"),
    Key("invocationMode", "Sync or Async invocation", "`Sync`, `Async`", default="Sync",
        function_field="invocationMode"),
    Key("payloadTransformMode", "None (raw pass-through) or Envoy (API-Gateway-style event)",
        "`None` (raw pass-through), `Envoy`; not on `v2.0` (with `auto` on a v2.0 cluster: refused at deploy, "
        "naming the option and the installed shape)", shown_default="`None` where the version has it",
        function_field="payloadTransformMode"),
    Key("backendName", "Name of the function's Backend", "DNS subdomain",
        shown_default="the function name as a DNS label", function_field="backendName"),
    Key("credentialsMode", "generated (invoke-only IAM user and key), provided (keys from secret config), irsa or "
        "assume-role",
        "`generated`, `provided`, `irsa`, `assume-role`; the identity's permission is a set of managed policies "
        "listing exactly the routed functions' ARNs, packed under IAM's 6,144 characters each and at most 10 per "
        "identity (IAM's default quota): about 200 functions with 64-character names, more with shorter ones; past "
        "that, a clear refusal before anything is created", default="generated"),
    Key("oidcProvider", "irsa: the cluster's IAM OIDC provider (ARN or issuer URL)",
        "`irsa` mode: `arn:aws:iam::<account>:oidc-provider/<issuer>` or `https://<issuer>`"),
    Key("gatewayParametersName", "irsa: name of the GatewayParameters", "`irsa` mode: a DNS subdomain",
        shown_default="`lambda-irsa`"),
    Key("ambientRoleArn", "assume-role: the role the gateway already runs as",
        "`assume-role` mode: `arn:aws:iam::<account>:role/<name>`"),
    Key("credentialsRotation", "Change to rotate the generated access key (new key first, old key deleted last)",
        "any short token (1–64 of letters, digits, `.`, `_`, `-`); change it to rotate the generated access key, "
        "or with new `provided` keys (each rotation has its own Secret)",
        default="1"),
    Key("credentialsPreviousRotation", "generated: the rotation before credentialsRotation, whose key stays valid",
        "the previous `credentialsRotation` value (differs from it); remove it later to delete that key"),
    Key("accessKeyId", "provided: the access key id kgateway signs with", "`provided` mode only, as a secret",
        secret=True),
    Key("secretAccessKey", "provided: the secret access key", "`provided` mode only, as a secret", secret=True),
    Key("sessionToken", "provided: a session token (temporary keys expire)", "`provided` mode only, as a secret",
        secret=True),
    Key("secretName", "Name of the Kubernetes Secret with the keys kgateway signs with", "a DNS subdomain",
        default="aws-creds"),
    Key("secretNamespace", "Namespace of the Secret (only namespace itself)",
        "only `namespace` itself: kgateway's `secretRef` has only a name, so any other namespace is refused with "
        "that reason", shown_default="unset (= `namespace`)"),
    Key("namespace", "Namespace of the Secret, the Backend and the HTTPRoute",
        "DNS label: namespace of the Secret, Backend and HTTPRoute", default="kgateway-system"),
    Key("kgatewayVersion", "Backend shape to emit - auto (read the cluster's Backend CRD at deploy) or a release "
        "line (v2.0, v2.1, v2.2, v2.3, v2.4, main)",
        "`auto`: read the cluster's `backends.gateway.kgateway.dev` CRD at deploy and emit the shape its schema "
        "accepts; or pin a release line: `v2.0`, `v2.1`, `v2.2`, `v2.3`, `v2.4`, `main` (kgateway main at 354c0f6)",
        default=DEFAULT_KGATEWAY_VERSION),
    Key("accountId", "AWS account id of the functions (default: the deploying identity's)", "12 digits",
        shown_default="the deploying identity's (`aws.get_caller_identity`)"),
    Key("endpointUrl", "A Lambda-compatible endpoint (LocalStack, moto)", "an http(s) URL with its port"),
    Key("waitForAcceptance", "Wait until kgateway accepted the Backend and HTTPRoute (false for clusters without a "
        "controller yet)",
        "`pulumi up` waits until kgateway accepted the HTTPRoute (`Accepted`, `ResolvedRefs`, at the generation just "
        "written), the route's TrafficPolicy (through a patch made after the route) and, from `v2.1`, the Backend "
        "(`Accepted`), through pulumi-kubernetes' `pulumi.com/waitFor` annotation; `false` sets "
        "`pulumi.com/skipAwait` for clusters without a controller yet", default="true", type="boolean"),
    Key("routePath", "PathPrefix the HTTPRoute matches on the Gateway",
        "an absolute path Gateway API accepts (no `//`, `/./`, `/../`, `%2f`, `#`; `%` only as `%` and two hex "
        "digits); with match `RegularExpression`, an RE2 expression (Envoy's: no look-around or back-references) of "
        "at most 1024 characters", default="/echo", route_field="path"),
    Key("routeName", "Name of the HTTPRoute", "DNS subdomain", shown_default="the function name as a DNS label",
        route_field="name"),
    Key("routeMatch", "PathPrefix, Exact or RegularExpression", "`PathPrefix`, `Exact`, `RegularExpression`",
        shown_default="`PathPrefix`", route_field="match"),
    Key("routeNamespace", "Namespace of the HTTPRoute (another one gets a ReferenceGrant)", "a DNS label",
        shown_default="`namespace`", route_field="namespace"),
    Key("routeFunction", "The function a routes entry routes to",
        "only as `function` in `routes` entries: one of the functions (required with several)",
        route_field="function", flat=False),
    Key("routeMethods", "HTTP methods the route matches (one match each)", "a list of HTTP methods",
        type="list", route_field="methods"),
    Key("routeHeaders", "Exact header matches", "a mapping of header names to values", type="mapping",
        route_field="headers"),
    Key("routeHostnames", "Hostnames the route matches", "a list of hostnames (at most 16; `*.` prefix allowed)",
        type="list", route_field="hostnames"),
    Key("protection", "Who may call the routes: apiKeys, jwt, cors, rateLimit, ipAllow, timeout, retry (one "
        "TrafficPolicy per route)",
        "a mapping in the package schema's words (docs/protection.md): `apiKeys` "
        "(generated: `clients`, "
        "`rotation`, `previousRotation`; or `provided`: client ids of `providedApiKeys`; `keySources`), `jwt`, "
        "`cors`, `rateLimit` (`requestsPerSecond` or `requestsPerMinute`, `burst`), `ipAllow` (v2.3+), `timeout` "
        "(the route rule's), `retry` (only `idempotent: true` retries after the function ran); CORS and retry "
        "need v2.1+, API keys and JWT v2.2+; a routes entry's own replaces it, `{}` turns it off",
        type="mapping", route_field="protection"),
    Key("providedApiKeys", "API keys given by you: client id -> key (secret), named by protection.apiKeys.provided",
        "a mapping of client ids to keys of 16–4096 visible ASCII characters, each set with `pulumi config set "
        "--secret --path 'providedApiKeys.<client id>' <key>` (one set without `--secret` is refused)",
        type="mapping", secret=True),
    Key("gatewayName", "Gateway the HTTPRoute attaches to", "the Gateway the route attaches to", default="http"),
    Key("gatewayNamespace", "Namespace of that Gateway", "a DNS label", default="kgateway-system"),
    Key("gatewayListener", "A listener name (sectionName) of that Gateway", "a listener name of that Gateway"),
    Key("createGateway", "Create the Gateway (gatewayName in gatewayNamespace, class kgateway, HTTP listener on "
        "gatewayPort)",
        "`true`: the stack creates the Gateway `gatewayNamespace/gatewayName` itself (class `kgateway`, one HTTP "
        "listener named `gatewayListener` or `http` on `gatewayPort`, routes allowed from exactly the namespaces "
        "that have routes); the HTTPRoutes wait for it and `gateway_url` comes from its status",
        default="false", type="boolean"),
    Key("gatewayPort", "Port of the created Gateway's HTTP listener", "1–65535: port of the created Gateway's "
        "listener", default="8080", type="integer"),
    Key("gatewayUrl", "Use this URL instead of reading the Gateway (port-forward, DNS)",
        "`http(s)://host[:port]`: use instead of reading the Gateway (port-forward, DNS)"),
    Key("sharedExecutionRole", "One execution role for every function the stack creates, instead of one per "
        "function (two IAM writes in all)",
        "`true`: one execution role (`ExecutionRole`) for every function the stack creates instead of one each (2 "
        "IAM writes in all instead of 2 per function); only for functions that need no permissions of their own",
        default="false", type="boolean"),
    Key("discover", "Route every Lambda function of the account and region that carries a tag (a mapping: tag, "
        "namespace, invocationMode, unprotected)",
        "a mapping: `tag` (required: the tag key to look for, AWS's tag-key rule, not `aws:`), `namespace` (of the "
        "found functions' HTTPRoutes; default `namespace`), `invocationMode` (`Sync`, `Async`; default `Sync`), "
        "`unprotected` (`{<function>: <path>}`: served without `protection`, on exactly that path); each function "
        "carrying the tag gets a Backend and a PathPrefix HTTPRoute on the tag's value (an absolute path) or, when "
        "the value is empty, `/<function name>`, under the stack-wide `protection`; a bad value is a warning that "
        "skips the function; nothing of the function is created, changed or deleted; with it, `functions: []` "
        "routes only the found functions (none found: the stack holds nothing)",
        type="mapping"),
    Key("functions", "Several functions: a list of entries whose fields stand for the keys of one function (name, ...)",
        "a list of function entries; each field stands for the key of that name for one function", type="list"),
    Key("routes", "Several routes: a list of entries (function, path, match, methods, hostnames, protection, ...)",
        "a list of route entries (default: one PathPrefix route per function)", type="list"),
)  # fmt: skip


def defaults(keys: Iterable[Key] = KEYS) -> dict[str, str]:
    """Each key with a default: its default as config text."""
    return {key.name: key.default for key in keys if key.default is not None}


def function_fields(keys: Iterable[Key] = KEYS) -> dict[str, str]:
    """Key name -> its field in a `functions` entry."""
    return {key.name: key.function_field for key in keys if key.function_field is not None}


def route_fields(keys: Iterable[Key] = KEYS) -> dict[str, str]:
    """Key name -> its field in a `routes` entry."""
    return {key.name: key.route_field for key in keys if key.route_field is not None}


def pulumi_yaml_config(keys: Iterable[Key] = KEYS) -> dict[str, dict[str, Any]]:
    """The `config:` block Pulumi.yaml must hold: each declared key with its type, default and description."""
    typed: dict[str, Callable[[str], Any]] = {"integer": int, "boolean": lambda text: text == "true", "string": str}
    block: dict[str, dict[str, Any]] = {}
    for key in keys:
        if key.declared:
            assert key.default is not None and key.type in typed, key.name
            block[key.name] = {
                "type": key.type,
                "default": typed[key.type](key.default),
                "description": key.description,
            }
    return block


def key_table(keys: Iterable[Key] = KEYS) -> str:
    """The config table of docs/configuration.md (between its markers), one row per key."""
    rows = ["| key | default | allowed | in entries |", "|---|---|---|---|"]
    for key in keys:
        default = key.shown_default or (f"`{key.default}`" if key.default is not None else "unset")
        where = ", ".join(
            f"`{list_}[].{field}`"
            for list_, field in (("functions", key.function_field), ("routes", key.route_field))
            if field is not None
        )
        allowed = key.allowed + ("; secret: set with `pulumi config set --secret`" if key.secret else "")
        rows.append(f"| `{key.name}` | {default} | {allowed} | {where} |")
    return "\n".join(rows) + "\n"


def secret_keys(keys: Iterable[Key] = KEYS) -> frozenset[str]:
    return frozenset(key.name for key in keys if key.secret)


def flat_keys(keys: Iterable[Key] = KEYS) -> frozenset[str]:
    """The keys a stack may set at the top level of the project's namespace."""
    return frozenset(key.name for key in keys if key.flat)


ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION_DOC = ROOT / "docs" / "configuration.md"
README = ROOT / "README.md"
TABLE_BEGIN = "<!-- config-keys:begin (generated from program/keys.py: python -m tools keys --write) -->\n"
TABLE_END = "<!-- config-keys:end -->"
COMMON_BEGIN = "<!-- common-keys:begin (generated from program/keys.py: python -m tools keys --write) -->\n"
COMMON_END = "<!-- common-keys:end -->"

# What a first stack sets, in the README's short table (every key is in docs/configuration.md).
COMMON_KEYS = (
    "functionName",
    "functionSource",
    "functionArn",
    "routePath",
    "functions",
    "routes",
    "gatewayName",
    "gatewayNamespace",
    "createGateway",
    "kgatewayVersion",
    "credentialsMode",
    "protection",
)


def common_key_table(keys: Iterable[Key] = KEYS, names: Iterable[str] = COMMON_KEYS) -> str:
    """The README's short table: the keys a first stack sets, with their default and one-line description."""
    by_name = {key.name: key for key in keys}
    rows = ["| key | default | what it sets |", "|---|---|---|"]
    for name in names:
        key = by_name[name]
        default = key.shown_default or (f"`{key.default}`" if key.default is not None else "unset")
        rows.append(f"| `{key.name}` | {default} | {key.description} |")
    return "\n".join(rows) + "\n"


def with_table(document: str, begin: str, end: str, table: str, name: str) -> str:
    """The document with the text between the markers `begin` and `end` replaced by `table`."""
    before, found, rest = document.partition(begin)
    _, found_end, after = rest.partition(end)
    if not (found and found_end):
        raise ValueError(f"{name} lacks the markers {begin.strip()} ... {end}")
    return before + begin + table + end + after


def with_key_table(document: str, keys: Iterable[Key] = KEYS) -> str:
    """docs/configuration.md with its full table of keys regenerated."""
    return with_table(document, TABLE_BEGIN, TABLE_END, key_table(keys), CONFIGURATION_DOC.name)


def with_common_key_table(document: str, keys: Iterable[Key] = KEYS) -> str:
    """The README with its short table of the common keys regenerated."""
    return with_table(document, COMMON_BEGIN, COMMON_END, common_key_table(keys), README.name)


def write_key_tables() -> None:
    """`python -m tools keys --write`: both generated tables, each in its document (a second run changes nothing)."""
    for path, regenerate in ((CONFIGURATION_DOC, with_key_table), (README, with_common_key_table)):
        text = path.read_text()
        if regenerate(text) != text:
            path.write_text(regenerate(text))
