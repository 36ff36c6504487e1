"""The composite: one Lambda function, new or existing, reachable through kgateway on one or more routes."""

from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict, cast

import pulumi

from .backend import (
    InvocationMode,
    KgatewayRelease,
    LambdaBackend,
    LambdaBackendArgs,
    PayloadTransformMode,
    check_backend_args,
)
from .cluster_reads import ClusterReads
from .composite_plan import check_distinct_routes, composite_plan
from .credentials import (
    CredentialsMode,
    GatewayCredentials,
    GatewayCredentialsArgs,
    check_credentials_args,
    credentials_mode,
)
from .execution_role import regional_arn
from .inputs import checked_inputs
from .kgateway_api import CRD_TYPE
from .lambda_function import LambdaFunction, LambdaFunctionArgs, check_function_args
from .protection_checks import check_client_id_forwarding, check_protection_args
from .protection_inputs import RouteProtectionArgs
from .route import LambdaRoute, LambdaRouteArgs, PathMatch, check_match_args
from .tokens import component_options, token
from .validation import (
    DNS_LABEL_RE,
    DNS_LABEL_RULE,
    DNS_SUBDOMAIN_RE,
    DNS_SUBDOMAIN_RULE,
    FUNCTION_ARN_RE,
    FUNCTION_NAME_RE,
    InputChecker,
    plain,
)


class BackendOptions(TypedDict):
    """How kgateway's Backend invokes the function."""

    name: NotRequired[str]
    """Name of the Backend (default: the component's name as a DNS label)."""
    namespace: NotRequired[str]
    """Namespace of the Backend and its Secret (default kgateway-system)."""
    kgateway_version: NotRequired[KgatewayRelease]
    """Backend shape: auto reads the cluster's CRD (the default), or pin a kgateway release line."""
    account_id: NotRequired[pulumi.Input[str]]
    """The function's account (default: from its ARN, else the deploying identity's)."""
    qualifier: NotRequired[str]
    """$LATEST, a version number or an alias to invoke (default: the alias, else $LATEST)."""
    invocation_mode: NotRequired[InvocationMode]
    """Sync (default) or Async."""
    payload_transform_mode: NotRequired[PayloadTransformMode]
    """None (default where kgateway has the switch) or Envoy."""
    endpoint_url: NotRequired[str]
    """A Lambda-compatible endpoint kgateway calls instead of AWS's (LocalStack, moto), with its port."""
    wait_for_acceptance: NotRequired[bool]
    """Wait until kgateway accepted the Backend and routes (default true)."""
    crds_ready: NotRequired[pulumi.Input[str]]
    """auto: an output of what installs kgateway's CRDs in the same program that is unknown while it changes (e.g. its
    Helm release's status, as text); an id stays known through an upgrade."""


class RouteOptions(TypedDict):
    """One route to the function; all of what it names must match."""

    path: str
    """The path (an absolute path, or an RE2 expression for RegularExpression)."""
    match: NotRequired[PathMatch]
    """How the path matches (default PathPrefix)."""
    methods: NotRequired[list[str]]
    """HTTP methods, one match each (default: any method)."""
    headers: NotRequired[dict[str, str]]
    """Headers that must have exactly these values."""
    hostnames: NotRequired[list[str]]
    """Host names the route answers for (a leading `*.` matches any subdomain)."""
    name: NotRequired[str]
    """Name of the HTTPRoute (default: the component's name, with the route's index after the first)."""
    namespace: NotRequired[str]
    """Namespace of the HTTPRoute (default: the Backend's; another gets a ReferenceGrant)."""
    protection: NotRequired[RouteProtectionArgs]
    """Who may call this route (instead of the composite's `protection`; `{}`: none)."""


