"""The credentials kgateway signs Lambda invocations with, as the Secret its Backend references."""

import asyncio
import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from .execution_role import (
    ATTACHED_POLICIES,
    IAM_POLICY_NAME,
    MANAGED_POLICY_CHARACTERS,
    iam_resource_name,
    regional_arn,
)
from .gateway_api_objects import gateway_parameters_manifest
from .gateway_iam import (
    assume_role_trust_policy,
    invoke_only_policy,
    irsa_trust_policy,
    oidc_provider_arn,
    policy_chunks,
)
from .inputs import checked_inputs
from .k8s_objects import COMMON_LABELS, custom_resource, fixed_name_options, object_resource_name
from .tokens import component_options, token
from .validation import (
    DNS_LABEL_RE,
    DNS_LABEL_RULE,
    DNS_SUBDOMAIN_RE,
    DNS_SUBDOMAIN_RULE,
    FUNCTION_ARN_RE,
    FUNCTION_NAME_RE,
    OIDC_PROVIDER,
    QUALIFIER,
    ROLE_ARN,
    ROTATION,
    InputChecker,
    dns_label_for,
    plain,
)

IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"

# How old a new access key must be before the Backend is moved to it, during a rotation that keeps the previous
# key. IAM is eventually consistent and states no bound ("Changes that I make are not always immediately visible",
# IAM User Guide, troubleshoot_general): a new key is typically honoured within seconds; this leaves a margin. The
# previous key stays valid meanwhile, so waiting costs deploy time only, never a failed request.
KEY_SETTLE_SECONDS = 30.0
# A Secret name per rotation: `<secretName>-<8 hex of the rotation>` (the rotation may hold `_` or capitals, which
# a Kubernetes name may not).
ROTATION_SUFFIX_LENGTH = len("-") + 8
FIRST_ROTATION = "1"
SECRET_NAME_LIMIT = 253


