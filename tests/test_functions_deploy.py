"""Issue 18 in moto: the example stack's Python and Node.js functions with their dependencies deployed and destroyed,
a second `up` that changes nothing, and a package over Lambda's direct-upload limit through the stack's own S3."""

from __future__ import annotations

import base64
import hashlib
import io
import random
import zipfile
from pathlib import Path

import boto3
import pulumi
import pytest

from components import packaging
from program.component_args import BUILD_DIR
from tests.support.aws_models import RequestTooLargeError
from tests.support.lifecycle import MotoDeployment
from tools.engine import stack_config

BUCKET = "aws:s3/bucket:Bucket"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"


def code_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def holds(session: boto3.Session, name: str, package: bytes) -> bool:
    """Lambda holds exactly these bytes as the function's code (CodeSha256: the SHA-256 of the zip it was given)."""
    configuration = session.client("lambda").get_function(FunctionName=name)["Configuration"]
    return bool(configuration["CodeSha256"] == code_sha256(package))


def test_the_example_functions_deploy_with_their_dependencies_change_nothing_twice_and_are_destroyed(
    aws: boto3.Session,
) -> None:
    config, secret_keys = stack_config("functions")
    deployment = MotoDeployment(aws)
    deployment.up(config, secret_keys, stack="functions")
    client = aws.client("lambda")
    greet = client.get_function(FunctionName="greet")["Configuration"]
    uptime = client.get_function(FunctionName="uptime")["Configuration"]
    assert (greet["Runtime"], greet["Handler"], greet["Timeout"]) == ("python3.13", "handler.handler", 60)
    assert (uptime["Runtime"], uptime["Handler"], uptime["Architectures"]) == (
        "nodejs24.x",
        "index.handler",
        ["x86_64"],
    )
    assert greet["Environment"]["Variables"]["GREETING_STYLE"] == "friendly"
    assert greet["Environment"]["Variables"]["API_TOKEN"].startswith("offline-secret-")  # decrypted only for AWS
    for name, dependency in (("greet", "humanize/__init__.py"), ("uptime", "node_modules/ms/index.js")):
        package = (BUILD_DIR / f"{name}.zip").read_bytes()
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            assert dependency in archive.namelist()
        assert holds(aws, name, package)
    route = deployment.cluster.of_kind("HTTPRoute")[("kgateway-system", "greet")]
    assert route["spec"]["rules"][0]["timeouts"] == {"request": "71s"}  # the cluster accepted it (CRD-validated)
    assert deployment.cluster.of_kind("TrafficPolicy")[("kgateway-system", "greet-protection")]["spec"]["buffer"] == {
        "maxRequestSize": "6Mi"
    }
    # The 10-minute function in Envoy mode: past Envoy's 5-minute idle cut, its envelope within Lambda's 6 MB.
    uptime = deployment.cluster.of_kind("TrafficPolicy")[("kgateway-system", "uptime-protection")]["spec"]
    assert (uptime["timeouts"], uptime["buffer"]) == ({"streamIdle": "611s"}, {"maxRequestSize": "4416Ki"})

    deployment.up(config, secret_keys, stack="functions")
    assert [change for change in deployment.changes if change[0] != "alias"] == []  # reproducible: nothing changes

    deployment.destroy()
    assert client.list_functions()["Functions"] == []
    assert deployment.cluster.of_kind("HTTPRoute") == {}


def big_zip(path: Path, size: int) -> Path:
    """A zip whose *zipped* size is over `size` (random bytes do not compress), with a handler."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.mjs", "export const handler = async () => ({statusCode: 200});\n")
        archive.writestr("blob.bin", random.Random(size).randbytes(size))
    assert path.stat().st_size > size
    return path


def test_a_package_over_the_direct_upload_limit_goes_through_the_stacks_bucket_and_is_destroyed_with_it(
    aws: boto3.Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The limit lowered to 64 KiB (AWS's is 50 MB, counted zipped): a 100 KiB incompressible zip is over it.
    monkeypatch.setattr(packaging, "DIRECT_UPLOAD_LIMIT", 64 * 1024)
    prebuilt = big_zip(tmp_path / "big.zip", 100 * 1024)
    config, secret_keys = stack_config("dev")
    config.update({"kgateway-lambda:functionSource": str(prebuilt), "kgateway-lambda:functionName": "big"})
    deployment = MotoDeployment(aws)
    deployment.up(config, secret_keys)
    s3 = aws.client("s3")
    (bucket,) = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert bucket.startswith("big-code-")
    (stored,) = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert stored["Size"] == prebuilt.stat().st_size and stored["Key"].startswith("big/")
    assert holds(aws, "big", prebuilt.read_bytes())  # Lambda took the code from the object
    function = next(d for d in deployment.deployed.values() if d.type == "aws:lambda/function:Function")
    assert function.inputs.get("code") is None and function.inputs["s3Key"] == stored["Key"]

    # New code: a new object (its hash is in the key), the function updated from it, the old object deleted.
    bigger = big_zip(tmp_path / "bigger.zip", 120 * 1024)
    config["kgateway-lambda:functionSource"] = str(bigger)
    deployment.up(config, secret_keys)
    (replaced,) = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert replaced["Key"] != stored["Key"] and holds(aws, "big", bigger.read_bytes())

    deployment.destroy()  # the bucket holds the object: force_destroy empties it, as the provider does
    assert s3.list_buckets()["Buckets"] == []
    assert aws.client("lambda").list_functions()["Functions"] == []


def test_the_rig_refuses_a_direct_upload_over_the_limit_as_lambda_does(
    aws: boto3.Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(packaging, "DIRECT_UPLOAD_LIMIT", 64 * 1024)
    archive = pulumi.FileArchive(str(big_zip(tmp_path / "big.zip", 100 * 1024)))
    with pytest.raises(RequestTooLargeError, match="RequestEntityTooLargeException"):
        MotoDeployment(aws).aws._code({"code": archive})