class CredentialsOptions(TypedDict):
    """The identity kgateway signs with, made for this function alone."""

    mode: NotRequired[CredentialsMode]
    """How kgateway authenticates (default generated)."""
    secret_name: NotRequired[str]
    """Name of the Secret (default: `<component name>-aws-creds`)."""
    rotation: NotRequired[str]
    """generated: change it to rotate the access key."""
    previous_rotation: NotRequired[str]
    """generated: the rotation whose key stays valid beside the new one, so a rotation has no failing window
    (set it to the old `rotation` when changing `rotation`; remove it once the new key is in use)."""
    access_key_id: NotRequired[pulumi.Input[str]]
    """provided: the access key id (kept secret)."""
    secret_access_key: NotRequired[pulumi.Input[str]]
    """provided: the secret access key (kept secret)."""
    session_token: NotRequired[pulumi.Input[str]]
    """provided: a session token (never refreshed by kgateway)."""
    oidc_provider: NotRequired[str]
    """irsa: the cluster's IAM OIDC provider ARN or issuer URL."""
    gateway_parameters_name: NotRequired[str]
    """irsa: name of the GatewayParameters (default `<component name>-irsa`)."""
    ambient_role_arn: NotRequired[str]
    """assume-role: the role the gateway proxy runs as."""


class SharedCredentialsArgs(TypedDict):
    """An identity made elsewhere (e.g. one GatewayCredentials for several functions); empty: ambient."""

    secret_name: NotRequired[pulumi.Input[str]]
    """The Secret with the keys, in the Backend's namespace."""
    assume_role_arn: NotRequired[pulumi.Input[str]]
    """The role kgateway assumes (kgateway v2.4+)."""


class LambdaGatewayRouteArgs(TypedDict):
    """A Lambda function behind kgateway: the function (or an existing one), credentials, Backend and routes."""

    function: NotRequired[LambdaFunctionArgs]
    """The function to create; or give `existingFunction`."""
    existing_function: NotRequired[str]
    (
        "Name or ARN of a function that already exists, in this account or another: only credentials, Backend and "
        "routes are created (another account must allow this identity to invoke it)."
    )
    backend: NotRequired[BackendOptions]
    """How the Backend invokes the function."""
    routes: NotRequired[list[RouteOptions]]
    """The routes (default: one PathPrefix route on /<function name>)."""
    gateway_name: NotRequired[str]
    """The Gateway the routes attach to (default http)."""
    gateway_namespace: NotRequired[str]
    """That Gateway's namespace (default kgateway-system)."""
    listener_name: NotRequired[str]
    """The Gateway's listener (sectionName) to attach to."""
    credentials: NotRequired[CredentialsOptions]
    """An identity for this function alone (the default: generated); or give `sharedCredentials`."""
    shared_credentials: NotRequired[SharedCredentialsArgs]
    """Use an identity made elsewhere instead of making one."""
    protection: NotRequired[RouteProtectionArgs]
    """Who may call every route without a `protection` of its own (API keys, JWT, CORS, rate limit, ...)."""


