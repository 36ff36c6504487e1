"""The guide follower's first `up`: a cluster and an account holding what kgateway's Lambda guide made by hand
(tests/support/guide.py), deployed with the harness (preview, then up), in the three ways issue 28 lists."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import boto3
import pulumi
import pytest

import program.stack
from program.cluster_lookup import KubectlLookup, cluster_lookup
from program.config import RouteSettings
from program.guide_objects import Request, route_precedence, route_wins
from tests.support.guide import GUIDE_CLEANUP, follow_the_guide
from tests.support.lifecycle import MotoDeployment, dev_config, generated_key, secret_data

GATEWAY = ("kgateway-system", "http")
IN_THE_WAY = re.compile(r"object\(s\) in the cluster that this stack did not make are in its way")


def iam_users(aws: boto3.Session) -> list[str]:
    return [user["UserName"] for user in aws.client("iam").list_users()["Users"]]


def printed_commands(error: BaseException) -> list[str]:
    return [line.strip() for line in str(error).splitlines() if line.strip().startswith("kubectl delete")]


def test_function_arn_set_after_the_refusal_is_refused_at_preview_not_after_the_identity(aws: boto3.Session) -> None:
    """(a) The user sets functionArn as the first refusal advised. Before: the preview passed (pulumi-kubernetes
    drops AlreadyExists from a preview's dry run) and the `up` failed on `aws-creds` after the IAM user, policy and
    key were made. Now the preview names every object in the way, with the guide's cleanup, and creates nothing."""
    deployment = MotoDeployment(aws)
    echo = follow_the_guide(deployment.cluster, aws)
    before = dict(deployment.cluster.objects)
    with pytest.raises(Exception, match=IN_THE_WAY) as first:
        deployment.up(dev_config())  # the first refusal names the function's way out too, on the same screen
    assert "set functionArn to route it as it is" in str(first.value)
    assert "aws lambda delete-function --function-name echo" in str(first.value)
    assert "aws logs delete-log-group --log-group-name /aws/lambda/echo" in str(first.value)
    assert iam_users(aws) == []

    with pytest.raises(Exception, match=IN_THE_WAY) as refused:
        deployment.up(dev_config(functionArn=echo))
    message = str(refused.value)
    assert "Secret kgateway-system/aws-creds exists: creating it fails with AlreadyExists" in message
    assert "HTTPRoute kgateway-system/lambda takes the requests of route 'echo' (POST /echo)" in message
    assert "kgateway-lambda:secretName (now 'aws-creds')" in message
    assert printed_commands(refused.value) == list(GUIDE_CLEANUP)  # the guide's own cleanup, in its order
    assert "aws lambda delete-function" not in message  # routed as it is now: its deletion is not suggested
    assert "AKIAGUIDEADMINKEY000" not in message and "the-users-own-admin-secret" not in message
    assert iam_users(aws) == []  # refused before anything: no user, policy or key left behind
    assert deployment.deployed == {} and deployment.cluster.objects == before

    # Following the refusal: its commands, as printed, then the same `up`.
    for command in printed_commands(refused.value):
        deployment.cluster.kubectl_delete(command)
    run = deployment.up(dev_config(functionArn=echo))
    assert run.outputs["function_arn"] == echo
    assert secret_data(deployment)["accessKey"] == generated_key(deployment)["id"]  # the stack's invoke-only key
    assert deployment.cluster.route_for(GATEWAY, "/echo") == ("kgateway-system", "echo")
    assert iam_users(aws) != []


def test_deleting_only_the_secret_leaves_the_guides_older_route_in_front(
    aws: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """(b) With only the Secret deleted, nothing collides by name, but the guide's HTTPRoute `lambda` is older and
    as specific on `/echo`: it takes every request (Gateway API's tie-break, oldest first), so `verify` passes
    against the guide's Backend. The harness's own model of the tie-break shows it; the preview refuses it."""
    deployment = MotoDeployment(aws)
    echo = follow_the_guide(deployment.cluster, aws, without=("Secret",))

    with pytest.raises(Exception, match=IN_THE_WAY) as refused:
        deployment.up(dev_config(functionArn=echo))
    assert "HTTPRoute kgateway-system/lambda takes the requests of route 'echo'" in str(refused.value)
    assert "Secret" not in " ".join(printed_commands(refused.value))  # deleted already: not asked again
    assert printed_commands(refused.value) == list(GUIDE_CLEANUP[:2])
    assert iam_users(aws) == []

    # What the check prevents, without it: the stack deploys, and the guide's route keeps /echo.
    monkeypatch.setattr(program.stack, "refuse_objects_in_the_way", lambda settings: None)
    deployment.up(dev_config(functionArn=echo))
    assert deployment.cluster.route_for(GATEWAY, "/echo") == ("kgateway-system", "lambda")


def test_create_gateway_onto_the_guides_gateway_is_refused_at_preview(aws: boto3.Session) -> None:
    """(c) The guide's Gateway `http` exists; `createGateway: true` passed the preview and failed the `up` with
    AlreadyExists once the identity was made. Now the preview refuses it, with the way around it."""
    deployment = MotoDeployment(aws)  # its cluster holds the guide's Gateway
    gateway = dict(deployment.cluster.objects[("gateway.networking.k8s.io/v1:Gateway", *GATEWAY)])
    with pytest.raises(Exception, match=IN_THE_WAY) as refused:
        deployment.up(dev_config(createGateway="true"))
    assert "Gateway kgateway-system/http exists" in str(refused.value)
    assert "keep createGateway false to attach the routes to it as it is" in str(refused.value)
    assert printed_commands(refused.value) == ["kubectl delete gateway http -n kgateway-system"]
    assert iam_users(aws) == []
    assert deployment.cluster.objects[("gateway.networking.k8s.io/v1:Gateway", *GATEWAY)] == gateway


def test_the_check_reads_the_cluster_in_the_up_too_and_accepts_the_stacks_own_objects(aws: boto3.Session) -> None:
    """Not a preview-only check: the `up` runs the program again and looks again (so `--skip-preview` is covered);
    a second `up` finds the stack's own Secret, Backend and route (labelled as this project's) and goes on."""
    deployment = MotoDeployment(aws)
    deployment.preview(dev_config())
    in_a_preview = len(deployment.cluster.lookups)
    assert ("list", "HTTPRoute") in deployment.cluster.lookups
    deployment.up(dev_config())
    assert len(deployment.cluster.lookups) == 3 * in_a_preview  # the up's preview, and the up itself
    deployment.up(dev_config())
    assert [change for change, _ in deployment.changes] == []


def request(path: str = "/echo", host: str | None = None, method: str = "POST") -> Request:
    return Request(path, method, host, {})


@pytest.mark.parametrize(
    ("hostnames", "match", "takes"),
    [
        ([], {"path": {"type": "PathPrefix", "value": "/echo"}}, True),
        ([], {"path": {"type": "PathPrefix", "value": "/echo/"}}, True),  # a trailing slash is ignored
        ([], {"path": {"type": "Exact", "value": "/echo"}}, True),  # Exact outranks our prefix
        ([], {"path": {"type": "PathPrefix", "value": "/"}}, False),  # shorter: ours outranks it
        ([], {}, False),  # no match: PathPrefix /, shorter
        ([], {"path": {"type": "PathPrefix", "value": "/ec"}}, False),  # not a path element of /echo
        ([], {"path": {"type": "PathPrefix", "value": "/echo"}, "method": "GET"}, False),  # not verify's POST
        ([], {"path": {"type": "PathPrefix", "value": "/echo"}, "method": "POST"}, True),  # a method match outranks
        (["other.example.com"], {"path": {"type": "PathPrefix", "value": "/echo"}}, False),  # another host
        ([], {"path": {"type": "PathPrefix", "value": "/echo"}, "queryParams": [{"name": "a", "value": "b"}]}, False),
    ],
)
def test_which_route_takes_the_requests_of_ours(hostnames: list[str], match: dict[str, Any], takes: bool) -> None:
    """Gateway API's precedence against our PathPrefix /echo route (no hostnames), the foreign route being older."""
    ours = route_precedence([], {"path": {"type": "PathPrefix", "value": "/echo"}}, request())
    theirs = route_precedence(hostnames, match, request())
    assert ours is not None
    wins = theirs is not None and route_wins((theirs, "2026-01-01T00:00:00Z", "a/x"), (ours, "9999", "b/y"))
    assert wins is takes


def test_a_hostname_of_ours_outranks_a_route_without_one_and_age_decides_only_a_tie() -> None:
    prefix = {"path": {"type": "PathPrefix", "value": "/echo"}}
    host = request(host="api.example.com")
    ours = route_precedence(["api.example.com"], prefix, host)
    theirs = route_precedence([], prefix, host)
    assert ours is not None and theirs is not None
    assert not route_wins((theirs, "2026-01-01T00:00:00Z", "a/x"), (ours, "9999", "b/y"))
    wildcard = route_precedence(["*.example.com"], prefix, host)
    assert wildcard is not None and not route_wins((wildcard, "2026", "a/x"), (ours, "9999", "b/y"))
    # Equal rank: the older wins; same age, the first by namespace/name.
    assert route_wins((ours, "2026-01-01T00:00:00Z", "z/z"), (ours, "2026-01-01T00:00:01Z", "a/a"))
    assert not route_wins((ours, "2026-01-01T00:00:01Z", "a/a"), (ours, "2026-01-01T00:00:00Z", "z/z"))
    assert route_wins((ours, "2026", "a/a"), (ours, "2026", "b/b"))


def test_a_route_added_after_ours_does_not_refuse_the_next_up(aws: boto3.Session) -> None:
    """Someone later adds a route on /echo: ours is older and keeps its requests, so the stack is not blocked."""
    deployment = MotoDeployment(aws)
    deployment.up(dev_config())
    later = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "later", "namespace": "kgateway-system"},
        "spec": {
            "parentRefs": [{"name": "http"}],
            "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/echo"}}]}],
        },
    }
    deployment.cluster.apply_by_hand(later)
    deployment.up(dev_config(memorySize="256"))
    assert deployment.cluster.route_for(GATEWAY, "/echo") == ("kgateway-system", "echo")


