"""`auto` trusts a protection kind only if the cluster's controller enforces it, not merely because its CRD accepts
it (components/controller.py): a controller older than its CRDs drops the fields it does not know and serves the
route without them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components.controller import controller_image, controller_line, enforced_support
from components.traffic_policy import TRAFFIC_POLICY_SUPPORT
from tests.support.fake_aws import FakeAwsMocks
from tools.engine import ProgramRun, reveal, run_program
from tools.engine_answers import controller_deployment

POLICY = "kubernetes:gateway.kgateway.dev/v1alpha1:TrafficPolicy"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
IMAGE = "cr.kgateway.dev/kgateway-dev/kgateway"
# Who gets in: an API key (provided, so no random provider is needed) and a client-address allow list.
API_KEYS = {"api_keys": {"keys": {"partner": "k" * 24}}}
IP_ALLOW = {"ip_allow": ["203.0.113.0/24"]}


@pytest.mark.parametrize(
    ("image", "line"),
    [
        (f"{IMAGE}:v2.2.1", "v2.2"),
        (f"{IMAGE}:2.3.0-beta.1", "v2.3"),
        (f"{IMAGE}:v2.4.0-main", "v2.4"),
        (f"{IMAGE}:v2.0.3", "v2.0"),
        (f"{IMAGE}:v2.9.0", "main"),  # newer than any line named here: the newest shape
        (f"{IMAGE}:v2.2.1@sha256:{'a' * 64}", "v2.2"),
        (f"{IMAGE}@sha256:{'a' * 64}", None),  # a digest says no version
        (f"{IMAGE}:latest", None),
        ("quay.io/solo-io/gloo:1.17.16", None),  # Gloo: no kgateway TrafficPolicy
        (None, None),
    ],
)
def test_the_line_is_read_from_the_image_tag(image: str | None, line: str | None) -> None:
    assert controller_line(image) == line


def test_the_image_is_the_kgateway_containers() -> None:
    spec = {
        "template": {
            "spec": {"containers": [{"name": "sidecar", "image": "x:v9.9"}, {"name": "kgateway", "image": "y:v2.2.0"}]}
        }
    }
    assert controller_image(spec) == "y:v2.2.0"
    assert controller_image(controller_deployment("z:v2.3.0")["spec"]) == "z:v2.3.0"
    assert controller_image({"template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}}) is None


def test_a_controller_enforces_no_more_than_its_line_whatever_the_crd_offers() -> None:
    crd = TRAFFIC_POLICY_SUPPORT["main"]
    on_v2_2 = enforced_support(crd, f"{IMAGE}:v2.2.1", "kgateway-system/kgateway")
    assert on_v2_2.kinds == TRAFFIC_POLICY_SUPPORT["v2.2"].kinds and "ipAllow" not in on_v2_2.kinds
    on_v2_0 = enforced_support(crd, f"{IMAGE}:v2.0.0", "kgateway-system/kgateway")
    assert on_v2_0.kinds == {"rateLimit"} and on_v2_0.status_ancestors is False
    unknown = enforced_support(crd, f"{IMAGE}:latest", "kgateway-system/kgateway")
    assert unknown.kinds == {"rateLimit"} and unknown.status_ancestors is None


def run_auto(tmp_path: Path, protection: dict[str, Any], mocks: FakeAwsMocks) -> ProgramRun:
    program = tmp_path / "route.py"
    program.write_text(
        "from components import LambdaRoute\n"
        "LambdaRoute('echo', {'path': '/echo', 'backend_name': 'echo', 'namespace': 'team-a',"
        f" 'backend_namespace': 'team-a', 'kgateway_version': 'auto', 'protection': {protection!r}}})\n"
    )
    return run_program(mocks, {"aws:region": "us-east-1"}, program=program)


def test_auto_reads_the_controller_and_emits_what_it_enforces(tmp_path: Path) -> None:
    run = run_auto(tmp_path, {**API_KEYS, **IP_ALLOW}, FakeAwsMocks(controller_image=f"{IMAGE}:v2.4.0"))
    assert [(r.name, r.read_id) for r in run.by_type(DEPLOYMENT)] == [
        ("echo-protection-controller", "kgateway-system/kgateway")
    ]
    spec = reveal(run.one(POLICY).inputs)["spec"]
    assert "apiKeyAuth" in spec and spec["acl"]["rules"][0]["cidrs"] == ["203.0.113.0/24"]


@pytest.mark.parametrize(
    ("image", "protection", "refused"),
    [
        # The CRDs are main's (every kind); the controller is older: its missing kinds are refused, not written.
        (f"{IMAGE}:v2.2.1", IP_ALLOW, r"protection ipAllow .*kgateway v2\.2.*first in kgateway v2\.3"),
        (f"{IMAGE}:v2.0.3", API_KEYS, r"protection apiKeys .*kgateway v2\.0.*first in kgateway v2\.2"),
        (f"{IMAGE}@sha256:{'a' * 64}", API_KEYS, r"protection apiKeys .*names no kgateway version"),
    ],
)
def test_auto_refuses_what_the_controller_would_drop(
    tmp_path: Path, image: str, protection: dict[str, Any], refused: str
) -> None:
    with pytest.raises(Exception, match=refused):
        run_auto(tmp_path, protection, FakeAwsMocks(controller_image=image))


def test_auto_without_the_controller_deployment_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(
        Exception, match=r"controller Deployment kgateway-system/kgateway .* it is not there.*pin kgatewayVersion"
    ):
        run_auto(tmp_path, API_KEYS, FakeAwsMocks(controller_image=None))