def check_composite_args(checker: InputChecker, args: Mapping[str, Any]) -> None:
    has_function, existing = "function" in args, args.get("existing_function")
    if has_function == (existing is not None):
        checker.fail(
            "function",
            None if not has_function else "(set)",
            "give exactly one of function and existingFunction",
            "{functionName: echo, code: ...}",
        )
    if has_function:
        check_function_args(checker, args["function"], "function.")
    if existing is not None and not (FUNCTION_NAME_RE.match(str(existing)) or FUNCTION_ARN_RE.match(str(existing))):
        checker.fail(
            "existingFunction",
            existing,
            "must be a function name or a Lambda function ARN",
            "arn:aws:lambda:us-east-1:123456789012:function:echo",
        )
    check_backend_args(checker, args.get("backend") or {}, "backend.")
    payload_mode = plain((args.get("backend") or {}).get("payload_transform_mode"))
    check_distinct_routes(checker, args.get("routes") or [])
    for index, route in enumerate(args.get("routes") or []):
        check_match_args(checker, route, f"routes[{index}].")
        checker.pattern(f"routes[{index}].name", route.get("name"), DNS_SUBDOMAIN_RE, DNS_SUBDOMAIN_RULE, "echo")
        checker.pattern(f"routes[{index}].namespace", route.get("namespace"), DNS_LABEL_RE, DNS_LABEL_RULE, "team-a")
        if (protection := route.get("protection")) is not None:
            check_protection_args(checker, protection, f"routes[{index}].protection.")
            check_client_id_forwarding(checker, protection, payload_mode, f"routes[{index}].protection.")
    if (protection := args.get("protection")) is not None:
        check_protection_args(checker, protection, "protection.")
        check_client_id_forwarding(checker, protection, payload_mode, "protection.")
    checker.pattern("gatewayName", args.get("gateway_name"), DNS_SUBDOMAIN_RE, DNS_SUBDOMAIN_RULE, "http")
    checker.pattern("gatewayNamespace", args.get("gateway_namespace"), DNS_LABEL_RE, DNS_LABEL_RULE, "kgateway-system")
    if "credentials" in args and "shared_credentials" in args:
        checker.fail("sharedCredentials", "(set)", "give at most one of credentials and sharedCredentials", "unset")
    check_credentials_args(checker, args.get("credentials") or {}, "credentials.")


