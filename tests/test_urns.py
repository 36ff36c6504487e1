"""What the engine is asked to do with the fixed-name Kubernetes objects (issue 17, items 5-7), read from the
registration requests themselves: their URNs and alias URNs, `deleteBeforeReplace`, reads against registrations.

The engine's rules these tests hold the program to (pulumi/pulumi `pkg/resource/deploy/step_generator.go`):
- a registration whose URN, or one of its aliases, is in the old state is a same/update/replace of that resource
  (`getOldResource`); any other is a create, and every old resource nobody claimed is deleted after all of them;
- a replacement is create-before-delete unless the registration sets `deleteBeforeReplace` ("The user can override
  the provider's decision"): pulumi-kubernetes asks for delete-first only from its own Diff, for the same name and
  namespace (pulumi/pulumi-kubernetes `provider/pkg/provider/provider.go`, `Diff`);
- a read whose URN holds a managed resource with the same ID releases it from management (`GenerateReadSteps`,
  "relinquish"); a registration whose URN holds a read is created in its place ("creating instead").
pulumi-kubernetes creates client-side, so a create of a name that exists fails with AlreadyExists, at preview too
(pulumi/pulumi-kubernetes `provider/pkg/await/await.go`, `Creation`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

import pulumi
import pytest

from program.gateway import CREATED_BY_STACK, already_exists_message, deleted_by_this_update_message
from tests.conftest import RunStack
from tests.support.engine_requests import Request
from tests.support.fake_aws import OIDC_PROVIDER, FakeAwsMocks
from tools.engine import ProgramRun, run_program, stack_config

GATEWAY = "kubernetes:gateway.networking.k8s.io/v1:Gateway"
BACKEND = "kubernetes:gateway.kgateway.dev/v1alpha1:Backend"
HTTP_ROUTE = "kubernetes:gateway.networking.k8s.io/v1:HTTPRoute"


def taken(requests: list[Request]) -> list[Request]:
    """What one run registered; the list is emptied for the next run."""
    found = list(requests)
    requests.clear()
    return found


@dataclass(frozen=True)
class Steps:
    """The steps the engine derives for the Kubernetes objects, old state -> new registrations."""

    same: list[tuple[Request, Request]]
    creates: list[Request]
    deletes: list[Request]
    released: list[Request]  # managed objects a read at their URN releases from management


def steps(old: list[Request], new: list[Request]) -> Steps:
    olds = {r.urn: r for r in old}
    same, creates, released, claimed = [], [], [], set()
    for request in new:
        # getOldResource: the URN first, then the aliases (reads take none).
        match = next((olds[u] for u in (request.urn, *request.alias_urns) if u in olds), None)
        if match is None:
            if request.read_id is None:
                creates.append(request)
            continue
        claimed.add(match.urn)
        if (
            request.read_id is not None
            and match.read_id is None
            and request.read_id == f"{match.namespace}/{match.name}"
        ):
            released.append(match)
        elif request.read_id is None and match.read_id is not None:
            creates.append(request)  # "creating instead" of the read
        else:
            same.append((match, request))
    deletes = [r for r in old if r.urn not in claimed and r.read_id is None]  # an External delete is a no-op
    return Steps(same, creates, deletes, released)


def collisions(old: list[Request], new: list[Request]) -> list[tuple[str, str | None, str | None]]:
    """Creates of an object whose kind, namespace and name are in the cluster when it is created: every create
    runs before the deletes of the resources nobody claimed, and a read's object exists (it was read)."""
    plan = steps(old, new)
    existing = {r.identity for r in old} - {r.identity for r in plan.released}
    return [r.identity for r in plan.creates if r.identity in existing]


def custom_objects(requests: list[Request]) -> list[Request]:
    return [r for r in requests if r.read_id is None]


# --- item 7: every fixed-name object is replaced delete-first, and its URN is its name -------------------------


@pytest.mark.parametrize(
    ("overrides", "kinds"),
    [
        ({}, {"Secret", "Backend", "HTTPRoute"}),
        ({"createGateway": "true"}, {"Secret", "Backend", "HTTPRoute", "Gateway"}),
        (
            {"credentialsMode": "irsa", "oidcProvider": OIDC_PROVIDER, "createGateway": "true"},
            {"GatewayParameters", "Backend", "HTTPRoute", "Gateway"},
        ),
        ({"routeNamespace": "team-a"}, {"Secret", "Backend", "HTTPRoute", "ReferenceGrant"}),
    ],
    ids=["generated", "created-gateway", "irsa", "cross-namespace"],
)
def test_every_fixed_name_object_is_replaced_delete_first(
    run_stack: RunStack, requests: list[Request], overrides: dict[str, str], kinds: set[str]
) -> None:
    run_stack(overrides)
    objects = custom_objects(requests)
    assert {r.type.rsplit(":", 1)[-1] for r in objects} == kinds
    for request in objects:
        assert request.delete_before_replace is True, request.urn
        # Within one URN the name and namespace never change, so delete-first never costs a rename its overlap.
        assert request.urn.endswith(f"::{request.namespace}/{request.name}"), request.urn


