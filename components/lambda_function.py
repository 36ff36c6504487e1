"""One Lambda function (Node.js or Python from a zip, or a container image): execution role, log group, function,
the S3 object of a package too large to upload directly, and optionally an alias."""

import asyncio
import hashlib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from . import packaging
from .execution_role import lambda_execution_role, own_log_group_policy
from .function_names import (
    LOG_GROUP_PREFIX,
    OWNER_TAG,
    Holder,
    WantedName,
    claim_function_name,
    free_or_ours,
    holder_of,
    name_inventory,
    refuse_taken_on_create,
    when_looked_up,
)
from .inputs import checked_inputs
from .tokens import component_options, token
from .validation import (
    ALIAS,
    ENVIRONMENT_SIZE,
    ENVIRONMENT_SIZE_LIMIT,
    FUNCTION_NAME,
    HANDLER,
    IMAGE_URI,
    LOG_RETENTION_DAYS,
    ROLE_ARN,
    RUNTIME,
    InputChecker,
    dns_label_for,
    environment_problem,
    environment_size,
    pending,
    plain,
    whole,
)


class Runtime(StrEnum):
    """A runtime Lambda supports and has not deprecated (Lambda Developer Guide, "Lambda runtimes", supported
    runtimes: python3.11 and python3.10 were deprecated on 2026-06-30)."""

    NODEJS24_X = "nodejs24.x"
    """Node.js 24 (the default)."""
    NODEJS22_X = "nodejs22.x"
    """Node.js 22."""
    PYTHON3_14 = "python3.14"
    """Python 3.14."""
    PYTHON3_13 = "python3.13"
    """Python 3.13."""
    PYTHON3_12 = "python3.12"
    """Python 3.12."""


class PackageType(StrEnum):
    """How the function's code is delivered."""

    ZIP = "Zip"
    """A zip archive with a runtime and handler (the default)."""
    IMAGE = "Image"
    """A container image in Amazon ECR (runtime and handler are the image's)."""


def default_handler(runtime: str) -> str:
    """The handler when none is given: `index.handler` (index.mjs/index.js) for Node.js, `handler.handler`
    (handler.py) for Python."""
    return "handler.handler" if runtime.startswith("python") else "index.handler"


def handler_files(runtime: str, handler: str) -> tuple[str, ...]:
    """The files (any one of them) that hold a handler's module, as each runtime finds it: Python imports the part
    before the last dot as a module (aws/aws-lambda-python-runtime-interface-client `bootstrap.py` `_get_handler`:
    `handler.rsplit(".", 1)`, `/` read as `.`); Node.js loads the part before the first dot after the last `/` as a
    file with `.js`, `.mjs` or `.cjs` (aws/aws-lambda-nodejs-runtime-interface-client `UserFunction.js`)."""
    if runtime.startswith("python"):
        module = handler.rsplit(".", 1)[0].replace(".", "/")
        return (f"{module}.py", f"{module}/__init__.py")
    directory, _, file = handler.rpartition("/")
    module = (f"{directory}/" if directory else "") + file.split(".", 1)[0]
    return tuple(f"{module}{extension}" for extension in (".js", ".mjs", ".cjs"))


class Architecture(StrEnum):
    """The instruction set the function runs on."""

    ARM64 = "arm64"
    """Graviton (the default: cheaper per GB-second)."""
    X86_64 = "x86_64"
    """x86-64."""


