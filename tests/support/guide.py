"""What someone who followed kgateway's "Access AWS Lambda with a credentials secret" guide by hand has: the Secret
`aws-creds`, the Backend `lambda` and the HTTPRoute `lambda` on PathPrefix `/echo` of Gateway `kgateway-system/http`
in the cluster, and the function `echo` (with its log group once invoked) in the account.

The manifests are the guide's, as written (kgateway-dev/kgateway.dev
`content/docs/traffic-management/destination-types/backends/lambda/creds-secret.md` at
0c2ca58c747c4942ae283c16647874c903cd87f2, "Create an AWS credentials secret" and "Create a Backend and
HTTPRoute", its namespace snippet being `kgateway-system`); its cleanup section deletes
them with exactly the commands `GUIDE_CLEANUP` lists. The function is made as the guide makes it in the console
(`echo`, Node.js, `index.mjs` holding the guide's handler, which lambda_src/echo is)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import boto3

from tests.support.cluster import Cluster

NAMESPACE = "kgateway-system"
GUIDE_CLEANUP = (
    "kubectl delete HTTPRoute lambda -n kgateway-system",
    "kubectl delete Backend lambda -n kgateway-system",
    "kubectl delete secret aws-creds -n kgateway-system",
)


def guide_manifests(account_id: str, region: str) -> list[dict[str, Any]]:
    """The guide's Secret (the user's own long-lived keys), Backend and HTTPRoute, in the order it applies them."""
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "aws-creds", "namespace": NAMESPACE},
        "stringData": {
            "accessKey": "AKIAGUIDEADMINKEY000",
            "secretKey": "the-users-own-admin-secret",
            "sessionToken": "",
        },
        "type": "Opaque",
    }
    backend = {
        "apiVersion": "gateway.kgateway.dev/v1alpha1",
        "kind": "Backend",
        "metadata": {"name": "lambda", "namespace": NAMESPACE},
        "spec": {
            "type": "AWS",
            "aws": {
                "region": region,
                "accountId": account_id,
                "auth": {"type": "Secret", "secretRef": {"name": "aws-creds"}},
                "lambda": {"functionName": "echo"},
            },
        },
    }
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "lambda", "namespace": NAMESPACE},
        "spec": {
            "parentRefs": [{"name": "http", "namespace": NAMESPACE}],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/echo"}}],
                    "backendRefs": [
                        {"name": "lambda", "namespace": NAMESPACE, "group": "gateway.kgateway.dev", "kind": "Backend"}
                    ],
                }
            ],
        },
    }
    return [secret, backend, route]


def follow_the_guide(cluster: Cluster, aws: boto3.Session, *, without: tuple[str, ...] = ()) -> str:
    """Everything the guide makes by hand, in its order (kinds in `without` left out); returns the function's ARN."""
    account = aws.client("sts").get_caller_identity()["Account"]
    for manifest in guide_manifests(account, aws.region_name):
        if manifest["kind"] not in without:
            cluster.apply_by_hand(manifest)
    return hand_made_echo(aws)


def hand_made_echo(aws: boto3.Session, *, invoked: bool = True) -> str:
    """The guide's `echo` made by hand in the account (its own role, the guide's code) and, once `invoked`, the log
    group Lambda makes at the first invoke; returns its ARN."""
    role = aws.client("iam").create_role(RoleName="echo-role-hand-made", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = Path(__file__).resolve().parents[2] / "lambda_src" / "echo" / "index.mjs"
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("index.mjs", code.read_text())
    arn: str = aws.client("lambda").create_function(
        FunctionName="echo",
        Runtime="nodejs22.x",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": archive.getvalue()},
    )["FunctionArn"]
    if invoked:
        aws.client("logs").create_log_group(logGroupName="/aws/lambda/echo")  # made by Lambda at the first invoke
    return arn
