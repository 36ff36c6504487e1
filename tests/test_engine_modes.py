"""How a team runs Pulumi besides `pulumi preview` then `pulumi up` (issue 28), each as the harness models the
engine: deletes scheduled over the old state's graph, targeted replaces, `--skip-preview`, one API server per
cluster. Rule tests on small programs first, then the stack itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from components.packaging import package_lambda
from program.config import PROJECT_ROOT
from tests.support.cluster import KUBECONFIG
from tests.support.guide import hand_made_echo
from tests.support.lifecycle import MotoDeployment, dev_config
from tests.support.plans import PlanViolationError
from tests.support.programs import program
from tools.engine import ProgramRun

CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
URN = "urn:pulumi:test::kgateway-lambda::kubernetes:core/v1:ConfigMap::"


def config_map(resource: str, name: str, depends_on: str = "") -> str:
    options = f", opts=pulumi.ResourceOptions(depends_on=[{depends_on}])" if depends_on else ""
    return (
        f'{resource} = k8s.core.v1.ConfigMap("{resource}", metadata=ObjectMetaArgs(name="{name}", '
        f'namespace="default"), data={{"k": "v"}}{options})\n'
    )


def objects(deployment: MotoDeployment, kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    return deployment.cluster.of_kind(kind)


def up(deployment: MotoDeployment, path: Path, **options: object) -> ProgramRun:
    return deployment.up({}, program=path, **options)  # type: ignore[arg-type]


def deletes(deployment: MotoDeployment) -> list[str]:
    """The URNs the last run deleted, in order (an old half of a replacement under its own URN)."""
    return [key[1].removeprefix(URN).split("#", 1)[0] for op, key in deployment.changes if op == "delete"]


# --- deletes over the old state's dependency graph (step_generator.go ScheduleDeletes) ----------------------------


def test_the_old_half_of_a_replacement_outlives_its_old_dependents(aws: boto3.Session, tmp_path: Path) -> None:
    """`a` is renamed (create-first: its old half is deleted at the end) and `b`, which depended on it, is gone:
    the engine schedules both deletes over the old state's graph, so `b` goes before the old `a`."""
    deployment = MotoDeployment(aws)
    up(deployment, program(tmp_path, config_map("a", "a") + config_map("b", "b", depends_on="a")))
    up(deployment, program(tmp_path, config_map("a", "a2")))
    assert deletes(deployment) == ["b", "a"]


def test_a_replaced_dependents_old_half_goes_before_what_it_depended_on(aws: boto3.Session, tmp_path: Path) -> None:
    """`b` moves from `a` to `c` and is renamed (replaced create-first), `a` is gone: the old `b` depended on `a`
    in the old state (its new registration's dependencies do not count), so the old `b` goes first."""
    deployment = MotoDeployment(aws)
    up(deployment, program(tmp_path, config_map("a", "a") + config_map("b", "b", depends_on="a")))
    up(deployment, program(tmp_path, config_map("c", "c") + config_map("b", "b2", depends_on="c")))
    assert deletes(deployment) == ["b", "a"]


# --- targeted replaces and provider changes of named AWS resources -------------------------------------------------


@pytest.mark.parametrize("type_", [FUNCTION, LOG_GROUP])
def test_a_target_replace_of_the_function_or_its_log_group_does_not_collide(aws: boto3.Session, type_: str) -> None:
    """pulumi/pulumi step_generator.go `diff`: a targeted replace (`--target-replace`, or a resource `pulumi state
    taint` marked) is a replace that blames `id`, with no DeleteBeforeReplace from the provider, so it is
    create-first unless the resource says `deleteBeforeReplace`; AWS refuses a second function or log group of
    the same name (moto: ResourceConflictException, ResourceAlreadyExistsException)."""
    deployment = MotoDeployment(aws)
    deployment.up(dev_config())
    (key,) = [k for k in deployment.deployed if k[0] == type_]
    deployment.up(dev_config(), target_replace=[key[1]])
    assert [op for op, k in deployment.changes if k[1].split("#")[0] == key[1]] == ["delete", "replace", "create"]
    assert [f["FunctionName"] for f in aws.client("lambda").list_functions()["Functions"]] == ["echo"]
    groups = aws.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == ["/aws/lambda/echo"]


# --- outside a preview: --skip-preview, --remote, the Automation API's up() ----------------------------------------


