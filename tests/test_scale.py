"""Scale (issue 29): what each added function costs a stack in reads and state, whatever its number of functions.

With `kgatewayVersion: auto`, the cluster's Backend CRD, TrafficPolicy CRD and controller Deployment are read once
per stack (components/cluster_reads.py), not once per Backend or route: each read keeps the whole object in the state
and is a GET at every preview.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest

import components.lambda_gateway_route
import program.stack
from components.kgateway_api import BACKEND_CRD_NAME, CRD_TYPE
from components.traffic_policy import TRAFFIC_POLICY_CRD_NAME
from tests.conftest import RunStack
from tests.support.fake_aws import FakeAwsMocks
from tests.support.lifecycle import MotoDeployment, dev_config
from tests.support.programs import run_text
from tests.support.state import state_bytes
from tools.engine import ProgramRun

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
PROTECTION = {"rateLimit": {"requestsPerSecond": 5}, "cors": {"allowOrigins": ["https://app.example.com"]}}
# The goal of issue 29: what one more function adds to the state, plain and protected (the reads are a fixed cost).
PLAIN_BYTES_PER_FUNCTION = 10_000
PROTECTED_BYTES_PER_FUNCTION = 15_000


def functions(count: int, protection: dict[str, Any] | None = None) -> dict[str, str]:
    overrides = {"functions": json.dumps([{"name": f"fn{i:02d}"} for i in range(count)])}
    if protection is not None:
        overrides["protection"] = json.dumps(protection)
    return overrides


def reads(run: ProgramRun) -> Counter[tuple[str, str]]:
    return Counter((r.type, str(r.read_id)) for r in run.resources if r.read_id is not None and r.type != "")


def test_a_20_function_auto_stack_reads_each_crd_kind_once(run_stack: RunStack) -> None:
    run = run_stack(functions(20, PROTECTION), mocks=FakeAwsMocks())
    cluster_reads = {k: n for k, n in reads(run).items() if k[0] in (CRD_TYPE, DEPLOYMENT)}
    assert cluster_reads == {
        (CRD_TYPE, BACKEND_CRD_NAME): 1,
        (CRD_TYPE, TRAFFIC_POLICY_CRD_NAME): 1,
        (DEPLOYMENT, "kgateway-system/kgateway"): 1,
    }
    # ... and every Backend and policy still took its shape from them (the cluster runs kgateway main).
    backends = [r for r in run.resources if r.type.endswith(":Backend")]
    policies = [r for r in run.resources if r.type.endswith(":TrafficPolicy")]
    assert len(backends) == len(policies) == 20
    assert all("accountId" in r.inputs["spec"]["aws"]["lambda"] for r in backends)
    assert all(r.inputs["spec"]["rateLimit"]["local"] for r in policies)


def test_a_pinned_stack_reads_nothing_of_the_cluster(run_stack: RunStack) -> None:
    run = run_stack({**functions(3, PROTECTION), "kgatewayVersion": "v2.4"}, mocks=FakeAwsMocks())
    assert not {k for k in reads(run) if k[0] in (CRD_TYPE, DEPLOYMENT)}


def test_a_composite_alone_reads_once_for_its_backend_and_all_its_routes(tmp_path: Path) -> None:
    resources = run_text(
        tmp_path,
        "alone",
        "from components import LambdaGatewayRoute\n"
        "LambdaGatewayRoute('echo', {'existing_function': 'echo',"
        " 'protection': {'rate_limit': {'requests_per_second': 5}},"
        " 'routes': [{'path': '/a'}, {'path': '/b'}, {'path': '/c'}]})\n",
    )
    read = Counter((r.type, r.read_id) for r in resources if r.read_id is not None)
    assert {k: n for k, n in read.items() if k[0] in (CRD_TYPE, DEPLOYMENT)} == {
        (CRD_TYPE, BACKEND_CRD_NAME): 1,
        (CRD_TYPE, TRAFFIC_POLICY_CRD_NAME): 1,
        (DEPLOYMENT, "kgateway-system/kgateway"): 1,
    }
    assert len([r for r in resources if r.type.endswith(":TrafficPolicy")]) == 3


def test_reads_of_another_cluster_are_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"cluster_reads.*another Kubernetes provider's cluster"):
        run_text(
            tmp_path,
            "other",
            "import pulumi_kubernetes as k8s\n"
            "from components import ClusterReads, LambdaBackend\n"
            "reads = ClusterReads('kgateway', provider=k8s.Provider('other', kubeconfig='{}'))\n"
            "LambdaBackend('echo', {'function_name': 'echo'}, cluster_reads=reads)\n",
        )


def test_an_existing_stack_upgrades_with_only_its_reads_changed(
    aws: boto3.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = MotoDeployment(aws)
    config = dev_config(**functions(2, PROTECTION))
    # Before: no shared reads, so each Backend and protected route reads for itself, under the names every release
    # before issue 29 gave them (LambdaBackend `<name>-kgateway-crd`, RouteProtection `<name>-trafficpolicy-crd`
    # and `<name>-controller`; the release 2f67866 had exactly these).
    with monkeypatch.context() as before_issue_29:
        for module in (program.stack, components.lambda_gateway_route):
            before_issue_29.setattr(module, "ClusterReads", lambda *args, **kwargs: None)
        deployment.up(config)
    old_reads = {k for k, d in deployment.deployed.items() if d.external and k[0] in (CRD_TYPE, DEPLOYMENT)}
    assert len(old_reads) == 6  # per function: a Backend CRD read, a TrafficPolicy CRD read, a controller read
    assert any(
        "LambdaBackend$" in k[1] and k[1].endswith("CustomResourceDefinition::fn00-kgateway-crd") for k in old_reads
    )
    before = {k: d.id for k, d in deployment.deployed.items() if not d.external}

    deployment.up(config)
    # Nothing that is not a read is created, updated, replaced or deleted; the per-component reads leave the state
    # (never the cluster: a read is discarded, not deleted), and the stack's three reads take their place.
    assert {op for op, _ in deployment.changes} == {"discard"}
    assert {key for _, key in deployment.changes} == old_reads
    assert {k: d.id for k, d in deployment.deployed.items() if not d.external} == before
    new_reads = {k for k, d in deployment.deployed.items() if d.external and k[0] in (CRD_TYPE, DEPLOYMENT)}
    assert len(new_reads) == 3
    assert ("apiextensions.k8s.io/v1:CustomResourceDefinition", "", BACKEND_CRD_NAME) in deployment.cluster.objects
    deployment.up(config)  # and a second up changes nothing
    assert deployment.changes == []
    assert {k for k, d in deployment.deployed.items() if d.external and k[0] in (CRD_TYPE, DEPLOYMENT)} == new_reads


@pytest.mark.parametrize(
    ("protection", "bound"), [(None, PLAIN_BYTES_PER_FUNCTION), (PROTECTION, PROTECTED_BYTES_PER_FUNCTION)]
)
def test_each_added_function_adds_a_bounded_state(
    aws: boto3.Session, protection: dict[str, Any] | None, bound: int
) -> None:
    sizes = {}
    for count in (1, 3):
        deployment = MotoDeployment(aws)
        deployment.up(dev_config(**functions(count, protection)))
        sizes[count] = state_bytes(deployment.deployed)
        deployment.destroy()
    per_function = (sizes[3] - sizes[1]) / 2
    assert per_function <= bound, f"{per_function:.0f} bytes of state per added function (at most {bound})"
    # The reads are a fixed cost: a stack of one function holds them once, not once per Backend or route.
    assert sizes[1] > per_function


def test_the_shared_reads_still_trust_only_what_the_controller_enforces(run_stack: RunStack) -> None:
    """Read once for the stack, a v2.2 controller under main's CRDs is still not trusted with ipAllow (v2.3+): its
    Go types would drop the `acl` the CRD accepts, and every route would be served without it."""
    mocks = FakeAwsMocks(controller_image="cr.kgateway.dev/kgateway-dev/kgateway:v2.2.1")
    with pytest.raises(Exception, match=r"protection ipAllow .*kgateway v2\.2.*first in kgateway v2\.3"):
        run_stack(functions(3, {"ipAllow": ["203.0.113.0/24"]}), mocks=mocks)
    run = run_stack(functions(3, {"ipAllow": ["203.0.113.0/24"]}), mocks=FakeAwsMocks())  # v2.4: enforced
    assert all(r.inputs["spec"]["acl"] for r in run.resources if r.type.endswith(":TrafficPolicy"))


# What a stack without protection never loads (issue 29's import floor): route protection's component and its
# key generator (pulumi-random), and the provider analyzer of the Pulumi SDK (components/inputs.py `camel_case`).
DEFERRED = ("components.protection", "pulumi_random", "pulumi.provider.experimental")
PLANNED = """
import json, sys
from pathlib import Path
from tools.engine import run_program, stack_config
from tools.plan import PlaceholderMocks
import program.stack, program.config, program.runtime, tools.__main__

loaded = {}
for name in sys.argv[2:]:
    config, secret_keys = stack_config(name, Path(sys.argv[1]))
    run_program(PlaceholderMocks(config), config, secret_keys, stack=name, preview=True)
    loaded[name] = sorted(m for m in %r if m in sys.modules)
print(json.dumps(loaded))
"""


def test_a_stack_without_protection_never_loads_what_only_protection_needs(tmp_path: Path) -> None:
    """A plain stack's plan (a fresh process: imports, then the program) leaves them unloaded; the same process
    then planning a protected stack loads protection's two, so the list names what protection really needs."""
    plain = {"aws:region": "us-east-1", "kgateway-lambda:functions": [{"name": "fn00"}]}
    stacks = {"plain": plain, "protected": {**plain, "kgateway-lambda:protection": PROTECTION}}
    for name, config in stacks.items():
        (tmp_path / f"Pulumi.{name}.yaml").write_text(json.dumps({"config": config}))
    script = PLANNED % (DEFERRED,)
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), *stacks],
        cwd=Path(program.stack.__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {
        "plain": [],
        "protected": ["components.protection", "pulumi_random"],  # and no plan needs the analyzer
    }
