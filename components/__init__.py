"""Pulumi ComponentResources that put AWS Lambda functions behind kgateway.

Reuse from another Pulumi program::

    from components.lambda_gateway_route import LambdaGatewayRoute, LambdaGatewayRouteArgs
"""