class LambdaFunctionArgs(TypedDict):
    """A Lambda function to create."""

    function_name: str
    """Name of the Lambda function: 1 to 64 of A-Z a-z 0-9 - _ (AWS's rule)."""
    code: NotRequired[pulumi.Input[pulumi.Archive]]
    (
        "The function's code: an archive whose root holds the handler's file (e.g. a FileArchive of a zip). A zip file "
        "over Lambda's direct-upload limit (50 MB) goes through an S3 bucket and object the component manages."
    )
    package_type: NotRequired[PackageType]
    """Zip (default) or Image."""
    image_uri: NotRequired[str]
    """Image: the ECR image URI (no code, runtime or handler then)."""
    environment: NotRequired[pulumi.Input[Mapping[str, pulumi.Input[str]]]]
    """Environment variables; a secret value (or a secret mapping) keeps the whole set secret."""
    source_code_hash: NotRequired[pulumi.Input[str]]
    """Base64 SHA-256 of the zip, so the function is updated exactly when the code changes."""
    handler: NotRequired[str]
    """The handler, `file.export` (default `index.handler` for Node.js, `handler.handler` for Python)."""
    runtime: NotRequired[Runtime]
    """The runtime (default nodejs24.x)."""
    architecture: NotRequired[Architecture]
    """The instruction set (default arm64)."""
    memory_size: NotRequired[int]
    """Memory in MB, 128 to 10240 (default 128)."""
    timeout: NotRequired[int]
    """Timeout in seconds, 1 to 900 (default 10)."""
    log_retention_days: NotRequired[int]
    """Retention of the /aws/lambda/<name> log group, a CloudWatch retention period (default 14)."""
    alias: NotRequired[str]
    """Publish a version on each code change and point this alias at it (kgateway then invokes the alias)."""
    role_arn: NotRequired[pulumi.Input[str]]
    """An existing execution role, e.g. an ExecutionRole shared by many functions (default: one for this function)."""


def check_function_args(checker: InputChecker, args: LambdaFunctionArgs, prefix: str = "") -> None:
    """The function's plain inputs against AWS's rules."""
    checker.rule(f"{prefix}functionName", args.get("function_name"), FUNCTION_NAME)
    package_type = plain(args.get("package_type")) or PackageType.ZIP.value
    checker.choice(f"{prefix}packageType", package_type, [t.value for t in PackageType])
    if package_type == PackageType.IMAGE.value:
        checker.rule(f"{prefix}imageUri", args.get("image_uri"), IMAGE_URI)
        checker.required(f"{prefix}imageUri", args.get("image_uri"), IMAGE_URI.example)
        for key, field in (("code", "code"), ("runtime", "runtime"), ("handler", "handler")):
            if args.get(key) is not None:
                checker.fail(
                    f"{prefix}{field}", "(set)", "is not used with packageType Image (the image has it)", "unset"
                )
    else:
        checker.required(
            f"{prefix}code",
            args.get("code"),
            "pulumi.FileArchive('lambda_src/echo')",
            ": an archive of the function's code",
        )
        if args.get("image_uri") is not None:
            checker.fail(f"{prefix}imageUri", args.get("image_uri"), "is only for packageType Image", "unset")
    checker.rule(f"{prefix}runtime", plain(args.get("runtime")), RUNTIME)
    checker.rule(f"{prefix}handler", args.get("handler"), HANDLER)
    environment = args.get("environment")
    if environment is not None and not pending(environment):  # an output is checked by AWS
        if not isinstance(environment, Mapping):
            checker.fail(f"{prefix}environment", "(set)", "must map variable names to values", "{STAGE: prod}")
        else:
            for variable in environment:
                if (problem := environment_problem(variable)) is not None:
                    checker.fail(f"{prefix}environment", variable, problem, "STAGE")
            texts = {k: v for k, v in environment.items() if isinstance(k, str) and isinstance(v, str)}
            if len(texts) == len(environment) and environment_size(texts) > ENVIRONMENT_SIZE_LIMIT:
                checker.fail(
                    f"{prefix}environment",
                    f"{environment_size(texts)} bytes",
                    ENVIRONMENT_SIZE,
                    "fewer or shorter variables",
                )
    checker.choice(f"{prefix}architecture", args.get("architecture"), [a.value for a in Architecture])
    checker.integer(f"{prefix}memorySize", args.get("memory_size"), 128, 10240, 128)
    checker.integer(f"{prefix}timeout", args.get("timeout"), 1, 900, 10)
    retention = args.get("log_retention_days")
    if retention is not None and whole(retention) not in LOG_RETENTION_DAYS:
        checker.fail(
            f"{prefix}logRetentionDays", retention, f"must be a CloudWatch retention period: {LOG_RETENTION_DAYS}", "14"
        )
    checker.rule(f"{prefix}alias", args.get("alias"), ALIAS)
    checker.rule(f"{prefix}roleArn", args.get("role_arn"), ROLE_ARN, "arn:aws:iam::123456789012:role/lambda-execution")


