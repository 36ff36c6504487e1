"""Keyless modes: IRSA (the proxy's service account assumes an invoke-only role) and assume-role."""

from __future__ import annotations

import json

import boto3
import pytest

from components.kgateway_api import KGATEWAY_VERSIONS
from program.config import ConfigError
from tests.conftest import RunStack
from tests.support.aws_models import attached_documents
from tests.support.fake_aws import ACCOUNT, AMBIENT_ROLE, OIDC_ISSUER, OIDC_PROVIDER
from tests.support.kgateway_reference import object_errors
from tests.support.lifecycle import MotoDeployment, dev_config
from tests.support.moto_account import evaluate
from tools.engine import reveal


def test_irsa_role_trusts_only_the_proxy_service_account(run_stack: RunStack) -> None:
    run = run_stack({"credentialsMode": "irsa", "oidcProvider": OIDC_PROVIDER})
    assert not run.by_type("aws:iam/user:User")
    assert not run.by_type("aws:iam/accessKey:AccessKey")
    assert not run.by_type("kubernetes:core/v1:Secret")
    roles = {r.name: r for r in run.by_type("aws:iam/role:Role")}
    trust = json.loads(roles["gateway-irsa"].inputs["assumeRolePolicy"])
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Federated": OIDC_PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{OIDC_ISSUER}:sub": "system:serviceaccount:kgateway-system:http",
                    f"{OIDC_ISSUER}:aud": "sts.amazonaws.com",
                }
            },
        }
    ]
    policy = json.loads(run.one("aws:iam/policy:Policy").inputs["policy"])
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:echo"
    assert policy["Statement"][0]["Resource"] == [f"{arn}:$LATEST"]
    backend = reveal(run.one("kubernetes:gateway.kgateway.dev/v1alpha1:Backend").inputs)
    assert "auth" not in backend["spec"]["aws"]  # ambient credentials: the proxy's IRSA identity
    parameters = reveal(run.one("kubernetes:gateway.kgateway.dev/v1alpha1:GatewayParameters").inputs)
    assert parameters["metadata"]["namespace"] == "kgateway-system"
    annotations = parameters["spec"]["kube"]["serviceAccount"]["extraAnnotations"]
    assert annotations == {"eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/gateway-irsa-0000001"}
    assert run.outputs["irsa_role_arn"] == annotations["eks.amazonaws.com/role-arn"]
    assert "secret_name" not in run.outputs
    for version in KGATEWAY_VERSIONS:
        assert object_errors(parameters, version) == [], version


def test_issuer_url_gives_the_provider_arn_in_the_deploying_account(run_stack: RunStack) -> None:
    run = run_stack({"credentialsMode": "irsa", "oidcProvider": f"https://{OIDC_ISSUER}"})
    trust = json.loads(
        next(r for r in run.by_type("aws:iam/role:Role") if r.name == "gateway-irsa").inputs["assumeRolePolicy"]
    )
    assert trust["Statement"][0]["Principal"] == {"Federated": OIDC_PROVIDER}


def test_irsa_deploys_into_moto_and_destroys_cleanly(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    deployment.up(dev_config(credentialsMode="irsa", oidcProvider=OIDC_PROVIDER))
    iam = aws.client("iam")
    role = next(r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("gateway-irsa"))
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRoleWithWebIdentity"
    (document,) = attached_documents(iam, role=role["RoleName"])
    stored = json.dumps(document)
    echo = aws.client("lambda").get_function(FunctionName="echo")["Configuration"]["FunctionArn"]
    assert not evaluate(stored, "lambda:InvokeFunction", echo)  # unqualified: not what the Backend invokes
    assert evaluate(stored, "lambda:InvokeFunction", f"{echo}:$LATEST")
    assert not evaluate(stored, "lambda:InvokeFunction", f"{echo}:other")
    assert not evaluate(stored, "lambda:InvokeFunction", echo.replace(":echo", ":another"))
    assert not evaluate(stored, "lambda:GetFunction", echo)
    assert iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"] == []
    assert iam.list_users()["Users"] == []
    deployment.destroy()
    assert iam.list_roles()["Roles"] == []


def test_assume_role_mode_trusts_exactly_the_ambient_role(run_stack: RunStack) -> None:
    run = run_stack({"credentialsMode": "assume-role", "ambientRoleArn": AMBIENT_ROLE})
    assert not run.by_type("kubernetes:core/v1:Secret")
    assert not run.by_type("aws:iam/user:User")
    role = next(r for r in run.by_type("aws:iam/role:Role") if r.name == "gateway-invoke-role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {"Effect": "Allow", "Principal": {"AWS": AMBIENT_ROLE}, "Action": "sts:AssumeRole"}
    ]
    backend = reveal(run.one("kubernetes:gateway.kgateway.dev/v1alpha1:Backend").inputs)
    role_arn = "arn:aws:iam::123456789012:role/gateway-invoke-role-0000001"
    assert backend["spec"]["aws"]["auth"] == {"type": "AssumeRole", "assumeRole": {"roleArn": role_arn}}
    assert run.outputs["invoke_role_arn"] == role_arn
    assert any("ignore auth.assumeRole.roleArn" in line for line in run.logs)
    for version in ("v2.4", "main"):
        assert object_errors(backend, version) == [], version


def test_assume_role_on_a_version_without_it_is_refused(run_stack: RunStack) -> None:
    with pytest.raises(ConfigError, match=r"credentialsMode = 'assume-role': needs a Backend auth type AssumeRole"):
        run_stack({"credentialsMode": "assume-role", "ambientRoleArn": AMBIENT_ROLE, "kgatewayVersion": "v2.0"})


def test_assume_role_deploys_into_moto_and_destroys_cleanly(aws: boto3.Session) -> None:
    deployment = MotoDeployment(aws)
    deployment.up(dev_config(credentialsMode="assume-role", ambientRoleArn=AMBIENT_ROLE))
    iam = aws.client("iam")
    role = next(r for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("gateway-invoke-role"))
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"AWS": AMBIENT_ROLE}
    (document,) = attached_documents(iam, role=role["RoleName"])
    assert document["Statement"][0]["Action"] == "lambda:InvokeFunction"
    deployment.destroy()
    assert iam.list_roles()["Roles"] == []


def test_irsa_with_a_created_gateway_points_its_proxy_at_the_parameters(run_stack: RunStack) -> None:
    run = run_stack({"credentialsMode": "irsa", "oidcProvider": OIDC_PROVIDER, "createGateway": "true"})
    gateway = run.one("kubernetes:gateway.networking.k8s.io/v1:Gateway")
    assert reveal(gateway.inputs)["spec"]["infrastructure"] == {
        "parametersRef": {"group": "gateway.kgateway.dev", "kind": "GatewayParameters", "name": "lambda-irsa"}
    }
    parameters = run.one("kubernetes:gateway.kgateway.dev/v1alpha1:GatewayParameters")
    assert parameters.urn in gateway.dependencies  # the proxy starts with its role annotation
    for version in KGATEWAY_VERSIONS:
        assert object_errors(reveal(gateway.inputs), version) == [], version
    plain = run_stack({"createGateway": "true"}).one("kubernetes:gateway.networking.k8s.io/v1:Gateway")
    assert "infrastructure" not in reveal(plain.inputs)["spec"]
