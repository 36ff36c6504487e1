"""A deploy harness: the real program on Pulumi's mock engine, where every `aws:` resource is really made in moto.

Like `pulumi up`, it keeps state between runs, by URN: a resource known under an alias moves without a change; one
whose inputs did not change is left alone; one whose inputs changed is updated, or replaced where the provider
replaces (create-before-delete; pulumi-kubernetes deletes a named object first); what a run no longer declares is
deleted after everything else, dependents before what they depend on (from the program's own dependency graph).
`destroy()` deletes everything in that order. Kubernetes objects go to an in-memory API server (`Cluster`) that
refuses AlreadyExists and validates against the real CRDs. A resource type the harness has no model of fails.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pulumi
import yaml
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from components import packaging
from components.kgateway_api import CRD_TYPE
from program.crd_validation import object_errors
from program.gateway import GATEWAY_TYPE
from tests.conftest import MAIN_BACKEND_CRD
from tools.aws_rules import check_attachments, check_managed_policy, physical_name
from tools.engine import (
    ProgramRun,
    Registration,
    current_registration,
    inventory_invoke_result,
    read_crd_file,
    region_invoke_result,
    reveal,
    run_program,
)

Key = tuple[str, str]  # (type, URN)


_CREATED = itertools.count()


class DeleteConflictError(Exception):
    """IAM's DeleteConflict: the entity still has something attached."""


class RequestTooLargeError(RuntimeError):
    """Lambda's answer to a request over its size quota."""


class AlreadyExistsError(RuntimeError):
    """The API server's AlreadyExists for a create whose name is taken."""


@dataclass
class Deployed:
    type: str
    name: str
    id: str
    inputs: dict[str, Any]
    state: dict[str, Any]
    # The URNs it depends on (its dependencies and parent): what must outlive it when deleting.
    depends_on: tuple[str, ...] = ()
    # When it was made (a counter across runs): deletes the graph leaves unordered go oldest first.
    created: int = field(default_factory=lambda: next(_CREATED))
    # A read (`get`), or a resource released from management: the engine never deletes it through its provider.
    external: bool = False
    # The provider it was made through ("" = the package's default provider) and that provider's config then.
    provider: str = ""
    provider_config: dict[str, Any] = field(default_factory=dict)


# Inputs whose change makes the provider replace the resource (ForceNew in the AWS provider's schema,
# terraform-provider-aws internal/service/*: e.g. lambda/function.go `function_name`, `package_type`; iam/role.go
# `name`, `name_prefix`, `path`); a change elsewhere is an update.
REPLACE_ON = {
    "aws:lambda/function:Function": ("name", "packageType"),
    "aws:cloudwatch/logGroup:LogGroup": ("name",),
    "aws:iam/role:Role": ("name", "namePrefix", "path"),
    "aws:iam/user:User": ("name",),
    "aws:iam/policy:Policy": ("name", "path"),
    "aws:iam/accessKey:AccessKey": ("user",),
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": ("user", "policyArn"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role", "policyArn"),
    "aws:lambda/alias:Alias": ("name", "functionName"),
    # internal/service/s3/bucket.go: `bucket`, `bucket_prefix` ForceNew; object.go: `bucket`, `key` ForceNew.
    "aws:s3/bucket:Bucket": ("bucket", "bucketPrefix"),
    "aws:s3/bucketObjectv2:BucketObjectv2": ("bucket", "key"),
}

# Kinds without a namespace (the API server keeps them cluster-wide).
CLUSTER_SCOPED_KINDS = {"CustomResourceDefinition", "Namespace", "ClusterRole", "ClusterRoleBinding"}


def _kubernetes_diff(type_: str, old: dict[str, Any], new: dict[str, Any]) -> tuple[bool, bool]:
    """(replace, delete_before_replace) as pulumi-kubernetes' Diff decides them.

    pulumi/pulumi-kubernetes provider/pkg/provider/diff.go `forceNewProperties`: `.metadata.name` and
    `.metadata.namespace` always force a replacement, and for a Secret (unless the provider sets
    `enableSecretMutable`) `.type`, `.stringData` and `.data` too (a ConfigMap's `.data` and `.binaryData`,
    unless `enableConfigMapMutable`). provider.go `Diff`: delete-before-replace only when the object is named
    and the new name AND namespace equal the old ones; a name or namespace change is create-before-delete.
    """
    before, after = reveal(old), reveal(new)
    before_meta, after_meta = before.get("metadata") or {}, after.get("metadata") or {}
    force_new: list[tuple[str, ...]] = [("metadata", "name"), ("metadata", "namespace")]
    if type_ == "kubernetes:core/v1:Secret":
        force_new += [("type",), ("stringData",), ("data",)]
    elif type_ == "kubernetes:core/v1:ConfigMap":  # unless `enableConfigMapMutable`
        force_new += [("binaryData",), ("data",)]

    def at(obj: dict[str, Any], path: tuple[str, ...]) -> Any:
        for part in path:
            obj = obj.get(part) if isinstance(obj, dict) else None  # type: ignore[assignment]
        return _comparable({"v": obj})

    replace = any(at(before, path) != at(after, path) for path in force_new)
    same_identity = all(before_meta.get(k) == after_meta.get(k) for k in ("name", "namespace"))
    return replace, replace and same_identity and bool(after_meta.get("name"))


