"""kgatewayVersion auto when the cluster or kgateway's CRDs come from the same program, or cannot be read.

The mocks answer as the engine and pulumi-kubernetes do:
- a provider created at preview gets the unknown-id sentinel (pulumi/pulumi pkg/resource/deploy/providers/
  registry.go `Create`: `id := UnknownID` unless the step is real), and a Kubernetes object created at preview has
  no id (pulumi-kubernetes provider.go `Create` with preview);
- a read whose id is unknown is not made: its outputs are empty (step.go `ReadStep.Apply`);
- a read through a provider with no reachable cluster fails (pulumi/pulumi-kubernetes provider/pkg/provider/provider.go
  `Read`: "failed to read resource state due to unreachable cluster"), and one of an object the cluster lacks fails
  with "resource '<id>' does not exist" (`ReadStep.Apply`, when the provider's Read returns no outputs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN

from components.crd_reads import CRD_READ_FAILED
from components.kgateway_api import CRD_TYPE
from tests.support.fake_aws import FakeAwsMocks
from tools.engine import ProgramRun, run_program

BACKEND = "kubernetes:gateway.kgateway.dev/v1alpha1:Backend"
PROVIDER = "pulumi:providers:kubernetes"
RELEASE = "kubernetes:helm.sh/v3:Release"
UNREACHABLE = (
    "failed to read resource state due to unreachable cluster. If the cluster was deleted, you can remove this "
    "resource from Pulumi state by rerunning the operation with the PULUMI_K8S_DELETE_UNREACHABLE environment "
    'variable set to "true"'
)


class ClusterMocks(FakeAwsMocks):
    def __init__(
        self,
        *,
        preview: bool,
        created: tuple[str, ...] = (),
        reachable: bool = True,
        empty_read: bool = False,
        **kw: Any,
    ):
        super().__init__(**kw)
        self.preview = preview
        self.created = set(created)  # logical names of what this run creates (the rest is in the state)
        self.reachable = reachable
        self.empty_read = empty_read  # the engine failed the read: the SDK sees no outputs
        self.reads: list[tuple[str, str | None]] = []  # (id, provider reference)

    def _new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == CRD_TYPE and args.resource_id:
            self.reads.append((args.resource_id, args.provider))
            if args.resource_id == UNKNOWN:
                return "", {}  # not read
            if not self.reachable or (args.provider or "").endswith(f"::{UNKNOWN}"):
                raise RuntimeError(UNREACHABLE)
            if self.empty_read:
                return args.resource_id, {}
            return super()._new_resource(args)
        if self.preview and args.name in self.created:
            if args.typ == PROVIDER:
                return UNKNOWN, dict(args.inputs)
            if args.typ == RELEASE:
                return "", dict(args.inputs)
        return super()._new_resource(args)


PROGRAM = """
import pulumi
import pulumi_kubernetes as k8s

from components import LambdaBackend

cluster = k8s.Provider("cluster", kubeconfig="apiVersion: v1\\nkind: Config\\n")
crds = k8s.helm.v3.Release(
    "kgateway-crds",
    chart="oci://cr.kgateway.dev/kgateway-dev/charts/kgateway-crds",
    version="v2.1.0",
    namespace="kgateway-system",
    opts=pulumi.ResourceOptions(provider=cluster),
)
args = {{"function_name": "echo", "account_id": "123456789012", "region": "us-east-1"}}
if {crds_ready}:
    args["crds_ready"] = crds.id
LambdaBackend("echo", args, opts=pulumi.ResourceOptions(provider=cluster, depends_on=[crds]))
"""


def run(tmp_path: Path, mocks: ClusterMocks, crds_ready: bool = True) -> ProgramRun:
    program = tmp_path / "__main__.py"
    program.write_text(PROGRAM.format(crds_ready=crds_ready))
    return run_program(mocks, {"aws:region": "us-east-1"}, preview=mocks.preview, program=program)


def test_auto_previews_when_the_cluster_is_created_in_the_same_program(tmp_path: Path) -> None:
    mocks = ClusterMocks(preview=True, created=("cluster", "kgateway-crds"), kgateway_crd=None)
    preview = run(tmp_path, mocks)
    assert [read_id for read_id, _ in mocks.reads] == [UNKNOWN]  # skipped, not failed
    assert isinstance(preview.one(BACKEND).inputs["spec"], Unknown)  # known at update, from the CRD then read


def test_auto_previews_when_helm_installs_the_crds_in_the_same_program(tmp_path: Path) -> None:
    mocks = ClusterMocks(preview=True, created=("kgateway-crds",), kgateway_crd=None)  # the cluster exists
    run(tmp_path, mocks)
    assert [read_id for read_id, _ in mocks.reads] == [UNKNOWN]
    # Without crdsReady the read happens at preview, before Helm installed anything: the CRD is missing.
    again = ClusterMocks(preview=True, created=("kgateway-crds",), kgateway_crd=None)
    with pytest.raises(Exception, match="kgateway's CRDs are not installed"):
        run(tmp_path, again, crds_ready=False)


def test_at_update_the_crd_is_read_after_the_cluster_and_the_crds(tmp_path: Path) -> None:
    mocks = ClusterMocks(preview=False)
    update = run(tmp_path, mocks)
    assert [read_id for read_id, _ in mocks.reads] == ["backends.gateway.kgateway.dev"]
    assert update.one(BACKEND).inputs["spec"]["aws"]["lambda"]["functionName"] == "echo"


def test_an_unreachable_cluster_is_named_with_the_way_around_it_never_missing_crds(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="unreachable cluster") as failure:
        run(tmp_path, ClusterMocks(preview=True, reachable=False))
    said = "\n".join([str(failure.value), *getattr(failure.value, "__notes__", [])])
    assert "could not read the cluster's CustomResourceDefinition" in said
    assert "Pin kgatewayVersion to your kgateway release line (e.g. v2.4)" in said
    assert "not installed" not in said


def test_a_missing_crd_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="does not exist") as failure:
        run(tmp_path, ClusterMocks(preview=True, kgateway_crd=None))
    said = "\n".join([str(failure.value), *getattr(failure.value, "__notes__", [])])
    assert "kgateway's CRDs are not installed" in said and "helm upgrade -i" in said


def test_a_read_the_engine_failed_fails_the_update_with_both_causes(tmp_path: Path) -> None:
    """The real engine reports a failed read itself and hands the program empty outputs (pulumi sdk/python
    runtime/resource.py `read_resource`): the program must not go on as if the shape were merely unknown."""
    with pytest.raises(Exception) as failure:
        run(tmp_path, ClusterMocks(preview=False, empty_read=True))
    assert CRD_READ_FAILED in str(failure.value)
