"""A stack's own functions and log groups are never refused; one no stack made is refused at preview.

The mocks answer as the engine and the AWS provider do at preview: a resource in the stack's state comes back
with its old outputs (its `arn` known), a create with its computed outputs unknown; and AWS refuses a create
onto a name it has.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pulumi
import pytest

from program.config import PROJECT_ROOT
from tests.support.fake_aws import FakeAwsMocks
from tools.engine import ProgramRun, run_program, stack_config

FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LIST_FUNCTIONS = "aws:lambda/getFunctions:getFunctions"
LIST_LOG_GROUPS = "aws:cloudwatch/getLogGroups:getLogGroups"
TAKEN = re.compile(r"a (Lambda function|CloudWatch log group) named '(/aws/lambda/)?echo' already exists")


class EngineAwsMocks(FakeAwsMocks):
    """FakeAwsMocks answering as the engine does at preview, and refusing the creates AWS refuses.

    - A function or log group in this stack's state (a same or update step) has its old outputs at preview:
      pulumi/pulumi pkg/resource/deploy/step.go SameStep.Apply (`s.new.Outputs = s.old.Outputs`), UpdateStep.Apply
      (the provider's Update with Preview), pulumi-terraform-bridge pkg/tfbridge/provider.go `Update` (preview:
      `diff.ProposedState`, the prior state planned forward, where `arn` keeps its value).
    - A create at preview has no id and its computed outputs (`arn`) unknown: bridge provider.go `Create` (preview:
      the planned state, unknowns kept), and the SDK resolves a missing output as unknown in a dry run
      (pulumi sdk/python runtime/rpc.py `resolve_properties`). Nothing is created at preview.
    - Outside a preview, creating a name AWS has fails: Lambda CreateFunction answers ResourceConflictException,
      CloudWatch Logs CreateLogGroup ResourceAlreadyExistsException (terraform-provider-aws
      internal/service/lambda/function.go resourceFunctionCreate passes the error through).
    """

    def __init__(
        self,
        *,
        preview: bool,
        in_state: dict[str, dict[str, str]] | None = None,
        elsewhere: dict[str, dict[str, str]] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.preview = preview
        # Function name -> tags on it (and on its log group) in AWS: in this stack's state, or made by another.
        self.in_state = set(in_state or {})
        for name, tags in {**(elsewhere or {}), **(in_state or {})}.items():
            self.functions[name] = dict(tags)
            self.log_groups[f"/aws/lambda/{name}"] = dict(tags)
        self.invokes: Counter[str] = Counter()

    def _new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ not in (FUNCTION, LOG_GROUP) or args.resource_id:
            return super()._new_resource(args)
        name = str(args.inputs["name"])
        function_name = name.removeprefix("/aws/lambda/")
        region = self.region_of(args.provider)
        if function_name in self.in_state:  # same or update: the old outputs, nothing created
            service = "lambda" if args.typ == FUNCTION else "logs"
            kind = "function" if args.typ == FUNCTION else "log-group"
            return f"{args.name}-id", {**args.inputs, "arn": f"arn:aws:{service}:{region}:{self.account}:{kind}:{name}"}
        if self.preview:
            return "", dict(args.inputs)
        existing = self.functions if args.typ == FUNCTION else self.log_groups
        if name in existing:
            code = "ResourceConflictException" if args.typ == FUNCTION else "ResourceAlreadyExistsException"
            raise RuntimeError(f"creating {args.typ} ({name}): {code}: already exists")
        return super()._new_resource(args)

    def _call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        self.invokes[args.token] += 1
        return super()._call(args)


def run_dev(mocks: EngineAwsMocks, stack: str = "dev", program: Path | None = None) -> ProgramRun:
    config, secret_keys = stack_config("dev")
    return run_program(
        mocks, config, secret_keys, stack=stack, preview=mocks.preview, program=program or PROJECT_ROOT / "__main__.py"
    )


def test_the_guides_hand_made_function_is_refused_at_preview_with_what_to_do() -> None:
    mocks = EngineAwsMocks(preview=True, hand_made=("echo",))
    with pytest.raises(Exception, match=TAKEN) as failure:
        run_dev(mocks)
    message = str(failure.value)
    assert "outside Pulumi (the guide's hand-made one?)" in message
    assert "functionArn" in message
    assert "`aws lambda delete-function --function-name echo`" in message  # exact, ready to paste
    assert "`aws logs delete-log-group --log-group-name /aws/lambda/echo`" in message
    assert "another functionName" in message


def test_a_function_another_stack_made_is_refused_naming_that_stack() -> None:
    mocks = EngineAwsMocks(preview=True, elsewhere={"echo": {"kgateway-lambda/owner": "kgateway-lambda/prod/echo"}})
    with pytest.raises(Exception, match=r"already exists in this account and region, made by kgateway-lambda/prod/"):
        run_dev(mocks)


def test_a_hand_made_function_without_a_log_group_is_refused_on_the_function_itself() -> None:
    """A function made by hand and never invoked has no log group yet (Lambda creates it at the first log line):
    the check must look at the function, not only at its log group."""
    mocks = EngineAwsMocks(preview=True)
    mocks.functions["echo"] = {}
    with pytest.raises(Exception, match=r"a Lambda function named 'echo' already exists") as failure:
        run_dev(mocks)
    assert "outside Pulumi" in str(failure.value)


def test_a_log_group_left_behind_is_refused_on_its_own() -> None:
    """The other half: the guide's cleanup deleted the function but left /aws/lambda/echo; CreateLogGroup would
    fail with ResourceAlreadyExistsException, so the preview says so, on the log group."""
    mocks = EngineAwsMocks(preview=True)
    mocks.log_groups["/aws/lambda/echo"] = {"kgateway-lambda/owner": "kgateway-lambda/prod/echo"}
    with pytest.raises(Exception, match=r"a CloudWatch log group named '/aws/lambda/echo' already exists") as failure:
        run_dev(mocks)
    assert "made by kgateway-lambda/prod/echo" in str(failure.value)


@pytest.mark.parametrize(
    "tags",
    [
        {},  # 0.1 set no tags
        {"kgateway-lambda/owner": "kgateway-lambda/old-stack-name/echo"},  # pulumi stack rename, state moved
        {"kgateway-lambda/owner": "old-project/dev/echo"},  # project renamed
        {"kgateway-lambda/owner": "kgateway-lambda/dev/old-component-name"},  # component renamed with an alias
    ],
    ids=["0.1-no-tag", "stack-renamed", "project-renamed", "component-aliased"],
)
def test_a_function_in_this_stacks_state_is_accepted_whatever_its_tag_says(tags: dict[str, str]) -> None:
    mocks = EngineAwsMocks(preview=True, in_state={"echo": tags})
    run = run_dev(mocks)
    assert run.one(FUNCTION).inputs["name"] == "echo"
    # Known from the state: no listing, no lookup.
    assert not {token for token in mocks.invokes if "getFunction" in token or "getLogGroup" in token}


def test_our_own_function_being_replaced_under_its_name_is_accepted() -> None:
    """Delete-before-replace (`--target-replace`, or a replacement under the same name): the preview shows a create
    (its `arn` unknown) of a name AWS still has, tagged by this very stack and component: ours, not refused."""
    ours = {"kgateway-lambda/owner": "kgateway-lambda/dev/echo"}
    mocks = EngineAwsMocks(preview=True, elsewhere={"echo": ours})
    run = run_dev(mocks)
    assert run.one(FUNCTION).inputs["tags"] == ours
    # The same name tagged by the same component of another stack is someone else's.
    other = EngineAwsMocks(preview=True, elsewhere={"echo": {"kgateway-lambda/owner": "kgateway-lambda/dev2/echo"}})
    with pytest.raises(Exception, match=TAKEN):
        run_dev(other)


def test_a_renamed_stack_previews_its_own_function() -> None:
    mocks = EngineAwsMocks(preview=True, in_state={"echo": {"kgateway-lambda/owner": "kgateway-lambda/dev/echo"}})
    run = run_dev(mocks, stack="production")
    # The tag follows the new name (an in-place tag update), and was no reason to refuse.
    assert run.one(FUNCTION).inputs["tags"] == {"kgateway-lambda/owner": "kgateway-lambda/production/echo"}


def test_without_a_preview_the_create_fails_as_aws_refuses_it() -> None:
    """The rig refuses what AWS refuses: a create onto an existing name (here without the preview's check)."""
    mocks = EngineAwsMocks(preview=False, hand_made=("echo",))
    with pytest.raises(Exception, match=r"ResourceConflictException|ResourceAlreadyExistsException"):
        run_dev(mocks)


MANY_FUNCTIONS = """
import pulumi
import pulumi_aws as aws

from components import LambdaFunction

ireland = aws.Provider("ireland", region="eu-west-1")
code = pulumi.FileArchive({code!r})
for index in range({count}):
    LambdaFunction(
        f"fn{{index}}",
        {{"function_name": f"fn{{index}}", "code": code, "role_arn": "arn:aws:iam::123456789012:role/shared"}},
        opts=pulumi.ResourceOptions(provider=ireland) if index % 2 else None,
    )
"""


def many_functions(tmp_path: Path, count: int) -> Path:
    program = tmp_path / "__main__.py"
    program.write_text(MANY_FUNCTIONS.format(code=str(PROJECT_ROOT / "lambda_src" / "echo"), count=count))
    return program


def test_two_hundred_creates_list_once_per_provider(tmp_path: Path) -> None:
    mocks = EngineAwsMocks(preview=True, hand_made=("unrelated",))
    run = run_dev(mocks, program=many_functions(tmp_path, 200))
    assert len(run.by_type(FUNCTION)) == 200
    # The default provider (us-east-1) and `ireland`: one listing each of functions and of /aws/lambda/ groups.
    assert mocks.invokes[LIST_FUNCTIONS] == 2
    assert mocks.invokes[LIST_LOG_GROUPS] == 2
    assert mocks.invokes["aws:lambda/getFunction:getFunction"] == 0  # nothing taken: no lookup of tags


def test_a_collision_among_many_is_found_with_one_listing_per_provider(tmp_path: Path) -> None:
    mocks = EngineAwsMocks(preview=True, hand_made=("fn3",))
    with pytest.raises(Exception, match=r"named '(/aws/lambda/)?fn3' already exists"):
        run_dev(mocks, program=many_functions(tmp_path, 10))
    assert mocks.invokes[LIST_FUNCTIONS] <= 2


def test_a_preview_of_functions_in_state_lists_nothing_and_an_update_lists_once(tmp_path: Path) -> None:
    """A preview knows a resource in the state by its known `arn`: nothing to list. An update cannot tell a create
    from a resource that stays before the engine answers, so it lists once per provider (the create hook then
    reads the answer; tests/test_engine_modes.py) and looks up the owner tag only of a name AWS has."""
    program = many_functions(tmp_path, 20)
    in_state = EngineAwsMocks(preview=True, in_state={f"fn{index}": {} for index in range(20)})
    run_dev(in_state, program=program)
    assert in_state.invokes[LIST_FUNCTIONS] == in_state.invokes[LIST_LOG_GROUPS] == 0
    update = EngineAwsMocks(preview=False)
    run_dev(update, program=program)
    assert update.invokes[LIST_FUNCTIONS] == update.invokes[LIST_LOG_GROUPS] == 2
    assert update.invokes["aws:lambda/getFunction:getFunction"] == 0


@pytest.mark.parametrize("preview", [True, False])
def test_names_that_only_begin_or_end_like_ours_are_not_ours(preview: bool) -> None:
    """Names are compared whole: an `echo-legacy` (or `old-echo`) function and log group in the account leave `echo`
    free (the listing holds other functions' names; a prefix or substring match would refuse the stack's own)."""
    mocks = EngineAwsMocks(preview=preview, elsewhere={"echo-legacy": {}, "old-echo": {}, "ech": {}})
    run = run_dev(mocks)
    assert [r.inputs["name"] for r in run.by_type(FUNCTION)] == ["echo"]