class LambdaGatewayRoute(pulumi.ComponentResource):
    """A Lambda function (new or existing) behind kgateway: credentials, Backend and HTTPRoutes; providers via opts."""

    function_name: pulumi.Output[str]
    """The function's name."""
    function_arn: pulumi.Output[str]
    """The function's ARN (unqualified)."""
    role_arn: pulumi.Output[str | None]
    """The execution role's ARN (none for an existing function)."""
    backend_name: pulumi.Output[str]
    """The Backend's name."""
    route_names: pulumi.Output[list[str]]
    """The HTTPRoutes' names."""
    secret_name: pulumi.Output[str | None]
    """The Secret kgateway reads (generated and provided credentials)."""
    irsa_role_arn: pulumi.Output[str | None]
    """irsa: the role the proxy's service account assumes."""
    gateway_parameters_name: pulumi.Output[str | None]
    """irsa: the GatewayParameters to reference from the Gateway."""
    invoke_role_arn: pulumi.Output[str | None]
    """assume-role: the role the Backend names."""
    payload_transform_mode: pulumi.Output[str | None]
    """The payloadTransformMode the Backend carries (none where the installed kgateway lacks the field)."""
    api_keys: pulumi.Output[dict[str, dict[str, str]]]
    """The API keys of each protected route: HTTPRoute name -> client id -> key (a secret)."""

    def __init__(
        self,
        name: str,
        args: LambdaGatewayRouteArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        route_depends_on: Sequence[pulumi.Resource] = (),
        backend_depends_on: Sequence[pulumi.Resource] = (),
        cluster_reads: ClusterReads | None = None,
    ):
        """Python only: `route_depends_on`, what the HTTPRoutes wait for (e.g. a Gateway the caller creates);
        `backend_depends_on`, what the Backend waits for (e.g. `sharedCredentials`' keyless identity);
        `cluster_reads`, what `auto` reads of the cluster, shared with the stack's other components
        (components/cluster_reads.py; without it the composite reads once for its Backend and routes together)."""
        args = checked_inputs("LambdaGatewayRoute", name, LambdaGatewayRouteArgs, args, check_composite_args)
        plan = composite_plan(name, args)
        super().__init__(token("LambdaGatewayRoute"), name, None, component_options("LambdaGatewayRoute", None, opts))
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        backend_options = plan.backend_options
        none: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if cluster_reads is None:  # read on first use only: a pinned line reads nothing
            cluster_reads = ClusterReads(
                name, parent=self, provider=self.get_provider(CRD_TYPE), crds_ready=backend_options.get("crds_ready")
            )

        function_arn: pulumi.Output[str]
        if "function" in args:
            function = LambdaFunction(name, args["function"], opts=child)
            # The Kubernetes side takes the names from the inputs, not the function's outputs: the Secret, Backend
            # and routes are applied while the function is still being created, not after it.
            function_arn = function.function_arn
            self.function_name, self.role_arn = function.function_name, function.role_arn
        else:
            assert plan.existing is not None
            if FUNCTION_ARN_RE.match(plan.existing):
                function_arn = pulumi.Output.from_input(plan.existing)
            else:
                function_arn = regional_arn("lambda", f"function:{plan.existing}", invoke, plan.account_id)
            self.function_name, self.role_arn = pulumi.Output.from_input(plan.function_name), none

        self.secret_name = self.irsa_role_arn = self.gateway_parameters_name = self.invoke_role_arn = none
        # Outputs that may hold None (a mode without them), or plain values.
        secret_name: Any = None
        assume_role_arn: Any = None
        if "shared_credentials" in args:
            shared: Mapping[str, Any] = args["shared_credentials"]
            secret_name, assume_role_arn = shared.get("secret_name"), shared.get("assume_role_arn")
        else:
            options: Mapping[str, Any] = args.get("credentials") or {}
            credentials_args: dict[str, Any] = {
                **options,
                "functions": [
                    {"function": plan.existing or plan.function_name, "qualifier": plan.qualifier or "$LATEST"}
                ],
                "namespace": plan.namespace,
                "gateway_name": args.get("gateway_name") or "http",
                "gateway_namespace": args.get("gateway_namespace") or "kgateway-system",
            }
            if plan.account_id is not None:
                credentials_args["account_id"] = plan.account_id
            credentials = GatewayCredentials(name, cast(GatewayCredentialsArgs, credentials_args), opts=child)
            mode = credentials_mode(options)
            if mode in (CredentialsMode.GENERATED.value, CredentialsMode.PROVIDED.value):
                secret_name = credentials.secret_name
            if mode == CredentialsMode.ASSUME_ROLE.value:
                assume_role_arn = credentials.invoke_role_arn
            self.secret_name, self.irsa_role_arn = credentials.secret_name, credentials.irsa_role_arn
            self.gateway_parameters_name, self.invoke_role_arn = (
                credentials.gateway_parameters_name,
                credentials.invoke_role_arn,
            )

        backend = LambdaBackend(
            name,
            cast(LambdaBackendArgs, plan.backend_args(secret_name, assume_role_arn)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(backend_depends_on)),
            cluster_reads=cluster_reads,
        )
        route_components = [
            LambdaRoute(
                child_name,
                # The HTTPRoute waits for the Backend through the name it takes from it.
                cast(LambdaRouteArgs, {**route_args, "backend_name": backend.backend_name}),
                opts=pulumi.ResourceOptions(parent=self, depends_on=list(route_depends_on)),
                cluster_reads=cluster_reads,
            )
            for child_name, route_args in plan.routes
        ]
        route_names = [route_args["name"] for _, route_args in plan.routes]

        self.function_arn = function_arn
        self.backend_name = backend.backend_name
        self.route_names = pulumi.Output.all(*(r.route_name for r in route_components))
        self.api_keys = pulumi.Output.all(*(r.api_keys for r in route_components)).apply(
            lambda keys: {name: k for name, k in zip(route_names, keys, strict=True) if k is not None}
        )
        self.payload_transform_mode = backend.payload_transform_mode
        self.register_outputs(
            {
                "function_name": self.function_name,
                "function_arn": self.function_arn,
                "role_arn": self.role_arn,
                "backend_name": self.backend_name,
                "route_names": self.route_names,
                "secret_name": self.secret_name,
                "irsa_role_arn": self.irsa_role_arn,
                "gateway_parameters_name": self.gateway_parameters_name,
                "invoke_role_arn": self.invoke_role_arn,
                "payload_transform_mode": self.payload_transform_mode,
                "api_keys": self.api_keys,
            }
        )
