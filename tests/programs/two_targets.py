"""A different Pulumi program reusing the composite: one function in each of two accounts and clusters."""

import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.config import load_settings
from components.lambda_function import LambdaFunctionArgs
from components.lambda_gateway_route import LambdaGatewayRoute, LambdaGatewayRouteArgs
from components.stack import BUILD_DIR

settings = load_settings()
(echo,) = settings.targets
for target in ("staging", "prod"):
    LambdaGatewayRoute(
        f"echo-{target}",
        LambdaGatewayRouteArgs(
            function=LambdaFunctionArgs(
                function_name=f"echo-{target}", source_dir=echo.function.source_dir, build_dir=BUILD_DIR
            ),
            backend=echo.backend,
            routes=echo.routes,
            credentials=settings.credentials,
        ),
        aws_provider=aws.Provider(f"aws-{target}", region="eu-west-1"),
        k8s_provider=k8s.Provider(f"cluster-{target}", context=f"{target}-cluster"),
    )
