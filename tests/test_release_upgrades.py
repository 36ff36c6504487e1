"""Upgrades from every earlier release, at every rotation, on the day-2 harness with propagation delay
(tests/support/iam_propagation.py): a client signing a request a second through the Backend sees no failure.

The releases are the commits of CHANGELOG.md's versions: 0.1.0, the tree before af51791, and 0.2.0, cdbfca3 (the
last commit of 2026-11-26). Main before issue 21 (b51b45f, never released) is tests/test_rotation_window.py's."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest

from tests.support.iam_propagation import PropagatingDeployment
from tests.support.lifecycle import RELEASE_0_1, dev_config
from tests.support.releases import up_release

RELEASE_0_2_0 = "cdbfca3"
RELEASES = {"0.1.0": RELEASE_0_1, "0.2.0": RELEASE_0_2_0}


@pytest.mark.parametrize("rotation", ["1", "2"])
@pytest.mark.parametrize("release", list(RELEASES))
def test_an_upgrade_from_an_earlier_release_never_fails_a_signed_request(
    aws: boto3.Session, tmp_path: Path, release: str, rotation: str
) -> None:
    """Before the fix a stack at rotation 2 had a window with no Secret: the old `aws-creds` was aliased onto the
    new per-rotation name, a rename the fixed-name options made delete-first while the Backend still named it."""
    deployment = PropagatingDeployment(aws)
    config = dev_config(credentialsRotation=rotation)
    up_release(deployment, RELEASES[release], tmp_path / release, config)
    deployment.settle()
    start = deployment.model.clock.now()
    deployment.up(config)
    deployment.settle()
    assert deployment.model.failures(start, deployment.model.clock.now()) == []
    # One Secret is left, the one the Backend names, and nothing the old release made of the function was replaced.
    (backend,) = deployment.cluster.of_kind("Backend").values()
    secret = backend["spec"]["aws"]["auth"]["secretRef"]["name"]
    assert [name for _, name in deployment.cluster.of_kind("Secret")] == [secret]
    replaced = {key[0] for op, key in deployment.changes if op in ("replace", "delete")}
    assert not replaced & {"aws:lambda/function:Function", "aws:cloudwatch/logGroup:LogGroup", "aws:iam/user:User"}
