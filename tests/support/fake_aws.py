"""The fake AWS account and cluster of the component tests: Pulumi mocks that answer as AWS and the cluster would,
with plausible computed values (ARNs, versions, keys), so outputs can be checked exactly."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pulumi

from components.controller import DEFAULT_CONTROLLER, DEPLOYMENT_TYPE
from components.kgateway_api import BACKEND_CRD_NAME, CRD_TYPE
from components.traffic_policy import TRAFFIC_POLICY_CRD_NAME
from tests.support.kgateway_reference import MAIN_BACKEND_CRD, MAIN_TRAFFIC_POLICY_CRD
from tools.aws_rules import IamState, enforce_iam_limits, physical_name
from tools.engine_answers import (
    KGATEWAY_IMAGE,
    controller_deployment,
    crd_read_result,
    inventory_invoke_result,
    inventory_tagging_page,
    read_crd_file,
    region_invoke_result,
    stack_outputs_result,
    tagged_resources_result,
)

ACCOUNT = "123456789012"
REGION = "us-east-1"
# An EKS cluster's OIDC issuer (the EKS User Guide's example ID) and its IAM OIDC provider in the fake account.
OIDC_ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
OIDC_PROVIDER = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{OIDC_ISSUER}"
# The role the gateway's proxy already runs as (assume-role mode).
AMBIENT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/kgateway-proxy"


def oidc_provider(cluster_id: str) -> str:
    """The IAM OIDC provider of another EKS cluster, by its issuer ID, in the fake account."""
    return f"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/{cluster_id}"


class FakeAwsMocks(pulumi.runtime.Mocks):
    """Plausible values for what AWS and the cluster compute, so outputs can be checked exactly."""

    def __init__(
        self,
        gateway: dict[str, Any] | bool | None = True,
        region: str = REGION,
        account: str = ACCOUNT,
        kgateway_crd: Path | dict[str, Any] | None = MAIN_BACKEND_CRD,
        hand_made: tuple[str, ...] = (),
        *,
        traffic_policy_crd: Path | dict[str, Any] | None = MAIN_TRAFFIC_POLICY_CRD,
        controller_image: str | None = KGATEWAY_IMAGE,
    ):
        # The Gateway the cluster has: a mapping, the default (True), or none (None).
        self.gateway: dict[str, Any] | None = (
            gateway
            if isinstance(gateway, dict) or gateway is None
            else {
                "spec": {"listeners": [{"name": "http", "port": 8080, "protocol": "HTTP"}]},
                "status": {"addresses": [{"type": "IPAddress", "value": "203.0.113.10"}]},
            }
        )
        self.region = region
        self.account = account
        # The Backend CRD the cluster has (None: kgateway's CRDs are not installed).
        self.kgateway_crd = read_crd_file(kgateway_crd) if isinstance(kgateway_crd, Path) else kgateway_crd
        # The other CRDs a read may name (by the read's id, the CRD's name, as the API server answers a GET).
        self.other_crds: dict[str, dict[str, Any] | None] = {
            TRAFFIC_POLICY_CRD_NAME: read_crd_file(traffic_policy_crd)
            if isinstance(traffic_policy_crd, Path)
            else traffic_policy_crd
        }
        # The image kgateway's controller Deployment runs (None: no controller Deployment at the default name).
        self.controller_image = controller_image
        self.counter = 0
        self.iam_state = IamState()
        self.lock = threading.RLock()
        # Functions and log groups in the account: name -> tags (the hand-made ones have none of ours).
        self.functions: dict[str, dict[str, str]] = {name: {} for name in hand_made}
        # Each AWS provider's region, by the id it was given: an invoke or resource through a provider is in
        # that provider's region, as with the real provider (the default provider's comes from `aws:region`).
        self.provider_regions: dict[str, str] = {}
        self.log_groups: dict[str, dict[str, str]] = {f"/aws/lambda/{name}": {} for name in hand_made}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        with self.lock:  # the SDK registers from several threads
            return self._new_resource(args)

    def _new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:  # noqa: PLR0911
        if args.resource_id and args.typ == CRD_TYPE:
            crd = self.kgateway_crd if args.resource_id == BACKEND_CRD_NAME else self.other_crds.get(args.resource_id)
            return args.resource_id, crd_read_result(args.resource_id, crd)
        if args.resource_id and args.typ == DEPLOYMENT_TYPE:
            if self.controller_image is None or args.resource_id != DEFAULT_CONTROLLER:
                raise RuntimeError(f"resource '{args.resource_id}' does not exist")
            return args.resource_id, controller_deployment(self.controller_image)
        if args.resource_id:
            if self.gateway is None:  # the engine's read step for an object the cluster lacks
                raise RuntimeError(f"resource '{args.resource_id}' does not exist")
            return args.resource_id, dict(self.gateway)
        state = dict(args.inputs)
        if args.typ == "pulumi:providers:aws":
            self.provider_regions[f"{args.name}-id"] = str(state.get("region") or self.region)
            return f"{args.name}-id", state
        region = self.region_of(args.provider)
        if args.typ == "kubernetes:gateway.networking.k8s.io/v1:Gateway":  # what the controller would publish
            return f"{args.name}-id", {**state, "status": (self.gateway or {}).get("status", {})}
        name = physical_name(args.typ, args.name, state, "0000001")  # refuses what auto-naming and IAM refuse
        self.counter += 1
        enforce_iam_limits(self.iam_state, args.typ, name, state)
        if args.typ == "aws:iam/policy:Policy":
            state.update(name=name, arn=f"arn:aws:iam::{self.account}:policy{state.get('path', '/')}{name}")
        elif args.typ == "aws:iam/role:Role":
            state.update(name=name, arn=f"arn:aws:iam::{self.account}:role/{name}")
        elif args.typ == "aws:iam/user:User":
            state.update(
                name=name,
                arn=f"arn:aws:iam::{self.account}:user{state.get('path', '/')}{name}",
            )
        elif args.typ == "aws:lambda/function:Function":
            self.functions[name] = dict(state.get("tags") or {})
            state["arn"] = f"arn:aws:lambda:{region}:{self.account}:function:{name}"
            state["version"] = "1" if state.get("publish") else "$LATEST"
        elif args.typ == "aws:lambda/alias:Alias":
            function_arn = f"arn:aws:lambda:{region}:{self.account}:function:{state['functionName']}"
            state["arn"] = f"{function_arn}:{name}"
        elif args.typ == "aws:cloudwatch/logGroup:LogGroup":
            self.log_groups[name] = dict(state.get("tags") or {})
            state["arn"] = f"arn:aws:logs:{region}:{self.account}:log-group:{name}"
        elif args.typ == "aws:iam/accessKey:AccessKey":
            state["secret"] = f"fake-secret-{self.counter:04d}"
            return f"AKIAFAKE{self.counter:012d}", state
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        with self.lock:
            return self._call(args)

    def region_of(self, provider: str | None) -> str:
        """The region of the provider a call or resource goes through (a reference `urn::id`)."""
        if not provider:
            return self.region
        return self.provider_regions.get(provider.rsplit("::", 1)[-1], self.region)

    def _call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            arn = f"arn:aws:iam::{self.account}:user/deployer"
            return {
                "accountId": self.account,
                "arn": arn,
                "userId": "AIDAFAKE",
                "id": self.account,
            }, []
        regional = region_invoke_result(args.token, self.region_of(args.provider))
        if regional is not None:
            return regional, []
        region = self.region_of(args.provider)
        arns = {f"arn:aws:lambda:{region}:{self.account}:function:{n}": tags for n, tags in self.functions.items()}
        tagged = tagged_resources_result(args.token, args.args, "aws", inventory_tagging_page(arns))
        if tagged is not None:
            return tagged, []
        listed = inventory_invoke_result(args.token, args.args, self.functions, self.log_groups)
        if listed is not None:
            return listed, []
        previous = stack_outputs_result(args.token, args.args, {})
        if previous is not None:
            return previous, []
        raise NotImplementedError(args.token)