def test_the_library_alone_registers_its_objects_the_same_way(tmp_path: Any, requests: list[Request]) -> None:
    """The composite used directly (its own identity, irsa's parameters, a cross-namespace route)."""
    program = tmp_path / "library.py"
    program.write_text(
        "import pulumi\nfrom components import LambdaGatewayRoute\n"
        "for name, mode in (('orders', 'generated'), ('invoices', 'irsa')):\n"
        "    LambdaGatewayRoute(name, {'function': {'function_name': name, 'code': pulumi.FileArchive('x')},\n"
        "        'backend': {'kgateway_version': 'v2.4'}, 'routes': [{'path': '/' + name, 'namespace': 'team-a'}],\n"
        "        'credentials': {'mode': mode, 'oidc_provider': 'https://oidc.example/id/X'}})\n"
    )
    run_program(FakeAwsMocks(), {"aws:region": "us-east-1"}, program=program)
    objects = custom_objects(requests)
    assert sorted(r.type.rsplit(":", 1)[-1] for r in objects) == sorted(
        # On v2.4 each route also has its body-limit TrafficPolicy (a fixed-name object like the others), and the
        # patch that awaits the policy's acceptance (components/readiness.py).
        ["Secret", "GatewayParameters"]
        + ["Backend", "HTTPRoute", "ReferenceGrant", "TrafficPolicy", "TrafficPolicyPatch"] * 2
    )
    assert all(r.delete_before_replace is True for r in objects)


def test_deployed_stacks_keep_their_urns(run_stack: RunStack, requests: list[Request]) -> None:
    """Each object's name before this scheme (`<component>-<role>`) is an alias: an upgrade moves nothing."""
    run_stack({"createGateway": "true"})
    aliases = {r.type.rsplit(":", 1)[-1]: r.alias_urns for r in custom_objects(requests)}
    route, stack = "kgateway-lambda:index:LambdaGatewayRoute", "urn:pulumi:dev::kgateway-lambda::"
    assert (
        f"{stack}kgateway-lambda:index:GatewayCredentials$kubernetes:core/v1:Secret::gateway-secret"
        in (aliases["Secret"])
    )
    assert f"{stack}{route}$kgateway-lambda:index:LambdaBackend${BACKEND}::echo-backend" in aliases["Backend"]
    assert f"{stack}{route}$kgateway-lambda:index:LambdaRoute${HTTP_ROUTE}::echo-httproute" in aliases["HTTPRoute"]
    assert f"{stack}{GATEWAY}::gateway" in aliases["Gateway"]


# --- item 5: renaming a function whose Kubernetes names are pinned ------------------------------------------


def multi_config(functions: list[dict[str, Any]], routes: list[dict[str, Any]]) -> dict[str, str]:
    config, _ = stack_config("multi")
    config["kgateway-lambda:functions"] = json.dumps(functions)
    config["kgateway-lambda:routes"] = json.dumps(routes)
    return config


def run_multi(functions: list[dict[str, Any]], routes: list[dict[str, Any]]) -> ProgramRun:
    return run_program(FakeAwsMocks(region="eu-west-1"), multi_config(functions, routes), stack="multi")


ECHO = {"name": "echo", "alias": "live"}
ECHO_ROUTE = {"function": "echo", "path": "/echo"}


def test_renaming_one_of_several_functions_keeps_its_pinned_backend_and_route(requests: list[Request]) -> None:
    pinned = {"source": "hello", "backendName": "hello"}
    route = {"path": "/hello", "name": "hello", "namespace": "team-a"}
    run_multi([ECHO, {"name": "hello", **pinned}], [ECHO_ROUTE, {"function": "hello", **route}])
    before = taken(requests)
    run_multi([ECHO, {"name": "greet", **pinned}], [ECHO_ROUTE, {"function": "greet", **route}])
    after = taken(requests)

    plan = steps(before, after)
    kept = {(old.type, old.urn) for old, new in plan.same}
    for kind in (BACKEND, HTTP_ROUTE, "kubernetes:gateway.networking.k8s.io/v1beta1:ReferenceGrant"):
        (old,) = [r for r in before if r.type == kind and r.name and r.name.startswith("hello")]
        assert (kind, old.urn) in kept, kind  # the same object, updated to name the new function
    assert plan.creates == [] and plan.deletes == []
    assert collisions(before, after) == []
    # The other function's objects never moved either.
    assert {r.urn for r in before if r.name and r.name.startswith("echo")} <= {r.urn for r in after}


