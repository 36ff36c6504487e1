"""A deploy harness: the real program on Pulumi's mock engine, where every `aws:` resource is really made in moto.

Like `pulumi up`, it keeps state between runs, by URN: a resource known under an alias moves without a change; one
whose inputs did not change is left alone; one whose inputs changed is updated, or replaced where the provider
replaces (create-before-delete; pulumi-kubernetes deletes a named object first); what a run no longer declares is
deleted after everything else, dependents before what they depend on (from the program's own dependency graph).
`destroy()` deletes everything in that order. Kubernetes objects go to an in-memory API server (`Cluster`) that
refuses AlreadyExists and validates against the real CRDs. A resource type the harness has no model of fails.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pulumi

from components.kgateway_api import CRD_TYPE
from program.crd_validation import object_errors
from tests.conftest import MAIN_BACKEND_CRD
from tools.aws_rules import check_attachments, check_managed_policy, physical_name
from tools.engine import (
    ProgramRun,
    crd_read_result,
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


# Inputs whose change makes the provider replace the resource (ForceNew in the AWS provider's schema; a
# Kubernetes object's identity); a change elsewhere is an update.
REPLACE_ON = {
    "aws:lambda/function:Function": ("name",),
    "aws:cloudwatch/logGroup:LogGroup": ("name",),
    "aws:iam/role:Role": ("name", "path"),
    "aws:iam/user:User": ("name",),
    "aws:iam/policy:Policy": ("name", "path"),
    "aws:iam/accessKey:AccessKey": ("user",),
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": ("user", "policyArn"),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": ("role", "policyArn"),
    "aws:lambda/alias:Alias": ("name", "functionName"),
}


def _replaces(type_: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
    if type_.startswith("kubernetes:"):
        identity = ("name", "namespace")
        before, after = reveal(old).get("metadata") or {}, reveal(new).get("metadata") or {}
        return any(before.get(k) != after.get(k) for k in identity)
    return any(_comparable({k: old.get(k)}) != _comparable({k: new.get(k)}) for k in REPLACE_ON.get(type_, ()))


class Cluster:
    """An in-memory API server: refuses an object that exists (AlreadyExists), validates every custom object
    against the real CRD (strict fields, CEL; kgateway main), and forgets what is deleted."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}

    @staticmethod
    def _identity(type_: str, manifest: dict[str, Any]) -> tuple[str, str, str]:
        metadata = manifest.get("metadata") or {}
        return type_.split(":", 1)[1], str(metadata.get("namespace", "default")), str(metadata["name"])

    def create(self, type_: str, manifest: dict[str, Any]) -> str:
        identity = self._identity(type_, manifest)
        if identity in self.objects:
            raise RuntimeError(f'AlreadyExists: {identity[0]} "{identity[2]}" already exists in {identity[1]}')
        self._validate(manifest)
        self.objects[identity] = manifest
        return f"{identity[1]}/{identity[2]}"

    def update(self, type_: str, manifest: dict[str, Any]) -> None:
        self._validate(manifest)
        self.objects[self._identity(type_, manifest)] = manifest

    def delete(self, type_: str, manifest: dict[str, Any]) -> None:
        self.objects.pop(self._identity(type_, reveal(manifest)), None)

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
        return value

    return json.dumps(plain(reveal(inputs)), sort_keys=True, default=str)


def _suffix(name: str, stack: str = "") -> str:
    """A stand-in for Pulumi's 7 random characters: stable per stack and name, different across stacks."""
    return hashlib.sha256(f"{stack}/{name}".encode()).hexdigest()[:7]