def _aws_replaces(type_: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
    return any(_comparable({k: old.get(k)}) != _comparable({k: new.get(k)}) for k in REPLACE_ON.get(type_, ()))


def _active_cluster(config: dict[str, Any]) -> Any:
    """The cluster entry a kubeconfig's context selects (pulumi/pulumi-kubernetes provider/pkg/provider/util.go
    `getActiveClusterFromConfig`), or None when there is no kubeconfig to read it from."""
    text = config.get("kubeconfig")
    if not isinstance(text, str) or not text:
        return None
    try:
        kubeconfig = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(kubeconfig, dict):
        return None
    context_name = config.get("context") or kubeconfig.get("current-context")
    contexts = {c.get("name"): c.get("context") or {} for c in kubeconfig.get("contexts") or []}
    clusters = {c.get("name"): c.get("cluster") or {} for c in kubeconfig.get("clusters") or []}
    context = contexts.get(context_name)
    if context is None:
        return None
    return clusters.get(config.get("cluster") or context.get("cluster"))


def kubernetes_config_replaces(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether pulumi-kubernetes' DiffConfig (pulumi/pulumi-kubernetes provider/pkg/provider/provider.go
    `DiffConfig`) asks for a replacement
    of every object when a resource moves from a provider with config `old` to one with `new`: a changed
    `clusterIdentifier` (added or removed does not count), else a `kubeconfig`, `context` or `cluster` not known
    yet, else a different active cluster (both known); an unchanged, set `clusterIdentifier` cancels it all."""
    if old.get("clusterIdentifier") and new.get("clusterIdentifier"):
        return bool(old["clusterIdentifier"] != new["clusterIdentifier"])
    if any(_is_unknown(new.get(key)) for key in ("kubeconfig", "context", "cluster")):
        return True
    before, after = _active_cluster(old), _active_cluster(new)
    return before is not None and after is not None and before != after


def _is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown) or (isinstance(value, str) and value == UNKNOWN)


def _has_unknowns(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_unknowns(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknowns(v) for v in value)
    return _is_unknown(value)


class Cluster:
    """An in-memory API server: refuses an object that exists (AlreadyExists), validates every custom object
    against the real CRD (strict fields, CEL; kgateway main), answers reads with what it holds, and forgets what
    is deleted. It starts with what the guide installs: kgateway's Backend CRD and the Gateway `http` in
    `kgateway-system` (pass `gateway=None` for a cluster without it)."""

    def __init__(self, gateway: dict[str, Any] | None = None, *, with_gateway: bool = True) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        crd = read_crd_file(MAIN_BACKEND_CRD)
        self.objects[self._identity(CRD_TYPE, crd)] = crd
        if with_gateway:
            guide = gateway or {
                "spec": {
                    "gatewayClassName": "kgateway",
                    "listeners": [{"name": "http", "port": 8080, "protocol": "HTTP"}],
                },
                "status": {"addresses": [{"type": "IPAddress", "value": "127.0.0.1"}]},
            }
            manifest = {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "Gateway",
                "metadata": {"name": "http", "namespace": "kgateway-system"},
                **guide,
            }
            self.objects[self._identity(GATEWAY_TYPE, manifest)] = manifest

    @staticmethod
    def _identity(type_: str, manifest: dict[str, Any]) -> tuple[str, str, str]:
        metadata = manifest.get("metadata") or {}
        api_type = type_.split(":", 1)[1]
        if api_type.rsplit(":", 1)[-1] in CLUSTER_SCOPED_KINDS:
            return api_type, "", str(metadata["name"])
        return api_type, str(metadata.get("namespace", "default")), str(metadata["name"])

    def create(self, type_: str, manifest: dict[str, Any], *, dry_run: bool = False) -> str:
        """A create (client-side, as pulumi-kubernetes >= 4.29 makes it:
        pulumi/pulumi-kubernetes provider/pkg/await/await.go `Creation`);
        validation comes before the name check, as in the API server (admission, then storage)."""
        identity = self._identity(type_, manifest)
        self._validate(manifest)
        if identity in self.objects:
            raise AlreadyExistsError(
                f'AlreadyExists: {identity[0]} "{identity[2]}" already exists in {identity[1] or "the cluster"}'
                "\n\nThe resource already exists in the cluster."
            )
        if not dry_run:
            self.objects[identity] = manifest
        return f"{identity[1]}/{identity[2]}" if identity[1] else identity[2]

    def update(self, type_: str, manifest: dict[str, Any], *, dry_run: bool = False) -> None:
        """A server-side apply of the whole object (pulumi-kubernetes' Update), validated like a create."""
        self._validate(manifest)
        if not dry_run:
            self.objects[self._identity(type_, manifest)] = manifest

    def delete(self, type_: str, manifest: dict[str, Any]) -> None:
        self.objects.pop(self._identity(type_, reveal(manifest)), None)

    def read(self, type_: str, resource_id: str) -> dict[str, Any] | None:
        """What pulumi-kubernetes' Read returns for an ID `namespace/name` (or `name`): the live object, or None."""
        namespace, _, name = resource_id.rpartition("/")
        api_type = type_.split(":", 1)[1]
        if not namespace and api_type.rsplit(":", 1)[-1] not in CLUSTER_SCOPED_KINDS:
            namespace = "default"
        found = self.objects.get((api_type, namespace, name))
        return json.loads(json.dumps(found)) if found is not None else None

    @staticmethod
    def _validate(manifest: dict[str, Any]) -> None:
        if manifest.get("kind") in ("Backend", "HTTPRoute", "ReferenceGrant", "GatewayParameters", "Gateway"):
            errors = object_errors(manifest, "main")
            if errors:
                raise RuntimeError(f"the API server refuses {manifest['kind']}: {errors}")

    def of_kind(self, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
        return {(ns, name): obj for (k, ns, name), obj in self.objects.items() if k.endswith(f":{kind}")}


def _comparable(inputs: dict[str, Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, pulumi.FileArchive):
            return {"archive": value.path}
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if _is_unknown(value):
            return UNKNOWN
        return value

    return json.dumps(plain(reveal(inputs)), sort_keys=True, default=str)


def _suffix(name: str, stack: str = "") -> str:
    """A stand-in for Pulumi's 7 random characters: stable per stack and name, different across stacks."""
    return hashlib.sha256(f"{stack}/{name}".encode()).hexdigest()[:7]


# The configuration inputs of a function and the UpdateFunctionConfiguration field each is sent as
# (terraform-provider-aws internal/service/lambda/function.go `resourceFunctionUpdate`, `needsFunctionConfigUpdate`).
FUNCTION_CONFIGURATION_FIELDS = {
    "description": "Description",
    "environment": "Environment",
    "handler": "Handler",
    "loggingConfig": "LoggingConfig",
    "memorySize": "MemorySize",
    "role": "Role",
    "runtime": "Runtime",
    "timeout": "Timeout",
    "ephemeralStorage": "EphemeralStorage",
    "tracingConfig": "TracingConfig",
    "layers": "Layers",
}


def _function_field(key: str, value: Any) -> Any:  # noqa: PLR0911 (one return per field shape)
    """One configuration input in UpdateFunctionConfiguration's shape."""
    if key in ("memorySize", "timeout"):
        return int(value)
    if key == "loggingConfig":
        logging = value or {}
        return {"LogFormat": logging.get("logFormat", "Text"), "LogGroup": logging.get("logGroup", "")}
    if key == "environment":
        return {"Variables": dict((value or {}).get("variables") or {})}
    if key == "ephemeralStorage":
        return {"Size": int((value or {}).get("size", 512))}
    if key == "tracingConfig":
        return {"Mode": (value or {}).get("mode", "PassThrough")}
    if key == "description":
        return value or ""
    return value


def _provider_key(urn: str) -> str:
    """A provider by its type and name (the SDK's references carry the mock's URN, the state the engine's)."""
    parts = urn.split("::")
    return f"{parts[-2].rsplit('$', 1)[-1]}::{parts[-1]}"


def _changed(before: dict[str, Any], after: dict[str, Any], key: str) -> bool:
    return _comparable({key: before.get(key)}) != _comparable({key: after.get(key)})


def _default_provider_config(config: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Each package's default provider config: its `<package>:<key>` stack settings (pulumi/pulumi
    pkg/resource/deploy/providers: default providers are configured from the stack's config of their package)."""
    providers: dict[str, dict[str, Any]] = {}
    for key, value in config.items():
        package, _, name = key.partition(":")
        providers.setdefault(package, {})[name] = value
    return providers


# Outputs the AWS provider plans as unknown when a published function changes (terraform-provider-aws
# internal/service/lambda/function.go: its CustomizeDiff marks `version` and `qualified_arn` new-computed when
# `publish` is set and code or configuration change): a preview of that update does not know them.
PUBLISHED_OUTPUTS = ("version", "qualifiedArn", "qualifiedInvokeArn")


class MotoDeployment(pulumi.runtime.Mocks):
    """`pulumi up` / `pulumi destroy` of the real program, with AWS in moto and Kubernetes in `Cluster`.

    What it follows, step by step (each rule names its upstream source where it is enforced):
    - every `up` is a preview (a dry run: nothing made, creates answer with their inputs only) then the update;
      a preview that fails fails the `up` (pulumi/pulumi pkg/cmd/pulumi/operations/up.go: `pulumi up` previews
      first unless --skip-preview);
    - reads run in both and are answered from the cluster (pulumi/pulumi pkg/resource/deploy/step.go `ReadStep`);
    - read <-> managed transitions and replacements as pulumi/pulumi pkg/resource/deploy/step_generator.go does
      them; Kubernetes replacements as pulumi-kubernetes' Diff decides them.
    """

    def __init__(
        self,
        session: boto3.Session,
        endpoint_url: str | None = None,
        gateway: dict[str, Any] | None = None,
        *,
        with_gateway: bool = True,
    ):
        self.session = session
        self.region = session.region_name
        self._endpoint_url = endpoint_url
        client = dict(endpoint_url=endpoint_url) if endpoint_url else {}
        self.iam = session.client("iam", **client)
        self.lambda_ = session.client("lambda", **client)
        self.logs = session.client("logs", **client)
        self.sts = session.client("sts", **client)
        self.s3 = session.client("s3", **client)
        self.deployed: dict[Key, Deployed] = {}
        self._declared: list[Key] = []
        self._replaced: list[Key] = []  # old resources a replacement made, deleted after the run
        self.changes: list[tuple[str, Key]] = []  # what the last run did: (create|update|replace|delete|alias, key)
        self.cluster = Cluster(gateway, with_gateway=with_gateway)
        self._stack = "test"
        self._lock = threading.RLock()
        self.dry_run = False
        self._target_replace: set[str] = set()
        self._default_providers: dict[str, dict[str, Any]] = {}
        self._provider_configs: dict[str, dict[str, Any]] = {}  # provider reference -> its config in this run

    # --- the pulumi up / destroy lifecycle -------------------------------------------------------------
    def up(
        self,
        config: dict[str, str],
        secret_keys: list[str] | None = None,
        *,
        target_replace: tuple[str, ...] | list[str] = (),
        **options: Any,
    ) -> ProgramRun:
        """Like `pulumi up [--target-replace URN ...]`: a preview first (nothing is made; its failure is the
        `up`'s), then creates and updates as the program registers (dependencies first), then deletes what it no
        longer declares, and the old halves of replacements, dependents before what they depend on."""
        self._stack = str(options.get("stack", "test"))
        self._default_providers = _default_provider_config(config)
        self._target_replace = set(target_replace)
        self.preview(config, secret_keys, **options)
        self._begin(dry_run=False)
        run = run_program(self, config, secret_keys, **options)
        self._delete_all([k for k in self.deployed if k not in self._declared] + self._replaced)
        return run

    def preview(self, config: dict[str, str], secret_keys: list[str] | None = None, **options: Any) -> ProgramRun:
        """`pulumi preview`: the program run as a dry run; AWS, the cluster and the state are left as they are."""
        self._default_providers = _default_provider_config(config)
        self._begin(dry_run=True)
        try:
            return run_program(self, config, secret_keys, preview=True, **options)
        finally:
            self.dry_run = False

    def _begin(self, *, dry_run: bool) -> None:
        self.dry_run = dry_run
        self._declared, self._replaced, self._provider_configs = [], [], {}
        if not dry_run:
            self.changes = []

    def destroy(self) -> None:
        self._delete_all(list(self.deployed))

    def _delete_all(self, keys: list[Key]) -> None:
        """Dependents first, from the dependencies (and parents) the program declared, as the engine orders them.

        Among deletes the graph leaves unordered, the oldest goes first: the order most likely to break when an
        edge is missing (a Secret made before its Backend would go before it), so a wrong `depends_on` shows up
        here as a wrong order or a refused delete instead of passing by luck.
        """
        pending = set(keys)
        while pending:
            needed = {d for k in pending for d in self.deployed[k].depends_on}
            ready = [k for k in pending if k[1] not in needed]
            if not ready:
                raise AssertionError(f"a dependency cycle among {sorted(pending)}")
            key = min(ready, key=lambda k: (self.deployed[k].created, k))
            self._delete(key)
            pending.discard(key)

    def _delete(self, key: Key) -> None:
        resource = self.deployed.pop(key)
        if resource.external:
            # A read (or relinquished) resource leaves the state only: the engine never asks its provider to
            # delete it (pulumi/pulumi step.go `DeleteStep.Apply` skips the provider for `External` state).
            self.changes.append(("discard", key))
            return
        self.changes.append(("delete", key))
        deleter = self._deleters().get(resource.type)
        if deleter is not None:
            deleter(resource)
        elif resource.type.startswith("kubernetes:"):
            self.cluster.delete(resource.type, resource.inputs)

    # --- pulumi.runtime.Mocks --------------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        # The SDK registers from several threads; the engine keeps one state, written one step at a time.
        with self._lock:
            return self._new_resource(args)

    def _old(self, key: Key, alias_urns: tuple[str, ...]) -> Key | None:
        """Where the state has this resource: under its URN, or under one of its aliases."""
        if key in self.deployed:
            return key
        for alias in alias_urns:
            found = next((k for k in self.deployed if k[1] == alias), None)
            if found is not None:
                return found
        return None

    def _new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:  # noqa: PLR0911
        registration = current_registration()
        assert registration is not None
        key: Key = (args.typ, registration.urn)
        depends_on = (*registration.dependencies, *([registration.parent] if registration.parent else []))
        old_key = self._old(key, registration.alias_urns)
        if not self.dry_run:
            self._declared.append(key)
            if old_key is not None and old_key != key:  # known under an alias: the same resource, it moves
                self.deployed[key] = self.deployed.pop(old_key)
                self.changes.append(("alias", key))
        previous = self.deployed.get(key if not self.dry_run else old_key) if old_key is not None else None
        if registration.read:
            return self._read(key, args, previous, depends_on)
        if not args.custom:  # a component: nothing of its own in AWS or the cluster
            if not self.dry_run:
                self.deployed[key] = Deployed(args.typ, args.name, "", dict(args.inputs), dict(args.inputs), depends_on)
            return "", dict(args.inputs)
        provider_config = self._provider_config(args.typ, registration.provider)
        if args.typ.startswith("pulumi:providers:"):
            self._provider_configs[_provider_key(registration.urn)] = dict(args.inputs)
        if previous is None:
            return self._create(key, args, depends_on, registration.provider, provider_config)
        if previous.external:
            # pulumi/pulumi step_generator.go `generateSteps`, "Case 2: wasExternal": a resource that was read and
            # is now registered is created ("creating instead"), and the read entry is discarded afterwards.
            return self._replace(key, previous, args, depends_on, registration, delete_first=False)
        if not self.dry_run:
            previous.depends_on = depends_on
        replace, delete_first = self._diff(key, previous, args, registration.provider, provider_config)
        if registration.delete_before_replace is not None:  # the caller's option overrides the provider's choice
            delete_first = registration.delete_before_replace
        if replace:
            return self._replace(key, previous, args, depends_on, registration, delete_first=delete_first)
        if _comparable(previous.inputs) == _comparable(args.inputs):
            if not self.dry_run:
                previous.provider, previous.provider_config = registration.provider, provider_config
            return previous.id, previous.state
        return self._update(key, previous, args, registration.provider, provider_config)

    def _provider_config(self, type_: str, reference: str) -> dict[str, Any]:
        """The config of the provider a resource goes through: an explicit provider's inputs, or the package's
        default provider's (the `<package>:*` stack config, as the engine configures default providers)."""
        if reference:
            return self._provider_configs.get(_provider_key(reference.rsplit("::", 1)[0]), {})
        return self._default_providers.get(type_.split(":", 1)[0], {})

    def _diff(
        self,
        key: Key,
        previous: Deployed,
        args: pulumi.runtime.MockResourceArgs,
        provider: str,
        provider_config: dict[str, Any],
    ) -> tuple[bool, bool]:
        """(replace, delete_before_replace) as pulumi/pulumi step_generator.go `diff` reaches them: a targeted
        replace (--target-replace) first, then a provider change whose new provider's DiffConfig asks for a
        replacement (`providerChanged`), both create-before-delete; else the provider's own Diff."""
        if key[1] in self._target_replace:
            return True, False
        # pulumi/pulumi step_generator.go `providerChanged`: a new provider reference replaces the resource when
        # the new provider's DiffConfig between the two configs asks for it.
        moved = previous.provider != provider
        if (
            args.typ.startswith("kubernetes:")
            and moved
            and kubernetes_config_replaces(previous.provider_config, provider_config)
        ):
            return True, False
        if args.typ.startswith("kubernetes:"):
            return _kubernetes_diff(args.typ, previous.inputs, dict(args.inputs))
        if args.typ == "pulumi:providers:kubernetes":
            return kubernetes_config_replaces(previous.inputs, dict(args.inputs)), False
        return _aws_replaces(args.typ, previous.inputs, dict(args.inputs)), False

    def _read(
        self, key: Key, args: pulumi.runtime.MockResourceArgs, previous: Deployed | None, depends_on: tuple[str, ...]
    ) -> tuple[str, dict[str, Any]]:
        """A read, in the preview and in the update alike (pulumi/pulumi step.go `ReadStep.Apply`: "Unlike most
        steps, Read steps run during previews"), answered by the cluster; a missing object fails with the
        engine's words. A managed resource now read under the same URN is released from management when the IDs
        match ("relinquish": never deleted), else it is deleted after the run (step_generator.go
        `GenerateReadSteps`, read-replacement)."""
        resource_id = str(args.resource_id)
        if not args.typ.startswith("kubernetes:"):
            raise NotImplementedError(f"the moto harness has no read of {args.typ}; add one")
        found = self.cluster.read(args.typ, resource_id)
        if found is None:
            raise RuntimeError(f"resource '{resource_id}' does not exist")
        if self.dry_run:
            return resource_id, found
        if previous is not None and not previous.external:
            if previous.id == resource_id:
                self.changes.append(("relinquish", key))
            else:
                old_key: Key = (key[0], f"{key[1]}#read-replaced-{len(self._replaced)}")
                self.deployed[old_key] = previous
                self._replaced.append(old_key)
                self.changes.append(("read-replace", key))
        self.deployed[key] = Deployed(
            args.typ, args.name, resource_id, {}, found, depends_on, external=True, provider=""
        )
        return resource_id, found

    def _create(
        self,
        key: Key,
        args: pulumi.runtime.MockResourceArgs,
        depends_on: tuple[str, ...],
        provider: str = "",
        provider_config: dict[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        if self.dry_run:
            return self._preview_create(args)
        creator = self._creators().get(args.typ)
        extra: dict[str, Any]
        if creator is not None:
            resource_id, extra = creator(args.name, reveal(args.inputs))
        elif args.typ.startswith("kubernetes:"):
            resource_id, extra = self.cluster.create(args.typ, reveal(args.inputs)), {}
        elif args.typ.startswith("pulumi:providers:"):
            resource_id, extra = f"{args.name}-{next(_CREATED)}", {}
        else:
            raise NotImplementedError(f"the moto harness has no model of {args.typ}; add one")
        state = {**args.inputs, **extra}
        self.deployed[key] = Deployed(
            args.typ,
            args.name,
            resource_id,
            dict(args.inputs),
            state,
            depends_on,
            provider=provider,
            provider_config=dict(provider_config or {}),
        )
        self.changes.append(("create", key))
        return resource_id, state

    def _preview_create(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        """A create in a dry run: no ID, and the inputs only (the SDK then treats every other output as unknown).

        pulumi/pulumi-kubernetes provider/pkg/provider/provider.go `Create` with preview: when the inputs are all
        known it sends a dry-run create, so the API server's validation refuses a bad object at preview; an
        AlreadyExists from that dry run is dropped in the default (server-side apply) mode ("failedPreview"): the
        name collision fails the `up` itself, at that create.
        """
        if args.typ.startswith("kubernetes:") and not _has_unknowns(args.inputs):
            with contextlib.suppress(AlreadyExistsError):
                self.cluster.create(args.typ, reveal(args.inputs), dry_run=True)
        return "", dict(args.inputs)

    def _update(
        self,
        key: Key,
        previous: Deployed,
        args: pulumi.runtime.MockResourceArgs,
        provider: str = "",
        provider_config: dict[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        if args.typ.startswith("kubernetes:"):
            known = not _has_unknowns(args.inputs)
            if known or not self.dry_run:  # a dry-run apply when the inputs are known, as pulumi-kubernetes' Update
                self.cluster.update(args.typ, reveal(args.inputs), dry_run=self.dry_run)
            state = dict(args.inputs)
        elif args.typ.startswith("pulumi:providers:"):
            state = dict(args.inputs)
        else:
            updater = self._updaters().get(args.typ)
            if updater is None:
                raise NotImplementedError(f"the moto harness cannot update {args.typ} {args.name}")
            if self.dry_run:
                planned = {**previous.state, **args.inputs}
                if args.typ == "aws:lambda/function:Function" and reveal(args.inputs).get("publish"):
                    planned = {k: v for k, v in planned.items() if k not in PUBLISHED_OUTPUTS}
                return previous.id, planned
            state = {**previous.state, **args.inputs, **updater(previous, dict(args.inputs))}
        if self.dry_run:
            return previous.id, state
        self.changes.append(("update", key))
        self.deployed[key] = Deployed(
            args.typ,
            args.name,
            previous.id,
            dict(args.inputs),
            state,
            previous.depends_on,
            previous.created,
            provider=provider,
            provider_config=dict(provider_config or {}),
        )
        return previous.id, state

    def _replace(
        self,
        key: Key,
        previous: Deployed,
        args: pulumi.runtime.MockResourceArgs,
        depends_on: tuple[str, ...],
        registration: Registration,
        *,
        delete_first: bool,
    ) -> tuple[str, dict[str, Any]]:
        """A replacement: create-before-delete (the old one goes after the run) unless delete-before-replace
        (pulumi/pulumi step_generator.go: "CreateBeforeDelete: the default mode"; the provider asks for
        DeleteBeforeCreate, and the caller's `deleteBeforeReplace` overrides it)."""
        provider_config = self._provider_config(args.typ, registration.provider)
        if self.dry_run:
            return self._preview_create(args)
        old_key: Key = (key[0], f"{key[1]}#replaced-{len(self._replaced)}")
        self.deployed[old_key] = previous
        del self.deployed[key]
        if delete_first:
            self._delete(old_key)
            self.changes.append(("replace", key))
            return self._create(key, args, depends_on, registration.provider, provider_config)
        self.changes.append(("replace", key))
        self._replaced.append(old_key)
        try:
            return self._create(key, args, depends_on, registration.provider, provider_config)
        except Exception:
            self._replaced.remove(old_key)
            # The create of a create-before-delete failed: the old resource stays in the state under its URN, as
            # the engine's snapshot keeps it (nothing was replaced).
            self.deployed[key] = self.deployed.pop(old_key)
            raise

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        with self._lock:
            return self._call(args)

    def _call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            who = self.sts.get_caller_identity()
            return {"accountId": who["Account"], "arn": who["Arn"], "userId": who["UserId"], "id": who["Account"]}, []
        regional = region_invoke_result(args.token, self.region)
        if regional is not None:
            return regional, []
        listed = inventory_invoke_result(args.token, args.args, self._functions(), self._log_groups())
        if listed is not None:
            return listed, []
        raise NotImplementedError(f"the moto harness has no model of the call {args.token}")

    def _functions(self) -> dict[str, dict[str, str]]:
        """Every function in moto, with its tags."""
        return {
            f["FunctionName"]: self.lambda_.list_tags(Resource=f["FunctionArn"]).get("Tags", {})
            for f in self.lambda_.list_functions()["Functions"]
        }

    def _log_groups(self) -> dict[str, dict[str, str]]:
        return {
            g["logGroupName"]: self.logs.list_tags_log_group(logGroupName=g["logGroupName"]).get("tags", {})
            for g in self.logs.describe_log_groups()["logGroups"]
        }

    # --- what each resource type does in AWS -----------------------------------------------------------
    def _creators(self) -> dict[str, Callable[[str, dict[str, Any]], tuple[str, dict[str, Any]]]]:
        return {
            "aws:iam/role:Role": self._create_role,
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment": self._attach_role_policy,
            "aws:cloudwatch/logGroup:LogGroup": self._create_log_group,
            "aws:lambda/function:Function": self._create_function,
            "aws:iam/user:User": self._create_user,
            "aws:iam/userPolicy:UserPolicy": self._put_user_policy,
            "aws:iam/accessKey:AccessKey": self._create_access_key,
            "aws:iam/rolePolicy:RolePolicy": self._put_role_policy,
            "aws:lambda/alias:Alias": self._create_alias,
            "aws:iam/policy:Policy": self._create_policy,
            "aws:iam/userPolicyAttachment:UserPolicyAttachment": self._attach_user_policy,
            "aws:s3/bucket:Bucket": self._create_bucket,
            "aws:s3/bucketObjectv2:BucketObjectv2": self._put_object,
        }

    def _updaters(self) -> dict[str, Callable[[Deployed, dict[str, Any]], dict[str, Any]]]:
        def user_policy(old: Deployed, inputs: dict[str, Any]) -> dict[str, Any]:
            plain = reveal(inputs)
            self.iam.put_user_policy(
                UserName=plain["user"], PolicyName=old.state["name"], PolicyDocument=plain["policy"]
            )
            return {}

        def managed_policy(old: Deployed, inputs: dict[str, Any]) -> dict[str, Any]:
            """A new default version (IAM keeps at most 5: the oldest non-default goes first)."""
            document = reveal(inputs)["policy"]
            check_managed_policy(document)
            versions = self.iam.list_policy_versions(PolicyArn=old.id)["Versions"]
            if len(versions) >= 5:
                oldest = min((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
                self.iam.delete_policy_version(PolicyArn=old.id, VersionId=oldest["VersionId"])
            self.iam.create_policy_version(PolicyArn=old.id, PolicyDocument=document, SetAsDefault=True)
            return {}

        def function(old: Deployed, inputs: dict[str, Any]) -> dict[str, Any]:
            return self._update_function(old, inputs)

        def log_group(old: Deployed, inputs: dict[str, Any]) -> dict[str, Any]:
            self.logs.put_retention_policy(logGroupName=old.id, retentionInDays=int(inputs["retentionInDays"]))
            before, after = dict(reveal(old.inputs).get("tags") or {}), dict(reveal(inputs).get("tags") or {})
            if before != after:  # the provider's tag update (TagResource / UntagResource)
                arn = str(old.state["arn"]).removesuffix(":*")
                if set(before) - set(after):
                    self.logs.untag_resource(resourceArn=arn, tagKeys=sorted(set(before) - set(after)))
                if after:
                    self.logs.tag_resource(resourceArn=arn, tags=after)
            return {}

        def role(old: Deployed, inputs: dict[str, Any]) -> dict[str, Any]:
            """terraform-provider-aws internal/service/iam/role.go `resourceRoleUpdate`: the trust policy in place
            (UpdateAssumeRolePolicy), the description (UpdateRole), the tags (TagRole / UntagRole)."""
            before, after = reveal(old.inputs), reveal(inputs)
            if _changed(before, after, "assumeRolePolicy"):
                self.iam.update_assume_role_policy(RoleName=old.id, PolicyDocument=after["assumeRolePolicy"])
            if _changed(before, after, "description"):
                self.iam.update_role(RoleName=old.id, Description=after.get("description") or "")
            self._update_iam_tags("role", old.id, before, after)
            return {}

        def user(old: Deployed, inputs: dict[str, Any]) -> dict[str, Any]:
            """internal/service/iam/user.go `resourceUserUpdate`: the path in place (UpdateUser), the tags."""
            before, after = reveal(old.inputs), reveal(inputs)
            if _changed(before, after, "path"):
                self.iam.update_user(UserName=old.id, NewPath=after.get("path") or "/")
            self._update_iam_tags("user", old.id, before, after)
            return {}

        def role_policy(old: Deployed, inputs: dict[str, Any]) -> dict[str, Any]:
            plain = reveal(inputs)
            self.iam.put_role_policy(
                RoleName=plain["role"], PolicyName=old.state["name"], PolicyDocument=plain["policy"]
            )
            return {}

        def alias(old: Deployed, inputs: dict[str, Any]) -> dict[str, Any]:
            """internal/service/lambda/alias.go `resourceAliasUpdate`: UpdateAlias with the new version."""
            plain = reveal(inputs)
            self.lambda_.update_alias(
                FunctionName=plain["functionName"],
                Name=plain["name"],
                FunctionVersion=plain["functionVersion"],
                Description=plain.get("description") or "",
            )
            return {}

        return {
            "aws:iam/userPolicy:UserPolicy": user_policy,
            "aws:iam/policy:Policy": managed_policy,
            "aws:lambda/function:Function": function,
            "aws:cloudwatch/logGroup:LogGroup": log_group,
            "aws:iam/role:Role": role,
            "aws:iam/user:User": user,
            "aws:iam/rolePolicy:RolePolicy": role_policy,
            "aws:lambda/alias:Alias": alias,
        }

    def _moto_applies_architectures(self, function_name: str, architectures: list[str]) -> None:
        """Lambda's UpdateFunctionCode applies `Architectures` (Lambda API reference, UpdateFunctionCode); moto
        ignores it, so the in-process backend is given it (a moto server over HTTP is left as moto leaves it)."""
        if self._endpoint_url is not None:
            return
        from moto.awslambda.utils import get_backend  # the backend in use (the simple one when Docker is off)

        account = self.sts.get_caller_identity()["Account"]
        get_backend(account, self.region).get_function(function_name).architectures = list(architectures)

    def _update_iam_tags(self, kind: str, name: str, before: dict[str, Any], after: dict[str, Any]) -> None:
        old_tags, new_tags = dict(before.get("tags") or {}), dict(after.get("tags") or {})
        if old_tags == new_tags:
            return
        gone = sorted(set(old_tags) - set(new_tags))
        if kind == "role":
            if gone:
                self.iam.untag_role(RoleName=name, TagKeys=gone)
            if new_tags:
                self.iam.tag_role(RoleName=name, Tags=[{"Key": k, "Value": v} for k, v in new_tags.items()])
        else:
            if gone:
                self.iam.untag_user(UserName=name, TagKeys=gone)
            if new_tags:
                self.iam.tag_user(UserName=name, Tags=[{"Key": k, "Value": v} for k, v in new_tags.items()])

    def _update_function(self, old: Deployed, inputs: dict[str, Any]) -> dict[str, Any]:
        """A function update as terraform-provider-aws internal/service/lambda/function.go `resourceFunctionUpdate`
        makes it: UpdateFunctionConfiguration with each changed configuration field; UpdateFunctionCode when the
        code or the architectures change (architectures travel with the code); the tags; then, with `publish`,
        PublishVersion whenever code or configuration changed or `publish` itself did, which moves `version`."""
        before, after = reveal(old.inputs), reveal(inputs)
        configuration: dict[str, Any] = {}
        for key, field_name in FUNCTION_CONFIGURATION_FIELDS.items():
            if _changed(before, after, key):
                configuration[field_name] = _function_field(key, after.get(key))
        if configuration:
            self.lambda_.update_function_configuration(FunctionName=old.id, **configuration)
        code_keys = ("code", "sourceCodeHash", "architectures", "s3Bucket", "s3Key", "imageUri")
        code_changed = any(_changed(before, after, k) for k in code_keys)
        if code_changed:
            code: dict[str, Any] = self._code(after)
            if _changed(before, after, "architectures"):
                code["Architectures"] = list(after["architectures"])
            self.lambda_.update_function_code(FunctionName=old.id, **code)
            if "Architectures" in code:
                self._moto_applies_architectures(old.id, code["Architectures"])
        arn = str(old.state["arn"])
        old_tags, new_tags = dict(before.get("tags") or {}), dict(after.get("tags") or {})
        if old_tags != new_tags:
            if set(old_tags) - set(new_tags):
                self.lambda_.untag_resource(Resource=arn, TagKeys=sorted(set(old_tags) - set(new_tags)))
            if new_tags:
                self.lambda_.tag_resource(Resource=arn, Tags=new_tags)
        if after.get("publish") and (configuration or code_changed or _changed(before, after, "publish")):
            version = self.lambda_.publish_version(FunctionName=old.id)["Version"]
            return {"version": version, "qualifiedArn": f"{arn}:{version}"}
        return {}

    def _deleters(self) -> dict[str, Callable[[Deployed], None]]:
        return {
            "aws:iam/role:Role": lambda r: self._delete_role(r.id),
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment": lambda r: self.iam.detach_role_policy(
                RoleName=r.state["role"], PolicyArn=r.state["policyArn"]
            ),
            "aws:cloudwatch/logGroup:LogGroup": lambda r: self.logs.delete_log_group(logGroupName=r.id),
            "aws:lambda/function:Function": lambda r: self.lambda_.delete_function(FunctionName=r.id),
            "aws:iam/user:User": lambda r: self._delete_user(r.id),
            "aws:iam/userPolicy:UserPolicy": lambda r: self.iam.delete_user_policy(
                UserName=r.state["user"], PolicyName=r.state["name"]
            ),
            "aws:iam/accessKey:AccessKey": lambda r: self.iam.delete_access_key(
                UserName=r.state["user"], AccessKeyId=r.id
            ),
            "aws:lambda/alias:Alias": lambda r: self.lambda_.delete_alias(
                FunctionName=r.state["functionName"], Name=r.state["name"]
            ),
            "aws:iam/policy:Policy": lambda r: self._delete_policy(r.id),
            "aws:iam/userPolicyAttachment:UserPolicyAttachment": lambda r: self.iam.detach_user_policy(
                UserName=r.state["user"], PolicyArn=r.state["policyArn"]
            ),
            "aws:iam/rolePolicy:RolePolicy": lambda r: self.iam.delete_role_policy(
                RoleName=r.state["role"], PolicyName=r.state["name"]
            ),
            "aws:s3/bucket:Bucket": self._delete_bucket,
            "aws:s3/bucketObjectv2:BucketObjectv2": lambda r: self.s3.delete_object(
                Bucket=r.state["bucket"], Key=r.state["key"]
            ),
        }

    def _create_policy(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        policy_name = physical_name("aws:iam/policy:Policy", name, inputs, _suffix(name, self._stack))
        check_managed_policy(inputs["policy"])
        policy = self.iam.create_policy(
            PolicyName=policy_name, Path=inputs.get("path", "/"), PolicyDocument=inputs["policy"]
        )["Policy"]
        return policy["Arn"], {"name": policy_name, "arn": policy["Arn"], "policyId": policy["PolicyId"]}

    # IAM refuses to delete what still has something attached (DeleteConflict): "Before you can delete a managed
    # policy, you must first detach the policy from all users, groups, and roles" (IAM API reference, DeletePolicy);
    # a user's access keys and policies, and a role's policies, must go first (DeleteUser, DeleteRole). moto lets a
    # policy with attachments, and a user with access keys, be deleted: the harness refuses them as IAM does.
    def _delete_role(self, role: str) -> None:
        attached = self.iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
        if attached:
            raise DeleteConflictError(f"DeleteRole {role}: must detach all policies first ({len(attached)} attached)")
        self.iam.delete_role(RoleName=role)

    def _delete_user(self, user: str) -> None:
        keys = self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
        attached = self.iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
        if keys or attached:
            raise DeleteConflictError(
                f"DeleteUser {user}: must delete its access keys and detach its policies first "
                f"({len(keys)} keys, {len(attached)} policies)"
            )
        self.iam.delete_user(UserName=user)

    def _delete_policy(self, arn: str) -> None:
        entities = self.iam.list_entities_for_policy(PolicyArn=arn)
        if entities["PolicyUsers"] or entities["PolicyRoles"] or entities["PolicyGroups"]:
            raise DeleteConflictError(f"DeletePolicy {arn}: must detach the policy from all users, groups and roles")
        for version in self.iam.list_policy_versions(PolicyArn=arn)["Versions"]:
            if not version["IsDefaultVersion"]:
                self.iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
        self.iam.delete_policy(PolicyArn=arn)

    def _attach_user_policy(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        attached = self.iam.list_attached_user_policies(UserName=inputs["user"])["AttachedPolicies"]
        check_attachments(inputs["user"], len(attached) + 1)
        self.iam.attach_user_policy(UserName=inputs["user"], PolicyArn=inputs["policyArn"])
        return f"{inputs['user']}-{_suffix(inputs['policyArn'])}", {}

    def _create_role(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        role_name = physical_name("aws:iam/role:Role", name, inputs, _suffix(name, self._stack))
        role = self.iam.create_role(
            RoleName=role_name,
            AssumeRolePolicyDocument=inputs["assumeRolePolicy"],
            Description=inputs.get("description", ""),
        )["Role"]
        return role_name, {"name": role_name, "arn": role["Arn"], "uniqueId": role["RoleId"]}

    def _attach_role_policy(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        attached = self.iam.list_attached_role_policies(RoleName=inputs["role"])["AttachedPolicies"]
        check_attachments(inputs["role"], len(attached) + 1)
        self.iam.attach_role_policy(RoleName=inputs["role"], PolicyArn=inputs["policyArn"])
        return f"{inputs['role']}-{_suffix(inputs['policyArn'])}", {}

    def _create_log_group(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.logs.create_log_group(logGroupName=inputs["name"], tags=dict(inputs.get("tags") or {}))
        self.logs.put_retention_policy(logGroupName=inputs["name"], retentionInDays=int(inputs["retentionInDays"]))
        group = self.logs.describe_log_groups(logGroupNamePrefix=inputs["name"])["logGroups"][0]
        return inputs["name"], {"arn": group["arn"]}

    def _create_bucket(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """CreateBucket (outside us-east-1 with its LocationConstraint); a `bucketPrefix` gets a unique suffix as
        terraform-provider-aws `create.Name` makes one (here a deterministic one)."""
        bucket = inputs.get("bucket") or f"{inputs['bucketPrefix']}{_suffix(name, self._stack)[:20]}"
        where = {} if self.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
        self.s3.create_bucket(Bucket=bucket, **where)
        return bucket, {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}"}

    def _delete_bucket(self, resource: Deployed) -> None:
        """DeleteBucket; S3 refuses a bucket that still holds objects (BucketNotEmpty), so `forceDestroy` empties it
        first, as terraform-provider-aws internal/service/s3/bucket.go `resourceBucketDelete` does."""
        bucket = resource.id
        if resource.inputs.get("forceDestroy"):
            for listed in self.s3.list_objects_v2(Bucket=bucket).get("Contents", []):
                self.s3.delete_object(Bucket=bucket, Key=listed["Key"])
        self.s3.delete_bucket(Bucket=bucket)

    def _put_object(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        source = inputs["source"]
        assert isinstance(source, pulumi.FileAsset)
        put = self.s3.put_object(Bucket=inputs["bucket"], Key=inputs["key"], Body=Path(source.path).read_bytes())
        return inputs["key"], {"etag": put["ETag"].strip('"'), "versionId": put.get("VersionId", "")}

    def _code(self, inputs: dict[str, Any]) -> dict[str, Any]:
        """The Code of CreateFunction / UpdateFunctionCode from the function's inputs: an image, an S3 object, or the
        zip itself; a zip over Lambda's direct-upload quota (components/packaging.py DIRECT_UPLOAD_LIMIT, read at
        call time) is refused as Lambda refuses the request (moto accepts any size)."""
        if inputs.get("imageUri"):
            return {"ImageUri": inputs["imageUri"]}
        if inputs.get("s3Bucket"):
            return {"S3Bucket": inputs["s3Bucket"], "S3Key": inputs["s3Key"]}
        archive = inputs["code"]
        assert isinstance(archive, pulumi.FileArchive)
        data = Path(archive.path).read_bytes()
        if len(data) > packaging.DIRECT_UPLOAD_LIMIT:
            raise RequestTooLargeError(
                f"RequestEntityTooLargeException: the zip is {len(data)} bytes; a direct upload may be at most "
                f"{packaging.DIRECT_UPLOAD_LIMIT} bytes (Lambda quotas: 50 MB zipped, larger through Amazon S3)"
            )
        return {"ZipFile": data}

    def _create_function(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        logging = inputs.get("loggingConfig") or {}
        image = inputs.get("packageType") == "Image"
        environment = (inputs.get("environment") or {}).get("variables")
        function = self.lambda_.create_function(
            FunctionName=inputs["name"],
            Role=inputs["role"],
            **({"PackageType": "Image"} if image else {"Runtime": inputs["runtime"], "Handler": inputs["handler"]}),
            **({"Environment": {"Variables": dict(environment)}} if environment else {}),
            Code=self._code(inputs),
            Architectures=inputs["architectures"],
            MemorySize=int(inputs["memorySize"]),
            Timeout=int(inputs["timeout"]),
            LoggingConfig={"LogFormat": logging.get("logFormat", "Text"), "LogGroup": logging["logGroup"]},
            Publish=bool(inputs.get("publish", False)),
            Tags=dict(inputs.get("tags") or {}),
        )
        return inputs["name"], {
            "arn": function["FunctionArn"],
            "qualifiedArn": f"{function['FunctionArn']}:{function['Version']}",
            "version": function["Version"],
            "invokeArn": function["FunctionArn"],
        }

    def _create_user(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        user_name = physical_name("aws:iam/user:User", name, inputs, _suffix(name, self._stack))
        tags = [{"Key": k, "Value": v} for k, v in (inputs.get("tags") or {}).items()]
        user = self.iam.create_user(UserName=user_name, Path=inputs.get("path", "/"), Tags=tags)["User"]
        return user_name, {"name": user_name, "arn": user["Arn"], "uniqueId": user["UserId"]}

    def _put_user_policy(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        policy_name = inputs.get("name") or f"{name}-{_suffix(name)}"
        self.iam.put_user_policy(UserName=inputs["user"], PolicyName=policy_name, PolicyDocument=inputs["policy"])
        return f"{inputs['user']}:{policy_name}", {"name": policy_name}

    def _create_alias(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        alias = self.lambda_.create_alias(
            FunctionName=inputs["functionName"], Name=inputs["name"], FunctionVersion=inputs["functionVersion"]
        )
        return alias["AliasArn"], {"arn": alias["AliasArn"]}

    def _put_role_policy(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        policy_name = inputs.get("name") or f"{name}-{_suffix(name)}"
        self.iam.put_role_policy(RoleName=inputs["role"], PolicyName=policy_name, PolicyDocument=inputs["policy"])
        return f"{inputs['role']}:{policy_name}", {"name": policy_name}

    def _create_access_key(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        key = self.iam.create_access_key(UserName=inputs["user"])["AccessKey"]
        return key["AccessKeyId"], {"secret": key["SecretAccessKey"], "status": key["Status"]}


def attached_documents(iam: Any, *, user: str | None = None, role: str | None = None) -> list[dict[str, Any]]:
    """The default versions of the managed policies attached to a user or role, as IAM stores them."""
    attached = (
        iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
        if user is not None
        else iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    )
    documents = []
    for policy in attached:
        version = iam.get_policy(PolicyArn=policy["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=policy["PolicyArn"], VersionId=version)["PolicyVersion"]["Document"]
        documents.append(document if isinstance(document, dict) else json.loads(document))
    return documents


# The last commit of 0.1: the program as it was before the component package (af51791).
RELEASE_0_1 = "af51791^"


def extract_release(revision: str, into: Path) -> Path:
    """The whole tree of the program at `revision` (from git), written under `into`; returns its `__main__.py`."""
    root = Path(__file__).resolve().parents[1]
    names = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", revision], cwd=root, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in names:
        content = subprocess.run(["git", "show", f"{revision}:{name}"], cwd=root, capture_output=True, check=True)
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.stdout)
    return into / "__main__.py"


@contextlib.contextmanager
def isolated_program_modules(program_root: Path) -> Iterator[None]:
    """Run another tree's program: its own `components`/`program` packages first on sys.path, and today's modules
    of those names set aside while it runs (and put back after), so neither sees the other's."""
    packages = ("components", "program", "tools")

    def ours(name: str) -> bool:
        return any(name == p or name.startswith(p + ".") for p in packages)

    saved = {name: module for name, module in sys.modules.items() if ours(name)}
    for name in saved:
        del sys.modules[name]
    sys.path.insert(0, str(program_root))
    try:
        yield
    finally:
        sys.path.remove(str(program_root))
        for name in [n for n in sys.modules if ours(n)]:
            del sys.modules[name]
        sys.modules.update(saved)


def up_release(
    deployment: MotoDeployment, revision: str, workdir: Path, config: dict[str, str], **options: Any
) -> ProgramRun:
    """`pulumi up` of an older release of the program (extracted from git) on this deployment's state."""
    program = extract_release(revision, workdir)
    with isolated_program_modules(program.parent):
        return deployment.up(config, program=program, **options)
