"""The routes: each HTTPRoute rule to a function, its name, and where each field was written."""

from __future__ import annotations

import collections
import hashlib

import pulumi

from components.composite_plan import route_match_signature
from components.kgateway_api import KgatewayVersion
from components.validation import (
    HEADER_NAME_RE,
    HOSTNAME_RE,
    HTTP_METHODS,
    dns_label_for,
    path_problem,
    regex_problem,
)
from program import keys
from program.config.errors import Problem
from program.config.project import PROJECT
from program.config.protection import read_protection
from program.config.reader import Reader, entries, read_list
from program.config.settings import PATH_MATCHES, Origin, RouteSettings

ROUTE_FIELDS = keys.route_fields()


def _read_path(reader: Reader, match: str) -> str:
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


def read_routes(
    reader: Reader,
    function_origins: dict[str, Origin],
    gateway: RouteSettings,
    line: KgatewayVersion | None = None,
    provided_keys: tuple[dict[str, pulumi.Output[str]], set[str]] = ({}, set()),
) -> list[tuple[str, RouteSettings]]:
    """Routes by function name; unset, one PathPrefix route per function. `line`: the pinned kgateway line (None:
    auto), which a route's protection must fit; `provided_keys`: `providedApiKeys` (client id -> secret key)."""
    function_names = list(function_origins)
    explicit = reader.structured("routes", list) is not None
    readers = entries(reader, "routes", ROUTE_FIELDS) if explicit else []
    if not explicit:
        if len(function_names) == 1:
            readers = [reader]
        else:
            readers = [
                reader.scoped({"function": name, "path": f"/{dns_label_for(name)}"}, "routes", ROUTE_FIELDS)
                for name in function_names
            ]
    parsed: list[tuple[str, RouteSettings, Reader, bool]] = []
    # How many routes each function has (counted once: the loop below asks for every route).
    routes_per_function = collections.Counter(_function_of(r, function_names) for r in readers)
    known_functions = set(function_names)
    for route_reader in readers:
        function = route_reader.raw("routeFunction") if route_reader.in_entry("routeFunction") else None
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
        methods = tuple(read_list(route_reader, "routeMethods", lambda m: m in HTTP_METHODS, ", ".join(HTTP_METHODS)))
        hostnames = tuple(
            read_list(route_reader, "routeHostnames", lambda h: bool(HOSTNAME_RE.match(h)), "DNS names, '*.' prefix")
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
            signature = _name_signature(match, path, methods, hostnames, tuple(headers))
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
        if route_reader.in_entry("routeName"):
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
            protection=read_protection(route_reader, line, provided_keys),
        )
        origins["protection"] = (route_reader.key("protection"), route_reader.structured("protection", dict))
        parsed.append((function, route, route_reader, synthetic))
    seen: dict[str, tuple[str, Origin]] = {}
    names: dict[tuple[str | None, str], Origin] = {}
    for function, route, route_reader, synthetic in parsed:
        # One rule with the composite's (components/composite_plan.py): the same requests reach both routes.
        signature = route_match_signature(
            {
                "match": route.match,
                "path": route.path,
                "methods": route.methods,
                "hostnames": route.hostnames,
                "headers": dict(route.headers),
            }
        )
        origin = function_origins[function]
        if signature in seen and synthetic:
            # A route the user never wrote: the clash is the functions' names, reported on them (one problem).
            _, (first_key, first_written) = seen[signature]
            reader.problems.append(
                Problem(
                    origin[0],
                    origin[1],
                    f"gets the route {route.path} (derived from its name), as {first_key.partition(':')[2]} "
                    f"({first_written!r}) does: names that differ only in case or punctuation derive the same path; "
                    "rename one, or list routes with a path for each",
                    f"{function}-2",
                )
            )
            continue
        if signature in seen:
            route_reader.fail(
                "routePath",
                route.path,
                f"is routed twice with the same match ({route.match}), methods, headers and hostnames "
                f"(also {seen[signature][0]}); make each route distinct",
                "/echo-v2",
            )
        seen.setdefault(signature, (route_reader.prefix or "routePath", origin))
        first = names.setdefault((route.namespace, route.name), route.origins["name"])
        if first is not route.origins["name"]:
            # Reported on what the user wrote: their name, or (for a derived name) the entry it is derived from.
            key, name_written = route.origins["name"]
            written_name = route_reader.in_entry("routeName") or route_reader is reader or synthetic
            made = "" if written_name else " (derived from its function and path)"
            first_shown = f" ({first[1]!r})" if isinstance(first[1], str) and first[1] != route.name else ""
            reader.problems.append(
                Problem(
                    key,
                    name_written if written_name else route.path,
                    f"gives the HTTPRoute name {route.name!r}{made}, as {first[0].partition(':')[2]}{first_shown} "
                    "does; "
                    "HTTPRoute names must be unique per namespace: set a distinct name on one of them",
                    f"{route.name}-2",
                )
            )
    return [(function, route) for function, route, _, _ in parsed]


def _name_signature(
    match: str, path: str, methods: tuple[str, ...], hostnames: tuple[str, ...], headers: tuple[tuple[str, str], ...]
) -> str:
    """What a derived route name's digest covers (order of methods, hostnames and headers does not matter). It names
    deployed HTTPRoutes: changing it renames them."""
    return "|".join([match, path, ",".join(sorted(methods)), ",".join(sorted(hostnames)), str(sorted(headers))])


def _function_of(reader: Reader, function_names: list[str]) -> str | None:
    if reader.in_entry("routeFunction"):
        return reader.raw("routeFunction")
    return function_names[0] if len(function_names) == 1 else None
