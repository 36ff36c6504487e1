"""kgateway-lambda: Pulumi components that put AWS Lambda functions behind kgateway.

Installed, this package is `kgateway_lambda`; in this repository it is the folder `components/`. It imports
nothing of the repository's program (`program/`) or tools (`tools/`)::

    from kgateway_lambda import LambdaGatewayRoute, LambdaGatewayRouteArgs
"""

import tomllib
from pathlib import Path

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


def project_version(package_dir: Path) -> str:
    """The one version, written only in pyproject.toml: the checkout's, when these files are one (the component
    package's plugin runs them from the repository, where nothing is installed; see provider/__main__.py), else the
    installed distribution's (a wheel carries pyproject.toml's version in its metadata, not the file)."""
    pyproject = package_dir.parent / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        if project.get("name") == "kgateway-lambda":
            return str(project["version"])
    from importlib.metadata import version  # installed only: a checkout never needs it

    return version("kgateway-lambda")


__version__ = project_version(Path(__file__).resolve().parent)
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
