"""Reads and checks the whole stack config before any resource is registered."""

from __future__ import annotations

import collections
import re
import urllib.parse

from components.kgateway_api import (
    AUTO,
    KGATEWAY_VERSIONS,
    versions_with,
)
from components.protection_checks import check_client_id_forwarding
from components.validation import (
    ACCOUNT_ID,
    DNS_SUBDOMAIN_RE,
    ENDPOINT_URL,
    REGION,
    InputChecker,
    endpoint_url_problem,
)
from program.config.credentials import read_credentials
from program.config.discovery import read_discovery, with_stack_protection
from program.config.errors import ConfigError, Problem, Redactor
from program.config.functions import FUNCTION_FIELDS, SharedBackend, check_secret_environment_names, read_target
from program.config.protection import read_protection, read_provided_keys
from program.config.reader import Reader, check_all_secret, check_keys, check_unique, entries, only_in
from program.config.routes import read_routes
from program.config.settings import RouteSettings, StackSettings, TargetSettings
from program.config.sources import ConfigSource, PulumiConfigSource

GATEWAY_URL_RE = re.compile(r"^https?://[^\s/]+$")


def read_endpoint_url(reader: Reader) -> str | None:
    """`endpointUrl`: an http(s) URL with its port, as kgateway needs it (`endpoint_url_problem`)."""
    url = reader.optional_rule("endpointUrl", ENDPOINT_URL)
    if (problem := endpoint_url_problem(url)) is not None:
        reader.fail("endpointUrl", url, *problem)
    return url


def load_settings(source: ConfigSource | None = None) -> StackSettings:
    """Read and validate the whole stack config; raise ConfigError listing every problem."""
    reader = Reader(source or PulumiConfigSource())
    check_keys(reader)
    region = reader.rule("aws:region", REGION, "is required; set it with `pulumi config set aws:region <region>`")

    credentials = read_credentials(reader)
    version_name = reader.choice("kgatewayVersion", (AUTO, *KGATEWAY_VERSIONS))
    version = KGATEWAY_VERSIONS.get(version_name)
    if version is not None and credentials.mode == "assume-role" and not version.has_assume_role_auth:
        having = versions_with(lambda v: v.has_assume_role_auth)
        reader.fail(
            "credentialsMode",
            "assume-role",
            f"needs a Backend auth type AssumeRole, which kgateway {version.name} lacks; {only_in(having)}",
            "irsa, or kgatewayVersion " + having[0],
        )
    shared = SharedBackend(
        region=region,
        kgateway=version,
        namespace=reader.dns_label("namespace", "kgateway-system"),
        account_id=reader.optional_rule("accountId", ACCOUNT_ID),
        endpoint_url=read_endpoint_url(reader),
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

    discovery = read_discovery(reader, shared)
    # With `discover`, `functions: []` says: no function of the stack's own, only the ones found by tag.
    only_found = discovery is not None and reader.structured("functions", list) == []
    function_readers = [] if only_found else entries(reader, "functions", FUNCTION_FIELDS)
    read = [read_target(entry_reader, shared) for entry_reader in function_readers]
    unique = check_unique(reader, [(f.name, o["name"]) for f, _, o in read], "function name")
    check_secret_environment_names(reader, [f.name for f, _, _ in read])
    check_all_secret(reader, "secretEnvironment", "<value>")
    unique = unique and check_unique(
        reader, [(b.name, o["backendName"]) for _, b, o in read], "Kubernetes (Backend) name"
    )
    # Routes derived from clashing functions would only repeat the clash under keys the user never wrote.
    provided_keys = read_provided_keys(reader)
    function_origins = {f.name: o["name"] for f, _, o in read}
    routes = read_routes(reader, function_origins, gateway, version, provided_keys) if unique else []
    if discovery is not None:
        # Every found route gets the stack-wide protection; read once more on a reader of its own, so that a
        # problem the routes already reported (they read the same key) is reported once.
        scratch = Reader(reader.source)
        protection = read_protection(scratch, version, provided_keys)
        reader.problems.extend(p for p in scratch.problems if p not in reader.problems)
        discovery = with_stack_protection(discovery, protection, reader)
        if protection:
            # A found function's Backend has the default payloadTransformMode, None: a clientIdHeader never reaches it.
            found = InputChecker("protection", "discover")
            check_client_id_forwarding(found, protection, None)
            reader.problems.extend(
                Problem(
                    f"{reader.key('protection')}.{p.name}",
                    p.value,
                    f"{p.allowed} (functions found by discover)",
                    p.example,
                )
                for p in found.problems
            )
    routes_of: dict[str, list[RouteSettings]] = collections.defaultdict(list)
    for function_name, route in routes:
        routes_of[function_name].append(route)
    targets = tuple(
        TargetSettings(function, backend, tuple(routes_of[function.name]), origins)
        for function, backend, origins in read
    )
    for target in targets:
        for route in target.routes:
            if route.protection:
                checker = InputChecker("protection", route.origins["protection"][0])
                check_client_id_forwarding(checker, route.protection, target.backend.payload_transform_mode)
                reader.problems.extend(
                    Problem(f"{route.origins['protection'][0]}.{p.name}", p.value, p.allowed, p.example)
                    for p in checker.problems
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
        discovery=discovery,
    )