def test_a_route_on_the_same_path_of_another_gateway_or_listener_is_no_competitor(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    for name, parent in (
        ("elsewhere", {"name": "other", "namespace": "kgateway-system"}),
        ("other-namespace", {"name": "http", "namespace": "team-a"}),
        ("other-listener", {"name": "http", "sectionName": "https"}),
    ):
        deployment.cluster.apply_by_hand(
            {
                "apiVersion": "gateway.networking.k8s.io/v1",
                "kind": "HTTPRoute",
                "metadata": {"name": name, "namespace": "kgateway-system"},
                "spec": {"parentRefs": [parent], "rules": [{"matches": [{"path": {"value": "/echo"}}]}]},
            }
        )
    deployment.up(dev_config(gatewayListener="http"))
    assert deployment.cluster.route_for(GATEWAY, "/echo") == ("kgateway-system", "echo")


def test_irsa_onto_gateway_parameters_of_the_same_name_is_refused(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    deployment.cluster.apply_by_hand(
        {
            "apiVersion": "gateway.kgateway.dev/v1alpha1",
            "kind": "GatewayParameters",
            "metadata": {"name": "lambda-irsa", "namespace": "kgateway-system"},
            "spec": {"kube": {}},
        }
    )
    provider = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC"
    with pytest.raises(Exception, match=IN_THE_WAY) as refused:
        deployment.up(dev_config(credentialsMode="irsa", oidcProvider=provider))
    assert "kgateway-lambda:gatewayParametersName (now 'lambda-irsa')" in str(refused.value)
    assert printed_commands(refused.value) == ["kubectl delete gatewayparameters lambda-irsa -n kgateway-system"]
    assert aws.client("iam").list_roles()["Roles"] == []


def test_only_this_projects_label_makes_an_object_the_stacks_own(aws: boto3.Session) -> None:
    """Another Pulumi program's Secret of the same name (labelled, but not as this project's) is still in the way."""
    deployment = MotoDeployment(aws)
    deployment.cluster.apply_by_hand(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": "aws-creds",
                "namespace": "kgateway-system",
                "labels": {"app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "another-project"},
            },
            "stringData": {"accessKey": "x"},
        }
    )
    with pytest.raises(Exception, match=IN_THE_WAY) as refused:
        deployment.up(dev_config())
    assert printed_commands(refused.value) == ["kubectl delete secret aws-creds -n kgateway-system"]


def fake_kubectl(tmp_path: Path, script: str) -> Path:
    """A `kubectl` on PATH that logs its arguments and answers as `script` says."""
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/calls\n{script}\n')
    kubectl.chmod(kubectl.stat().st_mode | stat.S_IEXEC)
    return kubectl


def test_kubectl_is_asked_for_a_secrets_metadata_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    metadata = {"name": "aws-creds", "namespace": "kgateway-system"}
    fake_kubectl(tmp_path, f"echo '{json.dumps(metadata)}'")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    lookup = KubectlLookup(["--context", "kind-x"])
    assert lookup.get("Secret", "kgateway-system", "aws-creds") == {"kind": "Secret", "metadata": metadata}
    (call,) = (tmp_path / "calls").read_text().splitlines()
    assert call == (
        "--context kind-x get secrets aws-creds -n kgateway-system --ignore-not-found -o jsonpath={.metadata} "
        "--request-timeout=20s"
    )


def test_kubectl_answers_no_such_kind_as_nothing_found_and_a_failure_as_not_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_kubectl(tmp_path, 'echo "error: the server doesn\'t have a resource type \\"backends\\"" >&2; exit 1')
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert KubectlLookup([]).list("Backend") == []
    fake_kubectl(tmp_path, "echo 'Unable to connect to the server' >&2; exit 1")
    with pytest.raises(RuntimeError, match="Unable to connect"):
        KubectlLookup([]).list("HTTPRoute")


@pytest.mark.parametrize(
    ("config", "flags"),
    [
        ({}, []),
        ({"kubernetes:context": "kind-kgateway-lambda"}, ["--context", "kind-kgateway-lambda"]),
        ({"kubernetes:cluster": "c1", "kubernetes:context": "x"}, ["--context", "x", "--cluster", "c1"]),
        ({"kubernetes:kubeconfig": "{path}"}, ["--kubeconfig", "{path}"]),
        ({"kubernetes:kubeconfig": "apiVersion: v1\nkind: Config\n"}, ["--kubeconfig", "(a file of it)"]),
    ],
    ids=["default", "context", "cluster", "kubeconfig-path", "kubeconfig-contents"],
)
def test_kubectl_asks_the_cluster_the_kubernetes_provider_is_configured_for(
    config: dict[str, str], flags: list[str], tmp_path: Path
) -> None:
    """pulumi-kubernetes' `kubeconfig` is a path or the file's contents; `context` and `cluster` pick within it."""
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nkind: Config\n")
    given = {key: value.replace("{path}", str(path)) for key, value in config.items()}
    expected = [flag.replace("{path}", str(path)) for flag in flags]
    pulumi.runtime.set_all_config(given)
    try:
        with cluster_lookup() as lookup:
            assert isinstance(lookup, KubectlLookup)
            seen = list(lookup._flags)
            if expected[-1:] == ["(a file of it)"]:
                written = Path(seen[-1])
                assert written.read_text() == given["kubernetes:kubeconfig"]
                assert stat.S_IMODE(written.stat().st_mode) == 0o600
                expected[-1] = seen[-1]
        assert seen == expected
        pulumi.runtime.set_all_config({"kubernetes:renderYamlToDirectory": str(tmp_path)})
        with cluster_lookup() as nothing:
            assert nothing is None  # YAML rendered to a folder: no cluster to collide with
    finally:
        pulumi.runtime.set_all_config({})


def test_routes_the_stack_configures_are_compared_by_their_verify_request() -> None:
    route = RouteSettings("echo", "/echo", "http", "kgateway-system", None, methods=("GET",))
    from program.guide_objects import verify_request

    assert verify_request(route) == Request("/echo", "GET", None, {})
