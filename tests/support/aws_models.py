"""The AWS side of the deploy harness: what each `aws:` resource type does in moto when the AWS provider creates,
updates or deletes it, which input changes replace it, and what IAM refuses that moto lets through."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pulumi

from components import packaging
from tests.support.state import Deployed, changed, comparable
from tools.aws_rules import check_attachments, check_managed_policy, physical_name
from tools.engine import reveal


class DeleteConflictError(Exception):
    """IAM's DeleteConflict: the entity still has something attached."""


class RequestTooLargeError(RuntimeError):
    """Lambda's answer to a request over its size quota."""


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


def aws_replaces(type_: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
    return any(comparable({k: old.get(k)}) != comparable({k: new.get(k)}) for k in REPLACE_ON.get(type_, ()))


def suffix(name: str, stack: str = "") -> str:
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


def function_field(key: str, value: Any) -> Any:  # noqa: PLR0911 (one return per field shape)
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


# Outputs the AWS provider plans as unknown when a published function changes (terraform-provider-aws
# internal/service/lambda/function.go: its CustomizeDiff marks `version` and `qualified_arn` new-computed when
# `publish` is set and code or configuration change): a preview of that update does not know them.
PUBLISHED_OUTPUTS = ("version", "qualifiedArn", "qualifiedInvokeArn")


class AwsModels:
    """AWS in moto as the AWS provider drives it: one create, update and delete per resource type (a type without
    one fails the run, as a provider without the resource would), and the account's functions and log groups."""

    def __init__(self, session: boto3.Session, endpoint_url: str | None = None) -> None:
        self.region = session.region_name
        self._endpoint_url = endpoint_url
        client = dict(endpoint_url=endpoint_url) if endpoint_url else {}
        self.iam = session.client("iam", **client)
        self.lambda_ = session.client("lambda", **client)
        self.logs = session.client("logs", **client)
        self.sts = session.client("sts", **client)
        self.s3 = session.client("s3", **client)
        self.tagging = session.client("resourcegroupstaggingapi", **client)
        # Each GetResources page asked for (its request), so a test can count the calls discovery makes.
        self.tagging_requests: list[dict[str, Any]] = []
        # The stack being deployed: Pulumi's random name suffixes differ across stacks.
        self.stack = "test"

    def functions(self) -> dict[str, dict[str, str]]:
        """Every function in moto, with its tags."""
        return {
            f["FunctionName"]: self.lambda_.list_tags(Resource=f["FunctionArn"]).get("Tags", {})
            for f in self.lambda_.list_functions()["Functions"]
        }

    def tagging_page(self, request: dict[str, Any], token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One GetResources page from moto's Resource Groups Tagging API (moto 5 answers `lambda:function` from its
        Lambda backend: moto/awslambda/models.py `iter_tagged_resources`; moto/resourcegroupstaggingapi pages by
        ResourcesPerPage, default 50, and a PaginationToken), as the provider's paginator asks for it."""
        sent = {**request, **({"PaginationToken": token} if token else {})}
        self.tagging_requests.append(sent)
        answer = self.tagging.get_resources(**sent)
        return list(answer.get("ResourceTagMappingList") or []), answer.get("PaginationToken") or None

    def log_groups(self) -> dict[str, dict[str, str]]:
        return {
            g["logGroupName"]: self.logs.list_tags_log_group(logGroupName=g["logGroupName"]).get("tags", {})
            for g in self.logs.describe_log_groups()["logGroups"]
        }

    def creators(self) -> dict[str, Callable[[str, dict[str, Any]], tuple[str, dict[str, Any]]]]:
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

    def updaters(self) -> dict[str, Callable[[Deployed, dict[str, Any]], dict[str, Any]]]:
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
            if changed(before, after, "assumeRolePolicy"):
                self.iam.update_assume_role_policy(RoleName=old.id, PolicyDocument=after["assumeRolePolicy"])
            if changed(before, after, "description"):
                self.iam.update_role(RoleName=old.id, Description=after.get("description") or "")
            self._update_iam_tags("role", old.id, before, after)
            return {}

        def user(old: Deployed, inputs: dict[str, Any]) -> dict[str, Any]:
            """internal/service/iam/user.go `resourceUserUpdate`: the path in place (UpdateUser), the tags."""
            before, after = reveal(old.inputs), reveal(inputs)
            if changed(before, after, "path"):
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
            if changed(before, after, key):
                configuration[field_name] = function_field(key, after.get(key))
        if configuration:
            self.lambda_.update_function_configuration(FunctionName=old.id, **configuration)
        code_keys = ("code", "sourceCodeHash", "architectures", "s3Bucket", "s3Key", "imageUri")
        code_changed = any(changed(before, after, k) for k in code_keys)
        if code_changed:
            code: dict[str, Any] = self._code(after)
            if changed(before, after, "architectures"):
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
        if after.get("publish") and (configuration or code_changed or changed(before, after, "publish")):
            version = self.lambda_.publish_version(FunctionName=old.id)["Version"]
            return {"version": version, "qualifiedArn": f"{arn}:{version}"}
        return {}

    def deleters(self) -> dict[str, Callable[[Deployed], None]]:
        return {
            "aws:iam/role:Role": lambda r: self.delete_role(r.id),
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment": lambda r: self.iam.detach_role_policy(
                RoleName=r.state["role"], PolicyArn=r.state["policyArn"]
            ),
            "aws:cloudwatch/logGroup:LogGroup": lambda r: self.logs.delete_log_group(logGroupName=r.id),
            "aws:lambda/function:Function": lambda r: self.lambda_.delete_function(FunctionName=r.id),
            "aws:iam/user:User": lambda r: self.delete_user(r.id),
            "aws:iam/userPolicy:UserPolicy": lambda r: self.iam.delete_user_policy(
                UserName=r.state["user"], PolicyName=r.state["name"]
            ),
            "aws:iam/accessKey:AccessKey": lambda r: self.iam.delete_access_key(
                UserName=r.state["user"], AccessKeyId=r.id
            ),
            "aws:lambda/alias:Alias": lambda r: self.lambda_.delete_alias(
                FunctionName=r.state["functionName"], Name=r.state["name"]
            ),
            "aws:iam/policy:Policy": lambda r: self.delete_policy(r.id),
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
        policy_name = physical_name("aws:iam/policy:Policy", name, inputs, suffix(name, self.stack))
        check_managed_policy(inputs["policy"])
        policy = self.iam.create_policy(
            PolicyName=policy_name, Path=inputs.get("path", "/"), PolicyDocument=inputs["policy"]
        )["Policy"]
        return policy["Arn"], {"name": policy_name, "arn": policy["Arn"], "policyId": policy["PolicyId"]}

    # IAM refuses to delete what still has something attached (DeleteConflict): "Before you can delete a managed
    # policy, you must first detach the policy from all users, groups, and roles" (IAM API reference, DeletePolicy);
    # a user's access keys and policies, and a role's policies, must go first (DeleteUser, DeleteRole). moto lets a
    # policy with attachments, and a user with access keys, be deleted: the harness refuses them as IAM does.
    def delete_role(self, role: str) -> None:
        attached = self.iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
        if attached:
            raise DeleteConflictError(f"DeleteRole {role}: must detach all policies first ({len(attached)} attached)")
        inline = self.iam.list_role_policies(RoleName=role)["PolicyNames"]
        if inline:  # IAM API reference, DeleteRole: inline policies (DeleteRolePolicy) must go first
            raise DeleteConflictError(f"DeleteRole {role}: must delete its inline policies first ({len(inline)})")
        self.iam.delete_role(RoleName=role)

    def delete_user(self, user: str) -> None:
        # The provider removes the user from its groups first, always (hashicorp/terraform-provider-aws
        # internal/service/iam/user.go @ 6c6ae51 `resourceUserDelete` -> `DeleteUserGroupMemberships`).
        for group in self.iam.list_groups_for_user(UserName=user)["Groups"]:
            self.iam.remove_user_from_group(GroupName=group["GroupName"], UserName=user)
        keys = self.iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
        attached = self.iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
        if keys or attached:
            raise DeleteConflictError(
                f"DeleteUser {user}: must delete its access keys and detach its policies first "
                f"({len(keys)} keys, {len(attached)} policies)"
            )
        self.iam.delete_user(UserName=user)

    def delete_policy(self, arn: str) -> None:
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
        return f"{inputs['user']}-{suffix(inputs['policyArn'])}", {}

    def _create_role(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        role_name = physical_name("aws:iam/role:Role", name, inputs, suffix(name, self.stack))
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
        return f"{inputs['role']}-{suffix(inputs['policyArn'])}", {}

    def _create_log_group(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        self.logs.create_log_group(logGroupName=inputs["name"], tags=dict(inputs.get("tags") or {}))
        self.logs.put_retention_policy(logGroupName=inputs["name"], retentionInDays=int(inputs["retentionInDays"]))
        group = self.logs.describe_log_groups(logGroupNamePrefix=inputs["name"])["logGroups"][0]
        # The provider's `arn` has no `:*` (hashicorp/terraform-provider-aws internal/service/logs/arn.go
        # `trimLogGroupARNWildcardSuffix`, applied when the group is read).
        return inputs["name"], {"arn": group["arn"].removesuffix(":*")}

    def _create_bucket(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """CreateBucket (outside us-east-1 with its LocationConstraint); a `bucketPrefix` gets a unique suffix as
        terraform-provider-aws `create.Name` makes one (here a deterministic one)."""
        bucket = inputs.get("bucket") or f"{inputs['bucketPrefix']}{suffix(name, self.stack)[:20]}"
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
        user_name = physical_name("aws:iam/user:User", name, inputs, suffix(name, self.stack))
        tags = [{"Key": k, "Value": v} for k, v in (inputs.get("tags") or {}).items()]
        user = self.iam.create_user(UserName=user_name, Path=inputs.get("path", "/"), Tags=tags)["User"]
        return user_name, {"name": user_name, "arn": user["Arn"], "uniqueId": user["UserId"]}

    def _put_user_policy(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        policy_name = inputs.get("name") or f"{name}-{suffix(name)}"
        self.iam.put_user_policy(UserName=inputs["user"], PolicyName=policy_name, PolicyDocument=inputs["policy"])
        return f"{inputs['user']}:{policy_name}", {"name": policy_name}

    def _create_alias(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        alias = self.lambda_.create_alias(
            FunctionName=inputs["functionName"], Name=inputs["name"], FunctionVersion=inputs["functionVersion"]
        )
        return alias["AliasArn"], {"arn": alias["AliasArn"]}

    def _put_role_policy(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        policy_name = inputs.get("name") or f"{name}-{suffix(name)}"
        self.iam.put_role_policy(RoleName=inputs["role"], PolicyName=policy_name, PolicyDocument=inputs["policy"])
        return f"{inputs['role']}:{policy_name}", {"name": policy_name}

    def _create_access_key(self, name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        key = self.iam.create_access_key(UserName=inputs["user"])["AccessKey"]
        created = key["CreateDate"].isoformat()  # the provider's `createDate` (RFC 3339)
        return key["AccessKeyId"], {"secret": key["SecretAccessKey"], "status": key["Status"], "createDate": created}


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