def _archive_file(code: Any) -> Path | None:
    """The zip file a FileArchive names (None for any other archive, or a folder)."""
    if isinstance(code, pulumi.FileArchive) and Path(code.path).is_file():
        return Path(code.path)
    return None


def _code_inputs(
    name: str, function_name: str, args: LambdaFunctionArgs, tags: dict[str, str], child: pulumi.ResourceOptions
) -> dict[str, Any]:
    """The Function's code inputs, as AWS takes the package: an image by URI; a zip over the direct-upload limit
    (components/packaging.py `DIRECT_UPLOAD_LIMIT`, counted zipped, as Lambda does) through an S3 object this
    component manages in a bucket of its own (emptied and deleted with it: `force_destroy`); else the zip itself."""
    if plain(args.get("package_type")) == PackageType.IMAGE.value:
        return {"package_type": PackageType.IMAGE.value, "image_uri": args["image_uri"]}
    runtime = plain(args.get("runtime")) or Runtime.NODEJS24_X.value
    inputs: dict[str, Any] = {
        "runtime": runtime,
        "handler": args.get("handler") or default_handler(runtime),
        "source_code_hash": args.get("source_code_hash"),
    }
    zip_file = _archive_file(args.get("code"))
    if zip_file is None or zip_file.stat().st_size <= packaging.DIRECT_UPLOAD_LIMIT:
        return {**inputs, "code": args["code"]}
    digest = hashlib.sha256(zip_file.read_bytes()).hexdigest()
    # Bucket names are global and lower-case: a prefix from the function's name (at most 37 characters, the
    # provider's rule for bucket_prefix), Pulumi adds the rest.
    bucket = aws.s3.Bucket(
        f"{name}-code",
        bucket_prefix=f"{dns_label_for(function_name)[:30].rstrip('-')}-code-",
        force_destroy=True,
        tags=tags,
        opts=child,
    )
    # The content's hash in the key: new code is a new object (created, the function pointed at it, then the old
    # one deleted), and `source_hash` makes the provider upload again whenever the bytes change.
    code_object = aws.s3.BucketObjectv2(
        f"{name}-code",
        bucket=bucket.id,
        key=f"{function_name}/{digest}.zip",
        source=pulumi.FileAsset(str(zip_file)),
        source_hash=digest,
        tags=tags,
        opts=child,
    )
    return {**inputs, "s3_bucket": code_object.bucket, "s3_key": code_object.key}


