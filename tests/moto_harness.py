"""A deploy harness: the real program on Pulumi's mock engine, where every `aws:` resource is really made in moto.

Like `pulumi up`, it keeps state between runs: a resource whose inputs did not change is left alone, one
whose inputs changed is updated, and what a run no longer declares is deleted after everything else
(create-before-delete), dependents first. `destroy()` deletes everything in reverse order. Kubernetes objects
are kept as their manifests (there is no cluster). A resource type the harness has no model of fails the run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pulumi

from components.kgateway_api import CRD_TYPE
from tests.conftest import MAIN_BACKEND_CRD
from tools.aws_rules import check_attachments, check_managed_policy, physical_name
from tools.engine import ProgramRun, crd_read_result, read_crd_file, region_invoke_result, reveal, run_program

Key = tuple[str, str]  # (type, name): unique in this program


@dataclass
class Deployed:
    type: str
    name: str
    id: str
    inputs: dict[str, Any]
    state: dict[str, Any]


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


def _suffix(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:7]


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
        self.order: list[Key] = []  # creation order, for deleting in reverse
        self._declared: list[Key] = []
        self.changes: list[tuple[str, Key]] = []  # what the last run did: ("create"|"update"|"delete", key)

    # --- the pulumi up / destroy lifecycle -------------------------------------------------------------
    def up(self, config: dict[str, str], secret_keys: list[str] | None = None, **options: Any) -> ProgramRun:
        self._declared = []
        self.changes = []
        run = run_program(self, config, secret_keys, **options)
        for key in [k for k in reversed(self.order) if k not in self._declared]:
            self._delete(key)
        return run

    def destroy(self) -> None:
        for key in list(reversed(self.order)):
            self._delete(key)

    def _delete(self, key: Key) -> None:
        resource = self.deployed.pop(key)
        self.order.remove(key)
        self.changes.append(("delete", key))
        deleter = self._deleters().get(resource.type)
        if deleter is not None:
            deleter(resource)

    # --- pulumi.runtime.Mocks --------------------------------------------------------------------------
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.resource_id and args.typ == CRD_TYPE:  # the cluster has kgateway main (= v2.4.x) installed
            return args.resource_id, crd_read_result(args.resource_id, read_crd_file(MAIN_BACKEND_CRD))
        if args.resource_id:  # a read of the existing Gateway
            return args.resource_id, dict(self.gateway)
        if not args.custom:  # a component: nothing of its own in AWS
            return "", dict(args.inputs)
        key = (args.typ, args.name)
        self._declared.append(key)
        previous = self.deployed.get(key)
        if previous is not None:
            if _comparable(previous.inputs) == _comparable(args.inputs):
                return previous.id, previous.state
            updater = self._updaters().get(args.typ)
            if updater is None:
                raise NotImplementedError(f"the moto harness cannot update {args.typ} {args.name}")
            state = {**previous.state, **updater(previous, dict(args.inputs))}
            self.changes.append(("update", key))
            self.deployed[key] = Deployed(args.typ, args.name, previous.id, dict(args.inputs), state)
            return previous.id, state
        creator = self._creators().get(args.typ)
        extra: dict[str, Any]
        if creator is None:
            if args.typ.startswith(("kubernetes:", "pulumi:providers:")):
                resource_id, extra = f"{args.name}-id", {}
            else:
                raise NotImplementedError(f"the moto harness has no model of {args.typ}; add one")
        else:
            resource_id, extra = creator(args.name, reveal(args.inputs))
        state = {**args.inputs, **extra}
        self.deployed[key] = Deployed(args.typ, args.name, resource_id, dict(args.inputs), state)
        self.order.append(key)
        self.changes.append(("create", key))
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            who = self.sts.get_caller_identity()
            return {"accountId": who["Account"], "arn": who["Arn"], "userId": who["UserId"], "id": who["Account"]}, []
        regional = region_invoke_result(args.token, self.region)
        if regional is not None:
            return regional, []
        raise NotImplementedError(f"the moto harness has no model of the call {args.token}")

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

        def log_group(old: Deployed, inputs: dict[str, Any]) -> dict[str, Any]:
            self.logs.put_retention_policy(logGroupName=old.id, retentionInDays=int(inputs["retentionInDays"]))
            return {}

        def kubernetes_object(old: Deployed, inputs: dict[str, Any]) -> dict[str, Any]:
            return dict(inputs)

        return {
            "aws:iam/userPolicy:UserPolicy": user_policy,
            "aws:iam/policy:Policy": managed_policy,
            "aws:cloudwatch/logGroup:LogGroup": log_group,
            "kubernetes:core/v1:Secret": kubernetes_object,
            "kubernetes:gateway.kgateway.dev/v1alpha1:Backend": kubernetes_object,
            "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute": kubernetes_object,
        }

    def _deleters(self) -> dict[str, Callable[[Deployed], None]]:
        return {
            "aws:iam/role:Role": lambda r: self.iam.delete_role(RoleName=r.id),
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment": lambda r: self.iam.detach_role_policy(
                RoleName=r.state["role"], PolicyArn=r.state["policyArn"]
            ),
            "aws:cloudwatch/logGroup:LogGroup": lambda r: self.logs.delete_log_group(logGroupName=r.id),
            "aws:lambda/function:Function": lambda r: self.lambda_.delete_function(FunctionName=r.id),
            "aws:iam/user:User": lambda r: self.iam.delete_user(UserName=r.id),
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
        policy_name = physical_name("aws:iam/policy:Policy", name, inputs)
        check_managed_policy(inputs["policy"])
        policy = self.iam.create_policy(
            PolicyName=policy_name, Path=inputs.get("path", "/"), PolicyDocument=inputs["policy"]
        )["Policy"]
        return policy["Arn"], {"name": policy_name, "arn": policy["Arn"], "policyId": policy["PolicyId"]}

    def _delete_policy(self, arn: str) -> None:
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
        role_name = physical_name("aws:iam/role:Role", name, inputs, _suffix(name))
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
        self.logs.create_log_group(logGroupName=inputs["name"])
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
        )
        return inputs["name"], {
            "arn": function["FunctionArn"],
            "qualifiedArn": f"{function['FunctionArn']}:{function['Version']}",
            "version": function["Version"],
            "invokeArn": function["FunctionArn"],
        }

    def _create_user(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        user_name = physical_name("aws:iam/user:User", name, inputs, _suffix(name))
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
