"""Whose a function's names are: one creator of a function name per AWS provider in a program, and at the create
itself, a name AWS already holds for someone else (the guide's hand-made `echo` and its log group) refused before
AWS is asked. Used by `LambdaFunction` (components/lambda_function.py)."""

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from .execution_role import LAMBDA_LOG_GROUP_PREFIX
from .validation import InputChecker

# Which stack and component made a function or log group. Informative only (for a human in the console): a
# stack's own resources are recognised by being in its state, whatever this tag says (0.1 set none; a stack,
# project or component rename changes it).
OWNER_TAG = "kgateway-lambda/owner"
LOG_GROUP_PREFIX = LAMBDA_LOG_GROUP_PREFIX


def taken_message(what: str, name: str, owner: str | None) -> str:
    made_by = f"by {owner}" if owner else "outside Pulumi (the guide's hand-made one?)"
    function = name.removeprefix(LOG_GROUP_PREFIX)
    return (
        f"a {what} named {name!r} already exists in this account and region, made {made_by}, not by this stack: "
        "creating it would fail with ResourceConflict. Delete it (the guide's cleanup: `aws lambda delete-function "
        f"--function-name {function}`, `aws logs delete-log-group --log-group-name {LOG_GROUP_PREFIX}{function}`), "
        "choose another functionName, or route the existing function as it is with functionArn (nothing of it is then "
        "created)"
    )


class NameInventory:
    """The names of the functions and of the /aws/lambda/ log groups one AWS provider (so one account and region)
    sees, each listed at most once per deployment, and only when a function or log group is being created."""

    def __init__(self, invoke: pulumi.InvokeOutputOptions):
        self._invoke = invoke
        # Function name -> the LambdaFunction of this program that creates it (a second one would fail mid-deploy).
        self.creators: dict[str, str] = {}
        self._functions: pulumi.Output[list[str]] | None = None
        self._log_groups: pulumi.Output[list[str]] | None = None

    async def has_function(self, name: str) -> bool | None:
        if self._functions is None:  # set before the first await: concurrent checks share one listing
            self._functions = aws.lambda_.get_functions_output(opts=self._invoke).function_names
        return await _contains(self._functions, name)

    async def has_log_group(self, name: str) -> bool | None:
        if self._log_groups is None:
            # One listing of every Lambda log group (a prefix per function would be one call each).
            listed = aws.cloudwatch.get_log_groups_output(log_group_name_prefix=LOG_GROUP_PREFIX, opts=self._invoke)
            self._log_groups = listed.log_group_names
        return await _contains(self._log_groups, name)


async def _contains(names: pulumi.Output[list[str]], name: str) -> bool | None:
    """Whether the listing holds `name`; None while it cannot be known (an unknown provider at preview)."""
    if not await names.is_known():
        return None
    return name in (await names.future() or [])


# Per deployment (the engine connection the SDK holds), per AWS provider (None: the default one).
_INVENTORIES: weakref.WeakKeyDictionary[Any, dict[pulumi.ProviderResource | None, NameInventory]] = (
    weakref.WeakKeyDictionary()
)


def name_inventory(component: pulumi.Resource) -> NameInventory:
    """The inventory of the AWS provider the component's resources use, shared by every component using it."""
    provider = component.get_provider("aws::")
    per_provider = _INVENTORIES.setdefault(pulumi.runtime.settings.get_monitor(), {})
    if provider not in per_provider:
        per_provider[provider] = NameInventory(pulumi.InvokeOutputOptions(provider=provider))
    return per_provider[provider]


def claim_function_name(component: pulumi.Resource, name: str, function_name: str) -> None:
    """One creator per function name and AWS provider (one account and region) in a program: two components that
    both create `echo` passed the preview, and the second create failed mid-deploy with ResourceConflict. The
    stack's config refuses the same name twice up front (program/config/functions.py); this is the components'
    door."""
    creators = name_inventory(component).creators
    first = creators.setdefault(function_name, name)
    if first != name:
        checker = InputChecker("LambdaFunction", name)
        checker.fail(
            "functionName",
            function_name,
            f"is already created by the LambdaFunction {first!r} of this program with the same AWS provider (one "
            "account and region); AWS holds one function of a name, so the second create would fail mid-deploy "
            "with ResourceConflict: give each its own functionName, or route the first one's function "
            "(existingFunction)",
            f"{function_name}-2",
        )
        checker.done()