class WallClock:
    """Time as the deploy sees it. The day-2 harness swaps in simulated time (tests/support/iam_propagation.py)."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


CLOCK = WallClock()


def rotation_secret_name(secret_name: str, rotation: str) -> str:
    """The Secret of one rotation. A new name per rotation, because pulumi-kubernetes replaces a Secret whose data
    changes, deleting it first when the name stays (pulumi/pulumi-kubernetes provider/pkg/provider/diff.go
    `forceNewProperties`, unless the provider sets `enableSecretMutable`): for a moment the Backend would reference
    no Secret, and kgateway then signs with Envoy's default credential chain
    (kgateway-dev/kgateway internal/kgateway/extensions2/plugins/backend/aws.go `configureAWSAuth`: no Secret data,
    no inline credentials).
    With a new name the new Secret exists before the Backend moves to it, and the old one goes after. The first
    rotation keeps the plain name, so a stack that never rotated keeps its Secret untouched."""
    if rotation == FIRST_ROTATION:
        return secret_name
    return f"{secret_name}-{hashlib.sha256(rotation.encode()).hexdigest()[:8]}"


async def key_settled(create_date: str | None) -> None:
    """Returns once the key created at `create_date` (RFC 3339, the provider's `createDate`) is KEY_SETTLE_SECONDS
    old; at once for an older key. Nothing waits in a preview."""
    if pulumi.runtime.is_dry_run():
        return
    created = datetime.fromisoformat(create_date).timestamp() if create_date else CLOCK.now()
    remaining = created + KEY_SETTLE_SECONDS - CLOCK.now()
    if remaining > 0:
        await CLOCK.sleep(remaining)


class InvokeTarget(TypedDict):
    """A function kgateway may invoke."""

    function: str
    """Its name (in the provider's region and `accountId`'s account) or its ARN (any account)."""
    qualifier: NotRequired[str]
    """The version or alias kgateway invokes (default $LATEST)."""


class CredentialsMode(StrEnum):
    """How kgateway authenticates its Lambda invocations."""

    GENERATED = "generated"
    """A dedicated IAM user that may only invoke the routed functions, its access key in a Secret."""
    PROVIDED = "provided"
    """Keys you provide (as secrets), in a Secret."""
    IRSA = "irsa"
    """No keys: an invoke-only role the gateway proxy's service account assumes (EKS IRSA)."""
    ASSUME_ROLE = "assume-role"
    """No keys: an invoke-only role the gateway's ambient identity assumes (kgateway v2.4+)."""


class GatewayCredentialsArgs(TypedDict):
    """The identity kgateway signs Lambda invocations with."""

    functions: list[InvokeTarget]
    """The functions kgateway may invoke, each at exactly its qualifier (what a Backend invokes); nothing else."""
    mode: NotRequired[CredentialsMode]
    """How kgateway authenticates (default generated)."""
    namespace: NotRequired[str]
    """Namespace of the Secret: the Backends' namespace, where kgateway reads it (default kgateway-system)."""
    secret_name: NotRequired[str]
    """Name of the Secret (default: `<component name>-aws-creds`)."""
    rotation: NotRequired[str]
    """generated: change it to rotate the access key; each rotation has its own key and Secret. provided: change it
    with the keys, so the new keys get a Secret of their own before the Backend moves (no window without one)."""
    previous_rotation: NotRequired[str]
    """generated: the rotation before `rotation`, whose key stays valid beside the new one (no failing window);
    remove it later to delete that key. Unset, a rotation deletes the old key in the same deployment."""
    access_key_id: NotRequired[pulumi.Input[str]]
    """provided: the access key id (kept secret)."""
    secret_access_key: NotRequired[pulumi.Input[str]]
    """provided: the secret access key (kept secret)."""
    session_token: NotRequired[pulumi.Input[str]]
    """provided: a session token; kgateway never refreshes it, so temporary keys stop working."""
    oidc_provider: NotRequired[str]
    """irsa: the cluster's IAM OIDC provider ARN, or its issuer URL (https://...)."""
    account_id: NotRequired[pulumi.Input[str]]
    """irsa: the account of the OIDC provider given as an issuer URL (default: the deploying identity's)."""
    gateway_name: NotRequired[str]
    """irsa: the Gateway whose proxy service account may assume the role (default http)."""
    gateway_namespace: NotRequired[str]
    """irsa: that Gateway's namespace; also where the GatewayParameters go (default kgateway-system)."""
    gateway_parameters_name: NotRequired[str]
    """irsa: name of the GatewayParameters annotating the proxy's service account (default `<name>-irsa`)."""
    ambient_role_arn: NotRequired[str]
    """assume-role: the role the gateway proxy already runs as, the only principal that may assume ours."""


def check_targets(checker: InputChecker, targets: Any, mode: str) -> None:
    """The functions kgateway may invoke: names or ARNs, and few enough for IAM's managed-policy quota in the modes
    that make the policies (`provided` keys come with their own permissions: nothing is made, nothing limits)."""
    if not targets:
        checker.fail("functions", targets, "must list the functions kgateway may invoke", "[{function: echo}]")
        return
    for index, target in enumerate(targets):
        function = target.get("function") if isinstance(target, Mapping) else None
        if not isinstance(function, str) or not (FUNCTION_NAME_RE.match(function) or FUNCTION_ARN_RE.match(function)):
            checker.fail(f"functions[{index}].function", function, "must be a function name or ARN", "echo")
        checker.rule(
            f"functions[{index}].qualifier", target.get("qualifier") if isinstance(target, Mapping) else None, QUALIFIER
        )
    if mode == CredentialsMode.PROVIDED.value:
        return
    if not checker.problems and len(chunks := policy_chunks(targets)) > ATTACHED_POLICIES:
        checker.fail(
            "functions",
            f"[{len(targets)} functions]",
            f"need {len(chunks)} managed policies of at most {MANAGED_POLICY_CHARACTERS} characters each, and IAM "
            f"attaches at most {ATTACHED_POLICIES} to a user or role (its default quota): route them through "
            "several stacks or gateways",
            f"at most about {len(targets) * ATTACHED_POLICIES // len(chunks)} functions",
        )


def credentials_mode(args: Mapping[str, Any]) -> str:
    """The mode the inputs ask for, `generated` when they name none."""
    return plain(args.get("mode")) or CredentialsMode.GENERATED.value


def check_credentials_args(checker: InputChecker, args: Mapping[str, Any], prefix: str = "") -> None:
    """The credentials' plain inputs: mode, names, and what each mode needs."""
    mode = credentials_mode(args)
    checker.choice(f"{prefix}mode", mode, [m.value for m in CredentialsMode])
    checker.pattern(f"{prefix}secretName", args.get("secret_name"), DNS_SUBDOMAIN_RE, DNS_SUBDOMAIN_RULE, "aws-creds")
    checker.rule(f"{prefix}rotation", args.get("rotation"), ROTATION)
    previous = args.get("previous_rotation")
    checker.rule(f"{prefix}previousRotation", previous, ROTATION)
    if previous is not None and previous == (args.get("rotation") or FIRST_ROTATION):
        checker.fail(f"{prefix}previousRotation", previous, "must differ from rotation", "1")
    if previous is not None and mode != CredentialsMode.GENERATED.value:
        checker.fail(f"{prefix}previousRotation", previous, "is only read in mode 'generated'; remove it", "generated")
    secret_name = args.get("secret_name")
    if mode == CredentialsMode.GENERATED.value and isinstance(secret_name, str):
        longest = SECRET_NAME_LIMIT - ROTATION_SUFFIX_LENGTH
        if len(secret_name) > longest:
            checker.fail(
                f"{prefix}secretName",
                secret_name,
                f"must be at most {longest} characters in mode 'generated' (a suffix per rotation follows it)",
                "aws-creds",
            )
    keys = ("access_key_id", "secret_access_key", "session_token")
    if mode == CredentialsMode.PROVIDED.value:
        for key, schema_name in (("access_key_id", "accessKeyId"), ("secret_access_key", "secretAccessKey")):
            checker.required(
                f"{prefix}{schema_name}", args.get(key), "a secret", " when mode is 'provided' (pass it as a secret)"
            )
    elif any(args.get(key) is not None for key in keys):
        checker.fail(
            f"{prefix}mode", mode, "ignores accessKeyId/secretAccessKey/sessionToken: use mode 'provided'", "provided"
        )
    if mode == CredentialsMode.IRSA.value:
        checker.required(
            f"{prefix}oidcProvider",
            args.get("oidc_provider"),
            "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE",
            " when mode is 'irsa'",
        )
        checker.rule(f"{prefix}oidcProvider", args.get("oidc_provider"), OIDC_PROVIDER)
        checker.pattern(
            f"{prefix}gatewayParametersName",
            args.get("gateway_parameters_name"),
            DNS_SUBDOMAIN_RE,
            DNS_SUBDOMAIN_RULE,
            "lambda-irsa",
        )
    if mode == CredentialsMode.ASSUME_ROLE.value:
        checker.required(
            f"{prefix}ambientRoleArn",
            args.get("ambient_role_arn"),
            "arn:aws:iam::123456789012:role/kgateway-proxy",
            " when mode is 'assume-role'",
        )
        checker.rule(f"{prefix}ambientRoleArn", args.get("ambient_role_arn"), ROLE_ARN)


def check_gateway_credentials_args(checker: InputChecker, args: Mapping[str, Any]) -> None:
    """GatewayCredentials' own inputs: the credentials', the Secret's namespace and the targets."""
    check_credentials_args(checker, args)
    for key, schema_name in (("namespace", "namespace"), ("gateway_namespace", "gatewayNamespace")):
        checker.pattern(schema_name, args.get(key), DNS_LABEL_RE, DNS_LABEL_RULE, "kgateway-system")
    checker.pattern("gatewayName", args.get("gateway_name"), DNS_SUBDOMAIN_RE, DNS_SUBDOMAIN_RULE, "http")
    check_targets(checker, args.get("functions"), credentials_mode(args))


class GatewayCredentials(pulumi.ComponentResource):
    """The identity kgateway signs Lambda invocations with, and the Secret (accessKey, secretKey) it reads.

    `generated`: a dedicated IAM user allowed only to invoke the routed functions, with one access key per
    rotation and a Secret per rotation; changing `rotation` makes the new key and its Secret, then moves the
    Backend. With `previous_rotation` the old key stays valid (and the Backend moves only once the new key has
    settled), so no request fails; without it the old key is deleted in the same deployment.
    `provided`: keys from encrypted stack config.
    `irsa`: no keys at all: an invoke-only role the gateway proxy's service account assumes through the
    cluster's OIDC provider, and the kgateway GatewayParameters that annotates that service account.
    `assume-role`: no keys: an invoke-only role that exactly the gateway's ambient role may assume; the
    Backend names it (`auth.type: AssumeRole`).
    """

    secret_name: pulumi.Output[str | None]
    """The Secret kgateway reads (generated and provided modes)."""
    user_name: pulumi.Output[str | None]
    """The invoke-only IAM user (generated mode)."""
    irsa_role_arn: pulumi.Output[str | None]
    """The role the proxy's service account assumes (irsa mode)."""
    gateway_parameters_name: pulumi.Output[str | None]
    """The GatewayParameters that annotate the proxy's service account (irsa mode)."""
    invoke_role_arn: pulumi.Output[str | None]
    """The role the Backend names for kgateway to assume (assume-role mode)."""

    def __init__(self, name: str, args: GatewayCredentialsArgs, opts: pulumi.ResourceOptions | None = None):
        args = checked_inputs("GatewayCredentials", name, GatewayCredentialsArgs, args, check_gateway_credentials_args)
        super().__init__(token("GatewayCredentials"), name, None, component_options("GatewayCredentials", "aws", opts))
        self._args = _Resolved.of(name, args)
        child = pulumi.ResourceOptions(parent=self)
        none: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        self.secret_name = self.user_name = self.irsa_role_arn = self.gateway_parameters_name = none
        self.invoke_role_arn = none
        # irsa: the GatewayParameters object, for a Gateway made elsewhere to wait for exactly it (Python only).
        self.gateway_parameters: pulumi.CustomResource | None = None
        resolved = self._args
        if resolved.mode == "irsa":
            self._irsa(name, resolved)
            return
        if resolved.mode == "assume-role":
            self._assume_role(name, resolved)
            return

        session_token: pulumi.Input[str] | None
        if resolved.mode == "generated":
            user = aws.iam.User(
                iam_resource_name(name, "invoker"),
                path="/kgateway-lambda/",
                tags={"purpose": "kgateway Lambda invocation"},
                opts=child,
            )
            for policy_name, policy in self._invoke_only_policies(name):
                aws.iam.UserPolicyAttachment(policy_name, user=user.name, policy_arn=policy.arn, opts=child)
            # The key does not wait for the permissions: IAM is eventually consistent, so their creation would not
            # make the first signed request succeed any sooner; it would only lengthen the deploy.
            key_options = pulumi.ResourceOptions(parent=self, additional_secret_outputs=["secret"])
            key = aws.iam.AccessKey(f"{name}-key-{resolved.rotation}", user=user.name, opts=key_options)
            if resolved.previous_rotation is not None:
                # Kept as it is (same resource name as when it was current): kgateway may sign with it until it has
                # the new Secret, and IAM may not honour the new key yet. IAM allows two keys per user.
                aws.iam.AccessKey(f"{name}-key-{resolved.previous_rotation}", user=user.name, opts=key_options)
                # The Backend moves to the new key only once it has settled (the old one still works meanwhile).
                settled: pulumi.Output[None] = key.create_date.apply(
                    lambda created: pulumi.Output.from_input(key_settled(created))
                )
            else:
                settled = pulumi.Output.from_input(None)
            access_key_id: pulumi.Input[str] = key.id
            secret_access_key: pulumi.Input[str] = key.secret
            session_token = None
            self.user_name = user.name
            secret_name = rotation_secret_name(resolved.secret_name, resolved.rotation)
        else:
            assert resolved.access_key_id is not None and resolved.secret_access_key is not None  # checked above
            access_key_id, secret_access_key = resolved.access_key_id, resolved.secret_access_key
            session_token = resolved.session_token
            # A Secret per rotation here too: new keys given with a new `rotation` get a Secret of their own,
            # made before the Backend moves to it; the same name would be replaced delete-first (a window with no
            # Secret, see rotation_secret_name).
            secret_name = rotation_secret_name(resolved.secret_name, resolved.rotation)
            settled = pulumi.Output.from_input(None)

        string_data: dict[str, pulumi.Input[str]] = {
            "accessKey": pulumi.Output.secret(access_key_id),
            "secretKey": pulumi.Output.secret(secret_access_key),
        }
        if session_token is not None:
            string_data["sessionToken"] = pulumi.Output.secret(session_token)
        # Releases 0.1.0 and 0.2.0 named their one Secret `<component>-secret`, always `secret_name` whatever the
        # rotation: the alias carries it over only to the Secret of that same name. Onto another name it would be
        # a rename, which a fixed-name object replaces delete-first while the Backend still names the old one (a
        # window with no Secret); without it the new Secret is made, the Backend moves, and the old one goes last.
        if secret_name == resolved.secret_name:
            secret_options = fixed_name_options(child, f"{name}-secret")
        else:
            secret_options = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(delete_before_replace=True))
        secret = k8s.core.v1.Secret(
            object_resource_name(resolved.namespace, secret_name),
            metadata=k8s.meta.v1.ObjectMetaArgs(name=secret_name, namespace=resolved.namespace, labels=COMMON_LABELS),
            type="Opaque",
            string_data=string_data,
            opts=secret_options,
        )
        # What the Backend references: known once the Secret exists and, during a rotation, the new key has settled.
        self.secret_name = pulumi.Output.all(secret.urn, settled).apply(lambda _: secret_name)
        self.register_outputs({"secret_name": self.secret_name, "user_name": self.user_name})

    def _invoke_only_policies(self, name: str) -> list[tuple[str, aws.iam.Policy]]:
        """Managed policies allowing `lambda:InvokeFunction` on exactly the targets' ARNs, as few as IAM allows."""
        invoke = pulumi.InvokeOutputOptions(parent=self)
        args = self._args
        prefix = regional_arn("lambda", "function:", invoke, args.account_id)
        policies = []
        for index, chunk in enumerate(policy_chunks(args.functions), start=1):
            arns: list[pulumi.Input[str]] = []
            for target in chunk:
                function, qualifier = str(target["function"]), str(target.get("qualifier") or "$LATEST")
                arn = function if function.startswith("arn:") else pulumi.Output.concat(prefix, function)
                # Exactly the ARN a Backend invokes: kgateway always signs `function:<name>:<qualifier>` (the CRD
                # defaults the qualifier to $LATEST; `buildLambdaARN` in pkg/kgateway/extensions2/plugins/backend/
                # aws.go @ 207dff9, 1eb924f, 354c0f6, and internal/.../backend/aws.go @ v2.0.0). IAM matches the
                # request's ARN literally, so the unqualified ARN (which invokes $LATEST) would grant more than the
                # route uses: with an alias, the function's unpublished code.
                arns.append(pulumi.Output.concat(arn, ":", qualifier))
            policy_name = iam_resource_name(name, f"invoke-only-{index}", IAM_POLICY_NAME)
            policy = aws.iam.Policy(
                policy_name,
                path="/kgateway-lambda/",
                description="kgateway may invoke exactly these Lambda functions",
                policy=pulumi.Output.all(*arns).apply(invoke_only_policy),
                opts=pulumi.ResourceOptions(parent=self),
            )
            policies.append((policy_name, policy))
        return policies

    def _invoke_only_role(self, resource_name: str, trust_policy: pulumi.Input[str], description: str) -> aws.iam.Role:
        """A role that may only invoke the routed functions, assumable as `trust_policy` says."""
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(resource_name, assume_role_policy=trust_policy, description=description, opts=child)
        for policy_name, policy in self._invoke_only_policies(resource_name):
            aws.iam.RolePolicyAttachment(policy_name, role=role.name, policy_arn=policy.arn, opts=child)
        return role

    def _assume_role(self, name: str, args: "_Resolved") -> None:
        assert args.ambient_role_arn is not None  # checked above
        role = self._invoke_only_role(
            iam_resource_name(name, "invoke-role"),
            assume_role_trust_policy(args.ambient_role_arn),
            "Assumed by the kgateway proxy's ambient identity to invoke routed Lambdas",
        )
        # The Backend that names the role waits for the role alone (as the access key does not wait for its
        # permissions: IAM is eventually consistent, so waiting for the attachments would not help the first call).
        self.invoke_role_arn = role.arn
        self.register_outputs({"invoke_role_arn": self.invoke_role_arn})

    def _irsa(self, name: str, args: "_Resolved") -> None:
        assert args.oidc_provider is not None  # checked above
        account_id = (
            args.account_id or aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        )
        service_account = f"system:serviceaccount:{args.gateway_namespace}:{args.gateway_name}"
        role = self._invoke_only_role(
            iam_resource_name(name, "irsa"),
            oidc_provider_arn(args.oidc_provider, account_id).apply(
                lambda arn: irsa_trust_policy(arn, service_account)
            ),
            f"kgateway proxy {args.gateway_namespace}/{args.gateway_name}: invoke routed Lambdas",
        )
        parameters = custom_resource(
            f"{name}-gateway-parameters",
            irsa_gateway_parameters(name, args, role.arn),
            pulumi.ResourceOptions(parent=self),
        )
        self.gateway_parameters = parameters
        self.irsa_role_arn = role.arn
        self.gateway_parameters_name = parameters.urn.apply(lambda _: args.gateway_parameters_name)
        self.register_outputs(
            {"irsa_role_arn": self.irsa_role_arn, "gateway_parameters_name": self.gateway_parameters_name}
        )