class LambdaFunction(pulumi.ComponentResource):
    """A Lambda function whose log group exists before the function, so it never makes its own."""

    function_name: pulumi.Output[str]
    """The function's name."""
    function_arn: pulumi.Output[str]
    """The function's ARN (unqualified)."""
    role_arn: pulumi.Output[str]
    """The execution role's ARN."""
    log_group_name: pulumi.Output[str]
    """The function's log group, /aws/lambda/<name>."""
    alias_name: pulumi.Output[str | None]
    """The alias kgateway invokes, when `alias` is set."""

    def __init__(self, name: str, args: LambdaFunctionArgs, opts: pulumi.ResourceOptions | None = None):
        args = checked_inputs("LambdaFunction", name, LambdaFunctionArgs, args, check_function_args)
        super().__init__(token("LambdaFunction"), name, None, component_options("LambdaFunction", "aws", opts))
        child = pulumi.ResourceOptions(parent=self)
        function_name = args["function_name"]
        alias_name = args.get("alias")
        claim_function_name(self, name, function_name)

        role_arn: pulumi.Input[str]
        if args.get("role_arn") is not None:
            role_arn = args["role_arn"]
        else:
            role = lambda_execution_role(name, f"Execution role of the Lambda function {function_name}", self)
            role_arn = role.arn
        owner = f"{pulumi.get_project()}/{pulumi.get_stack()}/{name}"
        tags = {OWNER_TAG: owner}
        log_group_name = f"{LOG_GROUP_PREFIX}{function_name}"
        inventory = name_inventory(self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        log_group_wanted = WantedName(
            "CloudWatch log group",
            log_group_name,
            lambda: inventory.has_log_group(log_group_name),
            lambda: aws.cloudwatch.get_log_group_output(name=log_group_name, opts=invoke).tags,
        )
        function_wanted = WantedName(
            "Lambda function",
            function_name,
            lambda: inventory.has_function(function_name),
            lambda: aws.lambda_.get_function_output(function_name=function_name, opts=invoke).tags,
        )
        # Outside a preview, both names wait for who holds them in AWS, which the create hook then reads.
        log_group_input: pulumi.Input[str] = log_group_name
        function_name_input: pulumi.Input[str] = function_name
        holders: list[tuple[WantedName, asyncio.Future[Holder]]] = []
        if not pulumi.runtime.is_dry_run():
            holders = [(wanted, holder_of(wanted)) for wanted in (function_wanted, log_group_wanted)]
            looked_up = [holder for _, holder in holders]
            log_group_input = pulumi.Output.from_input(when_looked_up(looked_up, log_group_name))
            function_name_input = pulumi.Output.from_input(when_looked_up(looked_up, function_name))
        names_free = pulumi.ResourceHook(
            f"{token('LambdaFunction')}::{name}::names-free", refuse_taken_on_create(owner, holders)
        )
        # Both have fixed names, which AWS holds once per account and region: every replacement deletes first.
        # The bridge asks for that itself only when its own Diff replaces (pulumi-terraform-bridge
        # pkg/tfbridge/schema.go `nameRequiresDeleteBeforeReplace`); a `--target-replace`, a `pulumi state taint`
        # or a provider change never reaches that Diff and is create-first (pulumi/pulumi
        # pkg/resource/deploy/step_generator.go `diff`), which AWS refuses as a name conflict.
        named = pulumi.ResourceOptions(
            parent=self,
            delete_before_replace=True,
            hooks=pulumi.ResourceHookBinding(before_create=[names_free]),
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=log_group_input,
            tags=tags,
            retention_in_days=whole(args.get("log_retention_days")) or 14,
            opts=named,
        )
        if args.get("role_arn") is None:
            own_log_group_policy(name, role, log_group.arn, self)
        function = aws.lambda_.Function(
            f"{name}-function",
            name=function_name_input,
            tags=tags,
            role=role_arn,
            architectures=[plain(args.get("architecture")) or Architecture.ARM64.value],
            memory_size=whole(args.get("memory_size")) or 128,
            timeout=whole(args.get("timeout")) or 10,
            **_code_inputs(name, function_name, args, tags, child),
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=args["environment"])
            if args.get("environment") is not None
            else None,
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=log_group.name),
            publish=alias_name is not None,
            # Waits for the role and log group it names, nothing else: the logging permission lands in parallel.
            opts=named,
        )

        self.alias_name = pulumi.Output.from_input(None)
        if alias_name is not None:
            alias = aws.lambda_.Alias(
                f"{name}-alias",
                name=alias_name,
                function_name=function.name,
                function_version=function.version,
                description="Routed by kgateway; moves to each newly published version",
                opts=child,
            )
            self.alias_name = alias.name
        self.function_name = function.name
        self.function_arn = function.arn
        self.role_arn = pulumi.Output.from_input(role_arn)
        self.log_group_name = log_group.name
        # Registered with the outputs, so a name someone else has fails the deployment: at preview, before
        # anything is created (a `pulumi up` previews first; without one, the create hook above refuses it).
        names_checked = pulumi.Output.all(
            free_or_ours(log_group.arn, owner, log_group_wanted),
            free_or_ours(function.arn, owner, function_wanted),
        )
        self.register_outputs(
            {
                "names_checked": names_checked,
                "function_name": self.function_name,
                "function_arn": self.function_arn,
                "role_arn": self.role_arn,
                "log_group_name": self.log_group_name,
                "alias_name": self.alias_name,
            }
        )
