"""The deploy's dependency graph (issue 11): the critical path is no longer than the guide done by hand, and each
resource waits for exactly what it needs, in every credentials mode."""

from __future__ import annotations

import pytest

from tests.conftest import RunStack
from tests.support.fake_aws import AMBIENT_ROLE, OIDC_PROVIDER
from tools.engine import ProgramRun
from tools.graph import ancestors, critical_path, waits_for

BACKEND = "kubernetes:gateway.kgateway.dev/v1alpha1:Backend"
READ = "CustomResourceDefinition (read)"


def kinds(run: ProgramRun, urns: set[str]) -> list[str]:
    """Short type names, with `(read)` for reads, sorted."""
    found = [run.by_urn(urn) for urn in urns]
    return sorted(r.type.rsplit(":", 1)[-1] + (" (read)" if r.read_id else "") for r in found if r is not None)


def waited_for_by(run: ProgramRun, type_: str) -> list[str]:
    return kinds(run, ancestors(waits_for(run), run.one(type_).urn))


def test_one_function_critical_path_is_the_guides(run_stack: RunStack) -> None:
    run = run_stack()
    path = critical_path(run)
    assert path.kinds == ["User", "AccessKey", "Secret", "Backend", "HTTPRoute"]
    # In parallel: the function waits for its role and log group, nothing else.
    assert waited_for_by(run, "aws:lambda/function:Function") == ["LogGroup", "Role"]
    # The whole deploy: IAM's user (1.5 s) + key + Secret + Backend and HTTPRoute acceptance (3 s each).
    assert path.seconds == pytest.approx(8.5)


@pytest.mark.parametrize("overrides", [{}, {"alias": "live"}, {"kgatewayVersion": "v2.3"}])
def test_no_kubernetes_object_waits_for_the_lambda_side(run_stack: RunStack, overrides: dict[str, str]) -> None:
    run = run_stack(overrides)
    graph = waits_for(run)
    lambda_side = {
        r.urn
        for r in run.resources
        if r.type.startswith(("aws:lambda/", "aws:cloudwatch/")) or r.name.startswith("echo-role")
    }
    assert len(lambda_side) >= 3
    for resource in run.resources:
        if resource.type.startswith("kubernetes:") and resource.custom:
            assert not ancestors(graph, resource.urn) & lambda_side, resource.name
    # ... and the identity does not wait for the function either (it is given names, not ARNs).
    for resource in run.resources:
        if resource.type.startswith("aws:iam/") and not resource.name.startswith("echo-"):
            assert not ancestors(graph, resource.urn) & lambda_side, resource.name


@pytest.mark.parametrize(
    ("overrides", "secrets", "expected"),
    [
        ({}, {}, ["AccessKey", READ, "Secret", "User"]),
        (
            {"credentialsMode": "provided"},
            {"accessKeyId": "AKIAPROVIDED", "secretAccessKey": "provided-secret"},
            [READ, "Secret"],
        ),
        # Keyless: the Backend carries no identity (irsa) or only the role's ARN (assume-role); it waits for nothing
        # else, as IAM's eventual consistency makes waiting for the permissions useless to the first request.
        ({"credentialsMode": "irsa", "oidcProvider": OIDC_PROVIDER}, {}, [READ]),
        ({"credentialsMode": "assume-role", "ambientRoleArn": AMBIENT_ROLE}, {}, [READ, "Role"]),
        ({"kgatewayVersion": "v2.3"}, {}, ["AccessKey", "Secret", "User"]),
    ],
    ids=["generated", "provided", "irsa", "assume-role", "pinned-release"],
)
def test_the_backend_waits_for_exactly_what_it_names(
    run_stack: RunStack, overrides: dict[str, str], secrets: dict[str, str], expected: list[str]
) -> None:
    run = run_stack(overrides, secrets)
    assert waited_for_by(run, BACKEND) == expected
    # A pinned line with `buffer` (v2.2+) also gives the route its body-size TrafficPolicy, made before the route.
    policy = ["TrafficPolicy"] if "kgatewayVersion" in overrides else []
    assert waited_for_by(run, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute") == sorted(
        [*expected, "Backend", *policy]
    )


def test_a_created_gateway_waits_for_exactly_the_gateway_parameters(run_stack: RunStack) -> None:
    run = run_stack({"credentialsMode": "irsa", "oidcProvider": OIDC_PROVIDER, "createGateway": "true"})
    # The proxy starts with its role annotation: the parameters, which carry the role's ARN; not the policies.
    assert waited_for_by(run, "kubernetes:gateway.networking.k8s.io/v1:Gateway") == ["GatewayParameters", "Role"]
    route = waited_for_by(run, "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute")
    assert route == ["Backend", READ, "Gateway", "GatewayParameters", "Role"]


def test_a_component_in_depends_on_stands_for_every_resource_under_it(run_stack: RunStack) -> None:
    """The graph reader itself: a Gateway told to wait for the whole identity waits for each of its resources."""
    run = run_stack({"createGateway": "true"})
    gateway = run.one("kubernetes:gateway.networking.k8s.io/v1:Gateway")
    identity = next(r for r in run.resources if r.type.endswith(":GatewayCredentials"))
    gateway.dependencies.append(identity.urn)
    assert kinds(run, waits_for(run)[gateway.urn]) == [
        "AccessKey",
        "Policy",
        "Secret",
        "User",
        "UserPolicyAttachment",
    ]
