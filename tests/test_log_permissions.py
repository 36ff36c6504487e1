"""Logs by least privilege (issue 21): each execution role may write its own functions' log groups and nothing
else, checked with moto's IAM evaluator on the policies as moto stores them; existing stacks move to it by an
update that replaces neither role nor function, the new policy in place before the old attachment goes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from components.execution_role import (
    ATTACHED_POLICIES,
    ExecutionRoleArgs,
    check_execution_role_args,
    log_policy_chunks,
    log_writing_policy,
)
from components.validation import ComponentInputError, InputChecker
from tests.support.aws_models import attached_documents
from tests.support.iam_propagation import BEFORE_ISSUE_21
from tests.support.lifecycle import MotoDeployment, dev_config
from tests.support.moto_account import evaluate
from tests.support.releases import up_release
from tools.aws_rules import check_managed_policy
from tools.engine import stack_config

LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")


def role_documents(iam: Any, role: str) -> list[str]:
    """Every policy a role has, inline and attached, as IAM stores them."""
    inline = [
        json.dumps(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    ]
    return inline + [json.dumps(document) for document in attached_documents(iam, role=role)]


def allowed(documents: list[str], action: str, resource: str) -> bool:
    return any(evaluate(document, action, resource) for document in documents)


def group_arn(session: boto3.Session, function_name: str) -> str:
    account = session.client("sts").get_caller_identity()["Account"]
    return f"arn:aws:logs:{session.region_name}:{account}:log-group:/aws/lambda/{function_name}"


def stream(session: boto3.Session, function_name: str) -> str:
    return f"{group_arn(session, function_name)}:log-stream:2026/11/30/[$LATEST]0123456789abcdef"


def assert_writes_only_its_own_groups(session: boto3.Session, role: str, own: list[str]) -> None:
    documents = role_documents(session.client("iam"), role)
    assert documents, "the role has no policy at all"
    for function_name in own:
        for action in LOG_ACTIONS:
            assert allowed(documents, action, stream(session, function_name)), (function_name, action)
            assert allowed(documents, action, f"{group_arn(session, function_name)}:*"), (function_name, action)
    for other in ("other", f"{own[0]}-2", f"{own[0]}x"):  # another group, and groups whose name starts the same
        for action in LOG_ACTIONS:
            assert not allowed(documents, action, stream(session, other)), (other, action)
    for action in (*LOG_ACTIONS, "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:GetLogEvents"):
        assert not allowed(documents, action, "*"), action
    assert not allowed(documents, "logs:CreateLogGroup", group_arn(session, own[0]))
    assert not allowed(documents, "logs:GetLogEvents", stream(session, own[0]))
    assert no_logs_on_everything(documents)


def no_logs_on_everything(documents: list[str]) -> bool:
    """No statement names a `logs:` action (or `*`) on `*` or on every group of an account."""
    for document in documents:
        for statement in json.loads(document)["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if any(a == "*" or a.startswith("logs:") for a in actions) and any(
                r == "*" or r.endswith(":log-group:*") or r.endswith(":*:*") for r in resources
            ):
                return False
    return True


def role_of(session: boto3.Session, function_name: str) -> str:
    arn = session.client("lambda").get_function(FunctionName=function_name)["Configuration"]["Role"]
    return str(arn.rsplit("/", 1)[1])


def test_a_functions_own_role_writes_its_own_log_group_only(aws: boto3.Session) -> None:
    MotoDeployment(aws).up(dev_config())
    role = role_of(aws, "echo")
    assert aws.client("iam").list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    assert_writes_only_its_own_groups(aws, role, ["echo"])


def test_a_shared_role_writes_the_stacks_log_groups_only(aws: boto3.Session) -> None:
    config, secret_keys = stack_config("multi")
    config.update({"aws:region": "us-east-1", "kgateway-lambda:sharedExecutionRole": "true"})
    MotoDeployment(aws).up(config, secret_keys, stack="multi")
    names = sorted(f["FunctionName"] for f in aws.client("lambda").list_functions()["Functions"])
    assert len(names) == 2
    (role,) = {role_of(aws, name) for name in names}
    assert_writes_only_its_own_groups(aws, role, names)


def test_the_evaluator_would_see_the_old_wildcard(aws: boto3.Session, tmp_path: Path) -> None:
    """The checks bite: the role as it was before issue 21 (AWSLambdaBasicExecutionRole) writes every group."""
    up_release(MotoDeployment(aws), BEFORE_ISSUE_21, tmp_path, dev_config())
    documents = role_documents(aws.client("iam"), role_of(aws, "echo"))
    assert allowed(documents, "logs:PutLogEvents", stream(aws, "other"))
    assert not no_logs_on_everything(documents)


@pytest.mark.parametrize("shared", [False, True], ids=["own-roles", "shared-role"])
def test_existing_stacks_move_by_an_update_with_no_window(aws: boto3.Session, tmp_path: Path, shared: bool) -> None:
    config, secret_keys = stack_config("multi")
    config["aws:region"] = "us-east-1"
    if shared:
        config["kgateway-lambda:sharedExecutionRole"] = "true"
    deployment = MotoDeployment(aws)
    up_release(deployment, BEFORE_ISSUE_21, tmp_path, config, secret_keys=secret_keys, stack="multi")
    roles_before = {f["FunctionName"]: f["Role"] for f in aws.client("lambda").list_functions()["Functions"]}
    deployment.up(config, secret_keys, stack="multi")
    changed = {(op, key[0].rsplit(":", 1)[-1]) for op, key in deployment.changes}
    # No role changes at all and no function is replaced: policies come and go. (A function is updated here only
    # because the release ran from another folder, so its archive has another path; its `role` stays.)
    assert not {op for op, kind in changed if kind == "Role"}
    assert ("replace", "Function") not in changed and ("create", "Function") not in changed
    assert {f["FunctionName"]: f["Role"] for f in aws.client("lambda").list_functions()["Functions"]} == roles_before
    kinds = [(op, key[0].rsplit(":", 1)[-1], key[1]) for op, key in deployment.changes]
    new_policies = [
        i
        for i, (op, kind, _) in enumerate(kinds)
        if op == "create" and kind in ("RolePolicy", "Policy", "RolePolicyAttachment")
    ]
    old_attachments = [
        i for i, (op, kind, urn) in enumerate(kinds) if op == "delete" and kind == "RolePolicyAttachment"
    ]
    assert new_policies and old_attachments
    assert all("basic-execution" in kinds[i][2] for i in old_attachments)
    # Every new log policy (and its attachment) exists before the first old attachment goes.
    assert max(new_policies) < min(old_attachments), kinds
    for name, role_arn in roles_before.items():
        assert_writes_only_its_own_groups(
            aws, role_arn.rsplit("/", 1)[1], [name] if not shared else sorted(roles_before)
        )
    assert deployment.changes and deployment.up(config, secret_keys, stack="multi") and deployment.changes == []


def test_hundreds_of_functions_pack_into_few_policies_within_iams_limits() -> None:
    names = [f"fn{index:03d}".ljust(64, "x") for index in range(250)]
    chunks = log_policy_chunks(names)
    assert 2 <= len(chunks) <= ATTACHED_POLICIES
    assert [name for chunk in chunks for name in chunk] == names
    longest = "arn:aws-us-gov:logs:ap-southeast-4:123456789012:log-group:/aws/lambda/"
    for chunk in chunks:
        check_managed_policy(log_writing_policy([longest + name for name in chunk]))  # raises past 6,144


def test_too_many_functions_for_one_shared_role_are_refused_with_the_input_named() -> None:
    checker = InputChecker("ExecutionRole", "functions")
    check_execution_role_args(
        checker, ExecutionRoleArgs(function_names=[f"f{i:04d}".ljust(64, "x") for i in range(600)])
    )
    with pytest.raises(ComponentInputError, match=r"functionNames = '\[600 functions\]': need \d+ managed policies"):
        checker.done()
    checker = InputChecker("ExecutionRole", "functions")
    check_execution_role_args(checker, ExecutionRoleArgs(function_names=["a.b"]))
    with pytest.raises(ComponentInputError, match=r"functionNames\[0\] = 'a.b': must be 1 to 64"):
        checker.done()