def test_an_up_without_a_preview_refuses_a_taken_name_before_creating_it(aws: boto3.Session) -> None:
    """`pulumi up --skip-preview` (and the Automation API's `up()`) never runs a preview: the ownership check must
    still stop the creates of a name AWS already has, with its reason, and the stack must not make and then own
    the user's log group."""
    hand_made_echo(aws, invoked=False)
    deployment = MotoDeployment(aws)
    with pytest.raises(Exception, match="already exists in this account and region") as failure:
        deployment.up(dev_config(), skip_preview=True)
    assert "outside Pulumi (the guide's hand-made one?)" in str(failure.value)
    assert "An error occurred" not in str(failure.value)  # not AWS's raw refusal
    logs = aws.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    assert logs == []  # the stack neither made nor owns /aws/lambda/echo
    assert not [k for k in deployment.deployed if k[0] in (FUNCTION, LOG_GROUP)]


def test_an_up_without_a_preview_refuses_a_name_another_stack_made(aws: boto3.Session) -> None:
    MotoDeployment(aws).up(dev_config(), stack="other")
    deployment = MotoDeployment(aws)
    with pytest.raises(Exception, match="already exists in this account and region, made by kgateway-lambda/other/"):
        deployment.up(dev_config(), skip_preview=True)
    assert not [k for k in deployment.deployed if k[0] in (FUNCTION, LOG_GROUP)]


