"""kgateway-lambda: Pulumi components that put AWS Lambda functions behind kgateway.

Installed, this package is `kgateway_lambda`; in this repository it is the folder `components/`. It imports
nothing of the repository's program (`program/`) or tools (`tools/`)::

    from kgateway_lambda import LambdaGatewayRoute, LambdaGatewayRouteArgs
"""

from .backend import InvocationMode, KgatewayRelease, LambdaBackend, LambdaBackendArgs, PayloadTransformMode
from .cluster_reads import ClusterReads
from .credentials import CredentialsMode, GatewayCredentials, GatewayCredentialsArgs
from .execution_role import ExecutionRole, ExecutionRoleArgs
from .lambda_function import Architecture, LambdaFunction, LambdaFunctionArgs, PackageType, Runtime
from .lambda_gateway_route import (
    BackendOptions,
    CredentialsOptions,
    LambdaGatewayRoute,
    LambdaGatewayRouteArgs,
    RouteOptions,
    SharedCredentialsArgs,
)
from .packaging import LambdaPackage, build_package, package_lambda
from .route import LambdaRoute, LambdaRouteArgs, PathMatch
from .validation import ComponentInputError

__version__ = "0.2.0"
# What `pulumi package add` offers other languages (see provider/__main__.py).
COMPONENTS = (LambdaGatewayRoute, LambdaFunction, ExecutionRole, GatewayCredentials, LambdaBackend, LambdaRoute)

__all__ = [
    "COMPONENTS",
    "Architecture",
    "BackendOptions",
    "ClusterReads",
    "ComponentInputError",
    "CredentialsMode",
    "CredentialsOptions",
    "ExecutionRole",
    "ExecutionRoleArgs",
    "GatewayCredentials",
    "GatewayCredentialsArgs",
    "InvocationMode",
    "KgatewayRelease",
    "LambdaBackend",
    "LambdaBackendArgs",
    "LambdaFunction",
    "LambdaFunctionArgs",
    "LambdaGatewayRoute",
    "LambdaGatewayRouteArgs",
    "LambdaPackage",
    "LambdaRoute",
    "LambdaRouteArgs",
    "PackageType",
    "PathMatch",
    "PayloadTransformMode",
    "RouteOptions",
    "Runtime",
    "SharedCredentialsArgs",
    "build_package",
    "package_lambda",
]
