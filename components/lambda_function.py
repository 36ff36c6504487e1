"""One Lambda function from a source folder: execution role, log group, function."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.packaging import package_lambda

LAMBDA_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    },
    sort_keys=True,
)


@dataclass(frozen=True)
class LambdaFunctionArgs:
    function_name: str
    source_dir: Path
    build_dir: Path
    runtime: str = "nodejs24.x"
    architecture: str = "arm64"
    memory_mb: int = 128
    timeout_s: int = 10
    log_retention_days: int = 14
    handler: str = "index.handler"
    # Publish a version on each code change and point this alias at it.
    alias: str | None = None


class LambdaFunction(pulumi.ComponentResource):
    """A Node.js Lambda function whose log group exists before the function, so it never makes its own."""

    function_name: pulumi.Output[str]
    function_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    log_group_name: pulumi.Output[str]
    alias_name: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        args: LambdaFunctionArgs,
        opts: pulumi.ResourceOptions | None = None,
    ):
        super().__init__("kgateway-lambda:aws:LambdaFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=LAMBDA_TRUST_POLICY,
            description=f"Execution role of the Lambda function {args.function_name}",
            opts=child,
        )
        basic_execution = aws.iam.RolePolicyAttachment(
            f"{name}-basic-execution",
            role=role.name,
            policy_arn=aws.iam.ManagedPolicy.AWS_LAMBDA_BASIC_EXECUTION_ROLE,
            opts=child,
        )
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{args.function_name}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        package = package_lambda(args.source_dir, args.build_dir, args.function_name)
        function = aws.lambda_.Function(
            f"{name}-function",
            name=args.function_name,
            role=role.arn,
            runtime=args.runtime,
            handler=args.handler,
            architectures=[args.architecture],
            memory_size=args.memory_mb,
            timeout=args.timeout_s,
            code=pulumi.FileArchive(str(package.path)),
            source_code_hash=package.sha256_base64,
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="Text", log_group=log_group.name),
            publish=args.alias is not None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, basic_execution]),
        )

        self.alias_name = None
        if args.alias is not None:
            alias = aws.lambda_.Alias(
                f"{name}-alias",
                name=args.alias,
                function_name=function.name,
                function_version=function.version,
                description="Routed by kgateway; moves to each newly published version",
                opts=child,
            )
            self.alias_name = alias.name
        self.function_name = function.name
        self.function_arn = function.arn
        self.role_arn = role.arn
        self.log_group_name = log_group.name
        self.register_outputs(
            {
                "function_name": self.function_name,
                "function_arn": self.function_arn,
                "role_arn": self.role_arn,
                "log_group_name": self.log_group_name,
            }
        )