def irsa_gateway_parameters(
    name: str, args: "Mapping[str, Any] | _Resolved", role_arn: pulumi.Input[str]
) -> dict[str, Any]:
    """irsa: the GatewayParameters the `GatewayCredentials` named `name` registers, annotating the proxy's service
    account with `role_arn`; the preflight (program/preflight.py) checks this same object."""
    resolved = args if isinstance(args, _Resolved) else _Resolved.of(name, args)
    return gateway_parameters_manifest(
        name=resolved.gateway_parameters_name,
        namespace=resolved.gateway_namespace,
        annotations={IRSA_ANNOTATION: role_arn},
    )


@dataclass(frozen=True)
class _Resolved:
    """The inputs with every default filled in."""

    mode: str
    functions: list[Mapping[str, Any]]
    namespace: str
    secret_name: str
    rotation: str
    previous_rotation: str | None
    access_key_id: pulumi.Input[str] | None
    secret_access_key: pulumi.Input[str] | None
    session_token: pulumi.Input[str] | None
    oidc_provider: str | None
    account_id: pulumi.Input[str] | None
    gateway_name: str
    gateway_namespace: str
    gateway_parameters_name: str
    ambient_role_arn: str | None

    @staticmethod
    def of(name: str, args: Mapping[str, Any]) -> "_Resolved":
        label = dns_label_for(name)
        return _Resolved(
            mode=credentials_mode(args),
            functions=list(args["functions"]),
            namespace=args.get("namespace") or "kgateway-system",
            secret_name=args.get("secret_name") or f"{label}-aws-creds",
            rotation=args.get("rotation") or FIRST_ROTATION,
            previous_rotation=args.get("previous_rotation"),
            access_key_id=args.get("access_key_id"),
            secret_access_key=args.get("secret_access_key"),
            session_token=args.get("session_token"),
            oidc_provider=args.get("oidc_provider"),
            account_id=args.get("account_id"),
            gateway_name=args.get("gateway_name") or "http",
            gateway_namespace=args.get("gateway_namespace") or "kgateway-system",
            gateway_parameters_name=args.get("gateway_parameters_name") or f"{label}-irsa",
            ambient_role_arn=args.get("ambient_role_arn"),
        )