def test_an_up_without_a_preview_keeps_working_on_the_stacks_own_functions(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    deployment.up(dev_config(), skip_preview=True)
    deployment.up(dev_config(memorySize="256"), skip_preview=True)
    assert aws.client("lambda").get_function(FunctionName="echo")["Configuration"]["MemorySize"] == 256
    (key,) = [k for k in deployment.deployed if k[0] == FUNCTION]
    deployment.up(dev_config(), skip_preview=True, target_replace=[key[1]])  # ours, deleted first: no refusal
    assert ("replace", key) in deployment.changes


# --- update plans: pulumi preview --save-plan, then pulumi up --plan -------------------------------------------------


def tagged_function(aws: boto3.Session) -> dict[str, str]:
    """Another team's function carrying the route tag, and the dev stack routing what carries it (`discover`)."""
    arn = hand_made_echo(aws, invoked=False)
    aws.client("lambda").tag_resource(Resource=arn, Tags={"kgateway-lambda/route": "/api/echo"})
    return {"functions": "[]", "discover": json.dumps({"tag": "kgateway-lambda/route"})}


@pytest.mark.parametrize("mode", ["dev", "auto", "discover"])
def test_an_unchanged_stack_updates_within_its_saved_plan(aws: boto3.Session, mode: str) -> None:
    overrides = {"dev": {}, "auto": {"kgatewayVersion": "auto"}}.get(mode) or tagged_function(aws)
    deployment = MotoDeployment(aws)
    deployment.up(dev_config(**overrides))
    deployment.preview(dev_config(**overrides), save_plan=True)
    plan = deployment.saved_plan
    assert plan is not None and plan.steps
    deployment.up(dev_config(**overrides), plan=plan)
    assert [op for op, _ in deployment.changes] == []


def test_an_update_beyond_its_plan_is_refused(aws: boto3.Session) -> None:
    """The rule bites: a plan saved for one config refuses an up with another (the engine's words)."""
    deployment = MotoDeployment(aws)
    deployment.up(dev_config())
    deployment.preview(dev_config(), save_plan=True)
    assert deployment.saved_plan is not None
    with pytest.raises(
        PlanViolationError, match="update is not allowed by the plan: this resource is constrained to same"
    ):
        deployment.up(dev_config(memorySize="256"), plan=deployment.saved_plan)


# --- auto and CRDs upgraded by the same program ----------------------------------------------------------------------

CRD_UPGRADE = """
import pulumi
import pulumi_kubernetes as k8s
from components import LambdaBackend

crds = k8s.helm.v3.Release(
    "kgateway-crds",
    chart="oci://cr.kgateway.dev/kgateway-dev/charts/kgateway-crds",
    version="{version}",
    namespace="kgateway-system",
)
LambdaBackend(
    "echo",
    {{"function_name": "echo", "account_id": "123456789012", "region": "us-east-1", "crds_ready": {ready}}},
    opts=pulumi.ResourceOptions(depends_on=[crds]),
)
"""


@pytest.mark.parametrize(
    ("wiring", "ready"),
    [
        ("the release's id (known on a Helm update)", "crds.id"),
        ("the release's status (unknown while it changes)", "crds.status.apply(lambda s: str(s['revision']))"),
    ],
)
def test_crds_upgraded_in_the_same_program_and_a_saved_plan(
    aws: boto3.Session, tmp_path: Path, wiring: str, ready: str
) -> None:
    """A Helm *update* of the CRD chart keeps the release's id known at preview, so `auto` read the old CRD at
    preview and the new one at the update: a Backend shape the preview never showed, refused by `up --plan`. The
    release's `status` is unknown at preview exactly while the release is created or upgraded
    (pulumi/pulumi-kubernetes helm_release.go `checkpointRelease`), so the read waits for the update then."""
    deployment = MotoDeployment(aws)
    before = program(tmp_path, CRD_UPGRADE.format(version="v2.2.0", ready=ready))
    up(deployment, before)
    after = program(tmp_path, CRD_UPGRADE.format(version="v2.4.0", ready=ready))
    deployment.preview({}, program=after, save_plan=True)
    plan = deployment.saved_plan
    assert plan is not None
    if ready == "crds.id":
        with pytest.raises(PlanViolationError, match=r"update is not allowed by the plan"):
            up(deployment, after, plan=plan)
        return
    up(deployment, after, plan=plan)
    (backend,) = objects(deployment, "Backend").values()
    assert "type" not in backend["spec"]  # main's shape: `spec.type` is deprecated there, not emitted


# --- a move to another cluster ---------------------------------------------------------------------------------------


MOVING_STACK = """
from components import LambdaFunctionArgs, LambdaGatewayRoute, LambdaGatewayRouteArgs, RouteOptions
PROVIDER
LambdaGatewayRoute(
    "echo",
    LambdaGatewayRouteArgs(
        function=LambdaFunctionArgs(function_name="echo", code=pulumi.FileArchive(CODE)),
        routes=[RouteOptions(path="/echo")],
        backend={"kgateway_version": "v2.4"},
    ),
    opts=pulumi.ResourceOptions(providers={"kubernetes": cluster}),
)
"""


def test_the_harness_runs_each_cluster_on_its_own_api_server(aws: boto3.Session, tmp_path: Path) -> None:
    """A provider reaching another server is another cluster: the stack's objects land there, and its default
    provider's cluster keeps only what was there before."""
    echo = package_lambda(PROJECT_ROOT / "lambda_src" / "echo", tmp_path / "build", "echo").path
    other = KUBECONFIG % "https://other.example"
    body = MOVING_STACK.replace("CODE", repr(str(echo))).replace(
        "PROVIDER", f"cluster = k8s.Provider('cluster', kubeconfig={other!r})"
    )
    deployment = MotoDeployment(aws)
    deployment.up({"aws:region": "us-east-1"}, program=program(tmp_path, body))
    assert set(deployment.cluster_of({"kubeconfig": other}).of_kind("HTTPRoute")) == {("kgateway-system", "echo")}
    assert objects(deployment, "HTTPRoute") == {}


def test_a_move_to_another_cluster_within_one_stack_deletes_first_as_decided(
    aws: boto3.Session, tmp_path: Path
) -> None:
    """A provider change to another cluster (the new provider's DiffConfig replaces every object) deletes each
    fixed-name object in the old cluster before making it in the new one. Decided (issue 28): the program cannot
    tell a move from a provider change that reaches the same cluster through another server, where create-first
    would collide (AlreadyExists), so every fixed-name object stays delete-first; a move without a gap is a second
    stack on the new cluster (docs/fleet.md, "Moving to another cluster")."""
    echo = package_lambda(PROJECT_ROOT / "lambda_src" / "echo", tmp_path / "build", "echo").path
    config = {"aws:region": "us-east-1"}
    deployment = MotoDeployment(aws)
    for server in ("https://old.example", "https://new.example"):
        provider = f"cluster = k8s.Provider('cluster-{server[8:11]}', kubeconfig={KUBECONFIG % server!r})"
        deployment.up(
            config,
            program=program(tmp_path, MOVING_STACK.replace("CODE", repr(str(echo))).replace("PROVIDER", provider)),
        )
    for kind in ("Secret", "Backend", "HTTPRoute"):
        ops = [op for op, key in deployment.changes if key[0].endswith(f":{kind}") and op in ("create", "delete")]
        assert ops == ["delete", "create"], (kind, deployment.changes)  # the second up: old cluster first
