"""IRSA mode: no keys anywhere; an invoke-only role only the gateway proxy's service account can assume."""

from __future__ import annotations

import json

import boto3

from components.engine import reveal
from tests.conftest import ACCOUNT, RunStack, require_crds
from tests.crd_schema import schema_errors
from tests.moto_harness import MotoDeployment
from tests.test_moto_deploy import aws, dev_config  # noqa: F401 (the fixture)

PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"


def test_irsa_role_trusts_only_the_proxy_service_account(run_stack: RunStack) -> None:
    run = run_stack({"credentialsMode": "irsa", "oidcProvider": PROVIDER})
    assert not run.by_type("aws:iam/user:User")
    assert not run.by_type("aws:iam/accessKey:AccessKey")
    assert not run.by_type("kubernetes:core/v1:Secret")
    roles = {r.name: r for r in run.by_type("aws:iam/role:Role")}
    trust = json.loads(roles["echo-irsa"].inputs["assumeRolePolicy"])
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{ISSUER}:sub": "system:serviceaccount:kgateway-system:http",
                    f"{ISSUER}:aud": "sts.amazonaws.com",
                }
            },
        }
    ]
    policy = json.loads(run.one("aws:iam/rolePolicy:RolePolicy").inputs["policy"])
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:echo"
    assert policy["Statement"][0]["Resource"] == [arn, f"{arn}:$LATEST"]
    backend = reveal(run.one("kubernetes:gateway.kgateway.dev/v1alpha1:Backend").inputs)
    assert "auth" not in backend["spec"]["aws"]  # ambient credentials: the proxy's IRSA identity
    parameters = reveal(run.one("kubernetes:gateway.kgateway.dev/v1alpha1:GatewayParameters").inputs)
    assert parameters["metadata"]["namespace"] == "kgateway-system"
    annotations = parameters["spec"]["kube"]["serviceAccount"]["extraAnnotations"]
    assert annotations == {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/echo-irsa-0000001"}
    assert run.outputs["irsa_role_arn"] == annotations["eks.amazonaws.com/role-arn"]
    assert "secret_name" not in run.outputs
    crds = require_crds()
    for version, crd in (("main", "kgateway-main-354c0f6"), ("v2.0", "kgateway-v2.0.0")):
        assert schema_errors(parameters, crds / f"{crd}-gatewayparameters.yaml", "v1alpha1") == [], version


def test_issuer_url_gives_the_provider_arn_in_the_deploying_account(run_stack: RunStack) -> None:
    run = run_stack({"credentialsMode": "irsa", "oidcProvider": f"https://{ISSUER}"})
    trust = json.loads(
        next(r for r in run.by_type("aws:iam/role:Role") if r.name == "echo-irsa").inputs["assumeRolePolicy"]
    )
    assert trust["Statement"][0]["Principal"] == {"Federated": PROVIDER}


def test_irsa_deploys_into_moto_and_destroys_cleanly(aws: boto3.Session) -> None:  # noqa: F811
    deployment = MotoDeployment(aws)
    deployment.up(dev_config(credentialsMode="irsa", oidcProvider=PROVIDER))
    iam = aws.client("iam")
    role = next(r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("echo-irsa"))
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]
    assert iam.list_users()["Users"] == []
    deployment.destroy()
    assert iam.list_roles()["Roles"] == []
