"""Another Python stack reusing the components: the echo function behind kgateway in two accounts and clusters,
and an existing function of a third account routed with keyless (IRSA) credentials."""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from kgateway_lambda import (
    BackendOptions,
    CredentialsOptions,
    LambdaFunctionArgs,
    LambdaGatewayRoute,
    LambdaGatewayRouteArgs,
    RouteOptions,
)

code = pulumi.FileArchive("../../lambda_src/echo")  # the guide's echo function, from this repository

for target in ("staging", "prod"):
    providers = [
        aws.Provider(f"aws-{target}", region="eu-west-1"),
        k8s.Provider(f"cluster-{target}", context=f"{target}-cluster"),
    ]
    echo = LambdaGatewayRoute(
        f"echo-{target}",
        LambdaGatewayRouteArgs(
            function=LambdaFunctionArgs(function_name=f"echo-{target}", code=code),
            routes=[RouteOptions(path="/echo")],
        ),
        opts=pulumi.ResourceOptions(providers=providers),
    )
    pulumi.export(f"{target}_function_arn", echo.function_arn)

orders = LambdaGatewayRoute(
    "orders",
    LambdaGatewayRouteArgs(
        existing_function="arn:aws:lambda:eu-west-1:210987654321:function:orders",
        backend=BackendOptions(namespace="shop", kgateway_version="v2.4"),
        routes=[RouteOptions(path="/orders", methods=["GET", "POST"])],
        credentials=CredentialsOptions(mode="irsa", oidc_provider="https://oidc.eks.eu-west-1.amazonaws.com/id/EX"),
    ),
)
pulumi.export("orders_backend", orders.backend_name)
