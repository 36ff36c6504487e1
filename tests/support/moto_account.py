"""An AWS account in moto for the deploy tests: the deployer's keys, the managed policies the program attaches, and
IAM's own policy evaluation (moto's evaluator with IAM's wildcard matching)."""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from functools import cache
from typing import Any
from unittest import mock

import boto3
import botocore.loaders
import botocore.session
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import AWSManagedPolicy, iam_backends

REGION = "us-east-1"
MANAGED_POLICIES_USED = ("AWSLambdaBasicExecutionRole",)


@contextlib.contextmanager
def moto_account() -> Iterator[boto3.Session]:
    """moto in process, as the deployer (its keys in the environment, put back after), with the managed policies."""
    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="deployer", AWS_SECRET_ACCESS_KEY="deployer", AWS_DEFAULT_REGION=REGION)
    try:
        # No Docker here: moto answers invocations without running the handler (node runs it in test_handler).
        with mock_aws(config={"lambda": {"use_docker": False}}):
            load_managed_policies(MANAGED_POLICIES_USED)
            yield boto3.Session(region_name=REGION, botocore_session=_botocore_session())
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _botocore_session() -> botocore.session.Session:
    """A new botocore session per account (its own credentials and event hooks), sharing one loader of the service
    models: a new loader re-reads botocore's JSON models for every client, a tenth of the deploy tests' time."""
    session = botocore.session.get_session()
    session.register_component("data_loader", _models_loader())
    return session


@cache
def _models_loader() -> botocore.loaders.Loader:
    return botocore.loaders.create_loader()


@cache
def _managed_policy_data() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(aws_managed_policies_data)
    return parsed


def load_managed_policies(names: tuple[str, ...]) -> None:
    """Load just the AWS managed policies the program attaches, from moto's own copy of them.

    moto's `load_aws_managed_policies` loads all ~1,300 of them, a second per test; these are the same objects.
    """
    backend = iam_backends[DEFAULT_ACCOUNT_ID]["global"]
    for name in names:
        policy = AWSManagedPolicy.from_data(name, DEFAULT_ACCOUNT_ID, REGION, _managed_policy_data()[name])
        backend.managed_policies[policy.arn] = policy


def iam_match(pattern: str, value: str) -> re.Match[str] | None:
    """IAM's matching of an Action or Resource element: `*` any run of characters, `?` any one, all else literal
    (IAM User Guide, "IAM JSON policy elements: Resource": wildcards `*` and `?` within any ARN segment).

    moto's own matcher turns the pattern into a regular expression unescaped, so `$LATEST` (an anchor) never
    matches and `.` matches anything: it would deny `function:echo:$LATEST`, which IAM allows.
    """
    return _iam_pattern(pattern).fullmatch(value)


@cache
def _iam_pattern(pattern: str) -> re.Pattern[str]:
    """One compile per pattern: the evaluator matches the same few patterns hundreds of thousands of times."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))


def evaluate(policy_document: str, action: str, resource: str) -> bool:
    """moto's IAM policy evaluator, with IAM's own pattern matching."""
    with mock.patch.object(IAMPolicyStatement, "_match", staticmethod(iam_match)):
        return IAMPolicy(policy_document).is_action_permitted(action, resource) == PermissionResult.PERMITTED