class MotoDeployment(pulumi.runtime.Mocks):
    def __init__(
        self,
        session: boto3.Session,
        endpoint_url: str | None = None,
        gateway: dict[str, Any] | None = None,
    ):
        self.session = session
        self.region = session.region_name
        client = dict(endpoint_url=endpoint_url) if endpoint_url else {}
        self.iam = session.client("iam", **client)
        self.lambda_ = session.client("lambda", **client)
        self.logs = session.client("logs", **client)
        self.sts = session.client("sts", **client)
        self.gateway = gateway or {
            "spec": {"listeners": [{"name": "http", "port": 8080, "protocol": "HTTP"}]},
            "status": {"addresses": [{"type": "IPAddress", "value": "127.0.0.1"}]},
        }
        self.deployed: dict[Key, Deployed] = {}
        self._declared: list[Key] = []
        self._replaced: list[Key] = []  # old resources a replacement made, deleted after the run
        self.changes: list[tuple[str, Key]] = []  # what the last run did: (create|update|replace|delete|alias, key)
        self.cluster = Cluster()
        self._stack = "test"
        self._lock = threading.RLock()

    # --- the pulumi up / destroy lifecycle -------------------------------------------------------------
    def up(self, config: dict[str, str], secret_keys: list[str] | None = None, **options: Any) -> ProgramRun:
        """Like `pulumi up`: creates and updates as the program registers (dependencies first), then deletes
        what it no longer declares, and the old halves of replacements, dependents before what they depend on."""
        self._declared, self._replaced, self.changes = [], [], []
        self._stack = str(options.get("stack", "test"))
        run = run_program(self, config, secret_keys, **options)
        self._delete_all([k for k in self.deployed if k not in self._declared] + self._replaced)
        return run

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

    def _new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:  # noqa: PLR0911
        if args.resource_id and args.typ == CRD_TYPE:  # the cluster has kgateway main (= v2.4.x) installed
            return args.resource_id, crd_read_result(args.resource_id, read_crd_file(MAIN_BACKEND_CRD))
        if args.resource_id:  # a read of the existing Gateway
            return args.resource_id, dict(self.gateway)
        registration = current_registration()
        assert registration is not None
        key: Key = (args.typ, registration.urn)
        depends_on = (*registration.dependencies, *([registration.parent] if registration.parent else []))
        self._declared.append(key)
        if key not in self.deployed:  # known under an alias? Then it is the same resource: it moves, nothing else.
            for alias in registration.alias_urns:
                if (args.typ, alias) in self.deployed or any(k[1] == alias for k in self.deployed):
                    old_key = next(k for k in self.deployed if k[1] == alias)
                    self.deployed[key] = self.deployed.pop(old_key)
                    self.changes.append(("alias", key))
                    break
        previous = self.deployed.get(key)
        if not args.custom:  # a component: nothing of its own in AWS or the cluster
            self.deployed[key] = Deployed(args.typ, args.name, "", dict(args.inputs), dict(args.inputs), depends_on)
            return "", dict(args.inputs)
        if previous is not None:
            previous.depends_on = depends_on
            if _comparable(previous.inputs) == _comparable(args.inputs):
                return previous.id, previous.state
            if _replaces(args.typ, previous.inputs, dict(args.inputs)):
                return self._replace(key, previous, args, depends_on)
            return self._update(key, previous, args)
        return self._create(key, args, depends_on)

    def _create(
        self, key: Key, args: pulumi.runtime.MockResourceArgs, depends_on: tuple[str, ...]
    ) -> tuple[str, dict[str, Any]]:
        creator = self._creators().get(args.typ)
        extra: dict[str, Any]
        if creator is not None:
            resource_id, extra = creator(args.name, reveal(args.inputs))
        elif args.typ.startswith("kubernetes:"):
            resource_id, extra = self.cluster.create(args.typ, reveal(args.inputs)), {}
        elif args.typ.startswith("pulumi:providers:"):
            resource_id, extra = f"{args.name}-id", {}
        else:
            raise NotImplementedError(f"the moto harness has no model of {args.typ}; add one")
        state = {**args.inputs, **extra}
        self.deployed[key] = Deployed(args.typ, args.name, resource_id, dict(args.inputs), state, depends_on)
        self.changes.append(("create", key))
        return resource_id, state

    def _update(
        self, key: Key, previous: Deployed, args: pulumi.runtime.MockResourceArgs
    ) -> tuple[str, dict[str, Any]]:
        updater = self._updaters().get(args.typ)
        if updater is None and not args.typ.startswith("kubernetes:"):
            raise NotImplementedError(f"the moto harness cannot update {args.typ} {args.name}")
        if updater is not None:
            state = {**previous.state, **updater(previous, dict(args.inputs))}
        else:
            self.cluster.update(args.typ, reveal(args.inputs))
            state = dict(args.inputs)
        self.changes.append(("update", key))
        self.deployed[key] = Deployed(
            args.typ, args.name, previous.id, dict(args.inputs), state, previous.depends_on, previous.created
        )
        return previous.id, state

    def _replace(
        self, key: Key, previous: Deployed, args: pulumi.runtime.MockResourceArgs, depends_on: tuple[str, ...]
    ) -> tuple[str, dict[str, Any]]:
        """Create-before-delete, as Pulumi replaces by default; pulumi-kubernetes deletes a named object first."""
        old_key: Key = (key[0], f"{key[1]}#replaced-{len(self._replaced)}")
        self.deployed[old_key] = previous
        del self.deployed[key]
        if args.typ.startswith("kubernetes:"):
            self._delete(old_key)
        else:
            self._replaced.append(old_key)
        self.changes.append(("replace", key))
        return self._create(key, args, depends_on)

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
            plain = reveal(inputs)
            # Every configuration input the provider updates in place (UpdateFunctionConfiguration), role included.
            self.lambda_.update_function_configuration(
                FunctionName=old.id,
                Role=plain["role"],
                Runtime=plain["runtime"],
                Handler=plain["handler"],
                MemorySize=int(plain["memorySize"]),
                Timeout=int(plain["timeout"]),
            )
            if plain.get("sourceCodeHash") != reveal(old.inputs).get("sourceCodeHash"):
                self.lambda_.update_function_code(FunctionName=old.id, ZipFile=Path(plain["code"].path).read_bytes())
            return {}

        def log_group(old: Deployed, inputs: dict[str, Any]) -> dict[str, Any]:
            self.logs.put_retention_policy(logGroupName=old.id, retentionInDays=int(inputs["retentionInDays"]))
            return {}

        def kubernetes_object(old: Deployed, inputs: dict[str, Any]) -> dict[str, Any]:
            return dict(inputs)

        return {
            "aws:iam/userPolicy:UserPolicy": user_policy,
            "aws:iam/policy:Policy": managed_policy,
            "aws:lambda/function:Function": function,
            "aws:cloudwatch/logGroup:LogGroup": log_group,
            "kubernetes:core/v1:Secret": kubernetes_object,
            "kubernetes:gateway.kgateway.dev/v1alpha1:Backend": kubernetes_object,
            "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute": kubernetes_object,
        }

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

    def _create_function(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        archive = inputs["code"]
        assert isinstance(archive, pulumi.FileArchive)
        logging = inputs.get("loggingConfig") or {}
        function = self.lambda_.create_function(
            FunctionName=inputs["name"],
            Runtime=inputs["runtime"],
            Role=inputs["role"],
            Handler=inputs["handler"],
            Code={"ZipFile": Path(archive.path).read_bytes()},
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