def test_renaming_a_function_with_derived_names_moves_urn_and_name_together(requests: list[Request]) -> None:
    """Unpinned: the Backend and route follow the function's name, so the old ones go after the new ones exist."""
    run_multi([ECHO, {"name": "hello", "source": "hello"}], [ECHO_ROUTE, {"function": "hello", "path": "/hello"}])
    before = taken(requests)
    run_multi([ECHO, {"name": "greet", "source": "hello"}], [ECHO_ROUTE, {"function": "greet", "path": "/hello"}])
    after = taken(requests)
    plan = steps(before, after)
    assert sorted((r.type, r.name) for r in plan.creates) == [(BACKEND, "greet"), (HTTP_ROUTE, "greet")]
    assert sorted((r.type, r.name) for r in plan.deletes) == [(BACKEND, "hello"), (HTTP_ROUTE, "hello")]
    assert collisions(before, after) == []


def test_the_collision_check_sees_a_second_object_of_the_same_name(requests: list[Request]) -> None:
    """The check itself: a pinned name moved to another function's entry is a new URN with a taken name."""
    run_multi([ECHO, {"name": "hello", "source": "hello"}], [ECHO_ROUTE, {"function": "hello", "path": "/hello"}])
    before = taken(requests)
    moved = [replace(r, urn=r.urn + "-x") if (r.type, r.name) == (BACKEND, "hello") else r for r in before]
    assert collisions(before, moved) == [(BACKEND, "kgateway-system", "hello")]


# --- item 6: createGateway toggled ---------------------------------------------------------------------------


IN_CLUSTER: dict[str, Any] = {
    "spec": {"listeners": [{"name": "http", "port": 8080, "protocol": "HTTP"}]},
    "status": {"addresses": [{"type": "IPAddress", "value": "203.0.113.10"}]},
}


class AlreadyExistsMocks(FakeAwsMocks):
    """The cluster already holds the Gateway: the provider's client-side create answers AlreadyExists."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == GATEWAY and not args.resource_id:
            raise RuntimeError('gateways.gateway.networking.k8s.io "http" already exists')
        return super().new_resource(args)


def test_create_gateway_false_to_true_creates_under_its_own_urn(run_stack: RunStack, requests: list[Request]) -> None:
    run_stack({"createGateway": "false"})
    before = taken(requests)
    run_stack({"createGateway": "true"})
    after = taken(requests)
    (read,) = [r for r in before if r.type == GATEWAY]
    (created,) = [r for r in after if r.type == GATEWAY]
    assert read.read_id == "kgateway-system/http" and created.read_id is None
    assert read.urn != created.urn and read.urn not in created.alias_urns
    plan = steps(before, after)
    assert [r.urn for r in plan.creates if r.type == GATEWAY] == [created.urn]  # a create, not "instead of a read"
    # ... of a Gateway that was read, so exists: the provider refuses it, and the program says what to do.
    assert collisions(before, after) == [(GATEWAY, "kgateway-system", "http")]
    with pytest.raises(Exception, match="already exists") as failure:
        run_stack({"createGateway": "true"}, mocks=AlreadyExistsMocks())
    assert f"error: {already_exists_message('kgateway-system', 'http')}" in failure.value.__notes__


def test_create_gateway_true_to_false_deletes_the_created_gateway(run_stack: RunStack, requests: list[Request]) -> None:
    run_stack({"createGateway": "true"})
    before = taken(requests)
    created = next(r for r in before if r.type == GATEWAY)
    # The read finds the Gateway this stack made (the delete comes after every registration and read).
    ours = {"metadata": {"annotations": {CREATED_BY_STACK: "kgateway-lambda/dev"}}, **IN_CLUSTER}
    run = run_stack({"createGateway": "false"}, mocks=FakeAwsMocks(gateway=ours))
    after = taken(requests)
    plan = steps(before, after)
    assert plan.released == []  # not released from management (the read has its own URN) ...
    assert [r.urn for r in plan.deletes] == [created.urn]  # ... but deleted
    message = deleted_by_this_update_message("kgateway-system", "http")
    assert run.outputs["gateway_url"] == f"({message})"  # never the address of the Gateway being deleted
    assert f"warning: {message}" in run.logs
    # A Gateway another stack made is read as it is.
    theirs = {"metadata": {"annotations": {CREATED_BY_STACK: "kgateway-lambda/prod"}}, **IN_CLUSTER}
    assert run_stack({}, mocks=FakeAwsMocks(gateway=theirs)).outputs["gateway_url"] == "http://203.0.113.10:8080"


def test_one_urn_for_both_roles_would_release_the_gateway(requests: list[Request]) -> None:
    """The model of the step generator can fail: a read at the managed object's URN releases it, never deletes it."""
    managed = Request(GATEWAY, "urn:x::gateway", (), None, True, (), "kgateway-system", "http")
    read = Request(GATEWAY, "urn:x::gateway", (), "kgateway-system/http", None, (), "kgateway-system", "http")
    assert steps([managed], [read]) == Steps([], [], [], [managed])
    assert steps([read], [managed]).creates == [managed]
    assert collisions([read], [managed]) == [(GATEWAY, "kgateway-system", "http")]