@dataclass(frozen=True)
class WantedName:
    """A name this component creates a resource under, and how to see whether AWS already has one."""

    what: str
    name: str
    exists: Callable[[], Awaitable[bool | None]]
    tags: Callable[[], pulumi.Output[Mapping[str, str] | None]]


def free_or_ours(arn: pulumi.Output[str], owner: str, wanted: WantedName) -> pulumi.Output[str]:
    """The name, unless the resource is being created while AWS already has one of that name made by someone else.

    Whether the resource is in this stack's state shows in its `arn` at preview: the engine hands the old outputs
    back for a resource that stays or is updated (pulumi/pulumi pkg/resource/deploy/step.go: SameStep.Apply keeps
    `old.Outputs`; UpdateStep.Apply takes the provider's preview Update, where pulumi-terraform-bridge
    pkg/tfbridge/provider.go `Update` returns the planned state, the prior state with the diff applied, and
    terraform-provider-aws never recomputes `arn`), while a create's computed outputs are unknown at preview (the
    bridge's `Create` with preview). So a known `arn` is this stack's own resource: accepted, without any call.
    """

    async def check() -> str:
        if await arn.is_known():
            return wanted.name
        if not await wanted.exists():
            return wanted.name  # free (or the listing cannot be known yet: the create then says)
        found = (await wanted.tags().future() or {}).get(OWNER_TAG)
        if found is not None and found == owner:
            # Ours, being replaced under the same name (delete-before-replace, e.g. `--target-replace`).
            return wanted.name
        raise pulumi.RunError(taken_message(wanted.what, wanted.name, found))

    checked: Awaitable[str] = check()
    return cast(pulumi.Output[str], pulumi.Output.from_input(checked))


# Who holds a name in AWS as an update starts: (held, its owner tag).
Holder = tuple[bool, str | None]


def holder_of(wanted: WantedName) -> asyncio.Future[Holder]:
    """Whether AWS has the name before this run creates anything, and its owner tag, looked up while the resource
    waits for it (its name is gated on this): so the create's hook finds the answer ready and makes no call itself.
    An invoke from inside a hook would wait for one of the program's executor threads while the registrations
    waiting on their steps hold them all (pulumi sdk/python cmd/pulumi-language-python-exec: `parallel` x 4
    threads; runtime/invoke.py and runtime/resource.py run every call in that executor)."""

    async def look() -> Holder:
        if not await wanted.exists():
            return False, None
        return True, (await wanted.tags().future() or {}).get(OWNER_TAG)

    return asyncio.ensure_future(look())


async def when_looked_up(holders: list[asyncio.Future[Holder]], value: str) -> str:
    await asyncio.gather(*holders)
    return value


def refuse_taken_on_create(
    owner: str, holders: list[tuple[WantedName, asyncio.Future[Holder]]]
) -> Callable[[pulumi.ResourceHookArgs], Awaitable[None]]:
    """The ownership check at the create itself, in every mode: a `before_create` hook runs right before the
    provider's Create and only for a create (pulumi/pulumi pkg/resource/deploy/step.go `CreateStep.Apply`, a
    replacement's create included), never for a resource that stays in the state. So `pulumi up --skip-preview`,
    the Automation API's `up()` (`up --skip-preview`) and a remote deployment refuse a taken name before AWS is
    asked, as the preview does. Either create is refused while either name is someone else's: the log group of a
    hand-made function that never ran does not exist yet, and making it would make the stack its owner. Our own
    name being replaced (deleted first) carries our owner tag: accepted."""

    async def hook(_args: pulumi.ResourceHookArgs) -> None:
        for wanted, holder in holders:
            held, found = await holder
            if held and found != owner:
                raise pulumi.RunError(taken_message(wanted.what, wanted.name, found))

    return hook
